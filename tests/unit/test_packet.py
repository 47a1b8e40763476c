"""The VRRP codec, one test body for both twins (fastvrrp._packet and
fastvrrp.reference.packet).  Packets are crafted by test_packet_helpers,
independently of the code under test."""

import array
import ipaddress
import struct

import pytest

from fastvrrp import proto
from twins import assert_compiled, twin_fixture

from test_packet_helpers import (
    GROUP4, GROUP6, carp, inet_csum, inet_sum, ipv4, ipv6_header, packed, pseudo4, pseudo6, vrrp,
)

packet = twin_fixture("fastvrrp._packet", "fastvrrp.reference.packet")

SRC4, PEER4 = "192.168.16.128", "192.168.16.129"
VIP4 = ("192.168.16.130", "10.1.2.3")
SRC6 = "fe80::1"
VIP6 = ("fe80::12", "2001:db8::12")


def test_compiled_module_is_built():
    assert_compiled("fastvrrp._packet")


# ---------------------------------------------------------------- API and constants

def test_both_twins_export_the_same_api():
    import fastvrrp._packet as compiled
    import fastvrrp.reference.packet as reference
    assert sorted(compiled.__all__) == sorted(reference.__all__)
    for name in reference.__all__:
        assert hasattr(compiled, name), name
        assert hasattr(reference, name), name


def test_c_enums_match_proto():
    import fastvrrp._packet as compiled
    for index, name in enumerate(proto.DROP_REASONS):
        assert getattr(compiled, "DROP_" + name.upper()) == index, name
        assert getattr(proto, "DROP_" + name.upper()) == index, name
    assert compiled._C_DROP_COUNT == len(proto.DROP_REASONS)
    for index, name in enumerate(proto.CHECKSUM_FORMS):
        const = "CSUM_" + name.upper().replace("-", "_")
        assert getattr(compiled, const) == index, const
        assert getattr(proto, const) == index, const
    assert compiled._C_CSUM_COUNT == len(proto.CHECKSUM_FORMS)


def test_record_size_matches_format(packet):
    assert packet.ADVERT_RECORD_SIZE == struct.calcsize(proto.ADVERT_RECORD_FORMAT) == 64
    assert len(proto.ADVERT_RECORD_FIELDS) == len(struct.unpack(
        proto.ADVERT_RECORD_FORMAT, bytes(64)))


def test_reason_and_form_names(packet):
    assert packet.reason_name(packet.DROP_CARP) == "carp"
    assert packet.checksum_form_name(packet.CSUM_MESSAGE_ONLY) == "message-only"
    for bad in (-1, len(proto.DROP_REASONS), "ttl", None):
        with pytest.raises(ValueError):
            packet.reason_name(bad)
    with pytest.raises(ValueError):
        packet.checksum_form_name(99)


# ---------------------------------------------------------------- accepted adverts: fields

def test_v3_ipv4_fields(packet):
    msg = vrrp(3, vrid=66, priority=102, addrs=VIP4, adver_int=50, src=SRC4)
    pkt = ipv4(msg, src=SRC4, ttl=255)
    adv = packet.parse_ipv4(pkt)
    assert adv.ok and adv.reason == 0 and adv.reason_name == "ok"
    assert (adv.family, adv.version, adv.type, adv.vrid, adv.priority, adv.count) == \
        (4, 3, 1, 66, 102, 2)
    assert (adv.adver_int, adv.adver_int_cs, adv.auth_type) == (50, 50, 0)
    assert adv.checksum == struct.unpack("!H", msg[6:8])[0]
    assert adv.checksum_form == packet.CSUM_PSEUDO_HEADER
    assert adv.checksum_form_name == "pseudo-header"
    assert adv.ttl == 255
    assert adv.src == ipaddress.ip_address(SRC4) and adv.dst == ipaddress.ip_address(GROUP4)
    assert adv.src_packed == packed(SRC4) and adv.dst_packed == packed(GROUP4)
    assert (adv.vrrp_offset, adv.vrrp_length) == (20, 16)
    assert (adv.addr_offset, adv.addr_length, adv.auth_offset) == (28, 8, 0)
    assert adv.addresses == tuple(ipaddress.ip_address(a) for a in VIP4)
    assert adv.auth_data == b""


def test_v2_ipv4_fields_with_pass(packet):
    msg = vrrp(2, vrid=66, priority=100, addrs=VIP4, adver_int=3, auth_type=1,
               auth=b"1111\0\0\0\0")
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.ok
    assert (adv.version, adv.vrid, adv.priority, adv.count) == (2, 66, 100, 2)
    assert (adv.adver_int, adv.adver_int_cs) == (3, 300)
    assert adv.auth_type == packet.AUTH_PASS
    assert adv.auth_data == b"1111\0\0\0\0"
    assert adv.auth_offset == 20 + 8 + 8
    assert adv.checksum_form_name == "v2-message"


def test_v3_rsvd_bits_are_ignored(packet):
    # RFC 5798 §5.2.6: rsvd MUST be ignored on receipt; only 12 bits are the interval.
    msg = vrrp(3, adver_int=0x123, rsvd=0xF, src=SRC4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.ok and adv.adver_int == adv.adver_int_cs == 0x123


def test_ip_options_move_the_vrrp_message(packet):
    msg = vrrp(3, src=SRC4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4, options=b"\x94\x04\x00\x00"))  # Router Alert
    assert adv.ok and adv.vrrp_offset == 24 and adv.addr_offset == 32
    assert adv.addresses == (ipaddress.ip_address("10.0.0.1"),)


