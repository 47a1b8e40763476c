"""Our sockets against the real keepalived: the first interoperability proof.

1. keepalived as MASTER (priority 255: it advertises at once) in node a; our
   receive socket in node b gets its adverts with the right ifindex, source,
   destination and TTL, and the codec accepts them (v2 PASS, v3 IPv4
   multicast and unicast, v3 IPv6).
2. keepalived as BACKUP (priority 100) in node b; our sender in node a
   advertises priority 200 on a master's schedule.  keepalived must stay
   BACKUP: its log shows "Entering BACKUP STATE", then, for longer than its
   Master_Down_Interval, no "Entering MASTER STATE" and no line rejecting a
   packet, and the bridge carries no advert of its own.  Two controls make
   that silence mean something: one deliberately bad advert of ours (wrong
   password, TTL 254) is logged as rejected, so rejections would show; and
   once we stop sending, keepalived becomes MASTER, so it would have done so
   earlier had it not accepted our adverts.

Waits are on log lines and captured frames (wait_for); the one sleep is the
"nothing happens" window of step 2, bounded by keepalived's own timer.
"""

import os
import re
import select
import threading
import time
from dataclasses import dataclass

import pytest

from fastvrrp import proto
from fastvrrp.bench.keepalived_proc import Keepalived
from fastvrrp.bench.vrrpview import AdvertError, decode_frame
from fastvrrp.bench.waitfor import wait_for
from fastvrrp.daemon import sockets
from fastvrrp.reference import packet as codec

from hostlab import call_in
from kalab import require_keepalived

pytestmark = [pytest.mark.interop, pytest.mark.netns]

# keepalived 2.2.7 vrrp.c vrrp_check_packet / vrrp_in_chk_ipsecah: each reason it
# logs for a received packet it will not use.
REJECTED = re.compile(
    r"invalid TTL/HL|wrong version|Invalid auth type|received a \d+ auth|invalid passwd|"
    r"advertisement interval mismatch|Invalid packet type|unexpected ip number count|"
    r"ip_tot_len mismatch|Invalid VRRPv[23] checksum|Expected \w+ packet but received|"
    r"expected \d+ VIPs but received|not present in MASTER advert|vrrp packet too|"
    r"not a unicast peer|not in range|AH header")
OUR_PRIORITY, KA_PRIORITY = 200, 100


def _require_keepalived():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    require_keepalived()


@dataclass(frozen=True)
class Case:
    name: str
    version: int
    family: int
    advert_int: float            # seconds, as in keepalived.conf
    vips: tuple
    auth_pass: str = None        # v2 PASS
    unicast: bool = False

    @property
    def field(self):
        """Adver Int as sent: v2 seconds, v3 centiseconds (RFC 5798 §5.2.7)."""
        return int(self.advert_int) if self.version == 2 else round(self.advert_int * 100)

    def config(self, *, state, priority, vrid, ifname, src=None, peer=None):
        lines = ["state %s" % state, "interface %s" % ifname, "virtual_router_id %d" % vrid,
                 "priority %d" % priority, "advert_int %s" % self.advert_int]
        if self.version == 3:
            lines.append("version 3")
        if self.auth_pass:
            lines.append("authentication {\n        auth_type PASS\n        auth_pass %s\n    }"
                         % self.auth_pass)
        if self.unicast:
            lines.append("unicast_src_ip %s\n    unicast_peer {\n        %s\n    }" % (src, peer))
        plen = 24 if self.family == 4 else 64
        lines.append("virtual_ipaddress {\n%s\n    }"
                     % "\n".join("        %s/%d" % (v, plen) for v in self.vips))
        return "vrrp_instance VI_1 {\n%s\n}\n" % "\n".join("    " + line for line in lines)


V2_PASS = Case("v2-pass", 2, 4, 1, ("10.0.0.130",), auth_pass="1111")
V3_IPV4 = Case("v3-ipv4", 3, 4, 0.1, ("10.0.0.131",))
V3_IPV6 = Case("v3-ipv6", 3, 6, 0.1, ("fe80::66", "fd00::66"))
V3_UNICAST = Case("v3-ipv4-unicast", 3, 4, 0.1, ("10.0.0.132",), unicast=True)


