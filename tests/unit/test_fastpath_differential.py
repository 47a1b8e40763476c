"""The differential test (issue 4): the fast path settles only what changes nothing.

Random event sequences (adverts from several sources with random priorities,
intervals, address lists and authentication; bad packets; time advancing;
priority changes; faults; shutdown and restart; reloads that reconfigure an
instance in place: priority, Advertisement_Interval, VIPs, preemption) are fed

  (1) to the Python state machines alone: every packet parsed by the
      reference codec and handed to `VrrpMachine.handle`, every timer kept
      in a dict and fired in (deadline, arming order) -- an oracle written
      here, independent of the fast path and of the bridge;
  (2) through the compiled fast path + FastPathBridge (packets injected,
      the wheel advanced by `tick`), and through the pure-Python SlowPath +
      bridge,

and must give the same traces: every advert sent (time, instance,
priority), every state change and VIP add/remove (time, instance, what),
and at the end the same machine state, priority, master and timer
deadlines.  An advert settled that the machine would not have accepted, or
a timer re-armed at another deadline, moves a state change or an advert in
time and fails the comparison.

Time advances the way the loop driver advances it: each side ticks at its
own next deadline, so a deadline that differs shows in the trace; "stall"
steps tick late instead.  Both sides use the same timer rule: an expiry
handled within one wheel tick (1 ms) of its deadline is handled at its
deadline, else at the tick's time.
"""

import dataclasses
import ipaddress

from hypothesis import HealthCheck, example, given, settings, strategies as st

from fastvrrp import proto
from fastvrrp._fastpath import FastPath
from fastvrrp._packet import build_advert
from fastvrrp.daemon.fastpath_bridge import FastPathBridge
from fastvrrp.reference import packet as refcodec
from fastvrrp.reference.fastpath import SlowPath
from fastvrrp.vrrp import (AddVips, AdvertReceived, AdvertRejected, ArmTimer, CancelTimer, Count,
                           FaultCleared, FaultSet, InstanceParams, PriorityChanged, Reconfigure,
                           RemoveVips, SendAdvert, Shutdown, Startup, State, StateChanged,
                           TimerFired, UpdateVips, VrrpMachine)
from fastvrrp.vrrp.kinds import Counter

MS = 1_000_000
S = 1_000_000_000
SLACK = MS
T0 = 10 * S
V4 = {"ours": "10.1.0.1", "sources": ["10.1.0.0", "10.1.0.2", "10.1.0.9"],
      "vips": ["10.1.0.100", "10.1.0.101"], "other": "10.1.0.200", "group": "224.0.0.18"}
V6 = {"ours": "fe80::b", "sources": ["fe80::a", "fe80::c", "fe80::f"],
      "vips": ["fd00::100", "fd00::101"], "other": "fd00::200", "group": "ff02::12"}
REJECT = {name: (Counter(c) if c else None) for name, c in proto.KEEPALIVED_COUNTER.items()}


def _ip(text):
    return ipaddress.ip_address(text)


# ---------------------------------------------------------------- instances

@st.composite
def instance(draw, vrid):
    family = draw(st.sampled_from([4, 4, 6]))
    version = 3 if family == 6 else draw(st.sampled_from([2, 3]))
    net = V4 if family == 4 else V6
    adv_cs = draw(st.sampled_from([100, 200])) if version == 2 else draw(st.sampled_from([1, 5, 100]))
    nvips = draw(st.sampled_from([1, 2]))
    params = InstanceParams(
        name="VI_%d" % vrid, vrid=vrid, version=version,
        priority=draw(st.sampled_from([50, 100, 100, 101, 254, 255])),
        advert_int_cs=adv_cs, vips=tuple(_ip(v) for v in net["vips"][:nvips]),
        primary_address=_ip(net["ours"]),
        initial_state=draw(st.sampled_from([None, State.MASTER, State.BACKUP])),
        nopreempt=draw(st.booleans()),
        preempt_delay_ns=draw(st.sampled_from([0, 0, 0, 3 * adv_cs * 10 * MS])),
        down_timer_adverts=draw(st.sampled_from([3, 3, 1])),
        skip_check_adv_addr=draw(st.booleans()),
        lower_prio_no_advert=draw(st.booleans()),
        higher_prio_send_advert=draw(st.booleans()),
        garp_master_delay_ns=draw(st.sampled_from([0, 5 * S])),
        garp_master_refresh_ns=draw(st.sampled_from([0, 0, 2 * S])),
        garp_lower_prio_repeat=draw(st.sampled_from([0, 5])),
    )
    auth = draw(st.sampled_from([0, 1])) if version == 2 else 0
    return {"params": params, "family": family, "net": net, "auth": auth}


