// The columnar core: group sums, the integer split against allocate_by_weights, the
// dictionary, PartialAggregate (merge order, serialization, overflow) and the streaming,
// aggregating csv reader.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>

#include "apportion/apportion.hpp"
#include "ingest_support.hpp"

using namespace apportion;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

// ---- group_sums ---------------------------------------------------------------------------

TEST(GroupSums, SumsExactlyPerGroup) {
  const std::vector<std::uint32_t> ids{0, 2, 2, 1, 0, 2, 2};
  const std::vector<std::int64_t> w{1, 2, 3, 4, 5, 6, 7};
  const auto sums = group_sums(ids, w, 4);
  ASSERT_EQ(sums.size(), 4u);
  EXPECT_TRUE(sums[0] == 6 && sums[1] == 4 && sums[2] == 18 && sums[3] == 0);
}

TEST(GroupSums, MatchesANaiveLoopOnRandomRowsAndSizes) {
  std::mt19937_64 rng(7);
  for (std::size_t n_groups : {1u, 3u, 17u, 1000u, 70000u}) {
    for (std::size_t rows : {0u, 1u, 5u, 4095u, 4097u, 10000u}) {
      std::vector<std::uint32_t> ids(rows);
      std::vector<std::int64_t> w(rows);
      std::vector<int128> expect(n_groups);
      for (std::size_t i = 0; i < rows; ++i) {
        ids[i] = static_cast<std::uint32_t>(rng() % n_groups);
        w[i] = static_cast<std::int64_t>(rng() >> 1);  // up to 2^63 - 1: sums pass 2^64
        expect[ids[i]] += w[i];
      }
      EXPECT_TRUE(group_sums(ids, w, n_groups) == expect) << n_groups << " groups, " << rows << " rows";
      std::vector<std::int64_t> signed_ids(ids.begin(), ids.end());
      EXPECT_TRUE(group_sums(signed_ids, w, n_groups) == expect);
    }
  }
}

TEST(GroupSums, BadRowsAreNamed) {
  std::vector<std::uint32_t> ids(10000, 0);
  std::vector<std::int64_t> w(10000, 1);
  ids[5000] = 3;
  EXPECT_EQ(error_of([&] { group_sums(ids, w, 3); }), "group_ids[5000]: 3 is not below n_groups (3)");
  ids[5000] = 0;
  w[9999] = -1;
  EXPECT_EQ(error_of([&] { group_sums(ids, w, 3); }), "weights[9999]: must not be negative (got -1)");
  const std::vector<std::int64_t> negative_id{0, -1};
  EXPECT_EQ(error_of([&] { group_sums(negative_id, std::vector<std::int64_t>{1, 1}, 2); }),
            "group_ids[1]: -1 is not below n_groups (2)");
  EXPECT_EQ(error_of([&] { group_sums(ids, std::vector<std::int64_t>{1}, 2); }),
            "group_ids and weights differ in length (10000 and 1)");
}

// ---- The split ------------------------------------------------------------------------------

TEST(ColumnarSplit, AgreesWithAllocateByWeightsOnRandomInputs) {
  std::mt19937_64 rng(11);
  const Decimal cent = Decimal::parse("0.01");
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = 1 + rng() % 12;
    std::vector<int128> sums(n);
    std::vector<Rational> weights(n);
    bool any = false;
    for (std::size_t g = 0; g < n; ++g) {
      // Small weights make ties common; some trials use sums past 2^64.
      const int128 s = trial % 3 == 0 ? static_cast<int128>(rng() % 4)
                                      : (trial % 3 == 1 ? static_cast<int128>(rng() % 1000000)
                                                        : static_cast<int128>(rng()) * static_cast<int128>(rng() % 1000));
      sums[g] = s;
      weights[g] = Rational(BigInt(s));
      any = any || s != 0;
    }
    if (!any) continue;
    const auto cents = static_cast<std::int64_t>(rng() % 2000001) - 1000000;
    const Decimal pool = Decimal::from_raw(cent.raw() * cents);
    const std::vector<Decimal> expect = allocate_by_weights(pool, weights, cent);
    const std::vector<std::int64_t> got = split_pool(pool, cent, sums);
    ASSERT_EQ(got.size(), expect.size());
    std::int64_t total = 0;
    for (std::size_t g = 0; g < n; ++g) {
      EXPECT_EQ(Decimal::from_raw(cent.raw() * got[g]), expect[g]) << "trial " << trial << " group " << g;
      total += got[g];
    }
    EXPECT_EQ(total, cents);
  }
}

