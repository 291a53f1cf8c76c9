//! Renewal quotes and their lines, guarded status changes and the expiry query: the same
//! tests on SQLite and PostgreSQL.

#[macro_use]
mod support;

use support::{at_days, date, fixture, t0};
use tickler_core::{
    billing::{BillingInterval, BillingTiming, IntervalUnit, InvoiceMode},
    invoice::{LineItem, parse_line, totals},
    money::Currency,
    quote::QuoteStatus,
};
use tickler_store::{
    Store, contracts,
    quotes::{self, Decision, NewQuote, QuoteBilling, QuoteFilter, QuoteTerms},
};

on_both_backends! {
    drafts_round_trip_and_are_edited_only_as_drafts => sqlite_drafts_round_trip_and_are_edited_only_as_drafts, postgres_drafts_round_trip_and_are_edited_only_as_drafts;
    status_changes_are_guarded => sqlite_status_changes_are_guarded, postgres_status_changes_are_guarded;
    lists_filter_and_sent_quotes_past_validity_are_found => sqlite_lists_filter_and_sent_quotes_past_validity_are_found, postgres_lists_filter_and_sent_quotes_past_validity_are_found;
}

fn lines() -> Vec<LineItem> {
    vec![
        parse_line("line 1", "Support|1|100|24", Currency::EUR).unwrap(),
        parse_line("line 2", "Hours|2.5|40.10|13", Currency::EUR).unwrap(),
    ]
}

fn billing() -> QuoteBilling {
    QuoteBilling {
        interval: BillingInterval {
            count: 3,
            unit: IntervalUnit::Months,
        },
        timing: BillingTiming::InArrears,
        invoice_mode: InvoiceMode::Draft,
        payment_days: 30,
    }
}

/// Inserts a draft of the fixture's contract valid until `valid_until`.
async fn draft(store: &Store, contract_id: i64, valid_until: &str, billed: bool) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let contract = contracts::get(&mut tx, contract_id).await.unwrap();
    let term = contracts::current_term(&mut tx, &contract).await.unwrap();
    let lines = lines();
    let id = quotes::insert_draft(
        &mut tx,
        &NewQuote {
            contract_id,
            term_id: term.id,
            currency: Currency::EUR,
            terms: QuoteTerms {
                start_date: date("2028-01-01"),
                end_date: date("2028-12-31"),
                valid_until: date(valid_until),
                billing: billed.then(billing),
                lines: &lines,
                totals: &totals(&lines),
            },
        },
        t0(),
    )
    .await
    .unwrap();
    tickler_store::commit(tx).await.unwrap();
    id
}

async fn drafts_round_trip_and_are_edited_only_as_drafts(store: Store) {
    let f = fixture(&store).await;
    let id = draft(&store, f.contract_id, "2027-06-30", true).await;
    let mut db = store.conn().await.unwrap();
    let quote = quotes::get(&mut db, id).await.unwrap();
    let expected = totals(&lines());
    assert_eq!(quote.status, QuoteStatus::Draft);
    assert_eq!(quote.number(), format!("Q-{id}"));
    assert_eq!(
        (quote.start_date, quote.end_date, quote.valid_until),
        (date("2028-01-01"), date("2028-12-31"), date("2027-06-30"))
    );
    assert_eq!(
        (quote.subtotal, quote.tax, quote.total),
        (expected.subtotal, expected.tax, expected.total)
    );
    assert_eq!(quote.billing, Some(billing()));
    assert_eq!(quote.next_term_id, None);
    let stored = quotes::lines(&mut db, &quote).await.unwrap();
    assert_eq!(
        stored.iter().map(|l| l.item.clone()).collect::<Vec<_>>(),
        lines()
    );
    assert_eq!(
        stored.iter().map(|l| l.net).collect::<Vec<_>>(),
        lines().iter().map(LineItem::net).collect::<Vec<_>>()
    );
    let locked = quotes::get_for_update(&mut db, store.backend(), id)
        .await
        .unwrap();
    assert_eq!(locked, quote);
    assert!(quotes::get(&mut db, 999).await.is_err());

    // An edit replaces terms and lines; without billing the columns are all empty.
    let one = &lines()[..1];
    let edited = QuoteTerms {
        start_date: date("2028-01-01"),
        end_date: date("2029-06-30"),
        valid_until: date("2027-07-15"),
        billing: None,
        lines: one,
        totals: &totals(one),
    };
    assert!(
        quotes::update_draft(&mut db, id, &edited, at_days(1))
            .await
            .unwrap()
    );
    let quote = quotes::get(&mut db, id).await.unwrap();
    assert_eq!(quote.billing, None);
    assert_eq!(quote.end_date, date("2029-06-30"));
    assert_eq!(quote.total, totals(one).total);
    assert_eq!(quotes::lines(&mut db, &quote).await.unwrap().len(), 1);

    // Once sent, it is no longer edited.
    assert!(quotes::mark_sent(&mut db, id, at_days(2)).await.unwrap());
    assert!(
        !quotes::update_draft(&mut db, id, &edited, at_days(3))
            .await
            .unwrap()
    );
    let quote = quotes::get(&mut db, id).await.unwrap();
    assert_eq!(quote.status, QuoteStatus::Sent);
    assert_eq!(quote.sent_at, Some(at_days(2)));
}

