/* test_redfish.c - Redfish parsing and action mapping on canned documents
 * shaped like the vendors' (redfish_parse.h), no network. */
#include "autoconfig.h"

#include "redfish_parse.h"
#include "redfish_prov_parse.h"

#include "unit.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *parse(const char *text)
{
    char err[128];
    json_object *o = rfp_parse_object(text, strlen(text), err, sizeof(err));
    ck_assert_msg(o != NULL, "parse failed: %s", err);
    return o;
}

static void types_of(struct rf_types *t, const char *const *names)
{
    json_object *arr = json_object_new_array();
    for (; *names; names++)
        json_object_array_add(arr, json_object_new_string(*names));
    rfp_types_from_array(arr, t);
    json_object_put(arr);
}

static const char *const dmtf[] = {"On",
                                   "ForceOff",
                                   "GracefulShutdown",
                                   "GracefulRestart",
                                   "ForceRestart",
                                   "Nmi",
                                   "ForceOn",
                                   "PushPowerButton",
                                   NULL};
static const char *const dell[] = {"On",
                                   "ForceOff",
                                   "ForceRestart",
                                   "GracefulRestart",
                                   "GracefulShutdown",
                                   "PushPowerButton",
                                   "Nmi",
                                   "PowerCycle",
                                   NULL};
static const char *const compose[] = {"PowerOn", "PowerOffNonGraceful",
                                      "PowerOffGraceful", "PowerCycle", NULL};
static const char *const forceon_only[] = {"ForceOn", "ForceOff",
                                           "GracefulRestart", NULL};
static const char *const graceful_only[] = {"On", "GracefulShutdown", NULL};

static void assert_plan(const char *name, const struct rf_types *t,
                        enum rf_plan_kind kind, const char *type)
{
    struct rf_plan p;
    rfp_plan_action(name, t, &p);
    ck_assert_msg(p.kind == kind, "%s: kind %d, want %d", name, p.kind, kind);
    if (type)
        ck_assert_str_eq(p.reset_type, type);
}

START_TEST(map_dmtf)
{
    struct rf_types t;
    struct rf_plan p;
    types_of(&t, dmtf);
    assert_plan("on", &t, RF_PLAN_RESET, "On");
    assert_plan("off", &t, RF_PLAN_RESET, "ForceOff");
    assert_plan("soft", &t, RF_PLAN_RESET, "GracefulShutdown");
    assert_plan("reset", &t, RF_PLAN_RESET, "ForceRestart");
    /* no PowerCycle: forced off, wait, on */
    rfp_plan_action("cycle", &t, &p);
    ck_assert_int_eq(p.kind, RF_PLAN_CYCLE_SEQUENCE);
    ck_assert_str_eq(p.off_type, "ForceOff");
    ck_assert_str_eq(p.on_type, "On");
    assert_plan("Nmi", &t, RF_PLAN_RESET, "Nmi");
    assert_plan("forceoff", &t, RF_PLAN_RESET,
                "ForceOff"); /* case-insensitive */
    assert_plan("PowerCycle", &t, RF_PLAN_UNSUPPORTED, NULL);
    assert_plan("bogus", &t, RF_PLAN_UNSUPPORTED, NULL);
    assert_plan("", &t, RF_PLAN_UNSUPPORTED, NULL);
    assert_plan("ON", &t, RF_PLAN_RESET,
                "On"); /* not the alias: the ResetType */
}
END_TEST

START_TEST(map_vendors)
{
    struct rf_types t;
    struct rf_plan p;

    types_of(&t, dell);
    assert_plan("cycle", &t, RF_PLAN_RESET, "PowerCycle");
    assert_plan("on", &t, RF_PLAN_RESET, "On");
    types_of(&t, forceon_only);
    assert_plan("on", &t, RF_PLAN_RESET, "ForceOn");
    assert_plan("soft", &t, RF_PLAN_UNSUPPORTED, NULL); /* never ForceOff */
    assert_plan("reset", &t, RF_PLAN_RESET, "GracefulRestart");
    types_of(&t, compose);
    assert_plan("on", &t, RF_PLAN_RESET, "PowerOn");
    assert_plan("off", &t, RF_PLAN_RESET, "PowerOffNonGraceful");
    assert_plan("soft", &t, RF_PLAN_RESET, "PowerOffGraceful");
    assert_plan("reset", &t, RF_PLAN_UNSUPPORTED, NULL);
    types_of(&t, graceful_only);
    assert_plan("off", &t, RF_PLAN_UNSUPPORTED, NULL); /* no silent graceful */
    rfp_plan_action("cycle", &t, &p);
    ck_assert_int_eq(p.kind,
                     RF_PLAN_UNSUPPORTED); /* no forced off to cycle with */
}
END_TEST

