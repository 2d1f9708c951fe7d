//! Cluster mode (docs/CLUSTER.md): several nodes on one real
//! `redis-server`, native and IRC clients on each. Skipped, and passing,
//! when redis-server is not installed (scripts/test-deps.sh installs it),
//! unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{can_run, in_use, members_are, nick_once_free, node, try_nick, LEASE_SECS};
use common::irc::{Irc, SERVER};
use common::process::{chatroom_command, kill_if_running, spawn_listening};
use common::programs::poll;
use common::redis::Redis;
use common::{start, Client};

#[test]
fn a_nickname_is_held_once_across_three_nodes() {
    if !can_run("a_nickname_is_held_once_across_three_nodes") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut alice = Client::register(a.addr(), "alice");
    assert_eq!(redis.command(&["GET", "chatroom:nick:alice"]), "a");

    let mut on_b = Client::connect(b.addr());
    assert_eq!(try_nick(&mut on_b, "alice"), in_use("alice"));
    // Folded: the same name to every node.
    assert_eq!(try_nick(&mut on_b, "ALICE"), in_use("ALICE"));
    let mut irc = Irc::connect(c.irc_addr());
    irc.send("NICK alice");
    irc.expect(&format!(
        ":{SERVER} 433 * alice :Nickname is already in use"
    ));
    // Refused elsewhere, still alice's here.
    alice.sync();
    let mut on_a = Client::connect(a.addr());
    assert_eq!(try_nick(&mut on_a, "alice"), in_use("alice"));

    alice.send("QUIT");
    alice.expect_closed();
    let mut now_b = nick_once_free(b.addr(), "alice", "alice free on b after her QUIT on a");
    now_b.sync();
    assert_eq!(redis.command(&["GET", "chatroom:nick:alice"]), "b");
    assert_eq!(try_nick(&mut on_a, "alice"), in_use("alice"));

    // A change of nickname lets the old one go too.
    now_b.send("NICK alicia");
    now_b.expect_lines(&["NICK alice alicia", "OK NICK alicia"]);
    let _alice = nick_once_free(c.addr(), "alice", "alice free on c after the rename on b");
    assert_eq!(redis.command(&["GET", "chatroom:nick:alicia"]), "b");
    assert_eq!(
        redis.command(&["SMEMBERS", "chatroom:node:b:nicks"]),
        "alicia"
    );
}

#[test]
fn two_clients_racing_for_a_nickname_on_two_nodes_one_wins() {
    if !can_run("two_clients_racing_for_a_nickname_on_two_nodes_one_wins") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    for round in 0..20 {
        let mut on_a = Client::connect(a.addr());
        let mut on_b = Client::connect(b.addr());
        // Both lines leave before either answer is read.
        on_a.send("NICK bob");
        on_b.send("NICK bob");
        let answers = [on_a.line(), on_b.line()];
        let won = answers.iter().filter(|l| *l == "OK NICK bob").count();
        let lost = answers.iter().filter(|l| **l == in_use("bob")).count();
        assert_eq!((won, lost), (1, 1), "round {round}: {answers:?}");
        let winner = if answers[0] == "OK NICK bob" {
            "a"
        } else {
            "b"
        };
        assert_eq!(redis.command(&["GET", "chatroom:nick:bob"]), winner);
        drop((on_a, on_b));
        bob_released(&redis, round);
    }
    // Two connections of one node: the node decides between them, and
    // asks Redis once.
    for round in 0..5 {
        let mut one = Client::connect(a.addr());
        let mut two = Client::connect(a.addr());
        one.send("NICK bob");
        two.send("NICK bob");
        let mut answers = [one.line(), two.line()];
        answers.sort();
        assert_eq!(
            answers,
            ["ERR NICK NICK_IN_USE bob is already taken", "OK NICK bob"]
        );
        drop((one, two));
        bob_released(&redis, round);
    }
}

/// Waits until no node holds `bob` in Redis.
fn bob_released(redis: &Redis, round: usize) {
    poll(
        "bob released after the round",
        || (redis.command(&["GET", "chatroom:nick:bob"]) == "nil").then_some(()),
        || format!("round {round}"),
    );
}

