#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 39_webhook: a task that fails for good (after its retry) makes exactly one JSON POST to the DAG's
# on_failure_webhook, with every field; with the global webhook on a closed port or on a receiver
# that never answers, the run still ends at once and `dags test` exits within ~2 s after it.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

now_ms() { date +%s%3N; }
iso_ms() { echo $(($(ts_ns "$1") / 1000000)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port: a port nothing listens on.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		port_open "$p" || break
	done
	printf '%s\n' "$p"
}
# listen_bg PORT SOCAT_ARGS...: socat in the background (stopped by the case's cleanup too),
# once its port accepts connections; sets LISTEN_PID.
listen_bg() {
	local port=$1
	shift
	socat "$@" >>"$E2E_WORK/socat.log" 2>&1 &
	LISTEN_PID=$!
	E2E_PIDS+=("$LISTEN_PID")
	local tries=0
	until port_open "$port"; do
		((++tries < 50)) || fail "socat did not listen on $port: $(cat "$E2E_WORK/socat.log")"
		sleep 0.1
	done
}
stop_bg() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The receiver: one bash per connection saves the request's head and body, then answers 200.
mkdir -p "$E2E_WORK/requests"
cat >"$E2E_WORK/receive.sh" <<'EOF_RX'
#!/usr/bin/env bash
set -u
f=$(mktemp "$1/req.XXXXXX")
len=0
while IFS= read -r line; do
	line=${line%$'\r'}
	[[ -z $line ]] && break
	printf '%s\n' "$line" >>"$f.head"
	if [[ ${line,,} =~ ^content-length:\ *([0-9]+) ]]; then
		len=${BASH_REMATCH[1]}
	fi
done
rm -f "$f"
[[ -f $f.head ]] || exit 0 # a probe of the port, not a request
head -c "$len" >"$f.body"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
mv "$f.body" "$f.json"
EOF_RX
port=$(free_port)
listen_bg "$port" "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
	"EXEC:bash $E2E_WORK/receive.sh $E2E_WORK/requests"
rx_pid=$LISTEN_PID

write_dag alarm <<EOF_DAG
dag alarm {
  schedule           = "none"
  start_date         = "2026-01-01"
  on_failure_webhook = "http://127.0.0.1:$port/hook?token=e2e-secret"
  defaults {
    image = "$IMAGE"
  }
  task bad {
    shell       = "i=1; while [ \$i -le 30 ]; do echo line \$i; i=\$((i + 1)); done; exit 3"
    retries     = 1
    retry_delay = "1s"
  }
  task after_bad {
    upstream = {bad}
    shell    = "echo never"
  }
  task good {
    shell = "echo fine"
  }
}
EOF_DAG

write_dag quiet <<EOF_DAG
dag quiet {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task fails {
    shell = "echo failing quietly; exit 5"
  }
}
EOF_DAG

step "dags test alarm: bad fails twice, then the webhook gets one POST"
sf_run dags test alarm --run-id alarm_run
assert_eq 1 "$RC" "exit code of dags test alarm"
posted() { compgen -G "$E2E_WORK/requests/*.json" >/dev/null; }
wait_until 5 "the POST to reach the receiver" posted
sleep 1 # a second POST (there must be none) would have arrived by now
mapfile -t bodies < <(compgen -G "$E2E_WORK/requests/*.json")
assert_eq 1 "${#bodies[@]}" "POSTs received"
body=$(cat "${bodies[0]}")
head=$(cat "${bodies[0]%.json}.head")
printf '%s\n%s\n' "$head" "$body"
jq . <<<"$body" >/dev/null || fail "the POST body is not JSON: $body"
assert_line_match "$head" '^POST /hook\?token=e2e-secret HTTP/1\.1$' "request line"
assert_line_match "$head" '^[Cc]ontent-[Tt]ype: application/json$' "Content-Type"

tasks=$(tasks_json alarm alarm_run)
field() { jq -r --arg f "$1" '.[$f]' <<<"$body"; }
assert_eq 12 "$(jq 'keys | length' <<<"$body")" "number of fields"
assert_eq alarm "$(field dag_id)" "dag_id"
assert_eq alarm_run "$(field run_id)" "run_id"
assert_eq bad "$(field task_id)" "task_id"
assert_eq 2 "$(field try_number)" "try_number"
assert_eq 2 "$(field max_tries)" "max_tries"
assert_eq failed "$(field state)" "state"
assert_eq 3 "$(field exit_code)" "exit_code"
assert_eq "$(task_field "$tasks" bad error)" "$(field error)" "error"
assert_contains "$(field error)" "non-zero exit (3)" "error"
assert_eq "$(task_field "$tasks" bad log_path)" "$(field log_path)" "log_path"
assert_eq "$(task_field "$tasks" bad end_date)" "$(field end_date)" "end_date"
assert_eq "$SWARMFLOW_INSTANCE" "$(field instance)" "instance"
want_tail=$(
	printf 'line %d\n' {12..30}
	printf '[swarmflow] try 2 failed: %s\n' "$(task_field "$tasks" bad error)"
)
assert_eq "$want_tail" "$(field log_tail)" "log_tail (the last 20 lines)"
assert_eq "$want_tail" "$(tail -n 20 "$(field log_path)")" "the last 20 lines of the log file"
assert_eq upstream_failed "$(task_field "$tasks" after_bad state)" "state of after_bad"
assert_eq success "$(task_field "$tasks" good state)" "state of good"
stop_bg "$rx_pid"

# run_quiet RUN_ID: dags test quiet with the webhook in $SWARMFLOW_ON_FAILURE_WEBHOOK; sets
# END_GAP (ms from the failed task's end to the run's end) and EXIT_GAP (ms from the run's end
# to the exit of dags test).
run_quiet() {
	sf_run dags test quiet --run-id "$1"
	local exited_ms
	exited_ms=$(now_ms)
	assert_eq 1 "$RC" "exit code of dags test quiet --run-id $1"
	local run_end task_end
	run_end=$(iso_ms "$(runs_json quiet | jq -r --arg r "$1" '.[] | select(.run_id == $r) | .end_date')")
	task_end=$(iso_ms "$(task_field "$(tasks_json quiet "$1")" fails end_date)")
	END_GAP=$((run_end - task_end))
	EXIT_GAP=$((exited_ms - run_end))
	printf 'run %s: ended %d ms after its task; dags test exited %d ms later\n' "$1" "$END_GAP" "$EXIT_GAP"
}

step "the global webhook on a closed port: the run ends at once, dags test exits promptly"
closed=$(free_port)
export SWARMFLOW_ON_FAILURE_WEBHOOK="http://127.0.0.1:$closed/down?token=e2e-secret"
run_quiet down_run
((END_GAP <= 1500)) || fail "the run ended $END_GAP ms after its failed task"
((EXIT_GAP <= 3000)) || fail "dags test exited $EXIT_GAP ms after the run ended"
assert_contains "$OUT" "webhook: notice not delivered to http://127.0.0.1:$closed after 3 attempts" "dags test output"
assert_not_contains "$OUT" "e2e-secret" "dags test output (the webhook's query is not logged)"

step "the global webhook on a receiver that never answers: dags test gives up after ~2 s"
hole=$(free_port)
listen_bg "$hole" -u "TCP-LISTEN:$hole,bind=127.0.0.1,reuseaddr,fork" \
	"OPEN:$E2E_WORK/black-hole.txt,creat,append"
hole_pid=$LISTEN_PID
export SWARMFLOW_ON_FAILURE_WEBHOOK="http://127.0.0.1:$hole/hook"
run_quiet hole_run
((END_GAP <= 1500)) || fail "the run ended $END_GAP ms after its failed task"
((EXIT_GAP >= 1500 && EXIT_GAP <= 4000)) ||
	fail "dags test exited $EXIT_GAP ms after the run ended (expected ~2 s: the drain limit)"
assert_contains "$OUT" "webhook: giving up on 1 failure notice" "dags test output"
assert_contains "$(cat "$E2E_WORK/black-hole.txt")" '"run_id":"hole_run"' "what the black hole received"
stop_bg "$hole_pid"
