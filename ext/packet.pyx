# cython: language_level=3
"""VRRP packet codec, compiled (fastvrrp._packet); twin of fastvrrp.reference.packet.

RFC 3768 (VRRPv2) and RFC 5798/9568 (VRRPv3) adverts over IPv4 and IPv6, plus
the gratuitous ARP and unsolicited Neighbor Advertisement frames sent on
becoming Active, and the Internet checksum (RFC 1071, RFC 1624).

Parsing (RFC 3768 §7.1, RFC 5798 §7.1).  parse_ipv4() takes the IPv4 packet
as a raw socket delivers it (header included); parse_ipv6() takes the VRRP
message and the source, destination and Hop Limit from ancillary data.
Checks run in this order, cheap ones first; the first failure is the drop
reason (fastvrrp.proto.DROP_REASONS):

 IPv4 only:
  1. too_short    fewer than 20 bytes
  2. ip_header    version nibble != 4, or IHL < 5
  3. too_short    IHL * 4 beyond the buffer                     -> ttl, src, dst known
  4. ip_length    Total Length != bytes received (keepalived 2.2.7 is exact)
  5. ah / not_vrrp  Protocol 51 (AH-authenticated v2: recognised, not parsed) / not 112
 IPv6 only:
  -  length       a payload longer than 65535 bytes             (src, dst, ttl known from the start)
 Both:
  6. too_short    VRRP message shorter than its 8-byte header   -> vrrp_offset/length known
                  (then every header field is decoded)
  7. ttl          TTL / Hop Limit != 255 (§5.1.1.3, §5.1.2.3), unless the caller
                  says not to check (keepalived skips it for unicast)
  8. carp         an OpenBSD CARP advert: version 2, 36 bytes, authlen 7
  9. version      not 2 or 3 (IPv6: not 3; RFC 3768 is IPv4 only)
 10. type         not 1 ADVERTISEMENT (§5.2.2)
 11. count_zero   Count IPvX Addr 0 (RFC 9568 erratum 8299)
 12. length       VRRP length != 8 + 4n + 8 (v2), 8 + 4n (v3/IPv4), 8 + 16n (v3/IPv6)
                  -> addr_offset, addr_length, auth_offset (v2) known
 13. adver_int_zero  interval 0 (RFC 9568 erratum 8301; for v2 keepalived drops it too)
 14. auth_type    v2 Auth Type not 0, 1 or 2 (RFC 3768 §5.3.6)
 15. checksum     (§5.2.8) v2: the message; v3/IPv6: RFC 8200 pseudo-header;
                  v3/IPv4: the IPv4 pseudo-header (keepalived, RFC 5798), else the
                  message alone (RFC 9568), else (unicast only) the pseudo-header
                  with 224.0.0.18 (keepalived <= 1.3.6)     -> checksum_form known
Fields not reached stay zero.  check_instance() then applies the checks that
need the instance's configuration, in keepalived's order (vrrp.c
vrrp_check_packet): version_mismatch, auth_type_mismatch, auth_failure (PASS:
the 8-byte NUL-padded password, compared in constant time).  The IPv4 header
checksum is the kernel's to verify and is not checked.

The C-level API (ext/packet.pxd) is what the fast path uses; the Python API
below wraps it: parse_ipv4/parse_ipv6 -> Advert, parse_batch_ipv4 (one
receive buffer, results into caller-provided 64-byte records, no Python object
per packet), check_instance, build_advert, build_garp, build_unsolicited_na,
checksum, checksum_update.
"""

cimport cython
from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release,
    PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.bytes cimport (
    PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE,
)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import ipaddress
import socket

from fastvrrp import proto
from fastvrrp.proto import (
    ADVERT_RECORD_FORMAT, AUTH_AH, AUTH_NONE, AUTH_PASS, CHECKSUM_FORMS, DROP_REASONS,
)

__all__ = [
    "Advert", "parse_ipv4", "parse_ipv6", "parse_batch_ipv4", "advert_from_record",
    "check_instance", "build_advert", "build_garp", "build_unsolicited_na",
    "checksum", "checksum_update", "reason_name", "checksum_form_name",
    "DROP_REASONS", "CHECKSUM_FORMS", "ADVERT_RECORD_SIZE",
    "AUTH_NONE", "AUTH_PASS", "AUTH_AH",
] + [n for n in dir(proto) if n.startswith(("DROP_", "CSUM_"))]

# Python names for the C enums (tests check them against fastvrrp.proto).
DROP_OK = VRRP_DROP_OK
DROP_TOO_SHORT = VRRP_DROP_TOO_SHORT
DROP_IP_HEADER = VRRP_DROP_IP_HEADER
DROP_IP_LENGTH = VRRP_DROP_IP_LENGTH
DROP_NOT_VRRP = VRRP_DROP_NOT_VRRP
DROP_AH = VRRP_DROP_AH
DROP_TTL = VRRP_DROP_TTL
DROP_CARP = VRRP_DROP_CARP
DROP_VERSION = VRRP_DROP_VERSION
DROP_TYPE = VRRP_DROP_TYPE
DROP_COUNT_ZERO = VRRP_DROP_COUNT_ZERO
DROP_LENGTH = VRRP_DROP_LENGTH
DROP_ADVER_INT_ZERO = VRRP_DROP_ADVER_INT_ZERO
DROP_AUTH_TYPE = VRRP_DROP_AUTH_TYPE
DROP_CHECKSUM = VRRP_DROP_CHECKSUM
DROP_VERSION_MISMATCH = VRRP_DROP_VERSION_MISMATCH
DROP_AUTH_TYPE_MISMATCH = VRRP_DROP_AUTH_TYPE_MISMATCH
DROP_AUTH_FAILURE = VRRP_DROP_AUTH_FAILURE
CSUM_NONE = VRRP_CSUM_NONE
CSUM_V2_MESSAGE = VRRP_CSUM_V2_MESSAGE
CSUM_MESSAGE_ONLY = VRRP_CSUM_MESSAGE_ONLY
CSUM_PSEUDO_HEADER = VRRP_CSUM_PSEUDO_HEADER
CSUM_IPV6_PSEUDO_HEADER = VRRP_CSUM_IPV6_PSEUDO_HEADER
CSUM_PSEUDO_HEADER_GROUP = VRRP_CSUM_PSEUDO_HEADER_GROUP
ADVERT_RECORD_SIZE = sizeof(vrrp_advert)
_C_DROP_COUNT = VRRP_DROP_COUNT
_C_CSUM_COUNT = VRRP_CSUM_COUNT

# RFC 5798 §5.1.1.2 / §5.1.2.2, RFC 4291 §2.7.1
cdef uint8_t GROUP4[4]
GROUP4[:] = [224, 0, 0, 18]
cdef uint8_t GROUP6[16]
GROUP6[:] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]
cdef uint8_t ALL_NODES6[16]
ALL_NODES6[:] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]

