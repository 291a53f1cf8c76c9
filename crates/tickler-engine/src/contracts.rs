//! Contracts: entering one, renewing it, ending it, and looking at it.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    Checks, ValidationError,
    billing::end_after_cycles,
    contract::{edited_money, money_from_input},
    email::EmailAddress,
    error::parse_date,
    invoice::totals,
    money::Currency,
    money::Money,
    plan::{
        AUTO_RENEWAL_PLAN, Plan, RENEWAL_PLAN, SUBSCRIPTION_PLAN, default_auto_renewal_plan,
        default_dunning_plan, default_renewal_plan, default_subscription_plan,
    },
    reminder::ReminderStatus,
    renewal::{Answer, Renewal, RenewalType, evergreen_term_end},
    subject::SubjectRef,
    term::Term,
};
use tickler_core::{customer::Customer, user::User};
use tickler_store::{
    Db, billing,
    contracts::{self, Contract, ContractStatus, ContractTerm, NewContract, NextTerm},
    customers,
    events::{self, Event},
    plans,
    reminders::{self, ReminderFilter},
    users,
};

use crate::webhooks;
use crate::{
    Actor, Engine, EngineError,
    billing::{BillingInput, SaleContext, ValidBilling, validate_billing},
    directory::non_empty,
    scheduling::{ScheduleOutcome, TermContext},
};
use tickler_core::webhook::WebhookEvent;

/// What the next term of a contract is to be: by default as long as the current one, with
/// the same amount, billing schedule and lines.
#[derive(Debug, Clone, Default)]
pub(crate) struct NextTermSpec {
    pub end: Option<Date>,
    /// The accepted quote it comes from.
    pub quote_id: Option<i64>,
    /// The term's amount, replacing the contract's.
    pub amount: Option<Money>,
    /// The billing schedule and lines from the next term on.
    pub billing: Option<(
        billing::BillingSchedule,
        Vec<tickler_core::invoice::LineItem>,
    )>,
}

/// A contract as a person or a file gives it: text, checked by [`validate_contract`].
#[derive(Debug, Clone, Default)]
pub struct ContractInput {
    pub customer_id: i64,
    pub title: String,
    pub start: String,
    pub end: String,
    pub owner_email: Option<String>,
    pub plan: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Makes the contract a recurring sale.
    pub billing: Option<BillingInput>,
    /// `expires` (the default), `auto` or `evergreen`.
    pub renewal: Option<String>,
    /// With `auto`: days before the end date by which the customer must cancel.
    pub notice_days: Option<String>,
}

pub(crate) struct ValidContract {
    pub title: String,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    pub term: Term,
    pub owner_email: Option<EmailAddress>,
    /// The plan named, else the default for the contract's kind.
    pub plan: String,
    /// Whether a plan was named: if not, the customer's own default plan may apply.
    pub plan_named: bool,
    pub money: Option<Money>,
    pub billing: Option<ValidBilling>,
    pub renewal: Renewal,
}

