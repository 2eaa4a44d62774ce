"""The monthly SLO compliance report: each objective's indicator over a calendar month, as HTML and PDF,
kept in ``ComplianceReport`` with its files in the default storage."""

from __future__ import annotations

import datetime as dt

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone
from fpdf import FPDF

from monitoring.models import ComplianceReport, ServiceLevelObjective
from monitoring.slo import slo_status


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(first, dt.time.min), tz),
        timezone.make_aware(dt.datetime.combine(following, dt.time.min), tz),
    )


def previous_month(now: dt.datetime) -> dt.date:
    return (timezone.localtime(now).date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _pdf(month: dt.date, rows: list[dict], generated_at: dt.datetime) -> bytes:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"SLO compliance {month:%Y-%m}")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, f"SLO compliance, {month:%B %Y}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=9)
    pdf.cell(0, 6, f"Generated {timezone.localtime(generated_at):%Y-%m-%d %H:%M %Z}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (60, 70, 25, 30, 30, 25, 30)
    headers = ("Objective", "Indicator", "Target", "Achieved", "Events", "Met", "Budget left")
    pdf.set_font("helvetica", "B", 9)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 7, header, border=1)
    pdf.ln()
    pdf.set_font("helvetica", size=9)
    for row in rows:
        cells = (
            row["name"],
            row["indicator"],
            row["objective_text"],
            row["ratio_text"],
            f"{row['total']:.0f}",
            "yes" if row["met"] else "NO",
            row["budget_text"],
        )
        for width, text in zip(widths, cells, strict=True):
            # The core fonts know Latin-1 only: anything else is replaced, never dropped silently.
            pdf.cell(width, 7, text.encode("latin-1", "replace").decode("latin-1")[:60], border=1)
        pdf.ln()
    if not rows:
        pdf.cell(0, 7, "No objectives were defined.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def compliance_report_generate(*, month: dt.date | None = None, now: dt.datetime | None = None) -> ComplianceReport:
    """Writes (or rewrites) the report of ``month`` (default: the month before ``now``)."""
    now = now or timezone.now()
    month = (month or previous_month(now)).replace(day=1)
    start, end = month_bounds(month)
    rows = [
        slo_status(slo, start=start, end=min(end, now)).as_row()
        for slo in ServiceLevelObjective.objects.filter(enabled=True)
    ]
    html = render_to_string(
        "monitoring/compliance_report.html",
        {"month": month, "rows": rows, "generated_at": now, "start": start, "end": end},
    )
    report = ComplianceReport.objects.filter(month=month).first() or ComplianceReport(month=month)
    for old in (report.html, report.pdf):
        if old:
            old.delete(save=False)
    report.generated_at, report.summary = now, rows
    report.html.save(f"slo-compliance-{month:%Y-%m}.html", ContentFile(html.encode()), save=False)
    report.pdf.save(f"slo-compliance-{month:%Y-%m}.pdf", ContentFile(_pdf(month, rows, now)), save=False)
    report.save()
    return report
