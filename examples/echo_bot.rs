//! A bot that sits in a room and answers `!ping`, `!time` and `!who`.
//!
//! ```sh
//! cargo run --example echo_bot -- 127.0.0.1:5555 '#lobby'
//! ```
//!
//! It shows how to script the protocol: send a command, read lines until
//! its final `OK`/`ERR`, react to events in between. If the server goes
//! away, it reconnects (with back-off) and joins again, under its own name
//! once that is free (behind a cluster's load balancer, the node that died
//! holds it until its lease lapses).

use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use chatroom::client::ServerLine;
use chatroom::core::ErrorCode;
use chatroom::core::Event;
use chatroom::proto::native::render::{OkReply, Reply};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long to wait for any line before checking the connection.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

struct Bot {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    out: OwnedWriteHalf,
    room: String,
    nick: String,
    /// Commands sent without waiting for their reply: their final
    /// replies are skipped, so they are not taken for another command's.
    unawaited: usize,
}

impl Bot {
    async fn send(&mut self, line: &str) -> anyhow::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(())
    }

    /// Sends a command whose reply nobody waits for.
    async fn send_unawaited(&mut self, line: &str) -> anyhow::Result<()> {
        self.send(line).await?;
        self.unawaited += 1;
        Ok(())
    }

    /// The next line, skipping the final replies of unawaited commands.
    async fn next(&mut self) -> anyhow::Result<ServerLine> {
        loop {
            let line = tokio::time::timeout(READ_TIMEOUT, self.lines.next_line())
                .await
                .context("server silent for too long")??
                .context("server closed the connection")?;
            let line = ServerLine::parse(&line)?;
            if self.unawaited > 0 && line.is_final_reply() {
                self.unawaited -= 1;
                if let ServerLine::Reply(Reply::Err(e)) = &line {
                    eprintln!("a command was refused: {} {}", e.code, e.text);
                }
                continue;
            }
            return Ok(line);
        }
    }

    /// Connects, picks a free nickname and joins the room. `patience`:
    /// how many more seconds to wait for the name `echo_bot` before taking
    /// another (after a reconnection, the old connection may still hold it).
    async fn connect(addr: &str, room: &str, patience: u32) -> anyhow::Result<Bot> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, out) = stream.into_split();
        let mut bot = Bot {
            lines: BufReader::new(read).lines(),
            out,
            room: room.to_string(),
            nick: String::new(),
            unawaited: 0,
        };
        match bot.next().await? {
            ServerLine::Reply(Reply::Hello { .. }) => {}
            ServerLine::Reply(Reply::Err(e)) => bail!("refused: {} {}", e.code, e.text),
            other => bail!("unexpected greeting {other:?}"),
        }
        let mut waited = 0;
        let mut attempt = 0;
        while attempt < 10 {
            let nick = if attempt == 0 {
                "echo_bot".to_string()
            } else {
                format!("echo_bot{attempt}")
            };
            bot.send(&format!("NICK {nick}")).await?;
            match bot.final_reply().await? {
                Ok(_) => {
                    bot.nick = nick;
                    break;
                }
                Err(ErrorCode::NickInUse) if attempt == 0 && waited < patience => {
                    waited += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(ErrorCode::NickInUse) => attempt += 1,
                Err(code) => bail!("NICK refused: {code}"),
            }
        }
        if bot.nick.is_empty() {
            bail!("no free nickname");
        }
        bot.send(&format!("JOIN {room}")).await?;
        match bot.final_reply().await? {
            Ok(OkReply::Join(name)) => bot.room = name.as_str().to_string(),
            Ok(other) => bail!("unexpected reply {other:?}"),
            Err(code) => bail!("JOIN refused: {code}"),
        }
        println!("joined {} as {}", bot.room, bot.nick);
        Ok(bot)
    }

    /// Reads until the final reply of the last command, handling events
    /// that arrive meanwhile.
    async fn final_reply(&mut self) -> anyhow::Result<Result<OkReply, ErrorCode>> {
        loop {
            match self.next().await? {
                ServerLine::Reply(Reply::Ok(ok)) => return Ok(Ok(ok)),
                ServerLine::Reply(Reply::Err(e)) => return Ok(Err(e.code)),
                other => self.on_line(other).await?,
            }
        }
    }

    /// Who is in the room, from NAMES.
    async fn who(&mut self) -> anyhow::Result<Vec<String>> {
        self.send(&format!("NAMES {}", self.room)).await?;
        let mut names = Vec::new();
        loop {
            match self.next().await? {
                ServerLine::Reply(Reply::Names { nicks, .. }) => {
                    names.extend(nicks.iter().map(|n| n.as_str().to_string()))
                }
                ServerLine::Reply(Reply::Ok(_)) => return Ok(names),
                ServerLine::Reply(Reply::Err(e)) => bail!("NAMES refused: {}", e.code),
                other => self.on_line(other).await?,
            }
        }
    }

    /// Reacts to one line that is not the reply being waited for.
    async fn on_line(&mut self, line: ServerLine) -> anyhow::Result<()> {
        match line {
            ServerLine::Reply(Reply::Ping(token)) => self.send(&format!("PONG {token}")).await?,
            ServerLine::Reply(Reply::Server(text)) => println!("server: {text}"),
            ServerLine::Event(Event::Msg {
                room, from, text, ..
            }) => {
                let answer = match text.trim() {
                    "!ping" => Some("pong".to_string()),
                    "!time" => Some(format!(
                        "it is {}",
                        humantime::format_rfc3339_seconds(SystemTime::now())
                    )),
                    "!who" => {
                        let names = Box::pin(self.who()).await?;
                        Some(format!("{} here: {}", names.len(), names.join(", ")))
                    }
                    _ => None,
                };
                if let Some(answer) = answer {
                    println!("{from} asked {:?} in {room}", text.trim());
                    self.send_unawaited(&format!("MSG {room} {from}: {answer}"))
                        .await?;
                }
            }
            ServerLine::Event(Event::Privmsg { from, text, .. }) => {
                let answer = format!(
                    "PRIVMSG {from} I only answer !ping, !time and !who in {}; you said: {text}",
                    self.room
                );
                self.send_unawaited(&answer).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn serve(&mut self) -> anyhow::Result<()> {
        loop {
            let line = self.next().await?;
            self.on_line(line).await?;
        }
    }
}

/// How long a reconnected bot waits for its own name.
const NAME_PATIENCE_SECS: u32 = 15;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5555".into());
    let room = args.next().unwrap_or_else(|| "#lobby".into());
    let mut backoff = Duration::from_secs(1);
    // The first time, the name is someone else's if taken; afterwards,
    // most likely still our own old connection's.
    let mut patience = 0;
    loop {
        match Bot::connect(&addr, &room, patience).await {
            Ok(mut bot) => {
                backoff = Duration::from_secs(1);
                patience = NAME_PATIENCE_SECS;
                if let Err(e) = bot.serve().await {
                    eprintln!("disconnected: {e:#}");
                }
            }
            Err(e) => eprintln!("cannot connect to {addr}: {e:#}"),
        }
        eprintln!("reconnecting in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
