// The HTML showback report (report.hpp): one file, inline CSS and SVG, no script and no
// reference to anything outside it. Every coordinate is computed with exact rationals and
// printed with one fractional digit, so the bytes are the same on every platform.

#include "apportion/report.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>

#include "apportion/config.hpp"
#include "apportion/governance.hpp"
#include "apportion/render.hpp"
#include "render_util.hpp"

APPORTION_BEGIN_NAMESPACE

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string_view currency_symbol(std::string_view code) {
  if (code == "USD") return "$";
  if (code == "EUR") return "\u20ac";
  if (code == "GBP") return "\u00a3";
  if (code == "JPY") return "\u00a5";
  return {};
}

}  // namespace

std::string format_money(const Decimal& amount, const Currency& currency, const Decimal& unit) {
  std::string digits = group_thousands(format_amount(amount, unit));
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  const std::string_view symbol = currency_symbol(currency.code());
  std::string out = negative ? "-" : "";
  if (!symbol.empty()) return out.append(symbol).append(digits);
  return out.append(currency.code()).append(" ").append(digits);
}

namespace {

// ---- Small formats -----------------------------------------------------------------------

// An SVG coordinate: one fractional digit, exact and the same everywhere.
std::string coord(const Rational& value) { return format_places(value, 1); }
std::string coord(long long value) { return std::to_string(value); }

std::string_view kind_name(LineKind kind) { return to_string(kind); }

// What each kind means, for the legends.
std::string_view kind_meaning(LineKind kind) {
  switch (kind) {
    case LineKind::allocated: return "attributed to its tags";
    case LineKind::overhead: return "shared overhead spread over the others";
    case LineKind::idle: return "paid-for capacity nobody used";
    case LineKind::unallocated: return "usage without the tags to attribute it";
  }
  return "";
}

// "k=v, k=v" (canonical key order), or "(all)".
std::string line_label(const Tags& tags) { return tags.empty() ? "(all)" : tags_text(tags, ", "); }

// The values alone, for chart labels: "nlp", "search / llama-3-70b", or "(all)".
std::string tags_label(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : " / ") + v;
  return out.empty() ? "(all)" : out;
}

// At most `n` code points of UTF-8 text, with an ellipsis when cut.
std::string truncated(const std::string& text, std::size_t n) {
  std::size_t points = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (points == n) return text.substr(0, i) + "\u2026";
    ++points;
  }
  return text;
}

// "2026-06-01" for midnight, else "2026-06-01 08:30:00 UTC".
std::string when(const Instant& t) {
  std::string s = t.to_string();
  if (s.size() == 20 && s.compare(10, 10, "T00:00:00Z") == 0) return s.substr(0, 10);
  if (s.size() >= 20 && s[10] == 'T' && s.back() == 'Z') return s.substr(0, 10) + " " + s.substr(11, s.size() - 12) + " UTC";
  return s;
}

std::string period_text(const Interval& p) { return when(p.start()) + " to " + when(p.end()); }

// ---- The document ------------------------------------------------------------------------

constexpr const char* css = R"(
:root{--allocated:#3867b0;--overhead:#d99a1e;--idle:#98a2ad;--unallocated:#c7402f;--other:#5b6470;
--ok:#2e8540;--warn:#d99a1e;--crit:#c7402f;--ink:#1d232a;--muted:#5b6470;--rule:#d9dee3;--band:#f4f6f8}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff;max-width:1100px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;padding-top:12px;border-top:2px solid var(--rule)}
h3{font-size:15px;margin:20px 0 6px}
p{margin:6px 0}.muted{color:var(--muted)}
nav ul{margin:4px 0;padding-left:18px}nav li{display:inline;margin-right:14px}
a{color:var(--allocated)}
table{border-collapse:collapse;margin:8px 0 4px;min-width:360px}
caption{text-align:left;color:var(--muted);font-size:12px;padding-bottom:4px;caption-side:top;white-space:nowrap}
th,td{padding:3px 10px;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--rule);font-size:12px;color:var(--muted);font-weight:600}
table.lines thead th{cursor:pointer}
tfoot th,tfoot td{border-top:2px solid var(--rule);border-bottom:0;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.more td{color:var(--muted);font-style:italic}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.sw.allocated{background:var(--allocated)}.sw.overhead{background:var(--overhead)}.sw.idle{background:var(--idle)}
.sw.unallocated{background:var(--unallocated)}.sw.other{background:var(--other)}
ul.legend{list-style:none;padding:0;margin:2px 0 8px;font-size:12px;color:var(--muted)}
ul.legend li{display:inline-block;margin-right:18px}
svg{display:block;max-width:100%;height:auto}
svg text{font-size:12px;fill:var(--ink);font-family:inherit}
svg .bar.allocated{fill:var(--allocated)}svg .bar.overhead{fill:var(--overhead)}svg .bar.idle{fill:var(--idle)}
svg .bar.unallocated{fill:var(--unallocated)}svg .bar.other{fill:var(--other)}
svg .seg.s0,.sw.s0{fill:#3867b0;background:#3867b0}svg .seg.s1,.sw.s1{fill:#e08a2e;background:#e08a2e}
svg .seg.s2,.sw.s2{fill:#3a9d5d;background:#3a9d5d}svg .seg.s3,.sw.s3{fill:#b5446e;background:#b5446e}
svg .seg.s4,.sw.s4{fill:#7b5ea7;background:#7b5ea7}svg .seg.s5,.sw.s5{fill:#2a9bb0;background:#2a9bb0}
svg .seg.s6,.sw.s6{fill:#a0782c;background:#a0782c}svg .seg.s7,.sw.s7{fill:#5f6b7a;background:#5f6b7a}
svg .seg.overhead{fill:var(--overhead)}svg .seg.idle{fill:var(--idle)}svg .seg.unallocated{fill:var(--unallocated)}
svg .seg.other{fill:var(--other)}
svg .bar.negative{fill-opacity:.55;stroke:var(--ink);stroke-width:.8;stroke-dasharray:3 2}
svg .axis{stroke:var(--ink);stroke-width:1}svg .grid{stroke:var(--rule);stroke-width:1}
svg .track{fill:var(--band)}svg .fill.ok{fill:var(--ok)}svg .fill.warn{fill:var(--warn)}svg .fill.crit{fill:var(--crit)}
svg .tick{stroke:var(--ink);stroke-width:1.5}svg .target{stroke:var(--ink);stroke-width:2;stroke-dasharray:4 3}
svg .forecast{stroke:var(--crit);stroke-width:2;stroke-dasharray:5 3}svg .forecast-mark{fill:var(--crit)}
svg .small{font-size:11px;fill:var(--muted)}
.check{font-weight:600}.check.ok{color:var(--ok)}.check.bad{color:var(--crit)}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.info{background:var(--allocated)}.badge.warning{background:var(--warn)}.badge.critical{background:var(--crit)}
.badge.muted{background:var(--idle)}
section.step,section.statement,section.gov{page-break-inside:avoid}
.warnings{border-left:4px solid #b45309;background:#fffbeb;padding:.4em .8em;margin:1em 0}
footer{margin-top:36px;font-size:12px;color:var(--muted);border-top:1px solid var(--rule);padding-top:8px}
@media print{body{padding:0}a{color:inherit;text-decoration:none}nav{display:none}}
)";

// Sorts a table of lines by the column whose header is clicked (again: the other way). Amounts
// are compared as digit strings, never as binary floats. "#sort=N" or "#sort=N-desc" in the
// address sorts every such table on load. Without script (a mail reader) the rows stay in
// the order written: by cost, largest first.
constexpr std::string_view sorter = R"JS((function () {
  function parts(s) {
    var t = s.replace(/[^0-9.\-\u2212]/g, ""), neg = /^[-\u2212]/.test(t), p = t.replace(/[-\u2212]/g, "").split(".");
    return {neg: neg, i: p[0].replace(/^0+/, ""), f: (p[1] || "").replace(/0+$/, "")};
  }
  function cmpText(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
  function cmpNumber(a, b) {
    var x = parts(a), y = parts(b), zx = !x.i && !x.f, zy = !y.i && !y.f;
    var sx = zx ? 0 : x.neg ? -1 : 1, sy = zy ? 0 : y.neg ? -1 : 1;
    if (sx !== sy) return sx - sy;
    var c = x.i.length !== y.i.length ? x.i.length - y.i.length : cmpText(x.i, y.i) || cmpText(x.f, y.f);
    return sx < 0 ? -c : c;
  }
  function sort(table, col, desc) {
    var body = table.tBodies[0], more = body.querySelector("tr.more");
    var numeric = table.tHead.rows[0].cells[col].classList.contains("num");
    var rows = Array.prototype.filter.call(body.rows, function (r) { return r !== more; });
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent.trim(), y = b.cells[col].textContent.trim();
      var c = numeric ? cmpNumber(x, y) : cmpText(x, y);
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.insertBefore(r, more); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      if (i === col) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }
  var tables = document.querySelectorAll("table.lines");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener("click", function () { sort(table, col, th.getAttribute("aria-sort") === "ascending"); });
    });
  });
  var m = /^#sort=(\d+)(-desc)?$/.exec(location.hash);
  if (m) Array.prototype.forEach.call(tables, function (t) { sort(t, Number(m[1]), !!m[2]); });
})();)JS";

