//! Cluster mode (docs/CLUSTER.md, "Private messages and files across
//! nodes"): what is addressed to one user crosses nodes. Private messages
//! (native and IRC, both ways), a nickname nobody holds, WHOIS of a user
//! on another node, and a file shared in a room on one node fetched on
//! another. Three nodes on a real `redis-server`; skipped, and passing,
//! when redis-server is not installed (scripts/test-deps.sh installs it),
//! unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

use common::cluster::{can_run, node};
use common::irc::{Irc, SERVER};
use common::peer::{sha256_hex, Peer};
use common::programs::poll;
use common::redis::Redis;
use common::{http, Client};

/// Waits until Redis has `nick`'s card (written a moment after the
/// claim), so that what other nodes show of it is settled.
fn card_written(redis: &Redis, nick: &str) {
    poll(
        "the user's card in Redis",
        || (redis.command(&["EXISTS", &format!("chatroom:user:{nick}")]) == "1").then_some(()),
        || format!("no card for {nick}"),
    );
}

/// `ivy` (IRC) goes away saying `why`, and her card in Redis says so.
fn away(ivy: &mut Irc, redis: &Redis, why: &str) {
    ivy.send(&format!("AWAY :{why}"));
    ivy.expect(&format!(
        ":{SERVER} 306 ivy :You have been marked as being away"
    ));
    poll(
        "ivy's card says she is away",
        || {
            redis
                .command(&["GET", "chatroom:user:ivy"])
                .contains(why)
                .then_some(())
        },
        || "not yet".into(),
    );
}

#[test]
fn private_messages_cross_nodes_both_ways() {
    if !can_run("private_messages_cross_nodes_both_ways") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::register(a.addr(), "ann");
    let mut ben = Client::register(b.addr(), "Ben");
    let mut ivy = Irc::register(c.irc_addr(), "ivy");
    let mut ike = Irc::register(a.irc_addr(), "ike");
    ike.send("CAP REQ :echo-message");
    ike.expect(&format!(":{SERVER} CAP ike ACK :echo-message"));

    // Native to native, both ways; the answer spells the name as its
    // holder does.
    ann.send("PRIVMSG ben hello from a");
    ann.expect("OK PRIVMSG Ben");
    ben.expect("PRIVMSG ann hello from a");
    ben.send("PRIVMSG ann and back from b");
    ben.expect("OK PRIVMSG ann");
    ann.expect("PRIVMSG Ben and back from b");

    // IRC to native and native to IRC, across nodes.
    ivy.send("PRIVMSG ann :psst from c");
    ann.expect("PRIVMSG ivy psst from c");
    ann.send("PRIVMSG ivy psst back");
    ann.expect("OK PRIVMSG ivy");
    ivy.expect(":ann!native@native PRIVMSG ivy :psst back");

    // IRC to IRC, with the echo the sender asked for; NOTICE and CTCP
    // go the same way.
    card_written(&redis, "ivy");
    ike.send("PRIVMSG IVY :hi ivy");
    ike.expect(":ike!~ike@irc PRIVMSG ivy :hi ivy");
    ivy.expect(":ike!~ike@irc PRIVMSG ivy :hi ivy");
    ivy.send("NOTICE ike :noted");
    ike.expect(":ivy!~ivy@irc NOTICE ike :noted");
    ivy.send("PRIVMSG ike :\u{1}VERSION\u{1}");
    ike.expect(":ivy!~ivy@irc PRIVMSG ike :\u{1}VERSION\u{1}");

    // Away on another node: the sender is told, as for a local user.
    away(&mut ivy, &redis, "at lunch");
    ike.send("PRIVMSG ivy :are you there?");
    ike.expect(":ike!~ike@irc PRIVMSG ivy :are you there?");
    ike.expect(&format!(":{SERVER} 301 ike ivy :at lunch"));
    ivy.expect(":ike!~ike@irc PRIVMSG ivy :are you there?");

    // Nothing else reached anyone.
    for c in [&mut ann, &mut ben] {
        c.sync();
    }
    ivy.sync();
    ike.sync();
}

