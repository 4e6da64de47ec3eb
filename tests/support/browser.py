"""A page seen by a real browser: headless Chromium runs the page's scripts, a few
clicks by visible link text as a reader would make them, then dumps the DOM or
takes a screenshot.

Snakemake's report is a JavaScript app (React): the HTML file holds data, the DOM
is built by its scripts, and there is no URL per view. So the page is copied with a
small script appended that clicks, one step per 400 ms of the page's (virtual)
time, the link whose text is given, or the first link of a table row (``row:TEXT``,
the row with a cell TEXT, the first row if empty; ``info:TEXT`` its second link); Chromium's
``--virtual-time-budget`` lets the scripts and the steps run before the dump. The
steps only use what the reader sees (link texts, table rows), nothing of the
report's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

#: Debian's package `chromium` (ci/ensure-system.sh installs it)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

_DRIVER = """
<script>
(function () {
  const steps = %s;
  const done = [];
  function link(text) {
    return Array.from(document.querySelectorAll("a")).find(
      (a) => a.textContent.trim() === text);
  }
  function row(text, nth) {
    const tr = Array.from(document.querySelectorAll("tbody tr")).find(
      (r) => text === "" || Array.from(r.children).some((td) => td.textContent.trim() === text));
    return tr && tr.querySelectorAll("a")[nth];
  }
  function step(i) {
    if (i >= steps.length) {
      document.body.setAttribute("data-steps", JSON.stringify(done));
      return;
    }
    const s = steps[i];
    const el = s.startsWith("row:") ? row(s.slice(4), 0)
      : s.startsWith("info:") ? row(s.slice(5), 1) : link(s);
    if (el) { el.click(); done.push(s); } else { done.push("MISSING " + s); }
    setTimeout(() => step(i + 1), 400);
  }
  window.addEventListener("load", () => setTimeout(() => step(0), 400));
})();
</script>
"""


def driven_copy(page: Path, steps: Sequence[str], dst: Path) -> Path:
    """``page`` with the clicking script appended (the report itself is untouched)."""
    html = page.read_text(encoding="utf-8")
    cut = html.rfind("</body>")
    if cut < 0:
        cut = len(html)
    dst.write_text(html[:cut] + _DRIVER % json.dumps(list(steps)) + html[cut:],
                   encoding="utf-8")
    return dst


def _chromium(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "chromium not installed (Debian: apt-get install chromium)"
    # a profile of its own, no sandbox (root in CI), no GPU, no network
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={cwd / 'chromium-profile'}", "--proxy-server=127.0.0.1:9",
           "--window-size=1600,1000", *args]
    env = {**os.environ, "HOME": str(cwd)}
    # Headless Chromium with --virtual-time-budget now and then never ends on a loaded
    # machine (seen once in a full suite: the same page took 2 s alone): such a run is
    # killed with all its processes (its own session) and tried once more.
    for attempt in (1, 2):
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            if attempt == 2:
                raise
            continue
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # helpers it left behind
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    raise AssertionError("unreachable")


def dom_after(page: Path, steps: Sequence[str], work: Path) -> str:
    """The DOM of ``page`` once its scripts ran and the ``steps`` were clicked."""
    work.mkdir(parents=True, exist_ok=True)
    copy = driven_copy(page, steps, work / "driven.html")
    budget = 3000 + 400 * (len(steps) + 2)
    proc = _chromium([f"--virtual-time-budget={budget}", "--dump-dom", copy.as_uri()], work)
    assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def screenshot_after(page: Path, steps: Sequence[str], png: Path) -> Path:
    """A PNG of ``page`` once its scripts ran and the ``steps`` were clicked."""
    work = png.parent
    work.mkdir(parents=True, exist_ok=True)
    copy = driven_copy(page, steps, work / f"{png.stem}.html")
    budget = 3000 + 400 * (len(steps) + 2)
    proc = _chromium([f"--virtual-time-budget={budget}", f"--screenshot={png}",
                      copy.as_uri()], work)
    assert proc.returncode == 0 and png.is_file(), proc.stderr[-2000:]
    return png
