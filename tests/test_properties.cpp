// Property tests: many random inputs from a fixed seed, checked against the promises of
// docs/spec.md rather than against expected numbers.
//
// - conservation: the lines of every split step sum exactly to its pool, for random pools
//   (credits, zero, huge, one unit), precisions, weights and every strategy, drill-downs
//   (`from`) included; a `from` pool is the sum of the lines it names;
// - order independence: shuffling records, the keys of their objects and the order of
//   option lists gives the same result bytes;
// - sharding: PartialAggregates of random shards, merged in any order and through
//   serialize/deserialize, give the single aggregate's records and spec result bytes;
// - round trips: parse(format(x)) == x for Decimal, Money and Instant.
//
// The seed is printed; APPORTION_PROPERTY_SEED overrides it and APPORTION_PROPERTY_ITERATIONS
// the number of cases per property, so a failure is reproduced with the seed it prints.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"

using namespace apportion;
using ojson = nlohmann::ordered_json;

namespace {

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 0);
}

std::uint64_t seed() {
  static const std::uint64_t s = [] {
    const std::uint64_t value = env_u64("APPORTION_PROPERTY_SEED", 20261122);
    std::printf("property tests: APPORTION_PROPERTY_SEED=%llu\n", static_cast<unsigned long long>(value));
    return value;
  }();
  return s;
}

int iterations(int fallback) { return static_cast<int>(env_u64("APPORTION_PROPERTY_ITERATIONS", fallback)); }

// A generator per test, so one test's draws do not shift another's.
struct Gen {
  std::mt19937_64 rng;
  explicit Gen(std::uint64_t salt) : rng(seed() * 0x9E3779B97F4A7C15ULL + salt) {}
  std::uint64_t u(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); }
  bool chance(int percent) { return static_cast<int>(u(100)) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[u(v.size())];
  }
  std::string digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + u(10)));
    return s;
  }
};

// Decimal text with `places` fractional digits and up to `int_digits` integer digits.
std::string decimal_text(Gen& g, int int_digits, int places) {
  std::string s = int_digits > 0 ? g.digits(1 + static_cast<int>(g.u(int_digits))) : "0";
  if (places > 0) s += "." + g.digits(places);
  return s;
}

// A pool amount with the precision's digits: zero, one unit, small, ordinary or huge,
// sometimes negative (a credit).
std::string pool_amount(Gen& g, int places) {
  std::string s;
  switch (g.u(6)) {
    case 0: s = "0"; break;
    case 1: s = places == 0 ? "1" : "0." + std::string(places - 1, '0') + "1"; break;
    case 2: s = decimal_text(g, 2, places); break;
    case 3: s = decimal_text(g, 7, places); break;
    case 4: s = g.digits(1 + g.u(9)) + std::string(14, '0') + (places ? "." + g.digits(places) : ""); break;
    default: s = "9" + g.digits(23) + (places ? "." + g.digits(places) : ""); break;  // near 10^24
  }
  if (s != "0" && g.chance(20)) s = "-" + s;
  return s;
}

// A measure: zero, equal, tiny, ordinary or huge.
std::string measure(Gen& g) {
  switch (g.u(7)) {
    case 0: return "0";
    case 1: return "1000";
    case 2: return "0.000000000001";
    case 3: return "0." + g.digits(6);
    case 4: return g.digits(1 + g.u(18)) + "00000";  // up to ~10^23
    default: return decimal_text(g, 7, static_cast<int>(g.u(4)));
  }
}

const std::vector<std::string> kNamespaces = {"nlp", "cv", "research", "kube-system", "monitoring", "serving"};
const std::vector<std::string> kTeams = {"a", "b", "c", "d", "platform"};
const std::vector<std::string> kModels = {"llama", "qwen", "mistral"};
const std::vector<std::string> kPrecisions = {"1", "0.01", "0.0001", "0.000001"};

