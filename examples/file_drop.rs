//! Uploads one file to a room or a user, then leaves.
//!
//! ```sh
//! cargo run --example file_drop -- 127.0.0.1:5555 alice '#lobby' ./notes.pdf
//! cargo run --example file_drop -- 127.0.0.1:5555 alice bob ./notes.pdf
//! ```
//!
//! It connects, takes the nickname, joins the room first when the target
//! is one (`#...`), sends `FILE <target> <size> <name>` with the final
//! component of the path as the name, and streams the file's bytes from
//! disk while hashing them. When the server answers `OK FILE <id> <sha256>`
//! and the digest matches the local one, it prints, one per line:
//!
//! ```text
//! id <id>
//! sha256 <hex>
//! ```
//!
//! and quits with status 0. Any refusal (`ERR <VERB> <CODE> <text>`), a
//! missing file or a lost connection is reported on stderr with a non-zero
//! status.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use chatroom::client::ServerLine;
use chatroom::core::ErrorCode;
use chatroom::core::FileId;
use chatroom::proto::native::render::{OkReply, Reply};
use chatroom::proto::native::verb::ProtocolError;
use sha2::{Digest, Sha256};
use tokio::fs::File;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long to wait for a line from the server.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to explain why it stopped reading a body.
const EXPLAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest server line accepted.
const MAX_LINE: u64 = 64 * 1024;
/// Bytes read from disk at a time.
const CHUNK: usize = 64 * 1024;

const USAGE: &str = "usage: file_drop ADDR NICK TARGET PATH   (TARGET: #room or nick)";

/// The file to upload, opened and measured before connecting.
struct Upload {
    file: File,
    size: u64,
    name: String,
}

impl Upload {
    async fn open(path: &Path) -> anyhow::Result<Upload> {
        let shown = path.display();
        let file = File::open(path)
            .await
            .with_context(|| format!("cannot open {shown}"))?;
        let meta = file
            .metadata()
            .await
            .with_context(|| format!("cannot read the size of {shown}"))?;
        if !meta.is_file() {
            bail!("{shown} is not a regular file");
        }
        let name = path
            .file_name()
            .with_context(|| format!("{shown} does not end in a file name"))?;
        Ok(Upload {
            file,
            size: meta.len(),
            name: label(&name.to_string_lossy()),
        })
    }
}

/// The name to announce: control characters (a line break would end the
/// command) become `_`; a name of spaces only is not a valid text.
fn label(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    if name.trim().is_empty() {
        "file".to_string()
    } else {
        name
    }
}

/// One connection: lines are read with a bound on their length.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    out: OwnedWriteHalf,
}

/// What the server made of the `FILE` command.
type FileAnswer = Result<(FileId, String), ProtocolError>;

impl Conn {
    async fn connect(addr: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (read, out) = stream.into_split();
        let mut conn = Conn {
            reader: BufReader::new(read),
            out,
        };
        match conn.next().await? {
            ServerLine::Reply(Reply::Hello { .. }) => Ok(conn),
            ServerLine::Reply(Reply::Err(e)) => bail!("refused: {} {}", e.code, e.text),
            other => bail!("unexpected greeting {:?}", other.to_line()),
        }
    }

    async fn send(&mut self, line: &str) -> anyhow::Result<()> {
        self.out.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(())
    }

    /// The next server line.
    async fn next(&mut self) -> anyhow::Result<ServerLine> {
        next_line(&mut self.reader).await
    }

    /// Reads up to the final reply of the last command, skipping events
    /// and answering the server's PINGs.
    async fn final_reply(&mut self) -> anyhow::Result<Result<OkReply, ProtocolError>> {
        loop {
            match self.next().await? {
                ServerLine::Reply(Reply::Ok(ok)) => return Ok(Ok(ok)),
                ServerLine::Reply(Reply::Err(e)) => return Ok(Err(e)),
                ServerLine::Reply(Reply::Ping(token)) => {
                    self.send(&format!("PONG {token}")).await?
                }
                ServerLine::Reply(Reply::Server(text)) => eprintln!("server: {text}"),
                _ => {}
            }
        }
    }

