"""Issue 6 batching: the address codec against pyroute2, the netlink batch's
pipeline over a fake kernel socket, GARP bursts (first rounds first) and the
deferral of a burst's log lines behind the host work."""

import asyncio
import errno
import socket
import struct

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from fastvrrp.host import nlbatch
from fastvrrp.host.addrbatch import encode_ifa
from fastvrrp.host.addrspec import CacheInfo, IfaRequest, VipSpec
from fastvrrp.host.afterbatch import AfterBatch
from fastvrrp.host.announce import Announcer, RoundResult
from fastvrrp.host.garpbatch import GarpBatch
from fastvrrp.host.outcome import NetlinkQueryError

SPECS = [
    VipSpec("10.0.0.50", ifname="eth0"),
    VipSpec("10.0.0.60/24", ifname="eth0", broadcast="10.0.0.254", label="eth0:vip"),
    VipSpec("10.9.9.9", ifname="eth0", peer="10.9.9.10/32"),
    VipSpec("169.254.9.9/16", ifname="eth0", scope="link"),
    VipSpec("fd00::50", ifname="eth0"),
    VipSpec("fd00::53/64", ifname="eth0", noprefixroute=True, home=True, mngtmpaddr=True),
    VipSpec("fd00::54/64", ifname="eth0", preferred_lft=120),
]


def pyroute2_bytes(req):
    """What pyroute2's ifaddrmsg marshals for the same request (the oracle)."""
    msg = ifaddrmsg()
    for name in ("family", "prefixlen", "flags", "scope", "index"):
        msg[name] = getattr(req, name)
    attrs = []
    for name, value in req.attrs:
        if isinstance(value, CacheInfo):
            value = {"ifa_preferred": value.preferred, "ifa_valid": value.valid,
                     "cstamp": 0, "tstamp": 0}
        attrs.append([name, value])
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data[16:msg["header"]["length"]])


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_encode_ifa_matches_pyroute2_for_add_and_delete(spec):
    for req in (spec.to_netlink(7), spec.to_netlink_delete(7)):
        assert encode_ifa(req) == pyroute2_bytes(req)


@pytest.mark.parametrize("req, message", [
    (IfaRequest(99, 32, 0, 0, 1, ()), "neither AF_INET"),
    (IfaRequest(socket.AF_INET, 32, 0, 0, 1, (("IFA_LOCAL", "fd00::1"),)), "is not IPv4"),
    (IfaRequest(socket.AF_INET, 32, 0, 0, 1, (("IFA_LOCAL", "nonsense"),)), "nonsense"),
    (IfaRequest(socket.AF_INET, 32, 0, 0, 1, (("IFA_MULTICAST", "10.0.0.1"),)), "unsupported"),
    (IfaRequest(socket.AF_INET, 32, 0, 0, -1, ()), "ifaddrmsg"),
    (IfaRequest(socket.AF_INET6, 64, 0, 0, 1, (("IFA_CACHEINFO", 5),)), "CacheInfo"),
    # the one-pack form of a plain IPv4 add checks the same
    (IfaRequest(socket.AF_INET, 32, 0, 0, 1, (("IFA_LOCAL", "fd00::1"),
                                              ("IFA_ADDRESS", "fd00::1"), ("IFA_PROTO", 112))),
     "is not IPv4"),
    (IfaRequest(socket.AF_INET, 32, 0, 0, -1, (("IFA_LOCAL", "10.0.0.1"),
                                               ("IFA_ADDRESS", "10.0.0.1"), ("IFA_PROTO", 112))),
     "ifaddrmsg"),
])
def test_encode_ifa_rejects_bad_requests_with_a_reason(req, message):
    with pytest.raises(ValueError, match=message):
        encode_ifa(req)


