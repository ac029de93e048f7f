/* secmem.h - keeping secrets out of memory dumps (DESIGN.md "Security",
 * "Memory"): the daemon is not dumpable and writes no core file, and
 * libcurl's heap (its copies of the Basic credentials, the Authorization
 * header it builds) is wiped before it is released.
 * Owns: nothing. */
#ifndef BMC_SECMEM_H
#define BMC_SECMEM_H

/* PR_SET_DUMPABLE 0 (no core file, no ptrace by other users, /proc/PID
 * files root-owned) and RLIMIT_CORE 0. Inherited by every child. Returns
 * 0, or -1 with errno. */
int secmem_harden(void);

/* curl_global_init with allocators that wipe each block before freeing
 * it (the first curl_global_init of the process decides them). */
int secmem_curl_init(void);

#endif
