"""Run external programs (vrrp_script checks, later notify scripts) on the event loop.

keepalived (2.2.7 lib/notify.c `system_call_script`, vrrp_scheduler.c
`vrrp_script_child_thread`) forks, drops to the script's uid/gid (clearing the
supplementary groups to that gid), moves the child into its own process group
(`setpgid(0, 0)`), sets `PR_SET_PDEATHSIG` to SIGTERM, points stdin, stdout
and stderr at /dev/null, closes every other descriptor and execve()s argv
with keepalived's own environment: there is no shell.  A run that outlives its
timeout gets SIGTERM on its whole process group, then SIGKILL two seconds
later (and again every 2 s, then 10 s, while it still refuses to die).

Here the same is done with `subprocess.Popen` (`process_group=0`,
`close_fds=True`, `user=`/`group=`/`extra_groups=`), and the child is reaped
through a pidfd watched by the loop: no SIGCHLD handler, no child watcher, no
thread, and the same code on asyncio's loop and on uvloop.  Every child is
reaped (a test scans /proc for zombies), nothing blocks the loop beyond the
fork/exec itself, and nothing is raised into the caller: a program that
cannot be started, exits non-zero, dies of a signal or times out is a
`RunResult`.

The one piece of keepalived's child set-up that subprocess cannot express is
PR_SET_PDEATHSIG (the child dies with the daemon, even on SIGKILL).  A
`preexec_fn` could make the prctl() call, but it forces fork() instead of
vfork(): measured here, start() then blocks the loop ~2 ms for a small
daemon and ~22 ms for a 500 MB one, against ~0.14 ms with vfork.  So the
child execs util-linux `setpriv --pdeathsig TERM -- argv...` instead, which
sets the signal in the child itself and execs the program (same pid, same
process group); it also switches uid/gid/groups, which would cost subprocess
its vfork() too.  Where setpriv lacks --pdeathsig the children simply do not
get one and subprocess switches the user.  Because setpriv reports a failed exec only as exit 126/127, an
absolute argv[0] that is missing or has no x bit is refused before spawning,
with keepalived's "Error exec-ing command" line.

With `ScriptRunner(spawn_thread=True)` (the daemon's runner) the
fork/exec itself happens on a helper thread: vfork() suspends the calling
thread until the child has exec'd, and on a busy machine the new child
waits its turn for a CPU first, so a spawn measured 1.6 ms on average and
up to tens of ms under load (issue 6: 200 notify scripts in a burst of
transitions held the event loop for hundreds of ms).  CPython drops the GIL
around vfork() (3.11.6+, gh-104372), so the loop runs on meanwhile; the
child is then watched from the loop exactly as above.  start() returns at
once with `pid` still None; the run's timeout counts from the spawn;
terminate() before the spawn stops the child as soon as it exists.  Runs
are taken in the order they were started, by a few threads at once.

Deliberate differences from 2.2.7, all about not counting a broken check as
healthy: keepalived's child exits 0 when execve() fails (so a deleted check
script "succeeds"), and its system() path maps the shell's 126/127 to 0; here
an exec failure is `Outcome.SPAWN_FAILED` and 126/127 stay non-zero exits.
A run that was timed out is `Outcome.TIMED_OUT` however it ended (keepalived
takes a script that traps SIGTERM and exits 0 as a success), and after a
timeout the whole process group is SIGKILLed once the leader is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import os
import queue
import shutil
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

log = logging.getLogger("fastvrrp.track.runner")

TERM_GRACE_S = 2.0        # keepalived: SIGKILL 2 s after SIGTERM
STUCK_RETRY_S = 10.0      # keepalived: "failed to terminate after kill", retry every 10 s
SHUTDOWN_GRACE_S = 1.0    # keepalived script_killall: SIGKILL 1 s after SIGTERM at shutdown
_POLL_S = 0.01            # fallback reaping period where pidfd_open() is missing


class Outcome(enum.Enum):
    EXITED = "exited"              # exit() with a status (0 = success)
    SIGNALED = "signaled"          # killed by a signal we did not send
    TIMED_OUT = "timed_out"        # our timeout fired; we killed its process group
    TERMINATED = "terminated"      # stopped on request (shutdown, handle.terminate())
    SPAWN_FAILED = "spawn_failed"  # never ran: ENOENT, EACCES, bad user, fork failure ...
    LOST = "lost"                  # someone else reaped it (ECHILD); status unknown


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """What to run.  `argv[0]` is a path (no PATH search: security.py resolves it).

    `uid`/`gid` None: run as the daemon.  With either set, the supplementary
    groups are cleared to `extra_groups` (default: just the gid), as
    keepalived's set_script_env does.  `env` None: the daemon's environment.
    `shell=True` is keepalived's system() special case: argv is rendered
    with keepalived's quoting (`cmd_str`) and run with `shell_path -c`.
    """
    argv: tuple[str, ...]
    uid: Optional[int] = None
    gid: Optional[int] = None
    extra_groups: Optional[tuple[int, ...]] = None
    env: Optional[Mapping[str, str]] = None
    shell: bool = False
    name: str = ""

    def __post_init__(self):
        if isinstance(self.argv, (str, bytes)) or not isinstance(self.argv, (tuple, list)):
            raise ValueError("argv must be a sequence of strings, not %r" % (self.argv,))
        if not self.argv:
            raise ValueError("argv must not be empty")
        object.__setattr__(self, "argv", tuple(self.argv))
        for word in self.argv:
            if not isinstance(word, str):
                raise ValueError("argv words must be strings, not %r" % (word,))
            if "\0" in word:
                raise ValueError("argv word %r contains a NUL byte" % (word,))
        if not self.argv[0]:
            raise ValueError("argv[0] must not be empty")
        for what in ("uid", "gid"):
            value = getattr(self, what)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError("%s must be a non-negative integer or None, not %r"
                                 % (what, value))
        if self.extra_groups is not None:
            groups = tuple(self.extra_groups)
            if any(not isinstance(g, int) or isinstance(g, bool) or g < 0 for g in groups):
                raise ValueError("extra_groups must be non-negative integers, not %r" % (groups,))
            object.__setattr__(self, "extra_groups", groups)

    @property
    def label(self) -> str:
        return self.name or self.argv[0]

    def command_string(self) -> str:
        """keepalived's `cmd_str`: every word single-quoted, except a first
        word starting with `<` or `>` (the bash file-test special case)."""
        out = []
        for i, word in enumerate(self.argv):
            if i == 0 and word[:1] in ("<", ">"):
                out.append(word)
            else:
                out.append("'%s'" % word)
        return " ".join(out)


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: Outcome
    pid: Optional[int] = None
    exit_status: Optional[int] = None    # EXITED (and a timed-out run that exited)
    signal: Optional[int] = None         # SIGNALED, or the signal that ended a TIMED_OUT run
    errno: Optional[int] = None          # SPAWN_FAILED
    error: str = ""                      # SPAWN_FAILED / LOST: what went wrong
    started_ns: int = 0
    ended_ns: int = 0

    @property
    def success(self) -> bool:
        return self.outcome is Outcome.EXITED and self.exit_status == 0

    @property
    def duration_ns(self) -> int:
        return max(0, self.ended_ns - self.started_ns)

    def describe(self) -> str:
        """Why a run failed, worded like keepalived's `(%s %d)` reasons."""
        if self.outcome is Outcome.EXITED:
            return "exited with status %d" % self.exit_status
        if self.outcome is Outcome.SIGNALED:
            return "due to signal %d" % self.signal
        if self.outcome is Outcome.TIMED_OUT:
            return "timed out"
        if self.outcome is Outcome.TERMINATED:
            return "terminated"
        if self.outcome is Outcome.SPAWN_FAILED:
            return "could not be executed: %s" % self.error
        return "lost: %s" % self.error


