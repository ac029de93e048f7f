/* ipmi_parse.h - everything about ipmitool's text that needs no process:
 * the -R/-N timing derived from a deadline, the one table that classifies
 * ipmitool's stderr into error codes, and the parsers of its stdout
 * (power status, power control, `-c user list`, `mc info`). Pure
 * functions, so unit tests and fuzzers reach them directly.
 * Owns: nothing; json objects returned belong to the caller. */
#ifndef BMC_IPMI_PARSE_H
#define BMC_IPMI_PARSE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- timing ------------------------------------------------------------ */

/* ipmitool's -R (attempts per request) and -N (seconds per attempt). */
struct ipmi_timing {
    int retries;
    int timeout;
};

#define IPMI_TIMING_MARGIN 0.5 /* seconds kept for process start and exit */

/* Seconds a silent BMC costs ipmitool with T: 2*R*N + R*(R-1). */
double ipmi_timing_dead_seconds(const struct ipmi_timing *t);

/* Choose -R/-N so that a silent BMC is reported before REMAINING seconds
 * (minus IPMI_TIMING_MARGIN) when possible: reads take as many attempts
 * (1..4, N=1) as fit; power changes always -R 1 (a retransmitted command
 * may run twice) with N 1..4 seconds as fits. Never below -R 1 -N 1. */
void ipmi_timing_for(double remaining, bool power_change,
                     struct ipmi_timing *t);

/* ---- failure classification ------------------------------------------- */

/* One row of the classification table: a stderr line containing NEEDLE
 * (or equal to it when EXACT) means CODE, explained by WHAT. */
struct ipmi_pattern {
    const char *needle;
    bool exact;
    int code;
    const char *what;
};

/* The table, in priority order (first matching row wins); N gets its size. */
const struct ipmi_pattern *ipmi_patterns(size_t *n);

/* Whether LINE (no newline) is -v chatter that never explains a failure. */
bool ipmi_is_noise_line(const char *line);

/* Classify STDERR of a failed ipmitool run. Returns the matching row's
 * code and writes "<what> (ipmitool: <line>)" into DETAILS (for 1003 with
 * a hint naming CIPHER_SUITE); returns 0 and leaves DETAILS empty when no
 * row matches. */
int ipmi_classify_stderr(const char *err, int cipher_suite, char *details,
                         size_t len);

/* Copy the last non-noise, non-empty line of ERR into BUF; returns BUF
 * (empty when there is none). */
const char *ipmi_last_line(const char *err, char *buf, size_t len);

/* Find the BMC's refusal "<command> failed: <completion code text>" in
 * ERR and copy the line into BUF. Returns true when found. */
bool ipmi_find_refusal(const char *err, char *buf, size_t len);

/* ---- stdout parsers --------------------------------------------------- */

/* "Chassis Power is on|off" → STATE "on"/"off" (static) and the line into
 * LINE. Returns 0, or -1 when OUT has no such line. */
int ipmi_parse_power_status(const char *out, const char **state, char *line,
                            size_t len);

/* "Chassis Power Control: Up/On" → that line into LINE. 0 or -1. */
int ipmi_parse_control_line(const char *out, char *line, size_t len);

/* `ipmitool -c user list N` → {"users": [{id (a string), name, role, enabled,
 * callin, link_auth, ipmi_msg, privilege}]}, empty slots (no name, no IPMI
 * messaging) left out. NULL when OUT holds no user line at all. */
json_object *ipmi_parse_user_list(const char *out);

/* The first slot (id >= 2: slot 1 is IPMI's anonymous user) without a name
 * in `ipmitool -c user list N` output, or -1 when all are taken. */
int ipmi_parse_free_user_slot(const char *out);

/* `ipmitool mc info` → {"fw_version", "manufacturer", "product",
 * "ipmi_version"}; NULL when there is no "Firmware Revision". */
json_object *ipmi_parse_mc_info(const char *out);

/* `ipmitool -c sensor` → a list of normalised sensors (health.h) of the
 * five types (of type WANT only, when not NULL); discrete sensors left out.
 * NULL when OUT holds text but no sensor row. */
json_object *ipmi_parse_sensors(const char *out, const char *want);

/* `ipmitool -c sel elist` → a list of log entries (health.h), in the
 * BMC's order; "Pre-Init" times are null. */
json_object *ipmi_parse_sel(const char *out);

/* `ipmitool fru print N` → {manufacturer, model, serial_number,
 * part_number} as far as the FRU has them (product area before board). */
json_object *ipmi_parse_fru(const char *out);

/* `ipmitool chassis bootparam get 5` → {"boot_device", "persistent",
 * "mode", "boot_flag_valid"} from its "Boot parameter data: 8004000000"
 * line (IPMI 2.0 table 28-14, parameter 5): byte 1 bit 7 valid, bit 6
 * persistent, bit 5 EFI; byte 2 bits 5:2 the device (0 none, 1 pxe, 2 disk,
 * 5 cd, 6 bios, others by their spec names). No valid bit and no device
 * reads as "none" with persistent null. NULL when the line is missing. */
json_object *ipmi_parse_boot_flags(const char *out);

/* The parameter 5 device byte for our DEVICE name (pxe 0x04, disk 0x08,
 * cd 0x14, bios 0x18, none 0x00), or -1. */
int ipmi_boot_device_byte(const char *device);

/* IPMI privilege name as ipmitool prints it → role ("Administrator",
 * "Operator", "User", "Callback", "OEM", "NoAccess", "Unknown"). */
const char *ipmi_role_for_privilege(const char *privilege);

#endif
