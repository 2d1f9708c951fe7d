//! Where the native protocol's output holds raw bytes: after a
//! `DATA <id> <size> <filename>` line, `<size>` bytes of a download. A
//! WebSocket sends those as binary messages and every line as text.

use crate::transport::websocket::OutboundFraming;

/// The native output's framing, for [`WebSocketLink`](crate::transport::websocket::WebSocketLink).
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeFraming;

impl OutboundFraming for NativeFraming {
    fn body_after(&self, line: &[u8]) -> u64 {
        let mut words = line.split(|&b| b == b' ');
        if words.next() != Some(b"DATA") {
            return 0;
        }
        // The renderer writes the size as plain digits, after the id.
        match words.nth(1) {
            Some(size) if !size.is_empty() && size.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(size)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::FileId;
    use crate::proto::native::render::Reply;

    #[test]
    fn only_a_data_line_announces_bytes() {
        let data = Reply::Data {
            id: FileId::parse("0123456789abcdef0123").expect("an id"),
            size: 1234,
            filename: "a b.png".into(),
        }
        .to_line();
        let line = data.strip_suffix(b"\n").expect("a line");
        assert_eq!(NativeFraming.body_after(line), 1234);
        for other in [
            &b"MSG #r alice DATA x 5 y"[..],
            b"OK FETCH 0123456789abcdef0123",
            b"DATA x",
            b"DATA x -5 y",
            b"DATAX x 5 y",
        ] {
            assert_eq!(NativeFraming.body_after(other), 0, "{other:?}");
        }
    }
}
