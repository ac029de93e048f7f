/* redfish_transport.h - the HTTPS transport of the Redfish backend (libcurl),
 * shared by every redfish_*.c resource file.
 *
 * One easy handle per thread, created on first use and reused, so that every
 * request of one backend operation (and of the next operation to the same
 * BMC) rides one TCP+TLS connection. At most one idle connection is kept per
 * thread; rf_transport_release() closes it. Every request is bounded by
 * min(bmc_cfg.redfish_request_timeout, time left before the call deadline),
 * speaks https only, follows no redirect, ignores proxy variables, caps the
 * response body (HTTP_BODY_MAX) and sends Basic credentials through
 * CURLOPT_USERNAME/CURLOPT_PASSWORD (never logged, never in a URL).
 * TLS verification follows bmc_cfg.redfish_verify_tls / redfish_ca_bundle.
 *
 * Owns: the thread's CURL handle (freed at thread exit or by
 * rf_transport_release) and each http_response's body/headers (freed by
 * rf_response_free). Requires curl_global_init in the process
 * (rf_transport_init does it, with secmem.h's wiping allocators), after
 * fork. TLS pinning: tlspin.h. */
#ifndef BMC_REDFISH_TRANSPORT_H
#define BMC_REDFISH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_BODY_MAX         (4u << 20) /* bytes of response body accepted */
#define HTTP_HEADER_VALUE_MAX 512

struct rf_request {
    const char *method; /* "GET", "POST", "PATCH" or "DELETE" */
    const char *host;   /* IP literal (IPv6 without brackets) */
    int port;
    const char *path;     /* absolute path, e.g. "/redfish/v1" */
    const char *username; /* Basic auth */
    const char *password;
    const char *body;     /* POST/PATCH body (JSON) or NULL */
    const char *if_match; /* If-Match header value or NULL */
    double deadline;      /* CLOCK_MONOTONIC seconds; the call's deadline */
    bool mutating;        /* the caller says: this exchange changes the
                             machine or the BMC (reset, PATCH, DELETE, ...):
                             it holds its BMC's gate exclusively */
    const char *tls_pin;  /* a credential's explicit pin or NULL/"" (see
                             tlspin.h: pin mode pins every BMC) */
};

struct rf_response {
    long status; /* HTTP status code */
    char *body;  /* NUL-terminated, may be empty */
    size_t len;
    char etag[HTTP_HEADER_VALUE_MAX];     /* ETag header or "" */
    char location[HTTP_HEADER_VALUE_MAX]; /* Location header or "" */
    char allow[128];                      /* Allow header or "" */
    bool maybe_sent; /* the request may have reached the BMC: always true
                        with an answer; after a failure, false only when it
                        is certain nothing was sent (connection or TLS
                        handshake failed, timeout before the request went
                        out, gate wait expired, deadline already passed) */
};

/* Per-process set-up after fork: curl_global_init, and a warning in the log
 * when TLS verification is off. Returns 0 or -1. */
int rf_transport_init(void);

/* Run REQ on this thread's handle. Returns 0 with RESP filled whatever the
 * HTTP status, or a bmc_err code with a short reason in ERR and RESP empty:
 * 1002 refused/unreachable/timed out, 1003 TLS or HTTP protocol failure or a
 * body over HTTP_BODY_MAX, 1005 other transport failure (connection reset,
 * nothing received), 3002 the call deadline passed (before or during it).
 * RESP->maybe_sent is set in either case. At most once: libcurl re-sends a
 * request whose reused connection closes without an answer, so a POST or
 * PATCH body goes out through a read callback libcurl cannot rewind (once
 * body bytes are out, such a failure ends the request, "the connection
 * closed before the BMC answered", maybe_sent) and a bodyless mutating
 * request (DELETE) always opens a new connection. A mutating POST
 * therefore rides the connection its operation's GETs opened. */
int rf_transport_request(const struct rf_request *req,
                         struct rf_response *resp, char *err, size_t errlen);

/* Free RESP's body and zero it. */
void rf_response_free(struct rf_response *resp);

/* Close this thread's handle and its idle connection (end of a call). */
void rf_transport_release(void);

/* Counters of this thread's handle since it was created (bench/tests):
 * requests performed and new connections opened. */
void rf_transport_stats(long *requests, long *connections);

#endif