TEST(ColumnarSplit, EdgeCases) {
  const std::vector<int128> sums{0, 0};
  EXPECT_EQ(split_pool(Decimal{}, Decimal(1), sums), (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(error_of([&] { split_pool(Decimal(1), Decimal(1), sums); }),
            "weights sum to zero: there is nothing to split the pool by");
  const std::vector<int128> one{1};
  EXPECT_EQ(error_of([&] { split_pool(Decimal::parse("1.001"), Decimal::parse("0.01"), one); }),
            "pool 1.001 is not a multiple of the unit 0.01");
  EXPECT_THROW(split_pool(Decimal::parse("1e20"), Decimal::parse("0.01"), one), OverflowError);
  // Ties: equal remainders go to the larger weight, then the lower id.
  const std::vector<int128> tie{1, 1, 2, 0, 1};
  EXPECT_EQ(split_pool(Decimal(1), Decimal(1), tie), (std::vector<std::int64_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(split_pool(Decimal(-2), Decimal(1), tie), (std::vector<std::int64_t>{-1, 0, -1, 0, 0}));
}

// ---- Dictionary -------------------------------------------------------------------------------

TEST(Dictionary, InternsDenseIdsInFirstAppearanceOrder) {
  Dictionary d;
  std::vector<std::string> values;
  for (int i = 0; i < 5000; ++i) values.push_back("value-" + std::to_string(i * 7919 % 5000));
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(d.intern(values[i]), i);
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(d.intern(values[i]), i);
    EXPECT_EQ(d.value(static_cast<std::uint32_t>(i)), values[i]);
  }
  EXPECT_EQ(d.size(), 5000u);
  EXPECT_EQ(d.intern(""), 5000u);
  EXPECT_EQ(d.find(std::string_view("\0x", 2)), std::nullopt);
  EXPECT_EQ(d.intern(std::string_view("\0x", 2)), 5001u);
  EXPECT_EQ(d.find("value-3"), d.intern("value-3"));
}

// The hash reads a string's last bytes as whole words: it must see every byte of the view
// and nothing around it, at every length and wherever the view starts.
TEST(Dictionary, HashSeesEveryByteOfTheViewAndNoOther) {
  std::mt19937_64 rng(7);
  std::string buffer(128, '\0');
  for (char& c : buffer) c = static_cast<char>(rng());
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string value = buffer.substr(50, length);
    const std::uint64_t h = Dictionary::hash(value);
    for (std::size_t at = 8; at + length + 8 <= buffer.size(); at += 7) {
      std::string around = buffer;  // other bytes before and after the same value
      for (char& c : around) c = static_cast<char>(rng());
      around.replace(at, length, value);
      EXPECT_EQ(Dictionary::hash(std::string_view(around).substr(at, length)), h) << "length " << length << " at " << at;
    }
    for (std::size_t i = 0; i < length; ++i) {
      std::string changed = value;
      changed[i] = static_cast<char>(changed[i] ^ 0x20);
      EXPECT_NE(Dictionary::hash(changed), h) << "length " << length << ", byte " << i;
    }
  }
  // The values the hash gave when it read the last bytes through memcpy, a byte at a time:
  // the same bytes in the same places of the word.
  if constexpr (std::endian::native == std::endian::little) {
    const std::string_view text = "namespace-ml-pod-0123456789abcdef";
    const std::vector<std::pair<std::size_t, std::uint64_t>> before{
        {0, 0xa035bdf13d960194ULL},  {1, 0x6b066eff38258364ULL},  {2, 0xb8149fe13801adabULL},
        {3, 0x8fc964037993319bULL},  {4, 0x7ae1fb850304d794ULL},  {5, 0x2a3e9a5209282a70ULL},
        {7, 0xd49eb84d4e9a391cULL},  {8, 0x13e5f228d16063ddULL},  {9, 0x44813b15360617a6ULL},
        {12, 0x8136619ab7f8e60dULL}, {15, 0xbe3a1e88ec8ec9aaULL}, {16, 0x40310d2c32aec983ULL},
        {23, 0x2337fbb759757a53ULL}};
    for (const auto& [length, h] : before) EXPECT_EQ(Dictionary::hash(text.substr(0, length)), h) << "length " << length;
  }
}

// ---- PartialAggregate ----------------------------------------------------------------------------

namespace {

struct Row {
  std::optional<std::string> pool;
  Tags tags;
  Amounts measures;
};

std::vector<Row> random_rows(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Row> rows;
  for (std::size_t i = 0; i < n; ++i) {
    Row r;
    if (rng() % 4 == 0) r.pool = "pool-" + std::to_string(rng() % 2);
    std::vector<Tags::Pair> pairs{{"namespace", "ns-" + std::to_string(rng() % 7)}};
    if (rng() % 3 != 0) pairs.emplace_back("team", "team-" + std::to_string(rng() % 3));
    r.tags = Tags(std::move(pairs));
    r.measures["gpu_seconds"] = Decimal::from_raw(static_cast<int128>(rng() % 1000000) * 1000);
    if (rng() % 2) r.measures["tokens"] = Decimal(static_cast<std::int64_t>(rng() % 100));
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string records_json(const PartialAggregate& a) {
  IngestResult result;
  result.records = a.to_records("usage.csv");
  std::string origins;
  for (const Record& r : result.records) origins += r.origin + "\n";
  return ingest_result_to_json(result) + origins;
}

}  // namespace

TEST(PartialAggregate, MergeOrderAndRowOrderDoNotMatter) {
  const std::vector<Row> rows = random_rows(2000, 3);
  PartialAggregate whole;
  for (const Row& r : rows) whole.add(r.pool, r.tags, r.measures);
  const std::string expect = records_json(whole);

  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<PartialAggregate> shards(4);
    std::vector<Row> shuffled = rows;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (const Row& r : shuffled) shards[rng() % shards.size()].add(r.pool, r.tags, r.measures);
    std::vector<std::size_t> order{0, 1, 2, 3};
    std::shuffle(order.begin(), order.end(), rng);
    // Merge some shards through serialization, as if from other processes.
    PartialAggregate merged = PartialAggregate::deserialize(shards[order[0]].serialize());
    for (std::size_t k = 1; k < order.size(); ++k) {
      if (k % 2) merged.merge(PartialAggregate::deserialize(shards[order[k]].serialize()));
      else merged.merge(shards[order[k]]);
    }
    EXPECT_EQ(records_json(merged), expect);
    EXPECT_EQ(merged.rows(), 2000u);
  }
}

TEST(PartialAggregate, SpecResultsOfShardsEqualASingleRun) {
  const std::vector<Row> rows = random_rows(500, 9);
  const auto spec_with = [](const std::vector<Record>& records) {
    Allocation a;
    a.pools.push_back({"cluster", {}, CostSource{Decimal::parse("1000.01")}, std::nullopt, nullptr});
    for (Record r : records) {
      r.pool.reset();
      a.records.push_back(std::move(r));
    }
    a.steps.push_back({"teams", std::make_shared<PerNamespace>(PerNamespace::Options{}), "cluster", {}, {}});
    return result_to_json(run(a));
  };
  PartialAggregate whole, a, b, c;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    whole.add(std::nullopt, rows[i].tags, rows[i].measures);
    (i % 3 == 0 ? a : i % 3 == 1 ? b : c).add(std::nullopt, rows[i].tags, rows[i].measures);
  }
  c.merge(a);
  c.merge(b);
  EXPECT_EQ(spec_with(c.to_records()), spec_with(whole.to_records()));
}

TEST(PartialAggregate, RecordsAreSortedSummedAndCounted) {
  PartialAggregate a;
  a.add(std::optional<std::string>("p"), Tags{{"team", "b"}}, Amounts{{"x", Decimal(1)}});
  a.add(std::nullopt, Tags{{"team", "b"}}, Amounts{{"x", Decimal::parse("0.5")}});
  a.add(std::nullopt, Tags{{"team", "a"}}, Amounts{});
  a.add(std::nullopt, Tags{{"team", "b"}}, Amounts{{"y", Decimal(2)}});
  const std::vector<Record> r = a.to_records("usage.csv");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_FALSE(r[0].pool);
  EXPECT_EQ(r[0].tags.get("team"), "a");
  EXPECT_TRUE(r[0].measures.empty());
  EXPECT_EQ(r[0].origin, "usage.csv (aggregated: 1 row)");
  EXPECT_EQ(r[1].measure("x"), Decimal::parse("0.5"));
  EXPECT_EQ(r[1].measure("y"), Decimal(2));
  EXPECT_EQ(r[1].origin, "usage.csv (aggregated: 2 rows)");
  EXPECT_EQ(r[2].pool, "p");
  EXPECT_EQ(a.groups(), 3u);
  EXPECT_EQ(a.rows(), 4u);
}

TEST(PartialAggregate, UtilizationIsAGpuSecondsWeightedMean) {
  // Two scrapes of one pod: 3600 s at 0.9 and 1800 s at 0.3. Summed, utilization would be
  // 1.2 (refused in a record); the group holds (3240 + 540) / 5400 = 0.7, so gpu_seconds x
  // utilization is the 3780 GPU-seconds used.
  const auto add = [](PartialAggregate& a, const char* seconds, const char* utilization) {
    a.add(std::nullopt, Tags{{"pod", "p"}}, Amounts{{"gpu_seconds", Decimal::parse(seconds)}, {"utilization", Decimal::parse(utilization)}});
  };
  PartialAggregate a;
  add(a, "3600", "0.9");
  add(a, "1800", "0.3");
  std::vector<Record> r = a.to_records();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].measure("gpu_seconds"), Decimal(5400));
  EXPECT_EQ(r[0].measure("utilization"), Decimal::parse("0.7"));
  EXPECT_EQ(r[0].measure("gpu_seconds_used"), Decimal(3780));
  // Merged shards and the serialized form keep the weighted mean, not a sum of means.
  PartialAggregate shard1, shard2;
  add(shard1, "3600", "0.9");
  add(shard2, "1800", "0.3");
  add(shard2, "0", "1");  // no GPU time: no weight
  shard1.merge(PartialAggregate::deserialize(shard2.serialize()));
  EXPECT_EQ(shard1.to_records()[0].measure("utilization"), Decimal::parse("0.7"));
  // A third that rounds: (1 x 1 + 1 x 0 + 1 x 0) / 3, half-even at 12 digits.
  PartialAggregate thirds;
  add(thirds, "1", "1");
  add(thirds, "1", "0");
  add(thirds, "1", "0");
  EXPECT_EQ(thirds.to_records()[0].measure("utilization"), Decimal::parse("0.333333333333"));
  EXPECT_EQ(thirds.to_records()[0].measure("gpu_seconds_used"), Decimal(1));  // exact, not 3 x 0.333333333333
  // A row that held GPU time without a utilization: the group has none, as the record would.
  PartialAggregate partly;
  add(partly, "3600", "0.5");
  partly.add(std::nullopt, Tags{{"pod", "p"}}, Amounts{{"gpu_seconds", Decimal(60)}});
  EXPECT_FALSE(partly.to_records()[0].measures.contains("utilization"));
  EXPECT_FALSE(partly.to_records()[0].measures.contains("gpu_seconds_used"));
  EXPECT_FALSE(PartialAggregate::deserialize(partly.serialize()).to_records()[0].measures.contains("utilization"));
  // Without gpu_seconds every row weighs the same.
  PartialAggregate plain;
  plain.add(std::nullopt, Tags{{"pod", "p"}}, Amounts{{"utilization", Decimal::parse("0.2")}});
  plain.add(std::nullopt, Tags{{"pod", "p"}}, Amounts{{"utilization", Decimal::parse("0.5")}});
  EXPECT_EQ(plain.to_records()[0].measure("utilization"), Decimal::parse("0.35"));
  EXPECT_THROW(plain.add(std::nullopt, Tags{{"pod", "p"}}, Amounts{{"utilization", Decimal::parse("1.5")}}),
               std::invalid_argument);
}

