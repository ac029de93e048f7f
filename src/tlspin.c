/* tlspin.c - TLS pinning of Redfish BMCs (see tlspin.h). */
#include "autoconfig.h"
#include "tlspin.h"

#include "config.h"
#include "errors.h"
#include "log.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define PIN_TEXT_MAX 64 /* "sha256//" + 44 base64 characters + NUL */

/* The pin of the last leaf certificate this thread's handshakes saw. */
static __thread char tl_seen[PIN_TEXT_MAX];

static int spki_pin(X509 *cert, char *out, size_t len)
{
    unsigned char *der = NULL, md[32], b64[48];
    unsigned int mdlen = sizeof(md);
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);

    if (n <= 0 ||
        !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
        OPENSSL_free(der);
        return -1;
    }
    OPENSSL_free(der);
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(out, len, "sha256//%s", b64);
    return 0;
}

/* OpenSSL's chain check, after noting the leaf's pin (curl then compares
 * CURLOPT_PINNEDPUBLICKEY; this only tells us what was presented). */
static int note_leaf(X509_STORE_CTX *store, void *unused)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(store);

    (void)unused;
    tl_seen[0] = '\0';
    if (leaf)
        spki_pin(leaf, tl_seen, sizeof(tl_seen));
    return X509_verify_cert(store);
}

static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *unused)
{
    (void)c;
    (void)unused;
    SSL_CTX_set_cert_verify_callback(ssl_ctx, note_leaf, NULL);
    return CURLE_OK;
}

/* ---- known_bmcs ------------------------------------------------------- */

static void known_path(char *path, size_t len)
{
    snprintf(path, len, "%s/known_bmcs", bmc_cfg.state_dir);
}

/* The pin of HOST PORT in the open file F (from the start), or "". */
static void known_scan(FILE *f, const char *host, int port, char *pin,
                       size_t len)
{
    char line[512], addr[BMC_IP_MAX], p[PIN_TEXT_MAX + 8];
    int lport;

    pin[0] = '\0';
    rewind(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %d %71s", addr, &lport, p) == 3 &&
            lport == port && !strcmp(addr, host))
            snprintf(pin, len, "%s", p);
}

static void known_lookup(const char *host, int port, char *pin, size_t len)
{
    char path[512];
    FILE *f;

    pin[0] = '\0';
    known_path(path, sizeof(path));
    if (!(f = fopen(path, "re")))
        return;
    flock(fileno(f), LOCK_SH);
    known_scan(f, host, port, pin, len);
    fclose(f);
}

/* Record PIN for HOST PORT unless another process did first: then *PIN
 * becomes the recorded one (a later mismatch is then reported). */
static void known_record(const char *host, int port, char *pin, size_t len)
{
    char path[512], have[PIN_TEXT_MAX + 8], when[32];
    int fd;
    FILE *f;
    time_t now = time(NULL);
    struct tm tm;

    known_path(path, sizeof(path));
    fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "a+"))) {
        if (fd >= 0)
            close(fd);
        log_error("tls_pin_record_failed", "path=%s errno=%d", path, errno);
        return;
    }
    flock(fd, LOCK_EX);
    known_scan(f, host, port, have, sizeof(have));
    if (have[0]) {
        snprintf(pin, len, "%s", have);
    } else {
        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(f, "%s %d %s %s\n", host, port, pin, when);
        log_info("tls_pin_learned", "bmc=%s port=%d pin=%s", host, port, pin);
    }
    fclose(f);
}

/* A handshake that sends no request: the BMC's pin into PIN. */
static int pin_learn(const char *host, int port, long timeout_ms, char *pin,
                     size_t len, char *err, size_t errlen)
{
    char url[BMC_IP_MAX + 32];
    CURL *c = curl_easy_init();
    CURLcode rc;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return BMC_ERR_UNEXPECTED_ERROR;
    }
    snprintf(url, sizeof(url),
             strchr(host, ':') ? "https://[%s]:%d/" : "https://%s:%d/", host,
             port);
    tl_seen[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || !tl_seen[0]) {
        snprintf(err, errlen, "TLS handshake with %s:%d: %s", host, port,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "no certificate");
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT
                   ? BMC_ERR_CONNECTION_TIMEOUT
                   : BMC_ERR_PROTOCOL_ERROR;
    }
    snprintf(pin, len, "%s", tl_seen);
    return 0;
}

