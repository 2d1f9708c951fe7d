//! Room state across nodes (docs/CLUSTER.md, "Room state across nodes"):
//! a room's key, bans, topic, modes, operators and invitations are the
//! cluster's; KICK
//! and TOPIC reach every node; a user in several rooms with a member of
//! another node is shown to it quitting (or renamed) once. Three nodes on
//! a real `redis-server`, native and IRC clients. Skipped, and passing,
//! when redis-server is not installed (scripts/test-deps.sh installs it),
//! unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

use common::cluster::{can_run, members_are, node, sorted_lines};
use common::irc::{Irc, SERVER};
use common::programs::poll;
use common::redis::Redis;
use common::Client;

fn sorted_irc(c: &mut Irc, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..n).map(|_| c.line()).collect();
    lines.sort();
    lines
}

#[test]
fn a_key_and_a_ban_set_on_one_node_hold_on_the_others() {
    if !can_run("a_key_and_a_ban_set_on_one_node_hold_on_the_others") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    // Made with a key on A: B asks for it.
    let mut ann = Client::register(a.addr(), "ann");
    ann.send("JOIN #k sesame");
    ann.read_until_prefix("OK JOIN #k");
    members_are(&redis, "#k", "ann");
    let mut ben = Client::register(b.addr(), "ben");
    ben.send("JOIN #k");
    ben.expect("ERR JOIN BAD_KEY #k is private: wrong or missing key");
    ben.send("JOIN #k wrong");
    ben.expect("ERR JOIN BAD_KEY #k is private: wrong or missing key");
    ben.send("JOIN #k sesame");
    ben.expect("JOIN #k ben");
    ben.expect("NAMES #k ann ben");
    ben.read_until_prefix("OK JOIN #k");
    ann.expect("JOIN #k ben");
    // The creator on A owns it on every node: ben is no operator.
    ben.send("TOPIC #k mine");
    ben.expect("ERR TOPIC NOT_OWNER only the owner of #k may set its topic");
    // A ban set on A keeps a joiner out on C, and on B.
    ann.send("BAN #k cat!*@*");
    ann.expect("OK BAN #k cat!*@*");
    let mut cat = Client::register(c.addr(), "cat");
    cat.send("JOIN #k sesame");
    let refused = cat.line();
    assert!(refused.starts_with("ERR JOIN BANNED #k"), "{refused}");
    drop(cat);
    let mut cat = common::cluster::nick_once_free(b.addr(), "cat", "cat's nickname free");
    cat.send("JOIN #k sesame");
    assert!(cat.line().starts_with("ERR JOIN BANNED #k"));
    // BAN lists it on every node.
    ben.send("BAN #k");
    let listed = ben.line();
    assert!(listed.starts_with("BAN #k cat!*@* ann "), "{listed}");
    ben.expect("OK BAN #k");
    // Lifted on B by an operator made on A (IRC's MODE from A).
    ann.send("OP #k ben");
    ann.expect("OK OP #k ben");
    assert_eq!(
        redis.command(&["HGET", "chatroom:room:#k:state", "op:ben"]),
        "ben"
    );
    // B applies the change when the room's channel hands it (a moment
    // after OK OP on A; native clients are not shown modes).
    let last = std::cell::RefCell::new(String::new());
    poll(
        "ben an operator on B",
        || {
            ben.send("UNBAN #k cat!*@*");
            let answer = ben.line();
            let done = answer == "OK UNBAN #k cat!*@*";
            *last.borrow_mut() = answer;
            done.then_some(())
        },
        || last.borrow().clone(),
    );
    cat.send("JOIN #k sesame");
    cat.read_until_prefix("OK JOIN #k");
    // A key changed on A over IRC's MODE: the old one no longer opens it
    // on C.
    let mut ivy = Irc::register(a.irc_addr(), "ivy");
    ivy.send("JOIN #k sesame");
    ivy.until_numeric("366");
    ann.send("OP #k ivy");
    ann.read_until_prefix("OK OP #k ivy");
    irc_until(&mut ivy, ":ann!native@native MODE #k +o ivy");
    ivy.send("MODE #k +k newkey");
    ivy.expect(":ivy!~ivy@irc MODE #k +k newkey");
    let mut dan = Client::register(c.addr(), "dan");
    dan.send("JOIN #k sesame");
    dan.expect("ERR JOIN BAD_KEY #k is private: wrong or missing key");
    dan.send("JOIN #k newkey");
    dan.read_until_prefix("OK JOIN #k");
    let mut ian = Irc::register(b.irc_addr(), "ian");
    ian.send("JOIN #k");
    ian.expect(&format!(":{SERVER} 475 ian #k :Cannot join channel (+k)"));
}

