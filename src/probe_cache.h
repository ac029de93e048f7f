/* probe_cache.h - the probe's results, cached per (module, target) in
 * memory shared by every worker (an anonymous MAP_SHARED mapping the
 * master makes before forking, like the gate's), with single flight: while
 * one scrape collects a (module, target), every other scrape of it waits
 * for that collection instead of starting its own, so N scrapers cost one
 * BMC collection per cache period.
 *
 * An entry is EMPTY, COLLECTING (by one caller, until its claim's end:
 * a collector that died or overran is replaced after it) or READY (the
 * exposition text, fresh until `expires`). Waiters sleep on the entry's
 * futex word (bumped on every change), in slices, until their deadline.
 * The mutex (robust, process-shared) is held only to read or change an
 * entry, never during a collection. Full table: the least fresh entry
 * that is not being collected is reused; none: collect uncached.
 *
 * Without probe_cache_init every lookup says "collect" and nothing is kept.
 * Owns: the mapping; texts handed out are the caller's to free(). */
#ifndef BMC_PROBE_CACHE_H
#define BMC_PROBE_CACHE_H

#include <stddef.h>

#define PROBE_CACHE_ENTRIES  256
#define PROBE_CACHE_TEXT_MAX (256 * 1024) /* bytes of one cached answer */
#define PROBE_CACHE_KEY_MAX  160

enum probe_cache_rc {
    PROBE_CACHE_HIT,     /* *TEXT is a fresh answer */
    PROBE_CACHE_SHARED,  /* *TEXT came from a collection we waited for */
    PROBE_CACHE_COLLECT, /* the caller collects, then probe_cache_put */
    PROBE_CACHE_TIMEOUT, /* another collection still runs at DEADLINE */
};

/* Master, before any fork. 0, or -1 with ERR filled. */
int probe_cache_init(char *err, size_t errlen);

/* Unmap (tests). */
void probe_cache_shutdown(void);

/* Look KEY up. HIT/SHARED: *TEXT (malloc'd) and *AGE (seconds since it
 * was collected). COLLECT: the caller now holds KEY's claim for CLAIM
 * seconds and must call probe_cache_put (or probe_cache_drop). Waits for
 * another caller's collection until DEADLINE (CLOCK_MONOTONIC seconds). */
enum probe_cache_rc probe_cache_get(const char *key, double claim,
                                    double deadline, char **text, double *age);

/* Store TEXT (LEN bytes) for KEY, fresh for TTL seconds (0: not kept, but
 * handed to the waiters), end the claim and wake the waiters. */
void probe_cache_put(const char *key, const char *text, size_t len,
                     double ttl);

/* Collections started and entries served, since start (tests, metrics). */
unsigned long probe_cache_collections(void);

#endif
