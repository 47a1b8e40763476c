"""VRRP packet codec, pure Python: the reference twin of fastvrrp._packet.

Same Python API and semantics as the compiled module; it is the test oracle
and the benchmark baseline.

Parsing (RFC 3768 §7.1, RFC 5798/9568 §7.1).  parse_ipv4() takes the IPv4
packet as a raw socket delivers it (header included); parse_ipv6() takes the
VRRP message and the source, destination and Hop Limit from ancillary data.
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

Building: build_advert() makes a VRRPv2 or VRRPv3 advert (RFC 3768 §5.1,
RFC 5798 §5.1), optionally with the IPv4 header keepalived writes itself
(IP_HDRINCL); build_garp() and build_unsolicited_na() make the frames
keepalived sends on becoming master (vrrp_arp.c, vrrp_ndisc.c).
"""

import hmac
import ipaddress
import socket
import struct

from fastvrrp import proto
from fastvrrp.proto import (
    ADVERT_RECORD_FIELDS, ADVERT_RECORD_FORMAT, ADVERT_RECORD_SIZE, AUTH_AH, AUTH_DATA_LEN,
    AUTH_NONE, AUTH_PASS, CHECKSUM_FORMS, CSUM_IPV6_PSEUDO_HEADER, CSUM_MESSAGE_ONLY, CSUM_NONE,
    CSUM_PSEUDO_HEADER, CSUM_PSEUDO_HEADER_GROUP, CSUM_V2_MESSAGE, DROP_ADVER_INT_ZERO, DROP_AH,
    DROP_AUTH_FAILURE, DROP_AUTH_TYPE, DROP_AUTH_TYPE_MISMATCH, DROP_CARP, DROP_CHECKSUM,
    DROP_COUNT_ZERO, DROP_IP_HEADER, DROP_IP_LENGTH, DROP_LENGTH, DROP_NOT_VRRP, DROP_OK,
    DROP_REASONS, DROP_TOO_SHORT, DROP_TTL, DROP_TYPE, DROP_VERSION, DROP_VERSION_MISMATCH,
)

__all__ = [
    "Advert", "parse_ipv4", "parse_ipv6", "parse_batch_ipv4", "advert_from_record",
    "check_instance", "build_advert", "build_garp", "build_unsolicited_na",
    "checksum", "checksum_update", "reason_name", "checksum_form_name",
    "DROP_REASONS", "CHECKSUM_FORMS", "ADVERT_RECORD_SIZE",
    "AUTH_NONE", "AUTH_PASS", "AUTH_AH",
] + [n for n in dir(proto) if n.startswith(("DROP_", "CSUM_"))]

_GROUP4 = ipaddress.IPv4Address(proto.VRRP_GROUP_IPV4).packed
_GROUP6 = ipaddress.IPv6Address(proto.VRRP_GROUP_IPV6).packed
_ALL_NODES6 = ipaddress.IPv6Address(proto.ALL_NODES_IPV6).packed
_RECORD = struct.Struct(ADVERT_RECORD_FORMAT)
_ZERO16 = bytes(16)
_SCALAR_FIELDS = ADVERT_RECORD_FIELDS[:-2]      # all but src, dst
assert ADVERT_RECORD_FIELDS[-2:] == ("src", "dst")


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


# ---------------------------------------------------------------- checksums

