#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 41_events_nodes: what the manager's event stream shows of tasks on other nodes (issue 17).
# Container events are local to each engine: m1's GET /events carries the die of a container on
# m1 and nothing of containers on w1 or w2. So with poll_interval 5 s and three tasks pinned to
# m1 (sleep 6), w1 and w2 (sleep 7.5: past the probe that m1's event brings), the one on m1 is
# seen ended as it dies (~6.5 s after its create, by the one wake-up of the run) and the two on
# the workers by the poll schedule, each with its right outcome; the stream never fails. A raw
# GET /events on m1 beside the run records the die events it shows and the node of each.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"

export SWARMFLOW_POLL_INTERVAL=5

write_dag nodes <<EOF_DAG
dag nodes {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task on_m1 {
    constraints = {"node.labels.node==m1"}
    shell       = "sleep 6"
  }
  task on_w1 {
    constraints = {"node.labels.node==w1"}
    shell       = "sleep 7.5; exit 3"
  }
  task on_w2 {
    constraints = {"node.labels.node==w2"}
    shell       = "sleep 7.5"
  }
}
EOF_DAG

step "a raw event stream on m1, beside the run"
filters=$(jq -cn --arg l "swarmflow.instance=$SWARMFLOW_INSTANCE" \
	'{type: ["container"], event: ["die"], label: [$l]}')
curl -sN --unix-socket "$CLUSTER_SOCK" -G "http://cluster/v1.41/events" \
	--data-urlencode "filters=$filters" >"$E2E_WORK/events.jsonl" &
E2E_PIDS+=($!)

step "dags test: one task per node"
sf_run dags test nodes
assert_eq 1 "$RC" "exit code of dags test nodes (on_w1 exits 3)"
printf '%s\n' "$OUT" >"$E2E_WORK/run.log"
assert_not_contains "$OUT" "falling back to polling" "the stream stayed up"
run_id=$(latest_run_id nodes)
tasks=$(tasks_json nodes "$run_id")
assert_eq success "$(task_field "$tasks" on_m1 state)" "state of on_m1"
assert_eq 3 "$(task_field "$tasks" on_w1 exit_code)" "exit code of on_w1 (from GET /tasks)"
assert_eq success "$(task_field "$tasks" on_w2 state)" "state of on_w2"
sleep 1

step "what m1's stream showed"
m1=$(node_id m1)
jq -r '"die of a container on \(.Actor.Attributes["com.docker.swarm.node.id"]): task \(.Actor.Attributes["swarmflow.task_id"])"' \
	"$E2E_WORK/events.jsonl"
assert_eq "on_m1" "$(jq -r '.Actor.Attributes["swarmflow.task_id"]' "$E2E_WORK/events.jsonl" | sort -u | tr '\n' ' ' | sed 's/ $//')" \
	"the tasks whose die m1's stream showed"
assert_eq "$m1" "$(jq -r '.Actor.Attributes["com.docker.swarm.node.id"]' "$E2E_WORK/events.jsonl" | sort -u)" \
	"the node of every die on m1's stream"
assert_eq 1 "$(grep -c 'engine events: 1 end(s) of ours' "$E2E_WORK/run.log")" "wake-ups from the stream"

step "when each end was seen"
ms=$(seen_after "$E2E_WORK/run.log" on_m1)
echo "on_m1: seen $ms ms after its create (the stream)"
((ms < 8800)) || fail "on_m1 seen $ms ms after its create: not from the stream"
# The workers' ends come from the poll schedule (restarted by on_m1's finish: 0.1, 0.2, 0.4,
# 0.8, 1.6 s after it), which the one wake-up above shows: printed, not asserted.
for t in on_w1 on_w2; do
	ms=$(seen_after "$E2E_WORK/run.log" $t)
	echo "$t: seen $ms ms after its create (the poll schedule; its container died ~7.8 s after)"
	((ms >= 7500)) || fail "$t seen $ms ms after its create: before its container could end?"
done
