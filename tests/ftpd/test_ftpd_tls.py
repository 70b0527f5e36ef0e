#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwork-ftpd's FTPS (RFC 4217) with a certificate made here by the
openssl command: curl --ssl-reqd (download, upload, listing), lftp with
ftp:ssl-force, Python's ftplib.FTP_TLS under PROT P through a subclass
that resumes the control connection's TLS session on data connections
(plain FTP_TLS does not: refused with 522); downloads checked by checksum;
--require-tls refuses clear-text logins and PROT C; CCC refused; FEAT;
bad certificate files exit 78."""

import ftplib
import hashlib
import io
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import (Tree, start, sha256_file, read_reply,  # noqa: E402
                     FTPD, ReuseFTP_TLS, tls_context, writable)
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import Tap, binary, budget, free_port  # noqa: E402

PASSWD = "daemons/ftpd/clockwork-ftpd-passwd"
t = Tap()
if shutil.which("openssl") is None:
    t.skip_all("no openssl command to make a test certificate")
tree = Tree(big=5 * 1024 * 1024 + 12345)
want = hashlib.sha256(tree.big).hexdigest()
work = tempfile.mkdtemp(prefix="ftpd-tls-")
home = os.path.join(tree.top, "home-alice")
os.mkdir(home)
writable(home)
users = os.path.join(tree.top, "users")
cert = os.path.join(work, "cert.pem")
key = os.path.join(work, "key.pem")


def run(argv, stdin=None, timeout=60):
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           timeout=budget(timeout), cwd=work)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timed out"


def got(name):
    p = os.path.join(work, name)
    return sha256_file(p) if os.path.exists(p) else None


def context():
    return tls_context()


def tls_login(d, cls=ReuseFTP_TLS, user="alice", pw="alice-pw",
              ctx=None):
    f = cls(context=ctx or context(), timeout=budget(20))
    f.connect(d.ftp_host, d.ftp_port)
    f.auth()
    f.login(user, pw)
    f.prot_p()
    return f


def reply(f, line):
    try:
        return f.sendcmd(line)
    except ftplib.all_errors as e:
        return str(e)


def clean_exit(d, what):
    """SIGTERM: exit 0, and nothing from a sanitizer."""
    code = d.stop(timeout=30)
    out = d.output()
    t.ok(code == 0 and "Sanitizer" not in out and
         "runtime error" not in out, "%s: clean exit 0" % what,
         "%s %s" % (code, out[-2000:]))


def refused_retr(f):
    """RETR py.bin expected to fail: the reply on the control connection
    (the client's TLS layer may fail first); any data received is wrong."""
    buf = io.BytesIO()
    try:
        r = f.retrbinary("RETR py.bin", buf.write)
    except (ftplib.all_errors + (ssl.SSLError, ValueError)) as e:
        r = str(e)
    if not r[:3].isdigit():
        try:
            r = f.getresp()
        except ftplib.all_errors as e:
            r = str(e)
    if buf.getvalue() != b"":
        r = "data received: " + r
    return r


rc, text = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2",
                "-subj", "/CN=localhost"])
if rc != 0:
    t.skip_all("openssl cannot make a certificate: " + text[-200:])
p = subprocess.run([binary(PASSWD), "-f", users, "add", "alice", home, "rw"],
                   input=b"alice-pw\n", capture_output=True)
t.eq(p.returncode, 0, "a named user, alice (rw)")
tls = ["--users", users, "--tls-cert", cert, "--tls-key", key]

