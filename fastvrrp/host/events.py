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
"""

import asyncio
import logging
import os
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

    def __init__(self, *, links=True, ipv4=True, ipv6=True, netns=None, rcvbuf=1 << 20):
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
            ipr = IPRoute(netns=self.netns, rcvbuf=self.rcvbuf)
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
