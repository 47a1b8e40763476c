"""Independent decoders agree with what we build: scapy's VRRP/VRRPv3 layers
(scapy.layers.vrrp) and tshark (Wireshark's dissectors, run on a pcap the
test writes)."""

import json
import os
import shutil
import struct
import subprocess

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vrrp import VRRP, VRRPv3

from twins import twin_fixture

from test_packet_helpers import ipv6_header

packet = twin_fixture("fastvrrp._packet", "fastvrrp.reference.packet")

SRC4, PEER4, GROUP4 = "192.168.16.128", "192.168.16.129", "224.0.0.18"
VIPS4 = ["192.168.16.130", "10.1.2.3"]
SRC6, GROUP6 = "fe80::1", "ff02::12"
VIPS6 = ["fe80::12", "2001:db8::12"]
MAC = "00:00:5e:00:01:42"


# ---------------------------------------------------------------- what we build

def _kinds(packet):
    """name -> (Ethernet frame, scapy equivalent or None).  IPv4 adverts are
    wrapped in Ethernet to the RFC 1112 group MAC; IPv6 adverts get an IPv6
    header from the test (the kernel writes it for a real sender)."""
    eth4 = Ether(dst="01:00:5e:00:00:12", src=MAC, type=0x0800)
    eth6 = Ether(dst="33:33:00:00:00:12", src=MAC, type=0x86DD)
    ip4 = dict(src=SRC4, dst=GROUP4, tos=0xC0, id=7, flags=0, ttl=255, proto=112)
    kinds = {}
    kinds["v2-noauth"] = (
        bytes(eth4) + packet.build_advert(2, 66, 100, 1, VIPS4, src=SRC4, ip_header=True,
                                          ident=7),
        eth4 / IP(**ip4) / VRRP(vrid=66, priority=100, adv=1, authtype=0, addrlist=VIPS4))
    kinds["v2-pass"] = (
        bytes(eth4) + packet.build_advert(2, 66, 100, 3, VIPS4, src=SRC4, ip_header=True,
                                          ident=7, auth_type=1, auth_pass="1111"),
        eth4 / IP(**ip4) / VRRP(vrid=66, priority=100, adv=3, authtype=1, addrlist=VIPS4,
                                auth1=0x31313131, auth2=0))
    kinds["v3-ipv4"] = (
        bytes(eth4) + packet.build_advert(3, 66, 254, 50, VIPS4, src=SRC4, ip_header=True,
                                          ident=7),
        eth4 / IP(**ip4) / VRRPv3(vrid=66, priority=254, adv=50, addrlist=VIPS4))
    kinds["v3-ipv4-unicast"] = (
        bytes(eth4) + packet.build_advert(3, 66, 254, 50, VIPS4, src=SRC4, dst=PEER4,
                                          ip_header=True, ident=7),
        eth4 / IP(**dict(ip4, dst=PEER4)) / VRRPv3(vrid=66, priority=254, adv=50,
                                                     addrlist=VIPS4))
    kinds["v3-ipv4-message-only"] = (
        bytes(eth4) + packet.build_advert(3, 66, 254, 50, VIPS4, src=SRC4, ip_header=True,
                                          ident=7, checksum_form=packet.CSUM_MESSAGE_ONLY),
        None)   # scapy only computes the pseudo-header form
    msg6 = packet.build_advert(3, 7, 200, 4095, VIPS6, family=6, src=SRC6)
    kinds["v3-ipv6"] = (
        bytes(eth6) + ipv6_header(len(msg6), SRC6, GROUP6) + msg6,
        eth6 / IPv6(src=SRC6, dst=GROUP6, hlim=255, tc=0xC0, nh=112)
        / VRRPv3(vrid=7, priority=200, adv=4095, addrlist=VIPS6))
    kinds["garp"] = (
        packet.build_garp(MAC, VIPS4[0]),
        Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC) / ARP(
            op=1, hwsrc=MAC, psrc=VIPS4[0], hwdst="ff:ff:ff:ff:ff:ff", pdst=VIPS4[0]))
    for router in (False, True):
        kinds["na-router" if router else "na"] = (
            packet.build_unsolicited_na(MAC, VIPS6[1], router=router),
            Ether(dst="33:33:00:00:00:01", src=MAC) / IPv6(src=VIPS6[1], dst="ff02::1",
                                                           hlim=255)
            / ICMPv6ND_NA(tgt=VIPS6[1], R=int(router), S=0, O=1)
            / ICMPv6NDOptDstLLAddr(lladdr=MAC))
    return kinds


# ---------------------------------------------------------------- scapy

def test_scapy_builds_the_same_bytes(packet):
    for name, (frame, equivalent) in _kinds(packet).items():
        if equivalent is not None:
            assert frame == bytes(equivalent), name


