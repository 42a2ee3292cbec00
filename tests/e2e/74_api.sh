#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 74_api: the UI's own API (/ui/api), /metrics and /health of `swarmflow scheduler` on the real swarm, with curl:
# the DAG list with its import errors, a trigger whose conf reaches a task's output, the run
# followed to its end through the API, task instances, stored logs and a running task's log
# tailed live, pause/unpause, clear and the rerun it makes, 401 without the token, 403 when no
# token is configured, 400/404/405/409/413, metrics that count what ran, health; an unusable
# token file exits 2 and a taken address exits 1 naming it.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

command -v curl >/dev/null 2>&1 || fail "curl is not installed (apt-get install curl)"

TOKEN="e2e-$(printf '%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM")"
printf '  %s\n\n' "$TOKEN" >"$E2E_WORK/api-token"
chmod 600 "$E2E_WORK/api-token"
export SWARMFLOW_API_TOKEN_FILE="$E2E_WORK/api-token"
export SWARMFLOW_WEB_LISTEN=127.0.0.1:0 # any free port: read back from the log
DAG=api_e2e
RUN=api_run_1

write_dag api <<EOF_DAG
dag $DAG {
  description = "REST API end to end"
  schedule    = "none"
  start_date  = "2026-01-01"
  tags        = {api, e2e}
  defaults {
    image = "$IMAGE"
  }
  task greet {
    shell = "echo greeting={{ conf.greeting }}"
  }
  task slow {
    upstream = {greet}
    shell    = "echo tick-1; sleep 5; echo tick-2"
  }
  task flaky {
    upstream = {greet}
    shell    = "echo flaky try {{ try_number }}; test {{ try_number }} -ge 2"
  }
  task after {
    upstream = {flaky, slow}
    shell    = "echo after"
  }
}
EOF_DAG
write_dag broken <<'EOF_DAG'
dag broken {
  task t { image = = x }
}
EOF_DAG

# api METHOD PATH [BODY] [TOKEN]: one request; sets CODE, RESP (the body) and HEADERS.
CODE=
RESP=
HEADERS=
api() {
	local method=$1 path=$2 body=${3:-} tok=${4:-}
	local args=(-sS -o "$E2E_WORK/resp" -D "$E2E_WORK/headers" -w '%{http_code}' -X "$method")
	[[ -n $tok ]] && args+=(-H "Authorization: Bearer $tok")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	CODE=$(curl "${args[@]}" "$BASE$path") || fail "curl $method $path failed"
	RESP=$(<"$E2E_WORK/resp")
	HEADERS=$(tr -d '\r' <"$E2E_WORK/headers")
	printf '%s %s -> %s %s\n' "$method" "$path" "$CODE" "${RESP:0:400}"
}
# expect STATUS METHOD PATH [BODY] [TOKEN]: api, then the status and a JSON answer.
expect() {
	local want=$1
	shift
	api "$@"
	assert_eq "$want" "$CODE" "HTTP status of $1 $2"
	assert_line_match "$HEADERS" '^Content-Type: application/json$' "Content-Type of $1 $2"
	jq -e . >/dev/null <<<"$RESP" || fail "$1 $2: the answer is not JSON: $RESP"
}
# expect_error STATUS MESSAGE METHOD PATH [BODY] [TOKEN]
expect_error() {
	local status=$1 msg=$2
	shift 2
	expect "$status" "$@"
	assert_contains "$(jq -r .error <<<"$RESP")" "$msg" "error of $1 $2"
}
jr() { jq -r "$1" <<<"$RESP"; }
# url_of LOG: the web server's address from a scheduler's log ("web: listening url=...").
url_of() { grep -oE 'url=http://127\.0\.0\.1:[0-9]+/' "$1" | head -n 1 | sed 's/^url=//; s:/$::'; }
has_url() { [[ -n $(url_of "$1") ]]; }

