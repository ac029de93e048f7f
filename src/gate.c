/* gate.c - the per-BMC gate (see gate.h). */
#include "autoconfig.h"
#include "gate.h"

#include "proctable.h"
#include "shmutex.h"

#include "clock.h"
#include "errors.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GATE_MAGIC 0x47415445u /* "GATE" */
/* longest futex sleep: bounds dead-holder notice */
#define GATE_SLICE_S       0.25
#define GATE_MAX_ENTRIES   (1 << 20)
#define GATE_SPARE_WAITERS 1024 /* waiter records beyond one per entry */
#define GATE_SWEEP_PROCS   512  /* distinct processes checked per sweep */
#define NONE               (-1)

/* One slot in flight. pid is written last when taken, first when freed:
 * a record is either whole or free whatever instruction its writer died at. */
struct gate_holder {
    int32_t pid; /* 0 = free */
    uint32_t token;
    uint64_t pstart; /* the holder's start time (/proc/PID/stat field 22) */
    uint8_t exclusive;
};

/* One BMC. Fields marked "derived" are rebuilt by gate_repair. */
struct gate_entry {
    uint32_t seq; /* futex word: bumped on every change of this entry */
    uint32_t hash;
    int32_t next;    /* hash chain (derived) */
    int32_t head;    /* waiters, best first (derived) */
    int32_t holding; /* holders in use (derived) */
    int32_t waiting; /* waiters queued (derived) */
    uint8_t used;
    uint8_t excl_held; /* an exclusive holder is in (derived) */
    uint8_t protocol;
    int32_t port;
    char ip[BMC_IP_MAX];
    struct gate_holder holders[GATE_MAX_SLOTS];
};

/* A caller waiting for a slot. `used` is written last when queued and
 * cleared first when removed; the list links are derived. */
struct gate_waiter {
    uint8_t used;
    uint8_t exclusive;
    int32_t entry;
    int32_t next;
    int32_t pid;
    uint64_t pstart;
    double prio;    /* when its call first came (monotonic): smaller first */
    uint64_t order; /* arrival counter: ties */
};

struct gate_shm {
    uint32_t magic;
    int32_t max_per_bmc;
    int32_t nentries, nwaiters, nbuckets;
    int32_t entries_used; /* entries handed out so far (grows to nentries) */
    int32_t hand;         /* reuse cursor over idle entries */
    int32_t waiter_hint;  /* where the search for a free waiter starts */
    uint32_t next_token;
    uint64_t next_order;
    /* counters read lock-free by gate_stats (atomic, relaxed) */
    long slots_in_use, waiting, bmcs_busy;
    unsigned long waits_total, timeouts_total, reclaimed_total, bypassed_total;
    _Alignas(64) pthread_mutex_t mutex;
};

struct gate_map {
    struct gate_shm *h;
    struct gate_entry *entries;
    struct gate_waiter *waiters;
    int32_t *buckets;
    size_t bytes;
};

static struct gate_map gm;

#define CNT_ADD(field, n)                                                     \
    __atomic_fetch_add(&gm.h->field, (n), __ATOMIC_RELAXED)
#define CNT_GET(field) __atomic_load_n(&gm.h->field, __ATOMIC_RELAXED)

/* ---- processes ---------------------------------------------------------- */

/* This process's start time, read once per thread and process. */
static uint64_t self_start_time(void)
{
    static __thread pid_t pid;
    static __thread uint64_t start;

    if (pid != getpid()) {
        pid = getpid();
        start = proctable_stat(pid, NULL);
    }
    return start;
}

/* False only when PID is surely gone: no such process, a zombie, or a
 * different process that reuses the pid. */
static bool proc_alive(pid_t pid, uint64_t pstart)
{
    char state = 0;
    uint64_t now;

    if (pid <= 0)
        return false;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    now = proctable_stat(pid, &state);
    if (!now) /* /proc hidden or the process just went: kill() decides */
        return kill(pid, 0) == 0 || errno == EPERM;
    if (state == 'Z' || state == 'X')
        return false;
    return !pstart || now == pstart;
}

