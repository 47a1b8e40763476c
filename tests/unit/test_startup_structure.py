"""Issue 6 (start-up): what a daemon start loads and does, structurally.

No timings here (those are `fastvrrp bench startup`): which modules a start
imports, the lazy pyroute2 package, the raw nftables table query that spares a
start pyroute2's nftables sockets, the GC and logging switches the process
shell sets for the start and restores, the socket pool's per-instance
shortcuts, the stop's single drain and the engine's source-address params.
"""

import asyncio
import dataclasses
import errno
import gc
import signal
import ipaddress
import logging
import os
import secrets
import struct
import subprocess

import pytest

from fastvrrp.daemon import instance as instance_mod
from fastvrrp.daemon import process, sock_pool
from fastvrrp.daemon.engine import Engine
from fastvrrp.daemon.options import parse
from fastvrrp.host import firewall
from freshpy import START_CONFIG as CONFIG, fresh_python


# -- what a start imports -----------------------------------------------------------------

def test_a_daemon_start_imports_no_test_tools_and_only_parts_of_pyroute2():
    # everything the daemon imports before its first VIP: the CLI, the process
    # shell, the config reader (on a real config), the engine and the host modules
    modules = fresh_python(
        "import json, sys\n"
        "from fastvrrp import cli\n"
        "from fastvrrp.daemon import process, engine, configload\n"
        "from fastvrrp.config import loads\n"
        "config, diags = loads(%r)\n"
        "assert not diags.errors, diags.errors\n"
        "from fastvrrp.daemon.convert import vet_scripts\n"
        "vet_scripts(config)\n"
        "print(json.dumps(sorted(sys.modules)))\n" % CONFIG)
    for banned in ("scapy", "hypothesis", "pytest"):
        assert not [m for m in modules if m == banned or m.startswith(banned + ".")], banned
    # pyroute2's package __init__ would bring these (IPDB, NDB, nftables, ...)
    for heavy in ("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.nftables", "pyroute2.ipvs",
                  "pyroute2.netlink.nl80211", "pyroute2.netlink.generic.wireguard"):
        assert heavy not in modules, heavy
    # dumps, lookups and notifications are nlsocket's own (test_startup_rtnl.py)
    assert "pyroute2.iproute.linux" not in modules
    assert "fastvrrp.track.scripts" not in modules  # no vrrp_script: no script tracker


def test_lazy_pyroute2_loads_submodules_alone_and_the_real_init_on_a_package_name():
    got = fresh_python(
        "import json, sys\n"
        "import fastvrrp.host\n"
        "import pyroute2\n"
        "out = {'lazy': fastvrrp.host.lazy_pyroute2()}\n"
        "from pyroute2.netlink.rtnl import RTM_NEWADDR\n"
        "from pyroute2 import netns\n"
        "out['submodule'] = netns.__name__\n"
        "out['ndb_before'] = 'pyroute2.ndb' in sys.modules\n"
        "from pyroute2 import IPRoute\n"
        "import pyroute2.iproute\n"
        "out['ndb_after'] = 'pyroute2.ndb' in sys.modules\n"
        "out['same_class'] = IPRoute is pyroute2.iproute.IPRoute\n"
        "out['same_module'] = sys.modules['pyroute2'] is pyroute2\n"
        "try:\n"
        "    pyroute2.no_such_name\n"
        "    out['missing'] = 'no error'\n"
        "except AttributeError as exc:\n"
        "    out['missing'] = str(exc)\n"
        "print(json.dumps(out))\n")
    assert got["lazy"] is True
    assert got["submodule"] == "pyroute2.netns"
    assert got["ndb_before"] is False
    assert got["ndb_after"] is True
    assert got["same_class"] is True and got["same_module"] is True
    assert "no_such_name" in got["missing"]


def test_lazy_pyroute2_leaves_an_already_imported_pyroute2_alone():
    got = fresh_python(
        "import json, sys\n"
        "import pyroute2\n"
        "real = sys.modules['pyroute2']\n"
        "import fastvrrp.host\n"
        "print(json.dumps({'lazy': fastvrrp.host.lazy_pyroute2(),\n"
        "                  'same': sys.modules['pyroute2'] is real,\n"
        "                  'full': hasattr(real, 'NDB')}))\n")
    assert got == {"lazy": False, "same": True, "full": True}


# -- the nftables table query -------------------------------------------------------------

def _nlmsg(kind, seq, payload=b""):
    return struct.pack("=IHHII", 16 + len(payload), kind, 0, seq, 0) + payload


