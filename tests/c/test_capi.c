/*
 * Tests of the C ABI, written in C99 and compiled with -std=c99 -Wall -Wextra -pedantic
 * -Werror, so they also prove that apportion.h is plain C. Prints "N passed, M failed"
 * and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L /* pthreads, for the thread-safety test */

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apportion.h>

static int passed, failed;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (cond) {                                                         \
      ++passed;                                                         \
    } else {                                                            \
      ++failed;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                   \
  } while (0)

/* A status, with the error message shown when it is not the expected one. */
#define CHECK_STATUS(call, expected)                                                       \
  do {                                                                                     \
    int status_ = (call);                                                                  \
    if (status_ == (expected)) {                                                           \
      ++passed;                                                                            \
    } else {                                                                               \
      ++failed;                                                                            \
      fprintf(stderr, "%s:%d: %s returned %d, expected %d (last error: %s)\n", __FILE__, __LINE__, #call, \
              status_, (int)(expected), apn_last_error());                                 \
    }                                                                                      \
  } while (0)

#define CHECK_STR(actual, expected)                                                               \
  do {                                                                                            \
    const char *a_ = (actual), *e_ = (expected);                                                  \
    if (a_ != NULL && strcmp(a_, e_) == 0) {                                                      \
      ++passed;                                                                                   \
    } else {                                                                                      \
      ++failed;                                                                                   \
      fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", e_); \
    }                                                                                             \
  } while (0)

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }
static int contains(const char *s, const char *part) { return s != NULL && strstr(s, part) != NULL; }

/* The seed case seed-tenant-token-split from the spec's cases. */
static const char seed_spec[] =
    "{\"apportion\": 1, \"currency\": \"USD\","
    " \"pools\": [{\"id\": \"vllm-node-hour\", \"cost\": \"31.36\", \"tags\": {\"cluster\": \"inference\"}}],"
    " \"records\": ["
    "  {\"tags\": {\"team\": \"nlp\"}, \"measures\": {\"tokens_prompt\": 3000000, \"tokens_generation\": 1000000}},"
    "  {\"tags\": {\"team\": \"cv\"}, \"measures\": {\"tokens_prompt\": 2000000, \"tokens_generation\": 500000}},"
    "  {\"tags\": {\"team\": \"platform\"}, \"measures\": {\"tokens_prompt\": 1000000, \"tokens_generation\": 500000}},"
    "  {\"tags\": {\"team\": \"research\"}, \"measures\": {\"tokens_prompt\": 1000000, \"tokens_generation\": 200000}},"
    "  {\"tags\": {\"team\": \"product\"}, \"measures\": {\"tokens_prompt\": 600000, \"tokens_generation\": 200000}}],"
    " \"steps\": [{\"id\": \"tenants\", \"strategy\": \"per_tenant\", \"pool\": \"vllm-node-hour\"}]}";

/* The catalog example of the spec, plus a price change and a token-priced SKU. */
static const char catalog_json[] =
    "{\"skus\": ["
    " {\"id\": \"spheron/h100-sxm5\", \"unit\": \"gpu_hour\", \"billing\": \"per_second\", \"minimum_seconds\": 0,"
    "  \"prices\": [{\"tier\": \"on_demand\", \"rate\": \"3.92\", \"from\": \"2026-06-02T00:00:00Z\"},"
    "             {\"tier\": \"on_demand\", \"rate\": \"4.00\", \"from\": \"2026-06-03T00:00:00Z\"},"
    "             {\"tier\": \"spot\", \"rate\": \"2.91\"}]},"
    " {\"id\": \"llm/tokens\", \"unit\": \"million_tokens\", \"prices\": [{\"rate\": \"0.6\"}]}]}";

/* A copy of JSON text without the whitespace between tokens, so it can be searched for
 * `"cost":"12.55"` however the result is laid out. Free with free(). */
static char *compact(const char *json) {
  char *out = malloc(strlen(json) + 1), *w = out;
  int in_string = 0;
  if (out == NULL) return NULL;
  for (; *json; ++json) {
    if (in_string) {
      *w++ = *json;
      if (*json == '\\' && json[1]) *w++ = *++json;
      else if (*json == '"') in_string = 0;
    } else if (*json == '"') {
      *w++ = *json;
      in_string = 1;
    } else if (*json != ' ' && *json != '\n' && *json != '\t' && *json != '\r') {
      *w++ = *json;
    }
  }
  *w = '\0';
  return out;
}

/* The value of "cost" in the first line whose tags are {"team": team}, or NULL. */
static char *line_cost(const char *result, const char *team, char *buf, size_t size) {
  char tags[64];
  const char *p, *end;
  sprintf(tags, "{\"team\":\"%s\"}", team);
  p = strstr(result, tags);
  if (p == NULL) return NULL;
  p = strstr(p, "\"cost\":\"");
  if (p == NULL) return NULL;
  p += strlen("\"cost\":\"");
  end = strchr(p, '"');
  if (end == NULL || (size_t)(end - p) >= size) return NULL;
  memcpy(buf, p, (size_t)(end - p));
  buf[end - p] = '\0';
  return buf;
}

static void test_version(void) {
  CHECK(apn_version_number() == APN_VERSION_NUMBER);
  CHECK(APN_VERSION_NUMBER == APN_VERSION_MAJOR * 10000 + APN_VERSION_MINOR * 100 + APN_VERSION_PATCH);
  CHECK_STR(apn_version_string(), APN_VERSION_STRING);
}

static void test_status_values(void) {
  /* The numbers are part of the ABI. */
  CHECK(APN_OK == 0 && APN_EINVAL == -1 && APN_EPARSE == -2 && APN_ESPEC == -3 && APN_EOVERFLOW == -4);
  CHECK(APN_ECURRENCY == -5 && APN_ENOPRICE == -6 && APN_ENOMEM == -7 && APN_EIO == -8 && APN_EINTERNAL == -99);
  CHECK(APN_ROUND_HALF_EVEN == 0 && APN_ROUND_HALF_UP == 1 && APN_ROUND_DOWN == 2 && APN_ROUND_UP == 3 &&
        APN_ROUND_FLOOR == 4 && APN_ROUND_CEILING == 5);
}

static void test_free_accepts_null(void) {
  apn_free(NULL);
  apn_strings_free(NULL, 0);
  apn_strings_free(NULL, 3);
  apn_catalog_free(NULL);
  apn_batch_free(NULL);
  apn_result_free(NULL);
  CHECK(1);
}

static void test_run_json(void) {
  char *out = (char *)1, *result, cost[32];
  size_t len = 99;
  CHECK_STATUS(apn_run_json(seed_spec, strlen(seed_spec), &out, &len), APN_OK);
  CHECK(out != NULL && len == strlen(out));
  result = out != NULL ? compact(out) : NULL;
  CHECK(result != NULL && starts_with(result, "{\"apportion\":1"));
  if (result != NULL) {
    CHECK_STR(line_cost(result, "nlp", cost, sizeof cost), "12.55");
    CHECK_STR(line_cost(result, "cv", cost, sizeof cost), "7.84");
    CHECK_STR(line_cost(result, "platform", cost, sizeof cost), "4.70");
    CHECK_STR(line_cost(result, "product", cost, sizeof cost), "2.51");
    CHECK_STR(line_cost(result, "research", cost, sizeof cost), "3.76");
  }
  free(result);
  apn_free(out);

  /* The length is honoured: trailing bytes past spec_len are never read. */
  {
    char padded[sizeof seed_spec + 8];
    memcpy(padded, seed_spec, strlen(seed_spec));
    memcpy(padded + strlen(seed_spec), "garbage", 8);
    CHECK_STATUS(apn_run_json(padded, strlen(seed_spec), &out, &len), APN_OK);
    apn_free(out);
  }

  /* Not JSON: line and column; *out NULL and *out_len 0. */
  out = (char *)1;
  len = 99;
  CHECK_STATUS(apn_run_json("{\"apportion\": ", 14, &out, &len), APN_ESPEC);
  CHECK(out == NULL && len == 0);
  CHECK(starts_with(apn_last_error(), "line 1, column"));

  /* A spec error names the JSON path. */
  {
    const char *bad = "{\"apportion\": 1, \"pools\": [], \"records\": [{\"tags\": {}, \"pool\": \"nope\"}], \"steps\": []}";
    CHECK_STATUS(apn_run_json(bad, strlen(bad), &out, &len), APN_ESPEC);
    CHECK(out == NULL);
    CHECK(starts_with(apn_last_error(), "records[0].pool"));
  }
  {
    const char *neg =
        "{\"apportion\": 1, \"pools\": [{\"id\": \"p\", \"cost\": \"1\"}],"
        " \"records\": [{\"tags\": {\"team\": \"a\"}, \"measures\": {\"gpu_seconds\": \"-5\"}}],"
        " \"steps\": [{\"id\": \"s\", \"strategy\": \"proportional\", \"pool\": \"p\", \"group_by\": [\"team\"],"
        " \"weight\": \"gpu_seconds\"}]}";
    CHECK_STATUS(apn_run_json(neg, strlen(neg), &out, &len), APN_ESPEC);
    CHECK(contains(apn_last_error(), "records[0].measures.gpu_seconds"));
  }

  /* NULL arguments. */
  CHECK_STATUS(apn_run_json(NULL, 0, &out, &len), APN_EINVAL);
  CHECK(out == NULL && len == 0);
  CHECK_STR(apn_last_error(), "spec: must not be NULL");
  CHECK_STATUS(apn_run_json(seed_spec, strlen(seed_spec), NULL, &len), APN_EINVAL);
  CHECK_STR(apn_last_error(), "out: must not be NULL");
  out = (char *)1;
  CHECK_STATUS(apn_run_json(seed_spec, strlen(seed_spec), &out, NULL), APN_EINVAL);
  CHECK(out == NULL);
  CHECK_STATUS(apn_run_json(NULL, 0, NULL, NULL), APN_EINVAL);
}

/* apn_alerts_json: budgets and an anomaly over three teams; keys fired before are passed in. */
static const char alerts_spec[] =
    "{\"apportion\": 1, \"pools\": [{\"id\": \"cluster\", \"cost\": \"1200.00\"}],"
    " \"records\": [{\"tags\": {\"team\": \"nlp\"}, \"measures\": {\"gpu_seconds\": 700}},"
    "               {\"tags\": {\"team\": \"cv\"}, \"measures\": {\"gpu_seconds\": 300}},"
    "               {\"tags\": {\"team\": \"rl\"}, \"measures\": {\"gpu_seconds\": 10}}],"
    " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"cluster\","
    "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}],"
    " \"budgets\": [{\"id\": \"team-nlp\", \"tags\": {\"team\": \"nlp\"},"
    "               \"spend\": {\"step\": \"teams\", \"tags\": {\"team\": \"nlp\"}}, \"amount\": \"1000\","
    "               \"period\": {\"month\": \"2026-06\"}, \"thresholds\": [\"0.8\", \"1\"]}],"
    " \"anomalies\": [{\"id\": \"teams\", \"lines\": {\"step\": \"teams\"}, \"threshold\": \"2\"}]}";

/* apn_report_html: one self-contained page; the title is escaped; a bad option names itself. */
static void test_report_html(void) {
  char *out = (char *)1;
  size_t len = 99;
  CHECK_STATUS(apn_report_html(&out, &len, alerts_spec, strlen(alerts_spec), "{\"title\": \"Q2 <draft>\"}"), APN_OK);
  CHECK(out != NULL && len == strlen(out));
  CHECK(out != NULL && starts_with(out, "<!DOCTYPE html>"));
  CHECK(contains(out, "Q2 &lt;draft&gt;") && !contains(out, "<script src") && contains(out, "<svg"));
  CHECK(contains(out, "$831.68"));
  apn_free(out);
  CHECK_STATUS(apn_report_html(&out, &len, alerts_spec, strlen(alerts_spec), "{\"titel\": 1}"), APN_ESPEC);
  CHECK(out == NULL && len == 0);
  CHECK(starts_with(apn_last_error(), "options.titel"));

  /* The other renderings of apn_run_json_opts: FOCUS allocated charges, markdown and
   * Prometheus text exposition. */
  CHECK_STATUS(apn_run_json_opts(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"focus\"}"), APN_OK);
  CHECK(out != NULL && contains(out, "AllocatedMethodId") && contains(out, "proportional:teams"));
  apn_free(out);
  CHECK_STATUS(apn_run_json_opts(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"markdown\"}"), APN_OK);
  CHECK(out != NULL && contains(out, "| 831.68 |"));
  apn_free(out);
  CHECK_STATUS(apn_run_json_opts(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"prometheus\"}"), APN_OK);
  CHECK(out != NULL && contains(out, "# TYPE apportion_allocated_cost gauge\n") && contains(out, "} 831.68\n"));
  apn_free(out);
  CHECK_STATUS(apn_run_json_opts(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"pdf\"}"), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "options.format: must be json, table, csv, focus, markdown or prometheus"));
  {
    /* A service running specs it is sent turns live sources off: no address is asked. */
    const char *live = "{\"apportion\": 1, \"currency\": \"USD\", \"pools\": [{\"id\": \"p\", \"cost\": \"1\"}], "
                       "\"records\": [], \"steps\": [], \"inputs\": [{\"format\": \"dcgm\", \"url\": \"http://10.0.0.1\"}]}";
    CHECK_STATUS(apn_run_json_opts(&out, &len, live, strlen(live), "{\"live_sources\": false}"), APN_ESPEC);
    CHECK(strncmp(apn_last_error(), "inputs[0].url: live sources are turned off here", 47) == 0);
  }
}

