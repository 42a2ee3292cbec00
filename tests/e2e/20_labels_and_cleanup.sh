#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 20_labels_and_cleanup: a running task's service carries every swarmflow label, and no service
# of the instance is left after the run.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag labelled <<EOF_DAG
dag labelled {
  schedule   = "none"
  start_date = "2026-01-01"
  task sleeper {
    image = "$IMAGE"
    shell = "echo sleeping; sleep 8; echo awake"
  }
  task after {
    image    = "$IMAGE"
    upstream = {sleeper}
    shell    = "echo after"
  }
}
EOF_DAG

step "dags test labelled, in the background"
bg dags test labelled
test_pid=$BG_PID

have_service() { [[ -n $(our_services) ]]; }
wait_until 60 "a service of instance $SWARMFLOW_INSTANCE" have_service
svc=$(our_services)
assert_eq 1 "$(wc -l <<<"$svc")" "number of services while sleeper runs"
svc_id=$(docker service inspect "$svc" --format '{{.ID}}')

step "labels of service $svc"
labels=$(docker service inspect "$svc" --format '{{json .Spec.Labels}}')
tlabels=$(docker service inspect "$svc" --format '{{json .Spec.TaskTemplate.ContainerSpec.Labels}}')
echo "service labels: $labels"
echo "container labels: $tlabels"
svc_name=$(docker service inspect "$svc" --format '{{.Spec.Name}}')
assert_match "$svc_name" '^swarmflow_labelled_sleeper_[0-9a-f]{8}$' "service name"
label() { jq -r --arg k "$2" '.[$k] // "<missing>"' <<<"$1"; }
for which in labels tlabels; do
	json=${!which}
	assert_eq true "$(label "$json" swarmflow.managed)" "$which swarmflow.managed"
	assert_eq labelled "$(label "$json" swarmflow.dag_id)" "$which swarmflow.dag_id"
	assert_eq sleeper "$(label "$json" swarmflow.task_id)" "$which swarmflow.task_id"
	assert_eq 1 "$(label "$json" swarmflow.try_number)" "$which swarmflow.try_number"
	assert_eq "$SWARMFLOW_INSTANCE" "$(label "$json" swarmflow.instance)" "$which swarmflow.instance"
	run_label=$(label "$json" swarmflow.run_id)
	assert_ne "<missing>" "$run_label" "$which swarmflow.run_id"
done
assert_eq none "$(docker service inspect "$svc" --format '{{.Spec.TaskTemplate.RestartPolicy.Condition}}')" "restart condition"

step "the store says running while the service runs"
live_run=$(latest_run_id labelled)
assert_eq "$live_run" "$run_label" "swarmflow.run_id label vs runs list"
sleeper_running() { [[ $(task_field "$(tasks_json labelled "$live_run")" sleeper state) == running ]]; }
wait_until 20 "sleeper in state running in tasks list" sleeper_running
assert_eq running "$(sqlite "SELECT state FROM task_instances WHERE dag_id = 'labelled' AND run_id = '$live_run' AND task_id = 'sleeper'")" "state of sleeper in the store"
service_exists "$svc_id" || fail "the service went away while its task was running"

step "waiting for dags test to finish"
rc=0
wait "$test_pid" || rc=$?
cat "$BG_LOG"
assert_eq 0 "$rc" "exit code of dags test labelled"

run_id=$(latest_run_id labelled)
assert_eq "$run_id" "$run_label" "swarmflow.run_id label vs runs list"
tasks=$(tasks_json labelled "$run_id")
assert_eq success "$(task_field "$tasks" sleeper state)" "state of sleeper"
assert_eq success "$(task_field "$tasks" after state)" "state of after"
assert_eq "$svc_name" "$(task_field "$tasks" sleeper service_name)" "service_name of sleeper in tasks list"
assert_eq "$svc_id" "$(task_field "$tasks" sleeper service_id)" "service_id of sleeper in tasks list"

step "nothing left"
assert_eq "" "$(our_services)" "services of the instance after the run"
names=$(sqlite "SELECT service_name FROM task_instances WHERE dag_id = 'labelled' AND run_id = '$run_id'")
assert_eq 2 "$(grep -c . <<<"$names")" "service names recorded in the store"
while IFS= read -r name; do
	! service_exists "$name" || fail "service $name recorded in the store still exists"
done <<<"$names"
