/* unit.h - what every Check program shares: one TCase per area of the
 * module under test, named so that `CK_RUN_CASE=<area>` runs only that
 * area (tests/README.md), and the runner that turns failures into the
 * exit status automake's test driver reads.
 * Owns: nothing; the suite and its cases belong to the runner. */
#ifndef BMC_TEST_UNIT_H
#define BMC_TEST_UNIT_H

#include <check.h>
#include <stdlib.h>

/* A new case AREA in S with the optional fixture SETUP/TEARDOWN (run in
 * the forked test process) and TIMEOUT seconds (0: Check's default). */
static inline TCase *unit_case(Suite *s, const char *area,
                               void (*setup)(void), void (*teardown)(void),
                               int timeout)
{
    TCase *tc = tcase_create(area);

    if (setup || teardown)
        tcase_add_checked_fixture(tc, setup, teardown);
    if (timeout > 0)
        tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

/* Run S (CK_RUN_SUITE / CK_RUN_CASE select) and free it. */
static inline int unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);

    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
