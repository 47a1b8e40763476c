"""track_interface: interfaces up or down, from netlink link notifications.

keepalived 2.2.7 (keepalived_netlink.c `update_interface_flags`,
`process_if_status_change`; vrrp_if.h; reference §3.2):

- an interface is up when it is IFF_UP and IFF_RUNNING (administratively up
  and with carrier);
- changes come from RTM_NEWLINK / RTM_DELLINK notifications, never from
  polling; a deleted interface is down;
- `interface_up_down_delays { IF DOWN [UP] }` debounces a change once the
  interface has been seen up: a change back before the delay ends cancels it
  ("Delay timer for IF cancelled");
- "Netlink reports IF up|down" is logged for every change of a tracked
  interface.

Interfaces are tracked by *name*: one that disappears is down, and one that
appears (again) under that name — with any ifindex, also by a rename — is
followed from then on.  When notifications were lost (`Resync` from
fastvrrp.host.events) every link is dumped again.

The tracker only reports up/down through `on_change(name, old_up, new_up)`;
weights and FAULT are aggregate.py's business.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

from ..host.events import LinkEvent, NetlinkEvents, Resync
from ..host.netlink import Netlink, NetlinkQueryError
from .registry import lookup, report_change

log = logging.getLogger("fastvrrp.track.links")

ChangeCallback = Callable[[str, bool, bool], None]
IFNAMSIZ = 16
RESYNC_RETRY_S = 1.0


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or len(name.encode()) >= IFNAMSIZ \
            or "/" in name or any(c.isspace() for c in name):
        raise ValueError("interface name must be 1-15 bytes without '/' or white space, not %r"
                         % (name,))
    return name


def _check_delay(name, what, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError("interface %s: %s delay must be a number of seconds >= 0, not %r"
                         % (name, what, value))
    return float(value)


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """A snapshot for the status API and the data dump."""
    name: str
    present: bool
    ifindex: int            # 0 when absent
    flags: int
    up: bool                # what was reported (after any delay)
    pending: Optional[bool]  # a delayed change not reported yet, else None


class _Tracked:
    __slots__ = ("name", "info", "reported", "seen_up", "timer", "pending", "down_s", "up_s")

    def __init__(self, name: str, down_s: float, up_s: float):
        self.name = name
        self.info = None
        self.reported = False
        self.seen_up = False
        self.timer = None
        self.pending: Optional[bool] = None
        self.down_s = down_s
        self.up_s = up_s

    @property
    def actual(self) -> bool:
        return self.info is not None and self.info.running


class LinkTracker:
    """Up/down of named interfaces; see the module docstring.

        tracker = LinkTracker(["eth0", "eth1"], on_change=cb)
        await tracker.start()          # subscribes, dumps links, follows events
        tracker.up("eth1")
        await tracker.stop()

    With `subscribe=False` the tracker opens no subscription of its own: feed
    it LinkEvent / Resync from a shared NetlinkEvents with `await handle(ev)`.
    `netns` names the network namespace to watch (None: the caller's).
    """

    def __init__(self, names: Iterable[str], *, netns=None,
                 on_change: Optional[ChangeCallback] = None,
                 delays: Optional[Mapping[str, tuple]] = None, subscribe: bool = True):
        self._links: dict[str, _Tracked] = {}
        delays = dict(delays or {})
        for name in names:
            _check_name(name)
            if name in self._links:
                continue                      # one tracker per interface, however many users
            down_s, up_s = delays.pop(name, (0.0, 0.0))
            self._links[name] = _Tracked(name, _check_delay(name, "down", down_s),
                                         _check_delay(name, "up", up_s))
        for name in delays:
            _check_name(name)                 # delays for untracked interfaces: harmless
        self.netns = netns
        self._on_change = on_change
        self._subscribe = subscribe
        self._index: dict[int, str] = {}      # ifindex -> tracked name
        self._events: Optional[NetlinkEvents] = None
        self._task: Optional[asyncio.Task] = None
        self._retry = None
        self._started = False
        self._stopped = False
        self.resyncs = 0

    # ------------------------------------------------------------ queries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._links)

    def up(self, name: str) -> bool:
        """The reported state: IFF_UP && IFF_RUNNING (after any configured delay)."""
        return self._get(name).reported

    def states(self) -> dict[str, bool]:
        return {name: t.reported for name, t in self._links.items()}

    def status(self, name: str) -> LinkStatus:
        t = self._get(name)
        info = t.info
        return LinkStatus(name, info is not None, info.index if info else 0,
                          info.flags if info else 0, t.reported, t.pending)

    def _get(self, name: str) -> _Tracked:
        return lookup(self._links, name, "interface %r is not tracked")

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Subscribe (unless subscribe=False), read every link, then follow changes.

        Raises OSError / NetlinkQueryError when netlink cannot be used at all.
        """
        if self._started:
            raise RuntimeError("link tracker already started")
        self._started = True
        if self._subscribe and self._links:
            self._events = NetlinkEvents(links=True, ipv4=False, ipv6=False, netns=self.netns)
            await self._events.open()         # subscribed before the dump: nothing is missed
        try:
            await self._dump(initial=True)
        except BaseException:
            if self._events is not None:
                self._events.close()
            raise
        if self._events is not None:
            self._task = asyncio.get_running_loop().create_task(self._consume())

    async def stop(self) -> None:
        self._stopped = True
        for t in self._links.values():
            if t.timer is not None:
                t.timer.cancel()
                t.timer = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._events is not None:
            self._events.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def _consume(self) -> None:
        async for event in self._events:
            if self._stopped:
                return
            await self.handle(event)

    async def handle(self, event) -> None:
        """Apply one notification (LinkEvent or Resync; anything else is ignored)."""
        if isinstance(event, LinkEvent):
            self._link_event(event)
        elif isinstance(event, Resync):
            await self.resync()

    async def resync(self) -> None:
        """Re-read every link (notifications were lost)."""
        self.resyncs += 1
        try:
            await self._dump(initial=False)
        except (NetlinkQueryError, OSError) as exc:
            log.warning("cannot re-read links after lost notifications: %s; retrying in %.0f s",
                        exc, RESYNC_RETRY_S)
            if not self._stopped and self._retry is None:
                loop = asyncio.get_running_loop()
                self._retry = loop.call_later(RESYNC_RETRY_S, self._retry_resync, loop)

    def _retry_resync(self, loop) -> None:
        self._retry = None
        if not self._stopped:
            loop.create_task(self.resync())

    async def _dump(self, *, initial: bool) -> None:
        if not self._links:
            return
        async with Netlink(netns=self.netns) as nl:
            links = await nl.links()
        self._index.clear()
        found = {}
        for info in links:
            if info.ifname in self._links:
                found[info.ifname] = info
                self._index[info.index] = info.ifname
        for name, t in self._links.items():
            info = found.get(name)
            if initial:
                t.info = info
                t.reported = t.actual
                t.seen_up = t.reported
            else:
                self._apply(t, info)

    # ------------------------------------------------------------ changes

    def _link_event(self, event: LinkEvent) -> None:
        link = event.link
        if event.kind == "del":
            name = self._index.pop(link.index, None)
            if name is not None:
                self._apply(self._links[name], None)
            return
        old = self._index.get(link.index)
        if old is not None and old != link.ifname:
            # Renamed away from a tracked name: that name is gone.
            del self._index[link.index]
            self._apply(self._links[old], None)
        t = self._links.get(link.ifname)
        if t is None:
            return
        if t.info is not None and t.info.index != link.index:
            self._index.pop(t.info.index, None)   # a stale index for this name
        self._index[link.index] = link.ifname
        self._apply(t, link)

    def _apply(self, t: _Tracked, info) -> None:
        t.info = info
        actual = t.actual
        if t.timer is not None:
            if t.pending == actual:
                return                        # the change already waiting
            t.timer.cancel()
            t.timer = None
            t.pending = None
            log.info("Delay timer for %s cancelled", t.name)
        if actual == t.reported:
            return
        delay = t.up_s if actual else t.down_s
        if delay and t.seen_up and not self._stopped:
            t.pending = actual
            t.timer = asyncio.get_running_loop().call_later(delay, self._delayed, t)
            log.info("%s: delaying %s by %g s", t.name, "up" if actual else "down", delay)
            return
        self._report(t, actual)

    def _delayed(self, t: _Tracked) -> None:
        t.timer = None
        t.pending = None
        if t.actual != t.reported:
            self._report(t, t.actual)

    def _report(self, t: _Tracked, now_up: bool) -> None:
        old = t.reported
        t.reported = now_up
        if now_up:
            t.seen_up = True
        log.info("Netlink reports %s %s", t.name, "up" if now_up else "down")
        report_change(log, self._on_change, "interface", t.name, old, now_up)


def delays_from_config(config) -> dict[str, tuple[float, float]]:
    """`interface_up_down_delays` of a config model `Config` -> {name: (down_s, up_s)}."""
    return {d.interface: (d.down_us / 1e6, d.up_us / 1e6)
            for d in getattr(config, "interface_up_down_delays", ())}


__all__ = ["LinkStatus", "LinkTracker", "delays_from_config"]
