//! Server operators end to end: OPER, KILL, KLINE/UNKLINE (persisted,
//! expiring), WALLOPS and CLOSE, from native and IRC clients at once.

mod common;

use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, Version};
use chatroom::config::Config;
use common::irc::{Irc, SERVER};
use common::{start_config, Client, TestServer};

const PASSWORD: &str = "wonderland";

/// An argon2id PHC hash of `password` at a low cost: the server verifies
/// with the parameters the hash carries, and tests need not wait.
fn cheap_hash(password: &str) -> String {
    let params = Params::new(1024, 1, 1, None).expect("params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .expect("hash")
        .to_string()
}

/// Two operator blocks: `alice` from anywhere, `remote` only from
/// 10.0.0.0/8 (which no test client is).
fn config() -> Config {
    let hash = cheap_hash(PASSWORD);
    let mut config = Config::from_toml(&format!(
        "[limits]\nflood_burst = 1000\nflood_rate_per_sec = 1000.0\n\
         [operators.alice]\npassword = \"{hash}\"\n\
         [operators.remote]\npassword = \"{hash}\"\nhosts = [\"10.0.0.0/8\"]\n"
    ))
    .expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    config
}

fn start() -> TestServer {
    start_config(config(), None)
}

/// A native client that is an operator.
fn native_oper(server: &TestServer, nick: &str) -> Client {
    let mut c = Client::register(server.addr(), nick);
    c.send(&format!("OPER alice {PASSWORD}"));
    c.expect("OK OPER");
    c
}

/// An IRC client that is an operator.
fn irc_oper(server: &TestServer, nick: &str) -> Irc {
    let mut c = Irc::register(server.irc_addr(), nick);
    c.send(&format!("OPER alice {PASSWORD}"));
    c.expect(&format!(
        ":{SERVER} 381 {nick} :You are now an IRC operator"
    ));
    c.expect(&format!(":{nick} MODE {nick} :+o"));
    c
}

#[test]
fn oper_grants_rights_and_everyone_else_is_refused() {
    let server = start();
    let mut carol = Client::register(server.addr(), "carol");
    let refusal = "NO_PRIVILEGES only server operators may do that (OPER <name> <password>)";
    for (line, verb) in [
        ("KILL bob", "KILL"),
        ("KLINE", "KLINE"),
        ("KLINE 192.0.2.1 1h spam", "KLINE"),
        ("UNKLINE 192.0.2.1", "UNKLINE"),
        ("WALLOPS hello", "WALLOPS"),
        ("CLOSE #room", "CLOSE"),
    ] {
        carol.send(line);
        carol.expect(&format!("ERR {verb} {refusal}"));
    }
    // A wrong password and an unknown name: one answer.
    carol.send("OPER alice guess");
    carol.expect("ERR OPER BAD_LOGIN wrong operator name or password");
    carol.send(&format!("OPER nobody {PASSWORD}"));
    carol.expect("ERR OPER BAD_LOGIN wrong operator name or password");
    carol.send(&format!("OPER alice {PASSWORD}"));
    carol.expect("OK OPER");
    carol.send("KLINE");
    carol.expect("OK KLINE 0");
    carol.send("OPER");
    carol.expect("ERR OPER BAD_SYNTAX usage: OPER <name> <password>");

    // The right password from an address the block does not allow.
    let mut dan = Client::register(server.addr(), "dan");
    dan.send(&format!("OPER remote {PASSWORD}"));
    dan.expect("ERR OPER BAD_LOGIN wrong operator name or password");

    let mut erin = Irc::register(server.irc_addr(), "erin");
    erin.send("KILL carol :bye");
    erin.expect(&format!(
        ":{SERVER} 481 erin :Permission Denied- You're not an IRC operator"
    ));
    erin.send("OPER alice guess");
    erin.expect(&format!(":{SERVER} 464 erin :Password incorrect"));
    erin.send("MODE erin");
    erin.expect(&format!(":{SERVER} 221 erin +"));
    erin.send(&format!("OPER alice {PASSWORD}"));
    erin.expect(&format!(":{SERVER} 381 erin :You are now an IRC operator"));
    erin.expect(":erin MODE erin :+o");
    erin.send("MODE erin");
    erin.expect(&format!(":{SERVER} 221 erin +o"));
    // Operators show as such: WHOIS 313 (native ones too), WHO's `*`,
    // LUSERS 252.
    for who in ["erin", "carol"] {
        erin.send(&format!("WHOIS {who}"));
        let lines = erin.until_numeric("318");
        let oper = format!(":{SERVER} 313 erin {who} :is an IRC operator");
        assert!(lines.contains(&oper), "{lines:#?}");
    }
    erin.send("WHOIS dan");
    let lines = erin.until_numeric("318");
    assert!(!lines.iter().any(|l| l.contains(" 313 ")), "{lines:#?}");
    erin.send("WHO carol");
    erin.expect(&format!(
        ":{SERVER} 352 erin * native native {SERVER} carol H* :0 carol"
    ));
    erin.expect_numeric("315");
    erin.send("LUSERS");
    let lines = erin.until_numeric("266");
    let ops = format!(":{SERVER} 252 erin 2 :operator(s) online");
    assert!(lines.contains(&ops), "{lines:#?}");
    erin.send("MODE erin -o");
    erin.expect(":erin MODE erin :-o");
    erin.send("KILL dan");
    erin.expect(&format!(
        ":{SERVER} 481 erin :Permission Denied- You're not an IRC operator"
    ));
    erin.send("LUSERS");
    let lines = erin.until_numeric("266");
    let ops = format!(":{SERVER} 252 erin 1 :operator(s) online");
    assert!(lines.contains(&ops), "{lines:#?}");
    carol.send("HELP OPER");
    carol.expect("HELP OPER <name> <password> - become a server operator");
    carol.expect("OK HELP");
}

#[test]
fn kill_works_across_front_ends_and_others_see_the_quit() {
    let server = start();
    let mut alice = native_oper(&server, "alice");
    let mut bob = Irc::join(server.irc_addr(), "bob", "#den");
    let mut carol = Client::join(server.addr(), "carol", "#den");
    bob.expect(":carol!native@native JOIN #den");
    let mut dave = irc_oper(&server, "dave");
    dave.join_channel("#den");
    carol.expect("JOIN #den dave");
    bob.expect(":dave!~dave@irc JOIN #den");

    // A native operator kills an IRC user.
    alice.send("KILL bob spamming");
    alice.expect("OK KILL bob");
    bob.expect("ERROR :Closing Link: irc (Killed (alice (spamming)))");
    bob.expect_closed();
    carol.expect("QUIT bob Killed (alice (spamming))");
    dave.expect(":bob!~bob@irc QUIT :Killed (alice (spamming))");

    // An IRC operator kills a native user.
    dave.send("KILL carol :flooding");
    dave.expect(&format!(":{SERVER} NOTICE dave :Killed carol"));
    carol.expect("SERVER killed by dave: flooding");
    carol.expect_closed();
    dave.expect(":carol!native@native QUIT :Killed (dave (flooding))");

    alice.send("KILL nobody");
    alice.expect("ERR KILL NO_SUCH_NICK no such nick: nobody");
    dave.send("KILL nobody");
    dave.expect(&format!(":{SERVER} 401 dave nobody :No such nick/channel"));
}

/// Connects natively and asserts the server refuses the ban `reason`.
fn expect_native_refused(server: &TestServer, reason: &str) {
    let mut c = Client::connect_raw(server.addr());
    c.expect(&format!("ERR * SERVER_BANNED {reason}"));
    c.expect_closed();
}

#[test]
fn klines_drop_refuse_list_persist_and_lift() {
    let cfg = config();
    let server = start_config(cfg.clone(), None);
    let mut alice = native_oper(&server, "alice");
    let mut victim = Client::join(server.addr(), "victim", "#den");
    let mut irc = Irc::join(server.irc_addr(), "ircuser", "#den");
    victim.expect("JOIN #den ircuser");

    // Native users are `native@<address>`: this bans every native client
    // from here, and no IRC one. The operator setting it stays.
    alice.send("KLINE native@127.0.0.1 1h no natives here");
    alice.expect("OK KLINE native@127.0.0.1");
    victim.expect("ERR * SERVER_BANNED no natives here");
    victim.expect_closed();
    irc.expect(":victim!native@native QUIT :Banned (no natives here)");
    alice.sync();
    expect_native_refused(&server, "no natives here");
    let mut irc2 = Irc::register(server.irc_addr(), "ircuser2");
    irc2.sync();

    // A user@host mask on IRC applies once USER named the user.
    alice.send("KLINE ~evil@*");
    alice.expect("OK KLINE ~evil@*");
    let mut evil = Irc::connect(server.irc_addr());
    evil.send("NICK evil");
    evil.send("USER evil 0 * :Evil");
    evil.expect(&format!(
        ":{SERVER} 465 evil :You are banned from this server: banned"
    ));
    evil.expect("ERROR :Closing Link: irc (Banned (banned))");
    evil.expect_closed();

    alice.send("KLINE");
    let listed = alice.read_until_prefix("OK KLINE ");
    assert_eq!(listed.len(), 3, "{listed:?}");
    let first: Vec<&str> = listed[0].splitn(5, ' ').collect();
    assert_eq!(first[..2], ["KLINE", "native@127.0.0.1"], "{listed:?}");
    assert!(humantime::parse_rfc3339(first[2]).is_ok(), "{listed:?}");
    assert_eq!(first[3..], ["alice", "no natives here"], "{listed:?}");
    assert_eq!(listed[1], "KLINE ~evil@* never alice banned");
    assert_eq!(listed[2], "OK KLINE 2");
    alice.send("KLINE nonsense");
    alice.expect(
        "ERR KLINE BAD_SYNTAX a mask is an IP address, a CIDR prefix or user@host: nonsense",
    );

    // Over a restart on the same database.
    drop((alice, irc, irc2));
    let data = server.shutdown();
    let server = start_config(cfg, Some(data));
    expect_native_refused(&server, "no natives here");
    let mut dave = irc_oper(&server, "dave");
    dave.send("KLINE LIST");
    dave.until_numeric("NOTICE");
    dave.expect(&format!(
        ":{SERVER} NOTICE dave :K-line ~evil@* expires never set by alice: banned"
    ));
    dave.expect(&format!(":{SERVER} NOTICE dave :End of K-line list (2)"));
    dave.send("UNKLINE native@127.0.0.1");
    dave.expect(&format!(
        ":{SERVER} NOTICE dave :Removed K-line for native@127.0.0.1"
    ));
    dave.send("UNKLINE native@127.0.0.1");
    dave.expect(&format!(
        ":{SERVER} NOTICE dave :No K-line for native@127.0.0.1"
    ));
    let mut back = Client::register(server.addr(), "back");
    back.sync();
    back.send("UNKLINE ~evil@*");
    back.expect(
        "ERR UNKLINE NO_PRIVILEGES only server operators may do that (OPER <name> <password>)",
    );
}

#[test]
fn a_kline_with_a_duration_expires_and_refuses_irc_at_connect() {
    let server = start();
    let mut dave = irc_oper(&server, "dave");
    let mut bob = Irc::register(server.irc_addr(), "bob");
    dave.send("KLINE *@127.0.0.1 2s :go away");
    let added = dave.line();
    assert!(
        added.starts_with(&format!(
            ":{SERVER} NOTICE dave :Added K-line for *@127.0.0.1, expires "
        )),
        "{added:?}"
    );
    bob.expect(&format!(
        ":{SERVER} 465 bob :You are banned from this server: go away"
    ));
    bob.expect("ERROR :Closing Link: irc (Banned (go away))");
    bob.expect_closed();
    let mut refused = Irc::connect(server.irc_addr());
    refused.expect(&format!(
        ":{SERVER} 465 * :You are banned from this server: go away"
    ));
    refused.expect("ERROR :Closing Link: 127.0.0.1 (Banned (go away))");
    refused.expect_closed();

    // Expired: let in again (each try is a real connection; no sleep
    // stands in for a read).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = Client::connect_raw(server.addr());
        let first = c.line();
        if first.starts_with("HELLO ") {
            break;
        }
        assert_eq!(first, "ERR * SERVER_BANNED go away");
        assert!(Instant::now() < deadline, "the ban never expired");
        c.expect_closed();
    }
    dave.send("KLINE");
    dave.expect(&format!(":{SERVER} NOTICE dave :End of K-line list (0)"));
}

