"""What the host layer's netlink requests give back.

Changes (add / delete of an address, route, rule or link) never raise: each
gives an `Outcome` whose status says what happened -- DONE (the kernel did
it because we asked), EXISTS (add: it was there already, not ours), ABSENT
(delete: it was gone already) or FAILED (with the errno and the reason).
Queries raise NetlinkQueryError, one type, when the kernel or the socket
fails (not when the object does not exist).
"""

import os
from dataclasses import dataclass

DONE = "done"           # the kernel did what we asked
EXISTS = "exists"       # add: the address was already there (not added by us)
ABSENT = "absent"       # del: the address (or its interface) was already gone
FAILED = "failed"


class NetlinkQueryError(RuntimeError):
    """A netlink query failed (not: the object does not exist)."""

    def __init__(self, what, code, message):
        super().__init__("netlink %s failed: %s (errno %d)" % (what, message, code))
        self.what = what
        self.errno = code


@dataclass(frozen=True)
class Outcome:
    """The result of one address add or delete."""

    op: str                 # "add" or "del"
    request: object         # the IfaRequest sent
    status: str             # DONE, EXISTS, ABSENT or FAILED
    errno: int = 0
    error: str = ""

    @property
    def ok(self):
        """Not a failure (DONE, EXISTS or ABSENT)."""
        return self.status != FAILED

    @property
    def changed(self):
        """The kernel added or removed the address because we asked."""
        return self.status == DONE

    def __str__(self):
        text = "%s %s: %s" % (self.op, self.request.describe(), self.status)
        if self.errno or self.error:
            text += " (%s, errno %d)" % (self.error or os.strerror(self.errno), self.errno)
        return text


__all__ = ["ABSENT", "DONE", "EXISTS", "FAILED", "NetlinkQueryError", "Outcome"]
