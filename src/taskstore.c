/* taskstore.c - see taskstore.h.
 *
 * Crash safety: every change to live state goes through jsave() first,
 * which appends the old bytes to the undo journal and only then publishes
 * the journal's new length (compiler fences keep program order, which is
 * what survives a SIGKILL). Bytes in blocks allocated during the current
 * operation need no journal: rolling back the allocator makes them
 * unreachable. An operation ends with journal_used = 0 (commit) or with
 * the journal applied backwards (rollback). A process that dies while
 * holding the mutex leaves journal_used > 0; the next locker gets
 * EOWNERDEAD, rolls back, and calls pthread_mutex_consistent. */
#include "autoconfig.h"
#include "taskstore.h"
#include "proctable.h"
#include "shmutex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errors.h"
#include "jsonutil.h"
#include "log.h"

/* Under valgrind the part of the mapping past the file's end is marked
 * no-access: memcheck's leak scan otherwise reads the whole reserve (4 GiB
 * by default) word by word, each read a SIGBUS, for hours. No-ops
 * without valgrind's header; free at run time outside valgrind. (cppcheck
 * cannot evaluate __has_include: it takes the no-op branch.) */
#if defined(__has_include) && !defined(__CPPCHECK__)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_NOACCESS
#define VALGRIND_MAKE_MEM_NOACCESS(a, n) ((void)(a), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(a, n)  ((void)(a), (void)(n))
#endif

#define TS_MAGIC "BMCTASKS"
/* A version 2 file is a version 3 file without extensions, child lists or
 * callbacks (its header's new fields are zero): open upgrades it. */
#define TS_FORMAT_UPGRADABLE 2
#define HDR_SIZE             4096u
#define JOURNAL_OFF          HDR_SIZE
#define JOURNAL_SIZE         (256u * 1024u)
#define ARENA_OFF            ((uint64_t)JOURNAL_OFF + JOURNAL_SIZE)
#define NCLASS               112 /* classes 64 B .. 16 GiB, four per doubling */
/* index entries hold offset / 16 in 32 bits */
#define MAX_STORE            (64LL << 30)
#define DEFAULT_MAX          (4LL << 30)
#define GROW_MIN             (1u << 20)
#define SWEEP_BATCH          256
#define SWEEP_SCAN_MAX       1000000 /* records walked per retention batch */
#define SWEEP_FUTURE_SLACK_S 60.0 /* stamped later than now + this: future */
#define LOCAL_COPY           16384
#define RESULT_DEPTH         64

enum blk_tag {
    TAG_FREE = 0x45455246,   /* "FREE" */
    TAG_REC = 0x43455254,    /* "TREC" */
    TAG_META = 0x4154454d,   /* "META" */
    TAG_RESULT = 0x544c5352, /* "RSLT" */
    TAG_INDEX = 0x58444e49,  /* "INDX" */
    TAG_EXT = 0x444e5458,    /* "XTND" (format 3) */
    TAG_KIDS = 0x5344494b,   /* "KIDS" (format 3) */
};

/* Every arena block starts with this. LINK: free-list next (FREE), FIFO
 * next (REC), owning record (META/RESULT), slot count (INDEX). */
struct ts_blk {
    uint32_t tag;
    uint32_t cls;
    uint64_t link;
};

/* SUM seals every field but the list links (h.link, act_prev, act_next),
 * and META_SUM / RESULT_SUM the blobs' bodies, so that salvage after a
 * host crash (torn pages) keeps exactly the records that are intact.
 * EXT (format 3; 0 in older records): offset / 16 of the task's extension
 * block (a parent's counters and child list, a callback's state). */
struct ts_rec {
    struct ts_blk h;
    uint8_t id[16];
    double submitted_at, started_at, completed_at; /* started 0: never */
    uint64_t meta, result;       /* blob offsets (0 = none) */
    uint64_t act_prev, act_next; /* active (queued/running) list */
    uint64_t owner_start;        /* owner's start time (/proc, clock ticks) */
    int32_t owner, error_code;
    uint32_t status, hash;
    uint32_t meta_sum, result_sum;
    uint32_t sum, ext;
};

/* The extension of a parent or of a task with a callback (TAG_EXT; h.link
 * = its record). Mutable, journaled like records: SUM seals every field
 * but the pending-callback links. KIDS: the TAG_KIDS block of a parent
 * (body: uint64 count, then the children's 16-byte ids in order; sealed by
 * KIDS_SUM, never changed). */
struct ts_ext {
    struct ts_blk h;
    uint64_t kids, total;
    uint64_t queued, running, success, failed; /* a parent's counters */
    uint64_t cb_prev, cb_next; /* pending-callback list (ext offsets) */
    double cb_next_at;         /* next attempt (ended tasks only) */
    uint32_t cb_state, cb_attempts;
    uint8_t delivery_id[16];
    uint32_t kids_sum, sum;
    char last_error[TASKSTORE_MAX_CB_ERROR + 1];
};

/* The bytes a counter or callback-state change journals (not the text). */
#define EXT_HEAD offsetof(struct ts_ext, last_error)

/* Blob body after the block header: nfield, len[nfield] (UINT32_MAX =
 * absent), then each present string with its NUL. */
/* META_REQUESTED_BY came later: a record written before it has four
 * fields, read as requested_by null (blob_used takes up to META_N). */
enum {
    META_METHOD,
    META_IP,
    META_PROTOCOL,
    META_REQUEST_ID,
    META_REQUESTED_BY,
    META_PARENT,       /* format 3: a child's parent id */
    META_CALLBACK_URL, /* format 3 */
    META_N
};
enum { RES_RESULT, RES_ERROR_MESSAGE, RES_DETAILS, RES_N };
#define BLOB_ABSENT UINT32_MAX

struct ts_hdr {
    /* layout: written once, covered by layout_sum */
    char magic[8];
    uint32_t version, mutex_size, header_size, record_size;
    uint32_t blk_size, nclass, journal_off, journal_size;
    uint64_t arena_off, seed;
    double created_at;
    uint64_t layout_sum;
    /* never journaled */
    uint64_t journal_used;
    _Alignas(64) pthread_mutex_t mutex;
    /* live state: changed only through jsave() under the mutex */
    _Alignas(64) uint64_t file_bytes, heap_top;
    uint64_t count, n_running, n_queued;
    uint64_t fifo_head, fifo_tail, active_head;
    uint64_t index_off, index_slots;
    uint64_t created_total, removed_total;
    uint64_t free_head[NCLASS];
    /* format 3 (zero in a version 2 header): ended tasks whose callback is
     * pending, ordered by next attempt time (ext offsets) */
    uint64_t cb_head, cb_tail;
};

_Static_assert(sizeof(struct ts_hdr) <= HDR_SIZE, "header fits its page");
_Static_assert(sizeof(struct ts_rec) == 128, "record is 128 bytes");
_Static_assert(sizeof(struct ts_blk) == 16, "block header is 16 bytes");
_Static_assert(sizeof(struct ts_ext) % 8 == 0, "extension is 8-aligned");

#define LIVE_OFF   offsetof(struct ts_hdr, file_bytes)
#define LAYOUT_LEN offsetof(struct ts_hdr, layout_sum)

struct taskstore {
    char *base;
    struct ts_hdr *h;
    size_t map_size;
    uint64_t max_bytes;
    int fd;
    long max_tasks;
    int retention_days, node_id;
    double lock_timeout_s;
    bool op_freed;     /* this operation freed a block: do not reuse any */
    uint64_t op_ext;   /* extension journaled whole in this operation */
    uint64_t vg_valid; /* mapping bytes valgrind may read (see above) */
};

void (*taskstore_test_hook)(void);

static inline void test_point(void)
{
    if (taskstore_test_hook)
        taskstore_test_hook();
}

struct jent {
    uint64_t off;
    uint32_t len, sum;
};

/* ---- small helpers -------------------------------------------------- */

static inline void order_barrier(void)
{
    /* Program order is what a SIGKILL preserves; keep the compiler from
     * moving stores across the journal publication. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static uint64_t class_size(unsigned cls)
{
    return (64ULL << (cls / 4)) * (4 + cls % 4) / 4;
}

static int class_for(uint64_t bytes)
{
    for (unsigned c = 0; c < NCLASS; c++)
        if (class_size(c) >= bytes)
            return (int)c;
    return -1;
}

static uint32_t fnv32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static uint64_t fnv64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static uint32_t id_hash(uint64_t seed, const uint8_t id[16])
{
    uint64_t a, b;

    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    a ^= seed;
    a *= 0x9e3779b97f4a7c15ULL;
    a ^= b + (a >> 29);
    a *= 0xbf58476d1ce4e5b9ULL;
    a ^= a >> 32;
    a *= 0x94d049bb133111ebULL;
    return (uint32_t)(a >> 32);
}

static inline void *at(const struct taskstore *ts, uint64_t off)
{
    return ts->base + off;
}

static inline uint64_t slot_home(uint32_t tag, uint64_t n)
{
    return ((uint64_t)tag * n) >> 32;
}

static inline uint64_t entry_make(uint32_t tag, uint64_t off)
{
    return (uint64_t)tag << 32 | (off >> 4);
}

static inline uint64_t entry_off(uint64_t e)
{
    return (e & 0xffffffffULL) << 4;
}
static inline uint32_t entry_tag(uint64_t e)
{
    return (uint32_t)(e >> 32);
}

static bool status_active(uint32_t s)
{
    return s == TASK_QUEUED || s == TASK_RUNNING;
}

const char *taskstore_rc_message(enum ts_rc rc)
{
    switch (rc) {
    case TS_OK: return "OK";
    case TS_NOT_FOUND: return "Task not found";
    case TS_EXPIRED: return "Task expired";
    case TS_BUSY:
        return "Task store busy (lock not acquired in time); retry shortly";
    case TS_FULL:
        return "Task store full: "
               "BMC_STORE_MAX_BYTES reached (or the disk is full); "
               "raise BMC_STORE_MAX_BYTES, set BMC_MAX_TASKS "
               "or lower BMC_TASK_RETENTION_DAYS";
    case TS_TOO_LARGE:
        return "Task result exceeds the task store's 1 MiB limit";
    case TS_ERROR: break;
    }
    /* no default: -Wswitch names a new code that has no message here */
    return "Task store error";
}

/* ---- journal -------------------------------------------------------- */

static uint32_t jent_sum(const struct jent *e, const void *data)
{
    uint32_t s = fnv32(2166136261u, &e->off, sizeof(e->off));
    s = fnv32(s, &e->len, sizeof(e->len));
    return fnv32(s, data, e->len);
}

static uint64_t pad8(uint64_t n)
{
    return (n + 7) & ~7ULL;
}

/* Save the LEN old bytes at OFF before they change. -1: journal full. */
static int jsave(struct taskstore *ts, uint64_t off, uint64_t len)
{
    struct ts_hdr *h = ts->h;
    uint64_t used = h->journal_used;
    uint64_t need = sizeof(struct jent) + pad8(len) + 8;
    char *j = ts->base + JOURNAL_OFF;
    struct jent e = {.off = off, .len = (uint32_t)len};

    if (len == 0)
        return 0;
    test_point();
    if (used + need > JOURNAL_SIZE || len > JOURNAL_SIZE)
        return -1;
    e.sum = jent_sum(&e, ts->base + off);
    memcpy(j + used, &e, sizeof(e));
    memcpy(j + used + sizeof(e), ts->base + off, len);
    memcpy(j + used + need - 8, &used, 8); /* start, for walking backwards */
    order_barrier();
    __atomic_store_n(&h->journal_used, used + need, __ATOMIC_RELEASE);
    order_barrier();
    test_point();
    return 0;
}

#define JSET(ts, lval, val)                                                   \
    (jsave((ts), (uint64_t)((char *)&(lval) - (ts)->base), sizeof(lval))      \
         ? -1                                                                 \
         : ((lval) = (val), 0))

static void journal_commit(struct taskstore *ts)
{
    ts->op_freed = false;
    ts->op_ext = 0;
    test_point();
    order_barrier();
    __atomic_store_n(&ts->h->journal_used, 0, __ATOMIC_RELEASE);
    order_barrier();
}

/* Roll the journal of the mapping at BASE (LIMIT bytes) back. 0, or -1 with
 * a reason in WHY when an entry is damaged (then nothing is applied). */
static int journal_rollback(char *base, uint64_t limit, char *why,
                            size_t whylen)
{
    struct ts_hdr *h = (struct ts_hdr *)base;
    char *j = base + JOURNAL_OFF;
    uint64_t used = h->journal_used;

    if (used % 8 || used > JOURNAL_SIZE) {
        snprintf(why, whylen, "journal length %llu is invalid",
                 (unsigned long long)used);
        return -1;
    }
    for (int apply = 0; apply < 2; apply++) {
        uint64_t pos = used;
        while (pos > 0) {
            uint64_t start;
            struct jent e;
            memcpy(&start, j + pos - 8, 8);
            if (start >= pos || pos - start < sizeof(e) + 8) {
                snprintf(why, whylen, "journal entry chain broken at %llu",
                         (unsigned long long)pos);
                return -1;
            }
            memcpy(&e, j + start, sizeof(e));
            /* off + len could wrap: compare against the room left */
            bool target_ok =
                (e.off >= LIVE_OFF && e.off <= sizeof(struct ts_hdr) &&
                 e.len <= sizeof(struct ts_hdr) - e.off) ||
                (e.off >= ARENA_OFF && e.off <= limit &&
                 e.len <= limit - e.off);
            if (start + sizeof(e) + pad8(e.len) + 8 != pos || !target_ok ||
                jent_sum(&e, j + start + sizeof(e)) != e.sum) {
                snprintf(why, whylen, "journal entry at %llu is damaged",
                         (unsigned long long)start);
                return -1;
            }
            if (apply)
                memcpy(base + e.off, j + start + sizeof(e), e.len);
            pos = start;
        }
    }
    order_barrier();
    __atomic_store_n(&h->journal_used, 0, __ATOMIC_RELEASE);
    return 0;
}

/* ---- lock ----------------------------------------------------------- */

/* The file may have grown in another process: let valgrind read it. */
static void vg_track_size(struct taskstore *ts, uint64_t bytes)
{
    if (bytes > ts->map_size)
        bytes = ts->map_size;
    if (bytes > ts->vg_valid) {
        VALGRIND_MAKE_MEM_DEFINED(ts->base + ts->vg_valid,
                                  bytes - ts->vg_valid);
        ts->vg_valid = bytes;
    }
}

static int ts_lock(struct taskstore *ts)
{
    struct timespec dl;
    double t = ts->lock_timeout_s;
    char why[128];
    int r;

    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += (time_t)t;
    dl.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
#if defined(__GLIBC__) &&                                                     \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
    r = pthread_mutex_clocklock(&ts->h->mutex, CLOCK_MONOTONIC, &dl);
#else
    {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        rt.tv_sec += (time_t)t + 1;
        r = pthread_mutex_timedlock(&ts->h->mutex, &rt);
    }
#endif
    if (r == 0 || r == EOWNERDEAD)
        vg_track_size(ts, ts->h->file_bytes);
    if (r == 0)
        return TS_OK;
    if (r == ETIMEDOUT)
        return TS_BUSY;
    if (r != EOWNERDEAD) {
        log_error("taskstore_lock_failed", "errno=%d", r);
        return TS_ERROR;
    }
    /* The previous holder died inside an operation: undo it. */
    uint64_t pending = ts->h->journal_used;
    r = journal_rollback(ts->base, ts->h->file_bytes, why, sizeof(why));
    pthread_mutex_consistent(&ts->h->mutex);
    if (r) {
        log_error("taskstore_recovery_failed", "reason=\"%s\"", why);
        pthread_mutex_unlock(&ts->h->mutex);
        return TS_ERROR;
    }
    log_warn("taskstore_recovered", "journal_bytes=%llu",
             (unsigned long long)pending);
    return TS_OK;
}

/* End the operation: commit on TS_OK, else roll back; then unlock. */
static int ts_unlock(struct taskstore *ts, int rc)
{
    char why[128];

    ts->op_freed = false;
    ts->op_ext = 0;
    if (rc == TS_OK) {
        journal_commit(ts);
    } else if (journal_rollback(ts->base, ts->h->file_bytes, why,
                                sizeof(why))) {
        log_error("taskstore_rollback_failed", "reason=\"%s\"", why);
        rc = TS_ERROR;
    }
    pthread_mutex_unlock(&ts->h->mutex);
    return rc;
}

/* ---- arena ---------------------------------------------------------- */

