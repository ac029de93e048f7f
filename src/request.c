/* request.c - body validation (see request.h for the order and codes). */
#include "autoconfig.h"
#include "request.h"

#include "config.h"
#include "credentials.h"
#include "webhook.h"
#include "errors.h"
#include "jsonutil.h"
#include "policy.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define IPMI_USERNAME_MAX 16 /* bytes, IPMI 2.0 user name field */
#define IPMI_PASSWORD_MAX 20 /* bytes, IPMI 2.0 password field */

__attribute__((format(printf, 4, 5))) static int
fail(int code, char *details, size_t dlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(details, dlen, fmt, ap);
    va_end(ap);
    return code;
}

/* A JSON string without embedded NUL, or NULL. */
static const char *get_string(json_object *obj, const char *key, size_t *len)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return strlen(s) == *len ? s : NULL;
}

static bool has_value(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && v != NULL;
}

/* Count UTF-8 code points (json-c has validated the encoding). */
/* Length of the UTF-8 sequence led by C (0: not a lead byte) and the
 * smallest code point it may carry (shorter forms are overlong). */
static int utf8_lead(unsigned char c, uint32_t *cp, uint32_t *min)
{
    if (c < 0x80) {
        *cp = c;
        *min = 0;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        *cp = c & 0x1F;
        *min = 0x80;
        return 2;
    }
    if ((c & 0xF0) == 0xE0) {
        *cp = c & 0x0F;
        *min = 0x800;
        return 3;
    }
    if ((c & 0xF8) == 0xF0) {
        *cp = c & 0x07;
        *min = 0x10000;
        return 4;
    }
    return 0;
}

/* Code points in S, or -1 when S is not valid UTF-8 (stray continuation
 * byte, truncated or overlong sequence, surrogate, above U+10FFFF). */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    while (*p) {
        uint32_t cp, min;
        int len = utf8_lead(*p++, &cp, &min);

        if (len == 0)
            return -1;
        for (int i = 1; i < len; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        n++;
    }
    return n;
}

static bool has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Integral JSON number (int, or a double with no fraction) in [lo, hi]. */
static bool get_integer(json_object *v, long lo, long hi, long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t n = json_object_get_int64(v);
        if (n < lo || n > hi)
            return false;
        *out = (long)n;
        return true;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d != trunc(d) || d < (double)lo || d > (double)hi)
            return false;
        *out = (long)d;
        return true;
    }
    return false;
}

/* JSON number (int or double) in [lo, hi]. */
static bool get_number(json_object *v, double lo, double hi, double *out)
{
    if (!json_object_is_type(v, json_type_int) &&
        !json_object_is_type(v, json_type_double))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < lo || d > hi)
        return false;
    *out = d;
    return true;
}

static enum bmc_err check_ip(json_object *obj, struct api_request *out,
                             char *details, size_t dlen)
{
    size_t len;
    const char *ip = get_string(obj, "ip", &len);
    unsigned char buf[sizeof(struct in6_addr)];

    if (!has_value(obj, "ip"))
        return fail(BMC_ERR_INVALID_IP, details, dlen, "%sip is required", "");
    if (!ip || len == 0 || len >= BMC_IP_MAX ||
        (inet_pton(AF_INET, ip, buf) != 1 &&
         inet_pton(AF_INET6, ip, buf) != 1))
        return fail(BMC_ERR_INVALID_IP, details, dlen,
                    "%sip must be an IPv4 or IPv6 address literal", "");
    memcpy(out->conn.ip, ip, len + 1);
    /* one form everywhere: ::ffff:10.0.0.5 is 10.0.0.5 (gate, lists) */
    if (policy_normalize_ip(out->conn.ip, sizeof(out->conn.ip)))
        return fail(BMC_ERR_INVALID_IP, details, dlen,
                    "%sip must be an IPv4 or IPv6 address literal", "");
    return policy_check_target(out->conn.ip, details, dlen);
}

_Static_assert(BMC_USERNAME_MAX >= 64 * 4 + 1,
               "a username is up to 64 UTF-8 characters of 4 bytes");

