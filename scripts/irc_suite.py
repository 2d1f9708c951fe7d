#!/usr/bin/env python3
"""chatroom's IRC listener against other IRC daemons, in one interleaved
suite: every scenario of `chatroom-bench --proto irc` is run against the
bare tokio floor speaking IRC (examples/baseline_server --irc), chatroom's
IRC listener (history off and on), ngIRCd and InspIRCd (Debian packages)
in turn, round after round, so that all of them see the same machine.
Prints one markdown table, the servers side by side: medians, ranges and
ratios to the floor.

Usage:
  scripts/irc_suite.py [--chatroom target/release/chatroom] \
      [--floor target/release/examples/baseline_server] \
      [--bench target/release/chatroom-bench] [--rounds 3] \
      [--only fanout,rooms,rate500,shared64,shared256,rooms-shared,conns,join1] \
      [--servers floor,chatroom,ngircd,inspircd] [--native] [--out runs.jsonl]
  scripts/irc_suite.py --quick     # every scenario once, tiny: does it all work?

Needs `apt-get install ngircd inspircd` (their system services are not
used: each run starts its own daemon in a scratch directory, from
bench/daemons/*.conf.in, on 127.0.0.1 and a free port, in the foreground,
and stops it by its pid). Each server runs on CPU 0 and the tool on CPU 1
(taskset). `--native` adds chatroom's native listener and the native floor.
The `threads*` scenarios use the second tool, chatroom-threads.
"""
import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# Which scenarios the second tool runs: perf_suite.py's list, one list.
from perf_suite import THREADS_TOOL_SCENARIOS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAEMONS = os.path.join(ROOT, "bench", "daemons")

# name: (tool arguments, metric, floor too?)
SCENARIOS = {
    "fanout": (["fanout", "-c", "200", "-s", "10", "--window", "64", "--size", "64"],
               "deliveries_per_server_cpu_sec", True),
    "rooms": (["rooms", "-r", "100", "-k", "10"], "deliveries_per_server_cpu_sec", True),
    "rate500": (["fanout", "-c", "200", "-s", "10", "--rate", "500", "--duration", "5"],
                "p99_ms", True),
    # The other client rhythm (issue 16, whose table compared these
    # daemons under it): one line per write(), one cap of messages in
    # flight for the whole room counted in copies the members have read.
    "shared64": (["fanout", "-c", "200", "-s", "10", "--rhythm", "shared-window",
                  "--window-total", "64", "--size", "64"],
                 "deliveries_per_server_cpu_sec", True),
    "shared256": (["fanout", "-c", "200", "-s", "10", "--rhythm", "shared-window",
                   "--window-total", "256", "--size", "64"],
                  "deliveries_per_server_cpu_sec", True),
    # 100 rooms x 10, all sending, 1000 in flight in all (10 per room).
    "rooms-shared": (["rooms", "-r", "100", "-k", "10", "--rhythm", "shared-window",
                      "--window-total", "10"],
                     "deliveries_per_server_cpu_sec", True),
    # The same senders' rhythm from a second tool written apart from
    # chatroom-bench (bench/src/bin/chatroom-threads.rs, `--threads-tool`):
    # blocking sockets and a thread per connection.
    "threads64": (["--members", "200", "--senders", "10", "--in-flight", "64"],
                  "deliveries_per_server_cpu_sec", True),
    "threads256": (["--members", "200", "--senders", "10", "--in-flight", "256"],
                   "deliveries_per_server_cpu_sec", True),
    "threads-rooms": (["--rooms", "100", "--members", "10", "--senders", "10",
                       "--in-flight", "10"],
                      "deliveries_per_server_cpu_sec", True),
    "conns": (["conns", "-n", "10000"], "rss_bytes_per_conn", True),
    # The floor sends no JOIN to the others, so its joins are no measure.
    # 5,000, not perf_suite's 10,000: ngIRCd relays about 200,000 JOIN
    # copies a second, and 10,000 joins are 50 M copies (some 4 minutes).
    "join1": (["conns", "-n", "5000", "--join-one-room"], "join_secs", False),
}

# The same scenarios, tiny and short: a check that each works everywhere.
QUICK = {
    "fanout": ["fanout", "-c", "20", "-s", "3", "--warmup", "0.5", "--duration", "1"],
    "rooms": ["rooms", "-r", "5", "-k", "4", "--warmup", "0.5", "--duration", "1"],
    "rate500": ["fanout", "-c", "20", "-s", "3", "--rate", "200", "--warmup", "0.5",
                "--duration", "1"],
    "shared64": ["fanout", "-c", "20", "-s", "3", "--rhythm", "shared-window",
                 "--window-total", "16", "--warmup", "0.5", "--duration", "1"],
    "shared256": ["fanout", "-c", "20", "-s", "3", "--rhythm", "shared-window",
                  "--window-total", "64", "--warmup", "0.5", "--duration", "1"],
    "rooms-shared": ["rooms", "-r", "5", "-k", "4", "--rhythm", "shared-window",
                     "--window-total", "4", "--warmup", "0.5", "--duration", "1"],
    "threads64": ["--members", "20", "--senders", "3", "--in-flight", "16", "--warmup", "0.5",
                  "--duration", "1"],
    "threads256": ["--members", "20", "--senders", "3", "--in-flight", "64", "--warmup", "0.5",
                   "--duration", "1"],
    "threads-rooms": ["--rooms", "5", "--members", "4", "--senders", "4", "--in-flight", "4",
                      "--warmup", "0.5", "--duration", "1"],
    "conns": ["conns", "-n", "300", "--hold", "0.5"],
    "join1": ["conns", "-n", "300", "--join-one-room", "--hold", "0.5"],
}

