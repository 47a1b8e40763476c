"""Batched rtnetlink change requests: many requests in one sendmsg, acks matched by sequence.

    batch = NetlinkBatch()                        # opened on first use, this thread's netns
    fut = batch.request(RTM_NEWADDR, flags, payload, what="add address 10.0.0.9/32")
    code = await fut                              # 0: done; else the kernel's errno (positive)
    batch.close()

Every request made during one loop iteration is sent on the next one, packed
back to back into as few `send()` calls as the in-flight window allows (the
kernel processes a datagram's messages in order, so requests keep their
submission order).  rtnetlink handles address, route and rule changes
synchronously inside `sendmsg`, so the acks are already queued when `send()`
returns: they are read at once, the window frees up and the next chunk goes
out.  A burst of thousands of changes therefore costs a few system calls and
never waits on the loop, let alone times out (issue 6: 1000 instances
becoming MASTER together).

The window (messages sent but not yet acknowledged) bounds what the kernel
must queue on our receive buffer: acks of a full window always fit, so the
kernel never drops one (ENOBUFS).  NETLINK_CAP_ACK keeps error acks small.
Whatever is still unanswered `timeout` seconds after the last ack (a kernel
that answers asynchronously and never does, a dead socket) fails with
NetlinkQueryError(ETIMEDOUT), as does every request when the socket cannot
be opened or sending fails (then with that errno); the socket is reopened on
the next request.  Nothing here raises into the caller's loop callbacks.
"""

import asyncio
import errno
import logging
import socket
import struct

from .outcome import NetlinkQueryError

NLMSG_ERROR = 2
NLMSG_HDR = struct.Struct("=IHHII")        # struct nlmsghdr: len, type, flags, seq, pid
NLMSG_ERR = struct.Struct("=i")            # struct nlmsgerr: error, then the request's header
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
SO_RCVBUFFORCE = 33

log = logging.getLogger("fastvrrp.host")

WINDOW = 256            # requests in flight (sent, not yet acknowledged)
CHUNK_BYTES = 64 * 1024  # at most this much per send() (the kernel refuses > sndbuf - 32)
RCVBUF = 4 << 20        # receive buffer asked for (a window of error acks fits many times)
RECV_SIZE = 256 * 1024


def _align(n):
    return (n + 3) & ~3


class _Pending:
    __slots__ = ("seq", "data", "future", "what", "on_done")

    def __init__(self, seq, data, future, what, on_done=None):
        self.seq, self.data, self.future, self.what = seq, data, future, what
        self.on_done = on_done


