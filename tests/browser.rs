//! The web client (web/) in real Chromium, driven over WebDriver: browser
//! users chat with each other and with an nc-style TCP user (exact text in
//! the page, exact lines on the wire), scroll back into history, share a
//! picture and a text file that the others see previewed, get their rooms
//! back after a server restart, and play tic-tac-toe on the board the page
//! draws. The run leaves screenshots of the main screens, at desktop and
//! phone sizes, in target/screenshots/.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`
//! (scripts/test-deps.sh installs them); without them each test says it was
//! skipped and passes, unless CHATROOM_TEST_REQUIRE_PROGRAMS is set.

mod common;

#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/page.rs"]
mod page;
#[path = "browser/png.rs"]
mod png;

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{json, Value};

use std::net::SocketAddr;

use chatroom::config::Config;
use chatroom::server::ServerHandle;
use common::{programs, Client};
use driver::{Browser, Driver};
use page::*;

/// What the browser tests need on PATH.
const PROGRAMS: &[&str] = &["chromium", "chromedriver"];

/// Desktop and phone viewports of the screenshots.
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// Two Chromiums at once are all this machine's cores take: the tests run
/// one after the other.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A server whose HTTP listener serves the page, on 127.0.0.1 and a port
/// of its own choosing, unlike tests/common's: a restart must keep it.
struct WebServer {
    handle: ServerHandle,
    data: tempfile::TempDir,
}

impl WebServer {
    /// Starts one with `toml` on the defaults, its HTTP listener on
    /// `http_port` (0: any free one), on `data` if given; its native and IRC
    /// listeners on free ports, logging nowhere.
    fn start(toml: &str, data: Option<tempfile::TempDir>, http_port: u16) -> WebServer {
        let mut config = Config::from_toml(toml).expect("test config");
        config.server.listen = "127.0.0.1:0".into();
        config.irc.listen = "127.0.0.1:0".into();
        config.http.listen = format!("127.0.0.1:{http_port}");
        config.admin.listen = "127.0.0.1:0".into();
        let data = data.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
        config.files.dir = data.path().join("files");
        config.history.db = data.path().join("history.db");
        config.tls.dir = data.path().join("tls");
        config.log.dir = "".into();
        let handle = ServerHandle::start(config).expect("server starts");
        WebServer { handle, data }
    }

    /// Its native listener.
    fn addr(&self) -> SocketAddr {
        self.handle.addr().expect("the native listener is on")
    }

    /// Its HTTP listener.
    fn http_addr(&self) -> SocketAddr {
        self.handle.http_addr().expect("the HTTP listener is on")
    }

    /// The page's address.
    fn url(&self) -> String {
        format!("http://{}/", self.http_addr())
    }

