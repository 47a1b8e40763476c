"""The keyword schema: ONE declarative table of every keyword fastvrrp reads.

Each `Key` says where a keyword may appear (its `Block`), how many words it
takes (`args`), how its words become a value (`conv`), the valid range and
default (for documentation and the renderer), whether it is deprecated,
which keepalived version introduced it, and its priority from the
reference's inventory (§2): P0 every config needs it, P1 common, P2 rare,
IGN accepted and skipped with a warning (LVS, SMTP, SNMP, DBus, BFD).

Kinds:
  value   words -> one value (`conv(args, frame)`), stored in `field`
  flag    bare keyword -> True
  bool    bare keyword -> True, or one of true/on/yes false/off/no
  block   a `{ }` sub-block read with its own Block (authentication)
  list    a value block: one entry per line (`entry(node, frame)`), appended
  named   a top-level `KEYWORD NAME { }` block (vrrp_instance, vrrp_script, ...)
  ignore  IGN: skipped with its braces and one warning

fastvrrp.config.build walks the syntax tree with these tables (one dict
lookup per line); what a keyword *means* beyond its own value (derived
values, cross-checks) lives in build.py and checks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import entries as E
from .convert import BadValue, to_bool, to_decimal, to_int, to_ip, to_uint

P0, P1, P2, IGN = "P0", "P1", "P2", "IGN"
UINT_MAX = 0xFFFFFFFF
INT_MAX = 0x7FFFFFFF
TIMER_MAX_S = UINT_MAX // 1_000_000      # keepalived TIMER_MAX_SEC-ish bound (4294 s)


@dataclass(frozen=True)
class Key:
    name: str
    kind: str = "value"
    conv: Callable | None = None          # value: (args, frame) -> value
    field: str = ""                          # where build stores it ("" = name)
    args: tuple = (1, 1)                     # (min, max) words after the keyword; max None = any
    type: str = ""                           # for docs: uint, int, decimal, bool, ip, string, ...
    range: tuple | None = None
    default: object = None
    prio: str = P1
    deprecated: str | None = None         # the keyword to use instead
    dep_error: bool = False                  # keepalived reports the deprecation as an error
    since: str | None = None              # first keepalived version that has it (> 2.2.7)
    multi: str = "last"                      # last | first | append
    on_error: object = None                  # value stored when conv fails (None: keep previous)
    error_note: str = "ignoring"             # what the error message says happens
    block: "Block" | None = None          # block / named kinds
    entry: Callable | None = None         # list kind: (Node, frame) -> item | None
    doc: str = ""

    def __post_init__(self):
        if not self.field:
            object.__setattr__(self, "field", self.name)
        lo, hi = self.args
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", 1 << 30 if hi is None else hi)
        # A plain value keyword: build.collect stores it without the general path.
        object.__setattr__(self, "fast", self.kind == "value" and not self.deprecated
                           and not self.since and self.multi == "last"
                           and not self.field.startswith("other:") and self.name != "state")
        # A pure converter (see `pure`): build.collect may reuse its values.
        object.__setattr__(self, "memo", {} if getattr(self.conv, "pure", False) else None)


@dataclass
class Block:
    name: str
    keys: dict = field(default_factory=dict)
    ign_prefixes: tuple = ()                 # unknown keywords with these prefixes are IGN
    fast: dict = field(default_factory=dict)  # plain value keys: name -> (conv, field, lo, hi, memo, key)
    # build.collect: the texts of plain value lines with a pure converter ->
    # (field, the value they gave), for the next line that says the same
    known: dict = field(default_factory=dict)

    def add(self, *keys: Key) -> "Block":
        for k in keys:
            self.keys[k.name] = k
            if k.fast:
                self.fast[k.name] = (k.conv, k.field, k.lo, k.hi, k.memo, k)
        return self


# ---------------------------------------------------------------- converters

def pure(conv):
    """Mark a converter whose value depends only on the words' text (no frame
    state, no positions in the result): build.collect may reuse its result for
    a repeated text.  Results that came with a diagnostic are never reused."""
    conv.pure = True
    return conv


def uint(lo=0, hi=UINT_MAX):
    @pure
    def conv(args, frame):
        return to_uint(args[0].text, lo, hi)
    return conv


def sint(lo=-INT_MAX - 1, hi=INT_MAX):
    @pure
    def conv(args, frame):
        return to_int(args[0].text, lo, hi)
    return conv


def seconds_us(lo=0, hi=TIMER_MAX_S):
    """Whole seconds -> microseconds."""
    @pure
    def conv(args, frame):
        return to_uint(args[0].text, lo, hi) * 1_000_000
    return conv


def decimal_us(places, lo, hi):
    """Seconds with up to `places` decimals -> microseconds (keepalived rounds extra digits)."""
    scale = 10 ** (6 - places)

    @pure
    def conv(args, frame):
        val, rounded = to_decimal(args[0].text, places, lo, hi)
        if rounded:
            frame.diags.error(args[0].pos, "%s%s: number '%s' has more than %d decimal places - "
                              "rounding" % (frame.who, frame.keyword, args[0].text, places),
                              "too-many-decimals")
        return val * scale
    return conv


def string(maxlen=None):
    @pure
    def conv(args, frame):
        text = args[0].text
        if maxlen is not None and len(text) > maxlen:
            raise BadValue("'%s' is longer than %d characters" % (text, maxlen))
        return text
    return conv


def optional(conv, default):
    """A value whose words may be left out (keyword alone -> default)."""
    def wrapped(args, frame):
        return conv(args, frame) if args else default
    return wrapped


def notify_deleted(args, frame):
    return E.notify_command(args, frame) if args else True


def words_tuple(args, frame):
    return tuple(w.text for w in args)


def enum(*values):
    @pure
    def conv(args, frame):
        if args[0].text not in values:
            raise BadValue("'%s' is not one of %s" % (args[0].text, ", ".join(values)))
        return args[0].text
    return conv


def ip_any(args, frame):
    return to_ip(args[0].text)


def mcast_group(version):
    @pure
    def conv(args, frame):
        text = args[0].text
        try:
            addr = to_ip(text)
        except BadValue:
            raise BadValue("cannot parse '%s' as an address" % text) from None
        if addr.version != version:
            raise BadValue("'%s' is not IPv%d" % (text, version))
        if not addr.is_multicast:
            raise BadValue("'%s' is not a multicast address" % text)
        if version == 6 and (addr.packed[1] & 0x0F) != 2:
            frame.diags.error(args[0].pos, "%s [%s] should be link-local multicast (ff02::/16)"
                              % (frame.keyword, text), "mcast-not-link-local")
        return addr
    return conv


@pure
def optional_bool(args, frame):
    return to_bool(args[0].text) if args else True


@pure
def garp_repeat(args, frame):
    val = to_uint(args[0].text, 0, UINT_MAX)
    if val == 0:
        frame.diags.error(args[0].pos, "%s%s must be greater than 0 - using 1"
                          % (frame.who, frame.keyword), "out-of-range")
        return 1
    return val


def extra_if(args, frame):
    """`garp_extra_if [all] S` -> (seconds, all)."""
    seconds = None
    every = False
    for w in args:
        if w.text == "all":
            every = True
        else:
            seconds = to_uint(w.text, 0 if frame.block != "global_defs" else 1, 86400)
    if seconds is None:
        raise BadValue("no time given")
    return (seconds, every)


def min_garp(args, frame):
    """vrrp_min_garp: one GARP, no repeats - only where those are still at their defaults."""
    on = to_bool(args[0].text) if args else True
    if on:
        raw = frame.raw
        raw.setdefault("vrrp_garp_master_repeat", 1)
        raw.setdefault("vrrp_garp_master_refresh_us", 0)
        raw.setdefault("vrrp_garp_master_refresh_repeat", 0)
        raw.setdefault("vrrp_garp_master_delay_us", 0)
    return on


def dynamic_interfaces(args, frame):
    if args and args[0].text != "allow_if_changes":
        raise BadValue("unknown option '%s' (allow_if_changes)" % args[0].text)
    frame.raw["dynamic_interfaces_allow_if_changes"] = bool(args)
    return True


@pure
def script_interval(args, frame):
    # 2.2.7 takes whole seconds; newer keepalived takes milliseconds (3 places): accepted.
    val, rounded = to_decimal(args[0].text, 3, 0, UINT_MAX // 1000)
    if rounded:
        frame.diags.error(args[0].pos, "%s%s: number '%s' has more than 3 decimal places - "
                          "rounding" % (frame.who, frame.keyword, args[0].text), "too-many-decimals")
    if val == 0:
        frame.diags.error(args[0].pos, "%s%s must be greater than 0 - using 1"
                          % (frame.who, frame.keyword), "out-of-range")
        val = 1000
    return val * 1000


@pure
def script_weight(args, frame):
    w, reverse = E.weight_reverse(-INT_MAX, INT_MAX, "vrrp_script")(args, frame)
    if not -253 <= w <= 253:
        frame.diags.error(args[0].pos, "%sweight %d must be in [-253, 253] - using %d"
                          % (frame.who, w, 253 if w > 0 else -253), "out-of-range")
        w = 253 if w > 0 else -253
    return (w, reverse)


@pure
def rise_fall(args, frame):
    return to_uint(args[0].text, 1, INT_MAX)


@pure
def vrid(args, frame):
    return to_uint(args[0].text, 1, 255)


@pure
def advert_int(args, frame):
    """Seconds with up to 6 decimals, 0.01..255 (vrrp_parser.c vrrp_adv_handler)."""
    val, rounded = to_decimal(args[0].text, 6, 10_000, 255_000_000)
    if rounded:
        frame.diags.error(args[0].pos, "%sadvert_int: number '%s' has more than 6 decimal "
                          "places - rounding" % (frame.who, args[0].text), "too-many-decimals")
    return val


@pure
def state(args, frame):
    text = args[0].text
    if text in ("MASTER", "BACKUP"):
        return text
    frame.diags.error(args[0].pos, "%sunknown state '%s', defaulting to BACKUP (states are "
                      "upper case: MASTER or BACKUP)" % (frame.who, text), "bad-state")
    return "BACKUP"


def merge_state(old, new, frame, node):
    if old == "MASTER" and new == "BACKUP":
        frame.diags.error(node.pos, "%sstate previously set as MASTER - ignoring BACKUP"
                          % frame.who, "state-conflict")
        return old
    return new


@pure
def interface(args, frame):
    name = args[0].text
    if len(name) >= 16:
        raise BadValue("interface name '%s' is longer than 15 characters" % name)
    return name


@pure
def auth_type(args, frame):
    if args[0].text not in ("PASS", "AH"):
        raise BadValue("unknown authentication type '%s' (PASS or AH)" % args[0].text)
    return args[0].text


@pure
def auth_pass(args, frame):
    # RFC 3768 §5.3.10: 8 octets, zero padded; keepalived truncates longer passwords.
    data = args[0].text.encode("utf-8", "surrogateescape")
    if len(data) > 8:
        frame.diags.error(args[0].pos, "%sauth_pass is longer than 8 characters - truncating it "
                          "to '%s'" % (frame.who, data[:8].decode("utf-8", "replace")),
                          "auth-pass-truncated")
        data = data[:8]
    return data.ljust(8, b"\0")


@pure
def version(args, frame):
    return to_int(args[0].text, 2, 3)


def instance_version(args, frame):
    val = to_int(args[0].text, 2, 3)
    old = frame.raw.get("version")
    if (old is not None and old != val) or (val == 2 and frame.family == 6):
        frame.diags.error(args[0].pos, "%sversion %d conflicts with the configured or deduced "
                          "version %d - ignoring" % (frame.who, val, old or 3), "version-conflict")
        return old
    return val


def native_ipv6(args, frame):
    if frame.family == 4:
        raise BadValue("cannot use native_ipv6 with IPv4 addresses")
    frame.family = 6
    return True


def src_ip(args, frame):
    text = args[0].text
    try:
        addr = to_ip(text)
    except BadValue:
        raise BadValue("malformed source address '%s'" % text) from None
    if not E._family(frame, addr.version, args[0].pos, "source address " + text):
        return None
    return addr


def mcast_dst(args, frame):
    text = args[0].text
    try:
        addr = to_ip(text)
    except BadValue:
        raise BadValue("malformed multicast destination '%s'" % text) from None
    if not E._family(frame, addr.version, args[0].pos, "mcast_dst_ip " + text):
        return None
    if addr.version == 4 and not addr.is_multicast:
        raise BadValue("%s is not multicast" % text)
    if addr.version == 6 and not (addr.is_multicast and (addr.packed[1] & 0x0F) == 2):
        raise BadValue("%s is not link-local multicast" % text)
    return addr


def old_unicast_checksum(args, frame):
    if not args:
        return "config"
    if args[0].text == "never":
        return "never"
    raise BadValue("unknown old_unicast_checksum mode '%s' (never)" % args[0].text)


def use_vmac(args, frame):
    """`use_vmac [IFNAME] [MAC]` -> (ifname or None, mac octets or None).

    A MAC of 5 octets (or ending in ':') takes the VRID as its last octet.
    As keepalived's vrrp_vmac_handler, a bad word is reported and ignored;
    the VMAC itself stays (strict mode, RFC 5798 §7.3 MACs, verified against
    keepalived -t 2.2.7).
    """
    name = mac = None
    for w in args[:2]:
        text = w.text
        try:
            if ":" in text:
                if mac is not None:
                    raise BadValue("VMAC MAC address given twice")
                mac = _vmac_mac(text)
            else:
                if name is not None:
                    raise BadValue("VMAC interface name given twice")
                if len(text) >= 16 or text in (".", "..") or "/" in text:
                    raise BadValue("VMAC interface name '%s' too long or has invalid characters"
                                   % text)
                name = text
        except BadValue as e:
            frame.diags.error(w.pos, "%suse_vmac: %s - ignoring" % (frame.who, e), "bad-value")
    if len(args) > 2:
        E._extra(args[2:], frame)
    return (name, mac)


def _vmac_mac(text):
    octets = text[:-1].split(":") if text.endswith(":") else text.split(":")
    if len(octets) not in (5, 6) or not all(
            1 <= len(o) <= 2 and all(c in "0123456789abcdefABCDEF" for c in o)
            for o in octets):
        raise BadValue("invalid VMAC MAC address '%s'" % text)
    vals = tuple(int(o, 16) for o in octets)
    if vals[0] & 1:
        raise BadValue("VMAC MAC address %s is multicast" % text)
    if vals[:4] == (0, 0, 0x5E, 0) and vals[4] in (1, 2):
        raise BadValue("VMAC MAC address %s is an RFC 5798 virtual router MAC" % text)
    return vals


def garp_interval_group(args, frame):
    val, rounded = to_decimal(args[0].text, 6, 0, INT_MAX)
    return val


def up_down_delay(node, frame):
    from .model import InterfaceDelays
    words = node.words
    try:
        down, _ = to_decimal(words[1].text, 6, 0, 255_000_000) if len(words) > 1 else (None, 0)
        up, _ = to_decimal(words[2].text, 6, 0, 255_000_000) if len(words) > 2 else (0, 0)
    except BadValue as e:
        frame.diags.error(words[0].pos, "interface_up_down_delays %s: %s - ignoring"
                          % (words[0].text, e), "bad-number")
        return None
    if down is None:
        frame.diags.warning(words[0].pos, "no delays given for %s - ignoring" % words[0].text,
                            "missing-value")
        return None
    return InterfaceDelays(words[0].text, down, up, pos=words[0].pos)


def linkbeat_entry(node, frame):
    from .model import LinkbeatInterface
    words = node.words
    method = None
    if len(words) > 1:
        if words[1].text in ("MII", "ETHTOOL", "IOCTL") and len(words) == 2:
            method = words[1].text
        else:
            frame.diags.error(words[1].pos, "extra characters %s in linkbeat interface"
                              % words[1].text, "extra-words")
    return LinkbeatInterface(words[0].text, method, pos=words[0].pos)


def process_path(args, frame):
    return (args[0].text, tuple(w.text for w in args[1:]))


def param_match(args, frame):
    if not args:
        return "exact"
    if args[0].text in ("initial", "partial"):
        return args[0].text
    raise BadValue("invalid param_match type '%s' (initial or partial)" % args[0].text)


def init_file(args, frame):
    value = 0
    overwrite = False
    for w in args:
        if w.text == "overwrite":
            overwrite = True
        else:
            value = to_int(w.text)
    return (True, value, overwrite)


def nice(args, frame):
    return to_int(args[0].text, -20, 19)


def rx_bufs_policy(args, frame):
    return tuple(w.text for w in args)


def skip_check_adv_addr(args, frame):
    # keepalived 2.2.7 sets the flag for ANY valid boolean ("false" enables it):
    # fastvrrp reads the boolean (docs/config-differences.md).
    if not args:
        return True
    val = to_bool(args[0].text)
    if not val:
        frame.diags.warning(args[0].pos, "%sskip_check_adv_addr false: fastvrrp honours it; "
                            "keepalived 2.2.7 would enable the option" % frame.who,
                            "keepalived-bug")
    return val


def global_flag_bool(name):
    """vrrp_strict / vrrp_skip_check_adv_addr / vrrp_check_unicast_src.

    keepalived 2.2.7 ignores any argument (so 'false' turns them on); fastvrrp reads it.
    """
    def conv(args, frame):
        if not args:
            return True
        val = to_bool(args[0].text)
        if not val:
            frame.diags.warning(args[0].pos, "%s false: fastvrrp honours it; keepalived 2.2.7 "
                                "ignores the argument and enables %s" % (name, name),
                                "keepalived-bug")
        return val
    return conv


def iptables(args, frame):
    # The reference build (keepalived 2.2.7, Debian) has nftables only.
    frame.diags.error(frame.node.pos, "vrrp_iptables: iptables is not supported; no_accept "
                      "uses nftables (fastvrrp's own table 'fastvrrp'); remove "
                      "vrrp_iptables/vrrp_ipsets", "iptables")
    frame.raw.setdefault("nftables", "keepalived")
    return tuple(w.text for w in args)


# ---------------------------------------------------------------- helpers

def V(name, conv, prio=P1, **kw):
    return Key(name, "value", conv, **kw, prio=prio)


def F(name, prio=P2, **kw):
    kw.setdefault("args", (0, 0))
    return Key(name, "flag", None, prio=prio, **kw)


def B(name, prio=P2, **kw):
    return Key(name, "bool", optional_bool, args=(0, 1), type="bool", prio=prio, **kw)


def I(name, **kw):
    """IGN: accepted syntax of keepalived's other halves, skipped with a warning."""
    return Key(name, "ignore", None, args=(0, None), prio=IGN, **kw)


