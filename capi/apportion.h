/*
 * apportion.h: the stable C ABI of apportion (libapportion).
 *
 * Plain C99; includes only <stddef.h> and <stdint.h>. Every function is prefixed `apn_`,
 * module then verb (`apn_catalog_load_json`), and the shared library exports nothing else.
 *
 * Conventions
 *
 * - Status codes. Every function that can fail returns `int`: APN_OK (0) or a negative
 *   value of `apn_status`. The numbers of `apn_status` never change: a code may be added,
 *   none is ever renumbered or reused.
 * - Error messages. After a failed call, apn_last_error() gives this thread's message
 *   for it, starting with where the problem is (`records[3].measures.gpu_seconds: ...`).
 * - Outputs first. Output parameters come first; a single one is called `out`. On failure
 *   every output pointer that was given is set to NULL (amount arrays are left unspecified).
 * - NULL. Any pointer argument that is NULL gives APN_EINVAL, never a crash, except for
 *   the `apn_*_free` functions, which accept NULL and do nothing.
 * - Exact numbers cross the ABI as text: amounts, rates, weights and units are decimal
 *   strings in JSON number syntax ("12.50", "1.5e-07"), read exactly, never through binary
 *   floating point, held to 12 fractional digits within about +-1.7e26.
 * - Ownership. Every string or array a function returns is the caller's and is freed with
 *   the function its documentation names: apn_free() for a `char *`, apn_strings_free()
 *   for a `char **` array, apn_catalog_free() for a catalog. All of them accept NULL.
 *   The one exception is a `const char *` an apn_result_* accessor gives: it belongs to the
 *   result and lives until apn_result_free(), so reading a million lines copies nothing.
 * - Nothing thrown inside the library crosses the ABI: a C++ exception becomes a status.
 *
 * Thread safety
 *
 * - Every function may be called concurrently from any number of threads.
 * - apn_catalog: immutable once loaded. One handle may be read from many threads at once
 *   (rate_at, cost, to_json); apn_catalog_free() must not race with any use of it.
 * - apn_batch: built by one thread (new, set_pool, add_*); once built, any number of
 *   threads may run it at once (apn_run only reads it). Freeing it, or changing it or the
 *   arrays it borrows, must not race with a run that uses it.
 * - apn_result: immutable once made. One handle may be read from many threads at once
 *   (every apn_result_* accessor, to_json); apn_result_free() must not race with any use.
 * - Returned strings and arrays belong to the caller: one thread at a time, as for any
 *   malloc'd memory.
 * - apn_last_error() is per thread: a failure in one thread never changes another's.
 */
#ifndef APPORTION_C_API_H
#define APPORTION_C_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(APN_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define APN_API __attribute__((visibility("default")))
#else
#define APN_API
#endif

/* ---- Versions --------------------------------------------------------------------- */

/* The version of this header. apn_version_number() gives the library's, so a program can
 * detect that it runs against another library than it was compiled with. */
#define APN_VERSION_MAJOR 0
#define APN_VERSION_MINOR 1
#define APN_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch: compares in release order. */
#define APN_VERSION_NUMBER (APN_VERSION_MAJOR * 10000 + APN_VERSION_MINOR * 100 + APN_VERSION_PATCH)
#define APN_VERSION_STRING "0.1.0"

/* The library's APN_VERSION_NUMBER. */
APN_API int apn_version_number(void);
/* The library's APN_VERSION_STRING; static storage, never freed. */
APN_API const char *apn_version_string(void);

/* ---- Status codes and errors ------------------------------------------------------ */

