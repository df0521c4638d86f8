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
 * - Nothing thrown inside the library crosses the ABI: a C++ exception becomes a status.
 *
 * Thread safety
 *
 * - Every function may be called concurrently from any number of threads.
 * - apn_catalog: immutable once loaded. One handle may be read from many threads at once
 *   (rate_at, cost, to_json); apn_catalog_free() must not race with any use of it.
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
 *   "format":   "json" (default: the result document), "table", "csv", "focus" (FOCUS 1.3
 *               allocated charges as CSV) or "markdown", as `apportion run --format`
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
 * APN_ESPEC for an unknown format or option, or an unreadable row. */
APN_API int apn_ingest(char **out, size_t *out_len, const char *format, const char *text, size_t text_len,
                       const char *options_json, const char *source);

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
