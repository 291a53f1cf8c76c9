//! The store's behaviour, each test written once and run on SQLite and on PostgreSQL, each
//! on a fresh database.

mod support;

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use tickler_core::{
    event::{EventAction, EventSubject},
    language::Language,
    plan::{Mode, RENEWAL_PLAN, default_renewal_plan},
    reminder::ReminderStatus,
    user::Role,
};
use tickler_store::{
    Backend, Store, StoreError, contracts,
    contracts::ContractStatus,
    customers::{self, NewCustomer},
    events, jobs, plans,
    reminders::{self, Edit, Lease, ReminderFilter, ReminderKind, SentRecord},
    sessions, settings, users,
};

use support::{
    add_contract, add_reminder, add_step, at_days, at_hours, at_minutes, date, fixture, t0,
};

on_both_backends! {
    migrations_apply_and_reapply => sqlite_migrations_apply_and_reapply, postgres_migrations_apply_and_reapply;
    users_round_trip => sqlite_users_round_trip, postgres_users_round_trip;
    a_sessions_notice_is_taken_once => sqlite_a_sessions_notice_is_taken_once, postgres_a_sessions_notice_is_taken_once;
    a_new_setting_is_inserted_once => sqlite_a_new_setting_is_inserted_once, postgres_a_new_setting_is_inserted_once;
    customers_have_several_addresses => sqlite_customers_have_several_addresses, postgres_customers_have_several_addresses;
    duplicate_customer_address_is_a_conflict => sqlite_duplicate_customer_address_is_a_conflict, postgres_duplicate_customer_address_is_a_conflict;
    plans_ensure_is_idempotent_and_round_trips => sqlite_plans_ensure_is_idempotent_and_round_trips, postgres_plans_ensure_is_idempotent_and_round_trips;
    contracts_round_trip_and_page => sqlite_contracts_round_trip_and_page, postgres_contracts_round_trip_and_page;
    contract_terms => sqlite_contract_terms, postgres_contract_terms;
    reminders_round_trip => sqlite_reminders_round_trip, postgres_reminders_round_trip;
    reminders_list_filters_and_order => sqlite_reminders_list_filters_and_order, postgres_reminders_list_filters_and_order;
    due_between_is_the_pending_of_a_window => sqlite_due_between_is_the_pending_of_a_window, postgres_due_between_is_the_pending_of_a_window;
    apply_edit_only_on_scheduled => sqlite_apply_edit_only_on_scheduled, postgres_apply_edit_only_on_scheduled;
    reschedule_and_close_are_guarded => sqlite_reschedule_and_close_are_guarded, postgres_reschedule_and_close_are_guarded;
    claim_due_claims_only_due_timed_scheduled => sqlite_claim_due_claims_only_due_timed_scheduled, postgres_claim_due_claims_only_due_timed_scheduled;
    claim_due_respects_the_limit_and_never_claims_twice => sqlite_claim_due_respects_the_limit_and_never_claims_twice, postgres_claim_due_respects_the_limit_and_never_claims_twice;
    claim_due_supersedes_overdue_earlier_steps => sqlite_claim_due_supersedes_overdue_earlier_steps, postgres_claim_due_supersedes_overdue_earlier_steps;
    claim_one_claims_early => sqlite_claim_one_claims_early, postgres_claim_one_claims_early;
    stale_attempts_change_nothing => sqlite_stale_attempts_change_nothing, postgres_stale_attempts_change_nothing;
    completions_record_the_outcome => sqlite_completions_record_the_outcome, postgres_completions_record_the_outcome;
    expired_leases_are_taken_over => sqlite_expired_leases_are_taken_over, postgres_expired_leases_are_taken_over;
    next_wake_up_is_the_earliest_due => sqlite_next_wake_up_is_the_earliest_due, postgres_next_wake_up_is_the_earliest_due;
    events_for_contract => sqlite_events_for_contract, postgres_events_for_contract;
    concurrent_claimers_never_share_a_reminder => sqlite_concurrent_claimers_never_share_a_reminder, postgres_concurrent_claimers_never_share_a_reminder;
    concurrent_catch_up_sends_only_the_latest_steps => sqlite_concurrent_catch_up_sends_only_the_latest_steps, postgres_concurrent_catch_up_sends_only_the_latest_steps;
    recurring_job_runs_once_per_period => sqlite_recurring_job_runs_once_per_period, postgres_recurring_job_runs_once_per_period;
    recurring_job_runs_are_claimed_once_by_concurrent_instances => sqlite_recurring_job_runs_are_claimed_once_by_concurrent_instances, postgres_recurring_job_runs_are_claimed_once_by_concurrent_instances;
}

fn lease(worker: &str, until: Timestamp) -> Lease<'_> {
    Lease { worker, until }
}

async fn count(store: &Store, table: &str) -> i64 {
    let mut conn = store.conn().await.expect("conn");
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

/// Claims in one committed transaction, as the dispatcher does.
async fn claim(
    store: &Store,
    now: Timestamp,
    worker: &str,
    limit: i64,
) -> Vec<reminders::Reminder> {
    let mut tx = store.begin().await.expect("begin");
    let claimed = reminders::claim_due(
        &mut tx,
        store.backend(),
        now,
        &lease(worker, now + jiff::SignedDuration::from_mins(5)),
        limit,
    )
    .await
    .expect("claim_due");
    tickler_store::commit(tx).await.expect("commit claim");
    claimed
}

async fn get(store: &Store, id: i64) -> reminders::Reminder {
    let mut conn = store.conn().await.expect("conn");
    reminders::get(&mut conn, id).await.expect("get reminder")
}

fn ids(reminders: &[reminders::Reminder]) -> Vec<i64> {
    reminders.iter().map(|r| r.id).collect()
}

// ---------------------------------------------------------------------------------------

async fn migrations_apply_and_reapply(store: Store) {
    for table in [
        "users",
        "customers",
        "customer_emails",
        "plans",
        "plan_steps",
        "contracts",
        "contract_terms",
        "reminders",
        "events",
    ] {
        assert_eq!(count(&store, table).await, 0, "{table} starts empty");
    }
    let applied = count(&store, "_sqlx_migrations").await;
    assert!(applied >= 1);
    store.migrate().await.expect("migrations re-apply");
    store.migrate().await.expect("migrations re-apply twice");
    assert_eq!(count(&store, "_sqlx_migrations").await, applied);
    // Opening an already migrated database works too.
    fixture(&store).await;
    store
        .migrate()
        .await
        .expect("re-apply on a database with rows");
    assert_eq!(count(&store, "contracts").await, 1);
}

async fn a_sessions_notice_is_taken_once(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let user = users::insert(
        &mut conn,
        "ada@example.test",
        "Ada",
        Role::Admin,
        None,
        t0(),
    )
    .await
    .unwrap();
    let later = t0() + jiff::SignedDuration::from_hours(1);
    sessions::insert(&mut conn, "hash", user, "csrf", t0(), later)
        .await
        .unwrap();
    let live = sessions::find_live(&mut conn, "hash", t0()).await.unwrap();
    assert_eq!(live.expect("live").notice, None);

    sessions::set_notice(&mut conn, "hash", "Contract entered.")
        .await
        .unwrap();
    let live = sessions::find_live(&mut conn, "hash", t0()).await.unwrap();
    let notice = live.expect("live").notice.expect("a notice");
    assert_eq!(notice, "Contract entered.");
    assert!(
        !sessions::take_notice(&mut conn, "hash", "Other text")
            .await
            .unwrap()
    );
    assert!(
        sessions::take_notice(&mut conn, "hash", &notice)
            .await
            .unwrap()
    );
    assert!(
        !sessions::take_notice(&mut conn, "hash", &notice)
            .await
            .unwrap(),
        "a second request does not show it again"
    );
    let live = sessions::find_live(&mut conn, "hash", t0()).await.unwrap();
    assert_eq!(live.expect("live").notice, None);
}

async fn a_new_setting_is_inserted_once(store: Store) {
    let mut conn = store.conn().await.unwrap();
    assert!(
        settings::insert_new(&mut conn, "setup_done", "first", t0())
            .await
            .unwrap()
    );
    assert!(
        !settings::insert_new(&mut conn, "setup_done", "second", t0())
            .await
            .unwrap()
    );
    assert_eq!(
        settings::get(&mut conn, "setup_done")
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(settings::get(&mut conn, "nothing").await.unwrap(), None);
    assert_eq!(
        settings::get_or_insert(&mut conn, "setup_done", "third", t0())
            .await
            .unwrap(),
        "first"
    );
    drop(conn);

    // Two transactions claiming one key: the second waits for the first, then loses.
    let mut first = store.begin().await.unwrap();
    assert!(
        settings::insert_new(&mut first, "claim", "first", t0())
            .await
            .unwrap()
    );
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let won = settings::insert_new(&mut tx, "claim", "second", t0())
                .await
                .unwrap();
            tickler_store::commit(tx).await.unwrap();
            won
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tickler_store::commit(first).await.unwrap();
    assert!(
        !second.await.unwrap(),
        "the second claim finds the key taken"
    );
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        settings::get(&mut conn, "claim").await.unwrap().as_deref(),
        Some("first")
    );
}

async fn users_round_trip(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let id = users::insert(
        &mut conn,
        "Ada@Example.test",
        "Ada",
        Role::Admin,
        Some("$argon2id$stub"),
        t0(),
    )
    .await
    .unwrap();
    let viewer = users::insert(
        &mut conn,
        "vic@example.test",
        "Vic",
        Role::Viewer,
        None,
        t0(),
    )
    .await
    .unwrap();
    assert_ne!(id, viewer);

    let ada = users::get(&mut conn, id).await.unwrap();
    assert_eq!(ada.email, "Ada@Example.test");
    assert_eq!(ada.name, "Ada");
    assert_eq!(ada.role, Role::Admin);
    assert!(ada.active);
    assert_eq!(
        users::get(&mut conn, viewer).await.unwrap().role,
        Role::Viewer
    );

    let found = users::find_by_email(&mut conn, "ADA@example.TEST")
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(id));
    assert!(
        users::find_by_email(&mut conn, "nobody@example.test")
            .await
            .unwrap()
            .is_none()
    );

    let again = users::insert(
        &mut conn,
        "Ada@Example.test",
        "Ada 2",
        Role::Sales,
        None,
        t0(),
    )
    .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert!(matches!(
        users::get(&mut conn, 9_999).await,
        Err(StoreError::NotFound { what: "user", .. })
    ));
}

