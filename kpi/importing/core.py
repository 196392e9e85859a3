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
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from kpi.accounts import normalize_account
from kpi.importing import errors as E
from kpi.importing.columns import (
    AUDIENCE_DIMENSIONS,
    LOCAL_RATIOS,
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
from kpi.importing.meaning import split_words
from kpi.importing.reader import Cell, FormulaCell, Records, open_source
from kpi.metrics import METRICS, Kind, normalize_name
from kpi.models import AudienceBucket, PostRecord
from kpi.parsing import (
    _MONTHS,
    MAX_ABS,
    DateFormat,
    DateGuesser,
    DecimalGuesser,
    date_style,
    parse_day,
    parse_duration,
    parse_month_day,
    parse_number,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SAMPLE_ROWS = 2000
_HEADER_SEARCH = 40
_PLACEHOLDER_DAY = date(2000, 1, 1)
_POST_TEXT_MAX = 2000

_MISSING = frozenset(
    [
        "",
        "-",
        "—",
        "–",
        "--",
        "n/a",
        "na",
        "nan",
        "null",
        "none",
        "нет данных",
        "н/д",
        "#n/a",
        "(not set)",
        "not set",
        "∅",
        "undefined",
    ]
)
_TRUE = frozenset(["true", "yes", "да", "y", "истина", "t"])
_FALSE = frozenset(["false", "no", "нет", "n", "ложь", "f"])
_TOTAL_RE = re.compile(
    r"^(?:итого|итог|всего|total|totals|grand total|sum|сумма|среднее|average|в среднем)\b",
    re.IGNORECASE,
)
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
_ALPHA_RE = re.compile(r"[^\W\d_]")
_HASHTAG_RE = re.compile(r"#([^\W_]\w*)", re.UNICODE)
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
_FORMATS = {
    "photo": "photo",
    "фото": "photo",
    "image": "photo",
    "picture": "photo",
    "изображение": "photo",
    "картинка": "photo",
    "video": "video",
    "видео": "video",
    "reel": "reel",
    "reels": "reel",
    "клип": "reel",
    "клипы": "reel",
    "shorts": "reel",
    "story": "story",
    "stories": "story",
    "сторис": "story",
    "история": "story",
    "text": "text",
    "текст": "text",
    "status": "text",
    "статус": "text",
    "post": "text",
    "link": "link",
    "ссылка": "link",
    "live": "live",
    "прямой эфир": "live",
    "эфир": "live",
    "трансляция": "live",
    "carousel": "carousel",
    "карусель": "carousel",
    "album": "carousel",
    "альбом": "carousel",
    "poll": "poll",
    "опрос": "poll",
    "article": "article",
    "статья": "article",
}
_POST_COUNTERS = ("reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks")
# Ratios whose counters feed later ratios come first (depth → pageviews → time).
_RATIO_ORDER = (
    "page_depth",
    "avg_post_reach",
    "avg_post_views",
    "ctr",
    "bounce_rate",
    "engagement_rate_ga",
    "avg_session_duration",
    "avg_time_on_page",
)

Key = tuple[str | None, date]
# Engagement counters that platforms report net of removals: a day can be below zero.
_NET_ENGAGEMENT = frozenset(("likes", "comments", "shares", "saves", "reactions"))
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
    importer = _Importer(source.records, source.encoding, filename, tz, cap_day, cap_account)
    importer.overrides = dict(overrides or {})
    importer.today = today
    importer.result.sheet = source.sheet
    return importer.run()


def header_signature(headers: list[str]) -> str:
    """The same headers (case, spacing and punctuation aside) give the same signature."""
    key = "\x1f".join(normalize_name(h) for h in headers)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return str(cell)


def _blank(cells: list[Cell]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _fast_float(s: str) -> float | None:
    """Plain `123` / `0.25` without the general parser: most cells are like that."""
    if s.isascii() and s.replace(".", "", 1).isdigit():
        return float(s)
    return None


@dataclass(slots=True)
class _Ratio:
    col: Column
    spec: LocalRatio
    percent: bool


class _Importer:
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
        self.decimals: dict[int, str | None] = {}
        self.flags: set[int] = set()
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
            if _blank(cells):
                self.prev_blank = True
                continue
            first = _text(cells[0]) if cells else ""
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
            if _blank(cells):
                blank_before = True
                continue
            saw_any = True
            first = _text(cells[0]) if cells else ""
            if first.startswith("#"):
                if seen and blank_before:
                    self.exhausted = True  # the next GA4 section: keep the first table only
                    break
                self.preamble.append(" ".join(_text(c) for c in cells if c is not None))
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
            texts = [_text(c) for c in cells]
            filled = [t for t in texts if t]
            if len(filled) < 2:
                continue
            numeric = sum(1 for t in filled if _numberish(t))
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
            self.preamble.append(" ".join(_text(c) for c in cells if c is not None))
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
        layout = self._layout()
        self.result.layout = layout
        self._plan(layout)
        self._process(layout)
        return self._finish(layout)

    # ------------------------------------------------------------ columns

    def _classify(self, header_cells: list[Cell]) -> None:
        headers = [_text(c) for c in header_cells]
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
            texts = [_text(self._cell(cells, c.index)) for _, cells in self.sample[:200]]
            texts = [t for t in texts if t and t.lower() not in _MISSING]
            numeric = sum(1 for t in texts if _numberish(t) or ":" in t)
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
            texts = [_text(self._cell(cells, c.index)) for _, cells in self.sample[:200]]
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
            values = [self._cell(cells, c.index) for _, cells in self.sample]
            typed = sum(1 for v in values if isinstance(v, datetime | date))
            texts = [_text(v) for v in values if not isinstance(v, datetime | date) and _text(v)]
            if c.role is Role.MONTH:
                months = sum(1 for v in values if _month_of(v) is not None)
                guesser = DateGuesser()
                full = sum(1 for t in texts if guesser.feed(t))
                if full + typed > months:
                    c.role = Role.DATE
                elif months * 2 < max(1, len(texts) + typed):
                    c.role, c.reason = Role.IGNORED, "not_a_date"
                continue
            guesser = DateGuesser()
            ok = sum(1 for t in texts if not _TOTAL_RE.match(t) and guesser.feed(t))
            candidates = sum(1 for t in texts if not _TOTAL_RE.match(t)) + typed
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
                    t = _text(self._cell(cells, c.index))
                    if t and not _TOTAL_RE.match(t) and not DateGuesser().feed(t):
                        raise ImportFailure(E.BAD_DATE, n, c.header, t, "not a date")

    def _cell(self, cells: list[Cell], index: int) -> Cell:
        return cells[index] if index < len(cells) else None

    def _first(self, role: Role) -> Column | None:
        if self.role_map is not None:
            return self.role_map.get(role)
        for c in self.columns:
            if c.role is role:
                return c
        return None

    def _layout(self) -> str:
        roles = {c.role for c in self.columns}
        metric_cols = [c for c in self.columns if c.role is Role.METRIC]
        has_date = bool(roles & {Role.DATE, Role.PERIOD_START, Role.PERIOD_END, Role.MONTH})
        dims = (Role.DIMENSION in roles and Role.BUCKET in roles) or Role.AUDIENCE_DIM in roles
        shareish = roles & {Role.SHARE, Role.COUNT, Role.VALUE} or any(
            normalize_name(c.header) == "share" for c in metric_cols
        )
        if (
            dims
            and shareish
            and not has_date
            and not (
                metric_cols and not all(normalize_name(c.header) == "share" for c in metric_cols)
            )
        ):
            return "audience"
        if Role.METRIC_NAME in roles and Role.VALUE in roles:
            return "long"
        if Role.CUSTOMER_SINCE in roles and not roles & {Role.TEXT, Role.HASHTAGS}:
            return "customers"
        if (Role.TEXT in roles or Role.SENTIMENT in roles) and not metric_cols:
            return "mentions"
        if Role.SENTIMENT in roles and not roles & {Role.FORMAT, Role.HASHTAGS}:
            return "mentions"  # one row per item with a sentiment: posts have none
        has_sessions = any(c.metric == "sessions" for c in metric_cols)
        if (
            (Role.VISITOR_TYPE in roles or Role.PAGE_COUNT in roles)
            and not has_sessions
            and (Role.DATE not in roles)
        ):
            return "sessions"
        if not metric_cols and Role.VISITOR_TYPE not in roles and Role.PAGE_COUNT not in roles:
            seen = ", ".join(c.header for c in self.columns if c.header)[:300]
            raise ImportFailure(
                E.NO_METRICS, detail=f"no column is a metric the bot knows; columns: {seen}"
            )
        if roles & {Role.POST_ID, Role.TEXT, Role.HASHTAGS, Role.FORMAT}:
            return "posts"
        if roles & {Role.PERIOD_START, Role.PERIOD_END}:
            return "span"
        if has_date:
            return "wide"
        return "aggregate"

    def _ignore(self, c: Column, reason: str) -> None:
        c.role = Role.IGNORED
        c.reason = reason

    def _plan(self, layout: str) -> None:
        cols = self.columns
        seen_roles: set[Role] = set()
        seen_metrics: set[str] = set()
        used_roles = _LAYOUT_ROLES[layout]
        if layout != "audience":
            for c in cols:
                if c.role is Role.COUNT and c.alt_metric is not None:
                    c.role, c.metric, c.why = Role.METRIC, c.alt_metric, "count"
        # A header the catalogue spells exactly wins over one read from its words.
        seen_metrics.update(
            c.metric
            for c in cols
            if c.role is Role.METRIC
            and c.metric is not None
            and c.why == "exact"
            and layout not in ("mentions", "customers", "audience", "long")
        )
        for c in cols:
            if c.role is Role.METRIC and c.metric is not None and c.why == "exact":
                if layout in ("mentions", "customers", "audience", "long"):
                    self._ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                elif sum(1 for o in cols[: c.index] if o.metric == c.metric and o.why == "exact"):
                    self._ignore(c, "duplicate_metric")
                continue
            if c.role is Role.METRIC and c.metric is not None:
                if layout in ("mentions", "customers", "audience", "long"):
                    self._ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                elif c.metric in seen_metrics:
                    self._ignore(c, "duplicate_metric")
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
                self._ignore(c, "customer_attribute" if layout == "customers" else "not_used")
                continue
            if c.role in seen_roles and c.role not in (Role.PAGE_COUNT, Role.PAGE_DURATION):
                self._ignore(c, "duplicate_column")
                continue
            seen_roles.add(c.role)
        if self.cap_account is not None:
            for c in cols:
                if c.role in (Role.ACCOUNT, Role.PLATFORM):
                    self._ignore(c, "caption_account")
        if layout == "span" and self._first(Role.DATE) is not None:
            self._ignore(self._first(Role.DATE), "duplicate_column")  # type: ignore[arg-type]
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
            if self._first(Role.PAGE_COUNT):
                direct.add("pageviews")
            if self._first(Role.PAGE_DURATION):
                direct.add("time_on_page_s")
        if layout == "posts":
            direct.add("posts")
        for c in self.columns:
            if c.role is not Role.METRIC:
                continue
            texts = [_text(self._cell(cells, c.index)) for _, cells in self.sample]
            texts = [t for t in texts if t.lower() not in _MISSING]
            if c.metric in METRICS:
                guesser = DecimalGuesser()
                for t in texts:
                    if "," in t or "." in t:
                        guesser.feed(t)
                self.decimals[c.index] = guesser.result()
                low = {t.lower() for t in texts}
                if low and low <= _TRUE | _FALSE:
                    self.flags.add(c.index)
                    if c.metric == "revenue":
                        # A TRUE/FALSE "Revenue" marks a converting visit, not an amount.
                        if "conversions" in direct:
                            self._ignore(c, "duplicate_metric")
                        else:
                            c.metric = "conversions"
                            direct.add("conversions")
        if "net_followers" in direct and direct & {"new_followers", "unfollows"}:
            for c in self.columns:
                if c.role is Role.METRIC and c.metric == "net_followers":
                    self._ignore(c, "redundant_net")
        ratios: list[_Ratio] = []
        by_name = {c.metric: c for c in self.columns if c.role is Role.METRIC}
        for name in _RATIO_ORDER:
            found = by_name.get(name)
            if found is None:
                continue
            c = found
            spec = LOCAL_RATIOS[name]
            if spec.counter in direct:
                self._ignore(c, "redundant_ratio")
                continue
            if spec.denominator not in direct:
                self._ignore(c, "ratio_without_denominator")
                continue
            texts = [_text(self._cell(cells, c.index)) for _, cells in self.sample]
            guesser = DecimalGuesser()
            for t in texts:
                guesser.feed(t)
            self.decimals[c.index] = guesser.result()
            percent = bool(spec.percent)
            if spec.percent is None:
                percent = (
                    "%" in c.header
                    or any("%" in t for t in texts)
                    or any(_safe_number(t) > 1 for t in texts if t and ":" not in t)
                )
            ratios.append(_Ratio(c, spec, percent))
            direct.add(spec.counter)
        self.ratios = ratios

    def _plan_day(self, layout: str) -> None:
        date_col = self._first(Role.DATE) or self._first(Role.CUSTOMER_SINCE)
        if date_col is not None and date_col.index in self.yearless:
            self._plan_yearless(date_col)
        elif date_col is not None:
            guesser = DateGuesser()
            for n, cells in self.sample:
                v = self._cell(cells, date_col.index)
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
        needs_fixed = layout in ("aggregate", "posts", "mentions", "sessions", "long") and (
            date_col is None
            and self._first(Role.PERIOD_END) is None
            and self._first(Role.PERIOD_START) is None
        )
        month_col = self._first(Role.MONTH)
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

    def _process(self, layout: str) -> None:
        if self.date_guesser is not None:
            # An undecided dd/mm vs mm/dd column: look at every value before parsing any.
            self._decide_date_order(self.date_guesser)
        handler = getattr(self, f"_row_{layout}")
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
                and _TOTAL_RE.match(first.strip())
            ):
                self._skip("total")
                continue
            if handler(n, cells):
                res.rows_used += 1

    def _decide_date_order(self, guesser: DateGuesser) -> None:
        date_col = self._first(Role.DATE) or self._first(Role.CUSTOMER_SINCE)
        if date_col is None:
            return
        # A second read of the source instead of holding the rows: memory stays flat.
        last_sampled = self.sample[-1][0] if self.sample else self.header_row
        for n, cells in self.open_records():
            if n <= last_sampled:
                continue
            v = self._cell(cells, date_col.index)
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

    def _skip(self, reason: str) -> None:
        self.result.rows_skipped[reason] = self.result.rows_skipped.get(reason, 0) + 1

    def _day(self, n: int, cells: list[Cell], *, fallback: bool) -> date | None:
        """The row's day, None to skip the row (a total row, an empty date)."""
        i = self.date_index
        if i is not None and i < len(cells):
            cached = self.date_cache.get(cells[i])  # type: ignore[arg-type]
            if cached is not None:
                if cached != self.prev_day:
                    self._note_day(cached)
                return cached
        for role in (Role.PERIOD_END, Role.PERIOD_START, Role.DATE, Role.CUSTOMER_SINCE):
            col = self._first(role)
            if col is None:
                continue
            v = self._cell(cells, col.index)
            day, why = self._date_value(n, col, v)
            if day is not None:
                return self._note_day(day)
            if role is Role.PERIOD_END and self._first(Role.PERIOD_START) is not None:
                continue
            if fallback and self.fixed_day is not None and why == "no_date":
                return self.fixed_day
            self._skip(why)
            return None
        month_col = self._first(Role.MONTH)
        if month_col is not None:
            month = _month_of(self._cell(cells, month_col.index))
            if month is None:
                raw = _text(self._cell(cells, month_col.index))
                if not raw:
                    self._skip("no_date")
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
            md = parse_month_day(_text(self._cell(cells, col.index)))
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
        text = _text(v)
        if not text or text.lower() in _MISSING:
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
            if _TOTAL_RE.match(text):
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

    def _account(self, cells: list[Cell]) -> str | None:
        if self.cap_account is not None:
            return self.cap_account
        col = self._first(Role.ACCOUNT)
        if col is None:
            return None
        cell = self._cell(cells, col.index)
        if self._first(Role.PLATFORM) is None and cell.__class__ is str:
            hit = self.account_cache.get(cell)
            if hit is not None:
                return hit
        raw = _text(cell)
        if not raw:
            return None
        plat = self._first(Role.PLATFORM)
        p = _text(self._cell(cells, plat.index)).lower() if plat is not None else ""
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

    def _number(self, n: int, col: Column, v: Cell, *, percent_ok: bool = False) -> float | None:
        if v is None:
            return None
        if v.__class__ is FormulaCell:
            raise ImportFailure(E.FORMULAS, n, col.header, str(v), "a formula without its value")
        if type(v) is str:
            t = v[:-1].rstrip() if percent_ok and v.endswith("%") else v
            if self.decimals.get(col.index) == ",":
                fast = _fast_float(t.replace(",", ".", 1)) if "." not in t else None
            else:
                fast = _fast_float(t)
            if fast is not None:
                if fast > MAX_ABS:
                    raise ImportFailure(E.BAD_NUMBER, n, col.header, v, "too large")
                return fast
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if isinstance(v, int | float):
            value = float(v)
            if not math.isfinite(value) or abs(value) > MAX_ABS:
                raise ImportFailure(E.BAD_NUMBER, n, col.header, _text(v), "not a finite number")
        elif isinstance(v, str):
            s = v.strip()
            low = s.lower()
            if low in _MISSING:
                return None
            if col.index in self.flags:
                if low in _TRUE:
                    return 1.0
                if low in _FALSE:
                    return 0.0
            if "%" in s and not percent_ok:
                raise ImportFailure(
                    E.BAD_NUMBER, n, col.header, s, "a percentage in a column of counts"
                )
            try:
                value = parse_number(s, decimal=self.decimals.get(col.index))
            except ValueError as e:
                raise ImportFailure(E.BAD_NUMBER, n, col.header, s, str(e)) from None
        elif isinstance(v, timedelta):
            value = v.total_seconds()
        elif isinstance(v, time):
            value = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        else:
            raise ImportFailure(E.BAD_NUMBER, n, col.header, _text(v), "a date, not a number")
        if value < 0 and col.metric in _NET_ENGAGEMENT:
            # TikTok's daily comments and likes are net of removals (`-1`): real, kept.
            counts = self.result.negative_cells
            counts[col.header] = counts.get(col.header, 0) + 1
        elif value < 0 and not (col.metric in METRICS and METRICS[col.metric].signed):
            raise ImportFailure(
                E.NEGATIVE, n, col.header, _text(v), "negative values are not allowed"
            )
        return value

    def _duration(self, n: int, col: Column, v: Cell) -> float | None:
        if isinstance(v, str) and _fast_float(v) is None and (":" in v or _ALPHA_RE.search(v)):
            s = v.strip()
            if s.lower() in _MISSING:
                return None
            try:
                return parse_duration(s)
            except ValueError as e:
                raise ImportFailure(E.BAD_DURATION, n, col.header, s, str(e)) from None
        return self._number(n, col, v)

    def _row_values(self, n: int, cells: list[Cell], *, ratios: bool = True) -> dict[str, float]:
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
                x = self._number(n, c, v)
                if x is None:
                    continue
            if name in out:
                out[name] += x
            else:
                out[name] = x
        if ratios:
            self._apply_ratios(n, cells, out)
        return out

    def _apply_ratios(self, n: int, cells: list[Cell], out: dict[str, float]) -> None:
        for r in self.ratios:
            raw = self._cell(cells, r.col.index)
            if r.spec.duration:
                rate = self._duration(n, r.col, raw)
            else:
                rate = self._number(n, r.col, raw, percent_ok=True)
            denominator = out.get(r.spec.denominator)
            if rate is None or denominator is None:
                continue
            share = rate / 100 if r.percent else rate
            if r.spec.percent is None and share > 1 + 1e-9:
                raise ImportFailure(E.BAD_NUMBER, n, r.col.header, _text(raw), "a rate above 100%")
            if r.spec.complement:
                share = 1 - share
            out[r.spec.counter] = out.get(r.spec.counter, 0.0) + share * denominator

    def _add(self, key: Key, values: dict[str, float]) -> None:
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

    # -- layouts

    def _row_wide(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=False)
        if day is None:
            return False
        values = self._row_values(n, cells)
        if not values:
            self._skip("no_values")
            return False
        self._add((self._account(cells), day), values)
        return True

    _row_span = _row_wide
    _row_aggregate = _row_wide

    def _row_sessions(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=True)
        if day is None:
            return False
        out = self._row_values(n, cells, ratios=False)
        out["sessions"] = out.get("sessions", 0.0) + 1
        for c in self.session_cols:
            if c.role is Role.PAGE_COUNT:
                v = self._number(n, c, self._cell(cells, c.index))
                if v is not None:
                    out["pageviews"] = out.get("pageviews", 0.0) + v
            elif c.role is Role.PAGE_DURATION:
                v = self._duration(n, c, self._cell(cells, c.index))
                if v is not None:
                    out["time_on_page_s"] = out.get("time_on_page_s", 0.0) + v
            elif c.role is Role.VISITOR_TYPE:
                kind = _visitor_kind(_text(self._cell(cells, c.index)))
                if kind is not None:
                    out[kind] = out.get(kind, 0.0) + 1
        self._apply_ratios(n, cells, out)
        self._add((self._account(cells), day), out)
        return True

    def _row_customers(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=False)
        if day is None:
            return False
        self._add((self._account(cells), day), {"new_customers": 1.0})
        return True

    def _row_posts(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=True)
        if day is None:
            return False
        values = self._row_values(n, cells)
        account = self._account(cells)
        author = self._first(Role.AUTHOR)
        if author is not None and len(self.authors) < 2:
            name = _text(self._cell(cells, author.index)).lower()
            if name:
                self.authors.add(name)
        text_col, tags_col = self._first(Role.TEXT), self._first(Role.HASHTAGS)
        text = _text(self._cell(cells, text_col.index)) if text_col else ""
        tags_text = _text(self._cell(cells, tags_col.index)) if tags_col else ""
        hashtags = _hashtags(tags_text) or _hashtags(text)
        id_col, fmt_col = self._first(Role.POST_ID), self._first(Role.FORMAT)
        post_id = _text(self._cell(cells, id_col.index)) if id_col else ""
        if not post_id:
            digest = hashlib.blake2b(
                "\x1f".join(_text(c) for c in cells).encode("utf-8", "replace"), digest_size=8
            )
            post_id = "h:" + digest.hexdigest()
        fmt = _text(self._cell(cells, fmt_col.index)).lower() if fmt_col else ""
        self.result.posts.append(
            PostRecord(
                account=account or "",
                day=day,
                post_id=post_id,
                format=_FORMATS.get(fmt, fmt) or None,
                hashtags=hashtags,
                text=text[:_POST_TEXT_MAX] or None,
                **{k: values.get(k) for k in _POST_COUNTERS},
            )
        )
        values["posts"] = values.get("posts", 0.0) + 1
        self._add((account, day), values)
        return True

    def _row_mentions(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=True)
        if day is None:
            return False
        key = (self._account(cells), day)
        col = self._first(Role.SENTIMENT)
        label: str | float | None = None
        if col is not None:
            raw = _text(self._cell(cells, col.index))
            label = _sentiment_label(raw)
            if label == "drop":
                self._skip("not_relevant")
                return False
        self._add(key, {"mentions": 1.0})
        if label is not None:
            counts = self.sentiment.setdefault(key, {})
            counts[label] = counts.get(label, 0) + 1
        return True

    def _row_long(self, n: int, cells: list[Cell]) -> bool:
        day = self._day(n, cells, fallback=True)
        if day is None:
            return False
        name_col, value_col = self._first(Role.METRIC_NAME), self._first(Role.VALUE)
        assert name_col is not None and value_col is not None
        name = _text(self._cell(cells, name_col.index))
        role, metric = classify(name, web=self.result.platform in ("ga4", "yandex_metrica"))
        if role is not Role.METRIC or metric is None:
            if name:
                self.ignored.setdefault(name, "unknown_metric")
            self._skip("unknown_metric")
            return False
        key = (self._account(cells), day)
        raw = self._cell(cells, value_col.index)
        if metric in METRICS:
            v = self._number(n, value_col, raw)
            if v is None:
                self._skip("no_values")
                return False
            self._add(key, {metric: v})
        else:
            spec = LOCAL_RATIOS[metric]
            if spec.duration:
                rate = self._duration(n, value_col, raw)
            else:
                rate = self._number(n, value_col, raw, percent_ok=True)
            if rate is None:
                return False
            if spec.percent is None and not ("%" in _text(raw) or rate > 1):
                rate *= 100  # a fraction: keep every stored rate in percent
            self.long_ratios.setdefault(key, {})[metric] = rate
        return True

    def _row_audience(self, n: int, cells: list[Cell]) -> bool:
        dim_col, bucket_col = self._first(Role.DIMENSION), self._first(Role.BUCKET)
        implicit = self._first(Role.AUDIENCE_DIM)
        if dim_col is not None and bucket_col is not None:
            dim = _text(self._cell(cells, dim_col.index))
            bucket = _text(self._cell(cells, bucket_col.index))
        elif implicit is not None:
            dim, bucket = implicit.header, _text(self._cell(cells, implicit.index))
        else:
            return False
        if not dim or not bucket:
            self._skip("no_values")
            return False
        value_col = self._first(Role.SHARE) or self._first(Role.COUNT) or self._first(Role.VALUE)
        if value_col is None:
            value_col = next(c for c in self.columns if normalize_name(c.header) == "share")
            value_col.role = Role.SHARE
        raw = self._cell(cells, value_col.index)
        v = self._number(n, value_col, raw, percent_ok=True)
        if v is None:
            self._skip("no_values")
            return False
        if value_col.role is Role.SHARE:
            is_share = True
        elif value_col.role is Role.COUNT:
            is_share = False
        else:
            is_share = "%" in _text(raw) or "%" in value_col.header
        dimension = AUDIENCE_DIMENSIONS.get(normalize_name(dim), normalize_name(dim))
        self.result.audience.append(AudienceBucket(dimension, bucket, v, is_share))
        return True

    # ------------------------------------------------------------ result

    def _finish(self, layout: str) -> ParsedImport:
        res = self.result
        if res.rows_read and not res.rows_used:
            skipped = ", ".join(f"{k}: {v}" for k, v in sorted(res.rows_skipped.items()))
            raise ImportFailure(E.NO_ROWS, detail=f"no row could be used ({skipped})")
        if self.day_steps[1] > self.day_steps[0]:
            for key, gauges in self.gauges_first.items():
                res.values[key].update(gauges)
        if layout == "posts" and len(self.authors) > 1:
            for group in res.values.values():
                group.pop("followers", None)
            for c in self.columns:
                if c.role is Role.METRIC and c.metric == "followers":
                    self._ignore(c, "per_author")
        if layout == "mentions":
            self._finish_sentiment()
        if layout == "long":
            self._finish_long_ratios()
        if layout == "audience":
            self._finish_audience_shares()
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

    def _finish_audience_shares(self) -> None:
        """Shares written as fractions (`0.41`) become percent, like `41 %` and `41,0`."""
        shares = [b for b in self.result.audience if b.is_share]
        if not shares or any(b.value > 1 for b in shares):
            return
        per_dim: dict[str, float] = {}
        for b in shares:
            per_dim[b.dimension] = per_dim.get(b.dimension, 0.0) + b.value
        if all(0.5 <= total <= 1.05 for total in per_dim.values()):
            self.result.audience = [
                AudienceBucket(b.dimension, b.bucket, b.value * 100, True) if b.is_share else b
                for b in self.result.audience
            ]

    def _finish_sentiment(self) -> None:
        numbers = {k for counts in self.sentiment.values() for k in counts if isinstance(k, float)}
        mid = _scale_middle(numbers) if numbers else None
        col = self._first(Role.SENTIMENT)
        usable = False
        for key, counts in self.sentiment.items():
            pos = neg = 0
            for label, count in counts.items():
                if isinstance(label, float):
                    if mid is None:
                        continue
                    usable = True
                    pos += count if label > mid else 0
                    neg += count if label < mid else 0
                else:
                    usable = True
                    pos += count if label == "positive" else 0
                    neg += count if label == "negative" else 0
            group = self.result.values[key]
            group["mentions_positive"] = float(pos)
            group["mentions_negative"] = float(neg)
        if not usable:
            for group in self.result.values.values():
                group.pop("mentions_positive", None)
                group.pop("mentions_negative", None)
            if col is not None:
                self._ignore(col, "unknown_sentiment_scale")
            return
        for group in self.result.values.values():
            group.setdefault("mentions_positive", 0.0)
            group.setdefault("mentions_negative", 0.0)

    def _finish_long_ratios(self) -> None:
        for key, ratios in self.long_ratios.items():
            group = self.result.values.setdefault(key, {})
            for name in _RATIO_ORDER:
                if name not in ratios:
                    continue
                spec = LOCAL_RATIOS[name]
                denominator = group.get(spec.denominator)
                if spec.counter in group and name not in (
                    "page_depth",
                    "avg_post_reach",
                    "avg_post_views",
                ):
                    continue
                if denominator is None:
                    self.ignored.setdefault(name, "ratio_without_denominator")
                    continue
                share = ratios[name] / 100 if spec.percent is None else ratios[name]
                if spec.complement:
                    share = 1 - share
                group.setdefault(spec.counter, share * denominator)
        for key in [k for k, g in self.result.values.items() if not g]:
            del self.result.values[key]


_LAYOUT_ROLES: dict[str, frozenset[Role]] = {
    "wide": frozenset({Role.DATE, Role.MONTH, Role.ACCOUNT, Role.PLATFORM}),
    "span": frozenset({Role.PERIOD_START, Role.PERIOD_END, Role.ACCOUNT, Role.PLATFORM}),
    "aggregate": frozenset({Role.ACCOUNT, Role.PLATFORM}),
    "posts": frozenset(
        {
            Role.DATE,
            Role.MONTH,
            Role.ACCOUNT,
            Role.PLATFORM,
            Role.AUTHOR,
            Role.POST_ID,
            Role.TEXT,
            Role.HASHTAGS,
            Role.FORMAT,
        }
    ),
    "mentions": frozenset({Role.DATE, Role.ACCOUNT, Role.PLATFORM, Role.TEXT, Role.SENTIMENT}),
    "sessions": frozenset(
        {
            Role.MONTH,
            Role.ACCOUNT,
            Role.PLATFORM,
            Role.VISITOR_TYPE,
            Role.PAGE_COUNT,
            Role.PAGE_DURATION,
        }
    ),
    "customers": frozenset({Role.CUSTOMER_SINCE, Role.ACCOUNT, Role.PLATFORM}),
    "long": frozenset({Role.DATE, Role.ACCOUNT, Role.PLATFORM, Role.METRIC_NAME, Role.VALUE}),
    "audience": frozenset(
        {Role.DIMENSION, Role.BUCKET, Role.AUDIENCE_DIM, Role.SHARE, Role.COUNT, Role.VALUE}
    ),
}

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


def _numberish(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def _safe_number(text: str) -> float:
    try:
        return parse_number(text)
    except ValueError:
        return 0.0


def _month_of(v: Cell) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return int(v) if float(v).is_integer() and 1 <= v <= 12 else None
    if isinstance(v, str):
        s = v.strip().lower().rstrip(".")
        if s.isdigit():
            return int(s) if 1 <= int(s) <= 12 else None
        return _MONTHS.get(s)
    return None


def _visitor_kind(text: str) -> str | None:
    low = text.lower()
    if "new" in low or "нов" in low:
        return "new_visitors"
    if "return" in low or "вернув" in low or "повтор" in low:
        return "returning_visitors"
    return None


def _hashtags(text: str) -> tuple[str, ...]:
    if "#" not in text:
        return ()
    seen: dict[str, None] = {}
    for tag in _HASHTAG_RE.findall(text):
        seen.setdefault(tag.casefold(), None)
    return tuple(seen)


_SENTIMENT_WORDS = (
    ("drop", ("not relevant", "not_relevant", "irrelevant", "нерелевант", "spam", "спам")),
    ("positive", ("pos", "позитив", "положит", "good")),
    ("negative", ("neg", "негатив", "отрицат", "bad")),
    ("neutral", ("neutr", "нейтр", "mixed", "смешан")),
)


def _sentiment_label(raw: str) -> str | float | None:
    low = raw.strip().lower()
    if not low or low in _MISSING:
        return None
    try:
        return parse_number(low)
    except ValueError:
        pass
    for label, prefixes in _SENTIMENT_WORDS:
        if any(low.startswith(p) for p in prefixes):
            return label
    return None


def _scale_middle(values: set[float]) -> float | None:
    """The neutral point of a numeric sentiment scale, or None if it cannot be told."""
    lo, hi = min(values), max(values)
    ints = all(v.is_integer() for v in values)
    if lo < 0:
        return 0.0
    if values <= {0.0, 1.0} or (hi <= 1 and not ints):
        return 0.5
    if ints and lo >= 1 and hi <= 5:
        return 3.0
    if ints and hi <= 10:
        return 5.0
    if ints and hi <= 100:
        return 50.0
    return None