TEST(CsvStreaming, AggregatedUtilizationKeepsGpuHoursUsedExact) {
  // The csv input aggregating per-scrape rows: unit economics' GPU-hours used is the same
  // with and without aggregation (3780 s = 1.05 h used of 1.5 h), also where the mean is a
  // third that rounds (cv: 3 x 1 s at 1, 0, 0 is 1 s used), and a team with a row lacking
  // utilization has no GPU-hours used either way (vision).
  const std::string csv =
      "pod,team,gpu_seconds,utilization\np1,nlp,3600,0.9\np1,nlp,1800,0.3\n"
      "p2,cv,1,1\np2,cv,1,0\np2,cv,1,0\np3,vision,60,0.5\np3,vision,60,\n";
  std::string dir = ::testing::TempDir() + "/aggregate_utilization";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/usage.csv") << csv;
  const auto spec = [&](bool aggregate) {
    return std::string(R"({"apportion": 1, "pools": [{"id": "n", "cost": "15.00"}], "records": [],
      "inputs": [{"format": "csv", "path": "usage.csv", "tags": "pod,team", "measures": "gpu_seconds,utilization",
                  "aggregate": )") + (aggregate ? "true" : "false") + R"(}],
      "steps": [{"id": "s", "strategy": "proportional", "pool": "n", "group_by": ["team"], "weight": "gpu_seconds"}],
      "unit_economics": [{"id": "u", "lines": {"step": "s"}}]})";
  };
  SpecOptions options;
  options.base_dir = dir;
  const std::string plain = run_spec(spec(false), options), aggregated = run_spec(spec(true), options);
  EXPECT_NE(aggregated.find("\"gpu_hours_used\": \"1.05"), std::string::npos) << aggregated;
  EXPECT_EQ(plain.substr(plain.find("\"unit_economics\"")), aggregated.substr(aggregated.find("\"unit_economics\"")));
}

