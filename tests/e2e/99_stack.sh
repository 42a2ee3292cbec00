#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 99_stack: deployed as users deploy it. Builds the image from docker/Dockerfile (the current
# tree), `docker stack deploy`s stacks/swarmflow.yml under a unique stack name (= the instance)
# with its own dags folder, drops a new DAG file into that folder and triggers it from outside
# with `docker exec`; asserts the DAG appears without a restart, its task services carry the
# labels, the run succeeds, the services go, the logs are readable from the host, the scheduler's
# service log has one line per event with dag=/run=/task=/try=, the HEALTHCHECK says healthy;
# then tears the stack down and asserts nothing of it is left.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/image.sh
. "$E2E_REPO/tests/lib/image.sh"

# The stack name is the case's unique instance: the leftover checks of e2e.sh and tests/run
# look for services labelled swarmflow.instance=$SWARMFLOW_INSTANCE.
STACK=$SWARMFLOW_INSTANCE
STACK_DAGS=$E2E_WORK/dags
TORN_DOWN=0
MARK=m$(printf '%04x%04x' "$RANDOM" "$RANDOM")

stack_case_exit() {
	local rc=$?
	set +e
	if ((!TORN_DOWN)); then
		if ((rc != 0)); then
			stack_diagnose "$STACK"
			echo "--- docker service ls (instance $STACK)"
			docker service ls --filter "label=swarmflow.instance=$STACK"
		fi
		step "teardown after a failure"
		stack_down "$STACK" 120 || rc=1
	fi
	(exit "$rc")
	e2e_cleanup
}
trap stack_case_exit EXIT

# sfx ARGS...: swarmflow inside the scheduler's container (docker exec from outside).
sfx() { stack_exec "$STACK" "$@"; }

step "build $SWARMFLOW_IMAGE from docker/Dockerfile (log: $E2E_WORK/build.log)"
t=$SECONDS
image_build "$E2E_WORK/build.log" || fail "the image does not build (see $E2E_WORK/build.log)"
echo "built in $((SECONDS - t))s, $(image_size "$SWARMFLOW_IMAGE")"
cfg() { docker image inspect --format "$1" "$SWARMFLOW_IMAGE"; }
assert_eq '["/usr/local/bin/swarmflow"] ["scheduler"]' "$(cfg '{{json .Config.Entrypoint}} {{json .Config.Cmd}}')" "entrypoint and cmd"
assert_eq '["CMD","swarmflow","health"]' "$(cfg '{{json .Config.Healthcheck.Test}}')" "HEALTHCHECK"
assert_eq '{"/var/lib/swarmflow":{}}' "$(cfg '{{json .Config.Volumes}}')" "VOLUME"

# A port of its own for the UI (host mode): a quickstart stack may hold 8080.
export SWARMFLOW_WEB_PORT=$((20000 + RANDOM % 20000))
step "docker stack deploy -c stacks/swarmflow.yml $STACK (dags folder $STACK_DAGS, web port $SWARMFLOW_WEB_PORT)"
stack_deploy "$STACK" "$STACK_DAGS" || fail "docker stack deploy failed"
svc="${STACK}_scheduler"
spec() { docker service inspect --format "$1" "$svc"; }
assert_eq "[node.role == manager]" "$(spec '{{.Spec.TaskTemplate.Placement.Constraints}}')" "placement"
assert_eq stop-first "$(spec '{{.Spec.UpdateConfig.Order}}')" "update order"
assert_eq on-failure "$(spec '{{.Spec.TaskTemplate.RestartPolicy.Condition}}')" "restart condition"
assert_eq /etc/swarmflow/swarmflow.conf \
	"$(spec '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.File.Name}}{{end}}')" "config target"
mounts=$(spec '{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{.Type}} {{.Source}} {{.Target}} {{.ReadOnly}};{{end}}')
echo "mounts: $mounts"
assert_contains "$mounts" "bind /var/run/docker.sock /var/run/docker.sock false" "mounts"
assert_contains "$mounts" "bind $STACK_DAGS /dags true" "mounts"
assert_contains "$mounts" "volume ${STACK}_state /var/lib/swarmflow false" "mounts"