static enum bmc_err check_username(json_object *obj, struct api_request *out,
                                   char *details, size_t dlen)
{
    size_t len;
    const char *u = get_string(obj, "username", &len);

    if (!has_value(obj, "username"))
        return fail(BMC_ERR_INVALID_USERNAME, details, dlen,
                    "%susername is required", "");
    if (!u || len == 0 || len >= BMC_USERNAME_MAX || utf8_chars(u) < 1 ||
        utf8_chars(u) > 64 || has_control_chars(u))
        return fail(BMC_ERR_INVALID_USERNAME, details, dlen,
                    "%susername must be a UTF-8 string of 1 to 64 characters",
                    "");
    memcpy(out->conn.username, u, len + 1);
    return 0;
}

static enum bmc_err check_password(json_object *obj, struct api_request *out,
                                   char *details, size_t dlen)
{
    size_t len;
    const char *p = get_string(obj, "password", &len);

    if (!has_value(obj, "password"))
        return fail(BMC_ERR_INVALID_PASSWORD, details, dlen,
                    "%spassword is required", "");
    if (!p || len == 0 || len >= BMC_PASSWORD_MAX)
        return fail(
            BMC_ERR_INVALID_PASSWORD, details, dlen,
            "%spassword must be a string of 1 to 256 bytes without NUL", "");
    memcpy(out->conn.password, p, len + 1);
    return 0;
}

static enum bmc_err check_protocol(json_object *obj, struct api_request *out,
                                   char *details, size_t dlen)
{
    size_t len;
    const char *p = get_string(obj, "protocol", &len);

    if (!has_value(obj, "protocol"))
        return fail(BMC_ERR_INVALID_PROTOCOL, details, dlen,
                    "%sprotocol is required", "");
    if (bmc_protocol_parse(p, &out->conn.protocol))
        return fail(BMC_ERR_INVALID_PROTOCOL, details, dlen,
                    "%sprotocol must be \"redfish\" or \"ipmitool\"", "");
    return 0;
}

/* IPMI's own field sizes, checked once the protocol is known. */
static enum bmc_err check_ipmi_limits(struct api_request *out, char *details,
                                      size_t dlen)
{
    if (out->conn.protocol != BMC_PROTO_IPMI)
        return 0;
    if (strlen(out->conn.username) > IPMI_USERNAME_MAX)
        return fail(BMC_ERR_INVALID_USERNAME, details, dlen,
                    "%susername must be at most 16 bytes for ipmitool", "");
    if (strlen(out->conn.password) > IPMI_PASSWORD_MAX)
        return fail(BMC_ERR_INVALID_PASSWORD, details, dlen,
                    "%spassword must be at most 20 bytes for ipmitool", "");
    return 0;
}

static enum bmc_err check_cipher_and_port(json_object *obj,
                                          struct api_request *out,
                                          char *details, size_t dlen)
{
    json_object *v;
    long n;

    out->conn.cipher_suite = 17;
    if (json_object_object_get_ex(obj, "cipher_suite", &v) && v) {
        if (!get_integer(v, 0, 17, &n))
            return fail(BMC_ERR_INVALID_CIPHER_SUITE, details, dlen,
                        "%scipher_suite must be an integer from 0 to 17", "");
        out->conn.cipher_suite = (int)n;
    }
    out->conn.port = out->conn.protocol == BMC_PROTO_IPMI ? 623 : 443;
    if (json_object_object_get_ex(obj, "port", &v) && v) {
        if (!get_integer(v, 1, 65535, &n))
            return fail(BMC_ERR_INVALID_IP, details, dlen,
                        "%sport must be an integer from 1 to 65535", "");
        out->conn.port = (int)n;
    }
    return 0;
}

static enum bmc_err check_name_field(json_object *obj, const char *key,
                                     char *dst, size_t max, char *details,
                                     size_t dlen)
{
    size_t len;
    const char *s = get_string(obj, key, &len);

    if (!has_value(obj, key))
        return fail(BMC_ERR_INVALID_PARAMETERS, details, dlen,
                    "%s is required", key);
    if (!s || len == 0 || len > max || has_control_chars(s)) {
        snprintf(details, dlen, "%s must be a string of 1 to %zu characters",
                 key, max);
        return BMC_ERR_INVALID_PARAMETERS;
    }
    memcpy(dst, s, len + 1);
    return 0;
}

