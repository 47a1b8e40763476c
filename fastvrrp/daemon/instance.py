"""One running vrrp_instance: its slot, sockets, VIPs on the host, GARP rounds.

    rt = InstanceRuntime(plan, index, netlink=nl, announcer=ann, interfaces=table)
    rt.queue.submit(rt.add_vips)              # AddVips: netlink, in the background
    rt.queue.submit(partial(rt.garp, 5))      # SendGarp(5): after the add above
    rt.queue.submit(partial(rt.remove_vips, False))
    await rt.queue.drain()

Host work never blocks the loop and never runs out of order for one
instance: `HostQueue` runs its jobs one after the other in a task of its
own, so a RemoveVips issued after an AddVips waits for the add to finish
(RFC 5798 §6.4.3 leaves no window where a stale add re-creates a VIP that a
later transition removed).  Different instances do not wait for each other.
A job that raises is logged and the queue moves on.

The VIPs and eVIPs of an instance are one `VipSet` (keepalived adds VIPs,
then eVIPs, and removes them together, reference §3.13-§3.14); what this run
added is what a clean stop removes (VipSet.remove_all).  GARP / unsolicited
NA rounds go out of each VIP's interface with that interface's MAC (RFC 5798
§6.4.2), back to back unless `vrrp_garp_interval` / `vrrp_gna_interval` ask
for a gap between rounds; a round queued behind a RemoveVips is skipped (the
VIPs it would announce are gone).

The instance's virtual_routes and virtual_rules (`RouteSet`, `RuleSet`)
follow its VIPs: added after the VIPs and eVIPs on becoming Master, removed
before them on leaving it (keepalived vrrp.c, reference §3.13-§3.14: rules,
routes, then addresses).  With `use_vmac`, `retarget()` moves the VIPs to
the VMAC's actual name when the VMAC manager had to pick another one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import ipaddress
import logging
import time
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from fastvrrp.host.netlink import FAILED
from fastvrrp.host.vips import VipSet

if TYPE_CHECKING:   # issue 6 (start-up): imported on first use (few instances have any)
    from fastvrrp.host.routes import RouteSet
    from fastvrrp.host.rules import RuleSet
from fastvrrp.vrrp import State

from .convert import InstancePlan

log = logging.getLogger("fastvrrp.daemon.instance")

Job = Callable[[], Awaitable]


def _never(name: str) -> bool:
    """The default `drops_vips(name)`: one function for every runtime (issue 6)."""
    return False


class QuietCollector:
    """Issue 6 (memory): pyroute2's netlink replies are reference cycles, freed
    only by a full garbage collection; after a burst of host work (thousands
    of VIPs added at once) they would wait, and their memory with them.  A
    HostQueue going idle calls touch(); once the host work has been quiet for
    QUIET_S, one full collection runs (cheap once the engine froze what
    start-up built: only young objects are scanned).

    With `refreeze` (set while the engine keeps start-up's objects frozen,
    engine._settle_memory), what survives the collection is frozen too: the
    collections that automatic GC runs later (one full one per middle-generation
    one) scan only what is younger, so a burst of transitions that starts
    right after (a master dying) meets a pause of a fraction of a millisecond,
    not tens (issue 6, failover)."""

    QUIET_S = 0.5
    __slots__ = ("_loop", "_handle", "_last", "collections", "refreeze")

    def __init__(self) -> None:
        self._loop = None
        self._handle = None
        self._last = 0.0
        self.collections = 0
        self.refreeze = False

    def touch(self) -> None:
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        if self._handle is None or self._loop is not loop:
            self._loop = loop
            self._handle = loop.call_at(self._last + self.QUIET_S, self._fire)

    def _fire(self) -> None:
        due = self._last + self.QUIET_S
        if self._loop.time() < due:            # touched meanwhile: wait for the quiet
            self._handle = self._loop.call_at(due, self._fire)
            return
        self._handle = None
        self.collections += 1
        gc.collect()
        if self.refreeze:
            gc.freeze()


QUIET = QuietCollector()


def _in_task(coro, done: Callable) -> None:
    """An Inline job's fallback: `coro` in a task, done(its exception or None) after."""
    task = asyncio.get_running_loop().create_task(coro)
    task.add_done_callback(lambda t: done(None if t.cancelled() else t.exception()))


