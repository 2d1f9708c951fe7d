//! Latency recording and the shape of what a run reports.

use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::sys::{ProcSample, Target};

/// Latencies from every connection, merged into one HDR histogram (ns).
///
/// Connections collect samples in a small local buffer and merge it in
/// batches, so the lock is taken rarely and no connection holds a
/// histogram of its own.
pub struct Latencies {
    hist: Mutex<Histogram<u64>>,
}

/// Samples a connection gathers before merging them.
pub const LOCAL_BATCH: usize = 1024;

impl Latencies {
    /// An empty histogram from 1 ns to 10 minutes, 3 significant digits.
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, 600_000_000_000, 3)
            .expect("constant histogram bounds are valid");
        Latencies {
            hist: Mutex::new(hist),
        }
    }

    /// Merges (and empties) a connection's local samples.
    pub fn merge(&self, samples: &mut Vec<u64>) {
        if samples.is_empty() {
            return;
        }
        let mut hist = self.hist.lock().unwrap_or_else(|e| e.into_inner());
        for &ns in samples.iter() {
            hist.saturating_record(ns.max(1));
        }
        samples.clear();
    }

    /// The percentiles, in microseconds.
    pub fn summary(&self) -> LatencySummary {
        let hist = self.hist.lock().unwrap_or_else(|e| e.into_inner());
        let us = |ns: u64| ns as f64 / 1000.0;
        LatencySummary {
            count: hist.len(),
            mean_us: hist.mean() / 1000.0,
            p50_us: us(hist.value_at_quantile(0.50)),
            p90_us: us(hist.value_at_quantile(0.90)),
            p99_us: us(hist.value_at_quantile(0.99)),
            p999_us: us(hist.value_at_quantile(0.999)),
            max_us: us(hist.max()),
        }
    }
}

/// Send-to-receive latency percentiles, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencySummary {
    /// Messages measured.
    pub count: u64,
    /// The mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// The largest.
    pub max_us: f64,
}

/// CPU and memory use of a process over a measured window.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// CPU seconds (user + system) spent in the window.
    pub cpu_secs: f64,
    /// CPU seconds per wall second (1.0 = one core busy).
    pub cpu_utilisation: f64,
    /// Resident memory at the start of the window, KiB.
    pub rss_before_kib: u64,
    /// Resident memory at the end of the window, KiB.
    pub rss_after_kib: u64,
}

impl Usage {
    /// The use between two samples `wall_secs` apart.
    pub fn between(before: ProcSample, after: ProcSample, wall_secs: f64) -> Usage {
        let cpu_secs = (after.cpu_secs - before.cpu_secs).max(0.0);
        Usage {
            cpu_secs,
            cpu_utilisation: if wall_secs > 0.0 {
                cpu_secs / wall_secs
            } else {
                0.0
            },
            rss_before_kib: before.rss_kib,
            rss_after_kib: after.rss_kib,
        }
    }
}

/// Samples the server processes (those whose pids were given) and
/// ourselves.
#[derive(Debug, Clone)]
pub struct Probe {
    servers: Vec<u32>,
}

/// One sample of every process.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The server processes together (CPU times and memory summed), when
    /// pids were given and every one could be read.
    pub server: Option<ProcSample>,
    /// Each server process, in the order given.
    pub each: Vec<Option<ProcSample>>,
    /// This tool.
    pub tool: Option<ProcSample>,
    /// When it was taken.
    pub at: std::time::Instant,
}

impl Probe {
    /// A probe of `servers` (checked readable now) and of this process.
    pub fn new(servers: &[u32]) -> anyhow::Result<Probe> {
        for &pid in servers {
            Target::Pid(pid)
                .sample()
                .map_err(|e| anyhow::anyhow!("--server-pid {pid}: cannot read /proc/{pid}: {e}"))?;
        }
        Ok(Probe {
            servers: servers.to_vec(),
        })
    }

    /// Samples every process now.
    pub fn snapshot(&self) -> Snapshot {
        let each: Vec<Option<ProcSample>> = self
            .servers
            .iter()
            .map(|&pid| Target::Pid(pid).sample().ok())
            .collect();
        Snapshot {
            server: sum(&each),
            each,
            tool: Target::Myself.sample().ok(),
            at: std::time::Instant::now(),
        }
    }
}

/// Several processes as one: CPU times and memory added; `None` when there
/// are none or one could not be read.
fn sum(samples: &[Option<ProcSample>]) -> Option<ProcSample> {
    if samples.is_empty() {
        return None;
    }
    samples.iter().try_fold(
        ProcSample {
            cpu_secs: 0.0,
            rss_kib: 0,
        },
        |acc, s| {
            let s = (*s)?;
            Some(ProcSample {
                cpu_secs: acc.cpu_secs + s.cpu_secs,
                rss_kib: acc.rss_kib + s.rss_kib,
            })
        },
    )
}