ojson random_record(Gen& g, const std::vector<std::string>& pool_ids) {
  ojson tags = ojson::object();
  if (g.chance(90)) tags["namespace"] = g.pick(kNamespaces);
  if (g.chance(85)) tags["team"] = g.pick(kTeams);
  if (g.chance(70)) tags["model"] = g.pick(kModels);
  if (g.chance(60)) tags["pod"] = "pod-" + std::to_string(g.u(6));
  if (g.chance(60)) tags["cluster"] = g.chance(50) ? "a" : "b";
  ojson measures = ojson::object();
  if (g.chance(85)) measures["gpu_seconds"] = measure(g);
  if (g.chance(70)) {
    const std::string prompt = g.chance(20) ? "0" : std::to_string(g.u(5'000'000));
    measures["tokens_prompt"] = prompt;
    measures["tokens_generation"] = std::to_string(g.u(2'000'000));
    if (g.chance(50)) measures["tokens_cached"] = std::to_string(g.u(std::stoull(prompt) + 1));
  }
  if (g.chance(40)) measures["requests"] = std::to_string(g.u(1000));
  ojson r = {{"tags", tags}, {"measures", measures}};
  if (g.chance(50)) {
    r["reserved"] = {{"gpu", g.u(5)}, {"cpu", std::to_string(g.u(32))}, {"memory_gb", measure(g)}};
    if (g.chance(60)) r["used"] = {{"gpu", g.u(5)}, {"cpu", decimal_text(g, 2, 2)}};
  }
  if (!pool_ids.empty() && g.chance(15)) r["pool"] = g.pick(pool_ids);
  return r;
}

ojson policy(Gen& g) {
  switch (g.u(3)) {
    case 0: return "separate";
    case 1: return "proportional";
    default: return {{"assign", {{"namespace", g.pick(kNamespaces)}}}};
  }
}

// One split step of a random strategy on `pool`. `parts`: the pool is broken down into parts
// (resources gpu and net, and fee when `fee`), which per_namespace may split part by part.
ojson random_step(Gen& g, const std::string& id, const std::string& pool, bool parts = false, bool fee = false) {
  ojson s = {{"id", id}, {"strategy", ""}, {"pool", pool}};
  switch (g.u(8)) {
    case 0:
      s["strategy"] = "proportional";
      s["group_by"] = g.chance(50) ? ojson{"team"} : ojson{"namespace", "team"};
      s["weight"] = g.chance(50) ? ojson("gpu_seconds")
                                 : ojson{{"tokens_prompt", decimal_text(g, 1, 2)}, {"gpu_seconds", measure(g)}};
      break;
    case 1:
    case 2: {
      s["strategy"] = "per_namespace";
      const bool plain_group = g.chance(70);
      if (!plain_group) s["group_by"] = {"namespace"};
      const bool by_parts = parts && g.chance(70);
      if (by_parts) s["resources"] = {{"gpu", "gpu_seconds"}, {"net", "tokens_prompt"}};
      if (g.chance(70) || (by_parts && fee)) {
        ojson overhead = {{"namespaces", {"kube-system", "monitoring"}}};
        if (g.chance(80)) overhead["policy"] = policy(g);
        if (by_parts && fee) overhead["resources"] = {"fee"};
        s["overhead"] = overhead;
      }
      if (g.chance(70)) {
        ojson idle = by_parts ? ojson::object() : ojson{{"capacity", measure(g)}};
        if (g.chance(80) || by_parts) idle["policy"] = policy(g);
        s["idle"] = idle;
      }
      break;
    }
    case 3:
      s["strategy"] = "per_tenant";
      if (g.chance(50)) s["group_by"] = g.chance(50) ? ojson{"team"} : ojson{"namespace"};
      if (g.chance(30)) s["weight"] = "requests";
      if (g.chance(50)) s["cached"] = g.pick(std::vector<std::string>{"proportional", "tenant", "separate"});
      if (g.chance(40)) s["token_weights"] = {{"prompt", "1"}, {"generation", std::to_string(1 + g.u(4))}};
      break;
    case 4:
      s["strategy"] = "per_token";
      if (g.chance(50)) s["phases"] = {{"prompt", "0.25"}, {"generation", "0.75"}};
      if (g.chance(30)) s["unit_precision"] = "0.000001";
      break;
    case 5:
      s["strategy"] = "weighted_split";
      s["capacity"] = {{"gpu", 1 + g.u(8)}, {"cpu", std::to_string(1 + g.u(64))}, {"memory_gb", "512"}};
      if (g.chance(40)) s["basis"] = g.pick(std::vector<std::string>{"max", "reserved", "used"});
      if (g.chance(40)) s["unused"] = g.pick(std::vector<std::string>{"proportional", "separate"});
      break;
    case 6:
      s["strategy"] = "even";
      s["group_by"] = g.chance(50) ? ojson{"team"} : ojson{"model"};
      break;
    default: {
      s["strategy"] = "fixed";
      ojson shares = ojson::array();
      int left = 100;
      for (const auto& team : kTeams) {
        if (left == 0 || g.chance(40)) continue;
        const int share = static_cast<int>(g.u(left + 1));
        left -= share;
        shares.push_back({{"tags", {{"team", team}}}, {"share", "0." + std::to_string(100 + share).substr(1)}});
      }
      if (shares.empty()) shares.push_back({{"tags", {{"team", "a"}}}, {"share", "1"}});
      s["shares"] = shares;
      s.erase("strategy");
      s["strategy"] = "fixed";
      break;
    }
  }
  if (s["strategy"] != "fixed" && s["strategy"] != "per_namespace" && g.chance(15))
    s["select"] = {{"namespace", {"nlp", "cv", "serving"}}};
  if (s["strategy"] != "fixed" && g.chance(20)) s["unallocated_keys"] = "missing";
  return s;
}

