//! How a shared file is presented to a browser: its Content-Type, from
//! the extension of its name, whether it may be shown inline, and the
//! Content-Disposition that carries its original name (RFC 6266).
//!
//! Only types a browser shows without running anything are inline: common
//! images, and text as `text/plain`. SVG can carry script, HTML would run
//! as the server's own page: both, and everything else, are attachments.

/// A file's type as served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Media {
    /// The `Content-Type` value.
    pub(super) content_type: &'static str,
    /// Shown inline (else downloaded).
    pub(super) inline: bool,
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The media of a file named `filename`.
pub(super) fn media_for(filename: &str) -> Media {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let (content_type, inline) = match ext.as_str() {
        "png" => ("image/png", true),
        "jpg" | "jpeg" => ("image/jpeg", true),
        "gif" => ("image/gif", true),
        "webp" => ("image/webp", true),
        "svg" => ("image/svg+xml", false),
        "txt" | "md" | "log" | "csv" | "json" => (TEXT, true),
        _ => ("application/octet-stream", false),
    };
    Media {
        content_type,
        inline,
    }
}

/// The `Content-Disposition` value: `inline` or `attachment`, an ASCII
/// `filename` for old clients and the exact name as `filename*`.
pub(super) fn disposition(filename: &str, inline: bool) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()+,=!#$&~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        // RFC 8187 attr-char stays; everything else is %XX.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_from_the_extension() {
        let cases = [
            ("cat.PNG", "image/png", true),
            ("a.b.jpeg", "image/jpeg", true),
            ("x.jpg", "image/jpeg", true),
            ("x.gif", "image/gif", true),
            ("x.webp", "image/webp", true),
            ("logo.svg", "image/svg+xml", false),
            ("notes.md", TEXT, true),
            ("data.csv", TEXT, true),
            ("x.json", TEXT, true),
            ("x.log", TEXT, true),
            ("page.html", "application/octet-stream", false),
            ("README", "application/octet-stream", false),
            ("x.exe", "application/octet-stream", false),
        ];
        for (name, content_type, inline) in cases {
            assert_eq!(
                media_for(name),
                Media {
                    content_type,
                    inline
                },
                "{name}"
            );
        }
    }

    #[test]
    fn the_original_name_survives_and_the_fallback_is_plain_ascii() {
        assert_eq!(
            disposition("photo 1.png", true),
            "inline; filename=\"photo 1.png\"; filename*=UTF-8''photo%201.png"
        );
        assert_eq!(
            disposition("Zoë \"x\";.txt", false),
            "attachment; filename=\"Zo_ _x__.txt\"; filename*=UTF-8''Zo%C3%AB%20%22x%22%3B.txt"
        );
        assert_eq!(
            disposition("a\\b/c\r\n", false),
            "attachment; filename=\"a_b_c__\"; filename*=UTF-8''a%5Cb%2Fc%0D%0A"
        );
    }
}
