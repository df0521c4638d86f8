// `focus`: a FOCUS 1.x billing export (CSV) summed into pools, one pool per distinct value of
// the `pool_by` columns, each pool's cost the exact sum of its rows' cost column.

#include <map>
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

struct PoolAcc {
  std::string id;
  Decimal cost;
  std::string currency;
  std::map<std::string, std::string, std::less<>> tags;  // pairs every row so far agrees on
  bool first = true;
};

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
      if (inserted) pools.push_back(PoolAcc{id, Decimal{}, currency, {}, true});
      PoolAcc& pool = pools[it->second];
      if (pool.currency != currency)
        throw SpecError("", "BillingCurrency: pool \"" + id + "\" mixes " + pool.currency + " and " + currency);
      pool.cost += cost;
      if (pool.first) {
        pool.tags.insert(row_tags.begin(), row_tags.end());
        pool.first = false;
      } else {
        intersect(pool.tags, row_tags);
      }
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
    result.pools.push_back(std::move(pool));
  }
  return result;
}

}  // namespace

void register_focus(IngestRegistry& registry) { registry.add("focus", parse_focus); }

}  // namespace ingest
APPORTION_END_NAMESPACE
