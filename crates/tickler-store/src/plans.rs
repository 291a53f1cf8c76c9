//! Plans and their steps.

use jiff::{Timestamp, civil::Time};
use sqlx::AssertSqlSafe;
use tickler_core::{
    email::EmailAddress,
    plan::{Offset, Plan, Recipients, Step},
};

use crate::{Backend, Db, StoreError, json_ints, time::millis};

/// Stores `plan` unless a plan of that name exists; returns the plan's id either way.
pub async fn ensure(db: &mut Db, plan: &Plan, now: Timestamp) -> Result<i64, StoreError> {
    if let Some(id) = find_id(db, &plan.name).await? {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plans (name, description, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&plan.name)
    .bind(&plan.description)
    .bind(millis(now))
    .fetch_one(&mut *db)
    .await?;
    for (position, step) in plan.steps.iter().enumerate() {
        insert_step(db, id, position, step).await?;
    }
    Ok(id)
}

pub async fn find_id(db: &mut Db, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM plans WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?)
}

type StepRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
);

pub async fn get(db: &mut Db, id: i64) -> Result<Plan, StoreError> {
    let head: Option<(String, String)> =
        sqlx::query_as("SELECT name, description FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
    let (name, description) = head.ok_or_else(|| StoreError::not_found("plan", id))?;
    let rows: Vec<StepRow> = sqlx::query_as(
        "SELECT step_key, label, anchor, offset_days, offset_unit, send_time, to_customer, \
         to_owner, to_team, cc_owner, mode, template, reply_to FROM plan_steps WHERE plan_id = $1 \
         ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *db)
    .await?;
    let corrupt = |what: String| StoreError::Corrupt(format!("plan {name}: {what}"));
    let mut steps = Vec::with_capacity(rows.len());
    for (
        key,
        label,
        anchor,
        days,
        unit,
        send_time,
        customer,
        owner,
        team,
        cc_owner,
        mode,
        template,
        reply_to,
    ) in rows
    {
        steps.push(Step {
            anchor: anchor.parse().map_err(|e| corrupt(format!("{e}")))?,
            offset: Offset {
                days: i32::try_from(days).map_err(|e| corrupt(format!("offset {days}: {e}")))?,
                unit: unit.parse().map_err(|e| corrupt(format!("{e}")))?,
            },
            send_time: Time::strptime("%H:%M", &send_time)
                .map_err(|e| corrupt(format!("send time \"{send_time}\": {e}")))?,
            recipients: Recipients {
                customer: customer != 0,
                owner: owner != 0,
                team: team != 0,
                cc_owner: cc_owner != 0,
            },
            mode: mode.parse().map_err(|e| corrupt(format!("{e}")))?,
            reply_to: reply_to
                .map(|text| EmailAddress::parse("reply_to", &text))
                .transpose()
                .map_err(|e| corrupt(format!("step {key}: {e}")))?,
            key,
            label,
            template,
        });
    }
    Ok(Plan {
        name,
        description,
        steps,
    })
}

async fn insert_step(
    db: &mut Db,
    plan_id: i64,
    position: usize,
    step: &Step,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plan_steps (plan_id, position, step_key, label, anchor, offset_days, \
         offset_unit, send_time, to_customer, to_owner, to_team, cc_owner, mode, template, \
         reply_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(plan_id)
    .bind(position as i64)
    .bind(&step.key)
    .bind(&step.label)
    .bind(step.anchor.as_str())
    .bind(i64::from(step.offset.days))
    .bind(step.offset.unit.as_str())
    .bind(step.send_time.strftime("%H:%M").to_string())
    .bind(i64::from(step.recipients.customer))
    .bind(i64::from(step.recipients.owner))
    .bind(i64::from(step.recipients.team))
    .bind(i64::from(step.recipients.cc_owner))
    .bind(step.mode.as_str())
    .bind(&step.template)
    .bind(step.reply_to.as_ref().map(EmailAddress::as_str))
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The reply-to address the step `step_key` of plan `plan_id` sets, if it sets one. The
/// dispatcher reads it at send time, so a change to the plan reaches reminders already
/// scheduled.
pub async fn step_reply_to(
    db: &mut Db,
    plan_id: i64,
    step_key: &str,
) -> Result<Option<EmailAddress>, StoreError> {
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT reply_to FROM plan_steps WHERE plan_id = $1 AND step_key = $2")
            .bind(plan_id)
            .bind(step_key)
            .fetch_optional(db)
            .await?;
    stored
        .flatten()
        .map(|text| reply_address(plan_id, step_key, &text))
        .transpose()
}

/// Every step of the plans `plan_ids` that sets a reply-to address: (plan, step key,
/// address), for a dispatcher's batch in one query.
pub async fn step_reply_tos(
    db: &mut Db,
    plan_ids: &[i64],
) -> Result<Vec<(i64, String, EmailAddress)>, StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT plan_id, step_key, reply_to FROM plan_steps \
         WHERE reply_to IS NOT NULL AND {}",
        Backend::of(db).in_ids("plan_id", "$1")
    )))
    .bind(json_ints(plan_ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(plan, key, text)| {
            let address = reply_address(plan, &key, &text)?;
            Ok((plan, key, address))
        })
        .collect()
}

fn reply_address(plan_id: i64, step_key: &str, text: &str) -> Result<EmailAddress, StoreError> {
    EmailAddress::parse("reply_to", text)
        .map_err(|e| StoreError::Corrupt(format!("plan {plan_id}, step {step_key}: {e}")))
}

/// A plan as listed: what it is called, how many steps it has, whether it is archived.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub steps: i64,
    /// What the plan's emails call the contract ("subscription"); empty: "contract".
    pub noun: String,
    /// Archived plans keep running for the contracts that follow them, but no new contract
    /// may choose them.
    pub archived: bool,
}

