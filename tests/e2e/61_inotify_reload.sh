#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 61_inotify_reload: the real scheduler watches its dags folder with inotify, polling switched
# off (dag_reload_interval = 1 h): a file renamed into a new subfolder (how editors save) and a
# file written into a dags folder that was removed and made again are each parsed within 1 s
# of the write; editors' temporary files wake no reload; `dags trigger` runs the new DAG.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

export SWARMFLOW_DAG_RELOAD_INTERVAL=3600
dags=$SWARMFLOW_DAGS_FOLDER
now_ms() { date +%s%3N; }

# dag_text ID: a DAG with one task.
dag_text() {
	cat <<EOF_DAG
dag $1 {
  schedule   = "none"
  start_date = "2026-01-01"
  task hello {
    image = "$IMAGE"
    shell = "echo hello from $1"
  }
}
EOF_DAG
}

step "start the scheduler: it says it watches the folder"
bg scheduler
sched_pid=$BG_PID
sched_log=$BG_LOG
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 20 "the scheduler's loop to run (swarmflow health)" is_healthy
alive() { kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler died: $(tail -n 30 "$sched_log")"; }
alive
assert_line_match "$(cat "$sched_log")" "dags folder .*: watched with inotify \(1 folders\); full rescan every 300s" \
	"scheduler log"
assert_not_contains "$(cat "$sched_log")" "falling back to polling" "scheduler log"

# reloads: how many "dags reloaded" lines the log has.
reloads() { grep -c "dags reloaded files=" "$sched_log" || true; }
# reload_after N WRITTEN_MS WHAT: waits for reload line N+1; prints its delay after WRITTEN_MS
# and fails when it came later than 1 s after the write.
reload_after() {
	local n=$1 written=$2 what=$3 line t
	more() { (($(reloads) > n)); }
	wait_until 5 "a reload after $what" more
	line=$(grep "dags reloaded files=" "$sched_log" | sed -n "$((n + 1))p")
	t=$(($(ts_ns "$(cut -d' ' -f1 <<<"$line")") / 1000000 - written))
	printf '%s: parsed %d ms after the write (%s)\n' "$what" "$t" "$line"
	((t <= 1000)) || fail "$what: parsed $t ms after the write (target: within 1 s)"
}

step "an editor's save into a new subfolder: a temp file, then a rename over the name"
n=$(reloads)
mkdir "$dags/team"
dag_text fresh >"$dags/team/.fresh.dag.tmp"
t0=$(now_ms)
mv "$dags/team/.fresh.dag.tmp" "$dags/team/fresh.dag"
reload_after "$n" "$t0" "the rename into team/"
alive

step "editors' temporary files wake no reload"
n=$(reloads)
: >"$dags/team/.fresh.dag.swp"
: >"$dags/team/fresh.dag~"
: >"$dags/team/.#fresh.dag"
sleep 2
assert_eq "$n" "$(reloads)" "reload lines after only temporary files changed"
rm -f "$dags/team/.fresh.dag.swp" "$dags/team/fresh.dag~" "$dags/team/.#fresh.dag"

step "the new DAG runs"
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger fresh --run-id first --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger fresh --wait"
alive

step "the dags folder removed and made again: a file written into it is parsed"
sleep 1.5 # the removal's refresh is done
rm -rf "$dags"
sleep 1.5
n=$(reloads)
mkdir "$dags"
t0=$(now_ms)
dag_text again >"$dags/again.dag"
reload_after "$n" "$t0" "a file in the new dags folder"
listed() { "$SWARMFLOW_BIN" dags list --json | jq -e '[.[] | select(.dag_id == "again")] | length == 1' >/dev/null; }
wait_until 5 "again in dags list" listed
rc=0
timeout 120 "$SWARMFLOW_BIN" dags trigger again --run-id second --wait || rc=$?
assert_eq 0 "$rc" "exit code of dags trigger again --wait (the scheduler knows it)"
assert_not_contains "$(cat "$sched_log")" "falling back to polling" "scheduler log"
assert_eq 1 "$(grep -c "scheduler starting" "$sched_log" || true)" "scheduler start lines (no restart)"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"