static int arena_grow(struct taskstore *ts, uint64_t need)
{
    struct ts_hdr *h = ts->h;
    uint64_t cur = h->file_bytes, nsz;

    if (need > ts->max_bytes || need > ts->map_size)
        return TS_FULL;
    nsz = cur + cur / 4 > need ? cur + cur / 4 : need;
    if (nsz < cur + GROW_MIN)
        nsz = cur + GROW_MIN;
    nsz = (nsz + 65535) & ~65535ULL;
    if (nsz > ts->max_bytes)
        nsz = ts->max_bytes;
    if (nsz > ts->map_size)
        nsz = ts->map_size;
    /* fallocate reserves the blocks, so a full disk is TS_FULL here rather
     * than SIGBUS on a later store into a sparse page. */
    if (fallocate(ts->fd, 0, (off_t)cur, (off_t)(nsz - cur)) != 0) {
        if (errno == ENOSPC || errno == EDQUOT)
            return TS_FULL;
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return TS_ERROR;
        if (ftruncate(ts->fd, (off_t)nsz) != 0)
            return errno == ENOSPC || errno == EFBIG ? TS_FULL : TS_ERROR;
    }
    vg_track_size(ts, nsz);
    return JSET(ts, h->file_bytes, nsz) ? TS_ERROR : TS_OK;
}

/* Allocate a block of at least BYTES (header included) tagged TAG into
 * *OFF. Its body is garbage; the caller writes it without journaling. */
static int arena_alloc(struct taskstore *ts, uint64_t bytes, uint32_t tag,
                       uint64_t *off)
{
    struct ts_hdr *h = ts->h;
    int cls = class_for(bytes);
    int rc;

    if (cls < 0)
        return TS_TOO_LARGE;
    /* A block freed earlier in this same operation is live again after a
     * rollback, and its body is written here without undo entries: never
     * hand one out before the operation commits. */
    uint64_t o = ts->op_freed ? 0 : h->free_head[cls];
    if (o) {
        struct ts_blk *b = at(ts, o);
        if (o < ARENA_OFF || o >= h->heap_top || b->tag != TAG_FREE ||
            b->cls != (uint32_t)cls)
            return TS_ERROR;
        if (JSET(ts, h->free_head[cls], b->link) || jsave(ts, o, sizeof(*b)))
            return TS_ERROR;
        b->tag = tag;
        b->link = 0;
        *off = o;
        return TS_OK;
    }
    uint64_t sz = class_size((unsigned)cls);
    o = h->heap_top;
    if (o + sz > h->file_bytes && (rc = arena_grow(ts, o + sz)) != TS_OK)
        return rc;
    if (JSET(ts, h->heap_top, o + sz))
        return TS_ERROR;
    struct ts_blk *b = at(ts, o);
    b->tag = tag;
    b->cls = (uint32_t)cls;
    b->link = 0;
    *off = o;
    return TS_OK;
}

static int arena_free(struct taskstore *ts, uint64_t off)
{
    struct ts_blk *b = at(ts, off);
    uint32_t cls = b->cls;

    if (cls >= NCLASS || jsave(ts, off, sizeof(*b)))
        return TS_ERROR;
    b->tag = TAG_FREE;
    b->link = ts->h->free_head[cls];
    ts->op_freed = true;
    return JSET(ts, ts->h->free_head[cls], off) ? TS_ERROR : TS_OK;
}

/* ---- blobs (built in process memory, outside the lock) -------------- */

_Static_assert(META_N <= 8 && RES_N <= 8, "blob_build holds eight lengths");

struct blob {
    char *buf; /* body after the block header */
    size_t len;
};

static int blob_build(const char *const *fields, uint32_t n,
                      const size_t *maxes, struct blob *out)
{
    size_t total = 4 + 4 * (size_t)n, lens[8];

    for (uint32_t i = 0; i < n; i++) {
        lens[i] = fields[i] ? strnlen(fields[i], maxes[i] + 1) : 0;
        if (fields[i] && lens[i] > maxes[i])
            return TS_TOO_LARGE;
        total += fields[i] ? lens[i] + 1 : 0;
    }
    out->buf = malloc(total);
    if (!out->buf)
        return TS_ERROR;
    out->len = total;
    memcpy(out->buf, &n, 4);
    char *p = out->buf + 4 + 4 * (size_t)n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = fields[i] ? (uint32_t)lens[i] : BLOB_ABSENT;
        memcpy(out->buf + 4 + 4 * (size_t)i, &l, 4);
        if (fields[i]) {
            memcpy(p, fields[i], lens[i] + 1);
            p += lens[i] + 1;
        }
    }
    return TS_OK;
}

/* Bytes of the blob body at OFF that are in use, or 0 if malformed. */
static uint64_t blob_used(const char *base, uint64_t off, uint32_t want_n)
{
    const struct ts_blk *b = (const void *)(base + off);
    const char *body = base + off + sizeof(*b);
    uint64_t cap = class_size(b->cls) - sizeof(*b), used;
    uint32_t n;

    memcpy(&n, body, 4);
    if (n == 0 || n > want_n || 4 + 4 * (uint64_t)n > cap)
        return 0;
    used = 4 + 4 * (uint64_t)n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l;
        memcpy(&l, body + 4 + 4 * i, 4);
        if (l == BLOB_ABSENT)
            continue;
        if (l >= cap || used + l + 1 > cap || body[used + l] != '\0')
            return 0;
        used += (uint64_t)l + 1;
    }
    return used;
}

/* Field I of a copied blob body (NULL if absent). */
static const char *blob_field(const char *body, uint32_t i)
{
    uint32_t n, l;
    const char *p;

    if (!body)
        return NULL;
    memcpy(&n, body, 4);
    p = body + 4 + 4 * (size_t)n;
    for (uint32_t k = 0; k < n; k++) {
        memcpy(&l, body + 4 + 4 * k, 4);
        if (k == i)
            return l == BLOB_ABSENT ? NULL : p;
        if (l != BLOB_ABSENT)
            p += l + 1;
    }
    return NULL;
}

static uint32_t blob_sum(const void *body, uint64_t len)
{
    return fnv32(2166136261u, body, (size_t)len);
}

static int blob_store(struct taskstore *ts, const struct blob *bl,
                      uint32_t tag, uint64_t owner, uint64_t *off,
                      uint32_t *sum)
{
    int rc = arena_alloc(ts, sizeof(struct ts_blk) + bl->len, tag, off);
    if (rc != TS_OK)
        return rc;
    struct ts_blk *b = at(ts, *off);
    b->link = owner;
    memcpy(b + 1, bl->buf, bl->len);
    *sum = blob_sum(bl->buf, bl->len);
    return TS_OK;
}

/* The seal of record R: every field but the list links. */
static uint32_t rec_sum(const struct ts_rec *r)
{
    struct ts_rec c = *r;

    c.h.link = c.act_prev = c.act_next = 0;
    c.sum = 0;
    return fnv32(2166136261u, &c, sizeof(c));
}

static void rec_seal(struct ts_rec *r)
{
    r->sum = rec_sum(r);
}

/* The start time of process PID (proctable_stat), cached for this
 * process's own pid: with the pid it names one process (pids are reused,
 * start times not). 0 when unknown. */
static uint64_t proc_start_time(pid_t pid)
{
    static __thread pid_t cached_pid;
    static __thread uint64_t cached;

    if (pid == cached_pid && cached)
        return cached;
    uint64_t start = proctable_stat(pid, NULL);
    if (pid == getpid()) {
        cached_pid = pid;
        cached = start;
    }
    return start;
}

/* ---- index ---------------------------------------------------------- */

static uint64_t *index_slots(struct taskstore *ts)
{
    return (uint64_t *)(ts->base + ts->h->index_off + sizeof(struct ts_blk));
}

/* Slot position of the record with ID (tag TAG), or -1. */
static long long index_find(struct taskstore *ts, const uint8_t id[16],
                            uint32_t tag)
{
    uint64_t n = ts->h->index_slots;
    uint64_t *s;

    if (!ts->h->index_off || !n)
        return -1;
    s = index_slots(ts);
    for (uint64_t i = slot_home(tag, n), k = 0; k < n;
         k++, i = i + 1 == n ? 0 : i + 1) {
        uint64_t e = s[i];
        if (!e)
            return -1;
        if (entry_tag(e) == tag) {
            const struct ts_rec *r = at(ts, entry_off(e));
            if (memcmp(r->id, id, 16) == 0)
                return (long long)i;
        }
    }
    return -1;
}

static void index_put_fresh(uint64_t *s, uint64_t n, uint64_t e)
{
    uint64_t i = slot_home(entry_tag(e), n);
    while (s[i])
        i = i + 1 == n ? 0 : i + 1;
    s[i] = e;
}

/* Replace the index by one of at least WANT slots (fresh block, so the
 * rehash, and any insert into it in the same operation, needs no journal;
 * only the header switch and the free do). */
static int index_rebuild(struct taskstore *ts, uint64_t want)
{
    struct ts_hdr *h = ts->h;
    uint64_t off, n;
    int rc =
        arena_alloc(ts, sizeof(struct ts_blk) + want * 8, TAG_INDEX, &off);

    if (rc != TS_OK)
        return rc;
    struct ts_blk *b = at(ts, off);
    n = (class_size(b->cls) - sizeof(*b)) / 8;
    b->link = n;
    uint64_t *ns = (uint64_t *)(b + 1);
    memset(ns, 0, n * 8);
    if (h->index_off) {
        uint64_t *os = index_slots(ts);
        for (uint64_t i = 0; i < h->index_slots; i++)
            if (os[i])
                index_put_fresh(ns, n, os[i]);
        if ((rc = arena_free(ts, h->index_off)) != TS_OK)
            return rc;
    }
    if (JSET(ts, h->index_off, off) || JSET(ts, h->index_slots, n))
        return TS_ERROR;
    return TS_OK;
}

/* Replace the index by one at least twice as large. */
static int index_grow(struct taskstore *ts)
{
    uint64_t n = ts->h->index_slots;
    return index_rebuild(ts, n ? n * 2 : 1022);
}

static int index_insert(struct taskstore *ts, uint32_t tag, uint64_t rec_off)
{
    int rc;

    if ((ts->h->count + 1) * 2 > ts->h->index_slots &&
        (rc = index_grow(ts)) != TS_OK)
        return rc;
    uint64_t n = ts->h->index_slots, *s = index_slots(ts);
    uint64_t i = slot_home(tag, n);
    while (s[i])
        i = i + 1 == n ? 0 : i + 1;
    return JSET(ts, s[i], entry_make(tag, rec_off)) ? TS_ERROR : TS_OK;
}

static int journal_slots(struct taskstore *ts, uint64_t from, uint64_t to_excl)
{
    uint64_t n = ts->h->index_slots;
    uint64_t base = ts->h->index_off + sizeof(struct ts_blk);

    if (from < to_excl)
        return jsave(ts, base + from * 8, (to_excl - from) * 8);
    if (jsave(ts, base + from * 8, (n - from) * 8))
        return -1;
    return jsave(ts, base, to_excl * 8);
}

/* Remove slot POS by backward shifting (no tombstones). */
static int index_remove(struct taskstore *ts, uint64_t pos)
{
    uint64_t n = ts->h->index_slots, *s = index_slots(ts);
    uint64_t end = pos, i = pos, j = pos;

    do
        end = end + 1 == n ? 0 : end + 1;
    while (s[end] && end != pos);
    if (journal_slots(ts, pos, end == pos ? pos : end))
        return TS_ERROR;
    for (;;) {
        j = j + 1 == n ? 0 : j + 1;
        if (!s[j] || j == pos)
            break;
        uint64_t k = slot_home(entry_tag(s[j]), n);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        s[i] = s[j];
        i = j;
    }
    s[i] = 0;
    return TS_OK;
}

/* ---- extensions: a parent's counters, a callback's state ------------- */

static struct ts_ext *rec_ext(struct taskstore *ts, const struct ts_rec *r)
{
    return r->ext ? at(ts, (uint64_t)r->ext << 4) : NULL;
}

static uint32_t ext_sum(const struct ts_ext *e)
{
    struct ts_ext c = *e;

    c.cb_prev = c.cb_next = 0;
    c.sum = 0;
    return fnv32(2166136261u, &c, sizeof(c));
}

static void ext_seal(struct ts_ext *e)
{
    e->sum = ext_sum(e);
}

/* Journal the counters and callback state of the extension at OFF (once
 * per operation: the oldest copy is what a rollback restores). */
static int ext_save(struct taskstore *ts, uint64_t off)
{
    if (ts->op_ext == off)
        return 0;
    if (jsave(ts, off, EXT_HEAD))
        return -1;
    ts->op_ext = off;
    return 0;
}

/* Field I of the META blob of record R, in place (NULL if absent). */
static const char *meta_field(struct taskstore *ts, const struct ts_rec *r,
                              uint32_t i)
{
    return r->meta
               ? blob_field(
                     (const char *)at(ts, r->meta) + sizeof(struct ts_blk), i)
               : NULL;
}

static uint64_t record_lookup(struct taskstore *ts, const uint8_t id[16]);

/* The record of the parent of R (0: R is no child, or its parent is
 * gone) and its extension into *EXT. */
static uint64_t parent_of(struct taskstore *ts, const struct ts_rec *r,
                          struct ts_ext **ext)
{
    const char *pid = meta_field(ts, r, META_PARENT);
    uint8_t bin[16];
    uint64_t off;

    *ext = NULL;
    if (!pid || taskid_decode(pid, bin) || !(off = record_lookup(ts, bin)))
        return 0;
    *ext = rec_ext(ts, at(ts, off));
    return *ext && (*ext)->kids ? off : 0;
}

static bool is_parent(struct taskstore *ts, const struct ts_rec *r)
{
    const struct ts_ext *e = rec_ext(ts, r);
    return e && e->kids;
}

/* A finished child whose parent still runs: kept like an active task
 * (retention and the cap never split a running bulk). */
static bool child_of_active(struct taskstore *ts, const struct ts_rec *r)
{
    struct ts_ext *e;
    uint64_t p = parent_of(ts, r, &e);
    return p && status_active(((struct ts_rec *)at(ts, p))->status);
}

/* Append-sorted insert of the extension at OFF into the pending-callback
 * list by cb_next_at, walking from the tail (new entries are the latest:
 * amortised O(1)). Its own links are written by the caller's journal. */
static int cb_insert(struct taskstore *ts, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_ext *e = at(ts, off);
    uint64_t prev = h->cb_tail;

    while (prev && ((struct ts_ext *)at(ts, prev))->cb_next_at > e->cb_next_at)
        prev = ((struct ts_ext *)at(ts, prev))->cb_prev;
    uint64_t next =
        prev ? ((struct ts_ext *)at(ts, prev))->cb_next : h->cb_head;
    if (jsave(ts, off + offsetof(struct ts_ext, cb_prev), 16))
        return TS_ERROR;
    e->cb_prev = prev;
    e->cb_next = next;
    if (prev ? JSET(ts, ((struct ts_ext *)at(ts, prev))->cb_next, off)
             : JSET(ts, h->cb_head, off))
        return TS_ERROR;
    if (next ? JSET(ts, ((struct ts_ext *)at(ts, next))->cb_prev, off)
             : JSET(ts, h->cb_tail, off))
        return TS_ERROR;
    return TS_OK;
}

static int cb_unlink(struct taskstore *ts, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_ext *e = at(ts, off);
    int bad = 0;

    bad |= e->cb_prev
               ? JSET(ts, ((struct ts_ext *)at(ts, e->cb_prev))->cb_next,
                      e->cb_next)
               : JSET(ts, h->cb_head, e->cb_next);
    bad |= e->cb_next
               ? JSET(ts, ((struct ts_ext *)at(ts, e->cb_next))->cb_prev,
                      e->cb_prev)
               : JSET(ts, h->cb_tail, e->cb_prev);
    bad |= jsave(ts, off + offsetof(struct ts_ext, cb_prev), 16);
    e->cb_prev = e->cb_next = 0;
    return bad ? TS_ERROR : TS_OK;
}

/* Whether the extension at OFF is on the pending-callback list. */
static bool cb_listed(struct taskstore *ts, uint64_t off)
{
    const struct ts_ext *e = at(ts, off);
    return e->cb_prev || e->cb_next || ts->h->cb_head == off;
}

/* The task at OFF has just ended at NOW: its pending callback becomes
 * due. */
static int cb_task_ended(struct taskstore *ts, uint64_t off, double now)
{
    struct ts_rec *r = at(ts, off);
    struct ts_ext *e = rec_ext(ts, r);

    if (!e || e->cb_state != CB_PENDING)
        return TS_OK;
    uint64_t eoff = (uint64_t)r->ext << 4;
    if (ext_save(ts, eoff))
        return TS_ERROR;
    e->cb_next_at = now;
    ext_seal(e);
    return cb_insert(ts, eoff);
}

static int record_finish(struct taskstore *ts, uint64_t off, uint32_t final,
                         const struct blob *res, int error_code, double now);

