"""The Python receive path (the slow path, and the engine before the fast path exists).

    for pkt in recv_batch(rx_sock, 64):      # never blocks; [] when nothing is queued
        if rx_sock.family == 4:
            advert = codec.parse_ipv4(pkt.data, check_ttl=not unicast)
        else:
            advert = codec.parse_ipv6(pkt.data, pkt.src, pkt.dst, pkt.hop_limit, not unicast)

Each `Received` is (data, ifindex, src, dst, hop_limit):
  IPv4: data is the whole IP packet as the raw socket delivers it (header
        included, what parse_ipv4 takes); src/dst/hop_limit (the TTL) are read
        from that header; ifindex comes from IP_PKTINFO.
  IPv6: data is the VRRP message (the kernel keeps the IPv6 header); src is
        the sender's address, dst and ifindex come from IPV6_PKTINFO and
        hop_limit from IPV6_HOPLIMIT (RFC 5798 §5.1.2.3 needs it: 255).
Addresses are canonical strings (link-locals without a %scope).

Nothing raises for what arrives: an oversized datagram (MSG_TRUNC), cut
ancillary data (MSG_CTRUNC), a datagram without the ancillary data the socket
asked for, and a failing recvmsg are each counted in the socket's stats and
skipped (a failure also ends the batch).  Bad arguments raise.
"""

import socket
import struct
from collections import namedtuple

from .sock_common import IP_PKTINFO, RX, VrrpSocket

Received = namedtuple("Received", "data ifindex src dst hop_limit")

# Largest valid VRRP datagram: IPv6 8 + 255*16 = 4088 bytes of message;
# IPv4 60 (header with options) + 8 + 255*4 + 8.  Anything longer is not VRRP.
RECV_BUFSIZE = 4096
ANC_BUFSIZE = socket.CMSG_SPACE(20) + socket.CMSG_SPACE(4) + 64
MAX_BATCH = 4096

_IN_PKTINFO = struct.Struct("=i4s4s")        # ipi_ifindex, ipi_spec_dst, ipi_addr
_IN6_PKTINFO = struct.Struct("=16si")        # ipi6_addr, ipi6_ifindex
_INT = struct.Struct("=i")
_FLAGS = socket.MSG_DONTWAIT


def _check(vsock, max_count):
    if not isinstance(vsock, VrrpSocket):
        raise TypeError("recv_batch() takes a VrrpSocket, got %s" % type(vsock).__name__)
    if vsock.role != RX:
        raise ValueError("%r is a send socket" % (vsock,))
    if vsock.closed:
        raise ValueError("%r is closed" % (vsock,))
    if isinstance(max_count, bool) or not isinstance(max_count, int) \
            or not 1 <= max_count <= MAX_BATCH:
        raise ValueError("max must be an int in 1..%d, got %r" % (MAX_BATCH, max_count))


def _ipv4(vsock, data, anc, addr):
    ifindex, dst = vsock.ifindex, None
    for level, kind, cdata in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(cdata) >= _IN_PKTINFO.size:
            index, _spec, header_dst = _IN_PKTINFO.unpack_from(cdata)
            ifindex, dst = index, socket.inet_ntop(socket.AF_INET, header_dst)
    if dst is None:
        return None
    ttl = data[8] if len(data) >= 20 else 0      # RFC 791 §3.1 Time to Live
    return Received(data, ifindex, addr[0], dst, ttl)


def _ipv6(vsock, data, anc, addr):
    ifindex = dst = hop_limit = None
    for level, kind, cdata in anc:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == socket.IPV6_PKTINFO and len(cdata) >= _IN6_PKTINFO.size:
            raw, ifindex = _IN6_PKTINFO.unpack_from(cdata)
            dst = socket.inet_ntop(socket.AF_INET6, raw)
        elif kind == socket.IPV6_HOPLIMIT and len(cdata) >= _INT.size:
            hop_limit = _INT.unpack_from(cdata)[0]
    if dst is None or hop_limit is None:
        return None
    return Received(data, ifindex, addr[0].partition("%")[0], dst, hop_limit)


def recv_batch(vsock, max=64):  # noqa: A002 - the name the engine and the brief use
    """Up to `max` datagrams queued on receive socket `vsock` -> [Received]; never blocks."""
    _check(vsock, max)
    decode = _ipv4 if vsock.family == 4 else _ipv6
    recvmsg, stats, out = vsock.sock.recvmsg, vsock.stats, []
    while len(out) < max:
        try:
            data, anc, flags, addr = recvmsg(RECV_BUFSIZE, ANC_BUFSIZE, _FLAGS)
        except BlockingIOError:
            break
        except OSError as exc:
            stats.recv_errors += 1
            stats.last_errno = exc.errno or 0
            break
        if flags & socket.MSG_TRUNC:
            stats.truncated += 1
            continue
        if flags & socket.MSG_CTRUNC:
            stats.ctrunc += 1
            continue
        rec = decode(vsock, data, anc, addr)
        if rec is None:
            stats.ctrunc += 1       # the kernel always sends what we asked for: count, skip
            continue
        out.append(rec)
    stats.received += len(out)
    return out
