"""Every CSV export goes through here, so no cell can run as a spreadsheet formula (OWASP CSV injection)."""

import csv
from collections.abc import Iterable, Iterator

# A spreadsheet reads a cell starting with one of these as a formula (or strips the tab/return before one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_cell(value) -> str:
    """The cell as text, with a leading single quote when it would otherwise start a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    def write(self, value):
        return value


def csv_rows(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The header and the rows as CSV lines, every cell made safe, for a StreamingHttpResponse."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([csv_safe_cell(cell) for cell in row])
