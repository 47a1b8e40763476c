"""Packet crafting for the codec tests, written independently of the codec.

Plain struct code straight from the RFC layouts, so that the tests never check
the codec against itself.  (No tests here; the other test_packet_* modules
import these helpers.)
"""

import ipaddress
import struct

GROUP4 = "224.0.0.18"
GROUP6 = "ff02::12"


def inet_sum(data):
    """RFC 1071: ones'-complement sum of 16-bit big-endian words, folded."""
    data = bytes(data)
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def inet_csum(data):
    return ~inet_sum(data) & 0xFFFF


def packed(addr):
    return ipaddress.ip_address(addr).packed


def pseudo4(src, dst, length, proto=112):
    return packed(src) + packed(dst) + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, length, next_header=112):
    return packed(src) + packed(dst) + struct.pack("!I3xB", length, next_header)


def vrrp(version=3, type_=1, vrid=1, priority=100, count=None, addrs=("10.0.0.1",),
         adver_int=100, auth_type=0, auth=None, rsvd=0, csum="auto", form=None,
         src="10.0.0.2", dst=GROUP4, raw_addrs=None):
    """A VRRP message.  form: "message", "pseudo4", "pseudo6" or None (the
    version's default: v2 message, v3 pseudo-header of the addresses' family).
    csum="auto" computes it; an int is written as is."""
    body = raw_addrs if raw_addrs is not None else b"".join(packed(a) for a in addrs)
    if count is None:
        count = len(addrs)
    if version == 2:
        word = (auth_type << 8) | adver_int
        if auth is None:
            auth = bytes(8)
    else:
        word = (rsvd << 12) | adver_int
        auth = auth or b""
    msg = struct.pack("!BBBBHH", (version << 4) | type_, vrid, priority, count, word, 0)
    msg += body + auth
    if csum == "auto":
        if form is None:
            form = "message" if version == 2 else (
                "pseudo6" if ipaddress.ip_address(src).version == 6 else "pseudo4")
        if form == "message":
            covered = msg
        elif form == "pseudo4":
            covered = pseudo4(src, dst, len(msg)) + msg
        else:
            covered = pseudo6(src, dst, len(msg)) + msg
        csum = inet_csum(covered)
    return msg[:6] + struct.pack("!H", csum) + msg[8:]


def ipv4(payload, src="10.0.0.2", dst=GROUP4, ttl=255, proto=112, tos=0xC0, ident=1,
         flags_frag=0, version=4, options=b"", total_length=None, header_csum="auto"):
    """An IPv4 packet as a raw socket delivers it (RFC 791 §3.1)."""
    ihl = (20 + len(options)) // 4
    if total_length is None:
        total_length = 20 + len(options) + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, tos, total_length, ident,
                         flags_frag, ttl, proto, 0, packed(src), packed(dst)) + options
    if header_csum == "auto":
        header_csum = inet_csum(header)
    return header[:10] + struct.pack("!H", header_csum) + header[12:] + payload


def ipv6_header(payload_len, src, dst, hlim=255, next_header=112, tclass=0xC0):
    return struct.pack("!IHBB", (6 << 28) | (tclass << 20), payload_len, next_header,
                       hlim) + packed(src) + packed(dst)


def carp(vhid=1, advskew=0, advbase=1, counter=0x0102030405060708, md=b"\x11" * 20):
    """An OpenBSD CARP advert (sys/netinet/ip_carp.h struct carp_header), 36 bytes:
    version 2 / type 1, vhid, advskew, authlen 7, demote, advbase, cksum,
    64-bit counter, 20-byte HMAC-SHA1."""
    hdr = struct.pack("!BBBBBBHQ", 0x21, vhid, advskew, 7, 0, advbase, 0, counter) + md
    return hdr[:6] + struct.pack("!H", inet_csum(hdr)) + hdr[8:]


def ethernet(dst_mac, src_mac, ethertype, payload):
    return bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) \
        + struct.pack("!H", ethertype) + payload
