#!/usr/bin/env python3
"""One interleaved performance suite: every scenario is run against every
server build named and against the bare tokio floor (examples/
baseline_server) in turn, round after round, so that all of them see the
same machine; figures are reported as medians with their range, and as
ratios to the floor and to the first build named.

Usage:
  scripts/perf_suite.py --server NEW=target/release/chatroom \
      --server OLD=/path/to/older/chatroom \
      [--floor target/release/examples/baseline_server] \
      [--bench target/release/chatroom-bench] [--rounds 3] [--only fanout,rooms]

The server runs on CPU 0 and the tool on CPU 1 (taskset), on 127.0.0.1
with a free port, from a scratch directory, flood control lifted, logs at
warn. Every run ends by itself (the tool's reads time out). Loopback only.

Two client rhythms are measured: chatroom-bench's own (`fanout`, `rooms`,
`rate500`: each sender keeps 64 messages unacknowledged and writes them
in batches) and one line per write() with a room-wide cap on messages in
flight counted in copies received (`shared64`, `shared256`,
`rooms-shared`) or an open loop (`open500`); on the reading side,
receivers reading at once or on a 10 ms timer (`timer64`, `timer256`).
The `threads*` scenarios drive the one-line rhythm from a second tool,
chatroom-threads (a thread per connection), so that no figure rests on
one tool's timing alone. A run with a lost copy fails the suite.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# name: (tool arguments, metric, history settings to run, floor too?)
SCENARIOS = {
    "fanout": (["fanout", "-c", "200", "-s", "10", "--window", "64", "--size", "64"],
               "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "rooms": (["rooms", "-r", "100", "-k", "10"],
              "deliveries_per_server_cpu_sec", ["off", "on"], True),
    # The other client rhythm (issue 16): one line per write(), one cap of
    # messages in flight for the whole room counted in copies the members
    # have read, receivers reading as fast as they can.
    "shared64": (["fanout", "-c", "200", "-s", "10", "--rhythm", "shared-window",
                  "--window-total", "64", "--size", "64"],
                 "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "shared256": (["fanout", "-c", "200", "-s", "10", "--rhythm", "shared-window",
                   "--window-total", "256", "--size", "64"],
                  "deliveries_per_server_cpu_sec", ["off", "on"], True),
    # A third rhythm, on the reading side: the members that do not send
    # read on a 10 ms timer (everything that has come, then nothing until
    # the next turn), as a client polling its socket from a UI loop does;
    # with each of the senders' rhythms above.
    "timer64": (["fanout", "-c", "200", "-s", "10", "--window", "64", "--size", "64",
                 "--read-every", "10"],
                "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "timer256": (["fanout", "-c", "200", "-s", "10", "--rhythm", "shared-window",
                  "--window-total", "256", "--size", "64", "--read-every", "10"],
                 "deliveries_per_server_cpu_sec", ["off", "on"], True),
    # 100 rooms x 10, all sending, 1000 in flight in all (10 per room).
    "rooms-shared": (["rooms", "-r", "100", "-k", "10", "--rhythm", "shared-window",
                      "--window-total", "10"],
                     "deliveries_per_server_cpu_sec", ["off", "on"], True),
    # Open loop: 500 msg/s in all (50 from each of 10 senders) whatever
    # happens, one line per write; the figure is the latency it sees.
    "open500": (["fanout", "-c", "200", "-s", "10", "--rhythm", "open", "--rate", "500",
                 "--duration", "5"],
                "p99_ms", ["off", "on"], True),
    # Another rhythm: a fixed rate whatever the acknowledgements, small
    # writes; the figure is the latency it sees.
    "rate500": (["fanout", "-c", "200", "-s", "10", "--rate", "500", "--duration", "5"],
                "p99_ms", ["off", "on"], True),
    # The same senders' rhythm from a second tool written apart from
    # chatroom-bench (bench/src/bin/chatroom-threads.rs): blocking sockets,
    # a thread per connection, each member reading what has come into an
    # 8 KiB buffer. The tool saturates its core, so the server sees the
    # trickle of a slow client machine rather than the bursts of a fast one.
    "threads64": (["--members", "200", "--senders", "10", "--in-flight", "64"],
                  "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "threads256": (["--members", "200", "--senders", "10", "--in-flight", "256"],
                   "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "threads-rooms": (["--rooms", "100", "--members", "10", "--senders", "10",
                       "--in-flight", "10"],
                      "deliveries_per_server_cpu_sec", ["off", "on"], True),
    "conns": (["conns", "-n", "10000"], "rss_bytes_per_conn", ["on"], True),
    # The same run's other figure: clients connected and registered per
    # second (the floor accepts and answers NICK with no checks at all).
    "register": (["conns", "-n", "10000"], "registered_per_sec", ["on"], True),
    # The tool, which makes both ends of every TCP handshake on its own
    # core over loopback, runs at its core's limit while registering
    # (`tool_register` in the JSON line): registrations per second measure
    # it as much as the server. Per second of the server's CPU measures
    # the server alone, as the delivery figures do.
    "register-cpu": (["conns", "-n", "10000"], "registered_per_server_cpu_sec", ["on"], True),
    "join1": (["conns", "-n", "10000", "--join-one-room"], "join_secs", ["on"], False),
}

# The scenarios run with chatroom-threads (`--threads-tool`) instead of
# chatroom-bench.
THREADS_TOOL_SCENARIOS = {"threads64", "threads256", "threads-rooms"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


def metric(run, name):
    if name == "rss_bytes_per_conn":
        return run["rss"]["per_conn_kib"] * 1024
    if name == "p99_ms":
        return run["latency_us"]["p99_us"] / 1000
    return run[name]


_KNOWS = {}


def knows(binary, section):
    """Whether `binary` has the listener `section` (`http`, `admin`) to
    turn off (builds before it refuse the unknown section): asked once,
    by starting it."""
    if (binary, section) not in _KNOWS:
        with tempfile.TemporaryDirectory() as scratch:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CHATROOM_")}
            # Only the section asked about: a build refuses the first
            # unknown field it meets, in no fixed order.
            env.update({f"CHATROOM_{section.upper()}__LISTEN": "", "CHATROOM_LOG__DIR": "",
                        "CHATROOM_HISTORY__ENABLED": "false"})
            probe = subprocess.Popen([binary, "--listen", "127.0.0.1:0"], cwd=scratch, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                _, err = probe.communicate(timeout=2)
                _KNOWS[(binary, section)] = f"unknown field `{section}`" not in err
            except subprocess.TimeoutExpired:
                probe.kill()
                probe.wait()
                _KNOWS[(binary, section)] = True
    return _KNOWS[(binary, section)]


def run_one(binary, floor, history, tool, args):
    """Starts one server, runs the tool once, stops the server; the JSON line."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("CHATROOM_"):
                del env[key]
        env.update({
            "CHATROOM_LIMITS__FLOOD_BURST": "1000000",
            "CHATROOM_LIMITS__FLOOD_RATE_PER_SEC": "1000000",
            "CHATROOM_LIMITS__MAX_CLIENTS": "20000",
            "CHATROOM_LOG__LEVEL": "warn",
            "CHATROOM_LOG__DIR": "",
            "CHATROOM_HISTORY__ENABLED": "true" if history == "on" else "false",
        })
        # No web client and no admin listener: never the fixed ports 8080
        # and 9555.
        for section in ("http", "admin"):
            if not floor and knows(binary, section):
                env[f"CHATROOM_{section.upper()}__LISTEN"] = ""
        cmd = [binary, f"127.0.0.1:{port}"] if floor else [binary, "--listen", f"127.0.0.1:{port}"]
        server = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=scratch, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port, server)
            out = subprocess.run(
                ["taskset", "-c", "1", tool, "--server-pid", str(server.pid),
                 "--addr", f"127.0.0.1:{port}", *args],
                capture_output=True, text=True, timeout=600, env=env)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
        if not lines:
            raise RuntimeError(f"no report from {args}: {out.stderr[-500:]}")
        run = json.loads(lines[-1])
        if not run.get("ok", False):
            raise RuntimeError(f"run failed: {run.get('failures')}")
        return run


