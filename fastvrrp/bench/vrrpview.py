"""Decode captured VRRP adverts independently of the codec under test.

The lab records what a real keepalived puts on the wire; this module reads
those frames with nothing but `struct`, so a bug in fastvrrp's own codec
cannot hide behind itself.  It also works out which checksum form the sender
used by computing every candidate (RFC 5798 §5.2.8):

    "v2-message"          VRRPv2: over the VRRP message only (RFC 3768 §5.3.8)
    "pseudo-header"       VRRPv3/IPv4 with the IPv4 pseudo-header (keepalived's default)
    "message-only"        VRRPv3/IPv4 over the message only (RFC 9568's reading)
    "pseudo-header-224.0.0.18"  VRRPv3/IPv4 unicast, pseudo-header with the group
                          address instead of the peer (keepalived <= 1.3.6)
    "ipv6-pseudo-header"  VRRPv3/IPv6 with the RFC 8200 §8.1 pseudo-header
"""

import ipaddress
import socket
import struct
from dataclasses import dataclass

IPPROTO_VRRP = 112
VRRP_MCAST_V4 = "224.0.0.18"  # RFC 5798 §5.1.1.2
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
VRRP_TYPE_ADVERTISEMENT = 1
AUTH_TYPES = {0: "none", 1: "PASS", 2: "AH"}


class AdvertError(ValueError):
    """The frame is not a well-formed VRRP advertisement; the message says why."""


def inet_checksum(data):
    """RFC 1071 one's-complement sum of 16-bit words, complemented."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def checksum_forms(family, version, src, dst, vrrp):
    """{form name: True if the message's checksum is valid in that form}."""
    length = len(vrrp)
    if version == 2:
        return {"v2-message": inet_checksum(vrrp) == 0}
    if family == "ipv4":
        def with_dst(addr):
            pseudo = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, addr)
                      + struct.pack("!BBH", 0, IPPROTO_VRRP, length))
            return inet_checksum(pseudo + vrrp) == 0
        forms = {"pseudo-header": with_dst(dst), "message-only": inet_checksum(vrrp) == 0}
        if dst != VRRP_MCAST_V4:
            # unicast: keepalived <= 1.3.6 put the group address in the pseudo-header
            forms["pseudo-header-224.0.0.18"] = with_dst(VRRP_MCAST_V4)
        return forms
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
              + struct.pack("!I3xB", length, IPPROTO_VRRP))
    return {"ipv6-pseudo-header": inet_checksum(pseudo + vrrp) == 0}


@dataclass(frozen=True)
class Advert:
    """One VRRP advertisement as captured, with its IP header fields."""

    family: str                 # "ipv4" / "ipv6"
    ip_packet: bytes            # the whole IP packet (IPv6: header + payload)
    vrrp: bytes                 # the VRRP message alone
    src: str
    dst: str
    ttl_or_hlim: int
    tos_or_tclass: int
    ip_id: int                  # IPv4 only, else None
    df: bool                    # IPv4 only, else None
    version: int
    type: int
    vrid: int
    priority: int
    count: int
    auth_type: int              # VRRPv2 only, else None
    adver_int_raw: int          # v2: seconds; v3: centiseconds (12 bits)
    rsvd: int                   # v3: the 4 reserved bits
    checksum: int
    addresses: tuple
    auth_data: bytes            # v2: the 8 authentication bytes, else None
    checksum_valid: dict        # form -> bool
    src_mac: str = None
    dst_mac: str = None
    ts: float = None

    @property
    def adver_int_cs(self):
        """The advertisement interval in centiseconds, either version."""
        return self.adver_int_raw * 100 if self.version == 2 else self.adver_int_raw

    @property
    def checksum_form(self):
        """The one form in which the checksum is valid, or None."""
        valid = [form for form, ok in self.checksum_valid.items() if ok]
        return valid[0] if len(valid) == 1 else None

    @property
    def auth_pass(self):
        """The v2 PASS text (NUL padding removed), or None."""
        if self.version != 2 or self.auth_type != 1 or self.auth_data is None:
            return None
        return self.auth_data.rstrip(b"\0").decode("latin-1")