static void test_alerts_json(void) {
  char *out = (char *)1;
  size_t len = 99;
  const char *text_start = "Budget team-nlp: 80% threshold crossed (warning)\n  Spend:";

  /* Text by default (NULL options), one block per alert. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), NULL), APN_OK);
  CHECK(out != NULL && len == strlen(out));
  CHECK(out != NULL && starts_with(out, text_start));
  CHECK(contains(out, "\n\nAnomaly in teams: team=nlp cost 2.33"));
  CHECK(contains(out, "  Key:        teams/team=nlp\n"));
  apn_free(out);

  /* JSON: the keys of both alerts. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"json\"}"), APN_OK);
  CHECK(out != NULL && starts_with(out, "{\n  \"alerts\": [\n"));
  CHECK(contains(out, "\"key\": \"team-nlp/2026-06/0.8\""));
  CHECK(contains(out, "\"key\": \"teams/team=nlp\""));
  CHECK(contains(out, "\"Spend\": \"831.68 USD\""));
  apn_free(out);

  /* Slack: a Block Kit payload. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"slack\"}"), APN_OK);
  CHECK(out != NULL && starts_with(out, "{\n  \"text\": \"apportion: 2 new alerts (2 warning)\",\n  \"blocks\": ["));
  CHECK(contains(out, "\"type\": \"header\""));
  CHECK(contains(out, "\"text\": \"*Spend*\\n831.68 USD\""));
  apn_free(out);

  /* Keys fired before do not fire again: one suppressed, then both. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec),
                               "{\"format\": \"json\", \"already_fired\": [\"teams/team=nlp\"]}"),
               APN_OK);
  CHECK(contains(out, "team-nlp/2026-06/0.8") && !contains(out, "teams/team=nlp"));
  apn_free(out);
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec),
                               "{\"already_fired\": [\"teams/team=nlp\", \"team-nlp/2026-06/0.8\"]}"),
               APN_OK);
  CHECK_STR(out, "no new alerts\n");
  apn_free(out);
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec),
                               "{\"format\": \"json\", \"already_fired\": [\"teams/team=nlp\", \"team-nlp/2026-06/0.8\"]}"),
               APN_OK);
  CHECK_STR(out, "{\n  \"alerts\": []\n}\n");
  apn_free(out);

  /* A spec without governance has nothing to alert on. */
  CHECK_STATUS(apn_alerts_json(&out, &len, seed_spec, strlen(seed_spec), "{\"format\": \"text\"}"), APN_OK);
  CHECK_STR(out, "no new alerts\n");
  apn_free(out);

  /* Limits and base_dir as apn_run_json_opts takes them. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec),
                               "{\"base_dir\": \".\", \"limits\": {\"max_records\": 10}}"),
               APN_OK);
  apn_free(out);
  out = (char *)1;
  len = 99;
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"limits\": {\"max_records\": 2}}"),
               APN_ESPEC);
  CHECK(out == NULL && len == 0);
  CHECK(starts_with(apn_last_error(), "records"));

  /* Bad options and specs: APN_ESPEC naming the path. */
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": \"html\"}"), APN_ESPEC);
  CHECK(out == NULL && len == 0);
  CHECK_STR(apn_last_error(), "options.format: must be text, json or slack (got \"html\")");
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"already_fired\": \"x\"}"), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "options.already_fired: "));
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"already_fired\": [1]}"), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "options.already_fired[0]: "));
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"state\": []}"), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "options.state: "));
  CHECK_STATUS(apn_alerts_json(&out, &len, alerts_spec, strlen(alerts_spec), "{\"format\": "), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "line 1, column"));
  {
    const char *bad = "{\"apportion\": 1, \"pools\": [], \"records\": [], \"steps\": [],"
                      " \"budgets\": [{\"id\": \"b\", \"spend\": {\"step\": \"nope\"}, \"amount\": \"1\","
                      " \"period\": {\"month\": \"2026-06\"}}]}";
    CHECK_STATUS(apn_alerts_json(&out, &len, bad, strlen(bad), NULL), APN_ESPEC);
    CHECK(out == NULL);
    CHECK(starts_with(apn_last_error(), "budgets[0].spend.step"));
  }

  /* NULL arguments. */
  out = (char *)1;
  CHECK_STATUS(apn_alerts_json(&out, &len, NULL, 0, NULL), APN_EINVAL);
  CHECK(out == NULL && len == 0);
  CHECK_STR(apn_last_error(), "spec: must not be NULL");
  CHECK_STATUS(apn_alerts_json(NULL, &len, alerts_spec, strlen(alerts_spec), NULL), APN_EINVAL);
  CHECK_STR(apn_last_error(), "out: must not be NULL");
  out = (char *)1;
  CHECK_STATUS(apn_alerts_json(&out, NULL, alerts_spec, strlen(alerts_spec), NULL), APN_EINVAL);
  CHECK(out == NULL);
  CHECK_STR(apn_last_error(), "out_len: must not be NULL");
}

static void test_last_error_persists(void) {
  char *out = NULL;
  CHECK_STATUS(apn_money_parse(&out, "12.x", "USD"), APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "amount: "));
  /* A success leaves the last failure's message in place. */
  CHECK_STATUS(apn_money_parse(&out, "1", "USD"), APN_OK);
  apn_free(out);
  CHECK(starts_with(apn_last_error(), "amount: "));
}

