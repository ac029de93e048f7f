/* store_kill - no task is left running when its worker dies while another
 * process holds the store's lock (issue 16). Each iteration forks two
 * workers that create queued/running tasks under their own pid and finish
 * some, and a holder that takes the store's lock and keeps it; the parent
 * SIGKILLs the workers at a random moment (each may be waiting for the
 * lock, inside an operation, or between two), then runs the master's
 * dead-owner sweep (taskstore_fail_dead_owners, retried on every tick of
 * TICK_MS until it succeeds, as src/master.c's owner_sweep_tick does)
 * while the holder still holds the lock; the holder is SIGKILLed (it dies
 * with the lock: EOWNERDEAD) or exits at a random moment. Within
 * DEADLINE_S the sweep must have succeeded and no task may be queued or
 * running; the file must check. Workers are reaped before the sweep in
 * half the iterations (zombies in the other half).
 *   usage: store_kill [ITERATIONS]   (or STORE_KILL_ITERATIONS; 60) */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "taskstore.h"

#define WORKERS    2
#define TICK_MS    20
#define DEADLINE_S 5.0

static char path[128];
static const struct taskstore_opts opts = {
    .max_tasks = 2000, .retention_days = 7, .lock_timeout_s = 0.05};

static void sleep_us(long us)
{
    struct timespec d = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&d, NULL);
}

static void worker_run(struct taskstore *ts, unsigned seed)
{
    char id[TASK_ID_LEN + 1];
    struct task_new t = {"run_action", "10.0.0.1",   "redfish",
                         NULL,         TASK_RUNNING, getpid(),
                         NULL,         NULL,         NULL};

    srand(seed);
    for (;;) {
        t.status = rand() % 3 ? TASK_RUNNING : TASK_QUEUED;
        if (taskstore_create(ts, &t, id) != TS_OK)
            continue; /* busy: the holder has the lock */
        if (t.status == TASK_QUEUED && rand() % 2)
            (void)taskstore_mark_running(ts, id, getpid());
        if (rand() % 2)
            (void)taskstore_finish(ts, id, TASK_SUCCESS, "{}", 0, NULL, NULL);
    }
}

/* Takes the lock, says so on FD, keeps it until killed or LIFE_US. */
static void holder_run(struct taskstore *ts, int fd, long life_us)
{
    if (taskstore_test_lock(ts) != TS_OK || write(fd, "x", 1) != 1)
        _exit(1);
    sleep_us(life_us);
    _exit(0); /* dies holding it */
}

static pid_t spawn_holder(struct taskstore *ts, long life_us)
{
    int p[2];
    char c;
    pid_t pid;

    if (pipe(p))
        return -1;
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        holder_run(ts, p[1], life_us);
    }
    close(p[1]);
    if (pid > 0 && read(p[0], &c, 1) != 1) {
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    close(p[0]);
    return pid;
}

/* The master's tick: the sweep again until it succeeds; then the counts. */
static int sweep_until_clean(struct taskstore *ts, pid_t holder, int it)
{
    double t0 = clock_now_mono(), kill_at = (rand() % 300) / 1000.0;
    struct taskstore_stats st = {0};
    int done = 0, reaped = 0;

    while (clock_now_mono() - t0 < DEADLINE_S) {
        if (!reaped && clock_now_mono() - t0 >= kill_at) {
            if (rand() % 2)
                kill(holder, SIGKILL);
            waitpid(holder, NULL, 0);
            reaped = 1;
        }
        /* every tick, as the master's owner_sweep_tick: a worker SIGKILLed
         * but not yet dead (the signal is delivered on the other core) is
         * alive for one sweep and dead for the next */
        long failed = 0;
        if (taskstore_fail_dead_owners(ts, "worker died", &failed) == TS_OK)
            done = 1;
        if (done && taskstore_stats(ts, &st) == TS_OK && !st.running &&
            !st.queued)
            break;
        sleep_us(TICK_MS * 1000L);
    }
    if (!reaped) {
        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
    }
    if (!done || st.running || st.queued) {
        fprintf(stderr, "iteration %d: sweep %s, %ld running, %ld queued\n",
                it, done ? "done" : "never succeeded", st.running, st.queued);
        return -1;
    }
    return 0;
}

static int iteration(struct taskstore *ts, int it)
{
    pid_t pids[WORKERS], holder;
    int reap_first = rand() % 2, rc;

    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0)
            worker_run(ts, (unsigned)(it * 31 + w));
    }
    sleep_us(rand() % 5000);
    holder = spawn_holder(ts, 1000L * (rand() % 400));
    sleep_us(rand() % 3000);
    for (int w = 0; w < WORKERS; w++)
        kill(pids[w], SIGKILL);
    if (reap_first)
        for (int w = 0; w < WORKERS; w++)
            waitpid(pids[w], NULL, 0);
    rc = holder > 0 ? sweep_until_clean(ts, holder, it) : -1;
    if (!reap_first)
        for (int w = 0; w < WORKERS; w++)
            waitpid(pids[w], NULL, 0);
    if (rc == 0 && taskstore_check_file(path, stderr) != 0) {
        fprintf(stderr, "iteration %d: store check failed\n", it);
        rc = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *env = getenv("STORE_KILL_ITERATIONS");
    int iterations = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 60;
    char dir[] = "/tmp/store_kill.XXXXXX", err[512];
    struct taskstore *ts = NULL;
    int rc = 1, it = 0;
    double t0 = clock_now_mono();

    srand((unsigned)time(NULL));
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/tasks.store", dir);
    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    for (it = 0; it < iterations; it++)
        if (iteration(ts, it))
            goto out;
    rc = 0;
out:
    printf("store_kill: %d/%d iterations, %.1f s: %s\n", it, iterations,
           clock_now_mono() - t0, rc ? "FAILED" : "ok");
    taskstore_close(ts);
    unlink(path);
    rmdir(dir);
    return rc;
}