impl ValidContract {
    /// The row this contract is stored as.
    pub(crate) fn new_contract(
        &self,
        customer_id: i64,
        owner_id: Option<i64>,
        plan_id: i64,
    ) -> NewContract<'_> {
        NewContract {
            customer_id,
            title: &self.title,
            owner_id,
            plan_id,
            start_date: self.term.start,
            end_date: self.term.end,
            amount_minor: self.money.map(|m| m.minor),
            currency: self.money.as_ref().map(|m| m.currency.code()),
            custom_fields: &self.custom_fields,
            renewal: self.renewal.kind,
            notice_days: self.renewal.notice_days,
        }
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks every field of a contract that needs no database: one rule for the CLI, imports
/// and the web app. Every refused field is reported at once; a field whose check needs
/// another (the end date needs the start date) is checked once that one passes.
pub(crate) fn validate_contract(input: &ContractInput) -> Result<ValidContract, ValidationError> {
    let mut checks = Checks::default();
    let title = checks.check(non_empty("title", &input.title));
    let start = checks.check(parse_date("start", &input.start));
    // `Some(None)`: no billing schedule; `None`: one was given and refused.
    let billing = checks.check(
        input
            .billing
            .as_ref()
            .map(|billing| {
                let currency = present(&input.currency)
                    .map(|c| Currency::parse("currency", c))
                    .transpose()?;
                validate_billing(billing, currency)
            })
            .transpose(),
    );
    let evergreen =
        present(&input.renewal).is_some_and(|kind| kind.parse() == Ok(RenewalType::Evergreen));
    let end = match (start, &billing) {
        (Some(start), Some(billing)) => {
            checks.check(term_end(input, start, billing.as_ref(), evergreen))
        }
        _ => {
            // The end date typed is still checked on its own, so its error shows too.
            if let Some(end) = present(&Some(input.end.clone()))
                && !evergreen
            {
                checks.check(parse_date("end", end));
            }
            None
        }
    };
    let term = match (start, end) {
        (Some(start), Some(end)) => checks.check(Term::new(start, end)),
        _ => None,
    };
    let renewal = term.and_then(|term| {
        checks.check(Renewal::parse(
            input.renewal.as_deref(),
            input.notice_days.as_deref(),
            (!evergreen).then_some((term.start, term.end)),
        ))
    });
    let owner_email = checks.check(
        present(&input.owner_email)
            .map(|e| EmailAddress::parse("owner", e))
            .transpose(),
    );
    let money = match &billing {
        Some(billing) => checks.check(contract_money(input, billing.as_ref())),
        None => {
            checks.check(money_from_input(
                input.amount.as_deref(),
                input.currency.as_deref(),
            ));
            None
        }
    };
    checks.then(|| {
        let billing = billing?;
        let renewal = renewal?;
        let default_plan = default_plan_name(renewal.kind, billing.is_some());
        Some(ValidContract {
            title: title?,
            custom_fields: input.custom_fields.clone(),
            term: term?,
            owner_email: owner_email?,
            plan: present(&input.plan).unwrap_or(default_plan).to_string(),
            plan_named: present(&input.plan).is_some(),
            money: money?,
            billing,
            renewal,
        })
    })
}

/// The end of a contract's first term: the date typed, the end of its billing cycles, or
/// none at all for an evergreen contract.
fn term_end(
    input: &ContractInput,
    start: Date,
    billing: Option<&ValidBilling>,
    evergreen: bool,
) -> Result<Date, ValidationError> {
    match (present(&Some(input.end.clone())), billing) {
        (
            None,
            Some(ValidBilling {
                cycles: Some(_), ..
            }),
        ) if evergreen => Err(ValidationError::new(
            "cycles",
            "an evergreen sale has no end: leave the number of cycles out",
        )),
        (None, _) if evergreen => Ok(evergreen_term_end(start)),
        (Some(_), _) if evergreen => Err(ValidationError::new(
            "end",
            "an evergreen contract has no end date: leave --end out",
        )),
        (Some(end), _) => parse_date("end", end),
        (
            None,
            Some(ValidBilling {
                cycles: Some(cycles),
                interval,
                ..
            }),
        ) => Ok(end_after_cycles(start, *interval, *cycles)?),
        (None, _) => Err(ValidationError::new(
            "end",
            "the end date is required (or, for a recurring sale, the number of cycles)",
        )),
    }
}

/// A contract's amount: the one typed, else a recurring sale's is one invoice's total.
fn contract_money(
    input: &ContractInput,
    billing: Option<&ValidBilling>,
) -> Result<Option<Money>, ValidationError> {
    let money = money_from_input(input.amount.as_deref(), input.currency.as_deref());
    match (billing, money) {
        (Some(billing), Err(_) | Ok(None)) if present(&input.amount).is_none() => {
            let total = totals(&billing.lines).total;
            let currency = billing.lines[0].unit_price.currency;
            Ok(Some(Money {
                minor: total,
                currency,
            }))
        }
        (_, money) => money,
    }
}

/// The detail of a contract's `created` event: its term, plan and what was scheduled.
pub(crate) fn created_detail(
    valid: &ValidContract,
    plan: &str,
    outcome: ScheduleOutcome,
    billed: &str,
) -> String {
    format!(
        "term {} to {}, plan {plan}: {} reminders scheduled, {} already past{billed}",
        valid.term.start,
        valid.term.end,
        outcome.created - outcome.cancelled,
        outcome.cancelled
    )
}

/// The plan a contract gets unless one is named: by how it renews, and whether it is a
/// recurring sale.
fn default_plan_name(renewal: RenewalType, is_sale: bool) -> &'static str {
    match (renewal, is_sale) {
        (RenewalType::Auto, _) => AUTO_RENEWAL_PLAN,
        (_, true) => SUBSCRIPTION_PLAN,
        (_, false) => RENEWAL_PLAN,
    }
}

