//! The state machine against a real SQLite file.

use zhanqun_model::*;

use crate::Store;

fn proposal(at: i64, command: Command) -> Proposal {
    // The system acts (no user): these tests are about storage, the API
    // tests walk the permissions.
    Proposal::new(at, None, Some("10.0.0.9".into()), command)
}

fn tenant(id: i64, code: &str) -> Tenant {
    let mut t = Tenant::new(id, code, format!("{code} 镇人民政府"), TenantKind::Township, format!("ORG{id}"), 0);
    t.hosts = vec![format!("{code}.example.gov.cn")];
    t
}

fn channel(id: i64, tenant_id: i64) -> Channel {
    Channel { position: 1, ..Channel::new(id, tenant_id, "tzgg", "通知公告", ChannelKind::List, UpdateClass::Dynamic, 0) }
}

fn document(id: i64, tenant_id: i64, channel_id: i64, doc_no: Option<&str>) -> Document {
    let mut d = Document::draft(id, tenant_id, channel_id, "关于做好春季防火工作的通知", "某镇人民政府", 0);
    d.body_html = "<p>正文</p>".into();
    d.meta.doc_no = doc_no.map(Into::into);
    d.meta.written_date = Some("2017-04-25".into());
    d.meta.disclosure = Some(Disclosure::Proactive);
    d.created_by = Some(1);
    d
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("content.db")).await.unwrap();
    (dir, store)
}

async fn apply(store: &Store, n: u64, cmd: Command) -> Outcome {
    store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&proposal(1_500_000_000_000, cmd))).await.unwrap().0
}

#[tokio::test]
async fn index_numbers_count_per_tenant_and_year() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    let a = apply(&s, 3, Command::CreateDocument { document: document(100, 1, 10, None), attachment_ids: vec![] }).await.unwrap();
    let b = apply(&s, 4, Command::CreateDocument { document: document(101, 1, 10, None), attachment_ids: vec![] }).await.unwrap();
    assert_eq!(a.index_no.as_deref(), Some("ORG1/2017-00001"));
    assert_eq!(b.index_no.as_deref(), Some("ORG1/2017-00002"));
    assert_eq!(s.last_applied().await.unwrap().as_deref(), Some("{\"index\":4}"));
}

#[tokio::test]
async fn a_rejected_batch_changes_nothing_but_the_applied_position() {
    let (_dir, s) = store().await;
    let batch = Command::Batch {
        commands: vec![
            Command::CreateTenant { tenant: tenant(1, "aa") },
            Command::CreateChannel { channel: channel(10, 1) },
            // The same 文号 twice for one 发布机构: refused, so the whole batch is.
            Command::CreateDocument { document: document(100, 1, 10, Some("某政发〔2017〕1号")), attachment_ids: vec![] },
            Command::CreateDocument { document: document(101, 1, 10, Some("某政发〔2017〕1号")), attachment_ids: vec![] },
        ],
    };
    let err = apply(&s, 7, batch).await.unwrap_err();
    assert_eq!(err.code, "duplicate_doc_no");
    assert!(err.message.starts_with("command 4 of the batch"), "{}", err.message);
    assert!(s.tenants().await.unwrap().is_empty());
    assert_eq!(s.last_applied().await.unwrap().as_deref(), Some("{\"index\":7}"));
}

