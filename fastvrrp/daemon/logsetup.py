"""Logging as keepalived logs: syslog, the console with -l -n, a file with -g.

    state = setup(options)            # before anything is logged
    state.set_names(namespace, instance)   # after the config is read
    teardown()                        # at exit (flushes, closes)

Every fastvrrp module logs through `logging.getLogger(__name__)`; the
handlers sit on the root logger.  What keepalived 2.2.7 does, and we copy
(observed with `keepalived -n -l -D` in a namespace, its /dev/log and
stderr captured):

- syslog (unless -G): one datagram per line to /dev/log,
  `<PRI>Nov 25 21:30:46 Keepalived_vrrp[4]: (VI_1) Entering MASTER STATE`,
  facility daemon unless -S.  keepalived's parent process logs as
  `Keepalived`, its VRRP process as `Keepalived_vrrp`, and log alerts match
  on these idents (journald: SYSLOG_IDENTIFIER).  fastvrrp is one process:
  the lines keepalived's parent logs (logger fastvrrp.daemon.process:
  starting, reloading, stopping, pid files) use `Keepalived`, everything
  else `Keepalived_vrrp`, both with the one pid.  With `net_namespace` / `instance` in the config
  the idents get `_<namespace>` and `_<instance>` appended, as keepalived's.
  keepalived logs nearly everything at LOG_INFO (<30> for daemon); fastvrrp
  maps Python levels: ERROR->err, WARNING->warning, INFO and the detail
  levels->info, DEBUG->debug (a `daemon.info` selector still sees them all).
- console (-l, and only without a fork, as keepalived): stderr,
  `Wed Nov 25 21:30:46 2026: message` (strftime %c in the C locale).
- file (-g): `Wed Nov 25 21:30:46.123456789 2026: message`, appended;
  flushed per line with --flush-log-file (Debian's 2.2.7 lacks -g).
- -D: detail lines (level DETAIL) are logged; -D -D adds EXTRA_DETAIL.

A syslog that is slow never holds back the event loop: lines are queued
and a thread sends them, blocking as glibc does; a missing socket or a
backlog past 10000 lines drops lines, and the number dropped is logged once
syslog takes lines again.  A socket that cannot be reached is retried with
an exponential back-off (0.1 s doubling to 60 s, one warning per outage);
meanwhile a line costs the caller one stat() of the socket path and nothing
else: no formatting, no thread woken (issue 6: with no /dev/log, two failed
connects per line in the sender thread took the GIL from the event loop and
a burst's deferred lines drained at 2-5 per 2 ms).  A socket that appears or
is replaced (syslogd restarted) ends the back-off at once.  The test-only environment variable
FASTVRRP_TEST_SYSLOG names another socket than /dev/log.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import socket
import sys
import threading
import time
import weakref
from typing import Optional

DETAIL = logging.INFO - 1          # -D (keepalived's LOG_DETAIL)
EXTRA_DETAIL = logging.INFO - 2    # -D -D (LOG_EXTRA_DETAIL)
logging.addLevelName(DETAIL, "DETAIL")
logging.addLevelName(EXTRA_DETAIL, "EXTRA_DETAIL")

PARENT_IDENT = "Keepalived"         # keepalived's PACKAGE_NAME (parent process)
VRRP_IDENT = "Keepalived_vrrp"      # keepalived's PROG_VRRP (VRRP process)
PARENT_LOGGER = "fastvrrp.daemon.process"    # what keepalived's parent logs goes here
PARENT_LOGGERS = (PARENT_LOGGER,)
SYSLOG_PATH = "/dev/log"
SYSLOG_ENV = "FASTVRRP_TEST_SYSLOG"

# RFC 5424 §6.2.1 severities
_SEVERITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
             (EXTRA_DETAIL, 6), (0, 7))


def severity(levelno: int) -> int:
    for threshold, value in _SEVERITY:
        if levelno >= threshold:
            return value
    return 7


def make_ident(base: str, namespace: Optional[str] = None,
               instance: Optional[str] = None) -> str:
    """keepalived make_syslog_ident: base[_namespace][_instance]."""
    return base + ("_" + namespace if namespace else "") + ("_" + instance if instance else "")


def level_for(detail: int) -> int:
    return {0: logging.INFO, 1: DETAIL}.get(detail, EXTRA_DETAIL)


def _lines(record: logging.LogRecord, formatter: logging.Formatter) -> list[str]:
    """The record's message, and traceback if any, one entry per line."""
    text = record.getMessage()
    if record.exc_info:
        text = text + "\n" + formatter.formatException(record.exc_info)
    if record.stack_info:
        text = text + "\n" + formatter.formatStack(record.stack_info)
    return text.split("\n")


