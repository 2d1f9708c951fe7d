//! Rights across nodes (docs/CLUSTER.md, "Room state across nodes"):
//! an owning account and operator accounts hold on every node; a message
//! from outside a room without `-n` reaches its members on every node;
//! LIST on a node without a room knows its key, secrecy and topic. Three
//! nodes on a real `redis-server`, native and IRC clients. Skipped, and
//! passing, when redis-server is not installed (scripts/test-deps.sh
//! installs it), unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

use common::cluster::{can_run, members_are, node, sorted_lines};
use common::irc::{Irc, SERVER};
use common::programs::poll;
use common::redis::Redis;
use common::Client;

/// Waits until `nick`'s card in Redis names `account` (a login reaches
/// Redis a moment after its `OK LOGIN`).
fn card_names(redis: &Redis, nick: &str, account: &str) {
    let key = format!("chatroom:user:{nick}");
    poll(
        "the user's card to name its account",
        || {
            redis
                .command(&["GET", &key])
                .contains(account)
                .then_some(())
        },
        || redis.command(&["GET", &key]),
    );
}

#[test]
fn an_owning_account_and_an_operator_account_hold_on_every_node() {
    if !can_run("an_owning_account_and_an_operator_account_hold_on_every_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut ann = Client::register(a.addr(), "ann");
    ann.send("REGISTER password-one");
    ann.expect("OK REGISTER ann");
    ann.send("JOIN #o");
    ann.read_until_prefix("OK JOIN #o");
    members_are(&redis, "#o", "ann");
    let mut ben = Client::register(b.addr(), "ben");
    ben.send("REGISTER password-two");
    ben.expect("OK REGISTER ben");
    ben.send("JOIN #o");
    ben.read_until_prefix("OK JOIN #o");
    ann.expect("JOIN #o ben");
    members_are(&redis, "#o", "ann ben");
    card_names(&redis, "ben", "ben");
    // Made an operator from A: by its account, kept in Redis.
    ann.send("OP #o ben");
    ann.expect("OK OP #o ben");
    assert_eq!(
        redis.command(&["HGET", "chatroom:room:#o:state", "aop:ben"]),
        "ben"
    );
    ben.send("QUIT");
    ben.expect_closed();
    ann.expect("QUIT ben");
    members_are(&redis, "#o", "ann");
    // The account on C, under another nickname: an operator once logged
    // in (in the room already), and joining logged in.
    let mut rob = Client::register(c.addr(), "robert");
    rob.send("JOIN #o");
    rob.read_until_prefix("OK JOIN #o");
    ann.expect("JOIN #o robert");
    rob.send("TOPIC #o no");
    rob.expect("ERR TOPIC NOT_OWNER only the owner of #o may set its topic");
    rob.send("LOGIN ben password-two");
    rob.expect("OK LOGIN ben");
    rob.send("TOPIC #o yes");
    assert_eq!(
        sorted_lines(&mut rob, 2),
        ["OK TOPIC #o yes", "TOPIC #o robert yes"]
    );
    ann.expect("TOPIC #o robert yes");
    let mut bo = Client::register(b.addr(), "bo");
    bo.send("LOGIN ben password-two");
    bo.expect("OK LOGIN ben");
    bo.send("JOIN #o");
    bo.read_until_prefix("OK JOIN #o");
    ann.expect("JOIN #o bo");
    rob.expect("JOIN #o bo");
    bo.send("TOPIC #o from B");
    assert_eq!(
        sorted_lines(&mut bo, 2),
        ["OK TOPIC #o from B", "TOPIC #o bo from B"]
    );
    // Given away from A to robert on C: the account ben owns it on every
    // node, ann no longer.
    card_names(&redis, "robert", "ben");
    ann.send("OWNER #o robert");
    ann.read_until_prefix("OK OWNER #o ben");
    assert_eq!(
        redis.command(&["HGET", "chatroom:room:#o:state", "owner_account"]),
        "ben"
    );
    let last = std::cell::RefCell::new(String::new());
    poll(
        "ann no longer the owner on A",
        || {
            ann.send("OP #o ann");
            let answer = join_or_op_answer(&mut ann);
            let done = answer == "ERR OP NOT_OWNER only the owner of #o may do that";
            *last.borrow_mut() = answer;
            done.then_some(())
        },
        || last.borrow().clone(),
    );
    // A later joiner on B, logged in to ben, owns it there.
    let mut bea = Client::register(b.addr(), "bea");
    bea.send("LOGIN ben password-two");
    bea.expect("OK LOGIN ben");
    bea.send("JOIN #o");
    bea.read_until_prefix("OK JOIN #o");
    bea.send("INFO #o");
    let info = bea.read_until_prefix("OK INFO #o");
    assert_eq!(info[1], "INFO #o owner robert");
    assert_eq!(info[2], "INFO #o account ben");
    bea.send("DEOP #o ann");
    bea.expect("OK DEOP #o ann");
    // An operator no longer: ann on A cannot set the topic.
    poll(
        "ann no longer an operator on A",
        || {
            ann.send("TOPIC #o hers");
            let answer = join_or_op_answer(&mut ann);
            let done = answer == "ERR TOPIC NOT_OWNER only the owner of #o may set its topic";
            *last.borrow_mut() = answer;
            done.then_some(())
        },
        || last.borrow().clone(),
    );
}

/// The answer to a command (`OK ...` or `ERR ...`), other lines skipped.
fn join_or_op_answer(c: &mut Client) -> String {
    loop {
        let l = c.line();
        if l.starts_with("OK ") || l.starts_with("ERR ") {
            return l;
        }
    }
}

#[test]
fn a_message_from_outside_a_room_without_n_reaches_every_node() {
    if !can_run("a_message_from_outside_a_room_without_n_reaches_every_node") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut amy = Irc::join(a.irc_addr(), "amy", "#n");
    members_are(&redis, "#n", "amy");
    let mut dan = Irc::register(b.irc_addr(), "dan");
    let mut bea = Irc::join(b.irc_addr(), "bea", "#n");
    amy.expect(":bea!~bea@irc JOIN #n");
    members_are(&redis, "#n", "amy bea");
    let mut cal = Client::join(c.addr(), "cal", "#n");
    amy.expect(":cal!native@native JOIN #n");
    bea.expect(":cal!native@native JOIN #n");
    members_are(&redis, "#n", "amy bea cal");
    // +n (the default): refused on B, where the room is.
    dan.send("PRIVMSG #n :let me in");
    dan.expect(&format!(":{SERVER} 404 dan #n :Cannot send to channel"));
    amy.send("MODE #n -n");
    amy.expect(":amy!~amy@irc MODE #n -n");
    bea.expect(":amy!~amy@irc MODE #n -n");
    // From outside, on B: every member on every node gets it, once.
    dan.send("PRIVMSG #n :hello from outside");
    for c in [&mut amy, &mut bea] {
        c.expect(":dan!~dan@irc PRIVMSG #n :hello from outside");
    }
    cal.expect("MSG #n dan hello from outside");
    // In the room's one order, with the members' messages.
    cal.send("MSG #n after");
    cal.expect("OK MSG #n");
    for c in [&mut amy, &mut bea] {
        c.expect(":cal!native@native PRIVMSG #n :after");
        c.sync();
    }
    cal.sync();
    dan.sync();
    // A room with members on A only: from C, which never had it, the
    // same (`-n` as Redis has it); refused with +n, 403 for no room.
    amy.send("JOIN #far");
    amy.until_numeric("366");
    members_are(&redis, "#far", "amy");
    let mut ole = Irc::register(c.irc_addr(), "ole");
    ole.send("PRIVMSG #far :knock");
    ole.expect(&format!(":{SERVER} 404 ole #far :Cannot send to channel"));
    amy.send("MODE #far -n");
    amy.expect(":amy!~amy@irc MODE #far -n");
    ole.send("PRIVMSG #far :from C");
    amy.expect(":ole!~ole@irc PRIVMSG #far :from C");
    ole.send("PRIVMSG #nowhere :anyone?");
    ole.expect(&format!(":{SERVER} 403 ole #nowhere :No such channel"));
    amy.sync();
}

#[test]
fn list_on_a_node_without_the_room_knows_its_key_secrecy_and_topic() {
    if !can_run("list_on_a_node_without_the_room_knows_its_key_secrecy_and_topic") {
        return;
    }
    let redis = Redis::start();
    let (a, b, c) = (node(&redis, "a"), node(&redis, "b"), node(&redis, "c"));
    let mut amy = Irc::join(a.irc_addr(), "amy", "#hid");
    amy.send("MODE #hid +s");
    amy.expect(":amy!~amy@irc MODE #hid +s");
    let mut ann = Client::register(b.addr(), "ann");
    ann.send("JOIN #key sesame");
    ann.read_until_prefix("OK JOIN #key");
    ann.send("TOPIC #key hello  all");
    assert_eq!(
        sorted_lines(&mut ann, 2),
        ["OK TOPIC #key hello  all", "TOPIC #key ann hello  all"]
    );
    members_are(&redis, "#hid", "amy");
    members_are(&redis, "#key", "ann");
    // C has neither room: LIST there hides #hid and shows #key private,
    // with its topic, natively and over IRC.
    let mut cal = Client::register(c.addr(), "cal");
    cal.send("LIST");
    cal.expect_lines(&["ROOM #key 1 yes hello  all", "OK LIST 1"]);
    let mut ivy = Irc::register(c.irc_addr(), "ivy");
    ivy.send("LIST");
    ivy.expect(&format!(":{SERVER} 321 ivy Channel :Users  Name"));
    ivy.expect(&format!(":{SERVER} 322 ivy #key 1 :hello  all"));
    ivy.expect(&format!(":{SERVER} 323 ivy :End of /LIST"));
    // Its members see it on their own node; -s on A shows it on C too.
    amy.send("LIST");
    amy.expect(&format!(":{SERVER} 321 amy Channel :Users  Name"));
    amy.expect(&format!(":{SERVER} 322 amy #hid 1 :"));
    amy.expect(&format!(":{SERVER} 322 amy #key 1 :hello  all"));
    amy.expect(&format!(":{SERVER} 323 amy :End of /LIST"));
    amy.send("MODE #hid -s");
    amy.expect(":amy!~amy@irc MODE #hid -s");
    cal.send("LIST");
    cal.expect_lines(&["ROOM #hid 1 no", "ROOM #key 1 yes hello  all", "OK LIST 2"]);
}
