"""The drawing libraries stay off the bot's start path (#16): importing the bot and
building its dispatcher loads neither matplotlib nor the PDF backend; they load on the
first chart or PDF, usually in a renderer process. numpy waits for the first forecast."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import bot.main
from bot.app import create_dispatcher
loaded = sorted(m for m in ("matplotlib", "matplotlib.backends.backend_pdf", "PIL", "openpyxl",
                            "numpy") if m in sys.modules)
print(",".join(loaded))
"""


def test_start_path_loads_no_drawing_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", out.stdout


def test_a_pdf_still_draws_after_the_lazy_imports() -> None:
    from kpi.pdfreport import ReportSpec, render_report_pdf

    spec = ReportSpec("KPI report", "Coffee Zerno", "Nov 1–30, 2026", "Prepared by Alpha")
    data = render_report_pdf(spec)
    assert data.startswith(b"%PDF") and b"/Type /Page" in data
