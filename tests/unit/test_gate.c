/* Unit tests for the per-BMC gate with real processes: N forked callers
 * contend for one BMC and a shared counter measures what is in flight;
 * exclusive exchanges alone; first come first served; deadline -> 3002;
 * dead holders and dead waiters reclaimed; different BMCs independent;
 * a full table; a process that dies holding the gate's lock. */
#include "autoconfig.h"
#include "unit.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "errors.h"
#include "gate.h"
#include "log.h"

#define BMC       "10.0.0.1"
#define ORDER_MAX 64

/* What the forked callers measure, in memory shared with the test. */
struct shared {
    int inflight, max_inflight;
    int exclusive_inflight;
    int violations;
    int done;
    int norder;
    int order[ORDER_MAX];
};

static struct shared *sh;

static void setup(void)
{
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
}

static void teardown(void)
{
    gate_shutdown();
    munmap(sh, sizeof(*sh));
}

static void init_gate(size_t entries, int max)
{
    char err[200];
    ck_assert_msg(gate_init(entries, max, err, sizeof(err)) == 0, "%s", err);
}

static void ms_sleep(int ms)
{
    clock_sleep(ms / 1000.0, 0);
}

/* One exchange as a forked caller sees it: count in, check, count out. */
static void exchange(bool exclusive, int ms)
{
    int now = __atomic_add_fetch(&sh->inflight, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&sh->max_inflight, __ATOMIC_SEQ_CST);
    while (now > max &&
           !__atomic_compare_exchange_n(&sh->max_inflight, &max, now, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    if (exclusive)
        __atomic_add_fetch(&sh->exclusive_inflight, 1, __ATOMIC_SEQ_CST);
    if ((exclusive && now != 1) ||
        (!exclusive &&
         __atomic_load_n(&sh->exclusive_inflight, __ATOMIC_SEQ_CST)))
        __atomic_add_fetch(&sh->violations, 1, __ATOMIC_SEQ_CST);
    ms_sleep(ms);
    if (exclusive)
        __atomic_sub_fetch(&sh->exclusive_inflight, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&sh->inflight, 1, __ATOMIC_SEQ_CST);
}

/* Fork a caller doing ROUNDS exchanges on BMC; exclusive every EXCL_EVERY
 * (0 = never). */
static pid_t spawn_caller(int rounds, int excl_every, int ms)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid)
        return pid;
    for (int i = 0; i < rounds; i++) {
        struct gate_ticket t;
        char details[256];
        bool excl = excl_every && (i + getpid()) % excl_every == 0;
        if (gate_enter(BMC, 443, BMC_PROTO_REDFISH, excl,
                       clock_now_mono() + 30, &t, details,
                       sizeof(details)) != 0)
            _exit(3);
        exchange(excl, ms);
        gate_leave(&t);
    }
    __atomic_add_fetch(&sh->done, 1, __ATOMIC_SEQ_CST);
    _exit(0);
}

static void reap_all(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st;
        ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "caller %d failed", i);
    }
}

static void wait_waiting(long n)
{
    struct gate_stats st;
    double end = clock_now_mono() + 5;
    do {
        gate_stats(&st);
        if (st.waiting == n)
            return;
        ms_sleep(2);
    } while (clock_now_mono() < end);
    ck_abort_msg("never %ld waiting (have %ld)", n, st.waiting);
}

START_TEST(limit_across_processes)
{
    pid_t pids[10];
    struct gate_stats st;

    init_gate(0, 2);
    for (int i = 0; i < 10; i++)
        pids[i] = spawn_caller(8, 0, 5);
    reap_all(pids, 10);
    ck_assert_int_eq(sh->done, 10);
    ck_assert_int_eq(sh->max_inflight, 2); /* reached, never exceeded */
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 0);
    ck_assert_int_eq(st.waiting, 0);
    ck_assert_int_eq(st.bmcs_busy, 0);
    ck_assert_int_gt(st.waits_total, 0);
}
END_TEST

START_TEST(limit_of_four)
{
    pid_t pids[12];

    init_gate(0, 4);
    for (int i = 0; i < 12; i++)
        pids[i] = spawn_caller(6, 0, 5);
    reap_all(pids, 12);
    ck_assert_int_eq(sh->max_inflight, 4);
}
END_TEST

