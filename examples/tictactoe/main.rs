//! A bot that referees tic-tac-toe between two users, in a room or in
//! private, speaking the native line protocol like any client.
//!
//! ```sh
//! cargo run --example tictactoe -- --rooms '#games'
//! ```
//!
//! Players type `!ttt play <nick>`, then `!ttt <1-9>`, in a room the bot is
//! in (`MSG #games !ttt 5` from nc) or privately to it. After every change
//! the bot sends a `TTT <id> <x> <o> <cells> <status>` line and three `| `
//! lines for people: docs/TICTACTOE.md is the contract.
//!
//! - `game`: the rules of one game, pure;
//! - `command`: what a message asks (`!ttt ...`), pure;
//! - `referee`: all games and room members, events in, lines to say out;
//! - `render`: every text the bot writes;
//! - `connection`: the socket, pacing, and pairing replies with lines.

mod command;
mod connection;
mod game;
mod referee;
mod render;

use std::time::Duration;

use clap::Parser;

use connection::{Connection, Options};
use referee::Referee;

/// Longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A tic-tac-toe referee for chatroom.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The server's native listener.
    #[arg(long, default_value = "127.0.0.1:5555")]
    server: String,
    /// The bot's nickname (a number is appended while it is taken).
    #[arg(long, default_value = "tictactoe")]
    nick: String,
    /// Rooms to join, comma-separated.
    #[arg(long, default_value = "#games", value_delimiter = ',')]
    rooms: Vec<String>,
    /// Seconds without a move after which a game ends.
    #[arg(long, default_value_t = 600)]
    idle_timeout: u64,
    /// Lines the bot sends at once, under the server's `limits.flood_burst`.
    #[arg(long, default_value_t = 15)]
    burst: u32,
    /// Lines per second after a burst, under `limits.flood_rate_per_sec`.
    #[arg(long, default_value_t = 8.0)]
    rate: f64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let options = Options {
        nick: cli.nick,
        rooms: cli.rooms.into_iter().filter(|r| !r.is_empty()).collect(),
        burst: cli.burst,
        rate: cli.rate,
    };
    // The games outlive a connection: players find them again after the
    // bot reconnects.
    let mut referee = Referee::new(Duration::from_secs(cli.idle_timeout));
    let mut backoff = Duration::from_secs(1);
    loop {
        match Connection::open(&cli.server, &options, &mut referee).await {
            Ok(mut conn) => {
                backoff = Duration::from_secs(1);
                if let Err(e) = conn.serve(&mut referee).await {
                    eprintln!("disconnected: {e:#}");
                }
            }
            Err(e) => eprintln!("cannot connect to {}: {e:#}", cli.server),
        }
        eprintln!(
            "reconnecting in {backoff:?} ({} games in progress)",
            referee.games()
        );
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
