/* clock.h - time sources: monotonic for deadlines, real time for task
 * timestamps (Unix seconds, millisecond precision). */
#ifndef BMC_CLOCK_H
#define BMC_CLOCK_H

/* CLOCK_MONOTONIC in seconds. */
double clock_now_mono(void);

/* CLOCK_REALTIME in seconds. */
double clock_now_real(void);

/* Seconds left until DEADLINE (monotonic); never negative. */
double clock_remaining(double deadline);

/* Sleep SECONDS (restarting after signals), at most until DEADLINE when
 * DEADLINE > 0. */
void clock_sleep(double seconds, double deadline);

#endif
