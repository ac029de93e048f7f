/* main.c - bmc-managerd: configuration, sockets, task store, master. */
#include "autoconfig.h"

#include "config.h"
#include "log.h"
#include "master.h"
#include "sockets.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bmc-managerd [--check-config | --print-config | --version | --help]\n"
               "Configuration comes from BMC_* environment variables; see "
               "bmc-managerd(8) and the README.\n");
}

int main(int argc, char **argv)
{
    char err[512];
    struct listen_sockets ls;
    int rc;

    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("bmc-managerd %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (config_load(err, sizeof(err))) {
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
    if (sockets_open(&ls, err, sizeof(err))) {
        fprintf(stderr, "bmc-managerd: %s\n", err);
        return 1;
    }
    rc = master_run(&ls, NULL);
    sockets_close(&ls);
    config_free();
    return rc;
}