def test_scapy_decodes_v2_fields(packet):
    frame, _ = _kinds(packet)["v2-pass"]
    v = Ether(frame)[VRRP]
    assert (v.version, v.type, v.vrid, v.priority, v.ipcount, v.authtype, v.adv) == \
        (2, 1, 66, 100, 2, 1, 3)
    assert v.addrlist == VIPS4
    assert struct.pack("!II", v.auth1, v.auth2) == b"1111\0\0\0\0"
    chksum = v.chksum
    v.chksum = None                              # scapy recomputes it
    assert Ether(bytes(Ether(frame)))[VRRP].chksum == chksum
    assert VRRP(bytes(v)).chksum == chksum


@pytest.mark.parametrize("kind", ["v3-ipv4", "v3-ipv4-unicast", "v3-ipv6"])
def test_scapy_decodes_v3_fields_and_agrees_on_the_checksum(packet, kind):
    frame, _ = _kinds(packet)[kind]
    pkt = Ether(frame)
    v = pkt[VRRPv3]
    adv = 4095 if kind == "v3-ipv6" else 50
    assert (v.version, v.type, v.res, v.adv) == (3, 1, 0, adv)
    assert v.addrlist == (VIPS6 if kind == "v3-ipv6" else VIPS4)
    ours = v.chksum
    del pkt[VRRPv3].chksum                       # scapy's in4_chksum / in6_chksum
    assert Ether(bytes(pkt))[VRRPv3].chksum == ours


def test_scapy_frames_parse_with_our_codec(packet):
    # and the other way round: what scapy builds, we accept
    kinds = _kinds(packet)
    for name in ("v2-noauth", "v2-pass", "v3-ipv4", "v3-ipv4-unicast"):
        adv = packet.parse_ipv4(bytes(kinds[name][1][IP]))
        assert adv.ok, (name, adv.reason_name)
    scapy6 = kinds["v3-ipv6"][1]
    adv = packet.parse_ipv6(bytes(scapy6[VRRPv3]), SRC6, GROUP6, 255)
    assert adv.ok and adv.checksum_form_name == "ipv6-pseudo-header"


def test_scapy_decodes_the_neighbor_advertisement(packet):
    pkt = Ether(_kinds(packet)["na-router"][0])
    na = pkt[ICMPv6ND_NA]
    assert (na.type, na.R, na.S, na.O, na.tgt) == (136, 1, 0, 1, VIPS6[1])
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == MAC
    assert pkt[IPv6].hlim == 255 and pkt[IPv6].dst == "ff02::1"


# ---------------------------------------------------------------- tshark

def _tshark():
    path = shutil.which("tshark")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("tshark is not installed but CI is set: CI must install it")
        pytest.skip("tshark is not installed (apt-get install tshark)")
    return path


def _write_pcap(path, frames):
    """A classic pcap (LINKTYPE_ETHERNET) with one record per frame."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)


FIELDS = ["frame.number", "eth.type", "ip.checksum.status", "ip.dsfield", "ip.ttl",
          "ip.flags.df", "vrrp.version", "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.addr_count",
          "vrrp.adver_int", "vrrp.short_adver_int", "vrrp.auth_type", "vrrp.auth_string",
          "vrrp.ip_addr", "vrrp.ipv6_addr", "vrrp.checksum.status", "ipv6.hlim",
          "icmpv6.type", "icmpv6.checksum.status", "icmpv6.nd.na.flag.r",
          "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o", "icmpv6.nd.na.target_address",
          "icmpv6.opt.linkaddr", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4",
          "arp.dst.hw_mac", "arp.dst.proto_ipv4", "arp.isgratuitous", "_ws.expert.message"]


def _decode(tshark, pcap, *prefs):
    cmd = [tshark, "-n", "-r", str(pcap), "-o", "ip.check_checksum:TRUE"]
    for pref in prefs:
        cmd += ["-o", pref]
    cmd += ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=\t"]
    for field in FIELDS:
        cmd += ["-e", field]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [dict(zip(FIELDS, line.split("\t"))) for line in proc.stdout.splitlines()]
    return rows


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """tshark's view of every kind, from both twins: {(twin, kind): row}."""
    tshark = _tshark()
    import fastvrrp._packet
    import fastvrrp.reference.packet
    names, frames = [], []
    for twin_name, twin in (("compiled", fastvrrp._packet),
                            ("reference", fastvrrp.reference.packet)):
        for kind, (frame, _) in _kinds(twin).items():
            names.append((twin_name, kind))
            frames.append(frame)
    pcap = tmp_path_factory.mktemp("tshark") / "codec.pcap"
    _write_pcap(pcap, frames)
    default = _decode(tshark, pcap)
    # Wireshark verifies a VRRPv3/IPv4 checksum with the pseudo-header (RFC
    # 5798) unless vrrp.v3_checksum_as_in_v2 is set, then over the message
    # alone (RFC 9568): each v3/IPv4 form is judged by the matching setting.
    as_v2 = _decode(tshark, pcap, "vrrp.v3_checksum_as_in_v2:TRUE")
    assert len(default) == len(as_v2) == len(frames)
    return {name: (row, row2) for name, row, row2 in zip(names, default, as_v2)}


GOOD = "1"      # Wireshark's checksum status: 0 bad, 1 good, 2 unverified


