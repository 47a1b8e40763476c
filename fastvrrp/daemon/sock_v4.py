"""IPv4 VRRP sockets: open and configure (no I/O here).

Like keepalived 2.2 (vrrp.c open_vrrp_read_socket / open_vrrp_send_socket,
vrrp_if.c if_setsockopt_*), receiving and sending use separate sockets:

receive, one per (interface, multicast group) or (interface, unicast source):
  raw IP protocol 112, non-blocking; IP_MULTICAST_ALL 0 (only groups this
  socket joined); a large SO_RCVBUF(FORCE); SO_BINDTODEVICE; multicast:
  IP_ADD_MEMBERSHIP with ip_mreqn by ifindex and bind() to the group, so
  unicast VRRP to this host is not queued here; unicast: bind() to the
  source, so only adverts addressed to it arrive (and, as in keepalived, an
  unconfigured source fails with EADDRNOTAVAIL); IP_PKTINFO on, for the
  receiving ifindex and destination.  The kernel delivers the IP header
  too: TTL, source and destination come from it (RFC 5798 §5.1.1).

send, one per (interface, multicast or unicast):
  raw IP protocol 112 with IP_HDRINCL: the caller's packet carries the
  IPv4 header keepalived writes (TOS 0xc0, ID per advert, no DF, TTL 255 or
  unicast_ttl; RFC 5798 §5.1.1.3); the kernel fills in the header checksum
  and total length.  It never receives (BPF drop-all, SO_RCVBUF 0).
  SO_BINDTODEVICE; IP_TOS 0xc0; multicast: IP_MULTICAST_IF by ifindex,
  IP_MULTICAST_LOOP 0 (we must not hear ourselves) and SO_DONTROUTE (the
  socket-wide form of keepalived's MSG_DONTROUTE, so a sendmmsg batch needs
  no per-message flag).
"""

import socket
import struct

from fastvrrp import proto

from .sock_common import (
    DEFAULT_RCVBUF, IP_MULTICAST_ALL, IP_PKTINFO, MULTICAST, RX, TX, UNICAST, Setup, VrrpSocket,
    check_rcvbuf, resolve_interface, rx_target,
)

_ANY = socket.inet_aton("0.0.0.0")


def _mreqn(group, ifindex):
    """struct ip_mreqn <linux/in.h>: group, local address (any), ifindex."""
    return socket.inet_aton(group) + _ANY + struct.pack("=i", ifindex)


def open_rx_v4(iface, group=proto.VRRP_GROUP_IPV4, *, source=None, rcvbuf=DEFAULT_RCVBUF):
    """A receive socket for VRRP over IPv4 on `iface` (name or ifindex) -> VrrpSocket.

    Multicast (RFC 5798 §5.1.1.2): `group` (default 224.0.0.18).  Unicast
    (keepalived `unicast_peer`): group=None, source = the local address
    peers send to (`unicast_src_ip`, else the interface's primary address).
    Raises ValueError/TypeError for bad arguments, SocketSetupError when the
    kernel refuses a step.
    """
    mode, target = rx_target(4, group, source)
    rcvbuf = check_rcvbuf(rcvbuf)
    ifindex, ifname = resolve_interface(iface)
    with Setup(4, RX, ifname, ifindex) as s:
        s.opt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL 0")
        effective = s.receive_buffer(rcvbuf)
        s.bind_device(ifindex, ifname)
        joined = None
        if mode == MULTICAST:
            mreq = _mreqn(target, ifindex)
            s.opt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq,
                  "IP_ADD_MEMBERSHIP %s" % target)
            joined = (socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
        vsock = VrrpSocket.receiver(s.sock, family=4, ifindex=ifindex, ifname=ifname,
                                    mode=mode, target=target, rcvbuf=effective, joined=joined)
        s.bind((target, 0), "bind to %s" % target)
        s.opt(socket.IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO")
    return vsock


def open_tx_v4(iface, *, multicast=True):
    """A send socket for prebuilt IPv4 VRRP packets (IP_HDRINCL) on `iface` -> VrrpSocket.

    multicast=True: for adverts to 224.0.0.18 (loop off, link-local route
    only); False: for unicast peers (routed normally, still bound to `iface`).
    """
    if not isinstance(multicast, bool):
        raise TypeError("multicast must be True or False, got %r" % (multicast,))
    ifindex, ifname = resolve_interface(iface)
    with Setup(4, TX, ifname, ifindex) as s:
        s.receive_nothing()
        s.opt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL 0")
        s.opt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1, "IP_HDRINCL")
        s.bind_device(ifindex, ifname)
        if multicast:
            s.opt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _mreqn("0.0.0.0", ifindex),
                  "IP_MULTICAST_IF")
            s.opt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP 0")
            s.opt(socket.SOL_SOCKET, socket.SO_DONTROUTE, 1, "SO_DONTROUTE")
        s.opt(socket.IPPROTO_IP, socket.IP_TOS, proto.VRRP_TOS, "IP_TOS 0xc0")
    return VrrpSocket(s.sock, family=4, ifindex=ifindex, ifname=ifname, role=TX,
                      mode=MULTICAST if multicast else UNICAST)