try:
    with start(tree) as d:
        s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=10)
        read_reply(s)
        s.sendall(b"AUTH TLS\r\n")
        t.ok(read_reply(s).startswith("502 "),
             "without --tls-cert: AUTH TLS 502")
        s.sendall(b"FEAT\r\n")
        t.ok("AUTH TLS" not in read_reply(s), "without it: FEAT has no AUTH")
        s.close()

    with start(tree, *tls) as d:
        url = "ftp://127.0.0.1:%d" % d.ftp_port
        s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=10)
        read_reply(s)
        s.sendall(b"FEAT\r\n")
        r = read_reply(s)
        t.ok(" AUTH TLS\r\n" in r and " PBSZ\r\n" in r and " PROT\r\n" in r,
             "FEAT lists AUTH TLS, PBSZ, PROT", r)
        s.sendall(b"PROT P\r\n")
        t.ok(read_reply(s).startswith("503 "), "PROT before AUTH: 503")
        s.sendall(b"AUTH KERBEROS_V4\r\n")
        t.ok(read_reply(s).startswith("504 "), "AUTH KERBEROS_V4: 504")
        s.sendall(b"AUTH TLS\r\n")
        t.ok(read_reply(s).startswith("234 "), "AUTH TLS: 234")
        ts = context().wrap_socket(s)
        t.ok(ts.version() in ("TLSv1.2", "TLSv1.3"),
             "handshake on the control connection: " + str(ts.version()))
        ts.sendall(b"CCC\r\n")
        t.ok(read_reply(ts).startswith("534 "), "CCC refused: 534")
        ts.sendall(b"PBSZ 0\r\n")
        t.ok(read_reply(ts).startswith("200 "), "PBSZ 0: 200")
        ts.sendall(b"PROT S\r\n")
        t.ok(read_reply(ts).startswith("536 "), "PROT S: 536")
        ts.sendall(b"PROT P\r\n")
        t.ok(read_reply(ts).startswith("200 "), "PROT P: 200")
        ts.sendall(b"NOOP\r\n")
        t.ok(read_reply(ts).startswith("200 "), "commands go on over TLS")
        ts.close()

        # TLS 1.1 is refused.
        warnings.simplefilter("ignore", DeprecationWarning)
        old = context()
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        s = socket.create_connection((d.ftp_host, d.ftp_port), timeout=10)
        read_reply(s)
        s.sendall(b"AUTH TLS\r\n")
        read_reply(s)
        try:
            old.wrap_socket(s).close()
            t.ok(False, "TLS 1.1 refused")
        except (ssl.SSLError, OSError) as e:
            t.ok(True, "TLS 1.1 refused (%s)" % e.__class__.__name__)
        s.close()

        if shutil.which("curl"):
            # (curl 7.88's active mode starts no handshake on the data
            # connection it accepts; active PROT P is tested with ftplib.)
            for name, extra in (("EPSV", []),
                                ("PASV", ["--disable-epsv"])):
                fn = "curl-%s.bin" % name
                rc, text = run(["curl", "-sS", "--ssl-reqd", "-k", "-o", fn] +
                               extra + [url + "/pub/big.bin"])
                t.ok(rc == 0 and got(fn) == want,
                     "curl --ssl-reqd %s download: checksum" % name, text)
            rc, text = run(["curl", "-sS", "--ssl-reqd", "-k", url + "/pub/"])
            t.ok(rc == 0 and " big.bin" in text, "curl --ssl-reqd LIST",
                 text)
            rc, text = run(["curl", "-sS", "--ssl-reqd", "-k", "-l",
                            url + "/pub/"])
            t.ok(rc == 0 and "big.bin\n" in text.replace("\r", ""),
                 "curl --ssl-reqd NLST", text)
            src = tree.path("pub/big.bin")
            rc, text = run(["curl", "-sS", "--ssl-reqd", "-k", "-u",
                            "alice:alice-pw", "-T", src,
                            url + "/curl-up.bin"])
            t.ok(rc == 0 and sha256_file(os.path.join(home, "curl-up.bin"))
                 == want, "curl --ssl-reqd upload: checksum", text)
        else:
            t.ok(True, "# SKIP curl missing")

        if shutil.which("lftp"):
            script = ("set ftp:ssl-force true; "
                      "set ssl:verify-certificate no; "
                      "set ftp:ssl-protect-data true; "
                      "set net:max-retries 1; set net:timeout 20; "
                      "open -u alice,alice-pw -p %d 127.0.0.1; "
                      "put %s -o lftp-up.bin; get lftp-up.bin -o lftp.bin; "
                      "ls" % (d.ftp_port, tree.path("pub/big.bin")))
            rc, text = run(["lftp", "-c", script], timeout=90)
            t.ok(rc == 0 and got("lftp.bin") == want and
                 sha256_file(os.path.join(home, "lftp-up.bin")) == want,
                 "lftp ftp:ssl-force put and get: checksums", text)
        else:
            t.ok(True, "# SKIP lftp missing")

        # ftplib with session reuse: every kind of transfer.
        f = tls_login(d)
        data = tree.big[:1000003]
        r = f.storbinary("STOR py.bin", io.BytesIO(data))
        t.ok(r.startswith("226") and open(os.path.join(home, "py.bin"),
                                          "rb").read() == data,
             "FTP_TLS PROT P STOR (passive)", r)
        buf = io.BytesIO()
        r = f.retrbinary("RETR py.bin", buf.write)
        t.ok(r.startswith("226") and buf.getvalue() == data,
             "FTP_TLS PROT P RETR: same bytes", r)
        lines = []
        f.retrlines("LIST", lines.append)
        t.ok(any(l.endswith(" py.bin") for l in lines), "FTP_TLS LIST")
        t.ok("py.bin" in f.nlst(), "FTP_TLS NLST")
        facts = list(f.mlsd())
        t.ok(any(n == "py.bin" and x.get("size") == str(len(data))
                 for n, x in facts), "FTP_TLS MLSD")
        f.set_pasv(False)
        buf = io.BytesIO()
        r = f.retrbinary("RETR py.bin", buf.write, rest=1000000)
        t.ok(r.startswith("226") and buf.getvalue() == data[1000000:],
             "FTP_TLS active RETR with REST", r)
        f.set_pasv(True)
        buf = io.BytesIO()
        r = f.retrbinary("RETR py.bin", buf.write)
        t.ok(buf.getvalue() == data, "three data connections, one session")
        t.ok(f.prot_c().startswith("200 "),
             "PROT C without --require-tls: 200")
        buf = io.BytesIO()
        r = f.retrbinary("RETR py.bin", buf.write)
        t.ok(r.startswith("226") and buf.getvalue() == data,
             "PROT C: clear data after AUTH")
        f.quit()

        # A stalled TLS download holds up no one else.
        with open(os.path.join(home, "stall.bin"), "wb") as fh:
            fh.write(tree.big * 4)
        fa = tls_login(d)
        conn = fa.transfercmd("RETR stall.bin")
        first = conn.recv(65536)
        fb = tls_login(d)
        t.ok(len(first) > 0 and reply(fb, "NOOP").startswith("200"),
             "while a TLS download stalls, another session is served")
        buf = io.BytesIO()
        r = fb.retrbinary("RETR py.bin", buf.write)
        t.ok(buf.getvalue() == data, "and downloads over TLS meanwhile", r)
        fb.quit()
        conn.close()
        try:
            r = fa.getresp()
        except ftplib.all_errors as e:
            r = str(e)
        t.ok(r[:3] in ("226", "426"), "the stalled one ends: " + r[:3], r)
        fa.close()

        # Without session reuse: refused.
        f = tls_login(d, cls=ftplib.FTP_TLS)
        last = refused_retr(f)
        t.ok(last.startswith("522"), "plain FTP_TLS (no session reuse): "
             "refused with 522, no data", last)
        t.ok(reply(f, "NOOP").startswith("200"),
             "the control connection stays")
        f.close()

        # Another session's TLS session is of no use on our data port.
        f1 = tls_login(d)
        f2 = tls_login(d)

        class Thief(ftplib.FTP_TLS):
            def ntransfercmd(self, cmd, rest=None):
                conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
                return self.context.wrap_socket(
                    conn, server_hostname=self.host,
                    session=f1.sock.session), size
        f2.__class__ = Thief
        last = refused_retr(f2)
        t.ok(last.startswith("522"),
             "a session from another control connection: refused", last)
        f1.close()
        f2.close()
        t.ok(d.alive(), "still running")
        clean_exit(d, "FTPS")

    with start(tree, *(tls + ["--require-tls"])) as d:
        f = ftplib.FTP(timeout=20)
        f.connect(d.ftp_host, d.ftp_port)
        r = reply(f, "USER alice")
        t.ok(r.startswith("530") and "AUTH TLS" in r,
             "--require-tls: clear-text USER refused with a hint", r)
        r = reply(f, "PASS alice-pw")
        t.ok(not r.startswith("230"), "and PASS does not log in", r)
        f.close()
        f = ftplib.FTP(timeout=20)
        f.connect(d.ftp_host, d.ftp_port)
        t.ok(f.login().startswith("230"),
             "--require-tls: anonymous still in clear text")
        buf = io.BytesIO()
        r = f.retrbinary("RETR pub/big.bin", buf.write)
        t.ok(hashlib.sha256(buf.getvalue()).hexdigest() == want,
             "anonymous clear-text download")
        f.close()
        f = ReuseFTP_TLS(context=context(), timeout=20)
        f.connect(d.ftp_host, d.ftp_port)
        f.auth()
        f.login("alice", "alice-pw")
        f.sendcmd("PBSZ 0")
        try:
            r = f.retrbinary("RETR py.bin", io.BytesIO().write)
        except ftplib.all_errors as e:
            r = str(e)
        t.ok(r.startswith("521"), "--require-tls: a transfer before PROT P "
             "refused (521)", r)
        r = reply(f, "PROT C")
        t.ok(r.startswith("534"), "--require-tls: PROT C refused", r)
        f.prot_p()
        buf = io.BytesIO()
        r = f.retrbinary("RETR py.bin", buf.write)
        t.ok(buf.getvalue() == data, "--require-tls: PROT P download")
        f.quit()
        clean_exit(d, "--require-tls")

    blank = os.path.join(work, "blank.key")
    with open(blank, "w") as fh:
        fh.write("\n")
    for what, k, want_auth in (("a blank key", blank, "502"),
                               ("the files there", key, "234")):
        with start(tree, "--tls-cert", cert, "--tls-key", k,
                   "--tls-optional") as d:
            s = socket.create_connection((d.ftp_host, d.ftp_port),
                                         timeout=10)
            read_reply(s)
            s.sendall(b"AUTH TLS\r\n")
            r = read_reply(s)
            t.ok(r.startswith(want_auth), "--tls-optional with %s: AUTH "
                 "TLS %s" % (what, want_auth), r)
            s.close()

    for what, args in (("a missing certificate",
                        ["--tls-cert", "/nonexistent", "--tls-key", key]),
                       ("a key that is not a key",
                        ["--tls-cert", cert, "--tls-key", cert]),
                       ("--tls-cert without --tls-key",
                        ["--tls-cert", cert])):
        p = subprocess.run([binary(FTPD), "-r", tree.root, "-l",
                            "127.0.0.1:%d" % free_port()] + args, capture_output=True,
                           timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        code = 64 if "without" in what else 78
        t.ok(p.returncode == code and "tls" in err.lower(),
             "%s: exit %d with a message" % (what, code),
             "%d %s" % (p.returncode, err))
finally:
    tree.cleanup()
    shutil.rmtree(work, ignore_errors=True)

t.done()
