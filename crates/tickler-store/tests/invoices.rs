//! Billing schedules, periods, invoices, payments and number sequences: the same tests on
//! SQLite and PostgreSQL.

#[macro_use]
mod support;

use support::{date, fixture, t0};
use tickler_core::{
    billing::{BillingInterval, BillingTiming, IntervalUnit, InvoiceMode},
    invoice::{InvoiceState, InvoiceStatus, parse_line, totals},
    money::Currency,
};
use tickler_store::{
    Store,
    billing::{self, BillingSchedule, NewPeriod, PeriodStatus},
    contracts,
    invoices::{self, InvoiceFilter, NewInvoice, NewPayment},
};

on_both_backends! {
    schedules_and_lines_round_trip => sqlite_schedules_and_lines_round_trip, postgres_schedules_and_lines_round_trip;
    a_period_is_invoiced_once => sqlite_a_period_is_invoiced_once, postgres_a_period_is_invoiced_once;
    numbers_count_per_year_and_roll_back => sqlite_numbers_count_per_year_and_roll_back, postgres_numbers_count_per_year_and_roll_back;
    invoices_issue_pay_and_void_guarded => sqlite_invoices_issue_pay_and_void_guarded, postgres_invoices_issue_pay_and_void_guarded;
}

fn lines() -> Vec<tickler_core::invoice::LineItem> {
    vec![
        parse_line("line 1", "Support|1|100|24", Currency::EUR).unwrap(),
        parse_line("line 2", "Hours|2.5|40.10|13", Currency::EUR).unwrap(),
    ]
}

async fn term_id(store: &Store, contract_id: i64) -> i64 {
    let mut db = store.conn().await.unwrap();
    let contract = contracts::get(&mut db, contract_id).await.unwrap();
    contracts::current_term(&mut db, &contract)
        .await
        .unwrap()
        .id
}