TEST(PartialAggregate, OverflowIsAnErrorAndLeavesTheAggregateUnchanged) {
  PartialAggregate a;
  const Decimal big = Decimal::from_raw(Decimal::max_raw() - 5);
  a.add(std::nullopt, Tags{{"t", "1"}}, Amounts{{"m", big}});
  const std::string before = records_json(a);
  EXPECT_THROW(a.add(std::nullopt, Tags{{"t", "1"}}, Amounts{{"a", Decimal(1)}, {"m", Decimal(1)}}), OverflowError);
  EXPECT_EQ(records_json(a), before);
  PartialAggregate b = a;
  EXPECT_THROW(a.merge(b), OverflowError);
  EXPECT_EQ(records_json(a), before);
  EXPECT_THROW(a.add(std::nullopt, Tags{{"t", "2"}}, Amounts{{"m", Decimal(-1)}}), std::invalid_argument);
}

TEST(PartialAggregate, SerializationRoundTripsAndRefusesGarbage) {
  PartialAggregate a;
  for (const Row& r : random_rows(300, 21)) a.add(r.pool, r.tags, r.measures);
  a.add(std::nullopt, Tags{{"k", std::string("with\0nul\n\"quote\"", 16)}},
        Amounts{{"m", Decimal::from_raw(Decimal::max_raw())}});
  const std::string bytes = a.serialize();
  const PartialAggregate b = PartialAggregate::deserialize(bytes);
  EXPECT_EQ(b.serialize(), bytes);
  EXPECT_EQ(records_json(b), records_json(a));
  EXPECT_THROW(PartialAggregate::deserialize("nonsense"), std::invalid_argument);
  EXPECT_THROW(PartialAggregate::deserialize(bytes.substr(0, bytes.size() - 1)), std::invalid_argument);
  EXPECT_THROW(PartialAggregate::deserialize(bytes + "x"), std::invalid_argument);
  std::string other_version = bytes;
  other_version[6] = 1;
  EXPECT_EQ(error_of([&] { PartialAggregate::deserialize(other_version); }),
            "not a serialized PartialAggregate: unsupported version (this library reads version 2)");
  EXPECT_EQ(PartialAggregate::deserialize(PartialAggregate().serialize()).groups(), 0u);
}

