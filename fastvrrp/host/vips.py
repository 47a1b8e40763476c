"""The VIPs of one VRRP instance on the host: add, remove, and what is ours.

keepalived 2.2 semantics (vrrp_ipaddress.c netlink_iplist, vrrp.c
vrrp_state_leave_master; reference notes §3.14):

- `add_all()` (becoming MASTER, RFC 5798 §6.4.1 / §6.4.2 "Transition to
  Master") adds every VIP not yet held.  A VIP already present is not an
  error.  Only what the kernel added because we asked is recorded as ours
  (keepalived's per-address "set" flag).  A failed add is reported and
  retried by the next add_all().
- `remove_all()` (leaving MASTER, clean stop) removes only the VIPs we added.
  `remove_all(force=True)` removes every configured VIP, ours or not: the
  daemon uses it for `-X/--release-vips` and, as keepalived does, for
  transitions under `-V/--dont-release-vrrp` (which also skips removal on
  stop: that is the daemon's choice, not this class's).
- A VIP that was already present when we added it (EEXIST) is NOT ours and
  stays on remove_all().  Deliberate difference: keepalived 2.2.7 treats
  EEXIST as success, marks the address "set" and later deletes an address
  it did not add (for example one an administrator or another instance
  holds); fastvrrp leaves it alone unless forced.  Stale VIPs of a crashed
  run are removed before the first add by cleanup_stale() / cleanup_by_proto().

Addresses we add carry IFA_PROTO = `proto` (IFAPROT_FASTVRRP, 112), so a later
run finds them with cleanup_by_proto() even if the configuration changed.

Nothing here raises into the daemon: every add/delete gives an Outcome, and
interface-lookup or dump failures become FAILED Outcomes too.

Scale (issue 6): the daemon hands a VipSet `ifindex_of`, its interface table
(kept current by link notifications), so an add or remove never asks the
kernel for an ifindex; without it names are resolved over netlink.  The
requests of one add_all() / remove_all() / cleanup are issued together, so
they join the other instances' in the Netlink's batch (nlbatch.py): one
sendmsg carries them all, in configuration order.
"""

import asyncio
import errno
import functools
import ipaddress
import logging

from .addrspec import IFAPROT_FASTVRRP, VipSpec
from .nlrequest import Unresolved, name_prefix, resolve_names
from .outcome import DONE, FAILED, NetlinkQueryError, Outcome
from .values import check_items

log = logging.getLogger("fastvrrp.host")


def address_key(ifindex, address, prefixlen):
    """The identity of an address on the host: (ifindex, IP version, the address as
    an int, prefixlen): ints hash in C, ipaddress objects in Python (issue 6: a
    burst of VIP adds hashes each key several times)."""
    if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address = ipaddress.ip_address(address)     # (an address object is not re-parsed)
    return (ifindex, address.version, int(address), prefixlen)


def _failed(op, spec, code, message, prefix):
    log.warning("%scannot %s VIP %s: %s", prefix, "add" if op == "add" else "remove",
                spec, message)
    return Outcome(op, Unresolved(spec), FAILED, code, message)


async def gather_outcomes(calls):
    """Await the Outcome coroutines `calls` together (their requests join one
    netlink batch, in order) -> [Outcome] in the same order."""
    if len(calls) == 1:
        return [await calls[0]]
    return list(await asyncio.gather(*calls)) if calls else []


def _all_then(requests, send, on_all):
    """send(request, callback) for each request; on_all([Outcome]) in request order
    once the last callback came (at once for no request)."""
    if not requests:
        on_all([])
        return
    if len(requests) == 1:              # an instance's one VIP: no gathering
        send(requests[0], _One(on_all))
        return
    gather = _Gather(len(requests), on_all)
    for i, request in enumerate(requests):
        send(request, functools.partial(gather.answered, i))


# The callbacks of a burst's VIP changes are objects, not closures (issue 6
# memory: thousands are in flight at once, and what the burst allocates
# beside the long-lived objects stays as fragmentation).