// A fleet of pools ["p0", "p1"] for the step, records matched to them by their cluster.
void make_fleet(ojson& step) {
  step.erase("pool");
  step["pools"] = {"p0", "p1"};
  step["match"] = {{"tag", "cluster"}, {"pool_tag", "cluster"}};
}

// p0's cost broken down: GPU (with a capacity or not), the tokens of one team or of all,
// and sometimes a fee amortized over a month.
ojson random_parts(Gen& g, int places, bool fee) {
  const auto amount = [&] {
    std::string a = pool_amount(g, places);
    return a[0] == '-' ? a.substr(1) : a;
  };
  ojson parts = ojson::array();
  ojson gpu = {{"resource", "gpu"}, {"cost", amount()}};
  if (g.chance(60)) gpu["capacity"] = measure(g);
  parts.push_back(gpu);
  ojson net = {{"resource", "net"}, {"cost", amount()}};
  if (g.chance(50)) net["tags"] = {{"team", g.pick(kTeams)}};
  parts.push_back(net);
  if (fee)
    parts.push_back({{"resource", "fee"},
                     {"amortized", {{"amount", amount()},
                                    {"term", {{"start", "2026-06-01T00:00:00Z"}, {"end", "2026-07-01T00:00:00Z"}}},
                                    {"window", {{"start", "2026-06-02T00:00:00Z"}, {"end", "2026-06-03T00:00:00Z"}}}}}});
  return parts;
}

// A random valid spec: one or two pools, a few steps, and sometimes a drill-down from the
// first step's lines.
ojson random_spec(Gen& g) {
  const std::string precision = g.pick(kPrecisions);
  const int places = precision == "1" ? 0 : static_cast<int>(precision.size() - 2);
  ojson spec = {{"apportion", 1}, {"currency", "USD"}, {"precision", precision}};
  ojson pools = ojson::array();
  const bool parts = g.chance(30), fee = parts && g.chance(50);
  if (parts) pools.push_back({{"id", "p0"}, {"tags", {{"cluster", "a"}}}, {"parts", random_parts(g, places, fee)}});
  else pools.push_back({{"id", "p0"}, {"tags", {{"cluster", "a"}}}, {"cost", pool_amount(g, places)}});
  std::vector<std::string> pool_ids = {"p0"};
  bool p1_parts = false;
  if (g.chance(40)) {
    p1_parts = parts && g.chance(50);
    if (p1_parts) pools.push_back({{"id", "p1"}, {"tags", {{"cluster", "b"}}}, {"parts", random_parts(g, places, false)}});
    else pools.push_back({{"id", "p1"}, {"cost", pool_amount(g, places)}, {"tags", {{"cluster", "b"}}}});
    pool_ids.push_back("p1");
  }
  ojson steps = ojson::array();
  const int n_steps = 1 + static_cast<int>(g.u(3));
  for (int i = 0; i < n_steps; ++i) {
    const std::string pool = g.pick(pool_ids);
    ojson step = random_step(g, "s" + std::to_string(i), pool, parts && (pool == "p0" || p1_parts), fee);
    // A fleet of both pools, for strategies that give no unit costs and read records (split
    // by parts only when both pools have them).
    const std::string strategy = step["strategy"];
    if (pool_ids.size() == 2 && (!step.contains("resources") || p1_parts) && strategy != "per_token" &&
        strategy != "fixed" && g.chance(25))
      make_fleet(step);
    steps.push_back(step);
  }
  if (g.chance(50)) {
    // Drill down: a pool made of the first step's lines for one tag value, split again.
    const ojson& first = steps[0];
    const std::string key = first.contains("group_by") ? first["group_by"][0].get<std::string>()
                            : first["strategy"] == "per_namespace" ? "namespace"
                            : first["strategy"] == "weighted_split"
                                ? "pod"
                                : (first["strategy"] == "fixed" ? "team" : "team");
    const std::string value = key == "namespace" ? g.pick(kNamespaces)
                              : key == "pod"     ? "pod-" + std::to_string(g.u(6))
                              : key == "model"   ? g.pick(kModels)
                                                 : g.pick(kTeams);
    ojson from = {{"step", "s0"}};
    if (g.chance(80)) from["tags"] = {{key, value}};
    pools.push_back({{"id", "drill"}, {"from", from}});
    steps.push_back(random_step(g, "drill-step", "drill"));
  }
  ojson records = ojson::array();
  const int n_records = static_cast<int>(g.u(25));
  for (int i = 0; i < n_records; ++i) records.push_back(random_record(g, {"p0"}));
  spec["pools"] = pools;
  spec["records"] = records;
  spec["steps"] = steps;
  if (g.chance(50)) {
    ojson statements = ojson::array();
    statements.push_back({{"id", "by-team"}, {"group_by", {"team"}}});
    if (g.chance(50)) statements.push_back({{"id", "by-namespace-team"}, {"group_by", {"namespace", "team"}}});
    spec["statements"] = statements;
  }
  return spec;
}