async fn customers_have_several_addresses(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let emails = vec![
        "Office@Acme.test".to_string(),
        "billing@acme.test".to_string(),
        "ceo@acme.test".to_string(),
    ];
    let id = customers::insert(
        &mut conn,
        &NewCustomer {
            name: "Acme",
            emails: &emails,
            language: Language::Ja,
            time_zone: Some("Asia/Tokyo"),
        },
        t0(),
    )
    .await
    .unwrap();
    let other = customers::insert(
        &mut conn,
        &NewCustomer {
            name: "Zenith",
            emails: &["zenith@example.test".to_string()],
            language: Language::El,
            time_zone: None,
        },
        t0(),
    )
    .await
    .unwrap();

    let acme = customers::get(&mut conn, id).await.unwrap();
    assert_eq!(acme.name, "Acme");
    assert_eq!(
        acme.emails,
        ["office@acme.test", "billing@acme.test", "ceo@acme.test"],
        "in the order given, stored lower case"
    );
    assert_eq!(acme.language, Language::Ja);
    assert_eq!(acme.time_zone.as_deref(), Some("Asia/Tokyo"));
    let zenith = customers::get(&mut conn, other).await.unwrap();
    assert_eq!(zenith.language, Language::El);
    assert_eq!(zenith.time_zone, None);

    for address in [
        "office@acme.test",
        "OFFICE@ACME.TEST",
        "Billing@Acme.Test",
        "ceo@acme.test",
    ] {
        assert_eq!(
            customers::find_by_email(&mut conn, address).await.unwrap(),
            Some(id),
            "{address}"
        );
    }
    assert_eq!(
        customers::find_by_email(&mut conn, "Zenith@example.test")
            .await
            .unwrap(),
        Some(other)
    );
    assert_eq!(
        customers::find_by_email(&mut conn, "x@acme.test")
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        customers::get(&mut conn, 9_999).await,
        Err(StoreError::NotFound {
            what: "customer",
            ..
        })
    ));
}

async fn duplicate_customer_address_is_a_conflict(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let first = customers::insert(
        &mut conn,
        &NewCustomer {
            name: "Acme",
            emails: &["office@acme.test".to_string()],
            language: Language::En,
            time_zone: None,
        },
        t0(),
    )
    .await
    .unwrap();
    drop(conn);

    // In a transaction, as the engine does: the conflict rolls the whole customer back.
    let mut tx = store.begin().await.unwrap();
    let result = customers::insert(
        &mut tx,
        &NewCustomer {
            name: "Acme again",
            emails: &["new@acme.test".to_string(), "Office@ACME.test".to_string()],
            language: Language::En,
            time_zone: None,
        },
        t0(),
    )
    .await;
    match result {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("Office@ACME.test"), "{message}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);

    // The same address twice in one customer is a conflict too.
    let mut tx = store.begin().await.unwrap();
    let twice = customers::insert(
        &mut tx,
        &NewCustomer {
            name: "Echo",
            emails: &[
                "echo@example.test".to_string(),
                "ECHO@example.test".to_string(),
            ],
            language: Language::En,
            time_zone: None,
        },
        t0(),
    )
    .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    drop(tx);

    let mut conn = store.conn().await.unwrap();
    assert_eq!(count(&store, "customers").await, 1);
    assert_eq!(count(&store, "customer_emails").await, 1);
    assert_eq!(
        customers::find_by_email(&mut conn, "office@acme.test")
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        customers::find_by_email(&mut conn, "new@acme.test")
            .await
            .unwrap(),
        None
    );
}

async fn plans_ensure_is_idempotent_and_round_trips(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let plan = default_renewal_plan();
    assert_eq!(plans::find_id(&mut conn, RENEWAL_PLAN).await.unwrap(), None);
    let id = plans::ensure(&mut conn, &plan, t0()).await.unwrap();
    let again = plans::ensure(&mut conn, &plan, at_days(1)).await.unwrap();
    assert_eq!(id, again);
    assert_eq!(
        plans::find_id(&mut conn, RENEWAL_PLAN).await.unwrap(),
        Some(id)
    );
    assert_eq!(count(&store, "plans").await, 1);
    assert_eq!(count(&store, "plan_steps").await, plan.steps.len() as i64);

    let stored = plans::get(&mut conn, id).await.unwrap();
    assert_eq!(stored, plan);

    // A plan with other kinds of steps keeps them too.
    let mut other = default_renewal_plan();
    other.name = "mixed".to_string();
    other.steps[0].mode = Mode::Approval;
    other.steps[1].mode = Mode::Task;
    other.steps[1].offset = tickler_core::plan::Offset::business(-5);
    other.steps[2].anchor = tickler_core::plan::Anchor::StartDate;
    other.steps[2].send_time = jiff::civil::Time::constant(17, 30, 0, 0);
    other.steps[3].recipients = tickler_core::plan::Recipients {
        customer: false,
        owner: true,
        team: true,
        cc_owner: false,
    };
    other.steps[3].mode = Mode::Internal;
    let team_mailbox = tickler_core::email::EmailAddress::parse("r", "renewals@firm.test").unwrap();
    other.steps[1].reply_to = Some(team_mailbox.clone());
    let other_id = plans::ensure(&mut conn, &other, t0()).await.unwrap();
    assert_ne!(other_id, id);
    assert_eq!(plans::get(&mut conn, other_id).await.unwrap(), other);
    let key = other.steps[1].key.clone();
    assert_eq!(
        plans::step_reply_to(&mut conn, other_id, &key)
            .await
            .unwrap(),
        Some(team_mailbox)
    );
    assert_eq!(
        plans::step_reply_to(&mut conn, id, &key).await.unwrap(),
        None,
        "the default plan's steps set no reply-to"
    );
    assert_eq!(
        plans::step_reply_to(&mut conn, other_id, "no_such_step")
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        plans::get(&mut conn, 9_999).await,
        Err(StoreError::NotFound { what: "plan", .. })
    ));
}

