// bench/compare's DuckDB way, in a process of its own so that its peak memory is its own:
//
//   node bench/duckdb_worker.cjs MODULE_DIR CSV OUT POOLS_JSON
//
// MODULE_DIR is where `@duckdb/node-api` is installed (bench/compare installs it on demand,
// outside the tree); POOLS_JSON maps a step to [column, pool]. One query: a single scan of
// the CSV with GROUPING SETS sums gpu_seconds by each column (reading the file once, as
// pandas does), a window over each grouping set gives its total, and each group's share
// of its pool is rounded to cents. Written to OUT as {step: {group: "cost"}}.
"use strict";
const path = require("path");
const fs = require("fs");

async function main() {
  const [moduleDir, csvPath, outPath, poolsJson] = process.argv.slice(2);
  const { DuckDBInstance } = require(path.join(moduleDir, "node_modules", "@duckdb", "node-api"));
  const steps = Object.entries(JSON.parse(poolsJson));  // [[step, [column, pool]], ...]
  const columns = steps.map(([, [column]]) => column);
  const instance = await DuckDBInstance.create(":memory:");
  const con = await instance.connect();
  const source = `read_csv(${quote(csvPath)}, header = true, columns = {'namespace': 'VARCHAR', ` +
                 `'team': 'VARCHAR', 'pod': 'VARCHAR', 'gpu_seconds': 'BIGINT'})`;
  // GROUPING(c) is 0 in the set grouped by c: the step a row belongs to.
  const step = `CASE ${columns.map((c, i) => `WHEN GROUPING(${c}) = 0 THEN ${i}`).join(" ")} END`;
  const sql =
    `SELECT s, k, ROUND(CASE s ${steps.map(([, [, pool]], i) => `WHEN ${i} THEN ${pool}`).join(" ")} END ` +
    `* w / SUM(w) OVER (PARTITION BY s), 2)::VARCHAR AS cost FROM (` +
    `SELECT ${step} AS s, COALESCE(${columns.join(", ")}) AS k, SUM(gpu_seconds) AS w FROM ${source} ` +
    `GROUP BY GROUPING SETS (${columns.map((c) => `(${c})`).join(", ")}))`;
  const reader = await con.runAndReadAll(sql);
  const result = Object.fromEntries(steps.map(([name]) => [name, {}]));
  for (const [s, k, cost] of reader.getRows()) result[steps[Number(s)][0]][String(k)] = String(cost);
  fs.writeFileSync(outPath, JSON.stringify(result));
}

function quote(s) {
  return `'${s.replace(/'/g, "''")}'`;
}

main().catch((e) => {
  console.error(e && e.message ? e.message : String(e));
  process.exit(1);
});
