//! Turning a rendered notice into a MIME message that cannot smuggle headers: subjects and
//! names come from users and customers, so every line break in them is blanked out before
//! anything is built.

use std::{fmt, time::SystemTime};

use lettre::{
    Message,
    message::{
        Body, Mailbox, MultiPart, SinglePart,
        header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue},
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
    /// Where replies go when that is not the From address (which nobody may read), e.g. the
    /// contract's owner; empty: no Reply-To header.
    pub reply_to: Vec<EmailAddress>,
    pub subject: String,
    pub body: String,
    /// The same wording as `body` as an HTML document ([`crate::html::render_html`]), sent as
    /// its multipart/alternative twin; `None` sends the plain text alone.
    pub html: Option<String>,
    pub language: Language,
    pub date: jiff::Timestamp,
    /// Files sent with the body, e.g. an invoice's PDF; none for a plain notice.
    pub attachments: Vec<Attachment>,
}

/// A file carried by a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name the reader's mail program offers to save it under; any text, encoded for
    /// the header as needed.
    pub filename: String,
    /// A MIME type such as `application/pdf`.
    pub content_type: String,
    pub content: Vec<u8>,
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
    #[error("attachment \"{filename}\" cannot be sent: {reason}")]
    Attachment { filename: String, reason: String },
    #[error("the message cannot be built: {0}")]
    Build(String),
}

impl OutgoingMessage {
    /// The lettre message, with Content-Language, Message-ID and Date: the text/plain UTF-8
    /// body, or with `html` multipart/alternative (text/plain, then text/html, the form mail
    /// programs prefer last); with attachments, multipart/mixed holding that body first, then
    /// each file.
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
            ));
        let plain_only = self.attachments.is_empty() && self.html.is_none();
        // A plain-text notice keeps the header where it always was, byte for byte the message
        // it was before attachments and HTML existed.
        if plain_only {
            builder = builder.header(ContentType::TEXT_PLAIN);
        }
        for address in &self.to {
            builder = builder.to(mailbox(None, address)?);
        }
        for address in &self.cc {
            builder = builder.cc(mailbox(None, address)?);
        }
        for address in &self.reply_to {
            builder = builder.reply_to(mailbox(None, address)?);
        }
        let alternative =
            |html: &String| MultiPart::alternative_plain_html(self.body.clone(), html.clone());
        let built = if self.attachments.is_empty() {
            match &self.html {
                None => builder.body(self.body.clone()),
                Some(html) => builder.multipart(alternative(html)),
            }
        } else {
            let mut mixed = match &self.html {
                Some(html) => MultiPart::mixed().multipart(alternative(html)),
                None => MultiPart::mixed().singlepart(SinglePart::plain(self.body.clone())),
            };
            for attachment in &self.attachments {
                mixed = mixed.singlepart(attachment.to_part()?);
            }
            builder.multipart(mixed)
        };
        built.map_err(|e| MessageError::Build(e.to_string()))
    }

    /// The message as it goes over the wire.
    pub fn formatted(&self) -> Result<Vec<u8>, MessageError> {
        Ok(self.to_lettre()?.formatted())
    }
}