// Runs a spec; an error the spec allows (a value beyond the range: huge weights times huge
// measures) is an empty string, anything else fails the test.
std::string run_or_empty(const std::string& text, std::string* error = nullptr) {
  try {
    return run_spec(text);
  } catch (const SpecError& e) {
    if (error) *error = e.what();
    return "";
  } catch (const OverflowError& e) {
    if (error) *error = e.what();
    return "";
  }
}

}  // namespace

TEST(Properties, EveryStepConservesItsPool) {
  Gen g(1);
  const int n = iterations(1200);
  int ran = 0;
  std::map<std::string, int> rejected;
  for (int it = 0; it < n; ++it) {
    const ojson spec = random_spec(g);
    const std::string text = spec.dump();
    std::string error;
    const std::string out = run_or_empty(text, &error);
    if (out.empty()) {
      // Only values beyond the range may be rejected; anything else is a generator bug or a
      // library bug, and either must be looked at.
      ASSERT_NE(error.find("range"), std::string::npos) << "iteration " << it << ": " << error << "\n" << text;
      ++rejected[error.substr(0, 40)];
      continue;
    }
    ++ran;
    const auto result = nlohmann::json::parse(out);
    std::map<std::string, Decimal> pool_cost;
    for (const auto& p : result["pools"]) pool_cost[p["id"]] = Decimal::parse(p["cost"].get<std::string>());
    // Every step's lines sum to each of its pools (one, or a fleet's two).
    std::map<std::pair<std::string, std::string>, Decimal> step_sum;
    for (const auto& s : spec["steps"]) {
      if (s.contains("pool")) step_sum[{s["id"], s["pool"]}] = Decimal();
      else
        for (const auto& p : s["pools"]) step_sum[{s["id"], p}] = Decimal();
    }
    const Decimal unit = Decimal::parse(spec["precision"].get<std::string>());
    for (const auto& line : result["lines"]) {
      const Decimal cost = Decimal::parse(line["cost"].get<std::string>());
      const auto key = std::pair<std::string, std::string>(line["step"], line["pool"]);
      ASSERT_TRUE(step_sum.contains(key)) << line.dump() << "\n" << text;
      step_sum[key] += cost;
      // Every line is a whole number of precision units.
      ASSERT_TRUE((Decimal::from_raw(cost.raw() % unit.raw())).is_zero()) << line.dump() << "\n" << text;
    }
    for (const auto& [step_pool, sum] : step_sum)
      ASSERT_EQ(sum, pool_cost[step_pool.second])
          << "iteration " << it << ", step " << step_pool.first << ", pool " << step_pool.second << ": lines sum to "
          << sum.to_string() << ", pool is " << pool_cost[step_pool.second].to_string() << "\n"
          << text << "\n"
          << out;
    // Every statement's rows sum to its total, the pools not drawn from lines.
    Decimal bill;
    for (const auto& p : spec["pools"])
      if (!p.contains("from")) bill += pool_cost[p["id"]];
    // What a row and each of its parts are made of sums to its cost.
    const auto made_of_sum = [](const nlohmann::json& j) {
      Decimal sum;
      for (const auto& [kind, amount] : j["made_of"].items()) sum += Decimal::parse(amount.get<std::string>());
      return sum;
    };
    for (const auto& st : result.value("statements", nlohmann::json::array())) {
      Decimal rows;
      for (const auto& row : st["rows"]) {
        rows += Decimal::parse(row["cost"].get<std::string>());
        ASSERT_EQ(made_of_sum(row), Decimal::parse(row["cost"].get<std::string>())) << row.dump() << "\n" << text;
        for (const auto& part : row["parts"])
          if (part.contains("made_of"))
            ASSERT_EQ(made_of_sum(part), Decimal::parse(part["cost"].get<std::string>())) << part.dump() << "\n" << text;
      }
      ASSERT_EQ(rows, Decimal::parse(st["total"].get<std::string>())) << text << "\n" << out;
      ASSERT_EQ(rows, bill) << text << "\n" << out;
    }
    // A drill-down pool is the sum of the lines of s0 it names.
    for (const auto& p : spec["pools"]) {
      if (!p.contains("from")) continue;
      Decimal expected;
      for (const auto& line : result["lines"]) {
        if (line["step"] != "s0") continue;
        bool match = true;
        if (p["from"].contains("tags"))
          for (const auto& [k, v] : p["from"]["tags"].items())
            match = match && line["tags"].contains(k) && line["tags"][k] == v;
        if (match) expected += Decimal::parse(line["cost"].get<std::string>());
      }
      ASSERT_EQ(pool_cost[p["id"]], expected) << text << "\n" << out;
    }
  }
  std::printf("conservation: %d specs run, %d rejected as out of range\n", ran, n - ran);
  for (const auto& [message, count] : rejected) std::printf("  %dx %s...\n", count, message.c_str());
  EXPECT_GT(ran, n / 2);
}

