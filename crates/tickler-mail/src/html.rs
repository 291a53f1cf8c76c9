//! The HTML form of a notice, made from the very text that goes out as plain text (one
//! template, two forms): the text escaped, blank lines as paragraphs, URLs as links, the
//! customer's one-click answer links as buttons, under a header with the firm's name in its
//! brand colour.
//!
//! Mail programs strip `<style>` blocks and block remote content, so every style is inline
//! and nothing is fetched: no images, fonts or style sheets.

use std::fmt::Write as _;

use tickler_core::{ValidationError, language::Language};

/// The firm's colour for the header band and the buttons: `#RRGGBB`, kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrandColor(String);

impl BrandColor {
    /// A sober dark blue, readable with white text on it and as link colour on white.
    pub const DEFAULT: &'static str = "#1f4e79";

    /// Accepts `#RRGGBB` (hex digits in either case); the error names `field`.
    pub fn parse(field: &str, text: &str) -> Result<BrandColor, ValidationError> {
        let text = text.trim();
        let valid = text.len() == 7
            && text.starts_with('#')
            && text[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(ValidationError::new(
                field,
                format!("\"{text}\" is not a colour: expected #RRGGBB, e.g. #1f4e79"),
            ));
        }
        Ok(BrandColor(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// WCAG relative luminance, 0 (black) to 1 (white).
    fn luminance(&self) -> f64 {
        let channel = |i: usize| {
            let value = u8::from_str_radix(&self.0[i..i + 2], 16).unwrap_or(0);
            let c = f64::from(value) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    /// Text on the brand colour: white on dark colours, near-black on light ones, so a firm
    /// that picks yellow still gets a readable header and buttons.
    fn text_on(&self) -> &'static str {
        if self.luminance() > 0.179 {
            "#1a1a1a"
        } else {
            "#ffffff"
        }
    }

    /// Links sit on white: a light brand colour would vanish there, so they keep the default.
    fn link_color(&self) -> &str {
        if self.luminance() > 0.179 {
            Self::DEFAULT
        } else {
            &self.0
        }
    }
}

impl Default for BrandColor {
    fn default() -> Self {
        BrandColor(Self::DEFAULT.to_string())
    }
}

impl std::fmt::Display for BrandColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A link the customer answers with (renew, decline, ask for a quote, accept a quote): where
/// its URL appears in the text, the HTML shows a button with `label` instead of the bare URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLink {
    pub url: String,
    pub label: String,
}

/// Everything around the text: who it is from, in what language, with which buttons.
#[derive(Debug, Clone, Copy)]
pub struct HtmlLayout<'a> {
    /// The message's language, for `<html lang>` (screen readers, hyphenation, fonts).
    pub language: Language,
    /// The subject line, as the document's title.
    pub title: &'a str,
    /// The firm's name, in the header band.
    pub organisation: &'a str,
    pub brand_color: &'a BrandColor,
    pub action_links: &'a [ActionLink],
}

const FONT: &str = "font-family:Arial,Helvetica,sans-serif;";

/// The HTML document for the plain `text` of a message. Pure: the same input gives the same
/// bytes, and nothing from `text`, the title or the organisation's name can open a tag.
pub fn render_html(text: &str, layout: &HtmlLayout<'_>) -> String {
    let brand = layout.brand_color;
    let mut out = String::with_capacity(text.len() * 2 + 1500);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background-color:#f4f5f7;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"background-color:#f4f5f7;\">\n<tr><td align=\"center\" style=\"padding:24px 12px;\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"max-width:600px;background-color:#ffffff;border:1px solid #dde1e6;\">\n\
         <tr><td style=\"{FONT}background-color:{bg};color:{fg};padding:16px 24px;\
         font-size:18px;font-weight:bold;\">{organisation}</td></tr>\n\
         <tr><td style=\"{FONT}padding:24px;font-size:15px;line-height:1.5;color:#1a1a1a;\">\n",
        lang = layout.language.code(),
        title = escape(layout.title),
        bg = brand.as_str(),
        fg = brand.text_on(),
        organisation = escape(layout.organisation),
    );
    for paragraph in paragraphs(text) {
        out.push_str("<p style=\"margin:0 0 16px 0;\">");
        for (i, line) in paragraph.iter().enumerate() {
            if i > 0 {
                out.push_str("<br>\n");
            }
            line_html(line, layout, &mut out);
        }
        out.push_str("</p>\n");
    }
    out.push_str("</td></tr>\n</table>\n</td></tr>\n</table>\n</body>\n</html>\n");
    out
}

/// The text's paragraphs (runs of lines between blank lines), each a list of its lines.
fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut found: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !current.is_empty() {
                found.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

/// One line: text escaped, each URL a link, or a button when it is an action link.
fn line_html(line: &str, layout: &HtmlLayout<'_>, out: &mut String) {
    let brand = layout.brand_color;
    let mut rest = line;
    while let Some((before, url, after)) = next_url(rest) {
        out.push_str(&escape(before));
        match layout.action_links.iter().find(|link| link.url == url) {
            Some(action) => {
                let _ = write!(
                    out,
                    "<a href=\"{href}\" style=\"{FONT}display:inline-block;background-color:{bg};\
                     color:{fg};padding:10px 18px;margin:4px 0;border-radius:4px;\
                     text-decoration:none;font-weight:bold;\">{label}</a>",
                    href = escape(url),
                    bg = brand.as_str(),
                    fg = brand.text_on(),
                    label = escape(&action.label),
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<a href=\"{href}\" style=\"color:{color};\">{text}</a>",
                    href = escape(url),
                    color = brand.link_color(),
                    text = escape(url),
                );
            }
        }
        rest = after;
    }
    out.push_str(&escape(rest));
}

/// The first `http://` or `https://` URL in `text`: (text before it, the URL, text after).
/// A URL ends at whitespace, a quote or an angle bracket; punctuation that ends a sentence
/// (`.`, `,`, `)` without its `(`, ...) stays outside it.
pub fn next_url(text: &str) -> Option<(&str, &str, &str)> {
    let mut search = 0;
    loop {
        let found = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| {
                text[search..]
                    .find(scheme)
                    .map(|at| (search + at, scheme.len()))
            })
            .min()?;
        let (start, scheme_len) = found;
        let tail = &text[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
            .unwrap_or(tail.len());
        loop {
            let url = &tail[..end];
            let Some(last) = url.chars().next_back() else {
                break;
            };
            let unbalanced_paren =
                last == ')' && url.matches('(').count() < url.matches(')').count();
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?') || unbalanced_paren {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if end > scheme_len {
            return Some((&text[..start], &tail[..end], &tail[end..]));
        }
        // A bare "https://" with nothing after it is text, not a link.
        search = start + scheme_len;
    }
}

/// Escapes text for HTML content and quoted attribute values alike.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no place in a document; a tab reads as a space.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layout<'a>(brand: &'a BrandColor, links: &'a [ActionLink]) -> HtmlLayout<'a> {
        HtmlLayout {
            language: Language::Ja,
            title: "Renewal <notice>",
            organisation: "Acme & Sons",
            brand_color: brand,
            action_links: links,
        }
    }

