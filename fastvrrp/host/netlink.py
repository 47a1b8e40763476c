"""A thin async wrapper over pyroute2's rtnetlink API: links and addresses.

    async with Netlink() as nl:
        eth0 = await nl.link("eth0")                       # LinkInfo or None
        src = await nl.primary_ipv4(eth0.index)            # VRRP source, IPv4
        ll = await nl.ipv6_linklocal(eth0.index)           # VRRP source, IPv6
        outcome = await nl.add_address(spec.to_netlink(eth0.index))

Mutations never raise: `add_address` / `del_address` return an `Outcome`.
EEXIST on add ("exists") and EADDRNOTAVAIL / ENODEV on delete ("absent") are
not failures; every other error (the interface vanished before an add, EPERM,
a dead socket, a timeout, ...) is an Outcome with status "failed", logged.
Queries return None / [] for what does not exist and raise NetlinkQueryError
(one type, with a message naming the request) only when the kernel or the
socket fails.

Queries go through one pyroute2 socket, address changes through a
NetlinkBatch (nlbatch.py) of their own: the changes made in one loop
iteration leave together in one sendmsg, encoded by addrbatch.py (issue 6).
Both sockets are opened on first use in the calling thread's network
namespace (or `netns`, a named namespace); a socket that failed is closed
and a new one opened on the next call.  `Outcome` and
the statuses are outcome.py's, the request plumbing nlrequest.py's; both
are importable from here too.
"""

import asyncio
import errno
import ipaddress
import os
import socket

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR

from .addrbatch import encode_ifa
from .nlbatch import NetlinkBatch
from .nlrequest import change_failed, collect, netlink_query, query_error
from .nlsocket import IPRoute, error_code
from .objects import AddrInfo, LinkInfo
from .outcome import ABSENT, DONE, EXISTS, FAILED, NetlinkQueryError, Outcome

DEFAULT_TIMEOUT = 5.0   # seconds for one request and its answer
# (message type, flags, benign errno -> status) of an address add / delete
_ADD = (RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, {errno.EEXIST: EXISTS})
_DEL = (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, {errno.EADDRNOTAVAIL: ABSENT, errno.ENODEV: ABSENT})


class _Change:
    """One address change in the batch: its answer -> on_done(Outcome).  An
    object, not two closures (issue 6 memory: a burst has thousands in flight)."""

    __slots__ = ("op", "req", "benign", "on_done")

    def __init__(self, op, req, benign, on_done):
        self.op, self.req, self.benign, self.on_done = op, req, benign, on_done

    def what(self):     # only built for a log line or an error
        req = self.req
        return "%s address %s" % (self.op, req.describe() if hasattr(req, "describe") else req)

    def answered(self, code, error):
        op, req = self.op, self.req
        if error is not None:
            outcome = change_failed(op, req, error.errno, str(error), self.what())
        elif not code:
            outcome = Outcome(op, req, DONE)
        elif code in self.benign:
            outcome = Outcome(op, req, self.benign[code], code, os.strerror(code))
        else:
            outcome = change_failed(op, req, code, os.strerror(code), self.what())
        self.on_done(outcome)


