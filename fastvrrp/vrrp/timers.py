"""RFC timer arithmetic, in keepalived's integer microseconds.

keepalived keeps every VRRP time in µs (`TIMER_HZ` = 1,000,000) and truncates
with integer division; peers time out on exactly these figures, so fastvrrp
computes them the same way and converts to nanoseconds only at the edge.

    priority 100, advert_int 1 s  ->  Skew_Time 609,375 µs,
                                      Master_Down_Interval 3,609,375 µs (v2 and v3)
    priority 100, advert_int 1 cs (v3) -> Skew_Time 6,093 µs, Master_Down_Interval 36,093 µs
"""

from __future__ import annotations

US_PER_S = 1_000_000
US_PER_CS = 10_000
NS_PER_US = 1_000
NS_PER_S = 1_000_000_000

V2_MAX_ADVER_INT_S = 255  # RFC 3768 §5.3.7: 8-bit field, seconds
V3_MAX_ADVER_INT_CS = 4095  # RFC 5798 §5.2.7: 12-bit field, centiseconds


def _check_version(version: int) -> None:
    if version not in (2, 3):
        raise ValueError("VRRP version must be 2 or 3, not %r" % (version,))


def _check_priority(priority: int) -> None:
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 255:
        raise ValueError("VRRP priority must be an integer 0..255, not %r" % (priority,))


def adver_int_field_to_us(version: int, field: int) -> int:
    """The advert's interval field in µs.

    RFC 3768 §5.3.7 (v2): whole seconds.  RFC 5798 §5.2.7 (v3): Max Adver Int,
    centiseconds.
    """
    _check_version(version)
    limit = V2_MAX_ADVER_INT_S if version == 2 else V3_MAX_ADVER_INT_CS
    if not isinstance(field, int) or isinstance(field, bool) or not 0 <= field <= limit:
        raise ValueError("VRRPv%d advertisement interval field must be 0..%d, not %r"
                         % (version, limit, field))
    return field * (US_PER_S if version == 2 else US_PER_CS)


def cs_to_us(centiseconds: int) -> int:
    """Centiseconds (the RFC 5798 unit) to µs."""
    return centiseconds * US_PER_CS


def us_to_ns(us: int) -> int:
    return us * NS_PER_US


def skew_time_us(version: int, priority: int, master_adver_int_us: int) -> int:
    """Skew_Time in µs.

    RFC 3768 §6.1 (v2): ((256 - Priority) / 256) seconds, whatever the interval.
    RFC 5798 §6.1 (v3): ((256 - Priority) * Master_Adver_Interval) / 256, computed
    as keepalived does: the interval in whole centiseconds, times 625/16 µs.
    """
    _check_version(version)
    _check_priority(priority)
    if master_adver_int_us < 0:
        raise ValueError("Master_Adver_Interval must not be negative, not %r" % (master_adver_int_us,))
    weight = 256 - priority
    if version == 2:
        return weight * US_PER_S // 256
    return weight * (master_adver_int_us // US_PER_CS) * 625 // 16


def master_down_interval_us(version: int, priority: int, master_adver_int_us: int,
                            down_timer_adverts: int = 3) -> int:
    """Master_Down_Interval in µs (RFC 3768 §6.1, RFC 5798 §6.1).

    (down_timer_adverts * Master_Adver_Interval) + Skew_Time; the RFCs fix the
    multiplier at 3, keepalived ≥ 2.2.3 makes it configurable (1..100).
    """
    if not isinstance(down_timer_adverts, int) or not 1 <= down_timer_adverts <= 100:
        raise ValueError("down_timer_adverts must be 1..100, not %r" % (down_timer_adverts,))
    return shared_int(down_timer_adverts * master_adver_int_us
                      + skew_time_us(version, priority, master_adver_int_us))


# Issue 6 (memory): the durations thousands of instances hold are a few values
# (one per advert interval and priority); each machine keeping its own int
# object of the same value costs 32 bytes apiece.
_INTS: dict = {}
_INTS_MAX = 4096


def shared_int(value: int) -> int:
    """The one int object equal to `value` (bounded: past _INTS_MAX values,
    new ones are returned as they are)."""
    got = _INTS.get(value)
    if got is not None:
        return got
    if len(_INTS) < _INTS_MAX:
        _INTS[value] = value
    return value
