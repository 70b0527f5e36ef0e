# SPDX-License-Identifier: ISC
"""The hand-over tests' rig: systemd's part played by the test (a
notification socket that keeps an fd store, daemons started with
LISTEN_FDS, LISTEN_FDNAMES and NOTIFY_SOCKET as systemd starts them),
clients that record every line on a thread of their own, and capsules
opened and forged in lib/handover.c's format, to hand a daemon damaged
ones."""

import fcntl
import os
import selectors
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib

from taplib import binary, wrapper

CAPSULE_HEAD = struct.Struct("=8sIIIIQ")     # magic version nl nc zero imagelen
CAPSULE_BATCH = struct.Struct("=8sII")       # magic first count
IMAGE_HEAD = struct.Struct("<8sII16sIIIIQQII")
RECORD_MIN = 56
# Moves the sockets from fd 200 on to fd 3 on, and names the PID they are
# for, in the process that then becomes the daemon: what systemd does
# before exec (bash: dash knows no fd above 9).
LAUNCH = 'n=$1; shift; i=0; while [ $i -lt $n ]; do eval "exec $((3 + i))<&$((200 + i)) $((200 + i))<&-"; i=$((i + 1)); done; export LISTEN_PID=$$; exec "$@"'


class Manager:
    """systemd's notification socket and fd store, as far as the daemons
    use them: READY=1, RELOADING=1, STATUS=, FDSTORE=1 with FDNAME=,
    FDSTOREREMOVE=1, and BARRIER=1 (answered by closing its pipe)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="handover-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(self.path)
        # Open to all, as systemd's own: a daemon started as root sends
        # its hand-over after dropping to nobody.
        os.chmod(self.dir, 0o755)
        os.chmod(self.path, 0o777)
        self.sock.setblocking(False)
        self.store = []          # [name, fd]
        self.messages = []       # dicts, in order

    def poll(self):
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, 65536, 300)
            except BlockingIOError:
                return
            fields = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            self.messages.append(fields)
            if fields.get("BARRIER") == "1":
                for fd in fds:
                    os.close(fd)
            elif fields.get("FDSTORE") == "1":
                for fd in fds:
                    self.store.append([fields.get("FDNAME", "stored"), fd])
            else:
                for fd in fds:
                    os.close(fd)
            if fields.get("FDSTOREREMOVE") == "1":
                name = fields.get("FDNAME")
                for item in [s for s in self.store if s[0] == name]:
                    os.close(item[1])
                    self.store.remove(item)

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if pred():
                return True
            time.sleep(0.02)
        self.poll()
        return pred()

    def seen(self, key, value=None, since=0):
        return any(key in m and (value is None or m[key] == value)
                   for m in self.messages[since:])

    def take(self, name="handover"):
        """Takes the stored fds of that name out of the store."""
        self.poll()
        got = [fd for n, fd in self.store if n == name]
        self.store = [s for s in self.store if s[0] != name]
        return got

    def close_store(self):
        """What systemd does with the store when the unit stops."""
        for _, fd in self.store:
            os.close(fd)
        self.store = []

    def start(self, argv, listeners, capsules=(), env=None, reexec=False):
        """Starts argv[0] (relative to the build dir) as systemd would:
        the listening sockets, then the stored capsules, at fd 3 on."""
        fds = list(listeners) + list(capsules)
        names = ["clock.socket"] * len(listeners) + ["handover"] * len(capsules)
        high = []
        for i, fd in enumerate(fds):
            os.dup2(fd, 200 + i, inheritable=True)
            high.append(200 + i)
        full = dict(os.environ)
        full.update(env or {})
        full.update({"LISTEN_FDS": str(len(fds)), "LISTEN_FDNAMES": ":".join(names),
                     "NOTIFY_SOCKET": self.path, "FDSTORE": "4"})
        log = tempfile.NamedTemporaryFile(prefix="daemon-", suffix=".log", delete=False)
        cmd = (["bash", "-c", LAUNCH, "launch", str(len(high))] +
               wrapper(reexec) + [binary(argv[0])] + list(argv[1:]))
        proc = subprocess.Popen(cmd, env=full, pass_fds=high, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        for h in high:
            os.close(h)
        return Managed(proc, log.name, self)

    def start_ready(self, argv, listeners, capsules=(), timeout=10):
        """start, then wait for its READY=1; the capsules passed on are
        closed here (systemd keeps no copy once it has handed them)."""
        mark = len(self.messages)
        d = self.start(argv, listeners, capsules)
        for fd in capsules:
            os.close(fd)
        self.wait(lambda: self.seen("READY", "1", mark), timeout)
        d.ready = self.seen("READY", "1", mark)
        d.mark = mark
        return d

    def close(self):
        self.close_store()
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


class Managed:
    """A daemon started by Manager.start."""

    def __init__(self, proc, log, manager):
        self.proc = proc
        self.log = log
        self.manager = manager

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait(self, timeout):
        """Its exit status, answering its notifications meanwhile (a
        stopping daemon waits for its BARRIER=1 to be answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.manager.poll()
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.manager.poll()
        return self.proc.poll()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait(10) is None:
                self.proc.kill()
                self.proc.wait()
        try:
            os.unlink(self.log)
        except OSError:
            pass


def wait_log(d, text, seconds, count=1):
    """True once d's log (a Daemon's or a Managed's output()) holds text
    count times, waiting at most seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if d.output().count(text) >= count:
            return True
        time.sleep(0.05)
    return d.output().count(text) >= count


def listener(port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


class Clients:
    """n clients of one port, read on a thread: every line with its
    arrival time, and when each saw the connection end (None: never)."""

    def __init__(self, port, n, host="127.0.0.1"):
        self.socks = [socket.create_connection((host, port), timeout=5)
                      for _ in range(n)]
        self.lines = [[] for _ in range(n)]
        self.eof = [None] * n
        self.sel = selectors.DefaultSelector()
        self.bufs = [b""] * n
        for i, s in enumerate(self.socks):
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, i)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            for key, _ in self.sel.select(0.1):
                i = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                now = time.monotonic()
                with self.lock:
                    if not chunk:
                        self.eof[i] = now
                        self.sel.unregister(key.fileobj)
                        continue
                    self.bufs[i] += chunk
                    while b"\n" in self.bufs[i]:
                        line, self.bufs[i] = self.bufs[i].split(b"\n", 1)
                        self.lines[i].append((now, line))

    def wait_lines(self, count, timeout):
        """Until every open client has at least count lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(len(l) >= count or e is not None
                       for l, e in zip(self.lines, self.eof)):
                    return True
            time.sleep(0.05)
        return False

    def snapshot(self):
        with self.lock:
            return [list(l) for l in self.lines], list(self.eof)

    def send(self, i, data):
        self.socks[i].setblocking(True)
        self.socks[i].sendall(data)
        self.socks[i].setblocking(False)

    def close(self):
        self.running = False
        self.thread.join(2)
        for s in self.socks:
            s.close()


def seconds(line):
    h, m, s = (int(x) for x in line.decode().strip().split(":"))
    return h * 3600 + m * 60 + s


def consecutive(lines):
    """True when the HH:MM:SS lines name one second after another."""
    try:
        secs = [seconds(l) for _, l in lines]
    except ValueError:
        return False
    return all((b - a) % 86400 == 1 for a, b in zip(secs, secs[1:]))


# --- capsules ------------------------------------------------------------------

def open_capsule(fd):
    """Empties a capsule: (head fields, image bytes, seals, [sockets])."""
    s = socket.socket(fileno=os.dup(fd))
    s.setblocking(False)
    data, fds, _, _ = socket.recv_fds(s, 64, 1)
    magic, version, nl, nc, _, imagelen = CAPSULE_HEAD.unpack(data)
    mfd = fds[0]
    image = os.pread(mfd, imagelen, 0)
    os.close(mfd)
    socks = [-1] * (nl + nc)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(s, 64, 253)
        except BlockingIOError:
            break
        _, first, count = CAPSULE_BATCH.unpack(data)
        for k, f in enumerate(fds):
            socks[first + k] = f
    s.close()
    return {"nlisteners": nl, "nclients": nc}, image, socks


def make_capsule(image, fds, nlisteners, seal=True, imagelen=None,
                 magic=b"CWCAPSUL"):
    """A capsule as lib/handover.c packs one, from parts the test chose;
    None in fds leaves that place empty, as a socket lost on the way."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    mfd = os.memfd_create("forged", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(mfd, image)
    if seal:
        fcntl.fcntl(mfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW |
                    fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    head = CAPSULE_HEAD.pack(magic, 1, nlisteners, len(fds) - nlisteners, 0,
                             len(image) if imagelen is None else imagelen)
    socket.send_fds(b, [head], [mfd])
    os.close(mfd)
    first = 0
    while first < len(fds):
        if fds[first] is None:
            first += 1
            continue
        end = first
        while end < len(fds) and end - first < 253 and fds[end] is not None:
            end += 1
        socket.send_fds(b, [CAPSULE_BATCH.pack(b"CWFDBTCH", first, end - first)],
                        fds[first:end])
        first = end
    b.close()
    fd = os.dup(a.fileno())
    a.close()
    return fd


def subimage(image, which, earlier_us=0):
    """The image with only the client records in which (renumbered), its
    start moved earlier_us back, every checksum made right."""
    recs = image_records(image)
    img = bytearray(image[:recs[0][0]] if recs else image)
    for k, i in enumerate(which):
        off, rlen = recs[i]
        rec = bytearray(image[off:off + rlen])
        struct.pack_into("<I", rec, 12, k)
        struct.pack_into("<I", rec, 8, zlib.crc32(bytes(rec[12:])))
        img += rec
    struct.pack_into("<I", img, 40, len(which))
    struct.pack_into("<Q", img, 48, len(img))
    struct.pack_into("<Q", img, 56, struct.unpack_from("<Q", img, 56)[0] - earlier_us)
    return reseal_header(bytes(img))


def image_records(image):
    """(offset, length) of each client record of an image."""
    head = IMAGE_HEAD.unpack_from(image)
    nclients, bloblen = head[6], head[7]
    off = IMAGE_HEAD.size + bloblen
    out = []
    for _ in range(nclients):
        rlen = struct.unpack_from("<I", image, off)[0]
        out.append((off, rlen))
        off += rlen
    return out


def reseal_header(image):
    """The header's checksum made right again after a change."""
    image = bytearray(image)
    struct.pack_into("<I", image, 68, zlib.crc32(bytes(image[:68])))
    return bytes(image)


def reseal_record(image, off):
    """A client record's checksum made right again after a change."""
    image = bytearray(image)
    rlen = struct.unpack_from("<I", image, off)[0]
    struct.pack_into("<I", image, off + 8, zlib.crc32(bytes(image[off + 12:off + rlen])))
    return bytes(image)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))
