"""fastvrrp.daemon.logsetup: keepalived's syslog / console / file lines.

The expected forms were captured from keepalived 2.2.7 (`-n -l -D`, in a
namespace, its /dev/log bound to a test socket):
    <30>Nov 25 21:30:46 Keepalived_vrrp[4]: (VI_1) Entering MASTER STATE
    Wed Nov 25 21:30:46 2026: (VI_1) Entering MASTER STATE      (stderr)
"""

import io
import logging
import os
import re
import socket
import time

import pytest

from fastvrrp.daemon import logsetup
from fastvrrp.daemon.options import parse

import unixsock

SYSLOG_RE = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ([\w.-]+)\[(\d+)\]: (.*)$")
CONSOLE_RE = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$")
FILE_RE = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{9} \d{4}: (.*)$")


@pytest.fixture
def short_dir():
    with unixsock.short_dir("fvl-") as d:
        yield d


@pytest.fixture
def syslogd(short_dir):
    path = os.path.join(short_dir, "log")
    sock = unixsock.datagram_socket(path)
    yield sock, path
    sock.close()


@pytest.fixture
def clean_logging():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    logsetup.teardown()
    root.setLevel(level)
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)


@pytest.fixture
def handler():
    made = []

    def make(*args, **kwargs):
        h = logsetup.SyslogHandler(*args, **kwargs)
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()


def record(msg, *args, name="fastvrrp.vrrp.machine", level=logging.INFO, exc_info=None):
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


# ---------------------------------------------------------------- pieces

@pytest.mark.parametrize("level, sev", [(logging.CRITICAL, 2), (logging.ERROR, 3),
                                        (logging.WARNING, 4), (logging.INFO, 6),
                                        (logsetup.DETAIL, 6), (logsetup.EXTRA_DETAIL, 6),
                                        (logging.DEBUG, 7)])
def test_severity(level, sev):
    assert logsetup.severity(level) == sev


def test_make_ident_as_keepalived():
    assert logsetup.make_ident("Keepalived_vrrp") == "Keepalived_vrrp"
    assert logsetup.make_ident("Keepalived_vrrp", "blue") == "Keepalived_vrrp_blue"
    assert logsetup.make_ident("Keepalived_vrrp", None, "lb1") == "Keepalived_vrrp_lb1"
    assert logsetup.make_ident("Keepalived", "blue", "lb1") == "Keepalived_blue_lb1"


def test_level_for_detail():
    assert [logsetup.level_for(d) for d in (0, 1, 2)] == [
        logging.INFO, logsetup.DETAIL, logsetup.EXTRA_DETAIL]


def test_console_line_is_keepalived_c_locale_timestamp():
    r = record("(%s) Entering MASTER STATE", "VI_1")
    r.created = time.mktime((2026, 11, 5, 21, 30, 46, 0, 0, -1))
    line = logsetup.ConsoleFormatter().format(r)
    assert line == "Thu Nov  5 21:30:46 2026: (VI_1) Entering MASTER STATE"


def test_console_multi_line_message_gets_a_prefix_per_line():
    lines = logsetup.ConsoleFormatter().format(record("a\nb")).split("\n")
    assert [CONSOLE_RE.match(x).group(1) for x in lines] == ["a", "b"]


def test_file_line_has_nanoseconds():
    r = record("hello")
    r.created = time.mktime((2026, 11, 5, 21, 30, 46, 0, 0, -1)) + 0.25
    assert logsetup.FileFormatter().format(r) == "Thu Nov 05 21:30:46.250000000 2026: hello"


# ---------------------------------------------------------------- syslog

def test_syslog_datagram_as_glibc_sends_it(syslogd, handler):
    sock, path = syslogd
    h = handler(path, facility=3)
    h.handle(record("(%s) Entering MASTER STATE", "VI_1"))
    m = SYSLOG_RE.match(sock.recv(4096))
    assert m, "not an RFC 3164 line"
    assert m.group(1) == b"30"                       # daemon.info, as keepalived
    assert m.group(3) == b"Keepalived_vrrp"
    assert int(m.group(4)) == os.getpid()
    assert m.group(5) == b"(VI_1) Entering MASTER STATE"


