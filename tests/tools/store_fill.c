/* store_fill - fill a task store file with N finished tasks, for the
 * lookup benchmark (tests/bench/store): usage `store_fill PATH N [K]`.
 * Writes K (default 100) of the ids, spread over the N, one per line on
 * stdout. The file must not be in use by a daemon (its flock says so). */
#include "autoconfig.h"

#include "taskstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *result =
    "{\"success\":true,\"message\":\"Method executed successfully\","
    "\"data\":{\"message\":\"Command Accepted "
    "(204)\",\"power_state\":\"On\"}}";

int main(int argc, char **argv)
{
    struct taskstore_opts opts = {.max_bytes = 16LL << 30,
                                  .retention_days = 7};
    struct taskstore *ts = NULL;
    struct task_new t = {"run_action", "10.20.30.40", "redfish",
                         NULL,         TASK_RUNNING,  getpid(),
                         NULL,         NULL,          NULL};
    char err[512], id[TASK_ID_LEN + 1];

    if (argc < 3) {
        fprintf(stderr, "usage: store_fill PATH N [K]\n");
        return 2;
    }
    long n = atol(argv[2]), k = argc > 3 ? atol(argv[3]) : 100;
    long every = n / (k > 0 ? k : 1);
    if (taskstore_open(argv[1], &opts, &ts, err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        if (taskstore_create(ts, &t, id) != TS_OK ||
            taskstore_finish(ts, id, TASK_SUCCESS, result, 0, NULL, NULL) !=
                TS_OK) {
            fprintf(stderr, "store_fill: failed at task %ld\n", i);
            taskstore_close(ts);
            return 1;
        }
        if (every < 1 || i % every == 0)
            printf("%s\n", id);
    }
    taskstore_close(ts);
    return 0;
}
