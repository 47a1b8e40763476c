"""The normalised configuration: frozen dataclasses built from keepalived.conf.

Everything here is already checked and derived the way keepalived 2.2.7
derives it (see fastvrrp.config.build): a priority is an int in 1..255, an
address is an `ipaddress` object, a duration is an int in microseconds
(`*_us`), the advertisement interval is in centiseconds (`advert_int_cs`,
the VRRPv3 wire unit, RFC 5798 §5.2.7; v2 values are whole seconds * 100).

Every object keeps the source position (`pos`) of the line that declared it,
and instances keep one position per keyword (`positions`), for error messages
and for the daemon's logs.  Positions never take part in equality, so two
configs that say the same thing compare equal wherever they were written.

The daemon builds its runtime from `Config`: `instances` (in file order),
`scripts`, `track_files`, `track_processes`, `sync_groups`, `global_defs`,
the static addresses/routes/rules.  An instance's `identity` is keepalived's
reload identity (VRID, interface, family, unicast source), not its name.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from types import MappingProxyType
from ipaddress import IPv4Address, IPv6Address, ip_interface, ip_network
from operator import attrgetter

from .ast import Pos

IPAddress = IPv4Address | IPv6Address

NOWHERE = Pos("<default>", 0, 0)


def _pos():
    return field(default=NOWHERE, compare=False, repr=False)


def model(cls):
    """`@dataclass(frozen=True, slots=True)`, quicker to make and to construct.

    A frozen dataclass's generated __init__ sets every field through
    object.__setattr__, which makes a 65-field VrrpInstance cost ~10 us; a
    5,000-instance config builds hundreds of thousands of these objects.  So
    __init__ briefly gives the new object a plain class with the very same
    slots, fills the slots with ordinary assignments, and gives it back its
    real class.

    And every program that reads a config imports this module: dataclass()
    compiles an __eq__, __hash__ and __repr__ per class (most of the import
    time), so these are shared functions over each class's field names
    instead, with the dataclass semantics: equal when of the same class with
    equal compared fields, hashing those fields, `Name(field=value, ...)`.

    The result is an ordinary frozen dataclass: fields(), replace(), pickle
    work; assignment raises FrozenInstanceError.
    """
    if cls.__doc__ is None:   # else dataclass computes one with inspect.signature (slow)
        cls.__doc__ = "%s: see fastvrrp.config.model." % cls.__name__
    frozen = dataclass(frozen=True, slots=True, init=False, repr=False, eq=False)(cls)
    frozen._compared = _values_of(tuple(f.name for f in fields(frozen) if f.compare))
    frozen._shown = tuple(f.name for f in fields(frozen) if f.repr)
    frozen.__eq__ = _eq
    frozen.__hash__ = _hash
    frozen.__repr__ = _repr
    plain = type(frozen.__name__ + "_Unfrozen", (), {"__slots__": frozen.__slots__})
    frozen.__init__ = _init_for(frozen, plain)
    _FIELD_NAMES[frozen] = tuple(f.name for f in fields(frozen))
    return frozen


_FIELD_NAMES: dict = {}      # model class -> its field names (forget_positions)


def _values_of(names):
    """obj -> the tuple of its fields `names` (what dataclass eq/hash compare)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        return lambda obj, name=names[0]: (getattr(obj, name),)
    return lambda obj: ()


def _eq(self, other):
    if other.__class__ is self.__class__:
        return self._compared(self) == other._compared(other)
    return NotImplemented


def _hash(self):
    return hash(self._compared(self))


def _repr(self):
    return "%s(%s)" % (self.__class__.__qualname__,
                       ", ".join(["%s=%r" % (name, getattr(self, name)) for name in self._shown]))


_FACTORY = object()


def _init_for(cls, plain):
    """The dataclass's __init__ signature; the body assigns through `plain`."""
    env = {"_FACTORY": _FACTORY, "_set": object.__setattr__, "_plain": plain, "_cls": cls}
    params, body = [], ["    _set(self, '__class__', _plain)"]
    for f in fields(cls):
        if f.default is not MISSING:
            env["_d_" + f.name] = f.default
            params.append("%s=_d_%s" % (f.name, f.name))
            body.append("    self.%s = %s" % (f.name, f.name))
        elif f.default_factory is not MISSING:
            env["_f_" + f.name] = f.default_factory
            params.append("%s=_FACTORY" % f.name)
            body.append("    self.%s = _f_%s() if %s is _FACTORY else %s"
                        % (f.name, f.name, f.name, f.name))
        else:
            params.append(f.name)
            body.append("    self.%s = %s" % (f.name, f.name))
    body.append("    _set(self, '__class__', _cls)")
    exec("def __init__(self, %s):\n%s\n" % (", ".join(params), "\n".join(body)), env)
    init = env["__init__"]
    init.__qualname__ = cls.__qualname__ + ".__init__"
    return init


