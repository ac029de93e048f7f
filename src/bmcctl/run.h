/* run.h - carrying out one bmcctl command: the request bodies, one sync
 * call for one target, one bulk call (or async calls and polling when
 * the service has no bulk endpoint) for several, the output, the exit
 * status.
 * Owns: the jobs of a run, the service's answers, the bodies (secrets in
 * them wiped before they are freed). */
#ifndef BMCCTL_RUN_H
#define BMCCTL_RUN_H

#include "commands.h"
#include "targets.h"

#include <json-c/json.h>
#include <stdbool.h>

enum bmcctl_exit {
    EXIT_DONE = 0, /* every target succeeded */
    EXIT_BMC_SAID_NO = 1,
    EXIT_USAGE = 2,
    EXIT_AUTH = 3,       /* the BMC's or the service's authentication */
    EXIT_CONNECTION = 4, /* to a BMC */
    EXIT_SERVICE = 5,    /* the service failed, refused or was not there */
};

struct run_opts {
    const char *url, *token;
    const char *username, *password, *credential;
    const char *protocol;   /* NULL: redfish unless a credential is used */
    int port, cipher_suite; /* -1: not given */
    bool json, quiet, no_bulk;
    int retry_times;     /* -1: not given */
    double delay;        /* -1: not given */
    bool wait;           /* --wait (or --wait-seconds) given */
    double wait_seconds; /* -1: not given */
    const char *system_id, *media, *type, *role, *kind, *mode;
    int limit, seconds, channel; /* -1: not given */
    bool persistent, writable;
    int enabled; /* -1 not given, 0 --disable, 1 --enable */
    const char *new_password;
    unsigned given;  /* enum cmd_opt: the options given */
    const char *arg; /* the command's positional argument */
};

/* Run CMD for TARGETS (none for task and health); the exit status. */
int run_command(const struct command *cmd, const struct run_opts *o,
                const struct target_list *targets);

/* The exit status an error code stands for (1001 -> 3, 1002 -> 4, ...). */
int run_exit_for_code(int code);

/* The exit status of one answer of the service: HTTP STATUS (0: none)
 * and its JSON (an envelope, or a task lookup). */
int run_exit_for_answer(long status, json_object *answer);

#endif
