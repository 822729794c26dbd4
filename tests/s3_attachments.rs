//! Attachments in a two-node cluster stored in a real S3-compatible server
//! (moto's server, which `.ci/run` installs from PyPI and starts on
//! loopback; point `ZHANQUN_TEST_S3_ENDPOINT` at it, or at MinIO). An upload
//! through node 1 is served by node 2, and the object is in the bucket.
//!
//! Without `ZHANQUN_TEST_S3_ENDPOINT` the test says so and does nothing, so
//! that `cargo test` works on a machine with only the Rust toolchain.

mod common;

use std::time::Duration;

use common::client;
use common::cluster::Cluster;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_go_to_the_shared_bucket_and_every_node_serves_them() {
    let Ok(endpoint) = std::env::var("ZHANQUN_TEST_S3_ENDPOINT") else {
        eprintln!("SKIPPED: set ZHANQUN_TEST_S3_ENDPOINT to an S3-compatible server (.ci/run starts moto) to run the S3 test");
        return;
    };
    let bucket = format!("zhanqun-test-{}", std::process::id());
    let r = client().put(format!("{endpoint}/{bucket}")).send().await.expect("the S3 server answers");
    assert!(r.status().is_success(), "cannot create bucket {bucket}: {}", r.status());

    // The nodes read the usual AWS variables; moto takes any credentials.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "zhanqun-test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "zhanqun-test-secret");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let extra = ["--s3-bucket", bucket.as_str(), "--s3-endpoint", endpoint.as_str()];
    let cluster = Cluster::start(2, false, &extra).await;
    let admin = cluster.admin_token(1).await;
    let token = cluster.create_site(1, &admin, "s3site").await;

    let r = client()
        .post(format!("{}/api/v1/tenants/s3site/documents", cluster.base(1)))
        .bearer_auth(&token)
        .json(&json!({ "channel": "news", "title": "附件存于对象存储" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let doc: Value = r.json().await.unwrap();
    let id = doc["id"].as_i64().unwrap();

    let pdf: Vec<u8> = b"%PDF-1.4 zhanqun s3 test ".iter().copied().cycle().take(300_000).collect();
    let form = reqwest::multipart::Form::new()
        .text("document_id", id.to_string())
        .part("file", reqwest::multipart::Part::bytes(pdf.clone()).file_name("对象存储测试.pdf"));
    let r = client().post(format!("{}/api/v1/tenants/s3site/attachments", cluster.base(1))).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let att: Value = r.json().await.unwrap();
    let sha = att["sha256"].as_str().unwrap().to_string();

    let (status, headers, _) = common::review_and_publish(&cluster.base(1), &token, "s3site", id).await;
    assert_eq!(status, 200);
    let index = headers["x-zhanqun-index"].to_str().unwrap().to_string();

    // Node 2 serves the bytes from the bucket.
    let r = client()
        .get(format!("{}/sites/s3site/att/{}", cluster.base(2), att["id"]))
        .header("x-zhanqun-min-index", index)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), pdf.as_slice(), "node 2 serves the uploaded bytes");

    // And the object really is in the bucket, under its hash.
    let listing = client().get(format!("{endpoint}/{bucket}?list-type=2")).send().await.unwrap().text().await.unwrap();
    assert!(listing.contains(&sha), "the bucket lists the attachment's hash: {listing}");
}