METRIC_NAMES = {
    "deliveries_per_server_cpu_sec": "deliveries per server CPU-second",
    "p99_ms": "p99 latency, ms",
    "rss_bytes_per_conn": "server RSS per idle connection, bytes",
    "join_secs": "seconds for every client to join one room",
}

# Registration differs by daemon and is not what the table compares: the
# tool's --concurrency is set to what each one's accept path takes.
# ngIRCd listens with a backlog of 10 (compiled in); InspIRCd 3 sends 001
# only from its once-a-second housekeeping, so it registers at most
# --concurrency clients a second.
SETUP_ARGS = {
    "ngircd": ["--concurrency", "10"],
    "inspircd": ["--concurrency", "1000"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}")


def metric(run, name):
    if name == "rss_bytes_per_conn":
        return run["rss"]["per_conn_kib"] * 1024
    if name == "p99_ms":
        return run["latency_us"]["p99_us"] / 1000
    return run[name]


def render(template, scratch, port):
    """Writes bench/daemons/<template> into scratch with its placeholders."""
    with open(os.path.join(DAEMONS, template)) as f:
        text = f.read().replace("@PORT@", str(port)).replace("@DIR@", scratch)
    path = os.path.join(scratch, template.removesuffix(".in"))
    with open(path, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(scratch, "conf.d"), exist_ok=True)
    return path


def chatroom_env(history):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATROOM_")}
    env.update({
        "CHATROOM_LIMITS__FLOOD_BURST": "1000000",
        "CHATROOM_LIMITS__FLOOD_RATE_PER_SEC": "1000000",
        "CHATROOM_LIMITS__MAX_CLIENTS": "20000",
        "CHATROOM_LOG__LEVEL": "warn",
        "CHATROOM_LOG__DIR": "",
        "CHATROOM_HISTORY__ENABLED": "true" if history == "on" else "false",
        # No web client: never the fixed port 8080.
        "CHATROOM_HTTP__LISTEN": "",
    })
    return env


def command(kind, opts, scratch, port):
    """The command line, environment and protocol of one server."""
    if kind == "floor":
        return [opts.floor, "--irc", f"127.0.0.1:{port}"], None, "irc"
    if kind == "floor-native":
        return [opts.floor, f"127.0.0.1:{port}"], None, "native"
    if kind.startswith("chatroom-native"):
        env = chatroom_env(kind.rsplit("-", 1)[1])
        return [opts.chatroom, "--listen", f"127.0.0.1:{port}"], env, "native"
    if kind.startswith("chatroom"):
        env = chatroom_env(kind.rsplit("-", 1)[1])
        env["CHATROOM_IRC__LISTEN"] = f"127.0.0.1:{port}"
        # The native listener too, on a port of its own.
        return [opts.chatroom, "--listen", f"127.0.0.1:{free_port()}"], env, "irc"
    if kind == "ngircd":
        conf = render("ngircd.conf.in", scratch, port)
        return ["ngircd", "--nodaemon", "--config", conf], None, "irc"
    if kind == "inspircd":
        conf = render("inspircd.conf.in", scratch, port)
        root = ["--runasroot"] if os.geteuid() == 0 else []
        return ["inspircd", "--nofork", *root, "--config", conf], None, "irc"
    raise ValueError(kind)


def raise_nofile():
    """In the server's process: as many open files as allowed (10,000
    clients need more than the usual 1024)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_one(scenario, kind, opts, args):
    """Starts one server, runs the tool once, stops the server; the JSON line."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="irc-suite-") as scratch:
        os.chmod(scratch, 0o755)  # ngIRCd reads from it after becoming nobody
        cmd, env, proto = command(kind, opts, scratch, port)
        server = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=scratch, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  preexec_fn=raise_nofile)
        try:
            wait_listening(port, server, kind)
            target = ["--proto", proto, "--server-pid", str(server.pid),
                      "--addr", f"127.0.0.1:{port}"]
            if scenario in THREADS_TOOL_SCENARIOS:
                tool = [opts.threads_tool, *target, *args]
            else:
                tool = [opts.bench, *target, *SETUP_ARGS.get(kind, []),
                        "--setup-timeout", "300", *args]
            out = subprocess.run(["taskset", "-c", "1", *tool], capture_output=True, text=True,
                                 timeout=900)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"no report: {out.stderr.strip()[-500:]}")
    run = json.loads(lines[-1])
    if not run.get("ok", False):
        raise RuntimeError(f"run failed: {run.get('failures') or run.get('error')}")
    return run


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def label(kind):
    return {
        "floor": "floor (bare tokio, IRC)",
        "floor-native": "floor (bare tokio, native)",
        "chatroom-off": "chatroom IRC, history off",
        "chatroom-on": "chatroom IRC, history on",
        "chatroom-native-off": "chatroom native, history off",
        "chatroom-native-on": "chatroom native, history on",
        "ngircd": "ngIRCd",
        "inspircd": "InspIRCd",
    }[kind]


