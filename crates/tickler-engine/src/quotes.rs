//! Renewal quotes: the team offers a contract's next term (its end, lines and billing), sends
//! it with its PDF and signed accept/decline links, and the customer or the team decides.
//! Acceptance starts the next term from the quote, in the same transaction; a sent quote past
//! its validity expires under the dispatcher and leaves its owner a task.

use jiff::civil::Date;
use serde::Serialize;
use tickler_core::{
    ValidationError,
    answer_link::{LinkAction, LinkClaims, link_expiry},
    billing::{BillingInterval, BillingTiming, InvoiceMode},
    contract::{Contract, ContractStatus},
    customer::Customer,
    error::parse_date,
    event::{EventAction, EventSubject},
    invoice::{LineItem, checked_totals, parse_line},
    plan::{Mode, Recipients},
    quote::{self as rules, QuoteRuleError, QuoteStatus},
    subject::{SubjectKind, SubjectRef},
    term::Term,
    user::User,
};
use tickler_store::{
    Db,
    billing::{self, BillingSchedule},
    contracts::{self, ContractTerm},
    customers,
    events::{self, Event},
    quotes::{self, Decision, NewQuote, QuoteTerms},
    reminders::{self, NewReminder, ReminderKind},
    tasks::NewTask,
    users,
};

use crate::{
    Actor, Engine, EngineError,
    billing::{BillingInput, validate_billing},
    contracts::NextTermSpec,
    invoice_view::line_text,
    invoicing::StoredLine,
    recipients,
};
use serde_json::json;
use tickler_core::webhook::WebhookEvent;

pub use tickler_store::quotes::{Quote, QuoteBilling, QuoteFilter};

/// The step key and template of the email that carries a sent quote.
pub const QUOTE_EMAIL: &str = tickler_mail::templates::QUOTE_SENT;

/// Quotes expired per transaction by the dispatcher.
const EXPIRY_BATCH: i64 = 100;

/// A quote as a person or the CLI gives it; `None` or empty takes the default (copied from
/// the contract's current term).
#[derive(Debug, Clone, Default)]
pub struct QuoteInput {
    /// The next term's end; default: as long as the current term.
    pub end: Option<String>,
    /// "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT" each; default: the sale's lines, or one
    /// line of the contract's amount.
    pub lines: Vec<String>,
    /// "1m", "1y"...; default: the sale's interval (none for a contract that is not a
    /// recurring sale).
    pub bill_every: Option<String>,
    /// Default: 30 days from today.
    pub valid_until: Option<String>,
}

/// The signed links of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteLinks {
    pub accept: String,
    pub decline: String,
}

/// A quote with everything its page, `quote show`, its PDF and its email need.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteDetail {
    pub quote: Quote,
    pub lines: Vec<StoredLine>,
    pub contract: Contract,
    pub customer: Customer,
    pub owner: Option<User>,
    /// The term the quote renews.
    pub renews: ContractTerm,
    pub events: Vec<Event>,
    /// `None` without `TICKLER_PUBLIC_URL`.
    pub links: Option<QuoteLinks>,
}

impl QuoteDetail {
    /// The quote as its edit form holds it.
    pub fn input(&self) -> QuoteInput {
        let quote = &self.quote;
        QuoteInput {
            end: Some(quote.end_date.to_string()),
            lines: self.lines.iter().map(|l| line_text(&l.item)).collect(),
            bill_every: quote.billing.map(|b| b.interval.to_string()),
            valid_until: Some(quote.valid_until.to_string()),
        }
    }
}

impl From<QuoteRuleError> for EngineError {
    fn from(e: QuoteRuleError) -> Self {
        EngineError::Conflict(e.message)
    }
}