# ---------------------------------------------------------------- commands

@model
class Command:
    """A script keepalived runs (vrrp_script `script`, notify_*, fifo scripts).

    `argv` is the command already split the way keepalived splits it (both
    quote kinds, escapes; reference §1.3).  `user`/`group` None means the
    default script user (global `script_user`, else keepalived_script/root).
    `is_system` marks the `"</path"` form keepalived runs through system().
    """
    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    pos: Pos = _pos()

    @property
    def is_system(self) -> bool:
        first = self.argv[0] if self.argv else ""
        return first.startswith("<") and first[1:].lstrip(" \t").startswith("/")


@model
class Fifo:
    path: str
    user: str | None = None
    group: str | None = None
    pos: Pos = _pos()


# ---------------------------------------------------------------- addresses

@model
class IpAddress:
    """One line of virtual_ipaddress / virtual_ipaddress_excluded / static_ipaddress."""
    address: IPAddress
    prefixlen: int
    dev: str | None = None            # None: the instance's interface (or its VMAC)
    scope: int = 0                       # rt_scopes number; 0 = global
    broadcast: IPv4Address | None = None
    label: str | None = None
    peer: IPAddress | None = None
    home: bool = False
    nodad: bool = True                   # IFA_F_NODAD unless `-nodad` (IPv6 only)
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    no_track: bool = False
    preferred_lft: int | None = None  # None: kernel default; 0xFFFFFFFF = forever
    use_vmac: bool = False
    track_group: str | None = None    # static addresses only
    pos: Pos = _pos()

    @property
    def family(self) -> int:
        return self.address.version

    @property
    def interface(self):
        """The address as an ipaddress.IPv4Interface / IPv6Interface."""
        return ip_interface((self.address, self.prefixlen))


@model
class Nexthop:
    via: IPAddress | None = None
    dev: str | None = None
    weight: int | None = None
    onlink: bool = False


@model
class Route:
    """One line of virtual_routes / static_routes (ip-route syntax)."""
    dest: object                          # ipaddress network (IPv4Network/IPv6Network)
    type: str = "unicast"                 # unicast, blackhole, unreachable, prohibit, throw, ...
    src: IPAddress | None = None
    via: IPAddress | None = None
    from_: object = None                  # IPv6 source prefix (`from`)
    dev: str | None = None
    table: int = 254                      # RT_TABLE_MAIN
    metric: int | None = None
    scope: int | None = None
    protocol: int | None = None
    tos: int | None = None
    onlink: bool = False
    pref: str | None = None
    realms: str | None = None
    metrics: tuple[tuple[str, str], ...] = ()   # mtu, advmss, rtt, ... as (name, value) pairs
    nexthops: tuple[Nexthop, ...] = ()
    or_via: IPAddress | None = None    # deprecated `or ADDR`
    operation: str | None = None       # add / prepend / append
    no_track: bool = False
    track_group: str | None = None
    vrf: str | None = None
    pos: Pos = _pos()

    @property
    def family(self) -> int:
        return self.dest.version


@model
class Rule:
    """One line of virtual_rules / static_rules (ip-rule syntax)."""
    family: int = 4
    action: str = "table"                 # table, goto, nop, blackhole, unreachable, prohibit, l3mdev
    from_: object = None                  # ipaddress network
    to: object = None
    not_: bool = False
    table: int | None = None
    goto: int | None = None
    preference: int | None = None      # None only while building; filled like keepalived
    tos: int | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    realms: str | None = None
    suppress_prefixlength: int | None = None
    suppress_ifgroup: int | None = None
    iif: str | None = None
    oif: str | None = None
    tunnel_id: int | None = None
    uidrange: tuple[int, int] | None = None
    l3mdev: bool = False
    protocol: int | None = None
    ipproto: int | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    no_track: bool = False
    track_group: str | None = None
    pos: Pos = _pos()


# ---------------------------------------------------------------- trackers

@model
class TrackInterface:
    name: str
    weight: int = 0                       # 0: down means FAULT (reference §3.2)
    reverse: bool = False
    group: str | None = None           # set when inherited from a sync group
    pos: Pos = _pos()


