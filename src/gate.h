/* gate.h - the per-BMC gate: at most bmc_cfg.max_per_bmc exchanges (one
 * Redfish request, one ipmitool run) in flight per BMC (address, port,
 * protocol) across every process and thread of the service, and an
 * exclusive exchange (a power action) alone on its BMC.
 *
 * Shared state: one anonymous MAP_SHARED mapping made by the master before
 * it forks (gate_init), so every worker and the executor inherit it at the
 * same address. No file: nothing in it outlives the processes that use it
 * (a restart starts with an empty gate), and an anonymous mapping cannot be
 * opened or left behind by anyone else. Layout: header (process-shared
 * robust mutex, counters), a table of BMC entries (hash chains, bounded;
 * idle entries are reused round-robin: an idle entry holds no state, so
 * reusing it loses nothing), and a pool of waiter records.
 *
 * Rules: the mutex is held only for table updates, never during I/O with
 * a BMC or /proc. A holder that died inside the mutex is repaired from
 * (EOWNERDEAD -> every derived field rebuilt -> pthread_mutex_consistent).
 * Each holder and waiter records its pid and the process start time
 * (/proc/PID/stat), so a dead process's slots are reclaimed (by waiters
 * every GATE_SWEEP_S and by the master's tick) even after pid reuse.
 * Waiters sleep on a futex word per entry (bumped on every change of the
 * entry), with a bounded slice so they also notice dead holders.
 *
 * Order: first come, first served per BMC. "Come" is the call, not the
 * exchange: a thread that re-enters the gate for the same BMC with the
 * same deadline (the next request of one operation, or a retry) keeps the
 * place its call first took, so earlier calls finish first instead of all
 * calls finishing together at the end.
 *
 * Without gate_init (tools, unit tests of other modules) the gate is open:
 * gate_enter returns 0 at once.
 * Owns: the mapping (gate_shutdown unmaps it, tests only). */
#ifndef BMC_GATE_H
#define BMC_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "backend.h"

#define GATE_DEFAULT_ENTRIES 4096 /* BMCs tracked at once */
#define GATE_MAX_SLOTS       16   /* upper bound of BMC_MAX_PER_BMC */
#define GATE_SWEEP_S         0.5 /* waiters look for dead holders this often */

/* A slot taken by gate_enter; give it back with gate_leave. */
struct gate_ticket {
    int entry; /* -1: no slot held (gate open) */
    int slot;
    unsigned token;
};

struct gate_stats {
    int max_per_bmc;
    long entries;                  /* table size */
    long bmcs_busy;                /* entries with a holder or a waiter */
    long slots_in_use;             /* exchanges in flight now */
    long waiting;                  /* callers waiting for a slot now */
    unsigned long waits_total;     /* callers that had to wait */
    unsigned long timeouts_total;  /* callers whose deadline passed waiting */
    unsigned long reclaimed_total; /* slots/places of dead processes freed */
    unsigned long bypassed_total;  /* table full: let through ungated */
};

/* Master, before any fork: map the gate with ENTRIES BMC entries (0 =
 * GATE_DEFAULT_ENTRIES) and MAX_PER_BMC slots each (1..GATE_MAX_SLOTS).
 * 0, or -1 with ERR filled. */
int gate_init(size_t entries, int max_per_bmc, char *err, size_t errlen);

/* Unmap the gate (tests; never while another process uses it). */
void gate_shutdown(void);

/* Take a slot on BMC (IP, PORT, PROTOCOL); EXCLUSIVE waits until the BMC
 * is idle and keeps everyone else out. Waits first come, first served
 * until DEADLINE (CLOCK_MONOTONIC seconds; <= 0: no deadline). 0 with *T
 * filled, or BMC_ERR_TIMEOUT (3002) with DETAILS saying how long it
 * waited for which BMC. A wait is logged (event=gate_waited ms=...). */
enum bmc_err gate_enter(const char *ip, int port, enum bmc_protocol protocol,
                        bool exclusive, double deadline, struct gate_ticket *t,
                        char *details, size_t dlen);

/* Give back the slot of T (no-op for an open ticket); T is reset. */
void gate_leave(struct gate_ticket *t);

/* Current counters (lock-free snapshot; never blocks). */
void gate_stats(struct gate_stats *st);

/* Free the slots and places of dead processes (master timer, ~1 s).
 * Returns how many were freed. */
int gate_reap_dead(void);

/* Tests only: take the gate's lock and keep it (a holder that dies). */
int gate_test_lock(void);

#endif
