//! IRC queries and modes end to end: MODE (channel and user), WHO, WHOIS,
//! AWAY, ISON, USERHOST, with native users among those asked about.

mod common;
use common::irc::Irc;
use common::*;

const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

#[test]
fn channel_modes_key_and_ownership() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    let mut nc = Client::join(s.addr(), "nina", "#r");
    a.expect(":nina!native@native JOIN #r");
    b.expect(":nina!native@native JOIN #r");

    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +nt");
    let l = a.expect_numeric("329");
    assert!(l.starts_with(":chatroom 329 alice #r "), "{l}");
    a.send("MODE #r b");
    a.expect(":chatroom 368 alice #r :End of channel ban list");
    a.send("MODE #r +nt");
    a.sync();
    a.send("MODE #r -t");
    a.expect(":chatroom 472 alice t :is always set on this server");
    a.send("MODE #r +x");
    a.expect(":chatroom 472 alice x :is unknown mode char to me");

    // A key, set by the owner: IRC members see it, native ones nothing.
    b.send("MODE #r +k nope");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    a.send("MODE #r +k");
    a.expect(":chatroom 461 alice MODE :Not enough parameters");
    a.send("MODE #r +k sesame");
    a.expect(":alice!~alice@irc MODE #r +k sesame");
    b.expect(":alice!~alice@irc MODE #r +k sesame");
    a.send("MODE #r");
    a.expect(":chatroom 324 alice #r +knt *");
    a.expect_numeric("329");
    nc.sync();
    let mut c = Irc::register(s.irc_addr(), "carol");
    c.send("JOIN #r");
    c.expect(":chatroom 475 carol #r :Cannot join channel (+k)");
    c.send("JOIN #r sesame");
    c.expect(":carol!~carol@irc JOIN #r");
    c.until_numeric("366");
    a.expect(":carol!~carol@irc JOIN #r");
    b.expect(":carol!~carol@irc JOIN #r");
    nc.expect("JOIN #r carol");
    nc.send("INFO #r");
    let info = nc.read_until_prefix("OK INFO");
    assert!(
        info.contains(&"INFO #r private yes".to_string()),
        "{info:?}"
    );
    a.send("MODE #r -k");
    for who in [&mut a, &mut b, &mut c] {
        who.expect(":alice!~alice@irc MODE #r -k *");
    }

    // +o gives the room away: one operator, its owner.
    a.send("MODE #r -o alice");
    a.expect(
        ":chatroom 472 alice o :cannot be removed: a channel keeps one operator, its owner; give it with +o <nick>",
    );
    a.send("MODE #r +o dave");
    a.expect(":chatroom 441 alice dave #r :They aren't on that channel");
    a.send("MODE #r +o bob");
    for who in [&mut a, &mut b, &mut c] {
        who.expect(":alice!~alice@irc MODE #r +o-o bob alice");
    }
    a.send("TOPIC #r :mine?");
    a.expect(":chatroom 482 alice #r :You're not channel operator");
    b.send("TOPIC #r :bob's");
    b.expect(":bob!~bob@irc TOPIC #r :bob's");
    nc.expect("TOPIC #r bob bob's");
    b.send("NAMES #r");
    b.expect(":chatroom 353 bob = #r :alice @bob carol nina");
    b.expect(":chatroom 366 bob #r :End of /NAMES list");
    // Native users see the new owner in INFO.
    nc.send("INFO #r");
    let info = nc.read_until_prefix("OK INFO");
    assert!(info.contains(&"INFO #r owner bob".to_string()), "{info:?}");
}

#[test]
fn user_modes() {
    let s = start(NO_FLOOD);
    let mut a = Irc::register(s.irc_addr(), "alice");
    let _b = Irc::register(s.irc_addr(), "bob");
    a.send("MODE alice");
    a.expect(":chatroom 221 alice +");
    a.send("MODE alice +i");
    a.expect(":alice MODE alice :+i");
    a.send("MODE alice +i");
    a.sync();
    a.send("MODE Alice");
    a.expect(":chatroom 221 alice +i");
    // LUSERS counts invisible users apart.
    a.send("LUSERS");
    a.expect(":chatroom 251 alice :There are 1 users and 1 invisible on 1 servers");
    a.until_numeric("266");
    a.send("MODE alice +z");
    a.expect(":chatroom 501 alice :Unknown MODE flag");
    a.send("MODE bob +i");
    a.expect(":chatroom 502 alice :Can't change mode for other users");
    a.send("MODE alice -i");
    a.expect(":alice MODE alice :-i");
}

#[test]
fn who_whois_away_ison_userhost() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    let _nc = Client::join(s.addr(), "nina", "#r");
    a.expect(":nina!native@native JOIN #r");
    b.expect(":nina!native@native JOIN #r");

    b.send("AWAY :at lunch");
    b.expect(":chatroom 306 bob :You have been marked as being away");
    a.send("WHO #r");
    a.expect_lines(&[
        ":chatroom 352 alice #r ~alice irc chatroom alice H@ :0 Real alice",
        ":chatroom 352 alice #r ~bob irc chatroom bob G :0 Real bob",
        ":chatroom 352 alice #r native native chatroom nina H :0 nina",
        ":chatroom 315 alice #r :End of WHO list",
    ]);
    a.send("WHO nina");
    a.expect_lines(&[
        ":chatroom 352 alice * native native chatroom nina H :0 nina",
        ":chatroom 315 alice nina :End of WHO list",
    ]);
    a.send("WHO nobody");
    a.expect(":chatroom 315 alice nobody :End of WHO list");

    a.send("WHOIS bob");
    a.expect_lines(&[
        ":chatroom 311 alice bob ~bob irc * :Real bob",
        ":chatroom 319 alice bob :#r",
        ":chatroom 312 alice bob chatroom :chatroom chat server",
        ":chatroom 301 alice bob :at lunch",
        ":chatroom 318 alice bob :End of /WHOIS list",
    ]);
    b.send("WHOIS alice");
    b.expect_lines(&[
        ":chatroom 311 bob alice ~alice irc * :Real alice",
        ":chatroom 319 bob alice :@#r",
        ":chatroom 312 bob alice chatroom :chatroom chat server",
        ":chatroom 318 bob alice :End of /WHOIS list",
    ]);
    a.send("WHOIS nobody");
    a.expect_lines(&[
        ":chatroom 401 alice nobody :No such nick/channel",
        ":chatroom 318 alice nobody :End of /WHOIS list",
    ]);

    // A message to an away user is answered with why.
    a.send("PRIVMSG bob :lunch?");
    b.expect(":alice!~alice@irc PRIVMSG bob :lunch?");
    a.expect(":chatroom 301 alice bob :at lunch");
    a.send("NOTICE bob :lunch?");
    b.expect(":alice!~alice@irc NOTICE bob :lunch?");
    a.sync();

    a.send("USERHOST bob nina nobody alice");
    a.expect(":chatroom 302 alice :bob=-~bob@irc nina=+native@native alice=+~alice@irc");
    a.send("ISON nobody nina BOB");
    a.expect(":chatroom 303 alice :nina bob");

    b.send("AWAY");
    b.expect(":chatroom 305 bob :You are no longer marked as being away");
    a.send("USERHOST bob");
    a.expect(":chatroom 302 alice :bob=+~bob@irc");
}
