#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 12_outputs_mapping: data between tasks on the real swarm. list_files prints 5 names as marked
# output; process is expanded over them (5 one-shot services, each labelled with its map index,
# seen in `docker service ls` while they run); summarise reads the 5 outputs in map order. Then:
# an expand over no element (the mapped task and its downstream are skipped), an output over the
# 64 KiB cap (the try fails naming the cap), more elements than max_map_length, output_json with
# a key, and an output that is not JSON where output_json reads it.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag mapped <<EOF_DAG
dag mapped {
  defaults {
    image = "$IMAGE"
  }
  task list_files {
    shell  = "echo listing; for f in a.csv b.csv c.csv d.csv e.csv; do echo \"::output:: \$f\"; done; echo done"
    output = "marked"
  }
  task process {
    upstream = {list_files}
    expand   = "{{ upstream.list_files.output }}"
    shell    = "sleep 3; echo processing {{ item }}; echo '{\"file\": \"{{ item }}\", \"index\": {{ map_index }}}'"
    output   = "last_line"
  }
  task summarise {
    upstream = {process}
    command  = {"echo", "{{ upstream.process.outputs_json }}"}
    output   = "last_line"
  }
}
EOF_DAG

step "dags test mapped, watching the services of process while they run"
labels="$E2E_WORK/labels"
: >"$labels"
bg dags test mapped
while kill -0 "$BG_PID" 2>/dev/null; do
	for id in $(docker service ls -q --filter "label=swarmflow.instance=$SWARMFLOW_INSTANCE" \
		--filter "label=swarmflow.task_id=process"); do
		docker service inspect --format '{{.Spec.Name}} {{json .Spec.Labels}}' "$id" >>"$labels" 2>/dev/null || true
	done
	sleep 0.3
done
wait "$BG_PID" || fail "dags test mapped failed: $(tail -n 20 "$BG_LOG")"
sort -u "$labels" | tee "$labels.seen"
for i in 0 1 2 3 4; do
	assert_line_match "$(cat "$labels.seen")" "^swarmflow_mapped_process-${i}_[0-9a-f]{8} .*\"swarmflow\.map_index\":\"${i}\"" \
		"the service of process[$i] with its map_index label"
done
assert_eq 5 "$(grep -o '^swarmflow_[^ ]*' "$labels.seen" | sort -u | wc -l)" "services of process seen"

run_id=$(latest_run_id mapped)
tasks=$(tasks_json mapped "$run_id")
jq -c '.[] | [.task_id, .map_index, .state, .output]' <<<"$tasks"
assert_eq 7 "$(jq length <<<"$tasks")" "task instances: list_files, 5 of process, summarise"
assert_eq "a.csv b.csv c.csv d.csv e.csv" "$(task_field "$tasks" list_files output | tr '\n' ' ' | sed 's/ $//')" \
	"the marked output of list_files (marker lines only)"
for i in 0 1 2 3 4; do
	row=$(jq -c --argjson i "$i" '.[] | select(.task_id == "process" and .map_index == $i)' <<<"$tasks")
	assert_eq success "$(jq -r .state <<<"$row")" "state of process[$i]"
	assert_eq 1 "$(jq -r .try_number <<<"$row")" "try of process[$i]"
done
want='[{"file":"a.csv","index":0},{"file":"b.csv","index":1},{"file":"c.csv","index":2},{"file":"d.csv","index":3},{"file":"e.csv","index":4}]'
assert_eq "$want" "$(task_field "$tasks" summarise output)" "summarise got the 5 outputs in map order"
sf_run tasks output mapped "$run_id" process
assert_eq "$want" "$(jq -c . <<<"$OUT")" "tasks output of the mapped task: the same array"
sf_run tasks output mapped "$run_id" process --map-index 3
assert_eq '{"file": "d.csv", "index": 3}' "$OUT" "tasks output --map-index 3"
sf_run tasks logs mapped "$run_id" process --map-index 2
assert_contains "$OUT" "processing c.csv" "the log of process[2]"
assert_eq 5 "$(sqlite "SELECT count(*) FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
	WHERE i.task_id = 'process' AND i.run_id = '$run_id' AND t.output IS NOT NULL")" "outputs stored per try"

