"""The README's `curl` examples work against the quick-start nodes (issue 13: "with `curl`
examples that work against the quick-start nodes").

Every ```bash block of README.md that calls curl runs, in the README's order, as one bash
script in a fresh directory against 鄂尔多斯 and 榆林 started as the quick start starts them,
with the example back-ends (which take the department's steps the README shows for `tongban
node` alone: those answer 409, already taken). Only what differs on a test machine changes: the
nodes' ports (free ones for
:8001 and :8002) and `.venv/bin/tongban` (this interpreter's `-m api`). The staff tokens are
issued first, because the text uses them before the block that shows how ("issued as shown
below"); `scan.pdf` is a one-page PDF.

"Works" means each curl's answer is 2xx, or 409: the case's own rules refusing a step the README
shows on the same case for brevity (the window's acceptance after the back-end's, a rating
before the end) — never a connection failure, 401/403 (the wrong token), 404 (a path or
a case that is not there), 422 (a body the API refuses) or 5xx. Each curl writes its status to
stderr (`-w %{stderr}`), so pipes and `-o` in the examples stay as they are.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.site import ROOT, quick_start

README = ROOT / "README.md"
ISSUE = re.compile(r"^\w+=\$\(\.venv/bin/tongban staff issue-token .*\)$", re.M)
STATUS = re.compile(r"^@@ (\d{3}) (\S+)$", re.M)
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def readme_script(urls: dict[str, str]) -> tuple[str, int]:
    """The README's curl blocks as one script, and how many curl calls it makes."""
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"),
                                    re.S) if re.search(r"^\s*(\w+=\$\()?curl ", b, re.M)]
    body = "\n".join(blocks)
    calls = len(re.findall(r"^\s*(?:\w+=\$\()?curl ", body, re.M))  # one call a line
    prelude = "\n".join(ISSUE.findall(body))
    script = "\n".join([
        "set -u",
        "curl() { command curl -sS -w '%{stderr}@@ %{http_code} %{url_effective}\\n' \"$@\"; }",
        prelude, body])
    script = script.replace(".venv/bin/tongban", f"{sys.executable} -m api")
    return (script.replace("http://127.0.0.1:8001", urls["150600"])
            .replace("http://127.0.0.1:8002", urls["610800"]), calls)


@pytest.mark.timeout(600)
def test_the_readme_curl_examples_work_on_the_quick_start_nodes(nats_server: Any,
                                                                  tmp_path: Path) -> None:
    tokens = tmp_path / "data" / "staff-tokens.json"  # $PWD/data/staff-tokens.json
    env = {"TONGBAN_STAFF_TOKENS": str(tokens)}
    with quick_start(nats_server.url, tmp_path, env=env) as site:
        script, calls = readme_script(site.urls)
        (tmp_path / "scan.pdf").write_bytes(PDF)
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300,
                              env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
        answers = STATUS.findall(done.stderr)
        print(f"{len(answers)} curl calls: " + " ".join(code for code, _ in answers))
        wrong = [f"{code} {url}" for code, url in answers
                 if not (code.startswith("2") or code == "409")]
        assert wrong == [], "\n".join(wrong) + "\n" + done.stdout[-3000:] + done.stderr[-3000:]
        assert len(answers) == calls, done.stderr[-3000:]
        assert done.returncode == 0, done.stderr[-3000:]
