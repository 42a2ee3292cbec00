#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# 72_broken_folder: one dags folder holding 68 broken files (the fixtures in tests/e2e/broken/
# plus bytes, sizes, links, a folder named x.dag and an unreadable file made here), two good DAGs,
# an empty file and a file of comments only, under a running scheduler:
#  (a) `dags validate` (exit 1) and `dags list --json` (exit 0) give every broken file's exact
#      FILE:LINE: message from the table below; the files that are not broken give none;
#  (b) the scheduler keeps running and the good DAGs run to success meanwhile;
#  (c) its log names each broken file once (not at every 1 s reload tick), and once more when
#      the file changes;
#  (d) fixing a broken file (and chmod 644 of the unreadable one) makes its DAG appear and run.
# A good file that turns broken keeps its last good version running: 38_hot_reload covers it.
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

export SWARMFLOW_DAG_RELOAD_INTERVAL=1
D=$SWARMFLOW_DAGS_FOLDER
case_start=$SECONDS

# Root reads a chmod 000 file anyway (CAP_DAC_OVERRIDE): every swarmflow of this case, the
# scheduler included, runs without that capability and CAP_DAC_READ_SEARCH, so the file really is
# unreadable to it. It still reaches the docker socket and its state_dir (owned by root).
if ((EUID == 0)); then
	setpriv --bounding-set=-dac_override,-dac_read_search true ||
		fail "setpriv cannot drop CAP_DAC_OVERRIDE: the unreadable file cannot be tested as root"
	real_bin=$SWARMFLOW_BIN
	SWARMFLOW_BIN="$E2E_WORK/swarmflow-nodac"
	printf '#!/bin/sh\nexec setpriv --bounding-set=-dac_override,-dac_read_search "%s" "$@"\n' \
		"$real_bin" >"$SWARMFLOW_BIN"
	chmod +x "$SWARMFLOW_BIN"
fi

step "the dags folder: fixtures, generated files, two good DAGs"
cp "$E2E_REPO"/tests/e2e/broken/*.dag "$D/"

write_dag good_one <<EOF_DAG
dag good_one {
  schedule   = "none"
  start_date = "2026-01-01"
  task hello {
    image = "$IMAGE"
    shell = "echo good one in {{ run_id }}"
  }
}
EOF_DAG
write_dag good_two <<EOF_DAG
dag good_two {
  defaults { image = "$IMAGE" }
  task first { shell = "echo first" }
  task second {
    upstream = {first}
    command  = {"echo", "second of {{ dag_id }}"}
  }
}
EOF_DAG

# Bytes: latin-1, an overlong UTF-8 form, a NUL (all at line 2).
printf 'dag latin1 {\n  description = "caf\xe9"\n}\n' >"$D/bytes_latin1.dag"
printf 'dag overlong {\n  description = "\xc0\xaf"\n}\n' >"$D/bytes_overlong.dag"
printf 'dag nul {\n  description = "a\0b"\n}\n' >"$D/bytes_nul.dag"

# Sizes. Over the 10 MiB limit (DAGBAG_FILE_MAX): refused by its size, unread.
pad='    # padding padding padding padding padding padding padding padding padding padding'
{
	printf 'dag over_limit {\n'
	{ yes "$pad" || true; } | head -c $((10 * 1024 * 1024 - 16))
	printf '\n}\n'
} >"$D/big_over_limit.dag"
truncate -s $((10 * 1024 * 1024 + 1)) "$D/big_over_limit.dag"
# Exactly 10,000,000 bytes ("10 MB"), under the limit: parsed, its error at a line far down.
top='dag big_10mb {\n  task t {\n    image = "busybox"\n'
bottom='    shel = "true"\n  }\n}\n'
fixed=$(printf '%b%b' "$top" "$bottom" | wc -c)
n_pad=$(((10000000 - fixed) / (${#pad} + 1)))
rest=$(((10000000 - fixed) % (${#pad} + 1)))
{
	printf '%b' "$top"
	{ yes "$pad" || true; } | head -n "$n_pad"
	((rest == 0)) || printf '%*s\n' $((rest - 1)) '' | tr ' ' '#'
	printf '%b' "$bottom"
} >"$D/big_10mb.dag"
assert_eq 10000000 "$(stat -c %s "$D/big_10mb.dag")" "size of big_10mb.dag"
big_line=$((3 + n_pad + (rest > 0) + 1))
# 9 MB of comment on one line, under the limit too: libconfuse's scanner needs time quadratic in a
# token's length (half a minute for this one); refused at once (conftext.c, tokens over 16 KiB).
{
	printf 'dag long_line {\n#'
	head -c 9000000 /dev/zero | tr '\0' '='
	printf '\n}\n'
} >"$D/big_long_line.dag"

# 10,001 DAGs of one line each: libconfuse's time grows with the square of the sections (40,000
# took 7.5 s and 650 MB); refused at the first one past 10,000.
seq 1 10001 | sed 's/.*/dag many_& { }/' >"$D/big_many_sections.dag"