# -- NetlinkBatch over a fake rtnetlink socket ---------------------------------------------
class FakeKernel:
    """Answers every message of a send() with an ack, at once (as rtnetlink does
    inside sendmsg); `errors` maps a request's payload to the errno it gets."""

    def __init__(self, errors=None, answer=True):
        self.errors = errors or {}
        self.answer = answer
        self.sends = []
        self.acks = []
        self.closed = False
        self.fail_send = None
        r, w = socket.socketpair()
        self._r, self._w = r, w     # a real fd for add_reader

    def fileno(self):
        return self._r.fileno()

    def send(self, data):
        if self.fail_send is not None:
            raise OSError(self.fail_send, "send failed")
        msgs, offset = [], 0
        while offset < len(data):
            length, mtype, flags, seq, _pid = nlbatch.NLMSG_HDR.unpack_from(data, offset)
            msgs.append((mtype, flags, seq, data[offset + 16:offset + length]))
            offset += (length + 3) & ~3
        self.sends.append(msgs)
        if self.answer:
            for _t, _f, seq, payload in msgs:
                code = self.errors.get(payload, 0)
                self.acks.append(nlbatch.NLMSG_HDR.pack(36, nlbatch.NLMSG_ERROR, 0, seq, 0)
                                 + struct.pack("=i", -code) + b"\0" * 16)
        return len(data)

    def recv(self, _size):
        if not self.acks:
            raise BlockingIOError(errno.EAGAIN, "empty")
        return self.acks.pop(0)

    def close(self):
        self.closed = True
        self._r.close()
        self._w.close()


def batch_on(kernel, **kw):
    batch = nlbatch.NetlinkBatch(**kw)
    batch._make_socket = lambda: kernel
    return batch


def test_requests_of_one_iteration_share_sends_in_order_and_get_their_own_answer():
    kernel = FakeKernel(errors={b"p3": errno.EEXIST})

    async def main():
        batch = batch_on(kernel, window=4)
        futs = [batch.request(20, 0x5, b"p%d" % i, what="req %d" % i) for i in range(10)]
        codes = await asyncio.gather(*futs)
        return batch, codes

    batch, codes = asyncio.run(main())
    assert codes == [0, 0, 0, errno.EEXIST, 0, 0, 0, 0, 0, 0]
    sent = [payload for msgs in kernel.sends for _t, _f, _s, payload in msgs]
    assert sent == [b"p%d" % i for i in range(10)]          # submission order kept
    assert [len(m) for m in kernel.sends] == [4, 4, 2]      # the window bounds each send
    assert all(t == 20 and f == 0x5 for msgs in kernel.sends for t, f, _s, _p in msgs)
    assert batch.stats["acks"] == 10 and batch.pending == 0


def test_chunk_bytes_splits_a_large_batch():
    kernel = FakeKernel()

    async def main():
        batch = batch_on(kernel, window=1000, chunk_bytes=1024)
        return await asyncio.gather(*[batch.request(20, 0, b"x" * 200) for _ in range(12)])

    assert asyncio.run(main()) == [0] * 12
    assert all(len(m) * 216 <= 1024 for m in kernel.sends)
    assert sum(len(m) for m in kernel.sends) == 12


def test_a_send_failure_fails_every_waiter_with_its_errno_and_the_next_request_reopens():
    opened = []

    async def main():
        batch = nlbatch.NetlinkBatch()

        def make():
            kernel = FakeKernel()
            kernel.fail_send = errno.EPERM if not opened else None
            opened.append(kernel)
            return kernel
        batch._make_socket = make
        results = await asyncio.gather(batch.request(20, 0, b"a", what="add a"),
                                       batch.request(20, 0, b"b", what=lambda: "add b"),
                                       return_exceptions=True)
        again = await batch.request(20, 0, b"c")
        batch.close()
        return results, again

    results, again = asyncio.run(main())
    assert all(isinstance(r, NetlinkQueryError) and r.errno == errno.EPERM for r in results)
    assert "add a" in str(results[0]) and "add b" in str(results[1])
    assert again == 0 and len(opened) == 2
    assert opened[0].closed and opened[1].closed


def test_a_socket_that_cannot_be_opened_fails_the_waiters_not_the_loop():
    async def main():
        batch = nlbatch.NetlinkBatch()

        def make():
            raise OSError(errno.EMFILE, "Too many open files")
        batch._make_socket = make
        with pytest.raises(NetlinkQueryError) as info:
            await asyncio.wait_for(batch.request(20, 0, b"a", what="add a"), 5)
        return info.value

    exc = asyncio.run(main())
    assert exc.errno == errno.EMFILE and "add a" in str(exc)


def test_no_answer_times_out_instead_of_waiting_forever():
    kernel = FakeKernel(answer=False)

    async def main():
        batch = batch_on(kernel, timeout=0.05)
        with pytest.raises(NetlinkQueryError) as info:
            await batch.request(20, 0, b"a", what="add a")
        return info.value

    exc = asyncio.run(main())
    assert exc.errno == errno.ETIMEDOUT and "add a" in str(exc)


@pytest.mark.parametrize("kw", [{"timeout": 0}, {"window": 0}, {"window": True},
                                {"chunk_bytes": 10}])
