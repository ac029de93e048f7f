/* policy.c - CIDR lists and the target policy (see policy.h). */
#include "autoconfig.h"
#include "policy.h"

#include "config.h"
#include "errors.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct policy_cidrs allowed, denied;

/* Parse an address literal into FAMILY/ADDR, IPv4-mapped IPv6 as IPv4. */
static int addr_parse(const char *text, int *family, unsigned char *addr)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};

    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) != 1)
        return -1;
    *family = AF_INET6;
    if (!memcmp(addr, v4mapped, sizeof(v4mapped))) {
        memmove(addr, addr + 12, 4);
        *family = AF_INET;
    }
    return 0;
}

int policy_normalize_ip(char *ip, size_t len)
{
    unsigned char addr[16];
    char out[INET6_ADDRSTRLEN];
    int family;

    if (addr_parse(ip, &family, addr) ||
        !inet_ntop(family, addr, out, sizeof(out)) || strlen(out) >= len)
        return -1;
    memcpy(ip, out, strlen(out) + 1);
    return 0;
}

static int cidr_parse_one(char *entry, struct policy_cidr *c)
{
    char *slash = strchr(entry, '/'), *end;
    int bits;

    if (slash)
        *slash = '\0';
    if (addr_parse(entry, &c->family, c->addr))
        return -1;
    bits = c->family == AF_INET ? 32 : 128;
    c->prefix = bits;
    if (slash) {
        long n = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || n < 0 || n > 128)
            return -1;
        /* "::ffff:10.0.0.0/104" is 10.0.0.0/8 */
        if (c->family == AF_INET && strchr(entry, ':'))
            n -= 96;
        if (n < 0 || n > bits)
            return -1;
        c->prefix = (int)n;
    }
    return 0;
}

int policy_cidrs_parse(const char *text, struct policy_cidrs *out, char *err,
                       size_t errlen)
{
    char *copy = strdup(text ? text : ""), *save = NULL, *tok;
    int rc = -1;

    out->items = NULL;
    out->count = 0;
    if (!copy)
        goto out;
    out->items = calloc(strlen(copy) / 2 + 1, sizeof(*out->items));
    if (!out->items)
        goto out;
    for (tok = strtok_r(copy, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        char shown[64];
        snprintf(shown, sizeof(shown), "%s", tok);
        if (cidr_parse_one(tok, &out->items[out->count])) {
            snprintf(err, errlen, "'%s' is not an address or CIDR", shown);
            goto out;
        }
        out->count++;
    }
    rc = 0;
out:
    free(copy);
    if (rc)
        policy_cidrs_free(out);
    return rc;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b,
                         int prefix)
{
    int bytes = prefix / 8, rest = prefix % 8;

    if (memcmp(a, b, (size_t)bytes))
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool policy_cidrs_match(const struct policy_cidrs *list, const char *ip)
{
    unsigned char addr[16];
    int family;

    if (!list || addr_parse(ip, &family, addr))
        return false;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].family == family &&
            prefix_equal(addr, list->items[i].addr, list->items[i].prefix))
            return true;
    return false;
}

void policy_cidrs_free(struct policy_cidrs *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

int policy_load(char *err, size_t errlen)
{
    char why[128];

    policy_free();
    if (policy_cidrs_parse(bmc_cfg.allowed_targets, &allowed, why,
                           sizeof(why))) {
        snprintf(err, errlen, "invalid BMC_ALLOWED_TARGETS: %s", why);
        return -1;
    }
    if (policy_cidrs_parse(bmc_cfg.denied_targets, &denied, why,
                           sizeof(why))) {
        snprintf(err, errlen, "invalid BMC_DENIED_TARGETS: %s", why);
        policy_free();
        return -1;
    }
    return 0;
}

void policy_free(void)
{
    policy_cidrs_free(&allowed);
    policy_cidrs_free(&denied);
}

int policy_check_target(const char *ip, char *details, size_t dlen)
{
    if (policy_cidrs_match(&denied, ip)) {
        snprintf(details, dlen, "%s is in BMC_DENIED_TARGETS", ip);
        return BMC_ERR_TARGET_NOT_ALLOWED;
    }
    if (allowed.count && !policy_cidrs_match(&allowed, ip)) {
        snprintf(details, dlen, "%s is outside BMC_ALLOWED_TARGETS", ip);
        return BMC_ERR_TARGET_NOT_ALLOWED;
    }
    return 0;
}