# A folder named x.dag is a folder: what it holds is read.
mkdir "$D/x.dag"
printf 'dag inside_dir {\n  task t {\n    imgae = "busybox"\n  }\n}\n' >"$D/x.dag/inside.dag"
# Links: to itself, to nothing, and a folder link back up (a loop).
ln -s link_self.dag "$D/link_self.dag"
ln -s missing.dag "$D/link_dangling.dag"
mkdir "$D/loop"
ln -s .. "$D/loop/up"
# Unreadable: a good DAG behind chmod 000.
write_dag unreadable <<EOF_DAG
dag was_unreadable {
  task t {
    image = "$IMAGE"
    shell = "echo readable now"
  }
}
EOF_DAG
chmod 000 "$D/unreadable.dag"

# What each broken file must give: FILE|LINE|KIND|MESSAGE, the first error of the file, exact.
# KIND: file (its own error) or folder (a folder-level one: links, loops, a DAG id already
# defined in another file). LINE 0: an error of the whole file. @DAGS@ is the dags folder.
expected=$(
	cat <<'EOF_TABLE'
syntax_unclosed_brace.dag|1|file|'{' is never closed (missing '}' at the end of the file)
syntax_missing_equals.dag|2|file|dag 'missing_equals': missing equal sign after option 'schedule'
syntax_stray_word.dag|6|file|dag 'stray_word': no such option 'oops'
syntax_double_equals.dag|3|file|dag 'double_equals' task 't': unexpected token '='
syntax_extra_brace.dag|6|file|unexpected closing brace
syntax_unclosed_string.dag|5|file|string is never closed (missing '"')
syntax_unclosed_comment.dag|5|file|comment '/*' is never closed
syntax_env_expansion.dag|4|file|'${HOME}' would be replaced from the scheduler's environment by the parser; write '\${' inside double quotes or use single quotes
syntax_missing_title.dag|2|file|missing title for section 'dag'
type_string_for_number.dag|4|file|dag 'string_for_number' task 't': retries: invalid value 'three' (an integer from 0 to 100000)
type_list_for_string.dag|3|file|dag 'list_for_string' task 't': unexpected token '{'
type_bool_typo.dag|2|file|dag 'bool_typo': catchup: invalid boolean 'flase' (true or false)
type_string_for_cpus.dag|4|file|dag 'string_for_cpus' task 't': cpus: invalid value 'lots' (a number of CPUs >= 0)
type_limit_zero.dag|2|file|dag 'limit_zero': max_active_runs: invalid value '0' (an integer from 1 to 100000)
cycle_two.dag|3|file|dag 'cycle_two': dependency cycle: a -> b -> a
cycle_three.dag|3|file|dag 'cycle_three': dependency cycle: a -> b -> c -> a
cycle_self.dag|3|file|dag 'cycle_self' task 'a': depends on itself (dependency cycle: a -> a)
unknown_task_key.dag|4|file|dag 'unknown_task_key' task 't': no such option 'imgae'
unknown_dag_key.dag|2|file|dag 'unknown_dag_key': no such option 'shedule'
unknown_defaults_key.dag|4|file|dag 'unknown_defaults_key' defaults: no such option 'retires'
unknown_section.dag|1|file|no such option 'workflow'
unknown_upstream.dag|4|file|dag 'unknown_upstream' task 'load': unknown upstream 'transfrom'
duplicate_task.dag|4|file|dag 'duplicate_task': duplicate task 'a'
duplicate_dag_in_file.dag|4|file|duplicate dag 'twice' in this file
zz_duplicate_good_one.dag|2|folder|DAG 'good_one' already defined at @DAGS@/good_one.dag:1
cron_minute_out_of_range.dag|3|file|dag 'cron_minute': schedule: cron: bad minute field '60' (0-59)
cron_day_out_of_range.dag|3|file|dag 'cron_day': schedule: cron: bad day-of-month field '32' (1-31)
cron_too_few_fields.dag|3|file|dag 'cron_fields': schedule: cron: expected 5 fields, got 3
cron_bad_preset.dag|3|file|dag 'cron_preset': schedule: cron: unknown preset '@fortnightly' (@hourly, @daily, @weekly, @monthly, @yearly or @once)
cron_without_start_date.dag|1|file|dag 'cron_no_start': schedule '@daily' needs a start_date
duration_negative.dag|4|file|dag 'duration_negative' task 't': retry_delay: invalid duration '-5s': expected e.g. 90s, 10m, 1h30m or seconds
duration_unit_typo.dag|4|file|dag 'duration_typo' task 't': timeout: invalid duration '10mins': expected e.g. 90s, 10m, 1h30m or seconds
duration_absurd.dag|2|file|dag 'duration_absurd': dagrun_timeout: invalid duration '99999999999999999999h': longer than 10 years
size_absurd.dag|4|file|dag 'size_absurd' task 't': memory: invalid size '999999999999G': larger than 1 PiB
size_unit_typo.dag|4|file|dag 'size_typo' task 't': memory: invalid size '256Q': expected e.g. 512K, 256M, 1.5G or bytes
size_negative.dag|4|file|dag 'size_negative' task 't': reserve_memory: invalid size '-1G': expected e.g. 512K, 256M, 1.5G or bytes
mount_missing_target.dag|4|file|dag 'mount_target' task 't': mounts: mount 'type=volume,source=data': target is required
mount_unknown_type.dag|4|file|dag 'mount_type' task 't': mounts: mount 'type=nfs,source=data,target=/data': unknown type 'nfs' (volume, bind or tmpfs)
mount_relative_source.dag|2|file|dag 'mount_relative' task 't': policy: bind mount source 'data' is not an absolute path
mount_docker_socket.dag|2|file|dag 'mount_socket' task 't': policy: bind mount source '/var/run/docker.sock' is the docker socket (policy.allow_docker_socket is false)
template_unknown_variable.dag|4|file|dag 'template_unknown' task 't': shell: unknown template variable 'yesterday_ds'
template_unclosed.dag|4|file|dag 'template_unclosed' task 't': command: unclosed '{{' at '{{ ds'
id_with_space.dag|1|file|invalid DAG id 'my dag' (letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 200 bytes)
id_task_with_space.dag|2|file|dag 'task_space': invalid task id 'load data' (letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 200 bytes)
id_too_long.dag|1|file|invalid DAG id '@X201@' (letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 200 bytes)
date_bad_month.dag|3|file|dag 'date_month': start_date: invalid date '2026-13-01' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)
date_word.dag|2|file|dag 'date_word': end_date: invalid date 'yesterday' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)
date_end_before_start.dag|1|file|dag 'date_order': end_date is before start_date
image_missing.dag|2|file|dag 'image_missing' task 't': no image (set image in the task or in defaults)
command_and_shell.dag|2|file|dag 'command_and_shell' task 't': command and shell are both set; use one
trigger_rule_typo.dag|4|file|dag 'trigger_typo' task 't': trigger_rule: unknown trigger rule 'all_sucess' (all_success, all_failed, all_done, one_success, one_failed, none_failed, always, none_failed_min_one_success, none_skipped, all_skipped, one_done)
label_reserved.dag|4|file|dag 'label_reserved' task 't': labels: 'swarmflow.dag_id=other': labels starting with 'swarmflow.' are reserved
webhook_not_http.dag|2|file|dag 'webhook_ftp': on_failure_webhook: 'ftp://example.com/hook' is not an http:// or https:// URL
workdir_relative.dag|4|file|dag 'workdir_relative' task 't': workdir: 'data' is not an absolute path
env_not_key_value.dag|4|file|dag 'env_not_kv' task 't': env: '=oops' is not KEY=VALUE
escape_not_utf8.dag|4|file|dag 'escape_not_utf8' task 't': shell: value is not valid UTF-8
bytes_latin1.dag|2|file|invalid UTF-8 (byte 0xe9; the file must be UTF-8 text)
bytes_overlong.dag|2|file|invalid UTF-8 (byte 0xc0; the file must be UTF-8 text)
bytes_nul.dag|2|file|NUL byte in the file (it must be UTF-8 text)
big_over_limit.dag|0|file|file too large (10485761 bytes, limit 10 MiB)
big_10mb.dag|@BIGLINE@|file|dag 'big_10mb' task 't': no such option 'shel'
big_long_line.dag|2|file|more than 16 KiB of blanks or comment in a row on one line
big_many_sections.dag|10001|file|more than 10000 sections ({ } blocks other than lists) in one file: split it into several files
x.dag/inside.dag|3|file|dag 'inside_dir' task 't': no such option 'imgae'
unreadable.dag|0|file|cannot open: Permission denied
link_self.dag|0|folder|cannot stat: Too many levels of symbolic links
link_dangling.dag|0|folder|cannot stat: No such file or directory
loop/up|0|folder|symlink loop: same folder as @DAGS@
EOF_TABLE
)
x201=$(printf '%*s' 201 '' | tr ' ' x)
expected=${expected//@DAGS@/$D}
expected=${expected//@X201@/$x201}
expected=${expected//@BIGLINE@/$big_line}
n_rows=$(grep -c . <<<"$expected")
printf '%d broken files in the table; %d files and links in the folder\n' "$n_rows" \
	"$(find "$D" -name '*.dag' -o -name up | grep -c .)"
((n_rows >= 40)) || fail "only $n_rows rows in the table"

# The files the table does not name hold no error: the two good DAGs, the empty file, the file of
# comments only (both define no DAG, which is no error), and the duplicate's first definition.
not_broken=(good_one.dag good_two.dag empty.dag comments_only.dag)

# for_rows FN: calls FN FILE LINE KIND MESSAGE for every row.
for_rows() {
	local file line kind msg
	while IFS='|' read -r file line kind msg; do
		"$1" "$D/$file" "$line" "$kind" "$msg"
	done <<<"$expected"
}
# no_line_starts TEXT PREFIX WHAT: no line of TEXT starts with PREFIX.
no_line_starts() {
	local l
	while IFS= read -r l; do
		[[ $l != "$2"* ]] || fail "$3 has a line starting with '$2': $l"
	done <<<"$1"
}
# row_text PATH LINE MESSAGE: as `dags validate` prints it.
row_text() { if (($2 > 0)); then printf '%s:%s: %s' "$1" "$2" "$3"; else printf '%s: %s' "$1" "$3"; fi; }

step "(a) dags validate on the folder: exit 1, every broken file with its line and message"
t0=$(date +%s%N)
sf_run dags validate
ms=$((($(date +%s%N) - t0) / 1000000))
printf '$ swarmflow dags validate: exit %d in %d ms\n' "$RC" "$ms"
assert_eq 1 "$RC" "exit code of dags validate with broken files"
validate_out=$OUT
check_validate() {
	grep -qxF -e "$(row_text "$1" "$2" "$4")" <<<"$validate_out" ||
		fail "dags validate does not say: $(row_text "$1" "$2" "$4")"
}
for_rows check_validate
for f in "${not_broken[@]}"; do
	no_line_starts "$validate_out" "$D/$f:" "dags validate output"
done
# One error per broken file: no error drags others after it (an invalid start_date used to add
# "schedule '@daily' needs a start_date" at the DAG's line). A string left open is also a
# premature end of the file.
one_error_each() {
	local want=1 n
	[[ $1 == */syntax_unclosed_string.dag ]] && want=2
	n=$(awk -v p="$1:" 'index($0, p) == 1' <<<"$validate_out" | wc -l)
	assert_eq "$want" "$n" "errors of $1 in dags validate"
}
for_rows one_error_each
# Every line but the summary names a file of the table (nothing else is reported).
errors=$(grep -vE '^[0-9]+ DAGs?, [0-9]+ errors?$' <<<"$validate_out")
unknown=$(grep -vF -f <(cut -d'|' -f1 <<<"$expected" | sed "s|^|$D/|; s|\$|:|") <<<"$errors" || true)
assert_eq "" "$unknown" "errors of files not in the table"
assert_line_match "$validate_out" "^[0-9]+ DAGs?, $(grep -c . <<<"$errors") errors$" "the summary line"
((ms < 15000)) || fail "dags validate took $ms ms over the folder"

step "(a) dags validate PATH...: every broken file named on the command line"
paths=()
collect_path() { [[ $3 == file && $1 != */x.dag/* ]] && paths+=("$1"); return 0; }
for_rows collect_path
sf_run dags validate "${paths[@]}"
assert_eq 1 "$RC" "exit code of dags validate PATH..."
# Files read one by one say the same, but for what the folder scan says in its own words.
check_validate_path() {
	[[ $3 == file && $1 != */x.dag/* ]] || return 0
	case $(basename "$1") in
	big_over_limit.dag) assert_contains "$OUT" "$1: file too large" "dags validate $1" ;;
	unreadable.dag) assert_contains "$OUT" "$1: Permission denied" "dags validate $1" ;;
	*) grep -qxF -e "$(row_text "$1" "$2" "$4")" <<<"$OUT" ||
		fail "dags validate PATH... does not say: $(row_text "$1" "$2" "$4")" ;;
	esac
}
for_rows check_validate_path

step "(a) the long line, the files near 10 MB and the 10,001 DAGs are dealt with quickly"
for f in big_long_line.dag big_over_limit.dag big_10mb.dag big_many_sections.dag; do
	t0=$(date +%s%N)
	rc=0
	"$SWARMFLOW_BIN" dags validate "$D/$f" >/dev/null 2>&1 || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	printf '%s: exit %d in %d ms\n' "$f" "$rc" "$ms"
	assert_eq 1 "$rc" "exit code of dags validate $f"
	((ms < 5000)) || fail "dags validate $f took $ms ms"
done

step "start the scheduler with all of it in its folder"
bg scheduler
sched_pid=$BG_PID
sched_log=$BG_LOG
is_healthy() { "$SWARMFLOW_BIN" health >/dev/null 2>&1; }
wait_until 30 "the scheduler's loop to run (swarmflow health)" is_healthy
alive() { kill -0 "$sched_pid" 2>/dev/null || fail "the scheduler died: $(tail -n 30 "$sched_log")"; }
alive
sched_started=$SECONDS

step "(a) dags list --json: exit 0, every broken file's error, the good DAGs without any"
list_json() {
	local out
	out=$("$SWARMFLOW_BIN" dags list --json) || fail "dags list --json failed"
	jq -e 'type == "array"' >/dev/null <<<"$out" || fail "dags list --json is not a JSON array"
	printf '%s\n' "$out"
}
list=$(list_json)
flat=$(jq -r '.[] | .errors[]? | "\(.file):\(.line): \(.message)"' <<<"$list")
check_list() {
	grep -qxF -e "$1:$2: $4" <<<"$flat" || fail "dags list --json has no error '$1:$2: $4'"
}
for_rows check_list
for f in "${not_broken[@]}"; do
	no_line_starts "$flat" "$D/$f:" "errors in dags list --json"
done
assert_eq "$(grep -c . <<<"$errors")" "$(grep -c . <<<"$flat")" "errors in dags list --json and in dags validate"
for id in good_one good_two; do
	assert_eq "$D/$id.dag" "$(jq -r --arg d "$id" '[.[] | select(.dag_id == $d) | .file] | .[0]' <<<"$list")" \
		"file of DAG $id in dags list --json"
	assert_eq 0 "$(jq --arg d "$id" '[.[] | select(.dag_id == $d) | .errors[]] | length' <<<"$list")" \
		"errors listed with DAG $id"
done
# No DAG of a broken file is listed (the duplicate of good_one: see the end).
broken_dags=$(jq -r '.[] | select(.dag_id != null and .dag_id != "good_one" and .dag_id != "good_two") | .dag_id' <<<"$list")
assert_eq "" "$broken_dags" "DAGs of broken files in dags list --json"
sf_run dags list
assert_eq 0 "$RC" "exit code of dags list with broken files"
assert_line_match "$OUT" "^good_one +none " "dags list"
assert_line_match "$OUT" "^good_two " "dags list"
assert_contains "$OUT" "$(row_text "$D/cycle_two.dag" 3 "dag 'cycle_two': dependency cycle: a -> b -> a")" "dags list"

step "(a) a broken file's DAG is unknown to trigger (exit 1, says why)"
sf_run dags trigger cycle_two
assert_eq 1 "$RC" "exit code of dags trigger of a broken DAG"
assert_contains "$OUT" "unknown DAG 'cycle_two'" "dags trigger cycle_two"
assert_contains "$OUT" "($(grep -c . <<<"$errors") file errors; see \`swarmflow dags list\`)" "dags trigger cycle_two"

step "(b) the good DAGs run to success while the broken files are there"
for id in good_one good_two; do
	rc=0
	timeout 60 "$SWARMFLOW_BIN" dags trigger "$id" --run-id "amid-broken" --wait || rc=$?
	assert_eq 0 "$rc" "exit code of dags trigger $id --wait"
	assert_eq success "$(runs_json "$id" | jq -r '.[] | select(.run_id == "amid-broken") | .state')" \
		"state of the run of $id"
done
sf_run tasks logs good_two amid-broken second
assert_contains "$OUT" "second of good_two" "log of good_two's second task"
alive

step "(c) the scheduler's log names each broken file once, over several reload ticks"
# Reloads every second: wait until at least 4 have gone by since the start.
while ((SECONDS - sched_started < 5)); do sleep 0.5; done
alive
# log_count PATH KIND: lines of the scheduler's log about PATH.
log_count() {
	if [[ $2 == folder ]]; then
		grep -cF -e "dags folder problem file=$1:" "$sched_log" || true
	else
		grep -cF -e "dag file invalid file=$1 " "$sched_log" || true
	fi
}
# log_says PATH LINE KIND MESSAGE: the log line about PATH ends with its first error.
log_says() {
	local text=$4 prefix="dag file invalid file=$1 "
	(($2 > 0)) && text="$2: $4"
	[[ $3 == folder ]] && prefix="dags folder problem file=$1:"
	grep -F -e "$prefix" "$sched_log" | grep -qF -e ": $text" ||
		fail "the scheduler's log has no line '$prefix...: $text'"
}
check_log_once() {
	assert_eq 1 "$(log_count "$1" "$3")" "lines naming $1 in the scheduler's log"
	log_says "$@"
}
for_rows check_log_once
assert_eq "$n_rows" "$(grep -cE 'dag file invalid file=|dags folder problem file=' "$sched_log")" \
	"lines naming broken files in the scheduler's log"
# Nothing changed since the start: no reload parsed anything (the unreadable file is tried again
# at every tick, quietly).
assert_eq 0 "$(grep -c 'dags reloaded' "$sched_log" || true)" "'dags reloaded' lines with nothing changed"

step "(d) fix cycle_two, chmod 644 the unreadable file, break stray_word differently"
cat >"$D/cycle_two.dag" <<EOF_DAG
dag cycle_two {
  defaults { image = "$IMAGE" }
  task a { shell = "echo a" }
  task b {
    upstream = {a}
    shell    = "echo b after a"
  }
}
EOF_DAG
chmod 644 "$D/unreadable.dag"
sed -i 's/^  oops$/  oops_again/' "$D/syntax_stray_word.dag"
listed() {
	local l
	l=$("$SWARMFLOW_BIN" dags list --json 2>/dev/null) || return 1
	[[ $(jq '[.[] | select(.dag_id == "cycle_two" or .dag_id == "was_unreadable")] | length' <<<"$l") == 2 ]]
}
wait_until 15 "cycle_two and was_unreadable to appear in dags list" listed
for id in cycle_two was_unreadable; do
	rc=0
	timeout 60 "$SWARMFLOW_BIN" dags trigger "$id" --run-id fixed --wait || rc=$?
	assert_eq 0 "$rc" "exit code of dags trigger $id --wait (fixed while the scheduler runs)"
done
sf_run tasks logs cycle_two fixed b
assert_contains "$OUT" "b after a" "log of cycle_two's task b"
sf_run tasks logs was_unreadable fixed t
assert_contains "$OUT" "readable now" "log of was_unreadable's task"
alive

step "(c) after the changes: one more line for each changed file, none for the others"
stray="$D/syntax_stray_word.dag"
said_again() { [[ $(log_count "$stray" file) == 2 ]]; }
wait_until 10 "the scheduler to name $stray again" said_again
grep -F -e "file=$stray " "$sched_log" | tail -n 1 | grep -qF -e ": 6: dag 'stray_word': no such option 'oops_again'" ||
	fail "the scheduler's log does not give stray_word's new error"
for f in cycle_two.dag unreadable.dag; do
	assert_eq 1 "$(grep -cF -e "dag file valid again file=$D/$f " "$sched_log" || true)" \
		"'valid again' lines for $f"
done
# Let a few more reload ticks go by: still one line per change.
sleep 3
check_log_again() {
	local want=1
	[[ $1 == "$stray" ]] && want=2
	assert_eq "$want" "$(log_count "$1" "$3")" "lines naming $1 in the scheduler's log"
}
for_rows check_log_again
alive

step "SIGTERM the scheduler"
kill -TERM "$sched_pid"
rc=0
wait "$sched_pid" || rc=$?
assert_eq 0 "$rc" "exit code of the scheduler after SIGTERM"

step "dags list --json lists good_one once, from the file that defines it first"
# zz_duplicate_good_one.dag defines good_one again: that copy is not in use (dags list without
# --json and the scheduler use good_one.dag's) and must not be listed as a DAG either.
list=$(list_json)
assert_eq "$D/good_one.dag" "$(jq -r '[.[] | select(.dag_id == "good_one") | .file] | join(" ")' <<<"$list")" \
	"files of DAG good_one in dags list --json"
printf 'case time %d s\n' $((SECONDS - case_start))
