// Alert events from a governance report, rendered as text, JSON or Slack Block Kit.
#include "apportion/alerts.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "apportion/governance.hpp"
#include "apportion/spec.hpp"

namespace {

using namespace apportion;
using json = nlohmann::json;

Decimal D(const char* s) { return Decimal::parse(s); }
WrittenDecimal W(const char* s) { return {Decimal::parse(s), s}; }
Rational R(long long num, long long den = 1) { return Rational(BigInt(num), BigInt(den)); }

BudgetStatus budget(std::string id, Tags tags) {
  BudgetStatus b;
  b.id = std::move(id);
  b.tags = std::move(tags);
  b.period = Interval(Instant::parse("2026-06-01T00:00:00Z"), Instant::parse("2026-07-01T00:00:00Z"));
  b.as_of = Instant::parse("2026-06-21T00:00:00Z");
  b.spend = D("8330");
  b.amount = D("10000");
  b.ratio = R(833, 1000);
  b.forecast = D("12495");
  b.crossed = {W("0.5"), W("0.8")};
  b.alerts = {{"team-nlp/2026-06/0.5", W("0.5"), Severity::info}, {"team-nlp/2026-06/0.8", W("0.8"), Severity::warning}};
  return b;
}

AnomalyReport anomalies() {
  AnomalyReport r;
  r.id = "big-runs";
  r.method = AnomalyMethod::ratio;
  r.threshold = W("10");
  r.lines = 5;
  r.median = R(100);
  FlaggedLine a;
  a.key = "big-runs/experiment=exp-7";
  a.tags = Tags{{"experiment", "exp-7"}};
  a.cost = D("1050");
  a.baseline = D("100");
  a.score = R(21, 2);
  FlaggedLine b = a;  // flagged, but already alerted on
  b.key = "big-runs/experiment=exp-9";
  b.tags = Tags{{"experiment", "exp-9"}};
  b.alert = false;
  r.flagged = {a, b};
  return r;
}

Result result_with(GovernanceReport report) {
  Result r;
  r.currency = Currency("USD");
  r.precision = D("0.01");
  r.governance = std::make_shared<const GovernanceReport>(std::move(report));
  return r;
}

Result sample() {
  GovernanceReport g;
  g.budgets.push_back(budget("team-nlp", Tags{{"team", "nlp"}}));
  g.anomalies.push_back(anomalies());
  return result_with(std::move(g));
}

TEST(Alerts, NoGovernanceNoEvents) {
  Result r;
  EXPECT_TRUE(alert_events(r).empty());
  EXPECT_EQ(alerts_to_text({}), "no new alerts\n");
  EXPECT_EQ(alerts_to_json({}), "{\n  \"alerts\": []\n}\n");
  const json slack = json::parse(alerts_to_slack({}));
  EXPECT_EQ(slack["text"], "apportion: no new alerts");
  ASSERT_EQ(slack["blocks"].size(), 1u);
  EXPECT_EQ(slack["blocks"][0]["type"], "header");
}

TEST(Alerts, EventsFromBudgetsThenAnomalies) {
  const std::vector<AlertEvent> events = alert_events(sample());
  ASSERT_EQ(events.size(), 3u);  // two budget alerts, one anomaly (the other was fired before)
  EXPECT_EQ(events[0].key, "team-nlp/2026-06/0.5");
  EXPECT_EQ(events[0].severity, Severity::info);
  EXPECT_EQ(events[0].source, "budget");
  EXPECT_EQ(events[0].rule, "team-nlp");
  EXPECT_EQ(events[0].title, "Budget team-nlp: 50% threshold crossed (info)");
  EXPECT_EQ(events[1].title, "Budget team-nlp: 80% threshold crossed (warning)");
  using Facts = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(events[1].facts, (Facts{{"Spend", "8,330.00 USD"},
                                    {"Budget", "10,000.00 USD"},
                                    {"Used", "83.3%"},
                                    {"Threshold", "80% (0.8)"},
                                    {"Forecast", "12,495.00 USD"},
                                    {"Forecast method", "linear (run rate)"},
                                    {"Period", "2026-06-01T00:00:00Z to 2026-07-01T00:00:00Z"},
                                    {"As of", "2026-06-21T00:00:00Z"}}));
  EXPECT_EQ(events[2].key, "big-runs/experiment=exp-7");
  EXPECT_EQ(events[2].severity, Severity::warning);
  EXPECT_EQ(events[2].source, "anomaly");
  EXPECT_EQ(events[2].title, "Anomaly in big-runs: experiment=exp-7 cost 10.5\u00d7 its baseline");
  EXPECT_EQ(events[2].facts, (Facts{{"Cost", "1,050.00 USD"},
                                    {"Baseline", "100.00 USD (median of 5 lines)"},
                                    {"Score", "10.5"},
                                    {"Method", "ratio (cost \u00f7 median)"},
                                    {"Threshold", "10"}}));
}

TEST(Alerts, BudgetWithoutForecastAndOtherPrecision) {
  GovernanceReport g;
  BudgetStatus b = budget("ops", {});
  b.as_of.reset();
  b.forecast.reset();
  b.spend = D("1250000");
  b.amount = D("1000000.5");  // more digits than the precision: shown exactly
  b.ratio = b.spend.to_rational() / b.amount.to_rational();
  b.alerts = {{"ops/2026-06-01/1.25", W("1.25"), Severity::critical}};
  g.budgets.push_back(b);
  Result r = result_with(std::move(g));
  r.currency = Currency("JPY");
  r.precision = D("1");
  const auto events = alert_events(r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].title, "Budget ops: 125% threshold crossed (critical)");
  ASSERT_EQ(events[0].facts.size(), 5u);
  EXPECT_EQ(events[0].facts[0].second, "1,250,000 JPY");
  EXPECT_EQ(events[0].facts[1].second, "1,000,000.5 JPY");
  EXPECT_EQ(events[0].facts[2].second, "125.0%");
  EXPECT_EQ(events[0].facts[4].first, "Period");
}

