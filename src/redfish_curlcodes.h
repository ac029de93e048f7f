/* redfish_curlcodes.h - what a failed libcurl transfer of the Redfish
 * transport means: the service's code for it, and whether the request may
 * have reached the BMC (the "at most once" rule needs the second: only a
 * request certainly never sent may be sent again).
 * Owns: nothing. */
#ifndef BMC_REDFISH_CURLCODES_H
#define BMC_REDFISH_CURLCODES_H

#include <curl/curl.h>
#include <stdbool.h>

/* The bmc_err code for a transfer that failed with RC: 1002 refused,
 * unreachable or timed out, 1003 TLS/HTTP protocol (OVERSIZED: a body over
 * the cap), 1005 other, 3002 when the call's DEADLINE bounded it
 * (DEADLINE_BOUND) or has passed. */
int rf_curl_classify(CURLcode rc, bool oversized, bool deadline_bound,
                     double deadline);

/* Whether a transfer on C that failed with RC may have sent its request:
 * false only for failures that happen before any request byte goes out. */
bool rf_curl_maybe_sent(CURL *c, CURLcode rc);

#endif