    fn body_of(html: &str) -> &str {
        let start = html.find("line-height").expect("the content cell");
        &html[start..html.rfind("</td></tr>").expect("its end")]
    }

    #[test]
    fn paragraphs_lines_and_escaping() {
        let brand = BrandColor::default();
        let html = render_html(
            "Dear <Kanto> & Co,\n\nLine one\nLine \"two\"\n\n\n  \nBye\n",
            &layout(&brand, &[]),
        );
        let body = body_of(&html);
        assert_eq!(body.matches("<p ").count(), 3, "{body}");
        assert!(body.contains("Dear &lt;Kanto&gt; &amp; Co,"), "{body}");
        assert!(
            body.contains("Line one<br>\nLine &quot;two&quot;"),
            "{body}"
        );
        assert!(html.contains("<html lang=\"ja\">"));
        assert!(html.contains("<title>Renewal &lt;notice&gt;</title>"));
        assert!(html.contains(">Acme &amp; Sons</td>"));
        assert!(html.contains("background-color:#1f4e79;color:#ffffff"));
    }

    #[test]
    fn urls_become_links_without_their_sentence_punctuation() {
        let brand = BrandColor::default();
        let html = render_html(
            "See https://acme.example/renew?a=1&b=2. Or (https://acme.example/x), or \
             https://en.wikipedia.org/wiki/Foo_(bar)! Not https:// alone.",
            &layout(&brand, &[]),
        );
        assert!(
            html.contains(
                "<a href=\"https://acme.example/renew?a=1&amp;b=2\" style=\"color:#1f4e79;\">\
                 https://acme.example/renew?a=1&amp;b=2</a>. Or ("
            ),
            "{html}"
        );
        assert!(html.contains("href=\"https://acme.example/x\""), "{html}");
        assert!(
            html.contains("href=\"https://en.wikipedia.org/wiki/Foo_(bar)\""),
            "{html}"
        );
        assert!(html.contains("Not https:// alone."), "{html}");
    }

