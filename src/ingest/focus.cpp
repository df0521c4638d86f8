// `focus`: a FOCUS 1.x billing export (CSV) summed into pools, one pool per distinct value of
// the `pool_by` columns, each pool's cost the exact sum of its rows' cost column.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apportion/json.hpp"
#include "apportion/money.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// Real exports write a missing value as the bare word NULL.
bool is_null(const CsvRow& row, std::size_t i) {
  return row.fields[i].empty() || (!row.quoted[i] && row.fields[i] == "NULL");
}

// A FOCUS timestamp: RFC 3339, or "2024-09-01 00:00:00" with no zone, which FOCUS defines as UTC.
Instant focus_instant(const std::string& text) {
  bool zoned = !text.empty() && (text.back() == 'Z' || text.back() == 'z');
  for (std::size_t i = 11; !zoned && i < text.size(); ++i) zoned = text[i] == '+' || text[i] == '-';
  return Instant::parse(zoned ? text : text + "Z");
}

// How a pool's origin charge takes a column from the pool's rows: a dimension (and a unit
// price) is the value every row agrees on, else null; the charge and billing periods run from
// the earliest start to the latest end; costs and the other summable metrics are summed,
// null rows counting as nothing.
enum class OriginRule { same, earliest, latest, cost, summable };

OriginRule origin_rule(std::string_view column) {
  if (column == "ChargePeriodStart" || column == "BillingPeriodStart") return OriginRule::earliest;
  if (column == "ChargePeriodEnd" || column == "BillingPeriodEnd") return OriginRule::latest;
  if (column == "BilledCost" || column == "EffectiveCost" || column == "ListCost" || column == "ContractedCost")
    return OriginRule::cost;
  if (column == "ConsumedQuantity" || column == "PricingQuantity" || column == "CommitmentDiscountQuantity" ||
      column == "PricingCurrencyEffectiveCost")
    return OriginRule::summable;
  return OriginRule::same;
}

// A summable metric other than a cost is summed only where the rows that have it give it in
// the same unit.
std::optional<std::string_view> unit_column_of(std::string_view metric) {
  if (metric == "ConsumedQuantity") return "ConsumedUnit";
  if (metric == "PricingQuantity") return "PricingUnit";
  if (metric == "CommitmentDiscountQuantity") return "CommitmentDiscountUnit";
  if (metric == "PricingCurrencyEffectiveCost") return "PricingCurrency";
  return std::nullopt;
}

struct OriginAcc {
  std::string text;  // same: the agreed value; earliest, latest: the extreme's text; summable: the unit
  Instant when;
  Decimal sum;
  bool any = false;    // a value (not null) was seen
  bool known = true;   // false once the rows disagree or a value cannot be read: null
};

struct PoolAcc {
  std::string id;
  Decimal cost;
  std::string currency;
  std::map<std::string, std::string, std::less<>> tags;  // pairs every row so far agrees on
  bool first = true;
  std::vector<OriginAcc> origin;  // one per origin column
};

// The bill's columns an origin charge carries, with their rules: all but Tags (the pool's
// tags stand for it) and the Allocated* columns of rows already split by the data generator,
// which the output writes afresh.
struct OriginColumns {
  std::vector<std::size_t> index;
  std::vector<OriginRule> rule;
  std::vector<std::optional<std::size_t>> unit;  // a summable metric's unit column
};

OriginColumns origin_columns(const CsvRow& header) {
  OriginColumns out;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i];
    if (name == "Tags" || name.starts_with("Allocated")) continue;
    out.index.push_back(i);
    out.rule.push_back(origin_rule(name));
    std::optional<std::size_t> unit;
    if (const auto unit_name = unit_column_of(name))
      for (std::size_t u = 0; u < header.fields.size(); ++u)
        if (header.fields[u] == *unit_name) unit = u;
    out.unit.push_back(unit);
  }
  return out;
}

// Folds one accepted row into a pool's origin columns.
void add_origin(std::vector<OriginAcc>& acc, const OriginColumns& columns, const CsvRow& row, bool first) {
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    OriginAcc& a = acc[c];
    if (!a.known) continue;
    const std::size_t i = columns.index[c];
    const bool null = is_null(row, i);
    const std::string& text = row.fields[i];
    switch (columns.rule[c]) {
      case OriginRule::same:
        if (first) {
          a.any = !null;
          if (!null) a.text = text;
        } else if (a.any == null || (!null && a.text != text)) {
          a.known = false;
        }
        break;
      case OriginRule::earliest:
      case OriginRule::latest: {
        if (null) {
          a.known = false;
          break;
        }
        if (a.any && a.text == text) break;
        try {
          const Instant at = focus_instant(text);
          const bool earliest = columns.rule[c] == OriginRule::earliest;
          if (!a.any || (earliest ? at < a.when : a.when < at)) {
            a.when = at;
            a.text = text;
          }
          a.any = true;
        } catch (const std::exception&) {
          a.known = false;
        }
        break;
      }
      case OriginRule::summable:
        if (!null && columns.unit[c]) {
          const std::size_t u = *columns.unit[c];
          const std::string unit = is_null(row, u) ? std::string() : row.fields[u];
          if (a.any && a.text != unit) {
            a.known = false;
            break;
          }
          a.text = unit;
        }
        [[fallthrough]];
      case OriginRule::cost:
        if (null) break;
        try {
          a.sum += Decimal::parse(text, ExcessDigits::round_half_even);
          a.any = true;
        } catch (const std::exception&) {
          a.known = false;  // unreadable, or a sum beyond the range
        }
        break;
    }
  }
}

