#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 51_engine_events: on the real engine the event stream delivers the die of our container and
# the end is seen as it happens, not at the next poll of the schedule: with poll_interval 5 s
# (the schedule polls 0.1 ... 3.2 s, then every 5 s after a change) each end of a chain of two
# `sleep 6` tasks is seen within 1.5 s of its container's die (a raw GET /events beside the run
# gives the die times) and by a wake-up of the stream; the exit code still comes from GET /tasks.
# The same chain with engine_events = false is seen only at the schedule's polls (a multiple of
# 5 s after the create), which shows the case can tell the two apart. Timed from the die, not
# the create: on a loaded machine a container may take seconds to start.
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

# die_ms TASK FILE: the die time (ms since the epoch) of TASK's container in a raw event FILE.
die_ms() {
	jq -r --arg t "$1" 'select(.Actor.Attributes["swarmflow.task_id"] == $t) | .timeNano' "$2" |
		tail -1 | awk '{ printf "%.0f", $1 / 1000000 }'
}
# end_ms LOG TASK: when LOG says TASK ended (ms since the epoch).
end_ms() {
	local e
	e=$(grep -E "info task (success|failed) .* task=$2 " "$1" | head -1 | cut -d' ' -f1)
	[[ -n $e ]] || fail "no end line for $2 in $1"
	echo $(($(ts_ns "$e") / 1000000))
}
# raw_events FILE: our instance's container die events into FILE, in the background.
raw_events() {
	local filters
	filters=$(jq -cn --arg l "swarmflow.instance=$SWARMFLOW_INSTANCE" \
		'{type: ["container"], event: ["die"], label: [$l]}')
	curl -sN --unix-socket /var/run/docker.sock -G "http://engine/v1.41/events" \
		--data-urlencode "filters=$filters" >"$1" &
	E2E_PIDS+=($!)
	sleep 0.5
}

step "dags test with the event stream (the default)"
raw_events "$E2E_WORK/with.events"
sf_run dags test events
assert_eq 1 "$RC" "exit code of dags test events"
printf '%s\n' "$OUT" >"$E2E_WORK/with.log"
assert_eq 2 "$(grep -c 'engine events: 1 end(s) of ours: polling now' "$E2E_WORK/with.log")" \
	"wake-ups from the stream (one per end)"
assert_not_contains "$OUT" "falling back to polling" "the stream stayed up"
run_id=$(latest_run_id events)
tasks=$(tasks_json events "$run_id")
assert_eq success "$(task_field "$tasks" first state)" "state of first"
assert_eq failed "$(task_field "$tasks" second state)" "state of second"
assert_eq 7 "$(task_field "$tasks" second exit_code)" "exit_code of second (from GET /tasks)"
sleep 0.5
for t in first second; do
	die=$(die_ms $t "$E2E_WORK/with.events")
	[[ -n $die ]] || fail "no die event of $t on the raw stream"
	ms=$(($(end_ms "$E2E_WORK/with.log" $t) - die))
	echo "$t: end seen $ms ms after its container died (events)"
	((ms >= 0 && ms < 1500)) || fail "$t: end seen $ms ms after its container's die with events"
done

step "the same without the event stream: only the schedule's polls"
raw_events "$E2E_WORK/without.events"
SWARMFLOW_ENGINE_EVENTS=false sf_run dags test events
assert_eq 1 "$RC" "exit code of dags test events (no events)"
printf '%s\n' "$OUT" >"$E2E_WORK/without.log"
assert_not_contains "$OUT" "engine events:" "no stream when engine_events = false"
for t in first second; do
	ms=$(seen_after "$E2E_WORK/without.log" $t)
	off=$((ms % 5000))
	((off < 2500)) || off=$((off - 5000))
	echo "$t: end seen $ms ms after its create (polling only; $off ms off a 5 s poll)"
	((ms >= 4600 && off > -400 && off < 400)) ||
		fail "$t: seen $ms ms after its create: not at a 5 s poll"
done