step "an expand over no element: the mapped task and its downstream are skipped"
write_dag empty <<EOF_DAG
dag empty {
  defaults {
    image = "$IMAGE"
  }
  task list { 
    shell  = "echo nothing here"
    output = "marked"
  }
  task each {
    upstream = {list}
    expand   = "{{ upstream.list.output }}"
    shell    = "echo {{ item }}"
  }
  task after {
    upstream = {each}
    shell    = "echo after"
  }
  task anyway {
    upstream     = {each}
    trigger_rule = "all_done"
    shell        = "echo anyway"
  }
}
EOF_DAG
sf_run dags test empty
assert_eq 0 "$RC" "dags test empty"
tasks=$(tasks_json empty "$(latest_run_id empty)")
assert_eq skipped "$(task_field "$tasks" each state)" "the mapped task over 0 elements"
assert_eq -1 "$(task_field "$tasks" each map_index)" "its one unexpanded instance"
assert_eq skipped "$(task_field "$tasks" after state)" "its all_success downstream"
assert_eq success "$(task_field "$tasks" anyway state)" "its all_done downstream"

step "an output over the 64 KiB cap fails the try"
write_dag big <<EOF_DAG
dag big {
  defaults {
    image = "$IMAGE"
  }
  task huge {
    shell  = "yes x | head -c 140000 | tr -d '\\n'; echo"
    output = "last_line"
  }
  task small {
    shell  = "yes y | head -c 131072 | tr -d '\\n'; echo"
    output = "last_line"
  }
}
EOF_DAG
sf_run dags test big
assert_eq 1 "$RC" "dags test big fails"
tasks=$(tasks_json big "$(latest_run_id big)")
assert_eq failed "$(task_field "$tasks" huge state)" "the task over the cap"
assert_eq "the output is 70000 bytes, over the cap of 65536 bytes (64 KiB)" "$(task_field "$tasks" huge error)" \
	"the error names the size and the cap"
assert_eq null "$(task_field "$tasks" huge output)" "no output kept"
assert_eq success "$(task_field "$tasks" small state)" "exactly 64 KiB passes"
assert_eq 65536 "$(task_field "$tasks" small output | tr -d '\n' | wc -c)" "the 64 KiB output, whole"

step "more elements than max_map_length fail the mapped task"
write_dag toolong <<EOF_DAG
dag toolong {
  defaults {
    image = "$IMAGE"
  }
  task list {
    output = "marked"
    shell  = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo ::output:: \$i; done"
  }
  task each {
    upstream       = {list}
    expand         = "{{ upstream.list.output }}"
    max_map_length = 10
    shell          = "echo {{ item }}"
  }
}
EOF_DAG
sf_run dags test toolong
assert_eq 1 "$RC" "dags test toolong fails"
tasks=$(tasks_json toolong "$(latest_run_id toolong)")
assert_eq failed "$(task_field "$tasks" each state)" "the mapped task"
assert_eq "expand: 12 elements, more than max_map_length 10" "$(task_field "$tasks" each error)" "its error"
assert_eq 0 "$(sqlite "SELECT count(*) FROM task_instances WHERE dag_id = 'toolong' AND map_index >= 0")" \
	"no instance was made"

step "output_json.KEY reads a key; an output that is not JSON fails the downstream try"
write_dag keys <<EOF_DAG
dag keys {
  defaults {
    image = "$IMAGE"
  }
  task meta {
    shell  = "echo '{\"name\": \"report\", \"rows\": 42}'"
    output = "last_line"
  }
  task use {
    upstream = {meta}
    command  = {"echo", "{{ upstream.meta.output_json.name }}:{{ upstream.meta.output_json.rows }}:{{ upstream.meta.exit_code }}"}
    output   = "last_line"
  }
  task text {
    shell  = "echo not json"
    output = "last_line"
  }
  task parse {
    upstream = {text}
    command  = {"echo", "{{ upstream.text.output_json.name }}"}
  }
}
EOF_DAG
sf_run dags test keys
assert_eq 1 "$RC" "dags test keys fails (parse)"
tasks=$(tasks_json keys "$(latest_run_id keys)")
assert_eq "report:42:0" "$(task_field "$tasks" use output)" "output_json keys and exit_code"
assert_eq failed "$(task_field "$tasks" parse state)" "the try reading a non-JSON output"
assert_match "$(task_field "$tasks" parse error)" "upstream 'text': output_json\.name: the output is not a JSON object" \
	"its error"
