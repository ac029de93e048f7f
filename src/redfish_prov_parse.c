/* redfish_prov_parse.c - pure functions of provisioning (see
 * redfish_prov_parse.h): boot target names, the Boot object as we answer
 * it, image URLs, virtual media slots. No network. */
#include "autoconfig.h"
#include "redfish_prov_parse.h"

#include "redfish_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ARR[I] when it is a string, else NULL (borrowed). */
static const char *rfprov_array_string(json_object *arr, size_t i)
{
    json_object *v = json_object_array_get_idx(arr, i);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

/* Whether the array ARR holds the string VALUE (NOCASE: ignoring case). */
static bool rfprov_array_has(json_object *arr, const char *value, bool nocase)
{
    size_t n = json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr)
                   : 0;

    for (size_t i = 0; i < n; i++) {
        const char *s = rfprov_array_string(arr, i);
        if (s && (nocase ? !strcasecmp(s, value) : !strcmp(s, value)))
            return true;
    }
    return false;
}

static json_object *rfprov_string_or_null(json_object *obj, const char *key)
{
    const char *s = rfp_string(obj, key);
    return s ? json_object_new_string(s) : NULL;
}

/* Our device names and the BootSourceOverrideTarget each means. */
static const struct {
    const char *ours, *redfish;
} rf_targets[] = {{"pxe", "Pxe"},  {"disk", "Hdd"},       {"cd", "Cd"},
                  {"usb", "Usb"},  {"bios", "BiosSetup"}, {"http", "UefiHttp"},
                  {"none", "None"}};

#define RF_TARGETS_N (sizeof(rf_targets) / sizeof(rf_targets[0]))

const char *rfprov_device_name(const char *redfish)
{
    for (size_t i = 0; redfish && i < RF_TARGETS_N; i++)
        if (!strcmp(rf_targets[i].redfish, redfish))
            return rf_targets[i].ours;
    return redfish;
}

const char *rfprov_target_of(const char *ours)
{
    for (size_t i = 0; i < RF_TARGETS_N; i++)
        if (!strcmp(rf_targets[i].ours, ours))
            return rf_targets[i].redfish;
    return NULL;
}

/* DOC's Boot object (borrowed) or NULL. */
json_object *rfprov_boot_of(json_object *doc)
{
    json_object *boot;
    return json_object_object_get_ex(doc, "Boot", &boot) &&
                   json_object_is_type(boot, json_type_object)
               ? boot
               : NULL;
}

/* Whether BOOT's AllowableValues for KEY (when published) include VALUE. */
bool rfprov_boot_allows(json_object *boot, const char *key, const char *value)
{
    char name[96];
    json_object *list;

    snprintf(name, sizeof(name), "%s@Redfish.AllowableValues", key);
    if (!json_object_object_get_ex(boot, name, &list) ||
        !json_object_is_type(list, json_type_array))
        return true;
    return rfprov_array_has(list, value, false);
}

/* The state of BOOT as we answer it (a new object). */
json_object *rfprov_boot_state(json_object *boot)
{
    const char *target = rfp_string(boot, "BootSourceOverrideTarget");
    const char *enabled = rfp_string(boot, "BootSourceOverrideEnabled");
    const char *mode = rfp_string(boot, "BootSourceOverrideMode");
    json_object *o = json_object_new_object(), *allowed, *list;
    bool off = !enabled || !strcmp(enabled, "Disabled");

    json_object_object_add(
        o, "boot_device",
        json_object_new_string(off || !target ? "none"
                                              : rfprov_device_name(target)));
    json_object_object_add(
        o, "persistent",
        off ? NULL : json_object_new_boolean(!strcmp(enabled, "Continuous")));
    json_object_object_add(o, "mode",
                           mode && !strcasecmp(mode, "UEFI")
                               ? json_object_new_string("uefi")
                           : mode && !strcasecmp(mode, "Legacy")
                               ? json_object_new_string("legacy")
                               : NULL);
    json_object_object_add(
        o, "override_enabled",
        rfprov_string_or_null(boot, "BootSourceOverrideEnabled"));
    allowed = json_object_new_array();
    if (json_object_object_get_ex(
            boot, "BootSourceOverrideTarget@Redfish.AllowableValues", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list) && i < 64; i++) {
            const char *s = rfprov_array_string(list, i);
            if (s)
                json_object_array_add(
                    allowed, json_object_new_string(rfprov_device_name(s)));
        }
    json_object_object_add(o, "allowed", allowed);
    return o;
}

