//! The renewal pipeline: what is at stake in the coming months (contract value expiring per
//! month, by what became of each term), the emails of the last and next 30 days, and the
//! invoices of the last twelve months. Days and months are the organisation's.
//!
//! The figures of a large database take long to aggregate (a third of a million terms end
//! within a year at 1,000,000 contracts), so figures that took [`CACHE_WHEN_SLOWER_THAN`] or
//! longer are kept per owner filter: for [`CACHE_FOR`] as they are, then, up to [`STALE_FOR`],
//! shown while one request counts them again in the background; the page says how old they
//! are. `serve` counts everyone's figures at start and again before they grow too old to
//! show ([`Engine::keep_pipeline_counted`]), so only an owner filter's first request (or one
//! after [`STALE_FOR`] without any) waits for the count. Smaller databases are always counted
//! afresh.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use jiff::{Timestamp, ToSpan, civil::Date};
use tickler_core::{
    chart::{day_start, local_day_counts, month_index, month_key, months_from},
    money::Currency,
};
use tickler_store::pipeline::{self as store, ANSWERED_RENEW, DECLINED, NO_ANSWER, RENEWED};

use crate::{Engine, EngineError};

/// How long computed figures are shown before they are counted again.
pub const CACHE_FOR: Duration = Duration::from_secs(60);
/// Kept figures older than [`CACHE_FOR`] are still shown, while being counted again, up to
/// this age.
pub const STALE_FOR: Duration = Duration::from_secs(600);
/// Figures that took less than this are not kept: they are cheap to count on every request.
pub const CACHE_WHEN_SLOWER_THAN: Duration = Duration::from_millis(20);
/// Months of expiring terms shown, from the current one.
pub const MONTHS_AHEAD: usize = 12;
/// Days of emails shown before and after today (today counts as a past day).
pub const DAYS: i64 = 30;

/// The order of a term's outcomes in [`ExpiringMonth::by_state`] and on the chart.
pub const STATES: [&str; 4] = [RENEWED, ANSWERED_RENEW, DECLINED, NO_ANSWER];

/// How many terms and how much value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figure {
    pub contracts: i64,
    pub amount_minor: i64,
}

/// One month's expiring terms in one currency, in the order of [`STATES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiringMonth {
    pub by_state: [Figure; 4],
}

impl ExpiringMonth {
    pub fn total(&self) -> Figure {
        self.by_state
            .iter()
            .fold(Figure::default(), |sum, f| Figure {
                contracts: sum.contracts + f.contracts,
                amount_minor: sum.amount_minor.saturating_add(f.amount_minor),
            })
    }
}

/// The expiring value of one currency: amounts in different currencies are never added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringSeries {
    /// `None`: contracts without an amount (counted only).
    pub currency: Option<Currency>,
    /// One per month of [`Pipeline::months`].
    pub months: Vec<ExpiringMonth>,
}

impl ExpiringSeries {
    pub fn total(&self) -> Figure {
        self.months.iter().fold(Figure::default(), |sum, m| {
            let t = m.total();
            Figure {
                contracts: sum.contracts + t.contracts,
                amount_minor: sum.amount_minor.saturating_add(t.amount_minor),
            }
        })
    }
}

/// The invoices issued in one month, by what they are now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceMonth {
    pub paid: i64,
    /// Issued, not yet due.
    pub open: i64,
    /// Issued, due before today, not paid.
    pub overdue: i64,
    pub void: i64,
}

impl InvoiceMonth {
    /// Every invoice issued that month, whatever it is now.
    pub fn issued(&self) -> i64 {
        self.paid + self.open + self.overdue + self.void
    }
}

