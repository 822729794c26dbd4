//! The generated corpus and query set of the search benchmark (see
//! `search.rs`). Deterministic: document `i` and the query list are the same
//! in every process of a run and in every run.

use zhanqun_search::SearchDoc;

/// Sites the corpus spreads over: `ZHANQUN_BENCH_SEARCH_SITES`, 30 unless
/// set, at most 300 (the city, 20 townships and 9 departments, then
/// offices of the townships).
pub fn sites() -> u64 {
    static SITES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SITES.get_or_init(|| {
        let sites = std::env::var("ZHANQUN_BENCH_SEARCH_SITES").ok().map_or(30, |v| v.parse().expect("ZHANQUN_BENCH_SEARCH_SITES: a number of sites"));
        assert!((1..=300).contains(&sites), "ZHANQUN_BENCH_SEARCH_SITES must be 1 to 300, not {sites}");
        sites
    })
}
const NEEDLE_EVERY: u64 = 500;
const SEED: u64 = 0x5a48_414e_5155_4e21;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct Rng(u64);

impl Rng {
    fn new(i: u64) -> Rng {
        Rng(splitmix(SEED ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D)))
    }
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const TOWNSHIPS: &[&str] = &[
    "牛庄镇",
    "西柳镇",
    "感王镇",
    "析木镇",
    "马风镇",
    "岔沟镇",
    "接文镇",
    "孤山镇",
    "南台镇",
    "英落镇",
    "八里镇",
    "耿庄镇",
    "王石镇",
    "东四镇",
    "温香镇",
    "望台镇",
    "中小镇",
    "毛祁镇",
    "腾鳌镇",
    "甘泉镇",
];
const DEPARTMENTS: &[&str] = &[
    "海城市教育局",
    "海城市卫生健康局",
    "海城市民政局",
    "海城市住房和城乡建设局",
    "海城市财政局",
    "海城市自然资源局",
    "海城市应急管理局",
    "海城市农业农村局",
    "海城市市场监督管理局",
];
const DOC_PREFIX: &[&str] = &[
    "海政发",
    "牛政发",
    "西政发",
    "感政发",
    "析政发",
    "马政发",
    "岔政发",
    "接政发",
    "孤政发",
    "南政发",
    "英政发",
    "八政发",
    "耿政发",
    "王政发",
    "东政发",
    "温政发",
    "望政发",
    "中政发",
    "毛政发",
    "腾政发",
    "甘政发",
    "海教发",
    "海卫发",
    "海民发",
    "海住建发",
    "海财发",
    "海自然资发",
    "海应急发",
    "海农发",
    "海市监发",
];

/// Offices of a township that run a site of their own (sites 30 to 299),
/// and the character their 文号 carry.
const OFFICES: &[(&str, &str)] = &[
    ("农业综合服务中心", "农"),
    ("社会事务办公室", "社"),
    ("综合行政执法队", "执"),
    ("便民服务中心", "便"),
    ("财政所", "财"),
    ("司法所", "司"),
    ("退役军人服务站", "退"),
    ("党政综合办公室", "党"),
    ("规划建设办公室", "规"),
    ("经济发展办公室", "经"),
    ("文化服务中心", "文"),
    ("卫生院", "卫"),
    ("中心小学", "教"),
    ("安全生产办公室", "安"),
];

fn organ(tenant: u64) -> String {
    match tenant {
        0 => "海城市人民政府".into(),
        t if t <= 20 => TOWNSHIPS[(t - 1) as usize].into(),
        t if t < 30 => DEPARTMENTS[(t - 21) as usize].into(),
        t => format!("{}{}", TOWNSHIPS[((t - 30) % 20) as usize], OFFICES[((t - 30) / 20) as usize].0),
    }
}

/// The 文号 prefix of a site's documents: its own, so a 文号 names one
/// document.
fn doc_prefix(tenant: u64) -> String {
    match tenant {
        t if t < 30 => DOC_PREFIX[t as usize].into(),
        t => {
            let township = DOC_PREFIX[(1 + (t - 30) % 20) as usize].chars().next().expect("a prefix");
            format!("{township}{}发", OFFICES[((t - 30) / 20) as usize].1)
        }
    }
}

