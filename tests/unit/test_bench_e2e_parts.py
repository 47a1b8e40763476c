"""The end-to-end bench's pure parts: layout, RFC timers, configs, logs, netlink parsing,
and option checking (no namespaces)."""

import argparse
import socket
import struct

import pytest

from fastvrrp.bench import e2e_lab, failover, startup, steady
from fastvrrp.bench.e2e_lab import (E2EError, Layout, StateLog, config_text,
                                    master_down_interval_ns, skew_time_ns)
from fastvrrp.bench.e2e_vips import parse_addr_messages


# -- layout and timers -------------------------------------------------------------------
def test_layout_places_255_vrids_per_link():
    lay = Layout(600, 1)
    assert lay.links == 3
    assert lay.place(0) == (0, 1)
    assert lay.place(254) == (0, 255)
    assert lay.place(255) == (1, 1)
    assert lay.place(599) == (2, 90)
    assert lay.vip(0) == "10.200.0.1"
    assert lay.vip(599) == "10.200.2.88"
    assert len(set(lay.vips)) == 600 and len(set(lay.names)) == 600
    assert lay.expected_pps == pytest.approx(60000.0)


def test_layout_from_seconds_takes_centiseconds_only():
    assert Layout.from_seconds(10, 0.01).advert_int_cs == 1
    assert Layout.from_seconds(10, 2.5).advert_int_ns == 2_500_000_000
    with pytest.raises(E2EError, match="centiseconds"):
        Layout.from_seconds(10, 0.015)


@pytest.mark.parametrize("n,cs", [(0, 1), (-1, 1), (255 * 200 + 1, 1), (1, 0), (1, 4096)])
def test_layout_rejects_out_of_range_values(n, cs):
    with pytest.raises(E2EError):
        Layout(n, cs)


def test_rfc5798_timers():
    # RFC 5798 §6.1: Skew_Time = (256 - Priority) * Master_Adver_Interval / 256
    assert skew_time_ns(100, 10_000_000) == 156 * 10_000_000 // 256
    # Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time: 36.09375 ms at 10 ms
    assert master_down_interval_ns(100, 10_000_000) == 36_093_750
    assert Layout(1, 1).theory_ms(100) == pytest.approx(36.09375)
    assert Layout(1, 10).theory_ms(100) == pytest.approx(360.9375)
    with pytest.raises(E2EError):
        skew_time_ns(0, 1)


# -- configs -----------------------------------------------------------------------------
def test_configs_read_back_as_the_layout_says():
    from fastvrrp.config import loads
    lay = Layout(300, 1)
    for role, state, prio in (("master", "MASTER", 200), ("backup", "BACKUP", 100)):
        config, diags = loads(config_text(lay, role))
        assert not diags.errors, [str(d) for d in diags.errors]
        assert len(config.instances) == 300
        last = config.instances[-1]
        assert (last.name, last.vrid, last.interface) == ("VI_299", 45, "eth1")
        assert {(i.state, i.priority, i.version, i.advert_int_cs) for i in config.instances} \
            == {(state, prio, 3, 1)}
        assert [str(v.address) for v in last.vips] == ["10.200.1.44"]
        assert config.global_defs.vrrp_garp_master_delay_us == 0
        assert last.garp_master_delay_us == 0


def test_both_roles_differ_only_in_state_priority_and_router_id():
    lay = Layout(3, 10)
    master = config_text(lay, "master").splitlines()
    backup = config_text(lay, "backup").splitlines()
    changed = {(a.strip(), b.strip()) for a, b in zip(master, backup) if a != b}
    assert changed == {("router_id bench-master", "router_id bench-backup"),
                       ("state MASTER", "state BACKUP"), ("priority 200", "priority 100")}


def test_config_rejects_an_unknown_role():
    with pytest.raises(E2EError, match="role"):
        config_text(Layout(1, 1), "client")


# -- the daemon log ----------------------------------------------------------------------
def test_state_log_follows_the_last_state_of_each_instance(tmp_path):
    path = tmp_path / "daemon.log"
    path.write_bytes(b"Wed: (VI_0) Entering BACKUP STATE (init)\n"
                     b"Wed: (VI_1) Entering BACKUP STATE (init)\n"
                     b"Wed: (VI_0) Entering MAS")                       # still being written
    log = StateLog(str(path))
    assert log.states() == {"VI_0": "BACKUP", "VI_1": "BACKUP"}
    with open(path, "ab") as fh:
        fh.write(b"TER STATE\nWed: VRRP_Script(x) succeeded\nWed: (VI_1) Entering FAULT STATE\n")
    assert log.states() == {"VI_0": "MASTER", "VI_1": "FAULT"}
    assert log.transitions() == 4


