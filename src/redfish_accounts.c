/* redfish_accounts.c - BMC accounts read: the Accounts collection and its
 * model, each account with its ETag, lookups by name or id, and
 * list_users (see redfish_private.h; the writes are in
 * redfish_accounts_edit.c). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_USERS_MAX 256 /* accounts read */

void rf_accounts_free(struct rf_accounts *a)
{
    for (size_t i = 0; i < a->n; i++)
        json_object_put(a->v[i].doc);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

/* The Accounts collection's path into A->coll. 0 or -1. */
static int rf_accounts_path(struct rf_op *op, struct rf_accounts *a)
{
    json_object *svc = NULL;
    int rc = -1;

    if (rf_get_root(op))
        return -1;
    if (rfp_link(op->root, "AccountService", a->coll, sizeof(a->coll))) {
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No AccountService in the Redfish service root");
        return -1;
    }
    if (rf_get(op, a->coll, &svc, NULL, 0))
        return -1;
    if (rfp_link(svc, "Accounts", a->coll, sizeof(a->coll)))
        outcome_fail(op->out, BMC_ERR_EXECUTION_FAILED,
                     "No Accounts in the AccountService");
    else
        rc = 0;
    json_object_put(svc);
    return rc;
}

/* Read every account of one collection page into A. */
static int rf_accounts_read_page(struct rf_op *op, json_object *page,
                                 struct rf_accounts *a)
{
    size_t n = rfp_member_count(page);

    for (size_t i = 0; i < n && a->n < RF_USERS_MAX; i++) {
        struct rf_account *acct = &a->v[a->n];
        if (rfp_member_path(page, i, acct->path, sizeof(acct->path)))
            continue;
        if (rf_get(op, acct->path, &acct->doc, acct->etag, sizeof(acct->etag)))
            return -1;
        a->n++;
    }
    return 0;
}

static bool rf_allow_has(const char *allow, const char *method)
{
    const char *p = strstr(allow, method);
    size_t n = strlen(method);

    return p && (p == allow || p[-1] == ' ' || p[-1] == ',') &&
           (p[n] == '\0' || p[n] == ',' || p[n] == ' ');
}

bool rf_account_is_empty_slot(const struct rf_account *acct)
{
    const char *name = rfp_string(acct->doc, "UserName");
    return name && !name[0];
}

/* Load the collection and every account (pages bounded). 0 or -1. */
int rf_accounts_load(struct rf_op *op, struct rf_accounts *a)
{
    char path[RF_PATH_MAX];
    json_object *page = NULL;
    bool slots = false;
    int rc = -1;

    memset(a, 0, sizeof(*a));
    if (rf_accounts_path(op, a))
        return -1;
    if (!(a->v = calloc(RF_USERS_MAX, sizeof(*a->v)))) {
        outcome_fail(op->out, BMC_ERR_UNEXPECTED_ERROR, "out of memory");
        return -1;
    }
    memcpy(path, a->coll, sizeof(path));
    for (int pages = 0; pages < RF_PAGES_MAX; pages++) {
        if (rf_get(op, path, &page, NULL, 0))
            goto out;
        if (pages == 0 && op->allow[0])
            a->post_allowed = rf_allow_has(op->allow, "POST");
        else if (pages == 0)
            a->post_allowed = true; /* decided below by the slots seen */
        if (rf_accounts_read_page(op, page, a))
            goto out;
        bool last = rfp_next_link(page, path, sizeof(path)) != 0;
        json_object_put(page);
        page = NULL;
        if (last)
            break;
    }
    for (size_t i = 0; i < a->n; i++)
        slots = slots || rf_account_is_empty_slot(&a->v[i]);
    if (!op->allow[0] && slots)
        a->post_allowed = false;
    rc = 0;
out:
    json_object_put(page);
    return rc;
}

/* The account whose UserName (or Id) is USER, or NULL. */
struct rf_account *rf_accounts_find(struct rf_accounts *a, const char *user)
{
    for (size_t i = 0; i < a->n; i++) {
        const char *name = rfp_string(a->v[i].doc, "UserName");
        if (name && name[0] && !strcmp(name, user))
            return &a->v[i];
    }
    for (size_t i = 0; i < a->n; i++) {
        const char *id = rfp_string(a->v[i].doc, "Id");
        if (id && !strcmp(id, user) && !rf_account_is_empty_slot(&a->v[i]))
            return &a->v[i];
    }
    return NULL;
}

/* The first empty slot (slot 1 only when nothing else is free: iDRAC keeps
 * it reserved). */
struct rf_account *rf_accounts_free_slot(struct rf_accounts *a)
{
    struct rf_account *first = NULL;

    for (size_t i = 0; i < a->n; i++) {
        if (!rf_account_is_empty_slot(&a->v[i]))
            continue;
        const char *id = rfp_string(a->v[i].doc, "Id");
        if (!id || strcmp(id, "1"))
            return &a->v[i];
        if (!first)
            first = &a->v[i];
    }
    return first;
}

void redfish_list_users(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    struct rf_accounts a;
    json_object *users, *data;

    rf_op_begin(&op, "list_users", call, out);
    if (rf_accounts_load(&op, &a) == 0) {
        users = json_object_new_array();
        for (size_t i = 0; i < a.n; i++)
            json_object_array_add(users, rfp_user_json(a.v[i].doc));
        data = json_object_new_object();
        json_object_object_add(data, "users", users);
        outcome_done(out, true, NULL, data);
    }
    rf_accounts_free(&a);
    rf_op_end(&op);
}
