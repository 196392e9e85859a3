"""The repository stands alone: no absolute machine paths in any tracked file, nothing
outside the checkout read except ../shared/data by tests marked shared_data (through
tests/shareddata.py), and the read guard of tests/conftest.py really stops the others."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import UnmarkedSharedDataRead
from tests.shareddata import BOT_API_DATA, REPO, SHARED_DATA, SMM_DATA

# A path that names somebody's machine: a home, a mount, a work or temp folder, a drive.
# (System locations such as /usr/bin/env and the image's own /app and /data are fine.)
MACHINE_PATH = re.compile(
    r"(?<![\w.:/~-])/(?:work|home|Users|root|mnt|media|srv|opt|tmp|private|var/folders)/"
    r"|\b[A-Za-z]:\\(?:Users|work|home)\b",
    re.IGNORECASE,
)
# Code that builds a path out of the checkout: the repository's parent, a "../" literal
# given to Path/open/join, or the "shared" folder as a path component.
ESCAPE = re.compile(
    r"""REPO\.parent\b"""
    r"""|(?:Path|open|join|read_bytes|read_text)\([^)]*["']\.\./"""
    r"""|/\s*["']shared["']|["']shared["']\s*/|["']shared/data"""
)
# Who may spell the shared folder in code: the one locator, and the CI script that
# checks the clone has no ../shared beside it.
ESCAPE_ALLOWED = {"tests/shareddata.py", ".ci/run"}
CODE_SUFFIXES = {".py", ".sh", ".toml", ".cfg", ".ini", ""}


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.fail("the repository checks need git and a git checkout (git ls-files)")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def text_of(name: str) -> str | None:
    try:
        data = (REPO / name).read_bytes()
    except FileNotFoundError:  # deleted in the working tree, not yet committed
        return None
    if b"\0" in data[:4096]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def test_the_patterns_catch_what_they_should() -> None:
    bad = ["/" + "work/shared/data/x.csv", 'Path("/' + 'home/anna/x")', "C:" + "\\Users\\anna"]
    good = ["#!/usr/bin/env bash", "https://example.com/" + "home/page", "../shared/data", "/data"]
    assert all(MACHINE_PATH.search(s) for s in bad)
    assert not any(MACHINE_PATH.search(s) for s in good)
    assert ESCAPE.search('here.parent / "sha' + 'red" / "data"')
    assert ESCAPE.search("REPO" + ".parent")
    assert ESCAPE.search('Path("..' + '/shared/data")')
    assert ESCAPE.search('open("..' + '/x")')
    assert not ESCAPE.search("see ../shared/data/README.md")  # prose is fine
    assert not ESCAPE.search('"/timezone ../../etc/passwd"')  # so is a fuzzed argument


def test_no_absolute_machine_path_in_any_tracked_file() -> None:
    found = []
    for name in tracked_files():
        text = text_of(name)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line):
                found.append(f"{name}:{lineno}: {line.strip()[:120]}")
    assert found == []


def test_only_the_locator_builds_paths_out_of_the_checkout() -> None:
    found = []
    for name in tracked_files():
        if name in ESCAPE_ALLOWED or Path(name).suffix not in CODE_SUFFIXES:
            continue
        text = text_of(name)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if ESCAPE.search(line):
                found.append(f"{name}:{lineno}: {line.strip()[:120]}")
    assert found == []


def test_the_locator_is_relative_to_the_checkout() -> None:
    assert SHARED_DATA.parts[-2:] == ("shared", "data")
    assert SHARED_DATA.parent.parent / REPO.name == REPO  # beside the checkout
    assert SMM_DATA.parent == SHARED_DATA and BOT_API_DATA.parent == SHARED_DATA


def test_an_unmarked_test_cannot_read_the_shared_folder() -> None:
    """This test is not marked shared_data: every way in is stopped, present or not."""
    with pytest.raises(UnmarkedSharedDataRead, match="only tests marked"):
        open(SMM_DATA / "website_daily_views.csv", "rb")  # noqa: SIM115
    with pytest.raises(UnmarkedSharedDataRead):
        (SHARED_DATA / "README.md").read_text()
    with pytest.raises(UnmarkedSharedDataRead):
        os.listdir(SMM_DATA)
    with pytest.raises(UnmarkedSharedDataRead):
        list(SHARED_DATA.iterdir())
    relative = os.path.relpath(SMM_DATA / "website_daily_views.csv")
    with pytest.raises(UnmarkedSharedDataRead):
        open(relative, "rb")  # noqa: SIM115
    # the fake Bot API's optional cross-check is the one exception
    description = BOT_API_DATA / "paulsonoflars-api.json"
    if description.is_file():
        assert description.read_bytes()[:1] == b"{"
    else:
        with pytest.raises(FileNotFoundError):
            description.read_bytes()


@pytest.mark.shared_data
def test_a_marked_test_reads_the_shared_folder() -> None:
    assert "website_daily_views.csv" in os.listdir(SMM_DATA)
    assert (SMM_DATA / "website_daily_views.csv").read_bytes().startswith(b"Date,Views")


def test_the_readme_project_layout_matches_the_tree() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Project layout", 1)[1].split("```", 2)[1]
    listed = [line.split()[0] for line in section.splitlines() if line and not line[0].isspace()]
    files = tracked_files()
    top = {name.split("/", 1)[0] + "/" for name in files if "/" in name}
    top.discard(".ci/")
    assert top <= {entry for entry in listed if entry.endswith("/")}, "README misses a folder"
    for entry in listed:
        assert any(name == entry or name.startswith(entry) for name in files), entry
    # the sub-folders the text names exist too
    for sub in ("bot/locales/", "kpi/importing/", "storage/migrations/", "tests/fakeapi/",
                "tests/fixtures/", "tests/e2e/", "tests/faults/", "tests/fuzz/"):  # fmt: skip
        assert sub.split("/")[1] in section and any(n.startswith(sub) for n in files), sub


PROBE_ENV = "KPIBOT_SHARED_DATA_SKIP_PROBE"


@pytest.mark.shared_data
def test_shared_data_skip_probe() -> None:
    """Passes in the suite; skips only when the test below asks it to."""
    if os.environ.get(PROBE_ENV):
        pytest.skip("probe: a shared_data test that skips")


@pytest.mark.shared_data
def test_ci_require_shared_data_turns_such_a_skip_into_a_failure() -> None:
    probe = f"{Path(__file__).relative_to(REPO)}::test_shared_data_skip_probe"

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        full = {k: v for k, v in os.environ.items() if k != "CI_REQUIRE_SHARED_DATA"}
        full.update(env, **{PROBE_ENV: "1"})
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", probe],
            cwd=REPO, env=full, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    relaxed = run()
    assert relaxed.returncode == 0, relaxed.stdout[-2000:]
    assert "1 skipped" in relaxed.stdout
    strict = run(CI_REQUIRE_SHARED_DATA="1")
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "shared_data test skipped although CI_REQUIRE_SHARED_DATA=1" in strict.stdout
    assert "probe: a shared_data test that skips" in strict.stdout
