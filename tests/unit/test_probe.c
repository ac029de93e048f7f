/* Unit tests for the probe's own parts: targets and query strings, CIDR
 * lists, the modules file (0600, keys, interim credentials), the shared
 * cache with real processes (single flight, a dead collector replaced,
 * expiry), and the series written from method payloads (units, health,
 * no sample for a missing reading, repeated sensors once). */
#include "autoconfig.h"
#include "unit.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "probe.h"
#include "probe_cache.h"
#include "probe_modules.h"
#include "prom.h"

START_TEST(targets)
{
    char ip[BMC_IP_MAX];
    int port;

    ck_assert_int_eq(probe_parse_target("10.0.0.5", ip, &port), 0);
    ck_assert_str_eq(ip, "10.0.0.5");
    ck_assert_int_eq(port, 0);
    ck_assert_int_eq(probe_parse_target("10.0.0.5:623", ip, &port), 0);
    ck_assert_int_eq(port, 623);
    ck_assert_int_eq(probe_parse_target("[fe80::1]:8443", ip, &port), 0);
    ck_assert_str_eq(ip, "fe80::1");
    ck_assert_int_eq(port, 8443);
    ck_assert_int_eq(probe_parse_target("::1", ip, &port), 0);
    ck_assert_str_eq(ip, "::1");
    ck_assert_int_eq(probe_parse_target("[::1]", ip, &port), 0);
    const char *bad[] = {
        "",     "host.example", "10.0.0.5:", "10.0.0.5:0", "10.0.0.5:65536",
        "[::1", "[::1]x",       "300.0.0.1", "1.2.3.4:5:6"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(probe_parse_target(bad[i], ip, &port) == -1, "%s",
                      bad[i]);
}
END_TEST

START_TEST(query_strings)
{
    char v[32];

    ck_assert_int_eq(probe_query_param("module=rf&target=%5B%3A%3A1%5D%3A443",
                                       "target", v, sizeof(v)),
                     0);
    ck_assert_str_eq(v, "[::1]:443");
    ck_assert_int_eq(
        probe_query_param("xmodule=a&module=b", "module", v, sizeof(v)), 0);
    ck_assert_str_eq(v, "b");
    ck_assert_int_eq(probe_query_param("a=1", "module", v, sizeof(v)), -1);
    ck_assert_int_eq(probe_query_param("module=a%00b", "module", v, sizeof(v)),
                     -1);
    ck_assert_int_eq(probe_query_param("module=", "module", v, sizeof(v)), -1);
    ck_assert_int_eq(
        probe_query_param("module=0123456789012345678901234567890123",
                          "module", v, sizeof(v)),
        -1);
}
END_TEST

START_TEST(cidr_lists)
{
    ck_assert(probe_cidr_match("10.0.0.0/8", "10.200.1.1"));
    ck_assert(!probe_cidr_match("10.0.0.0/8", "11.0.0.1"));
    ck_assert(probe_cidr_match("192.168.1.0/24, 10.0.0.5", "10.0.0.5"));
    ck_assert(!probe_cidr_match("10.0.0.5", "10.0.0.6"));
    ck_assert(probe_cidr_match("10.0.0.0/8", "::ffff:10.1.1.1"));
    ck_assert(probe_cidr_match("fd00::/8", "fd12::1"));
    ck_assert(!probe_cidr_match("fd00::/8", "fe80::1"));
    ck_assert(!probe_cidr_match("", "10.0.0.1"));
    ck_assert(!probe_cidr_match(NULL, "10.0.0.1"));
    ck_assert(!probe_cidr_match("10.0.0.0/33", "10.0.0.1"));
    ck_assert(probe_cidr_match("0.0.0.0/0", "1.2.3.4"));
}
END_TEST

static char modfile[64];

static void write_file(const char *text, mode_t mode)
{
    strcpy(modfile, "/tmp/test_probe_XXXXXX");
    int fd = mkstemp(modfile);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static int load(const char *text, mode_t mode, char *err, size_t len)
{
    write_file(text, mode);
    int rc = probe_modules_load_file(modfile, err, len);
    unlink(modfile);
    return rc;
}

#define GOOD                                                                  \
    "# comment\n[rf] ; trailing comment\nprotocol = redfish\n"                \
    "collect = power, sensors\ntimeout_seconds = 5\ncache_seconds = 0\n"      \
    "username = admin\npassword = pa#ss;word\ntargets = 10.0.0.0/8\n"         \
    "\n[ipmi]\nprotocol=ipmitool\nusername=u\npassword=p\nport=1623\n"

START_TEST(modules_file)
{
    char err[512];
    const struct probe_module *m;
    struct bmc_conn conn;
    char why[128];

    ck_assert_int_eq(load(GOOD, 0600, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(m = probe_modules_find("rf"));
    ck_assert_uint_eq(m->collect, PROBE_POWER | PROBE_SENSORS);
    ck_assert(m->timeout_seconds == 5 && m->cache_seconds == 0);
    ck_assert_str_eq(m->password, "pa#ss;word"); /* no inline comments */
    ck_assert_int_eq(
        probe_modules_credential(m, "10.1.1.1", 0, &conn, why, sizeof(why)),
        0);
    ck_assert_int_eq(conn.port, 443);
    ck_assert_str_eq(conn.username, "admin");
    conn_wipe(&conn);
    ck_assert_int_eq(
        probe_modules_credential(m, "11.1.1.1", 0, &conn, why, sizeof(why)),
        -1);
    ck_assert_ptr_nonnull(m = probe_modules_find("ipmi"));
    ck_assert_uint_eq(m->collect, PROBE_POWER); /* the default */
    ck_assert_int_eq(m->cache_seconds, 30);
    /* no targets: no target at all */
    ck_assert_int_eq(
        probe_modules_credential(m, "10.1.1.1", 0, &conn, why, sizeof(why)),
        -1);
    ck_assert_ptr_null(probe_modules_find("nope"));
    /* a credential reference alone is a module (resolved when probing) */
    ck_assert_int_eq(load("[c]\ncredential = dc1\n", 0600, err, sizeof(err)),
                     0);
    ck_assert_ptr_nonnull(m = probe_modules_find("c"));
    ck_assert_str_eq(m->credential, "dc1");
    /* no such credential loaded: refused */
    ck_assert_int_eq(
        probe_modules_credential(m, "10.1.1.1", 0, &conn, why, sizeof(why)),
        -1);
}
END_TEST

START_TEST(modules_file_refused)
{
    char err[512];
    const char *bad[] = {
        "[a]\nusername=u\npassword=p\nbogus = 1\n",
        "[a]\nusername=u\npassword=p\ncollect = power, temperature\n",
        "[a]\nusername=u\npassword=p\nprotocol = snmp\n",
        "[a]\nusername=u\npassword=p\ntimeout_seconds = 0\n",
        "[a]\nusername=u\npassword=p\nport = 70000\n",
        "username=u\n",
        "[a]\nusername=u\npassword=p\n[a]\nusername=u\npassword=p\n",
        "[bad name]\nusername=u\npassword=p\n",
        "[a]\ncredential = dc1\nusername=u\npassword=p\n", /* both */
        "[a]\nusername=u\n",
        "[a]\nusername=u\npassword=p\ntargets = 10.0.0.0/99\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(load(bad[i], 0600, err, sizeof(err)) == -1, "%s",
                      bad[i]);
    ck_assert_int_eq(load(GOOD, 0644, err, sizeof(err)), -1);
    ck_assert(strstr(err, "0600") != NULL);
    ck_assert_int_eq(load(GOOD, 0640, err, sizeof(err)), -1);
}
END_TEST

/* ---- the cache, with processes ------------------------------------------
 */

struct shared {
    int started;
    int rc[PROBE_CACHE_ENTRIES];
    char text[32][64];
};

static struct shared *sh;

static void cache_setup(void)
{
    char err[128];

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    ck_assert_int_eq(probe_cache_init(err, sizeof(err)), 0);
}

static void cache_teardown(void)
{
    probe_cache_shutdown();
    munmap(sh, sizeof(*sh));
}

static void scraper(int k, double ttl)
{
    char *text = NULL;
    double age;
    int rc = probe_cache_get("m|10.0.0.1|443", 5, clock_now_mono() + 10, &text,
                             &age);
    if (rc == PROBE_CACHE_COLLECT) {
        clock_sleep(0.3, 0); /* the BMC takes its time */
        probe_cache_put("m|10.0.0.1|443", "bmc_up 1\n", 9, ttl);
        text = strdup("bmc_up 1\n");
    }
    sh->rc[k] = rc;
    snprintf(sh->text[k], sizeof(sh->text[k]), "%s", text ? text : "");
    free(text);
    _exit(0);
}

static void run_scrapers(int n, double ttl)
{
    for (int k = 0; k < n; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            scraper(k, ttl);
    }
    for (int k = 0; k < n; k++)
        ck_assert_int_gt(wait(NULL), 0);
}

START_TEST(single_flight)
{
    int collect = 0;

    run_scrapers(20, 30);
    for (int k = 0; k < 20; k++) {
        collect += sh->rc[k] == PROBE_CACHE_COLLECT;
        ck_assert_str_eq(sh->text[k], "bmc_up 1\n");
    }
    ck_assert_int_eq(collect, 1);
    ck_assert_uint_eq(probe_cache_collections(), 1);
    /* later scrapes: from the cache */
    char *text;
    double age;
    ck_assert_int_eq(probe_cache_get("m|10.0.0.1|443", 5, clock_now_mono() + 1,
                                     &text, &age),
                     PROBE_CACHE_HIT);
    ck_assert(age >= 0);
    free(text);
}
END_TEST

/* ttl 0: not kept, but every scrape that waited for it gets it. The test
 * holds the claim itself until all waiters have started (and half a
 * second more: one look takes microseconds). */
START_TEST(uncached_result_still_shared)
{
    char *text;
    double age;

    ck_assert_int_eq(probe_cache_get("m|10.0.0.1|443", 30,
                                     clock_now_mono() + 1, &text, &age),
                     PROBE_CACHE_COLLECT);
    for (int k = 0; k < 8; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            __atomic_fetch_add(&sh->started, 1, __ATOMIC_SEQ_CST);
            scraper(k, 0);
        }
    }
    while (__atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) < 8)
        clock_sleep(0.01, 0);
    clock_sleep(0.5, 0);
    probe_cache_put("m|10.0.0.1|443", "bmc_up 1\n", 9, 0);
    for (int k = 0; k < 8; k++)
        ck_assert_int_gt(wait(NULL), 0);
    for (int k = 0; k < 8; k++) {
        ck_assert_int_eq(sh->rc[k], PROBE_CACHE_SHARED);
        ck_assert_str_eq(sh->text[k], "bmc_up 1\n");
    }
    /* and nothing kept */
    ck_assert_int_eq(probe_cache_get("m|10.0.0.1|443", 5, clock_now_mono() + 1,
                                     &text, &age),
                     PROBE_CACHE_COLLECT);
}
END_TEST

START_TEST(dead_collector_replaced)
{
    char *text;
    double age;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* claims for 2 s and is killed before its put */
        probe_cache_get("k", 2, clock_now_mono() + 1, &text, &age);
        kill(getpid(), SIGKILL);
    }
    waitpid(pid, NULL, 0);
    /* a waiter with a short deadline: still claimed */
    ck_assert_int_eq(
        probe_cache_get("k", 5, clock_now_mono() + 0.05, &text, &age),
        PROBE_CACHE_TIMEOUT);
    /* a longer one takes over once the claim has ended */
    ck_assert_int_eq(
        probe_cache_get("k", 5, clock_now_mono() + 5, &text, &age),
        PROBE_CACHE_COLLECT);
}
END_TEST

START_TEST(expiry)
{
    char *text;
    double age;

    ck_assert_int_eq(
        probe_cache_get("e", 5, clock_now_mono() + 1, &text, &age),
        PROBE_CACHE_COLLECT);
    probe_cache_put("e", "x 1\n", 4, 0.2);
    ck_assert_int_eq(
        probe_cache_get("e", 5, clock_now_mono() + 1, &text, &age),
        PROBE_CACHE_HIT);
    free(text);
    clock_sleep(0.3, 0);
    ck_assert_int_eq(
        probe_cache_get("e", 5, clock_now_mono() + 1, &text, &age),
        PROBE_CACHE_COLLECT);
}
END_TEST

/* ---- series -------------------------------------------------------------
 */

START_TEST(sensor_series)
{
    struct prom_buf b;
    json_object *data = json_tokener_parse(
        "{\"sensors\": ["
        "{\"name\": \"CPU \\\"1\\\" Temp\", \"type\": \"temperature\", "
        "\"reading\": 45.5, \"unit\": \"Cel\", \"health\": \"ok\"},"
        "{\"name\": \"Fan1\", \"type\": \"fan\", \"reading\": 5400, "
        "\"unit\": \"RPM\", \"health\": \"warning\"},"
        "{\"name\": \"Fan1\", \"type\": \"fan\", \"reading\": 5400, "
        "\"unit\": \"RPM\", \"health\": \"warning\"},"
        "{\"name\": \"PSU1\", \"type\": \"power\", \"reading\": null, "
        "\"unit\": \"W\", \"health\": \"critical\"},"
        "{\"name\": \"Odd\", \"type\": \"other\", \"reading\": 1, "
        "\"unit\": \"%\", \"health\": \"unknown\"}]}");

    prom_init(&b, 0);
    probe_write_item(&b, PROBE_SENSORS, data);
    char *t = prom_take(&b);
    ck_assert_msg(
        strstr(t, "bmc_sensor_value_celsius{name=\"CPU \\\"1\\\" Temp\","
                  "type=\"temperature\"} 45.5\n") != NULL,
        "%s", t);
    ck_assert(strstr(t, "bmc_sensor_value_rpm{name=\"Fan1\",type=\"fan\"} "
                        "5400\n") != NULL);
    ck_assert(strstr(t, "Fan1\",type=\"fan\"} 5400\nbmc_sensor_value_rpm") ==
              NULL);                       /* once */
    ck_assert(strstr(t, "watts") == NULL); /* no reading: no sample */
    ck_assert(strstr(t, "bmc_sensor_health{name=\"PSU1\"} 2\n") != NULL);
    ck_assert(strstr(t, "bmc_sensor_health{name=\"Fan1\"} 1\n") != NULL);
    ck_assert(strstr(t, "Odd") == NULL);
    free(t);
    json_object_put(data);
}
END_TEST

START_TEST(power_log_inventory_series)
{
    struct prom_buf b;
    json_object *p = json_tokener_parse("{\"power_state\": \"On\"}");
    json_object *l = json_tokener_parse("{\"entries\": [], \"total\": 12}");
    json_object *i = json_tokener_parse(
        "{\"manufacturer\": \"Dell Inc.\", \"model\": \"R650\", "
        "\"serial_number\": \"ABC\\n1\", \"bmc_firmware\": null, "
        "\"bios_version\": \"1.2\"}");

    prom_init(&b, 0);
    probe_write_item(&b, PROBE_POWER, p);
    probe_write_item(&b, PROBE_EVENT_LOG_COUNT, l);
    probe_write_item(&b, PROBE_INVENTORY_INFO, i);
    char *t = prom_take(&b);
    ck_assert(strstr(t, "\nbmc_power_on 1\n") != NULL);
    ck_assert(strstr(t, "\nbmc_event_log_entries 12\n") != NULL);
    ck_assert_msg(strstr(t, "\nbmc_info{manufacturer=\"Dell Inc.\","
                            "model=\"R650\",serial=\"ABC\\n1\","
                            "bios_version=\"1.2\"} 1\n") != NULL,
                  "%s", t);
    free(t);
    json_object_put(p);
    json_object_put(l);
    json_object_put(i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("probe");
    TCase *parse = unit_case(s, "parse", NULL, NULL, 0);
    TCase *cache = unit_case(s, "cache", cache_setup, cache_teardown, 60);

    log_set_level(BMC_LOG_ERROR);
    tcase_add_test(parse, targets);
    tcase_add_test(parse, query_strings);
    tcase_add_test(parse, cidr_lists);
    tcase_add_test(parse, modules_file);
    tcase_add_test(parse, modules_file_refused);
    tcase_add_test(parse, sensor_series);
    tcase_add_test(parse, power_log_inventory_series);
    tcase_add_test(cache, single_flight);
    tcase_add_test(cache, uncached_result_still_shared);
    tcase_add_test(cache, dead_collector_replaced);
    tcase_add_test(cache, expiry);
    return unit_run(s);
}
