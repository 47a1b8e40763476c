"""Link and address change notifications from the kernel, as an async iterator.

    async with NetlinkEvents() as events:       # subscribed from here on
        ...                                      # do something that changes links
        async for event in events:
            if isinstance(event, LinkEvent): ...
            elif isinstance(event, AddrEvent): ...
            elif isinstance(event, Resync): ...  # events were lost: re-read state

Subscribes to RTMGRP_LINK and the IPv4/IPv6 address groups on a netlink
socket of its own (requests go through `Netlink`).  When the kernel drops
notifications (ENOBUFS: the receive buffer overflowed) or the socket fails,
the iterator reopens the subscription, yields one `Resync` and carries on:
notifications from then on are delivered, and the consumer re-reads whatever
it tracks, as keepalived re-dumps links and addresses after a netlink overrun.

`skip_proto`: address notifications carrying this IFA_PROTO (the engine's
own VIPs) are dropped from the raw datagrams before pyroute2 decodes them
(strip_addr_proto; issue 6).
"""

import asyncio
import logging
import os
import struct
from collections import deque
from dataclasses import dataclass

from pyroute2.netlink.rtnl import (RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK,
                                   RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK)

from .nlsocket import IPRoute, error_code
from .objects import AddrInfo, LinkInfo

log = logging.getLogger("fastvrrp.host")


@dataclass(frozen=True)
class LinkEvent:
    kind: str               # "new" (added or changed) or "del"
    link: LinkInfo


@dataclass(frozen=True)
class AddrEvent:
    kind: str               # "new" or "del"
    addr: AddrInfo


@dataclass(frozen=True)
class Resync:
    """Notifications were lost; whatever is tracked must be re-read."""

    reason: str


# struct nlmsghdr (len, type, flags, seq, pid), struct ifaddrmsg, struct rtattr
_NLMSGHDR = struct.Struct("=IHHII")
_IFADDRMSG_LEN = 8
_RTATTR = struct.Struct("=HH")
IFA_PROTO = 11          # linux/if_addr.h (Linux >= 5.18): u8


def _align(n):
    return (n + 3) & ~3


def addr_proto(data, offset, length):
    """IFA_PROTO of the RTM_NEWADDR/DELADDR message at data[offset:offset+length],
    or None (no such attribute, or a malformed message)."""
    pos = offset + _NLMSGHDR.size + _IFADDRMSG_LEN
    end = offset + length
    while pos + _RTATTR.size <= end:
        rta_len, rta_type = _RTATTR.unpack_from(data, pos)
        if rta_len < _RTATTR.size or pos + rta_len > end:
            return None
        if (rta_type & 0x3fff) == IFA_PROTO and rta_len >= _RTATTR.size + 1:
            return data[pos + _RTATTR.size]
        pos += _align(rta_len)
    return None


def strip_addr_proto(data, proto):
    """The datagram `data` without its address notifications marked IFA_PROTO
    `proto` (fastvrrp's own VIPs, host/addrspec.IFAPROT_FASTVRRP) -> bytes
    (`data` itself when nothing is dropped).

    Issue 6: a takeover of a thousand instances brings a thousand
    RTM_NEWADDR for our own VIPs; read from the header bytes, they are dropped
    before pyroute2 decodes them (which cost more than the VIP adds).  A
    message the walk cannot follow ends it: the rest is kept as it is, for
    pyroute2 to judge."""
    kept = []
    dropped = False
    pos, size = 0, len(data)
    while pos + _NLMSGHDR.size <= size:
        length, mtype = _NLMSGHDR.unpack_from(data, pos)[:2]
        if length < _NLMSGHDR.size or pos + length > size:
            break
        step = min(_align(length), size - pos)
        if (mtype in (RTM_NEWADDR, RTM_DELADDR)
                and length >= _NLMSGHDR.size + _IFADDRMSG_LEN
                and addr_proto(data, pos, length) == proto):
            dropped = True
        else:
            kept.append((pos, step))
        pos += step
    if not dropped:
        return data
    if pos < size:
        kept.append((pos, size - pos))
    return b"".join(data[a:a + n] for a, n in kept)