def test_process_lines_use_the_parent_ident(syslogd, handler):
    sock, path = syslogd
    h = handler(path, facility=16 + 3)   # local3
    h.handle(record("Starting", name="fastvrrp.daemon.process"))
    m = SYSLOG_RE.match(sock.recv(4096))
    assert (m.group(1), m.group(3)) == (b"158", b"Keepalived")


def test_syslog_priority_follows_level(syslogd, handler):
    sock, path = syslogd
    h = handler(path)
    h.handle(record("bad", level=logging.ERROR))
    h.handle(record("odd", level=logging.WARNING))
    assert SYSLOG_RE.match(sock.recv(4096)).group(1) == b"27"
    assert SYSLOG_RE.match(sock.recv(4096)).group(1) == b"28"


def test_traceback_is_one_datagram_per_line(syslogd, handler):
    sock, path = syslogd
    h = handler(path)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys
        h.handle(record("failed", level=logging.ERROR, exc_info=sys.exc_info()))
    got = []
    sock.settimeout(0.5)
    while True:
        try:
            got.append(SYSLOG_RE.match(sock.recv(4096)).group(5))
        except socket.timeout:
            break
    assert got[0] == b"failed" and got[1].startswith(b"Traceback")
    assert got[-1] == b"RuntimeError: boom"


def test_missing_syslog_socket_drops_and_later_reports(short_dir, handler):
    path = os.path.join(short_dir, "log")
    h = handler(path)
    h.handle(record("lost 1"))
    h.handle(record("lost 2"))
    h.flush()
    assert h.dropped == 2
    sock = unixsock.datagram_socket(path)
    try:
        h.handle(record("back"))
        note = SYSLOG_RE.match(sock.recv(4096))
        assert note.group(1) == b"28" and note.group(5).startswith(b"2 log message(s) dropped")
        assert SYSLOG_RE.match(sock.recv(4096)).group(5) == b"back"
        h.flush()
        assert h.dropped == 0
    finally:
        sock.close()


def test_slow_syslog_never_blocks_the_caller_and_keeps_the_order(syslogd, handler):
    sock, path = syslogd
    h = handler(path)
    for i in range(200):              # nobody reads yet: the kernel takes ~10, the rest queue
        h.handle(record("line %d" % i))
    got = [SYSLOG_RE.match(sock.recv(4096)).group(5) for _ in range(200)]
    assert got == [b"line %d" % i for i in range(200)]
    assert h.dropped == 0


def test_backlog_overflow_is_dropped_and_reported(syslogd, handler):
    sock, path = syslogd
    h = handler(path)
    h.BACKLOG = 20
    for i in range(300):
        h.handle(record("line %d" % i))
    # `dropped` falls back to 0 once the sender has reported the loss; the
    # total does not
    assert h.dropped_total > 0
    while True:                        # read until the report of what was lost
        text = SYSLOG_RE.match(sock.recv(4096)).group(5)
        if b"log message(s) dropped" in text:
            break


def test_syslog_restarted_reconnects(syslogd, handler):
    sock, path = syslogd
    h = handler(path)
    h.handle(record("one"))
    assert SYSLOG_RE.match(sock.recv(4096)).group(5) == b"one"
    sock.close()
    os.unlink(path)                                 # syslogd restarts: a new socket
    again = unixsock.datagram_socket(path)
    try:
        h.handle(record("two"))
        assert SYSLOG_RE.match(again.recv(4096)).group(5) == b"two"
    finally:
        again.close()


# ---------------------------------------------------------------- setup()

