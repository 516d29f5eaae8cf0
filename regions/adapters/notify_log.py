"""The log adapter of the applicant notifications port (`regions.core.notifications.Notifier`):
each notice is one JSON line in a per-region file and one log line, and never written twice.

Why a file of its own: the notifications tailer moves its cursor only after `send` returned, so
after a crash between the two the same notices come again (at-least-once). This adapter keeps
the ids it has sent in the file it writes to (appended and fsynced before `send` returns), reads
them back when the node starts, and drops a notice it finds there: the applicant is told once.
A line cut short by a crash is not a send (it is skipped on reading and the notice goes out
again). An operator reads the file, or `tongban notifications list` (api.cli).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from regions.core.notifications import Notice

log = logging.getLogger("tongban.notify")


def read_sent(path: Path) -> Iterator[dict[str, Any]]:
    """The notices in `path`, oldest first (a torn last line is skipped)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "notice_id" in entry:
                yield entry


class LogNotifier:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent = {entry["notice_id"] for entry in read_sent(path)}

    def send(self, notices: Sequence[Notice]) -> int:
        fresh = [n for n in notices if n.notice_id not in self.sent]
        if not fresh:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as out:
            if out.tell() > 0:
                out.seek(-1, os.SEEK_END)
                if out.read(1) != b"\n":
                    out.write(b"\n")  # a line torn by a crash stays a line of its own
            out.write("".join(json.dumps(asdict(n), ensure_ascii=False, sort_keys=True) + "\n"
                              for n in fresh).encode())
            out.flush()
            os.fsync(out.fileno())
        for notice in fresh:
            self.sent.add(notice.notice_id)
            log.info("notice %s to the applicant of %s: %s", notice.notice_id,
                     notice.case_number, notice.kind)
        return len(fresh)
