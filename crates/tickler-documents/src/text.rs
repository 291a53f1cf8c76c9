//! Text set in the invoice font: glyphs and widths, lines wrapped to a width, text cut to fit.
//!
//! No shaper: the font has no kerning and no ligatures (scripts/make-invoice-font drops its
//! layout tables), so one character is one glyph with the font's advance, and Latin, Greek and
//! Japanese are all set left to right. A measured width is then exactly the drawn width.

use std::ops::Range;

use crate::{
    DocumentError,
    fonts::{Weight, face},
};

/// How a run of text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub weight: Weight,
    pub size: f32,
}

impl Style {
    pub const fn regular(size: f32) -> Style {
        Style {
            weight: Weight::Regular,
            size,
        }
    }

    pub const fn bold(size: f32) -> Style {
        Style {
            weight: Weight::Bold,
            size,
        }
    }

    /// Baseline to baseline.
    pub fn line_height(self) -> f32 {
        self.size * 1.4
    }

    /// From the top of a line box to its baseline: the font's ascent is about 0.86 em, and
    /// the rest of the leading goes above it.
    pub fn ascent(self) -> f32 {
        self.size * 1.05
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glyph {
    pub id: u32,
    /// In ems.
    pub advance: f32,
    /// The bytes of the run's text this glyph shows, so the PDF can map it back to text.
    pub text_range: Range<usize>,
}

/// One line of text, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub text: String,
    pub glyphs: Vec<Glyph>,
    pub style: Style,
}

impl Run {
    /// In points.
    pub fn width(&self) -> f32 {
        self.glyphs.iter().map(|g| g.advance).sum::<f32>() * self.style.size
    }
}

/// What a user typed, made drawable on one line: tabs, returns and newlines become spaces
/// and invisible format characters go (no font draws them, and they say nothing on paper).
fn clean(text: &str) -> String {
    text.chars()
        .filter(|ch| !matches!(ch, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'))
        .map(|ch| if ch.is_whitespace() { ' ' } else { ch })
        .collect()
}

fn missing(field: &str, character: char, text: &str) -> DocumentError {
    DocumentError::MissingGlyph {
        field: field.to_string(),
        character,
        text: text.to_string(),
    }
}

/// Sets `text` on one line. `field` names the text in an error ("customer name").
pub(crate) fn shape(text: &str, style: Style, field: &str) -> Result<Run, DocumentError> {
    let text = clean(text);
    let face = face(style.weight);
    let mut glyphs = Vec::with_capacity(text.len());
    for (at, ch) in text.char_indices() {
        let (id, advance) = face.glyph(ch).ok_or_else(|| missing(field, ch, &text))?;
        glyphs.push(Glyph {
            id,
            advance,
            text_range: at..at + ch.len_utf8(),
        });
    }
    Ok(Run {
        text,
        glyphs,
        style,
    })
}

/// Japanese is written without spaces: a line may end between any two of these characters.
fn is_cjk(ch: char) -> bool {
    matches!(ch,
        '\u{3000}'..='\u{30FF}' // CJK punctuation, hiragana, katakana
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FFEF}' // full-width forms
        | '\u{20000}'..='\u{2FFFF}')
}

/// Japanese line-breaking rules (kinsoku): these never start a line...
fn never_starts_line(ch: char) -> bool {
    matches!(
        ch,
        '、' | '。'
            | '，'
            | '．'
            | '・'
            | '：'
            | '；'
            | '？'
            | '！'
            | 'ー'
            | '～'
            | '〜'
            | '）'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〉'
            | '》'
            | '］'
            | '｝'
            | '’'
            | '”'
            | 'ぁ'
            | 'ぃ'
            | 'ぅ'
            | 'ぇ'
            | 'ぉ'
            | 'っ'
            | 'ゃ'
            | 'ゅ'
            | 'ょ'
            | 'ゎ'
            | 'ァ'
            | 'ィ'
            | 'ゥ'
            | 'ェ'
            | 'ォ'
            | 'ッ'
            | 'ャ'
            | 'ュ'
            | 'ョ'
            | 'ヮ'
            | 'ヵ'
            | 'ヶ'
            | ')'
            | ']'
            | '}'
            | ','
            | '.'
            | ':'
            | ';'
            | '!'
            | '?'
            | '%'
    )
}

/// ...and these never end one.
fn never_ends_line(ch: char) -> bool {
    matches!(
        ch,
        '（' | '「'
            | '『'
            | '【'
            | '〔'
            | '〈'
            | '《'
            | '［'
            | '｛'
            | '‘'
            | '“'
            | '('
            | '['
            | '{'
    )
}

fn may_break_between(before: char, after: char) -> bool {
    (is_cjk(before) || is_cjk(after)) && !never_starts_line(after) && !never_ends_line(before)
}

/// Sets `text` in lines no wider than `width` points, breaking at spaces and between Japanese
/// characters, and inside a word only where the word alone is wider than a line. Newlines in
/// the text start new lines. Past `max_lines` the text is cut and the last line ends in "…".
pub(crate) fn wrap(
    text: &str,
    style: Style,
    width: f32,
    max_lines: usize,
    field: &str,
) -> Result<Vec<Run>, DocumentError> {
    let face = face(style.weight);
    let mut lines: Vec<String> = Vec::new();
    let mut cut = false;
    for paragraph in text.lines() {
        let paragraph = clean(paragraph);
        let chars: Vec<(usize, char, f32)> = paragraph
            .char_indices()
            .map(|(at, ch)| {
                face.glyph(ch)
                    .map(|(_, advance)| (at, ch, advance * style.size))
                    .ok_or_else(|| missing(field, ch, text))
            })
            .collect::<Result<_, _>>()?;
        let byte = |i: usize| chars.get(i).map_or(paragraph.len(), |c| c.0);
        let mut start = 0;
        // Where the current line may end, and where the next would then start.
        let mut last_break: Option<(usize, usize)> = None;
        let mut line_width = 0.0;
        let mut i = 0;
        while i < chars.len() {
            let (_, ch, advance) = chars[i];
            if ch == ' ' {
                last_break = Some((i, i + 1));
            } else if i > start && may_break_between(chars[i - 1].1, ch) {
                last_break = Some((i, i));
            }
            line_width += advance;
            if line_width > width && i > start && ch != ' ' {
                let (end, next) = match last_break {
                    Some((end, next)) if end > start => (end, next),
                    // One word wider than the line: break it where it overflows.
                    _ => (i, i),
                };
                lines.push(paragraph[byte(start)..byte(end)].trim_end().to_string());
                start = next;
                while chars.get(start).is_some_and(|c| c.1 == ' ') {
                    start += 1;
                }
                last_break = None;
                line_width = chars[start..=i].iter().map(|c| c.2).sum();
            }
            i += 1;
        }
        // Blank lines would only push the table down.
        let rest = paragraph[byte(start)..].trim_end();
        if !rest.is_empty() {
            lines.push(rest.to_string());
        }
        if lines.len() > max_lines {
            cut = true;
            break;
        }
    }
    if lines.len() > max_lines {
        cut = true;
        lines.truncate(max_lines);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    if cut && let Some(last) = lines.last_mut() {
        *last = ellipsize(last, style, width, true)?;
    }
    lines.iter().map(|line| shape(line, style, field)).collect()
}

/// `text` cut at the end, with "…", so that it fits `width`; `always` adds the "…" even where
/// the text fits (its line is the last shown of a longer text).
pub(crate) fn ellipsize(
    text: &str,
    style: Style,
    width: f32,
    always: bool,
) -> Result<String, DocumentError> {
    let face = face(style.weight);
    let measure = |s: &str| -> f32 {
        s.chars()
            .map(|ch| face.glyph(ch).map_or(0.0, |(_, advance)| advance))
            .sum::<f32>()
            * style.size
    };
    if !always && measure(text) <= width {
        return Ok(text.to_string());
    }
    let mut kept = text.trim_end().to_string();
    while !kept.is_empty() && measure(&kept) + measure("…") > width {
        kept.pop();
        let trimmed = kept.trim_end().len();
        kept.truncate(trimmed);
    }
    kept.push('…');
    Ok(kept)
}

/// One line in at most `width` points: at `style`'s size if it fits, else smaller down to
/// `min_size`. Amounts and dates are never cut, since a cut amount would be a wrong amount.
pub(crate) fn fit(
    text: &str,
    style: Style,
    width: f32,
    min_size: f32,
    field: &str,
) -> Result<Run, DocumentError> {
    let mut run = shape(text, style, field)?;
    let natural = run.width();
    if natural <= width {
        return Ok(run);
    }
    let size = style.size * width / natural;
    if size < min_size {
        return Err(DocumentError::DoesNotFit {
            field: field.to_string(),
            text: run.text,
        });
    }
    run.style.size = size;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(runs: &[Run]) -> Vec<&str> {
        runs.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn wraps_at_spaces_within_the_width() {
        let style = Style::regular(10.0);
        let text = "Maintenance of the ventilation system in building B, third floor";
        let lines = wrap(text, style, 120.0, 10, "description").unwrap();
        assert!(lines.len() > 2, "{:?}", texts(&lines));
        for line in &lines {
            assert!(
                line.width() <= 120.0,
                "{} is {} wide",
                line.text,
                line.width()
            );
            assert!(!line.text.starts_with(' ') && !line.text.ends_with(' '));
        }
        assert_eq!(texts(&lines).join(" "), text);
    }

    #[test]
    fn breaks_japanese_between_characters_but_not_before_closing_marks() {
        let style = Style::regular(10.0);
        let text = "株式会社サンプルの本社ビル（東京都千代田区）における空調設備の保守点検、および消耗品の交換。";
        let lines = wrap(text, style, 100.0, 10, "description").unwrap();
        assert!(lines.len() > 2);
        for line in &lines {
            assert!(line.width() <= 100.0);
            let first = line.text.chars().next().unwrap();
            assert!(!never_starts_line(first), "{:?}", texts(&lines));
            let last = line.text.chars().last().unwrap();
            assert!(!never_ends_line(last), "{:?}", texts(&lines));
        }
        assert_eq!(texts(&lines).concat(), text);
    }

    #[test]
    fn breaks_a_word_longer_than_the_line() {
        let style = Style::regular(10.0);
        let lines = wrap(&"x".repeat(200), style, 50.0, 100, "description").unwrap();
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| l.width() <= 50.0));
        assert_eq!(texts(&lines).concat(), "x".repeat(200));
    }

    #[test]
    fn cuts_after_the_last_allowed_line_with_an_ellipsis() {
        let style = Style::regular(10.0);
        let text = "word ".repeat(200);
        let lines = wrap(&text, style, 100.0, 3, "description").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[2].text.ends_with('…'), "{:?}", texts(&lines));
        assert!(lines[2].width() <= 100.0);
        // A newline past the limit cuts as well.
        let lines = wrap("one\ntwo\nthree\nfour", style, 100.0, 2, "x").unwrap();
        assert_eq!(texts(&lines), ["one", "two…"]);
    }

    #[test]
    fn newlines_start_lines_and_empty_text_is_one_empty_line() {
        let style = Style::regular(10.0);
        let lines = wrap("first\nsecond", style, 300.0, 5, "x").unwrap();
        assert_eq!(texts(&lines), ["first", "second"]);
        assert_eq!(texts(&wrap("", style, 300.0, 5, "x").unwrap()), [""]);
    }

    #[test]
    fn a_missing_glyph_names_the_field_and_the_character() {
        let err = shape("Snow ☃ AG", Style::regular(10.0), "customer name").unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("customer name: "), "{message}");
        assert!(message.contains("U+2603"), "{message}");
        let err = wrap(
            "ok\n🎉",
            Style::regular(10.0),
            100.0,
            3,
            "line 2 description",
        );
        assert!(matches!(
            err,
            Err(DocumentError::MissingGlyph {
                character: '🎉',
                ..
            })
        ));
    }

    #[test]
    fn fit_shrinks_amounts_then_refuses() {
        let style = Style::regular(10.0);
        let run = fit("1.234.567,89 €", style, 40.0, 5.0, "total").unwrap();
        assert!(run.style.size < 10.0 && run.width() <= 40.01);
        let err = fit("-92.233.720.368.547.758,08 €", style, 40.0, 6.0, "total").unwrap_err();
        assert!(err.to_string().starts_with("total: "), "{err}");
    }

    #[test]
    fn glyphs_map_back_to_their_text() {
        let run = shape("Αά株\tx", Style::bold(10.0), "x").unwrap();
        assert_eq!(run.text, "Αά株 x");
        let shown: String = run
            .glyphs
            .iter()
            .map(|g| &run.text[g.text_range.clone()])
            .collect();
        assert_eq!(shown, run.text);
    }
}
