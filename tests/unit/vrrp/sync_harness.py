"""Helpers for the sync-group tests: a timer-keeping driver for one SyncGroup
and a two-node simulation (two groups whose members hear each other's
adverts), used by the unit scenarios and by the keepalived comparison
(tests/interop/test_sync_keepalived.py imports it as unit.vrrp.sync_harness).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
from dataclasses import dataclass, field

from fastvrrp.vrrp import (AdvertReceived, ArmTimer, CancelTimer, FaultCleared, FaultSet,
                           GroupNotify, InstanceParams, Log, Notify, Routed, SendAdvert, State,
                           StateChanged, SyncGroup, TimerFired, TimerKind)

S = 1_000_000_000
MS = 1_000_000
ip = ipaddress.ip_address


def member(name, vrid, priority=100, **kw) -> InstanceParams:
    base = dict(name=name, vrid=vrid, version=2, priority=priority, advert_int_cs=100,
                vips=(ip("10.0.0.%d" % (100 + vrid % 100)),), primary_address=ip("10.0.0.1"))
    base.update(kw)
    return InstanceParams(**base)


class GroupDriver:
    """What the engine keeps for one group: every member's armed timers, kept
    from the routed actions alone, and checked against the machines."""

    def __init__(self, group: SyncGroup):
        self.group = group
        self.timers: dict = {}          # (member, kind) -> deadline
        self.out: list = []             # every Routed output, in order
        self.now = 0

    def _take(self, now: int, routed: list) -> list:
        for r in routed:
            assert isinstance(r, Routed), r
            a = r.action
            if isinstance(a, ArmTimer):
                assert r.member is not None and a.deadline_ns >= now, (r, now)
                self.timers[(r.member, a.kind)] = a.deadline_ns
            elif isinstance(a, CancelTimer):
                assert (r.member, a.kind) in self.timers, ("cancel of a timer not armed", r)
                del self.timers[(r.member, a.kind)]
        for name in self.group.members:
            mine = {k: d for (m, k), d in self.timers.items() if m == name}
            assert mine == dict(self.group.machine(name).timers), (name, mine)
        self.out.extend(routed)
        return routed

    def start(self, now: int = 0, delay: int = 0) -> list:
        self.now = now
        return self._take(now, self.group.start(now, delay))

    def feed(self, now: int, name: str, event) -> list:
        self.now = now
        return self._take(now, self.group.handle(now, name, event))

    def stop(self, now: int) -> list:
        self.now = now
        return self._take(now, self.group.stop(now))

    def fire(self, name: str, kind: TimerKind) -> list:
        deadline = self.timers.pop((name, kind))
        return self.feed(max(deadline, self.now), name, TimerFired(kind, deadline))

    def next_timer(self):
        if not self.timers:
            return None
        return min(self.timers.items(), key=lambda kv: (kv[1], kv[0][0]))


def states(group: SyncGroup) -> dict:
    return {name: group.machine(name).state for name in group.members}


def transitions(routed) -> list:
    """[(member, new state)] from the StateChanged actions."""
    return [(r.member, r.action.new) for r in routed if isinstance(r.action, StateChanged)]


def notifies(routed) -> list:
    """keepalived FIFO-style tuples for the Notify and GroupNotify actions."""
    out = []
    for r in routed:
        a = r.action
        if isinstance(a, Notify):
            out.append(("INSTANCE", r.member, a.state.value, a.priority))
        elif isinstance(a, GroupNotify):
            out.append(("GROUP", a.group, a.state.value, 0))
    return out


def log_lines(routed) -> list:
    return [r.action.text for r in routed if isinstance(r.action, Log)]


# ------------------------------------------------------------ two-node simulation


@dataclass
class Node:
    name: str
    group: SyncGroup
    addresses: dict                     # interface -> our address on it
    interfaces: dict                    # member -> interface
    up: dict = field(default_factory=dict)      # interface -> link up
    out: list = field(default_factory=list)     # (time, Routed)
    running: bool = False


class TwoNodes:
    """Two nodes whose sync groups have members with the same VRIDs on shared
    links: a SendAdvert of one is an AdvertReceived of the other's member with
    that VRID, at the same instant, when both ends of the link are up.  Time
    advances from timer to timer (zero link delay); `at(t, fn)` schedules a
    step of the scenario (start, stop, link down/up)."""

    def __init__(self, *nodes: Node):
        self.nodes = {n.name: n for n in nodes}
        self.now = 0
        self._queue: list = []
        self._seq = itertools.count()
        self._timers: dict = {}         # (node, member, kind) -> deadline

    # scenario steps
    def at(self, t: int, fn) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), "call", fn))

    def start(self, node: str) -> None:
        n = self.nodes[node]
        n.running = True
        self._take(n, n.group.start(self.now))

    def stop(self, node: str) -> None:
        n = self.nodes[node]
        self._take(n, n.group.stop(self.now))
        n.running = False

    def link(self, node: str, interface: str, up: bool) -> None:
        """The interface goes down/up: its members see a FaultSet/FaultCleared
        (keepalived tracks an instance's own interface with weight 0)."""
        n = self.nodes[node]
        n.up[interface] = up
        reason = "track_interface %s" % interface
        for name, ifname in n.interfaces.items():
            if ifname == interface:
                event = FaultCleared(reason) if up else FaultSet(reason)
                self._take(n, n.group.handle(self.now, name, event))

    # the engine
    def _take(self, node: Node, routed: list) -> None:
        for r in routed:
            node.out.append((self.now, r))
            a = r.action
            if isinstance(a, ArmTimer):
                self._timers[(node.name, r.member, a.kind)] = a.deadline_ns
                heapq.heappush(self._queue, (a.deadline_ns, next(self._seq), "timer",
                                             (node.name, r.member, a.kind, a.deadline_ns)))
            elif isinstance(a, CancelTimer):
                self._timers.pop((node.name, r.member, a.kind), None)
            elif isinstance(a, SendAdvert):
                self._send(node, r.member, a.priority)

    def _send(self, node: Node, member: str, priority: int) -> None:
        ifname = node.interfaces[member]
        if not node.running or not node.up.get(ifname, True):
            return
        params = node.group.machine(member).params
        for other in self.nodes.values():
            if other is node or not other.running or not other.up.get(ifname, True):
                continue
            for name in other.group.members:
                p = other.group.machine(name).params
                if p.vrid == params.vrid and other.interfaces[name] == ifname:
                    adv = AdvertReceived(node.addresses[ifname], priority,
                                         params.advert_int_cs // 100 if params.version == 2
                                         else params.advert_int_cs, params.vips)
                    heapq.heappush(self._queue, (self.now, next(self._seq), "advert",
                                                 (other.name, name, adv)))

    def run_until(self, t_end: int) -> None:
        while self._queue and self._queue[0][0] <= t_end:
            t, _, what, arg = heapq.heappop(self._queue)
            self.now = max(self.now, t)
            if what == "call":
                arg()
            elif what == "timer":
                node, member, kind, deadline = arg
                if self._timers.get((node, member, kind)) != deadline:
                    continue
                del self._timers[(node, member, kind)]
                n = self.nodes[node]
                self._take(n, n.group.handle(self.now, member, TimerFired(kind, deadline)))
            else:
                node, member, adv = arg
                n = self.nodes[node]
                if n.running:
                    self._take(n, n.group.handle(self.now, member, adv))
        self.now = max(self.now, t_end)

    def run_while(self, done, limit: int) -> None:
        """Run until done() holds (checked after every step), at most until `limit`."""
        while self._queue and not done():
            if self._queue[0][0] > limit:
                break
            self.run_until(self._queue[0][0])
        assert done(), "the simulation did not reach the expected point by t=%d" % limit

    def group_state(self, node: str) -> State:
        return self.nodes[node].group.state


# ------------------------------------------------------------ the keepalived scenario
#
# Two routers, a sync group of three instances on two interfaces on each
# (VI_1, VI_2 on eth0; VI_3 on eth1), VRRPv2, advert_int 1.  Router a is
# `state MASTER` (a non-owner: every member starts BACKUP and waits the full
# Master_Down_Interval), router b `state BACKUP` with lower priorities.  The
# priorities differ per member so that keepalived's timers expire in a fixed
# order.  tests/interop/test_sync_keepalived.py runs it with keepalived 2.2.7
# in a namespace lab; test_sync_two_nodes.py runs it here.

SCENARIO_INSTANCES = (("VI_1", 51, "eth0", "10.0.0.151"), ("VI_2", 52, "eth0", "10.0.0.152"),
                      ("VI_3", 53, "eth1", "10.0.1.153"))
SCENARIO_NODES = {
    "a": dict(state=State.MASTER, priorities=(150, 140, 130),
              addresses={"eth0": "10.0.0.1", "eth1": "10.0.1.1"}),
    "b": dict(state=State.BACKUP, priorities=(100, 90, 80),
              addresses={"eth0": "10.0.0.2", "eth1": "10.0.1.2"}),
}

# ("start", node) / ("stop", node); ("link", node, interface, up);
# ("until", node, group state, n): wait for the group's n-th notify of that state;
# ("settle", node, interface, up): wait until the node has seen the link change.
SCENARIO_STEPS = (
    ("start", "a"), ("until", "a", "MASTER", 1),
    ("start", "b"), ("until", "b", "BACKUP", 1),
    ("link", "a", "eth1", False), ("until", "a", "FAULT", 1), ("until", "b", "MASTER", 1),
    ("link", "a", "eth0", False), ("settle", "a", "eth0", False),     # VI_1, VI_2 faulty too
    ("link", "a", "eth1", True), ("settle", "a", "eth1", True),       # VI_3 recovers: still FAULT
    ("link", "a", "eth0", True), ("until", "a", "BACKUP", 2),
    ("until", "a", "MASTER", 2), ("until", "b", "BACKUP", 2),
    ("stop", "a"), ("until", "b", "MASTER", 2),
    ("stop", "b"),
)


def scenario_params(node: str) -> list:
    spec = SCENARIO_NODES[node]
    return [InstanceParams(name=name, vrid=vrid, version=2, priority=prio, advert_int_cs=100,
                           vips=(ip(vip),), primary_address=ip(spec["addresses"][ifname]),
                           initial_state=spec["state"], log_detail=True)
            for (name, vrid, ifname, vip), prio in zip(SCENARIO_INSTANCES, spec["priorities"])]


def scenario_keepalived_conf(node: str, fifo: str) -> str:
    """The same scenario as keepalived.conf for `node`."""
    spec = SCENARIO_NODES[node]
    text = ["global_defs {", "    vrrp_notify_fifo %s" % fifo, "}",
            "vrrp_sync_group G1 {", "    group {"]
    text += ["        %s" % name for name, _, _, _ in SCENARIO_INSTANCES]
    text += ["    }", "}"]
    for (name, vrid, ifname, vip), prio in zip(SCENARIO_INSTANCES, spec["priorities"]):
        text += ["vrrp_instance %s {" % name, "    interface %s" % ifname,
                 "    state %s" % spec["state"].name, "    virtual_router_id %d" % vrid,
                 "    priority %d" % prio, "    advert_int 1",
                 "    virtual_ipaddress {", "        %s/24" % vip, "    }", "}"]
    return "\n".join(text) + "\n"


def group_notify_count(node: Node, state: str) -> int:
    return sum(1 for _, r in node.out
               if isinstance(r.action, GroupNotify) and r.action.state.value == state)


def run_scenario(step_gap: int = S // 10) -> dict:
    """The scenario through two simulated nodes; returns {node: Node}."""
    nodes = {}
    for name, spec in SCENARIO_NODES.items():
        interfaces = {n: ifname for n, _, ifname, _ in SCENARIO_INSTANCES}
        nodes[name] = Node(name, SyncGroup("G1", scenario_params(name)),
                           addresses={k: ip(v) for k, v in spec["addresses"].items()},
                           interfaces=interfaces)
    net = TwoNodes(*nodes.values())
    for s in SCENARIO_STEPS:
        kind = s[0]
        if kind == "until":
            _, node, state, n = s
            net.run_while(lambda: group_notify_count(nodes[node], state) >= n, net.now + 60 * S)
            continue
        if kind == "settle":
            net.run_until(net.now + step_gap)
            continue
        at = net.now + step_gap
        if kind == "start":
            net.at(at, lambda node=s[1]: net.start(node))
        elif kind == "stop":
            net.at(at, lambda node=s[1]: net.stop(node))
        else:
            net.at(at, lambda node=s[1], ifname=s[2], up=s[3]: net.link(node, ifname, up))
        net.run_until(at)
    return nodes


def notifier_lines(routed, group: str, members, workdir: str) -> list:
    """Feed the Notify / GroupNotify actions of one node, in order, to the
    daemon's real Notifier (its sync-group rules included) and return the
    FIFO lines it writes."""
    import asyncio
    import os

    from fastvrrp.daemon.fifo import NotifyFifo, NotifyFifos
    from fastvrrp.daemon.notify import Notifier
    from fastvrrp.track.runner import ScriptRunner

    path = os.path.join(workdir, "notify-%s.fifo" % group)

    async def go():
        notifier = Notifier(ScriptRunner(), NotifyFifos([NotifyFifo(path)]))
        notifier.open()
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            notifier.add_group(group)
            for name in members:
                notifier.add_instance(name, group=group)
            for r in routed:
                if isinstance(r.action, Notify):
                    notifier.action(r.member, r.action)
                elif isinstance(r.action, GroupNotify):
                    notifier.group(r.action.group, r.action.state)
            data = b""
            while True:
                try:
                    chunk = os.read(reader, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                data += chunk
        finally:
            await notifier.close()
            os.close(reader)
        return data.decode().splitlines()

    return asyncio.run(go())


def split_episodes(lines) -> list:
    """FIFO lines cut after each GROUP line: [(sorted instance lines, group line)].
    Within one sync, the members' order may depend on which socket is read
    first; what they did and the group's line may not."""
    out, chunk = [], []
    for line in lines:
        if line.startswith("GROUP "):
            out.append((tuple(sorted(chunk)), line))
            chunk = []
        else:
            chunk.append(line)
    if chunk:
        out.append((tuple(sorted(chunk)), None))
    return out
