//! The floor `chatroom-bench` measures the server against: a bare tokio
//! broadcast server that speaks just enough of the protocol for the
//! benchmark (HELLO, NICK, JOIN, MSG, INFO, PONG), with no parsing beyond
//! splitting words, no limits, no store and no actors. With `--irc` it
//! speaks just enough IRC instead (NICK/USER, JOIN, PRIVMSG, PING, LUSERS,
//! LIST), the floor for `chatroom-bench --proto irc`.
//!
//! ```sh
//! cargo build --release --example baseline_server
//! taskset -c 0 target/release/examples/baseline_server 127.0.0.1:5556 &
//! taskset -c 1 target/release/chatroom-bench --server-pid $! --addr 127.0.0.1:5556 \
//!     fanout -c 200 -s 10 --rate 500
//! taskset -c 0 target/release/examples/baseline_server --irc 127.0.0.1:5557 &
//! taskset -c 1 target/release/chatroom-bench --proto irc --server-pid $! \
//!     --addr 127.0.0.1:5557 fanout -c 200 -s 10 --rate 500
//! ```
//!
//! It is the "bare tokio server" of the performance issue: one task per
//! connection reading lines, one writer task per connection that writes
//! everything its channel holds with one `write_all`, and a room map behind
//! a `RefCell` on one thread. Running it beside `chatroom` in the same round
//! gives the machine's own floor for each scenario, so a figure can be
//! read as a ratio against it. It trusts its clients: not a server to run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use anyhow::Context;
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Who is in which room: each member's id and the channel to its writer.
type Rooms = Rc<RefCell<HashMap<String, Vec<(u64, mpsc::UnboundedSender<Bytes>)>>>>;

/// How many clients have a nickname (for `INFO`).
type Users = Rc<Cell<u64>>;

fn main() -> anyhow::Result<()> {
    // `ADDR` or `--listen ADDR`, so that scripts start it as they start
    // the server; `--irc` for IRC.
    let irc = std::env::args().any(|a| a == "--irc");
    let addr = std::env::args()
        .skip(1)
        .find(|a| a != "--listen" && a != "--irc")
        .unwrap_or_else(|| "127.0.0.1:5556".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(addr, irc))
}

async fn serve(addr: String, irc: bool) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("baseline_server listening on {}", listener.local_addr()?);
    let rooms: Rooms = Rc::default();
    let users: Users = Rc::default();
    let mut next_id = 0u64;
    loop {
        let (stream, _) = listener.accept().await?;
        next_id += 1;
        let (rooms, users) = (rooms.clone(), users.clone());
        if irc {
            tokio::task::spawn_local(irc_connection(stream, next_id, rooms, users));
        } else {
            tokio::task::spawn_local(connection(stream, next_id, rooms, users));
        }
    }
}

/// Splits a client's stream: its lines, and the queue of its writer task.
fn split(
    stream: TcpStream,
) -> (
    Lines<BufReader<OwnedReadHalf>>,
    mpsc::UnboundedSender<Bytes>,
) {
    // Latency is what the baseline is for: no Nagle, as for the server.
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    tokio::task::spawn_local(async move {
        let mut batch = Vec::with_capacity(4096);
        while let Some(first) = rx.recv().await {
            batch.extend_from_slice(&first);
            while let Ok(more) = rx.try_recv() {
                batch.extend_from_slice(&more);
            }
            if write.write_all(&batch).await.is_err() {
                return;
            }
            batch.clear();
        }
    });
    (BufReader::new(read).lines(), tx)
}

