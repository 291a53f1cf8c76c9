//! Turns a reminder and its contract into the message that goes out: the person's wording
//! if they edited it, else the step's template in the customer's language (the team's
//! rewritten text when there is one, else the built-in).

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use tickler_core::{
    ValidationError,
    email::EmailAddress,
    invoice::{InvoiceStatus, Totals, due_date, totals},
    language::Language,
    money::{Currency, Money},
    plan::DUNNING_PLAN,
    quote::QuoteStatus,
    subject::{InvoiceSubject, PeriodSubject, SubjectKind, SubjectRef, TermSubject},
};
use tickler_core::{
    contract::{Contract, ContractStatus},
    customer::Customer,
    user::User,
};
use tickler_mail::{
    ActionLink, HtmlLayout, OutgoingMessage, Rendered, TemplateContext,
    context::{
        ContractView, CustomerView, FailureView, InvoiceView, OrganisationView, OwnerView,
        QuoteView, StepView,
    },
};
use tickler_store::{
    Db,
    billing::{self, Period, PeriodStatus},
    contracts::{self, ContractTerm},
    invoices::{self, Invoice},
    plans,
    quotes::{self, Quote},
    reminders::{Reminder, ReminderKind},
    template_overrides::{self, TemplateOverride},
};

use crate::{Engine, EngineError, invoicing::INVOICE_EMAIL, people::People, quotes::QuoteLinks};

/// A reminder's subject with the records its message is made from.
pub(crate) struct Subject {
    pub about: SubjectRef,
    /// The contract term the subject belongs to (for an invoice, its period's term).
    pub term: ContractTerm,
    pub contract: Contract,
    pub customer: Customer,
    pub owner: Option<User>,
    /// The team's rewritten templates in the customer's language and in English.
    pub overrides: Vec<TemplateOverride>,
    /// For a billing period or an invoice: the invoice the message is about.
    pub billing: Option<BillingSubject>,
    /// For a renewal quote: the quote, and its links once the engine has signed them.
    pub quote: Option<(Quote, Option<QuoteLinks>)>,
    /// What the contract's plan calls it; empty when the plan names nothing.
    pub plan_noun: String,
}

/// The invoice a billing period's or an invoice's message is about.
pub(crate) enum BillingSubject {
    /// Not yet made: what the period's invoice will be, from the sale's lines.
    Upcoming {
        period: Period,
        totals: Totals,
        currency: Currency,
        due_date: Date,
        /// The number the invoice will take when issued: known only to a preview, which
        /// renders the email of an invoice the billing run has not made yet.
        number: Option<String>,
    },
    Invoice(Invoice),
}

impl Subject {
    pub(crate) async fn load(db: &mut Db, subject: SubjectRef) -> Result<Subject, EngineError> {
        SubjectLoader::default().load(db, subject).await
    }

    /// The subject of a contract's current term.
    pub(crate) async fn of_current_term(
        db: &mut Db,
        contract_id: i64,
    ) -> Result<Subject, EngineError> {
        let contract = contracts::get(db, contract_id).await?;
        let term = contracts::current_term(db, &contract).await?;
        SubjectLoader::default().load_term(db, term, contract).await
    }

    pub(crate) fn reference(&self) -> SubjectRef {
        self.about
    }

    /// The term as the core's rules see it: its anchor dates and its stop rules.
    pub(crate) fn term_subject(&self) -> TermSubject {
        TermSubject {
            term_number: self.term.term_number,
            start_date: self.term.start_date,
            end_date: self.term.end_date,
            current_term_number: self.contract.term_number,
            contract_terminated: self.contract.status == ContractStatus::Terminated,
        }
    }