    #[test]
    fn action_links_render_as_buttons_with_their_labels() {
        let brand = BrandColor::parse("brand_color", "#FFD700").unwrap();
        let links = [ActionLink {
            url: "https://tickler.example/a/renew?t=x&y".to_string(),
            label: "Renew <now>".to_string(),
        }];
        let html = render_html(
            "To renew:\nhttps://tickler.example/a/renew?t=x&y\nOther: https://acme.example/",
            &layout(&brand, &links),
        );
        assert!(
            html.contains(
                "<a href=\"https://tickler.example/a/renew?t=x&amp;y\" style=\"font-family:"
            ),
            "{html}"
        );
        assert!(html.contains("font-weight:bold;\">Renew &lt;now&gt;</a>"));
        // A light brand colour: dark text on it, links in the default colour.
        assert!(html.contains("background-color:#ffd700;color:#1a1a1a"));
        assert!(html.contains("<a href=\"https://acme.example/\" style=\"color:#1f4e79;\">"));
    }

    #[test]
    fn brand_colours_are_hex_triplets() {
        assert_eq!(
            BrandColor::parse("brand_color", " #A0b1C2 ")
                .unwrap()
                .as_str(),
            "#a0b1c2"
        );
        for bad in [
            "",
            "#fff",
            "a0b1c2",
            "#a0b1c2ff",
            "#g0b1c2",
            "red",
            "#a0b1c\u{e9}",
        ] {
            let err = BrandColor::parse("brand_color", bad).unwrap_err();
            assert_eq!(err.field, "brand_color", "{bad}");
            assert!(err.message.contains("#RRGGBB"), "{err}");
        }
    }

    #[test]
    fn nothing_is_fetched_and_every_style_is_inline() {
        let brand = BrandColor::default();
        let html = render_html("Hello https://acme.example/", &layout(&brand, &[]));
        for remote in ["<img", "<link", "<style", "<script", "src=", "url("] {
            assert!(!html.contains(remote), "{remote} in {html}");
        }
    }

    fn url() -> impl Strategy<Value = String> {
        (
            prop_oneof!["https://", "http://"],
            "[a-z]{1,8}\\.example",
            "(/[A-Za-z0-9_~=&%+-]{0,8}){0,3}",
            proptest::option::of("\\?[a-z]{1,4}=[A-Za-z0-9&=]{0,8}"),
        )
            .prop_map(|(scheme, host, path, query)| {
                let mut url = format!("{scheme}{host}{path}");
                if let Some(query) = query {
                    url.push_str(&query);
                }
                url
            })
    }

    /// Text made of words from an alphabet with every character HTML cares about, URLs,
    /// sentence punctuation, line breaks and blank lines.
    fn text_with_urls() -> impl Strategy<Value = (String, Vec<String>)> {
        let piece = prop_oneof![
            3 => "[a-zA-Z<>&\"'=/;:!?é日 ]{0,12}".prop_map(|w| (w, None)),
            2 => url().prop_map(|u| (u.clone(), Some(u))),
            1 => prop_oneof![Just(" "), Just("\n"), Just("\n\n"), Just(". "), Just(", "), Just("<")]
                .prop_map(|s| (s.to_string(), None)),
        ];
        proptest::collection::vec(piece, 0..30).prop_map(|pieces| {
            let mut text = String::new();
            let mut urls = Vec::new();
            for (piece, url) in pieces {
                if let Some(url) = url {
                    // A URL ends where a space, a quote or an angle bracket comes: separate it.
                    text.push(' ');
                    text.push_str(&piece);
                    text.push(' ');
                    urls.push(url);
                } else {
                    text.push_str(&piece);
                }
            }
            (text, urls)
        })
    }

    proptest! {
        #[test]
        fn no_angle_bracket_from_the_text_opens_a_tag(
            (text, _) in text_with_urls(),
            title in "[a-z<>&\"]{0,10}",
            organisation in "[a-z<>&\"]{0,10}",
        ) {
            let brand = BrandColor::default();
            let render = |text: &str, title: &str, organisation: &str| {
                render_html(text, &HtmlLayout {
                    language: Language::En,
                    title,
                    organisation,
                    brand_color: &brand,
                    action_links: &[],
                })
            };
            // `>` ends a URL just as `<` does and means nothing in HTML text, so turning every
            // `<` of the inputs into `>` must leave the number of tags exactly as it was.
            let html = render(&text, &title, &organisation);
            let swapped = render(
                &text.replace('<', ">"),
                &title.replace('<', ">"),
                &organisation.replace('<', ">"),
            );
            prop_assert_eq!(html.matches('<').count(), swapped.matches('<').count());
            prop_assert!(!html.contains("<<"));
        }

        #[test]
        fn every_url_in_the_text_is_an_href((text, urls) in text_with_urls(), button in any::<bool>()) {
            let brand = BrandColor::default();
            let links: Vec<ActionLink> = urls
                .iter()
                .take(usize::from(button))
                .map(|url| ActionLink { url: url.clone(), label: "Renew".to_string() })
                .collect();
            let html = render_html(&text, &layout(&brand, &links));
            for url in &urls {
                let href = format!("href=\"{}\"", escape(url));
                prop_assert!(html.contains(&href), "{} missing in {}", href, html);
            }
        }
    }
}