#[test]
fn a_topic_set_on_one_node_is_seen_on_the_others_and_by_a_later_joiner() {
    if !can_run("a_topic_set_on_one_node_is_seen_on_the_others_and_by_a_later_joiner") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::join(a.addr(), "ann", "#t");
    members_are(&redis, "#t", "ann");
    let mut ben = Client::join(b.addr(), "ben", "#t");
    ann.expect("JOIN #t ben");
    ann.send("TOPIC #t hello  there");
    assert_eq!(
        sorted_lines(&mut ann, 2),
        ["OK TOPIC #t hello  there", "TOPIC #t ann hello  there"]
    );
    ben.expect("TOPIC #t ann hello  there");
    ben.send("TOPIC #t");
    ben.expect("OK TOPIC #t hello  there");
    // A later joiner on C: IRC's 332 and 333, and the native TOPIC.
    let mut ivy = Irc::register(c.irc_addr(), "ivy");
    ivy.send("JOIN #t");
    ivy.expect(":ivy!~ivy@irc JOIN #t");
    ivy.expect(&format!(":{SERVER} 332 ivy #t :hello  there"));
    let who = ivy.expect_numeric("333");
    assert!(who.contains(" ivy #t ann "), "{who}");
    ivy.until_numeric("366");
    let mut cat = Client::join(c.addr(), "cat", "#t");
    cat.send("TOPIC #t");
    cat.expect("OK TOPIC #t hello  there");
    // The topic lock is the cluster's: lifted over IRC on C by... the
    // owner on A, then set by anyone on any node.
    let mut ann_irc_view = Irc::join(a.irc_addr(), "ina", "#t");
    cat.expect("JOIN #t ina");
    ann.send("OP #t ivy");
    ann.read_until_prefix("OK OP #t ivy");
    ann_irc_view.expect(":ann!native@native MODE #t +o ivy");
    irc_until(&mut ivy, ":ann!native@native MODE #t +o ivy");
    ivy.send("MODE #t -t");
    ivy.expect(":ivy!~ivy@irc MODE #t -t");
    ann_irc_view.expect(":ivy!~ivy@irc MODE #t -t");
    cat.send("TOPIC #t set from C");
    assert_eq!(
        sorted_lines(&mut cat, 2),
        ["OK TOPIC #t set from C", "TOPIC #t cat set from C"]
    );
    for c in [&mut ann, &mut ben] {
        c.read_until_prefix("TOPIC #t cat set from C");
    }
    ann_irc_view.expect(":cat!native@native TOPIC #t :set from C");
    assert_eq!(redis.command(&["HGET", "chatroom:room:#t:state", "t"]), "0");
}

