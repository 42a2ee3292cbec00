#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 92_policy: with SWARMFLOW_POLICY_* set, a DAG with a bind mount outside the prefixes, one with
# the docker socket and one with an image outside the globs are rejected at validation
# (FILE:LINE and the rule; `dags validate` exits 1; `dags list --json` shows the errors; they
# cannot be triggered and the scheduler never runs them) while a good DAG in another file runs;
# allowing the prefix makes the DAG valid (and it runs with its mount), the socket stays refused
# under an allowed prefix, and revoking the prefix drops the cached last good version too.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

allowed="$E2E_WORK/allowed"
mkdir -p "$allowed"
# A prefix that is a string prefix of $allowed but not a folder above it.
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK/allow,/srv/nothing-here"
export SWARMFLOW_POLICY_IMAGES="$IMAGE,registry.example.com/*"
export SWARMFLOW_POLICY_ALLOW_DOCKER_SOCKET=false

write_dag good <<EOF_DAG
dag good {
  schedule   = "@hourly"
  start_date = "2026-01-01"
  task only {
    image = "$IMAGE"
    shell = "echo good"
  }
}
EOF_DAG

# The task is at line 4 in each of these.
write_dag mounted <<EOF_DAG
dag mounted {
  schedule   = "@hourly"
  start_date = "2026-01-01"
  task write {
    image  = "$IMAGE"
    mounts = {"type=bind,source=$allowed,target=/data"}
    shell  = "echo written-by-mounted > /data/out"
  }
}
EOF_DAG

write_dag socket <<EOF_DAG
dag socket {
  schedule   = "none"
  start_date = "2026-01-01"
  task root {
    image  = "$IMAGE"
    mounts = {"type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock"}
    shell  = "true"
  }
}
EOF_DAG

write_dag image <<EOF_DAG
dag image {
  schedule   = "none"
  start_date = "2026-01-01"
  task other {
    image = "alpine:3.20"
    shell = "true"
  }
}
EOF_DAG

dags_dir=$SWARMFLOW_DAGS_FOLDER
mount_err="mounted\\.dag:4: dag 'mounted' task 'write': policy: bind mount source '$allowed' is not under policy\\.bind_mount_prefixes \\($E2E_WORK/allow, /srv/nothing-here\\)"
socket_err="socket\\.dag:4: dag 'socket' task 'root': policy: bind mount source '/var/run/docker\\.sock' is the docker socket \\(policy\\.allow_docker_socket is false\\)"
image_err="image\\.dag:4: dag 'image' task 'other': policy: image 'alpine:3\\.20' matches none of policy\\.images"

step "dags validate (the folder): three policy errors, the good file fine"
sf_run dags validate
assert_eq 1 "$RC" "exit code of dags validate"
assert_line_match "$OUT" "$mount_err" "dags validate output (bind mount)"
assert_line_match "$OUT" "$socket_err" "dags validate output (docker socket)"
assert_line_match "$OUT" "$image_err" "dags validate output (image)"
assert_not_contains "$OUT" "good.dag" "dags validate output"
assert_contains "$OUT" "1 DAG, 3 errors" "dags validate summary"

step "dags validate of one file"
sf_run dags validate "$dags_dir/mounted.dag"
assert_eq 1 "$RC" "exit code of dags validate mounted.dag"
assert_line_match "$OUT" "$mount_err" "dags validate mounted.dag output"
sf_run dags validate "$dags_dir/good.dag"
assert_eq 0 "$RC" "exit code of dags validate good.dag"

step "dags list --json shows the errors, not the DAGs"
list=$(sf dags list --json)
printf '%s\n' "$list"
loaded() { jq -e --arg d "$1" '[.[] | select(.dag_id == $d)] | length == 1' >/dev/null <<<"$list"; }
file_errors() { jq -r --arg f "$dags_dir/$1.dag" '.[] | select(.file == $f) | .errors[] | "\(.file):\(.line): \(.message)"' <<<"$list"; }
loaded good || fail "dags list --json does not list the good DAG"
for d in mounted socket image; do
	! loaded "$d" || fail "dags list --json lists the refused DAG $d as loaded"
done
assert_line_match "$(file_errors mounted)" "$mount_err" "dags list --json errors of mounted.dag"
assert_line_match "$(file_errors socket)" "$socket_err" "dags list --json errors of socket.dag"
assert_line_match "$(file_errors image)" "$image_err" "dags list --json errors of image.dag"

step "refused DAGs cannot be triggered or tested"
sf_run dags trigger mounted
assert_eq 1 "$RC" "exit code of dags trigger mounted"
assert_contains "$OUT" "unknown DAG 'mounted'" "dags trigger mounted"
sf_run dags test socket
assert_eq 1 "$RC" "exit code of dags test socket"
assert_contains "$OUT" "unknown DAG 'socket'" "dags test socket"

step "the scheduler runs the good DAG's scheduled run and never the refused one"
bg scheduler
sched_pid=$BG_PID
all_runs() { sf runs list --json; }
good_done() { [[ $(all_runs | jq -r '[.[] | select(.dag_id == "good")][0].state // empty') == success ]]; }
wait_until 120 "the scheduled run of good to succeed" good_done
runs=$(all_runs)
jq . <<<"$runs"
assert_eq 0 "$(jq '[.[] | select(.dag_id == "mounted")] | length' <<<"$runs")" "runs of mounted"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 10 "the scheduler to exit after SIGTERM" gone
[[ ! -e $allowed/out ]] || fail "the refused DAG ran: $allowed/out exists"

step "allowing the prefix makes the DAG valid, and it runs with its mount"
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$allowed,/var/run"
sf_run dags validate "$dags_dir/mounted.dag"
assert_eq 0 "$RC" "exit code of dags validate mounted.dag with the prefix allowed"
sf_run dags test mounted
assert_eq 0 "$RC" "exit code of dags test mounted"
assert_file "$allowed/out" "the file the task wrote through its bind mount"
assert_eq written-by-mounted "$(cat "$allowed/out")" "content written by mounted"

step "the docker socket stays refused under an allowed prefix, the image outside the globs too"
sf_run dags validate
assert_eq 1 "$RC" "exit code of dags validate"
assert_line_match "$OUT" "$socket_err" "dags validate output (docker socket under /var/run)"
assert_line_match "$OUT" "$image_err" "dags validate output (image)"
assert_not_contains "$OUT" "mounted.dag" "dags validate output"
assert_contains "$OUT" "2 DAGs, 2 errors" "dags validate summary"

step "revoking the prefix drops the DAG, its cached last good version included"
export SWARMFLOW_POLICY_BIND_MOUNT_PREFIXES="$E2E_WORK/allow"
compgen -G "$SWARMFLOW_STATE_DIR/dagcache/*.dag" >/dev/null || fail "no cached last good version"
list=$(sf dags list --json)
! loaded mounted || fail "dags list --json lists mounted from its cached version: $list"
sf_run dags trigger mounted
assert_eq 1 "$RC" "exit code of dags trigger mounted after revoking"

step "allow_docker_socket lets the socket through"
SWARMFLOW_POLICY_ALLOW_DOCKER_SOCKET=true sf_run dags validate "$dags_dir/socket.dag"
assert_eq 0 "$RC" "exit code of dags validate socket.dag with allow_docker_socket"