namespace {

// The spec with its records shuffled, the keys of every record's objects in a random order
// and option lists permuted.
ojson shuffled(Gen& g, const ojson& spec) {
  ojson out = spec;
  auto shuffle_object = [&](const ojson& o) {
    std::vector<std::pair<std::string, ojson>> items;
    for (const auto& [k, v] : o.items()) items.emplace_back(k, v);
    std::shuffle(items.begin(), items.end(), g.rng);
    ojson r = ojson::object();
    for (auto& [k, v] : items) r[k] = v;
    return r;
  };
  std::vector<ojson> records(spec["records"].begin(), spec["records"].end());
  std::shuffle(records.begin(), records.end(), g.rng);
  out["records"] = ojson::array();
  for (auto& r : records) {
    ojson copy = shuffle_object(r);
    for (const char* k : {"tags", "measures", "reserved", "used"})
      if (copy.contains(k)) copy[k] = shuffle_object(copy[k]);
    out["records"].push_back(copy);
  }
  for (auto& step : out["steps"]) {
    if (step.contains("overhead")) {
      auto& names = step["overhead"]["namespaces"];
      std::vector<ojson> v(names.begin(), names.end());
      std::shuffle(v.begin(), v.end(), g.rng);
      names = ojson(v);
    }
    if (step.contains("shares")) {
      std::vector<ojson> v(step["shares"].begin(), step["shares"].end());
      std::shuffle(v.begin(), v.end(), g.rng);
      step["shares"] = ojson(v);
    }
    if (step.contains("select")) {
      auto& values = step["select"]["namespace"];
      std::vector<ojson> v(values.begin(), values.end());
      std::shuffle(v.begin(), v.end(), g.rng);
      values = ojson(v);
    }
    step = shuffle_object(step);
  }
  return out;
}

}  // namespace

