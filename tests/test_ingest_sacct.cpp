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
  // are not runs; 1004 is running and closed at the given time; 1003 holds two GPU types,
  // one record each.
  ASSERT_EQ(r.records.size(), 7u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.rows, 16u);  // every data line, job steps included
  EXPECT_TRUE(r.warnings.empty());
  std::vector<std::string> ids;
  for (const Record& rec : r.records) ids.push_back(rec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1001", "1002_1", "1002_2", "1003:a100", "1003:h100", "1004", "1006"}));

  const Record& a = by_id(r, "1001");
  EXPECT_EQ(a.start->to_string(), "2026-06-02T08:00:00Z");
  EXPECT_EQ(a.end->to_string(), "2026-06-02T10:30:00Z");
  EXPECT_EQ(a.count->to_string(), "4");  // gres/gpu=4 beside gres/gpu:h100=4: not 8
  EXPECT_EQ(*a.sku, "onprem/h100");
  EXPECT_EQ(*a.tier, "reserved");
  EXPECT_EQ(a.origin, "jobs.txt line 2");
  EXPECT_FALSE(a.pool.has_value());
  EXPECT_EQ(tags_text(a.tags),
            "account=nlp experiment=llama-ft gpu_type=h100 job_id=1001 partition=gpu project=llama team=nlp user=alice");

  const Record& arr = by_id(r, "1002_1");  // array element
  EXPECT_EQ(arr.start->to_string(), "2026-06-02T11:00:00Z");
  EXPECT_EQ(arr.end->to_string(), "2026-06-02T12:00:07Z");
  EXPECT_EQ(arr.count->to_string(), "2");
  EXPECT_EQ(arr.origin, "jobs.txt line 6");
  EXPECT_FALSE(arr.tags.contains("gpu_type"));  // gres/gpu=2 alone: the type is not tracked

  const Record& failed = by_id(r, "1002_2");  // FAILED after 42 s: it held its GPUs
  EXPECT_EQ(failed.end->to_string(), "2026-06-02T11:00:42Z");

  const Record& cancelled = by_id(r, "1003:a100");  // CANCELLED after running 45 minutes
  EXPECT_EQ(cancelled.count->to_string(), "6");        // typed only: a100=6 here, h100=2 beside it
  EXPECT_EQ(by_id(r, "1003:h100").count->to_string(), "2");
  EXPECT_EQ(cancelled.start->to_string(), "2026-06-02T07:00:00Z");
  EXPECT_EQ(cancelled.end->to_string(), "2026-06-02T07:45:00Z");
  EXPECT_EQ(tags_text(cancelled.tags),
            "account=vision experiment=sd-train gpu_type=a100 job_id=1003 partition=gpu team=vision user=bob");

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
  ASSERT_EQ(r.records.size(), 6u);  // the running job is skipped
  const Record& a = by_id(r, "1001");
  EXPECT_EQ(a.start->to_string(), "2026-06-02T10:00:00Z");
  EXPECT_FALSE(a.tier.has_value());
  EXPECT_EQ(tags_text(a.tags), "account=nlp experiment=llama-ft gpu_type=h100 job_id=1001 partition=gpu user=alice");
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
            "account=nlp experiment=llama-ft gpu_type=h100 job_id=1001 partition=gpu team=nlp user=alice");  // "*nlp": a default WCKey
  EXPECT_EQ(tags_text(by_id(r, "1002_1").tags),
            "account=nlp experiment=llama-ft job_id=1002_1 partition=gpu project=llama team=nlp user=alice");
  EXPECT_EQ(tags_text(by_id(r, "1003:h100").tags),
            "account=vision experiment=sd-train gpu_type=h100 job_id=1003 partition=gpu team=vision user=bob");
}

