//! Signed one-click links: the token in a "Renew", "Don't renew", "Send me a quote" or
//! "Accept the quote" link of an email, which lets a customer answer without logging in.
//!
//! A token is `PAYLOAD.TAG`, both base64url without padding:
//! - PAYLOAD, 14 bytes: the format version (1), the action's code (1 byte), the subject's id
//!   (i64, big-endian), and the last day the link works (year i16 big-endian, month, day).
//! - TAG: the first 16 bytes of HMAC-SHA256, keyed with the server's secret, over a context
//!   string and PAYLOAD.
//!
//! That is 42 characters, short enough that a link under a long public URL still fits on one
//! line of a plain-text email (clients that wrap at 76 characters break links). The claims
//! are readable by anyone holding the link, but not changeable: nothing secret goes in them.
//!
//! Core only checks the token; single use per decision is the engine's rule, kept in the
//! database.

use std::{fmt, str::FromStr};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use jiff::{Span, civil::Date};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{ValidationError, plan::text_enum, renewal::Answer};

/// What following a link does, once confirmed on its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkAction {
    /// Renew the contract term the link names.
    Renew,
    /// Do not renew that term.
    Decline,
    /// Ask for a renewal quote on that term.
    Quote,
    /// Accept the quote the link names.
    AcceptQuote,
    /// Decline the quote the link names.
    DeclineQuote,
}

text_enum!(LinkAction, "link action", {
    LinkAction::Renew => "renew",
    LinkAction::Decline => "decline",
    LinkAction::Quote => "quote",
    LinkAction::AcceptQuote => "accept_quote",
    LinkAction::DeclineQuote => "decline_quote",
});

impl LinkAction {
    /// The customer's answer on a contract term this action gives, or `None` for the actions
    /// on a quote: it also says what the claims' `subject_id` is (a term id or a quote id).
    pub fn answer(self) -> Option<Answer> {
        match self {
            LinkAction::Renew => Some(Answer::Renew),
            LinkAction::Decline => Some(Answer::Decline),
            LinkAction::Quote => Some(Answer::Quote),
            LinkAction::AcceptQuote | LinkAction::DeclineQuote => None,
        }
    }

    /// The byte a token carries; fixed here, apart from the enum's order, so that reordering
    /// the variants cannot change what existing links mean.
    fn code(self) -> u8 {
        match self {
            LinkAction::Renew => 1,
            LinkAction::Decline => 2,
            LinkAction::Quote => 3,
            LinkAction::AcceptQuote => 4,
            LinkAction::DeclineQuote => 5,
        }
    }

    fn from_code(code: u8) -> Option<LinkAction> {
        Some(match code {
            1 => LinkAction::Renew,
            2 => LinkAction::Decline,
            3 => LinkAction::Quote,
            4 => LinkAction::AcceptQuote,
            5 => LinkAction::DeclineQuote,
            _ => return None,
        })
    }
}

/// What a link's token says, and all it says: the action, what it acts on, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkClaims {
    /// What confirming the link does.
    pub action: LinkAction,
    /// The contract term's id for [`LinkAction::Renew`], `Decline` and `Quote`; the quote's
    /// id for `AcceptQuote` and `DeclineQuote`.
    pub subject_id: i64,
    /// The last day the link works.
    pub expires_on: Date,
}

/// Why a link's token was refused; its Display is what the public page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of ours at all: cut short, mangled by a mail client, or another format.
    #[error("this link is not valid")]
    Malformed,
    /// Well formed but not signed with the current secret: altered, forged, or from before a
    /// `secret rotate`.
    #[error("this link was altered or is not ours")]
    BadSignature,
    /// Genuine, but past its last day.
    #[error("this link expired on {on}")]
    Expired {
        /// The last day it worked (the claims' `expires_on`).
        on: Date,
    },
}

/// The format version, the payload's first byte: a later format gets another number, and
/// tokens of this one are still read or refused as `Malformed`, never misread.
const VERSION: u8 = 1;
const PAYLOAD_BYTES: usize = 14;
/// 128 bits of HMAC-SHA256: half the output, the least RFC 2104 section 5 advises, and far
/// beyond guessing through a rate-limited page; the 16 bytes saved keep links on one line.
const TAG_BYTES: usize = 16;
/// Mixed into the MAC so that a tag made with the same secret for any other purpose can
/// never pass as a link's.
const CONTEXT: &[u8] = b"tickler answer link\0";
/// Longer input is refused before decoding: a token is 42 characters.
const MAX_TOKEN_CHARS: usize = 64;

