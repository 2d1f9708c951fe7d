//! IRCv3 `account-tag` end to end: `@account=<name>` on the messages of a
//! logged-in sender (natively or with SASL), to channels and in private,
//! for IRC clients that asked for it; nobody else sees a change.

mod common;

use chatroom::config::Config;
use common::irc::{Irc, SERVER};
use common::{start_config, Client};

fn config() -> Config {
    let mut config = Config::from_toml("[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000")
        .expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    config.irc.listen = "127.0.0.1:0".into();
    config.http.listen = String::new();
    config
}

/// Registers an IRC client as `nick` having asked for `caps`.
fn with_caps(addr: std::net::SocketAddr, nick: &str, caps: &str) -> Irc {
    let mut c = Irc::connect(addr);
    c.name = nick.into();
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":{SERVER} CAP * ACK :{caps}"));
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :Real {nick}"));
    c.send("CAP END");
    c.until_numeric("422");
    c
}

#[test]
fn account_tag_marks_messages_of_logged_in_senders_for_those_who_asked() {
    let server = start_config(config(), None);
    let irc = server.irc_addr();

    // alice: native, logged in (REGISTER logs in).
    let mut alice = Client::register(server.addr(), "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    alice.send("JOIN #room");
    alice.read_until_prefix("OK JOIN ");

    let mut tagged = with_caps(irc, "tagged", "account-tag");
    tagged.send("CAP LIST");
    tagged.expect(&format!(":{SERVER} CAP tagged LIST :account-tag"));
    tagged.join_channel("#room");
    alice.expect("JOIN #room tagged");

    let mut plain = Irc::join(irc, "plain", "#room");
    alice.expect("JOIN #room plain");
    tagged.expect(":plain!~plain@irc JOIN #room");

    // al: IRC, logged in to the same account with SASL ("\0alice\0password-one").
    let mut al = Irc::connect(irc);
    al.name = "al".into();
    al.send("CAP REQ :sasl");
    al.expect(&format!(":{SERVER} CAP * ACK :sasl"));
    al.send("NICK al");
    al.send("USER al 0 * :Real al");
    al.send("AUTHENTICATE PLAIN");
    al.expect("AUTHENTICATE +");
    al.send("AUTHENTICATE AGFsaWNlAHBhc3N3b3JkLW9uZQ==");
    al.expect(&format!(
        ":{SERVER} 900 al al!~al@irc alice :You are now logged in as alice"
    ));
    al.expect(&format!(":{SERVER} 903 al :SASL authentication successful"));
    al.send("CAP END");
    al.until_numeric("422");
    al.join_channel("#room");
    alice.expect("JOIN #room al");
    tagged.expect(":al!~al@irc JOIN #room");
    plain.expect(":al!~al@irc JOIN #room");

    // bob: native, not logged in.
    let mut bob = Client::join(server.addr(), "bob", "#room");
    alice.expect("JOIN #room bob");
    tagged.expect(":bob!native@native JOIN #room");
    plain.expect(":bob!native@native JOIN #room");
    al.expect(":bob!native@native JOIN #room");

    // A native sender logged in: tagged for `tagged` only.
    alice.send("MSG #room hi");
    alice.expect("OK MSG #room");
    tagged.expect("@account=alice :alice!native@native PRIVMSG #room :hi");
    plain.expect(":alice!native@native PRIVMSG #room :hi");
    al.expect(":alice!native@native PRIVMSG #room :hi");
    bob.expect("MSG #room alice hi");

    // A SASL sender: PRIVMSG and NOTICE.
    al.send("PRIVMSG #room :from sasl");
    al.send("NOTICE #room :note");
    tagged.expect_lines(&[
        "@account=alice :al!~al@irc PRIVMSG #room :from sasl",
        "@account=alice :al!~al@irc NOTICE #room :note",
    ]);
    plain.expect_lines(&[
        ":al!~al@irc PRIVMSG #room :from sasl",
        ":al!~al@irc NOTICE #room :note",
    ]);
    alice.expect_lines(&["MSG #room al from sasl", "MSG #room al note"]);
    bob.expect_lines(&["MSG #room al from sasl", "MSG #room al note"]);

    // Senders not logged in: no tag, over IRC or natively.
    plain.send("PRIVMSG #room :anon");
    tagged.expect(":plain!~plain@irc PRIVMSG #room :anon");
    bob.send("MSG #room yo");
    bob.expect_lines(&["MSG #room plain anon", "OK MSG #room"]);
    tagged.expect(":bob!native@native PRIVMSG #room :yo");
    plain.expect(":bob!native@native PRIVMSG #room :yo");
    al.expect_lines(&[
        ":plain!~plain@irc PRIVMSG #room :anon",
        ":bob!native@native PRIVMSG #room :yo",
    ]);
    alice.expect_lines(&["MSG #room plain anon", "MSG #room bob yo"]);

    // Private messages.
    alice.send("PRIVMSG tagged psst");
    alice.expect("OK PRIVMSG tagged");
    tagged.expect("@account=alice :alice!native@native PRIVMSG tagged :psst");
    al.send("PRIVMSG tagged :whisper");
    tagged.expect("@account=alice :al!~al@irc PRIVMSG tagged :whisper");
    al.send("PRIVMSG plain :whisper");
    plain.expect(":al!~al@irc PRIVMSG plain :whisper");
    bob.send("PRIVMSG tagged hey");
    bob.expect("OK PRIVMSG tagged");
    tagged.expect(":bob!native@native PRIVMSG tagged :hey");
    plain.send("PRIVMSG tagged :hey");
    tagged.expect(":plain!~plain@irc PRIVMSG tagged :hey");

    // TAGMSG carries it too (seen with message-tags).
    let mut typist = with_caps(irc, "typist", "account-tag message-tags");
    al.send("@+typing=active TAGMSG typist");
    let line = typist.line();
    assert!(
        line.starts_with("@msgid=~")
            && line.ends_with(";account=alice;+typing=active :al!~al@irc TAGMSG typist"),
        "{line}"
    );

    // Logged out: the session's account is gone, and with it the tag.
    alice.send("LOGOUT");
    alice.expect("OK LOGOUT");
    let notice = alice.line();
    assert!(
        notice.starts_with("SERVER alice is a registered account"),
        "{notice}"
    );
    alice.send("MSG #room bye");
    alice.expect("OK MSG #room");
    tagged.expect(":alice!native@native PRIVMSG #room :bye");
    plain.expect(":alice!native@native PRIVMSG #room :bye");
    al.expect(":alice!native@native PRIVMSG #room :bye");
    bob.expect("MSG #room alice bye");

    // History keeps no account: the JOIN replay has no tag.
    let mut late = with_caps(irc, "late", "account-tag");
    late.send("JOIN #room");
    late.expect(":late!~late@irc JOIN #room");
    late.until_numeric("366");
    late.expect_lines(&[
        ":alice PRIVMSG #room :hi",
        ":al PRIVMSG #room :from sasl",
        ":al PRIVMSG #room :note",
        ":plain PRIVMSG #room :anon",
        ":bob PRIVMSG #room :yo",
        ":alice PRIVMSG #room :bye",
    ]);

    for c in [&mut tagged, &mut plain, &mut al] {
        c.expect(":late!~late@irc JOIN #room");
    }
    alice.expect("JOIN #room late");
    bob.expect("JOIN #room late");
    alice.sync();
    bob.sync();
    for c in [&mut tagged, &mut plain, &mut al, &mut typist, &mut late] {
        c.sync();
    }
}