def test_v3_ipv6_fields(packet):
    msg = vrrp(3, vrid=7, priority=255, addrs=VIP6, adver_int=4095, src=SRC6, dst=GROUP6)
    adv = packet.parse_ipv6(msg, SRC6, GROUP6, 255)
    assert adv.ok
    assert (adv.family, adv.version, adv.vrid, adv.priority, adv.count) == (6, 3, 7, 255, 2)
    assert adv.adver_int_cs == 4095
    assert adv.checksum_form_name == "ipv6-pseudo-header"
    assert adv.src == ipaddress.ip_address(SRC6) and adv.dst == ipaddress.ip_address(GROUP6)
    assert (adv.vrrp_offset, adv.vrrp_length, adv.addr_offset, adv.addr_length) == (0, 40, 8, 32)
    assert adv.addresses == tuple(ipaddress.ip_address(a) for a in VIP6)


def test_ipv6_accepts_packed_and_ipaddress_endpoints(packet):
    msg = vrrp(3, addrs=VIP6, src=SRC6, dst=GROUP6)
    for src, dst in ((packed(SRC6), packed(GROUP6)),
                     (ipaddress.ip_address(SRC6), ipaddress.ip_address(GROUP6))):
        assert packet.parse_ipv6(msg, src, dst, 255).ok


def test_as_dict_has_every_field(packet):
    adv = packet.parse_ipv4(ipv4(vrrp(3, src=SRC4), src=SRC4))
    d = adv.as_dict()
    assert set(d) == set(proto.ADVERT_RECORD_FIELDS) | {"auth_data", "addresses"}
    assert d["vrid"] == 1 and d["src"] == packed(SRC4)
    assert "vrid=1" in repr(adv)


# ---------------------------------------------------------------- zero copy

def test_parses_a_memoryview_slice_of_a_larger_buffer(packet):
    pkt = ipv4(vrrp(3, addrs=VIP4, src=SRC4), src=SRC4)
    big = bytearray(b"\xaa" * 100 + pkt + b"\xbb" * 100)
    view = memoryview(big)[100:100 + len(pkt)]
    adv = packet.parse_ipv4(view)
    assert adv.ok and adv.addresses[0] == ipaddress.ip_address(VIP4[0])


def test_addresses_are_read_from_the_buffer_on_access(packet):
    pkt = bytearray(ipv4(vrrp(3, addrs=VIP4, src=SRC4), src=SRC4))
    adv = packet.parse_ipv4(pkt)
    pkt[28:32] = packed("1.2.3.4")          # after parsing: the accessor is lazy
    assert adv.addresses[0] == ipaddress.ip_address("1.2.3.4")
    del pkt[30:]
    with pytest.raises(ValueError, match="shorter"):
        adv.addresses


def test_non_buffer_and_non_contiguous_inputs_raise_type_error(packet):
    with pytest.raises(TypeError):
        packet.parse_ipv4("not bytes")
    with pytest.raises(TypeError):
        packet.parse_ipv4(None)
    with pytest.raises(TypeError):
        packet.parse_ipv4(memoryview(bytes(80))[::2])
    with pytest.raises(TypeError):
        packet.parse_ipv6("x", SRC6, GROUP6, 255)


@pytest.mark.parametrize("src,dst,hlim,exc", [
    ("10.0.0.1", GROUP6, 255, ValueError),
    (SRC6, b"\0" * 4, 255, ValueError),
    (SRC6, GROUP6, 256, ValueError),
    (SRC6, GROUP6, -1, ValueError),
    (SRC6, GROUP6, "255", ValueError),
    (SRC6, 1234, 255, TypeError),
    ("nonsense", GROUP6, 255, ValueError),
])
def test_parse_ipv6_bad_arguments(packet, src, dst, hlim, exc):
    with pytest.raises(exc):
        packet.parse_ipv6(vrrp(3, addrs=VIP6, src=SRC6, dst=GROUP6), src, dst, hlim)


# ---------------------------------------------------------------- one test per drop reason

def _v3(**kw):
    kw.setdefault("src", SRC4)
    return vrrp(3, **kw)


def test_too_short_for_ip_header(packet):
    adv = packet.parse_ipv4(ipv4(_v3(), src=SRC4)[:19])
    assert adv.reason == packet.DROP_TOO_SHORT and adv.reason_name == "too_short"
    assert adv.ttl == 0 and adv.vrrp_length == 0


def test_too_short_for_ihl(packet):
    pkt = bytearray(ipv4(_v3(), src=SRC4)[:24])
    pkt[0] = 0x4F                               # IHL 15 = 60 bytes > 24
    assert packet.parse_ipv4(bytes(pkt)).reason == packet.DROP_TOO_SHORT