static enum bmc_err check_params(json_object *obj, struct api_request *out,
                                 char *details, size_t dlen)
{
    json_object *v;

    if (json_object_object_get_ex(obj, "params", &v) && v) {
        if (!json_object_is_type(v, json_type_object))
            return fail(BMC_ERR_INVALID_PARAMETERS, details, dlen,
                        "%sparams must be an object", "");
        out->params = json_object_get(v);
    }
    return 0;
}

static enum bmc_err check_numbers(json_object *obj, unsigned fields,
                                  struct api_request *out, char *details,
                                  size_t dlen)
{
    json_object *v;
    long n;

    if ((fields & REQ_DELAY) && json_object_object_get_ex(obj, "delay", &v) &&
        v && !get_number(v, 0, REQUEST_DELAY_MAX, &out->delay))
        return fail(BMC_ERR_INVALID_PARAMETERS, details, dlen,
                    "%sdelay must be a number from 0 to 3600", "");
    if ((fields & REQ_RETRY) &&
        json_object_object_get_ex(obj, "retry_times", &v) && v) {
        if (!get_integer(v, 1, REQUEST_RETRY_MAX, &n))
            return fail(BMC_ERR_INVALID_PARAMETERS, details, dlen,
                        "%sretry_times must be an integer from 1 to 100", "");
        out->retry_times = (int)n;
    }
    if ((fields & REQ_WAIT) &&
        json_object_object_get_ex(obj, "wait_for_state_seconds", &v) && v &&
        !get_number(v, 0, bmc_cfg.max_wait_for_state_seconds,
                    &out->wait_for_state_seconds)) {
        snprintf(details, dlen,
                 "wait_for_state_seconds must be a number from 0 to %g",
                 bmc_cfg.max_wait_for_state_seconds);
        return BMC_ERR_INVALID_PARAMETERS;
    }
    return 0;
}

/* callback_url: only where the endpoint takes one (an async or bulk
 * submission), and only to a receiver the allow-list names. */
static enum bmc_err check_callback(json_object *obj, unsigned fields,
                                   struct api_request *out, char *details,
                                   size_t dlen)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, "callback_url", &v) || !v)
        return 0;
    if (!(fields & REQ_CALLBACK))
        return fail(BMC_ERR_INVALID_PARAMETERS, details, dlen,
                    "%scallback_url is for async and bulk calls (/execute/"
                    "async, /action/async, /execute/bulk, /action/bulk; "
                    "for a bulk: once, outside targets)",
                    "");
    const char *url = json_object_is_type(v, json_type_string)
                          ? json_object_get_string(v)
                          : NULL;
    enum bmc_err rc = webhook_check_url(url, details, dlen);
    if (!rc)
        out->callback_url = url;
    return rc;
}

/* "credential": a new view of OBJ (*EFF, the caller's) whose username and
 * password are the credential's, and its protocol, port and cipher_suite
 * where the body has none, so the 4002-4005 rules apply to the resolved
 * values. No credential: *EFF stays NULL. */
static enum bmc_err apply_credential(json_object *obj, struct api_request *out,
                                     json_object **eff, char *details,
                                     size_t dlen)
{
    const struct credential *c;
    json_object *v;

    *eff = NULL;
    if (!json_object_object_get_ex(obj, "credential", &v) || !v)
        return 0;
    int rc = credentials_find(json_object_is_type(v, json_type_string)
                                  ? json_object_get_string(v)
                                  : NULL,
                              out->conn.ip, &c, details, dlen);
    if (rc)
        return (enum bmc_err)rc;
    *eff = json_object_new_object();
    /* json-c's iterator, not json_object_object_foreach: cppcheck cannot
     * parse that macro here (unknownMacro) */
    struct json_object_iterator it = json_object_iter_begin(obj),
                                end = json_object_iter_end(obj);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
        json_object_object_add(
            *eff, json_object_iter_peek_name(&it),
            json_object_get(json_object_iter_peek_value(&it)));
    json_object_object_add(*eff, "username",
                           json_object_new_string(c->username));
    json_object_object_add(*eff, "password",
                           json_object_new_string(c->password));
    if (c->protocol && !has_value(obj, "protocol"))
        json_object_object_add(*eff, "protocol",
                               json_object_new_string(c->protocol));
    if (c->port && !has_value(obj, "port"))
        json_object_object_add(*eff, "port", json_object_new_int(c->port));
    if (c->cipher_suite >= 0 && !has_value(obj, "cipher_suite"))
        json_object_object_add(*eff, "cipher_suite",
                               json_object_new_int(c->cipher_suite));
    snprintf(out->conn.tls_pin, sizeof(out->conn.tls_pin), "%s", c->tls_pin);
    return 0;
}

