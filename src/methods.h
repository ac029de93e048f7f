/* methods.h - the method registry: the C answer to "automatically supports
 * new BMC_Manager methods". One table entry (name, backend operation,
 * declared parameters with types and bounds, flags, the role a caller needs,
 * the convenience endpoint) makes a method reachable through /execute,
 * /execute/async and its own POST endpoint, validated, and listed in the
 * OpenAPI document (`bmc-managerd --list-methods`; a test keeps the two
 * equal). A backend that leaves the method's operation NULL answers 2002
 * "not supported over <protocol>" before any task is made.
 * Owns: nothing; entries are static. */
#ifndef BMC_METHODS_H
#define BMC_METHODS_H

#include "backend.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum param_type { PARAM_STRING, PARAM_INTEGER, PARAM_NUMBER, PARAM_BOOLEAN };

#define PARAM_STRING_MAX 1024 /* bytes of a string parameter by default */

/* One declared parameter. Initialise with designated initializers: every
 * field but name/type/doc may be left out. */
struct method_param {
    const char *name;
    enum param_type type;
    bool required;
    const char *doc;
    const char *const *choices; /* strings: the accepted values (NULL-ended);
                                   NULL = any non-empty string */
    bool bounded;               /* numbers: min <= value <= max */
    double min, max;
    size_t max_len; /* strings: at most this many bytes (0: 1024) */
    bool secret;    /* a password: never logged, stored or echoed
                       (methods_params_redact), wiped after use */
};

enum method_flag {
    METHOD_CALLABLE = 1 << 0,      /* not set: an attribute (2003) */
    METHOD_POWER_ACTION = 1 << 1,  /* changes power: wait_for_state applies */
    METHOD_SKIP_VALIDATE = 1 << 2, /* no auto-validation first */
    METHOD_MUTATING = 1 << 3,      /* changes the machine or the BMC: the
                                      "at most once" rules, an audit line */
};

/* The least a service token's role must be to call a method
 * (BMC_AUTH=token): viewer reads, operator also acts on machines, admin
 * also manages BMC accounts and resets BMCs. */
enum method_role { ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

struct method_def {
    const char *name;
    size_t op_offset; /* offset of its bmc_op_fn in struct bmc_backend */
    const struct method_param *params; /* NULL-name terminated */
    unsigned flags;
    const char *summary;
    enum method_role role;
    const char *endpoint; /* its convenience endpoint ("/boot-device"), whose
                             body carries the params next to the base
                             fields; NULL: only through /execute */
};

/* Resolve NAME and check PARAMS (an object) against its declaration:
 * 0 and *OUT, or 2001 unknown, 2002 params not matching (unknown, missing,
 * wrong type), 2003 not callable, 2004 private (leading '_'), with a
 * reason in DETAILS. */
enum bmc_err methods_resolve(const char *name, json_object *params,
                             const struct method_def **out, char *details,
                             size_t dlen);

/* The registry entry named NAME, callable or not; NULL if none. */
const struct method_def *methods_find(const char *name);

/* The backend operation of METHOD in BACKEND; NULL when BACKEND does not
 * implement it. */
bmc_op_fn methods_op(const struct method_def *method,
                     const struct bmc_backend *backend);

/* 0 when BACKEND implements METHOD, else 2002 with "'<method>' is not
 * supported over <backend>" in DETAILS. */
enum bmc_err methods_check_supported(const struct method_def *method,
                                     const struct bmc_backend *backend,
                                     char *details, size_t dlen);

/* The callable method whose convenience endpoint is PATH, or NULL. */
const struct method_def *methods_by_endpoint(const char *path);

/* Copy into PARAMS (an object) each of METHOD's declared parameters that
 * BODY (the request object) carries at its top level. */
void methods_params_from_body(const struct method_def *method,
                              json_object *body, json_object *params);

/* A new copy of PARAMS with every secret parameter's value "***" (for
 * logs and the task store). The caller puts it. */
json_object *methods_params_redact(const struct method_def *method,
                                   json_object *params);

/* Overwrite the bytes of every secret string parameter in PARAMS (before
 * PARAMS is freed). */
void methods_params_wipe(const struct method_def *method, json_object *params);

/* "viewer", "operator" or "admin". */
const char *methods_role_name(enum method_role role);

/* Write the callable methods and their parameters as a JSON array. */
void methods_print_json(FILE *out);

#endif
