//! A real headless Chromium, driven over WebDriver (Debian's `chromium`
//! and `chromium-driver`; `.ci/run` installs them). Plain HTTP and JSON:
//! the W3C protocol needs no client library.
//!
//! Every wait has a deadline and fails saying what it waited for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// How long a page or an element may take to appear on a loaded 2-core
/// machine (a debug build renders an editor in well under a second).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A `chromedriver` process; each [`Browser`] is one session of it (its
/// own Chromium, its own profile, its own cookies).
pub struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

/// Where the tests find Chromium and its driver, or why not.
pub fn installed() -> Result<(PathBuf, PathBuf), String> {
    let find = |names: &[&str]| names.iter().map(PathBuf::from).find(|p| p.exists());
    let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]);
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Ok((c, d)),
        _ => Err("Chromium and chromedriver are needed: `apt-get install chromium chromium-driver` (.ci/run does this)".into()),
    }
}

impl Driver {
    pub async fn start() -> Driver {
        let (_, driver) = installed().unwrap_or_else(|e| panic!("{e}"));
        let port = super::free_port();
        let child = Command::new(driver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("chromedriver runs");
        let d = Driver { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = http().get(format!("{}/status", d.base)).send().await
                && r.status() == 200
            {
                return d;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer /status within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new Chromium with an empty profile, at `width`×`height`.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let (chromium, _) = installed().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                    format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let r: Value = http().post(format!("{}/session", self.base)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("chromedriver did not start Chromium: {r}")).to_string();
        let b = Browser { session: format!("{}/session/{id}", self.base), _profile: profile };
        b.resize(width, height).await;
        b
    }
}

/// One Chromium window.
pub struct Browser {
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends its Chromium; best effort on the way out.
        let url = self.session.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async { http().delete(url).send().await })
        })
        .join();
    }
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = http().request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let v: Value = r.json().await.unwrap();
        v["value"].clone()
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let v = self.call(method.clone(), path, body).await;
        assert!(v.get("error").is_none(), "WebDriver {method} {path} failed: {v}");
        v
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.ok(reqwest::Method::POST, "/window/rect", Some(json!({ "width": width, "height": height }))).await;
    }

    pub async fn goto(&self, url: &str) {
        self.ok(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.ok(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The element `css` names, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
            if let Some(id) = v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).filter(|_| v.get("error").is_none()) {
                return id.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no element `{css}` appeared within {PATIENCE:?} on {}; the page says:\n{}",
                self.url().await,
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        let v = self.call(reqwest::Method::POST, "/elements", Some(json!({ "using": "css selector", "value": css }))).await;
        v.as_array().is_some_and(|a| !a.is_empty())
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.ok(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    /// Clicks what submits a form or follows a link, and waits until the
    /// next page has loaded (so a `goto` after it cannot race the answer).
    pub async fn click_through(&self, css: &str) {
        self.run("window.__zqLeaving = true;", json!([])).await;
        self.click(css).await;
        self.wait_until("the next page to load", "return !window.__zqLeaving && document.readyState === 'complete';", json!([])).await;
    }

    /// Types `text` into the field `css` names, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.ok(reqwest::Method::POST, &format!("/element/{el}/clear"), Some(json!({}))).await;
        self.ok(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    /// Chooses a file for an `<input type=file>`.
    pub async fn choose_file(&self, css: &str, file: &Path) {
        let el = self.find(css).await;
        self.ok(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": file.display().to_string() }))).await;
    }

    /// The visible text of the first element `css` names ("" if none).
    pub async fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        self.run(script, json!([css])).await.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` in the page with `args`; its return value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.ok(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Presses Tab once, as a keyboard user moves the focus.
    pub async fn press_tab(&self) {
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [{ "type": "keyDown", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E004}" }] }] });
        self.ok(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// Runs `script` in the page as an async script: it calls its last
    /// argument with the result.
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.ok(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": args }))).await
    }

    /// Waits until `script` returns something truthy; fails naming `what`.
    pub async fn wait_until(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.run(script, args.clone()).await;
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what} on {}; the page says:\n{}", self.url().await, self.text("body").await);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits for the page text to contain `needle`.
    pub async fn wait_text(&self, needle: &str) {
        self.wait_until(&format!("the page to say “{needle}”"), "return document.body && document.body.innerText.includes(arguments[0]);", json!([needle]))
            .await;
    }

    /// The value of a cookie of this page (HttpOnly ones too).
    pub async fn cookie(&self, name: &str) -> Option<Value> {
        let v = self.call(reqwest::Method::GET, &format!("/cookie/{name}"), None).await;
        (v.get("error").is_none()).then_some(v)
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let v = self.ok(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

// The workbench as the demo's people use it.

/// The password `--demo` gives the sites' own accounts in the browser tests.
pub const DEMO_PASSWORD: &str = "Demo-Pass-2026x";

/// Where the screenshots go, for people to look at.
pub fn screens() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("workbench-screens")
}

/// Saves the window at the desktop and the phone size the issue names.
pub async fn shoot(b: &Browser, name: &str) {
    for (w, h) in [(1024, 768), (390, 844)] {
        b.resize(w, h).await;
        b.screenshot(&screens().join(format!("{name}-{w}x{h}.png"))).await;
    }
    b.resize(1024, 768).await;
}

/// `serve --demo` with the demo accounts' password known.
pub async fn start_demo(dir: &tempfile::TempDir) -> super::Server {
    super::Server::start_with_env(&dir.path().join("data"), super::free_port(), &["--demo"], &[("ZHANQUN_DEMO_PASSWORD", DEMO_PASSWORD)]).await
}

/// Logs one of the demo's site accounts in, at the workbench's home.
pub async fn log_in(b: &Browser, server: &super::Server, username: &str) {
    b.goto(&server.url("/admin/")).await;
    b.fill("#username", username).await;
    b.fill("#password", DEMO_PASSWORD).await;
    b.click_through("button[type=submit]").await;
    b.wait_text("我的待办").await;
}