TEST(Properties, RecordsReadThroughThePlanGiveTheSameBytes) {
  // The plan (plan.hpp) sums rows that agree on what the steps read; with it and without it
  // (every record whole) a spec gives the same result, or the same error. Records are
  // repeated so that rows do meet in groups.
  Gen g(7);
  const int n = iterations(1200) / 2;
  int reduced = 0;
  for (int it = 0; it < n; ++it) {
    ojson spec = random_spec(g);
    const ojson records = spec["records"];
    for (const auto& r : records)
      if (g.chance(50)) spec["records"].push_back(r);
    const std::string text = spec.dump();
    SpecOptions whole;
    whole.plan_records = false;
    std::string planned_error, whole_error;
    std::string planned, whole_out;
    try {
      planned = result_to_json(run(allocation_from_json(text)));
    } catch (const std::exception& e) {
      planned_error = e.what();
    }
    try {
      whole_out = result_to_json(run(allocation_from_json(text, whole)));
    } catch (const std::exception& e) {
      whole_error = e.what();
    }
    ASSERT_EQ(planned_error, whole_error) << "iteration " << it << "\n" << text;
    ASSERT_EQ(planned, whole_out) << "iteration " << it << "\n" << text;
    if (planned_error.empty() && allocation_from_json(text).records.size() < allocation_from_json(text, whole).records.size())
      ++reduced;
  }
  EXPECT_GT(reduced, n / 10);  // the plan did sum rows in a good part of the cases
}

TEST(Properties, ResultDoesNotDependOnOrder) {
  Gen g(2);
  const int n = iterations(1200) / 2;
  for (int it = 0; it < n; ++it) {
    const ojson spec = random_spec(g);
    std::string error;
    const std::string reference = run_or_empty(spec.dump(), &error);
    for (int k = 0; k < 3; ++k) {
      const std::string text = shuffled(g, spec).dump();
      std::string error2;
      const std::string out = run_or_empty(text, &error2);
      ASSERT_EQ(out, reference) << "iteration " << it << "\noriginal: " << spec.dump() << "\nshuffled: " << text;
      ASSERT_EQ(error2.empty(), error.empty()) << error << " / " << error2;
    }
  }
}

// Statements' rows (tags, kind, cost, and their parts as a set) whatever the order of the
// records, of the pools, of each pool's parts and of a fleet's pools.
TEST(Properties, StatementRowsDoNotDependOnRecordOrPoolOrder) {
  Gen g(11);
  const int n = iterations(1200) / 2;
  const auto rows_of = [](const std::string& out) {
    std::vector<std::string> rows;
    if (out.empty()) return rows;
    for (const auto& st : nlohmann::json::parse(out).value("statements", nlohmann::json::array()))
      for (const auto& row : st["rows"]) {
        std::vector<std::string> parts;
        for (const auto& part : row["parts"]) parts.push_back(part.dump());
        std::sort(parts.begin(), parts.end());
        nlohmann::json r = row;
        r["parts"] = parts;
        rows.push_back(st["id"].get<std::string>() + " " + r.dump());
      }
    return rows;
  };
  int with_statements = 0;
  for (int it = 0; it < n; ++it) {
    ojson spec = random_spec(g);
    if (!spec.contains("statements")) continue;
    const std::vector<std::string> reference = rows_of(run_or_empty(spec.dump()));
    if (!reference.empty()) ++with_statements;
    for (int k = 0; k < 2; ++k) {
      ojson other = shuffled(g, spec);
      std::vector<ojson> pools(other["pools"].begin(), other["pools"].end());
      std::shuffle(pools.begin(), pools.end(), g.rng);
      for (ojson& pool : pools)
        if (pool.contains("parts")) {
          std::vector<ojson> parts(pool["parts"].begin(), pool["parts"].end());
          std::shuffle(parts.begin(), parts.end(), g.rng);
          pool["parts"] = ojson(parts);
        }
      other["pools"] = ojson(pools);
      for (ojson& step : other["steps"])
        if (step.contains("pools")) step["pools"] = {"p1", "p0"};
      ASSERT_EQ(rows_of(run_or_empty(other.dump())), reference)
          << "iteration " << it << "\noriginal: " << spec.dump() << "\nshuffled: " << other.dump();
    }
  }
  EXPECT_GT(with_statements, n / 5);
}

