"""Properties over random event sequences (hypothesis).

1. Invariants: never raises; at most one timer per kind (the simulated
   adapter's table always equals the machine's); state is one of the five;
   effective priority in 1..255; MASTER always has an Adver_Timer, BACKUP a
   Master_Down_Timer, nobody else either; VIPs only while MASTER; FAULT iff a
   fault reason is active; StateChanged actions chain.
2. Agreement with an independently written tiny model of the core RFC 5798 §6
   rules (owner start, Master_Down_Interval/Skew_Time from exact fractions,
   Backup accept/discard, Master yield/stay, priority 0 both ways).
"""

from fractions import Fraction
import math

from hypothesis import HealthCheck, given, settings, strategies as st

from fastvrrp.vrrp import (AddVips, AdvertRejected, Counter, FaultCleared, FaultSet, Log, Notify,
                           PriorityChanged, PriorityUpdated, RemoveVips, SendAdvert, Shutdown, SourceAddressChanged,
                           StateChanged, Startup, State, TimerFired, TimerKind, VrrpMachine)

from vrrp_harness import MS, S, US, VIP, Adapter, advert, ip, params

SOURCES = [ip("192.168.200.0"), ip("192.168.200.1"), ip("192.168.200.2"), ip("192.168.200.9")]
OURS = SOURCES[1]
REASONS = ["if eth0 down", "chk_a", "chk_b"]
REJECTS = [Counter.AUTH_FAILURE, Counter.IP_TTL_ERR, Counter.PACKET_LEN_ERR]


@st.composite
def instance_params(draw):
    version = draw(st.sampled_from([2, 3]))
    adv_cs = draw(st.sampled_from([100, 200])) if version == 2 else draw(st.sampled_from([1, 10, 100]))
    priority = draw(st.sampled_from([1, 50, 100, 101, 254, 255]))
    return params(
        version=version, advert_int_cs=adv_cs, priority=priority, primary_address=OURS,
        initial_state=draw(st.sampled_from([None, State.MASTER, State.BACKUP])),
        nopreempt=draw(st.booleans()),
        preempt_delay_ns=draw(st.sampled_from([0, 0, 2 * S])),
        down_timer_adverts=draw(st.sampled_from([3, 3, 1, 5])),
        skip_check_adv_addr=draw(st.booleans()),
        lower_prio_no_advert=draw(st.booleans()),
        higher_prio_send_advert=draw(st.booleans()),
        garp_master_delay_ns=draw(st.sampled_from([0, 5 * S])),
        garp_master_refresh_ns=draw(st.sampled_from([0, 3 * S])),
        garp_lower_prio_repeat=draw(st.sampled_from([0, 5])),
        unicast=draw(st.booleans()),
        log_detail=draw(st.booleans()),
    )


def _dt():
    return st.sampled_from([0, 1, 10 * MS, 300 * MS, S, 3 * S, 10 * S])


STEP = st.one_of(
    st.tuples(st.just("fire")),
    st.tuples(st.just("fire")),
    st.tuples(st.just("stale"), st.sampled_from(list(TimerKind)), st.integers(-5, 5)),
    st.tuples(st.just("advert"), _dt(), st.sampled_from(SOURCES), st.sampled_from([0, 1, 50, 100, 101, 254, 255]),
              st.sampled_from([0, 1, 2, 10, 100]), st.sampled_from([(VIP,), (), (VIP, ip("10.0.0.1"))])),
    st.tuples(st.just("rejected"), _dt(), st.sampled_from(REJECTS)),
    st.tuples(st.just("prio"), _dt(), st.integers(-300, 300)),
    st.tuples(st.just("fault"), _dt(), st.sampled_from(REASONS), st.booleans()),
    st.tuples(st.just("clear"), _dt(), st.sampled_from(REASONS)),
    st.tuples(st.just("startup"), _dt(), st.sampled_from([0, 0, 2 * S])),
    st.tuples(st.just("shutdown"), _dt()),
    st.tuples(st.just("source"), _dt(), st.sampled_from([OURS, SOURCES[3], None])),
)


