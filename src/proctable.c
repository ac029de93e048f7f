/* proctable.c - the service's processes, for /health (see proctable.h). */
#include "autoconfig.h"
#include "proctable.h"

#include "clock.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

uint64_t proctable_stat(pid_t pid, char *state)
{
    char path[64], buf[1024], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
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

/* Alive: it exists and is neither a zombie nor dead; RUNNING also
 * requires that it is not stopped (SIGSTOP, a debugger). */
static bool pid_alive(pid_t pid, bool *running)
{
    char state = 0;

    if (pid <= 0 || !proctable_stat(pid, &state))
        state = 'X';
    bool alive = state != 'Z' && state != 'X' && state != 'x';
    if (running)
        *running = alive && state != 'T' && state != 't';
    return alive;
}

static void check_slot(const struct proc_slot *s, struct proctable_report *r)
{
    pid_t pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
    bool alive = pid && pid_alive(pid, NULL);
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
    if (!table)
        return;
    r->known = true;
    pid_alive(table->master, &r->master_running);
    r->draining = __atomic_load_n(&table->draining, __ATOMIC_ACQUIRE);
    for (int i = 0; i < table->nslots; i++)
        check_slot(&table->slots[i], r);
}
