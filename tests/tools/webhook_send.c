/* webhook_send - deliver one callback with webhook_deliver, without the
 * daemon, and print the outcome as JSON. For tests of the delivery
 * (tests/integration/test_webhook_send.py).
 *
 *   BMC_WEBHOOK_ALLOWED=... BMC_WEBHOOK_SECRET=... \
 *     webhook_send URL TASK_ID DELIVERY_ID < body
 *
 * The configuration comes from the environment, as the daemon reads it;
 * the body is stdin, sent byte for byte.
 * Output: {"ok":B,"http_status":N,"error":S}. Exit status 0 on a 2xx
 * answer, 1 on a failed attempt, 2 on usage or configuration errors. */
#include "autoconfig.h"

#include "config.h"
#include "webhook.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#define BODY_MAX (16 << 20)

/* All of stdin (at most BODY_MAX bytes) into a new buffer. */
static char *read_body(size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);

    while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = cap < BODY_MAX ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static void print_outcome(int rc, long status, const char *err)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "ok", json_object_new_boolean(rc == 0));
    json_object_object_add(o, "http_status", json_object_new_int64(status));
    json_object_object_add(o, "error", json_object_new_string(rc ? err : ""));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

int main(int argc, char **argv)
{
    char err[512];
    long status = 0;
    size_t len = 0;

    if (argc != 4) {
        fprintf(stderr,
                "usage: webhook_send URL TASK_ID DELIVERY_ID < body\n");
        return 2;
    }
    if (config_load(err, sizeof(err)) || webhook_load(err, sizeof(err))) {
        fprintf(stderr, "webhook_send: %s\n", err);
        return 2;
    }
    char *body = read_body(&len);
    if (!body) {
        fprintf(stderr, "webhook_send: cannot read the body\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = webhook_deliver(argv[1], body, len, argv[2], argv[3], &status,
                             err, sizeof(err));
    print_outcome(rc, status, err);
    free(body);
    curl_global_cleanup();
    webhook_free();
    config_free();
    return rc ? 1 : 0;
}
