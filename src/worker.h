/* worker.h - a prefork FastCGI worker: accepts one request at a time on
 * the pool's listening socket, reads it (bounded), dispatches it through
 * the router and writes the envelope. Exits after `max_requests` requests
 * (the master replaces it) or, after finishing its request, on SIGTERM.
 * Owns: its FastCGI request state and body buffer. */
#ifndef BMC_WORKER_H
#define BMC_WORKER_H

struct taskstore;

/* Serve LISTEN_FD with STORE until told to stop; returns the process exit
 * status. */
int worker_run(int listen_fd, const char *pool, long max_requests,
               struct taskstore *store);

#endif
