/* rows_pool.c - the batches of a long JSON listing encoded by worker threads and written in
 * order: jansson's dump is most of a listing's time, and it runs on every core while the main
 * thread reads the store. */
#include "rows_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* Batches in flight at most (handed over and not yet written): one for each worker, one being
 * written and one ready for the next free worker. What a listing holds in memory, whatever its
 * length; every slot is new memory the first time round (2 workers, 8 slots: 434 page faults of
 * the 10,000-run listing; 4 slots: 326). */
#define RING (ROW_POOL_MAX_WORKERS + 2)

enum batch_state {
	BATCH_READY, /* handed over, not taken by a worker yet */
	BATCH_BUSY,  /* a worker encodes it */
	BATCH_DONE,  /* encoded (or, when the pool is destroyed, skipped) */
};

struct batch {
	const struct row_kind *kind;
	unsigned char *items; /* len items of kind, freed once written */
	size_t len, first;
	struct strpool strings; /* what the items point to besides what they own */
	struct buf text;        /* the encoded rows, separators included */
	enum batch_state state;
};

struct row_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a batch is READY, or the pool closes */
	pthread_cond_t done; /* a batch is DONE */
	/* Batches head..tail-1 (mod depth) are in flight, in listing order. Only the main thread
	 * moves head and tail; a worker only touches the batch it marked BUSY. */
	struct batch ring[RING];
	size_t depth; /* slots used: the workers asked for + 2 */
	size_t head, tail;
	bool closing;
	size_t nworkers;
	pthread_t worker[ROW_POOL_MAX_WORKERS];
};

static void batch_free_items(struct batch *b)
{
	for (size_t i = 0; i < b->len; i++)
		b->kind->finish(b->items + i * b->kind->size);
	free(b->items);
	strpool_finish(&b->strings);
	b->items = NULL;
	b->len = 0;
}

/* The first READY batch in listing order, NULL when none; mu held. */
static struct batch *next_ready(struct row_pool *p)
{
	for (size_t i = p->head; i < p->tail; i++) {
		struct batch *b = &p->ring[i % p->depth];
		if (b->state == BATCH_READY)
			return b;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct row_pool *p = arg;
	json_t *obj = NULL; /* this worker's row object, reused */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct batch *b = next_ready(p);
		if (!b) {
			if (p->closing)
				break;
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		b->state = BATCH_BUSY;
		pthread_mutex_unlock(&p->mu);
		cli_rows_encode(b->kind, b->items, b->len, b->first, &obj, &b->text);
		pthread_mutex_lock(&p->mu);
		b->state = BATCH_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	json_decref(obj);
	return NULL;
}

/* Writes the batches at the head as they are done, in order, waiting for them while more than
 * `keep` are in flight; mu held (released while writing). */
static void write_done(struct row_pool *p, FILE *out, size_t keep)
{
	while (p->head < p->tail) {
		struct batch *b = &p->ring[p->head % p->depth];
		if (b->state != BATCH_DONE) {
			if (p->tail - p->head <= keep)
				return;
			pthread_cond_wait(&p->done, &p->mu);
			continue;
		}
		/* The slot is free once head passes it, but only this thread fills slots: its text
		 * is written unlocked, and its buffer kept for the slot's next batch. */
		p->head++;
		pthread_mutex_unlock(&p->mu);
		fwrite(b->text.data, 1, b->text.len, out);
		buf_reset(&b->text);
		/* Freed here, by the thread that allocated them: malloc's per-thread cache takes
		 * them back without the arena's lock a worker's free would contend for. */
		batch_free_items(b);
		pthread_mutex_lock(&p->mu);
	}
}

struct row_pool *row_pool_create(size_t workers)
{
	struct row_pool *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (workers > ROW_POOL_MAX_WORKERS)
		workers = ROW_POOL_MAX_WORKERS;
	p->depth = workers + 2; /* before any worker reads it */
	while (p->nworkers < workers &&
	       pthread_create(&p->worker[p->nworkers], NULL, worker_main, p) == 0)
		p->nworkers++;
	if (p->nworkers == 0) {
		row_pool_destroy(p);
		return NULL;
	}
	return p;
}

void row_pool_submit(struct row_pool *p, const struct row_kind *kind, void *items, size_t len,
		     size_t first, struct strpool *strings, FILE *out)
{
	pthread_mutex_lock(&p->mu);
	write_done(p, out, p->depth - 1); /* room for this one */
	struct batch *b = &p->ring[p->tail % p->depth];
	struct buf text = b->text; /* empty, or kept from the slot's last batch */
	if (!text.data)
		buf_init(&text, 0);
	*b = (struct batch){.kind = kind,
			    .items = items,
			    .len = len,
			    .first = first,
			    .strings = *strings,
			    .text = text,
			    .state = BATCH_READY};
	*strings = (struct strpool){0};
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void row_pool_drain(struct row_pool *p, FILE *out)
{
	pthread_mutex_lock(&p->mu);
	write_done(p, out, 0);
	pthread_mutex_unlock(&p->mu);
}

void row_pool_destroy(struct row_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	for (size_t i = p->head; i < p->tail; i++) /* not to be encoded any more */
		if (p->ring[i % p->depth].state == BATCH_READY)
			p->ring[i % p->depth].state = BATCH_DONE;
	p->closing = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nworkers; i++)
		pthread_join(p->worker[i], NULL);
	for (size_t i = p->head; i < p->tail; i++)
		batch_free_items(&p->ring[i % p->depth]);
	for (size_t i = 0; i < RING; i++)
		buf_finish(&p->ring[i].text);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
