//! CHATHISTORY over raw lines, backed by the store: every subcommand with
//! msgid and timestamp references, the replay on JOIN as a `chathistory`
//! batch, and a native message's msgid as CHATHISTORY gives it back.

mod common;
use common::irc::{Irc, SERVER};
use common::*;

const HISTORY: &str = "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000";

/// `line` with every `time=` value made `T`, and the times in order.
fn untimed(line: &str, times: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("time=") {
        out.push_str(&rest[..i + 5]);
        out.push('T');
        rest = &rest[i + 5..];
        let end = rest.find([';', ' ']).unwrap_or(rest.len());
        times.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn with_caps(addr: std::net::SocketAddr, nick: &str, caps: &str) -> Irc {
    let mut c = Irc::connect(addr);
    c.name = nick.to_string();
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":{SERVER} CAP * ACK :{caps}"));
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :Real {nick}"));
    c.send("CAP END");
    let welcome = c.until_numeric("422");
    assert!(
        welcome
            .iter()
            .any(|l| l.contains(" CHATHISTORY=100 ") && l.contains(" MSGREFTYPES=timestamp,msgid ")),
        "{welcome:?}"
    );
    c
}

/// Reads a `chathistory` batch for `chan`: its lines, untimed, and times.
fn batch(c: &mut Irc, id: &str, chan: &str) -> (Vec<String>, Vec<String>) {
    c.expect(&format!(":{SERVER} BATCH +{id} chathistory {chan}"));
    let mut lines = Vec::new();
    let mut times = Vec::new();
    loop {
        let l = c.line();
        if l == format!(":{SERVER} BATCH -{id}") {
            return (lines, times);
        }
        lines.push(untimed(&l, &mut times));
    }
}

fn msg(id: &str, seq: u64, from: &str, text: &str) -> String {
    format!("@batch={id};time=T;msgid=#c/{seq} :{from} PRIVMSG #c :{text}")
}