def _sum16(data):
    """Ones'-complement-ready sum of big-endian 16-bit words (RFC 1071), unfolded."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def _fold(total):
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data):
    """The Internet checksum (RFC 1071) of a bytes-like object, as an int."""
    return ~_fold(_sum16(_as_bytes(data))) & 0xFFFF


def checksum_update(csum, old, new):
    """Patch checksum `csum` for a field changed from `old` to `new` (RFC 1624 eqn. 3).

    old and new are bytes-like of the same even length, e.g. a 2-byte
    Identification or a 4-byte address, at an even offset of the summed data.
    """
    if not isinstance(csum, int) or not 0 <= csum <= 0xFFFF:
        raise ValueError("checksum must be an int in 0..65535")
    old, new = _as_bytes(old), _as_bytes(new)
    if len(old) != len(new) or len(old) % 2:
        raise ValueError("old and new must have the same even length")
    # HC' = ~(~HC + ~m + m'), one 16-bit word at a time.
    total = ~csum & 0xFFFF
    for (m,), (m2,) in zip(struct.iter_unpack("!H", old), struct.iter_unpack("!H", new)):
        total += (~m & 0xFFFF) + m2
    return ~_fold(total) & 0xFFFF


def _pseudo4(src, dst, length):
    """Sum of the IPv4 pseudo-header (src, dst, 0, 112, length): RFC 5798 §5.2.8."""
    return _sum16(src) + _sum16(dst) + proto.IPPROTO_VRRP + length


def _pseudo6(src, dst, length, next_header=proto.IPPROTO_VRRP):
    """Sum of the IPv6 pseudo-header (RFC 8200 §8.1)."""
    return _sum16(src) + _sum16(dst) + (length >> 16) + (length & 0xFFFF) + next_header


# ---------------------------------------------------------------- parse result

class Advert:
    """One parsed advert: `reason` 0 means accepted; fields not reached are zero.

    src/dst/addresses are ipaddress objects, decoded on access; `addresses`
    reads the packet buffer at that moment (zero-copy: keep the buffer intact
    while you need them).
    """

    __slots__ = _SCALAR_FIELDS + ("_src", "_dst", "_buf", "_auth")

    def __init__(self):
        for name in _SCALAR_FIELDS:
            setattr(self, name, 0)
        self._src = self._dst = _ZERO16
        self._buf = None
        self._auth = b""

    @property
    def ok(self):
        return self.reason == DROP_OK

    @property
    def reason_name(self):
        return DROP_REASONS[self.reason]

    @property
    def checksum_form_name(self):
        return CHECKSUM_FORMS[self.checksum_form]

    @property
    def src_packed(self):
        """The source address as 4 (IPv4) or 16 (IPv6) bytes; zeros if not reached."""
        return self._src[:4] if self.family == 4 else self._src

    @property
    def dst_packed(self):
        return self._dst[:4] if self.family == 4 else self._dst

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
        return self._auth

    @property
    def addresses(self):
        """The IPvX addresses as a tuple of ipaddress objects (decoded now)."""
        if not self.addr_offset:
            return ()
        raw = _address_bytes(self._buf, self.addr_offset, self.addr_length)
        size = 4 if self.family == 4 else 16
        cls = ipaddress.IPv4Address if size == 4 else ipaddress.IPv6Address
        return tuple(cls(raw[i:i + size]) for i in range(0, len(raw), size))

    def as_dict(self):
        """Every field (addresses included when reached) as a plain dict."""
        out = {name: getattr(self, name) for name in _SCALAR_FIELDS}
        out["src"], out["dst"] = self.src_packed, self.dst_packed
        out["auth_data"] = self.auth_data
        out["addresses"] = self.addresses
        return out

    def __repr__(self):
        if self.reason:
            return "<Advert dropped: %s vrid=%d>" % (self.reason_name, self.vrid)
        return "<Advert v%d vrid=%d priority=%d from %s count=%d adver_int_cs=%d>" % (
            self.version, self.vrid, self.priority, self.src, self.count,
            self.adver_int_cs)


def _address_bytes(buf, offset, length):
    if buf is None:
        raise ValueError("this advert has no packet buffer to read addresses from")
    view = _view(buf)
    if offset + length > len(view):
        raise ValueError("the packet buffer is shorter than when it was parsed")
    return bytes(view[offset:offset + length])


# ---------------------------------------------------------------- parsing

def _view(buf):
    """A flat read-only byte view of any contiguous buffer-protocol object."""
    try:
        view = memoryview(buf)
    except TypeError:
        raise TypeError("expected a bytes-like object, got %s" % type(buf).__name__) from None
    if not view.c_contiguous:
        raise TypeError("expected a contiguous bytes-like object")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _as_bytes(data):
    return bytes(_view(data))


def parse_ipv4(buf, check_ttl=True):
    """Parse and validate an IPv4 packet holding a VRRP advert -> Advert."""
    view = _view(buf)
    adv = Advert()
    adv._buf = buf
    adv.family = 4
    adv.reason = _parse_ipv4(view, bool(check_ttl), adv)
    return adv


def _parse_ipv4(pkt, check_ttl, adv):
    n = len(pkt)
    if n < proto.IPV4_HEADER_LEN:
        return DROP_TOO_SHORT
    version, ihl = pkt[0] >> 4, (pkt[0] & 0x0F) * 4
    if version != 4 or ihl < proto.IPV4_HEADER_LEN:
        return DROP_IP_HEADER
    if ihl > n:
        return DROP_TOO_SHORT
    total_length, ttl, protocol = struct.unpack_from("!2xH4xBB", pkt)
    adv.ttl = ttl
    adv._src = bytes(pkt[12:16]) + bytes(12)
    adv._dst = bytes(pkt[16:20]) + bytes(12)
    if total_length != n:
        return DROP_IP_LENGTH
    if protocol == proto.IPPROTO_AH:
        return DROP_AH
    if protocol != proto.IPPROTO_VRRP:
        return DROP_NOT_VRRP
    return _parse_vrrp(pkt, ihl, n - ihl, check_ttl, adv)


def parse_ipv6(buf, src, dst, hop_limit, check_hop_limit=True):
    """Parse and validate a VRRPv3 message received over IPv6 -> Advert.

    src, dst: the IPv6 source and destination (16 bytes, str or IPv6Address),
    hop_limit: from IPV6_HOPLIMIT ancillary data.
    """
    view = _view(buf)
    src, dst = _packed(src, 6, "src"), _packed(dst, 6, "dst")
    if not isinstance(hop_limit, int) or not 0 <= hop_limit <= 255:
        raise ValueError("hop_limit must be an int in 0..255")
    adv = Advert()
    adv._buf = buf
    adv.family = 6
    adv._src, adv._dst, adv.ttl = src, dst, hop_limit
    n = len(view)
    if n > 0xFFFF:
        adv.reason = DROP_LENGTH
    else:
        adv.reason = _parse_vrrp(view, 0, n, bool(check_hop_limit), adv)
    return adv


def _parse_vrrp(pkt, off, n, check_ttl, adv):
    """Validate the VRRP message at pkt[off:off + n]; fill adv; return the reason."""
    adv.vrrp_offset, adv.vrrp_length = off, n
    if n < proto.VRRP_HEADER_LEN:
        return DROP_TOO_SHORT
    vers_type, vrid, priority, count, word, csum = struct.unpack_from("!BBBBHH", pkt, off)
    version = vers_type >> 4
    adv.version, adv.type = version, vers_type & 0x0F
    adv.vrid, adv.priority, adv.count, adv.checksum = vrid, priority, count, csum
    if version == 2:                     # RFC 3768 §5.3.6-§5.3.7: Auth Type, Adver Int (s)
        adv.auth_type, adv.adver_int = word >> 8, word & 0xFF
        adv.adver_int_cs = adv.adver_int * 100
    else:                                # RFC 5798 §5.2.6-§5.2.7: rsvd, Max Adver Int (cs)
        adv.adver_int = adv.adver_int_cs = word & 0x0FFF

    if check_ttl and adv.ttl != proto.VRRP_TTL:
        return DROP_TTL
    if version == 2 and n == proto.CARP_LEN and count == proto.CARP_AUTHLEN:
        return DROP_CARP
    if version != 3 and (version != 2 or adv.family == 6):
        return DROP_VERSION
    if adv.type != proto.VRRP_TYPE_ADVERTISEMENT:
        return DROP_TYPE
    if count == 0:
        return DROP_COUNT_ZERO
    addr_size = 4 if adv.family == 4 else 16
    auth_size = AUTH_DATA_LEN if version == 2 else 0
    if n != proto.VRRP_HEADER_LEN + count * addr_size + auth_size:
        return DROP_LENGTH
    adv.addr_offset = off + proto.VRRP_HEADER_LEN
    adv.addr_length = count * addr_size
    if version == 2:
        adv.auth_offset = adv.addr_offset + adv.addr_length
        adv._auth = bytes(pkt[adv.auth_offset:adv.auth_offset + AUTH_DATA_LEN])
    if adv.adver_int == 0:
        return DROP_ADVER_INT_ZERO
    if version == 2 and adv.auth_type > AUTH_AH:
        return DROP_AUTH_TYPE

    form = _verify_checksum(pkt[off:off + n], adv)
    if form == CSUM_NONE:
        return DROP_CHECKSUM
    adv.checksum_form = form
    return DROP_OK


def _verify_checksum(msg, adv):
    """RFC 5798 §5.2.8: which checksum form the message carries, CSUM_NONE if none."""
    total = _sum16(msg)
    if adv.version == 2:
        return CSUM_V2_MESSAGE if _fold(total) == 0xFFFF else CSUM_NONE
    n = len(msg)
    if adv.family == 6:
        good = _fold(total + _pseudo6(adv._src, adv._dst, n)) == 0xFFFF
        return CSUM_IPV6_PSEUDO_HEADER if good else CSUM_NONE
    src, dst = adv._src[:4], adv._dst[:4]
    if _fold(total + _pseudo4(src, dst, n)) == 0xFFFF:
        return CSUM_PSEUDO_HEADER
    if _fold(total) == 0xFFFF:
        return CSUM_MESSAGE_ONLY
    if dst != _GROUP4 and _fold(total + _pseudo4(src, _GROUP4, n)) == 0xFFFF:
        return CSUM_PSEUDO_HEADER_GROUP
    return CSUM_NONE


def check_instance(advert, version, auth_type=AUTH_NONE, auth_pass=b""):
    """The per-instance checks (keepalived vrrp_check_packet order) -> drop reason.

    version: the instance's configured VRRP version; auth_type/auth_pass: its
    VRRPv2 authentication (PASS: up to 8 bytes, NUL-padded, compared in
    constant time, RFC 2338 §5.3.6.1).  An advert already dropped keeps its reason.
    """
    if not isinstance(advert, Advert):
        raise TypeError("advert must be an Advert")
    password = _check_auth_config(version, auth_type, auth_pass)
    if advert.reason:
        return advert.reason
    if advert.version != version:
        return DROP_VERSION_MISMATCH
    if version == 2:
        if advert.auth_type != auth_type:
            return DROP_AUTH_TYPE_MISMATCH
        if auth_type == AUTH_PASS and not hmac.compare_digest(advert.auth_data, password):
            return DROP_AUTH_FAILURE
    return DROP_OK


def _check_auth_config(version, auth_type, auth_pass):
    """Validate an instance's version/authentication; return the 8-byte password."""
    if version not in (2, 3):
        raise ValueError("version must be 2 or 3")
    if auth_type not in (AUTH_NONE, AUTH_PASS):
        raise ValueError("auth_type must be AUTH_NONE or AUTH_PASS (AH is not supported)")
    password = _password(auth_pass)
    if version == 3 and (auth_type != AUTH_NONE or password != bytes(AUTH_DATA_LEN)):
        raise ValueError("VRRPv3 has no authentication (RFC 5798 §9)")
    if auth_type == AUTH_NONE and password != bytes(AUTH_DATA_LEN):
        raise ValueError("auth_pass given without auth_type AUTH_PASS")
    return password


