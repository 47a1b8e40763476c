"""fastvrrp.track.runner: real short processes, both event loops.

Each process set-up keepalived applies to a script (notify.c
system_call_script: own process group, fds closed, /dev/null std streams,
uid/gid with supplementary groups cleared, PDEATHSIG) is checked from the
child's side, and every outcome class (exit, signal, timeout with group
kill, spawn failure, lost) from the parent's.
"""

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from fastvrrp.track import runner as runner_mod
from fastvrrp.track.runner import ChildSpec, Outcome, RunResult, ScriptRunner

from track_helpers import (LOOP_KINDS, children_of, fifo_lines, group_gone, is_dead,
                           make_world_dir, run_on, wait_dead, zombie_children)

pytestmark = pytest.mark.timeout(60)


def sh(script, *args, **kw):
    return ChildSpec(("/bin/sh", "-c", script, "sh") + tuple(args), **kw)


@pytest.fixture
def world_dir():
    path = make_world_dir()
    yield path
    shutil.rmtree(path)


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request):
    return request.param


def run_one(loop_kind, spec, timeout_s=None, **runner_kw):
    async def go():
        return await ScriptRunner(**runner_kw).run(spec, timeout_s)
    return run_on(loop_kind, go)


# ---------------------------------------------------------------- outcomes

def test_exit_zero_is_success(loop_kind):
    res = run_one(loop_kind, ChildSpec(("/bin/true",)))
    assert res.outcome is Outcome.EXITED and res.exit_status == 0 and res.success
    assert res.pid > 0 and res.ended_ns >= res.started_ns


def test_nonzero_exit_is_failure_with_keepalived_reason(loop_kind):
    res = run_one(loop_kind, sh("exit 7"))
    assert (res.outcome, res.exit_status, res.success) == (Outcome.EXITED, 7, False)
    assert res.describe() == "exited with status 7"


def test_death_by_signal(loop_kind):
    res = run_one(loop_kind, sh("kill -USR1 $$; sleep 5"))
    assert (res.outcome, res.signal, res.success) == (Outcome.SIGNALED, signal.SIGUSR1, False)
    assert res.describe() == "due to signal %d" % signal.SIGUSR1


def test_timeout_terms_the_whole_group(loop_kind, tmp_path):
    pidfile = tmp_path / "bg.pid"

    async def go():
        r = ScriptRunner()
        handle = r.start(sh('sleep 30 & echo $! > "$1"; wait', str(pidfile)), 0.4)
        res = await handle.wait()
        return handle, res
    handle, res = run_on(loop_kind, go)
    assert res.outcome is Outcome.TIMED_OUT and not res.success
    assert res.signal == signal.SIGTERM
    assert res.describe() == "timed out"
    assert wait_dead(int(pidfile.read_text()))
    assert group_gone(handle.pid)


def test_timeout_escalates_to_sigkill_when_term_is_ignored(loop_kind, tmp_path):
    pidfile = tmp_path / "bg.pid"
    # The leader and its background child both ignore SIGTERM.
    script = 'trap "" TERM; sleep 30 & echo $! > "$1"; wait; wait'

    async def go():
        r = ScriptRunner(term_grace_s=0.2)
        handle = r.start(sh(script, str(pidfile)), 0.4)
        return handle, await handle.wait()
    handle, res = run_on(loop_kind, go)
    assert (res.outcome, res.signal) == (Outcome.TIMED_OUT, signal.SIGKILL)
    assert wait_dead(int(pidfile.read_text()))   # SIGKILLed: gone moments after
    assert group_gone(handle.pid)


def test_timed_out_run_is_a_failure_even_if_it_exits_zero(loop_kind):
    # keepalived would count this as success; a check that hung is not healthy.
    res = run_one(loop_kind, sh('trap "exit 0" TERM; while :; do sleep 0.05; done'), 0.4)
    assert (res.outcome, res.exit_status, res.success) == (Outcome.TIMED_OUT, 0, False)