async fn contracts_round_trip_and_page(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let mut custom = serde_json::Map::new();
    custom.insert("site".into(), serde_json::json!("Plant 3"));
    custom.insert("units".into(), serde_json::json!(4));
    let (id, _) = contracts::insert(
        &mut conn,
        &contracts::NewContract {
            customer_id: fx.customer_id,
            title: "Chiller service",
            owner_id: None,
            plan_id: fx.plan_id,
            start_date: date("2026-04-01"),
            end_date: date("2027-03-31"),
            amount_minor: None,
            currency: None,
            custom_fields: &custom,
            renewal: tickler_core::renewal::RenewalType::Expires,
            notice_days: None,
        },
        at_hours(1),
    )
    .await
    .unwrap();
    let contract = contracts::get(&mut conn, id).await.unwrap();
    assert_eq!(contract.id, id);
    assert_eq!(contract.customer_id, fx.customer_id);
    assert_eq!(contract.title, "Chiller service");
    assert_eq!(contract.owner_id, None);
    assert_eq!(contract.plan_id, fx.plan_id);
    assert_eq!(contract.status, ContractStatus::Active);
    assert_eq!(contract.term_number, 1);
    assert_eq!(contract.start_date, date("2026-04-01"));
    assert_eq!(contract.end_date, date("2027-03-31"));
    assert_eq!(contract.amount_minor, None);
    assert_eq!(contract.currency, None);
    assert_eq!(contract.custom_fields, custom);
    assert_eq!(contract.created_at, at_hours(1));
    assert_eq!(contract.updated_at, at_hours(1));

    let first = contracts::get(&mut conn, fx.contract_id).await.unwrap();
    assert_eq!(first.owner_id, Some(fx.owner_id));
    assert_eq!(first.amount_minor, Some(120_000));
    assert_eq!(first.currency.as_deref(), Some("EUR"));
    assert!(first.custom_fields.is_empty());

    contracts::set_status(&mut conn, id, ContractStatus::Terminated, at_hours(2))
        .await
        .unwrap();
    let terminated = contracts::get(&mut conn, id).await.unwrap();
    assert_eq!(terminated.status, ContractStatus::Terminated);
    assert_eq!(terminated.updated_at, at_hours(2));

    // Pages in id order.
    let mut all = vec![fx.contract_id, id];
    for n in 0..5 {
        all.push(add_contract(&mut conn, &fx, &format!("Contract {n}")).await);
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = contracts::list(&mut conn, after, 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().id;
        seen.extend(page.iter().map(|c| c.id));
    }
    assert_eq!(seen, all);
    assert_eq!(contracts::list(&mut conn, 0, 100).await.unwrap().len(), 7);
    assert!(
        contracts::list(&mut conn, *all.last().unwrap(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        contracts::get(&mut conn, 9_999).await,
        Err(StoreError::NotFound {
            what: "contract",
            ..
        })
    ));
}

async fn terms(store: &Store, contract_id: i64) -> Vec<(i64, String, String)> {
    let mut conn = store.conn().await.unwrap();
    sqlx::query_as(
        "SELECT term_number, start_date, end_date FROM contract_terms \
         WHERE contract_id = $1 ORDER BY term_number",
    )
    .bind(contract_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

async fn contract_terms(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        terms(&store, fx.contract_id).await,
        [(1, "2026-03-01".to_string(), "2027-02-28".to_string())]
    );

    // A date correction of the current term changes the contract and that term.
    let contract = contracts::get(&mut conn, fx.contract_id).await.unwrap();
    contracts::set_current_term_dates(
        &mut conn,
        &contract,
        date("2026-03-02"),
        date("2027-03-01"),
        at_hours(1),
    )
    .await
    .unwrap();
    let contract = contracts::get(&mut conn, fx.contract_id).await.unwrap();
    assert_eq!(contract.start_date, date("2026-03-02"));
    assert_eq!(contract.end_date, date("2027-03-01"));
    assert_eq!(contract.updated_at, at_hours(1));
    assert_eq!(
        terms(&store, fx.contract_id).await,
        [(1, "2026-03-02".to_string(), "2027-03-01".to_string())]
    );

    // A renewal adds term 2 and makes it current.
    let mut tx = store.begin().await.unwrap();
    contracts::start_term(
        &mut tx,
        fx.contract_id,
        &contracts::NextTerm {
            term_number: 2,
            start: date("2027-03-02"),
            end: date("2028-03-01"),
            previous_term_id: None,
            quote_id: None,
        },
        at_hours(2),
    )
    .await
    .unwrap();
    tickler_store::commit(tx).await.unwrap();
    let renewed = contracts::get(&mut conn, fx.contract_id).await.unwrap();
    assert_eq!(renewed.term_number, 2);
    assert_eq!(renewed.start_date, date("2027-03-02"));
    assert_eq!(renewed.end_date, date("2028-03-01"));
    assert_eq!(renewed.created_at, t0());
    assert_eq!(renewed.updated_at, at_hours(2));

    // Correcting term 2 leaves term 1 alone.
    contracts::set_current_term_dates(
        &mut conn,
        &renewed,
        date("2027-03-02"),
        date("2028-02-29"),
        at_hours(3),
    )
    .await
    .unwrap();
    assert_eq!(
        terms(&store, fx.contract_id).await,
        [
            (1, "2026-03-02".to_string(), "2027-03-01".to_string()),
            (2, "2027-03-02".to_string(), "2028-02-29".to_string()),
        ]
    );
    assert_eq!(
        contracts::get(&mut conn, fx.contract_id)
            .await
            .unwrap()
            .end_date,
        date("2028-02-29")
    );

    // The same term twice is refused.
    let twice = contracts::start_term(
        &mut conn,
        fx.contract_id,
        &contracts::NextTerm {
            term_number: 2,
            start: date("2027-03-02"),
            end: date("2028-03-01"),
            previous_term_id: None,
            quote_id: None,
        },
        at_hours(4),
    )
    .await;
    assert!(twice.is_err_and(|e| e.is_unique_violation()));
}

async fn reminders_round_trip(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let to = vec![
        "office@acme.test".to_string(),
        "billing@acme.test".to_string(),
    ];
    let cc = vec!["owner@tickler.test".to_string()];
    let term_1 = support::term_ref(&mut conn, fx.contract_id, 1).await;
    let id = reminders::insert(
        &mut conn,
        &reminders::NewReminder {
            about: term_1,
            anchor: None,
            contract_id: Some(fx.contract_id),
            kind: ReminderKind::Step,
            step_key: "before_30",
            position: 1,
            label: "Reminder: service expiring",
            template: "before_30",
            offset_days: -30,
            mode: Mode::Auto,
            send_at: at_days(10),
            to: &to,
            cc: &cc,
            subject: Some("Your contract ends soon"),
            body: None,
            message_id: "<r1@tickler.test>",
        },
        t0(),
    )
    .await
    .unwrap();
    let r = get(&store, id).await;
    assert_eq!(r.id, id);
    assert_eq!(r.contract_id, Some(fx.contract_id));
    assert_eq!(
        r.about,
        support::term_ref(&mut store.conn().await.unwrap(), fx.contract_id, 1).await
    );
    assert_eq!(r.kind, ReminderKind::Step);
    assert_eq!(r.step_key, "before_30");
    assert_eq!(r.position, 1);
    assert_eq!(r.label, "Reminder: service expiring");
    assert_eq!(r.template, "before_30");
    assert_eq!(r.offset_days, -30);
    assert_eq!(r.mode, Mode::Auto);
    assert_eq!(r.status, ReminderStatus::Scheduled);
    assert_eq!(r.status_reason, None);
    assert_eq!(r.send_at, at_days(10));
    assert!(!r.send_at_edited);
    assert_eq!(r.due_at, at_days(10));
    assert_eq!(r.to, to);
    assert_eq!(r.cc, cc);
    assert!(!r.recipients_edited);
    assert_eq!(r.subject.as_deref(), Some("Your contract ends soon"));
    assert_eq!(r.body, None);
    assert_eq!(r.message_id, "<r1@tickler.test>");
    assert_eq!(r.attempts, 0);
    assert_eq!(r.claimed_by, None);
    assert_eq!(r.claimed_until, None);
    assert_eq!(r.last_error, None);
    assert_eq!(r.smtp_reply, None);
    assert_eq!(r.sent_subject, None);
    assert_eq!(r.sent_body, None);
    assert_eq!(r.sent_at, None);
    assert_eq!(r.lateness_ms, None);
    assert_eq!(r.created_at, t0());
    assert_eq!(r.updated_at, t0());

    // A notice with no recipients in CC.
    let notice = reminders::insert(
        &mut conn,
        &reminders::NewReminder {
            about: term_1,
            anchor: None,
            contract_id: Some(fx.contract_id),
            kind: ReminderKind::Notice,
            step_key: "delivery_failed_1",
            position: 0,
            label: "Delivery failed",
            template: "notice_delivery_failed",
            offset_days: 0,
            mode: Mode::Internal,
            send_at: t0(),
            to: &cc,
            cc: &[],
            subject: None,
            body: Some("The server said 550."),
            message_id: "<n1@tickler.test>",
        },
        t0(),
    )
    .await
    .unwrap();
    let n = get(&store, notice).await;
    assert_eq!(n.kind, ReminderKind::Notice);
    assert_eq!(n.mode, Mode::Internal);
    assert!(n.cc.is_empty());
    assert_eq!(n.body.as_deref(), Some("The server said 550."));

    // Unique per (term, step) and per Message-ID.
    let again = add_step(&mut conn, fx.contract_id, 1, "before_60", 0, t0()).await;
    assert!(again > notice);
    let duplicate = reminders::insert(
        &mut conn,
        &reminders::NewReminder {
            about: term_1,
            anchor: None,
            contract_id: Some(fx.contract_id),
            kind: ReminderKind::Step,
            step_key: "before_30",
            position: 1,
            label: "dup",
            template: "before_30",
            offset_days: -30,
            mode: Mode::Auto,
            send_at: t0(),
            to: &to,
            cc: &cc,
            subject: None,
            body: None,
            message_id: "<other@tickler.test>",
        },
        t0(),
    )
    .await;
    assert!(duplicate.is_err_and(|e| e.is_unique_violation()));

    // for_term: the plan steps of one term, by position, notices left out.
    let term = reminders::for_subject(&mut conn, term_1).await.unwrap();
    assert_eq!(ids(&term), [again, id]);
    let term_2 = support::term_ref(&mut conn, fx.contract_id, 2).await;
    assert!(
        reminders::for_subject(&mut conn, term_2)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        reminders::get(&mut conn, 9_999).await,
        Err(StoreError::NotFound {
            what: "reminder",
            ..
        })
    ));
}

/// What a preview starts from: the scheduled reminders due in `[from, until)`, in due order,
/// of one owner's contracts when asked.
async fn due_between_is_the_pending_of_a_window(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let other = add_contract(&mut conn, &fx, "Other").await;
    let a2 = add_step(&mut conn, fx.contract_id, 1, "before_7", 2, at_days(20)).await;
    let a1 = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(10)).await;
    let b1 = add_step(&mut conn, other, 1, "before_60", 0, at_days(5)).await;
    let b2 = add_step(&mut conn, other, 1, "before_30", 1, at_days(25)).await;
    assert!(
        reminders::close_scheduled(&mut conn, a2, ReminderStatus::Skipped, "called", t0())
            .await
            .unwrap()
    );
    let window = |from, until, owner| {
        let store = store.clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            ids(
                &reminders::due_between(&mut conn, at_days(from), at_days(until), owner)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(window(5, 25, None).await, [b1, a1]);
    assert_eq!(window(0, 40, None).await, [b1, a1, b2]);
    assert_eq!(window(6, 25, Some(fx.owner_id)).await, [a1]);
    assert!(window(0, 40, Some(fx.owner_id + 1000)).await.is_empty());
    assert!(window(11, 20, None).await.is_empty());
}

async fn reminders_list_filters_and_order(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let other = add_contract(&mut conn, &fx, "Other").await;
    // Inserted out of order; listed by send_at.
    let a3 = add_step(&mut conn, fx.contract_id, 1, "after_7", 3, at_days(30)).await;
    let a1 = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(10)).await;
    let b1 = add_step(&mut conn, other, 1, "before_60", 0, at_days(5)).await;
    let a2 = add_step(&mut conn, fx.contract_id, 1, "before_7", 2, at_days(20)).await;
    let b2 = add_step(&mut conn, other, 1, "before_30", 1, at_days(25)).await;
    assert!(
        reminders::close_scheduled(&mut conn, a2, ReminderStatus::Skipped, "called", t0())
            .await
            .unwrap()
    );

    let list = |filter: ReminderFilter| {
        let store = store.clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            ids(&reminders::list(&mut conn, &filter).await.unwrap())
        }
    };
    assert_eq!(list(ReminderFilter::default()).await, [b1, a1, a2, b2, a3]);
    assert_eq!(
        list(ReminderFilter {
            contract_id: Some(fx.contract_id),
            ..Default::default()
        })
        .await,
        [a1, a2, a3]
    );
    assert_eq!(
        list(ReminderFilter {
            contract_id: Some(other),
            ..Default::default()
        })
        .await,
        [b1, b2]
    );
    assert_eq!(
        list(ReminderFilter {
            status: Some(ReminderStatus::Scheduled),
            ..Default::default()
        })
        .await,
        [b1, a1, b2, a3]
    );
    assert_eq!(
        list(ReminderFilter {
            status: Some(ReminderStatus::Skipped),
            ..Default::default()
        })
        .await,
        [a2]
    );
    assert_eq!(
        list(ReminderFilter {
            contract_id: Some(fx.contract_id),
            status: Some(ReminderStatus::Scheduled),
            ..Default::default()
        })
        .await,
        [a1, a3]
    );
    assert_eq!(
        list(ReminderFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await,
        [b1, a1]
    );
    assert!(
        list(ReminderFilter {
            status: Some(ReminderStatus::Sent),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        list(ReminderFilter {
            contract_id: Some(9_999),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    // Equal send_at: by id.
    let c1 = add_step(&mut conn, other, 2, "before_60", 0, at_days(5)).await;
    assert_eq!(
        list(ReminderFilter {
            contract_id: Some(other),
            ..Default::default()
        })
        .await,
        [b1, c1, b2]
    );
}

async fn apply_edit_only_on_scheduled(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let id = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(10)).await;

    // Wording only: time and recipients stay, and stay unedited.
    let wording = Edit {
        subject: Some("Renewal of your boiler service".into()),
        body: Some("Dear customer, ...".into()),
        ..Default::default()
    };
    assert!(
        reminders::apply_edit(&mut conn, id, &wording, at_hours(1))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!(r.subject.as_deref(), Some("Renewal of your boiler service"));
    assert_eq!(r.body.as_deref(), Some("Dear customer, ..."));
    assert_eq!(r.send_at, at_days(10));
    assert_eq!(r.due_at, at_days(10));
    assert!(!r.send_at_edited);
    assert!(!r.recipients_edited);
    assert_eq!(r.to, ["office@acme.test"]);
    assert_eq!(r.updated_at, at_hours(1));

    // Time and recipients: both marked edited, the wording kept.
    let timing = Edit {
        send_at: Some(at_days(9)),
        recipients: Some((
            vec!["ceo@acme.test".into()],
            vec!["owner@tickler.test".into(), "team@tickler.test".into()],
        )),
        ..Default::default()
    };
    assert!(
        reminders::apply_edit(&mut conn, id, &timing, at_hours(2))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!(r.send_at, at_days(9));
    assert_eq!(r.due_at, at_days(9));
    assert!(r.send_at_edited);
    assert!(r.recipients_edited);
    assert_eq!(r.to, ["ceo@acme.test"]);
    assert_eq!(r.cc, ["owner@tickler.test", "team@tickler.test"]);
    assert_eq!(r.subject.as_deref(), Some("Renewal of your boiler service"));

    // A later wording edit keeps the earlier edits' flags.
    let subject_only = Edit {
        subject: Some("Second thoughts".into()),
        ..Default::default()
    };
    assert!(
        reminders::apply_edit(&mut conn, id, &subject_only, at_hours(3))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert!(r.send_at_edited && r.recipients_edited);
    assert_eq!(r.send_at, at_days(9));

    // Claimed (sending), then sent: no more edits.
    let claimed = claim(&store, at_days(9), "w1", 10).await;
    assert_eq!(ids(&claimed), [id]);
    let late = Edit {
        subject: Some("too late".into()),
        send_at: Some(at_days(11)),
        ..Default::default()
    };
    assert!(
        !reminders::apply_edit(&mut conn, id, &late, at_days(9))
            .await
            .unwrap()
    );
    assert!(
        reminders::mark_sent(
            &mut conn,
            id,
            1,
            &SentRecord {
                subject: "Second thoughts",
                body: "Dear customer, ...",
                to: &["ceo@acme.test".into()],
                cc: &[],
                smtp_reply: "250 OK",
                sent_at: at_days(9),
            },
        )
        .await
        .unwrap()
    );
    assert!(
        !reminders::apply_edit(&mut conn, id, &late, at_days(10))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!(r.subject.as_deref(), Some("Second thoughts"));
    assert_eq!(r.send_at, at_days(9));
    assert_eq!(r.status, ReminderStatus::Sent);

    // Skipped: no edits either.
    let other = add_step(&mut conn, fx.contract_id, 1, "before_7", 2, at_days(20)).await;
    assert!(
        reminders::close_scheduled(&mut conn, other, ReminderStatus::Skipped, "called", t0())
            .await
            .unwrap()
    );
    assert!(
        !reminders::apply_edit(&mut conn, other, &late, t0())
            .await
            .unwrap()
    );
    assert!(
        !reminders::apply_edit(&mut conn, 9_999, &late, t0())
            .await
            .unwrap()
    );
}

async fn reschedule_and_close_are_guarded(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let id = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(10)).await;
    let to = vec!["new@acme.test".to_string()];
    assert!(
        reminders::reschedule(&mut conn, id, at_days(12), &to, &[], at_hours(1))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!((r.send_at, r.due_at), (at_days(12), at_days(12)));
    assert_eq!(r.to, to);
    assert!(r.cc.is_empty());
    assert!(!r.send_at_edited && !r.recipients_edited);

    assert!(
        reminders::close_scheduled(
            &mut conn,
            id,
            ReminderStatus::Cancelled,
            "renewed",
            at_hours(2)
        )
        .await
        .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!(r.status, ReminderStatus::Cancelled);
    assert_eq!(r.status_reason.as_deref(), Some("renewed"));
    assert_eq!(r.updated_at, at_hours(2));
    // Closing or rescheduling a closed reminder changes nothing.
    assert!(
        !reminders::close_scheduled(&mut conn, id, ReminderStatus::Skipped, "again", at_hours(3))
            .await
            .unwrap()
    );
    assert!(
        !reminders::reschedule(&mut conn, id, at_days(1), &to, &[], at_hours(3))
            .await
            .unwrap()
    );
    let r = get(&store, id).await;
    assert_eq!(r.status, ReminderStatus::Cancelled);
    assert_eq!(r.status_reason.as_deref(), Some("renewed"));
    assert_eq!(r.send_at, at_days(12));

    // A reminder being sent is the dispatcher's: closing it is refused.
    let due = add_step(&mut conn, fx.contract_id, 1, "before_60", 0, at_hours(-1)).await;
    assert_eq!(ids(&claim(&store, t0(), "w1", 10).await), [due]);
    assert!(
        !reminders::close_scheduled(&mut conn, due, ReminderStatus::Skipped, "too late", t0())
            .await
            .unwrap()
    );
    assert_eq!(get(&store, due).await.status, ReminderStatus::Sending);
}

async fn claim_due_claims_only_due_timed_scheduled(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let c = fx.contract_id;
    // One per term, so that catch-up does not interfere.
    let auto_due = add_reminder(&mut conn, c, 1, "auto", 0, Mode::Auto, at_hours(-2)).await;
    let internal_due =
        add_reminder(&mut conn, c, 2, "internal", 0, Mode::Internal, at_hours(-1)).await;
    let exactly_now = add_reminder(&mut conn, c, 3, "now", 0, Mode::Auto, t0()).await;
    let approval = add_reminder(&mut conn, c, 4, "approval", 0, Mode::Approval, at_hours(-3)).await;
    let task = add_reminder(&mut conn, c, 5, "task", 0, Mode::Task, at_hours(-3)).await;
    let future = add_reminder(&mut conn, c, 6, "future", 0, Mode::Auto, at_minutes(1)).await;
    let skipped = add_reminder(&mut conn, c, 7, "skipped", 0, Mode::Auto, at_hours(-5)).await;
    assert!(
        reminders::close_scheduled(&mut conn, skipped, ReminderStatus::Skipped, "no", t0())
            .await
            .unwrap()
    );
    drop(conn);

    let until = at_minutes(5);
    let mut tx = store.begin().await.unwrap();
    let claimed = reminders::claim_due(&mut tx, store.backend(), t0(), &lease("w1", until), 100)
        .await
        .unwrap();
    tickler_store::commit(tx).await.unwrap();
    assert_eq!(
        ids(&claimed),
        [auto_due, internal_due, exactly_now],
        "by due_at"
    );
    for r in &claimed {
        assert_eq!(r.status, ReminderStatus::Sending);
        assert_eq!(r.attempts, 1);
        assert_eq!(r.claimed_by.as_deref(), Some("w1"));
        assert_eq!(r.claimed_until, Some(until));
        assert_eq!(r.updated_at, t0());
        let stored = get(&store, r.id).await;
        assert_eq!(stored.status, ReminderStatus::Sending);
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored.claimed_by.as_deref(), Some("w1"));
        assert_eq!(stored.claimed_until, Some(until));
    }
    for (id, status) in [
        (approval, ReminderStatus::Scheduled),
        (task, ReminderStatus::Scheduled),
        (future, ReminderStatus::Scheduled),
        (skipped, ReminderStatus::Skipped),
    ] {
        let r = get(&store, id).await;
        assert_eq!(r.status, status);
        assert_eq!(r.attempts, 0);
        assert_eq!(r.claimed_by, None);
    }
    assert!(claim(&store, t0(), "w2", 100).await.is_empty());
    assert_eq!(
        ids(&claim(&store, at_minutes(1), "w2", 100).await),
        [future]
    );

    // Nothing due at all: an empty claim, and a rollback-free commit.
    assert!(claim(&store, at_minutes(2), "w3", 100).await.is_empty());
}

async fn claim_due_respects_the_limit_and_never_claims_twice(store: Store) {
    let fx = fixture(&store).await;
    let mut tx = store.begin().await.unwrap();
    let mut all = Vec::new();
    for term in 1..=7 {
        // Latest due first in insertion order, to show the claim orders by due_at.
        all.push(
            add_step(
                &mut tx,
                fx.contract_id,
                term,
                "before_30",
                1,
                at_hours(-i64::from(term)),
            )
            .await,
        );
    }
    tickler_store::commit(tx).await.unwrap();
    all.reverse();

    let first = claim(&store, t0(), "w1", 3).await;
    assert_eq!(ids(&first), all[..3]);
    let second = claim(&store, t0(), "w2", 3).await;
    assert_eq!(ids(&second), all[3..6]);
    assert!(
        second
            .iter()
            .all(|r| r.claimed_by.as_deref() == Some("w2") && r.attempts == 1)
    );
    let third = claim(&store, t0(), "w1", 3).await;
    assert_eq!(ids(&third), all[6..]);
    assert!(claim(&store, t0(), "w1", 3).await.is_empty());
    // The first claims are untouched by the later ones.
    for id in &all[..3] {
        let r = get(&store, *id).await;
        assert_eq!((r.claimed_by.as_deref(), r.attempts), (Some("w1"), 1));
    }
}

async fn claim_due_supersedes_overdue_earlier_steps(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let c = fx.contract_id;
    let other = add_contract(&mut conn, &fx, "Other").await;
    // After a long downtime: three steps of term 1 overdue, the fourth still ahead.
    let before_60 = add_step(&mut conn, c, 1, "before_60", 0, at_days(-40)).await;
    let before_30 = add_step(&mut conn, c, 1, "before_30", 1, at_days(-10)).await;
    let before_7 = add_step(&mut conn, c, 1, "before_7", 2, at_days(-2)).await;
    let after_7 = add_step(&mut conn, c, 1, "after_7", 3, at_days(12)).await;
    // Another term and another contract, each with one overdue step: not superseded by it.
    let term_2 = add_step(&mut conn, c, 2, "before_60", 0, at_days(-30)).await;
    let other_step = add_step(&mut conn, other, 1, "before_60", 0, at_days(-35)).await;
    drop(conn);

    let claimed = claim(&store, t0(), "w1", 100).await;
    assert_eq!(ids(&claimed), [other_step, term_2, before_7]);
    for id in [before_60, before_30] {
        let r = get(&store, id).await;
        assert_eq!(r.status, ReminderStatus::Superseded, "reminder {id}");
        assert!(r.status_reason.is_some());
        assert_eq!(r.attempts, 0);
    }
    assert_eq!(get(&store, after_7).await.status, ReminderStatus::Scheduled);

    let mut conn = store.conn().await.unwrap();
    let events = events::for_contract(&mut conn, c).await.unwrap();
    let superseded: Vec<i64> = events
        .iter()
        .filter(|e| e.action == "superseded")
        .map(|e| e.subject_id)
        .collect();
    assert_eq!(superseded, [before_60, before_30]);
    assert!(
        events
            .iter()
            .all(|e| e.subject_type == "reminder" && e.at == t0())
    );
    assert!(events.iter().all(|e| e.actor == events::SYSTEM));
    assert!(
        events::for_contract(&mut conn, other)
            .await
            .unwrap()
            .is_empty()
    );

    // An older step found still scheduled after a later one was claimed is superseded too,
    // even when it is the only candidate (a small limit).
    let mut conn2 = store.conn().await.unwrap();
    let late_find = add_step(&mut conn2, c, 1, "extra", 1, at_days(-20)).await;
    drop(conn2);
    assert!(claim(&store, t0(), "w1", 1).await.is_empty());
    assert_eq!(
        get(&store, late_find).await.status,
        ReminderStatus::Superseded
    );

    // Equal send_at: neither supersedes the other.
    let mut conn3 = store.conn().await.unwrap();
    let x = add_step(&mut conn3, c, 3, "x", 0, at_days(-1)).await;
    let y = add_step(&mut conn3, c, 3, "y", 1, at_days(-1)).await;
    drop(conn3);
    assert_eq!(ids(&claim(&store, t0(), "w1", 10).await), [x, y]);
}

async fn claim_one_claims_early(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let id = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(10)).await;
    let until = at_minutes(5);
    let r = reminders::claim_one(&mut conn, id, t0(), &lease("web", until))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(r.status, ReminderStatus::Sending);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.claimed_by.as_deref(), Some("web"));
    assert_eq!(r.claimed_until, Some(until));
    assert!(
        reminders::claim_one(&mut conn, id, t0(), &lease("web", until))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        reminders::claim_one(&mut conn, 9_999, t0(), &lease("web", until))
            .await
            .unwrap()
            .is_none()
    );
}

fn sent_record(at: Timestamp) -> SentRecord<'static> {
    SentRecord {
        subject: "Reminder: service expiring",
        body: "Dear customer",
        to: &[],
        cc: &[],
        smtp_reply: "250 2.0.0 Ok: queued",
        sent_at: at,
    }
}

async fn stale_attempts_change_nothing(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let id = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_hours(-1)).await;
    let first = claim(&store, t0(), "w1", 10).await;
    assert_eq!(first[0].attempts, 1);

    // Attempt 1 gives up (a transient failure); attempt 2 takes it.
    assert!(
        reminders::release(
            &mut conn,
            id,
            1,
            at_minutes(10),
            Some("421 try later"),
            at_minutes(1)
        )
        .await
        .unwrap()
    );
    let second = claim(&store, at_minutes(10), "w2", 10).await;
    assert_eq!(ids(&second), [id]);
    assert_eq!(second[0].attempts, 2);
    let before = get(&store, id).await;

    // The first dispatcher, stale, tries every completion: nothing changes.
    assert!(
        !reminders::mark_sent(&mut conn, id, 1, &sent_record(at_minutes(11)))
            .await
            .unwrap()
    );
    assert!(
        !reminders::release(
            &mut conn,
            id,
            1,
            at_minutes(20),
            Some("stale"),
            at_minutes(11)
        )
        .await
        .unwrap()
    );
    assert!(
        !reminders::finish_claimed(
            &mut conn,
            id,
            1,
            ReminderStatus::Failed,
            "550 no such user",
            Some("550"),
            at_minutes(11)
        )
        .await
        .unwrap()
    );
    // A future attempt number is no better.
    assert!(
        !reminders::mark_sent(&mut conn, id, 3, &sent_record(at_minutes(11)))
            .await
            .unwrap()
    );
    let after = get(&store, id).await;
    assert_eq!(after.status, ReminderStatus::Sending);
    assert_eq!(after.attempts, 2);
    assert_eq!(after.claimed_by.as_deref(), Some("w2"));
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(after.last_error.as_deref(), Some("421 try later"));
    assert_eq!(after.sent_at, None);

    // The holder completes; then even it cannot complete again.
    assert!(
        reminders::mark_sent(&mut conn, id, 2, &sent_record(at_minutes(12)))
            .await
            .unwrap()
    );
    assert!(
        !reminders::mark_sent(&mut conn, id, 2, &sent_record(at_minutes(13)))
            .await
            .unwrap()
    );
    assert!(
        !reminders::release(&mut conn, id, 2, at_minutes(20), None, at_minutes(13))
            .await
            .unwrap()
    );
    assert!(
        !reminders::finish_claimed(
            &mut conn,
            id,
            2,
            ReminderStatus::Failed,
            "x",
            None,
            at_minutes(13)
        )
        .await
        .unwrap()
    );
    let sent = get(&store, id).await;
    assert_eq!(sent.status, ReminderStatus::Sent);
    assert_eq!(sent.sent_at, Some(at_minutes(12)));

    // A scheduled reminder (never claimed) cannot be completed at all.
    let fresh = add_step(&mut conn, fx.contract_id, 2, "before_30", 1, at_days(3)).await;
    assert!(
        !reminders::mark_sent(&mut conn, fresh, 0, &sent_record(t0()))
            .await
            .unwrap()
    );
    assert!(
        !reminders::release(&mut conn, fresh, 0, t0(), None, t0())
            .await
            .unwrap()
    );
    assert!(
        !reminders::finish_claimed(
            &mut conn,
            fresh,
            0,
            ReminderStatus::Cancelled,
            "x",
            None,
            t0()
        )
        .await
        .unwrap()
    );
    assert_eq!(get(&store, fresh).await.status, ReminderStatus::Scheduled);
}

async fn completions_record_the_outcome(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let c = fx.contract_id;
    let sent_id = add_step(&mut conn, c, 1, "s", 0, at_hours(-2)).await;
    let retried = add_step(&mut conn, c, 2, "s", 0, at_hours(-2)).await;
    let failed = add_step(&mut conn, c, 3, "s", 0, at_hours(-2)).await;
    let cancelled = add_step(&mut conn, c, 4, "s", 0, at_hours(-2)).await;
    let shutdown = add_step(&mut conn, c, 5, "s", 0, at_hours(-2)).await;
    assert_eq!(claim(&store, t0(), "w1", 10).await.len(), 5);

    // Sent: what went out is recorded, with its lateness; the lease is cleared.
    let to = vec!["office@acme.test".to_string()];
    let cc = vec!["owner@tickler.test".to_string()];
    let record = SentRecord {
        subject: "Your service",
        body: "Body text",
        to: &to,
        cc: &cc,
        smtp_reply: "250 Ok",
        sent_at: at_minutes(1),
    };
    assert!(
        reminders::mark_sent(&mut conn, sent_id, 1, &record)
            .await
            .unwrap()
    );
    let r = get(&store, sent_id).await;
    assert_eq!(r.status, ReminderStatus::Sent);
    assert_eq!(r.sent_subject.as_deref(), Some("Your service"));
    assert_eq!(r.sent_body.as_deref(), Some("Body text"));
    assert_eq!((r.to.clone(), r.cc.clone()), (to.clone(), cc.clone()));
    assert_eq!(r.smtp_reply.as_deref(), Some("250 Ok"));
    assert_eq!(r.sent_at, Some(at_minutes(1)));
    assert_eq!(r.lateness_ms, Some(2 * 3_600_000 + 60_000));
    assert_eq!((r.claimed_by, r.claimed_until), (None, None));
    assert_eq!(r.updated_at, at_minutes(1));

    // Released after a transient failure: back to scheduled, due at the retry instant.
    assert!(
        reminders::release(
            &mut conn,
            retried,
            1,
            at_minutes(30),
            Some("451 busy"),
            at_minutes(1)
        )
        .await
        .unwrap()
    );
    let r = get(&store, retried).await;
    assert_eq!(r.status, ReminderStatus::Scheduled);
    assert_eq!(r.due_at, at_minutes(30));
    assert_eq!(r.send_at, at_hours(-2), "the planned instant stays");
    assert_eq!(r.last_error.as_deref(), Some("451 busy"));
    assert_eq!((r.claimed_by, r.claimed_until), (None, None));
    assert_eq!(r.attempts, 1);
    // Not due before its retry instant.
    assert!(claim(&store, at_minutes(29), "w1", 10).await.is_empty());

    // Released by a shutdown: no error, the last one kept.
    assert!(
        reminders::release(&mut conn, shutdown, 1, at_minutes(1), None, at_minutes(1))
            .await
            .unwrap()
    );
    let r = get(&store, shutdown).await;
    assert_eq!((r.status, r.last_error), (ReminderStatus::Scheduled, None));

    // Failed for good: the reason is the last error too.
    assert!(
        reminders::finish_claimed(
            &mut conn,
            failed,
            1,
            ReminderStatus::Failed,
            "550 mailbox unavailable",
            Some("550 5.1.1"),
            at_minutes(2)
        )
        .await
        .unwrap()
    );
    let r = get(&store, failed).await;
    assert_eq!(r.status, ReminderStatus::Failed);
    assert_eq!(r.status_reason.as_deref(), Some("550 mailbox unavailable"));
    assert_eq!(r.last_error.as_deref(), Some("550 mailbox unavailable"));
    assert_eq!(r.smtp_reply.as_deref(), Some("550 5.1.1"));
    assert_eq!((r.claimed_by, r.claimed_until), (None, None));

    // Cancelled by a stop rule at send time: not an error.
    assert!(
        reminders::finish_claimed(
            &mut conn,
            cancelled,
            1,
            ReminderStatus::Cancelled,
            "renewed",
            None,
            at_minutes(2)
        )
        .await
        .unwrap()
    );
    let r = get(&store, cancelled).await;
    assert_eq!(r.status, ReminderStatus::Cancelled);
    assert_eq!(r.status_reason.as_deref(), Some("renewed"));
    assert_eq!((r.last_error, r.smtp_reply), (None, None));
}

async fn expired_leases_are_taken_over(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let a = add_step(&mut conn, fx.contract_id, 1, "s", 0, at_hours(-1)).await;
    let b = add_step(&mut conn, fx.contract_id, 2, "s", 0, at_hours(-1)).await;
    let mut tx = store.begin().await.unwrap();
    let short = reminders::claim_due(
        &mut tx,
        store.backend(),
        t0(),
        &lease("dead", at_minutes(5)),
        1,
    )
    .await
    .unwrap();
    let long = reminders::claim_due(
        &mut tx,
        store.backend(),
        t0(),
        &lease("alive", at_minutes(60)),
        1,
    )
    .await
    .unwrap();
    tickler_store::commit(tx).await.unwrap();
    assert_eq!((ids(&short), ids(&long)), (vec![a], vec![b]));

    // Before the lease runs out, and at its very end, nothing is taken over.
    assert!(
        reminders::take_over_expired(&mut conn, at_minutes(4))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        reminders::take_over_expired(&mut conn, at_minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        reminders::take_over_expired(&mut conn, at_minutes(6))
            .await
            .unwrap(),
        [a]
    );
    let r = get(&store, a).await;
    assert_eq!(r.status, ReminderStatus::Scheduled);
    assert_eq!(r.due_at, at_minutes(6));
    assert_eq!((r.claimed_by, r.claimed_until), (None, None));
    assert!(r.last_error.is_some_and(|e| e.contains("lease expired")));
    assert_eq!(r.attempts, 1);
    assert_eq!(get(&store, b).await.status, ReminderStatus::Sending);

    // Another dispatcher claims it again; the dead one's late completion is fenced off.
    let again = claim(&store, at_minutes(6), "w2", 10).await;
    assert_eq!(ids(&again), [a]);
    assert_eq!(again[0].attempts, 2);
    assert!(
        !reminders::mark_sent(&mut conn, a, 1, &sent_record(at_minutes(7)))
            .await
            .unwrap()
    );
    assert!(
        reminders::mark_sent(&mut conn, a, 2, &sent_record(at_minutes(7)))
            .await
            .unwrap()
    );
    // A repeat of the same record (its first commit's answer was lost) finds it done.
    assert!(
        !reminders::mark_sent(&mut conn, a, 2, &sent_record(at_minutes(7)))
            .await
            .unwrap()
    );
    assert!(reminders::sent_by_attempt(&mut conn, a, 2).await.unwrap());
    assert!(!reminders::sent_by_attempt(&mut conn, a, 1).await.unwrap());
    // Sent rows are never taken over, whatever the time.
    let taken = reminders::take_over_expired(&mut conn, at_days(10))
        .await
        .unwrap();
    assert_eq!(taken, [b]);
    assert_eq!(get(&store, a).await.status, ReminderStatus::Sent);
}

async fn next_wake_up_is_the_earliest_due(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let c = fx.contract_id;
    assert_eq!(reminders::next_wake_up(&mut conn).await.unwrap(), None);
    // Reminders waiting for a person wake the dispatcher once, to alert their owner.
    let approval = add_reminder(&mut conn, c, 1, "approval", 0, Mode::Approval, at_hours(1)).await;
    let task = add_reminder(&mut conn, c, 2, "task", 0, Mode::Task, at_hours(1)).await;
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_hours(1))
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        reminders::take_due_alerts(&mut tx, store.backend(), t0(), 10)
            .await
            .unwrap()
            .is_empty(),
        "not before their time"
    );
    let alerted = reminders::take_due_alerts(&mut tx, store.backend(), at_hours(1), 10)
        .await
        .unwrap();
    tickler_store::commit(tx).await.unwrap();
    assert_eq!(ids(&alerted), [approval, task]);
    assert!(
        alerted
            .iter()
            .all(|r| r.status == ReminderStatus::Scheduled)
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        reminders::take_due_alerts(&mut tx, store.backend(), at_hours(5), 10)
            .await
            .unwrap()
            .is_empty(),
        "alerted once"
    );
    tickler_store::commit(tx).await.unwrap();
    assert_eq!(reminders::next_wake_up(&mut conn).await.unwrap(), None);

    add_step(&mut conn, c, 3, "later", 0, at_hours(3)).await;
    add_reminder(&mut conn, c, 4, "internal", 0, Mode::Internal, at_hours(2)).await;
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_hours(2))
    );

    let skipped = add_step(&mut conn, c, 5, "skipped", 0, at_minutes(10)).await;
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_minutes(10))
    );
    reminders::close_scheduled(&mut conn, skipped, ReminderStatus::Skipped, "no", t0())
        .await
        .unwrap();
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_hours(2))
    );

    // A claimed reminder is no longer due work: its lease is the take-over job's concern.
    add_step(&mut conn, c, 6, "due", 0, at_hours(-1)).await;
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_hours(-1))
    );
    let mut tx = store.begin().await.unwrap();
    let claimed = reminders::claim_due(
        &mut tx,
        store.backend(),
        t0(),
        &lease("w1", at_minutes(30)),
        10,
    )
    .await
    .unwrap();
    tickler_store::commit(tx).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        reminders::next_wake_up(&mut conn).await.unwrap(),
        Some(at_hours(2))
    );
}

