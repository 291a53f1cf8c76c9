use jiff::tz::TimeZone;

use crate::ValidationError;

/// An IANA time zone checked against the bundled database, keeping the name it was given
/// so that it can be stored and shown as the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn parse(field: &str, name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        let tz = TimeZone::get(name).map_err(|_| {
            ValidationError::new(
                field,
                format!(
                    "unknown time zone \"{name}\" (expected an IANA name such as Europe/Athens)"
                ),
            )
        })?;
        Ok(Self {
            name: name.to_string(),
            tz,
        })
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".to_string(),
            tz: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_zones() {
        assert_eq!(
            Zone::parse("time_zone", "Asia/Tokyo").unwrap().name(),
            "Asia/Tokyo"
        );
        let err = Zone::parse("time_zone", "Mars/Olympus").unwrap_err();
        assert!(err.message.contains("Mars/Olympus"));
    }
}
