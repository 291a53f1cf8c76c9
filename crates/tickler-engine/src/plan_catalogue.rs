//! The plans on offer, as the team keeps them: made from scratch or copied from another,
//! renamed, archived (kept for the contracts that follow them, offered for no new one) and
//! brought back. What a plan's steps are is [`crate::plans`]' job.

use serde::Serialize;
use tickler_core::{
    ValidationError,
    event::{EventAction, EventSubject},
    plan::{AUTO_RENEWAL_PLAN, DUNNING_PLAN, Plan, RENEWAL_PLAN, SUBSCRIPTION_PLAN, Step},
};
/// A built-in template's name as people read it, for the pages that list templates.
pub use tickler_mail::templates::template_name;
use tickler_store::{
    Db, customers, events,
    plans::{self, PlanSummary},
    template_overrides,
};

use crate::{Actor, Engine, EngineError, plans::validate_steps};

/// Longest plan name, description and noun, in characters.
const MAX_NAME: usize = 80;
const MAX_DESCRIPTION: usize = 500;
const MAX_NOUN: usize = 40;

/// The plans Tickler ships and its own code paths look up by name (a contract's default, the
/// invoices' dunning): they keep their names.
pub const BUILT_IN_PLANS: [&str; 4] = [
    RENEWAL_PLAN,
    SUBSCRIPTION_PLAN,
    AUTO_RENEWAL_PLAN,
    DUNNING_PLAN,
];

/// A new plan as a person describes it.
#[derive(Debug, Clone, Default)]
pub struct NewPlan {
    pub name: String,
    pub description: String,
    /// What the plan's emails call the contract ("subscription"); empty: "contract".
    pub noun: String,
    pub steps: Vec<Step>,
}

/// A plan as `plan show --json` prints it: its summary and its steps.
#[derive(Debug, Clone, Serialize)]
pub struct PlanListing {
    #[serde(flatten)]
    pub summary: PlanSummary,
    pub built_in: bool,
    pub steps: Vec<Step>,
}

fn checked_text(
    field: &str,
    text: &str,
    max: usize,
    required: bool,
) -> Result<String, ValidationError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(ValidationError::new(field, "is empty"));
    }
    if text.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "holds a line break or a control character",
        ));
    }
    Ok(text.to_string())
}

/// Checks a plan's name, description and noun; the name must not be another plan's.
async fn checked_names(
    db: &mut Db,
    name: &str,
    description: &str,
    noun: &str,
    this_plan: Option<i64>,
) -> Result<(String, String, String), EngineError> {
    let name = checked_text("name", name, MAX_NAME, true)?;
    if let Some(other) = plans::find_id(db, &name).await?
        && Some(other) != this_plan
    {
        return Err(ValidationError::new(
            "name",
            format!("plan {other} is already named \"{name}\": choose another name"),
        )
        .into());
    }
    if this_plan.is_none() && BUILT_IN_PLANS.contains(&name.as_str()) {
        return Err(ValidationError::new(
            "name",
            format!("\"{name}\" is the name of a plan Tickler ships: choose another name"),
        )
        .into());
    }
    Ok((
        name,
        checked_text("description", description, MAX_DESCRIPTION, false)?,
        checked_text("noun", noun, MAX_NOUN, false)?,
    ))
}

impl Engine {
    /// Every plan (the shipped ones stored first, so that they can be listed and copied),
    /// archived ones included.
    pub async fn plan_catalogue(&self) -> Result<Vec<PlanSummary>, EngineError> {
        self.ensure_default_plan().await?;
        self.list_plans().await
    }

    /// A plan and its steps, by id or by name.
    pub async fn plan_listing(&self, id_or_name: &str) -> Result<PlanListing, EngineError> {
        self.ensure_default_plan().await?;
        let mut db = self.store.conn().await?;
        let id = self.plan_id(&mut db, id_or_name).await?;
        let summary = plans::summary_of(&mut db, id).await?;
        let plan = plans::get(&mut db, id).await?;
        Ok(PlanListing {
            built_in: BUILT_IN_PLANS.contains(&summary.name.as_str()),
            summary,
            steps: plan.steps,
        })
    }

    /// The id of the plan `id_or_name` names: a number is an id, anything else a name.
    pub(crate) async fn plan_id(&self, db: &mut Db, id_or_name: &str) -> Result<i64, EngineError> {
        let text = id_or_name.trim();
        let found = match text.parse::<i64>() {
            Ok(id) => plans::summary_of(db, id).await.ok().map(|p| p.id),
            Err(_) => plans::find_id(db, text).await?,
        };
        found.ok_or_else(|| {
            ValidationError::new(
                "plan",
                format!("no plan is named \"{text}\" or has that id"),
            )
            .into()
        })
    }

