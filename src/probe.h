/* probe.h - GET /probe?target=ADDR[:PORT]&module=NAME (DESIGN.md
 * "Prometheus"): this service as a multi-target exporter, the pattern of
 * Prometheus's blackbox and ipmi exporters. The module (probe_modules.h)
 * says how to reach the BMC and what to collect; each item is a method of
 * the registry run through the engine (so validation, the per-BMC gate
 * and the deadline apply as for any call): power -> get_power_state,
 * sensors -> get_sensors, event_log_count -> get_event_log,
 * inventory_info -> get_inventory. An item whose method this build or the
 * module's protocol lacks is reported `bmc_probe_collect_success 0` and
 * does not make `bmc_up` 0.
 *
 * The answer (Prometheus text 0.0.4, at most PROBE_MAX_SERIES samples) is
 * cached per (module, target) for the module's cache_seconds in shared
 * memory (probe_cache.h): concurrent scrapes wait for one collection. The
 * time budget is the module's timeout_seconds, cut to the scraper's
 * X-Prometheus-Scrape-Timeout-Seconds minus PROBE_TIMEOUT_OFFSET_S; a BMC
 * that does not answer in it gives `bmc_up 0` with HTTP 200, as exporters
 * do. Refusals are plain text: 400 (unknown module, bad target), 403
 * (target outside what the module's credential may reach).
 * Owns: nothing across calls. */
#ifndef BMC_PROBE_H
#define BMC_PROBE_H

#include "backend.h"
#include "http.h"
#include "prom.h"

#include <json-c/json.h>

#define PROBE_MAX_SERIES 2000
#define PROBE_TIMEOUT_OFFSET_S                                                \
    0.5 /* left to answer before the scraper quits */

struct probe_module;

/* The /probe handler (light pool). */
void probe_handle(const struct http_request *req, struct http_response *resp);

/* Split TARGET ("10.0.0.5", "10.0.0.5:623", "[fe80::1]:443", "::1") into
 * IP (IPv4/IPv6 literal) and *PORT (0 when absent). 0, or -1. */
int probe_parse_target(const char *target, char ip[BMC_IP_MAX], int *port);

/* The value of KEY in the query string QUERY, URL-decoded into OUT; 0, or
 * -1 when absent, empty or longer than LEN. */
int probe_query_param(const char *query, const char *key, char *out,
                      size_t len);

/* Write the series of one collected item (by its collect bit) from the
 * method's DATA (the shapes of DESIGN.md "Beyond power"). */
void probe_write_item(struct prom_buf *b, unsigned collect_bit,
                      json_object *data);

#endif
