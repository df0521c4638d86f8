// The hints error messages give.

#include "apportion/errors.hpp"

#include <algorithm>
#include <string>

APPORTION_BEGIN_NAMESPACE

std::optional<std::string_view> closest_spelling(std::string_view name, const std::vector<std::string_view>& names) {
  const auto fold = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
  };
  // Optimal string alignment distance: insertions, deletions, substitutions, transpositions.
  const auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
      for (std::size_t j = 1; j <= b.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  const std::string folded = fold(name);
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(1, folded.size() / 3) + 1;
  for (std::string_view candidate : names) {
    const std::size_t d = distance(folded, fold(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

APPORTION_END_NAMESPACE
