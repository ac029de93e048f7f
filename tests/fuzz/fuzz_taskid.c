/* fuzz_taskid - libFuzzer target: task ids as they arrive in
 * GET /tasks/{id} (src/taskid.h). Input: the id text. Checked: only a
 * canonical lowercase UUIDv7 is accepted and it formats back to itself;
 * the node byte and time are those encoded. With 16 or more bytes the
 * input also drives taskid_compose, whose output must parse back. */
#include "autoconfig.h"

#include "taskid.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s)
{
    uint8_t bin[16];
    char back[TASK_ID_LEN + 1];
    double t = -1;
    int node = -1;

    int parsed = taskid_parse(s, &t, &node);
    int decoded = taskid_decode(s, bin);
    if (parsed != decoded || (parsed != 0 && parsed != -1))
        abort();
    if (decoded)
        return;
    taskid_format(bin, back);
    if (strcmp(back, s) != 0 || node != bin[9] || t < 0)
        abort();
}

static void check_compose(const uint8_t *data)
{
    uint64_t ms = 0;
    uint8_t bin[16];
    char id[TASK_ID_LEN + 1];
    double t;
    int node;

    for (int i = 0; i < 6; i++)
        ms = ms << 8 | data[i];
    taskid_compose(ms, data[6], data + 6, bin);
    taskid_format(bin, id);
    if (taskid_parse(id, &t, &node) != 0 || node != data[6] ||
        (uint64_t)(t * 1000.0 + 0.5) != ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_text(s);
    free(s);
    if (size >= 16)
        check_compose(data);
    return 0;
}
