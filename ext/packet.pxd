# C-level interface of fastvrrp._packet: the VRRP codec (RFC 3768, RFC 5798/9568).
#
# For the fast path (`from fastvrrp._packet cimport ...`): fixed-size structs,
# functions over `const uint8_t*` + length that are `noexcept nogil`, touch no
# Python object, bounds-check every offset, and return a drop reason (0 = the
# packet is accepted) or a length (-1 = error).  The Python API and the exact
# order of the checks are described in ext/packet.pyx.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

# Drop reasons, in check order (same numbers and names as fastvrrp.proto.DROP_REASONS).
cdef enum:
    VRRP_DROP_OK = 0
    VRRP_DROP_TOO_SHORT = 1
    VRRP_DROP_IP_HEADER = 2
    VRRP_DROP_IP_LENGTH = 3
    VRRP_DROP_NOT_VRRP = 4
    VRRP_DROP_AH = 5
    VRRP_DROP_TTL = 6
    VRRP_DROP_CARP = 7
    VRRP_DROP_VERSION = 8
    VRRP_DROP_TYPE = 9
    VRRP_DROP_COUNT_ZERO = 10
    VRRP_DROP_LENGTH = 11
    VRRP_DROP_ADVER_INT_ZERO = 12
    VRRP_DROP_AUTH_TYPE = 13
    VRRP_DROP_CHECKSUM = 14
    VRRP_DROP_VERSION_MISMATCH = 15
    VRRP_DROP_AUTH_TYPE_MISMATCH = 16
    VRRP_DROP_AUTH_FAILURE = 17
    VRRP_DROP_COUNT = 18

# Checksum forms (fastvrrp.proto.CHECKSUM_FORMS), RFC 5798 §5.2.8.
cdef enum:
    VRRP_CSUM_NONE = 0
    VRRP_CSUM_V2_MESSAGE = 1
    VRRP_CSUM_MESSAGE_ONLY = 2
    VRRP_CSUM_PSEUDO_HEADER = 3
    VRRP_CSUM_IPV6_PSEUDO_HEADER = 4
    VRRP_CSUM_PSEUDO_HEADER_GROUP = 5
    VRRP_CSUM_COUNT = 6

cdef enum:
    VRRP_ADVERT_RECORD_SIZE = 64
    VRRP_GARP_FRAME_LEN = 42
    VRRP_NA_FRAME_LEN = 86

# One parse result (also one 64-byte record of the batch API; layout =
# fastvrrp.proto.ADVERT_RECORD_FORMAT, native byte order, no padding).
# Offsets are from the start of the packet buffer; fields that the checks did
# not reach are zero.
ctypedef struct vrrp_advert:
    uint8_t reason          # VRRP_DROP_*
    uint8_t family          # 4 or 6
    uint8_t version         # RFC 5798 §5.2.1
    uint8_t vtype           # §5.2.2 Type
    uint8_t vrid            # §5.2.3
    uint8_t priority        # §5.2.4
    uint8_t count           # §5.2.5 Count IPvX Addr
    uint8_t auth_type       # RFC 3768 §5.3.6 (v2; 0 for v3)
    uint8_t ttl             # IPv4 TTL / IPv6 Hop Limit
    uint8_t checksum_form   # VRRP_CSUM_* that matched
    uint16_t adver_int      # as sent: v2 seconds, v3 centiseconds (§5.2.7)
    uint16_t adver_int_cs   # normalised to centiseconds
    uint16_t checksum       # §5.2.8, as sent
    uint16_t vrrp_offset    # where the VRRP message starts (IPv4: IHL * 4)
    uint16_t vrrp_length
    uint16_t addr_offset    # §5.2.9 IPvX Address(es)
    uint16_t addr_length
    uint16_t auth_offset    # RFC 3768 §5.3.10 Authentication Data (v2), 0 if none
    uint8_t reserved0[2]
    uint8_t src[16]         # IPv4: first 4 bytes
    uint8_t dst[16]
    uint8_t reserved1[4]

