//! IRCv3 capabilities over raw lines: negotiation, message-tags (msgid,
//! client-only tags, TAGMSG, the 417 bound), echo-message, extended-join,
//! userhost-in-names, away-notify; and a native message seen by an IRC
//! client with its tags.

mod common;
use common::irc::{Irc, SERVER};
use common::*;

const CAPS: &str = "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000";

/// `line` with every `time=` value made `T` (times are checked apart).
fn untimed(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("time=") {
        out.push_str(&rest[..i + 5]);
        out.push('T');
        rest = &rest[i + 5..];
        let end = rest.find([';', ' ']).unwrap_or(rest.len());
        let time = &rest[..end];
        assert!(time.len() == 24 && time.ends_with('Z'), "{line}");
        rest = &rest[end..];
    }
    out.push_str(rest);
    // A message nothing stores has a server-wide msgid: `~<start>.<n>`.
    match out.split_once("msgid=~") {
        Some((head, tail)) => {
            let end = tail.find([';', ' ']).unwrap_or(tail.len());
            let id = &tail[..end];
            assert!(
                id.split_once('.')
                    .is_some_and(|(a, b)| { a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok() }),
                "{line}"
            );
            format!("{head}msgid=~{}", &tail[end..])
        }
        None => out,
    }
}

/// Registers `nick` having asked for `caps`.
fn with_caps(addr: std::net::SocketAddr, nick: &str, caps: &str) -> Irc {
    let mut c = Irc::connect(addr);
    c.name = nick.to_string();
    c.send("CAP LS 302");
    c.line();
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":{SERVER} CAP * ACK :{caps}"));
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :Real {nick}"));
    c.send("CAP END");
    c.until_numeric("422");
    c
}

#[test]
fn negotiation_lists_acks_and_naks() {
    let s = start(CAPS);
    let mut c = with_caps(s.irc_addr(), "al", "message-tags echo-message batch");
    c.send("CAP LIST");
    c.expect(&format!(
        ":{SERVER} CAP al LIST :batch cap-notify echo-message message-tags"
    ));
    c.send("CAP REQ :-echo-message");
    c.expect(&format!(":{SERVER} CAP al ACK :-echo-message"));
    c.send("CAP REQ :chghost");
    c.expect(&format!(":{SERVER} CAP al NAK :chghost"));
}

#[test]
fn capabilities_that_change_how_events_look_apply_in_rooms_joined_before() {
    let s = start(CAPS);
    let mut al = Irc::join(s.irc_addr(), "al", "#r");
    let mut nc = Client::join(s.addr(), "nina", "#r");
    al.expect(":nina!native@native JOIN #r");
    nc.send("MSG #r before");
    nc.expect("OK MSG #r");
    al.expect(":nina!native@native PRIVMSG #r :before");
    al.send("CAP REQ :message-tags server-time");
    al.expect(&format!(":{SERVER} CAP al ACK :message-tags server-time"));
    nc.send("MSG #r after");
    nc.expect("OK MSG #r");
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=#r/2 :nina!native@native PRIVMSG #r :after"
    );
    al.send("CAP REQ :-message-tags -server-time");
    al.expect(&format!(":{SERVER} CAP al ACK :-message-tags -server-time"));
    nc.send("MSG #r plain again");
    nc.expect("OK MSG #r");
    al.expect(":nina!native@native PRIVMSG #r :plain again");
    // The directory has the new encoding too: private messages follow it.
    al.send("CAP REQ message-tags");
    al.expect(&format!(":{SERVER} CAP al ACK :message-tags"));
    let mut bo = Irc::register(s.irc_addr(), "bo");
    bo.send("@+k=v PRIVMSG al :hi");
    assert_eq!(
        untimed(&al.line()),
        "@msgid=~;+k=v :bo!~bo@irc PRIVMSG al :hi"
    );
}

