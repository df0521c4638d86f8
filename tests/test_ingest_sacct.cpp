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

// A copy, not a reference: callers pass the parse result as a temporary.
Record by_id(const IngestResult& r, std::string_view id) {
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
      "bad.txt line 6: End: 2026-06-02T11:00:00Z is before Start 2026-06-02T12:00:00Z",
      "bad.txt line 7: AllocTRES: gres/gpu must be a whole number of GPUs (got \"1.5\")",
      "bad.txt line 8: End: not a time of the form 2026-06-02T10:00:00 (got \"2026-13-02T11:00:00\")",
      "bad.txt line 9: JobID: job 2001 is also on line 2 with the same Start (a line given twice?)",
  };
  // Command-line style: every option a string.
  const IngestResult r = parse(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}, {"skip_invalid", S("true")}}), "bad.txt");
  // 2004's Comment "team=nlp" is free text, not a row in error: the job is kept (it was
  // refused, and skipped with skip_invalid, before).
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].id, "2001");
  EXPECT_EQ(r.records[1].id, "2004");
  EXPECT_EQ(r.records[2].id, "2008");
  EXPECT_EQ(r.records[2].origin, "bad.txt line 10");
  EXPECT_EQ(r.skipped_reasons, expected);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "bad.txt: 1 job has a Comment that is not a JSON object of tags, so only its columns tag it: "
                            "line 5 (job 2004)"}));
  // And the JSON flag spelling.
  EXPECT_EQ(parse(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}, {"skip_invalid", Value::boolean(true)}}))
                .skipped,
            6u);
}

TEST(IngestSacct, CommentTagsMayNotSetTheJobsOwnTags) {
  for (const char* key : {"job_id", "gpu_type"}) {
    const std::string text = header + "5|x|u|a|p|COMPLETED|2026-06-02T00:00:00|2026-06-02T00:00:10|10|gres/gpu:a100=1,gres/gpu=1|{\"" +
                             key + "\":\"7\"}|\n";
    EXPECT_EQ(error_of(text, options({{"sku", S("s")}, {"tags_from", S("Comment")}})),
              "jobs.txt line 2: Comment: tag \"" + std::string(key) +
                  "\" is the job's own (from JobID and AllocTRES) and may not be set here");
  }
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
  // The l40s GPUs were priced by "*" as L4s: told, so a missing or misspelt entry shows.
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "mixed.txt: GPU types the option sku does not name were priced as \"*\" (onprem/l4): l40s (1 job)"}));

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


// ---- Free-text comments, GPU sharing, MIG slices, GPU type spellings ---------------------
// Slurm's documentation for the shapes below (SchedMD/slurm): sacct.1 (Comment and WCKey
// are free strings, "WCKey: Workload Characterization Key. Arbitrary string"; NodeList is
// the job's nodes as a host list); doc/html/gres.shtml "Sharding" (a node's shards, e.g.
// `Gres=gpu:2,shard:64`, are spread over its GPUs, or given per GPU in gres.conf, and
// accounted as gres/shard when AccountingStorageTRES names it; testsuite test_140_1.py
// reads them back as `gres/shard=N`), "MPS Management" (gres/mps, typically Count=100 per
// GPU) and "MIG Management" (AutoDetect=nvml; a MIG GRES type is a part of the MIG Profile
// name such as `nvidia_a100_3g.20gb`, e.g. `AccountingStorageTRES=gres/gpu,gres/gpu:a100,
// gres/gpu:a100_3g.20gb`); src/plugins/gpu/nvml/gpu_nvml.c builds that name from the
// lower-cased GPU name cut at its first '-', then `_`, `Nc.` when a compute instance holds
// fewer slices than its GPU instance, and `Ng.Mgb`.

// The GPU-hours of every record: count x the run's hours.
Rational gpu_hours(const IngestResult& r) {
  Rational total = 0;
  for (const Record& rec : r.records) total += rec.run_hours();
  return total;
}

