/* bulk.h - fleet operations: POST /action/bulk and /execute/bulk (one call
 * for up to 10,000 BMCs: a parent task and a child task per target),
 * POST /tasks/{id}/cancel, and the children page GET /tasks/{parent} adds
 * to the task (DESIGN.md "Fleet operations and callbacks").
 * Owns: nothing across calls (a submission's targets live for its call). */
#ifndef BMC_BULK_H
#define BMC_BULK_H

#include "http.h"

#include <json-c/json.h>

/* Default and largest page of child ids on GET /tasks/{parent}. */
#define BULK_CHILDREN_PAGE     100
#define BULK_CHILDREN_PAGE_MAX 10000

void api_action_bulk(const struct http_request *req,
                     struct http_response *resp);
void api_execute_bulk(const struct http_request *req,
                      struct http_response *resp);
void api_task_cancel(const struct http_request *req,
                     struct http_response *resp);

/* GET /tasks/{id} of a parent: TASK (its JSON, with `progress`) gains
 * `children` (ids, or with ?children=full each child's task) from
 * ?children_offset (0) for ?children_limit (BULK_CHILDREN_PAGE) and
 * `children_next` (the next offset, or null). 0; or the 2002 envelope for
 * a bad query / the 503 one for a busy store in RESP, and -1. */
int bulk_children_page(const struct http_request *req, const char *id,
                       json_object *task, struct http_response *resp);

#endif
