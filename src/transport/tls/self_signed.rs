//! The self-signed certificate a server serves when none is configured:
//! generated once into its directory, reused at every later start (so
//! that clients which pinned its fingerprint keep trusting it).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DnType, KeyPair};

use super::{TlsError, TlsFiles};

/// The certificate's file name in its directory.
pub const CERT_FILE: &str = "self-signed-cert.pem";
/// The private key's file name in its directory.
pub const KEY_FILE: &str = "self-signed-key.pem";

/// The names the certificate is for: `localhost`, its loopback addresses,
/// and the server's name where it can be a DNS name.
pub fn names(server_name: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    let dns_like = !server_name.is_empty()
        && server_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if dns_like && !names.iter().any(|n| n.eq_ignore_ascii_case(server_name)) {
        names.push(server_name.to_owned());
    }
    names
}

/// Where the certificate and key live in `dir`.
pub fn files(dir: &Path) -> TlsFiles {
    TlsFiles {
        cert: dir.join(CERT_FILE),
        key: dir.join(KEY_FILE),
    }
}

/// The certificate in `dir`, generated for `names` unless both its files
/// are there already; with whether it was generated now.
pub fn ensure(dir: &Path, names: &[String]) -> Result<(TlsFiles, bool), TlsError> {
    let files = files(dir);
    if files.cert.is_file() && files.key.is_file() {
        return Ok((files, false));
    }
    let (cert, key) = generate(names)?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    // The key first: a certificate on disk always has its key beside it.
    for (path, pem, private) in [(&files.key, &key, true), (&files.cert, &cert, false)] {
        write_replacing(path, pem.as_bytes(), private).map_err(|source| TlsError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok((files, true))
}

/// A new certificate for `names` and its key (ECDSA P-256), both PEM.
pub fn generate(names: &[String]) -> Result<(String, String), TlsError> {
    let failed = |source| TlsError::Generate {
        names: names.to_vec(),
        source,
    };
    let mut params = CertificateParams::new(names.to_vec()).map_err(failed)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "chatroom self-signed");
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes `bytes` to a file beside `path`, then renames it over `path`:
/// a crash leaves the old file or the new one, never half of one. A
/// `private` file is readable by its owner only.
fn write_replacing(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}
