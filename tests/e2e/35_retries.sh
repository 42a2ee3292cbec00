#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 35_retries: a task that fails twice then succeeds (a bind-mounted counter file) ends success on
# try 3: up_for_retry between tries for at least retry_delay, three services (each with its own
# try_number label) created and removed, three tries in the store, three log files.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

counter="$E2E_WORK/counter"
printf '0\n' >"$counter"
# The policy (when enforced) must let DAGs bind-mount from this case's work dir.
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK"

write_dag flaky <<EOF_DAG
dag flaky {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task count {
    mounts      = {"type=bind,source=$counter,target=/counter"}
    shell       = "n=\$((\$(cat /counter) + 1)); echo \$n > /counter; echo try {{ try_number }} counter \$n; sleep 2; test \$n -ge 3"
    retries     = 2
    retry_delay = "2s"
  }
}
EOF_DAG

step "dags test flaky, sampling the task and its services while it runs"
bg dags test flaky --run-id retry_run
test_pid=$BG_PID
states=()
declare -A try_label=() # service name -> its swarmflow.try_number label
while kill -0 "$test_pid" 2>/dev/null; do
	if out=$("$SWARMFLOW_BIN" tasks list flaky retry_run --json 2>/dev/null); then
		states+=("$(jq -r '.[0].state + "/" + (.[0].try_number | tostring)' <<<"$out")")
	fi
	for id in $(our_services); do
		line=$(docker service inspect --format \
			'{{.Spec.Name}} {{index .Spec.Labels "swarmflow.try_number"}}' "$id" 2>/dev/null) || continue
		try_label[${line% *}]=${line#* }
	done
	sleep 0.2
done
rc=0
wait "$test_pid" || rc=$?
assert_eq 0 "$rc" "exit code of dags test flaky (log: $(tail -n 20 "$BG_LOG"))"
printf 'sampled states: %s\n' "${states[*]}"

step "the task succeeded on try 3"
tasks=$(tasks_json flaky retry_run)
jq . <<<"$tasks"
assert_eq success "$(task_field "$tasks" count state)" "state of count"
assert_eq 3 "$(task_field "$tasks" count try_number)" "try_number of count"
assert_eq 3 "$(task_field "$tasks" count max_tries)" "max_tries of count"
assert_eq 0 "$(task_field "$tasks" count exit_code)" "exit_code of count"
assert_eq 3 "$(tr -d '[:space:]' <"$counter")" "the counter file (three containers ran)"

step "between tries the state was up_for_retry"
sampled=" ${states[*]} "
assert_contains "$sampled" " up_for_retry/1 " "sampled states"
assert_contains "$sampled" " up_for_retry/2 " "sampled states"
assert_not_contains "$sampled" "failed/" "sampled states"
assert_eq 2 "$(grep -c 'task up_for_retry dag=flaky run=retry_run task=count' "$BG_LOG")" \
	"up_for_retry lines in the dags test log"
assert_line_match "$(cat "$BG_LOG")" "task up_for_retry dag=flaky run=retry_run task=count try=1 exit_code=1" "dags test log"
assert_line_match "$(cat "$BG_LOG")" "task up_for_retry dag=flaky run=retry_run task=count try=2 exit_code=1" "dags test log"

step "three tries in the store, each with its own service"
tries=$(sqlite "SELECT t.try_number || '|' || t.state || '|' || ifnull(t.exit_code, '') || '|' || t.service_name
	FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
	WHERE i.dag_id = 'flaky' AND i.run_id = 'retry_run' ORDER BY t.try_number")
printf '%s\n' "$tries"
assert_eq 3 "$(wc -l <<<"$tries")" "rows in task_tries"
assert_match "$(sed -n 1p <<<"$tries")" '^1\|up_for_retry\|1\|' "try 1"
assert_match "$(sed -n 2p <<<"$tries")" '^2\|up_for_retry\|1\|' "try 2"
assert_match "$(sed -n 3p <<<"$tries")" '^3\|success\|0\|' "try 3"
step "each retry waited retry_delay (2s) after the previous try ended"
gaps=$(sqlite "SELECT n.start_ms - p.end_ms FROM task_tries p JOIN task_tries n
	ON n.ti_pk = p.ti_pk AND n.try_number = p.try_number + 1
	JOIN task_instances i ON i.id = p.ti_pk
	WHERE i.dag_id = 'flaky' AND i.run_id = 'retry_run' ORDER BY p.try_number")
printf 'ms from the end of a try to the start of the next: %s\n' "$(tr '\n' ' ' <<<"$gaps")"
assert_eq 2 "$(wc -l <<<"$gaps")" "gaps between tries"
for gap in $gaps; do
	((gap >= 2000)) || fail "a retry started ${gap} ms after the previous try ended (retry_delay 2s)"
done
names=$(cut -d'|' -f4 <<<"$tries")
assert_eq 3 "$(sort -u <<<"$names" | grep -c . || true)" "distinct service names"
for name in $names; do
	! service_exists "$name" || fail "service $name of a finished try still exists"
done
step "the services seen while running carried their own try_number label"
for name in "${!try_label[@]}"; do
	printf '%s try_number=%s\n' "$name" "${try_label[$name]}"
	want=$(awk -F'|' -v n="$name" '$4 == n { print $1 }' <<<"$tries")
	assert_eq "$want" "${try_label[$name]}" "swarmflow.try_number label of $name"
done
((${#try_label[@]} >= 2)) || fail "saw only ${#try_label[@]} of the three services while sampling"

step "one log file per try"
logdir="$SWARMFLOW_STATE_DIR/logs/flaky/retry_run/count"
for n in 1 2 3; do
	assert_file "$logdir/$n.log" "log of try $n"
	assert_contains "$(cat "$logdir/$n.log")" "try $n counter $n" "log of try $n"
	sf_run tasks logs flaky retry_run count --try "$n"
	assert_eq 0 "$RC" "exit code of tasks logs --try $n"
	assert_contains "$OUT" "try $n counter $n" "tasks logs --try $n"
done
assert_contains "$(cat "$logdir/1.log")" "try 1 failed" "log of try 1"
assert_eq "" "$(our_services)" "services of this instance left"
