// The `sacct` ingest format: `sacct -P` output turned into priced runs, one per job
// allocation, and those runs priced end to end by per_experiment.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "apportion/apportion.hpp"

#ifndef APPORTION_SACCT_DATA
#error "APPORTION_SACCT_DATA must name tests/data/sacct"
#endif

namespace {

using namespace apportion;

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(APPORTION_SACCT_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Value options(std::vector<Value::Member> members) { return Value::object(std::move(members)); }
Value S(std::string text) { return Value::string(std::move(text)); }

// Parses through the registry, then checks every option was read, as the caller does.
IngestResult parse(const std::string& text, const Value& opts, const std::string& source = "jobs.txt") {
  ObjectReader reader(opts, "inputs[0]");
  IngestResult result = IngestRegistry::global().parse("sacct", text, reader, source);
  reader.finish();
  return result;
}

// "SpecError message" of a parse expected to fail.
std::string error_of(const std::string& text, const Value& opts, const std::string& source = "jobs.txt") {
  try {
    parse(text, opts, source);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

std::string tags_text(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

const Record& by_id(const IngestResult& r, std::string_view id) {
  for (const Record& rec : r.records)
    if (rec.id == id) return rec;
  throw std::runtime_error("no record " + std::string(id));
}

const std::string header = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|Comment|WCKey\n";

TEST(IngestSacct, Registered) { EXPECT_TRUE(IngestRegistry::global().contains("sacct")); }

TEST(IngestSacct, OneRunPerAllocationWithTagsCountAndTimes) {
  const IngestResult r = parse(read_data("jobs.txt"), options({{"sku", S("onprem/h100")},
                                                               {"timezone", S("+02:00")},
                                                               {"running", S("2026-06-02T14:00:00Z")},
                                                               {"tags_from", S("Comment")},
                                                               {"tier", S("reserved")}}));
  // Steps, the pending array remainder, the CPU-only job and the job cancelled while pending
  // are not runs; 1004 is running and closed at the given time.
  ASSERT_EQ(r.records.size(), 6u);
  EXPECT_EQ(r.skipped, 0u);
  std::vector<std::string> ids;
  for (const Record& rec : r.records) ids.push_back(rec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1001", "1002_1", "1002_2", "1003", "1004", "1006"}));

  const Record& a = by_id(r, "1001");
  EXPECT_EQ(a.start->to_string(), "2026-06-02T08:00:00Z");
  EXPECT_EQ(a.end->to_string(), "2026-06-02T10:30:00Z");
  EXPECT_EQ(a.count->to_string(), "4");  // gres/gpu=4 beside gres/gpu:h100=4: not 8
  EXPECT_EQ(*a.sku, "onprem/h100");
  EXPECT_EQ(*a.tier, "reserved");
  EXPECT_EQ(a.origin, "jobs.txt line 2");
  EXPECT_FALSE(a.pool.has_value());
  EXPECT_EQ(tags_text(a.tags), "account=nlp experiment=llama-ft job_id=1001 partition=gpu project=llama team=nlp user=alice");

  const Record& arr = by_id(r, "1002_1");  // array element
  EXPECT_EQ(arr.start->to_string(), "2026-06-02T11:00:00Z");
  EXPECT_EQ(arr.end->to_string(), "2026-06-02T12:00:07Z");
  EXPECT_EQ(arr.count->to_string(), "2");
  EXPECT_EQ(arr.origin, "jobs.txt line 6");

  const Record& failed = by_id(r, "1002_2");  // FAILED after 42 s: it held its GPUs
  EXPECT_EQ(failed.end->to_string(), "2026-06-02T11:00:42Z");

  const Record& cancelled = by_id(r, "1003");  // CANCELLED after running 45 minutes
  EXPECT_EQ(cancelled.count->to_string(), "8");  // typed only: a100=6 + h100=2
  EXPECT_EQ(cancelled.start->to_string(), "2026-06-02T07:00:00Z");
  EXPECT_EQ(cancelled.end->to_string(), "2026-06-02T07:45:00Z");
  EXPECT_EQ(tags_text(cancelled.tags), "account=vision experiment=sd-train job_id=1003 partition=gpu team=vision user=bob");

  const Record& running = by_id(r, "1004");
  EXPECT_EQ(running.start->to_string(), "2026-06-02T13:00:00Z");
  EXPECT_EQ(running.end->to_string(), "2026-06-02T14:00:00Z");
  EXPECT_EQ(tags_text(running.tags), "account=vision experiment=jupyter job_id=1004 partition=interactive user=carol");

  const Record& timeout = by_id(r, "1006");  // gres/gpumem and gres/gpuutil are not GPUs
  EXPECT_EQ(timeout.count->to_string(), "1");
  EXPECT_EQ(timeout.end->to_string(), "2026-06-02T10:00:01Z");
}

TEST(IngestSacct, DefaultsUtcNoTierNoExtraTags) {
  const IngestResult r = parse(read_data("jobs.txt"), options({{"sku", S("onprem/h100")}, {"running", S("skip")}}));
  ASSERT_EQ(r.records.size(), 5u);  // the running job is skipped
  const Record& a = by_id(r, "1001");
  EXPECT_EQ(a.start->to_string(), "2026-06-02T10:00:00Z");
  EXPECT_FALSE(a.tier.has_value());
  EXPECT_EQ(tags_text(a.tags), "account=nlp experiment=llama-ft job_id=1001 partition=gpu user=alice");
}

TEST(IngestSacct, RunningJobIsAnErrorByDefault) {
  EXPECT_EQ(error_of(read_data("jobs.txt"), options({{"sku", S("onprem/h100")}})),
            "jobs.txt line 13: End: job 1004 has not ended (End \"Unknown\"); set the option running to \"skip\" or to a "
            "time to close running jobs at");
  // Closing before the job started is an error too.
  EXPECT_EQ(error_of(read_data("jobs.txt"), options({{"sku", S("onprem/h100")}, {"running", S("2026-06-02T12:00:00Z")}})),
            "jobs.txt line 13: End: the time running jobs are closed at (2026-06-02T12:00:00Z) is before the job's Start "
            "(2026-06-02T15:00:00Z)");
}

TEST(IngestSacct, CpuJobsCanBeAnError) {
  EXPECT_EQ(error_of(read_data("jobs.txt"),
                     options({{"sku", S("onprem/h100")}, {"running", S("skip")}, {"cpu_jobs", S("error")}})),
            "jobs.txt line 15: AllocTRES: job 1005 was allocated no GPUs (\"billing=16,cpu=16,mem=32G,node=1\")");
}

TEST(IngestSacct, WckeyTags) {
  const IngestResult r =
      parse(read_data("jobs.txt"), options({{"sku", S("onprem/h100")}, {"running", S("skip")}, {"tags_from", S("WCKey")}}));
  EXPECT_EQ(tags_text(by_id(r, "1001").tags),
            "account=nlp experiment=llama-ft job_id=1001 partition=gpu team=nlp user=alice");  // "*nlp": a default WCKey
  EXPECT_EQ(tags_text(by_id(r, "1002_1").tags),
            "account=nlp experiment=llama-ft job_id=1002_1 partition=gpu project=llama team=nlp user=alice");
  EXPECT_EQ(tags_text(by_id(r, "1003").tags),
            "account=vision experiment=sd-train job_id=1003 partition=gpu team=vision user=bob");
}

TEST(IngestSacct, ExperimentFromAnotherColumnAndColumnsInAnyOrder) {
  const std::string text =
      "AllocTRES|End|Start|JobID|WCKey\n"
      "cpu=4,gres/gpu:l4=1|2026-06-02T01:00:00|2026-06-02T00:00:00|77|sweep-7\n";
  const IngestResult r = parse(text, options({{"sku", S("s")}, {"experiment_from", S("WCKey")}}));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(tags_text(r.records[0].tags), "experiment=sweep-7 job_id=77");
  EXPECT_EQ(r.records[0].count->to_string(), "1");
}

TEST(IngestSacct, ParsableWithTrailingSeparatorAndCrlf) {
  // `sacct -p` (not -P) ends every line with a `|`.
  const std::string text =
      "JobID|JobName|Start|End|AllocTRES|\r\n"
      "9|x|2026-06-02T00:00:00|2026-06-02T00:00:10|gres/gpu=3|\r\n";
  const IngestResult r = parse(text, options({{"sku", S("s")}}));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].count->to_string(), "3");
  EXPECT_EQ(r.records[0].end->to_string(), "2026-06-02T00:00:10Z");
}

TEST(IngestSacct, MalformedRowsNameTheLine) {
  const std::string text = read_data("malformed.txt");
  const Value base = options({{"sku", S("s")}, {"tags_from", S("Comment")}});
  EXPECT_EQ(error_of(text, base, "bad.txt"), "bad.txt line 3: has 10 fields separated by |, the header has 12");
  const std::vector<std::string> expected{
      "bad.txt line 3: has 10 fields separated by |, the header has 12",
      "bad.txt line 4: Start: not a time of the form 2026-06-02T10:00:00 (got \"2026-06-02 10:00\")",
      "bad.txt line 5: Comment: not a JSON object of string tags (line 1, column 1: syntax error while parsing value - invalid "
      "literal; last read: 't')",
      "bad.txt line 6: End: 2026-06-02T11:00:00Z is before Start 2026-06-02T12:00:00Z",
      "bad.txt line 7: AllocTRES: gres/gpu must be a whole number of GPUs (got \"1.5\")",
      "bad.txt line 8: End: not a time of the form 2026-06-02T10:00:00 (got \"2026-13-02T11:00:00\")",
      "bad.txt line 9: JobID: job 2001 is also on line 2 (sacct -D lists every requeued run under one JobID)",
  };
  // Command-line style: every option a string.
  const IngestResult r = parse(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}, {"skip_invalid", S("true")}}), "bad.txt");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].id, "2001");
  EXPECT_EQ(r.records[1].id, "2008");
  EXPECT_EQ(r.records[1].origin, "bad.txt line 10");
  EXPECT_EQ(r.skipped, 7u);
  ASSERT_EQ(r.skipped_reasons.size(), 7u);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (i == 2) {  // the JSON parser's wording is its own: check the start only
      EXPECT_EQ(r.skipped_reasons[i].rfind("bad.txt line 5: Comment: not a JSON object of string tags (", 0), 0u)
          << r.skipped_reasons[i];
      continue;
    }
    EXPECT_EQ(r.skipped_reasons[i], expected[i]);
  }
  // And the JSON flag spelling.
  EXPECT_EQ(parse(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}, {"skip_invalid", Value::boolean(true)}}))
                .skipped,
            7u);
}