step "an unusable token file stops the scheduler at once (exit 2)"
: >"$E2E_WORK/empty-token"
RC=0
OUT=$(SWARMFLOW_API_TOKEN_FILE="$E2E_WORK/empty-token" "$SWARMFLOW_BIN" scheduler 2>&1) || RC=$?
printf '%s\n(exit %d)\n' "$OUT" "$RC"
assert_eq 2 "$RC" "exit code with an empty token file"
assert_contains "$OUT" "api_token_file $E2E_WORK/empty-token: the file holds no token"

step "start the scheduler with the web server on a free loopback port"
bg scheduler
sched_pid=$BG_PID
sched_log=$BG_LOG
wait_until 20 "the web server's address in the log" has_url "$sched_log"
BASE=$(url_of "$sched_log")
PORT=${BASE##*:}
echo "web server at $BASE"
healthy() { api GET /health && [[ $CODE == 200 ]]; }
wait_until 30 "GET /health to answer 200" healthy
assert_eq ok "$(jr .status)" "health status"
assert_eq "$sched_pid" "$(jr .pid)" "health names the scheduler's pid"

step "the DAG list, one DAG, and the import errors"
expect 200 GET /ui/api/dags
assert_eq 1 "$(jr '.dags | length')" "number of DAGs"
assert_eq "$DAG" "$(jr '.dags[0].dag_id')" "dag_id"
assert_eq "REST API end to end" "$(jr '.dags[0].description')" "description"
assert_eq false "$(jr '.dags[0].paused')" "paused"
assert_eq 4 "$(jr '.dags[0].n_tasks')" "n_tasks"
assert_eq "api,e2e" "$(jr '.dags[0].tags | join(",")')" "tags"
assert_eq 0 "$(jr '.dags[0].recent_runs | length')" "recent runs before any"
assert_contains "$(jr '.import_errors[0].file')" "broken.dag" "import error file"
assert_eq 2 "$(jr '.import_errors[0].line')" "import error line"
assert_ne "" "$(jr '.import_errors[0].message')" "import error message"
expect 200 GET "/ui/api/dags/$DAG"
assert_eq "greet,slow,flaky,after" "$(jr '[.tasks[].task_id] | join(",")')" "tasks in dependency order"
assert_eq "flaky,slow" "$(jr '.tasks[3].upstream | join(",")')" "upstream of after"
assert_eq "$IMAGE" "$(jr '.tasks[0].image')" "image"
assert_eq all_success "$(jr '.tasks[0].trigger_rule')" "trigger_rule"
assert_eq 0 "$(jr '.tasks[0].retries')" "retries"

step "writes need the bearer token"
expect_error 401 "missing bearer token" POST "/ui/api/dags/$DAG/runs" '{}'
assert_line_match "$HEADERS" '^WWW-Authenticate: Bearer' "WWW-Authenticate header"
expect_error 401 "invalid bearer token" POST "/ui/api/dags/$DAG/runs" '{}' "${TOKEN}x"
expect_error 401 "invalid bearer token" PATCH "/ui/api/dags/$DAG" '{"paused": true}' wrong
assert_eq 0 "$(sqlite "SELECT COUNT(*) FROM dag_runs")" "runs after refused writes"

step "trigger a run with a conf"
expect 201 POST "/ui/api/dags/$DAG/runs" '{"conf": {"greeting": "hello-api-7f3a"}, "run_id": "'$RUN'"}' "$TOKEN"
assert_eq "$RUN" "$(jr .run_id)" "run_id"
assert_eq queued "$(jr .state)" "state of the new run"
assert_eq manual "$(jr .run_type)" "run_type"
assert_eq hello-api-7f3a "$(jr .conf.greeting)" "conf.greeting"
assert_line_match "$HEADERS" "^Location: /ui/api/dags/$DAG/runs/$RUN\$" "Location header"
expect_error 409 "run '$RUN' already exists for DAG '$DAG'" POST "/ui/api/dags/$DAG/runs" '{"run_id": "'$RUN'"}' "$TOKEN"
expect_error 400 "conf: expected a JSON object" POST "/ui/api/dags/$DAG/runs" '{"conf": [1]}' "$TOKEN"
expect_error 400 "invalid JSON" POST "/ui/api/dags/$DAG/runs" '{"conf":' "$TOKEN"
expect_error 404 "unknown DAG 'nosuch'" POST /ui/api/dags/nosuch/runs '{}' "$TOKEN"
expect_error 404 "unknown DAG 'broken'" POST /ui/api/dags/broken/runs '{}' "$TOKEN"
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
expect_error 413 "request body over 65536 bytes" POST "/ui/api/dags/$DAG/runs" "{\"conf\": {}$big}" "$TOKEN"
assert_eq 1 "$(sqlite "SELECT COUNT(*) FROM dag_runs")" "runs after the refused triggers"

step "a running task's log is tailed live from the engine"
LOGS="/ui/api/dags/$DAG/runs/$RUN/tasks"
slow_running() {
	api GET "$LOGS" && [[ $(jr '.task_instances[] | select(.task_id == "slow") | .state') == running ]]
}
wait_until 90 "task slow to run" slow_running
live_tick() {
	api GET "$LOGS/slow/logs/1" && [[ $CODE == 200 ]] &&
		[[ $(jr .content) == *tick-1* && $(jr .complete) == false ]]
}
wait_until 10 "the live log of slow to show tick-1 (not complete)" live_tick
assert_not_contains "$(jr .content)" "tick-2" "the live log while slow sleeps"
assert_ne 0 "$(jr .next_offset)" "next_offset of the live log"

step "follow the run to its end through the API (flaky fails on try 1)"
run_over() {
	api GET "/ui/api/dags/$DAG/runs/$RUN" && [[ $(jr .state) == success || $(jr .state) == failed ]]
}
wait_until 120 "run $RUN to end" run_over
assert_eq failed "$(jr .state)" "state of the run"
assert_ne null "$(jr .start_date)" "start_date"
assert_ne null "$(jr .end_date)" "end_date"
expect 200 GET "$LOGS"
tstate() { jr ".task_instances[] | select(.task_id == \"$1\") | .$2"; }
assert_eq success "$(tstate greet state)" "greet"
assert_eq 0 "$(tstate greet exit_code)" "greet's exit code"
assert_eq success "$(tstate slow state)" "slow"
assert_eq failed "$(tstate flaky state)" "flaky"
assert_eq 1 "$(tstate flaky exit_code)" "flaky's exit code"
assert_eq 1 "$(tstate flaky try_number)" "flaky's try"
assert_eq upstream_failed "$(tstate after state)" "after"
assert_match "$(tstate greet service_name)" "^swarmflow_${DAG}_greet_" "greet's service name"
assert_match "$(tstate greet duration)" '^[0-9.]+$' "greet's duration"

step "stored logs: the conf reached the task's output"
expect 200 GET "$LOGS/greet/logs/1"
assert_contains "$(jr .content)" "greeting=hello-api-7f3a" "log of greet"
assert_eq true "$(jr .complete)" "greet's log is complete"
sf_run tasks logs "$DAG" "$RUN" greet
assert_eq "$OUT" "$(jr .content)" "the API's log and tasks logs"
expect 200 GET "$LOGS/greet/logs/1?offset=9"
assert_eq "hello-api-7f3a" "$(jr .content)" "the log from offset 9 (after 'greeting=')"
expect 200 GET "$LOGS/slow/logs/1"
assert_contains "$(jr .content)" "tick-1" "slow's stored log"
assert_contains "$(jr .content)" "tick-2" "slow's stored log"
assert_eq true "$(jr .complete)" "slow's stored log is complete"

step "the grid and the lists"
expect 200 GET "/ui/api/dags/$DAG/grid?limit=5"
assert_eq "greet,slow,flaky,after" "$(jr '.tasks | join(",")')" "grid tasks"
assert_eq failed "$(jr '.runs[0].tasks.flaky')" "grid: flaky"
assert_eq "$RUN" "$(jr '.runs[0].run_id')" "grid: run"
expect 200 GET "/ui/api/dags/$DAG/runs"
assert_eq 1 "$(jr .total)" "total runs"
expect 200 GET "/ui/api/runs?dag_id=$DAG&state=failed&limit=10&offset=0"
assert_eq 1 "$(jr .total)" "failed runs"
assert_eq "$RUN" "$(jr '.runs[0].run_id')" "failed run"
expect 200 GET "/ui/api/runs?state=success"
assert_eq 0 "$(jr .total)" "successful runs so far"
expect 200 GET /ui/api/dags
assert_eq "$RUN" "$(jr '.dags[0].recent_runs[0].run_id')" "recent run"

step "pause and unpause"
expect 200 PATCH "/ui/api/dags/$DAG" '{"paused": true}' "$TOKEN"
assert_eq true "$(jr .paused)" "paused after PATCH"
assert_eq true "$("$SWARMFLOW_BIN" dags list --json | jq -r ".[] | select(.dag_id == \"$DAG\") | .paused")" \
	"dags list sees the pause"
expect 200 GET "/ui/api/dags/$DAG"
assert_eq true "$(jr .paused)" "GET after PATCH"
expect_error 400 "paused: expected true or false" PATCH "/ui/api/dags/$DAG" '{"paused": "no"}' "$TOKEN"
expect 200 PATCH "/ui/api/dags/$DAG" '{"paused": false}' "$TOKEN"
assert_eq false "$(jr .paused)" "paused after unpausing"

step "clear the failed task and its downstream; the daemon runs them again"
expect_error 400 "DAG '$DAG' has no task 'nosuch'" POST "/ui/api/dags/$DAG/runs/$RUN/clear" '{"tasks": ["nosuch"]}' "$TOKEN"
expect_error 401 "bearer token" POST "/ui/api/dags/$DAG/runs/$RUN/clear" '{}'
expect 200 POST "/ui/api/dags/$DAG/runs/$RUN/clear" '{"downstream": true}' "$TOKEN"
assert_eq "flaky,after" "$(jr '[.cleared[].task_id] | join(",")')" "cleared tasks"
assert_eq "failed,upstream_failed" "$(jr '[.cleared[].previous_state] | join(",")')" "their states"
assert_eq true "$(jr .requeued)" "the run is queued again"
wait_until 120 "the cleared run to end" run_over
assert_eq success "$(jr .state)" "state of the run after the clear"
expect 200 GET "$LOGS"
assert_eq success "$(tstate flaky state)" "flaky after the clear"
assert_eq 2 "$(tstate flaky try_number)" "flaky's try after the clear"
assert_eq success "$(tstate after state)" "after after the clear"
assert_eq 1 "$(tstate greet try_number)" "greet was not run again"
expect 200 GET "$LOGS/flaky/tries"
assert_eq "1:failed:1,2:success:0" "$(jr '[.tries[] | "\(.try_number):\(.state):\(.exit_code)"] | join(",")')" "tries of flaky"
expect 200 GET "$LOGS/flaky/logs/1"
assert_contains "$(jr .content)" "flaky try 1" "log of try 1"
expect 200 GET "$LOGS/flaky/logs/2"
assert_contains "$(jr .content)" "flaky try 2" "log of try 2"

step "404, 400 and 405"
expect_error 404 "unknown DAG 'nosuch'" GET /ui/api/dags/nosuch
expect_error 404 "no run 'nosuch' for DAG '$DAG'" GET "/ui/api/dags/$DAG/runs/nosuch"
expect_error 404 "run '$RUN' has no task 'nosuch'" GET "$LOGS/nosuch/tries"
expect_error 404 "task 'flaky' has no try 9" GET "$LOGS/flaky/logs/9"
expect_error 404 "no such endpoint" GET /ui/api/nothing
expect_error 400 "invalid DAG id" GET "/ui/api/dags/a%2Fb"
expect_error 400 "invalid try number" GET "$LOGS/flaky/logs/0"
expect_error 400 "limit: expected an integer from 1 to 1000, got '0'" GET "/ui/api/runs?limit=0"
expect_error 400 "state: unknown run state" GET "/ui/api/runs?state=done"
expect_error 405 "method DELETE is not allowed" DELETE "/ui/api/dags/$DAG"
assert_line_match "$HEADERS" '^Allow: GET, HEAD, PATCH$' "Allow header"

step "metrics count what ran"
api GET /metrics
assert_eq 200 "$CODE" "GET /metrics"
assert_line_match "$HEADERS" '^Content-Type: text/plain; version=0.0.4' "Content-Type of /metrics"
metric() { # SERIES: its value in the scrape
	awk -v s="$1" '$1 == s { print $2 }' <<<"$RESP"
}
for name in swarmflow_tries_started_total swarmflow_dispatch_latency_seconds \
	swarmflow_run_duration_seconds swarmflow_engine_errors_total swarmflow_poll_tick_seconds \
	swarmflow_task_instances swarmflow_dag_runs swarmflow_dag_import_errors swarmflow_dags \
	swarmflow_http_requests_total; do
	assert_line_match "$RESP" "^# TYPE $name " "metric $name"
done
assert_eq 1 "$(metric 'swarmflow_dag_runs{state="success"}')" "successful runs"
assert_eq 0 "$(metric 'swarmflow_dag_runs{state="failed"}')" "failed runs"
assert_eq 4 "$(metric 'swarmflow_task_instances{state="success"}')" "successful task instances"
assert_eq 0 "$(metric 'swarmflow_task_instances{state="failed"}')" "failed task instances"
assert_eq 1 "$(metric swarmflow_dags)" "DAGs loaded"
assert_eq 1 "$(metric swarmflow_dag_import_errors)" "import errors"
assert_eq 1 "$(metric 'swarmflow_http_requests_total{code="201"}')" "201 answers (one trigger)"
assert_eq 1 "$(metric 'swarmflow_http_requests_total{code="413"}')" "413 answers"
# Tries dispatched: greet, slow, flaky twice, after; each counted by the loop as it starts.
tries=$(awk '/^swarmflow_tries_started_total\{/ { n += $2 } END { print n + 0 }' <<<"$RESP")
assert_eq 5 "$tries" "tries started"
assert_eq 5 "$(metric "swarmflow_tries_started_total{dag_id=\"$DAG\"}")" "tries of $DAG"
dispatched=$(metric swarmflow_dispatch_latency_seconds_count)
assert_eq 5 "$dispatched" "dispatch latency observations"
ticks=$(metric swarmflow_poll_tick_seconds_count)
((ticks > 0)) || fail "no poll tick observed (swarmflow_poll_tick_seconds_count=$ticks)"
runs_ok=$(metric 'swarmflow_run_duration_seconds_count{state="success"}')
((runs_ok >= 1)) || fail "no successful run observed in swarmflow_run_duration_seconds ($runs_ok)"

step "a scheduler without api_token_file serves a read-only API (403)"
SWARMFLOW_STATE_DIR="$E2E_WORK/state-ro" SWARMFLOW_API_TOKEN_FILE="" bg scheduler
ro_pid=$BG_PID
wait_until 20 "the read-only server's address" has_url "$BG_LOG"
main_base=$BASE
BASE=$(url_of "$BG_LOG")
wait_until 30 "the read-only scheduler's loop to run (GET /health 200)" healthy
expect_error 403 "read-only: no api_token_file configured" POST "/ui/api/dags/$DAG/runs" '{}' "$TOKEN"
expect_error 403 "read-only" PATCH "/ui/api/dags/$DAG" '{"paused": true}' "$TOKEN"
expect 200 GET /ui/api/dags
kill -TERM "$ro_pid"
rc=0
wait "$ro_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the read-only scheduler after SIGTERM"
BASE=$main_base

step "an address in use: exit 1, naming it"
RC=0
OUT=$(SWARMFLOW_STATE_DIR="$E2E_WORK/state-busy" SWARMFLOW_WEB_LISTEN="127.0.0.1:$PORT" \
	"$SWARMFLOW_BIN" scheduler 2>&1) || RC=$?
printf '%s\n(exit %d)\n' "$OUT" "$RC"
assert_eq 1 "$RC" "exit code when the address is taken"
assert_contains "$OUT" "web_listen 127.0.0.1:$PORT: cannot listen: Address already in use"

step "SIGTERM the scheduler"
expect 200 GET /health
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
