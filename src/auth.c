/* auth.c - service tokens, roles and the audit line (see auth.h). */
#include "autoconfig.h"
#include "auth.h"

#include "config.h"
#include "errors.h"
#include "log.h"
#include "policy.h"
#include "backend.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define AUTH_TOKENS_MAX 4096
#define AUTH_LINE_MAX   8192

struct auth_token {
    char name[AUTH_NAME_MAX + 1];
    enum method_role role;
    unsigned char hash[32];
    struct policy_cidrs sources; /* empty: any source */
};

static struct {
    struct auth_token *tokens;
    size_t count;
} table;

bool auth_enabled(void)
{
    return bmc_cfg.auth_token;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static int hex_decode(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

static int role_parse(const char *s, enum method_role *out)
{
    static const enum method_role roles[] = {ROLE_VIEWER, ROLE_OPERATOR,
                                             ROLE_ADMIN};
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(s, methods_role_name(roles[i]))) {
            *out = roles[i];
            return 0;
        }
    return -1;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= AUTH_NAME_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._@-") == n;
}

/* One line "name role hash [cidrs]" into T; -1 with the reason in WHY. */
static int token_parse(char *line, struct auth_token *t, char *why,
                       size_t wlen)
{
    char *save = NULL, *name = strtok_r(line, " \t", &save),
         *role = strtok_r(NULL, " \t", &save),
         *hash = strtok_r(NULL, " \t", &save),
         *cidrs = strtok_r(NULL, "", &save);

    memset(t, 0, sizeof(*t));
    if (!name || !role || !hash || !name_ok(name)) {
        snprintf(why, wlen, "want: name role sha256-hex [cidr,...]");
        return -1;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    if (role_parse(role, &t->role)) {
        snprintf(why, wlen, "role must be viewer, operator or admin");
        return -1;
    }
    if (hex_decode(hash, t->hash)) {
        snprintf(why, wlen,
                 "the hash must be 64 hex digits "
                 "(bmc-managerd --hash-token)");
        return -1;
    }
    return policy_cidrs_parse(cidrs ? cidrs : "", &t->sources, why, wlen);
}

static void table_free(struct auth_token *tokens, size_t count)
{
    for (size_t i = 0; i < count; i++)
        policy_cidrs_free(&tokens[i].sources);
    free(tokens);
}

/* A secrets file: regular, and neither group nor others may touch it. */
int auth_check_file_mode(FILE *f, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen,
                 "%s is open to group or others (mode %04o): chmod 0600 it",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

static int tokens_read(FILE *f, const char *path, struct auth_token **out,
                       size_t *count, char *err, size_t errlen)
{
    char line[AUTH_LINE_MAX], why[160];
    struct auth_token *tokens = calloc(AUTH_TOKENS_MAX, sizeof(*tokens));
    size_t n = 0;
    int lineno = 0;

    if (!tokens)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (!*p || *p == '#')
            continue;
        if (n == AUTH_TOKENS_MAX ||
            token_parse(p, &tokens[n], why, sizeof(why))) {
            snprintf(err, errlen, "%s line %d: %s", path, lineno,
                     n == AUTH_TOKENS_MAX ? "too many tokens" : why);
            table_free(tokens, n + (n < AUTH_TOKENS_MAX));
            return -1;
        }
        n++;
    }
    *out = tokens;
    *count = n;
    return 0;
}

int auth_load(char *err, size_t errlen)
{
    const char *path = bmc_cfg.tokens_file;
    struct auth_token *tokens = NULL;
    size_t count = 0;
    FILE *f;
    int rc = -1;

    if (!bmc_cfg.auth_token)
        return 0;
    f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "BMC_TOKENS_FILE %s: %s", path, strerror(errno));
        return -1;
    }
    if (auth_check_file_mode(f, path, err, errlen) ||
        tokens_read(f, path, &tokens, &count, err, errlen))
        goto out;
    auth_free();
    table.tokens = tokens;
    table.count = count;
    rc = 0;
out:
    fclose(f);
    return rc;
}

