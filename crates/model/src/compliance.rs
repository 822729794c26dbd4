//! The compliance monitors: each site seen the way the national 政府网站
//! inspection (国办秘函〔2019〕19号) and its veto rules see it.
//!
//! ```text
//!  facts of a site (gathered by the platform at `now`)
//!     │  probes of its home page over 7 days, newest item, columns with
//!     │  their last publication and public documents, dead links on the
//!     │  home page, overdue reposts, filing marks
//!     ▼
//!  evaluate(facts, thresholds, now) ──► one Finding per Monitor:
//!        ok │ warn │ red (red = a veto rule is at risk)
//!        with the value measured and the columns or pages at fault
//! ```
//!
//! Pure on purpose: the clock is an argument, so a test can move a site
//! across every threshold without waiting days.

use serde::{Deserialize, Serialize};

use crate::{ChannelKind, Millis, UpdateClass, string_enum};

const DAY_MS: Millis = 86_400_000;

string_enum! {
    /// What is watched. The names are the `monitor` label of the gauges
    /// and the alert rules, so they never change.
    pub enum Monitor {
        /// The home page answers 200 through the public router on the
        /// site's own host; value: per cent failed over 7 days.
        HomeReachable => "home_reachable",
        /// Days since the newest item the home page shows.
        HomeFreshness => "home_freshness",
        /// Columns past their update duty: 动态 past 14 days, 常态
        /// (通知公告, 政策文件) past 6 months.
        StaleColumns => "stale_columns",
        /// List columns with nothing public in them.
        EmptyColumns => "empty_columns",
        /// Links on the home page to the site's own pages that do not answer 200.
        DeadLinks => "dead_links",
        /// Mandatory reposts past their deadline without proof.
        RepostsOverdue => "reposts_overdue",
        /// 网站标识码, ICP备案号, 公安备案号 or the 政府网站 meta tags missing.
        Registration => "registration",
        /// Published pages the content check flags when it re-reads them
        /// (a word added to the list since, a page imported unchecked): red
        /// for personal data or a blocking word, warn for the rest.
        ContentSafety => "content_safety",
    }
}

string_enum! {
    /// How bad a finding is.
    pub enum Level {
        Ok => "ok",
        /// Points lost at an inspection.
        Warn => "warn",
        /// A veto rule (单项否决) is at risk.
        Red => "red",
    }
}

impl Level {
    /// The gauge's value: 0 ok, 1 warn, 2 red.
    pub fn gauge(self) -> i64 {
        match self {
            Level::Ok => 0,
            Level::Warn => 1,
            Level::Red => 2,
        }
    }
}

/// Where warn and red begin. The defaults are the inspection rules' own
/// numbers; an operator may tighten them (warn earlier) in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Per cent of failed home page probes over 7 days.
    pub home_failed_warn_pct: f64,
    pub home_failed_red_pct: f64,
    /// Days since the newest item on the home page.
    pub home_stale_warn_days: i64,
    pub home_stale_red_days: i64,
    /// A 动态 column is stale after this many days without a publication…
    pub dynamic_column_days: i64,
    /// …a 常态 one after this many.
    pub regular_column_days: i64,
    /// Stale columns together that put the site at veto risk.
    pub stale_columns_red: usize,
    pub empty_columns_warn: usize,
    pub empty_columns_red: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            home_failed_warn_pct: 3.0,
            home_failed_red_pct: 5.0,
            home_stale_warn_days: 10,
            home_stale_red_days: 14,
            dynamic_column_days: 14,
            regular_column_days: 183,
            stale_columns_red: 5,
            empty_columns_warn: 3,
            empty_columns_red: 5,
        }
    }
}

