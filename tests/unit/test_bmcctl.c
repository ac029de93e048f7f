/* Unit tests for bmcctl: xCAT-style node ranges (brackets, padding, dash
 * ranges, comma lists, exclusions, ports, IPv6, files, limits and every
 * malformed form), the exit status of each error code and answer, and
 * the command table's lookups. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmcctl/commands.h"
#include "bmcctl/run.h"
#include "bmcctl/targets.h"

static char err[512];

/* The names EXPR expands to, joined with spaces; NULL on error. */
static char *expand(const char *expr)
{
    static char out[65536];
    struct target_list l = {0};

    out[0] = '\0';
    if (targets_add_expr(&l, expr, err, sizeof(err))) {
        targets_free(&l);
        return NULL;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, l.v[i].name);
    }
    targets_free(&l);
    return out;
}

START_TEST(plain_hosts)
{
    ck_assert_str_eq(expand("10.0.0.5"), "10.0.0.5");
    ck_assert_str_eq(expand("bmc-r12-01"), "bmc-r12-01");
    ck_assert_str_eq(expand("a,b,c"), "a b c");
    ck_assert_str_eq(expand("a,b,a"), "a b"); /* a set: no duplicates */
}
END_TEST

START_TEST(bracket_ranges)
{
    ck_assert_str_eq(expand("bmc-r12-[01-03]"),
                     "bmc-r12-01 bmc-r12-02 bmc-r12-03");
    ck_assert_str_eq(expand("n[8-11]"), "n8 n9 n10 n11");
    ck_assert_str_eq(expand("n[098-101]"), "n098 n099 n100 n101");
    ck_assert_str_eq(expand("10.0.0.[1-3]"), "10.0.0.1 10.0.0.2 10.0.0.3");
    ck_assert_str_eq(expand("r[1-2]n[1-2]"), "r1n1 r1n2 r2n1 r2n2");
    ck_assert_str_eq(expand("n[1,3,5-6]"), "n1 n3 n5 n6");
    ck_assert_str_eq(expand("n[1-2].lab,m[3]"), "n1.lab n2.lab m3");
    char *all = expand("bmc-r12-[01-40]");
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(strstr(all, "bmc-r12-01 "));
    ck_assert(strlen(all) == 40 * strlen("bmc-r12-01") + 39);
}
END_TEST

START_TEST(dash_ranges)
{
    ck_assert_str_eq(expand("node01-node03"), "node01 node02 node03");
    ck_assert_str_eq(expand("10.0.0.1-10.0.0.3"),
                     "10.0.0.1 10.0.0.2 10.0.0.3");
    ck_assert_str_eq(expand("bmc-r12-09-bmc-r12-11"),
                     "bmc-r12-09 bmc-r12-10 bmc-r12-11");
    /* dashes of a name that is not a range */
    ck_assert_str_eq(expand("bmc-r12-01"), "bmc-r12-01");
    ck_assert_str_eq(expand("node1-2"), "node1-2");
}
END_TEST

START_TEST(exclusions)
{
    ck_assert_str_eq(expand("n[1-5],-n3"), "n1 n2 n4 n5");
    ck_assert_str_eq(expand("n[1-5],-n[2-4]"), "n1 n5");
    ck_assert_str_eq(expand("n[1-3],-x"), "n1 n2 n3");
}
END_TEST

START_TEST(ports_and_ipv6)
{
    struct target_list l = {0};

    ck_assert_int_eq(targets_add_expr(&l, "127.0.1.[1-2]:8443,[::1]:623,::1",
                                      err, sizeof(err)),
                     0);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.v[0].host, "127.0.1.1");
    ck_assert_int_eq(l.v[0].port, 8443);
    ck_assert_str_eq(l.v[0].name, "127.0.1.1:8443");
    ck_assert_str_eq(l.v[2].host, "::1");
    ck_assert_int_eq(l.v[2].port, 623);
    ck_assert_str_eq(l.v[2].name, "[::1]:623");
    ck_assert_str_eq(l.v[3].host, "::1");
    ck_assert_int_eq(l.v[3].port, 0);
    targets_free(&l);
}
END_TEST