START_TEST(noop_states)
{
    struct rf_types t;
    struct rf_plan p;
    types_of(&t, dmtf);
    rfp_plan_action("on", &t, &p);
    ck_assert_str_eq(p.noop_state, "On");
    rfp_plan_action("soft", &t, &p);
    ck_assert_str_eq(p.noop_state, "Off");
    rfp_plan_action("ForceOn", &t, &p);
    ck_assert_str_eq(p.noop_state, "On");
    rfp_plan_action("GracefulShutdown", &t, &p);
    ck_assert_str_eq(p.noop_state, "Off");
    rfp_plan_action("reset", &t, &p);
    ck_assert_ptr_null(p.noop_state);
    rfp_plan_action("Nmi", &t, &p);
    ck_assert_ptr_null(p.noop_state);
}
END_TEST

START_TEST(actions_list)
{
    struct rf_types t;
    types_of(&t, dmtf);
    json_object *a = rfp_actions_json(&t);
    ck_assert_str_eq(
        json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
        "[\"on\",\"off\",\"soft\",\"reset\",\"cycle\",\"On\",\"ForceOff\","
        "\"GracefulShutdown\",\"GracefulRestart\",\"ForceRestart\",\"Nmi\","
        "\"ForceOn\",\"PushPowerButton\"]");
    /* every entry is accepted by run_action */
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        struct rf_plan p;
        rfp_plan_action(
            json_object_get_string(json_object_array_get_idx(a, i)), &t, &p);
        ck_assert_int_ne(p.kind, RF_PLAN_UNSUPPORTED);
    }
    json_object_put(a);
    types_of(&t, graceful_only);
    a = rfp_actions_json(&t);
    ck_assert_str_eq(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                     "[\"on\",\"soft\",\"On\",\"GracefulShutdown\"]");
    json_object_put(a);
}
END_TEST

START_TEST(types_bounded)
{
    struct rf_types t;
    json_object *o =
        parse("{\"v\":[\"On\",5,null,\"On\",\"\",\"a b\",{\"x\":1},"
              "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
              "xxxxxxxxxx\","
              "\"ForceOff\"]}");
    json_object *v;
    json_object_object_get_ex(o, "v", &v);
    rfp_types_from_array(v, &t);
    ck_assert_uint_eq(t.n, 2);
    ck_assert_str_eq(t.v[0], "On");
    ck_assert_str_eq(t.v[1], "ForceOff");
    json_object_put(o);
    json_object *big = json_object_new_array();
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "T%d", i);
        json_object_array_add(big, json_object_new_string(name));
    }
    rfp_types_from_array(big, &t);
    ck_assert_uint_eq(t.n, RF_TYPES_MAX);
    json_object_put(big);
    rfp_types_from_array(NULL, &t);
    ck_assert_uint_eq(t.n, 0);
}
END_TEST

START_TEST(reset_inline_and_actioninfo)
{
    struct rf_reset r;
    json_object *sys = parse(
        "{\"Id\":\"437XR1138R2\",\"PowerState\":\"On\",\"Actions\":{\"#"
        "ComputerSystem.Reset\":"
        "{\"target\":\"/redfish/v1/Systems/437XR1138R2/Actions/"
        "ComputerSystem.Reset\","
        "\"ResetType@Redfish.AllowableValues\":[\"On\",\"ForceOff\"]}}}");
    ck_assert_int_eq(rfp_reset_action(sys, &r), 0);
    ck_assert_str_eq(
        r.target,
        "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset");
    ck_assert_uint_eq(r.types.n, 2);
    ck_assert_str_eq(r.action_info, "");
    json_object_put(sys);

    sys = parse("{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"/"
                "redfish/v1/Systems/1/"
                "Actions/ComputerSystem.Reset\",\"@Redfish.ActionInfo\":"
                "\"/redfish/v1/Systems/1/ResetActionInfo\"}}}");
    ck_assert_int_eq(rfp_reset_action(sys, &r), 0);
    ck_assert_uint_eq(r.types.n, 0);
    ck_assert_str_eq(r.action_info, "/redfish/v1/Systems/1/ResetActionInfo");
    json_object_put(sys);

    json_object *info = parse(
        "{\"Parameters\":[{\"Name\":\"Other\",\"AllowableValues\":[\"X\"]},"
        "{\"Name\":\"ResetType\",\"Required\":true,\"DataType\":\"String\","
        "\"AllowableValues\":[\"On\",\"ForceOff\",\"GracefulShutdown\"]}]}");
    rfp_types_from_action_info(info, &r.types);
    ck_assert_uint_eq(r.types.n, 3);
    ck_assert_str_eq(r.types.v[2], "GracefulShutdown");
    json_object_put(info);
}
END_TEST

