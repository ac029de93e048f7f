/* log.c - key=value event lines on stderr (see log.h). */
#include "autoconfig.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum bmc_log_level min_level = BMC_LOG_INFO;
static __thread char thread_request_id[65];

void log_set_level(enum bmc_log_level level)
{
    min_level = level;
}

void log_set_request_id(const char *request_id)
{
    snprintf(thread_request_id, sizeof(thread_request_id), "%s",
             request_id ? request_id : "");
}

const char *log_quote(const char *s, char *buf, size_t buflen)
{
    size_t o = 0;

    if (buflen < 3) {
        if (buflen)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (; s && *s && o + 3 < buflen; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            buf[o++] = ' ';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void log_event(enum bmc_log_level level, const char *event, const char *fmt,
               ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n;
    va_list ap;

    if (level < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s pid=%d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 config_log_level_name(level), (int)getpid());
    if (thread_request_id[0] && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " req=%s",
                      thread_request_id);
    if (n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " event=%s", event);
    if (fmt && *fmt && n < (int)sizeof(line) - 1) {
        line[n++] = ' ';
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n >= (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write(2) per line keeps lines from several processes whole. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

/* BMC_LOG_FILE as the last log_reopen read it, for the signal-safe form. */
static char log_path[4096];

void log_reopen(void)
{
    const char *path = getenv("BMC_LOG_FILE");

    if (!path || !*path || strlen(path) >= sizeof(log_path))
        return;
    memcpy(log_path, path, strlen(path) + 1);
    log_reopen_signal_safe();
}

void log_reopen_signal_safe(void)
{
    int saved = errno;

    if (log_path[0]) {
        int fd =
            open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
    errno = saved;
}
