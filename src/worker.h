/* worker.h - a prefork FastCGI worker: accepts one request at a time on
 * the pool's listening socket, reads it (bounded), dispatches it through
 * the router and writes the envelope. Exits after `max_requests` requests
 * (the master replaces it) or, after finishing its request, on SIGTERM.
 * Owns: its FastCGI request state and body buffer. */
#ifndef BMC_WORKER_H
#define BMC_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct http_request;
struct http_response;
struct taskstore;

/* Whether CONTENT_TYPE is application/json (any case, parameters such as
 * "; charset=utf-8" allowed): only JSON POSTs are work, so a browser's
 * cross-site "simple" request (text/plain, a form) never starts one. */
bool worker_is_json(const char *content_type);

/* Fill REQ's method, path and request id from the FastCGI parameters ENVP
 * and, for a POST to a known path, check CONTENT_LENGTH and then
 * CONTENT_TYPE (415 / 4007 unless worker_is_json): 0 with the body
 * length to read in *BODY_LEN (0 for none), or -1 with the error in RESP.
 * No I/O (tests/fuzz/fuzz_http drives it). */
int worker_parse_params(char **envp, struct http_request *req,
                        struct http_response *resp, size_t *body_len);

/* Serve LISTEN_FD with STORE until told to stop; returns the process exit
 * status. */
int worker_run(int listen_fd, const char *pool, long max_requests,
               struct taskstore *store);

#endif
