/* http.h - one HTTP exchange as a worker sees it, independent of FastCGI:
 * the request the router dispatches and the response it fills.
 * Owns: http_response.body (a json object) and .text, both freed by
 * http_response_clear. */
#ifndef BMC_HTTP_H
#define BMC_HTTP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct auth_token;

#define HTTP_MAX_BODY 65536 /* same as nginx's client_max_body_size */
/* /action/bulk and /execute/bulk (10,000 targets): their nginx locations
 * say client_max_body_size 4m */
#define HTTP_MAX_BULK_BODY (4 * 1024 * 1024)

struct http_request {
    char method[16];
    char path[512];          /* decoded path, no query string */
    char request_id[65];     /* from nginx (X-Request-ID or $request_id) */
    char query[1024];        /* the query string, undecoded ("" for none) */
    char accept[512];        /* the Accept header ("" for none) */
    char scrape_timeout[32]; /* X-Prometheus-Scrape-Timeout-Seconds */
    const char *body;        /* borrowed from the worker's buffer */
    size_t body_len;
    double arrived;       /* Unix seconds nginx took the request ($msec, param
                       REQUEST_START); 0 = unknown */
    char remote_addr[64]; /* the client (nginx's $remote_addr) */
    char authorization[1024];     /* the Authorization header; wiped after the
                                 request (never logged) */
    const struct auth_token *who; /* router_authenticate: the caller's
                                     token, NULL with BMC_AUTH=none */
};

struct http_response {
    int status;
    json_object *body; /* the envelope; owned */
    char *text; /* instead of the envelope: a text body (malloc, owned) */
    const char *content_type; /* of TEXT (static string) */
    int retry_after;          /* seconds for a Retry-After header; 0 = none */
    const char *allow;     /* Allow header for 405 (static string) or NULL */
    bool www_authenticate; /* 401 / 4009: WWW-Authenticate: Bearer */
};

/* Reset RESP to an empty 500 with no body. */
void http_response_init(struct http_response *resp);

/* Free RESP's body and reset it. */
void http_response_clear(struct http_response *resp);

/* The reason phrase of STATUS ("OK", "Not Found", ...; static). */
const char *http_reason(int status);

#endif