async fn events_for_contract(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let other = add_contract(&mut conn, &fx, "Other").await;
    let mine = add_step(&mut conn, fx.contract_id, 1, "before_30", 1, at_days(1)).await;
    let theirs = add_step(&mut conn, other, 1, "before_30", 1, at_days(1)).await;
    assert!(
        events::for_contract(&mut conn, fx.contract_id)
            .await
            .unwrap()
            .is_empty()
    );

    events::record(
        &mut conn,
        at_hours(1),
        "ada@example.test",
        EventSubject::Contract(fx.contract_id),
        EventAction::Created,
        "",
    )
    .await
    .unwrap();
    events::record(
        &mut conn,
        at_hours(2),
        events::SYSTEM,
        EventSubject::Reminder(theirs),
        EventAction::Scheduled,
        "",
    )
    .await
    .unwrap();
    events::record(
        &mut conn,
        at_hours(2),
        events::SYSTEM,
        EventSubject::Reminder(mine),
        EventAction::Scheduled,
        "before_30",
    )
    .await
    .unwrap();
    events::record(
        &mut conn,
        at_hours(3),
        "ada@example.test",
        EventSubject::Contract(other),
        EventAction::Renewed,
        "",
    )
    .await
    .unwrap();
    // Another kind of subject with the same id is not this contract's.
    events::record(
        &mut conn,
        at_hours(3),
        "ada@example.test",
        EventSubject::Customer(fx.contract_id),
        EventAction::Edited,
        "",
    )
    .await
    .unwrap();
    events::record(
        &mut conn,
        at_hours(4),
        "bob@example.test",
        EventSubject::Reminder(mine),
        EventAction::Skipped,
        "called instead",
    )
    .await
    .unwrap();

    let history = events::for_contract(&mut conn, fx.contract_id)
        .await
        .unwrap();
    let summary: Vec<(i64, &str, &str, i64, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e.at.as_second() - t0().as_second(),
                e.actor.as_str(),
                e.subject_type.as_str(),
                e.subject_id,
                e.action.as_str(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                3600,
                "ada@example.test",
                "contract",
                fx.contract_id,
                "created",
                ""
            ),
            (7200, "system", "reminder", mine, "scheduled", "before_30"),
            (
                14400,
                "bob@example.test",
                "reminder",
                mine,
                "skipped",
                "called instead"
            ),
        ]
    );
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        events::for_contract(&mut conn, other).await.unwrap().len(),
        2
    );
}