step "wait for the scheduler task to run the new image and pass its HEALTHCHECK"
t=$SECONDS
stack_wait_healthy "$STACK" 120 || fail "the scheduler did not become healthy"
echo "healthy after $((SECONDS - t))s"
cid=$(stack_container "$STACK")
sf_health=$(sfx health) || fail "swarmflow health exits non-zero: $sf_health"
echo "$sf_health"
assert_match "$sf_health" "^healthy: " "swarmflow health"
assert_contains "$sf_health" "instance $STACK" "swarmflow health (SWARMFLOW_INSTANCE from the stack)"

step "the web UI and REST API on the published port; writes need the token (a Docker secret)"
web="http://127.0.0.1:$SWARMFLOW_WEB_PORT"
web_up() { curl -fsS "$web/health" >/dev/null 2>&1; }
wait_until 30 "GET $web/health" web_up
curl -fsS "$web/" | grep -q "<html" || fail "GET / is not the UI page"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -d '{"paused": true}' "$web/ui/api/dags/dropped_in")
assert_eq 401 "$code" "PATCH without the token"

step "copy a new DAG file into the mounted folder; it appears without a restart"
cat >"$E2E_WORK/dropped_in.dag" <<EOF_DAG
dag dropped_in {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image           = "$IMAGE"
    pending_timeout = "2m"
  }
  task hold {
    shell = "echo $MARK-hold {{ run_id }}; sleep 5; echo held"
  }
  task after {
    upstream = {hold}
    shell    = "echo $MARK-after dag={{ dag_id }} try={{ try_number }} >&2"
  }
}
EOF_DAG
cp "$E2E_WORK/dropped_in.dag" "$STACK_DAGS/dropped_in.dag"
# The daemon's own view: it logs the reload that picked the file up (files=1: the folder was
# empty before), within dag_reload_interval (5 s).
reloaded() { docker service logs --raw "$svc" 2>&1 | grep -qE ' info dags reloaded files=1 errors=0$'; }
wait_until 30 "the scheduler's 'dags reloaded files=1' log line" reloaded
listed() { sfx dags list 2>/dev/null | grep -q '^dropped_in '; }
wait_until 10 "dropped_in in 'dags list' inside the container" listed
sfx dags list
curl -fsS "$web/ui/api/dags" | jq -e '.dags | map(.dag_id) | index("dropped_in") != null' >/dev/null ||
	fail "dropped_in is not in GET /ui/api/dags"
token=$(cat "$(dirname "$STACK_DAGS")/api_token")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $token" \
	-d '{"paused": false}' "$web/ui/api/dags/dropped_in")
assert_eq 200 "$code" "PATCH with the token from the Docker secret"
assert_eq "$cid" "$(stack_container "$STACK")" "scheduler container (no restart)"
assert_eq 1 "$(docker service ps -q "$svc" | wc -l)" "tasks of $svc (no restart)"

step "docker exec ... swarmflow dags trigger dropped_in"
out=$(sfx dags trigger dropped_in) || fail "dags trigger failed: $out"
echo "$out"
run_id=$(sed -n 's/^run_id: //p' <<<"$out")
[[ -n $run_id ]] || fail "no run_id in the output of dags trigger"

step "its task service in docker service ls, with the labels"
have_service() { [[ -n $(stack_task_services "$STACK") ]]; }
wait_until 60 "a task service of instance $STACK" have_service
docker service ls --filter "label=swarmflow.instance=$STACK"
names=$(docker service ls --filter "label=swarmflow.instance=$STACK" --format '{{.Name}}')
assert_match "$names" '^swarmflow_dropped_in_hold_[0-9a-f]{8}$' "service name in docker service ls"
for which in .Spec.Labels .Spec.TaskTemplate.ContainerSpec.Labels; do
	labels=$(docker service inspect --format "{{json $which}}" "$names")
	label() { jq -r --arg k "$1" '.[$k] // "<missing>"' <<<"$labels"; }
	assert_eq true "$(label swarmflow.managed)" "$which swarmflow.managed"
	assert_eq "$STACK" "$(label swarmflow.instance)" "$which swarmflow.instance"
	assert_eq dropped_in "$(label swarmflow.dag_id)" "$which swarmflow.dag_id"
	assert_eq "$run_id" "$(label swarmflow.run_id)" "$which swarmflow.run_id"
	assert_eq hold "$(label swarmflow.task_id)" "$which swarmflow.task_id"
	assert_eq 1 "$(label swarmflow.try_number)" "$which swarmflow.try_number"
