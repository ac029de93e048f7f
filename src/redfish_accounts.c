/* redfish_accounts.c - BMC accounts: list_users (AccountService →
 * Accounts → each account; see redfish_private.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include "errors.h"

#include <stdio.h>
#include <string.h>

#define RF_USERS_MAX 256 /* accounts read */

/* Append a user entry for every account of the collection page. */
static int rf_read_accounts(struct rf_op *op, json_object *page,
                            json_object *users)
{
    char path[RF_PATH_MAX];
    json_object *acct = NULL;
    size_t n = rfp_member_count(page);

    for (size_t i = 0; i < n && json_object_array_length(users) < RF_USERS_MAX;
         i++) {
        if (rfp_member_path(page, i, path, sizeof(path)))
            continue;
        if (rf_get(op, path, &acct, NULL, 0))
            return -1;
        json_object_array_add(users, rfp_user_json(acct));
        json_object_put(acct);
        acct = NULL;
    }
    return 0;
}

void redfish_list_users(const struct bmc_call *call, struct bmc_outcome *out)
{
    struct rf_op op;
    char path[RF_PATH_MAX];
    json_object *svc = NULL, *page = NULL, *users = json_object_new_array(),
                *data;

    rf_op_begin(&op, "list_users", call, out);
    if (rf_get_root(&op))
        goto out;
    if (rfp_link(op.root, "AccountService", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "No AccountService in the Redfish service root");
        goto out;
    }
    if (rf_get(&op, path, &svc, NULL, 0))
        goto out;
    if (rfp_link(svc, "Accounts", path, sizeof(path))) {
        outcome_fail(out, BMC_ERR_EXECUTION_FAILED,
                     "No Accounts in the AccountService");
        goto out;
    }
    for (int pages = 0; pages < RF_PAGES_MAX; pages++) {
        if (rf_get(&op, path, &page, NULL, 0) ||
            rf_read_accounts(&op, page, users))
            goto out;
        if (rfp_next_link(page, path, sizeof(path)))
            break;
        json_object_put(page);
        page = NULL;
    }
    data = json_object_new_object();
    json_object_object_add(data, "users", json_object_get(users));
    outcome_done(out, true, NULL, data);
out:
    json_object_put(svc);
    json_object_put(page);
    json_object_put(users);
    rf_op_end(&op);
}