START_TEST(reset_hostile)
{
    struct rf_reset r;
    const char *bad[] = {
        "{}",
        "{\"Actions\":[]}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":\"x\"}}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":5}}}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"https://evil/"
        "x\"}}}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"//evil/x\"}}}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"/a/../b\"}}}",
        "{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"/a b\"}}}",
        NULL};
    for (int i = 0; bad[i]; i++) {
        json_object *o = parse(bad[i]);
        ck_assert_msg(rfp_reset_action(o, &r) == -1, "accepted %s", bad[i]);
        json_object_put(o);
    }
    /* A mistyped AllowableValues is ignored, not fatal */
    json_object *o =
        parse("{\"Actions\":{\"#ComputerSystem.Reset\":{\"target\":\"/t\","
              "\"ResetType@Redfish.AllowableValues\":\"On\","
              "\"@Redfish.ActionInfo\":7}}}");
    ck_assert_int_eq(rfp_reset_action(o, &r), 0);
    ck_assert_uint_eq(r.types.n, 0);
    ck_assert_str_eq(r.action_info, "");
    json_object_put(o);
}
END_TEST

START_TEST(parse_limits)
{
    char err[128];
    const char *bad[] = {"",
                         "{",
                         "[1,2]",
                         "\"x\"",
                         "{\"a\":1}x",
                         "{\"a\":1,}",
                         "<html>Error</html>",
                         NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_ptr_null(
            rfp_parse_object(bad[i], strlen(bad[i]), err, sizeof(err)));
    /* nesting beyond RF_JSON_DEPTH is refused */
    char deep[2 * 200 + 16];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    char doc[sizeof(deep) + 16];
    snprintf(doc, sizeof(doc), "{\"a\":%.*s}", (int)n, deep);
    ck_assert_ptr_null(rfp_parse_object(doc, strlen(doc), err, sizeof(err)));
    /* an embedded NUL is not the end of the body */
    ck_assert_ptr_null(rfp_parse_object("{}\0{}", 5, err, sizeof(err)));
    json_object *o = parse(" {\"a\":[1,2]}\r\n");
    json_object_put(o);
}
END_TEST

START_TEST(links_and_members)
{
    char path[RF_PATH_MAX], leaf[64];
    json_object *root =
        parse("{\"Systems\":{\"@odata.id\":\"/redfish/v1/Systems\"},"
              "\"Managers\":{\"@odata.id\":5},\"Chassis\":\"/x\"}");
    ck_assert_int_eq(rfp_link(root, "Systems", path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/redfish/v1/Systems");
    ck_assert_int_eq(rfp_link(root, "Managers", path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_link(root, "Chassis", path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_link(root, "Nope", path, sizeof(path)), -1);
    json_object_put(root);

    json_object *coll =
        parse("{\"Members@odata.count\":3,\"Members\":["
              "{\"@odata.id\":\"/redfish/v1/Systems/System.Embedded.1\"},"
              "{\"@odata.id\":7},"
              "{\"@odata.id\":\"/redfish/v1/Systems/2/\"}],"
              "\"Members@odata.nextLink\":\"/redfish/v1/Systems?$skip=3\"}");
    ck_assert_uint_eq(rfp_member_count(coll), 3);
    ck_assert_int_eq(rfp_member_path(coll, 0, path, sizeof(path)), 0);
    rfp_path_leaf(path, leaf, sizeof(leaf));
    ck_assert_str_eq(leaf, "System.Embedded.1");
    ck_assert_int_eq(rfp_member_path(coll, 1, path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_member_path(coll, 2, path, sizeof(path)), 0);
    rfp_path_leaf(path, leaf, sizeof(leaf));
    ck_assert_str_eq(leaf, "2");
    ck_assert_int_eq(rfp_member_path(coll, 3, path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_next_link(coll, path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/redfish/v1/Systems?$skip=3");
    json_object_put(coll);

    coll = parse("{\"Members\":{}}");
    ck_assert_uint_eq(rfp_member_count(coll), 0);
    json_object_put(coll);
}
END_TEST

START_TEST(location)
{
    char path[RF_PATH_MAX];
    ck_assert_int_eq(
        rfp_location_path("/redfish/v1/TaskService/TaskMonitors/1", path,
                          sizeof(path)),
        0);
    ck_assert_str_eq(path, "/redfish/v1/TaskService/TaskMonitors/1");
    ck_assert_int_eq(
        rfp_location_path("https://10.0.0.1:443/redfish/v1/Tasks/2", path,
                          sizeof(path)),
        0);
    ck_assert_str_eq(path, "/redfish/v1/Tasks/2");
    ck_assert_int_eq(rfp_location_path("https://host", path, sizeof(path)),
                     -1);
    ck_assert_int_eq(rfp_location_path("", path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_location_path("ftp://x/y", path, sizeof(path)), -1);
    ck_assert_int_eq(rfp_location_path("/a\r\nX-Evil: 1", path, sizeof(path)),
                     -1);
}
END_TEST

START_TEST(users)
{
    json_object *acct = parse(
        "{\"Id\":\"2\",\"UserName\":\"admin\",\"RoleId\":\"Administrator\","
        "\"Enabled\":true,\"Locked\":false,\"Password\":null}");
    json_object *u = rfp_user_json(acct);
    ck_assert_str_eq(
        json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN),
        "{\"id\":\"2\",\"name\":\"admin\",\"role\":\"Administrator\","
        "\"enabled\":true,\"locked\":false}");
    json_object_put(u);
    json_object_put(acct);
    acct = parse("{\"Id\":3,\"UserName\":[\"x\"],\"Enabled\":\"yes\"}");
    u = rfp_user_json(acct);
    ck_assert_str_eq(json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN),
                     "{\"id\":null,\"name\":null,\"role\":null,\"enabled\":"
                     "null,\"locked\":null}");
    json_object_put(u);
    json_object_put(acct);
}
END_TEST

START_TEST(error_bodies)
{
    char r[200];
    const char *e = "{\"error\":{\"code\":\"Base.1.8.GeneralError\","
                    "\"message\":\"See info\","
                    "\"@Message.ExtendedInfo\":[{\"MessageId\":\"Base.1.8."
                    "ResetNotAllowed\","
                    "\"Message\":\"The system is already \\n On.\"}]}}";
    rfp_error_reason(e, strlen(e), r, sizeof(r));
    ck_assert_str_eq(r,
                     "Base.1.8.ResetNotAllowed: The system is already   On.");
    ck_assert(rfp_error_is_state_conflict(e, strlen(e)));
    ck_assert(!rfp_error_is_unsupported_value(e, strlen(e)));
    const char *u =
        "{\"error\":{\"code\":\"Base.1.8.ActionParameterNotSupported\","
        "\"message\":\"no\"}}";
    ck_assert(rfp_error_is_unsupported_value(u, strlen(u)));
    ck_assert(!rfp_error_is_state_conflict(u, strlen(u)));
    rfp_error_reason("", 0, r, sizeof(r));
    ck_assert_str_eq(r, "empty body");
    rfp_error_reason("<html>", 6, r, sizeof(r));
    ck_assert_str_eq(r, "non-JSON body");
    rfp_error_reason("{\"error\":5}", 11, r, sizeof(r));
    ck_assert_str_eq(r, "no error message");
    ck_assert(!rfp_error_is_state_conflict("<html>already</html>", 20));
}
END_TEST

START_TEST(tasks)
{
    char s[32];
    json_object *t = parse("{\"TaskState\":\"Running\"}");
    ck_assert_int_eq(rfp_task_state(t, s, sizeof(s)), 0);
    json_object_put(t);
    t = parse("{\"TaskState\":\"Completed\",\"TaskStatus\":\"OK\"}");
    ck_assert_int_eq(rfp_task_state(t, s, sizeof(s)), 1);
    ck_assert_str_eq(s, "Completed");
    json_object_put(t);
    t = parse("{\"TaskState\":\"Exception\"}");
    ck_assert_int_eq(rfp_task_state(t, s, sizeof(s)), -1);
    json_object_put(t);
    ck_assert_int_eq(rfp_task_state(NULL, s, sizeof(s)), 1);
    ck_assert_str_eq(s, "");
}
END_TEST

START_TEST(default_types)
{
    struct rf_types t;
    rfp_types_default(&t);
    ck_assert(rfp_types_has(&t, "PowerCycle"));
    ck_assert(rfp_types_has(&t, "GracefulShutdown"));
    ck_assert(!rfp_types_has(&t, "PowerOn"));
}
END_TEST

/* ---- provisioning (redfish_prov_parse.h) ---------------------------- */

static json_object *doc_of(const char *text)
{
    char err[128];
    json_object *d = rfp_parse_object(text, strlen(text), err, sizeof(err));
    ck_assert_msg(d != NULL, "%s", err);
    return d;
}

START_TEST(boot_names_and_state)
{
    ck_assert_str_eq(rfprov_target_of("disk"), "Hdd");
    ck_assert_str_eq(rfprov_target_of("http"), "UefiHttp");
    ck_assert_ptr_null(rfprov_target_of("floppy"));
    ck_assert_str_eq(rfprov_device_name("BiosSetup"), "bios");
    ck_assert_str_eq(rfprov_device_name("UefiShell"), "UefiShell");
    json_object *d =
        doc_of("{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\","
               "\"BootSourceOverrideEnabled\":\"Continuous\","
               "\"BootSourceOverrideMode\":\"Legacy\","
               "\"BootSourceOverrideTarget@Redfish.AllowableValues\":"
               "[\"Pxe\",\"Hdd\",\"UefiShell\",7],"
               "\"BootSourceOverrideEnabled@Redfish.AllowableValues\":"
               "[\"Once\",\"Disabled\"]}}");
    json_object *boot = rfprov_boot_of(d), *st = rfprov_boot_state(boot);
    ck_assert_str_eq(
        json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
        "{\"boot_device\":\"pxe\",\"persistent\":true,\"mode\":\"legacy\","
        "\"override_enabled\":\"Continuous\",\"allowed\":[\"pxe\",\"disk\","
        "\"UefiShell\"]}");
    ck_assert(rfprov_boot_matches(st, "pxe", true, NULL));
    ck_assert(rfprov_boot_matches(st, "pxe", true, "Legacy"));
    ck_assert(!rfprov_boot_matches(st, "pxe", true, "UEFI"));
    ck_assert(!rfprov_boot_matches(st, "pxe", false, NULL));
    ck_assert(!rfprov_boot_matches(st, "disk", true, NULL));
    ck_assert(rfprov_boot_allows(boot, "BootSourceOverrideTarget", "Hdd"));
    ck_assert(!rfprov_boot_allows(boot, "BootSourceOverrideTarget", "Cd"));
    ck_assert(
        !rfprov_boot_allows(boot, "BootSourceOverrideEnabled", "Continuous"));
    ck_assert(rfprov_boot_allows(boot, "BootSourceOverrideMode", "UEFI"));
    json_object_put(st);
    json_object_put(d);
    d = doc_of("{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\","
               "\"BootSourceOverrideEnabled\":\"Disabled\"}}");
    st = rfprov_boot_state(rfprov_boot_of(d));
    ck_assert(rfprov_boot_matches(st, "none", false, "UEFI"));
    json_object_put(st);
    json_object_put(d);
    ck_assert_ptr_null(rfprov_boot_of(NULL));
}
END_TEST

START_TEST(media_urls)
{
    char out[256], text[256];

    ck_assert(rfprov_media_url_ok("http://10.0.0.1/a.iso"));
    ck_assert(rfprov_media_url_ok("HTTPS://u:p@host:8443/x?y=1"));
    ck_assert(!rfprov_media_url_ok("ftp://host/a.iso"));
    ck_assert(!rfprov_media_url_ok("https://"));
    ck_assert(!rfprov_media_url_ok("https:///x"));
    ck_assert(!rfprov_media_url_ok("http://@host/"));
    ck_assert(!rfprov_media_url_ok("http://host/a b.iso"));
    ck_assert(!rfprov_media_url_ok("http://host/\"x"));
    ck_assert(!rfprov_media_url_ok("http://host/\x01"));
    rfprov_media_redact("https://u:secret@host/a@b.iso", out, sizeof(out));
    ck_assert_str_eq(out, "https://***@host/a@b.iso");
    rfprov_media_redact("https://host/a@b.iso", out, sizeof(out));
    ck_assert_str_eq(out, "https://host/a@b.iso");
    snprintf(text, sizeof(text),
             "cannot mount https://u:secret@host/ (u:secret)");
    rfprov_scrub_userinfo("https://u:secret@host/a.iso", text);
    ck_assert_str_eq(text, "cannot mount https://***@host/ (***)");
    snprintf(text, sizeof(text), "untouched");
    rfprov_scrub_userinfo("https://host/a.iso", text);
    ck_assert_str_eq(text, "untouched");
}
END_TEST

START_TEST(media_slots)
{
    json_object *d =
        doc_of("{\"Id\":\"CD1\",\"MediaTypes\":[\"CD\",\"DVD\",3],"
               "\"Image\":\"http://u:pw@h/x.iso\",\"WriteProtected\":true}");
    json_object *j = rfprov_slot_json(d, "manager");
    ck_assert(rfprov_slot_inserted(d)); /* no Inserted: the Image says */
    ck_assert(rfprov_slot_takes(d, "dvd"));
    ck_assert(!rfprov_slot_takes(d, "USBStick"));
    ck_assert_str_eq(
        json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE),
        "{\"id\":\"CD1\",\"media_types\":[\"CD\",\"DVD\"],\"inserted\":true,"
        "\"image\":\"http://***@h/x.iso\",\"write_protected\":true,"
        "\"location\":\"manager\"}");
    json_object_put(j);
    ck_assert(rfprov_slot_shows(d, "http://u:pw@h/x.iso"));
    ck_assert(!rfprov_slot_shows(d, "http://h/x.iso"));
    json_object_put(d);
    d = doc_of("{\"Inserted\":false,\"Image\":\"http://h/x.iso\"}");
    ck_assert(!rfprov_slot_inserted(d));
    ck_assert(rfprov_slot_shows(d, "http://user:pw@h/x.iso"));
    ck_assert(!rfprov_slot_shows(d, "http://user:pw@h/y.iso"));
    ck_assert(!rfprov_slot_shows(d, "http://h/x.is"));
    json_object_put(d);
    d = doc_of("{\"Inserted\":true,\"ImageName\":\"x.iso\"}");
    ck_assert(rfprov_slot_shows(d, "https://h/dir/x.iso"));
    ck_assert(!rfprov_slot_shows(d, "https://h/dir/"));
    json_object_put(d);
    d = doc_of("{\"Parameters\":[{\"Name\":\"Image\"},{\"Name\":7},"
               "{\"Name\":\"WriteProtected\"}]}");
    ck_assert(rfprov_info_allows(d, "WriteProtected"));
    ck_assert(!rfprov_info_allows(d, "Inserted"));
    ck_assert(!rfprov_info_allows(NULL, "Image"));
    json_object_put(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redfish");
    TCase *tc;

    tc = unit_case(s, "mapping", NULL, NULL, 0);
    tcase_add_test(tc, map_dmtf);
    tcase_add_test(tc, map_vendors);
    tcase_add_test(tc, noop_states);
    tcase_add_test(tc, actions_list);
    tcase_add_test(tc, default_types);
    tc = unit_case(s, "parsing", NULL, NULL, 0);
    tcase_add_test(tc, types_bounded);
    tcase_add_test(tc, reset_inline_and_actioninfo);
    tcase_add_test(tc, reset_hostile);
    tcase_add_test(tc, parse_limits);
    tcase_add_test(tc, links_and_members);
    tcase_add_test(tc, location);
    tcase_add_test(tc, users);
    tcase_add_test(tc, error_bodies);
    tcase_add_test(tc, tasks);
    tc = unit_case(s, "provisioning", NULL, NULL, 0);
    tcase_add_test(tc, boot_names_and_state);
    tcase_add_test(tc, media_urls);
    tcase_add_test(tc, media_slots);
    return unit_run(s);
}
