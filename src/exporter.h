/* exporter.h - GET /metrics: the service's own families in the Prometheus
 * text format 0.0.4 (prefix bmc_manager_; README "Prometheus" lists them):
 * the shared counters of metrics.h, the task store's and the per-BMC
 * gate's gauges. A client that asks for JSON (Accept: application/json
 * preferred) gets the envelope of api_metrics instead.
 * Owns: nothing across calls. */
#ifndef BMC_EXPORTER_H
#define BMC_EXPORTER_H

#include "http.h"
#include "prom.h"

struct taskstore;

/* The /metrics handler (light pool). */
void exporter_metrics(const struct http_request *req,
                      struct http_response *resp);

/* Append every service family to B, the store's gauges from STORE (may be
 * NULL: left out). */
void exporter_write(struct prom_buf *b, struct taskstore *store);

#endif
