// Concurrency: the C ABI from many threads at once. Every spec of examples/data and
// tests/spec/cases is run single-threaded first; then 8 threads run all of them again,
// several rounds each in a different order, sharing one apn_catalog handle (and the
// built-in one), and every thread must get the same bytes, statuses and messages (per
// thread: apn_last_error). The strategy and ingest registries are read concurrently while
// another thread adds to a registry. Runs in the normal suite and under ThreadSanitizer
// (scripts/sanitize.sh tsan).
//
// The test runs with examples/data as its working directory: the C ABI reads a spec's
// relative `inputs` paths from there.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apportion.h"
#include "apportion/apportion.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kThreads = 8;

int rounds() {
  const char* v = std::getenv("APPORTION_CONCURRENCY_ROUNDS");
  return v && *v ? std::atoi(v) : 3;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Case {
  std::string name, spec;
};

// Every spec: the example documents as they are, the cases' "spec" member (or their raw
// text when it is not JSON: an error case).
std::vector<Case> all_specs() {
  std::vector<Case> cases;
  std::vector<fs::path> files;
  for (const char* dir : {APPORTION_EXAMPLES_DATA, APPORTION_SPEC_CASES})
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string text = read_file(f);
    std::string spec = text;
    if (f.parent_path() == fs::path(APPORTION_SPEC_CASES)) {
      const auto doc = nlohmann::json::parse(text, nullptr, false);
      if (!doc.is_discarded() && doc.contains("spec"))
        spec = doc["spec"].is_string() ? doc["spec"].get<std::string>() : doc["spec"].dump();
    }
    cases.push_back({f.filename().string(), spec});
  }
  return cases;
}

struct Outcome {
  int status = 0;
  std::string out;  // the result, or the error message
  bool operator==(const Outcome&) const = default;
};

Outcome run_c(const std::string& spec) {
  char* out = nullptr;
  size_t len = 0;
  Outcome o;
  o.status = apn_run_json(spec.data(), spec.size(), &out, &len);
  if (o.status == APN_OK) {
    o.out.assign(out, len);
    apn_free(out);
  } else {
    o.out = apn_last_error();
  }
  return o;
}

// Calls on a shared catalog handle, concatenated into one string.
std::string catalog_calls(const apn_catalog* catalog) {
  std::string s;
  char* out = nullptr;
  s += std::to_string(apn_catalog_rate_at(&out, catalog, "spheron/h100-sxm5", "on_demand", "2026-06-02T10:00:00Z"));
  s += out ? out : apn_last_error();
  apn_free(out);
  s += std::to_string(apn_catalog_cost(&out, catalog, "spheron/h100-sxm5", "on_demand", "8", "2026-06-01T00:00:00Z",
                                       "2026-06-03T12:00:00Z"));
  s += out ? out : apn_last_error();
  apn_free(out);
  s += std::to_string(apn_catalog_rate_at(&out, catalog, "no/such-sku", "on_demand", "2026-06-02T10:00:00Z"));
  s += out ? out : apn_last_error();
  apn_free(out);
  s += std::to_string(apn_catalog_to_json(&out, catalog));
  s += out ? out : apn_last_error();
  apn_free(out);
  return s;
}

const char kCatalog[] =
    "{\"skus\": [{\"id\": \"spheron/h100-sxm5\", \"unit\": \"gpu_hour\", \"billing\": \"per_second\","
    " \"prices\": [{\"tier\": \"on_demand\", \"rate\": \"3.92\", \"from\": \"2026-06-01T00:00:00Z\"},"
    "              {\"tier\": \"on_demand\", \"rate\": \"4.00\", \"from\": \"2026-06-02T12:00:00Z\"}]}]}";

}  // namespace

