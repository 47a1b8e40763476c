"""The config model -> what the engine runs: pure conversions, no I/O but file checks.

    plan = plan_instance(inst, config.global_defs, log_detail=True, skip_scripts=...)
    plan.params         # fastvrrp.vrrp.InstanceParams (primary_address filled in later)
    plan.vips, plan.evips                    # fastvrrp.host.VipSpec, config order
    plan.auth_type, plan.auth_pass           # VRRPv2 PASS (RFC 3768 §5.3.6)
    plan.rx_key, plan.tx_key                 # which sockets (fastvrrp.daemon.sockets)
    plan.trackers                            # fastvrrp.track.aggregate.TrackerSpec
    scripts = vet_scripts(config)            # vrrp_scripts ready to run, and the dropped ones

The model (fastvrrp.config.model) already carries keepalived's derived
defaults (priority 255 for `state MASTER` without a priority, nopreempt and
preempt_delay cleared where keepalived clears them, v2 whole seconds, the
multicast group), so this module maps fields and units; it decides nothing
keepalived would decide differently.  What the engine cannot run yet raises
`ConvertError` with the instance and the keyword, so a start fails with a
clear message and a reload keeps the running configuration:

- `auth_type AH` (keepalived's IPsec-AH authentication);
- `use_ipvlan` (keepalived's ipvlan VMACs);
- an instance without any VIP (`no_virtual_ipaddress`): the fast path
  builds adverts from at least one address (RFC 5798 §5.2.5 Count >= 1).

`use_vmac` gives `plan.vmac` (a fastvrrp.host.vmac.VmacSpec): VIPs without
`dev` are planned on the VMAC's name.  virtual_routes / virtual_rules give
`plan.routes` / `plan.rules` (host RouteSpec / RuleSpec, engine_host.py).

Two instances of one plan compare equal when the engine can keep the
running one on a reload (fastvrrp.daemon.engine_reload).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Iterable, Optional

from fastvrrp import proto
from fastvrrp.host.addrspec import VipSpec
from fastvrrp.track.aggregate import instance_trackers
from fastvrrp.vrrp import InstanceParams, State

log = logging.getLogger("fastvrrp.daemon.convert")

NS_PER_US = 1000
AUTH_NONE, AUTH_PASS = proto.AUTH_NONE, proto.AUTH_PASS
# RFC 5798 §5.1.1.2 / §5.1.2.2: the default groups (SocketPool's default key)
DEFAULT_GROUPS = {4: proto.VRRP_GROUP_IPV4, 6: proto.VRRP_GROUP_IPV6}


class ConvertError(ValueError):
    """The configuration asks for something the engine cannot run; str() says what."""


@dataclass(frozen=True, slots=True)
class RxKey:
    """A receive socket (SocketPool.rx): the family's group, or a unicast source."""
    family: int
    ifname: Optional[str]          # None: the interface holding `source` (found at start)
    group: Optional[str] = None    # multicast group (RFC 5798 §5.1.1.2 / §5.1.2.2)
    source: Optional[str] = None   # unicast: our address peers send to


@dataclass(frozen=True, slots=True)
class TxKey:
    """A send socket (SocketPool.tx)."""
    family: int
    ifname: Optional[str]
    multicast: bool = True
    unicast_hops: int = proto.VRRP_TTL


