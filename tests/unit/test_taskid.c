/* Unit tests for taskid: UUIDv7 layout, node byte, strict parsing. */
#include "autoconfig.h"
#include "unit.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskid.h"

START_TEST(new_is_canonical_v7)
{
    char id[TASK_ID_LEN + 1];
    double t;
    int node;
    struct timespec now;

    ck_assert_int_eq(taskid_new(0xab, id), 0);
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_int_eq(id[14], '7');             /* version */
    ck_assert(strchr("89ab", id[19]) != NULL); /* variant 10 */
    ck_assert(id[21] == 'a' && id[22] == 'b'); /* documented node byte */
    for (const char *p = id; *p; p++)
        ck_assert(strchr("0123456789abcdef-", *p) != NULL);
    ck_assert_int_eq(taskid_parse(id, &t, &node), 0);
    ck_assert_int_eq(node, 0xab);
    clock_gettime(CLOCK_REALTIME, &now);
    ck_assert(t <= (double)now.tv_sec + 1 && t > (double)now.tv_sec - 5);
}
END_TEST

START_TEST(ids_differ_and_order_by_time)
{
    char a[TASK_ID_LEN + 1], b[TASK_ID_LEN + 1];
    uint8_t rnd[10] = {0}, bin[16];

    ck_assert_int_eq(taskid_new(0, a), 0);
    ck_assert_int_eq(taskid_new(0, b), 0);
    ck_assert_str_ne(a, b);
    taskid_compose(1000, 7, rnd, bin);
    taskid_format(bin, a);
    taskid_compose(2000, 7, rnd, bin);
    taskid_format(bin, b);
    ck_assert_int_lt(strcmp(a, b), 0);
    ck_assert_str_eq(a, "00000000-03e8-7000-8007-000000000000");
}
END_TEST

START_TEST(parse_rejects_non_canonical)
{
    static const char *bad[] = {
        "",
        "550e8400-e29b-41d4-a716-446655440000",  /* v4 */
        "0190a6b2-7c4e-7d3a-c123-3f6a7b8c9d0e",  /* variant 110 */
        "0190A6B2-7C4E-7D3A-8123-3F6A7B8C9D0E",  /* upper case */
        "0190a6b2-7c4e-7d3a-8123-3f6a7b8c9d0",   /* short */
        "0190a6b2-7c4e-7d3a-8123-3f6a7b8c9d0e0", /* long */
        "0190a6b27c4e-7d3a-8123-3f6a7b8c9d0e0",  /* dash misplaced */
        "0190a6b2-7c4e-7d3a-8123-3f6a7b8c9d0g",  /* not hex */
        "../../etc/passwd",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(taskid_parse(bad[i], NULL, NULL) == -1, "accepted %s",
                      bad[i]);
    ck_assert_int_eq(taskid_parse(NULL, NULL, NULL), -1);
    double t;
    int node;
    ck_assert_int_eq(
        taskid_parse("0190a6b2-7c4e-7d3a-8123-3f6a7b8c9d0e", &t, &node), 0);
    ck_assert_int_eq(node, 0x23);
    ck_assert(t > 1.7e9 && t < 1.8e9);
}
END_TEST

START_TEST(node_out_of_range)
{
    char id[TASK_ID_LEN + 1];
    ck_assert_int_eq(taskid_new(256, id), -1);
    ck_assert_int_eq(taskid_new(-1, id), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("taskid");
    TCase *tc = unit_case(s, "ids", NULL, NULL, 0);

    tcase_add_test(tc, new_is_canonical_v7);
    tcase_add_test(tc, ids_differ_and_order_by_time);
    tcase_add_test(tc, parse_rejects_non_canonical);
    tcase_add_test(tc, node_out_of_range);
    return unit_run(s);
}