TEST(Alerts, MadAnomalyAndLineKind) {
  GovernanceReport g;
  AnomalyReport a = anomalies();
  a.method = AnomalyMethod::mad;
  a.threshold = W("3.5");
  a.flagged.resize(1);
  a.flagged[0].score = R(52123, 10000);
  a.flagged[0].kind = LineKind::unallocated;
  g.anomalies.push_back(a);
  const auto events = alert_events(result_with(std::move(g)));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].title, "Anomaly in big-runs: experiment=exp-7 cost 1,050.00 USD, robust score 5.21");
  EXPECT_EQ(events[0].facts[3].second, "mad (0.6745 \u00d7 (cost \u2212 median) \u00f7 MAD)");
  EXPECT_EQ(events[0].facts[4].second, "3.5");
  EXPECT_EQ(events[0].facts[5], (std::pair<std::string, std::string>{"Line kind", "unallocated"}));
}

TEST(Alerts, Text) {
  const std::string text = alerts_to_text(alert_events(sample()));
  EXPECT_EQ(text,
            "Budget team-nlp: 50% threshold crossed (info)\n"
            "  Spend:            8,330.00 USD\n"
            "  Budget:           10,000.00 USD\n"
            "  Used:             83.3%\n"
            "  Threshold:        50% (0.5)\n"
            "  Forecast:         12,495.00 USD\n"
            "  Forecast method:  linear (run rate)\n"
            "  Period:           2026-06-01T00:00:00Z to 2026-07-01T00:00:00Z\n"
            "  As of:            2026-06-21T00:00:00Z\n"
            "  Severity:         info\n"
            "  Rule:             budget team-nlp\n"
            "  Tags:             team=nlp\n"
            "  Key:              team-nlp/2026-06/0.5\n"
            "\n"
            "Budget team-nlp: 80% threshold crossed (warning)\n"
            "  Spend:            8,330.00 USD\n"
            "  Budget:           10,000.00 USD\n"
            "  Used:             83.3%\n"
            "  Threshold:        80% (0.8)\n"
            "  Forecast:         12,495.00 USD\n"
            "  Forecast method:  linear (run rate)\n"
            "  Period:           2026-06-01T00:00:00Z to 2026-07-01T00:00:00Z\n"
            "  As of:            2026-06-21T00:00:00Z\n"
            "  Severity:         warning\n"
            "  Rule:             budget team-nlp\n"
            "  Tags:             team=nlp\n"
            "  Key:              team-nlp/2026-06/0.8\n"
            "\n"
            "Anomaly in big-runs: experiment=exp-7 cost 10.5\u00d7 its baseline\n"
            "  Cost:       1,050.00 USD\n"
            "  Baseline:   100.00 USD (median of 5 lines)\n"
            "  Score:      10.5\n"
            "  Method:     ratio (cost \u00f7 median)\n"
            "  Threshold:  10\n"
            "  Severity:   warning\n"
            "  Rule:       anomaly big-runs\n"
            "  Tags:       experiment=exp-7\n"
            "  Key:        big-runs/experiment=exp-7\n");
}