class _Phase(enum.Enum):
    RUNNING = 0
    REQUESTING_TERMINATION = 1   # SIGTERM sent to the group
    FORCING_TERMINATION = 2      # SIGKILL sent to the group
    DONE = 3


_SETPRIV_CACHE: dict = {}


def pdeathsig_helper() -> Optional[str]:
    """The setpriv binary when it supports --pdeathsig (checked once), else None."""
    if "path" not in _SETPRIV_CACHE:
        found = None
        path = shutil.which("setpriv") or next(
            (p for p in ("/usr/bin/setpriv", "/bin/setpriv") if os.access(p, os.X_OK)), None)
        if path is not None:
            try:
                out = subprocess.run([path, "--help"], stdin=subprocess.DEVNULL,
                                     capture_output=True, text=True, timeout=5, check=False)
                if "--pdeathsig" in out.stdout + out.stderr:
                    found = path
            except (OSError, subprocess.SubprocessError):
                found = None
        if found is None:
            log.debug("setpriv --pdeathsig unavailable: scripts will outlive a killed daemon")
        _SETPRIV_CACHE["path"] = found
    return _SETPRIV_CACHE["path"]


def _precheck(path: str) -> Optional[OSError]:
    """Why execve(path) must fail (ENOENT, EACCES), as far as a stat can tell."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return exc
    any_x = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & any_x:
        return PermissionError(13, os.strerror(13), path)
    return None


class RunHandle:
    """One running child.  `result` is set once it has been reaped."""

    __slots__ = ("_runner", "spec", "pid", "timeout_s", "result", "_on_exit", "_popen",
                 "_pidfd", "_phase", "_timer", "_timed_out", "_terminated", "_started_ns",
                 "_waiters", "_pending_grace")

    def __init__(self, runner: "ScriptRunner", spec: ChildSpec, timeout_s: Optional[float],
                 on_exit: Optional[Callable[[RunResult], None]]):
        self._runner = runner
        self.spec = spec
        self.timeout_s = timeout_s
        self._on_exit = on_exit
        self.pid: Optional[int] = None
        self.result: Optional[RunResult] = None
        self._popen: Optional[subprocess.Popen] = None
        self._pidfd = -1
        self._phase = _Phase.RUNNING
        self._timer = None
        self._timed_out = False
        self._terminated = False
        self._started_ns = 0
        self._waiters: list[asyncio.Future] = []
        self._pending_grace: Optional[float] = None   # terminate() before the spawn

    # ------------------------------------------------------------ state

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def terminating(self) -> bool:
        """True once SIGTERM/SIGKILL has been sent (keepalived: "being timed out")."""
        return self._phase in (_Phase.REQUESTING_TERMINATION, _Phase.FORCING_TERMINATION)

    def __repr__(self):
        return "<RunHandle %s pid=%s %s>" % (self.spec.label, self.pid, self._phase.name)

    async def wait(self) -> RunResult:
        """The result, once the child has been reaped."""
        if self.result is not None:
            return self.result
        fut = self._runner._loop.create_future()
        self._waiters.append(fut)
        return await fut

    def terminate(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """SIGTERM the process group now, SIGKILL after `grace_s`."""
        if self.result is not None or self._phase is not _Phase.RUNNING:
            return
        self._terminated = True
        if self.pid is None:            # still waiting for the spawner thread
            self._pending_grace = grace_s
            return
        self._begin_termination(grace_s)

    # ------------------------------------------------------------ spawning

    def _spawn(self) -> None:
        runner, spec = self._runner, self.spec
        self._started_ns = runner._clock()
        argv = list(spec.argv)
        if spec.shell:
            argv = [runner.shell_path, "-c", spec.command_string()]
        kwargs = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, close_fds=True, process_group=0,
                      restore_signals=True)
        if spec.env is not None:
            kwargs["env"] = dict(spec.env)
        switch = spec.uid is not None or spec.gid is not None
        groups = spec.extra_groups
        if switch and groups is None:
            groups = (spec.gid if spec.gid is not None else os.getegid(),)
        setpriv = runner._setpriv
        if switch and setpriv is None:
            # keepalived set_script_env: setgid, setgroups(1, &gid), setuid
            # (subprocess then forks instead of vforking: see the module doc)
            if spec.gid is not None:
                kwargs["group"] = spec.gid
            if spec.uid is not None:
                kwargs["user"] = spec.uid
            kwargs["extra_groups"] = list(groups)
        try:
            if setpriv is not None:
                if not spec.shell and "/" in argv[0]:
                    refused = _precheck(argv[0])
                    if refused is not None:
                        raise refused
                prefix = [setpriv, "--pdeathsig", runner._pdeathsig_name]
                if switch:
                    # setpriv copies the new uid/gid into the saved ids too
                    if spec.gid is not None:
                        prefix += ["--regid", str(spec.gid)]
                    if spec.uid is not None:
                        prefix += ["--reuid", str(spec.uid)]
                    prefix += ["--groups", ",".join(str(g) for g in groups)] if groups \
                        else ["--clear-groups"]
                argv = prefix + ["--"] + argv
            if runner._spawner is not None:
                runner._spawner.submit(self, argv, kwargs)
                return
            popen = subprocess.Popen(argv, **kwargs)
        except (OSError, subprocess.SubprocessError, ValueError, TypeError, KeyError) as exc:
            self._spawn_failed(exc, argv)
            return
        self._launched(popen)

    def _spawn_failed(self, exc: BaseException, argv) -> None:
        runner = self._runner
        if isinstance(exc, OSError):
            code = exc.errno
            path = exc.filename if exc.filename is not None else argv[0]
            log.error("Error exec-ing command '%s', error %s: %s", path, code,
                      exc.strerror or exc)
            self._finish(RunResult(Outcome.SPAWN_FAILED, errno=code,
                                   error="%s: %s" % (exc.strerror or exc, path),
                                   started_ns=self._started_ns, ended_ns=runner._clock()))
        else:
            log.error("Error exec-ing command '%s': %s", argv[0], exc)
            self._finish(RunResult(Outcome.SPAWN_FAILED, error=str(exc) or type(exc).__name__,
                                   started_ns=self._started_ns, ended_ns=runner._clock()))

    def _from_spawner(self, popen, exc, argv) -> None:
        """On the loop: the spawner thread's outcome (a Popen, or what it raised)."""
        if self.result is not None:
            return
        if exc is not None:
            self._spawn_failed(exc, argv)
            return
        try:
            self._launched(popen)
        except Exception as err:       # pidfd/loop trouble after the fork: still a result
            log.exception("starting %s failed", self.spec.label)
            self._runner._after_start_error(self, err)

    def _launched(self, popen: subprocess.Popen) -> None:
        runner = self._runner
        self._popen = popen
        self.pid = popen.pid
        log.debug("Running script %s with pid %d", self.spec.label, self.pid)
        loop = runner._loop
        try:
            self._pidfd = os.pidfd_open(self.pid)
            loop.add_reader(self._pidfd, self._reap)
        except (OSError, AttributeError, NotImplementedError, ValueError, RuntimeError):
            if self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1
            self._timer_poll()
        if self.timeout_s is not None and self.result is None:
            self._timer = loop.call_later(self.timeout_s, self._on_timeout)
        if self._pending_grace is not None and self.result is None:
            grace, self._pending_grace = self._pending_grace, None
            self._begin_termination(grace)

    # ------------------------------------------------------------ timeouts

    def _on_timeout(self) -> None:
        self._timer = None
        if self.result is not None:
            return
        self._timed_out = True
        log.debug("Script %s (PID %d) timed out after %gs", self.spec.label, self.pid,
                  self.timeout_s)
        self._begin_termination(self._runner.term_grace_s)

    def _begin_termination(self, grace_s: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._phase = _Phase.REQUESTING_TERMINATION
        log.debug("Sending TERM to %d", self.pid)
        self._kill_group(signal.SIGTERM)
        if self.result is None:
            self._timer = self._runner._loop.call_later(grace_s, self._on_kill_due)

    def _on_kill_due(self) -> None:
        self._timer = None
        if self.result is not None:
            return
        if self._phase is _Phase.REQUESTING_TERMINATION:
            self._phase = _Phase.FORCING_TERMINATION
            log.debug("Sending KILL to %d", self.pid)
            retry = self._runner.term_grace_s
        else:
            log.info("Script %s child (PID %d) failed to terminate after kill",
                     self.spec.label, self.pid)
            retry = STUCK_RETRY_S
        self._kill_group(signal.SIGKILL)
        if self.result is None:
            self._timer = self._runner._loop.call_later(retry, self._on_kill_due)

    def _kill_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            # The group is gone; the leader is a zombie waiting for _reap (or was lost).
            pass
        except OSError as exc:
            log.info("kill -%d of process %s(%d) with new state %u failed with errno %d",
                     signum, self.spec.argv[0], self.pid, self._phase.value, exc.errno)

    # ------------------------------------------------------------ reaping

    def _timer_poll(self) -> None:
        if self.result is None and not self._reap():
            self._runner._loop.call_later(_POLL_S, self._timer_poll)

    def _reap(self) -> bool:
        """Collect the exit status if the child has exited; True when done."""
        if self.result is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            log.info("Script %s child (PID %d) lost", self.spec.label, self.pid)
            self._finish(self._result(Outcome.LOST, error="reaped by someone else"))
            return True
        except InterruptedError:
            return False
        if pid == 0:
            return False
        if self._popen is not None:
            self._popen.returncode = os.waitstatus_to_exitcode(status)
        self._finish(self._classify(status))
        return True

    def _result(self, outcome: Outcome, **kw) -> RunResult:
        return RunResult(outcome, pid=self.pid, started_ns=self._started_ns,
                         ended_ns=self._runner._clock(), **kw)

    def _classify(self, status: int) -> RunResult:
        stopped = self._timed_out or self._terminated
        if stopped:
            # Whatever the leader did, nothing of this run may survive it.
            self._kill_group(signal.SIGKILL)
        stopped_as = Outcome.TIMED_OUT if self._timed_out else Outcome.TERMINATED
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            if stopped:
                return self._result(stopped_as, exit_status=code)
            if self.spec.shell and code == 127:
                log.error("Couldn't find command: %s", self.spec.command_string())
            elif self.spec.shell and code == 126:
                log.error("Couldn't execute command: %s", self.spec.command_string())
            return self._result(Outcome.EXITED, exit_status=code)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if stopped:
                return self._result(stopped_as, signal=sig)
            return self._result(Outcome.SIGNALED, signal=sig)
        return self._result(Outcome.LOST, error="unexpected wait status 0x%x" % status)

    def _finish(self, result: RunResult) -> None:
        self.result = result
        self._phase = _Phase.DONE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pidfd >= 0:
            try:
                self._runner._loop.remove_reader(self._pidfd)
            finally:
                os.close(self._pidfd)
                self._pidfd = -1
        self._runner._forget(self)
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(result)
        self._waiters.clear()
        if self._on_exit is not None:
            callback, self._on_exit = self._on_exit, None
            try:
                callback(result)
            except Exception:  # an observer's bug must not take the runner down
                log.exception("exit callback for %s failed", self.spec.label)


def _check_timeout(timeout_s) -> Optional[float]:
    if timeout_s is None:
        return None
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)):
        raise ValueError("timeout must be a number of seconds or None, not %r" % (timeout_s,))
    if not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError("timeout must be a positive finite number of seconds, not %r"
                         % (timeout_s,))
    return float(timeout_s)


