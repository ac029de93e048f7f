/* Unit tests of the foundation: numbers, configuration, request validation,
 * the envelope and the error table. */
#include "autoconfig.h"

#include "config.h"
#include "errors.h"
#include "http.h"
#include "jsonutil.h"
#include "methods.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "worker.h"

#include "unit.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char *num_text(double d)
{
    static char buf[64];
    json_object *o = json_new_number(d);
    snprintf(buf, sizeof(buf), "%s", json_object_to_json_string(o));
    json_object_put(o);
    return buf;
}

START_TEST(numbers_print_shortest)
{
    ck_assert_str_eq(num_text(0.2), "0.2");
    ck_assert_str_eq(num_text(30.0), "30");
    ck_assert_str_eq(num_text(1.5), "1.5");
    ck_assert_str_eq(num_text(5.333), "5.333");
    ck_assert_str_eq(num_text(1234567890.123), "1234567890.123");
    json_object *t = json_new_time(1234567890.12345);
    ck_assert_str_eq(json_object_to_json_string(t), "1234567890.123");
    json_object_put(t);
}
END_TEST

START_TEST(strict_parse_rejects_garbage)
{
    char err[128];
    const char *bad[] = {"{", "{} x", "[1,]", "{'a':1}", "nul", "\"\\x\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_ptr_null(
            json_parse_strict(bad[i], strlen(bad[i]), 8, err, sizeof(err)));
    const char *deep = "[[[[[[[[[[1]]]]]]]]]]";
    ck_assert_ptr_null(
        json_parse_strict(deep, strlen(deep), 8, err, sizeof(err)));
    json_object *ok =
        json_parse_strict("{\"a\":1}  \n", 10, 8, err, sizeof(err));
    ck_assert_ptr_nonnull(ok);
    json_object_put(ok);
}
END_TEST