/// Changes to a contract; `None` leaves a field as it is (an empty owner removes the owner).
#[derive(Debug, Clone, Default)]
pub struct ContractChanges {
    pub title: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub owner_email: Option<String>,
    pub plan: Option<String>,
    /// A decimal amount; with `currency`. Both empty remove the amount.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Replaces all custom fields.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// `expires`, `auto` or `evergreen`; with `notice_days` for auto (kept when not given).
    pub renewal: Option<String>,
    pub notice_days: Option<String>,
    /// The version ([`Contract::version`]) the changes were made against: if the contract
    /// has changed since, nothing is saved ([`EngineError::Stale`]).
    pub if_version: Option<String>,
}

/// Owners and plans looked up once per import (or request) instead of once per row.
#[derive(Default)]
pub(crate) struct Lookups {
    owners: std::collections::HashMap<String, Option<User>>,
    plans: std::collections::HashMap<String, (i64, Plan)>,
    /// For an import: every customer's own default plan, read once, since most rows'
    /// customers have none and one query per row would slow a large import.
    customer_plans: Option<std::collections::HashMap<i64, i64>>,
    /// Each default plan's name, `None` while it is archived (no longer offered).
    offered: std::collections::HashMap<i64, Option<String>>,
    bulk: bool,
}

impl Lookups {
    /// Lookups for many contracts at once: customers' default plans are read in one query.
    pub(crate) fn for_import() -> Self {
        Lookups {
            bulk: true,
            ..Lookups::default()
        }
    }

    /// The plan a new contract follows: the one named, else its customer's own default plan
    /// (while it is offered), else the default for the contract's kind.
    pub(crate) async fn contract_plan(
        &mut self,
        db: &mut Db,
        customer_id: i64,
        valid: &ValidContract,
    ) -> Result<String, EngineError> {
        if valid.plan_named {
            return Ok(valid.plan.clone());
        }
        let chosen = if self.bulk {
            if self.customer_plans.is_none() {
                self.customer_plans = Some(customers::default_plans(db).await?);
            }
            self.customer_plans
                .as_ref()
                .and_then(|plans| plans.get(&customer_id).copied())
        } else {
            customers::default_plan_id(db, customer_id).await?
        };
        let Some(plan_id) = chosen else {
            return Ok(valid.plan.clone());
        };
        if let std::collections::hash_map::Entry::Vacant(unknown) = self.offered.entry(plan_id) {
            let summary = plans::summary_of(db, plan_id).await?;
            unknown.insert((!summary.archived).then_some(summary.name));
        }
        Ok(self
            .offered
            .get(&plan_id)
            .cloned()
            .flatten()
            .unwrap_or_else(|| valid.plan.clone()))
    }

    pub(crate) async fn owner(
        &mut self,
        db: &mut Db,
        email: &str,
    ) -> Result<Option<User>, EngineError> {
        let key = email.to_lowercase();
        if let Some(found) = self.owners.get(&key) {
            return Ok(found.clone());
        }
        let found = users::find_by_email(db, email).await?;
        self.owners.insert(key, found.clone());
        Ok(found)
    }