START_TEST(malformed)
{
    static const char *const bad[] = {
        "n[3-1]", "n[1-2",      "n[a-b]",   "n[]",        "",
        "a,,b",   "host:0",     "host:x",   "host:70000", "a b",
        "a/b",    "-",          "[::1]x",   "n[1-20000]", "x[1--2]",
        "n[1-]",  "n[0-99999]", "$(reboot)"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(expand(bad[i]) == NULL, "'%s' was accepted", bad[i]);
}
END_TEST

START_TEST(limit)
{
    struct target_list l = {0};

    ck_assert_int_eq(targets_add_expr(&l, "a[1-9999]", err, sizeof(err)), 0);
    ck_assert_int_eq(targets_add_expr(&l, "b", err, sizeof(err)), 0);
    ck_assert_int_eq(l.n, TARGETS_MAX);
    ck_assert_int_eq(targets_add_expr(&l, "c", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "10000"));
    targets_free(&l);
}
END_TEST

START_TEST(from_file)
{
    struct target_list l = {0};
    char text[] = "# rack 12\nbmc-[1-2]  10.0.0.9 # spare\n\n-bmc-2\n";
    FILE *f = fmemopen(text, strlen(text), "r");

    ck_assert_int_eq(targets_add_file(&l, f, "hosts", err, sizeof(err)), 0);
    fclose(f);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.v[0].name, "bmc-1");
    ck_assert_str_eq(l.v[1].name, "10.0.0.9");
    char bad[] = "ok\nn[2-1]\n";
    f = fmemopen(bad, strlen(bad), "r");
    ck_assert_int_eq(targets_add_file(&l, f, "hosts", err, sizeof(err)), -1);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(err, "hosts:2:"));
    targets_free(&l);
}
END_TEST

START_TEST(exit_codes)
{
    ck_assert_int_eq(run_exit_for_code(1001), EXIT_AUTH);
    ck_assert_int_eq(run_exit_for_code(1004), EXIT_AUTH);
    ck_assert_int_eq(run_exit_for_code(4009), EXIT_AUTH);
    ck_assert_int_eq(run_exit_for_code(4010), EXIT_AUTH);
    ck_assert_int_eq(run_exit_for_code(1002), EXIT_CONNECTION);
    ck_assert_int_eq(run_exit_for_code(1005), EXIT_CONNECTION);
    ck_assert_int_eq(run_exit_for_code(3002), EXIT_CONNECTION);
    ck_assert_int_eq(run_exit_for_code(3001), EXIT_BMC_SAID_NO);
    ck_assert_int_eq(run_exit_for_code(2002), EXIT_USAGE);
    ck_assert_int_eq(run_exit_for_code(4001), EXIT_USAGE);
    ck_assert_int_eq(run_exit_for_code(3004), EXIT_SERVICE);
    ck_assert_int_eq(run_exit_for_code(3005), EXIT_SERVICE);
    ck_assert_int_eq(run_exit_for_code(4008), EXIT_SERVICE);
}
END_TEST

static int exit_of(long status, const char *json)
{
    json_object *a = json_tokener_parse(json);
    int rc = run_exit_for_answer(status, a);
    json_object_put(a);
    return rc;
}

START_TEST(exit_of_answers)
{
    ck_assert_int_eq(exit_of(200, "{\"success\":true,\"data\":{}}"), 0);
    ck_assert_int_eq(exit_of(200, "{\"success\":false,\"message\":\"no\"}"),
                     EXIT_BMC_SAID_NO);
    ck_assert_int_eq(exit_of(401, "{\"success\":false,\"error_code\":1001}"),
                     EXIT_AUTH);
    ck_assert_int_eq(exit_of(502, "{}"), EXIT_SERVICE);
    ck_assert_int_eq(exit_of(0, "{\"success\":true}"), EXIT_SERVICE);
    ck_assert_int_eq(exit_of(200, "{\"success\":true,\"method\":"
                                  "\"get_task_status\",\"status\":\"failed\","
                                  "\"error_code\":1005}"),
                     EXIT_CONNECTION);
    ck_assert_int_eq(exit_of(200, "{\"success\":true,\"method\":"
                                  "\"get_task_status\",\"status\":\"failed\","
                                  "\"error_code\":3001}"),
                     EXIT_BMC_SAID_NO);
    ck_assert_int_eq(exit_of(200, "{\"success\":true,\"method\":"
                                  "\"get_task_status\",\"status\":"
                                  "\"success\"}"),
                     0);
}
END_TEST

START_TEST(command_lookup)
{
    int needs;
    const struct command *c = commands_find("power", "cycle", &needs);

    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->method, "run_action");
    ck_assert_str_eq(c->action, "cycle");
    ck_assert_ptr_null(commands_find("power", "sideways", &needs));
    ck_assert_int_eq(needs, 1);
    c = commands_find("inventory", NULL, &needs);
    ck_assert_str_eq(c->endpoint, "/inventory");
    ck_assert_str_eq(commands_option_param(COPT_PERSISTENT), "persistent");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bmcctl");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, plain_hosts);
    tcase_add_test(tc, bracket_ranges);
    tcase_add_test(tc, dash_ranges);
    tcase_add_test(tc, exclusions);
    tcase_add_test(tc, ports_and_ipv6);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, limit);
    tcase_add_test(tc, from_file);
    tcase_add_test(tc, exit_codes);
    tcase_add_test(tc, exit_of_answers);
    tcase_add_test(tc, command_lookup);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
