"""Tracking, daemon against daemon: keepalived 2.2.7 and `fastvrrp` side by side.

The same config runs in keepalived (namespace k) and in the fastvrrp daemon
(namespace f).  Each node is alone on its own four segments (eth0..eth3 to
bridges br0..br3 of its own switch), so every instance is MASTER unless it
is in FAULT, and its adverts carry its effective priority.  Every step is
applied to both: an interface set down or losing its carrier (the switch
port), an interface deleted and created again, a file written or deleted (the
files are shared), a process started or killed (shared too, both see it
through the proc connector), a check script's flag file removed.  After each
step the test compares, per instance, what each daemon settled on (FAULT from
its log, else the priority of the adverts sniffed on its segment; see
tests/tracklab.py) with each other and with the value worked out by hand
from keepalived-vrrp.md §2.5, §3.2 and §3.15.

VI_1 carries instance-level trackers of every kind (track_process with a
quorum, with a terminate delay, and with a fork delay reached through a
forked child); VI_2 and VI_3 form sync group G, whose own track_interface,
track_file, track_script and track_process apply to both members; VI_4 and
VI_5 form G2 with sync_group_tracking_weight, so their own weighted
trackers count next to the group's track_interface.  A
member's own weighted track_interface is left out on purpose: there 2.2.7
and fastvrrp differ deliberately (fastvrrp.vrrp.sync_tracking; the model
side is in tests/unit/config/test_group_trackers.py).

The lab's namespaces are named fvt<6 hex>-<role> (Lab prefixes are lowercase
letters only).
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from engine_lab import Daemon
from tracklab import FAULT, AdvertView, World, compile_shim, require, shim_env, write

pytestmark = [pytest.mark.interop, pytest.mark.timeout(400)]

CONFIG = """
global_defs {
    router_id fvtrackd
    script_user root
    enable_script_security
}
vrrp_script chk {
    script "/usr/bin/test -e %(flag)s"
    interval 1
    weight 3
}
vrrp_script chk2 {
    script "/usr/bin/test -e %(flag2)s"
    interval 1
}
track_file f_plain {
    file %(dir)s/plain
    weight 5
}
track_file f_rev {
    file %(dir)s/rev
    weight 2 reverse
}
track_file f_zero {
    file %(dir)s/zero
    weight 0
}
track_file g_file {
    file %(dir)s/group
    weight 2
}
vrrp_track_process p_one {
    process %(one)s
    weight 7
}
vrrp_track_process p_quorum {
    process %(two)s
    quorum 2
    weight -15
}
vrrp_track_process p_delay {
    process %(three)s
    weight 6
    delay 1
}
vrrp_track_process p_fork {
    process %(four)s
    quorum 2
    weight 9
    fork_delay 1
}
vrrp_sync_group G {
    group {
        VI_2
        VI_3
    }
    track_interface {
        eth1 weight 4
    }
    track_file {
        g_file
    }
    track_script {
        chk2
    }
    track_process {
        p_one weight -5
    }
}
vrrp_sync_group G2 {
    group {
        VI_4
        VI_5
    }
    sync_group_tracking_weight
    track_interface {
        eth2 weight 8
    }
}
vrrp_instance VI_1 {
    interface eth0
    state BACKUP
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.0.0.100/24
        10.0.3.100/24 dev eth3
    }
    track_interface {
        eth1 weight 10
        eth2 weight -20 reverse
        eth3 weight 10
    }
    track_script {
        chk
    }
    track_file {
        f_plain
        f_rev
        f_zero
    }
    track_process {
        p_one
        p_quorum
        p_delay
        p_fork
    }
}
vrrp_instance VI_2 {
    interface eth0
    state BACKUP
    virtual_router_id 52
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.0.0.102/24
    }
}
vrrp_instance VI_3 {
    interface eth0
    state BACKUP
    virtual_router_id 53
    priority 90
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.0.0.103/24
    }
}
vrrp_instance VI_4 {
    interface eth0
    state BACKUP
    virtual_router_id 54
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.0.0.104/24
    }
    track_interface {
        eth1 weight -7
    }
    track_script {
        chk weight -4
    }
    track_file {
        f_rev
    }
}
vrrp_instance VI_5 {
    interface eth0
    state BACKUP
    virtual_router_id 55
    priority 90
    version 3
    advert_int 0.1
    virtual_ipaddress {
        10.0.0.105/24
    }
    track_interface {
        eth1 weight 5
    }
}
"""

INSTANCES = (("VI_1", 51), ("VI_2", 52), ("VI_3", 53), ("VI_4", 54), ("VI_5", 55))
NODES = {"k": "keepalived", "f": "fastvrrp"}


def _config(world):
    return CONFIG % dict(flag=world.path("flag"), flag2=world.path("flag2"), dir=world.dir,
                         one=world.names["one"], two=world.names["two"],
                         three=world.names["three"], four=world.names["four"])


class Preloaded(Daemon):
    """engine_lab's Daemon, started with the process-events shim preloaded."""

    def __init__(self, *args, shim, **kw):
        super().__init__(*args, **kw)
        self.shim = shim

    def start(self):
        env = shim_env(self.shim)
        env["TMPDIR"] = self.lab.workdir
        with open(self.log_path, "a") as log:
            self.proc = self.lab.popen(self.node, self.argv(), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log, env=env)
        self.starts += 1
        return self


