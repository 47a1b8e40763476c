"""fastvrrp._fastpath without sockets: injected packets, a fake clock, captured sends.

Settle case (a) (RFC 5798 §6.4.2: a Backup hears its known master) and case
(b) (RFC 5798 §6.4.3: a Master's Adver_Timer fires) are settled in C; every
other case is escalated, once per event.  Tests that only touch the API run
against both twins (the compiled FastPath and the reference SlowPath, which
settles nothing); settle tests run against the compiled one.
"""

import ipaddress

import pytest

from fastvrrp import proto
from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert, checksum, parse_ipv4, parse_ipv6
from fastvrrp.reference.fastpath import SlowPath
import fastvrrp._fastpath as compiled_mod
import fastvrrp.reference.fastpath as reference_mod

MS = 1_000_000
S = 1_000_000_000
MASTER_IP = "192.168.16.128"
OURS = "192.168.16.129"
VIP = "192.168.16.130"
MD, ADVER = 0, 1
BACKUP, MASTER, FAULT = 1, 2, 3
MDI = 3_609_375_000              # priority 100, advert_int 1 s (RFC 3768 §6.1)


class Recorder:
    def __init__(self):
        self.calls = []
        self.hook = None

    def __call__(self, slot, what, now, arg):
        self.calls.append((slot, what, now, arg))
        if self.hook is not None:
            self.hook(slot, what, now, arg)

    def kinds(self):
        return [c[1] for c in self.calls]


def make(cls=FastPath, *, version=2, family=4, vips=(VIP,), auth=(0, b""), peers=(),
         check_peers=False, skip_check=False, accept_lower=False, advert_int_cs=100, **kw):
    fp = cls(capture=True, **kw)
    rec = Recorder()
    fp.set_escalation(rec)
    sid = fp.add_socket(-1, family)
    src = OURS if family == 4 else "fe80::2"
    fp.configure_slot(0, family=family, version=version, vrid=66, rx_socket=sid, tx_socket=sid,
                      src=src, addresses=vips, advert_int_cs=advert_int_cs, auth_type=auth[0],
                      auth_pass=auth[1], peers=peers, check_peers=check_peers,
                      skip_check_adv_addr=skip_check, accept_lower=accept_lower)
    return fp, rec, sid


def backup(fp, *, master=MASTER_IP, master_priority=100, priority=100, adver_int=1, now=S):
    """Slot 0 as a settled Backup that knows its master (what the bridge pushes)."""
    fp.update_slot(0, state=BACKUP, priority=priority, master=master,
                   master_priority=master_priority, master_adver_int=adver_int,
                   master_down_ns=MDI, rx_settle=True)
    fp.arm_timer(0, MD, now + MDI)


def advert(priority=100, *, src=MASTER_IP, version=2, adver_int=1, vips=(VIP,), auth=None, **kw):
    extra = {"auth_type": 1, "auth_pass": auth} if auth is not None else {}
    return build_advert(version, 66, priority, adver_int, list(vips), src=src, ip_header=True,
                        **extra, **kw)


# ------------------------------------------------------------------ case (a)

def test_backup_hearing_its_master_is_settled_in_c():
    fp, rec, sid = make()
    backup(fp)
    for i in range(1, 6):
        fp.inject(sid, advert(), 2 * S + i * S)
    assert rec.calls == []
    assert fp.timer_deadline(0, MD) == 7 * S + MDI           # RFC 5798 §6.4.2 reset
    stats = fp.slot_stats(0)
    assert (stats["advert_rcvd"], stats["rx_settled"], stats["escalations"]) == (5, 5, 0)
    assert fp.stats()["python_escalations"] == 0
    assert fp.take_settled(0) == (7 * S, None)
    assert fp.take_settled(0) == (None, None)


def test_nopreempt_backup_settles_a_lower_known_master():
    fp, rec, sid = make(accept_lower=True)
    backup(fp, master_priority=90, priority=100)
    fp.inject(sid, advert(90), 2 * S)
    assert rec.calls == [] and fp.timer_deadline(0, MD) == 2 * S + MDI


def test_v3_settles_with_the_learned_interval_only():
    fp, rec, sid = make(version=3, advert_int_cs=100)
    backup(fp, adver_int=50)                       # learned Master_Adver_Interval 50 cs
    fp.inject(sid, advert(version=3, adver_int=50), 2 * S)
    assert rec.calls == []
    fp.inject(sid, advert(version=3, adver_int=100), 3 * S)   # our own interval: not learned
    assert rec.kinds() == [compiled_mod.ESCALATE_ADVERT]


