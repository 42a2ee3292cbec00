/* fuzz_decode.c - libFuzzer target: the engine's GET /tasks answers through task_status_decode
 * and task_status_pick. Input: JSON (an array of tasks, or one task). */
#include "fuzz.h"

#include "swarmflow/engine/decode.h"

/* task_status_pick is checked for the services of this many tasks of an array. */
#define PICKS_MAX 8

/* The phase each Status.State maps to, as decode.h documents it. */
static bool phase_of(const char *state, enum task_phase *out)
{
	static const char *const by_phase[][8] = {
	    [PHASE_PENDING] = {"new", "allocated", "pending", "assigned", "accepted", "preparing",
			       "ready", "starting"},
	    [PHASE_RUNNING] = {"running"},
	    [PHASE_COMPLETE] = {"complete"},
	    [PHASE_FAILED] = {"failed", "rejected", "shutdown", "orphaned", "remove"},
	};
	for (size_t p = 0; p < sizeof(by_phase) / sizeof(by_phase[0]); p++) {
		for (size_t i = 0; i < 8 && by_phase[p][i]; i++) {
			if (strcmp(state, by_phase[p][i]) == 0) {
				*out = (enum task_phase)p;
				return true;
			}
		}
	}
	return false;
}

/* True when dst holds src cut to fit size bytes (what "strings are cut to fit" promises). */
static bool cut_copy(const char *dst, size_t size, const json_t *src)
{
	const char *s = json_is_string(src) ? json_string_value(src) : "";
	size_t n = strnlen(dst, size);
	return n < size && strncmp(dst, s, n) == 0 && (s[n] == '\0' || n == size - 1);
}

static bool live(enum task_phase p)
{
	return p == PHASE_PENDING || p == PHASE_RUNNING;
}

static bool same_status(const struct task_status *a, const struct task_status *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->service_id, b->service_id) == 0 &&
	       strcmp(a->node_id, b->node_id) == 0 && strcmp(a->state, b->state) == 0 &&
	       strcmp(a->err, b->err) == 0 && strcmp(a->message, b->message) == 0 &&
	       a->phase == b->phase && a->has_exit_code == b->has_exit_code &&
	       a->exit_code == b->exit_code && a->version == b->version;
}

/* Decodes one task and checks the result against the JSON it came from. */
static bool decode_checked(const json_t *task, struct task_status *st)
{
	char *err = NULL;
	bool ok = task_status_decode(task, st, &err);
	CHECK(ok == (err == NULL));
	free(err);
	const json_t *status = json_object_get(task, "Status");
	const json_t *state = json_object_get(status, "State");
	enum task_phase phase;
	bool decodable = json_is_object(task) &&
			 json_is_string(json_object_get(task, "ServiceID")) &&
			 json_is_string(state) && phase_of(json_string_value(state), &phase);
	CHECK(ok == decodable);
	if (!ok)
		return false;
	CHECK(st->phase == phase);
	CHECK(strcmp(st->state, json_string_value(state)) == 0);
	CHECK(cut_copy(st->id, sizeof(st->id), json_object_get(task, "ID")));
	CHECK(cut_copy(st->service_id, sizeof(st->service_id), json_object_get(task, "ServiceID")));
	CHECK(cut_copy(st->node_id, sizeof(st->node_id), json_object_get(task, "NodeID")));
	CHECK(cut_copy(st->err, sizeof(st->err), json_object_get(status, "Err")));
	CHECK(cut_copy(st->message, sizeof(st->message), json_object_get(status, "Message")));
	const json_t *cs = json_object_get(status, "ContainerStatus");
	const json_t *cid = json_object_get(cs, "ContainerID");
	const json_t *code = json_object_get(cs, "ExitCode");
	/* an exit code counts only with a container, and a failed task's 0 is no exit */
	CHECK(st->has_exit_code ==
	      (json_is_string(cid) && json_string_length(cid) > 0 && json_is_integer(code) &&
	       !(phase == PHASE_FAILED && json_integer_value(code) == 0)));
	CHECK(st->has_exit_code || st->exit_code == 0);
	const json_t *index = json_object_get(json_object_get(task, "Version"), "Index");
	CHECK(st->version == (json_is_integer(index) ? json_integer_value(index) : 0));
	return true;
}

/* task_status_pick for service_id, against what decode.h promises. */
static void check_pick(const json_t *tasks, const char *service_id)
{
	struct task_status got, st;
	bool found = task_status_pick(tasks, service_id, &got);
	bool any = false, any_live = false;
	size_t i;
	const json_t *task;
	json_array_foreach(tasks, i, task)
	{
		const json_t *sid = json_object_get(task, "ServiceID");
		if (!json_is_string(sid) || strcmp(json_string_value(sid), service_id) != 0 ||
		    !decode_checked(task, &st))
			continue;
		any = true;
		any_live |= live(st.phase);
	}
	CHECK(found == any);
	if (!found)
		return;
	/* the pick is one of the service's tasks: a live one when there is one, and none of its
	 * kind was updated later */
	CHECK(live(got.phase) == any_live);
	bool seen = false;
	json_array_foreach(tasks, i, task)
	{
		const json_t *sid = json_object_get(task, "ServiceID");
		if (!json_is_string(sid) || strcmp(json_string_value(sid), service_id) != 0 ||
		    !decode_checked(task, &st))
			continue;
		seen |= same_status(&st, &got);
		if (live(st.phase) == live(got.phase))
			CHECK(st.version <= got.version);
	}
	CHECK(seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!root)
		return 0;
	struct task_status st;
	if (!json_is_array(root)) {
		decode_checked(root, &st);
		CHECK(!task_status_pick(root, "x", &st)); /* not an array: no task */
		json_decref(root);
		return 0;
	}
	size_t i;
	const json_t *task;
	json_array_foreach(root, i, task)
	{
		decode_checked(task, &st);
		/* the services of the first few tasks (every one would be quadratic) */
		const json_t *sid = json_object_get(task, "ServiceID");
		if (i < PICKS_MAX && json_is_string(sid))
			check_pick(root, json_string_value(sid));
	}
	check_pick(root, "");
	json_decref(root);
	return 0;
}
