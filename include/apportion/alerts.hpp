#pragma once
// Alert events: the budget thresholds and anomalies of a run that fired and were not fired
// before, as data, with renderers for people (text), programs (JSON) and chat (a Slack
// Block Kit message payload). The library never sends anything anywhere: it produces the
// payload, and the caller posts it (docs/alerts.md).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/engine.hpp"
#include "apportion/governance.hpp"

APPORTION_BEGIN_NAMESPACE

struct AlertEvent {
  std::string key;  // idempotency key: "<budget>/<period start>/<threshold>" or "<rule>/<k=v,...>"
  Severity severity = Severity::info;
  std::string source;  // "budget" or "anomaly"
  std::string rule;    // the budget's or the anomaly rule's id
  Tags tags;           // the budget's tags, or the flagged line's
  std::string title;   // one line for people
  // Label and value, already formatted (money with thousands separators and the currency).
  std::vector<std::pair<std::string, std::string>> facts;
};

// The new alerts of a result (result.governance; none when it is null): for each budget in
// report order, each of its `alerts` (severity by threshold); then for each anomaly rule,
// each flagged line with `alert` true (severity warning). Deterministic.
std::vector<AlertEvent> alert_events(const Result& result);

// One block per alert (title, then aligned facts, tags and key), blocks separated by an
// empty line; "no new alerts\n" when there are none.
std::string alerts_to_text(const std::vector<AlertEvent>& events);
// {"alerts": [{"key", "severity", "source", "rule", "tags", "title", "facts": {label: value}}]},
// indented by two spaces, keys in that order, facts in event order.
std::string alerts_to_json(const std::vector<AlertEvent>& events);
// A Slack message payload (Block Kit, for chat.postMessage or an incoming webhook):
// {"text": summary, "blocks": [header, then per alert a divider, a section (title and up
// to 10 fields) and a context (severity, rule, tags, key)]}. Within Slack's limits: at most
// 50 blocks (alerts past what fits are summarised in one last section, "…and N more"),
// header text 150 characters, section text 3000, field and context texts 2000; longer
// texts are cut and end in "…". &, < and > in any text are escaped (&amp; &lt; &gt;).
std::string alerts_to_slack(const std::vector<AlertEvent>& events);

enum class AlertFormat { text, json, slack };
std::string_view to_string(AlertFormat format) noexcept;
// "text", "json" or "slack"; anything else is std::invalid_argument naming the choices.
AlertFormat parse_alert_format(std::string_view name);
std::string render_alerts(const std::vector<AlertEvent>& events, AlertFormat format);

// ---- Fired keys: what an earlier check alerted on ------------------------------------------

// Adds `keys` to the allocation's global fired keys (Governance::already_fired), copying
// its governance so that other holders of the old one are unaffected. Without governance
// there is nothing to alert on and the allocation is left as it is.
void add_fired_keys(Allocation& allocation, const std::vector<std::string>& keys);

// A state file, {"fired": [keys]}: the keys it holds. Anything else (not JSON, another
// shape, a key that is not a string) is SpecError whose message starts with `source`.
std::vector<std::string> parse_alert_state(std::string_view json, std::string_view source = "state");
// The state document for `keys`, sorted and without duplicates: {"fired": [...]}.
std::string alert_state_to_json(std::vector<std::string> keys);

APPORTION_END_NAMESPACE
