//! Real IRC clients against the IRC listener: WeeChat (headless, driven
//! through its FIFO) and irssi (in a private tmux server, driven by typing)
//! connect, join #123, and talk with a native client in the room; the
//! native side sees their messages, nick changes and parts; the same with
//! the IRC client on one cluster node and the native client on another
//! (a real redis-server). Each test skips, saying so, when its programs
//! are not installed (scripts/test-deps.sh installs them).

mod common;
use common::programs::{self, file_lines, poll, Tmux};
use common::redis::Redis;
use common::*;

use std::net::SocketAddr;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const NO_HISTORY: &str = "[history]\nenabled = false";

/// Whether `line`, a line of a WeeChat log, is `nick` saying `text`: the
/// logger writes `date<TAB>prefix<TAB>message`, and the prefix carries the
/// nick's channel mode (`@nina` for an owner).
fn weechat_says(line: &str, nick: &str, text: &str) -> bool {
    let mut fields = line.split('\t').skip(1);
    let prefix = fields.next().unwrap_or_default();
    prefix.trim_start_matches(['@', '+', ' ']) == nick && fields.next() == Some(text)
}

/// Whether `line`, a line of an irssi log, is `nick` saying `text`:
/// `HH:MM <@nina> text` (a space where the nick has no mode).
fn irssi_says(line: &str, nick: &str, text: &str) -> bool {
    let Some((_, said)) = line.split_once(" <") else {
        return false;
    };
    let Some((who, message)) = said.split_once("> ") else {
        return false;
    };
    who.trim_start_matches(['@', '+', ' ']) == nick && message == text
}

/// What a failed poll on irssi shows: the log it read and the screen.
fn irssi_state(tmux: &Tmux, log: &Path) -> String {
    let screen = tmux.screen();
    let shown: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    format!(
        "{}:\n{}\nscreen:\n{}",
        log.display(),
        file_lines(log).join("\n"),
        shown.join("\n")
    )
}

#[test]
fn weechat_joins_talks_renames_and_parts() {
    let name = "irc_clients::weechat_joins_talks_renames_and_parts";
    if !programs::require(name, &["weechat-headless"]) {
        return;
    }
    let s = start(NO_HISTORY);
    weechat_with_nina(Client::join(s.addr(), "nina", "#123"), s.irc_addr());
}

