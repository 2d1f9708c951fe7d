mod common;
use common::*;

#[test]
fn protocol_example_conversation() {
    let server = start_default();
    let addr = server.addr();
    let mut bob = Client::join(addr, "bob", "123");
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN 123");
    alice.expect_lines(&["JOIN #123 alice", "NAMES #123 alice bob", "OK JOIN #123"]);
    bob.expect("JOIN #123 alice");
    alice.send("MSG hey bob");
    alice.expect("OK MSG #123");
    bob.expect("MSG #123 alice hey bob");
    bob.send("MSG #123 hi alice");
    bob.expect("OK MSG #123");
    alice.expect("MSG #123 bob hi alice");
    alice.send("PRIVMSG bob see you at 6");
    alice.expect("OK PRIVMSG bob");
    bob.expect("PRIVMSG alice see you at 6");
    alice.send("FLY away");
    alice.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    alice.send("QUIT bye");
    alice.expect("OK QUIT");
    alice.expect_closed();
    bob.expect("QUIT alice bye");
    server.shutdown();
    bob.expect("SERVER shutting down");
    bob.expect_closed();
}
