"""One virtual IP address as the host layer adds it: `VipSpec` -> netlink request.

`VipSpec` is the host's own frozen description of a `virtual_ipaddress` /
`virtual_ipaddress_excluded` entry (keepalived's `ADDR[/PREFIX] [dev IF]
[scope S] [brd A|+|-] [label L] [peer A[/P]] [home] [-nodad] [mngtmpaddr]
[noprefixroute] [autojoin] [preferred_lft N|forever]`); the daemon converts
the config model into it.  It validates strictly: where keepalived logs a
config error and ignores a word, the converter decides and builds a clean
spec; anything left wrong here raises ValueError with the reason.

`VipSpec.to_netlink(ifindex, proto)` gives the RTM_NEWADDR request
(`IfaRequest`: the ifaddrmsg header fields and the IFA_* attributes) with
keepalived 2.2's defaults (vrrp_ipaddress.c netlink_ipaddress):

- no prefix: /32 (IPv4) or /128 (IPv6);
- no broadcast unless `brd` is given; `brd +`/`brd -` set/clear the host bits
  (prefix <= 30 only);
- IPv6: IFA_F_NODAD always, unless `-nodad` (nodad=False);
- IPv6: preferred_lft 0 (deprecated, RFC 3484 source selection avoids it)
  for /128, forever otherwise, unless given; IPv4 ignores preferred_lft as
  keepalived does;
- `peer`: IFA_ADDRESS is the peer, the prefix is the peer's;
- IFA_PROTO marks the address as ours (see IFAPROT_FASTVRRP).

`VipSpec.to_netlink_delete(ifindex)` gives the matching RTM_DELADDR request.
"""

import ipaddress
import socket
from dataclasses import dataclass, field

from .nlrequest import RequestAttrs
from .values import SCOPES, parse_address

# IFA_F_* (linux/if_addr.h).
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_OPTIMISTIC = 0x04
IFA_F_DADFAILED = 0x08
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400

INFINITY_LIFE_TIME = 0xFFFFFFFF     # "forever" in struct ifa_cacheinfo

# The IFA_PROTO value fastvrrp marks its addresses with (Linux >= 5.18).
# 112 is VRRP's IP protocol number (RFC 5798 §5.1.1.4), easy to recognise in
# `ip -d addr` output.  keepalived uses its rt_addrprotos entry "keepalived",
# 18 (RTPROT_KEEPALIVED) unless taken: fastvrrp deliberately uses another
# number so that cleanup_by_proto() never removes the addresses of a
# keepalived running on the same host.
IFAPROT_FASTVRRP = 112

SCOPE_NAMES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}

LABEL_MAX = 15                      # IFNAMSIZ - 1

_FLAG_FIELDS = (
    ("home", IFA_F_HOMEADDRESS),
    ("mngtmpaddr", IFA_F_MANAGETEMPADDR),
    ("noprefixroute", IFA_F_NOPREFIXROUTE),
    ("autojoin", IFA_F_MCAUTOJOIN),
)


@dataclass(frozen=True)
class CacheInfo:
    """struct ifa_cacheinfo lifetimes, seconds (INFINITY_LIFE_TIME = forever)."""

    preferred: int
    valid: int = INFINITY_LIFE_TIME


@dataclass(frozen=True)
class IfaRequest(RequestAttrs):
    """An RTM_NEWADDR / RTM_DELADDR request: ifaddrmsg fields + IFA_* attrs.

    `attrs` is a tuple of (name, value) pairs in pyroute2 ifaddrmsg names:
    addresses as strings, IFA_CACHEINFO as CacheInfo, IFA_FLAGS/IFA_PROTO as int.
    """

    family: int
    prefixlen: int
    flags: int          # ifaddrmsg.ifa_flags (the low 8 bits; IFA_FLAGS has all)
    scope: int
    index: int
    attrs: tuple

    @property
    def local(self):
        """The address itself (IFA_LOCAL)."""
        return self.attr("IFA_LOCAL")

    def describe(self):
        return "%s/%d ifindex %d" % (self.local, self.prefixlen, self.index)


def _split_prefix(value, what):
    """'A/P' or 'A' (str or ipaddress object) -> (address, prefix or None)."""
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value.ip, value.network.prefixlen
    if isinstance(value, str) and "/" in value:
        addr, _, plen = value.partition("/")
        addr = parse_address(addr, what)
        return addr, _prefixlen(plen, addr.version, what)
    return parse_address(value, what), None


def _prefixlen(value, version, what):
    limit = 32 if version == 4 else 128
    if isinstance(value, str):
        if not value.isdigit():
            raise ValueError("%s prefix length %r is not a number" % (what, value))
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise ValueError("%s prefix length must be 0..%d, got %r" % (what, limit, value))
    return value