void auth_free(void)
{
    table_free(table.tokens, table.count);
    table.tokens = NULL;
    table.count = 0;
}

/* The token of "Bearer <token>" (scheme case-insensitive), or NULL. */
static const char *bearer_token(const char *authorization, size_t *len)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7))
        return NULL;
    const char *t = authorization + 7;
    t += strspn(t, " ");
    *len = strcspn(t, " \t");
    return *len && t[*len] == '\0' ? t : NULL;
}

int auth_check(const char *authorization, const char *remote_addr,
               const struct auth_token **who, char *details, size_t dlen)
{
    unsigned char hash[32];
    const struct auth_token *found = NULL;
    size_t len = 0;
    const char *token = bearer_token(authorization, &len);

    *who = NULL;
    if (!token) {
        snprintf(details, dlen, "send Authorization: Bearer <token>");
        return BMC_ERR_AUTH_REQUIRED;
    }
    sha256(token, len, hash);
    /* every entry compared, in constant time per entry */
    for (size_t i = 0; i < table.count; i++)
        if (!CRYPTO_memcmp(hash, table.tokens[i].hash, sizeof(hash)))
            found = &table.tokens[i];
    explicit_bzero(hash, sizeof(hash));
    if (!found) {
        snprintf(details, dlen, "the token is not valid");
        return BMC_ERR_AUTH_REQUIRED;
    }
    if (found->sources.count &&
        !policy_cidrs_match(&found->sources, remote_addr ? remote_addr : "")) {
        snprintf(details, dlen, "token %s may not be used from %.64s",
                 found->name, remote_addr ? remote_addr : "?");
        return BMC_ERR_AUTH_REQUIRED;
    }
    *who = found;
    return 0;
}

int auth_require(const struct auth_token *who, enum method_role need,
                 char *details, size_t dlen)
{
    if (!who || who->role >= need)
        return 0;
    snprintf(details, dlen, "role %s is needed; token %s has %s",
             methods_role_name(need), who->name, methods_role_name(who->role));
    return BMC_ERR_FORBIDDEN;
}

const char *auth_token_name(const struct auth_token *who)
{
    return who ? who->name : NULL;
}

void auth_audit(const char *who, const struct method_def *method,
                const struct bmc_conn *conn, const char *task_id, int code,
                bool success)
{
    char outcome[32];

    if (!(method->flags & METHOD_MUTATING))
        return;
    if (code)
        snprintf(outcome, sizeof(outcome), "error_%d", code);
    else
        snprintf(outcome, sizeof(outcome), "%s",
                 success ? "success" : "failed");
    log_info("audit",
             "who=%s method=%s bmc=%s port=%d protocol=%s task=%s "
             "outcome=%s",
             who && *who ? who : "-", method->name, conn->ip, conn->port,
             bmc_protocol_name(conn->protocol),
             task_id && *task_id ? task_id : "-", outcome);
}

int auth_hash_token(FILE *in, FILE *out, FILE *errf)
{
    char line[AUTH_HEADER_MAX + 2];
    unsigned char hash[32];
    int rc = -1;

    if (!fgets(line, sizeof(line), in)) {
        fprintf(errf, "bmc-managerd: --hash-token reads a token on stdin\n");
        goto out;
    }
    line[strcspn(line, "\r\n")] = '\0';
    size_t len = strlen(line);
    if (!len || strcspn(line, " \t") != len) {
        fprintf(errf, "bmc-managerd: a token is one word, not empty\n");
        goto out;
    }
    if (len < 16)
        fprintf(errf,
                "bmc-managerd: warning: a token of %zu characters is "
                "easy to guess; use 32 random bytes "
                "(openssl rand -hex 32)\n",
                len);
    sha256(line, len, hash);
    for (int i = 0; i < 32; i++)
        fprintf(out, "%02x", hash[i]);
    fputc('\n', out);
    rc = 0;
out:
    explicit_bzero(line, sizeof(line));
    explicit_bzero(hash, sizeof(hash));
    return rc;
}
