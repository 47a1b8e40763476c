"""Policy-routing rules as the host layer adds them: `RuleSpec` -> netlink; `RuleSet`.

`RuleSpec` is the host's frozen description of one `virtual_rules` /
`static_rules` line (keepalived 2.2 alloc_rule, reference §2.3; `ip rule`
syntax): from, to, not, table/lookup, goto, nop, type (unicast = table
lookup, blackhole, unreachable, prohibit), l3mdev, preference/priority/order,
tos/dsfield, fwmark[/mask], realms, iif/dev, oif, uidrange, sport, dport,
ipproto, protocol (default 18, RTPROT_KEEPALIVED, as keepalived for tracked
rules), suppress_prefixlength, suppress_ifgroup, tunnel_id, family.  Exactly
one action (table, goto, nop, blackhole/unreachable/prohibit, l3mdev) is
required; goto needs a preference below its target; realms and the
suppressors need the table action -- keepalived's checks, as ValueError.

Rules without a preference get one from a `PreferenceAllocator`: 16384, then
16383, ... per family, with a warning, exactly as keepalived numbers them
(vrrp_iprule.c RULE_START_PRIORITY).  Share one allocator across the
instances of a configuration to get keepalived's numbers.

Requests are keepalived's (vrrp_iprule.c netlink_rule): NLM_F_CREATE |
NLM_F_EXCL on add (an identical rule gives EEXIST: not ours), the table in
fib_rule_hdr up to 255 and FRA_TABLE above, the interface names in
FRA_IIFNAME / FRA_OIFNAME.  A delete carries every attribute, so the kernel
removes only the rule that matches all of them.  `RuleSet` follows VipSet
and RouteSet: what the kernel added because we asked is ours.
"""

import errno
import logging
import socket
from dataclasses import dataclass, field, replace

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELRULE, RTM_NEWRULE
from pyroute2.netlink.rtnl.fibmsg import fibmsg

from .heldset import HeldSet
from .nlrequest import RequestAttrs, log_stale_removed, name_prefix, netlink_change
from .outcome import ABSENT, EXISTS
from .values import (PROTOCOL_NAMES, RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTPROT_KEEPALIVED,
                     TABLE_NAMES, U32, af, check_ifname, check_named, check_uint, parse_dsfield,
                     parse_family, parse_prefix, parse_realms)

log = logging.getLogger("fastvrrp.host")

RULE_START_PRIORITY = 16384

# enum fr_act (linux/fib_rules.h)
FR_ACT_TO_TBL = 1
FR_ACT_GOTO = 2
FR_ACT_NOP = 3
FR_ACT_BLACKHOLE = 6
FR_ACT_UNREACHABLE = 7
FR_ACT_PROHIBIT = 8
FIB_RULE_INVERT = 0x2

ACTIONS = {"table": FR_ACT_TO_TBL, "goto": FR_ACT_GOTO, "nop": FR_ACT_NOP,
           "blackhole": FR_ACT_BLACKHOLE, "unreachable": FR_ACT_UNREACHABLE,
           "prohibit": FR_ACT_PROHIBIT, "l3mdev": FR_ACT_TO_TBL}
RULE_TYPES = ("unicast", "blackhole", "unreachable", "prohibit")
IPPROTO_NAMES = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
                 "icmpv6": 58, "ipv6-icmp": 58, "vrrp": 112, "sctp": 132, "udplite": 136}
GROUP_NAMES = {"default": 0}        # iproute2's rt_group


def _range(value, what, hi):
    """N, (LO, HI) or "LO-HI" -> (lo, hi) with lo <= hi."""
    if isinstance(value, str):
        lo, dash, top = value.partition("-")
        value = (lo, top) if dash else (lo, lo)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError("%s must be N, 'LO-HI' or (LO, HI), got %r" % (what, value))
    lo, top = (check_uint(v, what, hi) for v in value)
    if top < lo:
        raise ValueError("%s range %d-%d is empty" % (what, lo, top))
    return (lo, top)