#[test]
fn a_killed_node_lets_go_of_its_nicknames_within_its_lease() {
    if !can_run("a_killed_node_lets_go_of_its_nicknames_within_its_lease") {
        return;
    }
    let redis = Redis::start();
    let a = node(&redis, "a");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = redis.url();
    let lease = LEASE_SECS.to_string();
    let cmd = chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_CLUSTER__REDIS_URL", url.as_str()),
            ("CHATROOM_CLUSTER__NODE_ID", "doomed"),
            ("CHATROOM_CLUSTER__LEASE_SECS", lease.as_str()),
            ("CHATROOM_CLUSTER__HEARTBEAT_SECS", "1"),
        ],
    );
    let (mut child, addr, _log) = spawn_listening(cmd);
    let mut ann = Client::join(a.addr(), "ann", "#k");
    let _doomed_carol = Client::join(addr, "carol", "#k");
    ann.expect("JOIN #k carol");
    let _doomed_dave = Client::register(addr, "dave");
    let mut on_a = Client::connect(a.addr());
    assert_eq!(try_nick(&mut on_a, "carol"), in_use("carol"));

    kill_if_running(&mut child); // SIGKILL: nothing released
    let killed = Instant::now();
    assert_eq!(redis.command(&["GET", "chatroom:nick:carol"]), "doomed");
    let _carol = nick_once_free(
        a.addr(),
        "carol",
        "carol free once the killed node's lease lapsed",
    );
    let _dave = nick_once_free(a.addr(), "dave", "dave free too");
    // Within the lease, give or take a heartbeat and the polls.
    let bound = Duration::from_secs(LEASE_SECS + 3);
    assert!(
        killed.elapsed() < bound,
        "freed after {:?}",
        killed.elapsed()
    );
    assert_eq!(redis.command(&["GET", "chatroom:nick:carol"]), "a");
    // The dead node's own set no longer lists what was taken over.
    assert_eq!(
        redis.command(&["SMEMBERS", "chatroom:node:doomed:nicks"]),
        ""
    );
    // Its members left their rooms, as a QUIT each, once.
    ann.expect("QUIT carol");
    ann.send("NAMES #k");
    ann.expect_lines(&["NAMES #k ann", "OK NAMES #k 1"]);
    assert_eq!(redis.command(&["HKEYS", "chatroom:room:#k:members"]), "ann");
    assert_eq!(redis.command(&["SMEMBERS", "chatroom:nodes"]), "a");
}

#[test]
fn without_redis_a_nick_is_refused_and_works_again_once_it_is_back() {
    if !can_run("without_redis_a_nick_is_refused_and_works_again_once_it_is_back") {
        return;
    }
    let mut redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut alice = Client::join(a.addr(), "alice", "#r");
    let mut bob = Client::join(b.addr(), "bob", "#r");
    alice.expect("JOIN #r bob");

    redis.stop();
    alice.send("MSG #r hello?");
    alice.expect("ERR MSG CLUSTER_UNAVAILABLE the cluster cannot be reached: not sent to #r");
    let mut on_a = Client::connect(a.addr());
    assert_eq!(
        try_nick(&mut on_a, "erin"),
        "ERR NICK CLUSTER_UNAVAILABLE the cluster cannot be reached: try again later"
    );
    let mut irc = Irc::connect(b.irc_addr());
    irc.send("NICK erin");
    irc.expect(&format!(
        ":{SERVER} FAIL NICK CLUSTER_UNAVAILABLE :The cluster cannot be reached: try again later"
    ));
    // What needs no other node goes on: alice keeps her name.
    alice.sync();

    redis.restart();
    let _erin = nick_once_free(a.addr(), "erin", "erin claimed once Redis is back");
    // Redis kept alice's claim on disk: b still refuses her name.
    let mut on_b = Client::connect(b.addr());
    assert_eq!(try_nick(&mut on_b, "alice"), in_use("alice"));
    assert_eq!(redis.command(&["GET", "chatroom:nick:erin"]), "a");
    // Messages too: the node's connection is made again on the next one.
    alice.send("MSG #r back");
    alice.expect("OK MSG #r");
    assert_eq!(redis.command(&["XLEN", "chatroom:room:#r:log"]), "1");
    // Node b hears it, whether its subscription was back before it was
    // published or reads it from the stream once back; once.
    bob.expect("MSG #r alice back");
    alice.send("MSG #r and again");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice and again");
    bob.sync();
    // Subscriptions cut (not Redis): messages said while they are made
    // again still reach b, in order, once each.
    // At least two per node: the rooms' subscription and the node's
    // inbox (the accounts' one too, once it has subscribed again since
    // the restart).
    let cut: usize = redis
        .command(&["CLIENT", "KILL", "TYPE", "pubsub"])
        .parse()
        .expect("a count");
    assert!((4..=6).contains(&cut), "{cut} subscriptions cut");
    for i in 0..20 {
        alice.send(&format!("MSG #r cut {i}"));
    }
    for i in 0..20 {
        alice.expect("OK MSG #r");
        bob.expect(&format!("MSG #r alice cut {i}"));
    }
    bob.sync();
}