def test_skip_check_adv_addr_settles_a_different_list_of_the_same_length():
    fp, rec, sid = make(skip_check=True)
    backup(fp)
    fp.inject(sid, advert(vips=("10.9.9.9",)), 2 * S)
    assert rec.calls == []
    fp.inject(sid, advert(vips=(VIP, "10.9.9.9")), 3 * S)     # the count still counts
    assert len(rec.calls) == 1


def test_ipv6_backup_settles():
    fp, rec, sid = make(version=3, family=6, vips=("fd00::1",))
    backup(fp, master="fe80::1")
    msg = build_advert(3, 66, 100, 1, ["fd00::1"], family=6, src="fe80::1", dst="ff02::12")
    fp.inject(sid, msg, 2 * S, src="fe80::1", dst="ff02::12", hop_limit=255)
    assert rec.calls == [] and fp.slot_stats(0)["rx_settled"] == 1
    fp.inject(sid, msg, 3 * S, src="fe80::1", dst="ff02::12", hop_limit=64)     # RFC 5798 §5.1.2.3
    assert [c[3][0] for c in rec.calls] == [proto.DROP_TTL]


@pytest.mark.parametrize("name, packet, update", [
    ("another source", advert(src="192.168.16.127"), {}),
    ("another priority", advert(101), {}),
    ("priority 0", advert(0), {"master_priority": 0}),
    ("lower than ours, preempting", advert(90), {"master_priority": 90}),
    ("another address list", advert(vips=("10.9.9.9",)), {}),
    ("a reordered list", advert(vips=("10.0.0.1", VIP)), {}),     # settles only byte-equal lists
    ("settling disabled", advert(), {"rx_settle": False}),
    ("no known master", advert(), {"master": None}),
    ("in MASTER", advert(), {"state": MASTER}),
])
def test_everything_else_received_is_escalated(name, packet, update):
    fp, rec, sid = make(vips=(VIP, "10.0.0.1") if name == "a reordered list" else (VIP,))
    backup(fp)
    fp.update_slot(0, **update)
    fp.inject(sid, packet, 2 * S)
    assert rec.kinds() == [compiled_mod.ESCALATE_ADVERT], name
    slot, _what, now, adv = rec.calls[0]
    assert (slot, now, adv.priority, adv.src) == (0, 2 * S, packet[22], parse_ipv4(packet).src)
    assert fp.timer_deadline(0, MD) == S + MDI            # not re-armed
    assert fp.slot_stats(0)["escalations"] == 1 and fp.stats()["python_escalations"] == 1


def test_no_settle_without_a_pending_master_down_timer():
    fp, rec, sid = make()
    backup(fp)
    fp.cancel_timer(0, MD)
    fp.inject(sid, advert(), 2 * S)
    assert len(rec.calls) == 1 and fp.timer_deadline(0, MD) is None


def test_escalated_advert_is_a_private_copy():
    fp, rec, sid = make()
    fp.update_slot(0, state=BACKUP)
    fp.inject(sid, advert(120), S)
    adv = rec.calls[0][3]
    assert adv.ok and adv.priority == 120 and adv.addresses == (ipaddress.ip_address(VIP),)
    assert str(adv.src) == MASTER_IP and adv.adver_int == 1


# ------------------------------------------------------------------ case (b)

def master(fp, *, priority=100, deadline=S):
    fp.update_slot(0, state=MASTER, priority=priority, tx_settle=True)
    fp.arm_timer(0, ADVER, deadline)


