/* curl_floor - the "bare libcurl" CPU floor of one Redfish power-on
 * (issue 24): what libcurl + OpenSSL alone spend per BMC for the requests
 * the executor sends, with none of the service around them. Run by
 * tests/bench/fleet (--reference curl) against its simulated BMCs.
 *
 *   usage: curl_floor < SETTINGS
 *   SETTINGS, one JSON object on stdin (the password never in argv):
 *     {"addrs": ["127.0.1.1", ...], "port": 8443, "username": "admin",
 *      "password": "...", "concurrency": 64}
 *   (other keys are ignored: tests/bench/fleet sends its reference's).
 *
 * For each BMC, on ONE fresh curl easy handle (so one TLS handshake and one
 * keep-alive connection per BMC; no TLS verification, no CA store, like
 * the service's default; basic auth on each request):
 *   GET /redfish/v1 -> Systems.@odata.id -> GET it -> Members[0].@odata.id
 *   -> GET it -> Actions.#ComputerSystem.Reset.target
 *   -> POST {"ResetType":"On"} to it.
 * Any curl error, HTTP status >= 400 or missing link fails that BMC.
 * "concurrency" threads (at most one per BMC) each take the next BMC from
 * a shared counter until none is left.
 *
 * Prints one JSON line: {"bmcs", "ok", "failed", "wall_s" (from starting
 * the threads until the last one ended), "cpu_s" (utime+stime of the
 * whole process, getrusage(RUSAGE_SELF)), "setup_cpu_s" (the part of it
 * spent before the first connection: loading, settings,
 * curl_global_init), "requests" (curl_easy_perform calls), and
 * "first_error" when one failed}. Exit 0
 * when it ran (failures included), 2 on bad settings. It owns only its
 * threads and the connections they open, and writes no file. */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#define BODY_MAX     (1u << 20) /* a larger answer fails the BMC */
#define TIMEOUT_MS   30000L     /* per request */
#define RESET_BODY   "{\"ResetType\":\"On\"}"
#define MAX_THREADS  4096
#define THREAD_STACK (256u << 10)

struct settings {
    json_object *root; /* owns the strings below */
    json_object *addrs;
    size_t n;
    int port;
    const char *username, *password;
    int threads;
};

struct run {
    const struct settings *s;
    struct curl_slist *get_headers, *post_headers;
    atomic_size_t next;
    atomic_long ok, failed, requests;
    pthread_mutex_t lock; /* first_error */
    char first_error[256];
};

struct body {
    char *data;
    size_t len;
};

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    char *p;

    if (b->len + n > BODY_MAX || !(p = realloc(b->data, b->len + n + 1)))
        return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
    memcpy(p + b->len, data, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* The options every request of one BMC shares; NULL when curl refused. */
static CURL *bmc_handle(const struct settings *s)
{
    CURL *c = curl_easy_init();
    CURLcode rc = c ? CURLE_OK : CURLE_OUT_OF_MEMORY;

#define SET(opt, val)                                                         \
    if (rc == CURLE_OK)                                                       \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_CONNECTTIMEOUT_MS, TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERNAME, s->username);
    SET(CURLOPT_PASSWORD, s->password);
    SET(CURLOPT_SSL_VERIFYPEER, 0L);
    SET(CURLOPT_SSL_VERIFYHOST, 0L);
    SET(CURLOPT_CAINFO, (char *)NULL);
    SET(CURLOPT_CAPATH, (char *)NULL);
    SET(CURLOPT_WRITEFUNCTION, on_body);
#undef SET
    if (rc != CURLE_OK && c) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

/* One request on C: ADDR's PATH, a GET or (POST non-NULL) a JSON POST.
 * -> its parsed JSON answer in *OUT (NULL for an empty one), or -1 with
 * ERR set. */
static int bmc_request(struct run *r, CURL *c, const char *addr,
                       const char *path, const char *post, json_object **out,
                       char *err, size_t errlen)
{
    struct body b = {NULL, 0};
    char url[1200];
    long status = 0;
    CURLcode rc;

    *out = NULL;
    snprintf(url, sizeof(url), "https://%s:%d%s", addr, r->s->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER,
                     post ? r->post_headers : r->get_headers);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    rc = curl_easy_perform(c);
    atomic_fetch_add(&r->requests, 1);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s %s: %s", post ? "POST" : "GET", path,
                 curl_easy_strerror(rc));
    else if (status >= 400)
        snprintf(err, errlen, "%s %s: HTTP %ld", post ? "POST" : "GET", path,
                 status);
    else if (b.len)
        *out = json_tokener_parse(b.data);
    free(b.data);
    return rc != CURLE_OK || status >= 400 ? -1 : 0;
}

