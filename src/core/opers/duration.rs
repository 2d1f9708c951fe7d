//! Ban durations as operators type them, InspIRCd's way: a number of
//! seconds (`3600`), or numbers with units (`1h30m`; `s`, `m`, `h`, `d`,
//! `w`, `y`); `0` for a ban that never expires.

use std::time::Duration;

/// The longest duration accepted: ten years.
pub const MAX_BAN_SECS: u64 = 10 * 365 * 24 * 3600;

/// Reads a duration; `Some(None)` for `0` (permanent), `None` when the
/// word is not a duration (so that it can start the reason instead).
pub fn parse_duration(word: &str) -> Option<Option<Duration>> {
    if word.is_empty() || !word.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in word.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'y' => 365 * 86_400,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if let Some(n) = number {
        total = total.checked_add(n)?;
    }
    if total > MAX_BAN_SECS {
        return None;
    }
    Some((total > 0).then(|| Duration::from_secs(total)))
}

/// A duration as [`parse_duration`] reads it back, largest units first
/// (`1d2h`), `0` for none.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ('w', 7 * 86_400),
        ('d', 86_400),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ] {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |s: u64| Some(Some(Duration::from_secs(s)));
        assert_eq!(parse_duration("3600"), secs(3600));
        assert_eq!(parse_duration("1h30m"), secs(5400));
        assert_eq!(parse_duration("2d"), secs(172_800));
        assert_eq!(parse_duration("1w1s"), secs(604_801));
        assert_eq!(parse_duration("10M"), secs(600));
        assert_eq!(parse_duration("0"), Some(None));
        assert_eq!(parse_duration("0s"), Some(None));
        for bad in ["", "h", "spam", "1x", "1hh", "11y", "99999999999999999999"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formatted_durations_read_back() {
        for s in [1, 59, 60, 3661, 90_061, 700_000] {
            let d = Duration::from_secs(s);
            assert_eq!(parse_duration(&format_duration(d)), Some(Some(d)));
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}
