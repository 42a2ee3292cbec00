#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 82_lease: schedulers that share one state_dir take turns through the scheduler lease
# (lease_timeout 4 s). Four schedulers, one after the other, on one DAG whose first task sleeps
# 8 s (every container appends a line to a bind-mounted file, so a second run of one shows):
#  a. A is active, B standby; A is SIGKILLed while a task runs: B takes over no earlier than
#     lease_timeout after A's last renewal, adopts A's service (same id) and finishes the run.
#  b. C is standby; B is SIGSTOPped while a task runs: C takes over after lease_timeout, adopts
#     the task and runs new work; SIGCONT B: B says "lease: lost" and exits 1 without writing.
#  c. D is standby; SIGTERM C while a task runs: C releases the lease and exits 0, D takes it
#     at once (well under lease_timeout) and finishes the run; SIGTERM D: exit 0, lease free.
# Throughout: every task has exactly one try (try 1), no container ran twice, and the lease
# token grows by one per change of hands. Prints MEASURED lines for the takeover times.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

[[ $SWARMFLOW_LEASE_TIMEOUT == 4s ]] ||
	fail "this case's time bounds assume SWARMFLOW_LEASE_TIMEOUT=4s, not $SWARMFLOW_LEASE_TIMEOUT"
LEASE_MS=4000
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK"
ran="$E2E_WORK/ran"
: >"$ran"
chmod 666 "$ran"

write_dag leased <<EOF_DAG
dag leased {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image  = "$IMAGE"
    mounts = {"type=bind,source=$ran,target=/ran"}
  }
  task slow {
    shell = "echo {{ run_id }} {{ task_id }} try={{ try_number }} >> /ran; sleep 8; echo slow-done"
  }
  task after {
    upstream = {slow}
    shell    = "echo {{ run_id }} {{ task_id }} try={{ try_number }} >> /ran; echo after-done"
  }
}
EOF_DAG
write_dag quick <<EOF_DAG
dag quick {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image  = "$IMAGE"
    mounts = {"type=bind,source=$ran,target=/ran"}
  }
  task only {
    shell = "echo {{ run_id }} {{ task_id }} try={{ try_number }} >> /ran"
  }
}
EOF_DAG
sf_run dags validate
assert_eq 0 "$RC" "dags validate"

# ---- helpers ----

now_ns() { date +%s%N; }
# secs FROM_NS TO_NS: seconds between two times, 2 decimals.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
# ge X Y: X >= Y (decimals).
ge() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# has LOG ERE: some line of LOG matches.
has() { grep -qE -e "$2" "$1"; }
# line_of LOG ERE: the first line of LOG that matches.
line_of() { grep -m1 -E -e "$2" "$1" || fail "no line matches /$2/ in $1"; }
# line_ns LOG ERE: the time stamp of the first line of LOG that matches, in ns.
line_ns() {
	local line
	line=$(line_of "$1" "$2")
	ts_ns "${line%% *}"
}
# lines_after LOG ERE: the lines of LOG after the first one that matches.
lines_after() { awk -v re="$2" 'found { print } $0 ~ re { found = 1 }' "$1"; }
# lines_before LOG ERE: the lines of LOG before the first one that matches.
lines_before() { awk -v re="$2" '$0 ~ re { exit } { print }' "$1"; }

holder_of() { printf 'scheduler pid %s on ' "$1"; }
lease_holder() { sqlite "SELECT ifnull(holder, '') FROM scheduler_lease WHERE id = 1"; }
lease_token() { sqlite 'SELECT token FROM scheduler_lease WHERE id = 1'; }
lease_renewed_ms() { sqlite 'SELECT renewed_ms FROM scheduler_lease WHERE id = 1'; }

