/* Unit tests of the security modules: CIDR lists and the target policy,
 * service tokens and roles, credential files. */
#include "autoconfig.h"

#include "config.h"
#include "errors.h"
#include "auth.h"
#include "policy.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

static bool in(const char *list, const char *ip)
{
    struct policy_cidrs c;
    char err[128];

    ck_assert_int_eq(policy_cidrs_parse(list, &c, err, sizeof(err)), 0);
    bool r = policy_cidrs_match(&c, ip);
    policy_cidrs_free(&c);
    return r;
}

START_TEST(cidr_lists_match_both_families)
{
    ck_assert(in("10.0.0.0/8", "10.200.3.4"));
    ck_assert(!in("10.0.0.0/8", "11.0.0.1"));
    ck_assert(in("192.168.1.0/25", "192.168.1.127"));
    ck_assert(!in("192.168.1.0/25", "192.168.1.128"));
    ck_assert(in("10.0.0.5", "10.0.0.5") && !in("10.0.0.5", "10.0.0.6"));
    ck_assert(in("0.0.0.0/0", "8.8.8.8"));
    ck_assert(in("fd00::/8", "fd12::1") && !in("fd00::/8", "fe80::1"));
    ck_assert(in("2001:db8::/32, 10.0.0.0/8", "2001:db8:1::5"));
    /* IPv4-mapped IPv6 is the IPv4 address, in lists and addresses */
    ck_assert(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    ck_assert(in("::ffff:10.0.0.0/104", "10.9.9.9"));
    ck_assert(!in("::/0", "10.0.0.1"));
    ck_assert(!in("", "10.0.0.1"));
}
END_TEST

START_TEST(cidr_lists_reject_garbage)
{
    static const char *const bad[] = {
        "10.0.0.0/33",  "10.0.0.0/",   "10.0.0/8",   "fd00::/129",
        "host.example", "10.0.0.0/8x", "0177.0.0.1", NULL};
    struct policy_cidrs c;
    char err[128];

    for (int i = 0; bad[i]; i++) {
        ck_assert_int_eq(policy_cidrs_parse(bad[i], &c, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "is not an address or CIDR"));
    }
}
END_TEST

START_TEST(addresses_have_one_form)
{
    char ip[64];

    snprintf(ip, sizeof(ip), "::ffff:192.0.2.7");
    ck_assert_int_eq(policy_normalize_ip(ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "192.0.2.7");
    snprintf(ip, sizeof(ip), "2001:DB8:0:0::0001");
    ck_assert_int_eq(policy_normalize_ip(ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "2001:db8::1");
    snprintf(ip, sizeof(ip), "10.0.0.1");
    ck_assert_int_eq(policy_normalize_ip(ip, sizeof(ip)), 0);
    ck_assert_str_eq(ip, "10.0.0.1");
    snprintf(ip, sizeof(ip), "bmc.example");
    ck_assert_int_eq(policy_normalize_ip(ip, sizeof(ip)), -1);
}
END_TEST

START_TEST(target_policy_defaults_and_lists)
{
    char err[256], details[256];

    unsetenv("BMC_ALLOWED_TARGETS");
    unsetenv("BMC_DENIED_TARGETS");
    ck_assert_int_eq(config_load(err, sizeof(err)), 0);
    ck_assert_int_eq(policy_load(err, sizeof(err)), 0);
    static const char *const denied[] = {"0.0.0.0",
                                         "0.1.2.3",
                                         "224.0.0.1",
                                         "239.255.255.250",
                                         "255.255.255.255",
                                         "169.254.169.254",
                                         "::",
                                         "ff02::1",
                                         "fd00:ec2::254",
                                         NULL};
    for (int i = 0; denied[i]; i++)
        ck_assert_int_eq(
            policy_check_target(denied[i], details, sizeof(details)),
            BMC_ERR_TARGET_NOT_ALLOWED);
    ck_assert_int_eq(policy_check_target("10.0.0.5", details, sizeof(details)),
                     0);
    ck_assert_int_eq(
        policy_check_target("169.254.1.1", details, sizeof(details)), 0);
    setenv("BMC_ALLOWED_TARGETS", "10.0.0.0/8", 1);
    setenv("BMC_DENIED_TARGETS", "10.0.0.66", 1);
    ck_assert_int_eq(config_load(err, sizeof(err)), 0);
    ck_assert_int_eq(policy_load(err, sizeof(err)), 0);
    ck_assert_int_eq(policy_check_target("10.0.0.5", details, sizeof(details)),
                     0);
    ck_assert_int_eq(
        policy_check_target("10.0.0.66", details, sizeof(details)),
        BMC_ERR_TARGET_NOT_ALLOWED);
    ck_assert_int_eq(
        policy_check_target("192.168.0.1", details, sizeof(details)),
        BMC_ERR_TARGET_NOT_ALLOWED);
    ck_assert_ptr_nonnull(strstr(details, "BMC_ALLOWED_TARGETS"));
    setenv("BMC_ALLOWED_TARGETS", "10.0.0.0/40", 1);
    ck_assert_int_eq(config_load(err, sizeof(err)), 0);
    ck_assert_int_eq(policy_load(err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "BMC_ALLOWED_TARGETS"));
    unsetenv("BMC_ALLOWED_TARGETS");
    unsetenv("BMC_DENIED_TARGETS");
    policy_free();
    config_free();
}
END_TEST

/* sha256("viewer-token-0123456789") etc., as bmc-managerd --hash-token. */
static const char *hash_of(const char *token, char *out)
{
    FILE *in = fmemopen((void *)token, strlen(token), "r");
    FILE *o = fmemopen(out, 80, "w");
    ck_assert_int_eq(auth_hash_token(in, o, stderr), 0);
    fclose(in);
    fclose(o);
    out[64] = '\0';
    return out;
}

START_TEST(tokens_roles_and_sources)
{
    char path[] = "/tmp/bmc-tokens-XXXXXX", err[256], details[256], h1[80],
         h2[80];
    const struct auth_token *who;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    fprintf(f, "# comment\n\nview viewer %s\nops operator %s 10.0.0.0/8\n",
            hash_of("viewer-token-0123456789", h1),
            hash_of("operator-token-0123456789", h2));
    fclose(f);
    setenv("BMC_AUTH", "token", 1);
    setenv("BMC_TOKENS_FILE", path, 1);
    ck_assert_int_eq(config_load(err, sizeof(err)), 0);
    ck_assert_int_eq(auth_load(err, sizeof(err)), 0);
    ck_assert_int_eq(auth_check("Bearer viewer-token-0123456789", "127.0.0.1",
                                &who, details, sizeof(details)),
                     0);
    ck_assert_str_eq(auth_token_name(who), "view");
    ck_assert_int_eq(
        auth_require(who, ROLE_OPERATOR, details, sizeof(details)),
        BMC_ERR_FORBIDDEN);
    ck_assert_str_eq(details,
                     "role operator is needed; token view has viewer");
    ck_assert_int_eq(auth_check("bearer operator-token-0123456789", "10.1.1.1",
                                &who, details, sizeof(details)),
                     0);
    ck_assert_int_eq(
        auth_require(who, ROLE_OPERATOR, details, sizeof(details)), 0);
    ck_assert_int_eq(auth_check("Bearer operator-token-0123456789",
                                "192.168.1.1", &who, details, sizeof(details)),
                     BMC_ERR_AUTH_REQUIRED);
    ck_assert_int_eq(
        auth_check(NULL, "1.2.3.4", &who, details, sizeof(details)),
        BMC_ERR_AUTH_REQUIRED);
    ck_assert_int_eq(auth_check("Bearer viewer-token-012345678", "1.2.3.4",
                                &who, details, sizeof(details)),
                     BMC_ERR_AUTH_REQUIRED);
    ck_assert_int_eq(auth_require(NULL, ROLE_ADMIN, details, sizeof(details)),
                     0);
    chmod(path, 0644);
    ck_assert_int_eq(auth_load(err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "chmod 0600"));
    chmod(path, 0600);
    f = fopen(path, "w");
    fprintf(f, "bad viewer 1234\n");
    fclose(f);
    ck_assert_int_eq(auth_load(err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    unlink(path);
    unsetenv("BMC_AUTH");
    unsetenv("BMC_TOKENS_FILE");
    auth_free();
    config_free();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("security");
    tcase_add_test(tc, cidr_lists_match_both_families);
    tcase_add_test(tc, cidr_lists_reject_garbage);
    tcase_add_test(tc, addresses_have_one_form);
    tcase_add_test(tc, target_policy_defaults_and_lists);
    tcase_add_test(tc, tokens_roles_and_sources);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