def L(name, entry, prio=P1, **kw):
    kw.setdefault("multi", "append")
    return Key(name, "list", None, args=(0, None), entry=entry, prio=prio, **kw)


def CMD(name, prio=P1, **kw):
    return Key(name, "value", E.notify_command, args=(1, None), type="command", prio=prio,
               multi="first", **kw)


def OTHER(name, conv, prio=P2, **kw):
    """Accepted and validated; no effect on fastvrrp (GlobalDefs.other)."""
    return Key(name, "value", conv, field="other:" + name, prio=prio, **kw)


# ---------------------------------------------------------------- global_defs

GLOBAL_DEFS = Block("global_defs", ign_prefixes=(
    "lvs_", "checker_", "bfd_", "smtp_", "enable_snmp", "snmp_", "dbus_", "nftables_ipvs"))
GLOBAL_DEFS.add(
    V("router_id", string(), P0, type="string", doc="no wire effect (SMTP/SNMP only)"),
    V("vrrp_mcast_group4", mcast_group(4), P2, type="ipv4", default="224.0.0.18"),
    V("vrrp_mcast_group6", mcast_group(6), P2, type="ipv6", default="ff02::12"),
    V("vrrp_garp_master_delay", seconds_us(), P1, field="vrrp_garp_master_delay_us",
      type="seconds", range=(0, TIMER_MAX_S), default=5),
    V("vrrp_garp_master_repeat", garp_repeat, P1, type="uint", range=(1, UINT_MAX), default=5),
    V("vrrp_garp_master_refresh", seconds_us(0, UINT_MAX), P1, field="vrrp_garp_master_refresh_us",
      type="seconds", default=0, on_error=0, error_note="using 0"),
    V("vrrp_garp_master_refresh_repeat", garp_repeat, P1, type="uint", default=1),
    V("vrrp_garp_lower_prio_delay", seconds_us(), P2, field="vrrp_garp_lower_prio_delay_us",
      type="seconds", default="vrrp_garp_master_delay"),
    V("vrrp_garp_lower_prio_repeat", uint(0, INT_MAX), P2, type="uint",
      default="vrrp_garp_master_repeat"),
    V("vrrp_down_timer_adverts", uint(1, 100), P2, type="uint", range=(1, 100), default=3),
    V("vrrp_garp_interval", decimal_us(6, 1, UINT_MAX), P1, field="vrrp_garp_interval_us",
      type="decimal", range=("0.000001", "4294.967295"), default=0),
    V("vrrp_gna_interval", decimal_us(6, 1, UINT_MAX), P1, field="vrrp_gna_interval_us",
      type="decimal", range=("0.000001", "4294.967295"), default=0),
    Key("vrrp_min_garp", "value", min_garp, args=(0, 1), type="bool", field="other:vrrp_min_garp"),
    V("vrrp_garp_extra_if", extra_if, P2, args=(1, 2), field="vrrp_garp_extra_if",
      type="[all] seconds", range=(1, 86400)),
    V("vrrp_vmac_garp_intvl", extra_if, P2, args=(1, 2), field="vrrp_garp_extra_if",
      deprecated="vrrp_garp_extra_if", dep_error=True),
    B("vrrp_lower_prio_no_advert"),
    B("vrrp_higher_prio_send_advert"),
    V("vrrp_version", version, P1, type="int", range=(2, 3), default=2),
    V("vrrp_iptables", iptables, P2, args=(0, 2), field="vrrp_iptables"),
    V("vrrp_ipsets", words_tuple, P2, args=(0, 5), field="vrrp_ipsets"),
    V("nftables", optional(string(63), "keepalived"), P2, args=(0, 1), field="nftables"),
    V("nftables_priority", sint(), P2, type="int"),
    F("nftables_ifindex"), F("nftables_counters"),
    Key("vrrp_check_unicast_src", "value", global_flag_bool("vrrp_check_unicast_src"),
        args=(0, 1), type="bool", prio=P1),
    Key("vrrp_skip_check_adv_addr", "value", global_flag_bool("vrrp_skip_check_adv_addr"),
        args=(0, 1), type="bool", prio=P1),
    Key("vrrp_strict", "value", global_flag_bool("vrrp_strict"), args=(0, 1), type="bool",
        prio=P1),
    B("vrrp_owner_ignore_adverts", since="2.3.3"),
    B("v3_checksum_as_v2", since="2.2.8"),
    OTHER("vrrp_priority", nice, type="int", range=(-20, 19)),
    Key("vrrp_no_swap", "flag", None, args=(0, 0), field="other:vrrp_no_swap", prio=P2),
    OTHER("vrrp_rt_priority", uint(1, 99), type="uint", range=(1, 99)),
    OTHER("vrrp_cpu_affinity", words_tuple, args=(1, None)),
    OTHER("vrrp_rlimit_rttime", uint(1, UINT_MAX), type="uint"),
    OTHER("vrrp_rlimit_rtime", uint(1, UINT_MAX), type="uint", deprecated="vrrp_rlimit_rttime"),
    V("notify_fifo", E.fifo, P1, args=(1, 3), multi="first", type="path [user [group]]"),
    CMD("notify_fifo_script"),
    V("vrrp_notify_fifo", E.fifo, P1, args=(1, 3), multi="first", type="path [user [group]]"),
    CMD("vrrp_notify_fifo_script"),
    B("vrrp_notify_priority_changes"),
    F("fifo_write_vrrp_states_on_reload"),
    V("script_user", E.user_group, P1, args=(1, 2), type="user [group]"),
    F("enable_script_security", P1),
    OTHER("vrrp_netlink_cmd_rcv_bufs", uint()), OTHER("vrrp_netlink_cmd_rcv_bufs_force",
                                                      optional_bool, args=(0, 1)),
    OTHER("vrrp_netlink_monitor_rcv_bufs", uint()),
    OTHER("vrrp_netlink_monitor_rcv_bufs_force", optional_bool, args=(0, 1)),
    OTHER("process_monitor_rcv_bufs", uint()),
    OTHER("process_monitor_rcv_bufs_force", optional_bool, args=(0, 1)),
    OTHER("vrrp_rx_bufs_policy", rx_bufs_policy, args=(1, None)),
    OTHER("vrrp_rx_bufs_multiplier", uint(1, UINT_MAX)),
    V("vrrp_startup_delay", decimal_us(6, 0, TIMER_MAX_S * 1_000_000), P1,
      field="vrrp_startup_delay_us", type="decimal", default=0),
    V("vrrp_delay_after_boot", uint(0, UINT_MAX), P2, field="vrrp_delay_after_boot_s",
      since="2.4.0"),
    F("log_unknown_vrids"),
    V("vmac_prefix", string(15), P2), V("vmac_addr_prefix", string(15), P2),
    OTHER("umask", string()), OTHER("random_seed", uint()),
    OTHER("reload_check_config", optional(string(), True), args=(0, 1)),
    OTHER("reload_time_file", string()), Key("reload_repeat", "flag", None, args=(0, 0),
                                               field="other:reload_repeat", prio=P2),
    OTHER("reload_file", optional(string(), True), args=(0, 1)), OTHER("include_check", words_tuple,
                                                        args=(0, None)),
    OTHER("config_save_dir", string()), OTHER("tmp_config_directory", string()),
    OTHER("data_use_instance", optional_bool, args=(0, 1)),
    OTHER("json_version", uint(1, 2), since="2.2.8"),
    OTHER("state_dump_file", string(), since="2.3.3"),
    OTHER("stats_dump_file", string(), since="2.3.3"),
    OTHER("json_dump_file", string(), since="2.3.3"),
    OTHER("use_symlink_paths", optional_bool, args=(0, 1), since="2.3.0"),
    OTHER("set_supplementary_groups", optional_bool, args=(0, 1), since="2.4.4"),
    OTHER("iproute_usr_dir", string(), since="2.3.2"), OTHER("iproute_etc_dir", string(),
                                                             since="2.3.2"),
    Key("process_names", "flag", None, args=(0, 0), field="other:process_names", prio=P2),
    OTHER("process_name", string(15)), OTHER("vrrp_process_name", string(15)),
    CMD("startup_script", P2), V("startup_script_timeout", uint(1, 1000), P2,
                                 field="startup_script_timeout_s", default=10),
    CMD("shutdown_script", P2), V("shutdown_script_timeout", uint(1, 1000), P2,
                                  field="shutdown_script_timeout_s", default=10),
    OTHER("max_auto_priority", optional(sint(-1, 99), 0), args=(0, 1)),
    OTHER("min_auto_priority_delay", uint(1, 10_000_000)),
    V("dynamic_interfaces", dynamic_interfaces, P1, args=(0, 1), type="[allow_if_changes]"),
    V("default_interface", interface, P2, default="eth0"),
    F("disable_local_igmp"),
    F("linkbeat_use_polling"),
    I("notification_email"), I("notification_email_from"), I("smtp_server"),
    I("smtp_helo_name"), I("smtp_connect_timeout"), I("smtp_alert"), I("smtp_alert_vrrp"),
    I("smtp_alert_checker"), I("no_email_faults"), I("rs_init_notifies"),
    I("no_checker_emails"), I("enable_traps"), I("enable_dbus"), I("dbus_service_name"),
    I("dbus_no_interface_name"), I("snmp_socket"), I("lvs_sync_daemon"), I("lvs_timeouts"),
    I("lvs_flush"), I("lvs_flush_on_stop"), I("lvs_flush_onstop"), I("lvs_notify_fifo"),
    I("lvs_notify_fifo_script"), I("checker_process_name"), I("lvs_process_name"),
    I("bfd_process_name"),
)