TEST(IngestSacct, ExperimentFromAnotherColumnAndColumnsInAnyOrder) {
  const std::string text =
      "AllocTRES|End|Start|JobID|WCKey\n"
      "cpu=4,gres/gpu:l4=1|2026-06-02T01:00:00|2026-06-02T00:00:00|77|sweep-7\n";
  const IngestResult r = parse(text, options({{"sku", S("s")}, {"experiment_from", S("WCKey")}}));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(tags_text(r.records[0].tags), "experiment=sweep-7 gpu_type=l4 job_id=77");
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
      "bad.txt line 9: JobID: job 2001 is also on line 2 with the same Start (a line given twice?)",
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

TEST(IngestSacct, CommentTagsMayNotSetTheJobsOwnTags) {
  for (const char* key : {"job_id", "gpu_type"}) {
    const std::string text = header + "5|x|u|a|p|COMPLETED|2026-06-02T00:00:00|2026-06-02T00:00:10|10|gres/gpu:a100=1,gres/gpu=1|{\"" +
                             key + "\":\"7\"}|\n";
    EXPECT_EQ(error_of(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}})),
              "jobs.txt line 2: Comment: tag \"" + std::string(key) +
                  "\" is the job's own (from JobID and AllocTRES) and may not be set here");
  }
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

// ---- Month windows, GPU types and partitions, requeues, the Comment convention ----------
// The files below are `sacct -P -X -D --format=JobID,JobName,User,Account,Partition,State,
// Start,End,ElapsedRaw,AllocTRES,Comment,WCKey` output as docs/ingest.md asks for it. Their
// shapes follow Slurm's own documentation (SchedMD/slurm doc/man/man1/sacct.1): -S/-E select
// every job that ran in the window and print its real Start and End (-T would cut them);
// -D lists each run of a requeued job under its one JobID; -P prints every field as it is,
// no quoting, '|' between fields, or --delimiter's characters. AllocTRES holds the untyped
// gres/gpu total beside a typed gres/gpu:TYPE count for each type named in
// AccountingStorageTRES (doc/html/tres.shtml: "include its generic type" beside
// gres/gpu:tesla), so an untracked type shows as the untyped total alone.

Sku sku_with(std::string id, std::vector<Price> prices, Billing billing = Billing::per_second) {
  Sku sku;
  sku.id = std::move(id);
  sku.billing = billing;
  sku.prices = std::move(prices);
  return sku;
}

Price price_of(const char* rate, std::string tier = "on_demand", std::optional<Instant> from = std::nullopt) {
  Price p;
  p.rate = Decimal::parse(rate);
  p.tier = std::move(tier);
  p.from = from;
  return p;
}

// The runs priced by per_experiment, grouped by `key`: value -> exact cost.
std::map<std::string, Rational> priced(const IngestResult& r, std::shared_ptr<const Catalog> catalog, const std::string& key) {
  Allocation a;
  a.catalog = std::move(catalog);
  a.records = r.records;
  a.steps.push_back(Step{"runs", std::make_shared<PerExperiment>(), std::nullopt, {key}, {}});
  std::map<std::string, Rational> out;
  for (const Line& line : run(a).lines) out[std::string(line.tags.get(key).value_or(""))] = line.exact_cost;
  return out;
}

// June's price list: 2.40 per GPU-hour in May, 2.00 from June 1.
std::shared_ptr<const Catalog> h100_may_june(Billing billing = Billing::per_second) {
  auto c = std::make_shared<Catalog>();
  c->add(sku_with("onprem/h100", {price_of("2.40"), price_of("2.00", "on_demand", Instant::parse("2026-06-01T00:00:00Z"))},
                  billing));
  return c;
}

