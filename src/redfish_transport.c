/* redfish_transport.c - libcurl transport for Redfish (see
 * redfish_transport.h). */
#include "autoconfig.h"
#include "redfish_transport.h"

#include "clock.h"
#include "config.h"
#include "errors.h"
#include "gate.h"
#include "log.h"
#include "redfish_curlcodes.h"
#include "secmem.h"
#include "tlspin.h"

#include <curl/curl.h>
#include <math.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The thread's handle and its counters. */
struct http_thread {
    CURL *curl;
    long requests;
    long connections;
};

/* The request body libcurl reads (http_on_read). */
struct http_body {
    const char *data;
    size_t len;
    size_t sent;
};

/* What the callbacks of one transfer fill. */
struct http_sink {
    struct rf_response *resp;
    size_t cap;
    bool oversized;
};

static __thread struct http_thread tl_http;
static pthread_key_t http_key;
static pthread_once_t http_key_once = PTHREAD_ONCE_INIT;

static void http_thread_free(void *unused)
{
    (void)unused;
    rf_transport_release();
}

static void http_key_create(void)
{
    (void)pthread_key_create(&http_key, http_thread_free);
}

int rf_transport_init(void)
{
    if (secmem_curl_init() != 0)
        return -1;
    if (!bmc_cfg.redfish_verify_tls && !bmc_cfg.redfish_pin_tls)
        log_warn("redfish_tls", "verify=false "
                                "reason=\"BMC certificates are not verified "
                                "(BMC_REDFISH_VERIFY_TLS=false)\"");
    return 0;
}

void rf_transport_release(void)
{
    if (tl_http.curl)
        curl_easy_cleanup(tl_http.curl);
    memset(&tl_http, 0, sizeof(tl_http));
}

void rf_transport_stats(long *requests, long *connections)
{
    *requests = tl_http.requests;
    *connections = tl_http.connections;
}