static void clear_env(void)
{
    const char *vars[] = {"BMC_MAX_WORKERS", "BMC_TIMEOUT",   "BMC_LOG_LEVEL",
                          "BMC_ENABLE_CORS", "BMC_MAX_TASKS", "BMC_NODE_ID"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

START_TEST(config_defaults)
{
    char err[256];
    clear_env();
    ck_assert_int_eq(config_load(err, sizeof(err)), 0);
    ck_assert_int_eq(bmc_cfg.max_workers, 10);
    ck_assert(bmc_cfg.timeout == 30);
    ck_assert_int_eq(bmc_cfg.log_level, BMC_LOG_INFO);
    ck_assert(!bmc_cfg.enable_cors);
    ck_assert(bmc_cfg.min_retry_delay_seconds == 0.2);
    ck_assert_int_eq(bmc_cfg.max_tasks, 0);
    ck_assert_int_eq(bmc_cfg.task_retention_days, 7);
    ck_assert(bmc_cfg.redfish_request_timeout == 5);
    ck_assert(bmc_cfg.power_state_poll_interval == 1.5);
    ck_assert(bmc_cfg.max_wait_for_state_seconds == 300);
    ck_assert_int_eq(bmc_cfg.worker_max_requests, 10000);
    ck_assert_str_eq(bmc_cfg.state_dir, "/var/lib/bmc-manager");
    config_free();
}
END_TEST

START_TEST(config_bad_values_name_the_variable)
{
    struct {
        const char *var, *value;
    } cases[] = {
        {"BMC_MAX_WORKERS", "abc"}, {"BMC_TIMEOUT", "-1"},
        {"BMC_LOG_LEVEL", "LOUD"},  {"BMC_ENABLE_CORS", "2"},
        {"BMC_NODE_ID", "256"},     {"BMC_MAX_TASKS", "1x"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clear_env();
        setenv(cases[i].var, cases[i].value, 1);
        ck_assert_int_eq(config_load(err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, cases[i].var));
        ck_assert_ptr_nonnull(strstr(err, "expected"));
        config_free();
    }
    clear_env();
}
END_TEST

static int validate(const char *body, unsigned fields, struct api_request *req)
{
    char details[256];
    return request_parse(body, strlen(body), fields, req, details,
                         sizeof(details));
}

#define BASE "\"ip\":\"10.0.0.1\",\"username\":\"admin\",\"password\":\"pw\""

START_TEST(request_defaults_and_ports)
{
    struct api_request req;
    char err[256];
    clear_env();
    config_load(err, sizeof(err));
    ck_assert_int_eq(validate("{" BASE ",\"protocol\":\"redfish\"}", 0, &req),
                     0);
    ck_assert_int_eq(req.conn.port, 443);
    ck_assert_int_eq(req.conn.cipher_suite, 17);
    ck_assert_int_eq(req.retry_times, 1);
    ck_assert_ptr_nonnull(req.params);
    request_free(&req);
    ck_assert_str_eq(req.conn.password, "");
    ck_assert_int_eq(validate("{" BASE
                              ",\"protocol\":\"ipmitool\",\"cipher_suite\":3}",
                              0, &req),
                     0);
    ck_assert_int_eq(req.conn.port, 623);
    ck_assert_int_eq(req.conn.cipher_suite, 3);
    request_free(&req);
    ck_assert_int_eq(
        validate("{\"ip\":\"::1\",\"username\":\"u\",\"password\":\"p\","
                 "\"protocol\":\"redfish\",\"port\":8443}",
                 0, &req),
        0);
    ck_assert_int_eq(req.conn.port, 8443);
    request_free(&req);
    config_free();
}
END_TEST

START_TEST(request_codes_in_documented_order)
{
    struct api_request req;
    char err[256];
    config_load(err, sizeof(err));
    ck_assert_int_eq(validate("{}", 0, &req), 4001);
    ck_assert_int_eq(validate("{\"ip\":\"1.2.3.4\"}", 0, &req), 4002);
    ck_assert_int_eq(
        validate("{\"ip\":\"1.2.3.4\",\"username\":\"u\"}", 0, &req), 4003);
    ck_assert_int_eq(validate("{" BASE "}", 0, &req), 4004);
    ck_assert_int_eq(validate("{" BASE
                              ",\"protocol\":\"redfish\",\"cipher_suite\":99}",
                              0, &req),
                     4005);
    ck_assert_int_eq(
        validate("{" BASE ",\"protocol\":\"redfish\"}", REQ_ACTION, &req),
        2002);
    ck_assert_int_eq(validate("{" BASE
                              ",\"protocol\":\"redfish\",\"action\":\"on\","
                              "\"retry_times\":0}",
                              REQ_ACTION | REQ_RETRY, &req),
                     2002);
    ck_assert_int_eq(validate("[1]", 0, &req), BMC_ERR_INVALID_REQUEST);
    /* fields an endpoint does not take are ignored */
    ck_assert_int_eq(validate("{" BASE
                              ",\"protocol\":\"redfish\",\"delay\":\"x\"}",
                              0, &req),
                     0);
    request_free(&req);
    config_free();
}
END_TEST

START_TEST(envelope_error_shape)
{
    struct http_response resp;
    json_object *v;
    http_response_init(&resp);
    response_error(&resp, BMC_ERR_AUTH_FAILED, "run_action", "id-1", "bad %s",
                   "creds");
    ck_assert_int_eq(resp.status, 401);
    ck_assert(json_object_object_get_ex(resp.body, "success", &v) &&
              !json_object_get_boolean(v));
    ck_assert(json_object_object_get_ex(resp.body, "message", &v));
    ck_assert_str_eq(json_object_get_string(v), "Authentication failed");
    ck_assert(json_object_object_get_ex(resp.body, "error_code", &v));
    ck_assert_int_eq(json_object_get_int(v), 1001);
    ck_assert(json_object_object_get_ex(resp.body, "details", &v));
    ck_assert_str_eq(json_object_get_string(v), "bad creds");
    ck_assert(json_object_object_get_ex(resp.body, "task_id", &v));
    http_response_clear(&resp);
}
END_TEST

START_TEST(error_table_statuses)
{
    ck_assert_int_eq(bmc_err_http_status(1001), 401);
    ck_assert_int_eq(bmc_err_http_status(1004), 401);
    ck_assert_int_eq(bmc_err_http_status(1002), 500);
    ck_assert_int_eq(bmc_err_http_status(2001), 400);
    ck_assert_int_eq(bmc_err_http_status(3002), 500);
    ck_assert_int_eq(bmc_err_http_status(3005), 404);
    ck_assert_int_eq(bmc_err_http_status(4005), 400);
    ck_assert_str_eq(bmc_err_message(1003), "Protocol Error");
    ck_assert(bmc_err_is_transient(1002) && !bmc_err_is_transient(1001));
}
END_TEST

/* Resolve METHOD with PARAMS (JSON text): the code. */
static int resolve_code(const char *method, const char *params)
{
    char details[256];
    const struct method_def *m;
    json_object *p = json_tokener_parse(params);
    int rc = methods_resolve(method, p, &m, details, sizeof(details));
    json_object_put(p);
    return rc;
}

START_TEST(registry_checks_declared_bounds)
{
    ck_assert_int_eq(resolve_code("list_users", "{\"channel\": 15}"), 0);
    ck_assert_int_eq(resolve_code("list_users", "{\"channel\": 16}"), 2002);
    ck_assert_int_eq(resolve_code("list_users", "{\"channel\": -1}"), 2002);
    ck_assert_int_eq(resolve_code("get_power_state", "{\"system_id\": \"\"}"),
                     2002);
    ck_assert_int_eq(resolve_code("run_action", "{\"action_name\": \"\"}"),
                     2002);
    ck_assert_int_eq(resolve_code("run_action", "{\"action_name\": \"on\"}"),
                     0);
    ck_assert_ptr_eq(methods_by_endpoint("/power-state"),
                     methods_find("get_power_state"));
    ck_assert_ptr_null(methods_by_endpoint("/execute"));
    ck_assert(methods_find("run_action")->flags & METHOD_MUTATING);
    ck_assert_int_eq(methods_find("run_action")->role, ROLE_OPERATOR);
}
END_TEST

START_TEST(router_404_and_405)
{
    struct http_request req = {
        .method = "GET", .path = "/nope", .body = "", .body_len = 0};
    struct http_response resp;
    http_response_init(&resp);
    router_dispatch(&req, &resp);
    ck_assert_int_eq(resp.status, 404);
    snprintf(req.path, sizeof(req.path), "/action");
    router_dispatch(&req, &resp);
    ck_assert_int_eq(resp.status, 405);
    ck_assert_str_eq(resp.allow, "POST");
    snprintf(req.path, sizeof(req.path), "/power-state");
    router_dispatch(&req, &resp);
    ck_assert_int_eq(resp.status, 405);
    ck_assert_str_eq(resp.allow, "POST");
    ck_assert(router_knows("/tasks/abc") && !router_knows("/tasks/") &&
              !router_knows("/tasks/a/b"));
    http_response_clear(&resp);
}
END_TEST

START_TEST(only_json_is_work)
{
    ck_assert(worker_is_json("application/json"));
    ck_assert(worker_is_json("Application/JSON; charset=utf-8"));
    ck_assert(worker_is_json("application/json ;charset=utf-8"));
    ck_assert(!worker_is_json(NULL));
    ck_assert(!worker_is_json(""));
    ck_assert(!worker_is_json("text/plain"));
    ck_assert(!worker_is_json("application/x-www-form-urlencoded"));
    ck_assert(!worker_is_json("application/jsonx"));
    ck_assert(!worker_is_json("application/json-seq"));
    ck_assert_int_eq(bmc_err_http_status(BMC_ERR_UNSUPPORTED_MEDIA), 415);
    ck_assert_int_eq(bmc_err_http_status(BMC_ERR_MISDIRECTED), 421);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc;

    tc = unit_case(s, "json", NULL, NULL, 0);
    tcase_add_test(tc, numbers_print_shortest);
    tcase_add_test(tc, strict_parse_rejects_garbage);
    tc = unit_case(s, "config", NULL, NULL, 0);
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, config_bad_values_name_the_variable);
    tc = unit_case(s, "request", NULL, NULL, 0);
    tcase_add_test(tc, request_defaults_and_ports);
    tcase_add_test(tc, request_codes_in_documented_order);
    tc = unit_case(s, "envelope", NULL, NULL, 0);
    tcase_add_test(tc, envelope_error_shape);
    tcase_add_test(tc, error_table_statuses);
    tc = unit_case(s, "methods", NULL, NULL, 0);
    tcase_add_test(tc, registry_checks_declared_bounds);
    tc = unit_case(s, "router", NULL, NULL, 0);
    tcase_add_test(tc, router_404_and_405);
    tcase_add_test(tc, only_json_is_work);
    return unit_run(s);
}
