"""The client report as a PDF: A4 pages drawn with matplotlib's PDF backend (no browser).

Pure rendering, like `kpi.charts`: a frozen spec in (every text already translated, the
charts already rendered as PNG), PDF bytes out; top-level and picklable, so the caller can
run it off the event loop. Text is DejaVu Sans, embedded as TrueType (`pdf.fonttype` 42)
so the PDF carries a real text layer (search, copy, screen readers) and Cyrillic;
characters the font lacks (colour emoji) are dropped rather than drawn as boxes.

Layout is a simple flow: a cover page, then sections one after another, each a title
and any of paragraphs, a table, pictures; a new page starts when the next item does not
fit. Sizes are for print on A4 (10–11 pt body) and stay legible zoomed on a phone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Final

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread
from matplotlib.patches import Rectangle
from matplotlib.transforms import Affine2D, Transform

A4_IN: Final = (8.27, 11.69)
A4_PT: Final = (595.0, 842.0)
MARGIN: Final = 48.0
BODY_PT: Final = 10.5
LINE_PT: Final = 15.0
ACCENT: Final = "#2563EB"
INK: Final = "#0F172A"
INK_SOFT: Final = "#475569"
GOOD: Final = "#16A34A"
BAD: Final = "#DC2626"
RULE: Final = "#E2E8F0"
LOGO_MAX_PX: Final = 256

_FONT_DIR = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
_REGULAR = os.path.join(_FONT_DIR, "DejaVuSans.ttf")
_BOLD = os.path.join(_FONT_DIR, "DejaVuSans-Bold.ttf")


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    better: bool | None = None  # True: green, False: red


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...] = (0.34, 0.22, 0.22, 0.22)  # shares of the text width


@dataclass(frozen=True, slots=True)
class Heading:
    """A sub-heading among a section's paragraphs."""

    text: str


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    paragraphs: tuple[str | Heading, ...] = ()
    table: Table | None = None
    images: tuple[bytes, ...] = ()  # PNGs, each drawn the full text width
    new_page: bool = True


@dataclass(frozen=True, slots=True)
class ReportSpec:
    title: str  # "KPI report"
    client: str
    period: str
    prepared_by: str | None  # "Prepared by Acme Agency"
    cover_lines: tuple[str, ...] = ()  # accounts, comparison period, date made
    logo_png: bytes | None = None
    colour: str | None = None
    footer: str = ""
    sections: tuple[Section, ...] = field(default_factory=tuple)


class LogoError(ValueError):
    """The picture is not an image we can read."""


def downscale_logo(data: bytes, max_px: int = LOGO_MAX_PX) -> bytes:
    """The picture as a PNG of at most `max_px` on its longer side (stored with the brand)."""
    from PIL import Image  # Pillow comes with matplotlib

    try:
        with Image.open(BytesIO(data)) as img:
            img.load()
            small = img.convert("RGBA")
            small.thumbnail((max_px, max_px))
            out = BytesIO()
            small.save(out, format="PNG", optimize=True)
    except Exception as exc:  # Pillow raises many kinds on bad input
        raise LogoError(str(exc)) from exc
    return out.getvalue()


@functools.cache
def _covered(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def printable(text: str, *, bold: bool = False) -> str:
    """`text` without the characters DejaVu Sans lacks (colour emoji), tidied."""
    covered = _covered(_BOLD if bold else _REGULAR)
    # U+FE0F (emoji presentation) is in the font's map but means nothing in print.
    kept = "".join(ch for ch in text if ord(ch) in covered and ch != "\ufe0f")
    # Only ASCII spaces collapse: a no-break space inside "18 000" must stay one.
    return re.sub(r"[ \t\r\n]+", " ", kept).strip()


@functools.cache
def _font(size: float, bold: bool = False) -> FontProperties:
    return FontProperties(fname=_BOLD if bold else _REGULAR, size=size)


class _Pages:
    """The page being drawn and a cursor (points from the top) that moves down."""

    def __init__(self, pdf: PdfPages, spec: ReportSpec) -> None:
        self.pdf = pdf
        self.spec = spec
        self.accent = spec.colour or ACCENT
        self.number = 0
        self.fig: Figure | None = None
        self.px: Transform | None = None
        self.y = 0.0

    @property
    def width(self) -> float:
        return A4_PT[0] - 2 * MARGIN

    def new(self) -> None:
        self.finish()
        self.number += 1
        self.fig = Figure(figsize=A4_IN, facecolor="white")
        self.px = Affine2D().scale(1 / 72.0) + self.fig.dpi_scale_trans
        self.y = MARGIN

    def finish(self) -> None:
        if self.fig is None:
            return
        footer = f"{self.spec.footer} · {self.number}" if self.spec.footer else str(self.number)
        self.text(MARGIN, A4_PT[1] - MARGIN / 2, footer, 8.0, colour=INK_SOFT)
        self.pdf.savefig(self.fig)  # type: ignore[no-untyped-call]
        self.fig = None

    def room(self, height: float) -> None:
        if self.fig is None or self.y + height > A4_PT[1] - MARGIN:
            self.new()

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        bold: bool = False,
        colour: str = INK,
        ha: str = "left",
    ) -> None:
        assert self.fig is not None and self.px is not None
        self.fig.text(
            x,
            A4_PT[1] - y,
            printable(text, bold=bold),
            fontproperties=_font(size, bold),
            color=colour,
            ha=ha,
            va="baseline",
            transform=self.px,
            parse_math=False,  # "$120" is money, not mathtext
        )

    def rule(self, y: float, colour: str = RULE, height: float = 0.8) -> None:
        assert self.fig is not None and self.px is not None
        self.fig.add_artist(
            Rectangle(
                (MARGIN, A4_PT[1] - y), self.width, height, transform=self.px, color=colour, lw=0
            )
        )

    def image(self, png: bytes, x: float, y_top: float, width: float) -> float:
        """Draw `png` `width` points wide with its top at `y_top`; returns its height."""
        assert self.fig is not None
        pixels = imread(BytesIO(png), format="png")
        h_px, w_px = pixels.shape[0], pixels.shape[1]
        height = width * h_px / w_px
        page_w, page_h = A4_PT
        ax = self.fig.add_axes(
            (x / page_w, (page_h - y_top - height) / page_h, width / page_w, height / page_h)
        )
        ax.imshow(np.asarray(pixels), interpolation="antialiased")
        ax.set_axis_off()
        return float(height)


