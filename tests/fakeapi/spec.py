"""Validate outgoing Bot API calls: against the project's own table, and against the
full machine-readable description when it is beside the checkout.

``tests/fakeapi/botapi.py`` is the project's compact table of the methods, parameters,
types and limits the bot uses; it is always checked, so the fake works from a bare
clone. The full description, ``paulsonoflars-api.json`` in
``../shared/data/telegram-bot-api/`` (third-party, never copied into the repository),
is checked as well when present; there, limits such as "1-4096 characters after
entities parsing" or "1-64 bytes" only exist inside the ``description`` texts, so they
are parsed from there. A call must satisfy both.

Parameters removed from the Bot API documentation in 7.0 (``disable_web_page_preview``,
``reply_to_message_id``, ``allow_sending_without_reply``) are rejected with a 400 that
names their replacement. (Telegram itself still accepts them; the fake is stricter.)

Values are accepted in the shapes they arrive on the wire: aiogram sends everything as
multipart/form-data strings (integers and booleans as strings, nested objects such as
``reply_markup`` as JSON-encoded strings), while a JSON body carries real JSON values.

Public API::

    validate_call(method, params, files=()) -> list[str]      # human-readable problems
    validate(method, params, files=()) -> list[Problem]        # + Telegram-like descriptions
    check_html(text) -> str | None                             # "can't parse entities: ..."
    html_to_text(text) -> str                                  # visible text of HTML markup
    decode_params(method, params) -> dict[str, Any]            # wire strings -> typed values
    canonical_method(name) -> str | None                       # case-insensitive lookup
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.shareddata import BOT_API_DATA

from . import botapi

SPEC_FILE = "paulsonoflars-api.json"
DEFAULT_SPEC_DIR = BOT_API_DATA
TABLE_FILE = "tests/fakeapi/botapi.py"

# Removed from the Bot API in 7.0: rejected (see botapi.REMOVED_PARAMS).
REMOVED_PARAMS = botapi.REMOVED_PARAMS

# Object types for which Telegram (and aiogram) also accept a plain string.
STRING_ACCEPTING_TYPES = frozenset({"InputPollOption"})

BOT_COMMAND_RE = re.compile(r"[a-z0-9_]+")

_RANGE_RE = re.compile(r"\b(\d+)-(\d+) (characters|bytes)\b")
_AFTER_ENTITIES_RE = re.compile(r"after entit(?:y|ies) parsing")
_INT_RANGE_RE = re.compile(r"\b(\d+)-(\d+)\b")
_ITEMS_RE = re.compile(r"\b(\d+)-(\d+) items\b")
_AT_MOST_RE = re.compile(r"At most (\d+) \w+ can be specified")
_CONST_RES = (re.compile(r"must be \*?\"?([a-z_]+)\"?\*?"), re.compile(r'always "([^"]+)"'))
_INT_STR_RE = re.compile(r"-?\d+")
_BASIC = {"Integer", "String", "Boolean", "Float", "InputFile"}


def spec_dir() -> Path:
    """Where the full description is looked for (BOT_API_SPEC_DIR overrides it; an empty
    value means "none": the table alone, as in a bare clone)."""
    override = os.environ.get("BOT_API_SPEC_DIR")
    if override is not None:
        return Path(override) if override else Path(os.devnull)
    return DEFAULT_SPEC_DIR


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any] | None:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@functools.lru_cache(maxsize=1)
def table_spec() -> dict[str, Any]:
    """The project's table (tests/fakeapi/botapi.py) in the description's layout."""
    return botapi.as_spec()


def full_spec() -> dict[str, Any] | None:
    """The full third-party description, or None when it is not beside the checkout."""
    return _load(str(spec_dir() / SPEC_FILE))


def load_spec() -> dict[str, Any]:
    """The most complete description available: the full one, else the project's table."""
    return full_spec() or table_spec()


