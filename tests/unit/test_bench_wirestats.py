"""The bench's wire statistics: percentiles, lateness, failover lookups (no network)."""

import pytest

from fastvrrp.bench.sniffer import Adverts, ArpFrame
from fastvrrp.bench.wirestats import (AdvertWindow, StatsError, first_garps,
                                      first_zero_priority_after, ip_int, last_adverts_before,
                                      maximum, median, percentile, summary_ms, vrids_seen)

MS = 1_000_000
A, B = ip_int("10.0.0.1"), ip_int("10.0.0.2")


def adverts(*rows):
    """Adverts from (t_ns, src, vrid, priority) rows."""
    out = Adverts()
    for t, src, vrid, prio in rows:
        out.ts.append(t)
        out.src.append(src)
        out.vrid_prio.append(vrid << 8 | prio)
    return out


# -- percentile ------------------------------------------------------------------------
@pytest.mark.parametrize("values,q,want", [
    ([1, 2, 3, 4], 50, 2.5),
    ([1, 2, 3, 4], 0, 1),
    ([1, 2, 3, 4], 100, 4),
    ([7], 99, 7),
    ([10, 20], 25, 12.5),
    (list(range(101)), 99, 99),
    (list(range(1, 11)), 90, 9.1),
])
def test_percentile_interpolates_between_ranks(values, q, want):
    assert percentile(values, q) == pytest.approx(want)


def test_percentile_rejects_bad_input():
    with pytest.raises(StatsError, match="no values"):
        percentile([], 50)
    with pytest.raises(StatsError, match="0..100"):
        percentile([1], 101)
    with pytest.raises(StatsError, match="0..100"):
        percentile([1], -1)


def test_summary_ms_sorts_and_converts():
    got = summary_ms([3 * MS, 1 * MS, 2 * MS], "lateness")
    assert got == {"lateness_p50_ms": 2.0, "lateness_p99_ms": pytest.approx(2.98),
                   "lateness_max_ms": 3.0}
    assert summary_ms([], "x") == {"x_p50_ms": None, "x_p99_ms": None, "x_max_ms": None}


def test_median_and_maximum_skip_missing_values():
    assert median([3, None, 1, 2]) == 2
    assert median([None]) is None
    assert maximum([1, None, 5]) == 5
    assert maximum([]) is None


def test_ip_int_rejects_what_is_not_ipv4():
    assert ip_int("10.0.0.1") == 0x0A000001
    with pytest.raises(StatsError):
        ip_int("fe80::1")


# -- the advert window -----------------------------------------------------------------
def test_lateness_is_the_gap_per_vrid_minus_the_nominal_interval():
    # VRID 1 every 10 ms with one 13 ms gap; VRID 2 every 10 ms, interleaved
    rows = [(t * MS, A, 1, 200) for t in (0, 10, 20, 33, 43)]
    rows += [(t * MS, A, 2, 200) for t in (5, 15, 25, 35)]
    rows.sort()
    w = AdvertWindow(adverts(*rows), {A}, 0, 50 * MS, 10 * MS)
    assert w.count == 9
    assert w.pairs == 2
    assert sorted(w.lateness_ns) == [0, 0, 0, 0, 0, 0, 3 * MS]
    assert w.lateness()["lateness_max_ms"] == 3.0
    assert w.lateness()["lateness_p50_ms"] == 0.0
    assert w.pps == pytest.approx(9 / 0.05)


def test_window_edges_and_sources_filter_adverts():
    rows = [(0, A, 1, 200), (10 * MS, A, 1, 200), (20 * MS, A, 1, 200), (30 * MS, A, 1, 200),
            (15 * MS, B, 1, 100)]
    # [10 ms, 30 ms): the adverts at 10 and 20 ms from A; B's is another source
    w = AdvertWindow(adverts(*rows), {A}, 10 * MS, 30 * MS, 10 * MS)
    assert w.count == 2
    assert list(w.lateness_ns) == [0]        # only the gap whose both ends are inside
    wb = AdvertWindow(adverts(*rows), {B}, 10 * MS, 30 * MS, 10 * MS)
    assert wb.count == 1 and len(wb.lateness_ns) == 0


