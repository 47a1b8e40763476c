"""Pure-Python twin of fastvrrp._wheel: the same API and the same observable
behaviour (handles, expiry order, clock, next_deadline), the test oracle's
partner and the benchmark baseline.

It is the same hierarchical wheel written as plain Python -- 64-slot levels
placed by the highest differing 6-bit digit of the tick, occupancy bitmaps,
reschedule in place while the slot still bounds the deadline from below --
with a `set` of node indices per slot instead of C chunk lists, and the
earliest slot's minimum computed on demand instead of cached.  The semantics
(RFC context, handles, the clock, truncated advances) are documented in
ext/wheel.pyx; this module implements exactly those.
"""

from operator import index as _index

__all__ = ["Wheel"]

_LEVEL_BITS = 6
_SLOTS = 64
_DUE = 704                  # the due list: deadlines <= the clock
_LISTS = 705
_MAX_TIMERS = 0x7FFF0000
_INT64_LIMIT = 1 << 63
_UINT64_LIMIT = 1 << 64
_GEN_MASK = 0xFFFFFFFF


def _as_int(value, name):
    try:
        return _index(value)
    except TypeError:
        raise TypeError("%s must be an integer, not %s"
                        % (name, type(value).__name__)) from None


def _int64_arg(value, name, low):
    value = _as_int(value, name)
    if value >= _INT64_LIMIT:
        raise OverflowError("%s must be < 2**63, got %d" % (name, value))
    if value < low:
        raise ValueError("%s must be >= %d, got %d" % (name, low, value))
    return value


def _uint64_arg(value, name):
    value = _as_int(value, name)
    if not 0 <= value < _UINT64_LIMIT:
        raise OverflowError("%s must be in 0..2**64-1, got %d" % (name, value))
    return value


