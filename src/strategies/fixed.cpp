#include "apportion/strategies.hpp"

#include <set>

APPORTION_BEGIN_NAMESPACE

Fixed::Fixed(std::vector<Share> shares) : shares_(std::move(shares)) {
  Decimal sum;
  std::set<Tags> seen;
  for (const Share& s : shares_) {
    if (s.share.signum() < 0) throw std::invalid_argument("a share must not be negative");
    if (!seen.insert(s.tags).second) throw std::invalid_argument("two shares have the same tags");
    sum += s.share;
  }
  if (sum > Decimal(1)) throw std::invalid_argument("shares sum to " + sum.to_string() + ", more than 1");
}

// Shares of 1; what they leave is one unallocated line over the keys the shares use.
StepOutput Fixed::run(const StepInput& input) const {
  std::vector<WeightedLine> lines;
  Rational rest = 1;
  std::set<std::string> keys;
  for (const Share& s : shares_) {
    lines.push_back({LineKind::allocated, s.tags, s.share.to_rational(), 0});
    rest -= s.share.to_rational();
    for (const auto& [key, value] : s.tags) keys.insert(key);
  }
  if (rest > 0) {
    const std::vector<std::string> key_list(keys.begin(), keys.end());
    lines.push_back({LineKind::unallocated, grouping::marker_tags(key_list, grouping::unallocated_value), rest, 0});
  }
  return split_by_weight(input, std::move(lines), 1);
}

APPORTION_END_NAMESPACE