#[test]
fn wallops_reach_native_users_and_irc_users_who_asked() {
    let server = start();
    let mut alice = native_oper(&server, "alice");
    let mut bob = Client::register(server.addr(), "bob");
    let mut carol = Irc::register(server.irc_addr(), "carol");
    carol.send("MODE carol +w");
    carol.expect(":carol MODE carol :+w");
    let mut dave = Irc::register(server.irc_addr(), "dave");

    alice.send("WALLOPS maintenance at noon");
    alice.expect("OK WALLOPS");
    alice.expect("NOTICE alice maintenance at noon");
    bob.expect("NOTICE alice maintenance at noon");
    carol.expect(":alice!native@native WALLOPS :maintenance at noon");
    dave.sync();

    let mut erin = irc_oper(&server, "erin");
    erin.send("WALLOPS :from irc");
    erin.expect(":erin!~erin@irc WALLOPS :from irc");
    alice.expect("NOTICE erin from irc");
    bob.expect("NOTICE erin from irc");
    carol.expect(":erin!~erin@irc WALLOPS :from irc");
    dave.sync();
    carol.send("MODE carol");
    carol.expect(&format!(":{SERVER} 221 carol +w"));
}

#[test]
fn close_removes_every_member_and_forgets_the_room() {
    let server = start();
    let mut alice = native_oper(&server, "alice");
    let mut bob = Client::join(server.addr(), "bob", "#lobby");
    let mut carol = Irc::join(server.irc_addr(), "carol", "#lobby");
    bob.expect("JOIN #lobby carol");
    bob.send("MSG #lobby remember me");
    bob.expect("OK MSG #lobby");
    carol.expect(":bob!native@native PRIVMSG #lobby :remember me");

    alice.send("CLOSE #lobby spam haven");
    alice.expect("OK CLOSE #lobby");
    bob.expect("CLOSED #lobby alice spam haven");
    carol.expect(":alice!native@native KICK #lobby carol :spam haven");
    bob.send("MSG #lobby still here?");
    bob.expect("ERR MSG NOT_IN_ROOM you are not in #lobby");

    // The next JOIN makes a new room: its history is gone.
    bob.send("JOIN #lobby");
    bob.read_until_prefix("OK JOIN ");
    bob.send("HISTORY #lobby");
    bob.expect("OK HISTORY #lobby 0");

    alice.send("CLOSE #nothing");
    alice.expect("ERR CLOSE NO_SUCH_ROOM no such room: #nothing");
    let mut dave = irc_oper(&server, "dave");
    dave.send("CLOSE #lobby :again");
    dave.expect(&format!(":{SERVER} NOTICE dave :Closed #lobby"));
    bob.expect("CLOSED #lobby dave again");
}

