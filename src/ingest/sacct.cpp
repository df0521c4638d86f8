// `sacct`: Slurm job accounting (`sacct -P --format=...`) turned into priced runs for the
// per_experiment strategy, one record per job allocation and GPU type. See docs/ingest.md,
// "## sacct".

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/json.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"
#include "mig_models.hpp"
#include "by_key.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// A row that cannot be read: "<column>: what is wrong", reported for the row's line.
struct RowError {
  std::string what;
};

std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + sep.size();
  }
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// The node names of a Slurm host list, as NodeList prints it and slurm.conf's NodeName
// takes it: names separated by commas, each with bracketed ranges (`gpu[01-04,07]`), a
// range's numbers padded to the width of its first.
std::vector<std::string> expand_hostlist(std::string_view text) {
  constexpr std::size_t most = 100'000;  // beyond the largest clusters
  const auto bad = [&]() {
    return RowError{"\"" + std::string(text) + "\" is not a Slurm host list such as gpu[01-04,07]"};
  };
  const auto too_many = [&]() { return RowError{"\"" + std::string(text) + "\" names more than 100000 nodes"}; };
  std::vector<std::string> out;
  for (std::string_view name : split_names(text)) {
    std::vector<std::string> names{""};
    std::size_t i = 0;
    while (i < name.size()) {
      if (name[i] == ']') throw bad();
      if (name[i] != '[') {
        const std::size_t next = std::min(name.find_first_of("[]", i), name.size());
        for (std::string& n : names) n += name.substr(i, next - i);
        i = next;
        continue;
      }
      const std::size_t close = name.find(']', i);
      if (close == std::string_view::npos) throw bad();
      std::vector<std::string> values;
      for (std::string_view range : split(name.substr(i + 1, close - i - 1), ",")) {
        const std::size_t dash = range.find('-');
        const std::string_view lo = range.substr(0, dash);
        const std::string_view hi = dash == std::string_view::npos ? lo : range.substr(dash + 1);
        if (!all_digits(lo) || !all_digits(hi) || lo.size() > 9 || hi.size() > 9) throw bad();
        const unsigned long first = std::stoul(std::string(lo)), last = std::stoul(std::string(hi));
        if (last < first) throw bad();
        if (values.size() + (last - first + 1) > most) throw too_many();
        for (unsigned long v = first; v <= last; ++v) {
          std::string digits = std::to_string(v);
          if (digits.size() < lo.size()) digits.insert(0, lo.size() - digits.size(), '0');
          values.push_back(std::move(digits));
        }
      }
      if (names.size() * values.size() > most) throw too_many();
      std::vector<std::string> product;
      for (const std::string& n : names)
        for (const std::string& v : values) product.push_back(n + v);
      names = std::move(product);
      i = close + 1;
    }
    if (names.front().empty()) throw bad();
    if (out.size() + names.size() > most) throw too_many();
    out.insert(out.end(), names.begin(), names.end());
  }
  return out;
}

std::string whole_text(const Rational& n) { return boost::multiprecision::numerator(n).str(); }

// A GRES that holds whole GPUs or parts of them, as AllocTRES names it.
struct GresKind {
  std::string_view tres;  // "gres/gpu"
  std::string_view unit, units;
  std::string_view label;   // in a record id: "1004:shard"
  std::string_view option;  // the units in a GPU; empty for whole GPUs
};
constexpr GresKind gpu_kind{"gres/gpu", "GPU", "GPUs", "", ""};
// Slurm's GPU sharing (gres.html, "Sharding" and "MPS Management"): a GPU's shards or MPS
// shares are allocated to several jobs at once, each holding a count of them.
constexpr std::array<GresKind, 2> sharing_kinds{GresKind{"gres/shard", "shard", "shards", "shard", "shards_per_gpu"},
                                                GresKind{"gres/mps", "MPS share", "MPS shares", "mps", "mps_per_gpu"}};

std::string count_text(const Decimal& n, const GresKind& kind) {
  return n.to_string() + " " + std::string(n == Decimal(1) ? kind.unit : kind.units);
}

// A sharing GRES's units in one GPU: one number, or by node (keys are host lists).
struct PerGpu {
  std::optional<Rational> all;
  std::map<std::string, Rational, std::less<>> nodes;
  std::optional<Rational> rest;  // "*"
};

PerGpu read_per_gpu(const Value& v, const std::string& path) {
  const ByKey<Rational> by_node = read_by_key<Rational>(v, path, "node", false, read_positive_whole);
  PerGpu out;
  if (by_node.single) {
    out.all = by_node.single;
    return out;
  }
  for (const auto& [key, n] : by_node.map) {
    if (key == "*") {
      out.rest = n;
      continue;
    }
    std::vector<std::string> nodes;
    try {
      nodes = expand_hostlist(key);
    } catch (const RowError& e) {
      throw SpecError(path, e.what);
    }
    for (std::string& node : nodes)
      if (!out.nodes.emplace(node, n).second) throw SpecError(path, "node \"" + node + "\" given twice");
  }
  return out;
}