def _ipproto(value, what):
    if isinstance(value, str) and not value.isdigit():
        if value in IPPROTO_NAMES:
            return IPPROTO_NAMES[value]
        try:
            return socket.getprotobyname(value)
        except OSError:
            raise ValueError("%s: unknown IP protocol %r" % (what, value)) from None
    return check_uint(value, what, 255)


@dataclass(frozen=True)
class RuleSpec:
    """One rule; see the module docstring."""

    from_: object = None            # prefix, or None / "all" for any
    to: object = None
    family: object = None           # inferred from from/to; default IPv4
    not_: bool = False              # FIB_RULE_INVERT
    table: object = None            # "table"/"lookup": name or number (action: table)
    goto: object = None             # action goto: the target preference
    nop: bool = False               # action nop
    type: str = None                # unicast (a table lookup), blackhole, unreachable, prohibit
    l3mdev: bool = False
    preference: object = None       # None: allocated (16384 down) with a warning
    tos: object = None
    fwmark: object = None           # N or "N/MASK"
    fwmask: object = None
    realms: object = None           # IPv4, table action only
    iif: object = None              # keepalived's "dev" too
    oif: object = None
    uidrange: object = None         # (start, end) or "start-end"
    sport: object = None            # N, (lo, hi) or "lo-hi"
    dport: object = None
    ipproto: object = None          # number or name
    protocol: object = RTPROT_KEEPALIVED
    suppress_prefixlength: object = None
    suppress_ifgroup: object = None
    tunnel_id: object = None
    _action: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self):
        set_ = object.__setattr__
        what = "rule"
        family = parse_family(self.family, what)
        nets = {}
        for name in ("from_", "to"):
            net = parse_prefix(getattr(self, name), "rule %s" % name.rstrip("_"))
            if net is not None:
                if family is None:
                    family = net.version
                elif family != net.version:
                    raise ValueError("rule: %s %s is not IPv%d (IPv4 and IPv6 cannot be mixed)"
                                     % (name.rstrip("_"), net, family))
            nets[name] = net
        if self.realms is not None:
            if family == 6:
                raise ValueError("rule: realms are IPv4 only")
            family = 4
        family = family or 4
        for flag in ("not_", "nop", "l3mdev"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError("rule: %s must be True or False" % flag.rstrip("_"))
        actions = []
        table = None
        if self.table is not None:
            table = check_named(self.table, TABLE_NAMES, "rule table", U32)
            if table == RT_TABLE_UNSPEC:
                raise ValueError("rule: table 0 is not valid")
            actions.append("table")
        if self.type is not None:
            if self.type not in RULE_TYPES:
                raise ValueError("rule: type must be one of %s, got %r"
                                 % (", ".join(RULE_TYPES), self.type))
            if self.type == "unicast":
                if table is None:
                    table = RT_TABLE_MAIN
                    actions.append("table")
            else:
                actions.append(self.type)
        goto = None
        if self.goto is not None:
            goto = check_uint(self.goto, "rule goto target")
            actions.append("goto")
        if self.nop:
            actions.append("nop")
        if self.l3mdev:
            actions.append("l3mdev")
        if not actions:
            raise ValueError("rule: no action (give table, goto, nop, type or l3mdev)")
        if len(actions) > 1:
            raise ValueError("rule: only one of table/goto/nop/blackhole/unreachable/prohibit/"
                             "l3mdev may be given, got %s" % ", ".join(actions))
        action = actions[0]
        preference = None
        if self.preference is not None:
            preference = check_uint(self.preference, "rule preference")
        if action == "goto":
            if preference is None:
                raise ValueError("rule: goto %d needs a preference" % goto)
            if preference >= goto:
                raise ValueError("rule: preference %d >= goto target %d" % (preference, goto))
        tos = None if self.tos is None else parse_dsfield(self.tos, "rule tos")
        fwmark, fwmask = self.fwmark, self.fwmask
        if isinstance(fwmark, str) and "/" in fwmark:
            if fwmask is not None:
                raise ValueError("rule: fwmask given twice (%r and %r)" % (fwmark, fwmask))
            fwmark, _, fwmask = fwmark.partition("/")
        if fwmark is not None:
            fwmark = check_uint(fwmark, "rule fwmark")
        if fwmask is not None:
            if fwmark is None:
                raise ValueError("rule: fwmask without fwmark")
            fwmask = check_uint(fwmask, "rule fwmask")
        realms = None if self.realms is None else parse_realms(self.realms, "rule realms")
        spl = None if self.suppress_prefixlength is None else check_uint(
            self.suppress_prefixlength, "rule suppress_prefixlength", 0x7FFFFFFF)
        sgroup = None if self.suppress_ifgroup is None else check_named(
            self.suppress_ifgroup, GROUP_NAMES, "rule suppress_ifgroup", 0x7FFFFFFF)
        if action != "table" and (realms is not None or spl is not None or sgroup is not None):
            raise ValueError("rule: realms and suppress_* need the table action, not %s" % action)
        for name in ("iif", "oif"):
            if getattr(self, name) is not None:
                check_ifname(getattr(self, name), "rule %s" % name)
        uidrange = None if self.uidrange is None else _range(self.uidrange, "rule uidrange", U32)
        sport = None if self.sport is None else _range(self.sport, "rule sport", 0xFFFF)
        dport = None if self.dport is None else _range(self.dport, "rule dport", 0xFFFF)
        ipproto = None if self.ipproto is None else _ipproto(self.ipproto, "rule ipproto")
        protocol = None if self.protocol is None else check_named(
            self.protocol, PROTOCOL_NAMES, "rule protocol", 255)
        tunnel_id = None if self.tunnel_id is None else check_uint(
            self.tunnel_id, "rule tunnel_id", 0xFFFFFFFFFFFFFFFF)
        set_(self, "from_", nets["from_"])
        set_(self, "to", nets["to"])
        set_(self, "family", family)
        set_(self, "table", table)
        set_(self, "goto", goto)
        set_(self, "preference", preference)
        set_(self, "tos", tos)
        set_(self, "fwmark", fwmark)
        set_(self, "fwmask", fwmask)
        set_(self, "realms", realms)
        set_(self, "suppress_prefixlength", spl)
        set_(self, "suppress_ifgroup", sgroup)
        set_(self, "uidrange", uidrange)
        set_(self, "sport", sport)
        set_(self, "dport", dport)
        set_(self, "ipproto", ipproto)
        set_(self, "protocol", protocol)
        set_(self, "tunnel_id", tunnel_id)
        set_(self, "_action", action)

    @property
    def action(self):
        """table, goto, nop, blackhole, unreachable, prohibit or l3mdev."""
        return self._action

    def __str__(self):
        out = []
        if self.preference is not None:
            out.append("%d:" % self.preference)
        if self.not_:
            out.append("not")
        out.append("from %s" % (self.from_ or "all"))
        if self.to is not None:
            out.append("to %s" % self.to)
        if self.tos is not None:
            out.append("tos 0x%02x" % self.tos)
        if self.fwmark is not None:
            out.append("fwmark 0x%x%s" % (self.fwmark, "" if self.fwmask is None
                                          else "/0x%x" % self.fwmask))
        if self.iif is not None:
            out.append("iif %s" % self.iif)
        if self.oif is not None:
            out.append("oif %s" % self.oif)
        if self.uidrange is not None:
            out.append("uidrange %d-%d" % self.uidrange)
        if self.ipproto is not None:
            out.append("ipproto %d" % self.ipproto)
        if self.sport is not None:
            out.append("sport %d-%d" % self.sport)
        if self.dport is not None:
            out.append("dport %d-%d" % self.dport)
        if self.tunnel_id is not None:
            out.append("tun_id %d" % self.tunnel_id)
        if self.action == "table":
            out.append("lookup %d" % self.table)
        elif self.action == "goto":
            out.append("goto %d" % self.goto)
        else:
            out.append(self.action)
        if self.suppress_prefixlength is not None:
            out.append("suppress_prefixlength %d" % self.suppress_prefixlength)
        if self.suppress_ifgroup is not None:
            out.append("suppress_ifgroup %d" % self.suppress_ifgroup)
        if self.realms is not None:
            out.append("realms %d/%d" % (self.realms >> 16, self.realms & 0xFFFF))
        if self.protocol is not None:
            out.append("proto %d" % self.protocol)
        if self.family == 6 and self.from_ is None and self.to is None:
            out.insert(0, "inet6")
        return " ".join(out)

    def to_netlink(self):
        """The RTM_NEWRULE / RTM_DELRULE request (the same attributes for both)."""
        if self.preference is None:
            raise ValueError("rule %s: no preference (allocate one first)" % self)
        attrs = []
        table = RT_TABLE_UNSPEC
        if self.action == "table":
            if self.table < 256:
                table = self.table
            else:
                attrs.append(("FRA_TABLE", self.table))
        dst_len = src_len = 0
        if self.from_ is not None:
            attrs.append(("FRA_SRC", str(self.from_.network_address)))
            src_len = self.from_.prefixlen
        if self.to is not None:
            attrs.append(("FRA_DST", str(self.to.network_address)))
            dst_len = self.to.prefixlen
        attrs.append(("FRA_PRIORITY", self.preference))
        if self.fwmark is not None:
            attrs.append(("FRA_FWMARK", self.fwmark))
        if self.fwmask is not None:
            attrs.append(("FRA_FWMASK", self.fwmask))
        if self.realms is not None:
            attrs.append(("FRA_FLOW", self.realms))
        if self.suppress_prefixlength is not None:
            attrs.append(("FRA_SUPPRESS_PREFIXLEN", self.suppress_prefixlength))
        if self.suppress_ifgroup is not None:
            attrs.append(("FRA_SUPPRESS_IFGROUP", self.suppress_ifgroup))
        if self.iif is not None:
            attrs.append(("FRA_IIFNAME", self.iif))
        if self.oif is not None:
            attrs.append(("FRA_OIFNAME", self.oif))
        if self.tunnel_id is not None:
            attrs.append(("FRA_TUN_ID", self.tunnel_id))
        if self.uidrange is not None:
            attrs.append(("FRA_UID_RANGE", "%d:%d" % self.uidrange))
        if self.l3mdev:
            attrs.append(("FRA_L3MDEV", 1))
        if self.protocol is not None:
            attrs.append(("FRA_PROTOCOL", self.protocol))
        if self.ipproto is not None:
            attrs.append(("FRA_IP_PROTO", self.ipproto))
        if self.sport is not None:
            attrs.append(("FRA_SPORT_RANGE", "%d:%d" % self.sport))
        if self.dport is not None:
            attrs.append(("FRA_DPORT_RANGE", "%d:%d" % self.dport))
        if self.action == "goto":
            attrs.append(("FRA_GOTO", self.goto))
        return RuleRequest(family=af(self.family), dst_len=dst_len, src_len=src_len,
                           tos=self.tos or 0, table=table, action=ACTIONS[self.action],
                           flags=FIB_RULE_INVERT if self.not_ else 0, attrs=tuple(attrs),
                           text=str(self))


@dataclass(frozen=True)
class RuleRequest(RequestAttrs):
    """An RTM_NEWRULE / RTM_DELRULE request: fib_rule_hdr fields + FRA_* attrs."""

    family: int
    dst_len: int
    src_len: int
    tos: int
    table: int
    action: int
    flags: int
    attrs: tuple
    text: str = ""

    def describe(self):
        return "rule " + self.text

    def encode(self):
        msg = fibmsg()
        for name in ("family", "dst_len", "src_len", "tos", "table", "action", "flags"):
            msg[name] = getattr(self, name)
        msg["attrs"] = [[k, v] for k, v in self.attrs]
        return msg


async def add_rule(netlink, req):
    """RTM_NEWRULE (create, exclusive).  EEXIST -> EXISTS; never raises."""
    return await netlink_change(netlink, "add", req, req.encode(), RTM_NEWRULE,
                                NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                                {errno.EEXIST: EXISTS})


async def del_rule(netlink, req):
    """RTM_DELRULE.  ENOENT (no such rule) -> ABSENT; never raises."""
    return await netlink_change(netlink, "del", req, req.encode(), RTM_DELRULE,
                                NLM_F_REQUEST | NLM_F_ACK, {errno.ENOENT: ABSENT})


class PreferenceAllocator:
    """keepalived's automatic rule preferences: 16384, 16383, ... per family."""

    def __init__(self, start=RULE_START_PRIORITY):
        start = check_uint(start, "first rule preference")
        self.next = {4: start, 6: start}

    def take(self, family):
        if family not in self.next:
            raise ValueError("family must be 4 or 6, got %r" % (family,))
        value = self.next[family]
        if value < 0:
            raise ValueError("no automatic rule preferences left for IPv%d" % family)
        self.next[family] = value - 1
        return value


def assign_preferences(specs, allocator, *, name=""):
    """The specs with every missing preference allocated (a warning each), in order."""
    prefix = name_prefix(name)
    out = []
    for spec in specs:
        if not isinstance(spec, RuleSpec):
            raise TypeError("rules must be RuleSpec objects, got %r" % (spec,))
        if spec.preference is None:
            spec = replace(spec, preference=allocator.take(spec.family))
            log.warning("%srule %s has no preference - setting it to %d; this is probably not "
                        "what you want", prefix, spec, spec.preference)
        out.append(spec)
    return tuple(out)


class RuleSet(HeldSet):
    """The virtual_rules of one instance (or the static_rules); see the module docstring."""

    def __init__(self, netlink, specs, *, name="", allocator=None):
        super().__init__()      # _ours: spec -> request
        self.netlink = netlink
        self.name = name
        self.allocator = allocator or PreferenceAllocator()
        self.specs = assign_preferences(specs, self.allocator, name=name)

    @property
    def added(self):
        return tuple(self._ours.values())

    async def _delete(self, held):
        return await del_rule(self.netlink, held)

    # RFC 5798 §6.4.1 / §6.4.2: becoming Master
    async def add_all(self):
        """Add every rule we do not hold yet, in configuration order -> [Outcome]."""
        outcomes = []
        for spec in dict.fromkeys(self.specs):
            if spec in self._ours:
                continue
            req = spec.to_netlink()
            outcomes.append(self._hold(spec, await add_rule(self.netlink, req), req))
        return outcomes

    # RFC 5798 §6.4.3: leaving Master; clean stop
    async def remove_all(self, force=False):
        """Remove the rules we added (force: every configured rule) -> [Outcome]."""
        outcomes = await self._release()
        if force:
            for spec in dict.fromkeys(self.specs):
                if spec not in self._ours:
                    outcomes.append(await del_rule(self.netlink, spec.to_netlink()))
        return outcomes

    async def update(self, specs):
        """Reload (§3.17): drop held rules no longer configured -> [Outcome]; then add_all()."""
        specs = assign_preferences(specs, self.allocator, name=self.name)
        outcomes = await self._release(keep=set(specs))
        self.specs = specs
        return outcomes


async def cleanup_stale_rules(netlink, specs, *, name=""):
    """Start-up: remove configured rules a crashed run left -> [Outcome] (DONE or ABSENT).

    `specs` must carry their preferences (RuleSet.specs does).
    """
    prefix = name_prefix(name)
    outcomes = []
    for spec in dict.fromkeys(specs):
        outcome = await del_rule(netlink, spec.to_netlink())
        log_stale_removed(outcome, prefix)
        outcomes.append(outcome)
    return outcomes