class Inline:
    """A host job that needs no task: `start(done)` does its work at once or hands
    it to a batch, and calls done(error or None) when it is over (perhaps before
    returning).  HostQueue.submit runs it in its turn like any other job; while
    the queue is idle it starts at once, in the caller's callback, and what is
    submitted meanwhile waits for its done().  A burst of transitions thus puts
    its VIPs up and sends its first GARPs without a task and a loop turn per
    step (issue 6, failover)."""

    __slots__ = ("start",)

    def __init__(self, start: Callable[[Callable], None]) -> None:
        self.start = start

    async def __call__(self) -> None:
        """Run inside the queue's task (the queue was busy when it came)."""
        future = asyncio.get_running_loop().create_future()
        self.start(lambda error=None: future.done() or future.set_result(error))
        error = await future
        if error is not None:
            raise error


class _Running:
    """An Inline job in flight, and its done(error=None) callback (one object,
    not a closure: issue 6 memory, thousands in flight in a burst); a future
    for drain() only when someone waits."""

    __slots__ = ("finished", "_waiter", "_queue")

    def __init__(self, queue: "HostQueue") -> None:
        self.finished = False
        self._waiter: Optional[asyncio.Future] = None
        self._queue = queue

    def __call__(self, error=None) -> None:
        self._queue._inline_done(self, error)

    def finish(self) -> None:
        self.finished = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def waiter(self) -> asyncio.Future:
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
            if self.finished:
                self._waiter.set_result(None)
        return self._waiter


class _Counted:
    """The inline VIP jobs' on_done(outcomes): the instance counts them, then the
    job is done (an object, not a closure: issue 6 memory)."""

    __slots__ = ("rt", "done")

    def __init__(self, rt, done) -> None:
        self.rt, self.done = rt, done

    def __call__(self, outcomes) -> None:
        self.rt._count(outcomes)
        self.done()


class HostQueue:
    """Runs one instance's host jobs in submission order (see the module docstring).

    Issue 6 (memory): the job list and the task exist only while there is
    work; an idle queue holds neither (thousands of idle instances).  An
    Inline job submitted to an idle queue runs without a task."""

    __slots__ = ("name", "_jobs", "_task", "_busy", "_inline", "done", "failed")

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: Optional[list] = None        # made by submit(), dropped when idle
        self._task: Optional[asyncio.Task] = None
        self._busy = False
        self._inline: Optional[_Running] = None     # an Inline job not done yet
        self.done = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        return ((len(self._jobs) if self._jobs else 0) + (1 if self._busy else 0)
                + (1 if self._inline is not None else 0))

    def submit(self, job: Job) -> None:
        if not callable(job):
            raise TypeError("a host job must be a coroutine function, not %r" % (job,))
        if type(job) is Inline and self._idle():
            self._start_inline(job)
            return
        if self._jobs is None:
            self._jobs = []     # a few jobs at most: a list is a tenth of a deque's size
        self._jobs.append(job)
        if self._inline is None and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _idle(self) -> bool:
        return (self._inline is None and not self._jobs
                and (self._task is None or self._task.done()))

    def _start_inline(self, job: Inline) -> None:
        marker = self._inline = _Running(self)
        try:
            job.start(marker)
        except Exception as exc:     # a host job must never take the daemon down
            self._inline_done(marker, exc)

    def _inline_done(self, marker: "_Running", error) -> None:
        if marker.finished:
            return      # done() called twice: the first one counts
        marker.finish()
        if self._inline is marker:
            self._inline = None
        if error is None:
            self.done += 1
        else:
            self.failed += 1
            log.error("(%s) host operation failed: %s", self.name, error)
        # what came meanwhile, in order: Inline jobs at once, the rest in a task
        while self._jobs and self._inline is None:
            if type(self._jobs[0]) is not Inline:
                self._task = asyncio.get_running_loop().create_task(self._run())
                return
            self._start_inline(self._jobs.pop(0))
        if self._inline is None and not self._jobs:
            self._jobs = None
            QUIET.touch()

    async def _run(self) -> None:
        while self._jobs:
            job = self._jobs.pop(0)
            self._busy = True
            try:
                await job()
                self.done += 1
            except asyncio.CancelledError:
                raise
            except Exception:   # a host job must never take the daemon down
                self.failed += 1
                log.exception("(%s) host operation failed", self.name)
            finally:
                self._busy = False
        # idle again: let the job list and this (finished) task go
        self._jobs = None
        self._task = None
        QUIET.touch()

    def _waitable(self) -> Optional[asyncio.Future]:
        """What drain() waits for now: the Inline job in flight or the task."""
        if self._inline is not None:
            return self._inline.waiter()
        if self._task is not None and not self._task.done():
            return self._task
        return None

    async def drain(self) -> None:
        """Wait until every job submitted so far (and meanwhile) has run."""
        while True:
            waitable = self._waitable()
            if waitable is None:
                return
            await asyncio.wait((waitable,))

    def cancel(self) -> None:
        """Drop what is queued and cancel what runs (the last resort at exit)."""
        if self._jobs is not None:
            self._jobs.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._inline is not None:        # its batch answers later, to nobody
            marker, self._inline = self._inline, None
            marker.finish()