#[tokio::test]
async fn entries_applied_together_leave_what_they_leave_one_by_one() {
    // Group commit: one transaction for entries committed together. A
    // refused command among them changes nothing but its audit line, the
    // others are applied, the 索引号 count on, and the chain holds. The
    // audit lines and digests the transaction writes at its end are those
    // the same entries leave applied one at a time, to the last row: a
    // document created and edited in the same group is digested as edited;
    // one edited again by an entry of version 0 (which writes no digest)
    // keeps the digest of its last edit before that. A batch refused by
    // its second new document leaves its first one's 索引号 free.
    let (_dir, s) = store().await;
    let edit =
        |id, title: &str| Command::UpdateDocument { tenant_id: 1, document_id: id, patch: DocumentPatch { title: Some(title.into()), ..Default::default() } };
    let commands = [
        Command::CreateTenant { tenant: tenant(1, "aa") },
        Command::CreateChannel { channel: channel(10, 1) },
        Command::CreateDocument { document: document(100, 1, 10, Some("某政发〔2017〕1号")), attachment_ids: vec![] },
        Command::CreateDocument { document: document(101, 1, 10, Some("某政发〔2017〕1号")), attachment_ids: vec![] },
        Command::CreateDocument { document: document(102, 1, 10, None), attachment_ids: vec![] },
        // Refused as a whole by its second document: the first one's
        // 索引号 is not taken, and the next new document gets it.
        Command::Batch {
            commands: vec![
                Command::CreateDocument { document: document(103, 1, 10, None), attachment_ids: vec![] },
                Command::CreateDocument { document: document(104, 1, 10, None), attachment_ids: vec![999] },
            ],
        },
        Command::CreateDocument { document: document(105, 1, 10, None), attachment_ids: vec![] },
        edit(100, "关于做好春季防火工作的通知（修订）"),
        edit(102, "关于做好秋季防火工作的通知"),
        edit(102, "由旧版本节点写下的标题"),
    ];
    let mut proposals: Vec<Proposal> = commands.into_iter().map(|c| proposal(1_500_000_000_000, c)).collect();
    proposals.last_mut().unwrap().version = 0;
    let ids: Vec<String> = (1..=proposals.len()).map(|n| format!("{{\"index\":{n}}}")).collect();
    let entries: Vec<crate::CommittedEntry> =
        proposals.iter().zip(&ids).map(|(p, id)| crate::CommittedEntry { log_id: id, membership: None, proposal: Some(p) }).collect();
    let applied = s.apply_entries(&entries).await.unwrap();
    let outcomes: Vec<&Outcome> = applied.iter().map(|(o, _)| o).collect();
    assert!(outcomes.iter().enumerate().all(|(i, o)| i == 3 || i == 5 || o.is_ok()), "{outcomes:?}");
    assert_eq!(outcomes[3].as_ref().unwrap_err().code, "duplicate_doc_no");
    assert_eq!(outcomes[4].as_ref().unwrap().index_no.as_deref(), Some("ORG1/2017-00002"));
    assert_eq!(outcomes[5].as_ref().unwrap_err().code, "unknown_attachment");
    assert!(s.document(1, 103).await.unwrap().is_none());
    assert_eq!(outcomes[6].as_ref().unwrap().index_no.as_deref(), Some("ORG1/2017-00003"), "the refused batch's 索引号 is given again");
    assert!(applied[3].1.documents.is_empty(), "a refused command touches nothing");
    assert!(s.document(1, 101).await.unwrap().is_none());
    assert_eq!(s.document(1, 100).await.unwrap().unwrap().title, "关于做好春季防火工作的通知（修订）");
    assert_eq!(s.last_applied().await.unwrap().as_deref(), Some(format!("{{\"index\":{}}}", entries.len()).as_str()));
    let chain = s.verify_audit_chain().await.unwrap();
    assert!(chain.intact && !chain.tail_cut, "{chain:?}");
    assert_eq!(chain.entries, entries.len() as u64, "one audit line per command, the refused one too");
    assert_eq!(s.apply_transactions(), (1, 1), "the refusal had the group applied again, with savepoints");

    let (_other_dir, one_by_one) = store().await;
    for entry in &entries {
        one_by_one.apply_entries(std::slice::from_ref(entry)).await.unwrap();
    }
    assert_eq!(s.content_checksum().await.unwrap(), one_by_one.content_checksum().await.unwrap(), "every table, audit lines and digests included");
}

