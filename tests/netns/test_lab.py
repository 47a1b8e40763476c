"""The network-namespace lab (fastvrrp.bench.lab) and its helpers.

The first half needs no privileges (pcap reader, wait_for, advert decoder);
the tests marked netns build real namespaces as root.
"""

import json
import os
import select
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fastvrrp.bench import labstate, netns, nlbatch
from fastvrrp.bench.capture import CaptureError
from fastvrrp.bench.lab import Lab, LabError, LinkSpec, cleanup_stale
from fastvrrp.bench.pcap import Frame, PcapError, parse_pcap
from fastvrrp.bench.vrrpview import AdvertError, decode_ip
from fastvrrp.bench.waitfor import WaitTimeout, wait_for

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


# -- pcap reader -------------------------------------------------------------
def _pcap(records, *, order="<", nanos=False, linktype=1):
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for sec, frac, data in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
    return out


ETH = bytes.fromhex("01005e000012" "020000000001" "0800")


def test_pcap_reads_records_and_skips_a_partial_tail():
    blob = _pcap([(10, 500000, ETH + b"\x45abc"), (11, 0, ETH + b"\x45def")])
    frames = parse_pcap(blob + struct.pack("<IIII", 12, 0, 100, 100) + b"xx")
    assert [f.ts for f in frames] == [10.5, 11.0]
    assert frames[0].eth_dst == "01:00:5e:00:00:12"
    assert frames[0].eth_src == "02:00:00:00:00:01"
    assert frames[0].ethertype == 0x0800
    assert frames[1].payload == b"\x45def"


def test_pcap_big_endian_nanoseconds():
    frames = parse_pcap(_pcap([(3, 250000000, ETH + b"z")], order=">", nanos=True))
    assert frames[0].ts == pytest.approx(3.25)
    assert frames[0].payload == b"z"


def test_pcap_vlan_tag_is_skipped():
    tagged = ETH[:12] + bytes.fromhex("8100" "0064" "86dd") + b"\x60rest"
    (frame,) = parse_pcap(_pcap([(1, 0, tagged)]))
    assert frame.ethertype == 0x86DD
    assert frame.payload == b"\x60rest"


def test_pcap_rejects_other_files():
    with pytest.raises(PcapError, match="not a pcap file"):
        parse_pcap(b"GIF89a" + b"\0" * 40)
    assert parse_pcap(b"") == []


def test_frame_too_short_for_ethernet_is_a_clear_error():
    with pytest.raises(PcapError, match="shorter than an Ethernet header"):
        Frame(0.0, 1, b"\x01\x02", 2).payload


# -- wait_for ----------------------------------------------------------------
def test_wait_for_returns_the_first_truthy_value():
    calls = []

    def cond():
        calls.append(1)
        return "done" if len(calls) == 3 else None
    assert wait_for(cond, 5) == "done"
    assert len(calls) == 3


def test_wait_for_times_out_naming_what_it_waited_for():
    with pytest.raises(WaitTimeout, match="the moon.*last value: 0"):
        wait_for(lambda: 0, 0.05, what="the moon")


def test_wait_for_propagates_errors_and_rejects_bad_timeouts():
    def boom():
        raise KeyError("x")
    with pytest.raises(KeyError):
        wait_for(boom, 1)
    with pytest.raises(ValueError, match="timeout"):
        wait_for(lambda: 1, None)


# -- advert decoder, against scapy on the recorded vectors ----------------------
def _stored_vectors():
    return sorted(VECTORS.glob("keepalived-*/*.json"))


@pytest.mark.parametrize("path", _stored_vectors(), ids=lambda p: "%s/%s" % (p.parent.name, p.stem))
def test_decoder_agrees_with_scapy_on_recorded_vectors(path):
    scapy_all = pytest.importorskip("scapy.all")
    from scapy.layers.vrrp import VRRP, VRRPv3
    vec = json.loads(path.read_text())
    raw = bytes.fromhex(vec["ip_packet_hex"])
    ours = decode_ip(raw)
    pkt = scapy_all.IP(raw) if vec["family"] == "ipv4" else scapy_all.IPv6(raw)
    layer = pkt[VRRP] if vec["version"] == 2 else pkt[VRRPv3]
    assert (ours.vrid, ours.priority, ours.count) == (layer.vrid, layer.priority, layer.ipcount)
    assert ours.checksum == layer.chksum
    assert list(ours.addresses) == [str(a) for a in layer.addrlist]
    assert ours.adver_int_raw == layer.adv
    ip = pkt[scapy_all.IP] if vec["family"] == "ipv4" else pkt[scapy_all.IPv6]
    assert ours.src == ip.src and ours.dst == ip.dst
    # and the stored fields are what the packet says
    assert ours.vrrp.hex() == vec["vrrp_hex"]
    assert (ours.vrid, ours.priority, ours.adver_int_cs) == (vec["vrid"], vec["priority"],
                                                              vec["adver_int_cs"])
    assert ours.checksum_form == vec["checksum_form"]


