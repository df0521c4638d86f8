// The governance sections of the allocation spec: every key checked, every error naming its
// JSON path; and their result sections, deterministic to the byte.

#include "governance_spec.hpp"

#include <charconv>
#include <chrono>
#include <limits>
#include <set>

#include "apportion/render.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

using MoneyRef = std::variant<Decimal, LinesRef, PoolRef>;

LinesRef read_lines_ref(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  LinesRef ref;
  if (const Value* s = r.optional("statement")) {  // a statement's rows (docs/spec.md, "Statements")
    if (r.has("step")) throw SpecError(path, "names both a step and a statement: give one");
    ref.statement = read_string(*s, r.path("statement"));
    if (ref.statement.empty()) throw SpecError(r.path("statement"), "must not be empty");
  } else {
    ref.step = read_string(r.required("step"), r.path("step"));
  }
  if (const Value* t = r.optional("tags")) ref.tags = read_tags(*t, r.path("tags"));
  r.finish();
  return ref;
}

// An amount, or (as `allow` says) a lines reference {"step", "tags"} or a pool {"pool"}.
enum Allow { lines_ref = 1, pool_ref = 2 };
MoneyRef read_money(const Value& v, const std::string& path, int allow) {
  if (!v.is(Value::Type::object)) return read_decimal(v, path);
  if ((allow & pool_ref) && v.find("pool")) {
    ObjectReader r(v, path);
    PoolRef ref{read_string(r.required("pool"), r.path("pool"))};
    r.finish();
    return ref;
  }
  if (allow & lines_ref) return read_lines_ref(v, path);
  throw SpecError(path, (allow & pool_ref) ? "must be an amount or {\"pool\": id}" : "must be an amount");
}

// What read_money returned, as the one kind of reference its `allow` permitted.
template <class Ref>
std::variant<Decimal, Ref> narrow(const MoneyRef& money) {
  if (const auto* d = std::get_if<Decimal>(&money)) return *d;
  return std::get<Ref>(money);
}

WrittenDecimal read_written(const Value& v, const std::string& path) {
  return {read_non_negative(v, path), v.text()};
}

std::vector<std::string> read_keys(ObjectReader& r, std::string_view key) {
  if (const Value* k = r.optional(key)) return read_string_list(*k, r.path(key));
  return {};
}

template <class T, class Read>
std::vector<T> read_section(ObjectReader& spec, std::string_view key, Read read) {
  std::vector<T> out;
  const Value* v = spec.optional(key);
  if (!v) return out;
  const std::string path = spec.path(key);
  const auto& items = read_array(*v, path);
  std::set<std::string, std::less<>> ids;  // alert keys start with the id: one rule each
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_path = path_index(path, i);
    ObjectReader r(items[i], item_path);
    out.push_back(read(r));
    r.finish();
    if (!ids.insert(out.back().id).second)
      throw SpecError(item_path + ".id", "id \"" + out.back().id + "\" is used twice in " + std::string(key));
  }
  return out;
}

// "2026-06" or "2026-Q2": the digits, or none when `text` is not of that shape.
std::optional<std::pair<int, int>> year_and(std::string_view text, bool quarter) {
  const std::size_t dash = 4;
  if (text.size() != 7 || text[dash] != '-') return std::nullopt;
  int year = 0, part = 0;
  const std::string_view rest = text.substr(dash + (quarter ? 2 : 1));
  if (quarter && text[dash + 1] != 'Q') return std::nullopt;
  if (std::from_chars(text.data(), text.data() + dash, year).ptr != text.data() + dash) return std::nullopt;
  if (std::from_chars(rest.data(), rest.data() + rest.size(), part).ptr != rest.data() + rest.size()) return std::nullopt;
  if (year < 1970 || part < 1 || part > (quarter ? 4 : 12)) return std::nullopt;
  return std::make_pair(year, part);
}