enum class CpuJobs { skip, error };
enum class TagsFrom { none, comment, wckey };

struct Options {
  ByKey<std::string> sku;                  // by GPU type, without case
  std::optional<ByKey<std::string>> tier;  // by partition
  std::string offset = "Z";                // appended to sacct's zone-less local times
  CpuJobs cpu_jobs = CpuJobs::skip;
  enum class Running { error, skip, close } running = Running::error;
  Instant close_at;
  std::string experiment_from = "JobName";
  TagsFrom tags_from = TagsFrom::none;
  std::string delimiter = "|";
  std::optional<Instant> window_start, window_end;  // runs are clipped to [start, end)
  std::optional<Rational> mig_slices;               // for MIG types of a model mig_models does not know
  std::array<std::optional<PerGpu>, sharing_kinds.size()> per_gpu;  // by sharing_kinds
};

// "UTC" or a fixed offset "+HH:MM" / "-HH:MM".
std::string read_offset(const Value& v, const std::string& path) {
  const std::string text = read_string(v, path);
  if (text == "UTC") return "Z";
  const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
  if (text.size() == 6 && (text[0] == '+' || text[0] == '-') && digit(1) && digit(2) && text[3] == ':' && digit(4) &&
      digit(5)) {
    const int hours = (text[1] - '0') * 10 + (text[2] - '0');
    const int minutes = (text[4] - '0') * 10 + (text[5] - '0');
    if (hours <= 23 && minutes <= 59) return text;
  }
  throw SpecError(path, "must be \"UTC\" or a fixed offset such as \"+02:00\" (got \"" + text + "\")");
}

Options read_options(ObjectReader& options) {
  Options o;
  o.sku = read_by_key<std::string>(options.required("sku"), options.path("sku"), "GPU type", true, read_name);
  if (const Value* v = options.optional("tier"))
    o.tier = read_by_key<std::string>(*v, options.path("tier"), "partition", false, read_name);
  if (const Value* v = options.optional("timezone")) o.offset = read_offset(*v, options.path("timezone"));
  if (const Value* v = options.optional("cpu_jobs")) {
    const std::string text = read_string(*v, options.path("cpu_jobs"));
    if (text == "skip") o.cpu_jobs = CpuJobs::skip;
    else if (text == "error") o.cpu_jobs = CpuJobs::error;
    else throw SpecError(options.path("cpu_jobs"), "must be \"skip\" or \"error\" (got \"" + text + "\")");
  }
  if (const Value* v = options.optional("running")) {
    const std::string text = read_string(*v, options.path("running"));
    if (text == "error") {
      o.running = Options::Running::error;
    } else if (text == "skip") {
      o.running = Options::Running::skip;
    } else {
      try {
        o.close_at = Instant::parse(text);
      } catch (const ParseError&) {
        throw SpecError(options.path("running"),
                        "must be \"error\", \"skip\" or an RFC 3339 time to close running jobs at (got \"" + text + "\")");
      }
      o.running = Options::Running::close;
    }
  }
  if (const Value* v = options.optional("experiment_from")) {
    o.experiment_from = read_string(*v, options.path("experiment_from"));
    if (o.experiment_from.empty()) throw SpecError(options.path("experiment_from"), "must name a column");
  }
  if (const Value* v = options.optional("tags_from")) {
    const std::string text = read_string(*v, options.path("tags_from"));
    if (text == "none") o.tags_from = TagsFrom::none;
    else if (lower(text) == "comment") o.tags_from = TagsFrom::comment;
    else if (lower(text) == "wckey") o.tags_from = TagsFrom::wckey;
    else throw SpecError(options.path("tags_from"), "must be \"Comment\", \"WCKey\" or \"none\" (got \"" + text + "\")");
  }
  if (const Value* v = options.optional("delimiter")) {
    o.delimiter = read_string(*v, options.path("delimiter"));
    if (o.delimiter.empty()) throw SpecError(options.path("delimiter"), "must not be empty");
  }
  if (const Value* v = options.optional("start")) o.window_start = read_instant(*v, options.path("start"));
  if (const Value* v = options.optional("end")) o.window_end = read_instant(*v, options.path("end"));
  if (o.window_start && o.window_end && *o.window_end <= *o.window_start)
    throw SpecError(options.path("end"), "must be after start (" + o.window_start->to_string() + ")");
  if (const Value* v = options.optional("mig_slices")) o.mig_slices = read_positive_whole(*v, options.path("mig_slices"));
  for (std::size_t k = 0; k < sharing_kinds.size(); ++k)
    if (const Value* v = options.optional(sharing_kinds[k].option))
      o.per_gpu[k] = read_per_gpu(*v, options.path(sharing_kinds[k].option));
  return o;
}