def _log_has(ka, pattern):
    def check():
        if not ka.running():
            raise AssertionError("keepalived exited (%s):\n%s" % (ka.proc.returncode, ka.log()))
        return re.search(pattern, ka.log())
    return check


# -- 1. keepalived's adverts reach our receiver ---------------------------------
@pytest.mark.parametrize("case", [V2_PASS, V3_IPV4, V3_IPV6, V3_UNICAST], ids=lambda c: c.name)
def test_keepalived_master_adverts_reach_our_receiver(star, case):
    _require_keepalived()
    lab, links = star
    a, b = links["a"], links["b"]
    if case.unicast:
        rx = call_in(b.ns, sockets.open_rx_v4, b.ifname, None, source=b.ip4)
    else:
        rx = call_in(b.ns, sockets.open_rx_v4 if case.family == 4 else sockets.open_rx_v6, b.ifname)
    try:
        ka = Keepalived(lab, "a", case.config(state="MASTER", priority=255, vrid=66,
                                              ifname=a.ifname, src=a.ip4, peer=b.ip4),
                        name="ka-master-" + case.name).start()
        readable, _, _ = select.select([rx], [], [], 10)
        assert readable, "no advert from keepalived within 10 s; its log:\n" + ka.log()
        pkt = sockets.recv_batch(rx, 16)[0]
        src = a.ipv6_ll if case.family == 6 else a.ip4
        dst = b.ip4 if case.unicast else (proto.VRRP_GROUP_IPV4 if case.family == 4
                                         else proto.VRRP_GROUP_IPV6)
        assert (pkt.ifindex, pkt.src, pkt.dst, pkt.hop_limit) == (b.ifindex, src, dst, 255)
        if case.family == 4:
            advert = codec.parse_ipv4(pkt.data, check_ttl=not case.unicast)
        else:
            advert = codec.parse_ipv6(pkt.data, pkt.src, pkt.dst, pkt.hop_limit)
        assert advert.ok, advert.reason_name
        auth = (codec.AUTH_PASS, case.auth_pass.encode()) if case.auth_pass else (codec.AUTH_NONE,
                                                                                  b"")
        assert codec.check_instance(advert, case.version, *auth) == codec.DROP_OK
        assert (advert.version, advert.vrid, advert.priority, advert.adver_int_cs) == (
            case.version, 66, 255, case.field * (100 if case.version == 2 else 1))
        assert [str(x) for x in advert.addresses] == list(case.vips)
        assert rx.stats.truncated == rx.stats.ctrunc == rx.stats.recv_errors == 0
    finally:
        rx.close()


# -- 2. keepalived accepts our adverts --------------------------------------------
class Advertiser(threading.Thread):
    """Calls send() every `interval` seconds, on an absolute schedule, until stop()."""

    def __init__(self, send, interval):
        super().__init__(daemon=True)
        self.send, self.interval = send, interval
        self.sent = self.failed = 0
        self._stop_event = threading.Event()

    def run(self):
        due = time.monotonic()
        while not self._stop_event.is_set():
            if self.send():
                self.sent += 1
            else:
                self.failed += 1
            due += self.interval
            self._stop_event.wait(max(0.0, due - time.monotonic()))

    def stop(self):
        self._stop_event.set()
        if self.ident is not None:          # started
            self.join(5)


def _our_sender(case, link):
    """send(**bad) -> one advert of priority 200 from `link`; `bad` spoils it on purpose."""
    if case.family == 4:
        tx = call_in(link.ns, sockets.open_tx_v4, link.ifname)
        state = {"ident": 0}

        def send(auth_pass=case.auth_pass, ttl=255):
            state["ident"] = sockets.next_ip_id(state["ident"])
            packet = codec.build_advert(
                case.version, 66, OUR_PRIORITY, case.field, list(case.vips), src=link.ip4,
                auth_type=codec.AUTH_PASS if auth_pass else codec.AUTH_NONE,
                auth_pass=(auth_pass or "").encode(), ip_header=True, ttl=ttl)
            return sockets.send_v4(tx, packet, ident=state["ident"])
        return tx, send
    tx = call_in(link.ns, sockets.open_tx_v6, link.ifname)
    payload = codec.build_advert(3, 66, OUR_PRIORITY, case.field, list(case.vips), family=6,
                                 src=link.ipv6_ll)

    def send6(hop_limit=None):
        return sockets.send_v6(tx, payload, link.ipv6_ll, hop_limit=hop_limit)
    return tx, send6


