"""Raw rtnetlink address messages, decoded with `struct`, for labs that watch VIPs.

Labs poll and watch addresses in namespaces holding thousands of them, and
from threads of a process that may be forking (pyroute2's IPRoute(netns=)
forks a helper): so one plain NETLINK_ROUTE socket per request, opened in the
namespace through `netns.socket_in`, and only the address fields decoded.

    for mtype, start, end in messages(data): ...
    ifaddr(data, start, end)        -> IfAddr(family, ifindex, prefixlen, address) | None
    dump(ns, family)                -> [IfAddr, ...]
    delete(ns, ifindex, address, prefixlen)
    AddressWatch({node: ns}).holders(address) / .change(...) / .changes(...)
"""

import ipaddress
import os
import select
import socket
import struct
import threading
import time
from typing import NamedTuple

from . import netns
from .waitfor import WaitTimeout

NLMSGHDR = struct.Struct("=IHHII")       # length, type, flags, seq, pid
IFADDRMSG = struct.Struct("=BBBBI")      # family, prefixlen, flags, scope, index
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x10, 0x100
IFA_ADDRESS, IFA_LOCAL = 1, 2
_ADDR_SIZE = {socket.AF_INET: 4, socket.AF_INET6: 16}


class IfAddr(NamedTuple):
    family: int
    ifindex: int
    prefixlen: int
    address: object          # ipaddress.IPv4Address / IPv6Address


def messages(data):
    """(type, offset of the body, end) of each whole netlink message in `data`."""
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        mlen, mtype, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if mlen < NLMSGHDR.size or offset + mlen > len(data):
            return
        yield mtype, offset + NLMSGHDR.size, offset + mlen
        offset += (mlen + 3) & ~3


def error_of(data, start):
    """The errno an NLMSG_ERROR body reports (0: an acknowledgement)."""
    return -struct.unpack_from("=i", data, start)[0]


def ifaddr(data, start, end):
    """The ifaddrmsg body at data[start:end] (IFA_LOCAL, else IFA_ADDRESS), or None."""
    if end - start < IFADDRMSG.size:
        return None
    family, plen, _flags, _scope, index = IFADDRMSG.unpack_from(data, start)
    size = _ADDR_SIZE.get(family)
    if size is None:
        return None
    pos, found = start + IFADDRMSG.size, {}
    while pos + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, pos)
        if alen < 4:
            break
        if atype in (IFA_ADDRESS, IFA_LOCAL) and alen == 4 + size:
            found[atype] = bytes(data[pos + 4:pos + 4 + size])
        pos += (alen + 3) & ~3
    raw = found.get(IFA_LOCAL) or found.get(IFA_ADDRESS)
    return IfAddr(family, index, plen, ipaddress.ip_address(raw)) if raw else None


def route_socket(ns, *, groups=0, timeout=10.0):
    """A NETLINK_ROUTE socket in namespace `ns`, bound to multicast `groups`."""
    sock = netns.socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.settimeout(timeout)
        sock.bind((0, groups))
    except BaseException:
        sock.close()
        raise
    return sock


def dump(ns, family=socket.AF_UNSPEC):
    """Every address of `family` (AF_UNSPEC: both) in namespace `ns`, from a fresh dump."""
    sock = route_socket(ns)
    try:
        body = IFADDRMSG.pack(family, 0, 0, 0, 0)
        sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_GETADDR,
                                NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        out = []
        while True:
            data = sock.recv(1 << 20)
            for mtype, start, end in messages(data):
                if mtype == NLMSG_DONE:
                    return out
                if mtype == NLMSG_ERROR:
                    err = error_of(data, start)
                    if err:
                        raise OSError(err, "address dump in %s failed: %s"
                                      % (ns, os.strerror(err)))
                elif mtype == RTM_NEWADDR:
                    entry = ifaddr(data, start, end)
                    if entry is not None:
                        out.append(entry)
    finally:
        sock.close()


def delete(ns, ifindex, address, prefixlen):
    """Remove one address (RTM_DELADDR, acknowledged) in namespace `ns`; OSError if refused."""
    address = ipaddress.ip_address(address)
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    raw = address.packed
    attrs = b"".join(struct.pack("=HH", 4 + len(raw), kind) + raw
                     for kind in (IFA_LOCAL, IFA_ADDRESS))
    body = IFADDRMSG.pack(family, prefixlen, 0, 0, ifindex) + attrs
    sock = route_socket(ns)
    try:
        sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_DELADDR,
                                NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
        while True:
            data = sock.recv(65536)
            for mtype, start, _end in messages(data):
                if mtype == NLMSG_ERROR:
                    err = error_of(data, start)
                    if err:
                        raise OSError(err, "removing %s/%d in %s failed: %s"
                                      % (address, prefixlen, ns, os.strerror(err)))
                    return
    finally:
        sock.close()


def ipv4_addresses(ns):
    """Every IPv4 address in namespace `ns` as a set of (ifindex, address text, prefixlen)."""
    return {(a.ifindex, str(a.address), a.prefixlen) for a in dump(ns, socket.AF_INET)}


