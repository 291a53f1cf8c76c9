//! Turning a rendered notice into a MIME message that cannot smuggle headers: subjects and
//! names come from users and customers, so every line break in them is blanked out before
//! anything is built.

use std::{fmt, time::SystemTime};

use lettre::{
    Message,
    message::{
        Mailbox,
        header::{ContentType, HeaderName, HeaderValue},
    },
};
use tickler_core::{ValidationError, email::EmailAddress, language::Language};

/// Who a message is from: the organisation's address, with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: EmailAddress,
}

impl Sender {
    /// Parses `Name <addr>`, `"Name" <addr>` or a bare `addr` (field `from`).
    pub fn parse(text: &str) -> Result<Sender, ValidationError> {
        let text = text.trim();
        let Some(open) = text.rfind('<').filter(|_| text.ends_with('>')) else {
            return Ok(Sender {
                name: None,
                address: EmailAddress::parse("from", text)?,
            });
        };
        let address = EmailAddress::parse("from", &text[open + 1..text.len() - 1])?;
        let raw_name = text[..open].trim();
        let unquoted = raw_name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(raw_name)
            .trim();
        let name = one_line(unquoted);
        Ok(Sender {
            name: (!name.trim().is_empty()).then_some(name),
            address,
        })
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// One message ready to send. `message_id` is fixed when the reminder is created, so a re-send
/// after a crash carries the same id and receivers can tell it is a duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// Without angle brackets, e.g. `r-6f1c...@example.com`.
    pub message_id: String,
    pub from: Sender,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub subject: String,
    pub body: String,
    pub language: Language,
    pub date: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("\"{0}\" is not a usable Message-ID (expected something like id@example.com)")]
    MessageId(String),
    #[error("address \"{address}\" cannot be used in a message: {reason}")]
    Address { address: String, reason: String },
    #[error("the message date {0} is out of range")]
    Date(jiff::Timestamp),
    #[error("the message cannot be built: {0}")]
    Build(String),
}

impl OutgoingMessage {
    /// The lettre message: text/plain UTF-8, with Content-Language, Message-ID and Date.
    pub fn to_lettre(&self) -> Result<Message, MessageError> {
        if self.to.is_empty() && self.cc.is_empty() {
            return Err(MessageError::NoRecipient);
        }
        let id = &self.message_id;
        let id_ok = !id.is_empty()
            && id.contains('@')
            && id
                .chars()
                .all(|c| c.is_ascii_graphic() && !"<>\"\\".contains(c));
        if !id_ok {
            return Err(MessageError::MessageId(one_line(id)));
        }
        let date = SystemTime::try_from(self.date).map_err(|_| MessageError::Date(self.date))?;

        let mut builder = Message::builder()
            .from(mailbox(self.from.name.as_deref(), &self.from.address)?)
            .subject(one_line(&self.subject))
            .message_id(Some(format!("<{id}>")))
            .date(date)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Content-Language"),
                self.language.code().to_string(),
            ))
            .header(ContentType::TEXT_PLAIN);
        for address in &self.to {
            builder = builder.to(mailbox(None, address)?);
        }
        for address in &self.cc {
            builder = builder.cc(mailbox(None, address)?);
        }
        builder
            .body(self.body.clone())
            .map_err(|e| MessageError::Build(e.to_string()))
    }

    /// The message as it goes over the wire.
    pub fn formatted(&self) -> Result<Vec<u8>, MessageError> {
        Ok(self.to_lettre()?.formatted())
    }
}