// ---- The streaming, aggregating csv reader ---------------------------------------------------------

namespace {

apportion::IngestResult ingest_stream(const std::string& text, const std::string& options_json, std::size_t chunk) {
  const std::size_t previous = ingest::set_csv_chunk_size(chunk);
  std::istringstream in(text);
  const Value options = parse_json(options_json);
  ObjectReader reader(options, "inputs[0]");
  IngestResult r;
  try {
    r = IngestRegistry::global().parse_stream("csv", in, reader, "usage.csv");
    reader.finish();
  } catch (...) {
    ingest::set_csv_chunk_size(previous);
    throw;
  }
  ingest::set_csv_chunk_size(previous);
  return r;
}

std::string stream_error(const std::string& text, const std::string& options_json, std::size_t chunk) {
  try {
    ingest_stream(text, options_json, chunk);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

std::string full_json(const IngestResult& r) {
  std::string out = ingest_result_to_json(r);
  for (const Record& rec : r.records) out += rec.origin + "\n";
  out += "skipped " + std::to_string(r.skipped) + "\n";
  for (const std::string& s : r.skipped_reasons) out += s + "\n";
  return out;
}

const std::string tricky =
    "\xEF\xBB\xBF"
    "namespace,\"team\",pod,gpu_seconds\r\n"
    "nlp,\"search, \"\"core\"\"\",p1,10\r\n"
    "\r\n"
    "nlp,\"multi\nline\",p2,0.5\r\n"
    "vision,,\"p\"\"3\",7\n"
    "nlp,\"search, \"\"core\"\"\",p4,1.000000000001\r"
    "vision,,p5,3";

}  // namespace

TEST(CsvStreaming, EveryChunkSizeGivesTheSameRecords) {
  const std::string plain = R"({"tags": "namespace,team", "measures": "gpu_seconds", "pool": "p"})";
  const std::string aggregated = R"({"tags": "namespace,team", "measures": "gpu_seconds", "aggregate": true})";
  const std::string expect_plain = full_json(ingest_test::ingest("csv", tricky, plain, "usage.csv"));
  const std::string expect_aggregated = full_json(ingest_test::ingest("csv", tricky, aggregated, "usage.csv"));
  for (std::size_t chunk = 1; chunk <= tricky.size() + 1; ++chunk) {
    EXPECT_EQ(full_json(ingest_stream(tricky, plain, chunk)), expect_plain) << "chunk " << chunk;
    EXPECT_EQ(full_json(ingest_stream(tricky, aggregated, chunk)), expect_aggregated) << "chunk " << chunk;
  }
  const IngestResult r = ingest_stream(tricky, aggregated, 3);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].tags.get("team"), "multi\nline");
  EXPECT_EQ(r.records[0].measure("gpu_seconds"), Decimal::parse("0.5"));
  EXPECT_EQ(r.records[1].tags.get("team"), "search, \"core\"");
  EXPECT_EQ(r.records[1].measure("gpu_seconds"), Decimal::parse("11.000000000001"));
  EXPECT_EQ(r.records[1].origin, "usage.csv (aggregated: 2 rows)");
  EXPECT_FALSE(r.records[2].tags.contains("team"));
  EXPECT_EQ(r.records[2].measure("gpu_seconds"), Decimal(10));
}