/// Asserts two clients saw the same messages in the same order, showing
/// where they part (not all of both).
fn same_order(want: &[(String, String)], got: &[(String, String)], who: &str) {
    if let Some(at) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) {
        panic!(
            "{who}: differ at {at} of {}/{}: {:?} vs {:?}",
            want.len(),
            got.len(),
            want.get(at),
            got.get(at)
        );
    }
}

/// What a client saw of the room's messages, in order: `(sender, text)`.
fn room_messages(lines: &[String], room: &str) -> Vec<(String, String)> {
    let prefix = format!("MSG {room} ");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(from, text)| (from.to_string(), text.to_string()))
        .collect()
}

#[test]
fn every_member_on_every_node_sees_a_rooms_messages_in_one_order() {
    if !can_run("every_member_on_every_node_sees_a_rooms_messages_in_one_order") {
        return;
    }
    const EACH: usize = 300;
    let redis = Redis::start();
    let nodes = [node(&redis, "a"), node(&redis, "b"), node(&redis, "c")];
    let names = ["ann", "ben", "cat"];
    // One listener per node, who says nothing, and one speaker.
    let mut listeners: Vec<Client> = nodes
        .iter()
        .zip(["lia", "lib", "lic"])
        .map(|(n, nick)| Client::join(n.addr(), nick, "#123"))
        .collect();
    let speakers: Vec<Client> = nodes
        .iter()
        .zip(names)
        .map(|(n, nick)| Client::join(n.addr(), nick, "#123"))
        .collect();
    let threads: Vec<_> = speakers
        .into_iter()
        .map(|mut c| {
            std::thread::spawn(move || {
                for i in 0..EACH {
                    c.send(&format!("MSG #123 {} {i}", c.name));
                }
                // Its own answers and the others' messages, interleaved.
                // (And the JOINs of members on other nodes, before.)
                let (mut oks, mut lines) = (0, Vec::new());
                while oks < EACH || lines.len() < 2 * EACH {
                    let line = c.line();
                    if line == "OK MSG #123" {
                        oks += 1;
                    } else if line.starts_with("MSG ") {
                        lines.push(line);
                    } else {
                        assert!(line.starts_with("JOIN #123 "), "[{}] {line}", c.name);
                    }
                }
                // Kept connected until the listeners have read: its
                // QUIT is not yet ordered with the room's messages.
                (c, room_messages(&lines, "#123"))
            })
        })
        .collect();
    let heard: Vec<Vec<(String, String)>> = listeners
        .iter_mut()
        .map(|l| {
            // The members who joined after it, on every node, come first.
            let mut joins = Vec::new();
            let mut lines = Vec::new();
            while lines.len() < 3 * EACH {
                let line = l.line();
                match line.strip_prefix("JOIN #123 ") {
                    Some(nick) => joins.push(nick.to_string()),
                    None => lines.push(line),
                }
            }
            // (Which members are announced and which were listed at its
            // own JOIN depends on when each JOIN reached Redis.)
            let six = ["ann", "ben", "cat", "lia", "lib", "lic"];
            assert!(
                joins.iter().all(|j| six.contains(&j.as_str())),
                "[{}] JOINs {joins:?}",
                l.name
            );
            room_messages(&lines, "#123")
        })
        .collect();
    assert_eq!(heard[0].len(), 3 * EACH);
    for (node, listener) in nodes.iter().zip(["lia", "lib", "lic"]) {
        let mut probe = Client::register(node.addr(), &format!("probe{listener}"));
        probe.send("NAMES #123");
        probe.expect_lines(&["NAMES #123 ann ben cat lia lib lic", "OK NAMES #123 6"]);
    }
    same_order(&heard[0], &heard[1], "nodes a and b");
    same_order(&heard[0], &heard[2], "nodes a and c");
    // Each speaker's own messages in the order it sent them.
    for name in names {
        let own: Vec<String> = heard[0]
            .iter()
            .filter(|(from, _)| from == name)
            .map(|(_, text)| text.clone())
            .collect();
        let sent: Vec<String> = (0..EACH).map(|i| format!("{name} {i}")).collect();
        assert_eq!(own, sent, "{name}'s messages out of order");
    }
    // The speakers saw the others' messages in the same order too.
    let mut speakers = Vec::new();
    for t in threads {
        let (speaker, saw) = t.join().expect("speaker thread");
        let name = speaker.name.clone();
        speakers.push(speaker);
        let expected: Vec<(String, String)> = heard[0]
            .iter()
            .filter(|(from, _)| *from != name)
            .cloned()
            .collect();
        same_order(&expected, &saw, &name);
    }
    assert_eq!(
        redis.command(&["XLEN", "chatroom:room:#123:log"]),
        (3 * EACH).to_string()
    );
    assert_eq!(
        redis.command(&["GET", "chatroom:room:#123:seq"]),
        (3 * EACH).to_string()
    );
}

