/* test_subprocess - subprocess.c against real programs (/bin/sh, /bin/cat,
 * /bin/sleep): capture, caps, exit status, signals, deadline kills of the
 * whole group, environment, descriptors, no tty, threads. And proctable.c
 * against real children: alive, zombie, reaped, respawned, asked from a
 * forked reader. */
#include "autoconfig.h"

#include "clock.h"
#include "proctable.h"
#include "subprocess.h"

#include "unit.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *const no_env[] = {NULL};

static void run_sh(const char *script, char *const *envp, double timeout,
                   struct subproc_result *res)
{
    char *const argv[] = {"sh", "-c", (char *)script, NULL};
    struct subproc_spec spec = {
        .path = "/bin/sh",
        .argv = argv,
        .envp = envp ? envp : no_env,
        .deadline = timeout > 0 ? clock_now_mono() + timeout : 0,
    };
    ck_assert_int_eq(subproc_run(&spec, res), 0);
}

START_TEST(captures_stdout_and_stderr)
{
    struct subproc_result res;

    run_sh("echo out; echo err >&2; exit 3", NULL, 5, &res);
    ck_assert_int_eq(res.status, SUBPROC_EXITED);
    ck_assert_int_eq(res.exit_code, 3);
    ck_assert_str_eq(res.out, "out\n");
    ck_assert_str_eq(res.err, "err\n");
    ck_assert(!res.out_truncated && !res.err_truncated);
    ck_assert_int_gt(res.pid, 0);
    subproc_result_free(&res);
}
END_TEST

/* A secret handed over on stdin reaches the child, never its argv, and a
 * child that never reads it is no trouble. */
