"""Running host-layer code inside a lab namespace, and reading the kernel back.

    run_in(node.ns, main)                 # uvloop.run(main()) with the thread in node's namespace
    call_in(node.ns, open_rx_v4, "eth0")  # any call, inside the namespace
    rules = await dump_rules()            # every IPv4 and IPv6 rule (raw pyroute2 messages)
    async with spare_link() as (ipr, nl, vx0): ...   # a veth pair the test may delete
"""

import contextlib
import socket

import uvloop

from fastvrrp.bench import netns
from fastvrrp.host.netlink import Netlink
from fastvrrp.host.nlrequest import collect
from fastvrrp.host.nlsocket import IPRoute


def run_in(ns, coro_fn):
    with netns.inside(ns):
        return uvloop.run(coro_fn())


def call_in(ns, fn, *args, **kwargs):
    """fn(*args, **kwargs) with the calling thread inside namespace `ns`."""
    with netns.inside(ns):
        return fn(*args, **kwargs)


async def dump_rules():
    ipr = IPRoute()
    try:
        out = []
        for family in (socket.AF_INET, socket.AF_INET6):
            out += await collect(await ipr.rule("dump", family=family))
        return out
    finally:
        ipr.close()


async def remove_only_ours(entries, specs, dump):
    """The steps of a "remove only what we added" test for a RouteSet or
    RuleSet `entries` of `specs` (the administrator's entries are in place):
    (added, held, removed, after_remove, removed_again, forced, after_force),
    `dump()` giving the kernel's view after each removal."""
    added = await entries.add_all()
    held = [entries.holds(s) for s in specs]
    removed = await entries.remove_all()
    after_remove = await dump()
    removed_again = await entries.remove_all()
    forced = await entries.remove_all(force=True)
    after_force = await dump()
    return added, held, removed, after_remove, removed_again, forced, after_force


@contextlib.asynccontextmanager
async def spare_link(name="vx0", peer="vx1"):
    """A veth pair the test may delete: (IPRoute, Netlink, LinkInfo of `name`)."""
    ipr = IPRoute()
    try:
        await ipr.link("add", ifname=name, kind="veth", peer=peer)
        async with Netlink() as nl:
            yield ipr, nl, await nl.link(name)
    finally:
        ipr.close()