cdef enum:
    IPPROTO_VRRP = 112
    IPPROTO_AH = 51
    IPPROTO_ICMPV6 = 58
    VRRP_TTL = 255
    VRRP_TOS = 0xC0
    IPV4_HLEN = 20
    VRRP_HLEN = 8
    AUTH_LEN = 8
    CARP_LEN = 36
    CARP_AUTHLEN = 7


# ------------------------------------------------------------- byte order helpers

cdef inline uint16_t _be16(const uint8_t* p) noexcept nogil:
    return <uint16_t>((<uint16_t>p[0] << 8) | p[1])


cdef inline void _put_be16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>(v & 0xFF)


cdef inline bint _eq4(const uint8_t* a, const uint8_t* b) noexcept nogil:
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]


# ------------------------------------------------------------- checksums (RFC 1071)

cdef uint64_t vrrp_sum16(const uint8_t* p, Py_ssize_t n, uint64_t acc) noexcept nogil:
    """Add the big-endian 16-bit words of p[0:n] (odd tail padded) to acc, unfolded."""
    cdef Py_ssize_t i = 0
    while i + 1 < n:
        acc += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if n & 1:
        acc += <uint32_t>p[n - 1] << 8
    return acc


cdef uint16_t vrrp_fold(uint64_t acc) noexcept nogil:
    """Fold a word sum into 16 bits with end-around carry."""
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint16_t>acc


cdef uint16_t vrrp_checksum(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    return <uint16_t>(~vrrp_fold(vrrp_sum16(p, n, 0)) & 0xFFFF)


cdef uint16_t vrrp_checksum_update(uint16_t csum, const uint8_t* old, const uint8_t* new,
                                   Py_ssize_t n) noexcept nogil:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), word by word."""
    cdef uint64_t acc = (~csum) & 0xFFFF
    cdef Py_ssize_t i = 0
    while i + 1 < n:
        acc += ((~_be16(old + i)) & 0xFFFF) + _be16(new + i)
        i += 2
    return <uint16_t>(~vrrp_fold(acc) & 0xFFFF)


cdef inline uint64_t _pseudo4(const uint8_t* src, const uint8_t* dst,
                              Py_ssize_t length) noexcept nogil:
    """IPv4 pseudo-header (src, dst, 0, 112, length): RFC 5798 §5.2.8, RFC 768."""
    return vrrp_sum16(src, 4, vrrp_sum16(dst, 4, IPPROTO_VRRP + <uint64_t>length))


cdef inline uint64_t _pseudo6(const uint8_t* src, const uint8_t* dst, Py_ssize_t length,
                              uint8_t next_header) noexcept nogil:
    """IPv6 pseudo-header (RFC 8200 §8.1)."""
    return vrrp_sum16(src, 16, vrrp_sum16(dst, 16, next_header + <uint64_t>(length >> 16)
                                          + <uint64_t>(length & 0xFFFF)))


# ------------------------------------------------------------- parsing

cdef int vrrp_parse_ipv4(const uint8_t* pkt, Py_ssize_t n, bint check_ttl,
                         vrrp_advert* out) noexcept nogil:
    """Parse and validate an IPv4 packet (header included) holding a VRRP advert."""
    memset(out, 0, sizeof(vrrp_advert))
    out.family = 4
    out.reason = <uint8_t>_parse_ipv4(pkt, n, check_ttl, out)
    return out.reason


cdef inline int _parse_ipv4(const uint8_t* pkt, Py_ssize_t n, bint check_ttl,
                            vrrp_advert* out) noexcept nogil:
    cdef Py_ssize_t ihl
    if n < IPV4_HLEN:
        return VRRP_DROP_TOO_SHORT
    ihl = (pkt[0] & 0x0F) * 4
    if (pkt[0] >> 4) != 4 or ihl < IPV4_HLEN:        # RFC 791 §3.1
        return VRRP_DROP_IP_HEADER
    if ihl > n:
        return VRRP_DROP_TOO_SHORT
    out.ttl = pkt[8]
    memcpy(out.src, pkt + 12, 4)
    memcpy(out.dst, pkt + 16, 4)
    if _be16(pkt + 2) != n:
        return VRRP_DROP_IP_LENGTH
    if pkt[9] != IPPROTO_VRRP:
        return VRRP_DROP_AH if pkt[9] == IPPROTO_AH else VRRP_DROP_NOT_VRRP
    return _parse_vrrp(pkt, ihl, n - ihl, check_ttl, out)


cdef int vrrp_parse_ipv6(const uint8_t* msg, Py_ssize_t n, const uint8_t* src,
                         const uint8_t* dst, int hop_limit, bint check_hop_limit,
                         vrrp_advert* out) noexcept nogil:
    """Parse and validate a VRRPv3 message received over IPv6 (RFC 5798 §5.1.2)."""
    memset(out, 0, sizeof(vrrp_advert))
    out.family = 6
    out.ttl = <uint8_t>hop_limit
    memcpy(out.src, src, 16)
    memcpy(out.dst, dst, 16)
    if n > 0xFFFF:
        out.reason = VRRP_DROP_LENGTH
    else:
        out.reason = <uint8_t>_parse_vrrp(msg, 0, n, check_hop_limit, out)
    return out.reason


cdef inline int _parse_vrrp(const uint8_t* buf, Py_ssize_t off, Py_ssize_t n,
                            bint check_ttl, vrrp_advert* out) noexcept nogil:
    """Validate the VRRP message at buf[off:off + n] (RFC 5798 §5.2, §7.1)."""
    cdef const uint8_t* p = buf + off
    cdef uint8_t version
    cdef Py_ssize_t addr_size, auth_size
    cdef int form
    out.vrrp_offset = <uint16_t>off
    out.vrrp_length = <uint16_t>n
    if n < VRRP_HLEN:
        return VRRP_DROP_TOO_SHORT
    version = p[0] >> 4
    out.version = version
    out.vtype = p[0] & 0x0F
    out.vrid = p[1]
    out.priority = p[2]
    out.count = p[3]
    out.checksum = _be16(p + 6)
    if version == 2:                   # RFC 3768 §5.3.6-§5.3.7: Auth Type, Adver Int (s)
        out.auth_type = p[4]
        out.adver_int = p[5]
        out.adver_int_cs = <uint16_t>(p[5] * 100)
    else:                              # RFC 5798 §5.2.6-§5.2.7: rsvd, Max Adver Int (cs)
        out.adver_int = _be16(p + 4) & 0x0FFF
        out.adver_int_cs = out.adver_int

    if check_ttl and out.ttl != VRRP_TTL:
        return VRRP_DROP_TTL
    if version == 2 and n == CARP_LEN and out.count == CARP_AUTHLEN:
        return VRRP_DROP_CARP
    if version != 3 and (version != 2 or out.family == 6):
        return VRRP_DROP_VERSION
    if out.vtype != 1:
        return VRRP_DROP_TYPE
    if out.count == 0:
        return VRRP_DROP_COUNT_ZERO
    addr_size = 4 if out.family == 4 else 16
    auth_size = AUTH_LEN if version == 2 else 0
    if n != VRRP_HLEN + out.count * addr_size + auth_size:
        return VRRP_DROP_LENGTH
    out.addr_offset = <uint16_t>(off + VRRP_HLEN)
    out.addr_length = <uint16_t>(out.count * addr_size)
    if version == 2:
        out.auth_offset = out.addr_offset + out.addr_length
    if out.adver_int == 0:
        return VRRP_DROP_ADVER_INT_ZERO
    if version == 2 and out.auth_type > 2:
        return VRRP_DROP_AUTH_TYPE

    form = _verify_checksum(p, n, out)
    if form == VRRP_CSUM_NONE:
        return VRRP_DROP_CHECKSUM
    out.checksum_form = <uint8_t>form
    return VRRP_DROP_OK


cdef inline int _verify_checksum(const uint8_t* msg, Py_ssize_t n,
                                 const vrrp_advert* adv) noexcept nogil:
    """RFC 5798 §5.2.8: the checksum form the message carries, VRRP_CSUM_NONE if none."""
    cdef uint64_t total = vrrp_sum16(msg, n, 0)
    if adv.version == 2:
        return VRRP_CSUM_V2_MESSAGE if vrrp_fold(total) == 0xFFFF else VRRP_CSUM_NONE
    if adv.family == 6:
        if vrrp_fold(total + _pseudo6(adv.src, adv.dst, n, IPPROTO_VRRP)) == 0xFFFF:
            return VRRP_CSUM_IPV6_PSEUDO_HEADER
        return VRRP_CSUM_NONE
    if vrrp_fold(total + _pseudo4(adv.src, adv.dst, n)) == 0xFFFF:
        return VRRP_CSUM_PSEUDO_HEADER
    if vrrp_fold(total) == 0xFFFF:
        return VRRP_CSUM_MESSAGE_ONLY
    if not _eq4(adv.dst, GROUP4) and vrrp_fold(total + _pseudo4(adv.src, GROUP4, n)) == 0xFFFF:
        return VRRP_CSUM_PSEUDO_HEADER_GROUP
    return VRRP_CSUM_NONE


cdef Py_ssize_t vrrp_parse_batch_ipv4(const uint8_t* buf, Py_ssize_t buflen,
                                      const uint32_t* offsets, const uint32_t* lengths,
                                      Py_ssize_t n, bint check_ttl,
                                      vrrp_advert* out) noexcept nogil:
    """Parse n packets of one receive buffer into out[0:n]; the number accepted."""
    cdef Py_ssize_t i, accepted = 0
    for i in range(n):
        if <Py_ssize_t>offsets[i] + <Py_ssize_t>lengths[i] > buflen:
            return -(i + 1)
    for i in range(n):
        if vrrp_parse_ipv4(buf + offsets[i], lengths[i], check_ttl, &out[i]) == VRRP_DROP_OK:
            accepted += 1
    return accepted


cdef int vrrp_check_instance(const vrrp_advert* adv, const uint8_t* auth_data,
                             int version, int auth_type,
                             const uint8_t* auth_pass8) noexcept nogil:
    """keepalived's per-instance order: version, auth type, PASS password (RFC 2338 §5.3.6.1)."""
    cdef uint8_t diff = 0
    cdef int i
    if adv.reason != VRRP_DROP_OK:
        return adv.reason
    if adv.version != version:
        return VRRP_DROP_VERSION_MISMATCH
    if version == 2:
        if adv.auth_type != auth_type:
            return VRRP_DROP_AUTH_TYPE_MISMATCH
        if auth_type == 1:
            if auth_data == NULL:
                return VRRP_DROP_AUTH_FAILURE
            for i in range(AUTH_LEN):          # constant time: no early exit
                diff |= auth_data[i] ^ auth_pass8[i]
            if diff:
                return VRRP_DROP_AUTH_FAILURE
    return VRRP_DROP_OK