#[test]
fn weechat_on_one_cluster_node_talks_with_nina_on_another() {
    let name = "weechat_on_one_cluster_node_talks_with_nina_on_another";
    if !cluster::can_run(name) || !programs::require(name, &["weechat-headless"]) {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (cluster::node(&redis, "a"), cluster::node(&redis, "b"));
    weechat_with_nina(Client::join(a.addr(), "nina", "#123"), b.irc_addr());
}

/// WeeChat on `irc` joins #123, where `nc` (nina) is, and the two talk,
/// in the room and in private; it renames, parts and quits.
fn weechat_with_nina(mut nc: Client, irc: SocketAddr) {
    let home = tempfile::tempdir().expect("tempdir");
    // The logger writes each line at once (its default waits 120 s), and
    // WeeChat's own flood control (a line each 2 s after a burst) is off.
    let setup = format!(
        "/set logger.file.flush_delay 0;\
         /server add chatroom 127.0.0.1/{} -notls -nicks=wally -username=wally \
         -realname=Wally -autojoin=#123 -anti_flood_prio_high=0 -anti_flood_prio_low=0;\
         /connect chatroom",
        irc.port()
    );
    let weechat = Running(
        Command::new("weechat-headless")
            .arg("--dir")
            .arg(home.path())
            .args(["-r", &setup])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weechat-headless starts"),
    );
    let log = home
        .path()
        .join("logs")
        .join("irc.chatroom.#123.weechatlog");
    let diagnose = |path: &Path| {
        let server_log = home
            .path()
            .join("logs")
            .join("irc.server.chatroom.weechatlog");
        let path = path.to_owned();
        move || {
            format!(
                "{}:\n{}\nserver buffer:\n{}",
                path.display(),
                file_lines(&path).join("\n"),
                file_lines(&server_log).join("\n")
            )
        }
    };

    // It joined by itself (-autojoin) after registering.
    nc.expect("JOIN #123 wally");

    // Everything else it does is typed into its FIFO: `buffer *command`.
    let fifo = home.path().join(format!("weechat_fifo_{}", weechat.0.id()));
    poll(
        "WeeChat's FIFO",
        || fifo.exists().then_some(()),
        || format!("no {}", fifo.display()),
    );
    let say = |line: &str| {
        // Read and write: on Linux that open never blocks, where a
        // write-only one would wait for ever if WeeChat had died.
        let mut pipe = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("open the FIFO");
        pipe.write_all(format!("{line}\n").as_bytes())
            .expect("write the FIFO");
    };

    // Text goes to the channel's buffer, once WeeChat has it: the native
    // side may see the JOIN before WeeChat has read its own. WeeChat asks
    // for extended-join, so its JOIN line names the real name too.
    poll(
        "the JOIN in WeeChat's log of #123",
        || {
            file_lines(&log)
                .iter()
                .any(|l| l.contains("wally (Wally) (~wally@irc) has joined #123"))
                .then_some(())
        },
        diagnose(&log),
    );
    say("irc.chatroom.#123 *hello from weechat");
    nc.expect("MSG #123 wally hello from weechat");

    nc.send("MSG #123 hello from nc");
    nc.expect("OK MSG #123");
    poll(
        "nina's message in WeeChat's log of #123",
        || {
            file_lines(&log)
                .iter()
                .any(|l| weechat_says(l, "nina", "hello from nc"))
                .then_some(())
        },
        diagnose(&log),
    );

    nc.send("PRIVMSG wally psst");
    nc.expect("OK PRIVMSG wally");
    let query = home
        .path()
        .join("logs")
        .join("irc.chatroom.nina.weechatlog");
    poll(
        "nina's private message in WeeChat's log of the query",
        || {
            file_lines(&query)
                .iter()
                .any(|l| weechat_says(l, "nina", "psst"))
                .then_some(())
        },
        diagnose(&query),
    );
    say("irc.server.chatroom */msg nina psst back");
    nc.expect("PRIVMSG wally psst back");

    say("irc.server.chatroom */nick wally2");
    nc.expect("NICK wally wally2");
    say("irc.chatroom.#123 */part see you");
    nc.expect("PART #123 wally2 see you");

    // It quits when told, and exits.
    say("irc.server.chatroom */quit");
    let mut weechat = weechat;
    process::wait_bounded(&mut weechat.0, Duration::from_millis(50));
    nc.sync();
}

#[test]
fn irssi_in_tmux_joins_talks_renames_and_parts() {
    let name = "irc_clients::irssi_in_tmux_joins_talks_renames_and_parts";
    if !programs::require(name, &["irssi", "tmux"]) {
        return;
    }
    let s = start(NO_HISTORY);
    irssi_with_nina(Client::join(s.addr(), "nina", "#123"), s.irc_addr());
}

#[test]
fn irssi_on_one_cluster_node_talks_with_nina_on_another() {
    let name = "irssi_on_one_cluster_node_talks_with_nina_on_another";
    if !cluster::can_run(name) || !programs::require(name, &["irssi", "tmux"]) {
        return;
    }
    let redis = Redis::start();
    let (a, b) = (cluster::node(&redis, "a"), cluster::node(&redis, "b"));
    irssi_with_nina(Client::join(a.addr(), "nina", "#123"), b.irc_addr());
}

/// irssi on `irc` joins #123, where `nc` (nina) is, and the two talk, in
/// the room and in private; it renames, parts and quits.
fn irssi_with_nina(mut nc: Client, irc: SocketAddr) {
    let home = tempfile::tempdir().expect("tempdir");
    let logs = home.path().join("logs");
    // Its own home: a user name, a log file per channel or query, and its
    // own flood control (a line each 2.2 s after a burst of 5) off.
    std::fs::write(
        home.path().join("config"),
        format!(
            "settings = {{\n\
             core = {{ user_name = \"iris\"; real_name = \"Iris\"; }};\n\
             \"irc/core\" = {{ cmd_queue_speed = \"0\"; cmds_max_at_once = \"0\"; }};\n\
             \"fe-common/core\" = {{ autolog = \"yes\"; autolog_path = \"{}/$0.log\"; }};\n\
             }};\n",
            logs.display()
        ),
    )
    .expect("write irssi's config");
    let channel_log = logs.join("#123.log");
    let port = irc.port().to_string();
    let home_arg = format!("--home={}", home.path().display());
    let tmux = Tmux::start(
        home.path(),
        "irssi",
        &[&home_arg, "-c", "127.0.0.1", "-p", &port, "-n", "iris"],
    );

    // Registered: the welcome is on its screen.
    poll(
        "irssi's welcome",
        || {
            tmux.screen()
                .contains("Welcome to the chatroom IRC Network iris!~iris@irc")
                .then_some(())
        },
        || irssi_state(&tmux, &channel_log),
    );
    tmux.type_line("/join #123");
    nc.expect("JOIN #123 iris");

    tmux.type_line("/msg #123 hello from irssi");
    nc.expect("MSG #123 iris hello from irssi");

    nc.send("MSG #123 hello from nc");
    nc.expect("OK MSG #123");
    poll(
        "nina's message in irssi's log of #123",
        || {
            file_lines(&channel_log)
                .iter()
                .any(|l| irssi_says(l, "nina", "hello from nc"))
                .then_some(())
        },
        || irssi_state(&tmux, &channel_log),
    );

    nc.send("PRIVMSG iris psst");
    nc.expect("OK PRIVMSG iris");
    let query_log = logs.join("nina.log");
    poll(
        "nina's private message in irssi's log of the query",
        || {
            file_lines(&query_log)
                .iter()
                .any(|l| irssi_says(l, "nina", "psst"))
                .then_some(())
        },
        || irssi_state(&tmux, &query_log),
    );
    tmux.type_line("/msg nina psst back");
    nc.expect("PRIVMSG iris psst back");

    tmux.type_line("/nick iris2");
    nc.expect("NICK iris iris2");
    tmux.type_line("/part #123 see you");
    nc.expect("PART #123 iris2 see you");

    // It quits when told: its session, and so the tmux server, ends.
    tmux.type_line("/quit");
    poll(
        "irssi's exit",
        || (!tmux.running()).then_some(()),
        || irssi_state(&tmux, &channel_log),
    );
    nc.sync();
}
