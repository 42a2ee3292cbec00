#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 51_engine_events: on the real engine the event stream delivers the die of our container and
# the end is seen as it happens, not at the next poll of the schedule: with poll_interval 5 s a
# task whose container dies ~6.5 s after its create is seen at once with events (the schedule
# alone polls at 0.1 ... 3.2, 5, 10 s and sees it at 10 s). The exit code still comes from
# GET /tasks. The same chain with engine_events = false shows the case can tell the two apart.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

export SWARMFLOW_POLL_INTERVAL=5

write_dag events <<EOF_DAG
dag events {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task first {
    shell = "sleep 6"
  }
  task second {
    upstream = {first}
    shell    = "sleep 6; exit 7"
  }
}
EOF_DAG

step "dags test with the event stream (the default)"
sf_run dags test events
assert_eq 1 "$RC" "exit code of dags test events"
printf '%s\n' "$OUT" >"$E2E_WORK/with.log"
assert_contains "$OUT" "engine events: 1 end(s) of ours: polling now" "an event woke the poll"
assert_not_contains "$OUT" "falling back to polling" "the stream stayed up"
run_id=$(latest_run_id events)
tasks=$(tasks_json events "$run_id")
assert_eq success "$(task_field "$tasks" first state)" "state of first"
assert_eq failed "$(task_field "$tasks" second state)" "state of second"
assert_eq 7 "$(task_field "$tasks" second exit_code)" "exit_code of second (from GET /tasks)"
for t in first second; do
	ms=$(seen_after "$E2E_WORK/with.log" $t)
	echo "$t: end seen $ms ms after its create (events)"
	((ms < 8800)) || fail "$t: end seen $ms ms after its create with events (the schedule: 10 s)"
done

step "the same without the event stream: the schedule's 10 s"
SWARMFLOW_ENGINE_EVENTS=false sf_run dags test events
assert_eq 1 "$RC" "exit code of dags test events (no events)"
printf '%s\n' "$OUT" >"$E2E_WORK/without.log"
assert_not_contains "$OUT" "engine events:" "no stream when engine_events = false"
for t in first second; do
	ms=$(seen_after "$E2E_WORK/without.log" $t)
	echo "$t: end seen $ms ms after its create (polling only)"
	((ms >= 9500)) || fail "$t: seen $ms ms after its create without events: not the schedule?"
done
