"""The config model's routes, rules, static addresses and VMACs -> the host layer's specs.

    route_spec(model_route, who)       -> fastvrrp.host.routes.RouteSpec
    rule_spec(model_rule, who)         -> fastvrrp.host.rules.RuleSpec
    statics_of(config, allocator)      -> fastvrrp.host.statics.Statics arguments (StaticSpecs)
    vmac_spec(inst, prefix)            -> fastvrrp.host.vmac.VmacSpec or None
    track_vmac(plan)                   -> the plan, its VMAC tracked as its interface

Pure conversions: no I/O.  What the host layer refuses is a ConvertError
(fastvrrp.daemon.convert) naming the entry's owner, so a start fails with a
clear message and a reload keeps the running configuration.

Units follow keepalived 2.2 (vrrp_ip_rule_route_parser.c get_time_rtt): a
bare `rtt` / `rttvar` / `rto_min` number is in the kernel's own unit (1/8 ms,
1/4 ms, 1 ms); with an `ms` or `s` suffix it is a time.  RouteSpec takes
milliseconds, so raw values are divided by the unit (rounded).  keepalived's
deprecated `via A or B` is the multipath route with nexthops A and B.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .convert import ConvertError, vip_spec

if TYPE_CHECKING:   # issue 6 (start-up): imported where used; most configs have none
    from fastvrrp.host.routespec import Nexthop as HostNexthop
    from fastvrrp.host.routespec import RouteSpec
    from fastvrrp.host.rules import RuleSpec
    from fastvrrp.host.vmacspec import VmacSpec

_TIME_UNIT = {"rtt": 8, "rttvar": 4, "rto_min": 1}       # kernel units per ms
_TIME_RX = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(ms|s|sec|secs)?\s*$", re.IGNORECASE)
_INT_METRICS = ("mtu", "window", "ssthresh", "cwnd", "advmss", "reordering", "hoplimit",
                "initcwnd", "initrwnd", "quickack", "fastopen_no_cookie", "expires")
_RULE_TYPES = ("blackhole", "unreachable", "prohibit")


def _time_ms(name: str, text: str, what: str) -> int:
    """keepalived get_time_rtt: raw kernel units, or a time with ms / s -> milliseconds."""
    match = _TIME_RX.match(text)
    if match is None:
        raise ConvertError("%s: %s %r is not a time (N, Nms or Ns)" % (what, name, text))
    value, unit = float(match.group(1)), (match.group(2) or "").lower()
    if not unit:
        return int(round(value / _TIME_UNIT[name]))
    return int(round(value * (1 if unit == "ms" else 1000)))


def _metrics(route, what: str) -> dict:
    """The model's (name, value) metric pairs -> RouteSpec keyword arguments."""
    out: dict = {}
    lock = set()
    for name, text in route.metrics:
        if text.startswith("lock "):
            lock.add(name)
            text = text[5:]
        if name in _TIME_UNIT:
            out[name] = _time_ms(name, text, what)
        elif name == "features":
            out["features"] = frozenset(t for t in re.split(r"[\s,]+", text.lower()) if t)
        elif name == "congctl":
            out["congctl"] = text
        elif name in _INT_METRICS:
            try:
                out[name] = int(text, 0)
            except ValueError:
                raise ConvertError("%s: %s %r is not a number" % (what, name, text)) from None
        else:
            raise ConvertError("%s: the route option %s is not supported by fastvrrp"
                               % (what, name))
    if lock:
        out["lock"] = frozenset(lock)
    return out


def _nexthop(hop) -> HostNexthop:
    from fastvrrp.host.routespec import Nexthop as HostNexthop
    return HostNexthop(via=hop.via, dev=hop.dev,
                       weight=1 if hop.weight is None else hop.weight, onlink=hop.onlink)


def route_spec(route, who: str) -> RouteSpec:
    """A model Route (virtual_routes / static_routes line) -> RouteSpec."""
    from fastvrrp.host.routespec import Nexthop as HostNexthop
    from fastvrrp.host.routespec import RouteSpec
    what = "%s: route %s" % (who, route.dest)
    if route.vrf is not None:
        raise ConvertError("%s: vrf %s is not supported by fastvrrp" % (what, route.vrf))
    kw = _metrics(route, what)
    via = route.via
    nexthops = tuple(_nexthop(h) for h in route.nexthops)
    if route.or_via is not None:
        # keepalived's deprecated `via A or B`: a multipath route over A and B
        nexthops = (HostNexthop(via=via, dev=route.dev), HostNexthop(via=route.or_via,
                                                                     dev=route.dev))
        via = None
    rtype = None if route.type == "unicast" else route.type
    try:
        return RouteSpec(to=route.dest, type=rtype, src=route.src, via=via, from_=route.from_,
                         dev=route.dev, scope=route.scope, table=route.table,
                         metric=route.metric,
                         protocol=18 if route.protocol is None else route.protocol,
                         tos=route.tos, realms=route.realms, onlink=route.onlink,
                         pref=route.pref, nexthops=nexthops,
                         operation=route.operation or "prepend", **kw)
    except (ValueError, TypeError) as exc:
        raise ConvertError("%s: %s" % (what, exc)) from None


