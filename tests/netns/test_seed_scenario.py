"""The seed scenario (issue 4, first test bullet; DESIGN.md "The reference scenario").

The seed's keepalived.conf (script path and VIP substituted, nothing else) and
check script run on two lab hosts with nginx, a client requesting the VIP:
1. start: the VIP on the master, the client gets the master's page;
2. nginx stopped on the master: the check script restarts it, the master keeps
   the VIP (sampled over two script intervals), the client gets the master;
3. the master powered off: the backup takes the VIP and serves;
4. the master back: it preempts (100 + 2 beats 99 + 2) and serves;
and the failure case: nginx cannot be restarted, the check script stops the
master's daemon, the VIP moves to the backup.

Each runs with keepalived in both roles (which proves the harness) and with
fastvrrp in one or both roles.  The first part
needs no privileges: the seed files and what the lab changes in them.
"""

import os
import shutil

import pytest

from fastvrrp.bench import netns
from fastvrrp.bench.seed import (DaemonCommand, SeedError, SeedLab, SeedParams, daemon_command,
                                 master_down_interval, node_texts, read_seed, skew_time,
                                 substitute)


# -- the seed's files and the lab's substitutions (no privileges) -------------
def _lab_texts(role="master"):
    return node_texts(read_seed(), role, script_path="/lab/x/check.sh", vip="10.66.16.130",
                      nginx_cmd="/usr/sbin/nginx -c /lab/x/nginx.conf",
                      kill_cmd="kill $(cat /lab/x/daemon.pid)")


@pytest.mark.parametrize("role", ["master", "backup"])
def test_only_the_script_path_and_vip_change_in_the_config(role):
    original = read_seed()[role].split("\n")
    config, _script, changes = _lab_texts(role)
    lines = config.split("\n")
    assert len(lines) == len(original)
    changed = {c.line for c in changes if "keepalived.conf" in c.file}
    assert [n for n, (a, b) in enumerate(zip(original, lines), 1) if a != b] == sorted(changed)
    assert len(changed) == 2
    by_line = {c.line: c for c in changes if "keepalived.conf" in c.file}
    script_line, vip_line = sorted(by_line)
    assert '"/usr/local/src/check_nginx_pid.sh"' in by_line[script_line].before
    assert '"/lab/x/check.sh"' in by_line[script_line].after
    assert by_line[vip_line].before.strip().startswith("192.168.16.130 #")
    assert by_line[vip_line].after.strip().startswith("10.66.16.130 #")
    assert "定义虚拟ip" in by_line[vip_line].after         # the Chinese comment is kept


def test_check_script_swaps_two_commands_and_keeps_the_rest():
    original = read_seed()["script"].split("\n")
    _config, script, changes = _lab_texts()
    lines = script.split("\n")
    diff = [n for n, (a, b) in enumerate(zip(original, lines), 1) if a != b]
    assert diff == [c.line for c in changes if "check_nginx_pid" in c.file]
    assert len(diff) == 2
    start, stop = (lines[n - 1] for n in diff)
    assert "systemctl" not in script and "killall" not in start + stop.split("#")[0]
    assert start.strip() == "/usr/sbin/nginx -c /lab/x/nginx.conf #重启nginx"
    assert stop.strip().startswith("kill $(cat /lab/x/daemon.pid)")
    assert lines[0] == "#!/bin/bash" and "ps -C nginx --no-header |wc -l" in script


def test_substitute_rejects_text_that_is_not_the_seeds():
    with pytest.raises(SeedError, match="not there"):
        substitute("a\nb\n", [("c", "d")], name="f")
    with pytest.raises(SeedError, match="one non-empty line"):
        substitute("a\nb\n", [("a", "x\ny")], name="f")
    with pytest.raises(SeedError, match="one non-empty line"):
        substitute("a\nb\n", [("", "x")], name="f")


def test_seed_parameters_and_rfc_timers():
    params = SeedParams.from_texts(read_seed())
    assert (params.vrid, params.advert_int, params.script_interval, params.weight) == (66, 1, 2, 2)
    assert params.instance == "VI_1"
    assert (params.effective("master"), params.effective("backup")) == (102, 101)
    # RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256
    assert skew_time(101) == pytest.approx(0.60546875)
    assert master_down_interval(101, 1) == pytest.approx(3.60546875)
    with pytest.raises(SeedError):
        skew_time(0)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(SeedError, match="unknown daemon 'bird'"):
        daemon_command("bird")
    with pytest.raises(SeedError, match="is missing"):
        read_seed(tmp_path)
    with pytest.raises(SeedError, match="first three octets"):
        SeedLab(subnet="10.0.0.0/24")
    with pytest.raises(SeedError, match="bad placeholder"):
        DaemonCommand("x", ("/bin/true", "{nope}")).resolve(config="c")
    assert DaemonCommand("x", ("/bin/d", "-f", "{config}")).resolve(config="/c") == \
        ["/bin/d", "-f", "/c"]


