"""fastvrrp.daemon.sdnotify against a real AF_UNIX datagram socket playing systemd."""

import os
import time
import uuid

import pytest

from fastvrrp.daemon import sdnotify
from fastvrrp.daemon.sdnotify import Notifier

import unixsock


@pytest.fixture
def short_dir():
    with unixsock.short_dir("fvn-") as d:
        yield d


@pytest.fixture
def systemd(short_dir):
    """A fake systemd: a bound datagram socket, and its $NOTIFY_SOCKET value."""
    path = os.path.join(short_dir, "notify")
    sock = unixsock.datagram_socket(path)
    yield sock, path
    sock.close()


@pytest.fixture
def abstract_systemd():
    name = "fvn-test-%s" % uuid.uuid4().hex
    sock = unixsock.datagram_socket(b"\0" + name.encode())
    yield sock, "@" + name
    sock.close()


def fields(datagram: bytes) -> list:
    return [tuple(line.split("=", 1)) for line in datagram.decode().split("\n")]


# ---------------------------------------------------------------- addresses and format

def test_parse_address_path_and_abstract():
    assert sdnotify.parse_address("/run/systemd/notify") == "/run/systemd/notify"
    assert sdnotify.parse_address("@sd-notify") == b"\0sd-notify"


@pytest.mark.parametrize("value", ["", "@", "relative/path", "vsock:2:1234"])
def test_parse_address_rejects(value):
    with pytest.raises(ValueError):
        sdnotify.parse_address(value)


def test_format_state_joins_lines_without_trailing_newline():
    assert sdnotify.format_state([("READY", 1), ("MAINPID", 42)]) == b"READY=1\nMAINPID=42"


def test_format_state_keeps_a_value_on_one_line():
    assert sdnotify.format_state([("STATUS", "a\nb")]) == b"STATUS=a b"


@pytest.mark.parametrize("key", ["", "A=B", "A\nB"])
def test_format_state_rejects_bad_keys(key):
    with pytest.raises(ValueError):
        sdnotify.format_state([(key, 1)])


# ---------------------------------------------------------------- the environment

def test_from_environ_reads_and_unsets(systemd):
    _, path = systemd
    env = {"NOTIFY_SOCKET": path, "OTHER": "x"}
    n = Notifier.from_environ(env)
    assert n.enabled and n.address == path
    assert env == {"OTHER": "x"}


def test_from_environ_can_keep_the_variable(systemd):
    _, path = systemd
    env = {"NOTIFY_SOCKET": path}
    assert Notifier.from_environ(env, unset=False).enabled
    assert env == {"NOTIFY_SOCKET": path}


def test_without_notify_socket_nothing_is_sent():
    n = Notifier.from_environ({})
    assert not n.enabled
    assert n.ready() is False and n.last_error is None


def test_bad_notify_socket_is_disabled_with_a_reason():
    env = {"NOTIFY_SOCKET": "vsock:2:99"}
    n = Notifier.from_environ(env)
    assert not n.enabled and "vsock:2:99" in n.last_error
    assert env == {}


# ---------------------------------------------------------------- the notifications

def test_ready_as_keepalived_sends_it(systemd):
    sock, path = systemd
    assert Notifier(path).ready()
    assert sock.recv(4096) == b"READY=1\nMAINPID=%d" % os.getpid()


def test_ready_with_status_and_pid(systemd):
    sock, path = systemd
    assert Notifier(path).ready(status="3 instances", pid=1234)
    assert fields(sock.recv(4096)) == [("READY", "1"), ("MAINPID", "1234"), ("STATUS", "3 instances")]


def test_reloading_carries_monotonic_usec(systemd):
    sock, path = systemd
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier(path).reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    got = fields(sock.recv(4096))
    assert got[0] == ("RELOADING", "1") and got[1][0] == "MONOTONIC_USEC"
    assert before <= int(got[1][1]) <= after


def test_stopping_status_errno(systemd):
    sock, path = systemd
    n = Notifier(path)
    assert n.stopping() and n.status("bye") and n.errno(2, status="config errors")
    assert sock.recv(4096) == b"STOPPING=1"
    assert sock.recv(4096) == b"STATUS=bye"
    assert sock.recv(4096) == b"ERRNO=2\nSTATUS=config errors"


def test_abstract_namespace_socket(abstract_systemd):
    sock, value = abstract_systemd
    n = Notifier.from_environ({"NOTIFY_SOCKET": value})
    assert n.ready(pid=7)
    assert sock.recv(4096) == b"READY=1\nMAINPID=7"


def test_one_socket_serves_many_notifications(systemd):
    sock, path = systemd
    n = Notifier(path)
    for i in range(5):
        assert n.status("n%d" % i)
    assert [sock.recv(100) for _ in range(5)] == [b"STATUS=n%d" % i for i in range(5)]
    n.close()
    assert n.status("again")          # reopens after close
    assert sock.recv(100) == b"STATUS=again"


def test_systemd_gone_is_a_false_return_not_an_exception(short_dir):
    n = Notifier(os.path.join(short_dir, "nobody-listens"))
    assert n.ready() is False
    assert "nobody-listens" in n.last_error


def test_recovers_when_systemd_comes_back(systemd, short_dir):
    sock, path = systemd
    n = Notifier(path)
    sock.close()
    os.unlink(path)
    assert n.stopping() is False and n.last_error
    again = unixsock.datagram_socket(path)
    try:
        assert n.stopping() is True and n.last_error is None
        assert again.recv(100) == b"STOPPING=1"
    finally:
        again.close()
