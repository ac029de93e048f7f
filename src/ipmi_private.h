/* ipmi_private.h - what the IPMI backend's files share (ipmi.c runs
 * ipmitool; ipmi_users.c manages accounts with it): one ipmitool run and
 * the ways its output becomes an outcome. Not for use outside the IPMI
 * backend.
 * Owns: each struct run's capture buffers and password copy (run_clear). */
#ifndef BMC_IPMI_PRIVATE_H
#define BMC_IPMI_PRIVATE_H

#include "backend.h"
#include "ipmi_parse.h"
#include "subprocess.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define ARGV_MAX 32

/* Everything one ipmitool run needs; the password copy is wiped by
 * run_clear. */
struct run {
    char tool[PATH_MAX];
    char port[16], suite[16], retries[16], timeout[16];
    char pwenv[sizeof("IPMI_PASSWORD=") + BMC_PASSWORD_MAX];
    const char *argv[ARGV_MAX];
    char *envp[4];
    struct ipmi_timing timing;
    struct subproc_result res;
    /* a secret for ipmitool's prompt (stdin), or NULL; wiped by the caller */
    const char *stdin_data;
    size_t stdin_len;
    /* leave out -v: commands whose stdout it changes (`sel elist` prints
     * every record in full with it) */
    bool no_verbose;
};

/* Wipe R's password copy and free its captures. */
void run_clear(struct run *r);

/* Run CMD (one ipmitool run through the BMC's gate; POWER_CHANGE: alone on
 * its BMC, one retransmission at most); 0 when ipmitool exited 0
 * (R->res.out holds stdout), otherwise -1 with OUT set (a classified
 * failure, or the BMC's refusal as success:false when REFUSAL_ANSWERS). */
int run_cmd(struct run *r, const struct bmc_call *call, const char *const *cmd,
            bool power_change, bool csv, bool refusal_answers,
            struct bmc_outcome *out);

/* Run read-only command CMD (CSV output when CSV) and turn its output into
 * the outcome's data with PARSE; WHAT names the command in errors. */
void run_parsed(const struct bmc_call *call, const char *const *cmd, bool csv,
                json_object *(*parse)(const char *), const char *what,
                struct bmc_outcome *out);

/* OUT = 3001 "unexpected ipmitool output for WHAT: '<first line>'". */
void fail_output(struct bmc_outcome *out, const char *what,
                 const char *stdout_text);

/* Machine health (ipmi_health.c). */
void ipmi_get_sensors(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_get_event_log(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_clear_event_log(const struct bmc_call *call,
                          struct bmc_outcome *out);
void ipmi_get_inventory(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_set_identify(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_reset_bmc(const struct bmc_call *call, struct bmc_outcome *out);

/* Accounts (ipmi_users.c). */
void ipmi_create_user(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_modify_user(const struct bmc_call *call, struct bmc_outcome *out);
void ipmi_delete_user(const struct bmc_call *call, struct bmc_outcome *out);

/* The string parameter KEY of CALL, or NULL (borrowed). */
const char *param_string(const struct bmc_call *call, const char *key);

#endif
