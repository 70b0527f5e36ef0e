# SPDX-License-Identifier: ISC
"""Shared by the clockwall tests: three real clockd in three zones on
loopback, and a comparison of a shown time with the zone's time now."""

import datetime
import os
import re
import sys
import zoneinfo

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Daemon, binary, free_port, wait_port  # noqa: E402,F401

CLOCKD = "daemons/clockd/clockd"
CLOCKWALL = binary("clients/clockwall/clockwall")
ZONES = [("Tokyo", "Asia/Tokyo"), ("New York", "America/New_York"),
         ("London", "Europe/London")]
TIME = re.compile(r"^\d\d:\d\d:\d\d$")


def start_clock(tz, port=None):
    """A clockd in zone tz on a free port (all addresses, v4 and v6)."""
    port = port or free_port()
    d = Daemon([CLOCKD, "-q", "-p", str(port)], env={"TZ": tz}, port=port)
    # A loaded machine (or a sanitizer build) can be slow to start one.
    if not wait_port(port, timeout=30):
        print("# clockd for %s on port %d is not listening (alive: %s): %s"
              % (tz, port, d.alive(), d.output().strip()), flush=True)
    return d


def listening(daemons):
    """True when every daemon accepts connections."""
    return all(d.alive() and wait_port(d.port, timeout=10) for d in daemons)


def zone_skew(shown, tz):
    """Seconds between a shown HH:MM:SS and the zone's time now (mod a day),
    or None if shown is not a time."""
    if not TIME.match(shown or ""):
        return None
    now = datetime.datetime.now(zoneinfo.ZoneInfo(tz))
    h, m, s = (int(x) for x in shown.split(":"))
    d = abs((h * 3600 + m * 60 + s) - (now.hour * 3600 + now.minute * 60 +
                                       now.second))
    return min(d, 86400 - d)


def parse_table(text):
    """Lines "NAME  TEXT" (name padded, two spaces) as [(name, text)]."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"^(.*?\S)\s{2,}(\S.*)$", line)
        rows.append((m.group(1), m.group(2)) if m else (line, None))
    return rows
