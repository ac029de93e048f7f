/* subprocess.h - run one program to completion: argv array (never a shell),
 * a caller-chosen environment, its own session and process group (no
 * controlling tty), stdin from /dev/null (or a pipe holding the caller's
 * few bytes: how a secret reaches a program that would otherwise take it
 * as an argument), stdout and stderr captured into
 * bounded buffers through poll(2), every other descriptor closed, all
 * signal dispositions and the signal mask reset to default. At the
 * deadline the whole process group gets SIGTERM, then SIGKILL after a
 * grace period; the child is always reaped. Safe to call from several
 * threads at once (posix_spawn, per-call pipes, waits on its own pid only;
 * the process must not set SIGCHLD to SIG_IGN or reap with waitpid(-1)).
 * Owns: the two capture buffers in struct subproc_result (free them with
 * subproc_result_free). */
#ifndef BMC_SUBPROCESS_H
#define BMC_SUBPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SUBPROC_CAPTURE_DEFAULT (64 * 1024) /* bytes per stream */
#define SUBPROC_GRACE_DEFAULT   0.2  /* seconds from SIGTERM to SIGKILL */
#define SUBPROC_STDIN_MAX       4096 /* PIPE_BUF: written whole, never blocks */

/* What to run. */
struct subproc_spec {
    const char *path;  /* program to execute (absolute, or relative to cwd) */
    char *const *argv; /* NULL-terminated; argv[0] is what ps shows */
    char *const *envp; /* NULL-terminated; the child's whole environment */
    double deadline;   /* CLOCK_MONOTONIC seconds; <= 0 means none */
    double kill_grace; /* seconds; 0 = SUBPROC_GRACE_DEFAULT */
    size_t out_max, err_max; /* capture caps; 0 = SUBPROC_CAPTURE_DEFAULT */
    /* When set: the child's stdin is a pipe holding these bytes (at most
     * SUBPROC_STDIN_MAX), then end of file. The caller wipes its copy. */
    const char *stdin_data;
    size_t stdin_len;
    /* Called in the parent once the child runs (e.g. to read
     * /proc/<pid>/cmdline in a test); may be NULL. */
    void (*on_start)(pid_t pid, void *arg);
    void *on_start_arg;
};

enum subproc_status {
    SUBPROC_EXITED,    /* exit_code valid */
    SUBPROC_SIGNALED,  /* term_signal valid (e.g. SIGABRT from an assert) */
    SUBPROC_TIMED_OUT, /* killed at the deadline; term_signal says by what */
    SUBPROC_SPAWN_FAILED, /* spawn_errno valid (ENOENT: no such program) */
};

/* How it ended and what it printed. out/err are NUL-terminated. */
struct subproc_result {
    enum subproc_status status;
    int exit_code;
    int term_signal;
    int spawn_errno;
    pid_t pid;
    double elapsed; /* seconds from spawn to reap */
    char *out, *err;
    size_t out_len, err_len;
    bool out_truncated, err_truncated; /* more was written than kept */
};

/* Run SPEC to completion and fill RES (always, even on failure: check
 * RES->status). Returns 0, or -1 with errno when nothing could be set up
 * (no memory, no pipes), in which case RES->status is SUBPROC_SPAWN_FAILED. */
int subproc_run(const struct subproc_spec *spec, struct subproc_result *res);

/* Free the capture buffers of RES (safe on a zeroed or freed result). */
void subproc_result_free(struct subproc_result *res);

/* "SIGABRT", "SIGKILL", ... or "signal N" (static or thread-local buffer). */
const char *subproc_signal_name(int sig);

#endif
