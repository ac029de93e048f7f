/* taskid.c - see taskid.h. */
#include "autoconfig.h"
#include "taskid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char hexdig[] = "0123456789abcdef";

int taskid_random(uint8_t random[10])
{
    size_t got = 0;

    while (got < 10) {
        ssize_t n = getrandom(random + got, 10 - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

void taskid_compose(uint64_t unix_ms, int node_id, const uint8_t random[10],
                    uint8_t bin[16])
{
    for (int i = 0; i < 6; i++)
        bin[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
    bin[6] = (uint8_t)(0x70 | (random[0] & 0x0f));
    bin[7] = random[1];
    bin[8] = (uint8_t)(0x80 | (random[2] & 0x3f));
    bin[9] = (uint8_t)node_id;
    memcpy(bin + 10, random + 3, 6);
}

void taskid_format(const uint8_t bin[16], char out[TASK_ID_LEN + 1])
{
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hexdig[bin[i] >> 4];
        *p++ = hexdig[bin[i] & 15];
    }
    *p = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int taskid_decode(const char *id, uint8_t bin[16])
{
    const char *p = id;

    if (!id || strnlen(id, TASK_ID_LEN + 1) != TASK_ID_LEN)
        return -1;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (*p++ != '-')
                return -1;
        }
        int hi = hex_value(p[0]), lo = hex_value(p[1]);
        if (hi < 0 || lo < 0)
            return -1;
        bin[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    if ((bin[6] & 0xf0) != 0x70 || (bin[8] & 0xc0) != 0x80)
        return -1;
    return 0;
}

int taskid_parse(const char *id, double *unix_seconds_out, int *node_id_out)
{
    uint8_t bin[16];
    uint64_t ms = 0;

    if (taskid_decode(id, bin))
        return -1;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | bin[i];
    if (unix_seconds_out)
        *unix_seconds_out = (double)ms / 1000.0;
    if (node_id_out)
        *node_id_out = bin[9];
    return 0;
}

int taskid_new(int node_id, char out[TASK_ID_LEN + 1])
{
    uint8_t rnd[10], bin[16];
    struct timespec now;

    if (node_id < 0 || node_id > 255) {
        errno = EINVAL;
        return -1;
    }
    if (taskid_random(rnd))
        return -1;
    clock_gettime(CLOCK_REALTIME, &now);
    taskid_compose((uint64_t)now.tv_sec * 1000 +
                       (uint64_t)now.tv_nsec / 1000000,
                   node_id, rnd, bin);
    taskid_format(bin, out);
    return 0;
}
