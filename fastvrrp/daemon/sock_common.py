"""What the VRRP sockets of both families share: the handle, errors, options.

A `VrrpSocket` wraps one non-blocking raw IP protocol 112 socket with what
it was opened for (family, interface, receive or send, multicast group or
unicast source) and its counters.  It is configuration plus a file
descriptor: the Python slow path (sock_recv / sock_send) and the compiled
fast path (recvmmsg / sendmmsg on `fileno()`) do the I/O.

Linux socket options that Python's socket module does not name are defined
here with their <linux/in.h>, <linux/in6.h> and <asm-generic/socket.h>
numbers.
"""

import array
import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass

from fastvrrp import proto

# Option numbers missing from Python's socket module (Linux UAPI headers).
IP_PKTINFO = 8                  # <linux/in.h>
IP_MULTICAST_ALL = 49           # <linux/in.h>, Linux >= 2.6.31
IPV6_MULTICAST_ALL = 29         # <linux/in6.h>, Linux >= 4.20
SO_ATTACH_FILTER = 26           # <asm-generic/socket.h>
SO_RCVBUFFORCE = 33             # <asm-generic/socket.h>, needs CAP_NET_ADMIN
SO_BINDTOIFINDEX = 62           # <asm-generic/socket.h>, Linux >= 5.0
IPV6_UNICAST_HOPS = getattr(socket, "IPV6_UNICAST_HOPS", 16)
_BPF_RET_K = 0x06                # BPF_RET | BPF_K <linux/bpf_common.h>
IPV6_CHECKSUM_OFFSET = 6        # the VRRP checksum field (RFC 5798 §5.1): the kernel
                                # computes it on send and verifies it on receive

# Receive buffer asked for with SO_RCVBUFFORCE; the kernel doubles it for its
# bookkeeping, so getsockopt(SO_RCVBUF) then reads 16 MiB.  Sized so a burst
# from thousands of masters at centisecond intervals waits out a slow Python
# transition instead of being dropped (see the sockets report for the
# per-advert cost measured on veth).
DEFAULT_RCVBUF = 8 << 20

RX, TX = "rx", "tx"
MULTICAST, UNICAST = "multicast", "unicast"

_WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)
_IPV4_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