def _nlerror(seq, code):
    return _nlmsg(2, seq, struct.pack("=i", -code) + b"\0" * 16)


def test_table_answers_read_enoent_data_acks_and_other_errors():
    answers = {}
    data = (_nlerror(1, errno.ENOENT)                        # no table in this family
            + _nlmsg((10 << 8) | 0, 2, b"\x02\x00\x00\x00") + _nlerror(2, 0)   # table, ack
            + _nlerror(3, errno.EPERM))                      # cannot tell
    firewall._table_answers(data, answers)
    assert answers == {1: False, 2: True, 3: None}


def test_table_request_names_the_table_for_the_family():
    msg = firewall._table_request(7, 10, "fastvrrp")
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", msg)
    assert (length, kind, seq) == (len(msg), (10 << 8) | 1, 7)
    assert flags & 0x1 and flags & 0x4                       # NLM_F_REQUEST | NLM_F_ACK
    assert msg[16] == 10                                     # nfgenmsg family: NFPROTO_IPV6
    assert b"fastvrrp\0" in msg[20:]
    assert len(msg) % 4 == 0


@pytest.mark.netns
def test_tables_present_and_cleanup_stale_follow_the_kernel():
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    name = "fvs" + secrets.token_hex(4)
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        code = (
            "import asyncio, json\n"
            "from fastvrrp.host.firewall import AcceptModeFirewall, tables_present\n"
            "async def main():\n"
            "    out = {'empty': tables_present()}\n"
            "    fw = AcceptModeFirewall()\n"
            "    out['hold'] = await fw.hold('VI_1', ['10.1.1.1'])\n"
            "    out['held'] = tables_present()\n"
            "    out['held6'] = tables_present(families=(6,))\n"
            "    out['other'] = tables_present('other')\n"
            "    out['cleanup'] = await AcceptModeFirewall().cleanup_stale()\n"
            "    out['after'] = tables_present()\n"
            "    out['cleanup_nothing'] = await AcceptModeFirewall().cleanup_stale()\n"
            "    print(json.dumps(out))\n"
            "asyncio.run(main())\n")
        got = fresh_python(code, netns=name)
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=30, check=False)
    assert got == {"empty": False, "hold": None, "held": True, "held6": False, "other": False,
                   "cleanup": None, "after": False, "cleanup_nothing": None}


# -- the process shell's switches ---------------------------------------------------------

def test_run_keeps_the_gc_off_and_log_records_lean_while_starting_then_restores(tmp_path,
                                                                                 monkeypatch):
    seen = {}

    def fake_load(path, config_id, all_config=False):
        seen["gc"] = gc.isenabled()
        seen["threads"] = logging.logThreads
        seen["srcfile"] = logging._srcfile
        from fastvrrp.config.ast import Diagnostics, Pos
        diags = Diagnostics()
        diags.error(Pos(path, 1, 1), "stop here", "config-not-found")
        return None, diags

    monkeypatch.setattr(process, "load_config", fake_load)
    before = (gc.isenabled(), logging.logThreads, logging.logProcesses,
              logging.logMultiprocessing, logging._srcfile)
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONFIG)
    options = parse(["-n", "-f", str(conf), "-p", str(tmp_path / "p.pid"),
                     "-r", str(tmp_path / "r.pid"), "-c", str(tmp_path / "c.pid")])
    saved = {sig: signal.getsignal(sig) for sig in process.EARLY_IGNORED}   # run() ignores them
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        assert process.run(options, argv=["fastvrrp"]) == process.EXIT_NO_CONFIG
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        os.umask(umask)
    assert seen == {"gc": False, "threads": False, "srcfile": None}
    assert (gc.isenabled(), logging.logThreads, logging.logProcesses,
            logging.logMultiprocessing, logging._srcfile) == before


def test_engine_turns_the_gc_on_once_the_start_up_burst_is_done():
    from fastvrrp.config.model import Config

    async def scenario():
        engine = Engine(Config())
        loop = asyncio.get_running_loop()
        engine.after.add(lambda: None)             # deferred work: the burst is not over
        engine._settle_when_quiet(loop.time() + 5)
        waiting = gc.isenabled()
        engine.after.flush()
        engine._settle_when_quiet(loop.time() + 5)
        return waiting, gc.isenabled(), gc.get_freeze_count()

    was = gc.isenabled()
    gc.disable()
    try:
        waiting, enabled, frozen = asyncio.run(scenario())
    finally:
        from fastvrrp.daemon import engine as engine_mod
        engine_mod._thaw_memory()
        (gc.enable if was else gc.disable)()
    assert waiting is False
    assert enabled is True and frozen > 0


