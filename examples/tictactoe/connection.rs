//! One connection to the server: log in, join the rooms, then feed every
//! line to the [`Referee`] and send what it says, paced under the server's
//! flood control, pairing each final reply with the line it answers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chatroom::client::ServerLine;
use chatroom::core::names::{Nick, STORED_NAME_LIMIT};
use chatroom::core::{ErrorCode, Event};
use chatroom::proto::native::render::{OkReply, Reply};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::referee::{Place, Referee, Say, Tag, To};

/// The server pings after 60 s of silence; this much silence means the
/// connection is dead.
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// How often idle games are looked for.
const EXPIRY_CHECK: Duration = Duration::from_secs(5);

/// How the bot logs in and paces itself.
#[derive(Debug, Clone)]
pub struct Options {
    /// The nickname wanted; a number is appended while it is taken.
    pub nick: String,
    /// The rooms to join.
    pub rooms: Vec<String>,
    /// Lines it may send at once.
    pub burst: u32,
    /// Lines per second it sends after a burst.
    pub rate: f64,
}

/// A token bucket: the bot's own flood control, so that the server's
/// never refuses its lines.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(burst: u32, rate: f64, now: Instant) -> Bucket {
        let burst = f64::from(burst.max(1));
        Bucket {
            tokens: burst,
            burst,
            rate: rate.max(0.01),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
    }

    /// Takes a token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is there.
    fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        Duration::from_secs_f64(((1.0 - self.tokens) / self.rate).max(0.0))
    }
}

/// A logged-in connection.
pub struct Connection {
    lines: Lines<BufReader<OwnedReadHalf>>,
    out: OwnedWriteHalf,
    /// Lines the referee said, not sent yet.
    queue: VecDeque<Say>,
    /// One tag per line sent, in order: each gets one final reply.
    pending: VecDeque<Tag>,
    bucket: Bucket,
    /// The bot's own nickname on this connection.
    me: Nick,
}

