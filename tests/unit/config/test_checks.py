"""Semantic checks across objects (checks.py) and host checks (host.py) with
a fake link table, fake users and real files in a temporary directory."""

import os
import stat

import pytest

from fastvrrp.config import loads
from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.host import (ARPHRD_LOOPBACK, IFF_LOOPBACK, IFF_MULTICAST, SC_EXECUTABLE,
                                  SC_INHIBIT, SC_INSECURE, SC_ISSCRIPT, SC_NOTFOUND, SC_SYSTEM,
                                  Link, Users, check_host, path_security, script_flags)
from fastvrrp.config.model import Command

ETHER = 1


def links(*names, flags=IFF_MULTICAST):
    out = {n: Link(n, flags, ETHER) for n in names}
    out["lo"] = Link("lo", IFF_LOOPBACK, ARPHRD_LOOPBACK)
    return out


def instance(name, vrid, iface="eth0", extra=""):
    return ("vrrp_instance %s {\n interface %s\n virtual_router_id %d\n"
            " virtual_ipaddress {\n  10.0.%d.1\n }\n%s}\n" % (name, iface, vrid, vrid, extra))


def codes(diags, severity="error"):
    return [d.code for d in diags if d.severity == severity]


# ---------------------------------------------------------------- VRID conflicts

def test_same_vrid_same_interface_is_an_error_on_the_second():
    config, diags = loads(instance("A", 7) + instance("B", 7), filename="c.conf")
    assert [(d.pos.line, d.message) for d in diags.errors] == [
        (10, "A and B both use VRID 7 with IPv4 on interface eth0 (A is at c.conf:1:1)")]


@pytest.mark.parametrize("second", [
    instance("B", 7, "eth1"),                                        # other interface
    "vrrp_instance B {\n interface eth0\n virtual_router_id 7\n"
    " virtual_ipaddress {\n  fe80::1\n }\n}\n",                     # other family
    instance("B", 7, extra=" mcast_dst_ip 224.0.0.19\n"),            # other group
])
def test_same_vrid_allowed_apart(second):
    config, diags = loads(instance("A", 7) + second)
    assert diags.errors == []
    assert len(config.instances) == 2


def test_unicast_same_vrid_conflicts_only_with_a_common_peer():
    peers = " unicast_src_ip 10.9.0.1\n unicast_peer {\n  %s\n }\n"
    ok, diags = loads(instance("A", 7, extra=peers % "10.9.0.2")
                      + instance("B", 7, extra=peers % "10.9.0.3"))
    assert diags.errors == []
    bad, diags = loads(instance("A", 7, extra=peers % "10.9.0.2")
                       + instance("B", 7, extra=peers % "10.9.0.2"))
    assert codes(diags) == ["duplicate-vrid"]


def test_vmac_name_used_twice():
    config, diags = loads(instance("A", 1, extra=" use_vmac vmx\n")
                          + instance("B", 2, extra=" use_vmac vmx\n"))
    assert codes(diags) == ["duplicate-vmac"]
    assert config.instances[0].use_vmac.ifname == "vmx"


def test_default_vmac_name_and_mac_with_vrid():
    config, diags = loads(instance("A", 9, extra=" use_vmac 02:11:22:33:44\n"))
    assert diags.errors == []
    vmac = config.instances[0].use_vmac
    assert (vmac.ifname, vmac.mac) == ("vrrp.9", "02:11:22:33:44:09")


def test_track_group_members_must_exist():
    config, diags = loads("track_group TG {\n group {\n  A\n  NOPE\n }\n}\n"
                          "static_ipaddress {\n 10.1.1.1/24 dev eth0 track_group TG\n"
                          " 10.1.1.2/24 dev eth0 track_group OTHER\n}\n" + instance("A", 1))
    assert [(d.code, d.pos.line) for d in diags.errors] == \
        [("undefined-name", 9), ("undefined-instance", 1)]
    assert [a.track_group for a in config.static_addresses] == ["TG", None]


def test_unused_script_is_a_warning():
    config, diags = loads('vrrp_script s {\n script "/bin/true"\n}\n' + instance("A", 1))
    assert codes(diags, "warning") == ["unused-script"]
    assert diags.errors == []


# ---------------------------------------------------------------- host: interfaces

def test_missing_interfaces_are_reported_where_they_are_named():
    config, diags = loads(instance("A", 1, extra=" track_interface {\n  eth5\n }\n"),
                          filename="h.conf")
    check_host(config, diags, links=links("eth0"), users=Users({}), path_env="")
    assert [(d.pos.line, d.message) for d in diags.errors] == [
        (8, "interface eth5 (track_interface of vrrp_instance A) doesn't exist")]


def test_dynamic_interfaces_allows_missing_ones():
    config, diags = loads("global_defs {\n dynamic_interfaces\n}\n" + instance("A", 1, "eth7"))
    check_host(config, diags, links=links("eth0"), users=Users({}), path_env="")
    assert diags.errors == []


def test_loopback_and_non_multicast_interfaces():
    config, diags = loads(instance("A", 1, "lo") + instance("B", 2, "tun0"))
    table = links()
    table["tun0"] = Link("tun0", 0, 65534)
    check_host(config, diags, links=table, users=Users({}), path_env="")
    assert codes(diags) == ["loopback-interface", "no-multicast"]


