/* redfish_accounts_edit.c - BMC account writes: create_user, modify_user,
 * delete_user (see redfish_private.h; reading is redfish_accounts.c).
 *
 * Two account models, told apart by what the collection allows:
 *   collection  POST a ManagerAccount to Accounts, DELETE the account
 *               (DMTF Redfish spec "Account service"; bmcweb, iLO,
 *               Supermicro, XClarity).
 *   slots       a fixed list of accounts, the empty ones with UserName "",
 *               PATCHed to create and PATCHed back to "" to delete
 *               (iDRAC: 16 slots, slot 1 reserved; its collection answers
 *               `Allow: GET`, DELETE 405).
 * The collection's Allow header decides when the BMC sends one; otherwise
 * listing empty slots means the slot model. A DELETE refused with 405/501
 * falls back to clearing the slot (nothing was applied, so this is no
 * repetition). Every write is mutating (rf_write: alone on the BMC,
 * If-Match with the account's ETag, one retry after 412). The BMC's
 * refusals of a value (password policy, PropertyValueFormatError, an
 * existing name) are 2002 with the BMC's own message in details. */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"
#include "jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_USE "refusing to remove the account in use"

/* ---- roles and bodies ----------------------------------------------------
 */

/* Our role names and the Redfish RoleIds they are (DMTF predefined roles;
 * every BMC we know has these three). Ranked for "never demote". */
static const struct {
    const char *ours, *redfish;
} rf_roles[] = {
    {"readonly", "ReadOnly"},
    {"operator", "Operator"},
    {"administrator", "Administrator"},
};

static const char *rf_role_id(const char *ours)
{
    for (size_t i = 0; i < sizeof(rf_roles) / sizeof(rf_roles[0]); i++)
        if (!strcmp(rf_roles[i].ours, ours))
            return rf_roles[i].redfish;
    return NULL;
}

static int rf_role_rank(const char *role_id)
{
    for (size_t i = 0; role_id && i < sizeof(rf_roles) / sizeof(rf_roles[0]);
         i++)
        if (!strcmp(rf_roles[i].redfish, role_id))
            return (int)i + 1;
    return 0;
}

/* The ManagerAccount properties the call's params ask for. */
static json_object *rf_account_body(const struct bmc_call *call,
                                    const char *user)
{
    json_object *b = json_object_new_object(), *v;

    if (user)
        json_object_object_add(b, "UserName", json_object_new_string(user));
    if (json_object_object_get_ex(call->params, "new_password", &v))
        json_object_object_add(b, "Password", json_object_get(v));
    if (json_object_object_get_ex(call->params, "role", &v))
        json_object_object_add(
            b, "RoleId",
            json_object_new_string(rf_role_id(json_object_get_string(v))));
    if (json_object_object_get_ex(call->params, "enabled", &v))
        json_object_object_add(b, "Enabled", json_object_get(v));
    return b;
}

/* Send BODY (then wipe and free it: it may carry a password). */
static int rf_account_write(struct rf_op *op, const char *method,
                            const char *path, json_object *body,
                            const char *etag_source, const char *etag,
                            struct rf_response *resp)
{
    char *serialised = body ? (char *)json_compact(body) : NULL;
    char *text = serialised ? strdup(serialised) : NULL;
    int rc;

    if (serialised) /* json-c's own buffer of the text, password included */
        explicit_bzero(serialised, strlen(serialised));
    json_object_put(body);
    if (body && !text) {
        outcome_fail(op->out, BMC_ERR_UNEXPECTED_ERROR, "out of memory");
        return -1;
    }
    rc = rf_write(op, method, path, text, etag_source, etag, resp);
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    return rc;
}

/* Judge a write's answer: 0 applied; -1 with the outcome filled (2002 for
 * the BMC's refusal of a value). */
static int rf_account_judge(struct rf_op *op, const char *method,
                            const char *path, const struct rf_response *resp)
{
    char reason[300];

    if (rf_status_ok(resp->status))
        return 0;
    if (resp->status == 400 || resp->status == 409) {
        rfp_error_reason(resp->body, resp->len, reason, sizeof(reason));
        outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                     "the BMC refused %s %s (HTTP %ld): %s", method, path,
                     resp->status, reason);
        return -1;
    }
    rf_fail_status(op, method, path, resp);
    return -1;
}