START_TEST(stdin_data_reaches_the_child)
{
    char *const argv[] = {"cat", NULL};
    struct subproc_spec spec = {.path = "/bin/cat",
                                .argv = argv,
                                .envp = no_env,
                                .deadline = clock_now_mono() + 5,
                                .stdin_data = "s3cret\ns3cret\n",
                                .stdin_len = 14};
    struct subproc_result res;

    ck_assert_int_eq(subproc_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_str_eq(res.out, "s3cret\ns3cret\n");
    subproc_result_free(&res);
    char *const argv2[] = {"true", NULL};
    spec.path = "/bin/true";
    spec.argv = argv2;
    ck_assert_int_eq(subproc_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    subproc_result_free(&res);
    spec.stdin_len = SUBPROC_STDIN_MAX + 1;
    ck_assert_int_eq(subproc_run(&spec, &res), -1);
    ck_assert_int_eq(res.status, SUBPROC_SPAWN_FAILED);
    ck_assert_int_eq(res.spawn_errno, E2BIG);
    subproc_result_free(&res);
}
END_TEST

START_TEST(caps_output_and_keeps_draining)
{
    struct subproc_result res;
    char *const argv[] = {"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x",
                          NULL};
    struct subproc_spec spec = {.path = "/bin/sh",
                                .argv = argv,
                                .envp = no_env,
                                .deadline = clock_now_mono() + 10,
                                .out_max = 100};

    ck_assert_int_eq(subproc_run(&spec, &res), 0);
    ck_assert_int_eq(res.status, SUBPROC_EXITED);
    ck_assert_int_eq(res.exit_code, 0); /* not killed by SIGPIPE: we drained */
    ck_assert_uint_eq(res.out_len, 100);
    ck_assert(res.out_truncated);
    ck_assert_uint_eq(strlen(res.out), 100);
    subproc_result_free(&res);
}
END_TEST

START_TEST(missing_program_is_enoent)
{
    struct subproc_result res;
    char *const argv[] = {"nope", NULL};
    struct subproc_spec spec = {
        .path = "/nonexistent/nope", .argv = argv, .envp = no_env};

    ck_assert_int_eq(subproc_run(&spec, &res), 0);
    int status = res.status, spawn_errno = res.spawn_errno,
        exit_code = res.exit_code;
    subproc_result_free(&res);
    /* glibc reports the failed exec; valgrind's fork emulation exits 127 */
    if (getenv("TEST_UNDER_VALGRIND") && status == SUBPROC_EXITED) {
        ck_assert_int_eq(exit_code, 127);
        return;
    }
    ck_assert_int_eq(status, SUBPROC_SPAWN_FAILED);
    ck_assert_int_eq(spawn_errno, ENOENT);
}
END_TEST

START_TEST(reports_signal)
{
    struct subproc_result res;

    run_sh("kill -ABRT $$", NULL, 5, &res);
    ck_assert_int_eq(res.status, SUBPROC_SIGNALED);
    ck_assert_int_eq(res.term_signal, SIGABRT);
    ck_assert_str_eq(subproc_signal_name(res.term_signal), "SIGABRT");
    subproc_result_free(&res);
}
END_TEST

START_TEST(deadline_kills_whole_group)
{
    struct subproc_result res;
    char pidfile[] = "/tmp/test_subprocess_XXXXXX";
    char script[256];
    int fd = mkstemp(pidfile);
    long grandchild = 0;
    FILE *f;

    ck_assert_int_ge(fd, 0);
    close(fd);
    /* a grandchild that ignores nothing, and a parent that ignores TERM */
    snprintf(
        script, sizeof(script),
        "sleep 30 & echo $! > %s; trap '' TERM; while :; do sleep 1; done",
        pidfile);
    double t0 = clock_now_mono();
    run_sh(script, NULL, 0.5, &res);
    double took = clock_now_mono() - t0;
    ck_assert_int_eq(res.status, SUBPROC_TIMED_OUT);
    ck_assert_int_eq(res.term_signal, SIGKILL); /* TERM was ignored */
    ck_assert_double_lt(took, 0.5 + SUBPROC_GRACE_DEFAULT + 0.3);
    f = fopen(pidfile, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &grandchild), 1);
    fclose(f);
    unlink(pidfile);
    usleep(100000);
    ck_assert_int_eq(kill((pid_t)grandchild, 0), -1); /* the group died too */
    subproc_result_free(&res);
}
END_TEST

START_TEST(sigterm_suffices_for_polite_child)
{
    struct subproc_result res;

    run_sh("exec sleep 30", NULL, 0.3, &res);
    ck_assert_int_eq(res.status, SUBPROC_TIMED_OUT);
    ck_assert_int_eq(res.term_signal, SIGTERM);
    subproc_result_free(&res);
}
END_TEST

START_TEST(environment_is_exactly_given)
{
    struct subproc_result res;
    char *const envp[] = {"ONLY=this", NULL};

    setenv("LEAK_CHECK", "parent", 1);
    run_sh("env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort",
           envp, 5, &res);
    ck_assert_str_eq(res.out, "ONLY=this\n");
    subproc_result_free(&res);
}
END_TEST

START_TEST(own_session_no_tty_stdin_null_fds_closed)
{
    struct subproc_result res;
    int leak =
        open("/dev/null", O_RDONLY); /* deliberately not close-on-exec */
    char script[512];

    ck_assert_int_ge(leak, 3);
    snprintf(script, sizeof(script),
             "ps -o sid= -o pgid= -o pid= -o tty= -p $$; "
             "readlink /proc/$$/fd/0; "
             "for n in 3 4 5 6 7 8 9 %d; do [ -e /proc/$$/fd/$n ] && echo "
             "LEAKED$n; done; "
             "cat; echo EOF; exec grep -E 'Sig(Ign|Blk)' /proc/self/status",
             leak);
    signal(SIGPIPE, SIG_IGN); /* the child must get SIGPIPE back anyway */
    run_sh(script, NULL, 5, &res);
    signal(SIGPIPE, SIG_DFL);
    close(leak);
    ck_assert_int_eq(res.exit_code, 0);
    int sid = 0, pgid = 0, pid = 0;
    char tty[16] = "";
    ck_assert_int_eq(sscanf(res.out, "%d %d %d %15s", &sid, &pgid, &pid, tty),
                     4);
    ck_assert_int_eq(sid, pid);
    ck_assert_int_eq(pgid, pid);
    ck_assert_str_eq(tty, "?");
    ck_assert_ptr_nonnull(strstr(res.out, "/dev/null\n"));
    ck_assert_ptr_null(strstr(res.out, "LEAKED"));
    /* bits 32 and 33 are glibc's internal real-time signals */
    ck_assert_ptr_nonnull(strstr(res.out, "SigIgn:\t0000000"));
    ck_assert(strstr(res.out, "SigIgn:\t0000000000000000") ||
              strstr(res.out, "SigIgn:\t0000000180000000"));
    ck_assert(strstr(res.out, "SigBlk:\t0000000000000000") ||
              strstr(res.out, "SigBlk:\t0000000180000000"));
    ck_assert_ptr_nonnull(strstr(res.out, "EOF\n"));
    subproc_result_free(&res);
}
END_TEST

/* on_start gets the pid while the child runs: read its command line (the
 * exec may still be under way when on_start runs, so look a few times). */
static void read_cmdline(pid_t pid, void *arg)
{
    char path[64], *buf = arg;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    for (int tries = 0; tries < 100 && !strstr(buf, "sleep 0.5"); tries++) {
        FILE *f = fopen(path, "r");
        size_t n = 0;
        if (f) {
            n = fread(buf, 1, 255, f);
            fclose(f);
        }
        buf[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        usleep(10000);
    }
}

START_TEST(on_start_sees_running_child)
{
    char cmdline[256] = "";
    char *const argv[] = {"sleep", "0.5", NULL};
    struct subproc_result res;
    struct subproc_spec spec = {.path = "/bin/sleep",
                                .argv = argv,
                                .envp = no_env,
                                .deadline = clock_now_mono() + 5,
                                .on_start = read_cmdline,
                                .on_start_arg = cmdline};

    ck_assert_int_eq(subproc_run(&spec, &res), 0);
    int status = res.status;
    subproc_result_free(&res);
    ck_assert_int_eq(status, SUBPROC_EXITED);
    ck_assert_str_eq(cmdline, "sleep 0.5 ");
}
END_TEST

static void *thread_run(void *arg)
{
    long i = (long)arg;
    char script[64];
    struct subproc_result res;
    char *const argv[] = {"sh", "-c", script, NULL};
    struct subproc_spec spec = {.path = "/bin/sh",
                                .argv = argv,
                                .envp = no_env,
                                .deadline = clock_now_mono() + 10};
    long ok = 1;

    for (int round = 0; round < 20; round++) {
        snprintf(script, sizeof(script), "echo %ld-%d; exit %ld", i, round,
                 i % 7);
        char want[32];
        snprintf(want, sizeof(want), "%ld-%d\n", i, round);
        if (subproc_run(&spec, &res) || res.status != SUBPROC_EXITED ||
            res.exit_code != i % 7 || strcmp(res.out, want) != 0)
            ok = 0;
        subproc_result_free(&res);
    }
    return (void *)ok;
}

START_TEST(many_threads_at_once)
{
    pthread_t t[8];
    void *ok;

    for (long i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, thread_run, (void *)i);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], &ok);
        ck_assert(ok == (void *)1);
    }
}
END_TEST

