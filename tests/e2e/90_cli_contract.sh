#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 90_cli_contract: exit codes (0 ok, 1 failed/not found, 2 usage or config), errors that name
# the file and line or the field, --help on every command, and dags show --spec; a table of 118
# bad command lines over every command (unknown options, missing and extra arguments, bad
# numbers, unknown DAGs, bad --conf JSON of every kind) that must exit 2 or 1 naming the
# argument and leave the store unchanged; libcurl and libmicrohttpd are loaded only by the
# commands that use them.
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
	"tasks output" "tasks clear" "health" "version"; do
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

step "bad arguments, table-driven: every command, exit 2 (usage) or 1 (not found), nothing stored"
# Every row runs `swarmflow ARGS` and checks the exit code, that stderr names what is wrong
# (the option, the argument or the value), that stdout stays empty and, for usage errors, that
# the usage line follows. The whole store is compared before and after the table: no row of
# any table may appear or change.
db_state() { sqlite .dump | sha256sum; }
store_before=$(db_state)
n_rows=0
# bad EXIT NEEDLE ARGS...
bad() {
	local want=$1 needle=$2 rc=0 out err
	shift 2
	n_rows=$((n_rows + 1))
	out=$(timeout 60 "$SWARMFLOW_BIN" "$@" 2>"$E2E_WORK/stderr") || rc=$?
	err=$(cat "$E2E_WORK/stderr")
	printf '$ swarmflow %.160s\n%s\n(exit %d)\n' "$*" "$(head -c 600 <<<"$err")" "$rc"
	assert_eq "$want" "$rc" "exit code of: swarmflow $*"
	assert_contains "$err" "$needle" "stderr of: swarmflow $*"
	assert_eq "" "$out" "stdout of: swarmflow $*"
	# The usage follows a wrong command line; not a bad value found later (conf, run id, env).
	if ((want == 2)) && [[ $needle != --conf:* && $needle != --run-id:* && $needle != SWARMFLOW_* ]]; then
		assert_contains "$err" "usage: swarmflow [--config FILE]" "stderr of: swarmflow $*"
	fi
	return 0
}
unknown="unrecognized option '--bogus'"
from=(--from 2026-01-01 --to 2026-01-02)

# Unknown options, long and short, on every command and before it.
bad 2 "$unknown" scheduler --bogus
bad 2 "$unknown" dags list --bogus
bad 2 "$unknown" dags validate --bogus
bad 2 "$unknown" dags show shown --bogus
bad 2 "$unknown" dags trigger shown --bogus
bad 2 "$unknown" dags test shown --bogus
bad 2 "$unknown" dags backfill shown "${from[@]}" --bogus
bad 2 "$unknown" dags pause shown --bogus
bad 2 "$unknown" dags unpause shown --bogus
bad 2 "$unknown" runs list --bogus
bad 2 "$unknown" tasks list shown r --bogus
bad 2 "$unknown" tasks clear shown r --bogus
bad 2 "$unknown" tasks logs shown r a --bogus
bad 2 "$unknown" tasks output shown r a --bogus
bad 2 "$unknown" health --bogus
bad 2 "$unknown" version --bogus
bad 2 "$unknown" --bogus version
bad 2 "invalid option -- 'x'" dags trigger shown -x
bad 2 "invalid option -- 'x'" tasks logs shown r a -x

