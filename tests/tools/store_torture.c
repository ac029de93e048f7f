/* store_torture - the task store's kill test. Two writer processes share
 * the store (forked, as daemon workers do) and create/finish tasks as fast
 * as they can; the parent SIGKILLs both at a random moment, then checks
 * the file (taskstore_check_file), fails what the dead writers left
 * running (as the master does), and reads back every task whose finish
 * had returned. Every 50 iterations the store is closed and reopened (a
 * service restart). Exit 0 when every iteration is clean.
 *   usage: store_torture [ITERATIONS]   (or STORE_TORTURE_ITERATIONS;
 *   default 200) */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "taskstore.h"

#define WRITERS     2
#define VERIFY_LAST 1000
#define CAP         3000

static char path[128];
static const struct taskstore_opts opts = {
    .max_tasks = CAP, .retention_days = 7, .lock_timeout_s = 5};

static void writer_run(struct taskstore *ts, int out, unsigned seed)
{
    static char res[120 * 1024];
    char id[TASK_ID_LEN + 1], line[TASK_ID_LEN + 2];
    struct task_new t = {"list_users", "10.0.0.1", "ipmi", NULL, TASK_RUNNING,
                         getpid(),     NULL,       NULL,   NULL};

    srand(seed);
    for (;;) {
        size_t n = (size_t)(rand() % 32 == 0 ? 100000 : rand() % 4000);
        int k = snprintf(res, 64, "{\"success\":true,\"data\":{\"blob\":\"");
        memset(res + k, 'a' + rand() % 26, n);
        strcpy(res + k + n, "\"}}");
        if (taskstore_create(ts, &t, id) != TS_OK)
            _exit(2);
        int ok =
            rand() % 3
                ? taskstore_finish(ts, id, TASK_SUCCESS, res, 0, NULL, NULL)
                : taskstore_finish(ts, id, TASK_FAILED, NULL, 1002,
                                   "Connection Timeout", "no answer");
        if (ok != TS_OK)
            _exit(2);
        memcpy(line, id, TASK_ID_LEN);
        line[TASK_ID_LEN] = '\n';
        if (write(out, line, TASK_ID_LEN + 1) != TASK_ID_LEN + 1)
            _exit(2);
        if (rand() % 50 == 0 && taskstore_sweep(ts, clock_now_real()) != TS_OK)
            _exit(2);
    }
}

/* Read finished ids from FD into the ring. */
static void ids_collect(int fd, char (*ring)[TASK_ID_LEN + 1], long *nring)
{
    char buf[TASK_ID_LEN + 1];
    FILE *f = fdopen(fd, "r");

    while (f && fread(buf, 1, sizeof(buf), f) == sizeof(buf)) {
        memcpy(ring[*nring % VERIFY_LAST], buf, TASK_ID_LEN);
        ring[*nring % VERIFY_LAST][TASK_ID_LEN] = '\0';
        (*nring)++;
    }
    if (f)
        fclose(f);
}

static int verify(struct taskstore *ts, char (*ring)[TASK_ID_LEN + 1],
                  long nring, int it)
{
    long n, bad = 0;

    for (long i = nring > VERIFY_LAST ? nring - VERIFY_LAST : 0; i < nring;
         i++) {
        json_object *o = NULL, *s;
        int rc = taskstore_get(ts, ring[i % VERIFY_LAST], &o);
        const char *st =
            rc == TS_OK && json_object_object_get_ex(o, "status", &s)
                ? json_object_get_string(s)
                : "?";
        if (rc != TS_OK || (strcmp(st, "success") && strcmp(st, "failed"))) {
            fprintf(stderr,
                    "iteration %d: finished task %s: rc %d status %s\n", it,
                    ring[i % VERIFY_LAST], rc, st);
            bad++;
        }
        json_object_put(o);
    }
    if (taskstore_count_running(ts, &n) != TS_OK || n != 0) {
        fprintf(stderr, "iteration %d: %ld tasks still running\n", it, n);
        bad++;
    }
    return bad ? -1 : 0;
}

static int iteration(struct taskstore *ts, int it,
                     char (*ring)[TASK_ID_LEN + 1], long *nring)
{
    pid_t pids[WRITERS];
    int p[2], status;

    if (pipe(p))
        return -1;
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            close(p[0]);
            writer_run(ts, p[1], (unsigned)(it * 31 + w));
        }
    }
    close(p[1]);
    struct timespec d = {0, (rand() % 20000) * 1000L};
    nanosleep(&d, NULL);
    for (int w = 0; w < WRITERS; w++)
        kill(pids[w], SIGKILL);
    for (int w = 0; w < WRITERS; w++) {
        waitpid(pids[w], &status, 0);
        if (!WIFSIGNALED(status)) {
            fprintf(stderr, "iteration %d: writer exited with %d\n", it,
                    WEXITSTATUS(status));
            return -1;
        }
    }
    ids_collect(p[0], ring, nring);
    if (taskstore_check_file(path, stderr) != 0) {
        fprintf(stderr, "iteration %d: store check failed\n", it);
        return -1;
    }
    for (int w = 0; w < WRITERS; w++)
        if (taskstore_fail_owned_by(ts, pids[w], "worker died") != TS_OK)
            return -1;
    return verify(ts, ring, *nring, it);
}

int main(int argc, char **argv)
{
    static char ring[VERIFY_LAST][TASK_ID_LEN + 1];
    const char *env = getenv("STORE_TORTURE_ITERATIONS");
    int iterations = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 200;
    char dir[] = "/tmp/store_torture.XXXXXX", err[512];
    struct taskstore *ts = NULL;
    long nring = 0;
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
    for (it = 0; it < iterations; it++) {
        if (iteration(ts, it, ring, &nring))
            goto out;
        if (it % 50 == 49) { /* a restart of the whole service */
            taskstore_close(ts);
            if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK) {
                fprintf(stderr, "reopen: %s\n", err);
                ts = NULL;
                goto out;
            }
            if (verify(ts, ring, nring, it))
                goto out;
        }
    }
    rc = taskstore_check_file(path, stderr) ? 1 : 0;
out:
    printf("store_torture: %d/%d iterations, %ld finished tasks, %.1f s: %s\n",
           it, iterations, nring, clock_now_mono() - t0, rc ? "FAILED" : "ok");
    taskstore_close(ts);
    unlink(path);
    rmdir(dir);
    return rc;
}