TEST(Concurrency, SpecsFromEightThreadsGiveTheSingleThreadedBytes) {
  const auto cases = all_specs();
  ASSERT_GT(cases.size(), 20u);
  std::vector<Outcome> reference;
  int ok = 0;
  for (const auto& c : cases) {
    reference.push_back(run_c(c.spec));
    ok += reference.back().status == APN_OK;
  }
  // The examples with `inputs` must have found their files.
  EXPECT_GE(ok, static_cast<int>(cases.size()) - 12) << "too many failures: is the working directory examples/data?";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].name.rfind("error-", 0) != 0 && cases[i].name.find("-error-") == std::string::npos) {
      EXPECT_EQ(reference[i].status, APN_OK) << cases[i].name << ": " << reference[i].out;
    }
  }

  apn_catalog* catalog = nullptr;
  ASSERT_EQ(apn_catalog_load_json(&catalog, kCatalog, sizeof kCatalog - 1), APN_OK) << apn_last_error();
  const apn_catalog* builtin = nullptr;
  ASSERT_EQ(apn_catalog_builtin(&builtin), APN_OK);
  const std::string catalog_reference = catalog_calls(catalog);
  const std::string builtin_reference = catalog_calls(builtin);

  std::atomic<int> mismatches{0};
  std::atomic<bool> go{false};
  std::vector<std::string> first_mismatch(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      std::mt19937 rng(t);
      std::vector<std::size_t> order(cases.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (int r = 0; r < rounds(); ++r) {
        std::shuffle(order.begin(), order.end(), rng);
        for (std::size_t i : order) {
          const Outcome o = run_c(cases[i].spec);
          if (!(o == reference[i])) {
            if (mismatches++ == 0 || first_mismatch[t].empty())
              first_mismatch[t] = cases[i].name + ": status " + std::to_string(o.status) + "\n" + o.out.substr(0, 300);
          }
          if (i % 4 == 0) {
            if (catalog_calls(catalog) != catalog_reference) {
              ++mismatches;
              first_mismatch[t] = "shared catalog";
            }
            if (catalog_calls(builtin) != builtin_reference) {
              ++mismatches;
              first_mismatch[t] = "builtin catalog";
            }
          }
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  apn_catalog_free(catalog);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(first_mismatch[t], "") << "thread " << t;
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Concurrency, LastErrorIsPerThread) {
  std::atomic<bool> go{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      const std::string bad = "not-a-number-" + std::to_string(t);
      for (int i = 0; i < 200; ++i) {
        char* out = nullptr;
        if (t % 2 == 0) {
          if (apn_money_parse(&out, bad.c_str(), "USD") != APN_EPARSE || out != nullptr) ++wrong;
          if (std::string(apn_last_error()).find(bad) == std::string::npos) ++wrong;
        } else {
          if (apn_money_parse(&out, "12.50", "USD") != APN_OK || std::string(out) != "12.5") ++wrong;
          apn_free(out);
          // A success does not show another thread's failure.
          if (std::string(apn_last_error()).find("not-a-number") != std::string::npos) ++wrong;
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Concurrency, AggregatesInThreadsMergeToTheSameRecords) {
  // One aggregate per thread (an aggregate is not shared while it changes), merged and
  // serialized concurrently into read-only shared inputs.
  const char* keys[] = {"namespace", "team"};
  auto fill = [&](apn_aggregate* a, int part) {
    for (int i = part; i < 4000; i += kThreads) {
      const std::string ns = "ns" + std::to_string(i % 7), team = "t" + std::to_string(i % 5);
      const std::string v = std::to_string(i) + ".25";
      const char* values[] = {ns.c_str(), team.c_str()};
      const char* names[] = {"gpu_seconds"};
      const char* mv[] = {v.c_str()};
      ASSERT_EQ(apn_aggregate_add_row(a, i % 3 ? nullptr : "p0", keys, values, 2, names, mv, 1), APN_OK);
    }
  };
  apn_aggregate* single = nullptr;
  ASSERT_EQ(apn_aggregate_new(&single), APN_OK);
  for (int t = 0; t < kThreads; ++t) fill(single, t);
  char* ref = nullptr;
  size_t ref_len = 0;
  ASSERT_EQ(apn_aggregate_to_json(&ref, &ref_len, single, "x"), APN_OK);
  const std::string reference(ref, ref_len);
  apn_free(ref);

  std::vector<apn_aggregate*> parts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ASSERT_EQ(apn_aggregate_new(&parts[t]), APN_OK);
      fill(parts[t], t);
    });
  for (auto& th : threads) th.join();
  threads.clear();
  // Every thread merges all the (shared, unchanging) parts into its own aggregate.
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      apn_aggregate* mine = nullptr;
      if (apn_aggregate_new(&mine) != APN_OK) return void(++wrong);
      for (int k = 0; k < kThreads; ++k) {
        const apn_aggregate* p = parts[(k + t) % kThreads];
        if (k % 2) {
          char* bytes = nullptr;
          size_t n = 0;
          apn_aggregate* back = nullptr;
          if (apn_aggregate_serialize(&bytes, &n, p) != APN_OK || apn_aggregate_deserialize(&back, bytes, n) != APN_OK)
            ++wrong;
          apn_free(bytes);
          if (apn_aggregate_merge(mine, back) != APN_OK) ++wrong;
          apn_aggregate_free(back);
        } else if (apn_aggregate_merge(mine, p) != APN_OK) {
          ++wrong;
        }
      }
      char* out = nullptr;
      size_t len = 0;
      if (apn_aggregate_to_json(&out, &len, mine, "x") != APN_OK || std::string(out, len) != reference) ++wrong;
      apn_free(out);
      apn_aggregate_free(mine);
    });
  for (auto& th : threads) th.join();
  for (auto* p : parts) apn_aggregate_free(p);
  apn_aggregate_free(single);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Concurrency, RegistriesUnderConcurrentReads) {
  using namespace apportion;
  const auto strategies = StrategyRegistry::global().names();
  const auto formats = IngestRegistry::global().formats();
  ASSERT_FALSE(strategies.empty());
  ASSERT_FALSE(formats.empty());
  // A registry of our own that one thread adds to while the others read it and run specs
  // through it; the global ones are only read.
  StrategyRegistry local = StrategyRegistry::with_builtins();
  const std::string spec =
      R"({"apportion": 1, "pools": [{"id": "p", "cost": "100.00"}],
          "records": [{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}},
                      {"tags": {"team": "b"}, "measures": {"gpu_seconds": 2}}],
          "steps": [{"id": "s", "strategy": "even", "pool": "p", "group_by": ["team"]}]})";
  SpecOptions options;
  options.registry = &local;
  const std::string expected = run_spec(spec, options);
  std::atomic<bool> go{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 100; ++i) {
        if (t == 0 && i < 50) {
          local.add("custom_" + std::to_string(i), [&](ObjectReader&) -> std::shared_ptr<const Strategy> {
            return nullptr;
          });
          continue;
        }
        if (StrategyRegistry::global().names() != strategies) ++wrong;
        for (const auto& n : strategies)
          if (!StrategyRegistry::global().contains(n) || !local.contains(n)) ++wrong;
        if (IngestRegistry::global().formats() != formats) ++wrong;
        for (const auto& f : formats)
          if (!IngestRegistry::global().contains(f)) ++wrong;
        if (run_spec(spec, options) != expected) ++wrong;
        if (i % 10 == 0) {
          char* out = nullptr;
          size_t len = 0;
          const std::string csv = "namespace,gpu_seconds\nnlp,10\ncv,20\n";
          if (apn_ingest(&out, &len, "csv", csv.data(), csv.size(), nullptr, "t.csv") != APN_OK) ++wrong;
          apn_free(out);
        }
      }
    });
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(local.contains("custom_49"));
}

