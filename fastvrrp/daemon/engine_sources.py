"""Which address each instance sends from, followed as the interfaces change.

RFC 5798 §5.1.1.1 / §5.1.2.1 and keepalived 2.2 (reference §3.1, §3.4, §3.21):
an instance sends from its configured `mcast_src_ip` / `unicast_src_ip`, else
from its interface's primary IPv4 address (the first non-secondary address
that is not a VIP of any instance), or for IPv6 from the interface's
link-local address.  No such address: the instance is in FAULT ("no IPv4
address for interface ...") until one appears.

    sources = SourceWatcher(netlink, on_change, vips=lambda: {...})
    src = await sources.lookup(rt)              # at start: str or None
    sources.add(rt)                             # follow it from now on
    sources.address_event(ifindex)              # an RTM_NEWADDR/DELADDR came
    sources.resync()                            # notifications were lost

`on_change(rt, address_or_None)` is called when an instance's source changes
(a new primary address, one that vanished, one that appeared); the engine
rebuilds the adverts (FastPathBridge.set_source_address) and sets or clears
the FAULT reason NO_SOURCE.  One netlink dump per interface and family
answers every instance on it; events that arrive while one is running are
folded into one more.  A configured source is never looked up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Callable, Optional

from fastvrrp.host.netlink import NetlinkQueryError

log = logging.getLogger("fastvrrp.daemon.sources")

NO_SOURCE = "no source address"          # the FAULT reason (machine FaultSet)
_AF = {4: socket.AF_INET, 6: socket.AF_INET6}


def pick_source(addresses, family: int, exclude) -> Optional[str]:
    """The source among `addresses` (AddrInfo, the kernel's order) -> str or None.

    IPv4: the first address that is not secondary and not excluded
    (keepalived's primary address); IPv6: the first usable link-local
    (RFC 5798 §5.1.2.1)."""
    for info in addresses:
        if info.version != family:
            continue
        addr = ipaddress.ip_address(info.address)
        if addr in exclude:
            continue
        if family == 4:
            if not info.secondary:
                return str(addr)
        elif addr.is_link_local and info.usable:
            return str(addr)
    return None


def candidates(addresses, family: int) -> tuple:
    """The (address, its text) of `addresses` (AddrInfo, the kernel's order) that
    may be the source, in order: pick_candidate takes the first not excluded."""
    out = []
    for info in addresses:
        if info.version != family:
            continue
        addr = ipaddress.ip_address(info.address)
        if (not info.secondary) if family == 4 else (addr.is_link_local and info.usable):
            out.append((addr, str(addr)))
    return tuple(out)


def pick_candidate(found: tuple, exclude) -> Optional[str]:
    """pick_source over candidates() -> str or None."""
    for addr, text in found:
        if addr not in exclude:
            return text
    return None


class SourceWatcher:
    """See the module docstring."""

    def __init__(self, netlink, on_change: Callable[[object, Optional[str]], None], *,
                 vips: Callable[[], set]) -> None:
        self.netlink = netlink
        self._on_change = on_change
        self._vips = vips                          # every configured VIP address (excluded)
        self._watched: dict[int, set] = {}         # ifindex -> runtimes with a looked-up source
        self._running: dict[int, asyncio.Task] = {}
        self._again: set[int] = set()
        self._closed = False
        self.lookups = 0

    @staticmethod
    def dynamic(rt) -> bool:
        return rt.plan.configured_src is None

    async def lookup(self, rt, cache: Optional[dict] = None) -> Optional[str]:
        """The instance's source now (the configured one, or from the kernel).
        `cache`: {(ifindex, family): addresses}, shared by lookups made together
        (a start with many instances on one interface dumps it once)."""
        if not self.dynamic(rt):
            return rt.plan.configured_src
        family = rt.plan.family
        key = (rt.ifindex, family)
        addresses = cache.get(key) if cache is not None else None
        if addresses is None:
            try:
                addresses = await self.netlink.addresses(rt.ifindex, _AF[family])
            except NetlinkQueryError as exc:
                log.warning("(%s) cannot read the addresses of %s: %s", rt.name, rt.plan.ifname,
                            exc)
                return None
            self.lookups += 1
            if cache is None:
                return pick_source(addresses, family, self._vips())
            cache[key] = addresses
        # issue 6 (start-up): the instances of one interface share its parsed candidates
        ckey = key + ("candidates",)
        found = cache.get(ckey)
        if found is None or found[0] is not addresses:
            found = cache[ckey] = (addresses, candidates(addresses, family))
        return pick_candidate(found[1], self._vips())

    def add(self, rt) -> None:
        if self.dynamic(rt) and rt.ifindex is not None:
            self._watched.setdefault(rt.ifindex, set()).add(rt)

    def remove(self, rt) -> None:
        users = self._watched.get(rt.ifindex)
        if users is not None:
            users.discard(rt)
            if not users:
                del self._watched[rt.ifindex]

    def address_event(self, ifindex: int) -> None:
        """An address of `ifindex` was added or removed: re-check its instances."""
        if self._closed or ifindex not in self._watched:
            return
        if ifindex in self._running:
            self._again.add(ifindex)
            return
        self._running[ifindex] = asyncio.get_running_loop().create_task(self._recheck(ifindex))

    def resync(self) -> None:
        for ifindex in list(self._watched):
            self.address_event(ifindex)

    async def _recheck(self, ifindex: int) -> None:
        try:
            while True:
                self._again.discard(ifindex)
                await self._recheck_once(ifindex)
                if ifindex not in self._again or self._closed:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("re-checking the source addresses of ifindex %d failed", ifindex)
        finally:
            self._running.pop(ifindex, None)

    async def _recheck_once(self, ifindex: int) -> None:
        users = list(self._watched.get(ifindex, ()))
        if not users:
            return
        try:
            addresses = await self.netlink.addresses(ifindex)
        except NetlinkQueryError as exc:
            log.warning("cannot read the addresses of ifindex %d: %s", ifindex, exc)
            return
        self.lookups += 1
        exclude = self._vips()
        for rt in users:
            if self._closed:
                return
            new = pick_source(addresses, rt.plan.family, exclude)
            if new != rt.src:
                self._on_change(rt, new)

    def close(self) -> None:
        self._closed = True
        for task in self._running.values():
            task.cancel()
        self._running.clear()


__all__ = ["NO_SOURCE", "SourceWatcher", "pick_source"]