fn mailbox(name: Option<&str>, address: &EmailAddress) -> Result<Mailbox, MessageError> {
    let parsed = address
        .as_str()
        .parse()
        .map_err(|e: lettre::address::AddressError| MessageError::Address {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    Ok(Mailbox::new(name.map(one_line), parsed))
}

/// The domain of the sender's address: Message-IDs are minted under it so they are unique
/// to the organisation.
pub fn message_id_domain(from: &EmailAddress) -> &str {
    from.as_str()
        .rsplit_once('@')
        .map_or(from.as_str(), |(_, domain)| domain)
}

/// Replaces CR, LF and every other control character (and the Unicode line separators) with a
/// space, so a text can never end a header line and start another.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> EmailAddress {
        EmailAddress::parse("email", text).unwrap()
    }

    fn message(subject: &str) -> OutgoingMessage {
        OutgoingMessage {
            message_id: "r-1234@example.com".to_string(),
            from: Sender::parse("Acme Maintenance <office@example.com>").unwrap(),
            to: vec![address("customer@example.org")],
            cc: vec![address("sales@example.com")],
            subject: subject.to_string(),
            body: "Dear customer,\n\nThank you.\n".to_string(),
            language: Language::Ja,
            date: "2027-03-01T00:00:00Z".parse().unwrap(),
        }
    }

    fn header(parsed: &mailparse::ParsedMail<'_>, name: &str) -> Option<String> {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key_ref().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
    }

    #[test]
    fn sender_parses_named_quoted_and_bare_forms() {
        let s = Sender::parse("Acme Ltd <office@example.com>").unwrap();
        assert_eq!(s.name.as_deref(), Some("Acme Ltd"));
        assert_eq!(s.address.as_str(), "office@example.com");
        let s = Sender::parse("\"Acme, Ltd\" <office@example.com>").unwrap();
        assert_eq!(s.name.as_deref(), Some("Acme, Ltd"));
        let s = Sender::parse(" office@example.com ").unwrap();
        assert_eq!(s.name, None);
        let s = Sender::parse("<office@example.com>").unwrap();
        assert_eq!(s.name, None);
        assert_eq!(Sender::parse("Acme <nope>").unwrap_err().field, "from");
        assert_eq!(
            Sender::parse("Acme\r\nBcc: x@evil.example <a@example.com>")
                .unwrap()
                .name
                .as_deref(),
            Some("Acme  Bcc: x@evil.example")
        );
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let raw = message("Hi\r\nBcc: x@evil").formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(header(&parsed, "Bcc"), None);
        assert_eq!(
            header(&parsed, "Subject").as_deref(),
            Some("Hi  Bcc: x@evil")
        );
        let envelope = message("Hi\r\nBcc: x@evil").to_lettre().unwrap();
        assert!(
            envelope
                .envelope()
                .to()
                .iter()
                .all(|a| a.to_string() != "x@evil"),
            "the envelope must not gain a recipient"
        );
    }

    #[test]
    fn a_display_name_cannot_inject_headers() {
        let mut m = message("Hello");
        m.from.name = Some("Acme\nBcc: x@evil.example".to_string());
        let raw = m.formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(header(&parsed, "Bcc"), None);
        assert!(
            header(&parsed, "From")
                .unwrap()
                .contains("Acme Bcc: x@evil.example")
        );
    }

    #[test]
    fn builds_plain_text_utf8_with_the_identifying_headers() {
        let raw = message("ご契約更新のお願い").formatted().unwrap();
        assert!(raw.is_ascii(), "headers and body must be transfer-encoded");
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(
            header(&parsed, "Subject").as_deref(),
            Some("ご契約更新のお願い")
        );
        assert_eq!(
            header(&parsed, "Message-ID").as_deref(),
            Some("<r-1234@example.com>")
        );
        assert_eq!(header(&parsed, "Content-Language").as_deref(), Some("ja"));
        assert_eq!(
            header(&parsed, "Date").as_deref(),
            Some("Mon, 01 Mar 2027 00:00:00 +0000")
        );
        assert_eq!(parsed.ctype.mimetype, "text/plain");
        assert_eq!(parsed.ctype.charset.to_ascii_lowercase(), "utf-8");
        assert_eq!(
            parsed.get_body().unwrap().replace("\r\n", "\n"),
            "Dear customer,\n\nThank you.\n"
        );
    }

    #[test]
    fn refuses_bad_message_ids_and_no_recipients() {
        let mut m = message("x");
        m.message_id = "<r-1@example.com>\r\nBcc: x@evil".to_string();
        assert!(matches!(m.to_lettre(), Err(MessageError::MessageId(_))));
        let mut m = message("x");
        m.to.clear();
        m.cc.clear();
        assert_eq!(m.to_lettre().unwrap_err(), MessageError::NoRecipient);
    }

    #[test]
    fn message_id_domain_is_the_senders_domain() {
        assert_eq!(
            message_id_domain(&address("office@mail.example.com")),
            "mail.example.com"
        );
    }
}
