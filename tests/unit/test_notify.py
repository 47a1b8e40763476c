"""fastvrrp.daemon.notify: ordered notify queues with real scripts and real FIFOs.

The scripts append their argv and a sequence number to a log (under flock),
so the tests see exactly which invocations happened and in which order.
keepalived 2.2.7's contract (vrrp_notify.c): the state's script with its
configured argv only, then the generic `notify` with INSTANCE|GROUP NAME
STATE PRIO appended, then the FIFO line.  fastvrrp's addition: per instance,
one run at a time, in order; bounded queues; timeouts.
"""

import asyncio
import logging
import os

import pytest

from fastvrrp.daemon.fifo import NotifyFifo, NotifyFifos
from fastvrrp.daemon.notify import (GROUP, INSTANCE, NotifyError, Notifier, NotifyScripts,
                                    NotifyStats, STOP_TIMEOUT_S)
from fastvrrp.track.runner import ChildSpec, Outcome, RunResult, ScriptRunner
from fastvrrp.vrrp.actions import Notify
from fastvrrp.vrrp.kinds import NotifyState, State

from notifylab import make_recorder, make_script, read_fifo_now, recorded
from track_helpers import (FakeLoop, FakeRunner, LOOP_KINDS, group_gone, is_dead, run_on,
                           zombie_children)

pytestmark = pytest.mark.timeout(60)

