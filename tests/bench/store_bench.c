/* store_bench - task store figures, in-process (no HTTP):
 *   creates+finishes per second from 1 and from 2 processes,
 *   taskstore_get latency with 100 stored tasks vs N (default 1,000,000),
 *   file bytes per task at N tasks.
 *   usage: store_bench [N] [SECONDS]   (store in a fresh /tmp directory) */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "taskstore.h"

static const char *result =
    "{\"success\":true,\"message\":\"Method executed successfully\","
    "\"data\":{\"message\":\"Command Accepted "
    "(204)\",\"power_state\":\"On\"}}";
static const struct task_new task = {
    "run_action", "10.20.30.40",
    "redfish",    "0123456789abcdef0123456789abcdef",
    TASK_RUNNING, 1,
    NULL,         NULL,
    NULL};

static struct taskstore *store_fresh(const char *dir, int n, char *path,
                                     size_t plen)
{
    struct taskstore_opts o = {.max_bytes = 8LL << 30, .retention_days = 7};
    struct taskstore *ts = NULL;
    char err[512];

    snprintf(path, plen, "%s/bench%d.store", dir, n);
    unlink(path);
    if (taskstore_open(path, &o, &ts, err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return ts;
}

static long create_finish_for(struct taskstore *ts, double seconds,
                              char (*ids)[TASK_ID_LEN + 1], long max)
{
    char id[TASK_ID_LEN + 1];
    double end = clock_now_mono() + seconds;
    long n = 0;

    while ((seconds <= 0 || clock_now_mono() < end) && (max <= 0 || n < max)) {
        if (taskstore_create(ts, &task, id) != TS_OK ||
            taskstore_finish(ts, id, TASK_SUCCESS, result, 0, NULL, NULL) !=
                TS_OK) {
            fprintf(stderr, "create/finish failed after %ld\n", n);
            exit(1);
        }
        if (ids)
            memcpy(ids[n], id, sizeof(id));
        n++;
    }
    return n;
}

static double two_processes(struct taskstore *ts, double seconds)
{
    int p[2];
    long total = 0, got;

    if (pipe(p))
        exit(1);
    for (int w = 0; w < 2; w++)
        if (fork() == 0) {
            got = create_finish_for(ts, seconds, NULL, 0);
            if (write(p[1], &got, sizeof(got)) != sizeof(got))
                _exit(1);
            _exit(0);
        }
    for (int w = 0; w < 2; w++) {
        if (read(p[0], &got, sizeof(got)) == sizeof(got))
            total += got;
        wait(NULL);
    }
    close(p[0]);
    close(p[1]);
    return (double)total / seconds;
}

static double lookup_ns(struct taskstore *ts, char (*ids)[TASK_ID_LEN + 1],
                        long n, long ops)
{
    double t0 = clock_now_mono();
    unsigned r = 12345;

    for (long i = 0; i < ops; i++) {
        json_object *o;
        r = r * 1103515245u + 12345u;
        if (taskstore_get(ts, ids[(long)(r >> 4) % n], &o) != TS_OK) {
            fprintf(stderr, "lookup failed\n");
            exit(1);
        }
        json_object_put(o);
    }
    return (clock_now_mono() - t0) / (double)ops * 1e9;
}

/* Lock + index probe + record read, no JSON: mark_running on a finished
 * task finds it and answers TS_NOT_FOUND without changing anything. */
static double probe_ns(struct taskstore *ts, char (*ids)[TASK_ID_LEN + 1],
                       long n, long ops)
{
    double t0 = clock_now_mono();
    unsigned r = 777;

    for (long i = 0; i < ops; i++) {
        r = r * 1103515245u + 12345u;
        if (taskstore_mark_running(ts, ids[(long)(r >> 4) % n], 1) !=
            TS_NOT_FOUND)
            exit(1);
    }
    return (clock_now_mono() - t0) / (double)ops * 1e9;
}

int main(int argc, char **argv)
{
    long big = argc > 1 ? atol(argv[1]) : 1000000;
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    char dir[] = "/tmp/store_bench.XXXXXX", path[256];
    struct taskstore_stats st;

    if (!mkdtemp(dir))
        return 1;
    char(*ids)[TASK_ID_LEN + 1] = malloc((size_t)big * (TASK_ID_LEN + 1));
    if (!ids)
        return 1;

    struct taskstore *ts = store_fresh(dir, 1, path, sizeof(path));
    long n1 = create_finish_for(ts, secs, NULL, 0);
    printf("creates+finishes/s, 1 process:   %.0f\n", (double)n1 / secs);
    taskstore_close(ts);
    unlink(path);

    ts = store_fresh(dir, 2, path, sizeof(path));
    printf("creates+finishes/s, 2 processes: %.0f\n", two_processes(ts, secs));
    taskstore_close(ts);
    unlink(path);

    ts = store_fresh(dir, 3, path, sizeof(path));
    create_finish_for(ts, 0, ids, 100);
    double small = lookup_ns(ts, ids, 100, 200000);
    double psmall = probe_ns(ts, ids, 100, 1000000);
    printf("taskstore_get, 100 tasks:        %.0f ns (lookup alone %.0f ns)\n",
           small, psmall);
    double t0 = clock_now_mono();
    create_finish_for(ts, 0, ids + 100, big - 100);
    double fill = clock_now_mono() - t0;
    double large = lookup_ns(ts, ids, big, 200000);
    double plarge = probe_ns(ts, ids, big, 1000000);
    taskstore_stats(ts, &st);
    printf("taskstore_get, %ld tasks:    %.0f ns (lookup alone %.0f ns; get "
           "ratio %.2f; "
           "filled in %.1f s)\n",
           big, large, plarge, small / large, fill);
    printf("file bytes per task at %ld:  %.0f (file %.1f MiB)\n", st.tasks,
           (double)st.file_bytes / (double)st.tasks,
           (double)st.file_bytes / 1048576.0);
    t0 = clock_now_mono();
    int problems = taskstore_check_file(path, stderr);
    printf("check of the %ld-task file:   %s in %.1f s\n", st.tasks,
           problems ? "INCONSISTENT" : "consistent", clock_now_mono() - t0);
    taskstore_close(ts);
    unlink(path);
    rmdir(dir);
    free(ids);
    return problems ? 1 : 0;
}
