"""Reload (SIGHUP): which running instances stay, which change in place, which
restart, which go; and the reload itself (Engine.reload delegates here).

keepalived 2.2 (vrrp.c vrrp_exist / clear_diff_vrrp / restore_vrrp_state,
vrrp_scheduler.c vrrp_init_state with `reload`; reference §3.17) matches
instances by identity, not by name: VRID, interface, family, and the unicast
source for unicast instances (fastvrrp.config.model.VrrpInstance.identity).

    plan = diff(running, new_plans)      # running: the running instances' plans
    split_in_place(plan)                 # restarted -> reconfigured where possible
    widen_for_groups(plan, old_groups, new_groups)
    await reload(engine, new_config)

    plan.kept          [(old, new)]  same identity, same core: keeps running, its
                                     state, VIPs (not flapped) and counters; only
                                     tracker weights and notify scripts change
    plan.reconfigured  [(old, new)]  same identity, new settings the running
                                     instance takes in place (keepalived's reload):
                                     priority, advert_int, version, VIPs / eVIPs,
                                     virtual routes / rules, preemption, GARP
                                     settings, authentication, unicast peers,
                                     checksum form, trackers, notify scripts, the
                                     name.  Its state is kept; the machine gets
                                     Reconfigure (fastvrrp.vrrp.events), the slot is
                                     reconfigured in C without a gap in adverts, a
                                     MASTER's VIPs are diffed (the ones that stay are
                                     never removed), and a MASTER advertises the new
                                     settings at once
    plan.restarted     [(old, new)]  same identity, something only a restart can
                                     change: the interface the sockets use, the
                                     receive / send socket keys (multicast group,
                                     unicast source, TTL), mcast_src_ip, use_vmac,
                                     the sync group; and every member of a sync
                                     group whose definition or any member changed
                                     (widen_for_groups).  The old one stops
                                     (priority 0 if master, VIPs removed), the new
                                     one starts in BACKUP
    plan.added         [new]
    plan.removed       [old]         stops; notify DELETED (FAULT without notify_deleted)

Observed on keepalived 2.2.7 in a namespace (tests/interop/test_reload_keepalived.py):
a MASTER reloaded with a new priority and one VIP swapped logs no
transition, sends one advert at the old priority as the reload starts and
one at the new priority right after it, keeps the VIPs that stay, adds the
new one and removes the old one.  fastvrrp sends the one advert with the new
settings (its reload never stops the fast path, so there is no pause to
cover).

Deliberate differences from 2.2.7: a matched instance whose settings did not
change at all is not touched (keepalived re-sends an advert from every
MASTER); sync-group members are restarted as a group rather than
reconfigured (keepalived keeps the group's state).

Lost VMACs (vmac_lost / recreate_vmac): a `use_vmac` macvlan deleted by
someone else is re-created, as keepalived 2.2.7 does (keepalived_netlink.c
RTM_DELLINK -> recreate_vmac_thread; observed: "Netlink reports vrrp.51
down", "Entering FAULT STATE", the VMAC made again, "Entering BACKUP STATE",
MASTER after Master_Down_Interval): the instance is in FAULT while the link
is missing (its VMAC is tracked as its interface), the VMAC comes back with
the same name, MAC and settings, the send socket follows it, and the
election re-adds the VIPs.  Not done: when the base interface itself goes
and comes back, keepalived re-creates the VMAC on the base's return; here
the instance stays in FAULT until a restart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastvrrp.host.netlink import FAILED
from fastvrrp.host.rules import PreferenceAllocator
from fastvrrp.track.security import log_messages
from fastvrrp.vrrp import FaultCleared, FaultSet, PriorityChanged
from fastvrrp.vrrp.events import Reconfigure

from . import convert, engine_host
from .engine_api import EngineStartError
from .notify import scripts_from_model

log = logging.getLogger("fastvrrp.daemon.engine")

_PLACEHOLDER_SRC = {4: "0.0.0.0", 6: "::"}


@dataclass
class ReloadPlan:
    kept: list = field(default_factory=list)
    restarted: list = field(default_factory=list)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    reconfigured: list = field(default_factory=list)

    def summary(self) -> str:
        text = ("%d kept, %d restarted, %d added, %d removed"
                % (len(self.kept), len(self.restarted), len(self.added), len(self.removed)))
        if self.reconfigured:
            text += ", %d reconfigured in place" % len(self.reconfigured)
        return text


def diff(running, new_plans) -> ReloadPlan:
    """`running`: the running instances' plans; `new_plans`: the new config's.
    Each running instance matches at most one new one (the first with its
    identity); a plan is anything with `identity` and `core()`."""
    by_identity: dict = {}
    for old in running:
        by_identity.setdefault(old.identity, []).append(old)
    out = ReloadPlan()
    for new in new_plans:
        candidates = by_identity.get(new.identity)
        if not candidates:
            out.added.append(new)
            continue
        old = candidates.pop(0)
        if old.core() == new.core():
            out.kept.append((old, new))
        else:
            out.restarted.append((old, new))
    for left in by_identity.values():
        out.removed.extend(left)
    return out


def restart_key(plan) -> tuple:
    """What a running instance cannot change in place (see the module docstring):
    the sockets it is bound to, its VMAC, its sync group, its VRID."""
    return (plan.params.vrid, plan.family, plan.ifname, plan.rx_key, plan.tx_key,
            plan.configured_src, plan.group, plan.vmac, plan.sync_group, plan.no_peer_fault)


def split_in_place(plan: ReloadPlan) -> ReloadPlan:
    """Move the restarted pairs that can change in place to `reconfigured`
    (single instances only: a sync group restarts as a whole)."""
    keep = []
    for old, new in plan.restarted:
        if (old.sync_group is None and new.sync_group is None
                and restart_key(old) == restart_key(new)):
            plan.reconfigured.append((old, new))
        else:
            keep.append((old, new))
    plan.restarted = keep
    return plan


def widen_for_groups(plan: ReloadPlan, old_groups: dict, new_groups: dict) -> ReloadPlan:
    """A vrrp_sync_group runs as a whole (keepalived-vrrp.md §3.15): when one
    member restarts, comes or goes, or the group's definition changed, every
    member of it, old and new, restarts too.  `old_groups` / `new_groups`:
    the configs' sync_groups (name -> model SyncGroup)."""
    changed_old = {g for g in old_groups if old_groups.get(g) != new_groups.get(g)}
    changed_new = {g for g in new_groups if old_groups.get(g) != new_groups.get(g)}
    while True:
        for old, new in plan.restarted:
            changed_old.add(old.sync_group)
            changed_new.add(new.sync_group)
        changed_new.update(new.sync_group for new in plan.added)
        changed_old.update(old.sync_group for old in plan.removed)
        changed_old.discard(None)
        changed_new.discard(None)
        move = [(old, new) for old, new in plan.kept
                if old.sync_group in changed_old or new.sync_group in changed_new]
        if not move:
            return plan
        plan.kept = [pair for pair in plan.kept if pair not in move]
        plan.restarted.extend(move)


