"""Route and rule entries: one line of virtual_routes/static_routes or
virtual_rules/static_rules, in `ip route` / `ip rule` syntax (reference §2.3).

Errors follow keepalived 2.2.7's alloc_route/alloc_rule: anything it
rejects drops the entry with an error, and it reports (as config errors)
routes that cannot be tracked and rules without a preference.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from .ast import Diagnostics, Word
from .convert import (RT_PROTOS, RT_SCOPES, RT_TABLES, RTN_TYPES, BadValue, to_ip,
                      to_named_number, to_uint, scope_name, word)
from .model import Nexthop, Route, Rule

RTPROT_KEEPALIVED = 18          # iproute2 rt_protos "keepalived"
RULE_START_PRIORITY = 16384

# route metrics: name -> may be followed by "lock"
_METRICS = {"mtu": True, "hoplimit": False, "advmss": True, "rtt": True, "rttvar": True,
            "reordering": True, "window": False, "cwnd": True, "ssthresh": True,
            "rto_min": True, "initcwnd": False, "initrwnd": False, "features": False,
            "quickack": False, "congctl": True, "ttl-propagate": False,
            "fastopen_no_cookie": False, "expires": False}
_ANY = ("default", "any", "all")


class _Drop(Exception):
    """The entry is invalid; the message has been reported."""


def _prefix(text: str):
    """parse_route(): ADDR[/LEN], or default/any/all (family unset: None)."""
    if text in _ANY:
        return None
    if text == "default6":
        return IPv6Network("::/0")
    addr_text, slash, plen = text.partition("/")
    addr = to_ip(addr_text)
    maxlen = 32 if addr.version == 4 else 128
    length = to_uint(plen, 0, maxlen) if slash else maxlen
    return ip_network((addr, length), strict=False)


def _any(family: int):
    return IPv4Network("0.0.0.0/0") if family == 4 else IPv6Network("::/0")


class _Entry:
    """Walks the words of one entry, reporting through diags."""

    def __init__(self, words, diags, who):
        self.words, self.diags, self.who = words, diags, who
        self.i = 0
        self.family = 0

    def fail(self, pos, msg, code="bad-route"):
        self.diags.error(pos, self.who + msg, code)
        raise _Drop()

    def value(self, key: Word) -> Word:
        self.i += 1
        if self.i >= len(self.words):
            self.fail(key.pos, "no value given for '%s'" % key.text, "missing-value")
        return self.words[self.i]

    def set_family(self, fam: int, pos, what: str):
        if not self.family:
            self.family = fam
        elif self.family != fam:
            self.fail(pos, "cannot mix IPv4 and IPv6 addresses in a %s" % what, "family-mismatch")

    def address(self, v: Word, what: str, family_of: str = "route"):
        """The IP address `v` names (its family joins the entry's unless
        family_of is None), or a dropped entry: "invalid <what> address"."""
        try:
            ip = to_ip(v.text)
        except BadValue:
            self.fail(v.pos, "invalid %s address %s" % (what, v.text))
        if family_of:
            self.set_family(ip.version, v.pos, family_of)
        return ip

    def number(self, w: Word, names: dict, hi: int, what: str) -> int:
        try:
            return to_named_number(w.text, names, hi, what)
        except BadValue as e:
            self.fail(w.pos, str(e))


def parse_route(words: tuple[Word, ...], diags: Diagnostics, who: str,
                static: bool = False, track_groups=None) -> Route | None:
    e = _Entry(words, diags, who)
    try:
        return _route(e, static, track_groups)
    except _Drop:
        return None


def _route(e: _Entry, static: bool, track_groups) -> Route:
    words = e.words
    f: dict = {}
    metrics: list = []
    dest = None
    dest_word = None
    have_dest = False
    while e.i < len(words):
        w = words[e.i]
        k = w.text
        if k in ("inet", "inet6"):
            e.set_family(4 if k == "inet" else 6, w.pos, "route")
        elif k == "src":
            f["src"] = e.address(e.value(w), "route src")
        elif k == "as":
            v = e.value(w)
            if v.text == "to":
                e.value(v)
            e.fail(w.pos, "'as [to]' is for MPLS routes only - not supported")
        elif k in ("via", "gw"):
            if k == "gw":
                e.diags.error(w.pos, e.who + "\"gw\" for routes is deprecated; use \"via\"",
                              "deprecated")
            v = e.value(w)
            if v.text in ("inet", "inet6"):
                e.set_family(4 if v.text == "inet" else 6, v.pos, "route")
                v = e.value(v)
            f["via"] = e.address(v, "route via")
        elif k == "from":
            v = e.value(w)
            try:
                net = _prefix(v.text)
            except BadValue:
                e.fail(v.pos, "invalid route from address %s" % v.text)
            if net is not None and net.version != 6:
                e.fail(v.pos, "route 'from' is only supported for IPv6 (%s)" % v.text)
            f["from_"] = net
            e.set_family(6, v.pos, "route")
        elif k in ("tos", "dsfield"):
            v = e.value(w)
            try:
                f["tos"] = int(v.text, 16) if v.text.lower().startswith("0x") else to_uint(v.text, 0, 255)
            except (BadValue, ValueError):
                e.fail(v.pos, "TOS value %s is invalid" % v.text)
        elif k == "table":
            f["table"] = e.number(e.value(w), RT_TABLES, 0xFFFFFFFF, "routing table")
        elif k == "protocol":
            f["protocol"] = e.number(e.value(w), RT_PROTOS, 255, "route protocol")
        elif k == "scope":
            f["scope"] = e.number(e.value(w), RT_SCOPES, 255, "route scope")
        elif k in ("metric", "priority", "preference"):
            f["metric"] = e.number(e.value(w), {}, 0xFFFFFFFF, "metric")
        elif k in ("dev", "oif"):
            f["dev"] = e.value(w).text
        elif k == "onlink":
            f["onlink"] = True
        elif k == "encap":
            e.fail(w.pos, "'encap' routes are not supported by fastvrrp")
        elif k in _METRICS:
            v = e.value(w)
            text = v.text
            if _METRICS[k] and text == "lock":
                v = e.value(v)
                text = "lock " + v.text
            if k == "expires" and e.family == 4:
                e.fail(w.pos, "expires is only valid for IPv6 routes")
            metrics.append((k, text))
        elif k == "realms":
            f["realms"] = e.value(w).text
        elif k == "pref":
            v = e.value(w)
            if v.text not in ("low", "medium", "high"):
                e.fail(v.pos, "invalid pref '%s' (low, medium or high)" % v.text)
            f["pref"] = v.text
        elif k in ("add", "prepend", "append"):
            f["operation"] = k
        elif k == "or":
            e.diags.error(w.pos, e.who + "\"or\" for routes is deprecated; use \"nexthop\"",
                          "deprecated")
            v = e.value(w)
            if "or_via" in f:
                e.diags.error(v.pos, e.who + "\"or\" route already given - ignoring this one",
                              "duplicate-option")
            else:
                f["or_via"] = e.address(v, "\"or\"", None)
        elif k == "nexthop":
            if "or_via" in f:
                e.fail(w.pos, "cannot give nexthops together with an \"or\" route")
            f["nexthops"] = _nexthops(e)
            break
        elif k == "no_track":
            f["no_track"] = True
        elif k == "track_group" and static:
            _track_group(e, w, f, track_groups)
        elif k == "vrf":
            f["vrf"] = e.value(w).text
        else:
            if k == "to":
                w = e.value(w)
            if w.text in RTN_TYPES:
                f["type"] = w.text
                w = e.value(w)
            try:
                dest = _prefix(w.text)
            except BadValue:
                e.fail(w.pos, "unknown route keyword or invalid destination '%s'" % w.text)
            dest_word, have_dest = w, True
            if dest is not None:
                e.set_family(dest.version, w.pos, "route")
        e.i += 1

    first = words[0]
    if not have_dest:
        e.fail(first.pos, "a route needs a destination")
    family = e.family or 4
    if dest is None:
        dest = _any(family)
    if not f.get("no_track"):
        if f.get("protocol") not in (None, RTPROT_KEEPALIVED):
            e.diags.error(first.pos, e.who + "a tracked route must use protocol keepalived (%d) - "
                          "resetting the protocol" % RTPROT_KEEPALIVED, "route-protocol")
        f["protocol"] = RTPROT_KEEPALIVED
        if "dev" not in f:
            e.diags.error(dest_word.pos, e.who + "route %s has no interface (dev) so it cannot be "
                          "tracked - not tracking it" % dest, "untracked-route")
            f["no_track"] = True
    if "track_group" in f and "dev" not in f:
        e.diags.error(first.pos, e.who + "a static route needs 'dev' to use a track_group - "
                      "ignoring the track_group", "track-group-needs-dev")
        f.pop("track_group")
    if metrics:
        f["metrics"] = tuple(metrics)
    return Route(dest, pos=first.pos, **f)


def _track_group(e, w, f, track_groups):
    """`track_group NAME` of a static route or rule: once, and a defined group."""
    v = e.value(w)
    if "track_group" in f:
        e.diags.error(v.pos, e.who + "track_group %s is a duplicate" % v.text, "duplicate-option")
    elif track_groups is not None and v.text not in track_groups:
        e.diags.error(v.pos, e.who + "track_group %s not found" % v.text, "undefined-name")
    else:
        f["track_group"] = v.text


def _nexthops(e: _Entry) -> tuple:
    hops: list = []
    words = e.words
    cur = None
    while e.i < len(words):
        w = words[e.i]
        k = w.text
        if k == "nexthop":
            cur = {}
            hops.append(cur)
        elif cur is None:
            e.fail(w.pos, "route has trailing nonsense - %s" % k)
        elif k == "via":
            v = e.value(w)
            if v.text in ("inet", "inet6"):
                v = e.value(v)
            cur["via"] = e.address(v, "nexthop via")
        elif k == "dev":
            cur["dev"] = e.value(w).text
        elif k == "weight":
            v = e.value(w)
            cur["weight"] = e.number(v, {}, 256, "nexthop weight")
        elif k == "onlink":
            cur["onlink"] = True
        else:
            e.fail(w.pos, "unknown nexthop option '%s'" % k)
        e.i += 1
    return tuple(Nexthop(**h) for h in hops)


def format_route(r: Route, static: bool = False) -> str:
    out = []
    if r.src is not None:
        out.append("src %s" % r.src)
    if r.from_ is not None:
        out.append("from %s" % r.from_)
    if r.type != "unicast":
        out.append(r.type)
    out.append(str(r.dest))
    if r.via is not None:
        out.append("via %s" % r.via)
    if r.dev is not None:
        out.append("dev " + word(r.dev))
    if r.table != 254:
        out.append("table %d" % r.table)
    if r.metric is not None:
        out.append("metric %d" % r.metric)
    if r.scope is not None:
        out.append("scope " + scope_name(r.scope))
    if r.no_track and r.protocol is not None:
        out.append("protocol %d" % r.protocol)
    if r.tos is not None:
        out.append("tos %d" % r.tos)
    if r.onlink:
        out.append("onlink")
    if r.pref is not None:
        out.append("pref " + r.pref)
    if r.realms is not None:
        out.append("realms " + word(r.realms))
    for name, value in r.metrics:
        locked = value.startswith("lock ")
        out.append("%s %s%s" % (name, "lock " if locked else "", word(value[5:] if locked
                                                                     else value)))
    if r.operation:
        out.append(r.operation)
    if r.or_via is not None:
        out.append("or %s" % r.or_via)
    if r.no_track:
        out.append("no_track")
    if r.track_group is not None and static:
        out.append("track_group " + word(r.track_group))
    if r.vrf is not None:
        out.append("vrf " + word(r.vrf))
    for h in r.nexthops:
        out.append("nexthop")
        if h.via is not None:
            out.append("via %s" % h.via)
        if h.dev is not None:
            out.append("dev " + word(h.dev))
        if h.weight is not None:
            out.append("weight %d" % h.weight)
        if h.onlink:
            out.append("onlink")
    return " ".join(out)


# ---------------------------------------------------------------- rules

class RulePreferences:
    """keepalived numbers rules without a preference 16384, 16383, ... per family."""

    def __init__(self):
        self.next = {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY}

    def take(self, family: int) -> int:
        val = self.next[family]
        self.next[family] = val - 1
        return val


_RULE_ACTIONS = {"blackhole": "blackhole", "unreachable": "unreachable", "prohibit": "prohibit"}
_IPPROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "gre": 47, "esp": 50,
            "ah": 51, "ipv6-icmp": 58}


def parse_rule(words: tuple[Word, ...], diags: Diagnostics, who: str, prefs: RulePreferences,
               static: bool = False, track_groups=None) -> Rule | None:
    e = _Entry(words, diags, who)
    try:
        return _rule(e, prefs, static, track_groups)
    except _Drop:
        return None


def _range(e: _Entry, v: Word, hi: int, what: str):
    lo_t, dash, hi_t = v.text.partition("-")
    try:
        lo = to_uint(lo_t, 0, hi)
        top = to_uint(hi_t, 0, hi) if dash else lo
    except BadValue:
        e.fail(v.pos, "invalid %s %s" % (what, v.text))
    if top < lo:
        e.fail(v.pos, "invalid %s %s" % (what, v.text))
    return (lo, top)


def _rule(e: _Entry, prefs: RulePreferences, static: bool, track_groups) -> Rule:
    words = e.words
    f: dict = {}
    action = None
    table_option = False
    while e.i < len(words):
        w = words[e.i]
        k = w.text
        if k in ("inet", "inet6"):
            e.set_family(4 if k == "inet" else 6, w.pos, "rule")
        elif k in ("from", "to"):
            v = e.value(w)
            try:
                net = _prefix(v.text)
            except BadValue:
                e.fail(v.pos, "invalid rule %s address %s" % (k, v.text))
            if net is not None:
                e.set_family(net.version, v.pos, "rule")
            f["from_" if k == "from" else "to"] = net
        elif k in ("table", "lookup"):
            v = e.value(w)
            table = e.number(v, RT_TABLES, 0xFFFFFFFF, "routing table")
            if table == 0:
                e.fail(v.pos, "table 0 is not valid")
            if action is not None:
                e.fail(w.pos, "only one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev "
                       "may be given for a rule")
            f["table"], action = table, "table"
        elif k == "not":
            f["not_"] = True
        elif k in ("preference", "order", "priority"):
            v = e.value(w)
            try:
                f["preference"] = int(v.text, 0)
                if not 0 <= f["preference"] <= 0xFFFFFFFF:
                    raise ValueError
            except ValueError:
                e.fail(v.pos, "invalid rule preference %s" % v.text)
        elif k in ("tos", "dsfield"):
            v = e.value(w)
            try:
                f["tos"] = int(v.text, 16) if v.text.lower().startswith("0x") else to_uint(v.text, 0, 255)
            except (BadValue, ValueError):
                e.fail(v.pos, "TOS value %s is invalid" % v.text)
        elif k == "fwmark":
            v = e.value(w)
            mark, slash, mask = v.text.partition("/")
            try:
                f["fwmark"] = int(mark, 0)
                if slash:
                    f["fwmask"] = int(mask, 0)
                if not (0 <= f["fwmark"] <= 0xFFFFFFFF and 0 <= f.get("fwmask", 0) <= 0xFFFFFFFF):
                    raise ValueError
            except ValueError:
                e.fail(v.pos, "invalid rule fwmark %s" % v.text)
        elif k == "realms":
            f["realms"] = e.value(w).text
            table_option = True
            if e.family == 6:
                e.fail(w.pos, "realms are only valid for IPv4 rules")
        elif k in ("suppress_prefixlength", "sup_pl"):
            f["suppress_prefixlength"] = e.number(e.value(w), {}, 128, "suppress_prefixlength")
            table_option = True
        elif k in ("suppress_ifgroup", "sup_group"):
            f["suppress_ifgroup"] = e.number(e.value(w), {}, 0x7FFFFFFF, "suppress_ifgroup")
            table_option = True
        elif k in ("dev", "iif"):
            f["iif"] = e.value(w).text
        elif k == "oif":
            f["oif"] = e.value(w).text
        elif k == "tunnel-id":
            v = e.value(w)
            try:
                f["tunnel_id"] = int(v.text, 0)
            except ValueError:
                e.fail(v.pos, "invalid tunnel-id %s" % v.text)
        elif k == "uidrange":
            f["uidrange"] = _range(e, e.value(w), 0xFFFFFFFF, "uidrange")
        elif k == "l3mdev":
            if action is not None:
                e.fail(w.pos, "cannot give l3mdev with another rule action")
            f["l3mdev"], action = True, "l3mdev"
        elif k == "protocol":
            f["protocol"] = e.number(e.value(w), RT_PROTOS, 255, "rule protocol")
        elif k == "ipproto":
            f["ipproto"] = e.number(e.value(w), _IPPROTO, 255, "ipproto")
        elif k in ("sport", "dport"):
            f[k] = _range(e, e.value(w), 65535, k)
        elif k == "no_track":
            f["no_track"] = True
        elif k == "track_group" and static:
            _track_group(e, w, f, track_groups)
        else:
            if k == "type":
                w = e.value(w)
                k = w.text
            if k == "goto":
                v = e.value(w)
                try:
                    f["goto"] = to_uint(v.text, 0, 0xFFFFFFFF)
                except BadValue:
                    e.fail(v.pos, "invalid goto target %s" % v.text)
                new = "goto"
            elif k == "nop":
                new = "nop"
            elif k in _RULE_ACTIONS:
                new = _RULE_ACTIONS[k]
            elif k in RTN_TYPES:
                e.fail(w.pos, "invalid rule action %s" % k)
            else:
                e.fail(w.pos, "unknown rule option %s" % k)
            if action is not None:
                e.fail(w.pos, "only one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev "
                       "may be given for a rule")
            action = new
        e.i += 1

    first = words[0]
    if action == "goto":
        if "preference" not in f:
            e.fail(first.pos, "goto target %d given without a preference" % f["goto"])
        if f["preference"] >= f["goto"]:
            e.fail(first.pos, "rule preference %d >= goto target %d" % (f["preference"], f["goto"]))
    if action is None:
        e.fail(first.pos, "no action given for the rule - ignoring it")
    if action != "table" and table_option:
        e.fail(first.pos, "suppressor/realms given for a non-table rule action - skipping")
    if not f.get("no_track"):
        if f.get("protocol") not in (None, RTPROT_KEEPALIVED):
            e.diags.error(first.pos, e.who + "a tracked rule must use protocol keepalived (%d) - "
                          "resetting the protocol" % RTPROT_KEEPALIVED, "rule-protocol")
        f["protocol"] = RTPROT_KEEPALIVED
    if "track_group" in f and "iif" not in f:
        e.diags.error(first.pos, e.who + "a static rule needs dev/iif to use a track_group - "
                      "ignoring the track_group", "track-group-needs-dev")
        f.pop("track_group")
    family = e.family or 4
    if "preference" not in f:
        f["preference"] = prefs.take(family)
        e.diags.error(first.pos, e.who + "rule has no preference - setting it to %d; this is "
                      "probably not what you want" % f["preference"], "rule-preference")
    return Rule(family=family, action=action, pos=first.pos, **f)


def format_rule(r: Rule, static: bool = False) -> str:
    out = []
    if r.from_ is None and r.to is None and r.family == 6:
        out.append("inet6")
    if r.not_:
        out.append("not")
    if r.from_ is not None:
        out.append("from %s" % r.from_)
    if r.to is not None:
        out.append("to %s" % r.to)
    if r.preference is not None:
        out.append("preference %d" % r.preference)
    if r.tos is not None:
        out.append("tos %d" % r.tos)
    if r.fwmark is not None:
        out.append("fwmark %d" % r.fwmark + ("/%d" % r.fwmask if r.fwmask is not None else ""))
    if r.suppress_prefixlength is not None:
        out.append("suppress_prefixlength %d" % r.suppress_prefixlength)
    if r.suppress_ifgroup is not None:
        out.append("suppress_ifgroup %d" % r.suppress_ifgroup)
    if r.iif is not None:
        out.append("iif " + word(r.iif))
    if r.oif is not None:
        out.append("oif " + word(r.oif))
    if r.tunnel_id is not None:
        out.append("tunnel-id %d" % r.tunnel_id)
    if r.uidrange is not None:
        out.append("uidrange %d-%d" % r.uidrange)
    if r.no_track and r.protocol is not None:
        out.append("protocol %d" % r.protocol)
    if r.ipproto is not None:
        out.append("ipproto %d" % r.ipproto)
    if r.sport is not None:
        out.append("sport %d-%d" % r.sport)
    if r.dport is not None:
        out.append("dport %d-%d" % r.dport)
    if r.realms is not None:
        out.append("realms " + word(r.realms))
    if r.action == "table":
        out.append("table %d" % r.table)
    elif r.action == "goto":
        out.append("goto %d" % r.goto)
    elif r.action == "l3mdev":
        out.append("l3mdev")
    else:
        out.append(r.action)
    if r.no_track:
        out.append("no_track")
    if r.track_group is not None and static:
        out.append("track_group " + word(r.track_group))
    return " ".join(out)
