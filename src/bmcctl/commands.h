/* commands.h - bmcctl's command table: every command, the service method
 * and endpoint it calls, the options it takes and the parameters they
 * fill, and how its answer is shown as a table. One file, so that a test
 * can hold it against `bmc-managerd --list-methods` (`bmcctl
 * --list-commands`) and no method is forgotten.
 * Owns: nothing; the table is static. */
#ifndef BMCCTL_COMMANDS_H
#define BMCCTL_COMMANDS_H

#include <stdio.h>

/* Options a command accepts, each filling one parameter (commands.c's
 * option_params says which). */
enum cmd_opt {
    COPT_WAIT = 1 << 0,          /* --wait: wait_for_state_seconds */
    COPT_PERSISTENT = 1 << 1,    /* --persistent */
    COPT_MODE = 1 << 2,          /* --uefi / --legacy: mode */
    COPT_MEDIA = 1 << 3,         /* --media cd|usb */
    COPT_WRITABLE = 1 << 4,      /* --writable: write_protected false */
    COPT_TYPE = 1 << 5,          /* --type */
    COPT_LIMIT = 1 << 6,         /* --limit */
    COPT_SECONDS = 1 << 7,       /* --seconds */
    COPT_ROLE = 1 << 8,          /* --role */
    COPT_ENABLED = 1 << 9,       /* --enable / --disable: enabled */
    COPT_NEW_PASSWORD = 1 << 10, /* --new-password: prompted */
    COPT_KIND = 1 << 11,         /* --cold: kind */
    COPT_SYSTEM = 1 << 12,       /* --system: system_id */
    COPT_CHANNEL = 1 << 13,      /* --channel */
    COPT_BMC_WAIT = 1 << 14,     /* --wait-seconds: wait_seconds */
    COPT_TASK_WAIT = 1 << 15,    /* task --wait: poll until it ends */
};

enum cmd_kind {
    CMD_BMC,    /* one method call per target */
    CMD_TASK,   /* GET /tasks/ID */
    CMD_HEALTH, /* GET /health */
};

struct command {
    const char *name, *sub; /* "power", "on"; sub NULL: none */
    enum cmd_kind kind;
    const char *method;                    /* the registry's name */
    const char *endpoint;                  /* its convenience endpoint */
    const char *action;                    /* run_action: the action sent */
    const char *fixed_param, *fixed_value; /* a parameter the command sets */
    const char *arg;       /* a positional before the hosts ("DEVICE") */
    const char *arg_param; /* the parameter it fills */
    unsigned opts;         /* enum cmd_opt */
    const char *rows;      /* data key of the list shown a row per item */
    const char *columns;   /* "HEADER=key|alternative.key,..." */
    const char *summary;
};

/* The command named NAME (and SUB, for those that have one); NULL when
 * none. *NEEDS_SUB is set when NAME exists but wants a SUB. */
const struct command *commands_find(const char *name, const char *sub,
                                    int *needs_sub);

/* The parameter that option OPT fills ("persistent"), NULL if none. */
const char *commands_option_param(enum cmd_opt opt);

/* Write the table as a JSON array: command, method, endpoint, params
 * (what the command may send as the method's parameters), fields (the
 * endpoint's own fields). */
void commands_print_json(FILE *out);

/* Usage lines of every command (for --help). */
void commands_print_usage(FILE *out);

/* Usage of the commands named NAME. */
void commands_print_usage_of(FILE *out, const char *name);

#endif