def test_decoder_notices_a_corrupted_checksum():
    paths = [p for p in _stored_vectors() if p.stem == "v3-ipv4"]
    if not paths:
        pytest.skip("no recorded v3-ipv4 vector")
    raw = bytearray.fromhex(json.loads(paths[0].read_text())["ip_packet_hex"])
    assert decode_ip(bytes(raw)).checksum_form == "pseudo-header"
    raw[-1] ^= 0x01
    bad = decode_ip(bytes(raw))
    assert bad.checksum_form is None
    assert bad.checksum_valid == {"pseudo-header": False, "message-only": False}


def test_check_advert_names_each_field_that_differs():
    from dataclasses import replace
    from fastvrrp.bench import kavectors
    paths = [p for p in _stored_vectors() if p.stem == "v2-ipv4-pass"]
    if not paths:
        pytest.skip("no recorded v2-ipv4-pass vector")
    vec = json.loads(paths[0].read_text())
    advert = decode_ip(bytes.fromhex(vec["ip_packet_hex"]))
    scenario = kavectors.SCENARIOS["v2-ipv4-pass"]
    assert kavectors.check_advert(scenario, advert, src=vec["src"], dst=vec["dst"]) == []
    changed = replace(scenario, priority=101, auth_pass="1112")
    problems = kavectors.check_advert(changed, advert, src=vec["src"], dst="224.0.0.19")
    assert sorted(p.split(":")[0] for p in problems) == ["auth_pass", "dst", "priority"]


def test_decoder_rejects_non_vrrp_with_a_reason():
    udp = bytes.fromhex("4500001c0000400040110000" "0a000001" "0a000002") + b"\0" * 8
    with pytest.raises(AdvertError, match="protocol 17 is not VRRP"):
        decode_ip(udp)
    with pytest.raises(AdvertError, match="truncated"):
        decode_ip(b"\x45\x00")


# -- helpers for the namespace tests ---------------------------------------------
RECEIVER = textwrap.dedent("""
    import socket, sys
    host, port = sys.argv[1], int(sys.argv[2])
    info = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
    s = socket.socket(info[0], socket.SOCK_DGRAM)
    s.bind(info[4])
    s.settimeout(10)
    print("ready", flush=True)
    data, addr = s.recvfrom(200)
    print(data.decode(), addr[0], flush=True)
""")
SENDER = textwrap.dedent("""
    import socket, sys
    src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    info = socket.getaddrinfo(dst, port, 0, socket.SOCK_DGRAM)[0]
    s = socket.socket(info[0], socket.SOCK_DGRAM)
    s.bind(socket.getaddrinfo(src, 0, info[0], socket.SOCK_DGRAM)[0][4])
    s.sendto(b"hello-from-" + src.encode(), info[4])
""")


