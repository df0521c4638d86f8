// The HTML showback report (report.hpp): well-formed enough to count on, nothing fetched,
// user text escaped, every line's cost and every pool total shown, the conservation check
// visible, governance sections present, and the same bytes for the same result.

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"
#include "apportion/report.hpp"

namespace {

using namespace apportion;

Result result_of(const std::string& spec) { return run(allocation_from_json(spec)); }

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

std::size_t count_re(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// The text between the first occurrence of `from` and the next `to` after it.
std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const std::size_t a = text.find(from);
  if (a == std::string::npos) return {};
  const std::size_t b = text.find(to, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

// A split with overhead, idle and unallocated lines, a tag value that is HTML, a second
// step splitting a credit per token (unit costs), and priced runs.
const std::string kSpec = R"({"apportion": 1,
 "catalog": {"skus": [{"id": "gpu/x", "unit": "gpu_hour", "prices": [{"rate": "2.50"}]}]},
 "pools": [{"id": "cluster", "cost": "1234567.89"}, {"id": "credit", "cost": "-1500.00"}],
 "records": [
  {"pool": "cluster", "tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 4000}},
  {"pool": "cluster", "tags": {"namespace": "<b>&\"x'"}, "measures": {"gpu_seconds": 1000}},
  {"pool": "cluster", "tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 500}},
  {"pool": "cluster", "tags": {"app": "untagged"}, "measures": {"gpu_seconds": 700}},
  {"pool": "credit", "tags": {"team": "search", "model": "m1"}, "measures": {"tokens_prompt": 3000, "tokens_generation": 1000}},
  {"pool": "credit", "tags": {"team": "ads", "model": "m2"}, "measures": {"tokens_prompt": 1000}},
  {"tags": {"experiment": "ünï"}, "sku": "gpu/x", "count": 2, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T01:30:00Z"},
  {"tags": {"experiment": "e2"}, "sku": "gpu/x", "count": 10, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T01:00:00Z"}],
 "steps": [
  {"id": "teams", "strategy": "per_namespace", "pool": "cluster",
   "overhead": {"namespaces": ["kube-system"], "policy": "separate"}, "idle": {"capacity": 8000, "policy": "separate"}},
  {"id": "tok", "strategy": "per_token", "pool": "credit"},
  {"id": "runs", "strategy": "per_experiment"}]})";

// Every governance section: budgets with a forecast, anomalies, two dated reconciliations
// (a drift series), a scorecard and unit economics.
const std::string kGovernanceSpec = R"({"apportion": 1,
 "catalog": {"skus": [{"id": "gpu/x", "unit": "gpu_hour", "prices": [{"rate": "1.60"}]}]},
 "pools": [{"id": "node", "cost": "9000.00"}, {"id": "bill-may", "cost": "4400.00"}, {"id": "bill-june", "cost": "9300.00"}],
 "records": [
  {"pool": "node", "tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 6000}},
  {"pool": "node", "tags": {"namespace": "vision"}, "measures": {"gpu_seconds": 3000}},
  {"tags": {"experiment": "a"}, "sku": "gpu/x", "count": 1, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T10:00:00Z", "measures": {"epochs": 2}},
  {"tags": {"experiment": "b"}, "sku": "gpu/x", "count": 1, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T11:00:00Z", "measures": {"epochs": 2}},
  {"tags": {"experiment": "c"}, "sku": "gpu/x", "count": 1, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T09:00:00Z", "measures": {"epochs": 2}},
  {"tags": {"experiment": "huge"}, "sku": "gpu/x", "count": 40, "start": "2026-06-02T00:00:00Z", "end": "2026-06-04T00:00:00Z", "measures": {"epochs": 1}}],
 "steps": [
  {"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["namespace"], "weight": "gpu_seconds"},
  {"id": "training", "strategy": "per_experiment"}],
 "budgets": [
  {"id": "nlp-june", "tags": {"team": "nlp"}, "spend": {"step": "teams", "tags": {"namespace": "nlp"}}, "amount": "5000.00",
   "period": {"month": "2026-06"}, "as_of": "2026-06-16T00:00:00Z"},
  {"id": "vision-june", "spend": {"step": "teams", "tags": {"namespace": "vision"}}, "amount": "10000",
   "period": {"month": "2026-06"}}],
 "anomalies": [{"id": "big-runs", "lines": {"step": "training"}, "threshold": 5}],
 "reconcile": [
  {"id": "june", "estimate": {"step": "teams"}, "actual": {"pool": "bill-june"},
   "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}, "causes": [{"name": "tax", "amount": "200"}]},
  {"id": "may", "estimate": {"step": "teams", "tags": {"namespace": "vision"}}, "actual": {"pool": "bill-may"},
   "period": {"start": "2026-05-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}}],
 "scorecards": [{"id": "node", "baseline": {"step": "teams"}, "levers": [
  {"name": "spot", "saving": "0.3", "risk": "preemption"},
  {"name": "quantize", "model": "quantization", "parameters": {"throughput_gain": "2"}}]}],
 "unit_economics": [{"id": "runs", "lines": {"step": "training"}, "unit_precision": "0.01"}]})";

const char* const kElements[] = {"html",  "head",  "body", "header", "nav", "section", "table", "thead", "tbody",
                                 "tfoot", "tr",    "svg",  "g",      "title", "desc",  "p",     "ul",    "li",
                                 "dl",    "style", "text", "caption", "footer", "div", "strong", "span", "code"};

void expect_well_formed(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  for (const char* e : kElements) {
    const std::string name(e);
    EXPECT_EQ(count_re(html, "<" + name + "[ >]"), count(html, "</" + name + ">")) << "<" << name << "> unbalanced";
  }
  // Nothing fetched: no URL, no external reference of any kind; one inline script (the
  // table sorter), which loads nothing.
  EXPECT_EQ(count(html, "<script>"), 1u);
  EXPECT_EQ(count(html, "<script"), 1u);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(count_re(html, "<[a-z]+ [^>]*\\bon[a-z]+="), 0u) << "an event handler attribute";
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("sort(table, col"), std::string::npos);
}

TEST(Report, WellFormedAndSelfContained) {
  const Result result = result_of(kSpec);
  const std::string html = result_to_html(result);
  expect_well_formed(html);
  expect_well_formed(result_to_html(result_of(kGovernanceSpec)));
}

TEST(Report, EscapesUserText) {
  ReportOptions options;
  options.title = "Q2 <costs> & \"more\"";
  const std::string html = result_to_html(result_of(kSpec), options);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("x'"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;&amp;&quot;x&#39;"), std::string::npos);
  EXPECT_NE(html.find("<title>Q2 &lt;costs&gt; &amp; &quot;more&quot;</title>"), std::string::npos);
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(Report, WarningsAreShownFirst) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "5.00"}, {"id": "q", "cost": "1.00"}],
    "records": [{"tags": {"team": "a"}, "pool": "q", "measures": {"w": 1}}],
    "steps": [{"id": "s<1>", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "w"}]})";
  const std::string html = result_to_html(result_of(spec));
  expect_well_formed(html);
  const auto at = html.find("<div class=\"warnings\" role=\"alert\">\n<strong>Warnings</strong>\n<ul>\n<li>steps[0]: no record "
                            "takes part in step &quot;s&lt;1&gt;&quot; (every record names another pool)</li>");
  ASSERT_NE(at, std::string::npos) << html;
  EXPECT_LT(at, html.find("<section class=\"step\""));
  EXPECT_EQ(result_to_html(result_of(kSpec)).find("class=\"warnings\""), std::string::npos);
}

TEST(Report, EveryLineCostAndPoolTotalAppears) {
  const Result result = result_of(kSpec);
  const std::string html = result_to_html(result);
  for (const Line& l : result.lines) {
    const std::string cost = format_money(l.cost, result.currency, result.precision);
    EXPECT_NE(html.find("<td class=\"num\">" + cost + "</td>"), std::string::npos) << l.step << " " << cost;
  }
  for (const PoolCost& p : result.pools) {
    const std::string total = format_money(p.cost, result.currency, result.precision);
    EXPECT_NE(html.find("<tr><td>" + p.id + "</td><td class=\"num\">" + total + "</td></tr>"), std::string::npos);
    // The visible conservation check, for each step that splits the pool.
    EXPECT_NE(html.find("Lines sum to the pool: " + total + " = " + total + " &#10003;"), std::string::npos) << p.id;
  }
  EXPECT_NE(html.find("$1,234,567.89"), std::string::npos);
  EXPECT_EQ(html.find("&#10007;"), std::string::npos);
  EXPECT_NE(html.find("Priced runs, each line priced on its own: total $32.50"), std::string::npos);
}

TEST(Report, ChartsHaveABarPerLineInCostOrder) {
  const Result result = result_of(kSpec);
  const std::string html = result_to_html(result);
  for (std::size_t i = 0; i < result.steps.size(); ++i) {
    const std::string section = between(html, "<section class=\"step\" id=\"step-" + std::to_string(i + 1) + "\"", "</section>");
    ASSERT_FALSE(section.empty());
    const std::size_t lines = result.lines_of(result.steps[i]).size();
    EXPECT_EQ(count(section, "<rect class=\"bar "), lines) << result.steps[i];
    EXPECT_NE(section.find("data-bars=\"" + std::to_string(lines) + "\""), std::string::npos);
    EXPECT_NE(section.find("role=\"img\""), std::string::npos);
    EXPECT_EQ(count(section, "<tr class=\""), lines);
  }
  // Every kind is drawn in its own colour class and named in the legend.
  for (const char* kind : {"allocated", "overhead", "idle", "unallocated"}) {
    EXPECT_NE(html.find("<rect class=\"bar " + std::string(kind) + "\""), std::string::npos) << kind;
    EXPECT_NE(html.find("<span class=\"sw " + std::string(kind) + "\"></span>" + kind + ": "), std::string::npos) << kind;
  }
  // Rows are sorted by cost, largest first.
  const std::string teams = between(html, "<table class=\"lines\">", "</table>");
  std::vector<Decimal> costs;
  const std::regex cell("<td class=\"num\">\\$([0-9,.-]+)</td><td class=\"num\">");
  for (auto it = std::sregex_iterator(teams.begin(), teams.end(), cell); it != std::sregex_iterator(); ++it) {
    std::string digits = (*it)[1];
    digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
    costs.push_back(Decimal::parse(digits));
  }
  ASSERT_EQ(costs.size(), result.lines_of("teams").size() + 1);  // and the total
  costs.pop_back();
  EXPECT_TRUE(std::is_sorted(costs.rbegin(), costs.rend()));
}

TEST(Report, CreditsAreNegativeBarsFromZero) {
  const Result result = result_of(kSpec);
  const std::string html = result_to_html(result);
  const std::string tok = between(html, "<section class=\"step\" id=\"step-2\"", "</section>");
  EXPECT_NE(tok.find("class=\"bar allocated negative\""), std::string::npos);
  EXPECT_NE(tok.find(" credit</text>"), std::string::npos);
  EXPECT_NE(tok.find("-$1,500.00 = -$1,500.00 &#10003;"), std::string::npos);
  EXPECT_NE(tok.find("Unit costs per million tokens"), std::string::npos);
  EXPECT_NE(tok.find("credits (negative amounts)"), std::string::npos);
}

TEST(Report, CoverageAgainstTheChargebackLine) {
  const Result result = result_of(kSpec);
  const std::string html = result_to_html(result);
  ASSERT_FALSE(result.coverage.empty());
  for (const Coverage& c : result.coverage)
    EXPECT_NE(html.find("Tag coverage: <strong>" + format_places(c.ratio * 100, 2) + "%</strong>"), std::string::npos);
  EXPECT_NE(html.find("80% ready</text>"), std::string::npos);
}

TEST(Report, ManyLinesAreCappedWithTheRestSummed) {
  std::string records;
  for (int i = 0; i < 30; ++i)
    records += std::string(i ? "," : "") + R"({"tags": {"team": "t)" + std::to_string(i) + R"("}, "measures": {"gpu_seconds": )" +
               std::to_string(100 + i) + "}}";
  const Result result = result_of(R"({"apportion": 1, "pools": [{"id": "p", "cost": "1000"}], "records": [)" + records +
                                  R"(], "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"],
                                  "weight": "gpu_seconds"}]})");
  ReportOptions options;
  options.max_bars = 5;
  options.max_table_lines = 10;
  const std::string html = result_to_html(result, options);
  EXPECT_EQ(count(html, "<rect class=\"bar "), 6u);
  EXPECT_NE(html.find("<rect class=\"bar other\""), std::string::npos);
  EXPECT_NE(html.find("25 more lines"), std::string::npos);
  EXPECT_NE(html.find("20 more lines"), std::string::npos);
  EXPECT_NE(html.find("Lines sum to the pool: $1,000.00 = $1,000.00 &#10003;"), std::string::npos);
  expect_well_formed(html);
}

TEST(Report, LongLabelsAreCutInTheChartAndWholeInTheTooltipAndTable) {
  const std::string name = "a-very-long-namespace-name-\u00fcber-the-label-width-of-the-chart";
  const Result result = result_of(R"({"apportion": 1, "pools": [{"id": "p", "cost": "10"}], "records": [{"tags": {"team": ")" +
                                  name + R"("}, "measures": {"gpu_seconds": 1}}], "steps": [{"id": "s", "strategy":
                                  "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]})");
  const std::string html = result_to_html(result);
  EXPECT_NE(html.find(">a-very-long-namespace-name-\u00fcber-th\u2026</text>"), std::string::npos);
  EXPECT_NE(html.find("<title>team=" + name + " (allocated): $10.00</title>"), std::string::npos);
  EXPECT_NE(html.find("<td>" + name + "</td>"), std::string::npos);
}

TEST(Report, GovernanceSections) {
  const Result result = result_of(kGovernanceSpec);
  ASSERT_TRUE(result.governance);
  const std::string html = result_to_html(result);
  const std::string gov = between(html, "<section class=\"gov\" id=\"governance\">", "</section>");
  ASSERT_FALSE(gov.empty());
  const GovernanceReport& g = *result.governance;
  const auto money = [&](const Decimal& d) { return format_money(d, result.currency, result.precision); };
  // Budgets: a bar each, threshold ticks, the forecast marker where there is a forecast.
  EXPECT_EQ(count(gov, "<svg class=\"budget-bar\""), g.budgets.size());
  EXPECT_EQ(count(gov, "class=\"forecast\""), 1u);
  ASSERT_TRUE(g.budgets[0].forecast);
  EXPECT_NE(gov.find("forecast " + money(*g.budgets[0].forecast)), std::string::npos);
  EXPECT_NE(gov.find(money(g.budgets[0].spend) + " of " + money(g.budgets[0].amount)), std::string::npos);
  // Anomalies: the flagged line with its baseline and score.
  ASSERT_EQ(g.anomalies.size(), 1u);
  ASSERT_FALSE(g.anomalies[0].flagged.empty());
  const FlaggedLine& f = g.anomalies[0].flagged[0];
  EXPECT_NE(gov.find("<td>experiment=huge</td><td>allocated</td><td class=\"num\">" + money(f.cost) +
                     "</td><td class=\"num\">" + money(f.baseline) + "</td><td class=\"num\">" + format_places(f.score, 2)),
            std::string::npos);
  // Reconciliation: a drift series, oldest first, and each entry's numbers.
  const std::string drift = between(gov, "<table class=\"drift\">", "</table>");
  ASSERT_FALSE(drift.empty());
  EXPECT_LT(drift.find("2026-05-01 to 2026-06-01"), drift.find("2026-06-01 to 2026-07-01"));
  for (const ReconcileReport& r : g.reconcile) {
    EXPECT_NE(drift.find(money(r.difference)), std::string::npos);
    ASSERT_TRUE(r.drift);
    EXPECT_NE(drift.find(format_places(*r.drift * 100, 2) + "%"), std::string::npos);
    EXPECT_NE(gov.find("Trued-up lines sum to the actual: " + money(r.actual) + " = " + money(r.actual)), std::string::npos);
  }
  // Scorecard: levers, combined saving and what remains.
  ASSERT_EQ(g.scorecards.size(), 1u);
  EXPECT_NE(gov.find("combined saving</th><td class=\"num\">" + money(g.scorecards[0].combined)), std::string::npos);
  EXPECT_NE(gov.find("remaining cost</th><td class=\"num\">" + money(g.scorecards[0].remaining)), std::string::npos);
  // Unit economics: a column per unit present.
  EXPECT_NE(gov.find("<th class=\"num\">per run</th><th class=\"num\">per epoch</th><th class=\"num\">per GPU-hour</th>"),
            std::string::npos);
}

TEST(Report, Deterministic) {
  const std::string a = result_to_html(result_of(kGovernanceSpec));
  const std::string b = result_to_html(result_of(kGovernanceSpec));
  EXPECT_EQ(a, b);
  EXPECT_EQ(result_to_html(result_of(kSpec)), result_to_html(result_of(kSpec)));
  ReportOptions dated;
  dated.generated_at = "2026-06-30 18:00 UTC";
  const std::string c = result_to_html(result_of(kSpec), dated);
  EXPECT_NE(c.find("Generated 2026-06-30 18:00 UTC"), std::string::npos);
  EXPECT_EQ(result_to_html(result_of(kSpec)).find("Generated"), std::string::npos);
}

TEST(FormatMoney, SymbolsSeparatorsAndSigns) {
  const Decimal cent = Decimal::parse("0.01");
  EXPECT_EQ(format_money(Decimal::parse("1234.5"), Currency("USD"), cent), "$1,234.50");
  EXPECT_EQ(format_money(Decimal::parse("-12"), Currency("EUR"), cent), "-\u20ac12.00");
  EXPECT_EQ(format_money(Decimal::parse("1000000"), Currency("GBP"), cent), "\u00a31,000,000.00");
  EXPECT_EQ(format_money(Decimal::parse("1234.5"), Currency("JPY"), Decimal(1)), "\u00a51,234");  // half-even
  EXPECT_EQ(format_money(Decimal::parse("1000"), Currency("CHF"), cent), "CHF 1,000.00");
  EXPECT_EQ(format_money(Decimal::parse("-0.001"), Currency("USD"), cent), "$0.00");
  EXPECT_EQ(format_money(Decimal::parse("3.77515"), Currency("USD"), Decimal::parse("0.0001")), "$3.7752");
}

}  // namespace