class _One:
    """on_done(outcome) of a lone request -> on_all([outcome])."""

    __slots__ = ("on_all",)

    def __init__(self, on_all):
        self.on_all = on_all

    def __call__(self, outcome):
        self.on_all([outcome])


class _Gather:
    """The answers of several requests, in request order -> on_all once."""

    __slots__ = ("outcomes", "left", "on_all")

    def __init__(self, count, on_all):
        self.outcomes, self.left, self.on_all = [None] * count, count, on_all

    def answered(self, i, outcome):
        self.outcomes[i] = outcome
        self.left -= 1
        if not self.left:
            self.on_all(self.outcomes)


class _Added:
    """add_all_then: the VipSet records what was added, then on_done gets the
    outcomes found before asking (`earlier`) and the kernel's."""

    __slots__ = ("vipset", "keys", "specs", "earlier", "on_done")

    def __init__(self, vipset, keys, specs, earlier, on_done):
        self.vipset, self.keys, self.specs = vipset, keys, specs
        self.earlier, self.on_done = earlier, on_done

    def __call__(self, added):
        self.vipset._record_added(self.keys, self.specs, added)
        self.on_done(self.earlier + added)


class _Removed:
    """remove_all_then: the VipSet forgets what was removed of what it `held`,
    then on_done gets the kernel's outcomes."""

    __slots__ = ("vipset", "held", "on_done")

    def __init__(self, vipset, held, on_done):
        self.vipset, self.held, self.on_done = vipset, held, on_done

    def __call__(self, outcomes):
        self.vipset._record_removed(self.held, outcomes)
        self.on_done(outcomes)


async def resolve_ifindexes(netlink, specs):
    """{ifname: ifindex or None} for the specs given by name; raises NetlinkQueryError."""
    return await resolve_names(netlink, [spec.ifname for spec in specs if spec.ifindex is None])


