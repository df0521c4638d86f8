// join_tags: pod labels (or any tags) from one input onto the records of another.

#include <map>
#include <string>
#include <vector>

#include "apportion/ingest.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

// The record's values of the `on` keys, or none when it lacks one.
std::optional<std::vector<std::string>> join_key(const Record& r, const std::vector<std::string>& on) {
  std::vector<std::string> key;
  key.reserve(on.size());
  for (const std::string& k : on) {
    const auto v = r.tags.get(k);
    if (!v) return std::nullopt;
    key.emplace_back(*v);
  }
  return key;
}

std::string describe(const std::vector<std::string>& on, const std::vector<std::string>& key) {
  std::string out;
  for (std::size_t i = 0; i < on.size(); ++i) out += (i ? ", " : "") + on[i] + "=" + key[i];
  return out;
}

}  // namespace

JoinCounts join_tags(std::vector<Record>& records, const std::vector<Record>& table, const std::vector<std::string>& on,
                     const std::string& where) {
  std::map<std::vector<std::string>, const Record*> index;
  for (const Record& t : table) {
    auto key = join_key(t, on);
    if (!key) continue;
    const auto [it, added] = index.emplace(std::move(*key), &t);
    if (!added && it->second->tags != t.tags)
      throw SpecError(where, "two records for " + describe(on, it->first) + " with different tags (" +
                                 it->second->origin + " and " + t.origin + ")");
  }
  JoinCounts counts;
  for (Record& r : records) {
    const auto key = join_key(r, on);
    const auto it = key ? index.find(*key) : index.end();
    if (it == index.end()) {
      ++counts.unmatched;
      continue;
    }
    ++counts.matched;
    std::vector<Tags::Pair> pairs(r.tags.begin(), r.tags.end());
    for (const auto& pair : it->second->tags)
      if (!r.tags.contains(pair.first)) pairs.push_back(pair);
    r.tags = Tags(std::move(pairs));
  }
  return counts;
}

APPORTION_END_NAMESPACE
