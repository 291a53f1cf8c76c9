//! Customers: who receives the notices, in which language and time zone.

use jiff::Timestamp;
use sqlx::AssertSqlSafe;
use tickler_core::language::Language;

use crate::{Backend, Db, StoreError, batch, json_ints, time::millis};

pub use tickler_core::customer::Customer;

pub struct NewCustomer<'a> {
    pub name: &'a str,
    pub emails: &'a [String],
    pub language: Language,
    pub time_zone: Option<&'a str>,
}

pub async fn insert(db: &mut Db, new: &NewCustomer<'_>, now: Timestamp) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (name, language, time_zone, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(new.name)
    .bind(new.language.code())
    .bind(new.time_zone)
    .bind(millis(now))
    .fetch_one(&mut *db)
    .await?;
    insert_emails(db, id, new.emails).await?;
    Ok(id)
}

/// Inserts many customers with few statements (an import); returns their ids in the order
/// given. An address already taken fails the whole call, as [`insert`] does for one.
pub async fn insert_many(
    db: &mut Db,
    new: &[NewCustomer<'_>],
    now: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    const COLUMNS: usize = 5;
    let mut ids = Vec::with_capacity(new.len());
    for rows in new.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO customers (name, language, time_zone, created_at, updated_at) \
             VALUES {}{}",
            batch::values(db, rows.len(), COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(row.name)
                .bind(row.language.code())
                .bind(row.time_zone)
                .bind(millis(now))
                .bind(millis(now));
        }
        ids.extend(batch::inserted_ids(db, "customers", query, rows.len()).await?);
    }
    let emails: Vec<(i64, usize, &String)> = ids
        .iter()
        .zip(new)
        .flat_map(|(id, row)| {
            row.emails
                .iter()
                .enumerate()
                .map(move |(position, email)| (*id, position, email))
        })
        .collect();
    for rows in emails.chunks(batch::rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO customer_emails (email, customer_id, position) VALUES {}",
            batch::values(db, rows.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, position, email) in rows {
            query = query
                .bind(email.to_lowercase())
                .bind(*id)
                .bind(*position as i64);
        }
        query.execute(&mut *db).await.map_err(|e| {
            let err = StoreError::from(e);
            if err.is_unique_violation() {
                StoreError::Conflict(
                    "one of the addresses already belongs to another customer".to_string(),
                )
            } else {
                err
            }
        })?;
    }
    Ok(ids)
}

/// The customers to whom each of `emails` belongs, as (address in lower case, customer id):
/// [`find_by_email`] for many addresses at once. Addresses nobody has are left out.
pub async fn find_by_emails(
    db: &mut Db,
    emails: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut found = Vec::new();
    for chunk in emails.chunks(batch::rows_per_statement(1)) {
        let sql = format!(
            "SELECT email, customer_id FROM customer_emails WHERE email IN {}",
            batch::values(db, 1, chunk.len())
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for email in chunk {
            query = query.bind(email.to_lowercase());
        }
        found.extend(query.fetch_all(&mut *db).await?);
    }
    Ok(found)
}

type CustomerRow = (i64, String, String, Option<String>);

fn customer_of(
    (id, name, language, time_zone): CustomerRow,
    emails: Vec<String>,
) -> Result<Customer, StoreError> {
    Ok(Customer {
        id,
        name,
        emails,
        language: language
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("customer {id}: language \"{language}\"")))?,
        time_zone,
    })
}

pub async fn get(db: &mut Db, id: i64) -> Result<Customer, StoreError> {
    let row: Option<CustomerRow> =
        sqlx::query_as("SELECT id, name, language, time_zone FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
    let row = row.ok_or_else(|| StoreError::not_found("customer", id))?;
    let emails: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM customer_emails WHERE customer_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    customer_of(row, emails)
}

/// The customers of `ids` that exist, with their addresses, in no particular order: two
/// queries for a dispatcher's batch.
pub async fn get_many(db: &mut Db, ids: &[i64]) -> Result<Vec<Customer>, StoreError> {
    let backend = Backend::of(db);
    let list = json_ints(ids.iter().copied());
    let rows: Vec<CustomerRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, name, language, time_zone FROM customers WHERE {}",
        backend.in_ids("id", "$1")
    )))
    .bind(&list)
    .fetch_all(&mut *db)
    .await?;
    let addresses: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT customer_id, email FROM customer_emails WHERE {} \
         ORDER BY customer_id, position",
        backend.in_ids("customer_id", "$1")
    )))
    .bind(&list)
    .fetch_all(&mut *db)
    .await?;
    let mut emails: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for (customer, email) in addresses {
        emails.entry(customer).or_default().push(email);
    }
    rows.into_iter()
        .map(|row| {
            let found = emails.remove(&row.0).unwrap_or_default();
            customer_of(row, found)
        })
        .collect()
}

/// The customer one of whose addresses is `email` (addresses compare case-insensitively).
pub async fn find_by_email(db: &mut Db, email: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT customer_id FROM customer_emails WHERE email = $1")
            .bind(email.to_lowercase())
            .fetch_optional(db)
            .await?,
    )
}

/// Replaces a customer's details and addresses.
pub async fn update(
    db: &mut Db,
    id: i64,
    new: &NewCustomer<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE customers SET name = $1, language = $2, time_zone = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(new.name)
    .bind(new.language.code())
    .bind(new.time_zone)
    .bind(millis(now))
    .bind(id)
    .execute(&mut *db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("customer", id));
    }
    sqlx::query("DELETE FROM customer_emails WHERE customer_id = $1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    insert_emails(db, id, new.emails).await
}

async fn insert_emails(db: &mut Db, id: i64, emails: &[String]) -> Result<(), StoreError> {
    for (position, email) in emails.iter().enumerate() {
        let inserted = sqlx::query(
            "INSERT INTO customer_emails (email, customer_id, position) VALUES ($1, $2, $3)",
        )
        .bind(email.to_lowercase())
        .bind(id)
        .bind(position as i64)
        .execute(&mut *db)
        .await;
        if let Err(e) = inserted {
            let err = StoreError::from(e);
            return Err(if err.is_unique_violation() {
                StoreError::Conflict(format!(
                    "the address {email} already belongs to another customer"
                ))
            } else {
                err
            });
        }
    }
    Ok(())
}

/// The plan a customer's new contracts follow unless one is named, if the team chose one.
pub async fn default_plan_id(db: &mut Db, id: i64) -> Result<Option<i64>, StoreError> {
    let found: Option<Option<i64>> =
        sqlx::query_scalar("SELECT default_plan_id FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
    found.ok_or_else(|| StoreError::not_found("customer", id))
}

/// The ids of up to `limit` customers after `after`, in id order: an export's pages.
pub async fn ids_after(db: &mut Db, after: i64, limit: i64) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *db)
            .await?,
    )
}

/// Every customer that has a default plan, with it: (customer id, plan id).
pub async fn default_plans(db: &mut Db) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, default_plan_id FROM customers WHERE default_plan_id IS NOT NULL",
    )
    .fetch_all(&mut *db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Sets (or, with `None`, clears) the plan a customer's new contracts follow.
pub async fn set_default_plan(
    db: &mut Db,
    id: i64,
    plan_id: Option<i64>,
) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE customers SET default_plan_id = $1 WHERE id = $2")
        .bind(plan_id)
        .bind(id)
        .execute(&mut *db)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::not_found("customer", id));
    }
    Ok(())
}
