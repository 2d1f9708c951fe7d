//! TLS for any listener: the server's certificate, loaded from PEM files
//! (or generated, self-signed, by [`self_signed`]) and swappable while the
//! server runs, and the handshake that turns an accepted socket into a
//! [`TlsStream`].
//!
//! A [`TlsAcceptorHandle`] is cheap to clone and shared by every TLS
//! listener (native, IRC, HTTPS). Its [`ServerConfig`] never changes: the
//! certificate is picked per handshake by a resolver that reads the current
//! one, so [`TlsAcceptorHandle::reload`] swaps it for every listener at
//! once, even for a listener that was handed the `ServerConfig` itself, and
//! connections already open keep the session they negotiated.
//!
//! rustls with the *ring* provider only: no C toolchain beyond what *ring*
//! needs, and one provider, named explicitly rather than picked from the
//! process default.

pub mod handshakes;
pub mod self_signed;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::config::Config;

pub use handshakes::Handshakes;

/// The largest certificate or key file read: a PEM chain is a few KiB, and
/// a path pointing at something huge must not be read into memory.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a certificate or key could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("TLS {what} {}: cannot read it: {source}", path.display())]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file is larger than any PEM certificate or key.
    #[error("TLS {what} {}: larger than {MAX_PEM_BYTES} bytes, not a PEM file", path.display())]
    TooLarge {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A file holds no PEM item of the kind expected, or a broken one.
    #[error("TLS {what} {}: {why}", path.display())]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The key cannot be used, or it is not the certificate's.
    #[error("TLS private key {} does not fit certificate {}: {source}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls found.
        source: rustls::Error,
    },
    /// The self-signed certificate could not be generated.
    #[error("TLS self-signed certificate for {names:?}: {source}")]
    Generate {
        /// The names it was for.
        names: Vec<String>,
        /// What rcgen said.
        source: rcgen::Error,
    },
    /// The self-signed certificate could not be written.
    #[error("TLS self-signed certificate: cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Where a certificate chain and its private key are, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf's private key.
    pub key: PathBuf,
}

/// The SHA-256 of a certificate's DER bytes, shown as `openssl x509
/// -fingerprint -sha256` shows it (`AB:CD:...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of DER bytes `der`.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The certificate every TLS listener serves, swappable at run time.
#[derive(Clone)]
pub struct TlsAcceptorHandle(Arc<Shared>);

struct Shared {
    files: TlsFiles,
    /// Always resolves to [`Shared::current`]'s key.
    config: Arc<ServerConfig>,
    current: Arc<Current>,
    handshake_timeout: Duration,
}

/// The certificate served now: what the resolver hands to each handshake.
#[derive(Debug)]
struct Current(RwLock<Loaded>);

#[derive(Debug, Clone)]
struct Loaded {
    key: Arc<CertifiedKey>,
    fingerprint: Fingerprint,
}

impl Current {
    fn get(&self) -> Loaded {
        // A panic while the lock was held cannot have left a half-swapped
        // value: the swap is one assignment.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, loaded: Loaded) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = loaded;
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get().key)
    }
}

impl fmt::Debug for TlsAcceptorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptorHandle")
            .field("files", &self.0.files)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// The one crypto provider: *ring*.