TEST(IngestSacct, AMonthWindowClipsRunsSoTheMonthsSumToTheJob) {
  const std::string text = read_data("month-boundary.txt");
  const auto window = [](const char* start, const char* end) {
    return options({{"sku", S("onprem/h100")}, {"tags_from", S("Comment")}, {"start", S(start)}, {"end", S(end)}});
  };
  const IngestResult may = parse(text, window("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"), "month.txt");
  const IngestResult june = parse(text, window("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"), "month.txt");
  const IngestResult whole = parse(text, options({{"sku", S("onprem/h100")}, {"tags_from", S("Comment")}}), "month.txt");
  EXPECT_EQ(may.rows, 4u);
  // 3001 ran from May 31 20:00 to June 1 04:00: four hours in each month, the window of
  // each month's record, beside the run's real times.
  ASSERT_EQ(may.records.size(), 2u);
  EXPECT_EQ(by_id(may, "3001").start->to_string(), "2026-05-31T20:00:00Z");
  EXPECT_EQ(by_id(may, "3001").end->to_string(), "2026-06-01T04:00:00Z");
  EXPECT_EQ(by_id(may, "3001").window, Interval(Instant::parse("2026-05-31T20:00:00Z"), Instant::parse("2026-06-01T00:00:00Z")));
  ASSERT_EQ(june.records.size(), 2u);
  EXPECT_EQ(by_id(june, "3001").window, Interval(Instant::parse("2026-06-01T00:00:00Z"), Instant::parse("2026-06-01T04:00:00Z")));
  EXPECT_FALSE(by_id(whole, "3001").window.has_value());
  // A job wholly in the other month is left out and told, not silently dropped.
  EXPECT_EQ(may.warnings, (std::vector<std::string>{
                              "month.txt: 1 job ran wholly outside the window (from 2026-05-01T00:00:00Z until "
                              "2026-06-01T00:00:00Z) and is left out: line 5 (job 3003, 2026-06-15T12:00:00Z to "
                              "2026-06-15T14:00:00Z)"}));
  EXPECT_EQ(june.warnings, (std::vector<std::string>{
                               "month.txt: 1 job ran wholly outside the window (from 2026-06-01T00:00:00Z until "
                               "2026-07-01T00:00:00Z) and is left out: line 4 (job 3002, 2026-05-10T09:00:00Z to "
                               "2026-05-10T10:30:00Z)"}));
  EXPECT_EQ(may.skipped, 0u);
  EXPECT_TRUE(whole.warnings.empty());

  // Priced per second at 2.40 in May and 2.00 from June 1: May 8 GPUs x 4 h x 2.40 = 76.80,
  // June 8 x 4 h x 2.00 = 64.00; the whole job 76.80 + 64.00 = 140.80. Without the window
  // each month was billed the whole 140.80.
  const auto catalog = h100_may_june();
  const auto may_cost = priced(may, catalog, "experiment");
  const auto june_cost = priced(june, catalog, "experiment");
  const auto whole_cost = priced(whole, catalog, "experiment");
  EXPECT_EQ(may_cost.at("llama-pretrain"), Rational(7680, 100));
  EXPECT_EQ(june_cost.at("llama-pretrain"), Rational(64));
  EXPECT_EQ(may_cost.at("llama-pretrain") + june_cost.at("llama-pretrain"), whole_cost.at("llama-pretrain"));
  EXPECT_EQ(may_cost.at("vit-eval"), Rational(360, 100));  // 1 x 1.5 h x 2.40
  EXPECT_EQ(june_cost.at("sd-finetune"), Rational(8));     // 2 x 2 h x 2.00
  EXPECT_FALSE(may_cost.contains("sd-finetune"));
}

