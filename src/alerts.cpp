// Alert events from a governance report, rendered as text, JSON or Slack Block Kit.

#include "apportion/alerts.hpp"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "apportion/errors.hpp"
#include "apportion/render.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

using json = nlohmann::ordered_json;

// Money as people read it: "12,345.60 USD", with the result's precision (or the exact
// amount when it has more digits than that, as a budget amount may).
std::string money(const Decimal& value, const Result& result) {
  const std::string digits = value.fractional_digits() > result.precision.fractional_digits()
                                 ? value.to_string()
                                 : format_amount(value, result.precision);
  return group_thousands(digits) + " " + std::string(result.currency.code());
}

// A score for people: two places, trailing zeros dropped ("10.5", "12", "3.14").
std::string short_number(const Rational& value) {
  std::string s = format_places(value, 2);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

AlertEvent budget_event(const BudgetStatus& b, const BudgetAlert& alert, const Result& result) {
  AlertEvent e;
  e.key = alert.key;
  e.severity = alert.severity;
  e.source = "budget";
  e.rule = b.id;
  e.tags = b.tags;
  e.title = "Budget " + b.id + ": " + format_threshold(alert.threshold.value) + " threshold crossed (" +
            std::string(to_string(alert.severity)) + ")";
  e.facts.emplace_back("Spend", money(b.spend, result));
  e.facts.emplace_back("Budget", money(b.amount, result));
  e.facts.emplace_back("Used", format_places(b.ratio * 100, 1) + "%");
  e.facts.emplace_back("Threshold", format_threshold(alert.threshold.value) + " (" + alert.threshold.text + ")");
  if (b.forecast) {
    e.facts.emplace_back("Forecast", money(*b.forecast, result));
    e.facts.emplace_back("Forecast method", "linear (run rate)");
  }
  e.facts.emplace_back("Period", b.period.start().to_string() + " to " + b.period.end().to_string());
  if (b.as_of) e.facts.emplace_back("As of", b.as_of->to_string());
  return e;
}

AlertEvent anomaly_event(const AnomalyReport& r, const FlaggedLine& f, const Result& result) {
  AlertEvent e;
  e.key = f.key;
  e.severity = Severity::warning;
  e.source = "anomaly";
  e.rule = r.id;
  e.tags = f.tags;
  const std::string line = f.tags.empty() ? "a line" : tags_text(f.tags, ", ");
  const std::string score = short_number(f.score);
  const std::string in_bucket = f.bucket ? " in the bucket starting " + f.bucket->start().to_string() : "";
  if (r.method != AnomalyMethod::mad)
    e.title = "Anomaly in " + r.id + ": " + line + " cost " + score + "\u00d7 its baseline" + in_bucket;
  else
    e.title = "Anomaly in " + r.id + ": " + line + " cost " + money(f.cost, result) + ", robust score " + score + in_bucket;
  e.facts.emplace_back("Cost", money(f.cost, result));
  std::string baseline = money(f.baseline, result) +
                         (r.method == AnomalyMethod::trend ? std::string(" (median of its earlier buckets)")
                                                           : " (median of " + std::to_string(r.lines) + (r.lines == 1 ? " line)" : " lines)"));
  e.facts.emplace_back("Baseline", std::move(baseline));
  e.facts.emplace_back("Score", score);
  if (f.bucket) e.facts.emplace_back("Bucket", f.bucket->start().to_string() + " to " + f.bucket->end().to_string());
  e.facts.emplace_back("Method", r.method == AnomalyMethod::ratio   ? "ratio (cost \u00f7 median)"
                                 : r.method == AnomalyMethod::trend ? "trend (cost \u00f7 the median of its earlier buckets)"
                                                                    : "mad (0.6745 \u00d7 (cost \u2212 median) \u00f7 MAD)");
  e.facts.emplace_back("Threshold", r.threshold.text);
  if (f.kind != LineKind::allocated) e.facts.emplace_back("Line kind", std::string(to_string(f.kind)));
  return e;
}

std::string severity_counts(const std::vector<AlertEvent>& events, std::size_t from = 0) {
  std::size_t counts[3] = {0, 0, 0};
  for (std::size_t i = from; i < events.size(); ++i) ++counts[static_cast<int>(events[i].severity)];
  std::string out;
  for (const Severity s : {Severity::critical, Severity::warning, Severity::info}) {
    if (counts[static_cast<int>(s)] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(counts[static_cast<int>(s)]) + " " + std::string(to_string(s));
  }
  return out;
}

std::string count_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " new alert" : " new alerts"); }

// ---- Slack -------------------------------------------------------------------------------

