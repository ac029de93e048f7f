/* service.h - bmcctl's HTTP to the bmc-manager service (libcurl): one
 * connection kept alive for every request of a run, JSON bodies, the
 * service token as a Bearer header. bmcctl never speaks to a BMC.
 * Owns: the curl handle, the base URL and the Authorization header (wiped
 * on close); each reply owns its body and parsed JSON. */
#ifndef BMCCTL_SERVICE_H
#define BMCCTL_SERVICE_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stddef.h>

#define SERVICE_REPLY_MAX (256u << 20) /* bytes of one answer */

/* Called about every tenth of a second while a request waits. */
typedef void (*service_wait_fn)(void *arg);

struct service {
    CURL *curl;
    struct curl_slist *headers;
    char *url; /* base, without a trailing '/' */
    char *auth_header;
    service_wait_fn on_wait;
    void *wait_arg;
};

struct service_reply {
    long status; /* HTTP status; 0 when the service did not answer */
    char *body;  /* the answer's bytes, NUL-terminated ("" when none) */
    size_t len;
    json_object *json; /* the body when it is one JSON object, else NULL */
    long retry_after;  /* seconds, from Retry-After; 0 when absent */
    char error[256];   /* status 0: why */
};

/* Set up S for the service at URL (http or https), sending TOKEN (may be
 * NULL) as "Authorization: Bearer". 0, or -1 with ERR. */
int service_open(struct service *s, const char *url, const char *token,
                 char *err, size_t errlen);

/* POST BODY as JSON to PATH; the answer in *R (always filled; free it
 * with service_reply_free). The serialized body is wiped after sending.
 * Returns R->status (0: no answer). */
long service_post(struct service *s, const char *path, json_object *body,
                  struct service_reply *r);

/* GET PATH; as service_post. */
long service_get(struct service *s, const char *path, struct service_reply *r);

/* The answer's root integer KEY (error_code), or 0. */
int service_reply_int(const struct service_reply *r, const char *key);

void service_reply_free(struct service_reply *r);
void service_close(struct service *s);

#endif