class ScriptRunner:
    """Starts children on `loop` and reports each one's `RunResult`.

    `start(spec, timeout_s, on_exit)` returns at once with a `RunHandle`
    (on_exit runs on the loop when the child has been reaped; for a spawn
    failure it runs before start() returns, so it may not rely on the handle
    being stored yet); `await run(spec, timeout_s)` is the same as a
    coroutine.  `shutdown()` stops everything still running, the way
    keepalived's script_killall does at exit.
    """

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, *,
                 term_grace_s: float = TERM_GRACE_S,
                 pdeathsig: Optional[int] = signal.SIGTERM,
                 shell_path: Optional[str] = None,
                 clock: Callable[[], int] = time.monotonic_ns,
                 spawn_thread: bool = False):
        self._loop = loop if loop is not None else asyncio.get_running_loop()
        if not isinstance(spawn_thread, bool):
            raise ValueError("spawn_thread must be True or False, not %r" % (spawn_thread,))
        self._spawner = _Spawner(self._loop) if spawn_thread else None
        if self._spawner is not None:
            # made now, by the loop's thread: it shares that thread's scheduling
            # (policy, priority) set at start-up, not whatever a later caller has
            self._spawner.ensure_thread()
        self.term_grace_s = _check_timeout(term_grace_s)
        if pdeathsig is not None and (isinstance(pdeathsig, bool) or not isinstance(pdeathsig, int)
                                      or not 0 < pdeathsig < signal.NSIG):
            raise ValueError("pdeathsig must be a signal number or None, not %r" % (pdeathsig,))
        self.pdeathsig = int(pdeathsig) if pdeathsig else None
        self._setpriv = pdeathsig_helper() if self.pdeathsig else None
        try:
            self._pdeathsig_name = signal.Signals(self.pdeathsig).name[3:] if self.pdeathsig else ""
        except ValueError:
            raise ValueError("pdeathsig must be a named signal, not %r" % (pdeathsig,)) from None
        self.shell_path = shell_path or default_shell()
        self._clock = clock
        self._live: set[RunHandle] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def running(self) -> int:
        return len(self._live)

    def handles(self) -> tuple[RunHandle, ...]:
        return tuple(self._live)

    def start(self, spec: ChildSpec, timeout_s: Optional[float] = None,
              on_exit: Optional[Callable[[RunResult], None]] = None) -> RunHandle:
        if not isinstance(spec, ChildSpec):
            raise ValueError("spec must be a ChildSpec, not %r" % (spec,))
        handle = RunHandle(self, spec, _check_timeout(timeout_s), on_exit)
        self._live.add(handle)
        try:
            handle._spawn()
        except Exception as exc:  # pidfd/loop trouble after the fork: still a result
            log.exception("starting %s failed", spec.label)
            self._after_start_error(handle, exc)
        return handle

    @staticmethod
    def _after_start_error(handle: RunHandle, exc: Exception) -> None:
        if handle.pid is not None and handle.result is None:
            handle._kill_group(signal.SIGKILL)
            handle._timer_poll()
        elif handle.result is None:
            handle._finish(handle._result(Outcome.SPAWN_FAILED, error=str(exc)))

    async def run(self, spec: ChildSpec, timeout_s: Optional[float] = None) -> RunResult:
        return await self.start(spec, timeout_s).wait()

    async def shutdown(self, grace_s: float = SHUTDOWN_GRACE_S) -> list[RunResult]:
        """SIGTERM every running child's group, SIGKILL after `grace_s`, reap all."""
        grace_s = _check_timeout(grace_s)
        handles = list(self._live)
        for handle in handles:
            handle.terminate(grace_s)
        return [await handle.wait() for handle in handles]

    def _forget(self, handle: RunHandle) -> None:
        self._live.discard(handle)