TEST(IngestSacct, CommentTagsMayNotOverrideColumns) {
  const std::string text = header +
                           "5|x|u|a|p|COMPLETED|2026-06-02T00:00:00|2026-06-02T00:00:10|10|gres/gpu=1|{\"user\":\"mallory\"}|\n";
  EXPECT_EQ(error_of(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}})),
            "jobs.txt line 2: Comment: tag \"user\" is already set from the job's own columns");
  const std::string not_strings = header +
                                  "5|x|u|a|p|COMPLETED|2026-06-02T00:00:00|2026-06-02T00:00:10|10|gres/gpu=1|{\"n\":1}|\n";
  EXPECT_EQ(error_of(not_strings, options({{"sku", S("s")}, {"tags_from", S("Comment")}})).rfind(
                "jobs.txt line 2: Comment: not a JSON object of string tags (", 0),
            0u);
}

TEST(IngestSacct, HeaderAndOptionErrors) {
  EXPECT_EQ(error_of("", options({{"sku", S("s")}})), "jobs.txt line 1: expected the sacct -P header line");
  EXPECT_EQ(error_of("JobID|Start|End\n1|x|y\n", options({{"sku", S("s")}})),
            "jobs.txt line 1: missing column \"AllocTRES\" (sacct -P --format=JobID,JobName,Start,End,AllocTRES,...)");
  EXPECT_EQ(error_of("JobID|Start|End|AllocTRES|JobName|jobid\n", options({{"sku", S("s")}})),
            "jobs.txt line 1: column \"jobid\" given twice");
  EXPECT_EQ(error_of(header, options({})), "inputs[0]: missing required key \"sku\"");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"timezone", S("Europe/Berlin")}})),
            "inputs[0].timezone: must be \"UTC\" or a fixed offset such as \"+02:00\" (got \"Europe/Berlin\")");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"running", S("later")}})),
            "inputs[0].running: must be \"error\", \"skip\" or an RFC 3339 time to close running jobs at (got \"later\")");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"cpu_jobs", S("keep")}})),
            "inputs[0].cpu_jobs: must be \"skip\" or \"error\" (got \"keep\")");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"tags_from", S("Comment,WCKey")}})),
            "inputs[0].tags_from: must be \"Comment\", \"WCKey\" or \"none\" (got \"Comment,WCKey\")");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"skip_invalid", S("yes")}})), "inputs[0].skip_invalid: must be true or false");
  // An option the format does not take is left for the caller's finish() to refuse.
  EXPECT_THROW(parse(header, options({{"sku", S("s")}, {"pool", S("p")}})), SpecError);
  // A header alone yields no records; UTC spelled out and a negative offset are accepted.
  EXPECT_TRUE(parse(header, options({{"sku", S("s")}, {"timezone", S("UTC")}})).records.empty());
  const IngestResult west = parse(
      header + "1|x|u|a|p|COMPLETED|2026-06-02T23:30:00|2026-06-03T00:30:00|3600|gres/gpu=1||\n",
      options({{"sku", S("s")}, {"timezone", S("-05:00")}}));
  EXPECT_EQ(west.records.at(0).start->to_string(), "2026-06-03T04:30:00Z");
}