#[test]
fn a_room_lists_and_hears_its_members_on_every_node() {
    if !can_run("a_room_lists_and_hears_its_members_on_every_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::join(a.addr(), "ann", "#m");
    // A JOIN reaches Redis a moment after its OK JOIN: one made before
    // the next node reads the room's members is listed, not announced.
    members_are(&redis, "#m", "ann");
    let mut ben = Client::join(b.addr(), "ben", "#m");
    ann.expect("JOIN #m ben");
    members_are(&redis, "#m", "ann ben");
    let mut cat = Client::join(c.addr(), "cat", "#m");
    ann.expect("JOIN #m cat");
    ben.expect("JOIN #m cat");
    for client in [&mut ann, &mut ben, &mut cat] {
        client.send("NAMES #m");
        client.expect_lines(&["NAMES #m ann ben cat", "OK NAMES #m 3"]);
    }
    // A change of nickname too.
    ann.send("NICK anna");
    ann.expect_lines(&["NICK ann anna", "OK NICK anna"]);
    for client in [&mut ben, &mut cat] {
        client.expect("NICK ann anna");
        client.send("NAMES #m");
        client.expect_lines(&["NAMES #m anna ben cat", "OK NAMES #m 3"]);
    }
    // Membership changes travel in the room's order, with its messages.
    ben.send("MSG #m bye");
    ben.expect("OK MSG #m");
    ben.send("PART #m");
    ben.read_until_prefix("OK PART");
    for client in [&mut ann, &mut cat] {
        client.expect_lines(&["MSG #m ben bye", "PART #m ben"]);
    }
    cat.send("NAMES #m");
    cat.expect_lines(&["NAMES #m anna cat", "OK NAMES #m 2"]);
    cat.send("QUIT");
    cat.expect_closed();
    let quit = ann.line();
    assert!(quit.starts_with("QUIT cat"), "{quit}");
    ann.send("NAMES #m");
    ann.expect_lines(&["NAMES #m anna", "OK NAMES #m 1"]);
    assert_eq!(
        redis.command(&["HKEYS", "chatroom:room:#m:members"]),
        "anna"
    );
}

/// The `<from> <text>` of each `HISTORY <room> <time> <from> <text>` line
/// among `lines` (the time left out: Redis's clock).
fn history_of(lines: &[String], room: &str) -> Vec<String> {
    let prefix = format!("HISTORY {room} ");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once(' ').map(|(_, said)| said.to_string()))
        .collect()
}