type SummaryRow = (i64, String, String, i64, String, Option<i64>);

const SUMMARY_SQL: &str = "SELECT p.id, p.name, p.description, \
     (SELECT COUNT(*) FROM plan_steps s WHERE s.plan_id = p.id), p.noun, p.archived_at \
     FROM plans p";

fn summary((id, name, description, steps, noun, archived_at): SummaryRow) -> PlanSummary {
    PlanSummary {
        id,
        name,
        description,
        steps,
        noun,
        archived: archived_at.is_some(),
    }
}

/// Every plan, by name (there are a handful, not thousands), archived ones included.
pub async fn list(db: &mut Db) -> Result<Vec<PlanSummary>, StoreError> {
    let rows: Vec<SummaryRow> =
        sqlx::query_as(AssertSqlSafe(format!("{SUMMARY_SQL} ORDER BY p.name")))
            .fetch_all(&mut *db)
            .await?;
    Ok(rows.into_iter().map(summary).collect())
}

/// One plan as listed.
pub async fn summary_of(db: &mut Db, id: i64) -> Result<PlanSummary, StoreError> {
    let row: Option<SummaryRow> =
        sqlx::query_as(AssertSqlSafe(format!("{SUMMARY_SQL} WHERE p.id = $1")))
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
    row.map(summary)
        .ok_or_else(|| StoreError::not_found("plan", id))
}

/// Stores a new plan with its steps; the caller checked that the name is free.
pub async fn create(
    db: &mut Db,
    plan: &Plan,
    noun: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plans (name, description, noun, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(&plan.name)
    .bind(&plan.description)
    .bind(noun)
    .bind(millis(now))
    .fetch_one(&mut *db)
    .await?;
    for (position, step) in plan.steps.iter().enumerate() {
        insert_step(db, id, position, step).await?;
    }
    Ok(id)
}

/// Changes a plan's name, description and noun.
pub async fn describe(
    db: &mut Db,
    id: i64,
    name: &str,
    description: &str,
    noun: &str,
) -> Result<(), StoreError> {
    let changed =
        sqlx::query("UPDATE plans SET name = $1, description = $2, noun = $3 WHERE id = $4")
            .bind(name)
            .bind(description)
            .bind(noun)
            .bind(id)
            .execute(&mut *db)
            .await?
            .rows_affected();
    if changed == 0 {
        return Err(StoreError::not_found("plan", id));
    }
    Ok(())
}

/// Archives a plan (`Some(instant)`) or brings it back (`None`).
pub async fn set_archived(
    db: &mut Db,
    id: i64,
    archived_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE plans SET archived_at = $1 WHERE id = $2")
        .bind(archived_at.map(millis))
        .bind(id)
        .execute(&mut *db)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::not_found("plan", id));
    }
    Ok(())
}

