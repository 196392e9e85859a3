"""The words of file imports: the summary, the preview, refusals, the day question.

Built from a `ParsedImport` and what storage reports; no I/O. `handlers.data_import`
sends them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.texts import account_days, audience_rows, posts_count
from handlers.data_log import format_days, format_metric, metric_label
from handlers.replies import current_language
from kpi.importing import ImportFailure, ParsedImport
from kpi.importing import errors as E
from kpi.importing.columns import LOCAL_RATIOS
from kpi.metrics import METRICS, Kind
from kpi.numbers import format_number
from storage.metrics import ImportOutcome

SHOWN_LIST = 15  # accounts / ignored columns listed by name; the rest are counted
LOCAL_RATIO_NAMES = frozenset(LOCAL_RATIOS)


def accepted_formats() -> str:
    return _(
        "I read tables: CSV or TXT (comma, semicolon or tab separated; UTF-8 or Windows-1251) "
        "and Excel .xlsx, up to 20 MB. Save an old .xls as .xlsx or CSV first."
    )


def too_large(size: int | None) -> str:
    shown = format_number((size or 0) / 1024 / 1024, current_language())
    return "\n".join(
        (
            _(
                "This file is {size} MB: bots can only download files up to 20 MB, "
                "so nothing was imported."
            ).format(size=shown),
            _("Split it by period (e.g. a file per quarter) or save it as .xlsx: it is smaller."),
        )
    )


def needs_day_text(parsed: ParsedImport, file_name: str) -> str:
    lang = current_language()
    return "\n".join(
        (
            _("“{name}” has {rows} rows but no dates. Which day are these numbers for?").format(
                name=html.escape(file_name), rows=format_number(parsed.rows_read, lang)
            ),
            _(
                "Totals for a period count on its last day. Next time you can put the date in the "
                "caption: <code>2024-05-31</code>."
            ),
        )
    )


def became_label(became: str, lang: str) -> str:
    if became in METRICS or became in LOCAL_RATIO_NAMES:
        return html.escape(metric_label(became, lang))
    roles = {
        "date": _("date"),
        "period_start": _("period start"),
        "period_end": _("period end (the day rows count on)"),
        "month": _("month"),
        "account": _("account"),
        "platform": _("platform"),
        "text": _("text"),
        "sentiment": _("sentiment"),
        "post_id": _("post id"),
        "hashtags": _("hashtags"),
        "format": _("post format"),
        "author": _("author"),
        "dimension": _("audience dimension"),
        "bucket": _("audience group"),
        "audience_dim": _("audience dimension"),
        "share": _("share"),
        "count": _("count"),
        "metric_name": _("metric name"),
        "value": _("value"),
    }
    return roles.get(became, html.escape(became.replace("_", " ")))


def _why(why: str) -> str:
    if why == "exact":
        return _("a name I know")
    if why == "your choice":
        return _("your choice")
    if why == "count":
        return _("a count beside the metrics")
    if why == "dates in the values":
        return _("its values are dates")
    return _("read from the words: {words}").format(words=html.escape(why))


def column_lines(parsed: ParsedImport, lang: str, timezone: str | None = None) -> list[str]:
    """One line per used column: “header” → what it became (why)."""
    unsure = {i for i, _h, _m in parsed.unsure}
    lines = []
    for index, header, became, why in parsed.columns:
        if became == "ignored":
            continue
        line = f"• “{html.escape(header or '—')}” → {became_label(became, lang)} ({_why(why)})"
        if index in unsure:
            line += " — " + _("not sure")
        lines.append(line)
    if parsed.time_offsets and timezone:
        lines.append(
            _("Times with a UTC offset ({offsets}) are counted on their day in {zone}.").format(
                offsets=", ".join(html.escape(o) for o in parsed.time_offsets),
                zone=html.escape(timezone),
            )
        )
    return lines


def preview_text(parsed: ParsedImport, file_name: str, timezone: str | None = None) -> str:
    lang = current_language()
    lines = [
        _("<b>How I read “{name}”</b>").format(name=html.escape(file_name)),
        _("Each row: {layout}.").format(layout=layout_name(parsed.layout)),
    ]
    if parsed.layout_alternative:
        lines.append(
            _("Why: {reason}. It could also be: {other}.").format(
                reason=layout_reason(parsed.layout_why),
                other=layout_name(parsed.layout_alternative),
            )
        )
    lines += column_lines(parsed, lang, timezone)
    ignored = [h for _i, h, became, _w in parsed.columns if became == "ignored"]
    if ignored:
        lines.append(_("Ignored: {columns}.").format(
            columns=more([f"“{html.escape(h or '—')}”" for h in ignored])
        ))  # fmt: skip
    names = ", ".join(f"“{html.escape(h)}”" for _i, h, _m in parsed.unsure)
    if names:
        lines.append(
            _("I am not sure of {columns}: nothing is saved until you press Import.").format(
                columns=names
            )
        )
    else:
        lines.append(_("Nothing is saved until you press Import."))
    return "\n".join(lines)


def layout_reason(code: str) -> str:
    reasons = {
        "sentiment": _("a sentiment column, one row per item"),
        "text_without_numbers": _("a text column and no numbers"),
        "post_columns": _("post ids, texts, hashtags or formats beside numbers"),
        "period_columns": _("period start and end columns"),
        "date_column": _("a date column beside numbers"),
        "no_dates": _("numbers without dates"),
        "one_row_per_visit": _("one row per visit"),
        "customer_since": _("a customer-since date"),
        "metric_and_value_columns": _("metric and value columns"),
        "dimension_and_share": _("audience groups with shares or counts"),
        "your_choice": _("your choice"),
    }
    return reasons.get(code, code.replace("_", " "))


def layout_name(layout: str) -> str:
    names = {
        "wide": _("daily table (a date column and metric columns)"),
        "long": _("long table (date, metric, value)"),
        "posts": _("posts (one row per post)"),
        "mentions": _("mentions (one row per mention)"),
        "span": _("periods (start and end dates)"),
        "aggregate": _("totals without dates"),
        "sessions": _("visits (one row per session)"),
        "customers": _("customers (one row per customer)"),
        "audience": _("audience breakdown"),
        "telegram_stats": _("Telegram channel statistics (graphs JSON)"),
    }
    return names.get(layout, layout)


def _platform_name(platform: str | None) -> str | None:
    names = {
        "ga4": "Google Analytics 4",
        "yandex_metrica": _("Yandex Metrica"),
        "tgstat": "TGStat",
        "vk": _("VK"),
        "ads": _("ad cabinet"),
        "facebook": "Facebook / Meta",
        "telegram": "Telegram",
        "telegram_unnamed": _(
            "series without names: the green and red lines of the first graph read as "
            "joined and left (Telegram's colours for them)"
        ),
    }
    return names.get(platform, platform) if platform else None


def column_reason(code: str) -> str:
    reasons = {
        "not_a_metric": _("not a metric I know"),
        "empty_header": _("no header"),
        "not_a_date": _("not dates"),
        "customer_attribute": _("a customer attribute"),
        "not_used": _("not used in this kind of table"),
        "duplicate_metric": _("the same metric as an earlier column"),
        "duplicate_column": _("repeats an earlier column"),
        "computed_kpi": _("a ready-made KPI: I compute it from the raw numbers"),
        "caption_account": _("the caption names the account"),
        "redundant_ratio": _("a ratio whose counter is in the file too"),
        "ratio_without_denominator": _(
            "a ratio without its base (e.g. bounce rate without sessions)"
        ),
        "per_author": _("followers of other authors, not of this account"),
        "unknown_sentiment_scale": _("sentiment in a scale I can't read"),
        "unknown_metric": _("not a metric I know"),
        "redundant_net": _("a net change of the followers columns beside it"),
        "repeated_items": _("ids that repeat: one row per item and day, not per post"),
        "ignored_by_you": _("you chose to ignore it"),
        "unnamed_series": _("a graph whose series have no names"),
        "duplicate_graph": _("another graph of the same figures for the same days"),
    }
    return reasons.get(code, code.replace("_", " "))


def _skip_reason(code: str) -> str:
    reasons = {
        "total": _("total rows"),
        "no_date": _("no date"),
        "not_a_date": _("no date"),
        "no_values": _("no numbers"),
        "not_relevant": _("marked not relevant"),
        "unknown_metric": _("unknown metric"),
        "breakdown": _("a breakdown of the total row"),
        "month_not_over": _("the current month, not over yet: send it again when it ends"),
    }
    return reasons.get(code, code.replace("_", " "))


def more(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN_LIST])
    if len(items) > SHOWN_LIST:
        shown += " " + _("and {n} more").format(n=len(items) - SHOWN_LIST)
    return shown


def metric_totals(values: Mapping[tuple[str, date], Mapping[str, float]]) -> dict[str, float]:
    """Σ of each counter over the import; a gauge's latest value summed over accounts."""
    totals: dict[str, float] = {}
    latest: dict[tuple[str, str], tuple[date, float]] = {}
    for (account, day), metrics in values.items():
        for name, value in metrics.items():
            metric = METRICS.get(name)
            if metric is not None and metric.kind is Kind.GAUGE:
                prev = latest.get((name, account))
                if prev is None or day >= prev[0]:
                    latest[(name, account)] = (day, value)
            else:
                totals[name] = totals.get(name, 0.0) + value
    for (name, _account), (_day, value) in latest.items():
        totals[name] = totals.get(name, 0.0) + value
    return totals