# ------------------------------------------------------------------ the reload


async def reload(engine, new_config) -> None:
    """SIGHUP (keepalived-vrrp.md §3.17) on a running Engine: the identity
    diff; unchanged instances keep running untouched, changed ones take the
    new settings in place where keepalived does, the rest restart.  A new
    configuration that cannot run raises RuntimeError before anything changed."""
    from .engine import _default_user         # engine imports this module
    if not engine._started or engine._stopped:
        raise RuntimeError("the engine is not running")
    default_user = _default_user(new_config)
    vetted = convert.vet_scripts(new_config, default_user)
    log_messages(vetted.messages, log)
    await engine._read_interfaces()
    old_config = engine.config
    engine.config = new_config
    try:
        plans = await engine._plans(new_config, vetted)
        static_specs = engine_host.statics_of(new_config, PreferenceAllocator())
    except convert.ConvertError as exc:
        engine.config = old_config
        raise RuntimeError("the new configuration cannot run: %s" % exc) from None
    current = {id(rt.plan): rt for rt in engine._by_name.values() if not rt.deleting}
    plan = diff([rt.plan for rt in current.values()], plans)
    split_in_place(plan)
    widen_for_groups(plan, old_config.sync_groups, new_config.sync_groups)
    log.info("Reload: %s", plan.summary())
    starting = [new for _old, new in plan.restarted] + plan.added
    try:
        await reload_vmacs(engine, starting)
    except EngineStartError as exc:
        engine.config = old_config
        raise RuntimeError("the new configuration cannot run: %s" % exc) from None
    for new in plans:
        for text in new.warnings:
            log.warning("%s", text)
    await engine.tracking.apply(new_config, vetted, plans, reload=True)
    await reload_notifier(engine, new_config, default_user)
    engine._warn_unsupported(new_config)
    going = [(current[id(old)], True) for old in plan.removed]
    going += [(current[id(old)], False) for old, _new in plan.restarted]
    for old, new in plan.restarted:
        log.info("(%s) changed in a way that needs a restart", new.name)
    engine._retire_all(going, new_config)
    after = {new.name: current[id(old)].queue for old, new in plan.restarted}
    staying = [(current[id(old)], new) for old, new in plan.kept + plan.reconfigured]
    rename(engine, staying, {inst.name for inst in new_config.instances})
    for old, new in plan.kept:
        retrack(engine, current[id(old)], new)
    for old, new in plan.reconfigured:
        reconfigure(engine, current[id(old)], new)
    await reload_statics(engine, static_specs)
    fresh = await engine._add_runtimes(starting, after=after)
    engine._start_runtimes(fresh)
    engine._firewalled = convert.release_instances(new_config)   # issue 6 (memory)
    engine.reloads += 1
    engine._status_soon()


