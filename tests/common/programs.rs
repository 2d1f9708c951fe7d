//! Driving real programs from tests (IRC clients in tmux, later browsers):
//! skipping plainly when one is not installed, a private tmux server, and
//! bounded polls on a file or a screen.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a real program gets to show what a test waits for.
pub const POLL_DEADLINE: Duration = Duration::from_secs(20);
/// How often a poll looks again.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// Set (to anything) by scripts/test.sh, after installing the programs:
/// a missing program then fails its test instead of skipping it.
pub const REQUIRE_ENV: &str = "CHATROOM_TEST_REQUIRE_PROGRAMS";

/// Whether an executable named `program` is on `PATH`.
pub fn installed(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(program);
        candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && is_executable(&m))
    })
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// Whether test `name` (`file::test`) can run: true if every program in
/// `programs` is installed. Otherwise it says so on stderr and returns false
/// (the test then returns, and passes), or fails if [`REQUIRE_ENV`] is set.
///
/// The notice is written to `std::io::stderr()` itself, not with
/// `eprintln!`: the test harness captures only the print macros (and a
/// passing test's capture is thrown away), so this line shows in a plain
/// `cargo test`'s output, next to the test's name.
pub fn require(name: &str, programs: &[&str]) -> bool {
    let Some(missing) = programs.iter().find(|p| !installed(p)) else {
        return true;
    };
    unavailable(
        name,
        &format!("{missing} not installed (run scripts/test-deps.sh)"),
    )
}

/// Test `name` cannot run, for the reason `notice`: says so on stderr and
/// returns false (the test then returns, and passes), or fails if
/// [`REQUIRE_ENV`] is set, as [`require`] does for a missing program.
pub fn unavailable(name: &str, notice: &str) -> bool {
    if std::env::var_os(REQUIRE_ENV).is_some() {
        panic!("{name}: {notice}, and {REQUIRE_ENV} is set");
    }
    say_skipped(name, notice);
    false
}

/// Says on stderr that test `name` was skipped, and why: one line that a
/// plain `cargo test` shows (see [`require`]). For what no script can
/// install (a kernel feature), which skips even with [`REQUIRE_ENV`].
pub fn say_skipped(name: &str, notice: &str) {
    say(&format!("SKIPPED {name}: {notice}\n"));
}

/// Says on stderr how test `name` runs here (a stand-in for what this
/// machine lacks), in a line a plain `cargo test` shows.
pub fn say_note(name: &str, notice: &str) {
    say(&format!("NOTE {name}: {notice}\n"));
}

fn say(line: &str) {
    // One write, so that the line is not cut by the harness's own output.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Polls `probe` every [`POLL_EVERY`] until it gives a value, or panics
/// after [`POLL_DEADLINE`] with `what` and what `diagnose` says then.
pub fn poll<T>(
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
    diagnose: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + POLL_DEADLINE;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if Instant::now() > deadline {
            panic!("{what}: not seen within {POLL_DEADLINE:?}\n{}", diagnose());
        }
        thread::sleep(POLL_EVERY);
    }
}

/// The lines of the file at `path`, none if it does not exist (yet).
pub fn file_lines(path: &Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A tmux server of the test's own, on a socket in a directory of its own
/// (`tmux -S`), so that no other tmux server is ever touched; killed by
/// that socket when dropped, pass or fail.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts a server whose one session, `main` (200 × 50), runs
    /// `program` with `args` (not through a shell).
    pub fn start(dir: &Path, program: &str, args: &[&str]) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let size = ["-x", "200", "-y", "50"];
        tmux.run(
            &[
                &["new-session", "-d", "-s", "main"][..],
                &size,
                &[program],
                args,
            ]
            .concat(),
        );
        tmux
    }

    fn command(&self) -> Command {
        let mut tmux = Command::new("tmux");
        // Run from inside another tmux, it must not take that one's cue.
        tmux.env_remove("TMUX").arg("-S").arg(&self.socket);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` into the session, then Enter.
    pub fn type_line(&self, text: &str) {
        // -l: the text is typed as is, not read as key names.
        self.run(&["send-keys", "-t", "main", "-l", text]);
        self.run(&["send-keys", "-t", "main", "Enter"]);
    }

    /// What the session's screen shows now, and its scroll-back.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "main"])
    }

    /// Whether the session is still there (its program has not exited).
    pub fn running(&self) -> bool {
        self.command()
            .args(["has-session", "-t", "main"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Gone already once its last session has ended: ignore the error.
        let _ = self
            .command()
            .arg("kill-server")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