/// The plan's noun, for its emails' wording; empty when the plan has none.
pub async fn noun(db: &mut Db, id: i64) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT noun FROM plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *db)
        .await?
        .unwrap_or_default())
}

/// Replaces a plan's steps with `steps`, in that order. Run it in the transaction that
/// also recomputes the plan's reminders.
pub async fn replace_steps(db: &mut Db, plan_id: i64, steps: &[Step]) -> Result<(), StoreError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM plans WHERE id = $1")
        .bind(plan_id)
        .fetch_optional(&mut *db)
        .await?;
    if exists.is_none() {
        return Err(StoreError::not_found("plan", plan_id));
    }
    sqlx::query("DELETE FROM plan_steps WHERE plan_id = $1")
        .bind(plan_id)
        .execute(&mut *db)
        .await?;
    for (position, step) in steps.iter().enumerate() {
        insert_step(db, plan_id, position, step).await?;
    }
    Ok(())
}

/// The active contracts that follow a plan, whose reminders follow its steps.
/// How many active contracts follow the plan, up to `cap`, for its page: counting a
/// million index entries took 50 ms.
pub async fn count_active_contracts(
    db: &mut Db,
    plan_id: i64,
    cap: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 AS one FROM contracts \
         WHERE plan_id = $1 AND status = 'active' LIMIT $2) AS following",
    )
    .bind(plan_id)
    .bind(cap)
    .fetch_one(db)
    .await?)
}

pub async fn active_contract_ids(db: &mut Db, plan_id: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM contracts WHERE plan_id = $1 AND status = 'active' ORDER BY id",
    )
    .bind(plan_id)
    .fetch_all(db)
    .await?)
}

/// Gives the scheduled reminders of a step (on the plan's active contracts) the step's
/// current label, template, mode, offset and position; their time and recipients are
/// recomputed separately. Returns how many changed.
pub async fn refresh_scheduled_reminders(
    db: &mut Db,
    plan_id: i64,
    position: usize,
    step: &Step,
    of_invoices: bool,
    now: Timestamp,
) -> Result<u64, StoreError> {
    // A contract's plan covers its terms and billing periods; the dunning plan covers every
    // invoice, whatever plan its contract follows.
    let whose = if of_invoices {
        "subject_type = 'invoice'"
    } else {
        "subject_type <> 'invoice' \
         AND contract_id IN (SELECT id FROM contracts WHERE plan_id = $8 AND status = 'active')"
    };
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE reminders SET label = $1, template = $2, mode = $3, offset_days = $4, \
         position = $5, updated_at = $6 \
         WHERE status = 'scheduled' AND kind = 'step' AND step_key = $7 \
         AND (label <> $1 OR template <> $2 OR mode <> $3 OR offset_days <> $4 OR position <> $5) \
         AND ($8 = $8) AND {whose}"
    )))
    .bind(&step.label)
    .bind(&step.template)
    .bind(step.mode.as_str())
    .bind(i64::from(step.offset.days))
    .bind(position as i64)
    .bind(millis(now))
    .bind(&step.key)
    .bind(plan_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A contract to preview a template against: id, title and customer name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PreviewContract {
    pub id: i64,
    pub title: String,
    pub customer_name: String,
}

/// The most recently entered active contracts, newest first, for a template preview.
pub async fn recent_active_contracts(
    db: &mut Db,
    limit: i64,
) -> Result<Vec<PreviewContract>, StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT c.id, c.title, cu.name FROM contracts c \
         JOIN customers cu ON cu.id = c.customer_id \
         WHERE c.status = 'active' ORDER BY c.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, customer_name)| PreviewContract {
            id,
            title,
            customer_name,
        })
        .collect())
}