impl Attachment {
    fn to_part(&self) -> Result<SinglePart, MessageError> {
        // The name goes into a header; lettre encodes it (RFC 2231), but a control character
        // has no business in a file name either way.
        let filename = one_line(&self.filename).trim().to_string();
        let refuse = |reason: &str| MessageError::Attachment {
            filename: filename.clone(),
            reason: reason.to_string(),
        };
        if filename.is_empty() {
            return Err(refuse("it has no file name"));
        }
        let content_type = ContentType::parse(&self.content_type).map_err(|_| {
            refuse(&format!(
                "\"{}\" is not a MIME type",
                one_line(&self.content_type)
            ))
        })?;
        // Base64 whatever the content: a PDF is binary, and even a text file must arrive
        // byte for byte.
        let body = Body::new_with_encoding(self.content.clone(), ContentTransferEncoding::Base64)
            .map_err(|_| refuse("its content cannot be encoded"))?;
        Ok(lettre::message::Attachment::new(filename).body(body, content_type))
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
            reply_to: Vec::new(),
            subject: subject.to_string(),
            body: "Dear customer,\n\nThank you.\n".to_string(),
            html: None,
            language: Language::Ja,
            date: "2027-03-01T00:00:00Z".parse().unwrap(),
            attachments: Vec::new(),
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
    fn a_message_without_attachments_is_built_as_before() {
        // Captured from the builder before attachments existed: attachments are an addition,
        // so a plain notice must stay exactly the message it was.
        let mut m = message("ご請求書 Rechnung");
        m.body = "Αγαπητέ/ή Kanto,\n\n請求書を添付いたします。\n".to_string();
        let raw = m.formatted().unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            concat!(
                "From: \"Acme Maintenance\" <office@example.com>\r\n",
                "Subject: =?utf-8?b?44GU6KuL5rGC5pu4?= Rechnung\r\n",
                "Message-ID: <r-1234@example.com>\r\n",
                "Date: Mon, 01 Mar 2027 00:00:00 +0000\r\n",
                "Content-Language: ja\r\n",
                "Content-Type: text/plain; charset=utf-8\r\n",
                "To: customer@example.org\r\n",
                "Cc: sales@example.com\r\n",
                "Content-Transfer-Encoding: base64\r\n",
                "\r\n",
                "zpHOs86xz4DOt8+Ezq0vzq4gS2FudG8sDQoNCuiri+axguabuOOCkua3u+S7mOOBhOOBn+OBl+OB\r\n",
                "vuOBmeOAgg0K",
            )
        );
    }

    fn pdf() -> Vec<u8> {
        // Every byte value, after a PDF's header: nothing may be lost or rewritten in transit.
        let mut bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        bytes.extend(0..=255u8);
        bytes.extend(b"\r\n\n\r.\r\n");
        bytes
    }

    #[test]
    fn attachments_follow_the_text_part_byte_for_byte() {
        let mut m = message("Τιμολόγιο INV-2027-0001");
        m.attachments = vec![
            Attachment {
                filename: "INV-2027-0001.pdf".to_string(),
                content_type: "application/pdf".to_string(),
                content: pdf(),
            },
            Attachment {
                filename: "Τιμολόγιο 請求書 \"2027\".pdf".to_string(),
                content_type: "application/pdf".to_string(),
                content: pdf(),
            },
        ];
        let raw = m.formatted().unwrap();
        assert!(raw.is_ascii(), "every part must be transfer-encoded");
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
        assert_eq!(header(&parsed, "MIME-Version").as_deref(), Some("1.0"));
        assert_eq!(header(&parsed, "Content-Language").as_deref(), Some("ja"));
        assert_eq!(
            header(&parsed, "Message-ID").as_deref(),
            Some("<r-1234@example.com>")
        );
        assert_eq!(
            header(&parsed, "Subject").as_deref(),
            Some("Τιμολόγιο INV-2027-0001")
        );
        assert_eq!(parsed.subparts.len(), 3);

        let text = &parsed.subparts[0];
        assert_eq!(text.ctype.mimetype, "text/plain");
        assert_eq!(text.ctype.charset.to_ascii_lowercase(), "utf-8");
        assert_eq!(
            text.get_content_disposition().disposition,
            mailparse::DispositionType::Inline
        );
        assert_eq!(
            text.get_body().unwrap().replace("\r\n", "\n"),
            "Dear customer,\n\nThank you.\n"
        );

        for (part, name) in parsed.subparts[1..]
            .iter()
            .zip(["INV-2027-0001.pdf", "Τιμολόγιο 請求書 \"2027\".pdf"])
        {
            assert_eq!(part.ctype.mimetype, "application/pdf");
            let disposition = part.get_content_disposition();
            assert_eq!(
                disposition.disposition,
                mailparse::DispositionType::Attachment
            );
            assert_eq!(
                disposition.params.get("filename").map(String::as_str),
                Some(name)
            );
            assert_eq!(
                header(part, "Content-Transfer-Encoding").as_deref(),
                Some("base64")
            );
            assert_eq!(part.get_body_raw().unwrap(), pdf());
        }
    }

