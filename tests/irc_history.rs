//! IRC clients with history kept and files shared: the replay on JOIN (as
//! PRIVMSGs, time-tagged with server-time), server-time on live events,
//! and native FILE announcements reaching IRC members as NOTICEs.

mod common;
use common::irc::{Irc, SERVER};
use common::peer::{sha256_hex, Peer};
use common::*;

const HISTORY: &str = "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000";

/// `@time=YYYY-MM-DDTHH:MM:SS.mmmZ ` and the rest of the line.
fn split_time(line: String) -> (String, String) {
    let rest = line
        .strip_prefix("@time=")
        .unwrap_or_else(|| panic!("no time tag: {line}"));
    let (time, rest) = rest.split_once(' ').unwrap();
    assert_eq!(time.len(), 24, "{time}");
    assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    (time.to_string(), rest.to_string())
}

#[test]
fn history_is_replayed_on_join() {
    let s = start(HISTORY);
    let mut nc = Client::join(s.addr(), "nina", "#h");
    for text in ["one", "two"] {
        nc.send(&format!("MSG #h {text}"));
        nc.expect("OK MSG #h");
    }
    let mut plain = Irc::register(s.irc_addr(), "ivan");
    plain.send("JOIN #h");
    plain.expect_lines(&[
        ":ivan!~ivan@irc JOIN #h",
        ":chatroom 353 ivan = #h :ivan @nina",
        ":chatroom 366 ivan #h :End of /NAMES list",
        ":nina PRIVMSG #h :one",
        ":nina PRIVMSG #h :two",
    ]);
    nc.expect("JOIN #h ivan");

    // With server-time: the replay and live events carry @time.
    let mut timed = Irc::connect(s.irc_addr());
    timed.name = "tim".into();
    timed.send("CAP LS 302");
    timed.expect(&format!(":{SERVER} CAP * LS :account-notify account-tag away-notify batch cap-notify draft/chathistory echo-message extended-join labeled-response message-tags multi-prefix sasl server-time userhost-in-names"));
    timed.send("CAP REQ server-time");
    timed.expect(&format!(":{SERVER} CAP * ACK :server-time"));
    timed.send("NICK tim");
    timed.send("USER tim 0 * :Tim");
    timed.send("CAP END");
    timed.until_numeric("422");
    timed.send("JOIN #h");
    let (_, join) = split_time(timed.line());
    assert_eq!(join, ":tim!~tim@irc JOIN #h");
    timed.expect(":chatroom 353 tim = #h :ivan @nina tim");
    timed.expect(":chatroom 366 tim #h :End of /NAMES list");
    let (t1, one) = split_time(timed.line());
    assert_eq!(one, ":nina PRIVMSG #h :one");
    let (t2, two) = split_time(timed.line());
    assert_eq!(two, ":nina PRIVMSG #h :two");
    assert!(t1 <= t2);
    plain.expect(":tim!~tim@irc JOIN #h");
    nc.expect("JOIN #h tim");
    plain.send("PRIVMSG #h :three");
    let (t3, three) = split_time(timed.line());
    assert_eq!(three, ":ivan!~ivan@irc PRIVMSG #h :three");
    assert!(t2 <= t3);
    nc.expect("MSG #h ivan three");
    // Stored like a native message: a later native joiner replays it.
    let mut late = Client::register(s.addr(), "late");
    late.send("JOIN #h");
    let lines = late.read_until_prefix("OK JOIN");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("HISTORY #h ") && l.ends_with(" ivan three")),
        "{lines:?}"
    );
}

#[test]
fn native_files_are_announced_to_irc_members() {
    let s = start(HISTORY);
    let mut irc = Irc::join(s.irc_addr(), "ivan", "#f");
    let mut nc = Peer::join(s.addr(), "nina", "#f");
    irc.expect(":nina!native@native JOIN #f");
    let content = b"hello, file";
    let id = nc.upload("#f", "notes.txt", content);
    irc.expect(&format!(
        ":nina!native@native NOTICE #f :shares the file \"notes.txt\" ({} bytes, sha256 {}): \
         fetch it over the native protocol with FETCH {id}",
        content.len(),
        sha256_hex(content)
    ));
    let id = nc.upload("ivan", "secret.bin", b"xyz");
    irc.expect(&format!(
        ":nina!native@native NOTICE ivan :shares the file \"secret.bin\" (3 bytes, sha256 {}): \
         fetch it over the native protocol with FETCH {id}",
        sha256_hex(b"xyz")
    ));
    irc.sync();
}