async fn schedules_and_lines_round_trip(store: Store) {
    let f = fixture(&store).await;
    let schedule = BillingSchedule {
        contract_id: f.contract_id,
        interval: BillingInterval {
            count: 3,
            unit: IntervalUnit::Months,
        },
        timing: BillingTiming::InArrears,
        cycles: Some(4),
        invoice_mode: InvoiceMode::Draft,
        payment_days: 30,
    };
    let mut tx = store.begin().await.unwrap();
    billing::put_schedule(&mut tx, &schedule, &lines(), t0())
        .await
        .unwrap();
    tickler_store::commit(tx).await.unwrap();
    let mut db = store.conn().await.unwrap();
    assert_eq!(
        billing::schedule(&mut db, f.contract_id).await.unwrap(),
        Some(schedule.clone())
    );
    assert_eq!(
        billing::lines(&mut db, f.contract_id, Currency::EUR)
            .await
            .unwrap(),
        lines()
    );
    assert_eq!(billing::schedule(&mut db, 999).await.unwrap(), None);
    drop(db);
    // Putting it again replaces schedule and lines.
    let mut tx = store.begin().await.unwrap();
    billing::put_schedule(&mut tx, &schedule, &lines()[..1], t0())
        .await
        .unwrap();
    tickler_store::commit(tx).await.unwrap();
    let mut db = store.conn().await.unwrap();
    assert_eq!(
        billing::lines(&mut db, f.contract_id, Currency::EUR)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_period_is_invoiced_once(store: Store) {
    let f = fixture(&store).await;
    let term = term_id(&store, f.contract_id).await;
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for (cycle, start, end) in [
        (1, "2026-03-01", "2026-03-31"),
        (2, "2026-04-01", "2026-04-30"),
    ] {
        ids.push(
            billing::insert_period(
                &mut tx,
                &NewPeriod {
                    contract_id: f.contract_id,
                    term_id: term,
                    cycle,
                    start: date(start),
                    end: date(end),
                    issue_date: date(start),
                    bill_at: t0(),
                },
            )
            .await
            .unwrap(),
        );
    }
    tickler_store::commit(tx).await.unwrap();
    // The same period again is refused by the unique key.
    let mut tx = store.begin().await.unwrap();
    let twice = billing::insert_period(
        &mut tx,
        &NewPeriod {
            contract_id: f.contract_id,
            term_id: term,
            cycle: 1,
            start: date("2026-03-01"),
            end: date("2026-03-31"),
            issue_date: date("2026-03-01"),
            bill_at: t0(),
        },
    )
    .await;
    assert!(twice.is_err(), "one row per contract and period start");
    drop(tx);

    // What a preview predicts: the pending periods billed before an instant, in order.
    {
        let mut db = store.conn().await.unwrap();
        let at_t0 = billing::pending_before(&mut db, t0()).await.unwrap();
        assert!(at_t0.is_empty(), "before, not at");
        let after = t0()
            .checked_add(jiff::SignedDuration::from_millis(1))
            .unwrap();
        let pending = billing::pending_before(&mut db, after).await.unwrap();
        assert_eq!(pending.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    }
    let mut tx = store.begin().await.unwrap();
    let due = billing::take_due_periods(&mut tx, store.backend(), t0(), 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    let items = lines();
    let totals = totals(&items);
    let invoice = invoices::insert_draft(
        &mut tx,
        &NewInvoice {
            contract_id: f.contract_id,
            period_id: Some(ids[0]),
            customer_id: f.customer_id,
            period_start: date("2026-03-01"),
            period_end: date("2026-03-31"),
            issue_date: date("2026-03-01"),
            due_date: date("2026-03-15"),
            currency: Currency::EUR,
            lines: &items,
            totals: &totals,
        },
        t0(),
    )
    .await
    .unwrap();
    assert!(
        billing::mark_invoiced(&mut tx, ids[0], invoice)
            .await
            .unwrap()
    );
    assert!(
        !billing::mark_invoiced(&mut tx, ids[0], invoice)
            .await
            .unwrap(),
        "only a pending period is marked"
    );
    assert!(
        billing::cancel_period(&mut tx, ids[1], "ended")
            .await
            .unwrap()
    );
    tickler_store::commit(tx).await.unwrap();

    let mut db = store.conn().await.unwrap();
    let periods = billing::periods(&mut db, f.contract_id).await.unwrap();
    assert_eq!(periods[0].status, PeriodStatus::Invoiced);
    assert_eq!(periods[0].invoice_id, Some(invoice));
    assert_eq!(periods[1].status, PeriodStatus::Cancelled);
    assert_eq!(billing::next_bill_at(&mut db).await.unwrap(), None);
    let later = t0()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    assert!(
        billing::pending_before(&mut db, later)
            .await
            .unwrap()
            .is_empty()
    );
    let stored = invoices::get(&mut db, invoice).await.unwrap();
    assert_eq!(stored.status, InvoiceStatus::Draft);
    assert_eq!(stored.number, None);
    assert_eq!(
        (stored.subtotal, stored.tax, stored.total),
        (20_025, 3_703, 23_728),
        "100.00 at 24% + 2.5 × 40.10 = 100.25 at 13%: tax 24.00 + 13.03"
    );
    let stored_lines = invoices::lines(&mut db, &stored).await.unwrap();
    assert_eq!(stored_lines.len(), 2);
    assert_eq!(stored_lines[1].net, 10_025);
    assert_eq!(stored_lines[1].item, items[1]);
}

async fn numbers_count_per_year_and_roll_back(store: Store) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(invoices::last_number(&mut tx, 2027).await.unwrap(), 0);
    assert_eq!(invoices::next_number(&mut tx, 2027).await.unwrap(), 1);
    assert_eq!(invoices::next_number(&mut tx, 2027).await.unwrap(), 2);
    assert_eq!(invoices::next_number(&mut tx, 2028).await.unwrap(), 1);
    tickler_store::commit(tx).await.unwrap();
    // Read without taking one: what a preview counts on from.
    let mut db = store.conn().await.unwrap();
    assert_eq!(invoices::last_number(&mut db, 2027).await.unwrap(), 2);
    assert_eq!(invoices::last_number(&mut db, 2027).await.unwrap(), 2);
    assert_eq!(invoices::last_number(&mut db, 2029).await.unwrap(), 0);
    drop(db);
    // A number taken by a transaction that rolls back is given again.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(invoices::next_number(&mut tx, 2027).await.unwrap(), 3);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(invoices::next_number(&mut tx, 2027).await.unwrap(), 3);
    tickler_store::commit(tx).await.unwrap();
}

async fn invoices_issue_pay_and_void_guarded(store: Store) {
    let f = fixture(&store).await;
    let items = lines();
    let totals = totals(&items);
    let mut tx = store.begin().await.unwrap();
    let id = invoices::insert_draft(
        &mut tx,
        &NewInvoice {
            contract_id: f.contract_id,
            period_id: None,
            customer_id: f.customer_id,
            period_start: date("2026-03-01"),
            period_end: date("2026-03-31"),
            issue_date: date("2026-03-01"),
            due_date: date("2026-03-15"),
            currency: Currency::EUR,
            lines: &items,
            totals: &totals,
        },
        t0(),
    )
    .await
    .unwrap();
    let draft = invoices::get_for_update(&mut tx, store.backend(), id)
        .await
        .unwrap();
    // A prepayment on the draft.
    let paid = invoices::record_payment(
        &mut tx,
        &NewPayment {
            invoice_id: id,
            amount: 10_000,
            paid_on: date("2026-02-27"),
            reference: Some("PRE"),
            recorded_by: "test",
        },
        draft.state(),
        InvoiceStatus::Draft,
        t0(),
    )
    .await
    .unwrap();
    assert!(paid.is_some());
    // A payment checked against a stale state is refused and writes nothing.
    let stale = invoices::record_payment(
        &mut tx,
        &NewPayment {
            invoice_id: id,
            amount: 1,
            paid_on: date("2026-02-27"),
            reference: None,
            recorded_by: "test",
        },
        InvoiceState {
            paid: 0,
            ..draft.state()
        },
        InvoiceStatus::Draft,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(stale, None);
    let issued = invoices::issue(
        &mut tx,
        id,
        &invoices::Issue {
            number: "INV-2026-0001",
            year: 2026,
            sequence: 1,
            issue_date: date("2026-03-02"),
            due_date: date("2026-03-16"),
            status: InvoiceStatus::Issued,
        },
        t0(),
    )
    .await
    .unwrap();
    assert!(issued);
    assert!(
        !invoices::issue(
            &mut tx,
            id,
            &invoices::Issue {
                number: "INV-2026-0002",
                year: 2026,
                sequence: 2,
                issue_date: date("2026-03-02"),
                due_date: date("2026-03-16"),
                status: InvoiceStatus::Issued,
            },
            t0(),
        )
        .await
        .unwrap(),
        "only a draft is issued"
    );
    assert!(
        invoices::set_status(
            &mut tx,
            id,
            InvoiceStatus::Issued,
            InvoiceStatus::Void,
            Some("wrong customer"),
            t0()
        )
        .await
        .unwrap()
    );
    tickler_store::commit(tx).await.unwrap();

    let mut db = store.conn().await.unwrap();
    let voided = invoices::get(&mut db, id).await.unwrap();
    assert_eq!(voided.status, InvoiceStatus::Void);
    assert_eq!(
        voided.number.as_deref(),
        Some("INV-2026-0001"),
        "keeps its number"
    );
    assert_eq!(voided.paid, 10_000);
    assert_eq!(voided.void_reason.as_deref(), Some("wrong customer"));
    assert_eq!(voided.issue_date, date("2026-03-02"));
    let payments = invoices::payments(&mut db, id).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].reference.as_deref(), Some("PRE"));
    let listed = invoices::list(
        &mut db,
        &InvoiceFilter {
            contract_id: Some(f.contract_id),
            status: Some(InvoiceStatus::Void),
            ..InvoiceFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1);
    let none = invoices::list(
        &mut db,
        &InvoiceFilter {
            status: Some(InvoiceStatus::Issued),
            ..InvoiceFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());
    let listed = invoices::list_with_parties(
        &mut db,
        &InvoiceFilter {
            contract_id: Some(f.contract_id),
            ..InvoiceFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].invoice, voided);
    assert_eq!(listed[0].contract_title, "Boiler maintenance");
    assert_eq!(listed[0].customer_name, "Acme Boilers");
    assert_eq!(listed[0].owner_id, Some(f.owner_id));
    assert!(matches!(
        invoices::get(&mut db, 999).await,
        Err(tickler_store::StoreError::NotFound { .. })
    ));
}