#[test]
fn an_operator_on_one_node_kicks_a_member_on_another() {
    if !can_run("an_operator_on_one_node_kicks_a_member_on_another") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::join(a.addr(), "ann", "#x");
    members_are(&redis, "#x", "ann");
    let mut ben = Client::join(b.addr(), "ben", "#x");
    ann.expect("JOIN #x ben");
    members_are(&redis, "#x", "ann ben");
    let mut ivy = Irc::join(c.irc_addr(), "ivy", "#x");
    for c in [&mut ann, &mut ben] {
        c.expect("JOIN #x ivy");
    }
    members_are(&redis, "#x", "ann ben ivy");
    // Not an operator: refused on its own node.
    ben.send("KICK #x ann");
    ben.expect("ERR KICK NOT_OWNER only the owner of #x may kick");
    ann.send("KICK #x nobody");
    ann.expect("ERR KICK NO_SUCH_NICK nobody is not in #x");
    ann.send("KICK #x ben too  loud");
    assert_eq!(
        sorted_lines(&mut ann, 2),
        ["KICK #x ben ann too  loud", "OK KICK #x ben"]
    );
    ben.expect("KICK #x ben ann too  loud");
    ivy.expect(":ann!native@native KICK #x ben :too  loud");
    // Once each, and nothing else (no PART).
    ben.sync();
    ivy.sync();
    ann.sync();
    ben.send("MSG #x still here?");
    ben.expect("ERR MSG NOT_IN_ROOM you are not in #x");
    members_are(&redis, "#x", "ann ivy");
    ann.send("NAMES #x");
    ann.expect_lines(&["NAMES #x ann ivy", "OK NAMES #x 2"]);
    // The owner on A is an operator in C's listing too.
    ivy.send("NAMES #x");
    ivy.expect(&format!(":{SERVER} 353 ivy = #x :@ann ivy"));
    ivy.expect_numeric("366");
    // Kicked from IRC on C, a member on A: an operator made by the owner.
    ann.send("OP #x ivy");
    ann.expect("OK OP #x ivy");
    ivy.expect(":ann!native@native MODE #x +o ivy");
    let mut bob = Client::join(a.addr(), "bob", "#x");
    ann.expect("JOIN #x bob");
    ivy.expect(":bob!native@native JOIN #x");
    members_are(&redis, "#x", "ann bob ivy");
    ivy.send("KICK #x bob :bye");
    ivy.expect(":ivy!~ivy@irc KICK #x bob :bye");
    ann.expect("KICK #x bob ivy bye");
    bob.expect("KICK #x bob ivy bye");
    ann.sync();
    bob.sync();
    ivy.sync();
    ben.send("JOIN #x");
    ben.read_until_prefix("OK JOIN #x");
    ben.send("NAMES #x");
    ben.expect_lines(&["NAMES #x ann ben ivy", "OK NAMES #x 3"]);
}

