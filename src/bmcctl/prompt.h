/* prompt.h - reading a secret: from an environment variable (whose value
 * is then wiped in place, so /proc/PID/environ stops showing it), or
 * from a no-echo prompt on the controlling terminal (/dev/tty), never
 * from the command line.
 * Owns: nothing; the caller owns and wipes the buffer. */
#ifndef BMCCTL_PROMPT_H
#define BMCCTL_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

/* Copy the value of environment variable NAME into BUF and wipe the
 * original. 1 when it was set (and fits), 0 when unset, -1 too long. */
int prompt_from_env(const char *name, char *buf, size_t len);

/* Write PROMPT to /dev/tty and read one line with echo off into BUF
 * (without its newline); the terminal is restored even on SIGINT or
 * SIGTERM. 0, or -1 with ERR (no terminal, end of input, too long). */
int prompt_secret(const char *prompt, char *buf, size_t len, char *err,
                  size_t errlen);

#endif