/// The token of a link carrying `claims`, signed with `secret`: URL-safe, 42 characters.
pub fn sign(claims: &LinkClaims, secret: &[u8]) -> String {
    let payload = encode(claims);
    let tag = mac(secret, &payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
    )
}

/// The claims of a token signed with `secret`, if it is intact and `today` is not past its
/// last day. The signature is checked (in constant time) before anything in the payload is
/// believed, so an altered token never reports a date or an action. Never panics.
pub fn verify(token: &str, secret: &[u8], today: Date) -> Result<LinkClaims, LinkError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(LinkError::Malformed);
    }
    let (payload, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
    // The decoder refuses padding and non-zero trailing bits, so each token has exactly one
    // spelling: changing any character changes the bytes.
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed)?;
    if payload.len() != PAYLOAD_BYTES || payload.first() != Some(&VERSION) || tag.len() != TAG_BYTES
    {
        return Err(LinkError::Malformed);
    }
    mac(secret, &payload)
        .verify_truncated_left(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    // Signed by us, so well formed unless the secret signed some other format.
    let claims = decode(&payload).ok_or(LinkError::Malformed)?;
    if today > claims.expires_on {
        return Err(LinkError::Expired {
            on: claims.expires_on,
        });
    }
    Ok(claims)
}

/// The last day a term's links work: 60 days after the term's end, so that a customer who
/// answers late (after a lapse) still can; 9999-12-31 at the calendar's end.
pub fn link_expiry(term_end: Date) -> Date {
    term_end
        .checked_add(Span::new().days(60))
        .unwrap_or(Date::MAX)
}

/// Separates calendar feed tokens from answer links signed with the same secret.
const FEED_CONTEXT: &[u8] = b"tickler calendar feed\0";
/// A feed token's bytes: 144 bits, 24 characters.
const FEED_TAG_BYTES: usize = 18;

fn feed_mac(secret: &[u8], user_id: i64, generation: i64) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(FEED_CONTEXT);
    mac.update(&user_id.to_be_bytes());
    mac.update(&generation.to_be_bytes());
    mac
}

/// The secret part of a user's calendar feed address. Derived, not stored: the same user
/// and generation always give the same address, and a new generation (a revocation)
/// makes the old one stop working.
pub fn feed_token(secret: &[u8], user_id: i64, generation: i64) -> String {
    let tag = feed_mac(secret, user_id, generation)
        .finalize()
        .into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..FEED_TAG_BYTES])
}

/// Whether `token` is the feed token of this user and generation (compared in constant
/// time). Never panics.
pub fn feed_token_matches(token: &str, secret: &[u8], user_id: i64, generation: i64) -> bool {
    if token.len() > MAX_TOKEN_CHARS {
        return false;
    }
    match URL_SAFE_NO_PAD.decode(token) {
        Ok(tag) if tag.len() == FEED_TAG_BYTES => feed_mac(secret, user_id, generation)
            .verify_truncated_left(&tag)
            .is_ok(),
        _ => false,
    }
}

fn mac(secret: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    // HMAC hashes or pads a key of any length; this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(CONTEXT);
    mac.update(payload);
    mac
}

fn encode(claims: &LinkClaims) -> [u8; PAYLOAD_BYTES] {
    let mut payload = [0u8; PAYLOAD_BYTES];
    payload[0] = VERSION;
    payload[1] = claims.action.code();
    payload[2..10].copy_from_slice(&claims.subject_id.to_be_bytes());
    payload[10..12].copy_from_slice(&claims.expires_on.year().to_be_bytes());
    // A Date's month (1..=12) and day (1..=31) are never negative.
    payload[12] = claims.expires_on.month().unsigned_abs();
    payload[13] = claims.expires_on.day().unsigned_abs();
    payload
}