@dataclass(frozen=True, slots=True)
class InstancePlan:
    """One vrrp_instance as the engine runs it (see the module docstring)."""
    name: str
    identity: tuple                      # keepalived's reload identity (model.identity)
    ifname: Optional[str]                # the instance's interface (None: unicast, found by source)
    family: int
    params: InstanceParams               # primary_address None: the engine finds the source
    vips: tuple                          # VipSpec, config order (RFC 5798 §5.2.9)
    evips: tuple                         # VipSpec of virtual_ipaddress_excluded
    auth_type: int = AUTH_NONE
    auth_pass: bytes = b""
    configured_src: Optional[str] = None  # mcast_src_ip / unicast_src_ip
    peers: tuple = ()                    # unicast peers (str), config order
    group: Optional[str] = None          # multicast group when not the default
    checksum_form: Optional[int] = None  # VRRPv3/IPv4 form when not the default
    ttl: int = proto.VRRP_TTL            # IPv4 TTL (unicast_ttl)
    rx_key: Optional[RxKey] = None
    tx_key: Optional[TxKey] = None
    trackers: tuple = ()                 # TrackerSpec (aggregate.instance_trackers)
    warnings: tuple = ()                 # what is accepted and not applied (logged at start)
    sync_group: Optional[str] = None     # the vrrp_sync_group it belongs to
    routes: tuple = ()                   # RouteSpec of virtual_routes, config order
    rules: tuple = ()                    # RuleSpec of virtual_rules, config order
    vmac: object = None                  # VmacSpec of use_vmac (None: no VMAC)
    no_peer_fault: bool = False          # unicast_fault_no_peer without peers: stays in FAULT
    check_peers: bool = False            # check_unicast_src: unicast adverts from peers only

    @property
    def unicast(self) -> bool:
        return bool(self.peers)

    @property
    def all_vips(self) -> tuple:
        """VIPs then eVIPs: what is added on becoming master, in keepalived's order."""
        return self.vips + self.evips

    def core(self) -> tuple:
        """What a running instance cannot change without a restart (reload).
        The params without the source address: the engine found that, and
        the running plan keeps the machine's params, which carry it (issue 6)."""
        return (_PARAMS_CORE(self.params), self.vips, self.evips, self.auth_type, self.auth_pass,
                self.configured_src, self.peers, self.group, self.checksum_form, self.ttl,
                self.rx_key, self.tx_key, self.ifname, self.sync_group, self.routes,
                self.rules, self.vmac, self.no_peer_fault, self.check_peers)

    @property
    def vip_ifname(self) -> Optional[str]:
        """Where VIPs without `dev` go: the VMAC (use_vmac), else the interface."""
        if self.vmac is not None:
            return self.vmac.name or self.vmac.default_name()
        return self.ifname


# InstanceParams' fields but the source address the engine fills in (core())
_PARAMS_CORE = attrgetter(*(f.name for f in fields(InstanceParams) if f.name != "primary_address"))

# Issue 6 (memory): equal socket keys and tracker lists are one object for
# every instance using them (thousands of instances share a few interfaces).
_SHARED: dict = {}


def _shared(value):
    """The one object equal to `value` (frozen, hashable), shared process-wide."""
    return _SHARED.setdefault(value, value)


def _who(inst) -> str:
    return "vrrp_instance %s" % inst.name


def vip_spec(addr, default_ifname: Optional[str], who: str) -> VipSpec:
    """A model IpAddress -> VipSpec on its `dev`, else the instance's interface."""
    ifname = addr.dev or default_ifname
    if ifname is None:
        raise ConvertError("%s: VIP %s has no interface (no `dev` and no instance interface)"
                           % (who, addr.address))
    try:
        return VipSpec(address=addr.address, prefixlen=addr.prefixlen, ifname=ifname,
                       broadcast=addr.broadcast, scope=addr.scope, label=addr.label,
                       peer=addr.peer, nodad=addr.nodad, home=addr.home,
                       mngtmpaddr=addr.mngtmpaddr, noprefixroute=addr.noprefixroute,
                       autojoin=addr.autojoin, preferred_lft=addr.preferred_lft)
    except ValueError as exc:
        raise ConvertError("%s: %s" % (who, exc)) from None


def auth_of(inst) -> tuple[int, bytes]:
    """RFC 3768 §5.3.6: (auth type, password bytes); VRRPv3 has none (RFC 5798 §9)."""
    if inst.version != 2 or inst.auth_type is None:
        return AUTH_NONE, b""
    if inst.auth_type == "PASS":
        password = bytes(inst.auth_pass or b"")
        return AUTH_PASS, password.rstrip(b"\0")[:proto.AUTH_DATA_LEN] if password else b""
    raise ConvertError("%s: auth_type %s is not supported by fastvrrp (use PASS, or VRRPv3 "
                       "without authentication)" % (_who(inst), inst.auth_type))


def checksum_form_of(inst) -> Optional[int]:
    """The VRRPv3/IPv4 checksum form when it is not the RFC 5798 §5.2.8 default."""
    if inst.version != 3 or inst.family != 4:
        return None
    if inst.v3_checksum_as_v2:
        return proto.CSUM_MESSAGE_ONLY            # keepalived v3_checksum_as_v2 (RFC 9568 reading)
    if inst.unicast and inst.old_unicast_checksum == "config":
        return proto.CSUM_PSEUDO_HEADER_GROUP     # keepalived <= 1.3.6 unicast checksum
    return None