impl Thresholds {
    /// Refuses thresholds that contradict themselves, saying which.
    pub fn check(&self) -> Result<(), String> {
        let pct = |v: f64| (0.0..=100.0).contains(&v);
        if !pct(self.home_failed_warn_pct) || !pct(self.home_failed_red_pct) || self.home_failed_warn_pct > self.home_failed_red_pct {
            return Err("home_failed_warn_pct and home_failed_red_pct must be per cents with warn ≤ red".into());
        }
        if self.home_stale_warn_days < 1 || self.home_stale_warn_days > self.home_stale_red_days {
            return Err("home_stale_warn_days must be at least 1 and at most home_stale_red_days".into());
        }
        if self.dynamic_column_days < 1 || self.regular_column_days < 1 {
            return Err("dynamic_column_days and regular_column_days must be at least 1".into());
        }
        if self.stale_columns_red < 1 || self.empty_columns_warn < 1 || self.empty_columns_warn > self.empty_columns_red {
            return Err("stale_columns_red must be at least 1, and 1 ≤ empty_columns_warn ≤ empty_columns_red".into());
        }
        Ok(())
    }
}

/// One probe of a site's home page by the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeProbe {
    pub tenant_id: i64,
    /// The HTTP status; 0 when no answer came within the timeout.
    pub status: u16,
    pub ms: u32,
}

/// One link from a site's home page to another website, as the leader's
/// link checker found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCheck {
    pub tenant_id: i64,
    pub url: String,
    /// The HTTP status; 0 when no answer came (the note says why).
    pub status: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl LinkCheck {
    /// A link a reader following it would find working.
    pub fn works(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

/// Probes are kept this long (the monitor looks at 7 days of them).
pub const PROBES_KEPT_MS: Millis = 8 * DAY_MS;
/// The window of the reachability monitor.
pub const PROBE_WINDOW_MS: Millis = 7 * DAY_MS;

/// A column as the monitors see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnFacts {
    pub id: i64,
    pub name: String,
    /// Its public path on the site, for the link in a finding.
    pub path: String,
    pub kind: ChannelKind,
    pub update_class: UpdateClass,
    pub created_at: Millis,
    /// The newest publication of a public document in it.
    pub last_published: Option<Millis>,
    /// Whether it has any public document (an empty column is one of the
    /// inspectors' faults).
    pub has_public_documents: bool,
    /// Sub-columns: a parent column shows theirs, so it is not empty.
    pub children: i64,
}

/// Something at fault, with where to look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub what: String,
    pub url: Option<String>,
}

/// Everything the monitors need about one site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteFacts {
    /// Home page probes in the last 7 days, and how many did not answer 200.
    pub probes: i64,
    pub probes_failed: i64,
    /// The newest public publication of the site (the home page lists it).
    pub newest_item: Option<Millis>,
    /// When the site was created: a new site is not stale before it had time.
    pub created_at: Millis,
    pub columns: Vec<ColumnFacts>,
    pub dead_links: Vec<Fault>,
    pub reposts_overdue: i64,
    /// Filing marks and meta tags missing, in Chinese.
    pub missing_marks: Vec<String>,
    /// What the re-scan of published pages found: pages to take down or
    /// correct now (personal data, blocking words), and the rest.
    pub content_serious: Vec<Fault>,
    pub content_minor: Vec<Fault>,
}

/// What one monitor found on one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub monitor: Monitor,
    pub level: Level,
    /// The measured number (per cent, days, count).
    pub value: f64,
    /// One line in Chinese for the workbench and the report.
    pub summary: String,
    pub faults: Vec<Fault>,
}

fn level(value: f64, warn: Option<f64>, red: Option<f64>) -> Level {
    if red.is_some_and(|r| value >= r) {
        Level::Red
    } else if warn.is_some_and(|w| value >= w) {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// Whether a column holds documents that the public lists.
fn lists_documents(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::List | ChannelKind::Disclosure)
}

/// The columns past their update duty at `now`, with how many days each has gone.
pub fn stale_columns<'a>(columns: &'a [ColumnFacts], t: &Thresholds, now: Millis) -> Vec<(&'a ColumnFacts, i64)> {
    columns
        .iter()
        .filter(|c| lists_documents(c.kind))
        .filter_map(|c| {
            let duty = match c.update_class {
                UpdateClass::Dynamic => t.dynamic_column_days,
                UpdateClass::Regular => t.regular_column_days,
                UpdateClass::Static => return None,
            };
            let days = (now - c.last_published.unwrap_or(c.created_at)) / DAY_MS;
            (days > duty).then_some((c, days))
        })
        .collect()
}

