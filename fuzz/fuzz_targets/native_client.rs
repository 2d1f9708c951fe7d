//! The bot-side client's parser of server lines (`ServerLine::parse`) fed
//! any UTF-8 text.
//!
//! Besides never panicking:
//!
//! - a refusal quotes the line it refused (without its final LF);
//! - a line it reads renders back (`to_line`) as one LF-ended line that it
//!   reads as the same value: parse and render are inverses wherever the
//!   client accepts a line, not only on the lines the server writes.

#![no_main]

use chatroom::client::ServerLine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(line) = std::str::from_utf8(input) else {
        return;
    };
    match ServerLine::parse(line) {
        Err(err) => {
            assert_eq!(err.line, line.strip_suffix('\n').unwrap_or(line));
            // The message names the line and the problem; it must not panic.
            let _ = err.to_string();
        }
        Ok(value) => {
            let _ = value.is_final_reply();
            let bytes = value.to_line();
            let rendered = std::str::from_utf8(&bytes).expect("a rendered line is UTF-8");
            let body = rendered
                .strip_suffix('\n')
                .expect("a rendered line ends in LF");
            assert!(!body.contains(['\n', '\r']), "{rendered:?} is not one line");
            assert_eq!(
                ServerLine::parse(rendered).as_ref(),
                Ok(&value),
                "{line:?} renders as {rendered:?}, which reads otherwise"
            );
        }
    }
});
