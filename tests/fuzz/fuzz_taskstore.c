/* fuzz_taskstore - libFuzzer target: opening a damaged task-store file.
 *
 * At start-up a real store is built (tasks queued, running, finished with
 * a result, failed, and one swept away so that free lists exist) and kept
 * in memory as the template. Each input damages a copy of it, which is
 * written to a file; then taskstore_check_file reports on it, and
 * taskstore_open must refuse it or open it, never crash. An opened store
 * is used (stats, get, create, finish, mark running, fail by owner, sweep)
 * and closed; when the damaged file was consistent to the checker, it must
 * still be consistent after all that.
 *
 * Input:
 *   byte 0     flags: 1 recompute the header's layout checksum after the
 *              damage (so that layout fields get past it), 2 write one
 *              well-formed undo-journal entry (below), 4 resize the file,
 *              8 the journal entry's target offset is taken raw
 *   [flags&2]  journal entry: u64 target offset (arena-relative unless
 *              flags&8), u8 length (mod 64), that many bytes of old data
 *   [flags&4]  i16 size change in 16-byte units
 *   then       patches: u8 region (header, journal, arena, anywhere),
 *              u16 offset, u8 length (mod 33), that many bytes
 *
 * The layout facts below (checksum over the first 64 bytes, journal_used
 * at 72, journal at 4096, arena at 4096 + 256 KiB, the journal entry
 * format) are taskstore.c's; LLVMFuzzerInitialize verifies them on the
 * template and stops if the store's format moved on. */
#include "autoconfig.h"

#include "log.h"
#include "taskid.h"
#include "taskstore.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_SIZE         4096u
#define LAYOUT_LEN       64u
#define LAYOUT_SUM_OFF   64u
#define JOURNAL_USED_OFF 72u
#define JOURNAL_OFF      HDR_SIZE
#define JOURNAL_SIZE     (256u * 1024u)
#define ARENA_OFF        (JOURNAL_OFF + JOURNAL_SIZE)
#define NTASKS           5

static char dir[64], path[128];
static uint8_t *tmpl, *work;
static size_t tmpl_size, work_cap;
static char ids[NTASKS][TASK_ID_LEN + 1];
static const struct taskstore_opts opts = {.max_bytes = 4 << 20,
                                           .retention_days = 7,
                                           .node_id = 5,
                                           .lock_timeout_s = 0.5};

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
    free(tmpl);
    free(work);
}

static uint64_t fnv64(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static uint32_t fnv32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_taskstore: %s%s%s\n", what, err ? ": " : "",
            err ? err : "");
    abort();
}