    /// Shuts it down as SIGTERM would; returns its data directory.
    fn shutdown(self) -> tempfile::TempDir {
        self.handle.shutdown();
        self.data
    }
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Reads TCP lines until one starts with `prefix`; returns that one.
fn line_starting(client: &mut Client, prefix: &str) -> String {
    client.read_until_prefix(prefix).pop().expect("a line")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- the tests -------------------------------------------------------------

#[test]
fn browsers_and_an_nc_user_chat_share_files_and_scroll_back() {
    if !programs::require(
        "browser::browsers_and_an_nc_user_chat_share_files_and_scroll_back",
        PROGRAMS,
    ) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    // 30 lines of replay fill the desktop view, so that it scrolls; the nc
    // user writes 70 lines of history at once, faster than flood control's
    // defaults allow.
    let server = WebServer::start(
        "[history]\non_join = 30\n[limits]\nflood_burst = 200\nflood_rate_per_sec = 100.0\n",
        None,
        0,
    );
    let url = server.url();
    let shots = screenshots();
    let mut carol = Client::join(server.addr(), "carol", "#lobby");
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        for i in 1..=70 {
            carol.send(&format!("MSG #lobby old message {i:02}"));
        }
        for _ in 1..=70 {
            carol.expect("OK MSG #lobby");
        }

        // Nickname errors are shown in the form, by the field.
        let alice = driver.browser("alice", DESKTOP.0, DESKTOP.1).await;
        alice.goto(&url).await;
        alice.find("#nick-input").await;
        alice.screenshot(&shots, "login-desktop").await;
        alice.enter("#nick-input", "carol").await;
        let error = alice
            .wait(
                "NICK_IN_USE shown",
                "return document.getElementById('nick-error').textContent || null",
                vec![],
            )
            .await;
        assert_eq!(error, "“carol” is taken: pick another nickname.");
        alice.enter("#nick-input", "9lives").await;
        let error = alice
            .wait(
                "BAD_NICK shown",
                "const t = document.getElementById('nick-error').textContent; return t.includes('9') ? t : null",
                vec![],
            )
            .await;
        assert_eq!(
            error,
            "That nickname cannot be used (invalid nickname: a name may not start with '9')."
        );
        log_in(&alice, &url, "alice").await;

        // The JOIN replays the last 30 lines; scrolling up brings the rest.
        join(&alice, "lobby", None).await;
        carol.expect("JOIN #lobby alice");
        let replay: Vec<(String, String)> = (41..=70)
            .map(|i| ("carol".to_string(), format!("old message {i:02}")))
            .collect();
        alice
            .wait(
                "the join replay",
                &format!("const l = (() => {{ {LINES} }})(); return l && l.length >= 30"),
                vec![json!("#lobby")],
            )
            .await;
        assert_eq!(lines(&alice, "#lobby").await, replay);
        alice
            .js(
                "const s = document.querySelector('section.conv:not([hidden])'); s.scrollTop = 0; return true",
                vec![],
            )
            .await;
        alice
            .wait(
                "older history after scrolling up",
                &format!("const l = (() => {{ {LINES} }})(); return l && l.length >= 70"),
                vec![json!("#lobby")],
            )
            .await;
        let all: Vec<(String, String)> = (1..=70)
            .map(|i| ("carol".to_string(), format!("old message {i:02}")))
            .collect();
        assert_eq!(lines(&alice, "#lobby").await, all);
        alice
            .wait(
                "the beginning of the room",
                "const sec = document.querySelector('section.conv:not([hidden])'); return sec.querySelector('.older-note').textContent === 'This is the beginning of the conversation.'",
                vec![],
            )
            .await;

        // Two browsers and nc talk.
        let bob = driver.browser("bob", DESKTOP.0, DESKTOP.1).await;
        log_in(&bob, &url, "bob").await;
        join(&bob, "#lobby", None).await;
        carol.expect("JOIN #lobby bob");
        wait_notice(&alice, "#lobby", "bob joined").await;

        say(&alice, "hello from alice").await;
        carol.expect("MSG #lobby alice hello from alice");
        wait_line(&bob, "#lobby", "alice", "hello from alice").await;
        wait_line(&alice, "#lobby", "alice", "hello from alice").await;

        say(&bob, "hi alice,   bob here <b>not bold</b>").await;
        carol.expect("MSG #lobby bob hi alice,   bob here <b>not bold</b>");
        wait_line(&alice, "#lobby", "bob", "hi alice,   bob here <b>not bold</b>").await;
        let bold = alice.js("return document.querySelectorAll('.msg b').length", vec![]).await;
        assert_eq!(bold, 0, "message text is never markup");

        carol.send("MSG #lobby hello browsers from nc");
        carol.expect("OK MSG #lobby");
        wait_line(&alice, "#lobby", "carol", "hello browsers from nc").await;
        wait_line(&bob, "#lobby", "carol", "hello browsers from nc").await;

        // Mentions are highlighted (bob's greeting was one too).
        carol.send("MSG #lobby alice: can you see this?");
        carol.expect("OK MSG #lobby");
        wait_line(&alice, "#lobby", "carol", "alice: can you see this?").await;
        let mentioned = alice
            .js(
                "return [...document.querySelectorAll('li.msg.mention .text')].map((t) => t.textContent)",
                vec![],
            )
            .await;
        assert_eq!(
            mentioned,
            json!([
                "hi alice,   bob here <b>not bold</b>",
                "alice: can you see this?"
            ])
        );

        // A private message opens a conversation with an unread badge.
        carol.send("PRIVMSG alice psst, from nc");
        carol.expect("OK PRIVMSG alice");
        let tab = alice
            .wait(
                "carol's private tab with one unread",
                r##"const li = [...document.querySelectorAll("#dm-tabs > li")].find((li) => li.conv.name === "carol");
                   if (!li) return null;
                   const b = li.querySelector("button");
                   return b.querySelector(".badge").textContent === "1" ? [b.getAttribute("aria-label"), b.classList.contains("has-mention")] : null;"##,
                vec![],
            )
            .await;
        assert_eq!(tab, json!(["carol, private, 1 unread, 1 new", true]));
        alice.js(CLICK_TAB, vec![json!("carol")]).await;
        wait_shown(&alice, "carol").await;
        assert_eq!(
            lines(&alice, "carol").await,
            vec![("carol".to_string(), "psst, from nc".to_string())]
        );
        say(&alice, "hi carol").await;
        carol.expect("PRIVMSG alice hi carol");
        wait_line(&alice, "carol", "alice", "hi carol").await;
        alice.js(CLICK_TAB, vec![json!("#lobby")]).await;
        wait_shown(&alice, "#lobby").await;

        // alice shares a picture with the file button's input: bob sees it.
        let picture = png::gradient(96, 64);
        let path = dir.path().join("gradient.png");
        std::fs::write(&path, &picture).expect("png written");
        alice
            .find("#file-input")
            .await
            .send_keys(&path.display().to_string())
            .await
            .expect("file chosen");
        let announced = line_starting(&mut carol, "FILE ");
        let words: Vec<&str> = announced.split(' ').collect();
        assert_eq!(words.len(), 7, "{announced}");
        assert_eq!(
            (words[1], words[2], words[4], words[5], words[6]),
            (
                "#lobby",
                "alice",
                picture.len().to_string().as_str(),
                sha256_hex(&picture).as_str(),
                "gradient.png"
            )
        );
        let preview = "return [...document.querySelectorAll('section.conv:not([hidden]) li.file img')].map((i) => i.complete ? i.naturalWidth : 0).find((w) => w > 0) ?? null";
        let width = bob.wait("alice's picture, previewed", preview, vec![]).await;
        assert_eq!(width, 96);
        let width = alice.wait("her own picture, previewed", preview, vec![]).await;
        assert_eq!(width, 96);

        // bob drops a text file on the page: alice sees its first lines.
        bob.js(
            r#"const file = new File(["line one\nline two\n"], "notes.txt", { type: "text/plain" });
               const dt = new DataTransfer();
               dt.items.add(file);
               const main = document.getElementById("main");
               for (const type of ["dragenter", "dragover", "drop"]) {
                 main.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
               }
               return true;"#,
            vec![],
        )
        .await;
        let announced = line_starting(&mut carol, "FILE ");
        let words: Vec<&str> = announced.split(' ').collect();
        assert_eq!(words.len(), 7, "{announced}");
        assert_eq!(
            (words[1], words[2], words[4], words[5], words[6]),
            (
                "#lobby",
                "bob",
                "18",
                sha256_hex(b"line one\nline two\n").as_str(),
                "notes.txt"
            )
        );
        let snippet = alice
            .wait(
                "bob's text file, previewed",
                "const pre = document.querySelector('section.conv:not([hidden]) li.file pre.snippet'); return pre && pre.textContent !== '…' ? pre.textContent : null",
                vec![],
            )
            .await;
        assert_eq!(snippet, "line one\nline two\n");

        // The main screens, at desktop and phone sizes.
        alice
            .js("document.querySelector('section.conv:not([hidden])').conv.scrollToEnd(); return true", vec![])
            .await;
        alice.screenshot(&shots, "chat-desktop").await;
        alice.click("#browse-btn").await;
        alice
            .wait(
                "the room list",
                "return document.querySelectorAll('#room-list li').length === 1",
                vec![],
            )
            .await;
        alice.screenshot(&shots, "rooms-desktop").await;
        alice.js("document.getElementById('rooms-dialog').close(); return true", vec![]).await;
        alice.resize(PHONE.0, PHONE.1).await;
        alice
            .js("document.querySelector('section.conv:not([hidden])').conv.scrollToEnd(); return true", vec![])
            .await;
        alice.screenshot(&shots, "chat-phone").await;
        alice.click("#menu-toggle").await;
        alice
            .wait(
                "the sidebar, open",
                "return document.body.classList.contains('sidebar-open') && getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'",
                vec![],
            )
            .await;
        alice.screenshot(&shots, "sidebar-phone").await;

        alice.close().await;
        bob.close().await;
        drop(driver);
    });
    // Everyone left: carol hears of both.
    let mut quits = vec![carol.line(), carol.line()];
    quits.sort();
    assert_eq!(
        quits,
        ["QUIT alice connection closed", "QUIT bob connection closed"]
    );
}