def test_too_short_for_vrrp_header(packet):
    adv = packet.parse_ipv4(ipv4(_v3()[:4], src=SRC4))
    assert adv.reason == packet.DROP_TOO_SHORT
    # the IPv4 header was read: the source and TTL are there for the log line
    assert adv.src == ipaddress.ip_address(SRC4) and adv.ttl == 255
    assert (adv.vrrp_offset, adv.vrrp_length, adv.version) == (20, 4, 0)


def test_ipv6_too_short(packet):
    adv = packet.parse_ipv6(b"\x31\x01", SRC6, GROUP6, 255)
    assert adv.reason == packet.DROP_TOO_SHORT and adv.src == ipaddress.ip_address(SRC6)


@pytest.mark.parametrize("first_byte", [0x65, 0x44, 0x40])
def test_ip_header(packet, first_byte):
    pkt = bytearray(ipv4(_v3(), src=SRC4))
    pkt[0] = first_byte
    assert packet.parse_ipv4(bytes(pkt)).reason == packet.DROP_IP_HEADER


@pytest.mark.parametrize("delta", [-1, +1])
def test_ip_length(packet, delta):
    msg = _v3()
    pkt = ipv4(msg, src=SRC4, total_length=20 + len(msg) + delta)
    adv = packet.parse_ipv4(pkt)
    assert adv.reason == packet.DROP_IP_LENGTH
    assert adv.src == ipaddress.ip_address(SRC4)


def test_ethernet_padding_is_a_length_error_like_keepalived_2_2_7(packet):
    msg = _v3()
    pkt = ipv4(msg, src=SRC4) + bytes(6)       # trailer beyond Total Length
    assert packet.parse_ipv4(pkt).reason == packet.DROP_IP_LENGTH


def test_not_vrrp(packet):
    assert packet.parse_ipv4(ipv4(_v3(), src=SRC4, proto=17)).reason == packet.DROP_NOT_VRRP


def test_ah_is_recognised(packet):
    adv = packet.parse_ipv4(ipv4(bytes(24) + _v3(), src=SRC4, proto=51))
    assert adv.reason == packet.DROP_AH and adv.reason_name == "ah"


def test_ttl(packet):
    pkt = ipv4(_v3(), src=SRC4, ttl=254)
    adv = packet.parse_ipv4(pkt)
    assert adv.reason == packet.DROP_TTL and adv.ttl == 254
    assert adv.vrid == 1 and adv.version == 3          # header decoded for the log
    assert packet.parse_ipv4(pkt, check_ttl=False).ok  # unicast: keepalived skips it


def test_hop_limit(packet):
    msg = vrrp(3, addrs=VIP6, src=SRC6, dst=GROUP6)
    adv = packet.parse_ipv6(msg, SRC6, GROUP6, 64)
    assert adv.reason == packet.DROP_TTL and adv.ttl == 64
    assert packet.parse_ipv6(msg, SRC6, GROUP6, 64, check_hop_limit=False).ok


def test_carp_ipv4(packet):
    adv = packet.parse_ipv4(ipv4(carp(vhid=9), src=SRC4))
    assert adv.reason == packet.DROP_CARP and adv.vrid == 9


def test_carp_ipv6(packet):
    assert packet.parse_ipv6(carp(), SRC6, GROUP6, 255).reason == packet.DROP_CARP


def test_carp_checks_come_after_ttl(packet):
    assert packet.parse_ipv4(ipv4(carp(), src=SRC4, ttl=1)).reason == packet.DROP_TTL


@pytest.mark.parametrize("version", [0, 1, 4, 15])
def test_version(packet, version):
    msg = vrrp(version, src=SRC4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.reason == packet.DROP_VERSION and adv.version == version


def test_v2_over_ipv6_is_a_version_error(packet):
    msg = vrrp(2, addrs=("fe80::12",), adver_int=1)
    assert packet.parse_ipv6(msg, SRC6, GROUP6, 255).reason == packet.DROP_VERSION


@pytest.mark.parametrize("type_", [0, 2, 15])
def test_type(packet, type_):
    adv = packet.parse_ipv4(ipv4(_v3(type_=type_), src=SRC4))
    assert adv.reason == packet.DROP_TYPE and adv.type == type_


def test_count_zero(packet):
    adv = packet.parse_ipv4(ipv4(_v3(addrs=()), src=SRC4))
    assert adv.reason == packet.DROP_COUNT_ZERO


@pytest.mark.parametrize("msg", [
    vrrp(3, count=2, addrs=("10.0.0.1",), src=SRC4),          # count says 2, holds 1
    vrrp(3, count=1, addrs=("10.0.0.1", "10.0.0.2"), src=SRC4),
    vrrp(2, addrs=("10.0.0.1",), adver_int=1, auth=b""),       # v2 without auth data
    vrrp(2, addrs=("10.0.0.1",), adver_int=1, auth=bytes(12)),
], ids=["v3-short", "v3-long", "v2-no-auth-data", "v2-long-auth"])
def test_length(packet, msg):
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.reason == packet.DROP_LENGTH
    assert adv.addr_offset == 0 and adv.addresses == ()


def test_length_ipv6_with_ipv4_sized_addresses(packet):
    msg = vrrp(3, raw_addrs=bytes(4), count=1, src=SRC6, dst=GROUP6)
    assert packet.parse_ipv6(msg, SRC6, GROUP6, 255).reason == packet.DROP_LENGTH


@pytest.mark.parametrize("version", [2, 3])
def test_adver_int_zero(packet, version):
    msg = vrrp(version, adver_int=0, src=SRC4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.reason == packet.DROP_ADVER_INT_ZERO
    assert adv.addr_offset == 28                # the length check had passed


@pytest.mark.parametrize("auth_type", [3, 255])
def test_auth_type(packet, auth_type):
    msg = vrrp(2, adver_int=1, auth_type=auth_type)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.reason == packet.DROP_AUTH_TYPE and adv.auth_type == auth_type


def test_v2_ah_auth_type_value_passes_the_generic_checks(packet):
    # Auth Type 2 is a valid value (RFC 2338); whether the instance uses AH is
    # check_instance's business.
    adv = packet.parse_ipv4(ipv4(vrrp(2, adver_int=1, auth_type=2), src=SRC4))
    assert adv.ok and adv.auth_type == packet.AUTH_AH


def test_checksum_v2(packet):
    msg = vrrp(2, adver_int=1, csum=0x1234)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.reason == packet.DROP_CHECKSUM and adv.checksum == 0x1234
    assert adv.checksum_form == packet.CSUM_NONE


def test_checksum_v2_with_a_pseudo_header_is_wrong(packet):
    msg = vrrp(2, adver_int=1, form="pseudo4", src=SRC4)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_CHECKSUM


def test_checksum_v3_ipv4_message_only_is_accepted_and_reported(packet):
    msg = vrrp(3, form="message", src=SRC4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4))
    assert adv.ok and adv.checksum_form == packet.CSUM_MESSAGE_ONLY


def test_checksum_v3_ipv4_unicast_uses_the_real_destination(packet):
    msg = vrrp(3, src=SRC4, dst=PEER4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4, dst=PEER4))
    assert adv.ok and adv.checksum_form == packet.CSUM_PSEUDO_HEADER


