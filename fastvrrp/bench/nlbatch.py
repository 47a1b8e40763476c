"""Batched rtnetlink requests: many link/address changes, one round trip each chunk.

Messages are encoded with pyroute2's message classes (ifinfmsg, ifaddrmsg),
queued, then written to a NETLINK_ROUTE socket opened inside the target
namespace, many per sendmsg.  Every message asks for an ACK; all ACKs are read
back and every failure is reported with the description given when it was
queued and the kernel's extended-ACK message when there is one:

    batch = RtnlBatch("fv1a2b3c-sw")
    batch.bridge("br0", index=100)
    batch.veth("a0", index=101, peer="eth0", peer_netns_fd=fd, peer_index=100, master=100)
    batch.link_set(101, up=True)
    batch.commit()            # raises NetlinkBatchError listing each failure

Explicit interface indexes (a fresh namespace has only lo and perhaps a few
fallback tunnel devices) let later messages refer to links created earlier in
the same batch without a lookup.
"""

import errno
import os
import socket
import struct

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD, ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg

from . import netns

SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG = 1
_NLMSGHDR = struct.Struct("=IHHII")
_CHUNK_BYTES = 32768
_CHUNK_MSGS = 128  # each ACK costs ~1 KiB of receive buffer
_RCVBUF = 4 << 20
_REPORT_MAX = 8
_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
_CHANGE = NLM_F_REQUEST | NLM_F_ACK


class NetlinkBatchError(RuntimeError):
    """One or more queued requests failed; `.failures` lists (description, errno, text)."""

    def __init__(self, ns, failures):
        self.failures = failures
        lines = ["%s: %s%s" % (what, os.strerror(err), " (%s)" % text if text else "")
                 for what, err, text in failures[:_REPORT_MAX]]
        if len(failures) > _REPORT_MAX:
            lines.append("... and %d more" % (len(failures) - _REPORT_MAX))
        super().__init__("netlink requests failed in %s:\n  %s" % (ns, "\n  ".join(lines)))


def _mac(value):
    if value is None:
        return None
    parts = value.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise ValueError("bad MAC address %r (want xx:xx:xx:xx:xx:xx)" % (value,))
    int(value.replace(":", ""), 16)
    return value.lower()


def _ifname(name):
    if (not isinstance(name, str) or not 0 < len(name.encode()) <= 15
            or any(c in name for c in "/: \t\n") or name in (".", "..")):
        raise ValueError("bad interface name %r: 1-15 bytes, no '/', ':' or whitespace" % (name,))
    return name


