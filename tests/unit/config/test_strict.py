"""vrrp_strict / strict_mode as keepalived 2.2.7 applies them (issue 5 point 6).

Strict mode (reference §3.20, keepalived vrrp.c vrrp_complete_instance)
changes values and reports what it changes: the unit tests hold the model to
the values keepalived ends up with and to one diagnostic per change.  The
interop test runs `keepalived -t` and `fastvrrp check` on the same files in a
namespace that has the interface they name: one fastvrrp error for each
keepalived message and the same exit status (unicast peers on a multicast
interface: keepalived 2.2.7 accepts them, fastvrrp warns).
"""

import subprocess

import pytest

from fastvrrp.config import loads

STRICT = "global_defs {\n    vrrp_strict\n}\n"


def _instance(body, name="VI_1", vrid=51, vips=("10.0.0.100/24",)):
    return ("vrrp_instance %s {\n    interface eth0\n    virtual_router_id %d\n%s"
            "    virtual_ipaddress {\n%s    }\n}\n"
            % (name, vrid, "".join("    %s\n" % line for line in body),
               "".join("        %s\n" % v for v in vips)))


# (name, config, keepalived -t messages (substrings, in order), fastvrrp error codes)
CASES = [
    ("everything-reset", STRICT + _instance([
        "state MASTER", "priority 100", "advert_int 1", "version 2", "accept",
        "preempt_delay 5", "garp_lower_prio_repeat 3", "garp_lower_prio_delay 2",
        "lower_prio_no_advert false", "higher_prio_send_advert", "down_timer_adverts 5",
        "authentication {", "    auth_type PASS", "    auth_pass 1111", "}"]),
     ["State MASTER must match being address owner",
      "Strict mode does not support authentication",
      "preempt_delay is incompatible with strict mode",
      "down_timer_adverts is incompatible with strict mode",
      "accept mode for VRRP version 2 does not comply with RFC3768",
      "Strict mode requires no repeat garps",
      "Strict mode requires no repeat garp delay",
      "Strict mode requires no lower priority advert",
      "strict mode requires higher_prio_send_advert to be clear"],
     ["strict-state", "auth-dropped", "strict-preempt-delay", "strict-down-timer",
      "strict-accept", "strict-garp", "strict-garp", "strict-advert", "strict-advert"]),
    ("no-vip", STRICT + _instance(["priority 100"], vips=()),
     ["No VIP specified; at least one is required"], ["no-vip"]),
    ("ipv6-not-link-local", STRICT + _instance(["priority 100", "use_vmac vrrp.53",
                                                "vmac_xmit_base"], vips=("fd00::1",)),
     ["the first IPv6 VIP address must be link local",
      "xmit_base is incompatible with strict mode"],
     ["ipv6-vip-not-link-local", "strict-vmac"]),
    ("rfc-mac", STRICT + _instance(["use_vmac vrrp.53 00:00:5e:00:01:35", "vmac_xmit_base"]),
     ["VMAC MAC address not allowed to be RFC5798 address",
      "xmit_base is incompatible with strict mode"],
     ["bad-value", "strict-vmac"]),
    ("own-mac", STRICT + _instance(["use_vmac vrrp.53 02:11:22:33:44:55"]),
     ["cannot specify MAC address with strict mode"], ["strict-vmac"]),
    ("v3-accept-is-fine", STRICT + _instance(["version 3", "accept"]), [], []),
    ("unicast-on-multicast", STRICT + _instance(["unicast_peer {", "    10.0.0.2", "}"]),
     [], []),
]


def _codes(diags):
    return sorted(d.code for d in diags.errors)


@pytest.mark.parametrize("name,text,ka,codes", CASES, ids=[c[0] for c in CASES])
def test_fastvrrp_reports_one_error_per_strict_change(name, text, ka, codes):
    _config, diags = loads(text, filename="s.conf")
    assert _codes(diags) == sorted(codes), [(d.code, d.message) for d in diags]


def test_strict_mode_values_are_keepalived_s():
    config, _diags = loads(CASES[0][1], filename="s.conf")
    inst = config.instances[0]
    assert inst.strict_mode
    assert inst.state == "BACKUP"                  # MASTER needs priority 255 in strict mode
    assert inst.auth_type is None
    assert inst.preempt_delay_us == 0
    assert inst.down_timer_adverts == 3
    assert inst.accept is False                    # RFC 5798 §6.4.3: VIPs dropped (firewall)
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay_us) == (0, 0)
    assert inst.lower_prio_no_advert is True
    assert inst.higher_prio_send_advert is False