@functools.lru_cache(maxsize=8)
def _method_index(path: str) -> dict[str, str]:
    names = dict.fromkeys(table_spec()["methods"])
    names.update(dict.fromkeys((_load(path) or {}).get("methods", {})))
    return {name.lower(): name for name in names}


def canonical_method(name: str) -> str | None:
    """Spec spelling of a method name (Telegram method names are case-insensitive)."""
    return _method_index(str(spec_dir() / SPEC_FILE)).get(name.lower())


def spec_version() -> str:
    full = full_spec()
    if full is None:
        return botapi.VERSION
    return f"{full.get('version', '?')} + {botapi.VERSION}"


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One violation. ``message`` is for humans, ``description`` mimics Telegram's answer."""

    method: str
    path: str
    message: str
    description: str
    error_code: int = 400

    def __str__(self) -> str:
        where = f"{self.method}.{self.path}" if self.path else self.method
        return f"{where}: {self.message} -> {self.error_code} {self.description!r}"


@dataclass(frozen=True)
class _Limit:
    min_len: int | None = None
    max_len: int | None = None
    unit: str = "characters"  # or "bytes"
    after_entities: bool = False
    min_value: int | None = None
    max_value: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    const: str | None = None


def _table_limit(p: botapi.P) -> _Limit:
    return _Limit(
        min_len=p.length[0] if p.length else None,
        max_len=p.length[1] if p.length else None,
        unit=p.unit,
        after_entities=p.after_entities,
        min_value=p.value[0] if p.value else None,
        max_value=p.value[1] if p.value else None,
        min_items=p.items[0] if p.items else None,
        max_items=p.items[1] if p.items else None,
        const=p.const,
    )


def field_limit(owner: str, field: Mapping[str, Any]) -> _Limit:
    """A field's limits: explicit in the project's table, parsed from the description's text."""
    if "p" in field:
        return _table_limit(field["p"])
    return _field_limit(owner, field["name"], field.get("description", ""), tuple(field["types"]))


@functools.lru_cache(maxsize=4096)
def _field_limit(owner: str, name: str, description: str, types: tuple[str, ...]) -> _Limit:
    kw: dict[str, Any] = {}
    if "String" in types:
        m = _RANGE_RE.search(description)
        if m:
            kw.update(
                min_len=int(m.group(1)),
                max_len=int(m.group(2)),
                unit=m.group(3),
                # "after entities parsing" (sendMessage) or "after entity parsing" (edits)
                after_entities=_AFTER_ENTITIES_RE.search(description) is not None,
            )
        if name == "type":
            for rx in _CONST_RES:
                cm = rx.search(description)
                if cm:
                    kw["const"] = cm.group(1)
                    break
    if "Integer" in types and "String" not in types:
        ranges = _INT_RANGE_RE.findall(description)
        if len(ranges) == 1:
            kw.update(min_value=int(ranges[0][0]), max_value=int(ranges[0][1]))
    if any(t.startswith("Array of") for t in types):
        m = _ITEMS_RE.search(description)
        if m:
            kw.update(min_items=int(m.group(1)), max_items=int(m.group(2)))
        else:
            am = _AT_MOST_RE.search(description)
            if am:
                kw.update(max_items=int(am.group(1)))
    return _Limit(**kw)


def _utf16_len(text: str) -> int:
    # Telegram measures text in UTF-16 code units (emoji outside the BMP count twice);
    # this is the stricter of the plausible interpretations of "characters".
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# HTML parse mode
# --------------------------------------------------------------------------------------------

