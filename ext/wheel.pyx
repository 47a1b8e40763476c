"""fastvrrp._wheel: the hierarchical timer wheel behind every VRRP timer.

What it is for
--------------
Every VRRP instance has one timer at a time (RFC 5798 §6.1, RFC 3768 §6.1):

* Adver_Timer while Master: fires every Advertisement_Interval (1 cs at the
  finest, RFC 5798 §5.2.7) and is re-armed after each advert
  (RFC 5798 §6.4.3).
* Master_Down_Timer while Backup: set to Master_Down_Interval and reset on
  EVERY accepted advert from the master (RFC 5798 §6.4.2).  That reset is the
  hot path: 1,000 backups hearing 1-cs masters reschedule 100,000 times per
  second, so `reschedule` is a single write when the timer moves later.

The daemon arms one loop timer (`call_at`) for `next_deadline()` and, when it
fires, calls `advance(now)` and acts on the expired payloads (instance index +
timer kind packed into one integer).  The fast path (ext/fastpath.pyx) uses
the C API declared in wheel.pxd with no Python objects.  To batch a whole
tick into one `sendmmsg`, pass the end of the tick as `now` (timers then
fire up to one tick early).

Semantics (identical in fastvrrp.reference.wheel)
-------------------------------------------------
* Deadlines are monotonic nanoseconds, any int64 >= 0.  A timer carries one
  uint64 payload.
* `schedule` returns a handle: generation << 32 | storage index.  A storage
  slot's generation is odd while its timer is pending and is bumped when the
  timer is released (cancelled or expired) and again when the slot is
  reused, so a stale handle -- cancelled, expired, or naming storage reused
  by a newer timer -- or one never issued is a no-op returning False (None
  for `deadline`).  (Generations wrap after 2**31 reuses of one storage
  slot; only then could a very old handle alias.)  Freed storage is reused
  last-freed-first, so both twins issue the same handles.
* `reschedule` keeps the handle and counts as a new schedule for the
  tie-break.
* `advance(now)` expires exactly the timers with deadline <= now, in
  (deadline, schedule sequence) order, and returns their payloads.  The
  wheel's clock (`now_ns`, starts at 0) never goes back: an older `now`
  counts as the clock.  A timer scheduled at or before the clock expires on
  the next advance.  With `limit`, at most `limit` timers expire; when more
  were due the clock moves only to just before the first one left
  (max(clock, D - 1)), so the rest come out first on the next advance, still
  in order, whatever is scheduled in between.
* `next_deadline()` is the earliest pending deadline, exactly (None when
  empty; -1 in C).

Structure
---------
Levels of 64 slots (Varghese & Lauck's hierarchical wheel with cascading;
a timer's level is the highest 6-bit digit in which its tick differs from
the current tick, as tokio's wheel places them): a level-L slot spans 64**L
ticks.  Enough
levels for any int64 deadline at any tick, so there is no overflow list.
Occupancy bitmaps (one uint64 per level + a level mask) find the next slot
with two ctz, so empty ticks cost nothing and a jump of any length crosses
only occupied slots.

Storage is plain C arrays that grow by doubling: 32-byte nodes (deadline,
sequence, payload, generation, position; 64-byte aligned) with a free list,
and a pool of 16-entry chunks of node indices.  Each slot, and the "due" list
for deadlines at or before the clock, is a chain of chunks; a node knows its
entry, and removal moves the list's last entry into the hole.  Walking a list
reads whole lines and loads the nodes independently (prefetched a chunk
ahead), which is what keeps cascades and expiry cheap at a million timers.
The pool is sized so that moving a timer never allocates: only `schedule`
(growth) and `advance` (sort and output buffers) can run out of memory.
About 36.5 bytes per timer, plus 32 bytes per timer of the largest slot
sorted so far (sort scratch, kept for reuse).

A slot is a lower bound: a timer's deadline is >= the start of its slot.  A
reschedule that keeps that true (every move later, the VRRP case) only
rewrites the node; the timer is re-placed when its slot is reached.  Each
list keeps its minimum deadline (rescanned only after the minimum left),
which makes next_deadline exact: the earliest slot's minimum, unless it lies
beyond the slot, in which case that slot is re-placed first.

Costs: schedule and cancel O(1); reschedule O(1), one node write when the
slot still bounds it; advance O(expired * log(timers in one tick) + timers
cascaded + occupied slots crossed), each timer cascading at most once per
level; next_deadline O(1) plus, after the earliest slot lost its minimum, one
pass over that slot.  A level-0 slot is sorted by (deadline, sequence) when
it expires; what is left goes back in order, so a second pass over the same
tick is a linear check.  If the sort or output buffers cannot be allocated,
advance expires what it can (the rest stays pending, in order) and the
Python API raises MemoryError only when it expired nothing.
"""

cimport cython
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_Check, PyLong_FromUnsignedLongLong
from cpython.number cimport PyNumber_Index
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc, PyMem_RawRealloc
from cpython.ref cimport Py_INCREF
from libc.stdint cimport INT64_MAX, int16_t, int32_t, int64_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

cdef extern from *:
    """
    static inline int fv_wheel_clz64(uint64_t x) { return __builtin_clzll(x); }
    static inline int fv_wheel_ctz64(uint64_t x) { return __builtin_ctzll(x); }
    static inline int fv_wheel_ctz32(uint32_t x) { return __builtin_ctz(x); }
    static inline void fv_wheel_prefetch(const void* p) { __builtin_prefetch(p); }
    /* Division by the tick as multiply + shift (Granlund & Montgomery 1994,
       Thm 4.2): for n < 2**63 and 2**(l-1) < d < 2**l,
       m = ceil(2**(63+l) / d) < 2**64 and n / d == (n * m) >> (63 + l). */
    static inline uint64_t fv_wheel_magic(uint64_t d, unsigned l) {
        unsigned __int128 p = ((unsigned __int128)1) << (63 + l);
        return (uint64_t)((p - 1) / d + 1);
    }
    static inline uint64_t fv_wheel_mulshift(uint64_t n, uint64_t m, unsigned s) {
        return (uint64_t)(((unsigned __int128)n * m) >> s);
    }
    """
    int fv_wheel_clz64(uint64_t x) noexcept nogil
    int fv_wheel_ctz64(uint64_t x) noexcept nogil
    int fv_wheel_ctz32(uint32_t x) noexcept nogil
    void fv_wheel_prefetch(const void* p) noexcept nogil
    uint64_t fv_wheel_magic(uint64_t d, unsigned l) noexcept nogil
    uint64_t fv_wheel_mulshift(uint64_t n, uint64_t m, unsigned s) noexcept nogil