def rule_spec(rule, who: str) -> RuleSpec:
    """A model Rule (virtual_rules / static_rules line) -> RuleSpec."""
    from fastvrrp.host.rules import RuleSpec
    kw: dict = {}
    action = rule.action
    if action == "table":
        kw["table"] = rule.table
    elif action == "goto":
        kw["goto"] = rule.goto
    elif action == "nop":
        kw["nop"] = True
    elif action in _RULE_TYPES:
        kw["type"] = action
    elif action == "l3mdev":
        kw["l3mdev"] = True
    else:
        raise ConvertError("%s: rule action %r is not supported" % (who, action))
    try:
        return RuleSpec(from_=rule.from_, to=rule.to, family=rule.family, not_=rule.not_,
                        preference=rule.preference, tos=rule.tos, fwmark=rule.fwmark,
                        fwmask=rule.fwmask, realms=rule.realms, iif=rule.iif, oif=rule.oif,
                        uidrange=rule.uidrange, sport=rule.sport, dport=rule.dport,
                        ipproto=rule.ipproto,
                        protocol=18 if rule.protocol is None else rule.protocol,
                        suppress_prefixlength=rule.suppress_prefixlength,
                        suppress_ifgroup=rule.suppress_ifgroup, tunnel_id=rule.tunnel_id, **kw)
    except (ValueError, TypeError) as exc:
        raise ConvertError("%s: rule: %s" % (who, exc)) from None


def rule_specs(rules, who: str, allocator) -> tuple:
    """Rules with keepalived's automatic preferences (one allocator per configuration)."""
    from fastvrrp.host.rules import assign_preferences
    specs = [rule_spec(r, who) for r in rules]
    try:
        return assign_preferences(specs, allocator, name=who)
    except ValueError as exc:
        raise ConvertError("%s: %s" % (who, exc)) from None


@dataclass(frozen=True)
class StaticSpecs:
    """static_ipaddress / static_routes / static_rules as host specs (config order)."""
    addresses: tuple = ()       # VipSpec
    routes: tuple = ()          # RouteSpec
    rules: tuple = ()           # RuleSpec

    def __bool__(self) -> bool:
        return bool(self.addresses or self.routes or self.rules)

    def ifnames(self) -> set:
        """The interfaces the static addresses need."""
        return {s.ifname for s in self.addresses}


def statics_of(config, allocator=None) -> StaticSpecs:
    """The configuration's static entries; static addresses without `dev` go on
    global_defs `default_interface` (keepalived).  `allocator`: the
    configuration's PreferenceAllocator (one is made when static_rules need it)."""
    default_if = getattr(config.global_defs, "default_interface", None)
    addresses = tuple(vip_spec(a, default_if, "static_ipaddress") for a in config.static_addresses)
    routes = tuple(route_spec(r, "static_routes") for r in config.static_routes)
    rules = ()
    if config.static_rules:
        if allocator is None:
            from fastvrrp.host.rules import PreferenceAllocator
            allocator = PreferenceAllocator()
        rules = rule_specs(config.static_rules, "static_rules", allocator)
    return StaticSpecs(addresses, routes, rules)


def vmac_spec(inst, prefix: Optional[str] = None) -> Optional[VmacSpec]:
    """keepalived `use_vmac [NAME] [MAC]` / `vmac_xmit_base` of an instance (RFC 5798 §7.3)."""
    vmac = inst.use_vmac
    if vmac is None:
        return None
    if inst.interface is None:
        raise ConvertError("vrrp_instance %s: use_vmac needs an interface" % inst.name)
    from fastvrrp.host.vmacspec import VmacSpec
    kw = {}
    if prefix:
        kw["prefix"] = prefix
    other = inst.family == 4 and any(a.family == 6 for a in inst.evips)
    try:
        return VmacSpec(base_ifname=inst.interface, vrid=inst.vrid, family=inst.family,
                        name=vmac.ifname or None, mac=vmac.mac, xmit_base=bool(vmac.xmit_base),
                        instance=inst.name, other_family=other, **kw)
    except ValueError as exc:
        raise ConvertError("vrrp_instance %s: use_vmac: %s" % (inst.name, exc)) from None


def track_vmac(plan):
    """keepalived's instance interface is its VMAC: the VMAC going down or away
    puts the instance in FAULT (a weight-0 interface tracker, as its own
    interface).  Plans without a VMAC come back unchanged."""
    if plan.vmac is None:
        return plan
    from dataclasses import replace
    from fastvrrp.track.aggregate import Kind, TrackerSpec, merge_specs
    own = TrackerSpec(Kind.INTERFACE, plan.vip_ifname, 0, False)
    return replace(plan, trackers=tuple(merge_specs(plan.trackers + (own,))))


__all__ = ["StaticSpecs", "route_spec", "rule_spec", "rule_specs", "statics_of", "track_vmac",
           "vmac_spec"]
