#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwork-ftpd started as root outside systemd: it binds, reads the
users file and the root as root, then serves as an unprivileged user
(--user, by default ftp where it exists, else nobody): every id that
user's, no capability left, a mode-000 file refused with 550, an upload
owned by that user; also through socket activation.  An unknown --user
or root exits 78 before binding; another user when not root, 77."""

import io
import os
import pwd
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import FTPD, Tree, login, cmd, retr  # noqa: E402
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import (Tap, Daemon, binary, check_dropped,  # noqa: E402
                    free_port, wait_port)

PASSWD = "daemons/ftpd/clockwork-ftpd-passwd"
t = Tap()
if os.geteuid() != 0:
    t.skip_all("dropping root needs root")


def ftpd(tree, *extra, activate=False):
    port = free_port()
    argv = [FTPD, "-r", tree.root, "--login-delay", "0.2"] + list(extra)
    if not activate:
        argv += ["-l", "127.0.0.1:%d" % port]
    d = Daemon(argv, port=port, activate=activate)
    d.ftp_host, d.ftp_port = "127.0.0.1", port
    return d


def run(argv, as_user=None):
    pre = []
    if as_user is not None:
        pw = pwd.getpwnam(as_user)
        pre = ["setpriv", "--reuid=%d" % pw.pw_uid,
               "--regid=%d" % pw.pw_gid, "--clear-groups"]
    p = subprocess.run(pre + [binary(argv[0])] + argv[1:],
                       capture_output=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


nobody = pwd.getpwnam("nobody")
tree = Tree(big=1024 * 1024)
try:
    # A file only root could read, a home the daemon's user owns.
    secret = tree.write("pub/root-only.bin", b"for root's eyes\n")
    os.chmod(secret, 0)
    home = os.path.join(tree.top, "home-alice")
    os.mkdir(home)
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    users = os.path.join(tree.top, "users")
    p = subprocess.run([binary(PASSWD), "-f", users, "add", "alice",
                        "--home", home, "--rw"], input=b"alice-pw\n",
                       capture_output=True)
    t.ok(p.returncode == 0 and os.stat(users).st_mode & 0o777 == 0o600,
         "a users file only root can read (0600)", p.stderr)

    with ftpd(tree, "--users", users, "--user", "nobody") as d:
        check_dropped(t, d, "nobody", "--user nobody")
        f = login(d)  # the loop runs: the drop's line is written
        t.ok("running as nobody (uid %d, gid %d)" % (
            nobody.pw_uid, nobody.pw_gid) in d.output(),
             "the drop is logged", d.output())
        r, data = retr(f, "pub/root-only.bin")
        t.ok(r.startswith("550 ") and data == b"",
             "a mode-000 file: 550 (root would have read it)", r)
        r, data = retr(f, "hello.txt")
        t.ok(data == b"hello\n", "a world-readable file is served", r)
        f.quit()
        # The users file was read as root, before the drop.
        f = login(d, "alice", "alice-pw")
        r = f.storbinary("STOR up.bin", io.BytesIO(b"uploaded\n"))
        st = os.stat(os.path.join(home, "up.bin"))
        t.ok(r.startswith("226") and st.st_uid == nobody.pw_uid and
             st.st_gid == nobody.pw_gid,
             "an upload belongs to the user served as (uid %d)" % st.st_uid,
             r)
        f.quit()

    # The default: ftp where it exists, else nobody.
    try:
        default = pwd.getpwnam("ftp").pw_name
    except KeyError:
        default = "nobody"
    with ftpd(tree) as d:
        check_dropped(t, d, default, "no --user: the default user")

    # Socket activation (systemd-socket-activate as root): the same.
    with ftpd(tree, "--user", "nobody", activate=True) as d:
        wait_port(d.ftp_port)
        f = login(d)
        t.ok(cmd(f, "NOOP").startswith("200"), "socket-activated daemon "
             "serves")
        check_dropped(t, d, "nobody", "socket-activated, --user nobody")
        f.quit()

    # Refusals, before anything is bound.
    port = free_port()
    rc, text = run([FTPD, "-r", tree.root, "-l", "127.0.0.1:%d" % port,
                    "--user", "no-such-user-here"])
    t.ok(rc == 78 and "no-such-user-here" in text and
         not wait_port(port, timeout=0.2),
         "--user of an unknown user: exit 78, nothing bound", text)
    rc, text = run([FTPD, "-r", tree.root, "-l", "127.0.0.1:%d" % port,
                    "--user", "root"])
    t.ok(rc == 78 and "root" in text, "--user root: exit 78", text)
    rc, text = run([FTPD, "-r", tree.root, "-l", "127.0.0.1:%d" % port,
                    "--user", ""])
    t.eq(rc, 64, "--user '': exit 64")
    # Not root: only the user it already is.
    if shutil.which("setpriv"):
        other = "daemon" if pwd.getpwnam("daemon") else "root"
        rc, text = run([FTPD, "-r", tree.root, "-l", "127.0.0.1:%d" % port,
                        "--user", other], as_user="nobody")
        if rc == 78 and "no user" in text:
            # The user database is unreadable to nobody on this machine
            # (/etc not searchable): no name can be looked up.
            t.ok(True, "# SKIP nobody cannot read the user database")
        else:
            t.ok(rc == 77 and "root" in text,
                 "not root, --user %s: exit 77" % other, text)
    else:
        t.ok(True, "# SKIP setpriv")
finally:
    tree.cleanup()
t.done()
