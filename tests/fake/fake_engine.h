/* fake_engine.h - a fake Docker Engine on a unix socket for tests: scripted answers, injected
 * faults and a simulated swarm, with every request recorded. */
#ifndef SWARMFLOW_TESTS_FAKE_ENGINE_H
#define SWARMFLOW_TESTS_FAKE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One scripted answer, for a request whose request line ("GET /v1.41/info HTTP/1.1")
 * contains match. Arrays of routes end with a NULL match. */
struct fake_route {
	const char *match;
	const char *status; /* "200 OK": status line + body as JSON with its Content-Length */
	const char *body;
	const char *raw;     /* instead of status and body: written as is */
	void (*gen)(int fd); /* after raw: writes the rest of the answer (with fake_write) */
	size_t raw_len;      /* when raw holds NUL bytes; 0: strlen(raw) */
};

/* One state of a simulated swarm task, as GET /tasks shows it. */
struct fake_step {
	const char *state;   /* Status.State: "pending", "running", "complete", "failed", ... */
	bool container;      /* a container exists: ContainerStatus.ContainerID is set */
	int exit_code;       /* ContainerStatus.ExitCode (with a container) */
	const char *err;     /* Status.Err, or NULL */
	const char *message; /* Status.Message, or NULL for the state's name */
};

#define FAKE_PENDING                                                                               \
	{                                                                                          \
		"pending", false, 0, NULL, NULL                                                    \
	}
#define FAKE_RUNNING                                                                               \
	{                                                                                          \
		"running", true, 0, NULL, NULL                                                     \
	}
#define FAKE_COMPLETE                                                                              \
	{                                                                                          \
		"complete", true, 0, NULL, NULL                                                    \
	}
/* A container that exited with code (non-zero), as the engine reports it. */
#define FAKE_EXIT(code, err)                                                                       \
	{                                                                                          \
		"failed", true, (code), (err), NULL                                                \
	}
/* A task the orchestrator cannot place: it stays pending with this reason. */
#define FAKE_STUCK(err)                                                                            \
	{                                                                                          \
		"pending", false, 0, (err), NULL                                                   \
	}

/* How the task of a simulated service goes: the n_steps states, one per GET /tasks that asks
 * about the service; the last one repeats. Chosen when the service is created: by key equal to
 * its swarmflow.task_id label, else to its shell command (Args = /bin/sh -c KEY). */
struct fake_script {
	const char *key; /* NULL: the default script (pending, running, complete with code 0) */
	const struct fake_step *steps;
	size_t n_steps;
	const char *log; /* what the container printed (stdout); NULL: nothing */
};

struct fake_engine_opts {
	/* Tried first, in order (the array must outlive the fake). NULL: none. */
	const struct fake_route *routes;
	/* Simulate a swarm for what no route answers: /version, /info, /services (create, list,
	 * inspect, delete, logs), /tasks, /nodes, /secrets, /configs. Without it such a request
	 * gets no answer at all (the connection is held open until fake_engine_destroy). */
	bool swarm;
	const char *api_version; /* GET /version's ApiVersion in swarm mode; NULL: "1.41" */
	/* > 0: every connection is served on a thread of its own, which waits this long before
	 * answering, and the fake counts how many it served at once (fake_engine_max_parallel):
	 * requests a client makes at once then overlap. 0: one connection after the other. */
	int parallel_delay_ms;
};

/* A request as the fake got it. */
struct fake_request {
	char *method; /* "GET" */
	char *path;   /* "/v1.41/tasks" */
	char *query;  /* URL-decoded, without '?': "filters={\"service\":[\"svc0001\"]}"; or "" */
	char *body;   /* "" when none */
};

/* A simulated service, alive or removed. */
struct fake_service {
	char id[32];
	char name[80];
	char task_id[80]; /* its swarmflow.task_id label, or "" */
	bool removed;
	size_t polls;   /* GET /tasks that asked about it */
	char state[24]; /* its task's state as last shown ("" before the first GET /tasks) */
};

struct fake_engine;

