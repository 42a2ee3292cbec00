/* policy.h - the operator's policy (what DAGs may ask for) checked against parsed DAGs (pure). */
#ifndef SWARMFLOW_CORE_POLICY_H
#define SWARMFLOW_CORE_POLICY_H

#include <stdbool.h>

#include "swarmflow/core/config.h"
#include "swarmflow/core/dag.h"

/* Checks every task of dag against p, one rule at a time (a table in policy.c):
 * - bind mounts: the source, normalised ("//" and "/./" collapsed, a trailing '/' dropped;
 *   relative paths and ".." components refused), must be one of p->bind_mount_prefixes or lie
 *   under one on a path boundary ("/srv" allows "/srv" and "/srv/x", not "/srvx"); none by
 *   default. A volume whose driver options name a host `device` path (the local driver's
 *   `type=none,o=bind,device=/etc`, or a disk) is held to the same rule.
 * - the docker socket: a source that is /var/run/docker.sock, /run/docker.sock, ends in
 *   "docker.sock", or is a folder holding one of those two ("/", "/var", "/var/run", "/run") is
 *   refused unless p->allow_docker_socket, whatever the prefixes say; when allowed, the socket
 *   itself needs no prefix.
 * - images: the image as written must match one of the p->images globs (fnmatch, no flags).
 * - networks: when p->networks is not empty, every network the task joins must be in it.
 * - cpus, reserve_cpus <= p->max_cpus when it is > 0; memory, reserve_memory <= p->max_memory
 *   when it is > 0 (a task that sets no limit is not refused).
 * Images and mount sources are never templated, so what is checked is what runs.
 * Adds one error per violation at the task's line in dag->file:
 * "dag 'x' task 'y': policy: <the rule broken, naming the setting>". Returns true when none. */
bool policy_check_dag(const struct policy *p, const struct dag *dag, struct dag_errors *errs);

/* Checks every DAG of the parsed file f against p (NULL: no policy, nothing to check). On a
 * violation the errors join f->errors and f's DAGs are destroyed (f->dags empty), as the parser
 * does for any other error. Returns true when f had no error before and has none now. */
bool policy_check_file(const struct policy *p, struct dag_file *f);

/* Replaces *dst (zeroed or finished) by a deep copy of src. */
void policy_copy(struct policy *dst, const struct policy *src);
/* Frees what p owns and zeroes it; harmless on a zeroed policy. */
void policy_finish(struct policy *p);

#endif
