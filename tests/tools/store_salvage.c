/* store_salvage - the task store's crash-salvage test. A store with a few
 * hundred tasks (finished with results of varied sizes, some running) is
 * damaged the way a host crash leaves a MAP_SHARED file: whole pages at
 * random offsets zeroed, filled with garbage, or torn (half zero), header
 * and journal included. Each trial opens the damaged copy: the open must
 * succeed, the new store must check clean, every task whose bytes (record
 * and blobs) were untouched must read back exactly as before (a running
 * one as failed by the restart), and no task may read back different.
 *   usage: store_salvage [TRIALS]   (or STORE_SALVAGE_TRIALS; default
 *   1000) */
#include "autoconfig.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "taskstore.h"

#define NTASKS 200
#define PAGE   4096

struct expect {
    char id[TASK_ID_LEN + 1];
    char *json; /* the task as read before any damage */
    bool running;
    unsigned long long off[3], len[3];
};

static char dir[64], path[128], master[160];
static struct expect tasks[NTASKS];
static const struct taskstore_opts opts = {.retention_days = 7,
                                           .lock_timeout_s = 5};

static char *task_json(struct taskstore *ts, const char *id)
{
    json_object *o = NULL;
    char *s = NULL;

    if (taskstore_get(ts, id, &o) == TS_OK)
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* Build the master copy: NTASKS tasks, one in eight left running. */
static int build(void)
{
    static char res[40 * 1024];
    struct task_new t = {"run_action",  "10.1.2.3",   "redfish",
                         "req-salvage", TASK_RUNNING, getpid(),
                         NULL,          NULL,         NULL};
    struct taskstore *ts;
    char err[512];

    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    for (int i = 0; i < NTASKS; i++) {
        struct expect *e = &tasks[i];
        size_t n = (size_t)(rand() % 8 == 0 ? 30000 : rand() % 600);
        int k = snprintf(res, 64, "{\"success\":true,\"data\":{\"b\":\"");
        memset(res + k, 'a' + i % 26, n);
        strcpy(res + k + n, "\"}}");
        if (taskstore_create(ts, &t, e->id) != TS_OK)
            return -1;
        e->running = i % 8 == 3;
        if (!e->running && taskstore_finish(ts, e->id, TASK_SUCCESS, res, 0,
                                            NULL, NULL) != TS_OK)
            return -1;
    }
    taskstore_close(ts);
    /* reopen: running tasks are failed by the restart, as after a crash */
    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK)
        return -1;
    for (int i = 0; i < NTASKS; i++) {
        tasks[i].json = task_json(ts, tasks[i].id);
        if (!tasks[i].json ||
            taskstore_test_extents(ts, tasks[i].id, tasks[i].off,
                                   tasks[i].len) != TS_OK)
            return -1;
    }
    taskstore_close(ts);
    return rename(path, master);
}

static int copy_file(const char *from, const char *to, off_t *size)
{
    char buf[65536];
    int in = open(from, O_RDONLY),
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n;
    int rc = in >= 0 && out >= 0 ? 0 : -1;

    while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -1;
    struct stat st;
    if (rc == 0 && fstat(in, &st) == 0)
        *size = st.st_size;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Damage 1-4 pages of PATH (SIZE bytes); mark each page hit in HIT. */
static void damage(off_t size, bool *hit, size_t npages)
{
    static unsigned char page[PAGE];
    int fd = open(path, O_WRONLY);
    int k = 1 + rand() % 4;

    for (int i = 0; i < k; i++) {
        size_t pg = (size_t)rand() % npages;
        int how = rand() % 3;
        for (size_t b = 0; b < PAGE; b++)
            page[b] = how == 0 ? 0 : (unsigned char)rand();
        size_t len = how == 2 ? PAGE / 2 : PAGE; /* torn: half of it */
        if ((off_t)(pg * PAGE) >= size)
            continue;
        if (pwrite(fd, page, len, (off_t)(pg * PAGE)) != (ssize_t)len)
            abort();
        hit[pg] = true;
    }
    close(fd);
}

static bool untouched(const struct expect *e, const bool *hit)
{
    for (int x = 0; x < 3; x++)
        for (unsigned long long p = e->off[x] / PAGE;
             e->len[x] && p <= (e->off[x] + e->len[x] - 1) / PAGE; p++)
            if (hit[p])
                return false;
    return true;
}

/* One trial: 0 clean, 1 a violation (printed). */
static int trial(int n, off_t size, bool *hit, size_t npages)
{
    struct taskstore *ts;
    char err[512];
    int bad = 0, lost = 0;

    memset(hit, 0, npages);
    damage(size, hit, npages);
    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK) {
        printf("trial %d: open refused: %s\n", n, err);
        return 1;
    }
    for (int i = 0; i < NTASKS; i++) {
        char *got = task_json(ts, tasks[i].id);
        bool keep = untouched(&tasks[i], hit);
        if (got && strcmp(got, tasks[i].json)) {
            printf("trial %d: task %s reads back different:\n  %s\n  %s\n", n,
                   tasks[i].id, tasks[i].json, got);
            bad = 1;
        } else if (!got && keep) {
            printf("trial %d: intact task %s lost\n", n, tasks[i].id);
            bad = 1;
        }
        lost += !got;
        free(got);
    }
    taskstore_close(ts);
    if (taskstore_check_file(path, stdout) != 0) {
        printf("trial %d: the store opened does not check clean\n", n);
        bad = 1;
    }
    if (bad)
        printf("trial %d: %d of %d tasks lost\n", n, lost, NTASKS);
    return bad;
}

static void remove_damaged_copies(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char f[400];

    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".damaged-")) {
            snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
            unlink(f);
        }
    if (d)
        closedir(d);
}

static void remove_copies(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(int argc, char **argv)
{
    const char *env = getenv("STORE_SALVAGE_TRIALS");
    int trials = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : 1000, bad = 0;
    off_t size = 0;

    log_set_level(BMC_LOG_ERROR);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    /* tmpfs when there is one: a trial fsyncs the store it creates */
    strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/store_salvage.XXXXXX"
                                              : "/tmp/store_salvage.XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(path, sizeof(path), "%s/tasks.store", dir);
    snprintf(master, sizeof(master), "%s/master.store", dir);
    if (build() != 0) {
        fprintf(stderr, "cannot build the store\n");
        remove_copies();
        return 2;
    }
    if (copy_file(master, path, &size))
        return 2;
    size_t npages = (size_t)(size + PAGE - 1) / PAGE;
    bool *hit = calloc(npages, 1);
    for (int n = 0; n < trials && bad < 5; n++) {
        if (copy_file(master, path, &size))
            return 2;
        bad += trial(n, size, hit, npages);
        remove_damaged_copies(); /* they pile up otherwise */
    }
    printf("store_salvage: %d trials, %d with violations\n", trials, bad);
    free(hit);
    remove_copies();
    return bad ? 1 : 0;
}