class NetlinkBatch:
    """See the module docstring.  One per `Netlink`; use from one event loop."""

    def __init__(self, *, netns=None, timeout=5.0, window=WINDOW, chunk_bytes=CHUNK_BYTES):
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError("timeout must be a positive number of seconds, got %r" % (timeout,))
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError("window must be a positive int, got %r" % (window,))
        if not isinstance(chunk_bytes, int) or chunk_bytes < 1024:
            raise ValueError("chunk_bytes must be an int >= 1024, got %r" % (chunk_bytes,))
        self.netns = netns
        self.timeout = float(timeout)
        self.window = window
        self.chunk_bytes = chunk_bytes
        self._sock = None
        self._loop = None
        self._queue = []                # _Pending not sent yet, in submission order
        self._inflight = {}             # seq -> _Pending
        self._seq = 0
        self._flush_handle = None
        self._watchdog = None
        self._progress = 0.0            # loop time of the last send or ack
        self.stats = {"requests": 0, "sends": 0, "acks": 0, "largest_send": 0, "failures": 0}

    # ------------------------------------------------------------ public
    def request(self, msg_type, flags, payload, *, what="netlink request", on_done=None):
        """Queue one request (`payload`: the bytes after the nlmsghdr) -> Future of the
        errno the kernel answered (0 for success); NetlinkQueryError when the socket
        fails or nothing answers.  `what` (a str, or a callable giving one only when
        needed) names the request in that error.  Must be called from the running loop.

        With `on_done`, no future: on_done(errno, None) or on_done(None,
        NetlinkQueryError) is called as soon as the answer is read, inside the
        batch's own callback (a burst's VIP adds chain their GARPs without a
        loop turn per step, issue 6); it must not raise (what it raises is logged)."""
        loop = self._bind()
        self._seq = (self._seq % 0xFFFFFFFF) + 1
        length = NLMSG_HDR.size + len(payload)
        data = NLMSG_HDR.pack(length, msg_type, flags, self._seq, 0) + bytes(payload) \
            + b"\0" * (_align(length) - length)
        future = loop.create_future() if on_done is None else None
        self._queue.append(_Pending(self._seq, data, future, what, on_done))
        self.stats["requests"] += 1
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush)
        return future

    def open(self):
        """Open the socket now, from the running loop, instead of at the first
        request (issue 6: a backup's first takeover then pays no socket set-up
        between its timer and its VIP).  Raises OSError when it cannot."""
        self._bind()
        if self._sock is None:
            try:
                self._open()
            except BaseException:
                self._close_socket()
                raise

    def flush_now(self):
        """Send what is queued now instead of on the next loop iteration."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    @property
    def pending(self):
        """Requests queued or in flight."""
        return len(self._queue) + len(self._inflight)

    def close(self):
        """Close the socket; whatever is unanswered fails (ECANCELED)."""
        self._fail_all(errno.ECANCELED, "the netlink batch socket was closed")
        self._close_socket()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    # ------------------------------------------------------------ socket
    def _bind(self):
        """The running loop, the batch's from now on (a new one starts over)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._reset(loop)
        return loop

    def _reset(self, loop):
        """First use, or use from another loop: start over on a new socket."""
        self.close()
        self._loop = loop

    def _open(self):
        if self.netns is not None:
            from pyroute2 import netns as nsmod
            nsmod.pushns(self.netns)
            try:
                sock = self._make_socket()
            finally:
                nsmod.popns()
        else:
            sock = self._make_socket()
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._readable)   # acks the kernel sends later

    @staticmethod
    def _make_socket():
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK
                             | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            try:
                sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            except OSError:
                pass        # older kernels: error acks carry the whole request
            sock.bind((0, 0))
        except BaseException:
            sock.close()
            raise
        return sock

    def _close_socket(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                self._loop.remove_reader(sock.fileno())
            except (OSError, ValueError, RuntimeError, AttributeError):
                pass
            sock.close()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _fail_all(self, code, message):
        waiting = list(self._inflight.values()) + self._queue
        self._inflight.clear()
        self._queue = []
        for entry in waiting:
            self._fail(entry, code, message)

    def _fail(self, entry, code, message):
        self.stats["failures"] += 1
        if entry.future is None or not entry.future.done():
            what = entry.what() if callable(entry.what) else entry.what
            error = NetlinkQueryError(what, code, message)
            if entry.future is None:
                _answer(entry, None, error)
            else:
                entry.future.set_exception(error)

    # ------------------------------------------------------------ send
    def _flush(self):
        self._flush_handle = None
        if self._sock is None and self._queue:
            try:
                self._open()
            except (OSError, ValueError) as exc:
                self._close_socket()
                self._fail_all(getattr(exc, "errno", None) or errno.ECOMM,
                               "cannot open a netlink socket: %s"
                               % (getattr(exc, "strerror", None) or exc))
                return
        while self._queue and self._sock is not None:
            room = self.window - len(self._inflight)
            if room <= 0:
                break       # the acks of what is in flight free the window (_readable)
            chunk, size = [], 0
            for entry in self._queue[:room]:
                if chunk and size + len(entry.data) > self.chunk_bytes:
                    break
                chunk.append(entry)
                size += len(entry.data)
            del self._queue[:len(chunk)]
            for entry in chunk:
                self._inflight[entry.seq] = entry
            try:
                self._sock.send(b"".join(e.data for e in chunk))
            except OSError as exc:
                code = exc.errno or errno.ECOMM
                self._close_socket()
                self._fail_all(code, "netlink send failed: %s" % (exc.strerror or exc))
                return
            self.stats["sends"] += 1
            self.stats["largest_send"] = max(self.stats["largest_send"], len(chunk))
            self._progress = self._loop.time()
            self._read_acks()       # rtnetlink answered inside send(): free the window now
        if self._inflight and self._watchdog is None and self._sock is not None:
            self._watchdog = self._loop.call_later(self.timeout, self._check_timeout)

    # ------------------------------------------------------------ receive
    def _readable(self):
        self._read_acks(drain=True)
        if self._queue and self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _read_acks(self, drain=False):
        """Read answers while some are awaited (or, with `drain`, until none is left:
        a late answer to a request that already failed must not keep the reader firing)."""
        sock = self._sock
        while sock is not None and (drain or self._inflight):
            try:
                data = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                code = exc.errno or errno.ECOMM
                self._close_socket()
                self._fail_all(code, "netlink receive failed: %s" % (exc.strerror or exc))
                return
            if not data:
                return
            self._progress = self._loop.time()
            self._parse(data)
            sock = self._sock

    def _parse(self, data):
        offset, end = 0, len(data)
        while offset + NLMSG_HDR.size <= end:
            length, msg_type, _flags, seq, _pid = NLMSG_HDR.unpack_from(data, offset)
            if length < NLMSG_HDR.size or offset + length > end:
                return      # a truncated message: nothing after it can be trusted
            if msg_type == NLMSG_ERROR and length >= NLMSG_HDR.size + NLMSG_ERR.size:
                entry = self._inflight.pop(seq, None)
                if entry is not None:
                    self.stats["acks"] += 1
                    (code,) = NLMSG_ERR.unpack_from(data, offset + NLMSG_HDR.size)
                    if entry.future is None:
                        _answer(entry, abs(code), None)
                    elif not entry.future.done():
                        entry.future.set_result(abs(code))
            offset += _align(length)

    def _check_timeout(self):
        self._watchdog = None
        if not self._inflight:
            return
        idle = self._loop.time() - self._progress
        if idle < self.timeout:
            self._watchdog = self._loop.call_later(self.timeout - idle, self._check_timeout)
            return
        self._close_socket()
        self._fail_all(errno.ETIMEDOUT, "no answer within %.1f s" % self.timeout)


def _answer(entry, code, error):
    try:
        entry.on_done(code, error)
    except Exception:       # never into the batch's loop callback
        log.exception("a netlink answer's callback failed")


__all__ = ["CHUNK_BYTES", "NetlinkBatch", "WINDOW"]
