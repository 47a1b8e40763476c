"""VRRP wire constants shared by all Python code (the lowest layer).

Names follow RFC 3768 (VRRPv2), RFC 5798 and RFC 9568 (VRRPv3).  Nothing here
imports from fastvrrp.  The compiled codec (ext/packet.pxd) declares the same
numbers as C enums; tests/unit/test_packet.py checks that they agree.
"""

# RFC 5798 §5.1.1.4 / §5.1.2.4: IP protocol number and multicast groups.
IPPROTO_VRRP = 112
IPPROTO_AH = 51          # RFC 2402; VRRPv2 "IP Authentication Header" auth (RFC 2338 §5.3.6.3)
IPPROTO_ICMPV6 = 58

VRRP_GROUP_IPV4 = "224.0.0.18"      # RFC 5798 §5.1.1.2
VRRP_GROUP_IPV6 = "ff02::12"        # RFC 5798 §5.1.2.2
ALL_NODES_IPV6 = "ff02::1"          # RFC 4291 §2.7.1 (unsolicited NA destination)

VRRP_TTL = 255                      # RFC 5798 §5.1.1.3 / §5.1.2.3
VRRP_TOS = 0xC0                     # keepalived: IPTOS_PREC_INTERNETCONTROL

# RFC 5798 §5.2.1-§5.2.2
VRRP_VERSION_2 = 2
VRRP_VERSION_3 = 3
VRRP_TYPE_ADVERTISEMENT = 1

# RFC 3768 §5.3.6: authentication types (VRRPv2 only).
AUTH_NONE = 0
AUTH_PASS = 1            # "Simple Text Password" (RFC 2338; removed from RFC 3768, kept by keepalived)
AUTH_AH = 2              # "IP Authentication Header" (RFC 2338)
AUTH_TYPE_NAMES = ("none", "pass", "ah")
AUTH_DATA_LEN = 8        # RFC 3768 §5.3.10

# Sizes (bytes).
IPV4_HEADER_LEN = 20
IPV6_HEADER_LEN = 40
VRRP_HEADER_LEN = 8                  # RFC 5798 §5.1
VRRP_MAX_COUNT = 255                 # Count IPvX Addr is one byte (§5.2.5)
VRRP_V3_MAX_ADVER_INT_CS = 4095      # 12 bits of centiseconds (RFC 5798 §5.2.7)
VRRP_V2_MAX_ADVER_INT_S = 255        # one byte of seconds (RFC 3768 §5.3.7)
CARP_LEN = 36                        # OpenBSD carp_header: 8 + counter (8) + HMAC-SHA1 (20)
CARP_AUTHLEN = 7                     # carp_authlen: counter + md in 32-bit words

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
ETH_HEADER_LEN = 14
GARP_FRAME_LEN = 42                  # 14 Ethernet + 28 ARP, as keepalived sends it
NA_FRAME_LEN = 86                    # 14 Ethernet + 40 IPv6 + 24 NA + 8 TLLA option
ARPOP_REQUEST = 1
ND_NEIGHBOR_ADVERT = 136             # RFC 4861 §4.4
ND_OPT_TARGET_LINKADDR = 2
ND_NA_FLAG_ROUTER = 0x80
ND_NA_FLAG_SOLICITED = 0x40
ND_NA_FLAG_OVERRIDE = 0x20