static void template_fill(struct taskstore *ts)
{
    struct task_new t = {"run_action", "192.0.2.20", "ipmitool",
                         "req-tmpl",   TASK_QUEUED,  4242,
                         NULL,         NULL,         NULL};
    char old[TASK_ID_LEN + 1];

    for (int i = 0; i < NTASKS; i++) {
        t.status = i == 1 ? TASK_RUNNING : TASK_QUEUED;
        if (taskstore_create(ts, &t, ids[i]) != TS_OK)
            die("create", NULL);
    }
    if (taskstore_finish(
            ts, ids[2], TASK_SUCCESS,
            "{\"success\":true,\"message\":\"Power state retrieved\","
            "\"data\":{\"power_state\":\"On\"}}",
            0, NULL, NULL) != TS_OK ||
        taskstore_finish(ts, ids[3], TASK_FAILED, NULL, 1001,
                         "Authentication failed",
                         "the BMC rejected the password") != TS_OK)
        die("finish", NULL);
    /* one task past retention, swept: its blocks go to the free lists */
    if (taskstore_create_at(ts, &t, (double)time(NULL) - 30 * 86400.0, old) !=
            TS_OK ||
        taskstore_sweep(ts, (double)time(NULL)) != TS_OK)
        die("create/sweep", NULL);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The file was grown by a megabyte at once: cut it at the heap's top so
 * that each run writes a fifth as much. Header fields file_bytes (the
 * first u64 equal to the file's size) and heap_top (the next non-zero
 * u64: both are 64-byte aligned) tell where. */
static void template_trim(void)
{
    for (size_t off = JOURNAL_USED_OFF + 8; off + 8 <= HDR_SIZE; off += 8) {
        if (get_u64(tmpl + off) != tmpl_size)
            continue;
        for (size_t t = off + 8; t < off + 128 && t + 8 <= HDR_SIZE; t += 8) {
            uint64_t top = get_u64(tmpl + t);
            if (!top)
                continue;
            if (top < ARENA_OFF || top > tmpl_size || top % 16)
                return;
            memcpy(tmpl + off, &top, 8);
            tmpl_size = (size_t)top;
            return;
        }
        return;
    }
}

/* $TMPDIR, else /dev/shm (a file rewritten per run stays in memory), else
 * /tmp. */
static const char *fuzz_tmpdir(void)
{
    const char *t = getenv("TMPDIR");

    if (t && *t)
        return t;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct taskstore *ts;
    struct stat st;
    char err[512];
    const char *tmp = fuzz_tmpdir();
    int fd;

    (void)argc;
    (void)argv;
    log_set_level(BMC_LOG_ERROR);
    snprintf(dir, sizeof(dir), "%s/fuzz_taskstore.XXXXXX", tmp);
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    snprintf(path, sizeof(path), "%s/tasks.store", dir);
    atexit(cleanup);
    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK)
        die("open template", err);
    template_fill(ts);
    taskstore_close(ts);
    if (taskstore_check_file(path, stderr) != 0)
        die("template is inconsistent", NULL);
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0)
        die("read template", NULL);
    tmpl_size = (size_t)st.st_size;
    tmpl = malloc(tmpl_size);
    if (!tmpl || pread(fd, tmpl, tmpl_size, 0) != (ssize_t)tmpl_size)
        die("read template", NULL);
    close(fd);
    if (memcmp(tmpl, "BMCTASKS", 8) != 0 ||
        get_u64(tmpl + LAYOUT_SUM_OFF) != fnv64(tmpl, LAYOUT_LEN) ||
        get_u64(tmpl + JOURNAL_USED_OFF) != 0 || tmpl_size < ARENA_OFF)
        die("the task store's layout changed: update fuzz_taskstore.c", NULL);
    template_trim();
    fprintf(stderr, "fuzz_taskstore: template store of %zu bytes in %s\n",
            tmpl_size, dir);
    work_cap = tmpl_size + 32768 * 16;
    work = malloc(work_cap);
    if (!work)
        die("out of memory", NULL);
    return 0;
}

/* Consume N bytes of input, or NULL when fewer are left. */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t n)
{
    const uint8_t *r = *p;

    if ((size_t)(end - *p) < n)
        return NULL;
    *p += n;
    return r;
}

/* One well-formed undo entry {off, len, sum} + data + start, and
 * journal_used pointing past it. */
static const uint8_t *journal_entry(const uint8_t *p, const uint8_t *end,
                                    bool raw, size_t size)
{
    const uint8_t *h = take(&p, end, 9), *d;
    struct {
        uint64_t off;
        uint32_t len, sum;
    } e;
    uint64_t start = 0, used;

    if (!h)
        return p;
    e.off = get_u64(h);
    e.len = h[8] % 64;
    if (!raw)
        e.off = ARENA_OFF + e.off % (size > ARENA_OFF ? size - ARENA_OFF : 1);
    if (!(d = take(&p, end, e.len)))
        return p;
    e.sum = fnv32(fnv32(fnv32(2166136261u, &e.off, 8), &e.len, 4), d, e.len);
    used = sizeof(e) + ((e.len + 7u) & ~7u) + 8;
    if (size < JOURNAL_OFF + used)
        return p;
    memcpy(work + JOURNAL_OFF, &e, sizeof(e));
    memcpy(work + JOURNAL_OFF + sizeof(e), d, e.len);
    memcpy(work + JOURNAL_OFF + used - 8, &start, 8);
    memcpy(work + JOURNAL_USED_OFF, &used, 8);
    return p;
}

