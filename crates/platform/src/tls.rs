//! HTTPS per site, for clusters without an ingress: a certificate is read
//! and checked once, when the 系统管理员 gives it (it parses, the key is
//! the certificate's, it covers at least one of the site's hosts, it has
//! not expired), and each node turns the stored certificates into one
//! server configuration per host, which the TLS listener picks by SNI.
//! TLS 1.2 and 1.3 only (rustls has nothing older).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use zhanqun_model::{Millis, SiteCertificate};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The chain and key, parsed and paired.
fn certified_key(chain_pem: &str, key_pem: &str) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(chain_pem.as_bytes()).collect::<Result<_, _>>().map_err(|e| format!("the certificate chain is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no -----BEGIN CERTIFICATE----- block in the certificate chain".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| "the private key must be one PEM block: PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY".to_string())?;
    let signer = provider().key_provider.load_private_key(key).map_err(|e| format!("the private key cannot be used: {e}"))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| "the private key does not belong to the certificate (the first one in the chain)".to_string())?;
    Ok(certified)
}

/// Reads a certificate given for a site whose hosts are `site_hosts`,
/// at `now`: what the platform stores, or why it is refused.
pub fn read_certificate(chain_pem: &str, key_pem: &str, site_hosts: &[String], now: Millis) -> Result<SiteCertificate, String> {
    let certified = certified_key(chain_pem, key_pem)?;
    let leaf = certified.end_entity_cert().map_err(|e| format!("no leaf certificate: {e}"))?;
    let not_after = not_after(leaf.as_ref()).ok_or("the certificate's validity cannot be read")?;
    if not_after <= now {
        return Err(format!("the certificate expired on {} (UTC+8)", zhanqun_model::time::format_minute(not_after)));
    }
    let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("the certificate cannot be read: {e:?}"))?;
    let hosts: Vec<String> = site_hosts
        .iter()
        .filter(|h| ServerName::try_from(h.as_str()).is_ok_and(|name| end_entity.verify_is_valid_for_subject_name(&name).is_ok()))
        .cloned()
        .collect();
    if hosts.is_empty() {
        return Err(format!(
            "the certificate is valid for none of the site's hosts ({}); give the site its host first, or a certificate naming it",
            if site_hosts.is_empty() { "it has none".to_string() } else { site_hosts.join(", ") }
        ));
    }
    Ok(SiteCertificate {
        chain_pem: chain_pem.to_string(),
        private_key_pem: key_pem.to_string(),
        not_after,
        sha256: hex::encode(Sha256::digest(leaf.as_ref())),
        hosts,
    })
}

/// One site's certificate, whatever the client asks.
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// What a node serves over TLS: a server configuration per host.
#[derive(Default)]
pub struct TlsSites {
    by_host: HashMap<String, Arc<rustls::ServerConfig>>,
}

impl TlsSites {
    /// From the stored certificates; one that no longer loads (it cannot,
    /// unless the database was edited by hand) is left out and logged.
    pub fn from_certificates(certificates: &[(i64, SiteCertificate)]) -> TlsSites {
        let mut by_host = HashMap::new();
        for (tenant_id, c) in certificates {
            let certified = match certified_key(&c.chain_pem, &c.private_key_pem) {
                Ok(k) => Arc::new(k),
                Err(e) => {
                    tracing::error!(tenant_id, sha256 = %c.sha256, "a stored certificate does not load and is not served: {e}");
                    continue;
                }
            };
            let config = rustls::ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .expect("ring supports TLS 1.2 and 1.3")
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(OneCertificate(certified)));
            let mut config = config;
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let config = Arc::new(config);
            for host in &c.hosts {
                by_host.insert(host.clone(), config.clone());
            }
        }
        TlsSites { by_host }
    }

    /// The configuration for a client that asked for `host` (SNI).
    pub fn for_host(&self, host: &str) -> Option<Arc<rustls::ServerConfig>> {
        self.by_host.get(&host.to_ascii_lowercase()).cloned()
    }

    pub fn has_host(&self, host: &str) -> bool {
        self.by_host.contains_key(host)
    }
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |l, &b| (l << 8) | b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The notAfter of an X.509 certificate (RFC 5280 §4.1.2.5), as epoch
/// milliseconds: the one field webpki does not hand out.
fn not_after(certificate: &[u8]) -> Option<Millis> {
    let (0x30, certificate, _) = der(certificate)? else { return None };
    let (0x30, tbs, _) = der(certificate)? else { return None };
    let (tag, _, after_version) = der(tbs)?;
    let fields = if tag == 0xa0 { after_version } else { tbs };
    let (_, _, fields) = der(fields)?; // serialNumber
    let (_, _, fields) = der(fields)?; // signature
    let (_, _, fields) = der(fields)?; // issuer
    let (0x30, validity, _) = der(fields)? else { return None };
    let (_, _, validity) = der(validity)?; // notBefore
    let (tag, time, _) = der(validity)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        // UTCTime: YYMMDDHHMMSS, years 1950–2049.
        0x17 if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        // GeneralizedTime: YYYYMMDDHHMMSS.
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let part = |i: usize| rest.get(i..i + 2)?.parse::<u32>().ok();
    Some(zhanqun_model::time::utc_to_millis(year, part(0)?, part(2)?, part(4)?, part(6)?, part(8)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_in_long_form_are_read_and_truncated_input_is_refused() {
        let long: Vec<u8> = [&[0x04, 0x81, 0x80][..], &[7u8; 0x80][..]].concat();
        let (tag, content, rest) = der(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (0x04, 0x80, 0));
        assert!(der(&long[..50]).is_none());
        assert!(not_after(b"\x30\x03\x02\x01\x01").is_none());
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let e = read_certificate("not a certificate", "nor a key", &["a.gov.cn".into()], 0).unwrap_err();
        assert!(e.contains("BEGIN CERTIFICATE"), "{e}");
    }
}
