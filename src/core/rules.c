/* rules.c - trigger rules and run outcome: what the upstream states mean for a task. */
#include "swarmflow/core/rules.h"

void upstream_counts_add(struct upstream_counts *c, enum ti_state s)
{
	c->total++;
	switch (s) {
	case TI_SUCCESS:
		c->success++;
		break;
	case TI_FAILED:
		c->failed++;
		break;
	case TI_UPSTREAM_FAILED:
		c->upstream_failed++;
		break;
	case TI_SKIPPED:
		c->skipped++;
		break;
	case TI_REMOVED:
		c->removed++;
		break;
	default:
		return;
	}
	c->done++;
}

static enum rule_verdict all_success(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_UPSTREAM_FAILED;
	if (c->done < c->total)
		return RULE_WAIT;
	return c->skipped ? RULE_SKIP : RULE_RUN;
}

static enum rule_verdict all_failed(const struct upstream_counts *c)
{
	if (c->success || c->skipped)
		return RULE_SKIP;
	return c->done < c->total ? RULE_WAIT : RULE_RUN;
}

static enum rule_verdict one_success(const struct upstream_counts *c)
{
	if (c->success)
		return RULE_RUN;
	if (c->done < c->total)
		return RULE_WAIT;
	return c->failed + c->upstream_failed == c->total ? RULE_UPSTREAM_FAILED : RULE_SKIP;
}

static enum rule_verdict one_failed(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_RUN;
	return c->done < c->total ? RULE_WAIT : RULE_SKIP;
}

static enum rule_verdict none_failed(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_UPSTREAM_FAILED;
	return c->done < c->total ? RULE_WAIT : RULE_RUN;
}

enum rule_verdict trigger_rule_evaluate(enum trigger_rule rule, const struct upstream_counts *c)
{
	if (c->total == 0 || rule == TRIGGER_ALWAYS)
		return RULE_RUN;
	switch (rule) {
	case TRIGGER_ALL_SUCCESS:
		return all_success(c);
	case TRIGGER_ALL_FAILED:
		return all_failed(c);
	case TRIGGER_ALL_DONE:
		return c->done < c->total ? RULE_WAIT : RULE_RUN;
	case TRIGGER_ONE_SUCCESS:
		return one_success(c);
	case TRIGGER_ONE_FAILED:
		return one_failed(c);
	case TRIGGER_NONE_FAILED:
		return none_failed(c);
	case TRIGGER_ALWAYS:
		break;
	}
	return RULE_RUN;
}

enum run_state run_outcome(const enum ti_state *leaf_states, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (leaf_states[i] == TI_FAILED || leaf_states[i] == TI_UPSTREAM_FAILED)
			return RUN_FAILED;
	return RUN_SUCCESS;
}
