"""Cheap rtnetlink dumps for readiness checks on labs with thousands of links.

Only what the lab waits on is decoded, with `struct`: each link's flags, and
each interface's IPv6 link-local addresses.  (A full pyroute2 dump decodes
every attribute of every link: far too slow to poll at 1,000+ links.)
"""

import socket
import struct

from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK

from . import netns

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")    # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")     # family, prefixlen, flags, scope, index
IFA_ADDRESS = 1
IFA_FLAGS = 8


class DumpError(RuntimeError):
    """The kernel answered a dump with an error."""


def _dump(ns, msg_type, body, want_type):
    sock = netns.socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.settimeout(30)
        sock.bind((0, 0))
        length = _NLMSGHDR.size + len(body)
        sock.send(_NLMSGHDR.pack(length, msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        while True:
            data = sock.recv(1 << 20)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                mlen, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if mlen < _NLMSGHDR.size:
                    return
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", data, offset + 16)
                    if err:
                        raise DumpError("netlink dump in %s failed: errno %d" % (ns, -err))
                elif mtype == want_type:
                    yield data, offset + _NLMSGHDR.size, offset + mlen
                offset += (mlen + 3) & ~3
    finally:
        sock.close()


def link_flags(ns):
    """{ifindex: IFF_* flags} of every link in namespace `ns`."""
    body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    out = {}
    for data, start, _end in _dump(ns, RTM_GETLINK, body, RTM_NEWLINK):
        _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(data, start)
        out[index] = flags
    return out


def ipv6_addresses(ns):
    """{ifindex: [(address, flags), ...]} of every IPv6 address in namespace `ns`."""
    body = _IFADDRMSG.pack(socket.AF_INET6, 0, 0, 0, 0)
    out = {}
    for data, start, end in _dump(ns, RTM_GETADDR, body, RTM_NEWADDR):
        family, _plen, flags, _scope, index = _IFADDRMSG.unpack_from(data, start)
        if family != socket.AF_INET6:
            continue
        pos, addr = start + _IFADDRMSG.size, None
        while pos + 4 <= end:
            alen, atype = struct.unpack_from("=HH", data, pos)
            if alen < 4:
                break
            if atype == IFA_ADDRESS and alen == 20:
                addr = socket.inet_ntop(socket.AF_INET6, data[pos + 4:pos + 20])
            elif atype == IFA_FLAGS and alen == 8:
                (flags,) = struct.unpack_from("=I", data, pos + 4)
            pos += (alen + 3) & ~3
        if addr:
            out.setdefault(index, []).append((addr, flags))
    return out