def summary_text(
    parsed: ParsedImport,
    outcome: ImportOutcome,
    values: Mapping[tuple[str, date], Mapping[str, float]],
    file_name: str,
    lang: str,
    *,
    timezone: str | None = None,
) -> str:
    lines = [_("<b>Imported “{name}”</b>").format(name=html.escape(file_name))]
    kind = layout_name(parsed.layout)
    platform = _platform_name(parsed.platform)
    if platform:
        lines.append(_("Recognised: {layout}, {platform}.").format(layout=kind, platform=platform))
    else:
        lines.append(_("Recognised: {layout}.").format(layout=kind))
    if parsed.layout_why:
        lines.append(_("Why: {reason}.").format(reason=layout_reason(parsed.layout_why)))
    if parsed.sheet:
        lines.append(_("Sheet: “{sheet}”.").format(sheet=html.escape(parsed.sheet)))
    if parsed.total_row is not None:
        label = parsed.total_row.strip(" —")
        lines.append(
            _("Stored the file's own total row “{label}”: the other rows break it down.").format(
                label=html.escape(label)
            )
            if label
            else _("Stored the file's own totals row: the other rows break it down.")
        )
    rows_line = _("Rows: {read} read, {used} used.").format(
        read=format_number(parsed.rows_read, lang), used=format_number(parsed.rows_used, lang)
    )
    if parsed.rows_skipped:
        skipped = ", ".join(
            f"{_skip_reason(code)}: {format_number(n, lang)}"
            for code, n in sorted(parsed.rows_skipped.items())
        )
        rows_line += " " + _("Skipped: {skipped}.").format(skipped=skipped)
    lines.append(rows_line)
    days = [d for _, d in values] + [p.day for p in parsed.posts]
    if days:
        lines.append(_("Dates: {days}.").format(days=format_days(min(days), max(days), lang)))
    accounts = sorted({a for a, _ in values})
    created = set(outcome.accounts_created)
    if accounts:
        shown = [html.escape(a) + (" " + _("(new)") if a in created else "") for a in accounts]
        lines.append(_("Accounts: {accounts}.").format(accounts=more(shown)))
    totals = metric_totals(values)
    if totals:
        metric_names = [m for m in METRICS if m in totals]
        lines.append(_("Metrics:"))
        for name in metric_names:
            value = format_metric(name, totals[name], lang)
            if METRICS[name].kind is Kind.GAUGE:
                lines.append(
                    f"• {html.escape(metric_label(name, lang))}: "
                    + _("{value} (latest)").format(value=value)
                )
            else:
                lines.append(f"• {html.escape(metric_label(name, lang))}: Σ {value}")
    stored = _("Stored: {days}, {posts}, {audience}.").format(
        days=account_days(outcome.rows, lang),
        posts=posts_count(outcome.posts, lang),
        audience=audience_rows(outcome.audience, lang),
    )
    lines.append(stored)
    if outcome.replaced:
        lines.append(
            _("Replaced earlier values: {rows} (a re-import replaces, never adds).").format(
                rows=account_days(outcome.replaced, lang)
            )
        )
    for header, n in parsed.negative_cells.items():
        lines.append(
            _(
                "“{header}”: {n} cells below zero (removals the platform subtracted), "
                "stored as they are."
            ).format(header=html.escape(header), n=format_number(n, lang))
        )
    used_columns = column_lines(parsed, lang, timezone)
    if used_columns:
        lines.append(_("Columns:"))
        lines += used_columns
    if parsed.ignored_columns:
        # Grouped by reason: a CRM export can have 25 ignored columns for one reason.
        by_reason: dict[str, list[str]] = {}
        for header, reason in parsed.ignored_columns:
            quoted = _("“{header}”").format(header=html.escape(header or "—"))
            by_reason.setdefault(column_reason(reason), []).append(quoted)
        lines.append(_("Ignored columns:"))
        lines += [f"• {reason}: {more(headers)}" for reason, headers in by_reason.items()]
    lines.append(_("/undo takes this import back."))
    return "\n".join(lines)


