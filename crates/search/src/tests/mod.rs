//! The engine on a small Chinese corpus written for these tests.

use crate::{Query, Scope, SearchDoc, SearchIndex, build_jieba};

fn doc(id: i64, tenant_id: i64, title: &str, body: &str, doc_no: Option<&str>, public: bool) -> SearchDoc {
    SearchDoc {
        id,
        tenant_id,
        title: title.into(),
        body: body.into(),
        doc_no: doc_no.map(String::from),
        issuing_organ: "海城市人民政府办公室".into(),
        topic: None,
        channel_kind: "list".into(),
        published_at: 1_500_000_000_000 + id,
        public,
        dedup_key: id as u64,
        validity: "有效".into(),
        stamp: id as u64,
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

/// The ids found for `text` in `tenants` (`&[]`: every site).
fn ids(index: &SearchIndex, text: &str, tenants: &[i64]) -> Vec<i64> {
    let scope = if tenants.is_empty() { Scope::Everywhere } else { Scope::Sites(tenants.to_vec()) };
    index.search(&Query { text: text.into(), scope, public_only: true, limit: 10, ..Default::default() }).unwrap().hits.iter().map(|h| h.id).collect()
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
    let admin = index.search(&Query { text: "防汛抗旱".into(), scope: Scope::Sites(vec![2]), public_only: false, limit: 10, ..Default::default() }).unwrap();
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
fn a_query_word_written_across_two_of_a_documents_words_finds_it() {
    // jieba cuts the body as 新建/污水/处理厂 and the query as 污水处理.
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    index.upsert(&[doc(1, 1, "城东片区建设进展", "新建污水处理厂一座。", None, true), doc(2, 1, "污水管网改造", "处理好群众来信。", None, true)]).unwrap();
    index.commit(1).unwrap();
    let r = index.search(&Query { text: "污水处理".into(), public_only: true, limit: 5, ..Default::default() }).unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1], "the parts in a row, not anywhere");
    assert!(r.hits[0].snippet_html.contains("<em>污水处理</em>"), "{}", r.hits[0].snippet_html);
}

#[test]
fn a_match_deep_in_a_long_body_is_the_snippet_also_when_written_in_other_letters() {
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    let filler = "本镇召开工作会议，研究部署下一阶段重点工作。".repeat(120);
    let body = format!("{filler}新建污水处理厂采用PPP模式建设。{filler}");
    // Other documents make 工作 a common word, as it is on a real site.
    let others: Vec<SearchDoc> = (2..12).map(|id| doc(id, 1, "工作动态", "本周工作安排。", None, true)).collect();
    index.upsert(&others).unwrap();
    index.upsert(&[doc(1, 1, "关于重点工作的通报", &body, None, true)]).unwrap();
    index.commit(1).unwrap();
    for text in ["工作 污水处理", "ＰＰＰ模式"] {
        let r = index.search(&Query { text: text.into(), public_only: true, limit: 5, ..Default::default() }).unwrap();
        assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1], "{text}");
        let snippet = &r.hits[0].snippet_html;
        assert!(snippet.contains("<em>污水") || snippet.contains("<em>PPP"), "{text}: the snippet missed the match 3 KB in: {snippet}");
        assert!(snippet.len() < 600, "{text}: a fragment, not the body: {snippet}");
    }
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

#[test]
fn stamps_name_each_live_document_once_with_its_latest_stamp() {
    let index = corpus();
    let before = index.stamps().unwrap();
    assert_eq!(before.len() as u64, index.len());
    let mut changed = doc(3, 2, "牛庄镇乡村振兴工作动态（更新）", "更新后的正文", None, true);
    changed.stamp = 9_999;
    index.upsert(&[changed]).unwrap();
    index.delete(&[4]);
    index.commit(43).unwrap();
    let after = index.stamps().unwrap();
    assert_eq!(after.get(&3), Some(&9_999), "the replacement's stamp, not the replaced one's");
    assert!(!after.contains_key(&4), "a deleted document has no stamp");
    assert_eq!(after.len(), before.len() - 1);
}
mod relevance;