    pub(crate) async fn plan(
        &mut self,
        db: &mut Db,
        name: &str,
        now: Timestamp,
    ) -> Result<(i64, Plan), EngineError> {
        if let Some(found) = self.plans.get(name) {
            return Ok(found.clone());
        }
        let id = match plans::find_id(db, name).await? {
            Some(id) => id,
            None if name == RENEWAL_PLAN => plans::ensure(db, &default_renewal_plan(), now).await?,
            None if name == SUBSCRIPTION_PLAN => {
                plans::ensure(db, &default_subscription_plan(), now).await?
            }
            None if name == AUTO_RENEWAL_PLAN => {
                plans::ensure(db, &default_auto_renewal_plan(), now).await?
            }
            None => {
                return Err(
                    ValidationError::new("plan", format!("no plan is named \"{name}\"")).into(),
                );
            }
        };
        refuse_archived(db, id).await?;
        let plan = plans::get(db, id).await?;
        self.plans.insert(name.to_string(), (id, plan.clone()));
        Ok((id, plan))
    }
}

/// A contract with everything around it, as `contract show` prints it.
#[derive(Debug, Serialize)]
pub struct ContractDetail {
    pub contract: Contract,
    pub customer: Customer,
    pub owner: Option<User>,
    pub plan: String,
    /// `expires`, `auto` or `evergreen`.
    pub renewal: RenewalType,
    pub notice_days: Option<u32>,
    /// The last day to cancel the current term of an auto-renewing contract.
    pub notice_date: Option<Date>,
    /// The customer's latest answer: `renew`, `decline`, `quote`, or null.
    pub answer: Option<Answer>,
    /// Every term, the first first.
    pub terms: Vec<TermView>,
    pub reminders: Vec<crate::review::ReminderView>,
    pub events: Vec<Event>,
}

/// One term of a contract, as `contract show` lists them.
#[derive(Debug, Clone, Serialize)]
pub struct TermView {
    pub id: i64,
    pub number: i32,
    pub start: Date,
    pub end: Date,
    /// The accepted quote this term came from.
    pub quote_id: Option<i64>,
    /// The term it renewed.
    pub previous_term_id: Option<i64>,
    /// What the customer answered about renewing it.
    pub answer: Option<Answer>,
}

impl From<ContractTerm> for TermView {
    fn from(term: ContractTerm) -> Self {
        TermView {
            id: term.id,
            number: term.term_number,
            start: term.start_date,
            end: term.end_date,
            quote_id: term.quote_id,
            previous_term_id: term.previous_term_id,
            answer: term.answer,
        }
    }
}

impl Engine {
    /// Stores the default plans (renewal, auto renewal, subscription, dunning) the database
    /// lacks.
    pub async fn ensure_default_plan(&self) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        for plan in [
            default_renewal_plan(),
            default_auto_renewal_plan(),
            default_subscription_plan(),
            default_dunning_plan(),
        ] {
            plans::ensure(&mut tx, &plan, now).await?;
        }
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Enters a contract and schedules its reminders, in one transaction.
    pub async fn add_contract(
        &self,
        input: ContractInput,
        actor: &Actor,
    ) -> Result<i64, EngineError> {
        let valid = validate_contract(&input)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = self
            .insert_contract(
                &mut tx,
                input.customer_id,
                &valid,
                actor,
                now,
                &mut Lookups::default(),
            )
            .await?;
        self.commit_schedule_change(tx).await?;
        Ok(id)
    }

