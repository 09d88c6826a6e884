"""Service figures: the staff insights page and the public "How we are doing" page.

- ``queries``: the SQL, one function per figure, and how each figure is counted.
- ``figures``: the figures as typed values and the arithmetic on what the queries return.
- ``report``: the public page and the staff report put together; the staff tables and CSV.
- ``charts``: the charts' geometry and words, computed here so templates only draw them.

Callers import from those modules; the names below are kept for the bench and older callers.
"""

from portal.services.insights.figures import (
    DateRange,
    format_duration,
    format_percent,
    parse_date_range,
    weeks_back,
)
from portal.services.insights.report import (
    TABLES,
    PublicFigures,
    StaffReport,
    insight_table,
    public_figures,
    staff_report,
    table_csv,
)
from portal.services.insights.rolled import weekly_received

__all__ = [
    "TABLES",
    "DateRange",
    "PublicFigures",
    "StaffReport",
    "format_duration",
    "format_percent",
    "insight_table",
    "parse_date_range",
    "public_figures",
    "staff_report",
    "table_csv",
    "weekly_received",
    "weeks_back",
]
