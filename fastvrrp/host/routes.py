"""Routes as the host layer adds them: `RouteSpec` -> netlink request; `RouteSet`.

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

`RouteSet` follows VipSet (vips.py): add_all() on becoming Master (RFC 5798
§6.4.1/§6.4.2), remove_all() on leaving it (§6.4.3) or stopping; only routes
the kernel added because we asked are ours (EEXIST: not ours, kept).  Every
add/delete gives an `Outcome` (netlink.py); nothing raises into the daemon.

`netlink_change()` / `netlink_query()` run any rtnetlink request through a
`Netlink` (its socket, timeout and error classification); rules.py and
vmac.py use them too.
"""

import errno
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELROUTE, RTM_NEWROUTE
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from .netlink import ABSENT, DONE, EXISTS, FAILED, NetlinkQueryError, Outcome
from .nlsocket import error_code

log = logging.getLogger("fastvrrp.host")

RTPROT_KEEPALIVED = 18          # rt_protos "keepalived": keepalived's routes and rules
RT_TABLE_UNSPEC = 0
RT_TABLE_MAIN = 254
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

# iproute2's default /etc/iproute2 tables, as keepalived knows them.
TABLE_NAMES = {"default": 253, "main": 254, "local": 255}
SCOPE_NAMES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
PROTOCOL_NAMES = {"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8,
                  "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14,
                  "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186,
                  "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}
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
U32 = 0xFFFFFFFF

IFNAMSIZ = 16


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


# -- running requests through a Netlink --------------------------------------
async def _collect(answer):
    if hasattr(answer, "__aiter__"):
        return [msg async for msg in answer]
    return list(answer)


def _describe_errno(code):
    return os.strerror(code)


async def netlink_change(netlink, op, request, msg, msg_type, msg_flags, benign=None):
    """Send one rtnetlink request through `netlink` -> Outcome; never raises.

    `request` describes itself (`describe()`); `benign` maps errnos to a
    non-failure status (EXISTS / ABSENT).
    """
    benign = benign or {}
    what = "%s %s" % (op, request.describe())

    async def talk(ipr):
        return await _collect(await ipr.nlm_request(msg, msg_type, msg_flags))

    try:
        await netlink.run(what, talk)
    except NetlinkError as exc:
        code = abs(exc.code) if isinstance(exc.code, int) and exc.code else errno.ECOMM
        if code in benign:
            log.debug("%s: %s", what, _describe_errno(code))
            return Outcome(op, request, benign[code], code, _describe_errno(code))
        return _failed(op, request, code, _describe_errno(code), what)
    except NetlinkQueryError as exc:
        return _failed(op, request, exc.errno, str(exc), what)
    except Exception as exc:  # whatever pyroute2 raises must not reach the daemon
        return _failed(op, request, error_code(exc), "%s: %s" % (type(exc).__name__, exc), what)
    return Outcome(op, request, DONE)


async def netlink_query(netlink, what, make):
    """Await make(ipr) through `netlink`; NetlinkQueryError on any failure."""
    try:
        return await netlink.run(what, make)
    except NetlinkError as exc:
        code = abs(exc.code) if isinstance(exc.code, int) and exc.code else errno.ECOMM
        raise NetlinkQueryError(what, code, _describe_errno(code)) from None


def _failed(op, request, code, message, what):
    log.warning("netlink: cannot %s: %s (errno %d)", what, message, code)
    return Outcome(op, request, FAILED, code, message)


class Unresolved:
    """Stands in for a request that could not be built (bad interface, ...)."""

    def __init__(self, text):
        self.text = str(text)

    def describe(self):
        return self.text


def failed_outcome(op, what, code, message, prefix=""):
    log.warning("%scannot %s %s: %s", prefix, op, what, message)
    return Outcome(op, Unresolved(what), FAILED, code, message)


# -- value checks shared with rules.py ----------------------------------------
def check_uint(value, what, hi=U32, lo=0):
    """An int (or decimal/0x-hex string) in lo..hi."""
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise ValueError("%s must be a number %d..%d, got %r" % (what, lo, hi, value)) from None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError("%s must be %d..%d, got %r" % (what, lo, hi, value))
    return value


def check_named(value, names, what, hi):
    """A name from `names` or a number 0..hi."""
    if isinstance(value, str) and value in names:
        return names[value]
    try:
        return check_uint(value, what, hi)
    except ValueError:
        raise ValueError("unknown %s %r (use a number 0..%d or one of: %s)"
                         % (what, value, hi, ", ".join(sorted(names)))) from None


def check_ifname(name, what):
    if (not isinstance(name, str) or not 1 <= len(name.encode()) < IFNAMSIZ
            or name in (".", "..") or any(c in name for c in "/: \t\n")):
        raise ValueError("%s: bad interface name %r" % (what, name))
    return name


def check_dev(dev, what):
    """An interface name or a positive ifindex."""
    if isinstance(dev, int) and not isinstance(dev, bool):
        if dev <= 0:
            raise ValueError("%s: ifindex must be positive, got %r" % (what, dev))
        return dev
    return check_ifname(dev, what)


def parse_realms(value, what="realms"):
    """keepalived/iproute2 realms `[FROM/]TO` (numbers 0..65535) -> RTA_FLOW u32."""
    if isinstance(value, int) and not isinstance(value, bool):
        return check_uint(value, what)
    if not isinstance(value, str):
        raise ValueError("%s must be '[FROM/]TO' or a u32, got %r" % (what, value))
    src, slash, dst = value.partition("/")
    if not slash:
        src, dst = "0", src
    try:
        return (check_uint(src, what, 0xFFFF) << 16) | check_uint(dst, what, 0xFFFF)
    except ValueError:
        raise ValueError("%s must be '[FROM/]TO' with realms 0..65535 (names from rt_realms "
                         "are not read), got %r" % (what, value)) from None


def parse_dsfield(value, what="tos"):
    """tos/dsfield: 0..255, decimal or 0x-hex (keepalived find_rttables_dsfield, strtoul base 0;
    names from /etc/iproute2/rt_dsfield are not read)."""
    return check_uint(value, what, 255)


def parse_prefix(value, what):
    """'A/P', 'A' (host prefix) or an ipaddress network -> network; None for default/any/all."""
    if value is None:
        return None
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return ipaddress.ip_network(value)
    if not isinstance(value, str):
        raise ValueError("%s must be an address/prefix string, got %r" % (what, value))
    if value in ("default", "any", "all"):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("%s %r is not an address or prefix" % (what, value)) from None


def parse_address(value, what):
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if not isinstance(value, str):
        raise ValueError("%s must be an IP address string, got %r" % (what, value))
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError("%s %r is not an IP address" % (what, value)) from None


def parse_family(value, what):
    """4, 6, AF_INET, AF_INET6, 'inet', 'inet6' or None -> 4 / 6 / None."""
    table = {4: 4, 6: 6, socket.AF_INET: 4, socket.AF_INET6: 6, "inet": 4, "inet6": 6,
             None: None}
    if isinstance(value, bool) or value not in table:
        raise ValueError("%s: family must be 4, 6, AF_INET or AF_INET6, got %r" % (what, value))
    return table[value]


def af(version):
    return int(socket.AF_INET if version == 4 else socket.AF_INET6)


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
        scope = None if self.scope is None else check_named(self.scope, SCOPE_NAMES,
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
class RouteRequest:
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

    def attr(self, name, default=None):
        for key, value in self.attrs:
            if key == name:
                return value
        return default

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


async def add_route(netlink, req):
    """RTM_NEWROUTE.  EEXIST -> EXISTS; never raises."""
    return await netlink_change(netlink, "add", req, req.encode(), RTM_NEWROUTE, req.add_flags(),
                                {errno.EEXIST: EXISTS})


async def del_route(netlink, req):
    """RTM_DELROUTE.  ESRCH (no such route) / ENODEV -> ABSENT; never raises."""
    return await netlink_change(netlink, "del", req, req.encode(), RTM_DELROUTE,
                                NLM_F_REQUEST | NLM_F_ACK,
                                {errno.ESRCH: ABSENT, errno.ENODEV: ABSENT})


async def resolve_names(netlink, names):
    """{ifname: ifindex or None}; raises NetlinkQueryError."""
    out = {}
    for name in names:
        if name not in out:
            link = await netlink.link(name)
            out[name] = link.index if link is not None else None
    return out


# -- the routes of one instance ---------------------------------------------------
class RouteSet:
    """The virtual_routes of one instance (or the static_routes); see the module docstring."""

    def __init__(self, netlink, specs, *, name=""):
        specs = tuple(specs)
        for spec in specs:
            if not isinstance(spec, RouteSpec):
                raise TypeError("RouteSet takes RouteSpec objects, got %r" % (spec,))
        self.netlink = netlink
        self.specs = specs
        self.name = name
        self._prefix = "(%s) " % name if name else ""
        self._ours = {}         # spec -> (add request, delete request), in add order

    @property
    def added(self):
        """The add requests of the routes we added and still hold, in add order."""
        return tuple(add for add, _del in self._ours.values())

    def holds(self, spec):
        return spec in self._ours

    async def _requests(self, op, specs):
        """[(spec, add request, delete request)] and FAILED outcomes for the rest."""
        names = tuple(dict.fromkeys(n for s in specs for n in s.ifnames()))
        try:
            indexes = await resolve_names(self.netlink, names)
        except NetlinkQueryError as exc:
            return [], [failed_outcome(op, "route %s" % s, exc.errno, str(exc), self._prefix)
                        for s in specs]
        built, failures = [], []
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
            outcome = await add_route(self.netlink, add)
            if outcome.status == DONE:
                self._ours[spec] = (add, delete)
            outcomes.append(outcome)
        return outcomes

    # RFC 5798 §6.4.3: leaving Master; clean stop
    async def remove_all(self, force=False):
        """Remove the routes we added (force: every configured route) -> [Outcome]."""
        outcomes = []
        for spec, (_add, delete) in reversed(list(self._ours.items())):
            outcome = await del_route(self.netlink, delete)
            if outcome.ok:
                del self._ours[spec]
            outcomes.append(outcome)
        if force:
            outcomes.extend(await delete_configured(self.netlink, [
                s for s in dict.fromkeys(self.specs) if s not in self._ours], name=self.name))
        return outcomes

    async def update(self, specs):
        """Reload (§3.17): drop held routes no longer configured, keep the rest -> [Outcome].

        The caller then runs add_all() if the instance is Master: unchanged
        routes are not touched (not flapped).
        """
        specs = tuple(specs)
        for spec in specs:
            if not isinstance(spec, RouteSpec):
                raise TypeError("RouteSet takes RouteSpec objects, got %r" % (spec,))
        keep = set(specs)
        outcomes = []
        for spec, (_add, delete) in reversed(list(self._ours.items())):
            if spec in keep:
                continue
            outcome = await del_route(self.netlink, delete)
            if outcome.ok:
                del self._ours[spec]
            outcomes.append(outcome)
        self.specs = specs
        return outcomes


async def delete_configured(netlink, specs, *, name=""):
    """Send the delete of every spec whose interfaces exist -> [Outcome].

    keepalived deletes configured virtual and static routes found at start
    (a crash left them; reference §3.1).  A route that is not there is ABSENT;
    one whose interface does not exist cannot be there and is skipped.
    """
    prefix = "(%s) " % name if name else ""
    specs = tuple(dict.fromkeys(specs))
    names = tuple(dict.fromkeys(n for s in specs for n in s.ifnames()))
    try:
        indexes = await resolve_names(netlink, names)
    except NetlinkQueryError as exc:
        return [failed_outcome("del", "route %s" % s, exc.errno, str(exc), prefix) for s in specs]
    outcomes = []
    for spec in specs:
        if any(indexes.get(n) is None for n in spec.ifnames()):
            continue
        outcomes.append(await del_route(netlink, spec.to_netlink_delete(indexes)))
    return outcomes


async def cleanup_stale_routes(netlink, specs, *, name=""):
    """Start-up: remove configured routes a crashed run left -> [Outcome] (DONE or ABSENT)."""
    outcomes = await delete_configured(netlink, specs, name=name)
    prefix = "(%s) " % name if name else ""
    for outcome in outcomes:
        if outcome.status == DONE:
            log.info("%sremoved stale %s found at start", prefix, outcome.request.describe())
    return outcomes
