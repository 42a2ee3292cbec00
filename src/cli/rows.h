/* rows.h - the JSON objects of `runs list --json` and `tasks list --json`, streamed a row at a
 * time. */
#ifndef SWARMFLOW_CLI_ROWS_H
#define SWARMFLOW_CLI_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

/* One JSON object being built, one member at a time (a jansson object). The members of each
 * kind of object are written by ONE function (cli_run_fields, cli_ti_fields), used by every
 * JSON output of that kind. Strings that are not valid UTF-8 get U+FFFD for each bad byte
 * (jansson refuses them). */
struct json_row {
	json_t *tree;
};

void json_row_begin(struct json_row *r);
/* The built object, which the caller then owns. */
json_t *json_row_take(struct json_row *r);

/* Members: a string (NULL: null), an integer, null, a time in ms as
 * "2026-11-21T18:00:00.000Z" (0: null), and any JSON value (taken: freed here). */
void json_row_str(struct json_row *r, const char *key, const char *v);
void json_row_int(struct json_row *r, const char *key, long long v);
void json_row_null(struct json_row *r, const char *key);
void json_row_time_ms(struct json_row *r, const char *key, int64_t ms);
void json_row_value(struct json_row *r, const char *key, json_t *v);

/* The members of a run and of a task instance. */
void cli_run_fields(struct json_row *r, const struct run *run);
void cli_ti_fields(struct json_row *r, const struct ti *ti);
/* The same objects built (tree); the caller frees them. */
json_t *cli_run_json(const struct run *run);
json_t *cli_ti_json(const struct ti *ti);

/* A JSON array written to out one element at a time, each element dumped and freed before
 * the next is made (10,000 rows never become one document): "[", then each element on its own
 * line after ",\n" (the first after "\n"), then "\n]\n" ("]\n" when empty). */
struct json_stream {
	FILE *out;
	size_t n;
	json_t *row; /* the object rows are written into, reused (see rows.c) */
};
void cli_json_stream_begin(struct json_stream *js, FILE *out);
/* Streams a run or a task instance as the next element. */
void cli_json_stream_run(struct json_stream *js, const struct run *run);
void cli_json_stream_ti(struct json_stream *js, const struct ti *ti);
/* Writes v (compact) as the next element and frees it. */
void cli_json_stream_item(struct json_stream *js, json_t *v);
/* Closes the array and frees what the stream kept. */
void cli_json_stream_end(struct json_stream *js);
/* Frees what the stream kept and leaves the array open (a listing that failed midway: what was
 * written is not valid JSON, on purpose). */
void cli_json_stream_drop(struct json_stream *js);

#endif