class VipSet:
    """The VIPs (or eVIPs) of one instance; see the module docstring."""

    def __init__(self, netlink, specs, *, name="", proto=IFAPROT_FASTVRRP, ifindex_of=None):
        specs = check_items(specs, VipSpec, "VipSet takes VipSpec objects, got %r")
        if proto is not None and (not isinstance(proto, int) or not 1 <= proto <= 255):
            raise ValueError("proto must be 1..255 or None, got %r" % (proto,))
        if ifindex_of is not None and not callable(ifindex_of):
            raise TypeError("ifindex_of must be callable (ifname -> ifindex or None), got %r"
                            % (ifindex_of,))
        self.ifindex_of = ifindex_of
        self.netlink = netlink
        self.specs = specs
        self.name = name
        self.proto = proto
        self._prefix = name_prefix(name)
        # address_key -> the VipSpec we added there (its requests are rebuilt when
        # needed: issue 6 memory, thousands of instances holding their VIPs)
        self._ours = {}

    # -- what we hold ----------------------------------------------------------
    @property
    def added(self):
        """The requests of the addresses we added and still hold, in add order."""
        return tuple(spec.to_netlink(key[0], self.proto) for key, spec in self._ours.items())

    def holds(self, spec):
        """True if `spec` (on its recorded interface) was added by us."""
        mine = address_key(spec.ifindex, spec.address, spec.prefixlen)[1:]
        return any(key[1:] == mine and (spec.ifindex is None or key[0] == spec.ifindex)
                   for key in self._ours)

    def forget(self, ifindex, address, prefixlen):
        """Drop an address from what we hold (it was deleted behind our back)."""
        return self._ours.pop(address_key(ifindex, address, prefixlen), None) is not None

    async def _resolve(self, op, specs):
        """[(spec, ifindex or None)] plus FAILED outcomes for the unresolvable."""
        if self.ifindex_of is not None:
            return self._resolve_now(op, specs)
        try:
            names = await resolve_ifindexes(self.netlink, specs)
        except NetlinkQueryError as exc:
            return [], [_failed(op, s, exc.errno, str(exc), self._prefix) for s in specs]
        return self._pairs(op, specs, names)

    def _resolve_now(self, op, specs):
        """_resolve from the interface table (`ifindex_of`), without a netlink request."""
        names = {s.ifname: self.ifindex_of(s.ifname) for s in specs if s.ifindex is None}
        return self._pairs(op, specs, names)

    def _pairs(self, op, specs, names):
        pairs, failures = [], []
        for spec in specs:
            index = spec.ifindex if spec.ifindex is not None else names[spec.ifname]
            if index is None:
                failures.append(_failed(op, spec, errno.ENODEV,
                                        "interface %s does not exist" % spec.ifname,
                                        self._prefix))
            else:
                pairs.append((spec, index))
        return pairs, failures

    # -- RFC 5798 §6.4.1/§6.4.2: becoming Master ----------------------------
    async def add_all(self):
        """Add every VIP we do not hold yet, in configuration order -> [Outcome]."""
        pairs, outcomes = await self._resolve("add", self.specs)
        keys, specs, reqs = self._add_requests(pairs, outcomes)
        added = await gather_outcomes([self.netlink.add_address(r) for r in reqs])
        self._record_added(keys, specs, added)
        return outcomes + added

    def add_all_then(self, on_done):
        """add_all without a coroutine, for a VipSet that resolves interfaces from
        its table (`ifindex_of`): the requests join the netlink batch now and
        on_done([Outcome]) is called once the last is answered (at once when
        there is nothing to add).  -> False, doing nothing, without `ifindex_of`.
        A burst of transitions thus puts each VIP up and sends its GARP without
        a task or a loop turn per step (issue 6)."""
        if self.ifindex_of is None:
            return False
        pairs, outcomes = self._resolve_now("add", self.specs)
        keys, specs, reqs = self._add_requests(pairs, outcomes)
        _all_then(reqs, self.netlink.add_address_then,
                  _Added(self, keys, specs, outcomes, on_done))
        return True

    def _add_requests(self, pairs, outcomes):
        """(keys, specs, requests) of the VIPs in `pairs` not held yet; an
        unencodable one is a FAILED outcome appended to `outcomes`."""
        keys, specs, reqs, asked = [], [], [], set()
        for spec, index in pairs:
            key = address_key(index, spec.address, spec.prefixlen)
            if key in self._ours or key in asked:
                continue
            asked.add(key)
            try:
                req = spec.to_netlink(index, self.proto)
            except ValueError as exc:
                outcomes.append(_failed("add", spec, errno.EINVAL, str(exc), self._prefix))
                continue
            keys.append(key)
            specs.append(spec)
            reqs.append(req)
        return keys, specs, reqs

    def _record_added(self, keys, specs, added):
        for key, spec, outcome in zip(keys, specs, added):
            if outcome.status == DONE:
                self._ours[key] = spec

    # -- RFC 5798 §6.4.3: leaving Master; clean stop --------------------------
    async def remove_all(self, force=False):
        """Remove the VIPs we added (with force: every configured VIP) -> [Outcome]."""
        held = list(self._ours.items())
        outcomes = await gather_outcomes([self.netlink.del_address(_delete(key, spec))
                                          for key, spec in held])
        self._record_removed(held, outcomes)
        if force:
            handled = {key for key, _req in held}
            pairs, failures = await self._resolve("del", self.specs)
            outcomes.extend(failures)
            deletes = []
            for spec, index in pairs:
                key = address_key(index, spec.address, spec.prefixlen)
                if key in handled:
                    continue
                handled.add(key)
                deletes.append(self.netlink.del_address(spec.to_netlink_delete(index)))
            outcomes.extend(await gather_outcomes(deletes))
        return outcomes

    def remove_all_then(self, on_done):
        """remove_all() (not forced) without a coroutine: the deletes of what we hold
        join the netlink batch now, on_done([Outcome]) follows the last answer (at
        once when nothing is held).  A stop or a burst of masters stepping down
        removes its VIPs without a task per instance (issue 6)."""
        held = list(self._ours.items())
        _all_then([_delete(key, spec) for key, spec in held], self.netlink.del_address_then,
                  _Removed(self, held, on_done))

    def _record_removed(self, held, outcomes):
        for (key, _req), outcome in zip(held, outcomes):
            if outcome.ok:
                self._ours.pop(key, None)


    # -- keepalived-vrrp.md §3.17: reload --------------------------------------
    async def update(self, specs):
        """Take new specs: held VIPs no longer configured (or changed) are removed,
        the held ones that stay are not touched -> [Outcome].  The caller then
        runs add_all() if the instance is Master, which adds only the new ones."""
        specs = check_items(specs, VipSpec, "VipSet takes VipSpec objects, got %r")
        wanted = set(specs)
        gone = [spec for spec in self.specs if spec not in wanted]
        pairs, _unresolved = await self._resolve("del", gone)   # no interface: nothing held
        keys, deletes = [], []
        for spec, index in pairs:
            key = address_key(index, spec.address, spec.prefixlen)
            if key in self._ours and key not in keys:
                keys.append(key)
                deletes.append(self.netlink.del_address(spec.to_netlink_delete(index)))
        outcomes = await gather_outcomes(deletes)
        for key, outcome in zip(keys, outcomes):
            if outcome.ok:
                del self._ours[key]
        self.specs = specs
        return outcomes