# ------------------------------------------------------------- building

cdef Py_ssize_t vrrp_build_length(const vrrp_build_spec* s) noexcept nogil:
    cdef Py_ssize_t n = VRRP_HLEN + s.count * (4 if s.family == 4 else 16)
    if s.version == 2:
        n += AUTH_LEN
    if s.ip_header:
        n += IPV4_HLEN
    return n


cdef bint _spec_ok(const vrrp_build_spec* s) noexcept nogil:
    if s.family != 4 and s.family != 6:
        return False
    if s.count < 1 or s.count > 255 or s.addresses == NULL or s.vrid == 0:
        return False
    if s.ip_header and (s.family != 4 or s.ttl == 0):
        return False
    if s.version == 2:
        return (s.family == 4 and 1 <= s.adver_int <= 255 and s.auth_type <= 1
                and s.checksum_form == VRRP_CSUM_V2_MESSAGE)
    if s.version != 3 or s.adver_int < 1 or s.adver_int > 4095 or s.auth_type != 0:
        return False
    if s.family == 6:
        return s.checksum_form == VRRP_CSUM_IPV6_PSEUDO_HEADER
    return (s.checksum_form == VRRP_CSUM_PSEUDO_HEADER
            or s.checksum_form == VRRP_CSUM_MESSAGE_ONLY
            or s.checksum_form == VRRP_CSUM_PSEUDO_HEADER_GROUP)


cdef Py_ssize_t vrrp_build(const vrrp_build_spec* s, uint8_t* out,
                           Py_ssize_t cap) noexcept nogil:
    """Build an advert (RFC 3768 §5.1 / RFC 5798 §5.1), optionally with its IPv4 header."""
    cdef Py_ssize_t total, mlen, alen
    cdef uint8_t* p
    cdef uint64_t acc
    if not _spec_ok(s):
        return -1
    total = vrrp_build_length(s)
    if total > cap:
        return -1
    p = out + (IPV4_HLEN if s.ip_header else 0)
    alen = s.count * (4 if s.family == 4 else 16)
    mlen = total - (IPV4_HLEN if s.ip_header else 0)
    p[0] = <uint8_t>((s.version << 4) | 1)
    p[1] = s.vrid
    p[2] = s.priority
    p[3] = <uint8_t>s.count
    if s.version == 2:                 # RFC 3768 §5.3.6-§5.3.7
        p[4] = s.auth_type
        p[5] = <uint8_t>s.adver_int
    else:                              # RFC 5798 §5.2.6-§5.2.7: rsvd 0, 12 bits of cs
        _put_be16(p + 4, s.adver_int & 0x0FFF)
    p[6] = 0
    p[7] = 0
    memcpy(p + VRRP_HLEN, s.addresses, alen)
    if s.version == 2:                 # RFC 3768 §5.3.10
        if s.auth_type == 1:
            memcpy(p + VRRP_HLEN + alen, s.auth_pass, AUTH_LEN)
        else:
            memset(p + VRRP_HLEN + alen, 0, AUTH_LEN)
    acc = vrrp_sum16(p, mlen, 0)       # RFC 5798 §5.2.8
    if s.checksum_form == VRRP_CSUM_PSEUDO_HEADER:
        acc += _pseudo4(s.src, s.dst, mlen)
    elif s.checksum_form == VRRP_CSUM_PSEUDO_HEADER_GROUP:
        acc += _pseudo4(s.src, GROUP4, mlen)
    elif s.checksum_form == VRRP_CSUM_IPV6_PSEUDO_HEADER:
        acc += _pseudo6(s.src, s.dst, mlen, IPPROTO_VRRP)
    _put_be16(p + 6, <uint16_t>(~vrrp_fold(acc) & 0xFFFF))
    if s.ip_header:
        _ipv4_header(out, mlen, s.ident, s.ttl, s.src, s.dst)
    return total


