use std::time::Duration;

use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A fresh certificate and key for `localhost`, written into `dir`
/// as `<stem>-cert.pem` and `<stem>-key.pem`.
fn pair(dir: &Path, stem: &str) -> TlsFiles {
    let (cert, key) = self_signed::generate(&["localhost".into()]).unwrap();
    TlsFiles {
        cert: write(dir, &format!("{stem}-cert.pem"), &cert),
        key: write(dir, &format!("{stem}-key.pem"), &key),
    }
}

fn leaf_fingerprint(cert: &Path) -> Fingerprint {
    let pem = std::fs::read(cert).unwrap();
    Fingerprint::of(&CertificateDer::from_pem_slice(&pem).unwrap())
}

#[test]
fn fingerprints_read_like_openssl() {
    let mut bytes = [0u8; 32];
    bytes[0] = 0xAB;
    bytes[31] = 0x05;
    let shown = Fingerprint(bytes).to_string();
    assert_eq!(shown.len(), 32 * 3 - 1);
    assert!(shown.starts_with("AB:00:"), "{shown}");
    assert!(shown.ends_with(":00:05"), "{shown}");
}

#[test]
fn the_self_signed_names_are_localhost_and_a_dns_like_server_name() {
    assert_eq!(
        names("chatroom"),
        ["localhost", "127.0.0.1", "::1", "chatroom"]
    );
    assert_eq!(
        names("chat.example.org").last().unwrap(),
        "chat.example.org"
    );
    assert_eq!(names("LOCALHOST"), ["localhost", "127.0.0.1", "::1"]);
    assert_eq!(names("chat_room!"), ["localhost", "127.0.0.1", "::1"]);
}

use self_signed::names;

#[test]
fn a_self_signed_certificate_is_generated_once_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let (files, generated) = self_signed::ensure(&tls_dir, &names("chatroom")).unwrap();
    assert!(generated);
    assert_eq!(files, self_signed::files(&tls_dir));
    let first = TlsAcceptorHandle::load(files.clone(), TIMEOUT).unwrap();
    assert_eq!(first.fingerprint(), leaf_fingerprint(&files.cert));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is private: {mode:o}");
    }

    let (again, generated) = self_signed::ensure(&tls_dir, &names("chatroom")).unwrap();
    assert!(!generated);
    let second = TlsAcceptorHandle::load(again, TIMEOUT).unwrap();
    assert_eq!(second.fingerprint(), first.fingerprint());
}

#[test]
fn a_lone_self_signed_file_is_replaced_by_a_new_pair() {
    let dir = tempfile::tempdir().unwrap();
    let files = self_signed::files(dir.path());
    std::fs::write(&files.cert, "left over").unwrap();
    let (files, generated) = self_signed::ensure(dir.path(), &names("x")).unwrap();
    assert!(generated);
    TlsAcceptorHandle::load(files, TIMEOUT).unwrap();
}

#[test]
fn every_bad_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = pair(dir.path(), "good");
    let other = pair(dir.path(), "other");
    let garbage = write(dir.path(), "garbage.pem", "not a certificate\n");
    let broken = write(
        dir.path(),
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let missing = dir.path().join("missing.pem");
    let cases = [
        (missing.clone(), good.key.clone(), &missing, "cannot read"),
        (good.cert.clone(), missing.clone(), &missing, "cannot read"),
        (
            garbage.clone(),
            good.key.clone(),
            &garbage,
            "no PEM certificate",
        ),
        (
            good.cert.clone(),
            garbage.clone(),
            &garbage,
            "no PEM private key",
        ),
        (broken.clone(), good.key.clone(), &broken, "not valid PEM"),
        // A certificate where the key should be.
        (
            good.cert.clone(),
            good.cert.clone(),
            &good.cert,
            "private key",
        ),
        (
            good.cert.clone(),
            other.key.clone(),
            &other.key,
            "does not fit",
        ),
    ];
    for (cert, key, named, why) in cases {
        let files = TlsFiles { cert, key };
        let err = TlsAcceptorHandle::load(files.clone(), TIMEOUT)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&named.display().to_string()) && err.contains(why),
            "{files:?} gave {err:?}"
        );
    }
}

#[test]
fn a_huge_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = pair(dir.path(), "good");
    let huge = dir.path().join("huge.pem");
    std::fs::write(&huge, vec![b'A'; MAX_PEM_BYTES as usize + 1]).unwrap();
    let err = TlsAcceptorHandle::load(
        TlsFiles {
            cert: huge.clone(),
            key: good.key,
        },
        TIMEOUT,
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsError::TooLarge { ref path, .. } if *path == huge),
        "{err}"
    );
}

#[test]
fn a_reload_serves_the_new_files_and_a_failed_one_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let files = pair(dir.path(), "live");
    let handle = TlsAcceptorHandle::load(files.clone(), TIMEOUT).unwrap();
    let config = handle.server_config();
    let before = handle.fingerprint();

    let next = pair(dir.path(), "next");
    std::fs::copy(&next.cert, &files.cert).unwrap();
    std::fs::copy(&next.key, &files.key).unwrap();
    let after = handle.reload().unwrap();
    assert_ne!(after, before);
    assert_eq!(after, leaf_fingerprint(&next.cert));
    assert_eq!(handle.fingerprint(), after);
    // What the resolver of the config handed out before now serves.
    assert!(Arc::ptr_eq(&config, &handle.server_config()));
    assert_eq!(Fingerprint::of(&handle.0.current.get().key.cert[0]), after);

    std::fs::write(&files.key, "gone bad").unwrap();
    let err = handle.reload().unwrap_err().to_string();
    assert!(err.contains(&files.key.display().to_string()), "{err}");
    assert_eq!(handle.fingerprint(), after);
}