/* The string at O.K1.K2 (K2 may be NULL), or NULL. */
static const char *json_link(json_object *o, const char *k1, const char *k2)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && !json_object_object_get_ex(v, k2, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

static const char *first_member(json_object *o)
{
    json_object *m;

    if (!json_object_object_get_ex(o, "Members", &m) ||
        !json_object_is_type(m, json_type_array) ||
        json_object_array_length(m) == 0)
        return NULL;
    return json_link(json_object_array_get_idx(m, 0), "@odata.id", NULL);
}

/* Where step I of the walk leads, read from the answer to step I - 1. */
static const char *next_path(int i, json_object *prev)
{
    json_object *actions;

    switch (i) {
    case 0: return "/redfish/v1";
    case 1: return json_link(prev, "Systems", "@odata.id");
    case 2: return first_member(prev);
    default:
        if (!json_object_object_get_ex(prev, "Actions", &actions))
            return NULL;
        return json_link(actions, "#ComputerSystem.Reset", "target");
    }
}

/* The four requests of one power-on against ADDR on C. -> 0 or -1. */
static int bmc_walk(struct run *r, CURL *c, const char *addr, char *err,
                    size_t errlen)
{
    static const char *const wanted[] = {
        "/redfish/v1", "Systems.@odata.id", "Members[0].@odata.id",
        "Actions.#ComputerSystem.Reset.target"};
    json_object *prev = NULL, *cur = NULL;
    int rc = 0;

    /* PATH points into PREV: PREV is dropped only after its request. */
    for (int i = 0; i < 4 && rc == 0; i++) {
        const char *path = next_path(i, prev);

        if (!path) {
            snprintf(err, errlen, "no %s in the answer", wanted[i]);
            rc = -1;
            break;
        }
        rc = bmc_request(r, c, addr, path, i == 3 ? RESET_BODY : NULL, &cur,
                         err, errlen);
        json_object_put(prev);
        prev = cur;
    }
    json_object_put(prev);
    return rc;
}

static void note_failure(struct run *r, const char *addr, const char *err)
{
    atomic_fetch_add(&r->failed, 1);
    pthread_mutex_lock(&r->lock);
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof(r->first_error), "%s: %s", addr, err);
    pthread_mutex_unlock(&r->lock);
}

static void one_bmc(struct run *r, const char *addr)
{
    char err[400] = "";
    CURL *c = bmc_handle(r->s);

    if (!c) {
        note_failure(r, addr, "curl_easy_init or an option failed");
        return;
    }
    if (bmc_walk(r, c, addr, err, sizeof(err)) == 0)
        atomic_fetch_add(&r->ok, 1);
    else
        note_failure(r, addr, err);
    curl_easy_cleanup(c);
}

static void *worker(void *arg)
{
    struct run *r = arg;
    size_t i;

    while ((i = atomic_fetch_add(&r->next, 1)) < r->s->n)
        one_bmc(r, json_object_get_string(
                       json_object_array_get_idx(r->s->addrs, i)));
    return NULL;
}