/* The details of a parent that ended with FAILED of TOTAL children. */
static void parent_details(char *buf, size_t len, uint64_t failed,
                           uint64_t total)
{
    snprintf(buf, len, "%llu of %llu children failed",
             (unsigned long long)failed, (unsigned long long)total);
}

/* Its last child ended: end the parent at OFF (success, or failed 3001
 * counting the failures). */
static int parent_end(struct taskstore *ts, uint64_t off, double now)
{
    static const size_t maxes[RES_N] = {0, TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const struct ts_ext *e = rec_ext(ts, at(ts, off));
    char details[96];
    struct blob res = {0};
    int rc;

    if (!e->failed)
        return record_finish(ts, off, TASK_SUCCESS, NULL, 0, now);
    parent_details(details, sizeof(details), e->failed, e->total);
    const char *fields[RES_N] = {
        NULL, bmc_err_message(BMC_ERR_EXECUTION_FAILED), details};
    if ((rc = blob_build(fields, RES_N, maxes, &res)) != TS_OK)
        return rc;
    rc = record_finish(ts, off, TASK_FAILED, &res, BMC_ERR_EXECUTION_FAILED,
                       now);
    if (rc == TS_FULL) /* no room for the texts: without them */
        rc = record_finish(ts, off, TASK_FAILED, NULL,
                           BMC_ERR_EXECUTION_FAILED, now);
    free(res.buf);
    return rc;
}

/* Child R moved FROM -> TO: its parent's counters follow in the same
 * operation, and the last child to end ends the parent. */
static int parent_note(struct taskstore *ts, const struct ts_rec *r,
                       uint32_t from, uint32_t to, double now)
{
    struct ts_ext *e;
    uint64_t poff = parent_of(ts, r, &e);

    if (!poff || from == to)
        return TS_OK;
    uint64_t *ctr[4] = {&e->queued, &e->running, &e->success, &e->failed};
    if (from > TASK_FAILED || to > TASK_FAILED ||
        ext_save(ts, (uint64_t)((struct ts_rec *)at(ts, poff))->ext << 4))
        return TS_ERROR;
    if (*ctr[from])
        (*ctr[from])--;
    (*ctr[to])++;
    ext_seal(e);
    if (e->queued + e->running == 0 &&
        status_active(((struct ts_rec *)at(ts, poff))->status))
        return parent_end(ts, poff, now);
    return TS_OK;
}

/* ---- records -------------------------------------------------------- */

static int active_link(struct taskstore *ts, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_rec *r = at(ts, off);

    r->act_prev = 0;
    r->act_next = h->active_head;
    if (h->active_head &&
        JSET(ts, ((struct ts_rec *)at(ts, h->active_head))->act_prev, off))
        return TS_ERROR;
    return JSET(ts, h->active_head, off) ? TS_ERROR : TS_OK;
}

/* Unlink the (journaled) record at OFF from the active list and counters. */
static int active_unlink(struct taskstore *ts, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_rec *r = at(ts, off);
    int bad = 0;

    if (r->act_prev)
        bad |= JSET(ts, ((struct ts_rec *)at(ts, r->act_prev))->act_next,
                    r->act_next);
    else
        bad |= JSET(ts, h->active_head, r->act_next);
    if (r->act_next)
        bad |= JSET(ts, ((struct ts_rec *)at(ts, r->act_next))->act_prev,
                    r->act_prev);
    if (r->status == TASK_RUNNING)
        bad |= JSET(ts, h->n_running, h->n_running - 1);
    else
        bad |= JSET(ts, h->n_queued, h->n_queued - 1);
    r->act_prev = r->act_next = 0;
    return bad ? TS_ERROR : TS_OK;
}

/* Remove the record at OFF whose FIFO predecessor is PREV (0 = head). */
static int record_remove(struct taskstore *ts, uint64_t prev, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_rec *r = at(ts, off);
    long long pos = index_find(ts, r->id, r->hash);
    int rc;

    if (pos < 0 || jsave(ts, off, sizeof(*r)))
        return TS_ERROR;
    if ((rc = index_remove(ts, (uint64_t)pos)) != TS_OK)
        return rc;
    if (prev ? JSET(ts, ((struct ts_rec *)at(ts, prev))->h.link, r->h.link)
             : JSET(ts, h->fifo_head, r->h.link))
        return TS_ERROR;
    if (h->fifo_tail == off && JSET(ts, h->fifo_tail, prev))
        return TS_ERROR;
    if (status_active(r->status) && (rc = active_unlink(ts, off)) != TS_OK)
        return rc;
    if (r->meta && (rc = arena_free(ts, r->meta)) != TS_OK)
        return rc;
    if (r->result && (rc = arena_free(ts, r->result)) != TS_OK)
        return rc;
    struct ts_ext *e = rec_ext(ts, r);
    if (e) {
        uint64_t eoff = (uint64_t)r->ext << 4;
        if ((cb_listed(ts, eoff) && (rc = cb_unlink(ts, eoff)) != TS_OK) ||
            (e->kids && (rc = arena_free(ts, e->kids)) != TS_OK) ||
            (rc = arena_free(ts, eoff)) != TS_OK)
            return rc;
    }
    if ((rc = arena_free(ts, off)) != TS_OK)
        return rc;
    if (JSET(ts, h->count, h->count - 1) ||
        JSET(ts, h->removed_total, h->removed_total + 1))
        return TS_ERROR;
    return TS_OK;
}

/* Evict the oldest finished task (active ones are kept). 1 if none. */
static int record_evict_oldest(struct taskstore *ts)
{
    uint64_t prev = 0, off = ts->h->fifo_head;
    uint64_t limit = ts->h->count;

    for (uint64_t k = 0; off && k < limit; k++) {
        struct ts_rec *r = at(ts, off);
        if (!status_active(r->status) && !child_of_active(ts, r))
            return record_remove(ts, prev, off);
        prev = off;
        off = r->h.link;
    }
    return 1;
}

/* Finish the (active) record at OFF. RES may be NULL (no texts). */
static int record_finish(struct taskstore *ts, uint64_t off, uint32_t final,
                         const struct blob *res, int error_code, double now)
{
    struct ts_rec *r = at(ts, off);
    uint64_t res_off = 0;
    int rc;

    uint32_t res_sum = 0;

    if (res && (rc = blob_store(ts, res, TAG_RESULT, off, &res_off,
                                &res_sum)) != TS_OK)
        return rc;
    if (jsave(ts, off, sizeof(*r)))
        return TS_ERROR;
    uint32_t was = r->status;
    if ((rc = active_unlink(ts, off)) != TS_OK)
        return rc;
    r->status = final;
    r->completed_at = now;
    r->error_code = error_code;
    r->result = res_off;
    r->result_sum = res_sum;
    rec_seal(r);
    if ((rc = cb_task_ended(ts, off, now)) != TS_OK)
        return rc;
    return parent_note(ts, r, was, final, now);
}

/* ---- operations ----------------------------------------------------- */

/* Link the new, sealed record at OFF (written without journal) into the
 * FIFO, the active list when active, the counters and the index. */
static int record_link_new(struct taskstore *ts, uint64_t off)
{
    struct ts_hdr *h = ts->h;
    struct ts_rec *r = at(ts, off);
    int rc;

    r->h.link = 0;
    r->act_prev = r->act_next = 0;
    if (h->fifo_tail
            ? JSET(ts, ((struct ts_rec *)at(ts, h->fifo_tail))->h.link, off)
            : JSET(ts, h->fifo_head, off))
        return TS_ERROR;
    if (JSET(ts, h->fifo_tail, off))
        return TS_ERROR;
    if (status_active(r->status)) {
        if ((rc = active_link(ts, off)) != TS_OK)
            return rc;
        if (r->status == TASK_RUNNING
                ? JSET(ts, h->n_running, h->n_running + 1)
                : JSET(ts, h->n_queued, h->n_queued + 1))
            return TS_ERROR;
    }
    if ((rc = index_insert(ts, r->hash, off)) != TS_OK)
        return rc;
    if (JSET(ts, h->count, h->count + 1) ||
        JSET(ts, h->created_total, h->created_total + 1))
        return TS_ERROR;
    return TS_OK;
}

/* A new extension block for the record at REC_OFF into *OFF: zero
 * counters; with a callback its state PENDING and delivery id DELIVERY.
 * Unsealed: the caller fills it, then seals. */
static int ext_new(struct taskstore *ts, uint64_t rec_off,
                   const uint8_t *delivery, uint64_t *off)
{
    int rc = arena_alloc(ts, sizeof(struct ts_ext), TAG_EXT, off);

    if (rc != TS_OK)
        return rc;
    struct ts_ext *e = at(ts, *off);
    memset((char *)e + sizeof(e->h), 0, sizeof(*e) - sizeof(e->h));
    e->h.link = rec_off;
    if (delivery) {
        e->cb_state = CB_PENDING;
        memcpy(e->delivery_id, delivery, 16);
    }
    return TS_OK;
}

/* At most two evictions per create (bounded journal); the sweep brings a
 * larger excess down in batches. Each eviction commits on its own, so the
 * create after it may reuse the space it freed. */
static int evict_for_create(struct taskstore *ts)
{
    for (int k = 0;
         k < 2 && ts->max_tasks > 0 && ts->h->count >= (uint64_t)ts->max_tasks;
         k++) {
        int rc = record_evict_oldest(ts);
        if (rc == 1)
            break;
        if (rc != TS_OK)
            return rc;
        journal_commit(ts);
    }
    return TS_OK;
}

static int ts_create_locked(struct taskstore *ts, const struct task_new *t,
                            double now, uint64_t owner_start, uint8_t rnd[10],
                            const struct blob *meta, const uint8_t *delivery,
                            uint8_t id[16])
{
    struct ts_hdr *h = ts->h;
    uint64_t off, moff;
    uint32_t tag;
    int rc;

    for (int tries = 0;; tries++) {
        taskid_compose((uint64_t)(now * 1000.0), ts->node_id, rnd, id);
        tag = id_hash(h->seed, id);
        if (index_find(ts, id, tag) < 0)
            break;
        if (tries > 8)
            return TS_ERROR;
        rnd[8] ^= (uint8_t)(tries + 1); /* 66 random bits collided: vary */
    }
    if ((rc = evict_for_create(ts)) != TS_OK)
        return rc;
    uint32_t msum;
    if ((rc = arena_alloc(ts, sizeof(struct ts_rec), TAG_REC, &off)) !=
            TS_OK ||
        (rc = blob_store(ts, meta, TAG_META, off, &moff, &msum)) != TS_OK)
        return rc;
    struct ts_rec *r = at(ts, off);
    memset((char *)r + sizeof(r->h), 0, sizeof(*r) - sizeof(r->h));
    memcpy(r->id, id, 16);
    r->submitted_at = now;
    r->started_at = t->status == TASK_RUNNING ? now : 0;
    r->meta = moff;
    r->meta_sum = msum;
    r->owner = (int32_t)t->owner;
    r->owner_start = owner_start;
    r->status = t->status;
    r->hash = tag;
    if (delivery) {
        uint64_t eoff;
        if ((rc = ext_new(ts, off, delivery, &eoff)) != TS_OK)
            return rc;
        ext_seal(at(ts, eoff));
        r->ext = (uint32_t)(eoff >> 4);
    }
    rec_seal(r);
    return record_link_new(ts, off);
}

/* The META blob of T (PARENT: the parent id of a child, else NULL). */
static int meta_build(const struct task_new *t, const char *parent,
                      struct blob *out)
{
    static const size_t maxes[META_N] = {
        TASKSTORE_MAX_TEXT_BYTES, TASKSTORE_MAX_TEXT_BYTES,
        TASKSTORE_MAX_TEXT_BYTES, TASKSTORE_MAX_TEXT_BYTES,
        TASKSTORE_MAX_TEXT_BYTES, TASK_ID_LEN,
        TASKSTORE_MAX_URL};
    const char *fields[META_N] = {t->method,
                                  t->ip,
                                  t->protocol,
                                  t->request_id,
                                  t->requested_by,
                                  parent,
                                  parent ? NULL : t->callback_url};
    return blob_build(fields, META_N, maxes, out);
}

enum ts_rc taskstore_create_at(struct taskstore *ts, const struct task_new *t,
                               double started_at, char id_out[TASK_ID_LEN + 1])
{
    uint64_t owner_start = proc_start_time(t->owner);
    struct blob meta = {0};
    uint8_t rnd[10], id[16], drnd[10], delivery[16];
    int rc;

    if ((t->status != TASK_QUEUED && t->status != TASK_RUNNING) ||
        t->parent_id)
        return TS_ERROR;
    if (taskid_random(rnd) || taskid_random(drnd))
        return TS_ERROR;
    if ((rc = meta_build(t, NULL, &meta)) != TS_OK)
        goto out;
    if ((rc = ts_lock(ts)) != TS_OK)
        goto out;
    double now = started_at > 0 ? started_at : clock_now_real();
    taskid_compose((uint64_t)(now * 1000.0), ts->node_id, drnd, delivery);
    rc =
        ts_unlock(ts, ts_create_locked(ts, t, now, owner_start, rnd, &meta,
                                       t->callback_url ? delivery : NULL, id));
    if (rc == TS_OK)
        taskid_format(id, id_out);
out:
    free(meta.buf);
    return rc;
}

enum ts_rc taskstore_create(struct taskstore *ts, const struct task_new *t,
                            char id_out[TASK_ID_LEN + 1])
{
    return taskstore_create_at(ts, t, 0, id_out);
}

/* Record offset of ID under the lock, 0 if absent. */
static uint64_t record_lookup(struct taskstore *ts, const uint8_t id[16])
{
    long long pos = index_find(ts, id, id_hash(ts->h->seed, id));
    return pos < 0 ? 0 : entry_off(index_slots(ts)[pos]);
}

/* Move the active record at OFF to STATUS under OWNER (journaled). */
static int record_move(struct taskstore *ts, uint64_t off,
                       enum task_status status, pid_t owner,
                       uint64_t owner_start)
{
    struct ts_rec *r = at(ts, off);
    struct ts_hdr *h = ts->h;

    if (jsave(ts, off, sizeof(*r)))
        return TS_ERROR;
    if (r->status != status && status == TASK_RUNNING &&
        (JSET(ts, h->n_queued, h->n_queued - 1) ||
         JSET(ts, h->n_running, h->n_running + 1)))
        return TS_ERROR;
    double now = clock_now_real();
    if (status == TASK_RUNNING && r->started_at == 0)
        r->started_at = now;
    uint32_t was = r->status;
    r->status = status;
    r->owner = (int32_t)owner;
    r->owner_start = owner_start;
    rec_seal(r);
    return parent_note(ts, r, was, status, now);
}

/* The active record of ID under the lock that passes the check (FROM > 0:
 * queued and owned by FROM), or 0. */
static uint64_t active_lookup(struct taskstore *ts, const uint8_t bin[16],
                              pid_t from)
{
    uint64_t off = record_lookup(ts, bin);
    struct ts_rec *r = off ? at(ts, off) : NULL;

    if (!r || !status_active(r->status))
        return 0;
    if (from > 0 && (r->status != TASK_QUEUED || r->owner != (int32_t)from))
        return 0;
    return off;
}

static int transition(struct taskstore *ts, const char *id, pid_t from,
                      enum task_status status, pid_t owner)
{
    uint64_t owner_start = proc_start_time(owner);
    uint8_t bin[16];
    int rc;

    if (taskid_decode(id, bin))
        return TS_NOT_FOUND;
    if ((rc = ts_lock(ts)) != TS_OK)
        return rc;
    uint64_t off = active_lookup(ts, bin, from);
    rc = off && !is_parent(ts, at(ts, off))
             ? record_move(ts, off, status, owner, owner_start)
             : TS_NOT_FOUND;
    return ts_unlock(ts, rc);
}

enum ts_rc taskstore_mark_running(struct taskstore *ts, const char *id,
                                  pid_t owner)
{
    return transition(ts, id, 0, TASK_RUNNING, owner);
}

enum ts_rc taskstore_claim(struct taskstore *ts, const char *id, pid_t from,
                           enum task_status status, pid_t owner)
{
    if (from <= 0 || (status != TASK_QUEUED && status != TASK_RUNNING))
        return TS_ERROR;
    return transition(ts, id, from, status, owner);
}

enum ts_rc taskstore_abandon(struct taskstore *ts, const char *id, pid_t owner,
                             const char *details)
{
    static const size_t maxes[RES_N] = {0, TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const char *fields[RES_N] = {
        NULL, bmc_err_message(BMC_ERR_SERVICE_UNAVAILABLE), details};
    struct blob res = {0};
    uint8_t bin[16];
    int rc;

    if (owner <= 0 || taskid_decode(id, bin))
        return TS_NOT_FOUND;
    if ((rc = blob_build(fields, RES_N, maxes, &res)) != TS_OK)
        return rc;
    if ((rc = ts_lock(ts)) == TS_OK) {
        uint64_t off = active_lookup(ts, bin, owner);
        if (off && is_parent(ts, at(ts, off)))
            off = 0; /* a parent: taskstore_abandon_bulk */
        rc = off ? record_finish(ts, off, TASK_FAILED, &res,
                                 BMC_ERR_SERVICE_UNAVAILABLE, clock_now_real())
                 : TS_NOT_FOUND;
        if (rc == TS_FULL) /* no room for the texts: without them */
            rc = record_finish(ts, off, TASK_FAILED, NULL,
                               BMC_ERR_SERVICE_UNAVAILABLE, clock_now_real());
        rc = ts_unlock(ts, rc);
    }
    free(res.buf);
    return rc;
}

enum ts_rc taskstore_finish(struct taskstore *ts, const char *id,
                            enum task_status final, const char *result_json,
                            enum bmc_err error_code, const char *error_message,
                            const char *details)
{
    static const size_t maxes[RES_N] = {TASKSTORE_MAX_RESULT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const char *fields[RES_N] = {result_json, error_message, details};
    struct blob res = {0};
    uint8_t bin[16];
    int rc;

    if (final != TASK_SUCCESS && final != TASK_FAILED)
        return TS_ERROR;
    if (taskid_decode(id, bin))
        return TS_NOT_FOUND;
    bool texts = result_json || error_message || details;
    if (texts && (rc = blob_build(fields, RES_N, maxes, &res)) != TS_OK)
        goto out;
    if (result_json) {
        json_object *probe = json_parse_strict(
            result_json, strlen(result_json), RESULT_DEPTH, NULL, 0);
        if (!probe) {
            rc = TS_ERROR;
            goto out;
        }
        json_object_put(probe);
    }
    if ((rc = ts_lock(ts)) != TS_OK)
        goto out;
    uint64_t off = record_lookup(ts, bin);
    if (!off || !status_active(((struct ts_rec *)at(ts, off))->status) ||
        is_parent(ts, at(ts, off))) /* a parent ends by its children */
        rc = ts_unlock(ts, TS_NOT_FOUND);
    else
        rc = ts_unlock(ts, record_finish(ts, off, final, texts ? &res : NULL,
                                         error_code, clock_now_real()));
out:
    free(res.buf);
    return rc;
}

/* A consistent copy of one record and its blobs, taken under the lock. */
struct rec_copy {
    struct ts_rec rec;
    struct ts_ext ext;   /* valid when rec.ext */
    char *meta, *result; /* point into BUF */
    char *buf;
    size_t need;
};

/* Copy the record at OFF into CP using BUF of CAP bytes; TS_TOO_LARGE (with
 * cp->need set) when BUF is too small. */
static int record_copy(struct taskstore *ts, uint64_t off, char *buf,
                       size_t cap, struct rec_copy *cp)
{
    struct ts_rec *r = at(ts, off);
    uint64_t ml = 0, rl = 0;

    cp->rec = *r;
    if (r->ext)
        cp->ext = *rec_ext(ts, r);
    if (r->meta && !(ml = blob_used(ts->base, r->meta, META_N)))
        return TS_ERROR;
    if (r->result && !(rl = blob_used(ts->base, r->result, RES_N)))
        return TS_ERROR;
    cp->need = ml + rl;
    if (cp->need > cap)
        return TS_TOO_LARGE;
    cp->meta = r->meta ? buf : NULL;
    cp->result = r->result ? buf + ml : NULL;
    if (ml)
        memcpy(buf, (char *)at(ts, r->meta) + sizeof(struct ts_blk), ml);
    if (rl)
        memcpy(buf + ml, (char *)at(ts, r->result) + sizeof(struct ts_blk),
               rl);
    return TS_OK;
}

static const char *status_name(uint32_t s)
{
    static const char *const names[] = {"queued", "running", "success",
                                        "failed"};
    return s < 4 ? names[s] : "failed";
}

static void add_str(json_object *o, const char *key, const char *val)
{
    if (val)
        json_object_object_add(o, key, json_object_new_string(val));
}

static json_object *progress_json(const struct ts_ext *e)
{
    json_object *p = json_object_new_object();

    json_object_object_add(p, "total",
                           json_object_new_int64((int64_t)e->total));
    json_object_object_add(p, "queued",
                           json_object_new_int64((int64_t)e->queued));
    json_object_object_add(p, "running",
                           json_object_new_int64((int64_t)e->running));
    json_object_object_add(p, "success",
                           json_object_new_int64((int64_t)e->success));
    json_object_object_add(p, "failed",
                           json_object_new_int64((int64_t)e->failed));
    return p;
}

static const char *callback_state_name(uint32_t s)
{
    return s == CB_DELIVERED ? "delivered"
           : s == CB_FAILED  ? "failed"
                             : "pending";
}

static json_object *callback_json(const struct ts_ext *e, const char *url)
{
    json_object *c = json_object_new_object();
    char did[TASK_ID_LEN + 1];
    char err[sizeof(e->last_error)];

    memcpy(err, e->last_error, sizeof(err));
    err[sizeof(err) - 1] = '\0';
    taskid_format(e->delivery_id, did);
    json_object_object_add(c, "url", json_object_new_string(url));
    json_object_object_add(
        c, "state", json_object_new_string(callback_state_name(e->cb_state)));
    json_object_object_add(c, "attempts",
                           json_object_new_int((int)e->cb_attempts));
    json_object_object_add(c, "last_error",
                           err[0] ? json_object_new_string(err)
                                  : json_object_new_null());
    json_object_object_add(c, "delivery_id", json_object_new_string(did));
    return c;
}

static int task_to_json(const struct rec_copy *cp, json_object **out)
{
    const struct ts_rec *r = &cp->rec;
    json_object *o = json_object_new_object();
    const char *res = blob_field(cp->result, RES_RESULT);
    const char *emsg = blob_field(cp->result, RES_ERROR_MESSAGE);

    if (!o)
        return TS_ERROR;
    json_object_object_add(o, "status",
                           json_object_new_string(status_name(r->status)));
    add_str(o, "method", blob_field(cp->meta, META_METHOD));
    add_str(o, "ip", blob_field(cp->meta, META_IP));
    add_str(o, "protocol", blob_field(cp->meta, META_PROTOCOL));
    add_str(o, "request_id", blob_field(cp->meta, META_REQUEST_ID));
    const char *by = blob_field(cp->meta, META_REQUESTED_BY);
    json_object_object_add(o, "requested_by",
                           by ? json_object_new_string(by)
                              : json_object_new_null());
    json_object_object_add(o, "submitted_at", json_new_time(r->submitted_at));
    json_object_object_add(o, "started_at",
                           r->started_at ? json_new_time(r->started_at)
                                         : json_object_new_null());
    if (!status_active(r->status)) {
        json_object_object_add(o, "completed_at",
                               json_new_time(r->completed_at));
        /* a task that never started took no time */
        double from = r->started_at ? r->started_at : r->completed_at;
        double d = round(r->completed_at * 1000.0) / 1000.0 -
                   round(from * 1000.0) / 1000.0;
        json_object_object_add(o, "duration",
                               json_new_number(round(d * 1000.0) / 1000.0));
    }
    if (res) {
        json_object *parsed =
            json_parse_strict(res, strlen(res), RESULT_DEPTH, NULL, 0);
        if (!parsed) {
            json_object_put(o);
            return TS_ERROR;
        }
        json_object_object_add(o, "result", parsed);
    }
    if (r->error_code) {
        json_object_object_add(o, "error_code",
                               json_object_new_int(r->error_code));
        if (!emsg)
            emsg = bmc_err_message(r->error_code);
    }
    add_str(o, "error_message", emsg);
    add_str(o, "details", blob_field(cp->result, RES_DETAILS));
    add_str(o, "parent", blob_field(cp->meta, META_PARENT));
    if (r->ext && cp->ext.kids)
        json_object_object_add(o, "progress", progress_json(&cp->ext));
    const char *url = blob_field(cp->meta, META_CALLBACK_URL);
    if (r->ext && url && cp->ext.cb_state != CB_NONE)
        json_object_object_add(o, "callback", callback_json(&cp->ext, url));
    *out = o;
    return TS_OK;
}

/* TS_EXPIRED / TS_NOT_FOUND from the id alone, or TS_OK to look it up. */
static int id_classify(const struct taskstore *ts, const char *id,
                       uint8_t bin[16])
{
    double t, now = clock_now_real();

    if (taskid_decode(id, bin) || taskid_parse(id, &t, NULL))
        return TS_NOT_FOUND;
    if (t > now + 86400.0)
        return TS_NOT_FOUND; /* no clock is a day fast: not one of ours */
    if (t < now - (double)ts->retention_days * 86400.0)
        return TS_EXPIRED;
    return TS_OK;
}

enum ts_rc taskstore_get(struct taskstore *ts, const char *id,
                         json_object **task_out)
{
    char local[LOCAL_COPY], *heap = NULL, *buf = local;
    size_t cap = sizeof(local);
    struct rec_copy cp;
    uint8_t bin[16];
    int rc;

    *task_out = NULL;
    if ((rc = id_classify(ts, id, bin)) != TS_OK)
        return rc;
    for (int attempt = 0; attempt < 3; attempt++) {
        if ((rc = ts_lock(ts)) != TS_OK)
            goto out;
        uint64_t off = record_lookup(ts, bin);
        rc = off ? record_copy(ts, off, buf, cap, &cp) : TS_NOT_FOUND;
        pthread_mutex_unlock(&ts->h->mutex); /* read only: nothing to commit */
        if (rc != TS_TOO_LARGE)
            break;
        /* Big result: allocate outside the lock, then copy again. */
        free(heap);
        cap = cp.need;
        buf = heap = malloc(cap);
        if (!heap) {
            rc = TS_ERROR;
            goto out;
        }
    }
    if (rc == TS_OK)
        rc = task_to_json(&cp, task_out);
    else if (rc == TS_TOO_LARGE)
        rc = TS_BUSY; /* grew three times in a row: try again later */
out:
    free(heap);
    return rc;
}

enum ts_rc taskstore_test_extents(struct taskstore *ts, const char *id,
                                  unsigned long long off[3],
                                  unsigned long long len[3])
{
    uint8_t bin[16];
    int rc;

    memset(off, 0, 3 * sizeof(*off));
    memset(len, 0, 3 * sizeof(*len));
    if (taskid_decode(id, bin))
        return TS_NOT_FOUND;
    if ((rc = ts_lock(ts)) != TS_OK)
        return rc;
    uint64_t r = record_lookup(ts, bin);
    if (r) {
        const struct ts_rec *rec = at(ts, r);
        off[0] = r;
        len[0] = sizeof(*rec);
        if (rec->meta) {
            off[1] = rec->meta;
            len[1] =
                sizeof(struct ts_blk) + blob_used(ts->base, rec->meta, META_N);
        }
        if (rec->result) {
            off[2] = rec->result;
            len[2] = sizeof(struct ts_blk) +
                     blob_used(ts->base, rec->result, RES_N);
        }
    }
    pthread_mutex_unlock(&ts->h->mutex);
    return r ? TS_OK : TS_NOT_FOUND;
}

enum ts_rc taskstore_test_lock(struct taskstore *ts)
{
    return ts_lock(ts);
}

enum ts_rc taskstore_count_running(struct taskstore *ts, long *n)
{
    int rc = ts_lock(ts);

    if (rc != TS_OK)
        return rc;
    *n = (long)ts->h->n_running;
    pthread_mutex_unlock(&ts->h->mutex);
    return TS_OK;
}

enum ts_rc taskstore_stats(struct taskstore *ts, struct taskstore_stats *st)
{
    int rc = ts_lock(ts);

    if (rc != TS_OK)
        return rc;
    st->file_bytes = (long long)ts->h->file_bytes;
    st->max_bytes = (long long)ts->max_bytes;
    st->tasks = (long)ts->h->count;
    st->running = (long)ts->h->n_running;
    st->queued = (long)ts->h->n_queued;
    pthread_mutex_unlock(&ts->h->mutex);
    return TS_OK;
}

/* Fail the first active task owned by PID (any owner when PID <= 0).
 * 1 when none is left. */
static int fail_one_locked(struct taskstore *ts, pid_t pid, uint64_t start,
                           const struct blob *res)
{
    uint64_t off = ts->h->active_head;
    uint64_t limit = ts->h->n_running + ts->h->n_queued;

    for (uint64_t k = 0; off && k <= limit; k++) {
        struct ts_rec *r = at(ts, off);
        const struct ts_ext *e = rec_ext(ts, r);
        bool ends_by_children = e && e->kids && e->queued + e->running > 0;
        if (!ends_by_children &&
            (pid <= 0 || (r->owner == (int32_t)pid &&
                          (!start || r->owner_start == start)))) {
            int rc = record_finish(ts, off, TASK_FAILED, res,
                                   BMC_ERR_EXECUTION_FAILED, clock_now_real());
            if (rc == TS_FULL) /* no room for the texts: fail it without */
                rc = record_finish(ts, off, TASK_FAILED, NULL,
                                   BMC_ERR_EXECUTION_FAILED, clock_now_real());
            return rc;
        }
        off = r->act_next;
    }
    return 1;
}

static int fail_owned_since(struct taskstore *ts, pid_t pid, uint64_t start,
                            const char *message, long *failed)
{
    static const size_t maxes[RES_N] = {0, TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const char *fields[RES_N] = {
        NULL, bmc_err_message(BMC_ERR_EXECUTION_FAILED), message};
    struct blob res = {0};
    int rc;

    *failed = 0;
    if ((rc = blob_build(fields, RES_N, maxes, &res)) != TS_OK)
        return rc;
    for (;;) {
        if ((rc = ts_lock(ts)) != TS_OK)
            break;
        int one = 0;
        for (int k = 0; k < SWEEP_BATCH; k++) {
            one = fail_one_locked(ts, pid, start, &res);
            if (one != TS_OK)
                break;
            journal_commit(ts);
            (*failed)++;
        }
        rc = ts_unlock(ts, one == 1 ? TS_OK : one);
        if (rc != TS_OK || one == 1)
            break;
    }
    free(res.buf);
    return rc;
}

static int fail_owned(struct taskstore *ts, pid_t pid, const char *message,
                      long *failed)
{
    return fail_owned_since(ts, pid, 0, message, failed);
}

#define OWNERS_MAX 64

struct owner {
    pid_t pid;
    uint64_t start;
};

/* The distinct owners of active tasks (at most OWNERS_MAX) into O. */
static int owners_collect(struct taskstore *ts, struct owner *o, int *n)
{
    int rc = ts_lock(ts);

    *n = 0;
    if (rc != TS_OK)
        return rc;
    uint64_t off = ts->h->active_head;
    uint64_t limit = ts->h->n_running + ts->h->n_queued;
    for (uint64_t k = 0; off && k <= limit && *n < OWNERS_MAX; k++) {
        const struct ts_rec *r = at(ts, off);
        int i = 0;
        while (i < *n &&
               (o[i].pid != r->owner || o[i].start != r->owner_start))
            i++;
        if (i == *n)
            o[(*n)++] = (struct owner){r->owner, r->owner_start};
        off = r->act_next;
    }
    pthread_mutex_unlock(&ts->h->mutex);
    return TS_OK;
}

enum ts_rc taskstore_fail_dead_owners(struct taskstore *ts,
                                      const char *message, long *failed)
{
    struct owner o[OWNERS_MAX];
    int n, rc = owners_collect(ts, o, &n);

    *failed = 0;
    for (int i = 0; rc == TS_OK && i < n; i++) {
        char state = 0;
        uint64_t now = proctable_stat(o[i].pid, &state);
        /* a zombie is dead; an unknown start time (0) compares by pid */
        bool alive = now && state != 'Z' && (!o[i].start || now == o[i].start);
        long k = 0;
        if (!alive && o[i].pid > 0)
            rc = fail_owned_since(ts, o[i].pid, o[i].start, message, &k);
        *failed += k;
    }
    return (enum ts_rc)rc;
}

enum ts_rc taskstore_fail_owned_by(struct taskstore *ts, pid_t pid,
                                   const char *message)
{
    long n;

    if (pid <= 0)
        return TS_ERROR;
    return fail_owned(ts, pid, message, &n);
}

/* One batch of retention under the lock: walk the list from its head,
 * removing finished tasks submitted before CUTOFF. Queued and running tasks
 * are never removed, and records stamped in the future (the clock was
 * ahead when they were made) are kept but walked past: neither stops
 * retention. The walk ends at the first finished task inside retention
 * (the rest is younger). 1 when there is nothing more to remove. */
static int sweep_batch_locked(struct taskstore *ts, double now, double cutoff)
{
    uint64_t prev = 0, off = ts->h->fifo_head;
    int removed = 0, rc;

    for (uint64_t scanned = 0; off && scanned < SWEEP_SCAN_MAX; scanned++) {
        struct ts_rec *r = at(ts, off);
        uint64_t next = r->h.link;
        bool active = status_active(r->status) || child_of_active(ts, r);
        if (!active && r->submitted_at < cutoff) {
            if ((rc = record_remove(ts, prev, off)) != TS_OK)
                return rc;
            journal_commit(ts);
            /* a batch never ends inside a bulk: its children (right
             * behind their parent) go with it */
            if (++removed >= SWEEP_BATCH &&
                !(next && meta_field(ts, at(ts, next), META_PARENT)))
                return TS_OK;
            off = next;
            continue;
        }
        if (!active && r->submitted_at <= now + SWEEP_FUTURE_SLACK_S)
            break;
        prev = off;
        off = next;
    }
    return removed ? TS_OK : 1;
}

enum ts_rc taskstore_sweep(struct taskstore *ts, double now_unix)
{
    double cutoff = now_unix - (double)ts->retention_days * 86400.0;
    int rc = TS_OK, step = TS_OK;

    do { /* retention, the lock released between batches */
        if ((rc = ts_lock(ts)) != TS_OK)
            return (enum ts_rc)rc;
        step = sweep_batch_locked(ts, now_unix, cutoff);
        rc = ts_unlock(ts, step == 1 ? TS_OK : step);
    } while (rc == TS_OK && step == TS_OK);
    while (rc == TS_OK && ts->max_tasks > 0) { /* then the cap */
        if ((rc = ts_lock(ts)) != TS_OK)
            break;
        step = TS_OK;
        for (int k = 0; k < SWEEP_BATCH && step == TS_OK &&
                        ts->h->count > (uint64_t)ts->max_tasks;
             k++)
            if ((step = record_evict_oldest(ts)) == TS_OK)
                journal_commit(ts);
        bool more = step == TS_OK && ts->h->count > (uint64_t)ts->max_tasks;
        rc = ts_unlock(ts, step == 1 ? TS_OK : step);
        if (!more)
            break;
    }
    return (enum ts_rc)rc;
}

/* ---- salvage (crash recovery) ----------------------------------------- */

/* MAP_SHARED pages reach the disk in any order: after a host crash the file
 * may hold torn or zeroed pages anywhere. Salvage keeps every record whose
 * seal and blobs are intact, found by scanning the arena (no header, list
 * or index is trusted), and rebuilds a fresh store from them. */

struct salvage_item {
    uint8_t id[16];
    uint64_t off;
};

struct salvage {
    struct salvage_item *v;
    size_t n, cap;
    long dropped; /* record blocks found damaged */
};

static bool salvage_blob_ok(const char *base, uint64_t size, uint64_t rec,
                            uint64_t off, uint32_t tag, uint32_t n,
                            uint32_t sum, uint64_t *used)
{
    const struct ts_blk *b = (const void *)(base + off);

    if (off < ARENA_OFF || off % 16 || off > size - sizeof(*b) ||
        b->tag != tag || b->link != rec || b->cls >= NCLASS ||
        class_size(b->cls) > size - off)
        return false;
    *used = blob_used(base, off, n);
    return *used && blob_sum(base + off + sizeof(*b), *used) == sum;
}

/* Whether the record block at OFF (tagged as one) is intact. */
static bool salvage_rec_ok(const char *base, uint64_t size, uint64_t off)
{
    const struct ts_rec *r = (const void *)(base + off);
    uint64_t used;

    return rec_sum(r) == r->sum && r->status <= TASK_FAILED &&
           (r->id[6] & 0xf0) == 0x70 && (r->id[8] & 0xc0) == 0x80 && r->meta &&
           salvage_blob_ok(base, size, off, r->meta, TAG_META, META_N,
                           r->meta_sum, &used) &&
           (!r->result ||
            salvage_blob_ok(base, size, off, r->result, TAG_RESULT, RES_N,
                            r->result_sum, &used));
}

static int salvage_cmp(const void *a, const void *b)
{
    return memcmp(((const struct salvage_item *)a)->id,
                  ((const struct salvage_item *)b)->id, 16);
}

/* Scan SIZE bytes at BASE for intact records, sorted by id (creation
 * order). 0, or -1 out of memory. */
static int salvage_scan(const char *base, uint64_t size, struct salvage *sv)
{
    int cls = class_for(sizeof(struct ts_rec));

    memset(sv, 0, sizeof(*sv));
    for (uint64_t off = ARENA_OFF;
         size >= sizeof(struct ts_rec) && off <= size - sizeof(struct ts_rec);
         off += 16) {
        const struct ts_blk *b = (const void *)(base + off);
        if (b->tag != TAG_REC || b->cls != (uint32_t)cls)
            continue;
        if (!salvage_rec_ok(base, size, off)) {
            sv->dropped++;
            continue;
        }
        if (sv->n == sv->cap) {
            size_t cap = sv->cap ? sv->cap * 2 : 1024;
            void *p = realloc(sv->v, cap * sizeof(*sv->v));
            if (!p)
                return -1;
            sv->v = p;
            sv->cap = cap;
        }
        memcpy(sv->v[sv->n].id, ((const struct ts_rec *)b)->id, 16);
        sv->v[sv->n++].off = off;
    }
    if (sv->n)
        qsort(sv->v, sv->n, sizeof(*sv->v), salvage_cmp);
    return 0;
}

/* Copy the intact record at SRC + OFF into TS (locked). 1: already there. */
static int salvage_import_locked(struct taskstore *ts, const char *src,
                                 uint64_t size, uint64_t off)
{
    const struct ts_rec *from = (const void *)(src + off);
    uint32_t tag = id_hash(ts->h->seed, from->id);
    uint64_t roff, used;
    int rc;

    if (index_find(ts, from->id, tag) >= 0)
        return 1;
    if ((rc = arena_alloc(ts, sizeof(struct ts_rec), TAG_REC, &roff)) != TS_OK)
        return rc;
    struct ts_rec *r = at(ts, roff);
    memcpy((char *)r + sizeof(r->h), (const char *)from + sizeof(from->h),
           sizeof(*r) - sizeof(r->h));
    r->hash = tag;
    r->meta = r->result = 0;
    r->ext = 0; /* extensions are not salvaged yet: counters and callback
                   state are dropped, the records kept */
    const uint64_t blobs[2] = {from->meta, from->result};
    const uint32_t tags[2] = {TAG_META, TAG_RESULT}, ns[2] = {META_N, RES_N};
    for (int i = 0; i < 2; i++) {
        if (!blobs[i])
            continue;
        uint32_t sum;
        used = 0;
        if (!salvage_blob_ok(src, size, off, blobs[i], tags[i], ns[i],
                             i ? from->result_sum : from->meta_sum, &used))
            return TS_ERROR; /* checked by salvage_scan: cannot happen */
        struct blob bl = {(char *)src + blobs[i] + sizeof(struct ts_blk),
                          used};
        if ((rc = blob_store(ts, &bl, tags[i], roff, i ? &r->result : &r->meta,
                             &sum)) != TS_OK)
            return rc;
    }
    rec_seal(r);
    return record_link_new(ts, roff);
}

/* Import the scanned records into the fresh store TS; the count kept. */
static long salvage_import(struct taskstore *ts, const char *src,
                           uint64_t size, const struct salvage *sv)
{
    long kept = 0;

    for (size_t i = 0; i < sv->n;) {
        if (ts_lock(ts) != TS_OK)
            break;
        int rc = TS_OK;
        for (int k = 0; k < SWEEP_BATCH && i < sv->n; k++, i++) {
            rc = salvage_import_locked(ts, src, size, sv->v[i].off);
            if (rc == 1)
                continue;
            if (rc != TS_OK)
                break;
            journal_commit(ts);
            kept++;
        }
        if (ts_unlock(ts, rc == 1 ? TS_OK : rc) != TS_OK) {
            log_error("taskstore_salvage_stopped", "kept=%ld reason=\"%s\"",
                      kept, taskstore_rc_message(rc));
            break;
        }
    }
    return kept;
}

static int open_store(const char *path, const struct taskstore_opts *opts,
                      struct taskstore **out, char *err, size_t errlen,
                      bool may_salvage);

/* The file of FD (SIZE bytes) at PATH is damaged (WHY): move it aside,
 * start a fresh store at PATH holding every intact record, and log what
 * was done. Never refuses for the damage itself. */
static int store_salvage(const char *path, const struct taskstore_opts *opts,
                         int fd, uint64_t size, const char *why,
                         struct taskstore **out, char *err, size_t errlen)
{
    char aside[PATH_MAX];
    struct salvage sv = {0};
    char *src =
        size ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    int rc = TS_ERROR;

    snprintf(aside, sizeof(aside), "%s.damaged-%lld", path,
             (long long)clock_now_real());
    if (src == MAP_FAILED || (src && salvage_scan(src, size, &sv))) {
        snprintf(err, errlen, "cannot read damaged task store %s: %s", path,
                 strerror(errno));
        goto out;
    }
    if (rename(path, aside) != 0) {
        snprintf(err, errlen, "cannot move damaged task store %s aside: %s",
                 path, strerror(errno));
        goto out;
    }
    if ((rc = open_store(path, opts, out, err, errlen, false)) != TS_OK)
        goto out;
    long kept = salvage_import(*out, src, size, &sv), failed = 0;
    fail_owned(*out, 0, TASKSTORE_RESTART_MESSAGE, &failed);
    log_warn("taskstore_salvaged",
             "path=%s damaged_copy=%s reason=\"%s\" records_kept=%ld "
             "records_damaged=%ld interrupted_failed=%ld",
             path, aside, why, kept, sv.dropped, failed);
out:
    if (src && src != MAP_FAILED)
        munmap(src, (size_t)size);
    free(sv.v);
    return rc;
}

/* --check-store: what salvage would do with the file at BASE. */
static void salvage_report(const char *path, const char *base, uint64_t size,
                           FILE *report)
{
    struct salvage sv;

    if (!report || salvage_scan(base, size, &sv))
        return;
    fprintf(report,
            "salvage: opening %s would move it aside (%s.damaged-<time>) and "
            "start a new store with its %zu intact record%s (%ld damaged "
            "record%s dropped)\n",
            path, path, sv.n, sv.n == 1 ? "" : "s", sv.dropped,
            sv.dropped == 1 ? "" : "s");
    free(sv.v);
}

/* ---- open / close --------------------------------------------------- */

static uint64_t layout_sum(const struct ts_hdr *h)
{
    return fnv64(h, LAYOUT_LEN);
}

/* Check the header of a SIZE-byte file at BASE. 0, or -1 with WHY. */
static int header_validate(const char *base, uint64_t size, char *why,
                           size_t whylen)
{
    const struct ts_hdr *h = (const void *)base;

    if (size < ARENA_OFF) {
        snprintf(why, whylen,
                 "file is %llu bytes, shorter than a store header",
                 (unsigned long long)size);
        return -1;
    }
    if (memcmp(h->magic, TS_MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a bmc-manager task store (bad magic)");
        return -1;
    }
    if ((h->version != TASKSTORE_FORMAT_VERSION &&
         h->version != TS_FORMAT_UPGRADABLE) ||
        h->mutex_size != sizeof(pthread_mutex_t) ||
        h->header_size != HDR_SIZE ||
        h->record_size != sizeof(struct ts_rec) ||
        h->blk_size != sizeof(struct ts_blk) || h->nclass != NCLASS ||
        h->journal_off != JOURNAL_OFF || h->journal_size != JOURNAL_SIZE ||
        h->arena_off != ARENA_OFF) {
        snprintf(why, whylen,
                 "store format version %u (mutex %u bytes, record %u bytes) "
                 "differs from this build's "
                 "version %d (mutex %zu bytes, record %zu bytes)",
                 h->version, h->mutex_size, h->record_size,
                 TASKSTORE_FORMAT_VERSION, sizeof(pthread_mutex_t),
                 sizeof(struct ts_rec));
        return -1;
    }
    if (h->layout_sum != layout_sum(h)) {
        snprintf(why, whylen, "header checksum mismatch (damaged header)");
        return -1;
    }
    if (h->file_bytes < ARENA_OFF || h->file_bytes > size ||
        h->heap_top < ARENA_OFF || h->heap_top > h->file_bytes) {
        snprintf(why, whylen,
                 "header sizes are inconsistent "
                 "(file %llu bytes, header says %llu, heap %llu)",
                 (unsigned long long)size, (unsigned long long)h->file_bytes,
                 (unsigned long long)h->heap_top);
        return -1;
    }
    return 0;
}

/* Make the parent directory of PATH (0700) when it is missing. */
static int dir_make_parent(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    char *slash;

    if (strlen(path) >= sizeof(dir))
        return -1;
    strcpy(dir, path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot create task store directory %s: %s", dir,
             strerror(errno));
    return -1;
}

/* Build a fresh store in a temporary file and link it at PATH, so PATH
 * only ever names a complete store. 0 (or PATH appeared meanwhile), -1. */
static int store_create_file(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    struct ts_hdr h;
    int fd = -1, rc = -1;

    if (snprintf(tmp, sizeof(tmp), "%s.new-%ld", path, (long)getpid()) >=
        (int)sizeof(tmp))
        goto out;
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        goto fail;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, TS_MAGIC, 8);
    h.version = TASKSTORE_FORMAT_VERSION;
    h.mutex_size = sizeof(pthread_mutex_t);
    h.header_size = HDR_SIZE;
    h.record_size = sizeof(struct ts_rec);
    h.blk_size = sizeof(struct ts_blk);
    h.nclass = NCLASS;
    h.journal_off = JOURNAL_OFF;
    h.journal_size = JOURNAL_SIZE;
    h.arena_off = ARENA_OFF;
    uint8_t rnd[10];
    if (taskid_random(rnd))
        goto fail;
    memcpy(&h.seed, rnd, 8);
    h.created_at = clock_now_real();
    h.layout_sum = layout_sum(&h);
    h.file_bytes = ARENA_OFF;
    h.heap_top = ARENA_OFF;
    if (ftruncate(fd, (off_t)ARENA_OFF) != 0 ||
        pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd) != 0)
        goto fail;
    if (link(tmp, path) != 0 && errno != EEXIST)
        goto fail;
    rc = 0;
    goto out;
fail:
    snprintf(err, errlen, "cannot create task store %s: %s", path,
             strerror(errno));
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    return rc;
}

static int store_open_fd(const char *path, int *fd_out, char *err,
                         size_t errlen)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            *fd_out = fd;
            return 0;
        }
        if (errno != ENOENT)
            break;
        if (store_create_file(path, err, errlen))
            return -1;
    }
    snprintf(err, errlen, "cannot open task store %s: %s", path,
             strerror(errno));
    return -1;
}

