"""Is IPv6 forwarding enabled on an interface?  Cached for 5 s per interface.

The answer sets the Router flag of unsolicited Neighbor Advertisements
(RFC 4861 §4.4, §7.2.6; RFC 5798 §6.4.2 "(R) set").  keepalived re-reads
/proc/sys/net/ipv6/conf/IF/forwarding when its value is more than 5 seconds
old (vrrp_ndisc.c, set_ipv6_forwarding); so does this.  The file is read in
the calling thread's network namespace.  A missing or unreadable file (IPv6
disabled, the interface gone) reads as "not forwarding".
"""

import time

PROC_ROOT = "/proc/sys/net/ipv6/conf"
CACHE_SECONDS = 5.0


class Forwarding:
    """forwarding.enabled("eth0") -> bool, re-read at most every `ttl` seconds."""

    def __init__(self, *, ttl=CACHE_SECONDS, clock=time.monotonic, root=PROC_ROOT):
        if not (isinstance(ttl, (int, float)) and ttl >= 0):
            raise ValueError("ttl must be a number of seconds >= 0, got %r" % (ttl,))
        self.ttl = float(ttl)
        self.clock = clock
        self.root = root
        self.reads = 0
        self._cache = {}    # ifname -> (read at, enabled)

    def _read(self, ifname):
        self.reads += 1
        try:
            with open("%s/%s/forwarding" % (self.root, ifname), "rb") as fh:
                return fh.read().strip() not in (b"", b"0")
        except OSError:
            return False

    def enabled(self, ifname):
        if not isinstance(ifname, str) or not ifname or "/" in ifname or ifname in (".", ".."):
            raise ValueError("bad interface name %r" % (ifname,))
        now = self.clock()
        hit = self._cache.get(ifname)
        if hit is not None and now - hit[0] <= self.ttl:
            return hit[1]
        value = self._read(ifname)
        self._cache[ifname] = (now, value)
        return value

    def forget(self, ifname=None):
        """Drop the cached value of `ifname` (or of every interface)."""
        if ifname is None:
            self._cache.clear()
        else:
            self._cache.pop(ifname, None)
