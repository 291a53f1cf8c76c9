//! The customer's answers to a renewal email — renew, don't renew, send me a quote — given
//! through a signed link's page or recorded by the team, acted on at once and taken once.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use tickler_core::{
    answer_link::{LinkAction, LinkClaims, LinkError, verify},
    event::{EventAction, EventSubject},
    plan::{Anchor, Mode},
    quote::QuoteStatus,
    reminder::{ReminderKind, ReminderStatus},
    renewal::Answer,
    subject::SubjectRef,
};
use tickler_mail::context::StepView;
use tickler_store::{
    Db,
    contracts::{self, ContractStatus, ContractTerm},
    events, reminders,
    tasks::NewTask,
};

use crate::{
    Actor, Engine, EngineError, contracts::NextTermSpec, dispatch::InternalNotice, message::Subject,
};

use serde_json::json;
use tickler_core::webhook::WebhookEvent;
use tickler_mail::templates::ANSWER_RECEIVED;

/// What a link's page shows before and after its button is pressed.
#[derive(Debug, Clone, Serialize)]
pub struct LinkPage {
    pub action: LinkAction,
    pub organisation: String,
    pub customer: String,
    pub contract_title: String,
    pub term_number: i32,
    pub term_start: Date,
    pub term_end: Date,
    /// The last day to cancel an auto-renewing term.
    pub notice_date: Option<Date>,
    /// For a quote's links: the quote (the term above is the one it offers).
    pub quote: Option<QuoteSummary>,
    /// Set when the question was settled already: by this link, another, or the team.
    pub decided: Option<Decided>,
}

/// What a quote's page shows of it.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteSummary {
    /// "Q-7".
    pub number: String,
    /// Formatted in English, e.g. "€1,488.00".
    pub total: String,
    pub valid_until: Date,
}

/// A settled question, as the page tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// One sentence: "This contract was renewed on 2027-03-02: term 2 runs ... ".
    pub summary: String,
}

/// Why a link opens no question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("{0}")]
    Invalid(LinkError),
    /// The token checks out but what it names is gone (a deleted record): told plainly.
    #[error("this link no longer leads anywhere: {0}")]
    Gone(String),
}

/// What confirming a link did.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerOutcome {
    pub page: LinkPage,
    /// False when the question had been settled before; nothing was changed then.
    pub changed: bool,
}

impl Engine {
    /// Checks a link and says what its page asks (or that the question is settled). Changes
    /// nothing: a GET, a mail scanner's prefetch, must never answer for the customer.
    pub async fn inspect_link(&self, token: &str) -> Result<LinkPage, EngineError> {
        let mut db = self.store.conn().await?;
        let claims = self.verify_link(&mut db, token).await?;
        drop(db);
        if claims.action.answer().is_none() {
            return self.quote_page(&claims).await;
        }
        let mut db = self.store.conn().await?;
        self.link_page(&mut db, &claims).await
    }

    /// Acts on a confirmed link, once: a second confirmation (or a race) shows what was
    /// decided and changes nothing.
    pub async fn confirm_link(&self, token: &str) -> Result<AnswerOutcome, EngineError> {
        let claims = {
            let mut db = self.store.conn().await?;
            self.verify_link(&mut db, token).await?
        };
        let actor = Actor("customer (signed link)".to_string());
        let Some(answer) = claims.action.answer() else {
            let decided = match claims.action {
                LinkAction::AcceptQuote => self.accept_quote(claims.subject_id, &actor).await,
                _ => self.decline_quote(claims.subject_id, None, &actor).await,
            };
            let changed = match decided {
                Ok(_) => true,
                // Decided before (accepted, declined, expired, or the contract moved on):
                // the page tells what; nothing changed.
                Err(EngineError::Conflict(_)) => false,
                Err(e) => return Err(e),
            };
            return Ok(AnswerOutcome {
                page: self.quote_page(&claims).await?,
                changed,
            });
        };
        let changed = self
            .answer_term(claims.subject_id, answer, None, &actor)
            .await?;
        let mut db = self.store.conn().await?;
        Ok(AnswerOutcome {
            page: self.link_page(&mut db, &claims).await?,
            changed,
        })
    }

    /// `contract decline`: what the decline link does, done by the team.
    pub async fn decline_contract(
        &self,
        contract_id: i64,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let term = {
            let mut db = self.store.conn().await?;
            let contract = contracts::get(&mut db, contract_id).await?;
            contracts::current_term(&mut db, &contract).await?
        };
        let reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if !self
            .answer_term(term.id, Answer::Decline, reason.as_deref(), actor)
            .await?
        {
            let decided = term.answer.map(Answer::as_str).unwrap_or("answered");
            return Err(EngineError::Conflict(format!(
                "contract {contract_id}'s term {} was already {decided}; nothing changed",
                term.term_number
            )));
        }
        Ok(())
    }

    async fn verify_link(&self, db: &mut Db, token: &str) -> Result<LinkClaims, EngineError> {
        let secret = self.link_secret(db).await?;
        let today = self.organisation_today();
        verify(token, &secret, today).map_err(|e| EngineError::Link(LinkRefusal::Invalid(e)))
    }