pub(crate) fn quote_ref(id: i64) -> SubjectRef {
    SubjectRef {
        kind: SubjectKind::Quote,
        id,
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// What a draft offers, checked.
struct ValidTerms {
    next: Term,
    valid_until: Date,
    billing: Option<QuoteBilling>,
    lines: Vec<LineItem>,
}

impl Engine {
    /// Checks `input` against the contract and its current term, taking the defaults from
    /// them: the term's length, the sale's lines and schedule, or one line of the amount.
    async fn quote_terms(
        &self,
        db: &mut Db,
        contract: &Contract,
        input: &QuoteInput,
    ) -> Result<ValidTerms, EngineError> {
        let current = Term::new(contract.start_date, contract.end_date)?;
        let end = present(&input.end)
            .map(|text| parse_date("end", text))
            .transpose()?;
        let next = current.next(end)?;
        let today = self.organisation_today();
        let valid_until = match present(&input.valid_until) {
            Some(text) => parse_date("valid_until", text)?,
            None => rules::default_valid_until(today),
        };
        if valid_until < today {
            return Err(ValidationError::new(
                "valid_until",
                format!("{valid_until} has already passed (today is {today})"),
            )
            .into());
        }
        let currency = contract.money().map(|m| m.currency).ok_or_else(|| {
            ValidationError::new(
                "currency",
                format!(
                    "contract {} has no amount and currency: give it one before quoting its \
                     renewal",
                    contract.id
                ),
            )
        })?;
        let schedule = billing::schedule(db, contract.id).await?;
        let texts: Vec<String> = input
            .lines
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let lines = if texts.is_empty() {
            match &schedule {
                Some(_) => billing::lines(db, contract.id, currency).await?,
                None => contract
                    .money()
                    .filter(|m| m.minor > 0)
                    .map(|amount| {
                        parse_line(
                            "line 1",
                            &format!(
                                "{}|1|{}|0",
                                contract.title.replace('|', "/"),
                                amount.to_decimal_string()
                            ),
                            currency,
                        )
                    })
                    .transpose()?
                    .into_iter()
                    .collect(),
            }
        } else {
            Vec::new()
        };
        let every = present(&input.bill_every)
            .map(str::to_string)
            .or_else(|| schedule.as_ref().map(|s| s.interval.to_string()));
        let (billing, lines) = match every {
            Some(every) => {
                let (interval, lines) = if texts.is_empty() {
                    (BillingInterval::parse("bill_every", &every)?, lines)
                } else {
                    // The same rules as `contract add --bill-every --line`.
                    let valid = validate_billing(
                        &BillingInput {
                            every,
                            lines: texts,
                            ..BillingInput::default()
                        },
                        Some(currency),
                    )?;
                    (valid.interval, valid.lines)
                };
                let billing = QuoteBilling {
                    interval,
                    timing: schedule
                        .as_ref()
                        .map_or(BillingTiming::InAdvance, |s| s.timing),
                    invoice_mode: schedule
                        .as_ref()
                        .map_or(InvoiceMode::Issue, |s| s.invoice_mode),
                    payment_days: schedule
                        .as_ref()
                        .map_or_else(|| self.default_payment_days(), |s| s.payment_days),
                };
                (Some(billing), lines)
            }
            None if texts.is_empty() => (None, lines),
            None => (
                None,
                texts
                    .iter()
                    .enumerate()
                    .map(|(i, text)| parse_line(&format!("line {}", i + 1), text, currency))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(ValidTerms {
            next,
            valid_until,
            billing,
            lines,
        })
    }

    /// What a new quote of the contract starts with, as the create form shows it: the
    /// defaults [`Engine::create_quote`] takes when nothing is given.
    pub async fn quote_defaults(&self, contract_id: i64) -> Result<QuoteInput, EngineError> {
        let mut db = self.store.conn().await?;
        let contract = contracts::get(&mut db, contract_id).await?;
        refuse_terminated(&contract)?;
        let valid = self
            .quote_terms(&mut db, &contract, &QuoteInput::default())
            .await?;
        Ok(QuoteInput {
            end: Some(valid.next.end.to_string()),
            lines: valid.lines.iter().map(line_text).collect(),
            bill_every: valid.billing.map(|b| b.interval.to_string()),
            valid_until: Some(valid.valid_until.to_string()),
        })
    }

    /// Creates a draft quote for the contract's next term; returns its id.
    pub async fn create_quote(
        &self,
        contract_id: i64,
        input: &QuoteInput,
        actor: &Actor,
    ) -> Result<i64, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let contract = contracts::get(&mut tx, contract_id).await?;
        refuse_terminated(&contract)?;
        let term = contracts::current_term(&mut tx, &contract).await?;
        let valid = self.quote_terms(&mut tx, &contract, input).await?;
        let totals = checked_totals(&valid.lines)
            .ok_or_else(|| ValidationError::new("line", "the quote's total is too large"))?;
        let currency = contract
            .money()
            .map(|m| m.currency)
            .ok_or_else(|| EngineError::Internal("checked above".to_string()))?;
        let id = quotes::insert_draft(
            &mut tx,
            &NewQuote {
                contract_id,
                term_id: term.id,
                currency,
                terms: QuoteTerms {
                    start_date: valid.next.start,
                    end_date: valid.next.end,
                    valid_until: valid.valid_until,
                    billing: valid.billing,
                    lines: &valid.lines,
                    totals: &totals,
                },
            },
            now,
        )
        .await?;
        let detail = format!(
            "Q-{id} for contract {contract_id}: term {} to {}, {} lines, total {}, valid until {}",
            valid.next.start,
            valid.next.end,
            valid.lines.len(),
            tickler_core::money::Money {
                minor: totals.total,
                currency
            }
            .to_decimal_string(),
            valid.valid_until
        );
        quote_event(&mut tx, now, actor, id, EventAction::Created, &detail).await?;
        tickler_store::commit(tx).await?;
        Ok(id)
    }

    /// Changes a draft: what `input` gives replaces what it has (its defaults are the
    /// contract's, as at creation).
    pub async fn edit_quote(
        &self,
        id: i64,
        input: &QuoteInput,
        actor: &Actor,
    ) -> Result<Quote, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let quote = quotes::get_for_update(&mut tx, self.store.backend(), id).await?;
        rules::check_edit(quote.status)?;
        let contract = contracts::get(&mut tx, quote.contract_id).await?;
        refuse_terminated(&contract)?;
        // A draft follows the contract's dates: editing it recomputes its term.
        self.refuse_renewed(&mut tx, &contract, &quote).await?;
        let valid = self.quote_terms(&mut tx, &contract, input).await?;
        let totals = checked_totals(&valid.lines)
            .ok_or_else(|| ValidationError::new("line", "the quote's total is too large"))?;
        let terms = QuoteTerms {
            start_date: valid.next.start,
            end_date: valid.next.end,
            valid_until: valid.valid_until,
            billing: valid.billing,
            lines: &valid.lines,
            totals: &totals,
        };
        if !quotes::update_draft(&mut tx, id, &terms, now).await? {
            return Err(EngineError::Conflict(format!(
                "quote Q-{id} is no longer a draft"
            )));
        }
        let detail = format!(
            "term {} to {}, {} lines, total {}, valid until {}",
            valid.next.start,
            valid.next.end,
            valid.lines.len(),
            quote.money(totals.total).to_decimal_string(),
            valid.valid_until
        );
        quote_event(&mut tx, now, actor, id, EventAction::Edited, &detail).await?;
        tickler_store::commit(tx).await?;
        Ok(self.quote_detail(id).await?.quote)
    }

    /// Sends a draft: it becomes `sent` and its email (the PDF and the links) is queued for
    /// the dispatcher at once.
    pub async fn send_quote(&self, id: i64, actor: &Actor) -> Result<Quote, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let quote = quotes::get_for_update(&mut tx, self.store.backend(), id).await?;
        let lines = quotes::lines(&mut tx, &quote).await?;
        rules::send(quote.state(), lines.len(), self.organisation_today())?;
        let contract = contracts::get(&mut tx, quote.contract_id).await?;
        refuse_terminated(&contract)?;
        self.refuse_stale(&mut tx, &contract, &quote).await?;
        let customer = customers::get(&mut tx, contract.customer_id).await?;
        let owner = match contract.owner_id {
            Some(owner) => Some(users::get(&mut tx, owner).await?),
            None => None,
        };
        let (to, cc) = recipients::resolve(
            Recipients::CUSTOMER_CC_OWNER,
            &customer.emails,
            owner.as_ref().map(|o| o.email.as_str()),
            &[],
        );
        if !quotes::mark_sent(&mut tx, id, now).await? {
            return Err(EngineError::Conflict(format!(
                "quote Q-{id} is no longer a draft"
            )));
        }
        reminders::insert(
            &mut tx,
            &NewReminder {
                about: quote_ref(id),
                contract_id: Some(contract.id),
                kind: ReminderKind::Notice,
                anchor: None,
                step_key: QUOTE_EMAIL,
                position: -1,
                label: "Quote",
                template: QUOTE_EMAIL,
                offset_days: 0,
                mode: Mode::Auto,
                send_at: now,
                to: &to,
                cc: &cc,
                subject: None,
                body: None,
                message_id: &self.new_message_id(),
            },
            now,
        )
        .await?;
        quote_event(
            &mut tx,
            now,
            actor,
            id,
            EventAction::Sent,
            &format!("to {}", to.join(", ")),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(self.quote_detail(id).await?.quote)
    }

    /// Accepts a sent quote (the team, or the customer through the signed link): in one
    /// transaction the next term starts with the quote's end, lines and billing, linked to
    /// the quote and the term it renews; the old term's pending emails are cancelled and the
    /// new term's scheduled. A second acceptance, a declined or expired quote, or a contract
    /// renewed meanwhile is refused and changes nothing.
    pub async fn accept_quote(&self, id: i64, actor: &Actor) -> Result<QuoteDetail, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let quote = quotes::get_for_update(&mut tx, self.store.backend(), id).await?;
        let today = self.organisation_today();
        rules::accept(quote.state(), today)?;
        let contract = contracts::get(&mut tx, quote.contract_id).await?;
        refuse_terminated(&contract)?;
        self.refuse_stale(&mut tx, &contract, &quote).await?;
        let lines = quotes::lines(&mut tx, &quote).await?;
        let spec = NextTermSpec {
            end: Some(quote.end_date),
            quote_id: Some(id),
            amount: quote.billing.is_none().then(|| quote.money(quote.total)),
            billing: quote.billing.map(|b| {
                (
                    BillingSchedule {
                        contract_id: contract.id,
                        interval: b.interval,
                        timing: b.timing,
                        cycles: None,
                        invoice_mode: b.invoice_mode,
                        payment_days: b.payment_days,
                    },
                    lines.iter().map(|l| l.item.clone()).collect(),
                )
            }),
        };
        let term = self
            .start_next_term(&mut tx, &contract, &spec, actor, now)
            .await?;
        decide(
            &mut tx,
            id,
            &Decision {
                status: QuoteStatus::Accepted,
                on: today,
                by: &actor.0,
                reason: None,
                next_term_id: Some(term.id),
            },
            now,
        )
        .await?;
        quote_event(
            &mut tx,
            now,
            actor,
            id,
            EventAction::Accepted,
            &format!(
                "term {} of contract {} runs {} to {}",
                term.term_number, contract.id, term.start_date, term.end_date
            ),
        )
        .await?;
        self.announce_about(
            &mut tx,
            now,
            WebhookEvent::QuoteAccepted,
            EventSubject::Quote(id),
            json!({ "by": actor.0 }),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        self.quote_detail(id).await
    }

    /// Declines a sent quote, with the customer's or the team's reason.
    pub async fn decline_quote(
        &self,
        id: i64,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<QuoteDetail, EngineError> {
        let now = self.clock.now();
        let reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(r) = &reason
            && r.chars().count() > 1000
        {
            return Err(ValidationError::new("reason", "at most 1000 characters").into());
        }
        let mut tx = self.store.begin().await?;
        let quote = quotes::get_for_update(&mut tx, self.store.backend(), id).await?;
        let today = self.organisation_today();
        rules::decline(quote.state(), today)?;
        decide(
            &mut tx,
            id,
            &Decision {
                status: QuoteStatus::Declined,
                on: today,
                by: &actor.0,
                reason: reason.as_deref(),
                next_term_id: None,
            },
            now,
        )
        .await?;
        quote_event(
            &mut tx,
            now,
            actor,
            id,
            EventAction::Declined,
            reason.as_deref().unwrap_or("no reason given"),
        )
        .await?;
        self.announce_about(
            &mut tx,
            now,
            WebhookEvent::QuoteDeclined,
            EventSubject::Quote(id),
            json!({ "by": actor.0, "reason": reason }),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        self.quote_detail(id).await
    }

    /// Marks every sent quote past its validity `expired` (as of the organisation's today), a
    /// batch per transaction, each leaving its contract's owner a follow-up task. Guarded on
    /// the status, so a quote accepted at the same moment stays accepted.
    pub async fn expire_quotes(&self) -> Result<usize, EngineError> {
        let today = self.organisation_today();
        let actor = Actor::system();
        let mut expired = 0;
        loop {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let batch = quotes::sent_past_validity(&mut tx, today, EXPIRY_BATCH).await?;
            let full = batch.len() as i64 == EXPIRY_BATCH;
            for quote in batch {
                if rules::expire(quote.state(), today).is_err()
                    || !quotes::expire(&mut tx, quote.id, now).await?
                {
                    continue;
                }
                quote_event(
                    &mut tx,
                    now,
                    &actor,
                    quote.id,
                    EventAction::Expired,
                    &format!("valid until {}, unanswered", quote.valid_until),
                )
                .await?;
                let contract = contracts::get(&mut tx, quote.contract_id).await?;
                let customer = customers::get(&mut tx, contract.customer_id).await?;
                let term = contracts::current_term(&mut tx, &contract).await?;
                let title = format!(
                    "Quote {} expired: follow up with {}",
                    quote.number(),
                    customer.name
                );
                let source = format!("quote_expired:{}", quote.id);
                self.open_task(
                    &mut tx,
                    &NewTask {
                        contract_id: Some(contract.id),
                        about: SubjectRef::contract_term(term.id),
                        source: &source,
                        title: &title,
                        owner_id: contract.owner_id,
                        due_date: quote.valid_until.tomorrow().unwrap_or(today),
                    },
                    &actor,
                    now,
                )
                .await?;
                expired += 1;
            }
            tickler_store::commit(tx).await?;
            if !full {
                return Ok(expired);
            }
        }
    }

    /// Refuses acting on a quote whose term is no longer the contract's current one: the
    /// contract was renewed (by another quote, a link or by hand) since it was made.
    async fn refuse_renewed(
        &self,
        db: &mut Db,
        contract: &Contract,
        quote: &Quote,
    ) -> Result<ContractTerm, EngineError> {
        let current = contracts::current_term(db, contract).await?;
        if current.id != quote.term_id {
            return Err(EngineError::Conflict(format!(
                "contract {} was renewed since quote {} was made: its current term {} runs {} \
                 to {}, so the quote's term is no longer current (create a new quote)",
                contract.id,
                quote.number(),
                current.term_number,
                current.start_date,
                current.end_date
            )));
        }
        Ok(current)
    }

    /// [`Engine::refuse_renewed`], and refuses a quote whose term no longer follows the
    /// current one: sending or accepting it would offer or start something else.
    async fn refuse_stale(
        &self,
        db: &mut Db,
        contract: &Contract,
        quote: &Quote,
    ) -> Result<(), EngineError> {
        let current = self.refuse_renewed(db, contract, quote).await?;
        if current.end_date.tomorrow().ok() != Some(quote.start_date) {
            // The current term's dates were edited since: the quote's next term no longer
            // follows it, so what the customer was offered is not what would start.
            return Err(EngineError::Conflict(format!(
                "contract {}'s current term now ends {}, so quote {}'s term (from {}) no \
                 longer follows it (edit the draft, or create a new quote)",
                contract.id,
                current.end_date,
                quote.number(),
                quote.start_date
            )));
        }
        Ok(())
    }

    /// The quote's signed links, or `None` when `TICKLER_PUBLIC_URL` is not set. They work
    /// a while past the validity date, so a late click opens a page saying it expired.
    pub(crate) async fn quote_links(
        &self,
        db: &mut Db,
        quote: &Quote,
    ) -> Result<Option<QuoteLinks>, EngineError> {
        let Ok(public_url) = self.public_url().map(str::to_string) else {
            return Ok(None);
        };
        let secret = self.link_secret(db).await?;
        let url = |action| {
            Self::link_url(
                &public_url,
                &secret,
                &LinkClaims {
                    action,
                    subject_id: quote.id,
                    expires_on: link_expiry(quote.valid_until),
                },
            )
        };
        Ok(Some(QuoteLinks {
            accept: url(LinkAction::AcceptQuote),
            decline: url(LinkAction::DeclineQuote),
        }))
    }

    pub async fn quote_detail(&self, id: i64) -> Result<QuoteDetail, EngineError> {
        let mut db = self.store.conn().await?;
        let quote = quotes::get(&mut db, id).await?;
        let lines = quotes::lines(&mut db, &quote).await?;
        let contract = contracts::get(&mut db, quote.contract_id).await?;
        let customer = customers::get(&mut db, contract.customer_id).await?;
        let owner = match contract.owner_id {
            Some(owner) => Some(users::get(&mut db, owner).await?),
            None => None,
        };
        let renews = contracts::term(&mut db, quote.term_id).await?;
        let events = events::for_subject(&mut db, EventSubject::Quote(id)).await?;
        let links = self.quote_links(&mut db, &quote).await?;
        Ok(QuoteDetail {
            quote,
            lines,
            contract,
            customer,
            owner,
            renews,
            events,
            links,
        })
    }

    /// Quotes as a list shows them, newest first, each with its links.
    pub async fn list_quotes(
        &self,
        filter: &QuoteFilter,
    ) -> Result<Vec<(Quote, Option<QuoteLinks>)>, EngineError> {
        let mut db = self.store.conn().await?;
        let list = quotes::list(&mut db, filter).await?;
        let mut out = Vec::with_capacity(list.len());
        for quote in list {
            let links = self.quote_links(&mut db, &quote).await?;
            out.push((quote, links));
        }
        Ok(out)
    }
}

fn refuse_terminated(contract: &Contract) -> Result<(), EngineError> {
    if contract.status == ContractStatus::Terminated {
        return Err(EngineError::Conflict(format!(
            "contract {} is terminated: its renewal cannot be quoted or accepted",
            contract.id
        )));
    }
    Ok(())
}

async fn quote_event(
    db: &mut Db,
    now: jiff::Timestamp,
    actor: &Actor,
    id: i64,
    action: EventAction,
    detail: &str,
) -> Result<(), EngineError> {
    Ok(events::record(db, now, &actor.0, EventSubject::Quote(id), action, detail).await?)
}

/// Records a decision on a sent quote, guarded on its status: refused, changing nothing, if
/// another decision (or the expiry run) came first.
async fn decide(
    db: &mut Db,
    id: i64,
    decision: &Decision<'_>,
    now: jiff::Timestamp,
) -> Result<(), EngineError> {
    if quotes::decide(db, id, decision, now).await? {
        Ok(())
    } else {
        Err(EngineError::Conflict(format!(
            "quote Q-{id} was decided meanwhile; nothing changed"
        )))
    }
}
