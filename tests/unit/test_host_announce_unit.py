"""Announcer argument checks, the 5 s IPv6-forwarding cache, the netlink reader transport."""

import asyncio
import os
import socket

import pytest

from fastvrrp.host.announce import Announcer, RoundResult
from fastvrrp.host.forwarding import Forwarding
from fastvrrp.host.nlsocket import BURST, ReaderTransport, error_code


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def conf(tmp_path):
    def write(ifname, value):
        d = tmp_path / ifname
        d.mkdir(exist_ok=True)
        (d / "forwarding").write_text("%s\n" % value)
    return tmp_path, write


def test_forwarding_reads_and_caches_for_five_seconds(conf):
    root, write = conf
    clock = Clock()
    fwd = Forwarding(clock=clock, root=str(root))
    write("eth0", 1)
    assert fwd.enabled("eth0") is True
    write("eth0", 0)
    clock.now += 5.0
    assert fwd.enabled("eth0") is True          # still cached (keepalived: > 5 s re-reads)
    assert fwd.reads == 1
    clock.now += 0.5
    assert fwd.enabled("eth0") is False         # re-read
    assert fwd.reads == 2


def test_forwarding_per_interface_dots_and_missing_files(conf):
    root, write = conf
    fwd = Forwarding(clock=Clock(), root=str(root))
    write("eth0.1", 1)
    write("eth1", 0)
    assert fwd.enabled("eth0.1") is True
    assert fwd.enabled("eth1") is False
    assert fwd.enabled("gone0") is False        # no such interface (or IPv6 off)
    write("gone0", 1)
    fwd.forget("gone0")
    assert fwd.enabled("gone0") is True


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "..", None])
def test_forwarding_rejects_bad_names(bad):
    with pytest.raises(ValueError, match="interface name"):
        Forwarding().enabled(bad)


def test_forwarding_rejects_bad_ttl():
    with pytest.raises(ValueError, match="ttl"):
        Forwarding(ttl=-1)


@pytest.mark.parametrize("kwargs,message", [
    (dict(ifindex=0, mac="02:00:00:00:00:01", vips=["10.0.0.1"]), "ifindex"),
    (dict(ifindex=True, mac="02:00:00:00:00:01", vips=["10.0.0.1"]), "ifindex"),
    (dict(ifindex=1, mac="02:00:00:00:01", vips=["10.0.0.1"]), "MAC"),
    (dict(ifindex=1, mac="zz:00:00:00:00:01", vips=["10.0.0.1"]), "MAC"),
    (dict(ifindex=1, mac=b"\x02\x00", vips=["10.0.0.1"]), "6 bytes"),
    (dict(ifindex=1, mac="02:00:00:00:00:01", vips=["10.0.0.300"]), "not an IP address"),
])
def test_send_round_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Announcer().send_round(kwargs["ifindex"], kwargs["mac"], kwargs["vips"])


def test_send_round_with_no_vips_opens_nothing():
    ann = Announcer()
    assert ann.send_round(1, "02:00:00:00:00:01", []) == RoundResult()
    assert ann._sockets == {}


def test_send_round_on_a_missing_interface_counts_an_error():
    ann = Announcer()
    result = ann.send_round(987654, "02:00:00:00:00:01", ["10.0.0.1"])
    assert result == RoundResult(errors=1)
    assert not result.ok
    assert ann.stats["send_errors"] == 1


class Recorder:
    def __init__(self, want=None):
        self.data, self.errors = [], []
        self.want = want
        self.done = asyncio.Event()

    def datagram_received(self, data, addr):
        self.data.append(data)
        if len(self.data) == self.want:
            self.done.set()

    def error_received(self, exc):
        self.errors.append(exc)
        self.done.set()


def test_reader_transport_drains_every_datagram_and_unregisters_on_close():
    async def main():
        loop = asyncio.get_running_loop()
        rx, tx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        count = 2 * BURST + 5           # more than one readiness callback's burst
        proto = Recorder(want=count)
        transport = ReaderTransport(loop, rx, proto)
        for i in range(count):
            tx.send(b"m%d" % i)
        await asyncio.wait_for(proto.done.wait(), 5)
        assert proto.data == [b"m%d" % i for i in range(count)]
        transport.close()
        assert transport.closed
        assert loop.remove_reader(rx.fileno()) is False     # nothing registered any more
        rx.close()
        tx.close()

    asyncio.run(main())


def test_reader_transport_reports_socket_errors():
    class Failing:
        def __init__(self):
            self.r, self.w = os.pipe()
            os.write(self.w, b"x")

        def fileno(self):
            return self.r

        def setblocking(self, flag):
            pass

        def recvfrom(self, size):
            raise OSError(105, "No buffer space available")

    async def main():
        sock = Failing()
        proto = Recorder()
        loop = asyncio.get_running_loop()
        transport = ReaderTransport(loop, sock, proto)
        await asyncio.wait_for(proto.done.wait(), 5)
        assert transport.closed
        assert loop.remove_reader(sock.r) is False
        assert error_code(proto.errors[0]) == 105
        os.close(sock.r)
        os.close(sock.w)

    asyncio.run(main())