/* Copy URL into OUT with any user:password replaced by "***". */
void rfprov_media_redact(const char *url, char *out, size_t len)
{
    const char *auth = strstr(url, "://"), *end, *at;

    if (!auth) {
        snprintf(out, len, "%s", url);
        return;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    if (!at)
        snprintf(out, len, "%s", url);
    else
        snprintf(out, len, "%.*s***%s", (int)(auth - url), url, at);
}

/* Whether URL is an http or https URL with a host and no spaces, quotes or
 * control characters. */
bool rfprov_media_url_ok(const char *url)
{
    const char *rest;

    if (!strncasecmp(url, "http://", 7))
        rest = url + 7;
    else if (!strncasecmp(url, "https://", 8))
        rest = url + 8;
    else
        return false;
    if (!*rest || *rest == '/' || *rest == '@')
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '<' ||
            *p == '>')
            return false;
    return true;
}

bool rfprov_slot_inserted(json_object *doc)
{
    json_object *v;
    const char *image = rfp_string(doc, "Image");

    if (json_object_object_get_ex(doc, "Inserted", &v) &&
        json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return image && *image;
}

/* Whether the ActionInfo document INFO lists parameter NAME. */
bool rfprov_info_allows(json_object *info, const char *name)
{
    json_object *params;

    if (!json_object_object_get_ex(info, "Parameters", &params) ||
        !json_object_is_type(params, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(params); i++) {
        const char *n =
            rfp_string(json_object_array_get_idx(params, i), "Name");
        if (n && !strcmp(n, name))
            return true;
    }
    return false;
}

json_object *rfprov_slot_json(json_object *doc, const char *location)
{
    json_object *o = json_object_new_object(), *types, *v, *list;
    const char *image = rfp_string(doc, "Image");
    char shown[1100];

    json_object_object_add(o, "id", rfprov_string_or_null(doc, "Id"));
    types = json_object_new_array();
    if (json_object_object_get_ex(doc, "MediaTypes", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list) && i < 16; i++)
            if ((v = json_object_array_get_idx(list, i)) &&
                json_object_is_type(v, json_type_string))
                json_object_array_add(types, json_object_get(v));
    json_object_object_add(o, "media_types", types);
    json_object_object_add(o, "inserted",
                           json_object_new_boolean(rfprov_slot_inserted(doc)));
    if (image && *image)
        rfprov_media_redact(image, shown, sizeof(shown));
    json_object_object_add(
        o, "image", image && *image ? json_object_new_string(shown) : NULL);
    json_object_object_add(
        o, "write_protected",
        json_object_object_get_ex(doc, "WriteProtected", &v) &&
                json_object_is_type(v, json_type_boolean)
            ? json_object_new_boolean(json_object_get_boolean(v))
            : NULL);
    json_object_object_add(o, "location", json_object_new_string(location));
    return o;
}

bool rfprov_boot_matches(json_object *state, const char *device,
                         bool persistent, const char *mode)
{
    json_object *v;
    const char *dev = json_object_object_get_ex(state, "boot_device", &v)
                          ? json_object_get_string(v)
                          : "";

    if (strcmp(dev, device))
        return false;
    if (!strcmp(device, "none"))
        return true;
    if (!json_object_object_get_ex(state, "persistent", &v) || !v ||
        json_object_get_boolean(v) != persistent)
        return false;
    if (!mode)
        return true;
    return json_object_object_get_ex(state, "mode", &v) && v &&
           !strcasecmp(json_object_get_string(v), mode);
}

bool rfprov_slot_takes(json_object *doc, const char *type)
{
    json_object *types;

    return json_object_object_get_ex(doc, "MediaTypes", &types) &&
           rfprov_array_has(types, type, true);
}

void rfprov_scrub_userinfo(const char *url, char *text)
{
    const char *auth = strstr(url, "://"), *end, *at;
    size_t n;
    char *hit;

    if (!auth)
        return;
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = memchr(auth, '@', (size_t)(end - auth));
    if (!at || (n = (size_t)(at - auth)) < 3)
        return;
    while ((hit = memmem(text, strlen(text), auth, n))) {
        memcpy(hit, "***", 3);
        memmove(hit + 3, hit + n, strlen(hit + n) + 1);
    }
}

bool rfprov_slot_shows(json_object *doc, const char *image)
{
    const char *now = rfp_string(doc, "Image");
    const char *name = rfp_string(doc, "ImageName");
    const char *auth = strstr(image, "://"), *end, *at, *leaf;
    size_t pre;

    if (now && *now) {
        if (!strcmp(now, image))
            return true;
        if (!auth)
            return false;
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        at = memchr(auth, '@', (size_t)(end - auth));
        pre = (size_t)(auth - image);
        return at && !strncmp(now, image, pre) && !strcmp(now + pre, at + 1);
    }
    leaf = strrchr(image, '/');
    return name && leaf && leaf[1] && !strcmp(name, leaf + 1);
}