#[test]
fn a_user_leaving_several_shared_rooms_is_shown_quitting_once_on_other_nodes() {
    if !can_run("a_user_leaving_several_shared_rooms_is_shown_quitting_once_on_other_nodes") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let rooms = ["#q1", "#q2", "#q3"];
    let mut ann = Client::register(a.addr(), "ann");
    let mut dan = Client::register(a.addr(), "dan");
    for r in rooms {
        for client in [&mut ann, &mut dan] {
            client.send(&format!("JOIN {r}"));
            client.read_until_prefix(&format!("OK JOIN {r}"));
        }
        ann.expect(&format!("JOIN {r} dan"));
        members_are(&redis, r, "ann dan");
    }
    let mut ben = Client::register(b.addr(), "ben");
    let mut ivy = Irc::register(c.irc_addr(), "ivy");
    for r in rooms {
        ben.send(&format!("JOIN {r}"));
        ben.read_until_prefix(&format!("OK JOIN {r}"));
    }
    for r in rooms {
        members_are(&redis, r, "ann ben dan");
        ivy.join_channel(r);
    }
    for r in rooms {
        members_are(&redis, r, "ann ben dan ivy");
    }
    ann.read_until_prefix("JOIN #q3 ivy");
    dan.read_until_prefix("JOIN #q3 ivy");
    ben.read_until_prefix("JOIN #q3 ivy");
    // Say something in every room from A after ann's change reached
    // Redis: each room's channel then hands every copy of the change
    // before it.
    let after = |dan: &mut Client, what: &str| {
        for r in rooms {
            dan.send(&format!("MSG {r} {what}"));
            dan.expect(&format!("OK MSG {r}"));
        }
    };
    let expected_ben = |ben: &mut Client, first: &str, what: &str| {
        let mut want: Vec<String> = rooms
            .iter()
            .map(|r| format!("MSG {r} dan {what}"))
            .chain([first.to_string()])
            .collect();
        want.sort();
        assert_eq!(sorted_lines(ben, 4), want);
        ben.sync();
    };
    ann.send("NICK anna");
    ann.expect_lines(&["NICK ann anna", "OK NICK anna"]);
    dan.expect("NICK ann anna");
    for r in rooms {
        members_are(&redis, r, "anna ben dan ivy");
    }
    after(&mut dan, "renamed");
    expected_ben(&mut ben, "NICK ann anna", "renamed");
    let mut want: Vec<String> = rooms
        .iter()
        .map(|r| format!(":dan!native@native PRIVMSG {r} :renamed"))
        .chain([":ann!native@native NICK anna".to_string()])
        .collect();
    want.sort();
    assert_eq!(sorted_irc(&mut ivy, 4), want);
    ivy.sync();
    ann.send("QUIT gone");
    ann.expect_closed();
    dan.read_until_prefix("QUIT anna");
    for r in rooms {
        members_are(&redis, r, "ben dan ivy");
    }
    after(&mut dan, "after");
    let quit = {
        let mut lines = sorted_lines(&mut ben, 4);
        let quit: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("QUIT "))
            .cloned()
            .collect();
        lines.retain(|l| !l.starts_with("QUIT "));
        assert_eq!(
            lines,
            [
                "MSG #q1 dan after",
                "MSG #q2 dan after",
                "MSG #q3 dan after"
            ]
        );
        quit
    };
    // Once, with its reason, as on one server.
    assert_eq!(quit, ["QUIT anna gone"]);
    ben.sync();
    let mut want: Vec<String> = rooms
        .iter()
        .map(|r| format!(":dan!native@native PRIVMSG {r} :after"))
        .chain([":anna!native@native QUIT :gone".to_string()])
        .collect();
    want.sort();
    assert_eq!(sorted_irc(&mut ivy, 4), want);
    ivy.sync();
    // A user of the same name joining again and quitting is shown again.
    let mut ann = common::cluster::nick_once_free(a.addr(), "anna", "anna free");
    ann.send("JOIN #q1");
    ann.read_until_prefix("OK JOIN #q1");
    ben.expect("JOIN #q1 anna");
    ann.send("QUIT");
    ann.expect_closed();
    ben.expect("QUIT anna");
}