# Missing arguments: positional ones are named, options' values too.
bad 2 "too few arguments: missing DAG" dags show
bad 2 "too few arguments: missing DAG" dags trigger --wait
bad 2 "too few arguments: missing DAG" dags test
bad 2 "too few arguments: missing DAG" dags backfill "${from[@]}"
bad 2 "too few arguments: missing DAG" dags pause
bad 2 "too few arguments: missing DAG" dags unpause
bad 2 "too few arguments: missing DAG, RUN_ID" tasks list
bad 2 "too few arguments: missing RUN_ID" tasks list shown
bad 2 "too few arguments: missing RUN_ID" tasks clear shown
bad 2 "too few arguments: missing DAG, RUN_ID, TASK" tasks logs
bad 2 "too few arguments: missing TASK" tasks logs shown r
bad 2 "too few arguments: missing DAG, RUN_ID, TASK" tasks output
bad 2 "too few arguments: missing TASK" tasks output shown r
bad 2 "option '--spec' requires an argument" dags show shown --spec
bad 2 "option '--conf' requires an argument" dags trigger shown --conf
bad 2 "option '--run-id' requires an argument" dags trigger shown --run-id
bad 2 "option '--conf' requires an argument" dags test shown --conf
bad 2 "option '--run-id' requires an argument" dags test shown --run-id
bad 2 "option '--from' requires an argument" dags backfill shown --to 2026-01-02 --from
bad 2 "option '--to' requires an argument" dags backfill shown --from 2026-01-01 --to
bad 2 "--from is required" dags backfill shown --to 2026-01-02
bad 2 "--to is required" dags backfill shown --from 2026-01-01
bad 2 "option '--state' requires an argument" runs list --state
bad 2 "option '--try' requires an argument" tasks logs shown r a --try
bad 2 "option '--map-index' requires an argument" tasks output shown r a --map-index
bad 2 "option '--config' requires an argument" --config

# Extra arguments (dags validate and tasks clear take any number).
for args in "scheduler" "dags list" "dags show shown" "dags trigger shown" "dags test shown" \
	"dags pause shown" "dags unpause shown" "runs list shown" "tasks list shown r" \
	"tasks logs shown r a" "tasks output shown r a" "health" "version"; do
	# shellcheck disable=SC2086 # the words of the command on purpose
	bad 2 "unexpected argument 'extra'" $args extra
done
bad 2 "unexpected argument 'extra'" dags backfill shown extra "${from[@]}"

# Bad numbers, dates, states and ids.
for index in -1 abc 1.5 99999999999 ""; do
	bad 2 "--map-index: expected an index >= 0, got '$index'" tasks output shown r a --map-index "$index"
	bad 2 "--map-index: expected an index >= 0, got '$index'" tasks logs shown r a --map-index "$index"
done
for try in 0 -1 abc 1.5 1e3 99999999999 ""; do
	bad 2 "--try: expected a try number >= 1, got '$try'" tasks logs shown r a --try "$try"
done
bad 2 "unknown run state '3'" runs list --state 3
bad 2 "--from: invalid date '2026-13-01'" dags backfill shown --from 2026-13-01 --to 2026-12-01
bad 2 "--to: invalid date 'soon'" dags backfill shown --from 2026-01-01 --to soon
bad 2 "--from 2026-01-02 is after --to 2026-01-01" dags backfill shown --from 2026-01-02 --to 2026-01-01
bad 2 "--run-id: 'a b' must be 1-250 printable characters" dags trigger shown --run-id "a b"
bad 2 "--run-id: 'a/b' must be" dags trigger shown --run-id a/b
bad 2 "--run-id: '' must be" dags trigger shown --run-id ""
bad 2 "--run-id: '$(printf 'r%.0s' {1..251})' must be" dags trigger shown --run-id "$(printf 'r%.0s' {1..251})"
SWARMFLOW_PARALLELISM=99999999999999999999 bad 2 "SWARMFLOW_PARALLELISM" dags list
SWARMFLOW_POLL_INTERVAL=fast bad 2 "SWARMFLOW_POLL_INTERVAL" dags list
SWARMFLOW_DAG_RELOAD_INTERVAL=-1 bad 2 "SWARMFLOW_DAG_RELOAD_INTERVAL" scheduler

# Unknown DAG: exit 1, the DAG named (tasks list/logs look the run up: "no run 'r' for DAG").
bad 1 "unknown DAG 'nope'" dags show nope
bad 1 "unknown DAG 'nope'" dags trigger nope
bad 1 "unknown DAG 'nope'" dags trigger nope --conf 'not json'
bad 1 "unknown DAG 'nope'" dags test nope
bad 1 "unknown DAG 'nope'" dags backfill nope "${from[@]}"
bad 1 "unknown DAG 'nope'" dags pause nope
bad 1 "unknown DAG 'nope'" dags unpause nope
bad 1 "unknown DAG 'nope'" tasks clear nope r
bad 1 "no run 'r' for DAG 'nope'" tasks list nope r
bad 1 "no run 'r' for DAG 'nope'" tasks logs nope r a