#[test]
fn a_kline_reaches_a_native_client_that_had_no_nickname_yet() {
    let server = start();
    let mut early = Client::connect(server.addr());
    let mut alice = native_oper(&server, "alice");
    alice.send("KLINE 127.0.0.0/8 spam");
    alice.expect("OK KLINE 127.0.0.0/8");
    early.send("NICK late");
    early.expect("ERR * SERVER_BANNED spam");
    early.expect_closed();
    alice.send("UNKLINE 127.0.0.1/8");
    alice.expect("OK UNKLINE 127.0.0.0/8");
}

#[test]
fn hash_password_prints_a_hash_the_server_accepts_and_a_bad_one_stops_start_up() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = common::process::chatroom_command(dir.path(), &["hash-password"], &[]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn chatroom hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct-horse\n")
        .expect("write the password");
    let out = child.wait_with_output().expect("hash-password ends");
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8(out.stdout).expect("UTF-8");
    let hash = hash.trim_end();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash:?}");

    let mut config = Config::from_toml(&format!(
        "[operators.root]\npassword = \"{hash}\"\nhosts = [\"127.0.0.1\"]"
    ))
    .expect("the printed hash is a valid operator password");
    config.server.listen = "127.0.0.1:0".into();
    let server = start_config(config, None);
    let mut c = Client::register(server.addr(), "root");
    c.send("OPER root correct");
    c.expect("ERR OPER BAD_LOGIN wrong operator name or password");
    c.send("OPER root correct-horse");
    c.expect("OK OPER");

    // The binary refuses a configuration whose hash is not one, naming the
    // key.
    let toml = dir.path().join("bad.toml");
    std::fs::write(&toml, "[operators.root]\npassword = \"hunter2\"\n").expect("write");
    let toml = toml.to_string_lossy().to_string();
    let out = common::process::chatroom_command(dir.path(), &["--config", &toml], &[])
        .output()
        .expect("run chatroom");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("configuration key `operators.root.password`"),
        "{stderr}"
    );
}