TEST(IngestSacct, EachMonthCarriesItsPartOfTheWholeBilledRun) {
  // Billed per started hour, the run is billed as a whole and each month takes its part:
  // 1 GPU from May 31 20:30 to June 1 04:30 is billed 8 h at its average rate
  // (3.5 x 2.40 + 4.5 x 2.00) / 8 = 2.175: 17.40. May carries 8.40 of the 17.40 rate-hours:
  // 8.40, June 9.00. Each part billed on its own would round up twice: 9.60 + 10.00.
  const std::string text =
      header + "7|x|u|a|gpu|COMPLETED|2026-05-31T20:30:00|2026-06-01T04:30:00|28800|gres/gpu=1||\n";
  const auto catalog = h100_may_june(Billing::per_hour);
  const auto cost = [&](std::vector<Value::Member> window) {
    window.emplace_back("sku", S("onprem/h100"));
    return priced(parse(text, options(std::move(window))), catalog, "experiment").at("x");
  };
  const Rational may = cost({{"end", S("2026-06-01T00:00:00Z")}}), june = cost({{"start", S("2026-06-01T00:00:00Z")}});
  EXPECT_EQ(may, Rational(840, 100));
  EXPECT_EQ(june, Rational(9));
  EXPECT_EQ(may + june, cost({}));
  EXPECT_EQ(cost({}), Rational(1740, 100));
  // The record keeps the run's real times; the window is the part it bills.
  const Record r = parse(text, options({{"sku", S("onprem/h100")}, {"end", S("2026-06-01T00:00:00Z")}})).records.at(0);
  EXPECT_EQ(r.start->to_string(), "2026-05-31T20:30:00Z");
  EXPECT_EQ(r.end->to_string(), "2026-06-01T04:30:00Z");
  ASSERT_TRUE(r.window.has_value());
  EXPECT_EQ(r.window->end().to_string(), "2026-06-01T00:00:00Z");
  EXPECT_EQ(r.run_hours(), Rational(7, 2));
}

TEST(IngestSacct, WindowEdgesAndOptionErrors) {
  // A run ending where the window starts is outside it; one starting where it ends too.
  const std::string text = header +
                           "1|a|u|x|gpu|COMPLETED|2026-05-31T22:00:00|2026-06-01T00:00:00|7200|gres/gpu=1||\n"
                           "2|b|u|x|gpu|COMPLETED|2026-07-01T00:00:00|2026-07-01T01:00:00|3600|gres/gpu=1||\n"
                           "3|c|u|x|gpu|COMPLETED|2026-06-01T00:00:00|2026-06-01T00:00:00|0|gres/gpu=1||\n";
  const IngestResult june = parse(
      text, options({{"sku", S("s")}, {"start", S("2026-06-01T00:00:00Z")}, {"end", S("2026-07-01T00:00:00Z")}}));
  ASSERT_EQ(june.records.size(), 1u);
  EXPECT_EQ(june.records[0].id, "3");  // an instant at the window's start is in it
  ASSERT_EQ(june.warnings.size(), 1u);
  EXPECT_EQ(june.warnings[0].rfind("jobs.txt: 2 jobs ran wholly outside the window (from 2026-06-01T00:00:00Z until "
                                   "2026-07-01T00:00:00Z) and are left out: line 2 (job 1, ",
                                   0),
            0u)
      << june.warnings[0];
  // A running job closed at the window's end.
  const IngestResult running = parse(header + "4|d|u|x|gpu|RUNNING|2026-06-30T20:00:00|Unknown|0|gres/gpu=2||\n",
                                     options({{"sku", S("s")}, {"running", S("2026-07-01T00:00:00Z")},
                                              {"start", S("2026-06-01T00:00:00Z")}, {"end", S("2026-07-01T00:00:00Z")}}));
  EXPECT_EQ(running.records.at(0).end->to_string(), "2026-07-01T00:00:00Z");

  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"start", S("2026-06-01")}})).substr(0, 17), "inputs[0].start: ");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"start", S("2026-06-01T00:00:00Z")}, {"end", S("2026-06-01T00:00:00Z")}})),
            "inputs[0].end: must be after start (2026-06-01T00:00:00Z)");
}

