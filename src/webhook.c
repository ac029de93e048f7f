/* webhook.c - the allow-list, the secret, the callback_url check and one
 * signed delivery (see webhook.h). */
#include "autoconfig.h"
#include "webhook.h"

#include "auth.h"
#include "config.h"
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define WEBHOOK_HOST_MAX 256 /* bytes of a host name (253 + brackets) */
#define WEBHOOK_ID_MAX   128 /* bytes of a task or delivery id header */

static struct {
    struct policy_cidrs cidrs; /* the addresses and CIDRs */
    char **names;              /* host names: lower case, no final dot */
    size_t name_count;
    json_object *entries; /* every entry as written, for /health */
    unsigned char secret[WEBHOOK_SECRET_MAX];
    size_t secret_len;
} hooks;

/* ---- loading --------------------------------------------------------- */

/* A DNS name: letters, digits, '-' and '.', labels of 1-63, the last one
 * starting with a letter (so that no address is taken for a name). */
static bool is_host_name(const char *s)
{
    size_t n = strlen(s), label = 0;
    const char *last = s;

    if (!n || n > 253 ||
        strspn(s, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p != '.') {
            if (++label > 63)
                return false;
            continue;
        }
        if (!label)
            return false;
        label = 0;
        last = p + 1;
    }
    return label && isalpha((unsigned char)*last);
}

/* NAME lower-cased without its final dot, into OUT (SIZE bytes). */
static void name_normal(const char *name, char *out, size_t size)
{
    size_t n = 0;

    for (; name[n] && n + 1 < size; n++)
        out[n] = (char)tolower((unsigned char)name[n]);
    out[n] = '\0';
    if (n && out[n - 1] == '.')
        out[n - 1] = '\0';
}

static int name_add(const char *entry)
{
    char **grown =
        realloc(hooks.names, (hooks.name_count + 1) * sizeof(*hooks.names));
    char normal[WEBHOOK_HOST_MAX];

    if (!grown)
        return -1;
    hooks.names = grown;
    name_normal(entry, normal, sizeof(normal));
    hooks.names[hooks.name_count] = strdup(normal);
    return hooks.names[hooks.name_count++] ? 0 : -1;
}

/* BMC_WEBHOOK_ALLOWED: names to hooks.names, the rest to hooks.cidrs. */
static int allowed_parse(const char *text, char *err, size_t errlen)
{
    size_t size = strlen(text) + 2;
    char *copy = strdup(text), *addrs = calloc(1, size), *save = NULL, why[96];
    int rc = -1;

    hooks.entries = json_object_new_array();
    if (!copy || !addrs || !hooks.entries)
        goto out;
    for (char *tok = strtok_r(copy, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        char probe[WEBHOOK_HOST_MAX];
        snprintf(probe, sizeof(probe), "%s", tok);
        size_t n = strlen(probe);
        if (n > 1 && probe[n - 1] == '.')
            probe[n - 1] = '\0';
        json_object_array_add(hooks.entries, json_object_new_string(tok));
        if (strlen(tok) < sizeof(probe) && is_host_name(probe)) {
            if (name_add(tok))
                goto out;
        } else {
            strcat(strcat(addrs, tok), ",");
        }
    }
    rc = policy_cidrs_parse(addrs, &hooks.cidrs, why, sizeof(why));
    if (rc)
        snprintf(err, errlen,
                 "BMC_WEBHOOK_ALLOWED: %s (nor a host name); expected "
                 "CIDRs, addresses and host names",
                 why);
out:
    free(copy);
    free(addrs);
    return rc;
}

/* The key: BMC_WEBHOOK_SECRET, or the file (0600) without its final
 * newline. */
static int secret_load(char *err, size_t errlen)
{
    const char *path = bmc_cfg.webhook_secret_file;
    FILE *f;
    size_t n;

    if (!path || !path[0]) {
        const char *v = bmc_cfg.webhook_secret ? bmc_cfg.webhook_secret : "";
        n = strlen(v);
        if (n >= sizeof(hooks.secret)) {
            snprintf(err, errlen, "BMC_WEBHOOK_SECRET: longer than %zu bytes",
                     sizeof(hooks.secret) - 1);
            return -1;
        }
        memcpy(hooks.secret, v, n);
        hooks.secret_len = n;
        return 0;
    }
    f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "BMC_WEBHOOK_SECRET_FILE %s: %s", path,
                 strerror(errno));
        return -1;
    }
    setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the key */
    int rc = auth_check_file_mode(f, path, err, errlen);
    n = rc ? 0 : fread(hooks.secret, 1, sizeof(hooks.secret), f);
    while (n && (hooks.secret[n - 1] == '\n' || hooks.secret[n - 1] == '\r'))
        n--;
    if (!rc && (!n || n == sizeof(hooks.secret) || !feof(f))) {
        snprintf(err, errlen, "BMC_WEBHOOK_SECRET_FILE %s: %s", path,
                 n ? "longer than 4095 bytes" : "is empty");
        rc = -1;
    }
    fclose(f);
    hooks.secret_len = rc ? 0 : n;
    return rc;
}