/// Server (all processes together) and tool use between two snapshots.
pub fn usage(before: &Snapshot, after: &Snapshot) -> (Option<Usage>, Option<Usage>) {
    let wall = after.at.duration_since(before.at).as_secs_f64();
    let between = |b: Option<ProcSample>, a: Option<ProcSample>| match (b, a) {
        (Some(b), Some(a)) => Some(Usage::between(b, a, wall)),
        _ => None,
    };
    (
        between(before.server, after.server),
        between(before.tool, after.tool),
    )
}

/// Each server process's CPU seconds between two snapshots, in the order
/// given (`None` for one that could not be read).
pub fn cpu_each(before: &Snapshot, after: &Snapshot) -> Vec<Option<f64>> {
    before
        .each
        .iter()
        .zip(&after.each)
        .map(|(b, a)| Some((a.as_ref()?.cpu_secs - b.as_ref()?.cpu_secs).max(0.0)))
        .collect()
}

/// A count with thousands separators, for people.
pub fn human(n: f64) -> String {
    let whole = n.round() as i128;
    let digits = whole.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    out
}

/// A byte count in KiB, MiB or GiB, for people.
pub fn kib(n: f64) -> String {
    if n.abs() >= 1024.0 * 1024.0 {
        format!("{:.2} GiB", n / 1024.0 / 1024.0)
    } else if n.abs() >= 1024.0 {
        format!("{:.1} MiB", n / 1024.0)
    } else {
        format!("{n:.1} KiB")
    }
}

/// Folds `client N: <problem>` lines into one line per problem, with how
/// many clients had it, in order of first appearance.
pub fn group_failures(failures: &[String]) -> Vec<String> {
    let mut groups: Vec<(String, usize, Option<String>)> = Vec::new();
    for f in failures {
        let (who, what) = match f.strip_prefix("client ").and_then(|r| r.split_once(": ")) {
            Some((n, what)) => (Some(n.to_string()), what.to_string()),
            None => (None, f.clone()),
        };
        match groups.iter_mut().find(|g| g.0 == what) {
            Some(g) => g.1 += 1,
            None => groups.push((what, 1, who)),
        }
    }
    groups
        .into_iter()
        .map(|(what, count, who)| match (count, who) {
            (1, Some(n)) => format!("client {n}: {what}"),
            (_, Some(n)) => format!("{count} clients (client {n} first): {what}"),
            (_, None) => what,
        })
        .collect()
}

/// Warns when the server's accept backlog overflowed during setup.
pub fn warn_overflows(overflows: Option<u64>) {
    if let Some(n) = overflows.filter(|&n| n > 0) {
        say!(
            "  WARNING         {n} connection attempts dropped by a full listen backlog \
             (each retried after 1 s): lower --concurrency, or raise the server's backlog"
        );
    }
}

/// Prints a server/tool CPU line for people.
pub fn print_usage(server: Option<&Usage>, tool: Option<&Usage>) {
    match server {
        Some(s) => say!(
            "  server CPU      {:.2} s ({:.0}% of one core), RSS {} -> {}",
            s.cpu_secs,
            s.cpu_utilisation * 100.0,
            kib(s.rss_before_kib as f64),
            kib(s.rss_after_kib as f64)
        ),
        None => say!("  server CPU      not measured (give --server-pid PID[,PID...])"),
    }
    if let Some(t) = tool {
        say!(
            "  tool CPU        {:.2} s ({:.0}% of one core)",
            t.cpu_secs,
            t.cpu_utilisation * 100.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(human(1234567.4), "1,234,567");
        assert_eq!(human(999.0), "999");
        assert_eq!(human(-1000.0), "-1,000");
        assert_eq!(kib(2048.0), "2.0 MiB");
    }

    #[test]
    fn failures_are_grouped_by_problem() {
        let f = [
            "client 3: the server closed the connection".to_string(),
            "client 1: the server closed the connection".to_string(),
            "client 2: nothing received for 3s".to_string(),
            "some clients did not finish in time".to_string(),
        ];
        assert_eq!(
            group_failures(&f),
            [
                "2 clients (client 3 first): the server closed the connection",
                "client 2: nothing received for 3s",
                "some clients did not finish in time",
            ]
        );
    }

    #[test]
    fn several_processes_add_up() {
        let s = |cpu_secs, rss_kib| Some(ProcSample { cpu_secs, rss_kib });
        let both = sum(&[s(1.5, 100), s(0.25, 20)]).unwrap();
        assert!((both.cpu_secs - 1.75).abs() < 1e-9);
        assert_eq!(both.rss_kib, 120);
        assert!(sum(&[s(1.0, 1), None]).is_none());
        assert!(sum(&[]).is_none());
    }

    #[test]
    fn latencies_merge_in_batches() {
        let l = Latencies::new();
        let mut local: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        l.merge(&mut local);
        assert!(local.is_empty());
        let s = l.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50_us - 50.0).abs() < 0.1);
        assert!((s.max_us - 100.0).abs() < 0.1);
    }
}
