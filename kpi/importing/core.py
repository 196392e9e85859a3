"""Turn one uploaded table into per-(account, day) metric values, posts or audience.

Pure: bytes in, `ParsedImport` out or `ImportFailure` raised; nothing is
stored here, so "one import is one transaction" is the caller's commit.

Decisions (see also `kpi.parsing` and the module docstrings next to this one):
* Layouts are told apart by column roles, not by platform: audience
  (dimension → bucket → share/count), long (date, metric, value), mentions
  (text/sentiment and no metric columns), customers (a CRM table with a
  "customer since" date: one new customer per row on that day), sessions (one
  row per visit: visitor type or page/duration pairs, no sessions column),
  posts (post id/text/hashtags/format beside metric columns), span
  (period_start/period_end), wide (a date column), aggregate (no date at all).
* A day comes from the date column, else the span's end, else a month column
  (the month's last day within the twelve months that end on the caption's
  day), else the caption, else the `# End date:`/period line above the header;
  with none of them `needs_day` is set and the values are left empty so the
  bot can ask and parse again with the day in the caption. The file is still
  checked in full first, so a bad file is refused before the question.
* A posts file also yields daily values (posts = rows, counters summed) so
  that KPIs work from a posts export alone. Posts without an id get a stable
  content hash (`h:…`), so re-importing the same file replaces, not doubles.
  `PostRecord.account == ""` means the workspace's default account.
* A followers column in a posts file with many authors (a collection of other
  people's posts) is each author's, not the account's: it is dropped.
* Within a day the last gauge in file order is kept; in a file whose rows run
  newest first the first one is, since that is the latest.
* Mentions: one row is one mention; `not_relevant`/spam rows are dropped;
  words (positive/negative/нейтр…) or a numeric scale (1–5, −1…1, 0…1, 0–10;
  above the middle is positive) give `mentions_positive`/`_negative`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from kpi.accounts import normalize_account
from kpi.importing import errors as E
from kpi.importing.cells import (
    FALSE_WORDS,
    MISSING,
    TOTAL_RE,
    TRUE_WORDS,
    CellParser,
    cell_text,
    is_blank,
    is_number,
    month_of,
    number_or_zero,
)
from kpi.importing.columns import (
    LOCAL_RATIOS,
    RATIO_ORDER,
    Column,
    LocalRatio,
    Role,
    classify,
    classify_column,
    detect_platform,
    duration_base,
    is_web_header,
)
from kpi.importing.errors import ImportFailure
from kpi.importing.layouts import choose_layout
from kpi.importing.layouts.base import Layout
from kpi.importing.meaning import split_words
from kpi.importing.reader import Cell, FormulaCell, Records, open_source
from kpi.metrics import METRICS, Kind, normalize_name
from kpi.models import AudienceBucket, PostRecord
from kpi.parsing import (
    MAX_ABS,
    DateFormat,
    DateGuesser,
    DecimalGuesser,
    date_style,
    parse_day,
    parse_month_day,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SAMPLE_ROWS = 2000
_HEADER_SEARCH = 40
_PLACEHOLDER_DAY = date(2000, 1, 1)
_POST_TEXT_MAX = 2000

_WEAK_DATE_HEADERS = frozenset(
    normalize_name(h)
    for h in (
        "time",
        "period",
        "период",
        "from",
        "to",
        "starts",
        "ends",
        "created",
        "registered",
        "posted",
        "published",
        "mon",
        "month",
        "месяц",
    )
)
_DATE_WORDS = frozenset(
    ("created", "date", "time", "timestamp", "datetime", "published", "posted", "дата", "время")
)
_CAPTION_DATE_RE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}\.\d{1,2}\.\d{1,2}"
)
_CAPTION_ACCOUNT_RE = re.compile(r"(?<![\w/])@?([a-z][a-z0-9_]{0,15}:@?[a-z0-9_][a-z0-9_.\-]*)")
_PREAMBLE_END_RE = re.compile(r"(?:end date|дата окончания|по)\s*[:=]?\s*(\S+)", re.IGNORECASE)
_PREAMBLE_DATE_RE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}|\d{8}|[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})\b"
)
_WEB_FILENAME_RE = re.compile(
    r"(?:^|[^a-zа-я])(site|website|web|ga4?|analytics|metrica|metrika"
    r"|метрика|сайт|визиты|traffic|трафик)(?:[^a-zа-я]|$)"
)
Key = tuple[str | None, date]
_GAUGES = frozenset(n for n, m in METRICS.items() if m.kind is Kind.GAUGE)


@dataclass(slots=True)
class ParsedImport:
    layout: str  # wide, long, posts, mentions, span, aggregate, sessions, customers, audience
    rows_read: int = 0  # data rows below the header, blank lines not counted
    rows_used: int = 0
    values: dict[Key, dict[str, float]] = field(default_factory=dict)
    posts: list[PostRecord] = field(default_factory=list)
    audience: list[AudienceBucket] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    date_range: tuple[date, date] | None = None
    ignored_columns: list[tuple[str, str]] = field(default_factory=list)  # (header, reason)
    needs_day: bool = False
    platform: str | None = None
    rows_skipped: dict[str, int] = field(default_factory=dict)  # reason → rows
    header_row: int = 1
    encoding: str | None = None
    headers: list[str] = field(default_factory=list)
    signature: str = ""  # a hash of the normalised headers: "files of the same kind"
    # What every column became, in file order: (index, header, became, why). `became`
    # is a metric name, a role (date, account, text, sentiment…) or "ignored".
    columns: list[tuple[int, str, str, str]] = field(default_factory=list)
    # Columns stored under a metric read from their words with some unknown: the bot
    # asks before storing them (index, header, metric).
    unsure: list[tuple[int, str, str]] = field(default_factory=list)
    overridden: bool = False  # read with the user's column choices
    layout_why: str = ""  # the evidence the layout was chosen by (a reason code)
    layout_alternative: str | None = None  # another layout that fits: the bot asks
    negative_cells: dict[str, int] = field(default_factory=dict)  # header → cells below 0
    sheet: str | None = None  # the XLSX worksheet read
    # Several worksheets hold a table and none was chosen: nothing was read; ask.
    sheet_choices: tuple[tuple[int, str], ...] = ()  # (index, name)


def parse_caption(caption: str | None) -> tuple[date | None, str | None]:
    """The day and account a file's caption names (`vk:brand 31.05.2024`).

    A range (`01.05.2024-31.05.2024`) counts on its last day.
    """
    if not caption:
        return None, None
    text = caption.strip()
    days: list[date] = []
    for m in _CAPTION_DATE_RE.finditer(text):
        try:
            days.append(parse_day(m.group(0)))
        except ValueError:
            raise ImportFailure(
                E.BAD_DATE, value=m.group(0), detail="bad date in the caption"
            ) from None
    accounts: set[str] = set()
    low = re.sub(r"https?://\S+", " ", text.lower())
    for m in _CAPTION_ACCOUNT_RE.finditer(low):
        acc = normalize_account(m.group(1))
        if acc is not None:
            accounts.add(acc)
    for word in re.findall(r"[\w:]+", low):
        if word in ("site", "сайт"):
            accounts.add("site")
    if len(accounts) > 1:
        raise ImportFailure(
            E.BAD_CAPTION, value=", ".join(sorted(accounts)), detail="more than one account"
        )
    return (max(days) if days else None), (accounts.pop() if accounts else None)


def parse_table(
    data: bytes,
    filename: str,
    *,
    tz: tzinfo,
    caption: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    overrides: Mapping[int, str] | None = None,
    today: date | None = None,
    sheet: int | None = None,
) -> ParsedImport:
    """Parse an uploaded CSV/XLSX; raises ImportFailure for anything unusable.

    `overrides` are the user's column choices (column index → metric name, or
    "" to ignore the column), from the preview or a remembered mapping.
    """
    if len(data) > max_bytes:
        raise ImportFailure(
            E.TOO_LARGE, detail=f"{len(data)} bytes; the limit is {max_bytes} bytes"
        )
    if not data.strip():
        raise ImportFailure(E.EMPTY, detail="the file is empty")
    cap_day, cap_account = parse_caption(caption)
    source = open_source(data, filename, sheet)
    if source.sheet_choices:
        return ParsedImport(layout="", sheet_choices=source.sheet_choices)
    importer = ImportContext(source.records, source.encoding, filename, tz, cap_day, cap_account)
    importer.overrides = dict(overrides or {})
    importer.today = today
    importer.result.sheet = source.sheet
    return importer.run()


def header_signature(headers: list[str]) -> str:
    """The same headers (case, spacing and punctuation aside) give the same signature."""
    key = "\x1f".join(normalize_name(h) for h in headers)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class _Ratio:
    col: Column
    spec: LocalRatio
    percent: bool


class ImportContext:
    def __init__(
        self,
        records: Records,
        encoding: str | None,
        filename: str,
        tz: tzinfo,
        cap_day: date | None,
        cap_account: str | None,
    ) -> None:
        self.open_records = records
        self.records = records()
        self.filename = filename
        self.tz = tz
        self.cap_day = cap_day
        self.cap_account = cap_account
        self.result = ParsedImport(layout="", encoding=encoding)
        self.columns: list[Column] = []
        self.preamble: list[str] = []
        self.pending: list[tuple[int, list[Cell]]] = []
        self.sample: list[tuple[int, list[Cell]]] = []
        self.exhausted = False
        self.prev_blank = False
        self.date_fmt: DateFormat | None = None
        self.cells = CellParser(self.result.negative_cells)
        self.decimals = self.cells.decimals
        self.flags = self.cells.flags
        self.ratios: list[_Ratio] = []
        self.gauges_first: dict[Key, dict[str, float]] = {}
        self.day_steps = [0, 0]  # rows later / earlier than the previous row
        self.prev_day: date | None = None
        self.authors: set[str] = set()
        self.sentiment: dict[Key, dict[str | float, int]] = {}
        self.long_ratios: dict[Key, dict[str, float]] = {}
        self.ignored: dict[str, str] = {}
        self.date_cache: dict[str, date] = {}
        self.fixed_day: date | None = None
        self.header_row = 1
        self.date_guesser: DateGuesser | None = None
        self.role_map: dict[Role, Column] | None = None
        self.metric_cols: list[Column] = []
        self.session_cols: list[Column] = []
        self.month_days: dict[int, date] = {}
        self.date_index: int | None = None
        self.fast_metrics: list[tuple[Column, str, bool, int]] = []
        self.account_cache: dict[str, str] = {}
        self.overrides: dict[int, str] = {}
        self.layout: Layout
        self.date_orders: dict[str, DateFormat] = {}  # per numeric date style, when mixed
        self.yearless: set[int] = set()  # date columns of `Month D` without a year
        self.today: date | None = None
        self.year_walk: tuple[int, int] | None = None  # (year now, +1/−1 per wrap)
        self.prev_md: tuple[int, int] | None = None

    # ------------------------------------------------------------ reading

    def _next_record(self) -> tuple[int, list[Cell]] | None:
        """The next data record: blank rows skipped, stops at a new `#` section."""
        for n, cells in self.records:
            c0 = cells[0] if cells else None
            head = c0[:1] if c0.__class__ is str else ""
            if head and head != "#" and not head.isspace() and len(cells) <= 5000:
                # The usual row: a first cell that is neither blank nor a `#` comment.
                self.prev_blank = False
                return n, cells
            if is_blank(cells):
                self.prev_blank = True
                continue
            first = cell_text(cells[0]) if cells else ""
            if first.startswith("#") and self.prev_blank:
                # GA4 puts several tables in one file, each after `#` lines: keep the first.
                self.exhausted = True
                return None
            self.prev_blank = False
            if len(cells) > 5000:
                raise ImportFailure(E.TOO_MANY_CELLS, row=n, detail="more than 5000 columns")
            return n, cells
        self.exhausted = True
        return None

    def _rows(self) -> Iterator[tuple[int, list[Cell]]]:
        yield from self.sample
        self.sample = []
        while not self.exhausted:
            rec = self._next_record()
            if rec is None:
                break
            yield rec

    def _find_header(self) -> tuple[int, list[Cell]]:
        seen: list[tuple[int, list[Cell]]] = []
        saw_any = blank_before = False
        for n, cells in self.records:
            if is_blank(cells):
                blank_before = True
                continue
            saw_any = True
            first = cell_text(cells[0]) if cells else ""
            if first.startswith("#"):
                if seen and blank_before:
                    self.exhausted = True  # the next GA4 section: keep the first table only
                    break
                self.preamble.append(" ".join(cell_text(c) for c in cells if c is not None))
                continue
            blank_before = False
            seen.append((n, cells))
            if len(seen) >= _HEADER_SEARCH:
                break
        if not saw_any:
            raise ImportFailure(E.EMPTY, detail="the file has no rows")
        chosen: int | None = None
        fallback: int | None = None
        for i, (_, cells) in enumerate(seen):
            texts = [cell_text(c) for c in cells]
            filled = [t for t in texts if t]
            if len(filled) < 2:
                continue
            numeric = sum(1 for t in filled if is_number(t))
            if numeric * 2 > len(filled):
                continue
            if fallback is None:
                fallback = i
            known = sum(1 for t in filled if classify(t, web=False)[0] is not Role.IGNORED)
            if known:
                chosen = i
                break
        idx = chosen if chosen is not None else fallback
        if idx is None:
            raise ImportFailure(E.NOT_A_TABLE, detail="no header row with column names found")
        for _, cells in seen[:idx]:
            self.preamble.append(" ".join(cell_text(c) for c in cells if c is not None))
        self.pending = seen[idx + 1 :]
        return seen[idx]

    # ------------------------------------------------------------ run

    def run(self) -> ParsedImport:
        header_row, header_cells = self._find_header()
        self.result.header_row = self.header_row = header_row
        self.sample.extend(self.pending)
        self.pending = []
        while len(self.sample) < SAMPLE_ROWS and not self.exhausted:
            record = self._next_record()
            if record is None:
                break
            self.sample.append(record)
        if not self.sample:
            raise ImportFailure(E.HEADER_ONLY, row=header_row, detail="a header and no data rows")
        self._classify(header_cells)
        choice = choose_layout(self.columns)
        self.layout = choice.layout
        layout = choice.layout.name
        self.result.layout = layout
        self.result.layout_why = choice.detection.why
        self.result.layout_alternative = choice.alternative
        self._plan(layout)
        self._process()
        return self._finish()

    # ------------------------------------------------------------ columns

    def _classify(self, header_cells: list[Cell]) -> None:
        headers = [cell_text(c) for c in header_cells]
        keys = {normalize_name(h) for h in headers if h}
        preamble = "\n".join(self.preamble)
        platform = detect_platform(keys, preamble)
        self.result.platform = platform
        web = (
            platform in ("ga4", "yandex_metrica")
            or any(is_web_header(k) for k in keys)
            or (self.cap_account or "").startswith("site")
            or bool(_WEB_FILENAME_RE.search(self.filename.lower()))
        )
        cols = [classify_column(i, h, web=web) for i, h in enumerate(headers)]
        self.result.headers = headers
        self.result.signature = header_signature(headers)
        for c in cols:
            choice = self.overrides.get(c.index)
            if choice is None:
                continue
            self.result.overridden = True
            if choice in METRICS or choice in LOCAL_RATIOS:
                c.role, c.metric, c.sure, c.why = Role.METRIC, choice, True, "your choice"
            else:
                c.role, c.metric, c.sure, c.why = Role.IGNORED, None, True, "your choice"
                c.reason = "ignored_by_you"
        by_key = {normalize_name(c.header): c for c in cols if c.role is Role.IGNORED}
        for c in cols:
            base = duration_base(c.header)
            if base and base in by_key and by_key[base] is not c:
                c.role = Role.PAGE_DURATION
                by_key[base].role = Role.PAGE_COUNT
        roles = {c.role for c in cols}
        if Role.DIMENSION in roles and Role.BUCKET not in roles:
            # `Срез;Группа;Доля`: beside a dimension, a "group" column holds its buckets.
            for c in cols:
                if (
                    c.role in (Role.ACCOUNT, Role.AUDIENCE_DIM, Role.IGNORED, Role.TEXT)
                    and c.header
                ):
                    c.role, c.why = Role.BUCKET, "beside a dimension column"
                    break
        self.columns = cols
        self._verify_read_by_words()
        self._find_timestamps()
        self._verify_dates()

    def _verify_read_by_words(self) -> None:
        """A header read from its words must hold numbers (`Video title` holds titles)."""
        for c in self.columns:
            if c.role is not Role.METRIC or c.why in ("exact", "your choice"):
                continue
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.sample[:200]]
            texts = [t for t in texts if t and t.lower() not in MISSING]
            numeric = sum(1 for t in texts if is_number(t) or ":" in t)
            if not texts or numeric * 10 < len(texts) * 9:
                c.role, c.metric, c.sure = Role.IGNORED, None, True

    def _find_timestamps(self) -> None:
        """A column of dates under any name (`tweet_created`) is the date column."""
        if any(c.role in (Role.DATE, Role.PERIOD_START, Role.PERIOD_END) for c in self.columns):
            return
        for c in self.columns:
            if c.role is not Role.IGNORED or not c.header:
                continue
            words = set(split_words(c.header))
            if not words & _DATE_WORDS:
                continue
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.sample[:200]]
            texts = [t for t in texts if t]
            guesser = DateGuesser()
            if texts and sum(1 for t in texts if guesser.feed(t)) * 10 >= len(texts) * 9:
                c.role, c.why = Role.DATE, "dates in the values"
                return

    def _verify_dates(self) -> None:
        """Demote date-role columns whose values are not dates; learn the format."""
        for c in self.columns:
            if c.role not in (
                Role.DATE,
                Role.PERIOD_START,
                Role.PERIOD_END,
                Role.CUSTOMER_SINCE,
                Role.MONTH,
            ):
                continue
            values = [self.cell(cells, c.index) for _, cells in self.sample]
            typed = sum(1 for v in values if isinstance(v, datetime | date))
            texts = [
                cell_text(v) for v in values if not isinstance(v, datetime | date) and cell_text(v)
            ]
            if c.role is Role.MONTH:
                months = sum(1 for v in values if month_of(v) is not None)
                guesser = DateGuesser()
                full = sum(1 for t in texts if guesser.feed(t))
                if full + typed > months:
                    c.role = Role.DATE
                elif months * 2 < max(1, len(texts) + typed):
                    c.role, c.reason = Role.IGNORED, "not_a_date"
                continue
            guesser = DateGuesser()
            ok = sum(1 for t in texts if not TOTAL_RE.match(t) and guesser.feed(t))
            candidates = sum(1 for t in texts if not TOTAL_RE.match(t)) + typed
            yearless = sum(1 for t in texts if parse_month_day(t) is not None)
            if c.role is Role.DATE and texts and yearless * 10 >= len(texts) * 9 and not ok:
                # `February 28` (TikTok Studio): the year comes from the upload day.
                self.yearless.add(c.index)
                c.why = "days without a year"
                continue
            if candidates == 0 or (ok + typed) * 2 < candidates:
                if normalize_name(c.header) in _WEAK_DATE_HEADERS:
                    c.role, c.reason = Role.IGNORED, "not_a_date"
                    continue
                # A column called "Date" without dates is a broken file, not a detail.
                for n, cells in self.sample:
                    t = cell_text(self.cell(cells, c.index))
                    if t and not TOTAL_RE.match(t) and not DateGuesser().feed(t):
                        raise ImportFailure(E.BAD_DATE, n, c.header, t, "not a date")

    def cell(self, cells: list[Cell], index: int) -> Cell:
        return cells[index] if index < len(cells) else None

    def first(self, role: Role) -> Column | None:
        if self.role_map is not None:
            return self.role_map.get(role)
        for c in self.columns:
            if c.role is role:
                return c
        return None

    def ignore(self, c: Column, reason: str) -> None:
        c.role = Role.IGNORED
        c.reason = reason

    def _plan(self, layout: str) -> None:
        cols = self.columns
        seen_roles: set[Role] = set()
        seen_metrics: set[str] = set()
        used_roles = self.layout.roles
        uses_metrics = self.layout.uses_metrics
        if layout != "audience":
            for c in cols:
                if c.role is Role.COUNT and c.alt_metric is not None:
                    c.role, c.metric, c.why = Role.METRIC, c.alt_metric, "count"
        # A header the catalogue spells exactly wins over one read from its words.
        seen_metrics.update(
            c.metric
            for c in cols
            if c.role is Role.METRIC and c.metric is not None and c.why == "exact" and uses_metrics
        )
        for c in cols:
            if c.role is Role.METRIC and c.metric is not None and c.why == "exact":
                if not uses_metrics:
                    self.ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                elif sum(1 for o in cols[: c.index] if o.metric == c.metric and o.why == "exact"):
                    self.ignore(c, "duplicate_metric")
                continue
            if c.role is Role.METRIC and c.metric is not None:
                if not uses_metrics:
                    self.ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                elif c.metric in seen_metrics:
                    self.ignore(c, "duplicate_metric")
                else:
                    seen_metrics.add(c.metric)
                continue
            if c.role is Role.IGNORED:
                c.reason = c.reason or ("empty_header" if not c.header else "not_a_metric")
                if layout == "customers":
                    c.reason = "customer_attribute"
                continue
            if c.role is Role.COMPUTED:
                c.reason = "computed_kpi"
                continue
            if c.role not in used_roles:
                self.ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                continue
            if c.role in seen_roles and c.role not in (Role.PAGE_COUNT, Role.PAGE_DURATION):
                self.ignore(c, "duplicate_column")
                continue
            seen_roles.add(c.role)
        if self.cap_account is not None:
            for c in cols:
                if c.role in (Role.ACCOUNT, Role.PLATFORM):
                    self.ignore(c, "caption_account")
        if layout == "span" and self.first(Role.DATE) is not None:
            self.ignore(self.first(Role.DATE), "duplicate_column")  # type: ignore[arg-type]
        self._plan_values(layout)
        self._plan_day(layout)
        self.role_map = {}
        for c in cols:
            self.role_map.setdefault(c.role, c)
        self.metric_cols = [c for c in cols if c.role is Role.METRIC and c.metric in METRICS]
        self.fast_metrics = [
            (
                c,
                c.metric or "",
                self.decimals.get(c.index) != "," and c.index not in self.flags,
                c.index,
            )
            for c in self.metric_cols
        ]
        only_date = [
            r
            for r in (Role.PERIOD_END, Role.PERIOD_START, Role.DATE, Role.CUSTOMER_SINCE)
            if r in self.role_map
        ]
        if len(only_date) == 1:
            self.date_index = self.role_map[only_date[0]].index
        self.session_cols = [
            c for c in cols if c.role in (Role.PAGE_COUNT, Role.PAGE_DURATION, Role.VISITOR_TYPE)
        ]

    def _plan_values(self, layout: str) -> None:
        direct = {c.metric for c in self.columns if c.role is Role.METRIC and c.metric in METRICS}
        if layout == "sessions":
            direct.add("sessions")
            if self.first(Role.PAGE_COUNT):
                direct.add("pageviews")
            if self.first(Role.PAGE_DURATION):
                direct.add("time_on_page_s")
        if layout == "posts":
            direct.add("posts")
        for c in self.columns:
            if c.role is not Role.METRIC:
                continue
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.sample]
            texts = [t for t in texts if t.lower() not in MISSING]
            if c.metric in METRICS:
                guesser = DecimalGuesser()
                for t in texts:
                    if "," in t or "." in t:
                        guesser.feed(t)
                self.decimals[c.index] = guesser.result()
                low = {t.lower() for t in texts}
                if low and low <= TRUE_WORDS | FALSE_WORDS:
                    self.flags.add(c.index)
                    if c.metric == "revenue":
                        # A TRUE/FALSE "Revenue" marks a converting visit, not an amount.
                        if "conversions" in direct:
                            self.ignore(c, "duplicate_metric")
                        else:
                            c.metric = "conversions"
                            direct.add("conversions")
        if "net_followers" in direct and direct & {"new_followers", "unfollows"}:
            for c in self.columns:
                if c.role is Role.METRIC and c.metric == "net_followers":
                    self.ignore(c, "redundant_net")
        ratios: list[_Ratio] = []
        by_name = {c.metric: c for c in self.columns if c.role is Role.METRIC}
        for name in RATIO_ORDER:
            found = by_name.get(name)
            if found is None:
                continue
            c = found
            spec = LOCAL_RATIOS[name]
            if spec.counter in direct:
                self.ignore(c, "redundant_ratio")
                continue
            if spec.denominator not in direct:
                self.ignore(c, "ratio_without_denominator")
                continue
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.sample]
            guesser = DecimalGuesser()
            for t in texts:
                guesser.feed(t)
            self.decimals[c.index] = guesser.result()
            percent = bool(spec.percent)
            if spec.percent is None:
                percent = (
                    "%" in c.header
                    or any("%" in t for t in texts)
                    or any(number_or_zero(t) > 1 for t in texts if t and ":" not in t)
                )
            ratios.append(_Ratio(c, spec, percent))
            direct.add(spec.counter)
        self.ratios = ratios

    def _plan_day(self, layout: str) -> None:
        date_col = self.first(Role.DATE) or self.first(Role.CUSTOMER_SINCE)
        if date_col is not None and date_col.index in self.yearless:
            self._plan_yearless(date_col)
        elif date_col is not None:
            guesser = DateGuesser()
            for n, cells in self.sample:
                v = self.cell(cells, date_col.index)
                if isinstance(v, str):
                    guesser.feed(v, n)
            undecided = (
                guesser.dmy == guesser.mdy == 0 and guesser.counts.get(DateFormat.DMY)
            ) or (guesser.undecided() is not None)
            if undecided and not self.exhausted:
                self.date_guesser = guesser
            else:
                self._settle_orders(guesser, date_col)
            self.date_fmt = guesser.result()
        needs_fixed = self.layout.day_from_caption and (
            date_col is None
            and self.first(Role.PERIOD_END) is None
            and self.first(Role.PERIOD_START) is None
        )
        month_col = self.first(Role.MONTH)
        if needs_fixed or month_col is not None:
            self.fixed_day = self.cap_day or self._preamble_day()
            if self.fixed_day is None:
                self.result.needs_day = True
                self.fixed_day = _PLACEHOLDER_DAY

    def _preamble_day(self) -> date | None:
        text = "\n".join(self.preamble)
        if not text:
            return None
        for m in _PREAMBLE_END_RE.finditer(text):
            try:
                return parse_day(m.group(1).strip(" ,;"))
            except ValueError:
                continue
        days = []
        for m in _PREAMBLE_DATE_RE.finditer(text):
            try:
                days.append(parse_day(m.group(0)))
            except ValueError:
                continue
        return max(days) if days else None

    # ------------------------------------------------------------ rows

    def _process(self) -> None:
        if self.date_guesser is not None:
            # An undecided dd/mm vs mm/dd column: look at every value before parsing any.
            self._decide_date_order(self.date_guesser)
        read_row = self.layout.read_row
        res = self.result
        first_col = self.columns[0] if self.columns else None
        check_total = first_col is not None and first_col.role not in (Role.TEXT, Role.METRIC)
        for n, cells in self._rows():
            res.rows_read += 1
            first = cells[0] if cells else None
            if (
                check_total
                and first.__class__ is str
                and not first[:1].isdigit()
                and TOTAL_RE.match(first.strip())
            ):
                self.skip("total")
                continue
            if read_row(self, n, cells):
                res.rows_used += 1

    def _decide_date_order(self, guesser: DateGuesser) -> None:
        date_col = self.first(Role.DATE) or self.first(Role.CUSTOMER_SINCE)
        if date_col is None:
            return
        # A second read of the source instead of holding the rows: memory stays flat.
        last_sampled = self.sample[-1][0] if self.sample else self.header_row
        for n, cells in self.open_records():
            if n <= last_sampled:
                continue
            v = self.cell(cells, date_col.index)
            if isinstance(v, str):
                guesser.feed(v, n)
        self.date_fmt = guesser.result()
        self._settle_orders(guesser, date_col)

    def _settle_orders(self, guesser: DateGuesser, col: Column) -> None:
        """Each date style's day/month order, from all values; refuse what can't be told."""
        undecided = guesser.undecided()
        if undecided is not None:
            why, rows = undecided
            detail = (
                "the column writes the same style both day first and month first"
                if why == "contradicts"
                else "these dates can be read day first or month first"
            )
            raise ImportFailure(
                E.MIXED_DATES, rows[0] if rows else None, col.header, None, detail,
                rows=tuple(rows),
            )  # fmt: skip
        self.date_orders = guesser.orders()

    def skip(self, reason: str) -> None:
        self.result.rows_skipped[reason] = self.result.rows_skipped.get(reason, 0) + 1

    def day(self, n: int, cells: list[Cell], *, fallback: bool) -> date | None:
        """The row's day, None to skip the row (a total row, an empty date)."""
        i = self.date_index
        if i is not None and i < len(cells):
            cached = self.date_cache.get(cells[i])  # type: ignore[arg-type]
            if cached is not None:
                if cached != self.prev_day:
                    self._note_day(cached)
                return cached
        for role in (Role.PERIOD_END, Role.PERIOD_START, Role.DATE, Role.CUSTOMER_SINCE):
            col = self.first(role)
            if col is None:
                continue
            v = self.cell(cells, col.index)
            day, why = self._date_value(n, col, v)
            if day is not None:
                return self._note_day(day)
            if role is Role.PERIOD_END and self.first(Role.PERIOD_START) is not None:
                continue
            if fallback and self.fixed_day is not None and why == "no_date":
                return self.fixed_day
            self.skip(why)
            return None
        month_col = self.first(Role.MONTH)
        if month_col is not None:
            month = month_of(self.cell(cells, month_col.index))
            if month is None:
                raw = cell_text(self.cell(cells, month_col.index))
                if not raw:
                    self.skip("no_date")
                    return None
                raise ImportFailure(E.BAD_DATE, n, month_col.header, raw, "not a month")
            day = self.month_days.get(month)
            if day is None:
                ref = self.fixed_day or _PLACEHOLDER_DAY
                year = ref.year if month <= ref.month else ref.year - 1
                last = date(year, month, 28) + timedelta(days=4)
                day = self.month_days[month] = min(last - timedelta(days=last.day), ref)
            return self._note_day(day)
        return self.fixed_day

    def _note_day(self, day: date) -> date:
        prev = self.prev_day
        if prev is not None and prev != day:
            self.day_steps[0 if day > prev else 1] += 1
        self.prev_day = day
        return day

    def _plan_yearless(self, col: Column) -> None:
        """Years for a `Month D` column: the latest row falls on or before the upload day.

        One pass over the file (nothing kept but counters) finds the direction of
        the rows and how often they cross New Year; each crossing is a year.
        """
        ref = self.cap_day or self.today
        if ref is None:
            self.result.needs_day = True
            ref = _PLACEHOLDER_DAY
        first = last = prev = None
        forward = backward = 0
        for n, cells in self.open_records():
            if n <= self.header_row:
                continue
            md = parse_month_day(cell_text(self.cell(cells, col.index)))
            if md is None:
                continue
            if first is None:
                first = md
            if prev is not None and md != prev:
                forward += md > prev
                backward += md < prev
            prev = last = md
        if first is None or last is None:
            return
        ascending = forward >= backward
        latest = last if ascending else first
        year = ref.year if latest <= (ref.month, ref.day) else ref.year - 1
        wraps = backward if ascending else forward
        self.year_walk = (year - wraps, 1) if ascending else (year, -1)

    def _yearless_day(self, n: int, col: Column, text: str) -> date:
        md = parse_month_day(text)
        if md is None or self.year_walk is None:
            raise ImportFailure(E.BAD_DATE, n, col.header, text, "not a day of a month")
        year, step = self.year_walk
        prev = self.prev_md
        if prev is not None and ((step > 0 and md < prev) or (step < 0 and md > prev)):
            year += step
            self.year_walk = (year, step)
        self.prev_md = md
        try:
            return date(year, md[0], md[1])
        except ValueError:
            raise ImportFailure(E.BAD_DATE, n, col.header, text, "no such day") from None

    def _date_value(self, n: int, col: Column, v: Cell) -> tuple[date | None, str]:
        """The day in a date cell, or None and why (no_date, total, not_a_date)."""
        if v.__class__ is FormulaCell:
            raise ImportFailure(E.FORMULAS, n, col.header, str(v), "a formula without its value")
        if col.index in self.yearless and isinstance(v, str) and v.strip():
            return self._yearless_day(n, col, v.strip()), ""
        if isinstance(v, datetime):
            return v.date(), ""
        if isinstance(v, date):
            return v, ""
        text = cell_text(v)
        if not text or text.lower() in MISSING:
            return None, "no_date"
        day = self.date_cache.get(text)
        if day is not None:
            return day, ""
        fmt = self.date_fmt
        if self.date_orders:
            fmt = self.date_orders.get(date_style(text) or "", fmt)
        try:
            day = parse_day(text, fmt, self.tz)
        except ValueError as e:
            if TOTAL_RE.match(text):
                return None, "total"
            if not any(ch.isdigit() for ch in text):
                return None, "not_a_date"
            raise ImportFailure(E.BAD_DATE, n, col.header, text, str(e)) from None
        if len(self.date_cache) > 50_000:
            self.date_cache.clear()
        self.date_cache[text] = day
        if isinstance(v, str):
            self.date_cache[v] = day
        return day, ""

    def account(self, cells: list[Cell]) -> str | None:
        if self.cap_account is not None:
            return self.cap_account
        col = self.first(Role.ACCOUNT)
        if col is None:
            return None
        cell = self.cell(cells, col.index)
        if self.first(Role.PLATFORM) is None and cell.__class__ is str:
            hit = self.account_cache.get(cell)
            if hit is not None:
                return hit
        raw = cell_text(cell)
        if not raw:
            return None
        plat = self.first(Role.PLATFORM)
        p = cell_text(self.cell(cells, plat.index)).lower() if plat is not None else ""
        key = f"{p}\x1f{raw}"
        acc = self.account_cache.get(key)
        if acc is None:
            acc = raw.lower().lstrip("@")
            if ":" not in acc and p:
                acc = f"{_PLATFORM_PREFIX.get(p, p)}:{acc}"
            if len(self.account_cache) < 10_000:
                self.account_cache[key] = acc
                if plat is None and cell.__class__ is str:
                    self.account_cache[cell] = acc
        return acc

    def number(self, n: int, col: Column, v: Cell, *, percent_ok: bool = False) -> float | None:
        return self.cells.number(n, col, v, percent_ok=percent_ok)

    def duration(self, n: int, col: Column, v: Cell) -> float | None:
        return self.cells.duration(n, col, v)

    def row_values(self, n: int, cells: list[Cell], *, ratios: bool = True) -> dict[str, float]:
        """Direct metric cells of one row, then the ratios converted with them."""
        out: dict[str, float] = {}
        width = len(cells)
        for c, name, fast, index in self.fast_metrics:
            if index >= width:
                continue
            v = cells[index]
            x: float | None = None
            # Inlined fast paths: this loop runs once per cell. Plain digits
            # (`12345`, `0.25`); thousands spaces (`12 345`, the usual export
            # style) and a decimal comma in a comma column (`1 234,5`) are read
            # the way `parse_number` reads them; anything else goes the long way.
            if v.__class__ is str and v.isascii():
                s: str = v
                if " " in s:
                    s = s.strip().replace(" ", "")
                if fast:
                    if s.isdigit() or s.replace(".", "", 1).isdigit():
                        x = float(s)
                elif "." not in s and s.replace(",", "", 1).isdigit() and s[-1:] != ",":
                    x = float(s.replace(",", ".", 1))
            if x is not None:
                if x > MAX_ABS:
                    raise ImportFailure(E.BAD_NUMBER, n, c.header, str(v), "too large")
            else:
                x = self.number(n, c, v)
                if x is None:
                    continue
            if name in out:
                out[name] += x
            else:
                out[name] = x
        if ratios:
            self.apply_ratios(n, cells, out)
        return out

    def apply_ratios(self, n: int, cells: list[Cell], out: dict[str, float]) -> None:
        for r in self.ratios:
            raw = self.cell(cells, r.col.index)
            if r.spec.duration:
                rate = self.duration(n, r.col, raw)
            else:
                rate = self.number(n, r.col, raw, percent_ok=True)
            denominator = out.get(r.spec.denominator)
            if rate is None or denominator is None:
                continue
            share = rate / 100 if r.percent else rate
            if r.spec.percent is None and share > 1 + 1e-9:
                raise ImportFailure(
                    E.BAD_NUMBER, n, r.col.header, cell_text(raw), "a rate above 100%"
                )
            if r.spec.complement:
                share = 1 - share
            out[r.spec.counter] = out.get(r.spec.counter, 0.0) + share * denominator

    def add(self, key: Key, values: dict[str, float]) -> None:
        group = self.result.values.get(key)
        if group is None:
            # The common case (one row per account and day): take the values as they are.
            self.result.values[key] = dict(values)
            if not _GAUGES.isdisjoint(values):
                self.gauges_first[key] = {k: v for k, v in values.items() if k in _GAUGES}
            return
        for name, v in values.items():
            if name in _GAUGES:
                if name not in group:
                    self.gauges_first.setdefault(key, {})[name] = v
                group[name] = v
            else:
                group[name] = group.get(name, 0.0) + v

    # ------------------------------------------------------------ result

    def _finish(self) -> ParsedImport:
        res = self.result
        if res.rows_read and not res.rows_used:
            skipped = ", ".join(f"{k}: {v}" for k, v in sorted(res.rows_skipped.items()))
            raise ImportFailure(E.NO_ROWS, detail=f"no row could be used ({skipped})")
        if self.day_steps[1] > self.day_steps[0]:
            for key, gauges in self.gauges_first.items():
                res.values[key].update(gauges)
        self.layout.finish(self)
        for c in self.columns:
            if c.role in (Role.IGNORED, Role.COMPUTED):
                res.ignored_columns.append((c.header, c.reason or "not_a_metric"))
                res.columns.append((c.index, c.header, "ignored", c.reason or "not_a_metric"))
            elif c.role is Role.METRIC and c.metric is not None:
                res.columns.append((c.index, c.header, c.metric, c.why or "exact"))
                if not c.sure:
                    res.unsure.append((c.index, c.header, c.metric))
            else:
                res.columns.append((c.index, c.header, str(c.role), c.why or "exact"))
        res.ignored_columns.extend(self.ignored.items())
        if res.needs_day:
            res.values = {}
            res.posts = []
        days = [d for _, d in res.values] + [p.day for p in res.posts]
        res.date_range = (min(days), max(days)) if days else None
        res.accounts = {a for a, _ in res.values if a} | {p.account for p in res.posts if p.account}
        res.metrics = {m for group in res.values.values() for m in group}
        return res


_PLATFORM_PREFIX = {
    "vk": "vk",
    "вконтакте": "vk",
    "vkontakte": "vk",
    "instagram": "ig",
    "инстаграм": "ig",
    "ig": "ig",
    "telegram": "tg",
    "телеграм": "tg",
    "tg": "tg",
    "facebook": "fb",
    "fb": "fb",
    "одноклассники": "ok",
    "ok": "ok",
    "youtube": "yt",
    "tiktok": "tt",
    "дзен": "dzen",
    "dzen": "dzen",
}