#[tokio::test]
async fn a_doc_no_taken_in_one_site_neither_blocks_nor_names_another_sites_draft() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "xiliu") }).await.unwrap();
    apply(&s, 2, Command::CreateTenant { tenant: tenant(2, "niuzhuang") }).await.unwrap();
    apply(&s, 3, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    apply(&s, 4, Command::CreateChannel { channel: channel(20, 2) }).await.unwrap();
    // Both use the same 发布机构 text (free text): the other site's editor
    // claims 西柳镇's organ and number first.
    let claimed = document(200, 2, 20, Some("西政发〔2026〕3号"));
    apply(&s, 5, Command::CreateDocument { document: claimed, attachment_ids: vec![] }).await.unwrap();
    let own = document(100, 1, 10, Some("西政发〔2026〕3号"));
    apply(&s, 6, Command::CreateDocument { document: own, attachment_ids: vec![] }).await.expect("a site's own number is not blocked by another site");
    // Within a site the number stays unique, and the refusal names the holder.
    let again = document(101, 1, 10, Some("西政发〔2026〕3号"));
    let err = apply(&s, 7, Command::CreateDocument { document: again, attachment_ids: vec![] }).await.unwrap_err();
    assert_eq!(err.code, "duplicate_doc_no");
    assert!(err.message.contains("document 100") && !err.message.contains("200"), "{}", err.message);
}

#[tokio::test]
async fn public_queries_never_return_drafts_or_non_proactive_documents() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    let mut withheld = document(102, 1, 10, None);
    withheld.meta.disclosure = Some(Disclosure::Withheld);
    withheld.meta.disclosure_basis = Some("《政府信息公开条例》第十四条".into());
    withheld.meta.disclosure_reason = Some("涉及国家秘密".into());
    for d in [document(100, 1, 10, None), document(101, 1, 10, None), withheld] {
        apply(&s, 3, Command::CreateDocument { document: d, attachment_ids: vec![] }).await.unwrap();
    }
    for id in [101, 102] {
        apply(&s, 4, Command::SubmitDocument { tenant_id: 1, document_id: id }).await.unwrap();
        // 102 is 不予公开: the 政务公开 stage, then the content stage.
        while s.document(1, id).await.unwrap().unwrap().state != DocState::Approved {
            apply(&s, 5, Command::ApproveDocument { tenant_id: 1, document_id: id }).await.unwrap();
        }
        apply(&s, 6, Command::PublishDocument { tenant_id: 1, document_id: id }).await.unwrap();
    }
    let page = s.public_documents(1, None, 10, 0).await.unwrap();
    assert_eq!(page.items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![101]);
    assert!(s.public_document(1, 102).await.unwrap().is_none());
    // Tenant scoping: the same id under another tenant finds nothing.
    assert!(s.document(2, 101).await.unwrap().is_none());
}

