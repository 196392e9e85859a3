"""Load: 200 concurrent workspaces against ONE `python -m bot` process over real HTTP.

The fake Bot API (tests/fakeapi) runs in this process; the bot long-polls it. Each of
the 200 chats (150 private, 50 groups written by their administrator) is a closed-loop
user: it sends a command (KPIs, /report, /log, /settings, /account, a chart, now and
then a CSV file when uploads are handled), waits for the first answer in its chat,
thinks 2–5 s, and repeats, for `duration` seconds (60; --quick: 10).

Measured: every update answered (within 30 s), p50/p95/max answer time, and the bot
process's open file descriptors (/proc/<pid>/fd), asyncio tasks (a probe in the bot's
loop, bench/_probe_bot.py) and VmRSS (/proc/<pid>/status) after a warm-up round
("before") and 3 s after the load ("after").

Run: `python -m bench.bench_load [--quick]`, or through `python -m bench`.
Row: baseline = p50 answer time, subject = p95 answer time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import bot_env
from tests.conftest import SMM_DATA, TEST_TOKEN
from tests.fakeapi.core import Call, Reply
from tests.fakeapi.server import FakeBotAPI
from tests.selfmade import views_csv

REPLY_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "answerCallbackQuery"}
)
COMMANDS = (
    "/help", "/report", "/roi 30d", "/reach 7d", "/engagement", "/settings",
    "/account list", "/bounce 30d", "/growth", "/kpi", "/log reach={n} likes={m}",
    "/chart reach 30d", "/digest", "/alerts", "/export 30d", "/cac last-month",
)  # fmt: skip
ANSWER_TIMEOUT = 30.0
THINK_S = (2.0, 5.0)
APOLOGY = "Sorry, something went wrong"  # the error handler's text (en)


class LoadAPI(FakeBotAPI):
    """The fake Bot API that also wakes the waiting user of a chat on each answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiters: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.answers: dict[int, int] = defaultdict(int)
        self.apologies = 0

    async def _process(self, call: Call, token: str | None, file_parts: set[str]) -> Reply:
        reply = await super()._process(call, token, file_parts)
        if len(self.calls) > 5000:  # bounded memory over a minute of load
            del self.calls[:2500]
        ok = reply.status == 200 and not reply.drop and reply.payload.get("ok")
        if ok and call.method in REPLY_METHODS and isinstance(call.chat_id, int):
            if APOLOGY in str(call.params.get("text") or call.params.get("caption") or ""):
                self.apologies += 1
            self.answers[call.chat_id] += 1
            self.waiters[call.chat_id].set()
        return reply


def proc_stats(pid: int, probe: Path) -> dict[str, Any]:
    """Open fds (all, sockets, other), asyncio tasks, VmRSS of the bot process."""
    fds = sockets = 0
    kinds: dict[str, int] = defaultdict(int)
    for name in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            sockets += target.startswith("socket:")
            kinds[target.split(":")[0] if ":" in target else Path(target).suffix or target] += 1
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    tasks = int(probe.read_text()) if probe.exists() else -1
    return {"fds": fds, "sockets": sockets, "other_fds": fds - sockets, "rss_kb": rss_kb,
            "tasks": tasks, "kinds": dict(kinds)}  # fmt: skip


@dataclass
class Result:
    sent: int = 0
    answered: int = 0
    latencies: list[float] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    by_command: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    files: bool = False
    duration: float = 0.0
    workspaces: int = 0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))]

    def summary(self) -> dict[str, Any]:
        return {
            "workspaces": self.workspaces,
            "duration_s": round(self.duration, 1),
            "updates_sent": self.sent,
            "answered": self.answered,
            "unanswered": self.unanswered[:10],
            "p50_s": round(self.pct(0.50), 3),
            "p95_s": round(self.pct(0.95), 3),
            "max_s": round(max(self.latencies, default=float("nan")), 3),
            "throughput_per_s": round(self.sent / self.duration, 1) if self.duration else 0,
            "files": self.files,
            "before": self.before,
            "after": self.after,
            "p95_by_command_s": {
                k: round(sorted(v)[min(len(v) - 1, int(0.95 * len(v)))], 3)
                for k, v in sorted(self.by_command.items())
            },
        }


