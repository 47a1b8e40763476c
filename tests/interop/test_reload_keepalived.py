"""Reload of a changed MASTER: keepalived 2.2.7 and fastvrrp side by side
(keepalived-vrrp.md §3.17; keepalived vrrp.c restore_vrrp_state /
clear_diff_vrrp, vrrp_scheduler.c vrrp_init_instance_sands).

The same scenario runs with each implementation as the MASTER: three VIPs,
then a SIGHUP with a new priority and one VIP swapped.  What keepalived does,
and fastvrrp must do too: no state change; no priority-0 release; no gap in
adverts beyond one Advertisement_Interval; the VIPs that stay are never
removed (netlink address events); the new VIP appears and the removed one
goes; the adverts carry the new priority and address list.  Then a BACKUP
whose reload raises its priority above the master's preempts it (RFC 5798
§6.4.2), with either implementation reloaded.

Lab prefix "fvrl" (this task's fvR1, as Lab names allow).
"""

import signal
import time

import pytest

from fastvrrp._packet import parse_ipv4
from fastvrrp.bench.waitfor import wait_for

from engine_lab import config, instance_block, require_keepalived

pytestmark = [pytest.mark.interop, pytest.mark.netns, pytest.mark.timeout(150)]

VIP1, VIP2, VIP3, VIP4 = "10.0.0.101", "10.0.0.102", "10.0.0.103", "10.0.0.104"
ADVERT_INT_S = 1.0


def _conf(priority, vips, state="MASTER"):
    return config(instance_block("VI_1", vrid=51, priority=priority, state=state,
                                 advert_int="1", vips=tuple(v + "/24" for v in vips)))


def _adverts(frames):
    out = []
    for frame in frames:
        payload = frame.payload
        if frame.ethertype != 0x0800 or len(payload) < 20 or payload[9] != 112:
            continue
        adv = parse_ipv4(bytes(payload))
        out.append((frame.ts, str(adv.src), adv.priority, tuple(str(a) for a in adv.addresses)))
    return out


@pytest.mark.parametrize("kind", ["keepalived", "fastvrrp"])
def test_master_reload_changes_priority_and_vips_in_place(pair, kind):
    require_keepalived()
    lab = pair.lab
    a = pair.daemon("a", kind, _conf(150, (VIP1, VIP2, VIP3)))
    a.start()
    for vip in (VIP1, VIP2, VIP3):
        pair.watch.wait_holders(vip, {"a"}, timeout=15)
    cap = lab.capture("sw", "br0", bpf="ip proto 112")
    cap.wait_frames(2, timeout=5)

    t0 = time.monotonic_ns()
    a.write_config(_conf(180, (VIP1, VIP2, VIP4)))
    a.send_signal(signal.SIGHUP)
    pair.watch.wait_holders(VIP4, {"a"}, timeout=10)
    pair.watch.wait_change("a", VIP3, False, t0, timeout=10)

    def new_adverts():
        got = [x for x in _adverts(cap.frames()) if x[2] == 180]
        return got if len(got) >= 3 else None
    wait_for(new_adverts, 10, what="three adverts with the new priority")
    adverts = _adverts(cap.stop())

    assert pair.watch.changes(VIP1, t0) == []
    assert pair.watch.changes(VIP2, t0) == []
    after = a.log(whole=True).split("Reloading", 1)[1]
    assert "Entering" not in after
    old = [x for x in adverts if x[2] == 150]
    new = [x for x in adverts if x[2] == 180]
    assert old and new and old[-1][0] <= new[0][0]
    assert {x[3] for x in old} == {(VIP1, VIP2, VIP3)}
    assert {x[3] for x in new} == {(VIP1, VIP2, VIP4)}
    assert {x[2] for x in adverts} == {150, 180}
    gaps = [y[0] - x[0] for x, y in zip(adverts, adverts[1:])]
    print("%s: adverts across the reload (gap s, priority): %s"
          % (kind, [("%.3f" % g, y[2]) for g, y in zip(gaps, adverts[1:])]))
    assert max(gaps) < ADVERT_INT_S * 1.5, gaps
    a.stop()


@pytest.mark.parametrize("backup_kind", ["keepalived", "fastvrrp"])
def test_backup_reloaded_above_the_master_preempts(pair, backup_kind):
    """RFC 5798 §6.4.2: a BACKUP whose reload puts it above the master
    discards the master's lower adverts and takes over when its
    Master_Down_Timer expires; the old master yields (no dual master)."""
    require_keepalived()
    master_kind = "fastvrrp" if backup_kind == "keepalived" else "keepalived"
    vips = (VIP1,)
    m = pair.daemon("a", master_kind, _conf(150, vips))
    b = pair.daemon("b", backup_kind, _conf(100, vips, state="BACKUP"))
    m.start()
    pair.watch.wait_holders(VIP1, {"a"}, timeout=15)
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE", timeout=15)
    t0 = time.monotonic_ns()
    b.write_config(_conf(200, vips, state="BACKUP"))
    b.send_signal(signal.SIGHUP)
    pair.watch.wait_holders(VIP1, {"b"}, timeout=15)
    b.wait_log(r"\(VI_1\) Entering MASTER STATE")
    m.wait_log(r"\(VI_1\) Entering BACKUP STATE")
    # "a" let go of the VIP before or when "b" took it: never both for long
    took = [t for t, node, held in pair.watch.changes(VIP1, t0) if node == "b" and held]
    gone = [t for t, node, held in pair.watch.changes(VIP1, t0) if node == "a" and not held]
    assert took and gone
    m.stop()
    b.stop()