NODE_BYTES = sizeof(wheel_node_t)
SORT_ITEM_BYTES = sizeof(wheel_item_t)

cdef enum:
    _SORT_RUN = 16
    _OUT_MIN = 64
    _OUT_KEEP = 65536           # Python API output buffer kept between advances


# --------------------------------------------------------------------------
# Arithmetic helpers

cdef inline uint64_t _tick(const wheel_t* w, int64_t deadline) noexcept nogil:
    """deadline // tick_ns for deadline >= 0."""
    if w.div_pow2:
        return <uint64_t>deadline >> w.div_shift
    return fv_wheel_mulshift(<uint64_t>deadline, w.div_magic, 63 + w.div_shift)


cdef inline uint64_t _slot_start(const wheel_t* w, int level, int slot) noexcept nogil:
    """First tick covered by (level, slot): the slot lies in the current tick's
    64**(level+1) block (placement invariant)."""
    cdef int span_bits = WHEEL_LEVEL_BITS * (level + 1)
    cdef uint64_t high = 0
    if span_bits < 64:
        high = (w.elapsed >> span_bits) << span_bits
    return high | (<uint64_t>slot << (WHEEL_LEVEL_BITS * level))


# --------------------------------------------------------------------------
# Lists: every pending node is on one (a wheel slot or the due list).

cdef inline int32_t _chunk_take(wheel_t* w) noexcept nogil:
    # Never empty: the pool holds capacity/16 + WHEEL_LISTS + slack chunks, and
    # every list has at most one chunk that is not full (see _grow).
    cdef int32_t c = w.free_chunk
    w.free_chunk = w.chunk_prev[c]
    return c


cdef inline void _chunk_give(wheel_t* w, int32_t c) noexcept nogil:
    w.chunk_prev[c] = w.free_chunk
    w.free_chunk = c


cdef inline void _set_bit(wheel_t* w, int where) noexcept nogil:
    w.occupied[where >> WHEEL_LEVEL_BITS] |= (<uint64_t>1) << (where & 63)
    w.level_mask |= (<uint32_t>1) << (where >> WHEEL_LEVEL_BITS)


cdef inline void _clear_bit(wheel_t* w, int where) noexcept nogil:
    cdef int level = where >> WHEEL_LEVEL_BITS
    w.occupied[level] &= ~((<uint64_t>1) << (where & 63))
    if w.occupied[level] == 0:
        w.level_mask &= ~((<uint32_t>1) << level)


cdef inline void _link(wheel_t* w, int32_t idx, int where) noexcept nogil:
    cdef wheel_node_t* n = &w.nodes[idx]
    cdef int32_t c = w.last[where]
    cdef int32_t pos, fresh
    if w.length[where] == 0:
        w.minimum[where] = n.deadline
        w.stale[where] = 0
        if where != WHEEL_DUE:
            _set_bit(w, where)
    elif not w.stale[where] and n.deadline < w.minimum[where]:
        w.minimum[where] = n.deadline
    if c < 0 or w.fill[where] == WHEEL_CHUNK:
        fresh = _chunk_take(w)
        w.chunk_prev[fresh] = c
        w.chunk_owner[fresh] = <int16_t>where
        w.last[where] = fresh
        w.fill[where] = 0
        c = fresh
    pos = (c << WHEEL_CHUNK_BITS) + w.fill[where]
    w.entries[pos] = idx
    n.pos = pos
    w.fill[where] += 1
    w.length[where] += 1


cdef inline void _unlink(wheel_t* w, int32_t idx) noexcept nogil:
    """Take a node off its list: the list's last entry fills the hole."""
    cdef wheel_node_t* n = &w.nodes[idx]
    cdef int32_t pos = n.pos
    cdef int where = w.chunk_owner[pos >> WHEEL_CHUNK_BITS]
    cdef int32_t c = w.last[where]
    cdef int32_t tail = (c << WHEEL_CHUNK_BITS) + w.fill[where] - 1
    cdef int32_t moved
    if pos != tail:
        moved = w.entries[tail]
        w.entries[pos] = moved
        w.nodes[moved].pos = pos
    w.fill[where] -= 1
    if w.fill[where] == 0:
        w.last[where] = w.chunk_prev[c]
        _chunk_give(w, c)
        w.fill[where] = WHEEL_CHUNK if w.last[where] >= 0 else 0
    w.length[where] -= 1
    if w.length[where] == 0:
        if where != WHEEL_DUE:
            _clear_bit(w, where)
    elif n.deadline == w.minimum[where]:
        w.stale[where] = 1


cdef inline int32_t _detach(wheel_t* w, int where, int32_t* count) noexcept nogil:
    """Empty a list; returns its tail chunk (entries in it: *count; every
    earlier chunk of the chain, by chunk_prev, is full).  The caller walks
    the chain and gives each chunk back once read."""
    cdef int32_t c = w.last[where]
    count[0] = w.fill[where]
    w.last[where] = -1
    w.fill[where] = 0
    w.length[where] = 0
    if where != WHEEL_DUE:
        _clear_bit(w, where)
    return c


cdef inline void _prefetch_chunk(const wheel_t* w, int32_t c, int32_t count) noexcept nogil:
    cdef int32_t j
    cdef int32_t base = c << WHEEL_CHUNK_BITS
    for j in range(count):
        fv_wheel_prefetch(&w.nodes[w.entries[base + j]])


cdef inline void _place(wheel_t* w, int32_t idx) noexcept nogil:
    """Put a node on the list its deadline belongs to, relative to the clock
    and the current tick: the highest 6-bit digit where the deadline's tick
    differs from the current tick is the level."""
    cdef int64_t deadline = w.nodes[idx].deadline
    cdef uint64_t tick, diff
    cdef int level
    if deadline <= w.clock:
        _link(w, idx, WHEEL_DUE)
        return
    tick = _tick(w, deadline)
    diff = tick ^ w.elapsed
    level = 0
    if diff >= WHEEL_SLOTS:
        level = (63 - fv_wheel_clz64(diff)) // WHEEL_LEVEL_BITS
    _link(w, idx, (level << WHEEL_LEVEL_BITS)
          | <int>((tick >> (WHEEL_LEVEL_BITS * level)) & 63))


