#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Each service unit in units/ scored by `systemd-analyze security
--offline=true`: clock@ and reverb must stay at or below 1.0 (they need no
network family of their own), clockwork-ftpd at or below 1.2 (it opens its
data connections itself).  A template is scored as an instance."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import SRCDIR, Tap, budget  # noqa: E402

LIMITS = {"clock@": 1.0, "reverb": 1.0, "clockwork-ftpd": 1.2}
EXPECTED = ["clock@", "reverb", "clockwork-ftpd"]
DEFAULT_LIMIT = 1.0


def score(path):
    """Overall exposure of one unit file, and the tool's output."""
    res = subprocess.run(["systemd-analyze", "security", "--offline=true",
                          "--no-pager", path],
                         capture_output=True, text=True, timeout=budget(60))
    out = res.stdout + res.stderr
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    return (float(m.group(1)) if m else None), out


def main():
    t = Tap()
    if shutil.which("systemd-analyze") is None:
        t.skip_all("systemd-analyze not installed")
    units = sorted(glob.glob(os.path.join(SRCDIR, "units", "*.service")))
    names = [os.path.basename(u)[:-len(".service")] for u in units]
    with tempfile.TemporaryDirectory() as tmp:
        for unit, name in zip(units, names):
            # %i must be something real: score clock@.service as clock@8010.
            inst = name + "8010" if name.endswith("@") else name
            copy = os.path.join(tmp, inst + ".service")
            shutil.copyfile(unit, copy)
            sock = unit[:-len(".service")] + ".socket"
            if os.path.exists(sock):
                shutil.copyfile(sock, os.path.join(tmp, inst + ".socket"))
            limit = LIMITS.get(name, DEFAULT_LIMIT)
            got, out = score(copy)
            t.ok(got is not None and got <= limit,
                 "%s.service exposure %s <= %.1f" % (inst, got, limit),
                 "\n".join(line for line in out.splitlines()
                           if not line.startswith("\u2713")))
    for name in EXPECTED:
        if name not in names:
            t.n += 1
            print("ok %d # SKIP %s.service not in units/ yet" % (t.n, name))
    t.done()


main()