    /// The page of a quote's accept or decline link.
    async fn quote_page(&self, claims: &LinkClaims) -> Result<LinkPage, EngineError> {
        let detail = match self.quote_detail(claims.subject_id).await {
            Ok(detail) => detail,
            Err(EngineError::NotFound { .. }) => {
                return Err(LinkRefusal::Gone("the quote".to_string()).into());
            }
            Err(e) => return Err(e),
        };
        let quote = &detail.quote;
        let on = quote
            .decided_on
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        let summary = match quote.status {
            QuoteStatus::Accepted => Some(format!(
                "This quote was accepted{on}: the new term runs {} to {}.",
                quote.start_date, quote.end_date
            )),
            QuoteStatus::Declined => Some(format!("This quote was declined{on}.")),
            QuoteStatus::Expired => Some(format!(
                "This quote expired after {}. Please reply to the email and we will send a new \
                 one.",
                quote.valid_until
            )),
            QuoteStatus::Draft | QuoteStatus::Sent => (detail.contract.term_number
                != detail.renews.term_number)
                .then(|| "This contract has been renewed since this quote was sent.".to_string()),
        };
        Ok(LinkPage {
            action: claims.action,
            organisation: self.settings.organisation_name.clone(),
            customer: detail.customer.name.clone(),
            contract_title: detail.contract.title.clone(),
            term_number: detail.renews.term_number + 1,
            term_start: quote.start_date,
            term_end: quote.end_date,
            notice_date: None,
            quote: Some(QuoteSummary {
                number: quote.number(),
                total: quote
                    .money(quote.total)
                    .format(tickler_core::language::Language::En),
                valid_until: quote.valid_until,
            }),
            decided: summary.map(|summary| Decided { summary }),
        })
    }

    async fn link_page(&self, db: &mut Db, claims: &LinkClaims) -> Result<LinkPage, EngineError> {
        let term = contracts::term(db, claims.subject_id)
            .await
            .map_err(|_| EngineError::Link(LinkRefusal::Gone("the contract term".to_string())))?;
        let contract = contracts::get(db, term.contract_id).await?;
        let customer = tickler_store::customers::get(db, contract.customer_id).await?;
        let decided = decision_summary(db, &contract, &term, claims.action).await?;
        Ok(LinkPage {
            action: claims.action,
            organisation: self.settings.organisation_name.clone(),
            customer: customer.name,
            contract_title: contract.title.clone(),
            term_number: term.term_number,
            term_start: term.start_date,
            term_end: term.end_date,
            notice_date: contract.renewal_terms().notice_date(term.end_date),
            quote: None,
            decided,
        })
    }

    /// Records `answer` on a term and acts on it in one transaction; false (nothing done)
    /// when the term's question was settled before.
    pub(crate) async fn answer_term(
        &self,
        term_id: i64,
        answer: Answer,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<bool, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let term = contracts::term(&mut tx, term_id).await?;
        let contract = contracts::get(&mut tx, term.contract_id).await?;
        if contract.status == ContractStatus::Terminated || contract.term_number != term.term_number
        {
            return Ok(false);
        }
        if !contracts::record_answer(&mut tx, &term, answer, &actor.0, note, now).await? {
            return Ok(false);
        }
        let about = SubjectRef::contract_term(term.id);
        let why = format!("the customer answered: {answer}");
        // Whatever the answer, the call to ask for one is pointless now.
        self.cancel_tasks_about(&mut tx, about, &why, actor, now)
            .await?;
        let cancelled = self
            .cancel_pending(&mut tx, &term, answer, &why, actor, now)
            .await?;
        let done = match answer {
            Answer::Renew => {
                let next = self
                    .start_next_term(&mut tx, &contract, &NextTermSpec::default(), actor, now)
                    .await?;
                format!(
                    "renew: term {} runs {} to {}",
                    next.term_number, next.start_date, next.end_date
                )
            }
            Answer::Decline => format!(
                "do not renew{}: {cancelled} pending emails before the end cancelled",
                note.map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            Answer::Quote => {
                let today = self.organisation_today();
                self.open_task(
                    &mut tx,
                    &NewTask {
                        contract_id: Some(contract.id),
                        about,
                        source: &format!("answer:quote:{}", term.id),
                        title: &format!("Prepare a renewal quote for {}", contract.title),
                        owner_id: contract.owner_id,
                        due_date: today,
                    },
                    actor,
                    now,
                )
                .await?;
                "send a renewal quote: a task for the owner".to_string()
            }
        };
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Contract(contract.id),
            EventAction::Answered,
            &format!("term {}: {done}", term.term_number),
        )
        .await?;
        let answered = json!({
            "answer": answer.as_str(),
            "answered_term_number": term.term_number,
            "by": actor.0,
        });
        self.announce_about(
            &mut tx,
            now,
            WebhookEvent::CustomerAnswered,
            EventSubject::Contract(contract.id),
            answered.clone(),
        )
        .await?;
        if answer == Answer::Decline {
            self.announce_about(
                &mut tx,
                now,
                WebhookEvent::ContractDeclined,
                EventSubject::Contract(contract.id),
                answered,
            )
            .await?;
        }
        self.queue_answer_notice(&mut tx, about, answer, now)
            .await?;
        self.commit_schedule_change(tx).await?;
        Ok(true)
    }

