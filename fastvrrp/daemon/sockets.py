"""The VRRP socket layer, in one import (issue 4 point 2).

    from fastvrrp.daemon import sockets
    rx = sockets.open_rx_v4("eth0")                        # 224.0.0.18, joined on eth0
    tx = sockets.open_tx_v4("eth0")                        # IP_HDRINCL sender
    for pkt in sockets.recv_batch(rx, 64): ...             # (data, ifindex, src, dst, hop_limit)
    sockets.send_v4(tx, packet, ident=sockets.next_ip_id(last_id))
    rx.fileno(), tx.fileno()                               # for the fast path's recvmmsg/sendmmsg

Files, one job each:
  sock_common  VrrpSocket (fd + what it is for + counters), SocketSetupError, option numbers
  sock_v4      open_rx_v4 / open_tx_v4: IPv4 socket configuration
  sock_v6      open_rx_v6 / open_tx_v6: IPv6 socket configuration
  sock_recv    recv_batch: the Python receive path with ancillary data
  sock_send    send_v4 / send_v6 / next_ip_id: the Python send path
  sock_pool    SocketPool: one socket per key, shared by instances
  sock_source  source_address: primary IPv4 / IPv6 link-local via fastvrrp.host.netlink

For the fast path (ext/fastpath.pyx), which takes the fds:
  receive (recvmmsg, MSG_DONTWAIT): every socket is already non-blocking and
    asks for its ancillary data.  IPv4: the datagram is the IP packet, one
    IP_PKTINFO cmsg (struct in_pktinfo: ipi_ifindex, ipi_spec_dst, ipi_addr)
    per message.  IPv6: the datagram is the VRRP message, IPV6_PKTINFO
    (struct in6_pktinfo: destination, ifindex) and IPV6_HOPLIMIT (int)
    cmsgs; the source is msg_name (sockaddr_in6).  Give each message 64
    bytes of control buffer and a 4096-byte data buffer (sock_recv sizes).
  send (sendmmsg, flags 0): IPv4: the packet with its header, msg_name =
    the header's destination; the socket already has IP_HDRINCL and, for
    multicast, SO_DONTROUTE.  IPv6: msg_name = the group or peer
    (sin6_scope_id = ifindex for link-local scope) and one IPV6_PKTINFO cmsg
    (source link-local, ifindex) per message.  Count EAGAIN/ENOBUFS as
    would_block and move on, as sock_send does.

Why receive and send are separate sockets (as in keepalived): a receive
socket is bound to its multicast group or unicast source so the kernel
delivers it only its own traffic, and has a large buffer; a send socket
needs IP_HDRINCL (IPv4), must never queue what it hears, and one per
interface serves every instance there, so a tick's adverts for an
interface leave in a single sendmmsg.
"""

from .sock_common import (
    DEFAULT_RCVBUF, MULTICAST, RX, TX, UNICAST, SocketSetupError, SocketStats, VrrpSocket,
    resolve_interface,
)
from .sock_pool import SocketPool
from .sock_recv import Received, recv_batch
from .sock_send import next_ip_id, send_v4, send_v6
from .sock_source import NoSourceAddress, source_address
from .sock_v4 import open_rx_v4, open_tx_v4
from .sock_v6 import open_rx_v6, open_tx_v6

__all__ = [
    "DEFAULT_RCVBUF", "MULTICAST", "UNICAST", "RX", "TX",
    "SocketSetupError", "SocketStats", "VrrpSocket", "resolve_interface",
    "SocketPool", "Received", "recv_batch", "next_ip_id", "send_v4", "send_v6",
    "NoSourceAddress", "source_address",
    "open_rx_v4", "open_tx_v4", "open_rx_v6", "open_tx_v6",
]