#[test]
fn every_subcommand_and_the_join_replay() {
    let s = start(HISTORY);
    let mut nc = Client::join(s.addr(), "nina", "#c");
    for i in 1..=6 {
        nc.send(&format!("MSG #c m{i}"));
        nc.expect("OK MSG #c");
    }
    let mut al = with_caps(s.irc_addr(), "al", "batch message-tags server-time");
    al.send("JOIN #c");
    let mut times = Vec::new();
    assert_eq!(
        untimed(&al.line(), &mut times),
        "@time=T :al!~al@irc JOIN #c"
    );
    al.expect(&format!(":{SERVER} 353 al = #c :al @nina"));
    al.expect_numeric("366");
    let (replay, t) = batch(&mut al, "h1", "#c");
    let want: Vec<String> = (1..=6)
        .map(|i| msg("h1", i, "nina", &format!("m{i}")))
        .collect();
    assert_eq!(replay, want);
    nc.expect("JOIN #c al");

    // A live native message: its msgid is the one CHATHISTORY gives.
    nc.send("MSG #c live");
    nc.expect("OK MSG #c");
    let mut live_time = Vec::new();
    assert_eq!(
        untimed(&al.line(), &mut live_time),
        "@time=T;msgid=#c/7 :nina!native@native PRIVMSG #c :live"
    );
    al.send("CHATHISTORY LATEST #c * 2");
    let (lines, latest_times) = batch(&mut al, "h2", "#c");
    assert_eq!(
        lines,
        [msg("h2", 6, "nina", "m6"), msg("h2", 7, "nina", "live")]
    );
    assert_eq!(latest_times[1], live_time[0], "the same time as relayed");

    al.send("CHATHISTORY BEFORE #c msgid=#c/4 2");
    let (lines, _) = batch(&mut al, "h3", "#c");
    assert_eq!(
        lines,
        [msg("h3", 2, "nina", "m2"), msg("h3", 3, "nina", "m3")]
    );
    al.send("CHATHISTORY AFTER #c msgid=#c/5 10");
    let (lines, _) = batch(&mut al, "h4", "#c");
    assert_eq!(
        lines,
        [msg("h4", 6, "nina", "m6"), msg("h4", 7, "nina", "live")]
    );
    al.send("CHATHISTORY AROUND #c msgid=#c/3 3");
    let (lines, _) = batch(&mut al, "h5", "#c");
    assert_eq!(
        lines,
        [
            msg("h5", 2, "nina", "m2"),
            msg("h5", 3, "nina", "m3"),
            msg("h5", 4, "nina", "m4")
        ]
    );
    al.send("CHATHISTORY BETWEEN #c msgid=#c/1 msgid=#c/4 10");
    let (lines, _) = batch(&mut al, "h6", "#c");
    assert_eq!(
        lines,
        [msg("h6", 2, "nina", "m2"), msg("h6", 3, "nina", "m3")]
    );
    // By time: after the first message's time, up to the live one's.
    al.send(&format!(
        "CHATHISTORY BETWEEN #c timestamp={} timestamp={} 100",
        t[0], live_time[0]
    ));
    let (lines, _) = batch(&mut al, "h7", "#c");
    assert!(
        lines.len() <= 5 && lines.iter().all(|l| !l.ends_with(":m1")),
        "{lines:?}"
    );
    al.send(&format!("CHATHISTORY LATEST #c timestamp={} 100", t[5]));
    let (lines, _) = batch(&mut al, "h8", "#c");
    assert_eq!(lines.last().unwrap(), &msg("h8", 7, "nina", "live"));

    // TARGETS: joined channels with messages in the range, by the time
    // of their latest, in a draft/chathistory-targets batch.
    nc.send("JOIN #d");
    nc.read_until_prefix("OK JOIN");
    nc.send("MSG #d in d");
    nc.expect("OK MSG #d");
    al.send("JOIN #d");
    al.until_numeric("366");
    let (replay, _) = batch(&mut al, "h9", "#d");
    assert_eq!(
        replay,
        ["@batch=h9;time=T;msgid=#d/1 :nina PRIVMSG #d :in d"]
    );
    nc.expect("JOIN #d al");
    al.send(&format!(
        "CHATHISTORY TARGETS timestamp={} timestamp=2999-01-01T00:00:00.000Z 10",
        t[0]
    ));
    al.expect(&format!(":{SERVER} BATCH +h10 draft/chathistory-targets"));
    let c = al.line();
    let d = al.line();
    assert_eq!(
        c,
        format!(
            "@batch=h10 :{SERVER} CHATHISTORY TARGETS #c timestamp={}",
            live_time[0]
        )
    );
    assert!(
        d.starts_with(&format!(
            "@batch=h10 :{SERVER} CHATHISTORY TARGETS #d timestamp="
        )),
        "{d}"
    );
    al.expect(&format!(":{SERVER} BATCH -h10"));

    // Refusals.
    al.send("CHATHISTORY LATEST #elsewhere * 10");
    al.expect(&format!(
        ":{SERVER} FAIL CHATHISTORY INVALID_TARGET LATEST #elsewhere :Messages could not be retrieved"
    ));
    al.send("CHATHISTORY BEFORE #c msgid=#d/1 10");
    al.expect(&format!(
        ":{SERVER} FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid=#d/1 :Invalid message reference"
    ));
    al.send("CHATHISTORY BEFORE #c");
    al.expect(&format!(
        ":{SERVER} FAIL CHATHISTORY NEED_MORE_PARAMS BEFORE :Missing parameters"
    ));
    al.send("CHATHISTORY FOO #c * 1");
    al.expect(&format!(
        ":{SERVER} FAIL CHATHISTORY INVALID_PARAMS FOO :Unknown subcommand"
    ));

    // Without batch: the replay is plain PRIVMSGs, as before.
    let mut bo = Irc::register(s.irc_addr(), "bo");
    bo.join_channel("#c");
    bo.expect(":nina PRIVMSG #c :m1");
    nc.expect("JOIN #c bo");
    nc.sync();
}

#[test]
fn a_labeled_chathistory_nests_its_batch() {
    let s = start(HISTORY);
    let mut nc = Client::join(s.addr(), "nina", "#n");
    nc.send("MSG #n one");
    nc.expect("OK MSG #n");
    let mut al = with_caps(s.irc_addr(), "al", "batch labeled-response message-tags");
    al.send("JOIN #n");
    al.until_numeric("366");
    al.expect_lines(&[
        &format!(":{SERVER} BATCH +h1 chathistory #n"),
        "@batch=h1;msgid=#n/1 :nina PRIVMSG #n :one",
        &format!(":{SERVER} BATCH -h1"),
    ]);
    al.send("@label=q CHATHISTORY LATEST #n * 5");
    al.expect_lines(&[
        &format!("@label=q :{SERVER} BATCH +h3 labeled-response"),
        &format!("@batch=h3 :{SERVER} BATCH +h2 chathistory #n"),
        "@batch=h2;msgid=#n/1 :nina PRIVMSG #n :one",
        &format!("@batch=h3 :{SERVER} BATCH -h2"),
        &format!(":{SERVER} BATCH -h3"),
    ]);
    al.send("@label=f CHATHISTORY LATEST #nope * 5");
    al.expect(&format!(
        "@label=f :{SERVER} FAIL CHATHISTORY INVALID_TARGET LATEST #nope :Messages could not be retrieved"
    ));
    nc.expect("JOIN #n al");
}