/* Answer the account at PATH read back (NOTE added when given). */
static void rf_account_done(struct rf_op *op, const char *path,
                            const char *note)
{
    json_object *doc = NULL, *data;

    if (rf_get(op, path, &doc, NULL, 0))
        return;
    data = json_object_new_object();
    json_object_object_add(data, "user", rfp_user_json(doc));
    if (note)
        json_object_object_add(data, "note", json_object_new_string(note));
    json_object_put(doc);
    outcome_done(op->out, true, NULL, data);
}

/* Answer the caller's own account read back with its new password (the
 * old one no longer works). */
static void rf_own_account_done(struct rf_op *op, const char *path)
{
    struct bmc_conn conn = *op->call->conn;
    struct bmc_call call = *op->call;
    struct rf_op again;
    json_object *v;

    json_object_object_get_ex(op->call->params, "new_password", &v);
    snprintf(conn.password, sizeof(conn.password), "%s",
             json_object_get_string(v));
    call.conn = &conn;
    rf_op_begin(&again, "modify_user", &call, op->out);
    rf_account_done(&again, path,
                    "the password of the account in use changed: the next "
                    "call must use the new one");
    rf_op_end(&again);
    conn_wipe(&conn);
}

/* The call's "user" parameter and the account it names (NULL and 2002 when
 * it does not exist, unless MAY_BE_ABSENT). */
static int rf_target(struct rf_op *op, struct rf_accounts *a,
                     bool may_be_absent, struct rf_account **acct)
{
    const char *user = NULL;

    if (rf_param_string(op, "user", &user) || !user) {
        if (!op->out->code)
            outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                         "parameter 'user' is required");
        return -1;
    }
    if (rf_accounts_load(op, a))
        return -1;
    *acct = rf_accounts_find(a, user);
    if (!*acct && !may_be_absent) {
        outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                     "no account '%.64s' on the BMC", user);
        return -1;
    }
    return 0;
}

static bool rf_is_caller(const struct rf_op *op, const struct rf_account *acct)
{
    const char *name = rfp_string(acct->doc, "UserName");
    return name && !strcmp(name, op->call->conn->username);
}

/* ---- the operations ------------------------------------------------------
 */

/* Create USER in the collection (POST) and answer it read back. */
static void rf_create_by_post(struct rf_op *op, struct rf_accounts *a,
                              const char *user)
{
    struct rf_response resp;
    char path[RF_PATH_MAX];

    if (rf_account_write(op, "POST", a->coll, rf_account_body(op->call, user),
                         a->coll, NULL, &resp))
        return;
    if (rf_account_judge(op, "POST", a->coll, &resp) == 0) {
        if (rfp_location_path(resp.location, path, sizeof(path)) == 0) {
            rf_account_done(op, path, NULL);
        } else { /* no Location: find it by name */
            struct rf_accounts again;
            struct rf_account *acct;
            if (rf_accounts_load(op, &again) == 0) {
                if ((acct = rf_accounts_find(&again, user)))
                    rf_account_done(op, acct->path, NULL);
                else
                    outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                                 "the BMC accepted the account (HTTP %ld) "
                                 "but does not list it",
                                 resp.status);
            }
            rf_accounts_free(&again);
        }
    }
    rf_response_free(&resp);
}

/* Create USER in the first free slot (PATCH) and answer it read back. */
static void rf_create_in_slot(struct rf_op *op, struct rf_accounts *a,
                              const char *user)
{
    struct rf_response resp;
    struct rf_account *slot = rf_accounts_free_slot(a);
    json_object *body;

    if (!slot) {
        outcome_fail(op->out, BMC_ERR_INVALID_PARAMETERS,
                     "no free account slot on the BMC");
        return;
    }
    body = rf_account_body(op->call, user);
    if (!json_object_object_get_ex(body, "Enabled", NULL))
        json_object_object_add(body, "Enabled", json_object_new_boolean(1));
    if (rf_account_write(op, "PATCH", slot->path, body, slot->path, slot->etag,
                         &resp))
        return;
    if (rf_account_judge(op, "PATCH", slot->path, &resp) == 0)
        rf_account_done(op, slot->path, NULL);
    rf_response_free(&resp);
}