# Why a received packet was dropped, in the order the codec checks them
# (cheap checks first; see fastvrrp.reference.packet for the exact order).
# The index is the integer code; 0 is "accepted".  Reasons after "checksum"
# come from check_instance(), the per-instance checks.
DROP_REASONS = (
    "ok",
    "too_short",            # buffer too short for the IPv4 header or the 8-byte VRRP header
    "ip_header",            # IPv4: version nibble != 4 or IHL < 5
    "ip_length",            # IPv4: Total Length != bytes received (keepalived 2.2.7: exact)
    "not_vrrp",             # IPv4: Protocol is neither 112 nor 51
    "ah",                   # IPv4: Protocol 51, an AH-authenticated VRRPv2 advert (not parsed)
    "ttl",                  # TTL / Hop Limit != 255 (RFC 5798 §7.1; skipped for unicast)
    "carp",                 # an OpenBSD CARP advert (also IP protocol 112)
    "version",              # Version not 2 or 3 (IPv6: not 3)
    "type",                 # Type != 1 ADVERTISEMENT (RFC 5798 §5.2.2)
    "count_zero",           # Count IPvX Addr == 0 (RFC 9568 erratum 8299)
    "length",               # VRRP length != 8 + count * addrlen (+ 8 auth bytes for v2)
    "adver_int_zero",       # Max Adver Int / Adver Int == 0 (RFC 9568 erratum 8301)
    "auth_type",            # VRRPv2 Auth Type not 0, 1 or 2
    "checksum",             # checksum wrong in every accepted form (RFC 5798 §5.2.8)
    "version_mismatch",     # per instance: version != configured version
    "auth_type_mismatch",   # per instance, v2: Auth Type != configured
    "auth_failure",         # per instance, v2 PASS: Authentication Data != configured password
)
DROP_OK = 0
DROP_TOO_SHORT = 1
DROP_IP_HEADER = 2
DROP_IP_LENGTH = 3
DROP_NOT_VRRP = 4
DROP_AH = 5
DROP_TTL = 6
DROP_CARP = 7
DROP_VERSION = 8
DROP_TYPE = 9
DROP_COUNT_ZERO = 10
DROP_LENGTH = 11
DROP_ADVER_INT_ZERO = 12
DROP_AUTH_TYPE = 13
DROP_CHECKSUM = 14
DROP_VERSION_MISMATCH = 15
DROP_AUTH_TYPE_MISMATCH = 16
DROP_AUTH_FAILURE = 17

# keepalived's per-instance counter that counts the same event (vrrp.h
# vrrp_stats); None where keepalived does not count it.
KEEPALIVED_COUNTER = {
    "too_short": "packet_len_err",
    "ip_header": "packet_len_err",
    "ip_length": "packet_len_err",
    "not_vrrp": None,
    "ah": None,
    "ttl": "ip_ttl_err",
    "carp": None,
    "version": "vers_err",
    "type": "invalid_type_rcvd",
    "count_zero": "packet_len_err",
    "length": "packet_len_err",
    "adver_int_zero": "advert_interval_err",
    "auth_type": "invalid_authtype",
    "checksum": "chk_err",
    "version_mismatch": "vers_err",
    "auth_type_mismatch": "authtype_mismatch",
    "auth_failure": "auth_failure",
}

# Which checksum computation a received advert matched, or a builder uses
# (RFC 5798 §5.2.8, RFC 9568 §5.2.8).  The names are those used by the
# recorded vectors in tests/vectors/.
CHECKSUM_FORMS = (
    "none",                 # not verified (the packet was dropped before the checksum)
    "v2-message",           # VRRPv2: the VRRP message alone (RFC 3768 §5.3.8)
    "message-only",         # VRRPv3/IPv4 as RFC 9568 reads it (keepalived v3_checksum_as_v2)
    "pseudo-header",        # VRRPv3/IPv4 with the IPv4 pseudo-header (RFC 5798; keepalived default)
    "ipv6-pseudo-header",   # VRRPv3/IPv6 with the RFC 8200 §8.1 pseudo-header
    "pseudo-header-group",  # VRRPv3/IPv4 unicast with 224.0.0.18 in the pseudo-header
                            # (keepalived <= 1.3.6; 2.2 `old_unicast_checksum`)
)
CSUM_NONE = 0
CSUM_V2_MESSAGE = 1
CSUM_MESSAGE_ONLY = 2
CSUM_PSEUDO_HEADER = 3
CSUM_IPV6_PSEUDO_HEADER = 4
CSUM_PSEUDO_HEADER_GROUP = 5

# Layout of one parse result record of the batch API: native byte order, no
# padding, 64 bytes.  Field order (struct module codes):
ADVERT_RECORD_FORMAT = "=10B8H2x16s16s4x"
ADVERT_RECORD_FIELDS = (
    "reason", "family", "version", "type", "vrid", "priority", "count",
    "auth_type", "ttl", "checksum_form",
    "adver_int", "adver_int_cs", "checksum", "vrrp_offset", "vrrp_length",
    "addr_offset", "addr_length", "auth_offset",
    "src", "dst",
)
ADVERT_RECORD_SIZE = 64