def _advance(adapter: Adapter, dt: int) -> int:
    """Move the clock, never past the next armed timer (the adapter would fire it first)."""
    now = adapter.now + dt
    nxt = adapter.next_timer()
    if nxt is not None and nxt[1] < now:
        now = max(adapter.now, nxt[1])
    return now


def _event_for(adapter: Adapter, step):
    """(now, event) for a step, or None if the step does not apply."""
    kind = step[0]
    if kind == "fire":
        nxt = adapter.next_timer()
        if nxt is None:
            return None
        adapter.timers.pop(nxt[0])
        return max(adapter.now, nxt[1]), TimerFired(nxt[0], nxt[1])
    if kind == "stale":
        armed = adapter.timers.get(step[1])
        deadline = (armed if armed is not None else adapter.now) + step[2] * US
        if armed is not None and deadline == armed:
            deadline += 1
        return adapter.now, TimerFired(step[1], deadline)
    now = _advance(adapter, step[1])
    if kind == "advert":
        return now, advert(src=step[2], priority=step[3], adver_int=step[4], addresses=step[5])
    if kind == "rejected":
        return now, AdvertRejected(step[2])
    if kind == "prio":
        return now, PriorityChanged(step[2])
    if kind == "fault":
        return now, FaultSet(step[2], pending=step[3])
    if kind == "clear":
        return now, FaultCleared(step[2])
    if kind == "startup":
        return now, Startup(step[2])
    if kind == "shutdown":
        return now, Shutdown()
    return now, SourceAddressChanged(step[2])


def _check_invariants(adapter: Adapter, actions, before: State, eff_before: int, vips_on: list) -> None:
    m = adapter.machine
    assert m.state in (State.INIT, State.BACKUP, State.MASTER, State.FAULT, State.STOP)
    assert 1 <= m.effective_priority <= 255
    assert 1 <= m.base_priority <= 255
    assert adapter.timers == dict(m.timers)
    armed = set(m.timers)
    assert (TimerKind.ADVER in armed) == (m.state == State.MASTER), (m.state, armed)
    assert (TimerKind.MASTER_DOWN in armed) == (m.state == State.BACKUP), (m.state, armed)
    if m.state != State.MASTER:
        assert not armed & {TimerKind.GARP_DELAYED, TimerKind.GARP_REFRESH, TimerKind.GARP_LOWER_PRIO}
        assert not m.vips_set
    if m.state in (State.BACKUP, State.MASTER):
        assert not m.faults
    if m.state == State.FAULT:
        assert m.faults
    state, eff = before, eff_before
    for action in actions:
        if isinstance(action, StateChanged):
            assert action.old == state and action.new != state
            state = action.new
        elif isinstance(action, AddVips):
            assert not vips_on[0]
            vips_on[0] = True
        elif isinstance(action, RemoveVips):
            # Only what we added, except the forced cleanup when starting.
            assert vips_on[0] != action.force
            assert not action.force or before in (State.INIT, State.STOP)
            vips_on[0] = False
        elif isinstance(action, PriorityUpdated):
            assert action.old == eff and action.new != eff
            eff = action.new
        elif isinstance(action, SendAdvert):
            # Our current priority, or 0 when stopping / leaving for FAULT.
            assert action.priority in (0, eff)
            assert action.priority or state in (State.MASTER, State.FAULT, State.STOP)
        elif isinstance(action, Log):
            assert action.text.startswith("(VI_1) ")
        elif isinstance(action, Notify):
            assert action.priority == eff
    assert state == m.state and eff == m.effective_priority
    assert vips_on[0] == m.vips_set


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=instance_params(), steps=st.lists(STEP, max_size=60))
def test_random_sequences_keep_the_invariants(p, steps):
    adapter = Adapter(VrrpMachine(p))
    vips_on = [False]
    for step in [("startup", 0, 0)] + steps:
        got = _event_for(adapter, step)
        if got is None:
            continue
        before, eff_before = adapter.machine.state, adapter.machine.effective_priority
        actions = adapter.feed(*got)
        _check_invariants(adapter, actions, before, eff_before, vips_on)


# --------------------------------------------------------------- the tiny model


