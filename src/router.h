/* router.h - the table of endpoints: (HTTP method, path) → handler, with
 * 404 for unknown paths and 405 (with Allow) for a known path asked with
 * another method. Which pool serves a path is nginx's decision
 * (conf/nginx); every worker can answer every route.
 * Owns: nothing. */
#ifndef BMC_ROUTER_H
#define BMC_ROUTER_H

#include "http.h"

#include <stdbool.h>
#include <stdio.h>

typedef void (*route_handler)(const struct http_request *req,
                              struct http_response *resp);

/* Whether any route serves PATH (so a body is worth reading). */
bool router_knows(const char *path);

/* The largest body PATH takes: HTTP_MAX_BULK_BODY on the two bulk
 * routes, HTTP_MAX_BODY everywhere else (nginx's client_max_body_size
 * for the same locations). */
size_t router_body_limit(const char *path);

/* Whether a POST to PATH may come without a body (the cancel route:
 * nothing to say beyond the path). */
bool router_body_optional(const char *path);

/* BMC_AUTH=token: check REQ's token against the route's access (its
 * table row; a method's convenience endpoint and /execute, /action need a
 * valid token here and their method's role in the handler) and set
 * REQ->who. 0, or -1 with the 401 / 4009 or 403 / 4010 envelope in RESP.
 * Unknown paths pass (their 404 reaches nothing). */
int router_authenticate(struct http_request *req, struct http_response *resp);

/* `bmc-managerd --list-routes`: the service's own routes and their access
 * (health, viewer, operator, admin, or method) as a JSON array. */
void router_print_access(FILE *out);

/* The endpoint PATH is served by, as /metrics labels it: the route
 * ("/tasks/{id}" for every task) or "unmatched" (static string). */
const char *router_endpoint_name(const char *path);

/* Dispatch REQ to its handler and fill RESP (always an envelope). */
void router_dispatch(const struct http_request *req,
                     struct http_response *resp);

#endif