def test_timeout_kills_leftovers_when_leader_exits_on_term(loop_kind, tmp_path):
    pidfile = tmp_path / "bg.pid"
    script = 'trap "exit 3" TERM; sh -c "trap \\"\\" TERM; sleep 30" & echo $! > "$1"; ' \
             'while :; do sleep 0.05; done'

    async def go():
        r = ScriptRunner()
        handle = r.start(sh(script, str(pidfile)), 0.4)
        return handle, await handle.wait()
    handle, res = run_on(loop_kind, go)
    assert (res.outcome, res.exit_status) == (Outcome.TIMED_OUT, 3)
    assert wait_dead(int(pidfile.read_text()))   # SIGKILLed: gone moments after
    assert group_gone(handle.pid)


@pytest.mark.parametrize("make, errno_expected", [
    (lambda d: str(d / "missing"), 2),                    # ENOENT
    (lambda d: _plain_file(d / "not-exec"), 13),           # EACCES
    (lambda d: str(d), 13),                                # a directory: EACCES
])
def test_spawn_failure_is_a_result_not_an_exception(loop_kind, tmp_path, caplog, make,
                                                    errno_expected):
    path = make(tmp_path)
    caplog.set_level(logging.ERROR, "fastvrrp.track.runner")
    res = run_one(loop_kind, ChildSpec((path, "arg")))
    assert res.outcome is Outcome.SPAWN_FAILED and res.errno == errno_expected
    assert res.pid is None and not res.success
    assert res.describe().startswith("could not be executed: ")
    assert "Error exec-ing command '%s', error %d: " % (path, errno_expected) in caplog.text


def _plain_file(path):
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o644)
    return str(path)


def test_exit_callback_gets_the_result_and_its_errors_are_contained(loop_kind, caplog):
    seen = []

    def callback(result):
        seen.append(result)
        raise RuntimeError("observer bug")

    async def go():
        r = ScriptRunner()
        handle = r.start(ChildSpec(("/bin/false",)), None, callback)
        res = await handle.wait()
        return res, r.running
    res, running = run_on(loop_kind, go)
    assert seen == [res] and res.exit_status == 1
    assert running == 0
    assert "exit callback for /bin/false failed" in caplog.text


def test_spawn_failure_callback_runs_before_start_returns(loop_kind):
    seen = []

    async def go():
        handle = ScriptRunner().start(ChildSpec(("/nonexistent/x",)), None, seen.append)
        return handle, list(seen)
    handle, seen_at_return = run_on(loop_kind, go)
    assert handle.done and seen_at_return == [handle.result]


def test_lost_child_is_reported(loop_kind):
    async def go():
        r = ScriptRunner()
        handle = r.start(ChildSpec(("/bin/true",)))
        os.waitpid(handle.pid, 0)       # someone else reaps it before the loop does
        return await handle.wait()
    res = run_on(loop_kind, go)
    assert res.outcome is Outcome.LOST and not res.success


def test_reaping_without_pidfd(loop_kind, monkeypatch):
    def no_pidfd(pid, flags=0):
        raise OSError(38, "Function not implemented")
    monkeypatch.setattr(runner_mod.os, "pidfd_open", no_pidfd)
    res = run_one(loop_kind, sh("exit 4"))
    assert (res.outcome, res.exit_status) == (Outcome.EXITED, 4)
    assert zombie_children() == []


# ---------------------------------------------------------------- child set-up

def test_child_has_its_own_process_group(loop_kind):
    async def go():
        handle = ScriptRunner().start(ChildSpec(("/bin/sleep", "5")), 5)
        pgid = os.getpgid(handle.pid)
        pid = handle.pid
        handle.terminate(0.5)
        await handle.wait()
        return pid, pgid
    pid, pgid = run_on(loop_kind, go)
    assert pgid == pid != os.getpgid(0)


def test_descriptors_closed_and_std_streams_are_dev_null(loop_kind):
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        checks = ('[ ! -e /proc/$$/fd/%d ] || exit 10; ' % w +
                  'for n in 0 1 2; do '
                  '[ "$(readlink /proc/$$/fd/$n)" = /dev/null ] || exit 2$n; done')
        res = run_one(loop_kind, sh(checks))
    finally:
        os.close(r)
        os.close(w)
    assert (res.outcome, res.exit_status) == (Outcome.EXITED, 0)