/* Returned by every function that can fail. These values never change. */
typedef enum apn_status {
  APN_OK = 0,
  APN_EINVAL = -1,     /* a bad argument: NULL, an enum out of range, a negative weight,
                          an amount that is not a multiple of its unit, ... */
  APN_EPARSE = -2,     /* text that is not a valid decimal, timestamp or currency amount */
  APN_ESPEC = -3,      /* an invalid spec or catalog document, or nothing to split by
                          (weights that sum to zero) */
  APN_EOVERFLOW = -4,  /* a value beyond the range the library holds exactly */
  APN_ECURRENCY = -5,  /* not an ISO 4217 currency code, or currencies that do not match */
  APN_ENOPRICE = -6,   /* the catalog has no such SKU, or no price for it at that time */
  APN_ENOMEM = -7,     /* out of memory */
  APN_EIO = -8,        /* a file cannot be read */
  APN_EINTERNAL = -99  /* a broken invariant inside the library: please report it */
} apn_status;

/* The message of the last failed call on this thread ("" when none has failed). The
 * pointer stays valid until the next apn_ call on this thread; never freed. */
APN_API const char *apn_last_error(void);

/* Frees a string returned by this library. NULL does nothing. */
APN_API void apn_free(void *p);

/* Frees an array of `n` strings returned by this library (apn_money_allocate), and each
 * string in it. NULL does nothing. */
APN_API void apn_strings_free(char **parts, size_t n);

/* ---- The spec runner -------------------------------------------------------------- */

/* Runs one allocation spec (JSON text of `spec_len` bytes, see docs/spec.md) and gives
 * the result document as NUL-terminated JSON in *out, its length without the NUL in
 * *out_len; free *out with apn_free(). Relative `inputs` paths are read from the working
 * directory. An invalid spec is APN_ESPEC with a message that starts with the JSON path of
 * the offending value; on any error *out is NULL and *out_len 0. */
APN_API int apn_run_json(const char *spec, size_t spec_len, char **out, size_t *out_len);

/* As apn_run_json, with options: `options_json` is a JSON object, or NULL for the defaults,
 * of
 *   "base_dir": the folder relative `inputs` paths are read from (default ".");
 *   "live_sources": false refuses inputs that read a server (`url`), for a service that
 *               runs specs it is sent (default true; docs/ingest.md, "Live sources");
 *   "format":   "json" (default: the result document), "table", "csv", "focus" (FOCUS 1.3
 *               allocated charges as CSV), "markdown" or "prometheus" (text exposition
 *               for node_exporter's textfile collector), as `apportion run --format`
 *               prints them (docs/output-formats.md);
 *   "limits":   an object of limits against resource exhaustion, each a positive whole
 *               number (a JSON number or decimal string): "max_spec_bytes", "max_depth",
 *               "max_string_bytes", "max_records", "max_pools", "max_steps",
 *               "max_groups_per_step", "max_inputs", "max_input_bytes" (docs/errors.md
 *               lists their defaults).
 * Input past a limit is APN_ESPEC ("records: more than 1,000 records (limit max_records;
 * ...)"); an unknown or bad option is APN_ESPEC naming it ("options.limits.max_rows: ...").
 * Free *out with apn_free(); on any error *out is NULL and *out_len 0. */
APN_API int apn_run_json_opts(char **out, size_t *out_len, const char *spec, size_t spec_len,
                              const char *options_json);

/* The new alerts of a spec's budgets and anomalies (docs/alerts.md): runs the spec as
 * apn_run_json_opts does and renders the alerts that fired and were not fired before, as
 * NUL-terminated text in *out, its length without the NUL in *out_len; free *out with
 * apn_free(). Nothing is sent anywhere: a "slack" payload is for the caller to post.
 * `options_json` is a JSON object, or NULL for the defaults, of
 *   "format":        "text" (default: one block per alert, "no new alerts" when none),
 *                    "json" ({"alerts": [...]}) or "slack" (a Block Kit message payload);
 *   "already_fired": a list of alert keys fired by earlier checks, which do not fire again
 *                    (the keys are in the "json" format's alerts; keep them between checks);
 *   "base_dir", "limits": as for apn_run_json_opts.
 * A spec without budgets or anomalies has no alerts: "no new alerts\n" in text, {"alerts": []}
 * in JSON, a payload saying so in Slack; APN_OK. An
 * invalid spec or option is APN_ESPEC with a message that starts with its path
 * ("options.format: ..."); on any error *out is NULL and *out_len 0. */
