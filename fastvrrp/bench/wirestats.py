"""Figures from what the sniffer saw: rates, advert lateness, failover times.

Pure functions over the sniffer's columns (fastvrrp.bench.sniffer.Adverts:
`ts` ns, `src` IPv4 as int, `vrid_prio` = vrid << 8 | priority) and ARP
frames; no I/O, so the tests can feed them made-up traffic.

Lateness (RFC 5798 §6.4.3: a Master sends an ADVERTISEMENT every
Advertisement_Interval): for each sender and VRID, every gap between two
consecutive adverts inside the window, minus the nominal interval.  A gap
that spans a missing advert shows as one interval late; an early advert as a
negative lateness.

Percentiles interpolate linearly between the two nearest ranks (numpy's
default): p50 of [1, 2, 3, 4] is 2.5, p100 is the max, p0 the min.
"""

import array
import ipaddress
import math

NS_PER_MS = 1_000_000


class StatsError(ValueError):
    """Bad input to a statistic (an empty window, a percentile outside 0-100)."""


def percentile(sorted_values, q):
    """The q-th percentile (0..100) of an ascending sequence, linear interpolation."""
    if not 0 <= q <= 100:
        raise StatsError("percentile must be within 0..100, got %r" % (q,))
    n = len(sorted_values)
    if n == 0:
        raise StatsError("percentile of no values")
    rank = (n - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, n - 1)
    frac = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * frac


def summary_ms(values_ns, prefix):
    """{prefix_p50_ms, prefix_p99_ms, prefix_max_ms} of ns values (None when empty)."""
    keys = ("%s_p50_ms" % prefix, "%s_p99_ms" % prefix, "%s_max_ms" % prefix)
    if not len(values_ns):
        return dict.fromkeys(keys)
    ordered = sorted(values_ns)
    return {keys[0]: percentile(ordered, 50) / NS_PER_MS,
            keys[1]: percentile(ordered, 99) / NS_PER_MS,
            keys[2]: ordered[-1] / NS_PER_MS}


def ip_int(address):
    """An IPv4 address (text or ipaddress) as the int the sniffer records."""
    try:
        return int(ipaddress.IPv4Address(address))
    except (ipaddress.AddressValueError, ValueError, TypeError) as exc:
        raise StatsError("not an IPv4 address: %r (%s)" % (address, exc)) from None


def _check_window(t0_ns, t1_ns):
    if t1_ns <= t0_ns:
        raise StatsError("empty window: end %r is not after start %r" % (t1_ns, t0_ns))


class AdvertWindow:
    """Adverts from `sources` received in [t0_ns, t1_ns): counts and lateness.

    count: adverts seen; vrids: distinct (source, VRID) pairs seen;
    lateness_ns: an array of (gap - nominal) over consecutive adverts of one
    (source, VRID) that both fell in the window; zero_priority: adverts with
    priority 0 (RFC 5798 §6.4.3, a Master stopping).
    """

    def __init__(self, adverts, sources, t0_ns, t1_ns, nominal_ns):
        _check_window(t0_ns, t1_ns)
        if nominal_ns <= 0:
            raise StatsError("the nominal interval must be > 0 ns, got %r" % (nominal_ns,))
        self.t0_ns, self.t1_ns, self.nominal_ns = t0_ns, t1_ns, nominal_ns
        sources = frozenset(sources)
        last = {}
        late = array.array("q")
        count = zero = 0
        n = len(adverts)
        for t, s, vp in zip(adverts.ts[:n], adverts.src[:n], adverts.vrid_prio[:n]):
            if t < t0_ns or t >= t1_ns or s not in sources:
                continue
            count += 1
            if not vp & 0xFF:
                zero += 1
            key = s << 8 | vp >> 8
            prev = last.get(key)
            if prev is not None:
                late.append(t - prev - nominal_ns)
            last[key] = t
        self.count, self.zero_priority, self.lateness_ns = count, zero, late
        self.pairs = len(last)

    @property
    def seconds(self):
        return (self.t1_ns - self.t0_ns) / 1e9

    @property
    def pps(self):
        return self.count / self.seconds

    def lateness(self):
        """{lateness_p50_ms, lateness_p99_ms, lateness_max_ms}."""
        return summary_ms(self.lateness_ns, "lateness")


def vrids_seen(adverts, sources, since_ns, *, start=0):
    """{vrid: last priority} of adverts from `sources` received at or after since_ns,
    scanning entries from index `start` (for incremental polling)."""
    sources = frozenset(sources)
    out = {}
    n = len(adverts)
    for i in range(start, n):
        if adverts.ts[i] >= since_ns and adverts.src[i] in sources:
            vp = adverts.vrid_prio[i]
            out[vp >> 8] = vp & 0xFF
    return out


def last_adverts_before(adverts, sources, t_ns):
    """{(source, VRID): time of its last non-zero-priority advert at or before t_ns}."""
    sources = frozenset(sources)
    out = {}
    n = len(adverts)
    for t, s, vp in zip(adverts.ts[:n], adverts.src[:n], adverts.vrid_prio[:n]):
        if t <= t_ns and s in sources and vp & 0xFF:
            key = (s, vp >> 8)
            if t > out.get(key, -1):
                out[key] = t
    return out


def first_zero_priority_after(adverts, sources, t_ns):
    """Time of the first priority-0 advert from `sources` after t_ns, or None."""
    sources = frozenset(sources)
    best = None
    n = len(adverts)
    for t, s, vp in zip(adverts.ts[:n], adverts.src[:n], adverts.vrid_prio[:n]):
        if t > t_ns and s in sources and not vp & 0xFF:
            if best is None or t < best:
                best = t
    return best


def first_garps(arps, macs, t_ns, vips):
    """{vip int: time of the first gratuitous ARP for it from one of `macs` after t_ns}."""
    macs = {m.lower() for m in macs}
    vips = frozenset(vips)
    out = {}
    for frame in arps:
        if (frame.ts_ns > t_ns and frame.gratuitous and frame.sender_ip in vips
                and frame.sender_mac in macs):
            prev = out.get(frame.sender_ip)
            if prev is None or frame.ts_ns < prev:
                out[frame.sender_ip] = frame.ts_ns
    return out


def median(values):
    """The median (p50) of numbers, None for none."""
    values = [v for v in values if v is not None]
    return percentile(sorted(values), 50) if values else None


def maximum(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None
