# tests/lib/image.sh - the swarmflow image and stack, shared by docker/quickstart and
# tests/e2e/99_stack.sh: build the image from the current tree, deploy stacks/swarmflow.yml under
# a stack name, find the scheduler's container, wait for its HEALTHCHECK, tear everything of a
# stack down and say what is left. Sourced (after tests/lib/engine.sh); no `set -e` of its own.
# A stack's name is also its instance (SWARMFLOW_INSTANCE): the label swarmflow.instance on the
# task services its scheduler creates.
# shellcheck shell=bash

SWARMFLOW_IMAGE=${SWARMFLOW_IMAGE:-swarmflow:latest}
SWARMFLOW_BUILD_IMAGE=${SWARMFLOW_BUILD_IMAGE:-swarmflow:build}
SWARMFLOW_BASE_IMAGE=${SWARMFLOW_BASE_IMAGE:-debian:bookworm-slim}
IMAGE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

image_log() { printf 'image: %s\n' "$*" >&2; }

# image_id REF: the image's ID (sha256:...), or nothing when it is not in the engine.
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# image_build LOG: make the base image when it is missing (docker/base-image), then build
# $SWARMFLOW_IMAGE from the current tree with docker/Dockerfile (the build cache makes a rebuild
# of an unchanged tree take seconds) and remove older builds no container uses. All output goes
# to LOG; on failure its tail is printed.
image_build() {
	local log=$1 rc=0
	: >"$log"
	if [[ -z $(image_id "$SWARMFLOW_BASE_IMAGE") ]]; then
		image_log "$SWARMFLOW_BASE_IMAGE is missing: docker/base-image pulls it or makes it offline (debootstrap, a few minutes)"
		SWARMFLOW_BASE_IMAGE=$SWARMFLOW_BASE_IMAGE "$IMAGE_REPO/docker/base-image" >>"$log" 2>&1 || rc=$?
		if ((rc != 0)); then
			image_log "docker/base-image failed (exit $rc); last lines of $log:"
			tail -n 30 "$log" >&2
			return 1
		fi
	fi
	# The build stage is tagged too ($SWARMFLOW_BUILD_IMAGE): it holds the build cache (the
	# compilers' layer), so that the older builds can be pruned without losing it.
	local -a stages=("--target build -t $SWARMFLOW_BUILD_IMAGE" "-t $SWARMFLOW_IMAGE")
	local args
	for args in "${stages[@]}"; do
		# shellcheck disable=SC2086 # $args: options without spaces
		(cd "$IMAGE_REPO" && docker build --network host \
			--build-arg "BASE_IMAGE=$SWARMFLOW_BASE_IMAGE" $args \
			-f docker/Dockerfile .) >>"$log" 2>&1 </dev/null || rc=$?
		if ((rc != 0)); then
			image_log "docker build $args failed (exit $rc); last lines of $log:"
			tail -n 40 "$log" >&2
			return 1
		fi
	done
	# Older builds of this Dockerfile that no container uses (dangling, labelled swarmflow.image);
	# "until": never the layers of a build running at the same time (another tests/run).
	docker image prune -f --filter label=swarmflow.image --filter until=30m >>"$log" 2>&1 || true
	return 0
}

# image_size REF: the image's size, e.g. "91MB".
image_size() {
	docker image inspect --format '{{.Size}}' "$1" 2>/dev/null | numfmt --to=si --suffix=B
}