# --conf: not JSON, not an object, truncated, huge, NUL and other refused escapes, duplicate
# keys, bytes that are not UTF-8, too deep. There is no size limit of its own (the kernel's
# 128 KiB per argument is the only one): a huge conf is refused only for being bad.
huge_truncated="{\"k\": \"$(head -c 100000 /dev/zero | tr '\0' x)"
deep="{\"a\": $(printf '[%.0s' {1..3000})"
for cmd in trigger test; do
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf 'not json'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf ''
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a":'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a": "b"'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{} trailing'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf "$huge_truncated"
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf "$deep"
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a": "x\u0000y"}'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a\u0000": 1}'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a": "\ud800"}'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf $'{"a": "\xff"}'
	bad 2 "--conf: invalid JSON" dags "$cmd" shown --conf '{"a": 1, "a": 2}'
	bad 2 "--conf: expected a JSON object" dags "$cmd" shown --conf '[1, 2]'
	bad 2 "--conf: expected a JSON object" dags "$cmd" shown --conf '[]'
	# jansson refuses a scalar at the top as such: "'[' or '{' expected".
	for not_object in '"text"' 42 null true; do
		bad 2 "--conf: invalid JSON at column" dags "$cmd" shown --conf "$not_object"
	done
done
# runs list takes a DAG as a filter, and runs of a DAG whose file is gone stay listable: an
# unknown DAG lists nothing, exit 0.
rc=0
out=$("$SWARMFLOW_BIN" runs list nope --json) || rc=$?
assert_eq 0 "$rc" "exit code of runs list with an unknown DAG"
assert_eq "[]" "$(jq -c . <<<"$out")" "runs list nope --json"
printf '%d bad invocations\n' "$n_rows"
((n_rows >= 100)) || fail "only $n_rows rows in the bad-arguments table"
assert_eq "$store_before" "$(db_state)" "the store after the bad-arguments table"

step "a huge but valid --conf (120 KB) is taken and stored whole"
big_conf=$(jq -cn --arg v "$(head -c 120000 /dev/zero | tr '\0' y)" '{big: $v, n: 1}')
sf_run dags trigger shown --conf "$big_conf" --run-id big-conf >/dev/null
assert_eq 0 "$RC" "exit code of dags trigger with a 120 KB conf"
stored=$(runs_json shown | jq -c '.[] | select(.run_id == "big-conf") | .conf')
assert_eq "$big_conf" "$stored" "the stored conf"

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

step "a store-only command loads neither libcurl nor libmicrohttpd; dags test loads libcurl"
# They are loaded when first used (src/engine/curl_load.c, src/web/mhd_load.c): the dynamic
# linker's own record says which libraries a process looked for.
libs_of() { # ARGS...: the libraries the command looked for, from LD_DEBUG=libs
	local d="$E2E_WORK/ld.$RANDOM"
	mkdir -p "$d"
	LD_DEBUG=libs LD_DEBUG_OUTPUT="$d/ld" "$SWARMFLOW_BIN" "$@" >/dev/null 2>&1 || true
	cat "$d"/ld.* | sed -n 's/.*find library=\([^ ;]*\).*/\1/p' | sort -u
}
libs=$(libs_of runs list --json)
assert_contains "$libs" "libsqlite3.so.0" "runs list looked for libsqlite3 (the record works)"
[[ $libs != *libcurl* && $libs != *libmicrohttpd* ]] ||
	fail "runs list loaded libcurl or libmicrohttpd: $libs"
libs=$(libs_of dags test shown)
assert_contains "$libs" "libcurl.so.4" "dags test loaded libcurl"
[[ $libs != *libmicrohttpd* ]] || fail "dags test loaded libmicrohttpd: $libs"

step "dags pause and unpause show in dags list --json"
sf_run dags pause shown
assert_eq 0 "$RC" "dags pause"
assert_eq true "$(sf dags list --json | jq -r '.[] | select(.dag_id == "shown") | .paused')" "paused flag"
sf_run dags unpause shown
assert_eq false "$(sf dags list --json | jq -r '.[] | select(.dag_id == "shown") | .paused')" "unpaused flag"
echo "ok"
