//! Customers: who receives the notices, in which language and time zone.

use serde::Serialize;

use crate::language::Language;

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    /// In the order given; the first is the main address.
    pub emails: Vec<String>,
    pub language: Language,
    pub time_zone: Option<String>,
}
