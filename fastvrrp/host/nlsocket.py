"""The rtnetlink socket of fastvrrp.host: `IPRoute`.

What a daemon start needs before its first VIP - link and address dumps, a
link lookup, the link/address notification subscription - runs on plain
AF_NETLINK sockets here, decoded by this module (`_decode`): a start imports
no pyroute2 socket machinery (pyroute2.iproute.linux alone costs ~35 ms of
imports, issue 6).  Every other request (`link("set", ...)`, `addr("add",
...)`, `nlm_request`, `rule("dump")`, ...) goes to pyroute2's AsyncIPRoute,
created on first use, in the same network namespace.

The decoded messages read like pyroute2's (`msg["index"]`,
`msg.get("IFLA_IFNAME")`, `msg["header"]["type"]`, nested IFLA_LINKINFO,
IFLA_OPERSTATE and IFLA_MACVLAN_MODE as names), for the attributes
fastvrrp.host.objects and fastvrrp.host.vmac read; errors are pyroute2's
NetlinkError (a kernel error) or OSError (the socket).

pyroute2's AsyncIPRoute receives through `loop.create_datagram_endpoint`,
which uvloop refuses for AF_NETLINK sockets ("cannot open a UDP handle,
invalid family 16"; pyroute2 issue #1335, uvloop issue #676): the
AsyncIPRoute made here (and firewall's NFTables) receive through
`ReaderEndpoint` instead, a reader callback on the socket's fd
(`loop.add_reader`, which every loop supports) that hands each datagram to
pyroute2's own protocol object, exactly as the datagram transport would.
"""

import asyncio
import errno
import os
import socket
import struct
from collections import deque

# asyncio's datagram transport reads up to 256 KiB per datagram; a netlink
# dump datagram is at most a few pages, so this never truncates.
RECV_SIZE = 256 * 1024
# Datagrams handled per readiness callback before yielding to the loop.
BURST = 64

# linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x2, 0x4, 0x300
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
SO_RCVBUFFORCE = 33
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100
RAW_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR    # what bind() serves
_NLMSGHDR = struct.Struct("=IHHII")       # len, type, flags, seq, pid
_NLMSGERR = struct.Struct("=i")
_IFINFOMSG = struct.Struct("=BxHiII")     # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")      # family, prefixlen, flags, scope, index
_RTATTR = struct.Struct("=HH")
_U8, _U32 = struct.Struct("=B"), struct.Struct("=I")
_CACHEINFO = struct.Struct("=IIII")       # ifa_preferred, ifa_valid, cstamp, tstamp
NLA_TYPE_MASK = 0x3FFF                    # without NLA_F_NESTED / NLA_F_NET_BYTEORDER

_OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
_MACVLAN_MODES = {0: "none", 1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source"}


# ----------------------------------------------------------------- decoding

def _align(n):
    return (n + 3) & ~3


def _attrs(data, pos, end):
    """(type, payload) of the rtattrs in data[pos:end]; a malformed one ends the walk."""
    while pos + 4 <= end:
        rta_len, rta_type = _RTATTR.unpack_from(data, pos)
        if rta_len < 4 or pos + rta_len > end:
            return
        yield rta_type & NLA_TYPE_MASK, data[pos + 4:pos + rta_len]
        pos += _align(rta_len)


def _asciiz(raw):
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _l2addr(raw):
    return ":".join("%02x" % b for b in raw)


def _u8(raw):
    return raw[0] if raw else 0


def _u32(raw):
    return _U32.unpack_from(raw)[0] if len(raw) >= 4 else 0


def _linkinfo(raw):
    info = Message()
    kind = None
    data = None
    for atype, payload in _attrs(raw, 0, len(raw)):
        if atype == 1:                                  # IFLA_INFO_KIND
            kind = info["IFLA_INFO_KIND"] = _asciiz(payload)
        elif atype == 2:                                # IFLA_INFO_DATA
            data = payload
    if data is not None and kind in ("macvlan", "macvtap"):
        nested = Message()
        for atype, payload in _attrs(data, 0, len(data)):
            if atype == 1:                              # IFLA_MACVLAN_MODE
                mode = _u32(payload)
                nested["IFLA_MACVLAN_MODE"] = _MACVLAN_MODES.get(mode, mode)
        info["IFLA_INFO_DATA"] = nested
    return info


def _af_spec(raw):
    """IFLA_AF_SPEC: AF_INET6's IFLA_INET6_ADDR_GEN_MODE (what VMAC set-up changes)."""
    spec = Message()
    for family, payload in _attrs(raw, 0, len(raw)):
        if family == socket.AF_INET6:
            inet6 = spec["AF_INET6"] = Message()
            for atype, value in _attrs(payload, 0, len(payload)):
                if atype == 8:                          # IFLA_INET6_ADDR_GEN_MODE
                    inet6["IFLA_INET6_ADDR_GEN_MODE"] = _u8(value)
    return spec


_LINK_ATTRS = {
    1: ("IFLA_ADDRESS", _l2addr), 3: ("IFLA_IFNAME", _asciiz), 4: ("IFLA_MTU", _u32),
    5: ("IFLA_LINK", _u32),
    16: ("IFLA_OPERSTATE", lambda raw: _OPERSTATES[raw[0]] if raw and raw[0] < 7 else "UNKNOWN"),
    18: ("IFLA_LINKINFO", _linkinfo), 20: ("IFLA_IFALIAS", _asciiz), 26: ("IFLA_AF_SPEC", _af_spec),
    33: ("IFLA_CARRIER", _u8),
}


def _ip(family):
    def decode(raw):
        return socket.inet_ntop(family, raw)
    return decode


_ADDR_COMMON = {
    3: ("IFA_LABEL", _asciiz), 8: ("IFA_FLAGS", _u32), 11: ("IFA_PROTO", _u8),
    6: ("IFA_CACHEINFO", lambda raw: dict(zip(("ifa_preferred", "ifa_valid", "cstamp", "tstamp"),
                                              _CACHEINFO.unpack_from(raw)))),
}
_ADDR_ATTRS = {     # per family: the attributes above and its addresses
    socket.AF_INET: {**_ADDR_COMMON,
                     1: ("IFA_ADDRESS", _ip(socket.AF_INET)), 2: ("IFA_LOCAL", _ip(socket.AF_INET)),
                     4: ("IFA_BROADCAST", _ip(socket.AF_INET))},
    socket.AF_INET6: {**_ADDR_COMMON,
                      1: ("IFA_ADDRESS", _ip(socket.AF_INET6)),
                      2: ("IFA_LOCAL", _ip(socket.AF_INET6))},
}


class Message(dict):
    """A decoded rtnetlink message: the fixed header's fields and the decoded
    attributes by name, as pyroute2 names them; `header` holds the netlink
    header (type, flags, sequence_number, pid, length)."""

    def get_attr(self, name, default=None):
        return self.get(name, default)


def _decode(data, pos, length, mtype, flags, seq, pid):
    """The Message of the RTM_*LINK / RTM_*ADDR message at data[pos:pos+length],
    or None for another type or a truncated one."""
    header = {"length": length, "type": mtype, "flags": flags, "sequence_number": seq,
              "pid": pid, "error": None}
    body = pos + _NLMSGHDR.size
    end = pos + length
    if mtype in (RTM_NEWLINK, RTM_DELLINK):
        if body + _IFINFOMSG.size > end:
            return None
        family, ifi_type, index, ifi_flags, change = _IFINFOMSG.unpack_from(data, body)
        msg = Message(family=family, ifi_type=ifi_type, index=index, flags=ifi_flags,
                      change=change, header=header)
        table = _LINK_ATTRS
        start = body + _IFINFOMSG.size
    elif mtype in (RTM_NEWADDR, RTM_DELADDR):
        if body + _IFADDRMSG.size > end:
            return None
        family, prefixlen, ifa_flags, scope, index = _IFADDRMSG.unpack_from(data, body)
        msg = Message(family=family, prefixlen=prefixlen, flags=ifa_flags, scope=scope,
                      index=index, header=header)
        table = _ADDR_ATTRS.get(family, _ADDR_COMMON)
        start = body + _IFADDRMSG.size
    else:
        return None
    for atype, payload in _attrs(data, start, end):
        entry = table.get(atype)
        if entry is not None:
            try:
                msg[entry[0]] = entry[1](payload)
            except (ValueError, struct.error, IndexError):
                pass            # a malformed attribute is left out, as unknown ones are
    return msg


def _messages(data):
    """(type, flags, seq, pid, pos, length) of each netlink message in a datagram."""
    pos, size = 0, len(data)
    while pos + _NLMSGHDR.size <= size:
        length, mtype, flags, seq, pid = _NLMSGHDR.unpack_from(data, pos)
        if length < _NLMSGHDR.size or pos + length > size:
            return
        yield mtype, flags, seq, pid, pos, length
        pos += _align(length)


def decode(data):
    """The link and address messages of one rtnetlink datagram, as Messages (other
    types, and what a truncated or malformed message leaves, are skipped)."""
    out = []
    for t, f, s, pid, pos, length in _messages(data):
        msg = _decode(data, pos, length, t, f, s, pid)
        if msg is not None:
            out.append(msg)
    return out


def _kernel_error(code):
    from pyroute2.netlink.exceptions import NetlinkError
    return NetlinkError(code, os.strerror(code))


# ------------------------------------------------------------------ sockets

def _open_socket(netns=None, groups=0, rcvbuf=None):
    """A non-blocking NETLINK_ROUTE socket bound to `groups`, in `netns` (a name)
    or the calling thread's namespace."""
    if netns is not None:
        from pyroute2 import netns as nsmod
        nsmod.pushns(netns)
        try:
            return _open_socket(None, groups, rcvbuf)
        finally:
            nsmod.popns()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK
                         | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
    try:
        if rcvbuf:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((0, groups))
    except BaseException:
        sock.close()
        raise
    return sock


class ReaderTransport:
    """The minimum of an asyncio transport pyroute2 uses: abort() and close()."""

    def __init__(self, loop, sock, protocol):
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self.closed = False
        sock.setblocking(False)
        loop.add_reader(self._fd, self._readable)

    def _readable(self):
        for _ in range(BURST):
            try:
                data, addr = self._sock.recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # ENOBUFS: the kernel dropped messages (the receive buffer
                # overflowed).  pyroute2 marks the socket failed; the owner
                # must reopen and resynchronise.
                self.close()
                self._protocol.error_received(exc)
                return
            self._protocol.datagram_received(data, addr)

    def abort(self):
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self._loop.remove_reader(self._fd)
            except (OSError, ValueError, RuntimeError):
                pass  # loop already closed, or fd already gone


class ReaderEndpoint:
    """Mixin for a pyroute2 async socket class: receive through ReaderTransport
    (see the module docstring); used by pyroute2's AsyncIPRoute here and by
    firewall's NFTables."""

    async def setup_endpoint(self):
        if getattr(self.local, "transport", None) is not None:
            return
        from pyroute2.netlink.core import CoreDatagramProtocol
        protocol = CoreDatagramProtocol(self.connection_lost, self.enqueue,
                                        self._error_event, self.status)
        transport = ReaderTransport(self.event_loop, self.socket, protocol)
        protocol.connection_made(transport)
        self.local.transport, self.local.protocol = transport, protocol


_PYROUTE2_CLASS = None


def pyroute2_class():
    """pyroute2's AsyncIPRoute receiving through ReaderTransport (imported on first use)."""
    global _PYROUTE2_CLASS
    if _PYROUTE2_CLASS is None:
        # not the package: its __init__ loads all of pyroute2
        from pyroute2.iproute.linux import AsyncIPRoute

        class PyrouteIPRoute(ReaderEndpoint, AsyncIPRoute):
            """AsyncIPRoute receiving through ReaderTransport."""

        _PYROUTE2_CLASS = PyrouteIPRoute
    return _PYROUTE2_CLASS


class IPRoute:
    """See the module docstring.  `netns`: a named network namespace (None: the
    calling thread's); `rcvbuf`: the receive buffer of the subscription socket.
    Use from one event loop; close() when done."""

    def __init__(self, netns=None, rcvbuf=None, **kwargs):
        self.netns = netns
        self._rcvbuf = rcvbuf
        self._kwargs = kwargs
        self._full = None              # pyroute2's AsyncIPRoute, for everything else
        self._req = None               # the request socket (dumps, gets)
        self._seq = 0
        self._sub = None               # the subscription socket (bind)
        self._loop = None
        self._queue = deque()          # datagrams (or an OSError) for get()
        self._wakeup = None
        self._delegated = False        # bound through pyroute2 (other groups)
        self.closed = False

    # -- pyroute2 for the rest ------------------------------------------------------
    def _pyroute2(self):
        if self._full is None:
            if self.closed:
                raise OSError(errno.EBADF, "the IPRoute socket is closed")
            kwargs = dict(self._kwargs)
            if self.netns is not None:
                kwargs["netns"] = self.netns
            if self._rcvbuf is not None:
                kwargs["rcvbuf"] = self._rcvbuf
            self._full = pyroute2_class()(**kwargs)
        return self._full

    def __getattr__(self, name):
        if name.startswith("_"):        # our own, not set yet: never pyroute2's
            raise AttributeError(name)
        return getattr(self._pyroute2(), name)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        return False

    # -- requests -------------------------------------------------------------------
    async def link(self, command, **kwargs):
        """"dump", and "get" by index= or ifname=, here; the rest is pyroute2's."""
        if command == "dump" and not kwargs:
            return self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP,
                                 _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
        if command == "get" and len(kwargs) == 1:
            if isinstance(kwargs.get("index"), int) and not isinstance(kwargs["index"], bool):
                return self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK,
                                     _IFINFOMSG.pack(socket.AF_UNSPEC, 0, kwargs["index"], 0, 0))
            if isinstance(kwargs.get("ifname"), str):
                name = kwargs["ifname"].encode() + b"\0"
                attr = _RTATTR.pack(4 + len(name), 3) + name          # IFLA_IFNAME
                attr += b"\0" * (_align(len(attr)) - len(attr))
                return self._request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK,
                                     _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + attr)
        return await self._pyroute2().link(command, **kwargs)

    async def addr(self, command, **kwargs):
        """"dump" (optionally family=) here; the rest is pyroute2's."""
        family = kwargs.get("family", socket.AF_UNSPEC)
        if command == "dump" and set(kwargs) <= {"family"} and family in (
                socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6):
            return self._request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP,
                                 _IFADDRMSG.pack(family, 0, 0, 0, 0))
        return await self._pyroute2().addr(command, **kwargs)

    def _request(self, mtype, flags, body):
        """Send one request and read its whole answer -> [Message]; NetlinkError
        for the kernel's error, OSError for the socket's (the socket is then
        dropped).  rtnetlink answers a dump or a get inside the system calls,
        so nothing here waits on the loop."""
        if self.closed:
            raise OSError(errno.EBADF, "the IPRoute socket is closed")
        if self._req is None:
            self._req = _open_socket(self.netns)
            self._req.setblocking(True)
        sock = self._req
        self._seq = self._seq % 0x7FFFFFFF + 1
        seq = self._seq
        try:
            sock.settimeout(0)
            while True:                                  # leftovers of an abandoned request
                try:
                    sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    break
            sock.settimeout(5.0)
            sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), mtype, flags, seq, 0) + body)
            out = []
            while True:
                data = sock.recv(RECV_SIZE)
                for t, f, s, pid, pos, length in _messages(data):
                    if s != seq:
                        continue
                    if t == NLMSG_DONE:
                        return out
                    if t == NLMSG_ERROR:
                        code = -_NLMSGERR.unpack_from(data, pos + _NLMSGHDR.size)[0]
                        if code:
                            raise _kernel_error(code)
                        return out                       # the ack of a get
                    msg = _decode(data, pos, length, t, f, s, pid)
                    if msg is not None:
                        out.append(msg)
                    if not f & NLM_F_MULTI and not flags & NLM_F_ACK:
                        return out
        except OSError:
            self._drop_request_socket()
            raise

    def _drop_request_socket(self):
        sock, self._req = self._req, None
        if sock is not None:
            sock.close()

    # -- notifications --------------------------------------------------------------
    async def bind(self, groups=0, **kwargs):
        """Subscribe to the rtnetlink multicast `groups` (RTMGRP_* bits): links and
        addresses here, any other group (neighbours, routes, ...) through pyroute2."""
        if self.closed:
            raise OSError(errno.EBADF, "the IPRoute socket is closed")
        if kwargs or groups & ~RAW_GROUPS or self._delegated:
            self._delegated = True
            return await self._pyroute2().bind(groups=groups, **kwargs)
        if self._sub is not None:
            raise RuntimeError("IPRoute is already bound")
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._sub = _open_socket(self.netns, groups, self._rcvbuf)
        self._loop.add_reader(self._sub.fileno(), self._readable)

    def _readable(self):
        for _ in range(BURST):
            try:
                data, addr = self._sub.recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:      # ENOBUFS: notifications were lost
                self._drop_subscription()
                self._queue.append(exc)
                self._wakeup.set()
                return
            self.enqueue(data, addr)

    def enqueue(self, data, addr):
        """One datagram of notifications for get() (subclasses may filter it)."""
        self._queue.append(data)
        if self._wakeup is not None:
            self._wakeup.set()

    async def get(self, *args, **kwargs):
        """The notifications of the next datagram, decoded (waits for one);
        raises the socket's OSError (ENOBUFS: some were lost)."""
        if self._delegated or args or kwargs:
            async for msg in self._pyroute2().get(*args, **kwargs):
                yield msg
            return
        if self._wakeup is None:
            raise RuntimeError("IPRoute.get() needs bind() first")
        while not self._queue:
            if self.closed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()
        data = self._queue.popleft()
        if isinstance(data, BaseException):
            raise data
        for t, f, s, pid, pos, length in _messages(data):
            if t == NLMSG_ERROR:
                code = -_NLMSGERR.unpack_from(data, pos + _NLMSGHDR.size)[0]
                if code:
                    raise _kernel_error(code)
                continue
            msg = _decode(data, pos, length, t, f, s, pid)
            if msg is not None:
                yield msg

    def _drop_subscription(self):
        sock, self._sub = self._sub, None
        if sock is not None:
            try:
                self._loop.remove_reader(sock.fileno())
            except (OSError, ValueError, RuntimeError):
                pass            # the loop is closed already
            sock.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self._drop_request_socket()
        self._drop_subscription()
        if self._wakeup is not None:
            self._wakeup.set()          # a get() waiting ends
        full, self._full = self._full, None
        if full is not None:
            full.close()


def error_code(exc):
    """The errno of a NetlinkError/OSError (ECOMM when it has none)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code:
        return abs(code)
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code:
        return abs(code)
    return errno.ECOMM