START_TEST(exclusive_is_alone)
{
    pid_t pids[8];

    init_gate(0, 3);
    for (int i = 0; i < 8; i++)
        pids[i] = spawn_caller(10, 3, 3);
    reap_all(pids, 8);
    ck_assert_int_eq(sh->violations, 0);
    ck_assert_int_le(sh->max_inflight, 3);
    ck_assert_int_gt(sh->max_inflight, 1);
}
END_TEST

/* The parent holds the only slot; callers queue one after another; each
 * records its turn. */
START_TEST(first_come_first_served)
{
    struct gate_ticket hold;
    char details[256];
    pid_t pids[6];

    init_gate(0, 1);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, 0, &hold,
                                details, sizeof(details)),
                     0);
    for (int i = 0; i < 6; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (!pids[i]) {
            struct gate_ticket t;
            bool excl = i == 2; /* an exclusive one keeps its place too */
            if (gate_enter(BMC, 443, BMC_PROTO_REDFISH, excl,
                           clock_now_mono() + 30, &t, details,
                           sizeof(details)))
                _exit(3);
            sh->order[sh->norder++] = i; /* alone: max_per_bmc is 1 */
            ms_sleep(5);
            gate_leave(&t);
            _exit(0);
        }
        wait_waiting(i + 1);
    }
    gate_leave(&hold);
    reap_all(pids, 6);
    ck_assert_int_eq(sh->norder, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(sh->order[i], i);
}
END_TEST

START_TEST(deadline_while_waiting)
{
    struct gate_ticket hold, t;
    struct gate_stats st;
    char details[256];

    init_gate(0, 1);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, 0, &hold,
                                details, sizeof(details)),
                     0);
    double start = clock_now_mono();
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false,
                                start + 0.4, &t, details, sizeof(details)),
                     BMC_ERR_TIMEOUT);
    double took = clock_now_mono() - start;
    ck_assert_msg(took >= 0.39 && took < 1.0, "took %.3f s", took);
    ck_assert_int_eq(t.entry, -1);
    ck_assert_msg(strstr(details,
                         "waited 0.4 s for a slot on 10.0.0.1:443 (redfish): "
                         "1 in flight"),
                  "%s", details);
    gate_stats(&st);
    ck_assert_int_eq(st.waiting, 0);
    ck_assert_int_eq(st.slots_in_use, 1);
    ck_assert_int_eq(st.timeouts_total, 1);
    /* an exclusive caller times out behind a shared holder too */
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, true,
                                clock_now_mono() + 0.1, &t, details,
                                sizeof(details)),
                     BMC_ERR_TIMEOUT);
    gate_leave(&hold);
    /* and a passed deadline still gets a free slot at once */
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, true,
                                clock_now_mono() - 1, &t, details,
                                sizeof(details)),
                     0);
    gate_leave(&t);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 0);
}
END_TEST

/* A child takes the slot and is SIGKILLed (left a zombie: not reaped);
 * a waiter gets the slot within about GATE_SWEEP_S. */
START_TEST(dead_holder_reclaimed)
{
    struct gate_ticket t;
    struct gate_stats st;
    char details[256];
    int fds[2];
    char c;

    init_gate(0, 1);
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (!pid) {
        if (gate_enter(BMC, 443, BMC_PROTO_REDFISH, true, 0, &t, details,
                       sizeof(details)))
            _exit(3);
        (void)!write(fds[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    kill(pid, SIGKILL);
    double start = clock_now_mono();
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, start + 5,
                                &t, details, sizeof(details)),
                     0);
    double took = clock_now_mono() - start;
    ck_assert_msg(took < 1.5, "reclaimed after %.2f s", took);
    gate_stats(&st);
    ck_assert_int_eq(st.reclaimed_total, 1);
    ck_assert_int_eq(st.slots_in_use, 1);
    gate_leave(&t);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* A killed waiter at the head of the queue must not block the next one. */
START_TEST(dead_waiter_reclaimed)
{
    struct gate_ticket hold;
    char details[256];

    init_gate(0, 1);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, 0, &hold,
                                details, sizeof(details)),
                     0);
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (!dead) {
        struct gate_ticket t;
        gate_enter(BMC, 443, BMC_PROTO_REDFISH, true, 0, &t, details,
                   sizeof(details));
        _exit(0);
    }
    wait_waiting(1);
    pid_t next = spawn_caller(1, 0, 1);
    wait_waiting(2);
    kill(dead, SIGKILL);
    waitpid(dead, NULL, 0);
    gate_leave(&hold);
    double start = clock_now_mono();
    reap_all(&next, 1);
    ck_assert_msg(clock_now_mono() - start < 1.5, "next waited %.2f s",
                  clock_now_mono() - start);
}
END_TEST

