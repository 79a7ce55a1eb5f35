"""The employer-brand report for HR: employee and candidate voice next to customer voice, over time.

collect (ClickHouse) → analyse (pure) → charts (matplotlib) → HTML (jinja2) and PDF (fpdf2).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

EMPLOYER_THEMES = ("management", "pay", "workload", "recognition", "career", "culture", "recruiting")
MAX_LAG_WEEKS = 6
QUOTES_PER_THEME = 2


@dataclass(frozen=True)
class Week:
    monday: date
    employee_net: float | None
    customer_net: float | None
    customer_disappointed_share: float | None
    employee_mentions: int
    customer_mentions: int


@dataclass(frozen=True)
class Theme:
    name: str
    mentions: int
    negative_share: float
    previous_mentions: int
    previous_negative_share: float

    @property
    def negative_change(self) -> float:
        """Relative change of negative mentions against the previous period (0.4 = +40 %)."""
        now, before = self.mentions * self.negative_share, self.previous_mentions * self.previous_negative_share
        return (now - before) / before if before else (1.0 if now else 0.0)


@dataclass(frozen=True)
class Quote:
    theme: str
    published: date
    author: str
    voice: str
    text: str


@dataclass(frozen=True)
class Headline:
    label: str
    current: float
    previous: float
    unit: str = ""
    decimals: int = 2

    def show(self, value: float) -> str:
        return f"{value:.{self.decimals}f}{self.unit}"


@dataclass
class HrReport:
    brand: str
    start: date
    end: date
    headlines: list[Headline]
    weeks: list[Week]
    themes: list[Theme]
    quotes: list[Quote]
    lead_weeks: int | None = None
    lead_correlation: float | None = None
    changes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @property
    def previous_start(self) -> date:
        return self.start - (self.end - self.start)


# -- collect -------------------------------------------------------------------


def _bounds(start: date, end: date) -> dict[str, Any]:
    length = end - start
    return {
        "start": datetime.combine(start, time.min),
        "end": datetime.combine(end, time.min),
        "prev": datetime.combine(start - length, time.min),
    }


def collect(client: Client, brand: str, start: date, end: date) -> HrReport:
    """Query ClickHouse for one brand between `start` (included) and `end` (excluded)."""
    p = {"brand": brand, **_bounds(start, end)}
    period = "hour >= {start:DateTime} AND hour < {end:DateTime}"
    previous = "hour >= {prev:DateTime} AND hour < {start:DateTime}"
    net = (
        "(uniqCombined64MergeIf(mentions, voice = '{v}' AND polarity = 'positive' AND {w})"
        " - uniqCombined64MergeIf(mentions, voice = '{v}' AND polarity = 'negative' AND {w}))"
        " / greatest(uniqCombined64MergeIf(mentions, voice = '{v}' AND {w}), 1)"
    )
    headline_sql = (
        "SELECT "
        + ", ".join(
            [net.format(v=v, w=w) for v in ("employee", "candidate", "customer") for w in (period, previous)]
            + [f"uniqCombined64MergeIf(mentions, voice = 'employee' AND {w})" for w in (period, previous)]
            + [
                f"uniqCombined64IfMergeIf(disappointed, voice = 'customer' AND {w})"
                f" / greatest(uniqCombined64MergeIf(mentions, voice = 'customer' AND {w}), 1)"
                for w in (period, previous)
            ]
        )
        + " FROM mentions_hourly WHERE brand = {brand:String} AND hour >= {prev:DateTime} AND hour < {end:DateTime}"
    )
    row = [float(x) for x in client.query(headline_sql, parameters=p).result_rows[0]]
    headlines = [
        Headline("Employee net sentiment", row[0], row[1]),
        Headline("Candidate net sentiment", row[2], row[3]),
        Headline("Customer net sentiment", row[4], row[5]),
        Headline("Employee mentions", row[6], row[7], decimals=0),
        Headline("Disappointed customers", row[8] * 100, row[9] * 100, " %", decimals=1),
    ]
    weekly = client.query(
        "SELECT toMonday(hour) AS week,"
        " uniqCombined64MergeIf(mentions, voice = 'employee') AS e_all,"
        " uniqCombined64MergeIf(mentions, voice = 'employee' AND polarity = 'positive') AS e_pos,"
        " uniqCombined64MergeIf(mentions, voice = 'employee' AND polarity = 'negative') AS e_neg,"
        " uniqCombined64MergeIf(mentions, voice = 'customer') AS c_all,"
        " uniqCombined64MergeIf(mentions, voice = 'customer' AND polarity = 'positive') AS c_pos,"
        " uniqCombined64MergeIf(mentions, voice = 'customer' AND polarity = 'negative') AS c_neg,"
        " uniqCombined64IfMergeIf(disappointed, voice = 'customer') AS c_dis"
        " FROM mentions_hourly WHERE brand = {brand:String} AND hour >= {prev:DateTime} AND hour < {end:DateTime}"
        " GROUP BY week ORDER BY week",
        parameters=p,
    ).result_rows
    weeks = [
        Week(
            monday=w,
            employee_net=(ep - en) / ea if ea else None,
            customer_net=(cp - cn) / ca if ca else None,
            customer_disappointed_share=cd / ca if ca else None,
            employee_mentions=int(ea),
            customer_mentions=int(ca),
        )
        for w, ea, ep, en, ca, cp, cn, cd in weekly
    ]
    theme_rows = client.query(
        "SELECT aspect,"
        " uniqCombined64MergeIf(mentions, day >= toDate({start:DateTime})) AS now,"
        " uniqCombined64MergeIf(mentions, day >= toDate({start:DateTime}) AND polarity = 'negative') AS now_neg,"
        " uniqCombined64MergeIf(mentions, day < toDate({start:DateTime})) AS before,"
        " uniqCombined64MergeIf(mentions, day < toDate({start:DateTime}) AND polarity = 'negative') AS before_neg"
        " FROM aspects_daily WHERE brand = {brand:String} AND voice IN ('employee', 'candidate')"
        " AND aspect IN {themes:Array(String)}"
        " AND day >= toDate({prev:DateTime}) AND day < toDate({end:DateTime}) GROUP BY aspect",
        parameters={**p, "themes": list(EMPLOYER_THEMES)},
    ).result_rows
    themes = sorted(
        (
            Theme(str(name), int(n), nn / n if n else 0.0, int(b), bn / b if b else 0.0)
            for name, n, nn, b, bn in theme_rows
        ),
        key=lambda t: t.mentions * t.negative_share,
        reverse=True,
    )
    quote_rows = client.query(
        "SELECT theme, max(published) AS day, any(author_id), any(voice), text, max(p_negative) AS strength FROM ("
        " SELECT arrayJoin(aspects) AS theme, toDate(published_at) AS published, author_id,"
        " toString(voice) AS voice, text, p_negative"
        " FROM mentions FINAL WHERE brand = {brand:String} AND voice IN ('employee', 'candidate')"
        " AND published_at >= {start:DateTime} AND published_at < {end:DateTime} AND polarity = 'negative')"
        " WHERE theme IN {themes:Array(String)}"
        " GROUP BY theme, text ORDER BY theme, strength DESC, day DESC LIMIT {per_theme:UInt8} BY theme",
        parameters={**p, "themes": list(EMPLOYER_THEMES), "per_theme": QUOTES_PER_THEME},
    ).result_rows
    quotes = [
        Quote(str(theme), day, f"author {str(author)[:8]}", str(voice), str(text))
        for theme, day, author, voice, text, _ in quote_rows
    ]
    report = HrReport(brand, start, end, headlines, weeks, themes, quotes)
    analyse(report)
    return report


# -- analyse (pure) --------------------------------------------------------------


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    return cov / math.sqrt(var_x * var_y) if var_x and var_y else None


def lead_of_employee_voice(weeks: list[Week]) -> tuple[int, float] | None:
    """The lag (in weeks) at which employee sentiment best predicts customer sentiment, and that correlation."""
    by_week = {w.monday: w for w in weeks}
    best: tuple[int, float] | None = None
    for lag in range(MAX_LAG_WEEKS + 1):
        pairs = [
            (w.employee_net, later.customer_net)
            for w in weeks
            if (later := by_week.get(w.monday + timedelta(weeks=lag)))
            and w.employee_net is not None
            and later.customer_net is not None
        ]
        value = _correlation([float(e) for e, _ in pairs], [float(c) for _, c in pairs])
        if value is not None and (best is None or value > best[1]):
            best = (lag, value)
    return best


def _percent(value: float) -> str:
    return f"{value * 100:+.0f} %"


def analyse(report: HrReport) -> None:
    """Fill the lead/lag, what changed, and the actions the data suggests."""
    lead = lead_of_employee_voice(report.weeks)
    if lead:
        report.lead_weeks, report.lead_correlation = lead
    for headline in report.headlines:
        delta = headline.current - headline.previous
        if abs(delta) >= (0.1 if headline.decimals == 2 else 5):
            direction = "up" if delta > 0 else "down"
            report.changes.append(
                f"{headline.label} {direction}: {headline.show(headline.previous)} → {headline.show(headline.current)}"
            )
    rising = [t for t in report.themes if t.negative_change >= 0.2 and t.mentions * t.negative_share >= 5]
    for theme in rising:
        report.changes.append(
            f"Negative employee mentions about {theme.name} {_percent(theme.negative_change)} "
            f"({theme.previous_mentions * theme.previous_negative_share:.0f} → "
            f"{theme.mentions * theme.negative_share:.0f})"
        )
    disappointment = next(h for h in report.headlines if h.label == "Disappointed customers")
    customers_follow = disappointment.current > disappointment.previous + 2
    for theme in rising[:3]:
        action = (
            f"Workload and staffing review for the teams behind the {theme.name} complaints: "
            f"negative employee mentions {_percent(theme.negative_change)}"
        )
        if theme.name == "management":
            action = (
                f"Manager feedback round and skip-level meetings: negative mentions {_percent(theme.negative_change)}"
            )
        elif theme.name == "pay":
            action = f"Pay benchmark against the market: negative mentions {_percent(theme.negative_change)}"
        if customers_follow and report.lead_weeks:
            action += (
                f"; customer disappointment rose from {disappointment.previous:.0f} %"
                f" to {disappointment.current:.0f} %,"
                f" and customers have followed employees about {report.lead_weeks} week(s) later"
            )
        report.actions.append(action + ".")
    if not report.actions:
        report.actions.append("No theme worsened markedly; keep listening and share the good news internally.")


# -- render ----------------------------------------------------------------------


def _day_number(day: date) -> float:
    """matplotlib's date number: days since its default epoch, 1970-01-01."""
    return float((day - date(1970, 1, 1)).days)


