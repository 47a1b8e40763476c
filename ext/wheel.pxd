# C-level interface of fastvrrp._wheel: the hierarchical timer wheel.
#
# A later module (ext/fastpath.pyx) drives the wheel with no Python objects:
#
#     from fastvrrp._wheel cimport Wheel, wheel_t, wheel_reschedule, ...
#     cdef Wheel w = ...            # the Python-level object owns the storage
#     cdef wheel_t* core = &w.core   # take the pointer while holding the GIL
#     with nogil:
#         wheel_reschedule(core, handle, deadline_ns)
#
# Every function below is `noexcept nogil`, allocates with PyMem_Raw* (safe
# without the GIL) and never raises: failures are return codes.  The wheel is
# not thread-safe; one owner at a time.  Semantics (handles, ordering, the
# clock, truncated advances) are documented in ext/wheel.pyx.

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef enum:
    WHEEL_LEVEL_BITS = 6        # 64 slots per level
    WHEEL_SLOTS = 64
    WHEEL_MAX_LEVELS = 11       # 66 bits of ticks: every int64 deadline at 1 ns/tick
    WHEEL_DUE = 704             # list index of the due list (= MAX_LEVELS * SLOTS)
    WHEEL_LISTS = 705           # wheel slots + the due list
    WHEEL_CHUNK_BITS = 4
    WHEEL_CHUNK = 16            # node indices per chunk: one 64-byte line
    WHEEL_MAX_TIMERS = 0x7fff0000

# One timer: 32 bytes.  `gen` is odd while the timer is pending and even while
# the node is free; `pos` is its entry in the chunk pool (free-list link when free).
ctypedef struct wheel_node_t:
    int64_t deadline            # monotonic ns
    uint64_t seq                # schedule sequence: ties expire in this order
    uint64_t data               # user payload
    uint32_t gen
    int32_t pos

# Sort record for the one slot being expired (16 bytes; ties on the
# deadline are broken by the node's seq).
ctypedef struct wheel_item_t:
    int64_t deadline
    int32_t idx

# Lists (64 slots per level + the due list for deadlines <= clock) are chains
# of 16-entry chunks of node indices ("unrolled lists"): walking one reads
# whole cache lines and loads the nodes independently of each other.  The
# pool always has a chunk for every move, so nothing but `schedule` allocates.
ctypedef struct wheel_t:
    wheel_node_t* nodes         # 64-byte aligned inside nodes_mem: a node never straddles lines
    void* nodes_mem
    int32_t* entries            # chunks * WHEEL_CHUNK node indices
    int32_t* chunk_prev         # chain toward a list's first chunk; free-chunk link
    int16_t* chunk_owner        # the list a chunk belongs to
    int32_t capacity            # nodes allocated
    int32_t chunks              # chunks allocated
    int32_t used                # high-water mark: nodes[used:] never handed out
    int32_t free_head
    int32_t free_chunk
    int32_t count               # pending timers
    int64_t tick_ns
    uint64_t div_magic          # tick = deadline / tick_ns without a divide
    uint32_t div_shift
    int div_pow2
    int oom                     # set when an advance stopped on allocation failure
    int64_t clock               # the wheel's time: every slotted timer is later
    uint64_t elapsed            # current tick; placement is relative to it
    uint64_t seq
    uint32_t level_mask         # bit L: level L has an occupied slot
    uint64_t occupied[WHEEL_MAX_LEVELS]
    int32_t last[WHEEL_LISTS]   # tail chunk, -1 when empty
    int32_t fill[WHEEL_LISTS]   # entries used in the tail chunk
    int32_t length[WHEEL_LISTS]
    int64_t minimum[WHEEL_LISTS]  # exact minimum deadline of a list unless stale
    uint8_t stale[WHEEL_LISTS]
    wheel_item_t* scratch
    Py_ssize_t scratch_cap

# Caller-owned output buffer of expired payloads.
ctypedef struct wheel_out_t:
    uint64_t* data
    Py_ssize_t n
    Py_ssize_t cap
    int growable                # realloc `data` when full (the Python API's buffer)

# 0 ok; -1 bad argument (tick_ns <= 0, capacity outside 0..WHEEL_MAX_TIMERS);
# -2 out of memory.  wheel_free() releases the storage (safe after a failed init).
cdef int wheel_init(wheel_t* w, int64_t tick_ns, Py_ssize_t capacity) noexcept nogil
cdef void wheel_free(wheel_t* w) noexcept nogil
# A handle (never 0), or 0 when deadline_ns < 0 or memory is exhausted.
cdef uint64_t wheel_schedule(wheel_t* w, int64_t deadline_ns, uint64_t data) noexcept nogil
# 1 cancelled; 0 stale handle (no-op).
cdef int wheel_cancel(wheel_t* w, uint64_t handle) noexcept nogil
# 1 moved; 0 stale handle (no-op); -1 deadline_ns < 0 (no-op).
cdef int wheel_reschedule(wheel_t* w, uint64_t handle, int64_t deadline_ns) noexcept nogil
# Expire timers with deadline <= now_ns into out[0:cap] in (deadline, sequence)
# order; returns how many.  When it returns cap there may be more: call again
# (wheel_next_deadline(w) <= now_ns tells).
cdef Py_ssize_t wheel_advance(wheel_t* w, int64_t now_ns, uint64_t* out,
                              Py_ssize_t cap) noexcept nogil
# Earliest pending deadline (exact), -1 when empty.
cdef int64_t wheel_next_deadline(wheel_t* w) noexcept nogil
# A pending timer's deadline, -1 for a stale handle.
cdef int64_t wheel_deadline(wheel_t* w, uint64_t handle) noexcept nogil
# Cancel every pending timer (as if cancelled one by one in index order).
cdef void wheel_clear(wheel_t* w) noexcept nogil


cdef class Wheel:
    cdef wheel_t core
    cdef wheel_out_t _out