TEST(IngestSacct, OutputDependsOnlyOnInput) {
  const Value opts = options({{"sku", S("onprem/h100")}, {"running", S("skip")}, {"tags_from", S("Comment")}});
  EXPECT_EQ(ingest_result_to_json(parse(read_data("jobs.txt"), opts)), ingest_result_to_json(parse(read_data("jobs.txt"), opts)));
}

TEST(IngestSacct, PricedEndToEndByPerExperiment) {
  const IngestResult r = parse(read_data("jobs.txt"), options({{"sku", S("onprem/h100")},
                                                               {"timezone", S("+02:00")},
                                                               {"running", S("skip")},
                                                               {"tags_from", S("Comment")}}));
  auto catalog = std::make_shared<Catalog>();
  Sku sku;
  sku.id = "onprem/h100";
  Price price;
  price.rate = Decimal::parse("2.50");
  sku.prices = {price};
  catalog->add(sku);

  Allocation a;
  a.catalog = catalog;
  a.records = r.records;
  a.steps.push_back(Step{"runs", std::make_shared<PerExperiment>(), std::nullopt, {}, {}});
  const Result result = run(a);
  const Line* llama = nullptr;
  for (const Line& line : result.lines)
    if (line.tags.get("experiment") == "llama-ft") llama = &line;
  ASSERT_NE(llama, nullptr);
  // llama-ft: 1001 4 GPUs x 9000 s + 1002_1 2 x 3607 s + 1002_2 2 x 42 s = 43298 GPU-seconds;
  // at 2.50 per GPU-hour: 43298 x 2.50 / 3600 = 30.0680555... -> 30.07.
  EXPECT_EQ(llama->cost.to_fixed(2), "30.07");
  EXPECT_EQ(llama->exact_cost, Rational(108245, 3600));
  EXPECT_EQ(*llama->gpu_hours, Rational(43298, 3600));
  // Every run is priced: sd-train 8 x 2700 s x 2.50 / 3600 = 15.00, eval 1 x 3601 s = 2.500694.. -> 2.50.
  std::vector<std::string> lines;
  for (const Line& line : result.lines) lines.push_back(std::string(line.tags.get("experiment").value_or("")) + " " + line.cost.to_fixed(2));
  EXPECT_EQ(lines, (std::vector<std::string>{"eval 2.50", "llama-ft 30.07", "sd-train 15.00"}));
}

}  // namespace