TEST(CsvStreaming, RowErrorsNameTheLineAcrossChunks) {
  const std::string text = "a,b,m\nx,y,1\nx,y,-5\nx,\"q\nq\",2\nx,y\nx,y,1e3\nx,y,1.0000000000001\n";
  for (std::size_t chunk : {1u, 2u, 5u, 1000u}) {
    EXPECT_EQ(stream_error(text, R"({"tags": "a,b", "measures": "m", "aggregate": true})", chunk),
              "usage.csv line 3: m: must not be negative (got \"-5\")");
    const IngestResult r =
        ingest_stream(text, R"({"tags": "a,b", "measures": "m", "aggregate": true, "skip_invalid": true})", chunk);
    EXPECT_EQ(r.skipped, 3u);
    ASSERT_EQ(r.skipped_reasons.size(), 3u);
    EXPECT_EQ(r.skipped_reasons[0], "usage.csv line 3: m: must not be negative (got \"-5\")");
    EXPECT_EQ(r.skipped_reasons[1], "usage.csv line 6: has 2 fields, the header has 3");
    EXPECT_EQ(r.skipped_reasons[2], "usage.csv line 8: m: not an exact decimal number (got \"1.0000000000001\")");
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_EQ(r.records[1].measure("m"), Decimal(1001));  // 1 + 1e3
    EXPECT_EQ(stream_error("a,m\n\"x\ny,1\n", R"({"tags": "a", "measures": "m", "aggregate": true})", chunk),
              "usage.csv line 2: a quoted field is never closed");
    EXPECT_EQ(stream_error("a,m\nx,1\n\"x\"y,1\n", R"({"tags": "a", "measures": "m", "aggregate": true})", chunk),
              "usage.csv line 3: unexpected character after a closing quote (field 1)");
    EXPECT_EQ(stream_error("a,m\nx,1\nx,1\"\n", R"({"tags": "a", "measures": "m", "aggregate": true})", chunk),
              "usage.csv line 3: a quote inside an unquoted field (field 2)");
  }
}

