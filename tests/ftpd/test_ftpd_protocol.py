#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""clockwork-ftpd speaks FTP: replies and sequences of RFC 959, 2389, 2428,
2640 and 3659 through Python's ftplib and raw sockets, downloads checked
byte for byte, REST, ASCII mode, ABOR, limits, and a clean SIGTERM."""

import ftplib
import hashlib
import os
import signal
import subprocess
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftptest import FTPD, Tree, start, login, cmd, retr, raw, read_reply  # noqa
sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests"))
from taplib import (Tap, binary, budget, free_port,  # noqa: E402
                    free_port_range, under_valgrind)

t = Tap()
tree = Tree(big=24 * 1024 * 1024)
try:
    with start(tree, "--max-per-ip", "20") as d:
        # Before login.
        s = raw("127.0.0.1", d.ftp_port)
        for c in (b"PWD", b"LIST", b"RETR hello.txt", b"CWD pub", b"PASV"):
            s.sendall(c + b"\r\n")
            t.ok(read_reply(s).startswith("530 "), "%s before login: 530" %
                 c.decode())
        s.sendall(b"PASS x\r\n")
        t.ok(read_reply(s).startswith("503 "), "PASS before USER: 503")
        s.sendall(b"FEAT\r\n")
        feat = read_reply(s)
        t.ok(feat.startswith("211-") and feat.endswith("211 End") and
             " EPSV" in feat and " UTF8" in feat and " REST STREAM" in feat
             and " MLST type*;size*;" in feat and " SIZE" in feat,
             "FEAT before login: multi-line 211", feat)
        s.sendall(b"XYZZY\r\n")
        t.ok(read_reply(s).startswith("500 "), "unknown verb: 500")
        s.sendall(b"AUTH TLS\r\n")
        t.ok(read_reply(s).startswith("502 "), "AUTH TLS: 502")
        s.sendall(b"USER bob\r\n")
        t.ok(read_reply(s).startswith("331 "), "USER bob: 331")
        t0 = time.monotonic()
        s.sendall(b"PASS secret\r\nNOOP\r\n")
        r = read_reply(s)
        el = time.monotonic() - t0
        t.ok(r.startswith("530 ") and el >= 0.15, "unknown user: 530 after "
             "the login delay (%.2f s)" % el, r)
        t.ok(read_reply(s).startswith("200 "), "next command served after")
        s.sendall(b"USER anonymous\r\nPASS a@b\r\n")
        t.ok(read_reply(s).startswith("331 "), "USER anonymous: 331")
        t.ok(read_reply(s).startswith("230 "), "PASS: 230")
        s.sendall(b"REIN\r\n")
        t.ok(read_reply(s).startswith("502 "), "REIN: 502")
        s.sendall(b"user ftp\r\n")
        t.ok(read_reply(s).startswith("530 "), "USER after login: 530")
        s.sendall(b"QUIT\r\n")
        t.ok(read_reply(s).startswith("221 "), "QUIT: 221")
        s.settimeout(5)
        t.eq(s.recv(100), b"", "QUIT closes the connection")
        s.close()

        f = login(d, "ftp", "")
        t.eq(cmd(f, "SYST"), "215 UNIX Type: L8", "SYST")
        t.eq(f.pwd(), "/", "PWD at the root")
        t.ok(cmd(f, "CWD pub").startswith("250 "), "CWD pub")
        t.eq(f.pwd(), "/pub", "PWD /pub")
        t.ok(cmd(f, "CWD sub dir").startswith("250 "), "CWD with a space")
        t.ok(cmd(f, "CDUP").startswith("250 ") and f.pwd() == "/pub", "CDUP")
        t.ok(cmd(f, "XCWD /").startswith("250 ") and f.pwd() == "/", "XCWD /")
        t.ok(cmd(f, "CDUP").startswith("550 "), "CDUP at the root: 550")
        t.ok(cmd(f, "CWD hello.txt").startswith("550 "), "CWD to a file: 550")
        t.ok(cmd(f, "CWD nothere").startswith("550 "), "CWD nowhere: 550")
        t.ok(cmd(f, "TYPE I").startswith("200 "), "TYPE I")
        t.ok(cmd(f, "TYPE L 8").startswith("200 "), "TYPE L 8")
        t.ok(cmd(f, "TYPE E").startswith("504 "), "TYPE E: 504")
        t.ok(cmd(f, "TYPE").startswith("501 "), "TYPE without argument: 501")
        t.ok(cmd(f, "MODE S").startswith("200 "), "MODE S")
        t.ok(cmd(f, "MODE B").startswith("504 "), "MODE B: 504")
        t.ok(cmd(f, "STRU F").startswith("200 "), "STRU F")
        t.ok(cmd(f, "STRU R").startswith("504 "), "STRU R: 504")
        t.ok(cmd(f, "NOOP").startswith("200 "), "NOOP")
        t.ok(cmd(f, "ALLO 100").startswith("202 "), "ALLO: 202")
        t.ok(cmd(f, "ACCT x").startswith("202 "), "ACCT: 202")
        t.ok(cmd(f, "OPTS UTF8 ON").startswith("200 "), "OPTS UTF8 ON")
        t.ok(cmd(f, "OPTS FOO").startswith("501 "), "OPTS FOO: 501")
        t.eq(cmd(f, "OPTS MLST type;size;"), "200 MLST OPTS type;size;",
             "OPTS MLST")
        t.ok(cmd(f, "FEAT").find(" MLST type*;size*;modify;") > 0,
             "FEAT shows the facts chosen")
        cmd(f, "OPTS MLST type;size;modify;perm;unique;")
        h = cmd(f, "HELP")
        t.ok(h.startswith("214-") and h.endswith("214 Help OK.") and
             "RETR" in h and "EPSV" in h, "HELP: multi-line 214", h)
        t.ok(cmd(f, "HELP retr").startswith("214 Syntax: RETR"), "HELP RETR")
        st = cmd(f, "STAT")
        t.ok(st.startswith("211-") and "anonymous" in st and
             st.endswith("211 End of status"), "STAT: 211", st)
        st = cmd(f, "STAT /pub")
        t.ok(st.startswith("213-") and " big.bin" in st and
             st.endswith("213 End of status"), "STAT /pub lists over control",
             st)
        t.eq(cmd(f, "SIZE pub/big.bin"), "213 %d" % len(tree.big), "SIZE")
        t.ok(cmd(f, "SIZE pub").startswith("550 "), "SIZE of a dir: 550")
        mt = time.strftime("%Y%m%d%H%M%S",
                           time.gmtime(os.stat(tree.path("hello.txt")).st_mtime))
        t.eq(cmd(f, "MDTM hello.txt"), "213 " + mt, "MDTM")
        ml = cmd(f, "MLST pub/big.bin")
        t.ok(ml.startswith("250-") and ml.endswith("250 End") and
             "type=file;size=%d;" % len(tree.big) in ml and
             " /pub/big.bin" in ml, "MLST", ml)

        # Listings.
        lines = []
        f.retrlines("LIST", lines.append)
        names = [l.split(None, 8)[-1] for l in lines]
        t.eq(names, ["empty", "hello.txt", "pub", "topdir -> " + tree.top],
             "LIST of the root (ls -l names)")
        t.ok(all(len(l.split(None, 8)) == 9 for l in lines),
             "LIST lines have the nine ls -l fields", lines)
        lines = []
        f.retrlines("LIST -la pub", lines.append)
        t.ok(any(l.endswith(" big.bin") and l.startswith("-rw") and
                 " %d " % len(tree.big) in l for l in lines),
             "LIST -la pub: options skipped, sizes shown", lines)
        t.eq(sorted(f.nlst("pub")), ["pub/abs", "pub/big.bin", "pub/ok",
                                     "pub/sub dir", "pub/text.txt", "pub/up"],
             "NLST pub")
        t.eq(f.nlst("pub/*.txt"), ["pub/text.txt"], "NLST with a glob")
        facts = dict(f.mlsd("pub"))
        t.ok(facts.get("big.bin", {}).get("size") == str(len(tree.big)) and
             facts["sub dir"]["type"] == "dir" and
             # Valgrind lacks openat2: the walk refuses every symlink.
             (facts.get("ok", {}).get("type") == "file" or
              (under_valgrind() and "ok" not in facts)) and
             "abs" not in facts and
             "up" not in facts, "MLSD: facts; links out of the root left out",
             facts)
        lines = []
        f.retrlines("LIST pub/sub dir", lines.append)
        t.ok(len(lines) == 1 and lines[0].endswith(" caf\u00e9.txt"),
             "UTF-8 names listed as they are", lines)
        lines = []
        f.retrlines("LIST empty", lines.append)
        t.eq(lines, [], "LIST of an empty directory")
        t.ok(cmd(f, "PASV").startswith("227 "), "PASV")
        try:
            f.retrlines("LIST nothere", lines.append)
            t.ok(False, "LIST nowhere: 550")
        except ftplib.error_perm as e:
            t.ok(str(e).startswith("550 "), "LIST nowhere: 550")

        # Downloads.
        r, data = retr(f, "pub/big.bin")
        t.ok(r.startswith("226 ") and data == tree.big,
             "RETR (EPSV) %d bytes, same checksum" % len(data))
        r, data = retr(f, "pub/big.bin", rest=1000001)
        t.ok(r.startswith("226 ") and data == tree.big[1000001:],
             "REST 1000001 + RETR: the rest of the file")
        r, data = retr(f, "pub/big.bin", rest=len(tree.big) + 5)
        t.ok(r.startswith("226 ") and data == b"", "REST past the end: nothing")
        t.ok(cmd(f, "REST x").startswith("501 "), "REST x: 501")
        r, data = retr(f, "pub/ok")
        # Valgrind lacks openat2: the walk refuses every symlink.
        t.ok((r.startswith("226 ") and data == b"hello\n") or
             (under_valgrind() and r.startswith("550 ")),
             "RETR through a symlink that stays inside")
        r, data = retr(f, "pub")
        t.ok(r.startswith("550 "), "RETR of a directory: 550", r)
        g = login(d)
        t.ok(cmd(g, "RETR hello.txt").startswith("425 "),
             "RETR without PASV/PORT: 425")
        g.quit()
        lines = []
        f.retrlines("RETR pub/text.txt", lines.append)
        t.eq(lines, ["one", "two", "three"], "RETR in ASCII mode")
        cmd(f, "TYPE A")
        s = f.transfercmd("RETR pub/text.txt")
        got = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
        s.close()
        t.eq(got, b"one\r\ntwo\r\nthree\r\n", "TYPE A sends CR LF")
        t.ok(f.voidresp().startswith("226"), "226 after the ASCII transfer")
        cmd(f, "TYPE I")
        f.set_pasv(False)
        r, data = retr(f, "pub/big.bin")
        t.ok(r.startswith("226 ") and data == tree.big,
             "RETR in active mode (EPRT/PORT), same checksum")
        f.set_pasv(True)

        # ABOR in the middle of a transfer (Telnet IP + urgent DM).
        s = f.transfercmd("RETR pub/big.bin")
        s.recv(1000)
        f.sock.sendall(b"\xff\xf4\xff")
        f.sock.sendall(b"\xf2", socket.MSG_OOB)
        f.sock.sendall(b"ABOR\r\n")
        try:
            r1 = f.getline()
            r2 = f.getline()
        except ftplib.all_errors as e:
            r1, r2 = str(e), ""
        s.close()
        t.ok(r1.startswith("426") and r2.startswith("226"),
             "ABOR during RETR: 426 then 226", (r1, r2))
        t.ok(cmd(f, "ABOR").startswith("225 "), "ABOR with nothing: 225")
        r, data = retr(f, "hello.txt")
        t.ok(data == b"hello\n", "the session works after ABOR")

        # STAT during a transfer, a command waiting for its end.
        s = f.transfercmd("RETR pub/big.bin")
        f.sock.sendall(b"STAT\r\nPWD\r\n")
        st = f.getmultiline()
        t.ok(st.startswith("211-") and "Transfer:" in st,
             "STAT during a transfer: its progress", st)
        got = b""
        while True:
            c = s.recv(1 << 20)
            if not c:
                break
            got += c
        s.close()
        r = f.getmultiline()
        t.ok(r.startswith("226 ") and got == tree.big, "the transfer ends", r)
        t.ok(f.getmultiline().startswith("257 "),
             "PWD sent during the transfer answered after its 226")

        # EPSV ALL.
        g = login(d)
        t.ok(cmd(g, "EPSV ALL").startswith("200 "), "EPSV ALL")
        t.ok(cmd(g, "PASV").startswith("503 "), "PASV after EPSV ALL: 503")
        t.ok(cmd(g, "PORT 127,0,0,1,200,10").startswith("503 "),
             "PORT after EPSV ALL: 503")
        t.ok(cmd(g, "EPRT |1|127.0.0.1|5000|").startswith("503 "),
             "EPRT after EPSV ALL: 503")
        t.ok(cmd(g, "EPSV").startswith("229 "), "EPSV after EPSV ALL: 229")
        t.ok(cmd(g, "EPSV 7").startswith("522 "), "EPSV 7: 522")
        g.quit()
        h = login(d)
        t.ok(cmd(h, "EPRT |3|1.2.3.4|5000|").startswith("522 "),
             "EPRT af 3: 522")
        t.ok(cmd(h, "EPRT junk").startswith("501 "), "EPRT junk: 501")
        t.ok(cmd(h, "PORT 1,2,3").startswith("501 "), "PORT junk: 501")
        h.quit()
        f.quit()

        # --max-per-ip 20.
        socks = [raw("127.0.0.1", d.ftp_port) for _ in range(20)]
        s = socket.create_connection(("127.0.0.1", d.ftp_port), timeout=10)
        s.settimeout(10)
        t.ok(s.recv(200).startswith(b"421 "), "21st session from one "
             "address: 421 (--max-per-ip 20)")
        s.close()
        for s in socks:
            s.close()

    # --pasv-ports, --pasv-address, --max-clients.
    # Two ports below the ephemeral range, as free_port() picks them: a
    # range inside it may be held by any outgoing connection (425).
    lo, _ = free_port_range(2)
    with start(tree, "--pasv-ports", "%d-%d" % (lo, lo + 1),
               "--pasv-address", "192.0.2.7", "--max-clients", "3") as d:
        f = login(d)
        r = cmd(f, "PASV")
        t.ok(r.startswith("227 ") and "(192,0,2,7," in r,
             "--pasv-address shown in PASV", r)
        nums = r[r.index("(") + 1:r.index(")")].split(",")
        port = int(nums[4]) * 256 + int(nums[5])
        t.ok(lo <= port <= lo + 1, "PASV port within --pasv-ports", r)
        r = cmd(f, "EPSV")
        port = int(r.split("|||")[1].split("|")[0])
        t.ok(lo <= port <= lo + 1, "EPSV port within --pasv-ports", r)
        r, data = retr(f, "hello.txt")
        t.ok(data == b"hello\n", "EPSV download on a --pasv-ports port")
        # Each port's last data connection lingers in TIME_WAIT; the two
        # ports must still serve one download after another.
        good = 0
        for _ in range(6):
            r, data = retr(f, "hello.txt")
            good += data == b"hello\n"
        t.eq(good, 6, "6 downloads in a row over 2 passive ports (TIME_WAIT reuse)")
        g = login(d)
        h = login(d, user=None)
        s = socket.create_connection(("127.0.0.1", d.ftp_port), timeout=10)
        s.settimeout(10)
        t.ok(s.recv(200).startswith(b"421 "), "--max-clients 3: the 4th "
             "is told 421")
        s.close()
        for x in (f, g):
            x.quit()
        h.close()
        r = subprocess.run([binary(FTPD), "--pasv-ports", "80-90"],
                           capture_output=True, timeout=budget(10))
        t.eq(r.returncode, 64, "--pasv-ports below 1024: exit 64")
        # A root that surely is missing (other programs on this machine
        # may make /nonexistent for a moment), on a port nobody holds.
        r = subprocess.run([binary(FTPD), "-r",
                            os.path.join(tree.top, "no-such-root"),
                            "-p", str(free_port())],
                           capture_output=True, timeout=budget(10))
        t.eq(r.returncode, 78, "a root that does not exist: exit 78")
        r = subprocess.run([binary(FTPD), "--help"], capture_output=True)
        t.ok(r.returncode == 0 and b"--pasv-ports" in r.stdout, "--help")

    # IPv6, EPSV and EPRT over ::1.
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        have6 = True
    except OSError:
        have6 = False
    if have6:
        with start(tree, host="::1") as d6:
            f = login(d6)
            r, data = retr(f, "pub/big.bin")
            t.ok(data == tree.big, "IPv6: EPSV download, same checksum")
            t.ok(cmd(f, "PASV").startswith("425 "), "IPv6: PASV refused: 425")
            f.set_pasv(False)
            r, data = retr(f, "hello.txt")
            t.ok(data == b"hello\n", "IPv6: EPRT download")
            f.quit()
    else:
        t.ok(True, "# SKIP no IPv6 loopback")

    # Idle timeout; socket activation; SIGTERM.
    with start(tree, "--idle-timeout", "0.5", activate=True) as d:
        f = login(d)
        t.ok(cmd(f, "NOOP").startswith("200 "),
             "socket-activated daemon serves")
        time.sleep(1.5)
        try:
            r = f.sendcmd("NOOP")
        except Exception as e:
            r = str(e)
        t.ok(not r.startswith("200"), "idle session closed after "
             "--idle-timeout", r)
        f.close()
        g = login(d)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        try:
            r = g.getline()
        except ftplib.all_errors as e:
            r = str(e)
        t.ok(r.startswith("421"), "SIGTERM: idle session told 421", r)
        rc = d.proc.wait(budget(10))
        t.eq(rc, 0, "SIGTERM: exit 0")
finally:
    tree.cleanup()
t.done()