/* ---- futex -------------------------------------------------------------- */

static void futex_wait(uint32_t *word, uint32_t val, double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    (void)syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
    (void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- keys and the table ------------------------------------------------- */

/* IP in canonical text (so "::1" and "0::1" are one BMC, and an
 * IPv4-mapped "::ffff:10.0.0.1" is 10.0.0.1), else as given. */
static void key_norm(const char *ip, char out[BMC_IP_MAX])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    unsigned char a[16];

    if (inet_pton(AF_INET, ip, a) == 1 &&
        inet_ntop(AF_INET, a, out, BMC_IP_MAX))
        return;
    if (inet_pton(AF_INET6, ip, a) == 1 && !memcmp(a, mapped, 12) &&
        inet_ntop(AF_INET, a + 12, out, BMC_IP_MAX))
        return;
    if (inet_pton(AF_INET6, ip, a) == 1 &&
        inet_ntop(AF_INET6, a, out, BMC_IP_MAX))
        return;
    snprintf(out, BMC_IP_MAX, "%s", ip);
}

static uint32_t key_hash(const char *ip, int port, int protocol)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)ip; *p; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ (uint32_t)port) * 16777619u;
    return (h ^ (uint32_t)protocol) * 16777619u;
}

static int32_t *bucket_of(uint32_t hash)
{
    return &gm.buckets[hash & (uint32_t)(gm.h->nbuckets - 1)];
}

static bool entry_busy(const struct gate_entry *e)
{
    return e->holding > 0 || e->waiting > 0;
}

/* Bump E's futex word; true when someone sleeps on it (wake after unlock). */
static bool entry_changed(struct gate_entry *e)
{
    __atomic_fetch_add(&e->seq, 1, __ATOMIC_RELEASE);
    return e->waiting > 0;
}

/* Keep bmcs_busy right around a change of E that began when E was WAS. */
static void entry_account(const struct gate_entry *e, bool was)
{
    bool is = entry_busy(e);

    if (was != is)
        CNT_ADD(bmcs_busy, is ? 1 : -1);
}

static void chain_unlink(int ei)
{
    struct gate_entry *e = &gm.entries[ei];
    int32_t *link = bucket_of(e->hash);

    while (*link != NONE && *link != ei)
        link = &gm.entries[*link].next;
    if (*link == ei)
        *link = e->next;
    e->next = NONE;
}

static int entry_find(const char *ip, int port, int protocol, uint32_t hash)
{
    for (int32_t i = *bucket_of(hash); i != NONE; i = gm.entries[i].next) {
        const struct gate_entry *e = &gm.entries[i];
        if (e->used && e->hash == hash && e->port == port &&
            e->protocol == protocol && !strcmp(e->ip, ip))
            return i;
    }
    return NONE;
}

/* An entry for a new BMC: a never used one, else the next idle one after
 * the hand. NONE when every entry is busy. */
static int entry_claim(void)
{
    struct gate_shm *h = gm.h;

    if (h->entries_used < h->nentries)
        return h->entries_used++;
    for (int32_t n = 0; n < h->nentries; n++) {
        int32_t i = h->hand;
        h->hand = (h->hand + 1) % h->nentries;
        if (!entry_busy(&gm.entries[i])) {
            chain_unlink(i);
            return i;
        }
    }
    return NONE;
}

static int entry_get(const char *ip, int port, int protocol, uint32_t hash)
{
    int ei = entry_find(ip, port, protocol, hash);
    struct gate_entry *e;

    if (ei != NONE || (ei = entry_claim()) == NONE)
        return ei;
    e = &gm.entries[ei];
    e->used = 0; /* the key is rewritten below: never half a key in use */
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    e->port = port;
    e->protocol = (uint8_t)protocol;
    e->hash = hash;
    e->head = NONE;
    e->holding = e->waiting = 0;
    e->excl_held = 0;
    e->used = 1;
    e->next = *bucket_of(hash);
    *bucket_of(hash) = ei;
    return ei;
}