namespace {

struct Row {
  std::optional<std::string> pool;
  Tags tags;
  Amounts measures;
};

std::vector<Row> random_rows(Gen& g, std::size_t n) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < n; ++i) {
    Row r;
    if (g.chance(20)) r.pool = g.chance(50) ? "p0" : "p1";
    std::vector<std::pair<std::string, std::string>> tags;
    if (g.chance(90)) tags.emplace_back("namespace", g.pick(kNamespaces));
    if (g.chance(80)) tags.emplace_back("team", g.pick(kTeams));
    if (g.chance(30)) tags.emplace_back("model", g.pick(kModels));
    r.tags = Tags(std::vector<Tags::Pair>(tags.begin(), tags.end()));
    if (g.chance(90)) r.measures["gpu_seconds"] = Decimal::parse(measure(g));
    if (g.chance(50)) r.measures["tokens_prompt"] = Decimal(static_cast<long long>(g.u(1'000'000)));
    if (g.chance(10)) r.measures["requests"] = Decimal::parse("0.000000000001");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string records_json(const PartialAggregate& a) {
  IngestResult result;
  result.records = a.to_records("shards");
  return ingest_result_to_json(result);
}

// A spec over the aggregate's records: both pools split by namespace and by team.
std::string spec_over(const std::string& records_json_text, const std::string& precision) {
  auto spec = nlohmann::json::parse(records_json_text);
  spec["apportion"] = 1;
  spec["precision"] = precision;
  spec["pools"] = {{{"id", "p0"}, {"cost", "-1234567.891"}}, {{"id", "p1"}, {"cost", "98765432109876.5"}}};
  spec["steps"] = {
      {{"id", "ns"}, {"strategy", "per_namespace"}, {"pool", "p0"}, {"idle", {{"capacity", "1000000"}}}},
      {{"id", "teams"}, {"strategy", "proportional"}, {"pool", "p1"}, {"group_by", {"team"}}, {"weight", "gpu_seconds"}},
      {{"id", "tok"}, {"strategy", "per_tenant"}, {"pool", "p1"}, {"weight", "tokens"}}};
  return spec.dump();
}

}  // namespace

TEST(Properties, ShardedAggregatesMergeToTheSingleRun) {
  Gen g(3);
  const int n = iterations(1200) / 4;
  for (int it = 0; it < n; ++it) {
    const auto rows = random_rows(g, g.u(300));
    PartialAggregate single;
    for (const auto& r : rows) single.add(r.pool, r.tags, r.measures);
    const std::string reference = records_json(single);
    const std::string precision = g.pick(kPrecisions);
    std::string reference_result;
    if (single.groups() > 0) reference_result = run_or_empty(spec_over(reference, "0.001"));

    // Random shards, each aggregated, some through bytes, merged in a random order, some
    // into a shard that is itself a merge of others.
    const std::size_t n_shards = 1 + g.u(7);
    std::vector<PartialAggregate> shards(n_shards);
    for (const auto& r : rows) shards[g.u(n_shards)].add(r.pool, r.tags, r.measures);
    for (auto& s : shards)
      if (g.chance(50)) s = PartialAggregate::deserialize(s.serialize());
    std::shuffle(shards.begin(), shards.end(), g.rng);
    PartialAggregate merged;
    if (g.chance(50)) {
      for (const auto& s : shards) merged.merge(s);
    } else {
      PartialAggregate left, right;
      for (std::size_t i = 0; i < shards.size(); ++i) (i % 2 ? left : right).merge(shards[i]);
      merged = PartialAggregate::deserialize(right.serialize());
      merged.merge(left);
    }
    ASSERT_EQ(merged.rows(), rows.size());
    ASSERT_EQ(merged.groups(), single.groups());
    ASSERT_EQ(records_json(merged), reference) << "iteration " << it;
    // Serialization round-trips to the same bytes.
    ASSERT_EQ(PartialAggregate::deserialize(merged.serialize()).serialize(), merged.serialize());
    ASSERT_EQ(records_json(PartialAggregate::deserialize(single.serialize())), reference);
    if (single.groups() > 0) {
      ASSERT_EQ(run_or_empty(spec_over(records_json(merged), "0.001")), reference_result) << "iteration " << it;
      // And the aggregate's records split like the raw rows they came from.
      PartialAggregate each;
      std::vector<Record> raw;
      for (const auto& r : rows) {
        Record rec;
        rec.tags = r.tags;
        rec.measures = r.measures;
        rec.pool = r.pool;
        raw.push_back(rec);
      }
      IngestResult ir;
      ir.records = raw;
      ASSERT_EQ(run_or_empty(spec_over(ingest_result_to_json(ir), "0.001")), reference_result)
          << "iteration " << it;
    }
    (void)precision;
  }
}