def instance_params(inst, *, log_detail: bool = False) -> InstanceParams:
    """The state machine's parameters (no primary address yet)."""
    initial = State.MASTER if inst.state == "MASTER" else State.BACKUP
    try:
        return InstanceParams(
            name=inst.name, vrid=inst.vrid, version=inst.version, priority=inst.priority,
            advert_int_cs=inst.advert_int_cs, vips=tuple(a.address for a in inst.vips),
            initial_state=initial, nopreempt=inst.nopreempt,
            preempt_delay_ns=inst.preempt_delay_us * NS_PER_US,
            down_timer_adverts=inst.down_timer_adverts,
            skip_check_adv_addr=inst.skip_check_adv_addr,
            lower_prio_no_advert=inst.lower_prio_no_advert,
            higher_prio_send_advert=inst.higher_prio_send_advert,
            garp_master_delay_ns=inst.garp_master_delay_us * NS_PER_US,
            garp_master_repeat=inst.garp_master_repeat,
            garp_master_refresh_ns=inst.garp_master_refresh_us * NS_PER_US,
            garp_master_refresh_repeat=inst.garp_master_refresh_repeat,
            garp_lower_prio_delay_ns=inst.garp_lower_prio_delay_us * NS_PER_US,
            garp_lower_prio_repeat=inst.garp_lower_prio_repeat,
            unicast=inst.unicast, log_detail=bool(log_detail))
    except ValueError as exc:
        raise ConvertError(str(exc)) from None


def _unsupported(inst) -> list[str]:
    who = _who(inst)
    if inst.use_ipvlan is not None:
        raise ConvertError("%s: use_ipvlan (ipvlan VMAC interfaces) is not supported by "
                           "fastvrrp; use use_vmac" % who)
    if not inst.vips:
        raise ConvertError("%s: no virtual_ipaddress: fastvrrp needs at least one VIP to "
                           "advertise (RFC 5798 §5.2.5)" % who)
    return []


def plan_instance(inst, global_defs=None, *, log_detail: bool = False,
                  skip_scripts: Iterable[str] = (), skip_files: Iterable[str] = (),
                  skip_processes: Iterable[str] = (), ifname: Optional[str] = None) -> InstancePlan:
    """The InstancePlan of a model VrrpInstance; ConvertError for what cannot run.

    `ifname`: for a unicast instance without `interface`, the interface that
    holds its unicast_src_ip (keepalived finds it the same way)."""
    warnings = _unsupported(inst)
    who = _who(inst)
    ifname = inst.interface or ifname
    family = inst.family
    peers = tuple(str(p.address) for p in inst.unicast_peers)
    if peers:
        src = inst.unicast_src_ip if inst.unicast_src_ip is not None else inst.mcast_src_ip
    else:
        src = inst.mcast_src_ip
    configured_src = str(src) if src is not None else None
    if ifname is None:
        raise ConvertError("%s: no interface%s" % (
            who, "" if configured_src is None
            else " configured, and none holds its source address %s" % configured_src))
    params = instance_params(inst, log_detail=log_detail)
    from . import engine_host      # it imports this module
    vmac = engine_host.vmac_spec(inst, getattr(global_defs, "vmac_prefix", None))
    vip_if = (vmac.name or vmac.default_name()) if vmac is not None else ifname
    vips = tuple(vip_spec(a, vip_if, who) for a in inst.vips)
    evips = tuple(vip_spec(a, vip_if, who) for a in inst.evips)
    routes = tuple(engine_host.route_spec(r, who) for r in inst.vroutes)
    # issue 6 (start-up): no allocator for the many instances without virtual_rules
    rules = engine_host.rule_specs(inst.vrules, who, _allocator()) if inst.vrules else ()
    auth_type, auth_pass = auth_of(inst)
    group = None
    if not peers and inst.mcast_dst_ip is not None \
            and str(inst.mcast_dst_ip) != DEFAULT_GROUPS[family]:
        group = str(inst.mcast_dst_ip)
    ttl = proto.VRRP_TTL
    if peers and inst.unicast_ttl is not None:
        ttl = inst.unicast_ttl
        if not 1 <= ttl <= 255:
            raise ConvertError("%s: unicast_ttl %d cannot be sent (1..255)" % (who, ttl))
    if peers:
        # The unicast receive socket is bound to our source (found at start when
        # not configured): RxKey.source None means "the instance's source".
        rx_key = RxKey(family, ifname, source=configured_src)
        tx_key = TxKey(family, ifname, multicast=False, unicast_hops=ttl)
    else:
        rx_key = RxKey(family, ifname, group=group or DEFAULT_GROUPS[family])
        tx_key = TxKey(family, ifname)
    trackers = tuple(instance_trackers(inst, skip_scripts=skip_scripts, skip_files=skip_files,
                                       skip_processes=skip_processes))
    rx_key, tx_key, trackers = _shared(rx_key), _shared(tx_key), _shared(trackers)
    return InstancePlan(
        name=inst.name, identity=inst.identity, ifname=ifname, family=family, params=params,
        vips=vips, evips=evips, auth_type=auth_type, auth_pass=auth_pass,
        configured_src=configured_src, peers=peers, group=group,
        checksum_form=checksum_form_of(inst), ttl=ttl, rx_key=rx_key, tx_key=tx_key,
        trackers=trackers, warnings=tuple(warnings),
        sync_group=inst.sync_group, routes=routes, rules=rules, vmac=vmac,
        no_peer_fault=bool(inst.unicast_fault_no_peer and not peers),
        check_peers=bool(peers and inst.check_unicast_src))