# What to build (vrrp_build).  The caller keeps `addresses` alive.
ctypedef struct vrrp_build_spec:
    uint8_t family          # 4 or 6
    uint8_t version         # 2 (IPv4 only) or 3
    uint8_t vrid            # 1..255
    uint8_t priority
    uint8_t auth_type       # v2: 0 or 1 (PASS)
    uint8_t checksum_form   # VRRP_CSUM_*, valid for version and family
    uint8_t ttl             # IPv4 header TTL (255)
    uint8_t ip_header       # nonzero: prepend the IPv4 header (IPv4 only)
    uint16_t adver_int      # v2: 1..255 s; v3: 1..4095 cs
    uint16_t ident          # IPv4 Identification
    uint16_t count          # 1..255 addresses
    const uint8_t* addresses  # count * 4 or 16 packed bytes
    uint8_t auth_pass[8]    # PASS: NUL-padded password
    uint8_t src[16]
    uint8_t dst[16]

# Internet checksum (RFC 1071): unfolded big-endian 16-bit word sum, fold, final.
cdef uint64_t vrrp_sum16(const uint8_t* p, Py_ssize_t n, uint64_t acc) noexcept nogil
cdef uint16_t vrrp_fold(uint64_t acc) noexcept nogil
cdef uint16_t vrrp_checksum(const uint8_t* p, Py_ssize_t n) noexcept nogil
# RFC 1624 eqn. 3: patch `csum` for the n bytes (n even) at an even offset changing old -> new.
cdef uint16_t vrrp_checksum_update(uint16_t csum, const uint8_t* old, const uint8_t* new,
                                   Py_ssize_t n) noexcept nogil

# Parse + validate; fill *out (reason included); return the drop reason.
cdef int vrrp_parse_ipv4(const uint8_t* pkt, Py_ssize_t n, bint check_ttl,
                         vrrp_advert* out) noexcept nogil
cdef int vrrp_parse_ipv6(const uint8_t* msg, Py_ssize_t n, const uint8_t* src,
                         const uint8_t* dst, int hop_limit, bint check_hop_limit,
                         vrrp_advert* out) noexcept nogil
# Packet i = buf[offsets[i] : offsets[i] + lengths[i]] -> out[i].  Returns the
# number accepted, or -(i + 1) when packet i lies beyond buflen (checked first).
cdef Py_ssize_t vrrp_parse_batch_ipv4(const uint8_t* buf, Py_ssize_t buflen,
                                      const uint32_t* offsets, const uint32_t* lengths,
                                      Py_ssize_t n, bint check_ttl,
                                      vrrp_advert* out) noexcept nogil
# Per-instance checks of an accepted advert.  auth_data: the 8 Authentication
# Data bytes (packet + adv.auth_offset), NULL when absent; auth_pass8: the
# configured NUL-padded password.
cdef int vrrp_check_instance(const vrrp_advert* adv, const uint8_t* auth_data,
                             int version, int auth_type,
                             const uint8_t* auth_pass8) noexcept nogil

# Builders: write into out[0:cap]; return the length written, -1 if the spec
# is invalid or cap too small.
cdef Py_ssize_t vrrp_build_length(const vrrp_build_spec* spec) noexcept nogil
cdef Py_ssize_t vrrp_build(const vrrp_build_spec* spec, uint8_t* out,
                           Py_ssize_t cap) noexcept nogil
cdef Py_ssize_t vrrp_build_garp(const uint8_t* mac, const uint8_t* vip, uint8_t* out,
                                Py_ssize_t cap) noexcept nogil
cdef Py_ssize_t vrrp_build_na(const uint8_t* mac, const uint8_t* vip, bint router,
                              uint8_t* out, Py_ssize_t cap) noexcept nogil


cdef class Advert:
    cdef vrrp_advert rec
    cdef object _buf            # the parsed buffer (zero-copy address access)
    cdef uint8_t _auth[8]       # v2 Authentication Data, copied at parse time
    cdef bint _has_auth

    @staticmethod
    cdef Advert from_rec(const vrrp_advert* rec, object buf, const uint8_t* pkt,
                         Py_ssize_t n)
