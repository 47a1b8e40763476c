"""One route as the host layer adds it: `RouteSpec` -> netlink request.

`RouteSpec` is the host's own frozen description of one `virtual_routes` /
`static_routes` line (keepalived 2.2 alloc_route, reference §2.3; `ip route`
syntax).  The daemon converts the config model into it; what is left wrong
here raises ValueError with the reason.  Supported, as keepalived sends them
(vrrp_iproute.c netlink_route):

    to (dst; "default"), type (unicast local broadcast anycast multicast
    blackhole unreachable prohibit throw), src (RTA_PREFSRC), from (RTA_SRC,
    IPv6 only), via (RTA_GATEWAY; keepalived's deprecated `gw` is the same),
    dev/oif (name or ifindex), scope, table (RTA_TABLE above 255), metric /
    priority / preference (RTA_PRIORITY), protocol (default 18,
    RTPROT_KEEPALIVED, as keepalived), tos/dsfield, realms (RTA_FLOW), onlink
    (RTNH_F_ONLINK), pref (IPv6 RTA_PREF), expires (IPv6 RTA_EXPIRES), the
    RTA_METRICS (mtu window rtt rttvar ssthresh cwnd advmss reordering
    hoplimit initcwnd initrwnd rto_min quickack fastopen_no_cookie features
    congctl, each lockable), multipath `nexthop`s (keepalived's deprecated
    `via A or B` is nexthops (A, B); a route-level dev is the dev of every
    nexthop without one -- keepalived sends it as RTA_OIF next to
    RTA_MULTIPATH, which Linux refuses with EINVAL) and add/prepend/append
    (NLM_F_EXCL / default / NLM_F_APPEND).  Not supported (ValueError): `encap`, `as to`,
    `ttl-propagate` (MPLS), `vrf` (no VRF devices here), types nat/xresolve
    (Linux rejects them).

keepalived's defaults: table main, scope universe on add (RT_SCOPE_NOWHERE,
"any", on delete unless a scope is given), type unicast (RTN_UNSPEC on
delete unless given), NLM_F_CREATE without NLM_F_EXCL ("prepend").  A delete
carries the route's attributes and protocol, so it removes only the route we
added (the kernel matches them).

`RouteSpec.to_netlink(ifindexes)` / `to_netlink_delete(ifindexes)` give the
RTM_NEWROUTE / RTM_DELROUTE request (`RouteRequest`: the rtmsg fields and the
RTA_* attributes); routes.py sends them.
"""

import ipaddress
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .nlrequest import RequestAttrs
from .values import (PROTOCOL_NAMES, RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTPROT_KEEPALIVED, SCOPES,
                     TABLE_NAMES, U32, af, check_dev, check_named, check_uint, parse_address,
                     parse_dsfield, parse_family, parse_prefix, parse_realms)

RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255
RTN_UNSPEC = 0
RTNH_F_ONLINK = 4

