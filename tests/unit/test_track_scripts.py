"""vrrp_script tracking: the rise/fall machine, the scheduler, real scripts.

The rise/fall expectations are worked out by hand from keepalived 2.2.7's
vrrp_script_child_thread (reference §3.3) and cross-checked by hypothesis
against an independent model ("rise consecutive successes to go up, fall
consecutive failures to go down; init decided by the first result").
"""

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import textwrap
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastvrrp.config.model import Command, VrrpScript
from fastvrrp.track.risefall import RiseFall, ScriptState
from fastvrrp.track.runner import ChildSpec, Outcome, RunResult, ScriptRunner
from fastvrrp.track.scripts import ScriptTracker, TrackedScript, script_from_config

from track_helpers import LOOP_KINDS, FakeLoop, FakeRunner, children_of, is_dead, run_on

pytestmark = pytest.mark.timeout(60)

INIT, OK, KO = ScriptState.INIT, ScriptState.OK, ScriptState.KO
S, F = True, False


def states_after(rise, fall, results, init_fail=False):
    rf = RiseFall(rise, fall, init_fail)
    out = []
    for r in results:
        rf.feed(r)
        out.append(rf.state)
    return out


# ---------------------------------------------------------------- rise/fall (§3.3)

def test_initial_state_and_counter():
    rf = RiseFall(3, 2)
    assert (rf.state, rf.result) == (INIT, 2)          # rise - 1
    rf = RiseFall(3, 2, init_fail=True)
    assert (rf.state, rf.result) == (KO, 0)


@pytest.mark.parametrize("first, expected", [(S, OK), (F, KO)])
def test_first_result_decides_init_even_with_large_rise_and_fall(first, expected):
    rf = RiseFall(5, 4)
    assert rf.feed(first) == (INIT, expected)


def test_rise_and_fall_need_consecutive_results():
    # rise 2, fall 3, starting from a first failure.
    seq = [F, S, F, S, S, F, F, S, F, F, F, S, S]
    assert states_after(2, 3, seq) == [
        KO,                 # init: the first result decides
        KO, KO,             # one success is not enough, a failure resets
        KO, OK,             # two consecutive successes
        OK, OK, OK,         # two failures, then a success resets the fall count
        OK, OK, KO,         # three consecutive failures
        KO, OK]


def test_counter_values_follow_keepalived():
    rf = RiseFall(2, 3)
    assert rf.result == 1
    rf.feed(S)
    assert rf.result == 4          # OK: jumps to rise + fall - 1
    rf.feed(F)
    assert rf.result == 3
    rf.feed(S)
    assert rf.result == 4
    for expected in (3, 2):
        rf.feed(F)
        assert (rf.result, rf.state) == (expected, OK)
    rf.feed(F)
    assert (rf.result, rf.state) == (0, KO)   # at rise: goes KO, counter to 0
    rf.feed(S)
    assert (rf.result, rf.state) == (1, KO)


def test_init_fail_needs_full_rise_and_reports_no_change_on_failure():
    rf = RiseFall(3, 1, init_fail=True)
    assert rf.feed(F) is None and rf.state is KO
    assert [rf.feed(S), rf.feed(S)] == [None, None]
    assert rf.feed(S) == (KO, OK)


def test_init_fail_with_rise_one_goes_ok_on_first_success():
    rf = RiseFall(1, 1, init_fail=True)
    assert rf.feed(S) == (KO, OK)


def test_feed_reports_only_changes():
    rf = RiseFall(1, 2)
    assert [rf.feed(r) for r in (S, S, F, F, F, S)] == [
        (INIT, OK), None, None, (OK, KO), None, (KO, OK)]


@pytest.mark.parametrize("rise, fall, message", [
    (0, 1, "rise must be an integer 1..2147483647"),
    (1, 0, "fall must be an integer 1..2147483647"),
    (True, 1, "rise must be an integer"),
    (1, "2", "fall must be an integer"),
    (2**31, 1, "rise must be an integer"),
])
def test_bad_rise_fall_is_a_clear_error(rise, fall, message):
    with pytest.raises(ValueError, match=message):
        RiseFall(rise, fall)