# stack_deploy NAME DAGS_DIR: deploy stacks/swarmflow.yml as stack NAME (instance NAME) with
# DAGS_DIR (created if missing) mounted at /dags, the web UI on $SWARMFLOW_WEB_PORT (default 8080)
# and the API token from $SWARMFLOW_API_TOKEN_FILE (default DAGS_DIR/../api_token, made when
# missing); the deploy's own lines go to stderr. When the
# service already runs an older build of $SWARMFLOW_IMAGE and the deploy left its task template
# as it was, the service is restarted on the new image: without a registry digest, a rebuilt
# tag does not change the spec, so `docker stack deploy` alone would keep the old container.
stack_deploy() {
	local name=$1 dags=$2 before after digest rc=0 out
	mkdir -p "$dags" || return 1
	dags=$(cd "$dags" && pwd)
	digest=$(sha256sum "$IMAGE_REPO/docker/swarmflow.conf" | cut -c1-12)
	# The API token (a Docker secret): made once, next to the dags folder unless given.
	local token=${SWARMFLOW_API_TOKEN_FILE:-$(dirname "$dags")/api_token} token_digest
	if [[ ! -s $token ]]; then
		(umask 077 && openssl rand -hex 24 >"$token") || return 1
		image_log "API token written to $token"
	fi
	token_digest=$(sha256sum "$token" | cut -c1-12)
	before=$(stack_template "$name")
	out=$(SWARMFLOW_INSTANCE=$name SWARMFLOW_DAGS=$dags SWARMFLOW_CONF_DIGEST=$digest \
		SWARMFLOW_API_TOKEN_FILE=$token SWARMFLOW_TOKEN_DIGEST=$token_digest \
		docker stack deploy -c "$IMAGE_REPO/stacks/swarmflow.yml" "$name" 2>&1) || rc=$?
	# The engine's warning that a local image has no registry digest is expected here.
	grep -v -e 'could not be accessed on a registry' -e '^its digest\. Each node' \
		-e '^possibly leading to different' -e '^versions of the image' -e 'detach' -e '^$' \
		<<<"$out" >&2 || true
	if ((rc != 0)); then
		image_log "docker stack deploy $name failed (exit $rc)"
		return 1
	fi
	[[ -n $before ]] || return 0
	after=$(stack_template "$name")
	local cid want have=
	cid=$(stack_container "$name")
	want=$(image_id "$SWARMFLOW_IMAGE")
	[[ -z $cid ]] || have=$(docker inspect --format '{{.Image}}' "$cid" 2>/dev/null || true)
	if [[ $before == "$after" && -n $have && $have != "$want" ]]; then
		image_log "${name}_scheduler runs an older build of $SWARMFLOW_IMAGE: restarting it on the new one"
		docker service update --force --detach "${name}_scheduler" >/dev/null || return 1
	fi
	return 0
}

# stack_template NAME: the task template of NAME_scheduler as JSON (empty when it does not exist).
stack_template() {
	docker service inspect --format '{{json .Spec.TaskTemplate}}' "${1}_scheduler" 2>/dev/null || true
}

# stack_container NAME: the ID of the running container of NAME_scheduler on this node.
stack_container() {
	docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=${1}_scheduler" \
		--filter status=running 2>/dev/null | head -n 1
}

# stack_health NAME: the HEALTHCHECK status of the scheduler's container (starting, healthy,
# unhealthy), or "none" when no container runs.
stack_health() {
	local cid
	cid=$(stack_container "$1")
	[[ -n $cid ]] || {
		echo none
		return 0
	}
	docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$cid" 2>/dev/null || echo none
}

# stack_wait_healthy NAME SECONDS: wait until the scheduler's container runs the current
# $SWARMFLOW_IMAGE and its HEALTHCHECK says healthy. On timeout: says why, returns 1.
stack_wait_healthy() {
	local name=$1 limit=$2 start=$SECONDS cid want have health=none
	want=$(image_id "$SWARMFLOW_IMAGE")
	while ((SECONDS - start < limit)); do
		cid=$(stack_container "$name")
		if [[ -n $cid ]]; then
			have=$(docker inspect --format '{{.Image}}' "$cid" 2>/dev/null || true)
			health=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$cid" 2>/dev/null || true)
			if [[ $have == "$want" && $health == healthy ]]; then
				return 0
			fi
		fi
		sleep 1
	done
	image_log "${name}_scheduler is not healthy after ${limit}s (health: ${health:-none})"
	stack_diagnose "$name"
	return 1
}

# stack_diagnose NAME: what to look at when the scheduler does not come up (to stderr).
stack_diagnose() {
	local name=$1 cid
	{
		echo "--- docker service ps ${name}_scheduler --no-trunc"
		docker service ps --no-trunc "${name}_scheduler" 2>&1 | head -n 8
		cid=$(stack_container "$name")
		if [[ -n $cid ]]; then
			echo "--- last health checks of container ${cid:0:12}"
			docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}exit {{.ExitCode}}: {{.Output}}{{end}}{{end}}' "$cid" 2>&1 | tail -n 6
		fi
		echo "--- docker service logs ${name}_scheduler (last 20 lines)"
		docker service logs --raw --tail 20 "${name}_scheduler" 2>&1
	} >&2
}