# -- the scenario in namespaces ---------------------------------------------------
def _require(master, backup):
    if os.geteuid() != 0:
        pytest.skip("the seed lab needs root")
    missing = [tool for tool, needed in (("keepalived", "keepalived" in (master, backup)),
                                         ("nginx", True)) if needed and not (
        shutil.which(tool) or os.access("/usr/sbin/" + tool, os.X_OK))]
    if missing:
        if os.environ.get("FASTVRRP_REQUIRE_INTEROP") == "1":
            pytest.fail("%s not installed and FASTVRRP_REQUIRE_INTEROP=1" % " and ".join(missing))
        pytest.skip("%s not installed (make system-deps)" % " and ".join(missing))


def _variant(master, backup):
    marks = [pytest.mark.interop] if "keepalived" in (master, backup) else []
    return pytest.param(master, backup, marks=marks, id="%s-%s" % (master, backup))


SCENARIO = [_variant("keepalived", "keepalived"), _variant("fastvrrp", "keepalived"),
            _variant("keepalived", "fastvrrp"), _variant("fastvrrp", "fastvrrp")]
FAILURE = [_variant("keepalived", "keepalived"), _variant("fastvrrp", "keepalived"),
           _variant("fastvrrp", "fastvrrp")]


def _ok(step):
    assert step.error is None, step.summary()


def _start(lab):
    step = lab.step_start()
    _ok(step)
    assert step.observed["holders"] == {"master"}, step.summary()
    assert step.observed["page"] == "master", step.summary()
    assert step.observed["master_priority"] == 102, step.summary()   # 100 + weight 2


@pytest.mark.netns
@pytest.mark.timeout(150)
@pytest.mark.parametrize("master,backup", SCENARIO)
def test_seed_scenario(master, backup):
    _require(master, backup)
    with SeedLab(master, backup) as lab:
        _start(lab)

        step = lab.step_nginx_restart()
        _ok(step)
        assert step.observed["nginx_restarted"], step.summary()
        samples = step.observed["samples"]
        assert step.observed["sample_span_ms"] >= 2 * 2 * 1000 - 100, step.summary()
        assert len(samples) >= 10 and all(h == {"master"} for h in samples), step.summary()
        assert step.observed["vip_changes"] == [], step.summary()
        assert step.observed["page"] == "master", step.summary()

        step = lab.step_power_off()
        _ok(step)
        assert step.observed["holders"] == {"backup"}, step.summary()
        assert step.observed["page"] == "backup", step.summary()
        assert step.observed["backup_priority"] == 101, step.summary()    # 99 + weight 2

        step = lab.step_master_returns()
        _ok(step)
        assert step.observed["holders"] == {"master"}, step.summary()
        assert step.observed["page"] == "master", step.summary()
        assert step.observed["master_priority"] == 102, step.summary()


@pytest.mark.netns
@pytest.mark.timeout(90)
@pytest.mark.parametrize("master,backup", FAILURE)
def test_seed_check_script_stops_the_daemon_when_nginx_cannot_start(master, backup):
    _require(master, backup)
    with SeedLab(master, backup) as lab:
        _start(lab)
        step = lab.step_nginx_broken()
        _ok(step)
        assert step.observed["daemon_status"] is not None, step.summary()
        assert step.observed["priority0"] is True, step.summary()
        assert step.observed["holders"] == {"backup"}, step.summary()
        assert step.observed["page"] == "backup", step.summary()


@pytest.mark.netns
def test_seed_lab_leaves_nothing_behind():
    _require("none", "none")
    with SeedLab("keepalived", "keepalived") as lab:
        names = lab.lab.namespaces()
        workdir = lab.lab.workdir
        hosts = [node.host.init_pid for node in lab.nodes.values()]
        assert all(netns.exists(n) for n in names) and os.path.isdir(workdir)
    assert not any(netns.exists(n) for n in names)
    assert not any(os.path.exists("/proc/%d" % pid) for pid in hosts)
    if not os.environ.get("FASTVRRP_LAB_KEEP"):
        assert not os.path.exists(workdir)
