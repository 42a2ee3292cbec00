#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 10_placement: on a three-node swarm (m1 manager, w1 and w2 workers, labelled node=NAME),
# `constraints` from a .dag file put each task on the node it names and `preferences` reach the
# engine. Checked on the engine itself (the NodeID of each task, sampled while it ran, and that
# node's hostname, label and role), in the store (task_instances.node_id, task_tries.node_id),
# and in the logs: each task prints the hostname of its node (ContainerSpec.Hostname is Swarm's
# {{.Node.Hostname}} template), so a log that says sfc-w1 was written on w1 and fetched through
# the manager.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/cluster.sh
. "$E2E_REPO/tests/lib/cluster.sh"

write_dag placement <<EOF_DAG
dag placement {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image    = "$IMAGE"
    hostname = "{{.Node.Hostname}}"
  }
  task on_w1 {
    constraints = {"node.labels.node==w1"}
    shell       = "echo {{ task_id }} ran on \$(hostname); echo to-stderr >&2; sleep 2"
  }
  task on_w2 {
    constraints = {"node.labels.node==w2"}
    shell       = "echo {{ task_id }} ran on \$(hostname); sleep 2"
  }
  task on_manager {
    constraints = {"node.role==manager", "node.labels.node==m1"}
    shell       = "echo {{ task_id }} ran on \$(hostname); sleep 2"
  }
  task spread_1 {
    upstream    = {on_w1, on_w2, on_manager}
    preferences = {"spread=node.labels.node"}
    shell       = "echo {{ task_id }} ran on \$(hostname); sleep 3"
  }
  task spread_2 {
    upstream    = {on_w1, on_w2, on_manager}
    preferences = {"spread=node.labels.node"}
    shell       = "echo {{ task_id }} ran on \$(hostname); sleep 3"
  }
  task spread_3 {
    upstream    = {on_w1, on_w2, on_manager}
    preferences = {"spread=node.labels.node"}
    shell       = "echo {{ task_id }} ran on \$(hostname); sleep 3"
  }
}
EOF_DAG

step "the nodes of the cluster"
docker node ls
declare -A want_node=([on_w1]=$(node_id w1) [on_w2]=$(node_id w2) [on_manager]=$(node_id m1))

step "dags test placement, sampling the engine's tasks meanwhile"
sampler_start
sf_run dags test placement --run-id placement-1
sampler_stop
assert_eq 0 "$RC" "exit code of dags test placement"
tasks=$(tasks_json placement placement-1)
jq -c '.[] | {task_id, state, try_number, service_name}' <<<"$tasks"

step "each constrained task ran on its node (engine: NodeID -> hostname, label, role)"
for t in on_w1 on_w2 on_manager; do
	assert_eq success "$(task_field "$tasks" "$t" state)" "state of $t"
	engine_node=$(sampled_node "$t" 1)
	[[ -n $engine_node ]] || fail "the engine never showed a task of $t (samples: $(cat "$SAMPLES"))"
	assert_eq "${want_node[$t]}" "$engine_node" "the engine's NodeID of $t"
	printf '%-11s node %s  %s\n' "$t" "$engine_node" \
		"$(node_field "$engine_node" '{{.Description.Hostname}} label node={{index .Spec.Labels "node"}} role={{.Spec.Role}}')"
done
assert_eq w1 "$(node_field "$(sampled_node on_w1 1)" '{{index .Spec.Labels "node"}}')" "label of on_w1's node"
assert_eq w2 "$(node_field "$(sampled_node on_w2 1)" '{{index .Spec.Labels "node"}}')" "label of on_w2's node"
assert_eq manager "$(node_field "$(sampled_node on_manager 1)" '{{.Spec.Role}}')" "role of on_manager's node"
assert_eq '{"Constraints":["node.labels.node==w1"]}' "$(sampled_placement on_w1 1)" "Placement of on_w1's service"

step "the store holds the node of every task and try"
for t in on_w1 on_w2 on_manager spread_1 spread_2 spread_3; do
	engine_node=$(sampled_node "$t" 1)
	[[ -n $engine_node ]] || fail "the engine never showed a task of $t"
	assert_eq "$engine_node" "$(store_ti_node "$t" placement-1)" "task_instances.node_id of $t"
	assert_eq "$engine_node" "$(store_try_node "$t" 1 placement-1)" "task_tries.node_id of $t try 1"
done

step "logs of tasks on workers were fetched through the manager and stored"
for t in on_w1 on_w2 on_manager; do
	host=$(node_field "${want_node[$t]}" '{{.Description.Hostname}}')
	sf_run tasks logs placement placement-1 "$t"
	assert_eq 0 "$RC" "exit code of tasks logs $t"
	assert_contains "$OUT" "$t ran on $host" "logs of $t"
	log_path=$(task_field "$tasks" "$t" log_path)
	assert_file "$log_path" "log file of $t"
	assert_contains "$(cat "$log_path")" "$t ran on $host" "log file of $t"
done
assert_contains "$(cat "$(task_field "$tasks" on_w1 log_path)")" "to-stderr" "stderr of on_w1"

step "preferences: the spread tasks carry the preference on the engine"
declare -A spread_nodes=()
for t in spread_1 spread_2 spread_3; do
	assert_eq success "$(task_field "$tasks" "$t" state)" "state of $t"
	assert_eq '{"Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.node"}}]}' \
		"$(sampled_placement "$t" 1)" "Placement of $t's service"
	n=$(sampled_node "$t" 1)
	host=$(node_field "$n" '{{.Description.Hostname}}')
	spread_nodes[$host]=1
	sf_run tasks logs placement placement-1 "$t"
	assert_contains "$OUT" "$t ran on $host" "logs of $t"
done
# Each try is a service of its own with one replica, so Swarm spreads per service: what puts
# three concurrent tries on three nodes is its least-loaded rule (shown, not asserted).
echo "the three spread tasks ran on: ${!spread_nodes[*]}"