impl Connection {
    /// Connects to `addr`, takes a free nickname and joins the rooms.
    pub async fn open(
        addr: &str,
        options: &Options,
        referee: &mut Referee,
    ) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, out) = stream.into_split();
        let mut conn = Connection {
            lines: BufReader::new(read).lines(),
            out,
            queue: VecDeque::new(),
            pending: VecDeque::new(),
            bucket: Bucket::new(options.burst, options.rate, Instant::now()),
            me: Nick::parse(&options.nick, STORED_NAME_LIMIT)
                .with_context(|| format!("{:?} is not a nickname", options.nick))?,
        };
        match conn.next_line().await? {
            ServerLine::Reply(Reply::Hello { .. }) => {}
            ServerLine::Reply(Reply::Err(e)) => bail!("refused: {} {}", e.code, e.text),
            other => bail!("unexpected greeting {other:?}"),
        }
        let mut nick_ok = false;
        for attempt in 1..=20 {
            let nick = match attempt {
                1 => options.nick.clone(),
                n => format!("{}{n}", options.nick),
            };
            conn.send_now(&format!("NICK {nick}")).await?;
            match conn.final_reply(referee).await? {
                Ok(OkReply::Nick(n)) => {
                    conn.me = n;
                    nick_ok = true;
                    break;
                }
                Ok(other) => bail!("unexpected reply {other:?}"),
                Err(ErrorCode::NickInUse) => continue,
                Err(code) => bail!("NICK {nick} refused: {code}"),
            }
        }
        if !nick_ok {
            bail!("no free nickname");
        }
        referee.set_me(conn.me.clone());
        for room in &options.rooms {
            conn.send_now(&format!("JOIN {room}")).await?;
            match conn.final_reply(referee).await? {
                Ok(OkReply::Join(name)) => println!("joined {name} as {}", conn.me),
                Ok(other) => bail!("unexpected reply {other:?}"),
                Err(code) => eprintln!("cannot join {room}: {code}"),
            }
        }
        Ok(conn)
    }

    /// Serves until the connection fails.
    pub async fn serve(&mut self, referee: &mut Referee) -> anyhow::Result<()> {
        let mut expiry = tokio::time::interval(EXPIRY_CHECK);
        let mut last_read = Instant::now();
        loop {
            let pace = self.bucket.wait(Instant::now());
            tokio::select! {
                line = self.lines.next_line() => {
                    let line = line?.context("server closed the connection")?;
                    last_read = Instant::now();
                    self.on_text(&line, referee).await?;
                }
                () = tokio::time::sleep(pace), if !self.queue.is_empty() => self.flush().await?,
                _ = expiry.tick() => {
                    if last_read.elapsed() > READ_TIMEOUT {
                        bail!("server silent for {READ_TIMEOUT:?}");
                    }
                    self.queue.extend(referee.expire(Instant::now()));
                }
            }
        }
    }

    /// Sends queued lines while the bucket allows.
    async fn flush(&mut self) -> anyhow::Result<()> {
        while !self.queue.is_empty() && self.bucket.take(Instant::now()) {
            let Some(say) = self.queue.pop_front() else {
                break;
            };
            let line = match &say.to {
                To::Room(room) => format!("MSG {room} {}", say.text),
                To::User(nick) => format!("PRIVMSG {nick} {}", say.text),
            };
            self.write(&line).await?;
            self.pending.push_back(say.tag);
        }
        Ok(())
    }

    async fn write(&mut self, line: &str) -> anyhow::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(())
    }

    /// Sends a log-in command at once (while nothing else is pending).
    async fn send_now(&mut self, line: &str) -> anyhow::Result<()> {
        self.bucket.take(Instant::now());
        self.write(line).await
    }

    async fn next_line(&mut self) -> anyhow::Result<ServerLine> {
        let line = tokio::time::timeout(READ_TIMEOUT, self.lines.next_line())
            .await
            .context("server silent for too long")??
            .context("server closed the connection")?;
        Ok(ServerLine::parse(&line)?)
    }

    /// Reads until the final reply of the log-in command just sent,
    /// handling what comes before it.
    async fn final_reply(
        &mut self,
        referee: &mut Referee,
    ) -> anyhow::Result<Result<OkReply, ErrorCode>> {
        loop {
            match self.next_line().await? {
                ServerLine::Reply(Reply::Ok(ok)) => return Ok(Ok(ok)),
                ServerLine::Reply(Reply::Err(e)) => return Ok(Err(e.code)),
                other => self.on_line(other, referee).await?,
            }
        }
    }

    async fn on_text(&mut self, text: &str, referee: &mut Referee) -> anyhow::Result<()> {
        match ServerLine::parse(text) {
            Ok(line) => self.on_line(line, referee).await,
            // A line a newer server sends, say: not worth dropping the
            // connection for.
            Err(e) => {
                eprintln!("{e}");
                Ok(())
            }
        }
    }

    /// Reacts to one line: events go to the referee, final replies to the
    /// line they answer.
    async fn on_line(&mut self, line: ServerLine, referee: &mut Referee) -> anyhow::Result<()> {
        let now = Instant::now();
        let says = match line {
            ServerLine::Reply(Reply::Ping(token)) => {
                self.write(&format!("PONG {token}")).await?;
                Vec::new()
            }
            ServerLine::Reply(Reply::Server(text)) => {
                println!("server: {text}");
                Vec::new()
            }
            ServerLine::Reply(Reply::Names { room, nicks }) => {
                referee.members(&room, &nicks);
                Vec::new()
            }
            ServerLine::Reply(Reply::Ok(ok)) => match self.pending.pop_front() {
                Some(Tag::Invite(id)) => match ok {
                    OkReply::Privmsg(nick) => referee.invite_delivered(id, &nick),
                    other => bail!("OK {other:?} paired with a PRIVMSG"),
                },
                _ => Vec::new(),
            },
            ServerLine::Reply(Reply::Err(e)) => {
                let tag = self.pending.pop_front();
                eprintln!("refused: {} {} ({tag:?})", e.code, e.text);
                match (tag, e.code) {
                    (Some(Tag::Invite(id)), ErrorCode::NoSuchNick) => referee.invite_failed(id),
                    (Some(Tag::Player(id, nick)), ErrorCode::NoSuchNick) => {
                        referee.unreachable(id, &nick)
                    }
                    _ => Vec::new(),
                }
            }
            ServerLine::Event(event) => self.on_event(event, referee, now),
            // HISTORY replays, INFO, PONG...: nothing to do.
            ServerLine::Reply(_) => Vec::new(),
        };
        self.queue.extend(says);
        Ok(())
    }

    fn on_event(&mut self, event: Event, referee: &mut Referee, now: Instant) -> Vec<Say> {
        match event {
            Event::Msg {
                room, from, text, ..
            } => referee.on_message(Place::Room(room), &from, &text, now),
            Event::Privmsg { from, text, .. } => {
                referee.on_message(Place::Private, &from, &text, now)
            }
            Event::Join { room, nick, .. } => {
                if nick.folded() == self.me.folded() {
                    referee.joined(&room);
                } else {
                    referee.on_join(&room, &nick);
                }
                Vec::new()
            }
            Event::Part { room, nick, .. } | Event::Kick { room, nick, .. } => {
                referee.on_leave(&room, &nick)
            }
            Event::Quit { nick, .. } => referee.on_quit(&nick),
            Event::Nick { old, new, .. } => {
                if old.folded() == self.me.folded() {
                    self.me = new.clone();
                }
                referee.on_nick(&old, &new);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(3, 10.0, start);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert_eq!(bucket.wait(start), Duration::from_millis(100));
        let later = start + Duration::from_millis(100);
        assert!(bucket.take(later));
        assert!(!bucket.take(later));
        // Never more than the burst, however long it waited.
        let much_later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.take(much_later)));
        assert!(!bucket.take(much_later));
    }
}