    /// Stores a new plan; returns its id. Its steps are checked as the plans page checks
    /// them (at least one, unique keys, templates that exist).
    pub async fn create_plan(&self, new: NewPlan, actor: &Actor) -> Result<i64, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (name, description, noun) =
            checked_names(&mut tx, &new.name, &new.description, &new.noun, None).await?;
        let overrides = template_overrides::list(&mut tx).await?;
        validate_steps(&new.steps, |key| {
            overrides.iter().any(|o| o.template == key)
        })?;
        let plan = Plan {
            name,
            description,
            steps: new.steps,
        };
        let id = plans::create(&mut tx, &plan, &noun, now).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Plan(id),
            EventAction::Created,
            &format!("plan {} with {} steps", plan.name, plan.steps.len()),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(id)
    }

    /// A new plan with the steps (and noun and description) of plan `from`, under `name`;
    /// returns its id. Contracts stay on the plan they follow.
    pub async fn copy_plan(
        &self,
        from: i64,
        name: &str,
        actor: &Actor,
    ) -> Result<i64, EngineError> {
        let (source, steps) = {
            let mut db = self.store.conn().await?;
            (
                plans::summary_of(&mut db, from).await?,
                plans::get(&mut db, from).await?.steps,
            )
        };
        self.create_plan(
            NewPlan {
                name: name.to_string(),
                description: source.description,
                noun: source.noun,
                steps,
            },
            actor,
        )
        .await
    }

    /// Changes a plan's name, description and noun. The shipped plans keep their names.
    pub async fn describe_plan(
        &self,
        id: i64,
        name: &str,
        description: &str,
        noun: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let before = plans::summary_of(&mut tx, id).await?;
        let (name, description, noun) =
            checked_names(&mut tx, name, description, noun, Some(id)).await?;
        if name != before.name && BUILT_IN_PLANS.contains(&before.name.as_str()) {
            return Err(ValidationError::new(
                "name",
                format!(
                    "plan \"{}\" ships with Tickler and keeps its name: copy it to make one of \
                     your own",
                    before.name
                ),
            )
            .into());
        }
        plans::describe(&mut tx, id, &name, &description, &noun).await?;
        let detail = if name == before.name {
            format!("plan {name}: description or noun changed")
        } else {
            format!("plan {} renamed {name}", before.name)
        };
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Plan(id),
            EventAction::Edited,
            &detail,
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// Takes a plan off the list new contracts choose from (`archived`), or puts it back.
    /// Its contracts keep following it either way; the shipped plans that contracts get by
    /// default cannot be archived.
    pub async fn archive_plan(
        &self,
        id: i64,
        archived: bool,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let plan = plans::summary_of(&mut tx, id).await?;
        if archived && BUILT_IN_PLANS.contains(&plan.name.as_str()) {
            return Err(ValidationError::new(
                "plan",
                format!(
                    "plan \"{}\" ships with Tickler and is the default of some contracts: it \
                     cannot be archived",
                    plan.name
                ),
            )
            .into());
        }
        if plan.archived == archived {
            return Ok(());
        }
        plans::set_archived(&mut tx, id, archived.then_some(now)).await?;
        let (action, detail) = if archived {
            (
                EventAction::Archived,
                format!("plan {} archived", plan.name),
            )
        } else {
            (
                EventAction::Restored,
                format!("plan {} back on offer", plan.name),
            )
        };
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Plan(id),
            action,
            &detail,
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// The plan a customer's new contracts follow unless one is named (`None`: the default
    /// for their kind of contract).
    pub async fn customer_default_plan(
        &self,
        customer_id: i64,
    ) -> Result<Option<String>, EngineError> {
        let mut db = self.store.conn().await?;
        Ok(
            match customers::default_plan_id(&mut db, customer_id).await? {
                Some(plan_id) => Some(plans::summary_of(&mut db, plan_id).await?.name),
                None => None,
            },
        )
    }

    /// Chooses the plan a customer's new contracts follow unless one is named (by id or
    /// name; `None` clears it). Contracts they already have keep their plans.
    pub async fn set_customer_default_plan(
        &self,
        customer_id: i64,
        plan: Option<&str>,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (plan_id, detail) = match plan.map(str::trim).filter(|p| !p.is_empty()) {
            Some(named) => {
                let id = self.plan_id(&mut tx, named).await?;
                let summary = plans::summary_of(&mut tx, id).await?;
                if summary.archived {
                    return Err(ValidationError::new(
                        "plan",
                        format!("plan \"{}\" is archived: choose another", summary.name),
                    )
                    .into());
                }
                (
                    Some(id),
                    format!("new contracts follow plan {}", summary.name),
                )
            }
            None => (None, "new contracts follow the default plan".to_string()),
        };
        customers::set_default_plan(&mut tx, customer_id, plan_id).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Customer(customer_id),
            EventAction::Edited,
            &detail,
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }
}
