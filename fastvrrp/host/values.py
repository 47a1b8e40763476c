"""The values host specs take, checked: numbers, iproute2 names, interfaces, addresses.

Shared by addrspec.py (VIPs), routes.py, rules.py and vmac.py.  Each check
returns the canonical value or raises ValueError naming what was wrong.
iproute2's name tables are its defaults (/etc/iproute2/rt_tables, rt_scopes,
rt_protos), as keepalived knows them; the files themselves are not read.
"""

import ipaddress
import socket

U32 = 0xFFFFFFFF
IFNAMSIZ = 16

RTPROT_KEEPALIVED = 18          # rt_protos "keepalived": keepalived's routes and rules
RT_TABLE_UNSPEC = 0
RT_TABLE_MAIN = 254
TABLE_NAMES = {"default": 253, "main": 254, "local": 255}
# rt_scopes (keepalived find_rttables_scope)
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
PROTOCOL_NAMES = {"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8,
                  "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14,
                  "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186,
                  "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}


def check_items(items, kind, message):
    """`items` as a tuple of `kind` objects; TypeError(message % item) for one that is not."""
    items = tuple(items)
    for item in items:
        if not isinstance(item, kind):
            raise TypeError(message % (item,))
    return items


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
    """An IP address string or ipaddress object -> ipaddress object."""
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


__all__ = ["IFNAMSIZ", "PROTOCOL_NAMES", "RT_TABLE_MAIN", "RT_TABLE_UNSPEC", "RTPROT_KEEPALIVED",
           "SCOPES", "TABLE_NAMES", "U32", "af", "check_dev", "check_ifname", "check_items",
           "check_named",
           "check_uint", "parse_address", "parse_dsfield", "parse_family", "parse_prefix",
           "parse_realms"]