def test_missing_net_namespace_skips_host_checks(tmp_path):
    config, diags = loads("net_namespace nosuchns\n" + instance("A", 1, "eth9"))
    report = check_host(config, diags, netns_dir=str(tmp_path))
    assert report.skipped and diags.errors == []
    assert codes(diags, "warning") == ["host-checks-skipped"]


# ---------------------------------------------------------------- host: scripts

def make_script(path, mode=0o755):
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def root_dir(tmp_path):
    # tmp_path's parents are root owned and not world writable on this host
    # (/tmp is sticky): a safe place for "secure" scripts when run as root.
    if os.geteuid() != 0:
        pytest.skip("ownership checks need root-owned files")
    d = tmp_path / "bin"
    d.mkdir()
    os.chmod(d, 0o755)
    return d


def test_script_flags_system_notfound_executable(root_dir):
    assert script_flags(Command(("</dev/tcp/127.0.0.1/80",)), 0, 0, False, "")[0] == SC_SYSTEM
    flags, why = script_flags(Command((str(root_dir / "nope"),)), 0, 0, False, "")
    assert flags == SC_NOTFOUND and "cannot be accessed" in why
    ok = make_script(root_dir / "ok")
    assert script_flags(Command((ok,)), 0, 0, False, "")[0] == SC_ISSCRIPT | SC_EXECUTABLE
    plain = make_script(root_dir / "plain", 0o644)
    flags, why = script_flags(Command((plain,)), 0, 0, False, "")
    assert flags == SC_ISSCRIPT and "not executable" in why


def test_script_found_on_path(root_dir):
    make_script(root_dir / "mycheck")
    assert script_flags(Command(("mycheck", "-x")), 0, 0, False,
                        "/nonexistent:" + str(root_dir))[0] & SC_EXECUTABLE
    assert script_flags(Command(("mycheck",)), 0, 0, False, "/nonexistent")[0] == SC_NOTFOUND


def test_world_writable_script_is_insecure(root_dir):
    bad = make_script(root_dir / "bad", 0o777)
    flags, why = path_security(bad, security=False)
    assert flags == SC_INSECURE and "writable by non-root users" in why
    flags, _ = path_security(bad, security=True)
    assert flags == SC_INSECURE | SC_INHIBIT
    os.chmod(root_dir, 0o777)     # an open directory without the sticky bit
    good = make_script(root_dir / "good")
    assert path_security(good, True)[0] == SC_INSECURE | SC_INHIBIT
    os.chmod(root_dir, 0o777 | stat.S_ISVTX)
    assert path_security(good, True) == (0, "")


def seeded(script_path, security=""):
    head = ("global_defs {\n%s}\nvrrp_script chk {\n script \"%s\"\n weight 2\n}\n"
            % (security, script_path))
    return loads(head + instance("A", 1, extra=" track_script {\n  chk\n }\n"))


def test_security_violation_without_enable_script_security(root_dir):
    config, diags = seeded(make_script(root_dir / "chk"))
    check_host(config, diags, links=links("eth0"), users=Users({}), path_env="")
    assert codes(diags) == ["script-security"]
    assert diags.errors[0].pos.line == 4


def test_script_security_needs_a_default_user(root_dir):
    path = make_script(root_dir / "chk")
    config, diags = seeded(path, " enable_script_security\n")
    check_host(config, diags, links=links("eth0"), users=Users({}), path_env="")
    assert codes(diags) == ["script-disabled"]
    assert "no default script user" in diags.errors[0].message
    config, diags = seeded(path, " enable_script_security\n script_user root\n")
    check_host(config, diags, links=links("eth0"), users=Users({"root": (0, 0)}), path_env="")
    assert list(diags) == []


def test_missing_track_script_is_an_error_missing_notify_a_warning(root_dir):
    config, diags = seeded(str(root_dir / "absent"))
    config2, diags2 = loads(instance("A", 1, extra=' notify_master "%s"\n'
                                     % (root_dir / "absent")))
    for c, d in ((config, diags), (config2, diags2)):
        check_host(c, d, links=links("eth0"), users=Users({}), path_env="")
    assert codes(diags) == ["script-disabled"]
    assert codes(diags2) == [] and codes(diags2, "warning") == ["script-disabled"]


def test_unknown_script_user(root_dir):
    path = make_script(root_dir / "chk")
    config, diags = loads('vrrp_script chk {\n script "%s"\n user nobody_here\n}\n' % path
                          + instance("A", 1, extra=" track_script {\n  chk\n }\n"))
    check_host(config, diags, links=links("eth0"), users=Users({}), path_env="")
    assert [d.message for d in diags.errors] == [
        "vrrp_script chk: user/group nobody_here does not exist - the script is disabled"]


def test_no_instances_no_script_checks():
    config, diags = loads('vrrp_script chk {\n script "/bin/true"\n}\n')
    check_host(config, diags, links=links(), users=Users({}), path_env="")
    assert diags.errors == []
    assert isinstance(diags, Diagnostics)
