/* log.h - one key=value line per event on stderr, filtered by BMC_LOG_LEVEL.
 * Every line carries ts, level, pid and, when known, the request id.
 * Never pass a password or an Authorization header to these functions.
 * Owns: the per-thread request id (copied, at most 64 bytes). */
#ifndef BMC_LOG_H
#define BMC_LOG_H

#include "config.h"

/* Set the minimum level that is written (from bmc_cfg.log_level). */
void log_set_level(enum bmc_log_level level);

/* Set the request id this thread's following lines carry (NULL clears). */
void log_set_request_id(const char *request_id);

/* Write `ts=… level=… pid=… [req=…] event=EVENT <fmt…>`; FMT must produce
 * key=value pairs. Values with spaces should be quoted via log_quote. */
void log_event(enum bmc_log_level level, const char *event, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));

/* Copy S into BUF as a double-quoted, escaped value (truncated to fit). */
const char *log_quote(const char *s, char *buf, size_t buflen);

/* Re-open stderr on the log file named by BMC_LOG_FILE, if any (SIGHUP). */
void log_reopen(void);

/* The same with the path log_reopen last read, using only async-signal-safe
 * calls (open, dup2, close): for a SIGHUP handler, so an idle process
 * blocked in accept() moves to the new file at once. */
void log_reopen_signal_safe(void);

#define log_debug(ev, ...) log_event(BMC_LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_event(BMC_LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_event(BMC_LOG_WARNING, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(BMC_LOG_ERROR, ev, __VA_ARGS__)

#endif