    /// Why `reminder` must no longer go out (DESIGN.md: the stop rules are re-checked at
    /// send time), or `None` while it still should. Tickler's own notices go out whatever
    /// became of their subject, except an invoice's email once the invoice is void.
    pub(crate) fn stop_reason(&self, reminder: &Reminder) -> Option<String> {
        if let Some((quote, _)) = &self.quote {
            // The quote's own email goes out while the quote awaits an answer; once decided
            // (or expired) before it left, it would offer what can no longer be accepted.
            return (quote.status != QuoteStatus::Sent)
                .then(|| format!("the quote is {}", quote.status));
        }
        match &self.billing {
            Some(BillingSubject::Invoice(invoice)) => {
                if reminder.step_key == INVOICE_EMAIL {
                    return (invoice.status == InvoiceStatus::Void).then(|| "void".to_string());
                }
                if reminder.kind != ReminderKind::Step {
                    return None;
                }
                InvoiceSubject {
                    status: invoice.status,
                    due_date: invoice.due_date,
                }
                .stop_reason()
            }
            Some(BillingSubject::Upcoming { period, .. }) => {
                if reminder.kind != ReminderKind::Step {
                    return None;
                }
                PeriodSubject {
                    issue_date: period.issue_date,
                    invoiced: period.status == PeriodStatus::Invoiced,
                    cancelled: period.status == PeriodStatus::Cancelled,
                    contract_terminated: self.contract.status == ContractStatus::Terminated,
                }
                .stop_reason()
            }
            None => {
                if reminder.kind != ReminderKind::Step {
                    return None;
                }
                self.term_subject().stop_reason()
            }
        }
    }

    /// The invoice the subject is, or (for a billing period) has become.
    pub(crate) fn invoice_id(&self) -> Option<i64> {
        match self.billing.as_ref()? {
            BillingSubject::Invoice(invoice) => Some(invoice.id),
            BillingSubject::Upcoming { period, .. } => period.invoice_id,
        }
    }

    /// The invoice as a template sees it, on the day `send_date`.
    fn invoice_view(&self, send_date: Date) -> Option<InvoiceView> {
        let days_from = |due: Date| {
            i64::from(
                due.until(send_date)
                    .map(|span| span.get_days())
                    .unwrap_or(0),
            )
        };
        Some(match self.billing.as_ref()? {
            BillingSubject::Upcoming {
                period,
                totals,
                currency,
                due_date,
                number,
            } => {
                let money = |minor| Money {
                    minor,
                    currency: *currency,
                };
                InvoiceView {
                    number: number.clone(),
                    period_start: period.start,
                    period_end: period.end,
                    issue_date: period.issue_date,
                    due_date: *due_date,
                    subtotal: money(totals.subtotal),
                    tax: money(totals.tax),
                    total: money(totals.total),
                    paid: money(0),
                    balance: money(totals.total),
                    reference: number.clone().unwrap_or_else(|| {
                        format!("{} {}", self.contract.title, period.start.strftime("%Y-%m"))
                    }),
                    days_overdue: days_from(*due_date),
                }
            }
            BillingSubject::Invoice(invoice) => InvoiceView {
                number: invoice.number.clone(),
                period_start: invoice.period_start,
                period_end: invoice.period_end,
                issue_date: invoice.issue_date,
                due_date: invoice.due_date,
                subtotal: invoice.money(invoice.subtotal),
                tax: invoice.money(invoice.tax),
                total: invoice.money(invoice.total),
                paid: invoice.money(invoice.paid),
                balance: invoice.money(invoice.balance()),
                reference: invoice
                    .number
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", self.contract.title, invoice.period_start)),
                days_overdue: days_from(invoice.due_date),
            },
        })
    }
}

/// Loads the subjects of many reminders (a list page, a dispatcher's batch) reading each
/// customer, owner and language's templates once, not once per row.
#[derive(Default)]
pub(crate) struct SubjectLoader {
    people: People,
    overrides: HashMap<tickler_core::language::Language, Vec<TemplateOverride>>,
    /// Each plan's noun, by plan id.
    nouns: HashMap<i64, String>,
}

