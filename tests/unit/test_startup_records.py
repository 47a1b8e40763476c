"""Issue 6 (start-up): the state machine's events and actions are Records
(fastvrrp.vrrp.actions.Record), not compiled dataclasses, and keep every
dataclass behaviour the code and the tests rely on."""

import copy
import dataclasses
import inspect
import ipaddress
import pickle

import pytest

from fastvrrp.vrrp import actions, events
from fastvrrp.vrrp.actions import Record
from fastvrrp.vrrp.kinds import Counter, NotifyState, State, TimerKind
from fastvrrp.vrrp.params import InstanceParams

ALL = [c for m in (actions, events) for c in vars(m).values()
       if inspect.isclass(c) and issubclass(c, Record) and c is not Record]


def test_every_event_and_action_is_a_slotted_record():
    assert len(ALL) == 32
    for cls in ALL:
        assert "__dataclass_params__" not in vars(cls), cls     # no @dataclass compiled
        assert not hasattr(cls(*_args(cls)), "__dict__"), cls   # slots only


def _args(cls):
    sample = {"priority": 100, "kind": TimerKind.ADVER, "deadline_ns": 5, "force": True,
              "repeat": 3, "state": NotifyState.MASTER, "old": 1, "new": 2, "level": 20,
              "text": "x", "counter": Counter.ADVERT_RCVD, "group": "G",
              "startup_delay_ns": 7, "src": ipaddress.ip_address("10.0.0.2"),
              "adver_int": 100, "addresses": (ipaddress.ip_address("10.0.0.9"),),
              "reason": "r", "weight_total": 3, "pending": True,
              "address": ipaddress.ip_address("10.0.0.1"),
              "params": InstanceParams(name="VI_1", vrid=1),
              "addresses_added": True, "group_state": State.BACKUP, "master_ok": True}
    if cls is events.AdvertRejected:
        return [Counter.AUTH_FAILURE]
    if cls in (actions.StateChanged,):
        return [State.BACKUP, State.MASTER]
    return [sample[name] for name in cls.__slots__]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_records_behave_as_frozen_dataclasses(cls):
    args = _args(cls)
    a, b = cls(*args), cls(*args)
    assert a == b and hash(a) == hash(b) and a is not b
    names = [f.name for f in dataclasses.fields(a)]
    assert names == list(cls.__slots__) == list(cls.__match_args__)
    assert dataclasses.is_dataclass(a)
    assert repr(a) == "%s(%s)" % (cls.__qualname__, ", ".join(
        "%s=%r" % (n, v) for n, v in zip(names, args)))
    assert dataclasses.asdict(a) == {n: dataclasses.asdict(v) if dataclasses.is_dataclass(v)
                                     else v for n, v in zip(names, args)}
    assert copy.copy(a) == a and copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
    if names:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(a, names[0], args[0])
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(a, names[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.not_a_field = 1
    assert a != object() and (a == object()) is False


def test_equality_needs_the_same_class_and_the_same_fields():
    assert actions.AddVips() != actions.UpdateVips()
    assert actions.RemoveVips() == actions.RemoveVips(False) != actions.RemoveVips(True)
    assert events.FaultSet("x") != events.FaultCleared("x")
    assert events.TimerFired(TimerKind.ADVER, 1) != events.TimerFired(TimerKind.ADVER, 2)
    assert len({actions.SendAdvert(1), actions.SendAdvert(1), actions.SendAdvert(0)}) == 2


def test_defaults_replace_and_keywords_as_a_dataclass():
    assert events.Startup() == events.Startup(startup_delay_ns=0)
    fs = events.FaultSet(reason="no source address")
    assert fs.pending is False
    assert dataclasses.replace(fs, pending=True) == events.FaultSet("no source address", True)
    assert [f.default for f in dataclasses.fields(events.Reconfigure)][1:] == [None, False]
    with pytest.raises(TypeError):
        actions.AddVips(1)
    with pytest.raises(TypeError):
        actions.SendAdvert()


@pytest.mark.parametrize("make", [
    lambda: events.Startup(-1),
    lambda: events.AdvertReceived("10.0.0.1", 100, 1, ()),
    lambda: events.AdvertReceived(ipaddress.ip_address("10.0.0.1"), 256, 1, ()),
    lambda: events.AdvertRejected("checksum"),
    lambda: events.TimerFired("adver", 1),
    lambda: events.PriorityChanged(True),
    lambda: events.FaultSet(""),
    lambda: events.FaultSet("x", pending=1),
    lambda: events.SourceAddressChanged("10.0.0.1"),
    lambda: events.Reconfigure(None),
    lambda: events.SyncStartup(State.STOP),
    lambda: events.SyncLeaveFault(master_ok=1),
])
def test_events_still_refuse_malformed_fields(make):
    with pytest.raises(ValueError):
        make()
