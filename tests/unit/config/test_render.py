"""The renderer: model -> text -> model is the identity (corpus files and
random models), and random byte mutations of the corpus never make the
read -> build -> render pipeline raise: they only ever give diagnostics."""

import glob
import string
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastvrrp.config import loads
from fastvrrp.config.model import (Command, Config, GlobalDefs, IpAddress, TrackInterface,
                                   TrackScript, UnicastPeer, VrrpInstance, VrrpScript)
from fastvrrp.config.render import render, seconds, word
from paths import CORPUS as CORPUS_DIR

CORPUS = sorted(glob.glob(str(CORPUS_DIR / "**" / "keepalived.conf*"), recursive=True))


def reparse(config):
    text = render(config)
    again, diags = loads(text, config_id="high")
    return text, again, diags


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.rsplit("/", 2)[-1])
def test_corpus_round_trip(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        source = fh.read()
    config, diags = loads(source, config_id="high", filename=path)
    text, again, diags2 = reparse(config)
    assert again == config, text
    # only the deprecated `or` route form survives as an error: the model keeps it
    assert {d.code for d in diags2.errors} <= {"deprecated"}
    assert render(again) == text


def test_rendered_seed_text():
    config, _ = loads("vrrp_script chk {\n script /bin/chk\n interval 2\n weight 2\n}\n"
                      "vrrp_instance VI_1 {\n state MASTER\n interface ens33\n"
                      " virtual_router_id 66\n priority 100\n advert_int 1\n"
                      " authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n"
                      " track_script {\n  chk\n }\n virtual_ipaddress {\n  192.168.16.130\n }\n}\n")
    assert render(config) == """\
vrrp_script chk {
    script "/bin/chk"
    interval 2
    weight 2
}
vrrp_instance VI_1 {
    state MASTER
    interface ens33
    virtual_router_id 66
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.16.130/32
    }
    track_script {
        chk weight 2 noreverse
    }
}
"""


def test_word_and_seconds():
    assert word("eth0") == "eth0" and word("a b") == '"a b"' and word("x#y") == '"x#y"'
    assert word("@id") == '"@id"'
    with pytest.raises(ValueError):
        word('a"b')
    assert (seconds(2_000_000), seconds(1_500_000), seconds(1)) == ("2", "1.5", "0.000001")


# ---------------------------------------------------------------- random models

NAMES = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12).filter(
    lambda s: s[0] not in "@~.-")
IFNAMES = st.sampled_from(["eth0", "eth1", "ens33", "bond0", "eth0.1", "veth-a"])
ARG = st.text(string.printable.replace("\x0b", "").replace("\x0c", ""), max_size=12)


@st.composite
def commands(draw):
    argv = tuple(draw(st.lists(ARG, min_size=1, max_size=4)))
    if not argv[0].strip() or argv[0][0] in "<":
        argv = ("/usr/local/bin/" + draw(NAMES),) + argv[1:]
    return Command(argv)


@st.composite
def scripts(draw, name):
    user = draw(st.sampled_from([None, ("nobody", None), ("nobody", "nogroup")]))
    cmd = draw(commands())
    if user:
        cmd = Command(cmd.argv, *user)
    return VrrpScript(name, cmd, interval_us=draw(st.integers(1, 100_000)) * 1000,
                      timeout_us=draw(st.sampled_from([0, 500_000, 3_000_000])),
                      weight=draw(st.integers(-253, 253)), weight_reverse=draw(st.booleans()),
                      rise=draw(st.integers(1, 5)), fall=draw(st.integers(1, 5)),
                      init_fail=draw(st.booleans()))


def addresses(family, n):
    if family == 4:
        return st.lists(st.integers(0x0A000001, 0x0AFFFFFE).map(IPv4Address),
                        min_size=n, max_size=n + 3, unique=True)
    return st.lists(st.integers(1, 2**64).map(lambda v: IPv6Address((0x2001_0db8 << 96) | v)),
                    min_size=n, max_size=n + 3, unique=True)