#[test]
fn tags_msgid_echo_and_tagmsg() {
    let s = start(CAPS);
    let mut al = with_caps(s.irc_addr(), "al", "message-tags echo-message server-time");
    let mut bo = with_caps(s.irc_addr(), "bo", "message-tags");
    let mut cy = Irc::register(s.irc_addr(), "cy");
    let mut nc = Client::join(s.addr(), "nina", "#t");
    al.join_channel("#t");
    bo.join_channel("#t");
    assert_eq!(untimed(&al.line()), "@time=T :bo!~bo@irc JOIN #t");
    cy.join_channel("#t");
    assert_eq!(untimed(&al.line()), "@time=T :cy!~cy@irc JOIN #t");
    bo.expect(":cy!~cy@irc JOIN #t");
    nc.expect_lines(&["JOIN #t al", "JOIN #t bo", "JOIN #t cy"]);
    al.send("@+draft/react=\\:x\\s;+typing=active;foo=bar PRIVMSG #t :hello");
    // Echoed with the same msgid and time the others get.
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=#t/1;+draft/react=\\:x\\s;+typing=active :al!~al@irc PRIVMSG #t :hello"
    );
    bo.expect("@msgid=#t/1;+draft/react=\\:x\\s;+typing=active :al!~al@irc PRIVMSG #t :hello");
    cy.expect(":al!~al@irc PRIVMSG #t :hello");
    nc.expect("MSG #t al hello");
    // A native message: tags for those who asked, nothing native changes.
    nc.send("MSG #t from nc");
    nc.expect("OK MSG #t");
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=#t/2 :nina!native@native PRIVMSG #t :from nc"
    );
    bo.expect("@msgid=#t/2 :nina!native@native PRIVMSG #t :from nc");
    cy.expect(":nina!native@native PRIVMSG #t :from nc");
    // TAGMSG reaches only message-tags clients, echoed to the sender.
    al.send("@+typing=active TAGMSG #t");
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=~;+typing=active :al!~al@irc TAGMSG #t"
    );
    assert_eq!(
        untimed(&bo.line()),
        "@msgid=~;+typing=active :al!~al@irc TAGMSG #t"
    );
    // Private: relayed with its tags, echoed.
    al.send("@+x=1 PRIVMSG bo :psst");
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=~;+x=1 :al!~al@irc PRIVMSG bo :psst"
    );
    assert_eq!(
        untimed(&bo.line()),
        "@msgid=~;+x=1 :al!~al@irc PRIVMSG bo :psst"
    );
    bo.send("@+y TAGMSG al");
    assert_eq!(
        untimed(&al.line()),
        "@time=T;msgid=~;+y :bo!~bo@irc TAGMSG al"
    );
    // Too many bytes of tags: 417, and the line is dropped.
    al.send(&format!("@+big={} PRIVMSG #t :lost", "x".repeat(4100)));
    al.expect(&format!(":{SERVER} 417 al :Input line was too long"));
    for c in [&mut al, &mut bo, &mut cy] {
        c.sync();
    }
    nc.send("MSG #t done");
    nc.expect("OK MSG #t");
    cy.expect(":nina!native@native PRIVMSG #t :done");
}

#[test]
fn extended_join_userhost_in_names_and_away_notify() {
    let s = start(CAPS);
    let mut al = with_caps(
        s.irc_addr(),
        "al",
        "extended-join userhost-in-names away-notify",
    );
    al.join_channel("#j");
    let mut bo = Irc::register(s.irc_addr(), "bo");
    bo.send("JOIN #j");
    bo.expect(":bo!~bo@irc JOIN #j");
    bo.expect(&format!(":{SERVER} 353 bo = #j :@al bo"));
    bo.expect_numeric("366");
    al.expect(":bo!~bo@irc JOIN #j * :Real bo");
    let mut nc = Client::join(s.addr(), "nina", "#j");
    al.expect(":nina!native@native JOIN #j * :nina");
    bo.expect(":nina!native@native JOIN #j");
    al.send("NAMES #j");
    al.expect(&format!(
        ":{SERVER} 353 al = #j :@al!~al@irc bo!~bo@irc nina!native@native"
    ));
    al.expect(&format!(":{SERVER} 366 al #j :End of /NAMES list"));
    bo.send("AWAY :lunch");
    bo.expect(&format!(
        ":{SERVER} 306 bo :You have been marked as being away"
    ));
    al.expect(":bo!~bo@irc AWAY :lunch");
    bo.send("AWAY");
    bo.expect_numeric("305");
    al.expect(":bo!~bo@irc AWAY");
    // A joiner with the cap sees the full masks in its listing.
    let mut cy = with_caps(s.irc_addr(), "cy", "userhost-in-names");
    cy.send("JOIN #j");
    cy.expect(":cy!~cy@irc JOIN #j");
    cy.expect(&format!(
        ":{SERVER} 353 cy = #j :@al!~al@irc bo!~bo@irc cy!~cy@irc nina!native@native"
    ));
    nc.expect("JOIN #j cy");
    al.expect(":cy!~cy@irc JOIN #j * :Real cy");
    bo.expect(":cy!~cy@irc JOIN #j");
    // An away user joining: away-notify clients learn it after the JOIN.
    bo.send("AWAY :gone");
    bo.expect_numeric("306");
    al.expect(":bo!~bo@irc AWAY :gone");
    bo.send("PART #j");
    bo.expect(":bo!~bo@irc PART #j");
    al.expect(":bo!~bo@irc PART #j");
    nc.expect("PART #j bo");
    bo.send("JOIN #j");
    nc.expect("JOIN #j bo");
    al.expect_lines(&[":bo!~bo@irc JOIN #j * :Real bo", ":bo!~bo@irc AWAY :gone"]);
    nc.sync();
}