@pytest.mark.parametrize("twin", ["compiled", "reference"])
@pytest.mark.parametrize("kind", ["v2-noauth", "v2-pass", "v3-ipv4", "v3-ipv4-unicast"])
def test_tshark_ipv4_adverts(decoded, twin, kind):
    row, as_v2 = decoded[(twin, kind)]
    assert row["ip.checksum.status"] == GOOD
    assert (row["ip.dsfield"], row["ip.ttl"], row["ip.flags.df"]) == ("0xc0", "255", "0")
    assert row["vrrp.virt_rtr_id"] == "66"
    assert row["vrrp.ip_addr"] == ",".join(VIPS4)
    assert row["vrrp.addr_count"] == "2"
    assert row["vrrp.checksum.status"] == GOOD, row["_ws.expert.message"]
    if kind.startswith("v2"):
        assert row["vrrp.version"] == "2" and row["vrrp.prio"] == "100"
        assert as_v2["vrrp.checksum.status"] == GOOD          # v2 is always message-only
        if kind == "v2-pass":
            assert (row["vrrp.auth_type"], row["vrrp.auth_string"]) == ("1", "1111")
            assert row["vrrp.adver_int"] == "3"
        else:
            assert (row["vrrp.auth_type"], row["vrrp.adver_int"]) == ("0", "1")
    else:
        assert row["vrrp.version"] == "3" and row["vrrp.prio"] == "254"
        assert row["vrrp.short_adver_int"] == "50"
        # the same frame fails when tshark expects the message-only form: the
        # check is real, and our checksum really includes the pseudo-header
        assert as_v2["vrrp.checksum.status"] == "0"


@pytest.mark.parametrize("twin", ["compiled", "reference"])
def test_tshark_v3_ipv4_message_only(decoded, twin):
    row, as_v2 = decoded[(twin, "v3-ipv4-message-only")]
    assert as_v2["vrrp.checksum.status"] == GOOD
    assert row["vrrp.checksum.status"] == "0"
    assert row["ip.checksum.status"] == GOOD and as_v2["vrrp.short_adver_int"] == "50"


@pytest.mark.parametrize("twin", ["compiled", "reference"])
def test_tshark_v3_ipv6(decoded, twin):
    row, as_v2 = decoded[(twin, "v3-ipv6")]
    assert (row["vrrp.version"], row["vrrp.virt_rtr_id"], row["vrrp.prio"]) == ("3", "7", "200")
    assert row["vrrp.short_adver_int"] == "4095"
    assert row["vrrp.ipv6_addr"] == ",".join(VIPS6)
    assert row["vrrp.checksum.status"] == GOOD == as_v2["vrrp.checksum.status"]


@pytest.mark.parametrize("twin", ["compiled", "reference"])
def test_tshark_garp(decoded, twin):
    row, _ = decoded[(twin, "garp")]
    assert row["eth.type"] == "0x0806" and row["arp.opcode"] == "1"
    assert row["arp.src.hw_mac"] == MAC
    assert row["arp.src.proto_ipv4"] == row["arp.dst.proto_ipv4"] == VIPS4[0]
    assert row["arp.dst.hw_mac"] == "ff:ff:ff:ff:ff:ff"
    assert row["arp.isgratuitous"] == "1"


@pytest.mark.parametrize("twin", ["compiled", "reference"])
@pytest.mark.parametrize("kind", ["na", "na-router"])
def test_tshark_unsolicited_na(decoded, twin, kind):
    row, _ = decoded[(twin, kind)]
    assert (row["icmpv6.type"], row["ipv6.hlim"]) == ("136", "255")
    assert row["icmpv6.checksum.status"] == GOOD
    assert row["icmpv6.nd.na.flag.o"] == "1" and row["icmpv6.nd.na.flag.s"] == "0"
    assert row["icmpv6.nd.na.flag.r"] == ("1" if kind == "na-router" else "0")
    assert row["icmpv6.nd.na.target_address"] == VIPS6[1]
    assert row["icmpv6.opt.linkaddr"] == MAC


def test_tshark_sees_a_bad_checksum(tmp_path):
    # the harness can fail: one flipped byte makes tshark report it
    import fastvrrp._packet as C
    frame = bytearray(_kinds(C)["v3-ipv4"][0])
    frame[-1] ^= 0xFF
    _write_pcap(tmp_path / "bad.pcap", [bytes(frame)])
    (row,) = _decode(_tshark(), tmp_path / "bad.pcap")
    assert row["vrrp.checksum.status"] == "0"


def test_tshark_json_output_agrees(tmp_path):
    # -T json, as an operator would read it: the same advert, fields by name
    import fastvrrp._packet as C
    _write_pcap(tmp_path / "one.pcap", [_kinds(C)["v3-ipv6"][0]])
    proc = subprocess.run([_tshark(), "-n", "-r", str(tmp_path / "one.pcap"), "-T", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    layers = json.loads(proc.stdout)[0]["_source"]["layers"]
    assert layers["vrrp"]["vrrp.virt_rtr_id"] == "7"
    assert layers["ipv6"]["ipv6.hlim"] == "255"