async fn concurrent_claimers_never_share_a_reminder(store: Store) {
    const ROWS: i64 = 500;
    const BATCH: i64 = 50;
    let fx = fixture(&store).await;
    let mut tx = store.begin().await.unwrap();
    let mut contract_id = fx.contract_id;
    for n in 0..ROWS {
        if n % 50 == 0 && n > 0 {
            contract_id = add_contract(&mut tx, &fx, &format!("Contract {n}")).await;
        }
        // One step per term: catch-up supersedes nothing, every row is claimable.
        let term = i32::try_from(n % 50 + 1).unwrap();
        add_step(
            &mut tx,
            contract_id,
            term,
            "before_30",
            1,
            at_minutes(-(n % 97)),
        )
        .await;
    }
    tickler_store::commit(tx).await.unwrap();

    let worker = |name: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            // When each transaction held its lock: from BEGIN done to COMMIT asked.
            let mut spans = Vec::new();
            loop {
                let mut tx = store.begin().await.expect("begin");
                let start = Instant::now();
                let claimed = reminders::claim_due(
                    &mut tx,
                    store.backend(),
                    t0(),
                    &lease(name, at_minutes(5)),
                    BATCH,
                )
                .await
                .expect("claim_due");
                // Hold the claim's locks a little, so that the other claimer meets them.
                tokio::time::sleep(Duration::from_millis(5)).await;
                spans.push((start, Instant::now()));
                tickler_store::commit(tx).await.expect("commit");
                if claimed.is_empty() {
                    break;
                }
                assert!(claimed.len() as i64 <= BATCH);
                for r in claimed {
                    assert_eq!(r.claimed_by.as_deref(), Some(name));
                    assert_eq!(r.attempts, 1, "reminder {} claimed twice", r.id);
                    mine.push(r.id);
                }
                // Give the other claimer a chance at the lock (SQLite's busy wait polls).
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (mine, spans)
        })
    };
    let (a, b) = tokio::join!(worker("a"), worker("b"));
    let ((a, a_spans), (b, b_spans)) = (a.unwrap(), b.unwrap());
    let a_set: HashSet<i64> = a.iter().copied().collect();
    let b_set: HashSet<i64> = b.iter().copied().collect();
    assert_eq!(a_set.len(), a.len(), "a claimed a reminder twice");
    assert_eq!(b_set.len(), b.len(), "b claimed a reminder twice");
    assert!(a_set.is_disjoint(&b_set), "a reminder claimed by both");
    assert_eq!(a.len() + b.len(), ROWS as usize, "every reminder claimed");
    let overlapping = a_spans
        .iter()
        .flat_map(|x| b_spans.iter().map(move |y| (x, y)))
        .filter(|(x, y)| x.0 < y.1 && y.0 < x.1)
        .count();
    eprintln!(
        "{:?}: claimer a took {} in {} transactions, b {} in {}; {overlapping} pairs overlapped",
        store.backend(),
        a.len(),
        a_spans.len(),
        b.len(),
        b_spans.len(),
    );
    if store.backend() == Backend::Sqlite {
        assert_eq!(
            overlapping, 0,
            "BEGIN IMMEDIATE lets one writer in at a time"
        );
    }

    let mut conn = store.conn().await.unwrap();
    let sending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reminders WHERE status = 'sending' AND attempts = 1",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(sending, ROWS);
}

