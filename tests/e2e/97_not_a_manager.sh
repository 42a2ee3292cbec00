#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 97_not_a_manager: an engine that is a swarm worker, or not in a swarm at all, is refused with
# a clear error (exit 1) before anything is recorded. The real engine here is always a manager,
# so tests/fake's fake-engine program stands in for those two.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

FAKE=$(dirname "$SWARMFLOW_BIN")/../../tests/fake/fake-engine
[[ -x $FAKE ]] || fail "no fake-engine program next to $SWARMFLOW_BIN ($FAKE)"

write_dag refused <<EOF_DAG
dag refused {
  task a {
    image = "$IMAGE"
    shell = "true"
  }
}
EOF_DAG

for mode in worker no-swarm; do
	step "engine mode $mode"
	"$FAKE" "$mode" >"$E2E_WORK/fake-$mode.out" 2>&1 &
	fake_pid=$!
	E2E_PIDS+=("$fake_pid")
	has_socket() { [[ -s $E2E_WORK/fake-$mode.out ]]; }
	wait_until 10 "the fake engine's socket" has_socket
	sock=$(head -1 "$E2E_WORK/fake-$mode.out")
	export SWARMFLOW_DOCKER_HOST="unix://$sock"
	sf_run dags test refused
	assert_eq 1 "$RC" "dags test against a $mode engine"
	if [[ $mode == worker ]]; then
		assert_contains "$OUT" "is a swarm worker; swarmflow needs a manager's API" "worker message"
	else
		assert_contains "$OUT" "is not part of a swarm" "no-swarm message"
		assert_contains "$OUT" "docker swarm init" "no-swarm hint"
	fi
	sf_run scheduler
	assert_eq 1 "$RC" "scheduler against a $mode engine"
	assert_contains "$OUT" "$sock" "the scheduler's error names the engine"
	assert_eq 0 "$(runs_json refused | jq length)" "runs recorded against a $mode engine"
	kill -TERM "$fake_pid"
	wait "$fake_pid" || true
	unset SWARMFLOW_DOCKER_HOST
done
echo "ok"