static void opts_apply(struct taskstore *ts, const struct taskstore_opts *o)
{
    long long max = o && o->max_bytes > 0 ? o->max_bytes : DEFAULT_MAX;

    if (max > MAX_STORE)
        max = MAX_STORE;
    if (max < (long long)ARENA_OFF + GROW_MIN)
        max = (long long)ARENA_OFF + GROW_MIN;
    ts->max_bytes = (uint64_t)max;
    ts->max_tasks = o ? o->max_tasks : 0;
    ts->retention_days = o && o->retention_days > 0 ? o->retention_days : 7;
    ts->node_id = o ? o->node_id & 0xff : 0;
    ts->lock_timeout_s = o && o->lock_timeout_s > 0 ? o->lock_timeout_s : 2.0;
}

static int store_problems(char *base);

enum ts_rc taskstore_open(const char *path, const struct taskstore_opts *opts,
                          struct taskstore **out, char *err, size_t errlen)
{
    return open_store(path, opts, out, err, errlen, true);
}

static int open_store(const char *path, const struct taskstore_opts *opts,
                      struct taskstore **out, char *err, size_t errlen,
                      bool may_salvage)
{
    struct taskstore *ts = calloc(1, sizeof(*ts));
    struct stat st;
    char why[256];
    int rc = TS_ERROR;

    *out = NULL;
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        return TS_ERROR;
    }
    ts->fd = -1;
    ts->base = MAP_FAILED;
    opts_apply(ts, opts);
    if (dir_make_parent(path, err, errlen) ||
        store_open_fd(path, &ts->fd, err, errlen))
        goto out;
    if (flock(ts->fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen,
                 "task store %s is in use by another bmc-managerd "
                 "(flock: %s); "
                 "stop that instance or give this one its own BMC_STATE_DIR",
                 path, strerror(errno));
        goto out;
    }
    if (fstat(ts->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat task store %s: %s", path,
                 strerror(errno));
        goto out;
    }
    /* Validate with plain reads first: a foreign file is never mapped
     * writable, so it cannot be modified by accident. */
    _Alignas(struct ts_hdr) char hb[HDR_SIZE]; /* read as a struct ts_hdr */
    if ((uint64_t)st.st_size < ARENA_OFF ||
        pread(ts->fd, hb, sizeof(hb), 0) != (ssize_t)sizeof(hb)) {
        snprintf(why, sizeof(why),
                 "file is %lld bytes, shorter than a store header",
                 (long long)st.st_size);
        goto refuse;
    }
    if (header_validate(hb, (uint64_t)st.st_size, why, sizeof(why)))
        goto refuse;
    uint64_t fb = ((const struct ts_hdr *)(const void *)hb)->file_bytes;
    ts->map_size = (size_t)(fb > ts->max_bytes ? fb : ts->max_bytes);
    ts->map_size = (ts->map_size + 65535) & ~(size_t)65535;
    ts->base = mmap(NULL, ts->map_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_NORESERVE, ts->fd, 0);
    if (ts->base == MAP_FAILED) {
        snprintf(err, errlen, "cannot map task store %s (%zu bytes): %s", path,
                 ts->map_size, strerror(errno));
        goto out;
    }
    ts->vg_valid = (uint64_t)st.st_size < ts->map_size ? (uint64_t)st.st_size
                                                       : ts->map_size;
    VALGRIND_MAKE_MEM_NOACCESS(ts->base + ts->vg_valid,
                               ts->map_size - ts->vg_valid);
    ts->h = (struct ts_hdr *)ts->base;
    if (ts->h->version == TS_FORMAT_UPGRADABLE) {
        /* (a kill between the two stores leaves a checksum mismatch:
         * salvage, which keeps every record) */
        ts->h->version = TASKSTORE_FORMAT_VERSION;
        ts->h->layout_sum = layout_sum(ts->h);
        log_info("taskstore_upgraded", "path=%s from=%d to=%d", path,
                 TS_FORMAT_UPGRADABLE, TASKSTORE_FORMAT_VERSION);
    }
    if (ts->h->journal_used) {
        uint64_t pending = ts->h->journal_used;
        if (journal_rollback(ts->base, ts->h->file_bytes, why, sizeof(why)))
            goto refuse;
        log_warn("taskstore_recovered", "path=%s journal_bytes=%llu", path,
                 (unsigned long long)pending);
        /* the rollback may have restored the header's sizes */
        if (header_validate(ts->base, (uint64_t)st.st_size, why, sizeof(why)))
            goto refuse;
    }
    /* Every link the operations follow must be sound before one runs: a
     * damaged record is refused here rather than crashing a worker. */
    int problems = store_problems(ts->base);
    if (problems) {
        snprintf(why, sizeof(why), "its records are damaged (%d problem%s)",
                 problems, problems == 1 ? "" : "s");
        goto refuse;
    }
    if (shmutex_init(&ts->h->mutex)) {
        snprintf(err, errlen, "cannot initialise the task store mutex");
        goto out;
    }
    long failed = 0;
    if ((rc = fail_owned(ts, 0, TASKSTORE_RESTART_MESSAGE, &failed)) !=
        TS_OK) {
        snprintf(err, errlen, "cannot fail interrupted tasks in %s: %s", path,
                 taskstore_rc_message(rc));
        goto out;
    }
    if (failed)
        log_warn("taskstore_interrupted_tasks", "path=%s failed=%ld", path,
                 failed);
    *out = ts;
    return TS_OK;