#[test]
fn the_page_reconnects_and_joins_its_rooms_again_after_a_server_restart() {
    if !programs::require(
        "browser::the_page_reconnects_and_joins_its_rooms_again_after_a_server_restart",
        PROGRAMS,
    ) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = WebServer::start("", None, 0);
    let http_port = server.http_addr().port();
    let url = server.url();
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        let mut dave = Client::join(server.addr(), "dave", "#lobby");
        dave.send("MSG #lobby before the restart");
        dave.expect("OK MSG #lobby");

        let alice = driver.browser("alice", DESKTOP.0, DESKTOP.1).await;
        log_in(&alice, &url, "alice").await;
        join(&alice, "#lobby", None).await;
        wait_line(&alice, "#lobby", "dave", "before the restart").await;
        join(&alice, "#vault", Some("sesame")).await;
        dave.expect("JOIN #lobby alice");

        let data = server.shutdown();
        dave.expect("SERVER shutting down");
        wait_notice(&alice, "#lobby", "Disconnected from the server").await;

        // The same HTTP port and data: the page finds its way back alone.
        let server = WebServer::start("", Some(data), http_port);
        wait_notice(&alice, "#lobby", "Joined #lobby again").await;
        wait_notice(&alice, "#vault", "Joined #vault again").await;

        let mut dave = Client::register(server.addr(), "dave");
        dave.send("JOIN #lobby");
        let reply = dave.read_until_prefix("OK JOIN ");
        assert_eq!(reply[0], "JOIN #lobby dave");
        assert_eq!(reply[1], "NAMES #lobby alice dave");
        assert!(
            reply[2].starts_with("HISTORY #lobby ")
                && reply[2].ends_with(" dave before the restart"),
            "{reply:?}"
        );
        assert_eq!(reply[3], "OK JOIN #lobby");
        dave.send("NAMES #vault");
        dave.expect_lines(&["NAMES #vault alice", "OK NAMES #vault 1"]);

        dave.send("MSG #lobby after the restart");
        dave.expect("OK MSG #lobby");
        alice.js(CLICK_TAB, vec![json!("#lobby")]).await;
        wait_line(&alice, "#lobby", "dave", "after the restart").await;
        // The replay on re-joining repeats nothing already shown.
        assert_eq!(
            lines(&alice, "#lobby").await,
            vec![
                ("dave".to_string(), "before the restart".to_string()),
                ("dave".to_string(), "after the restart".to_string()),
            ]
        );
        say(&alice, "back again").await;
        dave.expect("MSG #lobby alice back again");
        alice.close().await;
        drop(driver);
        drop(server);
    });
}

