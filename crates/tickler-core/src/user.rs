use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{ValidationError, plan::text_enum};

/// What a member of the team may do: `admin` everything, `sales` their own contracts and
/// reminders, `viewer` read only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    #[default]
    Sales,
    Viewer,
}

text_enum!(Role, "role", {
    Role::Admin => "admin",
    Role::Sales => "sales",
    Role::Viewer => "viewer",
});

/// A member of the team: a contract's owner, and who logs in.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// The zone pages show times in for this user; `None`: the organisation's.
    pub time_zone: Option<String>,
    /// The language of the dates the web app tells them, and of their own emails.
    pub language: crate::language::Language,
    /// How often they get the morning digest.
    pub digest: crate::digest::DigestFrequency,
    /// The local time of their digest, in their zone.
    #[serde(serialize_with = "crate::digest::serialize_time")]
    pub digest_time: jiff::civil::Time,
}