TEST(IngestSacct, GpuTypeAndPartitionPickTheSkuAndTier) {
  // A mixed cluster: A100 and H100 tracked by type, an L4 node whose type is not tracked
  // (gres/gpu=1 alone), an L40S, and a preemptible partition gpu-spot; 4002 was requeued
  // after an hour (sacct -D: two runs under one JobID, each with its own Start).
  const IngestResult r = parse(read_data("mixed-cluster.txt"),
                               options({{"sku", Value::object({{"a100", S("onprem/a100")},
                                                               {"h100", S("onprem/h100")},
                                                               {"*", S("onprem/l4")}})},
                                        {"tier", Value::object({{"gpu-spot", S("spot")}, {"*", S("on_demand")}})},
                                        {"tags_from", S("Comment")}}),
                               "mixed.txt");
  EXPECT_EQ(r.rows, 8u);
  std::vector<std::string> runs;
  for (const Record& rec : r.records)
    runs.push_back(rec.id + " " + *rec.sku + " " + *rec.tier + " " + rec.count->to_string() + " " +
                   std::string(rec.tags.get("gpu_type").value_or("-")));
  EXPECT_EQ(runs, (std::vector<std::string>{
                      "4001 onprem/a100 on_demand 4 a100",
                      "4002@2026-06-02T08:00:00Z onprem/h100 spot 8 h100",
                      "4002@2026-06-02T09:30:00Z onprem/h100 spot 8 h100",
                      "4003:a100 onprem/a100 on_demand 4 a100",  // two types: one record each
                      "4003:h100 onprem/h100 on_demand 4 h100",
                      "4004 onprem/l4 on_demand 1 -",  // untyped: the "*" SKU
                      "4005 onprem/l4 on_demand 1 l40s",  // a type not named: the "*" SKU
                  }));
  EXPECT_EQ(by_id(r, "4002@2026-06-02T08:00:00Z").tags.get("job_id"), "4002");

  // a100 1.80, h100 2.40 (spot 1.20), l4 0.60 per GPU-hour. nlp: 4001 4 x 2 h x 1.80 = 14.40,
  // 4003 4 x 1 h x 1.80 + 4 x 1 h x 2.40 = 16.80: 31.20. cv: 4002 8 x 1 h x 1.20 + 8 x 2.5 h x
  // 1.20 = 33.60, 4005 0.5 h x 0.60 = 0.30: 33.90. research: 4004 1 h x 0.60 = 0.60. (Before,
  // every GPU was one SKU and tier, nlp 8 x 2 h + 8 x 1 h at 2.40 = 38.40, and 4002's second
  // run was refused as a duplicate JobID.)
  auto catalog = std::make_shared<Catalog>();
  catalog->add(sku_with("onprem/a100", {price_of("1.80")}));
  catalog->add(sku_with("onprem/h100", {price_of("2.40"), price_of("1.20", "spot")}));
  catalog->add(sku_with("onprem/l4", {price_of("0.60")}));
  const auto teams = priced(r, catalog, "team");
  EXPECT_EQ(teams, (std::map<std::string, Rational>{{"cv", Rational(3390, 100)}, {"nlp", Rational(3120, 100)},
                                                    {"research", Rational(60, 100)}}));
  const auto types = priced(r, catalog, "gpu_type");
  EXPECT_EQ(types.at("a100"), Rational(2160, 100));
  EXPECT_EQ(types.at("h100"), Rational(4320, 100));

  // The same maps as command-line text.
  EXPECT_EQ(ingest_result_to_json(parse(read_data("mixed-cluster.txt"),
                                        options({{"sku", S("a100=onprem/a100,h100=onprem/h100,*=onprem/l4")},
                                                 {"tier", S("gpu-spot=spot,*=on_demand")},
                                                 {"tags_from", S("Comment")}}),
                                        "mixed.txt")),
            ingest_result_to_json(r));
}