// sacct's default time format, `2026-06-02T10:00:00`, read in the configured zone.
Instant read_time(std::string_view column, std::string_view text, const std::string& offset) {
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  bool ok = text.size() == shape.size();
  for (std::size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0 : text[i] == shape[i];
  if (ok) {
    try {
      return Instant::parse(std::string(text) + offset);
    } catch (const ParseError&) {
    }
  }
  throw RowError{std::string(column) + ": not a time of the form 2026-06-02T10:00:00 (got \"" + std::string(text) + "\")"};
}

// The units of one GRES (GPUs, shards) and type in an allocation; no type for units
// AllocTRES counts only in the untyped total.
struct GresPart {
  const GresKind* kind;
  std::optional<std::string> type;
  Decimal count;
};

// What AllocTRES holds of each kind, by type. The untyped `gres/gpu=N` is the total; the
// typed `gres/gpu:TYPE=N` entries are the part of it whose type accounting tracks (Slurm
// records a typed count only for the types named in AccountingStorageTRES, beside the
// untyped total), so the total less the typed counts is a part with no type. Without an
// untyped total, the typed entries are all there is. Shards and MPS shares are counted the
// same way. Empty when no GPU is listed.
std::vector<GresPart> gres_of(std::string_view tres) {
  struct Counts {
    std::optional<Decimal> untyped;
    std::map<std::string, Decimal, std::less<>> typed;
  };
  std::array<Counts, 1 + sharing_kinds.size()> counts;
  const auto kind_at = [](std::size_t k) -> const GresKind& { return k == 0 ? gpu_kind : sharing_kinds[k - 1]; };
  for (std::string_view entry : split(tres, ",")) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw RowError{"AllocTRES: \"" + std::string(entry) + "\" is not NAME=COUNT"};
    const std::string_view name = entry.substr(0, eq);
    for (std::size_t k = 0; k < counts.size(); ++k) {
      const GresKind& kind = kind_at(k);
      const bool is_untyped = name == kind.tres;
      const bool is_typed = name.size() > kind.tres.size() + 1 && name.starts_with(kind.tres) && name[kind.tres.size()] == ':';
      if (!is_untyped && !is_typed) continue;  // cpu, mem, node, billing, gres/gpumem, gres/gpuutil, ...
      const std::string_view count = entry.substr(eq + 1);
      if (!all_digits(count) || count.size() > 9)
        throw RowError{"AllocTRES: " + std::string(name) + " must be a whole number of " + std::string(kind.units) + " (got \"" +
                       std::string(count) + "\")"};
      const Decimal n = Decimal::parse(count);
      if (is_untyped) {
        if (counts[k].untyped) throw RowError{"AllocTRES: " + std::string(kind.tres) + " given twice"};
        counts[k].untyped = n;
      } else if (!counts[k].typed.emplace(std::string(name.substr(kind.tres.size() + 1)), n).second) {
        throw RowError{"AllocTRES: " + std::string(name) + " given twice"};
      }
    }
  }
  std::vector<GresPart> parts;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const GresKind& kind = kind_at(k);
    Decimal typed_total;
    for (const auto& [type, n] : counts[k].typed) {
      typed_total = typed_total + n;
      if (!n.is_zero()) parts.push_back({&kind, type, n});
    }
    if (const auto& untyped = counts[k].untyped) {
      if (typed_total > *untyped)
        throw RowError{"AllocTRES: the typed " + std::string(kind.unit) + " counts (" + typed_total.to_string() + ") exceed " +
                       std::string(kind.tres) + " (" + untyped->to_string() + ")"};
      if (*untyped > typed_total) parts.push_back({&kind, std::nullopt, *untyped - typed_total});
    }
  }
  return parts;
}

// A GRES type naming a MIG profile, as Slurm's AutoDetect=nvml writes it: the GPU's name,
// then `_`, then the profile: `nvidia_a100_3g.20gb`, `nvidia_h100_80gb_hbm3_1g.10gb`, with
// `1c.3g.20gb` for a compute instance of part of a GPU instance and a `+me` kind of suffix;
// slurm.conf's type is any part of that name holding the profile (`a100_3g.20gb`, `3g.20gb`).
struct MigType {
  std::string model;  // lower-cased; empty when the type names none
  int slices;         // the compute slices it holds: N of `Ng`, or of `Nc.`
};

