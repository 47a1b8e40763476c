"""The engine's SIGHUP reload and signal dumps, fastvrrp alone in a lab.

Reload (keepalived-vrrp.md §3.17): instances are matched by identity (VRID,
interface, family, unicast source); an unchanged instance keeps running - its
state, its VIPs (never flapped), its counters; a new one starts; a removed
one stops (a master sends priority 0, RFC 5798 §6.4.3, and drops its VIPs);
one whose settings changed takes them in place (test_engine_reload_inplace.py),
unless they need a restart (its source address here).  Dumps (§3.18): SIGUSR1 data, SIGUSR2
stats, SIGRTMIN+2 JSON, in $TMPDIR.
"""

import json
import os
import signal
import time

import pytest

from engine_lab import config, instance_block
from fastvrrp.bench.waitfor import wait_for

pytestmark = [pytest.mark.netns, pytest.mark.timeout(90)]

VIP1, VIP2 = "10.0.0.100", "10.0.0.200"



def _vi1(**kw):
    return instance_block("VI_1", vrid=51, priority=150, vips=(VIP1 + "/24",), **kw)


def _vi2(priority=150, extra=()):
    return instance_block("VI_2", vrid=52, priority=priority, vips=(VIP2 + "/24",), extra=extra)


def _dump(pair, daemon, sig, name):
    path = os.path.join(pair.lab.workdir, name)
    before = os.stat(path).st_mtime_ns if os.path.exists(path) else None
    daemon.send_signal(sig)
    wait_for(lambda: os.path.exists(path) and os.stat(path).st_mtime_ns != before, 5,
             what=name)
    with open(path) as fh:
        return fh.read()


def test_reload_keeps_unchanged_instances_and_their_vips(pair):
    a = pair.daemon("a", "fastvrrp", config(_vi1()))
    a.start()
    pair.watch.wait_holders(VIP1, {"a"}, timeout=10)

    # add VI_2: VI_1 keeps running, its VIP untouched
    t0 = time.monotonic_ns()
    a.write_config(config(_vi1(), _vi2()))
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload: 1 kept, 0 restarted, 1 added, 0 removed")
    pair.watch.wait_holders(VIP2, {"a"}, timeout=10)
    assert pair.watch.changes(VIP1, t0) == []

    # change VI_2's priority: reconfigured in place (its VIP stays); VI_1 untouched
    t1 = time.monotonic_ns()
    a.write_config(config(_vi1(), _vi2(priority=120)))
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload: 1 kept, 0 restarted, 0 added, 0 removed, 1 reconfigured in place")
    # change VI_2's source address (mcast_src_ip): only a restart can (VIP removed,
    # then won again)
    t_src = time.monotonic_ns()
    a.write_config(config(_vi1(), _vi2(priority=120, extra=("mcast_src_ip 10.0.0.1",))))
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload: 1 kept, 1 restarted, 0 added, 0 removed")
    assert pair.watch.changes(VIP2, t1, t_src) == []
    t_del = pair.watch.wait_change("a", VIP2, False, t_src, timeout=5)
    pair.watch.wait_change("a", VIP2, True, t_del, timeout=10)
    assert pair.watch.changes(VIP1, t0) == []

    # remove VI_1: it stops and its VIP goes; VI_2 stays
    t2 = time.monotonic_ns()
    a.write_config(config(_vi2(priority=120, extra=("mcast_src_ip 10.0.0.1",))))
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload: 1 kept, 0 restarted, 0 added, 1 removed")
    pair.watch.wait_change("a", VIP1, False, t2, timeout=5)
    assert pair.watch.changes(VIP2, t2) == []

    # a config with errors: the running one stays
    a.write_config("vrrp_instance VI_9 {\n    virtual_router_id 999\n}\n")
    a.send_signal(signal.SIGHUP)
    a.wait_log(r"Reload failed")
    assert a.running()
    assert a.stop() == 0
    pair.watch.wait_holders(VIP2, set(), timeout=5)


def test_signal_dumps_describe_the_running_instances(pair):
    b = pair.daemon("b", "fastvrrp", config(_vi1(auth_pass=None)))
    a = pair.daemon("a", "fastvrrp", config(instance_block(
        "VI_1", vrid=51, priority=200, vips=(VIP1 + "/24",))))
    a.start()
    pair.watch.wait_holders(VIP1, {"a"}, timeout=10)
    b.start()
    b.wait_log(r"\(VI_1\) Entering BACKUP STATE")

    records = json.loads(_dump(pair, a, signal.SIGRTMIN + 2, "keepalived.json"))
    (rec,) = records
    data, stats = rec["data"], rec["stats"]
    assert (data["iname"], data["vrid"], data["state"], data["effective_priority"]) == \
        ("VI_1", 51, 2, 200)                 # 2: MASTER (keepalived's numbering)
    assert data["vips"] == ["10.0.0.100/24 dev eth0 scope global set"]
    assert stats["become_master"] == 1 and stats["advert_sent"] >= 1

    def received():
        text = _dump(pair, b, signal.SIGUSR2, "keepalived.stats")
        assert text.startswith("VRRP Instance: VI_1\n  Advertisements:\n    Received: ")
        return text if int(text.split("Received: ")[1].split()[0]) >= 1 else None
    stats_text = wait_for(received, 5, what="b counting a's adverts")   # b hears a
    assert "  Became master: 0\n" in stats_text
    assert "\nFast path:\n  python_escalations: " in stats_text     # after keepalived's blocks

    data_text = _dump(pair, b, signal.SIGUSR1, "keepalived.data")
    assert " VRRP Instance = VI_1\n" in data_text
    assert "   State = BACKUP\n" in data_text
    assert "   Last master = 10.0.0.1, priority 200\n" in data_text


def test_an_instance_on_a_missing_interface_is_a_clear_fatal_error(pair):
    # keepalived: a missing interface is fatal (without dynamic_interfaces)
    a = pair.daemon("a", "fastvrrp", config(instance_block(interface="nosuch0",
                                                           vips=(VIP1 + "/24",))))
    a.start()
    assert a.proc.wait(timeout=30) == 1
    assert "Unable to start: vrrp_instance VI_1: interface nosuch0 does not exist" in a.log()
    assert "Traceback" not in a.log()
    assert not os.path.exists(a.pid_path)
