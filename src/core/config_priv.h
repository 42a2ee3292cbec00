/* config_priv.h - what config.c and config_keys.c share: the key table, its values and names. */
#ifndef SWARMFLOW_CORE_CONFIG_PRIV_H
#define SWARMFLOW_CORE_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarmflow/common/util.h"
#include "swarmflow/core/config.h"

#define NAME_MAX_LEN 63 /* instance and pool names: a Docker label value and name part */

enum kind { KIND_STR, KIND_INT, KIND_FLOAT, KIND_BOOL, KIND_SIZE, KIND_DURATION, KIND_LIST };
enum section { SEC_ROOT, SEC_POLICY, SEC_POOL };

/* Checks a string (or one list item); returns what is wrong with it, or NULL when fine. */
typedef const char *(*str_check)(const char *s);

/* One configuration key: where it lives, how it is parsed and checked. The same entry serves
 * the file (libconfuse validation callbacks) and the SWARMFLOW_<KEY> environment overrides. */
struct key {
	enum section section;
	const char *name;
	enum kind kind;
	size_t offset;     /* in struct config, struct policy or struct pool */
	double min, max;   /* KIND_INT and KIND_FLOAT bounds; KIND_DURATION's when max > 0 */
	bool min_excluded; /* KIND_FLOAT: min itself is not allowed */
	bool empty_null;   /* KIND_STR: "" stores NULL (unset) */
	str_check check;   /* KIND_STR and each KIND_LIST item */
};

/* The number of rows of config_keys[], known here so that config.c can size its libconfuse
 * schema at compile time (config_keys.c fails to build when the two disagree). */
#define CONFIG_N_KEYS 25

/* Every key of swarmflow.conf (config_keys.c). */
extern const struct key config_keys[CONFIG_N_KEYS];

/* A parsed value on its way into the config; owns str and list. */
struct value {
	char *str;
	int64_t i;
	double f;
	bool b;
	struct strv list;
};

/* True when s is 1 to max characters of [A-Za-z0-9_.-]. */
bool config_name_valid(const char *s, size_t max);

/* The key called name in section, or NULL when there is none. */
const struct key *config_key_find(enum section section, const char *name);

/* The key as the user wrote it: "parallelism", "policy.max_cpus", "pool.gpu.slots" (pool: the
 * pool's name, used only for a SEC_POOL key). Caller frees. */
char *config_key_name(const struct key *k, const char *pool);
/* "SWARMFLOW_PARALLELISM", "SWARMFLOW_POLICY_MAX_CPUS". Caller frees. */
char *config_key_env_name(const struct key *k);

/* Parses s for key k into *v (zeroed first). A list is given comma-separated ("/srv,/data"):
 * items are trimmed and empty ones dropped. On error returns false with *msg (caller frees). */
bool config_value_parse(const struct key *k, const char *s, struct value *v, char **msg);
/* Checks one list item and appends it to v->list. */
bool config_value_list_add(const struct key *k, const char *item, struct value *v, char **msg);
/* Frees what v owns and zeroes it. */
void config_value_finish(struct value *v);
/* Moves *v into the field of k in base (struct config, policy or pool). */
void config_value_store(const struct key *k, void *base, struct value *v);

#endif
