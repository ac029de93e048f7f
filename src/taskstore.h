/* taskstore.h - the task store: one file that every daemon process maps
 * (MAP_SHARED, inherited through fork), guarded by a process-shared robust
 * mutex. The only module that touches that file, mmap or the mutex.
 *
 * File format (version TASKSTORE_FORMAT_VERSION, little-endian, 0600):
 *   [0, 4096)        header: magic "BMCTASKS", format version, layout sizes
 *                    (incl. sizeof(pthread_mutex_t)) and a checksum over
 *                    them; the mutex; counters, list heads, free lists.
 *   [4096, +256 KiB) undo journal: before any byte of live state changes,
 *                    its old bytes are appended here; the operation ends by
 *                    clearing the journal. A holder killed at any
 *                    instruction is repaired by rolling the journal back
 *                    (EOWNERDEAD, or at open), so each operation is all or
 *                    nothing and no record is ever torn.
 *   [arena, end)     blocks with a 16-byte header {tag, size class, link}:
 *                    task records (128 bytes, sealed by a checksum, as
 *                    are their blobs), variable-length blobs (task
 *                    strings incl. parent id and callback url; result +
 *                    error texts), extensions (a parent's progress
 *                    counters, a task's callback state), a parent's child
 *                    id list, the id index (open addressing, linear
 *                    probing, O(1) lookup), free blocks on per-size-class
 *                    free lists (reused after sweeps).
 * Version 3 added the extensions and child lists (a version 2 file is a
 * version 3 file without them: it is upgraded in place at open).
 * The file grows inside one fixed mapping (fallocate/ftruncate), up to
 * opts.max_bytes (BMC_STORE_MAX_BYTES, at most 64 GiB); beyond it creates
 * answer TS_FULL. A result above TASKSTORE_MAX_RESULT_BYTES (1 MiB) or a
 * text above TASKSTORE_MAX_TEXT_BYTES answers TS_TOO_LARGE: never truncated.
 * No password field exists: nothing secret can be stored.
 * Owns: the mapping, the file descriptor and its flock. */
#ifndef BMC_TASKSTORE_H
#define BMC_TASKSTORE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "errors.h"
#include "taskid.h"

#define TASKSTORE_FORMAT_VERSION   3
#define TASKSTORE_MAX_RESULT_BYTES (1024 * 1024)
#define TASKSTORE_MAX_TEXT_BYTES   (16 * 1024)
#define TASKSTORE_RESTART_MESSAGE                                             \
    "The service restarted before the task finished"

struct taskstore; /* opaque */

enum task_status { TASK_QUEUED, TASK_RUNNING, TASK_SUCCESS, TASK_FAILED };

enum ts_rc {
    TS_OK = 0,
    TS_NOT_FOUND,
    TS_EXPIRED,
    TS_BUSY,      /* lock not had within opts.lock_timeout_s -> 503 */
    TS_FULL,      /* BMC_STORE_MAX_BYTES reached */
    TS_TOO_LARGE, /* result/text over the documented maximum */
    TS_ERROR
};

struct taskstore_opts {
    long long max_bytes;   /* file ceiling; <= 0: 4 GiB */
    long max_tasks;        /* > 0: evict the oldest finished task beyond it */
    int retention_days;    /* ids older than this are expired; <= 0: 7 */
    int node_id;           /* byte 9 of every id (0-255) */
    double lock_timeout_s; /* bound on waiting for the mutex; <= 0: 2 s */
};

#define TASKSTORE_MAX_CHILDREN 10000
#define TASKSTORE_MAX_URL      2048
#define TASKSTORE_MAX_CB_ERROR 255 /* last_error kept, cut at a UTF-8 char */

struct task_new {
    const char *method, *ip, *protocol, *request_id; /* NULL = absent */
    enum task_status status;                         /* QUEUED or RUNNING */
    pid_t owner;                                     /* process that runs it */
    const char *requested_by; /* the service token's name; NULL: none */
    const char *parent_id;    /* set by create_bulk for children; else NULL */
    const char *callback_url; /* NULL: no callback (<= TASKSTORE_MAX_URL) */
};

