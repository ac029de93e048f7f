/* Unit tests of webhook.c: the callback_url rules, the configuration's
 * refusals, the HMAC (RFC 4231) and the retry schedule. Delivery itself
 * is tested against real receivers (tests/integration/
 * test_webhook_send.py). */
#include "autoconfig.h"

#include "config.h"
#include "errors.h"
#include "webhook.h"

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const webhook_vars[] = {
    "BMC_WEBHOOK_ALLOWED",       "BMC_WEBHOOK_SECRET",
    "BMC_WEBHOOK_SECRET_FILE",   "BMC_WEBHOOK_CA_FILE",
    "BMC_WEBHOOK_RETRY_SECONDS", "BMC_WEBHOOK_BACKOFF_SECONDS",
    "BMC_WEBHOOK_TIMEOUT",       NULL};

/* config_load + webhook_load with ALLOWED and SECRET (NULL: unset);
 * the return of the first that failed, ERR its message. */
static int load(const char *allowed, const char *secret, char *err,
                size_t errlen)
{
    if (allowed)
        setenv("BMC_WEBHOOK_ALLOWED", allowed, 1);
    if (secret)
        setenv("BMC_WEBHOOK_SECRET", secret, 1);
    if (config_load(err, errlen))
        return -1;
    return webhook_load(err, errlen);
}

static void clean_env(void)
{
    for (int i = 0; webhook_vars[i]; i++)
        unsetenv(webhook_vars[i]);
}

static void teardown(void)
{
    webhook_free();
    config_free();
    clean_env();
}

static const char allowed_list[] =
    "10.0.0.0/8, 192.168.1.7,fd00::/8 ,::1, Hooks.Example.com.,localhost";

struct url_case {
    const char *url;
    const char *refusal; /* NULL: accepted; else a part of the details */
};

static const struct url_case url_cases[] = {
    {"http://10.1.2.3/hook", NULL},
    {"https://10.255.255.255:8443/a/b?c=d", NULL},
    {"http://11.0.0.1/", "host 11.0.0.1 is not in BMC_WEBHOOK_ALLOWED"},
    {"http://192.168.1.7/", NULL},
    {"http://192.168.1.8/", "is not in BMC_WEBHOOK_ALLOWED"},
    {"http://[fd12::5]:9000/x", NULL},
    {"http://[fe80::1]/", "host fe80::1 is not in"},
    {"http://[::1]/", NULL},
    {"http://[::ffff:10.0.0.9]/", NULL},
    {"https://hooks.example.com/cb", NULL},
    {"https://HOOKS.EXAMPLE.COM/cb", NULL},
    {"https://hooks.example.com./cb", NULL},
    {"https://evil.hooks.example.com/", "is not in BMC_WEBHOOK_ALLOWED"},
    {"https://hooks.example.com.evil/", "is not in BMC_WEBHOOK_ALLOWED"},
    {"http://LocalHost:8080/", NULL},
    {"http://example.org/", "host example.org is not in"},
    {"http://user@10.0.0.1/", "must not contain user information"},
    {"http://user:pw@hooks.example.com/", "user information"},
    {"ftp://10.0.0.1/", "the scheme must be http or https"},
    {"file:///etc/passwd", "the scheme must be http or https"},
    {"gopher://10.0.0.1/", "the scheme must be http or https"},
    {"HTTP://10.0.0.1/", NULL},
    {"10.0.0.1/hook", "callback_url is not a URL"},
    {"http://:8080/", "callback_url has no host"},
    {"http://", "callback_url has no host"},
    {"http://@10.0.0.1/", "must not contain user information"},
    {"http://10.0.0.1;x/", "callback_url is not a URL"},
    /* libcurl's normal form of an address is the one checked */
    {"http://0x0a000001/", NULL},
    {"http://0x0b000001/", "host 11.0.0.1 is not in"},
    {"http://10.0.0.1/a b", "spaces or control characters"},
    {"http://10.0.0.1/a\tb", "spaces or control characters"},
    {"http://10.0.0.1/\r\nX-Evil: 1", "spaces or control characters"},
    {"http://[fe80::1%25eth0]/", "must not name an IPv6 zone"},
    {"", "callback_url is not a URL"},
    {NULL, "callback_url must be a string"},
};