int tlspin_prepare(CURL *c, const char *host, int port, const char *cred_pin,
                   long timeout_ms, struct tlspin *pin, char *err,
                   size_t errlen)
{
    int code;

    memset(pin, 0, sizeof(*pin));
    snprintf(pin->where, sizeof(pin->where),
             strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (cred_pin && cred_pin[0]) {
        snprintf(pin->expected, sizeof(pin->expected), "%s", cred_pin);
        pin->explicit_pin = true;
    } else if (bmc_cfg.redfish_pin_tls) {
        known_lookup(host, port, pin->expected, sizeof(pin->expected));
        if (!pin->expected[0]) {
            code = pin_learn(host, port, timeout_ms, pin->expected,
                             sizeof(pin->expected), err, errlen);
            if (code)
                return code;
            known_record(host, port, pin->expected, sizeof(pin->expected));
        }
    }
    if (!pin->expected[0])
        return 0;
    tl_seen[0] = '\0';
    if (curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin->expected) ||
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx)) {
        snprintf(err, errlen, "libcurl cannot pin public keys");
        return BMC_ERR_PROTOCOL_ERROR;
    }
    return 0;
}

int tlspin_explain(const struct tlspin *pin, CURLcode rc, char *err,
                   size_t errlen)
{
    if (!pin->expected[0] || rc != CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        return 0;
    snprintf(err, errlen,
             pin->explicit_pin
                 ? "certificate of %s does not match the credential's "
                   "tls_pin (pinned %s, got %s); nothing was sent"
                 : "certificate of %s changed (pinned %s, got %s); nothing "
                   "was sent. If the BMC was replaced: bmc-managerd "
                   "--forget-bmc %s",
             pin->where, pin->expected, tl_seen[0] ? tl_seen : "?",
             pin->where);
    log_warn("tls_pin_mismatch", "bmc=%s pinned=%s got=%s", pin->where,
             pin->expected, tl_seen[0] ? tl_seen : "?");
    return BMC_ERR_PROTOCOL_ERROR;
}

/* ---- --forget-bmc --------------------------------------------------- */

static int target_parse(const char *t, char *host, size_t hlen, int *port)
{
    char buf[BMC_IP_MAX + 16], *colon;

    snprintf(buf, sizeof(buf), "%s", t);
    *port = 443;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return -1;
        *close = '\0';
        if (close[1] == ':')
            *port = atoi(close + 2);
        else if (close[1])
            return -1;
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
        *colon = '\0';
        *port = atoi(colon + 1);
    }
    if (strlen(buf) >= hlen)
        return -1;
    memcpy(host, buf, strlen(buf) + 1);
    return *port < 1 || *port > 65535 || policy_normalize_ip(host, hlen) ? -1
                                                                         : 0;
}

int tlspin_forget(const char *target, FILE *out, FILE *errf)
{
    char host[BMC_IP_MAX], path[512], tmp[530], line[512], addr[BMC_IP_MAX];
    int port, lport, found = 0;
    FILE *f, *w;

    if (target_parse(target, host, sizeof(host), &port)) {
        fprintf(errf, "bmc-managerd: --forget-bmc wants ADDR[:PORT] "
                      "(an IP address; [v6]:port)\n");
        return 2;
    }
    known_path(path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    if (!(f = fopen(path, "re"))) {
        fprintf(out, "%s:%d was not known (%s)\n", host, port, path);
        return 1;
    }
    flock(fileno(f), LOCK_EX);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(w = fdopen(fd, "w"))) {
        fprintf(errf, "bmc-managerd: %s: %s\n", tmp, strerror(errno));
        fclose(f);
        return 2;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63s %d", addr, &lport) == 2 && lport == port &&
            !strcmp(addr, host)) {
            found = 1;
            continue;
        }
        fputs(line, w);
    }
    int bad = fclose(w) != 0 || rename(tmp, path) != 0;
    fclose(f);
    if (bad) {
        fprintf(errf, "bmc-managerd: cannot rewrite %s\n", path);
        return 2;
    }
    fprintf(out,
            found ? "forgot the pin of %s:%d; the next connection "
                    "learns the new one\n"
                  : "%s:%d was not known\n",
            host, port);
    return found ? 0 : 1;
}
