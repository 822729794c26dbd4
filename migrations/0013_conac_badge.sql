-- The 党政机关网站标识 number of each site (model::Tenant::conac_id).
ALTER TABLE tenants ADD COLUMN conac_id TEXT;
