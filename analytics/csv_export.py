"""Lists as CSV, streamed: rows are read from the database in chunks and written out as they come, so a
million rows never sit in memory (a server-side cursor on PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.http import StreamingHttpResponse

CHUNK_SIZE = 5000
# Rows written into one piece of the response.
ROWS_PER_PIECE = 1000


def _cell(value) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A spreadsheet would run it as a formula.
        return "'" + value
    return "" if value is None else value


def csv_pieces(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(value) for value in row])
        if count % ROWS_PER_PIECE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_pieces(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
