"""`fastvrrp bench codec`: parse/validate and build speed of the VRRP codec.

The packet is a VRRPv3 advert over IPv4 as a raw socket delivers it (IP
header included, pseudo-header checksum, --vips addresses).  Every figure is
nanoseconds per operation, the median of --rounds rounds (timing.per_op_ns).

Keys of the result:
  scenario            "codec"
  packet_bytes        size of the measured IPv4 packet; vips: its address count
  parse_ns            compiled parse+validate, C level: vrrp_parse_ipv4 called in a
                      loop inside the extension (_bench_parse), no Python call per packet
  parse_py_ns         compiled, one Python-API call parse_ipv4(pkt) -> Advert
  parse_batch_ns      compiled parse_batch_ipv4 over --batch packets of one receive
                      buffer, per packet (one Python call per batch)
  build_ns            compiled vrrp_build of the whole IPv4 packet (header included),
                      C level (_bench_build)
  build_py_ns         compiled build_advert(..., ip_header=True), one Python-API call
  checksum_ns         compiled vrrp_checksum of the VRRP message, C level
  reference_parse_ns  reference twin: parse_ipv4(pkt) through its Python API, in a loop
  reference_build_ns  reference twin: build_advert(..., ip_header=True), in a loop
  parse_speedup       reference_parse_ns / parse_ns: the reference's Python API against
                      the compiled C-level parse (what the fast path gets)
  parse_py_speedup    reference_parse_ns / parse_py_ns: Python API against Python API
  build_speedup       reference_build_ns / build_ns
  scapy_parse_ns      scapy dissecting the same packet (IP(pkt)); null without scapy
  targets             the issue's targets, for comparison (not checked here)
"""

import array

from .timing import per_op_ns

NAME = "codec"
HELP = "VRRP packet parse/validate and build: compiled vs reference twin (ns/op)"

SRC = "192.168.16.128"


def add_arguments(parser):
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure (median)")
    parser.add_argument("--batch", type=int, default=64, help="packets per batch parse")
    parser.add_argument("--vips", type=int, default=1, help="addresses in the advert (1..255)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the operations per round (e.g. 0.01 for a smoke run)")


def _n(base, scale):
    return max(1, int(base * scale))


def _advert_args(vips):
    addresses = ["10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, (i & 255) or 1)
                 for i in range(1, vips + 1)]
    return (3, 66, 100, 100, addresses), dict(src=SRC, ip_header=True, ident=1)


def _loop(fn, *args, **kwargs):
    def run(n):
        for _ in range(n):
            fn(*args, **kwargs)
    return run


def run(args, progress):
    from fastvrrp import _packet as compiled
    from fastvrrp.reference import packet as reference

    if not 1 <= args.vips <= 255:
        raise SystemExit("fastvrrp bench codec: --vips must be in 1..255")
    if args.batch < 1 or args.rounds < 1 or args.scale <= 0:
        raise SystemExit("fastvrrp bench codec: --batch, --rounds, --scale must be positive")
    rounds, scale = args.rounds, args.scale
    build_args, build_kw = _advert_args(args.vips)
    pkt = compiled.build_advert(*build_args, **build_kw)
    slot = (len(pkt) + 63) // 64 * 64
    buf = bytearray(slot * args.batch)
    for i in range(args.batch):
        buf[i * slot:i * slot + len(pkt)] = pkt
    offsets = array.array("I", [i * slot for i in range(args.batch)])
    lengths = array.array("I", [len(pkt)] * args.batch)
    out = bytearray(compiled.ADVERT_RECORD_SIZE * args.batch)
    if compiled.parse_batch_ipv4(buf, offsets, lengths, out) != args.batch:
        raise RuntimeError("the benchmark packet does not validate")

    result = {"scenario": NAME, "packet_bytes": len(pkt), "vips": args.vips,
              "batch": args.batch, "rounds": rounds}
    progress("compiled parse (C level)")
    result["parse_ns"] = per_op_ns(
        lambda n: compiled._bench_parse(buf, offsets, lengths, n), _n(2_000_000, scale), rounds)
    progress("compiled parse (Python API)")
    result["parse_py_ns"] = per_op_ns(_loop(compiled.parse_ipv4, pkt), _n(200_000, scale),
                                      rounds)
    progress("compiled batch parse")
    result["parse_batch_ns"] = per_op_ns(
        _loop(compiled.parse_batch_ipv4, buf, offsets, lengths, out),
        _n(20_000, scale), rounds) / args.batch
    progress("compiled build")
    result["build_ns"] = per_op_ns(
        lambda n: compiled._bench_build(n, *build_args, **build_kw), _n(2_000_000, scale),
        rounds)
    result["build_py_ns"] = per_op_ns(_loop(compiled.build_advert, *build_args, **build_kw),
                                      _n(50_000, scale), rounds)
    msg = pkt[20:]
    result["checksum_ns"] = per_op_ns(
        lambda n: compiled._bench_checksum(msg + b"\0", n), _n(2_000_000, scale), rounds)
    progress("reference twin")
    result["reference_parse_ns"] = per_op_ns(_loop(reference.parse_ipv4, pkt),
                                             _n(10_000, scale), rounds)
    result["reference_build_ns"] = per_op_ns(
        _loop(reference.build_advert, *build_args, **build_kw), _n(5_000, scale), rounds)
    result["parse_speedup"] = result["reference_parse_ns"] / result["parse_ns"]
    result["parse_py_speedup"] = result["reference_parse_ns"] / result["parse_py_ns"]
    result["build_speedup"] = result["reference_build_ns"] / result["build_ns"]
    progress("scapy")
    result["scapy_parse_ns"] = _scapy_parse_ns(pkt, _n(1_000, scale), rounds)
    result["targets"] = {"parse_batch_ns": 60, "parse_speedup": 20, "build_ns": 100}
    return result


def _scapy_parse_ns(pkt, number, rounds):
    try:
        from scapy.layers.inet import IP
        import scapy.layers.vrrp  # noqa: F401  (binds IP proto 112 to VRRP/VRRPv3)
    except ImportError:
        return None
    return per_op_ns(_loop(IP, pkt), number, rounds)
