/* redfish_private.h - what the Redfish backend's resource files share
 * (redfish_op.c, redfish_discovery.c, redfish_power.c, redfish_accounts.c,
 * redfish_manager.c; the table itself is in redfish.c): the state of one
 * operation, its exchanges through the one transport (redfish_transport.h),
 * and discovery of the service root, the system and its manager.
 * Not for use outside the Redfish backend.
 * Owns: each rf_op's documents (root, system), freed by rf_op_end; a
 * thread's discovery cache (dropped by rf_cache_clear at end of call). */
#ifndef BMC_REDFISH_PRIVATE_H
#define BMC_REDFISH_PRIVATE_H

#include "backend.h"
#include "redfish.h"
#include "redfish_parse.h"
#include "redfish_prov_parse.h"
#include "redfish_transport.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define RF_ROOT              "/redfish/v1"
#define RF_PAGES_MAX         16  /* collection pages followed */
#define RF_TASK_POLL_SECONDS 0.5 /* task monitor polling interval */

/* The state of one operation: the call, its outcome and what discovery
 * found so far (documents owned here, freed by rf_op_end). */
struct rf_op {
    const struct bmc_call *call;
    struct bmc_outcome *out;
    const char *name;
    double start;
    long requests0, connections0;
    json_object *root;
    json_object *system;
    char system_path[RF_PATH_MAX];
    char seen[RF_NAME_MAX]; /* the last PowerState read */
    char allow[128];        /* the Allow header of the last rf_get, or "" */
};

/* ---- redfish_op.c: one operation and its exchanges ---------------------- */

/* Start operation NAME of CALL (OUT cleared); end it (log line, documents
 * freed). */
void rf_op_begin(struct rf_op *op, const char *name,
                 const struct bmc_call *call, struct bmc_outcome *out);
void rf_op_end(struct rf_op *op);

/* One HTTP exchange; MUTATING when it changes the machine or the BMC (the
 * caller knows; the transport never guesses). A transport failure fills
 * the outcome. 0 or -1. */
int rf_exchange(struct rf_op *op, const char *method, const char *path,
                const char *body, const char *if_match, bool mutating,
                struct rf_response *resp);

/* GET PATH as a JSON object into *DOC (owned by the caller), and its ETag
 * (header, else @odata.etag) into ETAG when given. Any failure fills the
 * outcome. 0 or -1. */
int rf_get(struct rf_op *op, const char *path, json_object **doc, char *etag,
           size_t etaglen);

/* A mutating METHOD (POST/PATCH/DELETE) of BODY to PATH, with If-Match ETAG
 * when given (may be NULL/""). A 412/428 (the BMC refused: nothing was
 * applied) is retried once with the ETag of ETAG_SOURCE read again ("*"
 * when it has none). 0 with RESP filled whatever the status, or -1 with the
 * outcome filled. */
int rf_write(struct rf_op *op, const char *method, const char *path,
             const char *body, const char *etag_source, const char *etag,
             struct rf_response *resp);

/* Fill the outcome for a non-2xx answer to METHOD PATH: 401/403 → 1004,
 * others 1005 with the BMC's own reason. */
void rf_fail_status(struct rf_op *op, const char *method, const char *path,
                    const struct rf_response *resp);

bool rf_status_ok(long status);

/* Follow a 202 task monitor at PATH until it stops answering 202 or the
 * deadline is near. STATE gets the last TaskState. 1 done well, 0 still
 * running, -1 failed (outcome filled, or *bad set when the task failed). */
int rf_follow_task(struct rf_op *op, const char *path, char *state,
                   size_t statelen, bool *bad);

/* The optional string parameter KEY (NULL when absent). -1 (outcome 2002)
 * if present but not a non-empty string. */
int rf_param_string(struct rf_op *op, const char *key, const char **value);

/* A new JSON string of OBJ's string member KEY, or NULL. */
json_object *rf_string_or_null(json_object *obj, const char *key);

/* OBJ[KEY] as a number into *OUT (integers too); false when absent, null
 * or not a number. */
bool rf_number(json_object *obj, const char *key, double *out);

/* OBJ[KEY] when it is an object (borrowed), else NULL. */
json_object *rf_member(json_object *obj, const char *key);

/* Call FN on every member document of the collection at PATH: members
 * served inline (with more than an @odata.id) as they are, others fetched;
 * pages followed up to RF_PAGES_MAX, stopping at a link already followed or
 * a page of members all seen before; at most MAX members. FN returns false
 * to stop. 0, or -1 with the outcome filled. */
int rf_each_member(struct rf_op *op, const char *path, size_t max,
                   bool (*fn)(struct rf_op *op, json_object *member,
                              void *arg),
                   void *arg);

