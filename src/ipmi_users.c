/* ipmi_users.c - BMC accounts over IPMI: create_user, modify_user,
 * delete_user with ipmitool's `user` and `channel` commands (see
 * ipmi_private.h).
 *
 * An account is a slot (2..N; slot 1 is the anonymous user): create takes
 * the first slot without a name and runs, each as one ipmitool run alone on
 * the BMC, `user set name`, `user set password` (the password reaches
 * ipmitool on its prompt: stdin, since it runs without a controlling tty;
 * never in its argv or environment), `channel setaccess CHAN ID callin=on
 * ipmi=on link=on privilege=P` and `user enable|disable`; delete disables
 * the slot, takes its channel access away and clears its name. A failed
 * step ends the call and names the step; nothing after it is sent, and
 * nothing is repeated. The answer is the account read back from `user
 * list`. */
#include "autoconfig.h"
#include "ipmi.h"
#include "ipmi_private.h"

#include "errors.h"

#include <stdio.h>
#include <string.h>

#define IN_USE "refusing to remove the account in use"

/* Our role names → IPMI privilege levels (IPMI v2.0 table 6-4, and what
 * `ipmitool user list` prints back). */
static const struct {
    const char *role, *level, *printed;
} ipmi_roles[] = {
    {"readonly", "2", "USER"},
    {"operator", "3", "OPERATOR"},
    {"administrator", "4", "ADMINISTRATOR"},
};

static const char *role_level(const char *role)
{
    for (size_t i = 0; i < sizeof(ipmi_roles) / sizeof(ipmi_roles[0]); i++)
        if (role && !strcmp(ipmi_roles[i].role, role))
            return ipmi_roles[i].level;
    return NULL;
}

/* 1..3 for the three roles by a privilege as printed or a level; 0 else. */
static int privilege_rank(const char *privilege)
{
    for (size_t i = 0; i < sizeof(ipmi_roles) / sizeof(ipmi_roles[0]); i++)
        if (privilege && (!strcmp(ipmi_roles[i].printed, privilege) ||
                          !strcmp(ipmi_roles[i].level, privilege)))
            return (int)i + 1;
    return 0;
}

static int param_channel(const struct bmc_call *call)
{
    json_object *v;

    if (json_object_object_get_ex(call->params, "channel", &v) &&
        json_object_is_type(v, json_type_int))
        return json_object_get_int(v);
    return 1;
}

/* The users of the call's channel, and (when FREE_SLOT) the first free
 * slot. Returns the {"users": [...]} object (caller puts it) or NULL with
 * OUT set. */
static json_object *users_read(const struct bmc_call *call, int *free_slot,
                               struct bmc_outcome *out)
{
    char chan[8];
    struct run r = {0};
    json_object *users = NULL;

    snprintf(chan, sizeof(chan), "%d", param_channel(call));
    const char *const cmd[] = {"user", "list", chan, NULL};
    if (run_cmd(&r, call, cmd, false, true, false, out) == 0) {
        if (!(users = ipmi_parse_user_list(r.res.out)))
            fail_output(out, "user list", r.res.out);
        if (free_slot)
            *free_slot = ipmi_parse_free_user_slot(r.res.out);
    }
    run_clear(&r);
    return users;
}

/* The entry of USERS whose name (or id) is WHO (borrowed), or NULL. */
static json_object *users_find(json_object *users, const char *who)
{
    json_object *list, *v;

    if (!json_object_object_get_ex(users, "users", &list))
        return NULL;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *u = json_object_array_get_idx(list, i);
            if (json_object_object_get_ex(u, pass ? "id" : "name", &v) &&
                !strcmp(json_object_get_string(v), who))
                return u;
        }
    return NULL;
}

static const char *user_field(json_object *u, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(u, key, &v) ? json_object_get_string(v)
                                                 : "";
}

/* One mutating step: CMD alone on the BMC (STDIN_DATA for the prompt).
 * On failure OUT names STEP. 0 or -1. */
