/* master.c - process supervision (see master.h). */
#include "autoconfig.h"
#include "master.h"

#include "credentials.h"
#include "clock.h"
#include "config.h"
#include "executor.h"
#include "gate.h"
#include "redfish_transport.h"
#include "log.h"
#include "proctable.h"
#include "metrics.h"
#include "sockets.h"
#include "taskstore.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum child_kind { CHILD_BMC_WORKER, CHILD_LIGHT_WORKER, CHILD_EXECUTOR };
_Static_assert((int)CHILD_EXECUTOR == (int)PROCTABLE_EXECUTOR &&
                   (int)CHILD_LIGHT_WORKER == (int)PROCTABLE_LIGHT_WORKER,
               "child kinds are proctable kinds");

#define SWEEP_INTERVAL_S 60.0

struct child {
    pid_t pid; /* 0 = slot empty, to be (re)spawned */
    enum child_kind kind;
    double spawned_at;    /* monotonic */
    double respawn_after; /* monotonic; backoff after a crash */
};

struct master {
    struct listen_sockets *ls;
    struct taskstore *store;
    int executor_fd;
    pid_t pid;
    double next_sweep;
    struct child *children;
    int nchildren;
    bool draining;
    double drain_deadline;
};

static const char *kind_name(enum child_kind k)
{
    static const char *const names[] = {"bmc", "light", "executor"};
    return names[k];
}

/* In the child: keep only the descriptors this kind needs, then serve. */
static void child_main(struct master *m, struct child *c)
{
    int keep = c->kind == CHILD_BMC_WORKER     ? m->ls->bmc_fd
               : c->kind == CHILD_LIGHT_WORKER ? m->ls->light_fd
                                               : m->executor_fd;
    int fds[] = {m->ls->bmc_fd, m->ls->light_fd, m->executor_fd};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] != keep && fds[i] >= 0)
            close(fds[i]);
    /* Names in ps/top and /proc/PID/comm: bmc-bmc, bmc-light, bmc-executor */
    char comm[16];
    snprintf(comm, sizeof(comm), "bmc-%s", kind_name(c->kind));
    prctl(PR_SET_NAME, comm, 0, 0, 0);
    /* A master killed outright takes its children with it (they finish the
     * request in hand first), so none outlives it holding the store's
     * flock and a restarted master is not refused. */
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() != m->pid)
        _exit(0);
    rf_transport_init(); /* libcurl is initialised per process, after fork */
    if (c->kind == CHILD_EXECUTOR)
        _exit(executor_run(keep, m->store));
    _exit(worker_run(keep, kind_name(c->kind), bmc_cfg.worker_max_requests,
                     m->store));
}

static void spawn(struct master *m, struct child *c)
{
    pid_t pid = fork();

    if (pid < 0) {
        log_error("fork_failed", "kind=%s errno=%d", kind_name(c->kind),
                  errno);
        c->respawn_after = clock_now_mono() + 1;
        return;
    }
    if (pid == 0)
        child_main(m, c);
    c->pid = pid;
    c->spawned_at = clock_now_mono();
    proctable_set((int)(c - m->children), (enum proctable_kind)c->kind, pid);
    log_debug("child_started", "kind=%s child=%d", kind_name(c->kind),
              (int)pid);
}

static struct child *find_child(struct master *m, pid_t pid)
{
    for (int i = 0; i < m->nchildren; i++)
        if (m->children[i].pid == pid)
            return &m->children[i];
    return NULL;
}

static void reap_children(struct master *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct child *c = find_child(m, pid);
        if (!c)
            continue;
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!clean) {
            log_warn(
                "child_died", "kind=%s child=%d %s=%d", kind_name(c->kind),
                (int)pid, WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        } else {
            log_debug("child_recycled", "kind=%s child=%d", kind_name(c->kind),
                      (int)pid);
        }
        if (m->store)
            taskstore_fail_owned_by(
                m->store, pid,
                c->kind == CHILD_EXECUTOR
                    ? "The executor stopped before the task finished"
                    : "The worker stopped before the task finished");
        c->pid = 0;
        proctable_set((int)(c - m->children), (enum proctable_kind)c->kind, 0);
        if (!m->draining)
            metrics_count_restart(kind_name(c->kind));
        /* A child that dies at once is not respawned in a tight loop. */
        bool quick = clock_now_mono() - c->spawned_at < 1.0;
        c->respawn_after = (!clean && quick) ? clock_now_mono() + 1 : 0;
    }
}

