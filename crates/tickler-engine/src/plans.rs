//! Plans and templates as the team edits them: a plan's steps (with the scheduled
//! reminders of every active contract on the plan following in the same transaction), and
//! each template's text per language, checked by rendering before it is saved.

use jiff::{Timestamp, civil::date};
use serde::Serialize;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    Checks, ValidationError,
    email::EmailAddress,
    language::Language,
    money::{Currency, Money},
    plan::{Anchor, DUNNING_PLAN, Plan, Step},
    subject::SubjectKind,
};
use tickler_mail::{
    Rendered, TemplateContext,
    context::{
        ContractView, CustomerView, FailureView, InvoiceView, OrganisationView, OwnerView,
        QuoteView, StepView,
    },
    render::SourceError,
    templates,
};
use tickler_store::{
    events,
    plans::{self, PlanSummary},
    reminders, template_overrides,
};

use crate::{Actor, Engine, EngineError, message::Subject};

/// How far from its anchor a step may be: ten years either way.
pub const MAX_OFFSET_DAYS: i32 = 3650;

/// Longest step key or template name.
const MAX_KEY_LEN: usize = 64;

/// A plan with its id.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDetail {
    pub id: i64,
    pub plan: Plan,
    /// Active contracts that follow it, counted up to one more than
    /// [`tickler_store::browse::COUNT_CAP`].
    pub active_contracts: i64,
}

/// What changing a plan's steps did to the reminders of its contracts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanUpdate {
    pub contracts: usize,
    pub created: usize,
    pub rescheduled: usize,
    pub cancelled: usize,
    /// Scheduled reminders that took a step's new label, template or mode.
    pub relabelled: u64,
}

/// A template's text in one language as the editor shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateText {
    pub key: String,
    pub language: Language,
    pub subject: String,
    pub body: String,
    /// Whether this is the team's text (else the built-in one, or nothing for a new template).
    pub overridden: bool,
    /// Whether Tickler ships a text for this template in this language.
    pub has_builtin: bool,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

/// One variable a template may use, for the editor's list.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Variable {
    pub name: &'static str,
    pub meaning: &'static str,
}

/// Everything a notice template can refer to.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "customer.name",
        meaning: "the customer's name",
    },
    Variable {
        name: "customer.emails",
        meaning: "the customer's addresses (a list)",
    },
    Variable {
        name: "customer.language",
        meaning: "the customer's language code",
    },
    Variable {
        name: "contract.title",
        meaning: "the contract's title",
    },
    Variable {
        name: "contract.noun",
        meaning: "what the contract's plan calls it (\"subscription\"), else \"contract\"",
    },
    Variable {
        name: "contract.start_date",
        meaning: "start of the current term, written for the language",
    },
    Variable {
        name: "contract.end_date",
        meaning: "end of the current term (expiry), written for the language",
    },
    Variable {
        name: "contract.start_date_iso",
        meaning: "start date as YYYY-MM-DD",
    },
    Variable {
        name: "contract.end_date_iso",
        meaning: "end date as YYYY-MM-DD",
    },
    Variable {
        name: "contract.amount",
        meaning: "amount and currency, or none: test with {% if contract.amount %}",
    },
    Variable {
        name: "contract.custom.NAME",
        meaning: "a custom field; not every contract has it: {{ contract.custom.NAME | default('') }}",
    },
    Variable {
        name: "owner.name",
        meaning: "the salesperson; there may be none: test with {% if owner %}",
    },
    Variable {
        name: "owner.email",
        meaning: "the salesperson's address",
    },
    Variable {
        name: "organisation.name",
        meaning: "your organisation's name",
    },
    Variable {
        name: "organisation.email",
        meaning: "the address mail is sent from",
    },
    Variable {
        name: "organisation.iban",
        meaning: "the bank account (IBAN) for payment by transfer, if set in Settings",
    },
    Variable {
        name: "organisation.bank",
        meaning: "the bank's name, if set in Settings",
    },
    Variable {
        name: "step.key",
        meaning: "the plan step, e.g. before_60",
    },
    Variable {
        name: "step.label",
        meaning: "the step's label",
    },
    Variable {
        name: "days_left",
        meaning: "days from sending to expiry (negative after it)",
    },
    Variable {
        name: "language",
        meaning: "the language the message is written in",
    },
    Variable {
        name: "failure.reply",
        meaning: "only in delivery_failed: the mail server's reply",
    },
    Variable {
        name: "failure.subject",
        meaning: "only in delivery_failed: the subject that failed",
    },
    Variable {
        name: "failure.recipients",
        meaning: "only in delivery_failed: who it was for",
    },
];

