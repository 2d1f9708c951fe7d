//! The example bots, run as real processes against an in-process server.

mod common;

use std::process::{Command, Stdio};

use chatroom::config::Config;
use common::*;

/// Sends `MSG <text>` and returns the bot's answer. With history kept, the
/// room delivers a message at once and `OK MSG` follows when it is stored,
/// so a quick answer may arrive before that OK.
fn ask(client: &mut Client, text: &str) -> String {
    client.send(&format!("MSG {text}"));
    let (a, b) = (client.line(), client.line());
    match (a.as_str(), b.as_str()) {
        ("OK MSG #lobby", answer) | (answer, "OK MSG #lobby") => answer.to_string(),
        _ => panic!("unexpected lines {a:?} {b:?}"),
    }
}

fn start_at(addr: std::net::SocketAddr) -> TestServer {
    let mut config = Config::from_toml("").unwrap();
    config.server.listen = addr.to_string();
    start_config(config, None)
}

#[test]
fn echo_bot_answers_and_reconnects_after_a_restart() {
    let server = start_default();
    let addr = server.addr();
    let mut carol = Client::join(addr, "carol", "#lobby");
    let _bot = Running(
        Command::new(example("echo_bot"))
            .arg(addr.to_string())
            .arg("lobby")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("echo_bot runs"),
    );
    carol.expect("JOIN #lobby echo_bot");

    assert_eq!(ask(&mut carol, "!ping"), "MSG #lobby echo_bot carol: pong");
    assert_eq!(
        ask(&mut carol, "#lobby !who"),
        "MSG #lobby echo_bot carol: 2 here: carol, echo_bot"
    );
    let time = ask(&mut carol, "!time");
    assert!(
        time.starts_with("MSG #lobby echo_bot carol: it is 20"),
        "{time}"
    );
    carol.send("PRIVMSG echo_bot hi");
    carol.expect("OK PRIVMSG echo_bot");
    let answer = carol.line();
    assert!(
        answer.starts_with("PRIVMSG echo_bot I only answer"),
        "{answer}"
    );

    server.shutdown();
    carol.expect("SERVER shutting down");
    carol.expect_closed();

    let server = start_at(addr);
    let mut dave = Client::register(addr, "dave");
    dave.send("JOIN #lobby");
    let reply = dave.read_until_prefix("OK JOIN ");
    // The bot comes back by itself (its first retry is after one second),
    // most likely after dave joined.
    if !reply.iter().any(|l| l == "NAMES #lobby dave echo_bot") {
        dave.expect("JOIN #lobby echo_bot");
    }
    assert_eq!(ask(&mut dave, "!ping"), "MSG #lobby echo_bot dave: pong");
    server.shutdown();
}
