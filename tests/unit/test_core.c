#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include "jsonutil.h"
#include "config.h"

START_TEST(number_shortest)
{
    json_object *o = json_new_number(0.2);
    ck_assert_str_eq(json_object_to_json_string(o), "0.2");
    json_object_put(o);
    o = json_new_number(30.0);
    ck_assert_str_eq(json_object_to_json_string(o), "30");
    json_object_put(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, number_shortest);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