cdef void _replace_all(wheel_t* w, int where) noexcept nogil:
    """Re-place every node of a list (a cascade, or a slot whose timers all
    moved beyond it)."""
    cdef int32_t count, j, base, prev
    cdef int32_t c = _detach(w, where, &count)
    if c >= 0:
        _prefetch_chunk(w, c, count)
    while c >= 0:
        prev = w.chunk_prev[c]
        if prev >= 0:
            _prefetch_chunk(w, prev, WHEEL_CHUNK)   # one chunk ahead
        base = c << WHEEL_CHUNK_BITS
        for j in range(count):
            _place(w, w.entries[base + j])
        _chunk_give(w, c)
        c = prev
        count = WHEEL_CHUNK


cdef void _rescan_minimum(wheel_t* w, int where) noexcept nogil:
    cdef int32_t c = w.last[where]
    cdef int32_t count = w.fill[where]
    cdef int32_t j, base
    cdef int64_t low = INT64_MAX
    while c >= 0:
        _prefetch_chunk(w, c, count)
        base = c << WHEEL_CHUNK_BITS
        for j in range(count):
            if w.nodes[w.entries[base + j]].deadline < low:
                low = w.nodes[w.entries[base + j]].deadline
        c = w.chunk_prev[c]
        count = WHEEL_CHUNK
    w.minimum[where] = low
    w.stale[where] = 0


# --------------------------------------------------------------------------
# Storage

cdef inline Py_ssize_t _chunks_for(Py_ssize_t capacity) noexcept nogil:
    # A chunk is in use when it is on a list or on the chain being walked by
    # _replace_all/_expire_list.  Full chunks hold distinct pending nodes, and
    # each list has at most one chunk that is not full, the walked chain two:
    # capacity / 16 + WHEEL_LISTS + 2 can never run out.
    return (capacity >> WHEEL_CHUNK_BITS) + WHEEL_LISTS + 8


cdef int _reserve_nodes(wheel_t* w, Py_ssize_t capacity) noexcept nogil:
    """Grow the node array and the chunk pool to hold `capacity` timers."""
    cdef Py_ssize_t chunks = _chunks_for(capacity)
    cdef Py_ssize_t c
    cdef void* mem
    cdef wheel_node_t* aligned
    if capacity <= w.capacity:
        return 0
    if chunks > w.chunks:
        mem = PyMem_RawRealloc(w.entries, (chunks << WHEEL_CHUNK_BITS) * sizeof(int32_t))
        if mem == NULL:
            return -1
        w.entries = <int32_t*>mem
        mem = PyMem_RawRealloc(w.chunk_owner, chunks * sizeof(int16_t))
        if mem == NULL:
            return -1
        w.chunk_owner = <int16_t*>mem
        mem = PyMem_RawRealloc(w.chunk_prev, chunks * sizeof(int32_t))
        if mem == NULL:
            return -1
        w.chunk_prev = <int32_t*>mem
        c = chunks - 1
        while c >= w.chunks:
            _chunk_give(w, <int32_t>c)
            c -= 1
        w.chunks = <int32_t>chunks
    # Nodes are 32 bytes on a 64-byte boundary, so loading one is one line.
    mem = PyMem_RawMalloc(capacity * sizeof(wheel_node_t) + 64)
    if mem == NULL:
        return -1
    aligned = <wheel_node_t*>((<uintptr_t>mem + 63) & ~(<uintptr_t>63))
    if w.used:
        memcpy(aligned, w.nodes, w.used * sizeof(wheel_node_t))
    PyMem_RawFree(w.nodes_mem)
    w.nodes_mem = mem
    w.nodes = aligned
    w.capacity = <int32_t>capacity
    return 0


cdef inline int32_t _alloc(wheel_t* w) noexcept nogil:
    cdef int32_t idx = w.free_head
    cdef Py_ssize_t cap
    if idx >= 0:
        w.free_head = w.nodes[idx].pos
        w.nodes[idx].gen += 1           # even (free) -> odd (pending)
        return idx
    if w.used == w.capacity:
        cap = 2 * <Py_ssize_t>w.capacity
        if cap < 16:
            cap = 16
        if cap > WHEEL_MAX_TIMERS:
            cap = WHEEL_MAX_TIMERS
        if cap <= w.capacity or _reserve_nodes(w, cap) < 0:
            return -1
    idx = w.used
    w.used += 1
    w.nodes[idx].gen = 1
    return idx


cdef inline void _release(wheel_t* w, int32_t idx) noexcept nogil:
    cdef wheel_node_t* n = &w.nodes[idx]
    n.gen += 1                          # odd (pending) -> even (free)
    n.pos = w.free_head
    w.free_head = idx
    w.count -= 1


cdef inline wheel_node_t* _lookup(wheel_t* w, uint64_t handle) noexcept nogil:
    cdef uint64_t idx = handle & 0xffffffffu
    cdef uint32_t gen = <uint32_t>(handle >> 32)
    cdef wheel_node_t* n
    if idx >= <uint64_t>w.used or not (gen & 1):
        return NULL
    n = &w.nodes[idx]
    if n.gen != gen:
        return NULL
    return n


cdef int _reserve_scratch(wheel_t* w, Py_ssize_t n) noexcept nogil:
    """Room for 2*n sort items (items + merge buffer)."""
    cdef Py_ssize_t cap
    cdef wheel_item_t* mem
    if n <= w.scratch_cap:
        return 0
    cap = w.scratch_cap * 2
    if cap < n:
        cap = n
    if cap < 64:
        cap = 64
    mem = <wheel_item_t*>PyMem_RawRealloc(w.scratch, 2 * cap * sizeof(wheel_item_t))
    if mem == NULL:
        return -1
    w.scratch = mem
    w.scratch_cap = cap
    return 0