/* ---- holders and waiters ------------------------------------------------ */

static bool entry_has_room(const struct gate_entry *e, bool exclusive)
{
    if (e->excl_held)
        return false;
    return exclusive ? e->holding == 0 : e->holding < gm.h->max_per_bmc;
}

static bool waiter_before(const struct gate_waiter *a,
                          const struct gate_waiter *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->order < b->order);
}

/* Link waiter WI into its entry's list, best first. */
static void queue_link(struct gate_entry *e, int32_t wi)
{
    struct gate_waiter *w = &gm.waiters[wi];
    int32_t *link = &e->head;

    while (*link != NONE && !waiter_before(w, &gm.waiters[*link]))
        link = &gm.waiters[*link].next;
    w->next = *link;
    *link = wi;
    e->waiting++;
}

static void queue_unlink(struct gate_entry *e, int32_t wi)
{
    int32_t *link = &e->head;

    while (*link != NONE && *link != wi)
        link = &gm.waiters[*link].next;
    if (*link == wi) {
        *link = gm.waiters[wi].next;
        e->waiting--;
    }
}

static int32_t waiter_add(int ei, bool exclusive, double prio, uint64_t pstart)
{
    struct gate_shm *h = gm.h;
    int32_t wi = NONE;

    for (int32_t n = 0; n < h->nwaiters && wi == NONE; n++) {
        int32_t i = (h->waiter_hint + n) % h->nwaiters;
        if (!gm.waiters[i].used)
            wi = i;
    }
    if (wi == NONE)
        return NONE;
    h->waiter_hint = (wi + 1) % h->nwaiters;
    struct gate_waiter *w = &gm.waiters[wi];
    w->exclusive = exclusive;
    w->entry = ei;
    w->pid = (int32_t)getpid();
    w->pstart = pstart;
    w->prio = prio;
    w->order = h->next_order++;
    w->used = 1;
    queue_link(&gm.entries[ei], wi);
    CNT_ADD(waiting, 1);
    return wi;
}

static void waiter_remove(int32_t wi)
{
    struct gate_waiter *w = &gm.waiters[wi];

    w->used = 0;
    queue_unlink(&gm.entries[w->entry], wi);
    CNT_ADD(waiting, -1);
}

/* Take a free holder record of E for this process; fills T. */
static void holder_take(int ei, bool exclusive, uint64_t pstart,
                        struct gate_ticket *t)
{
    struct gate_entry *e = &gm.entries[ei];

    for (int s = 0; s < GATE_MAX_SLOTS; s++) {
        struct gate_holder *ho = &e->holders[s];
        if (ho->pid)
            continue;
        ho->token = ++gm.h->next_token;
        ho->pstart = pstart;
        ho->exclusive = exclusive;
        ho->pid = (int32_t)getpid();
        e->holding++;
        e->excl_held = exclusive;
        CNT_ADD(slots_in_use, 1);
        t->entry = ei;
        t->slot = s;
        t->token = ho->token;
        return;
    }
}

static void holder_free(struct gate_entry *e, int s)
{
    struct gate_holder *ho = &e->holders[s];

    if (ho->exclusive)
        e->excl_held = 0;
    ho->pid = 0;
    e->holding--;
    CNT_ADD(slots_in_use, -1);
}

/* ---- the mutex ---------------------------------------------------------- */

/* Rebuild every derived field from the records (holders, used waiters,
 * used entries): whatever instruction a dead holder of the mutex stopped
 * at, the records are whole, so this yields a consistent table. */