/// A portal-shaped corpus: the same policy reposted into three sites, and
/// documents spread over years, organs, topics and column kinds.
fn portal() -> SearchIndex {
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    let year = |y: i64| crate::index::tests_support::ms_of_year(y);
    let mut docs = Vec::new();
    for (id, tenant) in [(100, 1), (101, 2), (102, 3)] {
        // A city policy and its copies in two townships: one source.
        let mut d = doc(id, tenant, "海城市人民政府关于推进垃圾分类工作的实施意见", "全面推行生活垃圾分类。", Some("海政发〔2021〕8号"), true);
        d.published_at = year(2021) + id;
        d.dedup_key = 777;
        d.topic = Some("城乡建设".into());
        docs.push(d);
    }
    for i in 0..30 {
        let mut d = doc(200 + i, 1 + i % 3, &format!("垃圾分类宣传活动第{i}期"), "社区开展垃圾分类宣传。", None, true);
        d.published_at = year(2019 + i % 4) + i;
        d.issuing_organ = if i % 2 == 0 { "海城市城市管理局".into() } else { "牛庄镇人民政府".into() };
        d.channel_kind = if i % 5 == 0 { "disclosure".into() } else { "list".into() };
        d.topic = Some(if i % 3 == 0 { "城乡建设" } else { "环境保护" }.into());
        docs.push(d);
    }
    index.upsert(&docs).unwrap();
    index.commit(7).unwrap();
    index
}

fn query(text: &str) -> Query {
    Query { text: text.into(), public_only: true, limit: 100, ..Default::default() }
}

#[test]
fn reposted_copies_of_one_source_are_shown_once() {
    let index = portal();
    let r = index.search(&query("垃圾分类实施意见")).unwrap();
    let policy: Vec<&crate::Hit> = r.hits.iter().filter(|h| (100..=102).contains(&h.id)).collect();
    assert_eq!(policy.len(), 1, "one of three copies shown: {:?}", r.hits.iter().map(|h| h.id).collect::<Vec<_>>());
    assert_eq!(policy[0].copies, 2);
    assert_eq!(r.total, r.hits.len(), "the total counts the policy once");
    // A township's own search shows its own copy.
    let own = index.search(&Query { scope: Scope::Sites(vec![3]), ..query("垃圾分类实施意见") }).unwrap();
    assert_eq!(own.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![102]);
}

#[test]
fn facets_count_matches_by_site_year_kind_and_organ() {
    let index = portal();
    let r = index.search(&query("垃圾分类")).unwrap();
    assert_eq!(r.total, 31, "30 activities and one policy");
    let count = |v: &[(i64, usize)], k: i64| v.iter().find(|(x, _)| *x == k).map_or(0, |(_, n)| *n);
    // Copies count in every site that carries them: 10 activities + 1 copy each.
    assert_eq!((count(&r.facets.tenants, 1), count(&r.facets.tenants, 2), count(&r.facets.tenants, 3)), (11, 11, 11));
    assert_eq!(r.facets.years.iter().map(|(y, _)| *y).collect::<Vec<_>>(), vec![2022, 2021, 2020, 2019], "newest year first");
    assert_eq!(count(&r.facets.years, 2021), 7 + 3);
    assert!(r.facets.channel_kinds.contains(&("disclosure".to_string(), 6)), "{:?}", r.facets.channel_kinds);
    assert!(r.facets.organs.contains(&("海城市城市管理局".to_string(), 15)), "{:?}", r.facets.organs);
}

#[test]
fn filters_narrow_by_year_dates_organ_topic_kind_and_doc_number() {
    let index = portal();
    let run = |filters: crate::Filters| index.search(&Query { filters, ..query("垃圾分类") }).unwrap();
    let year = |y: i64| crate::index::tests_support::ms_of_year(y);
    assert_eq!(run(crate::Filters { year: Some(2020), ..Default::default() }).total, 8);
    let range = run(crate::Filters { from: Some(year(2020)), until: Some(year(2022)), ..Default::default() });
    assert_eq!(range.total, 8 + 7 + 1, "2020 and 2021, the policy once");
    assert_eq!(run(crate::Filters { organ: Some("牛庄镇人民政府".into()), ..Default::default() }).total, 15);
    assert_eq!(run(crate::Filters { topic: Some("环境保护".into()), ..Default::default() }).total, 20);
    assert_eq!(run(crate::Filters { channel_kind: Some("disclosure".into()), ..Default::default() }).total, 6);
    for no in ["海政发[2021]8号", "海政发（2021）8号", "〔2021〕8号"] {
        let r = run(crate::Filters { doc_no: Some(no.into()), ..Default::default() });
        assert_eq!(r.hits.iter().map(|h| h.doc_no.as_deref()).collect::<Vec<_>>(), vec![Some("海政发〔2021〕8号")], "{no}");
    }
    // Filters alone (no words) list what they select, newest first.
    let listed = index.search(&Query { filters: crate::Filters { year: Some(2019), ..Default::default() }, ..query("") }).unwrap();
    assert_eq!(listed.total, 8);
    assert!(listed.hits.windows(2).all(|w| w[0].published_at >= w[1].published_at));
}

