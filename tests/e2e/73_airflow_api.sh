#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 73_airflow_api: Airflow's stable REST API (/api/v1) on the real swarm, driven only through it,
# as a client written for Airflow would: health and version, the DAG list with its filters, one
# DAG, its details and tasks, import errors and pools; trigger with conf (HTTP Basic auth, the
# token as password), poll the dag run to success, list task instances, read a log (JSON with a
# continuation token, and text/plain), clear a task (dry run first), see try 2, pause the DAG,
# mark a run failed and delete it; a mapped task's instances (listMapped, one by its map index),
# their XCom (return_value, the output) and logs, and a clear of all of them; what cannot map
# answers 404 Problem JSON; a table of bad input gets 4xx Problem JSON and changes nothing in
# the store. Every answer is recorded and
# checked against Airflow's v1 OpenAPI document (tests/openapi/check.mjs, openapi-backend).
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

command -v curl >/dev/null 2>&1 || fail "curl is not installed (apt-get install curl)"
command -v node >/dev/null 2>&1 || fail "node is not installed (apt-get install nodejs)"
OPENAPI="$E2E_REPO/tests/openapi"
[[ -d $OPENAPI/node_modules/openapi-backend ]] ||
	fail "the OpenAPI checker is not installed: npm ci --prefix tests/openapi"

TOKEN="af-$(printf '%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM")"
printf '%s\n' "$TOKEN" >"$E2E_WORK/api-token"
chmod 600 "$E2E_WORK/api-token"
export SWARMFLOW_API_TOKEN_FILE="$E2E_WORK/api-token"
export SWARMFLOW_WEB_LISTEN=127.0.0.1:0
DAG=af_e2e
RUN=af_run_1
RUN2=af_run_2
EXCHANGES="$E2E_WORK/exchanges.jsonl"
: >"$EXCHANGES"

write_dag af <<EOF_DAG
dag $DAG {
  description = "Airflow's REST API end to end"
  schedule    = "none"
  start_date  = "2026-01-01"
  tags        = {airflow, e2e}
  defaults {
    image = "$IMAGE"
  }
  task greet {
    shell = "echo greeting={{ conf.greeting }} try={{ try_number }}"
  }
  task after {
    upstream = {greet}
    shell    = "echo after"
  }
}
dag af_mapped {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task list_files {
    shell  = "for f in a.csv b.csv c.csv; do echo \"::output:: \$f\"; done"
    output = "marked"
  }
  task process {
    upstream = {list_files}
    expand   = "{{ upstream.list_files.output }}"
    shell    = "echo processing {{ item }} try={{ try_number }}; echo '{\"file\": \"{{ item }}\", \"index\": {{ map_index }}}'"
    output   = "last_line"
  }
}
dag af_other {
  schedule   = "none"
  start_date = "2026-01-01"
  tags       = {other}
  task t {
    image = "$IMAGE"
    shell = "true"
  }
}
EOF_DAG
write_dag broken <<'EOF_DAG'
dag broken {
  task t { image = = x }
}
EOF_DAG