static void gate_repair(void)
{
    struct gate_shm *h = gm.h;
    long slots = 0, waiting = 0, busy = 0;
    int32_t used =
        h->entries_used < h->nentries ? h->entries_used : h->nentries;

    for (int32_t b = 0; b < h->nbuckets; b++)
        gm.buckets[b] = NONE;
    for (int32_t i = 0; i < used; i++) { /* beyond: never claimed, zero */
        struct gate_entry *e = &gm.entries[i];
        e->head = e->next = NONE;
        e->holding = e->waiting = 0;
        e->excl_held = 0;
        if (!e->used)
            continue;
        for (int s = 0; s < GATE_MAX_SLOTS; s++) {
            if (!e->holders[s].pid)
                continue;
            e->holding++;
            e->excl_held |= e->holders[s].exclusive;
        }
        slots += e->holding;
        e->hash = key_hash(e->ip, e->port, e->protocol);
        e->next = *bucket_of(e->hash);
        *bucket_of(e->hash) = i;
    }
    for (int32_t i = 0; i < h->nwaiters; i++) {
        struct gate_waiter *w = &gm.waiters[i];
        if (!w->used)
            continue;
        if (w->entry < 0 || w->entry >= used || !gm.entries[w->entry].used) {
            w->used = 0;
            continue;
        }
        queue_link(&gm.entries[w->entry], i);
        waiting++;
    }
    for (int32_t i = 0; i < used; i++) {
        busy += entry_busy(&gm.entries[i]);
        entry_changed(&gm.entries[i]);
        futex_wake(&gm.entries[i].seq); /* rare: everyone looks again */
    }
    __atomic_store_n(&h->slots_in_use, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&h->waiting, waiting, __ATOMIC_RELAXED);
    __atomic_store_n(&h->bmcs_busy, busy, __ATOMIC_RELAXED);
}

/* 0 with the mutex held, or -1 when the gate cannot be used (callers then
 * go through ungated rather than fail a BMC call). */
static int gate_lock(void)
{
    int r = pthread_mutex_lock(&gm.h->mutex);

    if (r == 0)
        return 0;
    if (r == EOWNERDEAD) {
        gate_repair();
        pthread_mutex_consistent(&gm.h->mutex);
        log_warn("gate_recovered",
                 "reason=\"a process died holding the gate lock\"");
        return 0;
    }
    log_error("gate_lock_failed", "errno=%d", r);
    return -1;
}

static void gate_unlock(void)
{
    pthread_mutex_unlock(&gm.h->mutex);
}

int gate_test_lock(void)
{
    return gm.h ? gate_lock() : -1;
}

/* ---- dead processes ----------------------------------------------------- */

struct proc_id {
    pid_t pid;
    uint64_t pstart;
    bool dead;
};

static void procs_note(struct proc_id *p, int *n, pid_t pid, uint64_t pstart)
{
    if (pid == getpid())
        return;
    for (int i = 0; i < *n; i++)
        if (p[i].pid == pid && p[i].pstart == pstart)
            return;
    if (*n < GATE_SWEEP_PROCS)
        p[(*n)++] = (struct proc_id){pid, pstart, false};
}

static bool procs_dead(const struct proc_id *p, int n, pid_t pid,
                       uint64_t pstart)
{
    for (int i = 0; i < n; i++)
        if (p[i].dead && p[i].pid == pid && p[i].pstart == pstart)
            return true;
    return false;
}

/* Holders and waiters of entry ONLY (or of all entries when NONE). */
static void procs_collect(int only, struct proc_id *p, int *n)
{
    int32_t first = only == NONE ? 0 : only;
    int32_t last = only == NONE ? gm.h->entries_used : only + 1;

    for (int32_t i = first; i < last; i++) {
        const struct gate_entry *e = &gm.entries[i];
        for (int s = 0; e->holding && s < GATE_MAX_SLOTS; s++)
            if (e->holders[s].pid)
                procs_note(p, n, e->holders[s].pid, e->holders[s].pstart);
        for (int32_t w = e->head; w != NONE; w = gm.waiters[w].next)
            procs_note(p, n, gm.waiters[w].pid, gm.waiters[w].pstart);
    }
}