async def reload_statics(engine, specs) -> None:
    """keepalived §3.17: static entries diffed (removed ones deleted, new ones added)."""
    if engine.statics is None:
        await engine._start_statics(specs)
        return
    for outcome in await engine.statics.reload(specs.addresses, specs.routes, specs.rules):
        if not outcome.ok:
            log.warning("static entry: %s", outcome)


async def reload_vmacs(engine, plans) -> None:
    """The VMACs of instances (re)started by a reload, made before anything
    changes: one that cannot be made is an EngineStartError and the ones
    made for this reload are deleted again (the old configuration keeps
    running).  A VMAC no running instance uses any more is deleted once its
    old instance let go of it (Engine._finish_retire)."""
    from fastvrrp.host.vmac import VmacManager
    wanted = [p for p in plans if p.vmac is not None]
    if not wanted:
        return
    if engine.vmacs is None:
        engine.vmacs = VmacManager(engine.netlink)
    made = []
    for new in wanted:
        if engine.vmacs.get(new.vmac) is not None:
            continue
        outcome = await engine.vmacs.create(new.vmac)
        if not outcome.ok:
            for spec in made:
                await engine.vmacs.delete(spec)
            raise EngineStartError("vrrp_instance %s: cannot create its VMAC: %s"
                                   % (new.name, outcome))
        made.append(new.vmac)
    await engine._read_interfaces()


async def reload_notifier(engine, config, default_user) -> None:
    """keepalived re-reads every notify script and reopens the FIFOs on a reload."""
    from .fifo import fifos_from_config
    g = config.global_defs
    default_user.get()
    log_messages(default_user.messages, log)
    symlinks = bool(g.other.get("use_symlink_paths"))
    notifier = engine.notifier
    for name, group in config.sync_groups.items():
        notifier.add_group(name, scripts_from_model(group, default_user,
                                                    use_symlink_paths=symlinks))
    for inst in config.instances:
        notifier.add_instance(
            inst.name, scripts_from_model(inst, default_user, use_symlink_paths=symlinks),
            group=inst.sync_group,
            notify_deleted=bool(inst.notify_deleted_enabled or inst.notify_deleted),
            priority_changes=inst.notify_priority_changes)
    await notifier.replace_fifos(fifos_from_config(g, engine.runner, default_user,
                                                   use_symlink_paths=symlinks))


