//! Cluster mode when a node dies (docs/CLUSTER.md): its clients come back
//! by themselves through the front (tests/common/front.rs, a miniature of
//! contrib/cluster's HAProxy) to another node, under the same nickname once
//! the dead node's lease lapses, in the same rooms. The example bot over
//! TCP, and the web page in a real Chromium over its WebSocket. And what
//! was acknowledged outlives the node that acknowledged it, and Redis
//! killed in turn.
//!
//! Needs `redis-server` (and, for the page, `chromium` and
//! `chromedriver`); scripts/test-deps.sh installs them. Without them each
//! test says it was skipped and passes, unless
//! CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/page.rs"]
mod page;

use std::process::{Command, Stdio};

use common::cluster::{can_run, nick_once_free, node, ChildNode};
use common::front::Front;
use common::programs::require;
use common::redis::Redis;
use common::{example, Client, Running};
use driver::Driver;
use page::{join, log_in, say, wait_line, wait_notice};

/// Sends `MSG #lobby text`; returns the bot's answer (its `OK MSG` comes
/// once Redis has the message, before or after the answer).
fn ask(client: &mut Client, text: &str) -> String {
    client.send(&format!("MSG #lobby {text}"));
    let (a, b) = (client.line(), client.line());
    match (a.as_str(), b.as_str()) {
        ("OK MSG #lobby", answer) | (answer, "OK MSG #lobby") => answer.to_string(),
        _ => panic!("unexpected lines {a:?} {b:?}"),
    }
}

/// Reads until both the dead node's member `gone` has quit (its QUIT is
/// published once its lease lapsed) and a member whose nick starts with
/// `prefix` joined, in either order; the nick that joined.
fn replaced(client: &mut Client, gone: &str, prefix: &str) -> String {
    let quit = format!("QUIT {gone}");
    let join = format!("JOIN #lobby {prefix}");
    let (mut quitted, mut joined) = (false, None);
    while !quitted || joined.is_none() {
        let line = client.line();
        if line == quit || line.starts_with(&format!("{quit} ")) {
            quitted = true;
        } else if line.starts_with(&join) {
            joined = Some(line["JOIN #lobby ".len()..].to_string());
        }
    }
    joined.unwrap_or_default()
}

#[test]
fn the_echo_bot_moves_to_another_node_when_its_node_is_killed() {
    if !can_run("the_echo_bot_moves_to_another_node_when_its_node_is_killed") {
        return;
    }
    let redis = Redis::start();
    let mut doomed = ChildNode::start(&redis, "doomed");
    let b = node(&redis, "b");
    let front = Front::start(vec![doomed.addr, b.addr()]);
    let mut carol = Client::join(b.addr(), "carol", "#lobby");
    let _bot = Running(
        Command::new(example("echo_bot"))
            .args([front.addr().to_string(), "lobby".to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("echo_bot runs"),
    );
    carol.expect("JOIN #lobby echo_bot");
    assert_eq!(redis.command(&["GET", "chatroom:nick:echo_bot"]), "doomed");
    assert_eq!(ask(&mut carol, "!ping"), "MSG #lobby echo_bot carol: pong");

    doomed.kill();
    // The bot reconnects (after a second) through the front, which now
    // reaches b only, and asks for its name until the dead node's lease
    // lapses.
    let bot = replaced(&mut carol, "echo_bot", "echo_bot");
    assert_eq!(bot, "echo_bot");
    assert_eq!(
        redis.command(&["GET", &format!("chatroom:nick:{bot}")]),
        "b"
    );
    assert_eq!(
        ask(&mut carol, "!ping"),
        format!("MSG #lobby {bot} carol: pong")
    );
    carol.send("NAMES #lobby");
    carol.expect_lines(&["NAMES #lobby carol echo_bot", "OK NAMES #lobby 2"]);
}

#[test]
fn the_page_moves_to_another_node_and_keeps_its_name_when_its_node_is_killed() {
    let test = "the_page_moves_to_another_node_and_keeps_its_name_when_its_node_is_killed";
    if !can_run(test)
        || !require(
            &format!("cluster_failover::{test}"),
            &["chromium", "chromedriver"],
        )
    {
        return;
    }
    let redis = Redis::start();
    let mut doomed = ChildNode::start(&redis, "doomed");
    let b = node(&redis, "b");
    let front = Front::start(vec![doomed.http, b.http_addr()]);
    let url = format!("http://{}/", front.addr());
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let driver = Driver::start(dir.path());
        let alice = driver.browser("alice", 1280, 800).await;
        log_in(&alice, &url, "alice").await;
        join(&alice, "#lobby", None).await;
        assert_eq!(redis.command(&["GET", "chatroom:nick:alice"]), "doomed");

        let mut dave = Client::join(b.addr(), "dave", "#lobby");
        dave.send("MSG #lobby hello from b");
        dave.expect("OK MSG #lobby");
        wait_line(&alice, "#lobby", "dave", "hello from b").await;
        say(&alice, "hello from the doomed node").await;
        dave.expect("MSG #lobby alice hello from the doomed node");

        doomed.kill();
        wait_notice(&alice, "#lobby", "Disconnected from the server").await;
        // Through the front to b; the page asks for "alice" again until the
        // dead node's lease lapses, and joins its room again.
        wait_notice(&alice, "#lobby", "Joined #lobby again").await;
        assert_eq!(replaced(&mut dave, "alice", "alice"), "alice");
        assert_eq!(redis.command(&["GET", "chatroom:nick:alice"]), "b");
        dave.send("NAMES #lobby");
        dave.expect_lines(&["NAMES #lobby alice dave", "OK NAMES #lobby 2"]);

        say(&alice, "back, on b").await;
        dave.expect("MSG #lobby alice back, on b");
        dave.send("MSG #lobby welcome back");
        dave.expect("OK MSG #lobby");
        wait_line(&alice, "#lobby", "dave", "welcome back").await;
        alice.close().await;
        drop(driver);
    });
}