def test_master_adver_timer_is_settled_in_c():
    fp, rec, sid = make()
    master(fp)
    next_deadline = fp.tick(S)
    assert rec.calls == []
    assert next_deadline == 2 * S and fp.timer_deadline(0, ADVER) == 2 * S   # RFC 5798 §6.4.3
    fp.tick(2 * S)
    fp.tick(3 * S + MS // 2)              # within one tick of the deadline: handled at it
    fp.tick(5 * S)                        # late: handled now, no burst to catch up
    sent = fp.take_captured()
    assert [s.queued_ns for s in sent] == [S, 2 * S, 3 * S, 5 * S]
    assert fp.timer_deadline(0, ADVER) == 6 * S
    ids = []
    for s in sent:
        adv = parse_ipv4(s.packet)
        assert adv.ok and adv.priority == 100 and adv.ttl == 255 and adv.vrid == 66
        assert checksum(s.packet[:20]) == 0                     # header checksum patched
        assert s.dst == ipaddress.ip_address("224.0.0.18").packed and s.slot == 0
        ids.append(int.from_bytes(s.packet[4:6], "big"))
    assert ids == [1, 2, 3, 4]                                  # from 1 (keepalived)
    stats = fp.slot_stats(0)
    assert (stats["advert_sent"], stats["tx_settled"], stats["escalations"]) == (4, 4, 0)
    assert fp.take_settled(0) == (None, 5 * S)


def test_adver_timer_escalates_without_tx_settle():
    fp, rec, sid = make()
    master(fp)
    fp.update_slot(0, tx_settle=False)
    fp.tick(S)
    assert rec.calls == [(0, compiled_mod.ESCALATE_TIMER, S, ADVER)]
    assert fp.take_captured() == []


def test_other_timers_always_escalate():
    fp, rec, sid = make()
    backup(fp, now=0)
    fp.arm_timer(0, 3, 2 * S)                # an opaque kind (a GARP timer)
    fp.tick(5 * S)
    assert rec.calls == [(0, compiled_mod.ESCALATE_TIMER, 5 * S, 3),       # deadline order
                         (0, compiled_mod.ESCALATE_TIMER, 5 * S, MD)]


def test_ip_identification_wraps_past_zero():
    fp, rec, sid = make()
    fp.update_slot(0, state=MASTER)
    for _ in range(0x10001):
        fp.send_advert(0, 100)
    fp.flush()
    fp.send_advert(0, 100)
    fp.flush()
    last = fp.take_captured()[-1]
    assert int.from_bytes(last.packet[4:6], "big") == 3         # 65535, 1, 2, 3: never 0


def test_send_at_another_priority_builds_that_advert():
    fp, rec, sid = make(auth=(1, b"1111"))
    fp.update_slot(0, state=MASTER, priority=102)
    fp.send_advert(0, 0, 7)                  # RFC 5798 §6.4.3 Shutdown: priority 0
    fp.send_advert(0, 102, 8)
    fp.flush()
    sent = fp.take_captured()
    assert [parse_ipv4(s.packet).priority for s in sent] == [0, 102]
    assert [s.queued_ns for s in sent] == [7, 8]
    assert all(parse_ipv4(s.packet).auth_data == b"1111\0\0\0\0" for s in sent)
    assert fp.slot_stats(0)["advert_sent"] == 2


def test_unicast_sends_one_packet_per_peer_with_its_checksum():
    peers = ("192.168.16.1", "192.168.16.2")
    fp, rec, sid = make(version=3, peers=peers)
    master(fp)
    fp.tick(S)
    sent = fp.take_captured()
    assert [ipaddress.ip_address(s.dst) for s in sent] == [ipaddress.ip_address(p) for p in peers]
    for s, peer in zip(sent, peers):
        adv = parse_ipv4(s.packet)
        assert adv.ok and str(adv.dst) == peer
        assert adv.checksum_form == proto.CSUM_PSEUDO_HEADER    # per-peer pseudo-header
    assert fp.slot_stats(0)["advert_sent"] == 1 and fp.slot_stats(0)["packets_sent"] == 2


def test_ipv6_advert_carries_the_pseudo_header_checksum():
    fp, rec, sid = make(version=3, family=6, vips=("fd00::1",))
    master(fp)
    fp.tick(S)
    (sent,) = fp.take_captured()
    adv = parse_ipv6(sent.packet, "fe80::2", sent.dst, 255)
    assert adv.ok and adv.checksum_form == proto.CSUM_IPV6_PSEUDO_HEADER
    assert sent.dst == ipaddress.ip_address("ff02::12").packed


def test_priority_change_and_new_source_rebuild_the_prebuilt_advert():
    fp, rec, sid = make()
    fp.update_slot(0, priority=150)
    info = fp.slot_info(0)
    assert parse_ipv4(info["packet"]).priority == 150
    fp.set_source(0, "192.168.16.200")
    assert str(parse_ipv4(fp.slot_info(0)["packet"]).src) == "192.168.16.200"


# ------------------------------------------------------------------ timers

def test_stale_handles_never_fire():
    fp, rec, sid = make()
    fp.update_slot(0, state=BACKUP)
    fp.arm_timer(0, 4, S)
    fp.arm_timer(0, 4, 3 * S)                # re-armed: the first deadline is gone
    fp.arm_timer(0, 5, 2 * S)
    assert fp.cancel_timer(0, 5) is True
    assert fp.cancel_timer(0, 5) is False
    fp.tick(2 * S)
    assert rec.calls == []
    fp.tick(3 * S)
    assert rec.kinds() == [compiled_mod.ESCALATE_TIMER]
    assert fp.timer_deadline(0, 4) is None and fp.armed_deadline(0, 4) == 3 * S


def test_an_expiry_cancelled_by_an_earlier_one_in_its_batch_is_dropped():
    fp, rec, sid = make()
    fp.update_slot(0, state=BACKUP)
    fp.arm_timer(0, 2, S)
    fp.arm_timer(0, 3, S + 1)
    fp.arm_timer(0, 4, S + 2)

    def hook(slot, what, now, kind):
        if kind == 2:
            fp.cancel_timer(0, 3)            # already taken from the wheel in this batch
            fp.arm_timer(0, 4, 9 * S)        # same: taken, and re-armed later
    rec.hook = hook
    fp.tick(2 * S)
    assert [c[3] for c in rec.calls] == [2]
    assert fp.stats()["stale_expiries"] == 2
    assert fp.timer_deadline(0, 4) == 9 * S


def test_remove_slot_cancels_its_timers():
    fp, rec, sid = make()
    fp.arm_timer(0, MD, S)
    fp.remove_slot(0)
    assert fp.next_deadline() is None
    fp.tick(2 * S)
    assert rec.calls == []


# ------------------------------------------------------------------ drops

def test_a_flood_of_bad_packets_escalates_once_per_reason_per_state():
    fp, rec, sid = make(auth=(1, b"1111"))
    backup(fp)
    bad_pass = advert(auth=b"2222")
    bad_ttl = bytearray(advert(auth=b"1111"))
    bad_ttl[8] = 64
    for i in range(100):
        fp.inject(sid, bad_pass, S + i)
        fp.inject(sid, bytes(bad_ttl), S + i)
    assert [(c[1], c[3][0]) for c in rec.calls] == [
        (compiled_mod.ESCALATE_DROP, proto.DROP_AUTH_FAILURE), (compiled_mod.ESCALATE_DROP, proto.DROP_TTL)]
    assert fp.slot_stats(0)["drops"] == {"auth_failure": 100, "ttl": 100}
    assert fp.timer_deadline(0, MD) == S + MDI               # a bad packet resets nothing
    fp.update_slot(0, state=MASTER)                           # a state change re-arms the log
    fp.inject(sid, bad_pass, 2 * S)
    fp.inject(sid, bad_pass, 2 * S)
    fp.update_slot(0, master="192.168.16.127")                # so does a new master
    fp.inject(sid, bad_pass, 3 * S)
    assert len(rec.calls) == 4
    assert fp.slot_stats(0)["advert_rcvd"] == 0


def test_v2_interval_mismatch_is_escalated_as_an_advert_once():
    fp, rec, sid = make()
    backup(fp)
    for i in range(3):
        fp.inject(sid, advert(adver_int=2), S + i)           # RFC 3768 §7.1
    assert rec.kinds() == [compiled_mod.ESCALATE_ADVERT]
    assert rec.calls[0][3].adver_int == 2
    assert fp.slot_stats(0)["drops"] == {"interval": 3}


@pytest.mark.parametrize("state", [0, FAULT, 98])
def test_packets_are_ignored_outside_backup_and_master(state):
    fp, rec, sid = make()
    fp.update_slot(0, state=state)
    fp.inject(sid, advert(), S)
    fp.inject(sid, advert(auth=b"x"), S)
    assert rec.calls == [] and fp.slot_stats(0)["rx_ignored"] == 2


def test_packets_are_ignored_during_the_startup_delay():
    fp, rec, sid = make()
    fp.update_slot(0, state=BACKUP, delay_until_ns=5 * S)
    fp.inject(sid, advert(), 5 * S - 1)
    assert rec.calls == []
    fp.inject(sid, advert(), 5 * S)
    assert len(rec.calls) == 1


def test_socket_level_drops_are_counted_per_socket():
    fp, rec, sid = make()
    fp.update_slot(0, state=BACKUP)
    pkt = advert()
    fp.inject(sid, pkt[:30], S)                              # IPv4 Total Length mismatch
    fp.inject(sid, pkt[:10], S)
    other = bytearray(pkt)
    other[21] = 67                                           # no slot for VRID 67
    fp.inject(sid, bytes(other), S)
    assert rec.calls == []
    assert fp.socket_stats(sid)["drops"] == {"too_short": 1, "ip_length": 1, "unknown_vrid": 1}
    assert fp.stats()["drops"] == {"too_short": 1, "ip_length": 1, "unknown_vrid": 1}


def test_unicast_checks_the_peer_and_the_destination():
    fp, rec, sid = make(version=3, peers=("192.168.16.128",), check_peers=True)
    fp.update_slot(0, state=BACKUP)
    fp.inject(sid, advert(version=3, dst=OURS), S)
    fp.inject(sid, advert(version=3, src="192.168.16.50", dst=OURS), S)
    fp.inject(sid, advert(version=3), S)                     # multicast to a unicast instance
    assert [c[1] for c in rec.calls] == [compiled_mod.ESCALATE_ADVERT, compiled_mod.ESCALATE_DROP,
                                          compiled_mod.ESCALATE_DROP]
    assert fp.slot_stats(0)["drops"] == {"not_peer": 1, "destination": 1}


# ------------------------------------------------------------------ both twins: the API

@pytest.fixture(params=[FastPath, SlowPath], ids=["compiled", "reference"])
def cls(request):
    return request.param


def test_constants_agree():
    for name in ("TIMER_MASTER_DOWN", "TIMER_ADVER", "TIMER_KINDS", "ESCALATE_ADVERT",
                 "ESCALATE_DROP", "ESCALATE_TIMER", "DROP_INTERVAL", "DROP_NOT_PEER",
                 "DROP_DESTINATION", "DROP_UNKNOWN_VRID", "DROP_NO_PKTINFO", "DROP_TRUNCATED",
                 "REASONS"):
        assert getattr(compiled_mod, name) == getattr(reference_mod, name), name


def test_reference_escalates_what_compiled_settles(cls):
    fp, rec, sid = make(cls)
    backup(fp)
    fp.inject(sid, advert(), 2 * S)
    master(fp, deadline=3 * S)
    fp.tick(3 * S)
    expected = [] if cls is FastPath else [compiled_mod.ESCALATE_ADVERT, compiled_mod.ESCALATE_TIMER]
    assert rec.kinds() == expected
    assert fp.slot_stats(0)["advert_rcvd"] == 1


@pytest.mark.parametrize("kwargs, error", [
    ({"family": 5}, ValueError),
    ({"version": 4}, ValueError),
    ({"version": 2, "family": 6, "addresses": ["fd00::1"], "src": "fe80::1"}, ValueError),
    ({"vrid": 0}, ValueError),
    ({"vrid": "66"}, TypeError),
    ({"addresses": []}, ValueError),
    ({"addresses": "192.168.16.130"}, TypeError),
    ({"addresses": ["fd00::1"]}, ValueError),
    ({"src": "not an address"}, ValueError),
    ({"advert_int_cs": 150}, ValueError),
    ({"auth_type": 2}, ValueError),
    ({"auth_pass": b"123456789", "auth_type": 1}, ValueError),
    ({"auth_pass": b"x"}, ValueError),
    ({"rx_socket": 77}, KeyError),
    ({"check_peers": True}, ValueError),
    ({"group": "10.0.0.1"}, ValueError),
    ({"checksum_form": proto.CSUM_IPV6_PSEUDO_HEADER}, ValueError),
])
def test_bad_slot_configuration_is_a_clear_error(cls, kwargs, error):
    fp = cls(capture=True)
    sid = fp.add_socket(-1, 4)
    args = dict(family=4, version=2, vrid=66, rx_socket=sid, tx_socket=sid, src=OURS,
                addresses=[VIP], advert_int_cs=100)
    args.update(kwargs)
    with pytest.raises(error):
        fp.configure_slot(0, **args)


def test_a_vrid_belongs_to_one_slot_per_socket(cls):
    fp, rec, sid = make(cls)
    with pytest.raises(ValueError, match="VRID 66"):
        fp.configure_slot(1, family=4, version=2, vrid=66, rx_socket=sid, tx_socket=sid, src=OURS,
                          addresses=[VIP], advert_int_cs=100)
    other = fp.add_socket(-1, 4)
    fp.configure_slot(1, family=4, version=2, vrid=66, rx_socket=other, tx_socket=other, src=OURS,
                      addresses=[VIP], advert_int_cs=100)
    with pytest.raises(ValueError, match="still used"):
        fp.remove_socket(other)
    with pytest.raises(ValueError, match="not an IPv4 socket"):
        fp.configure_slot(2, family=4, version=3, vrid=1, rx_socket=fp.add_socket(-1, 6),
                          tx_socket=-1, src=OURS, addresses=[VIP], advert_int_cs=100)


@pytest.mark.parametrize("call", [
    lambda fp: fp.update_slot(0, state=-1),
    lambda fp: fp.update_slot(0, priority=0),
    lambda fp: fp.update_slot(0, master="fd00::1"),
    lambda fp: fp.update_slot(0, master_adver_int=0),
    lambda fp: fp.update_slot(9, state=1),
    lambda fp: fp.arm_timer(0, 8, 1),
    lambda fp: fp.arm_timer(0, 0, -1),
    lambda fp: fp.send_advert(0, 256),
    lambda fp: fp.inject(0, "text"),
    lambda fp: fp.inject(0, b"", src="10.0.0.1"),
    lambda fp: fp.inject(5, b""),
    lambda fp: fp.tick(-1),
    lambda fp: fp.add_socket(-1, 5),
    lambda fp: fp.set_escalation(42),
])
def test_bad_calls_are_clear_errors(cls, call):
    fp, rec, sid = make(cls)
    with pytest.raises((ValueError, TypeError, KeyError)):
        call(fp)


def test_ipv6_inject_needs_its_ancillary_data(cls):
    fp, rec, sid = make(cls, version=3, family=6, vips=("fd00::1",))
    with pytest.raises(ValueError, match="src and dst"):
        fp.inject(sid, b"\x31" * 24)


def test_reentrant_drive_from_the_callback_is_refused_after_the_batch(cls):
    fp, rec, sid = make(cls)
    fp.update_slot(0, state=MASTER)
    fp.arm_timer(0, 2, S)
    fp.arm_timer(0, 3, S)
    rec.hook = lambda *a: fp.tick(S)
    with pytest.raises(RuntimeError, match="escalation callback"):
        fp.tick(S)
    assert len(rec.calls) == 2               # the batch completed before the error
    assert fp.stats()["escalation_errors"] == 2 and not fp.busy


def test_callback_exception_reaches_the_caller_after_the_batch(cls):
    fp, rec, sid = make(cls)
    fp.update_slot(0, state=BACKUP)

    def boom(*args):
        raise LookupError("bridge bug")
    rec.hook = boom
    with pytest.raises(LookupError):
        fp.inject(sid, advert(), S)
    rec.hook = None
    fp.inject(sid, advert(), 2 * S)          # the fast path still works
    assert len(rec.calls) == 2


def test_time_never_goes_back(cls):
    fp, rec, sid = make(cls)
    fp.update_slot(0, state=BACKUP)
    fp.tick(5 * S)
    fp.inject(sid, advert(), S)
    assert rec.calls[0][2] == 5 * S and fp.now_ns == 5 * S


def test_stats_shape(cls):
    fp, rec, sid = make(cls)
    assert set(fp.stats()) >= {"python_escalations", "rx_packets", "rx_batches", "rx_settled",
                               "tx_packets", "tx_batches", "tx_settled", "tx_errors", "drops"}
    assert set(fp.slot_stats(0)) >= {"advert_rcvd", "advert_sent", "rx_settled", "tx_settled",
                                     "escalations", "drops"}
    assert fp.socket_stats(sid)["fd"] == -1
    assert abs(cls.clock() - __import__("time").monotonic_ns()) < 10 * S


def test_send_without_a_socket_is_counted_not_raised(cls):
    fp = cls()                               # not capture: a real sendmmsg on fd -1
    sid = fp.add_socket(-1, 4)
    fp.configure_slot(0, family=4, version=2, vrid=66, rx_socket=sid, tx_socket=sid, src=OURS,
                      addresses=[VIP], advert_int_cs=100)
    fp.send_advert(0, 100)
    fp.flush()
    assert fp.stats()["tx_errors"] == 1 and fp.socket_stats(sid)["last_errno"] == 9   # EBADF