def rename(engine, staying, new_names) -> None:
    """keepalived matches by identity: a renamed instance keeps running under
    its new name (its tracking, notify scripts and status follow).  All the old
    names are released first, so two instances may swap names."""
    renamed = [(rt, new) for rt, new in staying if rt.name != new.name]
    for rt, _new in renamed:
        if engine._by_name.get(rt.name) is rt:
            del engine._by_name[rt.name]
        engine.tracking.remove_instance(rt.name)
        if engine.notifier is not None and rt.name not in new_names:
            engine.notifier.remove_instance(rt.name)
    for rt, new in renamed:
        log.info("(%s) is now named %s (same instance, kept running)", rt.name, new.name)
        if rt.firewall is not None:
            rt.firewall.rename(rt.name, new.name)
        rt.name = rt.queue.name = new.name
        engine._by_name[new.name] = rt


def _swap_tracking(engine, rt, new):
    """The instance's trackers under the new plan -> (old, new) InstanceTracking
    and the fault events that take its machine from one to the other."""
    old = rt.tracking
    engine.tracking.remove_instance(new.name)
    fresh = engine.tracking.add_instance(new)
    rt.tracking = fresh
    old_faults = old.faults | old.pending
    new_faults = fresh.faults | fresh.pending
    sets = [FaultSet(r, pending=r in fresh.pending) for r in sorted(new_faults - old_faults)]
    clears = [FaultCleared(r) for r in sorted(old_faults - new_faults)]
    return old, fresh, sets, clears


def retrack(engine, rt, new) -> None:
    """A kept instance whose trackers may have changed: move its machine from
    the old tracking state to the new one."""
    rt.plan = new
    old, fresh, sets, clears = _swap_tracking(engine, rt, new)
    events = list(sets)
    if fresh.weight_total != old.weight_total:
        events.append(PriorityChanged(fresh.weight_total))
    for event in events + clears:
        engine._deliver(rt, event)


def reconfigure(engine, rt, new) -> None:
    """keepalived's reload of a matched instance (restore_vrrp_state): the state
    is kept and the new settings apply at once (see the module docstring).

    In order: the host sets take the new specs in the instance's HostQueue
    (what is no longer configured and held is removed there, after any host
    work already queued); the slot is reconfigured in C and the machine gets
    Reconfigure with the new tracking weight total, whose UpdateVips (a
    MASTER) adds what is new; then the trackers' fault changes."""
    old_specs = rt.vip_specs
    rt.plan = new
    specs = engine._vip_specs(new)
    rt.vip_specs = specs
    added = any(spec not in old_specs for spec in specs)
    rt.queue.submit(lambda: swap_host_sets(engine, rt, specs, new.routes, new.rules))
    engine._vip_cache = None
    old, fresh, sets, clears = _swap_tracking(engine, rt, new)
    if rt.linked:
        event = Reconfigure(engine._params(rt), weight_total=fresh.weight_total,
                            addresses_added=added)
        try:
            engine.bridge.reconfigure(
                rt.index, event, rx_socket=rt.rx_sid, tx_socket=rt.tx_sid,
                src=rt.src or _PLACEHOLDER_SRC[new.family], peers=new.peers,
                check_peers=new.check_peers, auth_type=new.auth_type, auth_pass=new.auth_pass,
                group=new.group, checksum_form=new.checksum_form, ttl=new.ttl)
        except ValueError as exc:
            # the fast path refused the slot: nothing changed in the machine or the slot
            log.error("(%s) cannot take the new settings in place: %s - the running "
                      "instance keeps its old protocol settings", rt.name, exc)
            if fresh.weight_total != old.weight_total:
                sets.append(PriorityChanged(fresh.weight_total))
        else:
            log.info("(%s) reconfigured in place (state %s kept)", rt.name, rt.state.name)
    for event in sets + clears:
        engine._deliver(rt, event)


async def swap_host_sets(engine, rt, vip_specs, routes, rules) -> None:
    """keepalived clear_diff_vrrp: the virtual rules, routes, then the VIPs and
    eVIPs no longer configured are removed if held; the held ones that stay
    are not touched; the sets take the new specs (the next add adds the new
    ones).  Runs in the instance's HostQueue."""
    outcomes = await rt.rules.update(rules)
    outcomes += await rt.routes.update(routes)
    outcomes += await rt.vipset.update(vip_specs)
    for outcome in outcomes:
        if outcome.status == FAILED:
            rt.vip_failures += 1
            log.warning("(%s) %s", rt.name, outcome)