    /// Cancels the term's scheduled reminders the answer makes pointless: for a refusal,
    /// every one before the end date (a closing "thank you" after it stays, as the plan
    /// says); for a quote request, the call that would have asked. A renewal cancels the
    /// term's reminders when it starts the next term.
    async fn cancel_pending(
        &self,
        db: &mut Db,
        term: &ContractTerm,
        answer: Answer,
        why: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<usize, EngineError> {
        let mut cancelled = 0;
        let end = term.end_date;
        for reminder in reminders::for_subject(db, SubjectRef::contract_term(term.id)).await? {
            let before_end = match reminder.anchor {
                Some(Anchor::EndDate) => reminder.offset_days < 0,
                Some(Anchor::NoticeDate) => true,
                _ => false,
            } || reminder.send_at < self.end_of_term_instant(end);
            let pointless = reminder.status == ReminderStatus::Scheduled
                && reminder.kind == ReminderKind::Step
                && match answer {
                    Answer::Decline => before_end,
                    Answer::Quote => reminder.mode == Mode::Task,
                    Answer::Renew => false,
                };
            if pointless
                && reminders::close_scheduled(db, reminder.id, ReminderStatus::Cancelled, why, now)
                    .await?
            {
                events::record(
                    db,
                    now,
                    &actor.0,
                    EventSubject::Reminder(reminder.id),
                    EventAction::Cancelled,
                    why,
                )
                .await?;
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }

    /// The first instant after a term's end date, in the organisation's zone.
    fn end_of_term_instant(&self, end: Date) -> Timestamp {
        end.tomorrow()
            .map(|day| {
                tickler_core::schedule::local_instant(
                    day,
                    jiff::civil::Time::midnight(),
                    self.settings.default_time_zone.tz(),
                )
            })
            .unwrap_or(Timestamp::MAX)
    }

    /// Emails the contract's owner (or, without one, the team) what the customer answered,
    /// once per answer and term.
    async fn queue_answer_notice(
        &self,
        db: &mut Db,
        about: SubjectRef,
        answer: Answer,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let subject = Subject::load(db, about).await?;
        let to = match &subject.owner {
            Some(owner) => vec![owner.email.clone()],
            None => self.team_addresses(db).await?,
        };
        let label = match answer {
            Answer::Renew => "The customer renewed",
            Answer::Decline => "The customer does not renew",
            Answer::Quote => "The customer asks for a renewal quote",
        };
        let key = format!("answer_{answer}");
        let ctx = self.context_for(
            &subject,
            StepView {
                key: key.clone(),
                label: label.to_string(),
            },
            now,
            None,
        );
        let rendered = self.render_template(
            ANSWER_RECEIVED,
            tickler_core::language::Language::En,
            &subject,
            &ctx,
        )?;
        self.insert_notice(
            db,
            &InternalNotice {
                about,
                contract_id: Some(subject.contract.id),
                key: &key,
                label,
                template: ANSWER_RECEIVED,
                to: &to,
            },
            &rendered,
            now,
        )
        .await?;
        Ok(())
    }
}

/// How a term's renewal question was settled, if it was: renewed (a later term exists),
/// declined, or the contract terminated. A quote request leaves it open.
async fn decision_summary(
    db: &mut Db,
    contract: &tickler_store::contracts::Contract,
    term: &ContractTerm,
    action: LinkAction,
) -> Result<Option<Decided>, EngineError> {
    if contract.term_number > term.term_number {
        let next = contracts::terms(db, contract.id)
            .await?
            .into_iter()
            .find(|t| t.previous_term_id == Some(term.id) || t.term_number == term.term_number + 1);
        let detail = next
            .map(|t| {
                format!(
                    ": term {} runs {} to {}",
                    t.term_number, t.start_date, t.end_date
                )
            })
            .unwrap_or_default();
        return Ok(Some(Decided {
            summary: format!("This contract has been renewed{detail}."),
        }));
    }
    if term.answer == Some(Answer::Decline) {
        let on = term
            .answered_at
            .map(|at| format!(" on {}", at.strftime("%Y-%m-%d")))
            .unwrap_or_default();
        return Ok(Some(Decided {
            summary: format!("You told us{on} that you do not wish to renew this contract."),
        }));
    }
    if contract.status == ContractStatus::Terminated {
        return Ok(Some(Decided {
            summary: "This contract has ended.".to_string(),
        }));
    }
    // A quote request leaves the renewal open, but is itself made once.
    if action == LinkAction::Quote && term.answer == Some(Answer::Quote) {
        return Ok(Some(Decided {
            summary: "You have asked for a renewal quote; it is being prepared.".to_string(),
        }));
    }
    Ok(None)
}