def floor_of(kind):
    native = kind.startswith("chatroom-native") or kind == "floor-native"
    return "floor-native" if native else "floor"


def entries(scenario, opts):
    """The servers a scenario runs against, in the order of a round."""
    _, _, with_floor = SCENARIOS[scenario]
    wanted = opts.servers.split(",")
    # History costs nothing in conns and join1 but memory; run chatroom's
    # default (on) only there.
    histories = ["on"] if scenario in ("conns", "join1") else ["off", "on"]
    out = []
    if "floor" in wanted and with_floor:
        out.append("floor")
    if "chatroom" in wanted:
        out += [f"chatroom-{h}" for h in histories]
    out += [d for d in ("ngircd", "inspircd") if d in wanted]
    if opts.native:
        out += [f"chatroom-native-{h}" for h in histories]
        if with_floor:
            out.append("floor-native")
    return out


def fmt(v):
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def cell(values, floor):
    if not values:
        return "failed"
    med = statistics.median(values)
    text = fmt(med)
    if len(values) > 1:
        text += f" ({fmt(min(values))}–{fmt(max(values))})"
    if floor:
        text += f", ×{med / statistics.median(floor):.2f}"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chatroom", default="target/release/chatroom")
    ap.add_argument("--floor", default="target/release/examples/baseline_server")
    ap.add_argument("--bench", default="target/release/chatroom-bench")
    ap.add_argument("--threads-tool", default="target/release/chatroom-threads")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("--servers", default="floor,chatroom,ngircd,inspircd")
    ap.add_argument("--native", action="store_true",
                    help="also chatroom's native listener and the native floor")
    ap.add_argument("--quick", action="store_true",
                    help="every scenario once, tiny and short: a functional check")
    ap.add_argument("--out", default=None, help="also write every run as a JSON line here")
    opts = ap.parse_args()
    for name in ("chatroom", "floor", "bench", "threads_tool"):
        setattr(opts, name, os.path.abspath(getattr(opts, name)))
    rounds = 1 if opts.quick else opts.rounds
    scenarios = opts.only.split(",")
    results = {}  # (scenario, kind) -> [values]
    failures = []
    log = open(opts.out, "a") if opts.out else None
    for rnd in range(rounds):
        for scenario in scenarios:
            args, name, _ = SCENARIOS[scenario]
            if opts.quick:
                args = QUICK[scenario]
            for kind in entries(scenario, opts):
                values = results.setdefault((scenario, kind), [])
                try:
                    run = run_one(scenario, kind, opts, args)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    failures.append(f"round {rnd + 1} {scenario} {kind}: {e}")
                    print(f"round {rnd + 1} {scenario:7} {kind:20} FAILED {e}",
                          file=sys.stderr, flush=True)
                    continue
                value = metric(run, name)
                values.append(value)
                if log:
                    log.write(json.dumps({"round": rnd, "scenario": scenario, "who": kind,
                                          "value": value, "run": run}) + "\n")
                    log.flush()
                print(f"round {rnd + 1} {scenario:7} {kind:20} {name} {value:,.1f}",
                      file=sys.stderr, flush=True)

    kinds = []
    for scenario in scenarios:
        kinds += [k for k in entries(scenario, opts) if k not in kinds]
    print(f"chatroom {version(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'])}; "
          f"{version(['ngircd', '--version']).split('-')[0]}; "
          f"{version(['inspircd', '--version'])}; "
          f"{rounds} round{'s' if rounds > 1 else ''}, medians (range), ×ratio to the floor "
          f"of the same protocol\n")
    print("| scenario | " + " | ".join(label(k) for k in kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for scenario in scenarios:
        _, name, _ = SCENARIOS[scenario]
        row = [f"`{scenario}`: {METRIC_NAMES[name]}"]
        for kind in kinds:
            if (scenario, kind) not in results:
                row.append("")
                continue
            floor = results.get((scenario, floor_of(kind))) if kind != floor_of(kind) else None
            row.append(cell(results[(scenario, kind)], floor))
        print("| " + " | ".join(row) + " |")
    for f in failures:
        print(f"\nFAILED {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