class Report {
 public:
  Report(const Result& result, const ReportOptions& options)
      : r_(result), o_(options), unit_(result.precision), currency_(result.currency) {}

  std::string render() {
    const std::string title = html_escape(o_.title);
    out_ += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // Nothing may be fetched, whatever the data holds: no scripts but the page's own inline
    // sorter, no images but inline data, no fonts, no connections.
    out_ += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; img-src data:\">\n";
    out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out_ += "<meta name=\"generator\" content=\"apportion " APPORTION_VERSION_STRING "\">\n";
    out_ += "<title>" + title + "</title>\n<style>" + std::string(css) + "</style>\n</head>\n<body>\n";
    header(title);
    const std::vector<std::string> steps = step_ids();
    for (std::size_t i = 0; i < steps.size(); ++i) step(steps[i], i + 1);
    for (std::size_t i = 0; i < r_.statements.size(); ++i) statement(r_.statements[i], i + 1);
    if (r_.governance) governance(*r_.governance);
    out_ += "<footer>Made by apportion " APPORTION_VERSION_STRING
            " from one attribution result: exact decimal amounts rounded to the precision, every split step&#39;s "
            "lines summing exactly to its pool. This page holds everything it shows and fetches nothing.</footer>\n";
    out_ += "<script>" + std::string(sorter) + "</script>\n</body>\n</html>\n";
    return std::move(out_);
  }

 private:
  std::string money(const Decimal& d) const { return html_escape(format_money(d, currency_, unit_)); }
  std::string money(const Decimal& d, const Decimal& unit) const { return html_escape(format_money(d, currency_, unit)); }
  std::string money(const Rational& r) const { return money(Decimal::from_rational(r, unit_)); }

  std::string currency_text() const {
    const std::string code(currency_.code());
    const std::string_view symbol = currency_symbol(code);
    return symbol.empty() ? code : code + " (" + std::string(symbol) + ")";
  }

  std::vector<std::string> step_ids() const {
    std::vector<std::string> steps = r_.steps;
    for (const Line& l : r_.lines)
      if (std::find(steps.begin(), steps.end(), l.step) == steps.end()) steps.push_back(l.step);
    return steps;
  }

  // ---- Header ----------------------------------------------------------------------------

  void header(const std::string& title) {
    out_ += "<header>\n<h1>" + title + "</h1>\n";
    if (o_.generated_at) out_ += "<p class=\"muted\">Generated " + html_escape(*o_.generated_at) + "</p>\n";
    out_ += "<dl class=\"facts\">\n<dt>Currency</dt><dd>" + html_escape(currency_text()) + "</dd>\n";
    out_ += "<dt>Precision</dt><dd>" + html_escape(unit_.to_fixed(unit_.fractional_digits())) +
            " (every amount is rounded half-even to it)</dd>\n";
    out_ += "<dt>Steps</dt><dd>" + std::to_string(step_ids().size()) + "</dd>\n";
    out_ += "<dt>Lines</dt><dd>" + std::to_string(r_.lines.size()) + "</dd>\n</dl>\n";
    warnings();
    if (!r_.pools.empty()) {
      out_ += "<table class=\"pools\">\n<caption>Pools: the amounts the steps split</caption>\n";
      out_ += "<thead><tr><th>pool</th><th class=\"num\">total</th></tr></thead>\n<tbody>\n";
      for (const PoolCost& p : r_.pools)
        out_ += "<tr><td>" + html_escape(p.id) + "</td><td class=\"num\">" + money(p.cost) + "</td></tr>\n";
      out_ += "</tbody>\n</table>\n";
    }
    if (!r_.fx_used.empty()) {
      out_ += "<table class=\"fx\">\n<caption>Exchange rates used</caption>\n<thead><tr><th>from</th><th>to</th>"
              "<th class=\"num\">rate</th><th>date</th><th>source</th></tr></thead>\n<tbody>\n";
      for (const FxRate& f : r_.fx_used)
        out_ += "<tr><td>" + html_escape(f.from.code()) + "</td><td>" + html_escape(f.to.code()) + "</td><td class=\"num\">" +
                html_escape(f.rate_text.empty() ? f.rate.to_string() : f.rate_text) + "</td><td>" + html_escape(f.date) +
                "</td><td>" + html_escape(f.source) + "</td></tr>\n";
      out_ += "</tbody>\n</table>\n";
    }
    const std::vector<std::string> steps = step_ids();
    out_ += "<nav><ul>\n";
    for (std::size_t i = 0; i < steps.size(); ++i)
      out_ += "<li><a href=\"#step-" + std::to_string(i + 1) + "\">Step " + html_escape(steps[i]) + "</a></li>\n";
    for (std::size_t i = 0; i < r_.statements.size(); ++i)
      out_ += "<li><a href=\"#statement-" + std::to_string(i + 1) + "\">Statement " + html_escape(r_.statements[i].id) +
              "</a></li>\n";
    if (r_.governance) out_ += "<li><a href=\"#governance\">Governance</a></li>\n";
    out_ += "</ul></nav>\n</header>\n";
  }

  // What ran but looks wrong, where a reader sees it first.
  void warnings() {
    std::vector<std::string> items;
    for (const InputSummary& in : r_.inputs) items.insert(items.end(), in.warnings.begin(), in.warnings.end());
    items.insert(items.end(), r_.warnings.begin(), r_.warnings.end());
    if (items.empty()) return;
    out_ += "<div class=\"warnings\" role=\"alert\">\n<strong>Warnings</strong>\n<ul>\n";
    for (const std::string& w : items) out_ += "<li>" + html_escape(w) + "</li>\n";
    out_ += "</ul>\n</div>\n";
  }

  // ---- Steps -----------------------------------------------------------------------------

