"""Effective priority: base priority plus tracking weights, clamped as keepalived does.

keepalived (vrrp_track.c `vrrp_set_effective_priority`): the total is the base
priority plus every tracker's contribution; the effective priority is that total
clamped to 1..254, so tracking can never make a router the address owner; an
address owner (base 255, RFC 5798 §5.2.4) is never changed by tracking at all.
"""

from __future__ import annotations

PRIORITY_OWNER = 255  # RFC 5798 §5.2.4: the IP address owner
PRIORITY_STOP = 0  # RFC 5798 §5.2.4: the master is stopping
PRIORITY_MIN = 1
PRIORITY_MAX_BACKUP = 254


def check_base_priority(base: int) -> None:
    if not isinstance(base, int) or isinstance(base, bool) or not PRIORITY_MIN <= base <= PRIORITY_OWNER:
        raise ValueError("base priority must be an integer 1..255, not %r" % (base,))


def effective_priority(base: int, weight_total: int) -> int:
    """The priority advertised for `base` + tracking weights `weight_total`."""
    check_base_priority(base)
    if not isinstance(weight_total, int) or isinstance(weight_total, bool):
        raise ValueError("tracking weight total must be an integer, not %r" % (weight_total,))
    if base == PRIORITY_OWNER:
        return PRIORITY_OWNER
    total = base + weight_total
    if total < PRIORITY_MIN:
        return PRIORITY_MIN
    if total > PRIORITY_MAX_BACKUP:
        return PRIORITY_MAX_BACKUP
    return total
