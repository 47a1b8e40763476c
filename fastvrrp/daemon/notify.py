"""Notify scripts and FIFO lines for instance and sync-group transitions (reference §3.16).

What keepalived 2.2.7 does per notification (vrrp_notify.c
`send_instance_notifies` / `send_group_notifies`), and what is kept:

1. the state's own script (`notify_master`, `notify_backup`, `notify_fault`,
   `notify_stop`, `notify_deleted`), with exactly its configured argv;
2. the generic `notify` script with `INSTANCE|GROUP NAME STATE PRIO`
   appended (PRIO: the effective priority, RFC 5798 §5.2.4; 0 for a group);
3. the FIFO line `TYPE "NAME" STATE PRIO` (fastvrrp.daemon.fifo).

`notify_master_rx_lower_pri` (a master heard a lower-priority advert)
runs its script and writes a `MASTER_RX_LOWER_PRI` line; with
`notify_priority_changes` an effective-priority change writes a
`MASTER_PRIORITY` (in MASTER) or `BACKUP_PRIORITY` (any other state) line,
FIFO only, as in 2.2.7 (vrrp_track.c → `send_instance_priority_notifies`).
A deleted instance (reload) notifies FAULT unless it has `notify_deleted`,
then DELETED.  A sync-group member whose new state is already its group's
state gets no further instance notifications once it has sent some
(vrrp_notify.c:275); the group's own notification covers it.

The deliberate difference: keepalived forks every script and forgets it,
so two notifications of one instance race (a `notify_backup` can overtake
the `notify_master` before it; upstream issues #584, #996, #1055) and a hung
script lives until keepalived exits.  Here every instance and every group
has its own FIFO queue of script runs: a run starts when the one before it
has ended, so for one instance the scripts run in exactly the order of the
transitions (and, within one transition, specific script first, then
`notify`).  Different instances do not wait for each other.  FIFO lines are
written at once, at the transition, as keepalived writes them, so the FIFO
stays the real-time channel.

Limits, because a queue makes a hung script everyone's problem:

- a script that runs longer than `script_timeout_s` (default 30 s;
  keepalived has none) has its process group SIGTERMed, then SIGKILLed 2 s
  later (fastvrrp.track.runner), and the queue moves on;
- a STOP script gets `stop_timeout_s` (1 s, keepalived's TIMER_HZ for
  STOP); then its process group is killed (SIGTERM, SIGKILL 0.1 s later;
  keepalived sends SIGKILL at once).  keepalived applies this to instance
  STOP scripts and the group's generic `notify`, not to a group's
  `notify_stop`; here every STOP run gets it;
- no coalescing: every transition's scripts run, in order.  But a queue
  holds at most `queue_limit` pending runs (default 1024); past that the
  oldest pending run is dropped (the newest transitions, the ones that say
  where the instance ended up, are kept), counted in `stats.dropped` and
  logged once per episode.  Memory stays bounded however fast an instance
  flaps and however long a script hangs.

At exit (`close(timeout_s)`), queued runs get `timeout_s` (default 5 s) to
finish; what is still running is then stopped like keepalived's
script_killall (SIGTERM, SIGKILL 1 s later) and what is still queued is
dropped (counted); then the FIFOs are drained and closed.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..track.runner import SHUTDOWN_GRACE_S, ChildSpec, Outcome, RunHandle, RunResult, ScriptRunner
from .fifo import NotifyFifos

log = logging.getLogger("fastvrrp.daemon.notify")

DEFAULT_SCRIPT_TIMEOUT_S = 30.0   # fastvrrp's; keepalived: none
STOP_TIMEOUT_S = 1.0              # keepalived: TIMER_HZ, then kill(-pgid, SIGKILL)
STOP_KILL_GRACE_S = 0.1           # SIGTERM -> SIGKILL for a STOP script at its timeout
DEFAULT_QUEUE_LIMIT = 1024        # pending script runs per instance / group
DEFAULT_CLOSE_TIMEOUT_S = 5.0     # at exit: time for queued runs before they are stopped

INSTANCE = "INSTANCE"
GROUP = "GROUP"

# States a transition notifies (keepalived's words; RFC 5798 §6.4 states plus
# keepalived's FAULT, STOP and DELETED).
TRANSITION_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")
RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"   # RFC 5798 §6.4.3: Priority less than the local Priority
GROUP_STATES = ("MASTER", "BACKUP", "FAULT", "STOP")


class NotifyError(ValueError):
    """A bad call (unknown instance, bad state or priority): a bug in the caller."""


@dataclass(frozen=True, slots=True)
class NotifyScripts:
    """The scripts of one instance or sync group, already vetted (None: not set).

    `master_rx_lower_pri` and `deleted` exist only for instances.
    """
    master: Optional[ChildSpec] = None
    backup: Optional[ChildSpec] = None
    fault: Optional[ChildSpec] = None
    stop: Optional[ChildSpec] = None
    deleted: Optional[ChildSpec] = None
    master_rx_lower_pri: Optional[ChildSpec] = None
    generic: Optional[ChildSpec] = None

    def __post_init__(self):
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None and not isinstance(value, ChildSpec):
                raise NotifyError("NotifyScripts.%s must be a ChildSpec or None, not %r"
                                  % (name, value))

    def for_state(self, state: str) -> Optional[ChildSpec]:
        """The state's own script (keepalived get_iscript / get_gscript)."""
        return {"MASTER": self.master, "BACKUP": self.backup, "FAULT": self.fault,
                "STOP": self.stop, "DELETED": self.deleted,
                RX_LOWER_PRI: self.master_rx_lower_pri}.get(state)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One script run: which notification caused it and what runs."""
    seq: int                 # global order in which runs were queued
    kind: str                # INSTANCE or GROUP
    name: str
    state: str
    keyword: str             # notify_master, notify, notify_master_rx_lower_pri ...
    spec: ChildSpec

    @property
    def argv(self) -> tuple[str, ...]:
        return self.spec.argv


@dataclass(slots=True)
class NotifyStats:
    """Counters of one queue (or all of them, from Notifier.totals())."""
    queued: int = 0      # runs accepted into the queue
    started: int = 0     # runs whose process was started (or failed to start)
    succeeded: int = 0   # exit status 0
    failed: int = 0      # non-zero exit, killed by a signal, could not be executed
    timed_out: int = 0   # killed at script_timeout_s / stop_timeout_s
    dropped: int = 0     # removed unrun: queue full, or still queued at close
    max_depth: int = 0   # the most runs ever waiting at once

    def add(self, other: "NotifyStats") -> None:
        for name in self.__slots__:
            if name == "max_depth":
                self.max_depth = max(self.max_depth, other.max_depth)
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))


NO_SCRIPTS = NotifyScripts()        # no script at all (shared: it is frozen)


@dataclass(slots=True)
class _Target:
    kind: str
    name: str
    scripts: NotifyScripts
    group: Optional[str] = None          # sync group (instances)
    notify_deleted: bool = False
    priority_changes: bool = False
    notifies_sent: bool = False
    state: Optional[str] = None          # last notified state (groups: the group state)


@dataclass(slots=True, eq=False)
class _Queue:
    key: tuple
    jobs: deque = field(default_factory=deque)
    running: Optional[Invocation] = None
    handle: Optional[RunHandle] = None
    stop_timer: Optional[asyncio.TimerHandle] = None
    killed_at_stop_timeout: bool = False
    pumping: bool = False
    dropping: bool = False
    stats: NotifyStats = field(default_factory=NotifyStats)
    waiters: list = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self.jobs)


def _state_word(state) -> str:
    """NotifyState / State enum members and plain strings -> keepalived's word."""
    if isinstance(state, enum.Enum):
        value = state.value if isinstance(state.value, str) else state.name
        return value
    if isinstance(state, str):
        return state
    raise NotifyError("a notify state must be a string or a state enum, not %r" % (state,))