cdef inline void _ipv4_header(uint8_t* h, Py_ssize_t payload, uint16_t ident, uint8_t ttl,
                              const uint8_t* src, const uint8_t* dst) noexcept nogil:
    """The IPv4 header keepalived writes (RFC 791 §3.1): TOS 0xc0, no DF, protocol 112."""
    h[0] = 0x45
    h[1] = VRRP_TOS
    _put_be16(h + 2, <uint16_t>(IPV4_HLEN + payload))
    _put_be16(h + 4, ident)
    h[6] = 0
    h[7] = 0
    h[8] = ttl
    h[9] = IPPROTO_VRRP
    h[10] = 0
    h[11] = 0
    memcpy(h + 12, src, 4)
    memcpy(h + 16, dst, 4)
    _put_be16(h + 10, vrrp_checksum(h, IPV4_HLEN))


cdef Py_ssize_t vrrp_build_garp(const uint8_t* mac, const uint8_t* vip, uint8_t* out,
                                Py_ssize_t cap) noexcept nogil:
    """Gratuitous ARP as keepalived sends it (vrrp_arp.c; RFC 826, RFC 5798 erratum 7949)."""
    if cap < VRRP_GARP_FRAME_LEN:
        return -1
    memset(out, 0xFF, 6)               # Ethernet destination: broadcast
    memcpy(out + 6, mac, 6)
    _put_be16(out + 12, 0x0806)        # ETHERTYPE_ARP
    _put_be16(out + 14, 1)             # ar_hrd: ARPHRD_ETHER
    _put_be16(out + 16, 0x0800)        # ar_pro: IPv4
    out[18] = 6
    out[19] = 4
    _put_be16(out + 20, 1)             # ARPOP_REQUEST
    memcpy(out + 22, mac, 6)           # sender MAC
    memcpy(out + 28, vip, 4)           # sender IP = VIP
    memset(out + 32, 0xFF, 6)          # target MAC ff:ff:ff:ff:ff:ff (keepalived)
    memcpy(out + 38, vip, 4)           # target IP = VIP
    return VRRP_GARP_FRAME_LEN


cdef Py_ssize_t vrrp_build_na(const uint8_t* mac, const uint8_t* vip, bint router,
                              uint8_t* out, Py_ssize_t cap) noexcept nogil:
    """Unsolicited Neighbor Advertisement (RFC 4861 §4.4, §7.2.6) as keepalived sends it."""
    cdef uint8_t* ip6 = out + 14
    cdef uint8_t* icmp = out + 54
    if cap < VRRP_NA_FRAME_LEN:
        return -1
    out[0] = 0x33                      # RFC 2464 §7: 33:33 + low 32 bits of ff02::1
    out[1] = 0x33
    out[2] = 0
    out[3] = 0
    out[4] = 0
    out[5] = 1
    memcpy(out + 6, mac, 6)
    _put_be16(out + 12, 0x86DD)
    memset(ip6, 0, 8)
    ip6[0] = 0x60                      # version 6, traffic class 0, flow label 0
    _put_be16(ip6 + 4, 32)             # payload: 24 NA + 8 option
    ip6[6] = IPPROTO_ICMPV6
    ip6[7] = 255                       # RFC 4861 §7.1.2: Hop Limit 255
    memcpy(ip6 + 8, vip, 16)
    memcpy(ip6 + 24, ALL_NODES6, 16)
    memset(icmp, 0, 8)
    icmp[0] = 136                      # ND_NEIGHBOR_ADVERT
    icmp[4] = 0x20 | (0x80 if router else 0)   # Override (+ Router)
    memcpy(icmp + 8, vip, 16)          # target
    icmp[24] = 2                       # Target Link-Layer Address option, 1 * 8 bytes
    icmp[25] = 1
    memcpy(icmp + 26, mac, 6)
    _put_be16(icmp + 2, <uint16_t>(~vrrp_fold(
        vrrp_sum16(icmp, 32, _pseudo6(vip, ALL_NODES6, 32, IPPROTO_ICMPV6))) & 0xFFFF))
    return VRRP_NA_FRAME_LEN


# ------------------------------------------------------------- Python API: buffers

cdef int _get_buffer(object obj, Py_buffer* view, int flags, str what) except -1:
    """Acquire a contiguous buffer; the same errors as the reference twin."""
    if not PyObject_CheckBuffer(obj):
        if what == "out":
            raise TypeError("out must be a writable bytes-like object")
        raise TypeError("expected a bytes-like object, got %s" % type(obj).__name__)
    try:
        PyObject_GetBuffer(obj, view, flags)
    except BufferError:
        if what == "out":
            raise TypeError("out must be a writable contiguous bytes-like object") from None
        raise TypeError("expected a contiguous bytes-like object") from None
    return 0


cdef int _get_u32(object obj, Py_buffer* view, str what) except -1:
    """Acquire a 1-D contiguous buffer of uint32 (array('I'))."""
    cdef bytes fmt
    if not PyObject_CheckBuffer(obj):
        raise TypeError("%s must be a buffer of uint32 (array('I'))" % what)
    try:
        PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    except BufferError:
        raise TypeError("%s must be a buffer of uint32 (array('I'))" % what) from None
    fmt = view.format if view.format != NULL else b"B"
    if view.itemsize != 4 or view.ndim != 1 or fmt not in (b"I", b"@I", b"=I"):
        PyBuffer_Release(view)
        raise TypeError("%s must be a buffer of uint32 (array('I'))" % what)
    return 0


# ------------------------------------------------------------- Python API: Advert

