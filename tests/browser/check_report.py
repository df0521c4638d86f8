#!/usr/bin/python3
"""The HTML report in a real browser: Debian's chromium, headless.

    check_report.py APPORTION_BIN SPEC.json [SPEC.json ...]

For each spec: `APPORTION_BIN report SPEC --output F --title T` writes the report and
`APPORTION_BIN run SPEC` the result document it is checked against. Chromium then loads
the report once and
  1. dumps the DOM: the title, one section per step with one bar (<rect class="bar ...">)
     per line (up to the report's 20, then one "other" bar), every line's cost and the
     pool totals in the text, the "lines sum to the pool: X = X" check, and one script
     (the inline table sorter);
  2. logs its console: any message at all is a failure (a blocked fetch, a CSP
     violation, a script error);
  3. screenshots it (1280x2000): the PNG, decoded here with zlib, must hold the colour of
     the allocated bars and many distinct colours, not a blank page.
A page known to log a console message is loaded first, to prove the log is read. The
first report is loaded once more with "#sort=1" in its address: the sorter must have
ordered the first table of lines by its second column, ascending.

Exit status 0 when every check passes, 1 when one fails, 77 (skipped) when chromium is
missing, unless APPORTION_REQUIRE_CHROMIUM=1 (then 1). APPORTION_CHROMIUM names the
browser binary. Standard library only.
"""

import decimal
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77
TITLE = "Browser check <&> report"
SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5"}
MAX_BARS = 20  # ReportOptions::max_bars, the default the command line uses
ALLOCATED_RGB = (0x38, 0x67, 0xB0)  # --allocated in the report's CSS
FAILURES = []


def check(ok, what):
    if not ok:
        FAILURES.append(what)
        print("FAIL: " + what, flush=True)
    return ok


def find_chromium():
    named = os.environ.get("APPORTION_CHROMIUM")
    if named:
        return shutil.which(named) or (named if os.access(named, os.X_OK) else None)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(browser, profile, args, url, timeout=60):
    """Runs headless chromium on `url`; returns (stdout bytes, stderr text)."""
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--disable-extensions", "--disable-background-networking", "--disable-dev-shm-usage", "--disable-sync",
           "--mute-audio", "--user-data-dir=" + profile] + args + [url]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, "chromium ran past %d s on %s" % (timeout, url))
        return b"", ""
    return proc.stdout, proc.stderr.decode("utf-8", "replace")