async def drain_all(queues) -> None:
    """Wait until every HostQueue in `queues` has run what was submitted so far
    (and meanwhile): one asyncio.wait over the running queues' tasks per round,
    not a waiter per queue (issue 6: a stop drains a thousand queues)."""
    while True:
        running = {w for w in (q._waitable() for q in queues) if w is not None}
        if not running:
            return
        await asyncio.wait(running)


class InstanceRuntime:
    """What the engine keeps per running instance (see the module docstring).

    Issue 6 (memory): slotted (no per-instance __dict__); the RouteSet and
    RuleSet are made on first use (most instances have no virtual_routes /
    virtual_rules).  A new attribute must be added to __slots__."""

    __slots__ = ("plan", "index", "name", "netlink", "announcer", "_interfaces", "release_vips",
                 "garp_interval_s", "vipset", "_routes", "_rules", "tx_ifindex", "vmac",
                 "firewall", "queue", "vip_specs", "ifindex", "src", "rx", "tx", "rx_sid",
                 "tx_sid", "state", "priority", "last_transition", "linked", "started",
                 "deleting", "stale_checked", "source_fault", "socket_fault", "vips_wanted",
                 "tracking", "group", "last_counters", "garp_rounds", "vip_failures",
                 "drops_vips")

    def __init__(self, plan: InstancePlan, index: int, *, netlink, announcer,
                 interfaces: Callable[[str], Optional[object]], release_vips: bool = False,
                 garp_interval_s: float = 0.0) -> None:
        self.plan = plan
        self.index = index
        self.name = plan.name
        self.netlink = netlink
        self.announcer = announcer
        self._interfaces = interfaces           # ifname -> LinkInfo or None
        self.release_vips = bool(release_vips)  # keepalived -X
        self.garp_interval_s = max(0.0, float(garp_interval_s))
        self.vipset = VipSet(netlink, plan.all_vips, name=plan.name, ifindex_of=self._ifindex_of)
        self._routes: Optional[RouteSet] = None  # see the `routes` property
        self._rules: Optional[RuleSet] = None    # see the `rules` property
        self.tx_ifindex: Optional[int] = None   # adverts leave here (a VMAC, or the interface)
        self.vmac = None                        # fastvrrp.host.vmac.Vmac of use_vmac
        self.firewall = None                    # the engine's AcceptModeFirewall (§6.4.3)
        self.drops_vips: Callable[[str], bool] = _never   # no_accept now, by name (reload-aware)
        self.queue = HostQueue(plan.name)
        self.vip_specs = plan.all_vips          # where the VIPs go (retarget: a VMAC's name)
        self.ifindex: Optional[int] = None
        self.src: Optional[str] = None          # our source address (None: none found)
        self.rx = self.tx = None                # VrrpSocket
        self.rx_sid = self.tx_sid = -1          # fast-path socket ids
        self.state = State.INIT
        self.priority = plan.params.priority    # effective priority, from PriorityUpdated
        self.last_transition = time.time()
        self.linked = False                     # has a fast-path slot
        self.started = False                    # Startup delivered
        self.deleting = False                   # reload: removed from the config
        self.stale_checked = False              # the start-up cleanup covered its VIPs
        self.source_fault = False               # FAULT: no source address
        self.socket_fault = False               # FAULT: a socket could not be opened
        self.vips_wanted = False                # the machine's last word: AddVips / RemoveVips
        self.tracking = None                    # fastvrrp.track.aggregate.InstanceTracking
        self.group = None                       # fastvrrp.vrrp.sync.SyncGroup of a member
        self.last_counters: Optional[dict] = None
        self.garp_rounds = 0
        self.vip_failures = 0

    def __repr__(self) -> str:
        return "<InstanceRuntime %s #%d %s>" % (self.name, self.index, self.state.name)

    @property
    def routes(self) -> RouteSet:
        """The virtual_routes held for this instance, made on first use."""
        if self._routes is None:
            from fastvrrp.host.routes import RouteSet
            self._routes = RouteSet(self.netlink, self.plan.routes, name=self.name)
        return self._routes

    @property
    def rules(self) -> RuleSet:
        """The virtual_rules held for this instance, made on first use."""
        if self._rules is None:
            from fastvrrp.host.rules import RuleSet
            self._rules = RuleSet(self.netlink, self.plan.rules, name=self.name)
        return self._rules

    # ------------------------------------------------------------ VIPs

    async def add_vips(self) -> None:
        """RFC 5798 §6.4.1 / §6.4.2: add the VIPs, then the eVIPs (keepalived order)."""
        if not self.vips_wanted:
            return          # a later RemoveVips already took them back: nothing to add
        if self.firewall is not None:
            if self.drops_vips(self.name):
                # RFC 5798 §6.4.3 Accept_Mode False; keepalived: drop rule before the VIPs
                await self.firewall.hold(self.name, [s.address for s in self.vip_specs])
            else:
                await self.firewall.release(self.name)   # a reload turned accept on
        outcomes = await self.vipset.add_all()
        if self.vips_wanted:
            # keepalived vrrp.c: VIPs, eVIPs, then virtual_routes, then virtual_rules
            if self._routes is not None or self.plan.routes:
                outcomes += await self.routes.add_all()
            if self._rules is not None or self.plan.rules:
                outcomes += await self.rules.add_all()
        self._count(outcomes)

    def can_add_inline(self) -> bool:
        """add_vips_inline() can stand for add_vips(): no accept-mode rule to hold
        first or to release (RFC 5798 §6.4.3), no virtual_routes / virtual_rules
        after, interfaces from the table."""
        return (not self._holds_drop_rule()
                and (self.firewall is None or not self.drops_vips(self.name))
                and self._routes is None and not self.plan.routes
                and self._rules is None and not self.plan.rules
                and self.vipset.ifindex_of is not None)

    def _holds_drop_rule(self) -> bool:
        """Our VIPs are in the accept-mode drop rule now (RFC 5798 §6.4.3)."""
        return self.firewall is not None and self.firewall.holds(self.name)

    def add_vips_inline(self, done: Callable) -> None:
        """add_vips() as an Inline job: when can_add_inline(), the VIP adds join the
        netlink batch now and done() follows the kernel's answers; otherwise
        add_vips() runs in a task and done() follows it."""
        if not self.vips_wanted:
            done()
            return
        if not self.can_add_inline():
            _in_task(self.add_vips(), done)
            return

        self.vipset.add_all_then(_Counted(self, done))

    async def remove_vips(self, force: bool = False) -> None:
        """RFC 5798 §6.4.3: leaving Master (or stopping) removes what we added;
        `force` (a start, keepalived -X) removes every configured VIP found."""
        if force and self.stale_checked:
            force = False   # the start-up cleanup already removed what an earlier run left
        # keepalived vrrp.c vrrp_restore_interface: rules, routes, then the addresses
        outcomes = await self._rules.remove_all() if self._rules is not None else []
        if self._routes is not None:     # never made: nothing of ours to remove
            outcomes += await self._routes.remove_all()
        outcomes += await self.vipset.remove_all(force=force or self.release_vips)
        if self.firewall is not None:
            await self.firewall.release(self.name)      # keepalived: after the addresses
        self._count(outcomes)

    def remove_vips_inline(self, force: bool, done: Callable) -> None:
        """remove_vips() as an Inline job: a plain removal of what we hold (no
        force, no routes / rules, no accept-mode rule held) joins the netlink
        batch now and done() follows the answers; otherwise remove_vips() runs
        in a task and done() follows it."""
        if force and self.stale_checked:
            force = False
        plain = (not (force or self.release_vips) and self._rules is None
                 and self._routes is None and not self._holds_drop_rule())
        if not plain:
            _in_task(self.remove_vips(force), done)
            return

        self.vipset.remove_all_then(_Counted(self, done))

    def _count(self, outcomes) -> None:
        failed = [o for o in outcomes if o.status == FAILED]
        self.vip_failures += len(failed)
        for outcome in failed:
            log.warning("(%s) %s", self.name, outcome)

    def retarget(self, old_ifname: str, new_ifname: str) -> None:
        """The VIPs planned on `old_ifname` go on `new_ifname` (a VMAC's actual name).
        Only before any VIP was added."""
        if old_ifname == new_ifname:
            return
        if self.vipset.added:
            raise RuntimeError("(%s) cannot move VIPs that are already added" % self.name)
        specs = tuple(dataclasses.replace(s, ifname=new_ifname) if s.ifname == old_ifname else s
                      for s in self.plan.all_vips)
        self.vipset = VipSet(self.netlink, specs, name=self.name, ifindex_of=self._ifindex_of)
        self.vip_specs = specs

    def holds_vips(self) -> bool:
        return bool(self.vipset.added)

    def _ifindex_of(self, ifname: str) -> Optional[int]:
        """The engine's interface table (no netlink request per VIP add, issue 6)."""
        link = self._interfaces(ifname)
        return link.index if link is not None else None

    # ------------------------------------------------------------ GARP / NA

    def _link(self, ifname: str):
        return self._interfaces(ifname)

    def _garp_groups(self) -> list:
        """[((ifindex, mac), [VIP, ...])] of the VIPs and eVIPs, per interface."""
        by_link: dict = {}
        for spec in self.vip_specs:
            link = self._link(spec.ifname)
            if link is None or not link.mac:
                continue
            by_link.setdefault((link.index, link.mac), []).append(spec.address)
        return list(by_link.items())

    def garp_ifindexes(self) -> list:
        """The interfaces this instance's GARP rounds go out on (_garp_groups)."""
        return [index for (index, _mac), _vips in self._garp_groups()]

    def _live(self) -> bool:
        return self.vips_wanted

    async def garp(self, repeat: int) -> None:
        """`repeat` rounds of gratuitous ARP / unsolicited NA for every VIP and eVIP
        (RFC 5798 §6.4.2; keepalived's garp_master_repeat rounds)."""
        if not self.vips_wanted or repeat <= 0:
            return
        groups = self._garp_groups()
        if not groups:
            return
        if not self.garp_interval_s:
            # back to back: one burst with every instance announcing now, first
            # rounds first (host/garpbatch.py, issue 6); stops if we leave MASTER
            self.garp_rounds += await self.announcer.announce(groups, repeat, live=self._live)
            return
        for n in range(repeat):
            if n and self.garp_interval_s:
                await asyncio.sleep(self.garp_interval_s)
                if not self.vips_wanted:
                    return
            for (ifindex, mac), addresses in groups:
                self.announcer.send_round(ifindex, mac, addresses)
            self.garp_rounds += 1

    def garp_inline(self, repeat: int, done: Callable) -> None:
        """garp() as an Inline job, for rounds back to back (no garp_interval): the
        rounds join the announcer's batch and the queue goes on at once; the
        batch asks _live() before each round, so an instance that leaves MASTER
        meanwhile sends no more (host/garpbatch.py)."""
        if self.vips_wanted and repeat > 0 and not self.garp_interval_s:
            groups = self._garp_groups()
            if groups:
                self.announcer.announce(groups, repeat, live=self._live) \
                    .add_done_callback(self._count_rounds)
        done()

    def _count_rounds(self, future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.garp_rounds += future.result()

    async def source_garp(self) -> None:
        """keepalived: a unicast instance leaving FAULT announces its own source
        address, so the master's neighbour cache reaches it at once."""
        if self.src is None or self.plan.ifname is None:
            return
        link = self._link(self.plan.ifname)
        if link is None or not link.mac:
            return
        self.announcer.send_round(link.index, link.mac, [ipaddress.ip_address(self.src)])

    # ------------------------------------------------------------ status

    def describe_state(self) -> str:
        return self.state.name


__all__ = ["HostQueue", "Inline", "InstanceRuntime", "QUIET", "QuietCollector"]