def test_a_stop_before_the_settle_keeps_the_gc_off_until_the_shell_is_done():
    from fastvrrp.config.model import Config

    async def scenario():
        engine = Engine(Config())
        engine._stopped = True                     # SIGTERM came during the start-up burst
        engine._settle_when_quiet(asyncio.get_running_loop().time() + 5)
        return gc.isenabled(), gc.get_freeze_count()

    was = gc.isenabled()
    gc.disable()
    try:
        enabled, frozen = asyncio.run(scenario())
    finally:
        (gc.enable if was else gc.disable)()
    assert enabled is False and frozen == 0


# -- per-instance shortcuts ---------------------------------------------------------------

def test_socket_pool_keys_an_ifindex_without_asking_the_kernel_its_name(monkeypatch):
    def no_lookup(iface):
        raise AssertionError("resolve_interface(%r) called" % (iface,))

    monkeypatch.setattr(sock_pool, "resolve_interface", no_lookup)
    assert sock_pool._pool_ifindex(7) == 7
    with pytest.raises(AssertionError):
        sock_pool._pool_ifindex("eth0")          # a name is still resolved
    with pytest.raises(AssertionError):
        sock_pool._pool_ifindex(True)            # a bool is no ifindex


def test_socket_pool_checks_each_target_once_and_still_refuses_bad_ones(monkeypatch):
    calls = []
    real = sock_pool.check_address

    def counting(value, family, what):
        calls.append(value)
        return real(value, family, what)

    monkeypatch.setattr(sock_pool, "check_address", counting)
    pool = sock_pool.SocketPool()
    assert pool._target("224.0.0.18", 4, "multicast group") == "224.0.0.18"
    assert pool._target("224.0.0.18", 4, "multicast group") == "224.0.0.18"
    assert calls == ["224.0.0.18"]
    with pytest.raises(ValueError, match="not an IPv6 address"):
        pool._target("224.0.0.18", 6, "multicast group")
    with pytest.raises(TypeError):
        pool._target(["not", "hashable"], 4, "unicast source")


def test_engine_params_with_a_source_equal_a_validated_replace():
    from fastvrrp.vrrp.params import InstanceParams
    params = InstanceParams(name="VI_1", vrid=7, version=3, priority=150, advert_int_cs=1,
                            vips=(ipaddress.ip_address("10.200.0.1"),), garp_master_repeat=3)

    class _Plan:
        family = 4

    class _Rt:
        pass

    plan = _Plan()
    plan.params = params
    rt = _Rt()
    rt.plan, rt.src = plan, "10.0.0.1"
    got = Engine._params(None, rt)
    assert got == dataclasses.replace(params, primary_address=ipaddress.ip_address("10.0.0.1"))
    assert params.primary_address is None            # the plan's own params untouched
    rt.src = None
    assert Engine._params(None, rt) is params
    rt.src = "fe80::1"                               # another family: the validating path
    with pytest.raises(ValueError, match="mix IPv4 and IPv6"):
        Engine._params(None, rt)


# -- the stop's drain ---------------------------------------------------------------------

def test_drain_all_waits_for_every_queue_and_for_work_submitted_meanwhile():
    async def scenario():
        gates = [asyncio.Event() for _ in range(3)]
        done = []
        queues = [instance_mod.HostQueue("VI_%d" % i) for i in range(3)]

        def job(i):
            async def run():
                await gates[i].wait()
                done.append(i)
                if i == 0:               # more work for queue 2, submitted while draining
                    queues[2].submit(follow_up)
            return run

        async def follow_up():
            done.append("follow-up")

        for i, q in enumerate(queues):
            q.submit(job(i))
        drain = asyncio.ensure_future(instance_mod.drain_all(queues))
        await asyncio.sleep(0)
        for gate in (gates[2], gates[1]):
            gate.set()
            await asyncio.sleep(0)
        early = drain.done()
        gates[0].set()
        await asyncio.wait_for(drain, 5)
        return early, done, [q.pending for q in queues]

    early, done, pending = asyncio.run(scenario())
    assert early is False
    assert sorted(map(str, done)) == ["0", "1", "2", "follow-up"]
    assert done.index("follow-up") > done.index(0)
    assert pending == [0, 0, 0]