# rtm_type (linux/rtnetlink.h).  nat (10) and xresolve (11) exist in the
# enum but Linux refuses to add them.
ROUTE_TYPES = {"unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5,
               "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9}
# Types whose route is an error or a throw: no gateway, device or nexthops.
_NO_NEXTHOP_TYPES = ("blackhole", "unreachable", "prohibit", "throw")

# RFC 4191 §2.1 Route Preference (ICMPV6_ROUTER_PREF_*).
PREF_NAMES = {"low": 3, "medium": 0, "high": 1}

# RTAX_* (linux/rtnetlink.h): the route metrics keepalived accepts.
RTAX = {"mtu": 2, "window": 3, "rtt": 4, "rttvar": 5, "ssthresh": 6, "cwnd": 7, "advmss": 8,
        "reordering": 9, "hoplimit": 10, "initcwnd": 11, "features": 12, "rto_min": 13,
        "initrwnd": 14, "quickack": 15, "congctl": 16, "fastopen_no_cookie": 17}
RTAX_FEATURE_ECN = 1
_INT_METRICS = ("mtu", "window", "rtt", "rttvar", "ssthresh", "cwnd", "advmss", "reordering",
                "hoplimit", "initcwnd", "initrwnd", "rto_min", "quickack", "fastopen_no_cookie")
_BOOL_METRICS = ("quickack", "fastopen_no_cookie")     # 0 or 1
# Times are given in milliseconds; the kernel keeps rtt in 1/8 ms and
# rttvar in 1/4 ms (iproute2 and keepalived scale them the same way).
_TIME_SCALE = {"rtt": 8, "rttvar": 4, "rto_min": 1}


class RouteMsg(rtmsg):
    """pyroute2's rtmsg plus RTA_EXPIRES as u32 and RTAX_FASTOPEN_NO_COOKIE.

    pyroute2 compiles an nla_map once per class and a subclass inherits the
    compiled flag; resetting it gives this class its own tables.
    """

    _nlmsg_base__compiled_nla = False
    nla_map = rtmsg.nla_map[:-1] + (("RTA_EXPIRES", "uint32"), ("RTA_PAD", "hex"),
                                    ("RTA_UID", "uint32"), ("RTA_TTL_PROPAGATE", "uint8"))

    class metrics(rtmsg.metrics):
        _nlmsg_base__compiled_nla = False
        nla_map = rtmsg.metrics.nla_map + (("RTAX_FASTOPEN_NO_COOKIE", "uint32"),)


class _Family:
    """Collects the address family from the fields that imply one."""

    def __init__(self, what, given):
        self.what = what
        self.version = given

    def see(self, version, field_name):
        if self.version is None:
            self.version = version
        elif self.version != version:
            raise ValueError("%s: %s is IPv%d but the route is IPv%d (IPv4 and IPv6 cannot be "
                             "mixed)" % (self.what, field_name, version, self.version))


# -- the spec ------------------------------------------------------------------
@dataclass(frozen=True)
class Nexthop:
    """One `nexthop via A [dev IF] [weight N] [onlink] [realms R]` of a multipath route."""

    via: object = None
    dev: object = None          # name or ifindex
    weight: int = 1             # 1..256 (rtnh_hops = weight - 1)
    onlink: bool = False
    realms: object = None       # IPv4 only

    def __post_init__(self):
        what = "nexthop"
        if self.via is None and self.dev is None:
            raise ValueError("nexthop: give via and/or dev")
        if self.via is not None:
            object.__setattr__(self, "via", parse_address(self.via, "nexthop via"))
        if self.dev is not None:
            check_dev(self.dev, what)
        check_uint(self.weight, "nexthop weight", 256, 1)
        if not isinstance(self.onlink, bool):
            raise ValueError("nexthop: onlink must be True or False")
        if self.realms is not None:
            object.__setattr__(self, "realms", parse_realms(self.realms, "nexthop realms"))

    def __str__(self):
        out = ["nexthop"]
        if self.via is not None:
            out.append("via %s" % self.via)
        if self.dev is not None:
            out.append("dev %s" % self.dev)
        if self.weight != 1:
            out.append("weight %d" % self.weight)
        if self.onlink:
            out.append("onlink")
        if self.realms is not None:
            out.append("realms %d/%d" % (self.realms >> 16, self.realms & 0xFFFF))
        return " ".join(out)


@dataclass(frozen=True)
class RouteSpec:
    """One route; see the module docstring.  Metrics in ms for rtt/rttvar/rto_min."""

    to: object = None                   # "default", "A/P", "A", or a network
    family: object = None               # inferred from the addresses; default IPv4
    type: str = None                    # None: unicast (and not matched on delete)
    src: object = None                  # preferred source (RTA_PREFSRC)
    from_: object = None                # source prefix (RTA_SRC), IPv6 only
    via: object = None                  # gateway
    dev: object = None                  # name or ifindex (RTA_OIF)
    scope: object = None                # None: universe on add, any on delete
    table: object = RT_TABLE_MAIN
    metric: object = None
    protocol: object = RTPROT_KEEPALIVED
    tos: object = None
    realms: object = None
    onlink: bool = False
    pref: object = None                 # IPv6: low / medium / high
    expires: object = None              # IPv6: seconds
    mtu: object = None
    window: object = None
    rtt: object = None
    rttvar: object = None
    ssthresh: object = None
    cwnd: object = None
    advmss: object = None
    reordering: object = None
    hoplimit: object = None
    initcwnd: object = None
    initrwnd: object = None
    rto_min: object = None
    quickack: object = None
    fastopen_no_cookie: object = None
    features: frozenset = frozenset()   # {"ecn"}
    congctl: str = None
    lock: frozenset = frozenset()       # metric names to lock (RTAX_LOCK)
    nexthops: tuple = ()
    operation: str = "prepend"          # "add" (NLM_F_EXCL), "prepend", "append"

    def __post_init__(self):
        set_ = object.__setattr__
        what = "route %s" % (self.to,)
        if self.to is None:
            raise ValueError("route: no destination (give to=..., 'default' for 0/0)")
        fam = _Family(what, parse_family(self.family, what))
        to = parse_prefix(self.to, "%s: to" % what)
        if to is not None:
            fam.see(to.version, "the destination")
        rtype = "unicast" if self.type is None else self.type
        if rtype not in ROUTE_TYPES:
            raise ValueError("%s: unknown route type %r (use one of: %s)"
                             % (what, self.type, ", ".join(ROUTE_TYPES)))
        src = via = from_ = None
        if self.src is not None:
            src = parse_address(self.src, "%s: src" % what)
            fam.see(src.version, "src")
        if self.via is not None:
            via = parse_address(self.via, "%s: via" % what)
            fam.see(via.version, "via")
        if self.from_ is not None:
            from_ = parse_prefix(self.from_, "%s: from" % what)
            if from_ is None:
                from_ = ipaddress.ip_network("::/0")
            if from_.version != 6:
                raise ValueError("%s: 'from' (a source prefix) is IPv6 only" % what)
            fam.see(6, "from")
        if self.dev is not None:
            check_dev(self.dev, what)
        nexthops = tuple(self.nexthops)
        for hop in nexthops:
            if not isinstance(hop, Nexthop):
                raise ValueError("%s: nexthops must be Nexthop objects, got %r" % (what, hop))
            if hop.via is not None:
                fam.see(hop.via.version, "a nexthop")
        if nexthops and via is not None:
            raise ValueError("%s: give either via or nexthops, not both" % what)
        if rtype in _NO_NEXTHOP_TYPES and (via is not None or self.dev is not None or nexthops):
            raise ValueError("%s: a %s route takes no via, dev or nexthops" % (what, rtype))
        scope = None if self.scope is None else check_named(self.scope, SCOPES,
                                                            "%s: scope" % what, 255)
        table = check_named(self.table, TABLE_NAMES, "%s: table" % what, U32)
        if table == RT_TABLE_UNSPEC:
            raise ValueError("%s: table 0 is not a table (main is 254)" % what)
        metric = None if self.metric is None else check_uint(self.metric, "%s: metric" % what)
        protocol = check_named(self.protocol, PROTOCOL_NAMES, "%s: protocol" % what, 255)
        tos = None if self.tos is None else parse_dsfield(self.tos, "%s: tos" % what)
        realms = None if self.realms is None else parse_realms(self.realms, "%s: realms" % what)
        if realms is not None or any(h.realms is not None for h in nexthops):
            fam.see(4, "realms")
        if not isinstance(self.onlink, bool):
            raise ValueError("%s: onlink must be True or False" % what)
        pref = None
        if self.pref is not None:
            pref = check_named(self.pref, PREF_NAMES, "%s: pref" % what, 255)
            fam.see(6, "pref")
        expires = None
        if self.expires is not None:
            expires = check_uint(self.expires, "%s: expires" % what)
            fam.see(6, "expires")
        if tos is not None and fam.version == 6:
            raise ValueError("%s: tos is IPv4 only" % what)
        for name in _INT_METRICS:
            value = getattr(self, name)
            if value is not None:
                hi = 1 if name in _BOOL_METRICS else (255 if name == "hoplimit" else U32)
                value = check_uint(value, "%s: %s" % (what, name), hi)
                if value * _TIME_SCALE.get(name, 1) > U32:
                    raise ValueError("%s: %s %d ms is too large" % (what, name, value))
                set_(self, name, value)
        features = frozenset(self.features)
        if not features <= {"ecn"}:
            raise ValueError("%s: the only route feature is 'ecn', got %s"
                             % (what, ", ".join(sorted(features - {"ecn"}))))
        if self.congctl is not None and (not isinstance(self.congctl, str) or not self.congctl
                                         or not self.congctl.isprintable()
                                         or len(self.congctl) >= 16):
            raise ValueError("%s: congctl must be a congestion control name, got %r"
                             % (what, self.congctl))
        lock = frozenset(self.lock)
        unknown = lock - set(RTAX)
        if unknown:
            raise ValueError("%s: cannot lock %s (metrics: %s)"
                             % (what, ", ".join(sorted(unknown)), ", ".join(RTAX)))
        unset = {m for m in lock if not self._metric_given(m, features)}
        if unset:
            raise ValueError("%s: lock given for unset metric(s) %s" % (what, ", ".join(sorted(unset))))
        if self.operation not in ("add", "prepend", "append"):
            raise ValueError("%s: operation must be add, prepend or append, got %r"
                             % (what, self.operation))
        version = fam.version or 4
        if to is None:
            to = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
        set_(self, "to", to)
        set_(self, "family", version)
        set_(self, "src", src)
        set_(self, "via", via)
        set_(self, "from_", from_)
        set_(self, "scope", scope)
        set_(self, "table", table)
        set_(self, "metric", metric)
        set_(self, "protocol", protocol)
        set_(self, "tos", tos)
        set_(self, "realms", realms)
        set_(self, "pref", pref)
        set_(self, "expires", expires)
        set_(self, "features", features)
        set_(self, "lock", lock)
        set_(self, "nexthops", nexthops)

    def _metric_given(self, name, features):
        if name == "features":
            return bool(features)
        return getattr(self, name) is not None

    # -- derived -----------------------------------------------------------
    @property
    def address_family(self):
        return af(self.family)

    @property
    def route_type(self):
        return "unicast" if self.type is None else self.type

    def ifnames(self):
        """The interface names the request needs resolved to ifindexes."""
        devs = [self.dev] + [h.dev for h in self.nexthops]
        return tuple(dict.fromkeys(d for d in devs if isinstance(d, str)))

    def __str__(self):
        out = []
        if self.route_type != "unicast":
            out.append(self.route_type)
        prefix_max = 32 if self.family == 4 else 128
        if self.to.prefixlen == 0:
            out.append("default")
        elif self.to.prefixlen == prefix_max:
            out.append(str(self.to.network_address))
        else:
            out.append(str(self.to))
        if self.from_ is not None:
            out.append("from %s" % self.from_)
        if self.src is not None:
            out.append("src %s" % self.src)
        if self.tos is not None:
            out.append("tos 0x%02x" % self.tos)
        if self.via is not None:
            out.append("via %s" % self.via)
        if self.dev is not None:
            out.append("dev %s" % self.dev)
        if self.table != RT_TABLE_MAIN:
            out.append("table %d" % self.table)
        out.append("proto %d" % self.protocol)
        if self.scope is not None:
            out.append("scope %d" % self.scope)
        if self.metric is not None:
            out.append("metric %d" % self.metric)
        if self.onlink:
            out.append("onlink")
        if self.realms is not None:
            out.append("realms %d/%d" % (self.realms >> 16, self.realms & 0xFFFF))
        if self.pref is not None:
            out.append("pref %d" % self.pref)
        if self.expires is not None:
            out.append("expires %d" % self.expires)
        for name in _INT_METRICS:
            value = getattr(self, name)
            if value is not None:
                out.append("%s%s %d" % (name, " lock" if name in self.lock else "", value))
        if self.features:
            out.append("features ecn")
        if self.congctl is not None:
            out.append("congctl%s %s" % (" lock" if "congctl" in self.lock else "", self.congctl))
        out.extend(str(h) for h in self.nexthops)
        if self.operation != "prepend":
            out.append(self.operation)
        return " ".join(out)

    # -- netlink -----------------------------------------------------------
    def _index(self, dev, ifindexes):
        if dev is None:
            return None
        if isinstance(dev, int):
            return dev
        index = (ifindexes or {}).get(dev)
        if not isinstance(index, int) or isinstance(index, bool) or index <= 0:
            raise ValueError("route %s: no ifindex for dev %s (resolve it first)" % (self, dev))
        return index

    def to_netlink(self, ifindexes=None):
        """The RTM_NEWROUTE request; `ifindexes` maps the dev names to ifindexes."""
        return self._request(ifindexes, delete=False)

    def to_netlink_delete(self, ifindexes=None):
        """The RTM_DELROUTE request that removes exactly this route."""
        return self._request(ifindexes, delete=True)

    def _request(self, ifindexes, delete):
        fam = self.address_family
        attrs = []
        table = self.table
        if table > 255:
            attrs.append(("RTA_TABLE", table))
            table = RT_TABLE_UNSPEC
        attrs.append(("RTA_DST", str(self.to.network_address)))
        src_len = 0
        if self.from_ is not None:
            attrs.append(("RTA_SRC", str(self.from_.network_address)))
            src_len = self.from_.prefixlen
        if self.src is not None:
            attrs.append(("RTA_PREFSRC", str(self.src)))
        if self.via is not None:
            attrs.append(("RTA_GATEWAY", str(self.via)))
        oif = self._index(self.dev, ifindexes)
        if oif is not None and not self.nexthops:
            attrs.append(("RTA_OIF", oif))
        if self.metric is not None:
            attrs.append(("RTA_PRIORITY", self.metric))
        if self.realms is not None:
            attrs.append(("RTA_FLOW", self.realms))
        if self.expires is not None and not delete:
            attrs.append(("RTA_EXPIRES", self.expires))
        if self.pref is not None:
            attrs.append(("RTA_PREF", self.pref))
        metrics = self._metrics()
        if metrics:
            attrs.append(("RTA_METRICS", metrics))
        if self.nexthops:
            attrs.append(("RTA_MULTIPATH", tuple(
                NexthopRequest(oif=self._index(h.dev, ifindexes) or oif or 0, hops=h.weight - 1,
                               flags=RTNH_F_ONLINK if h.onlink else 0,
                               gateway=str(h.via) if h.via is not None else None,
                               realms=h.realms)
                for h in self.nexthops)))
        if delete:
            scope = RT_SCOPE_NOWHERE if self.scope is None else self.scope
            rtype = RTN_UNSPEC if self.type is None else ROUTE_TYPES[self.type]
        else:
            scope = RT_SCOPE_UNIVERSE if self.scope is None else self.scope
            rtype = ROUTE_TYPES[self.route_type]
        return RouteRequest(family=fam, dst_len=self.to.prefixlen, src_len=src_len,
                            tos=self.tos or 0, table=table, proto=self.protocol, scope=scope,
                            type=rtype, flags=RTNH_F_ONLINK if self.onlink else 0,
                            attrs=tuple(attrs), operation=self.operation,
                            text=str(self) if oif is None or isinstance(self.dev, int)
                            else "%s (ifindex %d)" % (self, oif))

    def _metrics(self):
        out, lock = [], 0
        for name in _INT_METRICS:
            value = getattr(self, name)
            if value is not None:
                out.append(("RTAX_" + name.upper(), value * _TIME_SCALE.get(name, 1)))
        if self.features:
            out.append(("RTAX_FEATURES", RTAX_FEATURE_ECN))
        if self.congctl is not None:
            out.append(("RTAX_CC_ALGO", self.congctl))
        for name in self.lock:
            lock |= 1 << RTAX[name]
        if out and lock:
            out.insert(0, ("RTAX_LOCK", lock))
        return tuple(out)


@dataclass(frozen=True)
class NexthopRequest:
    """One struct rtnexthop of RTA_MULTIPATH plus its RTA_GATEWAY / RTA_FLOW."""

    oif: int
    hops: int
    flags: int
    gateway: str = None
    realms: int = None


@dataclass(frozen=True)
class RouteRequest(RequestAttrs):
    """An RTM_NEWROUTE / RTM_DELROUTE request: rtmsg fields + RTA_* attrs."""

    family: int
    dst_len: int
    src_len: int
    tos: int
    table: int
    proto: int
    scope: int
    type: int
    flags: int
    attrs: tuple
    operation: str = "prepend"
    text: str = ""

    def describe(self):
        return "route " + self.text

    def add_flags(self):
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
        if self.operation == "add":
            flags |= NLM_F_EXCL
        elif self.operation == "append":
            flags |= NLM_F_APPEND
        return flags

    def encode(self):
        """The pyroute2 message (RouteMsg) for this request."""
        msg = RouteMsg()
        for name in ("family", "dst_len", "src_len", "tos", "table", "proto", "scope", "type",
                     "flags"):
            msg[name] = getattr(self, name)
        attrs = []
        for name, value in self.attrs:
            if name == "RTA_METRICS":
                value = {"attrs": [[k, v] for k, v in value]}
            elif name == "RTA_MULTIPATH":
                value = [_encode_hop(h) for h in value]
            attrs.append([name, value])
        msg["attrs"] = attrs
        return msg


def _encode_hop(hop):
    attrs = []
    if hop.gateway is not None:
        attrs.append(["RTA_GATEWAY", hop.gateway])
    if hop.realms is not None:
        attrs.append(["RTA_FLOW", hop.realms])
    return {"oif": hop.oif, "hops": hop.hops, "flags": hop.flags, "attrs": attrs}


__all__ = ["RTAX", "ROUTE_TYPES", "RT_SCOPE_NOWHERE", "RT_SCOPE_UNIVERSE", "RT_TABLE_MAIN",
           "RT_TABLE_UNSPEC", "RTN_UNSPEC", "RTNH_F_ONLINK", "PREF_NAMES", "Nexthop",
           "NexthopRequest", "RouteMsg", "RouteRequest", "RouteSpec"]