def _password(auth_pass):
    if isinstance(auth_pass, str):
        auth_pass = auth_pass.encode()
    elif isinstance(auth_pass, (bytes, bytearray, memoryview)):
        auth_pass = _as_bytes(auth_pass)
    else:
        raise TypeError("auth_pass must be str or bytes")
    if len(auth_pass) > AUTH_DATA_LEN:
        raise ValueError("auth_pass is longer than 8 bytes")
    return auth_pass.ljust(AUTH_DATA_LEN, b"\0")


# ---------------------------------------------------------------- batch API

def _u32_view(obj, what):
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError("%s must be a buffer of uint32 (array('I'))" % what) from None
    if view.itemsize != 4 or view.format not in ("I", "@I", "=I") or view.ndim != 1 \
            or not view.c_contiguous:
        raise TypeError("%s must be a buffer of uint32 (array('I'))" % what)
    return view


def _records_view(out, n):
    try:
        view = memoryview(out)
    except TypeError:
        raise TypeError("out must be a writable bytes-like object") from None
    if view.readonly or not view.c_contiguous:
        raise TypeError("out must be a writable contiguous bytes-like object")
    view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
    if len(view) < n * ADVERT_RECORD_SIZE:
        raise ValueError("out holds fewer than %d records of %d bytes"
                         % (n, ADVERT_RECORD_SIZE))
    return view