APN_API int apn_alerts_json(char **out, size_t *out_len, const char *spec, size_t spec_len,
                            const char *options_json);

/* Writes the training costs of a spec's priced runs back to MLflow (docs/ingest.md,
 * "Costs written back to MLflow"): runs the spec as apn_run_json_opts does, then, for every
 * run a per_experiment step priced (a record tagged run_id, as the mlflow input tags them),
 * writes the metrics training_cost_<currency>, gpu_hours and cost_per_epoch (when the run
 * has an epochs metric or param) and apportion.* tags with the exact decimals to `target`:
 * an MLflow file store's folder (or a file:// URI of it) or a tracking server's http(s)://
 * address. A second call with the same spec writes nothing new; a changed price writes a
 * new point. The report is NUL-terminated JSON in *out, its length without the NUL in
 * *out_len ({"target", "runs": [{"run_id", "step", "cost", "gpu_hours", "cost_per_epoch",
 * "metrics_written", "tags_written"}], "not_logged", "points_written", "warnings"}); free *out with
 * apn_free(). `options_json` is a JSON object, or NULL, of
 *   "spec_name":        the text of the tag apportion.spec (default: none written);
 *   "bearer_token_env": the environment variable holding a server's token (default
 *                       MLFLOW_TRACKING_TOKEN, when set);
 *   "base_dir", "limits", "live_sources": as for apn_run_json_opts.
 * A bad spec, option or target is APN_ESPEC with a message that starts with where it is;
 * on any error *out is NULL and *out_len 0. */
APN_API int apn_log_to_mlflow(char **out, size_t *out_len, const char *spec, size_t spec_len, const char *options_json,
                              const char *target);

/* A showback report of one allocation spec (docs/report.md): runs the spec as
 * apn_run_json_opts does and gives one self-contained HTML page (inline CSS, SVG and a
 * table sorter, nothing fetched) as NUL-terminated UTF-8 in *out, its length without the NUL in
 * *out_len; free *out with apn_free(). `options_json` is a JSON object, or NULL, of
 *   "title":        the page title (default "Cost showback");
 *   "generated_at": text shown under the title (default none: the bytes depend on the
 *                   spec alone);
 *   "base_dir", "limits": as for apn_run_json_opts.
 * An invalid spec or option is APN_ESPEC with a message that starts with its path
 * ("options.title: ..."); on any error *out is NULL and *out_len 0. */
APN_API int apn_report_html(char **out, size_t *out_len, const char *spec, size_t spec_len,
                            const char *options_json);

/* Reads `text` (the whole content of a file, `text_len` bytes) in input format `format`
 * ("csv", "sacct", "litellm-spend", ...; see docs/ingest.md) and writes what it yields as
 * spec JSON ({"records": [...]}, {"pools": [...]} or {"catalog": {...}}, decimals exact)
 * to *out and its length to *out_len; free *out with apn_free(). `options_json` is a JSON
 * object of the format's options ("{\"sku\": \"onprem/h100\"}"), or NULL for none;
 * `source` names the input in messages ("jobs.txt line 7: ..."), or NULL for "input".
 * APN_ESPEC for an unknown format or option, or an unreadable row.
 * With `text` NULL and a "url" among the options, the input is read from a live Prometheus
 * or OpenCost server instead (docs/ingest.md, "Live sources"): an unreachable server or an
 * error answer is APN_ESPEC naming the address (never a token). */
APN_API int apn_ingest(char **out, size_t *out_len, const char *format, const char *text, size_t text_len,
                       const char *options_json, const char *source);

/* ---- Records as columns, and results without JSON --------------------------------- */

/* Records held as columns (a DataFrame, Arrow arrays, plain C arrays), read by apn_run as if
 * appended to the spec's own `records`, with the same checks and through the same plan, so
 * they cost what the steps read, never a JSON text or an object per row (docs/c-api.md).
 * Row i of a batch is element i of every column: its tags are the tag columns whose code is
 * not -1, its measures the measure columns that have a value, its pool the batch's pool.
 *
 * Ownership: the per-row arrays (codes, values, present) are borrowed, never copied: they
 * must stay alive and unchanged until the batch is freed, or at least until the last
 * apn_run given it has returned. Every string (source, pool, keys, names and dictionary
 * values) is copied by the call that takes it. Build a batch in one thread; once built, any
 * number of threads may pass it to apn_run at once. Destroy with apn_batch_free(). */
