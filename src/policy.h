/* policy.h - which addresses the service may reach or be reached from:
 * CIDR lists (IPv4 and IPv6), the target policy BMC_ALLOWED_TARGETS /
 * BMC_DENIED_TARGETS (DESIGN.md "Security"), and the one normal form of a
 * BMC address: an IPv4-mapped IPv6 address is its IPv4 address everywhere
 * (validation, the gate, the lists), other IPv6 addresses are written in
 * RFC 5952 form.
 * Owns: the parsed target lists (policy_load .. policy_free); a
 * struct policy_cidrs is owned by whoever parsed it. */
#ifndef BMC_POLICY_H
#define BMC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct policy_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address, 4 or 16 bytes used */
    int prefix;             /* 0-32 / 0-128 */
};

struct policy_cidrs {
    struct policy_cidr *items;
    size_t count;
};

/* Parse TEXT, comma- (or space-) separated CIDRs or bare addresses, into
 * *OUT (empty text: an empty list). -1 with the bad entry named in ERR. */
int policy_cidrs_parse(const char *text, struct policy_cidrs *out, char *err,
                       size_t errlen);

/* Whether the address literal IP lies in one of LIST's ranges (an
 * IPv4-mapped IPv6 address counts as its IPv4 address). */
bool policy_cidrs_match(const struct policy_cidrs *list, const char *ip);

void policy_cidrs_free(struct policy_cidrs *list);

/* Rewrite the address literal IP (a buffer of LEN bytes) into its normal
 * form; -1 when IP is no IPv4/IPv6 literal. */
int policy_normalize_ip(char *ip, size_t len);

/* Parse bmc_cfg's target lists (start-up: a bad entry stops it, ERR names
 * the variable). */
int policy_load(char *err, size_t errlen);
void policy_free(void);

/* 0 when the service may reach IP (normal form), else 4008 with the reason
 * in DETAILS. Checked before any task exists, so a denied target never
 * receives a packet. */
int policy_check_target(const char *ip, char *details, size_t dlen);

#endif