START_TEST(url_rules)
{
    char err[256], details[512];

    ck_assert_int_eq(load(allowed_list, "k", err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        const struct url_case *c = &url_cases[i];
        details[0] = '\0';
        enum bmc_err rc = webhook_check_url(c->url, details, sizeof(details));
        if (!c->refusal) {
            ck_assert_msg(rc == BMC_OK, "%s refused: %s", c->url, details);
            continue;
        }
        ck_assert_msg(rc == BMC_ERR_INVALID_PARAMETERS, "%s accepted",
                      c->url ? c->url : "(null)");
        ck_assert_msg(strstr(details, c->refusal), "%s: %s", c->url, details);
        ck_assert_ptr_nonnull(strstr(details, "callback_url"));
    }
}
END_TEST

START_TEST(url_length_bound)
{
    char err[256], details[256], url[WEBHOOK_URL_MAX + 2];
    const char *head = "http://10.0.0.1/";

    ck_assert_int_eq(load("10.0.0.0/8", "k", err, sizeof(err)), 0);
    memset(url, 'a', sizeof(url) - 1);
    memcpy(url, head, strlen(head));
    url[WEBHOOK_URL_MAX] = '\0'; /* exactly the limit */
    ck_assert_int_eq(webhook_check_url(url, details, sizeof(details)), 0);
    url[WEBHOOK_URL_MAX] = 'a';
    url[WEBHOOK_URL_MAX + 1] = '\0';
    ck_assert_int_eq(webhook_check_url(url, details, sizeof(details)),
                     BMC_ERR_INVALID_PARAMETERS);
    ck_assert_ptr_nonnull(strstr(details, "longer than 2048 bytes"));
    /* a host name longer than DNS allows */
    memset(url, 'a', 400);
    memcpy(url, head, 7);
    strcpy(url + 400, ".example/");
    ck_assert_int_eq(webhook_check_url(url, details, sizeof(details)),
                     BMC_ERR_INVALID_PARAMETERS);
    ck_assert_ptr_nonnull(strstr(details, "callback_url"));
}
END_TEST

START_TEST(not_configured_refuses_everything)
{
    char err[256], details[256];

    ck_assert_int_eq(load(NULL, "k", err, sizeof(err)), 0);
    ck_assert(!webhook_enabled());
    ck_assert_int_eq(
        webhook_check_url("http://10.0.0.1/", details, sizeof(details)),
        BMC_ERR_INVALID_PARAMETERS);
    ck_assert_str_eq(details, "callback_url: callbacks are not allowed: set "
                              "BMC_WEBHOOK_ALLOWED");
    webhook_free();
    config_free();
    clean_env();
    ck_assert_int_eq(load("10.0.0.0/8", NULL, err, sizeof(err)), 0);
    ck_assert(!webhook_enabled());
    ck_assert_int_eq(
        webhook_check_url("http://10.0.0.1/", details, sizeof(details)),
        BMC_ERR_INVALID_PARAMETERS);
    ck_assert_str_eq(details, "callback_url: callbacks are not allowed: set "
                              "BMC_WEBHOOK_SECRET");
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(secret_file_is_mode_checked)
{
    char dir[] = "/tmp/test_webhook.XXXXXX", path[128], err[256];
    char details[256];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);
    write_file(path, "s3cr3t-value\n", 0640);
    setenv("BMC_WEBHOOK_SECRET_FILE", path, 1);
    ck_assert_int_eq(load("10.0.0.0/8", NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "open to group or others"));
    ck_assert_ptr_null(strstr(err, "s3cr3t"));
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(load("10.0.0.0/8", NULL, err, sizeof(err)), 0);
    ck_assert(webhook_enabled());
    ck_assert_int_eq(
        webhook_check_url("http://10.0.0.1/", details, sizeof(details)), 0);
    /* both the variable and the file: a configuration error */
    ck_assert_int_eq(load(NULL, "other", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "both"));
    ck_assert_ptr_null(strstr(err, "other"));
    unsetenv("BMC_WEBHOOK_SECRET");
    write_file(path, "\n", 0600);
    ck_assert_int_eq(load(NULL, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "is empty"));
    unlink(path);
    ck_assert_int_eq(load(NULL, NULL, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "BMC_WEBHOOK_SECRET_FILE"));
    rmdir(dir);
}
END_TEST

struct bad_setting {
    const char *name, *value, *said;
};

START_TEST(bad_settings_stop_the_start)
{
    static const struct bad_setting bad[] = {
        {"BMC_WEBHOOK_ALLOWED", "10.0.0.0/33", "BMC_WEBHOOK_ALLOWED"},
        {"BMC_WEBHOOK_ALLOWED", "bad_name.example", "BMC_WEBHOOK_ALLOWED"},
        {"BMC_WEBHOOK_ALLOWED", "0177.0.0.1", "BMC_WEBHOOK_ALLOWED"},
        {"BMC_WEBHOOK_RETRY_SECONDS", "0", "BMC_WEBHOOK_RETRY_SECONDS"},
        {"BMC_WEBHOOK_RETRY_SECONDS", "604801", "from 1 to 604800"},
        {"BMC_WEBHOOK_BACKOFF_SECONDS", "0.001", "BMC_WEBHOOK_BACKOFF"},
        {"BMC_WEBHOOK_BACKOFF_SECONDS", "3601", "BMC_WEBHOOK_BACKOFF"},
        {"BMC_WEBHOOK_TIMEOUT", "0", "BMC_WEBHOOK_TIMEOUT"},
        {"BMC_WEBHOOK_TIMEOUT", "ten", "BMC_WEBHOOK_TIMEOUT"},
        {"BMC_WEBHOOK_CA_FILE", "/nonexistent/ca.pem", "BMC_WEBHOOK_CA_FILE"},
    };
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clean_env();
        setenv(bad[i].name, bad[i].value, 1);
        err[0] = '\0';
        ck_assert_msg(load(NULL, "k", err, sizeof(err)) == -1, "%s=%s",
                      bad[i].name, bad[i].value);
        ck_assert_msg(strstr(err, bad[i].said), "%s", err);
        webhook_free();
        config_free();
    }
}
END_TEST