def _readline(proc, timeout=10.0):
    """One line of proc's stdout, waiting on the pipe (no sleeps)."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0))
        if not ready:
            raise AssertionError("no line from pid %d within %ss (got %r)" % (proc.pid, timeout, buf))
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError("pid %d closed stdout (got %r; exit %s)" % (proc.pid, buf, proc.wait()))
        buf += chunk
    return buf.decode().strip()


def udp_exchange(lab, src_node, src, dst_node, dst, port=9999):
    """Send one datagram src -> dst between namespaces; return what the receiver printed."""
    rx = lab.popen(dst_node, [sys.executable, "-c", RECEIVER, dst, str(port)],
                   stdout=subprocess.PIPE)
    assert _readline(rx) == "ready"
    tx = lab.popen(src_node, [sys.executable, "-c", SENDER, src, dst, str(port)])
    assert tx.wait(timeout=10) == 0
    line = _readline(rx)
    assert rx.wait(timeout=10) == 0
    return line


def _alive(pid):
    return labstate.process_running(pid)


# -- namespace tests ----------------------------------------------------------
@pytest.mark.netns
def test_ipv4_and_ipv6_reachable_across_the_bridge(star):
    lab, links = star
    a, b = links["a"], links["b"]
    assert udp_exchange(lab, "a", a.ip4, "b", b.ip4) == "hello-from-%s %s" % (a.ip4, a.ip4)
    assert udp_exchange(lab, "b", b.ip6, "a", a.ip6) == "hello-from-%s %s" % (b.ip6, b.ip6)
    # link-locals are usable at once (DAD is off): bind one as the source
    src = "%s%%%s" % (a.ipv6_ll, a.ifname)
    dst = "%s%%%s" % (b.ipv6_ll, b.ifname)
    line = udp_exchange(lab, "a", src, "b", dst)
    assert line.split()[1].split("%")[0] == a.ipv6_ll


@pytest.mark.netns
def test_node_addresses_are_not_tentative(star):
    lab, links = star
    a = links["a"]
    ipr = lab.iproute("a")
    flags = {m.get("IFA_ADDRESS"): m["flags"] for m in ipr.get_addr(index=a.ifindex)}
    assert set(flags) >= {a.ip4, a.ip6, a.ipv6_ll}
    tentative = 0x40  # IFA_F_TENTATIVE
    assert all(not f & tentative for f in flags.values()), flags
    assert a.ipv6_ll.startswith("fe80:")


@pytest.mark.netns
def test_capture_sees_traffic_sent_right_after_start(star):
    lab, links = star
    a, b = links["a"], links["b"]
    cap = lab.capture("sw", "br0", bpf="udp port 9999")
    udp_exchange(lab, "a", a.ip4, "b", b.ip4)
    (frame,) = cap.wait_frames(1, timeout=10)
    assert frame.eth_src == a.mac and frame.eth_dst == b.mac
    assert frame.payload[9] == 17 and frame.payload.endswith(b"hello-from-" + a.ip4.encode())
    frames = cap.stop()
    assert len(frames) == 1
    assert cap.proc.returncode is not None


@pytest.mark.netns
def test_capture_on_a_missing_interface_fails_clearly(lab):
    lab.add_switch("sw")
    with pytest.raises(CaptureError, match="nosuch0"):
        lab.capture("sw", "nosuch0", timeout=10)
    assert lab.processes() == []


@pytest.mark.netns
def test_processes_see_their_own_sys_and_links(star):
    lab, links = star
    proc = lab.popen("a", ["ls", "/sys/class/net"], stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=10)
    assert out.decode().split() == ["eth0", "lo"]


@pytest.mark.netns
def test_teardown_leaves_nothing_even_when_the_body_raises():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    with pytest.raises(RuntimeError, match="test body failed"):
        with Lab() as lab:
            lab.star(("a", "b"))
            sleeper = lab.popen("a", ["sleep", "60"])
            # a child forked by a started process goes too (same process group)
            shell = lab.popen("b", ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
            grandchild = int(_readline(shell))
            names, state, workdir = lab.namespaces(), lab.state.path, lab.workdir
            assert all(netns.exists(n) for n in names) and os.path.exists(state)
            raise RuntimeError("test body failed")
    assert lab.closed
    assert [n for n in names if netns.exists(n)] == []
    assert not _alive(sleeper.pid) and sleeper.returncode == -signal.SIGTERM
    assert not _alive(grandchild)
    assert not os.path.exists(state) and not os.path.exists(workdir)


@pytest.mark.netns
def test_stop_escalates_to_sigkill(lab):
    lab.add_node("a")
    stubborn = lab.popen("a", ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 1; done"],
                         stdout=subprocess.PIPE)
    assert _readline(stubborn) == "up"  # the trap is installed
    assert lab.stop(stubborn, grace=0.2) == -signal.SIGKILL
    assert lab.processes() == []


@pytest.mark.netns
def test_stop_takes_what_the_process_forked(lab):
    lab.add_node("a")
    shell = lab.popen("a", ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(_readline(shell))
    assert _alive(grandchild)
    lab.stop(shell, grace=5.0)
    wait_for(lambda: not _alive(grandchild), 5, what="the forked sleep to die")


@pytest.mark.netns
def test_two_labs_at_once_do_not_collide(star):
    lab1, links1 = star
    with Lab() as lab2:
        links2 = {n: l[0] for n, l in lab2.star(("a", "b")).items()}
        assert lab1.id != lab2.id
        assert not set(lab1.namespaces()) & set(lab2.namespaces())
        # same addresses in both labs, each reaching only its own peer
        assert links1["a"].ip4 == links2["a"].ip4
        assert udp_exchange(lab2, "a", links2["a"].ip4, "b", links2["b"].ip4).startswith("hello")
    assert udp_exchange(lab1, "a", links1["a"].ip4, "b", links1["b"].ip4).startswith("hello")


@pytest.mark.netns
def test_many_links_per_node_each_on_its_own_bridge(lab):
    links = lab.star(("a", "b"), links_per_node=16)
    assert [l.ifname for l in links["a"]] == ["eth%d" % i for i in range(16)]
    assert {l.bridge for l in links["b"]} == {"br%d" % i for i in range(16)}
    ipr = lab.iproute("a")
    names = {m.get("IFLA_IFNAME") for m in ipr.get_links()}
    assert names >= {"eth%d" % i for i in range(16)}
    assert all(l.ipv6_ll for l in links["a"] + links["b"])
    last = links["a"][15], links["b"][15]
    assert udp_exchange(lab, "a", last[0].ip4, "b", last[1].ip4).startswith("hello")


@pytest.mark.netns
def test_bad_requests_raise_clear_errors(lab):
    with pytest.raises(LabError, match="role"):
        lab.add_node("Bad_Role")
    lab.add_node("a")
    with pytest.raises(LabError, match="already has a namespace"):
        lab.add_node("a")
    with pytest.raises(LabError, match="no bridge br0 in switch 'sw'"):
        lab.connect(LinkSpec(node="a"))
    lab.add_switch("sw")
    with pytest.raises(LabError, match="needs a prefix length"):
        lab.connect(LinkSpec(node="a", ipv4=("10.0.0.1",)))
    with pytest.raises(LabError, match="not an IPv4"):
        lab.connect(LinkSpec(node="a", ipv4=("fd00::1/64",)))
    with pytest.raises(LabError, match="no namespace 'zz'"):
        lab.popen("zz", ["true"])
    batch = nlbatch.RtnlBatch(lab.ns("a"))
    batch.link_set(4242, up=True, what="bring up a missing link")
    with pytest.raises(nlbatch.NetlinkBatchError, match="bring up a missing link: No such device"):
        batch.commit()
    with pytest.raises(ValueError, match="bad MAC"):
        nlbatch.RtnlBatch(lab.ns("a")).veth("x", peer="y", mac="nope")
    lab.close()
    with pytest.raises(LabError, match="closed"):
        lab.add_node("b")


def _crashed_lab(prefix, run_dir):
    """Start a python that builds a lab, starts a sleeper in it and dies without cleanup."""
    code = textwrap.dedent("""
        import os, subprocess, sys
        from fastvrrp.bench.lab import Lab
        lab = Lab(%r, run_dir=%r)
        lab.star(("a",))
        p = lab.popen("a", ["sleep", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(lab.id, p.pid, " ".join(lab.namespaces()), flush=True)
        os._exit(0)   # no atexit, no finaliser: a crash
    """ % (prefix, run_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    return out[0], int(out[1]), out[2:]


@pytest.mark.netns
def test_cleanup_stale_removes_a_crashed_labs_leftovers_only(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    run_dir = str(tmp_path / "state")
    with Lab("fvx", run_dir=run_dir) as live:
        live.add_node("a")
        names = []
        try:
            lab_id, sleeper, names = _crashed_lab("fvx", run_dir)
            assert names and all(netns.exists(n) for n in names) and _alive(sleeper)
            removed = cleanup_stale("fvx", run_dir)
            assert sorted(removed) == sorted(names)
            assert not any(netns.exists(n) for n in names)
            assert not _alive(sleeper)
            assert not os.path.exists(os.path.join(run_dir, lab_id + ".json"))
            # the live lab (same prefix, creator alive) was not touched
            assert netns.exists(live.ns("a"))
            assert os.path.exists(live.state.path)
        finally:
            cleanup_stale("fvx", run_dir)
            for name in names:
                netns.remove(name)


@pytest.mark.netns
def test_cleanup_stale_ignores_namespaces_not_named_after_the_lab(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    run_dir = tmp_path / "state"
    run_dir.mkdir()
    with Lab("fvy", run_dir=str(run_dir)) as other:   # stands for someone else's namespace
        other.add_node("a")
        foreign = other.ns("a")
        dead = subprocess.Popen(["true"])
        dead.wait()
        (run_dir / "fvy000000.json").write_text(json.dumps({
            "lab": "fvy000000", "pid": dead.pid, "start_time": 1,
            "namespaces": [foreign, "../../etc"], "processes": []}))
        assert cleanup_stale("fvy", str(run_dir)) == []
        assert netns.exists(foreign)
        assert not (run_dir / "fvy000000.json").exists()
