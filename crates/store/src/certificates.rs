//! Sites' HTTPS certificates, as the TLS listener loads them.

use zhanqun_model::SiteCertificate;

use crate::{Result, Store};

impl Store {
    /// Every site's certificate, by site id.
    pub async fn site_certificates(&self) -> Result<Vec<(i64, SiteCertificate)>> {
        let rows: Vec<(i64, String, String, i64, String, String)> =
            sqlx::query_as("SELECT tenant_id, chain_pem, private_key_pem, not_after, sha256, hosts FROM site_certificates ORDER BY tenant_id")
                .fetch_all(&self.reader())
                .await?;
        rows.into_iter()
            .map(|(tenant_id, chain_pem, private_key_pem, not_after, sha256, hosts)| {
                Ok((
                    tenant_id,
                    SiteCertificate {
                        chain_pem,
                        private_key_pem,
                        not_after,
                        sha256,
                        hosts: serde_json::from_str(&hosts).map_err(|e| crate::StoreError::Corrupt(format!("site_certificates.hosts: {e}")))?,
                    },
                ))
            })
            .collect()
    }
}
