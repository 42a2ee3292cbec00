#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 90_cli_contract: exit codes (0 ok, 1 failed/not found, 2 usage or config), errors that name
# the file and line or the field, --help on every command, and dags show --spec.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag shown <<EOF_DAG
dag shown {
  task a {
    image  = "$IMAGE"
    shell  = "echo {{ run_id }}"
    memory = "64M"
    labels = {"team=data"}
  }
}
EOF_DAG

step "--help on every command exits 0 and prints its usage"
for cmd in "scheduler" "dags list" "dags validate" "dags show" "dags trigger" "dags test" \
	"dags pause" "dags unpause" "dags backfill" "runs list" "tasks list" "tasks logs" \
	"tasks clear" "health" "version"; do
	# shellcheck disable=SC2086 # the command is two words on purpose
	sf_run $cmd --help
	assert_eq 0 "$RC" "exit code of '$cmd --help'"
	assert_contains "$OUT" "usage: swarmflow [--config FILE] $cmd" "usage of $cmd"
done

step "usage errors exit 2"
sf_run frobnicate
assert_eq 2 "$RC" "unknown command"
assert_contains "$OUT" "unknown command 'frobnicate'" "unknown command message"
sf_run tasks list shown
assert_eq 2 "$RC" "tasks list with a missing RUN_ID"
sf_run runs list --state nope
assert_eq 2 "$RC" "runs list --state nope"
assert_contains "$OUT" "unknown run state 'nope'" "bad --state message"
sf_run dags trigger shown --conf '{"a":'
assert_eq 2 "$RC" "invalid --conf JSON"
assert_contains "$OUT" "--conf: invalid JSON" "invalid --conf message"
sf_run dags trigger shown --conf '[1,2]'
assert_eq 2 "$RC" "--conf that is not an object"
sf_run tasks logs shown r a --try zero
assert_eq 2 "$RC" "--try zero"

step "extra arguments, unknown options anywhere and groups without a command exit 2"
sf_run dags list extra-arg
assert_eq 2 "$RC" "dags list with an extra argument"
assert_contains "$OUT" "unexpected argument 'extra-arg'" "extra argument message"
sf_run dags list --json extra-arg
assert_eq 2 "$RC" "dags list --json with an extra argument"
sf_run version extra-arg
assert_eq 2 "$RC" "version with an extra argument"
sf_run runs list shown extra-arg
assert_eq 2 "$RC" "runs list with two arguments"
sf_run dags validate "$SWARMFLOW_DAGS_FOLDER/shown.dag" --bogus
assert_eq 2 "$RC" "dags validate with an unknown option after a path"
assert_contains "$OUT" "unrecognized option '--bogus'" "unknown option message"
sf_run dags show shown --bogus
assert_eq 2 "$RC" "dags show with an unknown option after the DAG"
for group in dags runs tasks; do
	sf_run "$group"
	assert_eq 2 "$RC" "'swarmflow $group' without a command"
	assert_not_contains "$OUT" "unknown command" "'swarmflow $group' output"
	assert_contains "$OUT" "usage: swarmflow [--config FILE] $group list" "usage of $group's commands"
	assert_not_contains "$OUT" "version" "'swarmflow $group' lists only its group"
done
sf_run dags bogus
assert_eq 2 "$RC" "unknown command of a group"
assert_contains "$OUT" "unknown command 'dags bogus'" "unknown group command message"
assert_contains "$OUT" "dags unpause DAG" "unknown group command lists the group"
sf_run tasks --help
assert_eq 0 "$RC" "tasks --help"
assert_contains "$OUT" "tasks logs DAG RUN_ID TASK" "tasks --help lists tasks logs"

step "an option's value -h or --help is a value, not a request for help; -- ends options"
sf_run dags show shown --spec -h
assert_eq 1 "$RC" "dags show --spec -h looks for task '-h'"
assert_contains "$OUT" "has no task '-h'" "--spec -h message"
sf_run tasks logs shown r a --try --help
assert_eq 2 "$RC" "tasks logs --try --help"
assert_contains "$OUT" "--try: expected a try number" "--try --help message"
sf_run dags list --json --help
assert_eq 0 "$RC" "dags list --json --help"
assert_contains "$OUT" "usage: swarmflow [--config FILE] dags list" "help after another option"
sf_run dags show -- --help
assert_eq 1 "$RC" "dags show -- --help looks for DAG '--help'"
sf_run dags pause -- shown
assert_eq 0 "$RC" "dags pause -- DAG"
sf_run dags unpause -- shown
assert_eq 0 "$RC" "dags unpause -- DAG"
cp "$SWARMFLOW_DAGS_FOLDER/shown.dag" "$E2E_WORK/-dash.dag"
sf_run dags validate -- -dash.dag
assert_eq 0 "$RC" "dags validate -- a path that starts with -"