class _FilteredIPRoute(IPRoute):
    """IPRoute whose incoming datagrams lose our own address notifications
    (strip_addr_proto) before pyroute2 parses them."""

    skip_proto = None
    skipped = 0

    def enqueue(self, data, addr):
        if self.skip_proto is not None and data:
            out = strip_addr_proto(data, self.skip_proto)
            if out is not data:
                self.skipped += 1
                if not out:
                    return None
                data = out
        return super().enqueue(data, addr)


_KINDS = {RTM_NEWLINK: ("new", LinkEvent, LinkInfo), RTM_DELLINK: ("del", LinkEvent, LinkInfo),
          RTM_NEWADDR: ("new", AddrEvent, AddrInfo), RTM_DELADDR: ("del", AddrEvent, AddrInfo)}


def decode(msg):
    """A netlink notification -> LinkEvent / AddrEvent, or None for other types."""
    entry = _KINDS.get(msg["header"]["type"])
    if entry is None:
        return None
    kind, event_cls, info_cls = entry
    return event_cls(kind, info_cls.from_msg(msg))


class NetlinkEvents:
    """See the module docstring."""

    def __init__(self, *, links=True, ipv4=True, ipv6=True, netns=None, rcvbuf=1 << 20,
                 skip_proto=None):
        if skip_proto is not None and (not isinstance(skip_proto, int)
                                       or isinstance(skip_proto, bool)
                                       or not 0 < skip_proto <= 255):
            raise ValueError("skip_proto must be an IFA_PROTO value 1..255 or None, got %r"
                             % (skip_proto,))
        self.skip_proto = skip_proto    # address notifications with this IFA_PROTO are dropped
        groups = ((RTMGRP_LINK if links else 0) | (RTMGRP_IPV4_IFADDR if ipv4 else 0)
                  | (RTMGRP_IPV6_IFADDR if ipv6 else 0))
        if not groups:
            raise ValueError("NetlinkEvents needs at least one of links, ipv4, ipv6")
        if not isinstance(rcvbuf, int) or isinstance(rcvbuf, bool) or rcvbuf <= 0:
            raise ValueError("rcvbuf must be a positive number of bytes, got %r" % (rcvbuf,))
        self.groups = groups
        self.netns = netns
        self.rcvbuf = rcvbuf
        self.resyncs = 0
        self._ipr = None
        self._pending = deque()
        self._closed = False

    async def open(self):
        """Subscribe; notifications from now on are delivered.  Raises OSError."""
        if self._closed:
            raise RuntimeError("NetlinkEvents is closed")
        if self._ipr is None:
            ipr = _FilteredIPRoute(netns=self.netns, rcvbuf=self.rcvbuf)
            ipr.skip_proto = self.skip_proto
            try:
                await ipr.bind(groups=self.groups)
            except BaseException:
                ipr.close()
                raise
            self._ipr = ipr
        return self

    def close(self):
        self._closed = True
        self._drop()

    def _drop(self):
        ipr, self._ipr = self._ipr, None
        if ipr is not None:
            try:
                ipr.close()
            except Exception:  # a broken socket: nothing left to release
                pass

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        self.close()
        return False

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            if self._ipr is None:
                await self.open()
            try:
                msgs = [msg async for msg in self._ipr.get()]
            except Exception as exc:  # ENOBUFS or a dead socket
                if self._closed:
                    raise StopAsyncIteration from None
                self.resyncs += 1
                code = error_code(exc)
                reason = "netlink notifications lost: %s (errno %d)" % (os.strerror(code), code)
                log.warning("%s; resubscribing", reason)
                self._drop()
                try:
                    await self.open()   # events after this Resync are delivered again
                except OSError as again:
                    log.warning("cannot resubscribe to netlink notifications yet: %s", again)
                return Resync(reason)
            for msg in msgs:
                event = decode(msg)
                if event is not None:
                    self._pending.append(event)
        return self._pending.popleft()

    async def wait_for(self, match, timeout):
        """The next event for which match(event) is true (Resync always matches).

        Raises asyncio.TimeoutError after `timeout` seconds.
        """
        async def first():
            async for event in self:
                if isinstance(event, Resync) or match(event):
                    return event
            raise RuntimeError("NetlinkEvents closed while waiting")

        return await asyncio.wait_for(first(), timeout)
