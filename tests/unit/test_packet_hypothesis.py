"""Differential tests: the compiled codec and the reference twin agree on
random and mutated packets (same fields, same drop reason), and built packets
round-trip."""

import array
import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastvrrp._packet as C
import fastvrrp.reference.packet as R
from twins import assert_compiled

from test_packet_helpers import inet_csum, inet_sum

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_compiled_module_is_built():
    assert_compiled("fastvrrp._packet")


ipv4s = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
ipv6s = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def advert_args(draw):
    """Arguments for build_advert that the builder accepts."""
    family = draw(st.sampled_from([4, 4, 6]))
    version = 3 if family == 6 else draw(st.sampled_from([2, 3]))
    addrs = draw(st.lists(ipv4s if family == 4 else ipv6s, min_size=1, max_size=12))
    src = draw(ipv4s if family == 4 else ipv6s)
    dst = draw(st.one_of(st.none(), ipv4s if family == 4 else ipv6s))
    kw = dict(family=family, src=src, dst=dst)
    if version == 2:
        adver_int = draw(st.integers(1, 255))
        if draw(st.booleans()):
            kw["auth_type"] = R.AUTH_PASS
            kw["auth_pass"] = draw(st.binary(max_size=8))
    else:
        adver_int = draw(st.integers(1, 4095))
        if family == 4:
            kw["checksum_form"] = draw(st.sampled_from(
                [None, R.CSUM_PSEUDO_HEADER, R.CSUM_MESSAGE_ONLY, R.CSUM_PSEUDO_HEADER_GROUP]))
    if family == 4:
        kw["ip_header"] = True
        kw["ident"] = draw(st.integers(0, 0xFFFF))
        kw["ttl"] = draw(st.sampled_from([255, 255, 64, 1]))
    return (version, draw(st.integers(1, 255)), draw(st.integers(0, 255)), adver_int,
            addrs), kw


