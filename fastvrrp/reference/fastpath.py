"""Pure-Python twin of fastvrrp._fastpath: `SlowPath`, the same API with no settling.

Every received packet and every timer expiry goes to the escalation callback,
so every event reaches the Python state machine: this is "the machine alone"
for the differential test and the baseline `fastvrrp bench` compares the
compiled fast path with.  It keeps the same slot table, counters, timer
semantics (the reference wheel; an expiry handled within `late_slack_ns` of
its deadline is handled at its deadline) and send queue, and does real I/O
with Python's socket module (recvmsg / sendmsg, one system call per packet).

The documentation of the API is ext/fastpath.pyx's; differences: no
`_bench_*` helpers, and every drop is escalated (the compiled twin escalates
only the first of each reason per state or master).
"""

from __future__ import annotations

import collections
import errno
import ipaddress
import os
import socket
import struct
import time

from fastvrrp import proto
from fastvrrp.reference import packet as codec
from fastvrrp.reference.wheel import Wheel

TIMER_MASTER_DOWN = 0           # RFC 5798 §6.2 Master_Down_Timer
TIMER_ADVER = 1                 # RFC 5798 §6.2 Adver_Timer
TIMER_KINDS = 8
ESCALATE_ADVERT = 1
ESCALATE_DROP = 2
ESCALATE_TIMER = 3
DROP_INTERVAL = 18
DROP_NOT_PEER = 19
DROP_DESTINATION = 20
DROP_UNKNOWN_VRID = 21
DROP_NO_PKTINFO = 22
DROP_TRUNCATED = 23
REASONS = proto.DROP_REASONS + ("interval", "not_peer", "destination", "unknown_vrid",
                                "no_pktinfo", "truncated")
_SOCKET_REASONS = frozenset({proto.DROP_TOO_SHORT, proto.DROP_IP_HEADER, proto.DROP_IP_LENGTH,
                             proto.DROP_NOT_VRRP, proto.DROP_AH, proto.DROP_CARP})
_STATE_BACKUP = 1
_STATE_MASTER = 2
_GEN_MASK = 0xFFFFFF
_MAX_SLOTS = 1 << 20
_MAX_SOCKETS = 4096
_RX_BUF = 4160
_GROUP = {4: bytes([224, 0, 0, 18]), 6: bytes.fromhex("ff020000000000000000000000000012")}
_IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
_IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)

Sent = collections.namedtuple("Sent", "queued_ns socket slot dst packet")


def _int_arg(value, name, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an integer, not %r" % (name, value))
    if not lo <= value <= hi:
        raise ValueError("%s must be in %d..%d, not %d" % (name, lo, hi, value))
    return value


def _packed(addr, family, name):
    size = 4 if family == 4 else 16
    if isinstance(addr, (bytes, bytearray, memoryview)):
        raw = bytes(addr)
        if len(raw) != size:
            raise ValueError("%s must be %d packed bytes for IPv%d, not %d bytes"
                             % (name, size, family, len(raw)))
        return raw
    if isinstance(addr, str):
        try:
            addr = ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError("%s %r is not an IP address" % (name, addr)) from None
    if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        raise TypeError("%s must be str, bytes or an ipaddress object, not %r" % (name, addr))
    if addr.version != family:
        raise ValueError("%s %s is not IPv%d" % (name, addr, family))
    return addr.packed


def _packed_list(addresses, family, name):
    if isinstance(addresses, (bytes, bytearray, memoryview)):
        raw = bytes(addresses)
        if len(raw) % (4 if family == 4 else 16):
            raise ValueError("%s: %d bytes is not a whole number of IPv%d addresses"
                             % (name, len(raw), family))
        return raw
    if isinstance(addresses, str):
        raise TypeError("%s must be a sequence of addresses, not a string" % name)
    return b"".join(_packed(a, family, name) for a in addresses)


def _is_multicast(addr):
    return (addr[0] & 0xF0) == 0xE0 if len(addr) == 4 else addr[0] == 0xFF


class _Socket:
    __slots__ = ("fd", "sock", "family", "ifindex", "check_ttl", "receive", "dontroute",
                 "vrids", "queue", "counters", "drops", "last_errno")

    def __init__(self, fd, family, ifindex, check_ttl, receive, dontroute):
        self.fd = fd
        # A duplicate: socket.socket(fileno=) owns (and closes) the fd it gets.
        self.sock = (socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6,
                                   socket.SOCK_RAW, proto.IPPROTO_VRRP, fileno=os.dup(fd))
                     if fd >= 0 else None)
        self.family = family
        self.ifindex = ifindex
        self.check_ttl = check_ttl
        self.receive = receive
        self.dontroute = dontroute
        self.vrids = {}
        self.queue = []
        self.counters = dict.fromkeys(("rx_batches", "rx_packets", "rx_errors", "tx_batches",
                                       "tx_packets", "tx_errors"), 0)
        self.drops = [0] * len(REASONS)
        self.last_errno = 0