async def _user(
    api: LoadAPI, chat: int, user_id: int, deadline: float, result: Result, rnd: random.Random,
    file_data: bytes | None,
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        event = api.waiters[chat]
        event.clear()
        seen = api.answers[chat]
        if file_data is not None and rnd.random() < 0.03:
            label = "<csv file>"
            api.document(chat, f"f{chat}-{result.sent}", "views.csv", data=file_data,
                         user_id=user_id, language_code="en")  # fmt: skip
        else:
            label = rnd.choice(COMMANDS)
            text = label.format(n=rnd.randint(100, 99_999), m=rnd.randint(1, 999))
            api.message(chat, text, user_id=user_id, language_code=rnd.choice(("ru", "en")))
        result.sent += 1
        started = loop.time()
        try:
            while api.answers[chat] == seen:
                await asyncio.wait_for(event.wait(), ANSWER_TIMEOUT - (loop.time() - started))
                event.clear()
        except TimeoutError:
            result.unanswered.append(f"{chat}: {label}")
            continue
        took = loop.time() - started
        result.answered += 1
        result.latencies.append(took)
        result.by_command[label.split()[0]].append(took)
        await asyncio.sleep(rnd.uniform(*THINK_S))
        # Multi-part answers (a long report, a chart and its caption) land while thinking.


def upload_file() -> bytes:
    """What the users upload: the real blog views (../shared/data/smm) when they are beside
    the checkout, else a self-written file of the same shape (391 days), said on stderr."""
    real = SMM_DATA / "website_daily_views.csv"
    if real.is_file():
        return real.read_bytes()
    print("bench_load: ../shared/data/smm/website_daily_views.csv not found beside the checkout: "
          "uploads a self-written 391-day views file instead", file=sys.stderr)  # fmt: skip
    return views_csv(391, start=date(2021, 6, 1))


async def run_load(
    duration: float = 60.0,
    workspaces: int = 200,
    *,
    seed: int = 7,
    files: bool | None = None,
    settle: float = 3.0,
    file_data: bytes | None = None,
) -> dict[str, Any]:
    """`settle`: seconds between the end of the load and the "after" measurement
    (aiohttp keeps idle keep-alive connections ~15 s: wait longer to see them go)."""
    rnd = random.Random(seed)
    if file_data is None:
        file_data = upload_file()
    with tempfile.TemporaryDirectory(prefix="kpibot-load-") as tmp:
        workdir = Path(tmp)
        probe = workdir / "tasks.txt"
        async with LoadAPI(token=TEST_TOKEN) as api:
            env = bot_env(api, workdir, KPIBOT_PROBE_FILE=str(probe))
            log = (workdir / "bot.log").open("wb")
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).with_name("_probe_bot.py")),
                cwd=workdir, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
            result = Result(workspaces=workspaces)
            try:
                await api.wait_for("setMyCommands", count=3, timeout=60)
                chats: list[tuple[int, int]] = []
                for i in range(workspaces):
                    if i % 4 == 3:  # a group, written by its administrator
                        chat, user = -100_700_000_000 - i, 800_000 + i
                        api.add_chat(chat, "supergroup", f"Agency {i}")
                        api.set_chat_member(chat, user, "administrator")
                    else:
                        chat, user = 700_000 + i, 700_000 + i
                    chats.append((chat, user))
                # Warm-up: every workspace exists and has a week of numbers.
                for chat, user in chats:
                    api.message(chat, "/log reach=1000 likes=50 sessions=300 bounces=90",
                                user_id=user, language_code="en")  # fmt: skip
                for chat, _ in chats:
                    await api.wait_for("sendMessage", chat_id=chat, timeout=120)
                # … and the lazily started parts are up: the chart process pool, the
                # connection pool, an import (so "before" is not an empty process).
                warm = chats[: min(12, len(chats))]
                for chat, user in warm:
                    api.message(chat, "/chart reach 7d", user_id=user, language_code="en")
                for chat, _ in warm:
                    await api.wait_for("sendPhoto", chat_id=chat, timeout=120)
                await asyncio.sleep(0.5)
                if files is None:
                    api.document(chats[0][0], "probe", "views.csv", data=file_data,
                                 user_id=chats[0][1], language_code="en")  # fmt: skip
                    with contextlib.suppress(AssertionError):
                        await api.wait_for("sendMessage", chat_id=chats[0][0], count=2, timeout=10)
                    files = any(
                        (c.visible_text or "").startswith(("Imported", "Загружен"))
                        for c in api.sent(chat_id=chats[0][0])
                    )
                result.files = bool(files)
                result.before = proc_stats(proc.pid, probe)
                loop = asyncio.get_running_loop()
                started = loop.time()
                deadline = started + duration
                await asyncio.gather(
                    *(
                        _user(
                            api,
                            chat,
                            user,
                            deadline,
                            result,
                            random.Random(rnd.random()),
                            file_data if files else None,
                        )
                        for chat, user in chats
                    )
                )
                result.duration = loop.time() - started
                await asyncio.sleep(settle)
                result.after = proc_stats(proc.pid, probe)
            finally:
                if proc.returncode is None:
                    proc.terminate()
                    try:
                        await asyncio.wait_for(proc.wait(), 20)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
                log.close()
            summary = result.summary()
            summary["violations"] = api.violations[:5]
            summary["apologies"] = api.apologies
            summary["bot_errors"] = [
                line
                for line in (workdir / "bot.log").read_text(errors="replace").splitlines()
                if " ERROR " in line
            ][:5]
            return summary


def main(quick: bool) -> list[dict[str, Any]]:
    duration = 10.0 if quick else 60.0
    s = asyncio.run(run_load(duration))
    b, a = s["before"], s["after"]
    mb = 1024
    notes = (
        f"{s['workspaces']} ws, {s['duration_s']} s, "
        f"{s['answered']}/{s['updates_sent']} answered ({s['throughput_per_s']}/s, "
        f"{s['apologies']} apologies), max {s['max_s']} s; fds {b['fds']}→{a['fds']} "
        f"(sockets {b['sockets']}→{a['sockets']}), tasks {b['tasks']}→{a['tasks']}, "
        f"RSS {b['rss_kb'] // mb}→{a['rss_kb'] // mb} MB"
        f"{', with CSV uploads' if s['files'] else ''}"
    )
    return [
        {
            "bench": f"load:{s['workspaces']}ws",
            "baseline": "p50 answer",
            "baseline_s": s["p50_s"],
            "subject_s": s["p95_s"],
            "ratio": s["p95_s"] / s["p50_s"] if s["p50_s"] else float("nan"),
            "target": "all answered; p95 < 3 s; fds/tasks flat",
            "notes": notes,
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--workspaces", type=int, default=200)
    args = parser.parse_args()
    t0 = time.perf_counter()
    out = asyncio.run(run_load(args.duration or (10.0 if args.quick else 60.0), args.workspaces))
    print(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"total {time.perf_counter() - t0:.1f} s", file=sys.stderr)
