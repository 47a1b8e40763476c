"""The decisions the state machine takes on a received advert, as pure functions.

Plain integers and booleans in, a verdict out, so the fast path (ext/fastpath)
can mirror them in C and a differential test can hold the two together.
"""

from __future__ import annotations

import enum
from typing import Optional

from .priority import PRIORITY_OWNER, PRIORITY_STOP


def compare_addresses(a, b) -> int:
    """-1, 0 or 1 comparing two addresses as unsigned big-endian integers
    (RFC 5798 §6.4.3 "primary IP address ... greater"; keepalived `inet_inaddrcmp`).
    None (no address) compares as the all-zeros address."""
    ia = int(a) if a is not None else 0
    ib = int(b) if b is not None else 0
    return (ia > ib) - (ia < ib)


def preempt_delay_holds(preempt_delay_ns: int, preempt_until_ns: Optional[int], now_ns: int) -> bool:
    """keepalived `preempt_delay`: lower adverts are still accepted until the
    delay, started by the first lower advert, has passed."""
    if not preempt_delay_ns:
        return False
    return preempt_until_ns is None or preempt_until_ns > now_ns


class BackupVerdict(enum.Enum):
    PRIORITY_ZERO = "priority zero"  # RFC 5798 §6.4.2: Master_Down_Timer = Skew_Time
    ACCEPT = "accept"  # RFC 5798 §6.4.2: reset Master_Down_Timer
    DISCARD_LOWER = "discard lower"  # RFC 5798 §6.4.2: preempting, lower priority


def backup_verdict(adv_priority: int, effective_priority: int, nopreempt: bool,
                   preempt_delay_holding: bool) -> BackupVerdict:
    """RFC 5798 §6.4.2 (RFC 3768 §6.4.2) Backup receiving an ADVERTISEMENT.

    Accept when Preempt_Mode is False (nopreempt, whatever the priority), when
    the advert's priority is >= ours (equal priority is accepted without an
    address comparison, as keepalived does), or while a preempt_delay holds.
    """
    if adv_priority == PRIORITY_STOP:
        return BackupVerdict.PRIORITY_ZERO
    if nopreempt or adv_priority >= effective_priority or preempt_delay_holding:
        return BackupVerdict.ACCEPT
    return BackupVerdict.DISCARD_LOWER


class MasterVerdict(enum.Enum):
    PRIORITY_ZERO = "priority zero"  # RFC 5798 §6.4.3: send an advert at once, stay
    LOWER = "lower"  # RFC 5798 §6.4.3 "Otherwise": stay (keepalived re-advertises)
    HIGHER = "higher"  # RFC 5798 §6.4.3: go to Backup
    SAME_ADDRESS = "same address"  # equal priority from our own address: warn, stay
    OWNER_CONFLICT = "owner conflict"  # keepalived 2.2.7: both are owners; drop to 254, yield


def master_verdict(adv_priority: int, effective_priority: int, addr_cmp: int) -> MasterVerdict:
    """RFC 5798 §6.4.3 (RFC 3768 §6.4.3) Master receiving an ADVERTISEMENT.

    `addr_cmp` is compare_addresses(advert source, our primary address).
    """
    if adv_priority == PRIORITY_STOP:
        return MasterVerdict.PRIORITY_ZERO
    if adv_priority == effective_priority:
        if addr_cmp == 0:
            return MasterVerdict.SAME_ADDRESS
        if effective_priority == PRIORITY_OWNER:
            return MasterVerdict.OWNER_CONFLICT
    if adv_priority < effective_priority or (adv_priority == effective_priority and addr_cmp < 0):
        return MasterVerdict.LOWER
    return MasterVerdict.HIGHER


def higher_prio_sends_advert(adv_priority: int, effective_priority: int, addr_cmp: int) -> bool:
    """keepalived `higher_prio_send_advert`: the advert would win against ours."""
    return adv_priority > effective_priority or (adv_priority == effective_priority and addr_cmp > 0)


def v2_interval_matches(adver_int_s: int, advert_int_cs: int) -> bool:
    """RFC 3768 §7.1: a VRRPv2 Adver Int MUST equal the local one, else discard."""
    return adver_int_s * 100 == advert_int_cs


def address_list_problem(vips: tuple, addresses: tuple, check_list: bool) -> Optional[tuple]:
    """RFC 5798 §7.1 (SHOULD log, not drop): compare the advert's list with ours.

    None when they agree; else ("count", None) when the counts differ (always
    checked, as keepalived ≥ 2.3.3), or ("missing", vip) for the first VIP of
    ours absent from the advert (only when `check_list`).
    """
    if len(addresses) != len(vips):
        return ("count", None)
    if check_list:
        present = set(addresses)
        for vip in vips:
            if vip not in present:
                return ("missing", vip)
    return None
