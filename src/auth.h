/* auth.h - service authentication (BMC_AUTH=token) and roles
 * (DESIGN.md "Security"): the tokens file BMC_TOKENS_FILE (0600, one
 * token a line: `name role sha256-hex [cidr,...]`, hashes only), the
 * check of an `Authorization: Bearer` header against it, the role a call
 * needs, and the audit line of every mutating call.
 * Owns: the loaded token table (auth_load .. auth_free); the tokens
 * returned by auth_check point into it and stay valid until the next
 * auth_load in this process (one request at a time per worker). */
#ifndef BMC_AUTH_H
#define BMC_AUTH_H

#include "backend.h"
#include "methods.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define AUTH_NAME_MAX   64   /* bytes of a token's name */
#define AUTH_HEADER_MAX 1024 /* bytes of an Authorization header kept */

struct auth_token;

/* Read BMC_TOKENS_FILE when BMC_AUTH=token (refused when group or others
 * may read or write it, or a line is malformed: ERR names the file and the
 * line). Replaces the table only on success (SIGHUP keeps the old one). */
int auth_load(char *err, size_t errlen);
void auth_free(void);

/* Whether BMC_AUTH=token is in force. */
bool auth_enabled(void);

/* Check AUTHORIZATION ("Bearer <token>", may be NULL) from REMOTE_ADDR:
 * 0 and *WHO, or 4009 with the reason in DETAILS. */
int auth_check(const char *authorization, const char *remote_addr,
               const struct auth_token **who, char *details, size_t dlen);

/* 0 when WHO (NULL: BMC_AUTH=none, everything allowed) has at least NEED,
 * else 4010 with "role <need> is needed; token <name> has <role>". */
int auth_require(const struct auth_token *who, enum method_role need,
                 char *details, size_t dlen);

/* The token's name (NULL for NULL: no authentication). */
const char *auth_token_name(const struct auth_token *who);

/* One audit line for a mutating METHOD on CONN: who (a token name or
 * "-"), the method, the BMC, the task id ("-" when none) and the outcome
 * (CODE 0 and SUCCESS: "success", CODE 0: "failed", else the code). */
void auth_audit(const char *who, const struct method_def *method,
                const struct bmc_conn *conn, const char *task_id, int code,
                bool success);

/* 0 when the open file F (named PATH) is a regular file that neither group
 * nor others may read or write; -1 with ERR saying so (secrets files:
 * tokens, credentials). */
int auth_check_file_mode(FILE *f, const char *path, char *err, size_t errlen);

/* --hash-token: read one token from IN (its first line), write its
 * sha256 hex to OUT. 0, or -1 with a message on ERRF. */
int auth_hash_token(FILE *in, FILE *out, FILE *errf);

#endif
