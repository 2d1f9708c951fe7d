//! The `Range` header of a download (RFC 9110 §14): one byte range is
//! served as a part; several, or one that cannot be read, are ignored and
//! the whole file is served, which the RFC allows.

/// What to send of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ranged {
    /// The whole file (no range, or one that is ignored).
    Full,
    /// Bytes `start..=end` (206).
    Part {
        /// The first byte.
        start: u64,
        /// The last byte, included.
        end: u64,
    },
    /// No byte of the range is in the file (416).
    Unsatisfiable,
}

/// What `header` (a `Range` value) asks of a file of `size` bytes.
pub(super) fn parse(header: &str, size: u64) -> Ranged {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ranged::Full;
    };
    if spec.contains(',') {
        return Ranged::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Full;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            // All digits: only an overflow fails, which no file reaches.
            .then(|| s.parse().unwrap_or(u64::MAX))
    };
    match (number(first), last.trim().is_empty()) {
        // bytes=-N: the last N bytes.
        (None, false) if first.trim().is_empty() => match number(last) {
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if size == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Part {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            None => Ranged::Full,
        },
        // bytes=A-
        (Some(start), true) if start < size => Ranged::Part {
            start,
            end: size - 1,
        },
        (Some(_), true) => Ranged::Unsatisfiable,
        // bytes=A-B
        (Some(start), false) => match number(last) {
            Some(end) if end < start => Ranged::Full,
            Some(_) if start >= size => Ranged::Unsatisfiable,
            Some(end) => Ranged::Part {
                start,
                end: end.min(size - 1),
            },
            None => Ranged::Full,
        },
        _ => Ranged::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        use Ranged::*;
        let part = |start, end| Part { start, end };
        let cases = [
            ("bytes=0-0", 10, part(0, 0)),
            ("bytes=2-5", 10, part(2, 5)),
            ("bytes=2-50", 10, part(2, 9)),
            ("bytes=7-", 10, part(7, 9)),
            ("bytes=-3", 10, part(7, 9)),
            ("bytes=-30", 10, part(0, 9)),
            (" bytes=1-2 ", 10, part(1, 2)),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            // Ignored: the whole file.
            ("bytes=5-2", 10, Full),
            ("bytes=0-1,3-4", 10, Full),
            ("items=0-1", 10, Full),
            ("bytes=a-b", 10, Full),
            ("bytes=-", 10, Full),
            ("bytes=+1-2", 10, Full),
            ("bytes=1", 10, Full),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
        ];
        for (header, size, want) in cases {
            assert_eq!(parse(header, size), want, "{header:?} of {size}");
        }
    }
}