#[test]
fn date_sort_and_pages_cover_every_match_once() {
    let index = portal();
    let by_date = index.search(&Query { sort: crate::Sort::Date, ..query("垃圾分类") }).unwrap();
    assert!(by_date.hits.windows(2).all(|w| w[0].published_at >= w[1].published_at));
    let mut seen = Vec::new();
    for page in 0..4 {
        let r = index.search(&Query { limit: 10, offset: page * 10, sort: crate::Sort::Date, ..query("垃圾分类") }).unwrap();
        assert_eq!(r.total, 31);
        seen.extend(r.hits.iter().map(|h| h.id));
    }
    assert_eq!(seen, by_date.hits.iter().map(|h| h.id).collect::<Vec<_>>(), "pages in order, none twice, none missing");
    let too_deep = index.search(&Query { offset: crate::MAX_OFFSET + 1, ..query("垃圾分类") });
    assert!(matches!(too_deep, Err(crate::SearchError::BadQuery(_))));
}

#[test]
fn a_document_changed_after_it_was_shown_is_shown_changed() {
    let index = portal();
    let before = index.search(&query("垃圾分类宣传活动第7期")).unwrap();
    assert_eq!(before.hits[0].id, 207);
    assert!(before.hits[0].snippet_html.contains("社区"), "{}", before.hits[0].snippet_html);
    let mut changed = doc(207, 2, "垃圾分类宣传活动第7期", "学校开展垃圾分类宣传。", None, true);
    changed.published_at = before.hits[0].published_at;
    index.upsert(&[changed]).unwrap();
    index.commit(8).unwrap();
    let after = index.search(&query("垃圾分类宣传活动第7期")).unwrap();
    assert_eq!(after.hits[0].id, 207);
    assert!(after.hits[0].snippet_html.contains("学校"), "the new body, not the one read before: {}", after.hits[0].snippet_html);
    assert_eq!(after.hits.iter().filter(|h| h.id == 207).count(), 1);
}

#[test]
fn documents_shown_are_kept_within_their_budget_and_shown_alike_from_it() {
    let mut index = portal();
    let budget = 2_000;
    index.stored = crate::stored::StoredCache::with_budget(budget);
    let first = index.search(&query("垃圾分类")).unwrap();
    assert_eq!(first.hits.len(), 31);
    let (kept, bytes) = index.stored.held();
    assert!(kept > 0 && kept < 31 && bytes <= budget, "{kept} documents in {bytes} bytes");
    let again = index.search(&query("垃圾分类")).unwrap();
    let shown = |r: &crate::Results| r.hits.iter().map(|h| (h.id, h.title_html.clone(), h.snippet_html.clone(), h.issuing_organ.clone())).collect::<Vec<_>>();
    assert_eq!(shown(&again), shown(&first), "what is kept shows as what was read");
}

#[test]
fn an_index_built_with_another_dictionary_reports_position_zero() {
    let dir = tempfile::tempdir().unwrap();
    let jieba = build_jieba(&[]).unwrap();
    {
        let index = SearchIndex::open(dir.path(), jieba.clone()).unwrap().with_analysis_id("aaaa");
        index.upsert(&[doc(1, 1, "一网通办", "正文", None, true)]).unwrap();
        index.commit(12).unwrap();
    }
    assert_eq!(SearchIndex::open(dir.path(), jieba.clone()).unwrap().with_analysis_id("aaaa").indexed_position().unwrap(), 12);
    assert_eq!(SearchIndex::open(dir.path(), jieba).unwrap().with_analysis_id("bbbb").indexed_position().unwrap(), 0);
}

#[test]
fn overlapping_matches_are_highlighted_once() {
    // 一网通办 is one word with 通办 nested in it: both match the query, and
    // their highlights overlap.
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    index.upsert(&[doc(1, 1, "推进一网通办工作", "全镇共完成一网通办项目，推进通办服务。", None, true)]).unwrap();
    index.commit(1).unwrap();
    for q in ["一网通办 工作", "通办", "一网通办 通办"] {
        let r = index.search(&Query { text: q.into(), public_only: true, limit: 5, ..Default::default() }).unwrap();
        let hit = &r.hits[0];
        assert!(hit.snippet_html.contains("<em>"), "{q}: {hit:?}");
        for html in [&hit.title_html, &hit.snippet_html] {
            let balanced = html.matches("<em>").count() == html.matches("</em>").count();
            let nested = html.split("<em>").skip(1).any(|part| !part.contains("</em>") || part.split("</em>").next().unwrap().contains("<em>"));
            assert!(balanced && !nested, "{q}: {html}");
        }
    }
    let r = index.search(&Query { text: "一网通办 工作".into(), public_only: true, limit: 5, ..Default::default() }).unwrap();
    assert_eq!(r.hits[0].title_html, "推进<em>一网通办工作</em>", "adjacent matches join");
}

