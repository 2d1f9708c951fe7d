//! What a `fanout` or `rooms` run reports: the figures from the senders'
//! counters and the members' outcomes, a summary for people and one JSON
//! line.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use super::{Outcome, Pace, Sender, Shared};
use crate::report::{self, human, Snapshot};

/// How the run went, besides what the members counted.
pub(super) struct Run {
    /// Seconds to connect, register and join every client.
    pub setup_secs: f64,
    /// Seconds measured.
    pub window_secs: f64,
    /// Seconds from the end of the window to the last member done.
    pub drain_secs: f64,
    /// Connections the listen queue dropped during setup.
    pub overflows: Option<u64>,
    /// The processes at the start and the end of the window.
    pub before: Snapshot,
    /// See `before`.
    pub after: Snapshot,
    /// One line per problem, with how many clients had it.
    pub failures: Vec<String>,
}

/// Prints the summary and the JSON line; whether the run passed (no
/// failure, no copy lost or extra, nothing refused).
pub(super) fn report(shared: &Shared, outcomes: Vec<Outcome>, run: Run) -> bool {
    let plan = &shared.plan;
    let Run {
        setup_secs,
        window_secs,
        drain_secs,
        overflows,
        before,
        after,
        failures,
    } = run;
    let sum = |f: fn(&Sender) -> &AtomicU64| -> u64 {
        shared
            .senders
            .iter()
            .map(|s| f(s).load(Ordering::Acquire))
            .sum()
    };
    let sent = sum(|s| &s.written);
    let acked = sum(|s| &s.ok);
    let refused = sum(|s| &s.err);
    let sent_in_window = sum(|s| &s.in_window);
    // Every other member of the sender's room gets one copy of each
    // message counted (see `Shared::counted`).
    let counted = if plan.pace.expects_written() {
        sent.saturating_sub(refused)
    } else {
        acked
    };
    let expected = counted * (plan.per_room as u64 - 1);
    let received: u64 = outcomes.iter().map(|o| o.received).sum();
    let delivered_in_window: u64 = outcomes.iter().map(|o| o.in_window).sum();
    let gaps: u64 = outcomes.iter().map(|o| o.gaps).sum();
    let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let foreign: u64 = outcomes.iter().map(|o| o.foreign).sum();
    let lost = expected.saturating_sub(received);
    let extra = received.saturating_sub(expected);
    let lat = shared.latencies.summary();
    let spread = &shared.common.spread;
    let [same_node, cross_node] = &shared.by_node;
    let (same_node, cross_node) = match spread.is_spread() {
        true => (Some(same_node.summary()), Some(cross_node.summary())),
        false => (None, None),
    };
    let (server, tool) = report::usage(&before, &after);
    let cpu_each = report::cpu_each(&before, &after);
    let deliveries_per_sec = delivered_in_window as f64 / window_secs.max(1e-9);
    let messages_per_sec = sent_in_window as f64 / window_secs.max(1e-9);
    let per_server_cpu = server
        .as_ref()
        .filter(|s| s.cpu_secs > 0.0)
        .map(|s| delivered_in_window as f64 / s.cpu_secs);
    drop(outcomes); // closes every connection

    let ok = failures.is_empty() && lost == 0 && extra == 0 && refused == 0 && sent > 0;
    say!(
        "  measured        {window_secs:.2} s after {:.1} s warm-up; drain {drain_secs:.2} s",
        plan.warmup.as_secs_f64()
    );
    say!(
        "  messages        {} sent, {} acknowledged, {} refused; {}/s in the window",
        human(sent as f64),
        human(acked as f64),
        human(refused as f64),
        human(messages_per_sec)
    );
    say!(
        "  deliveries      {}/s  (copies received by members in the window)",
        human(deliveries_per_sec)
    );
    say!(
        "  copies          expected {}, received {}, lost {}, extra {}; out of order {}, gaps {}",
        human(expected as f64),
        human(received as f64),
        human(lost as f64),
        human(extra as f64),
        human(duplicates as f64),
        human(gaps as f64)
    );
    say!(
        "  latency         p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us ({} samples)",
        lat.p50_us,
        lat.p90_us,
        lat.p99_us,
        lat.p999_us,
        lat.max_us,
        human(lat.count as f64)
    );
    for (name, l) in [("same node", &same_node), ("cross-node", &cross_node)] {
        if let Some(l) = l {
            say!(
                "  {name:<15} p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us ({} samples, {} nodes)",
                l.p50_us,
                l.p99_us,
                l.p999_us,
                human(l.count as f64),
                spread.len()
            );
        }
    }
    let guesses = plan.guessing.map(|g| {
        let before = shared.split[0].summary();
        let during = shared.split[1].summary();
        let r = shared.guesses.report(g);
        say!(
            "  without guessers p50 {:.0} us, p99 {:.0} us ({} samples, first half of the window)",
            before.p50_us,
            before.p99_us,
            human(before.count as f64)
        );
        say!(
            "  with guessers   p50 {:.0} us, p99 {:.0} us ({} samples, {} guessers at {}/s each)",
            during.p50_us,
            during.p99_us,
            human(during.count as f64),
            g.guessers,
            g.per_sec
        );
        say!(
            "  guesses         {} sent: {} wrong (hashed), {} try later (not hashed), {} other errors",
            human(r.sent as f64),
            human(r.bad_key as f64),
            human(r.try_later as f64),
            human(r.other as f64)
        );
        json!({ "counts": r, "latency_without_us": before, "latency_with_us": during })
    });
    report::print_usage(server.as_ref(), tool.as_ref());
    if cpu_each.len() > 1 {
        let each: Vec<String> = shared
            .common
            .server_pids
            .iter()
            .zip(&cpu_each)
            .map(|(pid, cpu)| match cpu {
                Some(c) => format!("{pid} {c:.2} s"),
                None => format!("{pid} unread"),
            })
            .collect();
        say!("  server CPU each {}", each.join(", "));
    }
    report::warn_overflows(overflows);
    if let Some(d) = per_server_cpu {
        say!(
            "  efficiency      {} deliveries per second of server CPU",
            human(d)
        );
    }
    for f in failures.iter().take(10) {
        say!("  FAILURE         {f}");
    }
    say!("  result          {}", if ok { "ok" } else { "FAILED" });

    let line = json!({
        "scenario": plan.scenario,
        "ok": ok,
        "proto": shared.common.proto,
        "run_id": shared.run_id,
        "addr": spread.joined(),
        "nodes": spread.len(),
        "rooms": plan.rooms,
        "members_per_room": plan.per_room,
        "clients": plan.rooms * plan.per_room,
        "senders": plan.rooms * plan.senders_per_room,
        "rhythm": plan.pace.rhythm(),
        "window": plan.pace.window(),
        "window_total": match plan.pace { Pace::SharedWindow { messages } => Some(messages), _ => None },
        "rate": plan.pace.per_sec(),
        "rate_per_sender": plan.pace.per_sec().map(|r| r / (plan.rooms * plan.senders_per_room) as f64),
        "read_every_ms": plan.read_every.map(|d| d.as_secs_f64() * 1000.0),
        "size": plan.size,
        "warmup_secs": plan.warmup.as_secs_f64(),
        "measured_secs": window_secs,
        "setup_secs": setup_secs,
        "listen_overflows": overflows,
        "drain_secs": drain_secs,
        "messages_sent": sent,
        "messages_acked": acked,
        "messages_refused": refused,
        "messages_per_sec": messages_per_sec,
        "deliveries_in_window": delivered_in_window,
        "deliveries_per_sec": deliveries_per_sec,
        "expected_copies": expected,
        "received_copies": received,
        "lost_copies": lost,
        "extra_copies": extra,
        "out_of_order": duplicates,
        "sequence_gaps": gaps,
        "foreign_messages": foreign,
        "latency_us": lat,
        "latency_same_node_us": same_node,
        "latency_cross_node_us": cross_node,
        "guessers": guesses,
        "server": server,
        "server_pids": shared.common.server_pids,
        "server_cpu_secs_each": cpu_each,
        "deliveries_per_server_cpu_sec": per_server_cpu,
        "tool": tool,
        "failures": failures,
    });
    say!("{line}");
    ok
}
