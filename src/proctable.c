/* proctable.c - the service's processes, for /health (see proctable.h). */
#include "autoconfig.h"
#include "proctable.h"

#include "clock.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <unistd.h>

struct proc_slot {
    int kind;             /* enum proctable_kind */
    pid_t pid;            /* 0: missing */
    double missing_since; /* monotonic; 0 while present */
};

struct proc_table {
    pid_t master;
    int draining;
    int nslots;
    struct proc_slot slots[];
};

static struct proc_table *table;

/* What this process keeps open to watch the table's processes, so that a
 * check costs two system calls instead of three per process (/health
 * opened, read and closed /proc/PID/stat 14 times, 45 % of its CPU):
 * a pidfd per slot, polled at once (readable once the process has
 * exited: a zombie or reaped), and the master's /proc/PID/stat, read
 * again from offset 0 for its state letter. Both name the process, not
 * the number, so a reused pid is never mistaken for the old one. Built on
 * first use and again in a forked child (OWNER), per slot when its pid
 * changes. */
struct watch {
    pid_t owner;
    pid_t master;
    int master_stat_fd; /* -1: not open */
    pid_t *pids;        /* the pid each pidfd is for, 0: none */
    struct pollfd *fds; /* fd -1: none (poll skips it) */
};

static struct watch watch = {.master_stat_fd = -1};

int proctable_init(int nslots)
{
    size_t bytes = sizeof(*table) + (size_t)nslots * sizeof(table->slots[0]);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return -1;
    table = p;
    table->master = getpid();
    table->nslots = nslots;
    for (int i = 0; i < nslots; i++)
        table->slots[i].missing_since = clock_now_mono();
    return 0;
}

void proctable_set(int slot, enum proctable_kind kind, pid_t pid)
{
    if (!table || slot < 0 || slot >= table->nslots)
        return;
    struct proc_slot *s = &table->slots[slot];
    s->kind = (int)kind;
    s->missing_since = pid ? 0 : clock_now_mono();
    __atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
}

void proctable_set_draining(void)
{
    if (table)
        __atomic_store_n(&table->draining, 1, __ATOMIC_RELEASE);
}

