//! IRC registration end to end: with and without CAP, PASS, the welcome
//! burst (001-005, LUSERS, MOTD), nickname rules, and what is refused
//! before registration. Real server on 127.0.0.1:0, raw lines.

mod common;
use common::irc::{Irc, SERVER};
use common::*;

fn server() -> TestServer {
    start("[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false")
}

/// Reads the welcome after 001 and checks its shape: 002-005 then LUSERS
/// then 422.
fn rest_of_welcome(c: &mut Irc, nick: &str) {
    let line = c.expect_numeric("002");
    assert_eq!(
        line,
        format!(
            ":{SERVER} 002 {nick} :Your host is {SERVER}, running version chatroom-{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    c.expect_numeric("003");
    assert_eq!(
        c.line(),
        format!(
            ":{SERVER} 004 {nick} {SERVER} chatroom-{} iow iklnost klo",
            env!("CARGO_PKG_VERSION")
        )
    );
    let mut isupport = String::new();
    loop {
        let l = c.line();
        if !l.starts_with(&format!(":{SERVER} 005 ")) {
            assert!(
                l.starts_with(&format!(":{SERVER} 251 {nick} :There are ")),
                "{l}"
            );
            break;
        }
        assert!(l.ends_with(" :are supported by this server"), "{l}");
        isupport.push_str(&l);
    }
    for token in [
        "CASEMAPPING=ascii",
        "CHANTYPES=#",
        "CHANNELLEN=33",
        "NICKLEN=24",
        "PREFIX=(o)@",
        "CHANMODES=b,k,l,inst",
        "KEYLEN=64",
        "NETWORK=chatroom",
        "MAXTARGETS=4",
        "TOPICLEN=300",
        "UTF8ONLY",
        "UTF8MAPPING=rfc8265",
    ] {
        assert!(
            isupport.contains(&format!(" {token} ")),
            "{token} missing: {isupport}"
        );
    }
    let lines = c.until_numeric("422");
    assert_eq!(
        lines.last().unwrap(),
        &format!(":{SERVER} 422 {nick} :MOTD File is missing")
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&format!(":{SERVER} 254 {nick} "))));
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&format!(":{SERVER} 255 {nick} :I have "))));
}

#[test]
fn registration_without_cap() {
    let s = server();
    let mut c = Irc::connect(s.irc_addr());
    c.name = "alice".into();
    c.send("NICK alice");
    c.send("USER al 0 * :Alice Liddell");
    c.expect(&format!(
        ":{SERVER} 001 alice :Welcome to the chatroom IRC Network alice!~al@irc"
    ));
    rest_of_welcome(&mut c, "alice");
    c.sync();
    c.send("QUIT :bye now");
    c.expect("ERROR :Closing Link: irc (Quit: bye now)");
    c.expect_closed();
}

#[test]
fn registration_with_cap_waits_for_cap_end() {
    let s = server();
    let mut c = Irc::connect(s.irc_addr());
    c.send("CAP LS 302");
    c.expect(&format!(":{SERVER} CAP * LS :account-notify account-tag away-notify batch cap-notify draft/chathistory echo-message extended-join labeled-response message-tags multi-prefix sasl server-time userhost-in-names"));
    c.send("NICK bob");
    c.send("USER bob 0 * :Bob");
    c.send("CAP REQ :multi-prefix no-such-cap");
    c.expect(&format!(":{SERVER} CAP bob NAK :multi-prefix no-such-cap"));
    c.send("CAP REQ :multi-prefix");
    c.expect(&format!(":{SERVER} CAP bob ACK :multi-prefix"));
    c.send("CAP LIST");
    c.expect(&format!(":{SERVER} CAP bob LIST :cap-notify multi-prefix"));
    // Nothing of the welcome before CAP END.
    c.send("PING early");
    c.expect(&format!(":{SERVER} PONG {SERVER} :early"));
    c.send("CAP END");
    c.expect(&format!(
        ":{SERVER} 001 bob :Welcome to the chatroom IRC Network bob!~bob@irc"
    ));
    rest_of_welcome(&mut c, "bob");
    c.send("CAP FOO");
    c.expect(&format!(":{SERVER} 410 bob FOO :Invalid CAP command"));
}

#[test]
fn the_server_password() {
    let s = start("[irc]\npassword = \"sesame\"\n[history]\nenabled = false");
    // Right.
    let mut c = Irc::connect(s.irc_addr());
    c.send("PASS sesame");
    c.send("NICK ann");
    c.send("USER ann 0 * :Ann");
    c.expect_numeric("001");
    c.until_numeric("422");
    c.send("PASS again");
    c.expect(&format!(":{SERVER} 462 ann :You may not reregister"));
    // Wrong: refused at PASS.
    let mut c = Irc::connect(s.irc_addr());
    c.send("PASS open");
    c.expect(&format!(":{SERVER} 464 * :Password incorrect"));
    c.expect("ERROR :Closing Link: irc (Bad password)");
    c.expect_closed();
    // Missing: refused when registration would end.
    let mut c = Irc::connect(s.irc_addr());
    c.send("NICK ben");
    c.send("USER ben 0 * :Ben");
    c.expect(&format!(":{SERVER} 464 ben :Password incorrect"));
    c.expect("ERROR :Closing Link: irc (Bad password)");
    c.expect_closed();
}

