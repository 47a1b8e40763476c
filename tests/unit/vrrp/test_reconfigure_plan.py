"""The engine side of a reload in place (fastvrrp.daemon.engine_reload;
keepalived-vrrp.md §3.17): which changes a running instance takes in place
and which need a restart, and the VIP diff of a MASTER (keepalived
clear_diff_vrrp_vip: the VIPs that stay are never touched)."""

import asyncio

from fastvrrp.config import loads
from fastvrrp.daemon import convert
from fastvrrp.daemon.engine_reload import diff, restart_key, split_in_place
from fastvrrp.host.addrspec import VipSpec
from fastvrrp.host.outcome import ABSENT, DONE, Outcome
from fastvrrp.host.vips import VipSet

CONF = """
vrrp_instance %(name)s {
    interface eth0
    virtual_router_id %(vrid)d
    priority %(prio)d
    advert_int %(adv)s
%(extra)s
    virtual_ipaddress {
%(vips)s
    }
}
"""


def _plan(name="VI_1", vrid=51, prio=100, adv="1", vips=("10.0.0.100/24",), extra=()):
    text = CONF % dict(name=name, vrid=vrid, prio=prio, adv=adv, extra="\n".join(extra),
                       vips="\n".join("        " + v for v in vips))
    config, _ = loads(text)
    return convert.plan_instance(config.instances[0], config.global_defs)


def _split(old, new):
    return split_in_place(diff([old], [new]))


def test_priority_interval_vips_and_preemption_change_in_place():
    old = _plan()
    for new in (_plan(prio=150), _plan(adv="2"), _plan(vips=("10.0.0.100/24", "10.0.0.101/24")),
                _plan(extra=("    nopreempt",)), _plan(name="renamed", prio=120),
                _plan(extra=("    authentication {\n auth_type PASS\n auth_pass secret\n }",))):
        d = _split(old, new)
        assert [(o.name, n.name) for o, n in d.reconfigured] == [(old.name, new.name)], new
        assert not d.restarted and not d.kept
    assert "1 reconfigured in place" in _split(old, _plan(prio=150)).summary()


def test_socket_source_vmac_and_group_changes_restart():
    old = _plan()
    for extra in (("    mcast_src_ip 10.0.0.1",), ("    use_vmac",)):
        new = _plan(extra=extra)
        assert restart_key(new) != restart_key(old)
        d = _split(old, new)
        assert [(o.name, n.name) for o, n in d.restarted] == [("VI_1", "VI_1")], extra
        assert not d.reconfigured


def test_unchanged_stays_kept_and_the_summary_is_unchanged():
    d = _split(_plan(), _plan())
    assert len(d.kept) == 1 and not d.reconfigured
    assert d.summary() == "1 kept, 0 restarted, 0 added, 0 removed"


class FakeNetlink:
    """Records the address requests; every one succeeds."""

    def __init__(self):
        self.calls = []

    async def add_address(self, req):
        self.calls.append(("add", str(req.local)))
        return Outcome("add", req, DONE, 0, "")

    async def del_address(self, req):
        self.calls.append(("del", str(req.local)))
        return Outcome("del", req, DONE, 0, "")


def _spec(address, **kw):
    return VipSpec(address, 24, ifname="eth0", ifindex=2, **kw)


def test_vip_swap_removes_only_what_is_gone_and_the_next_add_only_what_is_new():
    async def run():
        nl = FakeNetlink()
        vipset = VipSet(nl, (_spec("10.0.0.1"), _spec("10.0.0.2"), _spec("10.0.0.3")))
        await vipset.add_all()
        nl.calls.clear()
        await vipset.update((_spec("10.0.0.1"), _spec("10.0.0.2"),
                                                   _spec("10.0.0.4")))
        removed = list(nl.calls)
        nl.calls.clear()
        await vipset.add_all()
        return removed, list(nl.calls), sorted(str(r.local) for r in vipset.added)
    removed, added, held = asyncio.run(run())
    assert removed == [("del", "10.0.0.3")]
    assert added == [("add", "10.0.0.4")]
    assert held == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]


def test_vip_swap_of_a_changed_spec_readds_it_and_an_unheld_one_is_not_deleted():
    async def run():
        nl = FakeNetlink()
        vipset = VipSet(nl, (_spec("10.0.0.1"), _spec("10.0.0.2")))
        await vipset.add_all()
        vipset.forget(2, "10.0.0.2", 24)              # someone else removed it
        nl.calls.clear()
        await vipset.update((_spec("10.0.0.1", label="eth0:vip"),))
        return list(nl.calls), vipset
    calls, vipset = asyncio.run(run())
    assert calls == [("del", "10.0.0.1")]              # changed label: replaced
    assert vipset.specs == (_spec("10.0.0.1", label="eth0:vip"),)
    assert not vipset.added


def test_absent_on_delete_still_forgets_the_vip():
    class Gone(FakeNetlink):
        async def del_address(self, req):
            self.calls.append(("del", str(req.local)))
            return Outcome("del", req, ABSENT, 99, "gone")

    async def run():
        nl = Gone()
        vipset = VipSet(nl, (_spec("10.0.0.1"), _spec("10.0.0.2")))
        await vipset.add_all()
        await vipset.update((_spec("10.0.0.1"),))
        return sorted(str(r.local) for r in vipset.added)
    assert asyncio.run(run()) == ["10.0.0.1"]