static int step(const struct bmc_call *call, const char *what,
                const char *const *cmd, const char *stdin_data,
                struct bmc_outcome *out)
{
    struct run r = {0};
    int rc;

    r.stdin_data = stdin_data;
    r.stdin_len = stdin_data ? strlen(stdin_data) : 0;
    rc = run_cmd(&r, call, cmd, true, false, false, out);
    run_clear(&r);
    if (rc) {
        char why[sizeof(out->details)];
        snprintf(why, sizeof(why), "%s", out->details);
        snprintf(out->details, sizeof(out->details),
                 "step '%s' failed, nothing after it was sent: %.400s", what,
                 why);
    }
    return rc;
}

/* `user set password ID` answered on its prompt (typed twice). */
static int step_password(const struct bmc_call *call, const char *id,
                         const char *password, struct bmc_outcome *out)
{
    char typed[2 * (IPMI_PASSWORD_MAX + 2)];
    const char *const cmd[] = {"user", "set", "password", id, NULL};
    int rc;

    snprintf(typed, sizeof(typed), "%s\n%s\n", password, password);
    rc = step(call, "user set password", cmd, typed, out);
    explicit_bzero(typed, sizeof(typed));
    return rc;
}

static int step_privilege(const struct bmc_call *call, const char *id,
                          const char *level, struct bmc_outcome *out)
{
    char chan[8], priv[24];
    bool none = !strcmp(level, "15"); /* NO ACCESS: everything off */
    const char *const cmd[] = {"channel",
                               "setaccess",
                               chan,
                               id,
                               none ? "callin=off" : "callin=on",
                               none ? "ipmi=off" : "ipmi=on",
                               none ? "link=off" : "link=on",
                               priv,
                               NULL};

    snprintf(chan, sizeof(chan), "%d", param_channel(call));
    snprintf(priv, sizeof(priv), "privilege=%s", level);
    return step(call, "channel setaccess", cmd, NULL, out);
}

static int step_enable(const struct bmc_call *call, const char *id, bool on,
                       struct bmc_outcome *out)
{
    const char *const cmd[] = {"user", on ? "enable" : "disable", id, NULL};
    return step(call, on ? "user enable" : "user disable", cmd, NULL, out);
}

/* The password parameter, checked against what IPMI and the prompt take:
 * NULL when absent; -1 with OUT 2002 when unusable. */
static int param_password(const struct bmc_call *call, const char **pw,
                          struct bmc_outcome *out)
{
    *pw = param_string(call, "new_password");
    if (!*pw)
        return 0;
    if (strlen(*pw) > IPMI_PASSWORD_MAX) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "new_password is longer than %d bytes, the IPMI limit",
                     IPMI_PASSWORD_MAX);
        return -1;
    }
    for (const char *c = *pw; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                         "new_password must not contain control characters");
            return -1;
        }
    return 0;
}

static bool param_enabled(const struct bmc_call *call, bool dflt)
{
    json_object *v;

    if (json_object_object_get_ex(call->params, "enabled", &v) &&
        json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return dflt;
}

/* Answer the account ID read back (NOTE added when given). */
static void done_read_back(const struct bmc_call *call, const char *id,
                           const char *note, struct bmc_outcome *out)
{
    json_object *users = users_read(call, NULL, out), *u, *data;

    if (!users)
        return;
    if (!(u = users_find(users, id))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "user list does not show slot %s after the change", id);
    } else {
        data = json_object_new_object();
        json_object_object_add(data, "user", json_object_get(u));
        if (note)
            json_object_object_add(data, "note", json_object_new_string(note));
        outcome_done(out, true, NULL, data);
    }
    json_object_put(users);
}

