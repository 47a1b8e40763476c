"""IPv6 VRRP sockets: open and configure (no I/O here).

As for IPv4 (sock_v4), receiving and sending use separate sockets, after
keepalived 2.2 (vrrp.c open_vrrp_read_socket / open_vrrp_send_socket):

receive, one per (interface, multicast group) or (interface, unicast source):
  raw IPv6 next header 112, non-blocking; IPV6_MULTICAST_ALL 0; a large
  SO_RCVBUF(FORCE); SO_BINDTODEVICE; multicast: IPV6_JOIN_GROUP by ifindex
  and bind() to the group (ff02::12, RFC 5798 §5.1.2.2) so unicast VRRP is
  not queued here; unicast: bind() to the source (a link-local one scoped to
  the interface); IPV6_RECVPKTINFO (receiving ifindex, destination) and
  IPV6_RECVHOPLIMIT (RFC 5798 §5.1.2.3 checks it: the kernel gives no IPv6
  header to a raw socket); IPV6_CHECKSUM 6, so the kernel verifies the
  checksum with the RFC 8200 pseudo-header and drops bad ones (§5.2.8).

send, one per (interface, multicast or unicast):
  the caller gives the VRRP message; the kernel builds the IPv6 header.
  IPV6_CHECKSUM 6 (the kernel computes the checksum); IPV6_TCLASS 0xc0;
  SO_BINDTODEVICE; never receives (BPF drop-all, SO_RCVBUF 0); multicast:
  IPV6_MULTICAST_IF by ifindex, IPV6_MULTICAST_LOOP 0, IPV6_MULTICAST_HOPS
  255 (§5.1.2.3); unicast: IPV6_UNICAST_HOPS.  The source address (the
  interface's link-local, §5.1.2.1) and the ifindex go with each packet as
  IPV6_PKTINFO (sock_send.send_v6, and the fast path's sendmmsg).
"""

import errno
import ipaddress
import socket
import struct

from fastvrrp import proto

from .sock_common import (
    DEFAULT_RCVBUF, IPV6_CHECKSUM_OFFSET, IPV6_MULTICAST_ALL, IPV6_UNICAST_HOPS, MULTICAST, RX,
    TX, UNICAST, Setup, VrrpSocket, check_hops, check_rcvbuf, resolve_interface, rx_target,
)


def _mreq6(group, ifindex):
    """struct ipv6_mreq <linux/in6.h>: group, ifindex."""
    return socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", ifindex)


def _multicast_all_off(s):
    """IPV6_MULTICAST_ALL 0 where the kernel has it (Linux >= 4.20), as keepalived does."""
    try:
        s.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
    except OSError as exc:
        if exc.errno != errno.ENOPROTOOPT:
            s.fail("IPV6_MULTICAST_ALL 0", exc)


def open_rx_v6(iface, group=proto.VRRP_GROUP_IPV6, *, source=None, rcvbuf=DEFAULT_RCVBUF):
    """A receive socket for VRRPv3 over IPv6 on `iface` (name or ifindex) -> VrrpSocket.

    Multicast: `group` (default ff02::12).  Unicast: group=None and source =
    the local address peers send to.  Raises ValueError/TypeError for bad
    arguments, SocketSetupError when the kernel refuses a step.
    """
    mode, target = rx_target(6, group, source)
    rcvbuf = check_rcvbuf(rcvbuf)
    ifindex, ifname = resolve_interface(iface)
    scoped = ipaddress.IPv6Address(target).is_link_local or (
        mode == MULTICAST and ipaddress.IPv6Address(target).packed[1] & 0x0F <= 2)
    with Setup(6, RX, ifname, ifindex) as s:
        _multicast_all_off(s)
        effective = s.receive_buffer(rcvbuf)
        s.bind_device(ifindex, ifname)
        joined = None
        if mode == MULTICAST:
            mreq = _mreq6(target, ifindex)
            s.opt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq, "IPV6_JOIN_GROUP %s" % target)
            joined = (socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq)
        vsock = VrrpSocket.receiver(s.sock, family=6, ifindex=ifindex, ifname=ifname,
                                    mode=mode, target=target, rcvbuf=effective, joined=joined)
        s.bind((target, 0, 0, ifindex if scoped else 0), "bind to %s" % target)
        s.opt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")
        s.opt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")
        s.opt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, IPV6_CHECKSUM_OFFSET, "IPV6_CHECKSUM 6")
    return vsock


def open_tx_v6(iface, *, multicast=True, unicast_hops=proto.VRRP_TTL):
    """A send socket for IPv6 VRRP messages on `iface` -> VrrpSocket.

    multicast=True: for adverts to ff02::12 (hop limit 255, loop off).
    False: for unicast peers, with hop limit `unicast_hops` (keepalived's
    `unicast_ttl`; None leaves the kernel's default, which is what
    keepalived 2.2.7 sends when `unicast_ttl` is not configured).
    """
    if not isinstance(multicast, bool):
        raise TypeError("multicast must be True or False, got %r" % (multicast,))
    if unicast_hops is not None:
        unicast_hops = check_hops(unicast_hops, "unicast_hops")
    ifindex, ifname = resolve_interface(iface)
    with Setup(6, TX, ifname, ifindex) as s:
        s.receive_nothing()
        _multicast_all_off(s)
        s.opt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, IPV6_CHECKSUM_OFFSET, "IPV6_CHECKSUM 6")
        s.bind_device(ifindex, ifname)
        if multicast:
            s.opt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, proto.VRRP_TTL,
                  "IPV6_MULTICAST_HOPS 255")
            s.opt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF")
            s.opt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP 0")
        elif unicast_hops is not None:
            s.opt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, unicast_hops,
                  "IPV6_UNICAST_HOPS %d" % unicast_hops)
        s.opt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, proto.VRRP_TOS, "IPV6_TCLASS 0xc0")
    return VrrpSocket(s.sock, family=6, ifindex=ifindex, ifname=ifname, role=TX,
                      mode=MULTICAST if multicast else UNICAST,
                      unicast_hops=None if multicast else unicast_hops)

