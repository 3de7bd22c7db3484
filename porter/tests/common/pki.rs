//! A test PKI made with `rcgen` at test time: a CA, leaf certificates for
//! `localhost` and `api.test`, the files the CLI tools need, and the server and
//! rustls client configurations built from them.

use std::path::PathBuf;
use std::sync::Arc;

use porter::TlsConfig;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::TempDir;

/// A test CA and two leaf certificates, as PEM, plus files for the CLI tools.
pub struct Pki {
    pub dir: TempDir,
    pub ca_der: CertificateDer<'static>,
    pub localhost: (String, String),
    pub api: (String, String),
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "porter test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let dir = TempDir::new("tls");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        let pki = Pki { ca_der: ca_cert.der().clone(), localhost: leaf("localhost"), api: leaf("api.test"), dir };
        std::fs::write(pki.dir.path().join("cert.pem"), &pki.localhost.0).unwrap();
        std::fs::write(pki.dir.path().join("key.pem"), &pki.localhost.1).unwrap();
        pki
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `localhost` by default, `api.test` by SNI.
    pub fn config(&self) -> TlsConfig {
        TlsConfig::from_pem_files(self.dir.path().join("cert.pem"), self.dir.path().join("key.pem"))
            .unwrap()
            .add_sni_pem("api.test", self.api.0.as_bytes(), self.api.1.as_bytes())
            .unwrap()
    }

    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}