def _model(rise, fall, init_fail, results):
    """Independent model: consecutive-run counting, init decided by the first result."""
    state = KO if init_fail else INIT
    streak_ok = streak_ko = 0
    out = []
    for r in results:
        streak_ok, streak_ko = (streak_ok + 1, 0) if r else (0, streak_ko + 1)
        if state is INIT:
            state = OK if r else KO
            streak_ok = streak_ko = 0
        elif state is KO and streak_ok >= rise:
            state, streak_ok = OK, 0
        elif state is OK and streak_ko >= fall:
            state, streak_ko = KO, 0
        out.append(state)
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.booleans(), st.lists(st.booleans(), max_size=40))
def test_rise_fall_matches_the_consecutive_run_model(rise, fall, init_fail, results):
    assert states_after(rise, fall, results, init_fail) == _model(rise, fall, init_fail, results)


@pytest.mark.parametrize("old_args, feed, new_args, expect_state, expect_result, line", [
    ((2, 3), [S], (2, 3), OK, 4, "considered successful"),
    ((2, 3), [S, F], (4, 2), OK, 5, "considered successful"),       # 4 + (3 - 2), clamped to 5
    ((2, 3), [S, F], (1, 1), OK, 1, "considered successful"),
    ((3, 1), [F, S], (2, 1), KO, 0, "considered unsuccessful"),      # 2 - (3 - 1)
    ((3, 1), [F, S, S], (5, 1), KO, 4, "considered unsuccessful"),   # 5 - (3 - 2)
    ((3, 1), [F], (3, 1), KO, 0, "considered unsuccessful"),
])
def test_carry_over_on_reload(caplog, old_args, feed, new_args, expect_state, expect_result,
                              line):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    old = RiseFall(*old_args)
    for r in feed:
        old.feed(r)
    new = RiseFall(*new_args)
    new.carry_over(old, "chk")
    assert (new.state, new.result) == (expect_state, expect_result)
    assert "VRRP_Script(chk) %s on reload" % line in caplog.text


def test_carry_over_keeps_init():
    new = RiseFall(3, 1)
    new.carry_over(RiseFall(1, 1), "chk")
    assert (new.state, new.result) == (INIT, 2)


# ---------------------------------------------------------------- the tracker, on a fake clock

def tracked(name="chk", interval=2.0, timeout=None, rise=1, fall=1, init_fail=False):
    return TrackedScript(name, ChildSpec(("/usr/local/src/check.sh",), name=name), interval,
                         timeout, rise, fall, init_fail)


def exited(code):
    return RunResult(Outcome.EXITED, pid=1, exit_status=code)


@pytest.fixture
def fake():
    loop = FakeLoop()
    runner = FakeRunner(loop)
    changes = []
    return loop, runner, changes


def make_tracker(fake, *scripts, on_change=None):
    loop, runner, changes = fake
    return ScriptTracker(scripts or (tracked(),), runner, loop=loop,
                         on_change=on_change or (lambda *a: changes.append(a)))


def test_runs_at_start_then_every_interval(fake):
    loop, runner, _ = fake
    tracker = make_tracker(fake, tracked(interval=2.0, timeout=0.5))
    assert runner.started == []
    tracker.start()
    loop.advance(0)
    assert len(runner.started) == 1 and runner.started[0].timeout_s == 0.5
    runner.started[0].finish(exited(0))
    loop.advance(1.999)
    assert len(runner.started) == 1
    loop.advance(0.001)
    assert len(runner.started) == 2
    runner.started[1].finish(exited(0))
    loop.advance(2.0)
    assert len(runner.started) == 3


def test_timeout_defaults_to_interval(fake):
    loop, runner, _ = fake
    make_tracker(fake, tracked(interval=3.0)).start()
    loop.advance(0)
    assert runner.started[0].timeout_s == 3.0