typedef struct apn_batch apn_batch;

/* A new batch of `rows` rows and no columns yet. `source` names its rows in messages
 * ("usage row 3: ..."; rows count from 0 as C arrays do), or NULL for "batch": give each
 * batch its own when a run takes several. Free *out with apn_batch_free(). */
APN_API int apn_batch_new(apn_batch **out, size_t rows, const char *source);

/* Destroys a batch. NULL does nothing. The results of runs given it stay valid. */
APN_API void apn_batch_free(apn_batch *batch);

/* Sets the pool of every row (a spec's `pool` of a record), or NULL for none: the rows then
 * take part in every step their tags select, as a record without a pool does. */
APN_API int apn_batch_set_pool(apn_batch *batch, const char *pool);

/* Adds a tag column: row i has the tag `key` = dictionary[codes[i]], or no `key` tag when
 * codes[i] is -1 (pandas' code for a missing categorical). `n_codes` must equal the
 * batch's rows and every code be -1 or below `n_dictionary`, which apn_run checks, naming
 * the column ("batches[0].tags[1]: has 2 codes for 3 rows") or the row ("batch row 1: team:
 * code 2 is not below the dictionary's 2 values"). `dictionary` may be NULL when
 * n_dictionary is 0, `codes` when n_codes is 0. */
APN_API int apn_batch_add_tags(apn_batch *batch, const char *key, const char *const *dictionary, size_t n_dictionary,
                               const int32_t *codes, size_t n_codes);

/* Adds a measure column: row i measures `name` = values[i] / 10^scale (scale 0 to 12, the
 * fractional digits: 1234 at scale 2 is 12.34), exactly; or has no `name` measure where
 * `present` (NULL: every row has a value) holds 0. `values` and `present` hold `n_values`
 * elements, which must equal the batch's rows. A negative value, a scale out of range and
 * a length that is not the rows are refused by apn_run, naming the row or the column. */
APN_API int apn_batch_add_measure(apn_batch *batch, const char *name, const int64_t *values, size_t n_values, int scale,
                                  const uint8_t *present);

/* The result of one run, held as the engine made it: read its lines through the accessors
 * below without parsing JSON, or render it with apn_result_to_json. Immutable: one handle
 * may be read from many threads at once. Every `const char *` an accessor gives belongs to
 * the result and stays valid until apn_result_free(); never free it. */
typedef struct apn_result apn_result;

/* What a line is: a group's share, or the part of a pool that settles overhead, idle or
 * unallocated capacity (the result document's "kind"). Values never change. */
typedef enum apn_line_kind {
  APN_LINE_ALLOCATED = 0,
  APN_LINE_OVERHEAD = 1,
  APN_LINE_IDLE = 2,
  APN_LINE_UNALLOCATED = 3
} apn_line_kind;

/* Runs one allocation spec (JSON text of `spec_len` bytes) with the records of `n_batches`
 * batches read after its own `records` (and before its `inputs`), in the order given, and
 * gives the result in *out; free it with apn_result_free(). `options_json` is a JSON
 * object of "base_dir" and "limits", as for apn_run_json_opts (max_records counts the
 * batches' rows with the spec's records), or NULL; the result is rendered afterwards, so
 * "format" is refused. `batches` may be NULL when n_batches is 0. The spec must still say
 * "records" (an empty list is fine). A bad spec, option or batch is APN_ESPEC with a
 * message that starts with where it is ("batches[0].measures[1]: ...", "usage row 7: ...");
 * on any error *out is NULL. */
APN_API int apn_run(apn_result **out, const char *spec, size_t spec_len, const char *options_json,
                    const apn_batch *const *batches, size_t n_batches);