std::shared_ptr<const OriginCharge> origin_charge(const PoolAcc& pool, const OriginColumns& columns,
                                                  const CsvRow& header, const std::string& cost_column) {
  auto charge = std::make_shared<OriginCharge>();
  charge->cost_column = cost_column;
  charge->currency = Currency(pool.currency);
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    const OriginAcc& a = pool.origin[c];
    OriginColumn column;
    column.name = header.fields[columns.index[c]];
    const OriginRule rule = columns.rule[c];
    if (rule == OriginRule::cost || rule == OriginRule::summable) {
      column.kind = rule == OriginRule::cost ? OriginColumn::Kind::cost : OriginColumn::Kind::summable;
      if (a.known && a.any) column.amount = a.sum;
    } else {
      if (column.name == "ListUnitPrice" || column.name == "ContractedUnitPrice") column.kind = OriginColumn::Kind::price;
      if (a.known && a.any) column.value = a.text;
    }
    charge->columns.push_back(std::move(column));
  }
  // A summed metric's unit is the one its rows agree on, whatever rows without it hold.
  for (std::size_t c = 0; c < columns.index.size(); ++c) {
    if (!charge->columns[c].amount || !columns.unit[c]) continue;
    for (std::size_t u = 0; u < columns.index.size(); ++u)
      if (columns.index[u] == *columns.unit[c]) {
        const std::string& unit = pool.origin[c].text;
        charge->columns[u].value = unit.empty() ? std::nullopt : std::optional<std::string>(unit);
      }
  }
  return charge;
}

// Keeps only the pairs of `acc` that `row` also has with the same value.
void intersect(std::map<std::string, std::string, std::less<>>& acc, const std::map<std::string, std::string>& row) {
  for (auto it = acc.begin(); it != acc.end();) {
    const auto found = row.find(it->first);
    if (found == row.end() || found->second != it->second)
      it = acc.erase(it);
    else
      ++it;
  }
}