#[test]
fn two_nodes_racing_on_one_setting_leave_every_node_agreeing() {
    if !can_run("two_nodes_racing_on_one_setting_leave_every_node_agreeing") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut amy = Irc::join(a.irc_addr(), "amy", "#r");
    members_are(&redis, "#r", "amy");
    let mut bea = Irc::join(b.irc_addr(), "bea", "#r");
    amy.expect(":bea!~bea@irc JOIN #r");
    members_are(&redis, "#r", "amy bea");
    let mut cal = Irc::join(c.irc_addr(), "cal", "#r");
    amy.expect(":cal!~cal@irc JOIN #r");
    bea.expect(":cal!~cal@irc JOIN #r");
    members_are(&redis, "#r", "amy bea cal");
    // The owner on A makes bea on B an operator: every node shows it.
    amy.send("MODE #r +o bea");
    for c in [&mut amy, &mut bea, &mut cal] {
        c.expect(":amy!~amy@irc MODE #r +o bea");
    }
    cal.send("NAMES #r");
    cal.expect(&format!(":{SERVER} 353 cal = #r :@amy @bea cal"));
    cal.expect_numeric("366");
    let everyone = |amy: &mut Irc, bea: &mut Irc, cal: &mut Irc, n: usize| {
        let seen: Vec<Vec<String>> = [amy, bea, cal]
            .into_iter()
            .map(|c| (0..n).map(|_| c.line()).collect())
            .collect();
        assert_eq!(seen[0], seen[1], "amy and bea");
        assert_eq!(seen[0], seen[2], "amy and cal");
        seen.into_iter().next().unwrap_or_default()
    };
    // The same change from two nodes at once: made once, shown once.
    for round in 0..6 {
        let on = if round % 2 == 0 { "+i" } else { "-i" };
        amy.send(&format!("MODE #r {on}"));
        bea.send(&format!("MODE #r {on}"));
        let seen = everyone(&mut amy, &mut bea, &mut cal, 1);
        assert!(seen[0].ends_with(&format!("MODE #r {on}")), "{seen:?}");
        for c in [&mut amy, &mut bea, &mut cal] {
            c.sync();
        }
    }
    // Different values at once: both made, in one order everywhere; the
    // last is what every node keeps.
    for round in 0..5 {
        amy.send(&format!("MODE #r +l {}", 10 + round));
        bea.send(&format!("MODE #r +l {}", 20 + round));
        amy.send(&format!("TOPIC #r :from amy {round}"));
        bea.send(&format!("TOPIC #r :from bea {round}"));
        let seen = everyone(&mut amy, &mut bea, &mut cal, 4);
        let last_limit = seen
            .iter()
            .rev()
            .find_map(|l| l.split("MODE #r +l ").nth(1))
            .unwrap()
            .to_string();
        let last_topic = seen
            .iter()
            .rev()
            .find_map(|l| l.split("TOPIC #r :").nth(1))
            .unwrap()
            .to_string();
        for (c, nick) in [(&mut amy, "amy"), (&mut bea, "bea"), (&mut cal, "cal")] {
            c.send("MODE #r");
            c.expect(&format!(":{SERVER} 324 {nick} #r +lnt {last_limit}"));
            c.expect_numeric("329");
            c.send("TOPIC #r");
            c.expect(&format!(":{SERVER} 332 {nick} #r :{last_topic}"));
            c.expect_numeric("333");
        }
        assert_eq!(
            redis.command(&["HGET", "chatroom:room:#r:state", "limit"]),
            last_limit
        );
    }
    // A later joiner sees the last of them.
    let last = redis.command(&["HGET", "chatroom:room:#r:state", "topic"]);
    let mut dee = Irc::register(c.irc_addr(), "dee");
    dee.send("JOIN #r");
    dee.expect(":dee!~dee@irc JOIN #r");
    let topic = dee.expect_numeric("332");
    assert!(
        topic.starts_with(&format!(":{SERVER} 332 dee #r :from ")),
        "{topic}"
    );
    assert!(
        last.contains(topic.split(" :").nth(1).unwrap()),
        "{last} / {topic}"
    );
}

/// Reads IRC lines until `want`.
fn irc_until(c: &mut Irc, want: &str) {
    loop {
        if c.line() == want {
            return;
        }
    }
}

/// The answer to a JOIN: its last line, `OK JOIN ...` or `ERR JOIN ...`.
fn join_answer(c: &mut Client) -> String {
    loop {
        let l = c.line();
        if l.starts_with("OK JOIN ") || l.starts_with("ERR JOIN ") {
            return l;
        }
    }
}

/// The `owner` and `private` lines of `INFO <room>`.
fn owner_and_privacy(c: &mut Client, room: &str) -> (String, String) {
    c.send(&format!("INFO {room}"));
    let info = c.read_until_prefix(&format!("OK INFO {room}"));
    let find = |what: &str| {
        info.iter()
            .find(|l| l.starts_with(&format!("INFO {room} {what}")))
            .cloned()
            .unwrap_or_default()
    };
    (find("owner"), find("private"))
}