#[test]
fn a_nickname_nobody_holds_is_no_such_nick_on_every_node() {
    if !can_run("a_nickname_nobody_holds_is_no_such_nick_on_every_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut ann = Client::register(a.addr(), "ann");
    let mut ike = Irc::register(b.irc_addr(), "ike");
    ann.send("PRIVMSG nobody hi");
    ann.expect("ERR PRIVMSG NO_SUCH_NICK no user is called nobody");
    ike.send("PRIVMSG nobody :hi");
    ike.expect(&format!(":{SERVER} 401 ike nobody :No such nick/channel"));
    // A NOTICE is never answered with an error.
    ike.send("NOTICE nobody :hi");
    ike.sync();

    // A nickname let go is nobody's again.
    let mut ben = Client::register(b.addr(), "ben");
    ann.send("PRIVMSG ben still there?");
    ann.expect("OK PRIVMSG ben");
    ben.expect("PRIVMSG ann still there?");
    ben.send("QUIT");
    ben.expect_closed();
    poll(
        "ben released in Redis",
        || (redis.command(&["GET", "chatroom:nick:ben"]) == "nil").then_some(()),
        || "still held".into(),
    );
    assert_eq!(redis.command(&["EXISTS", "chatroom:user:ben"]), "0");
    ann.send("PRIVMSG ben hello?");
    ann.expect("ERR PRIVMSG NO_SUCH_NICK no user is called ben");
}

#[test]
fn whois_of_a_user_on_another_node() {
    if !can_run("whois_of_a_user_on_another_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut ivy = Irc::join(a.irc_addr(), "ivy", "#r");
    let mut ike = Irc::join(b.irc_addr(), "ike", "#r");
    ivy.expect(":ike!~ike@irc JOIN #r");
    let mut nina = Client::register(a.addr(), "nina");
    away(&mut ivy, &redis, "gone fishing");
    card_written(&redis, "nina");

    ike.send("WHOIS ivy");
    ike.expect_lines(&[
        &format!(":{SERVER} 311 ike ivy ~ivy irc * :Real ivy"),
        // ivy made #r: its operator on every node (room state is the
        // cluster's), as on one server.
        &format!(":{SERVER} 319 ike ivy :@#r"),
        &format!(":{SERVER} 312 ike ivy {SERVER} :chatroom chat server"),
        &format!(":{SERVER} 301 ike ivy :gone fishing"),
        &format!(":{SERVER} 318 ike ivy :End of /WHOIS list"),
    ]);
    // A native user on another node, in no shared channel.
    ike.send("WHOIS NINA");
    ike.expect_lines(&[
        &format!(":{SERVER} 311 ike nina native native * :nina"),
        &format!(":{SERVER} 312 ike nina {SERVER} :chatroom chat server"),
        &format!(":{SERVER} 318 ike nina :End of /WHOIS list"),
    ]);
    ike.send("WHOIS nobody");
    ike.expect_lines(&[
        &format!(":{SERVER} 401 ike nobody :No such nick/channel"),
        &format!(":{SERVER} 318 ike nobody :End of /WHOIS list"),
    ]);

    // WHO, USERHOST and ISON read the same cards; a channel's operator
    // marks are the cluster's (ivy made #r on a; ike is none).
    ike.send("WHO ivy");
    ike.expect_lines(&[
        &format!(":{SERVER} 352 ike * ~ivy irc {SERVER} ivy G :0 Real ivy"),
        &format!(":{SERVER} 315 ike ivy :End of WHO list"),
    ]);
    ike.send("WHO #r");
    ike.expect_lines(&[
        &format!(":{SERVER} 352 ike #r ~ike irc {SERVER} ike H :0 Real ike"),
        &format!(":{SERVER} 352 ike #r ~ivy irc {SERVER} ivy G@ :0 Real ivy"),
        &format!(":{SERVER} 315 ike #r :End of WHO list"),
    ]);
    ike.send("USERHOST nina nobody ivy ike");
    ike.expect(&format!(
        ":{SERVER} 302 ike :nina=+native@native ivy=-~ivy@irc ike=+~ike@irc"
    ));
    ike.send("ISON nobody IVY nina ike");
    ike.expect(&format!(":{SERVER} 303 ike :ivy nina ike"));
    nina.sync();
}

#[test]
fn a_file_shared_on_one_node_is_fetched_on_another() {
    if !can_run("a_file_shared_on_one_node_is_fetched_on_another") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Peer::join(a.addr(), "ann", "#r");
    let mut ben = Peer::join(b.addr(), "ben", "#R");
    ann.expect("JOIN #r ben");
    let mut eve = Peer::register(c.addr(), "eve");

    // Every byte value, line-like traps included.
    let mut data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    data.extend_from_slice(b"\nOK FETCH 0123456789abcdef0123\r\n\0");
    let sha = sha256_hex(&data);
    ann.send_file("#r", "notes: v2.bin", &data);
    let (id, _) = ann.await_ok_file(&sha);
    let announced = format!("FILE #R ann {id} {} {sha} notes: v2.bin", data.len());
    ben.expect(&announced);

    let (filename, body) = ben.fetch(&id);
    assert_eq!(filename, "notes: v2.bin");
    assert!(body == data, "the bytes fetched on b differ");
    // The web page's way: LINK on b, then GET from b's HTTP listener.
    ben.send(&format!("LINK {id}"));
    let ok = ben.line();
    let path = ok
        .strip_prefix(&format!("OK LINK {id} "))
        .unwrap_or_else(|| panic!("got {ok:?}"));
    let got = http::get(b.http_addr(), path);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-length"), Some("70033"));
    assert!(got.body == data, "the bytes downloaded from b differ");
    let part = http::request(b.http_addr(), "GET", path, &["Range: bytes=256-511"]);
    assert_eq!(part.status, 206);
    assert!(
        part.body == data[256..512],
        "the range downloaded from b differs"
    );

    // Not a member of the room: the same answer as for no file at all.
    eve.send(&format!("LINK {id}"));
    eve.expect(&format!("ERR LINK NO_SUCH_FILE no file {id} for you"));
    eve.send(&format!("FETCH {id}"));
    eve.expect_no_such_file(&id);
    eve.send("FETCH 0123456789abcdef0123");
    eve.expect_no_such_file("0123456789abcdef0123");
    // Once in, it is hers to fetch, on her node.
    eve.join_room("#r");
    assert!(eve.fetch(&id).1 == data, "the bytes fetched on c differ");
    // Kept in Redis for the retention, no longer.
    let ttl: i64 = redis
        .command(&["PTTL", &format!("chatroom:file:{id}:body")])
        .parse()
        .expect("a number");
    assert!(ttl > 0 && ttl <= 86_400_000, "PTTL {ttl}");
}

#[test]
fn without_redis_a_private_message_to_another_node_is_refused() {
    if !can_run("without_redis_a_private_message_to_another_node_is_refused") {
        return;
    }
    let mut redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut ann = Client::register(a.addr(), "ann");
    let mut amy = Client::register(a.addr(), "amy");
    let mut ben = Client::register(b.addr(), "ben");
    let mut ike = Irc::register(a.irc_addr(), "ike");

    redis.stop();
    ann.send("PRIVMSG ben are you there?");
    assert_eq!(
        answer(&mut ann),
        "ERR PRIVMSG CLUSTER_UNAVAILABLE the cluster cannot be reached: not sent to ben"
    );
    ike.send("PRIVMSG ben :are you there?");
    let fail = loop {
        let l = ike.line();
        // The node's notice that Redis is away may come first.
        if !l.contains(" NOTICE ike :The cluster ") {
            break l;
        }
    };
    assert_eq!(
        fail,
        format!(
            ":{SERVER} FAIL PRIVMSG CLUSTER_UNAVAILABLE :The cluster cannot be reached: not sent"
        )
    );
    // A user of the same node needs no Redis.
    ann.send("PRIVMSG amy still here");
    assert_eq!(answer(&mut ann), "OK PRIVMSG amy");
    assert_eq!(answer(&mut amy), "PRIVMSG ann still here");

    redis.restart();
    // Once node b listens to its inbox again, messages reach ben.
    let last = std::cell::RefCell::new(String::new());
    poll(
        "a private message delivered once Redis is back",
        || {
            ann.send("PRIVMSG ben back?");
            let got = answer(&mut ann);
            let ok = got == "OK PRIVMSG ben";
            *last.borrow_mut() = got;
            ok.then_some(())
        },
        || format!("last answer: {}", last.borrow()),
    );
    assert_eq!(answer(&mut ben), "PRIVMSG ann back?");
    ben.send("PING done");
    assert_eq!(answer(&mut ben), "PONG done");
}

/// The next line that is not the node's notice about Redis (which comes
/// at its next heartbeat, before or after any answer).
fn answer(c: &mut Client) -> String {
    loop {
        let l = c.line();
        if !l.starts_with("SERVER cluster ") {
            return l;
        }
    }
}

#[test]
fn a_file_sent_to_a_user_on_another_node_is_fetched_there() {
    if !can_run("a_file_sent_to_a_user_on_another_node_is_fetched_there") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Peer::register(a.addr(), "ann");
    let mut ben = Peer::register(b.addr(), "Ben");
    let mut eve = Peer::register(c.addr(), "eve");

    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = sha256_hex(&data);
    let id = ann.upload("ben", "for ben.bin", &data);
    ben.expect(&format!(
        "FILE Ben ann {id} {} {sha} for ben.bin",
        data.len()
    ));
    let (filename, body) = ben.fetch(&id);
    assert_eq!(filename, "for ben.bin");
    assert!(body == data, "the bytes fetched on b differ");
    // The sender fetches it on its own node; nobody else, anywhere.
    assert!(ann.fetch(&id).1 == data);
    eve.expect_no_such_file(&id);

    ann.send_file("nobody", "x", b"xyz");
    ann.expect("ERR FILE NO_SUCH_NICK no such user is online");
    ann.sync();
}

#[test]
fn an_invitation_reaches_a_user_on_another_node() {
    if !can_run("an_invitation_reaches_a_user_on_another_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut ivy = Irc::join(a.irc_addr(), "ivy", "#r");
    let mut ike = Irc::register(b.irc_addr(), "Ike");
    card_written(&redis, "ike");
    ivy.send("INVITE ike #r");
    ivy.expect(&format!(":{SERVER} 341 ivy Ike #r"));
    ike.expect(":ivy!~ivy@irc INVITE Ike #r");
    ivy.send("INVITE nobody #r");
    ivy.expect(&format!(":{SERVER} 401 ivy nobody :No such nick/channel"));
    ike.sync();
}
