/* rows_pool.h - the batches of a long JSON listing encoded by worker threads and written in
 * order (rows_pool.c). */
#ifndef SWARMFLOW_CLI_ROWS_POOL_H
#define SWARMFLOW_CLI_ROWS_POOL_H

#include <stddef.h>
#include <stdio.h>

#include "rows.h"

/* At most this many workers, whatever the machine has. */
#define ROW_POOL_MAX_WORKERS 4

struct row_pool;

/* Starts `workers` threads (1 to ROW_POOL_MAX_WORKERS) that encode the batches given to
 * row_pool_submit; NULL when no thread could start (the caller then encodes them itself). */
struct row_pool *row_pool_create(size_t workers);

/* Hands over a batch: `len` items of `kind` in `items` (a malloc'd array the pool now owns, as
 * it owns what the items own, and the strings of *strings, left empty), the first being row
 * `first` of the listing. Writes to out every batch before it that is encoded, in order; waits
 * while as many batches as the pool holds are in flight. */
void row_pool_submit(struct row_pool *p, const struct row_kind *kind, void *items, size_t len,
		     size_t first, struct strpool *strings, FILE *out);

/* Waits for every batch handed over and writes them to out, in order; the workers stay. */
void row_pool_drain(struct row_pool *p, FILE *out);

/* Stops the workers and frees the pool with every batch still in it, written or not. Accepts
 * NULL. */
void row_pool_destroy(struct row_pool *p);

#endif
