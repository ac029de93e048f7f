/* ipmi.h - the IPMI backend: every operation of `ipmi_backend` (see
 * backend.h) is one `ipmitool -I lanplus` run through subprocess.c, the
 * password only in the child's IPMI_PASSWORD (with -E), -R/-N derived
 * from the call's deadline, stderr classified by ipmi_parse.c's table.
 * Owns: nothing between calls; no global state but bmc_cfg. */
#ifndef BMC_IPMI_H
#define BMC_IPMI_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>

#define IPMI_USERNAME_MAX 16 /* bytes; the IPMI limit ipmitool enforces */
#define IPMI_PASSWORD_MAX 20 /* bytes; IPMI v2.0 password */

/* Find ipmitool: BMC_IPMITOOL (a path, or a name searched on PATH) or
 * "ipmitool" on PATH. Writes the path found (or the one tried) into OUT.
 * Returns whether it is an executable regular file. Also the backend's
 * `available` operation (/health asks it through the engine). */
bool ipmi_tool_available(char *path_out, size_t len);

/* const struct bmc_backend ipmi_backend is declared in backend.h. */

#endif
