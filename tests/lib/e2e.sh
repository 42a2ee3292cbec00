# tests/lib/e2e.sh - helpers for the end-to-end cases in tests/e2e/ (sourced at the top of each).
# Each case gets a fresh work dir with its own dags folder, state dir, empty config file and a
# unique instance name, so cases never see each other's DAGs, runs or services. On exit the case
# fails if any service of its instance is left, or if a sanitizer wrote a report.
# shellcheck shell=bash

set -euo pipefail
shopt -s inherit_errexit

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_CASE=$(basename "${0%.sh}")
export SWARMFLOW_BIN=${SWARMFLOW_BIN:-$E2E_REPO/build-asan/src/cli/swarmflow}
export SWARMFLOW_TEST_IMAGE=${SWARMFLOW_TEST_IMAGE:-swarmflow-test/busybox:latest}
# shellcheck disable=SC2034 # used by the cases
IMAGE=$SWARMFLOW_TEST_IMAGE

# The work dir: under $E2E_WORK_ROOT when tests/run gives one (kept for inspection), else a
# temp dir removed when the case passes.
if [[ -n ${E2E_WORK_ROOT:-} ]]; then
	E2E_WORK="$E2E_WORK_ROOT/$E2E_CASE"
	rm -rf "$E2E_WORK"
	mkdir -p "$E2E_WORK"
	E2E_KEEP_WORK=1
else
	E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/swarmflow-e2e.XXXXXX")
	E2E_KEEP_WORK=${E2E_KEEP_WORK:-0}
fi
mkdir -p "$E2E_WORK/dags" "$E2E_WORK/state" "$E2E_WORK/sanitizer"
: >"$E2E_WORK/swarmflow.conf"

export SWARMFLOW_CONFIG="$E2E_WORK/swarmflow.conf"
export SWARMFLOW_DAGS_FOLDER="$E2E_WORK/dags"
export SWARMFLOW_STATE_DIR="$E2E_WORK/state"
SWARMFLOW_INSTANCE="e2e-${E2E_CASE//_/-}-$(printf '%04x%04x' "$RANDOM" "$RANDOM")"
export SWARMFLOW_INSTANCE
export SWARMFLOW_POLL_INTERVAL=${SWARMFLOW_POLL_INTERVAL:-0.2}
export SWARMFLOW_LOG_LEVEL=${SWARMFLOW_LOG_LEVEL:-debug}
# A scheduler restarted after a SIGKILL waits for the lease of the one before it to expire
# (lease_timeout, 15 s by default); cases that kill and restart schedulers wait 4 s instead.
export SWARMFLOW_LEASE_TIMEOUT=${SWARMFLOW_LEASE_TIMEOUT:-4s}
# No web server unless a case asks for one (on a port of its own): schedulers never fight for 8080.
export SWARMFLOW_WEB_LISTEN=${SWARMFLOW_WEB_LISTEN:-off}
STATE_DB="$SWARMFLOW_STATE_DIR/swarmflow.db"

# Sanitizer reports go to files, so that none is lost in a captured stderr or a background
# process; exitcode 66 keeps them apart from swarmflow's own exit codes (1 failed run, 2 usage).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:exitcode=66:log_path=$E2E_WORK/sanitizer/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}:exitcode=66:log_path=$E2E_WORK/sanitizer/ubsan"
[[ -f $E2E_REPO/tests/lib/lsan.supp ]] && export LSAN_OPTIONS="suppressions=$E2E_REPO/tests/lib/lsan.supp"

# tests/run learns the instance from here, to sweep services of a case it had to kill.
[[ -n ${E2E_INSTANCE_FILE:-} ]] && printf '%s\n' "$SWARMFLOW_INSTANCE" >"$E2E_INSTANCE_FILE"

cd "$E2E_WORK"
E2E_PIDS=()

step() { printf '\n== %s: %s\n' "$E2E_CASE" "$*"; }
fail() {
	printf 'FAIL: %s: %s\n' "$E2E_CASE" "$*" >&2
	exit 1
}

# sf ARGS...: the swarmflow under test.
sf() { "$SWARMFLOW_BIN" "$@"; }

# sf_run ARGS...: run swarmflow; its stdout+stderr into $OUT (also echoed to the case log), its
# exit code into $RC; never aborts the case.
OUT=
RC=0
sf_run() {
	printf '$ swarmflow %s\n' "$*"
	RC=0
	OUT=$("$SWARMFLOW_BIN" "$@" 2>&1) || RC=$?
	printf '%s\n(exit %d)\n' "$OUT" "$RC"
}

# write_dag NAME: the DAG file $SWARMFLOW_DAGS_FOLDER/NAME.dag from stdin.
write_dag() { cat >"$SWARMFLOW_DAGS_FOLDER/$1.dag"; }

