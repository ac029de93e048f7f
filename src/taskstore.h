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
 *                    task records (96 bytes), variable-length blobs (task
 *                    strings; result + error texts), the id index (open
 *                    addressing, linear probing, O(1) lookup), free blocks
 *                    on per-size-class free lists (reused after sweeps).
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

#define TASKSTORE_FORMAT_VERSION   1
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

struct task_new {
    const char *method, *ip, *protocol, *request_id; /* NULL = absent */
    enum task_status status;                         /* QUEUED or RUNNING */
    pid_t owner;                                     /* process that runs it */
    const char *requested_by; /* the service token's name; NULL: none */
};

struct taskstore_stats {
    long long file_bytes, max_bytes;
    long tasks, running, queued;
};

/* Open or create PATH (master, before any fork): 0600 file, parent made
 * 0700 if missing, exclusive flock, header validated (refused with ERR
 * naming the file and the remedy; never wiped), journal rolled back, mutex
 * re-initialised, tasks left queued/running failed with
 * TASKSTORE_RESTART_MESSAGE. *OUT is the caller's (taskstore_close). */
enum ts_rc taskstore_open(const char *path, const struct taskstore_opts *opts,
                          struct taskstore **out, char *err, size_t errlen);

/* Unmap, close (drops the flock when no child shares the fd) and free. */
void taskstore_close(struct taskstore *ts);

/* Record a new task (status QUEUED or RUNNING, started now); its id into
 * ID_OUT. TS_FULL / TS_BUSY / TS_TOO_LARGE / TS_ERROR. */
enum ts_rc taskstore_create(struct taskstore *ts, const struct task_new *t,
                            char id_out[TASK_ID_LEN + 1]);

/* As taskstore_create with started_at = STARTED_AT (tests and tools). */
enum ts_rc taskstore_create_at(struct taskstore *ts, const struct task_new *t,
                               double started_at,
                               char id_out[TASK_ID_LEN + 1]);

/* QUEUED -> RUNNING under OWNER. TS_NOT_FOUND if unknown or finished. */
enum ts_rc taskstore_mark_running(struct taskstore *ts, const char *id,
                                  pid_t owner);

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
 * protocol, request_id, requested_by (null when none), started_at, completed_at, duration, result,
 * error_code, error_message, details (only the keys that apply).
 * TS_NOT_FOUND (also malformed/non-v7/future ids), TS_EXPIRED (id time
 * older than retention), TS_BUSY, TS_ERROR. */
enum ts_rc taskstore_get(struct taskstore *ts, const char *id,
                         json_object **task_out);

/* Number of tasks RUNNING now (O(1)). */
enum ts_rc taskstore_count_running(struct taskstore *ts, long *n);

/* Fail every queued/running task owned by PID (a worker or the executor
 * died): error 3001 with MESSAGE as details. */
enum ts_rc taskstore_fail_owned_by(struct taskstore *ts, pid_t pid,
                                   const char *message);

/* Remove tasks older than retention at NOW_UNIX and, with max_tasks, the
 * oldest finished ones beyond the cap; space goes to the free lists.
 * Releases the lock between batches. Master timer only. */
enum ts_rc taskstore_sweep(struct taskstore *ts, double now_unix);

/* Sizes and counts (file bytes, ceiling, tasks, running, queued). */
enum ts_rc taskstore_stats(struct taskstore *ts, struct taskstore_stats *st);

/* Verify the store file PATH offline (read-only, private mapping, no lock;
 * a pending journal is rolled back in the private copy first, as open
 * would). 0 = consistent; else each problem as a line on REPORT (may be
 * NULL) and the count. */
int taskstore_check_file(const char *path, FILE *report);

/* Static human text for RC (TS_FULL names BMC_STORE_MAX_BYTES). */
const char *taskstore_rc_message(enum ts_rc rc);

/* Test hooks (unit and kill tests only). The hook runs at every journal
 * step of an operation (before and after each undo entry, before commit);
 * one that _exits simulates a SIGKILL at that point. */
extern void (*taskstore_test_hook)(void);

/* Take the store's lock and keep it (tests of a holder that dies). */
enum ts_rc taskstore_test_lock(struct taskstore *ts);

#endif