def test_checksum_v3_ipv4_old_unicast_form(packet):
    # keepalived <= 1.3.6 put 224.0.0.18 into the pseudo-header of unicast adverts
    msg = vrrp(3, src=SRC4, dst=GROUP4)
    adv = packet.parse_ipv4(ipv4(msg, src=SRC4, dst=PEER4))
    assert adv.ok and adv.checksum_form == packet.CSUM_PSEUDO_HEADER_GROUP


def test_checksum_v3_ipv4_wrong_source_in_pseudo_header(packet):
    msg = vrrp(3, src=PEER4)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_CHECKSUM


def test_checksum_v3_ipv6_needs_the_pseudo_header(packet):
    good = vrrp(3, addrs=VIP6, src=SRC6, dst=GROUP6)
    assert packet.parse_ipv6(good, SRC6, GROUP6, 255).ok
    assert packet.parse_ipv6(good, "fe80::99", GROUP6, 255).reason == packet.DROP_CHECKSUM
    message_only = vrrp(3, addrs=VIP6, form="message", src=SRC6, dst=GROUP6)
    assert packet.parse_ipv6(message_only, SRC6, GROUP6, 255).reason == packet.DROP_CHECKSUM


def test_ipv6_payload_longer_than_any_ipv6_packet(packet):
    head = vrrp(3, addrs=VIP6, src=SRC6, dst=GROUP6)
    adv = packet.parse_ipv6(head.ljust(0x10000, b"\0"), SRC6, GROUP6, 255)
    assert adv.reason == packet.DROP_LENGTH and adv.version == 0   # rejected at once
    adv = packet.parse_ipv6(head.ljust(0xFFFF, b"\0"), SRC6, GROUP6, 255)
    assert adv.reason == packet.DROP_LENGTH and adv.version == 3   # header decoded first
    assert adv.vrrp_length == 0xFFFF


def test_checks_run_in_the_documented_order(packet):
    # A packet wrong in everything reports the first check of the order.
    msg = vrrp(5, type_=7, count=0, addrs=(), adver_int=0, csum=1, src=SRC4)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4, ttl=1)).reason == packet.DROP_TTL
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_VERSION
    msg = vrrp(3, type_=7, count=0, addrs=(), adver_int=0, csum=1)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_TYPE
    msg = vrrp(3, count=0, addrs=(), adver_int=0, csum=1)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_COUNT_ZERO
    msg = vrrp(2, count=3, adver_int=0, auth_type=9, csum=1)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_LENGTH
    msg = vrrp(2, adver_int=0, auth_type=9, csum=1)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_ADVER_INT_ZERO
    msg = vrrp(2, adver_int=1, auth_type=9, csum=1)
    assert packet.parse_ipv4(ipv4(msg, src=SRC4)).reason == packet.DROP_AUTH_TYPE


# ---------------------------------------------------------------- per-instance checks

def _v2_pass(password):
    msg = vrrp(2, adver_int=1, auth_type=1, auth=password.ljust(8, b"\0"))
    return ipv4(msg, src=SRC4)


def test_check_instance_accepts_the_configured_password(packet):
    adv = packet.parse_ipv4(_v2_pass(b"1111"))
    assert packet.check_instance(adv, 2, packet.AUTH_PASS, b"1111") == packet.DROP_OK
    assert packet.check_instance(adv, 2, packet.AUTH_PASS, "1111") == packet.DROP_OK
    # keepalived compares all 8 bytes: "1111" and "1111\0\0\0\0" are the same password
    assert packet.check_instance(adv, 2, packet.AUTH_PASS, b"1111\0\0\0\0") == packet.DROP_OK