class Wheel:
    """Wheel(tick_ns=1_000_000, capacity=1024): a hierarchical timer wheel."""

    __slots__ = ("_tick", "_clock", "_elapsed", "_seq", "_count", "_capacity",
                 "_deadline", "_seqs", "_data", "_gen", "_where", "_free",
                 "_lists", "_occupied")

    def __init__(self, tick_ns=1_000_000, capacity=1024):
        self._tick = _int64_arg(tick_ns, "tick_ns", 1)
        capacity = _as_int(capacity, "capacity")
        if not 0 <= capacity <= _MAX_TIMERS:
            raise ValueError("capacity must be in 0..%d, got %d" % (_MAX_TIMERS, capacity))
        self._capacity = max(capacity, 16)
        self._clock = 0          # the wheel's time
        self._elapsed = 0        # current tick: placement is relative to it
        self._seq = 0
        self._count = 0
        # One entry per storage index.
        self._deadline = []
        self._seqs = []
        self._data = []
        self._gen = []           # odd: pending, even: free
        self._where = []         # list index, or -1 when free
        self._free = []          # freed indices, reused last-freed-first
        self._lists = [set() for _ in range(_LISTS)]
        self._occupied = [0] * 11

    # -- placement ---------------------------------------------------------

    def _slot_start(self, where):
        level, slot = divmod(where, _SLOTS)
        span = _LEVEL_BITS * (level + 1)
        return ((self._elapsed >> span) << span) | (slot << (_LEVEL_BITS * level))

    def _link(self, idx, where):
        self._where[idx] = where
        self._lists[where].add(idx)
        if where != _DUE:
            self._occupied[where // _SLOTS] |= 1 << (where % _SLOTS)

    def _unlink(self, idx):
        where = self._where[idx]
        members = self._lists[where]
        members.discard(idx)
        if not members and where != _DUE:
            self._occupied[where // _SLOTS] &= ~(1 << (where % _SLOTS))

    def _detach(self, where):
        members = self._lists[where]
        self._lists[where] = set()
        if where != _DUE:
            self._occupied[where // _SLOTS] &= ~(1 << (where % _SLOTS))
        return members

    def _place(self, idx):
        deadline = self._deadline[idx]
        if deadline <= self._clock:
            self._link(idx, _DUE)
            return
        tick = deadline // self._tick
        diff = tick ^ self._elapsed
        level = (diff.bit_length() - 1) // _LEVEL_BITS if diff >= _SLOTS else 0
        self._link(idx, level * _SLOTS + ((tick >> (_LEVEL_BITS * level)) & 63))

    def _first_slot(self):
        """The earliest occupied wheel slot (lower levels come first)."""
        for level, bits in enumerate(self._occupied):
            if bits:
                return level * _SLOTS + (bits & -bits).bit_length() - 1
        return None

    def _replace_all(self, where):
        for idx in self._detach(where):
            self._place(idx)

    # -- storage -----------------------------------------------------------

    def _alloc(self):
        if self._free:
            idx = self._free.pop()
            self._gen[idx] = (self._gen[idx] + 1) & _GEN_MASK
            return idx
        idx = len(self._gen)
        if idx == self._capacity:
            if self._capacity >= _MAX_TIMERS:
                raise MemoryError("cannot grow the timer wheel beyond %d timers" % self._count)
            self._capacity = min(2 * self._capacity, _MAX_TIMERS)
        self._deadline.append(0)
        self._seqs.append(0)
        self._data.append(0)
        self._gen.append(1)
        self._where.append(-1)
        return idx

    def _release(self, idx):
        self._gen[idx] = (self._gen[idx] + 1) & _GEN_MASK
        self._where[idx] = -1
        self._free.append(idx)
        self._count -= 1

    def _lookup(self, handle):
        idx = handle & _GEN_MASK
        gen = handle >> 32
        if idx >= len(self._gen) or not gen & 1 or self._gen[idx] != gen:
            return -1
        return idx

    # -- the API -----------------------------------------------------------

    def schedule(self, deadline_ns, data=0):
        """Arm a timer for deadline_ns carrying data (uint64); returns its handle."""
        deadline = _int64_arg(deadline_ns, "deadline_ns", 0)
        data = _uint64_arg(data, "data")
        idx = self._alloc()
        self._deadline[idx] = deadline
        self._data[idx] = data
        self._seq += 1
        self._seqs[idx] = self._seq
        self._place(idx)
        self._count += 1
        return (self._gen[idx] << 32) | idx

    def cancel(self, handle):
        """Disarm; False (and nothing happens) for a stale handle."""
        idx = self._lookup(_uint64_arg(handle, "handle"))
        if idx < 0:
            return False
        self._unlink(idx)
        self._release(idx)
        return True

    def reschedule(self, handle, deadline_ns):
        """Move a pending timer to deadline_ns (a new schedule for the
        tie-break); False (and nothing happens) for a stale handle."""
        handle = _uint64_arg(handle, "handle")
        deadline = _int64_arg(deadline_ns, "deadline_ns", 0)
        idx = self._lookup(handle)
        if idx < 0:
            return False
        self._seq += 1
        self._seqs[idx] = self._seq
        where = self._where[idx]
        # RFC 5798 §6.4.2 / §6.4.3: Master_Down_Timer and Adver_Timer resets.
        if (deadline > self._clock and where != _DUE
                and deadline >= self._slot_start(where) * self._tick):
            self._deadline[idx] = deadline      # the slot still bounds it
            return True
        self._unlink(idx)
        self._deadline[idx] = deadline
        self._place(idx)
        return True

    def advance(self, now_ns, limit=None):
        """Expire the timers with deadline <= now_ns (at most `limit`); returns
        their payloads in (deadline, schedule sequence) order."""
        now = _int64_arg(now_ns, "now_ns", 0)
        if limit is None:
            stop = _INT64_LIMIT
        else:
            stop = _as_int(limit, "limit")
            if stop < 0:
                raise ValueError("limit must be >= 0 or None, got %d" % stop)
        now = max(now, self._clock)
        out = []
        if self._lists[_DUE] and self._expire_list(_DUE, now, out, stop):
            return out
        now_tick = now // self._tick
        while True:
            where = self._first_slot()
            if where is None:
                break
            start = self._slot_start(where)
            if start > now_tick:
                break
            self._elapsed = start
            if where >= _SLOTS:
                self._replace_all(where)        # cascade
                continue
            if self._expire_list(where, now, out, stop):
                return out
            if self._lists[where]:
                break           # the current tick, its rest is later than now
        self._clock = now
        self._elapsed = max(self._elapsed, now_tick)
        return out

    def _expire_list(self, where, now, out, stop):
        """Expire the due list or the current tick's slot into out; True when
        stopped by `stop` with timers still due."""
        deadline = self._deadline
        items = []
        if where == _DUE:
            items = list(self._detach(where))
        else:
            start_ns = self._elapsed * self._tick
            for idx in self._detach(where):
                if deadline[idx] - start_ns < self._tick:
                    items.append(idx)
                else:
                    self._place(idx)        # moved beyond this tick
        seqs = self._seqs
        items.sort(key=lambda idx: (deadline[idx], seqs[idx]))
        due = 0
        while due < len(items) and deadline[items[due]] <= now:
            due += 1
        take = min(due, stop - len(out))
        for idx in items[:take]:
            out.append(self._data[idx])
            self._release(idx)
        for idx in items[take:]:
            self._link(idx, where)
        if take < due:
            self._clock = max(self._clock, deadline[items[take]] - 1)
            return True
        return False

    def next_deadline(self):
        """The earliest pending deadline (exact), or None when empty."""
        deadline = self._deadline
        if self._lists[_DUE]:
            return min(deadline[idx] for idx in self._lists[_DUE])
        while True:
            where = self._first_slot()
            if where is None:
                return None
            low = min(deadline[idx] for idx in self._lists[where])
            level = where // _SLOTS
            if (low // self._tick - self._slot_start(where)) >> (_LEVEL_BITS * level) == 0:
                return low
            self._replace_all(where)    # all of them moved beyond this slot

    def deadline(self, handle):
        """A pending timer's deadline, or None for a stale handle."""
        idx = self._lookup(_uint64_arg(handle, "handle"))
        return None if idx < 0 else self._deadline[idx]

    def clear(self):
        """Cancel every pending timer."""
        for idx, where in enumerate(self._where):
            if where >= 0:
                self._release(idx)
        self._lists = [set() for _ in range(_LISTS)]
        self._occupied = [0] * 11

    def __len__(self):
        return self._count

    @property
    def tick_ns(self):
        return self._tick

    @property
    def now_ns(self):
        """The wheel's clock: the latest `now` it advanced to."""
        return self._clock

    @property
    def capacity(self):
        """Timers the storage holds before it grows again."""
        return self._capacity

    def __repr__(self):
        return "<fastvrrp.reference.wheel.Wheel tick_ns=%d timers=%d now_ns=%d>" % (
            self._tick, self._count, self._clock)
