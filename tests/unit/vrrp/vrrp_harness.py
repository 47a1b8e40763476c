"""Helpers shared by the state-machine tests: parameters, action rendering, a
simulated adapter (the timer table the engine would keep), the JSONL replay
runner.  Imported by the test modules next to it (pytest's rootdir import mode
puts this directory on sys.path)."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
from pathlib import Path

from fastvrrp.vrrp import (AdvertReceived, AdvertRejected, ArmTimer, CancelTimer, Counter,
                           FaultCleared, FaultSet, InstanceParams, PriorityChanged, Shutdown,
                           SourceAddressChanged, Startup, State, TimerFired, TimerKind, VrrpMachine)

S = 1_000_000_000
MS = 1_000_000
US = 1_000
ip = ipaddress.ip_address

VIP = ip("192.168.200.16")
OURS = ip("192.168.200.1")
PEER_LOW = ip("192.168.200.0")  # numerically below ours
PEER_HIGH = ip("192.168.200.2")  # numerically above ours

DATA = Path(__file__).resolve().parents[2] / "data" / "vrrp"


def params(**overrides) -> InstanceParams:
    base = dict(name="VI_1", vrid=51, version=2, priority=100, advert_int_cs=100,
                vips=(VIP,), primary_address=OURS)
    base.update(overrides)
    return InstanceParams(**base)


def advert(src=PEER_HIGH, priority=100, adver_int=1, addresses=(VIP,)) -> AdvertReceived:
    return AdvertReceived(src=src, priority=priority, adver_int=adver_int, addresses=tuple(addresses))


def render(action) -> list:
    """An action as a JSON-able list: [ClassName, field values...]."""
    out = [type(action).__name__]
    for f in dataclasses.fields(action):
        out.append(_plain(getattr(action, f.name)))
    return out


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    return value


def rendered(actions) -> list:
    return [render(a) for a in actions]


def kinds_of(actions) -> list:
    return [type(a).__name__ for a in actions]


def logs(actions) -> list:
    return [a.text for a in actions if type(a).__name__ == "Log"]


class Adapter:
    """What the engine would keep: the armed timers, from the actions alone.

    It checks the machine's action stream: a CancelTimer only for an armed
    timer, and its table always equal to the machine's own view.
    """

    def __init__(self, machine: VrrpMachine):
        self.machine = machine
        self.timers: dict = {}
        self.now = 0
        self.trace: list = []

    def feed(self, now: int, event) -> list:
        self.now = now
        actions = self.machine.handle(now, event)
        for action in actions:
            if isinstance(action, ArmTimer):
                assert action.deadline_ns >= now, ("timer armed in the past", action, now)
                self.timers[action.kind] = action.deadline_ns
            elif isinstance(action, CancelTimer):
                assert action.kind in self.timers, ("cancel of a timer not armed", action)
                del self.timers[action.kind]
        self.trace.append((now, event, actions))
        return actions

    def fire(self, kind: TimerKind) -> list:
        """Let the armed timer `kind` expire (the adapter forgets it first)."""
        deadline = self.timers.pop(kind)
        return self.feed(deadline, TimerFired(kind, deadline))

    def next_timer(self):
        if not self.timers:
            return None
        return min(self.timers.items(), key=lambda kv: (kv[1], list(TimerKind).index(kv[0])))


# ---------------------------------------------------------------- JSONL replay

_EVENT_TYPES = {cls.__name__: cls for cls in (
    Startup, Shutdown, AdvertReceived, AdvertRejected, TimerFired, PriorityChanged,
    FaultSet, FaultCleared, SourceAddressChanged)}


def parse_event(obj: dict):
    obj = dict(obj)
    cls = _EVENT_TYPES[obj.pop("type")]
    if cls is AdvertReceived:
        obj["src"] = ip(obj["src"])
        obj["addresses"] = tuple(ip(a) for a in obj.get("addresses", ()))
    elif cls is TimerFired:
        obj["kind"] = TimerKind[obj["kind"]]
    elif cls is AdvertRejected:
        obj["reason"] = Counter[obj["reason"]]
    elif cls is SourceAddressChanged:
        obj["address"] = ip(obj["address"]) if obj["address"] else None
    return cls(**obj)


def parse_params(obj: dict) -> InstanceParams:
    obj = dict(obj)
    if "vips" in obj:
        obj["vips"] = tuple(ip(a) for a in obj["vips"])
    if obj.get("primary_address"):
        obj["primary_address"] = ip(obj["primary_address"])
    if obj.get("initial_state"):
        obj["initial_state"] = State[obj["initial_state"]]
    return InstanceParams(**obj)


def replay(path: Path) -> int:
    """Run one JSONL scenario; return the number of steps checked.

    Line 1: {"params": {...}}.  Then one step per line:
    {"t": ns, "event": {"type": ..., ...}, "expect": [[Action, fields...], ...]}
    optionally with "state": {"state": "MASTER", "effective_priority": 100, ...}
    to check read-only state after the step.  Lines starting with // are comments.
    """
    lines = [json.loads(line) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("//")]
    machine = VrrpMachine(parse_params(lines[0]["params"]))
    adapter = Adapter(machine)
    for number, step in enumerate(lines[1:], start=2):
        event = parse_event(step["event"])
        got = rendered(adapter.feed(step["t"], event))
        assert got == step["expect"], "%s step %d (%s at t=%d):\n got      %s\n expected %s" % (
            path.name, number, step["event"]["type"], step["t"],
            json.dumps(got), json.dumps(step["expect"]))
        for name, want in step.get("state", {}).items():
            have = _plain(getattr(machine, name))
            assert have == want, "%s step %d: %s is %r, expected %r" % (path.name, number, name, have, want)
    return len(lines) - 1
