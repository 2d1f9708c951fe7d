#!/usr/bin/env python3
"""What cluster mode costs against a standalone server, on one machine.

Each run starts its servers afresh, runs chatroom-bench once, and stops
them: either one standalone chatroom, or a redis-server (appendonly yes,
appendfsync always, in a temporary directory) and N chatroom nodes on it
(N addresses given to the tool, which spreads its clients over them round
robin); or the floor, examples/baseline_server (the bare tokio fan-out
every figure is set against). Runs are interleaved (floor, standalone,
cluster, floor...) round after round, so that all three see the same
machine.

Every server process (the nodes and redis-server alike) runs on CPU 0 and
the tool on CPU 1 (taskset); "deliveries per server CPU-second" divides
the copies delivered in the measured window by the CPU time of every
server process together (nodes + Redis), read from /proc by the tool.

Usage:
  scripts/cluster_bench.py [--chatroom target/release/chatroom]
      [--bench target/release/chatroom-bench] [--nodes 3] [--rounds 3]
      [--only fanout,shared64,rate500] [--duration 10] [--warmup 2]
      [--out runs.jsonl]

Scenarios (200 members, 10 senders, 64-byte messages):
  fanout    each sender keeps 64 messages unacknowledged (the tool's window)
  shared64  one line per write, 64 messages in flight for the whole room
  shared256 the same with 256 in flight
  rate500   the tool's window at 500 msg/s in all: the latency figure

History is on in both (SQLite for the standalone server, the room's
Redis stream for the cluster, as docs/CLUSTER.md has it); flood control
lifted; no IRC, HTTP or admin listener (never their fixed ports); logs at
warn. Loopback only. A run that loses a copy fails the script. It stops
what it started (by pid) however it ends.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ left in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from perf_suite import free_port, wait_listening  # noqa: E402

BASE = ["fanout", "-c", "200", "-s", "10", "--size", "64"]
SCENARIOS = {
    "fanout": BASE + ["--window", "64"],
    "shared64": BASE + ["--rhythm", "shared-window", "--window-total", "64"],
    "shared256": BASE + ["--rhythm", "shared-window", "--window-total", "256"],
    "rate500": BASE + ["--rate", "500"],
}


class Stopped(Exception):
    """SIGTERM or SIGHUP: stop what was started, then exit."""


# Interleaved in this order, for every scenario of every round.
MODES = ("floor", "standalone", "cluster")


def on_signal(signum, _frame):
    raise Stopped(f"signal {signum}")


class Servers:
    """The processes one run started, stopped in reverse order by pid."""

    def __init__(self):
        self.procs = []  # (name, Popen)
        self.scratch = tempfile.mkdtemp(prefix="chatroom-cluster-bench.")

    def start(self, name, cmd, env=None, cwd=None):
        log = open(os.path.join(self.scratch, f"{name}.log"), "w")
        proc = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=cwd or self.scratch,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name):
        try:
            with open(os.path.join(self.scratch, f"{name}.log")) as f:
                return f.read()[-800:]
        except OSError:
            return ""

    def stop(self):
        # A second SIGTERM must not cut the clean-up short.
        blocked = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            self._stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _stop(self):
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)


def chatroom_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATROOM_")}
    env.update({
        "CHATROOM_LIMITS__FLOOD_BURST": "1000000",
        "CHATROOM_LIMITS__FLOOD_RATE_PER_SEC": "1000000",
        "CHATROOM_LIMITS__MAX_CLIENTS": "20000",
        "CHATROOM_LOG__LEVEL": "warn",
        "CHATROOM_LOG__DIR": "",
        "CHATROOM_HISTORY__ENABLED": "true",
        # Never the fixed ports 6667, 8080 and 9555.
        "CHATROOM_IRC__LISTEN": "",
        "CHATROOM_HTTP__LISTEN": "",
        "CHATROOM_ADMIN__LISTEN": "",
    })
    env.update(extra)
    return env


def start_chatroom(servers, binary, name, extra_env):
    """One chatroom in its own data directory; (pid, address)."""
    port = free_port()
    cwd = os.path.join(servers.scratch, name)
    os.mkdir(cwd)
    proc = servers.start(name, [binary, "--listen", f"127.0.0.1:{port}"],
                         env=chatroom_env(extra_env), cwd=cwd)
    try:
        wait_listening(port, proc)
    except RuntimeError as e:
        raise RuntimeError(f"{name}: {e}: {servers.log_tail(name)}") from e
    return proc.pid, f"127.0.0.1:{port}"


def start_standalone(servers, binary):
    pid, addr = start_chatroom(servers, binary, "standalone", {})
    return [pid], [addr]


def start_floor(servers, binary):
    """The floor: examples/baseline_server, the bare tokio fan-out."""
    port = free_port()
    proc = servers.start("floor", [binary, f"127.0.0.1:{port}"])
    try:
        wait_listening(port, proc)
    except RuntimeError as e:
        raise RuntimeError(f"floor: {e}: {servers.log_tail('floor')}") from e
    return [proc.pid], [f"127.0.0.1:{port}"]


def start_cluster(servers, binary, nodes):
    port = free_port()
    redis_dir = os.path.join(servers.scratch, "redis")
    os.mkdir(redis_dir)
    redis = servers.start("redis", [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", redis_dir,
        "--save", "", "--appendonly", "yes", "--appendfsync", "always",
    ])
    try:
        wait_listening(port, redis)
    except RuntimeError as e:
        raise RuntimeError(f"redis-server: {e}: {servers.log_tail('redis')}") from e
    pids, addrs = [], []
    for n in range(1, nodes + 1):
        pid, addr = start_chatroom(servers, binary, f"n{n}", {
            "CHATROOM_CLUSTER__REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "CHATROOM_CLUSTER__NODE_ID": f"n{n}",
        })
        pids.append(pid)
        addrs.append(addr)
    # Redis last: the tool reports each process's CPU in this order.
    return pids + [redis.pid], addrs


def run_one(mode, opts, args):
    servers = Servers()
    try:
        if mode == "cluster":
            pids, addrs = start_cluster(servers, opts.chatroom, opts.nodes)
        elif mode == "floor":
            pids, addrs = start_floor(servers, opts.floor)
        else:
            pids, addrs = start_standalone(servers, opts.chatroom)
        cmd = ["taskset", "-c", "1", opts.bench,
               "--server-pid", ",".join(map(str, pids)), "--addr", ",".join(addrs),
               *args, "--warmup", str(opts.warmup)]
        if "--duration" not in args:
            cmd += ["--duration", str(opts.duration)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
        if not lines:
            raise RuntimeError(f"{mode}: no report from {args}: {out.stderr[-500:]}")
        run = json.loads(lines[-1])
        if not run.get("ok", False):
            raise RuntimeError(f"{mode}: run failed: lost {run.get('lost_copies')}, "
                               f"failures {run.get('failures')}, error {run.get('error')}")
        return run
    finally:
        servers.stop()


def figures(mode, run):
    lat = run["latency_us"]
    same = run.get("latency_same_node_us") or lat  # standalone: every copy is on its node
    cross = run.get("latency_cross_node_us")
    each = run.get("server_cpu_secs_each") or []
    total = run["server"]["cpu_secs"] if run.get("server") else None
    redis_share = each[-1] / total if mode == "cluster" and each and each[-1] is not None \
        and total else None
    return {
        "deliveries_per_server_cpu_sec": run["deliveries_per_server_cpu_sec"],
        "deliveries_per_sec": run["deliveries_per_sec"],
        "server_cpu_utilisation": run["server"]["cpu_utilisation"] if run.get("server") else None,
        "redis_share_of_server_cpu": redis_share,
        "p50_ms": lat["p50_us"] / 1000,
        "p99_ms": lat["p99_us"] / 1000,
        "p99_same_node_ms": same["p99_us"] / 1000,
        "p99_cross_node_ms": cross["p99_us"] / 1000 if cross else None,
        "lost_copies": run["lost_copies"],
    }


ROWS = [
    ("deliveries_per_server_cpu_sec", "deliveries / server CPU-s (nodes + Redis)", "median"),
    ("deliveries_per_sec", "deliveries / s", "median"),
    ("server_cpu_utilisation", "server CPU (1.0 = one core)", "median"),
    ("redis_share_of_server_cpu", "Redis's share of server CPU", "median"),
    ("p50_ms", "p50 ms, all copies", "median"),
    ("p99_ms", "p99 ms, all copies", "median"),
    ("p99_same_node_ms", "p99 ms, same node", "median"),
    ("p99_cross_node_ms", "p99 ms, cross-node", "median"),
    ("lost_copies", "lost copies", "sum"),
]


def fmt(v):
    if v is None:
        return "–"
    if abs(v) >= 1_000_000:
        return f"{v / 1e6:.3g} M"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chatroom", default="target/release/chatroom")
    ap.add_argument("--bench", default="target/release/chatroom-bench")
    ap.add_argument("--floor", default="target/release/examples/baseline_server")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="fanout,shared64,rate500")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--out", default=None, help="also write every run as a JSON line here")
    opts = ap.parse_args()
    opts.chatroom = os.path.abspath(opts.chatroom)
    opts.bench = os.path.abspath(opts.bench)
    opts.floor = os.path.abspath(opts.floor)
    for need in ("taskset", "redis-server", opts.chatroom, opts.bench, opts.floor):
        if not shutil.which(need):
            sys.exit(f"cluster_bench: {need} not found (Debian: apt-get install redis-server)")
    scenarios = opts.only.split(",")
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"cluster_bench: unknown scenario {s} (known: {', '.join(SCENARIOS)})")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    results = {}  # (scenario, mode) -> [figures]
    log = open(opts.out, "a") if opts.out else None
    try:
        for rnd in range(opts.rounds):
            for scenario in scenarios:
                for mode in MODES:
                    run = run_one(mode, opts, SCENARIOS[scenario])
                    f = figures(mode, run)
                    results.setdefault((scenario, mode), []).append(f)
                    if log:
                        log.write(json.dumps({"round": rnd, "scenario": scenario, "mode": mode,
                                              "figures": f, "run": run}) + "\n")
                        log.flush()
                    print(f"round {rnd + 1} {scenario:9} {mode:10} "
                          f"{fmt(f['deliveries_per_server_cpu_sec'])} deliveries/CPU-s, "
                          f"p99 {f['p99_ms']:.2f} ms, lost {f['lost_copies']}",
                          file=sys.stderr, flush=True)
    except (KeyboardInterrupt, Stopped) as e:
        sys.exit(f"cluster_bench: stopped ({e or 'interrupted'})")
    finally:
        if log:
            log.close()

    print(f"{opts.nodes} nodes + Redis against one standalone server and the floor "
          f"(baseline_server); {opts.rounds} round(s), medians (lost copies: sum)")
    print()
    print("| scenario | figure | floor | standalone | cluster | standalone / floor "
          "| cluster / floor | cluster / standalone |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in scenarios:
        for key, label, how in ROWS:
            vals = {}
            for mode in MODES:
                xs = [f[key] for f in results[(scenario, mode)] if f[key] is not None]
                vals[mode] = (sum(xs) if how == "sum" else statistics.median(xs)) if xs else None
            z, a, b = vals["floor"], vals["standalone"], vals["cluster"]

            def ratio(num, den):
                return f"{num / den:.2f}" if den and num is not None and how != "sum" else ""
            print(f"| {scenario} | {label} | {fmt(z)} | {fmt(a)} | {fmt(b)} "
                  f"| {ratio(a, z)} | {ratio(b, z)} | {ratio(b, a)} |")


if __name__ == "__main__":
    main()