enum bmc_err request_check_call(json_object *obj, unsigned fields,
                                struct api_request *out, char *details,
                                size_t dlen)
{
    enum bmc_err rc = 0;

    if ((fields & REQ_ACTION) &&
        (rc = check_name_field(obj, "action", out->action, REQUEST_ACTION_MAX,
                               details, dlen)))
        return rc;
    if ((fields & REQ_METHOD) &&
        (rc = check_name_field(obj, "method", out->method, REQUEST_METHOD_MAX,
                               details, dlen)))
        return rc;
    if ((fields & REQ_PARAMS) && (rc = check_params(obj, out, details, dlen)))
        return rc;
    if ((rc = check_numbers(obj, fields, out, details, dlen)))
        return rc;
    return check_callback(obj, fields, out, details, dlen);
}

enum bmc_err request_from_object(json_object *obj, unsigned fields,
                                 struct api_request *out, char *details,
                                 size_t dlen)
{
    enum bmc_err rc;
    json_object *eff = NULL, *base, *pw;

    memset(out, 0, sizeof(*out));
    out->retry_times = 1;
    if (!json_object_is_type(obj, json_type_object)) {
        snprintf(details, dlen, "the request body must be a JSON object");
        return BMC_ERR_INVALID_REQUEST;
    }
    if ((rc = check_ip(obj, out, details, dlen)) ||
        (rc = apply_credential(obj, out, &eff, details, dlen)))
        goto out;
    base = eff ? eff : obj;
    if ((rc = check_username(base, out, details, dlen)) ||
        (rc = check_password(base, out, details, dlen)) ||
        (rc = check_protocol(base, out, details, dlen)) ||
        (rc = check_ipmi_limits(out, details, dlen)) ||
        (rc = check_cipher_and_port(base, out, details, dlen)))
        goto out;
    rc = request_check_call(obj, fields, out, details, dlen);
out:
    /* the credential's password, copied into the view: wiped */
    if (eff && json_object_object_get_ex(eff, "password", &pw))
        explicit_bzero((char *)json_object_get_string(pw),
                       (size_t)json_object_get_string_len(pw));
    json_object_put(eff);
    if (rc == 0 && !out->params)
        out->params = json_object_new_object();
    if (rc)
        request_free(out);
    return rc;
}

enum bmc_err request_parse(const char *body, size_t len, unsigned fields,
                           struct api_request *out, char *details, size_t dlen)
{
    char why[128];
    json_object *obj;
    enum bmc_err rc;

    memset(out, 0, sizeof(*out));
    obj = json_parse_strict(body, len, REQUEST_JSON_DEPTH, why, sizeof(why));
    if (!obj) {
        snprintf(details, dlen, "malformed JSON body: %s", why);
        return BMC_ERR_INVALID_REQUEST;
    }
    rc = request_from_object(obj, fields, out, details, dlen);
    out->body = obj;
    if (rc)
        request_free(out);
    return rc;
}

/* Overwrite the body's copies of passwords before the body is freed. */
static void body_wipe_password(json_object *body)
{
    static const char *const secrets[] = {"password", "new_password"};
    json_object *v;

    for (size_t i = 0; body && i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (json_object_object_get_ex(body, secrets[i], &v) &&
            json_object_is_type(v, json_type_string))
            explicit_bzero((char *)json_object_get_string(v),
                           (size_t)json_object_get_string_len(v));
}

void request_free(struct api_request *req)
{
    conn_wipe(&req->conn);
    json_object_put(req->params);
    req->params = NULL;
    body_wipe_password(req->body);
    json_object_put(req->body);
    req->body = NULL;
}