# ti DAG RUN TASK COLUMN: one column of a task instance in the store.
ti() {
	sqlite "SELECT ifnull($4, '') FROM task_instances
	        WHERE dag_id = '$1' AND run_id = '$2' AND task_id = '$3'"
}
run_state() { sqlite "SELECT state FROM dag_runs WHERE dag_id = '$1' AND run_id = '$2'"; }
run_succeeded() { [[ $(run_state "$1" "$2") == success ]]; }
# slow_running RUN: the task slow of RUN is running and its service exists.
slow_running() {
	local svc
	[[ $(ti leased "$1" slow state) == running ]] || return 1
	svc=$(ti leased "$1" slow service_id)
	[[ -n $svc ]] && service_exists "$svc"
}
# tries_of DAG RUN: "task:try" of every try row of RUN, one a line.
tries_of() {
	sqlite "SELECT ti.task_id || ':' || tt.try_number || ':' || tt.state
	        FROM task_tries tt JOIN task_instances ti ON ti.id = tt.ti_pk
	        WHERE ti.dag_id = '$1' AND ti.run_id = '$2' ORDER BY ti.task_id, tt.try_number"
}
# check_one_try_each RUN: both tasks of leased RUN succeeded with exactly one try, try 1, and
# each container ran once.
check_one_try_each() {
	local run=$1
	assert_eq $'after:1:success\nslow:1:success' "$(tries_of leased "$run")" "tries of run $run"
	assert_eq 1 "$(ti leased "$run" slow try_number)" "try_number of slow in $run"
	assert_eq 1 "$(ti leased "$run" after try_number)" "try_number of after in $run"
	assert_eq 1 "$(grep -c "^$run slow try=1\$" "$ran")" "runs of the slow container of $run"
	assert_eq 1 "$(grep -c "^$run after try=1\$" "$ran")" "runs of the after container of $run"
	assert_eq 2 "$(grep -c "^$run " "$ran")" "container runs of $run"
}
# standby_re PID: (an ERE for) what a standby says while PID holds the lease.
standby_re() { printf 'info standby: the scheduler lease is held by scheduler pid %s on ' "$1"; }
# no_work LOG_TEXT WHO: LOG_TEXT shows no dispatch, adoption or run/task change.
no_work() {
	local bad
	bad=$(grep -E '^[^ ]+ [a-z]+ (task |run |adopted|try recorded)' <<<"$1" || true)
	assert_eq "" "$bad" "$2"
}

# ---- a. SIGKILL the active scheduler while a task runs ----

step "a: scheduler A takes the free lease, B (same state_dir, dags, instance) is a standby"
bg scheduler
a_pid=$BG_PID a_log=$BG_LOG
wait_until 20 "A to take the lease" has "$a_log" 'info lease: taken \(token [0-9]+\); this scheduler is active'
line_of "$a_log" 'lease: taken'
a_token=$(lease_token)
assert_match "$(lease_holder)" "^$(holder_of "$a_pid")" "lease holder"
assert_eq "$LEASE_MS" "$(sqlite 'SELECT timeout_ms FROM scheduler_lease WHERE id = 1')" "timeout_ms in the lease"
bg scheduler
b_pid=$BG_PID b_log=$BG_LOG
wait_until 20 "B to say it is a standby behind A" has "$b_log" "$(standby_re "$a_pid").*\\(token $a_token\\); taking over when it is released or not renewed for 4.0 s"
line_of "$b_log" 'standby:'
assert_match "$(lease_holder)" "^$(holder_of "$a_pid")" "lease holder with B waiting"

