//! The message of the day: the text of `server.motd_file`, bounded and
//! cut into lines, read at start-up and on every reload.

use std::io::Read;
use std::path::Path;

use tracing::warn;

/// The most of `server.motd_file` that is read, in bytes.
pub const MAX_MOTD_BYTES: usize = 64 * 1024;
/// The most lines of a MOTD that are shown.
pub const MAX_MOTD_LINES: usize = 100;
/// The longest MOTD line shown, in bytes (it must fit an IRC line with
/// its prefix and numeric).
pub const MAX_MOTD_LINE_BYTES: usize = 400;

/// A MOTD: its lines, without terminators or control characters; empty
/// for none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Motd(Vec<String>);

impl Motd {
    /// The MOTD in `text`: at most [`MAX_MOTD_LINES`] lines of at most
    /// [`MAX_MOTD_LINE_BYTES`] each; control characters (a tab aside,
    /// which becomes a space) are dropped, trailing blank lines too.
    pub fn from_text(text: &str) -> Motd {
        let mut lines: Vec<String> = text
            .lines()
            .take(MAX_MOTD_LINES)
            .map(|line| {
                let mut clean = String::with_capacity(line.len());
                for c in line.chars() {
                    let c = if c == '\t' { ' ' } else { c };
                    if c.is_control() {
                        continue;
                    }
                    if clean.len() + c.len_utf8() > MAX_MOTD_LINE_BYTES {
                        break;
                    }
                    clean.push(c);
                }
                clean.trim_end().to_string()
            })
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        Motd(lines)
    }

    /// Reads the MOTD from `path` (its first [`MAX_MOTD_BYTES`], invalid
    /// UTF-8 replaced).
    pub fn read(path: &Path) -> std::io::Result<Motd> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_MOTD_BYTES as u64)
            .read_to_end(&mut bytes)?;
        Ok(Motd::from_text(&String::from_utf8_lossy(&bytes)))
    }

    /// The MOTD `server.motd_file` names, none if it is empty; a file that
    /// cannot be read is logged (warn) and gives none: a missing MOTD
    /// never stops the server nor a reload.
    pub fn load(motd_file: &Path) -> Motd {
        if motd_file.as_os_str().is_empty() {
            return Motd::default();
        }
        match Motd::read(motd_file) {
            Ok(motd) => motd,
            Err(e) => {
                warn!(%e, file = %motd_file.display(), "server.motd_file cannot be read: no MOTD");
                Motd::default()
            }
        }
    }

    /// The MOTD `config` asks for: `server.motd_file`'s, or else the
    /// deprecated `irc.motd` text (on every protocol, with a warning).
    pub fn of(config: &super::Config) -> Motd {
        let inline = &config.irc.motd;
        if config.server.motd_file.as_os_str().is_empty() {
            if !inline.is_empty() {
                warn!("irc.motd is deprecated: put the text in a file named by server.motd_file");
            }
            return Motd::from_text(inline);
        }
        if !inline.is_empty() {
            warn!("irc.motd is ignored: server.motd_file is set");
        }
        Motd::load(&config.server.motd_file)
    }

    /// Its lines, first to last.
    pub fn lines(&self) -> &[String] {
        &self.0
    }

    /// Whether there is no MOTD.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_cleaned_and_bounded() {
        assert_eq!(
            Motd::from_text("Welcome\r\n\tbe nice\x07\n\n\n").lines(),
            ["Welcome", " be nice"]
        );
        assert!(Motd::from_text("\n \n").is_empty());
        let many = "x\n".repeat(MAX_MOTD_LINES + 5);
        assert_eq!(Motd::from_text(&many).lines().len(), MAX_MOTD_LINES);
        let long = "é".repeat(MAX_MOTD_LINE_BYTES);
        let motd = Motd::from_text(&long);
        assert_eq!(motd.lines()[0].len(), MAX_MOTD_LINE_BYTES);
    }

    #[test]
    fn a_missing_file_is_no_motd() {
        assert!(Motd::load(Path::new("/nonexistent/motd.txt")).is_empty());
        assert!(Motd::load(Path::new("")).is_empty());
    }
}
