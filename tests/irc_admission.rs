//! Who may come into an IRC channel and who sets its topic, end to end:
//! `+l` (471), `+i` and INVITE (473, 341, 443, 442, 482, 401), `-t`, `-n`,
//! `+s`, `+k` validation (696), and a message too long to relay (417).

mod common;
use common::irc::Irc;
use common::*;

const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

#[test]
fn a_limit_refuses_joiners_past_it_until_lifted() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    b.send("MODE #r +l 1");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    for bad in ["0", "-1", "abc"] {
        a.send(&format!("MODE #r +l {bad}"));
        a.expect(&format!(
            ":chatroom 696 alice #r l {bad} :Invalid mode parameter"
        ));
    }
    a.send("MODE #r +l");
    a.expect(":chatroom 461 alice MODE :Not enough parameters");
    // Lower than the members there: nobody leaves, nobody more comes.
    a.send("MODE #r +l 1");
    a.expect(":alice!~alice@irc MODE #r +l 1");
    b.expect(":alice!~alice@irc MODE #r +l 1");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +lnt 1");
    a.expect_numeric("329");
    let mut c = Irc::register(s.irc_addr(), "carol");
    c.send("JOIN #r");
    c.expect(":chatroom 471 carol #r :Cannot join channel (+l)");
    let mut nc = Client::register(s.addr(), "nina");
    nc.send("JOIN #r");
    nc.expect("ERR JOIN ROOM_FULL #r is full");
    // The same limit again is no change and not announced.
    a.send("MODE #r +l 1");
    a.sync();
    a.send("MODE #r -l");
    a.expect(":alice!~alice@irc MODE #r -l");
    b.expect(":alice!~alice@irc MODE #r -l");
    c.send("JOIN #r");
    c.expect(":carol!~carol@irc JOIN #r");
}

#[test]
fn invite_only_lets_in_the_invited_once() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::register(s.irc_addr(), "bob");
    a.send("MODE #r +i");
    a.expect(":alice!~alice@irc MODE #r +i");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +int");
    a.expect_numeric("329");
    b.send("JOIN #r");
    b.expect(":chatroom 473 bob #r :Cannot join channel (+i)");
    a.send("INVITE nobody #r");
    a.expect(":chatroom 401 alice nobody :No such nick/channel");
    b.send("INVITE alice #r");
    b.expect(":chatroom 442 bob #r :You're not on that channel");
    b.send("INVITE alice #nowhere");
    b.expect(":chatroom 403 bob #nowhere :No such channel");
    a.send("INVITE");
    a.expect(":chatroom 461 alice INVITE :Not enough parameters");
    a.send("INVITE Bob #r");
    a.expect(":chatroom 341 alice bob #r");
    b.expect(":alice!~alice@irc INVITE bob #r");
    b.send("JOIN #r");
    b.expect(":bob!~bob@irc JOIN #r");
    b.until_numeric("366");
    a.expect(":bob!~bob@irc JOIN #r");
    a.send("INVITE bob #r");
    a.expect(":chatroom 443 alice bob #r :is already on channel");
    // Only the owner invites into an invite-only channel.
    let mut c = Irc::register(s.irc_addr(), "carol");
    b.send("INVITE carol #r");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    // Used up: gone again, bob needs another invitation.
    b.send("PART #r");
    b.expect(":bob!~bob@irc PART #r");
    a.expect(":bob!~bob@irc PART #r");
    b.send("JOIN #r");
    b.expect(":chatroom 473 bob #r :Cannot join channel (+i)");
    // A native user, invited from IRC (and not told), comes in.
    let mut nc = Client::register(s.addr(), "nina");
    nc.send("JOIN #r");
    nc.expect("ERR JOIN INVITE_ONLY #r lets in invited users only");
    a.send("INVITE nina #r");
    a.expect(":chatroom 341 alice nina #r");
    nc.send("JOIN #r");
    nc.expect("JOIN #r nina");
    a.expect(":nina!native@native JOIN #r");
    // An invitation also passes a limit; -i opens the door.
    a.send("MODE #r +l 1");
    a.expect(":alice!~alice@irc MODE #r +l 1");
    a.send("MODE #r -il");
    a.expect(":alice!~alice@irc MODE #r -i");
    a.expect(":alice!~alice@irc MODE #r -l");
    c.send("JOIN #r");
    c.expect(":carol!~carol@irc JOIN #r");
}

#[test]
fn without_t_every_member_sets_the_topic() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    let mut nc = Client::join(s.addr(), "nina", "#r");
    a.expect(":nina!native@native JOIN #r");
    b.expect(":nina!native@native JOIN #r");
    b.send("TOPIC #r :bob's");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    a.send("MODE #r -t");
    a.expect(":alice!~alice@irc MODE #r -t");
    b.expect(":alice!~alice@irc MODE #r -t");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +n");
    a.expect_numeric("329");
    b.send("TOPIC #r :bob's");
    b.expect(":bob!~bob@irc TOPIC #r :bob's");
    a.expect(":bob!~bob@irc TOPIC #r :bob's");
    nc.expect("TOPIC #r bob bob's");
    nc.send("TOPIC #r nina's");
    nc.expect("TOPIC #r nina nina's");
    nc.expect("OK TOPIC #r nina's");
    a.expect(":nina!native@native TOPIC #r :nina's");
    a.send("MODE #r +t");
    a.expect(":alice!~alice@irc MODE #r +t");
    nc.send("TOPIC #r again");
    nc.expect("ERR TOPIC NOT_OWNER only the owner of #r may set its topic");
}