/// One client: reads its lines and answers them until it goes away.
async fn connection(stream: TcpStream, id: u64, rooms: Rooms, users: Users) {
    let (mut lines, tx) = split(stream);
    let _ = tx.send(Bytes::from_static(b"HELLO baseline 0 bare tokio server\n"));
    let mut nick = String::new();
    let mut joined: Vec<String> = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.splitn(3, ' ');
        let reply = match (words.next(), words.next(), words.next()) {
            (Some("NICK"), Some(name), None) => {
                if nick.is_empty() {
                    users.set(users.get() + 1);
                }
                nick = name.to_owned();
                format!("OK NICK {nick}\n")
            }
            (Some("JOIN"), Some(room), None) => {
                rooms
                    .borrow_mut()
                    .entry(room.to_owned())
                    .or_default()
                    .push((id, tx.clone()));
                joined.push(room.to_owned());
                format!("OK JOIN {room}\n")
            }
            (Some("MSG"), Some(room), Some(text)) => {
                let copy = Bytes::from(format!("MSG {room} {nick} {text}\n"));
                if let Some(members) = rooms.borrow().get(room) {
                    for (member, queue) in members {
                        if *member != id {
                            let _ = queue.send(copy.clone());
                        }
                    }
                }
                format!("OK MSG {room}\n")
            }
            (Some("INFO"), None, _) => format!("INFO users {}\nOK INFO\n", users.get()),
            (Some("INFO"), Some(room), _) => {
                let members = rooms.borrow().get(room).map_or(0, Vec::len);
                format!("INFO {room} members {members}\nOK INFO {room}\n")
            }
            (Some("PONG"), _, _) => continue,
            (Some(other), _, _) => format!("OK {other}\n"),
            (None, _, _) => continue,
        };
        if tx.send(Bytes::from(reply)).is_err() {
            break;
        }
    }
    leave(id, !nick.is_empty(), joined, &rooms, &users);
}

/// Forgets a client that has gone.
fn leave(id: u64, registered: bool, joined: Vec<String>, rooms: &Rooms, users: &Users) {
    if registered {
        users.set(users.get() - 1);
    }
    let mut rooms = rooms.borrow_mut();
    for room in joined {
        if let Some(members) = rooms.get_mut(&room) {
            members.retain(|(member, _)| *member != id);
        }
    }
}

/// One IRC client: registration (001 once both NICK and USER are in), JOIN
/// (the JOIN back and 366, no names and no JOIN to the others, as the
/// native floor sends no JOIN events), PRIVMSG to a channel relayed to
/// its other members, PING, LUSERS (266) and LIST of one channel.
async fn irc_connection(stream: TcpStream, id: u64, rooms: Rooms, users: Users) {
    let (mut lines, tx) = split(stream);
    let mut nick = String::new();
    let (mut user, mut registered) = (false, false);
    let mut joined: Vec<String> = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let (command, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match command {
            "NICK" => nick = rest.trim_start_matches(':').to_owned(),
            "USER" => user = true,
            _ => {}
        }
        let reply = match command {
            "NICK" | "USER" if registered || !user || nick.is_empty() => continue,
            "NICK" | "USER" => {
                registered = true;
                users.set(users.get() + 1);
                format!(":floor 001 {nick} :Welcome to the floor {nick}\r\n")
            }
            "JOIN" => {
                let room = rest.trim_start_matches(':');
                rooms
                    .borrow_mut()
                    .entry(room.to_owned())
                    .or_default()
                    .push((id, tx.clone()));
                joined.push(room.to_owned());
                format!(":{nick}!bench@127.0.0.1 JOIN {room}\r\n:floor 366 {nick} {room} :End of /NAMES list.\r\n")
            }
            "PRIVMSG" => {
                let Some((room, text)) = rest.split_once(' ') else {
                    continue;
                };
                let copy =
                    Bytes::from(format!(":{nick}!bench@127.0.0.1 PRIVMSG {room} {text}\r\n"));
                if let Some(members) = rooms.borrow().get(room) {
                    for (member, queue) in members {
                        if *member != id {
                            let _ = queue.send(copy.clone());
                        }
                    }
                }
                continue;
            }
            "PING" => format!(":floor PONG floor {rest}\r\n"),
            "LUSERS" => {
                let n = users.get();
                format!(":floor 266 {nick} {n} {n} :Current global users: {n}\r\n")
            }
            "LIST" => {
                let members = rooms.borrow().get(rest).map_or(0, Vec::len);
                format!(
                    ":floor 322 {nick} {rest} {members} :\r\n:floor 323 {nick} :End of LIST\r\n"
                )
            }
            "QUIT" => break,
            _ => continue,
        };
        if tx.send(Bytes::from(reply)).is_err() {
            break;
        }
    }
    leave(id, registered, joined, &rooms, &users);
}
