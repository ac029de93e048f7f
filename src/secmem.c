/* secmem.c - not dumpable, and libcurl's heap wiped (see secmem.h). */
#include "autoconfig.h"
#include "secmem.h"

#include <curl/curl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int secmem_harden(void)
{
    struct rlimit none = {0, 0};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -1;
    return setrlimit(RLIMIT_CORE, &none);
}

static void wipe_free(void *p)
{
    if (!p)
        return;
    explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

static void *wipe_malloc(size_t n)
{
    return malloc(n);
}

static void *wipe_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

/* Never realloc in place of a move: the old block is wiped first. */
static void *wipe_realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    size_t old = malloc_usable_size(p);
    void *q = malloc(n ? n : 1);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    wipe_free(p);
    return q;
}

static char *wipe_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

int secmem_curl_init(void)
{
    return curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free,
                                wipe_realloc, wipe_strdup,
                                wipe_calloc) == CURLE_OK
               ? 0
               : -1;
}
