/* tlspin.h - TLS public-key pinning of Redfish BMCs (DESIGN.md "Security"
 * / "TLS to BMCs"): BMC_REDFISH_VERIFY_TLS=pin is trust on first use, the
 * first handshake with a BMC recording its key's pin (libcurl's
 * CURLOPT_PINNEDPUBLICKEY form, "sha256//<base64>") in
 * $BMC_STATE_DIR/known_bmcs (address, port, pin, first seen); a
 * credential's tls_pin pins explicitly, in any mode. The pin is learned on
 * a connection that carries no request (CURLOPT_CONNECT_ONLY), and every
 * request after is pinned, so Basic credentials are never sent before the
 * TLS check passed. A mismatch is 1003 naming both pins.
 * Owns: nothing across calls but a per-thread note of the pin last seen;
 * known_bmcs is shared by every process (flock). */
#ifndef BMC_TLSPIN_H
#define BMC_TLSPIN_H

#include "backend.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct tlspin {
    char expected[BMC_TLS_PIN_MAX]; /* "" = no pin for this exchange */
    char where[BMC_IP_MAX + 8];     /* "10.0.0.5:443" */
    bool explicit_pin;              /* from a credential's tls_pin */
};

/* Before an exchange with HOST:PORT on handle C: decide the pin
 * (CRED_PIN, else known_bmcs in pin mode, else learn it on a
 * request-less handshake, bounded by TIMEOUT_MS) and set
 * CURLOPT_PINNEDPUBLICKEY. 0, or a bmc_err code with ERR (the learning
 * handshake failed). */
int tlspin_prepare(CURL *c, const char *host, int port, const char *cred_pin,
                   long timeout_ms, struct tlspin *pin, char *err,
                   size_t errlen);

/* After a failed transfer (RC): when it was the pin, rewrite ERR as
 * "certificate of H:P changed (pinned A, got B)" and return 1003; else
 * return 0 and leave ERR alone. */
int tlspin_explain(const struct tlspin *pin, CURLcode rc, char *err,
                   size_t errlen);

/* `bmc-managerd --forget-bmc ADDR[:PORT]` (port 443 by default): drop the
 * BMC's pin from known_bmcs so the next connection learns the new one.
 * 0 when it was known, 1 when not, 2 on error (message on ERRF). */
int tlspin_forget(const char *target, FILE *out, FILE *errf);

#endif