// Slack's limits (api.slack.com/reference/block-kit): blocks per message, header text,
// section text, section fields and each field's text, context element text.
constexpr std::size_t slack_max_blocks = 50;
constexpr std::size_t slack_header_chars = 150;
constexpr std::size_t slack_section_chars = 3000;
constexpr std::size_t slack_max_fields = 10;
constexpr std::size_t slack_field_chars = 2000;
constexpr std::size_t slack_context_chars = 2000;

std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); i += utf8_length(static_cast<unsigned char>(s[i]))) ++n;
  return n;
}

std::string_view escape_of(char c) {
  switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    default: return {};
  }
}

// `raw` with &, < and > escaped for mrkdwn (when `escape`), cut to at most `limit`
// characters as Slack counts them (the escaped form), ending in "…" when cut. Never splits
// a character or an escape.
std::string fit(std::string_view raw, std::size_t limit, bool escape = true) {
  std::string out;
  std::size_t chars = 0;
  const auto escaped_size = [&] {
    std::size_t n = 0;
    for (std::size_t i = 0; i < raw.size();) {
      const std::size_t len = std::min(utf8_length(static_cast<unsigned char>(raw[i])), raw.size() - i);
      const std::string_view e = escape ? escape_of(raw[i]) : std::string_view{};
      n += e.empty() ? 1 : e.size();
      i += len;
    }
    return n;
  }();
  const bool cut = escaped_size > limit;
  const std::size_t budget = cut ? limit - 1 : limit;  // room for "…"
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t len = std::min(utf8_length(static_cast<unsigned char>(raw[i])), raw.size() - i);
    const std::string_view e = escape ? escape_of(raw[i]) : std::string_view{};
    const std::size_t n = e.empty() ? 1 : e.size();
    if (chars + n > budget) break;
    if (e.empty()) out.append(raw.substr(i, len));
    else out.append(e);
    chars += n;
    i += len;
  }
  if (cut) out += "\u2026";
  return out;
}

std::string_view severity_emoji(Severity s) {
  switch (s) {
    case Severity::critical: return ":red_circle:";
    case Severity::warning: return ":large_orange_circle:";
    case Severity::info: break;
  }
  return ":large_blue_circle:";
}

json plain_text(std::string text) { return json{{"type", "plain_text"}, {"text", std::move(text)}, {"emoji", true}}; }
json mrkdwn(std::string text) { return json{{"type", "mrkdwn"}, {"text", std::move(text)}}; }

void append_alert_blocks(json& blocks, const AlertEvent& e) {
  blocks.push_back(json{{"type", "divider"}});
  json section{{"type", "section"},
               {"text", mrkdwn(fit(std::string(severity_emoji(e.severity)) + " *" + fit(e.title, slack_section_chars - 64) +
                                       "*",
                                   slack_section_chars, false))}};
  if (!e.facts.empty()) {
    json fields = json::array();
    for (std::size_t i = 0; i < e.facts.size() && i < slack_max_fields; ++i) {
      const auto& [label, value] = e.facts[i];
      // "*Label*\nvalue", the label cut first so that the value keeps its room.
      const std::string head = "*" + fit(label, 100) + "*\n";
      fields.push_back(mrkdwn(head + fit(value, slack_field_chars - char_count(head))));
    }
    section["fields"] = std::move(fields);
  }
  blocks.push_back(std::move(section));
  std::string context = std::string(to_string(e.severity)) + " \u00b7 " + fit(e.source, 50) + " " + fit(e.rule, 200);
  if (!e.tags.empty()) context += " \u00b7 " + fit(tags_text(e.tags, ", "), 600);
  context += " \u00b7 key `" + fit(e.key, 1000) + "`";
  blocks.push_back(json{{"type", "context"}, {"elements", json::array({mrkdwn(fit(context, slack_context_chars, false))})}});
}

}  // namespace

std::vector<AlertEvent> alert_events(const Result& result) {
  std::vector<AlertEvent> events;
  if (!result.governance) return events;
  for (const BudgetStatus& b : result.governance->budgets)
    for (const BudgetAlert& a : b.alerts) events.push_back(budget_event(b, a, result));
  for (const AnomalyReport& r : result.governance->anomalies)
    for (const FlaggedLine& f : r.flagged)
      if (f.alert) events.push_back(anomaly_event(r, f, result));
  return events;
}

