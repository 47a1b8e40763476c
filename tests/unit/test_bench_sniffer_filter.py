"""The sniffer's classic BPF filter, run by a small interpreter of the opcodes it uses."""

import struct

import pytest

from fastvrrp.bench.sniffer import (PACKET_OUTGOING, SKF_AD_IFINDEX, SKF_AD_OFF, SKF_AD_PKTTYPE,
                                    SNAP, SnifferError, bpf_program, ifindex_ranges)

PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST = 0, 1, 2


def run_bpf(program, frame, *, ifindex, pkttype):
    """What the kernel would return for `frame`: bytes to keep (0: drop)."""
    pc, acc = 0, 0
    for _ in range(1000):
        code, jt, jf, k = program[pc]
        if code in (0x20, 0x28, 0x30):               # ld/ldh/ldb [k]
            if code == 0x20 and k >= 0x80000000:     # ancillary data
                ad = k - (SKF_AD_OFF & 0xFFFFFFFF)
                acc = {SKF_AD_PKTTYPE: pkttype, SKF_AD_IFINDEX: ifindex}[ad]
            else:
                size = {0x20: 4, 0x28: 2, 0x30: 1}[code]
                if k + size > len(frame):
                    return 0                         # out of bounds: the kernel drops
                acc = int.from_bytes(frame[k:k + size], "big")
            pc += 1
        elif code in (0x15, 0x35, 0x25):             # jeq / jge / jgt #k
            hit = {0x15: acc == k, 0x35: acc >= k, 0x25: acc > k}[code]
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError("unexpected opcode %#x" % code)
    raise AssertionError("the program did not return")


def ether(ethertype, payload):
    return b"\x01\x00\x5e\x00\x00\x12" + b"\x02\x00\x00\x00\x00\x01" + \
        struct.pack("!H", ethertype) + payload


def ipv4(proto, ihl=5, body=b"\x31\x07\xc8\x01" + bytes(8)):
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0xC0, 20 + len(body), 1, 0, 255, proto, 0,
                         bytes([10, 0, 0, 1]), bytes([224, 0, 0, 18]))
    return header + bytes(4 * (ihl - 5)) + body


VRRP = ether(0x0800, ipv4(112))
ARP = ether(0x0806, bytes(28))
PROGRAM = bpf_program([101, 102, 103, 110])


@pytest.mark.parametrize("frame,ifindex,pkttype,want", [
    (VRRP, 101, PACKET_MULTICAST, SNAP),          # an advert entering on a port
    (VRRP, 103, PACKET_MULTICAST, SNAP),
    (VRRP, 110, PACKET_MULTICAST, SNAP),          # the second range
    (VRRP, 102, PACKET_OUTGOING, 0),              # the same advert flooded out of a port
    (VRRP, 100, PACKET_MULTICAST, 0),             # the bridge device itself
    (VRRP, 104, PACKET_MULTICAST, 0),             # between the ranges
    (VRRP, 111, PACKET_MULTICAST, 0),
    (ARP, 102, PACKET_BROADCAST, SNAP),
    (ether(0x0800, ipv4(6)), 101, PACKET_HOST, 0),        # TCP
    (ether(0x0800, ipv4(112, ihl=6)), 101, PACKET_HOST, 0),  # IPv4 options: not ours
    (ether(0x86DD, bytes(60)), 101, PACKET_MULTICAST, 0),  # IPv6
])
def test_filter_keeps_incoming_vrrp_and_arp_on_the_ports(frame, ifindex, pkttype, want):
    assert run_bpf(PROGRAM, frame, ifindex=ifindex, pkttype=pkttype) == want


def test_ifindex_ranges_merge_neighbours():
    assert ifindex_ranges([5, 3, 4, 9, 7, 8, 12]) == [(3, 5), (7, 9), (12, 12)]
    assert ifindex_ranges([1]) == [(1, 1)]


@pytest.mark.parametrize("bad", [[], [0], [-3], ["eth0"]])
def test_filter_rejects_bad_interface_lists(bad):
    with pytest.raises(SnifferError):
        bpf_program(bad)


def test_filter_refuses_too_many_ranges():
    with pytest.raises(SnifferError, match="ranges"):
        bpf_program(range(1, 200, 2))


def test_every_jump_lands_inside_the_program():
    program = bpf_program(list(range(100, 160, 2)))
    for pc, (code, jt, jf, _k) in enumerate(program):
        if code in (0x15, 0x35, 0x25):
            assert pc + 1 + jt < len(program) and pc + 1 + jf < len(program)
    assert program[-1][0] == 0x06 and program[-2][0] == 0x06