@st.composite
def mutated(draw, base, fix_length=True):
    """Flip, overwrite, truncate or extend a valid packet."""
    pkt = bytearray(base)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "extend", "header"]))
        if op == "flip" and pkt:
            i = draw(st.integers(0, len(pkt) - 1))
            pkt[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and pkt:
            pkt[draw(st.integers(0, len(pkt) - 1))] = draw(st.integers(0, 255))
        elif op == "truncate":
            del pkt[draw(st.integers(0, len(pkt))):]
        elif op == "extend":
            pkt += draw(st.binary(min_size=1, max_size=24))
        elif op == "header" and len(pkt) > 25:      # the highest index below is 25
            # the bytes that drive the checks: IPv4 vers/IHL, length, TTL,
            # protocol; VRRP vers/type, count, auth type/interval
            i = draw(st.sampled_from([0, 2, 3, 8, 9, 20, 23, 24, 25]))
            pkt[i] = draw(st.sampled_from([0, 1, 2, 3, 7, 0x21, 0x31, 0x45, 51, 112, 255]))
    if fix_length and len(pkt) >= 4 and draw(st.booleans()):
        pkt[2:4] = len(pkt).to_bytes(2, "big")     # reach the checks behind Total Length
    return bytes(pkt)


def _same(a, b):
    assert a.as_dict() == b.as_dict()
    assert (a.reason, a.reason_name, a.ok) == (b.reason, b.reason_name, b.ok)
    assert a.src == b.src and a.dst == b.dst


def _parse_both_ipv4(pkt, check_ttl):
    c, r = C.parse_ipv4(pkt, check_ttl), R.parse_ipv4(pkt, check_ttl)
    _same(c, r)
    return c


@SETTINGS
@given(st.data())
def test_built_packets_round_trip_and_twins_build_the_same_bytes(data):
    args, kw = data.draw(advert_args())
    built = C.build_advert(*args, **kw)
    assert built == R.build_advert(*args, **kw)
    version, vrid, priority, adver_int, addrs = args
    if kw["family"] == 4:
        adv = _parse_both_ipv4(built, check_ttl=False)
    else:
        dst = kw["dst"] or ipaddress.IPv6Address("ff02::12")
        adv = C.parse_ipv6(built, kw["src"], dst, 255)
        _same(adv, R.parse_ipv6(built, kw["src"], dst, 255))
    assert adv.ok, adv.reason_name
    assert (adv.version, adv.vrid, adv.priority, adv.count) == (version, vrid, priority,
                                                                len(addrs))
    assert adv.adver_int == adver_int
    assert adv.addresses == tuple(addrs)
    if kw.get("checksum_form") is not None:
        # The parser reports the first form that matches, in its documented
        # order; a coincidence of sums (or dst = 224.0.0.18) can make an
        # earlier form match too.
        order = [R.CSUM_PSEUDO_HEADER, R.CSUM_MESSAGE_ONLY, R.CSUM_PSEUDO_HEADER_GROUP]
        assert order.index(adv.checksum_form) <= order.index(kw["checksum_form"])
    if version == 2 and kw.get("auth_type") == R.AUTH_PASS:
        assert adv.auth_data == kw["auth_pass"].ljust(8, b"\0")
        assert C.check_instance(adv, 2, R.AUTH_PASS, kw["auth_pass"]) == R.DROP_OK
        assert R.check_instance(R.parse_ipv4(built, False), 2, R.AUTH_PASS,
                                kw["auth_pass"]) == R.DROP_OK


@SETTINGS
@given(st.data())
def test_mutated_ipv4_packets_parse_the_same_in_both_twins(data):
    args, kw = data.draw(advert_args().filter(lambda a: a[1]["family"] == 4))
    pkt = data.draw(mutated(R.build_advert(*args, **kw)))
    check_ttl = data.draw(st.booleans())
    adv = _parse_both_ipv4(pkt, check_ttl)
    # and the per-instance checks agree for any configuration
    version = data.draw(st.sampled_from([2, 3]))
    auth_type = R.AUTH_NONE if version == 3 else data.draw(st.sampled_from([0, 1]))
    password = data.draw(st.binary(max_size=8)) if auth_type == R.AUTH_PASS else b""
    assert C.check_instance(adv, version, auth_type, password) == \
        R.check_instance(R.parse_ipv4(pkt, check_ttl), version, auth_type, password)


@SETTINGS
@given(st.data())
def test_mutated_ipv6_messages_parse_the_same_in_both_twins(data):
    args, kw = data.draw(advert_args().filter(lambda a: a[1]["family"] == 6))
    msg = data.draw(mutated(R.build_advert(*args, **kw), fix_length=False))
    src = data.draw(st.sampled_from([kw["src"], ipaddress.IPv6Address("fe80::1")]))
    dst = kw["dst"] or ipaddress.IPv6Address("ff02::12")
    hlim = data.draw(st.sampled_from([255, 255, 64, 0]))
    check = data.draw(st.booleans())
    _same(C.parse_ipv6(msg, src, dst, hlim, check), R.parse_ipv6(msg, src, dst, hlim, check))


@SETTINGS
@given(st.binary(max_size=96), st.booleans())
def test_random_bytes_parse_the_same_in_both_twins(blob, check_ttl):
    _parse_both_ipv4(blob, check_ttl)
    _same(C.parse_ipv6(blob, "fe80::1", "ff02::12", 255),
          R.parse_ipv6(blob, "fe80::1", "ff02::12", 255))


@SETTINGS
@given(st.binary(min_size=8, max_size=60), st.integers(0, 255))
def test_random_payload_behind_a_valid_ipv4_header(payload, ttl):
    header = bytearray(R.build_advert(3, 1, 100, 100, ["10.0.0.1"], src="10.0.0.2",
                                      ip_header=True, ttl=max(ttl, 1))[:20])
    header[2:4] = (20 + len(payload)).to_bytes(2, "big")
    _parse_both_ipv4(bytes(header) + payload, True)


@SETTINGS
@given(st.data())
def test_batches_give_identical_records(data):
    packets = []
    for _ in range(data.draw(st.integers(0, 8))):
        args, kw = data.draw(advert_args().filter(lambda a: a[1]["family"] == 4))
        packets.append(data.draw(mutated(R.build_advert(*args, **kw))))
    slot = 160
    buf = bytearray(slot * len(packets) + 64)
    for i, pkt in enumerate(packets):
        buf[i * slot:i * slot + len(pkt)] = pkt
    offsets = array.array("I", [i * slot for i in range(len(packets))])
    lengths = array.array("I", [len(p) for p in packets])
    check_ttl = data.draw(st.booleans())
    out_c, out_r = bytearray(64 * len(packets)), bytearray(64 * len(packets))
    n_c = C.parse_batch_ipv4(buf, offsets, lengths, out_c, check_ttl)
    n_r = R.parse_batch_ipv4(buf, offsets, lengths, out_r, check_ttl)
    assert (n_c, out_c) == (n_r, out_r)
    assert n_c == sum(C.parse_ipv4(p, check_ttl).ok for p in packets)


@SETTINGS
@given(st.binary(max_size=200))
def test_checksum_twins_and_independent_sum_agree(data):
    assert C.checksum(data) == R.checksum(data) == inet_csum(data)


@SETTINGS
@given(st.binary(min_size=20, max_size=20).map(lambda b: b"\x45" + b[1:]),
       st.integers(0, 4), st.binary(min_size=4, max_size=4))
def test_checksum_update_equals_recomputation(header, word, new):
    # RFC 1624: patch any aligned 2- or 4-byte field of an IPv4 header
    header = bytearray(header)
    header[10:12] = b"\0\0"
    csum = inet_csum(header)
    start = [4, 12, 16, 6, 8][word]              # ID, src, dst, flags, TTL/protocol
    size = 4 if start in (12, 16) else 2
    old = bytes(header[start:start + size])
    new = new[:size]
    patched = C.checksum_update(csum, old, new)
    assert patched == R.checksum_update(csum, old, new)
    header[start:start + size] = new
    assert patched == inet_csum(header)


@pytest.mark.parametrize("router", [False, True])
@SETTINGS
@given(mac=st.binary(min_size=6, max_size=6), vip4=ipv4s, vip6=ipv6s)
def test_frames_twins_agree(router, mac, vip4, vip6):
    assert C.build_garp(mac, vip4) == R.build_garp(mac, vip4)
    assert C.build_unsolicited_na(mac, vip6, router) == R.build_unsolicited_na(mac, vip6, router)


def _outcome(fn):
    try:
        return fn().as_dict()
    except (ValueError, IndexError) as exc:
        return type(exc)


@SETTINGS
@given(st.binary(min_size=64, max_size=64), st.one_of(st.none(), st.binary(max_size=80)))
def test_any_record_gives_the_same_advert_or_error_in_both_twins(record, pkt):
    record = bytearray(record)
    record[1] = 4 if record[1] & 1 else record[1]      # half of them a valid family
    record[0] %= 20
    c = _outcome(lambda: C.advert_from_record(bytes(record), 0, pkt))
    r = _outcome(lambda: R.advert_from_record(bytes(record), 0, pkt))
    assert c == r
