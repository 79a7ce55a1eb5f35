"""The employer-brand report: figures from the real ClickHouse, HTML and PDF with charts that carry data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from tests.analytics.seeded import seed
from tests.conftest import Stack
from veille_analytics.report import Headline, HrReport, Week, analyse, collect, lead_of_employee_voice, write_report

EMPLOYEE_RED = (0xC0, 0x39, 0x2B)
CUSTOMER_BLUE = (0x24, 0x71, 0xA3)


def _pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    rgb = image.convert("RGB")
    width, height = rgb.size
    near = 0
    for x in range(width):
        for y in range(height):
            pixel: tuple[int, int, int] = rgb.getpixel((x, y))  # type: ignore[assignment]
            near += all(abs(c - t) <= tolerance for c, t in zip(pixel, colour, strict=True))
    return near


@pytest.mark.integration
def test_hr_report_shows_the_seeded_story_in_html_and_pdf(stack: Stack, tmp_path: Path) -> None:
    _, client = seed(stack.settings)
    report = collect(client, "Banque Aurore", date(2026, 10, 5), date(2026, 11, 16))

    assert report.lead_weeks == 2  # staff first, customers two weeks later
    top = {t.name for t in report.themes[:2]}
    assert top == {"workload", "management"}
    assert all(t.negative_change > 0.2 for t in report.themes[:2])
    employee = next(h for h in report.headlines if h.label == "Employee net sentiment")
    assert employee.current < 0 < employee.previous
    assert any("workload" in a and "2 week" in a for a in report.actions)
    assert {q.theme for q in report.quotes} == {"workload", "management"}
    assert all(q.author.startswith("author ") and len(q.author) == len("author ") + 8 for q in report.quotes)

    html, pdf = write_report(report, tmp_path)
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "Banque Aurore" in page and "Suggested actions" in page and "la charge est intenable" in page

    charts = sorted((tmp_path / f"{html.stem}-charts").glob("*.png"))
    trend = Image.open(next(c for c in charts if c.name == "trend.png"))
    assert _pixels_near(trend, EMPLOYEE_RED) > 300 and _pixels_near(trend, CUSTOMER_BLUE) > 300

    document = pdfium.PdfDocument(str(pdf))
    assert len(document) >= 1
    images = sum(
        len(list(document[i].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]))) for i in range(len(document))
    )
    assert images == 2
    first_page = document[0].render(scale=1.5).to_pil()
    assert _pixels_near(first_page, EMPLOYEE_RED) > 500 and _pixels_near(first_page, CUSTOMER_BLUE) > 300
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "Employer brand — Banque Aurore" in text and "workload" in text


def _weeks(employee: list[float], customer: list[float]) -> list[Week]:
    start = date(2026, 1, 5)
    return [
        Week(start + timedelta(weeks=i), e, c, 0.2, 50, 100)
        for i, (e, c) in enumerate(zip(employee, customer, strict=True))
    ]


def test_lead_is_the_lag_where_employee_sentiment_best_predicts_customers() -> None:
    employee = [0.3, 0.3, 0.1, -0.1, -0.3, -0.5, -0.6, -0.6, -0.6, -0.6]
    customer = [0.3, 0.3, 0.3, 0.3, 0.3, 0.1, -0.1, -0.3, -0.5, -0.6]
    lead = lead_of_employee_voice(_weeks(employee, customer))
    assert lead is not None and lead[0] == 3


def test_a_quiet_period_gives_no_lead_and_a_calm_suggestion() -> None:
    report = HrReport("Calme SA", date(2026, 1, 1), date(2026, 2, 1), headlines=[], weeks=[], themes=[], quotes=[])
    report.headlines = [Headline("Disappointed customers", 10.0, 10.0, " %", 1)]
    analyse(report)
    assert report.lead_weeks is None
    assert report.changes == []
    assert report.actions == ["No theme worsened markedly; keep listening and share the good news internally."]
