//! The IRC codec (`IrcCodec`) fed any bytes, in reads of any sizes.
//!
//! Input: the reads and data of `chatroom_fuzz::input` (no parameters: the
//! limits are the protocol's). Besides what `drive` checks for every
//! decoder:
//!
//! - it never fails: its errors are for I/O only;
//! - a line is not blank, holds no CR or LF, and keeps the limits: at most
//!   `MAX_BODY` bytes after at most `MAX_TAGS` bytes of tags;
//! - a line is bytes it was given, ended by the CR or LF its call took (or
//!   by the end of the input);
//! - a command named for a line that is not UTF-8 is a plain upper-case
//!   word;
//! - while waiting for a line's end it keeps at most `MAX_TAGS + MAX_BODY`
//!   bytes;
//! - how the input is cut into reads changes nothing.
//!
//! libFuzzer's longest input is that of the longest seed: one is over the
//! limits, so that runs reach them.

#![no_main]

use chatroom::proto::irc::codec::{IrcCodec, IrcFrame, MAX_BODY, MAX_TAGS};
use chatroom_fuzz::drive::{decode_reads, Decoded};
use chatroom_fuzz::input::Pieces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some(pieces) = Pieces::<0>::parse(input) else {
        return;
    };
    let data = pieces.data;
    let in_reads = decode_reads(&mut IrcCodec::new(), &pieces.reads());
    if let Some(err) = &in_reads.error {
        panic!("the codec failed: {err}");
    }
    assert!(
        in_reads.most_held <= MAX_TAGS + MAX_BODY,
        "{} bytes kept waiting for a line's end",
        in_reads.most_held
    );
    for Decoded { item, consumed } in &in_reads.items {
        match item {
            IrcFrame::Line(line) => check_line(line, &data[consumed.clone()]),
            IrcFrame::NotUtf8(Some(command)) => assert!(
                !command.is_empty()
                    && command
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
                "NotUtf8 names the command {command:?}"
            ),
            IrcFrame::NotUtf8(None) | IrcFrame::TooLong => {}
        }
    }
    let at_once = decode_reads(&mut IrcCodec::new(), &[data]);
    let frames = |items: Vec<Decoded<IrcFrame>>| -> Vec<IrcFrame> {
        items.into_iter().map(|d| d.item).collect()
    };
    assert_eq!(
        frames(at_once.items),
        frames(in_reads.items),
        "the frames depend on how the input is cut into reads"
    );
});

fn check_line(line: &str, taken: &[u8]) {
    assert!(!line.bytes().all(|b| b == b' '), "a blank line: {line:?}");
    assert!(!line.contains(['\r', '\n']), "a line holding a CR or LF");
    // The tags: an `@` word and the spaces after it.
    let tags = match line.strip_prefix('@') {
        Some(_) => {
            let word = line.find(' ').unwrap_or(line.len());
            word + line[word..].bytes().take_while(|&b| b == b' ').count()
        }
        None => 0,
    };
    assert!(
        tags <= MAX_TAGS && line.len() - tags <= MAX_BODY,
        "a line of {} bytes, {tags} of them tags",
        line.len()
    );
    let end = taken
        .strip_suffix(b"\n")
        .or_else(|| taken.strip_suffix(b"\r"))
        .unwrap_or(taken);
    assert!(
        end.ends_with(line.as_bytes()),
        "the line {line:?} is not what its call took"
    );
}