START_TEST(master_reaps_dead)
{
    struct gate_stats st;
    char details[256];
    int fds[2];
    char c;

    init_gate(0, 2);
    ck_assert_int_eq(gate_reap_dead(), 0);
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (!pid) {
        struct gate_ticket a, b;
        gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, 0, &a, details,
                   sizeof(details));
        gate_enter("10.0.0.2", 623, BMC_PROTO_IPMI, false, 0, &b, details,
                   sizeof(details));
        (void)!write(fds[1], "x", 1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 2);
    ck_assert_int_eq(st.bmcs_busy, 2);
    ck_assert_int_eq(gate_reap_dead(), 0); /* alive: nothing taken away */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(gate_reap_dead(), 2);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 0);
    ck_assert_int_eq(st.bmcs_busy, 0);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* A saturated BMC (even by a power action) makes no other BMC wait:
 * another address, another port, the other protocol. */
START_TEST(bmcs_independent)
{
    struct gate_ticket hold, t;
    char details[256];

    init_gate(0, 1);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, true, 0, &hold,
                                details, sizeof(details)),
                     0);
    double start = clock_now_mono();
    ck_assert_int_eq(gate_enter("10.0.0.2", 443, BMC_PROTO_REDFISH, true,
                                start + 0.2, &t, details, sizeof(details)),
                     0);
    gate_leave(&t);
    ck_assert_int_eq(gate_enter(BMC, 8443, BMC_PROTO_REDFISH, false,
                                start + 0.2, &t, details, sizeof(details)),
                     0);
    gate_leave(&t);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_IPMI, false, start + 0.2,
                                &t, details, sizeof(details)),
                     0);
    gate_leave(&t);
    ck_assert_msg(clock_now_mono() - start < 0.05, "other BMCs waited");
    /* the same BMC spelled differently is the same BMC */
    ck_assert_int_eq(gate_enter("::1", 443, BMC_PROTO_REDFISH, true, 0, &t,
                                details, sizeof(details)),
                     0);
    struct gate_ticket u;
    ck_assert_int_eq(gate_enter("0:0::1", 443, BMC_PROTO_REDFISH, false,
                                clock_now_mono() + 0.1, &u, details,
                                sizeof(details)),
                     BMC_ERR_TIMEOUT);
    ck_assert_msg(strstr(details, "[::1]:443"), "%s", details);
    gate_leave(&t);
    gate_leave(&hold);
}
END_TEST

/* Many processes on many BMCs at once: each BMC holds its own limit. */
START_TEST(many_bmcs_in_parallel)
{
    pid_t pids[8];

    init_gate(0, 1);
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (!pids[i]) {
            char ip[32], details[256];
            struct gate_ticket t;
            snprintf(ip, sizeof(ip), "127.0.1.%d", i + 1);
            if (gate_enter(ip, 443, BMC_PROTO_REDFISH, false,
                           clock_now_mono() + 0.5, &t, details,
                           sizeof(details)))
                _exit(3);
            exchange(false, 200);
            gate_leave(&t);
            _exit(0);
        }
    }
    reap_all(pids, 8);
    ck_assert_int_eq(sh->max_inflight, 8); /* all at once, nobody waited */
}
END_TEST