fn decode(payload: &[u8]) -> Option<LinkClaims> {
    let payload: &[u8; PAYLOAD_BYTES] = payload.try_into().ok()?;
    let [_, action, id @ .., y0, y1, month, day] = *payload;
    let expires_on = Date::new(
        i16::from_be_bytes([y0, y1]),
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    Some(LinkClaims {
        action: LinkAction::from_code(action)?,
        subject_id: i64::from_be_bytes(id),
        expires_on,
    })
}

/// The bytes of a new link secret, and the fewest a stored one may have: 256 bits, as RFC
/// 2104 advises a key no shorter than the hash's output.
pub const SECRET_BYTES: usize = 32;

/// A new link secret as stored and shown: 64 lowercase hex digits. The caller supplies the
/// randomness (from the operating system), since core does no I/O.
pub fn new_secret_hex(random: [u8; SECRET_BYTES]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// A link secret read back from its hex text (either case), refusing one shorter than 32
/// bytes, which would be weaker than the links it signs. The message never shows the text.
pub fn parse_secret_hex(text: &str) -> Result<Vec<u8>, ValidationError> {
    let refuse = |why: String| ValidationError::new("secret", why);
    let text = text.trim();
    if let Some(position) = text.chars().position(|c| !c.is_ascii_hexdigit()) {
        return Err(refuse(format!(
            "the secret is not hexadecimal (character {} is not 0-9 or a-f)",
            position + 1
        )));
    }
    if !text.len().is_multiple_of(2) {
        return Err(refuse(format!(
            "the secret has an odd number of hex digits ({})",
            text.len()
        )));
    }
    if text.len() < SECRET_BYTES * 2 {
        return Err(refuse(format!(
            "the secret is too short: {} hex digits, at least {}",
            text.len(),
            SECRET_BYTES * 2
        )));
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| refuse("the secret is not hexadecimal".to_string()))
}

#[cfg(test)]
mod tests {
    use jiff::{ToSpan, civil::date};
    use proptest::prelude::*;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims(action: LinkAction, subject_id: i64, expires_on: Date) -> LinkClaims {
        LinkClaims {
            action,
            subject_id,
            expires_on,
        }
    }

    const ALL_ACTIONS: [LinkAction; 5] = [
        LinkAction::Renew,
        LinkAction::Decline,
        LinkAction::Quote,
        LinkAction::AcceptQuote,
        LinkAction::DeclineQuote,
    ];

    #[test]
    fn the_token_format_is_fixed() {
        // Links already sent must keep working: this pins the format byte for byte (the value
        // was checked against Python's hmac module, not only against this code).
        let token = sign(&claims(LinkAction::Renew, 42, date(2027, 5, 30)), SECRET);
        assert_eq!(token, "AQEAAAAAAAAAKgfrBR4.VMlxZyqG0Ken2ftV00QxDw");
        assert_eq!(token.len(), 42);
        assert_eq!(
            verify(&token, SECRET, date(2027, 5, 30)),
            Ok(claims(LinkAction::Renew, 42, date(2027, 5, 30)))
        );
    }

    #[test]
    fn errors_read_as_the_public_page_shows_them() {
        assert_eq!(LinkError::Malformed.to_string(), "this link is not valid");
        assert_eq!(
            LinkError::BadSignature.to_string(),
            "this link was altered or is not ours"
        );
        assert_eq!(
            LinkError::Expired {
                on: date(2027, 5, 30)
            }
            .to_string(),
            "this link expired on 2027-05-30"
        );
    }

    #[test]
    fn a_link_works_through_its_last_day_only() {
        let c = claims(LinkAction::Decline, 7, date(2027, 5, 30));
        let token = sign(&c, SECRET);
        assert_eq!(verify(&token, SECRET, date(2020, 1, 1)), Ok(c));
        assert_eq!(verify(&token, SECRET, date(2027, 5, 30)), Ok(c));
        assert_eq!(
            verify(&token, SECRET, date(2027, 5, 31)),
            Err(LinkError::Expired {
                on: date(2027, 5, 30)
            })
        );
    }

    #[test]
    fn odd_inputs_are_malformed() {
        let good = sign(&claims(LinkAction::Quote, 1, date(2027, 1, 1)), SECRET);
        let (payload, tag) = good.split_once('.').unwrap();
        for bad in [
            String::new(),
            ".".to_string(),
            payload.to_string(),
            format!("{payload}."),
            format!(".{tag}"),
            format!("{good}="),
            format!("{payload}={tag}"),
            format!("{good}.{tag}"),
            format!("{payload}.{tag}AA"),
            format!("{payload}AA.{tag}"),
            format!("{payload}.{}", &tag[..21]),
            good.replace('.', "/"),
            "é".repeat(30),
            "A".repeat(10_000),
        ] {
            assert_eq!(
                verify(&bad, SECRET, date(2027, 1, 1)),
                Err(LinkError::Malformed),
                "{bad:?}"
            );
        }
        // Another version byte is not read as this one.
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[0] = 2;
        let other_version = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            verify(&other_version, SECRET, date(2027, 1, 1)),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn another_secret_or_an_altered_claim_is_a_bad_signature() {
        let c = claims(LinkAction::Renew, 42, date(2027, 5, 30));
        let token = sign(&c, SECRET);
        assert_eq!(
            verify(&token, b"another secret", date(2027, 1, 1)),
            Err(LinkError::BadSignature)
        );
        // The same tag on a payload naming another term.
        let forged = sign(&claims(LinkAction::Renew, 43, date(2027, 5, 30)), SECRET);
        let spliced = format!(
            "{}.{}",
            forged.split_once('.').unwrap().0,
            token.split_once('.').unwrap().1
        );
        assert_eq!(
            verify(&spliced, SECRET, date(2027, 1, 1)),
            Err(LinkError::BadSignature)
        );
        // An expired token with a pushed-back date is not believed.
        let late = sign(&claims(LinkAction::Renew, 42, date(2099, 1, 1)), b"guess");
        assert_eq!(
            verify(&late, SECRET, date(2028, 1, 1)),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn every_single_character_change_of_a_token_is_caught() {
        // Exhaustive for one token: each position, each character of the alphabet and more.
        let token = sign(
            &claims(LinkAction::AcceptQuote, 9, date(2027, 5, 30)),
            SECRET,
        );
        let alphabet: Vec<char> = ('A'..='Z')
            .chain('a'..='z')
            .chain('0'..='9')
            .chain("-_.=+/ ".chars())
            .collect();
        for at in 0..token.len() {
            for &c in &alphabet {
                if token.as_bytes()[at] == c as u8 {
                    continue;
                }
                let mut altered = token.clone();
                altered.replace_range(at..=at, &c.to_string());
                assert!(
                    matches!(
                        verify(&altered, SECRET, date(2027, 1, 1)),
                        Err(LinkError::BadSignature | LinkError::Malformed)
                    ),
                    "{altered}"
                );
            }
        }
    }

    #[test]
    fn actions_round_trip_and_say_what_they_act_on() {
        for action in ALL_ACTIONS {
            assert_eq!(action.as_str().parse::<LinkAction>(), Ok(action));
            assert_eq!(LinkAction::from_code(action.code()), Some(action));
        }
        assert_eq!(LinkAction::Renew.answer(), Some(Answer::Renew));
        assert_eq!(LinkAction::Decline.answer(), Some(Answer::Decline));
        assert_eq!(LinkAction::Quote.answer(), Some(Answer::Quote));
        assert_eq!(LinkAction::AcceptQuote.answer(), None);
        assert_eq!(LinkAction::DeclineQuote.answer(), None);
        assert_eq!(LinkAction::from_code(0), None);
        assert_eq!(LinkAction::from_code(6), None);
    }

    #[test]
    fn links_expire_sixty_days_after_the_term() {
        assert_eq!(link_expiry(date(2027, 3, 31)), date(2027, 5, 30));
        assert_eq!(link_expiry(date(2027, 12, 31)), date(2028, 2, 29));
        assert_eq!(link_expiry(date(9999, 12, 1)), Date::MAX);
    }

    #[test]
    fn secrets_round_trip_through_hex_and_are_never_echoed() {
        let random: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let hex = new_secret_hex(random);
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_eq!(parse_secret_hex(&hex), Ok(random.to_vec()));
        assert_eq!(
            parse_secret_hex(&format!(" {}\n", hex.to_uppercase())),
            Ok(random.to_vec())
        );
        let longer = format!("{hex}00ff");
        assert_eq!(parse_secret_hex(&longer).unwrap().len(), 34);

        let err = parse_secret_hex(&hex[..62]).unwrap_err();
        assert_eq!(err.field, "secret");
        assert_eq!(
            err.message,
            "the secret is too short: 62 hex digits, at least 64"
        );
        assert_eq!(
            parse_secret_hex(&hex[..63]).unwrap_err().message,
            "the secret has an odd number of hex digits (63)"
        );
        let typo = format!("{}g{}", &hex[..10], &hex[11..]);
        let err = parse_secret_hex(&typo).unwrap_err();
        assert_eq!(
            err.message,
            "the secret is not hexadecimal (character 11 is not 0-9 or a-f)"
        );
        assert!(!err.to_string().contains(&hex[..10]));
        assert!(parse_secret_hex("").is_err());
        assert!(parse_secret_hex(&"é".repeat(64)).is_err());
    }

    // --- properties -------------------------------------------------------------------

    fn any_date() -> impl Strategy<Value = Date> {
        (-9999i16..=9999, 1i8..=12, 1i8..=31)
            .prop_map(|(y, m, d)| date(y, m, d.min(date(y, m, 1).days_in_month())))
    }

    fn any_claims() -> impl Strategy<Value = LinkClaims> {
        (
            proptest::sample::select(ALL_ACTIONS.to_vec()),
            prop_oneof![1i64..1_000_000, any::<i64>()],
            any_date(),
        )
            .prop_map(|(action, subject_id, expires_on)| claims(action, subject_id, expires_on))
    }

    fn any_secret() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..100)
    }

    proptest! {
        #[test]
        fn signed_claims_verify_back(c in any_claims(), secret in any_secret(), back in 0i32..10_000) {
            let token = sign(&c, &secret);
            prop_assert!(token.len() < 80);
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            let today = c.expires_on.checked_sub(back.days()).unwrap_or(Date::MIN);
            prop_assert_eq!(verify(&token, &secret, today), Ok(c));
        }

        #[test]
        fn changing_any_character_is_caught(
            c in any_claims(),
            secret in any_secret(),
            index in any::<proptest::sample::Index>(),
            replacement in prop_oneof![
                proptest::char::ranges(vec!['A'..='Z', 'a'..='z', '0'..='9'].into()),
                proptest::sample::select(vec!['-', '_', '.', '=', '+', '/', ' ', '%', 'é']),
            ],
        ) {
            let token = sign(&c, &secret);
            let at = index.index(token.len());
            let original = token.as_bytes()[at] as char;
            prop_assume!(replacement != original);
            let mut altered = token.clone();
            altered.replace_range(at..=at, replacement.encode_utf8(&mut [0; 4]));
            let result = verify(&altered, &secret, c.expires_on);
            prop_assert!(
                matches!(result, Err(LinkError::BadSignature | LinkError::Malformed)),
                "{} -> {} gave {:?}", token, altered, result
            );
        }

        #[test]
        fn another_secret_never_verifies(c in any_claims(), secret in any_secret(), other in any_secret()) {
            prop_assume!(secret != other);
            let token = sign(&c, &secret);
            prop_assert_eq!(verify(&token, &other, c.expires_on), Err(LinkError::BadSignature));
        }

        #[test]
        fn any_text_is_refused_without_panicking(
            text in prop_oneof![
                "\\PC{0,100}",
                "[A-Za-z0-9_-]{19}\\.[A-Za-z0-9_-]{22}",
                "AQ[A-Za-z0-9_-]{17}\\.[A-Za-z0-9_-]{0,30}",
            ],
            today in any_date(),
        ) {
            // A random string has a 2^-128 chance of carrying a valid tag.
            prop_assert!(verify(&text, SECRET, today).is_err());
        }

        #[test]
        fn links_expire_exactly_after_their_last_day(c in any_claims(), after in 1i32..100_000) {
            let token = sign(&c, SECRET);
            prop_assert_eq!(verify(&token, SECRET, c.expires_on), Ok(c));
            if let Ok(later) = c.expires_on.checked_add(after.days()) {
                prop_assert_eq!(
                    verify(&token, SECRET, later),
                    Err(LinkError::Expired { on: c.expires_on })
                );
            }
        }

        #[test]
        fn secrets_round_trip_through_hex(random in any::<[u8; 32]>()) {
            prop_assert_eq!(parse_secret_hex(&new_secret_hex(random)), Ok(random.to_vec()));
        }

        #[test]
        fn any_secret_text_never_panics(text in "\\PC{0,80}") {
            if let Ok(bytes) = parse_secret_hex(&text) {
                prop_assert!(bytes.len() >= SECRET_BYTES);
            }
        }
    }

    #[test]
    fn a_feed_token_is_the_same_until_its_generation_changes() {
        let secret = [7u8; 32];
        let token = feed_token(&secret, 42, 0);
        assert_eq!(token.len(), 24);
        assert_eq!(token, feed_token(&secret, 42, 0));
        assert!(feed_token_matches(&token, &secret, 42, 0));
        assert!(!feed_token_matches(&token, &secret, 42, 1), "revoked");
        assert!(
            !feed_token_matches(&token, &secret, 43, 0),
            "another user's"
        );
        assert!(
            !feed_token_matches(&token, &[8u8; 32], 42, 0),
            "another secret"
        );
        assert!(!feed_token_matches("not base64!", &secret, 42, 0));
        assert!(!feed_token_matches("", &secret, 42, 0));
    }
}
