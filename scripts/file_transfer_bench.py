#!/usr/bin/env python3
"""Measures a FILE upload and FETCH download through a running chatroom
server: throughput in MiB/s and the server's peak RSS growth over idle.

Usage: scripts/file_transfer_bench.py HOST:PORT SERVER_PID [MIB]
Loopback only; ends by itself (every read has a timeout).
"""
import hashlib, os, socket, sys, threading, time

addr, pid = sys.argv[1], int(sys.argv[2])
mib = int(sys.argv[3]) if len(sys.argv) > 3 else 12
host, port = addr.rsplit(":", 1)

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

peak = [0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib())
        time.sleep(0.002)

class Client:
    def __init__(self, nick):
        self.s = socket.create_connection((host, int(port)), timeout=30)
        self.f = self.s.makefile("rb")
        self.line()  # HELLO
        self.cmd(f"NICK {nick}")
    def line(self):
        l = self.f.readline()
        if not l:
            raise SystemExit("server closed the connection")
        return l.decode().rstrip("\n")
    def cmd(self, text, until="OK "):
        self.s.sendall(text.encode() + b"\n")
        while True:
            l = self.line()
            if l.startswith(until) or l.startswith("ERR "):
                return l

up, down = Client(f"up{os.getpid()}"), Client(f"down{os.getpid()}")
up.cmd("JOIN #xfer"); down.cmd("JOIN #xfer")
body = os.urandom(mib * 1024 * 1024)
idle = rss_kib()
threading.Thread(target=sample, daemon=True).start()

t0 = time.perf_counter()
up.s.sendall(f"FILE #xfer {len(body)} payload.bin\n".encode())
view = memoryview(body)
for i in range(0, len(body), 1 << 16):
    up.s.sendall(view[i:i + (1 << 16)])
ok = up.line()
while not ok.startswith(("OK FILE", "ERR")):
    ok = up.line()
t_up = time.perf_counter() - t0
assert ok.startswith("OK FILE"), ok
fid, sha = ok.split()[2], ok.split()[3]
assert sha == hashlib.sha256(body).hexdigest(), "sha256 mismatch"

t0 = time.perf_counter()
down.s.sendall(f"FETCH {fid}\n".encode())
l = down.line()
while not l.startswith(("DATA", "ERR")):
    l = down.line()
size = int(l.split()[2])
h, left = hashlib.sha256(), size
while left:
    chunk = down.f.read(min(left, 1 << 20))
    if not chunk:
        raise SystemExit("download cut")
    h.update(chunk); left -= len(chunk)
assert down.line().startswith("OK FETCH")
t_down = time.perf_counter() - t0
stop.set()
assert h.hexdigest() == sha, "download sha256 mismatch"
print(f"file {mib} MiB: upload {mib / t_up:.1f} MiB/s, download {mib / t_down:.1f} MiB/s, "
      f"server RSS idle {idle / 1024:.1f} MiB, peak {peak[0] / 1024:.1f} MiB, "
      f"growth {(peak[0] - idle) / 1024:.2f} MiB")
