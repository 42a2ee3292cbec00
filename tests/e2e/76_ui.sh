#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 76_ui: the web UI in a real browser (Debian's headless Chromium driven by playwright-core:
# tests/browser/ui.test.mjs) against `swarmflow scheduler` and its HTTP server: the DAG list with
# its import errors, a write refused without the token, pause/unpause, Trigger with a conf, the
# grid turning green, the graph, a task's try page and its log (also tailed live while the task
# runs), Clear, and HTML in descriptions, conf and log lines shown as text and never run.
# Screenshots go to tests/artifacts/.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

BROWSER_DIR="$E2E_REPO/tests/browser"
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
XSS_IMG='<img src=x onerror=window.__xss=1>'
XSS_SCRIPT='<script>window.__xss=1</script>'

step "the browser, node and playwright-core"
command -v node >/dev/null 2>&1 || fail "node is not installed (apt-get install nodejs npm)"
[[ -x $CHROMIUM ]] || fail "no Chromium at $CHROMIUM (apt-get install chromium)"
"$CHROMIUM" --version 2>/dev/null || true
if [[ ! -f $BROWSER_DIR/node_modules/playwright-core/package.json ]]; then
	command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund ||
		fail "npm ci in tests/browser failed"
fi

write_dag ui <<EOF_DAG
dag ui_demo {
  description = "A fan-out and a fan-in: one container per task"
  schedule    = "none"
  start_date  = "2026-01-01"
  tags        = {ui, demo}
  defaults {
    image = "$IMAGE"
  }
  task extract {
    shell = "echo greeting={{ conf.greeting }}; echo rows=42"
  }
  task transform_a {
    upstream = {extract}
    shell    = "echo transform a of {{ run_id }}"
  }
  task transform_b {
    upstream = {extract}
    shell    = "echo transform b; test '{{ conf.greeting }}' != fail-me"
  }
  task load {
    upstream = {transform_a, transform_b}
    shell    = "echo loaded"
  }
}
EOF_DAG

write_dag hostile <<EOF_DAG
dag ui_hostile {
  description = "$XSS_IMG $XSS_SCRIPT"
  schedule    = "none"
  start_date  = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task shout {
    shell = "echo '$XSS_IMG'; echo '$XSS_SCRIPT'; echo 'conf={{ conf.msg }}'"
  }
}
EOF_DAG

write_dag tail <<EOF_DAG
dag ui_tail {
  description = "One line a second, for the live tail"
  schedule    = "none"
  start_date  = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task ticker {
    shell = "for i in 1 2 3 4 5 6; do echo tick \$i; sleep 1; done"
  }
}
EOF_DAG

write_dag mapped <<EOF_DAG
dag ui_mapped {
  description = "A task mapped over three files, and their outputs gathered"
  schedule    = "none"
  start_date  = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task list_files {
    shell  = "for f in a.csv b.csv c.csv; do echo \"::output:: \$f\"; done"
    output = "marked"
  }
  task process {
    upstream = {list_files}
    expand   = "{{ upstream.list_files.output }}"
    shell    = "echo processing {{ item }}; echo rows-of-{{ item }}"
    output   = "last_line"
  }
  task gather {
    upstream = {process}
    command  = {"echo", "{{ upstream.process.outputs_json }}"}
    output   = "last_line"
  }
}
EOF_DAG

write_dag broken <<EOF_DAG
dag ui_broken {
  schedule   = "none"
  start_date = "2026-01-01"
  defaults {
    image = "$IMAGE"
  }
  task load {
    upstream = {"$XSS_IMG"}
    shell    = "true"
  }
}
EOF_DAG

step "the DAG files: four good ones, one with an error"
sf_run dags validate "$SWARMFLOW_DAGS_FOLDER"
assert_eq 1 "$RC" "exit code of dags validate with broken.dag"
assert_line_match "$OUT" 'broken\.dag:[0-9]+: ' "the error of broken.dag"

step "start the scheduler with the web server and a token"
token="ui-$(printf '%04x%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM")"
printf '%s\n' "$token" >"$E2E_WORK/api-token"
chmod 600 "$E2E_WORK/api-token"
export SWARMFLOW_API_TOKEN_FILE="$E2E_WORK/api-token"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
[[ $port =~ ^[0-9]+$ ]] || fail "no free port: '$port'"
export SWARMFLOW_WEB_LISTEN="127.0.0.1:$port"
url="http://127.0.0.1:$port/"
bg scheduler
sched_pid=$BG_PID

# web_up: the UI's page and the DAG list answer (checked with node: no curl needed).
web_up() {
	kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler exited: $(tail -n 30 "$BG_LOG")"
	URL=$url node -e '
		(async () => {
			const page = await fetch(process.env.URL);
			const body = await page.text();
			const dags = await fetch(process.env.URL + "ui/api/dags");
			const ok = page.ok && /text\/html/.test(page.headers.get("content-type") || "") &&
				body.includes("app.js") && dags.ok;
			process.exit(ok ? 0 : 1);
		})().catch(() => process.exit(1));'
}
wait_until 20 "the web server on $url" web_up

step "four runs from the CLI first (one made to fail), so that the grid has a history"
for conf in warm-up-1 warm-up-2 fail-me warm-up-3; do
	sf_run dags trigger ui_demo --conf "{\"greeting\": \"$conf\"}"
	assert_eq 0 "$RC" "exit code of dags trigger ($conf)"
	sleep 1 # one logical date per second: the grid's columns read apart
done
all_done() { [[ $(runs_json ui_demo | jq '[.[] | select(.state == "queued" or .state == "running")] | length') == 0 ]]; }
wait_until 120 "the four runs of ui_demo to end" all_done
runs=$(runs_json ui_demo)
assert_eq "success success failed success" "$(jq -r 'reverse | map(.state) | join(" ")' <<<"$runs")" \
	"states of the four runs, oldest first"

step "the browser test (tests/browser/ui.test.mjs)"
rc=0
SWARMFLOW_UI_URL=$url SWARMFLOW_UI_TOKEN=$token UI_ARTIFACTS="$E2E_REPO/tests/artifacts" \
	timeout 240 node "$BROWSER_DIR/ui.test.mjs" || rc=$?
assert_eq 0 "$rc" "exit code of the browser test"

step "what the browser did is in the store"
runs=$(runs_json ui_demo)
assert_eq 5 "$(jq length <<<"$runs")" "runs of ui_demo (four from the CLI, one from the UI)"
ui_run=$(jq -r '.[0].run_id' <<<"$runs")
assert_eq success "$(jq -r '.[0].state' <<<"$runs")" "state of the run triggered in the UI"
tasks=$(tasks_json ui_demo "$ui_run")
assert_eq 2 "$(task_field "$tasks" load try_number)" "try of load after the UI's Clear"
assert_eq success "$(task_field "$tasks" load state)" "state of load after the UI's Clear"
sf_run tasks logs ui_hostile "$(latest_run_id ui_hostile)" shout
assert_contains "$OUT" "conf=$XSS_SCRIPT" "log of the hostile task"

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
gone() { ! kill -0 "$sched_pid" 2>/dev/null; }
wait_until 10 "the scheduler to exit after SIGTERM" gone