/// The referee of the tic-tac-toe test: the real bot (examples/tictactoe,
/// built by a plain `cargo test`), or, when only this test file was built,
/// a TCP client that sends what the bot would (docs/TICTACTOE.md).
enum Referee {
    // Held, not read: the bot is killed when this is dropped.
    #[allow(dead_code)]
    Bot(common::Running),
    StandIn(Client),
}

impl Referee {
    fn start(server: &WebServer) -> Referee {
        let program = common::example("tictactoe");
        if program.exists() {
            let child = std::process::Command::new(program)
                .args(["--server", &server.addr().to_string(), "--rooms", "#games"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("the tictactoe example runs");
            return Referee::Bot(common::Running(child));
        }
        let notice = "browser: examples/tictactoe is not built (`cargo test` builds it): a TCP client stands in for the bot\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
        Referee::StandIn(Client::join(server.addr(), "tictactoe", "#games"))
    }

    /// After `mover` said `text` in #games: the stand-in sends the bot's
    /// answer, `lines` (the bot sends them itself).
    fn answer(&mut self, mover: &str, text: &str, lines: &[String]) {
        if let Referee::StandIn(bot) = self {
            bot.read_until_prefix(&format!("MSG #games {mover} {text}"));
            for line in lines {
                bot.send(&format!("MSG #games {line}"));
                bot.expect("OK MSG #games");
            }
        }
    }
}

/// The bot's four board lines (docs/TICTACTOE.md).
fn board_lines(cells: &str, status: &str, words: &str) -> Vec<String> {
    let c: Vec<char> = cells.chars().collect();
    vec![
        format!("TTT 1 alice bob {cells} {status}"),
        format!(
            "| {} {} {}   1 2 3   game 1: alice (X) vs bob (O)",
            c[0], c[1], c[2]
        ),
        format!("| {} {} {}   4 5 6   {words}", c[3], c[4], c[5]),
        format!("| {} {} {}   7 8 9", c[6], c[7], c[8]),
    ]
}

/// Reads up to the bot's next `TTT` line, and asserts it and the three
/// lines after it are the board `lines`.
#[track_caller]
fn expect_board(watcher: &mut Client, lines: &[String]) {
    let first = line_starting(watcher, "MSG #games tictactoe TTT ");
    assert_eq!(first, format!("MSG #games tictactoe {}", lines[0]));
    for line in &lines[1..] {
        watcher.expect(&format!("MSG #games tictactoe {line}"));
    }
}

/// The one playable board shown, as {cells, playable, status, folded,
/// shownPipes}.
const BOARD: &str = r#"
const boards = document.querySelectorAll("section.conv:not([hidden]) li.board:not(.retired)");
if (boards.length !== 1) return null;
const b = boards[0];
return {
  cells: [...b.querySelectorAll(".ttt-cell")].map((c) => c.textContent || ".").join(""),
  playable: [...b.querySelectorAll(".ttt-cell:not(:disabled)")].map((c) => Number(c.dataset.cell)),
  status: b.querySelector(".ttt-status").textContent,
  folded: b.querySelector(".ttt-text pre").textContent,
  shownPipes: [...document.querySelectorAll("section.conv:not([hidden]) li.msg .text")]
    .filter((t) => t.textContent.startsWith("| ")).length,
};
"#;

async fn wait_board(browser: &Browser, cells: &str) -> Value {
    browser
        .wait(
            &format!("the board {cells}"),
            &format!("const b = (() => {{ {BOARD} }})(); return b && b.cells === arguments[0] ? b : null"),
            vec![json!(cells)],
        )
        .await
}

#[test]
fn a_tictactoe_game_is_played_on_the_boards_the_page_draws() {
    if !programs::require(
        "browser::a_tictactoe_game_is_played_on_the_boards_the_page_draws",
        PROGRAMS,
    ) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = WebServer::start("", None, 0);
    let url = server.url();
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        // carol watches on nc.
        let mut carol = Client::join(server.addr(), "carol", "#games");
        let mut referee = Referee::start(&server);
        carol.expect("JOIN #games tictactoe");
        let alice = driver.browser("alice", DESKTOP.0, DESKTOP.1).await;
        log_in(&alice, &url, "alice").await;
        join(&alice, "#games", None).await;
        carol.expect("JOIN #games alice");
        let bob = driver.browser("bob", DESKTOP.0, DESKTOP.1).await;
        log_in(&bob, &url, "bob").await;
        join(&bob, "#games", None).await;
        carol.expect("JOIN #games bob");

        say(&alice, "!ttt play bob").await;
        carol.expect("MSG #games alice !ttt play bob");
        let mut lines = vec![
            "bob: alice started game 1 against you; alice plays X and moves first, with !ttt <1-9>"
                .to_string(),
        ];
        lines.extend(board_lines(".........", "next=alice", "alice (X) to play"));
        referee.answer("alice", "!ttt play bob", &lines);
        expect_board(
            &mut carol,
            &board_lines(".........", "next=alice", "alice (X) to play"),
        );
        let seen = wait_board(&alice, ".........").await;
        assert_eq!(
            seen,
            json!({
                "cells": ".........",
                "playable": [1, 2, 3, 4, 5, 6, 7, 8, 9],
                "status": "alice (X) to play: your move",
                "folded": "| . . .   1 2 3   game 1: alice (X) vs bob (O)\n| . . .   4 5 6   alice (X) to play\n| . . .   7 8 9",
                "shownPipes": 0,
            })
        );
        let seen = wait_board(&bob, ".........").await;
        assert_eq!((&seen["playable"], &seen["status"]), (&json!([]), &json!("alice (X) to play")));
        alice.screenshot(&screenshots(), "tictactoe-desktop").await;

        // Clicking a cell sends the move; the next board comes from the bot.
        let moves = [
            (&alice, &bob, 5, "....X....", "next=bob", "bob (O) to play"),
            (&bob, &alice, 1, "O...X....", "next=alice", "alice (X) to play"),
            (&alice, &bob, 2, "OX..X....", "next=bob", "bob (O) to play"),
            (&bob, &alice, 3, "OXO.X....", "next=alice", "alice (X) to play"),
            (&alice, &bob, 8, "OXO.X..X.", "won=alice", "alice wins"),
        ];
        for (mover, other, cell, cells, status, words) in moves {
            mover
                .click(&format!("li.board:not(.retired) .ttt-cell[data-cell='{cell}']"))
                .await;
            let text = format!("!ttt {cell}");
            carol.expect(&format!("MSG #games {} {text}", mover.name));
            let lines = board_lines(cells, status, words);
            referee.answer(&mover.name, &text, &lines);
            expect_board(&mut carol, &lines);
            let empty: Vec<usize> = (1..=9).filter(|&i| &cells[i - 1..i] == ".").collect();
            let (theirs, mine) = (wait_board(other, cells).await, wait_board(mover, cells).await);
            if status == "won=alice" {
                for seen in [&theirs, &mine] {
                    assert_eq!((&seen["playable"], &seen["status"]), (&json!([]), &json!("alice wins")));
                }
            } else {
                assert_eq!(theirs["playable"], json!(empty), "{}'s turn", other.name);
                assert_eq!(theirs["status"], format!("{words}: your move"));
                assert_eq!((&mine["playable"], &mine["status"]), (&json!([]), &json!(words)));
            }
            let stale = other
                .js("return document.querySelectorAll('li.board.retired .ttt-cell:not(:disabled)').length", vec![])
                .await;
            assert_eq!(stale, 0, "an old board cannot be played");
        }
        alice.close().await;
        bob.close().await;
        drop(driver);
    });
}

