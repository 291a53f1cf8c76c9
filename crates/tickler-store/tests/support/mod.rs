//! A fresh database per test, on SQLite (a file in a temporary directory) and on PostgreSQL
//! (a new database on the server of `TICKLER_TEST_POSTGRES_URL`, dropped afterwards), and
//! the rows most tests need.

// Each test file uses some of these helpers.
#![allow(dead_code)]

use std::future::Future;

use jiff::{Timestamp, ToSpan, civil::Date};
use tickler_core::{
    language::Language,
    plan::{Mode, default_renewal_plan},
    subject::SubjectRef,
    user::Role,
};
use tickler_store::{
    Db, Store, contracts, customers,
    customers::NewCustomer,
    plans,
    reminders::{self, NewReminder, ReminderKind},
    users,
};
use tickler_testkit::postgres::FreshDatabase;

/// Writes each store test once, as `async fn NAME(store: Store)`, and runs it on both
/// backends: `sqlite_NAME` and `postgres_NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident => $sqlite:ident, $postgres:ident;)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $sqlite() {
                support::run_sqlite($test).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $postgres() {
                support::run_postgres($test).await;
            }
        )+
    };
}

/// Runs `test` on a new SQLite file, deleted with its directory afterwards.
pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("a temporary directory for the SQLite file");
    let url = format!("sqlite://{}", dir.path().join("tickler.db").display());
    let store = Store::open(&url).await.expect("open a fresh SQLite store");
    let outcome = tokio::spawn(test(store.clone())).await;
    store.close().await;
    drop(dir);
    rethrow(outcome);
}

/// Runs `test` on a new PostgreSQL database, dropped afterwards (even when the test fails).
/// Without a server: fails under `CI`, else says so loudly and passes.
pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = FreshDatabase::create("tickler_test") else {
        return;
    };
    let store = Store::open(database.url())
        .await
        .unwrap_or_else(|e| panic!("open the fresh PostgreSQL store {}: {e}", database.url()));
    let outcome = tokio::spawn(test(store.clone())).await;
    store.close().await;
    drop(database);
    rethrow(outcome);
}

fn rethrow(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the test task did not finish: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Data

/// A fixed "now": 2027-01-15T08:00:00Z.
pub const T0_SECONDS: i64 = 1_800_000_000;

pub fn t0() -> Timestamp {
    Timestamp::from_second(T0_SECONDS).expect("a valid instant")
}

/// `t0` plus (or minus) some minutes.
pub fn at_minutes(minutes: i64) -> Timestamp {
    t0().checked_add(minutes.minutes()).expect("in range")
}

pub fn at_hours(hours: i64) -> Timestamp {
    t0().checked_add(hours.hours()).expect("in range")
}

pub fn at_days(days: i64) -> Timestamp {
    at_hours(days * 24)
}

pub fn date(text: &str) -> Date {
    text.parse().expect("a date")
}

/// A user, a customer, the renewal plan and one contract.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    pub owner_id: i64,
    pub customer_id: i64,
    pub plan_id: i64,
    pub contract_id: i64,
}

pub async fn fixture(store: &Store) -> Fixture {
    let mut tx = store.begin().await.expect("begin");
    let owner_id = users::insert(
        &mut tx,
        "owner@tickler.test",
        "Olive Owner",
        Role::Sales,
        None,
        t0(),
    )
    .await
    .expect("insert owner");
    let customer_id = customers::insert(
        &mut tx,
        &NewCustomer {
            name: "Acme Boilers",
            emails: &["office@acme.test".to_string()],
            language: Language::En,
            time_zone: Some("Europe/Athens"),
        },
        t0(),
    )
    .await
    .expect("insert customer");
    let plan_id = plans::ensure(&mut tx, &default_renewal_plan(), t0())
        .await
        .expect("ensure plan");
    let fixture = Fixture {
        owner_id,
        customer_id,
        plan_id,
        contract_id: 0,
    };
    let contract_id = add_contract(&mut tx, &fixture, "Boiler maintenance").await;
    tickler_store::commit(tx).await.expect("commit fixture");
    Fixture {
        contract_id,
        ..fixture
    }
}

pub async fn add_contract(db: &mut Db, fixture: &Fixture, title: &str) -> i64 {
    contracts::insert(
        db,
        &contracts::NewContract {
            customer_id: fixture.customer_id,
            title,
            owner_id: Some(fixture.owner_id),
            plan_id: fixture.plan_id,
            start_date: date("2026-03-01"),
            end_date: date("2027-02-28"),
            amount_minor: Some(120_000),
            currency: Some("EUR"),
            custom_fields: &serde_json::Map::new(),
            renewal: tickler_core::renewal::RenewalType::Expires,
            notice_days: None,
        },
        t0(),
    )
    .await
    .expect("insert contract")
    .0
}

/// One auto step reminder of (contract, term), to the customer with the owner in CC.
pub async fn add_step(
    db: &mut Db,
    contract_id: i64,
    term_number: i32,
    step_key: &str,
    position: i32,
    send_at: Timestamp,
) -> i64 {
    add_reminder(
        db,
        contract_id,
        term_number,
        step_key,
        position,
        Mode::Auto,
        send_at,
    )
    .await
}

pub async fn add_reminder(
    db: &mut Db,
    contract_id: i64,
    term_number: i32,
    step_key: &str,
    position: i32,
    mode: Mode,
    send_at: Timestamp,
) -> i64 {
    let message_id = format!("<{contract_id}.{term_number}.{step_key}@tickler.test>");
    let about = term_ref(db, contract_id, term_number).await;
    reminders::insert(
        db,
        &NewReminder {
            about,
            anchor: Some(tickler_core::plan::Anchor::EndDate),
            contract_id: Some(contract_id),
            kind: ReminderKind::Step,
            step_key,
            position,
            label: step_key,
            template: step_key,
            offset_days: -30,
            mode,
            send_at,
            to: &["office@acme.test".to_string()],
            cc: &["owner@tickler.test".to_string()],
            subject: None,
            body: None,
            message_id: &message_id,
        },
        t0(),
    )
    .await
    .expect("insert reminder")
}

/// The subject of a contract's term `term_number`, its row added (with the contract's dates)
/// when the test did not start that term through the store.
pub async fn term_ref(db: &mut Db, contract_id: i64, term_number: i32) -> SubjectRef {
    let find = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM contract_terms WHERE contract_id = $1 AND term_number = $2",
        )
        .bind(contract_id)
        .bind(i64::from(term_number))
    };
    if let Some(id) = find().fetch_optional(&mut *db).await.expect("find term") {
        return SubjectRef::contract_term(id);
    }
    sqlx::query(
        "INSERT INTO contract_terms (contract_id, term_number, start_date, end_date, created_at) \
         SELECT id, $2, start_date, end_date, created_at FROM contracts WHERE id = $1",
    )
    .bind(contract_id)
    .bind(i64::from(term_number))
    .execute(&mut *db)
    .await
    .expect("add term");
    SubjectRef::contract_term(find().fetch_one(db).await.expect("added term"))
}
