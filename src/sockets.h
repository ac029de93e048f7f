/* sockets.h - the FastCGI listening sockets: taken from systemd socket
 * activation (LISTEN_FDS/LISTEN_FDNAMES, names "bmc" and "light") or bound
 * here as unix sockets of mode 0660, refusing a path a live daemon owns.
 * Owns: the listening descriptors it returns (close-on-exec). */
#ifndef BMC_SOCKETS_H
#define BMC_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>

struct listen_sockets {
    int bmc_fd;
    int light_fd;
    bool bound_here; /* we created the paths and unlink them at exit */
};

/* Open both sockets; on failure a one-line reason in ERR and -1. */
int sockets_open(struct listen_sockets *ls, char *err, size_t errlen);

/* Close both and, when bound here, unlink their paths. */
void sockets_close(struct listen_sockets *ls);

#endif