// The first of `month` (1 to 12, or beyond, into the years after) at 00:00 UTC.
Instant month_start(int year, int month) {
  using namespace std::chrono;
  const sys_days day(year_month_day(std::chrono::year(year), January, std::chrono::day(1)) + months(month - 1));
  const std::int64_t since_epoch = duration_cast<seconds>(day.time_since_epoch()).count();
  // Whole seconds an int64 count of nanoseconds holds, as Instant::parse allows.
  constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1'000'000'000;
  if (since_epoch > limit || since_epoch < -limit) throw ParseError("outside the years 1678 to 2261");
  return Instant::from_unix_seconds(since_epoch);
}

// A budget period: {"start", "end"}, {"month": "2026-06"} or {"quarter": "2026-Q2"}; and
// its start as written, the middle part of alert keys.
std::pair<Interval, std::string> read_period(const Value& v, const std::string& path) {
  if (v.is(Value::Type::object) && (v.find("month") || v.find("quarter"))) {
    ObjectReader r(v, path);
    const bool quarter = !v.find("month");
    const char* key = quarter ? "quarter" : "month";
    const std::string text = read_string(r.required(key), r.path(key));
    r.finish();
    const auto parts = year_and(text, quarter);
    if (!parts) throw SpecError(r.path(key), quarter ? "must be a quarter such as \"2026-Q2\" (got \"" + text + "\")"
                                                     : "must be a month such as \"2026-06\" (got \"" + text + "\")");
    const int first = quarter ? 3 * parts->second - 2 : parts->second;
    const int months = quarter ? 3 : 1;
    try {
      return {Interval(month_start(parts->first, first), month_start(parts->first, first + months)), text};
    } catch (const ParseError&) {
      throw SpecError(r.path(key), "is outside the years instants can hold (1678 to 2261): \"" + text + "\"");
    }
  }
  const Interval period = read_interval(v, path);
  return {period, v.find("start")->text()};
}

Budget read_budget(ObjectReader& r) {
  Budget b;
  b.id = read_string(r.required("id"), r.path("id"));
  if (const Value* t = r.optional("tags")) b.tags = read_tags(*t, r.path("tags"));
  const MoneyRef spend = read_money(r.required("spend"), r.path("spend"), lines_ref);
  b.spend = narrow<LinesRef>(spend);
  b.amount = read_non_negative(r.required("amount"), r.path("amount"));
  if (b.amount.is_zero()) throw SpecError(r.path("amount"), "must be positive");
  std::tie(b.period, b.period_text) = read_period(r.required("period"), r.path("period"));
  if (const Value* a = r.optional("as_of")) b.as_of = read_instant(*a, r.path("as_of"));
  if (const Value* t = r.optional("thresholds")) {
    const auto& items = read_array(*t, r.path("thresholds"));
    b.thresholds.clear();
    for (std::size_t i = 0; i < items.size(); ++i) b.thresholds.push_back(read_written(items[i], path_index(r.path("thresholds"), i)));
  }
  b.already_fired = read_keys(r, "already_fired");
  return b;
}

AnomalyRule read_anomaly(ObjectReader& r) {
  AnomalyRule a;
  a.id = read_string(r.required("id"), r.path("id"));
  a.lines = read_lines_ref(r.required("lines"), r.path("lines"));
  if (const Value* m = r.optional("method")) {
    const std::string method = read_string(*m, r.path("method"));
    if (method == "mad") a.method = AnomalyMethod::mad;
    else if (method == "trend") a.method = AnomalyMethod::trend;
    else if (method != "ratio")
      throw SpecError(r.path("method"), "must be \"ratio\", \"mad\" or \"trend\" (got \"" + method + "\")");
  }
  if (const Value* w = r.optional("window")) {
    if (a.method != AnomalyMethod::trend) throw SpecError(r.path("window"), "is the number of earlier buckets \"trend\" reads");
    const Decimal n = read_decimal(*w, r.path("window"));
    if (n.signum() <= 0 || !n.is_multiple_of(Decimal(1)) || n > Decimal(100000))
      throw SpecError(r.path("window"), "must be a whole number of buckets from 1 (got " + w->text() + ")");
    a.window = static_cast<std::size_t>(n.raw() / Decimal::one_raw);
  }
  if (const Value* t = r.optional("threshold")) a.threshold = read_written(*t, r.path("threshold"));
  a.already_fired = read_keys(r, "already_fired");
  return a;
}