BAD = {"v2-pass": ({"auth_pass": "2222"}, "received an invalid passwd"),
       "v3-ipv4": ({"ttl": 254}, r"invalid TTL/HL\. Received 254"),
       "v3-ipv6": ({"hop_limit": 254}, r"invalid TTL/HL\. Received 254")}


def _frames_from_one(frame, src):
    """[the frame's advert] if it is an advert from `src`, else []."""
    try:
        advert = decode_frame(frame)
    except AdvertError:
        return []
    return [advert] if advert.src == src else []


def _frames_from(cap, src):
    return [advert for frame in cap.frames() for advert in _frames_from_one(frame, src)]


@pytest.mark.parametrize("case", [V2_PASS, V3_IPV4, V3_IPV6], ids=lambda c: c.name)
def test_keepalived_backup_accepts_our_adverts(star, case):
    _require_keepalived()
    lab, links = star
    a, b = links["a"], links["b"]
    ours, theirs = (a.ip4, b.ip4) if case.family == 4 else (a.ipv6_ll, b.ipv6_ll)
    cap = lab.capture("sw", "br0")
    tx, send = _our_sender(case, a)
    advertiser = Advertiser(send, case.advert_int)
    try:
        advertiser.start()
        cap.wait_frames(1, match=lambda f: bool(_frames_from_one(f, ours)), timeout=5)
        ka = Keepalived(lab, "b", case.config(state="BACKUP", priority=KA_PRIORITY, vrid=66,
                                              ifname=b.ifname),
                        name="ka-backup-" + case.name).start()
        wait_for(_log_has(ka, r"Entering BACKUP STATE"), 10, what="keepalived BACKUP")

        # The window: keepalived's Master_Down_Interval (3 x Advertisement_Interval +
        # Skew_Time, RFC 5798 §6.1 / RFC 3768 §6.1) runs from its start as backup; had
        # our adverts been dropped, it would have become master within it.  Watch for
        # that interval plus two more adverts, and at least 2 s.
        skew = (256 - KA_PRIORITY) / 256 * case.advert_int
        master_down = 3 * case.advert_int + skew
        time.sleep(max(master_down + 2 * case.advert_int, 2.0))
        log = ka.log()
        assert ka.running(), log
        assert "Entering MASTER STATE" not in log, log
        assert not REJECTED.search(log), log
        assert _frames_from(cap, theirs) == [], "keepalived advertised while we were master"
        assert advertiser.failed == 0 and advertiser.sent >= 3

        # Control 1: a spoilt advert of ours is rejected, and the log says so.
        spoil, rejection = BAD[case.name]
        assert send(**spoil)
        wait_for(_log_has(ka, rejection), 5, what="keepalived rejecting the spoilt advert")
        assert "Entering MASTER STATE" not in ka.log()

        # Control 2: silence makes keepalived master within its Master_Down_Interval.
        advertiser.stop()
        stopped = time.monotonic()
        wait_for(_log_has(ka, r"Entering MASTER STATE"), master_down + 5,
                 what="keepalived MASTER after our adverts stopped")
        took = time.monotonic() - stopped
        assert took >= 2 * case.advert_int, "keepalived became master %.3fs after we stopped" % took
        mine = cap.wait_frames(1, match=lambda f: bool(_frames_from_one(f, theirs)), timeout=5)
        assert _frames_from_one(mine[-1], theirs)[0].priority == KA_PRIORITY
    finally:
        advertiser.stop()
        tx.close()

