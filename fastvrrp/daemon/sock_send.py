"""The Python send path: one advert per call, never blocking.

    ident = next_ip_id(ident)                              # per instance, per advert
    send_v4(tx4, codec.build_advert(..., ip_header=True, src=primary, dst=peer_or_group),
            ident=ident)
    send_v6(tx6, codec.build_advert(..., family=6, src=link_local), link_local)

IPv4 (IP_HDRINCL): the packet is the whole IP packet the codec built, with
the header keepalived writes; it goes to the destination in that header.
`ident` overwrites the Identification field: keepalived numbers adverts 1,
2, 3, ... per instance and skips 0, because with ID 0 the kernel would pick
one (vrrp.c vrrp_update_pkt); the kernel then recomputes the header
checksum and total length.  For unicast peers build one packet per peer
(the VRRPv3 pseudo-header holds the peer: RFC 5798 §5.2.8) and send each
with the same ident, as keepalived does.

IPv6: the payload is the VRRP message; the kernel builds the IPv6 header
(traffic class 0xc0 and hop limit from the socket) and the checksum
(IPV6_CHECKSUM).  IPV6_PKTINFO carries the source, the interface's
link-local (RFC 5798 §5.1.2.1), and the socket's ifindex.  `hop_limit`
adds an IPV6_HOPLIMIT for this packet only (keepalived's `unicast_ttl`).

A full send buffer (EAGAIN, ENOBUFS) is counted in stats.would_block and the
advert dropped: the next interval sends a fresh one.  Other send errors
(ENETDOWN when the link went down, ENETUNREACH, ...) are counted in
stats.send_errors with stats.last_errno.  Both return False; nothing raises
for what the kernel says.  A malformed packet or a wrong socket is a
programming error and raises ValueError/TypeError.
"""

import ipaddress
import socket
import struct

from fastvrrp import proto

from .sock_common import MULTICAST, TX, VrrpSocket, check_hops, would_block

_IN6_PKTINFO = struct.Struct("=16sI")
_INT = struct.Struct("=i")
_U16 = struct.Struct("!H")


def next_ip_id(ident):
    """The IPv4 Identification after `ident`: 1..65535, wrapping to 1, never 0."""
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= 0xFFFF:
        raise ValueError("ident must be an int in 0..65535, got %r" % (ident,))
    return ident % 0xFFFF + 1


def _tx(vsock, family):
    if not isinstance(vsock, VrrpSocket):
        raise TypeError("expected a VrrpSocket, got %s" % type(vsock).__name__)
    if vsock.role != TX or vsock.family != family:
        raise ValueError("%r is not an IPv%d send socket" % (vsock, family))
    if vsock.closed:
        raise ValueError("%r is closed" % (vsock,))


def _bytes_view(data, what):
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError("%s must be bytes-like, got %s" % (what, type(data).__name__)) from None
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    return view


def _check_mode(vsock, dst_is_multicast, dst):
    if dst_is_multicast != (vsock.mode == MULTICAST):
        raise ValueError("%s is a %s destination but %r sends %s" % (
            dst, "multicast" if dst_is_multicast else "unicast", vsock, vsock.mode))


def _sent(vsock, call, *args):
    try:
        call(*args)
    except OSError as exc:
        if would_block(exc.errno):
            vsock.stats.would_block += 1
        else:
            vsock.stats.send_errors += 1
        vsock.stats.last_errno = exc.errno or 0
        return False
    vsock.stats.sent += 1
    return True


def send_v4(vsock, packet, *, ident=None):
    """Send one prebuilt IPv4 VRRP packet (header included) -> True if the kernel took it."""
    _tx(vsock, 4)
    view = _bytes_view(packet, "packet")
    n = len(view)
    if n < proto.IPV4_HEADER_LEN or view[0] >> 4 != 4 or (view[0] & 0x0F) < 5 \
            or (view[0] & 0x0F) * 4 > n:
        raise ValueError("packet is not an IPv4 packet with its header (%d bytes)" % n)
    total_length = _U16.unpack_from(view, 2)[0]
    if total_length != n:
        raise ValueError("packet Total Length %d != its %d bytes" % (total_length, n))
    if view[9] not in (proto.IPPROTO_VRRP, proto.IPPROTO_AH):
        raise ValueError("packet protocol %d is not VRRP (112)" % view[9])
    dst = socket.inet_ntop(socket.AF_INET, view[16:20])
    _check_mode(vsock, 224 <= view[16] <= 239, dst)
    if ident is not None:
        if isinstance(ident, bool) or not isinstance(ident, int) or not 1 <= ident <= 0xFFFF:
            raise ValueError("ident must be an int in 1..65535, got %r" % (ident,))
        packet = bytearray(view)
        _U16.pack_into(packet, 4, ident)           # RFC 791 §3.1 Identification
    return _sent(vsock, vsock.sock.sendto, packet, (dst, 0))


def _ipv6_packed(addr, what):
    if isinstance(addr, (bytes, bytearray)) and len(addr) == 16:
        return bytes(addr)
    if isinstance(addr, ipaddress.IPv6Address):
        return addr.packed
    if isinstance(addr, str):
        try:
            return socket.inet_pton(socket.AF_INET6, addr)
        except OSError:
            pass
    raise ValueError("%s %r is not an IPv6 address" % (what, addr))


def send_v6(vsock, payload, src, dst=proto.VRRP_GROUP_IPV6, *, hop_limit=None):
    """Send one VRRP message over IPv6 from `src` to `dst` -> True if the kernel took it."""
    _tx(vsock, 6)
    view = _bytes_view(payload, "payload")
    if not proto.VRRP_HEADER_LEN <= len(view) <= 0xFFFF:
        raise ValueError("payload of %d bytes is not a VRRP message" % len(view))
    src16, dst16 = _ipv6_packed(src, "src"), _ipv6_packed(dst, "dst")
    if src16[0] == 0xFF or src16 == bytes(16):
        raise ValueError("src %s must be a unicast address" % socket.inet_ntop(
            socket.AF_INET6, src16))
    dst_text = socket.inet_ntop(socket.AF_INET6, dst16)
    _check_mode(vsock, dst16[0] == 0xFF, dst_text)
    scoped = dst16[:2] == b"\xfe\x80" or (dst16[0] == 0xFF and dst16[1] & 0x0F <= 2)
    anc = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _IN6_PKTINFO.pack(src16, vsock.ifindex))]
    if hop_limit is not None:
        anc.append((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT,
                    _INT.pack(check_hops(hop_limit, "hop_limit"))))
    return _sent(vsock, vsock.sock.sendmsg, [view], anc, 0,
                 (dst_text, 0, 0, vsock.ifindex if scoped else 0))
