/* fuzz_ipmi - libFuzzer target: everything the IPMI backend reads from
 * ipmitool (src/ipmi_parse.h). Input: one character naming the cipher
 * suite ('0'..'9' for 0-9, 'A' for 17; others modulo 18), then the
 * text of a stdout or stderr. It is read as `chassis power status`,
 * `chassis power on|off|...`, `-c user list`, `mc info`, and as a failed
 * run's stderr (classification, last line, BMC refusal). Checked: codes
 * come from the table, texts stay NUL-terminated within their buffers,
 * parsed users and mc info have the documented keys and types. */
#include "autoconfig.h"

#include "ipmi_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OUTPUT (1 << 20) /* subprocess's bound on a captured stream */

static void check_users(json_object *res)
{
    static const struct {
        const char *key;
        json_type type;
    } keys[] = {
        {"id", json_type_string},        {"name", json_type_string},
        {"role", json_type_string},      {"enabled", json_type_boolean},
        {"callin", json_type_boolean},   {"link_auth", json_type_boolean},
        {"ipmi_msg", json_type_boolean}, {"privilege", json_type_string}};
    json_object *users, *v;

    if (!res)
        return;
    if (!json_object_object_get_ex(res, "users", &users) ||
        !json_object_is_type(users, json_type_array) ||
        json_object_array_length(users) > 256)
        abort();
    for (size_t i = 0; i < json_object_array_length(users); i++) {
        json_object *u = json_object_array_get_idx(users, i);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (!json_object_object_get_ex(u, keys[k].key, &v) ||
                !json_object_is_type(v, keys[k].type))
                abort();
        /* ids are strings ("3"), of a slot 0..255 */
        char *end;
        long id = strtol(
            json_object_get_string(json_object_object_get(u, "id")), &end, 10);
        if (*end || id < 0 || id > 255)
            abort();
    }
    json_object_put(res);
}

static void check_mc_info(json_object *res)
{
    static const char *const keys[] = {"fw_version", "manufacturer", "product",
                                       "ipmi_version"};
    json_object *v;

    if (!res)
        return;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (!json_object_object_get_ex(res, keys[k], &v) ||
            !json_object_is_type(v, json_type_string))
            abort();
    json_object_put(res);
}

static bool code_in_table(int code)
{
    size_t n;
    const struct ipmi_pattern *t = ipmi_patterns(&n);

    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return true;
    return false;
}

static void read_stdout(const char *out)
{
    char line[128];
    const char *state = NULL;

    if (ipmi_parse_power_status(out, &state, line, sizeof(line)) == 0 &&
        (!state || (strcmp(state, "on") != 0 && strcmp(state, "off") != 0)))
        abort();
    (void)ipmi_parse_control_line(out, line, sizeof(line));
    check_users(ipmi_parse_user_list(out));
    check_mc_info(ipmi_parse_mc_info(out));
    json_object_put(ipmi_parse_sensors(out, NULL));
    json_object_put(ipmi_parse_sensors(out, "fan"));
    json_object_put(ipmi_parse_sel(out));
    json_object_put(ipmi_parse_fru(out));
    (void)ipmi_parse_free_user_slot(out);
}

static void read_stderr(const char *err, int cipher_suite)
{
    char details[512], line[256];

    int code =
        ipmi_classify_stderr(err, cipher_suite, details, sizeof(details));
    if (code ? !code_in_table(code) || !details[0] : details[0] != '\0')
        abort();
    /* small buffers: cutting must stay inside them */
    (void)ipmi_classify_stderr(err, cipher_suite, details, 8);
    (void)ipmi_last_line(err, line, sizeof(line));
    (void)ipmi_last_line(err, line, 1);
    if (ipmi_find_refusal(err, line, sizeof(line)) &&
        strlen(line) < sizeof(line) - 1 && !strstr(line, " failed: "))
        abort();
    (void)ipmi_is_noise_line(err);
    (void)ipmi_role_for_privilege(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > MAX_OUTPUT)
        return 0;
    int cipher_suite = (uint8_t)(data[0] - '0') % 18; /* '3' is 3, 'A' is 17 */
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    read_stdout(text);
    read_stderr(text, cipher_suite);
    free(text);
    return 0;
}
