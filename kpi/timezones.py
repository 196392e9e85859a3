"""Time zone names the bot accepts: those of the pinned `tzdata` wheel.

`zoneinfo` loads a name from the host's zone files first and from `tzdata`
only when the host has none, so a name can load on a developer's machine
(`posix/Europe/Moscow`, `right/UTC` exist in Debian's /usr/share/zoneinfo) and
fail on the slim Docker image, whose zones come only from the wheel. Accepting
only the wheel's names, in their canonical spelling, makes every stored zone
load everywhere. Links (`US/Eastern`, `Europe/Kiev`) are mapped to the zone
they point to, as listed in the wheel's `tzdata.zi`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def _zone_data() -> tuple[frozenset[str], dict[str, str]]:
    """(canonical zone names, link name → canonical name), from the tzdata wheel."""
    text = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    zones: set[str] = set()
    links: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Z":
            zones.add(parts[1])
        elif len(parts) >= 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    # A link may point to another link in old data; follow it to a zone.
    for name, target in list(links.items()):
        seen = {name}
        while target in links and target not in seen:
            seen.add(target)
            target = links[target]
        links[name] = target
    return frozenset(zones), {k: v for k, v in links.items() if v in zones}


def canonical_timezone(text: str) -> str | None:
    """The canonical IANA name for `text` (any case; a link gives its target), or None
    when the pinned tzdata has no such zone. UTC keeps its short name."""
    name = text.strip()
    if not name or len(name) > 64:
        return None
    zones, links = _zone_data()
    found: str | None = None
    if name in zones:
        found = name
    elif name in links:
        found = links[name]
    else:
        folded = name.casefold()
        found = next((z for z in zones if z.casefold() == folded), None)
        if found is None:
            found = next((t for k, t in links.items() if k.casefold() == folded), None)
    return "UTC" if found == "Etc/UTC" else found


def known_timezone(name: str) -> bool:
    """True when the pinned tzdata has `name` exactly (a zone or a link), so it loads on
    every host; stored names that fail this are repaired at start-up."""
    zones, links = _zone_data()
    return name in zones or name in links