START_TEST(no_descriptor_leak_in_parent)
{
    struct subproc_result res;
    int before = 0, after = 0, fd;

    fd = dup(0);
    before = fd;
    close(fd);
    for (int i = 0; i < 50; i++) {
        run_sh("echo x", NULL, 5, &res);
        subproc_result_free(&res);
    }
    fd = dup(0);
    after = fd;
    close(fd);
    ck_assert_int_eq(before, after);
}
END_TEST

/* ---- proctable ---------------------------------------------------------- */

static pid_t fork_sleeper(void)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

/* Until PID is a zombie (killed, not reaped). */
static void await_zombie(pid_t pid)
{
    char state = 0;

    for (int i = 0; i < 500 && state != 'Z'; i++) {
        if (i)
            usleep(10000);
        ck_assert(proctable_stat(pid, &state) != 0);
    }
    ck_assert_int_eq(state, 'Z');
}

START_TEST(proctable_follows_exit_reap_and_respawn)
{
    struct proctable_report r;
    pid_t worker = fork_sleeper(), executor = fork_sleeper();

    struct stat in_before, in_after;

    ck_assert_int_eq(fstat(0, &in_before), 0);

    ck_assert_int_eq(proctable_init(2), 0);
    proctable_set(0, PROCTABLE_BMC_WORKER, worker);
    proctable_set(1, PROCTABLE_EXECUTOR, executor);
    proctable_check(&r);
    ck_assert(r.known && r.master_running && r.executor_alive);
    /* the first check closes none of the descriptors it did not open:
     * stdin is still the same file */
    ck_assert_int_eq(fstat(0, &in_after), 0);
    ck_assert(in_after.st_dev == in_before.st_dev &&
              in_after.st_ino == in_before.st_ino);
    ck_assert_int_eq(r.bmc_workers_alive, 1);

    kill(worker, SIGKILL); /* a zombie: dead, and the master will reap it */
    await_zombie(worker);
    proctable_check(&r);
    ck_assert_int_eq(r.bmc_workers_alive, 0);
    ck_assert_int_eq(r.bmc_workers_returning, 1);
    ck_assert(r.executor_alive);

    ck_assert_int_eq(waitpid(worker, NULL, 0), worker);
    proctable_set(0, PROCTABLE_BMC_WORKER, 0); /* reaped, within grace */
    proctable_check(&r);
    ck_assert_int_eq(r.bmc_workers_alive, 0);
    ck_assert_int_eq(r.bmc_workers_returning, 1);

    worker = fork_sleeper(); /* respawned: a new process in the slot */
    proctable_set(0, PROCTABLE_BMC_WORKER, worker);
    proctable_check(&r);
    ck_assert_int_eq(r.bmc_workers_alive, 1);
    ck_assert_int_eq(r.bmc_workers_returning, 0);

    kill(worker, SIGKILL);
    kill(executor, SIGKILL);
    waitpid(worker, NULL, 0);
    waitpid(executor, NULL, 0);
}
END_TEST

