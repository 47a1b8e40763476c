"""A chunked dump still reads every counter at one instant (issue 6).

engine_dumps.render reads a chunk of instances per turn of the loop (so a
dump of 1,000 instances does not hold the fast path's adverts back); with
`counters_of`, the counters of every instance are read first, all before the
loop turns once, so the dump's counters describe one moment of the wire.
"""

import asyncio
import io

import pytest

from fastvrrp.daemon import engine_dumps

from unit.test_engine_parts import CONF, _view, loads


@pytest.mark.parametrize("kind", ["stats", "json"])
def test_every_counter_is_read_before_the_loop_turns(kind):
    views = [_view({"advert_sent": 0}) for _ in range(10)]
    sent = [0]                  # the fast path's adverts: one more per loop turn
    read_at = []

    async def main():
        loop = asyncio.get_running_loop()
        done = []

        def tick():
            sent[0] += 1
            if not done:
                loop.call_soon(tick)
        loop.call_soon(tick)

        def counters_of(view):
            read_at.append(sent[0])
            return {"advert_sent": sent[0]}

        def view_of(view, counters):
            return engine_dumps.InstanceView(**{**view.__dict__, "counters": counters})
        text = await engine_dumps.render(kind, views, view_of, counters_of=counters_of,
                                         chunk=3)
        done.append(True)
        return text, sent[0]
    text, turns = asyncio.run(main())
    assert len(read_at) == 10 and len(set(read_at)) == 1      # one instant for all
    assert turns > read_at[0] + 2                             # the loop did turn between chunks
    want = io.StringIO()
    fixed = [engine_dumps.InstanceView(**{**v.__dict__, "counters": {"advert_sent": read_at[0]}})
             for v in views]
    (engine_dumps.write_stats if kind == "stats" else engine_dumps.write_json)(want, fixed)
    assert text == want.getvalue()


def test_without_counters_of_the_views_are_read_as_before():
    config, _ = loads(CONF % dict(name="VI_1", vrid=51, prio=100, vip="10.0.0.100/24"))
    views = [_view({"advert_rcvd": n}) for n in range(4)]
    want = io.StringIO()
    engine_dumps.write_json(want, views)
    got = asyncio.run(engine_dumps.render("json", views, lambda v: v, chunk=2))
    assert got == want.getvalue()