impl SubjectLoader {
    /// The subjects of a dispatcher's batch, keyed by reference: contract terms (most of
    /// them) with one query per table for the whole batch, the other kinds one by one. A
    /// subject that cannot be read is left out, for the caller to read on its own and report
    /// why; only an error that may clear up (the database away) fails the whole batch.
    pub(crate) async fn load_many(
        &mut self,
        db: &mut Db,
        refs: &[SubjectRef],
    ) -> Result<HashMap<SubjectRef, Subject>, EngineError> {
        let mut term_ids: Vec<i64> = refs
            .iter()
            .filter(|r| r.kind == SubjectKind::ContractTerm)
            .map(|r| r.id)
            .collect();
        term_ids.sort_unstable();
        term_ids.dedup();
        let terms = contracts::terms_by_ids(db, &term_ids).await?;
        let mut contract_ids: Vec<i64> = terms.iter().map(|t| t.contract_id).collect();
        contract_ids.sort_unstable();
        contract_ids.dedup();
        let contracts: HashMap<i64, Contract> = contracts::get_many(db, &contract_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        self.people.read_for(db, contracts.values()).await?;
        let mut loaded = HashMap::with_capacity(refs.len());
        for term in terms {
            if let Some(contract) = contracts.get(&term.contract_id) {
                let subject = self.load_term(db, term, contract.clone()).await?;
                loaded.insert(subject.about, subject);
            }
        }
        for &about in refs {
            if about.kind == SubjectKind::ContractTerm || loaded.contains_key(&about) {
                continue;
            }
            match self.load(db, about).await {
                Ok(subject) => {
                    loaded.insert(about, subject);
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(_) => {}
            }
        }
        Ok(loaded)
    }

    pub(crate) async fn load(
        &mut self,
        db: &mut Db,
        subject: SubjectRef,
    ) -> Result<Subject, EngineError> {
        match subject.kind {
            SubjectKind::ContractTerm => {
                let term = contracts::term(db, subject.id).await?;
                let contract = contracts::get(db, term.contract_id).await?;
                self.load_term(db, term, contract).await
            }
            SubjectKind::BillingPeriod => {
                let period = billing::period(db, subject.id).await?;
                let term = contracts::term(db, period.term_id).await?;
                let contract = contracts::get(db, period.contract_id).await?;
                let schedule = billing::schedule(db, contract.id).await?;
                let currency = contract.money().map(|m| m.currency).ok_or_else(|| {
                    EngineError::Internal(format!("recurring sale {} has no currency", contract.id))
                })?;
                let lines = billing::lines(db, contract.id, currency).await?;
                let payment_days = schedule
                    .map(|s| s.payment_days)
                    .unwrap_or(crate::billing::DEFAULT_PAYMENT_DAYS);
                let mut loaded = self.load_term(db, term, contract).await?;
                loaded.about = subject;
                loaded.billing = Some(BillingSubject::Upcoming {
                    due_date: due_date(period.issue_date, payment_days),
                    period,
                    totals: totals(&lines),
                    currency,
                    number: None,
                });
                Ok(loaded)
            }
            SubjectKind::Invoice => {
                let invoice = invoices::get(db, subject.id).await?;
                let contract = contracts::get(db, invoice.contract_id).await?;
                let term = match invoice.period_id {
                    Some(period) => {
                        let period = billing::period(db, period).await?;
                        contracts::term(db, period.term_id).await?
                    }
                    None => contracts::current_term(db, &contract).await?,
                };
                let mut loaded = self.load_term(db, term, contract).await?;
                loaded.about = subject;
                loaded.billing = Some(BillingSubject::Invoice(invoice));
                Ok(loaded)
            }
            SubjectKind::Quote => {
                let quote = quotes::get(db, subject.id).await?;
                let term = contracts::term(db, quote.term_id).await?;
                let contract = contracts::get(db, quote.contract_id).await?;
                let mut loaded = self.load_term(db, term, contract).await?;
                loaded.about = subject;
                loaded.quote = Some((quote, None));
                Ok(loaded)
            }
            other => Err(EngineError::Store(tickler_store::StoreError::Corrupt(
                format!(
                    "a reminder is about {other} {}, which this version of Tickler does not send",
                    subject.id
                ),
            ))),
        }
    }

    async fn load_term(
        &mut self,
        db: &mut Db,
        term: ContractTerm,
        contract: Contract,
    ) -> Result<Subject, EngineError> {
        let (customer, owner) = self.people.of(db, &contract).await?;
        let overrides = match self.overrides.get(&customer.language) {
            Some(overrides) => overrides.clone(),
            None => {
                let overrides = template_overrides::for_language(db, customer.language).await?;
                self.overrides.insert(customer.language, overrides.clone());
                overrides
            }
        };
        let plan_noun = match self.nouns.get(&contract.plan_id) {
            Some(noun) => noun.clone(),
            None => {
                let noun = plans::noun(db, contract.plan_id).await?;
                self.nouns.insert(contract.plan_id, noun.clone());
                noun
            }
        };
        Ok(Subject {
            about: SubjectRef::contract_term(term.id),
            term,
            contract,
            customer,
            owner,
            overrides,
            billing: None,
            quote: None,
            plan_noun,
        })
    }
}

impl Engine {
    /// A reminder's subject as the dispatcher sends it: a quote's links signed (the loader
    /// has no secret to sign with).
    pub(crate) async fn load_subject(
        &self,
        db: &mut Db,
        about: SubjectRef,
    ) -> Result<Subject, EngineError> {
        let mut subject = Subject::load(db, about).await?;
        self.sign_quote_links(db, &mut subject).await?;
        Ok(subject)
    }

    /// Signs a quote subject's accept and decline links; nothing for other subjects.
    pub(crate) async fn sign_quote_links(
        &self,
        db: &mut Db,
        subject: &mut Subject,
    ) -> Result<(), EngineError> {
        if let Some((quote, links)) = &mut subject.quote {
            *links = self.quote_links(db, quote).await?;
        }
        Ok(())
    }

    pub(crate) fn template_context(
        &self,
        reminder: &Reminder,
        subject: &Subject,
        failure: Option<FailureView>,
    ) -> TemplateContext {
        self.context_for(
            subject,
            StepView {
                key: reminder.step_key.clone(),
                label: reminder.label.clone(),
            },
            reminder.send_at,
            failure,
        )
    }

    /// The context of a message about `subject`'s contract for `step`, sent at `send_at`.
    pub(crate) fn context_for(
        &self,
        subject: &Subject,
        step: StepView,
        send_at: Timestamp,
        failure: Option<FailureView>,
    ) -> TemplateContext {
        let contract = &subject.contract;
        let money = contract.money();
        let send_date = send_at
            .to_zoned_datetime(self.customer_zone(&subject.customer))
            .date();
        let days_left = i64::from(
            send_date
                .until(subject.term.end_date)
                .map(|span| span.get_days())
                .unwrap_or(0),
        );
        TemplateContext {
            customer: CustomerView {
                name: subject.customer.name.clone(),
                emails: valid_addresses(&subject.customer.emails),
                language: subject.customer.language,
            },
            contract: ContractView {
                title: contract.title.clone(),
                start_date: subject.term.start_date,
                end_date: subject.term.end_date,
                amount: money,
                notice_date: contract.renewal_terms().notice_date(subject.term.end_date),
                custom: contract.custom_fields.clone(),
                noun: if subject.plan_noun.is_empty() {
                    tickler_mail::context::DEFAULT_NOUN.to_string()
                } else {
                    subject.plan_noun.clone()
                },
            },
            owner: subject.owner.as_ref().map(|o| OwnerView {
                name: o.name.clone(),
                email: EmailAddress::parse("owner", &o.email).ok(),
            }),
            organisation: OrganisationView {
                name: self.settings.organisation_name.clone(),
                email: self.settings.mail_from.address.clone(),
                iban: self
                    .organisation()
                    .bank_iban
                    .as_ref()
                    .map(|iban| iban.grouped()),
                bank: self.organisation().bank_name.clone(),
            },
            step,
            days_left,
            failure,
            invoice: subject.invoice_view(send_date),
            links: (subject.contract.is_active()
                && subject.term.term_number == contract.term_number)
                .then(|| self.email_links(subject.term.id, subject.term.end_date))
                .flatten(),
            quote: subject.quote.as_ref().map(|(quote, links)| QuoteView {
                number: quote.number(),
                valid_until: quote.valid_until,
                term_start: quote.start_date,
                term_end: quote.end_date,
                subtotal: quote.money(quote.subtotal),
                tax: quote.money(quote.tax),
                total: quote.money(quote.total),
                accept_url: links.as_ref().map(|l| l.accept.clone()),
                decline_url: links.as_ref().map(|l| l.decline.clone()),
            }),
        }
    }

    /// Subject and body as they read when sent at `at`: what depends on the moment (days
    /// left, "in 7 days") is computed for that instant, so an email sent early or late never
    /// carries the wording of its scheduled time.
    pub(crate) fn render(
        &self,
        reminder: &Reminder,
        subject: &Subject,
        at: Timestamp,
    ) -> Result<Rendered, EngineError> {
        let language = subject.customer.language;
        if let (Some(s), Some(b)) = (&reminder.subject, &reminder.body) {
            return Ok(Rendered {
                subject: s.clone(),
                body: b.clone(),
                language,
            });
        }
        let step = StepView {
            key: reminder.step_key.clone(),
            label: reminder.label.clone(),
        };
        let ctx = self.context_for(subject, step, at, None);
        let mut rendered = self.render_template(&reminder.template, language, subject, &ctx)?;
        if let Some(s) = &reminder.subject {
            rendered.subject = s.clone();
        }
        if let Some(b) = &reminder.body {
            rendered.body = b.clone();
        }
        Ok(rendered)
    }

    /// Renders `template` in `language`: the team's text in that language, else the built-in
    /// one, else the team's English text, else the built-in English one.
    pub(crate) fn render_template(
        &self,
        template: &str,
        language: Language,
        subject: &Subject,
        ctx: &TemplateContext,
    ) -> Result<Rendered, EngineError> {
        let find = |language: Language| {
            subject
                .overrides
                .iter()
                .find(|o| o.template == template && o.language == language)
        };
        let chosen = find(language).or_else(|| {
            if tickler_mail::templates::builtin(template, language).is_some() {
                None
            } else {
                find(Language::En)
            }
        });
        Ok(match chosen {
            Some(o) => self
                .renderer
                .render_source(&o.subject, &o.body, o.language, ctx)?,
            None => self.renderer.render_builtin(template, language, ctx)?,
        })
    }

    /// The message for `reminder`: its rendered text in both forms (plain, and HTML with
    /// `action_links` as buttons), with replies going to `reply_to`.
    pub(crate) fn outgoing(
        &self,
        reminder: &Reminder,
        rendered: Rendered,
        reply_to: Vec<EmailAddress>,
        action_links: &[ActionLink],
        date: Timestamp,
    ) -> Result<OutgoingMessage, ValidationError> {
        let parse_all = |field: &str, list: &[String]| {
            list.iter()
                .map(|a| EmailAddress::parse(field, a))
                .collect::<Result<Vec<_>, _>>()
        };
        let html = self.html_form(
            &rendered.body,
            &rendered.subject,
            rendered.language,
            action_links,
        );
        Ok(OutgoingMessage {
            message_id: reminder.message_id.clone(),
            from: self.settings.mail_from.clone(),
            to: parse_all("to", &reminder.to)?,
            cc: parse_all("cc", &reminder.cc)?,
            reply_to,
            subject: rendered.subject,
            body: rendered.body,
            html: Some(html),
            language: rendered.language,
            date,
            attachments: Vec::new(),
        })
    }

    /// A message from Tickler to one member of the team (a test email, an invitation): in
    /// English, from the organisation's sender, in both forms (text and HTML in the
    /// organisation's colours).
    pub(crate) fn team_email(
        &self,
        to: &EmailAddress,
        subject: String,
        body: String,
    ) -> OutgoingMessage {
        let html = self.html_form(&body, &subject, Language::En, &[]);
        OutgoingMessage {
            message_id: self.new_message_id(),
            from: self.settings.mail_from.clone(),
            to: vec![to.clone()],
            cc: Vec::new(),
            reply_to: Vec::new(),
            subject,
            body,
            html: Some(html),
            language: Language::En,
            date: self.clock.now(),
            attachments: Vec::new(),
        }
    }

    /// The HTML twin of a message's text, under the firm's name in its brand colour.
    pub(crate) fn html_form(
        &self,
        body: &str,
        subject_line: &str,
        language: Language,
        action_links: &[ActionLink],
    ) -> String {
        let brand_color = self.brand_color();
        tickler_mail::render_html(
            body,
            &HtmlLayout {
                language,
                title: subject_line,
                organisation: &self.settings.organisation_name,
                brand_color: &brand_color,
                action_links,
            },
        )
    }

    /// The customer's one-click answers (renew, decline, quote; accept or decline a quote)
    /// that `reminder`'s message may offer, for the HTML form to show as buttons wherever their URLs appear in the
    /// text: the same links the template context carries, labelled in the customer's
    /// language.
    pub(crate) fn action_links(&self, reminder: &Reminder, subject: &Subject) -> Vec<ActionLink> {
        let ctx = self.template_context(reminder, subject, None);
        let [renew, decline, quote, accept, refuse] = match subject.customer.language {
            Language::Ja => [
                "更新する",
                "更新しない",
                "見積りを依頼する",
                "見積りを承諾する",
                "見積りを辞退する",
            ],
            Language::El => [
                "Ανανέωση",
                "Χωρίς ανανέωση",
                "Αποστολή προσφοράς",
                "Αποδοχή προσφοράς",
                "Απόρριψη προσφοράς",
            ],
            Language::En => [
                "Renew",
                "Don't renew",
                "Send me a quote",
                "Accept the quote",
                "Decline the quote",
            ],
        };
        let mut found = Vec::new();
        if let Some(links) = ctx.links {
            found.extend([
                (links.renew, renew),
                (links.decline, decline),
                (links.quote, quote),
            ]);
        }
        if let Some(view) = ctx.quote {
            found.extend(view.accept_url.map(|url| (url, accept)));
            found.extend(view.decline_url.map(|url| (url, refuse)));
        }
        found
            .into_iter()
            .map(|(url, label)| ActionLink {
                url,
                label: label.to_string(),
            })
            .collect()
    }

    /// Where the customer's replies to `reminder` go, so that "just reply" reaches a person:
    /// the address its plan step sets, else the contract's owner, else nowhere but the From
    /// address (no header). Messages that do not reach the customer (notices to the owner or
    /// the team) get none: their readers answer whom they like.
    pub(crate) fn reply_to(
        &self,
        reminder: &Reminder,
        subject: &Subject,
        steps: &StepReplyTos,
    ) -> Vec<EmailAddress> {
        let customer = &subject.customer.emails;
        let reaches_customer = reminder
            .to
            .iter()
            .chain(&reminder.cc)
            .any(|address| customer.iter().any(|c| c.eq_ignore_ascii_case(address)));
        if !reaches_customer {
            return Vec::new();
        }
        if reminder.kind == ReminderKind::Step {
            // An invoice's steps are the dunning plan's, whatever plan its contract follows.
            let plan_id = if reminder.about.kind == SubjectKind::Invoice {
                steps.dunning_plan
            } else {
                Some(subject.contract.plan_id)
            };
            if let Some(address) =
                plan_id.and_then(|plan| steps.by_step.get(&(plan, reminder.step_key.clone())))
            {
                return vec![address.clone()];
            }
        }
        subject
            .owner
            .as_ref()
            .and_then(|owner| EmailAddress::parse("owner", &owner.email).ok())
            .into_iter()
            .collect()
    }
}

/// The reply-to addresses that plan steps set, for the plans of a batch's subjects and the
/// dunning plan: read once per batch, not once per message.
#[derive(Default)]
pub(crate) struct StepReplyTos {
    dunning_plan: Option<i64>,
    by_step: HashMap<(i64, String), EmailAddress>,
}

impl StepReplyTos {
    pub(crate) async fn load<'a>(
        db: &mut Db,
        subjects: impl Iterator<Item = &'a Subject>,
    ) -> Result<StepReplyTos, EngineError> {
        let dunning_plan = plans::find_id(db, DUNNING_PLAN).await?;
        let mut plan_ids: Vec<i64> = subjects.map(|s| s.contract.plan_id).collect();
        plan_ids.extend(dunning_plan);
        plan_ids.sort_unstable();
        plan_ids.dedup();
        let by_step = plans::step_reply_tos(db, &plan_ids)
            .await?
            .into_iter()
            .map(|(plan, key, address)| ((plan, key), address))
            .collect();
        Ok(StepReplyTos {
            dunning_plan,
            by_step,
        })
    }
}

pub(crate) fn failure_view(reminder: &Reminder, subject_line: &str, reply: &str) -> FailureView {
    FailureView {
        reply: reply.to_string(),
        subject: subject_line.to_string(),
        recipients: valid_addresses(&reminder.to),
    }
}

/// Addresses were checked when stored; one that no longer parses is left out of templates
/// rather than failing them.
fn valid_addresses(list: &[String]) -> Vec<EmailAddress> {
    list.iter()
        .filter_map(|a| EmailAddress::parse("email", a).ok())
        .collect()
}