refuse:
    if (may_salvage) {
        rc = store_salvage(path, opts, ts->fd, (uint64_t)st.st_size, why, out,
                           err, errlen);
        taskstore_close(ts);
        return rc;
    }
    snprintf(err, errlen,
             "refusing task store %s: %s. It was not modified. "
             "Move it aside (its tasks are then no longer served) "
             "or point BMC_STATE_DIR at another directory; "
             "`bmc-managerd --check-store %s` reports details",
             path, why, path);
out:
    taskstore_close(ts);
    return TS_ERROR;
}

void taskstore_close(struct taskstore *ts)
{
    if (!ts)
        return;
    if (ts->base != MAP_FAILED && ts->base)
        munmap(ts->base, ts->map_size);
    if (ts->fd >= 0)
        close(ts->fd);
    free(ts);
}

/* ---- offline check -------------------------------------------------- */

enum {
    F_START = 1,
    F_FIFO = 2,
    F_INDEX = 4,
    F_FREE = 8,
    F_BLOB = 16,
    F_ACTIVE = 32
};

struct chk {
    struct taskstore ts; /* base/h only: lets the index helpers run */
    FILE *rep;
    int problems;
    uint8_t *flags;
    uint64_t top;
};

static void chk_fail(struct chk *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void chk_fail(struct chk *c, const char *fmt, ...)
{
    va_list ap;

    c->problems++;
    if (!c->rep || c->problems > 50)
        return;
    va_start(ap, fmt);
    vfprintf(c->rep, fmt, ap);
    va_end(ap);
    fputc('\n', c->rep);
}

/* Flags of the block starting at OFF, or NULL if OFF is not a block. */
static uint8_t *chk_block(struct chk *c, uint64_t off)
{
    if (off < ARENA_OFF || off >= c->top || off % 16)
        return NULL;
    uint8_t *f = &c->flags[(off - ARENA_OFF) / 16];
    return (*f & F_START) ? f : NULL;
}

static const struct ts_blk *chk_blk(const struct chk *c, uint64_t off)
{
    return (const void *)(c->ts.base + off);
}

static void chk_walk(struct chk *c, uint64_t counts[6])
{
    uint64_t off = ARENA_OFF;

    while (off < c->top) {
        const struct ts_blk *b = chk_blk(c, off);
        if (b->cls >= NCLASS || off + class_size(b->cls) > c->top) {
            chk_fail(c, "block at %llu: bad size class %u",
                     (unsigned long long)off, b->cls);
            return;
        }
        c->flags[(off - ARENA_OFF) / 16] |= F_START;
        switch (b->tag) {
        case TAG_FREE: counts[0]++; break;
        case TAG_REC: counts[1]++; break;
        case TAG_META: counts[2]++; break;
        case TAG_RESULT: counts[3]++; break;
        case TAG_INDEX: counts[4]++; break;
        case TAG_EXT:
        case TAG_KIDS: counts[5]++; break;
        default:
            chk_fail(c, "block at %llu: unknown tag %#x",
                     (unsigned long long)off, b->tag);
        }
        if (b->tag == TAG_REC &&
            b->cls != (uint32_t)class_for(sizeof(struct ts_rec)))
            chk_fail(c, "record at %llu: wrong size class",
                     (unsigned long long)off);
        off += class_size(b->cls);
    }
}

static void chk_free_lists(struct chk *c, uint64_t nfree)
{
    uint64_t seen = 0;

    for (unsigned cls = 0; cls < NCLASS; cls++) {
        for (uint64_t off = c->ts.h->free_head[cls]; off;
             off = chk_blk(c, off)->link) {
            uint8_t *f = chk_block(c, off);
            if (!f || chk_blk(c, off)->tag != TAG_FREE ||
                chk_blk(c, off)->cls != cls || (*f & F_FREE) ||
                ++seen > nfree) {
                chk_fail(c, "free list %u: bad or repeated block at %llu", cls,
                         (unsigned long long)off);
                break;
            }
            *f |= F_FREE;
        }
    }
    if (seen != nfree)
        chk_fail(c,
                 "free lists hold %llu blocks, the arena has %llu free blocks",
                 (unsigned long long)seen, (unsigned long long)nfree);
}

static void chk_blob(struct chk *c, uint64_t rec, uint64_t off, uint32_t tag,
                     uint32_t n, uint32_t sum)
{
    uint8_t *f = chk_block(c, off);
    uint64_t used;

    if (!f || chk_blk(c, off)->tag != tag || chk_blk(c, off)->link != rec ||
        (*f & F_BLOB)) {
        chk_fail(c, "record at %llu: blob at %llu is not its own",
                 (unsigned long long)rec, (unsigned long long)off);
        return;
    }
    *f |= F_BLOB;
    if (!(used = blob_used(c->ts.base, off, n))) {
        chk_fail(c, "blob at %llu: malformed", (unsigned long long)off);
        return;
    }
    if (blob_sum(c->ts.base + off + sizeof(struct ts_blk), used) != sum)
        chk_fail(c, "blob at %llu: checksum mismatch",
                 (unsigned long long)off);
    if (tag == TAG_RESULT) {
        /* Structure only: finish validated the JSON, and parsing every
         * result would make checking a large store slow. */
        const char *res =
            blob_field(c->ts.base + off + sizeof(struct ts_blk), RES_RESULT);
        size_t len = res ? strlen(res) : 0;
        if (res && (len < 2 || res[0] != '{' || res[len - 1] != '}'))
            chk_fail(c, "blob at %llu: result is not a JSON object",
                     (unsigned long long)off);
    }
}

/* The extension of the record at REC (and a parent's child list). */
static void chk_ext(struct chk *c, uint64_t rec)
{
    const struct ts_rec *r = (const void *)(c->ts.base + rec);
    uint64_t off = (uint64_t)r->ext << 4;
    uint8_t *f = chk_block(c, off);
    const struct ts_ext *e = (const void *)(c->ts.base + off);

    if (!f || e->h.tag != TAG_EXT || e->h.link != rec || (*f & F_BLOB) ||
        class_size(e->h.cls) < sizeof(*e)) {
        chk_fail(c, "record at %llu: extension at %llu is not its own",
                 (unsigned long long)rec, (unsigned long long)off);
        return;
    }
    *f |= F_BLOB;
    if (ext_sum(e) != e->sum)
        chk_fail(c, "extension at %llu: checksum mismatch",
                 (unsigned long long)off);
    if (e->cb_state > CB_FAILED)
        chk_fail(c, "extension at %llu: bad callback state",
                 (unsigned long long)off);
    if (!e->kids)
        return;
    uint8_t *kf = chk_block(c, e->kids);
    const struct ts_blk *kb = kf ? chk_blk(c, e->kids) : NULL;
    const char *body = kb ? (const char *)(kb + 1) : NULL;
    uint64_t n = 0;
    if (body)
        memcpy(&n, body, 8);
    if (!kf || !kb || kb->tag != TAG_KIDS || kb->link != rec ||
        (*kf & F_BLOB) || n != e->total || n == 0 ||
        n > TASKSTORE_MAX_CHILDREN ||
        sizeof(*kb) + 8 + 16 * n > class_size(kb->cls) ||
        blob_sum(body, 8 + 16 * n) != e->kids_sum ||
        e->queued + e->running + e->success + e->failed != n) {
        chk_fail(c, "parent at %llu: child list or counters are damaged",
                 (unsigned long long)rec);
        return;
    }
    *kf |= F_BLOB;
}

static void chk_record(struct chk *c, uint64_t off, uint64_t *n_run,
                       uint64_t *n_queue)
{
    const struct ts_rec *r = (const void *)(c->ts.base + off);

    if (r->status > TASK_FAILED)
        chk_fail(c, "record at %llu: bad status %u", (unsigned long long)off,
                 r->status);
    if (r->hash != id_hash(c->ts.h->seed, r->id))
        chk_fail(c, "record at %llu: hash does not match its id",
                 (unsigned long long)off);
    if ((r->id[6] & 0xf0) != 0x70 || (r->id[8] & 0xc0) != 0x80)
        chk_fail(c, "record at %llu: id is not UUIDv7",
                 (unsigned long long)off);
    if (!r->meta)
        chk_fail(c, "record at %llu: no metadata", (unsigned long long)off);
    else
        chk_blob(c, off, r->meta, TAG_META, META_N, r->meta_sum);
    if (r->result)
        chk_blob(c, off, r->result, TAG_RESULT, RES_N, r->result_sum);
    if (rec_sum(r) != r->sum)
        chk_fail(c, "record at %llu: checksum mismatch",
                 (unsigned long long)off);
    if (r->ext)
        chk_ext(c, off);
    if (status_active(r->status)) {
        *(r->status == TASK_RUNNING ? n_run : n_queue) += 1;
        if (r->result || r->completed_at != 0)
            chk_fail(c, "record at %llu: active but has a result",
                     (unsigned long long)off);
    }
}

static void chk_fifo(struct chk *c, uint64_t nrec)
{
    const struct ts_hdr *h = c->ts.h;
    uint64_t seen = 0, last = 0, n_run = 0, n_queue = 0;

    for (uint64_t off = h->fifo_head; off; off = chk_blk(c, off)->link) {
        uint8_t *f = chk_block(c, off);
        if (!f || chk_blk(c, off)->tag != TAG_REC || (*f & F_FIFO) ||
            ++seen > nrec) {
            chk_fail(c, "task list: bad or repeated record at %llu",
                     (unsigned long long)off);
            return;
        }
        *f |= F_FIFO;
        chk_record(c, off, &n_run, &n_queue);
        last = off;
    }
    if (last != h->fifo_tail)
        chk_fail(c, "task list tail %llu is not its last record %llu",
                 (unsigned long long)h->fifo_tail, (unsigned long long)last);
    if (seen != nrec || seen != h->count)
        chk_fail(c,
                 "task list has %llu records, arena %llu, header count %llu",
                 (unsigned long long)seen, (unsigned long long)nrec,
                 (unsigned long long)h->count);
    if (n_run != h->n_running || n_queue != h->n_queued)
        chk_fail(c, "running/queued %llu/%llu but header says %llu/%llu",
                 (unsigned long long)n_run, (unsigned long long)n_queue,
                 (unsigned long long)h->n_running,
                 (unsigned long long)h->n_queued);
}

static void chk_active(struct chk *c)
{
    const struct ts_hdr *h = c->ts.h;
    uint64_t prev = 0, seen = 0, want = h->n_running + h->n_queued;

    for (uint64_t off = h->active_head; off;) {
        uint8_t *f = chk_block(c, off); /* first: OFF may point anywhere */
        const struct ts_rec *r = f ? (const void *)(c->ts.base + off) : NULL;
        if (!f || r->h.tag != TAG_REC || (*f & F_ACTIVE) || ++seen > want ||
            !status_active(r->status) || r->act_prev != prev) {
            chk_fail(c, "active list: bad record at %llu",
                     (unsigned long long)off);
            return;
        }
        *f |= F_ACTIVE;
        prev = off;
        off = r->act_next;
    }
    if (seen != want)
        chk_fail(c, "active list has %llu tasks, counters say %llu",
                 (unsigned long long)seen, (unsigned long long)want);
}

static void chk_index(struct chk *c, uint64_t nidx)
{
    const struct ts_hdr *h = c->ts.h;
    uint64_t n = h->index_slots, seen = 0;

    if (!h->index_off) {
        if (h->count || nidx)
            chk_fail(c, "no index but %llu tasks",
                     (unsigned long long)h->count);
        return;
    }
    uint8_t *f = chk_block(c, h->index_off);
    const struct ts_blk *b = f ? chk_blk(c, h->index_off) : NULL;
    if (!f || b->tag != TAG_INDEX || b->link != n || nidx != 1 ||
        n > (class_size(b->cls) - sizeof(*b)) / 8) { /* n * 8 could wrap */
        chk_fail(c, "index block at %llu is malformed (%llu index blocks)",
                 (unsigned long long)h->index_off, (unsigned long long)nidx);
        return;
    }
    const uint64_t *s = (const void *)(b + 1);
    for (uint64_t i = 0; i < n; i++) {
        if (!s[i])
            continue;
        uint64_t off = entry_off(s[i]);
        uint8_t *rf = chk_block(c, off);
        const struct ts_rec *r = rf ? (const void *)(c->ts.base + off) : NULL;
        if (!rf || r->h.tag != TAG_REC || r->hash != entry_tag(s[i]) ||
            (*rf & F_INDEX)) {
            chk_fail(c, "index slot %llu: bad entry", (unsigned long long)i);
            continue;
        }
        *rf |= F_INDEX;
        seen++;
        for (uint64_t k = slot_home(entry_tag(s[i]), n); k != i;
             k = k + 1 == n ? 0 : k + 1)
            if (!s[k]) {
                chk_fail(c, "index slot %llu: unreachable from its home slot",
                         (unsigned long long)i);
                break;
            }
    }
    if (seen != h->count)
        chk_fail(c, "index holds %llu tasks, header count %llu",
                 (unsigned long long)seen, (unsigned long long)h->count);
}

/* Every record must be in the list and the index; every blob owned. */
static void chk_cross(struct chk *c)
{
    for (uint64_t off = ARENA_OFF; off < c->top; off += 16) {
        uint8_t f = c->flags[(off - ARENA_OFF) / 16];
        if (!(f & F_START))
            continue;
        uint32_t tag = chk_blk(c, off)->tag;
        if (tag == TAG_REC && (f & (F_FIFO | F_INDEX)) != (F_FIFO | F_INDEX))
            chk_fail(c,
                     "record at %llu: missing from the task list or the index",
                     (unsigned long long)off);
        if ((tag == TAG_META || tag == TAG_RESULT || tag == TAG_EXT ||
             tag == TAG_KIDS) &&
            !(f & F_BLOB))
            chk_fail(c, "blob at %llu: owned by no record (leak)",
                     (unsigned long long)off);
        if (tag == TAG_REC &&
            status_active(
                ((const struct ts_rec *)(const void *)(c->ts.base + off))
                    ->status) &&
            !(f & F_ACTIVE))
            chk_fail(c, "record at %llu: active but not in the active list",
                     (unsigned long long)off);
    }
}

/* A parent's counters against its children's statuses (children found in
 * the index; a finished one may be gone: then only the active counts
 * must match, and the finished ones cannot exceed theirs). */
static void chk_parent(struct chk *c, uint64_t off, const struct ts_ext *e)
{
    const uint8_t *kid =
        (const uint8_t *)chk_blk(c, e->kids) + sizeof(struct ts_blk) + 8;
    uint64_t seen[4] = {0};

    for (uint64_t i = 0; i < e->total; i++) {
        long long pos = index_find(&c->ts, kid + 16 * i,
                                   id_hash(c->ts.h->seed, kid + 16 * i));
        if (pos < 0)
            continue;
        const struct ts_rec *k =
            (const void *)(c->ts.base + entry_off(index_slots(&c->ts)[pos]));
        seen[k->status <= TASK_FAILED ? k->status : TASK_FAILED]++;
    }
    const struct ts_rec *r = (const void *)(c->ts.base + off);
    bool active = status_active(r->status);
    if (seen[TASK_QUEUED] != e->queued || seen[TASK_RUNNING] != e->running ||
        seen[TASK_SUCCESS] > e->success || seen[TASK_FAILED] > e->failed ||
        (active && e->queued + e->running == 0))
        chk_fail(c,
                 "parent at %llu (%s): counters %llu/%llu/%llu/%llu, "
                 "children %llu/%llu/%llu/%llu",
                 (unsigned long long)off, status_name(r->status),
                 (unsigned long long)e->queued, (unsigned long long)e->running,
                 (unsigned long long)e->success, (unsigned long long)e->failed,
                 (unsigned long long)seen[0], (unsigned long long)seen[1],
                 (unsigned long long)seen[2], (unsigned long long)seen[3]);
}

/* The pending-callback list: every ended task whose callback is pending,
 * once, in next-attempt order. */
static void chk_callbacks(struct chk *c)
{
    const struct ts_hdr *h = c->ts.h;
    uint64_t want = 0, seen = 0, prev = 0;
    double last = -1e300;

    for (uint64_t off = h->fifo_head; off; off = chk_blk(c, off)->link) {
        const struct ts_rec *r = (const void *)(c->ts.base + off);
        const struct ts_ext *e =
            r->ext ? (const void *)(c->ts.base + ((uint64_t)r->ext << 4))
                   : NULL;
        if (e && e->kids)
            chk_parent(c, off, e);
        want += e && e->cb_state == CB_PENDING && !status_active(r->status);
    }
    for (uint64_t off = h->cb_head; off;) {
        uint8_t *f = chk_block(c, off);
        const struct ts_ext *e = f ? (const void *)(c->ts.base + off) : NULL;
        const struct ts_rec *r =
            e && e->h.tag == TAG_EXT
                ? chk_block(c, e->h.link)
                      ? (const void *)(c->ts.base + e->h.link)
                      : NULL
                : NULL;
        if (!r || r->h.tag != TAG_REC || e->cb_state != CB_PENDING ||
            status_active(r->status) || e->cb_prev != prev ||
            e->cb_next_at < last || ++seen > want) {
            chk_fail(c, "callback list: bad entry at %llu",
                     (unsigned long long)off);
            return;
        }
        last = e->cb_next_at;
        prev = off;
        off = e->cb_next;
    }
    if (prev != h->cb_tail || seen != want)
        chk_fail(c, "callback list holds %llu of %llu pending callbacks",
                 (unsigned long long)seen, (unsigned long long)want);
}

/* Check the blocks, lists and index of the store at BASE (header valid,
 * journal empty) into C; returns the number of problems. */
static int chk_arena(struct chk *c, char *base)
{
    uint64_t counts[6] = {0};

    c->ts.base = base;
    c->ts.h = (struct ts_hdr *)base;
    c->top = c->ts.h->heap_top;
    c->flags = calloc((c->top - ARENA_OFF) / 16 + 1, 1);
    if (!c->flags) {
        chk_fail(c, "out of memory");
        goto out;
    }
    chk_walk(c, counts);
    if (c->problems)
        goto out;
    chk_free_lists(c, counts[0]);
    chk_fifo(c, counts[1]);
    chk_active(c);
    chk_index(c, counts[4]);
    chk_cross(c);
    if (!c->problems) /* links are sound: follow parents and callbacks */
        chk_callbacks(c);
out:
    free(c->flags);
    c->flags = NULL;
    return c->problems;
}

static int store_problems(char *base)
{
    struct chk c = {.rep = NULL};

    return chk_arena(&c, base);
}

int taskstore_check_file(const char *path, FILE *report)
{
    struct chk c = {.rep = report};
    struct stat st;
    char why[256];
    char *base = MAP_FAILED;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        chk_fail(&c, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size < ARENA_OFF) {
        chk_fail(&c, "%s: %lld bytes, shorter than a store header", path,
                 (long long)st.st_size);
        goto out;
    }
    /* Private copy-on-write mapping: the journal can be rolled back here
     * exactly as open would, without writing to the file. */
    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                fd, 0);
    if (base == MAP_FAILED) {
        chk_fail(&c, "%s: cannot map: %s", path, strerror(errno));
        goto out;
    }
    if (header_validate(base, (uint64_t)st.st_size, why, sizeof(why))) {
        chk_fail(&c, "%s: %s", path, why);
        goto out;
    }
    c.ts.base = base;
    c.ts.h = (struct ts_hdr *)base;
    if (c.ts.h->journal_used) {
        uint64_t pending = c.ts.h->journal_used;
        if (journal_rollback(base, c.ts.h->file_bytes, why,
                             sizeof(why))) { /* as open */
            chk_fail(&c, "%s: %s", path, why);
            goto out;
        }
        if (report)
            fprintf(report,
                    "note: %s: %llu journal bytes pending "
                    "(rolled back for the check, as the next open or lock "
                    "will)\n",
                    path, (unsigned long long)pending);
        if (header_validate(base, (uint64_t)st.st_size, why, sizeof(why))) {
            chk_fail(&c, "%s: after rollback: %s", path, why);
            goto out;
        }
    }
    chk_arena(&c, base);
out:
    if (c.problems && report && base != MAP_FAILED)
        salvage_report(path, base, (uint64_t)st.st_size, report);
    else if (c.problems && report && fd >= 0)
        fprintf(report,
                "salvage: opening %s would move it aside and start a new, "
                "empty store\n",
                path);
    if (base != MAP_FAILED)
        munmap(base, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
    return c.problems;
}

/* ---- fleet operations ------------------------------------------------ */

/* A bulk inserts at most this many index slots through the journal (32
 * bytes each); a larger one rebuilds the index into a fresh block, which
 * needs no journal. Everything else a bulk writes is in blocks carved from
 * the heap top in the same operation: one journal entry for them all. So
 * a bulk of 10,000 journals a few hundred bytes (at most 64 KiB plus a
 * few entries), far inside the 256 KiB journal. */
#define BULK_JOURNAL_SLOTS 2048

/* The bulk's texts, ids and sizes, built outside the lock. Item 0 is the
 * parent, item I + 1 child I. */
struct bulk {
    const struct task_new *p;
    const struct task_child *kids;
    size_t n, nq;
    struct blob *meta, *res; /* res[i].buf NULL: no texts */
    uint8_t (*rnd)[10];
    uint64_t *owner_start;
    uint8_t parent_bin[16], delivery[16];
    char parent_id[TASK_ID_LEN + 1];
    double now;
    uint64_t bytes; /* every block the bulk carves */
};

static void bulk_free(struct bulk *b)
{
    for (size_t i = 0; b->meta && i <= b->n; i++)
        free(b->meta[i].buf);
    for (size_t i = 0; b->res && i <= b->n; i++)
        free(b->res[i].buf);
    free(b->meta);
    free(b->res);
    free(b->rnd);
    free(b->owner_start);
}

static uint64_t block_bytes(uint64_t body)
{
    int cls = class_for(sizeof(struct ts_blk) + body);
    return cls < 0 ? 0 : class_size((unsigned)cls);
}

/* The texts of item I into B (TS_TOO_LARGE / TS_ERROR). */
static int bulk_item_build(struct bulk *b, size_t i)
{
    static const size_t maxes[RES_N] = {0, TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const struct task_child *k = i ? &b->kids[i - 1] : NULL;
    int rc =
        meta_build(k ? &k->t : b->p, k ? b->parent_id : NULL, &b->meta[i]);

    if (rc != TS_OK)
        return rc;
    if (k && k->t.status == TASK_FAILED && (k->error_message || k->details)) {
        const char *f[RES_N] = {NULL, k->error_message, k->details};
        if ((rc = blob_build(f, RES_N, maxes, &b->res[i])) != TS_OK)
            return rc;
    }
    if (!k && b->nq == 0) { /* no child to run: the parent ends at once */
        char details[96];
        parent_details(details, sizeof(details), b->n, b->n);
        const char *f[RES_N] = {
            NULL, bmc_err_message(BMC_ERR_EXECUTION_FAILED), details};
        if ((rc = blob_build(f, RES_N, maxes, &b->res[i])) != TS_OK)
            return rc;
    }
    b->bytes += block_bytes(sizeof(struct ts_rec) - sizeof(struct ts_blk)) +
                block_bytes(b->meta[i].len) +
                (b->res[i].buf ? block_bytes(b->res[i].len) : 0);
    return TS_OK;
}

static int bulk_prepare(struct taskstore *ts, struct bulk *b)
{
    uint8_t drnd[10];
    pid_t last = 0;
    uint64_t last_start = 0;

    for (size_t i = 0; i < b->n; i++) {
        enum task_status st = b->kids[i].t.status;
        if (st != TASK_QUEUED && st != TASK_FAILED)
            return TS_ERROR;
        b->nq += st == TASK_QUEUED;
    }
    b->meta = calloc(b->n + 1, sizeof(*b->meta));
    b->res = calloc(b->n + 1, sizeof(*b->res));
    b->rnd = calloc(b->n + 1, sizeof(*b->rnd));
    b->owner_start = calloc(b->n + 1, sizeof(*b->owner_start));
    if (!b->meta || !b->res || !b->rnd || !b->owner_start)
        return TS_ERROR;
    for (size_t i = 0; i <= b->n; i++) {
        pid_t o = i ? b->kids[i - 1].t.owner : b->p->owner;
        if (taskid_random(b->rnd[i]))
            return TS_ERROR;
        if (o != last || !last_start) /* one submitter: read /proc once */
            last_start = proc_start_time(o);
        last = o;
        b->owner_start[i] = last_start;
    }
    if (taskid_random(drnd))
        return TS_ERROR;
    /* The parent's id is in every child's META, so it is fixed here (its
     * time a lock wait earlier than the rest: harmless for retention). */
    b->now = clock_now_real();
    taskid_compose((uint64_t)(b->now * 1000.0), ts->node_id, drnd,
                   b->delivery);
    taskid_compose((uint64_t)(b->now * 1000.0), ts->node_id, b->rnd[0],
                   b->parent_bin);
    taskid_format(b->parent_bin, b->parent_id);
    b->bytes = block_bytes(sizeof(struct ts_ext) - sizeof(struct ts_blk)) +
               block_bytes(8 + 16 * (uint64_t)b->n);
    return TS_OK;
}

/* A block of BODY bytes tagged TAG at *CUR in the reserved region. */
static uint64_t carve(struct taskstore *ts, uint64_t *cur, uint64_t body,
                      uint32_t tag, uint64_t owner)
{
    uint64_t off = *cur;
    struct ts_blk *b = at(ts, off);

    b->tag = tag;
    b->cls = (uint32_t)class_for(sizeof(*b) + body);
    b->link = owner;
    *cur += class_size(b->cls);
    return off;
}

/* Item I's id into ID (a child's made unique against the index; the
 * parent's was fixed by bulk_prepare), inserted into the index at OFF:
 * journaled, or not when the index is FRESH in this operation. */
static int bulk_index(struct taskstore *ts, const struct bulk *b, size_t i,
                      bool fresh, uint64_t off, uint8_t id[16], uint32_t *tag)
{
    uint8_t rnd[10];

    memcpy(rnd, b->rnd[i], sizeof(rnd));
    for (int tries = 0;; tries++) {
        if (i)
            taskid_compose((uint64_t)(b->now * 1000.0), ts->node_id, rnd, id);
        else
            memcpy(id, b->parent_bin, 16);
        *tag = id_hash(ts->h->seed, id);
        if (index_find(ts, id, *tag) < 0)
            break;
        if (!i || tries > 8)
            return TS_ERROR; /* the parent's id is in every child's META */
        rnd[8] ^= (uint8_t)(tries + 1); /* 66 random bits collided: vary */
    }
    uint64_t n = ts->h->index_slots, *s = index_slots(ts);
    uint64_t k = slot_home(*tag, n);
    while (s[k])
        k = k + 1 == n ? 0 : k + 1;
    if (fresh) {
        s[k] = entry_make(*tag, off);
        return TS_OK;
    }
    return JSET(ts, s[k], entry_make(*tag, off)) ? TS_ERROR : TS_OK;
}

/* A blob of BL's bytes carved at *CUR for the record at OWNER. */
static uint64_t carve_blob(struct taskstore *ts, uint64_t *cur,
                           const struct blob *bl, uint32_t tag, uint64_t owner,
                           uint32_t *sum)
{
    uint64_t off = carve(ts, cur, bl->len, tag, owner);

    memcpy((char *)at(ts, off) + sizeof(struct ts_blk), bl->buf, bl->len);
    *sum = blob_sum(bl->buf, bl->len);
    return off;
}

/* Item I's record at *CUR (with its blobs), sealed; not linked. */
static int bulk_record(struct taskstore *ts, const struct bulk *b, size_t i,
                       bool fresh, uint64_t *cur, uint64_t *off_out)
{
    const struct task_child *k = i ? &b->kids[i - 1] : NULL;
    uint64_t off = carve(ts, cur, sizeof(struct ts_rec) - 16, TAG_REC, 0);
    struct ts_rec *r = at(ts, off);
    int rc;

    memset((char *)r + sizeof(r->h), 0, sizeof(*r) - sizeof(r->h));
    if ((rc = bulk_index(ts, b, i, fresh, off, r->id, &r->hash)) != TS_OK)
        return rc;
    r->submitted_at = b->now;
    r->meta = carve_blob(ts, cur, &b->meta[i], TAG_META, off, &r->meta_sum);
    if (b->res[i].buf)
        r->result =
            carve_blob(ts, cur, &b->res[i], TAG_RESULT, off, &r->result_sum);
    r->owner = (int32_t)(k ? k->t.owner : b->p->owner);
    r->owner_start = b->owner_start[i];
    if (k)
        r->status = k->t.status;
    else
        r->status = b->nq ? TASK_RUNNING : TASK_FAILED;
    if (r->status == TASK_RUNNING)
        r->started_at = b->now;
    if (r->status == TASK_FAILED) {
        r->completed_at = b->now;
        r->error_code = k ? (int32_t)k->error_code : BMC_ERR_EXECUTION_FAILED;
    }
    *off_out = off;
    return TS_OK;
}

/* The parent's extension and child list at EOFF / KOFF (carved). */
static void bulk_ext(struct taskstore *ts, const struct bulk *b, uint64_t poff,
                     uint64_t eoff, uint64_t koff)
{
    struct ts_ext *e = at(ts, eoff);
    char *kb = (char *)at(ts, koff) + sizeof(struct ts_blk);
    uint64_t n = b->n;

    memset((char *)e + sizeof(e->h), 0, sizeof(*e) - sizeof(e->h));
    e->h.link = poff;
    ((struct ts_blk *)at(ts, koff))->link = poff;
    e->kids = koff;
    e->total = n;
    e->queued = b->nq;
    e->failed = n - b->nq;
    if (b->p->callback_url) {
        e->cb_state = CB_PENDING;
        memcpy(e->delivery_id, b->delivery, 16);
    }
    memcpy(kb, &n, 8);
    e->kids_sum = blob_sum(kb, 8 + 16 * n);
    ext_seal(e);
}

/* Link the new records FIRST..LAST (chained by h.link; the active ones
 * by act_prev/act_next from A_FIRST to A_LAST) into the store. */
static int bulk_link(struct taskstore *ts, uint64_t first, uint64_t last,
                     uint64_t a_first, uint64_t a_last, const struct bulk *b)
{
    struct ts_hdr *h = ts->h;
    uint64_t items = b->n + 1, running = b->nq ? 1 : 0;

    if (h->fifo_tail
            ? JSET(ts, ((struct ts_rec *)at(ts, h->fifo_tail))->h.link, first)
            : JSET(ts, h->fifo_head, first))
        return TS_ERROR;
    if (JSET(ts, h->fifo_tail, last))
        return TS_ERROR;
    if (a_first) {
        ((struct ts_rec *)at(ts, a_last))->act_next = h->active_head;
        if (h->active_head &&
            JSET(ts, ((struct ts_rec *)at(ts, h->active_head))->act_prev,
                 a_last))
            return TS_ERROR;
        if (JSET(ts, h->active_head, a_first))
            return TS_ERROR;
    }
    if (JSET(ts, h->n_running, h->n_running + running) ||
        JSET(ts, h->n_queued, h->n_queued + b->nq) ||
        JSET(ts, h->count, h->count + items) ||
        JSET(ts, h->created_total, h->created_total + items))
        return TS_ERROR;
    return TS_OK;
}

static int evict_for_create(struct taskstore *ts);

/* The whole bulk in one operation (the caller commits or rolls back). */
static int bulk_create_locked(struct taskstore *ts, const struct bulk *b,
                              uint64_t *offs)
{
    struct ts_hdr *h = ts->h;
    uint64_t need = h->count + b->n + 1, a_first = 0, a_last = 0, poff = 0;
    int rc;

    if ((rc = evict_for_create(ts)) != TS_OK)
        return rc;
    bool fresh = need * 2 > h->index_slots || b->n + 1 > BULK_JOURNAL_SLOTS;
    if (fresh && (rc = index_rebuild(ts, need * 2 > h->index_slots
                                             ? need * 2
                                             : h->index_slots)) != TS_OK)
        return rc;
    uint64_t cur = h->heap_top, end = cur + b->bytes;
    if (end > h->file_bytes && (rc = arena_grow(ts, end)) != TS_OK)
        return rc;
    if (JSET(ts, h->heap_top, end))
        return TS_ERROR;
    uint64_t eoff = carve(ts, &cur, sizeof(struct ts_ext) - 16, TAG_EXT, 0);
    uint64_t koff = carve(ts, &cur, 8 + 16 * (uint64_t)b->n, TAG_KIDS, 0);
    char *kids = (char *)at(ts, koff) + sizeof(struct ts_blk) + 8;
    for (size_t i = 0; i <= b->n; i++) {
        if ((rc = bulk_record(ts, b, i, fresh, &cur, &offs[i])) != TS_OK)
            return rc;
        struct ts_rec *r = at(ts, offs[i]);
        r->h.link = 0;
        r->act_prev = r->act_next = 0;
        if (i)
            ((struct ts_rec *)at(ts, offs[i - 1]))->h.link = offs[i];
        else
            poff = offs[0];
        if (i)
            memcpy(kids + 16 * (i - 1), r->id, 16);
        if (status_active(r->status)) {
            r->act_prev = a_last;
            if (a_last)
                ((struct ts_rec *)at(ts, a_last))->act_next = offs[i];
            else
                a_first = offs[i];
            a_last = offs[i];
        }
    }
    struct ts_rec *p = at(ts, poff);
    p->ext = (uint32_t)(eoff >> 4);
    for (size_t i = 0; i <= b->n; i++)
        rec_seal(at(ts, offs[i]));
    bulk_ext(ts, b, poff, eoff, koff);
    if (cur != end)
        return TS_ERROR; /* the sizes bulk_prepare summed: cannot happen */
    if ((rc = bulk_link(ts, poff, offs[b->n], a_first, a_last, b)) != TS_OK)
        return rc;
    return status_active(p->status) ? TS_OK : cb_task_ended(ts, poff, b->now);
}

enum ts_rc taskstore_create_bulk(struct taskstore *ts,
                                 const struct task_new *p,
                                 const struct task_child *kids, size_t n,
                                 char parent_id[TASK_ID_LEN + 1],
                                 char (*child_ids)[TASK_ID_LEN + 1])
{
    struct bulk b = {.p = p, .kids = kids, .n = n};
    uint64_t *offs = NULL;
    int rc;

    if (!p || !kids || n == 0 || n > TASKSTORE_MAX_CHILDREN || p->parent_id)
        return TS_ERROR;
    if ((rc = bulk_prepare(ts, &b)) != TS_OK)
        goto out;
    for (size_t i = 0; i <= n; i++)
        if ((rc = bulk_item_build(&b, i)) != TS_OK)
            goto out;
    if (!(offs = calloc(n + 1, sizeof(*offs)))) {
        rc = TS_ERROR;
        goto out;
    }
    if ((rc = ts_lock(ts)) != TS_OK)
        goto out;
    rc = ts_unlock(ts, bulk_create_locked(ts, &b, offs));
    if (rc == TS_OK)
        for (size_t i = 0; i <= n; i++) {
            const struct ts_rec *r = at(ts, offs[i]); /* ids never change */
            taskid_format(r->id, i ? child_ids[i - 1] : parent_id);
        }
out:
    free(offs);
    bulk_free(&b);
    return rc;
}

/* The parent record of ID under the lock (0: unknown or not a parent). */
static uint64_t parent_lookup(struct taskstore *ts, const uint8_t bin[16])
{
    uint64_t off = record_lookup(ts, bin);
    return off && is_parent(ts, at(ts, off)) ? off : 0;
}

/* Lock and find parent ID for reading (*OFF 0: not a parent; the lock
 * is held on TS_OK). */
static int parent_read_lock(struct taskstore *ts, const char *id,
                            uint64_t *off)
{
    uint8_t bin[16];
    int rc;

    if ((rc = id_classify(ts, id, bin)) != TS_OK ||
        (rc = ts_lock(ts)) != TS_OK)
        return rc;
    *off = parent_lookup(ts, bin);
    return TS_OK;
}

enum ts_rc taskstore_progress(struct taskstore *ts, const char *id,
                              struct task_progress *out)
{
    uint64_t off;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = parent_read_lock(ts, id, &off)) != TS_OK)
        return rc;
    if (off) {
        const struct ts_ext *e = rec_ext(ts, at(ts, off));
        *out = (struct task_progress){(long)e->total, (long)e->queued,
                                      (long)e->running, (long)e->success,
                                      (long)e->failed};
    }
    pthread_mutex_unlock(&ts->h->mutex); /* read only */
    return off ? TS_OK : TS_NOT_FOUND;
}

