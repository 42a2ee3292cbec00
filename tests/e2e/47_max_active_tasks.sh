#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 47_max_active_tasks: a DAG of 8 independent tasks of ~3 s with max_active_tasks = 2, run by
# `dags test`: sampling `docker service ls` every 0.3 s never shows more than two services of
# the instance, and does show two at once (the limit is used, not just respected); all succeed.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

{
	cat <<EOF_DAG
dag capped {
  schedule         = "none"
  start_date       = "2026-01-01"
  max_active_tasks = 2
  defaults {
    image = "$IMAGE"
  }
EOF_DAG
	for i in 1 2 3 4 5 6 7 8; do
		printf '  task t%d {\n    shell = "echo t%d; sleep 3"\n  }\n' "$i" "$i"
	done
	printf '}\n'
} | write_dag capped

step "dags test capped in the background, sampling the instance's services"
bg dags test capped --run-id capped_run
test_pid=$BG_PID
max=0
samples=0
counts=()
while kill -0 "$test_pid" 2>/dev/null; do
	n=$(our_services | wc -l)
	counts+=("$n")
	((n > max)) && max=$n
	samples=$((samples + 1))
	sleep 0.3
done
rc=0
wait "$test_pid" || rc=$?
printf 'samples: %d, services alive per sample: %s\n' "$samples" "${counts[*]}"
assert_eq 0 "$rc" "exit code of dags test capped (log: $(tail -n 20 "$BG_LOG"))"
assert_eq 2 "$max" "most services of the instance alive at once"
# 8 tries of >= 3 s two at a time take >= 12 s: at 0.3 s a sample, far more than 20 samples.
((samples >= 20)) || fail "only $samples samples: the run was too short to tell"

step "every task succeeded, no two ran beyond the limit"
tasks=$(tasks_json capped capped_run)
assert_eq 8 "$(jq '[.[] | select(.state == "success")] | length' <<<"$tasks")" "tasks in success"
assert_eq success "$(runs_json capped | jq -r '.[0].state')" "run state"
# From the store: at any task's start, at most one other task was between its start and end.
overlap=$(jq '[.[] as $a | [.[] | select(.task_id != $a.task_id and .start_date <= $a.start_date
	and .end_date > $a.start_date)] | length] | max' <<<"$tasks")
((overlap <= 1)) || fail "the store shows $((overlap + 1)) tasks running at once"
