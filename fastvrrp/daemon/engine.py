"""The VRRP engine: a keepalived.conf's instances run on real sockets and the host.

    engine = Engine(config, options, process)   # built by fastvrrp.daemon.process
    await engine.start()                         # keepalived's start-up order
    await engine.reload(new_config)              # SIGHUP: identity diff, no VIP flap
    await engine.stop()                          # SIGTERM: keepalived's shutdown order
    engine.dump_data(fp); engine.dump_stats(fp, clear); engine.dump_json(fp)

Start (keepalived vrrp_daemon.c start_vrrp, reference §3.1):
  1. interfaces are read; every instance becomes an InstancePlan (convert.py;
     what cannot run is an EngineStartError naming the instance);
  2. the netlink subscription opens (links and addresses), before any dump;
  3. stale VIPs go: every configured VIP/eVIP found on its interface is
     removed (keepalived force-removes them, a crash may have left them), and
     every address carrying our IFA_PROTO mark (a crashed run's, whatever
     its config said);
  4. trackers: vrrp_scripts vetted (keepalived drops missing or insecure
     ones), interfaces, files, processes -> TrackingHub;
  5. per instance: source address (FAULT "no source address" when there is
     none), receive and send sockets (SocketPool, shared per interface),
     a fast-path slot with its state machine (FastPathBridge), its tracking;
  6. per instance: the trackers' initial events, then Startup (RFC 5798 §6.4.1);
  7. the fast path's loop driver starts, then the scripts (run at once).

The fast path (ext/fastpath.pyx) settles the steady state in C; everything
else reaches the instance's VrrpMachine, whose actions come back here
(`_on_actions`) in the machine's order: AddVips / RemoveVips / SendGarp /
SendSourceGarp go to the instance's HostQueue (netlink and GARP in the
background, in order per instance), Notify to the Notifier, Log lines to the
`fastvrrp.vrrp` logger (syslog ident Keepalived_vrrp) exactly as worded,
StateChanged / PriorityUpdated to the status line and the FIFO.

Stop (vrrp_daemon.c vrrp_terminate_phase1, reference §3.14): scripts are
killed, every instance gets Shutdown (a MASTER sends one priority-0 advert,
RFC 5798 §6.4.3, then its VIPs are removed), STOP notifies, the host work
drains, sockets close.  With -V (dont_release_vrrp) no priority-0 advert is
sent and the VIPs stay.

The compiled fast path is used; FASTVRRP_FASTPATH=slow selects the pure-Python
SlowPath (fastvrrp.reference.fastpath: every packet through the machine),
for debugging.

Bursts (issue 6: a thousand instances changing state in one tick): VIP
adds and removes of all instances leave together in one netlink batch
(host/nlbatch.py; ifindexes from the interface table, no lookups), GARP
rounds in one burst, every first round first (host/garpbatch.py), and the
burst's log lines and notifies wait, in order, until that host work is out
(host/afterbatch.py, `self.after`).  Address events of our own VIPs cost no
source-address re-dumps (a VIP is never a source).

Sync groups: the members of a vrrp_sync_group are the machines of one
fastvrrp.vrrp.sync.SyncGroup; their slots are the bridge's as any other, the
group's events to members go through the bridge (`_group_run`), and after
each member event the group reacts to what the member did (`_on_actions`);
the group starts and stops as a whole, and a reload restarts a group whose
definition or any member changed.

Host pieces of issue 5 (engine_host.py converts the model): at start,
just before the netlink subscription opens (creating a link is not news for
the trackers), stale VMACs of a crashed run go (cleanup_stale_vmacs) and
each `use_vmac` instance's VMAC is created (VmacManager, RFC 5798 §7.3
virtual MAC); then step 3's stale VIP cleanup runs, stale virtual
routes/rules are deleted, and static_ipaddress / static_routes /
static_rules are applied (Statics: leftovers deleted, then added).  An
instance's VIPs without `dev` live on its VMAC; its adverts leave through
the VMAC (the base with `vmac_xmit_base`), its GARPs from the VIPs'
interface (the virtual MAC); it receives on the base; its VMAC is tracked
as its interface (down or gone: FAULT, as keepalived).  virtual_routes / virtual_rules follow the VIPs
(instance.py).  At stop: instances, then the statics (rules, routes,
addresses), then the VMACs (keepalived §3.14 steps 2, 3, 7); with -V the
VMACs stay (the VIPs left on them would go with them), the statics go.  A reload
diffs the statics (Statics.reload); an instance whose routes, rules or VIPs
changed takes them in place, one whose VMAC changed is restarted
(engine_reload.py).  A VMAC deleted by someone else is re-created, as
keepalived does (engine_reload.vmac_lost: FAULT while it is missing, then
the election again on the new link).

Accept mode (RFC 5798 §6.4.3): a non-owner instance without `accept`
(no_accept, or strict mode) gets the shared AcceptModeFirewall
(host/firewall.py, nftables tables `ip/ip6 fastvrrp`): its VIPs are dropped
while it is Master.  The mode is read at each VIP add, so a reload that
changes it applies at the instance's next AddVips.  A crashed run's tables
go at start; a clean stop deletes them (not with -V, where the VIPs stay too).

dynamic_interfaces: an instance whose own interface is missing at start (no
VMAC, no sync group) stays in FAULT without sockets; when a link event brings
the interface, it starts there in a fresh slot (_interface_appeared).  A
missing VIP interface only makes those VIPs fail to add (logged).

Not yet here (reported, logged at start where a config asks for them): an
interface that goes away and comes back with a new index under
dynamic_interfaces (the instance stays in FAULT), use_ipvlan (refused).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import ipaddress
import logging
import os
import time
from typing import Optional, TextIO

from fastvrrp.host.afterbatch import AfterBatch
from fastvrrp.host.addrspec import IFAPROT_FASTVRRP
from fastvrrp.host.announce import Announcer
from fastvrrp.host.events import AddrEvent, LinkEvent, NetlinkEvents, Resync
from fastvrrp.host.firewall import AcceptModeFirewall
from fastvrrp.host.netlink import Netlink, NetlinkQueryError
from fastvrrp.host.vips import cleanup_by_proto, cleanup_stale
from fastvrrp.track.runner import ScriptRunner
from fastvrrp.track.security import log_messages
from fastvrrp.vrrp import (AddVips, FaultCleared, FaultSet, GroupNotify, Log, Notify, NotifyState,
                           PriorityUpdated, RemoveVips, SendGarp, SendSourceGarp,
                           Shutdown, Startup, State, StateChanged, VrrpMachine)
from fastvrrp.vrrp.actions import UpdateVips
from fastvrrp.vrrp.sync import SyncGroup, SyncGroupError

# issue 6 (start-up): engine_dumps, engine_reload and the host modules of optional
# features (VMACs, virtual routes and rules, statics) are imported where used
from . import convert, engine_host
from .devmarks import mark
from .engine_api import EngineStartError
from .engine_sources import NO_SOURCE, SourceWatcher
from .engine_tracking import Tracking
from .fastpath_bridge import FastPathBridge, FastPathDriver
from .fastpath_driver import LATE_SLACK_NS, startup_phases, startup_time
from .instance import QUIET, Inline, InstanceRuntime, drain_all
from .notify import NotifyError, notifier_from_config
from .sockets import SocketPool, SocketSetupError

log = logging.getLogger("fastvrrp.daemon.engine")
vrrp_log = logging.getLogger("fastvrrp.vrrp")        # the machine's lines (Keepalived_vrrp)

FASTPATH_ENV = "FASTVRRP_FASTPATH"                  # "slow": fastvrrp.reference SlowPath
HOST_DRAIN_TIMEOUT_S = 5.0                          # stop: netlink work still queued
SOCKET_FAULT = "vrrp socket"                        # FAULT reason: a socket cannot be opened
NO_PEER = "no unicast peers"                        # FAULT reason: unicast_fault_no_peer
_PLACEHOLDER_SRC = {4: "0.0.0.0", 6: "::"}
STATUS_COALESCE_S = 0.05                            # the systemd status line, at most this often


def _settle_memory():
    """Issue 6 (memory): the garbage cycles start-up (or a reload) left behind
    (pyroute2 replies, parse leftovers) are collected now, and what survives
    is frozen out of the collector's way: the later garbage (netlink replies
    of the VIP adds) is collected while young, its memory reused instead of
    piling up until a full collection of everything."""
    global _THAWED_THRESHOLD
    gc.collect()
    gc.freeze()
    from .memtrim import trim_heap
    trim_heap()                 # the C heap's free pages go back too (memtrim.py)
    # What is left to scan is young: a full collection costs little now, so let
    # one follow every middle-generation collection (default: every tenth).
    if _THAWED_THRESHOLD is None:
        _THAWED_THRESHOLD = gc.get_threshold()
    gen0, gen1, _gen2 = _THAWED_THRESHOLD
    gc.set_threshold(gen0, gen1, 1)
    QUIET.refreeze = True       # a quiet collection freezes its survivors too (instance.py)


_THAWED_THRESHOLD = None


def _thaw_memory():
    """Undo _settle_memory (a reload or a stop lets go of what start-up built)."""
    global _THAWED_THRESHOLD
    QUIET.refreeze = False
    gc.unfreeze()
    if _THAWED_THRESHOLD is not None:
        gc.set_threshold(*_THAWED_THRESHOLD)
        _THAWED_THRESHOLD = None


_SOURCES: dict = {}


def _source_address(text):
    """ipaddress.ip_address of a source address text, parsed once per address
    (the instances of an interface share their source)."""
    address = _SOURCES.get(text)
    if address is None:
        address = ipaddress.ip_address(text)
        if len(_SOURCES) < 4096:
            _SOURCES[text] = address
    return address


def _default_user(config):
    """The default script user of a config (keepalived resolves it once per config)."""
    from fastvrrp.track.security import DefaultScriptUser
    g = config.global_defs
    return DefaultScriptUser(g.script_user, g.script_group,
                             script_security=g.enable_script_security)


class Engine:
    """See the module docstring."""

    def __init__(self, config, options=None, process=None):
        self.config = config
        self.options = options
        self.process = process
        self.log_detail = bool(getattr(options, "log_detail", 0))
        self.release_vips = bool(getattr(options, "release_vips", False))
        self.dont_release = bool(getattr(options, "dont_release_vrrp", False))
        self.netlink: Optional[Netlink] = None
        self.events: Optional[NetlinkEvents] = None
        self.fp = self.bridge = self.driver = None
        self.pool = SocketPool()
        self.announcer = Announcer()
        # a transition burst's log lines and notifies wait for its VIP adds and GARPs
        self.after = AfterBatch(busy=self._host_busy)
        # ... and the repeats of its GARP rounds wait for the burst's end (garpbatch.py)
        self.announcer.hurry = lambda: self.after.bursting
        self.runner: Optional[ScriptRunner] = None
        self.notifier = None
        self.tracking: Optional[Tracking] = None
        self.sources: Optional[SourceWatcher] = None
        self.statics: Optional[Statics] = None
        self.vmacs: Optional[VmacManager] = None
        self.firewall: Optional[AcceptModeFirewall] = None   # no_accept (RFC 5798 §6.4.3)
        self._interfaces: dict = {}          # ifname -> LinkInfo
        # one lookup shared by every runtime (not a closure each: issue 6)
        self._interface_of = lambda name: self._interfaces.get(name)
        self._drops_vips = self._needs_firewall   # shared by every runtime (issue 6 memory)
        self._firewalled: frozenset = frozenset()  # _needs_firewall once the instances are let go
        self._runtimes: dict[int, InstanceRuntime] = {}     # slot index -> runtime
        self._by_name: dict[str, InstanceRuntime] = {}      # the current runtime of a name
        self._free: list[int] = []
        self._next_index = 0
        self._fp_socks: dict[int, list] = {}  # id(VrrpSocket) -> [sid, receive]
        self._events_task: Optional[asyncio.Task] = None
        self._retiring: set = set()
        self._status_handle = None
        self._counter_base: dict[str, dict] = {}
        self._vip_cache: Optional[set] = None    # _all_vips(); None: recompute
        self._started = False
        self._stopped = False
        self.reloads = 0

    # ================================================================ start

    async def start(self) -> None:
        try:
            await self._start()
        except asyncio.CancelledError:
            raise                              # the shell stops us next
        except BaseException:
            await self._release_host()
            await self._teardown()
            raise

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        self._warn_unsupported(config)
        self.netlink = Netlink()
        await self._read_interfaces()
        default_user = _default_user(config)
        vetted = convert.vet_scripts(config, default_user)
        log_messages(vetted.messages, log)
        try:
            plans = await self._plans(config, vetted)
            mark("plans")
            static_specs = engine_host.statics_of(config)
        except convert.ConvertError as exc:
            raise EngineStartError(str(exc)) from None
        for plan in plans:
            for text in plan.warnings:
                log.warning("%s", text)
        # the VMACs first: their creation (down, marked, up) is not news for the
        # trackers, which read the links after the subscription opens
        await self._start_vmacs(plans)
        # our own VIPs' notifications are dropped undecoded (a VIP is never a source)
        self.events = NetlinkEvents(skip_proto=IFAPROT_FASTVRRP)
        await self.events.open()                         # before any dump: nothing missed
        await self._cleanup_stale(plans)
        await self._cleanup_stale_firewall(plans)
        await self._start_statics(static_specs)
        self.runner = ScriptRunner(loop, spawn_thread=True)   # forks off the loop (issue 6)
        self.tracking = Tracking(self.runner, emit=self._tracker_event)
        await self.tracking.apply(config, vetted, plans)
        self.notifier = notifier_from_config(config, self.runner, default_user=default_user)
        self.notifier.open()
        self._make_fastpath(loop)
        self.sources = SourceWatcher(self.netlink, self._source_changed, vips=self._all_vips)
        try:
            runtimes = await self._add_runtimes(plans)
        except convert.ConvertError as exc:
            raise EngineStartError(str(exc)) from None
        mark("runtimes")
        for rt in runtimes:
            rt.stale_checked = True
        self._prepare_takeovers(runtimes)
        self._start_runtimes(runtimes, convert.startup_delay_ns(config.global_defs))
        self.driver.start()
        self._events_task = loop.create_task(self._consume_events())
        self.tracking.start()
        self._started = True
        self._firewalled = convert.release_instances(config)   # issue 6 (memory)
        self._settle_after_start(plans)
        mark("engine started")
        log.info("VRRP engine running %d instance(s) on the %s fast path", len(runtimes),
                 type(self.fp).__name__)
        self._status_soon()

    def _prepare_takeovers(self, runtimes) -> None:
        """The sockets a takeover uses (the netlink batch of the VIP adds, the GARP
        sockets of the VIPs' interfaces) open now, not between a backup's first
        Master_Down_Timer and its first GARP (issue 6 failover)."""
        self.netlink.prepare()
        self.announcer.prepare(sorted({index for rt in runtimes
                                       for index in rt.garp_ifindexes()}))

    # the process shell starts with the cyclic GC off (issue 6: ~250 ms of
    # collections over a 1000-instance start); the engine turns it back on
    settles_gc = True
    SETTLE_MAX_WAIT_S = 5.0

    def _settle_after_start(self, plans) -> None:
        """Issue 6 (start-up): _settle_memory's full collection (tens of ms at 1000
        instances) waits until the start-up transitions (the first Master_Down_Interval,
        RFC 5798 §6.4.2, plus a spread start's interval) have put their VIPs up and
        the host work is done; then the GC runs again."""
        adv_s = max((p.params.advert_int_cs for p in plans), default=100) / 100
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.SETTLE_MAX_WAIT_S
        loop.call_at(min(loop.time() + 4 * adv_s + 0.05, deadline), self._settle_when_quiet,
                     deadline)

    def _settle_when_quiet(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if not self._stopped and (self._host_busy() or self.after.pending) \
                and loop.time() < deadline:
            loop.call_later(0.02, self._settle_when_quiet, deadline)
            return
        if self._stopped:
            return      # a stop came first: no collection before its VIP removal (the
            # process shell turns the GC on again when it is done)
        mark("burst over")
        _settle_memory()
        gc.enable()
        mark("settled")

    def _warn_unsupported(self, config) -> None:
        """Nothing left to warn about at the engine level (plans carry their own)."""

    async def _start_vmacs(self, plans) -> None:
        """keepalived's start: VMACs of a crashed run go, then every `use_vmac`
        instance gets its macvlan (RFC 5798 §7.3).  A VMAC that cannot be made
        stops the start (keepalived exits when it cannot create one)."""
        # issue 6 (start-up): a stale VMAC is a macvlan; the links were just read
        if any(link.kind == "macvlan" for link in self._interfaces.values()):
            from fastvrrp.host.vmac import cleanup_stale_vmacs
            await cleanup_stale_vmacs(self.netlink)
        wanted = [plan for plan in plans if plan.vmac is not None]
        if not wanted:
            return
        from fastvrrp.host.vmac import VmacManager
        self.vmacs = VmacManager(self.netlink)
        for plan in wanted:
            outcome = await self.vmacs.create(plan.vmac)
            if not outcome.ok:
                raise EngineStartError("vrrp_instance %s: cannot create its VMAC: %s"
                                       % (plan.name, outcome))
        await self._read_interfaces()

    async def _start_statics(self, specs) -> None:
        """static_ipaddress / static_routes / static_rules (keepalived start step 2),
        after cleanup_by_proto (static addresses carry our IFA_PROTO mark)."""
        if not specs:
            return
        from fastvrrp.host.statics import Statics
        self.statics = Statics(self.netlink, specs.addresses, specs.routes, specs.rules)
        await self.statics.start()

    async def _read_interfaces(self) -> None:
        try:
            links = await self.netlink.links()
        except NetlinkQueryError as exc:
            raise EngineStartError("cannot read the interfaces: %s" % exc) from None
        self._interfaces = {link.ifname: link for link in links}

    async def _plans(self, config, vetted) -> list:
        """Every instance's InstancePlan (ConvertError for what cannot run)."""
        skip_files = {t.name for i in config.instances for t in i.track_files
                      if t.name not in config.track_files}
        skip_procs = {t.name for i in config.instances for t in i.track_processes
                      if t.name not in config.track_processes}
        by_address = None
        plans = []
        for inst in config.instances:
            ifname = None
            if inst.interface is None:
                if by_address is None:
                    by_address = await self._interfaces_by_address()
                src = inst.unicast_src_ip or inst.mcast_src_ip
                ifname = by_address.get(src) if src is not None else None
            plan = convert.plan_instance(
                inst, config.global_defs, log_detail=self.log_detail,
                skip_scripts=vetted.dropped, skip_files=skip_files, skip_processes=skip_procs,
                ifname=ifname)
            self._check_interfaces(plan)
            plans.append(plan)
        plans = convert.group_plans(config, plans, skip_scripts=vetted.dropped,
                                    skip_files=skip_files, skip_processes=skip_procs)
        return [engine_host.track_vmac(plan) for plan in plans]

    async def _interfaces_by_address(self) -> dict:
        names = {link.index: link.ifname for link in self._interfaces.values()}
        try:
            addresses = await self.netlink.addresses()
        except NetlinkQueryError as exc:
            raise convert.ConvertError("cannot read the addresses: %s" % exc) from None
        return {ipaddress.ip_address(a.address): names.get(a.index) for a in addresses}

    def _check_interfaces(self, plan) -> None:
        """keepalived: a missing interface is fatal (without dynamic_interfaces)."""
        needed = [plan.ifname] + [s.ifname for s in plan.all_vips]
        vmac_name = plan.vip_ifname if plan.vmac is not None else None
        for name in dict.fromkeys(needed):
            if name not in self._interfaces and name != vmac_name:
                if self._waits_for_interface(plan, name):
                    continue
                raise convert.ConvertError("vrrp_instance %s: interface %s does not exist"
                                           % (plan.name, name))

    def _waits_for_interface(self, plan, name: str) -> bool:
        """dynamic_interfaces: a missing interface is not fatal.  The instance's own
        interface only for a plain instance (no VMAC, no sync group): it stays in
        FAULT and starts when the interface appears (_interface_appeared)."""
        if not self.config.global_defs.dynamic_interfaces:
            return False
        return name != plan.ifname or (plan.vmac is None and plan.sync_group is None)

    async def _cleanup_stale(self, plans) -> None:
        """keepalived's start: configured VIPs found on the host are removed, and
        fastvrrp's own marked leftovers (a crashed run, another config)."""
        specs = [spec for plan in plans for spec in self._vip_specs(plan)]
        if specs:
            await cleanup_stale(self.netlink, specs)
        await cleanup_by_proto(self.netlink)
        # keepalived marks vroutes / vrules "set" so that leftovers are deleted at start
        routes = [r for plan in plans for r in plan.routes]
        rules = [r for plan in plans for r in plan.rules]
        if routes:
            from fastvrrp.host.routes import cleanup_stale_routes
            await cleanup_stale_routes(self.netlink, routes)
        if rules:
            from fastvrrp.host.rules import cleanup_stale_rules
            await cleanup_stale_rules(self.netlink, rules)

    async def _cleanup_stale_firewall(self, plans) -> None:
        """A crashed run's accept-mode tables go (fastvrrp's own table only)."""
        fw = AcceptModeFirewall()
        err = await fw.cleanup_stale()
        await fw.close()
        if err and any(self._needs_firewall(plan.name) for plan in plans):
            log.error("no_accept: cannot use nftables, VIPs stay reachable: %s", err)
        elif err:
            log.debug("accept-mode firewall cleanup: %s", err)

    def _needs_firewall(self, name: str) -> bool:
        """RFC 5798 §6.4.3 / keepalived vrrp_handle_accept_mode: a non-owner without
        Accept_Mode drops traffic to its VIPs while Master."""
        inst = self.config.instance(name)
        if inst is None:       # a running config keeps no model instances (issue 6 memory)
            return name in self._firewalled
        return convert.drops_vips(inst)

    def _accept_mode_firewall(self) -> AcceptModeFirewall:
        """The shared AcceptModeFirewall (no netlink until an instance holds VIPs in it);
        each runtime asks _needs_firewall at each VIP add, so a reload that turns
        no_accept on or off takes effect at the instance's next AddVips."""
        if self.firewall is None:
            g = self.config.global_defs
            prio = g.nftables_priority
            self.firewall = AcceptModeFirewall(priority=-1 if prio is None else prio)
        return self.firewall

    def _vmac_of(self, plan):
        """The Vmac the manager holds for a plan (None: no VMAC)."""
        if plan.vmac is None or self.vmacs is None:
            return None
        return self.vmacs.get(plan.vmac)

    def _vip_specs(self, plan) -> tuple:
        """The plan's VIP specs on the VMAC's actual name (the manager may pick another)."""
        vm = self._vmac_of(plan)
        if vm is None or vm.ifname == plan.vip_ifname:
            return plan.all_vips
        return tuple(dataclasses.replace(s, ifname=vm.ifname) if s.ifname == plan.vip_ifname
                     else s for s in plan.all_vips)

    def _make_fastpath(self, loop) -> None:
        if os.environ.get(FASTPATH_ENV) == "slow":
            from fastvrrp.reference.fastpath import SlowPath
            self.fp = SlowPath(late_slack_ns=LATE_SLACK_NS)
            log.warning("%s=slow: every packet goes through the Python state machine",
                        FASTPATH_ENV)
        else:
            try:
                from fastvrrp._fastpath import FastPath
            except ImportError as exc:
                raise EngineStartError("the compiled fast path is missing (%s): build it with "
                                       "`make build`" % exc) from None
            self.fp = FastPath(late_slack_ns=LATE_SLACK_NS)
        self.bridge = FastPathBridge(self.fp, self._on_actions)
        self.driver = FastPathDriver(self.fp, loop, bridge=self.bridge)

    # ============================================================ instances

    def _take_index(self) -> int:
        if self._free:
            return self._free.pop()
        index = self._next_index
        self._next_index += 1
        return index

    def _all_vips(self) -> set:
        """Every VIP address of every instance: never a source address.  Built
        once, then grown per added runtime (issue 6: not O(N) per instance at
        start); whatever removes or changes VIPs sets _vip_cache = None."""
        if self._vip_cache is None:
            self._vip_cache = {spec.address for rt in self._runtimes.values()
                               for spec in rt.plan.all_vips}
        return self._vip_cache

    async def _add_runtimes(self, plans, after=None) -> list:
        """Runtimes for `plans` (not started): single instances get their own
        machine, the members of a vrrp_sync_group the machines of one SyncGroup
        (fastvrrp.vrrp.sync) that coordinates them.  `after`: {name: HostQueue}
        of instances they replace (a reload restart)."""
        after = after or {}
        out, groups, addresses = [], {}, {}
        for plan in plans:
            rt = await self._prepare_runtime(plan, after.get(plan.name), addresses)
            out.append(rt)
            if plan.sync_group is None:
                machine = VrrpMachine(self._params(rt))
                # issue 6 (memory): the plan keeps the machine's params, not a second
                # copy (they differ in the source only, which InstancePlan.core() leaves out)
                object.__setattr__(plan, "params", machine.params)
                self._link_runtime(rt, machine)
            else:
                groups.setdefault(plan.sync_group, []).append(rt)
        for gname, members in groups.items():
            order = self.config.sync_groups[gname].members
            members.sort(key=lambda r: order.index(r.name))
            by_name = {rt.name: rt for rt in members}
            try:
                group = SyncGroup(gname, [self._params(rt) for rt in members],
                                  run=lambda member, now, event, by_name=by_name:
                                  self._group_run(by_name, member, now, event))
            except SyncGroupError as exc:
                raise convert.ConvertError(str(exc)) from None
            for name in group.downgraded:
                log.info("(%s) state MASTER is ignored in sync group %s (not every member is an "
                         "address owner)", name, gname)
            for rt in members:
                rt.group = group
                self._link_runtime(rt, group.machine(rt.name))
        return out

    def _params(self, rt):
        params = rt.plan.params
        src = _source_address(rt.src) if rt.src else None
        if params.primary_address == src:
            return params
        if src is not None and src.version == rt.plan.family and params.primary_address is None:
            # issue 6 (start-up): the plan's params were validated when made; only the
            # source address (of the plan's own family) is new: no second validation
            slots = getattr(type(params), "__slots__", None)
            if slots:
                new = object.__new__(type(params))
                for name in slots:
                    object.__setattr__(new, name, getattr(params, name))
                object.__setattr__(new, "primary_address", src)
                return new
        return dataclasses.replace(params, primary_address=src)

    async def _prepare_runtime(self, plan, after=None, addresses=None) -> InstanceRuntime:
        """Index, interface, source address and sockets of one instance.

        `after`: the HostQueue of the instance it replaces (a reload restart):
        its VIP removal must be done before this one adds any.  `addresses`: a
        cache of address dumps shared by the instances started together."""
        g = self.config.global_defs
        gap_us = max(g.vrrp_garp_interval_us, g.vrrp_gna_interval_us)
        link = self._interfaces.get(plan.ifname)
        if link is None and not self._waits_for_interface(plan, plan.ifname):
            raise convert.ConvertError("vrrp_instance %s: interface %s does not exist"
                                       % (plan.name, plan.ifname))
        index = self._take_index()
        rt = InstanceRuntime(plan, index, netlink=self.netlink, announcer=self.announcer,
                             interfaces=self._interface_of,
                             release_vips=self.release_vips, garp_interval_s=gap_us / 1e6)
        rt.ifindex = rt.tx_ifindex = link.index if link is not None else None
        rt.firewall = self._accept_mode_firewall()
        rt.drops_vips = self._drops_vips
        if plan.vmac is not None:
            vm = self._vmac_of(plan)
            if vm is None:
                self._free.append(index)
                raise convert.ConvertError("vrrp_instance %s: its VMAC does not exist"
                                           % plan.name)
            rt.vmac = vm
            rt.retarget(plan.vip_ifname, vm.ifname)
            if not plan.vmac.xmit_base:
                rt.tx_ifindex = vm.ifindex      # keepalived: adverts via the VMAC
        self._runtimes[index] = rt
        if self._vip_cache is not None:
            self._vip_cache.update(spec.address for spec in plan.all_vips)
        if after is not None:
            rt.queue.submit(after.drain)
        if link is None:
            # dynamic_interfaces: no sockets, FAULT until the interface appears
            log.warning("(%s) interface %s does not exist - FAULT until it appears "
                        "(dynamic_interfaces)", plan.name, plan.ifname)
            rt.socket_fault = True
            return rt
        rt.src = await self.sources.lookup(rt, addresses)
        if rt.src is None:
            rt.source_fault = True
            what = "IPv4 address" if plan.family == 4 else "usable IPv6 link-local address"
            log.error("(%s) no %s for interface %s - entering FAULT until one appears",
                      plan.name, what, plan.ifname)
        rt.socket_fault = not self._open_sockets(rt)
        return rt

    def _link_runtime(self, rt, machine) -> None:
        """The instance's fast-path slot (with its machine) and its tracking."""
        plan = rt.plan
        self.bridge.add_instance(
            rt.index, machine, rx_socket=rt.rx_sid, tx_socket=rt.tx_sid,
            src=rt.src or _PLACEHOLDER_SRC[plan.family], peers=plan.peers,
            check_peers=plan.check_peers, auth_type=plan.auth_type, auth_pass=plan.auth_pass,
            group=plan.group, checksum_form=plan.checksum_form, ttl=plan.ttl)
        rt.linked = True
        if plan.name in self._by_name:
            self.tracking.remove_instance(plan.name)
        self._by_name[plan.name] = rt
        rt.tracking = self.tracking.add_instance(plan)
        self.sources.add(rt)
        if rt.source_fault and rt.ifindex is not None:
            # an address that arrived between the lookup and add() found nobody
            # watching: look again now (a late interface gets its address next)
            self.sources.address_event(rt.ifindex)

    def _open_sockets(self, rt) -> bool:
        """The instance's receive and send sockets, registered with the fast path.
        False (and logged) when the kernel refuses: keepalived puts the instance
        in FAULT (a unicast source that is not on the interface, no multicast)."""
        plan = rt.plan
        rx_key, tx_key = plan.rx_key, plan.tx_key
        try:
            if plan.unicast:
                source = rx_key.source or rt.src
                if source is None:
                    return False
                rx = self.pool.rx(plan.family, rt.ifindex, source=source)
            else:
                rx = self.pool.rx(plan.family, rt.ifindex, group=rx_key.group)
        except (SocketSetupError, ValueError) as exc:
            log.error("(%s) cannot open the VRRP receive socket on %s: %s", rt.name,
                      plan.ifname, exc)
            return False
        try:
            tx = self.pool.tx(plan.family, rt.tx_ifindex, multicast=tx_key.multicast,
                              unicast_hops=tx_key.unicast_hops)
        except (SocketSetupError, ValueError) as exc:
            log.error("(%s) cannot open the VRRP send socket on %s: %s", rt.name,
                      plan.ifname, exc)
            self._release_socket(rx)
            return False
        rt.rx, rt.tx = rx, tx
        rt.rx_sid = self._register_socket(rx, receive=True, check_ttl=not plan.unicast)
        rt.tx_sid = self._register_socket(tx, receive=False, check_ttl=False)
        return True

    def _register_socket(self, vsock, *, receive: bool, check_ttl: bool) -> int:
        entry = self._fp_socks.get(id(vsock))
        if entry is None:
            sid = self.fp.add_socket(vsock.fileno(), vsock.family, ifindex=vsock.ifindex,
                                     check_ttl=check_ttl, receive=receive)
            entry = self._fp_socks[id(vsock)] = [sid, receive]
            if receive:
                self.driver.add_socket(sid, vsock.fileno())
        return entry[0]

    def _release_socket(self, vsock) -> None:
        if vsock is None or self.pool.users(vsock) == 0:
            return
        if self.pool.users(vsock) == 1:
            entry = self._fp_socks.pop(id(vsock), None)
            if entry is not None:
                sid, receive = entry
                if receive:
                    self.driver.remove_socket(sid)
                self.fp.remove_socket(sid)
        self.pool.release(vsock)

    def _initial_events(self, rt) -> None:
        """The trackers' state and the faults already known, before Startup."""
        for event in rt.tracking.initial_events():
            self.bridge.deliver(rt.index, event)
        if rt.source_fault:
            self.bridge.deliver(rt.index, FaultSet(NO_SOURCE))
        if rt.socket_fault and not rt.source_fault:
            self.bridge.deliver(rt.index, FaultSet(SOCKET_FAULT))
        if rt.plan.no_peer_fault:
            self.bridge.deliver(rt.index, FaultSet(NO_PEER))

    def _start_runtimes(self, runtimes, delay_ns: int = 0) -> None:
        """RFC 5798 §6.4.1 Startup: each single instance, each sync group as a whole.
        Many single instances of one advert interval start spread over that
        interval (fastpath_driver.startup_phases, issue 6)."""
        groups, singles = [], []
        for rt in runtimes:
            self._initial_events(rt)
            rt.started = True
            if rt.group is None:
                singles.append(rt)
            elif rt.group not in groups:
                groups.append(rt.group)
        phases = startup_phases([rt.plan.params.advert_int_cs * 10_000_000 for rt in singles])
        loop = asyncio.get_running_loop()
        t0 = self._now()
        for rt, phase in zip(singles, phases):
            if phase:
                loop.call_at(loop.time() + phase / 1e9, self._start_later, rt, delay_ns,
                             t0 + phase)
            else:
                self.bridge.deliver(rt.index, Startup(delay_ns))
        for group in groups:
            self._route(group.start(self._now(), delay_ns))

    def _start_later(self, rt, delay_ns: int, at_ns: int) -> None:
        """A spread Startup (at its planned time while the loop is less than an
        interval late), unless the instance stopped or was replaced meanwhile."""
        if (rt.linked and not rt.deleting and not self._stopped
                and self._runtimes.get(rt.index) is rt):
            at = startup_time(at_ns, self._now(), rt.plan.params.advert_int_cs * 10_000_000)
            self.bridge.deliver(rt.index, Startup(delay_ns), at)

    def _now(self) -> int:
        return max(time.monotonic_ns(), self.fp.now_ns)

    def _group_run(self, members: dict, member: str, now_ns: int, event) -> list:
        """SyncGroup's `run` hook: the group's events to a member go through the
        fast-path bridge (which executes timers and adverts and hands the rest
        to _on_actions); nothing is returned for the group to route again."""
        rt = members.get(member)
        if rt is not None and rt.linked:
            self.bridge.deliver(rt.index, event, now_ns)
        return []

    def _host_busy(self) -> bool:
        """VIP changes or GARP rounds not out yet (AfterBatch waits for them)."""
        return bool((self.netlink is not None and self.netlink.busy) or self.announcer.busy)

    def _route(self, routed, deferred: bool = False) -> None:
        """A sync group's own outputs: its log lines and group notifies (queued
        behind the members' deferred lines, in order; `deferred`: run from that
        queue now)."""
        for member, action in routed:
            if member is not None:
                continue            # members' actions went through _on_actions already
            if not deferred and self.after.pending and type(action) in (Log, GroupNotify):
                self.after.add(self._route, ((None, action),), True)  # after member lines
            elif type(action) is Log:
                vrrp_log.log(action.level, "%s", action.text)
            elif type(action) is GroupNotify and self.notifier is not None:
                try:
                    self.notifier.group(action.group, action.state)
                except NotifyError as exc:
                    log.error("sync group %s: notify failed: %s", action.group, exc)

    def _unlink(self, rt) -> None:
        """Release the slot and the sockets (the instance has stopped)."""
        if rt.linked:
            try:
                rt.last_counters = self.bridge.counters(rt.index)
            except KeyError:
                pass
            self.bridge.remove_instance(rt.index)
            rt.linked = False
        self._release_socket(rt.rx)
        self._release_socket(rt.tx)
        rt.rx = rt.tx = None
        if self.sources is not None:
            self.sources.remove(rt)
        if self._runtimes.get(rt.index) is rt:
            del self._runtimes[rt.index]
            self._free.append(rt.index)
            self._vip_cache = None

    # ============================================================ events in

    def _deliver(self, rt, event) -> None:
        """One engine-side event for an instance (a sync-group member's group
        reacts to what its machine did, in _on_actions)."""
        if rt.linked and rt.started:
            self.bridge.deliver(rt.index, event)

    def _tracker_event(self, name: str, event) -> None:
        rt = self._by_name.get(name)
        if rt is not None and not self._stopped:
            self._deliver(rt, event)

    def _source_changed(self, rt, address: Optional[str]) -> None:
        if not rt.linked:
            return
        if address is None:
            if not rt.source_fault:
                log.error("(%s) no source address left on %s - entering FAULT", rt.name,
                          rt.plan.ifname)
                rt.source_fault = True
                rt.src = None
                self._deliver(rt, FaultSet(NO_SOURCE))
            return
        log.info("(%s) source address is now %s", rt.name, address)
        rt.src = address
        self.bridge.set_source_address(rt.index, ipaddress.ip_address(address))
        if rt.rx is None and not rt.socket_fault:
            # a unicast instance whose source was missing at start has no
            # receive socket bound to it; the slot cannot take one later
            log.error("(%s) the unicast receive socket was not opened (no source address at "
                      "start): restart fastvrrp to open it", rt.name)
            rt.socket_fault = True
            self._deliver(rt, FaultSet(SOCKET_FAULT))
        if rt.source_fault:
            rt.source_fault = False
            self._deliver(rt, FaultCleared(NO_SOURCE))

    async def _consume_events(self) -> None:
        """The one netlink subscription: links for the trackers and the MAC/index
        table, addresses for the source watcher."""
        async for event in self.events:
            try:
                if isinstance(event, AddrEvent):
                    # a VIP is never a source (and another address whose role its
                    # add/remove changes gets an event of its own): a burst of VIP
                    # adds costs no address dumps (issue 6)
                    if ipaddress.ip_address(event.addr.address) not in self._all_vips():
                        self.sources.address_event(event.addr.index)
                elif isinstance(event, LinkEvent):
                    self._link_event(event)
                    await self.tracking.handle(event)
                elif isinstance(event, Resync):
                    try:
                        await self._read_interfaces()
                    except EngineStartError as exc:
                        log.warning("%s", exc)
                    await self.tracking.handle(event)
                    self.sources.resync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handling a netlink notification failed")

    def _link_event(self, event) -> None:
        link = event.link
        if event.kind == "del":
            if self._interfaces.get(link.ifname, link).index == link.index:
                self._interfaces.pop(link.ifname, None)
            if self.vmacs is not None and not self._stopped:
                from . import engine_reload
                engine_reload.vmac_lost(self, link)     # deleted behind our back: re-create
        elif link.ifname:
            self._interfaces[link.ifname] = link
            self._interface_appeared(link)

    def _interface_appeared(self, link) -> None:
        """dynamic_interfaces: the instances waiting for this interface start on it,
        each in a fresh slot (a slot's sockets are fixed when it is made)."""
        waiting = [rt for rt in self._by_name.values()
                   if rt.ifindex is None and rt.linked and rt.plan.ifname == link.ifname]
        if not waiting or self._stopped:
            return
        for rt in waiting:
            rt.ifindex = link.index            # taken: a second link event does not restart it
        task = asyncio.get_running_loop().create_task(self._start_on_interface(waiting))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _start_on_interface(self, waiting) -> None:
        for rt in waiting:
            if self._stopped or self._by_name.get(rt.name) is not rt:
                continue
            log.info("(%s) interface %s appeared - starting on it", rt.name, rt.plan.ifname)
            self._unlink(rt)
            try:
                new = await self._add_runtimes([rt.plan], after={rt.name: rt.queue})
            except convert.ConvertError as exc:
                log.error("%s", exc)
                continue
            self._start_runtimes(new)

    # ============================================================ actions out

    def _on_actions(self, index: int, now_ns: int, actions) -> None:
        """The machine's actions the bridge does not execute (see the module docstring).
        Runs synchronously inside fast-path calls: nothing here blocks."""
        rt = self._runtimes.get(index)
        defer = self.after.defer()      # a burst: lines and notifies after the host work
        if defer and not self.after.pending and gc.isenabled():
            # issue 6: no collection inside a burst (a full one costs tens of ms);
            # automatic collection is back once the burst's host work is out
            gc.disable()
            self.after.add(gc.enable)
        # In a burst, lines and notifies run once its host work is out (one deferred
        # entry per batch of actions, the machine's own objects: issue 6 memory).
        # Otherwise they run once this batch's host work has left, which it does
        # at once (issue 6 failover: a lone takeover's VIP add and first GARP
        # follow its timer by a fraction of a millisecond; its three log lines cost
        # ~0.15 ms more, so keepalived's "Entering MASTER STATE" is written just
        # after the VIP is up and announced, not just before; keepalived notifies last)
        has_later = hurry = False
        for action in actions:
            kind = type(action)
            if kind is Log or kind is Notify:
                has_later = True
            elif rt is None:
                continue
            elif kind is StateChanged:
                rt.state = action.new
                rt.last_transition = time.time()
                self._status_soon()
            elif kind is AddVips:
                rt.vips_wanted = True
                rt.queue.submit(Inline(rt.add_vips_inline))
                hurry = True
            elif kind is RemoveVips:
                rt.vips_wanted = False
                rt.queue.submit(Inline(functools.partial(rt.remove_vips_inline, action.force)))
            elif kind is UpdateVips:
                # reload of a MASTER (engine_reload.reconfigure): the new ones are added
                rt.queue.submit(rt.add_vips)
            elif kind is SendGarp:
                repeat = action.repeat
                if rt.garp_interval_s:
                    rt.queue.submit(lambda rt=rt, repeat=repeat: rt.garp(repeat))
                else:
                    rt.queue.submit(Inline(functools.partial(rt.garp_inline, repeat)))
                    hurry = True
            elif kind is SendSourceGarp:
                rt.queue.submit(rt.source_garp)
            elif kind is PriorityUpdated:
                rt.priority = action.new
                has_later = True
        if defer:
            if has_later:
                self.after.add(self._lines_and_notifies, rt, actions)
        else:
            if hurry:
                self._flush_host()
            if has_later:
                self._lines_and_notifies(rt, actions)
        if rt is not None and rt.group is not None and rt.started and not rt.deleting:
            self._route(rt.group.react(now_ns, rt.name, actions))

    def _lines_and_notifies(self, rt, actions) -> None:
        """The Log lines, notifies and priority notifies among `actions`, in order."""
        for action in actions:
            kind = type(action)
            if kind is Log:
                vrrp_log.log(action.level, "%s", action.text)
            elif rt is None:
                continue
            elif kind is Notify:
                self._notify(rt, action)
            elif kind is PriorityUpdated:
                self._notify_priority(rt, action.new)

    def _flush_host(self) -> None:
        """Send the VIP adds and GARP rounds queued so far now, not on the next
        loop turn (the kernel answers an address change inside the send, so the
        adds' GARPs are queued by then and leave too)."""
        if self.netlink is not None:
            self.netlink.flush_now()
        self.announcer.flush_now()

    def _notify(self, rt, action) -> None:
        if self.notifier is None:
            return
        try:
            if rt.deleting and action.state is NotifyState.STOP:
                # keepalived: a deleted instance notifies FAULT (DELETED with notify_deleted)
                self.notifier.instance(rt.name, "DELETED", action.priority)
            else:
                self.notifier.action(rt.name, action)
        except NotifyError as exc:
            log.error("(%s) notify failed: %s", rt.name, exc)

    def _notify_priority(self, rt, priority: int) -> None:
        if self.notifier is None:
            return
        try:
            self.notifier.priority_changed(rt.name, rt.state.name, priority)
        except NotifyError as exc:
            log.error("(%s) priority notify failed: %s", rt.name, exc)

    def _status_soon(self) -> None:
        if self.process is None or self._status_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # issue 6: a burst of transitions over many loop turns counts the states
        # once per STATUS_COALESCE_S, not once per turn (O(N) each)
        self._status_handle = loop.call_later(STATUS_COALESCE_S, self._status)

    def _status(self) -> None:
        self._status_handle = None
        counts: dict = {}
        for rt in self._runtimes.values():
            if not rt.deleting:
                counts[rt.state] = counts.get(rt.state, 0) + 1
        parts = ["%d %s" % (n, state.name) for state, n in sorted(counts.items())]
        try:
            self.process.set_status("%d VRRP instance(s): %s" % (sum(counts.values()),
                                                                 ", ".join(parts) or "none"))
        except Exception:
            log.exception("status update failed")

    # ============================================================ reload

    async def reload(self, new_config) -> None:
        """SIGHUP: engine_reload.reload (identity diff; unchanged instances keep
        running untouched, changed ones are reconfigured in place where
        keepalived does, the rest restart)."""
        from . import engine_reload
        _thaw_memory()                 # what the reload lets go of can be collected
        try:
            await engine_reload.reload(self, new_config)
        finally:
            _settle_memory()

    def _retire_all(self, going, new_config) -> None:
        """Stop the instances in `going` ([(runtime, deleted)]): single ones one by
        one, sync groups as a whole (every member of a group is in `going`)."""
        groups = []
        for rt, deleted in going:
            rt.deleting = deleted
            if self._by_name.get(rt.name) is rt:
                del self._by_name[rt.name]
                self.tracking.remove_instance(rt.name)
            if rt.group is None:
                self._deliver(rt, Shutdown())
            elif rt.group not in groups:
                groups.append(rt.group)
        for group in groups:
            self._route(group.stop(self._now()))
            if group.name not in new_config.sync_groups and self.notifier is not None:
                self.notifier.remove_group(group.name)
        for rt, deleted in going:
            self._retire(rt, deleted=deleted)

    def _retire(self, rt, *, deleted: bool) -> None:
        """An instance that got Shutdown: a MASTER sent priority 0 (at once) and its
        VIPs are removed in the background; its slot and sockets are released
        now, so a successor with the same VRID on the same socket can take the slot."""
        if deleted and self.notifier is not None:
            self.notifier.remove_instance(rt.name)
        self._unlink(rt)
        task = asyncio.get_running_loop().create_task(self._finish_retire(rt))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _finish_retire(self, rt) -> None:
        try:
            await asyncio.wait_for(rt.queue.drain(), HOST_DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning("(%s) host work still pending after %g s", rt.name, HOST_DRAIN_TIMEOUT_S)
            rt.queue.cancel()
        spec = rt.plan.vmac
        if spec is not None and self.vmacs is not None and not any(
                other.plan.vmac == spec for other in self._by_name.values()):
            outcome = await self.vmacs.delete(spec)
            if not outcome.ok:
                log.warning("(%s) VMAC: %s", rt.name, outcome)

    # ============================================================ stop

    async def stop(self) -> None:
        """keepalived's shutdown order (see the module docstring)."""
        if self._stopped:
            return
        self._stopped = True
        stopping_trackers = None
        if self.tracking is not None:
            stopping_trackers = asyncio.ensure_future(self.tracking.stop())
        if self._events_task is not None:
            self._events_task.cancel()
        if self.sources is not None:
            self.sources.close()
        runtimes = list(self._runtimes.values())
        groups = []
        for rt in runtimes:
            if not rt.linked:
                continue
            if self.dont_release:
                self._stop_keeping_vips(rt)
            elif rt.group is None or not rt.started:
                # RFC 5798 §6.4.3 Shutdown: priority 0 from a master, then its VIPs go
                self.bridge.deliver(rt.index, Shutdown())
            elif rt.group not in groups:
                groups.append(rt.group)
        for group in groups:
            self._route(group.stop(self._now()))
        await self._drain_hosts(runtimes)
        # issue 6: thawed once the VIPs are gone, so that no collection over
        # everything start-up built runs between SIGTERM and the VIP removal
        _thaw_memory()
        for task in list(self._retiring):
            await asyncio.wait((task,))
        if stopping_trackers is not None:
            await stopping_trackers
        await self._release_host()
        await self._teardown()

    async def _release_host(self) -> None:
        """keepalived §3.14 steps 3 and 7: static rules, routes, addresses, then the VMACs."""
        if self.netlink is None:
            return
        if self.statics is not None and self.statics.started:
            for outcome in await self.statics.stop():
                if not outcome.ok:
                    log.warning("static entry: %s", outcome)
        if self.firewall is not None and not self.dont_release:
            await self.firewall.close()       # the accept-mode tables go (keepalived nft_end)
        if self.vmacs is not None and not self.dont_release:
            for outcome in await self.vmacs.delete_all():
                if not outcome.ok:
                    log.warning("VMAC: %s", outcome)

    def _stop_keeping_vips(self, rt) -> None:
        """-V / --dont-release-vrrp: no priority-0 advert, VIPs left in place."""
        self._unlink(rt)
        if self.notifier is not None and rt.state is not State.STOP:
            try:
                self.notifier.instance(rt.name, "STOP", rt.priority)
            except NotifyError as exc:
                log.error("(%s) notify failed: %s", rt.name, exc)
        rt.state = State.STOP

    async def _drain_hosts(self, runtimes) -> None:
        if not runtimes:
            return
        try:
            # one waiter for every queue (issue 6: not a task per instance ahead of
            # the VIP removal batch)
            await asyncio.wait_for(drain_all([rt.queue for rt in runtimes]),
                                   HOST_DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning("VIP removal still pending after %g s at stop", HOST_DRAIN_TIMEOUT_S)
            for rt in runtimes:
                rt.queue.cancel()

    async def _teardown(self) -> None:
        """Close everything opened (a finished stop, or a failed start)."""
        if self._events_task is not None:
            self._events_task.cancel()
            try:
                await self._events_task
            except (asyncio.CancelledError, Exception):
                pass
            self._events_task = None
        if self.driver is not None:
            self.driver.stop()
        for rt in list(self._runtimes.values()):
            self._unlink(rt)
        self.pool.close()
        self._fp_socks.clear()
        self.announcer.close()
        if self.tracking is not None and not self._started:
            await self.tracking.stop()
        self.after.flush()                     # deferred lines and notifies first
        if self.notifier is not None:
            await self.notifier.close()
            self.notifier = None
        if self.events is not None:
            self.events.close()
            self.events = None
        if self.netlink is not None:
            self.netlink.close()
            self.netlink = None
        if self._status_handle is not None:
            self._status_handle.cancel()
            self._status_handle = None

    # ============================================================ dumps

    def _sorted_runtimes(self) -> list:
        return sorted(self._runtimes.values(), key=lambda r: r.index)

    def _view(self, rt, counters=None) -> engine_dumps.InstanceView:
        from . import engine_dumps
        if rt.linked:
            machine = self.bridge.machine(rt.index)
            if counters is None:
                counters = self.bridge.counters(rt.index)
        else:
            machine, counters = None, dict(rt.last_counters or {})
        base = self._counter_base.get(rt.name)
        if base:
            counters = {k: v - base.get(k, 0) for k, v in counters.items()}
        faults = tuple(sorted(machine.faults)) if machine is not None else ()
        return engine_dumps.InstanceView(
            plan=rt.plan, machine=machine, counters=counters, src=rt.src,
            last_transition=rt.last_transition,
            held_vips=tuple(str(s) for s in rt.vip_specs if rt.vipset.holds(s)),
            faults=faults,
            trackers=rt.tracking.breakdown() if rt.tracking is not None else ())

    def _views(self) -> list:
        return [self._view(rt) for rt in self._sorted_runtimes()]

    async def render_dump(self, kind: str) -> str:
        """Dump `kind` ("data", "stats", "stats_clear", "json") as text, read a
        chunk of instances per turn of the loop (engine_dumps.render): the
        process shell writes it to keepalived's file."""
        runtimes = self._sorted_runtimes()
        scripts = (self.tracking.script_status()
                   if kind == "data" and self.tracking is not None else ())
        from . import engine_dumps
        text = await engine_dumps.render(
            "stats" if kind == "stats_clear" else kind, runtimes, self._view,
            config=self.config, scripts=scripts,
            fastpath_stats=self.fp.stats() if self.fp is not None else None,
            # every counter at one instant (issue 6), the rest chunk by chunk
            counters_of=lambda rt: self.bridge.counters(rt.index) if rt.linked else None)
        if kind == "stats_clear":
            self._clear_counters()
        return text

    def _clear_counters(self) -> None:
        for rt in self._runtimes.values():
            if rt.linked:
                self._counter_base[rt.name] = dict(self.bridge.counters(rt.index))

    def dump_data(self, fp: TextIO) -> None:
        scripts = self.tracking.script_status() if self.tracking is not None else ()
        from . import engine_dumps
        engine_dumps.write_data(fp, self._views(), self.config, scripts=scripts)

    def dump_stats(self, fp: TextIO, clear: bool) -> None:
        from . import engine_dumps
        views = self._views()
        engine_dumps.write_stats(fp, views)
        if self.fp is not None:
            engine_dumps.write_fastpath_stats(fp, self.fp.stats())
        if clear:
            self._clear_counters()

    def dump_json(self, fp: TextIO) -> None:
        from . import engine_dumps
        engine_dumps.write_json(fp, self._views())

    # ============================================================ queries

    def instance(self, name: str) -> Optional[InstanceRuntime]:
        return self._by_name.get(name)

    @property
    def instances(self) -> list:
        return [rt for rt in self._runtimes.values() if not rt.deleting]


__all__ = ["Engine", "FASTPATH_ENV"]