done

step "the run succeeds"
run_state() { sfx runs list dropped_in --json | jq -r --arg r "$run_id" '.[] | select(.run_id == $r) | .state'; }
run_over() { [[ $(run_state) == success || $(run_state) == failed ]]; }
wait_until 120 "run $run_id to end" run_over
tasks=$(sfx tasks list dropped_in "$run_id" --json)
jq -c '.[] | {task_id, state, try_number, exit_code, error, log_path}' <<<"$tasks"
assert_eq success "$(run_state)" "state of run $run_id"
for task in hold after; do
	assert_eq success "$(task_field "$tasks" "$task" state)" "state of $task"
	assert_eq 0 "$(task_field "$tasks" "$task" exit_code)" "exit code of $task"
done

step "the task services are removed"
no_service() { [[ -z $(stack_task_services "$STACK") ]]; }
wait_until 30 "no service of instance $STACK" no_service

step "the logs, from the host"
mountpoint=$(docker volume inspect --format '{{.Mountpoint}}' "${STACK}_state")
log_path=$(task_field "$tasks" hold log_path)
assert_match "$log_path" '^/var/lib/swarmflow/' "log_path of hold"
host_log="$mountpoint${log_path#/var/lib/swarmflow}"
assert_file "$host_log" "log of hold in the volume"
assert_contains "$(cat "$host_log")" "$MARK-hold $run_id" "log of hold read from $host_log"
logs=$(sfx tasks logs dropped_in "$run_id" after 2>&1) || fail "tasks logs failed: $logs"
assert_contains "$logs" "$MARK-after dag=dropped_in try=1" "docker exec ... tasks logs (stderr of after)"

step "docker service logs $svc: one line per event, with dag= run= task= try="
slog=$(docker service logs --raw "$svc" 2>&1)
grep -F -e "$run_id" -e "dags reloaded" <<<"$slog"
assert_not_contains "$slog" " warn " "service log (no warning in a clean run)"
bad=$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (debug|info|warn|error) ' <<<"$slog" || true)
[[ -z $bad ]] || fail "lines of the service log that are not one event each: $bad"
ts='^[0-9T:.-]+Z info'
for ev in queued running success; do
	assert_line_match "$slog" "$ts task $ev dag=dropped_in run=$run_id task=hold try=1( |\$)" "service log ($ev of hold)"
done
assert_line_match "$slog" "$ts task success dag=dropped_in run=$run_id task=after try=1( |\$)" "service log"
assert_line_match "$slog" "$ts run success dag=dropped_in run=$run_id\$" "service log"

step "the HEALTHCHECK still says healthy"
assert_eq healthy "$(stack_health "$STACK")" "health of the scheduler container"
assert_eq "$cid" "$(stack_container "$STACK")" "scheduler container (no restart during the run)"

step "docker stack rm $STACK; nothing of it is left"
t=$SECONDS
stack_down "$STACK" 120 || fail "the stack did not go away"
TORN_DOWN=1
echo "gone in $((SECONDS - t))s"
left=$(stack_leftovers "$STACK") || fail "left after the teardown: $left"
! docker volume inspect "${STACK}_state" >/dev/null 2>&1 || fail "volume ${STACK}_state is left"
assert_eq "" "$(docker config ls -q --filter "name=${STACK}_conf_")" "configs of the stack"
assert_eq "" "$(docker ps -aq --filter "label=com.docker.swarm.service.name=$svc")" "scheduler containers"