def test_tracking_daemons_match(request):
    from fastvrrp.bench.keepalived_proc import keepalived_path
    from fastvrrp.bench.lab import Lab
    try:
        keepalived_path()
        have_keepalived = True
    except Exception:
        have_keepalived = False
    require(have_keepalived, "keepalived")
    if os.geteuid() != 0:
        pytest.skip("network-namespace labs need root")
    directory = tempfile.mkdtemp(prefix="fastvrrp-track-daemon-")
    lab = Lab("fvt")
    request.addfinalizer(lab.close)
    try:
        shim = compile_shim(directory)
        world = World(directory, files=("plain", "rev", "zero", "group"),
                      flags=("flag", "flag2"),
                      processes={"one": "/bin/sleep", "two": "/bin/sleep",
                                 "three": "/bin/sleep", "four": "/bin/sh"})
        try:
            _run(lab, world, shim)
        finally:
            world.kill_all()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run(lab, world, shim):
    links, captures, daemons = {}, {}, {}
    for node in NODES:
        made = lab.star((node,), switch="sw" + node, links_per_node=4, ipv6=False)[node]
        links[node] = {link.ifname: link for link in made}
        captures[node] = lab.capture("sw" + node, "br0")
    text = _config(world)
    for node, kind in NODES.items():
        daemons[node] = Preloaded(lab, node, kind, text, name="%s-track" % kind, shim=shim)
    try:
        for daemon in daemons.values():
            daemon.start()
        views = {node: AdvertView(daemons[node].log, daemons[node].running, captures[node],
                                  NODES[node]) for node in NODES}
        results = asyncio.run(_steps(lab, links, world, views))
    finally:
        codes = {node: d.stop() for node, d in daemons.items()}
        for capture in captures.values():
            capture.stop()
    logs = {node: daemons[node].log() for node in NODES}
    table = "\n".join("%-44s %-5s expected %-6s keepalived %-6s fastvrrp %-6s (%.1f s)" % r
                      for r in results)
    print(table)
    assert all(e == k == f for _w, _i, e, k, f, _t in results), "\n" + table
    for node in NODES:
        assert "Failed to set/clear process event listen" not in logs[node], logs[node][-3000:]
        assert "process events unavailable" not in logs[node], logs[node][-3000:]
    assert codes["f"] == 0, logs["f"][-3000:]          # SIGTERM: the clean stop
    assert "Traceback" not in logs["f"], logs["f"][-3000:]