START_TEST(full_table_reuses_idle_entries)
{
    struct gate_ticket t[4], u;
    struct gate_stats st;
    char ip[32], details[256];

    init_gate(4, 1);
    for (int i = 0; i < 4; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", i);
        ck_assert_int_eq(gate_enter(ip, 443, BMC_PROTO_REDFISH, false, 0,
                                    &t[i], details, sizeof(details)),
                         0);
    }
    /* every entry busy: let through ungated rather than fail the call */
    ck_assert_int_eq(gate_enter("10.0.2.1", 443, BMC_PROTO_REDFISH, false, 0,
                                &u, details, sizeof(details)),
                     0);
    ck_assert_int_eq(u.entry, -1);
    gate_leave(&u);
    gate_stats(&st);
    ck_assert_int_eq(st.bypassed_total, 1);
    gate_leave(&t[1]);
    ck_assert_int_eq(gate_enter("10.0.2.1", 443, BMC_PROTO_REDFISH, false, 0,
                                &u, details, sizeof(details)),
                     0);
    ck_assert_int_ne(u.entry, -1);
    /* 10.0.2.1 now has an entry of its own, and its limit */
    ck_assert_int_eq(gate_enter("10.0.2.1", 443, BMC_PROTO_REDFISH, false,
                                clock_now_mono() + 0.05, &t[1], details,
                                sizeof(details)),
                     BMC_ERR_TIMEOUT);
    gate_leave(&u);
    for (int i = 0; i < 4; i++)
        gate_leave(&t[i]);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 0);
    ck_assert_int_eq(st.bypassed_total, 1);
}
END_TEST

/* A process dies holding the gate's lock: the next locker repairs the
 * table (EOWNERDEAD) and every count is still right. */
START_TEST(lock_holder_dies)
{
    struct gate_ticket hold, t;
    struct gate_stats st;
    char details[256];

    init_gate(0, 2);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false, 0, &hold,
                                details, sizeof(details)),
                     0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (!pid) {
        gate_test_lock();
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false,
                                clock_now_mono() + 1, &t, details,
                                sizeof(details)),
                     0);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 2);
    ck_assert_int_eq(st.bmcs_busy, 1);
    struct gate_ticket third;
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_REDFISH, false,
                                clock_now_mono() + 0.1, &third, details,
                                sizeof(details)),
                     BMC_ERR_TIMEOUT);
    gate_leave(&hold);
    gate_stats(&st);
    ck_assert_int_eq(st.slots_in_use, 1);
}
END_TEST

START_TEST(open_without_init)
{
    struct gate_ticket t;
    struct gate_stats st;
    char details[16];

    gate_shutdown();
    ck_assert_int_eq(gate_enter(BMC, 443, BMC_PROTO_IPMI, true, 0, &t, details,
                                sizeof(details)),
                     0);
    ck_assert_int_eq(t.entry, -1);
    gate_leave(&t);
    gate_stats(&st);
    ck_assert_int_eq(st.max_per_bmc, 0);
    ck_assert_int_eq(gate_reap_dead(), 0);
    char err[100];
    ck_assert_int_eq(gate_init(0, 17, err, sizeof(err)), -1);
    ck_assert_int_eq(gate_init(0, 0, err, sizeof(err)), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gate");
    TCase *tc;

    log_set_level(BMC_LOG_WARNING); /* every wait is an INFO line */
    tc = unit_case(s, "limits", setup, teardown, 60);
    tcase_add_test(tc, limit_across_processes);
    tcase_add_test(tc, limit_of_four);
    tcase_add_test(tc, exclusive_is_alone);
    tcase_add_test(tc, bmcs_independent);
    tcase_add_test(tc, many_bmcs_in_parallel);
    tcase_add_test(tc, full_table_reuses_idle_entries);
    tcase_add_test(tc, open_without_init);
    tc = unit_case(s, "order", setup, teardown, 60);
    tcase_add_test(tc, first_come_first_served);
    tcase_add_test(tc, deadline_while_waiting);
    tc = unit_case(s, "dead", setup, teardown, 60);
    tcase_add_test(tc, dead_holder_reclaimed);
    tcase_add_test(tc, dead_waiter_reclaimed);
    tcase_add_test(tc, master_reaps_dead);
    tcase_add_test(tc, lock_holder_dies);
    return unit_run(s);
}