/// Common keywords: titles are built around them, queries ask for them.
const TOPICS: &[&str] = &[
    "冬季供暖",
    "防汛抗旱",
    "森林防火",
    "安全生产",
    "乡村振兴",
    "营商环境",
    "一网通办",
    "垃圾分类",
    "人居环境整治",
    "老旧小区改造",
    "义务教育",
    "医疗保险",
    "最低生活保障",
    "高标准农田",
    "秸秆禁烧",
    "燃气安全",
    "食品安全",
    "河长制",
    "扬尘治理",
    "养老服务",
    "退役军人",
    "残疾人补贴",
    "公共租赁住房",
    "住房公积金",
    "不动产登记",
    "行政许可",
    "政务公开",
    "信息公开年度报告",
    "财政预算",
    "劳动模范",
    "疫苗接种",
    "文明实践",
    "耕地保护",
    "集体资产",
    "职业农民培训",
    "经济普查",
    "消防安全",
    "校园安全",
    "交通管制",
    "招聘公告",
    "减税降费",
    "创业担保贷款",
    "农村公路",
    "饮水安全",
    "困难群众救助",
    "低保提标",
    "征兵工作",
    "防范电信诈骗",
    "禁毒宣传",
    "林长制",
    "地质灾害防治",
];
/// Two-character words inside the topics.
const SHORT_WORDS: &[&str] = &[
    "供暖", "防汛", "防火", "农田", "秸秆", "燃气", "扬尘", "养老", "疫苗", "耕地", "征兵", "禁毒", "普查", "消防", "交通", "低保", "饮水", "公路", "招聘",
    "救助",
];
/// Title templates, each with the kinds of document it makes (what a
/// reader asking for a 通知 or a 总结 wants).
const TITLES: &[(&str, &[&str])] = &[
    ("{org}关于做好{topic}工作的通知", &["通知"]),
    ("{org}关于印发{topic}实施方案的通知", &["实施方案", "通知"]),
    ("{org}召开{topic}工作推进会", &["会议"]),
    ("{org}{year}年{topic}工作总结", &["总结"]),
    ("关于{topic}有关事项的公告", &["公告"]),
    ("{org}开展{topic}专项行动", &["专项行动"]),
    ("{org}关于进一步加强{topic}的意见", &["意见"]),
    ("{topic}政策解读", &["政策解读"]),
    ("{org}{topic}情况公示", &["公示"]),
    ("{org}部署{topic}重点任务", &["部署"]),
];
/// Titles that do not name what the document is about, as many real ones do
/// not: one document in eight gets one, and only its body tells its
/// subject. The labelled queries count such a document as relevant to its
/// subject, where judging by "the word is in the title" could not.
const GENERIC_TITLES: &[(&str, &[&str])] = &[
    ("{org}关于印发{year}年重点工作安排的通知", &["通知"]),
    ("{org}关于近期有关工作的通知", &["通知"]),
    ("{org}工作动态", &[]),
    ("{org}{year}年工作要点", &[]),
];
const GENERIC_EVERY: u64 = 8;
const SENTENCES: &[&str] = &[
    "为深入贯彻落实上级决策部署，切实做好{topic}各项工作，结合{org}实际，制定本方案。",
    "各单位要提高思想认识，加强组织领导，明确责任分工，确保{topic}工作落到实处。",
    "会议指出，{topic}事关人民群众切身利益，必须坚持问题导向，强化督导检查。",
    "截至目前，全{area}共完成{topic}项目{num}个，累计投入资金{num}万元。",
    "要建立健全长效机制，加大宣传力度，营造全社会共同参与的良好氛围。",
    "对工作不力、推诿扯皮的，将依规依纪严肃追责问责。",
    "联系电话：0412-{num}，联系地址：{org}综合办公室。",
    "本通知自印发之日起施行，由{org}负责解释。",
    "请各村于{num}月底前将工作开展情况报送至{org}，逾期未报的予以通报。",
    "下一步，{org}将持续优化服务流程，推动{topic}工作提质增效。",
    "群众可通过政府网站、政务服务热线等渠道反映问题、提出建议。",
    "各有关部门要密切配合，形成工作合力，确保按期完成年度目标任务。",
];
const NEEDLE_A: &[&str] = &["柳", "榆", "杏", "梨", "枫", "桦", "松", "柏", "槐", "桃", "栗", "樟", "桑", "檀", "楠", "枣", "椿", "柞", "杉", "棠"];
const NEEDLE_B: &[&str] = &["河湾", "石岭", "家屯", "水沟", "花甸", "树峪", "泉堡", "山坳", "溪口", "台子"];
const NEEDLE_C: &[&str] = &["生态修复工程", "提水灌溉站", "冷链物流园", "光伏发电项目", "污水处理厂"];