step "a: trigger a run; SIGKILL A while its first task runs"
sf_run dags trigger leased --run-id ra
assert_eq 0 "$RC" "dags trigger leased"
wait_until 60 "task slow of ra to run (its service to exist)" slow_running ra
ra_svc_id=$(ti leased ra slow service_id)
ra_svc_name=$(ti leased ra slow service_name)
assert_eq "$ra_svc_id" "$(docker service inspect --format '{{.ID}}' "$ra_svc_name")" "service id of slow (store vs engine)"
printf 'slow of ra runs as service %s (%s), created by A\n' "$ra_svc_name" "$ra_svc_id"
assert_line_match "$(cat "$a_log")" "task queued dag=leased run=ra task=slow try=1 service=$ra_svc_name\$" "A's log"
kill_ns=$(now_ns)
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null || true
# A is dead: the lease row keeps its last renewal (wall clock) until B takes it.
a_renewed_ms=$(lease_renewed_ms)
assert_match "$(lease_holder)" "^$(holder_of "$a_pid")" "lease holder just after the SIGKILL"
taken_over_re="info lease: taken over \\(token $((a_token + 1))\\) from $(holder_of "$a_pid").*, not renewed for [0-9.]+ s\$"
wait_until 15 "B to take the lease over" has "$b_log" "$taken_over_re"
take_ns=$(line_ns "$b_log" "$taken_over_re")
line=$(line_of "$b_log" "$taken_over_re")
printf '%s\n' "$line"
said=$(sed -E 's/.*not renewed for ([0-9.]+) s$/\1/' <<<"$line")
since_kill=$(secs "$kill_ns" "$take_ns")
since_renew=$(secs "$((a_renewed_ms * 1000000))" "$take_ns")
echo "MEASURED: lease takeover after SIGKILL: $since_kill s (lease_timeout 4 s; $since_renew s after A's last renewal; B says not renewed for $said s)"
ge "$since_kill" 2.5 || fail "B took over $since_kill s after the SIGKILL of A: sooner than lease_timeout allows"
ge "$since_renew" 3.9 || fail "B took over $since_renew s after A's last renewal: sooner than lease_timeout (4 s)"
ge "$said" 4.0 || fail "B says the lease was not renewed for $said s only"
ge 7 "$since_kill" || fail "B took over as late as $since_kill s after the SIGKILL of A"
assert_match "$(lease_holder)" "^$(holder_of "$b_pid")" "lease holder after the takeover"
assert_eq "$((a_token + 1))" "$(lease_token)" "lease token after the takeover"
no_work "$(lines_before "$b_log" "lease: taken over")" "B's log before the takeover (B was a standby)"

step "a: B adopts A's running try and finishes the run; one try per task"
wait_until 60 "run ra to succeed" run_succeeded leased ra
assert_line_match "$(cat "$b_log")" "adopted try dag=leased run=ra task=slow try=1 service=$ra_svc_name\$" "B's log"
assert_not_contains "$(cat "$b_log")" "task queued dag=leased run=ra task=slow" "B's log (slow of ra is A's)"
assert_line_match "$(cat "$b_log")" "task queued dag=leased run=ra task=after try=1 " "B's log"
check_one_try_each ra
assert_eq "$ra_svc_id" "$(ti leased ra slow service_id)" "service id of slow in the store after the run"
assert_eq "$ra_svc_id" "$(sqlite "SELECT tt.service_id FROM task_tries tt JOIN task_instances ti ON ti.id = tt.ti_pk
	WHERE ti.run_id = 'ra' AND ti.task_id = 'slow'")" "service id of slow's try 1"
sf_run tasks logs leased ra slow
assert_contains "$OUT" "slow-done" "log of slow in ra (read by B from A's service)"

# ---- b. SIGSTOP the active scheduler: a zombie that is fenced off ----

step "b: C is a standby behind B"
bg scheduler
c_pid=$BG_PID c_log=$BG_LOG
b_token=$((a_token + 1))
wait_until 20 "C to say it is a standby behind B" has "$c_log" "$(standby_re "$b_pid").*\\(token $b_token\\)"
line_of "$c_log" 'standby:'

