"""The end-to-end bench scenarios, tiny runs: the harness measures what it claims.

keepalived in both roles (it works today; fastvrrp runs through the same code
with --daemon fastvrrp).  These check that every key is there with a sane
value and that the sniffer counts exactly what was sent; speed is never
asserted (that is `fastvrrp bench`'s job).
"""

import argparse
import io
import json
import socket
import struct
import time

import pytest

from fastvrrp.bench import failover, startup, steady
from fastvrrp.bench.e2e_floor import Floor
from fastvrrp.bench.e2e_lab import AdvertTracker, E2ELab, Layout
from fastvrrp.bench.keepalived_proc import KeepalivedError, keepalived_path
from fastvrrp.bench.report import emit
from fastvrrp.bench.sniffer import Sniffer
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.bench.wirestats import ip_int

pytestmark = pytest.mark.netns


@pytest.fixture
def root():
    from conftest import require_root
    require_root()


@pytest.fixture
def keepalived(root):
    try:
        keepalived_path()
    except KeepalivedError as exc:
        pytest.skip(str(exc))


def run_json(module, *argv):
    """Run a scenario as `fastvrrp bench NAME ARGV --json` would; the parsed JSON."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    progress = []
    result = module.run(parser.parse_args(list(argv)), progress.append)
    out = io.StringIO()
    emit(result, True, out)
    assert out.getvalue().count("\n") == 1
    return json.loads(out.getvalue()), progress


def gratuitous_arp(mac, ip):
    """An ARP request announcing `ip` (sender IP == target IP), as keepalived sends."""
    raw_mac = bytes(int(x, 16) for x in mac.split(":"))
    raw_ip = socket.inet_aton(ip)
    return (b"\xff" * 6 + raw_mac + b"\x08\x06"
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + raw_mac + raw_ip + b"\xff" * 6 + raw_ip)


def test_sniffer_sees_every_advert_the_floor_sent_and_announced_arps(root):
    layout = Layout(20, 1)                                  # 2,000 adverts/s
    with E2ELab(layout) as e2e:
        with Sniffer(e2e.ns("sw"), e2e.port_ifindexes) as sn:
            t0 = time.time_ns()
            floor = Floor(e2e).start()
            try:
                tracker = AdvertTracker(sn, e2e.sources("master"), t0)
                wait_for(lambda: tracker.update() == 20 and len(sn.adverts) >= 400, 20,
                         what="400 adverts of all 20 VRIDs")
                link = e2e.links["backup"][0]
                from fastvrrp.bench import netns
                sock = netns.socket_in(e2e.ns("backup"), socket.AF_PACKET, socket.SOCK_RAW)
                with sock:
                    sock.bind((link.ifname, 0))
                    sock.send(gratuitous_arp(link.mac, "10.200.0.7"))
            finally:
                counters = floor.stop()
            t1 = time.time_ns()
        sent = counters["send"]["tx_packets"]
        assert counters["send"]["python_escalations"] == 0
        assert counters["recv"]["rx_packets"] == sent       # the receiver got them all
        assert len(sn.adverts) == sent                      # and the sniffer saw each once
        assert sn.stats()["kernel_drops"] == 0
        assert set(sn.adverts.src) == e2e.sources("master")
        assert {vp >> 8 for vp in sn.adverts.vrid_prio} == set(range(1, 21))
        assert {vp & 0xFF for vp in sn.adverts.vrid_prio} == {200}
        assert t0 <= min(sn.adverts.ts) and max(sn.adverts.ts) <= t1
        garps = [a for a in sn.arps if a.gratuitous]
        assert [(a.sender_mac, a.sender_ip) for a in garps] == [(link.mac, ip_int("10.200.0.7"))]


def test_steady_keys_and_values(keepalived):
    result, progress = run_json(steady, "--instances", "10", "--advert-int", "0.1",
                                "--duration", "2", "--daemon", "keepalived")
    assert (result["scenario"], result["instances"], result["advert_int"],
            result["duration_s"]) == ("steady", 10, 0.1, 2.0)
    ka = result["keepalived"]
    assert "error" not in ka, ka.get("error")
    assert ka["expected_pps"] == pytest.approx(100.0)
    assert 90 <= ka["sent_pps"] <= 110                      # ~200 adverts counted in 2 s
    assert ka["keepup"] == pytest.approx(ka["sent_pps"] / 100.0)
    assert ka["spurious_transitions"] == 0 and ka["backup_adverts"] == 0
    assert ka["sniffer_drops"] == 0
    assert ka["lateness_p50_ms"] <= ka["lateness_p99_ms"] <= ka["lateness_max_ms"]
    assert ka["master_rss_kb"] > 0 and ka["backup_rss_kb"] > 0 and ka["master_rss_1_kb"] > 0
    assert ka["master_cpu_pct"] >= 0 and ka["backup_cpu_pct"] >= 0
    assert ka["python_escalations"] is None                 # keepalived has no fast path
    floor = result["floor"]
    assert "error" not in floor, floor.get("error")
    assert 90 <= floor["sent_pps"] <= 110
    assert floor["recv_vs_sent"] == 1.0 and floor["python_escalations"] == 0
    assert set(result["ratios"]) == {"master_cpu_vs_floor", "backup_cpu_vs_floor"}
    for phase in ("setup", "window", "stopping", "teardown"):
        assert any(phase in line for line in progress), phase


def test_failover_keys_and_values(keepalived):
    result, _ = run_json(failover, "--advert-int", "0.1", "--runs", "1", "--daemon", "keepalived")
    ka = result["keepalived"]
    assert "error" not in ka, ka.get("error")
    assert ka["theory_ms"] == pytest.approx(3 * 100 + 156 * 100 / 256)   # RFC 5798 §6.1
    assert ka["priority0_theory_ms"] == pytest.approx(156 * 100 / 256)
    assert ka["lastadv_to_garp_ms_p50"] == ka["lastadv_to_garp_ms_max"] > 0   # one run
    kill, = ka["kill_runs"]
    # the backup announces after the old master's last advert, the client follows
    assert 0 < kill["first_vip_ms"] == kill["last_vip_ms"] <= kill["event_to_reachable_ms"]
    assert ka["event_to_reachable_ms_p50"] == kill["event_to_reachable_ms"]
    assert ka["priority0_handover_ms_p50"] > 0
    assert "first_vip_ms_p50" not in ka                     # only with --instances > 1
    assert ka["sniffer_drops"] == 0


def test_startup_keys_and_values(keepalived):
    result, _ = run_json(startup, "--instances", "10", "--advert-int", "0.1", "--runs", "1",
                         "--daemon", "keepalived")
    ka = result["keepalived"]
    assert "error" not in ka, ka.get("error")
    run, = ka["runs"]
    # state MASTER waits Master_Down_Interval first (keepalived 2.2.7): 3 x 0.1 s + skew
    assert ka["all_vips_s"] == run["all_vips_s"] > 0.3
    assert ka["stop_vips_gone_s"] == run["stop_vips_gone_s"] > 0
    assert run["lost_notifications"] == 0