std::string alerts_to_text(const std::vector<AlertEvent>& events) {
  if (events.empty()) return "no new alerts\n";
  std::string out;
  for (const AlertEvent& e : events) {
    std::vector<std::pair<std::string, std::string>> rows = e.facts;
    rows.emplace_back("Severity", std::string(to_string(e.severity)));
    rows.emplace_back("Rule", e.source + " " + e.rule);
    if (!e.tags.empty()) rows.emplace_back("Tags", tags_text(e.tags, ", "));
    rows.emplace_back("Key", e.key);
    std::size_t width = 0;
    for (const auto& [label, value] : rows) width = std::max(width, char_count(label));
    if (!out.empty()) out += "\n";
    out += e.title + "\n";
    for (const auto& [label, value] : rows)
      out += "  " + label + ":" + std::string(width - char_count(label) + 2, ' ') + value + "\n";
  }
  return out;
}

std::string alerts_to_json(const std::vector<AlertEvent>& events) {
  json alerts = json::array();
  for (const AlertEvent& e : events) {
    json tags = json::object();
    for (const auto& [k, v] : e.tags) tags[k] = v;
    json facts = json::object();
    for (const auto& [label, value] : e.facts) facts[label] = value;
    alerts.push_back(json{{"key", e.key},
                          {"severity", std::string(to_string(e.severity))},
                          {"source", e.source},
                          {"rule", e.rule},
                          {"tags", std::move(tags)},
                          {"title", e.title},
                          {"facts", std::move(facts)}});
  }
  return json{{"alerts", std::move(alerts)}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string alerts_to_slack(const std::vector<AlertEvent>& events) {
  std::string summary = "apportion: " + (events.empty() ? std::string("no new alerts") : count_text(events.size()));
  if (!events.empty()) summary += " (" + severity_counts(events) + ")";
  json blocks = json::array();
  blocks.push_back(json{{"type", "header"}, {"text", plain_text(fit(summary, slack_header_chars, false))}});
  // Header, then three blocks per alert; when they do not all fit, the last block says
  // how many more there are.
  std::size_t shown = events.size();
  if (1 + 3 * events.size() > slack_max_blocks) shown = (slack_max_blocks - 2) / 3;
  for (std::size_t i = 0; i < shown; ++i) append_alert_blocks(blocks, events[i]);
  if (shown < events.size()) {
    const std::size_t rest = events.size() - shown;
    blocks.push_back(json{{"type", "section"},
                          {"text", mrkdwn("\u2026and " + std::to_string(rest) + " more (" + severity_counts(events, shown) +
                                          ") not shown here")}});
  }
  return json{{"text", fit(summary, slack_section_chars)}, {"blocks", std::move(blocks)}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string_view to_string(AlertFormat format) noexcept {
  switch (format) {
    case AlertFormat::json: return "json";
    case AlertFormat::slack: return "slack";
    case AlertFormat::text: break;
  }
  return "text";
}

AlertFormat parse_alert_format(std::string_view name) {
  if (name == "text") return AlertFormat::text;
  if (name == "json") return AlertFormat::json;
  if (name == "slack") return AlertFormat::slack;
  throw std::invalid_argument("must be text, json or slack (got \"" + std::string(name.substr(0, 64)) + "\")");
}

std::string render_alerts(const std::vector<AlertEvent>& events, AlertFormat format) {
  switch (format) {
    case AlertFormat::json: return alerts_to_json(events);
    case AlertFormat::slack: return alerts_to_slack(events);
    case AlertFormat::text: break;
  }
  return alerts_to_text(events);
}

void add_fired_keys(Allocation& allocation, const std::vector<std::string>& keys) {
  if (!allocation.governance || keys.empty()) return;
  auto governance = std::make_shared<Governance>(*allocation.governance);
  governance->already_fired.insert(governance->already_fired.end(), keys.begin(), keys.end());
  allocation.governance = std::move(governance);
}

std::vector<std::string> parse_alert_state(std::string_view text, std::string_view source) {
  const std::string where(source);
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) throw SpecError(where, "not valid JSON (expected {\"fired\": [alert keys]})");
  if (!doc.is_object()) throw SpecError(where, "must be a JSON object {\"fired\": [alert keys]}");
  std::vector<std::string> keys;
  for (const auto& [name, value] : doc.items()) {
    if (name != "fired") throw SpecError(where + "." + name, "unknown key (a state file holds only \"fired\")");
    if (!value.is_array()) throw SpecError(where + ".fired", "must be an array of alert keys");
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string())
        throw SpecError(where + ".fired[" + std::to_string(i) + "]", "must be a string (an alert key)");
      keys.push_back(value[i].get<std::string>());
    }
  }
  if (!doc.contains("fired")) throw SpecError(where, "missing required key \"fired\"");
  return keys;
}

std::string alert_state_to_json(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return json{{"fired", keys}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

APPORTION_END_NAMESPACE
