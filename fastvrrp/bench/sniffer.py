"""The bench's wire sniffer: VRRP adverts and ARP frames entering a lab switch.

One AF_PACKET socket in the switch namespace sees every frame exactly once,
on the bridge port where it enters the switch: a classic BPF filter keeps
frames received (not sent: PACKET_OUTGOING is dropped) on the given port
ifindexes that are IPv4 VRRP (protocol 112, 20-byte header) or ARP, and cuts
each to SNAP bytes.  Frames arrive through a PACKET_MMAP ring (TPACKET_V3):
the kernel fills whole blocks and hands a block over per wakeup, so the
Python reader pays one poll() per block, not per frame, and keeps up with
100,000 frames/s.  Each frame carries its kernel receive timestamp
(SO_TIMESTAMPNS is on, so the stamp is taken when the frame enters the
stack; CLOCK_REALTIME, compare with time.time_ns()).

    sn = Sniffer(lab.ns("sw"), port_ifindexes).start()   # capturing on return
    ...
    sn.stop()
    sn.adverts.ts, sn.adverts.src, sn.adverts.vrid_prio   # arrays, one entry per advert
    sn.arps                                               # [ArpFrame, ...]
    sn.stats()        # {"frames", "kernel_packets", "kernel_drops", "freeze_q", ...}

What is kept per advert: receive time (ns), IPv4 source (int), VRID and
priority (vrid << 8 | priority).  Per ARP frame: time, operation, sender MAC
and IP, target IP.  Drops the ring could not absorb are the kernel's
PACKET_STATISTICS tp_drops, reported, never hidden.

Its cost: the reader thread about 0.6 us of CPU per frame (3% of a core at
50,000 adverts/s).  The kernel's part (the filter, the copy into the ring)
runs where the frame is delivered: on veth, in the sending process's
softirq, so it is charged to the sender, equally in every phase of a run.
"""

import array
import ctypes
import mmap
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from . import netns

# <linux/if_packet.h>, <linux/filter.h>: Python's socket module has none of these
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SKF_AD_OFF = -0x1000
SKF_AD_PKTTYPE = 4
SKF_AD_IFINDEX = 8
IPPROTO_VRRP = 112

SNAP = 64                   # bytes kept per frame: Ethernet + IPv4 + the VRRP header
_BPF_LD_W_ABS, _BPF_LD_H_ABS, _BPF_LD_B_ABS = 0x20, 0x28, 0x30
_BPF_JEQ, _BPF_JGE, _BPF_JGT, _BPF_RET = 0x15, 0x35, 0x25, 0x06

_REQ3 = struct.Struct("=7I")            # struct tpacket_req3
_BLOCK = struct.Struct("=III")          # block_status, num_pkts, offset_to_first_pkt (at +8)
_STATUS = struct.Struct("=I")
_FRAME = struct.Struct("=III12xH")      # tp_next_offset, tp_sec, tp_nsec, ..., tp_mac
_VRRP = struct.Struct("!H12xI5xBB")     # from the ethertype: type, IPv4 src, VRID, priority
_ARP = struct.Struct("!H6xH6sI6xI")     # from the ethertype: type, oper, sha, spa, tpa
_STATS = struct.Struct("=III")          # struct tpacket_stats_v3


class SnifferError(RuntimeError):
    """The sniffer could not be set up, or its reader thread failed."""


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def ifindex_ranges(ifindexes):
    """Sorted, merged inclusive (low, high) ranges covering `ifindexes`."""
    out = []
    for index in sorted(set(ifindexes)):
        if not isinstance(index, int) or index <= 0:
            raise SnifferError("bad interface index %r" % (index,))
        if out and index == out[-1][1] + 1:
            out[-1] = (out[-1][0], index)
        else:
            out.append((index, index))
    return out


