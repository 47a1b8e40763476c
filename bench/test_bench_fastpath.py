"""pytest-benchmark: the fast path's settle and batch I/O, compiled against the Python baseline.

    .venv/bin/python -m pytest bench/test_bench_fastpath.py --benchmark-only

Figures per packet are in each benchmark's extra_info (`ns_per_packet`):
  * settle_c_loop: RFC 5798 §6.4.2 case (a) (a Backup hears its master) in a C
    loop: parse + validate + slot lookup + settle + wheel reschedule;
  * settle_python_call: the same through the Python API (one call per packet);
  * escalated_slowpath: the baseline, every advert through SlowPath + bridge +
    the Python state machine;
  * recvmmsg_settle: a batch of adverts (one per VRID, 250 VRIDs) drained from
    a real raw socket with recvmmsg and settled (namespace lab, root);
  * sendmmsg: the same 250 adverts queued from their prebuilt packets and sent
    with one sendmmsg (namespace lab, root); sendto_slowpath: one sendto each.
"""

import ipaddress
import os

import pytest

from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import InstanceParams, Startup, VrrpMachine

S = 1_000_000_000
LOOP = 20_000
VRIDS = 250
MDI = 3_609_375_000
MASTER_IP, OURS, VIP = "192.168.16.128", "192.168.16.129", "192.168.16.130"


def _backup_slot(fp, sid, index, vrid, master=MASTER_IP, vip=VIP, src=OURS, family=4):
    fp.configure_slot(index, family=family, version=3, vrid=vrid, rx_socket=sid, tx_socket=sid,
                      src=src, addresses=[vip], advert_int_cs=100)
    fp.update_slot(index, state=1, priority=100, master=master, master_priority=200,
                   master_adver_int=100, master_down_ns=MDI, rx_settle=True)
    fp.arm_timer(index, 0, fp.clock() + 10 * S)


def _per_packet(benchmark, packets):
    benchmark.extra_info["packets_per_round"] = packets
    stats = benchmark.stats.stats
    benchmark.extra_info["ns_per_packet"] = round(stats.median * 1e9 / packets, 1)


def test_settle_c_loop(benchmark):
    fp = FastPath()
    sid = fp.add_socket(-1, 4)
    _backup_slot(fp, sid, 0, 66)
    pkt = build_advert(3, 66, 200, 100, [VIP], src=MASTER_IP, ip_header=True)
    state = {"t": S}

    def run():
        state["t"] += LOOP * 1000
        return fp._bench_inject(sid, pkt, LOOP, state["t"], 1)
    benchmark(run)
    assert fp.stats()["python_escalations"] == 0
    _per_packet(benchmark, LOOP)


def test_settle_python_call(benchmark):
    fp = FastPath()
    sid = fp.add_socket(-1, 4)
    _backup_slot(fp, sid, 0, 66)
    pkt = build_advert(3, 66, 200, 100, [VIP], src=MASTER_IP, ip_header=True)
    benchmark(fp.inject, sid, pkt)
    assert fp.stats()["python_escalations"] == 0
    _per_packet(benchmark, 1)


def test_escalated_slowpath(benchmark):
    fp = SlowPath()
    bridge = FastPathBridge(fp)
    sid = fp.add_socket(-1, 4)
    params = InstanceParams(name="VI_1", vrid=66, version=3, priority=100, advert_int_cs=100,
                            vips=(ipaddress.ip_address(VIP),),
                            primary_address=ipaddress.ip_address(OURS))
    bridge.add_instance(0, VrrpMachine(params), rx_socket=sid, tx_socket=sid, src=OURS)
    bridge.deliver(0, Startup())
    pkt = build_advert(3, 66, 200, 100, [VIP], src=MASTER_IP, ip_header=True)
    benchmark(fp.inject, sid, pkt)
    assert fp.stats()["python_escalations"] > 0
    _per_packet(benchmark, 1)


# ---------------------------------------------------------------- real sockets

@pytest.fixture(scope="module")
def pair():
    """Nodes a (sender) and b (receiver) joined by the lab bridge; IPv4 sockets."""
    if os.geteuid() != 0:
        pytest.skip("the socket benchmarks need root (network namespaces)")
    from fastvrrp.bench import netns
    from fastvrrp.bench.lab import Lab
    from fastvrrp.daemon import sockets
    lab = Lab()
    try:
        links = lab.star(("a", "b"))
        a, b = links["a"][0], links["b"][0]
        with netns.inside(a.ns):
            tx = sockets.open_tx_v4(a.ifname)
        with netns.inside(b.ns):
            rx = sockets.open_rx_v4(b.ifname)
        yield a, b, tx, rx
        tx.close()
        rx.close()
    finally:
        lab.close()


def _sender(cls, a, tx):
    fp = cls()
    sid = fp.add_socket(tx.fileno(), 4, ifindex=a.ifindex, receive=False)
    for vrid in range(1, VRIDS + 1):
        fp.configure_slot(vrid, family=4, version=3, vrid=vrid, rx_socket=-1, tx_socket=sid,
                          src=a.ip4, addresses=["10.100.0.%d" % vrid], advert_int_cs=100)
        fp.update_slot(vrid, state=2, priority=200)
    return fp


def _drained(receiver):
    """Untimed: empty the receiver's socket between rounds (a receiver listens)."""
    receiver.drain()


def _receiver(a, b, rx):
    fp = FastPath()
    sid = fp.add_socket(rx.fileno(), 4, ifindex=b.ifindex)
    for vrid in range(1, VRIDS + 1):
        _backup_slot(fp, sid, vrid, vrid, master=a.ip4, vip="10.100.0.%d" % vrid, src=b.ip4)
    return fp


def test_recvmmsg_settle(benchmark, pair):
    a, b, tx, rx = pair
    sender, receiver = _sender(FastPath, a, tx), _receiver(a, b, rx)
    receiver.drain()

    def one_batch():
        sender._bench_send(1)                 # untimed: put VRIDS adverts in the socket
        return (), {}

    result = benchmark.pedantic(receiver.drain, setup=one_batch, rounds=200)
    assert result == VRIDS
    st = receiver.stats()
    assert st["python_escalations"] == 0 and st["rx_settled"] == st["rx_packets"]
    benchmark.extra_info["recvmmsg_calls_per_round"] = st["rx_batches"] / 201
    _per_packet(benchmark, VRIDS)


def test_sendmmsg(benchmark, pair):
    a, b, tx, rx = pair
    sender, receiver = _sender(FastPath, a, tx), _receiver(a, b, rx)

    benchmark.pedantic(sender._bench_send, args=(1,), setup=lambda: _drained(receiver), rounds=200)
    st = sender.stats()
    assert st["tx_errors"] == 0
    benchmark.extra_info["packets_per_sendmmsg"] = st["tx_packets"] / st["tx_batches"]
    _per_packet(benchmark, VRIDS)


def test_sendto_slowpath(benchmark, pair):
    a, b, tx, rx = pair
    sender, receiver = _sender(SlowPath, a, tx), _receiver(a, b, rx)

    def send_all():
        for vrid in range(1, VRIDS + 1):
            sender.send_advert(vrid, 200)
        sender.flush()

    benchmark.pedantic(send_all, setup=lambda: _drained(receiver), rounds=50)
    assert sender.stats()["tx_errors"] == 0
    _per_packet(benchmark, VRIDS)