SUPPORTED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#[xX]([0-9a-fA-F]+));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_PLAIN_RE = re.compile(r"[^&<>]+")
_ATTR_RE = re.compile(
    r"\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)


class HTMLParseError(ValueError):
    pass


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> str:
    """Parse Telegram HTML; return the visible text or raise HTMLParseError."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        plain = _PLAIN_RE.match(text, i)
        if plain:  # a run of ordinary characters at once
            out.append(plain.group())
            i = plain.end()
            continue
        ch = text[i]
        if ch == "&":
            m = _ENTITY_RE.match(text, i)
            if not m:
                raise HTMLParseError(
                    f'Character "&" must be escaped as "&amp;" unless it starts a supported '
                    f"entity (&lt; &gt; &amp; &quot; &#NNN;) at byte offset {_byte_offset(text, i)}"
                )
            if m.group(1):
                out.append(_NAMED_ENTITIES[m.group(1)])
            else:
                code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
                try:
                    out.append(chr(code))
                except (ValueError, OverflowError):
                    raise HTMLParseError(
                        f"Invalid numeric entity at byte offset {_byte_offset(text, i)}"
                    ) from None
            i = m.end()
            continue
        if ch == ">":
            raise HTMLParseError(
                f'Character ">" must be escaped as "&gt;" at byte offset {_byte_offset(text, i)}'
            )
        start = i  # ch is "<"
        if text.startswith("</", i):
            m = _TAG_NAME_RE.match(text, i + 2)
            name = m.group(0).lower() if m else ""
            j = m.end() if m else i + 2
            while j < n and text[j] in " \t\n\r":
                j += 1
            if j >= n or text[j] != ">":
                raise HTMLParseError(f"Unclosed end tag at byte offset {_byte_offset(text, start)}")
            if not stack:
                raise HTMLParseError(
                    f'Unexpected end tag "{name}" at byte offset {_byte_offset(text, start)}'
                )
            if stack[-1] != name:
                raise HTMLParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, start)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
            i = j + 1
            continue
        m = _TAG_NAME_RE.match(text, i + 1)
        if not m:
            raise HTMLParseError(
                f'Unsupported start tag "" at byte offset {_byte_offset(text, start)} '
                f'(a bare "<" must be escaped as "&lt;")'
            )
        name = m.group(0).lower()
        if name not in SUPPORTED_TAGS:
            raise HTMLParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, start)}'
            )
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j] in " \t\n\r":
                j += 1
            if j >= n:
                raise HTMLParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, start)}"
                )
            if text[j] == ">":
                j += 1
                break
            am = _ATTR_RE.match(text, j)
            if not am or am.end() == j:
                raise HTMLParseError(
                    f'Unexpected character "{text[j]}" in start tag "{name}" '
                    f"at byte offset {_byte_offset(text, j)}"
                )
            raw_value = next((g for g in am.groups()[1:] if g is not None), "")
            attrs[am.group(1).lower()] = html.unescape(raw_value)
            j = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HTMLParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and "emoji-id" not in attrs:
            raise HTMLParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        stack.append(name)
        i = j
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> tuple[str, str | None]:
    """(visible text, complaint): one parse per text, however many checks ask."""
    try:
        return _parse_html(text), None
    except HTMLParseError as exc:
        return text, str(exc)


def check_html(text: str) -> str | None:
    """Return Telegram's complaint about ``text`` in parse_mode=HTML, or None if it parses.

    The result has no "Bad Request: " prefix, e.g. ``can't parse entities: Unsupported start
    tag "div" at byte offset 0``.
    """
    error = _parsed(text)[1]
    return None if error is None else f"can't parse entities: {error}"


def html_to_text(text: str) -> str:
    """Visible text of a Telegram-HTML string (tags removed, entities decoded)."""
    return _parsed(text)[0]


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode and parse_mode.lower() == "html":
        return html_to_text(text)
    return text


# --------------------------------------------------------------------------------------------
# Type checking
# --------------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def coerce_wire_value(value: Any, types: Collection[str]) -> Any:
    """Decode a top-level value that may have arrived as a string (form data / query)."""
    if not isinstance(value, str):
        return value
    if "String" in types:
        return value
    for t in types:
        if t == "Integer" and _INT_STR_RE.fullmatch(value.strip()):
            return int(value)
        if t == "Float":
            try:
                return float(value)
            except ValueError:
                pass
        if t == "Boolean" and value.strip().lower() in {"true", "false", "1", "0"}:
            return value.strip().lower() in {"true", "1"}
    if any(t not in _BASIC for t in types):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Checker:
    def __init__(self, spec: dict[str, Any], method: str, files: Collection[str]) -> None:
        self.spec = spec
        self.method = method
        self.files = set(files)
        self.used_files: set[str] = set()

    def problem(self, path: str, message: str, description: str | None = None) -> Problem:
        return Problem(
            method=self.method,
            path=path,
            message=message,
            description=description or f"Bad Request: {path}: {message}",
        )

    # ---- objects -----------------------------------------------------------------------

    def check_fields(
        self,
        owner: str,
        fields: list[dict[str, Any]],
        values: Mapping[str, Any],
        prefix: str,
        *,
        top: bool,
    ) -> list[Problem]:
        problems: list[Problem] = []
        by_name = {f["name"]: f for f in fields}
        for f in fields:
            if f.get("required") and f["name"] not in values:
                problems.append(self._missing(owner, f["name"], prefix))
        for key, value in values.items():
            path = f"{prefix}{key}"
            field = by_name.get(key)
            if field is None:
                if top and key in self.used_files:
                    continue
                if top and key in self.files:
                    continue  # checked later (unreferenced file part)
                if top and key in REMOVED_PARAMS:
                    problems.append(self._removed(key))
                    continue
                problems.append(
                    self.problem(
                        path,
                        f"unknown {'parameter' if top else 'field'} for {owner}",
                        f'Bad Request: unknown {"parameter" if top else "field"} "{path}"',
                    )
                )
                continue
            types = tuple(field["types"])
            if top:
                value = coerce_wire_value(value, types)
            problems.extend(self.check_value(value, types, path, top=top))
            limit = field_limit(owner, field)
            problems.extend(self.check_limit(owner, key, value, limit, values, path))
        return problems

    def _removed(self, key: str) -> Problem:
        use = REMOVED_PARAMS[key]
        return self.problem(
            key,
            f"removed from the Bot API in 7.0: use {use}",
            f'Bad Request: parameter "{key}" was removed from the Bot API in 7.0, use "{use}" '
            "(the fake Bot API refuses it; Telegram still tolerates it)",
        )

    def _missing(self, owner: str, name: str, prefix: str) -> Problem:
        path = f"{prefix}{name}"
        if not prefix and name == "chat_id":
            desc = "Bad Request: chat_id is empty"
        elif not prefix and name == "text":
            desc = "Bad Request: message text is empty"
        else:
            desc = f'Bad Request: parameter "{path}" is required'
        return self.problem(path, f"missing required {'param' if not prefix else 'field'}", desc)

    def check_object(self, type_name: str, value: Mapping[str, Any], path: str) -> list[Problem]:
        tdef = self.spec["types"][type_name]
        subtypes = tdef.get("subtypes")
        if subtypes:
            return self.check_union(list(subtypes), value, path)
        fields = tdef.get("fields") or []
        return self.check_fields(type_name, fields, value, f"{path}.", top=False)

    # ---- values ------------------------------------------------------------------------

    def shape_matches(self, value: Any, t: str) -> bool:
        if t.startswith("Array of "):
            return isinstance(value, list)
        if t == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if t == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if t == "Boolean":
            return isinstance(value, bool)
        if t == "String":
            return isinstance(value, str)
        if t == "InputFile":
            return isinstance(value, str) and value.startswith("attach://")
        if t in STRING_ACCEPTING_TYPES and isinstance(value, str):
            return True
        return isinstance(value, dict) and t in self.spec["types"]

    def check_union(
        self, types: list[str], value: Any, path: str, *, top: bool = False
    ) -> list[Problem]:
        candidates: list[list[Problem]] = []
        if "InputFile" in types and isinstance(value, str) and value.startswith("attach://"):
            types = ["InputFile"]
        for t in types:
            if not self.shape_matches(value, t):
                continue
            if t.startswith("Array of "):
                item_t = t[len("Array of ") :]
                probs: list[Problem] = []
                for idx, item in enumerate(value):
                    probs.extend(self.check_value(item, (item_t,), f"{path}[{idx}]"))
            elif t == "InputFile":
                name = value[len("attach://") :]
                self.used_files.add(name)
                probs = (
                    []
                    if name in self.files
                    else [self.problem(path, f"attach://{name} refers to no uploaded file part")]
                )
            elif t in _BASIC or isinstance(value, str):
                probs = []
            else:
                probs = self.check_object(t, value, path)
            if not probs:
                return []
            candidates.append(probs)
        if candidates:
            return min(candidates, key=len)
        expected = " or ".join(types)
        return [
            self.problem(
                path,
                f"wrong type: expected {expected}, got {_describe(value)} {value!r:.60}",
                f'Bad Request: can\'t parse "{path}": expected {expected}',
            )
        ]

    def check_value(
        self, value: Any, types: tuple[str, ...], path: str, *, top: bool = False
    ) -> list[Problem]:
        return self.check_union(list(types), value, path, top=top)

    # ---- limits ------------------------------------------------------------------------

    def check_limit(
        self,
        owner: str,
        name: str,
        value: Any,
        limit: _Limit,
        siblings: Mapping[str, Any],
        path: str,
    ) -> list[Problem]:
        problems: list[Problem] = []
        if isinstance(value, str):
            if limit.const is not None and value != limit.const:
                problems.append(self.problem(path, f"must be {limit.const!r}, got {value!r}"))
            measured = value
            if limit.after_entities:
                pm = siblings.get(f"{name}_parse_mode", siblings.get("parse_mode"))
                if isinstance(pm, str) and pm.lower() == "html":
                    err = check_html(value)
                    if err:
                        problems.append(self.problem(path, err, f"Bad Request: {err}"))
                        return problems
                measured = visible_text(value, pm if isinstance(pm, str) else None)
            if limit.max_len is not None:
                size = (
                    len(measured.encode("utf-8")) if limit.unit == "bytes" else _utf16_len(measured)
                )
                assert limit.min_len is not None
                if size > limit.max_len or size < limit.min_len:
                    problems.append(
                        self.problem(
                            path,
                            f"length {size} {limit.unit}"
                            f"{' after entities parsing' if limit.after_entities else ''}"
                            f" outside {limit.min_len}-{limit.max_len}",
                            self._length_description(owner, name, size, limit),
                        )
                    )
            if owner == "BotCommand" and name == "command" and not BOT_COMMAND_RE.fullmatch(value):
                problems.append(
                    self.problem(
                        path,
                        "command can contain only lowercase English letters, digits and "
                        f"underscores, got {value!r}",
                        "Bad Request: BOT_COMMAND_INVALID",
                    )
                )
        elif isinstance(value, int) and not isinstance(value, bool):
            if limit.max_value is not None and not (
                (limit.min_value or 0) <= value <= limit.max_value
            ):
                problems.append(
                    self.problem(path, f"value {value} outside {limit.min_value}-{limit.max_value}")
                )
        elif isinstance(value, list):
            count = len(value)
            if (limit.max_items is not None and count > limit.max_items) or (
                limit.min_items is not None and count < limit.min_items
            ):
                problems.append(
                    self.problem(
                        path,
                        f"{count} items outside {limit.min_items or 0}-{limit.max_items}",
                    )
                )
        return problems

    def _length_description(self, owner: str, name: str, size: int, limit: _Limit) -> str:
        too_long = limit.max_len is not None and size > limit.max_len
        if name in {"text", "message_text"} and owner != "answerCallbackQuery":
            return (
                "Bad Request: message is too long"
                if too_long
                else ("Bad Request: message text is empty")
            )
        if name == "caption":
            return "Bad Request: message caption is too long"
        if name == "callback_data":
            return "Bad Request: BUTTON_DATA_INVALID"
        if owner == "answerCallbackQuery":
            return "Bad Request: MESSAGE_TOO_LONG"
        if owner == "BotCommand":
            return (
                "Bad Request: BOT_COMMAND_INVALID"
                if name == "command"
                else "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"
            )
        return (
            f"Bad Request: {name} must be {limit.min_len}-{limit.max_len} {limit.unit}, got {size}"
        )


def _validate_against(
    spec: dict[str, Any], name: str, params: Mapping[str, Any], files: Collection[str]
) -> list[Problem]:
    mdef = spec["methods"][name]
    checker = _Checker(spec, name, files)
    fields = mdef.get("fields") or []
    field_names = {f["name"] for f in fields}
    # A file part may be sent directly under the parameter name (e.g. "photo").
    merged: dict[str, Any] = dict(params)
    direct_files = {f for f in files if f in field_names and f not in merged}
    for f in direct_files:
        merged[f] = f"attach://{f}"
    problems = checker.check_fields(name, fields, merged, "", top=True)
    for part in sorted(set(files) - checker.used_files - direct_files):
        problems.append(
            checker.problem(part, "uploaded file part is not referenced by any parameter")
        )
    return problems


def validate(method: str, params: Mapping[str, Any], files: Collection[str] = ()) -> list[Problem]:
    """Check one call against the full description (when present) and the project's table.

    ``files`` are the names of uploaded multipart file parts."""
    name = canonical_method(method)
    table, full = table_spec(), full_spec()
    if name is None or (full is not None and name not in full["methods"]):
        return [
            Problem(
                method=method,
                path="",
                message=f"unknown method (not in Bot API spec {spec_version()})",
                description="Not Found",
                error_code=404,
            )
        ]
    problems = _validate_against(full, name, params, files) if full is not None else []
    if name not in table["methods"]:
        # Known to Telegram, but the bot is not supposed to call it: the table says what
        # the bot uses, so a new method is added there first.
        problems.append(
            Problem(
                method=name,
                path="",
                message=f"method not in the project's Bot API table ({TABLE_FILE})",
                description=f"Bad Request: {name} is not in the project's Bot API table",
            )
        )
        return problems
    seen = {(p.path, p.message) for p in problems}
    for p in _validate_against(table, name, params, files):
        if (p.path, p.message) in seen:
            continue
        if full is not None:  # the table is stricter than the description here
            p = Problem(p.method, p.path, f"{p.message} [{TABLE_FILE}]", p.description)
        problems.append(p)
    return problems


def validate_call(method: str, params: Mapping[str, Any], files: Collection[str] = ()) -> list[str]:
    """Human-readable problems of one call (empty list = valid)."""
    return [str(p) for p in validate(method, params, files)]


def decode_params(method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Best-effort conversion of wire values (strings) into typed Python values."""
    name = canonical_method(method)
    if name is None:
        return dict(params)
    spec = load_spec()
    mdef = spec["methods"].get(name) or table_spec()["methods"].get(name) or {}
    fields = {f["name"]: f for f in mdef.get("fields") or []}
    out: dict[str, Any] = {}
    for key, value in params.items():
        field = fields.get(key)
        if field is not None:
            out[key] = coerce_wire_value(value, field["types"])
        else:
            out[key] = value
    return out


__all__ = [
    "DEFAULT_SPEC_DIR",
    "HTMLParseError",
    "Problem",
    "canonical_method",
    "check_html",
    "coerce_wire_value",
    "decode_params",
    "field_limit",
    "full_spec",
    "html_to_text",
    "load_spec",
    "spec_dir",
    "spec_version",
    "table_spec",
    "validate",
    "validate_call",
    "visible_text",
]
