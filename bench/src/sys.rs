//! What the benchmark reads from the operating system: a process's CPU
//! time and resident memory (Linux `/proc`), the clock tick, and our own
//! open-files limit.

use std::fs;
use std::io;

use serde::Serialize;

/// CPU time and memory of one process at one moment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcSample {
    /// User plus system CPU time so far, in seconds.
    pub cpu_secs: f64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
}

/// Which process to sample: the server (`--server-pid`) or the tool itself.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// `/proc/<pid>`.
    Pid(u32),
    /// `/proc/self`.
    Myself,
}

impl Target {
    fn dir(self) -> String {
        match self {
            Target::Pid(pid) => format!("/proc/{pid}"),
            Target::Myself => "/proc/self".to_string(),
        }
    }

    /// Reads the process's CPU time (`utime + stime` of `stat`, divided by
    /// the clock tick) and its `VmRSS`.
    pub fn sample(self) -> io::Result<ProcSample> {
        let dir = self.dir();
        let stat = fs::read_to_string(format!("{dir}/stat"))?;
        let status = fs::read_to_string(format!("{dir}/status"))?;
        let ticks = cpu_ticks(&stat).ok_or_else(|| bad(&dir, "stat"))?;
        let rss_kib = vm_rss_kib(&status).ok_or_else(|| bad(&dir, "status"))?;
        Ok(ProcSample {
            cpu_secs: ticks as f64 / clock_ticks_per_second() as f64,
            rss_kib,
        })
    }
}

fn bad(dir: &str, file: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("cannot read {dir}/{file}"),
    )
}

/// `utime + stime` (fields 14 and 15) from a `/proc/<pid>/stat` line. The
/// command name (field 2) may hold spaces, so fields are counted after its
/// closing parenthesis.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After ")": field 3 (state) is the first word; utime is field 14.
    let mut words = after.split_ascii_whitespace().skip(11);
    let utime: u64 = words.next()?.parse().ok()?;
    let stime: u64 = words.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS:   1234 kB` from `/proc/<pid>/status`.
fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// How many connection attempts this network namespace's listeners have
/// dropped because their accept backlog was full (`ListenOverflows` in
/// `/proc/net/netstat`). A dropped SYN is retried by the client after a
/// second, which shows as a stall in the connect rate.
pub fn listen_overflows() -> Option<u64> {
    let text = fs::read_to_string("/proc/net/netstat").ok()?;
    netstat_value(&text, "TcpExt:", "ListenOverflows")
}

/// A counter from the name/value line pairs of `/proc/net/netstat`.
fn netstat_value(text: &str, section: &str, key: &str) -> Option<u64> {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next()?;
        if !names.starts_with(section) {
            continue;
        }
        let at = names.split_ascii_whitespace().position(|n| n == key)?;
        return values.split_ascii_whitespace().nth(at)?.parse().ok();
    }
    None
}

/// `sysconf(_SC_CLK_TCK)`: the unit of the CPU times in `/proc` (100 on
/// Linux).
pub fn clock_ticks_per_second() -> u64 {
    #[cfg(unix)]
    {
        rustix::param::clock_ticks_per_second().max(1)
    }
    #[cfg(not(unix))]
    {
        100
    }
}

/// Raises our soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit (`None` where it is unlimited or unknown).
pub fn raise_nofile_limit() -> io::Result<Option<u64>> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut lim = getrlimit(Resource::Nofile);
        if lim.current != lim.maximum {
            lim.current = lim.maximum;
            setrlimit(Resource::Nofile, lim)?;
        }
        Ok(lim.current)
    }
    #[cfg(not(unix))]
    {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces() {
        let stat = "1234 (my (odd) cmd) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0";
        assert_eq!(cpu_ticks(stat), Some(300));
    }

    #[test]
    fn rss_is_read_in_kib() {
        let status = "Name:\tx\nVmPeak:\t  999 kB\nVmRSS:\t   4242 kB\n";
        assert_eq!(vm_rss_kib(status), Some(4242));
    }

    #[test]
    fn netstat_counters_are_found_by_name() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n\
                    TcpExt: 0 917 917\n\
                    IpExt: InNoRoutes\n\
                    IpExt: 3\n";
        assert_eq!(netstat_value(text, "TcpExt:", "ListenOverflows"), Some(917));
        assert_eq!(netstat_value(text, "IpExt:", "InNoRoutes"), Some(3));
        assert_eq!(netstat_value(text, "TcpExt:", "Nothing"), None);
    }

    #[test]
    fn we_can_sample_ourselves() {
        let s = Target::Myself.sample().unwrap();
        assert!(s.rss_kib > 0);
        assert!(s.cpu_secs >= 0.0);
    }
}