@model
class TrackScript:
    name: str
    weight: int = 0
    reverse: bool = False
    group: str | None = None
    pos: Pos = _pos()


@model
class TrackFile:
    name: str
    weight: int = 1
    reverse: bool = False
    group: str | None = None
    pos: Pos = _pos()


@model
class TrackProcess:
    name: str
    weight: int = 0
    reverse: bool = False
    group: str | None = None
    pos: Pos = _pos()


@model
class UnicastPeer:
    address: IPAddress
    min_ttl: int = 0
    max_ttl: int = 255
    pos: Pos = _pos()


@model
class Vmac:
    """`use_vmac [NAME] [MAC]` (+ vmac_xmit_base, use_vmac_addr)."""
    ifname: str                           # derived: vrrp.<VRID> unless named
    mac: str | None = None             # None: 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID
    xmit_base: bool = False
    use_vmac_addr: bool = False


# ---------------------------------------------------------------- named blocks

@model
class VrrpScript:
    name: str
    command: Command
    interval_us: int = 1_000_000
    timeout_us: int = 0                   # 0: the interval
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    pos: Pos = _pos()


@model
class TrackFileDef:
    name: str
    path: str
    weight: int = 1
    weight_reverse: bool = False
    init_file: bool = False
    init_value: int = 0
    init_overwrite: bool = False
    pos: Pos = _pos()


@model
class TrackProcessDef:
    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: str | None = None     # exact, initial, partial
    weight: int = 0
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int = 0xFFFF
    terminate_delay_us: int = 0
    fork_delay_us: int = 0
    full_command: bool = False
    pos: Pos = _pos()


