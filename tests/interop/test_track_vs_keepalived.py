"""Tracking side by side with the real keepalived 2.2.7: same config, same events.

keepalived runs alone on a lab segment (VRRPv3, advert_int 0.1), so it is
MASTER whenever it is not in FAULT, and its adverts carry its effective
priority.  fastvrrp's trackers (links through netlink in the same namespace,
the same files through inotify, the same processes through the proc
connector, the same check script) feed a TrackingHub built from the same
config text by fastvrrp.config, whose events drive a real VrrpMachine.  After
each event (an interface down, carrier lost, a file written or deleted, a
process started or killed, the script failing) the test compares:

    keepalived: FAULT (its log) or the priority of its adverts on the wire
    fastvrrp:   machine.state is FAULT, or machine.effective_priority
    by hand:    what keepalived-vrrp.md §3.2 / §2.5 say it must be

keepalived 2.2.7 from Debian has no `net_namespace`, and the kernel refuses
process-event subscriptions from any network namespace but the initial one
(keepalived logs "Failed to set/clear process event listen - errno 111" and
its track_process then counts nothing).  So a tiny LD_PRELOAD shim, compiled
here with cc, creates keepalived's NETLINK_CONNECTOR socket in the test's
own network namespace; everything else keepalived does stays in the lab.

keepalived's settled state after a step: FAULT when its log shows it entering
FAULT since the step; otherwise the priority of the adverts it sends from
SETTLE_S after the step on (the events reach it within microseconds; its
check script runs every second and is awaited through its log line, as are
its "Netlink reports" and "Quorum gained/lost" lines).  The shim, the files
and processes, and that settled state are tests/tracklab.py's, shared with
test_track_daemon_keepalived.py (the same comparison with the fastvrrp
daemon in place of the in-process trackers).
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from tracklab import (FAULT, AdvertView, World, compile_shim, require, shim_env, until,
                      write as _write)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

CONFIG = """
global_defs {
    router_id fvtrack
    script_user root
}
vrrp_script chk {
    script "/usr/bin/test -e %(flag)s"
    interval 1
    weight 3
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
vrrp_track_process p_one {
    process %(one)s
    weight 7
}
vrrp_track_process p_quorum {
    process %(two)s
    quorum 2
    weight -15
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
    }
}
"""

def _config(world):
    return CONFIG % dict(flag=world.path("flag"), dir=world.dir, one=world.names["one"],
                         two=world.names["two"])


def _keepalived(lab, config, shim):
    from fastvrrp.bench.keepalived_proc import Keepalived

    class Preloaded(Keepalived):
        def start(self):
            with open(self.log_path, "w") as log:
                self.proc = self.lab.popen(self.node, self.argv(), stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           env=shim_env(shim))
            return self

    return Preloaded(lab, "a", config, name="track").start()


def test_tracking_matches_keepalived(lab):
    from fastvrrp.bench.keepalived_proc import keepalived_path

    try:
        keepalived_path()
        have_keepalived = True
    except Exception:
        have_keepalived = False
    require(have_keepalived, "keepalived")
    directory = tempfile.mkdtemp(prefix="fastvrrp-track-ka-")
    try:
        shim = compile_shim(directory)
        world = World(directory, files=("plain", "rev", "zero"), flags=("flag",),
                      processes=("one", "two"))
        try:
            _run(lab, world, shim)
        finally:
            world.kill_all()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run(lab, world, shim):
    links = {l.ifname: l for l in lab.star(("a",), links_per_node=4, ipv6=False)["a"]}
    capture = lab.capture("sw", "br0")
    ka = _keepalived(lab, _config(world), shim)
    try:
        asyncio.run(_compare(lab, links, world, AdvertView(ka.log, ka.running, capture,
                                                           "keepalived")))
    finally:
        ka.stop()
        capture.stop()
    assert "Failed to set/clear process event listen" not in ka.log()


async def _compare(lab, links, world, view):
    from fastvrrp.config import loads
    from fastvrrp.host.nlsocket import IPRoute
    from fastvrrp.track.aggregate import Kind, TrackingHub, instance_trackers
    from fastvrrp.track.files import FileTracker, file_spec_from_config
    from fastvrrp.track.links import LinkTracker
    from fastvrrp.track.processes import ProcessTracker, process_spec_from_config
    from fastvrrp.track.risefall import ScriptState
    from fastvrrp.track.runner import ScriptRunner
    from fastvrrp.track.scripts import ScriptTracker, script_from_config
    from fastvrrp.vrrp import InstanceParams, Startup, State, VrrpMachine

    config, diags = loads(_config(world))
    assert not diags.errors, [str(d) for d in diags.errors]
    inst = config.instances[0]
    machine = VrrpMachine(InstanceParams(name=inst.name, vrid=inst.vrid, version=inst.version,
                                         priority=inst.priority,
                                         advert_int_cs=inst.advert_int_cs,
                                         vips=tuple(a.address for a in inst.vips)))
    hub = TrackingHub(emit=lambda _inst, event: machine.handle(time.monotonic_ns(), event))
    specs = instance_trackers(inst)
    names = {kind: [s.name for s in specs if s.kind is kind] for kind in Kind}
    ns = lab.ns("a")
    node, switch = IPRoute(netns=ns), IPRoute(netns=lab.ns("sw"))
    iflinks = LinkTracker(names[Kind.INTERFACE], netns=ns, on_change=hub.callback(Kind.INTERFACE))
    files = FileTracker([file_spec_from_config(config.track_files[n]) for n in names[Kind.FILE]],
                        on_change=hub.callback(Kind.FILE))
    procs = ProcessTracker([process_spec_from_config(config.track_processes[n])
                            for n in names[Kind.PROCESS]], on_change=hub.callback(Kind.PROCESS))
    scripts = ScriptTracker([script_from_config(config.scripts[n]) for n in names[Kind.SCRIPT]],
                            ScriptRunner(), on_change=hub.callback(Kind.SCRIPT))
    await iflinks.start()
    files.start()
    await procs.start()
    assert procs.mode == "connector", procs.fallback_reason
    for name, up in iflinks.states().items():
        hub.set_state(Kind.INTERFACE, name, up)
    for name, value in files.values().items():
        hub.set_state(Kind.FILE, name, value)
    for name, up in procs.states().items():
        hub.set_state(Kind.PROCESS, name, up)
    tracking = hub.add_instance(inst.name, specs, base_priority=inst.priority)
    now = time.monotonic_ns()
    for event in tracking.initial_events():
        machine.handle(now, event)
    machine.handle(now, Startup())
    scripts.start()

    def ours():
        return FAULT if machine.state is State.FAULT else machine.effective_priority

    async def link(ipr, index, state):
        await ipr.link("set", index=index, state=state)

    plain, rev, zero = (os.path.join(world.dir, n) for n in ("plain", "rev", "zero"))
    eth = {n: links[n].ifindex for n in links}
    port = {n: links[n].port_ifindex for n in links}
    up_is = lambda name, up: (lambda: iflinks.up(name) is up)          # noqa: E731
    value_is = lambda name, v: (lambda: files.value(name) == v)        # noqa: E731
    count_is = lambda name, n: (lambda: procs.count(name) == n)        # noqa: E731
    # (what, action, our tracker has seen it, keepalived's log marker, expected by hand)
    steps = [
        ("start: eth1 +10, chk +3, p_quorum -15", None,
         lambda: scripts.state("chk") is ScriptState.OK, r"VRRP_Script\(chk\) succeeded", 98),
        ("eth1 down", lambda: link(node, eth["eth1"], "down"), up_is("eth1", False),
         r"Netlink reports eth1 down", 88),
        ("eth2 carrier lost (weight -20 reverse)", lambda: link(switch, port["eth2"], "down"),
         up_is("eth2", False), r"Netlink reports eth2 down", 108),
        ("eth2 carrier back", lambda: link(switch, port["eth2"], "up"), up_is("eth2", True),
         r"Netlink reports eth2 up", 88),
        ("eth1 up", lambda: link(node, eth["eth1"], "up"), up_is("eth1", True),
         r"Netlink reports eth1 up", 98),
        ("eth3 down: it carries a VIP, so weight 0", lambda: link(node, eth["eth3"], "down"),
         up_is("eth3", False), r"Netlink reports eth3 down", FAULT),
        ("eth3 up", lambda: link(node, eth["eth3"], "up"), up_is("eth3", True),
         r"Netlink reports eth3 up", 98),
        ("plain = '  0x3 apples' (x5)", lambda: _write(plain, "  0x3 apples\n"),
         value_is("f_plain", 3), None, 113),
        ("rev = 4 (x2 reverse)", lambda: _write(rev, "4"), value_is("f_rev", 4), None, 105),
        ("plain = -100: -500 is FAULT", lambda: _write(plain, "-100\n"),
         value_is("f_plain", -100), None, FAULT),
        ("plain deleted: 0", lambda: os.unlink(plain), value_is("f_plain", 0), None, 90),
        ("zero = 1 (weight 0)", lambda: _write(zero, "1\n"), value_is("f_zero", 1), None, FAULT),
        ("zero = 0", lambda: _write(zero, "0\n"), value_is("f_zero", 0), None, 90),
        ("plain = 060 (octal 48, x5 = 240)", lambda: _write(plain, "060"),
         value_is("f_plain", 48), None, 254),
        ("plain = 0", lambda: _write(plain, "0"), value_is("f_plain", 0), None, 90),
        ("p_one starts (+7)", lambda: world.start("one"), count_is("p_one", 1),
         r"Quorum gained for tracked process p_one", 97),
        ("one p_quorum process: no quorum yet", lambda: world.start("two.1", "two"),
         count_is("p_quorum", 1), None, 97),
        ("second p_quorum process: quorum", lambda: world.start("two.2", "two"),
         count_is("p_quorum", 2), r"Quorum gained for tracked process p_quorum", 112),
        ("p_one killed", lambda: world.kill("one"), count_is("p_one", 0),
         r"Quorum lost for tracked process p_one", 105),
        ("a p_quorum process killed", lambda: world.kill("two.1"), count_is("p_quorum", 1),
         r"Quorum lost for tracked process p_quorum", 90),
        ("chk fails (-3)", lambda: os.unlink(world.path("flag")),
         lambda: scripts.state("chk") is ScriptState.KO, r"VRRP_Script\(chk\) failed", 87),
        ("eth0, our own interface, down", lambda: link(node, eth["eth0"], "down"),
         up_is("eth0", False), r"Netlink reports eth0 down", FAULT),
        ("eth0 up", lambda: link(node, eth["eth0"], "up"), up_is("eth0", True),
         r"Netlink reports eth0 up", 87),
    ]
    results = []
    try:
        for what, action, seen, marker, expected in steps:
            faults = view.faults("VI_1")
            marks = view.count(marker) if marker and action is not None else 0
            since = time.time()
            if action is not None:
                done = action()
                if asyncio.iscoroutine(done):
                    await done
            await until(seen, "fastvrrp: " + what)
            theirs = await view.settled("VI_1", 51, since, faults, marker, marks)
            results.append((what, expected, ours(), theirs))
    finally:
        await scripts.stop()
        await procs.stop()
        files.stop()
        await iflinks.stop()
        node.close()
        switch.close()
    table = "\n".join("%-45s expected %-6s fastvrrp %-6s keepalived %s" % r for r in results)
    assert all(e == o == t for _w, e, o, t in results), "\n" + table
