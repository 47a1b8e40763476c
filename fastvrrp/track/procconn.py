"""The kernel's process events: the proc connector (linux/cn_proc.h) for vrrp_track_process.

    sock, seq, ack = open_connector(rcvbuf)     # subscribed (LISTEN sent); ConnectorUnavailable
    event = parse_message(datagram)             # ("ack", ack, err), ("fork", parent, child),
                                                # ("exec", pid), ("comm", pid, name),
                                                # ("exit", pid), ("other",) or None
    sock.send(listen_msg(PROC_CN_MCAST_IGNORE, seq, 0))   # unsubscribe

Only process-level (not thread) events are reported; a socket filter drops
the rest in the kernel.  Why the connector may be unavailable, and what the
tracker then does, is in processes.py's docstring.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import random
import socket
import struct
from typing import Optional

log = logging.getLogger("fastvrrp.track.processes")

RCVBUF = 1 << 20

# linux/netlink.h, linux/connector.h, linux/cn_proc.h
NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
NLMSG_DONE = 3
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
PROC_EVENT_NONE = 0x00000000
PROC_EVENT_FORK = 0x00000001
PROC_EVENT_EXEC = 0x00000002
PROC_EVENT_COMM = 0x00000200
PROC_EVENT_EXIT = 0x80000000
SO_RCVBUFFORCE = 33
SO_ATTACH_FILTER = 26

NLMSGHDR = struct.Struct("=IHHII")          # len, type, flags, seq, pid
CN_MSG = struct.Struct("=IIIIHH")           # idx, val, seq, ack, len, flags
EV_HDR = struct.Struct("=IIQ")              # what, cpu, timestamp_ns
OFF_CN = NLMSGHDR.size                     # 16
OFF_EV = OFF_CN + CN_MSG.size             # 36
OFF_DATA = OFF_EV + EV_HDR.size           # 52
PAIR = struct.Struct("=II")
FORK = struct.Struct("=IIII")               # parent pid, parent tgid, child pid, child tgid
COMM = struct.Struct("=II16s")


def _be(value: int) -> int:
    """A host-order u32 as a classic-BPF absolute load sees it (network order)."""
    return struct.unpack(">I", struct.pack("=I", value))[0]


def proc_event_filter() -> bytes:
    """Classic BPF: keep the subscription ack and process-level (not thread)
    FORK / EXEC / COMM / EXIT events; drop everything else in the kernel."""
    ld, jeq, jeqx, tax, ret = 0x20, 0x15, 0x1D, 0x07, 0x06
    prog = [
        (ld, 0, 0, OFF_EV),                               # 0: what
        (jeq, 8, 0, _be(PROC_EVENT_FORK)),                 # 1: -> 10
        (jeq, 3, 0, _be(PROC_EVENT_EXEC)),                 # 2: -> 6
        (jeq, 2, 0, _be(PROC_EVENT_EXIT)),                 # 3: -> 6
        (jeq, 1, 0, _be(PROC_EVENT_COMM)),                 # 4: -> 6
        (jeq, 8, 9, _be(PROC_EVENT_NONE)),                 # 5: -> 14 / 15
        (ld, 0, 0, OFF_DATA),                             # 6: pid
        (tax, 0, 0, 0),                                    # 7
        (ld, 0, 0, OFF_DATA + 4),                         # 8: tgid
        (jeqx, 4, 5, 0),                                   # 9: pid == tgid -> 14 / 15
        (ld, 0, 0, OFF_DATA + 8),                         # 10: child pid
        (tax, 0, 0, 0),                                    # 11
        (ld, 0, 0, OFF_DATA + 12),                        # 12: child tgid
        (jeqx, 0, 1, 0),                                   # 13: -> 14 / 15
        (ret, 0, 0, 0xFFFFFFFF),                           # 14: keep
        (ret, 0, 0, 0),                                    # 15: drop
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in prog)


def _attach_filter(sock: socket.socket, program: bytes) -> None:
    buf = ctypes.create_string_buffer(program)
    fprog = struct.pack("@HP", len(program) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def set_rcvbuf(sock: socket.socket, size: int) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def listen_msg(op: int, seq: int, ack: int) -> bytes:
    payload = struct.pack("=I", op)
    cn = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, seq, ack, len(payload), 0)
    body = cn + payload
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), NLMSG_DONE, 0, 0, 0) + body


class ConnectorUnavailable(OSError):
    """The proc connector cannot be used here; the message says why."""


def open_connector(rcvbuf: int = RCVBUF) -> tuple[socket.socket, int, int]:
    """A non-blocking proc-connector socket with the LISTEN request sent:
    (socket, seq, ack) — the kernel's acknowledgement carries ack + 1."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                             | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
    except OSError as exc:
        if exc.errno == errno.EPROTONOSUPPORT:
            raise ConnectorUnavailable(exc.errno, "the kernel has no netlink connector "
                                       "(CONFIG_CONNECTOR)") from None
        raise ConnectorUnavailable(exc.errno, "cannot open the process-events socket: %s"
                                   % exc.strerror) from None
    try:
        try:
            sock.bind((0, CN_IDX_PROC))
        except OSError as exc:
            raise ConnectorUnavailable(exc.errno, "cannot join the process-events group: %s"
                                       % exc.strerror) from None
        try:
            set_rcvbuf(sock, rcvbuf)
        except OSError as exc:
            log.info("cannot set the process-events receive buffer: %s", exc.strerror)
        try:
            _attach_filter(sock, proc_event_filter())
        except OSError as exc:
            log.info("cannot attach the process-events socket filter: %s", exc.strerror)
        seq, ack = random.getrandbits(32), random.getrandbits(31)
        try:
            sock.send(listen_msg(PROC_CN_MCAST_LISTEN, seq, ack))
        except OSError as exc:
            why = ("this is not the initial network namespace" if exc.errno == errno.ECONNREFUSED
                   else exc.strerror)
            raise ConnectorUnavailable(exc.errno, "cannot subscribe to process events: %s"
                                       % why) from None
    except BaseException:
        sock.close()
        raise
    return sock, seq, ack