#[test]
fn commands_before_registration() {
    let s = server();
    let mut c = Irc::connect(s.irc_addr());
    c.send("JOIN #a");
    c.expect(&format!(":{SERVER} 451 * :You have not registered"));
    // Whatever its parameters (irssi sends `JOIN :` as it connects).
    c.send("JOIN :");
    c.expect(&format!(":{SERVER} 451 * :You have not registered"));
    c.send("PRIVMSG bob :hi");
    c.expect(&format!(":{SERVER} 451 * :You have not registered"));
    c.send("FROB");
    c.expect(&format!(":{SERVER} 421 * FROB :Unknown command"));
    c.send("NICK");
    c.expect(&format!(":{SERVER} 431 * :No nickname given"));
    c.send("NICK 9lives");
    c.expect(&format!(":{SERVER} 432 * 9lives :Erroneous nickname"));
    c.send("USER a 0 *");
    c.expect(&format!(":{SERVER} 461 * USER :Not enough parameters"));
    c.send("PING");
    c.expect(&format!(":{SERVER} 461 * PING :Not enough parameters"));
    c.send("NICK carl");
    c.send("USER carl 0 * :Carl");
    c.expect_numeric("001");
    c.until_numeric("422");
    c.send("USER carl 0 * :Carl");
    c.expect(&format!(":{SERVER} 462 carl :You may not reregister"));
}

#[test]
fn nicknames_are_unique_case_insensitively_and_change_live() {
    let s = server();
    let mut a = Irc::register(s.irc_addr(), "Alice");
    let mut c = Irc::connect(s.irc_addr());
    c.send("NICK alice");
    c.expect(&format!(
        ":{SERVER} 433 * alice :Nickname is already in use"
    ));
    c.send("NICK alice2");
    c.send("USER x 0 * :X");
    c.expect_numeric("001");
    c.until_numeric("422");
    c.name = "alice2".into();
    // A change of case is a change.
    a.send("NICK ALICE");
    a.expect(":Alice!~Alice@irc NICK ALICE");
    c.send("NICK Alice");
    c.expect(&format!(
        ":{SERVER} 433 alice2 Alice :Nickname is already in use"
    ));
    a.send("QUIT");
    a.expect("ERROR :Closing Link: irc (Quit)");
    a.expect_closed();
    // Freed once its owner leaves (the directory hears of it in order).
    loop {
        c.send("NICK alice");
        let l = c.line();
        if l == ":alice2!~x@irc NICK alice" {
            break;
        }
        assert_eq!(
            l,
            format!(":{SERVER} 433 alice2 alice :Nickname is already in use")
        );
    }
}

#[test]
fn lusers_and_motd_on_demand() {
    let s = start("[irc]\nmotd = \"Hello\\nand welcome\"\n[history]\nenabled = false");
    let mut c = Irc::connect(s.irc_addr());
    c.name = "dee".into();
    c.send("NICK dee");
    c.send("USER dee 0 * :Dee");
    let lines = c.until_numeric("376");
    let tail: Vec<&str> = lines[lines.len() - 4..]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            ":chatroom 375 dee :- chatroom Message of the day - ",
            ":chatroom 372 dee :- Hello",
            ":chatroom 372 dee :- and welcome",
            ":chatroom 376 dee :End of /MOTD command.",
        ]
    );
    c.send("LUSERS");
    c.expect(":chatroom 251 dee :There are 1 users and 0 invisible on 1 servers");
    c.expect(":chatroom 254 dee 0 :channels formed");
    c.expect(":chatroom 255 dee :I have 1 clients and 0 servers");
    c.expect(":chatroom 265 dee :Current local users: 1");
    c.expect(":chatroom 266 dee :Current global users: 1");
    c.send("MOTD");
    c.until_numeric("376");
    c.sync();
}

#[test]
fn version_time_info_admin() {
    let s = server();
    let mut c = Irc::register(s.irc_addr(), "vic");
    let v = env!("CARGO_PKG_VERSION");
    c.send("VERSION");
    c.expect(&format!(
        ":{SERVER} 351 vic chatroom-{v} {SERVER} :IRC front end of chatroom"
    ));
    c.expect_numeric("005");
    c.expect_numeric("005");
    c.send("TIME");
    let t = c.expect_numeric("391");
    assert!(
        t.starts_with(&format!(":{SERVER} 391 vic {SERVER} :20")),
        "{t}"
    );
    c.send("INFO");
    c.expect(&format!(
        ":{SERVER} 371 vic :chatroom {v}: rooms for IRC and plain-text clients alike"
    ));
    c.expect(&format!(":{SERVER} 374 vic :End of INFO list"));
    c.send("ADMIN");
    c.expect(&format!(
        ":{SERVER} 423 vic {SERVER} :No administrative info available"
    ));
}