/// `HISTORY room [count]` from `c`: the `<from> <text>` of each line, the
/// final `OK HISTORY` checked.
fn history(c: &mut Client, room: &str, count: Option<u32>) -> Vec<String> {
    match count {
        Some(n) => c.send(&format!("HISTORY {room} {n}")),
        None => c.send(&format!("HISTORY {room}")),
    }
    let lines = c.read_until_prefix(&format!("OK HISTORY {room} "));
    let said = history_of(&lines, room);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("OK HISTORY {room} {}", said.len()).as_str()),
        "{lines:?}"
    );
    said
}

#[test]
fn history_is_the_rooms_stream_the_same_on_every_node_and_outlives_them() {
    if !can_run("history_is_the_rooms_stream_the_same_on_every_node_and_outlives_them") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::join(a.addr(), "ann", "#h");
    let mut cat = Client::join(c.addr(), "cat", "#h");
    let said = ["ann one", "cat two", "ann three", "cat four"];
    for line in said {
        let (who, text) = line.split_once(' ').unwrap_or_default();
        let speaker = if who == "ann" { &mut ann } else { &mut cat };
        speaker.send(&format!("MSG #h {text}"));
        speaker.read_until_prefix("OK MSG #h");
    }
    // Joining on b, where nothing was said: the replay is the stream's.
    let mut bob = Client::register(b.addr(), "bob");
    bob.send("JOIN #h");
    let joined = bob.read_until_prefix("OK JOIN #h");
    assert_eq!(history_of(&joined, "#h"), said, "{joined:?}");
    assert_eq!(history(&mut bob, "#h", None), said);
    assert_eq!(history(&mut bob, "#h", Some(2)), said[2..]);
    // On a node that only heard them, the same.
    assert_eq!(history(&mut ann, "#h", None), said);
    drop((ann, bob, cat));

    // Every node stops; new ones (fresh data directories, the same Redis)
    // still have the room's history.
    drop((a.shutdown(), b.shutdown(), c.shutdown()));
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut dee = Client::register(b.addr(), "dee");
    dee.send("JOIN #h");
    let joined = dee.read_until_prefix("OK JOIN #h");
    assert_eq!(history_of(&joined, "#h"), said, "{joined:?}");
    let mut eve = Client::join(a.addr(), "eve", "#h");
    eve.send("MSG #h five");
    eve.read_until_prefix("OK MSG #h");
    dee.expect_lines(&["JOIN #h eve", "MSG #h eve five"]);
    let mut all = said.to_vec();
    all.push("eve five");
    assert_eq!(history(&mut dee, "#h", None), all);
}

#[test]
fn a_rooms_stream_keeps_about_max_messages_per_room() {
    if !can_run("a_rooms_stream_keeps_about_max_messages_per_room") {
        return;
    }
    let redis = Redis::start();
    let a = start(&format!(
        "[cluster]\nredis_url = \"{}\"\nnode_id = \"a\"\n\
         [history]\nmax_messages_per_room = 10\n\
         [limits]\nflood_burst = 100000\nflood_rate_per_sec = 100000.0",
        redis.url()
    ));
    let mut ann = Client::join(a.addr(), "ann", "#t");
    for i in 0..500 {
        ann.send(&format!("MSG #t m{i}"));
    }
    for _ in 0..500 {
        ann.expect("OK MSG #t");
    }
    // Trimmed by whole nodes of the stream (`MAXLEN ~`): about, not exactly.
    let kept: usize = redis
        .command(&["XLEN", "chatroom:room:#t:log"])
        .parse()
        .unwrap_or(usize::MAX);
    assert!((10..=200).contains(&kept), "{kept} kept");
    // The newest are the ones kept.
    assert_eq!(history(&mut ann, "#t", Some(2)), ["ann m498", "ann m499"]);
}