Reconciliation read_reconcile(ObjectReader& r) {
  Reconciliation rec;
  rec.id = read_string(r.required("id"), r.path("id"));
  rec.estimate = read_lines_ref(r.required("estimate"), r.path("estimate"));
  const MoneyRef actual = read_money(r.required("actual"), r.path("actual"), pool_ref);
  rec.actual = narrow<PoolRef>(actual);
  if (const Value* p = r.optional("period")) rec.period = read_interval(*p, r.path("period"));
  if (const Value* c = r.optional("causes")) {
    const auto& items = read_array(*c, r.path("causes"));
    for (std::size_t i = 0; i < items.size(); ++i) {
      ObjectReader cr(items[i], path_index(r.path("causes"), i));
      ReconcileCause cause{read_string(cr.required("name"), cr.path("name")),
                           read_money(cr.required("amount"), cr.path("amount"), lines_ref | pool_ref)};
      cr.finish();
      for (const char* reserved : {"unexplained", "usage", "price"})
        if (cause.name == reserved)
          throw SpecError(cr.path("name"), "\"" + cause.name + "\" is the name of a cause apportion computes");
      rec.causes.push_back(std::move(cause));
    }
  }
  if (const Value* q = r.optional("quantity")) {
    ObjectReader qr(*q, r.path("quantity"));
    ReconcileQuantity quantity{read_non_negative(qr.required("estimate"), qr.path("estimate")),
                               read_non_negative(qr.required("actual"), qr.path("actual")), ""};
    if (const Value* u = qr.optional("unit")) quantity.unit = read_string(*u, qr.path("unit"));
    qr.finish();
    if (quantity.estimate.is_zero()) throw SpecError(qr.path("estimate"), "must be positive");
    rec.quantity = std::move(quantity);
  }
  return rec;
}

// The parameters each lever model takes.
const std::vector<std::pair<LeverModel::Kind, std::vector<const char*>>>& lever_models() {
  static const std::vector<std::pair<LeverModel::Kind, std::vector<const char*>>> models{
      {LeverModel::Kind::spot, {"on_demand_rate", "spot_rate"}},
      {LeverModel::Kind::quantization, {"throughput_gain"}},
      {LeverModel::Kind::caching, {"hit_rate", "cached_price_ratio"}},
      {LeverModel::Kind::right_sizing, {"utilization", "target_utilization"}}};
  return models;
}

Lever read_lever(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Lever lever;
  lever.name = read_string(r.required("name"), r.path("name"));
  const Value* saving = r.optional("saving");
  const Value* model = r.optional("model");
  if (saving && model) throw SpecError(path, "gives both \"saving\" and \"model\"; a lever's saving is one or the other");
  if (saving) {
    const WrittenDecimal s = read_written(*saving, r.path("saving"));
    if (s.value > Decimal(1)) throw SpecError(r.path("saving"), "must be between 0 and 1 (got " + s.text + ")");
    lever.model.parameters.emplace_back("saving", s);
  } else if (model) {
    const std::string name = read_string(*model, r.path("model"));
    const auto& models = lever_models();
    const auto it = std::find_if(models.begin(), models.end(), [&](const auto& m) { return to_string(m.first) == name; });
    if (it == models.end())
      throw SpecError(r.path("model"), "unknown lever model \"" + name + "\" (known: spot, quantization, caching, right_sizing)");
    lever.model.kind = it->first;
    ObjectReader pr(r.required("parameters"), r.path("parameters"));
    for (const char* p : it->second) lever.model.parameters.emplace_back(p, read_written(pr.required(p), pr.path(p)));
    pr.finish();
  } else {
    throw SpecError(path, "needs \"saving\" or \"model\" with \"parameters\"");
  }
  if (const Value* e = r.optional("eligible")) lever.model.eligible = read_written(*e, r.path("eligible"));
  if (const Value* s = r.optional("risk")) lever.risk = read_string(*s, r.path("risk"));
  if (const Value* s = r.optional("assumptions")) lever.assumptions = read_string(*s, r.path("assumptions"));
  r.finish();
  return lever;
}

