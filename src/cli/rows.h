/* rows.h - the JSON objects of `runs list --json` and `tasks list --json`, built or streamed. */
#ifndef SWARMFLOW_CLI_ROWS_H
#define SWARMFLOW_CLI_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "swarmflow/common/util.h"
#include "swarmflow/store/store.h"

/* One JSON object being written, one member at a time, in one of two ways: built as a jansson
 * object (tree, for callers that want a json_t), or written straight as text (streamed, for
 * 10,000 rows: no tree, no allocation per member) in exactly the bytes json_dumps(tree,
 * JSON_COMPACT) gives. The members of each kind of object are written by ONE function
 * (cli_run_fields, cli_ti_fields) that serves both ways, so a member added there shows up in
 * both; test_rows checks that the bytes are the same. Strings that are not valid UTF-8 get
 * U+FFFD for each bad byte, both ways (jansson refuses them). */
struct json_row {
	json_t *tree;    /* tree: the object being built; NULL when streamed */
	struct buf text; /* streamed: the object's text so far */
	bool empty;      /* no member yet */
};

/* Starts an object: tree (json_row_take then gives it) or streamed (text in r->text). */
void json_row_begin(struct json_row *r, bool tree);
/* Ends the object (the closing brace of a streamed one). */
void json_row_end(struct json_row *r);
/* The built object (tree), which the caller then owns. */
json_t *json_row_take(struct json_row *r);
void json_row_finish(struct json_row *r);

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

/* A JSON array written to out one element at a time: "[", then each element on its own line
 * after ",\n" (the first after "\n"), then "\n]\n" ("]\n" when empty). */
struct json_stream {
	FILE *out;
	size_t n;
};
void cli_json_stream_begin(struct json_stream *js, FILE *out);
/* Writes the streamed object r as the next element. */
void cli_json_stream_row(struct json_stream *js, const struct json_row *r);
/* Streams a run or a task instance as the next element, through r (reused from one element
 * to the next: its buffer is kept; json_row_finish it at the end). */
void cli_json_stream_run(struct json_stream *js, struct json_row *r, const struct run *run);
void cli_json_stream_ti(struct json_stream *js, struct json_row *r, const struct ti *ti);
/* Writes v (compact) as the next element and frees it. */
void cli_json_stream_item(struct json_stream *js, json_t *v);
void cli_json_stream_end(struct json_stream *js);

#endif
