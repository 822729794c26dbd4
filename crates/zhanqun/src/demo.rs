//! Demo content: the Haicheng (海城市) city portal with the 政务公开 column
//! tree of the page this platform replaces, three township and two
//! department sites. Structure and facts (column names, the 2017 notice's
//! 文号 and dates, the footer registrations) follow the real portal; every
//! body text here was written for the demo.
//!
//! Loaded as one `Batch` command: all of it or nothing.

use anyhow::bail;
use zhanqun_cluster::Node;
use zhanqun_model::time::date_to_millis;
use zhanqun_model::*;
use zhanqun_platform::{new_id, now_ms};

struct Builder {
    commands: Vec<Command>,
    now: Millis,
}

/// A column: (slug, name, kind, update class, children).
type Column = (&'static str, &'static str, ChannelKind, UpdateClass, &'static [(&'static str, &'static str)]);

impl Builder {
    fn tenant(&mut self, code: &str, name: &str, kind: TenantKind, parent: Option<i64>, organ_code: &str, site_id_code: &str) -> Tenant {
        let mut hosts = vec![format!("{code}.haicheng.gov.cn")];
        let mut conac_id = None;
        if kind == TenantKind::Portal {
            hosts = vec!["www.haicheng.gov.cn".into(), "haicheng.gov.cn".into()];
            // A placeholder of the registry's shape: a real site enters the
            // number it was issued.
            conac_id = Some("DEMO0A1B2C3D4E5F60718293A4B5C6D7".to_string());
        }
        let mut t = Tenant::new(new_id(), code, name, kind, organ_code, self.now);
        t.parent_id = parent;
        t.hosts = hosts;
        t.mount_under_parent = parent.is_some();
        t.site_id_code = Some(site_id_code.into());
        t.icp = Some("辽ICP备11014897号-1".into());
        t.police_record = Some("辽公网安备 21038102000126号".into());
        t.conac_id = conac_id;
        t.mailbox = Some(if kind == TenantKind::Portal { "hcszwgk@163.com".into() } else { format!("{code}@haicheng.gov.cn") });
        self.commands.push(Command::CreateTenant { tenant: t.clone() });
        t
    }

    /// Creates the column tree and returns (slug, id) of every channel.
    fn columns(&mut self, tenant: &Tenant, columns: &[Column]) -> Vec<(&'static str, i64)> {
        let mut ids = Vec::new();
        for (pos, (slug, name, kind, class, children)) in columns.iter().enumerate() {
            let id = new_id();
            self.commands.push(Command::CreateChannel {
                channel: Channel { position: pos as i64, ..Channel::new(id, tenant.id, *slug, *name, *kind, *class, self.now) },
            });
            ids.push((*slug, id));
            for (cpos, (cslug, cname)) in children.iter().enumerate() {
                let cid = new_id();
                self.commands.push(Command::CreateChannel {
                    channel: Channel { parent_id: Some(id), position: cpos as i64, ..Channel::new(cid, tenant.id, *cslug, *cname, *kind, *class, self.now) },
                });
                ids.push((*cslug, cid));
            }
        }
        ids
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &mut self,
        tenant: &Tenant,
        channel: i64,
        title: &str,
        body: &str,
        doc_no: Option<&str>,
        written: &str,
        published: Millis,
        disclosure: Disclosure,
        reason: Option<&str>,
        topic: &str,
    ) {
        let mut d = Document::draft(new_id(), tenant.id, channel, title, tenant.name.clone(), published);
        d.body_html = body.into();
        d.source = Some(tenant.name.clone());
        d.state = DocState::Published;
        d.published_at = Some(published);
        d.meta.doc_no = doc_no.map(Into::into);
        d.meta.written_date = Some(written.into());
        d.meta.topic = Some(topic.into());
        d.meta.disclosure = Some(disclosure);
        // The demo's one non-public notice cites its basis in its reason.
        d.meta.disclosure_basis = reason.map(|_| "《中华人民共和国政府信息公开条例》".into());
        d.meta.disclosure_reason = reason.map(Into::into);
        self.commands.push(Command::CreateDocument { document: d, attachment_ids: vec![] });
    }
}

fn id_of(ids: &[(&str, i64)], slug: &str) -> i64 {
    ids.iter().find(|(s, _)| *s == slug).map(|(_, id)| *id).expect("demo channel exists")
}

const PORTAL_COLUMNS: &[Column] = &[
    (
        "zfxxgk",
        "政府信息公开",
        ChannelKind::Disclosure,
        UpdateClass::Regular,
        &[
            ("szfwj", "市政府文件"),
            ("szfbgswj", "市政府办公室文件"),
            ("zwgkzzjg", "市政府政务公开组织机构"),
            ("xxgkzd", "市政府信息公开制度"),
            ("ndbg", "政府信息年度报告"),
            ("spqzfw", "行政审批前置服务机构"),
            ("gzbg", "政府工作报告"),
        ],
    ),
    ("zwgkgz", "政务公开工作", ChannelKind::List, UpdateClass::Dynamic, &[]),
    ("zfhy", "政府会议", ChannelKind::List, UpdateClass::Dynamic, &[("cwhy", "政府常务会议"), ("mtchf", "媒体吹风会")]),
    (
        "ggjg",
        "公共监管",
        ChannelKind::List,
        UpdateClass::Dynamic,
        &[("scjg", "市场监管信息"), ("wszf", "卫生执法检查"), ("aqzf", "安全执法检查"), ("jscf", "节水行政处罚信息")],
    ),
    ("gsgg", "公示公告", ChannelKind::List, UpdateClass::Dynamic, &[]),
    // 信息报送: what the townships and departments submit, once adopted.
    ("jcdt", "基层动态", ChannelKind::List, UpdateClass::Dynamic, &[]),
    // 互动交流: where a citizen's letter goes, and the answers made public.
    ("hdjl", "互动交流", ChannelKind::Interaction, UpdateClass::Static, &[]),
];

const SITE_COLUMNS: &[Column] = &[
    ("tzgg", "通知公告", ChannelKind::List, UpdateClass::Dynamic, &[]),
    ("gzdt", "工作动态", ChannelKind::List, UpdateClass::Dynamic, &[]),
    ("zfxxgk", "政府信息公开", ChannelKind::Disclosure, UpdateClass::Regular, &[("zcwj", "政策文件"), ("fdgk", "法定主动公开内容")]),
    // Plays the `policy-repost` role: where the city's and the central
    // government's policies are reposted.
    ("zzwj", "上级文件转载", ChannelKind::List, UpdateClass::Regular, &[]),
    ("hdjl", "互动交流", ChannelKind::Interaction, UpdateClass::Static, &[]),
];

/// The column role reposts land in.
const REPOST_ROLE: &str = "policy-repost";

/// The 2017 notice (海政办发〔2017〕37号); the body summarizes its structure
/// in the demo's own words.
const NOTICE_TITLE: &str = "海城市人民政府办公室关于深入贯彻落实国务院办公厅全面推进政务公开工作意见实施细则的通知";
const NOTICE_BODY: &str = "<p>各开发园区管委会，各镇人民政府、管理区，市政府各部门：</p>\
<p>为把决策、执行、管理、服务、结果公开（“五公开”）落到实处，结合我市实际，现就进一步做好政务公开工作提出如下要求。</p>\
<p><strong>一、健全工作机制。</strong>各单位主要负责人亲自抓政务公开，明确一名分管负责人，每年至少听取一次工作汇报。</p>\
<p><strong>二、落实公开属性审查。</strong>公文拟制时同步明确主动公开、依申请公开或不予公开属性，不予公开的须说明理由；发布前依法依规做好保密审查。</p>\
<p><strong>三、做好政策解读。</strong>重要政策文件与解读材料同步组织、同步审签、同步部署，在门户网站集中发布。</p>\
<p><strong>四、加强平台建设。</strong>推进政府网站集约化，各镇、各部门网站统一纳入市政府门户网站管理；及时转载上级政府重要政策，做好日常监测、安全防护和等级保护测评。</p>\
<p><strong>五、扩大公众参与。</strong>涉及群众切身利益的重要决策，通过征求意见、听证座谈、网民留言等方式听取意见，并公布采纳情况。</p>\
<p>海城市人民政府办公室</p><p>2017年4月25日</p><p>（此件公开发布）</p>";

/// Township and department topics: (title pattern, channel slug, topic).
const SITE_ITEMS: &[(&str, &str, &str)] = &[
    ("{}关于做好秋冬季森林防火工作的通知", "tzgg", "农业、林业、水利"),
    ("{}召开安全生产专题部署会", "gzdt", "安全生产监管"),
    ("{}2026年度财政预算执行情况公开", "fdgk", "财政"),
    ("{}开展冬季供暖保障入户走访活动", "gzdt", "城乡建设"),
    ("{}关于城乡居民医疗保险集中缴费的公告", "tzgg", "卫生、体育"),
    ("{}农村人居环境整治工作实施方案", "zcwj", "城乡建设"),
    ("{}组织开展防汛应急演练", "gzdt", "应急管理"),
    ("{}关于公开选聘村级后备干部的公告", "tzgg", "人事"),
    ("{}政府信息公开工作年度报告", "fdgk", "政务公开"),
    ("{}推进“一网通办”便民服务延伸到村", "gzdt", "政务公开"),
    ("{}关于开展耕地保护专项检查的通知", "tzgg", "国土资源、能源"),
    ("{}养老服务设施建设补助资金使用情况公示", "fdgk", "民政、扶贫、救灾"),
    ("{}关于进一步规范集体资产管理的意见", "zcwj", "农业、林业、水利"),
    ("{}举办新型职业农民技能培训班", "gzdt", "农业、林业、水利"),
    ("{}关于燃气安全隐患排查整治的通告", "tzgg", "安全生产监管"),
    ("{}开展文明实践志愿服务月活动", "gzdt", "文化"),
    ("{}2026年重点项目建设进展情况", "fdgk", "综合政务"),
    ("{}关于做好困难群众冬春生活救助的通知", "zcwj", "民政、扶贫、救灾"),
    ("{}召开党风廉政建设工作会议", "gzdt", "综合政务"),
    ("{}关于禁止露天焚烧秸秆的通告", "tzgg", "环境监测、保护与治理"),
    ("{}义务教育阶段学生资助政策宣传", "gzdt", "教育"),
    ("{}行政执法公示信息", "fdgk", "公安、安全、司法"),
    ("{}关于开展第五次全国经济普查入户登记的公告", "tzgg", "统计"),
    ("{}推进乡村振兴示范村创建工作", "gzdt", "农业、林业、水利"),
];

const PORTAL_ITEMS: &[(&str, &str, &str)] = &[
    ("海城市人民政府关于印发海城市2026年政务公开工作要点的通知", "szfwj", "政务公开"),
    ("海城市人民政府关于调整城乡居民基本医疗保险筹资标准的通知", "szfwj", "卫生、体育"),
    ("海城市人民政府办公室关于进一步加强政府网站和政务新媒体管理的通知", "szfbgswj", "政务公开"),
    ("海城市人民政府办公室关于做好2026年冬季清洁取暖工作的通知", "szfbgswj", "城乡建设"),
    ("海城市政务公开领导小组成员名单", "zwgkzzjg", "政务公开"),
    ("海城市政府信息依申请公开办理制度", "xxgkzd", "政务公开"),
    ("海城市人民政府2025年政府信息公开工作年度报告", "ndbg", "政务公开"),
    ("海城市行政审批前置服务机构名录", "spqzfw", "综合政务"),
    ("2026年海城市人民政府工作报告", "gzbg", "综合政务"),
    ("海城市召开2026年政务公开工作推进会", "zwgkgz", "政务公开"),
    ("海城市开展基层政务公开标准化规范化督查", "zwgkgz", "政务公开"),
    ("市政府第二十三次常务会议召开", "cwhy", "综合政务"),
    ("市政府第二十四次常务会议召开", "cwhy", "综合政务"),
    ("海城市冬季供暖保障工作媒体吹风会", "mtchf", "城乡建设"),
    ("2026年第三季度食品安全监督抽检结果", "scjg", "市场监管"),
    ("海城市公共场所卫生监督检查情况通报", "wszf", "卫生、体育"),
    ("海城市危险化学品企业安全执法检查情况", "aqzf", "安全生产监管"),
    ("海城市节水行政处罚决定书（2026年第3号）", "jscf", "农业、林业、水利"),
    ("海城市2026年公开招聘事业单位工作人员公告", "gsgg", "人事"),
    ("海城市城区道路改造工程施工期间交通管制公告", "gsgg", "交通"),
];

/// The people of the demo: for 牛庄镇 an editor, a reviewer, a
/// 政务公开审核员 and a 保密审查员; an editor of 西柳镇 (to see that one
/// township cannot see another's work); an editor of the portal.
const DEMO_ACCOUNTS: &[(&str, &str, &str, TenantRole)] = &[
    ("nz-editor", "牛庄镇 编辑 王芳", "niuzhuang", TenantRole::Editor),
    ("nz-reviewer", "牛庄镇 审核员 李强", "niuzhuang", TenantRole::Reviewer),
    ("nz-gongkai", "牛庄镇 政务公开审核员 赵敏", "niuzhuang", TenantRole::DisclosureReviewer),
    ("nz-baomi", "牛庄镇 保密审查员 孙伟", "niuzhuang", TenantRole::SecrecyReviewer),
    ("xl-editor", "西柳镇 编辑 周洁", "xiliu", TenantRole::Editor),
    ("hc-editor", "市政府门户 编辑 陈晨", "haicheng", TenantRole::Editor),
    ("hc-admin", "市政府门户 站点管理员 刘洋", "haicheng", TenantRole::Admin),
];

/// Adds the demo's site accounts to the batch. One password for all of
/// them from ZHANQUN_DEMO_PASSWORD, or one generated per account; either
/// way returned for printing once.
async fn demo_accounts(b: &mut Builder, sites: &[(&str, i64)]) -> anyhow::Result<Vec<String>> {
    let shared = std::env::var("ZHANQUN_DEMO_PASSWORD").ok().filter(|p| !p.is_empty());
    let mut told = Vec::new();
    let mut shared_hash: Option<String> = None;
    for (username, name, site, role) in DEMO_ACCOUNTS {
        let Some(&(_, tenant_id)) = sites.iter().find(|(code, _)| code == site) else { continue };
        let (hash, shown) = match &shared {
            Some(p) => {
                if shared_hash.is_none() {
                    let p = p.clone();
                    shared_hash = Some(tokio::task::spawn_blocking(move || zhanqun_platform::passwords::hash_password(&p)).await?);
                }
                (shared_hash.clone().unwrap_or_default(), "password from ZHANQUN_DEMO_PASSWORD".to_string())
            }
            None => {
                let p = crate::generate_password();
                let shown = format!("password: {p}");
                (tokio::task::spawn_blocking(move || zhanqun_platform::passwords::hash_password(&p)).await?, shown)
            }
        };
        let mut user = User::new(new_id(), *username, *name, hash, b.now);
        user.grants = vec![Grant { tenant_id, role: *role }];
        b.commands.push(Command::CreateUser { user });
        told.push(format!("    {name}  username: {username}  {shown}"));
    }
    Ok(told)
}

fn body_for(title: &str, organ: &str) -> String {
    format!(
        "<p>{title}。</p><p>{organ}高度重视此项工作，按照市委、市政府统一部署，明确责任分工，细化工作措施，确保各项任务按时保质完成。</p>\
         <p>下一步，将持续跟踪工作进展，及时公开相关信息，主动接受社会监督。联系电话：0412-3xxxxxx。</p>"
    )
}

pub async fn load(node: &Node) -> anyhow::Result<()> {
    if !node.store.tenants().await?.is_empty() {
        eprintln!("  --demo: the data directory already has sites; leaving it as it is.");
        return Ok(());
    }
    let now = now_ms();
    let day = 86_400_000;
    let mut b = Builder { commands: Vec::new(), now };

    let portal = b.tenant("haicheng", "海城市人民政府", TenantKind::Portal, None, "11210381001197463R", "2103810001");
    let pc = b.columns(&portal, PORTAL_COLUMNS);
    let notice_at = date_to_millis("2017-04-25").expect("valid date") + 9 * 3_600_000;
    b.document(
        &portal,
        id_of(&pc, "szfbgswj"),
        NOTICE_TITLE,
        NOTICE_BODY,
        Some("海政办发〔2017〕37号"),
        "2017-04-25",
        notice_at,
        Disclosure::Proactive,
        None,
        "政务公开",
    );
    if let Some(Command::CreateDocument { document, .. }) = b.commands.last_mut() {
        document.meta.issuing_organ = "海城市人民政府办公室".into();
        document.source = Some("海城市人民政府办公室".into());
    }
    for (i, (title, slug, topic)) in PORTAL_ITEMS.iter().enumerate() {
        let at = now - (i as i64 * 2 + 1) * day;
        let doc_no = matches!(*slug, "szfwj" | "szfbgswj").then(|| format!("{}〔2026〕{}号", if *slug == "szfwj" { "海政发" } else { "海政办发" }, 10 + i));
        b.document(
            &portal,
            id_of(&pc, slug),
            title,
            &body_for(title, &portal.name),
            doc_no.as_deref(),
            &zhanqun_model::time::format_date(at),
            at,
            Disclosure::Proactive,
            None,
            topic,
        );
    }
    // Two documents the public must never see, whatever their state.
    b.document(
        &portal,
        id_of(&pc, "szfwj"),
        "城区供水管网改造工程招标控制价明细",
        "<p>明细表略。</p>",
        None,
        "2026-09-01",
        now - 40 * day,
        Disclosure::OnRequest,
        Some("《政府信息公开条例》第二十七条：属于需要申请方可获取的信息"),
        "城乡建设",
    );
    b.document(
        &portal,
        id_of(&pc, "szfbgswj"),
        "关于某信访事项处理意见的告知书",
        "<p>内容略。</p>",
        None,
        "2026-08-15",
        now - 50 * day,
        Disclosure::Withheld,
        Some("《政府信息公开条例》第十五条：涉及个人隐私"),
        "综合政务",
    );

    let mut site_ids = vec![("haicheng", portal.id)];
    let sites = [
        ("niuzhuang", "牛庄镇人民政府", TenantKind::Township, "112103810011001", "2103810011"),
        ("xiliu", "西柳镇人民政府", TenantKind::Township, "112103810011002", "2103810012"),
        ("ganwang", "感王镇人民政府", TenantKind::Township, "112103810011003", "2103810013"),
        ("jyj", "海城市教育局", TenantKind::Department, "112103810012001", "2103810021"),
        ("wsjkj", "海城市卫生健康局", TenantKind::Department, "112103810012002", "2103810022"),
    ];
    for (n, (code, name, kind, organ, site_id)) in sites.iter().enumerate() {
        let t = b.tenant(code, name, *kind, Some(portal.id), organ, site_id);
        site_ids.push((code, t.id));
        let ids = b.columns(&t, SITE_COLUMNS);
        b.commands.push(Command::SetChannelRole { tenant_id: t.id, channel_id: id_of(&ids, "zzwj"), role: Some(REPOST_ROLE.into()) });
        for (i, (pattern, slug, topic)) in SITE_ITEMS.iter().enumerate() {
            let title = pattern.replace("{}", name);
            let at = now - ((i * 3 + n) as i64 * day) / 2 - 3_600_000;
            let doc_no = (*slug == "zcwj").then(|| format!("{}发〔2026〕{}号", &name[..name.char_indices().nth(2).map_or(name.len(), |(i, _)| i)], i + 1));
            b.document(
                &t,
                id_of(&ids, slug),
                &title,
                &body_for(&title, name),
                doc_no.as_deref(),
                &zhanqun_model::time::format_date(at),
                at,
                Disclosure::Proactive,
                None,
                topic,
            );
        }
    }

    // The city's own documents (市政府文件) reach every site's repost
    // column as soon as they are published, to be shown within 24 hours.
    b.commands.push(Command::CreateRepostRule {
        rule: zhanqun_model::repost::RepostRule {
            id: new_id(),
            tenant_id: portal.id,
            name: "市政府文件转载到各镇、各部门".into(),
            source: zhanqun_model::repost::RepostSource::Column { tenant_id: portal.id, channel_id: id_of(&pc, "szfwj") },
            filter: Default::default(),
            targets: zhanqun_model::repost::RepostTargets::All,
            role: REPOST_ROLE.into(),
            mode: zhanqun_model::repost::RepostMode::Mandatory,
            deadline_ms: zhanqun_model::repost::DEFAULT_DEADLINE_MS,
            created_at: now,
            created_by: None,
        },
    });
    let told = demo_accounts(&mut b, &site_ids).await?;
    let count = b.commands.len();
    let written = node.write(Proposal::new(now, None, None, Command::Batch { commands: b.commands })).await?;
    if let Err(r) = written.outcome {
        bail!("the demo content was refused: {}", r.message);
    }
    // Printed once, to the console only, beside the platform accounts'.
    // This node's own address: where the reader of this console reaches it.
    let base = node.advertise.trim_end_matches('/');
    eprintln!("\n  Demo accounts for the workbench at {base}/admin/ (demo only; never on a real cluster):\n{}\n", told.join("\n"));
    eprintln!("  --demo: loaded the Haicheng portal, 3 township and 2 department sites ({count} records) at index {}.", written.index);
    eprintln!("  Try {base}/sites/haicheng/ (or send `Host: www.haicheng.gov.cn`).");
    Ok(())
}