# af METHOD PATH [BODY] [AUTH] [ACCEPT]: one request, recorded in $EXCHANGES; AUTH is "basic"
# (the default: any user, the token as password), "bearer", "none" or a whole header value.
# Sets CODE, RESP, CTYPE.
CODE=
RESP=
CTYPE=
af() {
	local method=$1 path=$2 body=${3:-} auth=${4:-basic} accept=${5:-application/json}
	local args=(-sS --path-as-is -o "$E2E_WORK/resp" -D "$E2E_WORK/headers" -w '%{http_code}' -X "$method"
		-H "Accept: $accept")
	case $auth in
	basic) args+=(-u "airflow-user:$TOKEN") ;;
	bearer) args+=(-H "Authorization: Bearer $TOKEN") ;;
	none) ;;
	*) args+=(-H "Authorization: $auth") ;;
	esac
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	CODE=$(curl "${args[@]}" "$BASE$path") || fail "curl $method $path failed"
	RESP=$(<"$E2E_WORK/resp")
	CTYPE=$(tr -d '\r' <"$E2E_WORK/headers" | sed -n 's/^Content-Type: //Ip' | tail -n 1)
	printf '%s %s -> %s %s\n' "$method" "$path" "$CODE" "${RESP:0:300}"
	jq -nc --arg m "$method" --arg p "$path" --arg s "$CODE" --arg ct "$CTYPE" \
		--rawfile b "$E2E_WORK/resp" \
		'{method: $m, path: $p, status: ($s | tonumber), content_type: $ct, body: $b}' >>"$EXCHANGES"
}
# expect STATUS METHOD PATH [BODY] [AUTH] [ACCEPT]
expect() {
	local want=$1
	shift
	af "$@"
	assert_eq "$want" "$CODE" "HTTP status of $1 $2"
}
# problem STATUS MESSAGE METHOD PATH [BODY] [AUTH]: a Problem JSON answer saying MESSAGE.
problem() {
	local status=$1 msg=$2
	shift 2
	expect "$status" "$@"
	jq -e --argjson s "$status" '(.type | type == "string") and (.title | type == "string")
		and .status == $s and (.detail | type == "string")' >/dev/null <<<"$RESP" ||
		fail "$1 $2: not Problem JSON: $RESP"
	assert_contains "$(jq -r .detail <<<"$RESP")" "$msg" "detail of $1 $2"
}
jr() { jq -r "$1" <<<"$RESP"; }
url_of() { grep -oE 'url=http://127\.0\.0\.1:[0-9]+/' "$1" | head -n 1 | sed 's/^url=//; s:/$::'; }
has_url() { [[ -n $(url_of "$1") ]]; }
# store_digest: everything a request could change, as one hash.
store_digest() {
	sqlite "SELECT * FROM dags ORDER BY dag_id; SELECT * FROM dag_runs ORDER BY id;
		SELECT * FROM task_instances ORDER BY id; SELECT * FROM task_tries ORDER BY ti_pk, try_number;" |
		sha256sum | cut -d' ' -f1
}

step "start the scheduler with the web server on a free loopback port"
bg scheduler
wait_until 20 "the web server's address in the log" has_url "$BG_LOG"
BASE=$(url_of "$BG_LOG")
healthy() { af GET /api/v1/health "" none && [[ $(jr .scheduler.status) == healthy ]]; }
wait_until 30 "GET /api/v1/health to say healthy" healthy
assert_eq healthy "$(jr .metadatabase.status)" "metadatabase status"
assert_ne null "$(jr .scheduler.latest_scheduler_heartbeat)" "latest scheduler heartbeat"
expect 200 GET /api/v1/version
assert_ne "" "$(jr .version)" "version"

