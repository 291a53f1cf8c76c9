//! The renewal pipeline's aggregates: terms ending per month by outcome, emails per quarter
//! hour, invoices per month of issue, of everyone's contracts or one owner's: the same tests
//! on SQLite and PostgreSQL.

#[macro_use]
mod support;

use support::{add_contract, add_step, at_days, at_hours, date, fixture, t0};
use tickler_core::{chart::QUARTER_HOUR_MS, contract::ContractStatus, renewal::Answer, user::Role};
use tickler_store::{
    Store, contracts,
    pipeline::{self, ExpiringGroup, InvoiceGroup, Whose},
    users,
};

on_both_backends! {
    pipeline_splits_expiring_terms_by_outcome => sqlite_pipeline_splits_expiring_terms_by_outcome, postgres_pipeline_splits_expiring_terms_by_outcome;
    pipeline_counts_emails_and_invoices => sqlite_pipeline_counts_emails_and_invoices, postgres_pipeline_counts_emails_and_invoices;
}

fn group(state: &str, contracts: i64) -> ExpiringGroup {
    ExpiringGroup {
        month: "2027-02".to_string(),
        currency: Some("EUR".to_string()),
        state: state.to_string(),
        contracts,
        amount_minor: contracts * 120_000,
    }
}

async fn pipeline_splits_expiring_terms_by_outcome(store: Store) {
    let fx = fixture(&store).await;
    let mut db = store.begin().await.unwrap();
    let other = users::insert(&mut db, "sue@tickler.test", "Sue", Role::Sales, None, t0())
        .await
        .unwrap();
    // Every contract's first term ends on 2027-02-28.
    let renewed = fx.contract_id;
    let answered = add_contract(&mut db, &fx, "Answered renew").await;
    let declined = add_contract(&mut db, &fx, "Declined").await;
    let terminated = add_contract(&mut db, &fx, "Terminated").await;
    let silent = add_contract(&mut db, &fx, "No answer, Sue's").await;
    let contract = contracts::get(&mut db, renewed).await.unwrap();
    let first = contracts::current_term(&mut db, &contract).await.unwrap();
    contracts::start_term(
        &mut db,
        renewed,
        &contracts::NextTerm {
            term_number: 2,
            start: date("2027-03-01"),
            end: date("2028-02-29"),
            previous_term_id: Some(first.id),
            quote_id: None,
        },
        t0(),
    )
    .await
    .unwrap();
    for (id, answer) in [(answered, Answer::Renew), (declined, Answer::Decline)] {
        let contract = contracts::get(&mut db, id).await.unwrap();
        let term = contracts::current_term(&mut db, &contract).await.unwrap();
        assert!(
            contracts::record_answer(&mut db, &term, answer, "customer", None, t0())
                .await
                .unwrap()
        );
    }
    contracts::set_status(&mut db, terminated, ContractStatus::Terminated, t0())
        .await
        .unwrap();
    sqlx::query("UPDATE contracts SET owner_id = $1 WHERE id = $2")
        .bind(other)
        .bind(silent)
        .execute(&mut *db)
        .await
        .unwrap();
    tickler_store::commit(db).await.unwrap();

    let mut conn = store.conn().await.unwrap();
    let everyone = pipeline::expiring_by_month(
        &mut conn,
        date("2026-12-01"),
        date("2027-12-01"),
        Whose::Everyone,
    )
    .await
    .unwrap();
    assert_eq!(
        everyone,
        vec![
            group(pipeline::ANSWERED_RENEW, 1),
            group(pipeline::DECLINED, 2),
            group(pipeline::NO_ANSWER, 1),
            group(pipeline::RENEWED, 1),
        ],
        "the renewed contract's second term ends after the window"
    );
    assert_eq!(
        Whose::of(&mut conn, Some(fx.owner_id)).await.unwrap(),
        Whose::FewOf(fx.owner_id)
    );
    // Read from the owner's contracts or from the window: the same figures.
    for whose in [Whose::FewOf(fx.owner_id), Whose::ManyOf(fx.owner_id)] {
        let olives =
            pipeline::expiring_by_month(&mut conn, date("2026-12-01"), date("2027-12-01"), whose)
                .await
                .unwrap();
        assert_eq!(
            olives,
            vec![
                group(pipeline::ANSWERED_RENEW, 1),
                group(pipeline::DECLINED, 2),
                group(pipeline::RENEWED, 1),
            ],
            "{whose:?}"
        );
    }
    let before = pipeline::expiring_by_month(
        &mut conn,
        date("2026-12-01"),
        date("2027-02-28"),
        Whose::Everyone,
    )
    .await
    .unwrap();
    assert!(before.is_empty(), "the end of the window is excluded");
}