class RtnlBatch:
    """Queue rtnetlink requests for one namespace, then commit them together."""

    def __init__(self, ns):
        self.ns = netns.check_name(ns)
        self._queue = []  # (encoded message, description)

    def __len__(self):
        return len(self._queue)

    def _push(self, msg, msg_type, flags, what):
        msg["header"]["type"] = msg_type
        msg["header"]["flags"] = flags
        msg.encode()
        self._queue.append((bytes(msg.data), what))

    @staticmethod
    def _link_header(msg, index, up):
        msg["index"] = index
        msg["flags"] = IFF_UP if up else 0
        msg["change"] = IFF_UP if up is not None else 0

    def link_set(self, index, *, up=None, master=None, what=None):
        """Change an existing link: administrative state and/or bridge master."""
        msg = ifinfmsg()
        self._link_header(msg, index, up)
        attrs = []
        if master is not None:
            attrs.append(("IFLA_MASTER", master))
        msg["attrs"] = attrs
        self._push(msg, RTM_NEWLINK, _CHANGE, what or "set link #%d" % index)

    def bridge(self, name, *, index=0, up=True, mac=None, mcast_snooping=False):
        """Create a bridge.  Multicast snooping is off so every VRRP group floods."""
        msg = ifinfmsg()
        self._link_header(msg, index, up)
        attrs = [("IFLA_IFNAME", _ifname(name))]
        if mac:
            attrs.append(("IFLA_ADDRESS", _mac(mac)))
        data = [("IFLA_BR_MCAST_SNOOPING", 1 if mcast_snooping else 0),
                ("IFLA_BR_STP_STATE", 0)]
        attrs.append(("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge"),
                                                  ("IFLA_INFO_DATA", {"attrs": data})]}))
        msg["attrs"] = attrs
        self._push(msg, RTM_NEWLINK, _CREATE, "create bridge %s" % name)

    def veth(self, name, *, peer, peer_netns_fd=None, index=0, peer_index=0,
             mac=None, peer_mac=None, master=None):
        """Create a veth pair here, both ends down; the peer goes to `peer_netns_fd`.

        A veth end cannot be set up in its creating request (the kernel opens
        the peer before the pair is linked: ENOTCONN), so bring the ends up
        with link_set() afterwards, each in its own namespace's batch.
        A nonzero `peer_index` is honoured only together with a nonzero `index`.
        """
        peer_attrs = [("IFLA_IFNAME", _ifname(peer))]
        if peer_mac:
            peer_attrs.append(("IFLA_ADDRESS", _mac(peer_mac)))
        if peer_netns_fd is not None:
            peer_attrs.append(("IFLA_NET_NS_FD", peer_netns_fd))
        peer_msg = {"index": peer_index, "flags": 0, "change": 0, "attrs": peer_attrs}
        msg = ifinfmsg()
        self._link_header(msg, index, None)
        attrs = [("IFLA_IFNAME", _ifname(name))]
        if mac:
            attrs.append(("IFLA_ADDRESS", _mac(mac)))
        if master is not None:
            attrs.append(("IFLA_MASTER", master))
        attrs.append(("IFLA_LINKINFO", {"attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer_msg)]})]}))
        msg["attrs"] = attrs
        self._push(msg, RTM_NEWLINK, _CREATE, "create veth %s (peer %s)" % (name, peer))

    def address(self, index, address, prefixlen, *, nodad=True, what=None):
        """Add an IPv4 or IPv6 address; IPv6 gets IFA_F_NODAD unless nodad=False."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        socket.inet_pton(family, address)  # a clear error for a bad address
        limit = 128 if family == socket.AF_INET6 else 32
        if not 0 <= prefixlen <= limit:
            raise ValueError("bad prefix length /%s for %s" % (prefixlen, address))
        msg = ifaddrmsg()
        msg["family"] = family
        msg["prefixlen"] = prefixlen
        msg["index"] = index
        msg["flags"] = IFA_F_NODAD if (nodad and family == socket.AF_INET6) else 0
        msg["attrs"] = [("IFA_LOCAL", address), ("IFA_ADDRESS", address)]
        self._push(msg, RTM_NEWADDR, _CREATE,
                   what or "add address %s/%d to link #%d" % (address, prefixlen, index))

    def commit(self, *, timeout=30.0):
        """Send everything queued; raise NetlinkBatchError if any request failed."""
        if not self._queue:
            return
        queue, self._queue = self._queue, []
        sock = netns.socket_in(self.ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            sock.settimeout(timeout)
            sock.bind((0, 0))
            failures = []
            start = 0
            while start < len(queue):
                end, size = start, 0
                while end < len(queue) and (end == start or (
                        size + len(queue[end][0]) <= _CHUNK_BYTES and end - start < _CHUNK_MSGS)):
                    size += len(queue[end][0])
                    end += 1
                buf = bytearray()
                for seq in range(start, end):
                    data = bytearray(queue[seq][0])
                    struct.pack_into("=I", data, 8, seq + 1)  # nlmsg_seq
                    buf += data
                sock.send(bytes(buf))
                for seq, err, text in _read_acks(sock, start + 1, end):
                    failures.append((queue[seq - 1][1], err, text))
                start = end
        except socket.timeout:
            raise NetlinkBatchError(self.ns, [("waiting for netlink ACKs", errno.ETIMEDOUT, None)]) from None
        except OSError as exc:
            raise NetlinkBatchError(self.ns, [("netlink socket", exc.errno or errno.EIO, str(exc))]) from exc
        finally:
            sock.close()
        if failures:
            raise NetlinkBatchError(self.ns, failures)


def _read_acks(sock, first, last):
    """Read ACKs for sequence numbers first..last; yield (seq, errno, text) for failures."""
    pending = set(range(first, last + 1))
    while pending:
        data = sock.recv(1 << 20)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, mtype, flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                break
            if mtype == NLMSG_ERROR and seq in pending:
                pending.discard(seq)
                (error,) = struct.unpack_from("=i", data, offset + 16)
                if error:
                    yield seq, -error, _ext_ack_text(data, offset, length, flags)
            offset += (length + 3) & ~3


def _ext_ack_text(data, offset, length, flags):
    if not flags & NLM_F_ACK_TLVS:
        return None
    # nlmsghdr, error, then the original message: its header only when capped
    orig_len = 16 if flags & NLM_F_CAPPED else struct.unpack_from("=I", data, offset + 20)[0]
    pos = offset + 16 + 4 + ((orig_len + 3) & ~3)
    end = offset + length
    while pos + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, pos)
        if alen < 4:
            break
        if atype == NLMSGERR_ATTR_MSG:
            return bytes(data[pos + 4:pos + alen]).rstrip(b"\0").decode("utf-8", "replace")
        pos += (alen + 3) & ~3
    return None