/// Every monitor's finding for one site at `now`, in [`Monitor::ALL`]'s order.
pub fn evaluate(f: &SiteFacts, t: &Thresholds, now: Millis) -> Vec<Finding> {
    let mut out = Vec::with_capacity(Monitor::ALL.len());
    // Home page reachable.
    let pct = if f.probes == 0 { 0.0 } else { f.probes_failed as f64 * 100.0 / f.probes as f64 };
    out.push(Finding {
        monitor: Monitor::HomeReachable,
        level: if f.probes == 0 { Level::Ok } else { level(pct, Some(t.home_failed_warn_pct), Some(t.home_failed_red_pct)) },
        value: pct,
        summary: if f.probes == 0 {
            "首页尚未探测".to_string()
        } else {
            format!("近7天首页探测{}次，失败{}次（{:.1}%）", f.probes, f.probes_failed, pct)
        },
        faults: vec![],
    });
    // Home page freshness: a site younger than the threshold is not stale yet.
    let days = (now - f.newest_item.unwrap_or(f.created_at)) / DAY_MS;
    out.push(Finding {
        monitor: Monitor::HomeFreshness,
        level: level(days as f64, Some(t.home_stale_warn_days as f64), Some(t.home_stale_red_days as f64)),
        value: days as f64,
        summary: match f.newest_item {
            Some(_) => format!("首页最新信息发布于{days}天前"),
            None => format!("首页尚无信息（网站开办{days}天）"),
        },
        faults: vec![],
    });
    // Columns past their update duty.
    let stale = stale_columns(&f.columns, t, now);
    out.push(Finding {
        monitor: Monitor::StaleColumns,
        level: level(stale.len() as f64, Some(1.0), Some(t.stale_columns_red as f64)),
        value: stale.len() as f64,
        summary: format!("应更新未更新栏目{}个", stale.len()),
        faults: stale
            .iter()
            .map(|(c, days)| Fault {
                what: format!("{}（{}，{}天未更新）", c.name, if c.update_class == UpdateClass::Dynamic { "动态类" } else { "常态类" }, days),
                url: Some(c.path.clone()),
            })
            .collect(),
    });
    // Empty columns.
    let empty: Vec<&ColumnFacts> = f.columns.iter().filter(|c| lists_documents(c.kind) && !c.has_public_documents && c.children == 0).collect();
    out.push(Finding {
        monitor: Monitor::EmptyColumns,
        level: level(empty.len() as f64, Some(t.empty_columns_warn as f64), Some(t.empty_columns_red as f64)),
        value: empty.len() as f64,
        summary: format!("空白栏目{}个", empty.len()),
        faults: empty.iter().map(|c| Fault { what: c.name.clone(), url: Some(c.path.clone()) }).collect(),
    });
    out.push(Finding {
        monitor: Monitor::DeadLinks,
        level: level(f.dead_links.len() as f64, Some(1.0), None),
        value: f.dead_links.len() as f64,
        summary: format!("首页错链{}个", f.dead_links.len()),
        faults: f.dead_links.clone(),
    });
    out.push(Finding {
        monitor: Monitor::RepostsOverdue,
        level: level(f.reposts_overdue as f64, Some(1.0), None),
        value: f.reposts_overdue as f64,
        summary: format!("逾期未转载{}条", f.reposts_overdue),
        faults: vec![],
    });
    out.push(Finding {
        monitor: Monitor::Registration,
        level: level(f.missing_marks.len() as f64, Some(1.0), None),
        value: f.missing_marks.len() as f64,
        summary: if f.missing_marks.is_empty() { "标识与备案齐全".to_string() } else { format!("缺少：{}", f.missing_marks.join("、")) },
        faults: f.missing_marks.iter().map(|m| Fault { what: m.clone(), url: None }).collect(),
    });
    let (serious, minor) = (f.content_serious.len(), f.content_minor.len());
    out.push(Finding {
        monitor: Monitor::ContentSafety,
        level: if serious > 0 { Level::Red } else { level(minor as f64, Some(1.0), None) },
        value: (serious + minor) as f64,
        summary: if serious + minor == 0 {
            "已发布页面复查未见问题".to_string()
        } else {
            format!("已发布页面复查：{serious}处须立即处理，{minor}处提示")
        },
        faults: f.content_serious.iter().chain(&f.content_minor).take(MAX_FAULTS).cloned().collect(),
    });
    out
}