#[test]
fn the_page_works_over_https_with_its_websocket_on_wss() {
    if !programs::require(
        "browser::the_page_works_over_https_with_its_websocket_on_wss",
        PROGRAMS,
    ) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    // HTTPS only: the plain HTTP listener off, the self-signed certificate
    // generated into the data directory at start.
    let mut config = Config::from_toml("[http]\nlisten = \"\"\ntls_listen = \"127.0.0.1:0\"")
        .expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    config.irc.listen = "".into();
    config.admin.listen = "127.0.0.1:0".into();
    let data = tempfile::tempdir().expect("tempdir");
    config.files.dir = data.path().join("files");
    config.history.db = data.path().join("history.db");
    config.tls.dir = data.path().join("tls");
    config.log.dir = "".into();
    let handle = ServerHandle::start(config).expect("server starts");
    assert_eq!(handle.http_addr(), None, "plain HTTP is off");
    let https = handle.https_addr().expect("the HTTPS listener is on");
    let addr = handle.addr().expect("the native listener is on");
    let url = format!("https://localhost:{}/", https.port());
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        let mut dave = Client::join(addr, "dave", "#secure");
        // The certificate is the server's own self-signed one: this
        // browser is told to accept it, as a person would click through.
        let alice = driver
            .browser_with(
                "alice",
                DESKTOP.0,
                DESKTOP.1,
                &["--ignore-certificate-errors"],
            )
            .await;
        log_in(&alice, &url, "alice").await;
        let scheme = alice.js("return location.protocol", vec![]).await;
        assert_eq!(scheme, json!("https:"));
        join(&alice, "#secure", None).await;
        dave.expect("JOIN #secure alice");
        say(&alice, "over wss").await;
        dave.expect("MSG #secure alice over wss");
        dave.send("MSG #secure and back");
        dave.expect("OK MSG #secure");
        wait_line(&alice, "#secure", "dave", "and back").await;
        alice.close().await;
        drop(driver);
    });
    handle.shutdown();
}