std::optional<MigType> mig_type(std::string_view type) {
  const std::string t = lower(type);
  const auto profile_slices = [](std::string_view p) -> std::optional<int> {
    std::size_t i = 0;
    const auto number = [&]() -> std::optional<int> {
      const std::size_t from = i;
      while (i < p.size() && i - from < 4 && std::isdigit(static_cast<unsigned char>(p[i]))) ++i;
      if (i == from) return std::nullopt;
      return std::stoi(std::string(p.substr(from, i - from)));
    };
    std::optional<int> slices = number();
    std::optional<int> compute;
    if (slices && p.substr(i).starts_with("c.")) {
      i += 2;
      compute = slices;
      slices = number();
    }
    if (!slices || !p.substr(i).starts_with("g.")) return std::nullopt;
    i += 2;
    if (!number() || !p.substr(i).starts_with("gb")) return std::nullopt;
    i += 2;
    if (i != p.size() && p[i] != '+') return std::nullopt;
    const int n = compute ? *compute : *slices;
    return n > 0 ? std::optional<int>(n) : std::nullopt;
  };
  for (std::size_t start = 0;;) {
    if (const std::optional<int> slices = profile_slices(std::string_view(t).substr(start)))
      return MigType{start ? t.substr(0, start - 1) : std::string(), *slices};
    start = t.find('_', start);
    if (start == std::string::npos) return std::nullopt;
    ++start;
  }
}

// The SKU a part is priced with, and the GPUs one unit of its type is.
struct Pricing {
  std::string sku;
  Rational per_unit = 1;
  bool by_star = false;  // a type the sku map does not name, priced by its "*"
};

Pricing pricing_of(const GresPart& part, const Options& o, std::string_view job_id, std::string_view tres) {
  const std::string held = "job " + std::string(job_id) + " has " + count_text(part.count, *part.kind);
  if (!part.type) {
    if (const std::string* sku = o.sku.fallback()) return {*sku};
    throw RowError{"AllocTRES: " + held + " of no type (\"" + std::string(tres) + "\") and the option sku has no \"*\" for them"};
  }
  const std::string& type = *part.type;
  const std::optional<MigType> mig = mig_type(type);
  // A MIG slice is its compute slices' part of a whole GPU of its model.
  const auto slice = [&]() {
    const std::optional<int> known = mig_slices_of_model(mig->model);
    if (!known && !o.mig_slices)
      throw RowError{"AllocTRES: " + held + " of type \"" + type +
                     "\", a MIG slice of a GPU whose slices are not known: give mig_slices, the slices in a whole GPU, or "
                     "map \"" + type + "\" in the option sku"};
    const Rational total = known ? Rational(*known) : *o.mig_slices;
    if (Rational(mig->slices) > total)
      throw RowError{"AllocTRES: " + held + " of type \"" + type + "\", a MIG slice larger than a whole GPU (" +
                     std::to_string(mig->slices) + " of " + whole_text(total) + " slices)"};
    return Rational(mig->slices) / total;
  };
  if (o.sku.single) return {*o.sku.single, mig ? slice() : Rational(1)};
  if (const std::string* sku = o.sku.find(type)) return {*sku};  // the type's own SKU: one unit each
  std::string model;
  if (mig && !mig->model.empty()) {
    model = mig->model.starts_with("nvidia_") ? mig->model.substr(7) : mig->model;
    const std::string* sku = o.sku.find(mig->model);
    if (!sku) sku = o.sku.find(model);
    if (sku) return {*sku, slice()};
  }
  if (const std::string* sku = o.sku.find("*")) return {*sku, mig ? slice() : Rational(1), true};
  throw RowError{"AllocTRES: " + held + " of type \"" + type + "\", which the option sku does not map (add \"" + type + "\"" +
                 (model.empty() ? "" : " or its model \"" + model + "\"") + ", or \"*\" for the rest)"};
}

// A sharing GRES's units in one GPU on the nodes the job ran on; none when its option is
// not given.
std::optional<Rational> units_per_gpu(std::size_t k, const Options& o, std::string_view node_list, std::string_view job_id,
                                      const Decimal& held) {
  const std::optional<PerGpu>& per_gpu = o.per_gpu[k];
  if (!per_gpu) return std::nullopt;
  if (per_gpu->all) return per_gpu->all;
  const GresKind& kind = sharing_kinds[k];
  std::vector<std::string> nodes;
  try {
    nodes = expand_hostlist(node_list);
  } catch (const RowError& e) {
    throw RowError{"NodeList: " + e.what};
  }
  std::optional<Rational> value;
  std::string first;
  for (const std::string& node : nodes) {
    const auto it = per_gpu->nodes.find(node);
    const Rational* n = it != per_gpu->nodes.end() ? &it->second : per_gpu->rest ? &*per_gpu->rest : nullptr;
    if (!n)
      throw RowError{"NodeList: job " + std::string(job_id) + " ran on node \"" + node + "\", which the option " +
                     std::string(kind.option) + " does not map (add it, or \"*\" for the rest)"};
    if (value && *value != *n)
      throw RowError{"NodeList: job " + std::string(job_id) + " holds " + count_text(held, kind) + " on nodes of different " +
                     std::string(kind.option) + " (" + first + ": " + whole_text(*value) + ", " + node + ": " + whole_text(*n) +
                     "), and sacct does not say how many are on each"};
    if (!value) first = node;
    value = *n;
  }
  return value;
}