def parse_batch_ipv4(buf, offsets, lengths, out, check_ttl=True):
    """Parse len(lengths) IPv4 packets laid out in one receive buffer.

    Packet i is buf[offsets[i]:offsets[i] + lengths[i]] (offsets, lengths:
    uint32 buffers such as array('I')).  Record i of `out` (a writable buffer
    of at least n * ADVERT_RECORD_SIZE bytes, layout ADVERT_RECORD_FORMAT) gets
    the result; offsets in it are relative to the packet.  Returns the number
    of packets accepted.
    """
    view = _view(buf)
    offs, lens = _u32_view(offsets, "offsets"), _u32_view(lengths, "lengths")
    if len(offs) != len(lens):
        raise ValueError("offsets and lengths differ in length")
    n = len(lens)
    records = _records_view(out, n)
    for i in range(n):
        if offs[i] + lens[i] > len(view):
            raise ValueError("packet %d lies beyond the end of the buffer" % i)
    accepted = 0
    check_ttl = bool(check_ttl)
    for i in range(n):
        adv = Advert()
        adv.family = 4
        adv.reason = _parse_ipv4(view[offs[i]:offs[i] + lens[i]], check_ttl, adv)
        accepted += adv.reason == DROP_OK
        _RECORD.pack_into(records, i * ADVERT_RECORD_SIZE,
                          *[getattr(adv, name) for name in _SCALAR_FIELDS], adv._src, adv._dst)
    return accepted