#[test]
fn list_info_and_lusers_count_every_nodes_members_and_rooms() {
    if !can_run("list_info_and_lusers_count_every_nodes_members_and_rooms") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::join(a.addr(), "ann", "#x");
    members_are(&redis, "#x", "ann");
    let mut ben = Client::join(b.addr(), "ben", "#x");
    ann.expect("JOIN #x ben");
    ben.send("JOIN #y");
    ben.read_until_prefix("OK JOIN #y");
    let mut cat = Client::join(c.addr(), "cat", "#z");
    members_are(&redis, "#x", "ann ben");
    members_are(&redis, "#y", "ben");
    members_are(&redis, "#z", "cat");
    // An IRC JOIN on c: its own listing (353) names every node's members.
    let mut dan = Irc::register(c.irc_addr(), "dan");
    let welcome = dan.join_channel("#x");
    assert!(
        welcome.contains(&format!(":{SERVER} 353 dan = #x :@ann ben dan")),
        "{welcome:?}"
    );
    for client in [&mut ann, &mut ben] {
        client.expect("JOIN #x dan");
    }
    members_are(&redis, "#x", "ann ben dan");
    for client in [&mut ann, &mut ben, &mut cat] {
        client.send("LIST");
        client.expect_lines(&["ROOM #x 3 no", "ROOM #y 1 no", "ROOM #z 1 no", "OK LIST 3"]);
        client.send("INFO");
        let info = client.read_until_prefix("OK INFO");
        for want in ["INFO users 4", "INFO rooms 3"] {
            assert!(info.iter().any(|l| l == want), "[{}] {info:?}", client.name);
        }
    }
    dan.send("LIST");
    dan.expect_lines(&[
        &format!(":{SERVER} 321 dan Channel :Users  Name"),
        &format!(":{SERVER} 322 dan #x 3 :"),
        &format!(":{SERVER} 322 dan #y 1 :"),
        &format!(":{SERVER} 322 dan #z 1 :"),
        &format!(":{SERVER} 323 dan :End of /LIST"),
    ]);
    // LUSERS: every node's users and channels; this node's clients.
    dan.send("LUSERS");
    dan.expect_lines(&[
        &format!(":{SERVER} 251 dan :There are 4 users and 0 invisible on 1 servers"),
        &format!(":{SERVER} 254 dan 3 :channels formed"),
        &format!(":{SERVER} 255 dan :I have 2 clients and 0 servers"),
        &format!(":{SERVER} 265 dan :Current local users: 2"),
        &format!(":{SERVER} 266 dan :Current global users: 4"),
    ]);
    // A node's users leave the count with it.
    cat.send("QUIT");
    cat.expect_closed();
    ben.send("PART #y");
    ben.read_until_prefix("OK PART");
    let last = std::cell::RefCell::new(Vec::new());
    poll(
        "the counts without cat and #y",
        || {
            ann.send("INFO");
            let info = ann.read_until_prefix("OK INFO");
            let want = ["INFO users 3", "INFO rooms 1"];
            let seen = want.iter().all(|w| info.iter().any(|l| l == w));
            *last.borrow_mut() = info;
            seen.then_some(())
        },
        || format!("INFO on a: {:?}", last.borrow()),
    );
    ann.send("LIST");
    ann.expect_lines(&["ROOM #x 3 no", "OK LIST 1"]);
}

#[test]
fn clients_hear_once_when_redis_goes_away_and_once_when_it_is_back() {
    if !can_run("clients_hear_once_when_redis_goes_away_and_once_when_it_is_back") {
        return;
    }
    let mut redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut ann = Client::join(a.addr(), "ann", "#s");
    let mut bob = Irc::register(b.irc_addr(), "bob");

    redis.stop();
    ann.expect(
        "SERVER cluster unreachable: messages to rooms are refused (CLUSTER_UNAVAILABLE) until it is back",
    );
    bob.expect(&format!(
        ":{SERVER} NOTICE bob :The cluster cannot be reached: messages to channels are refused until it is back"
    ));
    ann.send("MSG #s anyone?");
    ann.expect("ERR MSG CLUSTER_UNAVAILABLE the cluster cannot be reached: not sent to #s");
    // Once per outage, not once per failed heartbeat.
    ann.sync();
    bob.sync();

    redis.restart();
    ann.expect("SERVER cluster reachable again");
    bob.expect(&format!(
        ":{SERVER} NOTICE bob :The cluster is reachable again"
    ));
    ann.send("MSG #s back");
    ann.expect("OK MSG #s");
    ann.sync();
    bob.sync();
}