step "DAGs: the list and its filters, one DAG, its details and tasks, import errors, pools"
expect 200 GET /api/v1/dags
assert_eq 3 "$(jr .total_entries)" "total_entries of the DAG list"
assert_eq "$DAG" "$(jr '.dags[0].dag_id')" "first DAG"
assert_eq false "$(jr '.dags[0].is_paused')" "is_paused"
assert_eq "airflow,e2e" "$(jr '[.dags[0].tags[].name] | join(",")')" "tags as Airflow's objects"
expect 200 GET "/api/v1/dags?tags=other&tags=nosuch"
assert_eq af_other "$(jr '[.dags[].dag_id] | join(",")')" "tags filter (any of them)"
expect 200 GET "/api/v1/dags?dag_id_pattern=E2E&paused=false&limit=1&offset=0&order_by=-dag_id"
assert_eq "1 $DAG" "$(jr '"\(.total_entries) \(.dags[0].dag_id)"')" "dag_id_pattern, paused, order_by"
expect 200 GET "/api/v1/dags/$DAG"
assert_eq "Airflow's REST API end to end" "$(jr .description)" "description"
assert_eq null "$(jr .schedule_interval)" "schedule_interval of a manual-only DAG"
expect 200 GET "/api/v1/dags/$DAG/details"
assert_eq 2026-01-01T00:00:00Z "$(jr .start_date)" "start_date in details"
expect 200 GET "/api/v1/dags/$DAG/tasks"
assert_eq "after,greet" "$(jr '[.tasks[].task_id] | join(",")')" "tasks by task_id"
assert_eq after "$(jr '.tasks[] | select(.task_id == "greet") | .downstream_task_ids | join(",")')" "downstream of greet"
expect 200 GET /api/v1/importErrors
assert_eq 1 "$(jr .total_entries)" "import errors"
assert_contains "$(jr '.import_errors[0].filename')" "broken.dag" "import error file"
assert_contains "$(jr '.import_errors[0].stack_trace')" "broken.dag:2:" "import error FILE:LINE"
expect 200 GET /api/v1/pools
assert_eq default_pool "$(jr '.pools[0].name')" "the default pool"
expect 200 GET /api/v1/pools/default_pool
assert_eq 0 "$(jr .occupied_slots)" "occupied slots when idle"
problem 404 "no pool 'nosuch'" GET /api/v1/pools/nosuch

step "writes need the token: Basic (any user, token as password) or Bearer"
problem 401 "missing bearer token" POST "/api/v1/dags/$DAG/dagRuns" '{}' none
problem 401 "invalid" POST "/api/v1/dags/$DAG/dagRuns" '{}' "Basic $(printf 'u:%sx' "$TOKEN" | base64)"
problem 401 "invalid" PATCH "/api/v1/dags/$DAG" '{"is_paused": true}' "Bearer nope"
assert_eq 0 "$(sqlite "SELECT COUNT(*) FROM dag_runs")" "runs after refused writes"

step "trigger with conf, poll the dag run to success"
expect 200 POST "/api/v1/dags/$DAG/dagRuns" '{"dag_run_id": "'$RUN'", "conf": {"greeting": "hi-af-5c1"}, "note": null}'
assert_eq "$RUN" "$(jr .dag_run_id)" "dag_run_id"
assert_eq queued "$(jr .state)" "state of the new run"
assert_eq hi-af-5c1 "$(jr .conf.greeting)" "conf"
assert_eq true "$(jr .external_trigger)" "external_trigger"
problem 409 "already exists" POST "/api/v1/dags/$DAG/dagRuns" '{"dag_run_id": "'$RUN'"}'
run_state() { af GET "/api/v1/dags/$DAG/dagRuns/$RUN" "" none && [[ $(jr .state) == "$1" ]]; }
wait_until 120 "run $RUN to succeed" run_state success
assert_ne null "$(jr .end_date)" "end_date of the run"

step "task instances, one of them, the lists across DAGs and runs"
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN/taskInstances"
assert_eq 2 "$(jr .total_entries)" "task instances"
ti() { jr ".task_instances[] | select(.task_id == \"$1\") | .$2"; }
assert_eq success "$(ti greet state)" "greet"
assert_eq 1 "$(ti greet try_number)" "greet's try"
assert_eq -1 "$(ti greet map_index)" "map_index of an unmapped task"
assert_eq 0 "$(ti greet exit_code)" "greet's exit code (swarmflow's own field)"
assert_match "$(ti greet service_name)" "^swarmflow_${DAG}_greet_" "service name"
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN/taskInstances?state=success&order_by=-task_id&limit=1"
assert_eq "2 greet" "$(jr '"\(.total_entries) \(.task_instances[0].task_id)"')" "state filter, order_by, limit"
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN/taskInstances/greet"
assert_eq "$RUN" "$(jr .dag_run_id)" "one task instance"
expect 200 GET "/api/v1/dags/~/dagRuns?state=success&state=failed"
assert_eq 1 "$(jr .total_entries)" "runs of every DAG"
expect 200 GET "/api/v1/dags/$DAG/dagRuns?execution_date_gte=2000-01-01T00:00:00.000000%2B00:00&end_date_lte=2999-01-01T00:00:00Z"
assert_eq 1 "$(jr .total_entries)" "date ranges"
expect 200 POST /api/v1/dags/~/dagRuns/list '{"dag_ids": ["'$DAG'"], "states": ["success"], "order_by": "-execution_date", "page_limit": 10}'
assert_eq "$RUN" "$(jr '.dag_runs[0].dag_run_id')" "the batch run list"
expect 200 POST /api/v1/dags/~/dagRuns/~/taskInstances/list '{"dag_ids": ["'$DAG'"], "task_ids": ["after"]}'
assert_eq "1 after" "$(jr '"\(.total_entries) \(.task_instances[0].task_id)"')" "the batch task instance list"

