#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Every source file of the tree names its licence in a one-line SPDX
header near its top, and the licence text itself is in COPYING: so a file
copied out of the tree still says under which terms."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, SRCDIR  # noqa: E402

TAG = "SPDX-License-Identifier: ISC"
ROOTS = ["lib", "daemons", "clients", "tests", "units", "doc", "debian",
         "bench", ".ci"]
TOP_FILES = ["configure.ac", "Makefile.am", "demo"]
EXTENSIONS = (".c", ".h", ".py", ".sh", ".go", ".am", ".ac", ".1", ".7",
              ".8", ".socket", ".service")
# Data, not source: seeds, dictionaries, results, and what a build makes.
SKIP_DIRS = {".git", "corpus", "results", "__pycache__", ".deps",
             ".debhelper", "tmp", "clockwork", "peers-build"}


def is_source(path):
    """A file written by hand as code, build rule, unit or man page."""
    if path.endswith(EXTENSIONS):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def sources():
    """Every source file under the tree's folders, and the top-level ones."""
    found = [os.path.join(SRCDIR, f) for f in TOP_FILES
             if os.path.exists(os.path.join(SRCDIR, f))]
    for root in ROOTS:
        for d, dirs, files in os.walk(os.path.join(SRCDIR, root)):
            dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.isfile(p) and not os.path.islink(p) and is_source(p):
                    found.append(p)
    return found


def has_tag(path):
    """The SPDX line within the first five lines (after a #! line)."""
    with open(path, "rb") as f:
        head = f.read(1024).decode("utf-8", "replace").splitlines()[:5]
    return any(TAG in line for line in head)


def main():
    t = Tap()
    with open(os.path.join(SRCDIR, "COPYING"), encoding="utf-8") as f:
        text = f.read()
    t.ok(text.startswith("ISC License") and "Permission to use, copy, modify"
         in text, "COPYING holds the ISC licence")
    files = sources()
    t.ok(len(files) > 100, "found the tree's sources (%d files)" % len(files))
    missing = [os.path.relpath(p, SRCDIR) for p in files if not has_tag(p)]
    t.ok(not missing, "every source file has the SPDX line",
         "missing in:\n" + "\n".join(missing[:40]))
    t.done()


if __name__ == "__main__":
    main()
