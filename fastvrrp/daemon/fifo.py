"""keepalived's notify FIFOs: `notify_fifo` and `vrrp_notify_fifo` (reference §3.16).

Every instance and sync-group notification is also written as one line,

    INSTANCE "VI_1" MASTER 100\\n        GROUP "G1" BACKUP 0\\n

(keepalived 2.2.7 vrrp_notify.c `notify_fifo`: `TYPE "NAME" STATE PRIO`),
to the global FIFO and to the VRRP FIFO.  A FIFO is opened the way
keepalived's lib/notify.c `fifo_open` does it:

1. `mkfifo(path, 0644)` (the process umask applies, as in keepalived, whose
   default umask 0177 leaves 0600); when created, chown it to the FIFO's
   user (`notify_fifo PATH [USER [GROUP]]`, else the default script user) and
   remember to unlink it at exit.  An existing path is used only when it is
   a FIFO owned by us or by that user (keepalived checks this from 2.4 on;
   2.2.7 would open and write a planted regular file);
2. start the FIFO script (`notify_fifo_script CMD`) with the FIFO path as its
   last argument, before the FIFO is opened, with no timeout;
3. open it `O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW`.  O_RDWR makes the
   daemon a reader too, so the open never fails for want of a reader (a
   write-only non-blocking open would fail with ENXIO), a reader's blocking
   open for reading returns at once, and a reader that goes away never
   costs an EPIPE/SIGPIPE.  The price, the same as keepalived's: while no one
   reads, lines pile up in the pipe buffer (64 KiB by default) and a reader
   that comes later first gets those.

Writes never block: a line that does not fit (EAGAIN, the reader is not
keeping up) is lost, as in keepalived, but counted (`lines_lost`) and the
first loss of a run of losses is logged.  A line is at most PIPE_BUF bytes, so
the kernel writes it whole or not at all: a reader never sees half a line.

At exit (`close()`): give a reader that is still consuming a moment to
read what is buffered (keepalived does not: it SIGTERMs the FIFO script
before it even writes the STOP lines), SIGTERM the script's process group
(SIGKILL 1 s later), unlink the FIFO if we created it (first, so a script
that loops reopening it cannot get it back), close it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import stat
import termios
from array import array
from typing import Callable, Iterable, Optional

from ..track.runner import SHUTDOWN_GRACE_S, ChildSpec, RunHandle, RunResult, ScriptRunner

log = logging.getLogger("fastvrrp.daemon.fifo")

PIPE_BUF = 4096            # POSIX: writes up to this size are atomic (Linux: 4096)
FIFO_MODE = 0o644          # keepalived: S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH
DRAIN_S = 1.0              # at close: how long a reader may take to empty the pipe
DRAIN_STALL_S = 0.2        # ... giving up earlier when it stops making progress
_DRAIN_POLL_S = 0.01

KINDS = ("INSTANCE", "GROUP")
# keepalived 2.2.7 vrrp_notify.c notify_fifo(): every STATE word a line can carry
FIFO_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED", "MASTER_RX_LOWER_PRI",
               "MASTER_PRIORITY", "BACKUP_PRIORITY")


class FifoError(ValueError):
    """A bad argument to the FIFO API (never raised for I/O trouble: that is logged)."""


def format_line(kind: str, name: str, state: str, priority: int) -> bytes:
    """keepalived's FIFO line: `TYPE "NAME" STATE PRIO\\n` (vrrp_notify.c notify_fifo).

    PRIO is the instance's effective priority (RFC 5798 §5.2.4 Priority as
    advertised), 0 for a group.
    """
    if kind not in KINDS:
        raise FifoError("FIFO line type must be one of %s, not %r" % ("/".join(KINDS), kind))
    if state not in FIFO_STATES:
        raise FifoError("FIFO line state must be one of %s, not %r"
                        % ("/".join(FIFO_STATES), state))
    if not isinstance(name, str) or not name:
        raise FifoError("FIFO line name must be a non-empty string, not %r" % (name,))
    if "\n" in name or "\0" in name:
        raise FifoError("FIFO line name %r contains a newline or NUL" % (name,))
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise FifoError("FIFO line priority must be an integer 0-255, not %r" % (priority,))
    return ('%s "%s" %s %d\n' % (kind, name, state, priority)).encode("utf-8", "surrogateescape")


def parse_line(line: str) -> tuple[str, str, str, int]:
    """The inverse of format_line (without the newline), for readers and tests."""
    try:
        kind, rest = line.split(" ", 1)
        if not rest.startswith('"'):
            raise ValueError
        name, tail = rest[1:].rsplit('" ', 1)
        state, prio = tail.split(" ")
        priority = int(prio)
    except ValueError:
        raise FifoError("not a notify FIFO line: %r" % (line,)) from None
    if kind not in KINDS or state not in FIFO_STATES or not 0 <= priority <= 255 or \
            prio != str(priority):
        raise FifoError("not a notify FIFO line: %r" % (line,))
    return kind, name, state, priority


class NotifyFifo:
    """One notify FIFO and its optional reader script.

    `label` is keepalived's type prefix in log lines: "" for `notify_fifo`,
    "vrrp_" for `vrrp_notify_fifo`.  `uid`/`gid`: the FIFO's user (chown on
    create; accepted owner of an existing FIFO); None means the daemon's.
    `script`: the FIFO script without the path (appended here); it needs
    `runner`.
    """

    def __init__(self, path: str, *, label: str = "", uid: Optional[int] = None,
                 gid: Optional[int] = None, script: Optional[ChildSpec] = None,
                 runner: Optional[ScriptRunner] = None):
        if not isinstance(path, str) or not path or "\0" in path:
            raise FifoError("notify FIFO path must be a non-empty string without NUL, not %r"
                            % (path,))
        if script is not None and not isinstance(script, ChildSpec):
            raise FifoError("FIFO script must be a ChildSpec, not %r" % (script,))
        if script is not None and runner is None:
            raise FifoError("a FIFO script needs a ScriptRunner")
        for what, value in (("uid", uid), ("gid", gid)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):
                raise FifoError("FIFO %s must be a non-negative integer or None, not %r"
                                % (what, value))
        self.path = path
        self.label = label
        self.uid = uid
        self.gid = gid
        self.script = script
        self.runner = runner
        self.fd = -1
        self.created = False
        self.script_handle: Optional[RunHandle] = None
        self.lines_written = 0
        self.lines_lost = 0
        self._losing = False
        self._closed = False

    def __repr__(self):
        return "<NotifyFifo %s%s fd=%d written=%d lost=%d>" % (
            self.label, self.path, self.fd, self.lines_written, self.lines_lost)

    @property
    def is_open(self) -> bool:
        return self.fd >= 0

    # ------------------------------------------------------------ opening

    def open(self) -> bool:
        """Create (if missing), start the script, open.  False (logged) when unusable."""
        if self._closed:
            raise FifoError("notify FIFO %s was closed" % self.path)
        if self.fd >= 0:
            return True
        our_uid, our_gid = os.geteuid(), os.getegid()
        uid = our_uid if self.uid is None else self.uid
        gid = our_gid if self.gid is None else self.gid
        try:
            os.mkfifo(self.path, FIFO_MODE)
        except FileExistsError:
            if not self._existing_ok(our_uid, uid):
                return False
        except OSError as exc:
            log.info("Unable to create %snotify fifo %s (%s)", self.label, self.path,
                     exc.strerror or exc)
            return False
        else:
            self.created = True
            if uid != our_uid or gid != our_gid:
                try:
                    os.chown(self.path, uid if uid != our_uid else -1,
                             gid if gid != our_gid else -1)
                except OSError:
                    log.info("Failed to set uid:gid for fifo %s", self.path)
        self._start_script()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as exc:
            log.info("Unable to open %snotify fifo %s - errno %d", self.label, self.path,
                     exc.errno or 0)
            self._unlink_created()
            return False
        try:
            st = os.fstat(fd)
            ours = stat.S_ISFIFO(st.st_mode) and st.st_uid in (our_uid, uid)
        except OSError:
            ours = False
        if not ours:
            # Replaced between the check and the open: still refuse it.
            log.info("%snotify fifo %s is not a fifo we own - not using", self.label, self.path)
            os.close(fd)
            self._unlink_created()
            return False
        self.fd = fd
        log.debug("opened %snotify fifo %s", self.label, self.path)
        return True

    def _existing_ok(self, our_uid: int, uid: int) -> bool:
        try:
            st = os.lstat(self.path)
        except OSError as exc:
            log.info("Unable to create %snotify fifo %s (%s)", self.label, self.path,
                     exc.strerror or exc)
            return False
        if not stat.S_ISFIFO(st.st_mode) or st.st_uid not in (our_uid, uid):
            log.info("%snotify fifo %s is not a fifo we own - not using", self.label, self.path)
            return False
        return True

    def _start_script(self) -> None:
        if self.script is None:
            return
        spec = ChildSpec(self.script.argv + (self.path,), uid=self.script.uid,
                         gid=self.script.gid, extra_groups=self.script.extra_groups,
                         env=self.script.env, name=self.script.name or self.script.argv[0])
        self.script_handle = self.runner.start(spec, None, self._script_exited)

    def _script_exited(self, result: RunResult) -> None:
        # keepalived vrrp.c vrrp_notify_fifo_script_exit: logged, not restarted
        log.info("vrrp notify fifo script terminated")
        log.debug("%snotify fifo script for %s: %s", self.label, self.path, result.describe())

    # ------------------------------------------------------------ writing

    def write(self, line: bytes) -> bool:
        """Write one whole line without blocking; False (and counted) if it was lost."""
        if self.fd < 0:
            return False
        if not isinstance(line, (bytes, bytearray)) or not line.endswith(b"\n"):
            raise FifoError("a FIFO line must be bytes ending in a newline, not %r" % (line,))
        if len(line) > PIPE_BUF:
            # Could be written in pieces, interleaved with nothing but torn on EAGAIN.
            self._lost("line longer than PIPE_BUF (%d bytes)" % len(line))
            return False
        try:
            os.write(self.fd, line)
        except BlockingIOError:
            self._lost("the pipe is full: its reader is not keeping up")
            return False
        except OSError as exc:
            self._lost(exc.strerror or str(exc))
            return False
        self.lines_written += 1
        self._losing = False
        return True

    def _lost(self, why: str) -> None:
        self.lines_lost += 1
        if not self._losing:
            self._losing = True
            log.warning("%snotify fifo %s: line lost (%s); counting further losses silently",
                        self.label, self.path, why)

    def pending_bytes(self) -> int:
        """Bytes written and not yet read by anyone (FIONREAD)."""
        if self.fd < 0:
            return 0
        buf = array("i", [0])
        try:
            fcntl.ioctl(self.fd, termios.FIONREAD, buf, True)
        except OSError:
            return 0
        return buf[0]

    # ------------------------------------------------------------ closing

    async def drain(self, timeout_s: float = DRAIN_S, stall_s: float = DRAIN_STALL_S) -> bool:
        """Wait until readers took every buffered byte: True when empty.

        Gives up after `timeout_s`, or after `stall_s` without progress (no
        one is reading).  There is no readiness event for "a pipe became
        empty", so this polls FIONREAD every 10 ms; it is used only at exit.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last, last_change = self.pending_bytes(), loop.time()
        while last:
            now = loop.time()
            if now >= deadline or now - last_change >= stall_s:
                return False
            await asyncio.sleep(_DRAIN_POLL_S)
            pending = self.pending_bytes()
            if pending != last:
                last, last_change = pending, loop.time()
        return True

    async def close(self, *, drain_s: float = DRAIN_S, stall_s: float = DRAIN_STALL_S,
                    grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Let readers drain, stop the script, unlink (if ours), close.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.fd >= 0 and drain_s > 0:
            await self.drain(drain_s, stall_s)
        handle = self.script_handle
        if handle is not None and not handle.done:
            handle.terminate(grace_s)
            await handle.wait()
        self._release()

    def close_now(self) -> None:
        """Synchronous teardown (no drain, script killed at once): for error paths."""
        self._closed = True
        handle = self.script_handle
        if handle is not None and not handle.done:
            handle.terminate(0.001)
        self._release()

    def _release(self) -> None:
        """Unlink the FIFO (if we created it) and close our end."""
        self._unlink_created()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _unlink_created(self) -> None:
        if self.created:
            self.created = False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.info("Unable to remove %snotify fifo %s (%s)", self.label, self.path,
                         exc.strerror or exc)


class NotifyFifos:
    """The daemon's FIFOs (global `notify_fifo`, then `vrrp_notify_fifo`): each
    line goes to every one that is open, in that order."""

    def __init__(self, fifos: Iterable[NotifyFifo] = ()):
        self.fifos: list[NotifyFifo] = []
        for fifo in fifos:
            if not isinstance(fifo, NotifyFifo):
                raise FifoError("expected NotifyFifo objects, not %r" % (fifo,))
            if any(f.path == fifo.path for f in self.fifos):
                # keepalived global_data.c: the same FIFO twice would get every line twice
                log.info("notify FIFO %s has been specified for global and vrrp FIFO - "
                         "ignoring vrrp FIFO", fifo.path)
                continue
            self.fifos.append(fifo)

    def __bool__(self):
        return bool(self.fifos)

    def open(self) -> int:
        """Open every FIFO (keepalived order: global first); the number now open."""
        return sum(1 for fifo in self.fifos if fifo.open())

    def write_line(self, kind: str, name: str, state: str, priority: int) -> None:
        line = format_line(kind, name, state, priority)
        for fifo in self.fifos:
            fifo.write(line)

    @property
    def lines_lost(self) -> int:
        return sum(f.lines_lost for f in self.fifos)

    @property
    def lines_written(self) -> int:
        return sum(f.lines_written for f in self.fifos)

    async def close(self, *, drain_s: float = DRAIN_S,
                    grace_s: float = SHUTDOWN_GRACE_S) -> None:
        if not self.fifos:
            return
        await asyncio.gather(*(f.close(drain_s=drain_s, grace_s=grace_s) for f in self.fifos))


def fifos_from_config(global_defs, runner: Optional[ScriptRunner], default_user,
                      *, use_symlink_paths: bool = False,
                      vet: Optional[Callable] = None) -> NotifyFifos:
    """NotifyFifos for a config's global_defs (not opened yet).

    `default_user` is fastvrrp.track.security.DefaultScriptUser.  A FIFO whose
    user cannot be resolved is ignored, as keepalived does; a FIFO script that
    keepalived's checks refuse is dropped (the FIFO still works).
    """
    from ..track.security import ScriptUserError, log_messages, lookup_user, vet_notify_script
    vet = vet or vet_notify_script
    made = []
    for label, fifo_key, script_key in (("", "notify_fifo", "notify_fifo_script"),
                                        ("vrrp_", "vrrp_notify_fifo", "vrrp_notify_fifo_script")):
        fifo = getattr(global_defs, fifo_key, None)
        if fifo is None:
            continue
        if fifo.user is not None:
            try:
                uid, gid = lookup_user(fifo.user, fifo.group)
            except ScriptUserError as exc:
                log.info("%s", exc)
                log.info("Invalid user/group for %s fifo %s - ignoring", label, fifo.path)
                continue
        else:
            ids = default_user.get()
            if ids is None:
                log.info("Failed to set default user for %s fifo %s - ignoring", label, fifo.path)
                continue
            uid, gid = ids
        script = None
        command = getattr(global_defs, script_key, None)
        if command is not None:
            vetted = vet(label + "notify_fifo", command.argv, command.user, command.group,
                         default=default_user, use_symlink_paths=use_symlink_paths)
            log_messages(vetted.messages, log)
            if vetted.usable:
                script = ChildSpec(vetted.argv, uid=vetted.uid, gid=vetted.gid,
                                   name=script_key)
        made.append(NotifyFifo(fifo.path, label=label, uid=uid, gid=gid, script=script,
                               runner=runner if script is not None else None))
    return NotifyFifos(made)


__all__ = ["DRAIN_S", "FIFO_MODE", "FIFO_STATES", "FifoError", "KINDS", "NotifyFifo",
           "NotifyFifos", "PIPE_BUF", "fifos_from_config", "format_line", "parse_line"]