/// Checks a step key or template name: short, lower-case letters, digits and underscores.
pub fn validate_key(field: &str, key: &str) -> Result<(), ValidationError> {
    if key.is_empty() {
        return Err(ValidationError::new(field, "is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ValidationError::new(
            field,
            format!("\"{key}\" is longer than {MAX_KEY_LEN} characters"),
        ));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ValidationError::new(
            field,
            format!("\"{key}\" may hold only a-z, 0-9 and _"),
        ));
    }
    Ok(())
}

/// Checks a plan's steps before they replace the stored ones: at least one, unique keys,
/// labels present, offsets within [`MAX_OFFSET_DAYS`], and a template that exists
/// (`template_exists` says whether the team wrote one for a name that is not built in).
/// Fields are named `steps[N].field`, N counting from 1 as the page shows them.
pub fn validate_steps(
    steps: &[Step],
    template_exists: impl Fn(&str) -> bool,
) -> Result<(), ValidationError> {
    if steps.is_empty() {
        return Err(ValidationError::new(
            "steps",
            "a plan needs at least one step",
        ));
    }
    // Each step's checks run on their own, so that every step's error shows at once;
    // within a step, the first refusal of each field.
    let mut checks = Checks::default();
    for (i, step) in steps.iter().enumerate() {
        let field = |name: &str| format!("steps[{}].{name}", i + 1);
        checks.check(validate_key(&field("key"), &step.key).and_then(|()| {
            match steps[..i].iter().position(|s| s.key == step.key) {
                Some(first) => Err(ValidationError::new(
                    field("key"),
                    format!("\"{}\" is also the key of step {}", step.key, first + 1),
                )),
                None => Ok(()),
            }
        }));
        if step.label.trim().is_empty() {
            checks.check::<()>(Err(ValidationError::new(field("label"), "is empty")));
        }
        if let Some(why) = unschedulable(step) {
            checks.check::<()>(Err(ValidationError::new(field("anchor"), why)));
        }
        if step.offset.days.unsigned_abs() > MAX_OFFSET_DAYS.unsigned_abs() {
            checks.check::<()>(Err(ValidationError::new(
                field("offset"),
                format!(
                    "{} days is more than {MAX_OFFSET_DAYS} days from the anchor",
                    step.offset.days
                ),
            )));
        }
        checks.check(validate_key(&field("template"), &step.template).and_then(|()| {
            if !templates::KEYS.contains(&step.template.as_str())
                && !template_exists(&step.template)
            {
                Err(ValidationError::new(
                    field("template"),
                    format!(
                        "there is no template \"{}\": write it first (Templates), or use one of {}",
                        step.template,
                        templates::KEYS.join(", ")
                    ),
                ))
            } else {
                Ok(())
            }
        }));
    }
    checks.finish()
}

/// The subjects a plan's steps are scheduled for: a contract's plan places each step on
/// the subject that offers its anchor (the term's dates, each billing period's issue date),
/// and the `dunning` plan on each issued invoice (its due date).
pub const PLAN_SUBJECTS: [SubjectKind; 3] = [
    SubjectKind::ContractTerm,
    SubjectKind::BillingPeriod,
    SubjectKind::Invoice,
];

/// Every anchor some plan subject offers, in the order the plans page lists them.
pub fn plan_anchors() -> Vec<Anchor> {
    let mut anchors = Vec::new();
    for kind in PLAN_SUBJECTS {
        for anchor in kind.anchors() {
            if !anchors.contains(anchor) {
                anchors.push(*anchor);
            }
        }
    }
    anchors
}

