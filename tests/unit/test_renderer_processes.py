"""Renderer processes end with the bot, even when the bot is killed outright (SIGKILL):
no orphaned workers or forkserver holding memory after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self").exists(), reason="reads process lists from /proc"
)

BOT = """
import asyncio, os, signal
from bot.services.rendering import ChartRenderer

async def main() -> None:
    renderer = ChartRenderer.processes(2)
    pids = set()
    for _ in range(8):
        pids.add(await renderer.render(_pid, None))
    print(" ".join(map(str, sorted(pids))), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

def _pid(_: object) -> int:
    return os.getpid()

if __name__ == "__main__":
    asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _forkservers_of(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "forkserver" in cmdline and marker in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_renderer_processes_end_when_the_bot_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed_bot.py"
    script.write_text(BOT)
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr
    workers = [int(p) for p in done.stdout.split()]
    assert workers, done.stderr
    # The forkserver's command line carries the killed bot's sys.path (its folder).
    for _ in range(100):
        if not any(map(_alive, workers)) and not _forkservers_of(str(tmp_path)):
            break
        time.sleep(0.1)
    assert [p for p in workers if _alive(p)] == []
    assert _forkservers_of(str(tmp_path)) == []
