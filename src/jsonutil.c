/* jsonutil.c - see jsonutil.h. */
#include "autoconfig.h"
#include "jsonutil.h"

#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *json_new_number(double d)
{
    char buf[40];

    if (isfinite(d) && d == trunc(d) && fabs(d) < 9007199254740992.0)
        return json_object_new_int64((int64_t)d);
    if (!isfinite(d))
        return json_object_new_null();
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return json_object_new_double_s(d, buf);
}

json_object *json_new_time(double unix_seconds)
{
    char buf[40];
    double ms = round(unix_seconds * 1000.0) / 1000.0;

    /* Millisecond precision: %.3f with trailing zeros dropped is the
     * shortest form, without json_new_number's search. */
    if (!isfinite(ms) || fabs(ms) >= 9007199254740992.0)
        return json_new_number(ms); /* null, or no int64 cast out of range */
    snprintf(buf, sizeof(buf), "%.3f", ms);
    char *end = buf + strlen(buf) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        return json_object_new_int64((int64_t)ms);
    return json_object_new_double_s(ms, buf);
}

/* json-c 0.16 accepts 'single-quoted' strings even in strict mode. */
static int has_single_quote_outside_strings(const char *text, size_t len)
{
    int in_string = 0, escaped = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (escaped)
            escaped = 0;
        else if (in_string && c == '\\')
            escaped = 1;
        else if (c == '"')
            in_string = !in_string;
        else if (!in_string && c == '\'')
            return 1;
    }
    return 0;
}

json_object *json_parse_strict(const char *text, size_t len, int max_depth,
                               char *err, size_t errlen)
{
    if (has_single_quote_outside_strings(text, len)) {
        if (err)
            snprintf(err, errlen, "single-quoted strings are not JSON");
        return NULL;
    }

    json_tokener *tok = json_tokener_new_ex(max_depth);
    json_object *obj = NULL;

    if (!tok) {
        if (err)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (obj == NULL && jerr == json_tokener_success) {
        if (err)
            snprintf(err, errlen, "null is not a JSON object");
        goto out;
    }
    if (obj == NULL || jerr != json_tokener_success) {
        if (err)
            snprintf(err, errlen, "%s",
                     jerr == json_tokener_continue
                         ? "unexpected end of JSON"
                         : json_tokener_error_desc(jerr));
        json_object_put(obj);
        obj = NULL;
        goto out;
    }
    /* Whatever follows the value must be whitespace only. */
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (!strchr(" \t\r\n", text[i])) {
            if (err)
                snprintf(err, errlen, "unexpected data after JSON value");
            json_object_put(obj);
            obj = NULL;
            goto out;
        }
    }
out:
    /* its scratch buffer held the last string parsed (a password, say) */
    if (tok->pb && tok->pb->buf)
        explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
    json_tokener_free(tok);
    return obj;
}

const char *json_compact(json_object *obj)
{
    return json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