def bpf_program(port_ifindexes, snap=SNAP):
    """The classic BPF filter as [(code, jt, jf, k)]: frames received on one of
    `port_ifindexes` (not sent) that are ARP or IPv4 VRRP, cut to `snap` bytes."""
    ranges = ifindex_ranges(port_ifindexes)
    if not ranges:
        raise SnifferError("the sniffer needs at least one port interface index")
    if len(ranges) > 60:
        raise SnifferError("%d separate interface index ranges: too many for one filter"
                           % len(ranges))
    # Each entry: (code, jt label or offset, jf label or offset, k); labels resolved below.
    prog = [(_BPF_LD_W_ABS, 0, 0, (SKF_AD_OFF + SKF_AD_PKTTYPE) & 0xFFFFFFFF),
            (_BPF_JEQ, "drop", 0, PACKET_OUTGOING),
            (_BPF_LD_W_ABS, 0, 0, (SKF_AD_OFF + SKF_AD_IFINDEX) & 0xFFFFFFFF)]
    for n, (low, high) in enumerate(ranges):
        nxt = "range%d" % (n + 1) if n + 1 < len(ranges) else "drop"
        prog.append(("range%d" % n, _BPF_JGE, 0, nxt, low))
        prog.append((_BPF_JGT, nxt, "frame", high))
    prog += [("frame", _BPF_LD_H_ABS, 0, 0, 12),
             (_BPF_JEQ, "accept", 0, ETH_P_ARP),
             (_BPF_JEQ, 0, "drop", ETH_P_IP),
             (_BPF_LD_B_ABS, 0, 0, 14),
             (_BPF_JEQ, 0, "drop", 0x45),            # IPv4, no options
             (_BPF_LD_B_ABS, 0, 0, 23),
             (_BPF_JEQ, "accept", "drop", IPPROTO_VRRP),
             ("drop", _BPF_RET, 0, 0, 0),
             ("accept", _BPF_RET, 0, 0, snap)]
    labels, plain = {}, []
    for entry in prog:
        if isinstance(entry[0], str):
            labels[entry[0]] = len(plain)
            entry = entry[1:]
        plain.append(entry)
    out = []
    for pc, (code, jt, jf, k) in enumerate(plain):
        jt = labels[jt] - pc - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - pc - 1 if isinstance(jf, str) else jf
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise SnifferError("BPF jump out of range at %d" % pc)
        out.append((code, jt, jf, k))
    return out


@dataclass(frozen=True)
class ArpFrame:
    """One ARP frame as it entered the switch."""

    ts_ns: int
    oper: int                   # 1 request, 2 reply
    sender_mac: str
    sender_ip: int
    target_ip: int

    @property
    def gratuitous(self):
        """A gratuitous ARP announces its own address: sender IP == target IP."""
        return self.sender_ip == self.target_ip


class Adverts:
    """Columns of captured adverts; append-only, readable while the sniffer runs."""

    def __init__(self):
        self.ts = array.array("q")          # kernel receive time, ns since the epoch
        self.src = array.array("I")         # IPv4 source as an int (network order value)
        self.vrid_prio = array.array("H")   # vrid << 8 | priority

    def __len__(self):
        """The adverts whose three columns are all written (the sniffer thread
        appends one column after the other)."""
        return min(len(self.ts), len(self.src), len(self.vrid_prio))


def _mac(raw):
    return ":".join("%02x" % b for b in raw)