// The csv format sums a file through the plan in parts on threads of its own: from several
// threads at once, with tiny blocks (many parts), each gives the one-thread bytes.
TEST(Concurrency, CsvPartsReadOnThreadsGiveTheOneThreadBytes) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("apportion-parts-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream csv(dir / "usage.csv");
    csv << "namespace,team,pod,gpu_seconds\n";
    for (int i = 0; i < 3000; ++i)
      csv << "ns" << i % 17 << ",\"team " << i % 5 << "\",p" << i << "," << (i * 37) % 1000 << "." << i % 100 << "\n";
  }
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "gpu", "cost": "1234.56"}], "records": [],
    "inputs": [{"format": "csv", "path": "usage.csv", "tags": "namespace,team,pod", "measures": "gpu_seconds"}],
    "steps": [{"id": "teams", "strategy": "proportional", "pool": "gpu", "group_by": ["namespace", "team"],
               "weight": "gpu_seconds"}]})";
  apportion::SpecOptions options;
  options.base_dir = dir;
  const auto run = [&] { return apportion::result_to_json(apportion::run(apportion::allocation_from_json(spec, options))); };
  const unsigned previous_threads = apportion::ingest::set_csv_threads(1);
  const std::string reference = run();
  apportion::ingest::set_csv_threads(4);
  const std::size_t previous_block = apportion::ingest::set_csv_chunk_size(512);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) threads.emplace_back([&, t] { got[t] = run(); });
  for (auto& th : threads) th.join();
  apportion::ingest::set_csv_chunk_size(previous_block);
  apportion::ingest::set_csv_threads(previous_threads);
  std::filesystem::remove_all(dir);
  EXPECT_NE(reference.find("\"teams\""), std::string::npos);
  for (const std::string& g : got) EXPECT_EQ(g, reference);
}
