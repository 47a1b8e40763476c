"""pytest-benchmark: the VRRP codec, compiled and reference twins side by side.

    make bench      (or: .venv/bin/python -m pytest bench/test_bench_codec.py --benchmark-only)

Python-API figures include the Python call.  The `c_level` benchmarks time a
loop inside the extension (ns per packet = the reported time / LOOP).
"""

import array
import importlib

import pytest

TWINS = [pytest.param("fastvrrp._packet", id="compiled"),
         pytest.param("fastvrrp.reference.packet", id="reference")]
BATCH = 64
LOOP = 10_000
SRC = "192.168.16.128"
ARGS = (3, 66, 100, 100, ["192.168.16.130"])
KW = dict(src=SRC, ip_header=True, ident=1)


@pytest.fixture(params=TWINS)
def twin(request):
    return importlib.import_module(request.param)


@pytest.fixture(scope="module")
def compiled():
    return importlib.import_module("fastvrrp._packet")


@pytest.fixture(scope="module")
def pkt(compiled):
    return compiled.build_advert(*ARGS, **KW)


@pytest.fixture(scope="module")
def batch(pkt):
    slot = 64
    buf = bytearray(slot * BATCH)
    for i in range(BATCH):
        buf[i * slot:i * slot + len(pkt)] = pkt
    offsets = array.array("I", [i * slot for i in range(BATCH)])
    lengths = array.array("I", [len(pkt)] * BATCH)
    return buf, offsets, lengths


def test_parse_single(benchmark, twin, pkt):
    adv = benchmark(twin.parse_ipv4, pkt)
    assert adv.ok


def test_parse_batch(benchmark, twin, batch):
    buf, offsets, lengths = batch
    out = bytearray(64 * BATCH)
    benchmark.extra_info["packets_per_call"] = BATCH
    assert benchmark(twin.parse_batch_ipv4, buf, offsets, lengths, out) == BATCH


def test_build(benchmark, twin, pkt):
    assert benchmark(twin.build_advert, *ARGS, **KW) == pkt


def test_build_v2_pass(benchmark, twin):
    built = benchmark(twin.build_advert, 2, 66, 100, 1, ["192.168.16.130"], src=SRC,
                      auth_type=1, auth_pass=b"1111", ip_header=True)
    assert len(built) == 40


def test_checksum(benchmark, twin, pkt):
    assert benchmark(twin.checksum, pkt[:20]) == 0


def test_garp(benchmark, twin):
    assert len(benchmark(twin.build_garp, b"\x00\x00\x5e\x00\x01\x42", "192.168.16.130")) == 42


def test_parse_c_level(benchmark, compiled, batch):
    buf, offsets, lengths = batch
    benchmark.extra_info["packets_per_call"] = LOOP
    benchmark(compiled._bench_parse, buf, offsets, lengths, LOOP)


def test_build_c_level(benchmark, compiled):
    benchmark.extra_info["packets_per_call"] = LOOP
    benchmark(compiled._bench_build, LOOP, *ARGS, **KW)


def test_checksum_c_level(benchmark, compiled, pkt):
    benchmark.extra_info["checksums_per_call"] = LOOP
    benchmark(compiled._bench_checksum, pkt + b"\0", LOOP)