#[test]
fn labeled_responses_single_batch_and_ack() {
    let s = start(CAPS);
    let mut al = with_caps(s.irc_addr(), "al", "labeled-response batch");
    // One line: tagged.
    al.send("@label=p1 PING tok");
    al.expect(&format!("@label=p1 :{SERVER} PONG {SERVER} :tok"));
    al.send("@label=u1 FOO");
    al.expect(&format!("@label=u1 :{SERVER} 421 al FOO :Unknown command"));
    // Several, after a room answers: a labeled-response batch.
    al.send("@label=j1 JOIN #l");
    al.expect_lines(&[
        &format!("@label=j1 :{SERVER} BATCH +h1 labeled-response"),
        "@batch=h1 :al!~al@irc JOIN #l",
        &format!("@batch=h1 :{SERVER} 353 al = #l :@al"),
        &format!("@batch=h1 :{SERVER} 366 al #l :End of /NAMES list"),
        &format!(":{SERVER} BATCH -h1"),
    ]);
    al.send("@label=n1 NAMES #l");
    al.expect_lines(&[
        &format!("@label=n1 :{SERVER} BATCH +h2 labeled-response"),
        &format!("@batch=h2 :{SERVER} 353 al = #l :@al"),
        &format!("@batch=h2 :{SERVER} 366 al #l :End of /NAMES list"),
        &format!(":{SERVER} BATCH -h2"),
    ]);
    // Nothing to answer: ACK.
    al.send("@label=m1 PRIVMSG #l :hi");
    al.expect(&format!("@label=m1 :{SERVER} ACK"));
    al.send("@label=w1 WHOIS al");
    let first = al.line();
    assert_eq!(
        first,
        format!("@label=w1 :{SERVER} BATCH +h3 labeled-response")
    );
    let mut rest = Vec::new();
    loop {
        let l = al.line();
        if l == format!(":{SERVER} BATCH -h3") {
            break;
        }
        rest.push(l);
    }
    assert_eq!(
        rest.first().map(String::as_str),
        Some("@batch=h3 :chatroom 311 al al ~al irc * :Real al")
    );
    assert!(rest.iter().all(|l| l.starts_with("@batch=h3 ")), "{rest:?}");
    assert!(rest.last().unwrap().contains(" 318 al al "), "{rest:?}");
    al.send("@label=k1 NICK alan");
    al.expect("@label=k1 :al!~al@irc NICK alan");
    // Unlabeled lines go as ever.
    al.send("PING plain");
    al.expect(&format!(":{SERVER} PONG {SERVER} :plain"));
    al.send("NICK al");
    al.expect(":alan!~al@irc NICK al");
}

#[test]
fn a_labeled_echo_carries_label_msgid_and_time() {
    let s = start(CAPS);
    let mut al = with_caps(
        s.irc_addr(),
        "al",
        "labeled-response echo-message message-tags",
    );
    al.join_channel("#e");
    let mut bo = with_caps(s.irc_addr(), "bo", "message-tags");
    bo.join_channel("#e");
    al.expect(":bo!~bo@irc JOIN #e");
    al.send("@label=e1;+k=v PRIVMSG #e :hello");
    al.expect("@label=e1;msgid=#e/1;+k=v :al!~al@irc PRIVMSG #e :hello");
    bo.expect("@msgid=#e/1;+k=v :al!~al@irc PRIVMSG #e :hello");
    // Not stored, but the echo and the relay share one msgid.
    al.send("@label=e2;+typing=active TAGMSG #e");
    let (echo, relay) = (al.line(), bo.line());
    assert_eq!(
        untimed(&echo),
        "@label=e2;msgid=~;+typing=active :al!~al@irc TAGMSG #e"
    );
    assert_eq!(
        untimed(&relay),
        "@msgid=~;+typing=active :al!~al@irc TAGMSG #e"
    );
    assert_eq!(
        echo.split_once(';').unwrap().1,
        relay.strip_prefix('@').unwrap()
    );
    al.send("@label=e3 PRIVMSG bo :psst");
    let (echo, relay) = (al.line(), bo.line());
    assert_eq!(
        untimed(&echo),
        "@label=e3;msgid=~ :al!~al@irc PRIVMSG bo :psst"
    );
    assert_eq!(untimed(&relay), "@msgid=~ :al!~al@irc PRIVMSG bo :psst");
    assert_eq!(
        echo.split_once(';').unwrap().1,
        relay.strip_prefix('@').unwrap()
    );
}