#[test]
fn every_operator_action_is_logged_with_who_did_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("opers.toml");
    std::fs::write(
        &toml,
        format!(
            "[operators.alice]\npassword = \"{}\"\n",
            cheap_hash(PASSWORD)
        ),
    )
    .expect("write the configuration");
    let toml = toml.to_string_lossy().to_string();
    let args = ["--listen", "127.0.0.1:0", "--config", &toml];
    let (mut child, addr, stderr) =
        common::process::spawn_listening(common::process::chatroom_command(dir.path(), &args, &[]));
    let mut mallory = Client::register(addr, "mallory");
    mallory.send("OPER alice guess");
    mallory.expect("ERR OPER BAD_LOGIN wrong operator name or password");
    let mut op = Client::register(addr, "op");
    op.send(&format!("OPER alice {PASSWORD}"));
    op.expect("OK OPER");
    op.send("KILL mallory bye");
    op.expect("OK KILL mallory");
    op.send("KLINE 192.0.2.0/24 1h spam");
    op.expect("OK KLINE 192.0.2.0/24");
    op.send("UNKLINE 192.0.2.0/24");
    op.expect("OK UNKLINE 192.0.2.0/24");
    op.send("WALLOPS hello");
    op.expect("OK WALLOPS");
    op.send("JOIN #gone");
    op.read_until_prefix("OK JOIN ");
    op.send("CLOSE #gone");
    op.read_until_prefix("OK CLOSE ");

    let who = "oper=alice nick=op peer=127.0.0.1";
    let mut want = vec![
        (
            "OPER refused",
            "nick=mallory peer=127.0.0.1 oper=alice".to_string(),
        ),
        (
            "action=\"oper\"",
            "oper=alice nick=op peer=127.0.0.1".to_string(),
        ),
        (
            "action=\"kill\"",
            format!("{who} target=mallory reason=bye"),
        ),
        (
            "action=\"kline\"",
            format!("{who} mask=192.0.2.0/24 secs=3600"),
        ),
        ("action=\"unkline\"", format!("{who} mask=192.0.2.0/24")),
        ("action=\"wallops\"", who.to_string()),
        ("action=\"close\"", format!("{who} room=#gone")),
    ];
    let deadline = Instant::now() + common::READ_TIMEOUT;
    while !want.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stderr
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no log line for {want:?}: {e}"));
        want.retain(|(what, fields)| {
            !(line.contains(" INFO ") && line.contains(what) && line.contains(fields.as_str()))
        });
    }
    common::process::kill_if_running(&mut child);
}