enum ts_rc taskstore_children(struct taskstore *ts, const char *id,
                              size_t offset, size_t max,
                              char (*ids)[TASK_ID_LEN + 1], size_t *n,
                              size_t *total)
{
    uint64_t off;
    int rc;

    *n = *total = 0;
    if ((rc = parent_read_lock(ts, id, &off)) != TS_OK)
        return rc;
    if (off) {
        const struct ts_ext *e = rec_ext(ts, at(ts, off));
        const uint8_t *kid =
            (const uint8_t *)at(ts, e->kids) + sizeof(struct ts_blk) + 8;
        *total = (size_t)e->total;
        for (size_t i = offset; i < *total && *n < max; i++)
            taskid_format(kid + 16 * i, ids[(*n)++]);
    }
    pthread_mutex_unlock(&ts->h->mutex); /* read only */
    return off ? TS_OK : TS_NOT_FOUND;
}

/* Child I of the parent at POFF (0 when gone). */
static uint64_t kid_lookup(struct taskstore *ts, uint64_t poff, uint64_t i)
{
    const struct ts_ext *e = rec_ext(ts, at(ts, poff));
    const uint8_t *kid =
        (const uint8_t *)at(ts, e->kids) + sizeof(struct ts_blk) + 8;
    return record_lookup(ts, kid + 16 * i);
}

