"""The routes of an instance on the host: `RouteSet`, and the requests that change them.

A route is a `RouteSpec` (routespec.py: `virtual_routes` / `static_routes`
lines, keepalived 2.2 alloc_route, reference §2.3); the daemon converts the
config model into it.

`RouteSet` follows VipSet (vips.py): add_all() on becoming Master (RFC 5798
§6.4.1/§6.4.2), remove_all() on leaving it (§6.4.3) or stopping; only routes
the kernel added because we asked are ours (EEXIST: not ours, kept).  Every
add/delete gives an `Outcome` (outcome.py); nothing raises into the daemon.

`add_route` / `del_route` send one RouteRequest; `cleanup_stale_routes`
removes at start what a crashed run left.
"""

import errno

from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELROUTE, RTM_NEWROUTE

from .heldset import HeldSet
from .nlrequest import (failed_outcome, log_stale_removed, name_prefix, netlink_change,
                        resolve_names)
from .outcome import ABSENT, EXISTS, NetlinkQueryError
from .routespec import Nexthop, NexthopRequest, RouteMsg, RouteRequest, RouteSpec
from .values import RTPROT_KEEPALIVED, check_items, parse_dsfield, parse_realms


async def add_route(netlink, req):
    """RTM_NEWROUTE.  EEXIST -> EXISTS; never raises."""
    return await netlink_change(netlink, "add", req, req.encode(), RTM_NEWROUTE, req.add_flags(),
                                {errno.EEXIST: EXISTS})


async def del_route(netlink, req):
    """RTM_DELROUTE.  ESRCH (no such route) / ENODEV -> ABSENT; never raises."""
    return await netlink_change(netlink, "del", req, req.encode(), RTM_DELROUTE,
                                NLM_F_REQUEST | NLM_F_ACK,
                                {errno.ESRCH: ABSENT, errno.ENODEV: ABSENT})


async def _ifindexes(netlink, specs, op, prefix):
    """({ifname: ifindex or None} of the specs' interfaces, []), or (None, a FAILED
    Outcome per spec) when netlink cannot tell."""
    names = tuple(dict.fromkeys(n for s in specs for n in s.ifnames()))
    try:
        return await resolve_names(netlink, names), []
    except NetlinkQueryError as exc:
        return None, [failed_outcome(op, "route %s" % s, exc.errno, str(exc), prefix)
                      for s in specs]


# -- the routes of one instance ---------------------------------------------------
def _route_specs(specs):
    return check_items(specs, RouteSpec, "RouteSet takes RouteSpec objects, got %r")


class RouteSet(HeldSet):
    """The virtual_routes of one instance (or the static_routes); see the module docstring."""

    def __init__(self, netlink, specs, *, name=""):
        super().__init__()      # _ours: spec -> (add request, delete request)
        self.netlink = netlink
        self.specs = _route_specs(specs)
        self.name = name
        self._prefix = name_prefix(name)

    @property
    def added(self):
        """The add requests of the routes we added and still hold, in add order."""
        return tuple(add for add, _del in self._ours.values())

    async def _delete(self, held):
        return await del_route(self.netlink, held[1])

    async def _requests(self, op, specs):
        """[(spec, add request, delete request)] and FAILED outcomes for the rest."""
        indexes, failures = await _ifindexes(self.netlink, specs, op, self._prefix)
        if indexes is None:
            return [], failures
        built = []
        for spec in specs:
            missing = [n for n in spec.ifnames() if indexes.get(n) is None]
            if missing:
                failures.append(failed_outcome(op, "route %s" % spec, errno.ENODEV,
                                               "interface %s does not exist" % missing[0],
                                               self._prefix))
                continue
            built.append((spec, spec.to_netlink(indexes), spec.to_netlink_delete(indexes)))
        return built, failures

    # RFC 5798 §6.4.1 / §6.4.2: becoming Master
    async def add_all(self):
        """Add every route we do not hold yet, in configuration order -> [Outcome]."""
        todo = [s for s in dict.fromkeys(self.specs) if s not in self._ours]
        if not todo:
            return []
        built, outcomes = await self._requests("add", todo)
        for spec, add, delete in built:
            outcomes.append(self._hold(spec, await add_route(self.netlink, add), (add, delete)))
        return outcomes

    # RFC 5798 §6.4.3: leaving Master; clean stop
    async def remove_all(self, force=False):
        """Remove the routes we added (force: every configured route) -> [Outcome]."""
        outcomes = await self._release()
        if force:
            outcomes.extend(await delete_configured(self.netlink, [
                s for s in dict.fromkeys(self.specs) if s not in self._ours], name=self.name))
        return outcomes

    async def update(self, specs):
        """Reload (§3.17): drop held routes no longer configured, keep the rest -> [Outcome].

        The caller then runs add_all() if the instance is Master: unchanged
        routes are not touched (not flapped).
        """
        specs = _route_specs(specs)
        outcomes = await self._release(keep=set(specs))
        self.specs = specs
        return outcomes


async def delete_configured(netlink, specs, *, name=""):
    """Send the delete of every spec whose interfaces exist -> [Outcome].

    keepalived deletes configured virtual and static routes found at start
    (a crash left them; reference §3.1).  A route that is not there is ABSENT;
    one whose interface does not exist cannot be there and is skipped.
    """
    specs = tuple(dict.fromkeys(specs))
    indexes, failures = await _ifindexes(netlink, specs, "del", name_prefix(name))
    if indexes is None:
        return failures
    outcomes = []
    for spec in specs:
        if any(indexes.get(n) is None for n in spec.ifnames()):
            continue
        outcomes.append(await del_route(netlink, spec.to_netlink_delete(indexes)))
    return outcomes


async def cleanup_stale_routes(netlink, specs, *, name=""):
    """Start-up: remove configured routes a crashed run left -> [Outcome] (DONE or ABSENT)."""
    outcomes = await delete_configured(netlink, specs, name=name)
    prefix = name_prefix(name)
    for outcome in outcomes:
        log_stale_removed(outcome, prefix)
    return outcomes


# The spec's names (routespec.py) and two of its value checks (values.py) are
# importable from here, as before the split.
__all__ = ["RTPROT_KEEPALIVED", "Nexthop", "NexthopRequest", "RouteMsg", "RouteRequest", "RouteSet",
           "RouteSpec", "add_route", "cleanup_stale_routes", "del_route", "delete_configured",
           "parse_dsfield", "parse_realms"]