static int ca_file_check(char *err, size_t errlen)
{
    const char *path = bmc_cfg.webhook_ca_file;
    FILE *f;

    if (!path || !path[0])
        return 0;
    f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "BMC_WEBHOOK_CA_FILE %s: %s", path,
                 strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

int webhook_load(char *err, size_t errlen)
{
    webhook_free();
    if (allowed_parse(bmc_cfg.webhook_allowed ? bmc_cfg.webhook_allowed : "",
                      err, errlen) ||
        secret_load(err, errlen) || ca_file_check(err, errlen)) {
        webhook_free();
        return -1;
    }
    return 0;
}

void webhook_free(void)
{
    policy_cidrs_free(&hooks.cidrs);
    for (size_t i = 0; i < hooks.name_count; i++)
        free(hooks.names[i]);
    free(hooks.names);
    hooks.names = NULL;
    hooks.name_count = 0;
    json_object_put(hooks.entries);
    hooks.entries = NULL;
    explicit_bzero(hooks.secret, sizeof(hooks.secret));
    hooks.secret_len = 0;
}

bool webhook_enabled(void)
{
    return (hooks.cidrs.count || hooks.name_count) && hooks.secret_len;
}

json_object *webhook_health(void)
{
    json_object *h = json_object_new_object();

    json_object_object_add(h, "enabled",
                           json_object_new_boolean(webhook_enabled()));
    json_object_object_add(h, "allowed",
                           hooks.entries ? json_object_get(hooks.entries)
                                         : json_object_new_array());
    return h;
}

/* ---- the URL --------------------------------------------------------- */

struct hook_target {
    char host[WEBHOOK_HOST_MAX]; /* no brackets; names in normal form */
    bool is_ip;
    bool name_allowed; /* a name on the list: any address will do */
};

static int refuse(char *details, size_t dlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *details, size_t dlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(details, dlen, fmt, ap);
    va_end(ap);
    return BMC_ERR_INVALID_PARAMETERS;
}

static bool has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(u, part, &v, 0);

    curl_free(v);
    return rc == CURLUE_OK;
}

/* HOST as curl gives it ("[::1]", "Example.COM.") into T. */
static void target_classify(const char *host, struct hook_target *t)
{
    unsigned char addr[16];
    size_t n = strlen(host);

    if (n > 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(t->host, sizeof(t->host), "%.*s", (int)(n - 2), host + 1);
    else
        name_normal(host, t->host, sizeof(t->host));
    t->is_ip = inet_pton(AF_INET, t->host, addr) == 1 ||
               inet_pton(AF_INET6, t->host, addr) == 1;
    t->name_allowed = false;
    for (size_t i = 0; !t->is_ip && i < hooks.name_count; i++)
        if (!strcmp(hooks.names[i], t->host))
            t->name_allowed = true;
}

static int url_parts_check(CURLU *u, struct hook_target *t, char *details,
                           size_t dlen)
{
    char *scheme = NULL, *host = NULL;
    int rc = 0;

    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (!scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")))
        rc = refuse(details, dlen,
                    "callback_url: the scheme must be http "
                    "or https");
    else if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD) ||
             has_part(u, CURLUPART_OPTIONS))
        rc = refuse(details, dlen,
                    "callback_url must not contain user information");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
             !host[0])
        rc = refuse(details, dlen, "callback_url has no host");
    else if (strlen(host) >= sizeof(t->host))
        rc = refuse(details, dlen, "callback_url: the host is too long");
    else if (has_part(u, CURLUPART_ZONEID))
        rc = refuse(details, dlen, "callback_url must not name an IPv6 zone");
    else
        target_classify(host, t);
    curl_free(scheme);
    curl_free(host);
    return rc;
}

