//! The index against real SQLite files and a real on-disk tantivy index.

use zhanqun_model::*;
use zhanqun_search::{Query, Scope, SearchIndex, build_jieba};
use zhanqun_store::Store;

use super::{Reconciled, rebuild, reconcile};

async fn apply(store: &Store, n: u64, command: Command) {
    let proposal = Proposal::new(1_500_000_000_000, None, None, command);
    store.apply_entry(&format!("{{\"index\":{n}}}"), None, Some(&proposal)).await.unwrap().0.unwrap();
}

fn document(id: i64, title: &str) -> Document {
    let mut d = Document::draft(id, 1, 10, title, "某镇人民政府", 0);
    d.body_html = format!("<p>{title}的正文</p>");
    d.meta.disclosure = Some(Disclosure::Proactive);
    d
}

/// A store holding one site, one column and `titles` as documents 1, 2, …
/// (entries 1, 2, … of the log).
async fn store_with(dir: &std::path::Path, name: &str, titles: &[&str]) -> Store {
    let store = Store::open(&dir.join(name)).await.unwrap();
    let mut tenant = Tenant::new(1, "xiliu", "西柳镇人民政府", TenantKind::Township, "ORG1", 0);
    tenant.hosts = vec!["xiliu.example.gov.cn".into()];
    apply(&store, 1, Command::CreateTenant { tenant }).await;
    apply(&store, 2, Command::CreateChannel { channel: Channel::new(10, 1, "tzgg", "通知公告", ChannelKind::List, UpdateClass::Dynamic, 0) }).await;
    for (i, title) in titles.iter().enumerate() {
        apply(&store, 3 + i as u64, Command::CreateDocument { document: document(i as i64 + 1, title), attachment_ids: vec![] }).await;
    }
    store
}

fn found(index: &SearchIndex, text: &str) -> Vec<i64> {
    let query = Query { text: text.into(), scope: Scope::Everywhere, public_only: false, limit: 10, ..Default::default() };
    index.search(&query).unwrap().hits.iter().map(|h| h.id).collect()
}

#[tokio::test]
async fn a_snapshot_install_reindexes_only_what_the_snapshot_changed() {
    let dir = tempfile::tempdir().unwrap();
    let titles: Vec<String> = (1..=20).map(|i| format!("第{i}期防汛工作简报")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    // The follower: the same 20 documents, plus one of a history the
    // leader does not share (what a store restored from a backup holds).
    let mut follower_titles = titles.clone();
    follower_titles.push("只在本节点的秸秆禁烧通知");
    let follower = store_with(dir.path(), "follower.db", &follower_titles).await;
    let index = SearchIndex::open(&dir.path().join("index"), build_jieba(&[]).unwrap()).unwrap();
    assert_eq!(rebuild(&index, &follower, 22, |_, _| {}).await.unwrap(), 21);
    assert_eq!(found(&index, "秸秆禁烧"), vec![21]);

    // The leader moved on: one document edited, one added.
    let leader = store_with(dir.path(), "leader.db", &titles).await;
    let patch = DocumentPatch { title: Some("第5期森林防火工作简报".into()), ..Default::default() };
    apply(&leader, 23, Command::UpdateDocument { tenant_id: 1, document_id: 5, patch }).await;
    apply(&leader, 24, Command::CreateDocument { document: document(22, "汛期地质灾害防范提示"), attachment_ids: vec![] }).await;
    let snapshot = dir.path().join("snapshot.db");
    leader.write_snapshot(&snapshot).await.unwrap();
    follower.install_snapshot(&snapshot).await.unwrap();

    let r = reconcile(&index, &follower, 24).await.unwrap();
    assert_eq!(r, Reconciled { documents: 21, reindexed: 2, removed: 1 }, "the 19 unchanged documents are not indexed again");
    assert_eq!(index.indexed_position().unwrap(), 24);
    assert_eq!(found(&index, "森林防火"), vec![5]);
    assert_eq!(found(&index, "地质灾害"), vec![22]);
    assert!(found(&index, "秸秆禁烧").is_empty(), "a document the store no longer has is not found");

    // What it holds is what a rebuild from the installed store holds.
    let rebuilt = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    rebuild(&rebuilt, &follower, 24, |_, _| {}).await.unwrap();
    assert_eq!(index.stamps().unwrap(), rebuilt.stamps().unwrap());

    // Reconciled again with nothing changed: nothing is read.
    let again = reconcile(&index, &follower, 24).await.unwrap();
    assert_eq!(again, Reconciled { documents: 21, reindexed: 0, removed: 0 });
}

#[tokio::test]
async fn a_row_edited_by_hand_is_not_indexed_again_at_every_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), "node.db", &["第1期防汛工作简报", "第2期防汛工作简报"]).await;
    // Someone edits the database file behind the platform's back (the
    // tamper check flags the row), and then the index is built.
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("UPDATE documents SET title = '在线博彩' WHERE id = 2").execute(&mut db).await.unwrap();
    let index = SearchIndex::open(&dir.path().join("index"), build_jieba(&[]).unwrap()).unwrap();
    rebuild(&index, &store, 4, |_, _| {}).await.unwrap();
    // Stamped from the digest its command recorded, not from the row as it
    // now reads, the row matches the store at every later comparison.
    for _ in 0..2 {
        assert_eq!(reconcile(&index, &store, 4).await.unwrap(), Reconciled { documents: 2, reindexed: 0, removed: 0 });
    }
}