# ---------------------------------------------------------------- vrrp_instance

AUTHENTICATION = Block("authentication").add(
    V("auth_type", auth_type, P0, type="PASS|AH"),
    V("auth_pass", auth_pass, P0, type="string(8)"),
)

VRRP_INSTANCE = Block("vrrp_instance").add(
    V("state", state, P0, type="MASTER|BACKUP"),
    V("interface", interface, P0, type="ifname"),
    V("virtual_router_id", vrid, P0, type="uint", range=(1, 255),
      error_note="the instance cannot run without a valid VRID"),
    V("priority", uint(1, 255), P0, type="uint", range=(1, 255), default=100, on_error=100,
      error_note="using the default 100"),
    V("advert_int", advert_int, P0, type="decimal", range=("0.01", "255"), default=1),
    Key("authentication", "block", block=AUTHENTICATION, args=(0, 0), prio=P0),
    L("virtual_ipaddress", E.vip, P0),
    L("virtual_ipaddress_excluded", E.evip, P1),
    F("no_virtual_ipaddress", since="2.2.8"),
    L("virtual_routes", E.vroute, P1),
    L("virtual_rules", E.vrule, P2),
    L("track_interface", E.track_interface, P0),
    L("track_script", E.track_script, P0),
    L("track_file", E.track_file, P2),
    L("track_process", E.track_process, P2),
    L("track_bfd", E.track_bfd, IGN),
    F("dont_track_primary", P1),
    F("nopreempt", P0),
    F("preempt", P2, doc="clears nopreempt"),
    V("preempt_delay", decimal_us(6, 0, 1000 * 1_000_000), P1, field="preempt_delay_us",
      type="decimal", range=(0, 1000), default=0, on_error=0, error_note="using 0"),
    V("unicast_src_ip", src_ip, P0, type="ip"),
    V("mcast_src_ip", src_ip, P1, type="ip"),
    L("unicast_peer", E.unicast_peer, P0),
    V("unicast_ttl", uint(0, 255), P1, type="uint", range=(0, 255)),
    F("check_unicast_src", P1),
    F("unicast_fault_no_peer", P2, since=None),
    V("mcast_dst_ip", mcast_dst, P2, type="ip"),
    V("version", instance_version, P1, type="int", range=(2, 3)),
    F("native_ipv6", P2, deprecated="an IPv6 address"),
    F("accept", P1), F("no_accept", P2),
    Key("skip_check_adv_addr", "value", skip_check_adv_addr, args=(0, 1), type="bool", prio=P1),
    B("strict_mode", P1),
    V("garp_master_delay", seconds_us(), P1, field="garp_master_delay_us", type="seconds"),
    V("garp_master_repeat", garp_repeat, P1, type="uint"),
    V("garp_master_refresh", seconds_us(0, UINT_MAX), P1, field="garp_master_refresh_us",
      type="seconds", on_error=0, error_note="using 0"),
    V("garp_master_refresh_repeat", garp_repeat, P1, type="uint"),
    V("garp_lower_prio_delay", seconds_us(), P2, field="garp_lower_prio_delay_us",
      type="seconds"),
    V("garp_lower_prio_repeat", uint(0, INT_MAX), P2, type="uint"),
    V("garp_extra_if", extra_if, P2, args=(1, 2), type="[all] seconds"),
    V("vmac_garp_intvl", extra_if, P2, args=(1, 2), field="garp_extra_if",
      deprecated="garp_extra_if", dep_error=True),
    B("lower_prio_no_advert"), B("higher_prio_send_advert"),
    B("owner_ignore_adverts", since="2.3.3"),
    B("v3_checksum_as_v2", since="2.2.8"),
    V("down_timer_adverts", uint(1, 100), P2, type="uint", range=(1, 100), default=3),
    V("timer_expired_backup", optional(uint(0, 255), True), P2, args=(0, 1), since="2.2.8"),
    CMD("notify_master", P0), CMD("notify_backup", P0), CMD("notify_fault", P0),
    CMD("notify_stop", P0), CMD("notify", P0),
    Key("notify_deleted", "value", notify_deleted, args=(0, None), type="[command]",
        prio=P2, multi="first"),
    CMD("notify_master_rx_lower_pri", P1),
    B("notify_priority_changes"),
    I("smtp_alert"),
    V("debug", uint(0, 4), P2, type="uint", range=(0, 4)),
    V("use_vmac", use_vmac, P2, args=(0, None), type="[ifname] [mac]"),
    F("vmac_xmit_base"), F("use_vmac_addr"),
    V("use_ipvlan", words_tuple, P2, args=(0, None)),
    V("vrf", interface, P2),
    F("promote_secondaries"), F("track_src_ip"),
    V("kernel_rx_buf_size", uint(0, UINT_MAX), P2, type="uint"),
    F("linkbeat_use_polling", deprecated="a linkbeat_interfaces block", dep_error=True),
    V("old_unicast_checksum", old_unicast_checksum, P2, args=(0, 1)),
    I("lvs_sync_daemon_interface"),
    L("auth_hmac", E.track_bfd, IGN, since="2.4.0"),
)

