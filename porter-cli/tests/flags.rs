//! Flags of the `porter` binary a newcomer tries first: HTTPS alone
//! (`--tls-listen` without `--listen` opens no plain port), and an encrypted
//! private key, refused with a message that names the key file and says why.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{porter_command, Scratch};

/// A self-signed certificate for `localhost`: `(cert.pem, key.pem)` in `s`.
fn certificate(s: &Scratch) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    (s.write("cert.pem", cert.pem()), s.write("key.pem", key.serialize_pem()))
}

#[test]
fn tls_listen_alone_serves_https_only() {
    let s = Scratch::new("flags-https-only");
    let (cert, key) = certificate(&s);
    let mut child = porter_command()
        .args(["--tls-listen", "127.0.0.1:0", "--no-access-log", "--threads", "1", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start porter");
    let mut startup = String::new();
    let read = BufReader::new(child.stderr.take().expect("stderr")).read_line(&mut startup);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("the startup line");
    assert!(startup.contains(" on https://127.0.0.1:"), "{startup}");
    assert!(!startup.contains("http://"), "no plain-HTTP listener: {startup}");
}

/// Runs porter with `key` as the private key; returns its exit code and stderr.
fn start_with_key(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let out = Command::new(common::PORTER)
        .args(["--tls-listen", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdin(Stdio::null())
        .output()
        .expect("run porter");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_encrypted_private_key_is_named_and_refused() {
    let s = Scratch::new("flags-encrypted-key");
    let (cert, key) = certificate(&s);
    // PKCS#8 `ENCRYPTED PRIVATE KEY`, and OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` EC key.
    for (name, args) in
        [("pkcs8.pem", &["pkcs8", "-topk8", "-v2", "aes-256-cbc"][..]), ("legacy.pem", &["ec", "-aes256"][..])]
    {
        let encrypted = s.path(name);
        let status = Command::new("openssl")
            .args(args)
            .arg("-in")
            .arg(&key)
            .arg("-out")
            .arg(&encrypted)
            .args(["-passout", "pass:secret"])
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs; ./scripts/test.sh installs it");
        assert!(status.success(), "openssl {args:?}");
        let (code, stderr) = start_with_key(&cert, &encrypted);
        assert_eq!(code, Some(1), "{stderr}");
        let want = format!("porter: {}: the private key is encrypted", encrypted.display());
        assert!(stderr.starts_with(&want), "{stderr}");
        assert!(stderr.contains("porter does not support"), "{stderr}");
    }
    // A key file with no key in it (the certificate given twice) names the key file too.
    let (code, stderr) = start_with_key(&cert, &cert);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with(&format!("porter: {}: no private key in the PEM", cert.display())), "{stderr}");
}
