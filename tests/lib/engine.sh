# tests/lib/engine.sh - make sure a Docker Engine in swarm mode and the busybox test image exist.
# Sourced by tests/run (and usable by hand: `. tests/lib/engine.sh; ensure_engine`).
# Every function is idempotent: safe to call again on a machine where everything is already up.
# shellcheck shell=bash

# The image every end-to-end DAG runs its tasks in; built locally, never pulled.
SWARMFLOW_TEST_IMAGE=${SWARMFLOW_TEST_IMAGE:-swarmflow-test/busybox:latest}
# The image of the example DAGs in dags/: the same busybox image under a user-facing name.
SWARMFLOW_EXAMPLE_IMAGE=${SWARMFLOW_EXAMPLE_IMAGE:-swarmflow/busybox:latest}
# Where a dockerd started by us writes its log.
SWARMFLOW_DOCKERD_LOG=${SWARMFLOW_DOCKERD_LOG:-/var/log/swarmflow-dockerd.log}

engine_log() { printf 'engine: %s\n' "$*" >&2; }

# engine_answers: true when the docker client reaches a daemon.
engine_answers() { docker info >/dev/null 2>&1; }

# engine_pid: the pid of the machine's default dockerd (its pidfile /var/run/docker.pid) when it
# runs; other dockerd processes (the multi-node test cluster's, with pidfiles of their own) are
# not it.
engine_pid() {
	local pid
	pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] &&
		printf '%s\n' "$pid"
}

# ensure_engine: a daemon that answers, in swarm mode, with this node a manager.
# Starts dockerd in the background (no systemd here) when nothing answers; waits up to 60 s.
ensure_engine() {
	if ! command -v docker >/dev/null 2>&1; then
		engine_log "no docker client on PATH (install docker.io)"
		return 1
	fi
	if ! engine_answers; then
		if ! engine_pid >/dev/null; then
			if ! command -v dockerd >/dev/null 2>&1; then
				engine_log "no dockerd on PATH (install docker.io)"
				return 1
			fi
			engine_log "starting dockerd (log: $SWARMFLOW_DOCKERD_LOG)"
			# setsid: not in our process group, so a timeout or ^C of the tests leaves it running.
			setsid nohup dockerd >"$SWARMFLOW_DOCKERD_LOG" 2>&1 </dev/null &
		else
			engine_log "dockerd is running but does not answer yet; waiting"
		fi
		local waited=0
		until engine_answers; do
			if ((waited >= 60)); then
				engine_log "dockerd did not answer within 60 s; last lines of its log:"
				tail -n 20 "$SWARMFLOW_DOCKERD_LOG" >&2 2>/dev/null || true
				return 1
			fi
			sleep 1
			waited=$((waited + 1))
		done
		engine_log "dockerd answers after ${waited}s"
	fi

	local state
	state=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)
	case "$state" in
	active) ;;
	inactive | "")
		engine_log "initialising a single-node swarm"
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null || return 1
		;;
	*)
		# pending, error, locked: a half-joined swarm with nothing of ours in it; start over.
		engine_log "swarm state is '$state': leaving and initialising again"
		docker swarm leave --force >/dev/null 2>&1 || true
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null || return 1
		;;
	esac
	if [[ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" != true ]]; then
		engine_log "this node is in a swarm but is not a manager"
		return 1
	fi
	return 0
}

# ensure_test_image: build $SWARMFLOW_TEST_IMAGE from the static busybox if it is missing, and
# tag it $SWARMFLOW_EXAMPLE_IMAGE for the example DAGs.
# The image is /bin/busybox plus one symlink per applet, empty /tmp and /etc, PATH=/bin.
ensure_test_image() {
	build_test_image || return 1
	if ! docker image inspect "$SWARMFLOW_EXAMPLE_IMAGE" >/dev/null 2>&1; then
		docker tag "$SWARMFLOW_TEST_IMAGE" "$SWARMFLOW_EXAMPLE_IMAGE" || return 1
	fi
}

build_test_image() {
	if docker image inspect "$SWARMFLOW_TEST_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	local busybox=/bin/busybox
	if [[ ! -x $busybox ]]; then
		engine_log "$busybox is missing (install busybox-static)"
		return 1
	fi
	if ldd "$busybox" >/dev/null 2>&1; then
		engine_log "$busybox is dynamically linked (install busybox-static, not busybox)"
		return 1
	fi
	engine_log "building $SWARMFLOW_TEST_IMAGE"
	local root rc=0
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/etc" "$root/tmp"
	chmod 1777 "$root/tmp"
	cp "$busybox" "$root/bin/busybox"
	local applet
	while IFS= read -r applet; do
		[[ -z $applet || $applet == busybox || $applet == */* ]] && continue
		ln -sf busybox "$root/bin/$applet"
	done < <("$busybox" --list)
	if ! tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' - "$SWARMFLOW_TEST_IMAGE" >/dev/null; then
		engine_log "docker import of $SWARMFLOW_TEST_IMAGE failed"
		rc=1
	fi
	rm -rf "$root"
	return "$rc"
}