def test_netlink_batch_rejects_bad_settings(kw):
    with pytest.raises(ValueError):
        nlbatch.NetlinkBatch(**kw)


# -- GARP bursts -----------------------------------------------------------------------------
class RecordingAnnouncer(Announcer):
    def __init__(self):
        super().__init__(codec=object())
        self.calls = []

    def send_checked(self, rounds):
        self.calls.append([(i, str(v[0])) for i, _m, v in rounds])
        return [RoundResult(sent=1) for _ in rounds]


MAC = "02:00:00:00:00:01"


def test_garp_burst_sends_every_first_round_before_any_repeat():
    ann = RecordingAnnouncer()

    async def main():
        live = {"b": True}
        futs = [ann.announce([((1, MAC), ["10.0.0.1"])], 3),
                ann.announce([((2, MAC), ["10.0.0.2"])], 2, live=lambda: live["b"]),
                ann.announce([((1, MAC), ["10.0.0.3"])], 1)]
        assert ann.busy
        return await asyncio.gather(*futs)

    rounds = asyncio.run(main())
    assert rounds == [3, 2, 1]
    assert ann.calls == [[(1, "10.0.0.1"), (2, "10.0.0.2"), (1, "10.0.0.3")],
                         [(1, "10.0.0.1"), (2, "10.0.0.2")],
                         [(1, "10.0.0.1")]]
    assert not ann.busy


def test_a_later_transitions_first_round_goes_before_earlier_repeats():
    ann = RecordingAnnouncer()

    async def main():
        first = ann.announce([((1, MAC), ["10.0.0.1"])], 3)
        while not ann.calls:                     # the first turn sent its round 1
            await asyncio.sleep(0)
        later = ann.announce([((2, MAC), ["10.0.0.2"])], 2)
        return await asyncio.gather(first, later)

    assert asyncio.run(main()) == [3, 2]
    assert ann.calls == [[(1, "10.0.0.1")],
                         [(2, "10.0.0.2"), (1, "10.0.0.1")],
                         [(2, "10.0.0.2"), (1, "10.0.0.1")]]


def test_in_a_burst_only_first_rounds_go_and_the_repeats_follow_its_end():
    ann = RecordingAnnouncer()
    burst = {"on": True}
    ann.hurry = lambda: burst["on"]

    async def main():
        first = ann.announce([((1, MAC), ["10.0.0.1"])], 3)
        while not ann.calls:
            await asyncio.sleep(0)
        second = ann.announce([((2, MAC), ["10.0.0.2"])], 2)
        while len(ann.calls) < 2:
            await asyncio.sleep(0)
        for _ in range(3):              # the burst goes on: no repeat leaves
            await asyncio.sleep(0.003)
        held = list(ann.calls)
        assert ann.busy                 # held repeats keep the announcer busy
        burst["on"] = False
        return held, await asyncio.gather(first, second)

    held, rounds = asyncio.run(main())
    assert held == [[(1, "10.0.0.1")], [(2, "10.0.0.2")]]
    assert rounds == [3, 2]             # no round was dropped
    assert ann.calls[2:] == [[(1, "10.0.0.1"), (2, "10.0.0.2")], [(1, "10.0.0.1")]]
    assert ann._batch.held > 0


def test_held_repeats_go_after_repeat_hold_s_even_if_the_burst_lasts():
    ann = RecordingAnnouncer()
    ann.hurry = lambda: True
    ann._batch = GarpBatch(ann, repeat_hold_s=0.01)

    async def main():
        return await asyncio.wait_for(ann.announce([((1, MAC), ["10.0.0.1"])], 2), 5)

    assert asyncio.run(main()) == 2


def test_garp_burst_stops_an_instance_that_left_master():
    ann = RecordingAnnouncer()
    state = {"master": True}

    def live():
        ok = state["master"]
        state["master"] = False         # leaves MASTER after its first round
        return ok

    async def main():
        return await ann.announce([((1, MAC), ["10.0.0.1"])], 5, live=live)

    assert asyncio.run(main()) == 1
    assert len(ann.calls) == 1


@pytest.mark.parametrize("args, message", [
    (([((0, MAC), ["10.0.0.1"])], 1), "ifindex"),
    (([((1, "zz"), ["10.0.0.1"])], 1), "MAC"),
    (([((1, MAC), ["not-an-ip"])], 1), "not an IP"),
    (([((1, MAC), ["10.0.0.1"])], -1), "repeat"),
])
def test_garp_burst_rejects_bad_arguments_at_the_call(args, message):
    async def main():
        GarpBatch(RecordingAnnouncer()).announce(*args)

    with pytest.raises(ValueError, match=message):
        asyncio.run(main())