#[tokio::test]
async fn documents_read_by_key_are_found_only_under_their_own_site() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateTenant { tenant: tenant(2, "bb") }).await.unwrap();
    apply(&s, 3, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    for id in [100, 101] {
        apply(&s, 4, Command::CreateDocument { document: document(id, 1, 10, None), attachment_ids: vec![] }).await.unwrap();
    }
    // 101 asked for under the other site, 999 not there at all.
    let found = s.recorded_documents_by_keys(&[(1, 100), (2, 101), (1, 999)]).await.unwrap();
    assert_eq!(found.iter().map(|r| (r.document.tenant_id, r.document.id)).collect::<Vec<_>>(), vec![(1, 100)]);
    assert_eq!(found[0].digest, Some(crate::document_digest(&found[0].document)), "read with the digest its command recorded");
    assert!(s.recorded_documents_by_keys(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_snapshot_installs_into_another_store() {
    let (dir, a) = store().await;
    apply(&a, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    let file = dir.path().join("snap.db");
    let (pos, _membership) = a.write_snapshot(&file).await.unwrap();
    assert_eq!(pos.as_deref(), Some("{\"index\":1}"));
    let (_dir2, b) = store().await;
    apply(&b, 1, Command::CreateTenant { tenant: tenant(5, "bb") }).await.unwrap();
    b.install_snapshot(&file).await.unwrap();
    let codes: Vec<String> = b.tenants().await.unwrap().into_iter().map(|t| t.code).collect();
    assert_eq!(codes, vec!["aa"]);
    // The installed store keeps applying.
    apply(&b, 2, Command::CreateTenant { tenant: tenant(6, "cc") }).await.unwrap();
    assert_eq!(b.tenants().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_create_proposed_twice_is_applied_once_and_answered_the_same() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    let create = Command::CreateDocument { document: document(100, 1, 10, None), attachment_ids: vec![] };
    let first = apply(&s, 3, create.clone()).await.unwrap();
    let again = apply(&s, 4, create).await.unwrap();
    assert_eq!((first.id, first.index_no.clone()), (again.id, again.index_no));
    let total = s.documents_matching(1, &crate::DocumentFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(total, 1, "the replay created nothing");
    // A different document under a taken id is still refused.
    let mut other = document(100, 1, 10, None);
    other.title = "另一份文件".into();
    let err = apply(&s, 5, Command::CreateDocument { document: other, attachment_ids: vec![] }).await.unwrap_err();
    assert_eq!(err.code, "duplicate_id");
}

#[tokio::test]
async fn the_audit_trail_records_every_proposal_with_its_result() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    apply(&s, 3, Command::CreateDocument { document: document(100, 1, 10, None), attachment_ids: vec![] }).await.unwrap();
    let refused = apply(&s, 4, Command::PublishDocument { tenant_id: 1, document_id: 100 }).await.unwrap_err();
    assert_eq!(refused.code, "not_approved");
    apply(&s, 5, Command::SubmitDocument { tenant_id: 1, document_id: 100 }).await.unwrap();
    apply(&s, 6, Command::ReturnDocument { tenant_id: 1, document_id: 100, reason: "请补充成文日期依据".into() }).await.unwrap();
    let trail = s.audit(Some(1), Some(100), None, 10).await.unwrap();
    let lines: Vec<(&str, &str)> = trail.iter().map(|e| (e.line.action.as_str(), e.line.result.as_str())).collect();
    assert_eq!(lines, vec![("return_document", "ok"), ("submit_document", "ok"), ("publish_document", "not_approved"), ("create_document", "ok")]);
    assert_eq!(trail[0].line.detail.as_deref(), Some("请补充成文日期依据"));
    assert_eq!(trail[0].line.client_ip.as_deref(), Some("10.0.0.9"));
    let d = s.document(1, 100).await.unwrap().unwrap();
    assert_eq!((d.state, d.returned.map(|r| r.reason)), (DocState::Draft, Some("请补充成文日期依据".to_string())));

    // The chain holds; rewriting a line in the database breaks it there.
    let check = s.verify_audit_chain().await.unwrap();
    assert!(check.intact && check.entries == 6, "{check:?}");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}", s.path().display())).await.unwrap();
    let refused_id: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE result = 'not_approved'").fetch_one(&mut conn).await.unwrap();
    sqlx::query("UPDATE audit_log SET result = 'ok' WHERE id = ?").bind(refused_id).execute(&mut conn).await.unwrap();
    let check = s.verify_audit_chain().await.unwrap();
    assert_eq!((check.intact, check.first_broken_id), (false, Some(refused_id)));
}

#[tokio::test]
async fn a_line_deleted_from_the_audit_trail_or_its_tail_cut_off_is_found() {
    let (_dir, s) = store().await;
    for n in 1..=6 {
        apply(&s, n, Command::CreateTenant { tenant: tenant(n as i64, &format!("t{n}")) }).await.unwrap();
    }
    assert!(s.verify_audit_chain().await.unwrap().intact);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}", s.path().display())).await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(&mut conn).await.unwrap();
    // The last two lines cut off: every remaining line still chains, but
    // the end is not the head the state machine recorded.
    sqlx::query("DELETE FROM audit_log WHERE id >= ?").bind(ids[4]).execute(&mut conn).await.unwrap();
    let check = s.verify_audit_chain().await.unwrap();
    assert_eq!((check.intact, check.tail_cut, check.first_broken_id, check.entries), (false, true, Some(ids[4]), 4), "{check:?}");
    // A line deleted from the middle breaks the chain at the next one.
    sqlx::query("DELETE FROM audit_log WHERE id = ?").bind(ids[1]).execute(&mut conn).await.unwrap();
    let check = s.verify_audit_chain().await.unwrap();
    assert_eq!((check.intact, check.first_broken_id), (false, Some(ids[2])), "{check:?}");
}

/// The auditor checks the chain while the cluster keeps writing: lines and
/// the recorded head must be read as of one instant, or a line committed
/// between the two reads looks like a cut tail (seen in the rolling-upgrade
/// test before the check read both in one transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_checked_while_lines_are_being_added_is_intact() {
    let (_dir, s) = store().await;
    let s = std::sync::Arc::new(s);
    for n in 1..=200 {
        apply(&s, n, Command::CreateTenant { tenant: tenant(n as i64, &format!("t{n}")) }).await.unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let (s, stop) = (s.clone(), stop.clone());
        async move {
            let mut n = 201;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Refused (no such site), and audited like any other line.
                let _ = apply(&s, n, Command::CreateChannel { channel: channel(n as i64, 9_999) }).await;
                n += 1;
            }
            n - 201
        }
    });
    let mut checks = Vec::new();
    for _ in 0..20 {
        checks.push(s.verify_audit_chain().await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    eprintln!("{written} lines added during {} checks", checks.len());
    assert!(written > 10, "the writer kept adding lines during the checks ({written})");
    let broken: Vec<_> = checks.iter().filter(|c| !c.intact).collect();
    assert!(broken.is_empty(), "{} of {} checks during writes saw a broken chain, first {:?}", broken.len(), checks.len(), broken.first());
}

#[tokio::test]
async fn admin_lists_page_by_key_through_every_document_of_the_site_once_whatever_the_ties() {
    let (_dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateTenant { tenant: tenant(2, "bb") }).await.unwrap();
    apply(&s, 3, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    apply(&s, 4, Command::CreateChannel { channel: Channel { slug: "gzdt".into(), ..channel(20, 2) } }).await.unwrap();
    // Every document is written at the same instant: only the id orders them.
    let mut n = 5;
    for i in 0..25 {
        let mut d = document(100 + i, 1, 10, None);
        if i % 5 == 0 {
            d.meta.disclosure = Some(Disclosure::OnRequest);
            d.meta.disclosure_reason = Some("涉及个人信息".into());
        }
        apply(&s, n, Command::CreateDocument { document: d, attachment_ids: vec![] }).await.unwrap();
        n += 1;
    }
    for i in 0..3 {
        apply(&s, n, Command::CreateDocument { document: document(500 + i, 2, 20, None), attachment_ids: vec![] }).await.unwrap();
        n += 1;
    }
    let walk = |filter: crate::DocumentFilter| {
        let s = &s;
        async move {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = s.documents_page(1, &filter, after).await.unwrap();
                if page.is_empty() {
                    return seen;
                }
                let last = page.last().unwrap();
                after = Some(crate::After { updated_at: last.updated_at, id: last.id });
                seen.extend(page.iter().map(|d| d.id));
            }
        }
    };
    let all = walk(crate::DocumentFilter { limit: 10, ..Default::default() }).await;
    assert_eq!(all, (100..125).rev().collect::<Vec<_>>(), "every document of the site once, newest id first, none of the other site");
    let on_request = walk(crate::DocumentFilter { limit: 2, disclosure: Some(Disclosure::OnRequest), ..Default::default() }).await;
    assert_eq!(on_request, vec![120, 115, 110, 105, 100]);
    let mine = walk(crate::DocumentFilter { limit: 7, created_by: Some(1), state: Some(DocState::Draft), ..Default::default() }).await;
    assert_eq!(mine.len(), 25);
    assert!(walk(crate::DocumentFilter { limit: 7, created_by: Some(2), ..Default::default() }).await.is_empty());
}

mod audit_archive;
mod compliance;
mod reposts;

#[tokio::test]
async fn the_wal_is_moved_into_the_database_by_the_checkpoint_connection_not_by_the_writer_and_again_after_a_snapshot_install() {
    let (dir, s) = store().await;
    apply(&s, 1, Command::CreateTenant { tenant: tenant(1, "aa") }).await.unwrap();
    apply(&s, 2, Command::CreateChannel { channel: channel(10, 1) }).await.unwrap();
    // About 5 MB of documents: past SQLite's own threshold (1,000 pages).
    for i in 0..40 {
        let mut d = document(100 + i as i64, 1, 10, None);
        d.body_html = format!("<p>{}</p>", "正文".repeat(20_000));
        apply(&s, 3 + i, Command::CreateDocument { document: d, attachment_ids: vec![] }).await.unwrap();
    }
    // The writer left every page in the WAL (its own threshold is far off);
    // one checkpoint moves them all (no reader holds an older state).
    let first = s.checkpoint().await.unwrap();
    assert!(first.wal_pages > 1_000, "the writes stayed in the WAL: {first:?}");
    assert_eq!(first.moved_pages, first.wal_pages, "{first:?}");
    let wal = dir.path().join("content.db-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    // A snapshot install replaces the file; the next checkpoint reopens on
    // the new one and moves the writes made since.
    let file = dir.path().join("snap.db");
    s.write_snapshot(&file).await.unwrap();
    s.install_snapshot(&file).await.unwrap();
    apply(&s, 50, Command::CreateDocument { document: document(500, 1, 10, None), attachment_ids: vec![] }).await.unwrap();
    let after = s.checkpoint().await.unwrap();
    assert!(after.wal_pages > 0 && after.moved_pages == after.wal_pages, "{after:?}");
    assert_eq!(s.document(1, 500).await.unwrap().map(|d| d.id), Some(500));
}

#[tokio::test]
async fn an_editor_disabled_in_the_middle_of_a_group_is_refused_in_the_rest_of_it() {
    // The transaction reads an acting user once for all its commands, and
    // must read again after a command that changes accounts.
    let (_dir, s) = store().await;
    let mut editor = User::new(7, "editor", "编辑", "$argon2id$not-checked-here".into(), 0);
    editor.grants = vec![Grant { tenant_id: 1, role: TenantRole::Editor }];
    let by_editor = |id| {
        let mut d = document(id, 1, 10, None);
        d.created_by = Some(7);
        Proposal::new(1_500_000_000_000, Some(7), None, Command::CreateDocument { document: d, attachment_ids: vec![] })
    };
    let proposals = [
        proposal(1_500_000_000_000, Command::CreateTenant { tenant: tenant(1, "aa") }),
        proposal(1_500_000_000_000, Command::CreateChannel { channel: channel(10, 1) }),
        proposal(1_500_000_000_000, Command::CreateUser { user: editor }),
        by_editor(100),
        proposal(1_500_000_000_000, Command::SetAccountDisabled { user_id: 7, disabled: true }),
        by_editor(101),
    ];
    let ids: Vec<String> = (1..=proposals.len()).map(|n| format!("{{\"index\":{n}}}")).collect();
    let entries: Vec<crate::CommittedEntry> =
        proposals.iter().zip(&ids).map(|(p, id)| crate::CommittedEntry { log_id: id, membership: None, proposal: Some(p) }).collect();
    let applied = s.apply_entries(&entries).await.unwrap();
    assert!(applied[3].0.is_ok(), "{:?}", applied[3].0);
    assert!(applied[4].0.is_ok(), "{:?}", applied[4].0);
    assert_eq!(applied[5].0.as_ref().unwrap_err().code, "account_disabled");
    assert!(s.document(1, 100).await.unwrap().is_some() && s.document(1, 101).await.unwrap().is_none());
}