class SocketSetupError(OSError):
    """A VRRP socket could not be opened or configured; the message says which step failed.

    `errno` is the kernel's error (ENODEV: no such interface, EADDRNOTAVAIL:
    the unicast source is not configured on the interface, EPERM: not root).
    """

    def __init__(self, code, message):
        super().__init__(code, message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass(eq=False)
class SocketStats:
    """Counters of one socket (plain ints: the slow path adds to them)."""

    received: int = 0           # datagrams handed to the caller
    truncated: int = 0          # dropped: larger than the receive buffer (MSG_TRUNC)
    ctrunc: int = 0             # dropped: ancillary data cut short (MSG_CTRUNC) or missing
    recv_errors: int = 0        # recvmsg failed with something other than EAGAIN
    sent: int = 0               # packets the kernel accepted
    would_block: int = 0        # send dropped: EAGAIN/ENOBUFS (the send buffer is full)
    send_errors: int = 0        # send failed otherwise (ENETDOWN, ENETUNREACH, ...)
    last_errno: int = 0         # errno of the last recv/send failure

    def as_dict(self):
        return dict(self.__dict__)


class VrrpSocket:
    """One raw VRRP socket: see the module docstring.  Close it with close()."""

    __slots__ = ("sock", "family", "ifindex", "ifname", "role", "mode", "group", "source",
                 "rcvbuf", "unicast_hops", "stats", "_joined")

    def __init__(self, sock, *, family, ifindex, ifname, role, mode, group=None, source=None,
                 rcvbuf=0, unicast_hops=None, joined=None):
        self.sock = sock
        self.family = family            # 4 or 6
        self.ifindex = ifindex
        self.ifname = ifname
        self.role = role                # RX or TX
        self.mode = mode                # MULTICAST or UNICAST
        self.group = group              # rx multicast: the joined group (str)
        self.source = source            # rx unicast: the bound local address (str)
        self.rcvbuf = rcvbuf            # rx: SO_RCVBUF as the kernel reports it
        self.unicast_hops = unicast_hops
        self.stats = SocketStats()
        self._joined = joined           # (level, drop option, mreq): left on close

    def fileno(self):
        """The file descriptor, for the fast path (-1 once closed)."""
        return self.sock.fileno()

    @property
    def closed(self):
        return self.sock.fileno() < 0

    def close(self):
        """Leave the multicast group (if joined) and close; safe to call twice."""
        if self.closed:
            return
        joined, self._joined = self._joined, None
        if joined is not None:
            level, option, mreq = joined
            try:
                self.sock.setsockopt(level, option, mreq)
            except OSError:
                pass  # the interface is gone: the kernel dropped the membership with it
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @classmethod
    def receiver(cls, sock, *, family, ifindex, ifname, mode, target, rcvbuf, joined):
        """A receive socket bound to multicast group or unicast source `target`."""
        return cls(sock, family=family, ifindex=ifindex, ifname=ifname, role=RX, mode=mode,
                   group=target if mode == MULTICAST else None,
                   source=target if mode == UNICAST else None, rcvbuf=rcvbuf, joined=joined)

    def __repr__(self):
        what = self.group or self.source or ""
        return "<VrrpSocket IPv%d %s %s %s(%d)%s%s>" % (
            self.family, self.role, self.mode, self.ifname, self.ifindex,
            " " + what if what else "", " closed" if self.closed else " fd=%d" % self.fileno())


def resolve_interface(iface):
    """An interface name or index -> (ifindex, ifname), in this thread's namespace."""
    if isinstance(iface, bool) or not isinstance(iface, (int, str)):
        raise TypeError("interface must be a name or an ifindex, got %r" % (iface,))
    try:
        if isinstance(iface, int):
            if iface <= 0:
                raise ValueError("ifindex must be positive, got %d" % iface)
            return iface, socket.if_indextoname(iface)
        if not iface or len(iface.encode()) > 15 or "/" in iface or "\0" in iface:
            raise ValueError("bad interface name %r" % (iface,))
        return socket.if_nametoindex(iface), iface
    except OSError as exc:
        raise SocketSetupError(errno.ENODEV, "no interface %r in this network namespace (%s)"
                               % (iface, exc.strerror or exc)) from None


def check_address(value, family, what):
    """`value` (str or ipaddress object) as a canonical address string of `family`."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        addr = value
    elif isinstance(value, str):
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("%s %r is not an IP address" % (what, value)) from None
    else:
        raise TypeError("%s must be an address string, got %r" % (what, value))
    if addr.version != family:
        raise ValueError("%s %s is not an IPv%d address" % (what, addr, family))
    return str(addr)


def rx_target(family, group, source):
    """What a receive socket binds to: (MULTICAST, group) or (UNICAST, source).

    Multicast: the VRRP group (RFC 5798 §5.1.1.2, §5.1.2.2) or another
    multicast address.  Unicast (keepalived `unicast_peer`): the local
    unicast address peers send to.
    """
    if group is not None and source is not None:
        raise ValueError("give a multicast group or a unicast source, not both")
    if source is not None:
        source = check_address(source, family, "unicast source")
        addr = ipaddress.ip_address(source)
        if addr.is_multicast or addr.is_unspecified or addr == _IPV4_BROADCAST:
            raise ValueError("unicast source %s must be a unicast address" % source)
        return UNICAST, source
    if group is None:
        raise ValueError("a receive socket needs a multicast group or a unicast source")
    group = check_address(group, family, "multicast group")
    if not ipaddress.ip_address(group).is_multicast:
        raise ValueError("multicast group %s is not a multicast address" % group)
    return MULTICAST, group


def check_hops(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        raise ValueError("%s must be an int in 1..255, got %r" % (what, value))
    return value


def check_rcvbuf(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= (1 << 30):
        raise ValueError("rcvbuf must be an int in 0..1 GiB (0: the kernel default), got %r"
                         % (value,))
    return value


class Setup:
    """Configure a fresh socket step by step; any failure closes it and names the step."""

    def __init__(self, family, role, ifname, ifindex):
        self.where = "IPv%d %s socket on %s (ifindex %d)" % (
            family, "receive" if role == RX else "send", ifname, ifindex)
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        try:
            self.sock = socket.socket(af, socket.SOCK_RAW | socket.SOCK_NONBLOCK
                                      | socket.SOCK_CLOEXEC, proto.IPPROTO_VRRP)
        except OSError as exc:
            raise SocketSetupError(exc.errno, "cannot open the VRRP %s: socket(SOCK_RAW, 112): "
                                   "%s%s" % (self.where, exc.strerror,
                                             " (needs root or CAP_NET_RAW)"
                                             if exc.errno == errno.EPERM else "")) from None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.sock.close()
        return False

    def fail(self, step, exc):
        raise SocketSetupError(exc.errno, "cannot set up the VRRP %s: %s: %s"
                               % (self.where, step, exc.strerror or exc)) from None

    def opt(self, level, option, value, step):
        try:
            self.sock.setsockopt(level, option, value)
        except OSError as exc:
            self.fail(step, exc)

    def bind_device(self, ifindex, ifname):
        """SO_BINDTODEVICE by index (no rename race), by name on kernels before 5.0."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_BINDTOIFINDEX, ifindex)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOPROTOOPT, errno.EINVAL):
                self.fail("SO_BINDTOIFINDEX %d" % ifindex, exc)
        self.opt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode(),
                 "SO_BINDTODEVICE %s" % ifname)

    def receive_buffer(self, size):
        """SO_RCVBUFFORCE (root may exceed net.core.rmem_max), else SO_RCVBUF; the result."""
        if size:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            except OSError as exc:
                if exc.errno != errno.EPERM:
                    self.fail("SO_RCVBUFFORCE %d" % size, exc)
                self.opt(socket.SOL_SOCKET, socket.SO_RCVBUF, size, "SO_RCVBUF %d" % size)
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def receive_nothing(self):
        """A send-only socket: a classic BPF "ret #0" drops every packet before it is
        queued, and the smallest receive buffer (keepalived: if_setsockopt_no_receive)."""
        self.opt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0, "SO_RCVBUF 0")
        # struct sock_filter in a buffer that lives through the call (the kernel copies
        # it); its address from array, not ctypes (issue 6: no ctypes import at start)
        insn = array.array("B", struct.pack("=HBBI", _BPF_RET_K, 0, 0, 0))
        prog = _SOCK_FPROG.pack(1, insn.buffer_info()[0])
        self.opt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog, "SO_ATTACH_FILTER (drop all)")

    def bind(self, address, step):
        try:
            self.sock.bind(address)
        except OSError as exc:
            hint = (" (the address is not configured on this interface)"
                    if exc.errno == errno.EADDRNOTAVAIL else "")
            raise SocketSetupError(exc.errno, "cannot set up the VRRP %s: %s: %s%s"
                                   % (self.where, step, exc.strerror or exc, hint)) from None


# struct sock_fprog <linux/filter.h>: unsigned short len; struct sock_filter *filter
# (native alignment: the pointer after its padding)
_SOCK_FPROG = struct.Struct("@HP")


def would_block(code):
    return code in _WOULD_BLOCK or code == errno.ENOBUFS
