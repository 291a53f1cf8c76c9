//! Plans and their steps.

use jiff::{Timestamp, civil::Time};
use tickler_core::plan::{Offset, Plan, Recipients, Step};

use crate::{Db, StoreError, time::millis};

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
        sqlx::query(
            "INSERT INTO plan_steps (plan_id, position, step_key, label, anchor, offset_days, \
             offset_unit, send_time, to_customer, to_owner, to_team, cc_owner, mode, template) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
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
        .execute(&mut *db)
        .await?;
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
         to_owner, to_team, cc_owner, mode, template FROM plan_steps WHERE plan_id = $1 \
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