def _interval_ns(inst):
    return inst["params"].advert_int_cs * 10 * MS


# ---------------------------------------------------------------- steps

ADVERT = st.fixed_dictionaries({
    "src": st.integers(0, 2),
    "priority": st.sampled_from([0, 1, 50, 99, 100, 100, 101, 101, 254, 255]),
    "interval": st.sampled_from(["own"] * 5 + ["other"]),
    "addrs": st.sampled_from(["ours"] * 6 + ["reversed", "other", "more"]),
    "auth": st.sampled_from(["ok"] * 6 + ["wrong", "none"]),
    "version": st.sampled_from(["own"] * 9 + ["other"]),
})
# What a live master sends: mostly valid, from one of the sources, at or above our priority.
GOOD_ADVERT = st.fixed_dictionaries({
    "src": st.integers(0, 2),
    "priority": st.sampled_from([0, 50, 100, 101, 101, 200, 254]),
    "interval": st.just("own"),
    "addrs": st.sampled_from(["ours"] * 4 + ["reversed", "other"]),
    "auth": st.just("ok"),
    "version": st.just("own"),
})
GAP = st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.0, 1.01, 2.9, 3.5])       # x advert interval
STEADY_GAP = st.sampled_from([0.5, 1.0, 1.0, 1.0, 1.01])