@pytest.mark.parametrize("configured", [b"1112", b"111", b"11111", b"", b"1111\0\0\0x"])
def test_check_instance_auth_failure(packet, configured):
    adv = packet.parse_ipv4(_v2_pass(b"1111"))
    assert packet.check_instance(adv, 2, packet.AUTH_PASS, configured) == \
        packet.DROP_AUTH_FAILURE


def test_check_instance_auth_type_mismatch(packet):
    adv = packet.parse_ipv4(_v2_pass(b"1111"))
    assert packet.check_instance(adv, 2, packet.AUTH_NONE) == packet.DROP_AUTH_TYPE_MISMATCH
    plain = packet.parse_ipv4(ipv4(vrrp(2, adver_int=1), src=SRC4))
    assert packet.check_instance(plain, 2, packet.AUTH_PASS, b"1111") == \
        packet.DROP_AUTH_TYPE_MISMATCH
    assert packet.check_instance(plain, 2) == packet.DROP_OK


def test_check_instance_version_mismatch_comes_first(packet):
    adv = packet.parse_ipv4(_v2_pass(b"1111"))
    assert packet.check_instance(adv, 3) == packet.DROP_VERSION_MISMATCH
    v3 = packet.parse_ipv4(ipv4(_v3(), src=SRC4))
    assert packet.check_instance(v3, 3) == packet.DROP_OK
    assert packet.check_instance(v3, 2, packet.AUTH_PASS, b"x") == packet.DROP_VERSION_MISMATCH


def test_check_instance_keeps_an_earlier_drop_reason(packet):
    adv = packet.parse_ipv4(ipv4(_v3(), src=SRC4, ttl=3))
    assert packet.check_instance(adv, 3) == packet.DROP_TTL


def test_check_instance_on_a_record_without_its_packet_fails_pass_auth(packet):
    records = bytearray(64)
    pkt = _v2_pass(b"1111")
    packet.parse_batch_ipv4(pkt, array.array("I", [0]), array.array("I", [len(pkt)]), records)
    bare = packet.advert_from_record(records, 0)
    assert bare.auth_data == b""
    assert packet.check_instance(bare, 2, packet.AUTH_PASS, b"") == packet.DROP_AUTH_FAILURE
    full = packet.advert_from_record(records, 0, pkt)
    assert packet.check_instance(full, 2, packet.AUTH_PASS, b"1111") == packet.DROP_OK


@pytest.mark.parametrize("args,exc", [
    ((4,), ValueError),
    ((2, 2, b"x"), ValueError),             # AH
    ((2, 1, b"123456789"), ValueError),     # longer than 8
    ((2, 0, b"x"), ValueError),             # password without PASS
    ((3, 1, b"x"), ValueError),             # v3 has no authentication
    ((2, 1, 1234), TypeError),
])
def test_check_instance_bad_configuration(packet, args, exc):
    adv = packet.parse_ipv4(_v2_pass(b"1111"))
    with pytest.raises(exc):
        packet.check_instance(adv, *args)


def test_check_instance_needs_an_advert(packet):
    with pytest.raises(TypeError):
        packet.check_instance(object(), 2)


# ---------------------------------------------------------------- builders

def test_build_v2_without_auth(packet):
    got = packet.build_advert(2, 66, 100, 1, VIP4)
    assert got == vrrp(2, vrid=66, priority=100, addrs=VIP4, adver_int=1)
    assert got[-8:] == bytes(8)                 # v2 over IPv4 always carries 8 auth bytes


def test_build_v2_with_pass(packet):
    got = packet.build_advert(2, 66, 100, 1, VIP4, auth_type=packet.AUTH_PASS,
                              auth_pass="1111")
    assert got == vrrp(2, vrid=66, priority=100, addrs=VIP4, adver_int=1, auth_type=1,
                       auth=b"1111\0\0\0\0")
    assert inet_sum(got) == 0xFFFF              # RFC 3768 §5.3.8: the message alone


def test_build_v3_ipv4_pseudo_header_by_default(packet):
    got = packet.build_advert(3, 66, 100, 100, VIP4, src=SRC4)
    assert got == vrrp(3, vrid=66, priority=100, addrs=VIP4, adver_int=100, src=SRC4)
    assert inet_sum(pseudo4(SRC4, GROUP4, len(got)) + got) == 0xFFFF


def test_build_v3_ipv4_unicast_destination(packet):
    got = packet.build_advert(3, 66, 100, 100, VIP4, src=SRC4, dst=PEER4)
    assert inet_sum(pseudo4(SRC4, PEER4, len(got)) + got) == 0xFFFF


def test_build_v3_ipv4_message_only_on_request(packet):
    got = packet.build_advert(3, 66, 100, 100, VIP4, checksum_form=packet.CSUM_MESSAGE_ONLY)
    assert got == vrrp(3, vrid=66, priority=100, addrs=VIP4, form="message")
    assert inet_sum(got) == 0xFFFF


