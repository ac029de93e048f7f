/* taskid.h - task ids: canonical lowercase UUIDv7 strings (RFC 9562).
 *
 * Layout (bytes of the 128-bit value, string groups 8-4-4-4-12):
 *   bytes 0-5   unix_ts_ms, big endian (48 bits)
 *   byte  6     0x70 | 4 random bits      (version 7)
 *   byte  7     8 random bits
 *   byte  8     0x80 | 6 random bits      (variant 10)
 *   byte  9     NODE ID (BMC_NODE_ID, 0-255): string characters 21-22,
 *               i.e. the last two hex digits of the fourth group
 *               xxxxxxxx-xxxx-7xxx-vvNN-xxxxxxxxxxxx
 *   bytes 10-15 48 random bits
 * 66 random bits per millisecond and node, from getrandom(2) on every call
 * (no buffered state, so forked processes never share random bytes).
 * A front proxy routes GET /tasks/{id} to the node named by NN.
 * Owns: nothing; callers supply buffers. */
#ifndef BMC_TASKID_H
#define BMC_TASKID_H

#include <stdint.h>

#define TASK_ID_LEN 36

/* A new id for NODE_ID (0-255) timestamped now, into OUT. 0 or -1 (errno). */
int taskid_new(int node_id, char out[TASK_ID_LEN + 1]);

/* Build the id for UNIX_MS, NODE_ID and 10 bytes of RANDOMNESS into BIN. */
void taskid_compose(uint64_t unix_ms, int node_id, const uint8_t random[10],
                    uint8_t bin[16]);

/* Fill RANDOM with 10 bytes from getrandom(2). 0 or -1. */
int taskid_random(uint8_t random[10]);

/* Format the 16-byte BIN as the canonical lowercase string into OUT. */
void taskid_format(const uint8_t bin[16], char out[TASK_ID_LEN + 1]);

/* Decode ID (canonical lowercase v7 only) into BIN. 0 or -1. */
int taskid_decode(const char *id, uint8_t bin[16]);

/* Embedded time (Unix seconds) and node of ID; -1 if ID is not a canonical
 * lowercase UUIDv7 string. Either out pointer may be NULL. */
int taskid_parse(const char *id, double *unix_seconds_out, int *node_id_out);

#endif