/// Why `step` could never be scheduled (no subject offers its anchor), or `None`. Such a
/// step would silently never send, so it is refused when a plan is saved and reported where
/// it already exists.
pub fn unschedulable(step: &Step) -> Option<String> {
    let anchors = plan_anchors();
    (!anchors.contains(&step.anchor)).then(|| {
        format!(
            "nothing has a {} to count from yet, so this step would never be sent (use {})",
            step.anchor,
            anchors
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// A stored step that can never be scheduled: what `tickler migrate` and the plans page warn of.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnschedulableStep {
    pub plan_id: i64,
    pub plan: String,
    /// 1 for the plan's first step, as the plans page numbers them.
    pub position: usize,
    pub step: String,
    pub why: String,
}

/// A context with every variable filled in, so that a template is rendered through all of
/// them and any unknown name or bad expression shows before it is saved.
pub fn sample_context(template: &str, language: Language) -> TemplateContext {
    let address = |a: &str| EmailAddress::parse("email", a).ok();
    let mut custom = serde_json::Map::new();
    custom.insert("site".into(), "Building 2".into());
    TemplateContext {
        customer: CustomerView {
            name: "Example Customer Ltd".to_string(),
            emails: address("it@customer.example").into_iter().collect(),
            language,
        },
        contract: ContractView {
            title: "Server maintenance".to_string(),
            start_date: date(2026, 4, 1),
            end_date: date(2027, 3, 31),
            amount: Currency::parse("currency", "EUR")
                .ok()
                .map(|currency| Money {
                    minor: 120_000,
                    currency,
                }),
            notice_date: Some(date(2027, 2, 28)),
            custom,
            noun: tickler_mail::context::DEFAULT_NOUN.to_string(),
        },
        owner: Some(OwnerView {
            name: "Sam Seller".to_string(),
            email: address("sam@firm.example"),
        }),
        organisation: OrganisationView {
            name: "Example Maintenance".to_string(),
            email: address("office@firm.example")
                .unwrap_or_else(|| unreachable_address("office@firm.example")),
            iban: Some("DE89 3704 0044 0532 0130 00".to_string()),
            bank: Some("Example Bank".to_string()),
        },
        step: StepView {
            key: template.to_string(),
            label: "Renewal notice".to_string(),
        },
        days_left: 30,
        failure: (template == templates::DELIVERY_FAILED).then(|| FailureView {
            reply: "550 5.1.1 No such user".to_string(),
            subject: "Reminder: service expiring".to_string(),
            recipients: address("it@customer.example").into_iter().collect(),
        }),
        invoice: Some(sample_invoice(template)),
        links: Some(tickler_mail::context::AnswerLinksView {
            renew: "https://tickler.example/answer/renew".to_string(),
            decline: "https://tickler.example/answer/decline".to_string(),
            quote: "https://tickler.example/answer/quote".to_string(),
        }),
        quote: Some(sample_quote()),
    }
}

/// A sent quote for the next year, with its links.
fn sample_quote() -> QuoteView {
    let eur = |minor| Money {
        minor,
        currency: Currency::EUR,
    };
    QuoteView {
        number: "Q-12".to_string(),
        valid_until: date(2027, 3, 1),
        term_start: date(2027, 4, 1),
        term_end: date(2028, 3, 31),
        subtotal: eur(120_000),
        tax: eur(28_800),
        total: eur(148_800),
        accept_url: Some("https://tickler.example/answer/sample-accept".to_string()),
        decline_url: Some("https://tickler.example/answer/sample-decline".to_string()),
    }
}

/// A March invoice with 24% tax, partly prepaid and a week overdue; still a draft without a
/// number for the notice that it is about to be issued.
fn sample_invoice(template: &str) -> InvoiceView {
    let eur = |minor| Money {
        minor,
        currency: Currency::EUR,
    };
    let number = (template != "invoice_upcoming").then(|| "INV-2027-0001".to_string());
    InvoiceView {
        reference: number
            .clone()
            .unwrap_or_else(|| "Server maintenance 2027-03".to_string()),
        number,
        period_start: date(2027, 3, 1),
        period_end: date(2027, 3, 31),
        issue_date: date(2027, 3, 1),
        due_date: date(2027, 3, 31),
        subtotal: eur(100_000),
        tax: eur(24_000),
        total: eur(124_000),
        paid: eur(50_000),
        balance: eur(74_000),
        days_overdue: 7,
    }
}

fn unreachable_address(text: &str) -> EmailAddress {
    // The literal above is a valid address; parsing it cannot fail.
    EmailAddress::parse("email", text).expect("a valid literal address")
}

fn parse_language(code: &str) -> Result<Language, ValidationError> {
    Language::parse("language", code)
}

/// A template as the Plans page and the API list it.
#[derive(Debug, Clone)]
pub struct TemplateEntry {
    pub key: String,
    /// Each language, and whether the team edited the template's text in it.
    pub languages: Vec<(tickler_core::language::Language, bool)>,
}

impl Engine {
    /// Every stored plan step that can never be scheduled (saved before plans refused them).
    pub async fn unschedulable_steps(&self) -> Result<Vec<UnschedulableStep>, EngineError> {
        let mut db = self.store.conn().await?;
        let mut found = Vec::new();
        for summary in plans::list(&mut db).await? {
            let plan = plans::get(&mut db, summary.id).await?;
            for (i, step) in plan.steps.iter().enumerate() {
                if let Some(why) = unschedulable(step) {
                    found.push(UnschedulableStep {
                        plan_id: summary.id,
                        plan: plan.name.clone(),
                        position: i + 1,
                        step: step.key.clone(),
                        why,
                    });
                }
            }
        }
        Ok(found)
    }

    /// Every plan with its number of steps.
    pub async fn list_plans(&self) -> Result<Vec<PlanSummary>, EngineError> {
        Ok(plans::list(&mut *self.store.conn().await?).await?)
    }

    /// Every plan with its steps, for the plans page: one connection, and no counting of
    /// the contracts that follow each (its own page does that).
    pub async fn plans_with_steps(&self) -> Result<Vec<(PlanSummary, Plan)>, EngineError> {
        let mut db = self.store.conn().await?;
        let mut found = Vec::new();
        for summary in plans::list(&mut db).await? {
            let plan = plans::get(&mut db, summary.id).await?;
            found.push((summary, plan));
        }
        Ok(found)
    }

    /// Every template a plan can use: the built-in ones, those plans' steps name, and those
    /// the team edited; for each, in every language, whether the team's text replaces the
    /// built-in one.
    pub async fn template_catalogue(&self) -> Result<Vec<TemplateEntry>, EngineError> {
        let overrides = self.template_overrides().await?;
        let mut keys: Vec<String> = crate::previews::TEMPLATE_KEYS
            .iter()
            .map(|k| k.to_string())
            .collect();
        let named = self
            .plans_with_steps()
            .await?
            .into_iter()
            .flat_map(|(_, plan)| plan.steps.into_iter().map(|s| s.template))
            .chain(overrides.iter().map(|o| o.template.clone()))
            .collect::<Vec<_>>();
        for name in named {
            if !keys.contains(&name) {
                keys.push(name);
            }
        }
        Ok(keys
            .into_iter()
            .map(|key| TemplateEntry {
                languages: tickler_core::language::Language::ALL
                    .iter()
                    .map(|&language| {
                        let edited = overrides
                            .iter()
                            .any(|o| o.template == key && o.language == language);
                        (language, edited)
                    })
                    .collect(),
                key,
            })
            .collect())
    }

    pub async fn plan(&self, id: i64) -> Result<PlanDetail, EngineError> {
        let mut db = self.store.conn().await?;
        let plan = plans::get(&mut db, id).await?;
        // One more than the lists count, so that a page can say "more than".
        let cap = tickler_store::browse::COUNT_CAP + 1;
        let active_contracts = plans::count_active_contracts(&mut db, id, cap).await?;
        Ok(PlanDetail {
            id,
            plan,
            active_contracts,
        })
    }

    /// Replaces a plan's steps and, in the same transaction, recomputes the unedited
    /// scheduled reminders of every active contract on the plan: moved to their new time,
    /// created for new steps, cancelled for removed ones; what a person edited is kept.
    pub async fn update_plan_steps(
        &self,
        id: i64,
        steps: Vec<Step>,
        actor: &Actor,
    ) -> Result<PlanUpdate, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let before = plans::get(&mut tx, id).await?;
        let overrides = template_overrides::list(&mut tx).await?;
        validate_steps(&steps, |name| overrides.iter().any(|o| o.template == name))?;
        if before.steps == steps {
            return Ok(PlanUpdate::default());
        }
        plans::replace_steps(&mut tx, id, &steps).await?;
        let mut update = PlanUpdate::default();
        let of_invoices = before.name == DUNNING_PLAN;
        for (position, step) in steps.iter().enumerate() {
            update.relabelled +=
                plans::refresh_scheduled_reminders(&mut tx, id, position, step, of_invoices, now)
                    .await?;
        }
        if of_invoices {
            let outcome = self.resync_open_invoices(&mut tx, now).await?;
            update.created += outcome.created;
            update.rescheduled += outcome.rescheduled;
            update.cancelled += outcome.cancelled;
        }
        let contracts = plans::active_contract_ids(&mut tx, id).await?;
        update.contracts = contracts.len();
        for contract_id in contracts {
            let outcome = self.resync_contract(&mut tx, contract_id, now).await?;
            update.created += outcome.created;
            update.rescheduled += outcome.rescheduled;
            update.cancelled += outcome.cancelled;
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Plan(id),
            EventAction::StepsChanged,
            &format!(
                "plan {}: {} steps -> {} steps; {} contracts: {} reminders moved, {} added, \
                 {} cancelled, {} relabelled",
                before.name,
                before.steps.len(),
                steps.len(),
                update.contracts,
                update.rescheduled,
                update.created,
                update.cancelled,
                update.relabelled
            ),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(update)
    }

    /// The text of template `key` in `language`: the team's if they wrote one, else the
    /// built-in one, else empty (a new template).
    pub async fn template(&self, key: &str, language: &str) -> Result<TemplateText, EngineError> {
        validate_key("template", key)?;
        let language = parse_language(language)?;
        let found = template_overrides::get(&mut *self.store.conn().await?, key, language).await?;
        let builtin = templates::builtin(key, language);
        Ok(match found {
            Some(o) => TemplateText {
                key: key.to_string(),
                language,
                subject: o.subject,
                body: o.body,
                overridden: true,
                has_builtin: builtin.is_some(),
                updated_at: Some(o.updated_at),
                updated_by: Some(o.updated_by),
            },
            None => TemplateText {
                key: key.to_string(),
                language,
                subject: builtin.map(|b| b.subject.to_string()).unwrap_or_default(),
                body: builtin.map(|b| b.body.to_string()).unwrap_or_default(),
                overridden: false,
                has_builtin: builtin.is_some(),
                updated_at: None,
                updated_by: None,
            },
        })
    }

    /// Every template the team rewrote, by name and language.
    pub async fn template_overrides(
        &self,
    ) -> Result<Vec<template_overrides::TemplateOverride>, EngineError> {
        Ok(template_overrides::list(&mut *self.store.conn().await?).await?)
    }

    /// Renders a subject and body against the sample context with every variable set:
    /// the check a template passes before it is saved. Unknown variables, syntax errors,
    /// runaway loops and huge output come back located by line and column.
    pub fn check_template(
        &self,
        key: &str,
        language: Language,
        subject: &str,
        body: &str,
    ) -> Result<Rendered, SourceError> {
        if subject.trim().is_empty() {
            return Err(SourceError {
                part: "subject".to_string(),
                position: None,
                message: "is empty".to_string(),
            });
        }
        self.renderer
            .check_source(subject, body, language, &sample_context(key, language))
    }

    /// Saves the team's text of template `key` in `language`, after [`Engine::check_template`]
    /// passes; from then on reminders of that template in that language use it.
    pub async fn save_template(
        &self,
        key: &str,
        language: &str,
        subject: &str,
        body: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        validate_key("template", key)?;
        let language = parse_language(language)?;
        if let Err(e) = self.check_template(key, language, subject, body) {
            let message = match e.position {
                Some((line, column)) => format!("line {line}, column {column}: {}", e.message),
                None => e.message,
            };
            return Err(ValidationError::new(e.part, message).into());
        }
        let body = normalise_newlines(body);
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        template_overrides::put(&mut tx, key, language, subject.trim(), &body, now, &actor.0)
            .await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Templates,
            EventAction::Saved,
            &format!("{key}/{language}"),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Drops the team's text of a template, so the built-in one applies again. False when
    /// there was none.
    pub async fn reset_template(
        &self,
        key: &str,
        language: &str,
        actor: &Actor,
    ) -> Result<bool, EngineError> {
        validate_key("template", key)?;
        let language = parse_language(language)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let removed = template_overrides::delete(&mut tx, key, language).await?;
        if removed {
            events::record(
                &mut tx,
                now,
                &actor.0,
                EventSubject::Templates,
                EventAction::Reset,
                &format!("{key}/{language}"),
            )
            .await?;
        }
        self.commit_schedule_change(tx).await?;
        Ok(removed)
    }

    /// Renders a subject and body, unsaved, as they would read for a real contract: with
    /// the step of its current term that uses this template (its label and send date),
    /// else as if sent now. The text is first checked like [`Engine::save_template`] does,
    /// so a preview never shows a template that could not be saved.
    pub async fn preview_template(
        &self,
        key: &str,
        language: &str,
        subject: &str,
        body: &str,
        contract_id: Option<i64>,
    ) -> Result<Result<Rendered, SourceError>, EngineError> {
        validate_key("template", key)?;
        let language = parse_language(language)?;
        let checked = self.check_template(key, language, subject, body);
        let Some(contract_id) = contract_id else {
            return Ok(checked);
        };
        if checked.is_err() {
            return Ok(checked);
        }
        let mut db = self.store.conn().await?;
        let found = Subject::of_current_term(&mut db, contract_id).await?;
        let term = reminders::for_subject(&mut db, found.reference()).await?;
        drop(db);
        let (step, send_at) = match term.iter().find(|r| r.template == key) {
            Some(r) => (
                StepView {
                    key: r.step_key.clone(),
                    label: r.label.clone(),
                },
                r.send_at,
            ),
            None => (
                StepView {
                    key: key.to_string(),
                    label: key.to_string(),
                },
                self.clock.now(),
            ),
        };
        let failure = sample_context(key, language).failure;
        let ctx = self.context_for(&found, step, send_at, failure);
        Ok(self.renderer.check_source(subject, body, language, &ctx))
    }

    /// Active contracts to preview a template against, most recent first.
    pub async fn preview_contracts(
        &self,
        limit: i64,
    ) -> Result<Vec<plans::PreviewContract>, EngineError> {
        let mut db = self.store.conn().await?;
        Ok(plans::recent_active_contracts(&mut db, limit).await?)
    }
}

/// Browsers send textarea lines ending in CRLF; mail bodies are stored with LF.
fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use jiff::civil::Time;
    use tickler_core::plan::{Anchor, Mode, Offset, Recipients, default_renewal_plan};

    use super::*;

    fn steps() -> Vec<Step> {
        default_renewal_plan().steps
    }

    fn no_overrides(_: &str) -> bool {
        false
    }

    #[test]
    fn the_default_plan_is_valid() {
        assert_eq!(validate_steps(&steps(), no_overrides), Ok(()));
    }

    #[test]
    fn keys_must_be_unique_and_well_formed() {
        let mut list = steps();
        list[2].key = "before_60".to_string();
        let err = validate_steps(&list, no_overrides).unwrap_err();
        assert_eq!(err.field, "steps[3].key");
        assert!(err.message.contains("step 1"), "{err}");

        let mut list = steps();
        list[0].key = "Before 60".to_string();
        let err = validate_steps(&list, no_overrides).unwrap_err();
        assert_eq!(err.field, "steps[1].key");

        let err = validate_steps(&[], no_overrides).unwrap_err();
        assert_eq!(err.field, "steps");
    }

    #[test]
    fn offsets_stay_within_ten_years() {
        let mut list = steps();
        list[1].offset = Offset::calendar(-3650);
        assert_eq!(validate_steps(&list, no_overrides), Ok(()));
        list[1].offset = Offset::business(3651);
        let err = validate_steps(&list, no_overrides).unwrap_err();
        assert_eq!(err.field, "steps[2].offset");
        list[1].offset = Offset::calendar(i32::MIN + 1);
        assert!(validate_steps(&list, no_overrides).is_err());
    }

    #[test]
    fn templates_must_be_built_in_or_written_by_the_team() {
        let mut list = steps();
        list.push(Step {
            key: "call".to_string(),
            label: "Call the customer".to_string(),
            anchor: Anchor::EndDate,
            offset: Offset::business(-10),
            send_time: Time::constant(10, 30, 0, 0),
            recipients: Recipients {
                customer: false,
                owner: true,
                team: false,
                cc_owner: false,
            },
            mode: Mode::Task,
            template: "call_notice".to_string(),
            reply_to: None,
        });
        let err = validate_steps(&list, no_overrides).unwrap_err();
        assert_eq!(err.field, format!("steps[{}].template", list.len()));
        assert!(err.message.contains("call_notice"), "{err}");
        assert_eq!(validate_steps(&list, |name| name == "call_notice"), Ok(()));
    }

    #[test]
    fn every_anchor_some_subject_has_is_accepted() {
        let mut list = steps();
        for anchor in [
            Anchor::StartDate,
            Anchor::NoticeDate,
            Anchor::NextInvoiceDate,
            Anchor::InvoiceDueDate,
        ] {
            list[0].anchor = anchor;
            assert_eq!(validate_steps(&list, no_overrides), Ok(()), "{anchor}");
            assert_eq!(unschedulable(&list[0]), None, "{anchor}");
        }
    }

    #[test]
    fn the_invoice_plans_are_valid() {
        for plan in [
            tickler_core::plan::default_subscription_plan(),
            tickler_core::plan::default_dunning_plan(),
            tickler_core::plan::default_auto_renewal_plan(),
        ] {
            assert_eq!(
                validate_steps(&plan.steps, no_overrides),
                Ok(()),
                "{}",
                plan.name
            );
        }
    }

    #[test]
    fn labels_must_not_be_empty() {
        let mut list = steps();
        list[3].label = "  ".to_string();
        assert_eq!(
            validate_steps(&list, no_overrides).unwrap_err().field,
            "steps[4].label"
        );
    }

    #[test]
    fn every_built_in_template_passes_the_check_against_the_sample() {
        let renderer = tickler_mail::Renderer::new();
        for language in Language::ALL {
            for key in templates::KEYS {
                let builtin = templates::builtin(key, language).expect("built in");
                renderer
                    .check_source(
                        builtin.subject,
                        builtin.body,
                        language,
                        &sample_context(key, language),
                    )
                    .unwrap_or_else(|e| panic!("{key}/{language}: {e}"));
            }
        }
    }

    #[test]
    fn unknown_variables_are_refused_with_line_and_column() {
        let renderer = tickler_mail::Renderer::new();
        let err = renderer
            .check_source(
                "Renewal",
                "Dear {{ customer.name }},\n{{ contract.nonexistent }}\n",
                Language::En,
                &sample_context("before_30", Language::En),
            )
            .unwrap_err();
        assert_eq!(err.part, "body");
        assert_eq!(err.position.map(|p| p.0), Some(2));
    }
}
