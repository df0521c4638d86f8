// The record plan and the reducer that reads records through it (plan.hpp).

#include "apportion/plan.hpp"

#include <algorithm>

#include "apportion/strategy.hpp"

APPORTION_BEGIN_NAMESPACE

RecordPlan plan_records(const std::vector<Step>& steps, const std::vector<Pool>& pools, bool unit_economics) {
  RecordPlan plan;
  plan.reduce = true;
  for (const Step& step : steps) {
    if (!step.strategy) {
      plan.reduce = false;
      continue;
    }
    // Priced runs are never summed, and a step that reads them reads no other record.
    if (!step.strategy->reads_records() || step.strategy->reads_priced_runs()) continue;
    const RecordNeeds needs = step.strategy->record_needs();
    if (needs.rows) plan.reduce = false;
    for (const std::string& key : step.group_by.empty() ? step.strategy->default_group_by() : step.group_by)
      plan.keys.insert(key);
    for (const auto& [key, values] : step.select) plan.keys.insert(key);
    for (const auto& [key, values] : step.exclude) plan.keys.insert(key);
    if (step.match) plan.keys.insert(step.match->tag);  // which pool of a fleet a record is in
    plan.keys.insert(needs.keys.begin(), needs.keys.end());
    plan.measures.insert(needs.measures.begin(), needs.measures.end());
  }
  // A drill-down reads the records of the lines it is drawn from by these tags.
  for (const Pool& pool : pools) {
    if (const auto* from = std::get_if<FromStepSource>(&pool.source))
      for (const auto& [key, value] : from->tags) plan.keys.insert(key);
    // A part of a pool is used by the records holding its tags.
    if (const auto* parts = std::get_if<PartsSource>(&pool.source))
      for (const PoolPart& part : parts->parts)
        for (const auto& [key, value] : part.tags) plan.keys.insert(key);
  }
  if (unit_economics)
    for (const char* m : {"requests", "tokens_prompt", "tokens_generation", "epochs", "gpu_seconds", "utilization",
                          "gpu_seconds_used"})
      plan.measures.insert(m);
  return plan;
}

void RecordReducer::add(Record&& record) {
  const Record& r = record;
  // Sums of utilization are not what unit economics reads from each record (its hours x
  // utilization, exactly): such records stay whole.
  const bool plain = plan_.reduce && r.id.empty() && !r.start && !r.end && !r.at && !r.count && !r.sku && !r.tier &&
                     !r.window && r.reserved.empty() && r.used.empty() &&
                     !(r.measures.contains("utilization") && plan_.measures.contains("utilization"));
  if (plain) {
    // The encoded key: the pool, then (key id, value id) pairs in ascending key id.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (const auto& [k, v] : r.tags) {
      if (plan_.keys.contains(k)) pairs.emplace_back(sums_.tag_key_id(k), sums_.tag_value_id(v));
      else if (!dropped_.contains(k)) dropped_.insert(k);
    }
    std::sort(pairs.begin(), pairs.end());
    key_.assign(1, sums_.pool_id(r.pool ? std::optional<std::string_view>(*r.pool) : std::nullopt));
    for (const auto& [k, v] : pairs) {
      key_.push_back(k);
      key_.push_back(v);
    }
    measures_.clear();
    for (const auto& [name, value] : r.measures)
      if (plan_.measures.contains(name)) measures_.emplace_back(sums_.measure_id(name), value.raw());
    const std::uint32_t g = sums_.group(key_);
    bool first = false;
    if (add_to(g, first)) {
      if (first) origins_[g] = r.origin.empty() ? "records" : r.origin;
      return;
    }
  }
  kept_.push_back(std::move(record));
  order_.push_back({false, kept_.size() - 1});
}

// Adds measures_ to `group`; false, adding nothing, when the sums cannot take them.
bool RecordReducer::add_to(std::uint32_t group, bool& first) {
  if (origins_.size() <= group) origins_.resize(group + 1);
  try {
    sums_.add_to_group(group, measures_);
  } catch (const std::invalid_argument&) {  // a negative measure: the engine says where
    return false;
  } catch (const std::overflow_error&) {  // beyond the Decimal range: the engine sums it exactly
    return false;
  }
  first = origins_[group].empty();
  if (first) {
    origins_[group] = "records";  // the caller names it
    order_.push_back({true, group});
  }
  return true;
}