step "read a log: JSON with a continuation token, then text/plain"
LOG="/api/v1/dags/$DAG/dagRuns/$RUN/taskInstances/greet/logs"
expect 200 GET "$LOG/1"
assert_contains "$(jr .content)" "greeting=hi-af-5c1 try=1" "log of try 1 (the conf reached the task)"
token=$(jr .continuation_token)
expect 200 GET "$LOG/1?token=$token"
assert_eq "" "$(jr .content)" "nothing after the continuation token"
expect 200 GET "$LOG/1?full_content=true" "" none "text/plain"
assert_contains "$CTYPE" "text/plain" "Content-Type of the text log"
assert_contains "$RESP" "greeting=hi-af-5c1" "text/plain log"
problem 404 "has no try 2" GET "$LOG/2"

step "clear a task: a dry run changes nothing, then the real one; see try 2"
before=$(store_digest)
expect 200 POST "/api/v1/dags/$DAG/clearTaskInstances" '{"dag_run_id": "'$RUN'", "task_ids": ["greet"], "only_failed": false}'
assert_eq greet "$(jr '[.task_instances[].task_id] | join(",")')" "a dry run by default"
expect 200 POST "/api/v1/dags/$DAG/dagRuns/$RUN/clear" '{}'
assert_eq "after,greet" "$(jr '[.task_instances[].task_id] | sort | join(",")')" "dry run of clearing the run"
assert_eq "$before" "$(store_digest)" "the store after dry runs"
expect 200 POST "/api/v1/dags/$DAG/clearTaskInstances" '{"dag_run_id": "'$RUN'", "task_ids": ["greet"], "only_failed": false, "include_downstream": true, "dry_run": false}'
assert_eq "greet,after" "$(jr '[.task_instances[].task_id] | join(",")')" "cleared with downstream"
wait_until 120 "run $RUN to succeed again" run_state success
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN/taskInstances/greet"
assert_eq 2 "$(jr .try_number)" "greet's try after the clear"
assert_eq success "$(jr .state)" "greet after the clear"
expect 200 GET "$LOG/2"
assert_contains "$(jr .content)" "try=2" "log of try 2"