def parse_scope(value):
    """A scope name from rt_scopes or a number 0..255 -> int."""
    if isinstance(value, str):
        if value in SCOPES:
            return SCOPES[value]
        if value.isdigit():
            value = int(value)
        else:
            raise ValueError("unknown scope %r (use %s or 0..255)"
                             % (value, ", ".join(sorted(SCOPES))))
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
        raise ValueError("scope must be 0..255, got %r" % (value,))
    return value


def broadcast_for(address, prefixlen, how):
    """`brd +` (host bits set) or `brd -` (host bits clear) for an IPv4 address."""
    if prefixlen > 30:
        raise ValueError("brd %s needs a prefix length of 30 or less, %s has /%d"
                         % (how, address, prefixlen))
    net = ipaddress.IPv4Network("%s/%d" % (address, prefixlen), strict=False)
    return net.broadcast_address if how == "+" else net.network_address


@dataclass(frozen=True, slots=True)
class VipSpec:
    """One VIP; see the module docstring.  Give `ifname` or `ifindex` (or both)."""

    address: object                     # str or ipaddress object; "A/P" accepted
    prefixlen: int = None               # default /32 or /128 (or the peer's)
    ifname: str = None
    ifindex: int = None
    broadcast: object = None            # IPv4 address, "+", "-" or None
    scope: object = 0                   # rt_scopes name or 0..255 (IPv4 only)
    label: str = None                   # IPv4 only, < 16 characters
    peer: object = None                 # "A[/P]": point-to-point peer (/P sets the prefix)
    nodad: bool = True                  # IPv6: False is keepalived's "-nodad"
    home: bool = False
    mngtmpaddr: bool = False
    noprefixroute: bool = False
    autojoin: bool = False
    preferred_lft: int = None           # seconds, INFINITY_LIFE_TIME/"forever"; IPv6 only
    _resolved_broadcast: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        addr, inline_plen = _split_prefix(self.address, "VIP")
        what = "VIP %s" % addr
        version = addr.version
        plen = self.prefixlen
        if plen is not None:
            plen = _prefixlen(plen, version, what)
            if inline_plen is not None and inline_plen != plen:
                raise ValueError("%s: prefix given twice (/%d and %d)" % (what, inline_plen, plen))
        elif inline_plen is not None:
            plen = inline_plen
        peer = None
        if self.peer is not None:
            peer, peer_plen = _split_prefix(self.peer, "%s: peer" % what)
            if peer.version != version:
                raise ValueError("%s: peer %s is not IPv%d" % (what, peer, version))
            if peer_plen is not None:       # "peer A/P": the prefix is the peer's
                if plen is not None and plen not in (peer_plen, 32 if version == 4 else 128):
                    raise ValueError("%s: the peer sets the prefix /%d; /%d given too"
                                     % (what, peer_plen, plen))
                plen = peer_plen
        if plen is None:
            plen = 32 if version == 4 else 128
        if self.ifname is not None:
            if not isinstance(self.ifname, str) or not 1 <= len(self.ifname.encode()) <= 15 \
                    or "/" in self.ifname or self.ifname.strip() != self.ifname:
                raise ValueError("%s: bad interface name %r" % (what, self.ifname))
        if self.ifindex is not None:
            if not isinstance(self.ifindex, int) or isinstance(self.ifindex, bool) \
                    or self.ifindex <= 0:
                raise ValueError("%s: ifindex must be a positive int, got %r"
                                 % (what, self.ifindex))
        if self.ifname is None and self.ifindex is None:
            raise ValueError("%s: no interface (give ifname or ifindex)" % what)
        scope = parse_scope(self.scope)
        brd = None
        if self.broadcast is not None:
            if version != 4:
                raise ValueError("%s: brd is IPv4 only" % what)
            if peer is not None:
                raise ValueError("%s: brd and peer cannot be combined" % what)
            if self.broadcast in ("+", "-"):
                brd = broadcast_for(addr, plen, self.broadcast)
            else:
                brd = parse_address(self.broadcast, "%s: brd" % what)
                if brd.version != 4:
                    raise ValueError("%s: brd %s is not IPv4" % (what, brd))
        if version == 6 and scope:
            raise ValueError("%s: scope is IPv4 only (IPv6 scope follows the address)" % what)
        if self.label is not None:
            if version != 4:
                raise ValueError("%s: label is IPv4 only" % what)
            if not isinstance(self.label, str) or not 1 <= len(self.label.encode()) <= LABEL_MAX:
                raise ValueError("%s: label must be 1..%d characters, got %r"
                                 % (what, LABEL_MAX, self.label))
        lft = self.preferred_lft
        if lft == "forever":
            lft = INFINITY_LIFE_TIME
        if lft is not None and (not isinstance(lft, int) or isinstance(lft, bool)
                                or not 0 <= lft <= INFINITY_LIFE_TIME):
            raise ValueError("%s: preferred_lft must be 0..%d or 'forever', got %r"
                             % (what, INFINITY_LIFE_TIME, self.preferred_lft))
        for name in ("nodad", "home", "mngtmpaddr", "noprefixroute", "autojoin"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError("%s: %s must be True or False" % (what, name))
        set_ = object.__setattr__
        set_(self, "address", addr)
        set_(self, "prefixlen", plen)
        set_(self, "peer", peer)
        set_(self, "scope", scope)
        set_(self, "preferred_lft", lft)
        if brd is not None and self.broadcast not in ("+", "-"):
            set_(self, "broadcast", brd)
        set_(self, "_resolved_broadcast", brd)

    # -- derived -----------------------------------------------------------
    @property
    def version(self):
        return self.address.version

    @property
    def family(self):
        return socket.AF_INET if self.version == 4 else socket.AF_INET6

    @property
    def broadcast_address(self):
        """The broadcast address that will be set (brd +/- resolved), or None."""
        return self._resolved_broadcast

    @property
    def ifa_flags(self):
        """IFA_F_* for the request (keepalived: NODAD on IPv6 unless -nodad)."""
        flags = 0
        if self.home or self.mngtmpaddr or self.noprefixroute or self.autojoin:
            for name, bit in _FLAG_FIELDS:
                if getattr(self, name):
                    flags |= bit
        if self.nodad and self.address.version == 6:
            flags |= IFA_F_NODAD
        return flags

    @property
    def effective_preferred_lft(self):
        """IPv6 preferred lifetime: given, else 0 for /128 and forever otherwise."""
        if self.version != 6:
            return INFINITY_LIFE_TIME
        if self.preferred_lft is not None:
            return self.preferred_lft
        return 0 if self.prefixlen == 128 else INFINITY_LIFE_TIME

    def cidr(self):
        return "%s/%d" % (self.address, self.prefixlen)

    def __str__(self):
        dev = self.ifname if self.ifname is not None else "ifindex %d" % self.ifindex
        return "%s dev %s" % (self.cidr(), dev)

    # -- netlink -----------------------------------------------------------
    def _index(self, ifindex):
        index = self.ifindex if ifindex is None else ifindex
        if not isinstance(index, int) or isinstance(index, bool) or index <= 0:
            raise ValueError("VIP %s: no interface index (resolve dev %s first)"
                             % (self.cidr(), self.ifname))
        return index

    def to_netlink(self, ifindex=None, proto=IFAPROT_FASTVRRP):
        """The RTM_NEWADDR request adding this VIP on `ifindex` (default: spec.ifindex)."""
        index = self._index(ifindex)
        if proto is not None and (not isinstance(proto, int) or not 0 <= proto <= 255):
            raise ValueError("IFA_PROTO must be 0..255 or None, got %r" % (proto,))
        address = self.address
        v6 = address.version == 6
        local = str(address)
        peer = self.peer
        attrs = [("IFA_LOCAL", local), ("IFA_ADDRESS", str(peer) if peer else local)]
        if self._resolved_broadcast is not None:
            attrs.append(("IFA_BROADCAST", str(self._resolved_broadcast)))
        if self.label is not None:
            attrs.append(("IFA_LABEL", self.label))
        flags = self.ifa_flags
        if flags:
            attrs.append(("IFA_FLAGS", flags))
        if v6:
            lft = self.effective_preferred_lft
            if lft != INFINITY_LIFE_TIME:
                attrs.append(("IFA_CACHEINFO", CacheInfo(preferred=lft)))
        if proto:
            attrs.append(("IFA_PROTO", proto))
        return IfaRequest(family=socket.AF_INET6 if v6 else socket.AF_INET,
                          prefixlen=self.prefixlen, flags=flags & 0xFF, scope=self.scope,
                          index=index, attrs=tuple(attrs))

    def to_netlink_delete(self, ifindex=None):
        """The RTM_DELADDR request removing this VIP from `ifindex`."""
        return delete_request(self.family, str(self.address), self.prefixlen,
                              self._index(ifindex), peer=str(self.peer) if self.peer else None)


def delete_request(family, local, prefixlen, ifindex, peer=None):
    """RTM_DELADDR for `local`/`prefixlen` on `ifindex`.

    The kernel matches IPv4 on IFA_LOCAL (and, with IFA_ADDRESS, the prefix and
    peer subnet); IPv6 on the address and prefix length.
    """
    attrs = (("IFA_LOCAL", local), ("IFA_ADDRESS", peer or local))
    return IfaRequest(family=family, prefixlen=prefixlen, flags=0, scope=0, index=ifindex,
                      attrs=attrs)
