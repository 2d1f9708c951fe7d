//! IRCv3 capabilities meeting the channel modes and commands that came
//! with them: labels on INVITE, WHOWAS and MODE, an echoed message from
//! outside a `-n` channel, and `417` before any echo; operators marked in
//! `userhost-in-names` listings.

mod common;
use common::irc::{Irc, SERVER};
use common::*;

const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

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
fn invite_whowas_and_mode_are_answered_with_their_label() {
    let s = start(NO_FLOOD);
    let mut al = with_caps(s.irc_addr(), "al", "labeled-response batch");
    al.join_channel("#l");
    let mut bo = Irc::register(s.irc_addr(), "bo");
    al.send("@label=i1 INVITE bo #l");
    al.expect(&format!("@label=i1 :{SERVER} 341 al bo #l"));
    bo.expect(":al!~al@irc INVITE bo #l");
    al.send("@label=i2 INVITE nobody #l");
    al.expect(&format!(
        "@label=i2 :{SERVER} 401 al nobody :No such nick/channel"
    ));
    al.send("@label=w1 WHOWAS nobody");
    al.expect_lines(&[
        &format!("@label=w1 :{SERVER} BATCH +h1 labeled-response"),
        &format!("@batch=h1 :{SERVER} 406 al nobody :There was no such nickname"),
        &format!("@batch=h1 :{SERVER} 369 al nobody :End of WHOWAS"),
        &format!(":{SERVER} BATCH -h1"),
    ]);
    // A refused change is answered under the label...
    bo.send("JOIN #l");
    bo.until_numeric("366");
    al.expect(":bo!~bo@irc JOIN #l");
    al.send("@label=m1 MODE #l +l 0");
    al.expect(&format!(
        "@label=m1 :{SERVER} 696 al #l l 0 :Invalid mode parameter"
    ));
    // ... a made one reaches every member alike, then the ACK.
    al.send("@label=m2 MODE #l +o bo");
    al.expect(":al!~al@irc MODE #l +o bo");
    al.expect(&format!("@label=m2 :{SERVER} ACK"));
    bo.expect(":al!~al@irc MODE #l +o bo");
}

#[test]
fn a_message_from_outside_a_minus_n_channel_is_echoed_with_its_msgid() {
    let s = start(NO_FLOOD);
    let mut bo = with_caps(s.irc_addr(), "bo", "message-tags");
    bo.join_channel("#n");
    bo.send("MODE #n -n");
    bo.expect(":bo!~bo@irc MODE #n -n");
    let mut al = with_caps(s.irc_addr(), "al", "echo-message message-tags");
    al.send("@+k=v PRIVMSG #n :knock");
    al.expect("@msgid=#n/1;+k=v :al!~al@irc PRIVMSG #n :knock");
    bo.expect("@msgid=#n/1;+k=v :al!~al@irc PRIVMSG #n :knock");
    // A TAGMSG is for members only.
    al.send("@+typing=active TAGMSG #n");
    al.expect(&format!(":{SERVER} 404 al #n :Cannot send to channel"));
    // Too long to relay: refused, not echoed.
    let long = "x".repeat(510 - ":al!~al@irc PRIVMSG #n :".len() + 1);
    al.send(&format!("@+k=v PRIVMSG #n :{long}"));
    al.expect(&format!(":{SERVER} 417 al :Input line was too long"));
    al.sync();
    bo.sync();
}

#[test]
fn userhost_in_names_marks_operators() {
    let s = start(NO_FLOOD);
    let mut al = Irc::join(s.irc_addr(), "al", "#u");
    let mut bo = with_caps(s.irc_addr(), "bo", "userhost-in-names");
    bo.join_channel("#u");
    al.expect(":bo!~bo@irc JOIN #u");
    al.send("MODE #u +o bo");
    al.expect(":al!~al@irc MODE #u +o bo");
    bo.expect(":al!~al@irc MODE #u +o bo");
    bo.send("NAMES #u");
    bo.expect_lines(&[
        &format!(":{SERVER} 353 bo = #u :@al!~al@irc @bo!~bo@irc"),
        &format!(":{SERVER} 366 bo #u :End of /NAMES list"),
    ]);
}
