/* nodeloss.c - fails a running try whose Swarm node has been down longer than node_lost_timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "swarmflow/common/log.h"
#include "swarmflow/core/units.h"

/* When a worker's engine dies, the manager marks the node `down` after its heartbeat period
 * (about 10 s here) but shows the task on it as `running` for as long as the node stays away
 * (Swarm marks it `orphaned` only after 24 h). Those Status.State values count as lost. */
static const char *const lost_states[] = {"down", "disconnected"};

/* A node seen in a lost state, and since when (monotonic, first seen so by this scheduler). */
struct node_down {
	char *id;
	char *hostname;
	char *state;
	int64_t since_mono;
	bool seen; /* in the last GET /nodes answer */
};

struct nodeloss {
	bool asked;         /* GET /nodes was sent at least once */
	int64_t asked_mono; /* the tick (mono_ms) of the last one */
	bool answered;      /* the last one succeeded: the list below is current */
	struct node_down *down;
	size_t n_down, cap_down;
	char last_error[sizeof(((struct engine_err *)0)->message)]; /* logged once while it lasts */
};

void nodeloss_destroy(struct nodeloss *nl)
{
	if (!nl)
		return;
	for (size_t i = 0; i < nl->n_down; i++) {
		free(nl->down[i].id);
		free(nl->down[i].hostname);
		free(nl->down[i].state);
	}
	free(nl->down);
	free(nl);
}

static bool is_lost_state(const char *state)
{
	for (size_t i = 0; i < ARRAY_LEN(lost_states); i++)
		if (strcmp(state, lost_states[i]) == 0)
			return true;
	return false;
}

static struct node_down *down_find(struct nodeloss *nl, const char *id)
{
	for (size_t i = 0; i < nl->n_down; i++)
		if (strcmp(nl->down[i].id, id) == 0)
			return &nl->down[i];
	return NULL;
}

static void str_set(char **dst, const char *v)
{
	if (*dst && strcmp(*dst, v) == 0)
		return;
	free(*dst);
	*dst = xstrdup(v);
}

/* Notes that node id (hostname) is in a lost state now. */
static void note_down(struct scheduler *s, struct nodeloss *nl, const char *id,
		      const char *hostname, const char *state)
{
	struct node_down *d = down_find(nl, id);
	if (!d) {
		if (nl->n_down == nl->cap_down) {
			nl->cap_down = nl->cap_down ? 2 * nl->cap_down : 4;
			nl->down = xrealloc(nl->down, nl->cap_down * sizeof(*nl->down));
		}
		d = &nl->down[nl->n_down++];
		*d = (struct node_down){.id = xstrdup(id), .since_mono = s->mono_ms};
		char limit[32];
		duration_format(s->cfg->node_lost_timeout_s, limit);
		log_warnx("node %s (%s) is %s: a try running on it fails if it stays so for %s "
			  "(node_lost_timeout)",
			  hostname, id, state, limit);
	}
	str_set(&d->hostname, hostname);
	str_set(&d->state, state);
	d->seen = true;
}

/* Forgets the nodes the last answer did not show in a lost state. */
static void drop_unseen(struct nodeloss *nl)
{
	for (size_t i = nl->n_down; i-- > 0;) {
		struct node_down *d = &nl->down[i];
		if (d->seen)
			continue;
		log_info("node %s (%s) is no longer %s", d->hostname, d->id, d->state);
		free(d->id);
		free(d->hostname);
		free(d->state);
		*d = nl->down[--nl->n_down];
	}
}

/* Reads GET /nodes into nl->down, at most once per NODES_EVERY_MS (ticks come every 50 ms
 * when ends come fast; Swarm takes about 10 s to call a node down, and node_lost_timeout
 * counts from there). False when the engine did not answer the last time: nothing is
 * decided then (the times seen so far are kept). */
#define NODES_EVERY_MS 1000
static bool refresh(struct scheduler *s, struct nodeloss *nl)
{
	if (nl->asked && s->mono_ms >= nl->asked_mono &&
	    s->mono_ms - nl->asked_mono < NODES_EVERY_MS)
		return nl->answered;
	nl->asked = true;
	nl->asked_mono = s->mono_ms;
	json_t *nodes = NULL;
	struct engine_err eerr = {0};
	nl->answered = engine_nodes_list(s->engine, &nodes, &eerr);
	if (!nl->answered) {
		if (strcmp(nl->last_error, eerr.message) != 0)
			log_warnx("engine: list nodes failed (%s): %s; node loss is not checked "
				  "meanwhile",
				  engine_err_kind_name(eerr.kind), eerr.message);
		snprintf(nl->last_error, sizeof(nl->last_error), "%s", eerr.message);
		return false;
	}
	nl->last_error[0] = '\0';
	for (size_t i = 0; i < nl->n_down; i++)
		nl->down[i].seen = false;
	size_t i;
	json_t *node;
	json_array_foreach(nodes, i, node)
	{
		const char *id = json_string_value(json_object_get(node, "ID"));
		const char *state =
		    json_string_value(json_object_get(json_object_get(node, "Status"), "State"));
		const char *host = json_string_value(
		    json_object_get(json_object_get(node, "Description"), "Hostname"));
		if (id && *id && state && is_lost_state(state))
			note_down(s, nl, id, host && *host ? host : "?", state);
	}
	drop_unseen(nl);
	json_decref(nodes);
	return true;
}

int nodeloss_check(struct scheduler *s, size_t idx, const struct task_status *st, int64_t now_ms)
{
	int64_t limit_s = s->cfg->node_lost_timeout_s;
	if (limit_s <= 0 || !st->node_id[0])
		return 0;
	if (!s->nodeloss)
		s->nodeloss = xcalloc(1, sizeof(*s->nodeloss));
	if (!refresh(s, s->nodeloss))
		return 0;
	const struct node_down *d = down_find(s->nodeloss, st->node_id);
	if (!d || s->mono_ms - d->since_mono <= limit_s * 1000)
		return 0;
	char down_for[32];
	duration_format((s->mono_ms - d->since_mono) / 1000, down_for);
	char *error =
	    xasprintf("node lost: %s (%s) %s for %s", d->hostname, d->id, d->state, down_for);
	struct inflight *f = &s->inflight[idx];
	f->node_lost = true; /* finish_try does not ask for its logs */
	log_warnx("%s: failing dag=%s run=%s task=%s try=%d service=%s (its container may still "
		  "run there)",
		  error, f->dag_id, f->run_id, f->task_id, f->try_number, f->service_name);
	/* No exit code: the container had not ended as far as anyone knows. */
	bool ok = finish_try(s, idx, false, NULL, error, now_ms);
	free(error);
	return ok ? 1 : -1;
}
