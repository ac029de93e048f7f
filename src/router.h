/* router.h - the table of endpoints: (HTTP method, path) → handler, with
 * 404 for unknown paths and 405 (with Allow) for a known path asked with
 * another method. Which pool serves a path is nginx's decision
 * (conf/nginx); every worker can answer every route.
 * Owns: nothing. */
#ifndef BMC_ROUTER_H
#define BMC_ROUTER_H

#include "http.h"

#include <stdbool.h>

typedef void (*route_handler)(const struct http_request *req,
                              struct http_response *resp);

/* Whether any route serves PATH (so a body is worth reading). */
bool router_knows(const char *path);

/* The endpoint PATH is served by, as /metrics labels it: the route
 * ("/tasks/{id}" for every task) or "unmatched" (static string). */
const char *router_endpoint_name(const char *path);

/* Dispatch REQ to its handler and fill RESP (always an envelope). */
void router_dispatch(const struct http_request *req,
                     struct http_response *resp);

#endif
