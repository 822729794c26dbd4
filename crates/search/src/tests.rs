//! The engine on a small Chinese corpus written for these tests.

use crate::{Query, SearchDoc, SearchIndex, build_jieba};

fn doc(id: i64, tenant_id: i64, title: &str, body: &str, doc_no: Option<&str>, public: bool) -> SearchDoc {
    SearchDoc {
        id,
        tenant_id,
        title: title.into(),
        body: body.into(),
        doc_no: doc_no.map(String::from),
        issuing_organ: "海城市人民政府办公室".into(),
        published_at: 1_500_000_000_000 + id,
        public,
    }
}

fn corpus() -> SearchIndex {
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    index
        .upsert(&[
            doc(
                1,
                1,
                "海城市人民政府办公室关于印发海城市政务公开工作实施方案的通知",
                "各镇人民政府：现将实施方案印发给你们，请认真贯彻执行。",
                Some("海政办发〔2017〕37号"),
                true,
            ),
            doc(
                2,
                1,
                "关于做好冬季供暖保障工作的通知",
                "各单位要落实供暖责任，确保群众温暖过冬。政务公开相关信息及时发布。",
                Some("海政办发〔2018〕5号"),
                true,
            ),
            doc(3, 2, "牛庄镇乡村振兴工作动态", "牛庄镇召开乡村振兴推进会，部署人居环境整治。", None, true),
            doc(4, 3, "西柳镇乡村振兴示范村建设情况", "西柳镇推进乡村振兴，打造示范村。", None, true),
            doc(5, 2, "牛庄镇防汛抗旱工作部署", "汛期将至，牛庄镇部署防汛抗旱工作。", None, false),
            doc(6, 1, "一网通办改革推进情况", "推进一网通办，优化营商环境，让群众少跑腿。", Some("海政发〔2020〕12号"), true),
        ])
        .unwrap();
    index.commit(42).unwrap();
    index
}

fn ids(index: &SearchIndex, text: &str, tenants: &[i64]) -> Vec<i64> {
    index.search(&Query { text: text.into(), tenants: tenants.to_vec(), public_only: true, limit: 10, offset: 0 }).unwrap().hits.iter().map(|h| h.id).collect()
}

#[test]
fn a_doc_number_finds_its_document_first_in_every_spelling() {
    let index = corpus();
    for q in ["海政办发〔2017〕37号", "海政办发[2017]37号", "海政办发(2017)37号", "海政办发（2017）37号"] {
        assert_eq!(ids(&index, q, &[]).first(), Some(&1), "{q}");
    }
    assert_eq!(ids(&index, "37号", &[]).first(), Some(&1));
    let by_prefix = ids(&index, "海政办发", &[]);
    assert!(by_prefix.contains(&1) && by_prefix.contains(&2), "{by_prefix:?}");
}

#[test]
fn title_matches_rank_above_body_matches() {
    let index = corpus();
    // 政务公开 is in document 1's title and only in document 2's body.
    let found = ids(&index, "政务公开", &[]);
    assert_eq!(found[..2], [1, 2], "{found:?}");
}

#[test]
fn a_site_search_never_shows_another_sites_documents() {
    let index = corpus();
    assert_eq!(ids(&index, "乡村振兴", &[2]), vec![3]);
    assert_eq!(ids(&index, "乡村振兴", &[3]), vec![4]);
    let mut all = ids(&index, "乡村振兴", &[]);
    all.sort();
    assert_eq!(all, vec![3, 4], "the portal searches every site");
}

#[test]
fn only_public_documents_reach_the_public_search() {
    let index = corpus();
    assert!(ids(&index, "防汛抗旱", &[]).is_empty());
    let admin = index.search(&Query { text: "防汛抗旱".into(), tenants: vec![2], public_only: false, limit: 10, offset: 0 }).unwrap();
    assert_eq!(admin.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![5]);
}

#[test]
fn snippets_are_escaped_with_matches_in_em() {
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    index.upsert(&[doc(9, 1, "<script>alert(1)</script>营商环境", "优化营商环境 & 服务 <b>企业</b>", None, true)]).unwrap();
    index.commit(1).unwrap();
    let r = index.search(&Query { text: "营商环境".into(), public_only: true, limit: 5, ..Default::default() }).unwrap();
    let hit = &r.hits[0];
    assert!(hit.title_html.contains("&lt;script&gt;") && hit.title_html.contains("<em>营商环境</em>"), "{}", hit.title_html);
    assert!(hit.snippet_html.contains("&amp;") && hit.snippet_html.contains("&lt;b&gt;"), "{}", hit.snippet_html);
    assert!(!hit.snippet_html.replace("<em>", "").replace("</em>", "").contains('<'), "only <em> tags: {}", hit.snippet_html);
}

#[test]
fn odd_queries_answer_without_error() {
    let index = corpus();
    for q in ["", "   ", "AND OR", "\"乡村振兴", "乡村振兴\"", "😀😀", "\u{0}\u{7}乡村振兴", "((()))", "*", "-乡村振兴", "title:乡村振兴"]
    {
        let r = index.search(&Query { text: q.into(), public_only: true, limit: 10, ..Default::default() });
        assert!(r.is_ok(), "{q:?}: {r:?}");
    }
    let long = "乡".repeat(2000);
    assert!(matches!(index.search(&Query { text: long, public_only: true, limit: 10, ..Default::default() }), Err(crate::SearchError::BadQuery(_))));
}

#[test]
fn the_commit_records_the_raft_position_and_replacing_a_document_keeps_one_copy() {
    let index = corpus();
    assert_eq!(index.indexed_position().unwrap(), 42);
    index.upsert(&[doc(3, 2, "牛庄镇乡村振兴工作动态（更新）", "更新后的正文", None, true)]).unwrap();
    index.delete(&[4]);
    index.commit(43).unwrap();
    assert_eq!(ids(&index, "乡村振兴", &[]), vec![3]);
    assert_eq!(index.indexed_position().unwrap(), 43);
}
