//! A segment's body: up to 64 messages of one room, as a JSON array of
//! `[seq, time_ms, sender, text]`. Both directions of the format are kept
//! here, the encoding and the `json_each` query history reads decode it
//! with, so that they change together (the schema's `messages` view reads
//! it the same way, and its migration wrote it).

use super::writer::Row;
use super::{from_millis, millis, StoredMessage};

/// Messages of one room kept in one segment row at most: reading a room's
/// last few messages decodes little more than it returns.
pub(super) const SEGMENT_MESSAGES: usize = 64;

/// A segment's messages (`?1`, its body) numbered at most `?2`, newest
/// first, as [`decode_message`] reads them.
pub(super) const DECODE_SEGMENT: &str =
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)
     WHERE value ->> 0 <= ?2 ORDER BY key DESC";

/// A message of a segment, from a row of [`DECODE_SEGMENT`].
pub(super) fn decode_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        time: from_millis(r.get(1)?),
        from: r.get(2)?,
        text: r.get(3)?,
    })
}

/// Appends `rows` (one room's, in order) to `out` as a segment's body;
/// their first and last numbers, if there were any.
pub(super) fn encode_segment<'a>(
    rows: impl IntoIterator<Item = &'a Row>,
    out: &mut String,
) -> Option<(u64, u64)> {
    let mut span = None;
    out.push('[');
    for row in rows {
        match &mut span {
            Some((_, last)) => {
                out.push(',');
                *last = row.seq;
            }
            None => span = Some((row.seq, row.seq)),
        }
        encode_message(row, out);
    }
    out.push(']');
    span
}

/// Appends `row` to `out` as a segment's element, `[seq, time_ms, sender,
/// text]` (a segment's body is these, comma-separated, in brackets).
pub(super) fn encode_message(row: &Row, out: &mut String) {
    let mut digits = itoa::Buffer::new();
    out.push('[');
    out.push_str(digits.format(row.seq));
    out.push(',');
    out.push_str(digits.format(millis(row.time)));
    out.push(',');
    push_json_string(out, row.from.as_str());
    out.push(',');
    push_json_string(out, &row.text);
    out.push(']');
}

/// Appends `s` as a JSON string literal.
pub(super) fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    // Most texts need no escape: one pass without branches (which the
    // compiler vectorises) tells, before the byte-by-byte one.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        // ASCII bytes are always character boundaries.
        match b {
            b'"' | b'\\' => {
                out.push_str(&s[plain..i]);
                out.push('\\');
                out.push(char::from(b));
            }
            0x00..=0x1f => {
                out.push_str(&s[plain..i]);
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => continue,
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::core::names::{Nick, RoomName};

    // serde_json as an independent, strict reader: what it accepts,
    // SQLite's json_each reads too.
    #[test]
    fn a_segment_is_the_json_its_messages_say() {
        let texts = [
            "plain",
            "quote \" backslash \\",
            "nul \0 tab \t esc \u{1b}",
            "été 🎉",
        ];
        let rows: Vec<Row> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| Row {
                room: RoomName::parse("#r", 32).unwrap().folded().clone(),
                seq: i as u64 + 7,
                time: UNIX_EPOCH + Duration::from_millis(1500 + i as u64),
                from: Nick::parse("al_ice", 24).unwrap(),
                text: text.to_string(),
                ack: None,
            })
            .collect();
        let mut body = String::from("kept");
        assert_eq!(encode_segment(&rows, &mut body), Some((7, 10)));
        let body = body.strip_prefix("kept").unwrap();
        let parsed: Vec<(u64, i64, String, String)> = serde_json::from_str(body).unwrap();
        let want: Vec<(u64, i64, String, String)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    i as u64 + 7,
                    1500 + i as i64,
                    "al_ice".into(),
                    t.to_string(),
                )
            })
            .collect();
        assert_eq!(parsed, want);
        let mut empty = String::new();
        assert_eq!(encode_segment(&[] as &[Row], &mut empty), None);
        assert_eq!(empty, "[]");
    }
}