TEST(IngestSacct, AGpuTypeOrPartitionWithoutAMappingIsARowError) {
  const std::string text = read_data("mixed-cluster.txt");
  const Value typed_only = Value::object({{"a100", S("onprem/a100")}, {"h100", S("onprem/h100")}});
  const IngestResult r = parse(
      text, options({{"sku", typed_only}, {"tier", Value::object({{"gpu", S("on_demand")}, {"gpu-spot", S("spot")}})},
                     {"skip_invalid", Value::boolean(true)}}),
      "mixed.txt");
  EXPECT_EQ(r.skipped_reasons,
            (std::vector<std::string>{
                "mixed.txt line 8: Partition: job 4004 ran in partition \"interactive\", which the option tier does not "
                "map (add it, or \"*\" for the rest)",
                "mixed.txt line 9: AllocTRES: job 4005 has 1 GPU of type \"l40s\", which the option sku does not map "
                "(add \"l40s\", or \"*\" for the rest)"}));
  EXPECT_EQ(error_of(text, options({{"sku", typed_only}}), "mixed.txt"),
            "mixed.txt line 8: AllocTRES: job 4004 has 1 GPU of no type (\"billing=8,cpu=8,gres/gpu=1,mem=64G,node=1\") "
            "and the option sku has no \"*\" for them");
  // Typed counts above the untyped total cannot be.
  EXPECT_EQ(error_of(header + "1|a|u|x|gpu|COMPLETED|2026-06-01T00:00:00|2026-06-01T01:00:00|3600|gres/gpu:a100=4,gres/gpu=2||\n",
                     options({{"sku", S("s")}})),
            "jobs.txt line 2: AllocTRES: the typed GPU counts (4) exceed gres/gpu (2)");
  // The maps' own errors.
  EXPECT_EQ(error_of(header, options({{"sku", Value::object({})}})), "inputs[0].sku: must not be empty");
  EXPECT_EQ(error_of(header, options({{"sku", S("a100=,h100=x")}})), "inputs[0].sku: a GPU type and its value must not be empty");
  EXPECT_EQ(error_of(header, options({{"sku", S("a100=x,a100=y")}})), "inputs[0].sku: GPU type \"a100\" given twice");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"tier", S("gpu=spot,cpu")}})),
            "inputs[0].tier: \"cpu\" is not partition=value");
  EXPECT_EQ(error_of("JobID|Start|End|AllocTRES|JobName\n", options({{"sku", S("s")}, {"tier", S("gpu=spot")}})),
            "jobs.txt line 1: missing column \"Partition\" (sacct -P --format=JobID,JobName,Start,End,AllocTRES,...)");
}

TEST(IngestSacct, CommentTagsWinOverTheColumns) {
  // The field's convention: sbatch --comment='{"team":"nlp","project":"llama-70b-finetune",
  // "experiment":"run-42"}'. sacct -P prints the JSON as it was written; its experiment (and
  // a user written there) win over JobName and User.
  const IngestResult r = parse(read_data("comment-tags.txt"),
                               options({{"sku", S("onprem/h100")}, {"tags_from", S("Comment")}, {"skip_invalid", S("true")}}));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(tags_text(by_id(r, "5001").tags),
            "account=nlp experiment=run-42 gpu_type=h100 job_id=5001 partition=gpu project=llama-70b-finetune team=nlp "
            "user=alice");
  EXPECT_EQ(tags_text(by_id(r, "5002").tags),
            "account=nlp experiment=run-43 gpu_type=h100 job_id=5002 partition=gpu project=llama-70b-finetune team=nlp "
            "user=nlp-bot");
  // A '|' inside a comment splits the field: sacct does not escape it.
  EXPECT_EQ(r.skipped_reasons, (std::vector<std::string>{"jobs.txt line 4: has 13 fields separated by |, the header has 12"}));
  // With sacct --delimiter=$'\t' (a tab never appears inside JSON text) the comment reads whole.
  const IngestResult tab = parse(read_data("comment-tab.txt"),
                                 options({{"sku", S("onprem/h100")}, {"tags_from", S("Comment")}, {"delimiter", S("\t")}}));
  ASSERT_EQ(tab.records.size(), 3u);
  EXPECT_EQ(by_id(tab, "5003").tags.get("note"), "ablation a|b");
  IngestResult tab_first_two, piped;
  tab_first_two.records = {tab.records[0], tab.records[1]};
  piped.records = r.records;
  EXPECT_EQ(ingest_result_to_json(tab_first_two), ingest_result_to_json(piped));
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"delimiter", S("")}})), "inputs[0].delimiter: must not be empty");
}

}  // namespace