/* ---- redfish_discovery.c: service root, system, manager ----------------- */

/* The service root into op->root (the call's cached one when validation
 * read it). 0 or -1. */
int rf_get_root(struct rf_op *op);

/* A page of a collection at PATH (owned by the caller): the cached Systems
 * page when it is that one, else a GET. 0 or -1. */
int rf_get_page(struct rf_op *op, const char *path, json_object **page);

/* Discover the system the call names ("system_id", else the first) and
 * read it into op->system / op->system_path. 0 or -1. */
int rf_find_system(struct rf_op *op);

/* The path of the system's manager (Links.ManagedBy[0], else the first
 * Managers member). Needs rf_find_system first. 0 or -1. */
int rf_manager_path(struct rf_op *op, char *path, size_t pathlen);

/* The chassis of the system (Links.Chassis[0]) or else the first member of
 * the root's Chassis collection, into PATH. Needs rf_get_root (and
 * rf_find_system when the system's link should win). 0 or -1. */
int rf_chassis_path(struct rf_op *op, char *path, size_t pathlen);

/* Forget this thread's discovery (end of an engine call). */
void rf_cache_clear(void);

/* ---- redfish_accounts.c: the accounts as read ------------------------- */

/* One account as read, with the ETag that guards writes to it. */
struct rf_account {
    char path[RF_PATH_MAX];
    char etag[HTTP_HEADER_VALUE_MAX];
    json_object *doc;
};

struct rf_accounts {
    char coll[RF_PATH_MAX];
    bool post_allowed; /* collection model */
    struct rf_account *v;
    size_t n;
};

/* Load the Accounts collection, its model and every account (bounded);
 * A is owned by the caller (rf_accounts_free, also after a failure). */
int rf_accounts_load(struct rf_op *op, struct rf_accounts *a);
void rf_accounts_free(struct rf_accounts *a);

/* The account whose UserName (else Id) is USER, or NULL (borrowed). */
struct rf_account *rf_accounts_find(struct rf_accounts *a, const char *user);

/* The first empty slot of the slot model, or NULL (borrowed). */
struct rf_account *rf_accounts_free_slot(struct rf_accounts *a);

/* Whether ACCT is an empty slot (UserName ""). */
bool rf_account_is_empty_slot(const struct rf_account *acct);

/* ---- the operations, by resource file ----------------------------------- */

void redfish_validate_connection(const struct bmc_call *call,
                                 struct bmc_outcome *out); /* discovery */
void redfish_get_power_state(const struct bmc_call *call,
                             struct bmc_outcome *out); /* power */
void redfish_list_actions(const struct bmc_call *call,
                          struct bmc_outcome *out); /* power */
void redfish_run_action(const struct bmc_call *call,
                        struct bmc_outcome *out); /* power */
void redfish_list_users(const struct bmc_call *call,
                        struct bmc_outcome *out); /* accounts */
void redfish_create_user(const struct bmc_call *call,
                         struct bmc_outcome *out); /* accounts */
void redfish_modify_user(const struct bmc_call *call,
                         struct bmc_outcome *out); /* accounts */
void redfish_delete_user(const struct bmc_call *call,
                         struct bmc_outcome *out); /* accounts */
void redfish_get_fw_version(const struct bmc_call *call,
                            struct bmc_outcome *out); /* manager */
void redfish_get_inventory(const struct bmc_call *call,
                           struct bmc_outcome *out); /* manager */
void redfish_reset_bmc(const struct bmc_call *call,
                       struct bmc_outcome *out); /* manager */
void redfish_get_sensors(const struct bmc_call *call,
                         struct bmc_outcome *out); /* sensors */
void redfish_set_identify(const struct bmc_call *call,
                          struct bmc_outcome *out); /* chassis */
void redfish_get_event_log(const struct bmc_call *call,
                           struct bmc_outcome *out); /* logs */
void redfish_clear_event_log(const struct bmc_call *call,
                             struct bmc_outcome *out); /* logs */

/* provisioning */
void redfish_get_boot_device(const struct bmc_call *call,
                             struct bmc_outcome *out); /* boot */
void redfish_set_boot_device(const struct bmc_call *call,
                             struct bmc_outcome *out); /* boot */
void redfish_get_virtual_media(const struct bmc_call *call,
                               struct bmc_outcome *out); /* media */
void redfish_insert_virtual_media(const struct bmc_call *call,
                                  struct bmc_outcome *out); /* media */
void redfish_eject_virtual_media(const struct bmc_call *call,
                                 struct bmc_outcome *out); /* media */
void redfish_boot_from_media(const struct bmc_call *call,
                             struct bmc_outcome *out); /* provision */

#endif