class Sniffer:
    """A TPACKET_V3 ring on all bridge ports of a switch namespace; see the module docstring."""

    def __init__(self, ns, port_ifindexes, *, block_size=1 << 20, blocks=64, block_timeout_ms=4):
        if block_size < 4096 or block_size & (block_size - 1):
            raise SnifferError("block_size must be a power of two >= 4096, got %r" % (block_size,))
        if not 2 <= blocks <= 4096:
            raise SnifferError("blocks must be 2..4096, got %r" % (blocks,))
        if not 1 <= block_timeout_ms <= 1000:
            raise SnifferError("block_timeout_ms must be 1..1000, got %r" % (block_timeout_ms,))
        self.ns = ns
        self.program = bpf_program(port_ifindexes)
        self.block_size, self.blocks, self.block_timeout_ms = block_size, blocks, block_timeout_ms
        self.adverts = Adverts()
        self.arps = []
        self.frames = 0
        self.blocks_read = 0
        self.error = None
        self._sock = self._mm = self._thread = None
        self._stop = threading.Event()
        self._kernel = [0, 0, 0]          # packets, drops, freeze_q (PACKET_STATISTICS resets)
        self._tid = None

    # -- set-up -----------------------------------------------------------------
    def start(self):
        """Open the socket and the ring, start the reader; returns once capturing."""
        if self._sock is not None:
            raise SnifferError("sniffer already started")
        try:
            sock = netns.socket_in(self.ns, socket.AF_PACKET, socket.SOCK_RAW,
                                   socket.htons(ETH_P_ALL))
        except (OSError, netns.NetnsError) as exc:
            raise SnifferError("cannot open a packet socket in %s: %s" % (self.ns, exc)) from exc
        try:
            self._attach_filter(sock)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, _REQ3.pack(
                self.block_size, self.blocks, 2048, self.block_size // 2048 * self.blocks,
                self.block_timeout_ms, 0, 0))
            self._mm = mmap.mmap(sock.fileno(), self.block_size * self.blocks, mmap.MAP_SHARED,
                                 mmap.PROT_READ | mmap.PROT_WRITE)
            sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)  # zero the counters
        except OSError as exc:
            sock.close()
            if self._mm is not None:
                self._mm.close()
                self._mm = None
            raise SnifferError("cannot set up the TPACKET_V3 ring in %s: %s" % (self.ns, exc)) \
                from exc
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="bench-sniffer", daemon=True)
        self._thread.start()
        return self

    def _attach_filter(self, sock):
        insns = (_SockFilter * len(self.program))(*[_SockFilter(*i) for i in self.program])
        prog = _SockFprog(len(self.program), insns)
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(memoryview(prog)))
        # (the kernel copies the program during setsockopt; `insns` may go after)

    # -- the reader thread ------------------------------------------------------
    def _run(self):
        self._tid = threading.get_native_id()
        try:
            self._loop()
        except BaseException as exc:    # reported by stop()/check(): never a silent death
            self.error = exc

    def _loop(self):
        mm, bs, nblocks = self._mm, self.block_size, self.blocks
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN | select.POLLERR)
        unpack_status = _BLOCK.unpack_from
        pack_status = _STATUS.pack_into
        current = 0
        drain_until = None
        while True:
            base = current * bs
            status, count, first = unpack_status(mm, base + 8)
            if status & TP_STATUS_USER:
                self._read_block(mm, base + first, count)
                pack_status(mm, base + 8, TP_STATUS_KERNEL)   # the block goes back
                self.blocks_read += 1
                current = (current + 1) % nblocks
                continue
            if self._stop.is_set():
                # a partly filled block is handed over after block_timeout_ms
                if drain_until is None:
                    drain_until = time.monotonic() + 3 * self.block_timeout_ms / 1000 + 0.05
                elif time.monotonic() > drain_until:
                    return
            poller.poll(self.block_timeout_ms * 2)

    def _read_block(self, mm, off, count):
        frame = _FRAME.unpack_from
        vrrp = _VRRP.unpack_from
        ads = self.adverts
        ts_add, src_add, vp_add = ads.ts.append, ads.src.append, ads.vrid_prio.append
        for _ in range(count):
            nxt, sec, nsec, mac = frame(mm, off)
            etype, src, vrid, prio = vrrp(mm, off + mac + 12)
            if etype == ETH_P_IP:
                ts_add(sec * 1_000_000_000 + nsec)
                src_add(src)
                vp_add(vrid << 8 | prio)
            else:
                _etype, oper, sha, spa, tpa = _ARP.unpack_from(mm, off + mac + 12)
                self.arps.append(ArpFrame(sec * 1_000_000_000 + nsec, oper, _mac(sha), spa, tpa))
            off += nxt
        self.frames += count

    # -- results ------------------------------------------------------------------
    def check(self):
        """Raise SnifferError if the reader thread died."""
        if self.error is not None:
            raise SnifferError("the sniffer's reader failed: %r" % (self.error,)) from self.error
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            raise SnifferError("the sniffer's reader stopped unexpectedly")

    def kernel_stats(self):
        """(packets, drops, freeze_q) the kernel counted since start (PACKET_STATISTICS)."""
        if self._sock is not None:
            raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
            for i, value in enumerate(_STATS.unpack(raw)):
                self._kernel[i] += value
        return tuple(self._kernel)

    def thread_cpu_ns(self):
        """CPU time of the reader thread so far (utime + stime), ns; None once it ended."""
        if self._tid is None:
            return None
        try:
            with open("/proc/self/task/%d/stat" % self._tid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    def stats(self):
        packets, drops, freeze = self.kernel_stats()
        return {"frames": self.frames, "adverts": len(self.adverts), "arps": len(self.arps),
                "blocks": self.blocks_read, "kernel_packets": packets, "kernel_drops": drops,
                "freeze_q": freeze}

    def stop(self):
        """Stop reading (frames already in the ring are read first), close the socket."""
        if self._sock is None:
            return self
        self._stop.set()
        self._thread.join(10)
        alive = self._thread.is_alive()
        self.kernel_stats()
        if not alive:
            self._mm.close()
        self._sock.close()
        self._sock = None
        self.check()
        if alive:
            raise SnifferError("the sniffer's reader did not stop within 10 s")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