def _allocator():
    """A PreferenceAllocator for the rare rule the model left without a preference
    (the config reader numbers them as keepalived does, across the whole file)."""
    from fastvrrp.host.rules import PreferenceAllocator
    return PreferenceAllocator()


def group_plans(config, plans, *, skip_scripts: Iterable[str] = (),
                skip_files: Iterable[str] = (), skip_processes: Iterable[str] = ()) -> list:
    """The plans with keepalived's sync-group tracking rules applied to the
    members' trackers (keepalived-vrrp.md §3.15; fastvrrp.vrrp.sync_tracking):
    without `sync_group_tracking_weight`, member-level weighted trackers are
    dropped or turned into FAULT trackers; group trackers apply to every
    member.  Plans of instances in no (existing) group come back unchanged,
    with `sync_group` None."""
    from dataclasses import replace as _replace
    from fastvrrp.track.aggregate import Kind, TrackerSpec, merge_specs
    from fastvrrp.vrrp.sync_tracking import sync_group_trackers
    skip = {Kind.SCRIPT: set(skip_scripts), Kind.FILE: set(skip_files),
            Kind.PROCESS: set(skip_processes), Kind.INTERFACE: set()}
    by_name = {p.name: p for p in plans}
    out = {p.name: p for p in plans}
    for gname, group in config.sync_groups.items():
        members = [m for m in group.members if m in by_name]
        if not members:
            continue
        explicit, implicit = {}, {}
        for name in members:
            inst = config.instance(name)
            own = [(t, "track_interface") for t in inst.track_interfaces
                   if t.group is None and t.name != inst.interface]
            own += [(t, "track_script") for t in inst.track_scripts if t.group is None]
            own += [(t, "track_file") for t in inst.track_files if t.group is None]
            own += [(t, "track_process") for t in inst.track_processes if t.group is None]
            explicit[name] = (inst.priority, tuple((kind, t.name, t.weight, t.reverse)
                                                   for t, kind in own))
            # the interfaces keepalived tracks by itself (own interface, VIPs' devs)
            implicit[name] = instance_trackers(_replace(
                inst, track_interfaces=(), track_scripts=(), track_files=(), track_processes=()))
        group_level = tuple(
            [("track_interface", t.name, t.weight, t.reverse) for t in group.track_interfaces]
            + [("track_script", t.name, t.weight, t.reverse) for t in group.track_scripts]
            + [("track_file", t.name, t.weight, t.reverse) for t in group.track_files]
            + [("track_process", t.name, t.weight, t.reverse) for t in group.track_processes])
        try:
            result = sync_group_trackers(gname, explicit, group_level,
                                         tracking_weight=bool(group.sync_group_tracking_weight))
        except ValueError as exc:
            raise ConvertError("vrrp_sync_group %s: %s" % (gname, exc)) from None
        for text in result.messages:
            log.warning("%s", text)
        for name in members:
            chosen = [TrackerSpec(Kind(kind), tname, weight, reverse)
                      for kind, tname, weight, reverse in result.trackers[name]]
            chosen = [t for t in chosen if t.name not in skip[t.kind]]
            out[name] = _replace(by_name[name], sync_group=gname,
                                 trackers=tuple(merge_specs(implicit[name] + chosen)))
    return [out[p.name] if out[p.name] is not p
            else p if p.sync_group is None else _replace(p, sync_group=None)
            for p in plans]