def test_environment_inherited_or_given(loop_kind, monkeypatch):
    monkeypatch.setenv("FASTVRRP_TRACK_PROBE", "inherited")
    res = run_one(loop_kind, sh('[ "$FASTVRRP_TRACK_PROBE" = inherited ]'))
    assert res.exit_status == 0
    res = run_one(loop_kind, sh('[ "$FASTVRRP_TRACK_PROBE" = given ] && [ -z "$HOME" ]',
                                env={"FASTVRRP_TRACK_PROBE": "given", "PATH": "/usr/bin:/bin"}))
    assert res.exit_status == 0


# Through setpriv (the default, with PDEATHSIG) and through subprocess's own switch.
SWITCHERS = [pytest.param({}, id="setpriv"), pytest.param({"pdeathsig": None}, id="subprocess")]


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
@pytest.mark.parametrize("runner_kw", SWITCHERS)
def test_runs_as_user_with_supplementary_groups_cleared(loop_kind, world_dir, runner_kw):
    out = os.path.join(world_dir, "ids")
    script = 'grep -E "^(Uid|Gid|Groups):" /proc/$$/status > "$1"'
    res = run_one(loop_kind, sh(script, out, uid=65534, gid=65534), **runner_kw)
    assert res.exit_status == 0
    with open(out) as fh:
        ids = dict(line.split(":", 1) for line in fh.read().splitlines())
    assert ids["Uid"].split() == ["65534"] * 4          # real, effective, saved, fs
    assert ids["Gid"].split() == ["65534"] * 4
    assert ids["Groups"].split() == ["65534"]


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
@pytest.mark.parametrize("runner_kw", SWITCHERS)
def test_extra_groups_are_applied(loop_kind, world_dir, runner_kw):
    out = os.path.join(world_dir, "ids")
    res = run_one(loop_kind, sh('id -G > "$1"', out, uid=65534, gid=65534,
                                extra_groups=(65534, 4242)), **runner_kw)
    assert res.exit_status == 0
    with open(out) as fh:
        assert sorted(fh.read().split()) == ["4242", "65534"]


_PDEATH_PARENT = textwrap.dedent("""
    import asyncio, os, sys, signal
    from fastvrrp.track.runner import ChildSpec, ScriptRunner
    async def main():
        kw = {} if sys.argv[1] == "on" else {"pdeathsig": None}
        handle = ScriptRunner(**kw).start(ChildSpec(("/bin/sleep", "30")))
        print(handle.pid, flush=True)
        await asyncio.sleep(60)
    asyncio.run(main())
""")


