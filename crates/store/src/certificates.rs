//! Sites' HTTPS certificates, as the TLS listener loads them.

use zhanqun_model::SiteCertificate;

use crate::{Result, Store};

type Row = (i64, String, String, i64, String, String);

const COLUMNS: &str = "tenant_id, chain_pem, private_key_pem, not_after, sha256, hosts";

fn certificate((tenant_id, chain_pem, private_key_pem, not_after, sha256, hosts): Row) -> Result<(i64, SiteCertificate)> {
    let hosts = serde_json::from_str(&hosts).map_err(|e| crate::StoreError::Corrupt(format!("site_certificates.hosts: {e}")))?;
    Ok((tenant_id, SiteCertificate { chain_pem, private_key_pem, not_after, sha256, hosts }))
}

impl Store {
    /// Every site's certificate, by site id.
    pub async fn site_certificates(&self) -> Result<Vec<(i64, SiteCertificate)>> {
        let rows: Vec<Row> = sqlx::query_as(sql!("SELECT {COLUMNS} FROM site_certificates ORDER BY tenant_id")).fetch_all(&self.reader()).await?;
        rows.into_iter().map(certificate).collect()
    }

    /// One site's certificate, if it has one.
    pub async fn site_certificate(&self, tenant_id: i64) -> Result<Option<SiteCertificate>> {
        let row: Option<Row> =
            sqlx::query_as(sql!("SELECT {COLUMNS} FROM site_certificates WHERE tenant_id = ?")).bind(tenant_id).fetch_optional(&self.reader()).await?;
        Ok(row.map(certificate).transpose()?.map(|(_, c)| c))
    }
}