/// After downtime, two claimers with small batches that split sequences between them: each
/// sequence sends only its latest step, every other step is superseded once, and neither
/// claimer waits for (or deadlocks on) the other's rows.
async fn concurrent_catch_up_sends_only_the_latest_steps(store: Store) {
    const SEQUENCES: i64 = 60;
    let fx = fixture(&store).await;
    let mut tx = store.begin().await.unwrap();
    let mut latest = HashSet::new();
    for n in 0..SEQUENCES {
        let term = i32::try_from(n + 1).unwrap();
        // Interleaved send instants, so that any batch holds parts of several sequences.
        for (position, days_before) in [(0, 60), (1, 30), (2, 7)] {
            let send_at = at_minutes(-(days_before * 24 * 60) - n);
            let id = add_step(
                &mut tx,
                fx.contract_id,
                term,
                &format!("s{position}"),
                position,
                send_at,
            )
            .await;
            if position == 2 {
                latest.insert(id);
            }
        }
    }
    tickler_store::commit(tx).await.unwrap();

    let worker = |name: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut tx = store.begin().await.expect("begin");
                let claimed = tokio::time::timeout(
                    Duration::from_secs(10),
                    reminders::claim_due(
                        &mut tx,
                        store.backend(),
                        t0(),
                        &lease(name, at_minutes(5)),
                        7,
                    ),
                )
                .await
                .expect("a claim waited 10 s")
                .expect("claim_due");
                tokio::time::sleep(Duration::from_millis(2)).await;
                tickler_store::commit(tx).await.expect("commit");
                // An empty claim may also mean that every candidate was superseded.
                if claimed.is_empty() {
                    let mut conn = store.conn().await.expect("conn");
                    let pending = ReminderFilter {
                        status: Some(ReminderStatus::Scheduled),
                        limit: Some(1),
                        ..Default::default()
                    };
                    if reminders::list(&mut conn, &pending)
                        .await
                        .expect("list")
                        .is_empty()
                    {
                        break;
                    }
                }
                mine.extend(claimed.iter().map(|r| r.id));
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            mine
        })
    };
    let (a, b) = tokio::join!(worker("a"), worker("b"));
    let (a, b) = (a.unwrap(), b.unwrap());
    let claimed: HashSet<i64> = a.iter().chain(&b).copied().collect();
    assert_eq!(claimed.len(), a.len() + b.len(), "a reminder claimed twice");
    assert_eq!(
        claimed, latest,
        "only the latest step of each sequence goes out"
    );

    let mut conn = store.conn().await.unwrap();
    let by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM reminders GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        by_status,
        [
            ("sending".to_string(), SEQUENCES),
            ("superseded".to_string(), 2 * SEQUENCES)
        ]
    );
    let events = events::for_contract(&mut conn, fx.contract_id)
        .await
        .unwrap();
    let superseded: HashSet<i64> = events
        .iter()
        .filter(|e| e.action == "superseded")
        .map(|e| e.subject_id)
        .collect();
    assert_eq!(
        superseded.len(),
        events.len(),
        "one event per superseded reminder"
    );
    assert_eq!(superseded.len() as i64, 2 * SEQUENCES);
}