@cython.freelist(64)
cdef class Advert:
    """One parsed advert: `reason` 0 means accepted; fields not reached are zero.

    src/dst/addresses are ipaddress objects, decoded on access; `addresses`
    reads the packet buffer at that moment (zero-copy: keep the buffer intact
    while you need them).
    """

    def __init__(self):
        memset(&self.rec, 0, sizeof(vrrp_advert))

    @staticmethod
    cdef Advert from_rec(const vrrp_advert* rec, object buf, const uint8_t* pkt,
                         Py_ssize_t n):
        """An Advert for *rec; pkt[0:n] (may be NULL) supplies the auth data."""
        cdef Advert adv = Advert.__new__(Advert)
        adv.rec = rec[0]
        adv._buf = buf
        adv._has_auth = False
        if pkt != NULL and rec.auth_offset and rec.auth_offset + AUTH_LEN <= n:
            memcpy(adv._auth, pkt + rec.auth_offset, AUTH_LEN)
            adv._has_auth = True
        return adv

    @property
    def reason(self):
        return self.rec.reason

    @property
    def ok(self):
        return self.rec.reason == VRRP_DROP_OK

    @property
    def reason_name(self):
        return DROP_REASONS[self.rec.reason]

    @property
    def family(self):
        return self.rec.family

    @property
    def version(self):
        return self.rec.version

    @property
    def type(self):
        return self.rec.vtype

    @property
    def vrid(self):
        return self.rec.vrid

    @property
    def priority(self):
        return self.rec.priority

    @property
    def count(self):
        return self.rec.count

    @property
    def auth_type(self):
        return self.rec.auth_type

    @property
    def ttl(self):
        return self.rec.ttl

    @property
    def checksum_form(self):
        return self.rec.checksum_form

    @property
    def checksum_form_name(self):
        return CHECKSUM_FORMS[self.rec.checksum_form]

    @property
    def adver_int(self):
        return self.rec.adver_int

    @property
    def adver_int_cs(self):
        return self.rec.adver_int_cs

    @property
    def checksum(self):
        return self.rec.checksum

    @property
    def vrrp_offset(self):
        return self.rec.vrrp_offset

    @property
    def vrrp_length(self):
        return self.rec.vrrp_length

    @property
    def addr_offset(self):
        return self.rec.addr_offset

    @property
    def addr_length(self):
        return self.rec.addr_length

    @property
    def auth_offset(self):
        return self.rec.auth_offset

    @property
    def src_packed(self):
        """The source address as 4 (IPv4) or 16 (IPv6) bytes; zeros if not reached."""
        return PyBytes_FromStringAndSize(<char*>self.rec.src, 4 if self.rec.family == 4 else 16)

    @property
    def dst_packed(self):
        return PyBytes_FromStringAndSize(<char*>self.rec.dst, 4 if self.rec.family == 4 else 16)

    @property
    def src(self):
        """The source address as an ipaddress object."""
        return ipaddress.ip_address(self.src_packed)

    @property
    def dst(self):
        return ipaddress.ip_address(self.dst_packed)

    @property
    def auth_data(self):
        """The 8 Authentication Data bytes of a v2 advert, b"" when absent."""
        if not self._has_auth:
            return b""
        return PyBytes_FromStringAndSize(<char*>self._auth, AUTH_LEN)

    @property
    def addresses(self):
        """The IPvX addresses as a tuple of ipaddress objects (decoded now)."""
        cdef Py_buffer view
        cdef bytes raw
        cdef Py_ssize_t size = 4 if self.rec.family == 4 else 16
        if not self.rec.addr_offset:
            return ()
        if self._buf is None:
            raise ValueError("this advert has no packet buffer to read addresses from")
        _get_buffer(self._buf, &view, PyBUF_SIMPLE, "buf")
        try:
            if self.rec.addr_offset + self.rec.addr_length > view.len:
                raise ValueError("the packet buffer is shorter than when it was parsed")
            raw = PyBytes_FromStringAndSize(<char*>view.buf + self.rec.addr_offset,
                                            self.rec.addr_length)
        finally:
            PyBuffer_Release(&view)
        cls = ipaddress.IPv4Address if size == 4 else ipaddress.IPv6Address
        return tuple([cls(raw[i:i + size]) for i in range(0, len(raw), size)])

    def as_dict(self):
        """Every field (addresses included when reached) as a plain dict."""
        return {
            "reason": self.reason, "family": self.family, "version": self.version,
            "type": self.type, "vrid": self.vrid, "priority": self.priority,
            "count": self.count, "auth_type": self.auth_type, "ttl": self.ttl,
            "checksum_form": self.checksum_form, "adver_int": self.adver_int,
            "adver_int_cs": self.adver_int_cs, "checksum": self.checksum,
            "vrrp_offset": self.vrrp_offset, "vrrp_length": self.vrrp_length,
            "addr_offset": self.addr_offset, "addr_length": self.addr_length,
            "auth_offset": self.auth_offset, "src": self.src_packed, "dst": self.dst_packed,
            "auth_data": self.auth_data, "addresses": self.addresses,
        }

    def __repr__(self):
        if self.rec.reason:
            return "<Advert dropped: %s vrid=%d>" % (self.reason_name, self.rec.vrid)
        return "<Advert v%d vrid=%d priority=%d from %s count=%d adver_int_cs=%d>" % (
            self.rec.version, self.rec.vrid, self.rec.priority, self.src, self.rec.count,
            self.rec.adver_int_cs)


# ------------------------------------------------------------- Python API: parsing

def reason_name(code):
    """The name of drop reason `code` (fastvrrp.proto.DROP_REASONS)."""
    if not isinstance(code, int) or not 0 <= code < len(DROP_REASONS):
        raise ValueError("unknown drop reason %r" % (code,))
    return DROP_REASONS[code]


def checksum_form_name(code):
    """The name of checksum form `code` (fastvrrp.proto.CHECKSUM_FORMS)."""
    if not isinstance(code, int) or not 0 <= code < len(CHECKSUM_FORMS):
        raise ValueError("unknown checksum form %r" % (code,))
    return CHECKSUM_FORMS[code]


cdef inline Advert _new_advert(object buf):
    cdef Advert adv = Advert.__new__(Advert)
    adv._buf = buf
    adv._has_auth = False
    return adv


cdef inline void _take_auth(Advert adv, const uint8_t* pkt) noexcept:
    if adv.rec.auth_offset:
        memcpy(adv._auth, pkt + adv.rec.auth_offset, AUTH_LEN)
        adv._has_auth = True


def parse_ipv4(object buf, check_ttl=True):
    """Parse and validate an IPv4 packet holding a VRRP advert -> Advert."""
    cdef Advert adv = _new_advert(buf)
    cdef Py_buffer view
    cdef const uint8_t* p
    cdef bint ttl = bool(check_ttl)
    if PyBytes_CheckExact(buf):
        p = <const uint8_t*>PyBytes_AS_STRING(buf)
        vrrp_parse_ipv4(p, PyBytes_GET_SIZE(buf), ttl, &adv.rec)
        _take_auth(adv, p)
        return adv
    _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
    p = <const uint8_t*>view.buf
    vrrp_parse_ipv4(p, view.len, ttl, &adv.rec)
    _take_auth(adv, p)
    PyBuffer_Release(&view)
    return adv


