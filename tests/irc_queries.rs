//! IRC queries and modes end to end: MODE (channel and user), WHO (with
//! masks), WHOIS, WHOWAS, LUSERS, AWAY, ISON, USERHOST, with native users
//! among those asked about.

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
    a.send("MODE #r +p");
    a.expect(":chatroom 472 alice p :is unknown mode char to me");
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

    // +o makes operators, -o unmakes them: the owner too (until it next
    // joins), which stays the owner.
    a.send("MODE #r +o dave");
    a.expect(":chatroom 401 alice dave :No such nick/channel");
    let _d = Irc::register(s.irc_addr(), "dave");
    a.send("MODE #r +o dave");
    a.expect(":chatroom 441 alice dave #r :They aren't on that channel");
    // A non-operator naming itself hears 482, not silence.
    b.send("MODE #r +o bob");
    b.expect(":chatroom 482 bob #r :You're not channel operator");
    a.send("MODE #r +o bob");
    for who in [&mut a, &mut b, &mut c] {
        who.expect(":alice!~alice@irc MODE #r +o bob");
    }
    a.send("MODE #r +o bob");
    a.sync();
    b.send("TOPIC #r :bob's");
    b.expect(":bob!~bob@irc TOPIC #r :bob's");
    a.expect(":bob!~bob@irc TOPIC #r :bob's");
    c.expect(":bob!~bob@irc TOPIC #r :bob's");
    nc.expect("TOPIC #r bob bob's");
    a.send("MODE #r -o alice");
    for who in [&mut a, &mut b, &mut c] {
        who.expect(":alice!~alice@irc MODE #r -o alice");
    }
    a.send("TOPIC #r :mine?");
    a.expect(":chatroom 482 alice #r :You're not channel operator");
    b.send("NAMES #r");
    b.expect(":chatroom 353 bob = #r :alice @bob carol nina");
    b.expect(":chatroom 366 bob #r :End of /NAMES list");
    a.send("WHOIS bob");
    a.expect_numeric("311");
    a.expect(":chatroom 319 alice bob :@#r");
    a.until_numeric("318");
    // Natively the owner is still alice, and is an operator again once
    // back.
    nc.send("INFO #r");
    let info = nc.read_until_prefix("OK INFO");
    assert!(
        info.contains(&"INFO #r owner alice".to_string()),
        "{info:?}"
    );
    a.send("PART #r");
    a.expect(":alice!~alice@irc PART #r");
    a.send("JOIN #r");
    a.expect(":alice!~alice@irc JOIN #r");
    a.expect(":chatroom 332 alice #r :bob's");
    a.expect_numeric("333");
    a.expect(":chatroom 353 alice = #r :@alice @bob carol nina");
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

#[test]
fn who_with_masks_skips_invisible_strangers() {
    let s = start(NO_FLOOD);
    let mut a = Irc::register(s.irc_addr(), "alice");
    let mut e = Irc::register(s.irc_addr(), "evan");
    let _nc = Client::register(s.addr(), "eve");
    a.send("WHO *");
    a.expect_lines(&[
        ":chatroom 352 alice * ~alice irc chatroom alice H :0 Real alice",
        ":chatroom 352 alice * ~evan irc chatroom evan H :0 Real evan",
        ":chatroom 352 alice * native native chatroom eve H :0 eve",
        ":chatroom 315 alice * :End of WHO list",
    ]);
    // Wildcards on the nickname, the user name, the real name; any case.
    a.send("WHO EV?N");
    a.expect_lines(&[
        ":chatroom 352 alice * ~evan irc chatroom evan H :0 Real evan",
        ":chatroom 315 alice EV?N :End of WHO list",
    ]);
    a.send("WHO ~al*");
    a.expect(":chatroom 352 alice * ~alice irc chatroom alice H :0 Real alice");
    a.expect(":chatroom 315 alice ~al* :End of WHO list");
    a.send("WHO :*real E*");
    a.expect(":chatroom 352 alice * ~evan irc chatroom evan H :0 Real evan");
    a.expect(":chatroom 315 alice *real E* :End of WHO list");
    // +i hides from masks (not from the exact nickname) unless a channel
    // is shared.
    e.send("MODE evan +i");
    e.expect(":evan MODE evan :+i");
    a.send("WHO ev*");
    a.expect_lines(&[
        ":chatroom 352 alice * native native chatroom eve H :0 eve",
        ":chatroom 315 alice ev* :End of WHO list",
    ]);
    a.send("WHO evan");
    a.expect(":chatroom 352 alice * ~evan irc chatroom evan H :0 Real evan");
    a.expect(":chatroom 315 alice evan :End of WHO list");
    e.send("JOIN #both");
    e.until_numeric("366");
    a.send("JOIN #both");
    a.until_numeric("366");
    a.send("WHO evan*");
    a.expect(":chatroom 352 alice * ~evan irc chatroom evan H :0 Real evan");
    a.expect(":chatroom 315 alice evan* :End of WHO list");
}

#[test]
fn whowas_remembers_nicknames_let_go_newest_first() {
    let s = start(NO_FLOOD);
    let mut a = Irc::register(s.irc_addr(), "alice");
    a.send("WHOWAS bob");
    a.expect_lines(&[
        ":chatroom 406 alice bob :There was no such nickname",
        ":chatroom 369 alice bob :End of WHOWAS",
    ]);
    for user in ["one", "two"] {
        let mut b = Irc::connect(s.irc_addr());
        b.send("NICK bob");
        b.send(&format!("USER {user} 0 * :Bob {user}"));
        b.until_numeric("422");
        b.send("QUIT");
        b.expect_closed();
    }
    // A nickname changed away from counts too.
    let mut c = Irc::register(s.irc_addr(), "BOB");
    c.send("NICK carol");
    c.expect(":BOB!~BOB@irc NICK carol");
    a.send("WHOWAS Bob");
    a.expect_lines(&[
        ":chatroom 314 alice BOB ~BOB irc * :Real BOB",
        ":chatroom 312 alice BOB chatroom :chatroom chat server",
        ":chatroom 314 alice bob ~two irc * :Bob two",
        ":chatroom 312 alice bob chatroom :chatroom chat server",
        ":chatroom 314 alice bob ~one irc * :Bob one",
        ":chatroom 312 alice bob chatroom :chatroom chat server",
        ":chatroom 369 alice Bob :End of WHOWAS",
    ]);
    a.send("WHOWAS bob 1");
    a.expect(":chatroom 314 alice BOB ~BOB irc * :Real BOB");
    a.expect_numeric("312");
    a.expect(":chatroom 369 alice bob :End of WHOWAS");
    a.send("WHOWAS");
    a.expect(":chatroom 431 alice :No nickname given");
}

#[test]
fn lusers_counts_a_connection_still_registering_as_unknown() {
    let s = start(NO_FLOOD);
    let mut a = Irc::register(s.irc_addr(), "alice");
    let mut half = Irc::connect(s.irc_addr());
    half.send("NICK half");
    half.send("PING :x");
    half.expect(":chatroom PONG chatroom :x");
    a.send("LUSERS");
    a.expect_lines(&[
        ":chatroom 251 alice :There are 1 users and 0 invisible on 1 servers",
        ":chatroom 253 alice 1 :unknown connection(s)",
        ":chatroom 254 alice 0 :channels formed",
        ":chatroom 255 alice :I have 1 clients and 0 servers",
        ":chatroom 265 alice :Current local users: 1",
        ":chatroom 266 alice :Current global users: 1",
    ]);
}
