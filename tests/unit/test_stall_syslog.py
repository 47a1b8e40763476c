"""A syslog socket that cannot be reached costs the event loop nothing (issue 6).

With no /dev/log the sender thread used to try two connects per line and
took the GIL from the loop; now a failed connect starts an exponential
back-off during which a line is only counted (no formatting, no thread
woken), one warning per outage goes to the other handlers, and a socket
that appears or is replaced ends the back-off at once.
"""

import logging
import os

import pytest

from fastvrrp.daemon import logsetup

import unixsock


@pytest.fixture
def short_dir():
    with unixsock.short_dir("fvs-") as d:
        yield d


@pytest.fixture
def warnings_seen():
    seen = []

    class Catch(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())
    lg = logging.getLogger(logsetup.__name__)
    h = Catch(level=logging.WARNING)
    lg.addHandler(h)
    yield seen
    lg.removeHandler(h)


@pytest.fixture
def handler():
    made = []

    def make(path, **attrs):
        h = logsetup.SyslogHandler(path)
        for k, v in attrs.items():
            setattr(h, k, v)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()


def record(msg, *args):
    return logging.LogRecord("fastvrrp.vrrp.machine", logging.INFO, __file__, 1, msg, args, None)


def test_an_unreachable_socket_is_tried_once_per_back_off_not_per_line(short_dir, handler,
                                                                       warnings_seen):
    h = handler(os.path.join(short_dir, "log"), BACKOFF_MIN_S=60.0)
    h.handle(record("first"))
    h.flush()
    assert h.connect_failures == 1
    for i in range(500):
        h.handle(record("line %d", i))
    h.flush()
    assert h.connect_failures == 1            # no connect per line during the back-off
    assert h.dropped == h.dropped_total == 501
    assert h.sent == 0 and not h._queue       # nothing queued for the thread either
    assert len(warnings_seen) == 1 and "cannot reach the syslog socket" in warnings_seen[0]
    assert h.warnings == 1


def test_a_line_in_back_off_is_not_even_formatted(short_dir, handler):
    h = handler(os.path.join(short_dir, "log"), BACKOFF_MIN_S=60.0)
    h.handle(record("first"))
    h.flush()
    h.handle(record("%d broken format", "not a number"))    # would raise if formatted
    assert h.dropped == 2


def test_the_back_off_doubles_up_to_its_cap_with_one_warning(short_dir, handler, warnings_seen):
    h = handler(os.path.join(short_dir, "log"), BACKOFF_MIN_S=0.001, BACKOFF_MAX_S=0.004)
    delays = []
    for i in range(5):
        h._down_until = 0.0                   # the back-off ran out: the next line retries
        h.handle(record("try %d", i))
        h.flush()
        delays.append(h._backoff)
    assert delays == [0.001, 0.002, 0.004, 0.004, 0.004]
    assert h.connect_failures == 5
    assert len(warnings_seen) == 1            # one outage, one warning


def test_a_socket_that_appears_ends_the_back_off_and_reports_the_loss(short_dir, handler,
                                                                      warnings_seen):
    path = os.path.join(short_dir, "log")
    h = handler(path, BACKOFF_MIN_S=60.0)
    for i in range(3):
        h.handle(record("lost %d", i))
    h.flush()
    sock = unixsock.datagram_socket(path)
    try:
        h.handle(record("back"))
        assert b"3 log message(s) dropped" in sock.recv(4096)
        assert sock.recv(4096).endswith(b": back")
        h.flush()
        assert (h.dropped, h._backoff, h._down_until) == (0, 0.0, 0.0)
    finally:
        sock.close()
    os.unlink(path)                           # a second outage warns again
    h.handle(record("gone again"))
    h.flush()
    assert h.warnings == 2 and len(warnings_seen) == 2
