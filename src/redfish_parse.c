/* redfish_parse.c - Redfish JSON documents: objects, links,
 * collections, accounts, error messages, task states (see redfish_parse.h;
 * ResetTypes and alias plans are in redfish_reset.c). */
#include "autoconfig.h"
#include "redfish_parse.h"

#include "jsonutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

json_object *rfp_parse_object(const char *body, size_t len, char *err,
                              size_t errlen)
{
    char why[128];
    json_object *obj;

    if (len == 0) {
        snprintf(err, errlen, "empty body where JSON was expected");
        return NULL;
    }
    obj = json_parse_strict(body, len, RF_JSON_DEPTH, why, sizeof(why));
    if (!obj) {
        snprintf(err, errlen, "malformed JSON (%s)", why);
        return NULL;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        snprintf(err, errlen, "JSON document is not an object");
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

bool rfp_path_ok(const char *s)
{
    size_t n;

    if (!s || s[0] != '/' || s[1] == '/')
        return false;
    n = strlen(s);
    if (n >= RF_PATH_MAX || strstr(s, "..") || strstr(s, "//"))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("#\\\"<>`{}|^", *p))
            return false;
    }
    return true;
}

const char *rfp_string(json_object *obj, const char *key)
{
    json_object *v;

    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int rfp_copy_path(const char *s, char *out, size_t outlen)
{
    if (!rfp_path_ok(s) || strlen(s) >= outlen)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int rfp_link(json_object *obj, const char *key, char *out, size_t outlen)
{
    json_object *v;

    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v))
        return -1;
    return rfp_copy_path(rfp_string(v, "@odata.id"), out, outlen);
}

static json_object *rfp_members(json_object *coll)
{
    json_object *m;

    if (!coll || !json_object_is_type(coll, json_type_object) ||
        !json_object_object_get_ex(coll, "Members", &m) ||
        !json_object_is_type(m, json_type_array))
        return NULL;
    return m;
}

size_t rfp_member_count(json_object *coll)
{
    json_object *m = rfp_members(coll);
    return m ? json_object_array_length(m) : 0;
}

int rfp_member_path(json_object *coll, size_t index, char *out, size_t outlen)
{
    json_object *m = rfp_members(coll);

    if (!m || index >= json_object_array_length(m))
        return -1;
    return rfp_copy_path(
        rfp_string(json_object_array_get_idx(m, index), "@odata.id"), out,
        outlen);
}

int rfp_next_link(json_object *coll, char *out, size_t outlen)
{
    return rfp_copy_path(rfp_string(coll, "Members@odata.nextLink"), out,
                         outlen);
}

void rfp_path_leaf(const char *path, char *out, size_t outlen)
{
    size_t end = strlen(path), start;

    while (end > 0 && path[end - 1] == '/')
        end--;
    start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(out, outlen, "%.*s", (int)(end - start), path + start);
}

int rfp_location_path(const char *location, char *out, size_t outlen)
{
    const char *p = location;

    if (!p || !*p)
        return -1;
    if (!strncasecmp(p, "https://", 8) || !strncasecmp(p, "http://", 7)) {
        p = strchr(strstr(p, "//") + 2, '/');
        if (!p)
            return -1;
    }
    return rfp_copy_path(p, out, outlen);
}

static json_object *rfp_typed(json_object *obj, const char *key,
                              json_type type)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, type))
        return NULL;
    return json_object_get(v);
}

json_object *rfp_user_json(json_object *account)
{
    json_object *u = json_object_new_object();

    if (!account || !json_object_is_type(account, json_type_object))
        account = NULL;
    json_object_object_add(
        u, "id", account ? rfp_typed(account, "Id", json_type_string) : NULL);
    json_object_object_add(
        u, "name",
        account ? rfp_typed(account, "UserName", json_type_string) : NULL);
    json_object_object_add(
        u, "role",
        account ? rfp_typed(account, "RoleId", json_type_string) : NULL);
    json_object_object_add(
        u, "enabled",
        account ? rfp_typed(account, "Enabled", json_type_boolean) : NULL);
    json_object_object_add(
        u, "locked",
        account ? rfp_typed(account, "Locked", json_type_boolean) : NULL);
    return u;
}

/* Copy S into OUT keeping printable ASCII only (BMC text goes into logs). */
static void rfp_copy_printable(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    for (; s && *s && o + 1 < outlen; s++)
        out[o++] =
            ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) ? ' ' : *s;
    out[o] = '\0';
}

void rfp_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
    char why[128], text[300];
    json_object *doc, *error, *info;
    const char *id = NULL, *msg = NULL;

    out[0] = '\0';
    if (!body || len == 0) {
        snprintf(out, outlen, "empty body");
        return;
    }
    doc = rfp_parse_object(body, len, why, sizeof(why));
    if (!doc) {
        snprintf(out, outlen, "non-JSON body");
        return;
    }
    if (json_object_object_get_ex(doc, "error", &error)) {
        id = rfp_string(error, "code");
        msg = rfp_string(error, "message");
        if (json_object_object_get_ex(error, "@Message.ExtendedInfo", &info) &&
            json_object_is_type(info, json_type_array) &&
            json_object_array_length(info) > 0) {
            json_object *first = json_object_array_get_idx(info, 0);
            if (rfp_string(first, "MessageId"))
                id = rfp_string(first, "MessageId");
            if (rfp_string(first, "Message"))
                msg = rfp_string(first, "Message");
        }
    }
    snprintf(text, sizeof(text), "%s%s%s", id ? id : "", id && msg ? ": " : "",
             msg ? msg : "");
    rfp_copy_printable(text[0] ? text : "no error message", out, outlen);
    json_object_put(doc);
}

/* Whether BODY (bounded) contains any of NEEDLES, case-insensitively. */
static bool rfp_body_mentions(const char *body, size_t len,
                              const char *const *needles)
{
    char reason[300];

    rfp_error_reason(body, len, reason, sizeof(reason));
    for (; *needles; needles++)
        if (strcasestr(reason, *needles))
            return true;
    return false;
}

bool rfp_error_is_state_conflict(const char *body, size_t len)
{
    static const char *const needles[] = {"ResetNotAllowed",
                                          "PropertyValueConflict",
                                          "InvalidOperationForSystemState",
                                          "NoOperation",
                                          "already",
                                          NULL};
    return rfp_body_mentions(body, len, needles);
}

bool rfp_error_is_unsupported_value(const char *body, size_t len)
{
    static const char *const needles[] = {"ActionParameterNotSupported",
                                          "PropertyValueNotInList",
                                          "ActionParameterValueNotInList",
                                          "ActionParameterUnknown",
                                          "ActionNotSupported",
                                          NULL};
    return rfp_body_mentions(body, len, needles);
}

int rfp_task_state(json_object *task, char *state, size_t statelen)
{
    static const char *const bad[] = {"Exception", "Killed", "Cancelled",
                                      "Aborted"};
    const char *s = rfp_string(task, "TaskState");

    snprintf(state, statelen, "%s", s ? s : "");
    if (!s)
        return 1; /* a finished monitor may answer with the action's result */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!strcmp(s, bad[i]))
            return -1;
    if (!strcmp(s, "Completed"))
        return 1;
    return 0;
}