SIMPLE = st.one_of(
    st.tuples(st.just("advert"), st.integers(0, 1), GAP, ADVERT),
    st.tuples(st.just("steady"), st.integers(0, 1), GAP, ADVERT, st.integers(2, 12)),
    st.tuples(st.just("repeat"), st.integers(0, 1), GAP, st.integers(1, 8)),
    st.tuples(st.just("bad"), st.integers(0, 1), GAP,
              st.sampled_from(["checksum", "ttl", "type", "truncated", "vrid"])),
    st.tuples(st.just("advance"), st.sampled_from([0, MS // 2, MS, 7 * MS, 30 * MS, 300 * MS,
                                                   S, 4 * S])),
    st.tuples(st.just("stall"), st.sampled_from([MS // 2, 2 * MS, 30 * MS, S])),
    st.tuples(st.just("advance_rel"), st.integers(0, 1), GAP),
    st.tuples(st.just("priority"), st.integers(0, 1), st.sampled_from([-60, -2, -1, 0, 1, 2, 60])),
    st.tuples(st.just("fault"), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("restart"), st.integers(0, 1)),
    st.tuples(st.just("reconfigure"), st.integers(0, 1),
              st.sampled_from(["priority", "interval", "vips", "preempt"]), st.integers(0, 4)),
)
# Something happening in the middle of a steady state: the cases a wrong settle gets wrong.
EPISODE = st.tuples(st.just("episode"), st.integers(0, 1), STEADY_GAP, GOOD_ADVERT, st.integers(1, 6),
                    SIMPLE, st.integers(1, 6))
STEP = st.one_of(SIMPLE, EPISODE, EPISODE)


def build_packet(inst, adv):
    """The advert of step `adv` for instance `inst`: (packet, src packed, dst packed)."""
    p, net = inst["params"], inst["net"]
    family = inst["family"]
    version = p.version if adv["version"] == "own" else (3 if p.version == 2 else 2)
    if family == 6:
        version = 3
    if version == 2:
        adver_int = max(1, p.advert_int_cs // 100) + (0 if adv["interval"] == "own" else 1)
    else:
        adver_int = p.advert_int_cs if adv["interval"] == "own" else p.advert_int_cs * 2
    vips = [str(v) for v in p.vips]
    addrs = {"ours": vips, "reversed": vips[::-1], "other": [net["other"]] + vips[1:],
             "more": vips + [net["other"]]}[adv["addrs"]]
    src = net["sources"][adv["src"]]
    kw = {}
    if version == 2:
        if adv["auth"] == "ok" and inst["auth"]:
            kw = {"auth_type": 1, "auth_pass": b"1111"}
        elif adv["auth"] == "wrong":
            kw = {"auth_type": 1, "auth_pass": b"2222"}
    pkt = build_advert(version, p.vrid, adv["priority"], adver_int, addrs, family=family, src=src,
                       ip_header=family == 4, **kw)
    return pkt, _ip(src).packed, _ip(net["group"]).packed


def corrupt(pkt, inst, how):
    pkt = bytearray(pkt)
    off = 20 if inst["family"] == 4 else 0
    if how == "checksum":
        pkt[off + 6] ^= 0x55
    elif how == "ttl" and inst["family"] == 4:
        pkt[8] = 64
    elif how == "type":
        pkt[off] = (pkt[off] & 0xF0) | 2
    elif how == "truncated":
        del pkt[-4:]
    elif how == "vrid":
        pkt[off + 1] = 200
    return bytes(pkt)


# ---------------------------------------------------------------- the oracle

class Oracle:
    """The machines alone: reference codec, a timer dict, no fast path, no bridge."""

    def __init__(self, insts):
        self.insts = insts
        self.machines = [VrrpMachine(i["params"]) for i in insts]
        self.timers = {}                 # (index, kind) -> (deadline, arming sequence)
        self.seq = 0
        self.now = 0
        self.adverts = []
        self.events = []
        self.counts = [dict.fromkeys([c.value for c in Counter], 0) for _ in insts]

    def handle(self, i, now, event):
        for a in self.machines[i].handle(now, event):
            kind = type(a)
            if kind is Count:
                self.counts[i][a.counter.value] += 1
            elif kind is ArmTimer:
                self.seq += 1
                self.timers[(i, a.kind)] = (a.deadline_ns, self.seq)
            elif kind is CancelTimer:
                self.timers.pop((i, a.kind), None)
            elif kind is SendAdvert:
                self.adverts.append((now, i, a.priority))
                self.counts[i]["advert_sent"] += 1
            elif kind is StateChanged:
                self.events.append((now, i, "state", int(a.new)))
            elif kind in (AddVips, RemoveVips, UpdateVips):
                self.events.append((now, i, kind.__name__))

    def event(self, i, now, event):
        self.now = max(self.now, now)
        self.handle(i, self.now, event)

    def reconfigure(self, i, now, event):
        self.event(i, now, event)

    def packet(self, i, pkt, src, dst, now):
        """What keepalived's receive path does before the machine (RFC 5798 §7.1)."""
        self.now = now = max(self.now, now)
        inst = self.insts[i]
        if inst["family"] == 4:
            adv = refcodec.parse_ipv4(pkt)
        else:
            adv = refcodec.parse_ipv6(pkt, src, dst, 255)
        if adv.vrrp_length < 8 or adv.vrid != inst["params"].vrid:
            return                       # not for this instance
        reason = adv.reason or refcodec.check_instance(
            adv, inst["params"].version, inst["auth"], b"1111" if inst["auth"] else b"")
        if reason:
            counter = REJECT.get(proto.DROP_REASONS[reason])
            if counter is not None:
                self.handle(i, now, AdvertRejected(counter))
            return
        self.handle(i, now, AdvertReceived(adv.src, adv.priority, adv.adver_int, adv.addresses))

    def next_deadline(self):
        return min((d for d, _seq in self.timers.values()), default=None)

    def due(self, now):
        """The armed timers due at `now`, as (deadline, arming sequence, key), in order."""
        return sorted((d, seq, key) for key, (d, seq) in self.timers.items() if d <= now)

    def tick(self, now):
        self.now = now = max(self.now, now)
        for _round in range(64):
            due = self.due(now)
            if not due:
                return
            for d, seq, key in due:
                if self.timers.get(key) != (d, seq):
                    continue             # cancelled or re-armed by an earlier expiry
                del self.timers[key]
                t = d if now - d < SLACK else now
                self.handle(key[0], t, TimerFired(key[1], d))


# ---------------------------------------------------------------- fast path + bridge

class Bridged:
    def __init__(self, cls, insts):
        self.insts = insts
        self.fp = cls(capture=True)
        self.events = []
        self.bridge = FastPathBridge(self.fp, self._actions)
        self.socks = {4: self.fp.add_socket(-1, 4), 6: self.fp.add_socket(-1, 6)}
        for i, inst in enumerate(insts):
            sid = self.socks[inst["family"]]
            self.bridge.add_instance(i, VrrpMachine(inst["params"]), rx_socket=sid, tx_socket=sid,
                                     src=inst["net"]["ours"], auth_type=inst["auth"],
                                     auth_pass=b"1111" if inst["auth"] else b"")

    def _actions(self, i, now, actions):
        for a in actions:
            if type(a) is StateChanged:
                self.events.append((now, i, "state", int(a.new)))
            elif type(a) in (AddVips, RemoveVips, UpdateVips):
                self.events.append((now, i, type(a).__name__))

    def event(self, i, now, event):
        self.bridge.deliver(i, event, max(now, self.fp.now_ns))

    def reconfigure(self, i, now, event):
        inst = self.insts[i]
        sid = self.socks[inst["family"]]
        self.bridge.reconfigure(i, event, rx_socket=sid, tx_socket=sid, src=inst["net"]["ours"],
                                auth_type=inst["auth"],
                                auth_pass=b"1111" if inst["auth"] else b"",
                                now_ns=max(now, self.fp.now_ns))

    def packet(self, i, pkt, src, dst, now):
        if self.insts[i]["family"] == 4:
            self.fp.inject(self.socks[4], pkt, now)
        else:
            self.fp.inject(self.socks[6], pkt, now, src=src, dst=dst, hop_limit=255)

    def tick(self, now):
        self.fp.tick(now)

    def next_deadline(self):
        return self.fp.next_deadline()

    def adverts(self):
        out = []
        for sent in self.fp.take_captured():
            inst = self.insts[sent.slot]
            if inst["family"] == 4:
                adv = refcodec.parse_ipv4(sent.packet)
            else:
                adv = refcodec.parse_ipv6(sent.packet, inst["net"]["ours"], sent.dst, 255)
            assert adv.ok, "the fast path sent an invalid advert: %r" % (adv,)
            out.append((sent.queued_ns, sent.slot, adv.priority))
        return out


def run_until(driver, now, end):
    """Tick at every deadline up to `end` (as the loop driver does), then at `end`.
    Each side ticks at its own deadlines: a deadline that differs shows."""
    for _ in range(5000):
        deadline = driver.next_deadline()
        if deadline is None or deadline > end:
            break
        now = max(now, deadline)
        driver.tick(now)
    driver.tick(end)
    return end


def expand(steps):
    """Episodes as their three parts: steady, the interloper, the same master again."""
    for step in steps:
        if step[0] == "episode":
            _what, i, gap, adv, n1, middle, n2 = step
            yield ("steady", i, gap, adv, n1)
            yield middle
            yield ("repeat", i, gap, n2)
        else:
            yield step


def reconfigured(params, what, k):
    """`params` after a reload that changes `what` (k picks the new value)."""
    if what == "priority":
        return dataclasses.replace(params, priority=(50, 100, 101, 200, 255)[k])
    if what == "interval":
        choices = (100, 200) if params.version == 2 else (1, 5, 100)
        return dataclasses.replace(params, advert_int_cs=choices[k % len(choices)])
    if what == "vips":                  # one VIP swapped for another, or one more
        net = V4 if params.vips[0].version == 4 else V6
        pool = [_ip(a) for a in net["vips"]] + [_ip(net["other"])]
        vips = (pool[k % 3],) if k < 3 else tuple(pool[:2])
        return dataclasses.replace(params, vips=vips)
    return dataclasses.replace(params, nopreempt=not params.nopreempt)


def run(driver, insts, steps):
    """Feed `steps` to `driver`; returns the adverts it sent (Bridged) or None."""
    now = T0
    last = [None, None]
    sent = []
    params = [inst["params"] for inst in insts]
    for i in range(len(insts)):
        driver.event(i, now, Startup())
    for step in expand(steps):
        what = step[0]
        i = step[1] if what not in ("advance",) else 0
        i = min(i, len(insts) - 1)
        if what == "advance":
            now = run_until(driver, now, now + step[1])
        elif what == "stall":               # the loop was late: one tick, timers handled late
            now += step[1]
            driver.tick(now)
        elif what == "advance_rel":
            now = run_until(driver, now, now + int(_interval_ns(insts[i]) * step[2]))
        elif what in ("advert", "steady"):
            count = step[4] if what == "steady" else 1
            pkt, src, dst = build_packet(insts[i], step[3])
            last[i] = (pkt, src, dst)
            for _ in range(count):
                now = run_until(driver, now, now + int(_interval_ns(insts[i]) * step[2]))
                driver.packet(i, pkt, src, dst, now)
        elif what == "repeat" and last[i] is not None:    # the same master goes on
            for _ in range(step[3]):
                now = run_until(driver, now, now + int(_interval_ns(insts[i]) * step[2]))
                driver.packet(i, *last[i], now)
        elif what == "bad":
            base = last[i] or build_packet(insts[i], {"src": 0, "priority": 100, "interval": "own",
                                                      "addrs": "ours", "auth": "ok",
                                                      "version": "own"})
            now = run_until(driver, now, now + int(_interval_ns(insts[i]) * step[2]))
            driver.packet(i, corrupt(base[0], insts[i], step[3]), base[1], base[2], now)
        elif what == "priority":
            driver.event(i, now, PriorityChanged(step[2]))
        elif what == "fault":
            driver.event(i, now, FaultSet("chk") if step[2] else FaultCleared("chk"))
        elif what == "restart":
            driver.event(i, now, Shutdown())
            driver.event(i, now, Startup())
        elif what == "reconfigure":
            new = reconfigured(params[i], step[2], step[3])
            added = bool(set(new.vips) - set(params[i].vips))
            params[i] = new
            driver.reconfigure(i, now, Reconfigure(new, addresses_added=added))
        if isinstance(driver, Bridged):
            sent.extend(driver.adverts())
    run_until(driver, now, now + 3 * S)
    if isinstance(driver, Bridged):
        sent.extend(driver.adverts())
    return sent


def by_time(trace):
    """Order by (time, instance), keeping each instance's order within one time."""
    return sorted(trace, key=lambda e: (e[0], e[1]))


def machine_view(machine):
    return (machine.state, machine.effective_priority, machine.master_addr,
            machine.master_priority, machine.master_adver_interval_ns, dict(machine.timers),
            machine.vips_set, machine.wantstate)


def _inst(vrid, family=4, auth=0, **kw):
    net = V4 if family == 4 else V6
    base = dict(name="VI_%d" % vrid, vrid=vrid, version=3, priority=100, advert_int_cs=100,
                vips=(_ip(net["vips"][0]),), primary_address=_ip(net["ours"]))
    base.update(kw)
    return {"params": InstanceParams(**base), "family": family, "net": net, "auth": auth}


def _adv(**kw):
    base = {"src": 2, "priority": 101, "interval": "own", "addrs": "ours", "auth": "ok",
            "version": "own"}
    base.update(kw)
    return base


# Scenarios a wrong settle gets wrong, always run besides the random ones.
SCENARIOS = [
    # our priority rises above the known master's: its next adverts must not settle
    ([_inst(1)], [("episode", 0, 1.0, _adv(), 3, ("priority", 0, 2), 6)]),
    # the master says priority 0, then carries on (RFC 5798 §6.4.2 Skew_Time)
    ([_inst(1)], [("episode", 0, 1.0, _adv(), 3, ("advert", 0, 1.0, _adv(priority=0)), 4)]),
    # the known master changes its address list (logged and counted, not settled)
    ([_inst(1, vips=(_ip("10.1.0.100"), _ip("10.1.0.101")))],
     [("episode", 0, 1.0, _adv(), 3, ("advert", 0, 1.0, _adv(addrs="reversed")), 3),
      ("repeat", 0, 1.0, 3)]),
    # a v3 master changes its interval: Master_Adver_Interval is learned again
    ([_inst(1)], [("episode", 0, 1.0, _adv(), 3, ("advert", 0, 1.0, _adv(interval="other")), 3),
                  ("repeat", 0, 1.0, 3)]),
    # nopreempt: a lower known master settles; with preempt_delay it must not
    ([_inst(1, nopreempt=True)], [("episode", 0, 1.0, _adv(priority=50), 4, ("advance", 0), 4)]),
    ([_inst(1, preempt_delay_ns=2 * S)],
     [("episode", 0, 1.0, _adv(priority=50), 4, ("advance", 0), 6)]),
    # v2 PASS with a bad password in the middle; IPv6
    ([_inst(1, version=2, auth=1)],
     [("episode", 0, 1.0, _adv(), 3, ("advert", 0, 1.0, _adv(auth="wrong")), 3)]),
    ([_inst(1, family=6)], [("episode", 0, 1.0, _adv(), 3, ("stall", S), 3)]),
    # a master advertising (case b) hears a better one, then a lower one
    ([_inst(1, priority=255, advert_int_cs=5)],
     [("advance", 300 * MS), ("episode", 0, 1.0, _adv(priority=0), 2, ("advance", 300 * MS), 1)]),
    ([_inst(1, initial_state=State.MASTER, advert_int_cs=5)],
     [("advance", 400 * MS), ("episode", 0, 1.0, _adv(priority=200), 3, ("fault", 0, True), 3),
      ("fault", 0, False), ("advance", 400 * MS)]),
    # reloads in place: a master that keeps advertising while its interval, priority
    # and VIPs change; a backup that learns a master, then is reloaded above it
    ([_inst(1, initial_state=State.MASTER, advert_int_cs=5)],
     [("advance", 300 * MS), ("reconfigure", 0, "interval", 0), ("advance", 50 * MS),
      ("reconfigure", 0, "priority", 1), ("reconfigure", 0, "vips", 1), ("advance", 300 * MS)]),
    ([_inst(1)], [("episode", 0, 1.0, _adv(priority=150), 3, ("reconfigure", 0, "priority", 3),
                   3), ("advance", 5 * S)]),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(instance(1), instance(2)).flatmap(
    lambda insts: st.tuples(st.just(list(insts)), st.lists(STEP, min_size=1, max_size=30))))
@example(SCENARIOS[0])
@example(SCENARIOS[1])
@example(SCENARIOS[2])
@example(SCENARIOS[3])
@example(SCENARIOS[4])
@example(SCENARIOS[5])
@example(SCENARIOS[6])
@example(SCENARIOS[7])
@example(SCENARIOS[8])
@example(SCENARIOS[9])
@example(SCENARIOS[10])
@example(SCENARIOS[11])
def test_fast_path_gives_the_machine_alone_trace(case):
    insts, steps = case
    oracle = Oracle(insts)
    run(oracle, insts, steps)
    for cls in (FastPath, SlowPath):
        bridged = Bridged(cls, insts)
        sent = run(bridged, insts, steps)
        where = cls.__name__
        assert by_time(sent) == by_time(oracle.adverts), where + ": adverts differ"
        assert by_time(bridged.events) == by_time(oracle.events), where + ": state/VIP traces differ"
        for i in range(len(insts)):
            assert bridged.bridge.counters(i) == oracle.counts[i], (where, "counters of", i)
        for i in range(len(insts)):
            assert machine_view(bridged.bridge.machine(i)) == machine_view(oracle.machines[i]), where
            pending = {k: d for k, d in bridged.bridge.machine(i).timers.items()}
            from fastvrrp.daemon.fastpath_bridge import TIMER_CODE
            for kind, code in TIMER_CODE.items():
                assert bridged.fp.timer_deadline(i, code) == pending.get(kind), (where, kind)
        assert bridged.bridge.inconsistencies == 0, where


def test_steady_state_is_settled_in_c():
    """The differential test must exercise the settle paths, not only escalations."""
    inst = {"params": InstanceParams(name="VI_1", vrid=1, version=3, priority=100,
                                     advert_int_cs=1, vips=(_ip("10.1.0.100"),),
                                     primary_address=_ip("10.1.0.1")),
            "family": 4, "net": V4, "auth": 0}
    adv = {"src": 1, "priority": 101, "interval": "own", "addrs": "ours", "auth": "ok",
           "version": "own"}
    steps = [("steady", 0, 1.0, adv, 12)] + [("advance", 3 * MS)] * 300
    oracle = Oracle([inst])
    run(oracle, [inst], steps)
    bridged = Bridged(FastPath, [inst])
    sent = run(bridged, [inst], steps)
    st_ = bridged.fp.stats()
    assert st_["rx_settled"] == 11          # the first advert teaches the master
    assert st_["tx_settled"] > 50           # then it becomes master and advertises (10 ms)
    assert by_time(sent) == by_time(oracle.adverts)
    assert by_time(bridged.events) == by_time(oracle.events)
