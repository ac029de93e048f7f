/* subprocess.c - see subprocess.h.
 * posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK)) is used rather than
 * fork: it is safe in a multi-threaded process, cheap for a large parent,
 * and reports exec failures (ENOENT) to the caller. */
#include "autoconfig.h"
#include "subprocess.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* wait granularity when no pidfd can tell us of the exit */
#define TICK_MS 10

/* One captured stream. */
struct capture {
    int fd;
    char *buf;
    size_t len, max;
    bool truncated;
};

static bool capture_read(struct capture *c)
{
    char chunk[4096];
    ssize_t n;

    for (;;) {
        n = read(c->fd, chunk, sizeof(chunk));
        if (n > 0) {
            size_t keep = (size_t)n;
            if (keep > c->max - c->len) {
                keep = c->max - c->len;
                c->truncated = true;
            }
            memcpy(c->buf + c->len, chunk, keep);
            c->len += keep;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true; /* still open */
        close(c->fd);    /* EOF or error */
        c->fd = -1;
        return false;
    }
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

/* True once PID has exited; the zombie is left for waitpid so that its
 * process group id stays reserved while we may still signal the group. */
static bool child_exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno ==
               ECHILD; /* someone else reaped it: nothing to wait for */
    return si.si_pid == pid;
}

static int spawn_child(const struct subproc_spec *spec, int in_r, int out_w,
                       int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (in_r >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_r, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
#if defined(__GLIBC__) &&                                                     \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Belt and braces: our own descriptors are close-on-exec, but a
     * library's may not be. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr,
                                  &all); /* SIGPIPE etc. back to default */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
                                        POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(pid, spec->path, &fa, &attr, spec->argv, spec->envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* SIGTERM the group, give it GRACE seconds, then SIGKILL it. Returns the
 * signal that was last sent. */
static int kill_group(pid_t pid, double grace)
{
    double until = clock_now_mono() + grace;

    kill(-pid, SIGTERM);
    while (clock_now_mono() < until) {
        if (child_exited(pid))
            return SIGTERM;
        clock_sleep(TICK_MS / 1000.0, until);
    }
    kill(-pid, SIGKILL);
    return SIGKILL;
}

static int poll_timeout_ms(double deadline, int pidfd, bool exited)
{
    double left;

    if (!exited && pidfd < 0)
        left = TICK_MS / 1000.0;
    else
        left = deadline > 0 ? clock_remaining(deadline) : 3600;
    if (deadline > 0 && left > clock_remaining(deadline))
        left = clock_remaining(deadline);
    return (int)(left * 1000) + 1;
}

/* Capture both streams until the child has exited and both pipes are
 * closed, or the deadline passes. Returns true when the deadline stopped it.
 */
static bool pump(const struct subproc_spec *spec, pid_t pid,
                 struct capture *cap)
{
    int pidfd = pidfd_open_compat(pid);
    bool exited = false, timed_out = false;
    struct pollfd pfd[3];

    for (;;) {
        if (!exited && child_exited(pid)) {
            exited = true;
            kill(-pid, SIGKILL); /* stragglers left in its group */
        }
        if (exited && cap[0].fd < 0 && cap[1].fd < 0)
            break;
        if (spec->deadline > 0 && clock_remaining(spec->deadline) <= 0) {
            timed_out = !exited;
            break;
        }
        nfds_t n = 0;
        for (int i = 0; i < 2; i++)
            if (cap[i].fd >= 0)
                pfd[n++] = (struct pollfd){.fd = cap[i].fd, .events = POLLIN};
        if (pidfd >= 0 && !exited)
            pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        if (poll(pfd, n, poll_timeout_ms(spec->deadline, pidfd, exited)) < 0 &&
            errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (cap[i].fd >= 0)
                capture_read(&cap[i]);
    }
    if (pidfd >= 0)
        close(pidfd);
    return timed_out;
}

static void reap(pid_t pid, struct subproc_result *res)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            res->status = SUBPROC_EXITED;
            res->exit_code = -1; /* reaped elsewhere: status unknown */
            return;
        }
    }
    if (res->status == SUBPROC_TIMED_OUT)
        return;
    if (WIFSIGNALED(status)) {
        res->status = SUBPROC_SIGNALED;
        res->term_signal = WTERMSIG(status);
    } else {
        res->status = SUBPROC_EXITED;
        res->exit_code = WEXITSTATUS(status);
    }
}

int subproc_run(const struct subproc_spec *spec, struct subproc_result *res)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1};
    struct capture cap[2];
    double started = clock_now_mono();
    pid_t pid = -1;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    memset(cap, 0, sizeof(cap));
    cap[0].fd = cap[1].fd = -1;
    res->status = SUBPROC_SPAWN_FAILED;
    cap[0].max = spec->out_max ? spec->out_max : SUBPROC_CAPTURE_DEFAULT;
    cap[1].max = spec->err_max ? spec->err_max : SUBPROC_CAPTURE_DEFAULT;
    cap[0].buf = malloc(cap[0].max + 1);
    cap[1].buf = malloc(cap[1].max + 1);
    if (spec->stdin_data && spec->stdin_len > SUBPROC_STDIN_MAX) {
        res->spawn_errno = E2BIG;
        goto out;
    }
    if (!cap[0].buf || !cap[1].buf || pipe2(outp, O_CLOEXEC) ||
        pipe2(errp, O_CLOEXEC) ||
        (spec->stdin_data && pipe2(inp, O_CLOEXEC))) {
        res->spawn_errno = errno;
        goto out;
    }
    res->spawn_errno = spawn_child(spec, inp[0], outp[1], errp[1], &pid);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    rc = 0;
    if (res->spawn_errno)
        goto out;
    if (spec->stdin_data) {
        /* Fits the pipe, so it never blocks; our read end is still open,
         * so no SIGPIPE even if the child is gone already. */
        (void)!write(inp[1], spec->stdin_data, spec->stdin_len);
        close(inp[0]);
        close(inp[1]);
        inp[0] = inp[1] = -1;
    }
    res->pid = pid;
    if (spec->on_start)
        spec->on_start(pid, spec->on_start_arg);
    cap[0].fd = outp[0];
    cap[1].fd = errp[0];
    outp[0] = errp[0] = -1;
    fcntl(cap[0].fd, F_SETFL, O_NONBLOCK);
    fcntl(cap[1].fd, F_SETFL, O_NONBLOCK);
    if (pump(spec, pid, cap)) {
        res->status = SUBPROC_TIMED_OUT;
        res->term_signal =
            kill_group(pid, spec->kill_grace > 0 ? spec->kill_grace
                                                 : SUBPROC_GRACE_DEFAULT);
    }
    reap(pid, res);
out:
    for (int i = 0; i < 2; i++) {
        if (inp[i] >= 0)
            close(inp[i]);
        if (cap[i].fd >= 0)
            close(cap[i].fd);
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    res->out = cap[0].buf;
    res->err = cap[1].buf;
    res->out_len = cap[0].len;
    res->err_len = cap[1].len;
    res->out_truncated = cap[0].truncated;
    res->err_truncated = cap[1].truncated;
    if (res->out)
        res->out[res->out_len] = '\0';
    if (res->err)
        res->err[res->err_len] = '\0';
    res->elapsed = clock_now_mono() - started;
    return rc;
}

void subproc_result_free(struct subproc_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

const char *subproc_signal_name(int sig)
{
    static __thread char buf[24];
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGABRT, "SIGABRT"}, {SIGSEGV, "SIGSEGV"}, {SIGKILL, "SIGKILL"},
        {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},   {SIGHUP, "SIGHUP"},
        {SIGPIPE, "SIGPIPE"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGILL, "SIGILL"},   {SIGQUIT, "SIGQUIT"}, {SIGALRM, "SIGALRM"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].sig == sig)
            return names[i].name;
    snprintf(buf, sizeof(buf), "signal %d", sig);
    return buf;
}
