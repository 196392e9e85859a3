"""Turn one uploaded table into per-(account, day) metric values, posts or audience.

Pure: bytes in, `ParsedImport` out or `ImportFailure` raised; nothing is
stored here, so "one import is one transaction" is the caller's commit.

The pipeline, one module per step:
`reader` (bytes → records: encoding, delimiter, XLSX sheet and formula cells)
→ `records` (the header row, the lines above it, a sample, then streamed rows)
→ `columns` + `meaning` (what each header means: exact spellings, then its
words) → `layouts` (each layout scores itself on the evidence; the best one
plans the columns and reads every row) → `days` (the day each row counts on)
and `cells` (one cell → a number, duration or text). `ImportContext` below
holds one import's state and the column plan shared by the layouts.

Decisions (see also the module docstrings next to this one):
* Layouts are told apart by column roles and values, not by platform.
* The user's column choices (`overrides`, from the preview or a remembered
  mapping) replace what the bot read; a column read from its words with an
  unknown word, or a layout another one also fits, is reported unsure so the
  bot asks before storing.
* Within a day the last gauge in file order is kept; in a file whose rows run
  newest first the first one is, since that is the latest.
* Memory: rows stream through (a CSV is decoded as it is read); only
  per-(account, day) sums (in a `values.ValueStore`, ~200 bytes an account-day),
  posts and audience rows are kept, plus a sample of the first 2000 rows. The
  store writes them in chunks (storage/metrics.py), inside the one transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo

from kpi.accounts import normalize_account
from kpi.importing import errors as E
from kpi.importing.cells import (
    FALSE_WORDS,
    MISSING,
    TOTAL_RE,
    TRUE_WORDS,
    CellParser,
    cell_text,
    formula_failure,
    is_number,
    number_or_zero,
)
from kpi.importing.columns import (
    LOCAL_RATIOS,
    RATIO_ORDER,
    Column,
    LocalRatio,
    Role,
    classify_column,
    detect_platform,
    duration_base,
    is_web_header,
)
from kpi.importing.days import DayReader
from kpi.importing.errors import ImportFailure
from kpi.importing.layouts import choose_layout
from kpi.importing.layouts.base import Layout
from kpi.importing.policy import RowPolicy
from kpi.importing.reader import Cell, Records, open_source
from kpi.importing.records import RecordStream
from kpi.importing.values import ValueStore
from kpi.metrics import METRICS, Kind, normalize_name
from kpi.models import AudienceBucket, PostRecord
from kpi.parsing import (
    MAX_ABS,
    DecimalGuesser,
    parse_day,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SAMPLE_ROWS = 2000
_PLACEHOLDER_DAY = date(2000, 1, 1)
_POST_TEXT_MAX = 2000

_CAPTION_DATE_RE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}\.\d{1,2}\.\d{1,2}"
)
_CAPTION_ACCOUNT_RE = re.compile(r"(?<![\w/])@?([a-z][a-z0-9_]{0,15}:@?[a-z0-9_][a-z0-9_.\-]*)")
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
    values: ValueStore[Key] = field(default_factory=ValueStore)
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
    total_row: str | None = None  # the platform's total row stored instead of its breakdown
    time_offsets: list[str] = field(default_factory=list)  # UTC offsets seen in timestamps
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
    "" to ignore the column; `LAYOUT_CHOICE` → a layout name), from the preview
    or a remembered mapping. `today` (the workspace's) bounds the days a row
    may store (kpi/datepolicy.py).
    """
    if len(data) > max_bytes:
        raise ImportFailure(
            E.TOO_LARGE, detail=f"{len(data)} bytes; the limit is {max_bytes} bytes"
        )
    if not data.strip():
        raise ImportFailure(E.EMPTY, detail="the file is empty")
    cap_day, cap_account = parse_caption(caption)
    if data.lstrip()[:1] in (b"{", b"["):  # Telegram's channel statistics (graphs JSON)
        from kpi.importing import telegram_stats

        if telegram_stats.looks_like_stats(data):
            return telegram_stats.parse_telegram_stats(data, cap_account)
    source = open_source(data, filename, sheet)
    if source.sheet_choices:
        return ParsedImport(layout="", sheet_choices=source.sheet_choices)
    importer = ImportContext(source.records, source.encoding, filename, tz, cap_day, cap_account)
    importer.overrides = dict(overrides or {})
    importer.today = today
    importer.policy = RowPolicy(today)  # the days and account names a row may store
    importer.result.sheet = source.sheet
    return importer.run()