    pub(crate) async fn insert_contract(
        &self,
        db: &mut Db,
        customer_id: i64,
        valid: &ValidContract,
        actor: &Actor,
        now: Timestamp,
        lookups: &mut Lookups,
    ) -> Result<i64, EngineError> {
        let customer = customers::get(db, customer_id).await.map_err(|e| match e {
            tickler_store::StoreError::NotFound { .. } => EngineError::Invalid(
                ValidationError::new("customer", format!("customer {customer_id} does not exist")),
            ),
            other => other.into(),
        })?;
        let owner = match &valid.owner_email {
            Some(email) => Some(lookups.owner(db, email.as_str()).await?.ok_or_else(|| {
                ValidationError::new(
                    "owner",
                    format!("no user has the email {email} (add one with `tickler user add`)"),
                )
            })?),
            None => None,
        };
        let plan_name = lookups.contract_plan(db, customer_id, valid).await?;
        let (plan_id, plan) = lookups.plan(db, &plan_name, now).await?;
        let (id, term) = contracts::insert(
            db,
            &valid.new_contract(customer_id, owner.as_ref().map(|o| o.id), plan_id),
            now,
        )
        .await?;
        let contract = contracts::get(db, id).await?;
        // Announced before its reminders, so that a receiver knows the contract they name.
        self.announce(db, now, || {
            vec![webhooks::contract_news(
                WebhookEvent::ContractCreated,
                &contract,
                serde_json::Value::Null,
            )]
        })
        .await?;
        let outcome = self
            .schedule_reminders(
                db,
                &TermContext {
                    term: &term,
                    contract: &contract,
                    customer: &customer,
                    owner: owner.as_ref(),
                    plan: &plan,
                },
                Vec::new(),
                now,
            )
            .await?;
        let mut billed = String::new();
        if let Some(valid_billing) = &valid.billing {
            let schedule = valid_billing.schedule(id, self.default_payment_days());
            billing::put_schedule(db, &schedule, &valid_billing.lines, now).await?;
            let periods = self
                .sync_periods(
                    db,
                    &SaleContext {
                        contract: &contract,
                        term: &term,
                        customer: &customer,
                        owner: owner.as_ref(),
                        plan: &plan,
                        schedule: &schedule,
                    },
                    now,
                )
                .await?;
            billed = format!(
                "; billed every {}, {} notices of upcoming invoices scheduled",
                schedule.interval,
                periods.created - periods.cancelled
            );
        }
        events::record(
            db,
            now,
            &actor.0,
            EventSubject::Contract(id),
            EventAction::Created,
            &created_detail(valid, &plan.name, outcome, &billed),
        )
        .await?;
        Ok(id)
    }

    async fn load_term_context(
        &self,
        db: &mut Db,
        contract: &Contract,
    ) -> Result<(Customer, Option<User>, tickler_core::plan::Plan), EngineError> {
        let customer = customers::get(db, contract.customer_id).await?;
        let owner = match contract.owner_id {
            Some(id) => Some(users::get(db, id).await?),
            None => None,
        };
        let plan = plans::get(db, contract.plan_id).await?;
        Ok((customer, owner, plan))
    }