  void step(const std::string& id, std::size_t index) {
    const std::vector<const Line*> in_order = r_.lines_of(id);
    std::vector<const Line*> lines = in_order;
    // Largest cost first; ties keep the result's order, so the page is deterministic.
    std::stable_sort(lines.begin(), lines.end(), [](const Line* a, const Line* b) { return a->cost > b->cost; });
    Decimal total;
    for (const Line* l : lines) total += l->cost;
    std::vector<std::string> pools;
    for (const Line* l : in_order)
      if (l->pool && std::find(pools.begin(), pools.end(), *l->pool) == pools.end()) pools.push_back(*l->pool);

    const std::string n = std::to_string(index);
    out_ += "<section class=\"step\" id=\"step-" + n + "\" data-step=\"" + html_escape(id) + "\">\n<h2>Step " +
            html_escape(id);
    if (pools.size() == 1) out_ += ": pool " + html_escape(pools[0]);
    out_ += "</h2>\n";
    if (lines.empty()) {
      out_ += "<p class=\"muted\">This step has no lines.</p>\n</section>\n";
      return;
    }
    if (!r_.series.empty()) {
      // Over time: one bar per bucket, stacked by group (idle and unallocated in their own).
      std::vector<TimeGroup> groups;
      std::map<std::pair<LineKind, Tags>, std::size_t> index;
      for (const Line* l : in_order) {
        const auto [it, added] = index.try_emplace({l->kind, l->tags}, groups.size());
        if (added) {
          std::string label = tags_label(l->tags);
          if (l->kind != LineKind::allocated) label += " (" + std::string(kind_name(l->kind)) + ")";
          groups.push_back({truncated(label, 40), l->kind, std::vector<Decimal>(r_.series.size())});
        }
        groups[it->second].costs[bucket_index(*l->bucket)] += l->cost;
      }
      time_chart("series-" + n, "Cost by " + std::string(r_.series.size() > 1 ? "bucket" : "the bucket") + ", step " + html_escape(id),
                 std::move(groups));
    }
    chart(id, n, lines);
    table(lines, total);
    sum_check(in_order, pools, total);
    for (const Coverage& c : r_.coverage)
      if (c.step == id) coverage(c);
    unit_costs(id);
    out_ += "</section>\n";
  }

