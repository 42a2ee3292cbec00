#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 32_valgrind: a full `dags test` of a fan-out/fan-in DAG (four services created, polled, logged
# and removed on the real swarm) under valgrind's memcheck, with the release build (valgrind and
# the sanitizer build do not mix): no invalid access, no leak of any kind, every block freed but
# what the dynamic loader keeps of libcurl, loaded at first use (tests/lib/valgrind.supp).
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

BIN=${SWARMFLOW_RELEASE_BIN:-$E2E_REPO/build-tests/src/cli/swarmflow}
[[ -x $BIN ]] || fail "no release binary at $BIN (tests/run sets SWARMFLOW_RELEASE_BIN)"
command -v valgrind >/dev/null || fail "valgrind is not installed"

write_dag vg <<EOF_DAG
dag vg {
  defaults {
    image = "$IMAGE"
  }
  task extract {
    shell = "echo extract {{ ds }}"
  }
  task a {
    upstream = {extract}
    shell    = "echo a; echo a-err >&2"
  }
  task b {
    upstream = {extract}
    shell    = "echo b {{ run_id }}"
  }
  task load {
    upstream = {a, b}
    shell    = "echo load"
  }
}
EOF_DAG

step "valgrind --leak-check=full swarmflow dags test vg"
rc=0
valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 \
	--suppressions="$E2E_REPO/tests/lib/valgrind.supp" \
	--log-file="$E2E_WORK/valgrind.log" "$BIN" dags test vg >"$E2E_WORK/out.log" 2>&1 || rc=$?
cat "$E2E_WORK/out.log"
tail -n 12 "$E2E_WORK/valgrind.log"
assert_eq 0 "$rc" "exit code under valgrind (99: memcheck found errors or leaks)"
# Every kind of leak at 0 bytes; what remains in use is the loader's, matched by the file above.
for kind in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
	assert_contains "$(cat "$E2E_WORK/valgrind.log")" "$kind: 0 bytes in 0 blocks" "heap summary: $kind"
done
assert_contains "$(cat "$E2E_WORK/valgrind.log")" "suppressed:" "the loader's blocks are the suppressed ones"
assert_contains "$(cat "$E2E_WORK/valgrind.log")" "ERROR SUMMARY: 0 errors" "error summary"
assert_contains "$(cat "$E2E_WORK/out.log")" "run manual__" "the run's summary"
assert_eq 4 "$(sqlite "SELECT count(*) FROM task_instances WHERE state = 'success'")" "tasks that succeeded"