/* Destroys a result, and every string its accessors gave. NULL does nothing. */
APN_API void apn_result_free(apn_result *result);

/* The result document as NUL-terminated JSON in *out, its length without the NUL in
 * *out_len: the same bytes apn_run_json_opts gives for the same spec with the batches'
 * rows written as its records. Free *out with apn_free(). */
APN_API int apn_result_to_json(char **out, size_t *out_len, const apn_result *result);

/* The result's currency, an ISO 4217 code ("USD"). */
APN_API int apn_result_currency(const char **out, const apn_result *result);

/* The number of pools, and pool i's id and cost (decimal text with the precision's digits,
 * "31.36"), in result order. APN_EINVAL for i out of range. */
APN_API int apn_result_pool_count(size_t *out, const apn_result *result);
APN_API int apn_result_pool(const char **out_id, const char **out_cost, const apn_result *result, size_t pool);

/* The number of lines, in result order (each step's lines in turn, as "lines" in JSON). */
APN_API int apn_result_line_count(size_t *out, const apn_result *result);

/* Line i's step id; its pool (*out NULL for a line of a step that prices runs); its kind;
 * and its cost, rounded, as decimal text with the precision's digits ("12.55", "-3.10"),
 * the text of its "cost" in JSON. APN_EINVAL for i out of range
 * ("line: 7 is not below the result's 7 lines"). */
APN_API int apn_result_line_step(const char **out, const apn_result *result, size_t line);
APN_API int apn_result_line_pool(const char **out, const apn_result *result, size_t line);
APN_API int apn_result_line_kind(apn_line_kind *out, const apn_result *result, size_t line);
APN_API int apn_result_line_cost(const char **out, const apn_result *result, size_t line);

/* Under a series (docs/series.md), line i's bucket: its start and end as
 * "YYYY-MM-DDTHH:MM:SSZ", the texts of its "bucket" in JSON; both NULL, with APN_OK, for a
 * result without a series. */
APN_API int apn_result_line_bucket(const char **out_start, const char **out_end, const apn_result *result, size_t line);

/* Line i's tags: how many; tag t's key and value, by key in byte order; and the value of
 * `key` (*out NULL when the line has no such tag, with APN_OK). */
APN_API int apn_result_line_tag_count(size_t *out, const apn_result *result, size_t line);
APN_API int apn_result_line_tag(const char **out_key, const char **out_value, const apn_result *result, size_t line,
                                size_t tag);
APN_API int apn_result_line_tag_value(const char **out, const apn_result *result, size_t line, const char *key);

/* What ran but looks wrong (a step in which no record took part), each message starting
 * with the path it is about: how many, and message i. The same as the JSON's "warnings". */
APN_API int apn_result_warning_count(size_t *out, const apn_result *result);
APN_API int apn_result_warning(const char **out, const apn_result *result, size_t warning);

/* ---- Money: exact decimal amounts as text ---------------------------------------- */

/* How a value between two multiples of a unit is rounded. Named as in Python's decimal
 * module: `up` and `down` are away from and toward zero. Values never change. */
typedef enum apn_rounding {
  APN_ROUND_HALF_EVEN = 0,
  APN_ROUND_HALF_UP = 1,
  APN_ROUND_DOWN = 2,
  APN_ROUND_UP = 3,
  APN_ROUND_FLOOR = 4,
  APN_ROUND_CEILING = 5
} apn_rounding;

/* Checks `amount` as an amount of `currency` (an ISO 4217 code such as "USD") and gives
 * its canonical text, the shortest exact form: "12.50" -> "12.5", "1.5e2" -> "150".
 * Free *out with apn_free(). APN_EPARSE for bad text, APN_ECURRENCY for a bad code. */
APN_API int apn_money_parse(char **out, const char *amount, const char *currency);

/* `amount` with exactly the currency's minor digits, rounded half-even: ("12.5", "USD")
 * -> "12.50", ("1234.5", "JPY") -> "1234". Free *out with apn_free(). */
APN_API int apn_money_format(char **out, const char *amount, const char *currency);