static void log_reclaimed(const struct gate_entry *e, pid_t pid,
                          const char *what)
{
    log_warn("gate_reclaimed", "bmc=%s port=%d protocol=%s pid=%d what=%s",
             e->ip, e->port, bmc_protocol_name(e->protocol), (int)pid, what);
}

/* Free what the dead processes in P hold or wait for on entry ONLY (or
 * all); the mutex is held. Returns how many records were freed. */
static int procs_release(int only, const struct proc_id *p, int n)
{
    int32_t first = only == NONE ? 0 : only;
    int32_t last = only == NONE ? gm.h->entries_used : only + 1;
    int freed = 0;

    for (int32_t i = first; i < last; i++) {
        struct gate_entry *e = &gm.entries[i];
        bool was = entry_busy(e), changed = false;
        for (int s = 0; e->holding && s < GATE_MAX_SLOTS; s++) {
            struct gate_holder *ho = &e->holders[s];
            if (ho->pid && procs_dead(p, n, ho->pid, ho->pstart)) {
                log_reclaimed(e, ho->pid, "slot");
                holder_free(e, s);
                changed = true;
                freed++;
            }
        }
        for (int32_t w = e->head, next; w != NONE; w = next) {
            next = gm.waiters[w].next;
            if (procs_dead(p, n, gm.waiters[w].pid, gm.waiters[w].pstart)) {
                log_reclaimed(e, gm.waiters[w].pid, "place");
                waiter_remove(w);
                changed = true;
                freed++;
            }
        }
        if (changed) {
            entry_account(e, was);
            entry_changed(e);
            futex_wake(&e->seq);
        }
    }
    if (freed)
        CNT_ADD(reclaimed_total, (unsigned long)freed);
    return freed;
}

/* Check the processes of entry ONLY (or all) outside the lock, then free
 * what the dead ones left. */
static int gate_sweep(int only)
{
    struct proc_id procs[GATE_SWEEP_PROCS];
    int n = 0, dead = 0, freed = 0;

    if (gate_lock())
        return 0;
    procs_collect(only, procs, &n);
    gate_unlock();
    for (int i = 0; i < n; i++) {
        procs[i].dead = !proc_alive(procs[i].pid, procs[i].pstart);
        dead += procs[i].dead;
    }
    if (!dead || gate_lock())
        return 0;
    freed = procs_release(only, procs, n);
    gate_unlock();
    return freed;
}

int gate_reap_dead(void)
{
    return gm.h ? gate_sweep(NONE) : 0;
}

/* ---- entering and leaving ----------------------------------------------- */

/* The place of this call in the queue: a thread that comes back for the
 * same BMC with the same deadline is the same call (its next request, or
 * a retry) and keeps the time it first came. */
static double call_prio(uint32_t hash, double deadline, double now)
{
    static __thread struct {
        bool set;
        uint32_t hash;
        double deadline, prio;
    } last;

    if (last.set && deadline > 0 && last.hash == hash &&
        last.deadline == deadline)
        return last.prio;
    last.set = true;
    last.hash = hash;
    last.deadline = deadline;
    last.prio = now;
    return now;
}

static void bypass(const char *why, const char *ip, int port)
{
    unsigned long n = CNT_ADD(bypassed_total, 1);

    if ((n & (n - 1)) == 0) /* 1st, 2nd, 4th, 8th...: a storm stays readable */
        log_warn("gate_bypassed", "bmc=%s port=%d reason=\"%s\" count=%lu", ip,
                 port, why, n + 1);
}