def advert_from_record(records, index, packet=None):
    """The Advert held in record `index` of a batch result; `packet` (the
    packet's own bytes) lets it decode addresses and authentication data."""
    view = _view(records)
    if not isinstance(index, int) or index < 0 or (index + 1) * ADVERT_RECORD_SIZE > len(view):
        raise IndexError("record index out of range")
    adv = Advert()
    values = _RECORD.unpack_from(view, index * ADVERT_RECORD_SIZE)
    for name, value in zip(_SCALAR_FIELDS, values):
        setattr(adv, name, value)
    adv._src, adv._dst = values[-2:]
    if adv.reason >= len(DROP_REASONS) or adv.checksum_form >= len(CHECKSUM_FORMS) \
            or adv.family not in (4, 6):
        raise ValueError("record %d is not a parse result" % index)
    if packet is not None:
        pview = _view(packet)
        adv._buf = packet
        if adv.auth_offset:
            if adv.auth_offset + AUTH_DATA_LEN > len(pview):
                raise ValueError("packet is shorter than the record says")
            adv._auth = bytes(pview[adv.auth_offset:adv.auth_offset + AUTH_DATA_LEN])
    return adv


# ---------------------------------------------------------------- building

def _packed(addr, family, what="address"):
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


def _int_in(value, lo, hi, what):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError("%s must be an int in %d..%d" % (what, lo, hi))
    return value


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
    packed = b"".join(_packed(a, family) for a in addresses)
    count = len(packed) // (4 if family == 4 else 16)
    if not 1 <= count <= proto.VRRP_MAX_COUNT:
        raise ValueError("addresses must hold 1..255 addresses")
    form = _checksum_form(version, family, checksum_form)
    needs_src = ip_header or form in (CSUM_PSEUDO_HEADER, CSUM_IPV6_PSEUDO_HEADER,
                                      CSUM_PSEUDO_HEADER_GROUP)
    if src is None and needs_src:
        raise ValueError("src is needed for the IP header or a pseudo-header checksum")
    src = _packed(src, family, "src") if src is not None else bytes(4 if family == 4 else 16)
    dst = _packed(dst, family, "dst") if dst is not None else (
        _GROUP4 if family == 4 else _GROUP6)
    if ip_header and family != 4:
        raise ValueError("ip_header is for IPv4 only (the kernel builds IPv6 headers)")
    ident = _int_in(ident, 0, 0xFFFF, "ident")
    ttl = _int_in(ttl, 1, 255, "ttl")

    if version == 2:                     # RFC 3768 §5.3.6-§5.3.7
        word = (auth_type << 8) | adver_int
    else:                                # RFC 5798 §5.2.6-§5.2.7: rsvd 0, 12 bits of cs
        word = adver_int
    msg = bytearray(struct.pack("!BBBBHH", (version << 4) | proto.VRRP_TYPE_ADVERTISEMENT,
                                vrid, priority, count, word, 0))
    msg += packed
    if version == 2:
        msg += password if auth_type == AUTH_PASS else bytes(AUTH_DATA_LEN)
    total = _sum16(msg)                  # RFC 5798 §5.2.8
    if form == CSUM_PSEUDO_HEADER:
        total += _pseudo4(src, dst, len(msg))
    elif form == CSUM_PSEUDO_HEADER_GROUP:
        total += _pseudo4(src, _GROUP4, len(msg))
    elif form == CSUM_IPV6_PSEUDO_HEADER:
        total += _pseudo6(src, dst, len(msg))
    struct.pack_into("!H", msg, 6, ~_fold(total) & 0xFFFF)
    if not ip_header:
        return bytes(msg)
    return _ipv4_header(len(msg), ident, ttl, proto.IPPROTO_VRRP, src, dst) + bytes(msg)


