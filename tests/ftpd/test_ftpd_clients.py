#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Standard clients against clockwork-ftpd, unchanged: curl (EPSV, PASV,
active), wget (a file, a recursive fetch), lftp (ls, get, mirror) and
tnftp driven by a script (open, user, cd, ls, get, bye).  Every download
is checked by checksum."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import Tree, start, sha256_file  # noqa: E402
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, budget  # noqa: E402

t = Tap()
tree = Tree(big=8 * 1024 * 1024)
want = hashlib.sha256(tree.big).hexdigest()
out = tempfile.mkdtemp(prefix="ftpd-clients-")


def run(argv, stdin=None, timeout=60):
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           timeout=budget(timeout), cwd=out)
        return p.returncode, p.stdout.decode("utf-8", "replace") + \
            p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timed out"


def got(name):
    p = os.path.join(out, name)
    return sha256_file(p) if os.path.exists(p) else None


try:
    with start(tree) as d:
        url = "ftp://127.0.0.1:%d" % d.ftp_port
        if shutil.which("curl"):
            for name, extra in (("EPSV", []),
                                ("PASV (--disable-epsv)", ["--disable-epsv"]),
                                ("active (-P 127.0.0.1)", ["-P", "127.0.0.1"]),
                                ("active PORT (--disable-eprt)",
                                 ["-P", "127.0.0.1", "--disable-eprt"])):
                fn = "curl-%d.bin" % len(extra)
                rc, text = run(["curl", "-sS", "-o", fn] + extra +
                               [url + "/pub/big.bin"])
                t.ok(rc == 0 and got(fn) == want,
                     "curl %s: checksum" % name, text)
            rc, text = run(["curl", "-sS", url + "/pub/"])
            t.ok(rc == 0 and " big.bin" in text and " text.txt" in text,
                 "curl lists a directory (LIST)", text)
            rc, text = run(["curl", "-sS", "-l", url + "/pub/"])
            t.ok(rc == 0 and "big.bin\n" in text.replace("\r", ""),
                 "curl -l (NLST)", text)
            open(os.path.join(out, "part.bin"), "wb").write(tree.big[:3000000])
            rc, text = run(["curl", "-sS", "-C", "-", "-o", "part.bin",
                            url + "/pub/big.bin"])
            t.ok(rc == 0 and got("part.bin") == want,
                 "curl -C - resumes (REST): checksum", text)
            rc, text = run(["curl", "-sS", "-o", "x", url + "/pub/up"])
            t.ok(rc != 0 and not os.path.exists(os.path.join(out, "x")),
                 "curl cannot fetch through a symlink out of the root", text)
            rc, text = run(["curl", "-sS", "-T", "/etc/hostname",
                            url + "/pub/new.txt"])
            t.ok(rc != 0 and not os.path.exists(tree.path("pub/new.txt")),
                 "curl -T upload refused", text)
        else:
            t.ok(True, "# SKIP curl not installed")

        if shutil.which("wget"):
            rc, text = run(["wget", "-q", "-O", "wget.bin",
                            url + "/pub/big.bin"])
            t.ok(rc == 0 and got("wget.bin") == want, "wget: checksum", text)
            rc, text = run(["wget", "-q", "-r", "-nH", "-P", "wget-r",
                            url + "/pub/"])
            t.ok(got("wget-r/pub/big.bin") == want and
                 got("wget-r/pub/text.txt") == sha256_file(
                     tree.path("pub/text.txt")) and
                 os.path.exists(os.path.join(out, "wget-r/pub/sub dir/"
                                             "caf\u00e9.txt")),
                 "wget -r: the tree, checksums", text)
        else:
            t.ok(True, "# SKIP wget not installed")

        if shutil.which("lftp"):
            script = ("set net:max-retries 1; set net:timeout 10; "
                      "set cmd:fail-exit yes; "
                      "open %s; ls; cd pub; ls; get big.bin -o lftp.bin; "
                      "mirror . lftp-mirror; bye" % url)
            rc, text = run(["lftp", "-c", script], timeout=90)
            t.ok(rc == 0 and " big.bin" in text and " hello.txt" in text,
                 "lftp ls", text)
            t.ok(got("lftp.bin") == want, "lftp get: checksum", text)
            t.ok(got("lftp-mirror/big.bin") == want and
                 got("lftp-mirror/text.txt") == sha256_file(
                     tree.path("pub/text.txt")) and
                 got("lftp-mirror/sub dir/caf\u00e9.txt") == sha256_file(
                     tree.path("pub/sub dir/caf\u00e9.txt")),
                 "lftp mirror: every file, checksums", text)
        else:
            t.ok(True, "# SKIP lftp not installed")

        ftp = shutil.which("tnftp") or shutil.which("ftp")
        if ftp:
            script = ("open 127.0.0.1 %d\nuser anonymous test@\nbinary\n"
                      "cd pub\nls\nget big.bin tnftp.bin\n"
                      "passive off\nget text.txt tnftp.txt\nbye\n"
                      % d.ftp_port).encode()
            rc, text = run([ftp, "-n", "-v"], stdin=script)
            t.ok(rc == 0 and "226" in text and " big.bin" in text,
                 "%s: open, user, cd, ls" % os.path.basename(ftp), text)
            t.ok(got("tnftp.bin") == want, "%s get (passive): checksum"
                 % os.path.basename(ftp), text)
            t.ok(got("tnftp.txt") == sha256_file(tree.path("pub/text.txt")),
                 "%s get (active): checksum" % os.path.basename(ftp), text)
        else:
            t.ok(True, "# SKIP no tnftp/ftp client")
        t.ok(d.alive(), "the daemon is still running")
finally:
    tree.cleanup()
    shutil.rmtree(out, ignore_errors=True)
t.done()
