//! IRC channels end to end: JOIN (keys, several, `JOIN 0`), PART, PRIVMSG
//! and NOTICE, NAMES, TOPIC, KICK, LIST, and their numerics. Real server
//! on 127.0.0.1:0, raw lines, exact where deterministic.

mod common;
use common::irc::{Irc, SERVER};
use common::*;

/// No flood control, no history: the behaviour of rooms without storage.
const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

fn server() -> TestServer {
    start(NO_FLOOD)
}

#[test]
fn join_talk_and_part() {
    let s = server();
    let mut a = Irc::register(s.irc_addr(), "alice");
    a.send("JOIN #123");
    a.expect_lines(&[
        ":alice!~alice@irc JOIN #123",
        ":chatroom 353 alice = #123 :@alice",
        ":chatroom 366 alice #123 :End of /NAMES list",
    ]);
    let mut b = Irc::register(s.irc_addr(), "bob");
    b.send("JOIN #123");
    b.expect_lines(&[
        ":bob!~bob@irc JOIN #123",
        ":chatroom 353 bob = #123 :@alice bob",
        ":chatroom 366 bob #123 :End of /NAMES list",
    ]);
    a.expect(":bob!~bob@irc JOIN #123");
    b.send("PRIVMSG #123 :hello alice, how are you?");
    a.expect(":bob!~bob@irc PRIVMSG #123 :hello alice, how are you?");
    b.sync();
    a.send("NOTICE #123 :fine");
    b.expect(":alice!~alice@irc NOTICE #123 :fine");
    a.sync();
    // Private messages and notices.
    a.send("PRIVMSG bob :psst");
    b.expect(":alice!~alice@irc PRIVMSG bob :psst");
    b.send("NOTICE alice,#123 :both");
    a.expect(":bob!~bob@irc NOTICE alice :both");
    a.expect(":bob!~bob@irc NOTICE #123 :both");
    b.sync();
    // PART: everyone, the leaver included, sees it.
    b.send("PART #123 :see you");
    b.expect(":bob!~bob@irc PART #123 :see you");
    a.expect(":bob!~bob@irc PART #123 :see you");
    b.send("PART #123");
    b.expect(":chatroom 442 bob #123 :You're not on that channel");
    b.send("PART #nowhere");
    b.expect(":chatroom 403 bob #nowhere :No such channel");
    // QUIT: the others see it once.
    b.send("JOIN #123");
    b.until_numeric("366");
    a.expect(":bob!~bob@irc JOIN #123");
    b.send("QUIT :gone");
    b.expect("ERROR :Closing Link: irc (Quit: gone)");
    a.expect(":bob!~bob@irc QUIT :gone");
    a.sync();
}

#[test]
fn message_errors() {
    let s = server();
    let mut a = Irc::register(s.irc_addr(), "alice");
    let mut b = Irc::join(s.irc_addr(), "bob", "#here");
    a.send("PRIVMSG #here :hi");
    a.expect(":chatroom 404 alice #here :Cannot send to channel");
    a.send("PRIVMSG #nowhere :hi");
    a.expect(":chatroom 403 alice #nowhere :No such channel");
    a.send("PRIVMSG nobody :hi");
    a.expect(":chatroom 401 alice nobody :No such nick/channel");
    a.send("PRIVMSG");
    a.expect(":chatroom 411 alice :No recipient given (PRIVMSG)");
    a.send("PRIVMSG bob");
    a.expect(":chatroom 412 alice :No text to send");
    a.send("PRIVMSG a,b,c,d,e :hi");
    a.expect(":chatroom 407 alice a,b,c,d,e :Too many targets");
    // NOTICE never gets an error.
    a.send("NOTICE #here :hi");
    a.send("NOTICE nobody :hi");
    a.send("NOTICE");
    a.send("NOTICE bob");
    a.sync();
    b.sync();
}

#[test]
fn several_channels_keys_and_join_zero() {
    let s = server();
    let mut a = Irc::register(s.irc_addr(), "alice");
    a.send("JOIN #a,#b,bad,#c k1,,k3");
    a.expect_lines(&[
        ":alice!~alice@irc JOIN #a",
        ":chatroom 353 alice = #a :@alice",
        ":chatroom 366 alice #a :End of /NAMES list",
        ":alice!~alice@irc JOIN #b",
        ":chatroom 353 alice = #b :@alice",
        ":chatroom 366 alice #b :End of /NAMES list",
        ":chatroom 403 alice bad :No such channel",
        ":alice!~alice@irc JOIN #c",
        ":chatroom 353 alice = #c :@alice",
        ":chatroom 366 alice #c :End of /NAMES list",
    ]);
    // #a and #c were created with keys.
    let mut b = Irc::register(s.irc_addr(), "bob");
    b.send("JOIN #a");
    b.expect(":chatroom 475 bob #a :Cannot join channel (+k)");
    b.send("JOIN #a wrong");
    b.expect(":chatroom 475 bob #a :Cannot join channel (+k)");
    b.send("JOIN #a,#b,#c k1,,k3");
    b.until_numeric("366");
    b.until_numeric("366");
    b.until_numeric("366");
    for _ in 0..3 {
        assert!(a.line().starts_with(":bob!~bob@irc JOIN #"));
    }
    b.send("JOIN 0");
    b.expect(":bob!~bob@irc PART #a");
    b.expect(":bob!~bob@irc PART #b");
    b.expect(":bob!~bob@irc PART #c");
    b.sync();
    for c in ["#a", "#b", "#c"] {
        a.expect(&format!(":bob!~bob@irc PART {c}"));
    }
    // Several channels: their 353s, then one 366 naming them as asked.
    a.send("NAMES #a,#B,#zz");
    a.expect_lines(&[
        ":chatroom 353 alice = #a :@alice",
        ":chatroom 353 alice = #b :@alice",
        ":chatroom 366 alice #a,#B,#zz :End of /NAMES list",
    ]);
    a.send("NAMES #zz");
    a.expect(":chatroom 366 alice #zz :End of /NAMES list");
}