def test_build_v3_ipv4_old_unicast_form(packet):
    got = packet.build_advert(3, 66, 100, 100, VIP4, src=SRC4, dst=PEER4,
                              checksum_form=packet.CSUM_PSEUDO_HEADER_GROUP)
    assert inet_sum(pseudo4(SRC4, GROUP4, len(got)) + got) == 0xFFFF


def test_build_v3_ipv6(packet):
    got = packet.build_advert(3, 7, 200, 25, VIP6, family=6, src=SRC6)
    assert got == vrrp(3, vrid=7, priority=200, addrs=VIP6, adver_int=25, src=SRC6, dst=GROUP6)
    assert inet_sum(pseudo6(SRC6, GROUP6, len(got)) + got) == 0xFFFF


@pytest.mark.parametrize("cs", [1, 99, 0x0FFF])
def test_build_v3_interval_uses_12_bits(packet, cs):
    got = packet.build_advert(3, 1, 100, cs, ["10.0.0.1"], src=SRC4)
    assert struct.unpack("!H", got[4:6])[0] == cs     # rsvd (top 4 bits) is 0


def test_build_full_ipv4_packet(packet):
    got = packet.build_advert(3, 66, 100, 100, VIP4, src=SRC4, ip_header=True, ident=0xBEEF)
    vers_ihl, tos, total, ident, frag, ttl, proto_, _, src, dst = struct.unpack(
        "!BBHHHBBH4s4s", got[:20])
    assert (vers_ihl, tos, total, ident, frag, ttl, proto_) == \
        (0x45, 0xC0, len(got), 0xBEEF, 0, 255, 112)
    assert frag & 0x4000 == 0                    # no DF, like keepalived
    assert (src, dst) == (packed(SRC4), packed(GROUP4))
    assert inet_sum(got[:20]) == 0xFFFF          # header checksum valid for pcaps
    assert got[20:] == packet.build_advert(3, 66, 100, 100, VIP4, src=SRC4)


def test_build_unicast_ttl(packet):
    got = packet.build_advert(2, 1, 100, 1, ["10.0.0.1"], src=SRC4, dst=PEER4,
                              ip_header=True, ttl=64)
    assert got[8] == 64 and got[16:20] == packed(PEER4) and inet_sum(got[:20]) == 0xFFFF


def test_build_accepts_address_objects_and_packed_bytes(packet):
    a = packet.build_advert(3, 1, 100, 100, [ipaddress.ip_address("10.0.0.1")], src=SRC4)
    b = packet.build_advert(3, 1, 100, 100, [packed("10.0.0.1")], src=packed(SRC4))
    assert a == b == packet.build_advert(3, 1, 100, 100, ("10.0.0.1",), src=SRC4)


def test_build_parse_round_trip(packet):
    for kwargs in (dict(version=2, adver_int=5, auth_type=1, auth_pass=b"secret"),
                   dict(version=3, adver_int=300, checksum_form=packet.CSUM_MESSAGE_ONLY),
                   dict(version=3, adver_int=1, dst=PEER4)):
        pkt = packet.build_advert(kwargs.pop("version"), 42, 150, kwargs.pop("adver_int"),
                                  VIP4, src=SRC4, ip_header=True, **kwargs)
        adv = packet.parse_ipv4(pkt)
        assert adv.ok and adv.vrid == 42 and adv.priority == 150
        assert adv.addresses == tuple(ipaddress.ip_address(a) for a in VIP4)


BAD_BUILDS = [
    (dict(version=1), ValueError),
    (dict(version=True), ValueError),
    (dict(vrid=0), ValueError),
    (dict(vrid=256), ValueError),
    (dict(priority=-1), ValueError),
    (dict(priority=256), ValueError),
    (dict(adver_int=0), ValueError),
    (dict(adver_int=4096), ValueError),
    (dict(version=2, adver_int=256), ValueError),
    (dict(version=2, family=6, addresses=["fe80::1"]), ValueError),
    (dict(family=5), ValueError),
    (dict(addresses=[]), ValueError),
    (dict(addresses=["10.0.0.%d" % (i % 250) for i in range(256)]), ValueError),
    (dict(addresses=["fe80::1"]), ValueError),
    (dict(addresses=["not an address"]), ValueError),
    (dict(addresses=[b"\0\0\0"]), ValueError),
    (dict(addresses=[1.5]), TypeError),
    (dict(addresses="10.0.0.1"), TypeError),
    (dict(addresses=5), TypeError),
    (dict(src=None), ValueError),                          # pseudo-header needs src
    (dict(src="fe80::1"), ValueError),
    (dict(dst="fe80::1"), ValueError),
    (dict(checksum_form=99), ValueError),
    (dict(checksum_form=1), ValueError),                   # v2 form on a v3 advert
    (dict(version=2, adver_int=1, checksum_form=3), ValueError),
    (dict(version=2, adver_int=1, auth_type=2), ValueError),  # AH is not built
    (dict(version=2, adver_int=1, auth_type=1, auth_pass="123456789"), ValueError),
    (dict(version=2, adver_int=1, auth_pass="x"), ValueError),
    (dict(auth_type=1, auth_pass="x"), ValueError),        # v3 has no auth
    (dict(family=6, addresses=["fe80::1"], src="fe80::2", ip_header=True), ValueError),
    (dict(ip_header=True, ident=65536), ValueError),
    (dict(ip_header=True, ttl=0), ValueError),
]