step "a mapped task: its instances, one by its map index, its XCom, a log, a clear of all of them"
M=af_mapped
MR=af_mapped_1
MT="/api/v1/dags/$M/dagRuns/$MR/taskInstances"
expect 200 GET "/api/v1/dags/$M/tasks"
assert_eq true "$(jr '.tasks[] | select(.task_id == "process") | .is_mapped')" "is_mapped"
expect 200 POST "/api/v1/dags/$M/dagRuns" '{"dag_run_id": "'$MR'"}'
mapped_state() { af GET "/api/v1/dags/$M/dagRuns/$MR" "" none && [[ $(jr .state) == "$1" ]]; }
wait_until 180 "run $MR to succeed" mapped_state success
expect 200 GET "$MT/process/listMapped"
assert_eq "3 0,1,2" "$(jr '"\(.total_entries) \([.task_instances[].map_index | tostring] | join(","))"')" "listMapped"
assert_eq "success,success,success" "$(jr '[.task_instances[].state] | join(",")')" "the instances' states"
expect 200 GET "$MT/process/listMapped?order_by=-map_index&limit=2&offset=1"
assert_eq "3 1,0" "$(jr '"\(.total_entries) \([.task_instances[].map_index | tostring] | join(","))"')" "listMapped order_by, limit, offset"
problem 404 "Task id list_files is not mapped" GET "$MT/list_files/listMapped"
problem 404 "Task instance is mapped, add the map_index value to the URL" GET "$MT/process"
expect 200 GET "$MT/process/2"
assert_eq "2 success" "$(jr '"\(.map_index) \(.state)"')" "one mapped instance"
problem 404 "no instance 5 of task 'process'" GET "$MT/process/5"
expect 200 GET "$MT?order_by=map_index"
assert_eq "-1,0,1,2" "$(jr '[.task_instances[].map_index | tostring] | join(",")')" "the run's task instances"
expect 200 GET "$MT/process/xcomEntries"
assert_eq "3 return_value" "$(jr '"\(.total_entries) \(.xcom_entries[0].key)"')" "XCom entries"
expect 200 GET "$MT/process/xcomEntries?map_index=1"
assert_eq "1 1" "$(jr '"\(.total_entries) \(.xcom_entries[0].map_index)"')" "XCom entries of one instance"
expect 200 GET "$MT/process/xcomEntries/return_value?map_index=1"
assert_eq '{"file": "b.csv", "index": 1}' "$(jr .value)" "XCom value (stringified: Airflow's default)"
expect 200 GET "$MT/process/xcomEntries/return_value?map_index=2&stringify=false"
assert_eq "c.csv 2" "$(jr '"\(.value.file) \(.value.index)"')" "XCom value as JSON"
expect 200 GET "$MT/list_files/xcomEntries/return_value"
assert_contains "$(jr .value)" "c.csv" "the XCom of an unmapped task (its marked output)"
assert_eq -1 "$(jr .map_index)" "its map_index"
problem 404 "one key per task instance" GET "$MT/process/xcomEntries/rows?map_index=0"
problem 404 "task 'process' is mapped" GET "$MT/process/xcomEntries/return_value"
expect 200 GET "$MT/process/logs/1?map_index=2"
assert_contains "$(jr .content)" "processing c.csv try=1" "the log of one instance"
expect 200 POST "/api/v1/dags/$M/clearTaskInstances" '{"dag_run_id": "'$MR'", "task_ids": ["process"], "only_failed": false, "dry_run": false}'
assert_eq "0,1,2" "$(jr '[.task_instances[].map_index | tostring] | join(",")')" "clearing a mapped task clears all its instances"
wait_until 180 "run $MR to succeed again" mapped_state success
expect 200 GET "$MT/process/1"
assert_eq "2 success" "$(jr '"\(.try_number) \(.state)"')" "instance 1 after the clear"
expect 200 GET "$MT/process/logs/2?map_index=1"
assert_contains "$(jr .content)" "processing b.csv try=2" "the log of try 2 of instance 1"

