#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 60_unsatisfiable_constraint: a task no node can run stays pending; after its pending_timeout it
# fails with the engine's reason and its service is removed.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag nowhere <<EOF_DAG
dag nowhere {
  schedule   = "none"
  start_date = "2026-01-01"
  task stuck {
    image           = "$IMAGE"
    constraints     = {"node.labels.nope==1"}
    pending_timeout = "5s"
    shell           = "echo never"
  }
}
EOF_DAG

step "the ServiceSpec carries the constraint"
spec=$(sf dags show nowhere --spec stuck) || fail "dags show nowhere --spec stuck failed"
assert_eq '["node.labels.nope==1"]' "$(jq -c '.TaskTemplate.Placement.Constraints' <<<"$spec")" "Placement.Constraints"

step "dags test nowhere"
t0=$(date +%s%N)
sf_run dags test nowhere
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
echo "dags test took ${elapsed_ms}ms"
assert_eq 1 "$RC" "exit code of dags test nowhere"
((elapsed_ms >= 5000)) || fail "stuck failed after ${elapsed_ms}ms, before its pending_timeout of 5s"
((elapsed_ms <= 35000)) || fail "stuck failed after ${elapsed_ms}ms, more than pending_timeout (5s) + 30s"

run_id=$(latest_run_id nowhere)
tasks=$(tasks_json nowhere "$run_id")
jq . <<<"$tasks"
assert_eq failed "$(task_field "$tasks" stuck state)" "state of stuck"
assert_eq null "$(task_field "$tasks" stuck exit_code)" "exit_code of stuck (it never ran)"
assert_contains "$(task_field "$tasks" stuck error)" "no suitable node" "error of stuck"
assert_eq failed "$(runs_json nowhere | jq -r '.[0].state')" "run state"

svc=$(task_field "$tasks" stuck service_name)
assert_ne null "$svc" "service_name of stuck"
! service_exists "$svc" || fail "service $svc of stuck still exists"