def test_console_only_with_dont_fork(clean_logging, short_dir):
    state = logsetup.setup(parse(["-l", "-G"]), stream=io.StringIO())
    assert state.console is None and state.syslog is None
    stream = io.StringIO()
    state = logsetup.setup(parse(["-l", "-n", "-G"]), stream=stream)
    logging.getLogger("fastvrrp.vrrp.x").info("(VI_1) Entering BACKUP STATE")
    assert CONSOLE_RE.match(stream.getvalue().strip()).group(1) == "(VI_1) Entering BACKUP STATE"


def test_detail_levels(clean_logging):
    for argv, shown in ((["-n", "-l", "-G"], 0), (["-n", "-l", "-G", "-D"], 1),
                        (["-n", "-l", "-G", "-DD"], 2)):
        stream = io.StringIO()
        logsetup.setup(parse(argv), stream=stream)
        log = logging.getLogger("fastvrrp.test")
        log.log(logsetup.DETAIL, "detail")
        log.log(logsetup.EXTRA_DETAIL, "extra")
        log.debug("debug")
        assert len(stream.getvalue().splitlines()) == shown


def test_syslog_by_default_and_not_with_G(clean_logging, syslogd):
    sock, path = syslogd
    state = logsetup.setup(parse(["-S", "local1"]), syslog_address=path)
    assert state.syslog is not None and state.console is None
    logging.getLogger("fastvrrp.x").info("hello")
    assert SYSLOG_RE.match(sock.recv(4096)).group(1) == b"142"      # local1.info
    state = logsetup.setup(parse(["-G"]), syslog_address=path)
    assert state.syslog is None


def test_syslog_address_from_test_environment(clean_logging, syslogd, monkeypatch):
    sock, path = syslogd
    monkeypatch.setenv(logsetup.SYSLOG_ENV, path)
    logsetup.setup(parse([]))
    logging.getLogger("fastvrrp.x").info("via env")
    assert SYSLOG_RE.match(sock.recv(4096)).group(5) == b"via env"


def test_names_change_the_idents(clean_logging, syslogd):
    sock, path = syslogd
    state = logsetup.setup(parse([]), syslog_address=path)
    assert state.set_names(None, None) is None
    assert state.set_names("blue", "lb1") == "Keepalived_vrrp_blue_lb1"
    logging.getLogger("fastvrrp.daemon.process").info("p")
    logging.getLogger("fastvrrp.vrrp").info("v")
    assert SYSLOG_RE.match(sock.recv(4096)).group(3) == b"Keepalived_blue_lb1"
    assert SYSLOG_RE.match(sock.recv(4096)).group(3) == b"Keepalived_vrrp_blue_lb1"


def test_log_file(clean_logging, tmp_path):
    path = tmp_path / "k.log"
    path.write_text("earlier\n")
    logsetup.setup(parse(["-G", "-g%s" % path, "--flush-log-file"]))
    logging.getLogger("fastvrrp.x").info("to the file")
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier"                                # appended
    assert FILE_RE.match(lines[1]).group(1) == "to the file"    # flushed per line


def test_log_file_that_cannot_be_opened_is_reported(clean_logging, tmp_path):
    state = logsetup.setup(parse(["-G", "-g%s" % (tmp_path / "no" / "k.log")]))
    assert state.file is None and "cannot open log file" in state.file_error


def test_teardown_removes_the_handlers(clean_logging):
    root = logging.getLogger()
    before = list(root.handlers)
    state = logsetup.setup(parse(["-n", "-l", "-G"]), stream=io.StringIO())
    assert state.console in root.handlers
    logsetup.teardown()
    assert root.handlers == before


def test_console_that_breaks_goes_quiet(clean_logging):
    class Broken(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")
    state = logsetup.setup(parse(["-n", "-l", "-G"]), stream=Broken())
    logging.getLogger("fastvrrp.x").info("one")
    logging.getLogger("fastvrrp.x").info("two")
    assert state.console.failed