struct task_child {          /* one target of a bulk submission */
    struct task_new t;       /* t.status QUEUED (to run) or FAILED */
    enum bmc_err error_code; /* FAILED: its code (e.g. 4001) */
    const char *error_message, *details;
};

struct task_progress {
    long total, queued, running, success, failed;
};

enum callback_state { CB_NONE, CB_PENDING, CB_DELIVERED, CB_FAILED };

struct task_callback_due {
    char id[TASK_ID_LEN + 1];
    char url[TASKSTORE_MAX_URL + 1];
    int attempts;
    char delivery_id[TASK_ID_LEN + 1]; /* fixed per task: the receiver's
                                          de-duplication key */
    double ended_at; /* when the task ended (the retry budget's start) */
};

struct taskstore_stats {
    long long file_bytes, max_bytes;
    long tasks, running, queued;
};

/* Open or create PATH (master, before any fork): 0600 file, parent made
 * 0700 if missing, exclusive flock, header validated, journal rolled back,
 * mutex re-initialised, tasks left queued/running failed with
 * TASKSTORE_RESTART_MESSAGE. A damaged or foreign file (bad header, a
 * journal or record that does not check, e.g. torn pages after a host
 * crash) is never refused and never wiped: it is renamed
 * PATH.damaged-<unix time>, and a fresh store is made at PATH holding every
 * intact record found in it (sealed record and blobs), with the counts
 * logged (event taskstore_salvaged). Refused only when another process
 * holds the store or the file cannot be read or replaced (ERR says so).
 * *OUT is the caller's (taskstore_close). */
enum ts_rc taskstore_open(const char *path, const struct taskstore_opts *opts,
                          struct taskstore **out, char *err, size_t errlen);

/* Unmap, close (drops the flock when no child shares the fd) and free. */
void taskstore_close(struct taskstore *ts);

/* Record a new task (status QUEUED or RUNNING, started now); its id into
 * ID_OUT. With t->callback_url its callback is PENDING (attempts 0, due
 * when the task ends). t->parent_id must be NULL (children come only from
 * taskstore_create_bulk). TS_FULL / TS_BUSY / TS_TOO_LARGE / TS_ERROR. */
enum ts_rc taskstore_create(struct taskstore *ts, const struct task_new *t,
                            char id_out[TASK_ID_LEN + 1]);

/* As taskstore_create with started_at = STARTED_AT (tests and tools). */
enum ts_rc taskstore_create_at(struct taskstore *ts, const struct task_new *t,
                               double started_at,
                               char id_out[TASK_ID_LEN + 1]);

/* QUEUED -> RUNNING under OWNER (started_at set now). TS_NOT_FOUND if
 * unknown, finished or a parent. */
enum ts_rc taskstore_mark_running(struct taskstore *ts, const char *id,
                                  pid_t owner);

/* The async hand-off, a two-party commit (DESIGN.md "At most once"): the
 * submitting worker creates the task QUEUED under its own pid; the executor
 * takes it with taskstore_claim (QUEUED and owned by FROM -> STATUS, QUEUED
 * or RUNNING, under OWNER); a worker that must answer 503 first calls
 * taskstore_abandon (QUEUED and owned by OWNER -> FAILED, 3004, DETAILS).
 * Each answers TS_NOT_FOUND when the other came first: exactly one wins. */
enum ts_rc taskstore_claim(struct taskstore *ts, const char *id, pid_t from,
                           enum task_status status, pid_t owner);
enum ts_rc taskstore_abandon(struct taskstore *ts, const char *id, pid_t owner,
                             const char *details);

/* Finish task ID as FINAL (SUCCESS/FAILED) with RESULT_JSON (compact
 * {success,message,data}, or NULL), ERROR_CODE (0 = none), ERROR_MESSAGE,
 * DETAILS (NULL = absent). TS_TOO_LARGE leaves the task unfinished: the
 * caller then finishes it with an explicit error. TS_NOT_FOUND if unknown
 * or already finished. */
