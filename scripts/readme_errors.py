# SPDX-License-Identifier: GPL-2.0
"""README.md's errno table, the one source of truth of every error list the
project generates (scripts/gen-man for uio-dmabuf(4), scripts/make-patches
for the in-tree document)."""
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def errno_rows():
    """The (errno, when) cells, as Markdown, of the table under '### Errors'."""
    section = README.read_text().split("\n### Errors\n", 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("errno", "---"):
            continue
        rows.append((cells[0], cells[1]))
    if not rows:
        sys.exit("no errno table under '### Errors' in README.md")
    return rows
