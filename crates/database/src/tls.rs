//! TLS to the database, verified against a CA bundle file: RDS's on AWS (see README.md, "How
//! it connects"), the emulator's locally. The certificate chain and the host name are both
//! checked (libpq's `sslmode=verify-full`): nothing is sent to a server that cannot prove it is
//! the instance.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::DatabaseError;

/// The environment variable naming the CA bundle file (PEM) the tasks trust.
pub const CA_BUNDLE_ENV: &str = "RDS_REFRESH_CA_BUNDLE";

/// A TLS client configuration trusting exactly the certificates of one bundle.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// Trusts the certificates in the PEM file at `path`.
    pub fn from_bundle_file(path: &str) -> Result<Tls, DatabaseError> {
        let failed = |message: String| DatabaseError::CaBundle { path: path.to_owned(), message };
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|error| failed(error.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| failed(error.to_string()))?;
        Tls::trusting(certificates).map_err(failed)
    }

    /// Trusts the bundle that [`CA_BUNDLE_ENV`] names.
    pub fn from_env() -> Result<Tls, DatabaseError> {
        match std::env::var(CA_BUNDLE_ENV) {
            Ok(path) if !path.trim().is_empty() => Tls::from_bundle_file(&path),
            _ => Err(DatabaseError::CaBundle {
                path: format!("${CA_BUNDLE_ENV}"),
                message:
                    "is not set: it must name the CA bundle (PEM) that the database's certificate is verified against"
                        .into(),
            }),
        }
    }

    fn trusting(certificates: Vec<CertificateDer<'static>>) -> Result<Tls, String> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err("holds no usable certificate".into());
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls { config: Arc::new(config) })
    }

    pub(crate) fn connector(&self) -> MakeRustlsConnect {
        MakeRustlsConnect::new((*self.config).clone())
    }
}