def _checksum_form(version, family, form):
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


def _ipv4_header(payload_len, ident, ttl, protocol, src, dst):
    """The IPv4 header keepalived writes (vrrp.c vrrp_build_ip4): RFC 791 §3.1."""
    header = bytearray(struct.pack(
        "!BBHHHBBH4s4s", 0x45, proto.VRRP_TOS, proto.IPV4_HEADER_LEN + payload_len,
        ident, 0, ttl, protocol, 0, src, dst))
    struct.pack_into("!H", header, 10, ~_fold(_sum16(header)) & 0xFFFF)
    return bytes(header)


def _mac(mac):
    if isinstance(mac, str):
        parts = mac.replace("-", ":").split(":")
        try:
            raw = bytes(int(p, 16) for p in parts) if len(parts) == 6 and all(
                1 <= len(p) <= 2 for p in parts) else None
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
    mac, vip = _mac(mac), _packed(vip, 4, "vip")
    bcast = b"\xff" * 6
    return (bcast + mac + struct.pack("!HHHBBH", proto.ETHERTYPE_ARP, 1, proto.ETHERTYPE_IPV4,
                                      6, 4, proto.ARPOP_REQUEST)
            + mac + vip + bcast + vip)


def build_unsolicited_na(mac, vip, router=False):
    """An unsolicited Neighbor Advertisement (RFC 4861 §4.4, §7.2.6) as
    keepalived sends it (vrrp_ndisc.c) -> 86 bytes.

    Ethernet 33:33:00:00:00:01 from `mac`; IPv6 from `vip` to ff02::1, Hop
    Limit 255; Override flag, Router flag if `router`; target `vip`; a Target
    Link-Layer Address option with `mac`; ICMPv6 checksum (RFC 4443 §2.3).
    """
    mac, vip = _mac(mac), _packed(vip, 6, "vip")
    flags = proto.ND_NA_FLAG_OVERRIDE | (proto.ND_NA_FLAG_ROUTER if router else 0)
    icmp = bytearray(struct.pack("!BBHB3x", proto.ND_NEIGHBOR_ADVERT, 0, 0, flags) + vip
                     + struct.pack("!BB", proto.ND_OPT_TARGET_LINKADDR, 1) + mac)
    total = _sum16(icmp) + _pseudo6(vip, _ALL_NODES6, len(icmp), proto.IPPROTO_ICMPV6)
    struct.pack_into("!H", icmp, 2, ~_fold(total) & 0xFFFF)
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), proto.IPPROTO_ICMPV6, 255) + vip + _ALL_NODES6
    eth = b"\x33\x33\x00\x00\x00\x01" + mac + struct.pack("!H", proto.ETHERTYPE_IPV6)
    return eth + ip6 + bytes(icmp)
