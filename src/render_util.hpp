#pragma once
// Private helpers shared by the renderers (render.cpp, report_html.cpp); writing text is text.hpp.

#include <string>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE
namespace render_detail {

// Tag keys for a heading: "team", "team and project", "team, project and env".
inline std::string key_list(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += i + 1 == keys.size() ? " and " : ", ";
    out += keys[i];
  }
  return out;
}

}  // namespace render_detail
APPORTION_END_NAMESPACE
