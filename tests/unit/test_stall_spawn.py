"""ScriptRunner(spawn_thread=True): fork/exec off the event loop (issue 6).

The daemon's runner spawns on helper threads (vfork suspends the calling
thread until the child execs, and on a loaded machine that is ms per
script: 200 notify scripts in a burst held the loop for hundreds of ms).
Everything else is as with the plain runner: results, timeouts from the
spawn, terminate() (even before the spawn), shutdown, no zombie left.
"""

import asyncio
import os
import subprocess
import threading

import pytest

from fastvrrp.track import runner as runner_mod
from fastvrrp.track.runner import ChildSpec, Outcome, ScriptRunner

from track_helpers import LOOP_KINDS, group_gone, run_on, zombie_children

pytestmark = pytest.mark.timeout(60)


def sh(script, **kw):
    return ChildSpec(("/bin/sh", "-c", script, "sh"), **kw)


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_the_child_is_spawned_on_a_helper_thread(kind, monkeypatch):
    threads = []
    real = subprocess.Popen

    def popen(argv, *args, **kwargs):
        if "exit 3" in argv:           # the run (not the one-off setpriv --help probe)
            threads.append(threading.current_thread().name)
        return real(argv, *args, **kwargs)
    monkeypatch.setattr(runner_mod.subprocess, "Popen", popen)

    async def main():
        runner = ScriptRunner(spawn_thread=True)
        handle = runner.start(sh("exit 3"))
        assert handle.pid is None and runner.running == 1   # not spawned by start() itself
        return await handle.wait(), handle
    result, handle = run_on(kind, main)
    assert result.outcome is Outcome.EXITED and result.exit_status == 3
    assert result.pid == handle.pid and handle.pid > 0
    assert threads == ["fastvrrp-spawn"], threads
    assert zombie_children() == []


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_terminate_before_the_spawn_stops_the_child_once_it_exists(kind):
    async def main():
        runner = ScriptRunner(spawn_thread=True)
        handle = runner.start(sh("exec sleep 30"))
        handle.terminate(0.2)                  # the spawner has not reported back yet
        return await handle.wait(), handle.pid
    result, pid = run_on(kind, main)
    assert result.outcome is Outcome.TERMINATED
    assert group_gone(pid)
    assert zombie_children() == []


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_a_timeout_still_kills_the_group(kind):
    async def main():
        runner = ScriptRunner(spawn_thread=True, term_grace_s=0.2)
        return await runner.run(sh("sleep 30 & exec sleep 30"), timeout_s=0.2)
    result = run_on(kind, main)
    assert result.outcome is Outcome.TIMED_OUT
    assert group_gone(result.pid)


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_a_failure_in_the_spawner_thread_is_a_spawn_failure(kind):
    seen = []

    async def main():
        runner = ScriptRunner(spawn_thread=True)
        bad = sh("exit 0", env={"BAD": "x\0y"})         # Popen refuses it, in the thread
        handle = runner.start(bad, on_exit=seen.append)
        assert seen == []                              # reported later, on the loop
        return await handle.wait()
    result = run_on(kind, main)
    assert result.outcome is Outcome.SPAWN_FAILED and "null" in result.error
    assert seen == [result]


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_shutdown_right_after_starting_stops_every_run(kind, tmp_path):
    marker = tmp_path / "ran"

    async def main():
        runner = ScriptRunner(spawn_thread=True)
        for i in range(6):
            runner.start(sh("exec sleep 30"))
        runner.start(sh("echo x >> %s" % marker))
        results = await runner.shutdown(0.2)
        return results, runner.running
    results, running = run_on(kind, main)
    assert running == 0 and len(results) == 7
    assert {r.outcome for r in results} <= {Outcome.TERMINATED, Outcome.EXITED}
    assert sum(r.outcome is Outcome.TERMINATED for r in results) >= 6
    assert zombie_children() == []


def test_spawn_thread_must_be_a_bool():
    async def main():
        with pytest.raises(ValueError, match="spawn_thread"):
            ScriptRunner(spawn_thread="yes")
    asyncio.run(main())


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_many_runs_all_end_and_each_is_reaped(kind, tmp_path):
    log = tmp_path / "calls"

    async def main():
        runner = ScriptRunner(spawn_thread=True)
        handles = [runner.start(sh('echo %d >> "%s"' % (i, log))) for i in range(40)]
        return [await h.wait() for h in handles]
    results = run_on(kind, main)
    assert all(r.success for r in results)
    assert sorted(int(x) for x in log.read_text().split()) == list(range(40))
    assert len({r.pid for r in results}) == 40
    assert zombie_children() == []
    assert os.getpid() > 0