step "b: trigger a run; SIGSTOP B while its first task runs"
sf_run dags trigger leased --run-id rb
assert_eq 0 "$RC" "dags trigger leased"
wait_until 60 "task slow of rb to run" slow_running rb
rb_svc_id=$(ti leased rb slow service_id)
rb_svc_name=$(ti leased rb slow service_name)
assert_line_match "$(cat "$b_log")" "task queued dag=leased run=rb task=slow try=1 service=$rb_svc_name\$" "B's log"
stop_ns=$(now_ns)
kill -STOP "$b_pid"
b_lines_at_stop=$(wc -l <"$b_log")
taken_over_re="info lease: taken over \\(token $((b_token + 1))\\) from $(holder_of "$b_pid").*, not renewed for [0-9.]+ s\$"
wait_until 15 "C to take the lease over from the stopped B" has "$c_log" "$taken_over_re"
line_of "$c_log" "$taken_over_re"
since_stop=$(secs "$stop_ns" "$(line_ns "$c_log" "$taken_over_re")")
echo "MEASURED: lease takeover after SIGSTOP: $since_stop s (lease_timeout 4 s)"
ge "$since_stop" 2.5 || fail "C took over $since_stop s after the SIGSTOP of B: sooner than lease_timeout allows"
ge 7 "$since_stop" || fail "C took over as late as $since_stop s after the SIGSTOP of B"
assert_match "$(ps -o stat= -p "$b_pid")" '^T' "state of B (stopped)"
c_token=$((b_token + 1))
assert_eq "$c_token" "$(lease_token)" "lease token after C's takeover"
no_work "$(lines_before "$c_log" "lease: taken over")" "C's log before the takeover (C was a standby)"

step "b: C adopts the running try, finishes the run and runs new work while B is stopped"
wait_until 60 "run rb to succeed" run_succeeded leased rb
assert_line_match "$(cat "$c_log")" "adopted try dag=leased run=rb task=slow try=1 service=$rb_svc_name\$" "C's log"
assert_line_match "$(cat "$c_log")" "task queued dag=leased run=rb task=after try=1 " "C's log"
check_one_try_each rb
assert_eq "$rb_svc_id" "$(ti leased rb slow service_id)" "service id of slow in rb after the run"
printf '$ swarmflow dags trigger quick --run-id rq --wait\n'
rc=0
timeout 60 "$SWARMFLOW_BIN" dags trigger quick --run-id rq --wait || rc=$?
assert_eq 0 "$rc" "dags trigger quick --wait under C"
assert_line_match "$(cat "$c_log")" "task queued dag=quick run=rq task=only try=1 " "C's log"
assert_eq "only:1:success" "$(tries_of quick rq)" "tries of rq"
assert_match "$(ps -o stat= -p "$b_pid")" '^T' "state of B (still stopped)"
assert_eq "$b_lines_at_stop" "$(wc -l <"$b_log")" "lines in B's log while it was stopped"

step "b: SIGCONT B: it finds the lease lost and exits 1 at once, writing nothing"
# C is idle now (nothing in flight, no scheduled DAG): the store must not change while B wakes.
store_rows() { sqlite 'SELECT * FROM dags; SELECT * FROM dag_runs; SELECT * FROM task_instances; SELECT * FROM task_tries'; }
rows_before=$(store_rows)
cont_ns=$(now_ns)
kill -CONT "$b_pid"
wait_until 10 "B to exit after SIGCONT" dead "$b_pid"
gone_ns=$(now_ns)
rc=0
wait "$b_pid" || rc=$?
echo "MEASURED: stale scheduler exit after SIGCONT: $(secs "$cont_ns" "$gone_ns") s"
b_after=$(tail -n "+$((b_lines_at_stop + 1))" "$b_log")
printf -- '-- B after SIGCONT:\n%s\n--\n' "$b_after"
assert_eq 1 "$rc" "exit code of B after it lost the lease"
assert_line_match "$b_after" "error lease: lost: another scheduler \\($(holder_of "$c_pid").*, token $c_token\\) has taken the scheduler lease from this one \\(token $b_token\\); stopping\$" "B's log after SIGCONT"
no_work "$b_after" "B's log after SIGCONT"
assert_not_contains "$b_after" "fenced" "B's log after SIGCONT (a write the fence refused)"
assert_not_contains "$b_after" "lease: released" "B's log after SIGCONT"
assert_eq "$rows_before" "$(store_rows)" "runs, task instances and tries in the store after B woke up"
alive "$c_pid" || fail "C died: $(cat "$c_log")"
assert_match "$(lease_holder)" "^$(holder_of "$c_pid")" "lease holder after B's exit"
assert_eq "$c_token" "$(lease_token)" "lease token after B's exit"