/* All of F (up to a NUL, which JSON never holds) as one JSON value. */
static json_object *read_json(FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    json_object *o;

    if (getdelim(&buf, &cap, '\0', f) < 0) {
        free(buf);
        return NULL;
    }
    o = json_tokener_parse(buf);
    free(buf);
    return o;
}

static int read_settings(FILE *f, struct settings *s)
{
    json_object *v;

    memset(s, 0, sizeof(*s));
    if (!(s->root = read_json(f)) ||
        !json_object_object_get_ex(s->root, "addrs", &s->addrs) ||
        !json_object_is_type(s->addrs, json_type_array))
        return -1;
    s->n = json_object_array_length(s->addrs);
    for (size_t i = 0; i < s->n; i++)
        if (!json_object_is_type(json_object_array_get_idx(s->addrs, i),
                                 json_type_string))
            return -1;
    s->username = json_link(s->root, "username", NULL);
    s->password = json_link(s->root, "password", NULL);
    if (!s->username || !s->password ||
        !json_object_object_get_ex(s->root, "port", &v) ||
        (s->port = json_object_get_int(v)) <= 0 || s->port > 65535 ||
        !json_object_object_get_ex(s->root, "concurrency", &v) ||
        (s->threads = json_object_get_int(v)) <= 0)
        return -1;
    if ((size_t)s->threads > s->n)
        s->threads = s->n ? (int)s->n : 1;
    if (s->threads > MAX_THREADS)
        s->threads = MAX_THREADS;
    return 0;
}

/* Every BMC of R, by R->s->threads threads at once. */
static void run_all(struct run *r)
{
    pthread_t *tids = calloc(r->s->threads, sizeof(*tids));
    pthread_attr_t attr;
    int started = 0;

    if (!tids) {
        worker(r); /* no memory for threads: one at a time, here */
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    while (started < r->s->threads &&
           pthread_create(&tids[started], &attr, worker, r) == 0)
        started++;
    if (started == 0)
        worker(r); /* no thread at all: one at a time, here */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_attr_destroy(&attr);
    free(tids);
}

static void print_result(struct run *r, double wall, double setup_cpu)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "bmcs", json_object_new_int64(r->s->n));
    json_object_object_add(o, "ok", json_object_new_int64(r->ok));
    json_object_object_add(o, "failed", json_object_new_int64(r->failed));
    json_object_object_add(o, "wall_s", json_object_new_double(wall));
    json_object_object_add(o, "cpu_s", json_object_new_double(cpu_seconds()));
    json_object_object_add(o, "setup_cpu_s",
                           json_object_new_double(setup_cpu));
    json_object_object_add(o, "requests", json_object_new_int64(r->requests));
    if (r->first_error[0])
        json_object_object_add(o, "first_error",
                               json_object_new_string(r->first_error));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static struct curl_slist *headers(const char *extra)
{
    const char *fixed[] = {"Accept: application/json", "OData-Version: 4.0",
                           "Expect:", extra};
    struct curl_slist *h = NULL, *t;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && fixed[i]; i++) {
        if (!(t = curl_slist_append(h, fixed[i]))) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = t;
    }
    return h;
}

int main(void)
{
    struct settings s;
    struct run r = {.s = &s, .lock = PTHREAD_MUTEX_INITIALIZER};
    double t0, setup_cpu;

    if (read_settings(stdin, &s) < 0) {
        fprintf(stderr, "curl_floor: stdin must be one JSON object with "
                        "addrs, port, username, password, concurrency\n");
        json_object_put(s.root);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r.get_headers = headers(NULL);
    r.post_headers = headers("Content-Type: application/json");
    if (!r.get_headers || !r.post_headers) {
        fprintf(stderr, "curl_floor: out of memory\n");
        return 2;
    }
    setup_cpu = cpu_seconds();
    t0 = now_mono();
    run_all(&r);
    print_result(&r, now_mono() - t0, setup_cpu);
    curl_slist_free_all(r.get_headers);
    curl_slist_free_all(r.post_headers);
    curl_global_cleanup();
    json_object_put(s.root);
    return 0;
}