/// Faults one finding names at most (the count is in its value).
pub const MAX_FAULTS: usize = 100;

/// The worst level of a site's findings, and how many are red and warn.
pub fn tally(findings: &[Finding]) -> (Level, usize, usize) {
    let red = findings.iter().filter(|f| f.level == Level::Red).count();
    let warn = findings.iter().filter(|f| f.level == Level::Warn).count();
    let worst = if red > 0 {
        Level::Red
    } else if warn > 0 {
        Level::Warn
    } else {
        Level::Ok
    };
    (worst, red, warn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn column(id: i64, class: UpdateClass, last_days_ago: Option<i64>, docs: i64) -> ColumnFacts {
        ColumnFacts {
            id,
            name: format!("栏目{id}"),
            path: format!("/col/c{id}/"),
            kind: ChannelKind::List,
            update_class: class,
            created_at: NOW - 400 * DAY_MS,
            last_published: last_days_ago.map(|d| NOW - d * DAY_MS),
            has_public_documents: docs > 0,
            children: 0,
        }
    }

    fn find(findings: &[Finding], m: Monitor) -> &Finding {
        findings.iter().find(|f| f.monitor == m).unwrap()
    }

    fn healthy() -> SiteFacts {
        SiteFacts {
            probes: 168,
            probes_failed: 0,
            newest_item: Some(NOW - DAY_MS),
            created_at: NOW - 400 * DAY_MS,
            columns: vec![column(1, UpdateClass::Dynamic, Some(1), 10), column(2, UpdateClass::Regular, Some(30), 4)],
            ..SiteFacts::default()
        }
    }

    #[test]
    fn a_healthy_site_is_all_ok_and_every_monitor_answers() {
        let findings = evaluate(&healthy(), &Thresholds::default(), NOW);
        assert_eq!(findings.iter().map(|f| f.monitor).collect::<Vec<_>>(), Monitor::ALL);
        assert!(findings.iter().all(|f| f.level == Level::Ok), "{findings:#?}");
        assert_eq!(tally(&findings), (Level::Ok, 0, 0));
    }

    #[test]
    fn home_reachability_crosses_three_and_five_per_cent() {
        let t = Thresholds::default();
        for (failed, want) in [(5, Level::Ok), (6, Level::Warn), (8, Level::Warn), (9, Level::Red)] {
            let f = SiteFacts { probes: 168, probes_failed: failed, ..healthy() };
            assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::HomeReachable).level, want, "{failed} of 168 failed");
        }
        let unprobed = SiteFacts { probes: 0, probes_failed: 0, ..healthy() };
        assert_eq!(find(&evaluate(&unprobed, &t, NOW), Monitor::HomeReachable).level, Level::Ok);
    }

    #[test]
    fn home_freshness_warns_at_ten_days_and_is_red_at_fourteen_as_the_clock_moves() {
        let f = healthy();
        let t = Thresholds::default();
        let published = f.newest_item.unwrap();
        for (days_later, want) in [(9, Level::Ok), (10, Level::Warn), (13, Level::Warn), (14, Level::Red)] {
            let at = published + days_later * DAY_MS;
            assert_eq!(find(&evaluate(&f, &t, at), Monitor::HomeFreshness).level, want, "{days_later} days after the newest item");
        }
    }

    #[test]
    fn stale_columns_name_each_column_and_five_together_are_red() {
        let t = Thresholds::default();
        let mut f = healthy();
        f.columns = vec![column(1, UpdateClass::Dynamic, Some(14), 3), column(2, UpdateClass::Regular, Some(183), 3)];
        assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::StaleColumns).level, Level::Ok, "on the day of the duty, not yet stale");
        f.columns =
            vec![column(1, UpdateClass::Dynamic, Some(15), 3), column(2, UpdateClass::Regular, Some(184), 3), column(3, UpdateClass::Static, Some(999), 3)];
        let stale = find(&evaluate(&f, &t, NOW), Monitor::StaleColumns).clone();
        assert_eq!((stale.level, stale.value), (Level::Warn, 2.0), "a static column has no duty");
        assert_eq!(stale.faults[0], Fault { what: "栏目1（动态类，15天未更新）".into(), url: Some("/col/c1/".into()) });
        f.columns = (1..=5).map(|i| column(i, UpdateClass::Dynamic, Some(20), 3)).collect();
        assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::StaleColumns).level, Level::Red);
        // A column that never had a publication counts from its creation.
        let mut new = column(9, UpdateClass::Dynamic, None, 0);
        new.created_at = NOW - 3 * DAY_MS;
        f.columns = vec![new];
        assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::StaleColumns).level, Level::Ok);
    }

    #[test]
    fn empty_columns_warn_at_three_and_are_red_at_five_but_parents_and_pages_are_not_empty() {
        let t = Thresholds::default();
        let mut f = healthy();
        let empty = |id| column(id, UpdateClass::Static, None, 0);
        let mut parent = empty(10);
        parent.children = 2;
        let mut page = empty(11);
        page.kind = ChannelKind::Page;
        f.columns = vec![empty(1), empty(2), parent, page];
        assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::EmptyColumns).level, Level::Ok);
        f.columns.push(empty(3));
        assert_eq!(find(&evaluate(&f, &t, NOW), Monitor::EmptyColumns).level, Level::Warn);
        f.columns.extend([empty(4), empty(5)]);
        let found = find(&evaluate(&f, &t, NOW), Monitor::EmptyColumns).clone();
        assert_eq!((found.level, found.faults.len()), (Level::Red, 5));
    }

    #[test]
    fn dead_links_overdue_reposts_and_missing_marks_warn_at_the_first() {
        let t = Thresholds::default();
        let f = SiteFacts {
            dead_links: vec![Fault { what: "/art/1.html → 404".into(), url: Some("/art/1.html".into()) }],
            reposts_overdue: 1,
            missing_marks: vec!["ICP备案号".into()],
            ..healthy()
        };
        let findings = evaluate(&f, &t, NOW);
        for m in [Monitor::DeadLinks, Monitor::RepostsOverdue, Monitor::Registration] {
            assert_eq!(find(&findings, m).level, Level::Warn, "{m}");
        }
        assert_eq!(tally(&findings), (Level::Warn, 0, 3));
    }

    #[test]
    fn a_published_page_with_personal_data_is_red_and_a_missing_alt_text_only_warns() {
        let t = Thresholds::default();
        let page = |what: &str| Fault { what: what.into(), url: Some("/art/7.html".into()) };
        let f = SiteFacts { content_minor: vec![page("图片缺少替代文字")], ..healthy() };
        let found = find(&evaluate(&f, &t, NOW), Monitor::ContentSafety).clone();
        assert_eq!((found.level, found.value), (Level::Warn, 1.0));
        let f = SiteFacts { content_serious: vec![page("疑似身份证号")], content_minor: vec![page("图片缺少替代文字")], ..healthy() };
        let found = find(&evaluate(&f, &t, NOW), Monitor::ContentSafety).clone();
        assert_eq!((found.level, found.value, found.faults[0].what.as_str()), (Level::Red, 2.0, "疑似身份证号"), "the serious ones first");
        assert_eq!(found.summary, "已发布页面复查：1处须立即处理，1处提示");
    }

    #[test]
    fn thresholds_that_contradict_themselves_are_refused() {
        assert!(Thresholds::default().check().is_ok());
        let t = Thresholds { home_failed_warn_pct: 6.0, ..Thresholds::default() };
        assert!(t.check().unwrap_err().contains("warn ≤ red"));
        let t = Thresholds { empty_columns_warn: 0, ..Thresholds::default() };
        assert!(t.check().is_err());
    }
}