void ipmi_create_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *name = param_string(call, "user"), *pw;
    const char *level = role_level(param_string(call, "role"));
    json_object *users = NULL;
    char id[8];
    int slot = -1;

    if (!name || !level || param_password(call, &pw, out) || !pw) {
        if (!out->code)
            outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                         "user, new_password and role are required");
        return;
    }
    if (strlen(name) > IPMI_USERNAME_MAX) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "user is longer than %d bytes, the IPMI limit",
                     IPMI_USERNAME_MAX);
        return;
    }
    if (!(users = users_read(call, &slot, out)))
        return;
    if (users_find(users, name))
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "an account named '%.64s' exists already", name);
    else if (slot < 0)
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "no free user slot on the BMC");
    json_object_put(users);
    if (out->code)
        return;
    snprintf(id, sizeof(id), "%d", slot);
    const char *const set_name[] = {"user", "set", "name", id, name, NULL};
    if (step(call, "user set name", set_name, NULL, out) ||
        step_password(call, id, pw, out) ||
        step_privilege(call, id, level, out) ||
        step_enable(call, id, param_enabled(call, true), out))
        return;
    done_read_back(call, id, NULL, out);
}

/* Whether the change would lock the caller out of account U. */
static bool locks_out(const struct bmc_call *call, json_object *u)
{
    const char *role = param_string(call, "role");

    if (strcmp(user_field(u, "name"), call->conn->username))
        return false;
    if (!param_enabled(call, true))
        return true;
    return role && privilege_rank(role_level(role)) <
                       privilege_rank(user_field(u, "privilege"));
}

void ipmi_modify_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *who = param_string(call, "user"), *pw, *role;
    json_object *users, *u, *enabled;
    char id[8];
    bool own;

    if (!who || param_password(call, &pw, out))
        return;
    role = param_string(call, "role");
    enabled = NULL;
    json_object_object_get_ex(call->params, "enabled", &enabled);
    if (!pw && !role && !enabled) {
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "nothing to change: give new_password, role or enabled");
        return;
    }
    if (!(users = users_read(call, NULL, out)))
        return;
    if (!(u = users_find(users, who)))
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "no account '%.64s' on the BMC", who);
    else if (locks_out(call, u))
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS, IN_USE);
    snprintf(id, sizeof(id), "%s", u ? user_field(u, "id") : "");
    own = u && !strcmp(user_field(u, "name"), call->conn->username);
    json_object_put(users);
    if (out->code)
        return;
    if ((pw && step_password(call, id, pw, out)) ||
        (role && step_privilege(call, id, role_level(role), out)) ||
        (enabled && step_enable(call, id, param_enabled(call, true), out)))
        return;
    if (!(own && pw)) {
        done_read_back(call, id, NULL, out);
        return;
    }
    /* the caller's own password changed: read back with the new one */
    struct bmc_conn conn = *call->conn;
    struct bmc_call again = *call;
    snprintf(conn.password, sizeof(conn.password), "%s", pw);
    again.conn = &conn;
    done_read_back(&again, id,
                   "the password of the account in use changed: the next "
                   "call must use the new one",
                   out);
    conn_wipe(&conn);
}

void ipmi_delete_user(const struct bmc_call *call, struct bmc_outcome *out)
{
    const char *who = param_string(call, "user");
    json_object *users, *u, *data;
    char id[8];

    if (!who || !(users = users_read(call, NULL, out)))
        return;
    if (!(u = users_find(users, who)))
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS,
                     "no account '%.64s' on the BMC", who);
    else if (!strcmp(user_field(u, "name"), call->conn->username))
        outcome_fail(out, BMC_ERR_INVALID_PARAMETERS, IN_USE);
    snprintf(id, sizeof(id), "%s", u ? user_field(u, "id") : "");
    json_object_put(users);
    if (out->code)
        return;
    const char *const clear_name[] = {"user", "set", "name", id, "", NULL};
    if (step_enable(call, id, false, out) ||
        step_privilege(call, id, "15", out) || /* NO ACCESS */
        step(call, "user set name", clear_name, NULL, out))
        return;
    data = json_object_new_object();
    json_object_object_add(data, "deleted", json_object_new_boolean(1));
    outcome_done(out, true, NULL, data);
}
