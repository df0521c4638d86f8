#pragma once
// The plan made from an allocation's steps before its records are read: which tag keys and
// measures the steps read, and whether any of them needs records as they are. Records read
// through it keep only that, and rows that agree on those keys become one record holding
// their exact sums, so a spec that lists every column of a file as a tag costs only what
// its steps group by (docs/architecture.md, "How a record flows").

#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "apportion/columnar.hpp"
#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

struct RecordPlan {
  // Rows may be read as their sums by `keys` (and pool): no step needs them as they are.
  bool reduce = false;
  std::set<std::string, std::less<>> keys;
  std::set<std::string, std::less<>> measures;
};

// The plan of these steps (their group_by, select and Strategy::record_needs), the tags the
// pools drawn from their lines select by, and, with `unit_economics`, the measures unit
// economics reads. A step whose strategy needs rows, or that the plan cannot see through,
// makes the plan keep every record whole.
RecordPlan plan_records(const std::vector<Step>& steps, const std::vector<Pool>& pools, bool unit_economics);

// Reads records through a plan, in the order they come. A record that holds only tags,
// measures and a pool (no id, no priced-run or resource fields) is added to the one record
// of its pool and plan-key values, which sums the plan's measures exactly, keeps the first
// such record's origin (for messages) and drops other tags and measures. Any other record,
// and one the sums cannot take (a utilization unit economics reads, a sum beyond the
// Decimal range), is kept as it is. Without `reduce`, every record is kept.
class RecordReducer {
 public:
  explicit RecordReducer(RecordPlan plan) : plan_(std::move(plan)) {}
  void add(Record&& record);
  // The fast way in, for a reader that parses rows itself: a plain record (tags, measures,
  // pool and nothing else) as it was read, without building a Record, its measures valid
  // (non-negative, checked as a record's are). `origin` gives its origin when it is the
  // first of its group. False when the plan does not take it: the caller then adds it whole.
  template <class Origin>
  bool add_plain(std::optional<std::string_view> pool, std::span<const std::pair<std::string_view, std::string_view>> tags,
                 std::span<const std::pair<std::string_view, Decimal>> measures, Origin&& origin) {
    bool first = false;
    std::uint32_t group = 0;
    if (!add_plain(pool, tags, measures, first, group)) return false;
    if (first) origins_[group] = origin();
    return true;
  }
  // Adds what `later` read, the records that came after this one's: as if this reducer had
  // read them itself. Throws OverflowError, changing nothing, when a sum would leave the
  // Decimal range.
  void append(RecordReducer&& later);
  // The records, in the order each group or kept record first came.
  std::vector<Record> take();
  const RecordPlan& plan() const noexcept { return plan_; }
  // The tag keys records had that the plan dropped (for hints in warnings).
  const std::set<std::string, std::less<>>& dropped_tags() const noexcept { return dropped_; }

 private:
  bool add_plain(std::optional<std::string_view> pool, std::span<const std::pair<std::string_view, std::string_view>> tags,
                 std::span<const std::pair<std::string_view, Decimal>> measures, bool& first, std::uint32_t& group);
  bool add_to(std::uint32_t group, bool& first);
  // What the plan does with a tag key or measure a row names: rows of one input name the
  // same few, so each name is looked up in the plan once and then found by its text here.
  struct Name {
    std::string text;
    bool kept;         // a plan key or measure
    std::uint32_t id;  // kept: the aggregate's measure id (tag key ids are given per group)
  };
  const Name& tag_name(std::string_view key);
  const Name* measure_name(std::string_view name);

  struct Entry {
    bool group;
    std::size_t index;  // into the aggregate's groups, or kept_
  };
  RecordPlan plan_;
  PartialAggregate sums_;
  std::vector<std::string> origins_;  // per group: its first record's
  std::vector<Record> kept_;
  std::vector<Entry> order_;
  std::vector<std::uint32_t> key_;
  std::vector<std::pair<std::uint32_t, int128>> measures_;
  std::set<std::string, std::less<>> dropped_;
  // Rows of the fast way in, by their pool and tags as read: the group they add to.
  Dictionary row_cache_;
  std::vector<std::uint32_t> row_groups_;
  std::string row_key_;
  std::vector<std::pair<std::string_view, std::string_view>> kept_tags_;
  std::vector<Name> tag_names_, measure_names_;
};

APPORTION_END_NAMESPACE