def test_same_vrid_from_two_sources_are_separate_series():
    rows = [(0, A, 5, 200), (4 * MS, B, 5, 100), (10 * MS, A, 5, 200), (14 * MS, B, 5, 100)]
    w = AdvertWindow(adverts(*rows), {A, B}, 0, 20 * MS, 10 * MS)
    assert sorted(w.lateness_ns) == [0, 0]   # not the 4 ms / 6 ms gaps between sources


def test_early_adverts_give_negative_lateness_and_priority_zero_is_counted():
    rows = [(0, A, 1, 200), (8 * MS, A, 1, 200), (18 * MS, A, 1, 0)]
    w = AdvertWindow(adverts(*rows), {A}, 0, 20 * MS, 10 * MS)
    assert sorted(w.lateness_ns) == [-2 * MS, 0]
    assert w.zero_priority == 1


def test_window_rejects_bad_bounds():
    with pytest.raises(StatsError, match="empty window"):
        AdvertWindow(adverts(), {A}, 10, 10, 1)
    with pytest.raises(StatsError, match="nominal"):
        AdvertWindow(adverts(), {A}, 0, 10, 0)


def test_an_empty_window_has_no_lateness():
    w = AdvertWindow(adverts((100 * MS, A, 1, 200)), {A}, 0, 10 * MS, MS)
    assert w.count == 0
    assert w.lateness()["lateness_p99_ms"] is None


# -- failover lookups ------------------------------------------------------------------
def test_last_adverts_before_per_source_and_vrid_ignore_later_and_priority_zero():
    ads = adverts((1 * MS, A, 1, 200), (5 * MS, A, 2, 200), (6 * MS, A, 1, 0), (4 * MS, A, 1, 200),
                  (9 * MS, A, 1, 200), (7 * MS, B, 1, 100))
    assert last_adverts_before(ads, {A}, 8 * MS) == {(A, 1): 4 * MS, (A, 2): 5 * MS}
    assert last_adverts_before(ads, {A, B}, 8 * MS)[(B, 1)] == 7 * MS
    assert last_adverts_before(ads, {A}, 0) == {}


def test_first_zero_priority_after():
    ads = adverts((1 * MS, A, 1, 0), (5 * MS, A, 1, 200), (7 * MS, A, 1, 0), (6 * MS, B, 1, 0))
    assert first_zero_priority_after(ads, {A}, 2 * MS) == 7 * MS
    assert first_zero_priority_after(ads, {A}, 8 * MS) is None


def test_vrids_seen_reports_last_priority_since_a_time():
    ads = adverts((1, A, 1, 200), (2, A, 2, 200), (3, A, 1, 0), (4, B, 3, 100))
    assert vrids_seen(ads, {A}, 2) == {1: 0, 2: 200}
    assert vrids_seen(ads, {A}, 0, start=2) == {1: 0}


def test_first_garps_takes_gratuitous_frames_of_the_given_macs_after_the_event():
    vip1, vip2 = ip_int("10.200.0.1"), ip_int("10.200.0.2")
    mac_b, mac_a = "02:00:00:00:00:02", "02:00:00:00:00:01"
    client = ip_int("10.0.0.100")
    arps = [ArpFrame(5, 1, mac_b, vip1, vip1),            # before the event
            ArpFrame(12, 1, mac_a, vip1, vip1),           # the old master's
            ArpFrame(13, 1, mac_b, client, vip1),         # a plain request, not gratuitous
            ArpFrame(15, 1, mac_b, vip1, vip1),
            ArpFrame(14, 1, mac_b.upper().lower(), vip2, vip2),
            ArpFrame(16, 1, mac_b, vip2, vip2)]
    assert first_garps(arps, {mac_b.upper()}, 10, {vip1, vip2}) == {vip1: 15, vip2: 14}
    assert first_garps(arps, {mac_b}, 10, {vip1}) == {vip1: 15}
    assert first_garps(arps, {mac_b}, 20, {vip1, vip2}) == {}
