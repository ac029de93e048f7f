/* redfish.c - the Redfish backend's operation table (see redfish.h); the
 * operations live in one file per resource (redfish_private.h). */
#include "autoconfig.h"
#include "redfish.h"

#include "redfish_private.h"

/* The engine call is over: forget its discovery, close its connection. */
static void redfish_end_call(void)
{
    rf_cache_clear();
    rf_transport_release();
}

const struct bmc_backend redfish_backend = {
    .name = "redfish",
    .validate_connection = redfish_validate_connection,
    .get_power_state = redfish_get_power_state,
    .list_actions = redfish_list_actions,
    .run_action = redfish_run_action,
    .list_users = redfish_list_users,
    .create_user = redfish_create_user,
    .modify_user = redfish_modify_user,
    .delete_user = redfish_delete_user,
    .get_fw_version = redfish_get_fw_version,
    .end_call = redfish_end_call,
};
