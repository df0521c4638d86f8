/*
 * Splits a node's cost over teams from usage held as columns, the way a DataFrame holds it
 * (a categorical team column: codes into its categories, -1 for none; gpu_seconds as
 * integers in thousandths), without writing a JSON record per row, and prints each line
 * from the result handle without parsing JSON. The pod without a team is on the step's
 * unallocated line (team "__unallocated__").
 *
 *   batch
 */
#include <stdio.h>
#include <string.h>

#include <apportion.h>

static int check(int status, const char *what) {
  if (status != APN_OK) fprintf(stderr, "%s failed (%d): %s\n", what, status, apn_last_error());
  return status == APN_OK;
}

int main(void) {
  static const char spec[] =
      "{\"apportion\": 1, \"currency\": \"USD\", \"pools\": [{\"id\": \"node-hour\", \"cost\": \"31.36\"}],"
      " \"records\": [],"
      " \"steps\": [{\"id\": \"teams\", \"strategy\": \"proportional\", \"pool\": \"node-hour\","
      "             \"group_by\": [\"team\"], \"weight\": \"gpu_seconds\"}]}";
  /* Six pods' GPU time in one hour; the last pod has no team label. */
  static const char *const teams[] = {"nlp", "cv", "platform"};
  static const int32_t team_codes[] = {0, 0, 1, 2, 1, -1};
  static const char *const pods[] = {"vllm-0", "vllm-1", "detr-0", "ingest-0", "detr-1", "debug-0"};
  static const int32_t pod_codes[] = {0, 1, 2, 3, 4, 5};
  static const int64_t gpu_ms[] = {3600000, 3600000, 2700000, 900000, 1800000, 400000};
  apn_batch *batch = NULL;
  apn_result *result = NULL;
  const char *step, *kind_names[] = {"allocated", "overhead", "idle", "unallocated"};
  size_t lines = 0, i;
  int ok = 0;

  if (!check(apn_batch_new(&batch, 6, "usage"), "apn_batch_new") ||
      !check(apn_batch_add_tags(batch, "team", teams, 3, team_codes, 6), "apn_batch_add_tags") ||
      !check(apn_batch_add_tags(batch, "pod", pods, 6, pod_codes, 6), "apn_batch_add_tags") ||
      !check(apn_batch_add_measure(batch, "gpu_seconds", gpu_ms, 6, 3, NULL), "apn_batch_add_measure"))
    goto done;
  {
    const apn_batch *const batches[] = {batch};
    if (!check(apn_run(&result, spec, strlen(spec), NULL, batches, 1), "apn_run")) goto done;
  }
  if (!check(apn_result_line_count(&lines, result), "apn_result_line_count")) goto done;
  for (i = 0; i < lines; ++i) {
    const char *team = NULL, *cost = NULL;
    apn_line_kind kind = APN_LINE_ALLOCATED;
    if (!check(apn_result_line_step(&step, result, i), "apn_result_line_step") ||
        !check(apn_result_line_kind(&kind, result, i), "apn_result_line_kind") ||
        !check(apn_result_line_tag_value(&team, result, i, "team"), "apn_result_line_tag_value") ||
        !check(apn_result_line_cost(&cost, result, i), "apn_result_line_cost"))
      goto done;
    printf("%-6s %-12s %-16s %8s\n", step, kind_names[kind], team ? team : "-", cost);
  }
  ok = 1;

done:
  apn_result_free(result); /* frees every string the accessors gave */
  apn_batch_free(batch);
  return ok ? 0 : 1;
}