// Tags a user wrote in the Comment or WCKey; none when the text is not tags.
struct UserTags {
  std::optional<Tags> tags;
  std::vector<std::string> left_out;  // Comment keys whose values are lists or objects
};

// The Comment column as tags: a JSON object whose values are text, numbers or true/false
// (a number or boolean is the tag's text as written; null leaves the key out; a list or an
// object is no tag and is told). sacct prints it as it was set, quotes and all (`sacct -P`
// neither quotes nor escapes a field). Anything else is free text, which most clusters mix
// with the JSON convention: no tags.
UserTags comment_tags(std::string_view text) {
  if (text.empty()) return {Tags{}, {}};
  try {
    const Value v = parse_json(text);
    if (!v.is(Value::Type::object)) return {};
    UserTags out;
    std::vector<Tags::Pair> pairs;
    for (const auto& [key, value] : v.members()) {
      if (value.is(Value::Type::array) || value.is(Value::Type::object)) out.left_out.push_back(key);
      else if (!value.is(Value::Type::null)) pairs.emplace_back(key, value.text());
    }
    out.tags = Tags(std::move(pairs));
    return out;
  } catch (const std::invalid_argument&) {
    return {};
  }
}

// The WCKey column: `key=value,key=value`, or one bare name taken as the team; none for
// other text (sacct: an arbitrary string). A leading `*` (Slurm's mark of a default WCKey)
// is dropped.
UserTags wckey_tags(std::string_view text) {
  if (!text.empty() && text.front() == '*') text.remove_prefix(1);
  if (text.empty()) return {Tags{}, {}};
  if (text.find('=') == std::string_view::npos) {
    if (text.find(',') != std::string_view::npos) return {};
    return {Tags{{"team", std::string(text)}}, {}};
  }
  std::vector<Tags::Pair> pairs;
  for (std::string_view item : split(text, ",")) {
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) return {};
    pairs.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  try {
    return {Tags(std::move(pairs)), {}};
  } catch (const std::invalid_argument&) {
    return {};
  }
}

bool unset_time(std::string_view text) { return text.empty() || text == "Unknown" || text == "None"; }

// A job a warning tells of, by line: "line 5 (job 3003, DETAIL)".
struct Note {
  std::size_t line;
  std::string job_id;
  std::string detail;
};

std::string jobs_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " job" : " jobs"); }

// The first ten notes; the count is the warning's.
std::string listed(const std::vector<Note>& notes) {
  constexpr std::size_t shown = 10;
  std::string text;
  for (std::size_t i = 0; i < notes.size() && i < shown; ++i)
    text += std::string(i ? ", " : "") + "line " + std::to_string(notes[i].line) + " (job " + notes[i].job_id +
            (notes[i].detail.empty() ? "" : ", " + notes[i].detail) + ")";
  if (notes.size() > shown) text += ", ...";
  return text;
}

std::string outside_warning(const std::string& source, const Options& o, const std::vector<Note>& outside) {
  std::string window;
  if (o.window_start) window += "from " + o.window_start->to_string();
  if (o.window_end) window += std::string(window.empty() ? "" : " ") + "until " + o.window_end->to_string();
  return source + ": " + jobs_text(outside.size()) + " ran wholly outside the window (" + window + ") and " +
         (outside.size() == 1 ? "is" : "are") + " left out: " + listed(outside);
}

// What the rows kept say in warnings: where GPU time went unpriced or was priced by a guess.
struct Notes {
  std::vector<Note> outside;
  std::array<std::vector<Note>, sharing_kinds.size()> unpriced;  // by sharing_kinds
  std::map<std::string, std::size_t> by_star;                    // GPU type -> jobs
  std::vector<Note> free_text_tags;                              // a Comment or WCKey that is not tags
  std::vector<Note> nested_values;                               // Comment keys left out