assert_eq() { # EXPECTED ACTUAL WHAT
	[[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() { # UNEXPECTED ACTUAL WHAT
	[[ $1 != "$2" ]] || fail "${3:-value}: did not expect '$1'"
}
assert_contains() { # HAYSTACK NEEDLE WHAT
	[[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2'; it is: $1"
}
assert_not_contains() { # HAYSTACK NEEDLE WHAT
	[[ $1 != *"$2"* ]] || fail "${3:-output} contains '$2'; it is: $1"
}
assert_match() { # STRING ERE WHAT
	[[ $1 =~ $2 ]] || fail "${3:-value} '$1' does not match /$2/"
}
assert_line_match() { # TEXT ERE WHAT: some line of TEXT matches ERE (grep -E)
	grep -qE -e "$2" <<<"$1" || fail "${3:-output}: no line matches /$2/; it is: $1"
}
assert_file() { # PATH WHAT
	[[ -f $1 ]] || fail "${2:-file} $1 does not exist"
}

# ts_ns TIMESTAMP: nanoseconds since the epoch, from an ISO 8601 date or a number of seconds
# (or milliseconds when it has 13 digits).
ts_ns() {
	local t=$1
	[[ -n $t && $t != null ]] || fail "ts_ns: empty timestamp"
	if [[ $t =~ ^[0-9]{13}$ ]]; then
		printf '%s000000\n' "$t"
	elif [[ $t =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		date -u -d "@$t" +%s%N
	else
		date -u -d "$t" +%s%N || fail "ts_ns: cannot parse '$t'"
	fi
}

# seen_after LOG TASK: milliseconds (by the log's timestamps) from the task's "queued" line to its end line in LOG.
seen_after() {
	local q e
	q=$(grep -E "info task queued .* task=$2 " "$1" | head -1 | cut -d' ' -f1)
	e=$(grep -E "info task (success|failed) .* task=$2 " "$1" | head -1 | cut -d' ' -f1)
	[[ -n $q && -n $e ]] || fail "no queued/end lines for $2 in $1"
	echo $((($(ts_ns "$e") - $(ts_ns "$q")) / 1000000))
}

# wait_until SECONDS WHAT CMD...: poll CMD every 0.2 s until it succeeds; fail after SECONDS.
wait_until() {
	local limit=$1 what=$2 start=$SECONDS
	shift 2
	until "$@"; do
		((SECONDS - start < limit)) || fail "timed out after ${limit}s waiting for: $what"
		sleep 0.2
	done
}

# our_services: IDs of the services labelled with this case's instance.
our_services() {
	docker service ls --filter "label=swarmflow.instance=$SWARMFLOW_INSTANCE" -q
}

# service_exists NAME_OR_ID
service_exists() { docker service inspect "$1" >/dev/null 2>&1; }

# sqlite SQL...: query the state database (read-only) with the sqlite3 CLI.
sqlite() {
	assert_file "$STATE_DB" "state database"
	sqlite3 -batch -bail -readonly -cmd '.timeout 5000' "$STATE_DB" "$@"
}

# runs_json [DAG]: `runs list [DAG] --json`, checked to be a JSON array.
runs_json() {
	local out
	out=$("$SWARMFLOW_BIN" runs list "$@" --json) || fail "runs list $* --json failed"
	jq -e 'type == "array"' >/dev/null <<<"$out" || fail "runs list --json is not an array: $out"
	printf '%s\n' "$out"
}

# latest_run_id DAG: the newest run of DAG (runs list is newest first).
latest_run_id() {
	local id
	id=$(runs_json "$1" | jq -r '.[0].run_id // empty')
	[[ -n $id ]] || fail "no run of $1 in runs list"
	printf '%s\n' "$id"
}

# tasks_json DAG RUN_ID: `tasks list DAG RUN_ID --json`, checked to be a JSON array.
tasks_json() {
	local out
	out=$("$SWARMFLOW_BIN" tasks list "$1" "$2" --json) || fail "tasks list $1 $2 --json failed"
	jq -e 'type == "array"' >/dev/null <<<"$out" || fail "tasks list --json is not an array: $out"
	printf '%s\n' "$out"
}

# task_field TASKS_JSON TASK FIELD: one field of one task (jq -r; null prints "null").
task_field() {
	jq -r --arg t "$2" --arg f "$3" \
		'[.[] | select(.task_id == $t)] | if length == 1 then .[0][$f] else error("task \($t): \(length) rows") end' \
		<<<"$1" || fail "no single row for task $2 in tasks list"
}

# bg ARGS...: start swarmflow in the background (output to $E2E_WORK/bg-N.log); sets BG_PID.
bg() {
	local log="$E2E_WORK/bg-${#E2E_PIDS[@]}.log"
	"$SWARMFLOW_BIN" "$@" >"$log" 2>&1 &
	BG_PID=$!
	# shellcheck disable=SC2034 # used by the cases
	BG_LOG=$log
	E2E_PIDS+=("$BG_PID")
}

e2e_cleanup() {
	local rc=$? pid left f
	set +e
	for pid in "${E2E_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			sleep 2
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		fi
	done
	for f in "$E2E_WORK"/bg-*.log; do
		[[ -f $f ]] || continue
		printf '\n---- %s ----\n' "$(basename "$f")"
		tail -n 60 "$f"
	done
	left=$(our_services)
	if [[ -n $left ]]; then
		printf 'FAIL: %s: services of instance %s left behind:\n' "$E2E_CASE" "$SWARMFLOW_INSTANCE" >&2
		docker service ls --filter "label=swarmflow.instance=$SWARMFLOW_INSTANCE" >&2
		# shellcheck disable=SC2086
		docker service rm $left >/dev/null
		rc=1
	fi
	for f in "$E2E_WORK"/sanitizer/*; do
		[[ -f $f ]] || continue
		printf 'FAIL: %s: sanitizer report %s:\n' "$E2E_CASE" "$f" >&2
		head -n 60 "$f" >&2
		rc=1
	done
	if ((rc == 0)); then
		printf '\ncase %s: ok\n' "$E2E_CASE"
		((E2E_KEEP_WORK)) || rm -rf "$E2E_WORK"
	else
		printf '\ncase %s: failed (exit %d); work dir %s\n' "$E2E_CASE" "$rc" "$E2E_WORK"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

step "instance $SWARMFLOW_INSTANCE, work dir $E2E_WORK, binary $SWARMFLOW_BIN"
[[ -x $SWARMFLOW_BIN ]] || fail "no swarmflow binary at $SWARMFLOW_BIN"