def test_strict_mode_defaults_without_any_override():
    config, diags = loads(STRICT + _instance(["priority 100"]), filename="s.conf")
    inst = config.instances[0]
    assert diags.errors == []
    assert inst.accept is False and inst.lower_prio_no_advert is True
    assert inst.garp_lower_prio_repeat == 0 and inst.owner_ignore_adverts is True


def test_an_owner_keeps_accept_mode_in_strict_mode():
    config, diags = loads(STRICT + _instance(["state MASTER", "priority 255"]),
                          filename="s.conf")
    assert diags.errors == []
    assert config.instances[0].accept is True


def test_strict_mode_per_instance_overrides_the_global():
    text = STRICT + _instance(["strict_mode off", "accept", "version 2"])
    config, diags = loads(text, filename="s.conf")
    assert diags.errors == []
    assert config.instances[0].strict_mode is False and config.instances[0].accept is True


def test_unicast_in_strict_mode_on_a_multicast_interface_warns_only():
    from fastvrrp.config.ast import Diagnostics
    from fastvrrp.config.host import IFF_MULTICAST, Link, Users, check_host
    config, diags = loads(CASES[-1][1], filename="s.conf")
    host = Diagnostics()
    check_host(config, host, links={"eth0": Link("eth0", IFF_MULTICAST, 1)}, users=Users({}, {}),
               path_env="", firewall_probe=lambda ns: None)
    assert [d.code for d in host.errors] == []
    assert [d.code for d in host.warnings] == ["strict-unicast"]


def test_no_accept_is_refused_at_check_when_nftables_cannot_be_used():
    from fastvrrp.config.ast import Diagnostics
    from fastvrrp.config.host import IFF_MULTICAST, Link, Users, check_host
    config, _diags = loads(STRICT + _instance(["priority 100"]), filename="s.conf")
    host = Diagnostics()
    check_host(config, host, links={"eth0": Link("eth0", IFF_MULTICAST, 1)}, users=Users({}, {}),
               path_env="", firewall_probe=lambda ns: "the kernel has no nf_tables support")
    assert [d.code for d in host.errors] == ["no-firewall"]
    assert "the kernel has no nf_tables support" in host.errors[0].message
    # an instance with accept needs no firewall: the probe is not even asked
    config, _diags = loads(_instance(["priority 100"]), filename="s.conf")
    asked = []
    check_host(config, Diagnostics(), links={"eth0": Link("eth0", IFF_MULTICAST, 1)},
               users=Users({}, {}), path_env="", firewall_probe=lambda ns: asked.append(ns))
    assert asked == []


# ------------------------------------------------------------------ against keepalived -t

@pytest.fixture(scope="module")
def node():
    from fastvrrp.bench.lab import Lab
    from engine_lab import require_keepalived
    require_keepalived()
    lab = Lab("fvk")                       # this task's namespace prefix
    try:
        lab.star(("a",))
        yield lab
    finally:
        lab.close()


def _run(lab, argv):
    proc = lab.popen("a", argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=60)
    lab.stop(proc)                         # exited: only forgets it
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.interop
@pytest.mark.parametrize("name,text,ka,codes", CASES, ids=[c[0] for c in CASES])
def test_keepalived_t_and_fastvrrp_check_agree(node, tmp_path, name, text, ka, codes):
    from engine_lab import fastvrrp_path
    from fastvrrp.bench.keepalived_proc import keepalived_path
    path = tmp_path / ("%s.conf" % name)
    path.write_text(text)
    ka_rc, ka_out = _run(node, [keepalived_path(), "-t", "-l", "-f", str(path),
                                "-p", str(tmp_path / "k.pid"), "-r", str(tmp_path / "v.pid"),
                                "-c", str(tmp_path / "c.pid")])
    fv_rc, fv_out = _run(node, [fastvrrp_path(), "check", "-f", str(path)])
    found = [m for m in ka if m in ka_out]
    assert found == ka, ka_out
    fv_errors = [line for line in fv_out.splitlines() if ": error: " in line]
    assert len(fv_errors) == len(ka), fv_out
    assert fv_rc == ka_rc, (ka_out, fv_out)