def failure_text(exc: ImportFailure, file_name: str) -> str:
    reasons = {
        E.TOO_LARGE: _("The file is larger than 20 MB."),
        E.EMPTY: _("The file is empty."),
        E.NOT_A_TABLE: _("This is not a table."),
        E.LEGACY_XLS: _(
            "This is an old Excel .xls file. Save it as .xlsx or CSV and send it again."
        ),
        E.BAD_XLSX: _("The Excel file is damaged or not really an .xlsx."),
        E.ZIP_BOMB: _("The workbook unpacks to a suspicious size, so I did not open it."),
        E.TOO_MANY_ROWS: _("The file has more than a million rows. Split it by period."),
        E.TOO_MANY_CELLS: _("The file has too many cells. Remove unused columns or split it."),
        E.BAD_CSV: _("The CSV is broken (for example a quote that is never closed)."),
        E.HEADER_ONLY: _("The table has a header but no data rows."),
        E.NO_METRICS: _("No column is a metric I know (reach, impressions, likes, sessions…)."),
        E.NO_ROWS: _("No row could be used (all totals, empty or without dates)."),
        E.BAD_NUMBER: _("A cell in a number column is not a number."),
        E.BAD_DURATION: _("A cell in a duration column is not a duration."),
        E.NEGATIVE: _("A count, sum of money or duration is negative."),
        E.BAD_DATE: _("A date cannot be read."),
        E.BAD_CAPTION: _("The caption names more than one account."),
        E.MIXED_DATES: _(
            "The date column mixes day-first and month-first dates, and I can't tell which "
            "of them these are, so nothing was shifted or guessed."
        ),
        E.FORMULAS: _(
            "Some cells are formulas that Excel has not calculated yet, so the file holds no "
            "values for them."
        ),
        E.DAY_OUT_OF_RANGE: _(
            "A row is dated before 2000-01-01 or after today: such a day is a typo "
            "(or day and month swapped), and no report could ask for it."
        ),
        E.BAD_ACCOUNT: _("A row names an account that is not a valid account name."),
    }
    accepted = {
        E.BAD_NUMBER: _("Numbers: 12000, 12 000, 1,234.5, 12,5 or 45%; empty cells are fine."),
        E.BAD_DURATION: _("Durations: 1:05, 00:01:05 or 65 (seconds)."),
        E.NEGATIVE: _("Counts, money and durations must be zero or more."),
        E.BAD_DATE: _("Dates: 2024-05-31, 31.05.2024, 31/05/2024 or 5/31/2024."),
        E.BAD_CAPTION: _("Name one account in the caption, e.g. vk:brand 2024-05-31."),
        E.MIXED_DATES: _(
            "Write those dates as 2024-01-07 (year-month-day) or all in one order, "
            "and send the file again."
        ),
        E.FORMULAS: _("Open the file in Excel, save it, then send it again."),
        E.BAD_ACCOUNT: _(
            "Accounts are platform:handle in latin letters, digits, _ . - (at most 64 "
            "characters), e.g. vk:brand."
        ),
        E.NOT_A_TABLE: accepted_formats(),
        E.EMPTY: accepted_formats(),
        E.BAD_XLSX: accepted_formats(),
        E.NO_METRICS: _(
            "Name the columns like Date, Reach, Impressions, Likes, Sessions, Revenue."
        ),
    }
    lines = [
        _("Nothing was imported from “{name}”.").format(name=html.escape(file_name)),
        reasons.get(exc.code, _("The file cannot be imported.")),
    ]
    where: list[str] = []
    if len(exc.rows) > 1:
        where.append(_("rows {rows}").format(rows=", ".join(str(r) for r in exc.rows)))
    elif exc.row is not None:
        where.append(_("row {row}").format(row=exc.row))
    if exc.column is not None:
        where.append(_("column “{column}”").format(column=html.escape(exc.column)))
    if exc.columns:
        names = ", ".join(f"“{html.escape(c)}”" for c in exc.columns)
        where.append(_("columns {columns}").format(columns=names))
    if exc.value is not None:
        where.append(_("value “{value}”").format(value=html.escape(exc.value)))
    if where:
        lines.append(_("Where: {where}.").format(where=", ".join(where)))
    if exc.code in accepted:
        lines.append(accepted[exc.code])
    if exc.row is not None:
        lines.append(_("Fix that cell and send the file again: one bad cell stops the whole file."))
    return "\n".join(lines)
