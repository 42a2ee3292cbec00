/* decode.c - decoders of the engine's JSON answers into plain structs (pure, no I/O). */
#include "swarmflow/engine/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarmflow/common/util.h"

static const struct {
	const char *state;
	enum task_phase phase;
} phases[] = {
    {"new", PHASE_PENDING},       {"allocated", PHASE_PENDING}, {"pending", PHASE_PENDING},
    {"assigned", PHASE_PENDING},  {"accepted", PHASE_PENDING},  {"preparing", PHASE_PENDING},
    {"ready", PHASE_PENDING},     {"starting", PHASE_PENDING},  {"running", PHASE_RUNNING},
    {"complete", PHASE_COMPLETE}, {"failed", PHASE_FAILED},     {"rejected", PHASE_FAILED},
    {"shutdown", PHASE_FAILED},   {"orphaned", PHASE_FAILED},   {"remove", PHASE_FAILED},
};

static void copy_str(char *dst, size_t size, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	snprintf(dst, size, "%s", s);
}

static bool phase_of(const char *state, enum task_phase *out)
{
	for (size_t i = 0; i < ARRAY_LEN(phases); i++) {
		if (strcmp(phases[i].state, state) == 0) {
			*out = phases[i].phase;
			return true;
		}
	}
	return false;
}

bool task_status_decode(const json_t *task, struct task_status *out, char **err)
{
	*out = (struct task_status){0};
	if (!json_is_object(task))
		return set_err(err, "task: not a JSON object");
	const json_t *service = json_object_get(task, "ServiceID");
	const json_t *status = json_object_get(task, "Status");
	const json_t *state = json_object_get(status, "State");
	if (!json_is_string(service) || !json_is_string(state))
		return set_err(err, "task: ServiceID or Status.State missing");
	copy_str(out->id, sizeof(out->id), json_object_get(task, "ID"));
	copy_str(out->service_id, sizeof(out->service_id), service);
	copy_str(out->node_id, sizeof(out->node_id), json_object_get(task, "NodeID"));
	copy_str(out->state, sizeof(out->state), state);
	copy_str(out->err, sizeof(out->err), json_object_get(status, "Err"));
	copy_str(out->message, sizeof(out->message), json_object_get(status, "Message"));
	if (!phase_of(out->state, &out->phase))
		return set_err(err, "task %s: unknown state '%s'", out->id, out->state);
	/* The engine reports ExitCode 0 for tasks whose container never existed (rejected):
	 * an exit code counts only when there was a container. A container that exited 0 ends
	 * `complete`, so a 0 on a task that failed is no exit at all: the container was killed
	 * or lost (a dockerd restart: "No such container"), and the error says why. */
	const json_t *cstatus = json_object_get(status, "ContainerStatus");
	const json_t *code = json_object_get(cstatus, "ExitCode");
	const json_t *container = json_object_get(cstatus, "ContainerID");
	if (json_is_integer(code) && json_is_string(container) && json_string_length(container) &&
	    !(out->phase == PHASE_FAILED && json_integer_value(code) == 0)) {
		out->has_exit_code = true;
		out->exit_code = (int)json_integer_value(code);
	}
	const json_t *index = json_object_get(json_object_get(task, "Version"), "Index");
	out->version = json_is_integer(index) ? json_integer_value(index) : 0;
	return true;
}

/* True when candidate should replace best as the task that speaks for the service. */
static bool better(const struct task_status *candidate, const struct task_status *best)
{
	bool cand_live = candidate->phase == PHASE_PENDING || candidate->phase == PHASE_RUNNING;
	bool best_live = best->phase == PHASE_PENDING || best->phase == PHASE_RUNNING;
	if (cand_live != best_live)
		return cand_live;
	return candidate->version > best->version;
}

bool task_status_pick(const json_t *tasks, const char *service_id, struct task_status *out)
{
	bool found = false;
	size_t i;
	const json_t *task;
	json_array_foreach(tasks, i, task)
	{
		const json_t *sid = json_object_get(task, "ServiceID");
		if (!json_is_string(sid) || strcmp(json_string_value(sid), service_id) != 0)
			continue;
		struct task_status st;
		char *err = NULL;
		if (!task_status_decode(task, &st, &err)) {
			free(err);
			continue;
		}
		if (!found || better(&st, out)) {
			*out = st;
			found = true;
		}
	}
	return found;
}
