#pragma once
// Private helpers shared by the renderers (render.cpp, render_focus.cpp, report_html.cpp).

#include <string>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE
namespace render_detail {

// One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line break, quotes doubled.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

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