class Netlink:
    """See the module docstring.  Use `async with` or call close()."""

    def __init__(self, *, netns=None, timeout=DEFAULT_TIMEOUT):
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError("timeout must be a positive number of seconds, got %r" % (timeout,))
        self.netns = netns
        self.timeout = float(timeout)
        self._ipr = None
        self._nlbatch = None            # NetlinkBatch of the address changes

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        return False

    def close(self):
        batch, self._nlbatch = self._nlbatch, None
        if batch is not None:
            batch.close()
        ipr, self._ipr = self._ipr, None
        if ipr is not None:
            try:
                ipr.close()
            except Exception:  # closing a broken socket: nothing left to do
                pass

    def _socket(self):
        if self._ipr is None:
            self._ipr = IPRoute(netns=self.netns)
        return self._ipr

    async def run(self, what, make):
        """Await make(ipr) (which collects its answer) with the timeout.

        NetlinkError passes through (the caller classifies it); a socket-level
        failure or a timeout drops the socket and raises NetlinkQueryError.
        """
        try:
            return await asyncio.wait_for(make(self._socket()), self.timeout)
        except NetlinkError:
            raise
        except asyncio.TimeoutError:
            self.close()
            raise NetlinkQueryError(what, errno.ETIMEDOUT,
                                    "no answer within %.1f s" % self.timeout) from None
        except (OSError, RuntimeError, ValueError, TypeError, KeyError) as exc:
            self.close()
            raise NetlinkQueryError(what, error_code(exc), str(exc) or type(exc).__name__) \
                from exc

    # -- links ---------------------------------------------------------------
    async def link(self, which):
        """The LinkInfo of interface `which` (a name or an ifindex), or None."""
        if isinstance(which, bool) or not isinstance(which, (int, str)) or not which:
            raise ValueError("link() takes an interface name or a positive ifindex, got %r"
                             % (which,))
        key = {"index": which} if isinstance(which, int) else {"ifname": which}

        async def get(ipr):
            return await collect(await ipr.link("get", **key))

        try:
            msgs = await self.run("get link %s" % (which,), get)
        except NetlinkError as exc:
            if exc.code in (errno.ENODEV, errno.ENOENT):
                return None
            raise query_error("get link %s" % (which,), exc) from None
        return LinkInfo.from_msg(msgs[0]) if msgs else None

    async def links(self):
        """Every interface, as LinkInfo."""
        async def dump(ipr):
            return [LinkInfo.from_msg(msg) for msg in await collect(await ipr.link("dump"))]

        return await netlink_query(self, "dump links", dump)

    # -- addresses -------------------------------------------------------------
    async def addresses(self, ifindex=None, family=None):
        """Addresses (AddrInfo), optionally of one interface and/or one family."""
        if family not in (None, socket.AF_INET, socket.AF_INET6):
            raise ValueError("family must be AF_INET, AF_INET6 or None, got %r" % (family,))

        kwargs = {} if family is None else {"family": family}

        async def dump(ipr):
            out = []
            for msg in await collect(await ipr.addr("dump", **kwargs)):
                info = AddrInfo.from_msg(msg)
                if ifindex is None or info.index == ifindex:
                    out.append(info)
            return out

        return await netlink_query(self, "dump addresses", dump)

    async def primary_ipv4(self, ifindex, exclude=()):
        """The interface's primary IPv4 address (the VRRP source), or None.

        The first address the kernel lists that is not secondary and not in
        `exclude` (the VIPs, which keepalived removes from the candidates).
        """
        skip = {ipaddress.ip_address(a) for a in exclude}
        for info in await self.addresses(ifindex, socket.AF_INET):
            if not info.secondary and ipaddress.ip_address(info.address) not in skip:
                return info.address
        return None

    async def ipv6_linklocal(self, ifindex, exclude=()):
        """The interface's usable IPv6 link-local address (fe80::/10), or None."""
        skip = {ipaddress.ip_address(a) for a in exclude}
        for info in await self.addresses(ifindex, socket.AF_INET6):
            addr = ipaddress.ip_address(info.address)
            if addr.is_link_local and info.usable and addr not in skip:
                return info.address
        return None

    async def add_address(self, req):
        """RTM_NEWADDR (create, exclusive).  EEXIST -> EXISTS; never raises."""
        return await self._change("add", req, *_ADD)

    async def del_address(self, req):
        """RTM_DELADDR.  EADDRNOTAVAIL / ENODEV -> ABSENT; never raises."""
        return await self._change("del", req, *_DEL)

    def add_address_then(self, req, on_done):
        """add_address without a coroutine: on_done(Outcome) is called once the
        kernel answered, inside the batch's callback (or at once for a request
        that cannot be encoded).  A burst of transitions chains each VIP add to
        its GARP this way, without a loop turn per step (issue 6)."""
        self._change_then("add", req, *_ADD, on_done)

    def del_address_then(self, req, on_done):
        """del_address without a coroutine (see add_address_then)."""
        self._change_then("del", req, *_DEL, on_done)

    async def _change(self, op, req, msg_type, msg_flags, benign):
        """One address change through the batch (nlbatch.py): every change made in
        the same loop iteration leaves in one sendmsg -> Outcome; never raises."""
        future = asyncio.get_running_loop().create_future()
        self._change_then(op, req, msg_type, msg_flags, benign,
                          lambda outcome: future.done() or future.set_result(outcome))
        return await future

    def _change_then(self, op, req, msg_type, msg_flags, benign, on_done):
        change = _Change(op, req, benign, on_done)
        try:
            payload = encode_ifa(req)
        except Exception as exc:  # a malformed request: report, never raise
            on_done(change_failed(op, req, errno.EINVAL, "bad request: %s" % exc, change.what()))
            return
        self._batch().request(msg_type, msg_flags, payload, what=change.what,
                              on_done=change.answered)

    def prepare(self):
        """Open the address-change batch's socket now (nlbatch.py open()); a
        failure is left for the first change to report."""
        try:
            self._batch().open()
        except OSError:
            pass

    def flush_now(self):
        """Send the address changes queued so far now (nlbatch.py)."""
        if self._nlbatch is not None:
            self._nlbatch.flush_now()

    @property
    def busy(self):
        """Address changes queued or waiting for their ack (nlbatch.py)."""
        return self._nlbatch is not None and self._nlbatch.pending > 0

    def _batch(self):
        if self._nlbatch is None:
            self._nlbatch = NetlinkBatch(netns=self.netns, timeout=self.timeout)
        return self._nlbatch

__all__ = ["ABSENT", "DEFAULT_TIMEOUT", "DONE", "EXISTS", "FAILED", "Netlink", "NetlinkQueryError",
           "Outcome"]
