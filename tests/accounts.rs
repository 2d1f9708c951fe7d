//! Accounts end to end: REGISTER, LOGIN, LOGOUT, PASSWD and their refusals,
//! the back-off after wrong passwords, reserved nicknames, and what rooms
//! keep by account (ownership, operators, bans) over a restart.

mod common;

use chatroom::config::Config;
use common::{start_config, Client};

fn config(toml: &str) -> Config {
    let mut config = Config::from_toml(toml).expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    config.irc.listen = String::new();
    config.http.listen = String::new();
    config
}

/// Reads the next line and asserts it starts with `prefix`; returns it.
fn expect_prefix(c: &mut Client, prefix: &str) -> String {
    let line = c.line();
    assert!(
        line.starts_with(prefix),
        "[{}] {line:?} is not {prefix}...",
        c.name
    );
    line
}

/// JOINs `room` (already existing or not) and reads to `OK JOIN`.
fn join(c: &mut Client, room: &str) -> Vec<String> {
    c.send(&format!("JOIN {room}"));
    c.read_until_prefix("OK JOIN ")
}

const WELCOME: &str =
    "SERVER alice is a registered account: LOGIN to it or change your nickname within";

#[test]
fn register_login_logout_and_passwd() {
    let server = start_config(config(""), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER alice short");
    alice.expect("ERR REGISTER WEAK_PASSWORD passwords need at least 8 characters");
    // Too long is refused with the same code, and says so.
    alice.send(&format!("REGISTER alice {}", "x".repeat(257)));
    alice.expect("ERR REGISTER WEAK_PASSWORD passwords may have at most 256 bytes");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    alice.send("INFO");
    let info = alice.read_until_prefix("OK INFO");
    assert_eq!(info[info.len() - 2], "INFO account alice");
    alice.send("REGISTER other password-two");
    alice.expect("ERR REGISTER ALREADY_LOGGED_IN you are logged in already: LOGOUT first");
    alice.send("LOGIN alice password-one");
    alice.expect("ERR LOGIN ALREADY_LOGGED_IN you are logged in already: LOGOUT first");
    alice.send("LOGOUT");
    alice.expect("OK LOGOUT");
    // On the account's nickname, logged out: on the clock like anyone.
    expect_prefix(&mut alice, WELCOME);
    alice.send("LOGOUT");
    alice.expect("ERR LOGOUT NOT_LOGGED_IN you are not logged in");
    alice.send("PASSWD password-one password-two");
    alice.expect("ERR PASSWD NOT_LOGGED_IN LOGIN first");
    alice.send("INFO");
    let info = alice.read_until_prefix("OK INFO");
    assert!(
        !info.iter().any(|l| l.starts_with("INFO account")),
        "{info:?}"
    );

    // Accounts are named as nicknames are: any case finds it.
    alice.send("LOGIN ALICE password-one");
    alice.expect("OK LOGIN alice");
    alice.send("PASSWD password-one tiny");
    alice.expect("ERR PASSWD WEAK_PASSWORD passwords need at least 8 characters");
    alice.send(&format!("PASSWD password-one {}", "x".repeat(257)));
    alice.expect("ERR PASSWD WEAK_PASSWORD passwords may have at most 256 bytes");
    alice.send("PASSWD password-one password-two");
    alice.expect("OK PASSWD");

    // Another connection: the new password works, the old does not; a
    // name already an account's is refused; one user's nickname is theirs.
    let mut bob = Client::register(addr, "bob");
    bob.send("REGISTER alice password-three");
    bob.expect("ERR REGISTER NICK_IN_USE alice is another user's nickname");
    bob.send("LOGIN alice password-two");
    bob.expect("OK LOGIN alice");
    bob.send("LOGOUT");
    bob.expect("OK LOGOUT");
    bob.send("REGISTER bobby password-four");
    bob.expect("OK REGISTER bobby");
    bob.send("LOGOUT");
    bob.expect("OK LOGOUT");
    bob.send("LOGIN bobby password-four");
    bob.expect("OK LOGIN bobby");
    let mut carol = Client::register(addr, "carol");
    carol.send("REGISTER BOBBY password-five");
    carol.expect("ERR REGISTER ACCOUNT_EXISTS the account BOBBY exists");
    carol.sync();
    bob.sync();
    alice.sync();
}

/// The password gate's back-off, made quick to reach: from a connection's
/// first wrong password on (addresses and accounts are let be here).
const GATE: &str = "[limits]
guess_failures_per_conn = 1
guess_failures_per_ip = 100
guess_failures_per_target = 100";

#[test]
fn unknown_accounts_and_wrong_passwords_answer_alike_and_back_off() {
    let server = start_config(config(GATE), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");

    let bad = "ERR LOGIN BAD_LOGIN unknown account or wrong password";
    let later = "TRY_LATER too many wrong passwords lately, or too many checks: try again later";
    let mut guesser = Client::register(addr, "guesser");
    guesser.send("LOGIN nobody password-one");
    guesser.expect(bad);
    // Backed off: even the right password waits, and is not checked.
    guesser.send("LOGIN alice password-one");
    guesser.expect(&format!("ERR LOGIN {later}"));
    let mut other = Client::register(addr, "other");
    other.send("LOGIN alice wrong-password");
    other.expect(bad);
    other.send("LOGIN alice password-one");
    other.expect(&format!("ERR LOGIN {later}"));
    // The back-off is the subject here: only time ends it (1 s).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    other.send("LOGIN alice wrong-again");
    other.expect(bad);
    // Doubled: 2 s now.
    other.send("LOGIN alice password-one");
    other.expect(&format!("ERR LOGIN {later}"));
    guesser.send("LOGIN alice password-one");
    guesser.expect("OK LOGIN alice");
    // A wrong old password in PASSWD counts too.
    guesser.send("PASSWD wrong-password password-two");
    guesser.expect("ERR PASSWD BAD_LOGIN unknown account or wrong password");
    guesser.send("PASSWD password-one password-two");
    guesser.expect(&format!("ERR PASSWD {later}"));
    // Unrelated commands are not held back.
    guesser.sync();
    other.sync();
}

#[test]
fn configuration_closes_registration_disables_accounts_or_requires_a_login() {
    let server = start_config(config("[accounts]\nregistration = \"closed\""), None);
    let mut c = Client::register(server.addr(), "alice");
    c.send("REGISTER password-one");
    c.expect("ERR REGISTER REGISTRATION_CLOSED registration is closed");
    c.send("LOGIN alice password-one");
    c.expect("ERR LOGIN BAD_LOGIN unknown account or wrong password");
    drop(c);
    server.shutdown();

    for toml in ["[accounts]\nenabled = false", "[history]\nenabled = false"] {
        let server = start_config(config(toml), None);
        let mut c = Client::register(server.addr(), "alice");
        c.send("REGISTER password-one");
        c.expect("ERR REGISTER ACCOUNTS_DISABLED accounts are disabled on this server");
        c.send("LOGIN alice password-one");
        c.expect("ERR LOGIN ACCOUNTS_DISABLED accounts are disabled on this server");
        drop(c);
        server.shutdown();
    }

    let server = start_config(config("[accounts]\nrequire_login = true"), None);
    let mut c = Client::connect(server.addr());
    c.send("JOIN #lobby");
    c.expect("ERR JOIN NO_NICK set a nickname first: NICK <name>");
    c.send("NICK alice");
    c.expect("OK NICK alice");
    c.name = "alice".into();
    let required =
        "LOGIN_REQUIRED this server needs a login: LOGIN <account> <password> (or REGISTER)";
    c.send("JOIN #lobby");
    c.expect(&format!("ERR JOIN {required}"));
    c.send("MSG #lobby hi");
    c.expect(&format!("ERR MSG {required}"));
    c.send("HELP LOGIN");
    c.expect("HELP LOGIN <account> <password> - log in to your account");
    c.expect("OK HELP");
    c.send("REGISTER password-one");
    c.expect("OK REGISTER alice");
    join(&mut c, "#lobby");
    c.send("MSG #lobby hi");
    c.expect("OK MSG #lobby");
}

#[test]
fn a_stranger_on_a_reserved_nick_is_renamed_after_the_grace() {
    let server = start_config(config("[accounts]\nnick_grace_secs = 1"), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    alice.send("QUIT");
    alice.expect("OK QUIT");
    drop(alice);

    let mut bob = Client::register(addr, "bob");
    join(&mut bob, "#lobby");
    let mut mallory = Client::register(addr, "mallory");
    join(&mut mallory, "#lobby");
    bob.expect("JOIN #lobby mallory");
    mallory.send("NICK alice");
    mallory.expect("NICK mallory alice");
    mallory.expect("OK NICK alice");
    mallory.expect(&format!("{WELCOME} 1 seconds, or you will be renamed"));
    bob.expect("NICK mallory alice");
    // After the grace, without a word from the client.
    let renamed = expect_prefix(&mut mallory, "NICK alice Guest");
    let guest = renamed.rsplit(' ').next().unwrap().to_string();
    mallory.expect(&format!(
        "SERVER you were renamed to {guest} (your nickname is a registered account)"
    ));
    bob.expect(&format!("NICK alice {guest}"));
    mallory.send("NAMES #lobby");
    mallory.expect(&format!("NAMES #lobby bob {guest}"));
    mallory.expect("OK NAMES #lobby 2");

    // Logging in within the grace keeps the nickname.
    let mut eve = Client::register(addr, "eve");
    eve.send("NICK ALICE");
    eve.expect("NICK eve ALICE");
    eve.expect("OK NICK ALICE");
    eve.expect(&format!(
        "{} 1 seconds, or you will be renamed",
        WELCOME.replace("alice", "ALICE")
    ));
    eve.send("LOGIN alice password-one");
    eve.expect("OK LOGIN alice");
    // The rename would have come by now (the grace is 1 s).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    eve.sync();
    eve.send("NICK ALICE");
    eve.expect("OK NICK ALICE");
    // Logging out puts the user back on the clock.
    eve.send("LOGOUT");
    eve.expect("OK LOGOUT");
    eve.expect(&format!(
        "{} 1 seconds, or you will be renamed",
        WELCOME.replace("alice", "ALICE")
    ));
    expect_prefix(&mut eve, "NICK ALICE Guest");
    expect_prefix(&mut eve, "SERVER you were renamed to Guest");
    bob.sync();
}

#[test]
fn ownership_survives_a_restart_for_the_account_not_the_nick() {
    let cfg = config("");
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    join(&mut alice, "#den");
    alice.send("INFO #den");
    let info = alice.read_until_prefix("OK INFO #den");
    assert_eq!(info[1], "INFO #den owner alice");
    assert_eq!(info[2], "INFO #den account alice");
    // A room made without an account belongs to the nickname, as before.
    let mut dave = Client::register(addr, "dave");
    join(&mut dave, "#open");
    dave.send("INFO #open");
    let info = dave.read_until_prefix("OK INFO #open");
    assert_eq!(info[1], "INFO #open owner dave");
    assert_eq!(info[2], "INFO #open private no");
    alice.sync();
    dave.sync();
    let data = server.shutdown();
    drop((alice, dave));

    let server = start_config(cfg, Some(data));
    let addr = server.addr();
    // A stranger on the owner's nickname owns nothing.
    let mut mallory = Client::register(addr, "alice");
    expect_prefix(&mut mallory, WELCOME);
    join(&mut mallory, "#den");
    mallory.send("TOPIC #den taken");
    mallory.expect("ERR TOPIC NOT_OWNER only the owner of #den may set its topic");
    mallory.send("BAN #den bob");
    mallory.expect("ERR BAN NOT_OWNER only the operators of #den may do that");
    mallory.send("OWNER #den alice");
    mallory.expect("ERR OWNER NOT_OWNER only the owner of #den may do that");
    // The account's holder owns it, under any nickname.
    let mut alice = Client::register(addr, "alice2");
    alice.send("LOGIN alice password-one");
    alice.expect("OK LOGIN alice");
    join(&mut alice, "#den");
    mallory.expect("JOIN #den alice2");
    alice.send("TOPIC #den mine");
    alice.expect_lines(&["TOPIC #den alice2 mine", "OK TOPIC #den mine"]);
    mallory.expect("TOPIC #den alice2 mine");
    alice.send("KICK #den alice");
    alice.expect_lines(&["KICK #den alice alice2", "OK KICK #den alice"]);
    mallory.expect("KICK #den alice alice2");
    // Whoever holds the nickname owns a nickname's room.
    let mut dave = Client::register(addr, "dave");
    join(&mut dave, "#open");
    dave.send("TOPIC #open still mine");
    dave.expect_lines(&["TOPIC #open dave still mine", "OK TOPIC #open still mine"]);
    alice.sync();
    mallory.sync();
}

#[test]
fn bans_persist_over_a_restart_and_match_accounts() {
    let cfg = config("");
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    join(&mut alice, "#den");
    alice.send("BAN #den mallory");
    alice.expect("OK BAN #den $a:mallory");
    alice.send("BAN #den eve!*@*");
    alice.expect("OK BAN #den eve!*@*");
    alice.send("BAN #den");
    expect_prefix(&mut alice, "BAN #den $a:mallory alice 20");
    expect_prefix(&mut alice, "BAN #den eve!*@* alice 20");
    alice.expect("OK BAN #den");
    let mut bob = Client::register(addr, "bob");
    bob.send("BAN #den bob");
    bob.expect("ERR BAN NOT_IN_ROOM you are not in #den");
    alice.sync();
    let data = server.shutdown();
    drop((alice, bob));

    let server = start_config(cfg, Some(data));
    let addr = server.addr();
    let mut eve = Client::register(addr, "eve");
    eve.send("JOIN #den");
    eve.expect("ERR JOIN BANNED #den keeps you out");
    // The account ban follows the account, not the nickname.
    let mut mallory = Client::register(addr, "nobody");
    join(&mut mallory, "#den");
    mallory.send("PART #den");
    mallory.expect("OK PART #den");
    mallory.send("REGISTER mallory password-two");
    mallory.expect("OK REGISTER mallory");
    mallory.send("JOIN #den");
    mallory.expect("ERR JOIN BANNED #den keeps you out");
    let mut alice = Client::register(addr, "alice");
    expect_prefix(&mut alice, WELCOME);
    alice.send("LOGIN alice password-one");
    alice.expect("OK LOGIN alice");
    join(&mut alice, "#den");
    alice.send("UNBAN #den mallory");
    alice.expect("OK UNBAN #den $a:mallory");
    alice.send("BAN #den");
    expect_prefix(&mut alice, "BAN #den eve!*@* alice 20");
    alice.expect("OK BAN #den");
    join(&mut mallory, "#den");
    alice.expect("JOIN #den nobody");
}

#[test]
fn op_deop_and_owner_go_by_account() {
    let cfg = config("");
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    join(&mut alice, "#den");
    let mut bob = Client::register(addr, "bob");
    bob.send("REGISTER password-two");
    bob.expect("OK REGISTER bob");
    join(&mut bob, "#den");
    alice.expect("JOIN #den bob");
    let mut carol = Client::register(addr, "carol");
    join(&mut carol, "#den");
    alice.expect("JOIN #den carol");
    bob.expect("JOIN #den carol");

    bob.send("OP #den bob");
    bob.expect("ERR OP NOT_OWNER only the owner of #den may do that");
    alice.send("OP #den zed");
    alice.expect("ERR OP NO_SUCH_NICK zed is not in #den");
    alice.send("OP #den bob");
    alice.expect("OK OP #den bob");
    bob.send("TOPIC #den by bob");
    bob.expect_lines(&["TOPIC #den bob by bob", "OK TOPIC #den by bob"]);
    alice.expect("TOPIC #den bob by bob");
    carol.expect("TOPIC #den bob by bob");
    alice.send("OWNER #den carol");
    alice.expect("ERR OWNER NOT_LOGGED_IN carol is not logged in to an account");
    alice.sync();
    let data = server.shutdown();
    drop((alice, bob, carol));

    let server = start_config(cfg, Some(data));
    let addr = server.addr();
    // An operator by account is one again after the restart, under any
    // nickname; logging in while in the room makes it one too.
    let mut bob = Client::register(addr, "robert");
    join(&mut bob, "#den");
    bob.send("TOPIC #den no");
    bob.expect("ERR TOPIC NOT_OWNER only the owner of #den may set its topic");
    bob.send("LOGIN bob password-two");
    bob.expect("OK LOGIN bob");
    bob.send("TOPIC #den yes");
    bob.expect_lines(&["TOPIC #den robert yes", "OK TOPIC #den yes"]);
    let mut alice = Client::register(addr, "alice");
    expect_prefix(&mut alice, WELCOME);
    alice.send("LOGIN alice password-one");
    alice.expect("OK LOGIN alice");
    join(&mut alice, "#den");
    bob.expect("JOIN #den alice");
    alice.send("DEOP #den robert");
    alice.expect("OK DEOP #den robert");
    bob.send("TOPIC #den no");
    bob.expect("ERR TOPIC NOT_OWNER only the owner of #den may set its topic");
    // Giving the room away: the new owner's account, the old has no say.
    alice.send("OWNER #den robert");
    alice.expect("OK OWNER #den bob");
    alice.send("OP #den alice");
    alice.expect("ERR OP NOT_OWNER only the owner of #den may do that");
    bob.send("INFO #den");
    let info = bob.read_until_prefix("OK INFO #den");
    assert_eq!(info[1], "INFO #den owner robert");
    assert_eq!(info[2], "INFO #den account bob");
    bob.send("DEOP #den alice");
    bob.expect("OK DEOP #den alice");
    alice.send("TOPIC #den hers");
    alice.expect("ERR TOPIC NOT_OWNER only the owner of #den may set its topic");
    alice.sync();
    bob.sync();
}

#[test]
fn irc_clients_log_in_with_sasl_plain_and_own_by_account() {
    use common::irc::{Irc, SERVER};
    let mut cfg = config("");
    cfg.irc.listen = "127.0.0.1:0".into();
    let server = start_config(cfg, None);
    let mut alice = Client::register(server.addr(), "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    join(&mut alice, "#den");

    let sasl = |nick: &str, payload: &str| {
        let mut c = Irc::connect(server.irc_addr());
        c.name = nick.into();
        c.send("CAP LS 302");
        expect_irc_prefix(&mut c, &format!(":{SERVER} CAP * LS :"));
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :Real {nick}"));
        c.send("CAP REQ :sasl extended-join");
        c.expect(&format!(":{SERVER} CAP {nick} ACK :sasl extended-join"));
        c.send("AUTHENTICATE SCRAM-SHA-256");
        c.expect(&format!(
            ":{SERVER} 908 {nick} PLAIN :are available SASL mechanisms"
        ));
        c.expect(&format!(":{SERVER} 904 {nick} :SASL authentication failed"));
        c.send("AUTHENTICATE PLAIN");
        c.expect("AUTHENTICATE +");
        c.send(&format!("AUTHENTICATE {payload}"));
        c
    };
    // "\0alice\0wrong-password"
    let mut bad = sasl("mal", "AGFsaWNlAHdyb25nLXBhc3N3b3Jk");
    bad.expect(&format!(":{SERVER} 904 mal :SASL authentication failed"));
    // "\0alice\0password-one"
    let mut al = sasl("al", "AGFsaWNlAHBhc3N3b3JkLW9uZQ==");
    al.expect(&format!(
        ":{SERVER} 900 al al!~al@irc alice :You are now logged in as alice"
    ));
    al.expect(&format!(":{SERVER} 903 al :SASL authentication successful"));
    al.send("AUTHENTICATE PLAIN");
    al.expect(&format!(
        ":{SERVER} 907 al :You have already authenticated using SASL"
    ));
    al.send("CAP END");
    al.until_numeric("422");
    // extended-join shows the account; the account owns #den.
    al.send("JOIN #den");
    al.expect(":al!~al@irc JOIN #den alice :Real al");
    al.until_numeric("366");
    alice.expect("JOIN #den al");
    al.send("TOPIC #den :set over IRC");
    al.expect(":al!~al@irc TOPIC #den :set over IRC");
    alice.expect("TOPIC #den al set over IRC");
    // account-notify: a member logging in or out, to those with the cap.
    let mut watcher = Irc::connect(server.irc_addr());
    watcher.name = "w".into();
    watcher.send("CAP REQ :account-notify");
    watcher.expect(&format!(":{SERVER} CAP * ACK :account-notify"));
    watcher.send("NICK w");
    watcher.send("USER w 0 * :Real w");
    watcher.send("CAP END");
    watcher.until_numeric("422");
    watcher.join_channel("#den");
    al.expect(":w!~w@irc JOIN #den * :Real w");
    alice.expect("JOIN #den w");
    alice.send("LOGOUT");
    alice.expect("OK LOGOUT");
    expect_prefix(&mut alice, WELCOME);
    watcher.expect(":alice!native@native ACCOUNT *");
    alice.send("LOGIN alice password-one");
    alice.expect("OK LOGIN alice");
    watcher.expect(":alice!native@native ACCOUNT alice");
    watcher.sync();
    // WHOIS shows the account, of an IRC user and of a native one.
    for (nick, account) in [("al", "alice"), ("alice", "alice")] {
        al.send(&format!("WHOIS {nick}"));
        let lines = al.until_numeric("318");
        let want = format!(":{SERVER} 330 al {nick} {account} :is logged in as");
        assert!(lines.contains(&want), "{lines:#?}");
    }
    al.sync();
}

/// Reads the next IRC line and asserts it starts with `prefix`.
fn expect_irc_prefix(c: &mut common::irc::Irc, prefix: &str) -> String {
    let line = c.line();
    assert!(line.starts_with(prefix), "{line:?} is not {prefix}...");
    line
}

#[test]
fn irc_clients_on_a_reserved_nick_are_renamed_too() {
    use common::irc::{Irc, SERVER};
    let mut cfg = config("[accounts]\nnick_grace_secs = 1");
    cfg.irc.listen = "127.0.0.1:0".into();
    let server = start_config(cfg, None);
    let mut alice = Client::register(server.addr(), "alice");
    alice.send("REGISTER password-one");
    alice.expect("OK REGISTER alice");
    alice.send("NICK alice2");
    alice.expect_lines(&["NICK alice alice2", "OK NICK alice2"]);
    join(&mut alice, "#den");

    let mut irc = Irc::join(server.irc_addr(), "al", "#den");
    alice.expect("JOIN #den al");
    irc.send("NICK alice");
    irc.expect(":al!~al@irc NICK alice");
    irc.expect(&format!(
        ":{SERVER} NOTICE alice :alice is a registered account: log in to it (SASL) or change your nickname within 1 seconds, or you will be renamed"
    ));
    alice.expect("NICK al alice");
    let renamed = expect_irc_prefix(&mut irc, ":alice!~al@irc NICK Guest");
    let guest = renamed.rsplit(' ').next().unwrap().to_string();
    alice.expect(&format!("NICK alice {guest}"));
    irc.sync();
}

#[test]
fn a_private_server_wants_sasl_from_irc_clients() {
    use common::irc::{Irc, SERVER};
    let mut cfg = config("[accounts]\nrequire_login = true");
    cfg.irc.listen = "127.0.0.1:0".into();
    let server = start_config(cfg, None);
    let mut alice = Client::connect(server.addr());
    alice.send("REGISTER alice password-one");
    alice.expect("OK REGISTER alice");

    let mut guest = Irc::connect(server.irc_addr());
    guest.name = "guest".into();
    guest.send("NICK guest");
    guest.send("USER guest 0 * :Guest");
    guest.expect(&format!(
        ":{SERVER} FAIL * ACCOUNT_REQUIRED :You must log in with SASL to use this server"
    ));
    guest.expect("ERROR :Closing Link: irc (Log in with SASL first)");
    guest.expect_closed();

    let mut al = Irc::connect(server.irc_addr());
    al.name = "al".into();
    al.send("CAP REQ :sasl");
    al.expect(&format!(":{SERVER} CAP * ACK :sasl"));
    al.send("NICK al");
    al.send("USER al 0 * :Al");
    al.send("AUTHENTICATE PLAIN");
    al.expect("AUTHENTICATE +");
    // "\0alice\0password-one"
    al.send("AUTHENTICATE AGFsaWNlAHBhc3N3b3JkLW9uZQ==");
    expect_irc_prefix(&mut al, &format!(":{SERVER} 900 al "));
    expect_irc_prefix(&mut al, &format!(":{SERVER} 903 al "));
    al.send("CAP END");
    al.until_numeric("422");
    al.sync();
}

#[test]
fn sasl_plain_comes_in_chunks_of_400() {
    use base64ct::{Base64, Encoding as _};
    use common::irc::{Irc, SERVER};
    let mut cfg = config("");
    cfg.irc.listen = "127.0.0.1:0".into();
    let server = start_config(cfg, None);
    // Base64 of `account NUL account NUL password`: 408 characters (a
    // chunk of 400, then 8), and exactly 400 (then `+`, as the spec says).
    let cases = [
        ("a".repeat(24), "x".repeat(256)),
        ("b".repeat(24), "y".repeat(250)),
    ];
    for (i, (account, password)) in cases.iter().enumerate() {
        let mut native = Client::register(server.addr(), &format!("reg{i}"));
        native.send(&format!("REGISTER {account} {password}"));
        native.expect(&format!("OK REGISTER {account}"));
        let raw = format!("{account}\0{account}\0{password}");
        let mut buf = [0u8; 1024];
        let data = Base64::encode(raw.as_bytes(), &mut buf).expect("fits");
        let (first, rest) = data.split_at(400);
        let nick = format!("n{i}");
        let mut c = Irc::connect(server.irc_addr());
        c.name = nick.clone();
        c.send("CAP REQ :sasl");
        c.expect(&format!(":{SERVER} CAP * ACK :sasl"));
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :Real"));
        c.send("AUTHENTICATE PLAIN");
        c.expect("AUTHENTICATE +");
        c.send(&format!("AUTHENTICATE {first}"));
        c.send(&format!(
            "AUTHENTICATE {}",
            if rest.is_empty() { "+" } else { rest }
        ));
        c.expect(&format!(
            ":{SERVER} 900 {nick} {nick}!~{nick}@irc {account} :You are now logged in as {account}"
        ));
        c.expect(&format!(
            ":{SERVER} 903 {nick} :SASL authentication successful"
        ));
    }
    // A chunk over 400 characters, or chunks past any PLAIN message we
    // accept: 905, and a new try starts afresh.
    let mut c = Irc::connect(server.irc_addr());
    c.name = "z".into();
    c.send("CAP REQ :sasl");
    c.expect(&format!(":{SERVER} CAP * ACK :sasl"));
    c.send("NICK z");
    c.send("USER z 0 * :Real");
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    c.send(&format!("AUTHENTICATE {}", "A".repeat(401)));
    c.expect(&format!(":{SERVER} 905 z :SASL message too long"));
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    for _ in 0..4 {
        c.send(&format!("AUTHENTICATE {}", "A".repeat(400)));
    }
    c.send("AUTHENTICATE AAAA");
    c.expect(&format!(":{SERVER} 905 z :SASL message too long"));
}