/// PostgreSQL only: a claimer must never wait for rows another transaction holds (SKIP
/// LOCKED), not even the earlier steps it supersedes; waiting there lets two claimers that
/// split one sequence between their batches deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claim_skips_siblings_locked_by_another_claimer() {
    support::run_postgres(claim_skips_siblings_locked_by_another_claimer).await;
}

async fn claim_skips_siblings_locked_by_another_claimer(store: Store) {
    let fx = fixture(&store).await;
    let mut conn = store.conn().await.unwrap();
    let c = fx.contract_id;
    let x = add_step(&mut conn, c, 1, "before_60", 0, at_days(-40)).await;
    let y = add_step(&mut conn, c, 1, "before_30", 1, at_days(-10)).await;
    let z = add_step(&mut conn, c, 1, "before_7", 2, at_days(-2)).await;
    drop(conn);

    // Another claimer holds y (its batch ended there) and has not committed yet.
    let mut other = store.begin().await.unwrap();
    let held: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM reminders WHERE id = $1 FOR UPDATE SKIP LOCKED")
            .bind(y)
            .fetch_all(&mut *other)
            .await
            .unwrap();
    assert_eq!(held, [y]);

    // This claimer's batch of one is x: it supersedes x, leaves y to its holder, and
    // returns at once.
    let mut tx = store.begin().await.unwrap();
    let claimed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reminders::claim_due(
            &mut tx,
            store.backend(),
            t0(),
            &lease("a", at_minutes(5)),
            1,
        ),
    )
    .await
    .expect("claim_due waited for a row another claimer holds")
    .unwrap();
    tickler_store::commit(tx).await.unwrap();
    assert!(claimed.is_empty());
    assert_eq!(get(&store, x).await.status, ReminderStatus::Superseded);
    assert_eq!(get(&store, y).await.status, ReminderStatus::Scheduled);

    // The holder's own claim supersedes y and sends z.
    let claimed = reminders::claim_due(
        &mut other,
        store.backend(),
        t0(),
        &lease("b", at_minutes(5)),
        10,
    )
    .await
    .unwrap();
    tickler_store::commit(other).await.unwrap();
    assert_eq!(ids(&claimed), [z]);
    assert_eq!(get(&store, y).await.status, ReminderStatus::Superseded);
}