def render_charts(report: HrReport, directory: Path) -> dict[str, Path]:
    """Trend and theme charts as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    charts: dict[str, Path] = {}
    figure, axis = plt.subplots(figsize=(8, 3.6), dpi=110)
    weeks = [_day_number(w.monday) for w in report.weeks]
    nan = float("nan")
    employee = [nan if w.employee_net is None else w.employee_net for w in report.weeks]
    customer = [nan if w.customer_net is None else w.customer_net for w in report.weeks]
    axis.plot(weeks, employee, color="#c0392b", marker="o", label="employees")
    axis.plot(weeks, customer, color="#2471a3", marker="s", label="customers")
    axis.xaxis_date()
    axis.axvline(_day_number(report.start), color="#7f8c8d", linestyle="--", linewidth=1)
    axis.axhline(0, color="#bdc3c7", linewidth=0.8)
    axis.set_ylabel("net sentiment")
    axis.set_ylim(-1, 1)
    axis.legend(loc="lower left")
    axis.set_title("Employee and customer sentiment, weekly")
    figure.autofmt_xdate()
    figure.tight_layout()
    charts["trend"] = directory / "trend.png"
    figure.savefig(charts["trend"])
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(8, 3.6), dpi=110)
    names = [t.name for t in report.themes]
    axis.barh(names, [t.previous_mentions * t.previous_negative_share for t in report.themes], color="#95a5a6",
              label="previous period")  # fmt: skip
    axis.barh(names, [t.mentions * t.negative_share for t in report.themes], color="#c0392b", height=0.5,
              label="this period")  # fmt: skip
    axis.invert_yaxis()
    axis.set_xlabel("negative employee and candidate mentions")
    axis.legend(loc="lower right")
    axis.set_title("Themes")
    figure.tight_layout()
    charts["themes"] = directory / "themes.png"
    figure.savefig(charts["themes"])
    plt.close(figure)
    return charts


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Employer brand — {{ r.brand }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}
h1{margin-bottom:0}.period{color:#666}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35em;text-align:left}.num{text-align:right}
blockquote{border-left:3px solid #c0392b;margin:.6em 0;padding:.2em .8em;color:#444}
img{max-width:100%}
</style></head><body>
<h1>Employer brand — {{ r.brand }}</h1>
<p class="period">{{ r.start }} to {{ r.end }}, against {{ r.previous_start }} to {{ r.start }}</p>
<h2>Headline figures</h2>
<table><tr><th>figure</th><th class="num">this period</th><th class="num">previous period</th></tr>
{% for h in r.headlines %}<tr><td>{{ h.label }}</td><td class="num">{{ h.show(h.current) }}</td>
<td class="num">{{ h.show(h.previous) }}</td></tr>{% endfor %}</table>
<h2>Employee against customer sentiment</h2>
<img alt="trend chart" src="data:image/png;base64,{{ charts.trend }}">
{% if r.lead_weeks is not none %}<p>Employee sentiment leads customer sentiment by <b>{{ r.lead_weeks }} week(s)</b>
(correlation {{ "%.2f"|format(r.lead_correlation) }}).</p>{% endif %}
<h2>Themes</h2>
<img alt="themes chart" src="data:image/png;base64,{{ charts.themes }}">
<table><tr><th>theme</th><th class="num">mentions</th><th class="num">negative</th>
<th class="num">change of negatives</th></tr>
{% for t in r.themes %}<tr><td>{{ t.name }}</td><td class="num">{{ t.mentions }}</td>
<td class="num">{{ "%.0f"|format(t.negative_share * 100) }} %</td>
<td class="num">{{ "%+.0f"|format(t.negative_change * 100) }} %</td></tr>{% endfor %}</table>
<h2>What people say</h2>
{% for q in r.quotes %}<blockquote><b>{{ q.theme }}</b> — {{ q.text }}<br>
<small>{{ q.voice }}, {{ q.author }}, {{ q.published }}</small></blockquote>{% endfor %}
<h2>What changed</h2><ul>{% for c in r.changes %}<li>{{ c }}</li>{% endfor %}</ul>
<h2>Suggested actions</h2><ul>{% for a in r.actions %}<li>{{ a }}</li>{% endfor %}</ul>
<p class="period">Authors are pseudonymous. Generated by veille.</p>
</body></html>
"""


