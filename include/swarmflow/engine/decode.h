/* decode.h - decoders of the engine's JSON answers into plain structs (pure, no I/O). */
#ifndef SWARMFLOW_ENGINE_DECODE_H
#define SWARMFLOW_ENGINE_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Where a swarm task is in its life, from swarmflow's point of view. */
enum task_phase {
	PHASE_PENDING, /* new, allocated, pending, assigned, accepted, preparing, ready, starting */
	PHASE_RUNNING, /* running */
	PHASE_COMPLETE, /* complete: the container exited */
	PHASE_FAILED,   /* failed, rejected, shutdown, orphaned, remove */
};

/* One entry of GET /tasks. Strings are cut to fit. */
struct task_status {
	char id[80];
	char service_id[80];
	char node_id[80];
	char state[24];    /* the engine's Status.State */
	char err[512];     /* Status.Err ("" when none) */
	char message[256]; /* Status.Message */
	enum task_phase phase;
	bool has_exit_code; /* only when a container existed (ContainerStatus.ContainerID) */
	int exit_code;      /* Status.ContainerStatus.ExitCode */
	int64_t version;    /* Version.Index */
};

/* Decodes one task object. False (with *err set) when ServiceID or Status.State is missing or
 * not a string, or the state is unknown. */
bool task_status_decode(const json_t *task, struct task_status *out, char **err);

/* From an array of tasks (GET /tasks), picks the one that speaks for service_id: a task not yet
 * finished if there is one, else the one updated last (highest Version.Index). Returns false when
 * the service has no task in the array. Entries that fail to decode are skipped. */
bool task_status_pick(const json_t *tasks, const char *service_id, struct task_status *out);

#endif
