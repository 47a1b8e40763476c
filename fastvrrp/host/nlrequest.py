"""One rtnetlink request through a `Netlink`: its answer collected, its errors classified.

    outcome = await netlink_change(nl, "add", req, req.encode(), RTM_NEWRULE, flags,
                                   {errno.EEXIST: EXISTS})          # -> Outcome, never raises
    links = await netlink_query(nl, "dump links", make)             # NetlinkQueryError

A change runs under the Netlink's timeout and socket (`Netlink.run`): a
kernel error listed in `benign` is that status (EXISTS on add, ABSENT on
delete), every other error is a FAILED Outcome, logged, and so is a dead
socket or a timeout.  Routes, rules and VMACs send their changes through
here; address changes, which come in bursts of thousands (issue 6), go
through netlink.py's NetlinkBatch (nlbatch.py) instead.

The rest is what their sets share: `Unresolved` / `failed_outcome` for a
request that could not even be built (an interface that does not exist),
`resolve_names` for the ifindexes of interface names, `RequestAttrs` for the
(name, value) attributes of a request, `name_prefix` for the "(VI_1) " of
log lines and `log_stale_removed` for what start-up cleaned.
"""

import logging
import os

from pyroute2.netlink.exceptions import NetlinkError

from .nlsocket import error_code
from .outcome import DONE, FAILED, NetlinkQueryError, Outcome

log = logging.getLogger("fastvrrp.host")


async def collect(answer):
    """pyroute2 answers dumps with an async generator and requests with a list."""
    if hasattr(answer, "__aiter__"):
        return [msg async for msg in answer]
    return list(answer)


async def netlink_change(netlink, op, request, msg, msg_type, msg_flags, benign=None, *,
                         what=None):
    """Send one rtnetlink request through `netlink` -> Outcome; never raises.

    `request` describes itself (`describe()`); `benign` maps errnos to a
    non-failure status (EXISTS / ABSENT); `what` names the request in log
    lines (default: "<op> <request.describe()>").
    """
    benign = benign or {}
    what = what or "%s %s" % (op, request.describe())

    async def talk(ipr):
        return await collect(await ipr.nlm_request(msg, msg_type, msg_flags))

    try:
        await netlink.run(what, talk)
    except NetlinkError as exc:
        code = error_code(exc)
        if code in benign:
            log.debug("%s: %s", what, os.strerror(code))
            return Outcome(op, request, benign[code], code, os.strerror(code))
        return change_failed(op, request, code, os.strerror(code), what)
    except NetlinkQueryError as exc:
        return change_failed(op, request, exc.errno, str(exc), what)
    except Exception as exc:  # whatever pyroute2 raises must not reach the daemon
        return change_failed(op, request, error_code(exc), "%s: %s" % (type(exc).__name__, exc),
                             what)
    return Outcome(op, request, DONE)


def change_failed(op, request, code, message, what):
    """The FAILED Outcome of a change the kernel (or the socket) refused, logged."""
    log.warning("netlink: cannot %s: %s (errno %d)", what, message, code)
    return Outcome(op, request, FAILED, code, message)


def query_error(what, exc):
    """The NetlinkQueryError for a NetlinkError the kernel answered a query with."""
    code = error_code(exc)
    return NetlinkQueryError(what, code, os.strerror(code))


async def netlink_query(netlink, what, make):
    """Await make(ipr) through `netlink`; NetlinkQueryError on any failure."""
    try:
        return await netlink.run(what, make)
    except NetlinkError as exc:
        raise query_error(what, exc) from None


class Unresolved:
    """Stands in for a request that could not be built (bad interface, ...)."""

    def __init__(self, text):
        self.text = str(text)

    def describe(self):
        return self.text


def failed_outcome(op, what, code, message, prefix=""):
    log.warning("%scannot %s %s: %s", prefix, op, what, message)
    return Outcome(op, Unresolved(what), FAILED, code, message)


def name_prefix(name):
    """The "(NAME) " that starts an instance's log lines ("" without a name)."""
    return "(%s) " % name if name else ""


async def resolve_names(netlink, names):
    """{ifname: ifindex or None}; raises NetlinkQueryError."""
    out = {}
    for name in names:
        if name not in out:
            link = await netlink.link(name)
            out[name] = link.index if link is not None else None
    return out


def log_stale_removed(outcome, prefix=""):
    """Start-up cleaning: log it when `outcome` removed what a crashed run left (DONE)."""
    if outcome.status == DONE:
        log.info("%sremoved stale %s found at start", prefix, outcome.request.describe())


class RequestAttrs:
    """A request whose `attrs` are (name, value) pairs in pyroute2's names."""

    def attr(self, name, default=None):
        for key, value in self.attrs:
            if key == name:
                return value
        return default


__all__ = ["RequestAttrs", "Unresolved", "change_failed", "collect", "failed_outcome",
           "log_stale_removed", "name_prefix", "netlink_change", "netlink_query", "query_error",
           "resolve_names"]
