"""Value converters for keepalived.conf words (reference §1.5, §1.3).

Each converter takes the text of one word and returns the value or raises
`BadValue` with a message that quotes the word.  They are strict the way
keepalived's `read_*` helpers are: base 10, no trailing garbage, ranges
inclusive; booleans are lowercase true/on/yes and false/off/no.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
# _socket: what the socket module wraps (importing socket itself costs milliseconds)
from _socket import AF_INET as _AF_INET, AF_INET6 as _AF_INET6, inet_pton as _pton

_from_bytes = int.from_bytes

_WS = " \t\f\n\r\v"


class BadValue(ValueError):
    """A word that is not a valid value; str() is the message."""


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def to_uint(text: str, lo: int = 0, hi: int = 0xFFFFFFFF) -> int:
    """keepalived read_unsigned: leading blanks allowed, no sign, base 10."""
    if _digits(text):
        val = int(text)
    else:
        body = text.lstrip(_WS)
        if body.startswith("-"):
            raise BadValue("negative number '%s'" % text)
        if body.startswith("+"):
            body = body[1:]
        if not _digits(body):
            raise BadValue("invalid number '%s'" % text)
        val = int(body)
    if val < lo or val > hi:
        raise BadValue("number '%s' outside range [%d, %d]" % (text, lo, hi))
    return val


def to_int(text: str, lo: int = -0x80000000, hi: int = 0x7FFFFFFF) -> int:
    """keepalived read_int: optional sign, base 10."""
    body = text.lstrip(_WS)
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not _digits(body):
        raise BadValue("invalid number '%s'" % text)
    val = sign * int(body)
    if val < lo or val > hi:
        raise BadValue("number '%s' outside range [%d, %d]" % (text, lo, hi))
    return val


def to_decimal(text: str, places: int, lo: int, hi: int) -> tuple[int, bool]:
    """keepalived read_decimal_unsigned: value * 10**places.

    Returns (value, rounded): with more than `places` decimals keepalived
    reports an error, rounds at the last kept digit and uses the value.
    `lo`/`hi` are in the scaled unit.
    """
    if text.startswith("-"):
        raise BadValue("negative number '%s'" % text)
    whole, dot, frac = text.partition(".")
    if (whole and not _digits(whole)) or (frac and not _digits(frac)) or not (whole or frac):
        raise BadValue("invalid number '%s'" % text)
    rounded = False
    if len(frac) > places:
        rounded = True
        up = frac[places] >= "5"
        frac = frac[:places]
    else:
        up = False
    val = int((whole or "0") + frac.ljust(places, "0")) + (1 if up else 0)
    if val < lo or val > hi:
        scale = 10 ** places
        raise BadValue("number '%s' outside range [%s, %s]"
                       % (text, _fixed(lo, scale, places), _fixed(hi, scale, places)))
    return val, rounded


def _fixed(val: int, scale: int, places: int) -> str:
    if not places:
        return str(val)
    return "%d.%0*d" % (val // scale, places, val % scale)


_TRUE = frozenset(("true", "on", "yes"))
_FALSE = frozenset(("false", "off", "no"))


def to_bool(text: str) -> bool:
    """keepalived check_true_false (reference §1.4): exact lowercase words."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue("invalid boolean '%s' (use true/on/yes or false/off/no)" % text)


def to_ipv4(text: str) -> IPv4Address:
    """Dotted quad exactly as inet_pton(AF_INET) takes it (keepalived's parser)."""
    try:
        return IPv4Address(_from_bytes(_pton(_AF_INET, text), "big"))
    except (OSError, ValueError):
        raise BadValue("invalid IPv4 address '%s'" % text) from None


def to_ipv6(text: str) -> IPv6Address:
    addr = text.split("%", 1)[0]
    try:
        return IPv6Address(_from_bytes(_pton(_AF_INET6, addr), "big"))
    except (OSError, ValueError):
        raise BadValue("invalid IPv6 address '%s'" % text) from None


def to_ip(text: str):
    """An address of either family; the family is chosen by ':' like keepalived."""
    if ":" in text:
        return to_ipv6(text)
    return to_ipv4(text)


def to_ip_prefix(text: str, allow_prefix: bool = True):
    """ADDR[/LEN] -> (address, prefixlen or None).  A bad length raises BadValue."""
    addr_text, slash, plen = text.partition("/")
    addr = to_ip(addr_text)
    if not slash:
        return addr, None
    if not allow_prefix:
        raise BadValue("prefix length not allowed in '%s'" % text)
    maxlen = 32 if addr.version == 4 else 128
    return addr, to_uint(plen, 0, maxlen)


# Names from iproute2's rt_scopes, rt_protos, rt_tables, rtn types, as
# keepalived reads them (fixed defaults; /etc/iproute2 overrides not read).
RT_SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
RT_TABLES = {"unspec": 0, "default": 253, "main": 254, "local": 255}
RT_PROTOS = {"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8,
             "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14,
             "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186, "isis": 187,
             "ospf": 188, "rip": 189, "eigrp": 192}
RTN_TYPES = ("unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
             "unreachable", "prohibit", "throw", "nat")


def to_named_number(text: str, names: dict, hi: int, what: str) -> int:
    if text in names:
        return names[text]
    try:
        return to_uint(text, 0, hi)
    except BadValue:
        raise BadValue("unknown %s '%s'" % (what, text)) from None


def scope_name(value: int) -> str:
    for name, num in RT_SCOPES.items():
        if num == value and name != "universe":
            return name
    return str(value)


_SPECIAL = frozenset(" \t\f\n\r\v#!{}\"'\\$")


def word(text: str) -> str:
    """Write `text` as one keepalived word: quoted when it holds blanks or
    characters the reader treats specially.  ValueError if it cannot be one."""
    if text and text[0] not in "@~" and not any(c in _SPECIAL for c in text) \
            and not text.startswith("include"):      # a line starting so is an include
        return text
    if '"' in text or "\n" in text or "\r" in text:
        raise ValueError("cannot write %r as one keepalived word" % text)
    return '"%s"' % text
