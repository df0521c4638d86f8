#pragma once
// How many MIG slices a whole GPU of a model has, for the formats that see MIG instances:
// dcgm (the driver's modelName) and sacct (Slurm's GRES type, e.g. `nvidia_a100_3g.20gb`).

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

// Slices of a whole GPU (what N counts in a MIG profile Ng.XXgb), by model: NVIDIA's MIG User
// Guide, "Supported GPUs" (Max Number of Instances); A800, H800, B300 and GB300, which it does
// not list, from the profiles NVIDIA/mig-parted's deployments/systemd/config-default.yaml
// gives them.
struct MigModel {
  std::array<std::string_view, 3> words;  // unused ones empty
  int slices;
};
inline constexpr MigModel mig_models[] = {
    {{"A100"}, 7},  {{"A800"}, 7},  {{"A30"}, 4},   {{"H100"}, 7},  {{"H800"}, 7},
    {{"H20"}, 7},   {{"H200"}, 7},  {{"GH200"}, 7}, {{"B200"}, 7},  {{"GB200"}, 7},
    {{"B300"}, 7},  {{"GB300"}, 7}, {{"PRO", "6000", "Blackwell"}, 4},
    {{"PRO", "5000", "Blackwell"}, 2}, {{"PRO", "4500", "Blackwell"}, 2},
};

// A model matches when its name holds all of an entry's words, compared without case and
// split at spaces, dashes and underscores: the driver's "NVIDIA H100 80GB HBM3",
// dcgm-exporter's "NVIDIA-H100-80GB-HBM3" and Slurm's "nvidia_h100_80gb_hbm3" are one
// model, and H20 is not an H200.
inline std::optional<int> mig_slices_of_model(std::string_view model) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < model.size();) {
    const std::size_t end = std::min(model.find_first_of(" -_", i), model.size());
    if (end > i) words.push_back(model.substr(i, end - i));
    i = end + 1;
  }
  const auto same = [](std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
  };
  for (const MigModel& m : mig_models) {
    bool all = true;
    for (std::string_view w : m.words)
      if (!w.empty() && std::none_of(words.begin(), words.end(), [&](std::string_view x) { return same(x, w); }))
        all = false;
    if (all) return m.slices;
  }
  return std::nullopt;
}

}  // namespace ingest
APPORTION_END_NAMESPACE