TEST(Properties, DecimalTextRoundTrips) {
  Gen g(4);
  const int n = iterations(1200) * 50;
  for (int it = 0; it < n; ++it) {
    int128 raw;
    switch (g.u(4)) {
      case 0: raw = static_cast<int128>(static_cast<std::int64_t>(g.rng())); break;
      case 1: raw = static_cast<int128>(g.u(2000)) - 1000; break;
      case 2: raw = (static_cast<int128>(static_cast<std::int64_t>(g.rng())) << 64) | g.rng(); break;
      default: raw = g.chance(50) ? Decimal::max_raw() - static_cast<int128>(g.u(1000))
                                  : Decimal::min_raw() + static_cast<int128>(g.u(1000));
    }
    const Decimal x = Decimal::from_raw(raw);
    const std::string text = x.to_string();
    ASSERT_EQ(Decimal::parse(text), x) << text;
    ASSERT_EQ(Decimal::parse(x.to_fixed(12)), x) << text;
    // Fewer places round half-even, and the rounded text reads back to itself.
    const int places = static_cast<int>(g.u(13));
    std::string fixed;
    try {
      fixed = x.to_fixed(places);
    } catch (const OverflowError&) {
      continue;  // rounding up past the largest value
    }
    // (Near the ends of the range, rounding may write a value just beyond it.)
    if (x > Decimal::parse("-1e26") && x < Decimal::parse("1e26")) {
      ASSERT_EQ(Decimal::parse(fixed).to_fixed(places), fixed) << text;
    }
    // The same value written with an exponent reads back equal.
    if (x > Decimal::parse("-1e20") && x < Decimal::parse("1e20")) {
      ASSERT_EQ(Decimal::parse(text + "e0"), x);
      ASSERT_EQ(Decimal::parse(text + "e2"), x * 100) << text;
    }
  }
}

TEST(Properties, MoneyTextRoundTrips) {
  Gen g(5);
  const int n = iterations(1200) * 20;
  const std::vector<std::pair<std::string, int>> currencies = {{"USD", 2}, {"EUR", 2}, {"JPY", 0}, {"KWD", 3}};
  for (int it = 0; it < n; ++it) {
    const auto& [code, minor] = g.pick(currencies);
    const std::string text = (g.chance(30) ? "-" : "") + decimal_text(g, 20, static_cast<int>(g.u(13)));
    const Money m = Money::parse(text, code);
    ASSERT_EQ(Money::parse(m.to_string(), code), m) << text;
    ASSERT_EQ(m.currency().code(), code);
    // to_fixed is the currency's minor digits, and reads back to its own rounding.
    const std::string fixed = m.to_fixed();
    ASSERT_EQ(Money::parse(fixed, code).to_fixed(), fixed);
    const auto dot = fixed.find('.');
    ASSERT_EQ(dot == std::string::npos ? 0 : static_cast<int>(fixed.size() - dot - 1), minor) << fixed;
  }
}

TEST(Properties, InstantTextRoundTrips) {
  Gen g(6);
  const int n = iterations(1200) * 50;
  // 1678 to 2261, the documented range of instants.
  const std::int64_t lo = Instant::parse("1678-01-01T00:00:00Z").unix_nanos();
  const std::int64_t hi = Instant::parse("2261-12-31T23:59:59Z").unix_nanos();
  for (int it = 0; it < n; ++it) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    std::int64_t ns = static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + g.u(span));
    if (g.chance(50)) ns -= ns % 1'000'000'000;  // whole seconds
    const Instant t = Instant::from_unix_nanos(ns);
    const std::string text = t.to_string();
    ASSERT_EQ(Instant::parse(text), t) << text;
    ASSERT_EQ(Instant::parse(text).to_string(), text);
    // The same instant at another offset: "...+01:30" is 90 minutes later on the clock.
    if (ns < hi - 86'400'000'000'000 && ns > lo + 86'400'000'000'000) {
      const Instant shifted = t + std::chrono::minutes(90);
      std::string s = shifted.to_string();
      s.back() == 'Z' ? s.pop_back() : void();
      ASSERT_EQ(Instant::parse(s + "+01:30"), t) << s;
    }
  }
}