/// The texts alice said in `HISTORY #h 500` on `c`, in order (`HISTORY
/// #h <time> <from> <text>`; the final `OK HISTORY` checked: alice's are
/// all there is).
fn history_texts(c: &mut Client) -> Vec<String> {
    c.send("HISTORY #h 500");
    let lines = c.read_until_prefix("OK HISTORY #h ");
    let texts: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("HISTORY #h "))
        .filter_map(|rest| {
            let mut fields = rest.splitn(3, ' ');
            let (_time, from, text) = (fields.next(), fields.next()?, fields.next()?);
            (from == "alice").then(|| text.to_string())
        })
        .collect();
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("OK HISTORY #h {}", texts.len()).as_str())
    );
    texts
}

#[test]
fn no_acknowledged_message_is_lost_when_its_node_then_redis_is_killed() {
    if !can_run("no_acknowledged_message_is_lost_when_its_node_then_redis_is_killed") {
        return;
    }
    let mut redis = Redis::start();
    let mut doomed = ChildNode::start(&redis, "doomed");
    let b = node(&redis, "b");
    let mut alice = Client::join(doomed.addr, "alice", "#h");
    let mut bob = Client::join(b.addr(), "bob", "#h");
    alice.expect("JOIN #h bob");

    // 400 messages at once; the node is killed once 100 are acknowledged,
    // with more on their way to Redis and more still unread.
    for i in 0..400 {
        alice.send(&format!("MSG #h m{i}"));
    }
    let mut acked = 0;
    while acked < 100 {
        if alice.line() == "OK MSG #h" {
            acked += 1;
        }
    }
    doomed.kill();
    // Every acknowledged message is in the room's history, read on
    // another node: the first `acked` at least, then perhaps more (sent,
    // their acknowledgement lost with the node), in order, no gap.
    let kept = history_texts(&mut bob);
    assert!(
        kept.len() >= acked,
        "{} kept, {acked} acknowledged",
        kept.len()
    );
    let want: Vec<String> = (0..kept.len()).map(|i| format!("m{i}")).collect();
    assert_eq!(kept, want);

    // Redis killed (SIGKILL) and started again: the same history.
    redis.restart();
    // Once node b is connected again (a NICK goes through).
    let _carol = nick_once_free(b.addr(), "carol", "b reaches Redis again");
    assert_eq!(history_texts(&mut bob), want);
}