# ---------------------------------------------------------------- scripts and trackers

VRRP_SCRIPT = Block("vrrp_script").add(
    V("script", E.script_command, P0, args=(1, None), type="command"),
    V("interval", script_interval, P0, field="interval_us", type="decimal(3)",
      range=(1, UINT_MAX // 1000), default=1),
    V("timeout", script_interval, P1, field="timeout_us", type="decimal(3)", default=0),
    V("weight", script_weight, P0, args=(1, 2), type="int [reverse]", range=(-253, 253),
      default=0),
    V("rise", rise_fall, P0, type="uint", range=(1, INT_MAX), default=1, on_error=1,
      error_note="using 1"),
    V("fall", rise_fall, P0, type="uint", range=(1, INT_MAX), default=1, on_error=1,
      error_note="using 1"),
    V("user", E.user_group, P1, args=(1, 2), type="user [group]"),
    F("init_fail", P1),
)

TRACK_FILE = Block("track_file").add(
    V("file", string(), P2, field="path", multi="first", type="path"),
    V("weight", E.weight_reverse(-254, 254, "track_file"), P2, args=(1, 2), multi="first",
      type="int [reverse]", range=(-254, 254), default=1),
    V("init_file", init_file, P2, args=(0, 2), type="[value] [overwrite]"),
)

VRRP_TRACK_PROCESS = Block("vrrp_track_process").add(
    V("process", process_path, P2, args=(1, None), multi="first", type="path [args]"),
    V("param_match", param_match, P2, args=(0, 1)),
    V("weight", E.weight_reverse(-254, 254, "vrrp_track_process"), P2, args=(1, 2),
      multi="first", range=(-254, 254)),
    V("quorum", uint(1, 65535), P2, range=(1, 65535), default=1),
    V("quorum_max", uint(0, 65535), P2, range=(0, 65535)),
    V("delay", decimal_us(6, 1, 3600 * 1_000_000), P2, field="delay_us"),
    V("terminate_delay", decimal_us(6, 1, 3600 * 1_000_000), P2, field="terminate_delay_us"),
    V("fork_delay", decimal_us(6, 1, 3600 * 1_000_000), P2, field="fork_delay_us"),
    F("full_command"),
)

VRRP_SYNC_GROUP = Block("vrrp_sync_group").add(
    L("group", E.member, P1, multi="first"),
    L("track_interface", E.track_interface, P2),
    L("track_script", E.track_script, P2),
    L("track_file", E.track_file, P2),
    L("track_process", E.track_process, P2),
    L("track_bfd", E.track_bfd, IGN),
    CMD("notify_master"), CMD("notify_backup"), CMD("notify_fault"), CMD("notify_stop"),
    CMD("notify"),
    I("smtp_alert"),
    F("global_tracking", field="sync_group_tracking_weight",
      deprecated="track_interface/track_script/track_file on the sync group", dep_error=True),
    F("sync_group_tracking_weight"),
    B("notify_priority_changes"),
)

TRACK_GROUP = Block("track_group").add(L("group", E.member, P2, multi="first"))

GARP_GROUP = Block("garp_group").add(
    V("garp_interval", garp_interval_group, P2, field="garp_interval_us"),
    V("gna_interval", garp_interval_group, P2, field="gna_interval_us"),
    V("interface", interface, P2),
    L("interfaces", E.interface_name, P2),
)

# ---------------------------------------------------------------- top level

TOP = Block("top level").add(
    Key("global_defs", "block", block=GLOBAL_DEFS, args=(0, 0), prio=P0),
    Key("vrrp_instance", "named", block=VRRP_INSTANCE, prio=P0),
    Key("vrrp_script", "named", block=VRRP_SCRIPT, prio=P0),
    Key("vrrp_sync_group", "named", block=VRRP_SYNC_GROUP, prio=P1),
    Key("track_file", "named", block=TRACK_FILE, prio=P2),
    Key("vrrp_track_file", "named", block=TRACK_FILE, prio=P2, deprecated="track_file"),
    Key("vrrp_track_process", "named", block=VRRP_TRACK_PROCESS, prio=P2),
    Key("track_group", "named", block=TRACK_GROUP, prio=P2),
    Key("garp_group", "block", block=GARP_GROUP, args=(0, 0), prio=P2),
    L("static_ipaddress", E.static_address, P2),
    L("static_routes", E.static_route, P2),
    L("static_rules", E.static_rule, P2),
    L("linkbeat_interfaces", linkbeat_entry, P2),
    L("interface_up_down_delays", up_down_delay, P2),
    V("net_namespace", string(), P2),
    I("net_namespace_ipvs"),
    F("namespace_with_ipsets"),
    V("instance", string(), P2),
    F("use_pid_dir"),
    V("child_wait_time", uint(0, UINT_MAX), P2),
    F("linkbeat_use_polling"),
    I("virtual_server"), I("virtual_server_group"), I("real_server"), I("SSL"),
    I("bfd_instance"),
)

BLOCKS = {b.name: b for b in (TOP, GLOBAL_DEFS, AUTHENTICATION, VRRP_INSTANCE, VRRP_SCRIPT,
                              TRACK_FILE, VRRP_TRACK_PROCESS, VRRP_SYNC_GROUP, TRACK_GROUP,
                              GARP_GROUP)}


# ---------------------------------------------------------------- no effect

def no_effect(key: Key, reason: str) -> Key:
    """`key`, warning "'KW' has no effect in fastvrrp: REASON" each time it is used
    (issue 5: every accepted keyword has an effect or a warning; the list is
    effects.NO_EFFECT).  Flags and booleans become value keys with the same
    words; list keys warn once per block at their first entry; named and
    block keys are left alone (their inner keywords warn)."""
    if key.kind in ("named", "block", "ignore"):
        return key
    if key.kind == "list":
        inner_entry = key.entry

        def entry(node, frame):
            seen = frame.seen.setdefault("_no_effect", set())
            if key.name not in seen:
                seen.add(key.name)
                _warn_no_effect(frame, frame.node.pos, key.name, reason)
            return inner_entry(node, frame)
        return _replace(key, entry=entry)
    if key.kind == "flag":
        inner, kind_args = (lambda args, frame: True), key.args
    elif key.kind == "bool":
        inner, kind_args = optional_bool, (0, 1)
    else:
        inner, kind_args = key.conv, key.args

    def conv(args, frame):
        _warn_no_effect(frame, frame.node.pos, key.name, reason)
        return inner(args, frame)
    return _replace(key, kind="value", conv=conv, args=kind_args)


def _warn_no_effect(frame, pos, name, reason):
    frame.diags.warning(pos, "%s'%s' has no effect in fastvrrp: %s" % (frame.who, name, reason),
                        "no-effect")


def _replace(key: Key, **changes) -> Key:
    from dataclasses import fields, replace as dc_replace
    names = {f.name for f in fields(Key)}
    return dc_replace(key, **{k: v for k, v in changes.items() if k in names})


def _apply_no_effect() -> None:
    from .effects import NO_EFFECT
    for (block_name, kw), entry in NO_EFFECT.items():
        if entry.code != "no-effect":
            continue
        block = BLOCKS[block_name]
        key = block.keys.get(kw)
        if key is None:
            raise KeyError("effects.NO_EFFECT names %s '%s', which the schema does not have"
                           % (block_name, kw))
        block.fast.pop(kw, None)
        block.add(no_effect(key, entry.reason))


_apply_no_effect()


def where_known(keyword: str) -> list[str]:
    """The blocks in which a keyword is valid (for 'wrong block' hints)."""
    return [b.name for b in BLOCKS.values() if keyword in b.keys]


def iter_keys():
    """(block name, Key) for every keyword, for docs and tests."""
    for b in BLOCKS.values():
        for k in b.keys.values():
            yield b.name, k
