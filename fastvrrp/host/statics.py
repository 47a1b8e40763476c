"""static_ipaddress, static_routes and static_rules: host state that is not moved by VRRP.

keepalived 2.2.7 (vrrp_daemon.c start_vrrp / stop_vrrp; reference §2.1, §3.1,
§3.14, §3.17):

- start (§3.1 step 2): leftovers of the configured static addresses, routes
  and rules (a crashed run left them, or an administrator added the same
  entries) are deleted first, then everything is added in the order
  addresses, routes, rules;
- stop (§3.14 step 3): rules, routes, addresses are deleted, only what this
  run added;
- reload (§3.17 step 6): entries no longer configured are deleted, new ones
  added, unchanged ones left alone.

The entries are the host layer's specs: `VipSpec` (addrspec.py) for
addresses, `RouteSpec` (routes.py), `RuleSpec` (rules.py); the daemon
converts the config model (static addresses default to `default_interface`).
Static addresses carry IFA_PROTO like VIPs, so run vips.cleanup_by_proto()
(start-up) before `start()`, never after.  Nothing raises into the daemon:
every step gives `Outcome`s (netlink.py).
"""

import logging

from .addrspec import IFAPROT_FASTVRRP, VipSpec
from .routes import RouteSet, RouteSpec
from .rules import PreferenceAllocator, RuleSet, RuleSpec
from .values import check_items
from .vips import VipSet

log = logging.getLogger("fastvrrp.host")

NAME = "static"


def _check(items, kind, what):
    return check_items(items, kind, "%s must be %s objects, got %%r" % (what, kind.__name__))


class Statics:
    """The static addresses, routes and rules of a configuration; see the module docstring."""

    def __init__(self, netlink, addresses=(), routes=(), rules=(), *, allocator=None,
                 proto=IFAPROT_FASTVRRP):
        self.netlink = netlink
        self.proto = proto
        # One VipSet per address: a reload adds and removes single entries.
        self._addresses = {spec: VipSet(netlink, [spec], name=NAME, proto=proto)
                           for spec in _check(addresses, VipSpec, "static addresses")}
        self.routes = RouteSet(netlink, _check(routes, RouteSpec, "static routes"), name=NAME)
        self.rules = RuleSet(netlink, _check(rules, RuleSpec, "static rules"), name=NAME,
                             allocator=allocator or PreferenceAllocator())
        self.started = False

    @property
    def addresses(self):
        return tuple(self._addresses)

    def holds(self, spec):
        """True if this run added `spec` (an address, route or rule) and still holds it."""
        if isinstance(spec, VipSpec):
            vips = self._addresses.get(spec)
            return vips is not None and bool(vips.added)
        if isinstance(spec, RouteSpec):
            return self.routes.holds(spec)
        if isinstance(spec, RuleSpec):
            return self.rules.holds(spec)
        return False

    async def start(self):
        """Delete leftovers of every static entry, then add them all -> [Outcome]."""
        outcomes = await self._clear_leftovers()
        outcomes += await self._add()
        self.started = True
        self._log("added", outcomes)
        return outcomes

    async def _clear_leftovers(self):
        outcomes = []
        for vips in self._addresses.values():
            outcomes += await vips.remove_all(force=True)
        outcomes += await self.routes.remove_all(force=True)
        outcomes += await self.rules.remove_all(force=True)
        return outcomes

    async def _add(self):
        outcomes = []
        for vips in self._addresses.values():
            outcomes += await vips.add_all()
        outcomes += await self.routes.add_all()
        outcomes += await self.rules.add_all()
        return outcomes

    async def stop(self):
        """Delete what we added: rules, routes, addresses -> [Outcome]."""
        outcomes = await self.rules.remove_all()
        outcomes += await self.routes.remove_all()
        for vips in reversed(list(self._addresses.values())):
            outcomes += await vips.remove_all()
        self.started = False
        return outcomes

    async def reload(self, addresses=(), routes=(), rules=()):
        """Apply a new configuration's static entries -> [Outcome].

        Removed entries are deleted, new ones added (if started), unchanged
        ones are not touched.  As keepalived's reload, no leftover clearing:
        a new entry already present is EXISTS and stays the owner's.
        """
        addresses = _check(addresses, VipSpec, "static addresses")
        routes = _check(routes, RouteSpec, "static routes")
        rules = _check(rules, RuleSpec, "static rules")
        outcomes = await self.rules.update(rules)
        outcomes += await self.routes.update(routes)
        kept = {}
        for spec, vips in self._addresses.items():
            if spec in addresses:
                kept[spec] = vips
            else:
                outcomes += await vips.remove_all()
        new = [s for s in dict.fromkeys(addresses) if s not in kept]
        self._addresses = {s: kept.get(s) or VipSet(self.netlink, [s], name=NAME,
                                                    proto=self.proto)
                           for s in dict.fromkeys(addresses)}
        if self.started:
            for spec in new:
                outcomes += await self._addresses[spec].add_all()
            outcomes += await self.routes.add_all()
            outcomes += await self.rules.add_all()
        return outcomes

    @staticmethod
    def _log(what, outcomes):
        failed = [o for o in outcomes if not o.ok]
        for outcome in failed:
            log.warning("static entry: %s", outcome)
        log.debug("static entries %s (%d outcomes, %d failed)", what, len(outcomes), len(failed))
