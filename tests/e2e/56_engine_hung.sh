#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 56_engine_hung: an engine that accepts a request and never answers (here: GET /tasks, from
# tests/fake's fake-engine program) cannot hold a stopping scheduler: SIGTERM ends it within
# 5 s although the request's own timeout is 30 s, and the try it was polling stays recorded as
# queued, for the next start to adopt.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

FAKE=$(dirname "$SWARMFLOW_BIN")/../../tests/fake/fake-engine
[[ -x $FAKE ]] || fail "no fake-engine program next to $SWARMFLOW_BIN ($FAKE)"

write_dag hung <<EOF_DAG
dag hung {
  task a {
    image = "$IMAGE"
    shell = "true"
  }
}
EOF_DAG

"$FAKE" hung-tasks >"$E2E_WORK/fake.out" 2>&1 &
E2E_PIDS+=("$!")
has_socket() { [[ -s $E2E_WORK/fake.out ]]; }
wait_until 10 "the fake engine's socket" has_socket
export SWARMFLOW_DOCKER_HOST="unix://$(head -1 "$E2E_WORK/fake.out")"

step "the scheduler dispatches, then its poll hangs"
bg scheduler
sched_pid=$BG_PID
sf_run dags trigger hung --run-id hung-1
assert_eq 0 "$RC" "exit code of dags trigger"
polling() { grep -q 'engine GET /v1.41/tasks' "$BG_LOG" || grep -q 'task queued dag=hung' "$BG_LOG"; }
wait_until 30 "the task to be dispatched" polling
sleep 1 # the first GET /tasks is now waiting for an answer that never comes

step "SIGTERM: the scheduler exits within 5 s"
t0=$(date +%s%N)
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 5 "the scheduler to exit after SIGTERM with a hung request" gone
ms=$((($(date +%s%N) - t0) / 1000000))
printf 'stopped %d ms after SIGTERM\n' "$ms"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler"
assert_eq queued "$(sqlite "SELECT state FROM task_instances WHERE run_id = 'hung-1'")" \
	"the try is left queued for the next start"