def startup_delay_ns(global_defs) -> int:
    """keepalived's vrrp_startup_delay (first start only)."""
    return int(getattr(global_defs, "vrrp_startup_delay_us", 0) or 0) * NS_PER_US


# ---------------------------------------------------------------- vrrp_script

@dataclass(frozen=True, slots=True)
class VettedScripts:
    """The vrrp_scripts the instances use, ready to run, and those keepalived drops."""
    scripts: dict            # name -> fastvrrp.track.scripts.TrackedScript
    dropped: frozenset       # names removed from every instance (missing, insecure, bad user)
    messages: tuple          # fastvrrp.track.security.Message, in order


def used_script_names(config) -> list[str]:
    names: dict[str, None] = {}
    for inst in config.instances:
        for t in inst.track_scripts:
            names.setdefault(t.name, None)
    return list(names)


def vet_scripts(config, default_user=None) -> VettedScripts:
    """keepalived's checks for every vrrp_script an instance tracks (reference §3.3):
    a script that is missing, not executable or insecure under
    enable_script_security is dropped from every instance (no FAULT).
    Scripts nobody tracks are not run (keepalived frees them with a warning).
    What `default_user` reports about the default script user stays in its
    own `messages` (the notifier built with the same one logs them once)."""
    from fastvrrp.track.security import (DefaultScriptUser, Message, ScriptFlags, Severity,
                                         security_summary, vet_track_script)
    g = config.global_defs
    if default_user is None:
        default_user = DefaultScriptUser(g.script_user, g.script_group,
                                         script_security=g.enable_script_security)
    symlinks = bool(getattr(g, "use_symlink_paths", False) or g.other.get("use_symlink_paths"))
    scripts, dropped, messages = {}, set(), []
    flags = ScriptFlags(0)
    for name in used_script_names(config):
        vscript = config.scripts.get(name)
        if vscript is None:
            # the config reader reports unknown scripts; keepalived ignores the entry
            dropped.add(name)
            continue
        command = vscript.command
        vetted = vet_track_script(name, command.argv, command.user, command.group,
                                  default=default_user, use_symlink_paths=symlinks)
        messages.extend(vetted.messages)
        flags |= vetted.flags
        if not vetted.usable:
            dropped.add(name)
            continue
        # imported here: a config without vrrp_scripts never loads the script tracker
        from fastvrrp.track.scripts import script_from_config
        try:
            scripts[name] = script_from_config(vscript, argv=vetted.argv, uid=vetted.uid,
                                               gid=vetted.gid)
        except ValueError as exc:
            messages.append(Message(Severity.ERROR, "vrrp_script %s: %s - removing" % (name, exc)))
            dropped.add(name)
    for name in config.scripts:
        if name not in scripts and name not in dropped:
            messages.append(Message(Severity.WARNING,
                                    "vrrp_script %s is not used by any instance - ignoring" % name))
    verdict = security_summary(flags, bool(g.enable_script_security))   # keepalived -t exit 6
    if verdict is not None:
        messages.append(verdict)
    return VettedScripts(scripts, frozenset(dropped), tuple(messages))


# ---------------------------------------------------------------- what the engine keeps

def drops_vips(inst) -> bool:
    """RFC 5798 §6.4.3 Accept_Mode / keepalived vrrp_handle_accept_mode: a
    non-owner without `accept` drops traffic to its VIPs while Master."""
    return not inst.accept and inst.priority != 255


def release_instances(config) -> frozenset:
    """Issue 6 (memory): a running engine's config lets go of its model
    instances once they are planned, in place (like
    fastvrrp.config.model.forget_positions: every holder of the config sees
    it); returns the names of the instances that drop traffic to their VIPs
    (`drops_vips`), the one thing the engine still asks of them.  The plans
    hold everything else an instance runs on, so a model instance (~0.7 kB
    with its addresses) is not kept twice; a reload reads the file again."""
    firewalled = frozenset(inst.name for inst in config.instances if drops_vips(inst))
    if config.instances:
        object.__setattr__(config, "instances", ())
        config.__dict__.pop("instances_by_name", None)      # the cached_property's dict
    return firewalled


__all__ = ["ConvertError", "InstancePlan", "RxKey", "TxKey", "VettedScripts", "auth_of",
           "checksum_form_of", "drops_vips", "instance_params", "plan_instance",
           "release_instances", "startup_delay_ns", "used_script_names", "vet_scripts", "vip_spec"]