#[test]
fn a_reload_changes_the_operator_blocks_for_the_next_oper() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("config.toml");
    std::fs::write(&toml, "").expect("write the configuration");
    let toml = toml.to_string_lossy().to_string();
    let args = ["--listen", "127.0.0.1:0", "--config", &toml];
    let (child, addr, log) =
        common::process::spawn_listening(common::process::chatroom_command(dir.path(), &args, &[]));
    let child = common::Running(child);
    let mut c = Client::register(addr, "alice");
    c.send(&format!("OPER alice {PASSWORD}"));
    c.expect("ERR OPER BAD_LOGIN wrong operator name or password");

    std::fs::write(
        &toml,
        format!(
            "[operators.alice]\npassword = \"{}\"\n",
            cheap_hash(PASSWORD)
        ),
    )
    .expect("rewrite the configuration");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(hup.success());
    let deadline = Instant::now() + common::READ_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no reload in the log: {e}"));
        assert!(!line.contains("configuration not reloaded"), "{line}");
        if line.contains("configuration reloaded") {
            break;
        }
    }
    // The same connection: the blocks are read at each OPER. Its failure
    // before made it wait; the answer comes all the same.
    c.send(&format!("OPER alice {PASSWORD}"));
    c.expect("OK OPER");
    c.send("KLINE");
    c.expect("OK KLINE 0");
}