TEST(IngestSacct, AFreeTextCommentKeepsTheJobWithItsColumnTags) {
  // A cluster's comments mix the JSON convention with free text. Before, line 4 failed the
  // import (`Comment: not a JSON object of string tags`, exit 2) and skip_invalid dropped
  // 6002, 6004, 6005 and 6006: 10.25 of the 19.25 GPU-hours.
  const IngestResult r = parse(read_data("free-comments.txt"), options({{"sku", S("onprem/h100")}, {"tags_from", S("Comment")}}));
  EXPECT_EQ(r.rows, 7u);
  EXPECT_EQ(r.skipped, 0u);
  ASSERT_EQ(r.records.size(), 6u);
  // 6001 4 x 2 h + 6002 1 x 1 h + 6003 2 x 0.5 h + 6004 1 x 0.25 h + 6005 8 x 1 h + 6006 1 x 1 h.
  EXPECT_EQ(gpu_hours(r), Rational(77, 4));
  EXPECT_EQ(tags_text(by_id(r, "6002").tags), "account=vision experiment=eval gpu_type=h100 job_id=6002 partition=gpu user=bob");
  // Numbers and true/false are tags as written; null leaves the key out.
  EXPECT_EQ(tags_text(by_id(r, "6003").tags),
            "account=nlp experiment=sweep gpu_type=h100 job_id=6003 partition=gpu resume=true run=42 team=nlp user=carol");
  // A list or object value is no tag; the comment's other keys still are.
  EXPECT_EQ(tags_text(by_id(r, "6005").tags), "account=nlp experiment=train gpu_type=h100 job_id=6005 partition=gpu team=nlp user=erin");
  EXPECT_EQ(r.warnings,
            (std::vector<std::string>{
                "jobs.txt: 3 jobs have a Comment that is not a JSON object of tags, so only their columns tag them: line 4 "
                "(job 6002), line 6 (job 6004), line 8 (job 6006)",
                "jobs.txt: 1 job has Comment values that are lists or objects, left out of its tags: line 7 (job 6005, "
                "\"hparams\")"}));
  // Every GPU-hour is priced, at 2.40: nlp 6001 19.20 + 6003 2.40 + 6005 19.20 = 40.80; the
  // untagged 6002, 6004 and 6006, 2.25 h, 5.40. Together 19.25 x 2.40 = 46.20.
  auto catalog = std::make_shared<Catalog>();
  catalog->add(sku_with("onprem/h100", {price_of("2.40")}));
  EXPECT_EQ(priced(r, catalog, "team"), (std::map<std::string, Rational>{{"__unallocated__", Rational(540, 100)}, {"nlp", Rational(4080, 100)}}));

  // WCKey is an arbitrary string too: "vision,urgent" and "team=research,urgent" are
  // neither one name nor pairs (each was a row error before).
  const IngestResult w = parse(read_data("free-comments.txt"), options({{"sku", S("onprem/h100")}, {"tags_from", S("WCKey")}}));
  ASSERT_EQ(w.records.size(), 6u);
  EXPECT_EQ(tags_text(by_id(w, "6002").tags), "account=vision experiment=eval gpu_type=h100 job_id=6002 partition=gpu user=bob");
  EXPECT_EQ(by_id(w, "6003").tags.get("team"), "nlp");
  EXPECT_EQ(by_id(w, "6001").tags.get("project"), "llama");
  EXPECT_EQ(w.warnings, (std::vector<std::string>{
                            "jobs.txt: 2 jobs have a WCKey that is neither one name nor key=value pairs, so only their "
                            "columns tag them: line 4 (job 6002), line 6 (job 6004)"}));
}