def console_lines(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def money(amount, currency):
    """format_money: the symbol (or the code and a space), thousands separators."""
    negative = amount.startswith("-")
    digits = amount[1:] if negative else amount
    whole, dot, fraction = digits.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ",".join(groups) + dot + fraction
    symbol = SYMBOLS.get(currency)
    return ("-" if negative else "") + (symbol + text if symbol else currency + " " + text)


class Dom(html.parser.HTMLParser):
    """What the checks read from the dumped DOM: title, text, step sections and bars."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = None
        self.in_title = False
        self.depth = 0  # of <svg>: a title inside one is the chart's
        self.text = []
        self.steps = []  # [step id, bar count, data-bars]
        self.statements = []  # [statement id, data-bars, [[row data-cost, [segment data-costs]], ...]]
        self.in_statement = False
        self.scripts = 0
        self.section_depth = 0
        # Charts over time (a series): [section ("step"/"statement", id), data-buckets, data-scale,
        # [[data-bucket, data-cost, [(segment data-cost, height)]], ...]]
        self.time_charts = []
        self.section = None
        self.in_time_chart = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.depth += 1
            self.in_time_chart = a.get("class") == "chart series"
            if self.in_time_chart:
                self.time_charts.append([self.section, int(a.get("data-buckets", "-1")), decimal.Decimal(a.get("data-scale", "0")), []])
        if self.in_time_chart and tag == "g" and a.get("class") == "bucket":
            self.time_charts[-1][3].append([a.get("data-bucket"), a.get("data-cost"), []])
        if self.in_time_chart and tag == "rect" and (a.get("class") or "").split()[:1] == ["seg"] and self.time_charts[-1][3]:
            self.time_charts[-1][3][-1][2].append((a.get("data-cost"), decimal.Decimal(a.get("height", "0"))))
        if tag == "svg" and self.in_statement and a.get("class") == "chart":
            self.statements[-1][1] = int(a.get("data-bars", "-1"))
        elif tag == "svg" and self.steps and a.get("class") == "chart":
            self.steps[-1][2] = int(a.get("data-bars", "-1"))
        if tag == "title" and self.depth == 0:
            self.in_title = True
        if tag == "section":
            self.in_statement = a.get("class") == "statement"
            self.section = (a.get("class"), a.get("data-step") or a.get("data-statement"))
        if tag == "section" and a.get("class") == "step":
            self.steps.append([a.get("data-step"), 0, None])
        if tag == "section" and a.get("class") == "gov":
            self.steps.append([None, 0, None])  # bars after the steps are not theirs
        if tag == "section" and a.get("class") == "statement":
            self.statements.append([a.get("data-statement"), None, []])
        if self.in_statement:
            if tag == "g" and a.get("class") == "row":
                self.statements[-1][2].append([a.get("data-cost"), []])
            if tag == "rect" and (a.get("class") or "").split()[:1] == ["bar"] and self.statements[-1][2]:
                self.statements[-1][2][-1][1].append(a.get("data-cost"))
        elif tag == "rect" and (a.get("class") or "").split()[:1] == ["bar"] and self.steps:
            self.steps[-1][1] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth -= 1
            self.in_time_chart = False
        if tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title = (self.title or "") + data
        self.text.append(data)


# ---- PNG -----------------------------------------------------------------------------------

def png_pixels(data, max_rows):
    """The first `max_rows` rows of an 8-bit RGB or RGBA PNG as a list of byte rows."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError("unsupported PNG (depth %d, colour type %d, interlace %d)" % (depth, colour, interlace))
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompressobj().decompress(b"".join(idat), (stride + 1) * min(height, max_rows))
    rows, prev = [], bytearray(stride)
    for y in range(min(height, max_rows, len(raw) // (stride + 1))):
        kind = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif kind == 2:
            cur = bytearray((c + p) & 0xFF for c, p in zip(cur, prev))
        elif kind == 3:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(cur))
        prev = cur
    return width, height, bpp, rows


def colours(rows, bpp):
    seen = set()
    for row in rows:
        for x in range(0, len(row), bpp * 2):  # every other pixel is plenty
            seen.add(row[x:x + 3])
    return seen


# ---- The checks ------------------------------------------------------------------------------

def check_spec(binary, browser, work, spec, index):
    name = os.path.basename(spec)
    out = os.path.join(work, "report-%d.html" % index)
    proc = subprocess.run([binary, "report", spec, "--output", out, "--title", TITLE],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if not check(proc.returncode == 0, "%s: apportion report exited %d: %s" % (name, proc.returncode,
                                                                             proc.stderr.decode(errors="replace"))):
        return
    proc = subprocess.run([binary, "run", spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if not check(proc.returncode == 0, "%s: apportion run exited %d" % (name, proc.returncode)):
        return
    result = json.loads(proc.stdout)
    url = "file://" + os.path.abspath(out)

    # One chromium run: the DOM it built, a screenshot, and the console log.
    png = os.path.join(work, "report-%d.png" % index)
    stdout, stderr = chromium(browser, os.path.join(work, "profile-%d" % index),
                              ["--enable-logging=stderr", "--v=0", "--dump-dom", "--screenshot=" + png,
                               "--window-size=1280,2000"], url)
    check(not console_lines(stderr), "%s: console messages:\n  %s" % (name, "\n  ".join(console_lines(stderr))))
    dom = Dom()
    dom.feed(stdout.decode("utf-8"))
    text = re.sub(r"\s+", " ", "".join(dom.text))
    check(dom.title == TITLE, "%s: title %r, expected %r" % (name, dom.title, TITLE))
    check(dom.scripts == 1, "%s: %d <script> elements, expected the one sorter" % (name, dom.scripts))
    currency = result["currency"]
    steps = []
    for line in result["lines"]:
        if line["step"] not in steps:
            steps.append(line["step"])
    drawn = {s[0]: s for s in dom.steps if s[0] is not None}
    for step in steps:
        lines = [l for l in result["lines"] if l["step"] == step]
        bars = min(len(lines), MAX_BARS) + (1 if len(lines) > MAX_BARS else 0)
        got = drawn.get(step)
        if check(got is not None, "%s: no section for step %s" % (name, step)):
            check(got[1] == bars, "%s: step %s has %d bars, expected %d" % (name, step, got[1], bars))
            check(got[2] == bars, "%s: step %s chart says data-bars=%r, expected %d" % (name, step, got[2], bars))
        for l in lines:
            cost = money(l["cost"], currency)
            check(cost in text, "%s: step %s: the cost %s of %s is not on the page" % (name, step, cost, l["tags"]))
    for pool in result["pools"]:
        total = money(pool["cost"], currency)
        check(total in text, "%s: the pool total %s of %s is not on the page" % (name, total, pool["id"]))
        if any(l.get("pool") == pool["id"] for l in result["lines"]):
            check("Lines sum to the pool: %s = %s \u2713" % (total, total) in text,
                  "%s: no 'Lines sum to the pool: %s = %s' check" % (name, total, total))
    for c in result.get("coverage", []):
        # The document's 6 places, to the report's 2 (the report rounds the exact ratio).
        pct = str((decimal.Decimal(c["ratio"]) * 100).quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_EVEN)) + "%"
        check("Tag coverage: " + pct in text, "%s: coverage %s of step %s not shown" % (name, pct, c["step"]))
    # A series: per step and per statement, a bar per bucket stacked by group; each bar's
    # segments add up to the bucket's amount, in their figures and in their drawn heights.
    series = result.get("series", [])
    if series:
        charts = {c[0]: c for c in dom.time_charts}
        wanted = [("step", step, {b["start"]: sum(decimal.Decimal(l["cost"]) for l in result["lines"]
                                                  if l["step"] == step and l["bucket"]["start"] == b["start"]) for b in series})
                  for step in steps]
        for st in result.get("statements", []):
            wanted.append(("statement", st["id"], {b["start"]: sum(decimal.Decimal(r["buckets"][i]["cost"]) for r in st["rows"])
                                                   for i, b in enumerate(series)}))
        for kind, ident, amounts in wanted:
            got = charts.get((kind, ident))
            if not check(got is not None, "%s: no chart over time for %s %s" % (name, kind, ident)):
                continue
            check(got[1] == len(series) == len(got[3]),
                  "%s: %s %s: %d bucket bars (data-buckets=%r), expected %d" % (name, kind, ident, len(got[3]), got[1], len(series)))
            for start, cost, segments in got[3]:
                check(decimal.Decimal(cost) == amounts.get(start),
                      "%s: %s %s: the bar of %s is %s, its lines %s" % (name, kind, ident, start, cost, amounts.get(start)))
                total = sum(decimal.Decimal(c) for c, h in segments)
                check(total == decimal.Decimal(cost),
                      "%s: %s %s: the segments of %s add to %s, not %s" % (name, kind, ident, start, total, cost))
                drawn = sum(h for c, h in segments)
                check(abs(drawn - decimal.Decimal(cost) * got[2]) <= decimal.Decimal("0.5"),
                      "%s: %s %s: the bar of %s is drawn %s high, not %s" % (name, kind, ident, start, drawn,
                                                                              decimal.Decimal(cost) * got[2]))
    # A statement: a bar per row (largest first, the smaller ones past MAX_BARS as one), each
    # stacked from segments whose amounts add up to the row's, and every row's cost shown.
    drawn_statements = {st[0]: st for st in dom.statements}
    for st in result.get("statements", []):
        got = drawn_statements.get(st["id"])
        if not check(got is not None, "%s: no section for statement %s" % (name, st["id"])):
            continue
        rows = sorted(st["rows"], key=lambda r: -decimal.Decimal(r["cost"]))
        bars = min(len(rows), MAX_BARS) + (1 if len(rows) > MAX_BARS else 0)
        check(got[1] == bars and len(got[2]) == bars,
              "%s: statement %s has %d bars (data-bars=%r), expected %d" % (name, st["id"], len(got[2]), got[1], bars))
        for i, (row_cost, segments) in enumerate(got[2]):
            check(sum(decimal.Decimal(c) for c in segments) == decimal.Decimal(row_cost),
                  "%s: statement %s bar %d: segments %s do not add up to %s" % (name, st["id"], i, segments, row_cost))
            if i < min(len(rows), MAX_BARS):
                check(decimal.Decimal(row_cost) == decimal.Decimal(rows[i]["cost"]),
                      "%s: statement %s bar %d is %s, the row %s" % (name, st["id"], i, row_cost, rows[i]["cost"]))
                # One segment per kind the row is made of, of that amount.
                made_of = sorted(decimal.Decimal(v) for v in rows[i]["made_of"].values())
                check(sorted(decimal.Decimal(c) for c in segments) == made_of,
                      "%s: statement %s bar %d: segments %s are not what the row is made of, %s"
                      % (name, st["id"], i, segments, rows[i]["made_of"]))
        for r in st["rows"]:
            check(money(r["cost"], currency) in text,
                  "%s: statement %s: the cost of %s is not on the page" % (name, st["id"], r["tags"]))
        check(money(st["total"], currency) in text, "%s: statement %s total not shown" % (name, st["id"]))
    for b in result.get("budgets", []):
        check(money(b["spend"], currency) + " of " + money(b["amount"], currency) in text,
              "%s: budget %s not shown" % (name, b["id"]))
    for r in result.get("reconcile", []):
        check(money(r["difference"], currency) in text, "%s: reconcile %s difference not shown" % (name, r["id"]))
    for s in result.get("scorecards", []):
        check(money(s["combined"], currency) in text, "%s: scorecard %s saving not shown" % (name, s["id"]))

    # The sorter, run by the address: the first table of lines by its second column.
    if index == 0:
        sorted_dom, stderr = chromium(browser, os.path.join(work, "profile-sort"), ["--enable-logging=stderr", "--v=0",
                                                                                    "--dump-dom"], url + "#sort=1")
        check(not console_lines(stderr), "%s: console messages when sorting: %s" % (name, console_lines(stderr)))
        table = re.search(r'<table class="lines">.*?</table>', sorted_dom.decode("utf-8"), re.S)
        if check(table is not None, "%s: no table of lines after sorting" % name):
            head = re.search(r"<thead>(.*?)</thead>", table.group(0), re.S).group(1)
            check('aria-sort="ascending"' in re.findall(r"<th[^>]*>", head)[1],
                  "%s: the sorted column is not marked: %s" % (name, head))
            body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S).group(1)
            column = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1]
                      for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S) if "more lines" not in row]
            check(len(column) > 1 and column == sorted(column), "%s: not sorted by the column: %s" % (name, column))

    # The picture.
    if not check(os.path.exists(png), "%s: chromium wrote no screenshot" % name):
        return
    with open(png, "rb") as f:
        data = f.read()
    width, height, bpp, rows = png_pixels(data, 900)
    check((width, height) == (1280, 2000), "%s: screenshot is %dx%d, expected 1280x2000" % (name, width, height))
    seen = colours(rows, bpp)
    check(len(seen) >= 16, "%s: the screenshot's top holds %d colours: blank?" % (name, len(seen)))
    check(bytes(ALLOCATED_RGB) in seen, "%s: no allocated bar (#3867b0) in the top 900 rows of the screenshot" % name)
    print("%s: %d steps, %d lines, %d colours in the screenshot's top" % (name, len(steps), len(result["lines"]),
                                                                            len(seen)), flush=True)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, specs = argv[1], argv[2:]
    browser = find_chromium()
    if browser is None:
        if os.environ.get("APPORTION_REQUIRE_CHROMIUM") == "1":
            print("FAIL: chromium not found and APPORTION_REQUIRE_CHROMIUM=1 (apt-get install chromium)")
            return 1
        print("SKIP: chromium not found (apt-get install chromium; APPORTION_REQUIRE_CHROMIUM=1 makes this fail)")
        return SKIP
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="apportion-browser-") as work:
        # The canary: a page that logs must be seen to log, or the console check proves nothing.
        canary = os.path.join(work, "canary.html")
        with open(canary, "w") as f:
            f.write("<!DOCTYPE html><title>canary</title><script>console.error('canary')</script>")
        _, stderr = chromium(browser, os.path.join(work, "profile-canary"), ["--enable-logging=stderr", "--v=0",
                                                                            "--dump-dom"], "file://" + canary)
        if not check(any("canary" in line for line in console_lines(stderr)),
                     "the canary page's console message is not in chromium's log: the console check cannot work"):
            return 1
        for i, spec in enumerate(specs):
            check_spec(binary, browser, work, spec, i)
    elapsed = time.monotonic() - started
    if FAILURES:
        print("%d checks failed (%.1f s)" % (len(FAILURES), elapsed))
        return 1
    print("all browser checks passed: %d reports (%.1f s)" % (len(specs), elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