/// The pipeline's figures, of one owner's contracts or of everyone's.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The organisation's today when they were counted.
    pub today: Date,
    /// The first days of the current month and the next eleven.
    pub months: Vec<Date>,
    /// One series per currency, the largest value first; contracts without an amount last.
    pub expiring: Vec<ExpiringSeries>,
    /// The last [`DAYS`] days (today the last of them) and the next [`DAYS`].
    pub days: Vec<Date>,
    /// Where today is in `days`.
    pub today_index: usize,
    /// Emails sent per day of `days` (nothing after today).
    pub sent: Vec<i64>,
    /// Emails scheduled per day of `days`, from now on (nothing before today).
    pub scheduled: Vec<i64>,
    /// The first days of the last twelve months, the current one last.
    pub invoice_months: Vec<Date>,
    pub invoices: Vec<InvoiceMonth>,
    /// When they were counted, by the engine's clock.
    pub computed_at: Timestamp,
    /// How long counting took.
    pub took: Duration,
}

/// Figures as counted at an instant, and whether they are being counted again.
struct Kept {
    at: Instant,
    figures: Arc<Pipeline>,
    recounting: bool,
}

/// The kept figures of each owner filter (`None`: everyone's).
#[derive(Default)]
pub(crate) struct PipelineCache(Mutex<HashMap<Option<i64>, Kept>>);

/// What the cache has for a filter.
enum Look {
    /// Fresh, or stale and being counted again: show these.
    Show(Arc<Pipeline>, Duration),
    /// Stale: show these, and count again in the background.
    Recount(Arc<Pipeline>, Duration),
    Nothing,
}

