//! Cluster mode under network faults (docs/CLUSTER.md, "Network faults"):
//! a real `redis-server` in a network namespace of the test's own, each
//! node reaching it over its own veth pair, and `tc` cutting or slowing
//! one node's link. Skipped, and passing, when not root or when `ip`, `tc`
//! or redis-server is missing, saying why (failing instead when
//! CHATROOM_TEST_REQUIRE_PROGRAMS is set), and when no namespace can be
//! made (a container without CAP_NET_ADMIN), saying why, whatever is set: no script can install those. On a kernel
//! without netem the slow link is a delaying relay on 127.0.0.1
//! (tests/common/slow.rs) between the node and the namespace.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::cluster::{nick_once_free, node_on};
use common::netns::{Fault, Net};
use common::programs::{poll, say_note};
use common::slow::SlowRelay;
use common::Client;

/// A lease long enough that the short cuts below stay within it.
const LEASE_SECS: u64 = 30;

const UNREACHABLE: &str = "SERVER cluster unreachable: messages to rooms are refused (CLUSTER_UNAVAILABLE) until it is back";
const REACHABLE: &str = "SERVER cluster reachable again";

/// Reads exactly `want.len()` lines from `c` and asserts they are `want`,
/// in any order (what comes from two independent paths, e.g. the "back"
/// notice and a message caught up from the stream).
fn expect_any_order(c: &mut Client, want: &[&str]) {
    let mut got: Vec<String> = (0..want.len()).map(|_| c.line()).collect();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "[{}] lines (in any order)", c.name);
}

