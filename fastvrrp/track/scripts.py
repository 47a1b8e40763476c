"""vrrp_script tracking: run each check periodically and report OK/KO changes.

keepalived 2.2.7 (vrrp_scheduler.c `vrrp_init_script`, `vrrp_script_thread`,
`vrrp_script_child_thread`; reference §3.3):

- every script runs once immediately at start, then every `interval`
  (the next run is scheduled when a run is launched, not when it ends);
- a run still executing when the next one is due makes that run be skipped,
  with `Track script NAME is already running, expect idle - skipping run`
  (`being timed out` once the kill sequence has begun);
- the run's timeout is `timeout`, or `interval` when `timeout` is 0/unset;
  runner.py does the process-group SIGTERM / SIGKILL-after-2-s;
- exit 0 is success; a non-zero exit, a signal or a timeout is failure;
- the result feeds the rise/fall machine (risefall.py).

Deliberate difference: 2.2.7 logs the skip line and then runs the script
anyway, so a hung check piles up one process per interval (fixed upstream in
2.3.3, which really skips).  fastvrrp skips, as the log line says.  A script
that cannot be executed at all counts as a failure (2.2.7's child exits 0
after a failed execve, i.e. "success").

The tracker only reports states (`ScriptState.INIT/OK/KO`) through
`on_change(name, old, new)`; turning them into priorities and FAULT is the
daemon's job (fastvrrp.vrrp.priority), as is the initial state, read with
`state(name)` before `start()`: INIT normally, KO with `init_fail`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .registry import by_name, lookup, report_change
from .risefall import RiseFall, ScriptState
from .runner import SHUTDOWN_GRACE_S, ChildSpec, Outcome, RunResult

log = logging.getLogger("fastvrrp.track.scripts")

ChangeCallback = Callable[[str, ScriptState, ScriptState], None]


@dataclass(frozen=True, slots=True)
class TrackedScript:
    """One vrrp_script, ready to run: argv already resolved and vetted (security.py)."""
    name: str
    spec: ChildSpec
    interval_s: float = 1.0
    timeout_s: Optional[float] = None      # None or 0: the interval
    rise: int = 1
    fall: int = 1
    init_fail: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("script name must be a non-empty string, not %r" % (self.name,))
        if not isinstance(self.spec, ChildSpec):
            raise ValueError("vrrp_script %s: spec must be a ChildSpec, not %r"
                             % (self.name, self.spec))
        for what in ("interval_s", "timeout_s"):
            value = getattr(self, what)
            if what == "timeout_s" and value in (None, 0):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError("vrrp_script %s: %s must be a positive number of seconds, not %r"
                                 % (self.name, what[:-2], value))
        RiseFall(self.rise, self.fall)  # validates rise/fall with a clear message

    @property
    def run_timeout_s(self) -> float:
        return self.timeout_s if self.timeout_s else self.interval_s


def script_from_config(vscript, *, argv=None, uid=None, gid=None,
                       extra_groups=None) -> TrackedScript:
    """A TrackedScript from a config model `VrrpScript` (fastvrrp.config.model).

    `argv`, `uid`, `gid` are what security.vet_script resolved (the path found
    by PATH search and realpath, the script user); without them the
    configured argv runs as the daemon.
    """
    command = vscript.command
    words = tuple(argv) if argv is not None else tuple(command.argv)
    shell = bool(getattr(command, "is_system", False))
    spec = ChildSpec(words, uid=uid, gid=gid, extra_groups=extra_groups, shell=shell,
                     name=vscript.name)
    return TrackedScript(name=vscript.name, spec=spec,
                         interval_s=vscript.interval_us / 1e6,
                         timeout_s=(vscript.timeout_us / 1e6) or None,
                         rise=vscript.rise, fall=vscript.fall, init_fail=vscript.init_fail)


@dataclass(frozen=True, slots=True)
class ScriptStatus:
    """A snapshot for the status API and the data dump."""
    name: str
    state: ScriptState
    result: int
    rise: int
    fall: int
    last_status: int
    last_outcome: Optional[Outcome]
    runs: int
    skipped: int
    running: bool


class _Tracked:
    __slots__ = ("defn", "rf", "last_status", "handle", "timer", "runs", "skipped",
                 "last_result")

    def __init__(self, defn: TrackedScript):
        self.defn = defn
        self.rf = RiseFall(defn.rise, defn.fall, defn.init_fail)
        self.last_status = 0          # keepalived's last_status starts at 0
        self.handle = None
        self.timer = None
        self.runs = 0
        self.skipped = 0
        self.last_result: Optional[RunResult] = None


class ScriptTracker:
    """Runs every TrackedScript on `loop` through `runner` and reports changes.

    `loop` needs `time()`, `call_at()` and `call_soon()` (an asyncio loop, or
    a fake clock in tests); `runner` needs `start(spec, timeout_s, on_exit)`
    returning a handle with `done`, `terminating`, `terminate(grace_s)` and
    `async wait()` (runner.ScriptRunner).
    """

    def __init__(self, scripts: Iterable[TrackedScript], runner, *, loop=None,
                 on_change: Optional[ChangeCallback] = None):
        self._runner = runner
        self._loop = loop if loop is not None else runner.loop
        self._on_change = on_change
        self._scripts: dict[str, _Tracked] = by_name(scripts, TrackedScript, "vrrp_script",
                                                     _Tracked)
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------ queries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._scripts)

    def state(self, name: str) -> ScriptState:
        return self._get(name).rf.state

    def states(self) -> dict[str, ScriptState]:
        return {name: t.rf.state for name, t in self._scripts.items()}

    def status(self, name: str) -> ScriptStatus:
        t = self._get(name)
        return ScriptStatus(name, t.rf.state, t.rf.result, t.rf.rise, t.rf.fall, t.last_status,
                            t.last_result.outcome if t.last_result else None, t.runs, t.skipped,
                            t.handle is not None and not t.handle.done)

    def _get(self, name: str) -> _Tracked:
        return lookup(self._scripts, name, "no vrrp_script named %r")

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Run every script now, then every interval."""
        if self._started:
            raise RuntimeError("script tracker already started")
        self._started = True
        for tracked in self._scripts.values():
            tracked.timer = self._loop.call_soon(self._tick, tracked)

    async def stop(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop scheduling; SIGTERM running checks (SIGKILL after grace_s); reap them."""
        self._stopped = True
        handles = []
        for tracked in self._scripts.values():
            if tracked.timer is not None:
                tracked.timer.cancel()
                tracked.timer = None
            if tracked.handle is not None and not tracked.handle.done:
                tracked.handle.terminate(grace_s)
                handles.append(tracked.handle)
        for handle in handles:
            await handle.wait()

    # ------------------------------------------------------------ running

    def _tick(self, tracked: _Tracked) -> None:
        if self._stopped:
            return
        defn = tracked.defn
        tracked.timer = self._loop.call_at(self._loop.time() + defn.interval_s, self._tick, tracked)
        handle = tracked.handle
        if handle is not None and not handle.done:
            tracked.skipped += 1
            log.info("Track script %s is %s, expect idle - skipping run", defn.name,
                     "being timed out" if handle.terminating else "already running")
            return
        tracked.runs += 1
        tracked.handle = None
        handle = self._runner.start(defn.spec, defn.run_timeout_s,
                                    lambda result, t=tracked: self._on_result(t, result))
        if not handle.done:
            tracked.handle = handle

    def _on_result(self, tracked: _Tracked, result: RunResult) -> None:
        tracked.handle = None
        if self._stopped or result.outcome is Outcome.TERMINATED:
            return
        tracked.last_result = result
        name = tracked.defn.name
        if result.outcome is Outcome.EXITED:
            if result.exit_status != tracked.last_status:
                log.info("Script `%s` now returning %d", name, result.exit_status)
            tracked.last_status = result.exit_status
        change = tracked.rf.feed(result.success)
        if change is None:
            return
        old, new = change
        if new is ScriptState.OK:
            log.info("VRRP_Script(%s) succeeded", name)
        elif result.outcome is Outcome.TIMED_OUT:
            log.info("VRRP_Script(%s) timed_out", name)
        else:
            log.info("VRRP_Script(%s) failed (%s)", name, result.describe())
        report_change(log, self._on_change, "vrrp_script", name, old, new)


__all__ = ["ScriptState", "ScriptStatus", "ScriptTracker", "TrackedScript", "script_from_config"]