/* The checks that need no allow-list: a string, bounded, printable, an
 * http(s) URL with a host and no user information. */
static int url_split(const char *url, struct hook_target *t, char *details,
                     size_t dlen)
{
    if (!url)
        return refuse(details, dlen, "callback_url must be a string");
    if (strlen(url) > WEBHOOK_URL_MAX)
        return refuse(details, dlen, "callback_url is longer than %d bytes",
                      WEBHOOK_URL_MAX);
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return refuse(details, dlen,
                          "callback_url must not contain spaces or "
                          "control characters");
    CURLU *u = curl_url();
    if (!u)
        return refuse(details, dlen, "callback_url: out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    int rc = uc == CURLUE_NO_HOST
                 ? refuse(details, dlen, "callback_url has no host")
             : uc ? refuse(details, dlen, "callback_url is not a URL: %s",
                           curl_url_strerror(uc))
                  : url_parts_check(u, t, details, dlen);
    curl_url_cleanup(u);
    return rc;
}

enum bmc_err webhook_check_url(const char *url, char *details, size_t dlen)
{
    struct hook_target t;

    if (!hooks.cidrs.count && !hooks.name_count)
        return refuse(details, dlen,
                      "callback_url: callbacks are not allowed: set "
                      "BMC_WEBHOOK_ALLOWED");
    if (!hooks.secret_len)
        return refuse(details, dlen,
                      "callback_url: callbacks are not allowed: set "
                      "BMC_WEBHOOK_SECRET");
    int rc = url_split(url, &t, details, dlen);
    if (rc)
        return rc;
    if (t.is_ip ? !policy_cidrs_match(&hooks.cidrs, t.host) : !t.name_allowed)
        return refuse(details, dlen,
                      "callback_url: host %.255s is not in "
                      "BMC_WEBHOOK_ALLOWED",
                      t.host);
    return BMC_OK;
}

/* ---- signing, backoff ------------------------------------------------ */

void webhook_sign(const void *key, size_t keylen, const void *body, size_t len,
                  char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const unsigned char none;

    HMAC(EVP_sha256(), key, (int)keylen, body ? body : &none, len, md, &mdlen);
    for (unsigned int i = 0; i < mdlen && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * (mdlen < 32 ? mdlen : 32)] = '\0';
}

double webhook_next_delay(int attempts_done)
{
    double backoff = bmc_cfg.webhook_backoff_seconds;
    double cap = backoff > WEBHOOK_DELAY_CAP ? backoff : WEBHOOK_DELAY_CAP;
    double delay = backoff;

    for (int i = 1; i < attempts_done && delay < cap; i++)
        delay *= 2;
    return delay < cap ? delay : cap;
}

double webhook_budget(void)
{
    return (double)bmc_cfg.webhook_retry_seconds;
}

/* ---- one delivery ---------------------------------------------------- */

struct hook_attempt {
    const struct hook_target *target;
    char refused[128]; /* why the connect-time check said no */
    int opened;        /* sockets it let through */
};

static bool sockaddr_text(const struct sockaddr *sa, char *out, size_t size)
{
    const void *addr =
        sa->sa_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
        : sa->sa_family == AF_INET6
            ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
            : NULL;
    return addr && inet_ntop(sa->sa_family, addr, out, (socklen_t)size);
}

/* Before each connect: an allowed name may go anywhere, anything else
 * only into an allowed CIDR (so a name never leads outside the list). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *a)
{
    struct hook_attempt *at = clientp;
    char ip[INET6_ADDRSTRLEN] = "?";

    (void)purpose;
    if (!at->target->name_allowed &&
        (!sockaddr_text(&a->addr, ip, sizeof(ip)) ||
         !policy_cidrs_match(&hooks.cidrs, ip))) {
        snprintf(at->refused, sizeof(at->refused),
                 "refused: %s is outside BMC_WEBHOOK_ALLOWED", ip);
        return CURL_SOCKET_BAD;
    }
    at->opened++;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The system's CAs stay; BMC_WEBHOOK_CA_FILE is added to them. */
static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *userp)
{
    (void)c;
    (void)userp;
    return SSL_CTX_load_verify_locations(ssl_ctx, bmc_cfg.webhook_ca_file,
                                         NULL) == 1
               ? CURLE_OK
               : CURLE_SSL_CACERT_BADFILE;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    (void)data;
    (void)userp;
    return size * n; /* the receiver's answer is not read */
}

