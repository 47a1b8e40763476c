"""The rise/fall state machine of one vrrp_script (keepalived 2.2.7).

keepalived keeps one counter per script, `result` in 0 .. rise+fall-1, and
calls the script OK when `result >= rise` (vrrp_scheduler.c
`vrrp_script_child_thread`, `vrrp_init_script`; reference §3.3):

- start: `result = rise - 1` and the script is in its `init` state, which
  the first result ends in either direction; with `init_fail` the script
  starts failed (`result = 0`, no init state).
- success: below rise-1 the counter climbs; at rise-1 the script goes OK
  and the counter jumps to rise+fall-1 (so `fall` failures are needed to
  bring it down again).
- failure: above rise the counter drops; at rise (or in init) the script
  goes KO and the counter jumps to 0 (so `rise` successes are needed).

The net effect: `rise` consecutive successes to go up, `fall` consecutive
failures to go down.  This module is pure (no I/O, no clock); scripts.py
feeds it run results and reports its transitions.
"""

from __future__ import annotations

import enum
import logging
from typing import Optional

log = logging.getLogger("fastvrrp.track.scripts")

RISE_FALL_MAX = 2**31 - 1   # keepalived: 1 .. INT_MAX


class ScriptState(enum.Enum):
    """What a tracked script reports to its users."""
    INIT = "INIT"   # no result yet (weighted: contributes nothing; unweighted: pseudo-FAULT)
    OK = "OK"
    KO = "KO"


def _check_count(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= RISE_FALL_MAX:
        raise ValueError("%s must be an integer 1..%d, not %r" % (what, RISE_FALL_MAX, value))
    return value


class RiseFall:
    __slots__ = ("rise", "fall", "result", "in_init")

    def __init__(self, rise: int = 1, fall: int = 1, init_fail: bool = False):
        self.rise = _check_count("rise", rise)
        self.fall = _check_count("fall", fall)
        if init_fail:
            self.result = 0               # "assume failed by config"
            self.in_init = False
        else:
            self.result = self.rise - 1   # "one success is enough"
            self.in_init = True

    @property
    def top(self) -> int:
        return self.rise + self.fall - 1

    @property
    def state(self) -> ScriptState:
        if self.in_init:
            return ScriptState.INIT
        return ScriptState.OK if self.result >= self.rise else ScriptState.KO

    def feed(self, success: bool) -> Optional[tuple[ScriptState, ScriptState]]:
        """Apply one run's result; return (old, new) when the state changed."""
        old = self.state
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            elif self.result != self.top:
                self.result = self.top
        else:
            if self.result > self.rise:
                self.result -= 1
            else:
                self.result = 0
        self.in_init = False
        new = self.state
        return (old, new) if new is not old else None

    def carry_over(self, old: "RiseFall", name: str = "") -> None:
        """Take over `old`'s standing across a reload (keepalived clear_diff_script).

        A script still in init stays in init; otherwise the counter keeps its
        distance from the OK/KO boundary, clamped to the new rise/fall, and
        keepalived's "considered (un)successful on reload" line is logged.
        """
        if old.in_init:
            self.in_init = True
            self.result = self.rise - 1
            return
        self.in_init = False
        if old.result < old.rise:
            self.result = 0 if old.result == 0 else max(0, self.rise - (old.rise - old.result))
            log.info("VRRP_Script(%s) considered unsuccessful on reload", name)
        else:
            if old.result == old.top:
                self.result = self.top
            else:
                self.result = min(self.top, self.rise + (old.result - old.rise))
            log.info("VRRP_Script(%s) considered successful on reload", name)

    def __repr__(self):
        return "<RiseFall %s result=%d rise=%d fall=%d>" % (self.state.value, self.result,
                                                          self.rise, self.fall)
