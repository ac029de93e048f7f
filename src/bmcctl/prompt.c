/* prompt.c - secrets from the environment or the terminal (prompt.h). */
#include "autoconfig.h"
#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int prompt_from_env(const char *name, char *buf, size_t len)
{
    char *v = getenv(name);
    size_t n;

    if (!v)
        return 0;
    n = strlen(v);
    if (n >= len) {
        explicit_bzero(v, n);
        return -1;
    }
    memcpy(buf, v, n + 1);
    explicit_bzero(v, n);
    return 1;
}

static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_echo_off;

static void restore_tty(void)
{
    if (tty_echo_off) {
        tcsetattr(tty_fd, TCSANOW, &tty_saved);
        tty_echo_off = 0;
    }
}

static void on_signal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int read_line(int fd, char *buf, size_t len)
{
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return n ? 0 : -1;
        if (c == '\n' || c == '\r')
            break;
        if (n + 1 >= len)
            return -2;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

int prompt_secret(const char *prompt, char *buf, size_t len, char *err,
                  size_t errlen)
{
    struct termios quiet;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    int rc;

    tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty_fd < 0 || tcgetattr(tty_fd, &tty_saved) < 0) {
        snprintf(err, errlen,
                 "no terminal to ask for the password on: set BMC_PASSWORD "
                 "(or use --credential)");
        if (tty_fd >= 0)
            close(tty_fd);
        tty_fd = -1;
        return -1;
    }
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    quiet = tty_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    /* echo off before the prompt shows: what is typed after it is kept */
    tty_echo_off = tcsetattr(tty_fd, TCSANOW, &quiet) == 0;
    (void)!write(tty_fd, prompt, strlen(prompt));
    rc = read_line(tty_fd, buf, len);
    restore_tty();
    (void)!write(tty_fd, "\n", 1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(tty_fd);
    tty_fd = -1;
    if (rc) {
        explicit_bzero(buf, len);
        snprintf(err, errlen,
                 rc == -2 ? "the password is too long" : "no password given");
        return -1;
    }
    return 0;
}