/* Start time (field 22) and state letter of one /proc/PID/stat text. */
static uint64_t parse_stat(char *buf, char *state)
{
    char *p = strrchr(buf, ')'); /* comm may contain spaces, parentheses */

    if (!p || p[1] != ' ' || !p[2])
        return 0;
    p += 2; /* field 3, state */
    if (state)
        *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

/* parse_stat of what FD (an open /proc/PID/stat) says now. */
static uint64_t read_stat(int fd, char *state)
{
    char buf[1024];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return parse_stat(buf, state);
}

static int open_stat(pid_t pid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

uint64_t proctable_stat(pid_t pid, char *state)
{
    int fd = open_stat(pid);

    if (fd < 0)
        return 0;
    uint64_t start = read_stat(fd, state);
    close(fd);
    return start;
}

/* Alive: it exists and is neither a zombie nor dead; RUNNING also
 * requires that it is not stopped (SIGSTOP, a debugger). */
static bool state_alive(char state, bool *running)
{
    bool alive = state != 'Z' && state != 'X' && state != 'x';

    if (running)
        *running = alive && state != 'T' && state != 't';
    return alive;
}

static void watch_reset(void)
{
    if (watch.master_stat_fd >= 0)
        close(watch.master_stat_fd);
    watch.master_stat_fd = -1;
    watch.master = 0;
    for (int i = 0; watch.fds && i < table->nslots; i++) {
        if (watch.fds[i].fd >= 0)
            close(watch.fds[i].fd);
        watch.fds[i].fd = -1;
        watch.pids[i] = 0;
    }
}

static bool watch_alloc(void)
{
    watch.fds = calloc((size_t)table->nslots, sizeof(*watch.fds));
    watch.pids = calloc((size_t)table->nslots, sizeof(*watch.pids));
    if (watch.fds && watch.pids) {
        for (int i = 0; i < table->nslots; i++)
            watch.fds[i].fd = -1; /* none yet: nothing to close */
        return true;
    }
    free(watch.fds);
    free(watch.pids);
    watch.fds = NULL;
    watch.pids = NULL;
    return false;
}

/* The watch belongs to this process and has room for every slot; a
 * forked child closes what it inherited and starts afresh. */
static bool watch_ready(void)
{
    if (watch.fds && watch.owner == getpid())
        return true;
    if (!watch.fds && !watch_alloc())
        return false;
    watch_reset();
    watch.owner = getpid();
    return true;
}

static bool master_alive(bool *running)
{
    char state = 'X';

    if (watch.master != table->master || watch.master_stat_fd < 0) {
        if (watch.master_stat_fd >= 0)
            close(watch.master_stat_fd);
        watch.master = table->master;
        watch.master_stat_fd = open_stat(watch.master);
    }
    if (watch.master_stat_fd < 0 || !read_stat(watch.master_stat_fd, &state))
        state = 'X';
    return state_alive(state, running);
}

/* Slot I's pidfd follows PID (0: none). Without pidfds (ENOSYS), -1 and
 * the slot is asked of /proc (pid_alive_slow). */
static void watch_slot(int i, pid_t pid)
{
    if (watch.pids[i] == pid)
        return;
    if (watch.fds[i].fd >= 0)
        close(watch.fds[i].fd);
    watch.fds[i].fd = pid > 0 ? pidfd_open(pid, 0) : -1;
    watch.fds[i].events = POLLIN;
    watch.fds[i].revents = 0;
    watch.pids[i] = pid;
}

static bool pid_alive_slow(pid_t pid)
{
    char state = 0;

    if (pid <= 0 || !proctable_stat(pid, &state))
        state = 'X';
    return state_alive(state, NULL);
}

/* Whether slot I's pid PID is alive, after proctable_check's poll. */
static bool slot_alive(int i, pid_t pid)
{
    if (pid <= 0)
        return false;
    if (watch.fds[i].fd >= 0)
        return !(watch.fds[i].revents & (POLLIN | POLLHUP | POLLERR));
    /* no pidfd: the process was gone when we looked (ESRCH), or this
     * kernel has none (ENOSYS) */
    return pid_alive_slow(pid);
}

static void check_slot(const struct proc_slot *s, pid_t pid, bool alive,
                       struct proctable_report *r)
{
    bool returning = !alive && r->master_running &&
                     (pid || clock_now_mono() - s->missing_since <=
                                 PROCTABLE_RESPAWN_GRACE_S);

    switch (s->kind) {
    case PROCTABLE_BMC_WORKER:
        r->bmc_workers_alive += alive;
        r->bmc_workers_returning += returning;
        break;
    case PROCTABLE_LIGHT_WORKER: r->light_workers_alive += alive; break;
    case PROCTABLE_EXECUTOR:
        r->executor_alive = alive;
        r->executor_returning = returning;
        break;
    default: break;
    }
}

void proctable_check(struct proctable_report *r)
{
    memset(r, 0, sizeof(*r));
    if (!table || !watch_ready())
        return;
    r->known = true;
    master_alive(&r->master_running);
    r->draining = __atomic_load_n(&table->draining, __ATOMIC_ACQUIRE);
    for (int i = 0; i < table->nslots; i++)
        watch_slot(i, __atomic_load_n(&table->slots[i].pid, __ATOMIC_ACQUIRE));
    bool polled = poll(watch.fds, (nfds_t)table->nslots, 0) >= 0;
    for (int i = 0; i < table->nslots; i++) {
        pid_t pid = watch.pids[i];
        bool alive = polled ? slot_alive(i, pid) : pid_alive_slow(pid);
        check_slot(&table->slots[i], pid, alive, r);
    }
}