#[test]
fn a_search_over_no_sites_finds_nothing_not_everything() {
    let index = corpus();
    assert!(!ids(&index, "乡村振兴", &[]).is_empty());
    let none = index.search(&Query { text: "乡村振兴".into(), scope: Scope::Sites(vec![]), limit: 10, ..Default::default() }).unwrap();
    assert_eq!((none.total, none.hits.len()), (0, 0));
}

#[test]
fn merging_a_rebuilt_index_into_one_segment_keeps_its_answers_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path(), build_jieba(&[]).unwrap()).unwrap();
    // Three commits make three segments, as a rebuild's batches do.
    for (n, titles) in [["乡村振兴示范村", "冬季供暖保障"], ["防汛抗旱部署", "乡村振兴推进会"], ["一网通办改革", "乡村振兴工作动态"]].iter().enumerate()
    {
        let first = n as i64 * 2 + 1;
        index.add_new(&[doc(first, 1, titles[0], "正文", None, true), doc(first + 1, 2, titles[1], "正文", None, true)]).unwrap();
        index.commit(first as u64 + 1).unwrap();
    }
    index.delete(&[4]);
    index.commit(7).unwrap();
    assert!(index.segment_count() >= 2, "the test needs several segments to merge, found {}", index.segment_count());
    let before = ids(&index, "乡村振兴", &[]);
    assert_eq!(before.len(), 2, "{before:?}: the deleted document is not found");

    index.merge_segments().unwrap();
    assert_eq!(index.segment_count(), 1);
    assert_eq!(ids(&index, "乡村振兴", &[]), before);
    assert_eq!((ids(&index, "一网通办", &[1]), ids(&index, "一网通办", &[2])), (vec![5], vec![]), "a site's documents stay its own");
    assert_eq!(index.len(), 5);
    drop(index);
    let reopened = SearchIndex::open(dir.path(), build_jieba(&[]).unwrap()).unwrap();
    assert_eq!(reopened.indexed_position().unwrap(), 7, "a merge is not a change the node must index again");
    assert_eq!((reopened.segment_count(), ids(&reopened, "乡村振兴", &[])), (1, before));
}

#[test]
fn a_title_holding_every_word_asked_outranks_a_shorter_one_missing_a_common_word() {
    let index = SearchIndex::in_memory(build_jieba(&[]).unwrap()).unwrap();
    // 通知 in a third of the titles, as on a real site: a common word,
    // weighed little.
    let mut docs: Vec<SearchDoc> = (10..40)
        .map(|id| {
            let title =
                if id % 3 == 0 { format!("海城市关于做好第{id}项重点工作的通知") } else { format!("海城市第{id}项重点工作动态") };
            doc(id, 1, &title, "请各单位认真贯彻执行。", None, true)
        })
        .collect();
    // Its body says 通知 too, so it matches every word as well.
    docs.push(doc(1, 1, "职业农民培训政策解读", "职业农民培训怎么报名？详见有关通知。", None, true));
    docs.push(doc(2, 1, "海城市农业农村局关于印发职业农民培训实施方案的通知", "现将职业农民培训实施方案印发给你们。", None, true));
    index.upsert(&docs).unwrap();
    index.commit(1).unwrap();
    let found = ids(&index, "职业农民培训 通知", &[]);
    assert_eq!(found.first(), Some(&2), "the 通知 about 职业农民培训 first: {found:?}");
}

#[test]
fn an_index_written_with_an_older_schema_is_emptied_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What an earlier release left: another schema, a document, a position.
        let mut b = tantivy::schema::Schema::builder();
        let title = b.add_text_field("title", tantivy::schema::TEXT);
        let old = tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(title => "乡村振兴")).unwrap();
        let mut prepared = writer.prepare_commit().unwrap();
        prepared.set_payload("99 t2");
        prepared.commit().unwrap();
    }
    let index = SearchIndex::open(dir.path(), build_jieba(&[]).unwrap()).unwrap();
    assert_eq!((index.len(), index.indexed_position().unwrap()), (0, 0), "empty, at position 0: the node rebuilds it");
    index.upsert(&[doc(1, 1, "乡村振兴", "正文", None, true)]).unwrap();
    index.commit(5).unwrap();
    assert_eq!(ids(&index, "乡村振兴", &[]), vec![1]);
}
