/* jsonutil.h - json-c helpers shared by every module: numbers in their
 * shortest exact form, bounded strict parsing of untrusted text.
 * Owns: returned objects belong to the caller (json_object_put). */
#ifndef BMC_JSONUTIL_H
#define BMC_JSONUTIL_H

#include <json-c/json.h>
#include <stddef.h>

/* A JSON number that prints as `30`, `0.2`, `1.5`: an int64 when D is
 * integral and in range, else a double carrying its shortest exact text. */
json_object *json_new_number(double d);

/* A timestamp: Unix seconds rounded to milliseconds, shortest form. */
json_object *json_new_time(double unix_seconds);

/* Parse exactly LEN bytes of untrusted TEXT as one JSON value, strictly,
 * with nesting at most MAX_DEPTH and nothing after it. Returns NULL on any
 * error and, when ERR is given, a short reason in it. */
json_object *json_parse_strict(const char *text, size_t len, int max_depth,
                               char *err, size_t errlen);

/* Serialize OBJ compactly (static-per-object string, valid until OBJ is
 * changed or freed). */
const char *json_compact(json_object *obj);

#endif