def parse_ipv6(object buf, src, dst, hop_limit, check_hop_limit=True):
    """Parse and validate a VRRPv3 message received over IPv6 -> Advert.

    src, dst: the IPv6 source and destination (16 bytes, str or IPv6Address),
    hop_limit: from IPV6_HOPLIMIT ancillary data.
    """
    cdef Advert adv
    cdef Py_buffer view
    cdef bytes s, d
    cdef bint check = bool(check_hop_limit)
    _get_buffer(buf, &view, PyBUF_SIMPLE, "buf")
    try:
        s = _packed(src, 6, "src")
        d = _packed(dst, 6, "dst")
        if not isinstance(hop_limit, int) or not 0 <= hop_limit <= 255:
            raise ValueError("hop_limit must be an int in 0..255")
        adv = _new_advert(buf)
        vrrp_parse_ipv6(<const uint8_t*>view.buf, view.len, <const uint8_t*>PyBytes_AS_STRING(s),
                        <const uint8_t*>PyBytes_AS_STRING(d), hop_limit, check, &adv.rec)
        _take_auth(adv, <const uint8_t*>view.buf)
    finally:
        PyBuffer_Release(&view)
    return adv


def parse_batch_ipv4(object buf, object offsets, object lengths, object out, check_ttl=True):
    """Parse len(lengths) IPv4 packets laid out in one receive buffer.

    Packet i is buf[offsets[i]:offsets[i] + lengths[i]] (offsets, lengths:
    uint32 buffers such as array('I')).  Record i of `out` (a writable buffer
    of at least n * ADVERT_RECORD_SIZE bytes, layout ADVERT_RECORD_FORMAT) gets
    the result; offsets in it are relative to the packet.  Returns the number
    of packets accepted.  No Python object is made per packet.
    """
    cdef Py_buffer vbuf, voffs, vlens, vout
    cdef Py_ssize_t n, result
    cdef bint ttl = bool(check_ttl)
    _get_buffer(buf, &vbuf, PyBUF_SIMPLE, "buf")
    try:
        _get_u32(offsets, &voffs, "offsets")
        try:
            _get_u32(lengths, &vlens, "lengths")
            try:
                if voffs.len != vlens.len:
                    raise ValueError("offsets and lengths differ in length")
                n = vlens.len // 4
                _get_buffer(out, &vout, PyBUF_WRITABLE, "out")
                try:
                    if vout.len < n * VRRP_ADVERT_RECORD_SIZE:
                        raise ValueError("out holds fewer than %d records of %d bytes"
                                         % (n, VRRP_ADVERT_RECORD_SIZE))
                    result = vrrp_parse_batch_ipv4(
                        <const uint8_t*>vbuf.buf, vbuf.len, <const uint32_t*>voffs.buf,
                        <const uint32_t*>vlens.buf, n, ttl, <vrrp_advert*>vout.buf)
                finally:
                    PyBuffer_Release(&vout)
            finally:
                PyBuffer_Release(&vlens)
        finally:
            PyBuffer_Release(&voffs)
    finally:
        PyBuffer_Release(&vbuf)
    if result < 0:
        raise ValueError("packet %d lies beyond the end of the buffer" % (-result - 1))
    return result


def advert_from_record(object records, index, object packet=None):
    """The Advert held in record `index` of a batch result; `packet` (the
    packet's own bytes) lets it decode addresses and authentication data."""
    cdef Py_buffer vrec, vpkt
    cdef vrrp_advert rec
    cdef Advert adv
    _get_buffer(records, &vrec, PyBUF_SIMPLE, "buf")
    try:
        if not isinstance(index, int) or index < 0 or \
                (index + 1) * VRRP_ADVERT_RECORD_SIZE > vrec.len:
            raise IndexError("record index out of range")
        memcpy(&rec, <const uint8_t*>vrec.buf + <Py_ssize_t>index * VRRP_ADVERT_RECORD_SIZE,
               sizeof(vrrp_advert))
    finally:
        PyBuffer_Release(&vrec)
    if rec.reason >= VRRP_DROP_COUNT or rec.checksum_form >= VRRP_CSUM_COUNT or \
            (rec.family != 4 and rec.family != 6):
        raise ValueError("record %d is not a parse result" % index)
    if packet is None:
        return Advert.from_rec(&rec, None, NULL, 0)
    _get_buffer(packet, &vpkt, PyBUF_SIMPLE, "buf")
    try:
        if rec.auth_offset and rec.auth_offset + AUTH_LEN > vpkt.len:
            raise ValueError("packet is shorter than the record says")
        adv = Advert.from_rec(&rec, packet, <const uint8_t*>vpkt.buf, vpkt.len)
    finally:
        PyBuffer_Release(&vpkt)
    return adv


def check_instance(Advert advert not None, version, auth_type=AUTH_NONE, auth_pass=b""):
    """The per-instance checks (keepalived vrrp_check_packet order) -> drop reason.

    version: the instance's configured VRRP version; auth_type/auth_pass: its
    VRRPv2 authentication (PASS: up to 8 bytes, NUL-padded, compared in
    constant time, RFC 2338 §5.3.6.1).  An advert already dropped keeps its reason.
    """
    cdef bytes password = _check_auth_config(version, auth_type, auth_pass)
    cdef const uint8_t* auth_data = advert._auth if advert._has_auth else NULL
    return vrrp_check_instance(&advert.rec, auth_data, version, auth_type,
                               <const uint8_t*>PyBytes_AS_STRING(password))


cdef object _check_auth_config(version, auth_type, auth_pass):
    """Validate an instance's version/authentication; return the 8-byte password."""
    if version not in (2, 3):
        raise ValueError("version must be 2 or 3")
    if auth_type not in (AUTH_NONE, AUTH_PASS):
        raise ValueError("auth_type must be AUTH_NONE or AUTH_PASS (AH is not supported)")
    password = _password(auth_pass)
    if version == 3 and (auth_type != AUTH_NONE or password != bytes(AUTH_LEN)):
        raise ValueError("VRRPv3 has no authentication (RFC 5798 §9)")
    if auth_type == AUTH_NONE and password != bytes(AUTH_LEN):
        raise ValueError("auth_pass given without auth_type AUTH_PASS")
    return password


cdef object _password(auth_pass):
    if isinstance(auth_pass, str):
        auth_pass = auth_pass.encode()
    elif isinstance(auth_pass, (bytes, bytearray, memoryview)):
        auth_pass = _as_bytes(auth_pass)
    else:
        raise TypeError("auth_pass must be str or bytes")
    if len(auth_pass) > AUTH_LEN:
        raise ValueError("auth_pass is longer than 8 bytes")
    return auth_pass.ljust(AUTH_LEN, b"\0")