IngestResult parse_focus(std::string_view text, ObjectReader& options, const std::string& source) {
  std::string cost_column = "BilledCost";
  if (const Value* v = options.optional("cost")) {
    cost_column = read_string(*v, options.path("cost"));
    if (cost_column != "BilledCost" && cost_column != "EffectiveCost" && cost_column != "ListCost" &&
        cost_column != "ContractedCost")
      throw SpecError(options.path("cost"), "must be BilledCost, EffectiveCost, ListCost or ContractedCost (got \"" +
                                                cost_column + "\")");
  }
  std::vector<std::string> pool_by{"ResourceId"};
  if (const Value* v = options.optional("pool_by")) {
    pool_by = read_names(*v, options.path("pool_by"));
    if (pool_by.empty()) throw SpecError(options.path("pool_by"), "names no column");
  }
  std::vector<std::string> tag_names;
  if (const Value* v = options.optional("tags")) tag_names = read_names(*v, options.path("tags"));
  std::optional<Instant> period_start, period_end;
  if (const Value* v = options.optional("period_start")) period_start = read_instant(*v, options.path("period_start"));
  if (const Value* v = options.optional("period_end")) period_end = read_instant(*v, options.path("period_end"));
  if (period_start && period_end && *period_end < *period_start)
    throw SpecError(options.path("period_end"), "is before period_start");
  const RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read

  CsvReader reader(text, source);
  CsvRow header;
  if (!reader.next(header)) throw SpecError(source, "no header row");
  const std::size_t cost_i = csv_column(reader, header, cost_column, "cost");
  const std::size_t currency_i = csv_column(reader, header, "BillingCurrency", "the FOCUS format");
  std::vector<std::size_t> pool_i, tag_i;
  for (const std::string& name : pool_by) pool_i.push_back(csv_column(reader, header, name, "pool_by"));
  for (const std::string& name : tag_names) tag_i.push_back(csv_column(reader, header, name, "tags"));
  std::optional<std::size_t> period_i;
  if (period_start || period_end) period_i = csv_column(reader, header, "ChargePeriodStart", "period_start/period_end");
  std::optional<std::size_t> json_tags_i;
  for (std::size_t i = 0; i < header.fields.size(); ++i)
    if (header.fields[i] == "Tags") json_tags_i = i;
  const OriginColumns columns = origin_columns(header);

  IngestResult result;
  std::vector<PoolAcc> pools;
  std::map<std::string, std::size_t, std::less<>> pool_index;
  CsvRow row;
  while (reader.next(row)) {
    const std::string where = reader.where(row.line);
    try {
      require_header_width(row, header);
      if (period_i) {
        if (is_null(row, *period_i)) throw SpecError("", "ChargePeriodStart: empty, so the period filter cannot place the row");
        Instant at;
        try {
          at = focus_instant(row.fields[*period_i]);
        } catch (const std::exception&) {
          throw SpecError("", "ChargePeriodStart: not a timestamp (got \"" + row.fields[*period_i] + "\")");
        }
        if ((period_start && at < *period_start) || (period_end && !(at < *period_end))) continue;
      }
      if (is_null(row, cost_i)) throw SpecError("", cost_column + ": empty (NULL); a cost is needed for every row");
      Decimal cost;
      try {
        cost = Decimal::parse(row.fields[cost_i], ExcessDigits::round_half_even);
      } catch (const std::exception&) {
        throw SpecError("", cost_column + ": not a decimal number (got \"" + row.fields[cost_i] + "\")");
      }
      if (is_null(row, currency_i)) throw SpecError("", "BillingCurrency: empty (NULL)");
      const std::string& currency = row.fields[currency_i];
      try {
        (void)Currency(currency);
      } catch (const std::exception&) {
        throw SpecError("", "BillingCurrency: not an ISO 4217 currency code (got \"" + currency + "\")");
      }
      std::string id;
      for (std::size_t k = 0; k < pool_i.size(); ++k) {
        if (k > 0) id += '/';
        id += is_null(row, pool_i[k]) ? std::string("unassigned") : row.fields[pool_i[k]];
      }
      std::map<std::string, std::string> row_tags;
      if (json_tags_i && !is_null(row, *json_tags_i)) {
        Value parsed;
        try {
          parsed = parse_json(row.fields[*json_tags_i]);
        } catch (const SpecError& e) {
          throw SpecError("", std::string("Tags: not JSON (") + e.what() + ")");
        }
        if (!parsed.is(Value::Type::object)) throw SpecError("", "Tags: not a JSON object");
        for (const auto& [key, value] : parsed.members()) {
          if (value.is(Value::Type::null)) continue;  // a key with no value
          if (value.is(Value::Type::object) || value.is(Value::Type::array))
            throw SpecError("", "Tags." + key + ": must be a string");
          if (!value.text().empty()) row_tags[key] = value.text();
        }
      }
      for (std::size_t k = 0; k < tag_i.size(); ++k) {
        if (is_null(row, tag_i[k]))
          row_tags.erase(tag_names[k]);
        else
          row_tags[tag_names[k]] = row.fields[tag_i[k]];
      }
      auto [it, inserted] = pool_index.try_emplace(id, pools.size());
      if (inserted) pools.push_back(PoolAcc{id, Decimal{}, currency, {}, true, {}});
      PoolAcc& pool = pools[it->second];
      if (pool.currency != currency)
        throw SpecError("", "BillingCurrency: pool \"" + id + "\" mixes " + pool.currency + " and " + currency);
      pool.cost += cost;
      if (pool.first) {
        pool.tags.insert(row_tags.begin(), row_tags.end());
        pool.origin.resize(columns.index.size());
      } else {
        intersect(pool.tags, row_tags);
      }
      add_origin(pool.origin, columns, row, pool.first);
      pool.first = false;
    } catch (const SpecError& e) {
      errors.skip(result, where, e.what());
    } catch (const OverflowError& e) {
      errors.skip(result, where, std::string(cost_column) + ": " + e.what());
    }
  }
  for (PoolAcc& acc : pools) {
    if (acc.first) continue;  // created by a row that was then refused
    Pool pool;
    pool.id = acc.id;
    pool.tags = Tags(std::vector<Tags::Pair>(acc.tags.begin(), acc.tags.end()));
    pool.source = CostSource{acc.cost};
    pool.currency = Currency(acc.currency);
    pool.origin = origin_charge(acc, columns, header, cost_column);
    result.pools.push_back(std::move(pool));
  }
  return result;
}

}  // namespace

void register_focus(IngestRegistry& registry) { registry.add("focus", parse_focus); }

}  // namespace ingest
APPORTION_END_NAMESPACE