    /// Starts the next term (by default as long as the current one), cancels the pending
    /// reminders of the term that ends, and schedules the new term's.
    pub async fn renew_contract(
        &self,
        id: i64,
        new_end: Option<Date>,
        actor: &Actor,
    ) -> Result<Term, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let contract = contracts::get(&mut tx, id).await?;
        let term = self
            .start_next_term(
                &mut tx,
                &contract,
                &NextTermSpec {
                    end: new_end,
                    ..NextTermSpec::default()
                },
                actor,
                now,
            )
            .await?;
        self.commit_schedule_change(tx).await?;
        Ok(Term::new(term.start_date, term.end_date)?)
    }

    /// Makes the term after the contract's current one current, in the caller's transaction:
    /// the ending term's pending reminders and open tasks are cancelled, the new term's
    /// reminders (and, for a recurring sale, its invoices) scheduled. Refused for a
    /// terminated contract; a second start of the same next term (two confirmations racing)
    /// fails on the terms' unique key and changes nothing.
    pub(crate) async fn start_next_term(
        &self,
        db: &mut Db,
        contract: &Contract,
        spec: &NextTermSpec,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ContractTerm, EngineError> {
        let id = contract.id;
        if contract.status == ContractStatus::Terminated {
            return Err(EngineError::Conflict(format!(
                "contract {id} is terminated and cannot be renewed"
            )));
        }
        let next = Term::new(contract.start_date, contract.end_date)?.next(spec.end)?;
        let reason = format!(
            "contract renewed: term {} runs {} to {}",
            contract.term_number + 1,
            next.start,
            next.end
        );
        let mut cancelled = 0;
        let term = contracts::current_term(db, contract).await?;
        for reminder in reminders::for_subject(db, SubjectRef::contract_term(term.id)).await? {
            if reminder.status == ReminderStatus::Scheduled
                && reminders::close_scheduled(
                    db,
                    reminder.id,
                    ReminderStatus::Cancelled,
                    &reason,
                    now,
                )
                .await?
            {
                events::record(
                    db,
                    now,
                    &actor.0,
                    EventSubject::Reminder(reminder.id),
                    EventAction::Cancelled,
                    &reason,
                )
                .await?;
                cancelled += 1;
            }
        }
        self.cancel_tasks_about(db, SubjectRef::contract_term(term.id), &reason, actor, now)
            .await?;
        let started = contracts::start_term(
            db,
            id,
            &NextTerm {
                term_number: contract.term_number + 1,
                start: next.start,
                end: next.end,
                previous_term_id: Some(term.id),
                quote_id: spec.quote_id,
            },
            now,
        )
        .await?;
        contracts::clear_answer_unless_renewed(db, id, now).await?;
        if let Some(money) = spec.amount {
            contracts::update_money_and_fields(
                db,
                id,
                Some(money.minor),
                Some(money.currency.code()),
                &contract.custom_fields,
                now,
            )
            .await?;
        }
        if let Some((schedule, lines)) = &spec.billing {
            billing::put_schedule(db, schedule, lines, now).await?;
        }
        let outcome = self.resync_contract(db, id, now).await?;
        let from_quote = spec
            .quote_id
            .map(|q| format!(" (quote {q} accepted)"))
            .unwrap_or_default();
        events::record(
            db,
            now,
            &actor.0,
            EventSubject::Contract(id),
            EventAction::Renewed,
            &format!(
                "term {} runs {} to {}{from_quote}; {cancelled} pending reminders of term {} \
                 cancelled, {} scheduled",
                started.term_number,
                next.start,
                next.end,
                contract.term_number,
                outcome.created - outcome.cancelled
            ),
        )
        .await?;
        self.announce_about(
            db,
            now,
            WebhookEvent::ContractRenewed,
            EventSubject::Contract(id),
            serde_json::json!({
                "previous_term_number": contract.term_number,
                "quote_id": spec.quote_id,
            }),
        )
        .await?;
        Ok(started)
    }

    /// Changes a contract's title, current term dates, owner or plan. Its unedited
    /// scheduled reminders follow in the same transaction; what a person edited is kept.
    pub async fn edit_contract(
        &self,
        id: i64,
        changes: ContractChanges,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let contract = contracts::get(&mut tx, id).await?;
        if let Some(expected) = &changes.if_version
            && *expected != contract.version()
        {
            return Err(EngineError::Stale(format!(
                "contract {id} changed since version {expected} (it is at {} now): read it \
                 again and make the change on what it is now",
                contract.version()
            )));
        }
        // The fields checked apart are refused together.
        let mut checks = Checks::default();
        let title = checks.check(match &changes.title {
            Some(title) => non_empty("title", title),
            None => Ok(contract.title.clone()),
        });
        let date_or = |text: &Option<String>, field: &str, current| {
            text.as_deref()
                .map(|t| parse_date(field, t))
                .transpose()
                .map(|date| date.unwrap_or(current))
        };
        let start = checks.check(date_or(&changes.start, "start", contract.start_date));
        let end = checks.check(date_or(&changes.end, "end", contract.end_date));
        let (title, start, end) = checks.then(|| Some((title?, start?, end?)))?;
        let term = Term::new(start, end)?;
        let owner_id = match changes.owner_email.as_deref() {
            None => contract.owner_id,
            Some(email) => owner_named(&mut tx, email).await?,
        };
        let renewal = edited_renewal(&contract, &changes, &term)?;
        let is_sale = billing::schedule(&mut tx, id).await?.is_some();
        let plan_id = match changes.plan.as_deref() {
            Some(name) => {
                let named = plan_named(&mut tx, name).await?;
                if named != contract.plan_id {
                    refuse_archived(&mut tx, named).await?;
                }
                named
            }
            // A contract on its type's default plan follows a change of type to the new
            // type's default (an expiring contract made auto gets the notice-date email).
            None if renewal.kind != contract.renewal
                && plans::get(&mut tx, contract.plan_id).await?.name
                    == default_plan_name(contract.renewal, is_sale) =>
            {
                Lookups::default()
                    .plan(&mut tx, default_plan_name(renewal.kind, is_sale), now)
                    .await?
                    .0
            }
            None => contract.plan_id,
        };
        let current_amount = contract.money();
        let money = edited_money(
            current_amount,
            changes.amount.as_deref(),
            changes.currency.as_deref(),
        )?;
        // A recurring sale's lines are priced in its currency: it keeps one, and the same.
        if is_sale && money.map(|m| m.currency) != current_amount.map(|m| m.currency) {
            return Err(ValidationError::new(
                "currency",
                "a recurring sale keeps the currency its invoice lines are priced in",
            )
            .into());
        }
        let custom_fields = changes
            .custom_fields
            .clone()
            .unwrap_or_else(|| contract.custom_fields.clone());
        let mut what = Vec::new();
        if renewal != contract.renewal_terms() {
            what.push(format!("renewal {} -> {}", contract.renewal, renewal.kind));
            contracts::set_renewal(&mut tx, id, renewal.kind, renewal.notice_days, now).await?;
        }
        if money != current_amount {
            what.push("amount".to_string());
        }
        if custom_fields != contract.custom_fields {
            what.push("custom fields".to_string());
        }
        if title != contract.title {
            what.push(format!("title \"{}\" -> \"{title}\"", contract.title));
        }
        if (term.start, term.end) != (contract.start_date, contract.end_date) {
            what.push(format!(
                "term {} – {} -> {} – {}",
                contract.start_date, contract.end_date, term.start, term.end
            ));
            contracts::set_current_term_dates(&mut tx, &contract, term.start, term.end, now)
                .await?;
        }
        if owner_id != contract.owner_id {
            what.push("owner".to_string());
        }
        if plan_id != contract.plan_id {
            what.push("plan".to_string());
        }
        if what.is_empty() {
            return Ok(());
        }
        contracts::update_details(&mut tx, id, &title, owner_id, plan_id, now).await?;
        contracts::update_money_and_fields(
            &mut tx,
            id,
            money.map(|m| m.minor),
            money.as_ref().map(|m| m.currency.code()),
            &custom_fields,
            now,
        )
        .await?;
        let outcome = self.resync_contract(&mut tx, id, now).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Contract(id),
            EventAction::Edited,
            &format!(
                "{}: {} reminders moved, {} cancelled, {} added",
                what.join(", "),
                outcome.rescheduled,
                outcome.cancelled,
                outcome.created
            ),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Brings a contract's current term's reminders in line with what is stored now.
    pub(crate) async fn resync_contract(
        &self,
        db: &mut Db,
        id: i64,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        let contract = contracts::get(db, id).await?;
        let term = contracts::current_term(db, &contract).await?;
        let (customer, owner, plan) = self.load_term_context(db, &contract).await?;
        let mut outcome = self
            .sync_term_reminders(
                db,
                &TermContext {
                    term: &term,
                    contract: &contract,
                    customer: &customer,
                    owner: owner.as_ref(),
                    plan: &plan,
                },
                now,
            )
            .await?;
        if let Some(schedule) = billing::schedule(db, id).await? {
            let periods = self
                .sync_periods(
                    db,
                    &SaleContext {
                        contract: &contract,
                        term: &term,
                        customer: &customer,
                        owner: owner.as_ref(),
                        plan: &plan,
                        schedule: &schedule,
                    },
                    now,
                )
                .await?;
            outcome.created += periods.created;
            outcome.rescheduled += periods.rescheduled;
            outcome.cancelled += periods.cancelled;
        }
        Ok(outcome)
    }

    /// Ends a contract early: its pending reminders are cancelled.
    pub async fn terminate_contract(
        &self,
        id: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let contract = contracts::get(&mut tx, id).await?;
        if contract.status == ContractStatus::Terminated {
            return Err(EngineError::Conflict(format!(
                "contract {id} is already terminated"
            )));
        }
        contracts::set_status(&mut tx, id, ContractStatus::Terminated, now).await?;
        self.resync_contract(&mut tx, id, now).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Contract(id),
            EventAction::Terminated,
            reason,
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    pub async fn contract_detail(&self, id: i64) -> Result<ContractDetail, EngineError> {
        let mut db = self.store.conn().await?;
        let contract = contracts::get(&mut db, id).await?;
        let (customer, owner, plan) = self.load_term_context(&mut db, &contract).await?;
        let events = events::for_contract(&mut db, id).await?;
        let terms = contracts::terms(&mut db, id).await?;
        drop(db);
        let reminders = self
            .list_reminders(&ReminderFilter {
                contract_id: Some(id),
                ..ReminderFilter::default()
            })
            .await?;
        Ok(ContractDetail {
            customer,
            owner,
            plan: plan.name,
            renewal: contract.renewal,
            notice_days: contract.notice_days,
            notice_date: contract.notice_date(),
            answer: contract.answer,
            terms: terms.into_iter().map(TermView::from).collect(),
            contract,
            reminders,
            events,
        })
    }

    /// Active contracts ending between two dates, soonest first, with how many there are.
    pub async fn expiring_contracts(
        &self,
        from: Date,
        until: Date,
        owner_id: Option<i64>,
        limit: i64,
    ) -> Result<(i64, Vec<Contract>), EngineError> {
        let mut db = self.store.conn().await?;
        let count = contracts::count_expiring(&mut db, from, until, owner_id).await?;
        let list = contracts::expiring(&mut db, from, until, owner_id, limit).await?;
        Ok((count, list))
    }

    pub async fn list_contracts(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Contract>, EngineError> {
        Ok(contracts::list(&mut *self.store.conn().await?, after_id, limit).await?)
    }
}
/// How a contract renews after an edit: the type and notice period given (blank keeps what
/// it has; a notice period is kept only while the contract stays `auto`), checked against
/// the edited term.
fn edited_renewal(
    contract: &Contract,
    changes: &ContractChanges,
    term: &Term,
) -> Result<Renewal, ValidationError> {
    let typed = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let kind = typed(&changes.renewal).unwrap_or_else(|| contract.renewal.as_str().to_string());
    let kept_notice = contract
        .notice_days
        .filter(|_| kind == RenewalType::Auto.as_str())
        .map(|days| days.to_string());
    let notice = typed(&changes.notice_days).or(kept_notice);
    let evergreen = kind == RenewalType::Evergreen.as_str();
    Renewal::parse(
        Some(&kind),
        notice.as_deref(),
        (!evergreen).then_some((term.start, term.end)),
    )
}

/// The user an edit names as owner: blank removes the owner.
async fn owner_named(db: &mut Db, email: &str) -> Result<Option<i64>, EngineError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let email = EmailAddress::parse("owner", email)?;
    let user = users::find_by_email(db, email.as_str())
        .await?
        .ok_or_else(|| ValidationError::new("owner", format!("no user has the email {email}")))?;
    Ok(Some(user.id))
}

/// The plan an edit names.
async fn plan_named(db: &mut Db, name: &str) -> Result<i64, EngineError> {
    let name = name.trim();
    Ok(plans::find_id(db, name)
        .await?
        .ok_or_else(|| ValidationError::new("plan", format!("no plan is named \"{name}\"")))?)
}

/// An archived plan keeps its contracts but takes no new one.
async fn refuse_archived(db: &mut Db, plan_id: i64) -> Result<(), EngineError> {
    let plan = plans::summary_of(db, plan_id).await?;
    if plan.archived {
        return Err(ValidationError::new(
            "plan",
            format!(
                "plan \"{}\" is archived: choose another, or put it back on offer first \
                 (Plans page, or `tickler plan restore {}`)",
                plan.name, plan.id
            ),
        )
        .into());
    }
    Ok(())
}