enum ts_rc taskstore_finish(struct taskstore *ts, const char *id,
                            enum task_status final, const char *result_json,
                            enum bmc_err error_code, const char *error_message,
                            const char *details);

/* The task as a new json object (caller puts it): status, method, ip,
 * protocol, request_id, requested_by (null when none), submitted_at,
 * started_at (null until it runs), completed_at, duration, result,
 * error_code, error_message, details (only the keys that apply); a child's
 * `parent` (its parent's id); a parent's `progress` {total, queued,
 * running, success, failed} (its counters: O(1), no walk over children);
 * with a callback_url `callback` {url, state "pending"|"delivered"|
 * "failed", attempts, last_error (or null), delivery_id}.
 * TS_NOT_FOUND (also malformed/non-v7/future ids), TS_EXPIRED (id time
 * older than retention), TS_BUSY, TS_ERROR. */
enum ts_rc taskstore_get(struct taskstore *ts, const char *id,
                         json_object **task_out);

/* ---- fleet operations (issue 22) --------------------------------------
 * Rules every operation keeps: whenever a child leaves QUEUED or RUNNING
 * (mark_running, finish, abandon(_bulk), cancel, fail_owned_by,
 * fail_dead_owners, the restart failing at open, salvage) its parent's
 * counters change in the same journaled step, and the child that ends last
 * ends the parent: SUCCESS when every child succeeded, else FAILED 3001
 * "Method execution failed", details "N of M children failed". A parent is
 * never failed by itself by fail_owned_by / fail_dead_owners / the restart
 * while it has queued or running children: they end it. Operations over
 * many children (claim_bulk, abandon_bulk, cancel, the fail sweeps) hold
 * the lock throughout and commit child by child: a process killed inside
 * one leaves a consistent prefix done (counters equal the children), never
 * a torn child. */

/* The parent (P: method, request_id, requested_by, callback_url; status
 * RUNNING, owner = the submitter) and its N children (1..10,000), created
 * in ONE locked operation: all of them exist or none (a crash at any
 * instruction leaves none after repair). Children created FAILED count as
 * failed at once; if none is QUEUED the parent ends at once (as above).
 * Children have no callback (KIDS[i].t.callback_url and parent_id are
 * ignored). Ids to PARENT_ID and CHILD_IDS[0..N-1] (in order). TS_ERROR
 * for N out of range or a child status other than QUEUED/FAILED. */
enum ts_rc taskstore_create_bulk(struct taskstore *ts,
                                 const struct task_new *p,
                                 const struct task_child *kids, size_t n,
                                 char parent_id[TASK_ID_LEN + 1],
                                 char (*child_ids)[TASK_ID_LEN + 1]);

/* The bulk hand-off (two-party commit, as taskstore_claim/abandon): the
 * executor takes the parent and every child still QUEUED and owned by FROM
 * (they become owned by OWNER, still QUEUED); the worker that must answer
 * 503 instead fails the parent and every queued child with 3004 DETAILS.
 * Exactly one of the two wins (TS_NOT_FOUND for the loser). The decision
 * is the parent's owner: claim moves the children first and the parent
 * last, abandon fails the parent first; a claim killed half-way leaves the
 * parent the worker's, whose abandon then fails every queued child. */
enum ts_rc taskstore_claim_bulk(struct taskstore *ts, const char *parent_id,
                                pid_t from, pid_t owner);
enum ts_rc taskstore_abandon_bulk(struct taskstore *ts, const char *parent_id,
                                  pid_t owner, const char *details);

/* Counters of a parent (O(1)); TS_NOT_FOUND when ID is not a parent. */
enum ts_rc taskstore_progress(struct taskstore *ts, const char *id,
                              struct task_progress *out);

/* Child ids of parent ID from OFFSET, at most MAX, into IDS; count to *N,
 * total to *TOTAL (OFFSET >= total: *N = 0). TS_NOT_FOUND when ID is not a
 * parent (TS_EXPIRED as taskstore_get). */
enum ts_rc taskstore_children(struct taskstore *ts, const char *id,
                              size_t offset, size_t max,
                              char (*ids)[TASK_ID_LEN + 1], size_t *n,
                              size_t *total);

