//! `zhanqun serve --demo`: the Haicheng portal, its townships and
//! departments, and the documents that must never be public.

mod common;

use common::*;
use reqwest::Method;

const PORTAL_HOST: &str = "www.haicheng.gov.cn";
const HIDDEN: [&str; 2] = ["城区供水管网改造工程招标控制价明细", "关于某信访事项处理意见的告知书"];

#[tokio::test]
async fn the_demo_serves_the_portal_its_sites_and_hides_what_is_not_public() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &["--demo"]).await;

    let (status, home) = page(&server, None, "/sites/haicheng/").await;
    assert_eq!(status, 200);
    for column in ["政府信息公开", "市政府办公室文件", "政务公开工作", "政府会议", "公共监管", "公示公告", "辽ICP备11014897号-1", "hcszwgk@163.com"]
    {
        assert!(home.contains(column), "portal home lacks {column}");
    }

    // The 2017 notice with its real metadata.
    let (_, list) = page(&server, None, "/sites/haicheng/col/szfbgswj/").await;
    let title = "海城市人民政府办公室关于深入贯彻落实国务院办公厅全面推进政务公开工作意见实施细则的通知";
    let pos = list.find(title).expect("the notice is listed in 市政府办公室文件");
    let href_start = list[..pos].rfind("href=\"").unwrap() + 6;
    let href = &list[href_start..href_start + list[href_start..].find('"').unwrap()];
    let (status, notice) = page(&server, None, href).await;
    assert_eq!(status, 200);
    assert!(notice.contains("海政办发〔2017〕37号"));
    assert!(notice.contains("11210381001197463R/2017-"), "索引号 shown");
    assert!(notice.contains("2017-04-25"));
    assert!(notice.contains("海城市人民政府办公室"));
    assert!(notice.contains("当前位置"));
    assert!(notice.contains("<meta name=\"ArticleTitle\""));

    // Every township and department: by Host, by /sites/<code>/, and under the portal's host.
    for (code, name) in
        [("niuzhuang", "牛庄镇人民政府"), ("xiliu", "西柳镇人民政府"), ("ganwang", "感王镇人民政府"), ("jyj", "海城市教育局"), ("wsjkj", "海城市卫生健康局")]
    {
        for (host, path) in [
            (Some(format!("{code}.haicheng.gov.cn")), "/".to_string()),
            (None, format!("/sites/{code}/")),
            (Some(PORTAL_HOST.to_string()), format!("/{code}/")),
        ] {
            let (status, html) = page(&server, host.as_deref(), &path).await;
            assert_eq!(status, 200, "{code} at {host:?}{path}");
            assert!(html.contains(&format!("<meta name=\"SiteName\" content=\"{name}\">")), "{code} at {host:?}{path}");
        }
    }

    // The non-public documents: nowhere on the public side.
    let mut public_text = String::new();
    for path in ["/", "/sitemap.xml", "/col/szfwj/", "/col/szfbgswj/", "/col/szfwj/rss.xml", "/col/szfbgswj/rss.xml", "/col/zfxxgk/"] {
        let (status, body) = page(&server, Some(PORTAL_HOST), path).await;
        assert_eq!(status, 200, "{path}");
        public_text.push_str(&body);
    }
    for hidden in HIDDEN {
        assert!(!public_text.contains(hidden), "{hidden} leaked");
    }
    // Not even by guessing its URL.
    let token = server.staff_token(&["haicheng", "niuzhuang"]).await;
    let (_, _, docs) = api(&server, &token, Method::GET, "/api/v1/tenants/haicheng/documents?per_page=200", None).await;
    let items = docs["items"].as_array().unwrap();
    let mut hidden_urls = 0;
    for d in items.iter().filter(|d| HIDDEN.contains(&d["title"].as_str().unwrap())) {
        assert_eq!(d["state"], "published", "hidden although published");
        assert_ne!(d["meta"]["disclosure"], "主动公开");
        let (status, body) = page(&server, None, d["url"].as_str().unwrap()).await;
        assert_eq!(status, 404);
        assert!(body.contains("页面不存在"), "a friendly 404 page");
        let sitemap = page(&server, Some(PORTAL_HOST), "/sitemap.xml").await.1;
        assert!(!sitemap.contains(&d["id"].to_string()));
        hidden_urls += 1;
    }
    assert_eq!(hidden_urls, 2);

    // A township has a few dozen documents.
    let (_, _, docs) = api(&server, &token, Method::GET, "/api/v1/tenants/niuzhuang/documents", None).await;
    assert!(docs["total"].as_i64().unwrap() >= 24);
}

#[tokio::test]
async fn demo_on_a_used_data_dir_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let mut server = Server::start(&data, &["--demo"]).await;
    let token = server.admin_token().await;
    let (_, _, before) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    server.kill();
    let server = Server::start(&data, &["--demo"]).await;
    let token = server.admin_token().await;
    let (_, _, after) = api(&server, &token, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(before, after);
}