/* The 3004 texts of a task that never ran because of DETAILS. */
static int unavailable_blob(const char *details, struct blob *res)
{
    static const size_t maxes[RES_N] = {0, TASKSTORE_MAX_TEXT_BYTES,
                                        TASKSTORE_MAX_TEXT_BYTES};
    const char *fields[RES_N] = {
        NULL, bmc_err_message(BMC_ERR_SERVICE_UNAVAILABLE), details};
    return blob_build(fields, RES_N, maxes, res);
}

/* The queued record at OFF never runs: failed 3004 with RES's texts (or
 * none when the store has no room for them). */
static int fail_unstarted(struct taskstore *ts, uint64_t off,
                          const struct blob *res)
{
    int rc = record_finish(ts, off, TASK_FAILED, res,
                           BMC_ERR_SERVICE_UNAVAILABLE, clock_now_real());
    if (rc == TS_FULL)
        rc = record_finish(ts, off, TASK_FAILED, NULL,
                           BMC_ERR_SERVICE_UNAVAILABLE, clock_now_real());
    return rc;
}

/* Fail every QUEUED child of the parent at POFF (OWNER > 0: only those
 * owned by OWNER) with RES, committing child by child; the count to *N. */
static int fail_queued_kids(struct taskstore *ts, uint64_t poff, pid_t owner,
                            const struct blob *res, long *n)
{
    uint64_t total = rec_ext(ts, at(ts, poff))->total;

    for (uint64_t i = 0; i < total; i++) {
        uint64_t off = kid_lookup(ts, poff, i);
        const struct ts_rec *k = off ? at(ts, off) : NULL;
        if (!k || k->status != TASK_QUEUED ||
            (owner > 0 && k->owner != (int32_t)owner))
            continue;
        int rc = fail_unstarted(ts, off, res);
        if (rc != TS_OK)
            return rc;
        journal_commit(ts);
        (*n)++;
    }
    return TS_OK;
}

