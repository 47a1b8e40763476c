"""`fastvrrp check` / `fastvrrp -t`: options, output formats and keepalived's
config-test exit status (0 ok, 4 cannot run, 5 config errors, 6 scripts run
without enable_script_security)."""

import json
import subprocess
import sys

import pytest

from fastvrrp import cli
from fastvrrp.config.ast import Diagnostics, Pos
from fastvrrp.config.check import exit_status, main, parse_args

from paths import DATA

SEED = DATA / "seed" / "keepalived.conf"
BROKEN = DATA / "config" / "broken"

GOOD = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.1/24
    }
}
"""


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(GOOD)
    return str(path)


def test_clean_config_exits_0_silently(good, capsys):
    assert main(["-f", good, "--no-host"]) == 0
    assert capsys.readouterr() == ("", "")


def test_errors_exit_5_with_file_line_col(capsys):
    path = str(BROKEN / "priority_out_of_range.conf")
    assert main(["-f", path, "--no-host"]) == 5
    err = capsys.readouterr().err.splitlines()
    assert err == ["%s:4:14: error: (VI_1) priority: number '300' outside range [1, 255] - "
                   "using the default 100" % path, "1 error(s), 0 warning(s)"]


def test_warnings_only_exit_0(capsys):
    assert main(["-f", str(BROKEN / "unknown_keyword.conf"), "--no-host"]) == 0
    assert "did you mean 'priority'?" in capsys.readouterr().err


def test_unreadable_file_exits_4(tmp_path, capsys):
    assert main(["-f", str(tmp_path / "missing.conf"), "--no-host"]) == 4
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--bogus"], ["-f"], ["--use-file="]])
def test_bad_command_line_exits_4(argv, capsys):
    assert main(argv) == 4
    assert "usage: fastvrrp check" in capsys.readouterr().err


def test_keepalived_flags_are_accepted():
    opts = parse_args(["-l", "-D", "-n", "-S", "7", "--log-facility=local0", "-p", "/run/x.pid",
                       "--config-test=/tmp/log", "-i", "high", "--use-file=/etc/k.conf", "-e"])
    assert (opts["file"], opts["config_id"], opts["all_config"], opts["host"]) == \
        ("/etc/k.conf", "high", True, True)
    assert parse_args(["-fmy.conf", "-ilow"])["file"] == "my.conf"


def test_fastvrrp_t_is_the_config_test(tmp_path):
    # keepalived's spelling: host checks on (dynamic_interfaces: eth0 need not exist)
    path = tmp_path / "k.conf"
    path.write_text("global_defs {\n dynamic_interfaces\n}\n" + GOOD)
    assert cli.main(["-t", "-f", str(path), "-l", "-D"]) == 0
    path.write_text("global_defs {\n dynamic_interfaces\n}\n"
                    + (BROKEN / "missing_vrid.conf").read_text())
    assert cli.main(["-t", "-f", str(path), "-l"]) == 5


def test_json_lines(capsys):
    path = str(BROKEN / "duplicate_vip.conf")
    assert main(["-f", path, "--no-host", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    (obj,) = [json.loads(line) for line in out.splitlines()]
    assert (obj["file"], obj["line"], obj["col"], obj["severity"], obj["code"]) == \
        (path, 6, 9, "warning", "duplicate-vip")


def test_dump_is_the_normalised_model(capsys):
    assert main(["-f", str(SEED), "--no-host", "--dump"]) == 0
    model = json.loads(capsys.readouterr().out)
    (inst,) = model["instances"]
    assert (inst["name"], inst["vrid"], inst["priority"], inst["state"]) == \
        ("VI_1", 66, 100, "MASTER")
    assert inst["vips"][0]["address"] == "192.168.16.130"
    assert inst["auth_pass"] == "********"
    assert inst["identity"] == [66, "ens33", 4, None]
    assert inst["pos"].endswith("keepalived.conf:8:1")
    assert model["scripts"]["chk_http_port"]["interval_us"] == 2_000_000


def test_json_and_dump_together_is_one_document(capsys):
    assert main(["-f", str(BROKEN / "bad_vip.conf"), "--no-host", "--json", "--dump"]) == 5
    doc = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in doc["diagnostics"]] == ["bad-address"]
    assert len(doc["config"]["instances"][0]["vips"]) == 1


def test_exit_status_rules():
    def diags(*codes):
        d = Diagnostics()
        for code in codes:
            d.error(Pos("f", 1, 1), "m", code)
        return d
    assert exit_status(Diagnostics()) == 0
    assert exit_status(diags("bad-value")) == 5
    assert exit_status(diags("script-security")) == 6
    assert exit_status(diags("script-security", "bad-value")) == 6
    # keepalived stops before its script checks when an interface is missing
    assert exit_status(diags("script-security", "no-such-interface")) == 5
    assert exit_status(diags("config-unreadable")) == 4


def test_host_checks_find_scripts_run_without_security(tmp_path):
    # dynamic_interfaces: the interface need not exist; /bin/true does and runs as root
    path = tmp_path / "k.conf"
    path.write_text("global_defs {\n dynamic_interfaces\n}\n"
                    'vrrp_script chk {\n script "/bin/true"\n}\n'
                    + GOOD.replace("    virtual_ipaddress", "    track_script {\n        chk\n"
                                   "    }\n    virtual_ipaddress"))
    assert main(["-f", str(path)]) == 6
    path.write_text(path.read_text().replace(" dynamic_interfaces\n",
                                             " dynamic_interfaces\n enable_script_security\n"
                                             " script_user root\n"))
    assert main(["-f", str(path)]) == 0


def test_no_host_does_not_import_pyroute2(good):
    code = ("import sys; from fastvrrp.config.check import main; rc = main(['--no-host', '-f', "
            "%r]); print(rc, 'pyroute2' in sys.modules)" % good)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