/* Cancel: a parent's QUEUED children (or the task itself if it is a single
 * QUEUED task) -> FAILED 3004 DETAILS, in one locked operation; the count
 * to *CANCELLED (0 for a running or finished task). TS_NOT_FOUND for an
 * unknown id. */
enum ts_rc taskstore_cancel(struct taskstore *ts, const char *id,
                            const char *details, long *cancelled);

/* ---- callback state (the store keeps it, the executor delivers) ------ */

/* The oldest task whose callback is PENDING, whose task has ended, and
 * whose next attempt time <= NOW (unix seconds): TS_OK and *OUT, or
 * TS_NOT_FOUND when none is due. O(1) amortised: ended tasks with a
 * pending callback are on a list in the store ordered by next attempt
 * time. It does not lease: one delivery thread calls it. */
enum ts_rc taskstore_callback_next(struct taskstore *ts, double now,
                                   struct task_callback_due *out);

/* Record one delivery attempt of task ID's callback: DELIVERED, or still
 * PENDING with the next attempt at NEXT_AT, or FAILED (budget spent);
 * LAST_ERROR (NULL: none) kept for the task JSON; attempts + 1.
 * TS_NOT_FOUND when ID has no callback still pending. */
enum ts_rc taskstore_callback_record(struct taskstore *ts, const char *id,
                                     enum callback_state state, double next_at,
                                     const char *last_error);

/* Number of tasks RUNNING now (O(1)). */
enum ts_rc taskstore_count_running(struct taskstore *ts, long *n);

/* Fail every queued/running task owned by PID (a worker or the executor
 * died): error 3001 with MESSAGE as details. */
enum ts_rc taskstore_fail_owned_by(struct taskstore *ts, pid_t pid,
                                   const char *message);

/* Fail every queued/running task whose owner process is gone (its pid
 * is dead, a zombie, or now names another process: the start time
 * recorded with the task differs): error 3001 with MESSAGE as details;
 * the count into *FAILED. Whatever the store's lock did when the owner
 * died. The master runs it on its tick until it succeeds. */
enum ts_rc taskstore_fail_dead_owners(struct taskstore *ts,
                                      const char *message, long *failed);

/* Remove finished tasks submitted longer than retention before NOW_UNIX
 * and, with max_tasks, the oldest finished ones beyond the cap; space goes
 * to the free lists. Safe under clock steps: queued and running tasks are
 * never removed, and tasks stamped in the future are kept without stopping
 * the sweep of older ones behind them. Releases the lock between batches.
 * Master timer only. */
enum ts_rc taskstore_sweep(struct taskstore *ts, double now_unix);

/* Sizes and counts (file bytes, ceiling, tasks, running, queued). */
enum ts_rc taskstore_stats(struct taskstore *ts, struct taskstore_stats *st);

/* Verify the store file PATH offline (read-only, private mapping, no lock;
 * a pending journal is rolled back in the private copy first, as open
 * would). 0 = consistent; else each problem as a line on REPORT (may be
 * NULL), then a "salvage:" line saying what opening it would do (how many
 * intact records a new store would keep), and the count. */
int taskstore_check_file(const char *path, FILE *report);

/* Static human text for RC (TS_FULL names BMC_STORE_MAX_BYTES). */
const char *taskstore_rc_message(enum ts_rc rc);

/* Test hooks (unit and kill tests only). The hook runs at every journal
 * step of an operation (before and after each undo entry, before commit);
 * one that _exits simulates a SIGKILL at that point. */
extern void (*taskstore_test_hook)(void);

/* Where task ID's bytes are in the file: its record and blobs (up to 3
 * extents, OFF/LEN, the rest 0). The salvage test damages pages and
 * expects every task whose extents were not touched to survive. */
enum ts_rc taskstore_test_extents(struct taskstore *ts, const char *id,
                                  unsigned long long off[3],
                                  unsigned long long len[3]);

/* Take the store's lock and keep it (tests of a holder that dies). */
enum ts_rc taskstore_test_lock(struct taskstore *ts);

#endif