/* A reader forked after the parent has checked (a light worker the
 * master forks) sees the processes as they are, not what it inherited. */
START_TEST(proctable_reader_forked_after_a_check)
{
    struct proctable_report r;
    pid_t executor = fork_sleeper();
    int status;

    ck_assert_int_eq(proctable_init(1), 0);
    proctable_set(0, PROCTABLE_EXECUTOR, executor);
    proctable_check(&r);
    ck_assert(r.executor_alive);
    kill(executor, SIGKILL);
    await_zombie(executor);

    pid_t reader = fork();
    ck_assert_int_ge(reader, 0);
    if (reader == 0) {
        proctable_check(&r);
        _exit(r.known && !r.executor_alive && r.executor_returning ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(reader, &status, 0), reader);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    waitpid(executor, NULL, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("subprocess");
    TCase *tc = unit_case(s, "run", NULL, NULL, 30);

    tcase_add_test(tc, captures_stdout_and_stderr);
    tcase_add_test(tc, caps_output_and_keeps_draining);
    tcase_add_test(tc, missing_program_is_enoent);
    tcase_add_test(tc, reports_signal);
    tcase_add_test(tc, deadline_kills_whole_group);
    tcase_add_test(tc, sigterm_suffices_for_polite_child);
    tcase_add_test(tc, environment_is_exactly_given);
    tcase_add_test(tc, own_session_no_tty_stdin_null_fds_closed);
    tcase_add_test(tc, on_start_sees_running_child);
    tcase_add_test(tc, many_threads_at_once);
    tcase_add_test(tc, no_descriptor_leak_in_parent);
    tcase_add_test(tc, stdin_data_reaches_the_child);
    tc = unit_case(s, "proctable", NULL, NULL, 30);
    tcase_add_test(tc, proctable_follows_exit_reap_and_respawn);
    tcase_add_test(tc, proctable_reader_forked_after_a_check);
    return unit_run(s);
}
