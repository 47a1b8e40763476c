"""The engine's trackers: vrrp_script, track_interface, track_file, track_process.

    tracking = Tracking(runner, emit=lambda instance, event: ...)
    await tracking.apply(config, vetted_scripts, plans)     # start / reload
    vi1 = tracking.add_instance(plan)                        # InstanceTracking
    for event in vi1.initial_events(): ...                   # before Startup
    tracking.start()                                         # the scripts run from now on
    await tracking.handle(link_event)                        # shared netlink events
    await tracking.stop()                                    # scripts killed first

Tracker states live once in a `TrackingHub` (fastvrrp.track.aggregate); a
change is fanned out to every instance using the tracker as the state
machine's events (PriorityChanged, FaultSet, FaultCleared) through `emit`.
The trackers themselves are fastvrrp.track's: one ScriptTracker per
vrrp_script (so a reload restarts only the scripts whose definition changed,
and an unchanged script keeps its OK/KO result, as keepalived does,
reference §3.17 point 5), LinkTrackers fed from the engine's one netlink
subscription (the interfaces an instance tracks, its own included: weight 0,
FAULT while down, reference §3.2), one FileTracker and one ProcessTracker for
the files and processes in use (replaced on a reload when their definitions
change).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Iterable

from fastvrrp.track.aggregate import Kind, TrackingHub
from fastvrrp.track.links import LinkTracker, delays_from_config

log = logging.getLogger("fastvrrp.daemon.tracking")


def names_of(plans: Iterable, kind: Kind) -> list[str]:
    """Every tracker name of `kind` the plans use, first-use order."""
    return tracker_names(plans)[kind]


def tracker_names(plans: Iterable) -> dict:
    """{Kind: every tracker name of that kind the plans use, first-use order}, in
    one pass (issue 6: thousands of plans, most sharing one tuple of trackers)."""
    out: dict = {kind: {} for kind in Kind}
    seen: set = set()
    for plan in plans:
        trackers = plan.trackers
        if id(trackers) in seen:
            continue            # the same (shared, immutable) tuple: nothing new
        seen.add(id(trackers))
        for spec in trackers:
            out[spec.kind].setdefault(spec.name, None)
    return {kind: list(names) for kind, names in out.items()}


class Tracking:
    """See the module docstring."""

    def __init__(self, runner, emit: Callable[[str, object], None], *, netns=None) -> None:
        self.runner = runner
        self.netns = netns
        self.hub = TrackingHub(emit=emit)
        self._scripts: dict[str, tuple] = {}          # name -> (TrackedScript, ScriptTracker)
        self._links: list[LinkTracker] = []
        self._link_names: set[str] = set()
        self._files = None
        self._file_specs: dict = {}
        self._procs = None
        self._proc_specs: dict = {}
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------ set-up

    async def apply(self, config, vetted, plans, *, reload: bool = False) -> None:
        """Bring the trackers in line with `config` (first start or reload)."""
        stops = self._apply_scripts(vetted)
        names = tracker_names(plans)
        await self._apply_links(config, names[Kind.INTERFACE])
        stops += self._apply_files(config, names[Kind.FILE], reload)
        stops += await self._apply_processes(config, names[Kind.PROCESS])
        for stop in stops:
            try:
                await stop
            except Exception:
                log.exception("stopping a replaced tracker failed")

    def _apply_scripts(self, vetted) -> list:
        stops = []
        for name in list(self._scripts):
            if name not in vetted.scripts:
                _defn, tracker = self._scripts.pop(name)
                stops.append(tracker.stop())
        for name, defn in vetted.scripts.items():
            old = self._scripts.get(name)
            if old is not None and old[0] == defn:
                continue                    # unchanged: keeps running, keeps its result
            if old is not None:
                stops.append(old[1].stop())
                log.info("vrrp_script %s changed: restarting it", name)
            # issue 6 (start-up): loaded only by a config that tracks scripts
            from fastvrrp.track.scripts import ScriptTracker
            tracker = ScriptTracker([defn], self.runner, on_change=self._script_changed)
            self._scripts[name] = (defn, tracker)
            self.hub.set_state(Kind.SCRIPT, name, tracker.state(name))
            if self._started:
                tracker.start()
        return stops

    def _script_changed(self, name, _old, new) -> None:
        self.hub.set_state(Kind.SCRIPT, name, new)

    async def _apply_links(self, config, names: list[str]) -> None:
        new = [n for n in names if n not in self._link_names]
        if not new:
            return
        tracker = LinkTracker(new, netns=self.netns, subscribe=False,
                              on_change=self.hub.callback(Kind.INTERFACE),
                              delays=delays_from_config(config))
        await tracker.start()
        for name in new:
            self.hub.set_state(Kind.INTERFACE, name, tracker.up(name))
        self._links.append(tracker)
        self._link_names.update(new)

    def _apply_files(self, config, names: list[str], reload: bool) -> list:
        if not names and not self._file_specs:
            return []           # issue 6 (start-up): no track_file, nothing to import
        from fastvrrp.track.files import FileTracker, file_spec_from_config
        specs = {n: file_spec_from_config(config.track_files[n]) for n in names
                 if n in config.track_files}
        if specs == self._file_specs:
            return []
        if self._files is not None:
            self._files.stop()
        self._file_specs = specs
        self._files = None
        if specs:
            self._files = FileTracker(list(specs.values()),
                                      on_change=self.hub.callback(Kind.FILE))
            self._files.start(reload=reload)
            for name in specs:
                self.hub.set_state(Kind.FILE, name, self._files.value(name))
        return []

    async def _apply_processes(self, config, names: list[str]) -> list:
        if not names and not self._proc_specs:
            return []           # issue 6 (start-up): no track_process, nothing to import
        from fastvrrp.track.processes import ProcessTracker, process_spec_from_config
        specs = {n: process_spec_from_config(config.track_processes[n]) for n in names
                 if n in config.track_processes}
        if specs == self._proc_specs:
            return []
        stops = [self._procs.stop()] if self._procs is not None else []
        self._proc_specs = specs
        self._procs = None
        if specs:
            self._procs = ProcessTracker(list(specs.values()),
                                         on_change=self.hub.callback(Kind.PROCESS))
            await self._procs.start()
            for name in specs:
                self.hub.set_state(Kind.PROCESS, name, self._procs.up(name))
        return stops

    # ------------------------------------------------------------ instances

    def add_instance(self, plan):
        """The InstanceTracking of a plan (its trackers' states must be known)."""
        return self.hub.add_instance(plan.name, plan.trackers, base_priority=plan.params.priority)

    def remove_instance(self, name: str) -> None:
        self.hub.remove_instance(name)

    # ------------------------------------------------------------ running

    def start(self) -> None:
        """Run every script now, then every interval (keepalived runs them at start)."""
        if self._started or self._stopped:
            return
        self._started = True
        for _defn, tracker in self._scripts.values():
            tracker.start()

    async def handle(self, event) -> None:
        """A link notification (or Resync) from the engine's subscription."""
        for tracker in self._links:
            await tracker.handle(event)

    def script_status(self) -> list:
        return [tracker.status(name) for name, (_d, tracker) in self._scripts.items()]

    def scripts(self) -> dict:
        return {name: defn for name, (defn, _t) in self._scripts.items()}

    async def stop(self) -> None:
        """keepalived's shutdown step 1: running scripts get SIGTERM (SIGKILL later)."""
        if self._stopped:
            return
        self._stopped = True
        waits = [tracker.stop() for _d, tracker in self._scripts.values()]
        waits += [tracker.stop() for tracker in self._links]
        if self._procs is not None:
            waits.append(self._procs.stop())
        if self._files is not None:
            self._files.stop()
        results = await asyncio.gather(*waits, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("stopping a tracker failed: %s", result)


__all__ = ["Tracking", "names_of"]