static struct curl_slist *headers_build(const char *body, size_t len,
                                        const char *task_id,
                                        const char *delivery_id)
{
    char sig[65], line[WEBHOOK_ID_MAX + 32];
    struct curl_slist *h = NULL, *next;

    webhook_sign(hooks.secret, hooks.secret_len, body, len, sig);
    const char *lines[] = {"Content-Type: application/json", "Expect:", NULL,
                           NULL, NULL};
    for (int i = 0; lines[i]; i++)
        if (!(next = curl_slist_append(h, lines[i])))
            goto fail;
        else
            h = next;
    snprintf(line, sizeof(line), "X-BMC-Signature: sha256=%s", sig);
    if (!(next = curl_slist_append(h, line)))
        goto fail;
    h = next;
    snprintf(line, sizeof(line), "X-BMC-Delivery: %s", delivery_id);
    if (!(next = curl_slist_append(h, line)))
        goto fail;
    h = next;
    snprintf(line, sizeof(line), "X-BMC-Task: %s", task_id);
    if ((next = curl_slist_append(h, line)))
        return next;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static CURLcode handle_setup(CURL *c, const char *url, const char *body,
                             size_t len, struct curl_slist *headers,
                             struct hook_attempt *at, char *errbuf)
{
    long timeout_ms = (long)(bmc_cfg.webhook_timeout * 1000 + 0.5);
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                         \
    if (rc == CURLE_OK)                                                       \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOPROXY, "*");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_NOPROGRESS, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (bmc_cfg.webhook_ca_file && bmc_cfg.webhook_ca_file[0])
        SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, at);
    SET(CURLOPT_USERAGENT, "bmc-manager/" PACKAGE_VERSION);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_WRITEFUNCTION, on_body);
#undef SET
    return rc;
}

/* ERR for a finished attempt: 0 on 2xx. */
static int outcome(CURLcode rc, long status, const struct hook_attempt *at,
                   const char *errbuf, char *err, size_t errlen)
{
    if (rc == CURLE_OK && status >= 200 && status < 300)
        return 0;
    if (rc == CURLE_OK && status >= 300 && status < 400)
        snprintf(err, errlen, "HTTP %ld (redirects are not followed)", status);
    else if (rc == CURLE_OK)
        snprintf(err, errlen, "HTTP %ld", status);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(err, errlen, "timeout after %g s", bmc_cfg.webhook_timeout);
    else if (at->refused[0] && !at->opened)
        snprintf(err, errlen, "%s", at->refused);
    else
        snprintf(err, errlen, "%s%s%.160s", curl_easy_strerror(rc),
                 errbuf[0] ? ": " : "", errbuf);
    return -1;
}

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (!n || n > WEBHOOK_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || id[i] == 0x7f)
            return false;
    return true;
}

int webhook_deliver(const char *url, const char *body, size_t len,
                    const char *task_id, const char *delivery_id,
                    long *http_status, char *err, size_t errlen)
{
    struct hook_target target;
    struct hook_attempt at = {.target = &target};
    char errbuf[CURL_ERROR_SIZE] = "";
    int rc = -1;

    *http_status = 0;
    if (!webhook_enabled()) {
        snprintf(err, errlen, "callbacks are not configured");
        return -1;
    }
    if (!id_ok(task_id) || !id_ok(delivery_id)) {
        snprintf(err, errlen, "bad task or delivery id");
        return -1;
    }
    if (url_split(url, &target, err, errlen))
        return -1;
    struct curl_slist *headers =
        headers_build(body ? body : "", len, task_id, delivery_id);
    CURL *c = curl_easy_init();
    if (!headers || !c) {
        snprintf(err, errlen, "out of memory");
    } else if (handle_setup(c, url, body ? body : "", len, headers, &at,
                            errbuf) != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option");
    } else {
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
        rc = outcome(cc, *http_status, &at, errbuf, err, errlen);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return rc;
}
