"""Issue 6 (memory): structural facts that keep the per-instance cost down.

Byte counts are measured by the bench (`fastvrrp bench steady`), never here;
these tests pin what makes them small: slotted per-instance classes, one
dispatch table for every machine, no idle asyncio objects, shared frozen
values, and a model that can drop its source positions.
"""

import asyncio
import gc
import weakref

import pytest

from fastvrrp.config import loads
from fastvrrp.config.model import NOWHERE, forget_positions
from fastvrrp.daemon import convert, engine
from fastvrrp.daemon.fastpath_bridge import _Link
from fastvrrp.daemon.instance import HostQueue, InstanceRuntime, QuietCollector
from fastvrrp.daemon.notify import NO_SCRIPTS, scripts_from_model
from fastvrrp.track.aggregate import InstanceTracking, Kind, TrackerSpec, _Entry
from fastvrrp.vrrp import Startup, VrrpMachine

CONF = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.1/32
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 2
    priority 100
    advert_int 1
    %(extra)s
    virtual_ipaddress {
        10.0.0.2/32
    }
}
"""


def _config(extra=""):
    config, diags = loads(CONF % {"extra": extra})
    assert config is not None, diags
    return config


def _plans(config=None):
    config = config or _config()
    return [convert.plan_instance(i, config.global_defs) for i in config.instances]


def _runtime(plan):
    return InstanceRuntime(plan, 0, netlink=None, announcer=None, interfaces=lambda name: None)


def _no_dict(obj):
    assert not hasattr(obj, "__dict__"), "%s has a per-instance __dict__" % type(obj).__name__
    with pytest.raises(AttributeError):
        obj.not_an_attribute = 1


# -- slotted per-instance objects ---------------------------------------------------------
def test_per_instance_objects_have_no_dict():
    plan = _plans()[0]
    rt = _runtime(plan)
    machine = VrrpMachine(plan.params)
    tracking = InstanceTracking("VI_1", [TrackerSpec(Kind.INTERFACE, "eth0")],
                                {(Kind.INTERFACE, "eth0"): True})
    for obj in (rt, rt.queue, machine, tracking, _Link(0, machine), QuietCollector(),
                _Entry(TrackerSpec(Kind.INTERFACE, "eth0"), True, None)):
        _no_dict(obj)


def test_every_runtime_attribute_set_by_init_is_a_slot():
    slots = set(InstanceRuntime.__slots__)
    rt = _runtime(_plans()[0])
    for name in slots:
        if name not in ("_routes", "_rules"):
            getattr(rt, name)        # set by __init__, or AttributeError


def test_machines_share_one_dispatch_table():
    a, b = (VrrpMachine(p.params) for p in _plans())
    assert "_handlers" not in VrrpMachine.__slots__
    # the shared table still dispatches to each machine's own state
    assert a.handle(0, Startup()) is not b.handle(0, Startup())
    with pytest.raises(TypeError, match="not a VRRP machine event"):
        a.handle(0, object())


def test_routes_and_rules_are_made_on_first_use():
    plan = _plans()[0]
    rt = _runtime(plan)
    assert rt._routes is None and rt._rules is None
    routes = rt.routes
    assert routes is rt.routes and rt._routes is routes
    assert rt.rules is rt._rules is not None


# -- no idle asyncio objects --------------------------------------------------------------
def test_host_queue_holds_no_task_or_list_while_idle():
    order = []

    async def main():
        q = HostQueue("VI_1")
        assert q._task is None and q._jobs is None and q.pending == 0

        async def job(n):
            order.append(n)
            if n == 1:
                q.submit(lambda: job(3))      # queued behind 2, run by the same task

        q.submit(lambda: job(1))
        q.submit(lambda: job(2))
        assert q.pending == 2 and q._task is not None
        await q.drain()
        assert q._task is None and q._jobs is None and q.pending == 0
        assert q.done == 3
        q.submit(lambda: job(4))              # a new burst gets a new task
        await q.drain()

    asyncio.run(main())
    assert order == [1, 2, 3, 4]


def test_quiet_collector_collects_once_after_the_host_work_went_quiet(monkeypatch):
    class Quick(QuietCollector):
        __slots__ = ()
        QUIET_S = 0.01

    async def main():
        collected = asyncio.Event()
        calls = []

        def collect(*args):
            calls.append(asyncio.get_running_loop().time())
            collected.set()
            return 0
        monkeypatch.setattr(gc, "collect", collect)
        quiet = Quick()
        loop = asyncio.get_running_loop()
        quiet.touch()
        first = loop.time()
        await asyncio.sleep(0)               # one loop turn, then work again
        quiet.touch()
        last = loop.time()
        await asyncio.wait_for(collected.wait(), 5)
        assert len(calls) == 1 and quiet.collections == 1
        assert calls[0] >= last + Quick.QUIET_S > first
        quiet.touch()                        # the next quiet period collects again
        collected.clear()
        await asyncio.wait_for(collected.wait(), 5)
        assert quiet.collections == 2

    asyncio.run(main())


def test_quiet_collector_frees_cyclic_garbage():
    class Quick(QuietCollector):
        __slots__ = ()
        QUIET_S = 0.0

    class Node:
        pass

    async def main():
        done = asyncio.Event()
        node = Node()
        node.self = node                     # a reference cycle, as pyroute2's replies
        ref = weakref.ref(node, lambda _r: done.set())
        del node
        quiet = Quick()
        gc.disable()
        try:
            quiet.touch()
            await asyncio.wait_for(done.wait(), 5)
        finally:
            gc.enable()
        assert ref() is None

    asyncio.run(main())


# -- shared frozen values -----------------------------------------------------------------
def test_instances_on_one_interface_share_keys_and_tracker_lists():
    a, b = _plans()
    assert a.rx_key is b.rx_key and a.tx_key is b.tx_key
    assert a.trackers is b.trackers and a.trackers


def test_plans_without_sync_groups_are_not_copied():
    config = _config()
    plans = _plans(config)
    grouped = convert.group_plans(config, plans)
    assert all(g is p for g, p in zip(grouped, plans))


def test_trackings_share_specs_and_contributions():
    states = {(Kind.INTERFACE, "eth0"): True}
    a = InstanceTracking("VI_1", [TrackerSpec(Kind.INTERFACE, "eth0")], states)
    b = InstanceTracking("VI_2", [TrackerSpec(Kind.INTERFACE, "eth0")], states)
    (ea,), (eb,) = a._entries.values(), b._entries.values()
    assert ea.spec is eb.spec and ea.contrib is eb.contrib
    # the state each instance saw stays its own
    a.update(Kind.INTERFACE, "eth0", False)
    assert ea.state is False and eb.state is True
    assert a.faults == {"track_interface eth0"} and not b.faults


def test_instances_without_notify_scripts_share_one_object():
    from types import SimpleNamespace
    config = _config('notify_master "/bin/true"')

    def vet(_what, argv, _user, _group, **_kw):      # keepalived's checks: all usable
        return SimpleNamespace(messages=[], usable=True, argv=argv, uid=0, gid=0)
    plain, with_script = (scripts_from_model(i, None, vet=vet) for i in config.instances)
    assert plain is NO_SCRIPTS
    assert with_script is not NO_SCRIPTS and with_script.master is not None


# -- the model without its positions ------------------------------------------------------
def test_forget_positions_keeps_equality_and_interns_strings():
    config, fresh = _config(), _config()
    inst = config.instances[0]
    before = hash(inst)
    assert inst.where("interface") is not NOWHERE
    assert forget_positions(config) is config
    assert inst.where("interface") is NOWHERE and inst.pos is NOWHERE
    assert inst.vips[0].pos is NOWHERE
    assert hash(inst) == before and config == fresh
    assert config.instances[0].interface is config.instances[1].interface
    with pytest.raises(TypeError, match="needs a Config"):
        forget_positions(inst)


# -- the engine's collector settings ------------------------------------------------------
def test_settle_memory_freezes_what_start_up_built_and_thaw_undoes_it():
    thresholds = gc.get_threshold()
    try:
        engine._settle_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == thresholds[:2] + (1,)
        engine._settle_memory()              # a reload settles again: same thresholds
        assert gc.get_threshold() == thresholds[:2] + (1,)
        engine._thaw_memory()
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


# -- the bridge's counts: one dict for every slot ----------------------------------------
def test_bridge_counts_stay_per_slot_and_go_with_the_slot():
    import ipaddress

    from fastvrrp._fastpath import FastPath
    from fastvrrp.daemon.fastpath_bridge import FastPathBridge
    from fastvrrp.vrrp import InstanceParams, Shutdown

    def machine(name, vrid, priority):
        return VrrpMachine(InstanceParams(
            name=name, vrid=vrid, version=2, priority=priority, advert_int_cs=100,
            vips=(ipaddress.ip_address("192.168.16.%d" % vrid),),
            primary_address=ipaddress.ip_address("192.168.16.1"), garp_master_delay_ns=0))

    fp = FastPath(capture=True)
    bridge = FastPathBridge(fp, lambda index, now, actions: None, strict=True)
    sid = fp.add_socket(-1, 4)
    for index, (vrid, priority) in enumerate(((10, 255), (11, 100))):
        bridge.add_instance(index, machine("VI_%d" % index, vrid, priority),
                            rx_socket=sid, tx_socket=sid, src="192.168.16.1")
        bridge.deliver(index, Startup(), 10**9)
    fp.tick(10**9 + 1000)                   # the owner's start timer: MASTER
    bridge.deliver(0, Shutdown(), 2 * 10**9)  # RFC 5798 §6.4.3: priority 0 from the master
    assert (bridge.counters(0)["become_master"], bridge.counters(0)["pri_zero_sent"]) == (1, 1)
    assert (bridge.counters(1)["become_master"], bridge.counters(1)["pri_zero_sent"]) == (0, 0)
    bridge.remove_instance(0)
    bridge.add_instance(0, machine("VI_9", 12, 100), rx_socket=sid, tx_socket=sid,
                        src="192.168.16.1")
    assert bridge.counters(0)["become_master"] == 0 and bridge.counters(0)["pri_zero_sent"] == 0
    assert not hasattr(bridge._links[0], "counts")