def parse_message(data: bytes) -> Optional[tuple]:
    """One datagram from the connector -> what it says, or None when it is not
    a process-events message.  ("ack", ack, err): the kernel's answer to our
    LISTEN (err 0: subscribed); ("other",): a process event of no interest
    here (a thread's, or a kind nobody uses, or cut short)."""
    if len(data) < OFF_DATA:
        return None
    _len, nl_type, _flags, _seq, _pid = NLMSGHDR.unpack_from(data, 0)
    if nl_type != NLMSG_DONE:
        return None
    idx, val, _seq, ack, _clen, _cflags = CN_MSG.unpack_from(data, OFF_CN)
    if idx != CN_IDX_PROC or val != CN_VAL_PROC:
        return None
    what = EV_HDR.unpack_from(data, OFF_EV)[0]
    if what == PROC_EVENT_NONE:
        err = struct.unpack_from("=I", data, OFF_DATA)[0] if len(data) >= OFF_DATA + 4 else 0
        return ("ack", ack, err)
    if what == PROC_EVENT_FORK and len(data) >= OFF_DATA + FORK.size:
        _ppid, ptgid, cpid, ctgid = FORK.unpack_from(data, OFF_DATA)
        if cpid == ctgid:
            return ("fork", ptgid, ctgid)
    elif what == PROC_EVENT_EXEC and len(data) >= OFF_DATA + PAIR.size:
        pid, tgid = PAIR.unpack_from(data, OFF_DATA)
        if pid == tgid:
            return ("exec", tgid)
    elif what == PROC_EVENT_COMM and len(data) >= OFF_DATA + COMM.size:
        pid, tgid, comm = COMM.unpack_from(data, OFF_DATA)
        if pid == tgid:
            return ("comm", tgid, os.fsdecode(comm.split(b"\0", 1)[0]))
    elif what == PROC_EVENT_EXIT and len(data) >= OFF_DATA + PAIR.size:
        pid, tgid = PAIR.unpack_from(data, OFF_DATA)
        if pid == tgid:
            return ("exit", tgid)
    return ("other",)


__all__ = ["PROC_CN_MCAST_IGNORE", "PROC_CN_MCAST_LISTEN", "RCVBUF", "ConnectorUnavailable",
           "listen_msg", "open_connector", "parse_message", "proc_event_filter", "set_rcvbuf"]
