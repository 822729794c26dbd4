//! The workbench speaks Chinese: what a refusal says to the person at the
//! browser. The API's codes are stable, so the words hang on them; where
//! a code is shared by several refusals the English message (which names
//! the field) decides. Anything not listed is shown with the system's own
//! words after a Chinese lead, never hidden.

use crate::ApiError;

/// The Chinese sentence for a refusal, and the form field it belongs to
/// (shown next to that field), if any.
pub fn refusal(e: &ApiError) -> (String, Option<&'static str>) {
    let msg = e.to_string();
    let field = field_of(e.code(), &msg);
    let text: String = match e.code() {
        "unauthenticated" if msg.starts_with("wrong username") => "用户名或密码错误".into(),
        "unauthenticated" => "登录已失效，请重新登录".into(),
        "login_locked" => {
            let minutes: String = msg.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
            format!("登录失败次数过多，该账号在本机已锁定，请 {minutes} 分钟后再试，或联系安全管理员解锁")
        }
        "forbidden" if msg.contains("disabled") => "该账号已停用，请联系安全管理员".into(),
        "forbidden" if msg.contains("holds no role") => "该账号在任何站点都没有角色，请联系安全管理员授权".into(),
        "forbidden" | "not_your_duty" => "您的账号无权在此站点进行此操作".into(),
        "not_your_step" => format!("这一步不归您处理：{}", after_colon(&msg, "this step needs the ")),
        "wrong_password" => "当前密码不正确".into(),
        "same_password" => "新密码不能与当前密码相同".into(),
        "weak_password" => weak_password(&msg),
        "password_change_required" => "安全管理员为您设置了密码，请先修改密码".into(),
        "disclosure_required" => "提交前请选择公开属性（主动公开、依申请公开或不予公开）".into(),
        "disclosure_reason_required" => "依申请公开或不予公开须填写依据和理由".into(),
        "invalid_date" => "成文日期须为真实日期，格式为 YYYY-MM-DD".into(),
        "invalid_doc_no" => format!("文号格式不正确，应如“某政发〔2026〕3号”：{msg}"),
        "duplicate_doc_no" => "本站已有相同文号的文件".into(),
        "too_long" => format!("内容超出长度限制：{msg}"),
        "invalid_text" => format!("含有不允许的字符（如不可见字符或文字方向控制符）：{msg}"),
        "html_too_complex" | "html_too_deep" => "正文结构过于复杂（嵌套过深或标签过多），请分段粘贴或清除格式后再保存".into(),
        "missing_field" if msg.contains("title") => "请填写标题".into(),
        "invalid_field" if msg.contains("title") => "请填写标题".into(),
        "wrong_state" | "not_a_draft" => format!("文档当前状态不允许此操作：{msg}"),
        "secrecy_sign_off_required" => "须先完成保密审查".into(),
        "unknown_document" => "本站没有这篇文档".into(),
        "unknown_channel" => "本站没有这个栏目".into(),
        "unknown_tenant" => "没有这个站点".into(),
        "too_large" => "文件超过附件大小上限".into(),
        "edited_meanwhile" => "保存未完成：在您编辑期间，其他人已修改并保存了这篇文档。下面同时列出两个版本，请核对后再保存。".into(),
        "duplicate_slug" => "本站已有相同路径的栏目，请换一个路径".into(),
        "channel_not_empty" => "栏目下还有文档或子栏目，不能删除".into(),
        "channel_cycle" => "不能把栏目移到它自己的下级".into(),
        "incomplete_order" => "排序须包含同级的全部栏目，请刷新后重试".into(),
        "duplicate_username" => "已有同名账号（不区分大小写）".into(),
        "invalid_username" => format!("用户名不符合要求：{msg}"),
        "duplicate_host" => "这个域名已被其他站点使用".into(),
        "invalid_host" => format!("域名格式不正确：{msg}"),
        "duplicate_code" => "已有相同代码的站点".into(),
        "invalid_code" => format!("代码须为 2–32 个小写英文字母、数字或“-”，以字母开头：{msg}"),
        "invalid_policy" => format!("密码策略的取值超出范围：{msg}"),
        "own_account" => "不能对自己的账号进行此操作".into(),
        "unavailable" | "outcome_unknown" => "系统暂时无法完成保存（集群正在切换或重启），您输入的内容已保留，请稍后再试".into(),
        "cluster_upgrading" => "平台正在升级（通常几分钟），升级完成前暂不能进行这项操作，请稍后再试".into(),
        _ => format!("操作未完成：{msg}"),
    };
    (text, field)
}