Scorecard read_scorecard(ObjectReader& r) {
  Scorecard card;
  card.id = read_string(r.required("id"), r.path("id"));
  const MoneyRef baseline = read_money(r.required("baseline"), r.path("baseline"), lines_ref);
  card.baseline = narrow<LinesRef>(baseline);
  const auto& levers = read_array(r.required("levers"), r.path("levers"));
  for (std::size_t i = 0; i < levers.size(); ++i) card.levers.push_back(read_lever(levers[i], path_index(r.path("levers"), i)));
  return card;
}

UnitEconomicsRule read_unit_economics(ObjectReader& r) {
  UnitEconomicsRule rule;
  rule.id = read_string(r.required("id"), r.path("id"));
  rule.lines = read_lines_ref(r.required("lines"), r.path("lines"));
  if (const Value* u = r.optional("unit_precision")) {
    rule.unit_precision = read_decimal(*u, r.path("unit_precision"));
    if (!rule.unit_precision.is_power_of_ten())
      throw SpecError(r.path("unit_precision"), "must be a power of ten such as \"0.0001\" (got \"" + u->text() + "\")");
  }
  return rule;
}

// ---- Writing -------------------------------------------------------------------------------

using json = nlohmann::ordered_json;

json written_list(const std::vector<WrittenDecimal>& values) {
  json out = json::array();
  for (const WrittenDecimal& v : values) out.push_back(v.text);
  return out;
}

json interval_json(const Interval& i) { return {{"start", i.start().to_string()}, {"end", i.end().to_string()}}; }

// An amount with the precision's digits when it needs no more, else exactly.
std::string exact_amount(const Decimal& amount, const Decimal& precision) {
  return amount.is_multiple_of(precision) ? format_amount(amount, precision) : amount.to_string();
}

}  // namespace

std::shared_ptr<const Governance> read_governance(ObjectReader& spec) {
  auto g = std::make_shared<Governance>();
  g->budgets = read_section<Budget>(spec, "budgets", read_budget);
  g->anomalies = read_section<AnomalyRule>(spec, "anomalies", read_anomaly);
  g->reconcile = read_section<Reconciliation>(spec, "reconcile", read_reconcile);
  g->scorecards = read_section<Scorecard>(spec, "scorecards", read_scorecard);
  g->unit_economics = read_section<UnitEconomicsRule>(spec, "unit_economics", read_unit_economics);
  const bool any = spec.has("budgets") || spec.has("anomalies") || spec.has("reconcile") || spec.has("scorecards") ||
                   spec.has("unit_economics");
  return any ? g : nullptr;
}

