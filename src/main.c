/* main.c - bmc-managerd: configuration, sockets, task store, master. */
#include "autoconfig.h"

#include "auth.h"
#include "config.h"
#include "credentials.h"
#include "executor.h"
#include "gate.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "methods.h"
#include "policy.h"
#include "probe_cache.h"
#include "probe_modules.h"
#include "router.h"
#include "secmem.h"
#include "sockets.h"
#include "taskstore.h"
#include "tlspin.h"
#include "webhook.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bmc-managerd [--check-config | --print-config | "
               "--list-methods |\n"
               "                    --list-routes | --hash-token < TOKEN |\n"
               "                    --forget-bmc ADDR[:PORT] |\n"
               "                    --check-store FILE | --version | --help]\n"
               "Configuration comes from BMC_* environment variables; see "
               "bmc-managerd(8) and the README.\n");
}

static int open_store(struct taskstore **store, char *err, size_t errlen)
{
    char path[512];
    struct taskstore_opts opts = {
        .max_bytes = bmc_cfg.store_max_bytes,
        .max_tasks = bmc_cfg.max_tasks,
        .retention_days = bmc_cfg.task_retention_days,
        .node_id = bmc_cfg.node_id,
        .lock_timeout_s = 2.0,
    };
    snprintf(path, sizeof(path), "%s/tasks.store", bmc_cfg.state_dir);
    return taskstore_open(path, &opts, store, err, errlen) == TS_OK ? 0 : -1;
}

/* The per-BMC gate: shared memory every child inherits. A build configured
 * --enable-bench-gate-off (for tests/bench/gate only) runs without one. */
static int open_gate(char *err, size_t errlen)
{
#ifdef BMC_BENCH_GATE_OFF
    (void)err;
    (void)errlen;
    log_warn("gate_off", "reason=\"built with --enable-bench-gate-off, for "
                         "tests/bench/gate only: BMCs are not protected\"");
    return 0;
#else
    return gate_init(GATE_DEFAULT_ENTRIES, bmc_cfg.max_per_bmc, err, errlen);
#endif
}

/* Store first (its flock refuses a second daemon), then the gate, the
 * executor's socket and the listening sockets, then the master with its
 * children. One exit path undoes whatever was set up, in reverse order. */
static int start(char *err, size_t errlen)
{
    struct taskstore *store = NULL;
    struct listen_sockets ls = {.bmc_fd = -1, .light_fd = -1};
    int executor_fd = -1, rc = 1;

    if (open_store(&store, err, errlen))
        goto out;
    if (open_gate(err, errlen))
        goto out;
    /* the counters behind /metrics and the probe's cache: shared memory
     * too; the probe's modules checked before any child exists */
    if (metrics_init(err, errlen) || probe_cache_init(err, errlen) ||
        probe_modules_load(err, errlen))
        goto out;
    executor_fd = executor_listen(err, errlen);
    if (executor_fd < 0)
        goto out;
    if (sockets_open(&ls, err, errlen))
        goto out;
    rc = master_run(&ls, store, executor_fd);
out:
    sockets_close(&ls);
    if (executor_fd >= 0) {
        close(executor_fd);
        unlink(executor_socket_path());
    }
    if (store)
        taskstore_close(store);
    return rc;
}

int main(int argc, char **argv)
{
    char err[512];
    int rc;

    /* before any secret is in memory (tokens, credentials, a token read
     * by --hash-token): no core file, not dumpable */
    if (secmem_harden() != 0) {
        fprintf(stderr, "bmc-managerd: cannot make the process undumpable\n");
        return 1;
    }

    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("bmc-managerd %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--list-methods")) {
        methods_print_json(stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--list-routes")) {
        router_print_access(stdout);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "--forget-bmc")) {
        if (config_load(err, sizeof(err))) {
            fprintf(stderr, "bmc-managerd: %s\n", err);
            return 2;
        }
        rc = tlspin_forget(argv[2], stdout, stderr);
        config_free();
        return rc;
    }
    if (argc > 1 && !strcmp(argv[1], "--hash-token"))
        return auth_hash_token(stdin, stdout, stderr) ? 2 : 0;
    if (argc > 2 && !strcmp(argv[1], "--check-store")) {
        int problems = taskstore_check_file(argv[2], stderr);
        printf("%s: %s\n", argv[2], problems ? "INCONSISTENT" : "consistent");
        return problems ? 1 : 0;
    }
    if (config_load(err, sizeof(err)) || policy_load(err, sizeof(err)) ||
        auth_load(err, sizeof(err)) || credentials_load(err, sizeof(err)) ||
        webhook_load(err, sizeof(err))) {
        fprintf(stderr, "bmc-managerd: %s\n", err);
        return 2;
    }
    if (argc > 1 && !strcmp(argv[1], "--check-config"))
        return 0;
    if (argc > 1 && !strcmp(argv[1], "--print-config")) {
        config_print(stdout);
        return 0;
    }
    if (argc > 1) {
        usage(stderr);
        return 2;
    }
    log_set_level(bmc_cfg.log_level);
    log_reopen(); /* BMC_LOG_FILE from the first line on, not after SIGHUP */
    rc = start(err, sizeof(err));
    if (rc)
        fprintf(stderr, "bmc-managerd: %s\n", err);
    webhook_free();
    credentials_free();
    auth_free();
    policy_free();
    config_free();
    return rc;
}