step "a bad config file: file, line and key, exit 2"
printf 'parallelism = 8\npoll_interval = 1\nparallelism = 0\n' >"$E2E_WORK/bad.conf"
sf_run --config "$E2E_WORK/bad.conf" dags list
assert_eq 2 "$RC" "exit code with a bad config"
assert_contains "$OUT" "$E2E_WORK/bad.conf:3: parallelism" "config error names file, line, key"
printf 'no_such_key = 1\n' >"$E2E_WORK/unknown.conf"
sf_run --config "$E2E_WORK/unknown.conf" dags list
assert_eq 2 "$RC" "exit code with an unknown key"
assert_contains "$OUT" "unknown.conf:1:" "unknown key error names file and line"
assert_contains "$OUT" "no_such_key" "unknown key error names the key"
sf_run --config "$E2E_WORK/missing.conf" dags list
assert_eq 2 "$RC" "exit code with a missing --config file"
SWARMFLOW_PARALLELISM=abc sf_run dags list
assert_eq 2 "$RC" "exit code with a bad env override"
assert_contains "$OUT" "SWARMFLOW_PARALLELISM" "env error names the variable"

step "an option's value that looks like -h is a value, not a request for help"
sf_run dags trigger shown --run-id -h
assert_eq 0 "$RC" "dags trigger --run-id -h"
assert_contains "$OUT" "run_id: -h" "the run id -h was taken"
sf_run scheduler extra
assert_eq 2 "$RC" "scheduler with an argument"

step "not found exits 1"
sf_run dags show nope
assert_eq 1 "$RC" "unknown DAG"
assert_contains "$OUT" "unknown DAG 'nope'" "unknown DAG message"
sf_run tasks list shown no-such-run
assert_eq 1 "$RC" "unknown run"
sf_run dags show shown --spec nope
assert_eq 1 "$RC" "unknown task for --spec"

step "a state_dir that cannot be created: a clear error, exit 1"
SWARMFLOW_STATE_DIR=/dev/null/state sf_run runs list
assert_eq 1 "$RC" "runs list without a store"
assert_contains "$OUT" "/dev/null/state" "the error names the state_dir"
SWARMFLOW_STATE_DIR=/dev/null/state sf_run dags pause shown
assert_eq 1 "$RC" "dags pause without a store"

step "no engine: a clear error, exit 1"
SWARMFLOW_DOCKER_HOST=unix:///nonexistent/docker.sock sf_run dags test shown
assert_eq 1 "$RC" "dags test without an engine"
assert_contains "$OUT" "/nonexistent/docker.sock" "the error names the engine address"

step "dags show --spec prints the ServiceSpec"
sf_run dags show shown --spec a
assert_eq 0 "$RC" "dags show --spec"
spec=$(sf dags show shown --spec a)
assert_eq "$IMAGE" "$(jq -r '.TaskTemplate.ContainerSpec.Image' <<<"$spec")" "spec image"
assert_eq 67108864 "$(jq -r '.TaskTemplate.Resources.Limits.MemoryBytes' <<<"$spec")" "spec memory"
assert_eq none "$(jq -r '.TaskTemplate.RestartPolicy.Condition' <<<"$spec")" "spec restart condition"
assert_eq "$SWARMFLOW_INSTANCE" "$(jq -r '.Labels["swarmflow.instance"]' <<<"$spec")" "spec instance label"
assert_eq data "$(jq -r '.TaskTemplate.ContainerSpec.Labels.team' <<<"$spec")" "spec user label"
assert_match "$(jq -r '.TaskTemplate.ContainerSpec.Args[2]' <<<"$spec")" '^echo manual__' "rendered run_id"
# replicated-job only from API 1.43 (Docker 24): older engines leave a removed job's container
# running (moby/moby#44312), so they get one replica with restart condition none.
api=$(docker version --format '{{.Server.APIVersion}}')
if [[ $(printf '%s\n1.43\n' "$api" | sort -V | head -1) == 1.43 ]]; then
	assert_eq 1 "$(jq -r '.Mode.ReplicatedJob.TotalCompletions' <<<"$spec")" "job mode (API $api)"
else
	assert_eq 1 "$(jq -r '.Mode.Replicated.Replicas' <<<"$spec")" "replicated mode (API $api)"
	assert_eq null "$(jq -r '.Mode.ReplicatedJob' <<<"$spec")" "no job mode (API $api)"
fi
assert_eq "" "$(our_services)" "dags show creates no service"

step "dags pause and unpause show in dags list --json"
sf_run dags pause shown
assert_eq 0 "$RC" "dags pause"
assert_eq true "$(sf dags list --json | jq -r '.[] | select(.dag_id == "shown") | .paused')" "paused flag"
sf_run dags unpause shown
assert_eq false "$(sf dags list --json | jq -r '.[] | select(.dag_id == "shown") | .paused')" "unpaused flag"
echo "ok"