START_TEST(long_secret_is_not_echoed)
{
    char err[256], secret[5000];

    memset(secret, 'Q', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    ck_assert_int_eq(load("10.0.0.0/8", secret, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "BMC_WEBHOOK_SECRET"));
    ck_assert_ptr_null(strstr(err, "QQQQ"));
}
END_TEST

START_TEST(health_lists_entries_never_the_secret)
{
    char err[256];

    ck_assert_int_eq(
        load("10.0.0.0/8,hooks.example.com", "topsecret", err, sizeof(err)),
        0);
    json_object *h = webhook_health(), *enabled, *allowed;
    ck_assert(json_object_object_get_ex(h, "enabled", &enabled));
    ck_assert(json_object_get_boolean(enabled));
    ck_assert(json_object_object_get_ex(h, "allowed", &allowed));
    ck_assert_int_eq(json_object_array_length(allowed), 2);
    ck_assert_str_eq(
        json_object_get_string(json_object_array_get_idx(allowed, 0)),
        "10.0.0.0/8");
    ck_assert_str_eq(
        json_object_get_string(json_object_array_get_idx(allowed, 1)),
        "hooks.example.com");
    ck_assert_ptr_null(strstr(json_object_to_json_string(h), "topsecret"));
    json_object_put(h);
}
END_TEST

/* RFC 4231 test case 2: key "Jefe". */
START_TEST(hmac_rfc4231_case2)
{
    const char *data = "what do ya want for nothing?";
    char hex[65];

    webhook_sign("Jefe", 4, data, strlen(data), hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c7"
                          "5a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(backoff_doubles_to_the_cap)
{
    char err[256];

    setenv("BMC_WEBHOOK_BACKOFF_SECONDS", "5", 1);
    setenv("BMC_WEBHOOK_RETRY_SECONDS", "7200", 1);
    ck_assert_int_eq(load(NULL, NULL, err, sizeof(err)), 0);
    static const double want[] = {5, 10, 20, 40, 80, 160, 300, 300, 300};
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq(webhook_next_delay(i + 1), want[i]);
    ck_assert_double_eq(webhook_next_delay(1000000), 300);
    ck_assert_double_eq(webhook_budget(), 7200);
    config_free();
    /* a backoff above the cap is the cap */
    setenv("BMC_WEBHOOK_BACKOFF_SECONDS", "600", 1);
    ck_assert_int_eq(load(NULL, NULL, err, sizeof(err)), 0);
    ck_assert_double_eq(webhook_next_delay(1), 600);
    ck_assert_double_eq(webhook_next_delay(5), 600);
    config_free();
    clean_env();
    ck_assert_int_eq(load(NULL, NULL, err, sizeof(err)), 0);
    ck_assert_double_eq(webhook_next_delay(1), 5);
    ck_assert_double_eq(webhook_budget(), 3600);
    ck_assert_double_eq_tol(bmc_cfg.webhook_timeout, 10, 1e-9);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook");
    TCase *tc = unit_case(s, "url", clean_env, teardown, 0);

    tcase_add_test(tc, url_rules);
    tcase_add_test(tc, url_length_bound);
    tcase_add_test(tc, not_configured_refuses_everything);
    tc = unit_case(s, "config", clean_env, teardown, 0);
    tcase_add_test(tc, secret_file_is_mode_checked);
    tcase_add_test(tc, bad_settings_stop_the_start);
    tcase_add_test(tc, long_secret_is_not_echoed);
    tcase_add_test(tc, health_lists_entries_never_the_secret);
    tc = unit_case(s, "schedule", clean_env, teardown, 0);
    tcase_add_test(tc, hmac_rfc4231_case2);
    tcase_add_test(tc, backoff_doubles_to_the_cap);
    return unit_run(s);
}