  void add(const Notes& row) {
    outside.insert(outside.end(), row.outside.begin(), row.outside.end());
    for (std::size_t k = 0; k < unpriced.size(); ++k) unpriced[k].insert(unpriced[k].end(), row.unpriced[k].begin(), row.unpriced[k].end());
    for (const auto& [type, jobs] : row.by_star) by_star[type] += jobs;
    free_text_tags.insert(free_text_tags.end(), row.free_text_tags.begin(), row.free_text_tags.end());
    nested_values.insert(nested_values.end(), row.nested_values.begin(), row.nested_values.end());
  }

  std::vector<std::string> warnings(const std::string& source, const Options& o) const {
    std::vector<std::string> out;
    if (!outside.empty()) out.push_back(outside_warning(source, o, outside));
    for (std::size_t k = 0; k < unpriced.size(); ++k) {
      if (unpriced[k].empty()) continue;
      const GresKind& kind = sharing_kinds[k];
      out.push_back(source + ": " + jobs_text(unpriced[k].size()) + " held GPU " + std::string(kind.units) + " (" +
                    std::string(kind.tres) + "), left out unpriced: give " + std::string(kind.option) + ", the " +
                    std::string(kind.units) + " each GPU has (gres.conf), to price them: " + listed(unpriced[k]));
    }
    if (!by_star.empty()) {
      std::string types;
      for (const auto& [type, jobs] : by_star) types += (types.empty() ? "" : ", ") + type + " (" + jobs_text(jobs) + ")";
      out.push_back(source + ": GPU types the option sku does not name were priced as \"*\" (" + *o.sku.fallback() +
                    "): " + types);
    }
    if (!free_text_tags.empty()) {
      const bool one = free_text_tags.size() == 1;
      out.push_back(source + ": " + jobs_text(free_text_tags.size()) + (one ? " has " : " have ") +
                    (o.tags_from == TagsFrom::comment ? "a Comment that is not a JSON object of tags"
                                                      : "a WCKey that is neither one name nor key=value pairs") +
                    ", so only " + (one ? "its" : "their") + " columns tag " + (one ? "it" : "them") + ": " +
                    listed(free_text_tags));
    }
    if (!nested_values.empty()) {
      const bool one = nested_values.size() == 1;
      out.push_back(source + ": " + jobs_text(nested_values.size()) + (one ? " has" : " have") +
                    " Comment values that are lists or objects, left out of " + (one ? "its" : "their") +
                    " tags: " + listed(nested_values));
    }
    return out;
  }
};

