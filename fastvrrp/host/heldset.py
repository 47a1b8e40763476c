"""What a set of host entries holds: the ones the kernel added because we asked.

RouteSet and RuleSet (routes.py, rules.py) keep, per spec they added, what
removes it again, in add order.  Removing goes newest first; a spec stays
held when its delete failed (the next removal tries again), as keepalived
keeps its "set" flag (RFC 5798 §6.4.3 leaving Master; a reload's §3.17 diff).
"""

import abc

from .outcome import DONE


class HeldSet(abc.ABC):
    """Base of RouteSet / RuleSet: `_ours` maps spec -> what `_delete()` takes."""

    def __init__(self):
        self._ours = {}         # spec -> delete handle, in add order

    def holds(self, spec):
        return spec in self._ours

    def _hold(self, spec, outcome, held):
        """After an add: the entry is ours only if the kernel added it because we
        asked (DONE; EXISTS is someone else's).  Returns `outcome`."""
        if outcome.status == DONE:
            self._ours[spec] = held
        return outcome

    @abc.abstractmethod
    async def _delete(self, held):
        """Delete one held entry -> Outcome (never raises)."""

    async def _release(self, keep=frozenset()):
        """Delete every held entry whose spec is not in `keep`, newest first -> [Outcome]."""
        outcomes = []
        for spec, held in reversed(list(self._ours.items())):
            if spec in keep:
                continue
            outcome = await self._delete(held)
            if outcome.ok:
                del self._ours[spec]
            outcomes.append(outcome)
        return outcomes


__all__ = ["HeldSet"]