step "pause the DAG; a run of a paused DAG stays queued; mark it failed, delete it"
expect 200 PATCH "/api/v1/dags/$DAG?update_mask=is_paused" '{"is_paused": true}'
assert_eq true "$(jr .is_paused)" "is_paused after PATCH"
expect 200 GET "/api/v1/dags?paused=true"
assert_eq "$DAG" "$(jr '[.dags[].dag_id] | join(",")')" "paused DAGs"
expect 200 POST "/api/v1/dags/$DAG/dagRuns" '{"dag_run_id": "'$RUN2'", "logical_date": "2026-03-01T00:00:00Z"}' bearer
assert_eq 2026-03-01T00:00:00Z "$(jr .logical_date)" "logical_date of the trigger"
sleep 2
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN2"
assert_eq queued "$(jr .state)" "a run of a paused DAG"
expect 200 PATCH "/api/v1/dags/$DAG/dagRuns/$RUN2" '{"state": "failed"}'
assert_eq failed "$(jr .state)" "run marked failed"
expect 200 GET "/api/v1/dags/$DAG/dagRuns/$RUN2/taskInstances"
assert_eq "skipped,skipped" "$(jr '[.task_instances[].state] | join(",")')" "its tasks not started"
expect 204 DELETE "/api/v1/dags/$DAG/dagRuns/$RUN2"
problem 404 "no run '$RUN2'" GET "/api/v1/dags/$DAG/dagRuns/$RUN2"
assert_eq 0 "$(sqlite "SELECT COUNT(*) FROM task_instances WHERE run_id = '$RUN2'")" "its task instances"

step "what cannot map answers 404 Problem JSON"
problem 404 "no Airflow variables" GET /api/v1/variables
problem 404 "no Airflow connections" GET /api/v1/connections
problem 404 "no such endpoint" GET /api/v1/nothing

