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

/* Airflow's one_success: runs at the first success; all done without one: upstream_failed,
 * unless every upstream was skipped. */
static enum rule_verdict one_success(const struct upstream_counts *c)
{
	if (c->success)
		return RULE_RUN;
	if (c->done < c->total)
		return RULE_WAIT;
	return c->skipped == c->total ? RULE_SKIP : RULE_UPSTREAM_FAILED;
}

static enum rule_verdict one_failed(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_RUN;
	return c->done < c->total ? RULE_WAIT : RULE_SKIP;
}

/* Airflow's one_done: runs at the first success or failure; all done without either: skipped. */
static enum rule_verdict one_done(const struct upstream_counts *c)
{
	if (c->success || c->failed)
		return RULE_RUN;
	return c->done < c->total ? RULE_WAIT : RULE_SKIP;
}

static enum rule_verdict none_failed(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_UPSTREAM_FAILED;
	return c->done < c->total ? RULE_WAIT : RULE_RUN;
}

/* none_failed, and skipped when no upstream succeeded (all skipped, or removed). */
static enum rule_verdict none_failed_min_one_success(const struct upstream_counts *c)
{
	if (c->failed || c->upstream_failed)
		return RULE_UPSTREAM_FAILED;
	if (c->done < c->total)
		return RULE_WAIT;
	return c->success ? RULE_RUN : RULE_SKIP;
}

/* Skipped at the first skipped upstream; runs when all are done without one. */
static enum rule_verdict none_skipped(const struct upstream_counts *c)
{
	if (c->skipped)
		return RULE_SKIP;
	return c->done < c->total ? RULE_WAIT : RULE_RUN;
}

/* Skipped at the first upstream that ran (success, failed or upstream_failed). */
static enum rule_verdict all_skipped(const struct upstream_counts *c)
{
	if (c->success || c->failed || c->upstream_failed)
		return RULE_SKIP;
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
	case TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
		return none_failed_min_one_success(c);
	case TRIGGER_NONE_SKIPPED:
		return none_skipped(c);
	case TRIGGER_ALL_SKIPPED:
		return all_skipped(c);
	case TRIGGER_ONE_DONE:
		return one_done(c);
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

enum ti_state ti_states_summary(const enum ti_state *states, size_t n)
{
	static const enum ti_state order[] = {
	    TI_FAILED, TI_UPSTREAM_FAILED, TI_UP_FOR_RETRY, TI_QUEUED,  TI_SCHEDULED, TI_RUNNING,
	    TI_NONE,   TI_SUCCESS,         TI_SKIPPED,      TI_REMOVED,
	};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < n; i++)
			if (states[i] == order[k])
				return order[k];
	return TI_NONE;
}
