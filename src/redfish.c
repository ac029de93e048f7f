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
    .name = "redfish", /* bmc_protocol_name(BMC_PROTO_REDFISH) */
    .validate_connection = redfish_validate_connection,
    .get_power_state = redfish_get_power_state,
    .list_actions = redfish_list_actions,
    .run_action = redfish_run_action,
    .list_users = redfish_list_users,
    .get_sensors = redfish_get_sensors,
    .get_event_log = redfish_get_event_log,
    .clear_event_log = redfish_clear_event_log,
    .get_inventory = redfish_get_inventory,
    .set_identify = redfish_set_identify,
    .reset_bmc = redfish_reset_bmc,
    .create_user = redfish_create_user,
    .modify_user = redfish_modify_user,
    .delete_user = redfish_delete_user,
    .get_fw_version = redfish_get_fw_version,
    /* provisioning */
    .get_boot_device = redfish_get_boot_device,
    .set_boot_device = redfish_set_boot_device,
    .get_virtual_media = redfish_get_virtual_media,
    .insert_virtual_media = redfish_insert_virtual_media,
    .eject_virtual_media = redfish_eject_virtual_media,
    .boot_from_media = redfish_boot_from_media,
    .end_call = redfish_end_call,
};