class _Stamps:
    """time.strftime(fmt, localtime(second)) per whole second, the last one kept
    (issue 6: a burst of transitions logs thousands of lines in the same second)."""

    __slots__ = ("fmt", "_second", "_text")

    def __init__(self, fmt: str):
        self.fmt = fmt
        self._second = None
        self._text = ""

    def __call__(self, second: int) -> str:
        if second != self._second:
            self._text = time.strftime(self.fmt, time.localtime(second))
            self._second = second
        return self._text


def _stamped(stamp: str, record: logging.LogRecord, formatter: logging.Formatter) -> str:
    if record.exc_info or record.stack_info:
        return "\n".join("%s: %s" % (stamp, line) for line in _lines(record, formatter))
    text = record.getMessage()
    if "\n" not in text:
        return "%s: %s" % (stamp, text)
    return "\n".join("%s: %s" % (stamp, line) for line in text.split("\n"))


class ConsoleFormatter(logging.Formatter):
    """keepalived's console line: `%c: message` (C locale), per line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stamps = _Stamps("%a %b %e %H:%M:%S %Y")

    def format(self, record: logging.LogRecord) -> str:
        return _stamped(self._stamps(int(record.created)), record, self)


class FileFormatter(logging.Formatter):
    """keepalived's log file line: `%a %b %d %T.<ns> %Y: message`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the second's text with a %09d left for the nanoseconds ("%%" -> "%")
        self._stamps = _Stamps("%a %b %d %H:%M:%S.%%09d %Y")

    def format(self, record: logging.LogRecord) -> str:
        # record.created is a float: microseconds are what it really holds
        us = round(record.created * 1_000_000)
        stamp = self._stamps(us // 1_000_000) % (us % 1_000_000 * 1000)
        return _stamped(stamp, record, self)


_SYSLOG_HANDLERS: "weakref.WeakSet[SyslogHandler]" = weakref.WeakSet()


def _stat_key(path: str):
    """What identifies the socket file now (None: missing); a change means a
    (re)started syslogd."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


def _after_fork_in_child() -> None:
    for handler in list(_SYSLOG_HANDLERS):
        handler._new_sender()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SyslogHandler(logging.Handler):
    """RFC 3164 datagrams to the local syslog socket, as glibc's syslog(3)
    with LOG_PID sends them, with the ident chosen per record.

    emit() only queues: a sender thread does the blocking sends, so a slow
    syslog holds back neither the event loop nor the order of the lines (an
    unread /dev/log takes only net.unix.max_dgram_qlen = 10 datagrams).  At
    most BACKLOG lines wait; beyond that, and when there is no syslog socket
    or a send times out, lines are dropped, counted, and the count is logged
    once syslog takes lines again."""

    MAX_LINE = 8192
    BACKLOG = 10000
    SEND_TIMEOUT_S = 5.0
    BACKOFF_MIN_S = 0.1       # first retry after a failed connect
    BACKOFF_MAX_S = 60.0      # the back-off doubles up to this

    def __init__(self, address: str = SYSLOG_PATH, facility: int = 3,
                 parent_ident: str = PARENT_IDENT, vrrp_ident: str = VRRP_IDENT):
        super().__init__()
        self.address = address
        self.facility = facility
        self.parent_ident = parent_ident
        self.vrrp_ident = vrrp_ident
        self.dropped = 0          # lost and not yet reported
        self.dropped_total = 0    # lost since start (never decreases)
        self.sent = 0
        self.connect_failures = 0  # failed connects since start
        self.warnings = 0          # "syslog unreachable" warnings logged (one per outage)
        self._sock: Optional[socket.socket] = None
        self._down_until = 0.0     # monotonic: no connect attempt before this
        self._down_key = None      # the socket path's stat key when the connect failed
        self._backoff = 0.0
        self._fmt = logging.Formatter()
        self._new_sender()
        _SYSLOG_HANDLERS.add(self)

    def _new_sender(self) -> None:
        """A fresh queue and no thread (at creation, and in a forked child)."""
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()
        self._thread: Optional[threading.Thread] = None
        self._busy = False
        self._closing = False

    def ident_for(self, record: logging.LogRecord) -> str:
        name = record.name
        for parent in PARENT_LOGGERS:
            if name == parent or name.startswith(parent + "."):
                return self.parent_ident
        return self.vrrp_ident

    def prefix(self, sev: int, ident: str, created: float, pid: int) -> str:
        """`<PRI>Mmm dd hh:mm:ss ident[pid]: ` (RFC 3164 §4.1, glibc's form)."""
        return "<%d>%s %s[%d]: " % (self.facility * 8 + sev,
                                    time.strftime("%b %e %H:%M:%S", time.localtime(created)),
                                    ident, pid)

    def datagrams(self, record: logging.LogRecord) -> list[bytes]:
        prefix = self.prefix(severity(record.levelno), self.ident_for(record), record.created,
                             record.process or os.getpid())
        return [(prefix + line).encode("utf-8", "replace")[:self.MAX_LINE]
                for line in _lines(record, self._fmt)]

    def _in_backoff(self) -> bool:
        """True while a failed connect's back-off runs and the socket path is
        unchanged (checked with one stat(): a new syslogd ends the back-off)."""
        if not self._down_until:
            return False
        if time.monotonic() >= self._down_until:
            return False
        return _stat_key(self.address) == self._down_key

    def emit(self, record: logging.LogRecord) -> None:
        if self._down_until and self._in_backoff():
            with self._cond:       # syslog unreachable: count the line, nothing more
                self.dropped += 1
                self.dropped_total += 1
            return
        try:
            data = self.datagrams(record)
        except Exception:   # a bad format string must not take the daemon down
            data = [(self.prefix(3, self.vrrp_ident, time.time(), os.getpid())
                     + "unprintable log message %r" % (record.msg,)).encode("utf-8", "replace")]
        with self._cond:
            if self._closing:
                return
            for datagram in data:
                if len(self._queue) >= self.BACKLOG:
                    self.dropped += 1
                    self.dropped_total += 1
                else:
                    self._queue.append(datagram)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fastvrrp-syslog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    # the sender thread ------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                # everything queued at once: one wake-up per batch, not per line
                batch, self._queue = self._queue, collections.deque()
                self._busy = True
            try:
                self._send_batch(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _send_batch(self, batch: collections.deque) -> None:
        while batch:
            if self._sock is None and self._in_backoff():
                lost = len(batch)      # still unreachable: no connect per line
                batch.clear()
                with self._cond:
                    self.dropped += lost
                    self.dropped_total += lost
                return
            datagram = batch.popleft()
            with self._cond:
                dropped = self.dropped
            ok = None
            if dropped:
                if self._deliver(self._note(dropped)):
                    with self._cond:
                        self.dropped -= dropped
                elif self._sock is None:
                    ok = False         # the note found syslog unreachable: no second connect
            if ok is None:
                ok = self._deliver(datagram)
            if ok:
                self.sent += 1
            else:
                with self._cond:
                    self.dropped += 1
                    self.dropped_total += 1

    def _note(self, dropped: int) -> bytes:
        return (self.prefix(4, self.vrrp_ident, time.time(), os.getpid())
                + "%d log message(s) dropped: syslog socket unavailable or full"
                % dropped).encode()

    def _deliver(self, datagram: bytes) -> bool:
        """One blocking send (bounded by SEND_TIMEOUT_S), reconnecting once."""
        for _ in (0, 1):
            if self._sock is None and not self._connect():
                return False
            try:
                self._sock.send(datagram)
                return True
            except socket.timeout:
                return False
            except OSError as exc:
                self._close_socket()
                if exc.errno == errno.EMSGSIZE and len(datagram) > 2048:
                    datagram = datagram[:2048]
        return False

    def _connect(self) -> bool:
        if self._in_backoff():
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            self._connect_failed(exc)
            return False
        sock.settimeout(self.SEND_TIMEOUT_S)
        self._sock = sock
        self._down_until = 0.0
        self._backoff = 0.0
        return True

    def _connect_failed(self, exc: OSError) -> None:
        """Back off (exponentially) before the next connect; warn once per outage."""
        self.connect_failures += 1
        first = not self._backoff
        self._backoff = min(self.BACKOFF_MAX_S, max(self.BACKOFF_MIN_S, self._backoff * 2))
        self._down_key = _stat_key(self.address)
        self._down_until = time.monotonic() + self._backoff
        if first:
            self.warnings += 1
            # through the other handlers (console, file); this one counts it as dropped
            logging.getLogger(__name__).warning(
                "cannot reach the syslog socket %s (%s): log lines to syslog are dropped "
                "and counted, retrying with back-off", self.address,
                exc.strerror or exc)

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # ------------------------------------------------------------------
    def flush(self, timeout: float = 1.0) -> None:
        """Wait (at most `timeout`) until every queued line has been sent."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._queue or self._busy) and self._thread is not None \
                    and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closing = True
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(0.5)     # a daemon thread stuck in send() is left to its timeout
        self._close_socket()
        _SYSLOG_HANDLERS.discard(self)
        super().close()


class SafeStreamHandler(logging.StreamHandler):
    """A console/file handler that goes quiet instead of raising (EPIPE, full disk)."""

    def __init__(self, stream, flush_each: bool = True):
        super().__init__(stream)
        self.flush_each = flush_each
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed:
            return
        try:
            self.stream.write(self.format(record) + self.terminator)
            if self.flush_each:
                self.stream.flush()
        except (OSError, ValueError):
            self.failed = True
        except Exception:
            pass


class LogState:
    """The handlers installed by setup()."""

    def __init__(self):
        self.syslog: Optional[SyslogHandler] = None
        self.console: Optional[SafeStreamHandler] = None
        self.file: Optional[SafeStreamHandler] = None
        self.file_error: Optional[str] = None
        self.handlers: list[logging.Handler] = []

    def set_names(self, namespace: Optional[str], instance: Optional[str]) -> Optional[str]:
        """keepalived: with net_namespace/instance the idents change.  Returns
        the new VRRP ident when it changed (for the caller to log)."""
        if self.syslog is None or not (namespace or instance):
            return None
        self.syslog.parent_ident = make_ident(PARENT_IDENT, namespace, instance)
        new = make_ident(VRRP_IDENT, namespace, instance)
        changed = new != self.syslog.vrrp_ident
        self.syslog.vrrp_ident = new
        return new if changed else None


_state: Optional[LogState] = None


def setup(options, *, stream=None, syslog_address: Optional[str] = None) -> LogState:
    """Install keepalived-style logging for `options` (-l -n -D -S -G -g).
    Replaces what an earlier setup() installed."""
    global _state
    teardown()
    state = LogState()
    root = logging.getLogger()
    root.setLevel(level_for(options.log_detail))
    if options.log_console and options.dont_fork:
        state.console = SafeStreamHandler(stream if stream is not None else sys.stderr)
        state.console.setFormatter(ConsoleFormatter())
    if not options.no_syslog:
        address = syslog_address or os.environ.get(SYSLOG_ENV) or SYSLOG_PATH
        state.syslog = SyslogHandler(address, options.log_facility)
    if options.log_file:
        try:
            fd = os.open(options.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644)
            fh = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
            state.file = SafeStreamHandler(fh, flush_each=options.flush_log_file)
            state.file.setFormatter(FileFormatter())
        except OSError as exc:
            state.file_error = "cannot open log file %s: %s" % (options.log_file, exc.strerror)
    state.handlers = [h for h in (state.console, state.syslog, state.file) if h is not None]
    for handler in state.handlers:
        root.addHandler(handler)
    if not state.handlers:
        root.addHandler(logging.NullHandler())
        state.handlers.append(root.handlers[-1])
    _state = state
    return state


def teardown() -> None:
    """Remove (flush, close) what setup() installed."""
    global _state
    if _state is None:
        return
    root = logging.getLogger()
    for handler in _state.handlers:
        root.removeHandler(handler)
        try:
            handler.flush()
            handler.close()
            if isinstance(handler, SafeStreamHandler) and handler is _state.file:
                handler.stream.close()
        except (OSError, ValueError):
            pass
    _state = None
