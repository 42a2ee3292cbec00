/* spec.h - the ServiceSpec builder: a pure function from a task try to Engine API JSON. */
#ifndef SWARMFLOW_CORE_SPEC_H
#define SWARMFLOW_CORE_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "swarmflow/core/dag.h"
#include "swarmflow/core/template.h"

/* The first engine API whose replicated-job services can be removed safely. Before Docker 24
 * (API 1.43), removing a replicated-job service whose task runs leaves the container running
 * (moby/moby#44312, seen here on 20.10): older engines get mode replicated with 1 replica and
 * restart condition none instead, which stops the container on removal. */
#define SPEC_JOB_MODE_API_MAJOR 1
#define SPEC_JOB_MODE_API_MINOR 43

/* Longest service name Swarm accepts. */
#define SPEC_NAME_MAX 63

/* Everything the builder needs for one try; nothing is looked up or read. */
struct spec_input {
	const struct dag *dag;
	const struct task *task;
	const struct template_ctx *tctx; /* run_id, try_number, dates and conf */
	const char *instance;            /* swarmflow.instance label */
	const char *service_prefix;      /* "swarmflow" by default */
	bool job_mode; /* engine API >= 1.43 (see SPEC_JOB_MODE_API_*): mode replicated-job */
	/* IDs of task->secrets and task->configs, same order, looked up by the caller. NULL (or a
	 * NULL entry) leaves SecretID/ConfigID out, as `dags show --spec` does without an engine.
	 */
	const char *const *secret_ids;
	const char *const *config_ids;
};

/* Returns a new ServiceSpec (caller json_decref()s it), or NULL with *err set when a template
 * fails to render (e.g. a conf.KEY missing from the run's conf). The spec carries: Name (see
 * spec_service_name), Labels (the task's labels plus swarmflow.managed/dag_id/run_id/task_id/
 * try_number/instance, and swarmflow.map_index for a mapped instance, i.e. when tctx->item is
 * set), TaskTemplate.ContainerSpec (Image, Args/Command, Env, Dir, User,
 * Hostname, Labels with the same swarmflow labels, Mounts, Secrets, Configs, TTY, Init),
 * Resources, Placement, Networks, LogDriver, RestartPolicy {Condition: none}, and Mode
 * ReplicatedJob {MaxConcurrent 1, TotalCompletions 1} or Replicated {Replicas 1}. */
json_t *spec_build(const struct spec_input *in, char **err);

/* Writes the service name for a try: "<prefix>_<dag>_<task>_<8 hex>", the first part cut so that
 * the whole is at most SPEC_NAME_MAX characters. The 8 hex digits are a hash of (instance, dag,
 * run, task, try): the same try always gets the same name. Characters Swarm refuses are
 * replaced by '-'. */
void spec_service_name(const char *prefix, const char *instance, const char *dag_id,
		       const char *run_id, const char *task_id, int try_number,
		       char out[static SPEC_NAME_MAX + 1]);
/* The same for instance map_index of a mapped task (-1: not mapped, as spec_service_name):
 * "<prefix>_<dag>_<task>-<index>_<8 hex>", the index in the hash too. */
void spec_service_name_mapped(const char *prefix, const char *instance, const char *dag_id,
			      const char *run_id, const char *task_id, int try_number,
			      int map_index, char out[static SPEC_NAME_MAX + 1]);

/* Parses one `--mount` string ("type=volume,source=x,target=/data,readonly", bind, tmpfs,
 * volume-driver, volume-opt, volume-label, volume-nocopy, bind-propagation, tmpfs-size,
 * tmpfs-mode; src/dst/destination as aliases; type defaults to volume) into an Engine Mount
 * object (caller decrefs), or NULL with *err naming the bad part. */
json_t *mount_parse(const char *s, char **err);

#endif