# ---- c. SIGTERM the active scheduler: a clean handover ----

step "c: D is a standby behind C; trigger a run"
bg scheduler
d_pid=$BG_PID d_log=$BG_LOG
wait_until 20 "D to say it is a standby behind C" has "$d_log" "$(standby_re "$c_pid").*\\(token $c_token\\)"
line_of "$d_log" 'standby:'
sf_run dags trigger leased --run-id rd
assert_eq 0 "$RC" "dags trigger leased"
wait_until 60 "task slow of rd to run" slow_running rd
rd_svc_name=$(ti leased rd slow service_name)

step "c: SIGTERM C while the task runs: C releases the lease, D takes it at once"
term_ns=$(now_ns)
kill -TERM "$c_pid"
wait_until 5 "C to exit after SIGTERM" dead "$c_pid"
rc=0
wait "$c_pid" || rc=$?
assert_eq 0 "$rc" "exit code of C after SIGTERM"
assert_line_match "$(cat "$c_log")" "info lease: released \\(token $c_token\\)\$" "C's log"
d_token=$((c_token + 1))
taken_re="info lease: taken \\(token $d_token\\); this scheduler is active\$"
wait_until 5 "D to take the released lease" has "$d_log" "$taken_re"
line_of "$d_log" "$taken_re"
handover=$(secs "$term_ns" "$(line_ns "$d_log" "$taken_re")")
echo "MEASURED: lease handover after SIGTERM (release): $handover s (lease_timeout 4 s)"
ge 2 "$handover" || fail "D took the released lease $handover s after the SIGTERM of C (not the release path)"
assert_match "$(lease_holder)" "^$(holder_of "$d_pid")" "lease holder after the handover"
no_work "$(lines_before "$d_log" "lease: taken")" "D's log before it took the lease"

step "c: D adopts the running try and finishes the run"
wait_until 60 "run rd to succeed" run_succeeded leased rd
assert_line_match "$(cat "$d_log")" "adopted try dag=leased run=rd task=slow try=1 service=$rd_svc_name\$" "D's log"
check_one_try_each rd

step "c: SIGTERM D: exit 0, the lease is free"
kill -TERM "$d_pid"
wait_until 5 "D to exit after SIGTERM" dead "$d_pid"
rc=0
wait "$d_pid" || rc=$?
assert_eq 0 "$rc" "exit code of D after SIGTERM"
assert_line_match "$(cat "$d_log")" "info lease: released \\(token $d_token\\)\$" "D's log"
assert_eq "" "$(lease_holder)" "lease holder after the last scheduler stopped"
assert_eq "$d_token" "$(lease_token)" "lease token after the last release"

step "overall: one try per task instance, each container ran once"
sqlite 'SELECT ti.dag_id, ti.run_id, ti.task_id, tt.try_number, tt.state, tt.service_id
        FROM task_tries tt JOIN task_instances ti ON ti.id = tt.ti_pk ORDER BY tt.ti_pk'
assert_eq 7 "$(sqlite 'SELECT count(*) FROM task_instances')" "task instances (3 runs of leased, 1 of quick)"
assert_eq 7 "$(sqlite 'SELECT count(*) FROM task_tries')" "tries"
assert_eq 0 "$(sqlite 'SELECT count(*) FROM task_tries WHERE try_number <> 1')" "tries other than try 1"
assert_eq 0 "$(sqlite "SELECT count(*) FROM task_instances WHERE try_number <> 1 OR state <> 'success'")" \
	"task instances not in success on try 1"
assert_eq 7 "$(grep -c . "$ran")" "container runs"
assert_eq "" "$(sort "$ran" | uniq -d)" "containers that ran more than once"

step "the holder names the host as the spec says: scheduler pid PID on HOST (instance I)"
# Checked last, so that the checks above run whatever this says.
holder_line=$(line_of "$d_log" "$(standby_re "$c_pid")")
expected="held by scheduler pid $c_pid on $(hostname) (instance $SWARMFLOW_INSTANCE) (token $c_token)"
assert_contains "$holder_line" "$expected" "the standby line of D"