/* Starts a fake engine on a new socket in a new temporary directory, served by a thread.
 * Returns NULL (errno set) when it cannot. Stop and free with fake_engine_destroy (accepts
 * NULL), which also removes the socket and its directory. */
struct fake_engine *fake_engine_create(const struct fake_engine_opts *opts);
void fake_engine_destroy(struct fake_engine *fe);
/* The socket's path (owned by fe). */
const char *fake_engine_socket(const struct fake_engine *fe);

/* Adds (or replaces, for the same key) a script; copied. Applies to services created after. */
void fake_engine_script(struct fake_engine *fe, const struct fake_script *script);
/* The next `times` requests (times < 0: every one until fake_engine_faults_clear) whose request
 * line contains match get status and the JSON body, before any route or the swarm; status NULL:
 * they get no answer at all (held open until fake_engine_destroy). Copied. */
void fake_engine_fault(struct fake_engine *fe, const char *match, const char *status,
		       const char *body, int times);
void fake_engine_faults_clear(struct fake_engine *fe);
/* Creates a service as POST /services/create would (spec is copied). Returns its ID (caller
 * frees), or NULL when a live service has that Name or spec has no Name. */
char *fake_engine_service_add(struct fake_engine *fe, json_t *spec);
/* Adds a secret (kind "secrets") or config ("configs") named name. Returns its ID (caller
 * frees). */
char *fake_engine_named_add(struct fake_engine *fe, const char *kind, const char *name);

/* Sets the Status.State ("ready", "down", "disconnected", ...) of the simulated node id, adding
 * it (a worker with hostname "host-<id>") when it is new. The swarm starts with one node, "node1"
 * (a ready manager). A service's task runs on the node its constraints name with "node.id==ID",
 * else on node1; its state follows its script whatever its node's state (as a real manager shows
 * a task that ran on a node that died: still running). */
void fake_engine_node_state(struct fake_engine *fe, const char *id, const char *state);

/* Number of requests received so far. */
size_t fake_engine_request_count(struct fake_engine *fe);
/* Number of requests from index `from` on whose method is method (NULL: any) and whose path
 * ends with path_suffix (NULL: any), e.g. ("GET", "/tasks") or ("DELETE", "/services/ID"). */
size_t fake_engine_count(struct fake_engine *fe, size_t from, const char *method,
			 const char *path_suffix);
/* Copies request i into *out (free with fake_request_finish). False when there is none. */
bool fake_engine_request_get(struct fake_engine *fe, size_t i, struct fake_request *out);
void fake_request_finish(struct fake_request *r);
/* Every request as received (headers and body), each followed by "\n====\n" (caller frees). */
char *fake_engine_raw_requests(struct fake_engine *fe);

/* Copies up to max simulated services, in creation order, into out; returns how many exist
 * (removed ones included). */
size_t fake_engine_services(struct fake_engine *fe, struct fake_service *out, size_t max);
/* Services alive now, and the most that were alive at once. */
size_t fake_engine_live(struct fake_engine *fe);
size_t fake_engine_max_live(struct fake_engine *fe);
/* With parallel_delay_ms: the most requests that were being answered at the same time since
 * the last call (which starts the count again). */
size_t fake_engine_max_parallel(struct fake_engine *fe);

/* Event streams: in swarm mode a GET .../events (that no fault or route answers first) gets
 * "200 OK" and its connection is kept open; whatever the tests send next goes to every stream
 * open at that time. fake_engine_event sends line and a newline, fake_engine_event_raw len bytes
 * as they are; both return how many streams got them. fake_engine_events_cut closes every open
 * stream (the engine cut them) and returns how many; fake_engine_events_open counts them. */
size_t fake_engine_event(struct fake_engine *fe, const char *line);
size_t fake_engine_event_raw(struct fake_engine *fe, const void *data, size_t len);
size_t fake_engine_events_cut(struct fake_engine *fe);
size_t fake_engine_events_open(struct fake_engine *fe);

/* Writes all of data to a client (for fake_route.gen). False when the client went away. */
bool fake_write(int fd, const void *data, size_t len);

#endif
