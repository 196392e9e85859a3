"""File imports: an uploaded CSV/XLSX → metric values, posts or audience.

`parse_table` is the entry point; `ImportFailure` is the only exception it
raises for a bad file. See `core` for the layout and day decisions.
"""

from kpi.importing.core import (
    DEFAULT_MAX_BYTES,
    LAYOUT_CHOICE,
    ParsedImport,
    header_signature,
    parse_caption,
    parse_table,
)
from kpi.importing.errors import ImportFailure

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LAYOUT_CHOICE",
    "ImportFailure",
    "ParsedImport",
    "header_signature",
    "parse_caption",
    "parse_table",
]
