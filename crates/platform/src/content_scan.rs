//! The re-scan of published pages (发布后复查): the content check run again
//! over every public document, so that a word added to the list after a
//! page went out, or a page that came in unchecked (an import, a feed, a
//! page published before the check existed), is found. Part of each node's
//! monitor round; its findings are the `content_safety` monitor's.
//!
//! The first rounds pass over every document by id; after that a round
//! reads only the documents written since (the `document_writes` table the
//! tamper checker reads too), so a round costs what changed, not what
//! exists. At most [`PER_ROUND`] documents are checked a round, so a first
//! pass on a large platform spreads over several rounds instead of holding
//! one up. What was found is kept in memory; a restart (which is how a new
//! word list is loaded) checks all again, and so does a snapshot that
//! replaced the database (its writes are numbered afresh).

use std::collections::HashMap;
use std::sync::Arc;

use zhanqun_model::compliance::Fault;
use zhanqun_model::content_check::ContentRules;
use zhanqun_model::urls::Page;
use zhanqun_model::{Document, Tenant};
use zhanqun_store::Store;

/// Documents checked per round at most.
pub const PER_ROUND: usize = 2_000;

/// A public document the check found something in (clean ones are not
/// kept: a change to them is a new write, read in its turn).
struct Flagged {
    tenant_id: i64,
    serious: Vec<Fault>,
    minor: Vec<Fault>,
}

/// Where the re-scan is.
enum Progress {
    /// Passing over every document: ids above `after` are still to come;
    /// writes after `from` (the newest when the pass began) are read next.
    Passing { after: i64, from: i64 },
    /// Reading the writes after `seq`.
    Following { seq: i64 },
}

pub struct ContentScan {
    rules: Arc<ContentRules>,
    flagged: HashMap<i64, Flagged>,
    progress: Option<Progress>,
}

impl ContentScan {
    pub fn new(rules: Arc<ContentRules>) -> ContentScan {
        ContentScan { rules, flagged: HashMap::new(), progress: None }
    }

    /// Checks up to [`PER_ROUND`] documents not checked as they now read,
    /// and forgets those no longer public. Returns how many were read.
    pub async fn refresh(&mut self, store: &Store, sites: &[Tenant]) -> zhanqun_store::Result<usize> {
        let newest = store.last_document_write().await?;
        let progress = match self.progress.take() {
            // A snapshot installed since the last round numbers the writes
            // afresh: what was seen cannot be told from what was not.
            Some(Progress::Following { seq }) if newest < seq => None,
            other => other,
        };
        let (documents, progress) = match progress.unwrap_or_else(|| {
            self.flagged.clear();
            Progress::Passing { after: 0, from: newest }
        }) {
            Progress::Passing { after, from } => {
                let documents = store.documents_after(after, PER_ROUND as i64).await?;
                let progress = match documents.last() {
                    Some(last) if documents.len() == PER_ROUND => Progress::Passing { after: last.id, from },
                    _ => Progress::Following { seq: from },
                };
                (documents, progress)
            }
            Progress::Following { seq } => {
                let written = store.documents_written_since(seq, PER_ROUND as i64).await?;
                let ids: Vec<i64> = written.iter().map(|(_, id)| *id).collect();
                for id in &ids {
                    self.flagged.remove(id);
                }
                let seq = written.last().map_or(seq, |(seq, _)| *seq);
                (store.documents_with_ids(&ids).await?, Progress::Following { seq })
            }
        };
        self.progress = Some(progress);
        let codes: HashMap<i64, &str> = sites.iter().map(|s| (s.id, s.code.as_str())).collect();
        let hosts: Vec<String> = sites.iter().flat_map(|s| s.hosts.iter().cloned()).collect();
        let read = documents.len();
        let mut pace = crate::pace::Pace::default();
        for d in documents.into_iter().filter(Document::is_public) {
            pace.breathe().await;
            let hits = self.rules.check_document(&d.title, d.summary.as_deref().unwrap_or(""), &d.body_html, hosts.iter().cloned());
            let url = codes.get(&d.tenant_id).map(|code| format!("/sites/{code}{}", Page::Document { id: d.id }.path()));
            let fault = |serious: bool| {
                let said: Vec<String> = hits.iter().filter(|h| h.serious() == serious).take(5).map(|h| h.describe()).collect();
                (!said.is_empty()).then(|| Fault { what: format!("《{}》{}", d.title, said.join("；")), url: url.clone() })
            };
            let (serious, minor) = (fault(true), fault(false));
            if serious.is_some() || minor.is_some() {
                self.flagged.insert(d.id, Flagged { tenant_id: d.tenant_id, serious: serious.into_iter().collect(), minor: minor.into_iter().collect() });
            }
        }
        Ok(read)
    }

    /// Per site, the (serious, minor) faults found so far, newest document first.
    pub fn by_site(&self) -> HashMap<i64, (Vec<Fault>, Vec<Fault>)> {
        let mut flagged: Vec<(&i64, &Flagged)> = self.flagged.iter().collect();
        flagged.sort_by_key(|(id, _)| std::cmp::Reverse(**id));
        let mut out: HashMap<i64, (Vec<Fault>, Vec<Fault>)> = HashMap::new();
        for (_, f) in flagged {
            let entry = out.entry(f.tenant_id).or_default();
            entry.0.extend(f.serious.iter().cloned());
            entry.1.extend(f.minor.iter().cloned());
        }
        out
    }
}
