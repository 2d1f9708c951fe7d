//! Accounts in cluster mode (docs/CLUSTER.md, "Accounts across nodes"):
//! one set for every node, in a real `redis-server`. An account made on
//! one node logs in on another, over the native protocol and IRC's SASL;
//! its name is reserved on every node; two nodes cannot make the same
//! one; Redis away is a clear refusal. Skipped, and passing, when
//! redis-server is not installed (scripts/test-deps.sh installs it),
//! unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

use common::cluster::{can_run, node};
use common::irc::{Irc, SERVER};
use common::programs::poll;
use common::redis::Redis;
use common::Client;

/// What a client on an account's nickname, not logged in to it, is told.
const RESERVED: &str =
    "SERVER alice is a registered account: LOGIN to it or change your nickname within";

#[test]
fn an_account_made_on_one_node_logs_in_and_is_reserved_on_every_other() {
    if !can_run("an_account_made_on_one_node_logs_in_and_is_reserved_on_every_other") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut alice = Client::register(a.addr(), "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    assert_eq!(
        redis.command(&["HGET", "chatroom:account:alice", "name"]),
        "alice"
    );
    assert_eq!(redis.command(&["SMEMBERS", "chatroom:accounts"]), "alice");

    // Logged in on b, from a connection of another name; the password
    // changed there works on c and the old one no longer does.
    let mut on_b = Client::register(b.addr(), "al");
    on_b.send("LOGIN ALICE password-one");
    on_b.expect("OK LOGIN alice");
    on_b.send("PASSWD password-one password-two");
    on_b.expect("OK PASSWD");
    let mut on_c = Client::register(c.addr(), "ally");
    on_c.send("LOGIN alice password-one");
    on_c.expect("ERR LOGIN BAD_LOGIN unknown account or wrong password");
    on_c.send("LOGIN alice password-two");
    on_c.expect("OK LOGIN alice");

    // The name is an account's on every node: on c, someone taking it
    // once alice has gone is told to log in, as on a single server.
    drop(alice);
    let mut taker = poll(
        "alice free on c after she left a",
        || {
            let mut c2 = Client::connect(c.addr());
            c2.send("NICK alice");
            (c2.line() == "OK NICK alice").then_some(c2)
        },
        || "still held".to_string(),
    );
    taker.name = "alice".into();
    let told = taker.line();
    assert!(told.starts_with(RESERVED), "{told}");

    // Made on b, as another account of the same folded name: refused.
    let mut other = Client::register(b.addr(), "ALICE2");
    other.send("LOGOUT");
    other.expect("ERR LOGOUT NOT_LOGGED_IN you are not logged in");
    other.send("REGISTER Alice password-three");
    other.expect("ERR REGISTER ACCOUNT_EXISTS the account Alice exists");

    // IRC's SASL on c, into the account made on a ("\0alice\0password-two").
    let mut irc = Irc::connect(c.irc_addr());
    irc.name = "al2".into();
    irc.send("CAP REQ :sasl");
    irc.expect(&format!(":{SERVER} CAP * ACK :sasl"));
    irc.send("NICK al2");
    irc.send("USER al2 0 * :Real al2");
    irc.send("AUTHENTICATE PLAIN");
    irc.expect("AUTHENTICATE +");
    irc.send("AUTHENTICATE AGFsaWNlAHBhc3N3b3JkLXR3bw==");
    irc.expect(&format!(
        ":{SERVER} 900 al2 al2!~al2@irc alice :You are now logged in as alice"
    ));
    irc.expect(&format!(
        ":{SERVER} 903 al2 :SASL authentication successful"
    ));
}

#[test]
fn two_nodes_making_the_same_account_at_once_make_it_once() {
    if !can_run("two_nodes_making_the_same_account_at_once_make_it_once") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    for round in 0..5 {
        // Each on a nickname of its own, making an account of another name
        // (REGISTER <name> <password>): the same one on both nodes.
        let name = format!("acct{round}");
        let mut one = Client::register(a.addr(), &format!("one{round}"));
        let mut two = Client::register(b.addr(), &format!("two{round}"));
        one.send(&format!("REGISTER {name} password-{round}-one"));
        two.send(&format!("REGISTER {name} password-{round}-two"));
        let mut answers = [one.line(), two.line()];
        answers.sort();
        assert_eq!(
            answers,
            [
                format!("ERR REGISTER ACCOUNT_EXISTS the account {name} exists"),
                format!("OK REGISTER {name}"),
            ],
            "round {round}"
        );
    }
}

#[test]
fn without_redis_accounts_are_refused_clearly() {
    if !can_run("without_redis_accounts_are_refused_clearly") {
        return;
    }
    let mut redis = Redis::start();
    let a = node(&redis, "a");
    let mut alice = Client::register(a.addr(), "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    alice.send("LOGOUT");
    alice.expect("OK LOGOUT");
    alice.line(); // told the name is an account's
    redis.stop();
    alice.send("LOGIN alice password-one");
    alice.expect("ERR LOGIN CLUSTER_UNAVAILABLE the cluster cannot be reached: try again later");
    redis.restart();
    poll(
        "LOGIN works once Redis is back",
        || {
            alice.send("LOGIN alice password-one");
            (alice.line() == "OK LOGIN alice").then_some(())
        },
        || "still refused".to_string(),
    );
}