#[test]
fn the_page_shows_the_message_of_the_day() {
    if !programs::require("browser::the_page_shows_the_message_of_the_day", PROGRAMS) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let motd = dir.path().join("motd.txt");
    std::fs::write(&motd, "Welcome to the test server\n\nBe <b>nice</b>\n").unwrap();
    let toml = format!("[server]\nmotd_file = {:?}\n", motd.display().to_string());
    let server = WebServer::start(&toml, None, 0);
    let url = server.url();
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        let alice = driver.browser("alice", DESKTOP.0, DESKTOP.1).await;
        log_in(&alice, &url, "alice").await;
        // Shown as text, a paragraph a line, on the welcome pane.
        let shown = alice
            .js(
                "const m = document.getElementById('motd'); \
                 return [m.hidden, [...m.querySelectorAll('p')].map((p) => p.textContent), \
                 m.querySelectorAll('b').length]",
                vec![],
            )
            .await;
        assert_eq!(
            shown,
            json!([
                false,
                ["Welcome to the test server", "", "Be <b>nice</b>"],
                0
            ])
        );
        alice.close().await;
        drop(driver);
    });
}

#[test]
fn the_page_makes_an_account_and_logs_in_to_it() {
    if !programs::require(
        "browser::the_page_makes_an_account_and_logs_in_to_it",
        PROGRAMS,
    ) {
        return;
    }
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = WebServer::start("", None, 0);
    let url = server.url();
    let in_chat_as = "return !document.getElementById('app').hidden && document.getElementById('me-nick').textContent === arguments[0]";
    let error_is = "return document.getElementById('nick-error').textContent === arguments[0]";
    runtime().block_on(async {
        let driver = Driver::start(dir.path());
        let web = driver.browser("web", DESKTOP.0, DESKTOP.1).await;
        web.goto(&url).await;
        web.type_into("#password-input", "password-one").await;
        web.click("#register-input").await;
        web.enter("#nick-input", "webby").await;
        web.wait("the chat after REGISTER", in_chat_as, vec![json!("webby")])
            .await;
        join(&web, "#web", None).await;
        // The room belongs to the account the page made.
        let mut nc = Client::register(server.addr(), "nc");
        nc.send("INFO #web");
        let info = nc.read_until_prefix("OK INFO #web");
        assert!(
            info.contains(&"INFO #web account webby".to_string()),
            "{info:?}"
        );
        web.close().await;

        // A wrong password stays on the form; the right one logs in.
        let again = driver.browser("again", DESKTOP.0, DESKTOP.1).await;
        again.goto(&url).await;
        again.type_into("#password-input", "wrong-password").await;
        again.enter("#nick-input", "webby").await;
        again
            .wait(
                "the error",
                error_is,
                vec![json!("Wrong nickname or password.")],
            )
            .await;
        // The back-off after a wrong password is a second.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        again.enter("#password-input", "password-one").await;
        again
            .wait("the chat after LOGIN", in_chat_as, vec![json!("webby")])
            .await;
        join(&again, "#web", None).await;
        nc.send("JOIN #web");
        nc.read_until_prefix("OK JOIN #web");
        // A user on no account does not own the account's room.
        nc.send("TOPIC #web mine");
        nc.expect("ERR TOPIC NOT_OWNER only the owner of #web may set its topic");
        again.close().await;
        drop(driver);
        drop(server);
    });
}