class Gate:
    """A FIFO a script blocks on (`read x < GATE`) until the test lets it pass."""

    def __init__(self, directory):
        self.path = os.path.join(str(directory), "gate")
        os.mkfifo(self.path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def release(self, n=1):
        os.write(self.fd, b"go\n" * n)

    def close(self):
        os.close(self.fd)


def scripts_for(rec, name, states=("master", "backup", "fault", "stop"), generic=True, **extra):
    kw = {s: ChildSpec((rec, name, s)) for s in states}
    if generic:
        kw["generic"] = ChildSpec((rec, "gen"))
    kw.update(extra)
    return NotifyScripts(**kw)


def expected_runs(name, transitions, specific=("MASTER", "BACKUP", "FAULT", "STOP"), kind=INSTANCE):
    out = []
    for state, prio in transitions:
        if state in specific:
            out.append((name, state.lower()))
        out.append(("gen", kind, name, state, str(prio)))
    return out


def runs_of(log, name):
    """Recorded argv tuples that belong to instance/group `name`, in order."""
    return [args for _, args in recorded(log)
            if args[0] == name or (args[0] == "gen" and args[2] == name)]


# ---------------------------------------------------------------- the test

FLAP = ("BACKUP", "MASTER", "BACKUP", "FAULT", "BACKUP", "MASTER")


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
def test_rapid_flapping_runs_every_script_in_order_per_instance(tmp_path, loop_kind):
    """Issue 5: 50 transitions in 2 s for each of two instances; every
    invocation happens, in order, per instance; the FIFO gets keepalived's lines."""
    rec, log = make_recorder(tmp_path)
    fifo_path = str(tmp_path / "notify.fifo")
    plans = {name: [(FLAP[i % len(FLAP)], 100 + (i * 7 + off) % 50) for i in range(50)]
             for name, off in (("VI_1", 0), ("VI_2", 3))}
    calls = []

    async def go():
        loop = asyncio.get_running_loop()
        runner = ScriptRunner()
        notifier = Notifier(runner, NotifyFifos([NotifyFifo(fifo_path)]))
        notifier.open()
        for name in plans:
            notifier.add_instance(name, scripts_for(rec, name))
        t0 = loop.time() + 0.05
        done = loop.create_future()

        def fire(name, state, prio):
            notifier.instance(name, state, prio)
            calls.append((name, state, prio))
            if len(calls) == 100:
                done.set_result(None)
        for i in range(50):             # 50 transitions in 2 s, the two instances interleaved
            for name, skew in (("VI_1", 0.0), ("VI_2", 0.02)):
                state, prio = plans[name][i]
                loop.call_at(t0 + i * 0.04 + skew, fire, name, state, prio)
        await done
        lines = read_fifo_now(fifo_path)     # written at the transition, before any script ends
        await notifier.wait_idle()
        stats = notifier.totals()
        await notifier.close()
        return lines, stats

    lines, stats = run_on(loop_kind, go, timeout=40)
    for name, plan in plans.items():
        assert runs_of(log, name) == expected_runs(name, plan)
    seqs = [seq for seq, _ in recorded(log)]
    assert seqs == list(range(200))       # 2 instances x 50 transitions x (specific + generic)
    assert lines == ['INSTANCE "%s" %s %d' % c for c in calls]
    assert (stats.queued, stats.succeeded, stats.failed, stats.dropped, stats.timed_out) == \
        (200, 200, 0, 0, 0)
    assert not os.path.exists(fifo_path) and not zombie_children()


# ---------------------------------------------------------------- arguments and order

def fake_notifier(tmp_path, **kw):
    """A notifier whose runs all succeed at once (no processes), with a real FIFO."""
    runner = FakeRunner(FakeLoop())
    runner.immediate = RunResult(Outcome.EXITED, exit_status=0)
    fifo = NotifyFifo(str(tmp_path / "f"))
    notifier = Notifier(runner, NotifyFifos([fifo]), **kw)
    notifier.open()
    return notifier, runner, fifo.path


def argvs(runner):
    return [h.spec.argv for h in runner.started]


def test_specific_script_gets_no_arguments_generic_gets_four(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_instance("VI_1", NotifyScripts(master=ChildSpec(("/m", "x y")),
                                         generic=ChildSpec(("/g", "-v"))))
    n.instance("VI_1", NotifyState.MASTER, 102)
    assert argvs(runner) == [("/m", "x y"), ("/g", "-v", "INSTANCE", "VI_1", "MASTER", "102")]
    assert read_fifo_now(fifo) == ['INSTANCE "VI_1" MASTER 102']


def test_only_generic_and_only_fifo(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_instance("A", NotifyScripts(generic=ChildSpec(("/g",))))
    n.add_instance("B")
    n.instance("A", "FAULT", 0)
    n.instance("B", "BACKUP", 255)
    assert argvs(runner) == [("/g", "INSTANCE", "A", "FAULT", "0")]
    assert read_fifo_now(fifo) == ['INSTANCE "A" FAULT 0', 'INSTANCE "B" BACKUP 255']


def test_group_notifies_with_priority_zero(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_group("G1", NotifyScripts(fault=ChildSpec(("/gf",)), generic=ChildSpec(("/gg",))))
    n.group("G1", "FAULT")
    n.group("G1", State.MASTER)
    assert argvs(runner) == [("/gf",), ("/gg", "GROUP", "G1", "FAULT", "0"),
                             ("/gg", "GROUP", "G1", "MASTER", "0")]
    assert read_fifo_now(fifo) == ['GROUP "G1" FAULT 0', 'GROUP "G1" MASTER 0']


def test_master_rx_lower_pri_runs_its_script_only(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_instance("VI_1", NotifyScripts(master_rx_lower_pri=ChildSpec(("/rx", "a")),
                                         generic=ChildSpec(("/g",))))
    n.action("VI_1", Notify(NotifyState.MASTER_RX_LOWER_PRI, 150))
    assert argvs(runner) == [("/rx", "a")]
    assert read_fifo_now(fifo) == ['INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150']


def test_deleted_is_fault_unless_notify_deleted(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    scripts = NotifyScripts(fault=ChildSpec(("/f",)), deleted=ChildSpec(("/d",)),
                            generic=ChildSpec(("/g",)))
    n.add_instance("OLD", scripts)
    n.add_instance("NEW", scripts, notify_deleted=True)
    n.instance("OLD", "DELETED", 100)
    n.instance("NEW", "DELETED", 100)
    assert argvs(runner) == [("/f",), ("/g", "INSTANCE", "OLD", "FAULT", "100"),
                             ("/d",), ("/g", "INSTANCE", "NEW", "DELETED", "100")]
    assert read_fifo_now(fifo) == ['INSTANCE "OLD" FAULT 100', 'INSTANCE "NEW" DELETED 100']


def test_sync_group_member_already_in_the_group_state_is_not_notified_again(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_group("G", NotifyScripts(generic=ChildSpec(("/gg",))))
    n.add_instance("VI_1", NotifyScripts(generic=ChildSpec(("/g",))), group="G")
    n.group("G", "BACKUP")
    n.instance("VI_1", "BACKUP", 100)      # first notification: always sent
    n.instance("VI_1", "MASTER", 100)      # the member moves first ...
    n.group("G", "MASTER")                 # ... then the group
    n.instance("VI_1", "MASTER", 100)      # repeat in the group's state: suppressed
    n.instance("VI_1", "STOP", 100)        # group not STOP yet: sent
    assert argvs(runner) == [("/gg", "GROUP", "G", "BACKUP", "0"),
                             ("/g", "INSTANCE", "VI_1", "BACKUP", "100"),
                             ("/g", "INSTANCE", "VI_1", "MASTER", "100"),
                             ("/gg", "GROUP", "G", "MASTER", "0"),
                             ("/g", "INSTANCE", "VI_1", "STOP", "100")]
    assert len(read_fifo_now(fifo)) == 5


def test_priority_changes_are_fifo_only_and_opt_in(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_instance("ON", NotifyScripts(generic=ChildSpec(("/g",))), priority_changes=True)
    n.add_instance("OFF", NotifyScripts(generic=ChildSpec(("/g",))))
    n.priority_changed("ON", State.MASTER, 98)
    n.priority_changed("ON", State.BACKUP, 97)
    n.priority_changed("ON", "FAULT", 96)
    n.priority_changed("OFF", State.MASTER, 98)
    assert argvs(runner) == []
    assert read_fifo_now(fifo) == ['INSTANCE "ON" MASTER_PRIORITY 98',
                                   'INSTANCE "ON" BACKUP_PRIORITY 97',
                                   'INSTANCE "ON" BACKUP_PRIORITY 96']


def test_write_state_is_the_line_alone(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_instance("VI_1", NotifyScripts(backup=ChildSpec(("/b",))))
    n.add_group("G")
    n.write_state(INSTANCE, "VI_1", "BACKUP", 100)
    n.write_state(GROUP, "G", "BACKUP")
    assert argvs(runner) == []
    assert read_fifo_now(fifo) == ['INSTANCE "VI_1" BACKUP 100', 'GROUP "G" BACKUP 0']


@pytest.mark.parametrize("call", [
    lambda n: n.instance("NOPE", "MASTER", 100),
    lambda n: n.instance("VI_1", "INIT", 100),
    lambda n: n.instance("VI_1", "MASTER", 256),
    lambda n: n.instance("VI_1", "MASTER", None),
    lambda n: n.instance("VI_1", 3, 100),
    lambda n: n.group("VI_1", "MASTER"),
    lambda n: n.group("G", "DELETED"),
    lambda n: n.priority_changed("VI_1", "MASTER", -1),
    lambda n: n.write_state("BOTH", "VI_1", "MASTER", 1),
    lambda n: n.add_instance("", NotifyScripts()),
    lambda n: n.add_instance("a\nb", NotifyScripts()),
    lambda n: n.add_instance("X", {"master": "/m"}),
    lambda n: n.add_group("G2", NotifyScripts(deleted=ChildSpec(("/d",)))),
    lambda n: NotifyScripts(master=("/m",)),
])
def test_bad_calls_are_clear_errors(tmp_path, call):
    n, _, _ = fake_notifier(tmp_path)
    n.add_instance("VI_1")
    n.add_group("G")
    with pytest.raises(NotifyError):
        call(n)


@pytest.mark.parametrize("kw", [dict(script_timeout_s=0), dict(script_timeout_s=-1),
                                dict(stop_timeout_s=None), dict(stop_timeout_s=float("nan")),
                                dict(queue_limit=0), dict(queue_limit=1.5), dict(fifos=[])])
def test_bad_settings_are_clear_errors(kw):
    runner = FakeRunner(FakeLoop())
    with pytest.raises(NotifyError):
        Notifier(runner, **kw)


# ---------------------------------------------------------------- hung scripts and bounds

def test_hung_script_is_killed_at_its_timeout_and_the_queue_moves_on(tmp_path, caplog):
    rec, log = make_recorder(tmp_path)
    pidfile = tmp_path / "bg.pid"
    hang = make_script(tmp_path, "hang.sh", 'sleep 30 & echo $! > "%s"; wait\n' % pidfile)
    results = []

    async def go():
        n = Notifier(ScriptRunner(), script_timeout_s=0.3,
                     on_result=lambda inv, res: results.append((inv.keyword, res.outcome)))
        n.add_instance("VI_1", NotifyScripts(master=ChildSpec((hang,)),
                                             backup=ChildSpec((rec, "VI_1", "backup"))))
        n.instance("VI_1", "MASTER", 100)
        n.instance("VI_1", "BACKUP", 100)
        await n.wait_idle()
        return n.stats(INSTANCE, "VI_1")
    with caplog.at_level(logging.WARNING, "fastvrrp.daemon.notify"):
        stats = run_on("uvloop", go)
    assert results == [("notify_master", Outcome.TIMED_OUT), ("notify_backup", Outcome.EXITED)]
    assert runs_of(log, "VI_1") == [("VI_1", "backup")]
    assert (stats.timed_out, stats.succeeded) == (1, 1)
    assert is_dead(int(pidfile.read_text()))          # the script's whole group was killed
    assert "(VI_1) notify_master script %s timed out after 0.3s - killed" % hang in caplog.text


def test_stop_script_gets_keepalived_s_one_second(tmp_path):
    pidfile = tmp_path / "stop.pid"
    stop = make_script(tmp_path, "stop.sh", 'echo $$ > "%s"; sleep 30 & wait\n' % pidfile)
    rec, log = make_recorder(tmp_path)

    async def go():
        n = Notifier(ScriptRunner())       # default stop_timeout_s: keepalived's 1 s
        n.add_instance("VI_1", NotifyScripts(stop=ChildSpec((stop,)),
                                             generic=ChildSpec((rec, "gen"))))
        n.instance("VI_1", "STOP", 100)
        await n.wait_idle()
        return n.stats(INSTANCE, "VI_1")
    stats = run_on("uvloop", go)
    assert stats.timed_out == 1 and stats.succeeded == 1
    assert runs_of(log, "VI_1") == [("gen", INSTANCE, "VI_1", "STOP", "100")]
    assert group_gone(int(pidfile.read_text()))
    assert STOP_TIMEOUT_S == 1.0




def test_instances_do_not_wait_for_each_other(tmp_path):
    rec, log = make_recorder(tmp_path)
    gate = Gate(tmp_path)
    blocked = make_script(tmp_path, "blocked.sh", 'read x < "%s"\n' % gate.path)

    async def go():
        n = Notifier(ScriptRunner())
        n.add_instance("SLOW", NotifyScripts(master=ChildSpec((blocked,)),
                                             backup=ChildSpec((rec, "SLOW", "backup"))))
        n.add_instance("FAST", scripts_for(rec, "FAST"))
        n.instance("SLOW", "MASTER", 100)
        n.instance("SLOW", "BACKUP", 100)
        for state in ("BACKUP", "MASTER", "BACKUP"):
            n.instance("FAST", state, 90)
        await n.wait_idle(INSTANCE, "FAST")
        slow_pending = n.pending(INSTANCE, "SLOW")
        before = runs_of(log, "SLOW")
        gate.release()
        await n.wait_idle()
        return slow_pending, before
    try:
        slow_pending, before = run_on("uvloop", go)
    finally:
        gate.close()
    assert slow_pending == 2 and before == []         # SLOW still on its first script
    assert runs_of(log, "FAST") == expected_runs("FAST", [("BACKUP", 90), ("MASTER", 90),
                                                          ("BACKUP", 90)])
    assert runs_of(log, "SLOW") == [("SLOW", "backup")]


def test_a_full_queue_drops_the_oldest_waiting_runs_and_counts_them(tmp_path, caplog):
    rec, log = make_recorder(tmp_path)
    gate = Gate(tmp_path)
    blocked = make_script(tmp_path, "blocked.sh", 'read x < "%s"\n' % gate.path)
    dropped = []

    async def go():
        n = Notifier(ScriptRunner(), queue_limit=4,
                     on_result=lambda inv, res: res is None and dropped.append(inv.argv))
        n.add_instance("VI_1", NotifyScripts(fault=ChildSpec((blocked,)),
                                             backup=ChildSpec((rec, "VI_1", "backup")),
                                             generic=ChildSpec((rec, "gen"))))
        n.instance("VI_1", "FAULT", 0)                # its script blocks the queue
        depth = []
        for prio in range(1, 11):                      # 10 transitions, 2 runs each
            n.instance("VI_1", "BACKUP", prio)
            depth.append(n.pending(INSTANCE, "VI_1"))
        gate.release()
        await n.wait_idle()
        return depth, n.stats(INSTANCE, "VI_1")
    with caplog.at_level(logging.WARNING, "fastvrrp.daemon.notify"):
        try:
            depth, stats = run_on("uvloop", go)
        finally:
            gate.close()
    assert max(depth) == 5                             # 4 waiting + the one running
    assert stats.dropped == 1 + 20 - 4 and stats.max_depth == 4
    # the newest two transitions survived, whole and in order
    assert runs_of(log, "VI_1") == [("VI_1", "backup"), ("gen", INSTANCE, "VI_1", "BACKUP", "9"),
                                    ("VI_1", "backup"), ("gen", INSTANCE, "VI_1", "BACKUP", "10")]
    assert dropped[0] == ("/".join([str(tmp_path), "rec.sh"]), "gen", INSTANCE, "VI_1", "FAULT",
                          "0")
    assert caplog.text.count("notify queue full") == 1


def test_spawn_failure_is_counted_and_the_queue_continues(tmp_path):
    rec, log = make_recorder(tmp_path)

    async def go():
        n = Notifier(ScriptRunner())
        n.add_instance("VI_1", NotifyScripts(master=ChildSpec((str(tmp_path / "gone.sh"),)),
                                             generic=ChildSpec((rec, "gen"))))
        n.instance("VI_1", "MASTER", 100)
        await n.wait_idle()
        return n.stats(INSTANCE, "VI_1")
    stats = run_on("asyncio", go)
    assert (stats.failed, stats.succeeded) == (1, 1)
    assert runs_of(log, "VI_1") == [("gen", INSTANCE, "VI_1", "MASTER", "100")]


def test_close_stops_what_runs_drops_what_waits_and_removes_the_fifo(tmp_path, caplog):
    pidfile = tmp_path / "hang.pid"
    hang = make_script(tmp_path, "hang.sh", 'echo $$ > "%s"; sleep 30 & wait\n' % pidfile)
    rec, log = make_recorder(tmp_path)
    fifo_path = str(tmp_path / "f")

    async def go():
        n = Notifier(ScriptRunner(), NotifyFifos([NotifyFifo(fifo_path)]))
        n.open()
        n.add_instance("VI_1", NotifyScripts(master=ChildSpec((hang,)),
                                             stop=ChildSpec((rec, "VI_1", "stop"))))
        n.instance("VI_1", "MASTER", 100)
        n.instance("VI_1", "STOP", 100)
        await n.close(timeout_s=0.3)
        n.instance("VI_1", "BACKUP", 100)              # after close: ignored, no crash
        return n.stats(INSTANCE, "VI_1")
    with caplog.at_level(logging.WARNING, "fastvrrp.daemon.notify"):
        stats = run_on("uvloop", go)
    assert (stats.dropped, stats.failed) == (1, 1)     # STOP script dropped, master terminated
    assert recorded(log) == []
    assert group_gone(int(pidfile.read_text()))
    assert not os.path.exists(fifo_path) and not zombie_children()
    assert "stopping 2 run(s)" in caplog.text and "after shutdown began - ignored" in caplog.text


def test_reload_keeps_queues_and_state(tmp_path):
    n, runner, fifo = fake_notifier(tmp_path)
    n.add_group("G")
    n.add_instance("VI_1", NotifyScripts(generic=ChildSpec(("/g",))), group="G")
    n.instance("VI_1", "BACKUP", 100)
    n.group("G", "BACKUP")
    n.add_instance("VI_1", NotifyScripts(generic=ChildSpec(("/new",))), group="G")  # reload
    n.instance("VI_1", "BACKUP", 100)                  # still suppressed: state was kept
    n.instance("VI_1", "MASTER", 100)
    assert argvs(runner) == [("/g", "INSTANCE", "VI_1", "BACKUP", "100"),
                             ("/new", "INSTANCE", "VI_1", "MASTER", "100")]
    n.remove_instance("VI_1")
    with pytest.raises(NotifyError):
        n.instance("VI_1", "MASTER", 100)
    assert n.totals().succeeded == 2


def test_stats_add_up():
    a, b = NotifyStats(queued=2, dropped=1, max_depth=3), NotifyStats(queued=1, max_depth=5)
    a.add(b)
    assert (a.queued, a.dropped, a.max_depth) == (3, 1, 5)