static void test_money_parse_format_add(void) {
  char *out = (char *)1;
  CHECK_STATUS(apn_money_parse(&out, "12.50", "USD"), APN_OK);
  CHECK_STR(out, "12.5");
  apn_free(out);
  CHECK_STATUS(apn_money_parse(&out, "1.5e2", "EUR"), APN_OK);
  CHECK_STR(out, "150");
  apn_free(out);
  CHECK_STATUS(apn_money_parse(&out, "-0.000000000001", "USD"), APN_OK);
  CHECK_STR(out, "-0.000000000001");
  apn_free(out);
  out = (char *)1;
  CHECK_STATUS(apn_money_parse(&out, "abc", "USD"), APN_EPARSE);
  CHECK(out == NULL);
  CHECK_STATUS(apn_money_parse(&out, "NaN", "USD"), APN_EPARSE);
  CHECK_STATUS(apn_money_parse(&out, "0.0000000000001", "USD"), APN_EPARSE);
  CHECK_STATUS(apn_money_parse(&out, "1e30", "USD"), APN_EOVERFLOW);
  CHECK(starts_with(apn_last_error(), "amount: "));
  CHECK_STATUS(apn_money_parse(&out, "1", "ZZZ"), APN_ECURRENCY);
  CHECK(starts_with(apn_last_error(), "currency: "));
  CHECK_STATUS(apn_money_parse(&out, "1", "usd"), APN_ECURRENCY);
  CHECK_STATUS(apn_money_parse(NULL, "1", "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_parse(&out, NULL, "USD"), APN_EINVAL);
  CHECK_STR(apn_last_error(), "amount: must not be NULL");
  CHECK_STATUS(apn_money_parse(&out, "1", NULL), APN_EINVAL);
  CHECK_STR(apn_last_error(), "currency: must not be NULL");

  CHECK_STATUS(apn_money_format(&out, "12.5", "USD"), APN_OK);
  CHECK_STR(out, "12.50");
  apn_free(out);
  CHECK_STATUS(apn_money_format(&out, "1234.5", "JPY"), APN_OK);
  CHECK_STR(out, "1234");
  apn_free(out);
  CHECK_STATUS(apn_money_format(&out, "1.0005", "KWD"), APN_OK);
  CHECK_STR(out, "1.000");
  apn_free(out);
  CHECK_STATUS(apn_money_format(&out, "-0.125", "EUR"), APN_OK);
  CHECK_STR(out, "-0.12");
  apn_free(out);
  CHECK_STATUS(apn_money_format(&out, "x", "USD"), APN_EPARSE);
  CHECK_STATUS(apn_money_format(&out, "1", "QQQ"), APN_ECURRENCY);
  CHECK_STATUS(apn_money_format(NULL, "1", "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_format(&out, NULL, "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_format(&out, "1", NULL), APN_EINVAL);

  CHECK_STATUS(apn_money_add(&out, "0.1", "0.2", "USD"), APN_OK);
  CHECK_STR(out, "0.3");
  apn_free(out);
  CHECK_STATUS(apn_money_add(&out, "10", "-12.345", "USD"), APN_OK);
  CHECK_STR(out, "-2.345");
  apn_free(out);
  out = (char *)1;
  CHECK_STATUS(apn_money_add(&out, "1e26", "1e26", "USD"), APN_EOVERFLOW);
  CHECK(out == NULL);
  CHECK_STATUS(apn_money_add(&out, "1", "y", "USD"), APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "b: "));
  CHECK_STATUS(apn_money_add(&out, "1", "2", "ABC"), APN_ECURRENCY);
  CHECK_STATUS(apn_money_add(NULL, "1", "2", "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_add(&out, NULL, "2", "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_add(&out, "1", NULL, "USD"), APN_EINVAL);
  CHECK_STATUS(apn_money_add(&out, "1", "2", NULL), APN_EINVAL);
}

static void test_money_round(void) {
  static const char *const positive[] = {"2.34", "2.35", "2.34", "2.35", "2.34", "2.35"};
  static const char *const negative[] = {"-2.34", "-2.35", "-2.34", "-2.35", "-2.35", "-2.34"};
  char *out = (char *)1;
  int mode;
  for (mode = APN_ROUND_HALF_EVEN; mode <= APN_ROUND_CEILING; ++mode) {
    CHECK_STATUS(apn_money_round(&out, "2.345", "0.01", (apn_rounding)mode), APN_OK);
    CHECK_STR(out, positive[mode]);
    apn_free(out);
    CHECK_STATUS(apn_money_round(&out, "-2.345", "0.01", (apn_rounding)mode), APN_OK);
    CHECK_STR(out, negative[mode]);
    apn_free(out);
  }
  CHECK_STATUS(apn_money_round(&out, "2.355", "0.01", APN_ROUND_HALF_EVEN), APN_OK);
  CHECK_STR(out, "2.36");
  apn_free(out);
  CHECK_STATUS(apn_money_round(&out, "2.3", "0.01", APN_ROUND_UP), APN_OK);
  CHECK_STR(out, "2.30");
  apn_free(out);
  CHECK_STATUS(apn_money_round(&out, "7.3", "0.05", APN_ROUND_HALF_EVEN), APN_OK);
  CHECK_STR(out, "7.30");
  apn_free(out);
  CHECK_STATUS(apn_money_round(&out, "1234.5", "1", APN_ROUND_HALF_EVEN), APN_OK);
  CHECK_STR(out, "1234");
  apn_free(out);
  out = (char *)1;
  CHECK_STATUS(apn_money_round(&out, "1", "0.01", (apn_rounding)6), APN_EINVAL);
  CHECK(out == NULL);
  CHECK(starts_with(apn_last_error(), "mode: "));
  CHECK_STATUS(apn_money_round(&out, "1", "0.01", (apn_rounding)-1), APN_EINVAL);
  CHECK_STATUS(apn_money_round(&out, "1", "0", APN_ROUND_HALF_EVEN), APN_EINVAL);
  CHECK(starts_with(apn_last_error(), "unit: must be positive"));
  CHECK_STATUS(apn_money_round(&out, "1", "-0.01", APN_ROUND_HALF_EVEN), APN_EINVAL);
  CHECK_STATUS(apn_money_round(&out, "1", "cent", APN_ROUND_HALF_EVEN), APN_EPARSE);
  CHECK_STATUS(apn_money_round(&out, "170141183460469231731687303.7", "1", APN_ROUND_UP), APN_EOVERFLOW);
  CHECK_STATUS(apn_money_round(NULL, "1", "0.01", APN_ROUND_HALF_EVEN), APN_EINVAL);
  CHECK_STATUS(apn_money_round(&out, NULL, "0.01", APN_ROUND_HALF_EVEN), APN_EINVAL);
  CHECK_STATUS(apn_money_round(&out, "1", NULL, APN_ROUND_HALF_EVEN), APN_EINVAL);
}

static void test_money_allocate(void) {
  static const char *const thirds[] = {"1", "1", "1"};
  static const char *const uneven[] = {"0.5", "0", "2.5", "1"};
  static const char *const zeros[] = {"0", "0"};
  static const char *const negative[] = {"1", "-1"};
  static const char *const bad[] = {"1", "x"};
  static const char *const with_null[] = {"1", NULL};
  char **parts = (char **)1;

  CHECK_STATUS(apn_money_allocate(&parts, "100.00", thirds, 3, "0.01"), APN_OK);
  CHECK(parts != NULL);
  if (parts != NULL) {
    CHECK_STR(parts[0], "33.34");
    CHECK_STR(parts[1], "33.33");
    CHECK_STR(parts[2], "33.33");
  }
  apn_strings_free(parts, 3);

  /* A credit splits like the same cost, negated. */
  CHECK_STATUS(apn_money_allocate(&parts, "-100", thirds, 3, "0.01"), APN_OK);
  if (parts != NULL) {
    CHECK_STR(parts[0], "-33.34");
    CHECK_STR(parts[2], "-33.33");
  }
  apn_strings_free(parts, 3);

  /* 10 by 0.5 : 0 : 2.5 : 1 is 1.25, 0, 6.25, 2.5: both .25 remainders tie, the larger
   * weight (2.5) wins the leftover unit. */
  CHECK_STATUS(apn_money_allocate(&parts, "10", uneven, 4, "0.1"), APN_OK);
  if (parts != NULL) {
    CHECK_STR(parts[0], "1.2");
    CHECK_STR(parts[1], "0.0");
    CHECK_STR(parts[2], "6.3");
    CHECK_STR(parts[3], "2.5");
  }
  apn_strings_free(parts, 4);

  parts = (char **)1;
  CHECK_STATUS(apn_money_allocate(&parts, "10", zeros, 2, "0.01"), APN_ESPEC);
  CHECK(parts == NULL);
  CHECK(starts_with(apn_last_error(), "weights: "));
  CHECK_STATUS(apn_money_allocate(&parts, "10", thirds, 0, "0.01"), APN_ESPEC);
  CHECK_STATUS(apn_money_allocate(&parts, "10", negative, 2, "0.01"), APN_EINVAL);
  CHECK(starts_with(apn_last_error(), "weights[1]: must not be negative"));
  CHECK_STATUS(apn_money_allocate(&parts, "10", bad, 2, "0.01"), APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "weights[1]: "));
  CHECK_STATUS(apn_money_allocate(&parts, "10", with_null, 2, "0.01"), APN_EINVAL);
  CHECK_STR(apn_last_error(), "weights[1]: must not be NULL");
  CHECK_STATUS(apn_money_allocate(&parts, "10.005", thirds, 3, "0.01"), APN_EINVAL);
  CHECK(contains(apn_last_error(), "not a multiple of the unit"));
  CHECK_STATUS(apn_money_allocate(&parts, "10", thirds, 3, "0"), APN_EINVAL);
  CHECK_STATUS(apn_money_allocate(NULL, "10", thirds, 3, "0.01"), APN_EINVAL);
  CHECK_STATUS(apn_money_allocate(&parts, NULL, thirds, 3, "0.01"), APN_EINVAL);
  CHECK_STATUS(apn_money_allocate(&parts, "10", NULL, 3, "0.01"), APN_EINVAL);
  CHECK_STATUS(apn_money_allocate(&parts, "10", thirds, 3, NULL), APN_EINVAL);
  CHECK(parts == NULL);
}

static void test_split_columnar(void) {
  const uint32_t groups[] = {0, 1, 2, 0, 1, 2, 0};
  const int64_t weights[] = {1, 1, 1, 0, 0, 0, 0};
  const uint32_t tie_groups[] = {0, 1, 2, 3};
  const int64_t tie_weights[] = {1, 2, 2, 1};
  int64_t amounts[5];

  CHECK_STATUS(apn_split_columnar(amounts, "100.00", "0.01", groups, weights, 7, 3), APN_OK);
  CHECK(amounts[0] == 3334 && amounts[1] == 3333 && amounts[2] == 3333);

  /* Remainders tie: 1 unit by 1:2:2:1 is 1/6, 2/6, 2/6, 1/6; the larger weight, then
   * the lower id, wins. A group without rows gets 0. */
  CHECK_STATUS(apn_split_columnar(amounts, "1", "1", tie_groups, tie_weights, 4, 5), APN_OK);
  CHECK(amounts[0] == 0 && amounts[1] == 1 && amounts[2] == 0 && amounts[3] == 0 && amounts[4] == 0);
  CHECK_STATUS(apn_split_columnar(amounts, "-2", "1", tie_groups, tie_weights, 4, 4), APN_OK);
  CHECK(amounts[0] == 0 && amounts[1] == -1 && amounts[2] == -1 && amounts[3] == 0);

  /* Weights near 2^63 sum past 64 bits: the wide path. */
  {
    const uint32_t g[] = {0, 0, 1, 2};
    const int64_t w[] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    CHECK_STATUS(apn_split_columnar(amounts, "1000", "0.01", g, w, 4, 3), APN_OK);
    CHECK(amounts[0] == 50000 && amounts[1] == 25000 && amounts[2] == 25000);
    CHECK_STATUS(apn_split_columnar(amounts, "1", "0.01", g + 1, w, 3, 3), APN_OK);
    CHECK(amounts[0] == 34 && amounts[1] == 33 && amounts[2] == 33);
  }

  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups + 3, weights + 3, 4, 3), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "weights: all zero"));
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, weights, 0, 3), APN_ESPEC);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, weights, 7, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "group_ids[2]: 2 is not below n_groups (2)");
  {
    const int64_t neg[] = {1, -1};
    CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, neg, 2, 3), APN_EINVAL);
    CHECK_STR(apn_last_error(), "weights[1]: must not be negative (got -1)");
  }
  CHECK_STATUS(apn_split_columnar(amounts, "100.001", "0.01", groups, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, "1e20", "0.01", groups, weights, 7, 3), APN_EOVERFLOW);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, weights, 7, 0), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, weights, 7, (size_t)-1), APN_ENOMEM);
  CHECK_STATUS(apn_split_columnar(amounts, "x", "0.01", groups, weights, 7, 3), APN_EPARSE);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0", groups, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(NULL, "100", "0.01", groups, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, NULL, "0.01", groups, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, "100", NULL, groups, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", NULL, weights, 7, 3), APN_EINVAL);
  CHECK_STATUS(apn_split_columnar(amounts, "100", "0.01", groups, NULL, 7, 3), APN_EINVAL);
}

/* Random rows: the columnar split agrees with apn_money_allocate over the group sums and
 * always sums to the pool. */
static void test_split_columnar_matches_allocate(void) {
  enum { rows = 500, max_groups = 9 };
  static uint32_t groups[rows];
  static int64_t weights[rows];
  unsigned long seed = 12345;
  int round_, all_ok = 1;
  for (round_ = 0; round_ < 200 && all_ok; ++round_) {
    size_t n_groups = 1 + (size_t)(round_ % max_groups), i;
    int64_t amounts[max_groups], sums[max_groups] = {0}, total = 0;
    char sum_text[max_groups][24];
    const char *sum_ptrs[max_groups];
    char **parts = NULL;
    const char *pool = (round_ % 3 == 0) ? "-1234.57" : (round_ % 3 == 1 ? "0.07" : "99999.99");
    for (i = 0; i < rows; ++i) {
      seed = seed * 1103515245UL + 12345UL;
      groups[i] = (uint32_t)((seed >> 16) % n_groups);
      weights[i] = (round_ % 2) ? (int64_t)((seed >> 8) % 7) : (int64_t)((seed >> 4) % 1000003);
      sums[groups[i]] += weights[i];
    }
    for (i = 0; i < n_groups; ++i) {
      sprintf(sum_text[i], "%lld", (long long)sums[i]);
      sum_ptrs[i] = sum_text[i];
    }
    if (apn_split_columnar(amounts, pool, "0.01", groups, weights, rows, n_groups) != APN_OK ||
        apn_money_allocate(&parts, pool, sum_ptrs, n_groups, "0.01") != APN_OK) {
      fprintf(stderr, "round %d: %s\n", round_, apn_last_error());
      all_ok = 0;
      break;
    }
    for (i = 0; i < n_groups; ++i) {
      char *cents = NULL;
      /* parts[i] in cents, through the exact path: parts[i] * 100 has no fraction. */
      long long expected = 0;
      if (apn_money_round(&cents, parts[i], "0.01", APN_ROUND_HALF_EVEN) != APN_OK) all_ok = 0;
      if (cents != NULL) {
        const char *p = cents;
        int sign = 1;
        if (*p == '-') {
          sign = -1;
          ++p;
        }
        for (; *p; ++p)
          if (*p != '.') expected = expected * 10 + (*p - '0');
        expected *= sign;
      }
      apn_free(cents);
      if (amounts[i] != expected) {
        fprintf(stderr, "round %d group %lu: columnar %lld, allocate %s\n", round_, (unsigned long)i,
                (long long)amounts[i], parts[i]);
        all_ok = 0;
      }
      total += amounts[i];
    }
    apn_strings_free(parts, n_groups);
    if (total != (round_ % 3 == 0 ? -123457 : (round_ % 3 == 1 ? 7 : 9999999))) all_ok = 0;
  }
  CHECK(all_ok);
}