/* The exact sum a + b of two amounts of `currency`, as canonical text. Free *out with
 * apn_free(). APN_EOVERFLOW when the sum is beyond the range. */
APN_API int apn_money_add(char **out, const char *a, const char *b, const char *currency);

/* `amount` rounded to a multiple of the positive `unit` ("0.01", "0.05", "1") by `mode`,
 * written with the unit's fractional digits: ("2.345", "0.01", HALF_EVEN) -> "2.34".
 * Free *out with apn_free(). */
APN_API int apn_money_round(char **out, const char *amount, const char *unit, apn_rounding mode);

/* Splits `amount` (a multiple of the positive `unit`) by `n` non-negative decimal
 * `weights` into n parts, multiples of `unit` that sum exactly to `amount`: every part
 * takes the floor of its exact share and the units left over go one each to the largest
 * fractional remainders, ties to the larger weight, then to the lower index. A negative
 * amount is split as its magnitude and negated. Parts are written with the unit's
 * fractional digits. *out_parts is an array of n strings: free it with
 * apn_strings_free(*out_parts, n). Weights that sum to zero (or n = 0) are APN_ESPEC. */
APN_API int apn_money_allocate(char ***out_parts, const char *amount, const char *const *weights, size_t n,
                               const char *unit);

/* ---- Columnar split --------------------------------------------------------------- */

/* The fast path for many rows: splits `pool` (decimal text, a multiple of the positive
 * `unit`) over `n_groups` groups by the summed weights of their rows.
 *
 * Row i belongs to group group_ids[i] (each below n_groups) and weighs weights[i], a
 * non-negative fixed-point integer (any common scale: only proportions matter). Group
 * sums are exact (128-bit accumulation). The pool is then split exactly like
 * apn_money_allocate: floors, then leftover units by largest remainder, ties to the larger
 * weight, then the lower group id. out_amounts[g] receives group g's amount in units of
 * `unit`, so for pool "100.00" and unit "0.01" the n_groups amounts sum to 10000; a group
 * with no rows gets 0. out_amounts must hold n_groups values.
 *
 * APN_EINVAL for a NULL pointer, n_groups = 0, a group id out of range, a negative weight
 * or a pool that is not a multiple of the unit; APN_ESPEC when all weights are zero (or
 * there are no rows); APN_EOVERFLOW when the pool in units does not fit an int64_t. */
APN_API int apn_split_columnar(int64_t *out_amounts, const char *pool, const char *unit, const uint32_t *group_ids,
                               const int64_t *weights, size_t n_rows, size_t n_groups);

/* ---- Partial aggregates ------------------------------------------------------------ */

/* An exact, mergeable aggregate of records: for each distinct (pool, tag set) the exact sum
 * of every measure and the number of rows, so memory grows with the groups, not the rows.
 * Aggregate shards anywhere (other threads, processes, machines: see serialize), merge them
 * in any order, and the records come out the same. One handle must not be used by two
 * threads at once while one of them changes it (add_row, merge); destroy with
 * apn_aggregate_free(). */
typedef struct apn_aggregate apn_aggregate;

/* A new, empty aggregate. Free *out with apn_aggregate_free(). */
APN_API int apn_aggregate_new(apn_aggregate **out);

/* Destroys an aggregate. NULL does nothing. */
APN_API void apn_aggregate_free(apn_aggregate *aggregate);

/* Adds one row: its `pool` (NULL: none, a record for every step), `n_tags` tags (keys
 * unique) and `n_measures` measures (names unique; values non-negative decimal text). The
 * row is added whole or not at all. APN_EPARSE for a value that is not a decimal,
 * APN_EINVAL for a negative one or a repeated key, APN_EOVERFLOW when a sum leaves the
 * decimal range. */
APN_API int apn_aggregate_add_row(apn_aggregate *aggregate, const char *pool, const char *const *tag_keys,
                                  const char *const *tag_values, size_t n_tags, const char *const *measure_names,
                                  const char *const *measure_values, size_t n_measures);