def _check_priority(priority) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise NotifyError("priority must be an integer 0-255, not %r" % (priority,))
    return priority


def _check_seconds(what: str, value, allow_none: bool) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or value != value or value == float("inf"):
        raise NotifyError("%s must be a positive number of seconds%s, not %r"
                          % (what, " or None" if allow_none else "", value))
    return float(value)


class Notifier:
    """Runs notify scripts in order per instance/group and writes the FIFO lines.

    `on_result(invocation, result)`, if given, is called on the loop after
    each run ends (result None: dropped unrun).
    """

    def __init__(self, runner: ScriptRunner, fifos: Optional[NotifyFifos] = None, *,
                 script_timeout_s: Optional[float] = DEFAULT_SCRIPT_TIMEOUT_S,
                 stop_timeout_s: float = STOP_TIMEOUT_S,
                 queue_limit: int = DEFAULT_QUEUE_LIMIT,
                 on_result: Optional[Callable[[Invocation, Optional[RunResult]], None]] = None):
        if not isinstance(runner, ScriptRunner) and not hasattr(runner, "start"):
            raise NotifyError("runner must be a ScriptRunner, not %r" % (runner,))
        if fifos is not None and not isinstance(fifos, NotifyFifos):
            raise NotifyError("fifos must be NotifyFifos or None, not %r" % (fifos,))
        if isinstance(queue_limit, bool) or not isinstance(queue_limit, int) or queue_limit < 1:
            raise NotifyError("queue_limit must be a positive integer, not %r" % (queue_limit,))
        self.runner = runner
        self.fifos = fifos if fifos is not None else NotifyFifos()
        self.script_timeout_s = _check_seconds("script_timeout_s", script_timeout_s, True)
        self.stop_timeout_s = _check_seconds("stop_timeout_s", stop_timeout_s, False)
        self.queue_limit = queue_limit
        self.on_result = on_result
        # kind -> {name: _Target}: no (kind, name) key tuple per instance (issue 6 memory)
        self._targets: dict[str, dict[str, _Target]] = {INSTANCE: {}, GROUP: {}}
        self._queues: dict[tuple, _Queue] = {}
        self._retired = NotifyStats()     # counters of queues that emptied and were removed
        self._seq = itertools.count(1)
        self._closing = False
        self._closed = False
        self._close_done: Optional[asyncio.Event] = None

    # ------------------------------------------------------------ set-up

    def open(self) -> None:
        """Open the FIFOs (creating them and starting their scripts)."""
        self.fifos.open()

    async def replace_fifos(self, fifos: NotifyFifos) -> None:
        """Reload: close the FIFOs (their scripts stopped, created ones removed)
        and open `fifos`, as keepalived does on every reload (vrrp_daemon.c
        reload_vrrp_thread: "we don't know if it will be the same")."""
        if not isinstance(fifos, NotifyFifos):
            raise NotifyError("fifos must be NotifyFifos, not %r" % (fifos,))
        old, self.fifos = self.fifos, fifos
        await old.close()
        fifos.open()

    def add_instance(self, name: str, scripts: NotifyScripts = NotifyScripts(), *,
                     group: Optional[str] = None, notify_deleted: bool = False,
                     priority_changes: bool = False) -> None:
        """Register (or, on reload, update) a vrrp_instance."""
        self._add(INSTANCE, name, scripts, group=group, notify_deleted=bool(notify_deleted),
                  priority_changes=bool(priority_changes))

    def add_group(self, name: str, scripts: NotifyScripts = NotifyScripts()) -> None:
        """Register (or update) a vrrp_sync_group."""
        self._add(GROUP, name, scripts)

    def _add(self, kind: str, name: str, scripts: NotifyScripts, **kw) -> None:
        if not isinstance(name, str) or not name or "\n" in name or "\0" in name:
            raise NotifyError("%s name must be a non-empty string without newline/NUL, not %r"
                              % (kind.lower(), name))
        if not isinstance(scripts, NotifyScripts):
            raise NotifyError("scripts must be NotifyScripts, not %r" % (scripts,))
        if kind == GROUP and (scripts.deleted or scripts.master_rx_lower_pri):
            raise NotifyError("a sync group has no notify_deleted / notify_master_rx_lower_pri")
        targets = self._targets[kind]
        old = targets.get(name)
        target = _Target(kind, name, scripts, **kw)
        if old is not None:   # a reload keeps what was notified
            target.notifies_sent, target.state = old.notifies_sent, old.state
        targets[name] = target

    def remove_instance(self, name: str) -> None:
        """Forget an instance; runs already queued for it still happen."""
        self._targets[INSTANCE].pop(name, None)

    def remove_group(self, name: str) -> None:
        self._targets[GROUP].pop(name, None)

    def _target(self, kind: str, name: str) -> _Target:
        try:
            return self._targets[kind][name]
        except (KeyError, TypeError):
            raise NotifyError("no %s %r registered with the notifier" % (kind.lower(), name)) \
                from None

    # ------------------------------------------------------------ events

    def instance(self, name: str, state, priority: int) -> None:
        """Instance `name` entered `state` (or heard a lower priority as master:
        MASTER_RX_LOWER_PRI) with effective priority `priority`."""
        word = _state_word(state)
        priority = _check_priority(priority)
        target = self._target(INSTANCE, name)
        if word == RX_LOWER_PRI:
            # vrrp_notify.c send_event_notify: own script, no generic, FIFO line
            if not self._accepting(INSTANCE, name, word):
                return
            self._enqueue(target, word, "notify_master_rx_lower_pri",
                          target.scripts.master_rx_lower_pri)
            self.fifos.write_line(INSTANCE, name, word, priority)
            return
        if word not in TRANSITION_STATES:
            raise NotifyError("instance state must be one of %s or %s, not %r"
                              % ("/".join(TRANSITION_STATES), RX_LOWER_PRI, word))
        if not self._accepting(INSTANCE, name, word):
            return
        if target.notifies_sent and target.group is not None:
            group = self._targets[GROUP].get(target.group)
            if group is not None and group.state == word:
                # keepalived vrrp_notify.c:275: the sync group already notified this state
                target.state = word
                return
        if word == "DELETED" and not target.notify_deleted:
            word = "FAULT"   # keepalived's backward-compatible default for a deleted instance
        target.notifies_sent = True
        target.state = word
        self._transition(target, word, priority)

    def group(self, name: str, state) -> None:
        """Sync group `name` entered `state` (MASTER, BACKUP, FAULT, STOP)."""
        word = _state_word(state)
        target = self._target(GROUP, name)
        if word not in GROUP_STATES:
            raise NotifyError("sync group state must be one of %s, not %r"
                              % ("/".join(GROUP_STATES), word))
        if not self._accepting(GROUP, name, word):
            return
        target.state = word
        self._transition(target, word, 0)

    def action(self, name: str, notify) -> None:
        """Execute the state machine's Notify(state, priority) action for instance `name`."""
        self.instance(name, notify.state, notify.priority)

    def priority_changed(self, name: str, state, priority: int) -> None:
        """An instance's effective priority changed (only with notify_priority_changes).

        FIFO only, as in keepalived 2.2.7: MASTER_PRIORITY while in MASTER,
        BACKUP_PRIORITY in any other state."""
        word = _state_word(state)
        priority = _check_priority(priority)
        target = self._target(INSTANCE, name)
        if not target.priority_changes:
            return
        event = "MASTER_PRIORITY" if word == "MASTER" else "BACKUP_PRIORITY"
        if self._accepting(INSTANCE, name, event):
            self.fifos.write_line(INSTANCE, name, event, priority)

    def write_state(self, kind: str, name: str, state, priority: int = 0) -> None:
        """The FIFO line alone (`fifo_write_vrrp_states_on_reload`)."""
        word = _state_word(state)
        if kind not in (INSTANCE, GROUP):
            raise NotifyError("kind must be INSTANCE or GROUP, not %r" % (kind,))
        self._target(kind, name)
        if self._accepting(kind, name, word):
            self.fifos.write_line(kind, name, word, 0 if kind == GROUP else
                                  _check_priority(priority))

    def _accepting(self, kind: str, name: str, word: str) -> bool:
        if self._closing:
            log.warning("notify %s %s %s after shutdown began - ignored", kind, name, word)
            return False
        return True

    def _transition(self, target: _Target, word: str, priority: int) -> None:
        # keepalived order: the state's script, the generic script, the FIFO line
        self._enqueue(target, word, "notify_" + word.lower(), target.scripts.for_state(word))
        generic = target.scripts.generic
        if generic is not None:
            spec = ChildSpec(generic.argv + (target.kind, target.name, word, "%d" % priority),
                             uid=generic.uid, gid=generic.gid, extra_groups=generic.extra_groups,
                             env=generic.env, shell=generic.shell, name=generic.name)
            self._enqueue(target, word, "notify", spec)
        self.fifos.write_line(target.kind, target.name, word, priority)

    # ------------------------------------------------------------ queues

    def _enqueue(self, target: _Target, word: str, keyword: str,
                 spec: Optional[ChildSpec]) -> None:
        if spec is None:
            return
        key = (target.kind, target.name)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(key)
        job = Invocation(next(self._seq), target.kind, target.name, word, keyword, spec)
        if len(queue.jobs) < self.queue_limit:
            queue.dropping = False
        else:
            dropped = queue.jobs.popleft()
            queue.stats.dropped += 1
            if not queue.dropping:
                queue.dropping = True
                log.warning("(%s) notify queue full (%d runs waiting behind %s): dropping the "
                            "oldest queued runs", target.name, self.queue_limit,
                            queue.running.keyword if queue.running else "nothing")
            self._report(dropped, None)
        queue.jobs.append(job)
        queue.stats.queued += 1
        queue.stats.max_depth = max(queue.stats.max_depth, len(queue.jobs))
        self._pump(queue)

    def _pump(self, queue: _Queue) -> None:
        if queue.pumping:
            return
        queue.pumping = True
        try:
            while queue.running is None and queue.jobs:
                self._start(queue, queue.jobs.popleft())
        finally:
            queue.pumping = False
        if not queue.busy:
            self._went_idle(queue)

    def _start(self, queue: _Queue, job: Invocation) -> None:
        queue.running = job
        queue.killed_at_stop_timeout = False
        queue.stats.started += 1
        stop = job.state == "STOP"
        timeout = None if stop else self.script_timeout_s
        handle = self.runner.start(job.spec, timeout,
                                   lambda result, q=queue, j=job: self._finished(q, j, result))
        if queue.running is job:        # not finished synchronously (spawn failure)
            queue.handle = handle
            if stop:
                queue.stop_timer = self.runner.loop.call_later(
                    self.stop_timeout_s, self._stop_expired, queue, job)

    def _stop_expired(self, queue: _Queue, job: Invocation) -> None:
        queue.stop_timer = None
        if queue.running is not job or queue.handle is None:
            return
        queue.killed_at_stop_timeout = True
        log.info("(%s) %s script %s still running after %gs - killing it", job.name,
                 job.keyword, job.argv[0], self.stop_timeout_s)
        queue.handle.terminate(STOP_KILL_GRACE_S)

    def _finished(self, queue: _Queue, job: Invocation, result: RunResult) -> None:
        if queue.stop_timer is not None:
            queue.stop_timer.cancel()
            queue.stop_timer = None
        stats = queue.stats
        if result.outcome is Outcome.TIMED_OUT or \
                (queue.killed_at_stop_timeout and result.outcome is Outcome.TERMINATED):
            stats.timed_out += 1
            if result.outcome is Outcome.TIMED_OUT:
                log.warning("(%s) %s script %s timed out after %gs - killed", job.name,
                            job.keyword, job.argv[0], self.script_timeout_s)
        elif result.success:
            stats.succeeded += 1
        else:
            stats.failed += 1
            log.debug("(%s) %s script %s %s", job.name, job.keyword, job.argv[0],
                      result.describe())
        queue.running = None
        queue.handle = None
        self._report(job, result)
        self._pump(queue)

    def _report(self, job: Invocation, result: Optional[RunResult]) -> None:
        if self.on_result is not None:
            try:
                self.on_result(job, result)
            except Exception:   # an observer's bug must not stop the queue
                log.exception("notify result observer failed")

    def _went_idle(self, queue: _Queue) -> None:
        for fut in queue.waiters:
            if not fut.done():
                fut.set_result(None)
        queue.waiters.clear()
        if self._queues.get(queue.key) is queue \
                and queue.key[1] not in self._targets.get(queue.key[0], ()):
            # a removed instance's last run ended: keep its counters, drop the queue
            self._retired.add(queue.stats)
            del self._queues[queue.key]

    # ------------------------------------------------------------ status

    def stats(self, kind: str, name: str) -> NotifyStats:
        """Counters of one instance's (kind INSTANCE) or group's queue."""
        queue = self._queues.get((kind, name))
        return NotifyStats() if queue is None else NotifyStats(**{
            k: getattr(queue.stats, k) for k in NotifyStats.__slots__})

    def totals(self) -> NotifyStats:
        out = NotifyStats()
        out.add(self._retired)
        for queue in self._queues.values():
            out.add(queue.stats)
        return out

    def pending(self, kind: Optional[str] = None, name: Optional[str] = None) -> int:
        """Runs queued or running (for one queue, or all)."""
        queues = self._queues.values() if kind is None else \
            [q for q in (self._queues.get((kind, name)),) if q is not None]
        return sum(len(q.jobs) + (q.running is not None) for q in queues)

    async def wait_idle(self, kind: Optional[str] = None, name: Optional[str] = None) -> None:
        """Until the queue (or every queue) has no run queued or running."""
        loop = self.runner.loop
        while True:
            queues = [q for q in (self._queues.values() if kind is None
                                  else (self._queues.get((kind, name)),))
                      if q is not None and q.busy]
            if not queues:
                return
            fut = loop.create_future()
            queues[0].waiters.append(fut)
            await fut

    # ------------------------------------------------------------ shutdown

    async def close(self, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S,
                    grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking notifications, let queued runs finish for `timeout_s`,
        stop the rest, then drain and close the FIFOs.  Idempotent."""
        timeout_s = _check_seconds("timeout_s", timeout_s, False)
        if self._close_done is not None:    # a second caller waits for the first
            await self._close_done.wait()
            return
        self._close_done = asyncio.Event()
        self._closing = True
        try:
            await self._shutdown(timeout_s, grace_s)
        finally:
            self._closed = True
            self._close_done.set()

    async def _shutdown(self, timeout_s: float, grace_s: float) -> None:
        try:
            await asyncio.wait_for(self.wait_idle(), timeout_s)
        except asyncio.TimeoutError:
            left = self.pending()
            log.warning("notify scripts still pending at exit after %gs: stopping %d run(s)",
                        timeout_s, left)
        handles = []
        for queue in list(self._queues.values()):
            while queue.jobs:
                job = queue.jobs.popleft()
                queue.stats.dropped += 1
                self._report(job, None)
            if queue.handle is not None and not queue.handle.done:
                queue.handle.terminate(grace_s)
                handles.append(queue.handle)
        for handle in handles:
            await handle.wait()
        await self.fifos.close()


# ---------------------------------------------------------------- from the config

def _spec(keyword: str, command, default_user, use_symlink_paths: bool,
          vet) -> Optional[ChildSpec]:
    if command is None:
        return None
    from ..track.security import log_messages
    vetted = vet("notify", command.argv, command.user, command.group, default=default_user,
                 use_symlink_paths=use_symlink_paths)
    log_messages(vetted.messages, log)
    if not vetted.usable:
        return None
    return ChildSpec(vetted.argv, uid=vetted.uid, gid=vetted.gid, name=keyword)


_NOTIFY_ATTRS = ("notify_master", "notify_backup", "notify_fault", "notify_stop",
                 "notify_deleted", "notify_master_rx_lower_pri", "notify")


def scripts_from_model(owner, default_user, *, use_symlink_paths: bool = False,
                       vet=None) -> NotifyScripts:
    """NotifyScripts for a config model VrrpInstance or SyncGroup.

    Each command goes through keepalived's checks (fastvrrp.track.security
    vet_notify_script); one that keepalived would drop is left out, with
    keepalived's messages logged.
    """
    if not any(getattr(owner, attr, None) for attr in _NOTIFY_ATTRS):
        return NO_SCRIPTS       # issue 6 (start-up): most instances have none
    from ..track.security import vet_notify_script
    vet = vet or vet_notify_script

    def make(attr):
        return _spec(attr, getattr(owner, attr, None), default_user, use_symlink_paths, vet)
    scripts = NotifyScripts(master=make("notify_master"), backup=make("notify_backup"),
                            fault=make("notify_fault"), stop=make("notify_stop"),
                            deleted=make("notify_deleted"),
                            master_rx_lower_pri=make("notify_master_rx_lower_pri"),
                            generic=make("notify"))
    # issue 6 (memory): the instances without any notify script share one object
    return NO_SCRIPTS if scripts == NO_SCRIPTS else scripts


def notifier_from_config(config, runner: ScriptRunner, *, default_user=None, **kw) -> Notifier:
    """A Notifier with every instance and sync group of `config` (a
    fastvrrp.config.model.Config) and its FIFOs (not opened yet: call open())."""
    from ..track.security import DefaultScriptUser, log_messages
    from .fifo import fifos_from_config
    g = config.global_defs
    if default_user is None:
        default_user = DefaultScriptUser(g.script_user, g.script_group,
                                         script_security=g.enable_script_security)
    default_user.get()   # resolve once: keepalived's messages about the default user
    log_messages(default_user.messages, log)
    symlinks = bool(getattr(g, "use_symlink_paths", False))
    fifos = fifos_from_config(g, runner, default_user, use_symlink_paths=symlinks)
    notifier = Notifier(runner, fifos, **kw)
    for name, group in config.sync_groups.items():
        notifier.add_group(name, scripts_from_model(group, default_user,
                                                    use_symlink_paths=symlinks))
    for inst in config.instances:
        scripts = scripts_from_model(inst, default_user, use_symlink_paths=symlinks)
        notifier.add_instance(inst.name, scripts, group=inst.sync_group,
                              notify_deleted=bool(inst.notify_deleted_enabled
                                                  or inst.notify_deleted),
                              priority_changes=inst.notify_priority_changes)
    return notifier


__all__ = ["DEFAULT_CLOSE_TIMEOUT_S", "DEFAULT_QUEUE_LIMIT", "DEFAULT_SCRIPT_TIMEOUT_S", "GROUP",
           "INSTANCE", "Invocation", "NotifyError", "NotifyScripts", "NotifyStats", "Notifier",
           "NO_SCRIPTS", "STOP_TIMEOUT_S", "notifier_from_config", "scripts_from_model"]