/// A Redis reply's words, sorted (set and hash-key orders are Redis's).
fn sorted(reply: &str) -> BTreeSet<String> {
    reply.split_whitespace().map(str::to_string).collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn a_node_cut_off_from_redis_tells_its_clients_refuses_messages_and_recovers() {
    let test = "cluster_netfault::a_node_cut_off_from_redis_tells_its_clients_refuses_messages_and_recovers";
    let Some(net) = Net::setup(test, 2) else {
        return;
    };
    let a = node_on(&net.redis_url(0), "a", LEASE_SECS);
    let b = node_on(&net.redis_url(1), "b", LEASE_SECS);
    let mut alice = Client::join(a.addr(), "alice", "#n");
    let mut bob = Client::join(b.addr(), "bob", "#n");
    alice.expect("JOIN #n bob");
    alice.send("MSG #n before");
    alice.expect("OK MSG #n");
    bob.expect("MSG #n alice before");

    net.fault(0, Fault::Cut);
    alice.expect(UNREACHABLE);
    alice.send("MSG #n lost?");
    alice.expect("ERR MSG CLUSTER_UNAVAILABLE the cluster cannot be reached: not sent to #n");
    let mut on_a = Client::connect(a.addr());
    on_a.send("NICK erin");
    on_a.expect("ERR NICK CLUSTER_UNAVAILABLE the cluster cannot be reached: try again later");
    // Node b is not cut: its users hear nothing, and go on.
    bob.send("MSG #n while you were away");
    bob.expect("OK MSG #n");
    bob.sync();

    net.heal(0);
    // The notice comes from the heartbeat, the missed message from the
    // subscription: two paths, either first.
    expect_any_order(&mut alice, &[REACHABLE, "MSG #n bob while you were away"]);
    alice.send("MSG #n back");
    alice.expect("OK MSG #n");
    bob.expect("MSG #n alice back");
    bob.send("MSG #n welcome back");
    bob.expect("OK MSG #n");
    alice.expect("MSG #n bob welcome back");
    let _erin = nick_once_free(a.addr(), "erin", "erin claimed on a once healed");
    // Once per outage; and what a refused never went anywhere.
    alice.sync();
    bob.sync();
    let log = net.command(&["XRANGE", "chatroom:room:#n:log", "-", "+"]);
    assert!(
        !log.contains("lost?"),
        "a refused message was stored: {log}"
    );
    assert_eq!(net.command(&["XLEN", "chatroom:room:#n:log"]), "4");
    // What Redis holds matches what the nodes hold.
    assert_eq!(net.command(&["GET", "chatroom:nick:alice"]), "a");
    assert_eq!(net.command(&["GET", "chatroom:nick:bob"]), "b");
    assert_eq!(net.command(&["GET", "chatroom:nick:erin"]), "a");
    assert_eq!(
        sorted(&net.command(&["SMEMBERS", "chatroom:node:a:nicks"])),
        set(&["alice", "erin"])
    );
    assert_eq!(
        sorted(&net.command(&["HKEYS", "chatroom:room:#n:members"])),
        set(&["alice", "bob"])
    );
    assert_eq!(
        sorted(&net.command(&["SMEMBERS", "chatroom:nodes"])),
        set(&["a", "b"])
    );
}

#[test]
fn a_slow_link_keeps_everything_working_in_order() {
    let test = "cluster_netfault::a_slow_link_keeps_everything_working_in_order";
    let Some(net) = Net::setup(test, 2) else {
        return;
    };
    // A kernel without netem (no program can add it): node a reaches
    // Redis through a relay that holds every chunk for the delay instead.
    let relay = (!net.has_delay()).then(|| {
        say_note(
            test,
            "this kernel has no sch_netem: the delay is a relay's on 127.0.0.1",
        );
        SlowRelay::start(net.redis_addr(0))
    });
    let url_a = match &relay {
        Some(relay) => format!("redis://{}/", relay.addr()),
        None => net.redis_url(0),
    };
    let a = node_on(&url_a, "a", LEASE_SECS);
    let b = node_on(&net.redis_url(1), "b", LEASE_SECS);
    let mut alice = Client::join(a.addr(), "alice", "#d");
    let mut bob = Client::join(b.addr(), "bob", "#d");
    alice.expect("JOIN #d bob");

    match &relay {
        Some(relay) => relay.set_delay(Duration::from_millis(200)),
        None => net.fault(0, Fault::Delay(200)),
    }
    let sent = Instant::now();
    for i in 0..30 {
        alice.send(&format!("MSG #d a{i}"));
        bob.send(&format!("MSG #d b{i}"));
    }
    // Each gets its 30 acks and the other's 30 messages, in the order
    // sent; how the two interleave is the network's.
    for (c, other) in [(&mut alice, "bob b"), (&mut bob, "alice a")] {
        let first = c.line();
        if c.name == "alice" {
            // The delay is in force: everything alice hears crossed node
            // a's slow link at least once (a lower bound, not a timing).
            assert!(sent.elapsed() >= Duration::from_millis(200), "{first}");
        }
        let lines: Vec<String> = std::iter::once(first)
            .chain((1..60).map(|_| c.line()))
            .collect();
        let acks = lines.iter().filter(|l| *l == "OK MSG #d").count();
        assert_eq!(acks, 30, "[{}] {lines:?}", c.name);
        let heard: Vec<&String> = lines.iter().filter(|l| *l != "OK MSG #d").collect();
        let want: Vec<String> = (0..30).map(|i| format!("MSG #d {other}{i}")).collect();
        assert_eq!(heard, want.iter().collect::<Vec<_>>(), "[{}]", c.name);
    }
    let mut carol = Client::register(a.addr(), "carol");
    carol.send("JOIN #d");
    carol.read_until_prefix("OK JOIN ");
    alice.expect("JOIN #d carol");
    bob.expect("JOIN #d carol");
    match &relay {
        Some(relay) => relay.set_delay(Duration::ZERO),
        None => net.heal(0),
    }
    // No notice: a slow Redis is not an absent one.
    alice.sync();
    bob.sync();
    carol.sync();
    assert_eq!(net.command(&["XLEN", "chatroom:room:#d:log"]), "60");
    assert_eq!(
        sorted(&net.command(&["HKEYS", "chatroom:room:#d:members"])),
        set(&["alice", "bob", "carol"])
    );
}

#[test]
fn a_cut_longer_than_the_lease_leaves_one_holder_per_nickname() {
    let test = "cluster_netfault::a_cut_longer_than_the_lease_leaves_one_holder_per_nickname";
    let Some(net) = Net::setup(test, 2) else {
        return;
    };
    let lease = 2;
    let a = node_on(&net.redis_url(0), "a", lease);
    let b = node_on(&net.redis_url(1), "b", lease);
    let mut alice = Client::join(a.addr(), "alice", "#l");
    let mut dave = Client::join(a.addr(), "dave", "#l");
    alice.expect("JOIN #l dave");
    let mut carol = Client::register(a.addr(), "carol");
    let mut bob = Client::join(b.addr(), "bob", "#l");
    alice.expect("JOIN #l bob");
    dave.expect("JOIN #l bob");

    net.fault(0, Fault::Cut);
    for c in [&mut alice, &mut dave, &mut carol] {
        c.expect(UNREACHABLE);
    }
    // Node a's lease lapses: b takes its members out of #l, and its
    // names are free.
    let mut lines = vec![bob.line(), bob.line()];
    lines.sort();
    assert_eq!(lines, ["QUIT alice", "QUIT dave"]);
    assert_eq!(net.command(&["EXISTS", "chatroom:node:a"]), "0");
    let mut alice_b = nick_once_free(b.addr(), "alice", "alice taken on b during the cut");
    alice_b.send("JOIN #l");
    alice_b.read_until_prefix("OK JOIN ");
    bob.expect("JOIN #l alice");

    net.heal(0);
    // Node a's alice lost her name to b's: she is told and let go.
    let mut seen = Vec::new();
    loop {
        let l = alice.line();
        let last = l.starts_with("SERVER nickname alice ");
        seen.push(l);
        if last {
            break;
        }
    }
    assert_eq!(
        seen.last().map(String::as_str),
        Some("SERVER nickname alice was taken on another node while this node was cut off from the cluster: disconnected")
    );
    // Before it, she may hear of the other alice joining #l (node a
    // reads #l's members again once its subscription is back).
    assert!(
        seen[..seen.len() - 1]
            .iter()
            .all(|l| l == REACHABLE || l == "JOIN #l alice"),
        "{seen:?}"
    );
    alice.expect_closed();
    // The others keep theirs, claimed again; dave is back in #l, and
    // hears of what he missed: b's alice came, a's alice left.
    carol.expect(REACHABLE);
    expect_any_order(
        &mut dave,
        &[REACHABLE, "QUIT alice nickname collision", "JOIN #l alice"],
    );
    bob.expect("JOIN #l dave");
    alice_b.expect("JOIN #l dave");
    poll(
        "node a's names and members back in Redis",
        || {
            let nicks = sorted(&net.command(&["SMEMBERS", "chatroom:node:a:nicks"]));
            let members = sorted(&net.command(&["HKEYS", "chatroom:room:#l:members"]));
            (nicks == set(&["carol", "dave"]) && members == set(&["alice", "bob", "dave"]))
                .then_some(())
        },
        || net.command(&["HGETALL", "chatroom:room:#l:members"]),
    );
    // b's alice kept her place in #l's member hash: a's alice's QUIT
    // did not take it out.
    let alice_kept = net.command(&["HGET", "chatroom:room:#l:members", "alice"]);
    assert!(alice_kept.contains(":b"), "{alice_kept}");
    for c in [&mut dave, &mut bob] {
        c.send("NAMES #l");
        c.expect_lines(&["NAMES #l alice bob dave", "OK NAMES #l 3"]);
    }
    assert_eq!(net.command(&["GET", "chatroom:nick:alice"]), "b");
    assert_eq!(net.command(&["GET", "chatroom:nick:carol"]), "a");
    assert_eq!(net.command(&["GET", "chatroom:nick:dave"]), "a");
    assert_eq!(
        sorted(&net.command(&["SMEMBERS", "chatroom:nodes"])),
        set(&["a", "b"])
    );
    // And messages cross again, both ways.
    dave.send("MSG #l back");
    dave.expect("OK MSG #l");
    bob.expect("MSG #l dave back");
    alice_b.expect("MSG #l dave back");
    bob.send("MSG #l hi dave");
    bob.expect("OK MSG #l");
    dave.expect("MSG #l bob hi dave");
    alice_b.expect("MSG #l bob hi dave");
    alice_b.sync();
    carol.sync();
    dave.sync();
    bob.sync();
}