namespace {
// The entry of `names` for `text`, or null. Sizes are compared first: most names differ in length.
template <class Name>
Name* find_name(std::vector<Name>& names, std::string_view text) {
  for (Name& n : names)
    if (n.text.size() == text.size() && detail::same_bytes(n.text.data(), text.data(), text.size())) return &n;
  return nullptr;
}
}  // namespace

const RecordReducer::Name& RecordReducer::tag_name(std::string_view key) {
  if (const Name* n = find_name(tag_names_, key)) return *n;
  const bool kept = plan_.keys.contains(key);
  if (!kept && !dropped_.contains(key)) dropped_.emplace(key);
  return tag_names_.emplace_back(Name{std::string(key), kept, 0});
}

const RecordReducer::Name* RecordReducer::measure_name(std::string_view name) {
  if (const Name* n = find_name(measure_names_, name)) return n;
  const bool kept = plan_.measures.contains(name);
  return &measure_names_.emplace_back(Name{std::string(name), kept, kept ? sums_.measure_id(name) : 0});
}

bool RecordReducer::add_plain(std::optional<std::string_view> pool,
                              std::span<const std::pair<std::string_view, std::string_view>> tags,
                              std::span<const std::pair<std::string_view, Decimal>> measures, bool& first,
                              std::uint32_t& group) {
  if (!plan_.reduce) return false;
  measures_.clear();
  for (const auto& [name, value] : measures) {
    const Name* m = measure_name(name);
    if (!m->kept) continue;
    if (name == "utilization") return false;  // unit economics reads it record by record
    measures_.emplace_back(m->id, value.raw());
  }
  // The group of this pool and the plan's tags as read (any order): one lookup for a row
  // like one before it.
  row_key_.clear();
  const auto append = [&](std::string_view text) {
    const auto size = static_cast<std::uint32_t>(text.size());
    row_key_.append(reinterpret_cast<const char*>(&size), sizeof size);
    row_key_.append(text);
  };
  row_key_ += pool ? '1' : '0';
  if (pool) append(*pool);
  kept_tags_.clear();
  for (const auto& tag : tags) {
    if (!tag_name(tag.first).kept) continue;
    kept_tags_.push_back(tag);
    append(tag.first);
    append(tag.second);
  }
  const std::uint32_t slot = row_cache_.intern(row_key_);
  if (slot == row_groups_.size()) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (const auto& [k, v] : kept_tags_) pairs.emplace_back(sums_.tag_key_id(k), sums_.tag_value_id(v));
    std::sort(pairs.begin(), pairs.end());
    key_.assign(1, sums_.pool_id(pool));
    for (const auto& [k, v] : pairs) {
      key_.push_back(k);
      key_.push_back(v);
    }
    row_groups_.push_back(sums_.group(key_));
  }
  group = row_groups_[slot];
  return add_to(group, first);
}

void RecordReducer::append(RecordReducer&& later) {
  std::vector<std::uint32_t> ids;
  sums_.merge(later.sums_, &ids);
  for (const Entry& e : later.order_) {
    if (!e.group) {
      kept_.push_back(std::move(later.kept_[e.index]));
      order_.push_back({false, kept_.size() - 1});
      continue;
    }
    const std::uint32_t g = ids[e.index];
    if (origins_.size() <= g) origins_.resize(g + 1);
    if (!origins_[g].empty()) continue;  // first read here
    origins_[g] = std::move(later.origins_[e.index]);
    order_.push_back({true, g});
  }
  dropped_.merge(later.dropped_);
}

std::vector<Record> RecordReducer::take() {
  std::vector<Record> out;
  out.reserve(order_.size());
  for (const Entry& e : order_) {
    if (e.group) {
      Record r = sums_.group_record(static_cast<std::uint32_t>(e.index));
      r.origin = std::move(origins_[e.index]);
      out.push_back(std::move(r));
    } else {
      out.push_back(std::move(kept_[e.index]));
    }
  }
  order_.clear();
  kept_.clear();
  origins_.clear();
  sums_ = PartialAggregate();
  // The row cache's groups and the names' ids were the old aggregate's.
  row_cache_ = Dictionary();
  row_groups_.clear();
  measure_names_.clear();
  return out;
}

APPORTION_END_NAMESPACE
