//! The one collector behind every query.
//!
//! tantivy's `TopDocs` keeps the best N, but a portal search also needs the
//! facet counts of *every* match and must fold reposted copies of one source
//! before it can know what page 2 is. So this collector keeps every match's
//! score, date and repost key (a few bytes each; a query matching 50,000
//! documents keeps ~1.5 MB for a moment) and counts the facets from the fast
//! fields as it goes; merging the segments folds copies, then picks and
//! sorts only the matches up to the page asked for.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// How the matches of a query spread over sites, years, column kinds and
/// 发布机构 (copies counted in each site that carries them).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    pub tenants: Vec<(i64, usize)>,
    pub years: Vec<(i64, usize)>,
    pub channel_kinds: Vec<(String, usize)>,
    pub organs: Vec<(String, usize)>,
}

/// Organs shown in the facet list at most: a portal has hundreds.
const MAX_ORGANS: usize = 20;

pub(crate) struct Gather {
    pub by_date: bool,
    /// Matches kept in order after folding: the end of the page asked for.
    /// The rest are only counted.
    pub keep: usize,
}

/// Counts keyed by ids (sites, years, repost keys), touched once per match:
/// SipHash's resistance to chosen keys buys nothing for keys that come from
/// the index, and cost a twentieth of a large query.
type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// One multiply and a fold of the 128-bit product: enough mixing for ids.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let product = u128::from(self.0 ^ n) * 0x9E37_79B9_7F4A_7C15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Match {
    pub score: Score,
    pub published_at: i64,
    key: u64,
    pub address: DocAddress,
    /// Copies folded into this one.
    pub copies: usize,
}

pub(crate) struct SegmentGather {
    segment: SegmentOrdinal,
    published_at: Column<i64>,
    dedup: Column<u64>,
    tenant: Column<i64>,
    year: Column<i64>,
    kind: Option<StrColumn>,
    organ: Option<StrColumn>,
    matches: Vec<Match>,
    tenants: IdMap<i64, usize>,
    years: IdMap<i64, usize>,
    kind_ords: Vec<usize>,
    organ_ords: Vec<usize>,
}

pub(crate) struct SegmentFruit {
    matches: Vec<Match>,
    tenants: IdMap<i64, usize>,
    years: IdMap<i64, usize>,
    kinds: HashMap<String, usize>,
    organs: HashMap<String, usize>,
}

pub(crate) struct Gathered {
    /// Folded; the first [`Gather::keep`] of them, sorted.
    matches: Vec<Match>,
    distinct: usize,
    pub facets: Facets,
}

impl Gathered {
    pub fn distinct(&self) -> usize {
        self.distinct
    }

    pub fn page(&self, offset: usize, limit: usize) -> &[Match] {
        let start = offset.min(self.matches.len());
        &self.matches[start..(start + limit).min(self.matches.len())]
    }
}

