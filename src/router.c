/* router.c - endpoint table (see router.h). */
#include "autoconfig.h"
#include "router.h"

#include "api.h"
#include "errors.h"
#include "exporter.h"
#include "methods.h"
#include "probe.h"
#include "response.h"

#include <stdbool.h>
#include <string.h>

struct route {
    const char *path;   /* exact, or a prefix when it ends with '/' */
    const char *method; /* "GET" or "POST" */
    const char *allow;  /* Allow header when another method is used */
    route_handler handler;
    const char *label; /* its endpoint label in /metrics; NULL: the path */
};

/* The service's own endpoints and the two /action forms; every other BMC
 * endpoint is a method's convenience endpoint (methods.h), found in the
 * registry. */
static const struct route routes[] = {
    {"/health", "GET", "GET, HEAD", api_health, NULL},
    {"/metrics", "GET", "GET, HEAD", exporter_metrics, NULL},
    {"/probe", "GET", "GET, HEAD", probe_handle, NULL},
    {"/tasks/", "GET", "GET, HEAD", api_task_status, "/tasks/{id}"},
    {"/execute", "POST", "POST", api_execute, NULL},
    {"/execute/async", "POST", "POST", api_execute_async, NULL},
    {"/action", "POST", "POST", api_action, NULL},
    {"/action/async", "POST", "POST", api_action_async, NULL},
};

static bool route_matches(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);

    if (r->path[n - 1] == '/')
        return strncmp(path, r->path, n) == 0 && path[n] != '\0' &&
               strchr(path + n, '/') == NULL;
    return strcmp(path, r->path) == 0;
}

bool router_knows(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (route_matches(&routes[i], path))
            return true;
    return methods_by_endpoint(path) != NULL;
}

const char *router_endpoint_name(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (route_matches(&routes[i], path))
            return routes[i].label ? routes[i].label : routes[i].path;
    const struct method_def *m = methods_by_endpoint(path);
    return m ? m->endpoint : "unmatched";
}

void router_dispatch(const struct http_request *req,
                     struct http_response *resp)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (!route_matches(r, req->path))
            continue;
        bool is_head = strcmp(req->method, "HEAD") == 0;
        if (strcmp(req->method, r->method) == 0 ||
            (is_head && strcmp(r->method, "GET") == 0)) {
            r->handler(req, resp);
            return;
        }
        response_error(resp, BMC_ERR_METHOD_NOT_ALLOWED, NULL, NULL,
                       "%s is not allowed on %s; use %s", req->method, r->path,
                       r->allow);
        resp->allow = r->allow;
        return;
    }
    const struct method_def *m = methods_by_endpoint(req->path);
    if (m && !strcmp(req->method, "POST")) {
        api_method_endpoint(req, resp, m);
        return;
    }
    if (m) {
        response_error(resp, BMC_ERR_METHOD_NOT_ALLOWED, NULL, NULL,
                       "%s is not allowed on %s; use POST", req->method,
                       req->path);
        resp->allow = "POST";
        return;
    }
    response_error(resp, BMC_ERR_NOT_FOUND, NULL, NULL,
                   "no endpoint at this path; see /docs for the API");
}
