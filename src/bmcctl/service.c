/* service.c - HTTP to the service (see service.h). */
#include "autoconfig.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct service_reply *r = arg;
    size_t len = size * n;

    if (r->len + len > SERVICE_REPLY_MAX)
        return 0; /* curl fails the transfer: too large */
    char *body = realloc(r->body, r->len + len + 1);
    if (!body)
        return 0;
    memcpy(body + r->len, data, len);
    r->body = body;
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct service_reply *r = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";

    if (len > sizeof(name) && !strncasecmp(data, name, sizeof(name) - 1))
        r->retry_after = strtol(data + sizeof(name) - 1, NULL, 10);
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    struct service *s = arg;
    (void)dt, (void)dn, (void)ut, (void)un;
    if (s->on_wait)
        s->on_wait(s->wait_arg);
    return 0;
}

int service_open(struct service *s, const char *url, const char *token,
                 char *err, size_t errlen)
{
    size_t n = strlen(url);

    memset(s, 0, sizeof(*s));
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "--url must start with http:// or https://");
        return -1;
    }
    while (n > 0 && url[n - 1] == '/')
        n--;
    s->url = strndup(url, n);
    s->curl = curl_easy_init();
    if (!s->url || !s->curl) {
        snprintf(err, errlen, "cannot set up libcurl");
        return -1;
    }
    s->headers = curl_slist_append(NULL, "Accept: application/json");
    s->headers = curl_slist_append(s->headers, "Expect:");
    if (token && token[0]) {
        size_t len = strlen(token) + 32;
        s->auth_header = malloc(len);
        if (!s->auth_header)
            return -1;
        snprintf(s->auth_header, len, "Authorization: Bearer %s", token);
        s->headers = curl_slist_append(s->headers, s->auth_header);
    }
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_PROXY, ""); /* bodies hold passwords */
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "bmcctl/" PACKAGE_VERSION);
    curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
    return 0;
}

static void parse_reply(struct service_reply *r)
{
    json_tokener *tok = json_tokener_new_ex(64);

    if (!tok)
        return;
    json_object *obj = json_tokener_parse_ex(tok, r->body, (int)r->len);
    if (obj && json_tokener_get_error(tok) == json_tokener_success &&
        json_object_is_type(obj, json_type_object))
        r->json = obj;
    else
        json_object_put(obj);
    json_tokener_free(tok);
}

static long perform(struct service *s, const char *path,
                    struct curl_slist *headers, struct service_reply *r)
{
    char url[2048];
    CURLcode rc;

    memset(r, 0, sizeof(*r));
    r->body = calloc(1, 1);
    snprintf(url, sizeof(url), "%s%s", s->url, path);
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, r);
    rc = curl_easy_perform(s->curl);
    if (rc != CURLE_OK || !r->body) {
        snprintf(r->error, sizeof(r->error), "%s: %s", s->url,
                 curl_easy_strerror(rc));
        r->status = 0;
        return 0;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->status);
    parse_reply(r);
    return r->status;
}

long service_post(struct service *s, const char *path, json_object *body,
                  struct service_reply *r)
{
    size_t len;
    const char *text = json_object_to_json_string_length(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                   "application/json");
    for (struct curl_slist *p = s->headers; p; p = p->next)
        h = curl_slist_append(h, p->data);
    curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    long status = perform(s, path, h, r);
    /* the text may hold passwords: json-c's buffer is ours to wipe */
    explicit_bzero((char *)text, len);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
    for (struct curl_slist *p = h; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
    return status;
}

long service_get(struct service *s, const char *path, struct service_reply *r)
{
    curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
    return perform(s, path, s->headers, r);
}

int service_reply_int(const struct service_reply *r, const char *key)
{
    json_object *v;

    if (r->json && json_object_object_get_ex(r->json, key, &v) &&
        json_object_is_type(v, json_type_int))
        return json_object_get_int(v);
    return 0;
}

void service_reply_free(struct service_reply *r)
{
    json_object_put(r->json);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void service_close(struct service *s)
{
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->headers)
        for (struct curl_slist *p = s->headers; p; p = p->next)
            explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(s->headers);
    if (s->auth_header)
        explicit_bzero(s->auth_header, strlen(s->auth_header));
    free(s->auth_header);
    free(s->url);
    memset(s, 0, sizeof(*s));
}