impl Collector for Gather {
    type Fruit = Gathered;
    type Child = SegmentGather;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentGather> {
        let ff = reader.fast_fields();
        let kind = ff.str("kind")?;
        let organ = ff.str("organ_exact")?;
        Ok(SegmentGather {
            segment,
            published_at: ff.i64("published_at")?,
            dedup: ff.u64("dedup")?,
            tenant: ff.i64("tenant")?,
            year: ff.i64("year")?,
            kind_ords: vec![0; kind.as_ref().map_or(0, |c| c.num_terms())],
            organ_ords: vec![0; organ.as_ref().map_or(0, |c| c.num_terms())],
            kind,
            organ,
            matches: Vec::new(),
            tenants: IdMap::default(),
            years: IdMap::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        !self.by_date
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Gathered> {
        let mut facets = Facets::default();
        let (mut tenants, mut years, mut kinds, mut organs) = (IdMap::default(), IdMap::default(), HashMap::new(), HashMap::new());
        let mut matches: Vec<Match> = Vec::with_capacity(fruits.iter().map(|f| f.matches.len()).sum());
        let mut by_key: IdMap<u64, usize> = IdMap::default();
        for fruit in fruits {
            add_counts(&mut tenants, fruit.tenants);
            add_counts(&mut years, fruit.years);
            add_counts(&mut kinds, fruit.kinds);
            add_counts(&mut organs, fruit.organs);
            for m in fruit.matches {
                if m.key == 0 {
                    matches.push(m);
                    continue;
                }
                match by_key.entry(m.key) {
                    Entry::Vacant(v) => {
                        v.insert(matches.len());
                        matches.push(m);
                    }
                    Entry::Occupied(o) => {
                        let kept = &mut matches[*o.get()];
                        let copies = kept.copies + 1;
                        if self.before(&m, kept) {
                            *kept = m;
                        }
                        kept.copies = copies;
                    }
                }
            }
        }
        let distinct = matches.len();
        let order = |a: &Match, b: &Match| if self.before(a, b) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater };
        // `before` is a total order (addresses break ties), so an unstable
        // selection then sort gives the same page as sorting everything.
        if self.keep < matches.len() {
            matches.select_nth_unstable_by(self.keep, order);
            matches.truncate(self.keep);
        }
        matches.sort_unstable_by(order);
        facets.tenants = sorted_by_count(tenants);
        facets.years = years.into_iter().collect();
        facets.years.sort_by_key(|y| std::cmp::Reverse(y.0));
        facets.channel_kinds = sorted_by_count(kinds);
        facets.organs = sorted_by_count(organs);
        facets.organs.truncate(MAX_ORGANS);
        Ok(Gathered { matches, distinct, facets })
    }
}

impl Gather {
    /// Whether `a` is listed before `b`. Ties fall to the newer, then to the
    /// lower address, so a page never changes between two identical queries.
    fn before(&self, a: &Match, b: &Match) -> bool {
        let date = b.published_at.cmp(&a.published_at);
        let score = b.score.total_cmp(&a.score);
        let order = if self.by_date { date.then(score) } else { score.then(date) };
        order.then((a.address.segment_ord, a.address.doc_id).cmp(&(b.address.segment_ord, b.address.doc_id))).is_lt()
    }
}

fn add_counts<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(into: &mut HashMap<K, usize, S>, from: HashMap<K, usize, S>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

fn sorted_by_count<K: Ord, S>(counts: HashMap<K, usize, S>) -> Vec<(K, usize)> {
    let mut v: Vec<(K, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl SegmentCollector for SegmentGather {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.matches.push(Match {
            score,
            published_at: self.published_at.first(doc).unwrap_or(0),
            key: self.dedup.first(doc).unwrap_or(0),
            address: DocAddress::new(self.segment, doc),
            copies: 0,
        });
        *self.tenants.entry(self.tenant.first(doc).unwrap_or(0)).or_default() += 1;
        if let Some(y) = self.year.first(doc) {
            *self.years.entry(y).or_default() += 1;
        }
        if let Some(c) = &self.kind {
            for ord in c.term_ords(doc) {
                self.kind_ords[ord as usize] += 1;
            }
        }
        if let Some(c) = &self.organ {
            for ord in c.term_ords(doc) {
                self.organ_ords[ord as usize] += 1;
            }
        }
    }

    fn harvest(self) -> SegmentFruit {
        SegmentFruit {
            kinds: names(self.kind.as_ref(), &self.kind_ords),
            organs: names(self.organ.as_ref(), &self.organ_ords),
            matches: self.matches,
            tenants: self.tenants,
            years: self.years,
        }
    }
}

/// Term ordinals with a count, turned into their strings in one walk of
/// the column's dictionary (looking each up alone starts again from its
/// block: a tenth of a large query over hundreds of 发布机构).
fn names(column: Option<&StrColumn>, counts: &[usize]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let Some(column) = column else { return out };
    let (ords, ns): (Vec<u64>, Vec<usize>) = counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(ord, n)| (ord as u64, *n)).unzip();
    let mut counted = ns.into_iter();
    let _ = column.dictionary().sorted_ords_to_term_cb(&ords, |name| {
        let n = counted.next().unwrap_or(0);
        if let Ok(name) = std::str::from_utf8(name)
            && !name.is_empty()
        {
            out.insert(name.to_string(), n);
        }
    });
    out
}