static int claim_bulk_locked(struct taskstore *ts, const uint8_t bin[16],
                             pid_t from, pid_t owner, uint64_t owner_start)
{
    uint64_t poff = parent_lookup(ts, bin);
    struct ts_rec *p = poff ? at(ts, poff) : NULL;
    int rc;

    if (!p || !status_active(p->status) || p->owner != (int32_t)from)
        return TS_NOT_FOUND;
    /* the children first, the parent (the decision) last */
    uint64_t total = rec_ext(ts, p)->total;
    for (uint64_t i = 0; i < total; i++) {
        uint64_t off = kid_lookup(ts, poff, i);
        const struct ts_rec *k = off ? at(ts, off) : NULL;
        if (!k || k->status != TASK_QUEUED || k->owner != (int32_t)from)
            continue;
        if ((rc = record_move(ts, off, TASK_QUEUED, owner, owner_start)) !=
            TS_OK)
            return rc;
        journal_commit(ts);
    }
    return record_move(ts, poff, TASK_RUNNING, owner, owner_start);
}

enum ts_rc taskstore_claim_bulk(struct taskstore *ts, const char *parent_id,
                                pid_t from, pid_t owner)
{
    uint64_t owner_start = proc_start_time(owner);
    uint8_t bin[16];
    int rc;

    if (from <= 0 || owner <= 0)
        return TS_ERROR;
    if (taskid_decode(parent_id, bin))
        return TS_NOT_FOUND;
    if ((rc = ts_lock(ts)) != TS_OK)
        return rc;
    return ts_unlock(ts, claim_bulk_locked(ts, bin, from, owner, owner_start));
}

enum ts_rc taskstore_abandon_bulk(struct taskstore *ts, const char *parent_id,
                                  pid_t owner, const char *details)
{
    struct blob res = {0};
    uint8_t bin[16];
    long n = 0;
    int rc;

    if (owner <= 0 || taskid_decode(parent_id, bin))
        return TS_NOT_FOUND;
    if ((rc = unavailable_blob(details, &res)) != TS_OK)
        return rc;
    if ((rc = ts_lock(ts)) != TS_OK)
        goto out;
    uint64_t poff = parent_lookup(ts, bin);
    struct ts_rec *p = poff ? at(ts, poff) : NULL;
    if (!p || !status_active(p->status) || p->owner != (int32_t)owner) {
        rc = ts_unlock(ts, TS_NOT_FOUND);
        goto out;
    }
    /* the parent first (the decision), then every queued child (a claim
     * killed half-way left some the executor's: nobody runs them now) */
    rc = fail_unstarted(ts, poff, &res);
    if (rc == TS_OK) {
        journal_commit(ts);
        rc = fail_queued_kids(ts, poff, 0, &res, &n);
    }
    rc = ts_unlock(ts, rc);
out:
    free(res.buf);
    return rc;
}

enum ts_rc taskstore_cancel(struct taskstore *ts, const char *id,
                            const char *details, long *cancelled)
{
    struct blob res = {0};
    uint8_t bin[16];
    int rc;

    *cancelled = 0;
    if ((rc = id_classify(ts, id, bin)) != TS_OK)
        return rc;
    if ((rc = unavailable_blob(details, &res)) != TS_OK)
        return rc;
    if ((rc = ts_lock(ts)) != TS_OK)
        goto out;
    uint64_t off = record_lookup(ts, bin);
    const struct ts_rec *r = off ? at(ts, off) : NULL;
    if (!r)
        rc = TS_NOT_FOUND;
    else if (is_parent(ts, r))
        rc = fail_queued_kids(ts, off, 0, &res, cancelled);
    else if (r->status == TASK_QUEUED &&
             (rc = fail_unstarted(ts, off, &res)) == TS_OK)
        *cancelled = 1;
    rc = ts_unlock(ts, rc);
out:
    free(res.buf);
    return rc;
}

enum ts_rc taskstore_callback_next(struct taskstore *ts, double now,
                                   struct task_callback_due *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = ts_lock(ts)) != TS_OK)
        return rc;
    uint64_t eoff = ts->h->cb_head;
    const struct ts_ext *e = eoff ? at(ts, eoff) : NULL;
    const struct ts_rec *r = e ? at(ts, e->h.link) : NULL;
    const char *url = r ? meta_field(ts, r, META_CALLBACK_URL) : NULL;

    if (!e || e->cb_next_at > now) {
        rc = TS_NOT_FOUND;
    } else if (!url || r->ext != (uint32_t)(eoff >> 4)) {
        rc = TS_ERROR; /* a list entry without its task: never expected */
    } else {
        taskid_format(r->id, out->id);
        snprintf(out->url, sizeof(out->url), "%s", url);
        out->attempts = (int)e->cb_attempts;
        taskid_format(e->delivery_id, out->delivery_id);
        out->ended_at = r->completed_at;
    }
    pthread_mutex_unlock(&ts->h->mutex); /* read only */
    return rc;
}

/* LAST_ERROR into DST (LEN bytes with its NUL), cut at a UTF-8 character
 * boundary. */
static void copy_utf8_cut(char *dst, size_t len, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memset(dst, 0, len);
    if (n)
        memcpy(dst, src, n);
}

/* The attempt's outcome into the extension at EOFF (journaled): off the
 * list, state, attempts + 1, next time, error; back on the list when the
 * callback stays pending. */
static int cb_record(struct taskstore *ts, uint64_t eoff,
                     enum callback_state state, double next_at,
                     const char *last_error)
{
    struct ts_ext *e = at(ts, eoff);

    if (cb_listed(ts, eoff) && cb_unlink(ts, eoff) != TS_OK)
        return TS_ERROR;
    if (ext_save(ts, eoff) ||
        jsave(ts, eoff + offsetof(struct ts_ext, last_error),
              sizeof(e->last_error)))
        return TS_ERROR;
    e->cb_state = (uint32_t)state;
    e->cb_attempts++;
    e->cb_next_at = next_at;
    copy_utf8_cut(e->last_error, sizeof(e->last_error), last_error);
    ext_seal(e);
    return state == CB_PENDING ? cb_insert(ts, eoff) : TS_OK;
}

enum ts_rc taskstore_callback_record(struct taskstore *ts, const char *id,
                                     enum callback_state state, double next_at,
                                     const char *last_error)
{
    uint8_t bin[16];
    int rc;

    if (state != CB_PENDING && state != CB_DELIVERED && state != CB_FAILED)
        return TS_ERROR;
    if ((rc = id_classify(ts, id, bin)) != TS_OK)
        return rc;
    if ((rc = ts_lock(ts)) != TS_OK)
        return rc;
    uint64_t off = record_lookup(ts, bin);
    const struct ts_rec *r = off ? at(ts, off) : NULL;
    struct ts_ext *e = r ? rec_ext(ts, r) : NULL;

    if (!e || e->cb_state != CB_PENDING || status_active(r->status))
        rc = TS_NOT_FOUND;
    else
        rc = cb_record(ts, (uint64_t)r->ext << 4, state, next_at, last_error);
    return ts_unlock(ts, rc);
}
