"""VipSet.add_all_then / remove_all_then over Netlink's callback path (issue 6,
failover): the same requests and outcomes as add_all / remove_all, without a
coroutine, the answer arriving whenever the batch reads it."""

import errno

from fastvrrp.host.addrspec import VipSpec
from fastvrrp.host.netlink import DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.outcome import NetlinkQueryError
from fastvrrp.host.vips import VipSet


class FakeBatch:
    """NetlinkBatch.request with on_done: records, answers when told."""

    def __init__(self):
        self.sent = []          # (msg_type, payload, on_done)
        self.pending = 0

    def request(self, msg_type, flags, payload, *, what="", on_done=None):
        assert on_done is not None
        self.sent.append((msg_type, payload, on_done))

    def answer(self, i, code=0, error=None):
        self.sent[i][2](code, error)


def make(specs):
    nl = Netlink()
    batch = nl._nlbatch = FakeBatch()
    vs = VipSet(nl, specs, name="VI_1", ifindex_of=lambda name: 7)
    return vs, batch


SPECS = [VipSpec("10.0.0.1/32", ifname="eth0"), VipSpec("10.0.0.2/32", ifname="eth0"),
         VipSpec("10.0.0.3/32", ifname="eth0")]


def test_add_all_then_reports_after_the_last_answer_and_holds_only_what_it_added():
    vs, batch = make(SPECS)
    got = []
    assert vs.add_all_then(got.append) is True
    assert len(batch.sent) == 3 and got == []
    batch.answer(2, 0)
    batch.answer(0, errno.EEXIST)           # present already: not ours
    assert got == []
    batch.answer(1, errno.EPERM)
    [outcomes] = got
    assert [o.status for o in outcomes] == [EXISTS, FAILED, DONE]
    assert [o.request.attr("IFA_LOCAL") for o in outcomes] == ["10.0.0.1", "10.0.0.2",
                                                                "10.0.0.3"]
    assert [r.attr("IFA_LOCAL") for r in vs.added] == ["10.0.0.3"]


def test_the_next_add_asks_only_for_what_is_not_held_and_reuses_its_requests():
    vs, batch = make(SPECS)
    vs.add_all_then(lambda outcomes: None)
    first = [payload for _t, payload, _cb in batch.sent]
    batch.answer(0, 0)
    batch.answer(1, errno.EPERM)
    batch.answer(2, errno.EPERM)
    got = []
    vs.add_all_then(got.append)
    again = [payload for _t, payload, _cb in batch.sent[3:]]
    assert again == first[1:]               # 10.0.0.1 is held: not asked again
    batch.answer(3, 0)
    batch.answer(4, 0)
    assert [o.status for o in got[0]] == [DONE, DONE]


def test_a_socket_failure_is_a_failed_outcome_and_nothing_is_held():
    vs, batch = make(SPECS[:1])
    got = []
    vs.add_all_then(got.append)
    batch.answer(0, None, NetlinkQueryError("add address", errno.ETIMEDOUT, "no answer"))
    assert [o.status for o in got[0]] == [FAILED] and vs.added == ()


def test_nothing_to_add_answers_at_once_and_no_table_means_no_callback_path():
    vs, batch = make([])
    got = []
    assert vs.add_all_then(got.append) is True and got == [[]]
    plain = VipSet(Netlink(), SPECS, name="VI_2")        # names resolved over netlink
    assert plain.add_all_then(got.append) is False and len(got) == 1


def test_remove_all_then_deletes_what_is_held_and_forgets_what_went():
    vs, batch = make(SPECS[:2])
    vs.add_all_then(lambda outcomes: None)
    batch.answer(0, 0)
    batch.answer(1, 0)
    got = []
    vs.remove_all_then(got.append)
    assert len(batch.sent) == 4
    batch.answer(2, 0)
    batch.answer(3, errno.EPERM)            # refused: still ours
    assert [o.status for o in got[0]] == [DONE, FAILED]
    assert [r.attr("IFA_LOCAL") for r in vs.added] == ["10.0.0.2"]
    empty = []
    make([])[0].remove_all_then(empty.append)
    assert empty == [[]]