/* Adds every group of `other` to `into` (`other` is unchanged). APN_EOVERFLOW when a sum
 * would leave the decimal range; `into` is then unchanged. */
APN_API int apn_aggregate_merge(apn_aggregate *into, const apn_aggregate *other);

/* The aggregate as compact, exact, versioned bytes (binary: may hold NUL bytes) in *out,
 * their count in *out_len; free *out with apn_free(). */
APN_API int apn_aggregate_serialize(char **out, size_t *out_len, const apn_aggregate *aggregate);

/* An aggregate read back from apn_aggregate_serialize's bytes. Free *out with
 * apn_aggregate_free(). APN_EINVAL for bytes that are not such a serialization. */
APN_API int apn_aggregate_deserialize(apn_aggregate **out, const char *bytes, size_t len);

/* The records, one per group, as spec JSON ({"records": [...]}, sums exact), sorted by pool
 * then tags, to put into a spec; its length without the NUL in *out_len. `source` names the
 * rows in record origins ("usage.csv (aggregated: 1,234 rows)"), or NULL for "aggregate".
 * Free *out with apn_free(). */
APN_API int apn_aggregate_to_json(char **out, size_t *out_len, const apn_aggregate *aggregate, const char *source);

/* The number of groups and of rows added so far. */
APN_API int apn_aggregate_stats(size_t *out_groups, uint64_t *out_rows, const apn_aggregate *aggregate);

/* ---- Pricing catalogs ------------------------------------------------------------- */

/* A set of SKUs with effective-dated prices by tier (docs/spec.md, "Catalog").
 * Immutable once loaded: share one handle between threads freely. Destroy with
 * apn_catalog_free(), except the built-in catalog, which is never freed. */
typedef struct apn_catalog apn_catalog;

/* Reads a catalog document ({"skus": [...]}) of `len` bytes. Free *out with
 * apn_catalog_free(). APN_ESPEC for an invalid document (message with the JSON path). */
APN_API int apn_catalog_load_json(apn_catalog **out, const char *json, size_t len);

/* Reads a catalog document from a file. APN_EIO when it cannot be read. Free *out with
 * apn_catalog_free(). */
APN_API int apn_catalog_load_file(apn_catalog **out, const char *path);

/* The catalog of public list prices shipped with the library. Borrowed: it lives as long
 * as the program, and must not be passed to apn_catalog_free() (which ignores it). */
APN_API int apn_catalog_builtin(const apn_catalog **out);

/* Destroys a catalog from apn_catalog_load_json/_file. NULL and the built-in catalog are
 * ignored. No other thread may be using the handle. */
APN_API void apn_catalog_free(apn_catalog *catalog);

/* The rate of `sku` in `tier` ("on_demand", "spot", ...) in force at `at` (RFC 3339,
 * "2026-06-02T10:00:00Z"), as canonical decimal text per the SKU's unit. Free *out_rate
 * with apn_free(). APN_ENOPRICE for an unknown SKU or no price at that moment,
 * APN_EPARSE for a bad timestamp. */
APN_API int apn_catalog_rate_at(char **out_rate, const apn_catalog *catalog, const char *sku, const char *tier,
                                const char *at);

/* `count` units (GPUs, instances; decimal text) of an hourly `sku` over [start, end)
 * (RFC 3339), time-weighted across price changes, with no billing granularity. The exact
 * cost is rounded half-even to 12 fractional digits and written as canonical text. Free
 * *out_cost with apn_free(). APN_ENOPRICE when some moment has no price; APN_EINVAL for a
 * SKU not priced per hour or a negative count; APN_EPARSE for an end before the start. */
APN_API int apn_catalog_cost(char **out_cost, const apn_catalog *catalog, const char *sku, const char *tier,
                             const char *count, const char *start, const char *end);

/* The catalog as a JSON document that apn_catalog_load_json reads back. Free *out with
 * apn_free(). */
APN_API int apn_catalog_to_json(char **out, const apn_catalog *catalog);

#ifdef __cplusplus
}
#endif

#endif /* APPORTION_C_API_H */
