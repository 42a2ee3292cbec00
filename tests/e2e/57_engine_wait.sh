#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 57_engine_wait: a scheduler started before its engine answers waits for it (health says why,
# the process stays up, SIGTERM still stops it at once), and runs work once the engine appears.
# A socat proxy socket in front of the real engine stands in for dockerd coming up.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

sock="$E2E_WORK/engine.sock"
export SWARMFLOW_DOCKER_HOST="unix://$sock"

write_dag waited <<EOF_DAG
dag waited {
  task hello {
    image = "$IMAGE"
    shell = "echo engine came back"
  }
}
EOF_DAG

step "SIGTERM while waiting for the engine: exit 0 at once"
bg scheduler
pid=$BG_PID
sleep 2
kill -0 "$pid" 2>/dev/null || fail "the scheduler exited instead of waiting: $(cat "$BG_LOG")"
t0=$(date +%s%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 0 "$rc" "exit code after SIGTERM while waiting"
((ms < 3000)) || fail "it took ${ms} ms to stop"
assert_contains "$(cat "$BG_LOG")" "waiting for it" "the wait is logged"

step "start the scheduler with no engine: it waits, and health says why"
bg scheduler
sched_pid=$BG_PID
says_why() {
	local out
	out=$("$SWARMFLOW_BIN" health 2>&1) || true # exits 1 while unhealthy
	[[ $out == *"engine fails: cannot use the docker engine at unix://$sock"* ]]
}
wait_until 15 "health to name the missing engine" says_why
sf_run health
assert_eq 1 "$RC" "health while the engine is missing"
sleep 3
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler gave up: $(tail -5 "$BG_LOG")"
assert_eq 1 "$(grep -c "waiting for it" "$BG_LOG")" "the wait is logged once, not at every retry"

step "the engine appears: the scheduler connects and runs a triggered run"
socat "UNIX-LISTEN:$sock,fork" UNIX-CONNECT:/var/run/docker.sock 2>"$E2E_WORK/socat.log" &
E2E_PIDS+=($!)
healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 45 "health to turn healthy once the engine answers" healthy
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger waited --wait || rc=$?
assert_eq 0 "$rc" "dags trigger --wait once the engine is there"
assert_contains "$(cat "$BG_LOG")" "answers now" "the reconnection is logged"
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "scheduler exit code"
echo "ok"