TEST(IngestSacct, GpuTypesMatchWithoutCaseAndThoseLeftToStarAreTold) {
  // A trial's map named "a100" and "h100"; Slurm wrote A100 (a type in slurm.conf) and
  // nvidia_h100_80gb_hbm3 (AutoDetect=nvml's lower-cased device name). Before, both were
  // priced silently as the "*" L40S: nlp 9001 2 h x 0.80 + 9002, 9003 2 x 1 h x 0.80 each = 4.80.
  const Value map = Value::object({{"a100", S("onprem/a100")}, {"h100", S("onprem/h100")}, {"l40s", S("onprem/l40s")},
                                   {"*", S("onprem/l40s")}});
  const IngestResult r = parse(read_data("gpu-types.txt"), options({{"sku", map}, {"tags_from", S("Comment")}}));
  EXPECT_EQ(*by_id(r, "9001").sku, "onprem/a100");
  EXPECT_EQ(by_id(r, "9001").tags.get("gpu_type"), "A100");  // as Slurm wrote it
  EXPECT_EQ(*by_id(r, "9002").sku, "onprem/l40s");
  // Untyped GPUs (9005) are what "*" is for: not told.
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"jobs.txt: GPU types the option sku does not name were priced as \"*\" "
                                                  "(onprem/l40s): nvidia_h100_80gb_hbm3 (2 jobs)"}));
  auto catalog = std::make_shared<Catalog>();
  catalog->add(sku_with("onprem/a100", {price_of("2.10")}));
  catalog->add(sku_with("onprem/h100", {price_of("2.40")}));
  catalog->add(sku_with("onprem/l40s", {price_of("0.80")}));
  // nlp: 9001 2 h x 2.10 = 4.20, the H100s still at 0.80 as the warning says: 4.20 + 1.60 + 1.60.
  EXPECT_EQ(priced(r, catalog, "team").at("nlp"), Rational(740, 100));
  // With the type named (in any case), 4.20 + 2 x 2 x 2.40 = 13.80, and nothing to tell.
  const IngestResult fixed = parse(read_data("gpu-types.txt"),
                                   options({{"sku", S("A100=onprem/a100,NVIDIA_H100_80GB_HBM3=onprem/h100,L40S=onprem/l40s,*=onprem/l40s")},
                                            {"tags_from", S("Comment")}}));
  EXPECT_TRUE(fixed.warnings.empty());
  EXPECT_EQ(priced(fixed, catalog, "team").at("nlp"), Rational(1380, 100));
  EXPECT_EQ(error_of(header, options({{"sku", S("a100=x,A100=y")}})), "inputs[0].sku: GPU type \"A100\" given twice");
}

TEST(IngestSacct, GpuShardsArePricedByTheShardsOfAGpuOrTold) {
  // slurm.conf: NodeName=shared[1-4] Gres=gpu:l40s:4,shard:32 (8 shards a GPU) and
  // NodeName=big[1-2] Gres=gpu:l40s:8,shard:128 (16 a GPU); AccountingStorageTRES=gres/gpu,gres/shard.
  const std::string text = read_data("shards.txt");
  // Without shards_per_gpu they cannot be priced: left out and told. Before, they were
  // skipped as CPU jobs with no word: 5 of the 7 GPU-hours gone.
  const IngestResult none = parse(text, options({{"sku", S("onprem/l40s")}}));
  EXPECT_EQ(none.rows, 9u);
  ASSERT_EQ(none.records.size(), 1u);
  EXPECT_EQ(none.records[0].id, "7005");
  EXPECT_EQ(gpu_hours(none), Rational(2));
  EXPECT_EQ(none.warnings, (std::vector<std::string>{
                               "jobs.txt: 4 jobs held GPU shards (gres/shard), left out unpriced: give shards_per_gpu, the "
                               "shards each GPU has (gres.conf), to price them: line 2 (job 7001, 8 shards), line 4 (job "
                               "7002, 2 shards), line 5 (job 7003, 4 shards), line 6 (job 7004, 16 shards)"}));

  // By node, as slurm.conf gives them: 7001 8/8 = 1 GPU, 7002 2/8, 7003 4/16 on big2, 7004
  // 16/8 = 2 over shared1 and shared2.
  const IngestResult r =
      parse(text, options({{"sku", S("onprem/l40s")},
                           {"tags_from", S("Comment")},
                           {"shards_per_gpu", Value::object({{"shared[1-4]", Value::number("8")}, {"big[1-2]", S("16")}})}}));
  std::vector<std::string> counts;
  for (const Record& rec : r.records) counts.push_back(rec.id + " " + rec.count->to_string());
  EXPECT_EQ(counts, (std::vector<std::string>{"7001 1", "7002 0.25", "7003 0.25", "7004 2", "7005 2"}));
  EXPECT_EQ(gpu_hours(r), Rational(7));  // 2 + 0.25 + 0.75 + 2 + 2
  EXPECT_TRUE(r.warnings.empty());
  // At 0.80 a GPU-hour: nlp 7001 2 h + 7003 0.75 h + 7004 2 h = 4.75 h, 3.80; cv 0.25 h,
  // 0.20; research (7005, 2 whole GPUs for 1 h) 1.60.
  auto catalog = std::make_shared<Catalog>();
  catalog->add(sku_with("onprem/l40s", {price_of("0.80")}));
  EXPECT_EQ(priced(r, catalog, "team"), (std::map<std::string, Rational>{{"cv", Rational(20, 100)},
                                                                         {"nlp", Rational(380, 100)},
                                                                         {"research", Rational(160, 100)}}));
  // The command line's text form, and one number for every node (big2's 4 shards are then 0.5).
  EXPECT_EQ(ingest_result_to_json(parse(
                text, options({{"sku", S("onprem/l40s")}, {"tags_from", S("Comment")}, {"shards_per_gpu", S("shared[1-4]=8,big[1-2]=16")}}))),
            ingest_result_to_json(r));
  EXPECT_EQ(by_id(parse(text, options({{"sku", S("onprem/l40s")}, {"shards_per_gpu", S("8")}})), "7003").count->to_string(), "0.5");
  // "*" for the other nodes; a node neither names is a row error.
  EXPECT_EQ(by_id(parse(text, options({{"sku", S("onprem/l40s")}, {"shards_per_gpu", S("shared[1-4]=8,*=4")}})), "7003")
                .count->to_string(),
            "1");
  EXPECT_EQ(error_of(text, options({{"sku", S("onprem/l40s")}, {"shards_per_gpu", S("shared[1-4]=8")}})),
            "jobs.txt line 5: NodeList: job 7003 ran on node \"big2\", which the option shards_per_gpu does not map (add it, "
            "or \"*\" for the rest)");
}