@model
class SyncGroup:
    name: str
    members: tuple[str, ...]
    notify_master: Command | None = None
    notify_backup: Command | None = None
    notify_fault: Command | None = None
    notify_stop: Command | None = None
    notify: Command | None = None
    track_interfaces: tuple[TrackInterface, ...] = ()
    track_scripts: tuple[TrackScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    sync_group_tracking_weight: bool = False
    notify_priority_changes: bool | None = None
    pos: Pos = _pos()


@model
class StaticTrackGroup:
    name: str
    members: tuple[str, ...]
    pos: Pos = _pos()


@model
class GarpGroup:
    garp_interval_us: int | None = None
    gna_interval_us: int | None = None
    interfaces: tuple[str, ...] = ()
    pos: Pos = _pos()


@model
class InterfaceDelays:
    interface: str
    down_us: int
    up_us: int = 0
    pos: Pos = _pos()


@model
class LinkbeatInterface:
    interface: str
    method: str | None = None          # MII, ETHTOOL, IOCTL
    pos: Pos = _pos()


# ---------------------------------------------------------------- instance

@model
class VrrpInstance:
    name: str
    vrid: int
    interface: str | None
    family: int                           # 4 or 6
    version: int                          # 2 or 3
    state: str                            # initial wantstate: MASTER or BACKUP (reference §3.5)
    priority: int                         # base priority, 1..255
    advert_int_cs: int = 100              # RFC 5798 §5.2.7 units
    auth_type: str | None = None       # PASS or AH (VRRPv2 only, RFC 3768 §5.3.6)
    auth_pass: bytes | None = None     # exactly 8 bytes, zero padded
    vips: tuple[IpAddress, ...] = ()
    evips: tuple[IpAddress, ...] = ()
    no_virtual_ipaddress: bool = False    # [>=2.2.8] zero VIPs allowed
    vroutes: tuple[Route, ...] = ()
    vrules: tuple[Rule, ...] = ()
    track_interfaces: tuple[TrackInterface, ...] = ()
    track_scripts: tuple[TrackScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    dont_track_primary: bool = False
    nopreempt: bool = False
    preempt_delay_us: int = 0
    mcast_src_ip: IPAddress | None = None
    unicast_src_ip: IPAddress | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int | None = None     # None: IPv4 255 / IPv6 kernel default
    check_unicast_src: bool = False
    unicast_fault_no_peer: bool = False
    mcast_dst_ip: IPAddress | None = None   # the multicast group used (None when unicast)
    accept: bool = True
    skip_check_adv_addr: bool = False
    strict_mode: bool = False
    garp_master_delay_us: int = 5_000_000
    garp_master_repeat: int = 5
    garp_master_refresh_us: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay_us: int = 5_000_000
    garp_lower_prio_repeat: int = 5
    garp_extra_if_s: int = 0
    garp_extra_if_all: bool = False
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    down_timer_adverts: int = 3
    owner_ignore_adverts: bool = False
    v3_checksum_as_v2: bool = False
    notify_master: Command | None = None
    notify_backup: Command | None = None
    notify_fault: Command | None = None
    notify_stop: Command | None = None
    notify_deleted: Command | None = None
    notify_deleted_enabled: bool = False
    notify_master_rx_lower_pri: Command | None = None
    notify: Command | None = None
    notify_priority_changes: bool = False
    use_vmac: Vmac | None = None
    use_ipvlan: tuple[str, ...] | None = None
    vrf: str | None = None
    promote_secondaries: bool = False
    track_src_ip: bool = False
    kernel_rx_buf_size: int | None = None
    old_unicast_checksum: str | None = None  # "config" or "never"
    linkbeat_use_polling: bool = False
    debug: int = 0
    sync_group: str | None = None
    pos: Pos = _pos()
    positions: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)

    @property
    def advert_int_us(self) -> int:
        return self.advert_int_cs * 10_000

    @property
    def identity(self) -> tuple:
        """keepalived's reload identity (reference §3.17): not the name."""
        return (self.vrid, self.interface, self.family,
                self.unicast_src_ip if self.unicast else None)

    def where(self, keyword: str) -> Pos:
        """Source position of a keyword of this instance, else of the instance."""
        return self.positions.get(keyword, self.pos)


# ---------------------------------------------------------------- globals

@model
class GlobalDefs:
    router_id: str | None = None       # None: the host name
    vrrp_mcast_group4: IPv4Address = IPv4Address("224.0.0.18")   # RFC 3768 §5.2.2
    vrrp_mcast_group6: IPv6Address = IPv6Address("ff02::12")     # RFC 5798 §5.1.2.2
    vrrp_garp_master_delay_us: int = 5_000_000
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh_us: int = 0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_lower_prio_delay_us: int = 5_000_000
    vrrp_garp_lower_prio_repeat: int = 5
    vrrp_garp_interval_us: int = 0
    vrrp_gna_interval_us: int = 0
    vrrp_garp_extra_if_s: int = 0
    vrrp_garp_extra_if_all: bool = False
    vrrp_down_timer_adverts: int = 3
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_version: int = 2
    vrrp_strict: bool = False
    vrrp_check_unicast_src: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_owner_ignore_adverts: bool = False
    v3_checksum_as_v2: bool = False
    nftables: str | None = None
    nftables_priority: int | None = None
    nftables_ifindex: bool = False
    nftables_counters: bool = False
    vrrp_iptables: tuple[str, ...] | None = None
    vrrp_ipsets: tuple[str, ...] | None = None
    enable_script_security: bool = False
    script_user: str | None = None
    script_group: str | None = None
    notify_fifo: Fifo | None = None
    notify_fifo_script: Command | None = None
    vrrp_notify_fifo: Fifo | None = None
    vrrp_notify_fifo_script: Command | None = None
    vrrp_notify_priority_changes: bool = False
    fifo_write_vrrp_states_on_reload: bool = False
    vrrp_startup_delay_us: int = 0
    vrrp_delay_after_boot_s: int = 0
    dynamic_interfaces: bool = False
    dynamic_interfaces_allow_if_changes: bool = False
    default_interface: str = "eth0"
    vmac_prefix: str | None = None
    vmac_addr_prefix: str | None = None
    disable_local_igmp: bool = False
    log_unknown_vrids: bool = False
    linkbeat_use_polling: bool = False
    startup_script: Command | None = None
    startup_script_timeout_s: int = 10
    shutdown_script: Command | None = None
    shutdown_script_timeout_s: int = 10
    # Accepted and validated, no effect on fastvrrp (process tuning, reload
    # machinery, dump-file naming): keyword -> normalised value.
    other: dict = field(default_factory=dict)


# ---------------------------------------------------------------- the whole

@dataclass(frozen=True)
class Config:
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    instances: tuple[VrrpInstance, ...] = ()
    scripts: dict = field(default_factory=dict)          # name -> VrrpScript
    track_files: dict = field(default_factory=dict)      # name -> TrackFileDef
    track_processes: dict = field(default_factory=dict)  # name -> TrackProcessDef
    sync_groups: dict = field(default_factory=dict)      # name -> SyncGroup
    static_addresses: tuple[IpAddress, ...] = ()
    static_routes: tuple[Route, ...] = ()
    static_rules: tuple[Rule, ...] = ()
    track_groups: dict = field(default_factory=dict)     # name -> StaticTrackGroup
    garp_groups: tuple[GarpGroup, ...] = ()
    linkbeat_interfaces: tuple[LinkbeatInterface, ...] = ()
    interface_up_down_delays: tuple[InterfaceDelays, ...] = ()
    net_namespace: str | None = None
    instance_name: str | None = None   # top-level `instance NAME`
    top: dict = field(default_factory=dict)  # other accepted top-level keywords

    @cached_property
    def instances_by_name(self) -> dict:
        return {i.name: i for i in self.instances}

    def instance(self, name: str) -> VrrpInstance | None:
        return self.instances_by_name.get(name)

    def interfaces(self) -> dict:
        """Every interface name the config refers to -> first Pos using it."""
        from .references import interface_refs
        out: dict = {}
        for name, pos, _what in interface_refs(self):
            out.setdefault(name, pos)
        return out


# ---------------------------------------------------------------- memory (issue 6)

_NO_POSITIONS = MappingProxyType({})


def forget_positions(config: Config) -> Config:
    """Drop the source positions of a checked model, in place, and intern its
    short strings; returns `config`.

    Positions serve the diagnostics of reading and checking a config; a
    daemon that runs it never looks at them again, and at one Pos per keyword
    they are a good part of what each instance costs (issue 6: ~1 kB per
    instance).  Every `pos` becomes NOWHERE and every VrrpInstance.positions
    an empty read-only mapping; both are compare=False, so equality, hashes
    and reload identities are unchanged.  Repeated short strings (interface
    names, "MASTER", script names) become one object each (sys.intern); the
    instance names, unique anyway, are left alone.  Equal addresses
    (multicast groups, unicast peers) become one object.
    """
    if not isinstance(config, Config):
        raise TypeError("forget_positions needs a Config, not %r" % (type(config).__name__,))
    seen_ips: dict = {}
    for f in fields(config):
        _forget(getattr(config, f.name), seen_ips)
    return config


# Values that hold nothing to forget (no position, no string worth interning).
_LEAVES = frozenset((int, bool, float, bytes, type(None), IPv4Address, IPv6Address))
_IP_TYPES = (IPv4Address, IPv6Address)


def _forget(obj, seen_ips) -> None:
    """One model object (or container of them): positions dropped, short
    strings interned, equal addresses shared (`seen_ips`: address -> the
    first object equal to it)."""
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is not None:
        plan = _FORGET_PLANS.get(cls)
        if plan is None:
            plan = _FORGET_PLANS[cls] = _forget_plan(cls, names)
        getter, names = plan
        setattr_ = object.__setattr__
        for name, value in zip(names, getter(obj)):
            kind = type(value)
            if kind in _LEAVES:
                if kind in _IP_TYPES:
                    # a multicast group, a peer: the same for thousands of instances
                    shared = seen_ips.setdefault(value, value)
                    if shared is not value:
                        setattr_(obj, name, shared)
            elif name == "pos":
                if value is not NOWHERE:
                    setattr_(obj, "pos", NOWHERE)
            elif name == "positions":
                setattr_(obj, "positions", _NO_POSITIONS)
            elif kind is str:
                if name != "name" and len(value) <= 64:
                    setattr_(obj, name, sys.intern(value))
            elif value:                 # (most of an instance's lists are empty)
                _forget(value, seen_ips)
    elif cls is tuple or cls is list or cls is frozenset or cls is set:
        for item in obj:
            if type(item) not in _LEAVES and type(item) is not str:
                _forget(item, seen_ips)
    elif cls is dict:
        for item in obj.values():
            if type(item) not in _LEAVES and type(item) is not str:
                _forget(item, seen_ips)


_FORGET_PLANS: dict = {}     # model class -> (attrgetter of its fields, their names)


# Field annotations whose values hold nothing to forget (the model's contract)
_LEAF_TYPES = frozenset(("int", "bool", "float", "bytes", "int | None", "bool | None",
                         "float | None", "bytes | None"))


def _forget_plan(cls, names):
    """(getter of the fields worth visiting, their names): not the plain numbers."""
    types = {f.name: f.type for f in fields(cls)}
    names = tuple(n for n in names if not (isinstance(types.get(n), str)
                                           and types[n] in _LEAF_TYPES))
    if not names:
        return (lambda obj: ()), names
    if len(names) == 1:
        return (lambda obj, name=names[0]: (getattr(obj, name),)), names
    return attrgetter(*names), names


def network(text: str):
    """Helper for tests and the renderer: an ipaddress network, host bits allowed."""
    return ip_network(text, strict=False)