async fn pipeline_counts_emails_and_invoices(store: Store) {
    let fx = fixture(&store).await;
    let mut db = store.begin().await.unwrap();
    let other = users::insert(&mut db, "sue@tickler.test", "Sue", Role::Sales, None, t0())
        .await
        .unwrap();
    let sues = add_contract(&mut db, &fx, "Sue's").await;
    sqlx::query("UPDATE contracts SET owner_id = $1 WHERE id = $2")
        .bind(other)
        .bind(sues)
        .execute(&mut *db)
        .await
        .unwrap();
    let sent_a = add_step(&mut db, fx.contract_id, 1, "a", 1, at_days(-3)).await;
    let sent_b = add_step(&mut db, sues, 1, "b", 1, at_days(-3)).await;
    add_step(&mut db, fx.contract_id, 1, "c", 2, at_days(2)).await;
    add_step(&mut db, fx.contract_id, 1, "d", 3, at_days(2)).await;
    add_step(&mut db, sues, 1, "e", 2, at_days(40)).await;
    for (id, at) in [(sent_a, at_hours(-70)), (sent_b, at_hours(-70))] {
        sqlx::query("UPDATE reminders SET status = 'sent', sent_at = $1 WHERE id = $2")
            .bind(at.as_millisecond())
            .bind(id)
            .execute(&mut *db)
            .await
            .unwrap();
    }
    // (contract, status, issue date, due date)
    for (contract, status, issued, due) in [
        (fx.contract_id, "paid", "2026-11-03", "2026-12-03"),
        (fx.contract_id, "issued", "2026-11-10", "2026-11-30"),
        (sues, "issued", "2026-12-01", "2026-12-31"),
        (fx.contract_id, "draft", "2026-12-02", "2027-01-01"),
        (fx.contract_id, "void", "2026-10-01", "2026-10-31"),
        (fx.contract_id, "paid", "2025-10-01", "2025-10-31"),
    ] {
        sqlx::query(
            "INSERT INTO invoices (contract_id, customer_id, status, period_start, period_end, \
             issue_date, due_date, currency, subtotal_minor, tax_minor, total_minor, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $4, $4, $5, 'EUR', 100, 24, 124, $6, $6)",
        )
        .bind(contract)
        .bind(fx.customer_id)
        .bind(status)
        .bind(issued)
        .bind(due)
        .bind(t0().as_millisecond())
        .execute(&mut *db)
        .await
        .unwrap();
    }
    tickler_store::commit(db).await.unwrap();

    let mut conn = store.conn().await.unwrap();
    let quarter = |t: jiff::Timestamp| t.as_millisecond() / QUARTER_HOUR_MS;
    let sent = pipeline::sent_by_quarter_hour(&mut conn, at_days(-30), t0(), Whose::Everyone)
        .await
        .unwrap();
    assert_eq!(sent, vec![(quarter(at_hours(-70)), 2)]);
    let scheduled =
        pipeline::scheduled_by_quarter_hour(&mut conn, t0(), at_days(30), Whose::Everyone)
            .await
            .unwrap();
    assert_eq!(
        scheduled,
        vec![(quarter(at_days(2)), 2)],
        "not the one in 40 days"
    );
    for whose in [Whose::FewOf(other), Whose::ManyOf(other)] {
        let sent = pipeline::sent_by_quarter_hour(&mut conn, at_days(-30), t0(), whose)
            .await
            .unwrap();
        assert_eq!(sent, vec![(quarter(at_hours(-70)), 1)], "{whose:?}");
        let scheduled = pipeline::scheduled_by_quarter_hour(&mut conn, t0(), at_days(30), whose)
            .await
            .unwrap();
        assert!(scheduled.is_empty(), "{whose:?}");
    }
    let olives = Whose::FewOf(fx.owner_id);
    let scheduled = pipeline::scheduled_by_quarter_hour(&mut conn, t0(), at_days(30), olives)
        .await
        .unwrap();
    assert_eq!(scheduled, vec![(quarter(at_days(2)), 2)]);

    let invoices = pipeline::invoices_by_month(
        &mut conn,
        date("2026-01-01"),
        date("2027-01-01"),
        date("2026-12-06"),
        Whose::Everyone,
    )
    .await
    .unwrap();
    let g = |month: &str, state: &str, invoices: i64| InvoiceGroup {
        month: month.to_string(),
        state: state.to_string(),
        invoices,
    };
    assert_eq!(
        invoices,
        vec![
            g("2026-10", "void", 1),
            g("2026-11", "overdue", 1),
            g("2026-11", "paid", 1),
            g("2026-12", "open", 1),
        ],
        "drafts were never issued; 2025 is outside"
    );
    for whose in [Whose::FewOf(other), Whose::ManyOf(other)] {
        let sues_invoices = pipeline::invoices_by_month(
            &mut conn,
            date("2026-01-01"),
            date("2027-01-01"),
            date("2026-12-06"),
            whose,
        )
        .await
        .unwrap();
        assert_eq!(sues_invoices, vec![g("2026-12", "open", 1)], "{whose:?}");
    }
}