  // A horizontal bar per line, from zero (credits go left of the axis), largest first; past
  // max_bars the rest are one "other" bar.
  void chart(const std::string& step, const std::string& n, const std::vector<const Line*>& lines) {
    struct Bar {
      std::string label, full, cls, kind_text;
      Decimal cost;
    };
    std::vector<Bar> bars;
    const std::size_t shown = std::min(lines.size(), std::max<std::size_t>(o_.max_bars, 1));
    std::set<LineKind> kinds;
    for (std::size_t i = 0; i < shown; ++i) {
      const Line* l = lines[i];
      kinds.insert(l->kind);
      std::string label = tags_label(l->tags);
      if (l->kind != LineKind::allocated) label += " (" + std::string(kind_name(l->kind)) + ")";
      if (l->bucket) label = when(l->bucket->start()) + " " + label;  // a line of a series: which bucket
      bars.push_back({truncated(label, 34), line_label(l->tags), std::string(kind_name(l->kind)),
                      std::string(kind_name(l->kind)), l->cost});
    }
    const bool other = shown < lines.size();
    if (other) {
      Decimal rest;
      for (std::size_t i = shown; i < lines.size(); ++i) rest += lines[i]->cost;
      const std::string label = std::to_string(lines.size() - shown) + " more lines";
      bars.push_back({label, label, "other", "several kinds", rest});
    }
    Decimal lo, hi;
    for (const Bar& b : bars) {
      lo = std::min(lo, b.cost);
      hi = std::max(hi, b.cost);
    }
    const Rational span = hi == lo ? Rational(1) : (hi - lo).to_rational();
    const long long x0 = 240, width = 380, row = 24, top = 6;
    const Rational zero = Rational(x0) + (-lo).to_rational() / span * width;
    const long long height = top + row * static_cast<long long>(bars.size()) + 8;

    chart_open("chart-" + n, height, bars.size(), "Cost by line, step " + html_escape(step),
               " horizontal bars, largest cost first, coloured by kind: allocated, overhead, idle, unallocated" +
                   std::string(other ? ", and the remaining lines together" : "") + ".",
               lo.signum() < 0 ? std::optional<Rational>(zero) : std::nullopt);
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const Bar& b = bars[i];
      const long long y = top + row * static_cast<long long>(i);
      const Rational length = b.cost.abs().to_rational() / span * width;
      const Rational x = b.cost.signum() < 0 ? zero - length : zero;
      const std::string amount = money(b.cost);
      out_ += "<g><title>" + html_escape(b.full) + " (" + html_escape(b.kind_text) + "): " + amount +
              (b.cost.signum() < 0 ? ", a credit" : "") + "</title>";
      out_ += "<text x=\"" + coord(x0 - 8) + "\" y=\"" + coord(y + 14) + "\" text-anchor=\"end\">" +
              html_escape(b.label) + "</text>";
      out_ += "<rect class=\"bar " + b.cls + (b.cost.signum() < 0 ? " negative" : "") + "\" x=\"" + coord(x) +
              "\" y=\"" + coord(y + 3) + "\" width=\"" + coord(length) + "\" height=\"15\"/>";
      out_ += "<text x=\"752\" y=\"" + coord(y + 14) + "\" text-anchor=\"end\">" + amount +
              (b.cost.signum() < 0 ? " credit" : "") + "</text></g>\n";
    }
    chart_legend(kinds, other ? "lines" : nullptr, lo.signum() < 0);
  }

  struct TimeGroup {
    std::string label;
    LineKind kind;
    std::vector<Decimal> costs;  // per bucket
    std::string cls{};           // its colour: s0..s7 for allocated groups, else its kind's or "other"
  };

  std::size_t bucket_index(const Interval& bucket) const {
    const auto b = std::find_if(r_.series.begin(), r_.series.end(), [&](const BucketPools& x) { return x.bucket == bucket; });
    return static_cast<std::size_t>(b - r_.series.begin());
  }

  // A vertical bar per bucket of the series, stacked by group, largest groups at the
  // bottom: each group of allocated lines in a colour of its own, overhead, idle and
  // unallocated lines in their kind's. Past the palette's colours the smaller groups are one
  // "other" segment. Credits (negative amounts) are not drawn; the table below has them.
  void time_chart(const std::string& id, const std::string& title, std::vector<TimeGroup> groups) {
    constexpr std::size_t palette = 8;
    const std::size_t buckets = r_.series.size();
    const auto total_of = [](const TimeGroup& g) {
      Decimal t;
      for (const Decimal& c : g.costs) t += c;
      return t;
    };
    std::stable_sort(groups.begin(), groups.end(), [&](const TimeGroup& a, const TimeGroup& b) { return total_of(a) > total_of(b); });
    // Allocated groups past the palette go together.
    std::vector<TimeGroup> drawn;
    std::optional<TimeGroup> other;
    std::size_t coloured = 0;
    for (TimeGroup& g : groups) {
      if (g.kind != LineKind::allocated || coloured < palette) {
        g.cls = g.kind == LineKind::allocated ? "s" + std::to_string(coloured++) : std::string(kind_name(g.kind));
        drawn.push_back(std::move(g));
        continue;
      }
      if (!other) other = TimeGroup{"other groups", LineKind::allocated, std::vector<Decimal>(buckets), "other"};
      for (std::size_t b = 0; b < buckets; ++b) other->costs[b] += g.costs[b];
    }
    if (other) drawn.push_back(std::move(*other));
    Decimal highest;
    std::vector<Decimal> heights(buckets);
    for (std::size_t b = 0; b < buckets; ++b) {
      for (const TimeGroup& g : drawn)
        if (g.costs[b].signum() > 0) heights[b] += g.costs[b];
      highest = std::max(highest, heights[b]);
    }
    const long long left = 70, plot = 670, top = 10, height = 220, base = top + height;
    const Rational scale = highest.is_zero() ? Rational(0) : Rational(height) / highest.to_rational();
    const Rational slot = Rational(plot) / static_cast<long long>(buckets);
    const Rational bar = slot * Rational(7, 10);
    out_ += "<svg class=\"chart series\" viewBox=\"0 0 760 " + coord(base + 34) + "\" width=\"760\" height=\"" +
            coord(base + 34) + "\" role=\"img\" aria-labelledby=\"" + id + "-title " + id + "-desc\" data-buckets=\"" +
            std::to_string(buckets) + "\" data-scale=\"" + format_places(scale, 9) + "\">\n";
    out_ += "<title id=\"" + id + "-title\">" + title + "</title>\n";
    out_ += "<desc id=\"" + id + "-desc\">" + std::to_string(buckets) +
            " vertical bars, one per bucket from the first to the last, each stacked by group, the largest groups at the "
            "bottom.</desc>\n";
    out_ += "<line class=\"axis\" x1=\"" + coord(left) + "\" y1=\"" + coord(base) + "\" x2=\"" + coord(left + plot) +
            "\" y2=\"" + coord(base) + "\"/>\n";
    out_ += "<text class=\"small\" x=\"" + coord(left - 6) + "\" y=\"" + coord(top + 10) + "\" text-anchor=\"end\">" +
            money(highest) + "</text>\n";
    const std::size_t label_every = std::max<std::size_t>(1, (buckets + 9) / 10);
    for (std::size_t b = 0; b < buckets; ++b) {
      const Interval& bucket = r_.series[b].bucket;
      const Rational x = Rational(left) + slot * static_cast<long long>(b) + (slot - bar) / 2;
      Decimal amount;
      for (const TimeGroup& g : drawn) amount += g.costs[b];
      out_ += "<g class=\"bucket\" data-bucket=\"" + bucket.start().to_string() + "\" data-cost=\"" +
              format_amount(amount, unit_) + "\"><title>" + html_escape(when(bucket.start())) + ": " + money(amount) +
              "</title>";
      Rational y = base;
      for (std::size_t g = 0; g < drawn.size(); ++g) {
        const Decimal& c = drawn[g].costs[b];
        if (c.signum() <= 0) continue;
        const Rational h = c.to_rational() * scale;
        y -= h;
        out_ += "<rect class=\"seg " + drawn[g].cls + "\" data-cost=\"" + format_amount(c, unit_) + "\" x=\"" + coord(x) +
                "\" y=\"" + coord(y) + "\" width=\"" + coord(bar) + "\" height=\"" + coord(h) + "\"><title>" +
                html_escape(drawn[g].label) + ": " + money(c) + "</title></rect>";
      }
      if (b % label_every == 0)
        out_ += "<text class=\"small\" x=\"" + coord(x + bar / 2) + "\" y=\"" + coord(base + 14) +
                "\" text-anchor=\"middle\">" + html_escape(bucket.start().to_string().substr(5, r_.series.front().bucket.length() <
                                                                                                 std::chrono::hours(24) ? 11 : 5)) +
                "</text>";
      out_ += "</g>\n";
    }
    out_ += "</svg>\n<ul class=\"legend\">";
    for (std::size_t g = 0; g < drawn.size(); ++g) {
      out_ += "<li><span class=\"sw " + drawn[g].cls + "\"></span>" + html_escape(drawn[g].label) + "</li>";
    }
    out_ += "</ul>\n";
    // The table by bucket beside the chart: each bucket's amount and its largest group.
    out_ += "<table class=\"buckets\">\n<caption>By bucket</caption>\n<thead><tr><th>bucket</th><th class=\"num\">cost (" +
            html_escape(std::string(currency_.code())) + ")</th><th>largest</th></tr></thead>\n<tbody>\n";
    for (std::size_t b = 0; b < buckets; ++b) {
      Decimal amount;
      const TimeGroup* largest = nullptr;
      for (const TimeGroup& g : drawn) {
        amount += g.costs[b];
        if (!largest || g.costs[b] > largest->costs[b]) largest = &g;
      }
      out_ += "<tr><td>" + html_escape(period_text(r_.series[b].bucket)) + "</td><td class=\"num\">" + money(amount) +
              "</td><td>" + (largest && !largest->costs[b].is_zero() ? html_escape(largest->label) + " " + money(largest->costs[b]) : "") +
              "</td></tr>\n";
    }
    out_ += "</tbody>\n</table>\n";
  }

  // A bar chart's opening: its svg, with a title and a description for screen readers, and
  // the zero axis when some bar is a credit.
  void chart_open(const std::string& id, long long height, std::size_t bars, const std::string& title,
                  const std::string& description, std::optional<Rational> axis) {
    out_ += "<svg class=\"chart\" viewBox=\"0 0 760 " + coord(height) + "\" width=\"760\" height=\"" + coord(height) +
            "\" role=\"img\" aria-labelledby=\"" + id + "-title " + id + "-desc\" data-bars=\"" + std::to_string(bars) +
            "\">\n";
    out_ += "<title id=\"" + id + "-title\">" + title + "</title>\n";
    out_ += "<desc id=\"" + id + "-desc\">" + std::to_string(bars) + description + "</desc>\n";
    if (axis)
      out_ += "<line class=\"axis\" x1=\"" + coord(*axis) + "\" y1=\"0\" x2=\"" + coord(*axis) + "\" y2=\"" +
              coord(height) + "\"/>\n";
  }

  // A bar chart's close and legend: each kind drawn, the bar of the smaller `other` ("lines",
  // "rows") together, and credits.
  void chart_legend(const std::set<LineKind>& kinds, const char* other, bool credits) {
    out_ += "</svg>\n<ul class=\"legend\">";
    for (const LineKind k : {LineKind::allocated, LineKind::overhead, LineKind::idle, LineKind::unallocated})
      if (kinds.contains(k))
        out_ += "<li><span class=\"sw " + std::string(kind_name(k)) + "\"></span>" + std::string(kind_name(k)) +
                ": " + std::string(kind_meaning(k)) + "</li>";
    if (other) out_ += "<li><span class=\"sw other\"></span>other: the smaller " + std::string(other) + " together</li>";
    if (credits) out_ += "<li>dashed bars left of the axis: credits (negative amounts)</li>";
    out_ += "</ul>\n";
  }

  void table(const std::vector<const Line*>& lines, const Decimal& total) {
    std::set<std::string> key_set, pools;
    for (const Line* l : lines) {
      for (const auto& [k, v] : l->tags) key_set.insert(k);
      if (l->pool) pools.insert(*l->pool);
    }
    const bool fleet = pools.size() > 1;  // a step over a fleet: which pool each line is of
    const bool buckets = !r_.series.empty();
    const std::size_t label_columns = 1 + (fleet ? 1 : 0) + (buckets ? 1 : 0) + key_set.size();
    const std::size_t shown = std::min(lines.size(), std::max<std::size_t>(o_.max_table_lines, 1));
    const std::string code(currency_.code());
    out_ += "<table class=\"lines\">\n<caption>Lines by cost, largest first; click a heading to sort (every line: "
            "<code>apportion run SPEC --format csv</code>)</caption>\n<thead><tr>" +
            std::string(buckets ? "<th>bucket</th>" : "") + std::string(fleet ? "<th>pool</th>" : "") + "<th>kind</th>";
    for (const std::string& k : key_set) out_ += "<th>" + html_escape(k) + "</th>";
    out_ += "<th class=\"num\">cost (" + html_escape(code) + ")</th><th class=\"num\">cost share</th></tr></thead>\n<tbody>\n";
    const auto share = [&](const Decimal& cost) {
      return total.is_zero() ? std::string("&#8212;") : format_percent_of(cost, total);
    };
    for (std::size_t i = 0; i < shown; ++i) {
      const Line* l = lines[i];
      const std::string kind(kind_name(l->kind));
      out_ += "<tr class=\"" + kind + "\">" +
              (buckets && l->bucket ? "<td>" + html_escape(when(l->bucket->start())) + "</td>" : std::string(buckets ? "<td></td>" : "")) +
              (fleet ? "<td>" + html_escape(l->pool.value_or("")) + "</td>" : std::string()) +
              "<td><span class=\"sw " + kind + "\"></span>" + kind + "</td>";
      for (const std::string& k : key_set) out_ += "<td>" + html_escape(l->tags.get(k).value_or("")) + "</td>";
      out_ += "<td class=\"num\">" + money(l->cost) + "</td><td class=\"num\">" + share(l->cost) + "</td></tr>\n";
    }
    if (shown < lines.size()) {
      Decimal rest;
      for (std::size_t i = shown; i < lines.size(); ++i) rest += lines[i]->cost;
      out_ += "<tr class=\"more\"><td colspan=\"" + std::to_string(label_columns) + "\">" +
              std::to_string(lines.size() - shown) + " more lines</td><td class=\"num\">" + money(rest) +
              "</td><td class=\"num\">" + share(rest) + "</td></tr>\n";
    }
    out_ += "</tbody>\n<tfoot><tr><th colspan=\"" + std::to_string(label_columns) +
            "\">total</th><td class=\"num\">" + money(total) + "</td><td class=\"num\">" +
            (total.is_zero() ? std::string("&#8212;") : std::string("100.00%")) + "</td></tr></tfoot>\n</table>\n";
  }

  // ---- Statements ------------------------------------------------------------------------

  // What each group pays in all: a bar per row, largest first, stacked by what the row is
  // made of (by kind, with the overhead and idle its lines took in; credits left of zero),
  // then the rows as a table and
  // the check that they add up to the bill.
  void statement(const Statement& st, std::size_t index) {
    static constexpr LineKind kinds[] = {LineKind::allocated, LineKind::overhead, LineKind::idle, LineKind::unallocated};
    struct Bar {
      std::string label, full;
      Decimal cost;
      std::array<Decimal, 4> by_kind{};  // in the order of `kinds`
    };
    std::vector<Bar> rows;
    for (const StatementRow& row : st.rows) {
      Bar b;
      std::string values;
      for (const std::string& k : st.group_by) values += (values.empty() ? "" : " / ") + std::string(*row.tags.get(k));
      b.label = truncated(values, 34);
      b.full = line_label(row.tags);
      b.cost = row.cost;
      b.by_kind = row.made_of;
      rows.push_back(std::move(b));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Bar& a, const Bar& b) { return a.cost > b.cost; });
    const std::size_t shown = std::min(rows.size(), std::max<std::size_t>(o_.max_bars, 1));
    std::vector<Bar> bars(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(shown));
    if (shown < rows.size()) {
      Bar other{std::to_string(rows.size() - shown) + " more rows", "", {}, {}};
      other.full = other.label;
      for (std::size_t i = shown; i < rows.size(); ++i) {
        other.cost += rows[i].cost;
        for (std::size_t k = 0; k < 4; ++k) other.by_kind[k] += rows[i].by_kind[k];
      }
      bars.push_back(std::move(other));
    }
    // Positive parts stack right of zero, credits left of it.
    Decimal lo, hi;
    std::set<LineKind> present;
    for (const Bar& b : bars) {
      Decimal pos, neg;
      for (std::size_t k = 0; k < 4; ++k) {
        (b.by_kind[k].signum() < 0 ? neg : pos) += b.by_kind[k];
        if (!b.by_kind[k].is_zero()) present.insert(kinds[k]);
      }
      hi = std::max(hi, pos);
      lo = std::min(lo, neg);
    }
    const Rational span = hi == lo ? Rational(1) : (hi - lo).to_rational();
    const long long x0 = 240, width = 380, row_height = 24, top = 6;
    const Rational zero = Rational(x0) + (-lo).to_rational() / span * width;
    const long long height = top + row_height * static_cast<long long>(bars.size()) + 8;
    const std::string n = std::to_string(index);

    out_ += "<section class=\"statement\" id=\"statement-" + n + "\" data-statement=\"" + html_escape(st.id) +
            "\">\n<h2>Statement " + html_escape(st.id) + ": what each " + html_escape(render_detail::key_list(st.group_by)) +
            " pays in all</h2>\n";
    if (!r_.series.empty()) {
      std::vector<TimeGroup> groups;
      for (const StatementRow& row : st.rows) {
        std::string values;
        for (const std::string& k : st.group_by) values += (values.empty() ? "" : " / ") + std::string(*row.tags.get(k));
        groups.push_back({truncated(values, 40), row.kind, row.buckets});
      }
      time_chart("statement-series-" + n, "Cost by bucket, statement " + html_escape(st.id), std::move(groups));
    }
    chart_open("statement-" + n, height, bars.size(),
               "Cost by " + html_escape(render_detail::key_list(st.group_by)) + ", statement " + html_escape(st.id),
               " horizontal bars, largest cost first, each stacked by kind: allocated, overhead, idle, unallocated.",
               lo.signum() < 0 ? std::optional<Rational>(zero) : std::nullopt);
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const Bar& b = bars[i];
      const long long y = top + row_height * static_cast<long long>(i);
      out_ += "<g class=\"row\" data-cost=\"" + format_amount(b.cost, unit_) + "\"><title>" + html_escape(b.full) + ": " +
              money(b.cost) + "</title>";
      out_ += "<text x=\"" + coord(x0 - 8) + "\" y=\"" + coord(y + 14) + "\" text-anchor=\"end\">" + html_escape(b.label) +
              "</text>";
      Rational right = zero, left = zero;
      for (std::size_t k = 0; k < 4; ++k) {
        const Decimal& part = b.by_kind[k];
        if (part.is_zero()) continue;
        const Rational length = part.abs().to_rational() / span * width;
        Rational x;
        if (part.signum() < 0) {
          left -= length;
          x = left;
        } else {
          x = right;
          right += length;
        }
        const std::string kind(kind_name(kinds[k]));
        out_ += "<rect class=\"bar " + (i >= shown ? std::string("other") : kind) +
                (part.signum() < 0 ? " negative" : "") + "\" data-kind=\"" + kind + "\" data-cost=\"" +
                format_amount(part, unit_) + "\" x=\"" + coord(x) + "\" y=\"" + coord(y + 3) + "\" width=\"" +
                coord(length) + "\" height=\"15\"><title>" + kind + ": " + money(part) + "</title></rect>";
      }
      out_ += "<text x=\"752\" y=\"" + coord(y + 14) + "\" text-anchor=\"end\">" + money(b.cost) + "</text></g>\n";
    }
    chart_legend(present, shown < rows.size() ? "rows" : nullptr, lo.signum() < 0);

    const std::string code(currency_.code());
    out_ += "<table class=\"lines statement\">\n<caption>Rows by cost, largest first; click a heading to sort (every "
            "part: <code>apportion run SPEC</code>, <code>statements[].rows[].parts</code>)</caption>\n<thead><tr>";
    for (const std::string& k : st.group_by) out_ += "<th>" + html_escape(k) + "</th>";
    out_ += "<th class=\"num\">cost (" + html_escape(code) + ")</th><th class=\"num\">share</th>";
    for (const LineKind k : kinds)
      if (present.contains(k)) out_ += "<th class=\"num\">" + std::string(kind_name(k)) + "</th>";
    out_ += "<th class=\"num\">parts</th></tr></thead>\n<tbody>\n";
    std::vector<const StatementRow*> by_cost;
    for (const StatementRow& row : st.rows) by_cost.push_back(&row);
    std::stable_sort(by_cost.begin(), by_cost.end(), [](const StatementRow* a, const StatementRow* b) { return a->cost > b->cost; });
    for (const StatementRow* row : by_cost) {
      out_ += "<tr>";
      for (const std::string& k : st.group_by) out_ += "<td>" + html_escape(*row->tags.get(k)) + "</td>";
      out_ += "<td class=\"num\">" + money(row->cost) + "</td><td class=\"num\">" +
              (st.total.is_zero() ? std::string("&#8212;") : format_percent_of(row->cost, st.total)) +
              "</td>";
      for (std::size_t k = 0; k < 4; ++k)
        if (present.contains(kinds[k])) out_ += "<td class=\"num\">" + money(row->made_of[k]) + "</td>";
      out_ += "<td class=\"num\">" + std::to_string(row->parts.size()) + "</td></tr>\n";
    }
    out_ += "</tbody>\n<tfoot><tr><th colspan=\"" + std::to_string(st.group_by.size()) + "\">total</th><td class=\"num\">" +
            money(st.total) + "</td><td class=\"num\">" + (st.total.is_zero() ? std::string("&#8212;") : std::string("100.00%")) +
            "</td><td colspan=\"" + std::to_string(present.size() + 1) + "\"></td></tr></tfoot>\n</table>\n";
    Decimal sum;
    for (const StatementRow& row : st.rows) sum += row.cost;
    // The total is the bill, the pools not drawn from lines: building the statement checks it.
    const bool ok = sum == st.total;
    out_ += "<p class=\"check " + std::string(ok ? "ok" : "bad") + "\">Rows sum to the total: " + money(sum) +
            (ok ? " = " : " &#8800; ") + money(st.total) + (ok ? " &#10003;" : " &#10007;") +
            ", the bill (the pools not drawn from other lines)</p>\n</section>\n";
  }

  // The visible conservation check: the lines of each pool against the pool's total.
  void sum_check(const std::vector<const Line*>& lines, const std::vector<std::string>& pools, const Decimal& total) {
    if (pools.empty()) {
      out_ += "<p class=\"check\">Priced runs, each line priced on its own: total " + money(total) + "</p>\n";
      return;
    }
    for (const std::string& pool : pools) {
      Decimal sum;
      for (const Line* l : lines)
        if (l->pool == pool) sum += l->cost;
      const auto it = std::find_if(r_.pools.begin(), r_.pools.end(), [&](const PoolCost& p) { return p.id == pool; });
      if (it == r_.pools.end()) {
        out_ += "<p class=\"check\">Lines of pool " + html_escape(pool) + ": " + money(sum) + "</p>\n";
        continue;
      }
      const bool ok = sum == it->cost;
      out_ += "<p class=\"check " + std::string(ok ? "ok" : "bad") + "\">Lines sum to the pool" +
              (pools.size() > 1 ? " " + html_escape(pool) : std::string()) + ": " + money(sum) +
              (ok ? " = " : " &#8800; ") + money(it->cost) + (ok ? " &#10003;" : " &#10007;") + "</p>\n";
    }
  }

  // Tag coverage against the 80% chargeback-readiness line.
  void coverage(const Coverage& c) {
    const Rational ready(4, 5);
    const bool ok = c.ratio >= ready;
    Rational drawn = c.ratio;
    if (drawn < 0) drawn = 0;
    if (drawn > 1) drawn = 1;
    const long long x0 = 10, width = 400;
    const std::string text = format_percent(c.ratio);
    out_ += "<div class=\"coverage\">\n<p>Tag coverage: <strong>" + text + "</strong> of the pool attributed (not on the unallocated line), " +
            (ok ? std::string("<span class=\"badge ok\">chargeback-ready</span> (at least 80%)")
                : std::string("<span class=\"badge warning\">below 80%</span>: tag more usage before charging back")) +
            "</p>\n";
    out_ += "<svg class=\"coverage-bar\" viewBox=\"0 0 430 40\" width=\"430\" height=\"40\" role=\"img\"><title>Tag "
            "coverage " +
            text + " against the 80% chargeback-readiness line</title>";
    out_ += "<rect class=\"track\" x=\"" + coord(x0) + "\" y=\"6\" width=\"" + coord(width) + "\" height=\"14\"/>";
    out_ += "<rect class=\"fill " + std::string(ok ? "ok" : "warn") + "\" x=\"" + coord(x0) + "\" y=\"6\" width=\"" +
            coord(drawn * width) + "\" height=\"14\"/>";
    const Rational mark = Rational(x0) + ready * width;
    out_ += "<line class=\"target\" x1=\"" + coord(mark) + "\" y1=\"2\" x2=\"" + coord(mark) + "\" y2=\"24\"/>";
    out_ += "<text class=\"small\" x=\"" + coord(mark) + "\" y=\"36\" text-anchor=\"middle\">80% ready</text>";
    out_ += "<text class=\"small\" x=\"" + coord(x0) + "\" y=\"36\">0%</text>";
    out_ += "<text class=\"small\" x=\"" + coord(x0 + width) + "\" y=\"36\" text-anchor=\"end\">100%</text></svg>\n</div>\n";
  }

  void unit_costs(const std::string& step) {
    std::vector<const UnitCost*> units;
    std::vector<std::string> names;
    for (const UnitCost& u : r_.unit_costs) {
      if (u.step != step) continue;
      units.push_back(&u);
      for (const auto& [name, rate] : u.per_million)
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    if (units.empty()) return;
    out_ += "<table class=\"unit-costs\">\n<caption>Unit costs per million tokens</caption>\n<thead><tr><th>tags</th>";
    for (const std::string& name : names) out_ += "<th class=\"num\">" + html_escape(name) + "</th>";
    out_ += "</tr></thead>\n<tbody>\n";
    for (const UnitCost* u : units) {
      out_ += "<tr><td>" + html_escape(line_label(u->tags)) + "</td>";
      for (const std::string& name : names) {
        const auto it = std::find_if(u->per_million.begin(), u->per_million.end(),
                                     [&](const auto& p) { return p.first == name; });
        out_ += "<td class=\"num\">" + (it == u->per_million.end() ? std::string() : money(it->second, u->unit_precision)) +
                "</td>";
      }
      out_ += "</tr>\n";
    }
    out_ += "</tbody>\n</table>\n";
  }

  // ---- Governance ------------------------------------------------------------------------

  void governance(const GovernanceReport& g) {
    out_ += "<section class=\"gov\" id=\"governance\">\n<h2>Governance</h2>\n";
    if (!g.budgets.empty()) {
      out_ += "<h3>Budgets</h3>\n<p class=\"muted\">Spend against each budget; ticks mark the alert thresholds, the "
              "dashed red line the forecast (linear run rate to the period&#39;s end).</p>\n";
      for (const BudgetStatus& b : g.budgets) budget(b);
    }
    for (const AnomalyReport& a : g.anomalies) anomalies(a);
    reconciliation(g.reconcile);
    for (const ScorecardReport& s : g.scorecards) scorecard(s);
    for (const UnitEconomicsReport& u : g.unit_economics) economics(u);
    out_ += "</section>\n";
  }

  static std::string severity_class(const BudgetStatus& b) {
    if (b.ratio >= 1) return "crit";
    if (b.ratio >= Rational(4, 5)) return "warn";
    return "ok";
  }

  void budget(const BudgetStatus& b) {
    // The scale reaches the largest of the amount x the largest threshold, the spend and
    // the forecast, so every tick and marker is on it.
    Rational top = b.amount.to_rational();
    top = std::max(top, b.spend.to_rational());
    if (b.forecast) top = std::max(top, b.forecast->to_rational());
    // A tick for every threshold of the budget.
    const std::vector<WrittenDecimal>& ticks = b.thresholds;
    for (const WrittenDecimal& t : ticks) top = std::max(top, b.amount.to_rational() * t.value.to_rational());
    if (top <= 0) top = 1;
    const long long x0 = 10, width = 700;
    const auto at = [&](const Rational& v) {
      Rational x = v / top;
      if (x < 0) x = 0;
      return Rational(x0) + x * width;
    };
    const std::string cls = severity_class(b);
    out_ += "<div class=\"budget\">\n<p><strong>" + html_escape(b.id) + "</strong>";
    if (!b.tags.empty()) out_ += " <span class=\"muted\">" + html_escape(line_label(b.tags)) + "</span>";
    out_ += " &#8212; " + money(b.spend) + " of " + money(b.amount) + " (" + format_percent(b.ratio) + ")";
    for (const BudgetAlert& a : b.alerts)
      out_ += " <span class=\"badge " + std::string(to_string(a.severity)) + "\">" + html_escape(a.threshold.text) +
              " " + std::string(to_string(a.severity)) + "</span>";
    out_ += "</p>\n";
    out_ += "<svg class=\"budget-bar\" viewBox=\"0 0 760 46\" width=\"760\" height=\"46\" role=\"img\"><title>Budget " +
            html_escape(b.id) + ": spend " + money(b.spend) + " of " + money(b.amount) + " (" + format_percent(b.ratio) + ")" +
            (b.forecast ? ", forecast " + money(*b.forecast) : std::string()) + "</title>";
    out_ += "<rect class=\"track\" x=\"" + coord(x0) + "\" y=\"10\" width=\"" + coord(width) + "\" height=\"16\"/>";
    out_ += "<rect class=\"fill " + cls + "\" x=\"" + coord(x0) + "\" y=\"10\" width=\"" +
            coord(at(b.spend.to_rational()) - x0) + "\" height=\"16\"/>";
    // The budget itself, and each threshold tick with its label.
    const Rational full = at(b.amount.to_rational());
    out_ += "<line class=\"tick\" x1=\"" + coord(full) + "\" y1=\"4\" x2=\"" + coord(full) + "\" y2=\"32\"/>";
    out_ += "<text class=\"small\" x=\"" + coord(full) + "\" y=\"43\" text-anchor=\"middle\">budget</text>";
    for (const WrittenDecimal& t : ticks) {
      if (t.value == Decimal(1)) continue;
      const Rational x = at(b.amount.to_rational() * t.value.to_rational());
      out_ += "<line class=\"grid\" x1=\"" + coord(x) + "\" y1=\"6\" x2=\"" + coord(x) + "\" y2=\"30\"/>";
      out_ += "<text class=\"small\" x=\"" + coord(x) + "\" y=\"43\" text-anchor=\"middle\">" +
              format_threshold(t.value) + "</text>";
    }
    if (b.forecast) {
      const Rational x = at(b.forecast->to_rational());
      out_ += "<line class=\"forecast\" x1=\"" + coord(x) + "\" y1=\"2\" x2=\"" + coord(x) + "\" y2=\"34\"/>";
      out_ += "<path class=\"forecast-mark\" d=\"M" + coord(x - 5) + " 0 L" + coord(x + 5) + " 0 L" + coord(x) +
              " 7 Z\"/>";
    }
    out_ += "</svg>\n<p class=\"muted\">Period " + period_text(b.period);
    if (b.as_of) out_ += ", as of " + when(*b.as_of);
    if (b.forecast) out_ += "; forecast " + money(*b.forecast) + " at the period&#39;s end";
    out_ += "; crossed: ";
    if (b.crossed.empty()) out_ += "none";
    for (std::size_t i = 0; i < b.crossed.size(); ++i)
      out_ += (i ? ", " : "") + format_threshold(b.crossed[i].value);
    if (!b.alerts.empty() || !b.crossed.empty())
      out_ += b.alerts.empty() ? "; no new alerts" : "; new alerts: " + std::to_string(b.alerts.size());
    out_ += "</p>\n</div>\n";
  }

  void anomalies(const AnomalyReport& a) {
    out_ += "<h3>Anomalies: " + html_escape(a.id) + "</h3>\n<p>" + std::string(to_string(a.method)) + " score &#8805; " +
            html_escape(a.threshold.text) + " over " + std::to_string(a.lines) + " lines; baseline (median) " +
            (a.median ? money(*a.median) : std::string("none"));
    if (a.mad) out_ += ", MAD " + format_places(*a.mad, 6);
    out_ += "</p>\n";
    if (a.flagged.empty()) {
      out_ += "<p class=\"muted\">Nothing flagged.</p>\n";
      return;
    }
    out_ += "<table class=\"anomalies\">\n<thead><tr><th>line</th><th>kind</th><th class=\"num\">cost</th><th "
            "class=\"num\">baseline</th><th class=\"num\">score</th><th>alert</th></tr></thead>\n<tbody>\n";
    for (const FlaggedLine& f : a.flagged)
      out_ += "<tr><td>" + html_escape(line_label(f.tags)) + "</td><td>" + std::string(kind_name(f.kind)) +
              "</td><td class=\"num\">" + money(f.cost) + "</td><td class=\"num\">" + money(f.baseline) +
              "</td><td class=\"num\">" + format_places(f.score, 2) + "</td><td>" +
              (f.alert ? "<span class=\"badge warning\">new</span>" : "<span class=\"badge muted\">fired before</span>") +
              "</td></tr>\n";
    out_ += "</tbody>\n</table>\n";
  }

  void reconciliation(const std::vector<ReconcileReport>& entries) {
    if (entries.empty()) return;
    out_ += "<h3>Reconciliation</h3>\n";
    // Dated entries: the drift over time, oldest first.
    std::vector<const ReconcileReport*> dated;
    for (const ReconcileReport& r : entries)
      if (r.period) dated.push_back(&r);
    std::stable_sort(dated.begin(), dated.end(), [](const ReconcileReport* a, const ReconcileReport* b) {
      return a->period->start() < b->period->start();
    });
    if (dated.size() > 1) {
      Rational widest = 0;
      for (const ReconcileReport* r : dated)
        if (r->drift) widest = std::max(widest, r->drift->sign() < 0 ? Rational(-*r->drift) : *r->drift);
      if (widest == 0) widest = 1;
      out_ += "<table class=\"drift\">\n<caption>Drift over time: (actual &#8722; estimate) / estimate</caption>\n"
              "<thead><tr><th>period</th><th>entry</th><th class=\"num\">estimate</th><th class=\"num\">actual</th>"
              "<th class=\"num\">difference</th><th class=\"num\">drift</th><th></th></tr></thead>\n<tbody>\n";
      for (const ReconcileReport* r : dated) {
        out_ += "<tr><td>" + period_text(*r->period) + "</td><td>" + html_escape(r->id) + "</td><td class=\"num\">" +
                money(r->estimate) + "</td><td class=\"num\">" + money(r->actual) + "</td><td class=\"num\">" +
                money(r->difference) + "</td><td class=\"num\">" + (r->drift ? format_percent(*r->drift) : "&#8212;") +
                "</td><td>";
        if (r->drift) {
          const Rational half = 60;
          const Rational length = (r->drift->sign() < 0 ? Rational(-*r->drift) : *r->drift) / widest * half;
          const Rational x = r->drift->sign() < 0 ? half - length : half;
          out_ += "<svg viewBox=\"0 0 120 14\" width=\"120\" height=\"14\" role=\"img\"><title>drift " +
                  format_percent(*r->drift) + "</title><line class=\"axis\" x1=\"60\" y1=\"0\" x2=\"60\" y2=\"14\"/><rect "
                  "class=\"fill " +
                  std::string(r->drift->sign() > 0 ? "crit" : "ok") + "\" x=\"" + coord(x) + "\" y=\"3\" width=\"" +
                  coord(length) + "\" height=\"8\"/></svg>";
        }
        out_ += "</td></tr>\n";
      }
      out_ += "</tbody>\n</table>\n";
    }
    for (const ReconcileReport& r : entries) {
      out_ += "<h3>Reconcile " + html_escape(r.id) + "</h3>\n<dl class=\"facts\">\n";
      if (r.period) out_ += "<dt>Period</dt><dd>" + period_text(*r.period) + "</dd>\n";
      out_ += "<dt>Estimate</dt><dd>" + money(r.estimate) + "</dd>\n<dt>Actual (billed)</dt><dd>" + money(r.actual) +
              "</dd>\n<dt>Difference</dt><dd>" + money(r.difference) + "</dd>\n<dt>Drift</dt><dd>" +
              (r.drift ? format_percent(*r.drift) : std::string("&#8212; (zero estimate)")) + "</dd>\n</dl>\n";
      if (!r.causes.empty()) {
        out_ += "<table class=\"causes\">\n<caption>Causes of the difference (they sum to it)</caption>\n<thead><tr>"
                "<th>cause</th><th class=\"num\">amount</th></tr></thead>\n<tbody>\n";
        for (const CauseAmount& c : r.causes)
          out_ += "<tr><td>" + html_escape(c.name) + "</td><td class=\"num\">" + money(c.amount) + "</td></tr>\n";
        out_ += "</tbody>\n<tfoot><tr><th>difference</th><td class=\"num\">" + money(r.difference) +
                "</td></tr></tfoot>\n</table>\n";
      }
      out_ += "<table class=\"reconciled\">\n<caption>Lines trued up to the bill</caption>\n<thead><tr><th>kind</th>"
              "<th>line</th><th class=\"num\">cost</th><th class=\"num\">true-up</th></tr></thead>\n<tbody>\n";
      Decimal sum;
      for (const ReconciledLine& l : r.lines) {
        sum += l.cost;
        out_ += "<tr><td><span class=\"sw " + std::string(kind_name(l.kind)) + "\"></span>" +
                std::string(kind_name(l.kind)) + "</td><td>" + html_escape(line_label(l.tags)) + "</td><td class=\"num\">" +
                money(l.cost) + "</td><td class=\"num\">" + money(l.true_up) + "</td></tr>\n";
      }
      out_ += "</tbody>\n</table>\n";
      if (!r.lines.empty()) {
        const bool ok = sum == r.actual;
        out_ += "<p class=\"check " + std::string(ok ? "ok" : "bad") + "\">Trued-up lines sum to the actual: " +
                money(sum) + (ok ? " = " : " &#8800; ") + money(r.actual) + (ok ? " &#10003;" : " &#10007;") + "</p>\n";
      }
    }
  }

  void scorecard(const ScorecardReport& s) {
    static const char* palette[] = {"#2e8540", "#3867b0", "#8e5bb5", "#d99a1e", "#17a2b8", "#c7402f"};
    out_ += "<h3>Scorecard: " + html_escape(s.id) + "</h3>\n<p>Baseline " + money(s.baseline) + "; levers together save " +
            money(s.combined) + ", leaving " + money(s.remaining) + ".</p>\n";
    // The baseline as one bar: each lever's incremental saving, then what remains.
    const long long x0 = 10, width = 700;
    if (s.baseline.signum() > 0) {
      out_ += "<svg class=\"scorecard-bar\" viewBox=\"0 0 760 30\" width=\"760\" height=\"30\" role=\"img\"><title>"
              "Baseline " +
              money(s.baseline) + ": savings by lever and the remaining cost</title>";
      Rational x = x0;
      const Rational base = s.baseline.to_rational();
      for (std::size_t i = 0; i < s.levers.size(); ++i) {
        const LeverResult& l = s.levers[i];
        if (l.incremental.signum() <= 0) continue;
        const Rational w = l.incremental.to_rational() / base * width;
        out_ += "<rect x=\"" + coord(x) + "\" y=\"4\" width=\"" + coord(w) + "\" height=\"20\" fill=\"" +
                palette[i % 6] + "\"><title>" + html_escape(l.name) + ": " + money(l.incremental) + "</title></rect>";
        x += w;
      }
      if (s.remaining.signum() > 0)
        out_ += "<rect class=\"track\" x=\"" + coord(x) + "\" y=\"4\" width=\"" +
                coord(s.remaining.to_rational() / base * width) + "\" height=\"20\"><title>remaining: " +
                money(s.remaining) + "</title></rect>";
      out_ += "</svg>\n<ul class=\"legend\">";
      for (std::size_t i = 0; i < s.levers.size(); ++i)
        if (s.levers[i].incremental.signum() > 0)
          out_ += "<li><span class=\"sw\" style=\"background:" + std::string(palette[i % 6]) + "\"></span>" +
                  html_escape(s.levers[i].name) + " " + money(s.levers[i].incremental) + "</li>";
      out_ += "<li><span class=\"sw\" style=\"background:var(--band);outline:1px solid var(--rule)\"></span>remaining " +
              money(s.remaining) + "</li></ul>\n";
    }
    out_ += "<table class=\"scorecard\">\n<thead><tr><th>lever</th><th class=\"num\">saving</th><th "
            "class=\"num\">standalone</th><th class=\"num\">incremental</th><th>risk</th><th>assumptions</th></tr>"
            "</thead>\n<tbody>\n";
    for (std::size_t i = 0; i < s.levers.size(); ++i) {
      const LeverResult& l = s.levers[i];
      out_ += "<tr><td><span class=\"sw\" style=\"background:" + std::string(palette[i % 6]) + "\"></span>" +
              html_escape(l.name);
      if (!l.formula.empty()) out_ += "<br><span class=\"muted\">" + html_escape(l.formula) + "</span>";
      out_ += "</td><td class=\"num\">" + format_percent(l.saving) + "</td><td class=\"num\">" + money(l.standalone) +
              "</td><td class=\"num\">" + money(l.incremental) + "</td><td>" + html_escape(l.risk) + "</td><td>" +
              html_escape(l.assumptions) + "</td></tr>\n";
    }
    out_ += "</tbody>\n<tfoot><tr><th colspan=\"3\">combined saving</th><td class=\"num\">" + money(s.combined) +
            "</td><td colspan=\"2\"></td></tr>\n<tr><th colspan=\"3\">remaining cost</th><td class=\"num\">" +
            money(s.remaining) + "</td><td colspan=\"2\"></td></tr></tfoot>\n</table>\n";
  }

  void economics(const UnitEconomicsReport& u) {
    static const std::vector<std::pair<std::string, std::string>> units{
        {"inference", "per inference"}, {"thousand_requests", "per 1k requests"}, {"million_tokens", "per 1M tokens"},
        {"run", "per run"}, {"epoch", "per epoch"}, {"gpu_hour", "per GPU-hour"}, {"gpu_hour_used", "per GPU-hour used"}};
    std::vector<std::pair<std::string, std::string>> present;
    for (const auto& unit : units)
      if (std::any_of(u.lines.begin(), u.lines.end(), [&](const LineEconomics& l) {
            return std::any_of(l.per.begin(), l.per.end(), [&](const auto& p) { return p.first == unit.first; });
          }))
        present.push_back(unit);
    out_ += "<h3>Unit economics: " + html_escape(u.id) + "</h3>\n<table class=\"economics\">\n<caption>Step " +
            html_escape(u.step) + "; rates rounded to " + html_escape(u.unit_precision.to_string()) +
            "</caption>\n<thead><tr><th>line</th><th class=\"num\">cost</th>";
    for (const auto& p : present) out_ += "<th class=\"num\">" + p.second + "</th>";
    out_ += "</tr></thead>\n<tbody>\n";
    for (const LineEconomics& l : u.lines) {
      const std::string bucket = l.bucket ? l.bucket->start().to_string() + " " : "";
      out_ += "<tr><td>" + html_escape(bucket + line_label(l.tags)) + "</td><td class=\"num\">" + money(l.cost) + "</td>";
      for (const auto& p : present) {
        const auto it = std::find_if(l.per.begin(), l.per.end(), [&](const auto& x) { return x.first == p.first; });
        out_ += "<td class=\"num\">" + (it == l.per.end() ? std::string() : money(it->second, u.unit_precision)) + "</td>";
      }
      out_ += "</tr>\n";
    }
    out_ += "</tbody>\n</table>\n";
  }

  const Result& r_;
  const ReportOptions& o_;
  Decimal unit_;
  Currency currency_;
  std::string out_;
};

}  // namespace

std::string result_to_html(const Result& result, const ReportOptions& options) { return Report(result, options).render(); }

APPORTION_END_NAMESPACE