///
/// rustls 0.23.48 deprecates it because it has no post-quantum key
/// exchange (X25519MLKEM768, which needs aws-lc-rs); the server keeps
/// *ring* on purpose, to build without aws-lc's C and CMake toolchain.
/// Clients get X25519, P-256 and P-384.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsAcceptorHandle {
    /// The certificate `config` asks for: `tls.cert` and `tls.key`, or
    /// (both empty) the self-signed one in `tls.dir`, generated if absent,
    /// for `localhost`, `127.0.0.1` and `server.name`. Logs which, with its
    /// fingerprint.
    pub fn from_config(config: &Config) -> Result<TlsAcceptorHandle, TlsError> {
        let timeout = Duration::from_secs(config.tls.handshake_timeout_secs);
        if config.tls_cert_configured() {
            let files = TlsFiles {
                cert: config.tls.cert.clone(),
                key: config.tls.key.clone(),
            };
            let handle = TlsAcceptorHandle::load(files, timeout)?;
            handle.log_loaded("configured");
            return Ok(handle);
        }
        let (files, generated) =
            self_signed::ensure(&config.tls.dir, &self_signed::names(&config.server.name))?;
        let handle = TlsAcceptorHandle::load(files, timeout)?;
        handle.log_loaded(if generated {
            "self-signed, generated now"
        } else {
            "self-signed"
        });
        Ok(handle)
    }

    /// Loads `files`; handshakes get `handshake_timeout`.
    pub fn load(
        files: TlsFiles,
        handshake_timeout: Duration,
    ) -> Result<TlsAcceptorHandle, TlsError> {
        let provider = provider();
        let loaded = read_certified_key(&files, &provider)?;
        let current = Arc::new(Current(RwLock::new(loaded)));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Mismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source,
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        Ok(TlsAcceptorHandle(Arc::new(Shared {
            files,
            config: Arc::new(config),
            current,
            handshake_timeout,
        })))
    }

    /// Reads the certificate and key files again and serves them from the
    /// next handshake on; connections already open are not touched. On an
    /// error the certificate served so far stays, and a warning is logged.
    pub fn reload(&self) -> Result<Fingerprint, TlsError> {
        let before = self.fingerprint();
        match read_certified_key(&self.0.files, &provider()) {
            Ok(loaded) => {
                let fingerprint = loaded.fingerprint;
                self.0.current.set(loaded);
                info!(
                    cert = %self.0.files.cert.display(),
                    changed = fingerprint != before,
                    "TLS certificate reloaded, SHA-256 fingerprint {fingerprint}"
                );
                Ok(fingerprint)
            }
            Err(e) => {
                warn!(%e, "TLS certificate not reloaded, still serving {before}");
                Err(e)
            }
        }
    }

    /// The SHA-256 fingerprint of the leaf certificate served now.
    pub fn fingerprint(&self) -> Fingerprint {
        self.0.current.get().fingerprint
    }

    /// The files the certificate is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.0.files
    }

    /// How long a handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.0.handshake_timeout
    }

    /// The rustls configuration, for a listener that runs its own
    /// handshakes (clone it to set ALPN); it follows every reload.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.0.config)
    }

    /// An acceptor serving the current certificate (and later ones).
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config())
    }

    /// Runs the server side of the handshake on `stream`, within the
    /// handshake timeout.
    pub async fn accept<S>(&self, stream: S) -> io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(self.0.handshake_timeout, self.acceptor().accept(stream)).await {
            Ok(done) => done,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }

    fn log_loaded(&self, how: &str) {
        info!(
            cert = %self.0.files.cert.display(),
            key = %self.0.files.key.display(),
            "TLS certificate ({how}), SHA-256 fingerprint {}",
            self.fingerprint()
        );
    }
}

/// Reads `files` into a key rustls can serve, checking that the key is
/// the leaf certificate's.
fn read_certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<Loaded, TlsError> {
    const CERT: &str = "certificate";
    const KEY: &str = "private key";
    let pem = read_bounded(CERT, &files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(CERT, &files.cert, e))?;
    let Some(leaf) = chain.first() else {
        return Err(pem_error(
            CERT,
            &files.cert,
            rustls::pki_types::pem::Error::NoItemsFound,
        ));
    };
    let fingerprint = Fingerprint::of(leaf);
    let pem = read_bounded(KEY, &files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| pem_error(KEY, &files.key, e))?;
    let mismatch = |source| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    };
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(mismatch)?;
    let key = CertifiedKey::new(chain, signer);
    // Unlike `CertifiedKey::from_der`, a key whose public half cannot be
    // compared is refused too: a server that cannot prove it holds the
    // certificate's key fails every handshake.
    key.keys_match().map_err(mismatch)?;
    Ok(Loaded {
        key: Arc::new(key),
        fingerprint,
    })
}

fn pem_error(what: &'static str, path: &Path, e: rustls::pki_types::pem::Error) -> TlsError {
    use rustls::pki_types::pem::Error;
    let why = match e {
        Error::NoItemsFound => format!("no PEM {what} in it"),
        other => format!("not valid PEM: {other}"),
    };
    TlsError::Pem {
        what,
        path: path.to_path_buf(),
        why,
    }
}

/// The content of `path`, refused beyond [`MAX_PEM_BYTES`].
fn read_bounded(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = || -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?
            .take(MAX_PEM_BYTES + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = read().map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