impl Engine {
    /// The renewal pipeline of `owner_id`'s contracts (everyone's with `None`), and how old
    /// the figures are (zero when just counted).
    pub async fn pipeline(
        &self,
        owner_id: Option<i64>,
    ) -> Result<(Arc<Pipeline>, Duration), EngineError> {
        match self.look_up_pipeline(owner_id) {
            Look::Show(figures, age) => Ok((figures, age)),
            Look::Recount(figures, age) => {
                let engine = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = engine.recount_pipeline(owner_id).await {
                        tracing::warn!(error = %e, "counting the renewal pipeline again failed");
                        engine.forget_pipeline(owner_id);
                    }
                });
                Ok((figures, age))
            }
            Look::Nothing => Ok((self.recount_pipeline(owner_id).await?, Duration::ZERO)),
        }
    }

    /// Keeps everyone's figures counted in the background while they are slow to count, so
    /// that the first visit after start, or after a quiet spell, shows kept figures rather
    /// than waiting for the count (over a second at 1,000,000 contracts). Runs until
    /// `shutdown` turns true. Owner filters are still counted on their first visit.
    pub async fn keep_pipeline_counted(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let took = match self.recount_pipeline(None).await {
                Ok(figures) => Some(figures.took),
                Err(e) => {
                    tracing::warn!(error = %e, "counting the renewal pipeline in advance failed");
                    None
                }
            };
            tokio::select! {
                () = tokio::time::sleep(next_count_in(took)) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Counts the figures and keeps them if they were slow to count.
    async fn recount_pipeline(&self, owner_id: Option<i64>) -> Result<Arc<Pipeline>, EngineError> {
        let figures = Arc::new(self.count_pipeline(owner_id).await?);
        if figures.took >= CACHE_WHEN_SLOWER_THAN
            && let Ok(mut cache) = self.pipeline_cache.0.lock()
        {
            cache.retain(|_, kept| kept.at.elapsed() < STALE_FOR);
            cache.insert(
                owner_id,
                Kept {
                    at: Instant::now(),
                    figures: figures.clone(),
                    recounting: false,
                },
            );
        } else {
            self.forget_pipeline(owner_id);
        }
        Ok(figures)
    }

    fn forget_pipeline(&self, owner_id: Option<i64>) {
        if let Ok(mut cache) = self.pipeline_cache.0.lock() {
            cache.remove(&owner_id);
        }
    }

    /// What the cache has for `owner_id`; a stale entry is marked as being counted again, so
    /// that one request only starts the count.
    fn look_up_pipeline(&self, owner_id: Option<i64>) -> Look {
        let Ok(mut cache) = self.pipeline_cache.0.lock() else {
            return Look::Nothing;
        };
        let Some(kept) = cache.get_mut(&owner_id) else {
            return Look::Nothing;
        };
        let age = kept.at.elapsed();
        match use_of(age, kept.recounting) {
            Use::Show => Look::Show(kept.figures.clone(), age),
            Use::Recount => {
                kept.recounting = true;
                Look::Recount(kept.figures.clone(), age)
            }
            Use::Count => Look::Nothing,
        }
    }

    /// Counts the pipeline afresh.
    pub async fn count_pipeline(&self, owner_id: Option<i64>) -> Result<Pipeline, EngineError> {
        let started = Instant::now();
        let now = self.clock.now();
        let zone = self.settings.default_time_zone.tz().clone();
        let today = now.to_zoned_datetime(zone.clone()).date();
        let after = |date: Date, span: jiff::Span| date.checked_add(span).unwrap_or(date);
        let mut db = self.store.conn().await?;
        let whose = store::Whose::of(&mut db, owner_id).await?;

        let months = months_from(today, MONTHS_AHEAD);
        let first = months.first().copied().unwrap_or(today);
        let groups = store::expiring_by_month(
            &mut db,
            first,
            after(first, (MONTHS_AHEAD as i64).months()),
            whose,
        )
        .await?;
        let expiring = expiring_series(&months, &groups);

        let first_day = after(today, (1 - DAYS).days());
        let days: Vec<Date> = (0..2 * DAYS).map(|i| after(first_day, i.days())).collect();
        let today_index = (DAYS - 1) as usize;
        let start = day_start(first_day, &zone);
        let end = day_start(after(today, (DAYS + 1).days()), &zone);
        let sent = store::sent_by_quarter_hour(&mut db, start, now.max(start), whose).await?;
        let scheduled = store::scheduled_by_quarter_hour(&mut db, now, end, whose).await?;

        let invoice_months = months_from(after(today, (-11).months()), MONTHS_AHEAD);
        let invoice_first = invoice_months.first().copied().unwrap_or(today);
        let invoice_groups = store::invoices_by_month(
            &mut db,
            invoice_first,
            after(invoice_first, (MONTHS_AHEAD as i64).months()),
            today,
            whose,
        )
        .await?;
        let mut invoices = vec![InvoiceMonth::default(); invoice_months.len()];
        for group in &invoice_groups {
            let Some(month) = month_of(&invoice_months, &group.month) else {
                continue;
            };
            let slot = &mut invoices[month];
            match group.state.as_str() {
                "paid" => slot.paid += group.invoices,
                "void" => slot.void += group.invoices,
                "overdue" => slot.overdue += group.invoices,
                _ => slot.open += group.invoices,
            }
        }

        Ok(Pipeline {
            today,
            months,
            expiring,
            sent: local_day_counts(&sent, first_day, days.len(), &zone),
            scheduled: local_day_counts(&scheduled, first_day, days.len(), &zone),
            days,
            today_index,
            invoice_months,
            invoices,
            computed_at: now,
            took: started.elapsed(),
        })
    }
}

/// What kept figures of `age` are good for.
#[derive(Debug, PartialEq, Eq)]
enum Use {
    /// Fresh, or stale and already being counted again.
    Show,
    /// Stale: show them and count again (the first request to see them stale).
    Recount,
    /// Too old to show: count now.
    Count,
}

fn use_of(age: Duration, recounting: bool) -> Use {
    if age < CACHE_FOR || (recounting && age < STALE_FOR) {
        Use::Show
    } else if age < STALE_FOR {
        Use::Recount
    } else {
        Use::Count
    }
}

/// When to count everyone's figures in advance again, after a count that took `took`
/// (`None`: it failed). Kept figures are counted again before they are too old to show; cheap
/// ones are counted on each visit, and looked at again in case the database has grown.
fn next_count_in(took: Option<Duration>) -> Duration {
    match took {
        Some(took) if took >= CACHE_WHEN_SLOWER_THAN => STALE_FOR - CACHE_FOR,
        _ => STALE_FOR,
    }
}

/// Which of `months` a "2027-03" key names.
fn month_of(months: &[Date], key: &str) -> Option<usize> {
    let month: Date = format!("{key}-01").parse().ok()?;
    month_index(months, month).filter(|i| month_key(months[*i]) == key)
}

/// The store's groups as one series per currency, the largest total value first (then by
/// code), contracts without an amount last.
fn expiring_series(months: &[Date], groups: &[store::ExpiringGroup]) -> Vec<ExpiringSeries> {
    let mut series: Vec<ExpiringSeries> = Vec::new();
    for group in groups {
        let Some(month) = month_of(months, &group.month) else {
            continue;
        };
        let Some(state) = STATES.iter().position(|s| *s == group.state) else {
            continue;
        };
        let currency = group
            .currency
            .as_deref()
            .and_then(|code| Currency::parse("currency", code).ok());
        let index = match series.iter().position(|s| s.currency == currency) {
            Some(index) => index,
            None => {
                series.push(ExpiringSeries {
                    currency,
                    months: vec![ExpiringMonth::default(); months.len()],
                });
                series.len() - 1
            }
        };
        let figure = &mut series[index].months[month].by_state[state];
        figure.contracts += group.contracts;
        figure.amount_minor = figure.amount_minor.saturating_add(group.amount_minor);
    }
    series.sort_by(|a, b| {
        (
            a.currency.is_none(),
            std::cmp::Reverse(a.total().amount_minor),
        )
            .cmp(&(
                b.currency.is_none(),
                std::cmp::Reverse(b.total().amount_minor),
            ))
            .then_with(|| {
                a.currency
                    .map(|c| c.code().to_string())
                    .cmp(&b.currency.map(|c| c.code().to_string()))
            })
    });
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn slow_figures_are_counted_again_before_they_are_too_old_to_show() {
        let slow = next_count_in(Some(Duration::from_secs(2)));
        assert!(slow < STALE_FOR && slow >= CACHE_FOR, "{slow:?}");
        // Counted in advance again, the figures are never older than a visit may be shown.
        assert_eq!(use_of(slow, true), Use::Show);
        assert_eq!(next_count_in(Some(Duration::from_millis(1))), STALE_FOR);
        assert_eq!(next_count_in(None), STALE_FOR);
    }

    fn group(
        month: &str,
        currency: Option<&str>,
        state: &str,
        n: i64,
        amount: i64,
    ) -> store::ExpiringGroup {
        store::ExpiringGroup {
            month: month.to_string(),
            currency: currency.map(str::to_string),
            state: state.to_string(),
            contracts: n,
            amount_minor: amount,
        }
    }

    #[test]
    fn kept_figures_are_shown_then_recounted_once_then_dropped() {
        let secs = Duration::from_secs;
        assert_eq!(use_of(secs(0), false), Use::Show);
        assert_eq!(use_of(secs(59), false), Use::Show);
        assert_eq!(
            use_of(secs(60), false),
            Use::Recount,
            "the first to see them stale"
        );
        assert_eq!(use_of(secs(61), true), Use::Show, "one recount at a time");
        assert_eq!(use_of(secs(600), true), Use::Count, "too old to show");
        assert_eq!(use_of(secs(900), false), Use::Count);
    }

    #[test]
    fn groups_become_one_series_per_currency_largest_first() {
        let months = months_from(date(2026, 12, 6), 12);
        let series = expiring_series(
            &months,
            &[
                group("2026-12", Some("EUR"), RENEWED, 2, 100),
                group("2027-01", Some("USD"), NO_ANSWER, 1, 500),
                group("2027-01", None, DECLINED, 3, 0),
                group("2027-11", Some("EUR"), DECLINED, 1, 50),
                group("2027-12", Some("EUR"), DECLINED, 1, 50), // beyond the window
            ],
        );
        let codes: Vec<_> = series
            .iter()
            .map(|s| s.currency.map(|c| c.code().to_string()))
            .collect();
        assert_eq!(
            codes,
            vec![Some("USD".to_string()), Some("EUR".to_string()), None]
        );
        assert_eq!(
            series[1].months[0].by_state[0],
            Figure {
                contracts: 2,
                amount_minor: 100
            }
        );
        assert_eq!(
            series[1].months[11].by_state[2],
            Figure {
                contracts: 1,
                amount_minor: 50
            }
        );
        assert_eq!(
            series[1].total(),
            Figure {
                contracts: 3,
                amount_minor: 150
            }
        );
        assert_eq!(series[2].total().contracts, 3);
    }
}