TEST(Alerts, Json) {
  const std::vector<AlertEvent> events = alert_events(sample());
  const std::string text = alerts_to_json(events);
  EXPECT_EQ(text, alerts_to_json(alert_events(sample())));  // deterministic
  const json doc = json::parse(text);
  ASSERT_EQ(doc.size(), 1u);
  ASSERT_EQ(doc["alerts"].size(), 3u);
  const json& first = doc["alerts"][0];
  std::vector<std::string> keys;
  for (const auto& [k, v] : first.items()) keys.push_back(k);
  // nlohmann::json sorts keys; the text keeps the documented order
  EXPECT_LT(text.find("\"key\""), text.find("\"severity\""));
  EXPECT_LT(text.find("\"severity\""), text.find("\"source\""));
  EXPECT_LT(text.find("\"source\""), text.find("\"rule\""));
  EXPECT_LT(text.find("\"rule\""), text.find("\"tags\""));
  EXPECT_LT(text.find("\"tags\""), text.find("\"title\""));
  EXPECT_LT(text.find("\"title\""), text.find("\"facts\""));
  EXPECT_LT(text.find("\"Spend\""), text.find("\"Budget\""));
  EXPECT_EQ(first["key"], "team-nlp/2026-06/0.5");
  EXPECT_EQ(first["severity"], "info");
  EXPECT_EQ(first["source"], "budget");
  EXPECT_EQ(first["rule"], "team-nlp");
  EXPECT_EQ(first["tags"], (json{{"team", "nlp"}}));
  EXPECT_EQ(first["facts"]["Used"], "83.3%");
  EXPECT_EQ(doc["alerts"][2]["tags"], (json{{"experiment", "exp-7"}}));
  EXPECT_EQ(doc["alerts"][2]["facts"]["Score"], "10.5");
  EXPECT_EQ(text.substr(0, 28), "{\n  \"alerts\": [\n    {\n      ");
}

