#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 70_validate: one broken file is reported as FILE:LINE: message with exit 1 and hides none of
# the good DAGs; files starting with '.' are ignored; subfolders are scanned.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

write_dag good <<EOF_DAG
dag good {
  schedule   = "none"
  start_date = "2026-01-01"
  task only {
    image = "$IMAGE"
    shell = "echo good"
  }
}
EOF_DAG

mkdir -p "$SWARMFLOW_DAGS_FOLDER/sub"
cat >"$SWARMFLOW_DAGS_FOLDER/sub/nested.dag" <<EOF_DAG
dag nested {
  schedule   = "none"
  start_date = "2026-01-01"
  task only {
    image = "$IMAGE"
    shell = "echo nested"
  }
}
EOF_DAG

# Line 6 holds the unknown key.
write_dag broken <<EOF_DAG
dag broken {
  schedule   = "none"
  start_date = "2026-01-01"
  task only {
    image     = "$IMAGE"
    bogus_key = "x"
    shell     = "echo broken"
  }
}
EOF_DAG

# Ignored: it starts with a dot (and would be an error otherwise).
printf 'dag hidden {\n  this is not valid\n' >"$SWARMFLOW_DAGS_FOLDER/.hidden.dag"

step "dags validate (the dags folder)"
sf_run dags validate
assert_eq 1 "$RC" "exit code of dags validate"
assert_line_match "$OUT" 'broken\.dag:6: .*bogus_key' "dags validate output"
assert_not_contains "$OUT" "good.dag:" "dags validate output"
assert_not_contains "$OUT" "nested.dag:" "dags validate output"
assert_not_contains "$OUT" ".hidden.dag" "dags validate output"

step "dags validate of the good file alone"
sf_run dags validate "$SWARMFLOW_DAGS_FOLDER/good.dag"
assert_eq 0 "$RC" "exit code of dags validate good.dag"

step "dags validate of the broken file alone"
sf_run dags validate "$SWARMFLOW_DAGS_FOLDER/broken.dag"
assert_eq 1 "$RC" "exit code of dags validate broken.dag"
assert_line_match "$OUT" 'broken\.dag:6: ' "dags validate broken.dag output"

step "dags list --json"
list=$(sf dags list --json) || true
printf '%s\n' "$list"
jq -e 'type == "array"' >/dev/null <<<"$list" || fail "dags list --json is not a JSON array"
has_dag() { jq -e --arg d "$1" '[.. | objects | select(.dag_id? == $d)] | length >= 1' >/dev/null <<<"$list"; }
has_dag good || fail "dags list --json does not list the good DAG"
has_dag nested || fail "dags list --json does not list the DAG in a subfolder"
! has_dag broken || fail "dags list --json lists the broken DAG as loaded"
assert_contains "$list" "broken.dag" "dags list --json (the broken file's error)"
assert_contains "$list" "bogus_key" "dags list --json (the broken file's error)"
assert_not_contains "$list" ".hidden.dag" "dags list --json"
