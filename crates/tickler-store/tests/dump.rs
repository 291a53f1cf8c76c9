//! The tables of a whole-installation export, read from the live schema the same way on
//! both backends, and rows read page by page in byte order of their keys.

mod support;

use tickler_store::{Store, dump};

on_both_backends! {
    tables_are_found_in_reference_order => sqlite_tables_are_found_in_reference_order, postgres_tables_are_found_in_reference_order;
    rows_come_in_byte_order_of_their_keys_across_pages => sqlite_rows_come_in_byte_order_of_their_keys_across_pages, postgres_rows_come_in_byte_order_of_their_keys_across_pages;
}

async fn tables_are_found_in_reference_order(store: Store) {
    let mut db = store.conn().await.expect("conn");
    let tables = dump::tables(&mut db).await.expect("tables");
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert!(!names.iter().any(|n| n.contains("_search")), "{names:?}");
    assert!(!names.contains(&"_sqlx_migrations"));
    for (i, table) in tables.iter().enumerate() {
        for referred in &table.references {
            let at = names
                .iter()
                .position(|n| n == referred)
                .expect("a known table");
            assert!(
                at <= i,
                "{} refers to {referred}, which comes later",
                table.name
            );
        }
    }
    let contracts = tables
        .iter()
        .find(|t| t.name == "contracts")
        .expect("contracts");
    assert_eq!(contracts.primary_key, ["id"]);
    assert_eq!(contracts.columns[0].name, "id");
    assert!(dump::schema_version(&mut db).await.expect("version") >= 24);
}

async fn rows_come_in_byte_order_of_their_keys_across_pages(store: Store) {
    // More than two pages of settings, whose keys a language's collation would order
    // otherwise (case, punctuation, accents).
    let prefixes = ["a_", "A", "a-", "ab", "é", "B"];
    let keys: Vec<String> = (0..12_001)
        .map(|i| format!("{}{i:05}", prefixes[i % prefixes.len()]))
        .collect();
    let mut tx = store.begin().await.expect("begin");
    let columns = [
        "setting_key".to_string(),
        "updated_at".to_string(),
        "value".to_string(),
    ];
    let mut writer = dump::RowWriter::new("settings", &columns);
    for key in &keys {
        writer
            .push(
                &mut tx,
                vec![
                    dump::Value::Text(Some(key.clone())),
                    dump::Value::Integer(Some(1)),
                    dump::Value::Text(Some(String::new())),
                ],
            )
            .await
            .expect("push");
    }
    assert_eq!(writer.finish(&mut tx).await.expect("finish"), 12_001);
    tickler_store::commit(tx).await.expect("commit");

    let mut db = store.conn().await.expect("conn");
    let tables = dump::tables(&mut db).await.expect("tables");
    let settings = tables
        .iter()
        .find(|t| t.name == "settings")
        .expect("settings");
    let mut read = Vec::new();
    let count = dump::read_rows(&mut db, settings, |row| {
        read.push(row[0].clone().expect("a key"));
        Ok::<(), tickler_store::StoreError>(())
    })
    .await
    .expect("read");
    let mut expected = keys;
    expected.sort();
    assert_eq!(count, 12_001);
    assert_eq!(read, expected);
}
