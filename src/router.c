/* router.c - endpoint table (see router.h). */
#include "autoconfig.h"
#include "router.h"

#include "api.h"
#include "auth.h"
#include "bulk.h"
#include "config.h"
#include "errors.h"
#include "exporter.h"
#include "methods.h"
#include "log.h"
#include "probe.h"
#include "response.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Who may call a route with BMC_AUTH=token (DESIGN.md "Security"). */
enum route_access {
    ROUTE_OPEN_HEALTH, /* open unless BMC_AUTH_HEALTH=true (then viewer) */
    ROUTE_VIEWER,      /* any valid token */
    ROUTE_OPERATOR,
    ROUTE_ADMIN,
    ROUTE_BY_METHOD, /* a valid token; the method's own role (methods.h)
                        is checked once the body names the method */
};

struct route {
    const char *path;   /* exact; a prefix when it ends with '/'; with "{}"
                           one path segment there (/tasks/{}/cancel) */
    const char *method; /* "GET" or "POST" */
    const char *allow;  /* Allow header when another method is used */
    route_handler handler;
    const char *label; /* its endpoint label in /metrics; NULL: the path */
    enum route_access access;
};

/* The service's own endpoints and the two /action forms; every other BMC
 * endpoint is a method's convenience endpoint (methods.h), found in the
 * registry, and needs its method's role. A new route names its access
 * here (tests/integration/test_security.py reads this table). */
static const struct route routes[] = {
    {"/health", "GET", "GET, HEAD", api_health, NULL, ROUTE_OPEN_HEALTH},
    {"/metrics", "GET", "GET, HEAD", exporter_metrics, NULL,
     ROUTE_OPEN_HEALTH},
    {"/probe", "GET", "GET, HEAD", probe_handle, NULL, ROUTE_VIEWER},
    {"/tasks/", "GET", "GET, HEAD", api_task_status, "/tasks/{id}",
     ROUTE_VIEWER},
    {"/execute", "POST", "POST", api_execute, NULL, ROUTE_BY_METHOD},
    {"/execute/async", "POST", "POST", api_execute_async, NULL,
     ROUTE_BY_METHOD},
    {"/action", "POST", "POST", api_action, NULL, ROUTE_BY_METHOD},
    {"/action/async", "POST", "POST", api_action_async, NULL, ROUTE_BY_METHOD},
    {"/execute/bulk", "POST", "POST", api_execute_bulk, NULL, ROUTE_BY_METHOD},
    {"/action/bulk", "POST", "POST", api_action_bulk, NULL, ROUTE_BY_METHOD},
    {"/tasks/{}/cancel", "POST", "POST", api_task_cancel, "/tasks/{id}/cancel",
     ROUTE_OPERATOR},
};

/* "/tasks/{}/cancel": the prefix, one non-empty segment, the rest. */
static bool segment_matches(const char *pattern, const char *hole,
                            const char *path)
{
    size_t n = (size_t)(hole - pattern);
    const char *rest = hole + 2, *slash;

    if (strncmp(path, pattern, n) != 0 || path[n] == '\0' || path[n] == '/')
        return false;
    slash = strchr(path + n, '/');
    return slash && strcmp(slash, rest) == 0;
}

static bool route_matches(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);
    const char *hole = strstr(r->path, "{}");

    if (hole)
        return segment_matches(r->path, hole, path);

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

size_t router_body_limit(const char *path)
{
    return !strcmp(path, "/action/bulk") || !strcmp(path, "/execute/bulk")
               ? HTTP_MAX_BULK_BODY
               : HTTP_MAX_BODY;
}

static const struct route *route_find(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (route_matches(&routes[i], path))
            return &routes[i];
    return NULL;
}

bool router_body_optional(const char *path)
{
    const struct route *r = route_find(path);
    return r && r->handler == api_task_cancel;
}

/* The least role ROUTE needs beyond a valid token; -1: no token needed. */
static int route_role(const struct route *r)
{
    switch (r->access) {
    case ROUTE_OPEN_HEALTH: return bmc_cfg.auth_health ? ROLE_VIEWER : -1;
    case ROUTE_OPERATOR: return ROLE_OPERATOR;
    case ROUTE_ADMIN: return ROLE_ADMIN;
    default: return ROLE_VIEWER;
    }
}

int router_authenticate(struct http_request *req, struct http_response *resp)
{
    char details[256];
    const struct route *r = route_find(req->path);
    int need = r ? route_role(r) : ROLE_VIEWER, rc;

    req->who = NULL;
    if (!auth_enabled() || need < 0 || (!r && !router_knows(req->path)))
        return 0;
    rc = auth_check(req->authorization, req->remote_addr, &req->who, details,
                    sizeof(details));
    if (!rc)
        rc = auth_require(req->who, (enum method_role)need, details,
                          sizeof(details));
    if (rc) {
        response_error(resp, rc, NULL, NULL, "%s", details);
        resp->www_authenticate = rc == BMC_ERR_AUTH_REQUIRED;
        log_info("auth_refused", "path=%.128s code=%d who=%s from=%s",
                 req->path, rc, req->who ? auth_token_name(req->who) : "-",
                 req->remote_addr);
    }
    return rc ? -1 : 0;
}

void router_print_access(FILE *out)
{
    static const char *const names[] = {"health", "viewer", "operator",
                                        "admin", "method"};
    fprintf(out, "[");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        fprintf(out, "%s{\"path\":\"%s\",\"method\":\"%s\",\"access\":\"%s\"}",
                i ? "," : "", routes[i].path, routes[i].method,
                names[routes[i].access]);
    fprintf(out, "]\n");
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
                       "%s is not allowed on %s; use %s", req->method,
                       req->path, r->allow);
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
