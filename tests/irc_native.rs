//! An IRC user and a native (nc) user in one room, each in their own
//! protocol: messages, joins, parts, topics, kicks, nick changes and quits
//! seen live on both sides; one namespace of nicknames.

mod common;
use common::irc::Irc;
use common::*;

const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

#[test]
fn an_irc_user_and_a_native_user_talk_both_ways() {
    let s = start(NO_FLOOD);
    let mut nc = Client::join(s.addr(), "nina", "#123");
    let mut irc = Irc::register(s.irc_addr(), "ivan");
    irc.send("JOIN #123");
    irc.expect_lines(&[
        ":ivan!~ivan@irc JOIN #123",
        ":chatroom 353 ivan = #123 :ivan @nina",
        ":chatroom 366 ivan #123 :End of /NAMES list",
    ]);
    nc.expect("JOIN #123 ivan");

    nc.send("MSG #123 hello from nc");
    nc.expect("OK MSG #123");
    irc.expect(":nina!native@native PRIVMSG #123 :hello from nc");
    irc.send("PRIVMSG #123 :hello from irc");
    nc.expect("MSG #123 ivan hello from irc");
    // A notice reads as a message natively.
    irc.send("NOTICE #123 :a notice");
    nc.expect("MSG #123 ivan a notice");

    // Private messages, both ways.
    nc.send("PRIVMSG ivan psst");
    nc.expect("OK PRIVMSG ivan");
    irc.expect(":nina!native@native PRIVMSG ivan :psst");
    irc.send("PRIVMSG nina :psst back");
    nc.expect("PRIVMSG ivan psst back");

    // The owner (native) sets the topic; IRC sees TOPIC.
    nc.send("TOPIC #123 news");
    nc.expect("TOPIC #123 nina news");
    nc.expect("OK TOPIC #123 news");
    irc.expect(":nina!native@native TOPIC #123 :news");

    // Nick changes, both ways.
    irc.send("NICK Ivan2");
    irc.expect(":ivan!~ivan@irc NICK Ivan2");
    nc.expect("NICK ivan Ivan2");
    nc.send("NICK Nina");
    nc.expect("NICK nina Nina");
    nc.expect("OK NICK Nina");
    irc.expect(":nina!native@native NICK Nina");

    // Part and join again.
    irc.send("PART #123 :brb");
    irc.expect(":Ivan2!~ivan@irc PART #123 :brb");
    nc.expect("PART #123 Ivan2 brb");
    irc.join_channel("#123");
    nc.expect("JOIN #123 Ivan2");

    // The native owner kicks the IRC user.
    nc.send("KICK #123 Ivan2 enough");
    nc.expect("KICK #123 Ivan2 Nina enough");
    nc.expect("OK KICK #123 Ivan2");
    irc.expect(":Nina!native@native KICK #123 Ivan2 :enough");
    irc.send("PRIVMSG #123 :hey");
    irc.expect(":chatroom 404 Ivan2 #123 :Cannot send to channel");

    // The native user quits; the IRC user (back in) sees it.
    irc.join_channel("#123");
    nc.expect("JOIN #123 Ivan2");
    nc.send("QUIT bye all");
    nc.expect("OK QUIT");
    irc.expect(":Nina!native@native QUIT :bye all");
    irc.sync();
}

#[test]
fn an_irc_owner_and_native_members() {
    let s = start(NO_FLOOD);
    let mut irc = Irc::join(s.irc_addr(), "olga", "#r");
    let mut nc = Client::join(s.addr(), "ned", "#r");
    irc.expect(":ned!native@native JOIN #r");
    irc.send("TOPIC #r :from irc");
    irc.expect(":olga!~olga@irc TOPIC #r :from irc");
    nc.expect("TOPIC #r olga from irc");
    irc.send("KICK #r ned :bye");
    irc.expect(":olga!~olga@irc KICK #r ned :bye");
    nc.expect("KICK #r ned olga bye");
    nc.send("MSG #r still?");
    let l = nc.line();
    assert!(l.starts_with("ERR MSG NOT_IN_ROOM "), "{l}");
    irc.send("QUIT :done");
    irc.expect("ERROR :Closing Link: irc (Quit: done)");
    nc.send("JOIN #r");
    nc.read_until_prefix("OK JOIN");
    nc.sync();
}

#[test]
fn one_namespace_of_nicknames_across_protocols() {
    let s = start(NO_FLOOD);
    let mut irc = Irc::register(s.irc_addr(), "Alice");
    let mut nc = Client::connect(s.addr());
    nc.send("NICK alice");
    let l = nc.line();
    assert!(l.starts_with("ERR NICK NICK_IN_USE "), "{l}");
    nc.send("NICK bob");
    nc.expect("OK NICK bob");
    let mut other = Irc::connect(s.irc_addr());
    other.send("NICK BOB");
    other.expect(":chatroom 433 * BOB :Nickname is already in use");
    irc.send("NICK bob");
    irc.expect(":chatroom 433 Alice bob :Nickname is already in use");
}

#[test]
fn unicode_nicknames_are_one_namespace_too() {
    let s = start(NO_FLOOD);
    let mut irc = Irc::connect(s.irc_addr());
    irc.name = "Zoë".into();
    irc.send("NICK Zoë");
    irc.send("USER zoe 0 * :Zoë");
    irc.expect(":chatroom 001 Zoë :Welcome to the chatroom IRC Network Zoë!~zoe@irc");
    irc.until_numeric("422");
    irc.join_channel("#r");
    let mut nc = Client::connect(s.addr());
    nc.send("NICK ZOË");
    let l = nc.line();
    assert!(l.starts_with("ERR NICK NICK_IN_USE "), "{l}");
    nc.send("NICK nina");
    nc.expect("OK NICK nina");
    nc.send("JOIN #r");
    let lines = nc.read_until_prefix("OK JOIN");
    assert!(
        lines.contains(&"NAMES #r nina Zoë".to_string()),
        "{lines:?}"
    );
    irc.expect(":nina!native@native JOIN #r");
    let mut other = Irc::connect(s.irc_addr());
    other.send("NICK zoë");
    other.expect(":chatroom 433 * zoë :Nickname is already in use");
    nc.send("PRIVMSG zoë hallo");
    nc.expect("OK PRIVMSG Zoë");
    irc.expect(":nina!native@native PRIVMSG Zoë :hallo");
}