void rf_response_free(struct rf_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

static CURL *http_thread_handle(void)
{
    if (!tl_http.curl) {
        pthread_once(&http_key_once, http_key_create);
        tl_http.curl = curl_easy_init();
        if (tl_http.curl)
            (void)pthread_setspecific(http_key, &tl_http);
    }
    return tl_http.curl;
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_sink *sink = userp;
    struct rf_response *resp = sink->resp;
    size_t n = size * nmemb;

    if (n > HTTP_BODY_MAX - resp->len) {
        sink->oversized = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (resp->len + n + 1 > sink->cap) {
        size_t cap = sink->cap ? sink->cap : 8192;
        while (cap < resp->len + n + 1)
            cap *= 2;
        char *p = realloc(resp->body, cap);
        if (!p)
            return 0;
        resp->body = p;
        sink->cap = cap;
    }
    memcpy(resp->body + resp->len, data, n);
    resp->len += n;
    resp->body[resp->len] = '\0';
    return n;
}

/* The body goes out through a read callback with no seek callback, so
 * libcurl cannot rewind it: a request whose reused connection dies after
 * body bytes went out fails (CURLE_SEND_FAIL_REWIND) instead of being sent
 * again on a new connection (redfish_transport.h). */
static size_t http_on_read(char *buf, size_t size, size_t nitems, void *userp)
{
    struct http_body *b = userp;
    size_t n = b->len - b->sent;

    if (n > size * nitems)
        n = size * nitems;
    memcpy(buf, b->data + b->sent, n);
    b->sent += n;
    return n;
}

/* With verification off OpenSSL would still build and check the BMC's
 * chain (SSL_VERIFY_NONE only ignores the verdict): skip that work. */
static int http_skip_chain_check(X509_STORE_CTX *store, void *unused)
{
    (void)store;
    (void)unused;
    return 1;
}

static CURLcode http_unverified_ctx(CURL *c, void *ssl_ctx, void *unused)
{
    (void)c;
    (void)unused;
    SSL_CTX_set_cert_verify_callback(ssl_ctx, http_skip_chain_check, NULL);
    return CURLE_OK;
}

/* Copy the value of header line LINE into DST if its name is NAME. */
static void http_take_header(const char *line, size_t len, const char *name,
                             char *dst, size_t dstlen)
{
    size_t nl = strlen(name);

    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
        return;
    line += nl + 1;
    len -= nl + 1;
    while (len && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
                   line[len - 1] == ' '))
        len--;
    if (len >= dstlen)
        len = 0; /* an oversized value is as good as none */
    memcpy(dst, line, len);
    dst[len] = '\0';
}

static size_t http_on_header(char *data, size_t size, size_t nmemb,
                             void *userp)
{
    struct http_sink *sink = userp;
    size_t n = size * nmemb;

    if (n > 5 && !strncmp(data, "HTTP/", 5)) { /* a new response starts */
        sink->resp->etag[0] = '\0';
        sink->resp->location[0] = '\0';
        sink->resp->allow[0] = '\0';
    }
    http_take_header(data, n, "ETag", sink->resp->etag,
                     sizeof(sink->resp->etag));
    http_take_header(data, n, "Location", sink->resp->location,
                     sizeof(sink->resp->location));
    http_take_header(data, n, "Allow", sink->resp->allow,
                     sizeof(sink->resp->allow));
    return n;
}

/* Set every option of one request on C (after curl_easy_reset). */
static int http_setup(CURL *c, const struct rf_request *req, const char *url,
                      struct curl_slist *headers, struct http_sink *sink,
                      struct http_body *body, long timeout_ms)
{
    CURLcode rc = CURLE_OK;
    bool verify = bmc_cfg.redfish_verify_tls;
    const char *ca = bmc_cfg.redfish_ca_bundle;

#define SET(opt, val)                                                         \
    if (rc == CURLE_OK)                                                       \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_NOPROGRESS, 1L);
    SET(CURLOPT_VERBOSE, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_MAXCONNECTS, 1L);
    /* At most once (see the header): a body cannot be re-sent; a
     * bodyless mutating request (DELETE) never rides a reused connection. */
    SET(CURLOPT_FRESH_CONNECT,
        req->mutating && !strcmp(req->method, "DELETE") ? 1L : 0L);
    SET(CURLOPT_MAXAGE_CONN, 20L);
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERNAME, req->username);
    SET(CURLOPT_PASSWORD, req->password);
    SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, http_on_body);
    SET(CURLOPT_WRITEDATA, sink);
    SET(CURLOPT_HEADERFUNCTION, http_on_header);
    SET(CURLOPT_HEADERDATA, sink);
    SET(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    /* One CA store per handle, cached: Debian's default CAPATH would
     * disable libcurl's CA cache (doc/architecture.md, "Backends"); with
     * verification off no store is loaded at all. */
    SET(CURLOPT_CAPATH, (char *)NULL);
    if (!verify) {
        SET(CURLOPT_CAINFO, (char *)NULL);
        SET(CURLOPT_SSL_CTX_FUNCTION, http_unverified_ctx);
    } else if (ca && *ca) {
        SET(CURLOPT_CAINFO, ca);
    }
    if (!strcmp(req->method, "GET")) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(req->method, "DELETE")) {
        SET(CURLOPT_CUSTOMREQUEST, "DELETE");
    } else { /* POST, PATCH: a JSON body */
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_READFUNCTION, http_on_read);
        SET(CURLOPT_READDATA, body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        if (strcmp(req->method, "POST"))
            SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

static struct curl_slist *http_headers(const struct rf_request *req)
{
    char if_match[HTTP_HEADER_VALUE_MAX + 16];
    struct curl_slist *h = NULL, *t;
    const char *fixed[] = {
        "Accept: application/json", "OData-Version: 4.0",
        "Expect:", req->body ? "Content-Type: application/json" : NULL};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && fixed[i]; i++) {
        if (!(t = curl_slist_append(h, fixed[i])))
            goto fail;
        h = t;
    }
    if (req->if_match && *req->if_match) {
        snprintf(if_match, sizeof(if_match), "If-Match: %s", req->if_match);
        if (!(t = curl_slist_append(h, if_match)))
            goto fail;
        h = t;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static void http_log(const struct rf_request *req, long status, int code,
                     const char *reason, double elapsed, long new_conns)
{
    char qpath[300], qreason[200];

    log_debug("redfish_http",
              "method=%s host=%s port=%d path=%s status=%ld code=%d reason=%s "
              "ms=%.1f new_connections=%ld",
              req->method, req->host, req->port,
              log_quote(req->path, qpath, sizeof(qpath)), status, code,
              log_quote(reason, qreason, sizeof(qreason)), elapsed * 1000.0,
              new_conns);
}

/* TLS pinning (tlspin.h): the pin this exchange must meet, learned first
 * on a request-less handshake when pin mode meets a new BMC, so Basic
 * credentials never travel before the TLS check passed. */
static int http_pin(CURL *c, const struct rf_request *req, double limit,
                    struct tlspin *pin, char *err, size_t errlen)
{
    return tlspin_prepare(c, req->host, req->port, req->tls_pin,
                          (long)ceil(limit * 1000.0), pin, err, errlen);
}

static int http_exchange(const struct rf_request *req,
                         struct rf_response *resp, char *err, size_t errlen)
{
    char url[1200];
    struct http_sink sink = {resp, 0, false};
    struct http_body body = {req->body ? req->body : "{}", 0, 0};
    struct curl_slist *headers = NULL;
    double left = clock_remaining(req->deadline);
    double limit = bmc_cfg.redfish_request_timeout;
    bool deadline_bound = left < limit;
    double start = clock_now_mono();
    long new_conns = 0;
    int code = 0;
    bool sent = false;
    struct tlspin pin;
    CURL *c;
    CURLcode rc;

    memset(resp, 0, sizeof(*resp));
    err[0] = '\0';
    if (left <= 0.001) {
        snprintf(err, errlen, "deadline passed before %s %s", req->method,
                 req->path);
        code = BMC_ERR_TIMEOUT;
        goto out;
    }
    if (deadline_bound)
        limit = left;
    snprintf(url, sizeof(url),
             strchr(req->host, ':') ? "https://[%s]:%d%s" : "https://%s:%d%s",
             req->host, req->port, req->path);
    c = http_thread_handle();
    headers = http_headers(req);
    if (!c || !headers) {
        snprintf(err, errlen, "out of memory");
        code = BMC_ERR_UNEXPECTED_ERROR;
        goto out;
    }
    body.len = strlen(body.data);
    curl_easy_reset(c);
    if (http_setup(c, req, url, headers, &sink, &body,
                   (long)ceil(limit * 1000.0)) < 0) {
        snprintf(err, errlen, "libcurl refused an option");
        code = BMC_ERR_UNEXPECTED_ERROR;
        goto out;
    }
    if ((code = http_pin(c, req, limit, &pin, err, errlen)))
        goto out;
    rc = curl_easy_perform(c);
    sent = rc == CURLE_OK || rf_curl_maybe_sent(c, rc);
    tl_http.requests++;
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns) == CURLE_OK)
        tl_http.connections += new_conns;
    if (rc != CURLE_OK) {
        code = rf_curl_classify(rc, sink.oversized, deadline_bound,
                                req->deadline);
        if (tlspin_explain(&pin, rc, err, errlen))
            goto out;
        if (sink.oversized)
            snprintf(err, errlen, "%s %s: response larger than %u bytes",
                     req->method, req->path, HTTP_BODY_MAX);
        else if (rc == CURLE_SEND_FAIL_REWIND)
            snprintf(err, errlen,
                     "%s %s: the connection closed before the BMC answered",
                     req->method, req->path);
        else if (code == BMC_ERR_TIMEOUT)
            snprintf(err, errlen, "%s %s: deadline passed after %.1f s",
                     req->method, req->path, clock_now_mono() - start);
        else
            snprintf(err, errlen, "%s %s: %s", req->method, req->path,
                     curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body && !(resp->body = calloc(1, 1))) {
        snprintf(err, errlen, "out of memory");
        code = BMC_ERR_UNEXPECTED_ERROR;
    }
out:
    /* The easy handle keeps pointers to the header list and the password:
     * drop them before the caller frees or wipes its copies. */
    if (tl_http.curl) {
        curl_easy_setopt(tl_http.curl, CURLOPT_HTTPHEADER,
                         (struct curl_slist *)NULL);
        curl_easy_setopt(tl_http.curl, CURLOPT_PASSWORD, "");
        curl_easy_setopt(tl_http.curl, CURLOPT_READDATA, (void *)NULL);
    }
    curl_slist_free_all(headers);
    if (code)
        rf_response_free(resp);
    resp->maybe_sent = sent;
    http_log(req, code ? 0 : resp->status, code, err, clock_now_mono() - start,
             new_conns);
    return code;
}

/* Every request holds a slot of its BMC's gate (gate.h) for the exchange
 * only; a mutating one (the caller says so) is alone on its BMC. */
int rf_transport_request(const struct rf_request *req,
                         struct rf_response *resp, char *err, size_t errlen)
{
    struct gate_ticket gt;
    int code = gate_enter(req->host, req->port, BMC_PROTO_REDFISH,
                          req->mutating, req->deadline, &gt, err, errlen);

    if (code) {
        memset(resp, 0, sizeof(*resp));
        return code;
    }
    code = http_exchange(req, resp, err, errlen);
    gate_leave(&gt);
    return code;
}