TEST(Alerts, SlackShape) {
  const json doc = json::parse(alerts_to_slack(alert_events(sample())));
  EXPECT_EQ(doc["text"], "apportion: 3 new alerts (2 warning, 1 info)");
  const json& blocks = doc["blocks"];
  ASSERT_EQ(blocks.size(), 1u + 3 * 3);
  EXPECT_EQ(blocks[0], (json{{"type", "header"},
                             {"text", {{"type", "plain_text"}, {"text", "apportion: 3 new alerts (2 warning, 1 info)"},
                                       {"emoji", true}}}}));
  EXPECT_EQ(blocks[1], (json{{"type", "divider"}}));
  const json& section = blocks[5];
  EXPECT_EQ(section["type"], "section");
  EXPECT_EQ(section["text"], (json{{"type", "mrkdwn"},
                                   {"text", ":large_orange_circle: *Budget team-nlp: 80% threshold crossed (warning)*"}}));
  ASSERT_EQ(section["fields"].size(), 8u);
  EXPECT_EQ(section["fields"][0], (json{{"type", "mrkdwn"}, {"text", "*Spend*\n8,330.00 USD"}}));
  EXPECT_EQ(blocks[6], (json{{"type", "context"},
                             {"elements", json::array({{{"type", "mrkdwn"},
                                                        {"text", "warning \u00b7 budget team-nlp \u00b7 team=nlp \u00b7 key "
                                                                 "`team-nlp/2026-06/0.8`"}}})}}));
  EXPECT_EQ(blocks[8]["text"]["text"], ":large_orange_circle: *Anomaly in big-runs: experiment=exp-7 cost 10.5\u00d7 its baseline*");
}

// The number of characters Slack counts in UTF-8 text.
std::size_t chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(Alerts, SlackEscapesUserText) {
  AlertEvent e;
  e.key = "a<b>/c&d";
  e.severity = Severity::critical;
  e.source = "budget";
  e.rule = "<!channel> & co";
  e.tags = Tags{{"team", "<@U123>"}};
  e.title = "Budget <!channel> & co: 100% threshold crossed (critical)";
  e.facts = {{"Spend & more", "<https://evil.example|click>"}};
  const std::string payload = alerts_to_slack({e});
  const json doc = json::parse(payload);
  EXPECT_EQ(payload.find('<'), std::string::npos);
  EXPECT_EQ(payload.find('>'), std::string::npos);
  EXPECT_EQ(doc["blocks"][2]["text"]["text"], ":red_circle: *Budget &lt;!channel&gt; &amp; co: 100% threshold crossed (critical)*");
  EXPECT_EQ(doc["blocks"][2]["fields"][0]["text"], "*Spend &amp; more*\n&lt;https://evil.example|click&gt;");
  EXPECT_EQ(doc["blocks"][3]["elements"][0]["text"],
            "critical \u00b7 budget &lt;!channel&gt; &amp; co \u00b7 team=&lt;@U123&gt; \u00b7 key `a&lt;b&gt;/c&amp;d`");
  EXPECT_EQ(doc["text"], "apportion: 1 new alert (1 critical)");
}

TEST(Alerts, SlackLimits) {
  // 40 alerts with long texts and too many facts: at most 50 blocks, the rest summarised.
  std::vector<AlertEvent> events;
  for (int i = 0; i < 40; ++i) {
    AlertEvent e{std::to_string(i), i < 3 ? Severity::critical : Severity::warning, "anomaly", "r", {},
                 std::string(5000, '&') + "\u00e9", {}};
    for (int f = 0; f < 14; ++f) e.facts.emplace_back(std::to_string(f), std::string(3000, i % 2 ? 'x' : '<'));
    events.push_back(std::move(e));
  }
  const json doc = json::parse(alerts_to_slack(events));
  const json& blocks = doc["blocks"];
  ASSERT_LE(blocks.size(), 50u);
  EXPECT_EQ(blocks.size(), 50u);  // header, 16 alerts of 3 blocks, the summary
  EXPECT_LE(chars(blocks[0]["text"]["text"]), 150u);
  EXPECT_EQ(blocks[0]["type"], "header");
  const json& last = blocks.back();
  EXPECT_EQ(last["type"], "section");
  EXPECT_EQ(last["text"]["text"], "\u2026and 24 more (24 warning) not shown here");
  for (const json& b : blocks) {
    if (b["type"] == "section") {
      EXPECT_LE(chars(b["text"]["text"]), 3000u);
      if (b.contains("fields")) {
        EXPECT_LE(b["fields"].size(), 10u);
        for (const json& f : b["fields"]) EXPECT_LE(chars(f["text"]), 2000u);
      }
    }
    if (b["type"] == "context") {
      for (const json& el : b["elements"]) EXPECT_LE(chars(el["text"]), 2000u);
    }
  }
  // A cut text ends in an ellipsis and never in half an escape.
  const std::string title = blocks[2]["text"]["text"];
  EXPECT_NE(title.find("&amp;&amp;\u2026*"), std::string::npos);
  const std::string field = blocks[2]["fields"][0]["text"];
  EXPECT_EQ(field.substr(field.size() - 7), "&lt;\u2026");
}

