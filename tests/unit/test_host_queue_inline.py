"""HostQueue's Inline jobs (issue 6, failover): a job that needs no task runs at
once on an idle queue, keeps its turn on a busy one, and holds back what comes
after it until it calls done()."""

import asyncio

import pytest

from fastvrrp.daemon.instance import HostQueue, Inline


class Pending:
    """An Inline start() whose done() the test calls: the kernel's late answer."""

    def __init__(self, log, name):
        self.log, self.name, self.done = log, name, None

    def __call__(self, done):
        self.log.append("start " + self.name)
        self.done = done


def test_an_inline_job_on_an_idle_queue_starts_at_once_without_a_task():
    log = []

    async def main():
        q = HostQueue("VI_1")
        job = Pending(log, "add")
        q.submit(Inline(job))
        started_now = list(log)             # before any loop turn
        assert q._task is None and q.pending == 1
        job.done()
        assert q.pending == 0
        return started_now, q

    started_now, q = asyncio.run(main())
    assert started_now == ["start add"]
    assert (q.done, q.failed) == (1, 0)


def test_what_comes_while_an_inline_job_is_out_waits_for_its_done_in_order():
    log = []

    async def main():
        q = HostQueue("VI_1")
        add = Pending(log, "add")
        q.submit(Inline(add))
        garp = Pending(log, "garp")
        q.submit(Inline(garp))              # queued behind the add

        async def remove():
            log.append("remove")
        q.submit(remove)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert log == ["start add"]         # nothing overtook the add
        add.done()
        assert log == ["start add", "start garp"]   # the next Inline job at once
        garp.done()
        await q.drain()
        return q

    q = asyncio.run(main())
    assert log == ["start add", "start garp", "remove"]
    assert (q.done, q.failed) == (3, 0)


def test_an_inline_job_behind_a_running_task_keeps_its_turn():
    log = []

    async def main():
        q = HostQueue("VI_1")
        gate = asyncio.Event()

        async def slow():
            log.append("slow begins")
            await gate.wait()
            log.append("slow ends")
        q.submit(slow)
        q.submit(Inline(lambda done: (log.append("inline"), done())))
        await asyncio.sleep(0)
        assert log == ["slow begins"]
        gate.set()
        await q.drain()
        return q

    q = asyncio.run(main())
    assert log == ["slow begins", "slow ends", "inline"]
    assert q.done == 2


def test_drain_waits_for_an_inline_job_and_a_failure_is_counted_not_raised():
    log = []

    async def main():
        q = HostQueue("VI_1")
        job = Pending(log, "add")
        q.submit(Inline(job))
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, job.done, OSError(1, "EPERM"))
        await asyncio.wait_for(q.drain(), 5)
        assert job.done is not None
        q.submit(Inline(lambda done: 1 / 0))     # raises in start(): counted too
        return q

    q = asyncio.run(main())
    assert (q.done, q.failed) == (0, 2)


def test_done_called_twice_counts_once():
    async def main():
        q = HostQueue("VI_1")
        q.submit(Inline(lambda done: (done(), done())))
        return q

    q = asyncio.run(main())
    assert (q.done, q.failed, q.pending) == (1, 0, 0)


def test_a_plain_function_is_not_taken_for_an_inline_job():
    async def main():
        q = HostQueue("VI_1")
        with pytest.raises(TypeError):
            q.submit(None)

    asyncio.run(main())