@pytest.mark.parametrize("override,exc", BAD_BUILDS)
def test_build_bad_arguments(packet, override, exc):
    args = dict(version=3, vrid=1, priority=100, adver_int=100, addresses=["10.0.0.1"],
                src=SRC4)
    args.update(override)
    with pytest.raises(exc):
        packet.build_advert(args.pop("version"), args.pop("vrid"), args.pop("priority"),
                            args.pop("adver_int"), args.pop("addresses"), **args)


def test_build_garp(packet):
    got = packet.build_garp("00:11:22:33:44:55", "192.168.16.130")
    expected = (b"\xff" * 6 + bytes.fromhex("001122334455") + b"\x08\x06"
                + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
                + bytes.fromhex("001122334455") + packed("192.168.16.130")
                + b"\xff" * 6 + packed("192.168.16.130"))
    assert got == expected and len(got) == proto.GARP_FRAME_LEN
    assert packet.build_garp(bytes.fromhex("001122334455"), packed("192.168.16.130")) == got


def test_build_unsolicited_na(packet):
    mac, vip = "00:11:22:33:44:55", "2001:db8::12"
    got = packet.build_unsolicited_na(mac, vip)
    assert len(got) == proto.NA_FRAME_LEN
    assert got[:14] == bytes.fromhex("333300000001" "001122334455" "86dd")
    ip6 = got[14:54]
    assert ip6 == ipv6_header(32, vip, "ff02::1", hlim=255, next_header=58, tclass=0)
    icmp = got[54:]
    assert icmp[0] == 136 and icmp[1] == 0
    assert icmp[4] == 0x20                       # Override only; not Solicited, not Router
    assert icmp[8:24] == packed(vip)
    assert icmp[24:] == bytes([2, 1]) + bytes.fromhex("001122334455")
    assert inet_sum(pseudo6(vip, "ff02::1", 32, 58) + icmp) == 0xFFFF


def test_build_unsolicited_na_router_flag(packet):
    got = packet.build_unsolicited_na("00:11:22:33:44:55", "fe80::12", router=True)
    assert got[54 + 4] == 0xA0
    assert inet_sum(pseudo6("fe80::12", "ff02::1", 32, 58) + got[54:]) == 0xFFFF


@pytest.mark.parametrize("mac,vip,exc", [
    ("00:11:22:33:44", "10.0.0.1", ValueError),
    ("00:11:22:33:44:zz", "10.0.0.1", ValueError),
    ("001122334455", "10.0.0.1", ValueError),
    (b"\0" * 5, "10.0.0.1", ValueError),
    (None, "10.0.0.1", TypeError),
    ("00:11:22:33:44:55", "fe80::1", ValueError),
    ("00:11:22:33:44:55", None, TypeError),
])
def test_build_garp_bad_arguments(packet, mac, vip, exc):
    with pytest.raises(exc):
        packet.build_garp(mac, vip)


def test_build_na_bad_arguments(packet):
    with pytest.raises(ValueError):
        packet.build_unsolicited_na("00:11:22:33:44:55", "10.0.0.1")
    with pytest.raises(ValueError):
        packet.build_unsolicited_na("0:1:2:3:4", "fe80::1")


# ---------------------------------------------------------------- checksums

def test_checksum_rfc1071_example(packet):
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert packet.checksum(data) == ~0xDDF2 & 0xFFFF


@pytest.mark.parametrize("data", [b"", b"\x01", b"\xff\xff", bytes(range(255)), b"\xab" * 41])
def test_checksum_matches_independent_sum(packet, data):
    assert packet.checksum(data) == inet_csum(data)
    assert packet.checksum(bytearray(data)) == packet.checksum(memoryview(data))


def test_checksum_update_patches_the_ipv4_identification(packet):
    hdr = bytearray(ipv4(b"", src=SRC4, ident=1))
    csum = struct.unpack("!H", hdr[10:12])[0]
    new = packet.checksum_update(csum, hdr[4:6], b"\x12\x34")
    hdr[4:6] = b"\x12\x34"
    hdr[10:12] = b"\0\0"
    assert new == inet_csum(hdr)


def test_checksum_update_patches_a_destination_address(packet):
    msg = vrrp(3, src=SRC4, dst=GROUP4)
    csum = struct.unpack("!H", msg[6:8])[0]
    new = packet.checksum_update(csum, packed(GROUP4), packed(PEER4))
    assert new == struct.unpack("!H", vrrp(3, src=SRC4, dst=PEER4)[6:8])[0]


@pytest.mark.parametrize("args,exc", [
    ((0x10000, b"ab", b"cd"), ValueError),
    ((-1, b"ab", b"cd"), ValueError),
    ((1, b"abc", b"cde"), ValueError),
    ((1, b"ab", b"cdef"), ValueError),
    ((1, "ab", b"cd"), TypeError),
])
def test_checksum_update_bad_arguments(packet, args, exc):
    with pytest.raises(exc):
        packet.checksum_update(*args)


def test_checksum_bad_argument(packet):
    with pytest.raises(TypeError):
        packet.checksum("text")