#[test]
fn too_many_channels_and_a_full_channel() {
    let s = start(
        "[limits]\nmax_rooms_per_user = 1\nmax_room_members = 1\nflood_burst = 1000\n[history]\nenabled = false",
    );
    let mut a = Irc::join(s.irc_addr(), "alice", "#one");
    a.send("JOIN #two");
    a.expect(":chatroom 405 alice #two :You have joined too many channels");
    let mut b = Irc::register(s.irc_addr(), "bob");
    b.send("JOIN #one");
    b.expect(":chatroom 471 bob #one :Cannot join channel (+l)");
}

#[test]
fn topic_and_kick_are_the_owners() {
    let s = server();
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    b.send("TOPIC #r");
    b.expect(":chatroom 331 bob #r :No topic is set");
    b.send("TOPIC #r :mine now");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    a.send("TOPIC #r :rust only");
    a.expect(":alice!~alice@irc TOPIC #r :rust only");
    b.expect(":alice!~alice@irc TOPIC #r :rust only");
    b.send("TOPIC #r");
    b.expect(":chatroom 332 bob #r :rust only");
    let l = b.expect_numeric("333");
    assert!(l.starts_with(":chatroom 333 bob #r alice "), "{l}");
    // A newcomer hears the topic on joining.
    let mut c = Irc::register(s.irc_addr(), "carol");
    c.send("JOIN #r");
    c.expect(":carol!~carol@irc JOIN #r");
    c.expect(":chatroom 332 carol #r :rust only");
    c.expect_numeric("333");
    c.expect(":chatroom 353 carol = #r :@alice bob carol");
    c.expect(":chatroom 366 carol #r :End of /NAMES list");
    a.expect(":carol!~carol@irc JOIN #r");
    b.expect(":carol!~carol@irc JOIN #r");
    b.send("KICK #r carol");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    a.send("KICK #r dave");
    a.expect(":chatroom 441 alice dave #r :They aren't on that channel");
    a.send("KICK #r carol,bob :out");
    for who in [&mut a, &mut b, &mut c] {
        who.expect(":alice!~alice@irc KICK #r carol :out");
    }
    a.expect(":alice!~alice@irc KICK #r bob :out");
    b.expect(":alice!~alice@irc KICK #r bob :out");
    c.send("PRIVMSG #r :still here?");
    c.expect(":chatroom 404 carol #r :Cannot send to channel");
    // As many channels as nicks: paired in order (TARGMAX KICK:4); else 461.
    b.join_channel("#r");
    c.join_channel("#r");
    a.expect(":bob!~bob@irc JOIN #r");
    a.expect(":carol!~carol@irc JOIN #r");
    a.send("KICK #r,#r carol,bob :again");
    a.expect(":alice!~alice@irc KICK #r carol :again");
    a.expect(":alice!~alice@irc KICK #r bob :again");
    b.expect(":carol!~carol@irc JOIN #r");
    b.expect(":alice!~alice@irc KICK #r carol :again");
    b.expect(":alice!~alice@irc KICK #r bob :again");
    c.expect(":alice!~alice@irc KICK #r carol :again");
    a.send("KICK #r,#r,#r carol,bob");
    a.expect(":chatroom 461 alice KICK :Not enough parameters");
    a.send("KICK #nope,#r x,y");
    a.expect(":chatroom 403 alice #nope :No such channel");
    a.expect(":chatroom 441 alice y #r :They aren't on that channel");
    b.send("KICK #r alice");
    b.expect(":chatroom 442 bob #r :You're not on that channel");
    a.send("TOPIC #nope :x");
    a.expect(":chatroom 403 alice #nope :No such channel");
}

#[test]
fn list() {
    let s = server();
    let mut a = Irc::join(s.irc_addr(), "alice", "#b");
    a.join_channel("#a");
    a.send("TOPIC #a :first");
    a.expect(":alice!~alice@irc TOPIC #a :first");
    a.send("LIST");
    a.expect_lines(&[
        ":chatroom 321 alice Channel :Users  Name",
        ":chatroom 322 alice #a 1 :first",
        ":chatroom 322 alice #b 1 :",
        ":chatroom 323 alice :End of /LIST",
    ]);
    a.send("LIST #b");
    a.expect_lines(&[
        ":chatroom 321 alice Channel :Users  Name",
        ":chatroom 322 alice #b 1 :",
        ":chatroom 323 alice :End of /LIST",
    ]);
}

#[test]
fn ping_and_pong() {
    let s = server();
    let mut a = Irc::register(s.irc_addr(), "alice");
    a.send("PING :a token");
    a.expect(&format!(":{SERVER} PONG {SERVER} :a token"));
    a.send("PONG :whatever");
    a.sync();
}

#[test]
fn the_server_pings_an_idle_client_and_drops_a_silent_one() {
    let s = start(
        "[limits]\nping_interval_secs = 1\nping_timeout_secs = 1\n[history]\nenabled = false",
    );
    let mut a = Irc::register(s.irc_addr(), "alice");
    let ping = a.line();
    let token = ping.strip_prefix("PING :").expect("a PING");
    a.send(&format!("PONG :{token}"));
    // Silent this time.
    assert!(a.line().starts_with("PING :"));
    a.expect("ERROR :Closing Link: irc (Ping timeout)");
    a.expect_closed();
    // And one that never registers is dropped too.
    let mut c = Irc::connect(s.irc_addr());
    c.expect("ERROR :Closing Link: irc (Registration timeout)");
    c.expect_closed();
}