/// A `chathistory` batch `id` for `chan` from `c`: its lines, each
/// `time=` value made `T`.
fn history_batch(c: &mut Irc, id: &str, chan: &str) -> Vec<String> {
    c.expect(&format!(":{SERVER} BATCH +{id} chathistory {chan}"));
    let mut lines = Vec::new();
    loop {
        let l = c.line();
        if l == format!(":{SERVER} BATCH -{id}") {
            return lines;
        }
        let (head, rest) = l.split_once(";msgid=").unwrap_or((&l, ""));
        let head = head.split_once("time=").map_or(head, |(h, _)| h);
        lines.push(format!("{head}time=T;msgid={rest}"));
    }
}

#[test]
fn irc_chathistory_reads_the_rooms_stream_on_another_node() {
    if !can_run("irc_chathistory_reads_the_rooms_stream_on_another_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut nina = Client::join(a.addr(), "nina", "#c");
    for i in 1..=6 {
        nina.send(&format!("MSG #c m{i}"));
        nina.expect("OK MSG #c");
    }
    let mut al = Irc::connect(b.irc_addr());
    al.name = "al".into();
    let caps = "batch message-tags server-time";
    al.send(&format!("CAP REQ :{caps}"));
    al.expect(&format!(":{SERVER} CAP * ACK :{caps}"));
    al.send("NICK al");
    al.send("USER al 0 * :Real al");
    al.send("CAP END");
    al.until_numeric("422");
    al.join_channel("#c");
    let msg =
        |id: &str, seq: u64| format!("@batch={id};time=T;msgid=#c/{seq} :nina PRIVMSG #c :m{seq}");
    let msgs = |id: &str, seqs: &[u64]| seqs.iter().map(|s| msg(id, *s)).collect::<Vec<_>>();
    assert_eq!(
        history_batch(&mut al, "h1", "#c"),
        msgs("h1", &[1, 2, 3, 4, 5, 6])
    );
    let asks = [
        ("LATEST #c * 2", vec![5, 6]),
        ("BEFORE #c msgid=#c/4 2", vec![2, 3]),
        ("AFTER #c msgid=#c/5 10", vec![6]),
        ("AROUND #c msgid=#c/3 3", vec![2, 3, 4]),
        ("BETWEEN #c msgid=#c/1 msgid=#c/4 10", vec![2, 3]),
        ("BETWEEN #c msgid=#c/5 msgid=#c/2 10", vec![3, 4]),
        ("LATEST #c msgid=#c/4 10", vec![5, 6]),
        // By time: every message is between these two.
        ("BEFORE #c timestamp=2999-01-01T00:00:00.000Z 2", vec![5, 6]),
        ("AFTER #c timestamp=2000-01-01T00:00:00.000Z 2", vec![1, 2]),
        (
            "BETWEEN #c timestamp=2999-01-01T00:00:00.000Z timestamp=2000-01-01T00:00:00.000Z 3",
            vec![4, 5, 6],
        ),
        (
            "BETWEEN #c timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 3",
            vec![1, 2, 3],
        ),
    ];
    for (i, (ask, want)) in asks.iter().enumerate() {
        let id = format!("h{}", i + 2);
        al.send(&format!("CHATHISTORY {ask}"));
        assert_eq!(history_batch(&mut al, &id, "#c"), msgs(&id, want), "{ask}");
    }
}

#[test]
fn a_node_warns_when_redis_may_lose_what_it_acknowledged() {
    if !can_run("a_node_warns_when_redis_may_lose_what_it_acknowledged") {
        return;
    }
    let redis = Redis::start();
    assert_eq!(
        redis.command(&["CONFIG", "SET", "appendfsync", "everysec"]),
        "OK"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let url = redis.url();
    let mut cmd = chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_CLUSTER__REDIS_URL", url.as_str()),
            ("CHATROOM_CLUSTER__NODE_ID", "w"),
            ("CHATROOM_LOG__LEVEL", "warn"),
        ],
    );
    let mut child = cmd.spawn().expect("spawn chatroom");
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let warned = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("appendfsync") => break line,
            Ok(line) => seen.push(line),
            Err(_) => {
                kill_if_running(&mut child);
                panic!("no warning naming appendfsync; stderr: {seen:#?}");
            }
        }
    };
    kill_if_running(&mut child);
    assert!(warned.contains("WARN"), "{warned}");
    assert!(warned.contains("appendonly=yes"), "{warned}");
    assert!(warned.contains("appendfsync=everysec"), "{warned}");
}