# ------------------------------------------------------------- Python API: checksums

cdef bytes _as_bytes(object data):
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return data
    _get_buffer(data, &view, PyBUF_SIMPLE, "buf")
    try:
        return PyBytes_FromStringAndSize(<char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def checksum(object data):
    """The Internet checksum (RFC 1071) of a bytes-like object, as an int."""
    cdef Py_buffer view
    cdef uint16_t result
    _get_buffer(data, &view, PyBUF_SIMPLE, "buf")
    result = vrrp_checksum(<const uint8_t*>view.buf, view.len)
    PyBuffer_Release(&view)
    return result


def checksum_update(csum, old, new):
    """Patch checksum `csum` for a field changed from `old` to `new` (RFC 1624 eqn. 3).

    old and new are bytes-like of the same even length, e.g. a 2-byte
    Identification or a 4-byte address, at an even offset of the summed data.
    """
    cdef bytes o, n
    if not isinstance(csum, int) or not 0 <= csum <= 0xFFFF:
        raise ValueError("checksum must be an int in 0..65535")
    o, n = _as_bytes(old), _as_bytes(new)
    if len(o) != len(n) or len(o) % 2:
        raise ValueError("old and new must have the same even length")
    return vrrp_checksum_update(<uint16_t>csum, <const uint8_t*>PyBytes_AS_STRING(o),
                                <const uint8_t*>PyBytes_AS_STRING(n), len(o))


# ------------------------------------------------------------- Python API: building

cdef object _packed(addr, family, what="address"):
    """An address (str, ipaddress object or packed bytes) as packed bytes."""
    size = 4 if family == 4 else 16
    if isinstance(addr, (bytes, bytearray, memoryview)):
        raw = _as_bytes(addr)
        if len(raw) != size:
            raise ValueError("%s must be %d packed bytes for IPv%d" % (what, size, family))
        return raw
    if isinstance(addr, str):
        try:        # the common case, fast; ipaddress below gives the precise error
            return socket.inet_pton(socket.AF_INET if family == 4 else socket.AF_INET6, addr)
        except (OSError, ValueError):
            pass
        try:
            addr = ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError("%s %r is not an IP address" % (what, addr)) from None
    if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        raise TypeError("%s must be str, bytes or an ipaddress object" % what)
    if addr.version != family:
        raise ValueError("%s %s is not IPv%d" % (what, addr, family))
    return addr.packed


cdef object _int_in(value, lo, hi, what):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError("%s must be an int in %d..%d" % (what, lo, hi))
    return value


cdef object _checksum_form(version, family, form):
    default = CSUM_V2_MESSAGE if version == 2 else (
        CSUM_PSEUDO_HEADER if family == 4 else CSUM_IPV6_PSEUDO_HEADER)
    if form is None:
        return default
    allowed = (CSUM_PSEUDO_HEADER, CSUM_MESSAGE_ONLY, CSUM_PSEUDO_HEADER_GROUP) \
        if version == 3 and family == 4 else (default,)
    if form not in allowed:
        raise ValueError("checksum_form %r is not valid for VRRPv%d over IPv%d"
                         % (form, version, family))
    return form


cdef bytes _fill_spec(vrrp_build_spec* s, version, vrid, priority, adver_int, addresses,
                      family, src, dst, auth_type, auth_pass, checksum_form, ip_header,
                      ident, ttl):
    """Validate build_advert's arguments into *s; return the packed addresses
    (the caller keeps them alive while s.addresses points into them)."""
    cdef bytes packed, password, s_src, s_dst
    version = _int_in(version, 2, 3, "version")
    if family not in (4, 6):
        raise ValueError("family must be 4 or 6")
    vrid = _int_in(vrid, 1, 255, "vrid")
    priority = _int_in(priority, 0, 255, "priority")
    if version == 2:
        if family != 4:
            raise ValueError("VRRPv2 is IPv4 only (RFC 3768)")
        adver_int = _int_in(adver_int, 1, proto.VRRP_V2_MAX_ADVER_INT_S, "adver_int (s)")
    else:
        adver_int = _int_in(adver_int, 1, proto.VRRP_V3_MAX_ADVER_INT_CS, "adver_int (cs)")
    password = _check_auth_config(version, auth_type, auth_pass)
    if isinstance(addresses, (str, bytes, bytearray, memoryview)):
        raise TypeError("addresses must be a sequence of addresses")
    packed = b"".join([_packed(a, family) for a in addresses])
    count = len(packed) // (4 if family == 4 else 16)
    if not 1 <= count <= proto.VRRP_MAX_COUNT:
        raise ValueError("addresses must hold 1..255 addresses")
    form = _checksum_form(version, family, checksum_form)
    needs_src = ip_header or form in (CSUM_PSEUDO_HEADER, CSUM_IPV6_PSEUDO_HEADER,
                                      CSUM_PSEUDO_HEADER_GROUP)
    if src is None and needs_src:
        raise ValueError("src is needed for the IP header or a pseudo-header checksum")
    s_src = _packed(src, family, "src") if src is not None else bytes(4 if family == 4 else 16)
    if dst is not None:
        s_dst = _packed(dst, family, "dst")
    else:
        s_dst = bytes(GROUP4[:4]) if family == 4 else bytes(GROUP6[:16])
    if ip_header and family != 4:
        raise ValueError("ip_header is for IPv4 only (the kernel builds IPv6 headers)")
    ident = _int_in(ident, 0, 0xFFFF, "ident")
    ttl = _int_in(ttl, 1, 255, "ttl")

    memset(s, 0, sizeof(vrrp_build_spec))
    s.family = family
    s.version = version
    s.vrid = vrid
    s.priority = priority
    s.auth_type = auth_type
    s.checksum_form = form
    s.ttl = ttl
    s.ip_header = 1 if ip_header else 0
    s.adver_int = adver_int
    s.ident = ident
    s.count = count
    s.addresses = <const uint8_t*>PyBytes_AS_STRING(packed)
    memcpy(s.auth_pass, PyBytes_AS_STRING(password), AUTH_LEN)
    memcpy(s.src, PyBytes_AS_STRING(s_src), len(s_src))
    memcpy(s.dst, PyBytes_AS_STRING(s_dst), len(s_dst))
    return packed


def build_advert(version, vrid, priority, adver_int, addresses, *, family=4, src=None,
                 dst=None, auth_type=AUTH_NONE, auth_pass=b"", checksum_form=None,
                 ip_header=False, ident=1, ttl=proto.VRRP_TTL):
    """Build a VRRP advert -> bytes.

    version 2 (RFC 3768 §5.1; IPv4; adver_int in seconds, 1..255; 8 bytes of
    Authentication Data, zeros unless auth_type AUTH_PASS) or 3 (RFC 5798
    §5.1; adver_int in centiseconds, 1..4095).  family 4 or 6.  dst defaults
    to the VRRP group of the family; src is needed for the IPv4 header and for
    pseudo-header checksums.  checksum_form: None for the default of the
    version and family (v3/IPv4: CSUM_PSEUDO_HEADER); v3/IPv4 also takes
    CSUM_MESSAGE_ONLY (RFC 9568) and CSUM_PSEUDO_HEADER_GROUP (keepalived's
    old_unicast_checksum).  ip_header=True (IPv4 only) prepends the header
    keepalived writes: TOS 0xc0, Identification `ident`, no DF, TTL `ttl`,
    protocol 112, header checksum computed.
    """
    cdef vrrp_build_spec spec
    cdef bytes packed = _fill_spec(&spec, version, vrid, priority, adver_int, addresses,
                                   family, src, dst, auth_type, auth_pass, checksum_form,
                                   ip_header, ident, ttl)
    cdef Py_ssize_t n = vrrp_build_length(&spec)
    cdef bytes result = PyBytes_FromStringAndSize(NULL, n)
    if vrrp_build(&spec, <uint8_t*>PyBytes_AS_STRING(result), n) != n:
        raise AssertionError("vrrp_build rejected a validated spec")   # pragma: no cover
    return result


cdef object _mac(mac):
    if isinstance(mac, str):
        parts = mac.replace("-", ":").split(":")
        try:
            raw = bytes([int(p, 16) for p in parts]) if len(parts) == 6 and all(
                [1 <= len(p) <= 2 for p in parts]) else None
        except ValueError:
            raw = None
        if raw is None:
            raise ValueError("mac %r is not a MAC address like 00:00:5e:00:01:01" % mac)
        return raw
    if isinstance(mac, (bytes, bytearray, memoryview)):
        raw = _as_bytes(mac)
        if len(raw) != 6:
            raise ValueError("mac must be 6 bytes")
        return raw
    raise TypeError("mac must be str or bytes")


def build_garp(mac, vip):
    """A gratuitous ARP frame as keepalived sends it (vrrp_arp.c) -> 42 bytes.

    Ethernet to ff:ff:ff:ff:ff:ff from `mac`; ARP REQUEST (RFC 826), sender
    = `mac`/`vip`, target MAC ff:ff:ff:ff:ff:ff, target IP = `vip` (RFC 5798
    §6.4.2 erratum 7949: sender IP = target IP = VIP).
    """
    cdef bytes m = _mac(mac)
    cdef bytes v = _packed(vip, 4, "vip")
    cdef bytes frame = PyBytes_FromStringAndSize(NULL, VRRP_GARP_FRAME_LEN)
    vrrp_build_garp(<const uint8_t*>PyBytes_AS_STRING(m), <const uint8_t*>PyBytes_AS_STRING(v),
                    <uint8_t*>PyBytes_AS_STRING(frame), VRRP_GARP_FRAME_LEN)
    return frame


def build_unsolicited_na(mac, vip, router=False):
    """An unsolicited Neighbor Advertisement (RFC 4861 §4.4, §7.2.6) as
    keepalived sends it (vrrp_ndisc.c) -> 86 bytes.

    Ethernet 33:33:00:00:00:01 from `mac`; IPv6 from `vip` to ff02::1, Hop
    Limit 255; Override flag, Router flag if `router`; target `vip`; a Target
    Link-Layer Address option with `mac`; ICMPv6 checksum (RFC 4443 §2.3).
    """
    cdef bytes m = _mac(mac)
    cdef bytes v = _packed(vip, 6, "vip")
    cdef bytes frame = PyBytes_FromStringAndSize(NULL, VRRP_NA_FRAME_LEN)
    vrrp_build_na(<const uint8_t*>PyBytes_AS_STRING(m), <const uint8_t*>PyBytes_AS_STRING(v),
                  bool(router), <uint8_t*>PyBytes_AS_STRING(frame), VRRP_NA_FRAME_LEN)
    return frame


# ------------------------------------------------------------- benchmark helpers
# Loops in C so that Python call overhead does not dominate the figure
# (fastvrrp/bench/codec.py).  Not part of the API.

def _bench_parse(object buf, object offsets, object lengths, Py_ssize_t n):
    """Call vrrp_parse_ipv4 n times, cycling over the packets of a batch buffer."""
    cdef Py_buffer vbuf, voffs, vlens
    cdef vrrp_advert rec
    cdef Py_ssize_t i, k, acc = 0
    cdef const uint32_t* offs
    cdef const uint32_t* lens
    _get_u32(offsets, &voffs, "offsets")
    _get_u32(lengths, &vlens, "lengths")
    _get_buffer(buf, &vbuf, PyBUF_SIMPLE, "buf")
    try:
        k = vlens.len // 4
        if k == 0 or voffs.len != vlens.len:
            raise ValueError("need one or more packets")
        offs = <const uint32_t*>voffs.buf
        lens = <const uint32_t*>vlens.buf
        for i in range(k):
            if offs[i] + lens[i] > <size_t>vbuf.len:
                raise ValueError("packet beyond the buffer")
        with nogil:
            for i in range(n):
                acc += vrrp_parse_ipv4(<const uint8_t*>vbuf.buf + offs[i % k], lens[i % k],
                                       True, &rec) + rec.priority
    finally:
        PyBuffer_Release(&vbuf)
        PyBuffer_Release(&voffs)
        PyBuffer_Release(&vlens)
    return acc


def _bench_build(Py_ssize_t n, version, vrid, priority, adver_int, addresses, **kw):
    """Call vrrp_build n times (Identification varying) into one buffer."""
    cdef vrrp_build_spec spec
    cdef bytes packed = _fill_spec(&spec, version, vrid, priority, adver_int, addresses,
                                   kw.get("family", 4), kw.get("src"), kw.get("dst"),
                                   kw.get("auth_type", AUTH_NONE), kw.get("auth_pass", b""),
                                   kw.get("checksum_form"), kw.get("ip_header", False),
                                   kw.get("ident", 1), kw.get("ttl", 255))
    cdef uint8_t out[4200]
    cdef Py_ssize_t i, acc = 0
    with nogil:
        for i in range(n):
            spec.ident = <uint16_t>i
            acc += vrrp_build(&spec, out, sizeof(out)) + out[27]
    return acc


def _bench_checksum(object data, Py_ssize_t n):
    """vrrp_checksum over data, n times."""
    cdef Py_buffer view
    cdef Py_ssize_t i, acc = 0
    _get_buffer(data, &view, PyBUF_SIMPLE, "buf")
    try:
        if view.len < 2:
            raise ValueError("need two or more bytes")
        with nogil:
            for i in range(n):
                acc += vrrp_checksum(<const uint8_t*>view.buf + (i & 1), view.len - 1)
    finally:
        PyBuffer_Release(&view)
    return acc
