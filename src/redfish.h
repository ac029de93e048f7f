/* redfish.h - the Redfish backend: `redfish_backend` (backend.h) over
 * HTTPS Basic auth (no sessions, so nothing to log out and no session slot
 * of the BMC is ever held), one connection per operation
 * (redfish_transport.h).
 *
 * Discovery follows links, never vendor paths:
 *   /redfish/v1 → Systems → member (the one whose last path segment equals
 *   params "system_id", else the first) → PowerState, BiosVersion,
 *   Actions["#ComputerSystem.Reset"] (ResetType@Redfish.AllowableValues,
 *   else @Redfish.ActionInfo, else the DMTF list assumed: the BMC's answer
 *   tells), Links.ManagedBy[0] (else Managers' first member) →
 *   FirmwareVersion; AccountService → Accounts → each account.
 * Requests per operation (no faults): validate_connection 2 (root,
 * Systems), get_power_state 3, list_actions 3 (+1 with ActionInfo),
 * run_action 4 (+1 ActionInfo, +polls of a 202 task monitor), get_fw_version
 * 4, list_users 3 + one per account.
 *
 * run_action: alias mapping in redfish_parse.h. Before POSTing, an action
 * whose target state is the current PowerState answers success with
 * data.message "Already On"/"Already Off" and data.power_state; so does a
 * state conflict from the BMC (409/400: ResetNotAllowed, PSU501,
 * InvalidOperationForSystemState, ...) when a fresh read shows the target
 * state or "Powering<target>" (then "Already PoweringOn"). Success:
 * data.message "Command Accepted (<POST status>)", data.reset_type the
 * ResetType sent. 202 + Location: the task monitor is polled every 0.5 s
 * until it stops answering 202 / its TaskState ends; a failed task is
 * success:false "Reset task ended in state X"; a task still running near
 * the deadline is success with data.task_state as last seen (the BMC did
 * accept the command). 412/428: one retry with If-Match = the system's
 * ETag read again. 400 "value not supported"/"not in list" or 501: for an
 * alias the next ResetType of its mapping is tried, else (and when none is
 * left) "Action 'X' is not supported" with the list minus what the BMC
 * turned down. cycle without PowerCycle: off type, poll PowerState every
 * BMC_POWER_STATE_POLL_INTERVAL until Off (deadline → 3002, on not sent),
 * then the on type; data.sequence lists the steps. A system already Off is
 * only turned on.
 *
 * Errors: transport per redfish_transport.h (1002/1003/1005/3002); 401/403 →
 * 1004 with the status in details; other HTTP errors → 1005 "HTTP <n> from
 * <METHOD> <path>: <reason>"; malformed/oversized JSON → 1003; no Systems →
 * 3001 "No Systems found in Redfish collection"; no reset action or no
 * ResetType → 3001 "No power actions discovered"; unknown system_id →
 * success:false "System 'X' not found" with data.systems. */
#ifndef BMC_REDFISH_H
#define BMC_REDFISH_H

#include "backend.h"

#define RF_NO_SYSTEMS "No Systems found in Redfish collection"
#define RF_NO_ACTIONS "No power actions discovered"

#endif
