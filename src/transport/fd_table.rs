//! The process's table of file descriptors, grown once at start to hold
//! every connection the server may take, instead of while clients connect.
//!
//! Linux grows a process's descriptor table by doubling it when a new
//! descriptor does not fit (past 64, 256, 512, ... 8,192), and in a
//! process of several threads (the database's, the allocator's, the log
//! writer's) each growth first waits for an RCU grace period. The `accept`
//! that crossed one blocked the server's thread, and every client with it,
//! for 8 to 16 ms on a 2-core machine (`perf trace` of the `conns`
//! benchmark): six times on the way to 10,000 clients. Grown at start,
//! that wait happens once, before anyone is connected.

use std::fs::File;
use std::io;
use std::os::fd::RawFd;

use rustix::process::{getrlimit, Resource};

/// Descriptors beyond the clients' sockets: listeners, the database and
/// its journal, log files, files being stored or read, the runtime's own.
pub const SPARE: usize = 64;

/// How big the table was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSize {
    /// Descriptors the table now holds at least.
    pub slots: u64,
    /// Descriptors `max_clients` and [`SPARE`] ask for.
    pub wanted: u64,
    /// The soft open-files limit (`ulimit -n`), if there is one.
    pub limit: Option<u64>,
}

impl TableSize {
    /// Whether the open-files limit is below what `max_clients` needs:
    /// clients past it are refused by the OS, not by the server.
    pub fn limited(&self) -> bool {
        self.slots < self.wanted
    }
}

/// Grows the table to hold `max_clients` connections and [`SPARE`]
/// descriptors more, or as many as the soft open-files limit allows.
pub fn make_room(max_clients: usize) -> io::Result<TableSize> {
    let limit = getrlimit(Resource::Nofile).current;
    let wanted = u64::try_from(max_clients)
        .unwrap_or(u64::MAX)
        .saturating_add(SPARE as u64);
    let slots = limit.map_or(wanted, |limit| wanted.min(limit));
    let highest = RawFd::try_from(slots.saturating_sub(1)).unwrap_or(RawFd::MAX);
    // A descriptor at the top of the range makes the kernel grow the
    // table to hold it; closed at once, the table keeps its size.
    let any = File::open("/dev/null")?;
    drop(rustix::io::fcntl_dupfd_cloexec(&any, highest)?);
    Ok(TableSize {
        slots,
        wanted,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's size from `/proc/self/status`.
    fn fd_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("read status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("FDSize:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("FDSize line")
    }

    #[test]
    fn the_table_holds_what_max_clients_asks_for_within_the_limit() {
        let sized = make_room(3_000).expect("grow the table");
        assert_eq!(sized.wanted, 3_064);
        let limit = getrlimit(Resource::Nofile).current;
        assert_eq!(sized.limit, limit);
        assert_eq!(sized.slots, limit.map_or(3_064, |l| l.min(3_064)));
        assert!(fd_size() >= sized.slots, "FDSize {}", fd_size());
    }

    #[test]
    fn past_the_limit_it_stops_at_the_limit() {
        // Linux always has one (at most fs.nr_open).
        let limit = getrlimit(Resource::Nofile)
            .current
            .expect("an open-files limit");
        let sized = make_room(usize::MAX).expect("grow the table");
        assert_eq!(sized.slots, limit);
        assert!(sized.limited());
        assert!(fd_size() >= limit);
    }
}
