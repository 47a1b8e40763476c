"""What the accept-mode firewall looks like in nftables (pure data, no I/O).

RFC 5798 §6.4.3: a Master whose Accept_Mode is False "MUST NOT accept
packets addressed to the IPvX address(es) associated with the virtual
router" unless it owns them.  keepalived 2.2.7 (vrrp_nftables.c,
nft_setup_ipv4_vips / nft_setup_ipv6_vips) does it with a table per family,
two base chains and a set of the VIPs; fastvrrp builds the same shape in a
table of its own (`ip fastvrrp`, `ip6 fastvrrp`), so that it never touches a
keepalived table:

    table ip fastvrrp {
        set vips { type ipv4_addr; }
        chain in  { type filter hook input  priority -1; policy accept;
                    ip daddr @vips drop }
        chain out { type filter hook output priority -1; policy accept;
                    ip saddr @vips drop }
    }
    table ip6 fastvrrp {
        set vips { type ipv6_addr; }
        chain in  { ...; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept;
                    ip6 daddr @vips drop }
        chain out { ...; icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept;
                    ip6 saddr @vips drop }
    }

VRRP adverts (to the multicast group or a unicast peer, from the primary
address) and ARP never match; IPv6 neighbour discovery for a VIP is let
through as keepalived does, so the VIP stays resolvable.  Difference: the
ICMPv6 match uses `meta l4proto` (any extension headers), keepalived the
fixed next-header field; a link-local VIP is matched on any interface
(keepalived matches it per interface in extra chains).

The expressions are pyroute2's nftables attribute lists (NFTA_EXPR_*).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TABLE = "fastvrrp"
SET = "vips"
CHAINS = ("in", "out")
HOOKS = {"in": "input", "out": "output"}
DEFAULT_PRIORITY = -1                    # keepalived: filter priority -1

NFPROTO = {4: 2, 6: 10}                   # NFPROTO_IPV4, NFPROTO_IPV6
KEY_TYPE = {4: "ipv4_addr", 6: "ipv6_addr"}
# offset of the (source, destination) address in the network header
ADDR_OFFSETS = {4: (12, 16), 6: (8, 24)}
ADDR_LEN = {4: 4, 6: 16}

NF_DROP, NF_ACCEPT = 0, 1
NFT_REG_1 = 1
NFT_PAYLOAD_NETWORK_HEADER, NFT_PAYLOAD_TRANSPORT_HEADER = 1, 2
NFT_META_L4PROTO = 16
NFT_CMP_EQ = 0
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT = 135, 136


def _expr(name: str, attrs: list) -> dict:
    return {"attrs": [("NFTA_EXPR_NAME", name),
                      ("NFTA_EXPR_DATA", {"attrs": [("NFTA_%s_%s" % (name.upper(), k.upper()), v)
                                                    for k, v in attrs]})]}


def payload(base: int, offset: int, length: int) -> dict:
    return _expr("payload", [("dreg", NFT_REG_1), ("base", base), ("offset", offset),
                             ("len", length)])


def cmp_eq(data: bytes) -> dict:
    return _expr("cmp", [("sreg", NFT_REG_1), ("op", NFT_CMP_EQ),
                         ("data", {"attrs": [("NFTA_DATA_VALUE", data)]})])


def meta_l4proto() -> dict:
    return _expr("meta", [("dreg", NFT_REG_1), ("key", NFT_META_L4PROTO)])


def lookup(set_name: str) -> dict:
    return _expr("lookup", [("set", set_name), ("sreg", NFT_REG_1)])


def verdict(code: int) -> dict:
    return _expr("immediate", [("dreg", 0),          # NFT_REG_VERDICT
                               ("data", {"attrs": [("NFTA_DATA_VERDICT",
                                                    {"attrs": [("NFTA_VERDICT_CODE", code)]})]})])


@dataclass(frozen=True)
class RuleSpec:
    chain: str
    expressions: tuple
    text: str                                # the nft syntax, for logs and tests


def rules(family: int, set_name: str = SET) -> tuple:
    """The rules of one family's table, in order (see the module docstring)."""
    if family not in NFPROTO:
        raise ValueError("family must be 4 or 6, not %r" % (family,))
    src_off, dst_off = ADDR_OFFSETS[family]
    length = ADDR_LEN[family]
    ip = "ip" if family == 4 else "ip6"
    out = []
    for chain in CHAINS:
        if family == 6:
            for code, name in ((ND_NEIGHBOR_SOLICIT, "nd-neighbor-solicit"),
                               (ND_NEIGHBOR_ADVERT, "nd-neighbor-advert")):
                out.append(RuleSpec(chain, (meta_l4proto(), cmp_eq(bytes([IPPROTO_ICMPV6])),
                                            payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1),
                                            cmp_eq(bytes([code])), verdict(NF_ACCEPT)),
                                    "icmpv6 type %s accept" % name))
        off, word = (dst_off, "daddr") if chain == "in" else (src_off, "saddr")
        out.append(RuleSpec(chain, (payload(NFT_PAYLOAD_NETWORK_HEADER, off, length),
                                    lookup(set_name), verdict(NF_DROP)),
                            "%s %s @%s drop" % (ip, word, set_name)))
    return tuple(out)


def family_of(address) -> int:
    """4 or 6 for an address (str, ipaddress object, or "A/P")."""
    return ipaddress.ip_interface(str(address)).version


def plain(address) -> str:
    """The address without a prefix length, as the set holds it."""
    return str(ipaddress.ip_interface(str(address)).ip)


__all__ = ["TABLE", "SET", "CHAINS", "HOOKS", "DEFAULT_PRIORITY", "NFPROTO", "KEY_TYPE",
           "RuleSpec", "rules", "family_of", "plain"]