TEST(IngestSacct, ShardEdgesMpsAndOptionErrors) {
  const std::string nodes_header = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|NodeList|Comment|WCKey\n";
  const auto row = [&](const char* tres, const char* node_list) {
    return nodes_header + "1|x|u|a|shared|COMPLETED|2026-06-02T00:00:00|2026-06-02T01:00:00|3600|" + tres + "|" + node_list + "||\n";
  };
  const auto count_of = [](const IngestResult& r) { return r.records.at(0).count->to_string(); };
  // 1 shard of 3: a third of a GPU, to the 12 decimal places a count holds.
  EXPECT_EQ(count_of(parse(row("cpu=1,gres/shard=1", "n1"), options({{"sku", S("s")}, {"shards_per_gpu", S("3")}}))),
            "0.333333333333");
  // Padded ranges and several bracket groups, as slurm.conf and NodeList write them.
  const Value padded = options({{"sku", S("s")}, {"shards_per_gpu", S("gpu[08-10]=4,r[1-2]n[1-2]=2")}});
  EXPECT_EQ(count_of(parse(row("gres/shard=8", "gpu[09-10]"), padded)), "2");
  EXPECT_EQ(count_of(parse(row("gres/shard=8", "r2n1"), padded)), "4");
  EXPECT_EQ(error_of(row("gres/shard=8", "gpu9"), padded),
            "jobs.txt line 2: NodeList: job 1 ran on node \"gpu9\", which the option shards_per_gpu does not map (add it, or "
            "\"*\" for the rest)");
  // Nodes of different shard counts: AllocTRES gives the job's total, not each node's.
  EXPECT_EQ(error_of(row("gres/shard=12", "shared4,big1"), options({{"sku", S("s")}, {"shards_per_gpu", S("shared4=8,big1=16")}})),
            "jobs.txt line 2: NodeList: job 1 holds 12 shards on nodes of different shards_per_gpu (shared4: 8, big1: 16), "
            "and sacct does not say how many are on each");
  EXPECT_EQ(error_of(row("gres/shard=2", "gpu[3-1]"), padded),
            "jobs.txt line 2: NodeList: \"gpu[3-1]\" is not a Slurm host list such as gpu[01-04,07]");
  EXPECT_EQ(error_of(row("gres/shard=2", "n[1-200000]"), options({{"sku", S("s")}, {"shards_per_gpu", S("*=4")}})),
            "jobs.txt line 2: NodeList: \"n[1-200000]\" names more than 100000 nodes");
  EXPECT_EQ(error_of(row("gres/shard=1.5", "n1"), options({{"sku", S("s")}, {"shards_per_gpu", S("4")}})),
            "jobs.txt line 2: AllocTRES: gres/shard must be a whole number of shards (got \"1.5\")");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"shards_per_gpu", S("n1=4")}})),
            "jobs.txt line 1: missing column \"NodeList\" (sacct -P --format=JobID,JobName,Start,End,AllocTRES,...)");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"shards_per_gpu", Value::number("0")}})),
            "inputs[0].shards_per_gpu: must be a positive whole number");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"shards_per_gpu", S("shared[1-4]=8,shared2=4")}})),
            "inputs[0].shards_per_gpu: node \"shared2\" given twice");
  EXPECT_EQ(error_of(header, options({{"sku", S("s")}, {"shards_per_gpu", S("gpu[1-=8")}})),
            "inputs[0].shards_per_gpu: \"gpu[1-\" is not a Slurm host list such as gpu[01-04,07]");
  // MPS shares are the same kind of part of a GPU (gres.conf's Count per GPU, often 100).
  const std::string mps = row("cpu=2,gres/mps=50", "n1");
  EXPECT_EQ(parse(mps, options({{"sku", S("s")}})).warnings,
            (std::vector<std::string>{"jobs.txt: 1 job held GPU MPS shares (gres/mps), left out unpriced: give mps_per_gpu, "
                                      "the MPS shares each GPU has (gres.conf), to price them: line 2 (job 1, 50 MPS shares)"}));
  EXPECT_EQ(count_of(parse(mps, options({{"sku", S("s")}, {"mps_per_gpu", S("100")}}))), "0.5");
}

