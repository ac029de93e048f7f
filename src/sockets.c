/* sockets.c - listening sockets (see sockets.h). */
#include "autoconfig.h"
#include "sockets.h"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3
#define LISTEN_BACKLOG      1024

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    strcpy(sa->sun_path, path);
    return 0;
}

/* Whether a process accepts connections on PATH right now. */
static bool socket_is_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live =
        fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    if (fd >= 0)
        close(fd);
    return live;
}

static int bind_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    int fd = -1;

    if (fill_addr(&sa, path)) {
        snprintf(err, errlen, "socket path %s is too long", path);
        return -1;
    }
    if (socket_is_live(&sa)) {
        snprintf(err, errlen,
                 "%s is in use by a running daemon; stop it first", path);
        return -1;
    }
    unlink(path); /* a stale file from a daemon that died */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0117);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc || chmod(path, 0660) || listen(fd, LISTEN_BACKLOG)) {
        snprintf(err, errlen, "cannot listen on %s: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Descriptors passed by systemd, matched by FileDescriptorName. */
static int from_systemd(struct listen_sockets *ls, char *err, size_t errlen)
{
    const char *pid = getenv("LISTEN_PID");
    const char *fds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");

    if (!fds || !pid || atol(pid) != (long)getpid())
        return 0;
    int n = atoi(fds);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", names ? names : "");
    char *save = NULL, *name = strtok_r(buf, ":", &save);
    for (int i = 0; i < n; i++, name = strtok_r(NULL, ":", &save)) {
        int fd = SD_LISTEN_FDS_START + i;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (name && !strcmp(name, "light"))
            ls->light_fd = fd;
        else if (ls->bmc_fd < 0)
            ls->bmc_fd = fd;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (ls->bmc_fd < 0) {
        snprintf(err, errlen,
                 "systemd passed %d sockets but none named \"bmc\"", n);
        return -1;
    }
    if (ls->light_fd < 0) /* one socket: both pools share it */
        ls->light_fd = dup(ls->bmc_fd);
    return 1;
}

int sockets_open(struct listen_sockets *ls, char *err, size_t errlen)
{
    ls->bmc_fd = ls->light_fd = -1;
    ls->bound_here = false;
    int rc = from_systemd(ls, err, errlen);
    if (rc)
        return rc < 0 ? -1 : 0;
    ls->bmc_fd = bind_unix(bmc_cfg.socket_path, err, errlen);
    if (ls->bmc_fd < 0)
        return -1;
    ls->light_fd = bind_unix(bmc_cfg.light_socket_path, err, errlen);
    if (ls->light_fd < 0) {
        close(ls->bmc_fd);
        unlink(bmc_cfg.socket_path);
        ls->bmc_fd = -1;
        return -1;
    }
    ls->bound_here = true;
    return 0;
}

void sockets_close(struct listen_sockets *ls)
{
    if (ls->bmc_fd >= 0)
        close(ls->bmc_fd);
    if (ls->light_fd >= 0)
        close(ls->light_fd);
    if (ls->bound_here) {
        unlink(bmc_cfg.socket_path);
        unlink(bmc_cfg.light_socket_path);
    }
    ls->bmc_fd = ls->light_fd = -1;
}
