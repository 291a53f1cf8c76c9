//! A real Tickler web app on a loopback port, on a real SQLite file (or a fresh PostgreSQL
//! database with `TICKLER_TEST_BACKEND=postgres`), driven over real HTTP.

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use reqwest::{Client, Response, StatusCode, redirect::Policy};
use tickler_core::{
    backoff::RetryPolicy,
    clock::{Clock, FixedClock, SystemClock},
    time_zone::Zone,
    user::Role,
};
use tickler_engine::{
    Actor, Engine, Settings,
    contracts::ContractInput,
    directory::{NewCustomer, NewUser},
};
use tickler_mail::{MailConfig, Mailer, Sender};
use tickler_store::Store;
use tickler_web::WebConfig;

pub const PASSWORD: &str = "a long enough password";

/// A clock a test moves by hand: now stays put until the test says time has passed.
#[derive(Debug)]
pub struct SettableClock(std::sync::Mutex<jiff::Timestamp>);

impl SettableClock {
    pub fn at(now: &str) -> Arc<SettableClock> {
        Arc::new(SettableClock(std::sync::Mutex::new(
            now.parse().expect("an instant"),
        )))
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.0.lock().expect("clock");
        *now = now.checked_add(by).expect("a later instant");
    }
}

impl Clock for SettableClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().expect("clock")
    }
}

pub struct TestApp {
    pub base: String,
    pub engine: Engine,
    /// The app's database, for fixtures the engine has no use case for (and to close it).
    pub store: Store,
    pub dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    /// Dropped after the server: the database the app runs on, on PostgreSQL.
    _postgres: Option<tickler_testkit::postgres::FreshDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn settings() -> Settings {
    Settings {
        organisation_name: "Firm Maintenance Ltd".to_string(),
        default_time_zone: Zone::parse("tz", "Europe/Athens").expect("zone"),
        mail_from: Sender::parse("Renewals <renewals@firm.example>").expect("sender"),
        worker_id: "test".to_string(),
        lease: Duration::from_secs(60),
        batch_size: 50,
        concurrency: 2,
        retry: RetryPolicy::default(),
        poll_interval: Duration::from_secs(30),
        public_url: None,
    }
}

impl TestApp {
    /// Mail goes to an outbox folder in the app's temporary directory.
    pub async fn start() -> TestApp {
        TestApp::start_with(None, WebConfig::default()).await
    }

    pub async fn start_with(smtp_url: Option<String>, web: WebConfig) -> TestApp {
        TestApp::start_on(smtp_url, web, Arc::new(SystemClock)).await
    }

    /// The app as of `now`, a clock that never moves: pages, schedules and sessions all
    /// read it, so a test can assert on relative times ("in 3 days").
    pub async fn start_at(now: jiff::Timestamp) -> TestApp {
        TestApp::start_on(None, WebConfig::default(), Arc::new(FixedClock(now))).await
    }

    pub async fn start_on(
        smtp_url: Option<String>,
        web: WebConfig,
        clock: Arc<dyn Clock>,
    ) -> TestApp {
        TestApp::start_serving(smtp_url, web, clock, false).await
    }

    /// The app as of `now`, with the customer's one-click links pointing at itself (as
    /// `TICKLER_PUBLIC_URL` makes them point at `serve`).
    pub async fn start_linked_at(now: jiff::Timestamp) -> TestApp {
        TestApp::start_serving(None, WebConfig::default(), Arc::new(FixedClock(now)), true).await
    }

    async fn start_serving(
        smtp_url: Option<String>,
        web: WebConfig,
        clock: Arc<dyn Clock>,
        linked: bool,
    ) -> TestApp {
        tickler_mail::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = tickler_testkit::postgres::FreshDatabase::for_suite("tickler_web");
        let url = match &postgres {
            Some(database) => database.url().to_string(),
            None => format!("sqlite://{}", dir.path().join("tickler.db").display()),
        };
        let store = Store::open(&url).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let settings = Settings {
            public_url: linked.then(|| base.clone()),
            ..settings()
        };
        let mailer = Mailer::new(&MailConfig {
            smtp_url,
            outbox_dir: dir.path().join("outbox"),
            from: settings.mail_from.clone(),
            timeout: Duration::from_secs(10),
            dkim: None,
            ca: None,
        })
        .expect("mailer");
        let engine = Engine::new(store.clone(), mailer, clock, settings);
        engine.ensure_default_plan().await.expect("default plan");
        let app = tickler_web::router(engine.clone(), web);
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        TestApp {
            base,
            engine,
            store,
            dir,
            server,
            _postgres: postgres,
        }
    }