# stack_exec NAME ARGS...: `swarmflow ARGS...` inside the scheduler's container.
stack_exec() {
	local name=$1 cid
	shift
	cid=$(stack_container "$name")
	if [[ -z $cid ]]; then
		image_log "no running container of ${name}_scheduler on this node"
		return 1
	fi
	docker exec "$cid" swarmflow "$@"
}

# stack_task_services NAME: IDs of the services the scheduler of stack NAME created.
stack_task_services() {
	docker service ls -q --filter "label=swarmflow.instance=$1" 2>/dev/null
}

# stack_leftovers NAME: print every object of stack NAME that still exists (services of the
# stack or of its instance, their containers, the state volume, configs, networks); returns 0
# when there is none.
_stack_left() { # WHAT IDS: one line of stack_leftovers; sets its $found
	[[ -n $2 ]] || return 0
	printf '%s left: %s\n' "$1" "$(tr '\n' ' ' <<<"${2%$'\n'}")"
	found=1
}
stack_leftovers() {
	local name=$1 found=0 ids
	local ns="label=com.docker.stack.namespace=$name" inst="label=swarmflow.instance=$name"
	_stack_left service "$(docker service ls -q --filter "$ns" 2>/dev/null)"
	_stack_left "task service" "$(docker service ls -q --filter "$inst" 2>/dev/null)"
	_stack_left container "$(docker ps -aq --filter "$ns" 2>/dev/null)"
	_stack_left "task container" "$(docker ps -aq --filter "$inst" 2>/dev/null)"
	ids=$(docker volume inspect --format '{{.Name}}' "${name}_state" 2>/dev/null || true)
	_stack_left volume "$ids"
	_stack_left config "$(docker config ls -q --filter "$ns" 2>/dev/null)"
	_stack_left network "$(docker network ls -q --filter "$ns" 2>/dev/null)"
	((found == 0))
}

# stack_down NAME [SECONDS]: remove stack NAME (its scheduler first, so that it creates nothing
# more), then the task services of its instance and their containers on this node, its state
# volume, config and network; waits until all of it is gone (default 120 s). Leaves images, the
# swarm and the dags folder alone.
stack_down() {
	local name=$1 limit=${2:-120} start=$SECONDS svc
	if [[ -n $(docker service ls -q --filter "label=com.docker.stack.namespace=$name" 2>/dev/null) ||
		-n $(docker config ls -q --filter "label=com.docker.stack.namespace=$name" 2>/dev/null) ||
		-n $(docker network ls -q --filter "label=com.docker.stack.namespace=$name" 2>/dev/null) ]]; then
		docker stack rm "$name" >&2 || return 1
	fi
	until [[ -z $(docker ps -aq --filter "label=com.docker.stack.namespace=$name" 2>/dev/null) ]]; do
		if ((SECONDS - start >= limit)); then
			image_log "the scheduler container of stack $name is still there after ${limit}s"
			return 1
		fi
		sleep 1
	done
	svc=$(stack_task_services "$name")
	if [[ -n $svc ]]; then
		image_log "removing $(wc -l <<<"$svc") task service(s) of instance $name"
		# shellcheck disable=SC2086
		docker service rm $svc >/dev/null 2>&1 || true
	fi
	local ctr
	while :; do
		# The engine (moby#42789, #44312) keeps the exited containers of a removed
		# replicated-job service: remove those of this instance once its services are gone.
		if [[ -z $(stack_task_services "$name") ]]; then
			ctr=$(docker ps -aq --filter "label=swarmflow.instance=$name" 2>/dev/null || true)
			# shellcheck disable=SC2086
			[[ -z $ctr ]] || docker rm -f $ctr >/dev/null 2>&1 || true
		fi
		docker volume rm "${name}_state" >/dev/null 2>&1 || true
		stack_leftovers "$name" >/dev/null && return 0
		if ((SECONDS - start >= limit)); then
			image_log "stack $name is not gone after ${limit}s:"
			stack_leftovers "$name" >&2
			return 1
		fi
		sleep 1
	done
}
