#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 59_sighup: SIGHUP makes the running scheduler read its config again. A DAG whose image the
# policy refuses stays refused by the daemon (a run of it waits) until the config allows the
# image and SIGHUP arrives: then the waiting run succeeds. A broken config on SIGHUP is logged
# with FILE:LINE and the running config is kept (the scheduler still runs DAGs); a key the daemon
# is bound to (service_prefix) is logged as taking effect at the next start and not applied.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

# The policy comes from the file in this case, not from the environment.
unset SWARMFLOW_POLICY_IMAGES
conf=$SWARMFLOW_CONFIG

write_dag hup <<EOF_DAG
dag hup {
  schedule   = "none"
  start_date = "2026-01-01"
  task only {
    image = "$IMAGE"
    shell = "echo reloaded-ok"
  }
}
EOF_DAG

cat >"$conf" <<EOF_CONF
parallelism = 4
policy {
  images = {"nothing-matches/*"}
}
EOF_CONF

step "start the scheduler with a policy that refuses the DAG's image"
bg scheduler
sched_pid=$BG_PID
log=$BG_LOG
has_log() { grep -qF -- "$1" "$log"; }
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 20 "the scheduler to be healthy" is_healthy

step "allow the image in the file; without SIGHUP the daemon still refuses it"
cat >"$conf" <<EOF_CONF
parallelism = 4
policy {
  images = {"$IMAGE"}
}
EOF_CONF
sf_run dags trigger hup --run-id before-hup
assert_eq 0 "$RC" "exit code of dags trigger (the CLI reads the new file)"
sleep 3
assert_eq queued "$(sqlite "SELECT state FROM dag_runs WHERE run_id = 'before-hup'")" \
	"state of the run while the daemon still has the old policy"

step "SIGHUP: the daemon takes the new policy and runs the waiting run"
kill -HUP "$sched_pid"
wait_until 20 "config reloaded in the log" has_log "config reloaded from $conf"
run_done() { [[ $(sqlite "SELECT state FROM dag_runs WHERE run_id = 'before-hup'") == success ]]; }
wait_until 60 "run before-hup to succeed" run_done
sf_run tasks logs hup before-hup only
assert_contains "$OUT" "reloaded-ok" "log of the task"

step "a broken config on SIGHUP: logged with FILE:LINE, the running config kept"
printf 'parallelism = 4\npoll_interval = = 1\n' >"$conf"
kill -HUP "$sched_pid"
wait_until 20 "the failed reload in the log" has_log "config reload failed: $conf:2:"
kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler died on a broken config"
assert_contains "$(cat "$log")" "keeping the running config" "reload failure message"

step "a fixed key (service_prefix) changed: logged, kept until the next start"
cat >"$conf" <<EOF_CONF
parallelism = 4
service_prefix = "renamed"
policy {
  images = {"$IMAGE"}
}
EOF_CONF
kill -HUP "$sched_pid"
wait_until 20 "the kept service_prefix in the log" has_log \
	"config reload: service_prefix changed from 'swarmflow' to 'renamed': it takes effect at the next start"
rc=0
timeout 60 "$SWARMFLOW_BIN" dags trigger hup --run-id after-hup --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger --wait after the reloads"
name=$(sqlite "SELECT t.service_name FROM task_tries t JOIN task_instances i ON i.id = t.ti_pk
	WHERE i.run_id = 'after-hup'")
assert_match "$name" '^swarmflow_hup_only_' "service name still uses the running prefix"

step "SIGTERM still stops it"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 5 "the scheduler to exit after SIGTERM" gone
