/* api.h - the endpoint handlers of the guide's API (one per route) plus
 * /metrics. Each turns a request into an envelope; BMC work goes through
 * the engine, task reads through the task store.
 * Owns: nothing across calls. */
#ifndef BMC_API_H
#define BMC_API_H

#include "http.h"
#include "methods.h"

#include <stdbool.h>

struct taskstore;

/* Give the handlers the process's task store (NULL: none yet). */
void api_set_store(struct taskstore *store);

/* Graceful stop has begun: /health answers status "draining" (503) and new
 * BMC work is refused (503 "shutting down", no task), while task lookups
 * and health keep answering until the last BMC call has ended. */
void api_set_draining(void);
/* Whether api_set_draining was called. */
bool api_is_draining(void);
/* The envelope of a task lookup that failed with RC (404 3005 for an
 * unknown or expired id, with the retention; else 503 3004). */
void api_task_lookup_failed(struct http_response *resp, int rc,
                            const char *method);
/* Task ID's GET /tasks/{id} envelope (no children page) as compact JSON
 * (malloc, the caller frees): the body of its callback. NULL when the
 * store cannot say. */
char *api_task_document(struct taskstore *store, const char *id);
/* The process's task store (NULL: none yet); borrowed. */
struct taskstore *api_get_store(void);

void api_health(const struct http_request *req, struct http_response *resp);
void api_metrics(const struct http_request *req, struct http_response *resp);
void api_task_status(const struct http_request *req,
                     struct http_response *resp);
void api_execute(const struct http_request *req, struct http_response *resp);
void api_execute_async(const struct http_request *req,
                       struct http_response *resp);
/* A method's convenience endpoint (methods.h: method_def.endpoint): the
 * base fields and the method's declared parameters, run synchronously. */
void api_method_endpoint(const struct http_request *req,
                         struct http_response *resp,
                         const struct method_def *method);
void api_action(const struct http_request *req, struct http_response *resp);
void api_action_async(const struct http_request *req,
                      struct http_response *resp);

#endif
