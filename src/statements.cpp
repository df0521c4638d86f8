// Chargeback statements (statements.hpp): leaves chosen, tags inherited down drill-downs,
// rows summed exactly.

#include "apportion/statements.hpp"

#include <array>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include "apportion/allocate.hpp"
#include "apportion/errors.hpp"
#include "apportion/strategy.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

constexpr std::size_t none = static_cast<std::size_t>(-1);

std::string in_quotes(std::string_view s) {
  std::string out;  // appended: `"\"" + std::string&&` trips GCC 12's -Wrestrict (a false positive)
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

// What a line's cost is made of, by LineKind: its own kind, and the overhead and idle it
// took in. Each takes the floor of its exact amount in units of `precision`, and the units
// of the line's rounded cost left over go to the largest remainders (the one rule, as a
// step rounds its lines), so they sum to the line's cost and an exact amount stays exact.
std::array<Decimal, 4> made_of(const Line& line, const Decimal& precision) {
  std::array<Decimal, 4> out{};
  const auto at = [&out](LineKind k) -> Decimal& { return out[static_cast<std::size_t>(k)]; };
  const Rational overhead = line.absorbed_overhead.value_or(Rational(0)), idle = line.absorbed_idle.value_or(Rational(0));
  const Rational own = line.exact_cost - overhead - idle;
  const auto sign = [](const Rational& r) { return r > 0 ? 1 : r < 0 ? -1 : 0; };
  const int s = sign(line.exact_cost);
  // Parts of one sign only (a credit's are all negative); anything else stays whole.
  if ((overhead == 0 && idle == 0) || s == 0 || sign(own) == -s || sign(overhead) == -s || sign(idle) == -s) {
    at(line.kind) = line.cost;
    return out;
  }
  // Magnitudes in units over one denominator.
  const Rational unit = precision.to_rational();
  const std::array<Rational, 3> units_of{abs(own) / unit, abs(overhead) / unit, abs(idle) / unit};
  BigInt common = 1;
  for (const Rational& u : units_of) {
    const BigInt& d = boost::multiprecision::denominator(u);
    common = common / boost::multiprecision::gcd(common, d) * d;
  }
  std::array<BigInt, 3> a;
  for (std::size_t i = 0; i < 3; ++i) a[i] = boost::multiprecision::numerator(units_of[i]) * (common / boost::multiprecision::denominator(units_of[i]));
  const BigInt units(line.cost.abs().raw() / precision.raw());
  const std::vector<BigInt> floors = detail::largest_remainder_units<BigInt>(a, common, units, {});
  const auto amount = [&](const BigInt& f) {
    const Decimal d = Decimal::from_raw(to_int128(f * BigInt(precision.raw()), "made_of"));
    return s < 0 ? -d : d;
  };
  at(line.kind) += amount(floors[0]);
  at(LineKind::overhead) += amount(floors[1]);
  at(LineKind::idle) += amount(floors[2]);
  return out;
}

// Checks what a statement says of itself: an id, and group_by keys, each once.
void check_spec(const StatementSpec& spec, const std::string& path, std::set<std::string_view>& ids) {
  if (spec.id.empty()) throw SpecError(path + ".id", "must not be empty");
  if (!ids.insert(spec.id).second) throw SpecError(path + ".id", "statement " + in_quotes(spec.id) + " is defined twice");
  if (spec.group_by.empty()) throw SpecError(path + ".group_by", "must name at least one tag");
  for (std::size_t k = 0; k < spec.group_by.size(); ++k) {
    const std::string key_path = path + ".group_by[" + std::to_string(k) + "]";
    if (spec.group_by[k].empty()) throw SpecError(key_path, "must not be empty");
    for (std::size_t j = 0; j < k; ++j)
      if (spec.group_by[j] == spec.group_by[k]) throw SpecError(key_path, "tag " + in_quotes(spec.group_by[k]) + " is listed twice");
  }
}

// What one statement reads of a run: the step chosen for each pool, the lines drawn into
// each pool by `from`, and the tags each pool's leaves inherit.
class Reading {
 public:
  Reading(const Allocation& a, const Result& result, const StatementSpec& spec, const std::string& path)
      : a_(a), result_(result), path_(path) {
    for (std::size_t p = 0; p < a.pools.size(); ++p) pool_index_.emplace(a.pools[p].id, p);
    for (std::size_t s = 0; s < a.steps.size(); ++s) step_index_.emplace(a.steps[s].id, s);
    pool_costs_.resize(a.pools.size());
    for (const PoolCost& c : result.pools)
      if (const auto p = pool_index_.find(c.id); p != pool_index_.end()) pool_costs_[p->second] = c.cost;
    choose_steps(spec);
    draw_lines();
    inherited_.resize(a.pools.size());
    inherited_done_.assign(a.pools.size(), false);
  }

  Statement build(const StatementSpec& spec) {
    struct Row {
      Decimal cost;
      std::array<Decimal, 4> made_of{};
      std::vector<StatementPart> parts;
    };
    std::map<Tags, Row> rows;
    const auto add_leaf = [&](StatementPart part, std::size_t pool) {
      const Tags& from_above = inherited(pool);
      std::vector<Tags::Pair> key;
      for (const std::string& k : spec.group_by) {
        std::optional<std::string_view> v = part.tags.get(k);
        if (!v) v = from_above.get(k);
        if (!v) v = part.kind == LineKind::idle ? grouping::idle_value : grouping::unallocated_value;
        key.emplace_back(k, std::string(*v));
      }
      Row& row = rows[Tags(std::move(key))];
      row.cost += part.cost;
      for (std::size_t k = 0; k < row.made_of.size(); ++k) row.made_of[k] += part.made_of[k];
      row.parts.push_back(std::move(part));
    };
    for (std::size_t l = 0; l < result_.lines.size(); ++l) {
      const Line& line = result_.lines[l];
      if (!line.pool || drawn_into_[l] != none) continue;
      const auto s = step_index_.find(line.step);
      const std::size_t pool = pool_index_.at(*line.pool);
      if (s == step_index_.end() || chosen_[pool] != s->second) continue;
      add_leaf({line.step, *line.pool, line.kind, line.tags, line.cost, made_of(line, result_.precision)}, pool);
    }
    for (std::size_t p = 0; p < a_.pools.size(); ++p)
      if (chosen_[p] == none) {
        std::array<Decimal, 4> whole{};
        whole[static_cast<std::size_t>(LineKind::unallocated)] = pool_cost(p);
        add_leaf({std::nullopt, a_.pools[p].id, LineKind::unallocated, a_.pools[p].tags, pool_cost(p), whole}, p);
      }

    Statement out;
    out.id = spec.id;
    out.group_by = spec.group_by;
    out.rows.reserve(rows.size());
    for (auto& [tags, row] : rows) {
      StatementRow& r = out.rows.emplace_back();
      r.tags = tags;
      r.cost = row.cost;
      r.made_of = row.made_of;
      r.kind = row.parts.front().kind;
      for (const StatementPart& part : row.parts)
        if (part.kind != r.kind) r.kind = LineKind::allocated;
      r.parts = std::move(row.parts);
      out.total += r.cost;
    }
    Decimal bill;
    for (std::size_t p = 0; p < a_.pools.size(); ++p)
      if (!std::holds_alternative<FromStepSource>(a_.pools[p].source)) bill += pool_cost(p);
    if (out.total != bill)
      throw std::logic_error("statement " + in_quotes(spec.id) + ": rows sum to " + out.total.to_string() +
                             ", the pools not drawn from lines to " + bill.to_string());
    return out;
  }

 private:
  Decimal pool_cost(std::size_t p) const { return pool_costs_[p]; }
  std::string money(const Decimal& d) const { return d.to_fixed(result_.precision.fractional_digits()); }
  // The pools step `s` splits (its pool, or its fleet's).
  const std::vector<std::size_t>& pools_of(std::size_t s) {
    if (pools_of_.empty())
      for (std::size_t i = 0; i < a_.steps.size(); ++i)
        pools_of_.push_back(pools_of_step(a_, a_.steps[i], "steps[" + std::to_string(i) + "]"));
    return pools_of_[s];
  }
  // Steps that split a pool: the one `steps` names for it, else the first in spec order.
  void choose_steps(const StatementSpec& spec) {
    chosen_.assign(a_.pools.size(), none);
    for (std::size_t k = 0; k < spec.steps.size(); ++k) {
      const std::string path = path_ + ".steps[" + std::to_string(k) + "]";
      const auto s = step_index_.find(spec.steps[k]);
      if (s == step_index_.end()) throw SpecError(path, "unknown step " + in_quotes(spec.steps[k]));
      const Step& step = a_.steps[s->second];
      const std::vector<std::size_t>& pools = pools_of(s->second);
      if (pools.empty() || !step.strategy || !step.strategy->splits_pool())
        throw SpecError(path, "step " + in_quotes(step.id) + " splits no pool (its lines are priced runs): a statement reads the steps that split pools");
      for (std::size_t p : pools) {
        std::size_t& chosen = chosen_[p];
        if (chosen == s->second) throw SpecError(path, "step " + in_quotes(step.id) + " is named twice");
        if (chosen != none)
          throw SpecError(path, "steps " + in_quotes(a_.steps[chosen].id) + " and " + in_quotes(step.id) + " both split pool " +
                                    in_quotes(a_.pools[p].id) + ": name one of them");
        chosen = s->second;
      }
    }
    for (std::size_t s = 0; s < a_.steps.size(); ++s) {
      const Step& step = a_.steps[s];
      if (!step.strategy || !step.strategy->splits_pool()) continue;
      for (std::size_t p : pools_of(s))
        if (chosen_[p] == none) chosen_[p] = s;
    }
  }
  // The lines each `from` pool draws: they are not leaves, the drill-down's lines stand for them.
  void draw_lines() {
    drawn_into_.assign(result_.lines.size(), none);
    drawn_.resize(a_.pools.size());
    std::map<std::string_view, std::vector<std::size_t>> lines_of_step;
    for (std::size_t l = 0; l < result_.lines.size(); ++l) lines_of_step[result_.lines[l].step].push_back(l);
    for (std::size_t p = 0; p < a_.pools.size(); ++p) {
      const auto* from = std::get_if<FromStepSource>(&a_.pools[p].source);
      if (!from) continue;
      const auto s = step_index_.find(from->step);
      if (s == step_index_.end()) continue;  // the engine refused it already
      // Every pool the step splits must be read through it (each of a fleet's).
      const std::vector<std::size_t>& split = pools_of(s->second);
      const auto unread = std::find_if(split.begin(), split.end(), [&](std::size_t q) { return chosen_[q] != s->second; });
      if (split.empty() || unread != split.end()) {
        const Step& step = a_.steps[s->second];
        std::string why = "pool " + in_quotes(a_.pools[p].id) + " is drawn from step " + in_quotes(step.id) +
                          ", which the statement does not read";
        if (split.empty()) why += " (its lines are priced runs, which draw on no pool and are no leaves)";
        if (!split.empty() && chosen_[*unread] != none)
          why += " (it reads pool " + in_quotes(a_.pools[*unread].id) + " through step " +
                 in_quotes(a_.steps[chosen_[*unread]].id) + "): name " + in_quotes(step.id) + " in its steps";
        throw SpecError(path_, why);
      }
      for (std::size_t l : lines_of_step[from->step]) {
        const Line& line = result_.lines[l];
        if (!line.tags.contains_all(from->tags)) continue;
        if (drawn_into_[l] != none)
          throw SpecError(path_, "the " + std::string(to_string(line.kind)) + " line " + braced(line.tags) + " of step " +
                                     in_quotes(line.step) + " is drawn into pools " + in_quotes(a_.pools[drawn_into_[l]].id) +
                                     " and " + in_quotes(a_.pools[p].id) + ": a statement counts each line once");
        drawn_into_[l] = p;
        drawn_[p].push_back(l);
      }
      Decimal drawn;
      for (std::size_t l : drawn_[p]) drawn += result_.lines[l].cost;
      if (drawn != pool_costs_[p])
        throw SpecError(path_, "pool " + in_quotes(a_.pools[p].id) + " costs " + money(pool_costs_[p]) + " but draws " +
                                   money(drawn) + " from the lines of step " + in_quotes(from->step) +
                                   " (its currency converts them): a statement cannot add up both");
    }
  }
  // The tags a leaf of pool `p` takes for keys it lacks: the pairs every line drawn into `p`
  // shares, then what their pool inherits, nearest first. From-chains run forward, so this ends.
  const Tags& inherited(std::size_t p) {
    if (inherited_done_[p]) return inherited_[p];
    inherited_done_[p] = true;
    const auto* from = std::get_if<FromStepSource>(&a_.pools[p].source);
    if (!from || drawn_[p].empty()) return inherited_[p];
    // Each drawn line as it stands for its leaves: its own tags, then what its pool inherits
    // for keys it lacks (the nearer level first); the pairs they all share pass down.
    std::optional<std::vector<Tags::Pair>> shared;
    for (std::size_t l : drawn_[p]) {
      const Line& line = result_.lines[l];
      std::vector<Tags::Pair> tags(line.tags.begin(), line.tags.end());
      for (const auto& pair : inherited(pool_index_.at(*line.pool)))
        if (!line.tags.contains(pair.first)) tags.push_back(pair);
      if (!shared) {
        shared = std::move(tags);
        continue;
      }
      std::erase_if(*shared, [&](const Tags::Pair& pair) {
        return std::none_of(tags.begin(), tags.end(), [&](const Tags::Pair& t) { return t == pair; });
      });
    }
    inherited_[p] = Tags(std::move(*shared));
    return inherited_[p];
  }

  const Allocation& a_;
  const Result& result_;
  const std::string& path_;
  std::map<std::string_view, std::size_t> pool_index_, step_index_;
  std::vector<Decimal> pool_costs_;      // per pool: its rounded cost in the result
  std::vector<std::size_t> chosen_;      // per pool: the step read, or none
  std::vector<std::size_t> drawn_into_;  // per line: the pool it is drawn into, or none
  std::vector<std::vector<std::size_t>> drawn_;  // per pool: the lines drawn into it
  std::vector<Tags> inherited_;
  std::vector<std::vector<std::size_t>> pools_of_;  // per step, made on first use
  std::vector<bool> inherited_done_;
};

}  // namespace

std::vector<Statement> build_statements(const Allocation& allocation, const Result& result) {
  std::vector<Statement> out;
  std::set<std::string_view> ids;
  for (std::size_t s = 0; s < allocation.statements.size(); ++s) {
    const StatementSpec& spec = allocation.statements[s];
    const std::string path = "statements[" + std::to_string(s) + "]";
    check_spec(spec, path, ids);
    Reading reading(allocation, result, spec, path);
    out.push_back(reading.build(spec));
  }
  return out;
}

APPORTION_END_NAMESPACE