static void respawn_missing(struct master *m)
{
    double now = clock_now_mono();

    if (m->draining)
        return;
    for (int i = 0; i < m->nchildren; i++)
        if (m->children[i].pid == 0 && now >= m->children[i].respawn_after)
            spawn(m, &m->children[i]);
}

static int live_children(struct master *m)
{
    int n = 0;
    for (int i = 0; i < m->nchildren; i++)
        n += m->children[i].pid != 0;
    return n;
}

static void signal_children(struct master *m, int sig)
{
    for (int i = 0; i < m->nchildren; i++)
        if (m->children[i].pid)
            kill(m->children[i].pid, sig);
}

static void start_drain(struct master *m)
{
    if (m->draining)
        return;
    m->draining = true;
    proctable_set_draining();
    m->drain_deadline = clock_now_mono() + bmc_cfg.timeout +
                        bmc_cfg.max_wait_for_state_seconds + 10;
    log_info("draining", "children=%d", live_children(m));
    signal_children(m, SIGTERM);
}

/* Once a second: re-send SIGTERM while draining (a worker may have been
 * between its flag check and accept), and kill what outlives the bound. */
static void drain_tick(struct master *m)
{
    if (clock_now_mono() > m->drain_deadline) {
        log_warn("drain_timeout", "killing=%d", live_children(m));
        signal_children(m, SIGKILL);
    } else {
        signal_children(m, SIGTERM);
    }
}

static void handle_signal(struct master *m, int sig)
{
    switch (sig) {
    case SIGCHLD: reap_children(m); break;
    case SIGTERM:
    case SIGINT: start_drain(m); break;
    case SIGHUP:
        log_reopen();
        credentials_reload_secrets();
        signal_children(m, SIGHUP);
        log_info("logs_reopened", "%s", "");
        break;
    default: break;
    }
}

static int build_child_table(struct master *m)
{
    m->nchildren = bmc_cfg.max_workers + bmc_cfg.light_workers + 1;
    m->children = calloc((size_t)m->nchildren, sizeof(*m->children));
    if (!m->children)
        return -1;
    for (int i = 0; i < m->nchildren; i++)
        m->children[i].kind = i < bmc_cfg.max_workers ? CHILD_BMC_WORKER
                              : i < m->nchildren - 1  ? CHILD_LIGHT_WORKER
                                                      : CHILD_EXECUTOR;
    return 0;
}

/* Retention and cap, in the master on a timer, never on a request path. */
static void sweep_tick(struct master *m)
{
    if (!m->store || clock_now_mono() < m->next_sweep)
        return;
    m->next_sweep = clock_now_mono() + SWEEP_INTERVAL_S;
    enum ts_rc rc = taskstore_sweep(m->store, clock_now_real());
    if (rc != TS_OK)
        log_warn("sweep_failed", "reason=\"%s\"", taskstore_rc_message(rc));
}

int master_run(struct listen_sockets *ls, struct taskstore *store,
               int executor_fd)
{
    struct master m = {
        .ls = ls, .store = store, .executor_fd = executor_fd, .pid = getpid()};
    sigset_t set;
    struct timespec tick = {1, 0};

    if (build_child_table(&m))
        return 1;
    if (proctable_init(m.nchildren)) {
        log_error("proctable_failed", "errno=%d", errno);
        free(m.children);
        return 1;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_info("started", "bmc_workers=%d light_workers=%d version=%s",
             bmc_cfg.max_workers, bmc_cfg.light_workers, PACKAGE_VERSION);
    respawn_missing(&m);
    while (!m.draining || live_children(&m) > 0) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig > 0)
            handle_signal(&m, sig);
        else if (m.draining)
            drain_tick(&m);
        reap_children(&m);
        gate_reap_dead(); /* slots of children that died holding them */
        respawn_missing(&m);
        if (!m.draining)
            sweep_tick(&m);
    }
    log_info("stopped", "%s", "");
    free(m.children);
    return 0;
}
