"""Issue 6 (start-up): the engine's per-start shortcuts give what the plain ways give.

- engine_sources: the instances of one interface share its parsed source
  candidates (SourceWatcher.lookup with a start's cache) and pick what
  pick_source picks;
- engine_tracking: the tracker names of thousands of plans in one pass;
- engine_host: statics_of makes a preference allocator only for static_rules.
"""

import asyncio
import ipaddress
import itertools
import random
import socket

import pytest

from fastvrrp.config import loads
from fastvrrp.daemon import engine_host
from fastvrrp.daemon.engine_sources import (SourceWatcher, candidates, pick_candidate,
                                            pick_source)
from fastvrrp.daemon.engine_tracking import names_of, tracker_names
from fastvrrp.host.objects import AddrInfo
from fastvrrp.host.rules import PreferenceAllocator
from fastvrrp.track.aggregate import Kind, TrackerSpec

IFA_F_SECONDARY, IFA_F_TENTATIVE, IFA_F_DADFAILED = 0x01, 0x40, 0x08


def _addr(text, flags=0, index=2):
    ip = ipaddress.ip_address(text)
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    return AddrInfo(family=family, index=index, address=text, prefixlen=24 if ip.version == 4
                    else 64, scope=253 if ip.is_link_local else 0, flags=flags)


POOL = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "192.168.1.1", "fe80::1", "fe80::2", "2001:db8::1",
        "fe80::3"]
FLAGS = [0, IFA_F_SECONDARY, IFA_F_TENTATIVE, IFA_F_DADFAILED]


def test_candidates_pick_what_pick_source_picks():
    rng = random.Random(6)
    for _ in range(400):
        addresses = [_addr(rng.choice(POOL), rng.choice(FLAGS)) for _ in range(rng.randint(0, 5))]
        exclude = {ipaddress.ip_address(a) for a in rng.sample(POOL, rng.randint(0, 4))}
        for family in (4, 6):
            assert pick_candidate(candidates(addresses, family), exclude) == \
                pick_source(addresses, family, exclude), (addresses, exclude, family)


class _Netlink:
    def __init__(self, addresses):
        self.addresses_of = addresses
        self.calls = 0

    async def addresses(self, ifindex, family):
        self.calls += 1
        return [a for a in self.addresses_of.get(ifindex, ())
                if a.family == family]


class _Plan:
    def __init__(self, family, src=None):
        self.family, self.configured_src, self.ifname = family, src, "eth0"


class _Rt:
    def __init__(self, name, ifindex, family, src=None):
        self.name, self.ifindex, self.plan = name, ifindex, _Plan(family, src)


def test_a_start_dumps_each_interface_once_and_each_instance_still_excludes_the_vips():
    nl = _Netlink({2: [_addr("10.0.0.1"), _addr("10.0.0.5", IFA_F_SECONDARY),
                       _addr("fe80::1")],
                   3: [_addr("10.0.1.1", index=3), _addr("10.0.1.2", index=3)]})
    vips = set()
    watcher = SourceWatcher(nl, lambda rt, src: None, vips=lambda: vips)

    async def main():
        cache = {}
        got = [await watcher.lookup(_Rt("VI_%d" % i, 2, 4), cache) for i in range(3)]
        vips.add(ipaddress.ip_address("10.0.1.1"))          # a VIP equal to eth1's primary
        got.append(await watcher.lookup(_Rt("VI_3", 3, 4), cache))
        got.append(await watcher.lookup(_Rt("VI_4", 2, 6), cache))
        got.append(await watcher.lookup(_Rt("VI_5", 3, 4, src="10.9.9.9"), cache))
        got.append(await watcher.lookup(_Rt("VI_6", 2, 4)))     # no cache: a dump each time
        return got

    got = asyncio.run(main())
    assert got == ["10.0.0.1"] * 3 + ["10.0.1.2", "fe80::1", "10.9.9.9", "10.0.0.1"]
    assert nl.calls == 4 and watcher.lookups == 4


