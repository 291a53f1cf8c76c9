//! Tasks: made once per source, listed with their contract, customer and owner, counted,
//! closed and escalated once: the same tests on SQLite and PostgreSQL.

#[macro_use]
mod support;

use support::{at_days, date, fixture, t0};
use tickler_core::{
    subject::{SubjectKind, SubjectRef},
    task::TaskStatus,
};
use tickler_store::{
    Store, contracts,
    tasks::{self, NewTask, TaskFilter},
};

on_both_backends! {
    tasks_list_with_names_and_count => sqlite_tasks_list_with_names_and_count, postgres_tasks_list_with_names_and_count;
    tasks_close_and_escalate_once => sqlite_tasks_close_and_escalate_once, postgres_tasks_close_and_escalate_once;
}

async fn two_tasks(store: &Store) -> (support::Fixture, i64, i64) {
    let fx = fixture(store).await;
    let mut db = store.begin().await.unwrap();
    let contract = contracts::get(&mut db, fx.contract_id).await.unwrap();
    let term = contracts::current_term(&mut db, &contract).await.unwrap();
    let about = SubjectRef {
        kind: SubjectKind::ContractTerm,
        id: term.id,
    };
    let new = |source, title, owner_id, due| NewTask {
        contract_id: Some(fx.contract_id),
        about,
        source,
        title,
        owner_id,
        due_date: date(due),
    };
    let call = tasks::insert(
        &mut db,
        &new(
            "reminder:1",
            "Call the customer",
            Some(fx.owner_id),
            "2027-01-13",
        ),
        t0(),
    )
    .await
    .unwrap()
    .expect("a new task");
    let again = tasks::insert(
        &mut db,
        &new("reminder:1", "Call again", Some(fx.owner_id), "2027-01-13"),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(again, None, "one task per source");
    let quote = tasks::insert(
        &mut db,
        &new("answer:1", "Prepare a renewal quote", None, "2027-01-10"),
        t0(),
    )
    .await
    .unwrap()
    .expect("a new task");
    tickler_store::commit(db).await.unwrap();
    (fx, call, quote)
}

async fn tasks_list_with_names_and_count(store: Store) {
    let (fx, call, quote) = two_tasks(&store).await;
    let mut db = store.conn().await.unwrap();
    let all = tasks::list_items(&mut db, &TaskFilter::default())
        .await
        .unwrap();
    let ids: Vec<i64> = all.iter().map(|i| i.task.id).collect();
    assert_eq!(ids, vec![quote, call], "soonest due first");
    let call_item = &all[1];
    assert_eq!(
        call_item.contract_title.as_deref(),
        Some("Boiler maintenance")
    );
    assert_eq!(call_item.customer_name.as_deref(), Some("Acme Boilers"));
    assert_eq!(call_item.owner_email.as_deref(), Some("owner@tickler.test"));
    assert_eq!(call_item.owner_name.as_deref(), Some("Olive Owner"));
    assert_eq!(call_item.task.title, "Call the customer");
    assert_eq!(all[0].owner_email, None);

    let mine = TaskFilter {
        owner_id: Some(fx.owner_id),
        status: Some(TaskStatus::Open),
        ..TaskFilter::default()
    };
    assert_eq!(tasks::count(&mut db, &mine).await.unwrap(), 1);
    let overdue_on_11th = TaskFilter {
        status: Some(TaskStatus::Open),
        due_by: Some(date("2027-01-11")),
        ..TaskFilter::default()
    };
    assert_eq!(tasks::count(&mut db, &overdue_on_11th).await.unwrap(), 1);
    let listed = tasks::list_items(
        &mut db,
        &TaskFilter {
            limit: Some(1),
            ..TaskFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        tasks::count(&mut db, &TaskFilter::default()).await.unwrap(),
        2
    );
}

async fn tasks_close_and_escalate_once(store: Store) {
    let (_, call, quote) = two_tasks(&store).await;
    let mut db = store.conn().await.unwrap();
    let candidates = tasks::unescalated_open(&mut db, date("2027-01-31"), 10)
        .await
        .unwrap();
    assert_eq!(candidates.len(), 2);
    assert!(
        tasks::mark_escalated(&mut db, call, at_days(3))
            .await
            .unwrap()
    );
    assert!(
        !tasks::mark_escalated(&mut db, call, at_days(4))
            .await
            .unwrap(),
        "once"
    );
    assert_eq!(
        tasks::get(&mut db, call).await.unwrap().escalated_at,
        Some(at_days(3))
    );

    assert!(
        tasks::close(
            &mut db,
            quote,
            TaskStatus::Done,
            Some("sent"),
            "cli:sam",
            at_days(5)
        )
        .await
        .unwrap()
    );
    assert!(
        !tasks::close(
            &mut db,
            quote,
            TaskStatus::Cancelled,
            None,
            "system",
            at_days(6)
        )
        .await
        .unwrap(),
        "a closed task stays as it was closed"
    );
    let done = tasks::get(&mut db, quote).await.unwrap();
    assert_eq!(
        (done.status, done.note.as_deref(), done.closed_by.as_deref()),
        (TaskStatus::Done, Some("sent"), Some("cli:sam"))
    );
    assert!(
        !tasks::mark_escalated(&mut db, quote, at_days(7))
            .await
            .unwrap()
    );
    assert!(
        tasks::unescalated_open(&mut db, date("2027-01-31"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
