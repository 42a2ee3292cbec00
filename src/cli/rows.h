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
	/* In an object reused for the next row (cli_rows_encode): its member the next setter
	 * writes, NULL past the last. Members come in the order they were first set, so that each
	 * setter finds its old value without a hash lookup. */
	void *next;
};

void json_row_begin(struct json_row *r);
/* The built object, which the caller then owns. */
json_t *json_row_take(struct json_row *r);

/* Members: a string (NULL: null), an integer, null, a time in ms as
 * "2026-11-21T18:00:00.000Z" (0: null). */
void json_row_str(struct json_row *r, const char *key, const char *v);
void json_row_int(struct json_row *r, const char *key, long long v);
void json_row_null(struct json_row *r, const char *key);
void json_row_time_ms(struct json_row *r, const char *key, int64_t ms);
/* A member parsed from JSON text: {} when the text is NULL, "{}" or not JSON. */
void json_row_object_text(struct json_row *r, const char *key, const char *text);

/* The members of a run and of a task instance. */
void cli_run_fields(struct json_row *r, const struct run *run);
void cli_ti_fields(struct json_row *r, const struct ti *ti);
/* The same objects built (tree); the caller frees them. */
json_t *cli_run_json(const struct run *run);
json_t *cli_ti_json(const struct ti *ti);

/* A kind of row: the size of its struct, the function that writes its members and the one that
 * frees what it owns (nothing for a copied run: its strings are its batch's strpool's). */
struct row_kind {
	size_t size;
	void (*fields)(struct json_row *r, const void *item);
	void (*finish)(void *item);
};

/* Appends to out the JSON of `len` items of `kind`, each after its separator: ",\n", or "\n"
 * before row 0 of the listing (items[0] is row `first`). Each is built in *obj, made when NULL
 * and reused for the next (the caller frees it). */
void cli_rows_encode(const struct row_kind *kind, const void *items, size_t len, size_t first,
		     json_t **obj, struct buf *out);

struct row_pool;

/* A JSON array written to out one element at a time (10,000 rows never become one document):
 * "[", then each element on its own line after ",\n" (the first after "\n"), then "\n]\n" ("]\n"
 * when empty). Rows are gathered in batches; once a listing fills one, its batches are encoded
 * by worker threads (rows_pool.c) and written in order, so that a long listing uses every core
 * and a short one starts no thread. */
struct json_stream {
	FILE *out;
	size_t n;       /* rows given so far */
	json_t *row;    /* the object the rows encoded here are built in, reused */
	size_t batch;   /* rows per batch */
	size_t workers; /* worker threads for the batches (0: every row is encoded here) */
	const struct row_kind *kind; /* of the rows in items */
	unsigned char *items;        /* the batch being filled: len rows of kind */
	size_t len;
	struct strpool strings; /* the strings of its copied runs */
	struct row_pool *pool;  /* started when the first batch is full */
};
/* Rows per batch (and the fewest rows a listing has before it starts worker threads). */
#define JSON_STREAM_BATCH 256
void cli_json_stream_begin(struct json_stream *js, FILE *out);
/* The same with `batch` rows per batch and `workers` threads (0: none), for the tests. */
void cli_json_stream_begin_with(struct json_stream *js, FILE *out, size_t batch, size_t workers);
/* Copies a run as the next element (the store's borrowed rows: store_runs_each). */
void cli_json_stream_run(struct json_stream *js, const struct run *run);
/* Takes a task instance as the next element: its contents move into the stream, and *ti is left
 * empty (ti_finish frees nothing). */
void cli_json_stream_ti(struct json_stream *js, struct ti *ti);
/* Writes v (compact) as the next element, after every row given before, and frees it. */
void cli_json_stream_item(struct json_stream *js, json_t *v);
/* Closes the array and frees what the stream kept. */
void cli_json_stream_end(struct json_stream *js);
/* Writes the rows given so far, frees what the stream kept and leaves the array open (a listing
 * that failed midway: what was written is not valid JSON, on purpose). */
void cli_json_stream_drop(struct json_stream *js);

#endif