static void test_catalog(void) {
  apn_catalog *catalog = (apn_catalog *)1, *again = NULL;
  const apn_catalog *builtin = NULL;
  char *out = (char *)1, *json = NULL;
  FILE *file;

  CHECK_STATUS(apn_catalog_load_json(&catalog, catalog_json, strlen(catalog_json)), APN_OK);
  CHECK(catalog != NULL);

  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z"), APN_OK);
  CHECK_STR(out, "3.92");
  apn_free(out);
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-03T02:00:00+02:00"),
               APN_OK);
  CHECK_STR(out, "4");
  apn_free(out);
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "spot", "2000-01-01T00:00:00Z"), APN_OK);
  CHECK_STR(out, "2.91");
  apn_free(out);
  out = (char *)1;
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-01T23:59:59Z"),
               APN_ENOPRICE);
  CHECK(out == NULL);
  CHECK(contains(apn_last_error(), "spheron/h100-sxm5"));
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "nope", "on_demand", "2026-06-02T10:00:00Z"), APN_ENOPRICE);
  CHECK_STR(apn_last_error(), "sku: unknown SKU \"nope\"");
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "reserved", "2026-06-02T10:00:00Z"),
               APN_ENOPRICE);
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", "yesterday"), APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "at: "));
  CHECK_STATUS(apn_catalog_rate_at(NULL, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_rate_at(&out, NULL, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z"), APN_EINVAL);
  CHECK_STR(apn_last_error(), "catalog: must not be NULL");
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, NULL, "on_demand", "2026-06-02T10:00:00Z"), APN_EINVAL);
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", NULL, "2026-06-02T10:00:00Z"), APN_EINVAL);
  CHECK_STATUS(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", NULL), APN_EINVAL);

  /* 8 GPUs for an hour, then across the price change: 8 * (3.92 + 4.00) / 2. */
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_OK);
  CHECK_STR(out, "31.36");
  apn_free(out);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T23:30:00Z",
                                "2026-06-03T00:30:00Z"),
               APN_OK);
  CHECK_STR(out, "31.68");
  apn_free(out);
  /* One second of one GPU: 3.92 / 3600 = 0.00108888..., rounded half-even to 12 digits. */
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "1", "2026-06-02T10:00:00Z",
                                "2026-06-02T10:00:01Z"),
               APN_OK);
  CHECK_STR(out, "0.001088888889");
  apn_free(out);
  out = (char *)1;
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-01T23:00:00Z",
                                "2026-06-02T01:00:00Z"),
               APN_ENOPRICE);
  CHECK(out == NULL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T11:00:00Z",
                                "2026-06-02T10:00:00Z"),
               APN_EPARSE);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "-1", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "llm/tokens", "on_demand", "1", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "eight", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "count: "));
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "soon", "2026-06-02T11:00:00Z"),
               APN_EPARSE);
  CHECK(starts_with(apn_last_error(), "start: "));
  CHECK_STATUS(apn_catalog_cost(NULL, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, NULL, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, NULL, "on_demand", "8", "2026-06-02T10:00:00Z", "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", NULL, "8", "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", NULL, "2026-06-02T10:00:00Z",
                                "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", NULL, "2026-06-02T11:00:00Z"),
               APN_EINVAL);
  CHECK_STATUS(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-02T10:00:00Z", NULL),
               APN_EINVAL);

  /* to_json reads back to the same prices, through a file. */
  CHECK_STATUS(apn_catalog_to_json(&json, catalog), APN_OK);
  CHECK(contains(json, "\"spheron/h100-sxm5\""));
  file = fopen("test_capi_catalog.json", "w");
  CHECK(file != NULL);
  if (file != NULL && json != NULL) {
    fputs(json, file);
    fclose(file);
    CHECK_STATUS(apn_catalog_load_file(&again, "test_capi_catalog.json"), APN_OK);
    CHECK_STATUS(apn_catalog_rate_at(&out, again, "spheron/h100-sxm5", "on_demand", "2026-06-03T00:00:00Z"), APN_OK);
    CHECK_STR(out, "4");
    apn_free(out);
    apn_catalog_free(again);
    remove("test_capi_catalog.json");
  }
  apn_free(json);
  out = (char *)1;
  CHECK_STATUS(apn_catalog_to_json(&out, NULL), APN_EINVAL);
  CHECK(out == NULL);
  CHECK_STATUS(apn_catalog_to_json(NULL, catalog), APN_EINVAL);
  apn_catalog_free(catalog);

  /* Errors in loading. */
  catalog = (apn_catalog *)1;
  {
    const char *bad = "{\"skus\": [{\"id\": \"x\", \"unit\": \"parsec\"}]}";
    CHECK_STATUS(apn_catalog_load_json(&catalog, bad, strlen(bad)), APN_ESPEC);
  }
  CHECK(catalog == NULL);
  CHECK(starts_with(apn_last_error(), "skus[0].unit"));
  CHECK_STATUS(apn_catalog_load_json(&catalog, "{\"skus\": [", 10), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "line 1, column"));
  CHECK_STATUS(apn_catalog_load_json(NULL, catalog_json, strlen(catalog_json)), APN_EINVAL);
  CHECK_STATUS(apn_catalog_load_json(&catalog, NULL, 0), APN_EINVAL);
  catalog = (apn_catalog *)1;
  CHECK_STATUS(apn_catalog_load_file(&catalog, "no/such/catalog.json"), APN_EIO);
  CHECK(catalog == NULL);
  CHECK_STR(apn_last_error(), "no/such/catalog.json: cannot read the file");
  CHECK_STATUS(apn_catalog_load_file(NULL, "x.json"), APN_EINVAL);
  CHECK_STATUS(apn_catalog_load_file(&catalog, NULL), APN_EINVAL);

  /* The built-in catalog: borrowed, the same handle every time, ignored by free. */
  CHECK_STATUS(apn_catalog_builtin(&builtin), APN_OK);
  CHECK(builtin != NULL);
  {
    const apn_catalog *second = NULL;
    CHECK_STATUS(apn_catalog_builtin(&second), APN_OK);
    CHECK(second == builtin);
  }
  /* Its figures change with list prices: only check that there is one. */
  CHECK_STATUS(apn_catalog_rate_at(&out, builtin, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"), APN_OK);
  CHECK(out != NULL && strlen(out) > 0);
  apn_free(out);
  CHECK_STATUS(apn_catalog_to_json(&out, builtin), APN_OK);
  CHECK(contains(out, "aws/p5.48xlarge"));
  apn_free(out);
  apn_catalog_free((apn_catalog *)builtin);
  CHECK_STATUS(apn_catalog_rate_at(&out, builtin, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"), APN_OK);
  apn_free(out);
  CHECK_STATUS(apn_catalog_builtin(NULL), APN_EINVAL);
}

/* Threads share one catalog handle and each keeps its own last error. */
enum { n_threads = 4, thread_rounds = 200 };
static apn_catalog *shared_catalog;

static void *thread_body(void *arg) {
  const size_t index = (size_t)(*(const int *)arg);
  const char *weights[n_threads + 1];
  char expected[64], *rate = NULL, **parts = NULL;
  size_t i;
  int round_;
  long ok = 1;
  for (i = 0; i <= n_threads; ++i) weights[i] = "1";
  weights[index] = NULL;
  sprintf(expected, "weights[%lu]: must not be NULL", (unsigned long)index);
  for (round_ = 0; round_ < thread_rounds && ok; ++round_) {
    if (apn_money_allocate(&parts, "1", weights, n_threads + 1, "0.01") != APN_EINVAL) ok = 0;
    if (apn_catalog_rate_at(&rate, shared_catalog, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z") !=
            APN_OK ||
        strcmp(rate, "3.92") != 0)
      ok = 0;
    apn_free(rate);
    if (strcmp(apn_last_error(), expected) != 0) ok = 0;
  }
  return ok ? arg : NULL;
}

static void test_threads(void) {
  pthread_t threads[n_threads];
  int ids[n_threads], i;
  CHECK_STATUS(apn_catalog_load_json(&shared_catalog, catalog_json, strlen(catalog_json)), APN_OK);
  for (i = 0; i < n_threads; ++i) {
    ids[i] = i;
    CHECK(pthread_create(&threads[i], NULL, thread_body, &ids[i]) == 0);
  }
  for (i = 0; i < n_threads; ++i) {
    void *result = NULL;
    CHECK(pthread_join(threads[i], &result) == 0 && result == &ids[i]);
  }
  apn_catalog_free(shared_catalog);
}

static void test_ingest(void) {
  const char *csv = "namespace,gpu_seconds\nnlp,1.5\ncv,3\n";
  const char *bad = "namespace,gpu_seconds\nnlp,-1\n";
  char *out = NULL;
  size_t len = 0;
  CHECK_STATUS(apn_ingest(&out, &len, "csv", csv, strlen(csv), "{\"tags\": \"namespace\", \"measures\": \"gpu_seconds\"}",
                          "usage.csv"),
               APN_OK);
  CHECK(out != NULL && len == strlen(out));
  CHECK(out != NULL && strstr(out, "\"gpu_seconds\": \"1.5\"") != NULL);
  apn_free(out);
  CHECK_STATUS(apn_ingest(&out, &len, "csv", bad, strlen(bad), "{\"tags\": \"namespace\", \"measures\": \"gpu_seconds\"}",
                          "usage.csv"),
               APN_ESPEC);
  CHECK(out == NULL && len == 0);
  CHECK(strncmp(apn_last_error(), "usage.csv line 2: ", 18) == 0);
  CHECK_STATUS(apn_ingest(&out, &len, "no-such-format", csv, strlen(csv), NULL, NULL), APN_ESPEC);
  CHECK_STATUS(apn_ingest(&out, &len, "csv", csv, strlen(csv), "{\"tagz\": \"a\"}", NULL), APN_ESPEC);
  CHECK(strncmp(apn_last_error(), "options.tagz: unknown key", 25) == 0);
  CHECK_STATUS(apn_ingest(NULL, &len, "csv", csv, strlen(csv), NULL, NULL), APN_EINVAL);
  CHECK_STATUS(apn_ingest(&out, NULL, "csv", csv, strlen(csv), NULL, NULL), APN_EINVAL);
  CHECK_STATUS(apn_ingest(&out, &len, NULL, csv, strlen(csv), NULL, NULL), APN_EINVAL);
  CHECK_STATUS(apn_ingest(&out, &len, "csv", NULL, 0, NULL, NULL), APN_EINVAL);
  /* No text and a url: a live source; nothing listens on port 1, and the message names the
   * address without its credentials. */
  CHECK_STATUS(apn_ingest(&out, &len, "dcgm", NULL, 0,
                          "{\"url\": \"http://user:pw@127.0.0.1:1\", \"start\": 0, \"end\": 60, \"retries\": 0}", NULL),
               APN_ESPEC);
  CHECK(out == NULL && strncmp(apn_last_error(), "options.url: http://127.0.0.1:1: ", 33) == 0);
  CHECK(strstr(apn_last_error(), "pw") == NULL);
  CHECK_STATUS(apn_ingest(&out, &len, "sacct", NULL, 0, "{\"url\": \"http://127.0.0.1:1\"}", NULL), APN_ESPEC);
  CHECK(strncmp(apn_last_error(), "options.url: format \"sacct\" reads files only", 44) == 0);
}

/* Partial aggregates: rows added to shards, serialized, merged in two orders, give the
 * same records as one aggregate of every row. */
static void add_usage(apn_aggregate *a, const char *ns, const char *team, const char *gpu_seconds) {
  const char *keys[] = {"namespace", "team"};
  const char *values[2];
  const char *names[] = {"gpu_seconds"};
  const char *amounts[1];
  values[0] = ns;
  values[1] = team;
  amounts[0] = gpu_seconds;
  CHECK_STATUS(apn_aggregate_add_row(a, NULL, keys, values, team ? 2 : 1, names, amounts, 1), APN_OK);
}

static void test_aggregate(void) {
  apn_aggregate *whole = NULL, *a = NULL, *b = NULL, *c = NULL, *back = NULL;
  char *bytes = NULL, *json_whole = NULL, *json_ab = NULL, *json_ba = NULL;
  size_t n_bytes = 0, len = 0, groups = 0;
  uint64_t rows = 0;
  static const char *const rows_[][3] = {{"nlp", "search", "10"}, {"nlp", "search", "0.5"}, {"cv", NULL, "7"},
                                         {"nlp", "ads", "1"},      {"cv", NULL, "3.25"}};
  size_t i;
  CHECK_STATUS(apn_aggregate_new(&whole), APN_OK);
  CHECK_STATUS(apn_aggregate_new(&a), APN_OK);
  CHECK_STATUS(apn_aggregate_new(&b), APN_OK);
  for (i = 0; i < 5; ++i) {
    add_usage(whole, rows_[i][0], rows_[i][1], rows_[i][2]);
    add_usage(i % 2 ? a : b, rows_[i][0], rows_[i][1], rows_[i][2]);
  }
  CHECK_STATUS(apn_aggregate_stats(&groups, &rows, whole), APN_OK);
  CHECK(groups == 3 && rows == 5);
  CHECK_STATUS(apn_aggregate_to_json(&json_whole, &len, whole, "usage"), APN_OK);
  CHECK(contains(json_whole, "\"gpu_seconds\": \"10.25\""));
  CHECK(contains(json_whole, "\"gpu_seconds\": \"10.5\""));
  CHECK(len == strlen(json_whole));

  /* a + b, through serialization, against b + a. */
  CHECK_STATUS(apn_aggregate_serialize(&bytes, &n_bytes, a), APN_OK);
  CHECK(n_bytes > 7 && memcmp(bytes, "APNAGG", 6) == 0);
  CHECK_STATUS(apn_aggregate_deserialize(&back, bytes, n_bytes), APN_OK);
  CHECK_STATUS(apn_aggregate_merge(back, b), APN_OK);
  CHECK_STATUS(apn_aggregate_to_json(&json_ab, &len, back, "usage"), APN_OK);
  CHECK_STATUS(apn_aggregate_new(&c), APN_OK);
  CHECK_STATUS(apn_aggregate_merge(c, b), APN_OK);
  CHECK_STATUS(apn_aggregate_merge(c, a), APN_OK);
  CHECK_STATUS(apn_aggregate_to_json(&json_ba, &len, c, "usage"), APN_OK);
  CHECK_STR(json_ab, json_whole);
  CHECK_STR(json_ba, json_whole);

  /* Errors. */
  {
    const char *keys[] = {"team"};
    const char *values[] = {"x"};
    const char *names[] = {"m"};
    const char *negative[] = {"-1"};
    const char *garbage[] = {"abc"};
    CHECK_STATUS(apn_aggregate_add_row(a, NULL, keys, values, 1, names, negative, 1), APN_EINVAL);
    CHECK_STR(apn_last_error(), "m: must not be negative (got \"-1\")");
    CHECK_STATUS(apn_aggregate_add_row(a, NULL, keys, values, 1, names, garbage, 1), APN_EPARSE);
    CHECK(starts_with(apn_last_error(), "measure_values[0]: "));
    CHECK_STATUS(apn_aggregate_add_row(NULL, NULL, keys, values, 1, names, negative, 1), APN_EINVAL);
    CHECK_STATUS(apn_aggregate_add_row(a, NULL, NULL, values, 1, names, negative, 1), APN_EINVAL);
  }
  apn_aggregate_free(back);
  back = NULL;
  CHECK_STATUS(apn_aggregate_deserialize(&back, "APNAGG\002", 7), APN_EINVAL);
  CHECK(back == NULL);
  CHECK_STATUS(apn_aggregate_deserialize(&back, bytes, n_bytes - 1), APN_EINVAL);
  CHECK_STATUS(apn_aggregate_serialize(NULL, &n_bytes, a), APN_EINVAL);
  CHECK_STATUS(apn_aggregate_merge(a, NULL), APN_EINVAL);
  CHECK_STATUS(apn_aggregate_new(NULL), APN_EINVAL);
  apn_aggregate_free(NULL);
  apn_free(bytes);
  apn_free(json_whole);
  apn_free(json_ab);
  apn_free(json_ba);
  apn_aggregate_free(whole);
  apn_aggregate_free(a);
  apn_aggregate_free(b);
  apn_aggregate_free(c);
}

/* ---- Misuse: NULL for every pointer argument ---------------------------------------- */

/* A NULL argument is APN_EINVAL with a message that says so, never a crash. The previous
 * message is replaced, so a stale one cannot pass. */
#define CHECK_NULL_ARG(call)                                                                  \
  do {                                                                                        \
    char *stale_ = NULL;                                                                      \
    (void)apn_money_parse(&stale_, "stale", "USD");                                           \
    CHECK_STATUS(call, APN_EINVAL);                                                           \
    if (contains(apn_last_error(), "NULL")) {                                                 \
      ++passed;                                                                               \
    } else {                                                                                  \
      ++failed;                                                                               \
      fprintf(stderr, "%s:%d: %s: message \"%s\" does not say NULL\n", __FILE__, __LINE__, #call, \
              apn_last_error());                                                              \
    }                                                                                         \
  } while (0)

static void test_null_arguments(void) {
  char *out = (char *)1, **parts = (char **)1;
  size_t len = 7, groups = 0;
  uint64_t rows = 0;
  int64_t amounts[2];
  const uint32_t ids[2] = {0, 1};
  const int64_t weights64[2] = {1, 1};
  const char *weights[2] = {"1", "2"}, *null_weight[2] = {"1", NULL};
  const char *keys[1] = {"team"}, *values[1] = {"a"}, *null_key[1] = {NULL};
  const char *names[1] = {"gpu_seconds"}, *mvalues[1] = {"5"};
  apn_aggregate *agg = NULL, *agg_out = (apn_aggregate *)1;
  apn_catalog *cat = NULL, *cat_out = (apn_catalog *)1;
  const apn_catalog *builtin = NULL;
  char *bytes = NULL;
  size_t n_bytes = 0;

  CHECK_STATUS(apn_aggregate_new(&agg), APN_OK);
  CHECK_STATUS(apn_aggregate_add_row(agg, NULL, keys, values, 1, names, mvalues, 1), APN_OK);
  CHECK_STATUS(apn_aggregate_serialize(&bytes, &n_bytes, agg), APN_OK);
  CHECK_STATUS(apn_catalog_load_json(&cat, catalog_json, strlen(catalog_json)), APN_OK);
  CHECK_STATUS(apn_catalog_builtin(&builtin), APN_OK);

  /* apn_ingest */
  CHECK_NULL_ARG(apn_ingest(NULL, &len, "csv", "a\n1\n", 4, NULL, NULL));
  CHECK_NULL_ARG(apn_ingest(&out, NULL, "csv", "a\n1\n", 4, NULL, NULL));
  CHECK(out == NULL);
  CHECK_NULL_ARG(apn_ingest(&out, &len, NULL, "a\n1\n", 4, NULL, NULL));
  CHECK(out == NULL && len == 0);
  CHECK_NULL_ARG(apn_ingest(&out, &len, "csv", NULL, 4, NULL, NULL));

  /* Money */
  CHECK_NULL_ARG(apn_money_parse(NULL, "1", "USD"));
  out = (char *)1;
  CHECK_NULL_ARG(apn_money_parse(&out, NULL, "USD"));
  CHECK(out == NULL);
  CHECK_NULL_ARG(apn_money_parse(&out, "1", NULL));
  CHECK_NULL_ARG(apn_money_format(NULL, "1", "USD"));
  CHECK_NULL_ARG(apn_money_format(&out, NULL, "USD"));
  CHECK_NULL_ARG(apn_money_format(&out, "1", NULL));
  CHECK_NULL_ARG(apn_money_add(NULL, "1", "2", "USD"));
  CHECK_NULL_ARG(apn_money_add(&out, NULL, "2", "USD"));
  CHECK_NULL_ARG(apn_money_add(&out, "1", NULL, "USD"));
  CHECK_NULL_ARG(apn_money_add(&out, "1", "2", NULL));
  CHECK_NULL_ARG(apn_money_round(NULL, "1", "0.01", APN_ROUND_HALF_EVEN));
  CHECK_NULL_ARG(apn_money_round(&out, NULL, "0.01", APN_ROUND_HALF_EVEN));
  CHECK_NULL_ARG(apn_money_round(&out, "1", NULL, APN_ROUND_HALF_EVEN));
  CHECK_STATUS(apn_money_round(&out, "1", "0.01", (apn_rounding)99), APN_EINVAL);
  CHECK(out == NULL);
  CHECK_STATUS(apn_money_round(&out, "1", "0.01", (apn_rounding)-1), APN_EINVAL);
  CHECK_NULL_ARG(apn_money_allocate(NULL, "1", weights, 2, "0.01"));
  CHECK_NULL_ARG(apn_money_allocate(&parts, NULL, weights, 2, "0.01"));
  CHECK(parts == NULL);
  CHECK_NULL_ARG(apn_money_allocate(&parts, "1", NULL, 2, "0.01"));
  CHECK_NULL_ARG(apn_money_allocate(&parts, "1", null_weight, 2, "0.01"));
  CHECK_NULL_ARG(apn_money_allocate(&parts, "1", weights, 2, NULL));

  /* Columnar split */
  CHECK_NULL_ARG(apn_split_columnar(NULL, "1", "0.01", ids, weights64, 2, 2));
  CHECK_NULL_ARG(apn_split_columnar(amounts, NULL, "0.01", ids, weights64, 2, 2));
  CHECK_NULL_ARG(apn_split_columnar(amounts, "1", NULL, ids, weights64, 2, 2));
  CHECK_NULL_ARG(apn_split_columnar(amounts, "1", "0.01", NULL, weights64, 2, 2));
  CHECK_NULL_ARG(apn_split_columnar(amounts, "1", "0.01", ids, NULL, 2, 2));

  /* Aggregates */
  CHECK_NULL_ARG(apn_aggregate_new(NULL));
  CHECK_NULL_ARG(apn_aggregate_add_row(NULL, NULL, keys, values, 1, names, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, NULL, values, 1, names, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, NULL, 1, names, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, null_key, values, 1, names, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, null_key, 1, names, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, values, 1, NULL, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, values, 1, names, NULL, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, values, 1, null_key, mvalues, 1));
  CHECK_NULL_ARG(apn_aggregate_add_row(agg, NULL, keys, values, 1, names, null_key, 1));
  CHECK_NULL_ARG(apn_aggregate_merge(NULL, agg));
  CHECK_NULL_ARG(apn_aggregate_merge(agg, NULL));
  CHECK_NULL_ARG(apn_aggregate_serialize(NULL, &n_bytes, agg));
  out = (char *)1;
  CHECK_NULL_ARG(apn_aggregate_serialize(&out, NULL, agg));
  CHECK(out == NULL);
  CHECK_NULL_ARG(apn_aggregate_serialize(&out, &len, NULL));
  CHECK_NULL_ARG(apn_aggregate_deserialize(NULL, bytes, n_bytes));
  CHECK_NULL_ARG(apn_aggregate_deserialize(&agg_out, NULL, 4));
  CHECK(agg_out == NULL);
  CHECK_NULL_ARG(apn_aggregate_to_json(NULL, &len, agg, NULL));
  CHECK_NULL_ARG(apn_aggregate_to_json(&out, NULL, agg, NULL));
  CHECK_NULL_ARG(apn_aggregate_to_json(&out, &len, NULL, NULL));
  CHECK_NULL_ARG(apn_aggregate_stats(NULL, &rows, agg));
  CHECK_NULL_ARG(apn_aggregate_stats(&groups, NULL, agg));
  CHECK_NULL_ARG(apn_aggregate_stats(&groups, &rows, NULL));
  /* The failed calls left the aggregate as it was: one group of one row. */
  CHECK_STATUS(apn_aggregate_stats(&groups, &rows, agg), APN_OK);
  CHECK(groups == 1 && rows == 1);
  /* Bytes that are not a serialization: short, truncated, garbage. */
  CHECK_STATUS(apn_aggregate_deserialize(&agg_out, "", 0), APN_EINVAL);
  CHECK_STATUS(apn_aggregate_deserialize(&agg_out, bytes, n_bytes - 1), APN_EINVAL);
  CHECK(agg_out == NULL);
  CHECK_STATUS(apn_aggregate_deserialize(&agg_out, "garbage!garbage!garbage!", 24), APN_EINVAL);
  CHECK(apn_last_error()[0] != '\0');

  /* Catalogs */
  CHECK_NULL_ARG(apn_catalog_load_json(NULL, catalog_json, strlen(catalog_json)));
  CHECK_NULL_ARG(apn_catalog_load_json(&cat_out, NULL, 3));
  CHECK(cat_out == NULL);
  CHECK_NULL_ARG(apn_catalog_load_file(NULL, "catalog.json"));
  CHECK_NULL_ARG(apn_catalog_load_file(&cat_out, NULL));
  CHECK_NULL_ARG(apn_catalog_builtin(NULL));
  CHECK_NULL_ARG(apn_catalog_rate_at(NULL, cat, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_rate_at(&out, NULL, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_rate_at(&out, cat, NULL, "spot", "2026-06-02T10:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_rate_at(&out, cat, "spheron/h100-sxm5", NULL, "2026-06-02T10:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_rate_at(&out, builtin, "spheron/h100-sxm5", "spot", NULL));
  CHECK_NULL_ARG(apn_catalog_cost(NULL, cat, "spheron/h100-sxm5", "spot", "1", "2026-06-02T00:00:00Z",
                                  "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, NULL, "spheron/h100-sxm5", "spot", "1", "2026-06-02T00:00:00Z",
                                  "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, cat, NULL, "spot", "1", "2026-06-02T00:00:00Z", "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, cat, "spheron/h100-sxm5", NULL, "1", "2026-06-02T00:00:00Z",
                                  "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, cat, "spheron/h100-sxm5", "spot", NULL, "2026-06-02T00:00:00Z",
                                  "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, cat, "spheron/h100-sxm5", "spot", "1", NULL, "2026-06-02T01:00:00Z"));
  CHECK_NULL_ARG(apn_catalog_cost(&out, cat, "spheron/h100-sxm5", "spot", "1", "2026-06-02T00:00:00Z", NULL));
  CHECK_NULL_ARG(apn_catalog_to_json(NULL, cat));
  CHECK_NULL_ARG(apn_catalog_to_json(&out, NULL));
  CHECK(out == NULL);

  /* Freeing NULL is fine for every free function; the built-in catalog is ignored. */
  apn_free(NULL);
  apn_strings_free(NULL, 0);
  apn_strings_free(NULL, 5);
  apn_catalog_free(NULL);
  apn_catalog_free((apn_catalog *)builtin);
  apn_aggregate_free(NULL);

  /* After all those failures every call works as before. */
  CHECK_STATUS(apn_catalog_rate_at(&out, builtin, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"), APN_OK);
  apn_free(out);
  CHECK_STATUS(apn_catalog_rate_at(&out, cat, "spheron/h100-sxm5", "spot", "2026-06-02T10:00:00Z"), APN_OK);
  CHECK_STR(out, "2.91");
  apn_free(out);
  CHECK_STATUS(apn_money_add(&out, "0.1", "0.2", "USD"), APN_OK);
  CHECK_STR(out, "0.3");
  apn_free(out);
  CHECK_STATUS(apn_run_json(seed_spec, strlen(seed_spec), &out, &len), APN_OK);
  apn_free(out);

  apn_free(bytes);
  apn_aggregate_free(agg);
  apn_catalog_free(cat);
}

/* A host process that calls setlocale(LC_ALL, "") under a decimal-comma locale (de_DE,
 * fr_FR) gets the same bytes for the same spec: JSON's decimal point is always '.'. Runs
 * last, as it changes the process's locale (and puts it back). Skipped when no such locale
 * is installed, unless APPORTION_REQUIRE_LOCALE is set (CI; scripts/gen-locales.sh). */
static void test_decimal_comma_locale(void) {
  static const char spec[] =
      "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": 31.36}],"
      /* The \\u escape sends the text down the full JSON reader, not the fast one. */
      " \"records\": [{\"tags\": {\"team\": \"caf\\u00e9\"}, \"measures\": {\"gpu_seconds\": 12.5}},"
      "  {\"tags\": {\"team\": \"b\"}, \"measures\": {\"gpu_seconds\": 2.5e1}}],"
      " \"steps\": [{\"id\": \"s\", \"strategy\": \"proportional\", \"pool\": \"node\", \"group_by\": [\"team\"],"
      "  \"weight\": \"gpu_seconds\"}]}";
  static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
  char *before = NULL, *after = NULL;
  size_t before_len = 0, after_len = 0, i;
  const char *chosen = NULL;
  CHECK_STATUS(apn_run_json(spec, strlen(spec), &before, &before_len), APN_OK);
  for (i = 0; i < sizeof names / sizeof names[0] && chosen == NULL; ++i)
    if (setlocale(LC_ALL, names[i]) != NULL) chosen = names[i];
  if (chosen == NULL) {
    if (getenv("APPORTION_REQUIRE_LOCALE") != NULL) {
      ++failed;
      fprintf(stderr, "no decimal-comma locale is installed (scripts/gen-locales.sh makes de_DE.UTF-8)\n");
    } else {
      fprintf(stderr, "skipped: no decimal-comma locale installed (scripts/gen-locales.sh)\n");
    }
    apn_free(before);
    return;
  }
  CHECK_STR(localeconv()->decimal_point, ",");
  CHECK_STATUS(apn_run_json(spec, strlen(spec), &after, &after_len), APN_OK);
  CHECK(before != NULL && after != NULL && before_len == after_len && memcmp(before, after, before_len) == 0);
  CHECK(contains(after, "\"cost\": \"10.45\""));  /* 31.36 x 12.5 / 37.5 */
  setlocale(LC_ALL, "C");
  apn_free(before);
  apn_free(after);
}

/* ---- Records as columns (apn_batch) and results read without JSON (apn_result) ------- */

/* Seconds on a monotonic clock, for the timings printed (never asserted). */
static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The result's JSON, or NULL (with the failure counted). Free with apn_free(). */
static char *result_json(const apn_result *result, size_t *len) {
  char *out = NULL;
  CHECK_STATUS(apn_result_to_json(&out, len, result), APN_OK);
  return out;
}

/* Each line as the accessors give it, written as the result document writes it (step,
 * pool, kind, tags, cost, whitespace dropped) and found in order in the compacted JSON: the
 * accessors and the JSON agree on every line. Returns the lines checked. */
static size_t check_lines_against_json(const apn_result *result, const char *json) {
  static const char *const kinds[] = {"allocated", "overhead", "idle", "unallocated"};
  char *doc = compact(json), line_text[512];
  const char *at = doc != NULL ? strstr(doc, "\"lines\":[") : NULL;
  size_t n = 0, i, t, n_tags = 0;
  CHECK_STATUS(apn_result_line_count(&n, result), APN_OK);
  CHECK(at != NULL);
  for (i = 0; at != NULL && i < n; ++i) {
    const char *step = NULL, *pool = NULL, *cost = NULL, *key = NULL, *value = NULL;
    apn_line_kind kind = APN_LINE_IDLE;
    int w;
    CHECK_STATUS(apn_result_line_step(&step, result, i), APN_OK);
    CHECK_STATUS(apn_result_line_pool(&pool, result, i), APN_OK);
    CHECK_STATUS(apn_result_line_kind(&kind, result, i), APN_OK);
    CHECK_STATUS(apn_result_line_cost(&cost, result, i), APN_OK);
    CHECK_STATUS(apn_result_line_tag_count(&n_tags, result, i), APN_OK);
    w = sprintf(line_text, "{\"step\":\"%s\",", step);
    if (pool != NULL) w += sprintf(line_text + w, "\"pool\":\"%s\",", pool);
    w += sprintf(line_text + w, "\"kind\":\"%s\",\"tags\":{", kinds[kind]);
    for (t = 0; t < n_tags; ++t) {
      const char *found = NULL;
      CHECK_STATUS(apn_result_line_tag(&key, &value, result, i, t), APN_OK);
      CHECK_STATUS(apn_result_line_tag_value(&found, result, i, key), APN_OK);
      CHECK(found == value); /* the same string, looked up by key */
      w += sprintf(line_text + w, "%s\"%s\":\"%s\"", t > 0 ? "," : "", key, value);
    }
    sprintf(line_text + w, "},\"cost\":\"%s\"", cost);
    at = strstr(at, line_text);
    if (at == NULL) fprintf(stderr, "line %lu not in the JSON: %s\n", (unsigned long)i, line_text);
    CHECK(at != NULL);
    if (at != NULL) at += strlen(line_text);
  }
  free(doc);
  return n;
}

/* Four rows as a DataFrame hands them over, against the same rows written as records:
 * tags as pandas categorical codes into their categories, -1 for a missing team
 * (pandas.pydata.org/docs/reference/api/pandas.Series.cat.codes.html: "Uncategorized
 * values (i.e., NaN) are assigned a code of -1"); gpu_seconds as integers at scale 1; a
 * measure only some rows have, with its present mask. */
static const char batch_steps[] =
    " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
    "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
static const char *const batch_teams[] = {"nlp", "cv"};
static const int32_t batch_team_codes[] = {0, 1, 0, -1};
static const char *const batch_pods[] = {"vllm-0", "vllm-1", "train-0", "train-1"};
static const int32_t batch_pod_codes[] = {0, 1, 2, 3};
static const int64_t batch_seconds[] = {3600, 1800, 900, 125}; /* 360.0, 180.0, 90.0, 12.5 */
static const int64_t batch_tokens[] = {7, 0, 5, 0};
static const uint8_t batch_tokens_present[] = {1, 0, 1, 0};

static apn_batch *small_batch(const char *source) {
  apn_batch *batch = NULL;
  CHECK_STATUS(apn_batch_new(&batch, 4, source), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", batch_teams, 2, batch_team_codes, 4), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "pod", batch_pods, 4, batch_pod_codes, 4), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", batch_seconds, 4, 1, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "requests", batch_tokens, 4, 0, batch_tokens_present), APN_OK);
  return batch;
}

static void test_batch_matches_inline_records(void) {
  char columns[1024], inline_spec[2048];
  char *from_batch = NULL, *from_text = NULL;
  size_t batch_len = 0, text_len = 0, n = 0;
  apn_batch *batch = small_batch(NULL);
  apn_result *result = NULL;
  const apn_batch *const batches[] = {batch};
  const char *s = NULL, *id = NULL;
  apn_line_kind kind = APN_LINE_IDLE;
  /* The numbers are part of the ABI. */
  CHECK(APN_LINE_ALLOCATED == 0 && APN_LINE_OVERHEAD == 1 && APN_LINE_IDLE == 2 && APN_LINE_UNALLOCATED == 3);
  sprintf(columns, "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": [],%s",
          batch_steps);
  sprintf(inline_spec,
          "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": ["
          " {\"tags\": {\"team\": \"nlp\", \"pod\": \"vllm-0\"}, \"measures\": {\"gpu_seconds\": \"360.0\", \"requests\": 7}},"
          " {\"tags\": {\"team\": \"cv\", \"pod\": \"vllm-1\"}, \"measures\": {\"gpu_seconds\": \"180.0\"}},"
          " {\"tags\": {\"team\": \"nlp\", \"pod\": \"train-0\"}, \"measures\": {\"gpu_seconds\": \"90.0\", \"requests\": 5}},"
          " {\"tags\": {\"pod\": \"train-1\"}, \"measures\": {\"gpu_seconds\": \"12.5\"}}],%s",
          batch_steps);
  CHECK_STATUS(apn_run(&result, columns, strlen(columns), NULL, batches, 1), APN_OK);
  CHECK_STATUS(apn_run_json_opts(&from_text, &text_len, inline_spec, strlen(inline_spec), NULL), APN_OK);
  from_batch = result != NULL ? result_json(result, &batch_len) : NULL;
  /* The same bytes, whichever way the records came. */
  CHECK(from_batch != NULL && from_text != NULL && batch_len == text_len && memcmp(from_batch, from_text, text_len) == 0);
  CHECK(from_batch != NULL && strlen(from_batch) == batch_len);
  if (result != NULL && from_batch != NULL) {
    /* 10.00 by gpu_seconds over the teams: nlp 450, cv 180, and 12.5 with no team, of
     * 642.5: nlp 10 x 450/642.5 = 7.0038..., cv 2.8015..., the untagged 0.1945...; floors
     * 7.00 + 2.80 + 0.19 = 9.99, the cent left to the largest remainder (0.45 of the
     * untagged line's cent): 7.00, 2.80, 0.20. */
    CHECK(check_lines_against_json(result, from_batch) == 3);
    CHECK_STATUS(apn_result_line_count(&n, result), APN_OK);
    CHECK(n == 3);
    CHECK_STATUS(apn_result_line_step(&s, result, 0), APN_OK);
    CHECK_STR(s, "teams");
    CHECK_STATUS(apn_result_line_pool(&s, result, 0), APN_OK);
    CHECK_STR(s, "node");
    CHECK_STATUS(apn_result_line_tag_value(&s, result, 0, "team"), APN_OK);
    CHECK_STR(s, "cv");
    CHECK_STATUS(apn_result_line_cost(&s, result, 0), APN_OK);
    CHECK_STR(s, "2.80");
    CHECK_STATUS(apn_result_line_tag_value(&s, result, 1, "team"), APN_OK);
    CHECK_STR(s, "nlp");
    CHECK_STATUS(apn_result_line_cost(&s, result, 1), APN_OK);
    CHECK_STR(s, "7.00");
    CHECK_STATUS(apn_result_line_kind(&kind, result, 2), APN_OK);
    CHECK(kind == APN_LINE_UNALLOCATED);
    CHECK_STATUS(apn_result_line_tag_value(&s, result, 2, "team"), APN_OK);
    CHECK_STR(s, "__unallocated__");
    CHECK_STATUS(apn_result_line_cost(&s, result, 2), APN_OK);
    CHECK_STR(s, "0.20");
    /* The pod column, which no step reads, is no line's tag. */
    s = (const char *)1;
    CHECK_STATUS(apn_result_line_tag_value(&s, result, 1, "pod"), APN_OK);
    CHECK(s == NULL);
    CHECK_STATUS(apn_result_currency(&s, result), APN_OK);
    CHECK_STR(s, "USD");
    CHECK_STATUS(apn_result_pool_count(&n, result), APN_OK);
    CHECK(n == 1);
    CHECK_STATUS(apn_result_pool(&id, &s, result, 0), APN_OK);
    CHECK_STR(id, "node");
    CHECK_STR(s, "10.00");
    CHECK_STATUS(apn_result_warning_count(&n, result), APN_OK);
    CHECK(n == 0);
  }
  apn_free(from_batch);
  apn_free(from_text);
  apn_result_free(result);

  /* Records of the spec's own come first, then each batch in turn, here with a pool: the
   * same bytes as all of them written inline in that order. */
  {
    apn_batch *pooled = small_batch("second");
    const apn_batch *const both[] = {batch, pooled};
    char mixed[2048], written[4096];
    CHECK_STATUS(apn_batch_set_pool(pooled, "node"), APN_OK);
    sprintf(mixed,
            "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": ["
            " {\"tags\": {\"team\": \"ops\"}, \"measures\": {\"gpu_seconds\": 100}}],%s",
            batch_steps);
    sprintf(written,
            "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": ["
            " {\"tags\": {\"team\": \"ops\"}, \"measures\": {\"gpu_seconds\": 100}},"
            " {\"tags\": {\"team\": \"nlp\"}, \"measures\": {\"gpu_seconds\": \"360.0\"}},"
            " {\"tags\": {\"team\": \"cv\"}, \"measures\": {\"gpu_seconds\": \"180.0\"}},"
            " {\"tags\": {\"team\": \"nlp\"}, \"measures\": {\"gpu_seconds\": \"90.0\"}},"
            " {\"tags\": {}, \"measures\": {\"gpu_seconds\": \"12.5\"}},"
            " {\"pool\": \"node\", \"tags\": {\"team\": \"nlp\"}, \"measures\": {\"gpu_seconds\": \"360.0\"}},"
            " {\"pool\": \"node\", \"tags\": {\"team\": \"cv\"}, \"measures\": {\"gpu_seconds\": \"180.0\"}},"
            " {\"pool\": \"node\", \"tags\": {\"team\": \"nlp\"}, \"measures\": {\"gpu_seconds\": \"90.0\"}},"
            " {\"pool\": \"node\", \"tags\": {}, \"measures\": {\"gpu_seconds\": \"12.5\"}}],%s",
            batch_steps);
    CHECK_STATUS(apn_run(&result, mixed, strlen(mixed), "{\"base_dir\": \".\"}", both, 2), APN_OK);
    CHECK_STATUS(apn_run_json_opts(&from_text, &text_len, written, strlen(written), NULL), APN_OK);
    from_batch = result != NULL ? result_json(result, &batch_len) : NULL;
    CHECK(from_batch != NULL && from_text != NULL && batch_len == text_len && memcmp(from_batch, from_text, text_len) == 0);
    /* ops 100 of 1385 seconds: 10 x 100/1385 = 0.722... */
    if (result != NULL && from_batch != NULL) CHECK(check_lines_against_json(result, from_batch) == 4);
    apn_free(from_batch);
    apn_free(from_text);
    apn_result_free(result);
    apn_batch_free(pooled);
  }

  /* No batches at all: apn_run is apn_run_json_opts with a handle. */
  CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), NULL, NULL, 0), APN_OK);
  CHECK_STATUS(apn_run_json_opts(&from_text, &text_len, seed_spec, strlen(seed_spec), NULL), APN_OK);
  from_batch = result != NULL ? result_json(result, &batch_len) : NULL;
  CHECK(from_batch != NULL && from_text != NULL && batch_len == text_len && memcmp(from_batch, from_text, text_len) == 0);
  if (result != NULL && from_batch != NULL) CHECK(check_lines_against_json(result, from_batch) == 5);
  apn_free(from_batch);
  apn_free(from_text);
  apn_result_free(result);
  apn_batch_free(batch);
}

/* The message of a run of `spec` over one batch that fails with `status`. */
static const char *batch_error(const apn_batch *batch, int status) {
  static const char spec[] =
      "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10\"}], \"records\": [],"
      " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
      "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
  apn_result *result = (apn_result *)1;
  CHECK_STATUS(apn_run(&result, spec, strlen(spec), NULL, &batch, 1), status);
  CHECK(result == NULL);
  return apn_last_error();
}

static void test_batch_errors(void) {
  static const char *const teams[] = {"nlp", "cv"};
  static const char *const with_null[] = {"nlp", NULL};
  static const int32_t codes[] = {0, 2};
  static const int32_t good_codes[] = {0, 1};
  static const int64_t values[] = {5, -1};
  static const int64_t good_values[] = {5, 7};
  apn_batch *batch = NULL;
  char *json = (char *)1;
  apn_result *result = (apn_result *)1;
  const apn_batch *const with_null_batch[] = {NULL};
  const char *s = (const char *)1, *v = (const char *)1;
  size_t n = 9;
  apn_line_kind kind = APN_LINE_IDLE;

  /* A code beyond the dictionary, then a negative value: each names its row (from 0). */
  CHECK_STATUS(apn_batch_new(&batch, 2, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 2, codes, 2), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", values, 2, 0, NULL), APN_OK);
  CHECK_STR(batch_error(batch, APN_ESPEC), "batch row 1: team: code 2 is not below the dictionary's 2 values");
  apn_batch_free(batch);
  CHECK_STATUS(apn_batch_new(&batch, 2, "usage"), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 2, good_codes, 2), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", values, 2, 0, NULL), APN_OK);
  CHECK_STR(batch_error(batch, APN_ESPEC), "usage row 1: gpu_seconds: must not be negative (got \"-1\")");
  apn_batch_free(batch);

  /* Lengths that are not the batch's rows, and a scale beyond 12, name the column. */
  CHECK_STATUS(apn_batch_new(&batch, 2, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 2, good_codes, 1), APN_OK);
  CHECK_STR(batch_error(batch, APN_ESPEC), "batches[0].tags[0]: has 1 codes for 2 rows");
  apn_batch_free(batch);
  CHECK_STATUS(apn_batch_new(&batch, 2, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 2, good_codes, 2), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", good_values, 3, 0, NULL), APN_OK);
  CHECK_STR(batch_error(batch, APN_ESPEC), "batches[0].measures[0]: has 3 values for 2 rows");
  apn_batch_free(batch);
  CHECK_STATUS(apn_batch_new(&batch, 2, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", good_values, 2, 13, NULL), APN_OK);
  CHECK_STR(batch_error(batch, APN_ESPEC), "batches[0].measures[0]: scale must be 0 to 12 (got 13)");
  apn_batch_free(batch);

  /* The batches' rows count against max_records with the spec's own. */
  CHECK_STATUS(apn_batch_new(&batch, 2, NULL), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 2, good_codes, 2), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", good_values, 2, 0, NULL), APN_OK);
  {
    const apn_batch *const one[] = {batch};
    CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), "{\"limits\": {\"max_records\": 6}}", one, 1),
                 APN_ESPEC);
    CHECK(result == NULL);
    CHECK_STR(apn_last_error(), "batches: more than 6 records (with the spec's own) (limit max_records; raise it with --max-records or SpecOptions::limits)");
    /* apn_run renders afterwards: it takes no format. */
    CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), "{\"format\": \"csv\"}", one, 1), APN_ESPEC);
    CHECK_STR(apn_last_error(), "options.format: not taken by apn_run, whose result is rendered afterwards (apn_result_to_json); apn_run_json_opts takes a format");
    CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), "{\"limit\": {}}", one, 1), APN_ESPEC);
    CHECK(starts_with(apn_last_error(), "options.limit: unknown key"));
  }

  /* NULL arguments: APN_EINVAL naming them; outputs NULL. */
  CHECK_STATUS(apn_batch_new(NULL, 2, NULL), APN_EINVAL);
  CHECK_STR(apn_last_error(), "out: must not be NULL");
  CHECK_STATUS(apn_batch_set_pool(NULL, "node"), APN_EINVAL);
  CHECK_STR(apn_last_error(), "batch: must not be NULL");
  CHECK_STATUS(apn_batch_add_tags(NULL, "team", teams, 2, good_codes, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "batch: must not be NULL");
  CHECK_STATUS(apn_batch_add_tags(batch, NULL, teams, 2, good_codes, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "key: must not be NULL");
  CHECK_STATUS(apn_batch_add_tags(batch, "pod", NULL, 2, good_codes, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "dictionary: must not be NULL");
  CHECK_STATUS(apn_batch_add_tags(batch, "pod", with_null, 2, good_codes, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "dictionary[1]: must not be NULL");
  CHECK_STATUS(apn_batch_add_tags(batch, "pod", teams, 2, NULL, 2), APN_EINVAL);
  CHECK_STR(apn_last_error(), "codes: must not be NULL");
  CHECK_STATUS(apn_batch_add_measure(NULL, "gpu_seconds", good_values, 2, 0, NULL), APN_EINVAL);
  CHECK_STATUS(apn_batch_add_measure(batch, NULL, good_values, 2, 0, NULL), APN_EINVAL);
  CHECK_STR(apn_last_error(), "name: must not be NULL");
  CHECK_STATUS(apn_batch_add_measure(batch, "tokens", NULL, 2, 0, NULL), APN_EINVAL);
  CHECK_STR(apn_last_error(), "values: must not be NULL");
  /* A refused column leaves the batch as it was: it still runs. */
  {
    const apn_batch *const one[] = {batch};
    static const char spec[] =
        "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"12\"}], \"records\": [],"
        " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
        "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
    /* 12 by 5:7: cv 7.00, nlp 5.00. */
    CHECK_STATUS(apn_run(&result, spec, strlen(spec), NULL, one, 1), APN_OK);
    CHECK_STATUS(apn_result_line_cost(&s, result, 0), APN_OK);
    CHECK_STR(s, "7.00");
    CHECK_STATUS(apn_result_line_cost(&s, result, 1), APN_OK);
    CHECK_STR(s, "5.00");

    /* Indexes past the end and NULL arguments of the accessors. */
    CHECK_STATUS(apn_result_line_step(&s, result, 2), APN_EINVAL);
    CHECK(s == NULL);
    CHECK_STR(apn_last_error(), "line: 2 is not below the result's 2 lines");
    CHECK_STATUS(apn_result_line_tag(&s, &v, result, 0, 1), APN_EINVAL);
    CHECK(s == NULL && v == NULL);
    CHECK_STR(apn_last_error(), "tag: 1 is not below line 0's 1 tags");
    CHECK_STATUS(apn_result_pool(&s, &v, result, 1), APN_EINVAL);
    CHECK_STR(apn_last_error(), "pool: 1 is not below the result's 1 pools");
    CHECK_STATUS(apn_result_warning(&s, result, 0), APN_EINVAL);
    CHECK_STR(apn_last_error(), "warning: 0 is not below the result's 0 warnings");
    CHECK_STATUS(apn_result_line_cost(&s, NULL, 0), APN_EINVAL);
    CHECK_STR(apn_last_error(), "result: must not be NULL");
    CHECK_STATUS(apn_result_line_cost(NULL, result, 0), APN_EINVAL);
    CHECK_STR(apn_last_error(), "out: must not be NULL");
    CHECK_STATUS(apn_result_line_count(&n, NULL), APN_EINVAL);
    CHECK(n == 0);
    CHECK_STATUS(apn_result_line_kind(&kind, NULL, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_kind(NULL, result, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_pool(NULL, result, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_tag_count(NULL, result, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_tag(NULL, &v, result, 0, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_tag(&s, NULL, result, 0, 0), APN_EINVAL);
    CHECK_STATUS(apn_result_line_tag_value(&s, result, 0, NULL), APN_EINVAL);
    CHECK_STR(apn_last_error(), "key: must not be NULL");
    CHECK_STATUS(apn_result_currency(NULL, result), APN_EINVAL);
    CHECK_STATUS(apn_result_pool_count(NULL, result), APN_EINVAL);
    CHECK_STATUS(apn_result_warning_count(NULL, result), APN_EINVAL);
    CHECK_STATUS(apn_result_to_json(NULL, &n, result), APN_EINVAL);
    CHECK_STATUS(apn_result_to_json(&json, NULL, result), APN_EINVAL);
    CHECK_STATUS(apn_result_to_json(&json, &n, NULL), APN_EINVAL);
    CHECK(json == NULL && n == 0);
    apn_result_free(result);
  }
  result = (apn_result *)1;
  CHECK_STATUS(apn_run(NULL, seed_spec, strlen(seed_spec), NULL, NULL, 0), APN_EINVAL);
  CHECK_STR(apn_last_error(), "out: must not be NULL");
  CHECK_STATUS(apn_run(&result, NULL, 0, NULL, NULL, 0), APN_EINVAL);
  CHECK(result == NULL);
  CHECK_STR(apn_last_error(), "spec: must not be NULL");
  CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), NULL, NULL, 1), APN_EINVAL);
  CHECK_STR(apn_last_error(), "batches: must not be NULL");
  CHECK_STATUS(apn_run(&result, seed_spec, strlen(seed_spec), NULL, with_null_batch, 1), APN_EINVAL);
  CHECK_STR(apn_last_error(), "batches[0]: must not be NULL");
  apn_batch_free(batch);
}

/* A month of usage as a DataFrame holds it: 1,000,000 rows tagged team (5 values),
 * namespace (8) and pod (1,000,000 distinct: what the steps never group by, so it costs
 * nothing), gpu_seconds at scale 3. Row i measures (i % 1000 + 1) / 1000 seconds. Run as a
 * batch and as the same records in JSON text: the same bytes; both times are printed. */
enum { big_rows = 1000000 };

static const char big_spec_head[] =
    "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"1001.00\"}, {\"id\": \"storage\", \"cost\": \"500.50\"}],"
    " \"records\": [";
static const char big_spec_tail[] =
    "],"
    " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
    "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"},"
    "            {\"id\": \"namespaces\", \"strategy\": \"proportional\", \"pool\": \"storage\","
    "             \"group_by\": [\"namespace\"], \"weight\": \"gpu_seconds\"}]}";

static void test_batch_million_rows(void) {
  static const char *const teams[] = {"team-0", "team-1", "team-2", "team-3", "team-4"};
  static const char *const namespaces[] = {"ns-0", "ns-1", "ns-2", "ns-3", "ns-4", "ns-5", "ns-6", "ns-7"};
  /* Worked by hand: team t sums 200t + 99700 seconds (1000 blocks of 1000 rows; in each,
   * the 200 rows of team t measure t+1, t+6, ..., t+996 thousandths), of 500500 in all, so
   * 1001.00 gives it 0.4t + 199.4, exactly. Namespace n sums 125n + 62125, so 500.50 gives
   * it 0.125n + 62.125: floors 62.12, 62.25, 62.37, 62.50, 62.62, 62.75, 62.87, 63.00 (sum
   * 500.48), the two cents left to the four half-cent remainders of n = 0, 2, 4, 6, ties to
   * the larger weight: n = 6 and 4. */
  static const char *const team_costs[] = {"199.40", "199.80", "200.20", "200.60", "201.00"};
  static const char *const ns_costs[] = {"62.12", "62.25", "62.37", "62.50", "62.63", "62.75", "62.88", "63.00"};
  int32_t *team_codes = malloc(big_rows * sizeof *team_codes);
  int32_t *ns_codes = malloc(big_rows * sizeof *ns_codes);
  int32_t *pod_codes = malloc(big_rows * sizeof *pod_codes);
  int64_t *seconds = malloc(big_rows * sizeof *seconds);
  char *pod_names = malloc((size_t)big_rows * 12);
  const char **pods = malloc(big_rows * sizeof *pods);
  char *text = malloc((size_t)big_rows * 128 + sizeof big_spec_head + sizeof big_spec_tail), *w = text;
  char *from_batch = NULL, *from_text = NULL;
  size_t batch_len = 0, text_len = 0, n = 0, i;
  apn_batch *batch = NULL;
  apn_result *result = NULL;
  double t0, t_batch, t_lines, t_text;
  if (!team_codes || !ns_codes || !pod_codes || !seconds || !pod_names || !pods || !text) {
    ++failed;
    fprintf(stderr, "out of memory for the 1,000,000-row test\n");
    return;
  }
  for (i = 0; i < big_rows; ++i) {
    team_codes[i] = (int32_t)(i % 5);
    ns_codes[i] = (int32_t)(i % 8);
    pod_codes[i] = (int32_t)i;
    seconds[i] = (int64_t)(i % 1000 + 1);
    sprintf(pod_names + i * 12, "pod-%07lu", (unsigned long)i);
    pods[i] = pod_names + i * 12;
  }
  t0 = now_seconds();
  CHECK_STATUS(apn_batch_new(&batch, big_rows, "usage"), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "team", teams, 5, team_codes, big_rows), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "namespace", namespaces, 8, ns_codes, big_rows), APN_OK);
  CHECK_STATUS(apn_batch_add_tags(batch, "pod", pods, big_rows, pod_codes, big_rows), APN_OK);
  CHECK_STATUS(apn_batch_add_measure(batch, "gpu_seconds", seconds, big_rows, 3, NULL), APN_OK);
  {
    char spec[sizeof big_spec_head + sizeof big_spec_tail];
    const apn_batch *const one[] = {batch};
    sprintf(spec, "%s%s", big_spec_head, big_spec_tail);
    CHECK_STATUS(apn_run(&result, spec, strlen(spec), NULL, one, 1), APN_OK);
  }
  t_batch = now_seconds() - t0;
  t0 = now_seconds();
  if (result != NULL) {
    CHECK_STATUS(apn_result_line_count(&n, result), APN_OK);
    CHECK(n == 13);
    for (i = 0; i < n && n == 13; ++i) {
      const char *cost = NULL, *value = NULL;
      CHECK_STATUS(apn_result_line_cost(&cost, result, i), APN_OK);
      CHECK_STATUS(apn_result_line_tag_value(&value, result, i, i < 5 ? "team" : "namespace"), APN_OK);
      CHECK_STR(value, i < 5 ? teams[i] : namespaces[i - 5]);
      CHECK_STR(cost, i < 5 ? team_costs[i] : ns_costs[i - 5]);
    }
  }
  t_lines = now_seconds() - t0;
  from_batch = result != NULL ? result_json(result, &batch_len) : NULL;
  if (result != NULL && from_batch != NULL) CHECK(check_lines_against_json(result, from_batch) == 13);

  /* The same rows as JSON records, run from text. */
  w += sprintf(w, "%s", big_spec_head);
  for (i = 0; i < big_rows; ++i)
    w += sprintf(w,
                 "%s{\"tags\": {\"team\": \"%s\", \"namespace\": \"%s\", \"pod\": \"%s\"},"
                 " \"measures\": {\"gpu_seconds\": \"%lu.%03lu\"}}",
                 i > 0 ? ", " : "", teams[i % 5], namespaces[i % 8], pods[i], (unsigned long)(seconds[i] / 1000),
                 (unsigned long)(seconds[i] % 1000));
  w += sprintf(w, "%s", big_spec_tail);
  t0 = now_seconds();
  CHECK_STATUS(apn_run_json_opts(&from_text, &text_len, text, (size_t)(w - text), NULL), APN_OK);
  t_text = now_seconds() - t0;
  CHECK(from_batch != NULL && from_text != NULL && batch_len == text_len && memcmp(from_batch, from_text, text_len) == 0);
  printf("1,000,000 rows (3 tag columns, one of 1,000,000 pods): batch %.3f s, 13 lines read %.6f s;"
         " as %.0f MB of JSON text %.3f s\n",
         t_batch, t_lines, (double)(w - text) / 1e6, t_text);
  apn_free(from_batch);
  apn_free(from_text);
  apn_result_free(result);
  apn_batch_free(batch);
  free(text);
  free(pods);
  free(pod_names);
  free(seconds);
  free(pod_codes);
  free(ns_codes);
  free(team_codes);
}

/* One batch run by several threads at once, and one result read by all of them at once
 * (the first cost read makes the cost texts, once). */
static const apn_batch *shared_batch;
static const apn_result *shared_result;

static void *batch_thread_body(void *arg) {
  static const char spec[] =
      "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": [],"
      " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
      "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
  apn_result *mine = NULL;
  const char *cost = NULL, *shared_cost = NULL;
  int ok = apn_run(&mine, spec, strlen(spec), NULL, &shared_batch, 1) == APN_OK &&
           apn_result_line_cost(&cost, mine, 1) == APN_OK && strcmp(cost, "7.00") == 0 &&
           apn_result_line_cost(&shared_cost, shared_result, 1) == APN_OK && strcmp(shared_cost, "7.00") == 0;
  apn_result_free(mine);
  return ok ? arg : NULL;
}

static void test_batch_threads(void) {
  static const char spec[] =
      "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], \"records\": [],"
      " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\","
      "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
  pthread_t threads[n_threads];
  int ids[n_threads], i;
  apn_batch *batch = small_batch(NULL);
  apn_result *result = NULL;
  shared_batch = batch;
  CHECK_STATUS(apn_run(&result, spec, strlen(spec), NULL, &shared_batch, 1), APN_OK);
  shared_result = result;
  for (i = 0; i < n_threads; ++i) {
    ids[i] = i;
    CHECK(pthread_create(&threads[i], NULL, batch_thread_body, &ids[i]) == 0);
  }
  for (i = 0; i < n_threads; ++i) {
    void *back = NULL;
    CHECK(pthread_join(threads[i], &back) == 0 && back == &ids[i]);
  }
  apn_result_free(result);
  apn_batch_free(batch);
}

/* Under a series each line carries its bucket; without one, none. 10.00 over two days,
 * 5.00 a day, all to team a. */
static void test_result_line_bucket(void) {
  const char *series_spec =
      "{\"apportion\": 1, \"series\": {\"start\": \"2026-06-01T00:00:00Z\", \"end\": \"2026-06-03T00:00:00Z\", "
      "\"step\": \"1d\"}, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], "
      "\"records\": [{\"tags\": {\"team\": \"a\"}, \"measures\": {\"gpu_seconds\": 2}}], "
      "\"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\", \"group_by\": [\"team\"], "
      "\"weight\": \"gpu_seconds\"}]}";
  apn_result *result = NULL;
  const char *start = NULL, *end = NULL, *cost = NULL;
  size_t n = 0;
  CHECK_STATUS(apn_run(&result, series_spec, strlen(series_spec), NULL, NULL, 0), APN_OK);
  CHECK_STATUS(apn_result_line_count(&n, result), APN_OK);
  CHECK(n == 2);
  CHECK_STATUS(apn_result_line_bucket(&start, &end, result, 1), APN_OK);
  CHECK_STR(start, "2026-06-02T00:00:00Z");
  CHECK_STR(end, "2026-06-03T00:00:00Z");
  CHECK_STATUS(apn_result_line_cost(&cost, result, 1), APN_OK);
  CHECK_STR(cost, "5.00");
  CHECK_STATUS(apn_result_line_bucket(&start, &end, result, 2), APN_EINVAL);
  CHECK(start == NULL && end == NULL);
  CHECK_STATUS(apn_result_line_bucket(&start, NULL, result, 0), APN_EINVAL);
  apn_result_free(result);

  /* Without a series: both NULL, and APN_OK. */
  result = NULL;
  {
    const char *plain = "{\"apportion\": 1, \"pools\": [{\"id\": \"node\", \"cost\": \"10.00\"}], "
                        "\"records\": [{\"tags\": {\"team\": \"a\"}, \"measures\": {\"gpu_seconds\": 2}}], "
                        "\"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node\", "
                        "\"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
    CHECK_STATUS(apn_run(&result, plain, strlen(plain), NULL, NULL, 0), APN_OK);
    start = end = (const char *)1;
    CHECK_STATUS(apn_result_line_bucket(&start, &end, result, 0), APN_OK);
    CHECK(start == NULL && end == NULL);
    apn_result_free(result);
  }
}

/* apn_log_to_mlflow: the write-back's errors (python/tests/test_mlflow.py writes a store). */
static void test_log_to_mlflow(void) {
  const char *spec =
      "{\"apportion\": 1, \"catalog\": {\"skus\": [{\"id\": \"onprem/a100\", \"unit\": \"gpu_hour\", "
      "\"prices\": [{\"tier\": \"on_demand\", \"rate\": \"1.60\"}]}]}, \"pools\": [], \"records\": [{\"tags\": "
      "{\"run_id\": \"abc\"}, \"sku\": \"onprem/a100\", \"count\": \"1\", \"start\": \"2026-06-04T00:00:00Z\", "
      "\"end\": \"2026-06-04T01:00:00Z\"}], \"steps\": [{\"id\": \"runs\", \"strategy\": \"per_experiment\"}]}";
  char *out = (char *)1;
  size_t len = 99;
  CHECK_STATUS(apn_log_to_mlflow(&out, &len, spec, strlen(spec), NULL, NULL), APN_EINVAL);
  CHECK(out == NULL && len == 0);
  CHECK(contains(apn_last_error(), "target"));
  CHECK_STATUS(apn_log_to_mlflow(&out, &len, spec, strlen(spec), NULL, "/nonexistent/mlruns"), APN_ESPEC);
  CHECK(starts_with(apn_last_error(), "/nonexistent/mlruns: is not a folder: give an MLflow file store's folder (mlruns/)"));
  CHECK_STATUS(apn_log_to_mlflow(&out, &len, spec, strlen(spec), NULL, "s3://bucket/mlruns"), APN_ESPEC);
  CHECK(contains(apn_last_error(), "is neither a folder, a file:// URI nor an http(s):// address"));
  CHECK_STATUS(apn_log_to_mlflow(&out, &len, spec, strlen(spec), "{\"spec_nam\": \"x\"}", "/tmp"), APN_ESPEC);
  CHECK(strcmp(apn_last_error(), "options.spec_nam: unknown key (did you mean \"spec_name\"?)") == 0);
}

int main(void) {
  test_version();
  test_status_values();
  test_free_accepts_null();
  test_run_json();
  test_alerts_json();
  test_log_to_mlflow();
  test_report_html();
  test_last_error_persists();
  test_money_parse_format_add();
  test_money_round();
  test_money_allocate();
  test_split_columnar();
  test_split_columnar_matches_allocate();
  test_catalog();
  test_threads();
  test_ingest();
  test_aggregate();
  test_null_arguments();
  test_decimal_comma_locale();
  test_batch_matches_inline_records();
  test_batch_errors();
  test_result_line_bucket();
  test_batch_threads();
  test_batch_million_rows();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