def test_send_rounds_looks_each_interface_up_once_and_reports_a_missing_one():
    ann = Announcer()
    results = ann.send_rounds([(987654, MAC, ["10.0.0.1"]), (987654, MAC, ["10.0.0.2"]),
                               (987654, MAC, [])])
    assert [r.errors for r in results] == [1, 1, 0]
    assert ann.stats["send_errors"] == 1            # one failed lookup, not one per round


# -- AfterBatch ------------------------------------------------------------------------------
def test_after_batch_defers_past_the_threshold_keeps_order_and_waits_for_idle_host():
    out = []
    busy = {"n": 3}         # the host stays busy for three checks

    def is_busy():
        busy["n"] -= 1
        return busy["n"] >= 0

    async def main():
        after = AfterBatch(is_busy, immediate=2)
        for i in range(5):
            if after.defer():
                after.add(out.append, i)
            else:
                out.append(i)
        assert out == [0, 1] and after.pending == 3
        while after.pending:
            await asyncio.sleep(0)
        # a new iteration: still deferred while the backlog exists? it is empty now
        assert not after.defer()
        return after

    after = asyncio.run(main())
    assert out == [0, 1, 2, 3, 4]
    assert busy["n"] < 0            # it waited for the host to become idle
    assert after.deferred == 3


def test_after_batch_counts_a_burst_spread_over_loop_turns_and_holds_it_while_it_lasts():
    """Transitions spread over an advert interval (one or two per loop turn) are a
    burst too: the calls are counted per window of time, not per loop turn, and
    the queue waits until no call was deferred for a window."""
    now = {"t": 100.0}
    out = []

    async def main():
        after = AfterBatch(lambda: False, immediate=3, window_s=0.005, max_delay_s=10,
                           clock=lambda: now["t"])
        for i in range(8):                  # one call per loop turn, 0.5 ms apart
            if after.defer():
                after.add(out.append, i)
            else:
                out.append(i)
            now["t"] += 0.0005
            await asyncio.sleep(0)
        assert out == [0, 1, 2] and after.pending == 5
        assert after.bursting
        for _ in range(5):                  # the host is idle, but the burst goes on
            await asyncio.sleep(0)
        assert after.pending == 5
        now["t"] += 0.005                   # a window without a call: the burst is over
        while after.pending:
            await asyncio.sleep(0)
        assert not after.bursting
        assert not after.defer()            # a new window starts
        return after

    after = asyncio.run(main())
    assert out == list(range(8))
    assert after.deferred == 5


def test_after_batch_runs_everything_after_max_delay_even_if_busy_and_survives_errors():
    out = []

    def boom():
        raise RuntimeError("boom")

    async def main():
        after = AfterBatch(lambda: True, immediate=0, max_delay_s=0.01)
        assert after.defer()
        after.add(boom)
        after.add(out.append, "x")
        while after.pending:
            await asyncio.sleep(0.002)

    asyncio.run(main())
    assert out == ["x"]


def test_after_batch_flush_runs_the_backlog_at_once():
    out = []

    async def main():
        after = AfterBatch(lambda: True, immediate=0, max_delay_s=60)
        after.defer()
        after.add(out.append, 1)
        after.flush()
        assert after.pending == 0

    asyncio.run(main())
    assert out == [1]


@pytest.mark.parametrize("kw", [{"busy": None}, {"busy": bool, "immediate": -1},
                                {"busy": bool, "max_delay_s": -1}])
def test_after_batch_rejects_bad_settings(kw):
    with pytest.raises((TypeError, ValueError)):
        AfterBatch(**kw)


def test_a_late_answer_nobody_waits_for_is_drained_not_left_to_refire():
    kernel = FakeKernel()

    async def main():
        batch = batch_on(kernel)
        assert await batch.request(20, 0, b"a") == 0
        kernel.acks.append(nlbatch.NLMSG_HDR.pack(36, nlbatch.NLMSG_ERROR, 0, 999, 0)
                           + struct.pack("=i", 0) + b"\0" * 16)
        batch._readable()           # what the loop calls while the socket is readable
        batch.close()
        return batch.stats

    stats = asyncio.run(main())
    assert kernel.acks == [] and stats["acks"] == 1
