#include "apportion/tags.hpp"

#include <array>
#include <map>

APPORTION_BEGIN_NAMESPACE

std::optional<std::string_view> standard_dimension(std::string_view key) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 27> spellings{{
      {"team", "team"},
      {"team_name", "team"},
      {"team-name", "team"},
      {"teamname", "team"},
      {"owner_team", "team"},
      {"project", "project"},
      {"project_name", "project"},
      {"project-name", "project"},
      {"projectname", "project"},
      {"proj", "project"},
      {"environment", "environment"},
      {"env", "environment"},
      {"stage", "environment"},
      {"tier_env", "environment"},
      {"model_name", "model_name"},
      {"model-name", "model_name"},
      {"modelname", "model_name"},
      {"model", "model_name"},
      {"model_id", "model_name"},
      {"llm_model", "model_name"},
      {"cost_center", "cost_center"},
      {"cost-center", "cost_center"},
      {"costcenter", "cost_center"},
      {"cost_centre", "cost_center"},
      {"cost-centre", "cost_center"},
      {"costcentre", "cost_center"},
      {"cc", "cost_center"},
  }};
  std::string lowered(key);
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::string_view k = lowered;
  if (k.starts_with("label_")) k.remove_prefix(6);
  for (const auto& [spelling, standard] : spellings)
    if (k == spelling) return standard;
  return std::nullopt;
}

std::string braced(const Tags& tags) {
  std::string out = "{";
  for (const auto& [k, v] : tags) out += (out.size() > 1 ? ", " : "") + k + "=" + v;
  return out + "}";
}

Tags normalize_tags(const Tags& tags) {
  std::map<std::string, std::string> origin;  // normalised key -> the key it came from
  std::vector<Tags::Pair> pairs;
  for (const auto& [key, value] : tags) {
    const auto standard = standard_dimension(key);
    std::string name = standard ? std::string(*standard) : key;
    const auto [it, inserted] = origin.emplace(name, key);
    if (!inserted)
      throw std::invalid_argument("tags \"" + it->second + "\" and \"" + key + "\" both normalise to \"" + name + "\"");
    pairs.emplace_back(std::move(name), value);
  }
  return Tags(std::move(pairs));
}

APPORTION_END_NAMESPACE