@pytest.mark.parametrize("mode", ["on", "off"])
def test_parent_death_signal(mode):
    parent = subprocess.Popen([sys.executable, "-c", _PDEATH_PARENT, mode],
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    try:
        if mode == "on":
            # The child dies of SIGTERM once its parent is gone; it becomes an
            # orphan, so wait for it through a pidfd, not by sleeping.
            try:
                fd = os.pidfd_open(child)
            except ProcessLookupError:
                return                  # already dead and reaped by init: what we want
            try:
                import select
                ready, _, _ = select.select([fd], [], [], 10)
                assert ready, "child survived its parent"
            finally:
                os.close(fd)
        else:
            assert not is_dead(child)
    finally:
        if not is_dead(child):
            os.kill(child, signal.SIGKILL)


# ---------------------------------------------------------------- the system() form

def test_shell_form_command_string_quoting():
    spec = ChildSpec(("</dev/tcp/127.0.0.1/80", "a b", "c"), shell=True)
    assert spec.command_string() == "</dev/tcp/127.0.0.1/80 'a b' 'c'"
    assert ChildSpec(("/bin/x", "y")).command_string() == "'/bin/x' 'y'"


def test_shell_form_file_test(loop_kind, tmp_path):
    present = tmp_path / "present"
    present.write_text("")
    ok = run_one(loop_kind, ChildSpec(("<%s" % present,), shell=True))
    missing = run_one(loop_kind, ChildSpec(("< %s" % (tmp_path / "missing"),), shell=True))
    assert ok.success
    assert missing.outcome is Outcome.EXITED and missing.exit_status != 0


def test_shell_form_missing_command_is_a_failure(loop_kind, caplog):
    caplog.set_level(logging.ERROR, "fastvrrp.track.runner")
    res = run_one(loop_kind, ChildSpec(("/nonexistent/cmd",), shell=True))
    assert (res.outcome, res.exit_status) == (Outcome.EXITED, 127)
    assert "Couldn't find command: '/nonexistent/cmd'" in caplog.text


# ---------------------------------------------------------------- many children, shutdown

def test_no_zombies_after_mixed_runs(loop_kind, tmp_path):
    async def go():
        r = ScriptRunner(term_grace_s=0.2)
        specs = [(ChildSpec(("/bin/true",)), None), (ChildSpec(("/bin/false",)), None),
                 (sh("kill -KILL $$"), None), (sh("sleep 5"), 0.1),
                 (sh('trap "" TERM; sleep 5'), 0.1), (ChildSpec((str(tmp_path / "no"),)), None)]
        handles = [r.start(spec, t) for spec, t in specs * 4]
        results = [await h.wait() for h in handles]
        return results, r.running
    results, running = run_on(loop_kind, go)
    assert running == 0
    outcomes = {res.outcome for res in results}
    assert outcomes == {Outcome.EXITED, Outcome.SIGNALED, Outcome.TIMED_OUT, Outcome.SPAWN_FAILED}
    assert children_of() == []


def test_shutdown_stops_and_reaps_everything(loop_kind, tmp_path):
    fifo = str(tmp_path / "ready")
    os.mkfifo(fifo)

    async def go():
        r = ScriptRunner()
        for _ in range(3):
            r.start(sh('echo up > "$1"; sleep 30', fifo))
        r.start(sh('trap "" TERM; echo up > "$1"; sleep 30', fifo))
        await fifo_lines(fifo, 4)
        results = await r.shutdown(grace_s=0.2)
        return results, r.running
    results, running = run_on(loop_kind, go)
    assert [res.outcome for res in results] == [Outcome.TERMINATED] * 4
    assert sorted(res.signal for res in results) == [signal.SIGKILL] + [signal.SIGTERM] * 3
    assert running == 0
    assert children_of() == []


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, message", [
    (dict(argv=()), "argv must not be empty"),
    (dict(argv="/bin/true"), "argv must be a sequence of strings"),
    (dict(argv=("/bin/true", 3)), "argv words must be strings"),
    (dict(argv=("/bin/tr\0ue",)), "contains a NUL byte"),
    (dict(argv=("",)), "argv[0] must not be empty"),
    (dict(argv=("/bin/true",), uid=-1), "uid must be a non-negative integer"),
    (dict(argv=("/bin/true",), gid="root"), "gid must be a non-negative integer"),
    (dict(argv=("/bin/true",), extra_groups=(1, -2)), "extra_groups must be non-negative"),
])
def test_bad_spec_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        ChildSpec(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True])
def test_bad_timeout_is_a_clear_error(timeout):
    async def go():
        ScriptRunner().start(ChildSpec(("/bin/true",)), timeout)
    with pytest.raises(ValueError, match="timeout must be"):
        run_on("asyncio", go)


def test_bad_runner_arguments():
    async def go(**kw):
        ScriptRunner(**kw)
    with pytest.raises(ValueError, match="pdeathsig must be a signal number"):
        run_on("asyncio", lambda: go(pdeathsig=999))

    async def start_bad():
        ScriptRunner().start(["/bin/true"])
    with pytest.raises(ValueError, match="spec must be a ChildSpec"):
        run_on("asyncio", start_bad)


def test_run_result_describe_covers_every_outcome():
    texts = {RunResult(Outcome.EXITED, exit_status=2).describe(),
             RunResult(Outcome.SIGNALED, signal=9).describe(),
             RunResult(Outcome.TIMED_OUT).describe(),
             RunResult(Outcome.TERMINATED).describe(),
             RunResult(Outcome.SPAWN_FAILED, error="x").describe(),
             RunResult(Outcome.LOST, error="y").describe()}
    assert texts == {"exited with status 2", "due to signal 9", "timed out", "terminated",
                     "could not be executed: x", "lost: y"}