/* DETAILS for a caller whose deadline passed while it waited. */
static void fail_details(const struct gate_entry *e, int32_t wi, double waited,
                         char *details, size_t dlen)
{
    int ahead = 0;

    for (int32_t w = e->head; w != NONE && w != wi; w = gm.waiters[w].next)
        ahead++;
    snprintf(details, dlen,
             "waited %.1f s for a slot on %s%s%s:%d (%s): %d in flight%s, "
             "%d waiting ahead, BMC_MAX_PER_BMC=%d",
             waited, strchr(e->ip, ':') ? "[" : "", e->ip,
             strchr(e->ip, ':') ? "]" : "", e->port,
             bmc_protocol_name(e->protocol), e->holding,
             e->excl_held ? " (a power action)" : "", ahead,
             gm.h->max_per_bmc);
}

/* Sleep in the queue until waiter WI may take a slot or DEADLINE passes. */
static int wait_turn(int ei, int32_t wi, double deadline, double start,
                     struct gate_ticket *t, char *details, size_t dlen)
{
    struct gate_entry *e = &gm.entries[ei];
    struct gate_waiter *w = &gm.waiters[wi];
    double last_sweep = start;

    for (;;) {
        if (gate_lock())
            return 0; /* the gate broke under us: go through */
        if (!w->used || w->entry != ei || w->pid != (int32_t)getpid()) {
            gate_unlock(); /* our place was taken from us: never expected */
            log_error("gate_place_lost", "bmc=%s port=%d", e->ip, e->port);
            return 0;
        }
        double now = clock_now_mono();
        if (e->head == wi && entry_has_room(e, w->exclusive)) {
            uint64_t pstart = w->pstart;
            bool excl = w->exclusive;
            waiter_remove(wi);
            holder_take(ei, excl, pstart, t);
            bool wake = entry_changed(e);
            gate_unlock();
            if (wake)
                futex_wake(&e->seq);
            return 0;
        }
        if (deadline > 0 && now >= deadline) {
            bool was = entry_busy(e);
            fail_details(e, wi, now - start, details, dlen);
            waiter_remove(wi);
            entry_account(e, was);
            bool wake = entry_changed(e);
            CNT_ADD(timeouts_total, 1);
            gate_unlock();
            if (wake)
                futex_wake(&e->seq);
            return BMC_ERR_TIMEOUT;
        }
        uint32_t seq = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
        gate_unlock();
        if (now - last_sweep >= GATE_SWEEP_S) {
            last_sweep = now;
            gate_sweep(ei);
            continue;
        }
        double slice = GATE_SLICE_S;
        if (deadline > 0 && deadline - now < slice)
            slice = deadline - now;
        futex_wait(&e->seq, seq, slice);
    }
}

enum bmc_err gate_enter(const char *ip, int port, enum bmc_protocol protocol,
                        bool exclusive, double deadline, struct gate_ticket *t,
                        char *details, size_t dlen)
{
    char key[BMC_IP_MAX];
    uint32_t hash;
    double start = clock_now_mono(), prio;
    uint64_t pstart;
    int ei, rc = 0;
    int32_t wi;

    memset(t, 0, sizeof(*t));
    t->entry = NONE;
    if (dlen)
        details[0] = '\0';
    if (!gm.h)
        return 0;
    key_norm(ip, key);
    hash = key_hash(key, port, protocol);
    prio = call_prio(hash, deadline, start);
    pstart = self_start_time();
    if (gate_lock()) {
        bypass("the gate lock is unusable", key, port);
        return 0;
    }
    ei = entry_get(key, port, protocol, hash);
    if (ei == NONE) {
        gate_unlock();
        bypass("every gate entry is busy", key, port);
        return 0;
    }
    struct gate_entry *e = &gm.entries[ei];
    bool was = entry_busy(e);
    bool first = e->head == NONE || prio < gm.waiters[e->head].prio;
    if (first && entry_has_room(e, exclusive)) {
        holder_take(ei, exclusive, pstart, t);
        entry_account(e, was);
        gate_unlock();
        return 0;
    }
    wi = waiter_add(ei, exclusive, prio, pstart);
    entry_account(e, was);
    gate_unlock();
    if (wi == NONE) {
        bypass("every waiter record is in use", key, port);
        return 0;
    }
    CNT_ADD(waits_total, 1);
    rc = wait_turn(ei, wi, deadline, start, t, details, dlen);
    log_info("gate_waited",
             "bmc=%s port=%d protocol=%s exclusive=%s ms=%.1f outcome=%s", key,
             port, bmc_protocol_name(protocol), exclusive ? "true" : "false",
             (clock_now_mono() - start) * 1000.0, rc ? "timeout" : "slot");
    return rc;
}