def test_state_log_of_a_missing_file_is_empty(tmp_path):
    log = StateLog(str(tmp_path / "none.log"))
    assert log.states() == {} and log.transitions() == 0


# -- netlink address notifications -------------------------------------------------------
def _addr_msg(mtype, family, address, *, local=True):
    raw = socket.inet_pton(family, address)
    attr_type = 2 if local else 1
    attr = struct.pack("=HH", 4 + len(raw), attr_type) + raw
    body = struct.pack("=BBBBI", family, 32, 0, 0, 7) + attr
    return struct.pack("=IHHII", 16 + len(body), mtype, 0, 1, 0) + body


def test_parse_addr_messages():
    data = (_addr_msg(20, socket.AF_INET, "10.200.0.1") + _addr_msg(21, socket.AF_INET, "10.200.0.2",
                                                                   local=False)
            + _addr_msg(20, socket.AF_INET6, "fe80::1") + _addr_msg(16, socket.AF_INET, "1.2.3.4"))
    assert parse_addr_messages(data) == [(True, "10.200.0.1"), (False, "10.200.0.2")]
    assert parse_addr_messages(data[:10]) == []                       # truncated: nothing
    assert parse_addr_messages(b"\xff" * 40) == []                    # garbage: nothing


# -- options -----------------------------------------------------------------------------
def _args(module, *argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("module,argv,message", [
    (steady, ["--advert-int", "0.015"], "centiseconds"),
    (steady, ["--duration", "0"], "duration"),
    (steady, ["--instances", "0"], "instances"),
    (steady, ["--daemon", "keepalived", "--compare", "keepalived"], "already"),
    (failover, ["--runs", "0"], "runs"),
    (failover, ["--advert-int", "41"], "advert_int"),
    (startup, ["--runs", "1000"], "runs"),
])
def test_bad_options_give_a_clear_error_before_any_lab(module, argv, message):
    with pytest.raises(SystemExit, match=message):
        module.run(_args(module, *argv), lambda msg: None)


def test_daemon_names():
    assert e2e_lab.daemon_names(_args(steady)) == ["fastvrrp"]
    assert e2e_lab.daemon_names(_args(steady, "--compare", "keepalived")) == \
        ["fastvrrp", "keepalived"]
    assert e2e_lab.daemon_names(_args(steady, "--daemon", "keepalived")) == ["keepalived"]


def test_ratios_skip_what_is_missing():
    result = {"fastvrrp": {"master_cpu_pct": 30.0, "backup_cpu_pct": 10.0},
              "keepalived": {"master_cpu_pct": 60.0, "backup_cpu_pct": 0.0},
              "floor": {"send_cpu_pct": 25.0, "recv_cpu_pct": 5.0}}
    got = steady.ratios(result, "fastvrrp", "keepalived")
    assert got["master_cpu_vs_keepalived"] == 0.5
    assert got["backup_cpu_vs_keepalived"] is None            # keepalived's 0: no ratio
    assert got["master_cpu_vs_floor"] == 1.2
    assert got["backup_cpu_vs_floor"] == 2.0
    assert got["keepalived_master_cpu_vs_floor"] == 2.4
    result["fastvrrp"] = {"error": "did not start"}
    got = steady.ratios(result, "fastvrrp", "keepalived")
    assert got["master_cpu_vs_keepalived"] is None and got["master_cpu_vs_floor"] is None


def test_a_lab_that_cannot_be_built_is_a_one_line_error(monkeypatch):
    from fastvrrp.bench.lab import LabError

    def no_lab(*args, **kwargs):
        raise LabError("the lab needs root (network namespaces, veth, tcpdump)")
    monkeypatch.setattr(steady, "E2ELab", no_lab)
    with pytest.raises(SystemExit, match="steady: the lab needs root"):
        steady.run(_args(steady, "--instances", "1"), lambda msg: None)


def test_run_guard_turns_an_interrupt_into_status_130(capsys):
    with pytest.raises(SystemExit) as exc:
        with e2e_lab.run_guard("steady"):
            raise KeyboardInterrupt
    assert exc.value.code == 130
    assert "interrupted" in capsys.readouterr().err