static void patch(const uint8_t *p, const uint8_t *end, size_t size)
{
    const uint8_t *h, *d;

    while ((h = take(&p, end, 4))) {
        size_t off = (size_t)(h[1] | h[2] << 8), len = h[3] % 33, base, span;
        switch (h[0] % 4) {
        case 0: base = 0, span = HDR_SIZE; break;
        case 1: base = JOURNAL_OFF, span = JOURNAL_SIZE; break;
        case 2:
            base = ARENA_OFF, span = size > ARENA_OFF ? size - ARENA_OFF : 1;
            break;
        default: base = 0, span = size ? size : 1; break;
        }
        off = base + off % span;
        if (!(d = take(&p, end, len)))
            return;
        if (off + len <= size)
            memcpy(work + off, d, len);
    }
}

/* The damaged file: SIZE bytes of WORK. */
static size_t build(const uint8_t *data, size_t size)
{
    const uint8_t *p = data + 1, *end = data + size;
    size_t n = tmpl_size;
    uint8_t flags = data[0];

    memcpy(work, tmpl, tmpl_size);
    memset(work + tmpl_size, 0, work_cap - tmpl_size);
    if (flags & 2)
        p = journal_entry(p, end, flags & 8, n);
    if (flags & 4) {
        const uint8_t *r = take(&p, end, 2);
        if (r) {
            long delta = (long)(int16_t)(r[0] | r[1] << 8) * 16;
            n = delta < -(long)tmpl_size ? 0
                                         : (size_t)((long)tmpl_size + delta);
        }
    }
    patch(p, end, n);
    if ((flags & 1) && n >= LAYOUT_SUM_OFF + 8) {
        uint64_t sum = fnv64(work, LAYOUT_LEN);
        memcpy(work + LAYOUT_SUM_OFF, &sum, 8);
    }
    return n;
}

static void write_file(size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0 || (n && write(fd, work, n) != (ssize_t)n) || close(fd) != 0)
        die("write", NULL);
}

/* Everything a daemon does with its store, on the store just opened. */
static void use_store(struct taskstore *ts)
{
    struct taskstore_stats st;
    struct task_new t = {"get_power_state",
                         "192.0.2.21",
                         "redfish",
                         NULL,
                         TASK_QUEUED,
                         77,
                         NULL,
                         NULL,
                         NULL};
    char id[TASK_ID_LEN + 1];
    json_object *task;
    long running;

    (void)taskstore_stats(ts, &st);
    (void)taskstore_count_running(ts, &running);
    for (int i = 0; i < NTASKS; i++) {
        task = NULL;
        (void)taskstore_get(ts, ids[i], &task);
        json_object_put(task);
    }
    (void)taskstore_mark_running(ts, ids[0], 78);
    if (taskstore_create(ts, &t, id) == TS_OK) {
        (void)taskstore_mark_running(ts, id, 77);
        (void)taskstore_finish(ts, id, TASK_SUCCESS, "{\"success\":true}", 0,
                               NULL, NULL);
        task = NULL;
        (void)taskstore_get(ts, id, &task);
        json_object_put(task);
    }
    (void)taskstore_create(ts, &t, id);
    (void)taskstore_fail_owned_by(ts, 77, "the worker died");
    (void)taskstore_sweep(ts, (double)time(NULL));
    (void)taskstore_sweep(ts, (double)time(NULL) + 8 * 86400.0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct taskstore *ts = NULL;
    char err[1024];

    if (size < 1 || size > 65536)
        return 0;
    write_file(build(data, size));
    int before = taskstore_check_file(path, NULL);
    if (taskstore_open(path, &opts, &ts, err, sizeof(err)) != TS_OK) {
        if (ts || !err[0])
            abort();
        return 0;
    }
    use_store(ts);
    taskstore_close(ts);
    int after = taskstore_check_file(path, before == 0 ? stderr : NULL);
    if (before == 0 && after != 0) {
        fprintf(stderr,
                "a consistent store became inconsistent (%d problems)\n",
                after);
        abort();
    }
    return 0;
}