    /// Sends `FILE` and its body, and waits for the server's answer.
    ///
    /// The body is written while the replies are read: a server that
    /// refuses the upload early (`FILE_TOO_LARGE`) answers and closes
    /// without reading the body, and its answer is what the user needs.
    async fn upload(
        &mut self,
        target: &str,
        upload: Upload,
    ) -> anyhow::Result<(FileAnswer, String)> {
        let Upload { file, size, name } = upload;
        self.send(&format!("FILE {target} {size} {name}")).await?;
        let body = send_body(file, size, &mut self.out);
        let answer = file_answer(&mut self.reader);
        tokio::pin!(body, answer);
        let local = tokio::select! {
            sent = &mut body => match sent {
                Ok(local) => local,
                Err(e) => {
                    // The server may have said why it stopped reading.
                    if let Ok(Ok(Err(refused))) = tokio::time::timeout(EXPLAIN_TIMEOUT, &mut answer).await {
                        return Ok((Err(refused), String::new()));
                    }
                    return Err(e);
                }
            },
            early = &mut answer => match early? {
                Err(refused) => return Ok((Err(refused), String::new())),
                Ok((id, _)) => bail!("the server accepted file {id} before its body was sent"),
            },
        };
        Ok((answer.await?, local))
    }
}

/// The next server line from `reader`, at most [`MAX_LINE`] bytes long.
async fn next_line(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<ServerLine> {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(MAX_LINE);
    let read = limited.read_until(b'\n', &mut buf);
    let n = tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .context("no answer from the server")??;
    if n == 0 {
        bail!("the server closed the connection");
    }
    if buf.last() != Some(&b'\n') {
        bail!("the server sent an unterminated or over-long line");
    }
    let line = String::from_utf8(buf).context("the server sent a line that is not UTF-8")?;
    Ok(ServerLine::parse(&line)?)
}

/// Waits for `OK FILE` or `ERR FILE`, skipping events. PINGs are not
/// answered here: a PONG cannot be sent in the middle of the body, and the
/// body itself keeps the connection alive.
async fn file_answer(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<FileAnswer> {
    loop {
        match next_line(reader).await? {
            ServerLine::Reply(Reply::Ok(OkReply::File { id, sha256 })) => {
                return Ok(Ok((id, sha256)))
            }
            ServerLine::Reply(Reply::Err(e)) => return Ok(Err(e)),
            ServerLine::Reply(Reply::Ok(other)) => bail!("unexpected reply {other:?} to FILE"),
            ServerLine::Reply(Reply::Server(text)) => eprintln!("server: {text}"),
            _ => {}
        }
    }
}

/// Streams exactly `size` bytes of `file` to `out` through a fixed buffer,
/// and returns their sha256 in lower-case hex.
async fn send_body(
    file: impl AsyncRead + Unpin,
    size: u64,
    out: &mut OwnedWriteHalf,
) -> anyhow::Result<String> {
    let mut file = file.take(size);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    loop {
        let n = file.read(&mut buf).await.context("cannot read the file")?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .await
            .context("the connection broke during the upload")?;
        sent += n as u64;
    }
    if sent != size {
        bail!("the file shrank during the upload: {sent} of {size} bytes");
    }
    out.flush().await?;
    Ok(chatroom::core::files::content::hex(&hasher.finalize()))
}

fn refused(what: &str, e: &ProtocolError) -> anyhow::Error {
    anyhow::anyhow!("{what} refused: {} {}", e.code, e.text)
}

async fn run(addr: &str, nick: &str, target: &str, path: &Path) -> anyhow::Result<()> {
    // Opened first: a missing file is reported without touching the server.
    let upload = Upload::open(path).await?;
    let mut conn = Conn::connect(addr).await?;

    conn.send(&format!("NICK {nick}")).await?;
    match conn.final_reply().await? {
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::NickInUse => {
            bail!("nickname {nick} is already in use (NICK_IN_USE); pick another one")
        }
        Err(e) => return Err(refused("NICK", &e)),
    }
    if target.starts_with('#') {
        conn.send(&format!("JOIN {target}")).await?;
        if let Err(e) = conn.final_reply().await? {
            return Err(refused("JOIN", &e));
        }
    }

    let (answer, local) = conn.upload(target, upload).await?;
    let (id, sha256) = answer.map_err(|e| refused("FILE", &e))?;
    if sha256 != local {
        bail!("file {id}: the server stored sha256 {sha256}, but the file has {local}");
    }
    println!("id {id}");
    println!("sha256 {sha256}");

    conn.send("QUIT").await?;
    // The file is stored whatever happens now: a lost goodbye is not an error.
    if let Err(e) = conn.final_reply().await {
        eprintln!("no answer to QUIT: {e:#}");
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, nick, target, path] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(addr, nick, target, Path::new(path)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("file_drop: {e:#}");
            ExitCode::FAILURE
        }
    }
}