def test_tracker_names_in_one_pass_equal_names_of_each_kind():
    rng = random.Random(7)
    specs = [TrackerSpec(kind, "%s%d" % (kind.name.lower(), i), 0, False)
             for kind in Kind for i in range(3)]
    shared = tuple(rng.sample(specs, 4))

    class P:
        def __init__(self, trackers):
            self.trackers = trackers

    plans = [P(shared if rng.random() < 0.5 else tuple(rng.sample(specs, rng.randint(0, 5))))
             for _ in range(200)]
    names = tracker_names(plans)
    for kind in Kind:
        naive = list(dict.fromkeys(s.name for p in plans for s in p.trackers if s.kind is kind))
        assert names[kind] == naive == names_of(plans, kind)
    assert tracker_names([]) == {kind: [] for kind in Kind}


BASE = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        10.0.0.100/24
    }
}
"""


@pytest.mark.parametrize("rules", ["", "static_rules {\n    from 10.6.0.0/16 table 5\n"
                                       "    from 10.7.0.0/16 table 6 priority 60\n}\n"])
def test_statics_make_their_own_allocator_only_for_static_rules(rules):
    config, diags = loads(rules + BASE)
    assert not [d for d in diags.errors if d.code != "rule-preference"]
    own = engine_host.statics_of(config)
    given = engine_host.statics_of(config, PreferenceAllocator())
    assert own == given
    assert bool(own.rules) == bool(rules)
    assert [r.preference for r in own.rules] == [r.preference for r in given.rules]


def test_the_pairs_of_candidates_are_in_kernel_order():
    addresses = [_addr(t) for t in ("10.0.0.3", "10.0.0.1", "10.0.0.2")]
    found = candidates(addresses, 4)
    assert [text for _a, text in found] == ["10.0.0.3", "10.0.0.1", "10.0.0.2"]
    for excluded in itertools.permutations(["10.0.0.3", "10.0.0.1"], 1):
        assert pick_candidate(found, {ipaddress.ip_address(excluded[0])}) == \
            ("10.0.0.1" if excluded[0] == "10.0.0.3" else "10.0.0.3")


# -- a send socket receives nothing (its drop-all filter, attached without ctypes) ---------

@pytest.mark.netns
def test_a_send_socket_receives_nothing_while_a_plain_raw_socket_does():
    import json
    import os
    import secrets
    import subprocess
    import sys
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    name = "fvs" + secrets.token_hex(4)

    def ip(*args):
        subprocess.run(["ip", "-n", name] + list(args), check=True, timeout=30,
                       capture_output=True)

    peer = name + "p"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    subprocess.run(["ip", "netns", "add", peer], check=True, timeout=30)
    try:
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", peer)
        ip("addr", "add", "10.9.0.1/24", "dev", "eth0")
        ip("link", "set", "eth0", "up")
        for args in (("addr", "add", "10.9.0.2/24", "dev", "eth1"), ("link", "set", "eth1", "up")):
            subprocess.run(["ip", "-n", peer] + list(args), check=True, timeout=30)
        code = (
            "import json, select, socket, subprocess, sys\n"
            "from fastvrrp.daemon.sock_v4 import open_tx_v4\n"
            "tx = open_tx_v4('eth0')\n"
            "plain = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)\n"
            "plain.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')\n"
            "send = ('import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112); '\n"
            "        's.sendto(bytes(12), (\"10.9.0.1\", 0))')\n"
            "subprocess.run(['ip', 'netns', 'exec', PEER, sys.executable, '-c', send], check=True)\n"
            "got = bool(select.select([plain], [], [], 5)[0])\n"
            "tx.sock.setblocking(False)\n"
            "try:\n"
            "    tx.sock.recv(2048)\n"
            "    tx_got = True\n"
            "except BlockingIOError:\n"
            "    tx_got = False\n"
            "print(json.dumps([got, tx_got]))\n").replace("PEER", repr(peer))
        out = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, False]
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30, check=False)
        subprocess.run(["ip", "netns", "del", peer], timeout=30, check=False)