void redfish_create_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_accounts a = {0};
    struct rf_account *acct;
    const char *user = NULL;

    rf_op_begin(&op, "create_user", call, out);
    if (rf_target(&op, &a, true, &acct))
        goto out;
    (void)rf_param_string(&op, "user", &user);
    if (acct) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "an account named '%.64s' exists already", user);
        goto out;
    }
    if (a.post_allowed)
        rf_create_by_post(&op, &a, user);
    else
        rf_create_in_slot(&op, &a, user);
out:
    rf_accounts_free(&a);
    rf_op_end(&op);
}

/* Whether the change asked of the caller's own account would lock it out
 * (disable or demote). */
static bool rf_locks_out(struct rf_op *op, const struct rf_account *acct)
{
    json_object *v;

    if (!rf_is_caller(op, acct))
        return false;
    if (json_object_object_get_ex(op->call->params, "enabled", &v) &&
        !json_object_get_boolean(v))
        return true;
    if (json_object_object_get_ex(op->call->params, "role", &v))
        return rf_role_rank(rf_role_id(json_object_get_string(v))) <
               rf_role_rank(rfp_string(acct->doc, "RoleId"));
    return false;
}

void redfish_modify_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_accounts a = {0};
    struct rf_account *acct;
    struct rf_response resp;
    json_object *body;
    bool own_password;

    rf_op_begin(&op, "modify_user", call, out);
    if (rf_target(&op, &a, false, &acct))
        goto out;
    body = rf_account_body(call, NULL);
    if (json_object_object_length(body) == 0) {
        json_object_put(body);
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "nothing to change: give new_password, role or enabled");
        goto out;
    }
    if (rf_locks_out(&op, acct)) {
        json_object_put(body);
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS, IN_USE);
        goto out;
    }
    own_password = rf_is_caller(&op, acct) &&
                   json_object_object_get_ex(body, "Password", NULL);
    if (rf_account_write(&op, "PATCH", acct->path, body, acct->path,
                         acct->etag, &resp))
        goto out;
    if (rf_account_judge(&op, "PATCH", acct->path, &resp) == 0 &&
        !own_password)
        rf_account_done(&op, acct->path, NULL);
    else if (!out->code)
        rf_own_account_done(&op, acct->path);
    rf_response_free(&resp);
out:
    rf_accounts_free(&a);
    rf_op_end(&op);
}

/* Clear a slot-model account (PATCH UserName "" and Enabled false). */
static int rf_clear_slot(struct rf_op *op, const struct rf_account *acct,
                         struct rf_response *resp)
{
    json_object *body = json_object_new_object();

    json_object_object_add(body, "UserName", json_object_new_string(""));
    json_object_object_add(body, "Enabled", json_object_new_boolean(0));
    return rf_account_write(op, "PATCH", acct->path, body, acct->path,
                            acct->etag, resp);
}

void redfish_delete_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_accounts a = {0};
    struct rf_account *acct;
    struct rf_response resp;
    const char *method = "DELETE";
    json_object *data;

    rf_op_begin(&op, "delete_user", call, out);
    if (rf_target(&op, &a, false, &acct))
        goto out;
    if (rf_is_caller(&op, acct)) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS, IN_USE);
        goto out;
    }
    if (a.post_allowed) {
        if (rf_write(&op, "DELETE", acct->path, NULL, acct->path, acct->etag,
                     &resp))
            goto out;
        if (resp.status == 405 || resp.status == 501) { /* not applied */
            rf_response_free(&resp);
            method = "PATCH";
            if (rf_clear_slot(&op, acct, &resp))
                goto out;
        }
    } else {
        method = "PATCH";
        if (rf_clear_slot(&op, acct, &resp))
            goto out;
    }
    if (rf_account_judge(&op, method, acct->path, &resp) == 0) {
        data = json_object_new_object();
        json_object_object_add(data, "deleted", json_object_new_boolean(1));
        outcome_done(out, true, NULL, data);
    }
    rf_response_free(&resp);
out:
    rf_accounts_free(&a);
    rf_op_end(&op);
}