# ---------------------------------------------------------------- batch API

def _slots(packets, slot=128):
    buf = bytearray(slot * len(packets))
    for i, pkt in enumerate(packets):
        buf[i * slot:i * slot + len(pkt)] = pkt
    offsets = array.array("I", [i * slot for i in range(len(packets))])
    lengths = array.array("I", [len(p) for p in packets])
    return buf, offsets, lengths


MIXED = [
    ipv4(vrrp(3, vrid=1, addrs=VIP4, src=SRC4), src=SRC4),
    ipv4(vrrp(3, vrid=2, src=SRC4), src=SRC4, ttl=64),
    ipv4(vrrp(2, vrid=3, adver_int=1, auth_type=1, auth=b"pw\0\0\0\0\0\0"), src=SRC4),
    ipv4(carp(), src=SRC4),
    b"\x45",
    ipv4(vrrp(3, vrid=6, csum=7, src=SRC4), src=SRC4),
    b"",
]


def test_batch_matches_single_parses(packet):
    buf, offsets, lengths = _slots(MIXED)
    out = bytearray(64 * len(MIXED))
    accepted = packet.parse_batch_ipv4(buf, offsets, lengths, out)
    singles = [packet.parse_ipv4(p) for p in MIXED]
    assert accepted == sum(a.ok for a in singles) == 2
    for i, single in enumerate(singles):
        got = packet.advert_from_record(out, i, MIXED[i])
        assert got.as_dict() == single.as_dict(), i
    # the raw record is the documented layout
    fields = dict(zip(proto.ADVERT_RECORD_FIELDS, struct.unpack_from(
        proto.ADVERT_RECORD_FORMAT, out, 0)))
    assert fields["vrid"] == 1 and fields["reason"] == 0 and fields["src"][:4] == packed(SRC4)
    assert fields["addr_length"] == 8 and fields["family"] == 4


def test_batch_check_ttl_off(packet):
    buf, offsets, lengths = _slots(MIXED[:2])
    out = bytearray(128)
    assert packet.parse_batch_ipv4(buf, offsets, lengths, out, check_ttl=False) == 2


def test_batch_uses_only_the_records_it_needs(packet):
    buf, offsets, lengths = _slots(MIXED[:1])
    out = bytearray(b"\xee" * 200)
    assert packet.parse_batch_ipv4(buf, offsets, lengths, out) == 1
    assert out[64:] == b"\xee" * 136
    assert packet.parse_batch_ipv4(buf, array.array("I"), array.array("I"), bytearray()) == 0


def test_batch_into_a_memoryview_of_a_larger_buffer(packet):
    buf, offsets, lengths = _slots(MIXED[:3])
    big = bytearray(1000)
    out = memoryview(big)[100:100 + 192]
    assert packet.parse_batch_ipv4(memoryview(bytes(buf)), offsets, lengths, out) == 2
    assert packet.advert_from_record(big[100:], 2).vrid == 3


@pytest.mark.parametrize("case", ["mismatch", "out-small", "beyond", "bad-format",
                                  "readonly-out", "list-offsets", "not-buffer-out"])
def test_batch_bad_arguments(packet, case):
    buf, offsets, lengths = _slots(MIXED[:2])
    out = bytearray(128)
    exc = ValueError
    if case == "mismatch":
        offsets = array.array("I", [0])
    elif case == "out-small":
        out = bytearray(127)
    elif case == "beyond":
        offsets = array.array("I", [0, len(buf) - 4])
    elif case == "bad-format":
        lengths, exc = array.array("H", lengths), TypeError
    elif case == "readonly-out":
        out, exc = bytes(128), TypeError
    elif case == "list-offsets":
        offsets, exc = [0, 128], TypeError
    elif case == "not-buffer-out":
        out, exc = [None, None], TypeError
    with pytest.raises(exc):
        packet.parse_batch_ipv4(buf, offsets, lengths, out)


def test_advert_from_record_bad_index(packet):
    record = bytearray(64)
    record[1] = 4                               # family
    assert packet.advert_from_record(record, 0).reason == 0
    with pytest.raises(IndexError):
        packet.advert_from_record(record, 1)
    with pytest.raises(IndexError):
        packet.advert_from_record(record, -1)
    with pytest.raises(IndexError):
        packet.advert_from_record(record, "0")


@pytest.mark.parametrize("offset,value", [(0, 18), (0, 255), (1, 0), (1, 5), (9, 6)])
def test_advert_from_record_rejects_garbage(packet, offset, value):
    record = bytearray(64)
    record[1] = 4
    record[offset] = value                      # reason, family, checksum_form
    with pytest.raises(ValueError, match="not a parse result"):
        packet.advert_from_record(record, 0)


def test_advert_from_record_without_packet_cannot_read_addresses(packet):
    buf, offsets, lengths = _slots(MIXED[:1])
    out = bytearray(64)
    packet.parse_batch_ipv4(buf, offsets, lengths, out)
    adv = packet.advert_from_record(out, 0)
    assert adv.ok and adv.addr_offset == 28
    with pytest.raises(ValueError, match="no packet buffer"):
        adv.addresses
    with pytest.raises(ValueError, match="shorter"):
        packet.advert_from_record(out, 0, b"\0" * 10).addresses
