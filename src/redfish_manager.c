/* redfish_manager.c - the system's manager: get_fw_version (manager
 * FirmwareVersion, system BiosVersion; see redfish_private.h). */
#include "autoconfig.h"
#include "redfish_private.h"

#include <stdio.h>
#include <string.h>

void redfish_get_fw_version(const struct bmc_call *call,
                            struct bmc_outcome *out)
{
    struct rf_op op;
    char path[RF_PATH_MAX];
    json_object *mgr = NULL, *data;

    rf_op_begin(&op, "get_fw_version", call, out);
    if (rf_find_system(&op) || rf_manager_path(&op, path, sizeof(path)) ||
        rf_get(&op, path, &mgr, NULL, 0))
        goto out;
    data = json_object_new_object();
    json_object_object_add(data, "fw_version",
                           rf_string_or_null(mgr, "FirmwareVersion"));
    json_object_object_add(data, "bios_version",
                           rf_string_or_null(op.system, "BiosVersion"));
    outcome_done(out, true, NULL, data);
out:
    json_object_put(mgr);
    rf_op_end(&op);
}