/// The password policy's refusals, in Chinese.
fn weak_password(msg: &str) -> String {
    let why = [
        ("user name", "含有用户名"),
        ("repeats one character", "同一个字符重复"),
        ("run of keys", "是键盘或字母顺序（如 qwerty、abcd）"),
        ("common password", "是常见密码加数字或符号"),
        ("digits and symbols", "主要是数字和符号"),
    ];
    if let Some((_, zh)) = why.iter().find(|(en, _)| msg.contains(en)) {
        return format!("新密码太容易被猜到：{zh}，请换一个");
    }
    if msg.contains("at most 128") {
        return "新密码最长 128 个字符".into();
    }
    let numbers: Vec<&str> = msg.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
    match numbers.as_slice() {
        [length, classes, ..] => format!("新密码至少 {length} 个字符，并包含小写字母、大写字母、数字、符号中的至少 {classes} 类"),
        _ => format!("新密码不符合密码策略：{msg}"),
    }
}

fn after_colon(msg: &str, prefix: &str) -> String {
    let roles = msg.strip_prefix(prefix).unwrap_or(msg).trim_end_matches(" role in this site");
    format!("需要本站的 {roles} 角色")
}

/// The form field a refusal is about, so the page shows it there.
fn field_of(code: &str, msg: &str) -> Option<&'static str> {
    match code {
        "disclosure_required" => Some("disclosure"),
        "disclosure_reason_required" => Some("disclosure_reason"),
        "invalid_date" => Some("written_date"),
        "invalid_doc_no" | "duplicate_doc_no" => Some("doc_no"),
        "html_too_complex" | "html_too_deep" => Some("body_html"),
        "weak_password" | "same_password" => Some("new_password"),
        "wrong_password" => Some("current_password"),
        _ => ["title", "summary", "source", "author", "topic", "issuing_organ", "disclosure_basis", "disclosure_reason", "body"]
            .into_iter()
            .find(|f| msg.contains(&format!("`{f}`")) || msg.starts_with(&format!("{f} ")) || msg.contains(&format!(" {f} ")))
            .map(|f| if f == "body" { "body_html" } else { f }),
    }
}

/// Document states as editors say them.
pub fn state(s: zhanqun_model::DocState) -> &'static str {
    use zhanqun_model::DocState::*;
    match s {
        Draft => "草稿",
        Submitted => "待审核",
        InReview => "审核中",
        SecrecyReview => "保密审查中",
        Approved => "已审核待发布",
        Scheduled => "定时发布",
        Published => "已发布",
        Withdrawn => "已撤回",
    }
}

/// Kinds of sites, as in "所有乡镇".
pub fn site_kind(k: zhanqun_model::TenantKind) -> &'static str {
    use zhanqun_model::TenantKind::*;
    match k {
        Portal => "门户",
        Township => "乡镇",
        Department => "部门",
        Special => "专题站",
    }
}

/// Roles as the people who hold them say them.
pub fn role(r: zhanqun_model::TenantRole) -> &'static str {
    use zhanqun_model::TenantRole::*;
    match r {
        Admin => "站点管理员",
        Editor => "编辑",
        Reviewer => "审核员",
        DisclosureReviewer => "政务公开审核员",
        SecrecyReviewer => "保密审查员",
    }
}

/// A compliance monitor as the inspection rules name it.
pub fn monitor(m: zhanqun_model::compliance::Monitor) -> &'static str {
    use zhanqun_model::compliance::Monitor::*;
    match m {
        HomeReachable => "首页可用性",
        HomeFreshness => "首页更新",
        StaleColumns => "栏目更新",
        EmptyColumns => "空白栏目",
        DeadLinks => "首页错链",
        RepostsOverdue => "转载时限",
        Registration => "标识与备案",
        ContentSafety => "内容安全复查",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_refusals_are_said_in_chinese() {
        let short = ApiError::Unprocessable(
            "weak_password".into(),
            "the password needs at least 12 characters from at least 3 of: lowercase, uppercase, digits, symbols".into(),
        );
        assert_eq!(refusal(&short), ("新密码至少 12 个字符，并包含小写字母、大写字母、数字、符号中的至少 3 类".to_string(), Some("new_password")));
        let guessable = ApiError::Unprocessable("weak_password".into(), "this password is too easy to guess: it contains the user name; choose another".into());
        assert_eq!(refusal(&guessable).0, "新密码太容易被猜到：含有用户名，请换一个");
        let locked = ApiError::LoginLocked { message: "locked here for 15 more minute(s)".into(), retry_after: std::time::Duration::from_secs(900) };
        assert!(refusal(&locked).0.contains("15 分钟"));
    }
}
