#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 50_missing_image: a task whose image does not exist fails with the engine's reason within its
# pending_timeout, and its service is removed.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag noimage <<EOF_DAG
dag noimage {
  schedule   = "none"
  start_date = "2026-01-01"
  task ghost {
    image           = "swarmflow-test/does-not-exist:1"
    pending_timeout = "10s"
    shell           = "echo never"
  }
  task after {
    image    = "$IMAGE"
    upstream = {ghost}
    shell    = "echo never either"
  }
}
EOF_DAG

step "dags test noimage"
t0=$(date +%s%N)
sf_run dags test noimage
elapsed=$((($(date +%s%N) - t0) / 1000000000))
echo "dags test took ${elapsed}s"
assert_eq 1 "$RC" "exit code of dags test noimage"
((elapsed <= 40)) || fail "ghost took ${elapsed}s to fail, more than pending_timeout (10s) + 30s"

run_id=$(latest_run_id noimage)
tasks=$(tasks_json noimage "$run_id")
jq . <<<"$tasks"
assert_eq failed "$(task_field "$tasks" ghost state)" "state of ghost"
error=$(task_field "$tasks" ghost error)
# Without a registry the engine rejects the task at once ("No such image: ..."); with one it
# stays pending until the pull fails ("pull access denied ... does not exist").
assert_match "$error" 'No such image|pull access denied|does not exist|not found|manifest unknown' "error of ghost"
assert_contains "$error" "swarmflow-test/does-not-exist" "error of ghost"
assert_eq upstream_failed "$(task_field "$tasks" after state)" "state of after"

svc=$(task_field "$tasks" ghost service_name)
assert_ne null "$svc" "service_name of ghost"
! service_exists "$svc" || fail "service $svc of ghost still exists"