// Cells are known to be UTF-8 without a check of their own when their whole block is ASCII:
// a bad cell after ASCII blocks, a good non-ASCII one before, at every block size.
TEST(CsvStreaming, CellsAreCheckedForUtf8InEveryBlock) {
  const std::string text = "team,pod,m\ncaf\xc3\xa9,p1,1\nx,p2,2\nx,p3,3\nx,p\xe9,4\nx,p5,5\n";
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 16u, 1000u})
    for (const char* options : {R"({"tags": "team,pod", "measures": "m"})", R"({"tags": "team,pod", "measures": "m", "aggregate": true})"}) {
      EXPECT_EQ(stream_error(text, options, chunk), "usage.csv line 5: pod: is not valid UTF-8 (byte 0xE9 at offset 1)")
          << chunk << " " << options;
      const std::string good = text.substr(0, text.find("x,p\xe9")) + "x,p4,4\n";
      EXPECT_EQ(ingest_stream(good, options, chunk).records.size(), 4u) << chunk << " " << options;
    }
}

TEST(CsvStreaming, AggregateRefusesIdsAndOverflowIsARowError) {
  EXPECT_EQ(ingest_test::error_of("csv", "a,id\nx,1\n", R"({"tags": "a", "id": "id", "aggregate": true})"),
            "inputs[0].id: cannot be used with aggregate (aggregated records are sums of rows, with no ids)");
  const std::string text = "a,m\nx,100000000000000000000000000\nx,100000000000000000000000000\ny,1\n";
  EXPECT_EQ(ingest_test::error_of("csv", text, R"({"tags": "a", "measures": "m", "aggregate": true})"),
            "sample.txt line 3: m: the aggregated sum is out of the decimal range");
  const IngestResult r =
      ingest_test::ingest("csv", text, R"({"tags": "a", "measures": "m", "aggregate": "true", "skip_invalid": true})");
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.records.size(), 2u);
  // Rows are added a batch at a time: an overflow found when its batch is added is still
  // the first error when a later row of the batch is bad, or is not CSV.
  const std::string big = "a,m\nx,100000000000000000000000000\nx,100000000000000000000000000\n";
  const std::string aggregate = R"({"tags": "a", "measures": "m", "aggregate": true})";
  EXPECT_EQ(ingest_test::error_of("csv", big + "x,oops\n", aggregate),
            "sample.txt line 3: m: the aggregated sum is out of the decimal range");
  EXPECT_EQ(ingest_test::error_of("csv", big + "x,1\"\n", aggregate),
            "sample.txt line 3: m: the aggregated sum is out of the decimal range");
  const IngestResult both = ingest_test::ingest("csv", big + "x,oops\ny,2\n",
                                                R"({"tags": "a", "measures": "m", "aggregate": true, "skip_invalid": true})");
  ASSERT_EQ(both.skipped_reasons.size(), 2u);
  EXPECT_EQ(both.skipped_reasons[0], "sample.txt line 3: m: the aggregated sum is out of the decimal range");
  EXPECT_EQ(both.skipped_reasons[1], "sample.txt line 4: m: not an exact decimal number (got \"oops\")");
}

