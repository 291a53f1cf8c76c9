//! Tickler's domain: the vocabulary of contracts, plans and reminders, the time rules that
//! turn a plan step into a send instant, the rules of a reminder's life cycle, and a
//! recurring sale's billing periods and its invoices' totals and statuses; how a contract
//! renews, the customer's signed answer links, renewal quotes and follow-up tasks.
//!
//! Everything here is pure: no I/O, no async, no clock reads (the [`clock::Clock`] is injected),
//! no randomness (a new link secret's bytes come from the caller).

pub mod access;
pub mod answer_link;
pub mod backoff;
pub mod backup_schedule;
pub mod billing;
pub mod catch_up;
pub mod chart;
pub mod clock;
pub mod contract;
pub mod customer;
pub mod digest;
pub mod dump_cell;
pub mod email;
pub mod error;
pub mod event;
pub mod iban;
pub mod icalendar;
pub mod invoice;
pub mod language;
pub mod locale;
pub mod login_throttle;
pub mod money;
pub mod plan;
pub mod quote;
pub mod reconcile;
pub mod reminder;
pub mod renewal;
pub mod schedule;
pub mod search;
pub mod seen;
pub mod send_window;
pub mod spreadsheet;
pub mod subject;
pub mod task;
pub mod term;
pub mod time_zone;
pub mod user;
pub mod webhook;

pub use error::{Checks, ValidationError};
