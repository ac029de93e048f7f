/* proctable.h - which of the service's processes are alive, for /health.
 *
 * One small anonymous MAP_SHARED mapping made by the master before it forks
 * (proctable_init), so every child inherits it: the master's pid, whether
 * it is draining, and one slot per child (its kind and pid, 0 while the
 * master has not respawned it, and since when it has been missing). Only
 * the master writes; readers (the light pool's /health) read single words,
 * no lock. Liveness is asked of the kernel, never by signal: a pidfd per
 * child, kept open by each reader and polled at once (readable once the
 * child has exited: a zombie is dead, its parent has not reaped it, so it
 * is not coming back on its own), and the master's /proc/PID/stat, kept
 * open and read again, for whether it is stopped.
 *
 * Without proctable_init (tools, unit tests) proctable_check reports
 * "unknown" (known = false) and /health judges the store alone.
 * Owns: the mapping (never unmapped: it lives as long as the process) and,
 * in each reader, its pidfds and the master's stat descriptor (re-made in
 * a forked child, per slot when the slot's pid changes). */
#ifndef BMC_PROCTABLE_H
#define BMC_PROCTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum proctable_kind {
    PROCTABLE_BMC_WORKER,
    PROCTABLE_LIGHT_WORKER,
    PROCTABLE_EXECUTOR
};

/* A missing child that a running master has not brought back within this
 * many seconds is "not coming back" (the respawn backoff is 1 s). */
#define PROCTABLE_RESPAWN_GRACE_S 5.0

struct proctable_report {
    bool known;          /* proctable_init was called in this service */
    bool master_running; /* alive and not stopped (it can respawn) */
    bool draining;       /* the master is stopping the service */
    bool executor_alive;
    /* Not alive but coming back: the master runs, and the child is a
     * zombie it is about to reap, or was reaped less than
     * PROCTABLE_RESPAWN_GRACE_S ago (a recycled worker, a crash). */
    bool executor_returning;
    int bmc_workers_alive;
    int bmc_workers_returning;
    int light_workers_alive;
};

/* In the master, before the first fork: NSLOTS children. 0 or -1. */
int proctable_init(int nslots);

/* In the master: slot SLOT now holds PID (0: the child was reaped). */
void proctable_set(int slot, enum proctable_kind kind, pid_t pid);

/* In the master: the service is draining (graceful stop). */
void proctable_set_draining(void);

/* Anywhere: who is alive now. */
void proctable_check(struct proctable_report *r);

/* Start time of PID in clock ticks since boot (/proc/PID/stat field 22)
 * and its state letter in *STATE (may be NULL); 0 when /proc cannot tell
 * (no such process). */
uint64_t proctable_stat(pid_t pid, char *state);

#endif