TEST(CsvStreaming, FastDecimalPathAgreesWithDecimalParse) {
  std::mt19937_64 rng(13);
  std::string text = "a,m\n";
  std::vector<std::string> cells;
  for (int i = 0; i < 2000; ++i) {
    std::ostringstream cell;
    const int digits = 1 + static_cast<int>(rng() % 22);
    for (int d = 0; d < digits; ++d) cell << rng() % 10;
    if (rng() % 2) {
      cell << '.';
      const int frac = 1 + static_cast<int>(rng() % 12);
      for (int d = 0; d < frac; ++d) cell << rng() % 10;
    }
    cells.push_back(cell.str());
    std::ostringstream row;
    row << 'r' << i << ',' << cells.back() << '\n';
    text += row.str();
  }
  const IngestResult r = ingest_test::ingest("csv", text, R"({"tags": "a", "measures": "m", "aggregate": true})");
  ASSERT_EQ(r.records.size(), cells.size());
  for (const Record& rec : r.records) {
    const std::size_t i = std::stoul(std::string(rec.tags.get("a")->substr(1)));
    EXPECT_EQ(rec.measure("m"), Decimal::parse(cells[i])) << cells[i];
  }
}

TEST(CsvStreaming, SpecRunnerStreamsTheFile) {
  // A spec reading a csv input with aggregate gives the same lines as without it.
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream out(dir + "/columnar_usage.csv", std::ios::binary);
    out << "namespace,team,gpu_seconds\n";
    std::mt19937_64 rng(1);
    for (int i = 0; i < 3000; ++i)
      out << "ns-" << rng() % 5 << ",team-" << rng() % 4 << "," << rng() % 86400 << "\n";
  }
  const auto spec = [&](bool aggregate) {
    return R"({"apportion": 1, "pools": [{"id": "c", "cost": "1000.00"}], "records": [],
      "inputs": [{"format": "csv", "path": "columnar_usage.csv", "tags": "namespace,team",
                  "measures": "gpu_seconds", "aggregate": )" +
           std::string(aggregate ? "true" : "false") + R"(}],
      "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "c"},
                {"id": "t", "strategy": "proportional", "pool": "c", "group_by": ["team"], "weight": "gpu_seconds"}]})";
  };
  SpecOptions options;
  options.base_dir = dir;
  std::string plain = run_spec(spec(false), options), aggregated = run_spec(spec(true), options);
  // Only the inputs summary differs: 3000 records against 20.
  const auto lines_of = [](const std::string& doc) { return doc.substr(0, doc.find("\"inputs\"")); };
  EXPECT_EQ(lines_of(aggregated), lines_of(plain));
  EXPECT_NE(aggregated.find("\"records\": 20"), std::string::npos);
}