TEST(Alerts, SlackExactlyFitting) {
  std::vector<AlertEvent> events(16);
  for (std::size_t i = 0; i < events.size(); ++i) events[i].key = std::to_string(i);
  EXPECT_EQ(json::parse(alerts_to_slack(events))["blocks"].size(), 49u);  // all 16 shown
  events.emplace_back();
  const json doc = json::parse(alerts_to_slack(events));
  EXPECT_EQ(doc["blocks"].size(), 50u);
  EXPECT_EQ(doc["blocks"].back()["text"]["text"], "\u2026and 1 more (1 info) not shown here");
}

TEST(Alerts, Formats) {
  EXPECT_EQ(parse_alert_format("text"), AlertFormat::text);
  EXPECT_EQ(parse_alert_format("json"), AlertFormat::json);
  EXPECT_EQ(parse_alert_format("slack"), AlertFormat::slack);
  EXPECT_THROW(parse_alert_format("html"), std::invalid_argument);
  EXPECT_EQ(to_string(AlertFormat::slack), "slack");
  const auto events = alert_events(sample());
  EXPECT_EQ(render_alerts(events, AlertFormat::text), alerts_to_text(events));
  EXPECT_EQ(render_alerts(events, AlertFormat::json), alerts_to_json(events));
  EXPECT_EQ(render_alerts(events, AlertFormat::slack), alerts_to_slack(events));
}

TEST(Alerts, State) {
  EXPECT_EQ(parse_alert_state("{\"fired\": [\"b\", \"a\"]}"), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(parse_alert_state("{\"fired\": []}"), std::vector<std::string>{});
  const auto message = [](std::string_view text) {
    try {
      parse_alert_state(text, "s.json");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("{"), "s.json: not valid JSON (expected {\"fired\": [alert keys]})");
  EXPECT_EQ(message("[]"), "s.json: must be a JSON object {\"fired\": [alert keys]}");
  EXPECT_EQ(message("{}"), "s.json: missing required key \"fired\"");
  EXPECT_EQ(message("{\"fired\": \"a\"}"), "s.json.fired: must be an array of alert keys");
  EXPECT_EQ(message("{\"fired\": [1]}"), "s.json.fired[0]: must be a string (an alert key)");
  EXPECT_EQ(message("{\"fired\": [], \"x\": 1}"), "s.json.x: unknown key (a state file holds only \"fired\")");
  EXPECT_EQ(alert_state_to_json({"b", "a", "b"}), "{\n  \"fired\": [\n    \"a\",\n    \"b\"\n  ]\n}\n");
  EXPECT_EQ(alert_state_to_json({}), "{\n  \"fired\": []\n}\n");
}

TEST(Alerts, AddFiredKeysCopiesTheGovernance) {
  Allocation a;
  add_fired_keys(a, {"x"});  // no governance: nothing to do
  EXPECT_EQ(a.governance, nullptr);
  auto g = std::make_shared<Governance>();
  g->already_fired = {"old"};
  a.governance = g;
  add_fired_keys(a, {"x", "y"});
  EXPECT_NE(a.governance.get(), g.get());
  EXPECT_EQ(g->already_fired, std::vector<std::string>{"old"});
  EXPECT_EQ(a.governance->already_fired, (std::vector<std::string>{"old", "x", "y"}));
}

}  // namespace
