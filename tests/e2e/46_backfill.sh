#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 46_backfill: `dags backfill DAG --from DATE --to DATE [--wait]` queues one run per schedule
# interval whose logical date is in the range (run_type backfill, run id backfill__<ISO>),
# skips run ids that exist, and the daemon runs them within max_active_runs on the real swarm;
# --wait exits 0 when all succeed, 1 when one fails; bad input gets exit codes 1 and 2.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

# end_date keeps the scheduler itself from making runs of bf: only backfill runs exist.
write_dag bf <<EOF_DAG
dag bf {
  schedule        = "@daily"
  start_date      = "2026-01-01"
  end_date        = "2026-01-31"
  max_active_runs = 2
  defaults {
    image = "$IMAGE"
  }
  task report {
    shell = "sleep 1; echo ds={{ ds }} end={{ data_interval_end }} run={{ run_id }}"
  }
}
dag bf_fail {
  schedule   = "0 6 * * *"
  start_date = "2026-01-01"
  end_date   = "2026-01-31"
  defaults {
    image = "$IMAGE"
  }
  task boom {
    shell = "exit 3"
  }
}
dag manual_only {
  schedule = "none"
  task t {
    image = "$IMAGE"
  }
}
EOF_DAG

step "bad input: usage errors (exit 2) name the option; a DAG without schedule (exit 1)"
sf_run dags backfill bf --from 2026-03-01
assert_eq 2 "$RC" "exit code without --to"
assert_contains "$OUT" "--to is required" "message without --to"
sf_run dags backfill bf --from 2026-13-01 --to 2026-03-03
assert_eq 2 "$RC" "exit code of a bad --from"
assert_contains "$OUT" "--from: invalid date '2026-13-01'" "message of a bad --from"
sf_run dags backfill bf --from 2026-03-01 --to yesterday
assert_eq 2 "$RC" "exit code of a bad --to"
assert_contains "$OUT" "--to: invalid date 'yesterday'" "message of a bad --to"
sf_run dags backfill bf --from 2026-03-05 --to 2026-03-01
assert_eq 2 "$RC" "exit code of --from after --to"
assert_contains "$OUT" "--from 2026-03-05 is after --to 2026-03-01" "message of --from after --to"
sf_run dags backfill manual_only --from 2026-03-01 --to 2026-03-03
assert_eq 1 "$RC" "exit code for schedule none"
assert_contains "$OUT" "DAG 'manual_only' has no schedule to backfill" "message for schedule none"
sf_run dags backfill nosuch --from 2026-03-01 --to 2026-03-03
assert_eq 1 "$RC" "exit code for an unknown DAG"
assert_contains "$OUT" "unknown DAG 'nosuch'" "message for an unknown DAG"
[[ ! -f $STATE_DB ]] || assert_eq 0 "$(sqlite "SELECT count(*) FROM dag_runs")" "runs after the refused backfills"

step "queue 3 days without a scheduler: queued, in order, with their intervals"
sf_run dags backfill bf --from 2026-03-01 --to 2026-03-03
assert_eq 0 "$RC" "exit code of dags backfill"
for d in 01 02 03; do
	assert_line_match "$OUT" "^queued +backfill__2026-03-${d}T00:00:00Z" "backfill output"
done
assert_contains "$OUT" "backfill of DAG bf: 3 runs queued, 0 skipped" "backfill summary"
rows=$(sqlite "SELECT run_id, run_type, state, logical_date, data_interval_start, data_interval_end FROM dag_runs ORDER BY id")
printf '%s\n' "$rows"
d1=$(date -u -d 2026-03-01 +%s)
expected=""
for i in 0 1 2; do
	s=$((d1 + i * 86400))
	expected+="backfill__$(date -u -d "@$s" +%Y-%m-%dT%H:%M:%SZ)|backfill|queued|$s|$s|$((s + 86400))"$'\n'
done
assert_eq "${expected%$'\n'}" "$rows" "the queued runs"

step "the scheduler runs them; an overlapping backfill --wait skips what exists"
bg scheduler
sched_pid=$BG_PID
printf '$ swarmflow dags backfill bf --from 2026-03-02T12:00:00Z --to 2026-03-04T12:00:00Z --wait\n'
rc=0
out=$(timeout 180 "$SWARMFLOW_BIN" dags backfill bf --from 2026-03-02T12:00:00Z --to 2026-03-04T12:00:00Z --wait 2>&1) || rc=$?
printf '%s\n' "$out"
assert_eq 0 "$rc" "exit code of backfill --wait"
assert_line_match "$out" "^skipped +backfill__2026-03-03T00:00:00Z" "backfill --wait output"
assert_line_match "$out" "^queued +backfill__2026-03-04T00:00:00Z" "backfill --wait output"
assert_not_contains "$out" "backfill__2026-03-02" "backfill --wait output (03-02 starts before --from)"
assert_contains "$out" "run backfill__2026-03-04T00:00:00Z success" "backfill --wait output"

all_done() {
	[[ $(sqlite "SELECT count(*) FROM dag_runs WHERE dag_id = 'bf' AND state = 'success'") == 4 ]]
}
wait_until 120 "4 successful runs of bf" all_done
runs=$(runs_json bf)
jq . <<<"$runs"
assert_eq 4 "$(jq length <<<"$runs")" "runs of bf (no scheduled run after end_date)"
assert_eq "backfill" "$(jq -r '[.[].run_type] | unique | join(",")' <<<"$runs")" "run types of bf"

step "never more than max_active_runs = 2 at once"
# Every run's start and end in ns; at each start, count the runs running then.
mapfile -t spans < <(jq -r '.[] | "\(.start_date) \(.end_date)"' <<<"$runs")
starts=() ends=()
for span in "${spans[@]}"; do
	starts+=("$(ts_ns "${span% *}")")
	ends+=("$(ts_ns "${span#* }")")
done
for i in "${!starts[@]}"; do
	n=0
	for j in "${!starts[@]}"; do
		((starts[j] <= starts[i] && ends[j] > starts[i])) && n=$((n + 1))
	done
	((n <= 2)) || fail "$n runs of bf were running at once (max_active_runs = 2)"
done

step "templates see the backfilled interval"
sf_run tasks logs bf backfill__2026-03-02T00:00:00Z report
assert_eq 0 "$RC" "tasks logs"
assert_contains "$OUT" "ds=2026-03-02 end=2026-03-03T00:00:00+00:00 run=backfill__2026-03-02T00:00:00Z" "log of backfill__2026-03-02"

step "--wait exits 1 when a run fails; intervals follow the cron (06:00)"
printf '$ swarmflow dags backfill bf_fail --from 2026-03-01 --to 2026-03-01T12:00:00Z --wait\n'
rc=0
out=$(timeout 120 "$SWARMFLOW_BIN" dags backfill bf_fail --from 2026-03-01 --to 2026-03-01T12:00:00Z --wait 2>&1) || rc=$?
printf '%s\n' "$out"
assert_eq 1 "$rc" "exit code of backfill --wait with a failing task"
assert_contains "$out" "run backfill__2026-03-01T06:00:00Z failed" "backfill --wait output"
assert_contains "$out" "backfill of DAG bf_fail: 1 run queued, 0 skipped" "backfill summary"

kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 10 "the scheduler to exit after SIGTERM" gone
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