async fn status_changes_are_guarded(store: Store) {
    let f = fixture(&store).await;
    let id = draft(&store, f.contract_id, "2027-06-30", false).await;
    let mut db = store.conn().await.unwrap();
    let contract = contracts::get(&mut db, f.contract_id).await.unwrap();
    let term = contracts::current_term(&mut db, &contract).await.unwrap();
    let accept = Decision {
        status: QuoteStatus::Accepted,
        on: date("2027-06-01"),
        by: "owner@tickler.test",
        reason: None,
        next_term_id: Some(term.id),
    };
    // A draft is neither decided nor expired.
    assert!(!quotes::decide(&mut db, id, &accept, t0()).await.unwrap());
    assert!(!quotes::expire(&mut db, id, t0()).await.unwrap());
    assert!(quotes::mark_sent(&mut db, id, t0()).await.unwrap());
    assert!(!quotes::mark_sent(&mut db, id, t0()).await.unwrap());
    assert!(
        quotes::decide(&mut db, id, &accept, at_days(1))
            .await
            .unwrap()
    );
    // The first decision stands.
    assert!(
        !quotes::decide(&mut db, id, &accept, at_days(2))
            .await
            .unwrap()
    );
    assert!(!quotes::expire(&mut db, id, at_days(2)).await.unwrap());
    let quote = quotes::get(&mut db, id).await.unwrap();
    assert_eq!(quote.status, QuoteStatus::Accepted);
    assert_eq!(quote.decided_on, Some(date("2027-06-01")));
    assert_eq!(quote.decided_by.as_deref(), Some("owner@tickler.test"));
    assert_eq!(quote.next_term_id, Some(term.id));

    let declined = draft(&store, f.contract_id, "2027-06-30", false).await;
    assert!(quotes::mark_sent(&mut db, declined, t0()).await.unwrap());
    let decline = Decision {
        status: QuoteStatus::Declined,
        on: date("2027-06-02"),
        by: "customer",
        reason: Some("too expensive"),
        next_term_id: None,
    };
    assert!(
        quotes::decide(&mut db, declined, &decline, t0())
            .await
            .unwrap()
    );
    let quote = quotes::get(&mut db, declined).await.unwrap();
    assert_eq!(quote.status, QuoteStatus::Declined);
    assert_eq!(quote.decline_reason.as_deref(), Some("too expensive"));

    // One term is started by one quote only.
    let other = draft(&store, f.contract_id, "2027-06-30", false).await;
    assert!(quotes::mark_sent(&mut db, other, t0()).await.unwrap());
    assert!(quotes::decide(&mut db, other, &accept, t0()).await.is_err());
}

async fn lists_filter_and_sent_quotes_past_validity_are_found(store: Store) {
    let f = fixture(&store).await;
    let early = draft(&store, f.contract_id, "2027-05-31", true).await;
    let late = draft(&store, f.contract_id, "2027-06-30", false).await;
    let unsent = draft(&store, f.contract_id, "2027-01-31", false).await;
    let mut db = store.conn().await.unwrap();
    for id in [early, late] {
        assert!(quotes::mark_sent(&mut db, id, t0()).await.unwrap());
    }
    let all = quotes::list(&mut db, &QuoteFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![unsent, late, early]
    );
    let sent = quotes::list(
        &mut db,
        &QuoteFilter {
            contract_id: Some(f.contract_id),
            status: Some(QuoteStatus::Sent),
            limit: Some(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(sent.iter().map(|q| q.id).collect::<Vec<_>>(), vec![late]);
    let none = quotes::list(
        &mut db,
        &QuoteFilter {
            contract_id: Some(999),
            ..QuoteFilter::default()
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());

    // Valid through its date: expired only the day after; drafts never.
    let ids = |quotes: Vec<quotes::Quote>| quotes.into_iter().map(|q| q.id).collect::<Vec<_>>();
    let due = async |db: &mut tickler_store::Db, today: &str| {
        ids(quotes::sent_past_validity(db, date(today), 10)
            .await
            .unwrap())
    };
    assert_eq!(due(&mut db, "2027-05-31").await, Vec::<i64>::new());
    assert_eq!(due(&mut db, "2027-06-01").await, vec![early]);
    assert_eq!(due(&mut db, "2027-08-01").await, vec![early, late]);
    assert!(quotes::expire(&mut db, early, t0()).await.unwrap());
    assert_eq!(due(&mut db, "2027-08-01").await, vec![late]);
    assert_eq!(
        quotes::get(&mut db, early).await.unwrap().status,
        QuoteStatus::Expired
    );
}
