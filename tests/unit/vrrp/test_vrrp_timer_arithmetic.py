"""RFC 3768 §6.1 / RFC 5798 §6.1 timer arithmetic against keepalived's figures."""

import pytest

from fastvrrp.vrrp.timers import (adver_int_field_to_us, cs_to_us, master_down_interval_us,
                                  skew_time_us, us_to_ns)


@pytest.mark.parametrize("version,mai_us", [(2, 1_000_000), (3, 1_000_000)])
def test_priority_100_one_second_is_3_609375_s(version, mai_us):
    """keepalived-vrrp.md §3.6: priority 100, advert_int 1 s -> 3.609375 s, v2 and v3."""
    assert skew_time_us(version, 100, mai_us) == 609_375
    assert master_down_interval_us(version, 100, mai_us) == 3_609_375


def test_v2_skew_ignores_the_interval():
    """RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds, whatever the interval."""
    assert skew_time_us(2, 100, 5_000_000) == 609_375
    assert master_down_interval_us(2, 100, 5_000_000) == 15_609_375


def test_v3_skew_scales_with_the_interval():
    """RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256."""
    assert skew_time_us(3, 100, 5_000_000) == 3_046_875
    assert master_down_interval_us(3, 100, 5_000_000) == 18_046_875


def test_v3_one_centisecond_truncates_like_keepalived():
    """156 * 1 cs * 625 / 16 = 6093.75 µs; keepalived's integer arithmetic gives 6093."""
    assert skew_time_us(3, 100, 10_000) == 6_093
    assert master_down_interval_us(3, 100, 10_000) == 36_093


def test_v3_interval_below_a_centisecond_counts_whole_centiseconds():
    # keepalived divides the µs interval by TIMER_CENTI_HZ first.
    assert skew_time_us(3, 100, 19_999) == skew_time_us(3, 100, 10_000)


@pytest.mark.parametrize("version", [2, 3])
def test_owner_skew_is_one_256th(version):
    assert skew_time_us(version, 255, 1_000_000) == 3_906  # 3906.25 truncated
    assert master_down_interval_us(version, 255, 1_000_000) == 3_003_906


def test_priority_one_and_zero():
    assert skew_time_us(2, 1, 1_000_000) == 996_093
    # Priority 0 is only ever advertised, but the formula stays defined.
    assert skew_time_us(2, 0, 1_000_000) == 1_000_000


def test_down_timer_adverts_multiplies_the_interval_only():
    assert master_down_interval_us(2, 100, 1_000_000, down_timer_adverts=1) == 1_609_375
    assert master_down_interval_us(3, 100, 10_000, down_timer_adverts=10) == 106_093


def test_wire_field_conversion():
    """RFC 3768 §5.3.7 seconds; RFC 5798 §5.2.7 centiseconds (12 bits)."""
    assert adver_int_field_to_us(2, 1) == 1_000_000
    assert adver_int_field_to_us(2, 255) == 255_000_000
    assert adver_int_field_to_us(3, 1) == 10_000
    assert adver_int_field_to_us(3, 4095) == 40_950_000
    assert cs_to_us(100) == 1_000_000
    assert us_to_ns(3_609_375) == 3_609_375_000


@pytest.mark.parametrize("call,message", [
    (lambda: skew_time_us(4, 100, 1), "version must be 2 or 3"),
    (lambda: skew_time_us(3, 256, 1), "priority must be an integer 0..255"),
    (lambda: skew_time_us(3, -1, 1), "priority must be an integer 0..255"),
    (lambda: skew_time_us(3, 100, -1), "must not be negative"),
    (lambda: master_down_interval_us(3, 100, 1, down_timer_adverts=0), "down_timer_adverts must be 1..100"),
    (lambda: master_down_interval_us(3, 100, 1, down_timer_adverts=101), "down_timer_adverts must be 1..100"),
    (lambda: adver_int_field_to_us(2, 256), "must be 0..255"),
    (lambda: adver_int_field_to_us(3, 4096), "must be 0..4095"),
    (lambda: adver_int_field_to_us(3, "1"), "must be 0..4095"),
])
def test_bad_arguments_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