#[test]
fn a_key_is_one_word() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    for bad in ["passphrase with spaces", "", " ", "a,b"] {
        a.send(&format!("MODE #r +k :{bad}"));
        a.expect(":chatroom 696 alice #r k * :Invalid mode parameter");
    }
    a.send(&format!("MODE #r +k {}", "long".repeat(100)));
    a.expect(":chatroom 696 alice #r k * :Invalid mode parameter");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +nt");
    a.expect_numeric("329");
}

#[test]
fn a_message_too_long_to_relay_is_refused_whole() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    // ":alice!~alice@irc PRIVMSG bob :" is 31 bytes: 479 of text fit.
    let fits = "x".repeat(510 - 31);
    a.send(&format!("PRIVMSG bob :{fits}"));
    b.expect(&format!(":alice!~alice@irc PRIVMSG bob :{fits}"));
    // One byte more is too long for `bob`, and just fits `#r`.
    a.send(&format!("PRIVMSG bob,#r :{fits}y"));
    a.expect(":chatroom 417 alice :Input line was too long");
    b.expect(&format!(":alice!~alice@irc PRIVMSG #r :{fits}y"));
    a.send(&format!("PRIVMSG #r :{fits}yy"));
    a.expect(":chatroom 417 alice :Input line was too long");
    // A notice is never answered, and not relayed either.
    a.send(&format!("NOTICE bob :{fits}yy"));
    a.send("PRIVMSG bob :short");
    b.expect(":alice!~alice@irc PRIVMSG bob :short");
    a.sync();
}

#[test]
fn without_n_anyone_speaks_to_the_channel() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut nc = Client::join(s.addr(), "nina", "#r");
    a.expect(":nina!native@native JOIN #r");
    let mut b = Irc::register(s.irc_addr(), "bob");
    b.send("PRIVMSG #r :hello from outside");
    b.expect(":chatroom 404 bob #r :Cannot send to channel");
    a.send("MODE #r -n");
    a.expect(":alice!~alice@irc MODE #r -n");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +t");
    a.expect_numeric("329");
    b.send("PRIVMSG #r :hello from outside");
    a.expect(":bob!~bob@irc PRIVMSG #r :hello from outside");
    nc.expect("MSG #r bob hello from outside");
    // Still no native MSG from outside: that needs membership natively.
    let mut out = Client::register(s.addr(), "otto");
    out.send("MSG #r hi");
    let refused = out.line();
    assert!(refused.starts_with("ERR MSG NOT_IN_ROOM "), "{refused}");
    a.send("MODE #r +n");
    a.expect(":alice!~alice@irc MODE #r +n");
    b.send("PRIVMSG #r :again");
    b.expect(":chatroom 404 bob #r :Cannot send to channel");
}

#[test]
fn a_secret_channel_is_hidden_from_those_outside() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#hid");
    a.join_channel("#open");
    a.send("MODE #hid +s");
    a.expect(":alice!~alice@irc MODE #hid +s");
    a.send("NAMES #hid");
    a.expect(":chatroom 353 alice @ #hid :@alice");
    a.expect(":chatroom 366 alice #hid :End of /NAMES list");
    a.send("LIST");
    a.expect_lines(&[
        ":chatroom 321 alice Channel :Users  Name",
        ":chatroom 322 alice #hid 1 :",
        ":chatroom 322 alice #open 1 :",
        ":chatroom 323 alice :End of /LIST",
    ]);
    let mut b = Irc::register(s.irc_addr(), "bob");
    b.send("LIST");
    b.expect_lines(&[
        ":chatroom 321 bob Channel :Users  Name",
        ":chatroom 322 bob #open 1 :",
        ":chatroom 323 bob :End of /LIST",
    ]);
    b.send("NAMES #hid");
    b.expect(":chatroom 366 bob #hid :End of /NAMES list");
    b.send("WHO #hid");
    b.expect(":chatroom 315 bob #hid :End of WHO list");
    let mut nc = Client::register(s.addr(), "nina");
    nc.send("LIST");
    nc.expect_lines(&["ROOM #open 1 no", "OK LIST 1"]);
    // A joiner sees the listing marked secret.
    b.send("JOIN #hid");
    b.expect(":bob!~bob@irc JOIN #hid");
    b.expect(":chatroom 353 bob @ #hid :@alice bob");
}

#[test]
fn bans_keep_out_whom_their_masks_match() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    a.send("MODE #r +b Bar");
    a.expect(":alice!~alice@irc MODE #r +b bar!*@*");
    a.send("MODE #r +b *!*@native");
    a.expect(":alice!~alice@irc MODE #r +b *!*@native");
    a.send("MODE #r b");
    let l = a.line();
    assert!(
        l.starts_with(":chatroom 367 alice #r bar!*@* alice "),
        "{l}"
    );
    let l = a.line();
    assert!(
        l.starts_with(":chatroom 367 alice #r *!*@native alice "),
        "{l}"
    );
    a.expect(":chatroom 368 alice #r :End of channel ban list");
    let mut b = Irc::register(s.irc_addr(), "BAR");
    b.send("JOIN #r");
    b.expect(":chatroom 474 BAR #r :Cannot join channel (+b)");
    b.send("MODE #r +b x");
    b.expect(":chatroom 442 BAR #r :You're not on that channel");
    let mut nc = Client::register(s.addr(), "nina");
    nc.send("JOIN #r");
    nc.expect("ERR JOIN BANNED #r keeps you out");
    // An invitation passes a ban, once.
    a.send("INVITE nina #r");
    a.expect(":chatroom 341 alice nina #r");
    nc.send("JOIN #r");
    nc.expect("JOIN #r nina");
    a.expect(":nina!native@native JOIN #r");
    a.send("MODE #r -b bar!*@*");
    a.expect(":alice!~alice@irc MODE #r -b bar!*@*");
    a.send("MODE #r -b bar!*@*");
    a.sync();
    b.send("JOIN #r");
    b.expect(":BAR!~BAR@irc JOIN #r");
}