fn needle_name(n: u64) -> (String, &'static str) {
    let a = NEEDLE_A[(n % 20) as usize];
    let b = NEEDLE_B[(n / 20 % 10) as usize];
    let c = NEEDLE_C[(n / 200 % 5) as usize];
    (format!("{a}{b}"), c)
}

fn fill(template: &str, org: &str, topic: &str, year: u64, rng: &mut Rng) -> String {
    let mut s = template.replace("{org}", org).replace("{topic}", topic).replace("{year}", &year.to_string());
    s = s.replace("{area}", if org.ends_with('镇') { "镇" } else { "市" });
    while let Some(at) = s.find("{num}") {
        s.replace_range(at..at + 5, &(rng.next() % 9000 + 10).to_string());
    }
    s
}

/// What document `i` is about, as its generator knows it: the labels the
/// judged queries are scored against.
pub struct Truth {
    /// Its topic; none for a project document (those are judged by id).
    pub subject: Option<&'static str>,
    /// The kinds of document it is (通知, 总结, …).
    pub kinds: &'static [&'static str],
}

/// Document `i` of the corpus: the same on every call.
pub fn generate(i: u64) -> SearchDoc {
    generate_judged(i).0
}

/// Document `i` and what it is about.
pub fn generate_judged(i: u64) -> (SearchDoc, Truth) {
    let mut rng = Rng::new(i);
    let tenant = i % sites();
    let org = organ(tenant);
    let org = org.as_str();
    let year = 2018 + rng.next() % 8;
    let topic = rng.pick(TOPICS);
    // Drawn for every document, so the generic titles leave every other
    // draw (and so every other document) as it was before they existed.
    let mut template = TITLES[(rng.next() % TITLES.len() as u64) as usize];
    if i % GENERIC_EVERY == 3 {
        template = GENERIC_TITLES[(i / GENERIC_EVERY % GENERIC_TITLES.len() as u64) as usize];
    }
    let mut truth = Truth { subject: Some(topic), kinds: template.1 };
    let mut title = fill(template.0, org, topic, year, &mut rng);
    let mut body = String::new();
    for _ in 0..(4 + rng.next() % 7) {
        let t = if rng.next().is_multiple_of(3) { rng.pick(TOPICS) } else { topic };
        body.push_str(&fill(rng.pick(SENTENCES), org, t, year, &mut rng));
    }
    if i % NEEDLE_EVERY == 7 {
        let (place, project) = needle_name(i / NEEDLE_EVERY);
        title = format!("{org}关于{place}{project}建设情况的公示");
        truth = Truth { subject: None, kinds: &["公示"] };
        body.insert_str(0, &format!("{place}{project}位于{org}辖区，项目总投资{}万元。", rng.next() % 9000 + 100));
    }
    let doc_no = (i % 4 == 1).then(|| format!("{}〔{year}〕{}号", doc_prefix(tenant), i / sites() + 1));
    let day = 86_400_000i64;
    let published_at = zhanqun_model::time::date_to_millis(&format!("{year}-01-01")).unwrap() + (rng.next() % 360) as i64 * day;
    let doc = SearchDoc {
        id: i as i64 + 1,
        tenant_id: tenant as i64 + 1,
        title,
        body,
        doc_no,
        issuing_organ: org.to_string(),
        topic: Some(topic.to_string()),
        channel_kind: if i.is_multiple_of(3) { "disclosure" } else { "list" }.to_string(),
        published_at,
        public: true,
        dedup_key: i + 1,
        validity: "有效".into(),
        stamp: i,
    };
    (doc, truth)
}

/// What a query's answer is judged by: labels from the generator's
/// [`Truth`], never from where the words sit in a hit (which would reward
/// an engine for boosting titles rather than for finding what was asked).
pub enum Expect {
    /// This document must come first.
    First(i64),
    /// This document must be in the top 3.
    Top3(i64),
    /// A hit is relevant when its subject is one of these topics and, if a
    /// kind is named, it is of that kind. Scored as the share of the top 10
    /// that is relevant, out of as many relevant documents as the scope
    /// holds (up to 10: `possible`).
    About { subjects: Vec<&'static str>, kind: Option<&'static str>, possible: usize },
}