#[test]
fn two_nodes_making_one_room_at_once_agree_on_its_owner_and_key() {
    if !can_run("two_nodes_making_one_room_at_once_agree_on_its_owner_and_key") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    // Few rounds: each hashes four keys (slow in a debug build).
    for round in 0..3 {
        let room = format!("#new{round}");
        let mut ann = Client::register(a.addr(), &format!("ann{round}"));
        let mut ben = Client::register(b.addr(), &format!("ben{round}"));
        ann.send(&format!("JOIN {room} akey"));
        ben.send(&format!("JOIN {room} bkey"));
        // Each is in (the other's JOIN may have come first, with its
        // key: then this one is refused, as on one server).
        let ann_in = join_answer(&mut ann).starts_with("OK JOIN");
        let ben_in = join_answer(&mut ben).starts_with("OK JOIN");
        assert!(ann_in || ben_in, "round {round}: nobody got in");
        let owner = || redis.command(&["HGET", &format!("chatroom:room:{room}:state"), "owner"]);
        poll(
            "an owner in Redis",
            || (!owner().is_empty()).then_some(()),
            owner,
        );
        let owner = owner();
        // Every node's copy ends with that owner and its key.
        let key = if owner.starts_with("ann") {
            "akey"
        } else {
            "bkey"
        };
        let wrong = if key == "akey" { "bkey" } else { "akey" };
        let mut cat = Client::register(c.addr(), &format!("cat{round}"));
        cat.send(&format!("JOIN {room} {wrong}"));
        cat.expect(&format!(
            "ERR JOIN BAD_KEY {room} is private: wrong or missing key"
        ));
        cat.send(&format!("JOIN {room} {key}"));
        cat.read_until_prefix(&format!("OK JOIN {room}"));
        let want = (
            format!("INFO {room} owner {owner}"),
            format!("INFO {room} private yes"),
        );
        for (client, inside) in [(&mut ann, ann_in), (&mut ben, ben_in)] {
            if !inside {
                continue;
            }
            let last = std::cell::RefCell::new((String::new(), String::new()));
            poll(
                "the node's copy to take the owner Redis kept",
                || {
                    let got = owner_and_privacy(client, &room);
                    let same = got == want;
                    *last.borrow_mut() = got;
                    same.then_some(())
                },
                || format!("{:?}", last.borrow()),
            );
        }
        assert_eq!(owner_and_privacy(&mut cat, &room), want);
    }
}

#[test]
fn an_invitation_made_on_one_node_lets_its_user_in_on_another_once() {
    if !can_run("an_invitation_made_on_one_node_lets_its_user_in_on_another_once") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut amy = Irc::join(a.irc_addr(), "amy", "#inv");
    amy.send("MODE #inv +i");
    amy.expect(":amy!~amy@irc MODE #inv +i");
    // Invited from A while on B: it comes in on B, once.
    let mut nina = Client::register(b.addr(), "nina");
    amy.send("INVITE nina #inv");
    amy.expect(&format!(":{SERVER} 341 amy nina #inv"));
    nina.send("JOIN #inv");
    nina.expect("JOIN #inv nina");
    nina.read_until_prefix("OK JOIN #inv");
    amy.expect(":nina!native@native JOIN #inv");
    nina.send("PART #inv");
    nina.read_until_prefix("OK PART");
    amy.expect(":nina!native@native PART #inv");
    poll(
        "the invitation used up in Redis",
        || {
            let left = redis.command(&["HEXISTS", "chatroom:room:#inv:state", "inv:nina"]);
            (left == "0").then_some(())
        },
        || redis.command(&["HGETALL", "chatroom:room:#inv:state"]),
    );
    drop(nina);
    for addr in [a.addr(), b.addr()] {
        let mut nina = common::cluster::nick_once_free(addr, "nina", "nina free");
        nina.send("JOIN #inv");
        nina.expect("ERR JOIN INVITE_ONLY #inv lets in invited users only");
    }
    // Nobody else got in anywhere.
    let mut cat = Client::register(c.addr(), "cat");
    cat.send("JOIN #inv");
    cat.expect("ERR JOIN INVITE_ONLY #inv lets in invited users only");
}