# ------------------------------------------------------------------ lost VMACs


def vmac_lost(engine, link) -> None:
    """A link went away (RTM_DELLINK): if it was a VMAC of ours that we did not
    delete, re-create it in the background (keepalived 2.2.7
    keepalived_netlink.c: `if (ifp->is_ours && !ifp->deleting)
    thread_add_event(recreate_vmac_thread)`).  Its instances are in FAULT
    meanwhile: the VMAC is tracked as their interface (engine_host.track_vmac),
    as keepalived's cleanup_lost_interface takes them down."""
    lost = engine.vmacs.lost(link.index)
    if lost is None:
        return
    users = [rt for rt in engine._by_name.values() if rt.plan.vmac == lost.spec]
    log.warning("(%s) VMAC interface %s deleted - re-creating it",
                users[0].name if users else lost.spec.instance, lost.ifname)
    task = asyncio.get_running_loop().create_task(recreate_vmac(engine, lost, users))
    engine._retiring.add(task)
    task.add_done_callback(engine._retiring.discard)


async def recreate_vmac(engine, lost, users) -> None:
    """Re-create `lost` (same name when free, same RFC 5798 §7.3 MAC, same
    settings), then point its instances at the new link: VIP specs (if the
    name changed), and the send socket when adverts leave through the VMAC
    (the slot is reconfigured in place).  The new link coming up clears the
    FAULT; the instance then wins the election again and re-adds its VIPs
    (RFC 5798 §6.4.1 / §6.4.2), as keepalived's does.  When the VMAC cannot be
    made (its base interface is gone too), the instances stay in FAULT."""
    outcome = await engine.vmacs.recreate(lost.spec)
    vm = engine.vmacs.get(lost.spec)
    if not outcome.ok or vm is None:
        log.error("(%s) cannot re-create VMAC %s: %s - the instance stays in FAULT",
                  lost.spec.instance, lost.ifname, outcome)
        return
    await engine._read_interfaces()
    for rt in users:
        if not rt.linked or rt.deleting or engine._stopped:
            continue
        _rebind_vmac(engine, rt, vm)


def _rebind_vmac(engine, rt, vm) -> None:
    plan = rt.plan
    old_name = rt.vmac.ifname if rt.vmac is not None else plan.vip_ifname
    rt.vmac = vm
    if vm.ifname != old_name:
        if rt.vipset.added:
            log.warning("(%s) VIPs still held on the lost VMAC %s", rt.name, old_name)
        else:
            rt.retarget(old_name, vm.ifname)
            engine._vip_cache = None
    if plan.vmac.xmit_base:
        return                                 # adverts leave through the base
    tx_key = plan.tx_key
    try:
        tx = engine.pool.tx(plan.family, vm.ifindex, multicast=tx_key.multicast,
                            unicast_hops=tx_key.unicast_hops)
    except Exception as exc:                   # SocketSetupError, ValueError
        log.error("(%s) cannot open the VRRP send socket on %s: %s", rt.name, vm.ifname, exc)
        return
    old_tx = rt.tx
    rt.tx, rt.tx_ifindex = tx, vm.ifindex
    rt.tx_sid = engine._register_socket(tx, receive=False, check_ttl=False)
    engine.bridge.reconfigure(
        rt.index, Reconfigure(engine._params(rt)), rx_socket=rt.rx_sid, tx_socket=rt.tx_sid,
        src=rt.src or _PLACEHOLDER_SRC[plan.family], peers=plan.peers,
        check_peers=plan.check_peers, auth_type=plan.auth_type, auth_pass=plan.auth_pass,
        group=plan.group, checksum_form=plan.checksum_form, ttl=plan.ttl)
    engine._release_socket(old_tx)
    log.info("(%s) now on the re-created VMAC %s (ifindex %d)", rt.name, vm.ifname, vm.ifindex)


__all__ = ["ReloadPlan", "diff", "recreate_vmac", "reload", "reconfigure", "restart_key",
           "retrack", "split_in_place", "swap_host_sets", "vmac_lost", "widen_for_groups"]