impl Expect {
    /// Whether a document with this truth answers an [`Expect::About`].
    pub fn relevant(&self, truth: &Truth) -> bool {
        match self {
            Expect::About { subjects, kind, .. } => truth.subject.is_some_and(|s| subjects.contains(&s)) && kind.is_none_or(|k| truth.kinds.contains(&k)),
            _ => false,
        }
    }
}

/// The kinds of query, in the order the benchmark reports them.
pub const CLASSES: &[&str] = &["文号", "project", "keyword", "short word", "two words"];

pub struct BenchQuery {
    pub text: String,
    /// Searched site (1-based), or every site.
    pub tenant: Option<i64>,
    /// One of [`CLASSES`].
    pub class: &'static str,
    pub expect: Expect,
}

/// The topics a two-character word is labelled with: those written with
/// it, and those it abbreviates (低保 is what people call 最低生活保障).
fn subjects_of_word(word: &str) -> Vec<&'static str> {
    let mut subjects: Vec<&'static str> = TOPICS.iter().copied().filter(|t| t.contains(word)).collect();
    if word == "低保" {
        subjects.push("最低生活保障");
    }
    subjects
}

pub fn queries(docs: u64) -> Vec<BenchQuery> {
    let mut rng = Rng::new(u64::MAX);
    let mut out = Vec::new();
    // 文号 in three spellings.
    let mut n = 0;
    while n < 100 {
        let i = rng.next() % docs;
        let d = generate(i);
        let Some(no) = d.doc_no else { continue };
        let text = match n % 3 {
            0 => no,
            1 => no.replace('〔', "[").replace('〕', "]"),
            _ => no.replace('〔', "(").replace('〕', ")"),
        };
        out.push(BenchQuery { text, tenant: None, class: "文号", expect: Expect::First(d.id) });
        n += 1;
    }
    // Needles: a project's place and kind, as a person would type them.
    let needles = docs / NEEDLE_EVERY;
    for k in 0..100.min(needles) {
        let n = (k * 7919) % needles;
        let (place, project) = needle_name(n);
        let id = (n * NEEDLE_EVERY + 7) as i64 + 1;
        let text = format!("{place} {}", &project[..project.len().min(12)]);
        out.push(BenchQuery { text, tenant: None, class: "project", expect: Expect::Top3(id) });
    }
    // Common keywords, across the portal and inside one site.
    for k in 0..100 {
        let topic = rng.pick(TOPICS);
        let tenant = (k % 2 == 1).then(|| (rng.next() % sites()) as i64 + 1);
        let expect = Expect::About { subjects: vec![topic], kind: None, possible: 0 };
        out.push(BenchQuery { text: topic.to_string(), tenant, class: "keyword", expect });
    }
    // Two-character words, the commonest thing typed into a search box
    // (too short for a trigram index).
    for k in 0..100 {
        let word = rng.pick(SHORT_WORDS);
        let tenant = (k % 2 == 1).then(|| (rng.next() % sites()) as i64 + 1);
        let expect = Expect::About { subjects: subjects_of_word(word), kind: None, possible: 0 };
        out.push(BenchQuery { text: word.to_string(), tenant, class: "short word", expect });
    }
    // Two-word questions: a topic and the kind of document wanted (工作
    // names no kind).
    for _ in 0..100 {
        let (a, b) = (rng.pick(TOPICS), rng.pick(&["通知", "公示", "实施方案", "工作", "政策解读", "总结"]));
        let expect = Expect::About { subjects: vec![a], kind: (b != "工作").then_some(b), possible: 0 };
        out.push(BenchQuery { text: format!("{a} {b}"), tenant: None, class: "two words", expect });
    }
    // How many relevant documents each labelled query could find at best.
    let mut found = vec![0usize; out.len()];
    for i in 0..docs {
        let (d, truth) = generate_judged(i);
        for (q, n) in out.iter().zip(found.iter_mut()) {
            if *n < 10 && q.tenant.is_none_or(|t| t == d.tenant_id) && q.expect.relevant(&truth) {
                *n += 1;
            }
        }
    }
    for (q, n) in out.iter_mut().zip(found) {
        if let Expect::About { possible, .. } = &mut q.expect {
            *possible = n;
        }
    }
    out
}