async fn recurring_job_runs_once_per_period(store: Store) {
    let mut conn = store.conn().await.unwrap();
    let period = jiff::SignedDuration::from_secs(60);
    assert_eq!(jobs::next_run(&mut conn).await.unwrap(), None);
    // The first ask runs it; asks within the period do not.
    assert!(
        jobs::claim_run(&mut conn, "cleanup", t0(), period, "a")
            .await
            .unwrap()
    );
    assert!(
        !jobs::claim_run(&mut conn, "cleanup", t0(), period, "b")
            .await
            .unwrap()
    );
    // Nor does one whose clock read a few seconds earlier (two instances asking at once):
    // the run claimed a period from the other's "now" is not a clock gone back.
    assert!(
        !jobs::claim_run(
            &mut conn,
            "cleanup",
            t0() - jiff::SignedDuration::from_secs(5),
            period,
            "b"
        )
        .await
        .unwrap()
    );
    assert!(
        !jobs::claim_run(
            &mut conn,
            "cleanup",
            at_minutes(1)
                .checked_sub(jiff::SignedDuration::from_millis(1))
                .unwrap(),
            period,
            "b"
        )
        .await
        .unwrap()
    );
    assert_eq!(
        jobs::next_run(&mut conn).await.unwrap(),
        Some(at_minutes(1))
    );
    // Another job is independent.
    assert!(
        jobs::claim_run(&mut conn, "lease_takeover", t0(), period, "b")
            .await
            .unwrap()
    );
    // At the next period, whoever asks first runs it.
    assert!(
        jobs::claim_run(&mut conn, "cleanup", at_minutes(1), period, "b")
            .await
            .unwrap()
    );
    jobs::record_outcome(&mut conn, "cleanup", at_minutes(1), "2 deleted")
        .await
        .unwrap();
    let states = jobs::list(&mut conn).await.unwrap();
    let cleanup = states.iter().find(|j| j.name == "cleanup").unwrap();
    assert_eq!(cleanup.last_run_by.as_deref(), Some("b"));
    assert_eq!(cleanup.last_outcome.as_deref(), Some("2 deleted"));
    assert_eq!(cleanup.next_run_at, at_minutes(2));
    // A clock that went back (a dispatch run as of a future instant came first) does not
    // stall the job until that future.
    assert!(
        jobs::claim_run(&mut conn, "cleanup", at_days(-1), period, "c")
            .await
            .unwrap()
    );
    assert!(
        !jobs::claim_run(&mut conn, "cleanup", at_days(-1), period, "c")
            .await
            .unwrap()
    );
}

async fn recurring_job_runs_are_claimed_once_by_concurrent_instances(store: Store) {
    let period = jiff::SignedDuration::from_secs(15);
    for round in 0..5i64 {
        let now = at_minutes(round);
        let asks = (0..8).map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut conn = store.conn().await.unwrap();
                jobs::claim_run(
                    &mut conn,
                    "lease_takeover",
                    now,
                    period,
                    &format!("w{worker}"),
                )
                .await
                .unwrap()
            })
        });
        let mut winners = 0;
        for ask in asks.collect::<Vec<_>>() {
            winners += usize::from(ask.await.unwrap());
        }
        assert_eq!(
            winners, 1,
            "round {round}: exactly one instance runs the job"
        );
    }
}