class _Slot:
    __slots__ = ("family", "version", "vrid", "rx_sock", "tx_sock", "src", "addrs", "naddr",
                 "advert_int_cs", "auth_type", "auth_pass", "peers", "check_peers", "group",
                 "csum_form", "ttl", "skip_addr", "accept_lower", "state", "effective",
                 "master", "master_prio", "learned_int", "master_down_ns", "rx_settle",
                 "tx_settle", "delay_until_ns", "handle", "deadline", "gen", "ip_id",
                 "counters", "drops")

    def __init__(self):
        self.state = 0
        self.effective = 100
        self.master = None
        self.master_prio = 0
        self.master_down_ns = 0
        self.rx_settle = False
        self.tx_settle = False
        self.delay_until_ns = -1
        self.handle = [0] * TIMER_KINDS
        self.deadline = [-1] * TIMER_KINDS
        self.gen = [0] * TIMER_KINDS
        self.ip_id = 0
        self.counters = dict.fromkeys(("advert_rcvd", "advert_sent", "packets_sent", "rx_settled",
                                       "tx_settled", "rx_ignored", "tx_errors", "escalations"), 0)
        self.drops = [0] * len(REASONS)

    @property
    def alen(self):
        return 4 if self.family == 4 else 16


class SlowPath:
    """The fast path's API, every event escalated.  See the module docstring."""

    def __init__(self, tick_ns=1_000_000, capacity=1024, *, capture=False, late_slack_ns=None,
                 rx_batch=64, drain_cap=4096):
        self._wheel = Wheel(tick_ns, capacity)
        self._rx_batch = _int_arg(rx_batch, "rx_batch", 1, 1024)
        self._drain_cap = _int_arg(drain_cap, "drain_cap", 1, 1 << 20)
        self._late_slack = _int_arg(self._wheel.tick_ns if late_slack_ns is None else late_slack_ns,
                                    "late_slack_ns", 0, 10 ** 12)
        self._capture = bool(capture)
        self._captured = []
        self._escalate = None
        self._pending_exc = None
        self._now = 0
        self._busy = False
        self._slots = {}
        self._socks = {}
        self._g = dict.fromkeys(("python_escalations", "escalation_errors", "rx_packets",
                                 "rx_batches", "rx_wakeups", "rx_settled", "tx_packets",
                                 "tx_batches", "tx_settled", "tx_errors", "timer_expiries",
                                 "stale_expiries", "ticks"), 0)

    # ------------------------------------------------------------ checking

    def _slot(self, index):
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("slot index must be an integer, not %r" % (index,))
        try:
            return self._slots[index]
        except KeyError:
            raise KeyError("no slot %r is configured" % (index,)) from None

    def _sock(self, sid):
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise TypeError("socket id must be an integer, not %r" % (sid,))
        try:
            return self._socks[sid]
        except KeyError:
            raise KeyError("no socket %r is registered" % (sid,)) from None

    def _not_busy(self, what):
        if self._busy:
            raise RuntimeError("%s is not allowed while the fast path is dispatching "
                               "(from an escalation callback)" % what)

    def _now_arg(self, now_ns):
        now = time.monotonic_ns() if now_ns is None else _int_arg(now_ns, "now_ns", 0, (1 << 63) - 1)
        self._now = max(now, self._now)
        return self._now

    # ------------------------------------------------------------ set-up

    def set_escalation(self, callback):
        if callback is not None and not callable(callback):
            raise TypeError("the escalation callback must be callable, not %r" % (callback,))
        self._escalate = callback

    def add_socket(self, fd, family, *, ifindex=0, check_ttl=True, receive=True, dontroute=False):
        self._not_busy("add_socket")
        fd = _int_arg(fd, "fd", -1, 0x7FFFFFFF)
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6, not %r" % (family,))
        ifindex = _int_arg(ifindex, "ifindex", 0, 0x7FFFFFFF)
        if fd >= 0 and any(s.fd == fd for s in self._socks.values()):
            raise ValueError("fd %d is already registered" % fd)
        sid = next(i for i in range(_MAX_SOCKETS + 1) if i not in self._socks)
        if sid >= _MAX_SOCKETS:
            raise ValueError("at most %d sockets" % _MAX_SOCKETS)
        self._socks[sid] = _Socket(fd, family, ifindex, bool(check_ttl), bool(receive),
                                   bool(dontroute))
        return sid

    def remove_socket(self, sid):
        sock = self._sock(sid)
        self._not_busy("remove_socket")
        for index, slot in self._slots.items():
            if sid in (slot.rx_sock, slot.tx_sock):
                raise ValueError("socket %d is still used by slot %d" % (sid, index))
        if sock.sock is not None:
            sock.sock.close()
        del self._socks[sid]

    def configure_slot(self, index, *, family, version, vrid, rx_socket, tx_socket, src,
                       addresses, advert_int_cs, auth_type=0, auth_pass=b"", peers=(),
                       check_peers=False, group=None, checksum_form=None, ttl=255,
                       skip_check_adv_addr=False, accept_lower=False):
        self._not_busy("configure_slot")
        index = _int_arg(index, "slot index", 0, _MAX_SLOTS - 1)
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6, not %r" % (family,))
        if version not in (2, 3):
            raise ValueError("version must be 2 or 3, not %r" % (version,))
        if version == 2 and family == 6:
            raise ValueError("VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
        vrid = _int_arg(vrid, "vrid", 1, 255)
        if version == 2:
            advert_int_cs = _int_arg(advert_int_cs, "advert_int_cs", 100, 25500)
            if advert_int_cs % 100:
                raise ValueError("a VRRPv2 advert_int must be whole seconds (RFC 3768 §5.3.7)")
        else:
            advert_int_cs = _int_arg(advert_int_cs, "advert_int_cs", 1, 4095)
        if auth_type not in (0, 1):
            raise ValueError("auth_type must be 0 (none) or 1 (PASS), not %r" % (auth_type,))
        if version == 3 and auth_type:
            raise ValueError("VRRPv3 has no authentication (RFC 5798 §9)")
        if isinstance(auth_pass, str):
            auth_pass = auth_pass.encode()
        if not isinstance(auth_pass, (bytes, bytearray)) or len(auth_pass) > 8:
            raise ValueError("auth_pass must be at most 8 bytes")
        if auth_type == 0 and any(auth_pass):
            raise ValueError("auth_pass given without auth_type PASS")
        ttl = _int_arg(ttl, "ttl", 1, 255)
        rx_socket = _int_arg(rx_socket, "rx_socket", -1, _MAX_SOCKETS)
        tx_socket = _int_arg(tx_socket, "tx_socket", -1, _MAX_SOCKETS)
        for sid in (rx_socket, tx_socket):
            if sid >= 0 and self._sock(sid).family != family:
                raise ValueError("socket %d is not an IPv%d socket" % (sid, family))
        if rx_socket >= 0:
            other = self._socks[rx_socket].vrids.get(vrid, index)
            if other != index:
                raise ValueError("VRID %d on socket %d already belongs to slot %d"
                                 % (vrid, rx_socket, other))
        b_src = _packed(src, family, "src")
        b_addrs = _packed_list(addresses, family, "addresses")
        alen = 4 if family == 4 else 16
        naddr = len(b_addrs) // alen
        if not 1 <= naddr <= 255:
            raise ValueError("addresses must hold 1..255 addresses (RFC 5798 §5.2.5), not %d" % naddr)
        b_peers = [_packed(p, family, "peer") for p in peers]
        if len(b_peers) > 1024:
            raise ValueError("at most 1024 unicast peers")
        if check_peers and not b_peers:
            raise ValueError("check_peers needs unicast peers")
        b_group = _packed(group, family, "group") if group is not None else _GROUP[family]
        if not _is_multicast(b_group):
            raise ValueError("group must be a multicast address")
        if version == 2:
            form = proto.CSUM_V2_MESSAGE
        elif family == 6:
            form = proto.CSUM_IPV6_PSEUDO_HEADER
        else:
            form = proto.CSUM_PSEUDO_HEADER if checksum_form is None else checksum_form
            if form not in (proto.CSUM_PSEUDO_HEADER, proto.CSUM_MESSAGE_ONLY,
                            proto.CSUM_PSEUDO_HEADER_GROUP):
                raise ValueError("checksum_form %r is not valid for VRRPv3 over IPv4" % (form,))
        if checksum_form is not None and form != checksum_form:
            raise ValueError("checksum_form %r is not valid for VRRPv%d over IPv%d"
                             % (checksum_form, version, family))
        slot = self._slots.get(index)
        if slot is None:
            slot = _Slot()
        elif slot.rx_sock >= 0 and self._socks[slot.rx_sock].vrids.get(slot.vrid) == index:
            del self._socks[slot.rx_sock].vrids[slot.vrid]
        slot.family, slot.version, slot.vrid = family, version, vrid
        slot.rx_sock, slot.tx_sock = rx_socket, tx_socket
        slot.src, slot.addrs, slot.naddr = b_src, b_addrs, naddr
        slot.advert_int_cs = advert_int_cs
        slot.learned_int = advert_int_cs // 100 if version == 2 else advert_int_cs
        slot.auth_type, slot.auth_pass = auth_type, bytes(auth_pass).ljust(8, b"\0")
        slot.peers, slot.check_peers, slot.group = b_peers, bool(check_peers), b_group
        slot.csum_form, slot.ttl = form, ttl
        slot.skip_addr, slot.accept_lower = bool(skip_check_adv_addr), bool(accept_lower)
        slot.master, slot.master_prio, slot.rx_settle = None, 0, False
        self._build(slot, slot.effective, 0)     # validates the configuration
        self._slots[index] = slot
        if rx_socket >= 0:
            self._socks[rx_socket].vrids[vrid] = index

    def _build(self, slot, priority, dest, ident=0):
        dst = slot.peers[dest] if slot.peers else slot.group
        return codec.build_advert(
            slot.version, slot.vrid, priority,
            slot.advert_int_cs // 100 if slot.version == 2 else slot.advert_int_cs,
            [slot.addrs[i:i + slot.alen] for i in range(0, len(slot.addrs), slot.alen)],
            family=slot.family, src=slot.src, dst=dst, auth_type=slot.auth_type,
            auth_pass=slot.auth_pass.rstrip(b"\0"), checksum_form=slot.csum_form,
            ip_header=slot.family == 4, ident=ident, ttl=slot.ttl)

    def remove_slot(self, index):
        slot = self._slot(index)
        self._not_busy("remove_slot")
        self._flush_all()
        for kind in range(TIMER_KINDS):
            self._cancel(slot, kind)
        if slot.rx_sock >= 0 and self._socks[slot.rx_sock].vrids.get(slot.vrid) == index:
            del self._socks[slot.rx_sock].vrids[slot.vrid]
        del self._slots[index]

    def set_source(self, index, src):
        slot = self._slot(index)
        slot.src = _packed(src, slot.family, "src")

    def update_slot(self, index, *, state=None, priority=None, master=False, master_priority=None,
                    master_adver_int=None, master_down_ns=None, rx_settle=None, tx_settle=None,
                    delay_until_ns=False):
        slot = self._slot(index)
        if state is not None:
            state = _int_arg(state, "state", 0, 255)
        if priority is not None:
            priority = _int_arg(priority, "priority", 1, 255)
        if master_priority is not None:
            master_priority = _int_arg(master_priority, "master_priority", 0, 255)
        if master_adver_int is not None:
            master_adver_int = _int_arg(master_adver_int, "master_adver_int", 1, 4095)
        if master_down_ns is not None:
            master_down_ns = _int_arg(master_down_ns, "master_down_ns", 1, 10 ** 13)
        if delay_until_ns is not False and delay_until_ns is not None:
            delay_until_ns = _int_arg(delay_until_ns, "delay_until_ns", 0, (1 << 63) - 1)
        if master is not False:
            master = None if master is None else _packed(master, slot.family, "master")
        if state is not None:
            slot.state = state
        if master is not False:
            slot.master = master
        if master_priority is not None:
            slot.master_prio = master_priority
        if master_adver_int is not None:
            slot.learned_int = master_adver_int
        if master_down_ns is not None:
            slot.master_down_ns = master_down_ns
        if rx_settle is not None:
            slot.rx_settle = bool(rx_settle)
        if tx_settle is not None:
            slot.tx_settle = bool(tx_settle)
        if delay_until_ns is not False:
            slot.delay_until_ns = -1 if delay_until_ns is None else delay_until_ns
        if priority is not None:
            slot.effective = priority

    # ------------------------------------------------------------ timers

    def _arm(self, index, slot, kind, deadline):
        deadline = max(deadline, 0)
        if slot.handle[kind] and self._wheel.reschedule(slot.handle[kind], deadline):
            slot.deadline[kind] = deadline
            return
        slot.gen[kind] = (slot.gen[kind] + 1) & _GEN_MASK
        slot.handle[kind] = self._wheel.schedule(deadline, (index << 32) | (slot.gen[kind] << 8) | kind)
        slot.deadline[kind] = deadline

    def _cancel(self, slot, kind):
        pending = bool(slot.handle[kind]) and self._wheel.cancel(slot.handle[kind])
        slot.handle[kind] = 0
        slot.gen[kind] = (slot.gen[kind] + 1) & _GEN_MASK
        return pending

    def arm_timer(self, index, kind, deadline_ns):
        slot = self._slot(index)
        kind = _int_arg(kind, "timer kind", 0, TIMER_KINDS - 1)
        self._arm(index, slot, kind, _int_arg(deadline_ns, "deadline_ns", 0, (1 << 63) - 1))

    def cancel_timer(self, index, kind):
        slot = self._slot(index)
        return self._cancel(slot, _int_arg(kind, "timer kind", 0, TIMER_KINDS - 1))

    def timer_deadline(self, index, kind):
        slot = self._slot(index)
        kind = _int_arg(kind, "timer kind", 0, TIMER_KINDS - 1)
        return slot.deadline[kind] if slot.handle[kind] else None

    def armed_deadline(self, index, kind):
        slot = self._slot(index)
        kind = _int_arg(kind, "timer kind", 0, TIMER_KINDS - 1)
        return slot.deadline[kind] if slot.deadline[kind] >= 0 else None

    def next_deadline(self):
        return self._wheel.next_deadline()

    def take_settled(self, index):
        self._slot(index)
        return None, None               # nothing is ever settled here

    # ------------------------------------------------------------ sending

    def _queue(self, index, priority, t):
        slot = self._slots[index]
        if slot.tx_sock < 0:
            slot.counters["tx_errors"] += 1
            self._g["tx_errors"] += 1
            return
        sock = self._socks[slot.tx_sock]
        slot.counters["advert_sent"] += 1
        for dest in range(max(len(slot.peers), 1)):
            ident = 0
            if slot.family == 4:
                slot.ip_id = (slot.ip_id + 1) & 0xFFFF or 1    # RFC 791: from 1, never 0
                ident = slot.ip_id
            pkt = self._build(slot, priority, dest, ident)
            dst = slot.peers[dest] if slot.peers else slot.group
            sock.queue.append((t, index, dst, pkt))
            slot.counters["packets_sent"] += 1

    def _flush_sock(self, sid, sock):
        queue, sock.queue = sock.queue, []
        if self._capture:
            self._captured.extend(Sent(t, sid, index, dst, pkt) for t, index, dst, pkt in queue)
            sock.counters["tx_packets"] += len(queue)
            self._g["tx_packets"] += len(queue)
            return
        flags = socket.MSG_DONTROUTE if sock.dontroute else 0
        for _t, index, dst, pkt in queue:
            sock.counters["tx_batches"] += 1
            self._g["tx_batches"] += 1
            try:
                if sock.sock is None:
                    raise OSError(errno.EBADF, "no socket")
                if sock.family == 4:
                    sock.sock.sendto(pkt, flags, (socket.inet_ntop(socket.AF_INET, dst), 0))
                else:
                    slot = self._slots.get(index)
                    info = slot.src + struct.pack("@I", sock.ifindex)
                    sock.sock.sendmsg([pkt], [(socket.IPPROTO_IPV6, _IPV6_PKTINFO, info)], flags,
                                      (socket.inet_ntop(socket.AF_INET6, dst), 0, 0, sock.ifindex))
            except OSError as exc:
                sock.last_errno = exc.errno or 0
                sock.counters["tx_errors"] += 1
                self._g["tx_errors"] += 1
                if index in self._slots:
                    self._slots[index].counters["tx_errors"] += 1
                continue
            sock.counters["tx_packets"] += 1
            self._g["tx_packets"] += 1

    def _flush_all(self):
        for sid, sock in list(self._socks.items()):
            if sock.queue:
                self._flush_sock(sid, sock)

    def send_advert(self, index, priority, now_ns=None):
        self._slot(index)
        priority = _int_arg(priority, "priority", 0, 255)
        t = self._now if now_ns is None else _int_arg(now_ns, "now_ns", 0, (1 << 63) - 1)
        self._queue(index, priority, t)

    def flush(self):
        self._flush_all()
        self._raise_pending()

    def take_captured(self):
        out, self._captured = self._captured, []
        return out

    # ------------------------------------------------------------ escalation

    def _raise_pending(self):
        exc, self._pending_exc = self._pending_exc, None
        if exc is not None:
            raise exc

    def _call(self, index, what, now, arg):
        self._slots[index].counters["escalations"] += 1
        self._g["python_escalations"] += 1
        if self._escalate is None:
            return
        try:
            self._escalate(index, what, now, arg)
        except BaseException as exc:
            self._g["escalation_errors"] += 1
            if self._pending_exc is None:
                self._pending_exc = exc

    # ------------------------------------------------------------ receiving

    def _rx(self, sid, pkt, src6, dst6, hop, now):
        sock = self._socks[sid]
        sock.counters["rx_packets"] += 1
        self._g["rx_packets"] += 1
        if sock.family == 4:
            adv = codec.parse_ipv4(pkt, sock.check_ttl)
        else:
            adv = codec.parse_ipv6(pkt, src6, dst6, hop, sock.check_ttl)
        if adv.reason in _SOCKET_REASONS:
            sock.drops[adv.reason] += 1
            return
        index = sock.vrids.get(adv.vrid)
        if index is None:
            sock.drops[DROP_UNKNOWN_VRID] += 1
            return
        slot = self._slots[index]
        if slot.state not in (_STATE_BACKUP, _STATE_MASTER) or now < slot.delay_until_ns:
            slot.counters["rx_ignored"] += 1
            if adv.ok:                  # the machine ignores it: still its call
                self._call(index, ESCALATE_ADVERT, now, adv)
            return
        reason = adv.reason
        if not reason:
            reason = codec.check_instance(adv, slot.version, slot.auth_type,
                                          slot.auth_pass.rstrip(b"\0"))
        if not reason and _is_multicast(adv.dst_packed) == bool(slot.peers):
            reason = DROP_DESTINATION
        if not reason and slot.check_peers and adv.src_packed not in slot.peers:
            reason = DROP_NOT_PEER
        if not reason and slot.version == 2 and adv.adver_int * 100 != slot.advert_int_cs:
            reason = DROP_INTERVAL
        if reason:
            slot.drops[reason] += 1
            if reason == DROP_INTERVAL:
                self._call(index, ESCALATE_ADVERT, now, adv)
            else:
                self._call(index, ESCALATE_DROP, now, (reason, adv))
            return
        slot.counters["advert_rcvd"] += 1
        self._call(index, ESCALATE_ADVERT, now, adv)

    def _recv_one(self, sock):
        """One packet from a real socket: (data, src6, dst6, hop), or None when empty."""
        if sock.family == 4:
            data, _anc, flags, _addr = sock.sock.recvmsg(_RX_BUF, 0, socket.MSG_DONTWAIT)
            return data, None, None, 0, flags
        data, anc, flags, addr = sock.sock.recvmsg(_RX_BUF, 256, socket.MSG_DONTWAIT)
        src = socket.inet_pton(socket.AF_INET6, addr[0].split("%")[0])
        dst, hop = None, 0
        for level, kind, value in anc:
            if level == socket.IPPROTO_IPV6 and kind == _IPV6_PKTINFO and len(value) >= 20:
                dst = value[:16]
            elif level == socket.IPPROTO_IPV6 and kind == _IPV6_HOPLIMIT and len(value) >= 4:
                hop = struct.unpack("@i", value[:4])[0]
        return data, src, dst, hop, flags

    def _drain_sock(self, sid, now):
        sock = self._socks[sid]
        total = 0
        while total < self._drain_cap:
            try:
                data, src, dst, hop, flags = self._recv_one(sock)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                sock.counters["rx_errors"] += 1
                sock.last_errno = exc.errno or 0
                break
            sock.counters["rx_batches"] += 1
            self._g["rx_batches"] += 1
            total += 1
            if flags & socket.MSG_TRUNC:
                sock.counters["rx_packets"] += 1
                self._g["rx_packets"] += 1
                sock.drops[DROP_TRUNCATED] += 1
            elif sock.family == 6 and dst is None:
                sock.counters["rx_packets"] += 1
                self._g["rx_packets"] += 1
                sock.drops[DROP_NO_PKTINFO] += 1
            else:
                self._rx(sid, data, src, dst, hop, now)
            if sid not in self._socks:
                break
        return total

    def _drain_all(self, now):
        return sum(self._drain_sock(sid, now) for sid, sock in list(self._socks.items())
                   if sock.receive and sock.sock is not None)

    # ------------------------------------------------------------ expiries

    def _expire(self, payload, now):
        index, gen, kind = payload >> 32, (payload >> 8) & _GEN_MASK, payload & 0xFF
        slot = self._slots.get(index)
        if slot is None or kind >= TIMER_KINDS or slot.gen[kind] != gen:
            self._g["stale_expiries"] += 1
            return
        slot.handle[kind] = 0
        self._g["timer_expiries"] += 1
        deadline = slot.deadline[kind]
        late = now - deadline
        t = (deadline if late < self._late_slack and late < slot.advert_int_cs * 5_000_000
             else now)
        self._call(index, ESCALATE_TIMER, t, kind)

    def _run_timers(self, now, budget=None):
        start = self._g["python_escalations"]
        for _round in range(64):
            nd = self._wheel.next_deadline()
            if nd is None or nd > now:
                break
            take = 1024
            if budget is not None:
                # every expiry escalates at most once: never take more than is left
                left = budget - (self._g["python_escalations"] - start)
                if left <= 0:
                    break
                take = min(take, left)
            for payload in self._wheel.advance(now, take):
                self._expire(payload, now)

    # ------------------------------------------------------------ driving

    def _enter(self, what):
        if self._busy:
            raise RuntimeError("%s called from inside an escalation callback" % what)
        self._busy = True

    def _leave(self):
        self._busy = False
        self._flush_all()
        self._raise_pending()

    def tick(self, now_ns=None, max_escalations=None):
        if max_escalations is not None:
            _int_arg(max_escalations, "max_escalations", 1, 0x7FFFFFFF)
        self._enter("tick")
        try:
            now = self._now_arg(now_ns)
            self._g["ticks"] += 1
            self._drain_all(now)
            self._run_timers(now, max_escalations)
        finally:
            self._leave()
        return self._wheel.next_deadline()

    def on_readable(self, sid):
        sock = self._sock(sid)
        self._enter("on_readable")
        try:
            now = self._now_arg(None)
            self._g["rx_wakeups"] += 1
            if sock.sock is not None:
                self._drain_sock(sid, now)
        finally:
            self._leave()

    def drain(self, now_ns=None):
        self._enter("drain")
        try:
            return self._drain_all(self._now_arg(now_ns))
        finally:
            self._leave()

    def inject(self, sid, packet, now_ns=None, *, src=None, dst=None, hop_limit=255):
        sock = self._sock(sid)
        if not isinstance(packet, (bytes, bytearray, memoryview)):
            raise TypeError("packet must be bytes-like, not %r" % (type(packet).__name__,))
        data = bytes(packet)
        if sock.family == 6:
            if src is None or dst is None:
                raise ValueError("an IPv6 packet needs src and dst (its ancillary data)")
            src, dst = _packed(src, 6, "src"), _packed(dst, 6, "dst")
            hop_limit = _int_arg(hop_limit, "hop_limit", 0, 255)
        elif src is not None or dst is not None:
            raise ValueError("IPv4 packets carry their addresses in the IP header")
        self._enter("inject")
        try:
            self._rx(sid, data, src, dst, hop_limit, self._now_arg(now_ns))
        finally:
            self._leave()

    @property
    def busy(self):
        return self._busy

    @property
    def now_ns(self):
        return self._now

    @property
    def tick_ns(self):
        return self._wheel.tick_ns

    @staticmethod
    def clock():
        return time.monotonic_ns()

    # ------------------------------------------------------------ counters

    def stats(self, drops=True):
        totals = dict.fromkeys(REASONS[1:], 0)
        for holder in (list(self._socks.values()) + list(self._slots.values())) if drops else ():
            for r in range(1, len(REASONS)):
                totals[REASONS[r]] += holder.drops[r]
        out = dict(self._g)
        out["timers"] = len(self._wheel)
        out["drops"] = {k: v for k, v in totals.items() if v}
        return out

    def slot_stats(self, index):
        slot = self._slot(index)
        out = dict(slot.counters)
        out["drops"] = {REASONS[r]: n for r, n in enumerate(slot.drops) if r and n}
        return out

    def slot_info(self, index):
        slot = self._slot(index)
        return {
            "family": slot.family, "version": slot.version, "vrid": slot.vrid,
            "state": slot.state, "priority": slot.effective,
            "master": ipaddress.ip_address(slot.master) if slot.master else None,
            "master_priority": slot.master_prio, "master_adver_int": slot.learned_int,
            "master_down_ns": slot.master_down_ns, "advert_int_ns": slot.advert_int_cs * 10_000_000,
            "rx_settle": slot.rx_settle, "tx_settle": slot.tx_settle,
            "accept_lower": slot.accept_lower,
            "delay_until_ns": slot.delay_until_ns if slot.delay_until_ns >= 0 else None,
            "rx_socket": slot.rx_sock, "tx_socket": slot.tx_sock,
            "packet": self._build(slot, slot.effective, 0), "ip_id": slot.ip_id,
        }

    def socket_stats(self, sid):
        sock = self._sock(sid)
        out = {"fd": sock.fd, "family": sock.family, "ifindex": sock.ifindex}
        out.update(sock.counters)
        out["queued"] = len(sock.queue)
        out["last_errno"] = sock.last_errno
        out["drops"] = {REASONS[r]: n for r, n in enumerate(sock.drops) if r and n}
        return out
