"""The sysctls a VMAC needs (keepalived vrrp_if_config.c), and putting them back.

    ctl = Sysctl()                       # /proc/sys/net of the calling thread's namespace
    ctl.get("ipv4", "eth0", "arp_ignore"); ctl.set("ipv4", "vrrp.51", "rp_filter", 0)
    restore_rp_filter(ctl, rp)           # RpFilter: what clearing all.rp_filter changed
    restore_after(ctl, deleted_links, names, busy_bases=..., rp_busy=...)   # from the marks

What is set and why is in vmac.py's docstring (step 3).
"""

import logging
import os

log = logging.getLogger("fastvrrp.host")

PROC_NET = "/proc/sys/net"

# keepalived vrrp_if_config.c vmac_sysctl / parent_sysctl.
VMAC_SYSCTLS = (("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0),
                ("promote_secondaries", 1))
BASE_SYSCTLS = (("arp_ignore", 1), ("arp_filter", 1))


class Sysctl:
    """Integer values under /proc/sys/net of the calling thread's network namespace."""

    def __init__(self, root=PROC_NET):
        self.root = root

    def _path(self, proto, ifname, key):
        if proto not in ("ipv4", "ipv6"):
            raise ValueError("proto must be ipv4 or ipv6, got %r" % (proto,))
        for part in (ifname, key):
            if not part or "/" in part or part in (".", ".."):
                raise ValueError("bad sysctl path part %r" % (part,))
        return "%s/%s/conf/%s/%s" % (self.root, proto, ifname, key)

    def get(self, proto, ifname, key):
        """The value, or None when it cannot be read (the interface is gone)."""
        try:
            with open(self._path(proto, ifname, key)) as fh:
                return int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def set(self, proto, ifname, key, value):
        """Write the value -> True, or log a warning and return False."""
        path = self._path(proto, ifname, key)
        try:
            with open(path, "w") as fh:
                fh.write("%d\n" % value)
            return True
        except OSError as exc:
            log.warning("cannot set %s to %d: %s", path, value, exc.strerror or exc)
            return False

    def interfaces(self, proto="ipv4"):
        """The interface names with a conf directory (not all/default)."""
        try:
            names = os.listdir("%s/%s/conf" % (self.root, proto))
        except OSError:
            return []
        return sorted(n for n in names if n not in ("all", "default"))


class RpFilter:
    """The rp_filter values changed for IPv4 VMACs (keepalived clear_rp_filter)."""

    def __init__(self, all_value, default_value=None):
        self.all = all_value                # original net.ipv4.conf.all.rp_filter
        self.default = default_value        # original default value, if raised
        self.interfaces = {}                # ifname -> original value we raised
        self.applied = False                # the values were changed by this process


def restore_base(sysctl, ifname, saved):
    """Put back arp_ignore/arp_filter of a base where they are still what we set (1)."""
    for key, want in BASE_SYSCTLS:
        original = saved.get(key)
        if original is not None and sysctl.get("ipv4", ifname, key) == want:
            sysctl.set("ipv4", ifname, key, original)


def restore_after(sysctl, deleted, names, *, busy_bases, rp_busy):
    """Restore what the marks of deleted IPv4 VMACs recorded.

    A base's arp_ignore/arp_filter only if no other IPv4 VMAC of ours is on it
    (`busy_bases`, ifindexes); rp_filter only if no IPv4 VMAC of ours remains.
    """
    bases, rp = {}, None
    for link in deleted:
        mark = link.mark
        if mark is None or mark.family != 4:
            continue
        saved = bases.setdefault(link.link, {})
        for key in ("arp_ignore", "arp_filter", "rp_filter"):
            value = mark.saved_value(key)
            if value is not None:
                saved.setdefault(key, value)
        if rp is None and mark.saved_value("all.rp_filter") is not None:
            rp = RpFilter(mark.saved_value("all.rp_filter"), mark.saved_value("default.rp_filter"))
    for base_index, saved in bases.items():
        if base_index not in busy_bases and base_index in names:
            restore_base(sysctl, names[base_index], saved)
        if rp is not None and "rp_filter" in saved and base_index in names:
            rp.interfaces[names[base_index]] = saved["rp_filter"]
    if rp is not None and not rp_busy:
        restore_rp_filter(sysctl, rp)


def restore_rp_filter(sysctl, rp):
    """keepalived restore_rp_filter: put back each value still as we set it."""
    if sysctl.get("ipv4", "all", "rp_filter") == 0:
        log.info("NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to %d", rp.all)
        sysctl.set("ipv4", "all", "rp_filter", rp.all)
    if rp.default is not None and sysctl.get("ipv4", "default", "rp_filter") == rp.all:
        log.info("NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to %d", rp.default)
        sysctl.set("ipv4", "default", "rp_filter", rp.default)
    for name, value in rp.interfaces.items():
        if sysctl.get("ipv4", name, "rp_filter") == rp.all:
            sysctl.set("ipv4", name, "rp_filter", value)


__all__ = ["BASE_SYSCTLS", "PROC_NET", "VMAC_SYSCTLS", "RpFilter", "Sysctl", "restore_after",
           "restore_base", "restore_rp_filter"]