def test_skips_a_run_while_the_previous_one_is_running(fake, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    loop, runner, _ = fake
    tracker = make_tracker(fake, tracked("chk_nginx", interval=2.0))
    tracker.start()
    loop.advance(2.0)                      # t=0 run still going at t=2
    assert len(runner.started) == 1
    assert "Track script chk_nginx is already running, expect idle - skipping run" in caplog.text
    runner.started[0].terminating = True   # the kill sequence has begun
    loop.advance(2.0)
    assert len(runner.started) == 1
    assert "Track script chk_nginx is being timed out, expect idle - skipping run" in caplog.text
    runner.started[0].finish(RunResult(Outcome.TIMED_OUT, pid=1, signal=signal.SIGTERM))
    loop.advance(2.0)
    assert len(runner.started) == 2
    status = tracker.status("chk_nginx")
    assert (status.runs, status.skipped, status.running) == (2, 2, True)


def test_state_changes_reach_the_observer_with_keepalived_log_lines(fake, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    loop, runner, changes = fake
    tracker = make_tracker(fake, tracked("chk_nginx", rise=1, fall=2))
    tracker.start()
    results = [exited(0), exited(1), exited(1), exited(0),
               RunResult(Outcome.SIGNALED, pid=1, signal=9),
               RunResult(Outcome.TIMED_OUT, pid=1, signal=15)]
    for i, res in enumerate(results):
        loop.advance(0 if i == 0 else 2.0)
        runner.started[-1].finish(res)
    assert changes == [("chk_nginx", INIT, OK), ("chk_nginx", OK, KO), ("chk_nginx", KO, OK),
                       ("chk_nginx", OK, KO)]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "VRRP_Script(chk_nginx) succeeded",
        "Script `chk_nginx` now returning 1",
        "VRRP_Script(chk_nginx) failed (exited with status 1)",
        "Script `chk_nginx` now returning 0",
        "VRRP_Script(chk_nginx) succeeded",
        "VRRP_Script(chk_nginx) timed_out",
    ]
    assert tracker.state("chk_nginx") is KO


def test_signal_failure_line(fake, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    loop, runner, changes = fake
    make_tracker(fake).start()
    loop.advance(0)
    runner.started[0].finish(RunResult(Outcome.SIGNALED, pid=1, signal=9))
    assert changes == [("chk", INIT, KO)]
    assert [r.getMessage() for r in caplog.records] == ["VRRP_Script(chk) failed (due to signal 9)"]


def test_spawn_failure_counts_as_failure(fake, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    loop, runner, changes = fake
    runner.immediate = RunResult(Outcome.SPAWN_FAILED, errno=2, error="No such file: /x")
    tracker = make_tracker(fake)
    tracker.start()
    loop.advance(0)
    assert changes == [("chk", INIT, KO)]
    assert "VRRP_Script(chk) failed (could not be executed: No such file: /x)" in caplog.text
    assert not tracker.status("chk").running
    loop.advance(2.0)
    assert len(runner.started) == 2          # not stuck as "already running"


def test_init_fail_starts_ko_without_a_callback(fake):
    loop, runner, changes = fake
    tracker = make_tracker(fake, tracked(init_fail=True, rise=2))
    assert tracker.state("chk") is KO
    tracker.start()
    loop.advance(0)
    runner.started[0].finish(exited(1))
    loop.advance(2.0)
    runner.started[1].finish(exited(0))
    assert changes == []
    loop.advance(2.0)
    runner.started[2].finish(exited(0))
    assert changes == [("chk", KO, OK)]


def test_each_script_has_its_own_schedule_and_state(fake):
    loop, runner, changes = fake
    tracker = make_tracker(fake, tracked("a", interval=1.0), tracked("b", interval=3.0))
    tracker.start()
    for _ in range(4):                     # t = 0, 1, 2, 3
        loop.advance(0 if not runner.started else 1.0)
        for handle in list(runner.live):
            handle.finish(exited(0 if handle.spec.name == "a" else 1))
    names = [h.spec.name for h in runner.started]
    assert names.count("a") == 4 and names.count("b") == 2
    assert tracker.states() == {"a": OK, "b": KO}
    assert sorted(changes) == [("a", INIT, OK), ("b", INIT, KO)]


def test_observer_errors_are_contained(fake, caplog):
    loop, runner, _ = fake

    def broken(*args):
        raise RuntimeError("bug")
    tracker = make_tracker(fake, on_change=broken)
    tracker.start()
    loop.advance(0)
    runner.started[0].finish(exited(0))
    assert tracker.state("chk") is OK
    assert "on_change for vrrp_script chk failed" in caplog.text


def test_stop_cancels_timers_and_terminates_running_checks(fake):
    loop, runner, changes = fake
    tracker = make_tracker(fake, tracked("a"), tracked("b"))
    tracker.start()
    loop.advance(0)
    runner.started[0].finish(exited(0))
    running = runner.started[1]
    asyncio.run(tracker.stop(grace_s=0.5))
    assert running.terminated_with == 0.5
    running.finish(RunResult(Outcome.TERMINATED, pid=1, signal=15))
    loop.advance(10.0)
    assert len(runner.started) == 2
    assert changes == [("a", INIT, OK)]


def test_tracker_input_errors():
    loop = FakeLoop()
    with pytest.raises(ValueError, match="vrrp_script chk is defined twice"):
        ScriptTracker([tracked(), tracked()], FakeRunner(loop), loop=loop)
    with pytest.raises(ValueError, match="expected TrackedScript"):
        ScriptTracker(["chk"], FakeRunner(loop), loop=loop)
    tracker = ScriptTracker([tracked()], FakeRunner(loop), loop=loop)
    with pytest.raises(KeyError, match="no vrrp_script named 'nope'"):
        tracker.state("nope")
    tracker.start()
    with pytest.raises(RuntimeError, match="already started"):
        tracker.start()


@pytest.mark.parametrize("kwargs, message", [
    (dict(interval=0), "vrrp_script chk: interval must be a positive number"),
    (dict(interval=float("nan")), "interval must be a positive number"),
    (dict(timeout=-1), "timeout must be a positive number"),
    (dict(rise=0), "rise must be an integer"),
])
def test_tracked_script_input_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tracked(**kwargs)


def test_script_from_config_model():
    vs = VrrpScript(name="chk_http_port",
                    command=Command(("/usr/local/src/check_nginx_pid.sh",)),
                    interval_us=2_000_000, weight=2, rise=2, fall=3, init_fail=True)
    t = script_from_config(vs, argv=("/usr/local/src/check_nginx_pid.sh",), uid=0, gid=0)
    assert (t.name, t.interval_s, t.run_timeout_s, t.rise, t.fall, t.init_fail) == \
        ("chk_http_port", 2.0, 2.0, 2, 3, True)
    assert (t.spec.argv, t.spec.uid, t.spec.gid, t.spec.shell) == \
        (("/usr/local/src/check_nginx_pid.sh",), 0, 0, False)
    system = script_from_config(VrrpScript(name="tcp", command=Command(("</dev/tcp/10.0.0.1/80",)),
                                           timeout_us=500_000))
    assert system.spec.shell and system.run_timeout_s == 0.5


# ---------------------------------------------------------------- real processes

async def _collect_changes(tracker_factory, until):
    """Run a tracker until `until(changes)` holds; return the changes."""
    changes = []
    event = asyncio.Event()

    def on_change(*args):
        changes.append(args)
        if until(changes):
            event.set()
    tracker = tracker_factory(on_change)
    tracker.start()
    try:
        await event.wait()
    finally:
        await tracker.stop()
    return changes


PLAN_SCRIPT = """#!/bin/sh
# exit with the first code listed in the plan file, and drop it; 1 when empty
code=$(head -n 1 "$1")
sed -i 1d "$1"
exit ${code:-1}
"""


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
def test_real_script_results_drive_rise_and_fall(loop_kind, tmp_path, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track.scripts")
    script = tmp_path / "check.sh"
    script.write_text(PLAN_SCRIPT)
    script.chmod(0o755)
    plan = tmp_path / "plan"
    plan.write_text("3\n0\n0\n0\n1\n")

    async def go():
        def factory(on_change):
            defn = TrackedScript("chk", ChildSpec((str(script), str(plan))), interval_s=0.05,
                                 rise=3, fall=1)
            return ScriptTracker([defn], ScriptRunner(), on_change=on_change)
        return await _collect_changes(factory, lambda changes: len(changes) == 3)
    changes = run_on(loop_kind, go)
    assert changes == [("chk", INIT, KO), ("chk", KO, OK), ("chk", OK, KO)]
    # a run skipped because the previous one was still running (a loaded
    # machine, 50 ms interval) is logged and changes nothing: not counted here
    lines = [r.getMessage() for r in caplog.records if "is already running" not in r.getMessage()]
    assert lines == ["Script `chk` now returning 3",
                     "VRRP_Script(chk) failed (exited with status 3)",
                     "Script `chk` now returning 0",
                     "VRRP_Script(chk) succeeded",
                     "Script `chk` now returning 1",
                     "VRRP_Script(chk) failed (exited with status 1)"]
    assert children_of() == []


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
def test_hung_check_is_timed_out_and_skipped_not_stacked(loop_kind, tmp_path, caplog):
    caplog.set_level(logging.INFO, "fastvrrp.track")
    marker = tmp_path / "starts"

    async def go():
        def factory(on_change):
            spec = ChildSpec(("/bin/sh", "-c", 'echo x >> "$1"; sleep 30', "sh", str(marker)))
            defn = TrackedScript("hung", spec, interval_s=0.05, timeout_s=0.2)
            return ScriptTracker([defn], ScriptRunner(), on_change=on_change)
        return await _collect_changes(factory, lambda changes: True)
    changes = run_on(loop_kind, go)
    assert changes == [("hung", INIT, KO)]
    assert "VRRP_Script(hung) timed_out" in caplog.text
    assert "Track script hung is already running, expect idle - skipping run" in caplog.text
    assert marker.read_text().count("x") == 1      # skipped runs never started
    assert children_of() == []


# ---------------------------------------------------------------- the seed's script shape

SEED_SHAPE = textwrap.dedent("""\
    #!/bin/bash
    # The seed's check_nginx_pid.sh, with nginx and keepalived replaced by
    # stand-ins: {name} (a renamed sleep) and the process {daemon_pid}.
    A=`ps -C {name} --no-header |wc -l`
    if [ $A -eq 0 ];then
          {start}
          if [ `ps -C {name} --no-header |wc -l` -eq 0 ];then
                  kill {daemon_pid}
          fi
    fi
    """)


@pytest.fixture
def seed_setup(tmp_path):
    name = "fvngx" + uuid.uuid4().hex[:8]          # comm names are at most 15 characters
    server = tmp_path / name
    shutil.copy("/bin/sleep", server)
    daemon = subprocess.Popen(["/bin/sleep", "60"])
    yield name, server, daemon
    daemon.kill()
    daemon.wait()
    for pid in _pids_named(name):
        os.kill(pid, signal.SIGKILL)


def _pids_named(name):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/comm" % entry) as fh:
                    if fh.read().strip() == name:
                        out.append(int(entry))
            except OSError:
                pass
    return [p for p in out if not is_dead(p)]


def _write_seed_script(tmp_path, name, start, daemon_pid):
    script = tmp_path / "check_nginx_pid.sh"
    script.write_text(SEED_SHAPE.format(name=name, start=start, daemon_pid=daemon_pid))
    script.chmod(0o775)                                 # the seed: chmod 775
    return script


class RecordingRunner(ScriptRunner):
    """A ScriptRunner that also queues every result, so a test can await runs."""

    def __init__(self):
        super().__init__()
        self.results = asyncio.Queue()

    def start(self, spec, timeout_s=None, on_exit=None):
        def record(result):
            self.results.put_nowait(result)
            if on_exit is not None:
                on_exit(result)
        return super().start(spec, timeout_s, record)


def _run_seed_check(loop_kind, script, runs):
    """Track the script as the seed does (interval shortened), for `runs` runs."""
    async def go():
        runner = RecordingRunner()
        states = []
        defn = TrackedScript("chk_http_port", ChildSpec((str(script),)), interval_s=0.2)
        tracker = ScriptTracker([defn], runner, on_change=lambda *a: states.append(a))
        tracker.start()
        try:
            return [await runner.results.get() for _ in range(runs)], states
        finally:
            await tracker.stop()
    return run_on(loop_kind, go)


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
def test_seed_script_restarts_the_server_and_stays_ok(loop_kind, tmp_path, seed_setup):
    name, server, daemon = seed_setup
    # Like `systemctl start nginx`: returns once the server runs, outside the script's group.
    start = ('setsid %s 300 >/dev/null 2>&1 </dev/null & '
             'for i in $(seq 500); do [ -n "$(ps -C %s --no-header)" ] && break; sleep 0.01; done'
             % (server, name))
    script = _write_seed_script(tmp_path, name, start, daemon.pid)
    assert _pids_named(name) == []                      # "nginx" is stopped
    results, states = _run_seed_check(loop_kind, script, 2)
    assert [r.success for r in results] == [True, True]
    assert states == [("chk_http_port", INIT, OK)]      # weight 2 stays applied
    assert len(_pids_named(name)) == 1                  # restarted once, found the second time
    assert daemon.poll() is None                        # keepalived left alone


@pytest.mark.parametrize("loop_kind", LOOP_KINDS)
def test_seed_script_stops_the_daemon_when_restart_fails(loop_kind, tmp_path, seed_setup):
    name, _, daemon = seed_setup
    script = _write_seed_script(tmp_path, name, "/bin/false", daemon.pid)
    results, _ = _run_seed_check(loop_kind, script, 1)
    assert results[0].outcome is Outcome.EXITED
    assert daemon.wait(timeout=10) == -signal.SIGTERM   # "killall keepalived": the VIP moves
