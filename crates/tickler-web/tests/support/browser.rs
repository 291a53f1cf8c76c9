//! Real headless Chromium driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`), for the browser tests.

use std::{
    net::TcpStream,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, wd::Capabilities};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const MISSING: &str = "chromium and chromium-driver are needed for the browser tests: \
     apt-get install chromium chromium-driver, or run scripts/test";
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a test waits for an element or a condition before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// A chromedriver process on a free port, in a process group of its own with the Chromium
/// it starts; the whole group is ended when this is dropped, so a failing test leaves no
/// browser behind.
pub struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    pub fn start() -> Chromedriver {
        let port = tickler_testkit::free_port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{CHROMEDRIVER} exited at start-up with {status}");
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{CHROMEDRIVER} did not listen on port {port} within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Chromedriver { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is the driver's pid: this ends the browsers it started too.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with its own fresh profile. The driver (and with it the
/// browser) is ended when this is dropped; call [`Browser::close`] to end the session first.
pub struct Browser {
    pub client: Client,
    driver: Chromedriver,
    _profile: tempfile::TempDir,
}

/// Whether the browser tests can run here. Without chromium they are skipped with a
/// message, except under CI, where a missing browser fails the test.
pub fn available() -> bool {
    let present = Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file();
    if !present {
        assert!(std::env::var_os("CI").is_none(), "{MISSING}");
        eprintln!("skipping the browser test: {MISSING}");
    }
    present
}

impl Browser {
    pub async fn start() -> Browser {
        tickler_mail::install_crypto_provider();
        let driver = Chromedriver::start();
        let profile = tempfile::tempdir().expect("temp dir for the browser profile");
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            // Without these Chromium's own connections are refused on a closed network.
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--window-size=1280,900".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::rustls()
            .expect("TLS roots for the WebDriver client")
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"));
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Logs in as `email` (a user made with [`super::TestApp::user`], whose password is
    /// [`super::PASSWORD`]) on the login page at `login_url`, and waits for the dashboard.
    pub async fn log_in(&self, login_url: &str, email: &str) {
        self.goto(login_url).await;
        self.fill("#email", email).await;
        self.fill("#password", super::PASSWORD).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
        self.wait_for_text("Log out").await;
    }

    /// Ends the browser session (the driver stops when this value is dropped).
    pub async fn close(self) {
        let Browser {
            client,
            driver,
            _profile,
        } = self;
        let _ = client.close().await;
        drop(driver);
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The path (and query) of the page the browser shows.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until the page's path starts with `prefix`.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = self.path().await;
            if path.starts_with(prefix) {
                return path;
            }
            assert!(
                Instant::now() < deadline,
                "expected to reach {prefix}, still on {path}:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on the page: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    /// Replaces the text of a field.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear a field");
        field.send_keys(value).await.expect("type into a field");
    }

    /// Sets a field's value the way a picker does (date and time fields take no typing in a
    /// locale-independent way), announcing it with `input` and `change` events.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.find(css).await;
        self.client
            .execute(
                "const f = document.querySelector(arguments[0]); f.value = arguments[1]; \
                 f.dispatchEvent(new Event('input', { bubbles: true })); \
                 f.dispatchEvent(new Event('change', { bubbles: true }));",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap_or_else(|e| panic!("cannot set {css}: {e}"));
    }

    /// Chooses the option with this value in a `<select>`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("cannot choose {value} in {css}: {e}"));
    }

    /// Scrolls so that the element is in view (before a screenshot).
    pub async fn scroll_to(&self, css: &str) {
        self.find(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({ block: 'end' });",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("cannot scroll to {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// The visible text of the whole page.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page's text contains `needle`, and returns the text.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "expected {needle:?} on {}, the page says:\n{text}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window (a phone is 390 pixels wide).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("cannot resize the window to {width}x{height}: {e}"));
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Types `keys` into whatever has the keyboard focus (the page itself if nothing does).
    pub async fn press(&self, keys: &str) {
        let target = match self.client.active_element().await {
            Ok(element) => element,
            Err(_) => self.find("body").await,
        };
        target
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("cannot type {keys:?}: {e}"));
    }

    /// The id of the element that has the keyboard focus.
    pub async fn focused_id(&self) -> String {
        self.client
            .execute(
                "const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : '';",
                vec![],
            )
            .await
            .expect("script")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Accepts the page's "are you sure?" dialog (`data-confirm`), which must start with
    /// `starts_with`.
    pub async fn accept_confirmation(&self, starts_with: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        let text = loop {
            match self.client.get_alert_text().await {
                Ok(text) => break text,
                Err(e) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no confirmation dialog: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        assert!(text.starts_with(starts_with), "dialog: {text}");
        self.client.accept_alert().await.expect("accept");
    }

    /// Saves a PNG of the window as `target/screenshots/NAME.png`; with
    /// `TICKLER_UPDATE_SCREENSHOTS=1`, also as `docs/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("write screenshot");
        if std::env::var_os("TICKLER_UPDATE_SCREENSHOTS").is_some() {
            let docs = workspace().join("docs/screenshots");
            std::fs::create_dir_all(&docs).expect("docs/screenshots");
            std::fs::write(docs.join(format!("{name}.png")), &png).expect("write screenshot");
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/screenshots` in the build's target folder (`CARGO_TARGET_DIR` if set).
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("screenshots")
}