step "bad input: each a 4xx Problem JSON, nothing changed"
before=$(store_digest)
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
R="/api/v1/dags/$DAG/dagRuns"
# STATUS|METHOD|PATH|BODY|DETAIL (a substring)
while IFS='|' read -r status method path body detail; do
	[[ -z $status || $status == \#* ]] && continue
	problem "$status" "$detail" "$method" "$path" "${body//@BIG@/$big}"
done <<EOF_TABLE
# unknown fields
400|POST|$R|{"dag_run_id": "x1", "colour": "red"}|unknown field 'colour'
400|PATCH|/api/v1/dags/$DAG|{"is_paused": false, "owners": []}|unknown field 'owners'
400|POST|/api/v1/dags/$DAG/clearTaskInstances|{"dag_run_id": "$RUN", "bogus": 1}|unknown field 'bogus'
400|POST|/api/v1/dags/~/dagRuns/list|{"dag_idz": []}|unknown field 'dag_idz'
400|GET|$R?colour=red||query parameter 'colour' is not supported
# wrong types
400|POST|$R|{"conf": [1, 2]}|conf: expected a JSON object
400|POST|$R|{"dag_run_id": 7}|dag_run_id: expected a string
400|POST|$R|{"logical_date": "yesterday"}|logical_date: expected a date-time
400|PATCH|/api/v1/dags/$DAG|{"is_paused": "yes"}|is_paused: expected true or false
400|PATCH|$R/$RUN|{"state": 1}|state: expected
400|PATCH|$R/$RUN|{"state": "queued"}|state: expected
400|POST|/api/v1/dags/$DAG/clearTaskInstances|{"dag_run_id": "$RUN", "dry_run": "no"}|dry_run: expected true or false
400|POST|/api/v1/dags/$DAG/clearTaskInstances|{"dag_run_id": "$RUN", "task_ids": "greet", "dry_run": false}|task_ids: expected an array
400|POST|/api/v1/dags/$DAG/clearTaskInstances|{"task_ids": ["greet"], "dry_run": false}|dag_run_id: required
400|POST|/api/v1/dags/$DAG/clearTaskInstances|{"dag_run_id": "$RUN", "include_past": true, "dry_run": false}|include_past
400|POST|/api/v1/dags/~/dagRuns/list|{"page_limit": "10"}|page_limit: expected an integer
400|POST|/api/v1/dags/~/dagRuns/~/taskInstances/list|{"state": "failed"}|state: expected an array
400|POST|$R|[1]|expected a JSON object
400|POST|$R|{"conf":|invalid JSON
400|POST|$R|{"note": "hello"}|note:
# a huge body
413|POST|$R|{"conf": {}@BIG@}|request body over 65536 bytes
# bad order_by
400|GET|$R?order_by=colour||order_by: ordering with 'colour' is not supported
400|GET|$R?order_by=-||order_by
400|GET|/api/v1/dags?order_by=dag_id;DROP%20TABLE%20dags||order_by
400|POST|/api/v1/dags/~/dagRuns/list|{"order_by": "id desc"}|order_by
# negative and huge limits and offsets
400|GET|$R?limit=-1||limit: expected an integer from 1 to 1000
400|GET|$R?limit=0||limit: expected an integer from 1 to 1000
400|GET|$R?limit=1001||limit: expected an integer from 1 to 1000
400|GET|$R?limit=99999999999999999999999||limit: expected an integer
400|GET|$R?offset=-5||offset: expected an integer
400|POST|/api/v1/dags/~/dagRuns/list|{"page_limit": -1}|page_limit: expected an integer from 1 to 1000
400|POST|/api/v1/dags/~/dagRuns/list|{"page_offset": 1e99}|page_offset: expected an integer
# ids with '/', '..' and NUL
400|GET|/api/v1/dags/a%2Fb||invalid DAG id
400|GET|/api/v1/dags/..||invalid DAG id
400|GET|/api/v1/dags/%2E%2E/dagRuns||invalid DAG id
400|GET|/api/v1/dags/a%00b||invalid DAG id
400|GET|$R/a%2Fb||invalid run id
400|GET|$R/$RUN/taskInstances/..%2Fgreet||invalid task id
400|GET|$R/$RUN/taskInstances/gr%00eet/logs/1||invalid task id
400|GET|$R/$RUN/taskInstances/greet/logs/0||invalid try number
400|GET|$R/$RUN/taskInstances/greet/-2||invalid map index
400|GET|$R/$RUN/taskInstances/greet/1%2F2||invalid map index
400|GET|$R/$RUN/taskInstances/greet/logs/1?map_index=x||map_index: expected an integer
400|GET|$R/$RUN/taskInstances/greet/xcomEntries?map_index=-9||map_index: expected an integer
400|GET|$R/$RUN/taskInstances/greet/xcomEntries/return_value?stringify=maybe||stringify: expected true or false
400|GET|$R/$RUN/taskInstances/greet/xcomEntries/a%00b||invalid XCom key
400|GET|$R/$RUN/taskInstances/greet/listMapped?order_by=try_number||ordering with 'try_number' is not supported
400|GET|$R/$RUN/taskInstances/greet/logs/1?token=..%2F..%2Fetc||token: not a continuation token
400|POST|$R|{"dag_run_id": "../x"}|dag_run_id: '../x' must be
400|POST|$R|{"dag_run_id": "a\u0000b"}|invalid JSON
400|POST|/api/v1/dags/~/dagRuns/list|{"dag_ids": ["../etc"]}|dag_ids: item 0
400|GET|/api/v1/pools/..||invalid pool name
404|GET|/api/v1/dags/nosuch/dagRuns||unknown DAG 'nosuch'
405|PUT|/api/v1/dags/$DAG||method PUT is not allowed
EOF_TABLE
assert_eq "$before" "$(store_digest)" "the store after the bad input table"

step "every answer above matches Airflow's v1 OpenAPI document"
required=(get_health get_version get_dags get_dag get_dag_details get_tasks get_import_errors
	get_pools get_pool get_dag_runs post_dag_run get_dag_run update_dag_run_state delete_dag_run
	clear_dag_run get_dag_runs_batch get_task_instances get_task_instance get_log
	post_clear_task_instances get_task_instances_batch patch_dag get_mapped_task_instances
	get_mapped_task_instance get_xcom_entries get_xcom_entry)
node "$OPENAPI/check.mjs" "$EXCHANGES" "${required[@]}" || fail "answers that do not match Airflow's v1 OpenAPI document (above)"
echo "$(wc -l <"$EXCHANGES") answers checked"
