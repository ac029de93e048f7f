/* delivery.c - callback delivery thread (see delivery.h). */
#include "autoconfig.h"
#include "delivery.h"

#include "api.h"
#include "clock.h"
#include "log.h"
#include "webhook.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_POLL_S 0.2 /* nothing due: look again after this */

static struct {
    pthread_t thread;
    bool started;
    volatile sig_atomic_t stop;
    struct taskstore *store;
} dv;

static void record(const struct task_callback_due *d, enum callback_state st,
                   double next_at, const char *err)
{
    int rc = TS_BUSY;

    for (int tries = 0; rc == TS_BUSY && tries < 5; tries++)
        rc = taskstore_callback_record(dv.store, d->id, st, next_at, err);
    if (rc != TS_OK)
        log_warn("callback_record_failed", "task=%s reason=\"%s\"", d->id,
                 taskstore_rc_message((enum ts_rc)rc));
}

/* The outcome of a failed attempt: pending again, or failed for good
 * when the next try would come after the budget. */
static void failed_attempt(const struct task_callback_due *d, double now,
                           const char *err)
{
    int attempts = d->attempts + 1;
    double next = now + webhook_next_delay(attempts);

    if (next > d->ended_at + webhook_budget()) {
        log_warn("callback_failed", "task=%s attempts=%d reason=\"%s\"", d->id,
                 attempts, err);
        record(d, CB_FAILED, 0, err);
        return;
    }
    log_info("callback_retry",
             "task=%s attempts=%d next_in=%.1f "
             "reason=\"%s\"",
             d->id, attempts, next - now, err);
    record(d, CB_PENDING, next, err);
}

static void deliver(const struct task_callback_due *d)
{
    char err[256] = "";
    long status = 0;
    char *doc = api_task_document(dv.store, d->id);
    int rc = doc ? webhook_deliver(d->url, doc, strlen(doc), d->id,
                                   d->delivery_id, &status, err, sizeof(err))
                 : -1;

    if (!doc)
        snprintf(err, sizeof(err), "the task store could not read the task");
    if (rc == 0) {
        log_info("callback_delivered", "task=%s attempts=%d status=%ld", d->id,
                 d->attempts + 1, status);
        record(d, CB_DELIVERED, 0, NULL);
    } else {
        failed_attempt(d, clock_now_real(), err);
    }
    free(doc);
}

static void *delivery_loop(void *arg)
{
    struct task_callback_due due;

    (void)arg;
    while (!dv.stop) {
        if (taskstore_callback_next(dv.store, clock_now_real(), &due) == TS_OK)
            deliver(&due);
        else
            clock_sleep(IDLE_POLL_S, clock_now_mono() + IDLE_POLL_S);
    }
    return NULL;
}

int delivery_start(struct taskstore *store)
{
    sigset_t block, old;

    if (!webhook_enabled())
        return 0;
    dv.store = store;
    dv.stop = 0;
    /* SIGHUP and SIGTERM are the executor's main loop's */
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&dv.thread, NULL, delivery_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    dv.started = rc == 0;
    if (rc)
        log_error("callback_thread_failed", "errno=%d", rc);
    return rc ? -1 : 0;
}

void delivery_stop(void)
{
    if (!dv.started)
        return;
    dv.stop = 1;
    pthread_join(dv.thread, NULL);
    dv.started = false;
}