@st.composite
def instances(draw, name, vrid, script_names):
    family = draw(st.sampled_from([4, 4, 6]))
    version = 3 if family == 6 else draw(st.sampled_from([2, 3]))
    strict = draw(st.booleans())
    priority = draw(st.sampled_from([1, 50, 100, 150, 254, 255]))
    owner = priority == 255
    state = ("MASTER" if owner else "BACKUP") if strict else draw(
        st.sampled_from(["MASTER", "BACKUP"]))
    auth_type = None
    if version == 2 and not strict:
        auth_type = draw(st.sampled_from([None, "PASS", "AH"] if family == 4 else [None, "PASS"]))
        if auth_type == "AH" and state == "MASTER" and not owner:
            state = "BACKUP"
    auth_pass = None
    if auth_type:
        pw = draw(st.text(string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=8))
        auth_pass = pw.encode().ljust(8, b"\0")
    addrs = draw(addresses(family, 1))
    if family == 6:
        addrs = [IPv6Address("fe80::%x" % (vrid + 1))] + addrs
    vips = tuple(IpAddress(a, draw(st.sampled_from([32, 24] if family == 4 else [128, 64])),
                           no_track=draw(st.booleans()),
                           preferred_lft=None if family == 4 else None) for a in addrs)
    if family == 6:
        vips = tuple(IpAddress(v.address, v.prefixlen, no_track=v.no_track,
                               preferred_lft=0 if v.prefixlen == 128 else 0xFFFFFFFF)
                     for v in vips)
    interface = draw(IFNAMES)
    unicast = draw(st.booleans()) and not strict
    peers = ()
    src = None
    if unicast:
        src = draw(addresses(family, 1))[0]
        peers = tuple(UnicastPeer(a, *draw(st.sampled_from([(0, 255), (10, 250)])))
                      for a in draw(addresses(family, 1)))
    track_ifs = tuple(TrackInterface(n, 0 if owner else draw(st.integers(-253, 253)),
                                     draw(st.booleans()))
                      for n in draw(st.lists(st.sampled_from(["trk0", "trk1", "trk2"]),
                                             unique=True, max_size=2)))
    tracks = tuple(TrackScript(n, 0 if owner else draw(st.integers(-253, 253)),
                               draw(st.booleans()))
                   for n in draw(st.lists(st.sampled_from(script_names), unique=True,
                                          max_size=2)))
    nopreempt = state == "BACKUP" and not owner and draw(st.booleans())
    preempt_delay = 0 if (strict or nopreempt or state == "MASTER") else \
        draw(st.sampled_from([0, 500_000, 3_000_000]))
    accept = draw(st.booleans())
    if strict and version == 2 and not owner:
        accept = False
    check_src = unicast and (draw(st.booleans()) or any(p.min_ttl for p in peers))
    return VrrpInstance(
        name=name, vrid=vrid, interface=interface, family=family, version=version, state=state,
        priority=priority,
        advert_int_cs=draw(st.integers(1, 255)) * 100 if version == 2 else
        draw(st.integers(1, 4095)),
        auth_type=auth_type, auth_pass=auth_pass, vips=vips, track_interfaces=track_ifs,
        track_scripts=tracks, nopreempt=nopreempt, preempt_delay_us=preempt_delay,
        unicast_src_ip=src, unicast_peers=peers,
        unicast_ttl=draw(st.sampled_from([None, 1, 255])) if unicast else None,
        check_unicast_src=check_src,
        mcast_dst_ip=None if unicast else (IPv4Address("224.0.0.18") if family == 4
                                           else IPv6Address("ff02::12")),
        accept=accept, skip_check_adv_addr=draw(st.booleans()), strict_mode=strict,
        garp_master_delay_us=draw(st.sampled_from([0, 5, 10])) * 1_000_000,
        garp_master_repeat=draw(st.sampled_from([1, 5])),
        garp_lower_prio_repeat=0 if strict else draw(st.sampled_from([0, 5])),
        garp_lower_prio_delay_us=0 if strict else 5_000_000,
        lower_prio_no_advert=True if strict else draw(st.booleans()),
        higher_prio_send_advert=False if strict else draw(st.booleans()),
        down_timer_adverts=3 if strict else draw(st.sampled_from([1, 3, 10])),
        owner_ignore_adverts=strict,
        notify_master=draw(st.none() | commands()), notify=draw(st.none() | commands()),
        notify_priority_changes=draw(st.booleans()),
        promote_secondaries=draw(st.booleans()), debug=draw(st.integers(0, 4)))


@st.composite
def configs(draw):
    script_names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    scripts_ = {n: draw(scripts(n)) for n in script_names}
    count = draw(st.integers(1, 4))
    insts = tuple(draw(instances("VI_%d" % i, i + 1, script_names)) for i in range(count))
    g = GlobalDefs(router_id=draw(st.none() | NAMES),
                   vrrp_garp_master_repeat=draw(st.sampled_from([1, 5])),
                   vrrp_garp_lower_prio_repeat=draw(st.sampled_from([1, 5])))
    return Config(global_defs=g, instances=insts, scripts=scripts_)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_random_models_round_trip(config):
    text, again, diags = reparse(config)
    assert diags.errors == [], (text, [str(d) for d in diags.errors])
    assert again == config, text


# ---------------------------------------------------------------- mutations

def _corpus_bytes():
    out = []
    for path in CORPUS:
        with open(path, "rb") as fh:
            out.append(fh.read())
    return out


CORPUS_BYTES = _corpus_bytes()
SPECIAL = b' \t\n{}"\'#!$@~;/.:\\0123456789abcxyz\x00\xff\xe4'


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(CORPUS_BYTES)))
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        byte = draw(st.sampled_from(list(SPECIAL)) | st.integers(0, 255))
        if op == "replace" and data:
            data[at] = byte
        elif op == "insert":
            data.insert(at, byte)
        elif data:
            del data[at]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["high", "low", "other"]))
def test_mutated_corpus_only_gives_diagnostics(data, config_id):
    text = data.decode("utf-8", "surrogateescape")
    config, diags = loads(text, config_id=config_id, filename="m.conf")
    assert all(d.severity in ("error", "warning") and d.message for d in diags)
    assert not [d for d in diags if d.code == "internal-error"]
    rendered = render(config)
    again, diags2 = loads(rendered, config_id=config_id)
    assert not [d for d in diags2 if d.code == "internal-error"]
    assert again == config, rendered      # whatever was understood renders back the same