def delete_ipv4(ns, ifindex, address, prefixlen):
    """Remove one IPv4 address in namespace `ns` (see `delete`)."""
    delete(ns, ifindex, ipaddress.IPv4Address(address), prefixlen)


class WatchStopped(RuntimeError):
    """The watcher thread died: its silence is no evidence of "no change"."""


class AddressWatch:
    """Which nodes hold which addresses, from RTM_NEWADDR / RTM_DELADDR notifications.

    One thread listens to every node's namespace; each change is stamped with
    time.monotonic_ns() on arrival and kept in `events` as (t_ns, node, address,
    held).  The sockets subscribe before the first dump, so nothing is missed;
    when the kernel reports lost notifications (ENOBUFS) the node is read afresh.
    Only the process that made the watch may close it (a forked child may not).
    """

    def __init__(self, namespaces, *, groups=RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
                 name="address-watch"):
        self.namespaces = dict(namespaces)
        self.family = socket.AF_UNSPEC if groups & RTMGRP_IPV6_IFADDR else socket.AF_INET
        self.events = []
        self.error = None
        self._held = {}
        self._cond = threading.Condition()
        self._socks = {}
        self._thread = None
        self._owner_pid = os.getpid()
        try:
            for node, ns in self.namespaces.items():
                sock = route_socket(ns, groups=groups, timeout=None)
                self._socks[sock.fileno()] = (node, sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            for node, ns in self.namespaces.items():
                for addr in self.present(node):
                    self._held[(node, addr)] = True
        except BaseException:
            self.close()
            raise
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def present(self, node):
        """The addresses `node` holds, from a fresh dump (not the notifications)."""
        return {entry.address for entry in dump(self.namespaces[node], self.family)}

    def _run(self):
        try:
            fds = [self._wake_r] + list(self._socks)
            while True:
                readable, _, _ = select.select(fds, [], [])
                now = time.monotonic_ns()
                if self._wake_r in readable:
                    return
                for fd in readable:
                    node, sock = self._socks[fd]
                    try:
                        data = sock.recv(1 << 20)
                    except OSError:          # ENOBUFS: ask the kernel afresh
                        self._resync(now, node)
                        continue
                    for mtype, start, end in messages(data):
                        if mtype in (RTM_NEWADDR, RTM_DELADDR):
                            entry = ifaddr(data, start, end)
                            if entry is not None:
                                self._record(now, node, entry.address, mtype == RTM_NEWADDR)
        except BaseException as exc:
            self.error = exc

    def _resync(self, now, node):
        present = self.present(node)
        with self._cond:
            known = {a for (n, a), held in self._held.items() if n == node and held}
        for addr in present - known:
            self._record(now, node, addr, True)
        for addr in known - present:
            self._record(now, node, addr, False)

    def _record(self, t_ns, node, addr, held):
        with self._cond:
            if self._held.get((node, addr), False) != held:
                self._held[(node, addr)] = held
                self.events.append((t_ns, node, addr, held))
                self._cond.notify_all()

    def check(self):
        """WatchStopped if the watcher thread died."""
        if self.error is not None:
            raise WatchStopped("the address watcher stopped: %r" % (self.error,))

    def holders(self, address):
        """The nodes holding `address`, as the notifications tell."""
        address = ipaddress.ip_address(address)
        with self._cond:
            return {n for (n, a), held in self._held.items() if a == address and held}

    def wait_holders(self, address, nodes, timeout):
        """Wait until exactly `nodes` hold `address`; the time (ns) that became true."""
        address, nodes = ipaddress.ip_address(address), set(nodes)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self.check()
                held = {n for (n, a), h in self._held.items() if a == address and h}
                if held == nodes:
                    times = [t for t, _n, a, _h in self.events if a == address]
                    return times[-1] if times else time.monotonic_ns()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout("after %.1f s %s holds %s, expected %s"
                                      % (timeout, sorted(held) or "nobody", address,
                                         sorted(nodes) or "nobody"))
                self._cond.wait(left)

    def wait_change(self, node, address, held, since_ns, timeout):
        """Wait for `node`'s `address` to become `held` (at or after since_ns); its time."""
        address = ipaddress.ip_address(address)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self.check()
                for t, n, a, h in self.events:
                    if t >= since_ns and n == node and a == address and h == held:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout("after %.1f s %s has not %s %s" % (
                        timeout, node, "added" if held else "removed", address))
                self._cond.wait(left)

    def change(self, node, address, held, since_ns):
        """Time (ns) of the first change of `node`'s `address` to `held` since `since_ns`."""
        self.check()
        address = ipaddress.ip_address(address)
        with self._cond:
            for t, n, a, h in self.events:
                if t >= since_ns and n == node and a == address and h == held:
                    return t
        return None

    def changes(self, address, since_ns, until_ns=None):
        """[(t_ns, node, held)] of `address` within [since_ns, until_ns]."""
        address = ipaddress.ip_address(address)
        with self._cond:
            return [(t, n, h) for t, n, a, h in self.events
                    if a == address and t >= since_ns and (until_ns is None or t <= until_ns)]

    def close(self):
        if os.getpid() != self._owner_pid:
            return
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(5)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._thread = None
        for _node, sock in self._socks.values():
            sock.close()
        self._socks = {}
