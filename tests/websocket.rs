//! The WebSocket at `/ws` end to end, with tokio-tungstenite as the
//! client: a WebSocket user is a session like any other (the same lines,
//! errors, limits and timeouts as over TCP), files go up and down as
//! binary messages, the IRCv3 subprotocols reach the IRC front end, and
//! the page's origin is checked.

mod common;

use common::ws::WsClient;
use common::{start, Client};

#[test]
fn a_websocket_user_and_a_tcp_user_talk_in_one_room() {
    let s = start("[history]\nenabled = false");
    let mut ws = WsClient::join(s.http_addr(), "webby", "#lobby");
    let mut nc = Client::join(s.addr(), "netcat", "#lobby");
    ws.expect("JOIN #lobby netcat");
    nc.send("MSG #lobby hi from nc");
    nc.expect("OK MSG #lobby");
    ws.expect("MSG #lobby netcat hi from nc");
    ws.send("MSG #lobby hi from the browser");
    ws.expect("OK MSG #lobby");
    nc.expect("MSG #lobby webby hi from the browser");
    // Several lines in one text message are several lines.
    ws.send("PRIVMSG netcat one\nPRIVMSG netcat two");
    ws.expect("OK PRIVMSG netcat");
    ws.expect("OK PRIVMSG netcat");
    nc.expect("PRIVMSG webby one");
    nc.expect("PRIVMSG webby two");
    ws.send("QUIT bye");
    ws.expect("OK QUIT");
    nc.expect("QUIT webby bye");
    assert!(ws.expect_closed().is_empty());
}