void write_governance(const GovernanceReport& report, const Decimal& unit, json& doc) {
  const auto money = [&](const Decimal& d) { return format_amount(d, unit); };
  if (!report.budgets.empty()) {
    json& out = doc["budgets"] = json::array();
    for (const BudgetStatus& b : report.budgets) {
      json j{{"id", b.id}, {"tags", tags_json(b.tags)}, {"period", interval_json(b.period)}};
      if (b.as_of) j["as_of"] = b.as_of->to_string();
      j["spend"] = money(b.spend);
      j["amount"] = exact_amount(b.amount, unit);
      j["ratio"] = format_places(b.ratio, 6);
      j["forecast"] = b.forecast ? json(money(*b.forecast)) : json(nullptr);
      j["forecast_method"] = "linear";
      j["crossed"] = written_list(b.crossed);
      j["forecast_crossed"] = written_list(b.forecast_crossed);
      j["alerts"] = json::array();
      for (const BudgetAlert& a : b.alerts)
        j["alerts"].push_back({{"key", a.key}, {"threshold", a.threshold.text}, {"severity", std::string(to_string(a.severity))}});
      out.push_back(std::move(j));
    }
  }
  if (!report.anomalies.empty()) {
    json& out = doc["anomalies"] = json::array();
    for (const AnomalyReport& a : report.anomalies) {
      json j{{"id", a.id}, {"method", std::string(to_string(a.method))}, {"threshold", a.threshold.text}, {"lines", a.lines}};
      j["baseline"] = a.median ? json(format_amount(*a.median, unit)) : json(nullptr);
      if (a.method == AnomalyMethod::mad) j["mad"] = a.mad ? json(format_places(*a.mad, 6)) : json(nullptr);
      j["flagged"] = json::array();
      for (const FlaggedLine& f : a.flagged) {
        json fj{{"key", f.key}};
        if (f.bucket) fj["bucket"] = interval_json(*f.bucket);
        fj.update({{"kind", std::string(to_string(f.kind))}, {"tags", tags_json(f.tags)}, {"cost", money(f.cost)},
                   {"baseline", money(f.baseline)}, {"score", format_places(f.score, 6)}, {"alert", f.alert}});
        j["flagged"].push_back(std::move(fj));
      }
      out.push_back(std::move(j));
    }
  }
  if (!report.reconcile.empty()) {
    json& out = doc["reconcile"] = json::array();
    for (const ReconcileReport& r : report.reconcile) {
      json j{{"id", r.id}};
      if (r.period) j["period"] = interval_json(*r.period);
      j["estimate"] = money(r.estimate);
      j["actual"] = money(r.actual);
      j["difference"] = money(r.difference);
      j["drift"] = r.drift ? json(format_places(*r.drift, 6)) : json(nullptr);
      if (!r.causes.empty()) {
        j["causes"] = json::array();
        for (const CauseAmount& c : r.causes) j["causes"].push_back({{"name", c.name}, {"amount", money(c.amount)}});
      }
      j["lines"] = json::array();
      for (const ReconciledLine& l : r.lines) {
        json lj{{"tags", tags_json(l.tags)}};
        if (l.bucket) lj["bucket"] = interval_json(*l.bucket);
        lj.update({{"kind", std::string(to_string(l.kind))}, {"cost", money(l.cost)}, {"true_up", money(l.true_up)}});
        j["lines"].push_back(std::move(lj));
      }
      out.push_back(std::move(j));
    }
  }
  if (!report.scorecards.empty()) {
    json& out = doc["scorecards"] = json::array();
    for (const ScorecardReport& s : report.scorecards) {
      json levers = json::array();
      for (const LeverResult& l : s.levers) {
        json j{{"name", l.name}, {"saving", format_places(l.saving, 6)}, {"formula", l.formula},
               {"standalone", money(l.standalone)}, {"incremental", money(l.incremental)}};
        if (!l.risk.empty()) j["risk"] = l.risk;
        if (!l.assumptions.empty()) j["assumptions"] = l.assumptions;
        levers.push_back(std::move(j));
      }
      out.push_back({{"id", s.id}, {"baseline", money(s.baseline)}, {"levers", std::move(levers)},
                     {"combined", money(s.combined)}, {"remaining", money(s.remaining)}});
    }
  }
  if (!report.unit_economics.empty()) {
    json& out = doc["unit_economics"] = json::array();
    for (const UnitEconomicsReport& u : report.unit_economics) {
      json lines = json::array();
      for (const LineEconomics& l : u.lines) {
        json quantities = json::object(), per = json::object();
        for (const auto& [name, q] : l.quantities) quantities[name] = format_weight(q);
        for (const auto& [name, p] : l.per) per[name] = format_amount(p, u.unit_precision);
        json lj{{"step", u.step}};
        if (l.bucket) lj["bucket"] = interval_json(*l.bucket);
        lj.update({{"kind", std::string(to_string(l.kind))}, {"tags", tags_json(l.tags)}, {"cost", money(l.cost)},
                   {"quantities", std::move(quantities)}, {"per", std::move(per)}});
        lines.push_back(std::move(lj));
      }
      out.push_back({{"id", u.id}, {"unit_precision", u.unit_precision.to_string()}, {"lines", std::move(lines)}});
    }
  }
}

APPORTION_END_NAMESPACE
