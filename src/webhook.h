/* webhook.h - one task callback (DESIGN.md "Fleet operations and
 * callbacks"): the allow-list BMC_WEBHOOK_ALLOWED (CIDRs, addresses and
 * host names), the HMAC key (BMC_WEBHOOK_SECRET or the 0600 file
 * BMC_WEBHOOK_SECRET_FILE), the check of a callback_url at submission, one
 * signed POST to it (no redirects, no proxy, https always verified, the
 * peer address checked again at connect time) and the retry schedule.
 * When to deliver and what was delivered is the store's and the
 * executor's business (taskstore.h, executor.h), not this module's.
 * Owns: the parsed allow-list and the secret (webhook_load ..
 * webhook_free); the secret never leaves this module, not even in
 * errors. */
#ifndef BMC_WEBHOOK_H
#define BMC_WEBHOOK_H

#include "errors.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define WEBHOOK_URL_MAX    2048 /* bytes of a callback_url */
#define WEBHOOK_SECRET_MAX 4096 /* bytes of the HMAC key */
#define WEBHOOK_DELAY_CAP  300  /* s: the backoff stops doubling here */

/* Parse bmc_cfg's webhook settings: the allow-list, the secret (the file
 * read once, refused when group or others may read it), the CA file (it
 * must be readable). Start-up: -1 with ERR naming the variable. */
int webhook_load(char *err, size_t errlen);
void webhook_free(void);

/* Whether callbacks may be asked for: an allow-list and a secret. */
bool webhook_enabled(void);

/* /health's view: {"enabled": B, "allowed": [entries]} (never the
 * secret). A new object the caller owns. */
json_object *webhook_health(void);

/* At submission: 0, or BMC_ERR_INVALID_PARAMETERS with DETAILS naming
 * callback_url and the reason (callbacks not configured, not a string
 * (URL NULL), too long, control characters or spaces, scheme not http(s),
 * user information, no host, host not in the allow-list). */
enum bmc_err webhook_check_url(const char *url, char *details, size_t dlen);

/* The hex HMAC-SHA256 of BODY with KEY into HEX (65 bytes). */
void webhook_sign(const void *key, size_t keylen, const void *body, size_t len,
                  char hex[65]);

/* One POST of BODY (LEN bytes) to URL, signed with the secret, with the
 * headers X-BMC-Delivery DELIVERY_ID and X-BMC-Task TASK_ID. 0 when the
 * receiver answered 2xx; else -1 with a short reason in ERR ("HTTP 500",
 * "timeout after 10 s", "refused: ... is outside BMC_WEBHOOK_ALLOWED").
 * *HTTP_STATUS: the answer's status, 0 when none came. Call
 * curl_global_init first (the process's, not this function's). */
int webhook_deliver(const char *url, const char *body, size_t len,
                    const char *task_id, const char *delivery_id,
                    long *http_status, char *err, size_t errlen);

/* Seconds to wait after ATTEMPTS_DONE failed attempts (1: the first):
 * BMC_WEBHOOK_BACKOFF_SECONDS doubling, capped at WEBHOOK_DELAY_CAP (or at
 * the backoff itself when that is larger). */
double webhook_next_delay(int attempts_done);

/* Seconds after the task's end during which delivery is retried
 * (BMC_WEBHOOK_RETRY_SECONDS). */
double webhook_budget(void);

#endif
