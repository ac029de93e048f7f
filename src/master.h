/* master.h - the master process: forks the BMC pool, the light pool (and
 * the executor), replaces children that die, recycles workers, drains on
 * SIGTERM/SIGINT and forwards SIGHUP. It serves no request itself.
 * Owns: the listening sockets and the child table. */
#ifndef BMC_MASTER_H
#define BMC_MASTER_H

struct listen_sockets;
struct taskstore;

/* Run until stopped; returns the process exit status. EXECUTOR_FD is the
 * executor's listening socket (executor_listen). */
int master_run(struct listen_sockets *ls, struct taskstore *store,
               int executor_fd);

#endif