def render_html(report: HrReport, charts: dict[str, Path]) -> str:
    from jinja2 import Environment

    encoded = {name: base64.b64encode(path.read_bytes()).decode() for name, path in charts.items()}
    return Environment(autoescape=True).from_string(_HTML).render(r=report, charts=encoded)


def render_pdf(report: HrReport, charts: dict[str, Path], path: Path) -> None:
    import matplotlib
    from fpdf import FPDF

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 10, f"Employer brand — {report.brand}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, f"{report.start} to {report.end}, against {report.previous_start} to {report.start}",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 13)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)

    heading("Headline figures")
    with pdf.table(col_widths=(60, 30, 30), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
        table.row(["figure", "this period", "previous period"])
        for h in report.headlines:
            table.row([h.label, h.show(h.current), h.show(h.previous)])
    heading("Employee against customer sentiment")
    pdf.image(str(charts["trend"]), w=180)
    if report.lead_weeks is not None and report.lead_correlation is not None:
        pdf.multi_cell(0, 5, f"Employee sentiment leads customer sentiment by {report.lead_weeks} week(s) "
                       f"(correlation {report.lead_correlation:.2f}).")  # fmt: skip
    heading("Themes")
    pdf.image(str(charts["themes"]), w=180)
    with pdf.table(col_widths=(40, 25, 25, 35), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row(["theme", "mentions", "negative", "change of negatives"])
        for t in report.themes:
            table.row([t.name, str(t.mentions), f"{t.negative_share * 100:.0f} %", f"{t.negative_change * 100:+.0f} %"])
    heading("What people say")
    for q in report.quotes:
        pdf.multi_cell(
            0, 5, f"[{q.theme}] “{q.text}” — {q.voice}, {q.author}, {q.published}", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.ln(1)
    heading("What changed")
    for change in report.changes:
        pdf.multi_cell(0, 5, f"• {change}", new_x="LMARGIN", new_y="NEXT")
    heading("Suggested actions")
    for action in report.actions:
        pdf.multi_cell(0, 5, f"• {action}", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_report(report: HrReport, directory: Path) -> tuple[Path, Path]:
    """Write `hr-<brand>-<start>-<end>.html` and `.pdf`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in report.brand.lower()).strip("-")
    stem = f"hr-{slug}-{report.start}-{report.end}"
    charts = render_charts(report, directory / f"{stem}-charts")
    html, pdf = directory / f"{stem}.html", directory / f"{stem}.pdf"
    html.write_text(render_html(report, charts), encoding="utf-8")
    render_pdf(report, charts, pdf)
    return html, pdf