SPAWN_THREADS = 2     # spawns in flight at once (each waits for its child's exec)


class _Spawner:
    """The threads that fork and exec for a ScriptRunner(spawn_thread=True):
    SPAWN_THREADS children at a time, taken in submission order; each outcome
    goes back to the loop (RunHandle._from_spawner).  Daemon threads, idle in
    a queue get() (no GIL held) between spawns.  Several, because a spawn
    mostly waits for a CPU for its child (on a loaded machine, ms each);
    the order that matters, one instance's scripts, is kept by the notify
    queues, which start a run only once the one before it has ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threads: int = SPAWN_THREADS):
        self._loop = loop
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list = []
        self._count = threads
        self._lock = threading.Lock()
        self.spawned = 0

    def ensure_thread(self) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self._count:
                thread = threading.Thread(target=self._run, name="fastvrrp-spawn",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, handle: RunHandle, argv: list, kwargs: dict) -> None:
        self.ensure_thread()
        self._jobs.put((handle, argv, kwargs))

    def _run(self) -> None:
        while True:
            handle, argv, kwargs = self._jobs.get()
            popen, exc = None, None
            try:
                popen = subprocess.Popen(argv, **kwargs)
                self.spawned += 1
            except BaseException as err:   # reported on the loop as a spawn failure
                exc = err
            try:
                self._loop.call_soon_threadsafe(handle._from_spawner, popen, exc, argv)
            except RuntimeError:           # the loop is closed: nobody will reap it
                if popen is not None:
                    with contextlib.suppress(OSError):
                        os.killpg(popen.pid, signal.SIGKILL)
                    with contextlib.suppress(OSError):
                        popen.wait()


def default_shell() -> str:
    """The shell for keepalived's system() special case (`"</dev/tcp/host/port"`).

    keepalived calls system(), i.e. /bin/sh; configs using `</dev/tcp/...`
    were written for bash (the /bin/sh of the distributions keepalived's
    documentation assumes) and always fail under dash.  bash is used when
    present so such a check means what its author meant.
    """
    for candidate in ("/bin/bash", "/usr/bin/bash"):
        if os.access(candidate, os.X_OK):
            return candidate
    return "/bin/sh"


__all__ = ["ChildSpec", "Outcome", "RunHandle", "RunResult", "ScriptRunner", "default_shell",
           "TERM_GRACE_S", "SHUTDOWN_GRACE_S"]
