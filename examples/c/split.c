/*
 * Prices an hour of an 8-GPU node from the built-in catalog, then splits that cost over
 * five teams by their token volume through an allocation spec, and prints each team's
 * share. The same split runs once more on the columnar fast path.
 *
 *   split
 */
#include <stdio.h>
#include <string.h>

#include <apportion.h>

static int check(int status, const char *what) {
  if (status != APN_OK) fprintf(stderr, "%s failed (%d): %s\n", what, status, apn_last_error());
  return status == APN_OK;
}

/* Copies the string value of the first "key" at or after `from` into buf; returns the
 * position after it, or NULL. Enough for the result document, not a JSON parser. */
static const char *string_after(const char *from, const char *key, char *buf, size_t size) {
  char quoted[64];
  const char *p, *end;
  size_t n;
  sprintf(quoted, "\"%s\"", key);
  p = strstr(from, quoted);
  if (p == NULL) return NULL;
  p += strlen(quoted);
  while (*p == ' ' || *p == ':') ++p;
  if (*p != '"') return NULL;
  end = strchr(++p, '"');
  if (end == NULL) return NULL;
  n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return end + 1;
}

int main(void) {
  static const char *const teams[] = {"nlp", "cv", "platform", "research", "product"};
  static const int64_t tokens[] = {4000000, 2500000, 1500000, 1200000, 800000};
  const apn_catalog *catalog = NULL;
  char *rate = NULL, *cost = NULL, *pool = NULL, *result = NULL;
  char spec[2048], team[64], amount[64];
  size_t result_len = 0, i;
  uint32_t group_ids[5];
  int64_t cents[5];
  const char *p;
  int ok = 0;

  printf("apportion %s\n", apn_version_string());
  if (!check(apn_catalog_builtin(&catalog), "apn_catalog_builtin") ||
      !check(apn_catalog_rate_at(&rate, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z"),
             "apn_catalog_rate_at") ||
      !check(apn_catalog_cost(&cost, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T10:00:00Z",
                              "2026-06-02T11:00:00Z"),
             "apn_catalog_cost") ||
      !check(apn_money_format(&pool, cost, "USD"), "apn_money_format"))
    goto done;
  printf("8 x spheron/h100-sxm5 at %s/GPU-hour for one hour: %s USD\n", rate, pool);

  sprintf(spec,
          "{\"apportion\": 1, \"currency\": \"USD\","
          " \"pools\": [{\"id\": \"node-hour\", \"cost\": \"%s\"}],"
          " \"records\": ["
          "{\"tags\": {\"team\": \"nlp\"}, \"measures\": {\"tokens_prompt\": 3000000, \"tokens_generation\": 1000000}},"
          "{\"tags\": {\"team\": \"cv\"}, \"measures\": {\"tokens_prompt\": 2000000, \"tokens_generation\": 500000}},"
          "{\"tags\": {\"team\": \"platform\"}, \"measures\": {\"tokens_prompt\": 1000000, \"tokens_generation\": 500000}},"
          "{\"tags\": {\"team\": \"research\"}, \"measures\": {\"tokens_prompt\": 1000000, \"tokens_generation\": 200000}},"
          "{\"tags\": {\"team\": \"product\"}, \"measures\": {\"tokens_prompt\": 600000, \"tokens_generation\": 200000}}],"
          " \"steps\": [{\"id\": \"tenants\", \"strategy\": \"per_tenant\", \"pool\": \"node-hour\"}]}",
          pool);
  if (!check(apn_run_json(spec, strlen(spec), &result, &result_len), "apn_run_json")) goto done;
  printf("split by tokens (apn_run_json):\n");
  for (p = strstr(result, "\"lines\""); p != NULL && (p = string_after(p, "team", team, sizeof team)) != NULL;) {
    if ((p = string_after(p, "cost", amount, sizeof amount)) == NULL) break;
    printf("  %-10s %8s\n", team, amount);
  }

  /* The columnar path takes integer group ids and weights, and gives amounts in cents. */
  for (i = 0; i < 5; ++i) group_ids[i] = (uint32_t)i;
  if (!check(apn_split_columnar(cents, pool, "0.01", group_ids, tokens, 5, 5), "apn_split_columnar")) goto done;
  printf("split by tokens (apn_split_columnar, in cents):\n");
  for (i = 0; i < 5; ++i) printf("  %-10s %8lld\n", teams[i], (long long)cents[i]);
  ok = 1;

done:
  apn_free(rate);
  apn_free(cost);
  apn_free(pool);
  apn_free(result);
  return ok ? 0 : 1;
}