def _delete(key, spec):
    """The RTM_DELADDR of what we added for `spec` at `key` (its ifindex)."""
    return spec.to_netlink_delete(key[0])


# -- start-up: what a crashed earlier run left behind ---------------------------
async def cleanup_stale(netlink, specs, *, name=""):
    """Remove configured VIPs already present on their interfaces -> [Outcome].

    keepalived deletes every VIP/eVIP it finds at start (vrrp.c: "vipset" is
    forced after a crash, so a stale VIP is neither mistaken for a source
    address nor left to a BACKUP).  The match is exact: interface, address
    and prefix length, as the RTM_DELADDR keepalived sends would match.
    """
    prefix = name_prefix(name)
    specs = tuple(specs)
    try:
        names = await resolve_ifindexes(netlink, specs)
        present = {address_key(a.index, a.address, a.prefixlen): a
                   for a in await netlink.addresses()}
    except NetlinkQueryError as exc:
        return [_failed("del", s, exc.errno, str(exc), prefix) for s in specs]
    deletes, seen = [], set()
    for spec in specs:
        index = spec.ifindex if spec.ifindex is not None else names[spec.ifname]
        if index is None:
            continue  # no such interface: nothing of ours can be on it
        key = address_key(index, spec.address, spec.prefixlen)
        info = present.get(key)
        if info is None or key in seen:
            continue
        seen.add(key)
        log.info("%sremoving stale VIP %s found at start", prefix, spec)
        deletes.append(netlink.del_address(info.delete_request()))
    return await gather_outcomes(deletes)


async def cleanup_by_proto(netlink, proto=IFAPROT_FASTVRRP, *, keep=()):
    """Remove every address marked IFA_PROTO == `proto` -> [Outcome].

    Finds what a crashed fastvrrp left even when the configuration changed
    since.  `keep` holds address_key()s to leave alone (addresses this run
    already holds).
    """
    if not isinstance(proto, int) or isinstance(proto, bool) or not 1 <= proto <= 255:
        raise ValueError("proto must be 1..255, got %r" % (proto,))
    keep = set(keep)
    try:
        present = await netlink.addresses()
    except NetlinkQueryError as exc:
        log.warning("cannot look for stale addresses (IFA_PROTO %d): %s", proto, exc)
        return [Outcome("del", Unresolved("addresses with IFA_PROTO %d" % proto), FAILED,
                        exc.errno, str(exc))]
    deletes = []
    for info in present:
        if info.proto != proto or address_key(info.index, info.address, info.prefixlen) in keep:
            continue
        log.info("removing stale address %s (ifindex %d) left by an earlier run",
                 info.cidr(), info.index)
        deletes.append(netlink.del_address(info.delete_request()))
    return await gather_outcomes(deletes)