TEST(IngestSacct, MigSlicesArePricedAsTheirPartOfAWholeGpu) {
  // Before, a MIG type the map did not name was a row error, or with a "*" priced as a
  // whole GPU of that SKU: 8002's 1g.10gb slice cost a whole A100.
  const Value map = Value::object({{"a100", S("onprem/a100")}, {"nvidia_h100_80gb_hbm3", S("onprem/h100")}, {"a30", S("onprem/a30")}});
  const IngestResult r = parse(read_data("mig.txt"), options({{"sku", map}, {"tags_from", S("Comment")}}), "mig.txt");
  std::vector<std::string> runs;
  for (const Record& rec : r.records) runs.push_back(rec.id + " " + *rec.sku + " " + rec.count->to_string());
  EXPECT_EQ(runs, (std::vector<std::string>{
                      "8001 onprem/a100 1",
                      "8002 onprem/a100 0.142857142857",  // 1g of an A100's 7 slices, to 12 places
                      "8003 onprem/a100 0.857142857143",  // two 3g: 6/7
                      "8004 onprem/h100 0.142857142857",  // the model named as AutoDetect names whole H100s
                      "8005 onprem/a30 0.25",             // an A30 has 4 slices
                      "8006 onprem/a100 0.142857142857",  // 1c.3g: one compute slice of a 3g instance
                  }));
  EXPECT_EQ(by_id(r, "8003").tags.get("gpu_type"), "a100_3g.40gb");
  EXPECT_TRUE(r.warnings.empty());
  // a100 2.10, h100 2.80, a30 1.20 a GPU-hour: nlp 2.10 + 2.10/7 = 2.40; cv 2 h x 2.10 x 6/7
  // + 2.80/7 = 3.60 + 0.40 = 4.00; research 1.20/4 + 2.10/7 = 0.60 (each to the count's 12 places).
  auto catalog = std::make_shared<Catalog>();
  catalog->add(sku_with("onprem/a100", {price_of("2.10")}));
  catalog->add(sku_with("onprem/h100", {price_of("2.80")}));
  catalog->add(sku_with("onprem/a30", {price_of("1.20")}));
  catalog->add(sku_with("onprem/a100-1g", {price_of("0.35")}));
  Allocation a;
  a.catalog = catalog;
  a.records = r.records;
  a.steps.push_back(Step{"runs", std::make_shared<PerExperiment>(), std::nullopt, {"team"}, {}});
  std::vector<std::string> teams;
  for (const Line& line : run(a).lines) teams.push_back(std::string(*line.tags.get("team")) + " " + line.cost.to_fixed(2));
  EXPECT_EQ(teams, (std::vector<std::string>{"cv 4.00", "nlp 2.40", "research 0.60"}));

  // A map entry naming the MIG type exactly prices each slice as one unit of its own SKU.
  const Value with_slice = Value::object({{"a100", S("onprem/a100")}, {"A100_1G.10GB", S("onprem/a100-1g")},
                                          {"nvidia_h100_80gb_hbm3", S("onprem/h100")}, {"a30", S("onprem/a30")}});
  const Record slice = by_id(parse(read_data("mig.txt"), options({{"sku", with_slice}})), "8002");
  EXPECT_EQ(*slice.sku + " " + slice.count->to_string(), "onprem/a100-1g 1");
  // One SKU for every GPU: slices are still their part of a GPU.
  EXPECT_EQ(by_id(parse(read_data("mig.txt"), options({{"sku", S("onprem/a100")}})), "8003").count->to_string(), "0.857142857143");
  // A model the map does not name is a row error that says what to add.
  EXPECT_EQ(error_of(read_data("mig.txt"), options({{"sku", S("a100=onprem/a100,a30=onprem/a30")}}), "mig.txt"),
            "mig.txt line 5: AllocTRES: job 8004 has 1 GPU of type \"nvidia_h100_80gb_hbm3_1g.10gb\", which the option sku "
            "does not map (add \"nvidia_h100_80gb_hbm3_1g.10gb\" or its model \"h100_80gb_hbm3\", or \"*\" for the rest)");
}

