/* output.h - data between tasks (pure): a try's output from its stdout, what a branch chose, a
 * short circuit, and the elements a mapped task expands over. */
#ifndef SWARMFLOW_CORE_OUTPUT_H
#define SWARMFLOW_CORE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/dag.h"

/* The largest output a try may have, in bytes (64 KiB): a larger one fails the try. */
#define OUTPUT_MAX (64 * 1024)
/* The start of a stdout line that `output = "marked"` keeps (one space after it is dropped). */
#define OUTPUT_MARKER "::output::"

/* Reads a try's stdout as it arrives, line by line, keeping only what the mode needs: the last
 * non-empty line, or the marked values. Memory stays under twice OUTPUT_MAX whatever the size of
 * the stream. Zero-initialised fields are private. */
struct output_scan {
	enum output_mode mode;
	struct buf line;  /* the line being read (its first OUTPUT_MAX + marker bytes) */
	size_t line_len;  /* its whole length */
	bool line_text;   /* the line has a byte that is not blank (kept or not) */
	size_t n_values;  /* marked: the values so far (an empty one counts) */
	struct buf value; /* last_line: the last non-empty line; marked: the values so far */
	size_t value_len; /* the whole length of the value (may be over OUTPUT_MAX) */
};

void output_scan_init(struct output_scan *o, enum output_mode mode);
/* Feeds len bytes of stdout. */
void output_scan_feed(struct output_scan *o, const void *data, size_t len);
/* Ends the stream (a last line without '\n' counts) and returns the output (caller frees; ""
 * when there is none), or NULL with *err set when it is over OUTPUT_MAX ("the output is N
 * bytes, over the cap of 65536 bytes (64 KiB)"), holds a NUL byte or is not valid UTF-8 text.
 * Frees what the scan held either way. */
char *output_scan_finish(struct output_scan *o, char **err);

/* The task ids a branch task chose: its output as a JSON array of strings, else one id per
 * non-empty line (blanks around it trimmed). Fills *out (empty: nothing chosen). False with *err
 * set when the output is a JSON array holding something other than strings. */
bool output_branch_parse(const char *output, struct strv *out, char **err);

/* True when a short_circuit task's output stops its downstream: empty (blanks only) or "false"
 * in any case. */
bool output_is_false(const char *output);

/* The elements of an expand value: a JSON array's elements when value parses as one, else one
 * string per line that is not blank (a trailing '\r' dropped). Returns a new array. */
json_t *output_expand_items(const char *value);

/* The elements of a mapped task from its rendered expand values (n of them, see struct task):
 * one value is read with output_expand_items, several are one element each. Returns a new
 * array. */
json_t *output_expand_values(const char *const *values, size_t n);

/* An output as an element of outputs_json: its JSON value when it parses as JSON, else the
 * string; null for none. Returns a new reference. */
json_t *output_as_json(const char *output);

#endif
