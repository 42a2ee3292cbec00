/* fake_priv.h - what the fake engine's two files share (not part of its interface). */
#ifndef SWARMFLOW_TESTS_FAKE_PRIV_H
#define SWARMFLOW_TESTS_FAKE_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "fake_engine.h"

struct record {
	struct fake_request req;
	char *raw;
	size_t raw_len;
};

struct fault {
	char *match, *status, *body;
	int left; /* < 0: until cleared */
};

struct script {
	char *key; /* NULL: the default */
	struct fake_step *steps;
	size_t n_steps;
	char *log;
};

struct service {
	struct fake_service info;
	json_t *spec;
	const struct script *script; /* NULL: the built-in default (pointer into fe->scripts) */
	size_t step;                 /* the next step GET /tasks shows */
	int64_t version;
};

struct named {
	char *kind, *name, *id;
};

/* A simulated swarm node (GET /nodes). */
struct fake_node {
	char id[32];
	char hostname[64];
	char state[16];
	bool manager;
};

struct fake_engine {
	char dir[64], sock[108];
	int lfd, stop[2];
	pthread_t thread;
	bool started;
	int *held; /* connections left unanswered (serving thread only) */
	size_t n_held;
	const struct fake_route *routes;
	bool swarm;
	char api_version[16];
	int parallel_delay_ms;

	pthread_mutex_t mu; /* guards everything below */
	struct record *reqs;
	size_t n_reqs;
	struct fault *faults;
	size_t n_faults;
	struct script *scripts[64]; /* stable addresses: services point at them */
	size_t n_scripts;
	struct service *svcs;
	size_t n_svcs, live, max_live;
	unsigned next_id;
	struct named *named;
	size_t n_named;
	struct fake_node nodes[8]; /* fake_swarm.c; node1 is added at the first use */
	size_t n_nodes;
	pthread_t *workers; /* parallel mode: one thread per connection, joined at the end */
	size_t n_workers;
	size_t parallel, max_parallel;
	int *streams; /* open GET /events connections (fake_engine_event writes to them) */
	size_t n_streams;
};

/* What to send back: a route, or status and body, or nothing (status NULL: hold). */
struct reply {
	const struct fake_route *route;
	char *status;
	char *body;
	size_t body_len;
	const char *type;
	bool stream; /* GET /events: headers now, then the connection is kept as an event stream */
};

/* fake_swarm.c: the simulated swarm's answer to a request (lock held); rawq is the query as
 * sent. */
void fake_swarm_answer(struct fake_engine *fe, const struct record *rec, const char *rawq,
		       struct reply *out);
/* Creates a service from spec (copied), lock held; NULL with out set to the engine's error. */
struct service *fake_swarm_service_new(struct fake_engine *fe, const json_t *spec,
				       struct reply *out);
/* Sets out to status and a copy of body (len bytes) with that Content-Type. */
void fake_reply_text(struct reply *out, const char *status, const char *type, const char *body,
		     size_t len);
/* %XX-decodes len bytes of s (caller frees). */
char *fake_url_decode(const char *s, size_t len);

#endif