    #[test]
    fn a_bad_attachment_is_refused_by_name_and_cannot_inject_headers() {
        let attachment = |filename: &str, content_type: &str| Attachment {
            filename: filename.to_string(),
            content_type: content_type.to_string(),
            content: pdf(),
        };
        let mut m = message("x");
        m.attachments = vec![attachment("a.pdf", "not a type")];
        let err = m.to_lettre().unwrap_err();
        assert!(
            matches!(&err, MessageError::Attachment { filename, .. } if filename == "a.pdf"),
            "{err:?}"
        );
        assert!(err.to_string().contains("not a type"), "{err}");

        m.attachments = vec![attachment(" \r\n", "application/pdf")];
        assert!(matches!(
            m.to_lettre(),
            Err(MessageError::Attachment { .. })
        ));

        m.attachments = vec![attachment(
            "a.pdf",
            "application/pdf\r\nBcc: x@evil.example",
        )];
        assert!(matches!(
            m.to_lettre(),
            Err(MessageError::Attachment { .. })
        ));

        m.attachments = vec![attachment(
            "a.pdf\"\r\nBcc: x@evil.example\r\n\r\n.pdf",
            "application/pdf",
        )];
        let raw = m.formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(header(&parsed, "Bcc"), None);
        assert_eq!(parsed.subparts.len(), 2);
        assert_eq!(header(&parsed.subparts[1], "Bcc"), None);
        assert_eq!(parsed.subparts[1].get_body_raw().unwrap(), pdf());
    }

    #[test]
    fn reply_to_is_a_header_only_when_asked_for() {
        let raw = message("x").formatted().unwrap();
        assert_eq!(
            header(&mailparse::parse_mail(&raw).unwrap(), "Reply-To"),
            None
        );
        let mut m = message("x");
        m.reply_to = vec![address("owner@example.com")];
        let raw = m.formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(
            header(&parsed, "Reply-To").as_deref(),
            Some("owner@example.com")
        );
        assert!(
            m.to_lettre()
                .unwrap()
                .envelope()
                .to()
                .iter()
                .all(|a| a.to_string() != "owner@example.com"),
            "a reply address is not a recipient"
        );
    }

    #[test]
    fn html_goes_beside_the_text_and_inside_mixed_with_attachments() {
        let mut m = message("x");
        m.html = Some("<p>Dear customer,</p>\n".to_string());
        let raw = m.formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let types: Vec<&str> = parsed
            .subparts
            .iter()
            .map(|p| p.ctype.mimetype.as_str())
            .collect();
        assert_eq!(types, ["text/plain", "text/html"]);
        assert_eq!(
            parsed.subparts[1].get_body().unwrap().replace("\r\n", "\n"),
            "<p>Dear customer,</p>\n"
        );

        m.attachments = vec![Attachment {
            filename: "INV-1.pdf".to_string(),
            content_type: "application/pdf".to_string(),
            content: pdf(),
        }];
        let raw = m.formatted().unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
        assert_eq!(parsed.subparts.len(), 2);
        let body = &parsed.subparts[0];
        assert_eq!(body.ctype.mimetype, "multipart/alternative");
        assert_eq!(body.subparts.len(), 2);
        assert_eq!(body.subparts[1].ctype.mimetype, "text/html");
        assert_eq!(parsed.subparts[1].ctype.mimetype, "application/pdf");
        assert_eq!(parsed.subparts[1].get_body_raw().unwrap(), pdf());
    }

    #[test]
    fn message_id_domain_is_the_senders_domain() {
        assert_eq!(
            message_id_domain(&address("office@mail.example.com")),
            "mail.example.com"
        );
    }
}