def decode_ip(packet, src_mac=None, dst_mac=None, ts=None):
    """Decode an IPv4 or IPv6 packet carrying a VRRP advert; raise AdvertError if not."""
    if not packet:
        raise AdvertError("empty packet")
    ipver = packet[0] >> 4
    if ipver == 4:
        if len(packet) < 20:
            raise AdvertError("IPv4 header truncated (%d bytes)" % len(packet))
        ihl = (packet[0] & 0x0F) * 4
        tos, total, ip_id, frag, ttl, proto = struct.unpack_from("!xBHHHBB", packet, 0)
        if ihl < 20 or total < ihl or total > len(packet):
            raise AdvertError("bad IPv4 lengths: IHL %d, total %d, captured %d"
                              % (ihl, total, len(packet)))
        if proto != IPPROTO_VRRP:
            raise AdvertError("IPv4 protocol %d is not VRRP (112)" % proto)
        packet = bytes(packet[:total])
        src = socket.inet_ntop(socket.AF_INET, packet[12:16])
        dst = socket.inet_ntop(socket.AF_INET, packet[16:20])
        return _decode_vrrp("ipv4", packet, packet[ihl:], src, dst, ttl, tos, ip_id,
                            bool(frag & 0x4000), src_mac, dst_mac, ts)
    if ipver == 6:
        if len(packet) < 40:
            raise AdvertError("IPv6 header truncated (%d bytes)" % len(packet))
        first, plen, nxt, hlim = struct.unpack_from("!IHBB", packet, 0)
        if nxt != IPPROTO_VRRP:
            raise AdvertError("IPv6 next header %d is not VRRP (112)" % nxt)
        if 40 + plen > len(packet):
            raise AdvertError("IPv6 payload length %d exceeds the %d bytes captured"
                              % (plen, len(packet) - 40))
        packet = bytes(packet[:40 + plen])
        src = socket.inet_ntop(socket.AF_INET6, packet[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, packet[24:40])
        return _decode_vrrp("ipv6", packet, packet[40:], src, dst, hlim, (first >> 20) & 0xFF,
                            None, None, src_mac, dst_mac, ts)
    raise AdvertError("IP version %d" % ipver)


def decode_frame(frame):
    """Decode a pcap Frame (Ethernet or SLL) carrying a VRRP advert."""
    macs = (frame.eth_src, frame.eth_dst) if frame.linktype == 1 else (None, None)
    if frame.ethertype not in (ETH_P_IP, ETH_P_IPV6):
        raise AdvertError("ethertype 0x%04x is not IP" % frame.ethertype)
    return decode_ip(frame.payload, macs[0], macs[1], frame.ts)


def _decode_vrrp(family, packet, vrrp, src, dst, ttl, tos, ip_id, df, src_mac, dst_mac, ts):
    # RFC 5798 §5.1 / RFC 3768 §5.1: version, type, VRID, priority, count, ...
    if len(vrrp) < 8:
        raise AdvertError("VRRP message truncated (%d bytes)" % len(vrrp))
    vt, vrid, priority, count, word, checksum = struct.unpack_from("!BBBBHH", vrrp, 0)
    version, vtype = vt >> 4, vt & 0x0F
    alen = 4 if family == "ipv4" else 16
    if version == 2:
        if family != "ipv4":
            raise AdvertError("VRRPv2 over IPv6")
        auth_type, adver, rsvd = word >> 8, word & 0xFF, 0
        want = 8 + 4 * count + 8
    elif version == 3:
        auth_type, adver, rsvd = None, word & 0x0FFF, word >> 12
        want = 8 + alen * count
    else:
        raise AdvertError("VRRP version %d" % version)
    if len(vrrp) != want:
        raise AdvertError("VRRPv%d message of %d bytes, %d addresses need %d"
                          % (version, len(vrrp), count, want))
    fam = socket.AF_INET if family == "ipv4" else socket.AF_INET6
    addresses = tuple(str(ipaddress.ip_address(socket.inet_ntop(fam, vrrp[8 + i * alen:8 + (i + 1) * alen])))
                      for i in range(count))
    auth_data = bytes(vrrp[8 + 4 * count:]) if version == 2 else None
    return Advert(family=family, ip_packet=bytes(packet), vrrp=bytes(vrrp), src=src, dst=dst,
                  ttl_or_hlim=ttl, tos_or_tclass=tos, ip_id=ip_id, df=df, version=version,
                  type=vtype, vrid=vrid, priority=priority, count=count, auth_type=auth_type,
                  adver_int_raw=adver, rsvd=rsvd, checksum=checksum, addresses=addresses,
                  auth_data=auth_data,
                  checksum_valid=checksum_forms(family, version, src, dst, bytes(vrrp)),
                  src_mac=src_mac, dst_mac=dst_mac, ts=ts)
