//! The process's own resources, read from `/proc/self` when scraped
//! (Linux; elsewhere nothing is reported).

/// What `/proc/self` tells.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessSample {
    /// Resident set size, in bytes.
    pub resident_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
}

/// Reads the process's RSS and open file descriptors now.
pub fn sample() -> ProcessSample {
    ProcessSample {
        resident_bytes: std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| resident_pages(&s))
            .map(|pages| pages * PAGE_SIZE),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            // The directory's own descriptor, open while it is read, is
            // not one of the server's.
            .map(|d| (d.count() as u64).saturating_sub(1)),
    }
}

/// The page size `statm` counts in: 4 KiB on every Linux this runs on
/// (x86-64, and arm64 with its default kernel). Asking the OS needs libc.
const PAGE_SIZE: u64 = 4096;

/// The second field of `/proc/self/statm`: resident pages.
fn resident_pages(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_gives_its_second_field() {
        assert_eq!(resident_pages("2385 612 480 1 0 178 0\n"), Some(612));
        assert_eq!(resident_pages("2385"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_and_descriptors() {
        let s = sample();
        assert!(s.resident_bytes.unwrap() > 0);
        assert!(s.open_fds.unwrap() > 0);
    }
}
