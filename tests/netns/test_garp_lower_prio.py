"""garp_lower_prio_repeat / garp_lower_prio_delay end to end (keepalived vrrp.c,
reference §3.8; issue 5 point 6).

A MASTER that receives an advert with a lower priority sends
`garp_lower_prio_repeat` gratuitous ARPs for its VIP at once, and the same
number again `garp_lower_prio_delay` seconds later.  The lower-priority
advert is crafted (RFC 5798 §5.1) and sent from the peer's namespace; the
GARPs are counted on the bridge, in the capture's own clock.
"""

import ipaddress
import socket

import pytest

from fastvrrp.bench import netns
from fastvrrp.reference import packet as codec

from engine_lab import GARP_FILTER, announced, config, instance_block

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

VIP = "10.0.0.100"
VRID = 62
REPEAT = 3
DELAY_S = 1



def _send_lower_advert(ns, src):
    """One VRRPv3 advert for VRID with priority 50 from `src`, to 224.0.0.18, TTL 255."""
    sock = netns.socket_in(ns, socket.AF_INET, socket.SOCK_RAW, 112)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        msg = codec.build_advert(3, VRID, 50, 10, [VIP], src=src, dst="224.0.0.18")
        sock.sendto(msg, ("224.0.0.18", 0))
    finally:
        sock.close()


def _garp(frame):
    hit = announced(frame)
    return hit is not None and hit[1] == ipaddress.ip_address(VIP)


def test_a_master_hearing_a_lower_priority_sends_two_garp_bursts(pair):
    lab, links = pair.lab, pair.links
    b_ip = links["b"].ip4
    cap = lab.capture("sw", "br0", bpf="(%s) or (ip proto 112 and src host %s)"
                      % (GARP_FILTER, b_ip))
    conf = config(instance_block(vrid=VRID, priority=200, vips=(VIP + "/24",), extra=(
        "garp_master_repeat 1", "garp_master_delay 0",
        "garp_lower_prio_repeat %d" % REPEAT, "garp_lower_prio_delay %d" % DELAY_S)))
    a = pair.daemon("a", "fastvrrp", conf)
    a.start()
    a.wait_log(r"\(VI_1\) Entering MASTER STATE")
    cap.wait_frames(1, match=_garp, timeout=10)          # becoming master: one GARP
    _send_lower_advert(links["b"].ns, b_ip)
    a.wait_log(r"\(VI_1\) Received advert from %s with lower priority 50" % b_ip)
    cap.wait_frames(1 + 2 * REPEAT, match=_garp, timeout=10)

    frames = cap.frames()
    sent = [f for f in frames if f.ethertype == 0x0800 and f.payload[9] == 112]
    assert len(sent) == 1
    t0 = sent[0].ts
    after = [f.ts - t0 for f in frames if _garp(f) and f.ts >= t0]
    assert len(after) == 2 * REPEAT, after
    first, second = after[:REPEAT], after[REPEAT:]
    # two bursts: the second starts no earlier than the delay after the advert,
    # and well apart from the first (which went out at once)
    assert min(second) >= DELAY_S * 0.9, after
    assert min(second) - max(first) >= DELAY_S / 2, after
    assert a.stop() == 0