async def _steps(lab, links, world, views):
    from fastvrrp.bench.lab import LinkSpec

    def link(node, ifname, state, *, port=False):
        """Set a node's interface (or, port=True, its switch port: the carrier) up/down."""
        ln = links[node][ifname]
        if port:
            lab.iproute(ln.switch_ns).link("set", index=ln.port_ifindex, state=state)
        else:
            lab.iproute(ln.ns).link("set", index=ln.ifindex, state=state)

    def both(fn, *args, **kw):
        return lambda: [fn(node, *args, **kw) for node in NODES]

    def delete(node, ifname):
        ln = links[node].pop(ifname)
        lab.iproute(ln.ns).link("del", index=ln.ifindex)

    def create(node, ifname, n):
        (made,) = lab.connect(LinkSpec(node=node, switch="sw" + node, bridge="br%d" % n,
                                       ifname=ifname, port="%sx%d" % (node, n),
                                       ipv4=("10.0.%d.1/24" % n,)))
        links[node][ifname] = made

    plain, rev, zero, group = (world.path(n) for n in ("plain", "rev", "zero", "group"))
    base = (98, 99, 89)    # VI_1: 100 +10 eth1 +3 chk -15 p_quorum; VI_2/3: +4 eth1 -5 p_one
    # (what, action, log marker (both daemons log it), expected VI_1, VI_2, VI_3)
    steps = [
        ("start", None, r"VRRP_Script\(chk2\) succeeded", base),
        ("eth1 down", both(link, "eth1", "down"), r"Netlink reports eth1 down", (88, 95, 85)),
        ("eth2 carrier lost (weight -20 reverse)", both(link, "eth2", "down", port=True),
         r"Netlink reports eth2 down", (108, 95, 85)),
        ("eth2 carrier back", both(link, "eth2", "up", port=True), r"Netlink reports eth2 up",
         (88, 95, 85)),
        ("eth1 up", both(link, "eth1", "up"), r"Netlink reports eth1 up", base),
        ("eth1 deleted", both(delete, "eth1"), r"Netlink reports eth1 down", (88, 95, 85)),
        ("eth1 created again", both(create, "eth1", 1), r"Netlink reports eth1 up", base),
        ("eth3 down: it carries a VIP, so weight 0", both(link, "eth3", "down"),
         r"Netlink reports eth3 down", (FAULT, 99, 89)),
        ("eth3 up", both(link, "eth3", "up"), r"Netlink reports eth3 up", base),
        ("plain = '  0x3 apples' (x5)", lambda: write(plain, "  0x3 apples\n"), None,
         (113, 99, 89)),
        ("rev = 4 (x2 reverse)", lambda: write(rev, "4"), None, (105, 99, 89)),
        ("plain = -100: -500 is FAULT", lambda: write(plain, "-100\n"), None, (FAULT, 99, 89)),
        ("plain deleted: 0", lambda: os.unlink(plain), None, (90, 99, 89)),
        ("zero = 1 (weight 0)", lambda: write(zero, "1\n"), None, (FAULT, 99, 89)),
        ("zero = 0", lambda: write(zero, "0\n"), None, (90, 99, 89)),
        ("plain = 060 (octal 48, x5 = 240)", lambda: write(plain, "060"), None, (254, 99, 89)),
        ("plain = 0", lambda: write(plain, "0"), None, (90, 99, 89)),
        ("group file = 5 (x2, both members)", lambda: write(group, "5"), None, (90, 109, 99)),
        ("group file = -200: the group in FAULT", lambda: write(group, "-200"), None,
         (90, FAULT, FAULT)),
        ("group file deleted", lambda: os.unlink(group), None, (90, 99, 89)),
        ("p_one starts (+7; group -5 gone)", lambda: world.start("one"),
         r"Quorum gained for tracked process p_one", (97, 104, 94)),
        ("one p_quorum process: no quorum yet", lambda: world.start("two.1", "two"), None,
         (97, 104, 94)),
        ("second p_quorum process: quorum", lambda: world.start("two.2", "two"),
         r"Quorum gained for tracked process p_quorum", (112, 104, 94)),
        ("p_one killed", lambda: world.kill("one"), r"Quorum lost for tracked process p_one",
         (105, 99, 89)),
        ("a p_quorum process killed", lambda: world.kill("two.1"),
         r"Quorum lost for tracked process p_quorum", (90, 99, 89)),
        # an exec'ed process counts at once: fork_delay only holds back children a
        # tracked process forks (track_process.c); terminate_delay holds back its end
        ("p_delay starts (+6; exec: no fork delay)", lambda: world.start("three"),
         r"Quorum gained for tracked process p_delay", (96, 99, 89)),
        ("p_delay killed (-6 after terminate_delay)", lambda: world.kill("three"),
         r"Quorum lost for tracked process p_delay", (90, 99, 89)),
        # a shell whose subshell blocks in the builtin `read` on the shell's stdin (fd 3:
        # a background list's own stdin is /dev/null): the shell's exec makes one p_fork
        # process, the subshell's fork the second, so the quorum comes by a fork
        ("p_fork: shell + forked subshell (fork_delay)",
         lambda: world.start("four", args=("-c", "exec 3<&0; (read x <&3) & wait")),
         r"Quorum gained for tracked process p_fork", (99, 99, 89)),
        ("p_fork killed (both)", lambda: world.kill("four"),
         r"Quorum lost for tracked process p_fork", (90, 99, 89)),
        ("chk fails (-3)", lambda: os.unlink(world.path("flag")),
         r"VRRP_Script\(chk\) failed", (87, 99, 89)),
        ("chk2 fails: the group in FAULT", lambda: os.unlink(world.path("flag2")),
         r"VRRP_Script\(chk2\) failed", (87, FAULT, FAULT)),
        ("chk2 succeeds", lambda: write(world.path("flag2"), ""),
         r"VRRP_Script\(chk2\) succeeded", (87, 99, 89)),
        ("eth0, the own interface, down", both(link, "eth0", "down"),
         r"Netlink reports eth0 down", (FAULT, FAULT, FAULT)),
        ("eth0 up", both(link, "eth0", "up"), r"Netlink reports eth0 up", (87, 99, 89)),
    ]
    # VI_4 and VI_5 (group G2, sync_group_tracking_weight: member weights count), per step:
    # VI_4 100 +8 eth2 (group) -7 eth1 (when down) -4 chk (when failed) -2*f_rev;
    # VI_5 90 +8 eth2 (group) +5 eth1 (when up)
    g2 = ([(108, 103), (101, 98), (93, 90), (101, 98), (108, 103), (101, 98)]  # .. eth1 deleted
          + [(108, 103)] * 4            # eth1 created again .. plain = 0x3
          + [(100, 103)] * 19           # rev = 4 .. p_fork killed
          + [(96, 103)] * 3             # chk fails .. chk2 succeeds
          + [(FAULT, FAULT), (96, 103)])
    assert len(g2) == len(steps), (len(g2), len(steps))
    steps = [(w, a, m, e + extra) for (w, a, m, e), extra in zip(steps, g2)]
    results = []
    for what, action, marker, expected in steps:
        before = {node: ({name: view.faults(name) for name, _ in INSTANCES},
                         view.count(marker) if marker and action is not None else 0)
                  for node, view in views.items()}
        since = time.time()
        if action is not None:      # pyroute2's sync API will not run inside a running loop
            await asyncio.to_thread(action)
        waits = {(name, node): view.settled(name, vrid, since, before[node][0][name], marker,
                                            before[node][1])
                 for name, vrid in INSTANCES for node, view in views.items()}
        got = dict(zip(waits, await asyncio.gather(*waits.values())))   # awaited together
        took = time.time() - since
        for (name, _vrid), want in zip(INSTANCES, expected):
            results.append((what, name, want, got[(name, "k")], got[(name, "f")], took))
    return results