TEST(IngestSacct, AMigTypeWithoutAModelNeedsMigSlices) {
  // slurm.conf may name MIG types by profile alone: Gres=gpu:3g.40gb:2.
  const auto job = [](const char* type) {
    return header + "1|x|u|a|mig|COMPLETED|2026-06-02T00:00:00|2026-06-02T01:00:00|3600|gres/gpu:" + type + "=1,gres/gpu=1||\n";
  };
  EXPECT_EQ(error_of(job("3g.40gb"), options({{"sku", S("*=onprem/a100")}})),
            "jobs.txt line 2: AllocTRES: job 1 has 1 GPU of type \"3g.40gb\", a MIG slice of a GPU whose slices are not "
            "known: give mig_slices, the slices in a whole GPU, or map \"3g.40gb\" in the option sku");
  const IngestResult r = parse(job("3g.40gb"), options({{"sku", S("*=onprem/a100")}, {"mig_slices", S("7")}}));
  EXPECT_EQ(r.records.at(0).count->to_string(), "0.428571428571");
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "jobs.txt: GPU types the option sku does not name were priced as \"*\" (onprem/a100): 3g.40gb (1 job)"}));
  EXPECT_EQ(error_of(job("7g.80gb"), options({{"sku", S("onprem/a100")}, {"mig_slices", S("4")}})),
            "jobs.txt line 2: AllocTRES: job 1 has 1 GPU of type \"7g.80gb\", a MIG slice larger than a whole GPU (7 of 4 "
            "slices)");
  // A known model wins over mig_slices; a whole GPU's type is not a slice.
  EXPECT_EQ(parse(job("nvidia_a30_2g.12gb"), options({{"sku", S("onprem/a30")}, {"mig_slices", S("7")}})).records.at(0).count->to_string(),
            "0.5");
  EXPECT_EQ(parse(job("nvidia_h100_80gb_hbm3"), options({{"sku", S("onprem/h100")}})).records.at(0).count->to_string(), "1");
}


}  // namespace