void gate_leave(struct gate_ticket *t)
{
    struct gate_entry *e;
    bool wake = false;

    if (!gm.h || t->entry == NONE)
        goto out;
    e = &gm.entries[t->entry];
    if (gate_lock())
        goto out;
    struct gate_holder *ho = &e->holders[t->slot];
    if (ho->pid == (int32_t)getpid() && ho->token == t->token) {
        bool was = entry_busy(e);
        holder_free(e, t->slot);
        entry_account(e, was);
        wake = entry_changed(e);
    }
    gate_unlock();
    if (wake)
        futex_wake(&e->seq);
out:
    t->entry = NONE;
}

void gate_stats(struct gate_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!gm.h)
        return;
    st->max_per_bmc = gm.h->max_per_bmc;
    st->entries = gm.h->nentries;
    st->bmcs_busy = CNT_GET(bmcs_busy);
    st->slots_in_use = CNT_GET(slots_in_use);
    st->waiting = CNT_GET(waiting);
    st->waits_total = CNT_GET(waits_total);
    st->timeouts_total = CNT_GET(timeouts_total);
    st->reclaimed_total = CNT_GET(reclaimed_total);
    st->bypassed_total = CNT_GET(bypassed_total);
}

/* ---- set-up
 * ------------------------------------------------------------------ */

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

int gate_init(size_t entries, int max_per_bmc, char *err, size_t errlen)
{
    size_t nb = 1, off_e, off_w, off_b, bytes;
    size_t nw;
    void *base;

    gate_shutdown();
    if (!entries)
        entries = GATE_DEFAULT_ENTRIES;
    if (entries > GATE_MAX_ENTRIES || max_per_bmc < 1 ||
        max_per_bmc > GATE_MAX_SLOTS) {
        snprintf(err, errlen,
                 "gate: %zu entries / %d slots per BMC out of range", entries,
                 max_per_bmc);
        return -1;
    }
    nw = entries + GATE_SPARE_WAITERS;
    while (nb < 2 * entries)
        nb <<= 1;
    off_e = align64(sizeof(struct gate_shm));
    off_w = align64(off_e + entries * sizeof(struct gate_entry));
    off_b = align64(off_w + nw * sizeof(struct gate_waiter));
    bytes = off_b + nb * sizeof(int32_t);
    base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "gate: cannot map %zu bytes: %s", bytes,
                 strerror(errno));
        return -1;
    }
    gm = (struct gate_map){base, (void *)((char *)base + off_e),
                           (void *)((char *)base + off_w),
                           (void *)((char *)base + off_b), bytes};
    gm.h->magic = GATE_MAGIC;
    gm.h->max_per_bmc = max_per_bmc;
    gm.h->nentries = (int32_t)entries;
    gm.h->nwaiters = (int32_t)nw;
    gm.h->nbuckets = (int32_t)nb;
    for (size_t b = 0; b < nb; b++)
        gm.buckets[b] = NONE;
    /* Entries stay untouched (zero pages, not resident) until entry_get
     * claims them and sets every link: an idle service does not hold the
     * whole table in memory (issue 24). */
    if (shmutex_init(&gm.h->mutex)) {
        snprintf(err, errlen,
                 "gate: cannot initialise the process-shared mutex");
        gate_shutdown();
        return -1;
    }
    return 0;
}

void gate_shutdown(void)
{
    if (gm.h)
        munmap(gm.h, gm.bytes);
    memset(&gm, 0, sizeof(gm));
}
