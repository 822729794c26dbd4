//! A site's admin reshapes the site's columns (栏目) through a real server:
//! renames, moves, orders, sets the update duty and deletes an empty one;
//! the public site follows; people without the duty are refused, and the
//! refusals are in the audit trail.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The site's columns as (slug, name, parent slug, update class), in order.
async fn columns(server: &Server, token: &str) -> Vec<(String, String, Option<String>, String)> {
    let (status, _, list) = api(server, token, Method::GET, "/api/v1/tenants/dongyuan/channels", None).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap().clone();
    let slug_of = |id: &Value| items.iter().find(|c| c["id"] == *id).map(|c| c["slug"].as_str().unwrap().to_string());
    items
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("slug"), s("name"), slug_of(&c["parent_id"]), s("update_class"))
        })
        .collect()
}

#[tokio::test]
async fn a_site_admin_reshapes_the_columns_and_the_public_site_follows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("node"), &[]).await;
    let admin = server.admin_token().await;
    for (code, name) in [("dongyuan", "东园镇人民政府"), ("xiyuan", "西园镇人民政府")] {
        let site = json!({ "code": code, "name": name, "kind": "township", "organ_code": code.to_uppercase(), "lifecycle": "online" });
        assert_eq!(api(&server, &admin, Method::POST, "/api/v1/tenants", Some(site)).await.0, 201);
    }
    let mut ids = std::collections::HashMap::new();
    for (slug, name) in [("zwgk", "政务公开"), ("tzgg", "通知公告"), ("gzdt", "工作动态"), ("zcwj", "政策文件"), ("jggk", "机构概况")] {
        let (status, _, c) = api(&server, &admin, Method::POST, "/api/v1/tenants/dongyuan/channels", Some(json!({ "slug": slug, "name": name }))).await;
        assert_eq!(status, 201, "{c}");
        ids.insert(slug, c["id"].as_i64().unwrap());
    }
    let site_admin = site_account(&server.base, "dongyuan-web", &[("dongyuan", "admin")]).await;
    let chan = |slug: &str, rest: &str| format!("/api/v1/tenants/dongyuan/channels/{}{rest}", ids[slug]);

    // Renamed: the public column page shows the new name at the same path.
    let (status, _, c) = api(&server, &site_admin, Method::PUT, &chan("gzdt", "/name"), Some(json!({ "name": "镇务动态" }))).await;
    assert_eq!((status, c["name"].as_str()), (200, Some("镇务动态")), "{c}");
    let (status, html) = page(&server, None, "/sites/dongyuan/col/gzdt/").await;
    assert!(status == 200 && html.contains("镇务动态"), "{status}: the column page does not show the new name");

    // Moved under 政务公开; moving 政务公开 under its own column is refused.
    let (status, _, c) = api(&server, &site_admin, Method::PUT, &chan("zcwj", "/parent"), Some(json!({ "parent_id": ids["zwgk"] }))).await;
    assert_eq!((status, c["parent_id"].as_i64()), (200, Some(ids["zwgk"])), "{c}");
    for parent in [ids["zcwj"], ids["zwgk"]] {
        let (status, _, body) = api(&server, &site_admin, Method::PUT, &chan("zwgk", "/parent"), Some(json!({ "parent_id": parent }))).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "channel_cycle"), "{body}");
    }
    // A column of another site is no parent here.
    let (_, _, other) = api(&server, &admin, Method::POST, "/api/v1/tenants/xiyuan/channels", Some(json!({ "slug": "tzgg", "name": "通知公告" }))).await;
    let (status, _, body) = api(&server, &site_admin, Method::PUT, &chan("tzgg", "/parent"), Some(json!({ "parent_id": other["id"] }))).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "unknown_channel"), "{body}");

    // Ordered: the top level in a new order; a list missing one is refused
    // and changes nothing.
    let order = [ids["jggk"], ids["gzdt"], ids["tzgg"], ids["zwgk"]];
    let (status, _, body) =
        api(&server, &site_admin, Method::PUT, "/api/v1/tenants/dongyuan/channels/order", Some(json!({ "parent_id": null, "order": order }))).await;
    assert_eq!(status, 200, "{body}");
    let top: Vec<String> = columns(&server, &site_admin).await.into_iter().filter(|c| c.2.is_none()).map(|c| c.0).collect();
    assert_eq!(top, ["jggk", "gzdt", "tzgg", "zwgk"]);
    let (status, _, body) =
        api(&server, &site_admin, Method::PUT, "/api/v1/tenants/dongyuan/channels/order", Some(json!({ "parent_id": null, "order": &order[..3] }))).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "incomplete_order"), "{body}");
    let top: Vec<String> = columns(&server, &site_admin).await.into_iter().filter(|c| c.2.is_none()).map(|c| c.0).collect();
    assert_eq!(top, ["jggk", "gzdt", "tzgg", "zwgk"], "a refused order changed the order");

    // The update duty: 政策文件 every six months, 机构概况 none; a made-up one is refused.
    for (slug, class) in [("zcwj", "regular"), ("jggk", "static")] {
        let (status, _, c) = api(&server, &site_admin, Method::PUT, &chan(slug, "/update-class"), Some(json!({ "update_class": class }))).await;
        assert_eq!((status, c["update_class"].as_str()), (200, Some(class)), "{c}");
    }
    let (status, _, _) = api(&server, &site_admin, Method::PUT, &chan("tzgg", "/update-class"), Some(json!({ "update_class": "weekly" }))).await;
    assert_eq!(status, 422);

    // Deleting: not a column with a document, nor one with columns; an empty one goes.
    let (status, _, doc) = api(
        &server,
        &site_admin,
        Method::POST,
        "/api/v1/tenants/dongyuan/documents",
        Some(json!({ "channel": "tzgg", "title": "停水通知", "body_html": "<p>周三停水</p>", "disclosure": "主动公开" })),
    )
    .await;
    assert_eq!(status, 201, "{doc}");
    for slug in ["tzgg", "zwgk"] {
        let (status, _, body) = api(&server, &site_admin, Method::DELETE, &chan(slug, ""), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "channel_not_empty"), "{slug}: {body}");
    }
    assert_eq!(page(&server, None, "/sites/dongyuan/col/jggk/").await.0, 200);
    let (status, _, body) = api(&server, &site_admin, Method::DELETE, &chan("jggk", ""), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(page(&server, None, "/sites/dongyuan/col/jggk/").await.0, 404, "the deleted column's page is still served");

    let expected = [
        ("gzdt", "镇务动态", None, "dynamic"),
        ("tzgg", "通知公告", None, "dynamic"),
        ("zcwj", "政策文件", Some("zwgk"), "regular"),
        ("zwgk", "政务公开", None, "dynamic"),
    ];
    let mut now = columns(&server, &site_admin).await;
    now.sort();
    let shown: Vec<(&str, &str, Option<&str>, &str)> = now.iter().map(|(s, n, p, u)| (s.as_str(), n.as_str(), p.as_deref(), u.as_str())).collect();
    assert_eq!(shown, expected);

    // An editor of the site, and the admin of another site, may not; the
    // state machine refuses them and the audit trail says so.
    let editor = site_account(&server.base, "dongyuan-editor", &[("dongyuan", "editor")]).await;
    let stranger = site_account(&server.base, "xiyuan-web", &[("xiyuan", "admin")]).await;
    for who in [&editor, &stranger] {
        let (status, _, body) = api(&server, who, Method::PUT, &chan("gzdt", "/name"), Some(json!({ "name": "越权改名" }))).await;
        assert_eq!(status, 403, "{body}");
        let (status, _, body) = api(&server, who, Method::DELETE, &chan("zcwj", ""), None).await;
        assert_eq!(status, 403, "{body}");
    }
    let mut after = columns(&server, &site_admin).await;
    after.sort();
    assert_eq!(after, now, "a refused change changed the columns");
    let auditor = server.auditor_token().await;
    let (status, _, trail) = api(&server, &auditor, Method::GET, "/api/v1/audit?tenant=dongyuan&limit=1000", None).await;
    assert_eq!(status, 200, "{trail}");
    let lines = trail["items"].as_array().unwrap();
    let refused = |action: &str| lines.iter().filter(|e| e["action"] == action && e["result"] == "not_your_step").count();
    assert_eq!((refused("rename_channel"), refused("delete_channel")), (2, 2), "the refusals are not all in the trail: {trail}");
    let renamed = lines.iter().find(|e| e["action"] == "rename_channel" && e["result"] == "ok").expect("the rename is in the trail");
    assert_eq!((renamed["detail"].as_str(), renamed["target_id"].as_i64()), (Some("镇务动态"), Some(ids["gzdt"])));
}