def fmt(v):
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--floor", default="target/release/examples/baseline_server")
    ap.add_argument("--bench", default="target/release/chatroom-bench")
    ap.add_argument("--threads-tool", default="target/release/chatroom-threads")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--out", default=None, help="also write every run as a JSON line here")
    opts = ap.parse_args()
    servers = [tuple(s.split("=", 1)) for s in opts.server]
    results = {}  # (scenario, who, history) -> [values]
    log = open(opts.out, "a") if opts.out else None
    for rnd in range(opts.rounds):
        for scenario in opts.only.split(","):
            args, name, histories, with_floor = SCENARIOS[scenario]
            tool = opts.threads_tool if scenario in THREADS_TOOL_SCENARIOS else opts.bench
            entries = [(who, path, h, False) for h in histories for who, path in servers]
            if with_floor:
                entries.append(("floor", opts.floor, "-", True))
            for who, path, history, floor in entries:
                run = run_one(os.path.abspath(path), floor, history,
                              os.path.abspath(tool), args)
                value = metric(run, name)
                results.setdefault((scenario, who, history), []).append(value)
                if log:
                    log.write(json.dumps({"round": rnd, "scenario": scenario, "who": who,
                                          "history": history, "value": value}) + "\n")
                    log.flush()
                print(f"round {rnd + 1} {scenario:7} {who:8} history {history:3} "
                      f"{name} {value:,.1f}", file=sys.stderr, flush=True)
    first = servers[0][0]
    print(f"| scenario | build | history | median | range | vs floor | vs {first} |")
    print("|---|---|---|---|---|---|---|")
    for (scenario, who, history), values in results.items():
        med = statistics.median(values)
        floor = results.get((scenario, "floor", "-"))
        ref = results.get((scenario, first, history))
        vs_floor = f"{med / statistics.median(floor):.2f}" if floor and who != "floor" else ""
        vs_first = f"{med / statistics.median(ref):.3f}" if ref and who not in (first, "floor") else ""
        print(f"| {scenario} | {who} | {history} | {fmt(med)} | {fmt(min(values))}–{fmt(max(values))} "
              f"| {vs_floor} | {vs_first} |")


if __name__ == "__main__":
    main()