def _wrap(text: str, size: float) -> list[str]:
    # DejaVu Sans averages ~0.55 em per character in running text.
    chars = max(20, int((A4_PT[0] - 2 * MARGIN) / (size * 0.56)))
    out: list[str] = []
    for para in text.split("\n"):
        out.extend(textwrap.wrap(printable(para), chars) or [""])
    return out


def _cover(pages: _Pages, spec: ReportSpec) -> None:
    pages.new()
    assert pages.fig is not None and pages.px is not None
    pages.fig.add_artist(
        Rectangle((0, A4_PT[1] - 18), A4_PT[0], 18, transform=pages.px, color=pages.accent, lw=0)
    )
    top = 90.0
    if spec.logo_png is not None:
        # A logo that does not decode leaves the cover without it.
        with contextlib.suppress(ValueError, OSError, SyntaxError):
            pages.image(spec.logo_png, A4_PT[0] - MARGIN - 96, 60, 96)
    if spec.prepared_by:
        pages.text(MARGIN, top, spec.prepared_by, 13.0, colour=INK_SOFT)
    y = 300.0
    pages.text(MARGIN, y, spec.title, 16.0, colour=pages.accent, bold=True)
    y += 46
    for line in _wrap(spec.client, 30.0)[:3]:
        pages.text(MARGIN, y, line, 30.0, bold=True)
        y += 40
    pages.text(MARGIN, y + 6, spec.period, 16.0, colour=INK)
    y += 40
    pages.rule(y)
    y += 28
    for line in spec.cover_lines:
        for part in _wrap(line, 11.0):
            pages.text(MARGIN, y, part, 11.0, colour=INK_SOFT)
            y += LINE_PT


def _table(pages: _Pages, table: Table) -> None:
    xs = [MARGIN]
    for share in table.widths[:-1]:
        xs.append(xs[-1] + share * pages.width)
    row_h = 22.0

    def header() -> None:
        pages.room(row_h * 2)
        for x, title in zip(xs, table.header, strict=False):
            pages.text(x, pages.y + 14, title, 9.5, bold=True, colour=INK_SOFT)
        pages.y += row_h
        pages.rule(pages.y, colour=pages.accent, height=1.2)  # clear of the descenders

    header()
    for row in table.rows:
        if pages.y + row_h > A4_PT[1] - MARGIN:
            pages.new()
            header()
        for i, (x, cell) in enumerate(zip(xs, row, strict=False)):
            colour = INK if cell.better is None else (GOOD if cell.better else BAD)
            pages.text(x, pages.y + 14, cell.text, BODY_PT, bold=i == 1, colour=colour)
        pages.y += row_h
        pages.rule(pages.y - 6)
    pages.y += 8


def _section(pages: _Pages, section: Section) -> None:
    if section.new_page or pages.fig is None:
        pages.new()
    else:
        pages.room(80)
        pages.y += 10
    pages.text(MARGIN, pages.y + 18, section.title, 17.0, bold=True, colour=pages.accent)
    pages.y += 34
    for para in section.paragraphs:
        if isinstance(para, Heading):
            pages.room(LINE_PT * 3)
            pages.y += 4
            pages.text(MARGIN, pages.y + 12, para.text, 12.0, bold=True)
            pages.y += LINE_PT + 4
            continue
        lines = _wrap(para, BODY_PT)
        for line in lines:
            pages.room(LINE_PT)
            pages.text(MARGIN, pages.y + 11, line, BODY_PT)
            pages.y += LINE_PT
        pages.y += 4
    if section.table is not None:
        _table(pages, section.table)
    for png in section.images:
        pixels_ratio = _ratio(png)
        height = pages.width * pixels_ratio
        pages.room(height + 8)
        pages.y += pages.image(png, MARGIN, pages.y, pages.width) + 12


def _ratio(png: bytes) -> float:
    # PNG header: width and height are the big-endian ints at bytes 16..24.
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        raise ValueError("not a PNG")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return height / width if width else 1.0


def render_report_pdf(spec: ReportSpec) -> bytes:
    """The PDF: a cover, then the sections in order."""
    out = BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "pdf.compression": 6}),
        PdfPages(
            out,
            metadata={
                "Title": printable(f"{spec.title}: {spec.client}, {spec.period}"),
                "Author": printable(spec.prepared_by or ""),
                "Creator": "smm-kpi-bot",
            },
        ) as pdf,
    ):
        pages = _Pages(pdf, spec)
        _cover(pages, spec)
        for section in spec.sections:
            _section(pages, section)
        pages.finish()
    return out.getvalue()


def page_titles(spec: ReportSpec) -> Sequence[str]:
    """The section titles in order (for a caption or a test)."""
    return [s.title for s in spec.sections]


__all__ = [
    "LOGO_MAX_PX",
    "Cell",
    "Heading",
    "LogoError",
    "ReportSpec",
    "Section",
    "Table",
    "downscale_logo",
    "page_titles",
    "printable",
    "render_report_pdf",
]