IngestResult parse_sacct(std::string_view text, ObjectReader& reader, const std::string& source) {
  const Options o = read_options(reader);
  const RowErrors errors(reader);
  reader.finish();  // a misspelt option is reported before any row is read
  IngestResult result;

  // Lines, numbered from 1, without their line ending.
  std::vector<std::string_view> lines = split(text, "\n");
  for (std::string_view& line : lines)
    if (line.ends_with('\r')) line.remove_suffix(1);
  if (lines.empty() || lines.front().empty()) throw SpecError(source + " line 1", "expected the sacct -P header line");

  // The header: columns are found by name (case-insensitive), in any order. `sacct -p`
  // ends every line with the delimiter, which gives a last column with no name; it is ignored.
  const std::vector<std::string_view> header = split(lines.front(), o.delimiter);
  std::map<std::string, std::size_t> columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) continue;
    if (!columns.emplace(lower(header[i]), i).second)
      throw SpecError(source + " line 1", "column \"" + std::string(header[i]) + "\" given twice");
  }
  const auto column = [&](std::string_view name) -> std::optional<std::size_t> {
    const auto it = columns.find(lower(name));
    return it == columns.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  };
  const auto require = [&](std::string_view name) {
    const auto c = column(name);
    if (!c) throw SpecError(source + " line 1", "missing column \"" + std::string(name) + "\" (sacct -P --format=JobID,JobName,Start,End,AllocTRES,...)");
    return *c;
  };
  const std::size_t job_id_col = require("JobID");
  const std::size_t start_col = require("Start");
  const std::size_t end_col = require("End");
  const std::size_t tres_col = require("AllocTRES");
  const std::size_t experiment_col = require(o.experiment_from);
  constexpr std::size_t no_column = static_cast<std::size_t>(-1);
  const std::size_t tags_col = o.tags_from == TagsFrom::comment ? require("Comment")
                               : o.tags_from == TagsFrom::wckey ? require("WCKey")
                                                                : no_column;
  const std::size_t partition_col = o.tier && o.tier->is_map() ? require("Partition") : no_column;
  const bool by_node = std::any_of(o.per_gpu.begin(), o.per_gpu.end(), [](const auto& p) { return p && !p->all; });
  const std::size_t node_list_col = by_node ? require("NodeList") : no_column;
  const std::vector<std::pair<std::string, std::optional<std::size_t>>> column_tags{
      {"user", column("User")}, {"account", column("Account")}, {"partition", column("Partition")}};

  // Runs by JobID, each with the line and Start it was read from: `sacct -D` lists every
  // run of a requeued (or resized) job under its one JobID, each with its own Start.
  std::map<std::string, std::vector<std::pair<std::size_t, Instant>>, std::less<>> runs;
  std::vector<std::pair<std::string, Instant>> kept_runs;  // JobID and Start of each run made a record
  std::vector<std::size_t> run_of_record;                  // per record: its index in kept_runs
  std::vector<std::string> part_suffix;                    // per record: ":a100", or empty
  Notes notes;
  for (std::size_t index = 1; index < lines.size(); ++index) {
    const std::string_view line = lines[index];
    if (line.empty()) continue;
    ++result.rows;
    const std::string where = source + " line " + std::to_string(index + 1);
    try {
      if (const std::string problem = utf8_problem(line); !problem.empty()) throw RowError{"the line " + problem};
      const std::vector<std::string_view> fields = split(line, o.delimiter);
      if (fields.size() != header.size())
        throw RowError{"has " + std::to_string(fields.size()) + " fields separated by " + o.delimiter + ", the header has " +
                       std::to_string(header.size())};
      const std::string_view job_id = fields[job_id_col];
      if (job_id.empty()) throw RowError{"JobID: is empty"};
      // Job steps (1234.batch, 1234.extern, 1234.0) run inside their job's allocation.
      if (job_id.find('.') != std::string_view::npos) continue;
      const std::string_view start_text = fields[start_col];
      const std::string_view end_text = fields[end_col];
      const std::string_view tres = fields[tres_col];
      // Pending (or cancelled before it started): it holds nothing.
      if (unset_time(start_text) || tres.empty()) continue;

      const Instant start = read_time("Start", start_text, o.offset);
      Instant end;
      if (unset_time(end_text)) {
        if (o.running == Options::Running::skip) continue;
        if (o.running == Options::Running::error)
          throw RowError{"End: job " + std::string(job_id) + " has not ended (End \"" + std::string(end_text) +
                         "\"); set the option running to \"skip\" or to a time to close running jobs at"};
        end = o.close_at;
        if (end < start)
          throw RowError{"End: the time running jobs are closed at (" + end.to_string() + ") is before the job's Start (" +
                         start.to_string() + ")"};
      } else {
        end = read_time("End", end_text, o.offset);
        if (end < start)
          throw RowError{"End: " + end.to_string() + " is before Start " + start.to_string()};
      }

      const std::vector<GresPart> held = gres_of(tres);
      if (held.empty()) {
        if (o.cpu_jobs == CpuJobs::skip) continue;
        throw RowError{"AllocTRES: job " + std::string(job_id) + " was allocated no GPUs (\"" + std::string(tres) + "\")"};
      }

      // What the job's columns say, then what its user wrote in the Comment or WCKey, which
      // wins: `sbatch --comment='{"experiment":"run-42"}'` names the experiment, not JobName.
      Notes row;
      std::vector<Tags::Pair> pairs;
      const auto set = [&](std::string key, std::string value) {
        for (Tags::Pair& p : pairs)
          if (p.first == key) {
            p.second = std::move(value);
            return;
          }
        pairs.emplace_back(std::move(key), std::move(value));
      };
      if (!fields[experiment_col].empty()) set("experiment", std::string(fields[experiment_col]));
      for (const auto& [key, col] : column_tags)
        if (col && !fields[*col].empty()) set(key, std::string(fields[*col]));
      if (tags_col != no_column) {
        const std::string_view name = o.tags_from == TagsFrom::comment ? "Comment" : "WCKey";
        const UserTags extra =
            o.tags_from == TagsFrom::comment ? comment_tags(fields[tags_col]) : wckey_tags(fields[tags_col]);
        if (!extra.tags) row.free_text_tags.push_back({index + 1, std::string(job_id), ""});
        std::string left_out;
        for (const std::string& key : extra.left_out) left_out += (left_out.empty() ? "\"" : ", \"") + key + "\"";
        if (!left_out.empty()) row.nested_values.push_back({index + 1, std::string(job_id), left_out});
        for (const auto& [key, value] : extra.tags.value_or(Tags{})) {
          if (key == "job_id" || key == "gpu_type")
            throw RowError{std::string(name) + ": tag \"" + key + "\" is the job's own (from JobID and AllocTRES) and may not be set here"};
          set(key, value);
        }
      }
      set("job_id", std::string(job_id));

      std::optional<std::string> tier;
      if (o.tier) {
        const std::string_view partition = partition_col != no_column ? fields[partition_col] : std::string_view{};
        const std::string* t = o.tier->find(partition);
        if (!t) t = o.tier->fallback();
        if (!t)
          throw RowError{"Partition: job " + std::string(job_id) + " ran in partition \"" + std::string(partition) +
                         "\", which the option tier does not map (add it, or \"*\" for the rest)"};
        tier = *t;
      }
      // Each part priced: its SKU and the GPUs it holds. A sharing part whose units per GPU
      // are not given is left out and told.
      struct Priced {
        const GresPart* part;
        std::string sku;
        Decimal gpus;
      };
      std::vector<Priced> priced;
      std::set<std::string> by_star;
      for (const GresPart& part : held) {
        Rational per_gpu = 1;  // units of the part in one GPU
        if (part.kind != &gpu_kind) {
          const std::size_t k = static_cast<std::size_t>(part.kind - sharing_kinds.data());
          const std::optional<Rational> n = units_per_gpu(
              k, o, node_list_col != no_column ? fields[node_list_col] : std::string_view{}, job_id, part.count);
          if (!n) {
            row.unpriced[k].push_back({index + 1, std::string(job_id), count_text(part.count, *part.kind)});
            continue;
          }
          per_gpu = *n;
        }
        const Pricing p = pricing_of(part, o, job_id, tres);
        if (p.by_star) by_star.insert(*part.type);
        // Exact unless a fraction of a GPU needs more than the 12 decimal places a count has
        // (a 1g slice of 7: 0.142857142857).
        const Rational gpus = part.count.to_rational() * p.per_unit / per_gpu;
        priced.push_back({&part, p.sku, Decimal::from_rational(gpus, Decimal::from_raw(1))});
      }
      for (const std::string& type : by_star) row.by_star[type] = 1;

      auto& seen = runs[std::string(job_id)];
      for (const auto& run : seen)
        if (run.second == start)
          throw RowError{"JobID: job " + std::string(job_id) + " is also on line " + std::to_string(run.first) +
                         " with the same Start (a line given twice?)"};
      seen.emplace_back(index + 1, start);

      // The run's part in the window: clipped to it, or, wholly outside, told and left out.
      // A run of zero length is inside when its instant is.
      const bool before = o.window_start && (end < *o.window_start || (end == *o.window_start && start < end));
      const bool after = o.window_end && start >= *o.window_end;
      if (before || after) {
        notes.outside.push_back({index + 1, std::string(job_id), start.to_string() + " to " + end.to_string()});
        continue;
      }
      notes.add(row);
      if (priced.empty()) continue;
      // A run that crosses the window's edge keeps its real times and bills the window's
      // part of its whole cost, so the months of a run sum to it whatever its billing.
      std::optional<Interval> window;
      if ((o.window_start && start < *o.window_start) || (o.window_end && end > *o.window_end))
        window = Interval(o.window_start ? std::max(start, *o.window_start) : start,
                          o.window_end ? std::min(end, *o.window_end) : end);

      kept_runs.emplace_back(std::string(job_id), start);
      const Tags tags(std::move(pairs));
      for (const Priced& p : priced) {
        Record r;
        r.tags = p.part->type ? tags.with("gpu_type", *p.part->type) : tags;
        r.start = start;
        r.end = end;
        r.window = window;
        r.count = p.gpus;
        r.sku = p.sku;
        r.tier = tier;
        r.origin = where;
        result.records.push_back(std::move(r));
        run_of_record.push_back(kept_runs.size() - 1);
        // ":a100", ":untyped", ":shard", ":shard:a100" for a job of several parts.
        const GresKind& kind = *p.part->kind;
        std::string suffix;
        if (priced.size() > 1 && kind.label.empty()) suffix = ":" + p.part->type.value_or("untyped");
        else if (priced.size() > 1) suffix = ":" + std::string(kind.label) + (p.part->type ? ":" + *p.part->type : "");
        part_suffix.push_back(std::move(suffix));
      }
    } catch (const RowError& e) {
      errors.skip(result, where, e.what);
    }
  }
  // Ids once every run is known: the JobID, with `@Start` when the file holds several runs
  // of the job, and `:TYPE` for each GPU type of a job holding more than one.
  for (std::size_t i = 0; i < result.records.size(); ++i) {
    const auto& [job_id, start] = kept_runs[run_of_record[i]];
    std::string id = job_id;
    if (runs.at(job_id).size() > 1) id += "@" + start.to_string();
    result.records[i].id = id + part_suffix[i];
  }
  result.warnings = notes.warnings(source, o);
  return result;
}

}  // namespace

void register_sacct(IngestRegistry& registry) { registry.add("sacct", parse_sacct); }

}  // namespace ingest
APPORTION_END_NAMESPACE