class TinyModel:
    """RFC 5798 §6.4 written out independently: state, one deadline, and the
    keepalived deltas the machine implements (owner 1 µs start, equal priority
    accepted by a backup, two owners -> 254)."""

    def __init__(self, version, adv_cs, prio, owner_starts_master, nopreempt):
        self.version, self.adv_cs, self.prio, self.nopreempt = version, adv_cs, prio, nopreempt
        self.owner_starts_master = owner_starts_master
        self.state = "INIT"
        self.deadline = None
        self.mai_cs = adv_cs

    def skew_ns(self, prio=None):
        p = self.prio if prio is None else prio
        seconds = Fraction(256 - p, 256) if self.version == 2 else Fraction((256 - p) * self.mai_cs, 25600)
        return math.floor(seconds * 1_000_000) * 1000  # keepalived truncates to µs

    def down_ns(self):
        return 3 * self.mai_cs * 10 * MS + self.skew_ns()

    def startup(self, now):
        self.state = "BACKUP"
        self.deadline = now + (1000 if self.owner_starts_master else self.down_ns())

    def fire(self, now):
        if self.state == "BACKUP":
            self.state = "MASTER"
        self.deadline = now + self.adv_cs * 10 * MS

    def advert(self, now, prio, src_gt, src_eq, adv_field):
        if self.version == 2 and adv_field * 100 != self.adv_cs:
            return
        if self.version == 3 and adv_field == 0:
            return
        if self.state == "BACKUP":
            if prio == 0:
                self.deadline = now + self.skew_ns()
            elif self.nopreempt or prio >= self.prio:
                if self.version == 3:
                    self.mai_cs = adv_field
                self.deadline = now + self.down_ns()
        elif self.state == "MASTER":
            if prio == 0:
                self.deadline = now + self.adv_cs * 10 * MS
                return
            if prio == self.prio == 255 and not src_eq:
                self.prio = 254
            if prio > self.prio or (prio == self.prio and src_gt):
                if self.version == 3:
                    self.mai_cs = adv_field
                self.state = "BACKUP"
                self.deadline = now + self.down_ns()
            else:
                self.deadline = now + self.adv_cs * 10 * MS


MODEL_STEP = st.one_of(
    st.tuples(st.just("fire")),
    st.tuples(st.just("advert"), st.sampled_from([1, 10 * MS, 400 * MS, S, 2 * S]),
              st.sampled_from(SOURCES), st.sampled_from([0, 1, 99, 100, 101, 255]), st.sampled_from([1, 2, 10, 100])),
)


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from([2, 3]), prio=st.sampled_from([1, 99, 100, 101, 254, 255]),
       adv=st.sampled_from([1, 10, 100]), nopreempt=st.booleans(),
       steps=st.lists(MODEL_STEP, min_size=1, max_size=40))
def test_machine_agrees_with_the_tiny_model(version, prio, adv, nopreempt, steps):
    adv_cs = 100 if version == 2 else adv
    p = params(version=version, advert_int_cs=adv_cs, priority=prio, nopreempt=nopreempt and prio != 255,
               primary_address=OURS, lower_prio_no_advert=False, higher_prio_send_advert=False,
               garp_master_delay_ns=0, garp_lower_prio_repeat=0)
    adapter = Adapter(VrrpMachine(p))
    model = TinyModel(version, adv_cs, prio, prio == 255, p.nopreempt)
    adapter.feed(0, Startup())
    model.startup(0)
    for step in steps:
        if step[0] == "fire":
            nxt = adapter.next_timer()
            now = max(adapter.now, nxt[1])
            adapter.fire(nxt[0])
            model.fire(now)
        else:
            _, dt, src, aprio, field = step
            now = _advance(adapter, dt)
            if now < adapter.now + dt:
                continue  # a timer is due first; let a "fire" step take it
            adapter.feed(now, advert(src=src, priority=aprio, adver_int=field))
            model.advert(now, aprio, int(src) > int(OURS), src == OURS, field)
        m = adapter.machine
        assert m.state.name == model.state
        armed = m.timers.get(TimerKind.MASTER_DOWN if model.state == "BACKUP" else TimerKind.ADVER)
        assert armed == model.deadline, (step, m.state, armed, model.deadline)
        assert m.effective_priority == model.prio
