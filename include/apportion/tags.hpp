#pragma once
// Tags: an immutable, canonically ordered set of string key/value pairs. Copies share one
// buffer, so lines and records can carry them cheaply.

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/config.hpp"
#include "apportion/errors.hpp"

APPORTION_BEGIN_NAMESPACE

class Tags {
 public:
  using Pair = std::pair<std::string, std::string>;

  Tags() = default;
  Tags(std::initializer_list<Pair> pairs) : Tags(std::vector<Pair>(pairs)) {}
  // Sorts the pairs by key (UTF-8 bytes); a key given twice is std::invalid_argument.
  explicit Tags(std::vector<Pair> pairs) {
    std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < pairs.size(); ++i)
      if (pairs[i].first == pairs[i - 1].first) throw std::invalid_argument("tag key \"" + pairs[i].first + "\" given twice");
    if (!pairs.empty()) pairs_ = std::make_shared<const std::vector<Pair>>(std::move(pairs));
  }

  std::size_t size() const noexcept { return pairs_ ? pairs_->size() : 0; }
  bool empty() const noexcept { return size() == 0; }
  auto begin() const noexcept { return pairs_ ? pairs_->begin() : empty_pairs().begin(); }
  auto end() const noexcept { return pairs_ ? pairs_->end() : empty_pairs().end(); }

  // The value of `key`, if present.
  std::optional<std::string_view> get(std::string_view key) const noexcept {
    const auto it = std::lower_bound(begin(), end(), key, [](const Pair& p, std::string_view k) { return p.first < k; });
    if (it == end() || it->first != key) return std::nullopt;
    return std::string_view(it->second);
  }
  bool contains(std::string_view key) const noexcept { return get(key).has_value(); }
  // True when every pair of `subset` is also here.
  bool contains_all(const Tags& subset) const noexcept {
    return std::all_of(subset.begin(), subset.end(), [&](const Pair& p) { return get(p.first) == p.second; });
  }
  // A copy with `key` set to `value` (added or replaced).
  Tags with(std::string key, std::string value) const {
    std::vector<Pair> pairs;
    for (const Pair& p : *this)
      if (p.first != key) pairs.push_back(p);
    pairs.emplace_back(std::move(key), std::move(value));
    return Tags(std::move(pairs));
  }

  // Canonical order: the key-sorted pairs compared pair by pair, key then value, as bytes.
  friend bool operator==(const Tags& a, const Tags& b) noexcept {
    return a.pairs_ == b.pairs_ || std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend std::strong_ordering operator<=>(const Tags& a, const Tags& b) noexcept {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end(),
                                                  [](const Pair& x, const Pair& y) {
                                                    if (auto c = x.first.compare(y.first); c != 0) return c <=> 0;
                                                    return x.second.compare(y.second) <=> 0;
                                                  });
  }

 private:
  static const std::vector<Pair>& empty_pairs() noexcept {
    static const std::vector<Pair> none;
    return none;
  }
  std::shared_ptr<const std::vector<Pair>> pairs_;
};

// The five standard cost dimensions and the spellings recognised for each.
//   team:        team, team_name, team-name, teamname, owner_team
//   project:     project, project_name, project-name, projectname, proj
//   environment: environment, env, stage, tier_env
//   model_name:  model_name, model-name, modelname, model, model_id, llm_model
//   cost_center: cost_center, cost-center, costcenter, cost_centre, cost-centre, costcentre, cc
// Matching ignores ASCII case and a Kubernetes `label_` prefix (kube-state-metrics'
// spelling of pod labels). Returns the standard name, or nothing for any other key.
std::optional<std::string_view> standard_dimension(std::string_view key);

// Renames keys that standard_dimension() recognises to their standard name; other keys
// are kept as they are. Two keys that normalise to one name are std::invalid_argument
// naming both, never a silent pick.
Tags normalize_tags(const Tags& tags);

// Tags as messages name them: "{namespace=nlp, team=a}".
std::string braced(const Tags& tags);

APPORTION_END_NAMESPACE
