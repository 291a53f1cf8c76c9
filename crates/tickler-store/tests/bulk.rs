//! Bulk writes (an import): the indexes set aside on SQLite come back as they were, and the
//! ids of multi-row inserts are those of their rows on both backends.

mod support;

use tickler_core::language::Language;
use tickler_store::{Db, Store, customers, customers::NewCustomer};

use support::{add_contract, fixture, t0};

on_both_backends! {
    many_customers_get_their_own_ids => sqlite_many_customers_get_their_own_ids, postgres_many_customers_get_their_own_ids;
}

/// The schema's indexes of the tables an import fills, as (name, CREATE statement).
async fn indexes(db: &mut Db) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('contracts', 'reminders', 'customers') ORDER BY name",
    )
    .fetch_all(db)
    .await
    .expect("list indexes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_bulk_write_into_a_small_database_builds_its_indexes_again() {
    support::run_sqlite(|store: Store| async move {
        let fixture = fixture(&store).await;
        let mut tx = store.begin().await.expect("begin");
        let before = indexes(&mut tx).await;
        assert!(before.iter().any(|(name, _)| name == "reminders_send_at"));
        let bulk = tickler_store::prepare_bulk_write(&mut tx, 2)
            .await
            .expect("prepare");
        assert_eq!(indexes(&mut tx).await, [], "set aside while the rows go in");
        let id = add_contract(&mut tx, &fixture, "Chiller service").await;
        tickler_store::finish_bulk_write(&mut tx, bulk)
            .await
            .expect("finish");
        assert_eq!(indexes(&mut tx).await, before, "the same indexes again");
        tickler_store::commit(tx).await.expect("commit");
        let mut db = store.conn().await.expect("conn");
        let found: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM contracts INDEXED BY contracts_title_id \
             WHERE title = 'Chiller service' AND id = $1",
        )
        .bind(id)
        .fetch_one(&mut *db)
        .await
        .expect("read through the rebuilt index");
        assert_eq!(found, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_bulk_write_into_a_larger_database_keeps_its_indexes() {
    support::run_sqlite(|store: Store| async move {
        fixture(&store).await;
        let mut tx = store.begin().await.expect("begin");
        let before = indexes(&mut tx).await;
        // One contract is there already, and the file brings none.
        let bulk = tickler_store::prepare_bulk_write(&mut tx, 0)
            .await
            .expect("prepare");
        assert_eq!(indexes(&mut tx).await, before);
        tickler_store::finish_bulk_write(&mut tx, bulk)
            .await
            .expect("finish");
        tickler_store::commit(tx).await.expect("commit");
    })
    .await;
}

async fn many_customers_get_their_own_ids(store: Store) {
    fixture(&store).await;
    let emails: Vec<Vec<String>> = (0..700)
        .map(|i| vec![format!("c{i}@bulk.test"), format!("alt{i}@bulk.test")])
        .collect();
    let names: Vec<String> = (0..700).map(|i| format!("Customer {i}")).collect();
    let rows: Vec<NewCustomer> = names
        .iter()
        .zip(&emails)
        .map(|(name, emails)| NewCustomer {
            name,
            emails,
            language: Language::En,
            time_zone: None,
        })
        .collect();
    let mut tx = store.begin().await.expect("begin");
    let bulk = tickler_store::prepare_bulk_write(&mut tx, 700)
        .await
        .expect("prepare");
    let ids = customers::insert_many(&mut tx, &rows, t0())
        .await
        .expect("insert many");
    tickler_store::finish_bulk_write(&mut tx, bulk)
        .await
        .expect("finish");
    tickler_store::commit(tx).await.expect("commit");
    assert_eq!(ids.len(), 700);
    let mut db = store.conn().await.expect("conn");
    for (i, id) in ids.iter().enumerate().step_by(99) {
        let customer = customers::get(&mut db, *id).await.expect("get");
        assert_eq!(customer.name, names[i]);
        assert_eq!(customer.emails, emails[i]);
    }
}