    /// The default `renewal` plan's id (the subscription and dunning plans exist beside it).
    pub async fn renewal_plan_id(&self) -> i64 {
        self.engine
            .list_plans()
            .await
            .expect("plans")
            .into_iter()
            .find(|p| p.name == "renewal")
            .expect("the renewal plan")
            .id
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A user who can log in with [`PASSWORD`].
    pub async fn user(&self, email: &str, role: Role) -> i64 {
        let actor = Actor::system();
        let id = self
            .engine
            .add_user(
                NewUser {
                    email: email.to_string(),
                    name: email.split('@').next().unwrap_or(email).to_string(),
                    role,
                    password_hash: None,
                },
                &actor,
            )
            .await
            .expect("add user");
        self.engine
            .set_password(id, PASSWORD, &actor)
            .await
            .expect("password");
        // No morning digest: tests count the messages the server receives, and the digest
        // has tests of its own.
        self.engine
            .update_user(
                id,
                tickler_engine::settings::UserChanges {
                    name: email.split('@').next().unwrap_or(email),
                    role,
                    active: true,
                    time_zone: None,
                    language: None,
                    digest: Some(tickler_core::digest::DigestFrequency::Off),
                    digest_time: None,
                },
                &actor,
            )
            .await
            .expect("digest off");
        id
    }

    pub async fn customer(&self, name: &str, email: &str, language: &str, zone: &str) -> i64 {
        self.engine
            .add_customer(
                NewCustomer {
                    name: name.to_string(),
                    emails: vec![email.to_string()],
                    language: language.parse().expect("language"),
                    time_zone: Some(zone.to_string()),
                },
                &Actor::system(),
            )
            .await
            .expect("add customer")
    }

    pub async fn contract(
        &self,
        customer: i64,
        title: &str,
        end: &str,
        owner: Option<&str>,
    ) -> i64 {
        self.engine
            .add_contract(
                ContractInput {
                    customer_id: customer,
                    title: title.to_string(),
                    start: "2026-01-01".to_string(),
                    end: end.to_string(),
                    owner_email: owner.map(str::to_string),
                    amount: Some("1200.00".to_string()),
                    currency: Some("EUR".to_string()),
                    ..ContractInput::default()
                },
                &Actor::system(),
            )
            .await
            .expect("add contract")
    }

    /// A "Managed backup" recurring sale for `customer` from `start`: EUR 100.00 + 24% a
    /// month for twelve months, paid within 14 days, its invoices drafts when `drafts`. Not
    /// billed yet.
    pub async fn monthly_sale(&self, customer: i64, start: &str, owner: &str, drafts: bool) -> i64 {
        self.engine
            .add_contract(
                ContractInput {
                    customer_id: customer,
                    title: "Managed backup".to_string(),
                    start: start.to_string(),
                    end: String::new(),
                    owner_email: Some(owner.to_string()),
                    currency: Some("EUR".to_string()),
                    billing: Some(tickler_engine::billing::BillingInput {
                        every: "1m".to_string(),
                        cycles: Some("12".to_string()),
                        lines: vec!["Managed backup|1|100.00|24".to_string()],
                        in_arrears: false,
                        draft_invoices: drafts,
                        payment_days: Some("14".to_string()),
                    }),
                    ..ContractInput::default()
                },
                &Actor::system(),
            )
            .await
            .expect("a recurring sale")
    }

    /// `contract`'s reminder for `step`.
    pub async fn reminder_of(
        &self,
        contract: i64,
        step: &str,
    ) -> tickler_engine::review::ReminderView {
        self.engine
            .list_reminders(&tickler_engine::browse::ReminderFilter {
                contract_id: Some(contract),
                ..Default::default()
            })
            .await
            .expect("reminders")
            .into_iter()
            .find(|r| r.step == step)
            .unwrap_or_else(|| panic!("no reminder {step}"))
    }

    /// The version a "Send now" form carries for a scheduled reminder: its wording as of
    /// the app's now.
    pub async fn send_now_version(&self, id: i64) -> String {
        self.engine
            .reminder(id)
            .await
            .expect("reminder")
            .if_sent_now
            .expect("a scheduled reminder")
            .version
    }

    /// A browser-like client (cookies kept, redirects not followed) logged in as `email`.
    pub async fn login(&self, email: &str) -> Client {
        let client = client();
        let page = client
            .get(self.url("/login"))
            .send()
            .await
            .expect("GET /login");
        let csrf = csrf_of(&page.text().await.expect("login page"));
        let response = client
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "login as {email} failed"
        );
        client
    }
}

pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// The form token in a page (every logged-in page has one in its logout form).
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no form token in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("token end") + start;
    html[start..end].to_string()
}

/// GETs `path` and returns its status and body.
pub async fn get(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.expect("GET");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// POSTs a form to `path` with the session's form token taken from `token_page` first.
pub async fn post(
    client: &Client,
    app: &TestApp,
    token_page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    let (_, html) = get(client, app, token_page).await;
    let csrf = csrf_of(&html);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .expect("POST")
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub mod api;
pub mod browser;
pub mod openapi;

/// An admin (ada@firm.example) logged in.
pub async fn admin(app: &TestApp) -> Client {
    app.user("ada@firm.example", Role::Admin).await;
    app.login("ada@firm.example").await
}

/// The target of the link whose text is `text`, with HTML entities decoded.
pub fn href_of(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let len = html[start..].find('"')?;
    Some(
        html[start..start + len]
            .replace("&amp;", "&")
            .replace("&#38;", "&"),
    )
}
