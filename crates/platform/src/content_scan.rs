//! The re-scan of published pages (发布后复查): the content check run again
//! over every public document, so that a word added to the list after a
//! page went out, or a page that came in unchecked (an import, a feed, a
//! page published before the check existed), is found. Part of each node's
//! monitor round; its findings are the `content_safety` monitor's.
//!
//! A document is checked once per change (its `updated_at`), at most
//! [`PER_ROUND`] a round, so a first round on a large platform spreads over
//! several rounds instead of holding one up. What was found is kept in
//! memory; a restart (which is how a new word list is loaded) checks all
//! again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use zhanqun_model::Tenant;
use zhanqun_model::compliance::Fault;
use zhanqun_model::content_check::ContentRules;
use zhanqun_model::urls::Page;
use zhanqun_store::Store;

/// Documents checked per round at most.
pub const PER_ROUND: usize = 2_000;

struct Checked {
    updated_at: i64,
    tenant_id: i64,
    /// (serious, minor) faults; `None` for a clean page (most of them).
    faults: Option<Box<(Vec<Fault>, Vec<Fault>)>>,
}

pub struct ContentScan {
    rules: Arc<ContentRules>,
    checked: HashMap<i64, Checked>,
}

impl ContentScan {
    pub fn new(rules: Arc<ContentRules>) -> ContentScan {
        ContentScan { rules, checked: HashMap::new() }
    }

    /// Checks the public documents new or changed since they were last
    /// checked (up to [`PER_ROUND`]), and forgets those no longer public.
    /// Returns how many were checked.
    pub async fn refresh(&mut self, store: &Store, sites: &[Tenant]) -> zhanqun_store::Result<usize> {
        let stamps = store.public_document_stamps_all().await?;
        let live: HashSet<i64> = stamps.iter().map(|(_, id, _)| *id).collect();
        self.checked.retain(|id, _| live.contains(id));
        let codes: HashMap<i64, &str> = sites.iter().map(|s| (s.id, s.code.as_str())).collect();
        let hosts: Vec<String> = sites.iter().flat_map(|s| s.hosts.iter().cloned()).collect();
        let mut done = 0;
        for (tenant_id, id, updated_at) in stamps {
            if self.checked.get(&id).is_some_and(|c| c.updated_at == updated_at) {
                continue;
            }
            if done == PER_ROUND {
                break;
            }
            done += 1;
            let Some(d) = store.document(tenant_id, id).await? else { continue };
            let hits = self.rules.check_document(&d.title, d.summary.as_deref().unwrap_or(""), &d.body_html, hosts.iter().cloned());
            let url = codes.get(&tenant_id).map(|code| format!("/sites/{code}{}", Page::Document { id }.path()));
            let fault = |serious: bool| {
                let said: Vec<String> = hits.iter().filter(|h| h.serious() == serious).take(5).map(|h| h.describe()).collect();
                (!said.is_empty()).then(|| Fault { what: format!("《{}》{}", d.title, said.join("；")), url: url.clone() })
            };
            let (serious, minor) = (fault(true), fault(false));
            let faults = (serious.is_some() || minor.is_some()).then(|| Box::new((serious.into_iter().collect(), minor.into_iter().collect())));
            self.checked.insert(id, Checked { updated_at, tenant_id, faults });
        }
        Ok(done)
    }

    /// Per site, the (serious, minor) faults found so far, newest document first.
    pub fn by_site(&self) -> HashMap<i64, (Vec<Fault>, Vec<Fault>)> {
        let mut flagged: Vec<(&i64, &Checked)> = self.checked.iter().filter(|(_, c)| c.faults.is_some()).collect();
        flagged.sort_by_key(|(id, _)| std::cmp::Reverse(**id));
        let mut out: HashMap<i64, (Vec<Fault>, Vec<Fault>)> = HashMap::new();
        for (_, c) in flagged {
            let (serious, minor) = c.faults.as_deref().expect("flagged");
            let entry = out.entry(c.tenant_id).or_default();
            entry.0.extend(serious.iter().cloned());
            entry.1.extend(minor.iter().cloned());
        }
        out
    }
}