cdef int _reserve_out(wheel_out_t* out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t cap
    cdef uint64_t* mem
    if n <= out.cap:
        return 0
    if not out.growable:
        return -1
    cap = out.cap * 2
    if cap < n:
        cap = n
    if cap < _OUT_MIN:
        cap = _OUT_MIN
    mem = <uint64_t*>PyMem_RawRealloc(out.data, cap * sizeof(uint64_t))
    if mem == NULL:
        return -1
    out.data = mem
    out.cap = cap
    return 0


# --------------------------------------------------------------------------
# Sorting one slot by (deadline, seq): insertion-sorted runs, then bottom-up
# merges.  Keys are unique (seq is), so stability is irrelevant.

cdef inline bint _before(const wheel_item_t* a, const wheel_item_t* b,
                         const wheel_node_t* nodes) noexcept nogil:
    # Equal deadlines are rare: only then read the schedule sequence.  (The
    # well-predicted `!=` test keeps `<` a flag, not a branch, for the merge.)
    if a.deadline != b.deadline:
        return a.deadline < b.deadline
    return nodes[a.idx].seq < nodes[b.idx].seq


cdef void _sort_items(wheel_item_t* a, wheel_item_t* tmp, Py_ssize_t n,
                      const wheel_node_t* nodes) noexcept nogil:
    cdef Py_ssize_t i, j, lo, mid, hi, width, x, y, k, take
    cdef wheel_item_t item
    cdef wheel_item_t* src
    cdef wheel_item_t* dst
    cdef wheel_item_t* swap
    i = 1
    while i < n and not _before(&a[i], &a[i - 1], nodes):
        i += 1
    if i >= n:
        return
    lo = 0
    while lo < n:
        hi = lo + _SORT_RUN
        if hi > n:
            hi = n
        for i in range(lo + 1, hi):
            item = a[i]
            j = i
            while j > lo and _before(&item, &a[j - 1], nodes):
                a[j] = a[j - 1]
                j -= 1
            a[j] = item
        lo = hi
    src = a
    dst = tmp
    width = _SORT_RUN
    while width < n:
        lo = 0
        while lo < n:
            mid = lo + width
            if mid > n:
                mid = n
            hi = mid + width
            if hi > n:
                hi = n
            x = lo
            y = mid
            k = lo
            while x < mid and y < hi:
                # Branch-free on the data (random deadlines defeat prediction).
                take = _before(&src[y], &src[x], nodes)
                dst[k] = src[y if take else x]
                y += take
                x += 1 - take
                k += 1
            while x < mid:
                dst[k] = src[x]
                x += 1
                k += 1
            while y < hi:
                dst[k] = src[y]
                y += 1
                k += 1
            lo = hi
        swap = src
        src = dst
        dst = swap
        width *= 2
    if src != a:
        memcpy(a, src, n * sizeof(wheel_item_t))


# --------------------------------------------------------------------------
# Expiry

cdef int _expire_list(wheel_t* w, int where, int64_t now, wheel_out_t* out,
                      Py_ssize_t stop) noexcept nogil:
    """Expire the due timers of the due list or of the level-0 slot of the
    current tick (w.elapsed), in (deadline, seq) order, into out until
    out.n == stop.  Returns 1 when it stopped with timers still due."""
    cdef Py_ssize_t k = 0, j, m, room
    cdef int32_t c, count, base, prev, idx
    cdef int64_t start_ns = 0
    cdef wheel_item_t* items
    cdef wheel_node_t* n
    cdef bint due_list = where == WHEEL_DUE
    if not due_list:
        start_ns = <int64_t>(w.elapsed * <uint64_t>w.tick_ns)
    if _reserve_scratch(w, w.length[where]) < 0:
        w.oom = 1
        # Nothing expired; everything left is >= the slot start (or <= clock).
        if start_ns - 1 > w.clock:
            w.clock = start_ns - 1
        return 1
    items = w.scratch
    c = _detach(w, where, &count)
    if c >= 0:
        _prefetch_chunk(w, c, count)
    while c >= 0:
        prev = w.chunk_prev[c]
        if prev >= 0:
            _prefetch_chunk(w, prev, WHEEL_CHUNK)   # one chunk ahead
        base = c << WHEEL_CHUNK_BITS
        # Walk in the exact reverse of append order (see the relink below).
        for j in range(count - 1, -1, -1):
            idx = w.entries[base + j]
            n = &w.nodes[idx]
            if due_list or n.deadline - start_ns < w.tick_ns:
                items[k].deadline = n.deadline
                items[k].idx = idx
                k += 1
            else:
                _place(w, idx)      # moved beyond this tick by a reschedule
        _chunk_give(w, c)
        c = prev
        count = WHEEL_CHUNK
    _sort_items(items, items + w.scratch_cap, k, w.nodes)
    # Expire the prefix that is due, as far as the output allows.
    m = 0
    while m < k and items[m].deadline <= now:
        m += 1
    if m > stop - out.n:
        m = stop - out.n
    if m > out.cap - out.n and _reserve_out(out, out.n + m) < 0:
        if out.growable:
            w.oom = 1
        room = out.cap - out.n
        if m > room:
            m = room
    for j in range(m):
        idx = items[j].idx
        out.data[out.n] = w.nodes[idx].data
        out.n += 1
        _release(w, idx)
    # The rest goes back largest first: the next walk sees it sorted, and the
    # next sort of this slot is a linear check.
    for j in range(k - 1, m - 1, -1):
        _link(w, items[j].idx, where)
    if m < k and items[m].deadline <= now:
        if items[m].deadline - 1 > w.clock:
            w.clock = items[m].deadline - 1
        return 1
    return 0


cdef Py_ssize_t _advance(wheel_t* w, int64_t now, wheel_out_t* out,
                         Py_ssize_t limit) noexcept nogil:
    cdef Py_ssize_t first = out.n
    cdef Py_ssize_t stop
    cdef uint64_t now_tick, start
    cdef int level, slot
    w.oom = 0
    if limit < 0 or limit > <Py_ssize_t>0x7fffffffffffffff - out.n:
        stop = <Py_ssize_t>0x7fffffffffffffff
    else:
        stop = out.n + limit
    if now < w.clock:
        now = w.clock
    if w.length[WHEEL_DUE] and _expire_list(w, WHEEL_DUE, now, out, stop):
        return out.n - first
    now_tick = _tick(w, now)
    while w.level_mask:
        level = fv_wheel_ctz32(w.level_mask)
        slot = fv_wheel_ctz64(w.occupied[level])
        start = _slot_start(w, level, slot)
        if start > now_tick:
            break
        w.elapsed = start
        if level:
            _replace_all(w, (level << WHEEL_LEVEL_BITS) | slot)   # cascade
            continue
        if _expire_list(w, slot, now, out, stop):
            return out.n - first
        if w.length[slot]:
            break               # the current tick, its rest is later than now
    w.clock = now
    if now_tick > w.elapsed:
        w.elapsed = now_tick
    return out.n - first


# --------------------------------------------------------------------------
# The C API (wheel.pxd)

cdef int wheel_init(wheel_t* w, int64_t tick_ns, Py_ssize_t capacity) noexcept nogil:
    cdef int i
    w.nodes = NULL
    w.nodes_mem = NULL
    w.entries = NULL
    w.chunk_prev = NULL
    w.chunk_owner = NULL
    w.scratch = NULL
    w.scratch_cap = 0
    w.capacity = 0
    w.chunks = 0
    w.used = 0
    w.free_head = -1
    w.free_chunk = -1
    w.count = 0
    w.oom = 0
    w.clock = 0
    w.elapsed = 0
    w.seq = 0
    w.level_mask = 0
    w.tick_ns = 1
    w.div_pow2 = 1
    w.div_shift = 0
    w.div_magic = 0
    for i in range(WHEEL_MAX_LEVELS):
        w.occupied[i] = 0
    for i in range(WHEEL_LISTS):
        w.last[i] = -1
        w.fill[i] = 0
        w.length[i] = 0
        w.minimum[i] = 0
        w.stale[i] = 0
    if tick_ns <= 0 or capacity < 0 or capacity > WHEEL_MAX_TIMERS:
        return -1
    w.tick_ns = tick_ns
    if tick_ns & (tick_ns - 1) == 0:
        w.div_shift = fv_wheel_ctz64(<uint64_t>tick_ns)
    else:
        w.div_pow2 = 0
        w.div_shift = 64 - fv_wheel_clz64(<uint64_t>tick_ns - 1)   # ceil(log2)
        w.div_magic = fv_wheel_magic(<uint64_t>tick_ns, w.div_shift)
    if _reserve_nodes(w, capacity if capacity > 16 else 16) < 0:
        return -2
    return 0


cdef void wheel_free(wheel_t* w) noexcept nogil:
    PyMem_RawFree(w.nodes_mem)
    PyMem_RawFree(w.entries)
    PyMem_RawFree(w.chunk_prev)
    PyMem_RawFree(w.chunk_owner)
    PyMem_RawFree(w.scratch)
    w.nodes = NULL
    w.nodes_mem = NULL
    w.entries = NULL
    w.chunk_prev = NULL
    w.chunk_owner = NULL
    w.scratch = NULL
    w.capacity = 0
    w.chunks = 0
    w.used = 0
    w.count = 0
    w.free_head = -1
    w.free_chunk = -1
    w.scratch_cap = 0
    w.level_mask = 0


cdef uint64_t wheel_schedule(wheel_t* w, int64_t deadline_ns, uint64_t data) noexcept nogil:
    cdef int32_t idx
    cdef wheel_node_t* n
    if deadline_ns < 0:
        return 0
    idx = _alloc(w)
    if idx < 0:
        return 0
    n = &w.nodes[idx]
    n.deadline = deadline_ns
    n.data = data
    w.seq += 1
    n.seq = w.seq
    _place(w, idx)
    w.count += 1
    return (<uint64_t>n.gen << 32) | <uint64_t>idx


cdef int wheel_cancel(wheel_t* w, uint64_t handle) noexcept nogil:
    cdef int32_t idx
    if _lookup(w, handle) == NULL:
        return 0
    idx = <int32_t>(handle & 0xffffffffu)
    _unlink(w, idx)
    _release(w, idx)
    return 1


cdef int wheel_reschedule(wheel_t* w, uint64_t handle, int64_t deadline_ns) noexcept nogil:
    # RFC 5798 §6.4.2: a Backup resets Master_Down_Timer on every accepted
    # advert; RFC 5798 §6.4.3: a Master resets Adver_Timer after each send.
    cdef wheel_node_t* n
    cdef int where
    cdef int64_t old
    cdef int32_t idx
    if deadline_ns < 0:
        return -1
    n = _lookup(w, handle)
    if n == NULL:
        return 0
    w.seq += 1
    n.seq = w.seq
    where = w.chunk_owner[n.pos >> WHEEL_CHUNK_BITS]
    if (deadline_ns > w.clock and where != WHEEL_DUE
            and deadline_ns >= <int64_t>(_slot_start(w, where >> WHEEL_LEVEL_BITS, where & 63)
                                         * <uint64_t>w.tick_ns)):
        # The slot still bounds the deadline from below: rewrite in place,
        # the timer is re-placed when its slot comes up.
        old = n.deadline
        n.deadline = deadline_ns
        if deadline_ns < old:
            if not w.stale[where] and deadline_ns < w.minimum[where]:
                w.minimum[where] = deadline_ns
        elif old == w.minimum[where] and deadline_ns != old:
            w.stale[where] = 1
        return 1
    idx = <int32_t>(handle & 0xffffffffu)
    _unlink(w, idx)
    n.deadline = deadline_ns
    _place(w, idx)
    return 1


cdef Py_ssize_t wheel_advance(wheel_t* w, int64_t now_ns, uint64_t* out,
                              Py_ssize_t cap) noexcept nogil:
    cdef wheel_out_t buf
    if cap <= 0:
        return 0
    buf.data = out
    buf.n = 0
    buf.cap = cap
    buf.growable = 0
    return _advance(w, now_ns, &buf, cap)


cdef int64_t wheel_next_deadline(wheel_t* w) noexcept nogil:
    cdef int level, slot, where
    cdef uint64_t start
    if w.length[WHEEL_DUE]:
        if w.stale[WHEEL_DUE]:
            _rescan_minimum(w, WHEEL_DUE)
        return w.minimum[WHEEL_DUE]
    while w.level_mask:
        level = fv_wheel_ctz32(w.level_mask)
        slot = fv_wheel_ctz64(w.occupied[level])
        where = (level << WHEEL_LEVEL_BITS) | slot
        if w.stale[where]:
            _rescan_minimum(w, where)
        start = _slot_start(w, level, slot)
        if (_tick(w, w.minimum[where]) - start) >> (WHEEL_LEVEL_BITS * level) == 0:
            return w.minimum[where]
        # Every timer here was moved beyond this slot: put them where they go.
        _replace_all(w, where)
    return -1


cdef int64_t wheel_deadline(wheel_t* w, uint64_t handle) noexcept nogil:
    cdef wheel_node_t* n = _lookup(w, handle)
    if n == NULL:
        return -1
    return n.deadline


cdef void wheel_clear(wheel_t* w) noexcept nogil:
    cdef int32_t idx, c
    cdef int i
    for idx in range(w.used):
        if w.nodes[idx].gen & 1:
            _release(w, idx)
    for i in range(WHEEL_MAX_LEVELS):
        w.occupied[i] = 0
    for i in range(WHEEL_LISTS):
        w.last[i] = -1
        w.fill[i] = 0
        w.length[i] = 0
        w.stale[i] = 0
    w.level_mask = 0
    w.free_chunk = -1
    c = w.chunks - 1
    while c >= 0:
        _chunk_give(w, c)
        c -= 1


# --------------------------------------------------------------------------
# The Python API

cdef object _as_int(object value, str name):
    try:
        return PyNumber_Index(value)
    except TypeError:
        raise TypeError("%s must be an integer, not %s"
                        % (name, type(value).__name__)) from None


cdef int64_t _int64_arg(object value, str name, int64_t low) except? -1:
    """An int (or __index__) in low..2**63-1: TypeError, OverflowError above
    int64, ValueError below `low`."""
    cdef int64_t v
    if not PyLong_Check(value):
        value = _as_int(value, name)
    try:
        v = value
    except OverflowError:
        if value > 0:
            raise OverflowError("%s must be < 2**63, got %d" % (name, value)) from None
        v = -1 if low >= 0 else low - 1
    if v < low:
        raise ValueError("%s must be >= %d, got %d" % (name, low, value))
    return v


cdef uint64_t _uint64_arg(object value, str name) except? 0xffffffffffffffff:
    """An int (or __index__) in 0..2**64-1, else TypeError/OverflowError."""
    cdef uint64_t v
    if not PyLong_Check(value):
        value = _as_int(value, name)
    try:
        v = value
    except OverflowError:
        raise OverflowError("%s must be in 0..2**64-1, got %d" % (name, value)) from None
    return v


@cython.final
@cython.auto_pickle(False)
cdef class Wheel:
    """Wheel(tick_ns=1_000_000, capacity=1024): a hierarchical timer wheel.

    tick_ns: slot width in ns (>= 1); capacity: timers preallocated (storage
    grows by doubling).  See the module docstring for the exact semantics.
    """

    def __cinit__(self, tick_ns=1_000_000, capacity=1024):
        cdef int64_t tick
        cdef int64_t cap
        # The object starts zeroed: wheel_free() is safe if we raise here.
        self._out.growable = 1
        tick = _int64_arg(tick_ns, "tick_ns", 1)
        if not PyLong_Check(capacity):
            capacity = _as_int(capacity, "capacity")
        if not 0 <= capacity <= WHEEL_MAX_TIMERS:
            raise ValueError("capacity must be in 0..%d, got %d" % (WHEEL_MAX_TIMERS, capacity))
        cap = capacity
        if wheel_init(&self.core, tick, cap) != 0:
            wheel_free(&self.core)
            raise MemoryError("cannot allocate %d timers" % cap)

    def __dealloc__(self):
        wheel_free(&self.core)
        PyMem_RawFree(self._out.data)
        self._out.data = NULL

    def schedule(self, deadline_ns, data=0):
        """Arm a timer for deadline_ns carrying data (uint64); returns its handle."""
        cdef int64_t deadline = _int64_arg(deadline_ns, "deadline_ns", 0)
        cdef uint64_t payload = _uint64_arg(data, "data")
        cdef uint64_t handle = wheel_schedule(&self.core, deadline, payload)
        if handle == 0:
            raise MemoryError("cannot grow the timer wheel beyond %d timers" % self.core.count)
        return handle

    def cancel(self, handle):
        """Disarm; False (and nothing happens) for a stale handle."""
        return wheel_cancel(&self.core, _uint64_arg(handle, "handle")) == 1

    def reschedule(self, handle, deadline_ns):
        """Move a pending timer to deadline_ns (a new schedule for the tie-break);
        False (and nothing happens) for a stale handle."""
        cdef uint64_t h = _uint64_arg(handle, "handle")
        cdef int64_t deadline = _int64_arg(deadline_ns, "deadline_ns", 0)
        return wheel_reschedule(&self.core, h, deadline) == 1

    def advance(self, now_ns, limit=None):
        """Expire the timers with deadline <= now_ns (at most `limit`); returns
        their payloads in (deadline, schedule sequence) order."""
        cdef int64_t now = _int64_arg(now_ns, "now_ns", 0)
        cdef Py_ssize_t n, i, cap = -1
        cdef list result
        cdef object item
        if limit is not None:
            if not PyLong_Check(limit):
                limit = _as_int(limit, "limit")
            if limit < 0:
                raise ValueError("limit must be >= 0 or None, got %d" % limit)
            if limit < 0x7fffffffffffffff:
                cap = limit
        self._out.n = 0
        n = _advance(&self.core, now, &self._out, cap)
        if n == 0 and self.core.oom:
            raise MemoryError("cannot allocate the expiry buffers")
        result = PyList_New(n)
        for i in range(n):
            item = PyLong_FromUnsignedLongLong(self._out.data[i])
            Py_INCREF(item)
            PyList_SET_ITEM(result, i, item)
        if self._out.cap > _OUT_KEEP:       # do not hold on to a huge batch
            PyMem_RawFree(self._out.data)
            self._out.data = NULL
            self._out.cap = 0
        return result

    def next_deadline(self):
        """The earliest pending deadline (exact), or None when empty."""
        cdef int64_t d = wheel_next_deadline(&self.core)
        return None if d < 0 else d

    def deadline(self, handle):
        """A pending timer's deadline, or None for a stale handle."""
        cdef int64_t d = wheel_deadline(&self.core, _uint64_arg(handle, "handle"))
        return None if d < 0 else d

    def clear(self):
        """Cancel every pending timer."""
        wheel_clear(&self.core)

    def __len__(self):
        return self.core.count

    @property
    def tick_ns(self):
        return self.core.tick_ns

    @property
    def now_ns(self):
        """The wheel's clock: the latest `now` it advanced to."""
        return self.core.clock

    @property
    def capacity(self):
        """Timers the storage holds before it grows again."""
        return self.core.capacity

    def __repr__(self):
        return "<fastvrrp._wheel.Wheel tick_ns=%d timers=%d now_ns=%d>" % (
            self.core.tick_ns, self.core.count, self.core.clock)


# --------------------------------------------------------------------------
# Helpers for tests and benchmarks (C loops: no Python call per operation)

def _tick_div(int64_t tick_ns, int64_t deadline_ns):
    """deadline_ns // tick_ns the way the wheel computes it (tests)."""
    cdef wheel_t w
    cdef uint64_t tick
    if tick_ns <= 0 or deadline_ns < 0:
        raise ValueError("tick_ns must be >= 1 and deadline_ns >= 0")
    if wheel_init(&w, tick_ns, 0) != 0:
        wheel_free(&w)
        raise MemoryError()
    tick = _tick(&w, deadline_ns)
    wheel_free(&w)
    return tick


def _advance_capped(Wheel wheel, int64_t now_ns, Py_ssize_t cap):
    """wheel_advance() through a fixed caller buffer of `cap` entries (tests)."""
    cdef uint64_t* buf
    cdef Py_ssize_t n, i
    if cap <= 0:
        raise ValueError("cap must be >= 1")
    buf = <uint64_t*>PyMem_RawMalloc(cap * sizeof(uint64_t))
    if buf == NULL:
        raise MemoryError()
    try:
        n = wheel_advance(&wheel.core, now_ns, buf, cap)
        return [buf[i] for i in range(n)]
    finally:
        PyMem_RawFree(buf)


def _memory_bytes(Wheel wheel):
    """What the wheel has allocated, in bytes: {"nodes", "chunks" (the list
    pool), "scratch" (sort buffers, sized by the largest slot expired so far),
    "fixed" (the wheel_t struct)}."""
    cdef wheel_t* w = &wheel.core
    return {
        "nodes": w.capacity * sizeof(wheel_node_t) + 64 if w.nodes_mem != NULL else 0,
        "chunks": w.chunks * (WHEEL_CHUNK * sizeof(int32_t) + sizeof(int32_t) + sizeof(int16_t)),
        "scratch": 2 * w.scratch_cap * sizeof(wheel_item_t),
        "fixed": sizeof(wheel_t),
    }


def _check_invariants(Wheel wheel):
    """Walk the whole structure; AssertionError naming the first broken
    invariant (tests)."""
    cdef wheel_t* w = &wheel.core
    cdef Py_ssize_t total = 0, used_chunks = 0, free_chunks = 0, free_nodes = 0, members
    cdef int where, level, slot
    cdef int32_t c, count, j, idx, pos
    cdef int64_t low
    cdef uint64_t start, position
    cdef wheel_node_t* n
    c = w.free_chunk
    while c >= 0:
        free_chunks += 1
        if free_chunks > w.chunks:
            raise AssertionError("free chunk list has a cycle")
        c = w.chunk_prev[c]
    idx = w.free_head
    while idx >= 0:
        free_nodes += 1
        if free_nodes > w.used or w.nodes[idx].gen & 1:
            raise AssertionError("free node list is broken at %d" % idx)
        idx = w.nodes[idx].pos
    for where in range(WHEEL_LISTS):
        level = where >> WHEEL_LEVEL_BITS
        slot = where & 63
        members = 0
        low = INT64_MAX
        c = w.last[where]
        count = w.fill[where]
        if (c < 0) != (w.length[where] == 0) or (c >= 0 and not 1 <= count <= WHEEL_CHUNK):
            raise AssertionError("list %d: tail chunk/fill/length disagree" % where)
        while c >= 0:
            used_chunks += 1
            if w.chunk_owner[c] != where:
                raise AssertionError("chunk %d is not owned by list %d" % (c, where))
            for j in range(count):
                pos = (c << WHEEL_CHUNK_BITS) + j
                idx = w.entries[pos]
                if idx < 0 or idx >= w.used:
                    raise AssertionError("list %d holds a bad index %d" % (where, idx))
                n = &w.nodes[idx]
                if not n.gen & 1 or n.pos != pos:
                    raise AssertionError("node %d: free, or its pos is not its entry" % idx)
                if n.deadline < low:
                    low = n.deadline
                if where == WHEEL_DUE:
                    if n.deadline > w.clock:
                        raise AssertionError("due node %d is later than the clock" % idx)
                elif n.deadline <= w.clock:
                    raise AssertionError("slotted node %d is not later than the clock" % idx)
                elif _tick(w, n.deadline) < _slot_start(w, level, slot):
                    raise AssertionError("node %d is before the start of its slot" % idx)
                members += 1
            c = w.chunk_prev[c]
            count = WHEEL_CHUNK
        if members != w.length[where]:
            raise AssertionError("list %d: length %d, holds %d" % (where, w.length[where], members))
        if members and not w.stale[where] and w.minimum[where] != low:
            raise AssertionError("list %d: cached minimum %d, real %d"
                                 % (where, w.minimum[where], low))
        if where != WHEEL_DUE:
            if ((w.occupied[level] >> slot) & 1) != (members > 0):
                raise AssertionError("slot %d: occupancy bit is wrong" % where)
            position = (w.elapsed >> (WHEEL_LEVEL_BITS * level)) & 63 if level < 11 else 0
            if members and (slot < <int>position or (level and slot == <int>position)):
                raise AssertionError("slot %d is occupied behind the current tick" % where)
        total += members
    for level in range(WHEEL_MAX_LEVELS):
        if ((w.level_mask >> level) & 1) != (w.occupied[level] != 0):
            raise AssertionError("level mask bit %d is wrong" % level)
    if total != w.count or free_nodes != w.used - w.count:
        raise AssertionError("count %d, listed %d, free %d of %d"
                             % (w.count, total, free_nodes, w.used))
    if used_chunks + free_chunks != w.chunks:
        raise AssertionError("chunks: %d used + %d free != %d" % (used_chunks, free_chunks, w.chunks))
    if w.clock < INT64_MAX and _tick(w, w.clock + 1) < w.elapsed:
        raise AssertionError("current tick %d is past the clock %d" % (w.elapsed, w.clock))


cdef inline uint64_t _xorshift(uint64_t* state) noexcept nogil:
    cdef uint64_t x = state[0]
    x ^= x << 13
    x ^= x >> 7
    x ^= x << 17
    state[0] = x
    return x


cdef inline int64_t _mono_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef class _BenchWheel:
    """A wheel filled with n timers at pseudo-random deadlines in
    [1, horizon_ns], plus their handles (benchmark fixture).  draw() picks
    the operations (random timer, random deadline) before any clock runs;
    run_*() time only the wheel and return elapsed ns."""
    cdef wheel_t core
    cdef uint64_t* handles
    cdef uint64_t* ops            # handle, deadline pairs
    cdef Py_ssize_t n, n_ops
    cdef uint64_t rng

    def __cinit__(self, Py_ssize_t n_timers, int64_t horizon_ns=4_000_000_000,
                  int64_t tick_ns=1_000_000, uint64_t seed=0x9E3779B97F4A7C15):
        cdef Py_ssize_t i
        if n_timers < 1 or horizon_ns < 1 or tick_ns < 1:
            raise ValueError("n_timers, horizon_ns and tick_ns must be >= 1")
        if wheel_init(&self.core, tick_ns, n_timers) != 0:
            raise MemoryError()
        self.handles = <uint64_t*>PyMem_RawMalloc(n_timers * sizeof(uint64_t))
        if self.handles == NULL:
            raise MemoryError()
        self.n = n_timers
        self.rng = seed | 1
        for i in range(n_timers):
            self.handles[i] = wheel_schedule(
                &self.core, 1 + <int64_t>(_xorshift(&self.rng) % <uint64_t>horizon_ns), <uint64_t>i)

    def __dealloc__(self):
        wheel_free(&self.core)
        PyMem_RawFree(self.handles)
        PyMem_RawFree(self.ops)

    def draw(self, Py_ssize_t n_ops, int64_t horizon_ns=4_000_000_000):
        """Pick n_ops (random pending timer, random deadline in [1, horizon_ns])."""
        cdef Py_ssize_t i
        cdef uint64_t r
        cdef uint64_t* ops
        if n_ops < 1 or horizon_ns < 1:
            raise ValueError("n_ops and horizon_ns must be >= 1")
        ops = <uint64_t*>PyMem_RawRealloc(self.ops, 2 * n_ops * sizeof(uint64_t))
        if ops == NULL:
            raise MemoryError()
        self.ops = ops
        self.n_ops = n_ops
        for i in range(n_ops):
            r = _xorshift(&self.rng)
            ops[2 * i] = self.handles[(r >> 32) % <uint64_t>self.n]
            ops[2 * i + 1] = 1 + (r & 0xffffffffu) % <uint64_t>horizon_ns
        return n_ops

    def run_reschedule(self):
        """Reschedule each drawn timer to its drawn deadline (the clock stays
        at 0); returns elapsed ns."""
        cdef Py_ssize_t i
        cdef int64_t t0, t1
        with nogil:
            t0 = _mono_ns()
            for i in range(self.n_ops):
                wheel_reschedule(&self.core, self.ops[2 * i], <int64_t>self.ops[2 * i + 1])
            t1 = _mono_ns()
        return t1 - t0

    def run_schedule_cancel(self):
        """One schedule (at each drawn deadline) + one cancel per drawn op,
        next to the n pending timers; returns elapsed ns."""
        cdef Py_ssize_t i
        cdef int64_t t0, t1
        with nogil:
            t0 = _mono_ns()
            for i in range(self.n_ops):
                wheel_cancel(&self.core,
                             wheel_schedule(&self.core, <int64_t>self.ops[2 * i + 1], 0))
            t1 = _mono_ns()
        return t1 - t0

    def expire_all(self, int64_t step_ns=1_000_000, Py_ssize_t buf_len=65536):
        """Advance in steps of step_ns until the wheel is empty; returns
        (elapsed ns, timers expired).  The wheel is empty afterwards."""
        cdef uint64_t* buf
        cdef int64_t now = 0, t0, t1
        cdef Py_ssize_t got, total = 0
        if step_ns < 1 or buf_len < 1:
            raise ValueError("step_ns and buf_len must be >= 1")
        buf = <uint64_t*>PyMem_RawMalloc(buf_len * sizeof(uint64_t))
        if buf == NULL:
            raise MemoryError()
        with nogil:
            t0 = _mono_ns()
            while self.core.count:
                now += step_ns
                got = buf_len
                while got == buf_len:
                    got = wheel_advance(&self.core, now, buf, buf_len)
                    total += got
            t1 = _mono_ns()
        PyMem_RawFree(buf)
        return t1 - t0, total


def _bench_reschedule(Py_ssize_t n_timers, Py_ssize_t n_ops, int64_t horizon_ns=4_000_000_000):
    """ns per C-level reschedule: random timer, random deadline in [1, horizon]."""
    bench = _BenchWheel(n_timers, horizon_ns)
    bench.draw(n_ops, horizon_ns)
    return bench.run_reschedule() / n_ops


def _bench_rearm(Py_ssize_t n_timers, Py_ssize_t n_ops, int64_t interval_ns=10_000_000,
                 int64_t tick_ns=1_000_000):
    """ns per VRRP Backup re-arm (RFC 5798 §6.4.2), the daemon's hot loop in C:
    n_timers backups each hear their master every interval_ns (arrivals spread
    evenly), re-arm Master_Down_Timer to now + 3 * interval + skew, and the
    wheel is advanced once per tick.  Includes the advances."""
    cdef wheel_t w
    cdef uint64_t* handles
    cdef uint64_t buf[256]
    cdef Py_ssize_t i, k
    cdef int64_t now = 0, t0, t1, down, next_tick
    if n_timers < 1 or n_ops < 1 or interval_ns < 1 or tick_ns < 1:
        raise ValueError("arguments must be >= 1")
    if wheel_init(&w, tick_ns, n_timers) != 0:
        wheel_free(&w)
        raise MemoryError()
    handles = <uint64_t*>PyMem_RawMalloc(n_timers * sizeof(uint64_t))
    if handles == NULL:
        wheel_free(&w)
        raise MemoryError()
    for i in range(n_timers):
        # RFC 5798 §6.1: Master_Down_Interval = 3 * Master_Adver_Interval +
        # Skew_Time, Skew_Time = ((256 - priority) * Master_Adver_Interval) / 256.
        down = 3 * interval_ns + ((256 - (1 + i % 254)) * interval_ns) // 256
        handles[i] = wheel_schedule(&w, down, <uint64_t>i)
    next_tick = tick_ns
    with nogil:
        t0 = _mono_ns()
        for k in range(n_ops):
            now = (<int64_t>k * interval_ns) // n_timers
            if now >= next_tick:
                wheel_advance(&w, now, buf, 256)
                next_tick = now - now % tick_ns + tick_ns
            i = k % n_timers
            down = 3 * interval_ns + ((256 - (1 + i % 254)) * interval_ns) // 256
            wheel_reschedule(&w, handles[i], now + down)
        t1 = _mono_ns()
    wheel_free(&w)
    PyMem_RawFree(handles)
    return <double>(t1 - t0) / n_ops


def _bench_schedule_cancel(Py_ssize_t n_timers, Py_ssize_t n_ops):
    """ns per C-level schedule+cancel pair with n_timers pending."""
    bench = _BenchWheel(n_timers)
    bench.draw(n_ops)
    return bench.run_schedule_cancel() / n_ops


def _bench_expire(Py_ssize_t n_timers, int64_t horizon_ns=1_000_000_000,
                  int64_t step_ns=1_000_000):
    """ns per expired timer: n_timers at random deadlines in [1, horizon_ns],
    advanced step_ns at a time (C API, 64k-entry buffer) until empty."""
    bench = _BenchWheel(n_timers, horizon_ns)
    elapsed, total = bench.expire_all(step_ns)
    if total != n_timers:
        raise AssertionError("expired %d of %d timers" % (total, n_timers))
    return elapsed / n_timers
