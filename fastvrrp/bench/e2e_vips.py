"""When VIPs appear and disappear in a namespace, from rtnetlink notifications.

    watch = VipWatch(ns, vips)        # subscribed before anything starts: nothing is missed
    t_ns = watch.wait_count(len(vips), timeout=30)   # time.monotonic_ns() of the arrival
    t_ns = watch.wait_count(0, timeout=30)           # ... of the one that removed the last
    watch.close()

The socket joins RTMGRP_IPV4_IFADDR with a 32 MB buffer (SO_RCVBUFFORCE), so
thousands of RTM_NEWADDR in a burst fit; if the kernel still reports ENOBUFS
(notifications lost), the set is rebuilt from a dump, timed at the dump.
Each message is stamped with time.monotonic_ns() when read; the caller reads
nothing else meanwhile, so the stamp is the arrival within the wake-up time.
"""

import errno
import ipaddress
import select
import socket
import time

from . import netns, nladdr
from .nladdr import ipv4_addresses

_SO_RCVBUFFORCE = 33


class VipWatchError(RuntimeError):
    """The watch could not be set up, or a wait ran out."""


def parse_addr_messages(data):
    """[(is_new, address text)] of the IPv4 RTM_NEWADDR / RTM_DELADDR messages in `data`."""
    out = []
    for mtype, start, end in nladdr.messages(data):
        if mtype in (nladdr.RTM_NEWADDR, nladdr.RTM_DELADDR):
            entry = nladdr.ifaddr(data, start, end)
            if entry is not None and entry.family == socket.AF_INET:
                out.append((mtype == nladdr.RTM_NEWADDR, str(entry.address)))
    return out


class VipWatch:
    """The set of `vips` present in namespace `ns`, kept from notifications."""

    def __init__(self, ns, vips):
        self.ns = ns
        self.vips = frozenset(str(ipaddress.IPv4Address(v)) for v in vips)
        self.sock = netns.socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 32 << 20)
            except PermissionError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
            self.sock.bind((0, nladdr.RTMGRP_IPV4_IFADDR))
            self.present = self._dump()          # after subscribing: nothing is missed
        except BaseException:
            self.sock.close()
            raise
        self.lost = 0

    def _dump(self):
        return {a for _i, a, _p in ipv4_addresses(self.ns) if a in self.vips}

    def _read(self, timeout):
        """Apply what arrives within `timeout` s; returns the arrival time or None."""
        readable, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not readable:
            return None
        try:
            data = self.sock.recv(1 << 20)
        except OSError as exc:
            if exc.errno != errno.ENOBUFS:
                raise
            self.lost += 1                   # overflowed: ask the kernel for the truth
            self.present = self._dump()
            return time.monotonic_ns()
        now = time.monotonic_ns()
        for is_new, addr in parse_addr_messages(data):
            if addr in self.vips:
                (self.present.add if is_new else self.present.discard)(addr)
        return now

    def wait_count(self, count, timeout, *, check=None):
        """time.monotonic_ns() of the notification after which exactly `count` of the
        VIPs are present (now, if that is already so).  `check()` runs between reads
        (e.g. to fail fast when the daemon died)."""
        if len(self.present) == count:
            return time.monotonic_ns()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise VipWatchError("%d of %d VIPs present after %.1f s, waiting for %d"
                                    % (len(self.present), len(self.vips), timeout, count))
            t_ns = self._read(min(remaining, 0.25))
            if t_ns is not None and len(self.present) == count:
                return t_ns
            if check is not None:
                check()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
