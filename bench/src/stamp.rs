//! The text of a bench message, the same in every protocol:
//! `<sender>:<seq>:<nanos>`, padded with ` xxx...` to the message size.

/// What a bench message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The sender's global client number.
    pub sender: u64,
    /// Its sequence number, from 0.
    pub seq: u64,
    /// When it was sent (or due, at a fixed rate), in ns since the run began.
    pub nanos: u64,
}

/// Appends the text of `stamp`, padded with `x` to `size` bytes (never
/// cut below the stamp).
#[inline]
pub fn push_text(out: &mut Vec<u8>, stamp: Stamp, size: usize) {
    let text_start = out.len();
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(stamp.sender).as_bytes());
    out.push(b':');
    out.extend_from_slice(digits.format(stamp.seq).as_bytes());
    out.push(b':');
    out.extend_from_slice(digits.format(stamp.nanos).as_bytes());
    let stamp_len = out.len() - text_start;
    if size > stamp_len + 1 {
        out.push(b' ');
        out.resize(text_start + size, b'x');
    }
}

/// Reads the stamp at the start of a message text; `None` for a text that
/// is not a bench message.
#[inline]
pub fn parse_text(text: &[u8]) -> Option<Stamp> {
    let (sender, text) = number(text, b':')?;
    let (seq, text) = number(text, b':')?;
    let (nanos, _) = number(text, b' ')?;
    Some(Stamp { sender, seq, nanos })
}

/// A decimal number ending at `end` (or at the end of `s`), and the rest.
#[inline]
pub fn number(s: &[u8], end: u8) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == end {
            return (i > 0).then_some((n, &s[i + 1..]));
        }
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (!s.is_empty()).then_some((n, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_padded_to_its_size_and_reads_back() {
        let stamp = Stamp {
            sender: 7,
            seq: 123,
            nanos: 9_876_543_210,
        };
        let mut out = Vec::new();
        push_text(&mut out, stamp, 64);
        assert_eq!(out.len(), 64);
        assert!(out.starts_with(b"7:123:9876543210 xxx"));
        assert_eq!(parse_text(&out), Some(stamp));
    }

    #[test]
    fn a_short_size_keeps_the_stamp_whole() {
        let stamp = Stamp {
            sender: 1,
            seq: 2,
            nanos: 3,
        };
        let mut out = Vec::new();
        push_text(&mut out, stamp, 1);
        assert_eq!(out, b"1:2:3");
        assert_eq!(parse_text(b"1:2:3"), Some(stamp));
    }

    #[test]
    fn other_texts_are_not_stamps() {
        assert_eq!(parse_text(b"hello there"), None);
        assert_eq!(parse_text(b"1:2"), None);
        assert_eq!(parse_text(b"::"), None);
        assert_eq!(parse_text(b"1:2:3\r"), None);
        assert_eq!(parse_text(b"99999999999999999999:1:1"), None);
    }
}
