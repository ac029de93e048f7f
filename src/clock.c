/* clock.c - see clock.h. */
#include "autoconfig.h"
#include "clock.h"

#include <errno.h>
#include <time.h>

static double clock_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_now_mono(void)
{
    return clock_read(CLOCK_MONOTONIC);
}

double clock_now_real(void)
{
    return clock_read(CLOCK_REALTIME);
}

double clock_remaining(double deadline)
{
    double left = deadline - clock_now_mono();
    return left > 0 ? left : 0;
}

void clock_sleep(double seconds, double deadline)
{
    if (deadline > 0 && seconds > clock_remaining(deadline))
        seconds = clock_remaining(deadline);
    if (seconds <= 0)
        return;
    double until = clock_now_mono() + seconds;
    struct timespec ts;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
