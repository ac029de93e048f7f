/* backend.h - the contract between the engine and the protocol backends
 * (redfish.c, ipmi.c): the connection a request names, the outcome of one
 * operation, and the table of operations each backend implements.
 * Owns: nothing; see each struct for who owns its members. */
#ifndef BMC_BACKEND_H
#define BMC_BACKEND_H

#include "errors.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

enum bmc_protocol { BMC_PROTO_REDFISH, BMC_PROTO_IPMI };

/* The one mapping of protocols to the names requests, tasks and logs use:
 * "redfish", "ipmitool" (static string). */
const char *bmc_protocol_name(enum bmc_protocol protocol);

/* The protocol called NAME; 0, or -1 when NAME is none of them. */
int bmc_protocol_parse(const char *name, enum bmc_protocol *out);

#define BMC_IP_MAX       64  /* textual IPv4/IPv6 literal, NUL included */
#define BMC_USERNAME_MAX 257 /* 64 UTF-8 characters (<= 4 bytes each) + NUL */
#define BMC_PASSWORD_MAX 257 /* 256 bytes + NUL */
#define BMC_TLS_PIN_MAX  256 /* "sha256//<base64>[;sha256//...]" + NUL */

/* The BMC a request names. The password lives only here, in the memory of
 * the process serving the request; wipe it with conn_wipe when done. */
struct bmc_conn {
    char ip[BMC_IP_MAX];
    char username[BMC_USERNAME_MAX];
    char password[BMC_PASSWORD_MAX];
    enum bmc_protocol protocol;
    int cipher_suite; /* IPMI only; 0-17, default 17 */
    int port;         /* 443 (Redfish) / 623 (IPMI) unless the request says */
    char tls_pin[BMC_TLS_PIN_MAX]; /* a credential's explicit pin, or "" */
};

/* Overwrite the password in a way the compiler cannot elide. */
void conn_wipe(struct bmc_conn *conn);

/* The result of one backend operation.
 *  - code == 0: the operation reached the BMC and finished. `success` says
 *    what the BMC did; `message` is the BMC's own message when it said no
 *    (e.g. "Action 'X' is not supported"), `data` the method payload.
 *  - code != 0: a classified failure (1xxx connection/auth/protocol, 3001
 *    execution failed, 3002 deadline passed); `details` explains it and
 *    never contains a password.
 * `data` is owned by the outcome: free it with outcome_clear. */
struct bmc_outcome {
    enum bmc_err code;
    bool success;
    char message[256];
    char details[512];
    json_object *data;
    /* At most once (DESIGN.md): true when a mutating exchange of this
     * operation may have reached the BMC (it was sent, or sending had
     * begun). A failure with this set is never repeated by the engine:
     * the call ends with its own code and says the outcome is unknown.
     * False only when it is certain that the BMC received no command
     * (connection or TLS handshake failed, gate wait expired, never
     * started). outcome_fail and outcome_done leave it as it is. */
    bool maybe_delivered;
};

/* Initialise OUT to {code 0, success false, empty strings, data NULL,
 * maybe_delivered false}. */
void outcome_init(struct bmc_outcome *out);

/* Release OUT->data and re-initialise OUT. */
void outcome_clear(struct bmc_outcome *out);

/* Set a classified failure: code, details (printf format), data freed. */
void outcome_fail(struct bmc_outcome *out, enum bmc_err code, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

/* Set a completed operation with SUCCESS, MESSAGE (may be NULL) and DATA
 * (ownership taken; may be NULL, then an empty object is used). */
void outcome_done(struct bmc_outcome *out, bool success, const char *message,
                  json_object *data);

/* One call of a backend operation. */
struct bmc_call {
    const struct bmc_conn *conn;
    double deadline;        /* CLOCK_MONOTONIC seconds (clock_now_mono) */
    const char *request_id; /* for logs; may be NULL */
    json_object *params;    /* method parameters (borrowed); may be NULL.
                               run_action reads "action_name"; Redfish reads
                               optional "system_id". */
};

typedef void (*bmc_op_fn)(const struct bmc_call *call,
                          struct bmc_outcome *out);

/* What every backend implements. Payloads (outcome.data):
 *   validate_connection  {"ok": true}
 *   get_power_state      {"power_state": "On"|"Off"|... (Redfish)
 *                                        or "on"|"off" (IPMI)}
 *   list_actions         {"actions": [...]}
 *   run_action           {"message": "Command Accepted (204)"
 *                                    | ipmitool's line, ...}
 *                        unsupported action: success=false, message
 *                        "Action 'X' is not supported", data.actions = list
 *   list_users           {"users": [{id, name, role, enabled, ...}]}
 *   get_fw_version       {"fw_version": ...,
 *                         + bios_version | manufacturer, product}
 */
struct bmc_backend {
    const char *name; /* "redfish" | "ipmitool" */
    bmc_op_fn validate_connection;
    bmc_op_fn get_power_state;
    bmc_op_fn list_actions;
    bmc_op_fn run_action;
    bmc_op_fn list_users;
    bmc_op_fn get_fw_version;
    /* Operations beyond power, by area (NULL: the protocol does not have
     * it; the service answers 2002 "not supported over <name>"). */
    /* -- provisioning: boot device, virtual media -- */
    bmc_op_fn get_boot_device;      /* {boot_device, persistent, mode,
                                       allowed, ...} */
    bmc_op_fn set_boot_device;      /* the state read back + verified */
    bmc_op_fn get_virtual_media;    /* {slots: [...]} */
    bmc_op_fn insert_virtual_media; /* the slot read back */
    bmc_op_fn eject_virtual_media;  /* the slot read back */
    bmc_op_fn boot_from_media;      /* {steps: [...], ...} */
    /* -- machine health: sensors, event log, inventory, identify -- */
    bmc_op_fn get_sensors;
    bmc_op_fn get_event_log;
    bmc_op_fn clear_event_log;
    bmc_op_fn get_inventory;
    bmc_op_fn set_identify;
    bmc_op_fn reset_bmc;
    /* -- BMC accounts -- */
    bmc_op_fn create_user;
    bmc_op_fn modify_user;
    bmc_op_fn delete_user;
    /* True when every operation authenticates with the BMC itself before
     * it reads or changes anything, failing with the codes a validation
     * would: the engine then skips the separate validation exchange,
     * which would only repeat the same handshake (IPMI: each ipmitool run
     * opens its own RMCP+ session). */
    bool ops_authenticate;
    /* Called once when an engine call (validation, attempts, polls) is
     * over, on the thread that made it; may be NULL. Lets a backend keep
     * per-call state (a connection, discovery) and drop it here. */
    void (*end_call)(void);
    /* Whether the backend can work at all on this host (IPMI: ipmitool
     * is installed), with where its tool was found (or looked for) in
     * WHERE; NULL means always available. For /health. */
    bool (*available)(char *where, size_t len);
};

extern const struct bmc_backend redfish_backend; /* redfish.c */
extern const struct bmc_backend ipmi_backend;    /* ipmi.c */

#endif
