/* delivery.h - the executor's callback delivery: one thread that takes
 * the task store's due callbacks (taskstore_callback_next), POSTs each
 * task's GET /tasks/{id} document with webhook_deliver, and records the
 * attempt (delivered; pending again after webhook_next_delay; failed once
 * the next attempt would fall outside webhook_budget after the task's
 * end). The pending state lives in the store, so a delivery survives
 * executor and service restarts; a receiver sees a delivery id that never
 * changes, for de-duplication.
 * Owns: the delivery thread (delivery_start .. delivery_stop). */
#ifndef BMC_DELIVERY_H
#define BMC_DELIVERY_H

#include "taskstore.h"

/* Start the thread over STORE (nothing when callbacks are not configured):
 * 0, or -1 when the thread could not start. */
int delivery_start(struct taskstore *store);

/* Ask the thread to stop and wait for it (an attempt under way ends
 * first: at most BMC_WEBHOOK_TIMEOUT). */
void delivery_stop(void);

#endif