# The key of `overrides` that holds the user's layout choice rather than a column's.
LAYOUT_CHOICE = -1


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
        self.stream = RecordStream(records())
        self.filename = filename
        self.tz = tz
        self.cap_day = cap_day
        self.cap_account = cap_account
        self.result = ParsedImport(layout="", encoding=encoding)
        self.columns: list[Column] = []
        self.cells = CellParser(self.result.negative_cells)
        self.decimals = self.cells.decimals
        self.flags = self.cells.flags
        self.ratios: list[_Ratio] = []
        self.gauges_first: ValueStore[Key] = ValueStore()
        self.authors: set[str] = set()
        self.sentiment: dict[Key, dict[str | float, int]] = {}
        self.long_ratios: dict[Key, dict[str, float]] = {}
        self.ignored: dict[str, str] = {}
        self.header_row = 1
        self.role_map: dict[Role, Column] | None = None
        self.metric_cols: list[Column] = []
        self.session_cols: list[Column] = []
        self.fast_metrics: list[tuple[Column, str, bool, int]] = []
        self.account_cache: dict[str, str] = {}
        # Where there is no platform column the cell alone names the account: cell → name.
        self.account_by_cell: dict[str, str] = {}
        self.overrides: dict[int, str] = {}
        self.layout: Layout
        self.label_cols: list[int] = []
        self.unnamed_total: int | None = None
        self.totals: list[tuple[str, dict[str, float]]] = []  # (label, values) of total rows
        self.days = DayReader(self)
        self.today: date | None = None
        self.policy = RowPolicy()
        self.row_no: int | None = None  # the row whose day was read last

    # ------------------------------------------------------------ run

    def run(self) -> ParsedImport:
        header_row, header_cells = self.stream.find_header()
        self.result.header_row = self.header_row = header_row
        self.stream.fill_sample(SAMPLE_ROWS)
        if not self.stream.sample:
            raise ImportFailure(E.HEADER_ONLY, row=header_row, detail="a header and no data rows")
        self._classify(header_cells)
        choice = choose_layout(self.columns, self.overrides.get(LAYOUT_CHOICE))
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
        preamble = "\n".join(self.stream.preamble)
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
        if not {c.role for c in cols} & {Role.DIMENSION, Role.BUCKET, Role.AUDIENCE_DIM}:
            # "Active users", "Посетители" beside no audience groups: a metric, not a count.
            for c in cols:
                if c.role is Role.COUNT and c.alt_metric is not None:
                    c.role, c.metric, c.why = Role.METRIC, c.alt_metric, "count"
        self.columns = cols
        self._verify_read_by_words()
        self._check_one_row_per_post()
        self.days.find_timestamps()
        self.days.verify_columns()

    def _check_one_row_per_post(self) -> None:
        """Ids that repeat (YouTube's chart data: a video per day) are items, not posts."""
        ids = next((c for c in self.columns if c.role is Role.POST_ID), None) or next(
            (c for c in self.columns if c.role is Role.TEXT), None
        )
        if ids is None or not any(c.role is Role.DATE for c in self.columns):
            return
        values = [cell_text(self.cell(cells, ids.index)) for _, cells in self.stream.sample]
        values = [v for v in values if v]
        if len(values) < 4 or len(set(values)) * 10 > len(values) * 9:
            return
        for c in self.columns:
            if c.role in (Role.POST_ID, Role.TEXT, Role.HASHTAGS, Role.FORMAT):
                c.role, c.reason, c.why = Role.IGNORED, "repeated_items", "exact"

    def _verify_read_by_words(self) -> None:
        """A header read from its words must hold numbers (`Video title` holds titles)."""
        for c in self.columns:
            if c.role is not Role.METRIC or c.why in ("exact", "your choice"):
                continue
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.stream.sample[:200]]
            texts = [t for t in texts if t and t.lower() not in MISSING]
            numeric = sum(1 for t in texts if is_number(t) or ":" in t)
            if not texts or numeric * 10 < len(texts) * 9:
                c.role, c.metric, c.sure = Role.IGNORED, None, True

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
        self.days.plan()
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
            self.days.date_index = self.role_map[only_date[0]].index
        self.session_cols = [
            c for c in cols if c.role in (Role.PAGE_COUNT, Role.PAGE_DURATION, Role.VISITOR_TYPE)
        ]
        # Where a "Total" label can stand: the first few columns that are not numbers or text.
        self.label_cols = [
            c.index
            for c in cols[:3]
            if c.role not in (Role.METRIC, Role.TEXT, Role.SENTIMENT, Role.DATE, Role.POST_ID)
        ]
        self.unnamed_total = self._unnamed_total_row()

    def _unnamed_total_row(self) -> int | None:
        """Meta's totals row: every label cell empty, its numbers the sum of the other rows."""
        if not self.stream.exhausted or self.layout.name not in ("aggregate", "span"):
            return None
        labels = [
            c.index
            for c in self.columns
            if c.role is Role.IGNORED
            and sum(1 for _, cells in self.stream.sample if cell_text(self.cell(cells, c.index)))
            * 10
            >= len(self.stream.sample) * 8
        ]
        if not labels or not self.metric_cols:
            return None
        name = labels[0]  # the name column ("Campaign name"), filled on every item row
        blank = [n for n, cells in self.stream.sample if not cell_text(self.cell(cells, name))]
        if len(blank) != 1:
            return None
        row = blank[0]
        matches = checked = 0
        for c in self.metric_cols:
            total = other = 0.0
            for n, cells in self.stream.sample:
                v = number_or_zero(cell_text(self.cell(cells, c.index)))
                if n == row:
                    total = v
                else:
                    other += v
            if total:
                checked += 1
                matches += abs(total - other) <= 0.01 * abs(total)
        return row if checked and matches * 2 > checked else None

    def _is_total(self, n: int, cells: list[Cell]) -> bool:
        if n == self.unnamed_total:
            return True
        for i in self.label_cols:
            v = cells[i] if i < len(cells) else None
            if v.__class__ is str and TOTAL_RE.match(v.strip()):
                return True
        return False

    def _followers_that_are_net(self, direct: set[str]) -> None:
        """YouTube's per-video `Subscribers` is gained − lost: a net change, not the count."""
        by_metric = {c.metric: c for c in self.columns if c.role is Role.METRIC}
        followers = by_metric.get("followers")
        gained, lost = by_metric.get("new_followers"), by_metric.get("unfollows")
        if followers is None or gained is None or lost is None:
            return
        rows = same = 0
        for _, cells in self.stream.sample:
            f, g, lo = (cell_text(self.cell(cells, c.index)) for c in (followers, gained, lost))
            if not (f and g and lo) or not (is_number(f) and is_number(g) and is_number(lo)):
                continue
            rows += 1
            same += number_or_zero(f) == number_or_zero(g) - number_or_zero(lo)
        if rows and same * 10 >= rows * 9:
            self.ignore(followers, "redundant_net")
            direct.discard("followers")

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
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.stream.sample]
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
        self._followers_that_are_net(direct)
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
            texts = [cell_text(self.cell(cells, c.index)) for _, cells in self.stream.sample]
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

    # ------------------------------------------------------------ rows

    def _process(self) -> None:
        if self.days.date_guesser is not None:
            # An undecided dd/mm vs mm/dd column: look at every value before parsing any.
            self.days.decide_order(self.days.date_guesser)
        read_row = self.layout.read_row
        res = self.result
        check_total = bool(self.label_cols) or self.unnamed_total is not None
        keep_totals = self.layout.name in ("aggregate", "span")
        for n, cells in self.stream.rows():
            res.rows_read += 1
            first = cells[0] if cells else None
            # The usual row starts with a date or a number: no total label to look for.
            if (
                check_total
                and not (first.__class__ is str and first[:1].isdigit())
                and self._is_total(n, cells)
            ):
                self.skip("total")
                if keep_totals and len(self.totals) < 50:
                    label = " ".join(cell_text(self.cell(cells, i)) for i in self.label_cols)
                    self.totals.append((label.strip(), self.row_values(n, cells)))
                continue
            if read_row(self, n, cells):
                res.rows_used += 1

    def skip(self, reason: str) -> None:
        self.result.rows_skipped[reason] = self.result.rows_skipped.get(reason, 0) + 1

    def day(self, n: int, cells: list[Cell], *, fallback: bool) -> date | None:
        """The row's day, None to skip the row (a total row, an empty date)."""
        self.row_no = n
        return self.days.day(n, cells, fallback=fallback)

    def account(self, cells: list[Cell]) -> str | None:
        if self.cap_account is not None:
            return self.cap_account
        col = self.first(Role.ACCOUNT)
        if col is None:
            return None
        i = col.index
        cell = cells[i] if i < len(cells) else None
        if cell.__class__ is str:
            hit = self.account_by_cell.get(cell)
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
                    self.account_by_cell[cell] = acc
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
            # This loop runs once per cell: the commonest cell (`12345`) is read here,
            # the other plain ones in `_plain_number`, the rest by `number`.
            x: float | None
            if v.__class__ is str and v.isdigit() and v.isascii():
                x = float(v)
                if x > MAX_ABS:
                    raise ImportFailure(E.BAD_NUMBER, n, c.header, str(v), "too large")
            else:
                x = self._plain_number(n, c, fast, v)
                if x is None:
                    continue
            if name in out:
                out[name] += x
            else:
                out[name] = x
        if ratios:
            self.apply_ratios(n, cells, out)
        return out

    def _plain_number(self, n: int, c: Column, fast: bool, v: Cell) -> float | None:
        """A metric cell: the plain shapes without the general parser, the rest by `number`.

        Plain digits with a dot (`0.25`); thousands spaces (`12 345`, the usual
        export style) and a decimal comma in a comma column (`1 234,5`) are read
        the way `parse_number` reads them; anything else goes the long way.
        """
        x: float | None = None
        if v.__class__ is str and v.isascii():
            s: str = v
            if " " in s:
                s = s.strip().replace(" ", "")
            if fast:
                if s.isdigit() or s.replace(".", "", 1).isdigit():
                    x = float(s)
            elif "." not in s and s.replace(",", "", 1).isdigit() and s[-1:] != ",":
                x = float(s.replace(",", ".", 1))
        if x is None:
            return self.number(n, c, v)
        if x > MAX_ABS:
            raise ImportFailure(E.BAD_NUMBER, n, c.header, str(v), "too large")
        return x

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
        # Every stored (account, day) passes here: kpi/importing/policy.py checks both.
        # (While the real day is still to be asked, rows carry a placeholder: not checked.)
        placeholder = self.result.needs_day
        self.policy.check(self.row_no, key[0], None if placeholder else key[1])
        store = self.result.values
        slot = store.slot(key)
        if slot is None:
            # The common case (one row per account and day): take the values as they are.
            store.add_new(key, values)
            if not _GAUGES.isdisjoint(values):
                self.gauges_first.add_new(key, {k: v for k, v in values.items() if k in _GAUGES})
            return
        for name, v in values.items():
            prev = store.get_at(slot, name)
            if name in _GAUGES:
                if prev is None:
                    self.gauges_first.setdefault(key)[name] = v
                store.set_at(slot, name, v)
            else:
                store.set_at(slot, name, v if prev is None else prev + v)

    # ------------------------------------------------------------ result

    def _use_platform_total(self) -> None:
        """A one-day file with the platform's own total row: the total is what the account did.

        Google Ads' `Total: Account` counts Smart campaigns that have no keyword
        rows; Meta's totals row has the de-duplicated reach. Re-summing the rows
        would understate the one and overstate the other, so the largest total
        row is stored and the item rows are reported as its breakdown.
        """
        res = self.result
        totals = [(label, values) for label, values in self.totals if values]
        keys = list(res.values)
        if not totals or len(keys) != 1:
            return
        label, values = max(totals, key=lambda t: sum(t[1].values()))
        res.values = ValueStore({keys[0]: values})
        res.rows_skipped["breakdown"] = res.rows_used
        res.rows_skipped["total"] -= 1
        if not res.rows_skipped["total"]:
            del res.rows_skipped["total"]
        res.rows_used = 1
        res.total_row = label or "—"

    def _finish(self) -> ParsedImport:
        res = self.result
        if self.cells.formulas:
            raise formula_failure(self.cells.formulas)
        if res.rows_read and not res.rows_used:
            skipped = ", ".join(f"{k}: {v}" for k, v in sorted(res.rows_skipped.items()))
            raise ImportFailure(E.NO_ROWS, detail=f"no row could be used ({skipped})")
        if self.days.day_steps[1] > self.days.day_steps[0]:
            for key, gauges in self.gauges_first.items():
                res.values[key].update(gauges)
        self.layout.finish(self)
        self._use_platform_total()
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
            res.values = ValueStore()
            res.posts = []
        days = [d for _, d in res.values] + [p.day for p in res.posts]
        res.date_range = (min(days), max(days)) if days else None
        res.accounts = {a for a, _ in res.values if a} | {p.account for p in res.posts if p.account}
        res.metrics = res.values.metrics()
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
