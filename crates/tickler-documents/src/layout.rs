//! Where everything goes: a document (an invoice, a quote) laid out as pages of positioned
//! text and rules, in points from the page's top-left corner. Everything that can fail (a
//! missing glyph, an amount too wide) fails here, before any PDF is written.
//!
//! Both documents are the same sheet: seller and facts at the top, the customer, the lines'
//! table, tax per rate and totals, and a closing block at the foot of the last page. Each
//! document says what goes in those places as a [`Form`]; this module alone says where.

use jiff::civil::Date;
use tickler_core::{language::Language, money::Money};

use crate::{
    DocumentError, DocumentLine, Party, TaxBand,
    labels::{self, Labels},
    text::{self, Run, Style},
};
/// A4: 210 × 297 mm.
pub(crate) const PAGE_WIDTH: f32 = 595.276;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const LEFT: f32 = 51.0;
const RIGHT: f32 = PAGE_WIDTH - 51.0;
const TOP: f32 = 48.0;
/// Content ends here; the footer lives below.
const BOTTOM: f32 = PAGE_HEIGHT - 64.0;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 36.0;
/// Amounts shrink down to this size before they count as not fitting.
const MIN_SIZE: f32 = 6.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Colour(pub u8, pub u8, pub u8);

const INK: Colour = Colour(0x1a, 0x1a, 0x1a);
const MUTED: Colour = Colour(0x5f, 0x63, 0x68);
const RULE: Colour = Colour(0xc8, 0xcc, 0xd0);
const SHADE: Colour = Colour(0xee, 0xf0, 0xf2);
const MARK: Colour = Colour(0xc6, 0x28, 0x28);
/// Links in the blue that readers expect to be clickable.
const LINKED: Colour = Colour(0x1a, 0x4f, 0x9c);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Text {
        x: f32,
        baseline: f32,
        run: Run,
        colour: Colour,
    },
    /// A horizontal rule.
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
        colour: Colour,
    },
    Rect {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        fill: Option<Colour>,
        stroke: Option<Colour>,
    },
    /// The draft or void mark across the whole page. Drawn as outlines, not text, so that
    /// the page's text (what a search or a copy finds) is the invoice alone.
    Watermark { run: Run, colour: Colour },
    /// A clickable area over a URL's text on the page: the PDF's link annotation.
    Link {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
        url: String,
    },
}

impl Item {
    fn moved_down(mut self, dy: f32) -> Item {
        match &mut self {
            Item::Text { baseline, .. } => *baseline += dy,
            Item::Rule { y, .. } | Item::Rect { y, .. } | Item::Link { y, .. } => *y += dy,
            Item::Watermark { .. } => {}
        }
        self
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Page {
    pub items: Vec<Item>,
}

/// Items laid out from a top of 0, measured before they are placed, so that a table row or
/// the totals move to the next page whole.
#[derive(Default)]
struct Block {
    items: Vec<Item>,
    height: f32,
}

impl Block {
    fn text(&mut self, x: f32, baseline: f32, run: Run, colour: Colour) {
        self.items.push(Item::Text {
            x,
            baseline,
            run,
            colour,
        });
    }

    fn text_right(&mut self, right: f32, baseline: f32, run: Run, colour: Colour) {
        self.text(right - run.width(), baseline, run, colour);
    }

    /// Lines from `top` down, each aligned left at `x` or right at `x`; returns the bottom.
    fn lines(&mut self, x: f32, top: f32, runs: Vec<Run>, colour: Colour, right: bool) -> f32 {
        let mut y = top;
        for run in runs {
            let style = run.style;
            if right {
                self.text_right(x, y + style.ascent(), run, colour);
            } else {
                self.text(x, y + style.ascent(), run, colour);
            }
            y += style.line_height();
        }
        self.height = self.height.max(y);
        y
    }

    /// Makes each line of `runs`, as [`Block::lines`] sets them from `top`, open `url`.
    fn links(&mut self, x: f32, top: f32, runs: &[Run], url: &str) {
        let mut y = top;
        for run in runs {
            let height = run.style.line_height();
            self.items.push(Item::Link {
                x,
                y,
                width: run.width(),
                height,
                url: url.to_string(),
            });
            y += height;
        }
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, colour: Colour) {
        self.items.push(Item::Rule {
            x1,
            x2,
            y,
            width,
            colour,
        });
    }
}

/// One column of the lines' table.
#[derive(Clone, Copy)]
struct Column {
    x: f32,
    width: f32,
    right: bool,
}

const CELL_PAD: f32 = 4.0;
const ROW_PAD: f32 = 4.0;

impl Column {
    fn inner(self) -> f32 {
        self.width - 2.0 * CELL_PAD
    }

    /// Where text starts (left-aligned) or ends (right-aligned).
    fn anchor(self) -> f32 {
        if self.right {
            self.x + self.width - CELL_PAD
        } else {
            self.x + CELL_PAD
        }
    }
}

/// Description, quantity, unit price, tax rate, net.
fn columns() -> [Column; 5] {
    let widths = [0.0, 52.0, 84.0, 46.0, 88.0];
    let description = RIGHT - LEFT - widths.iter().sum::<f32>();
    let mut x = LEFT;
    let mut columns = [Column {
        x,
        width: description,
        right: false,
    }; 5];
    for (i, column) in columns.iter_mut().enumerate() {
        let width = if i == 0 { description } else { widths[i] };
        *column = Column {
            x,
            width,
            right: i > 0,
        };
        x += width;
    }
    columns
}

const BODY: Style = Style::regular(9.0);
const SMALL: Style = Style::regular(8.0);
const HEAD: Style = Style::bold(8.5);
/// Links are long and must stay whole: smaller than other values, on up to this many lines.
const LINK: Style = Style::regular(8.5);
const LINK_LINES: usize = 4;

/// What one document puts in each place of the sheet, already worded in its language.
pub(crate) struct Form<'a> {
    pub language: Language,
    /// "Invoice", "Quote": the big word top right.
    pub title: &'static str,
    /// Repeated on continued pages and in the PDF's title.
    pub number: Option<&'a str>,
    /// A status word in a box under the title and pale across every page (DRAFT, VOID).
    pub mark: Option<&'static str>,
    pub organisation: &'a Party,
    pub customer: &'a Party,
    /// The word over the customer's name ("Bill to").
    pub customer_label: &'static str,
    /// A line under the customer where custom asks for one (Japanese documents open so).
    pub opening: Option<&'static str>,
    /// Labelled values under the title: the number and the dates.
    pub facts: Vec<Fact<'a>>,
    /// Labelled texts under the customer: the reference, the billing.
    pub notes: Vec<Note<'a>>,
    pub lines: &'a [DocumentLine],
    pub tax_bands: &'a [TaxBand],
    /// Right of the tax bands; the strong ones are ruled above and set in bold.
    pub totals: Vec<Total>,
    /// At the foot of the last page: how to pay, how to accept, or why nothing is asked.
    pub closing: Option<Closing<'a>>,
}

impl Form<'_> {
    /// "Invoice 2027-0042", "Invoice DRAFT": the PDF's title, and the head of a continued page.
    pub fn name(&self) -> String {
        match (self.number, self.mark) {
            (Some(number), _) => format!("{} {number}", self.title),
            (None, Some(mark)) => format!("{} {mark}", self.title),
            (None, None) => self.title.to_string(),
        }
    }
}

pub(crate) struct Fact<'a> {
    pub label: &'static str,
    pub value: Value<'a>,
    /// Names the value in an error.
    pub field: &'static str,
}

pub(crate) enum Value<'a> {
    /// A number or a date: never cut, as a cut one would be a different one.
    Whole(std::borrow::Cow<'a, str>),
    /// From the first date to the second, on two lines where one is too short.
    Period(Date, Date),
}

pub(crate) struct Note<'a> {
    pub label: &'static str,
    pub text: &'a str,
    pub field: &'static str,
}

pub(crate) struct Total {
    label: &'static str,
    amount: Money,
    field: &'static str,
    strong: bool,
}

impl Total {
    pub fn new(label: &'static str, amount: Money, field: &'static str, strong: bool) -> Total {
        Total {
            label,
            amount,
            field,
            strong,
        }
    }

    /// Subtotal, tax and total: the rows every document's totals start with.
    pub fn sums(labels: &Labels, subtotal: Money, tax: Money, total: Money) -> Vec<Total> {
        vec![
            Total::new(labels.subtotal, subtotal, "subtotal", false),
            Total::new(labels.tax, tax, "tax", false),
            Total::new(labels.total, total, "total", true),
        ]
    }
}

/// A heading, sentences, labelled rows, then more sentences; any part may be empty.
#[derive(Default)]
pub(crate) struct Closing<'a> {
    pub heading: Option<&'static str>,
    pub before: Vec<Sentence>,
    pub rows: Vec<Row<'a>>,
    pub after: Vec<Sentence>,
}

impl Closing<'_> {
    /// One sentence that says why nothing more is asked (paid, void, expired).
    pub fn notice(text: &str, field: &'static str) -> Self {
        Closing {
            before: vec![Sentence {
                text: text.to_string(),
                field,
            }],
            ..Closing::default()
        }
    }
}

pub(crate) struct Sentence {
    pub text: String,
    pub field: &'static str,
}

pub(crate) struct Row<'a> {
    pub label: &'static str,
    pub value: &'a str,
    pub field: &'static str,
    /// The value is a URL: shown whole (or refused) and clickable.
    pub link: bool,
}

struct Sheet<'a> {
    form: &'a Form<'a>,
    labels: &'static Labels,
    language: Language,
    done: Vec<Page>,
    page: Page,
    y: f32,
}

pub(crate) fn lay_out(form: &Form<'_>) -> Result<Vec<Page>, DocumentError> {
    let mut sheet = Sheet {
        form,
        labels: labels::labels(form.language),
        language: form.language,
        done: Vec::new(),
        page: Page::default(),
        y: TOP,
    };
    sheet.header()?;
    sheet.customer()?;
    sheet.table_header()?;
    for (i, line) in form.lines.iter().enumerate() {
        sheet.line(i + 1, line)?;
    }
    sheet.summary()?;
    sheet.closing()?;
    sheet.finish()
}

impl Sheet<'_> {
    fn place(&mut self, block: Block, top: f32) {
        self.page
            .items
            .extend(block.items.into_iter().map(|item| item.moved_down(top)));
        self.y = top + block.height;
    }

    /// Places `block` after `gap`, on a new page if it does not fit on this one.
    fn flow(&mut self, block: Block, gap: f32) -> Result<(), DocumentError> {
        if self.y + gap + block.height > BOTTOM {
            self.next_page()?;
            self.place(block, self.y);
        } else {
            self.place(block, self.y + gap);
        }
        Ok(())
    }

    fn next_page(&mut self) -> Result<(), DocumentError> {
        let page = std::mem::take(&mut self.page);
        self.done.push(page);
        let what = format!("{} ({})", self.form.name(), self.labels.continued);
        let mut block = Block::default();
        let run = text::fit(&what, BODY, RIGHT - LEFT, MIN_SIZE, "number")?;
        block.lines(LEFT, 0.0, vec![run], MUTED, false);
        self.place(block, TOP);
        self.y += 12.0;
        Ok(())
    }

    /// The seller top left; the title, any mark, the number and the dates top right.
    fn header(&mut self) -> Result<(), DocumentError> {
        let form = self.form;
        let mut block = Block::default();

        let name = text::wrap(
            &form.organisation.name,
            Style::bold(14.0),
            250.0,
            3,
            "organisation name",
        )?;
        let mut left = block.lines(LEFT, 0.0, name, INK, false);
        if let Some(email) = &form.organisation.email {
            let email = text::wrap(email, BODY, 250.0, 2, "organisation email")?;
            left = block.lines(LEFT, left + 2.0, email, MUTED, false);
        }

        let title = Style::bold(24.0);
        let run = text::shape(form.title, title, "title")?;
        block.text_right(RIGHT, title.size * 0.9, run, INK);
        let mut right = title.size * 1.3;
        if let Some(mark) = form.mark {
            right = self.stamp(&mut block, mark, right)?;
        }

        let label_x = RIGHT - 240.0;
        let value_style = Style::bold(9.0);
        let value_width = 132.0;
        for fact in &form.facts {
            let value = match &fact.value {
                Value::Whole(value) => vec![text::fit(
                    value,
                    value_style,
                    value_width,
                    MIN_SIZE,
                    fact.field,
                )?],
                Value::Period(start, end) => {
                    let period = labels::period(self.language, *start, *end);
                    let period = text::shape(&period, value_style, fact.field)?;
                    if period.width() <= value_width {
                        vec![period]
                    } else {
                        let lines = labels::period_lines(self.language, *start, *end);
                        let fit = |line: &str| {
                            text::fit(line, value_style, value_width, MIN_SIZE, fact.field)
                        };
                        vec![fit(&lines[0])?, fit(&lines[1])?]
                    }
                }
            };
            let label = text::wrap(fact.label, BODY, 104.0, 2, "label")?;
            let bottom_label = block.lines(label_x, right, label, MUTED, false);
            let bottom_value = block.lines(RIGHT, right, value, INK, true);
            right = bottom_label.max(bottom_value) + 2.0;
        }

        block.height = left.max(right);
        self.place(block, TOP);
        Ok(())
    }

    /// The mark in a red box under the title, right-aligned; returns its bottom.
    fn stamp(&self, block: &mut Block, mark: &str, top: f32) -> Result<f32, DocumentError> {
        let style = Style::bold(12.0);
        let run = text::shape(mark, style, "mark")?;
        let (width, height) = (run.width() + 14.0, 20.0);
        block.items.push(Item::Rect {
            x: RIGHT - width,
            y: top,
            width,
            height,
            fill: None,
            stroke: Some(MARK),
        });
        block.text_right(RIGHT - 7.0, top + 14.5, run, MARK);
        Ok(top + height + 8.0)
    }

    /// Who the document is for, the opening line where custom has one, and the notes.
    fn customer(&mut self) -> Result<(), DocumentError> {
        let form = self.form;
        let mut block = Block::default();
        let label = text::shape(form.customer_label, Style::bold(8.5), "label")?;
        let mut y = block.lines(LEFT, 0.0, vec![label], MUTED, false);
        let name = text::wrap(
            &form.customer.name,
            Style::bold(11.0),
            300.0,
            3,
            "customer name",
        )?;
        y = block.lines(LEFT, y, name, INK, false);
        if let Some(email) = &form.customer.email {
            let email = text::wrap(email, BODY, 300.0, 2, "customer email")?;
            y = block.lines(LEFT, y, email, MUTED, false);
        }
        if let Some(opening) = form.opening {
            let opening = text::wrap(opening, Style::regular(9.5), RIGHT - LEFT, 2, "opening")?;
            y = block.lines(LEFT, y + 10.0, opening, INK, false);
        }
        let labels = form
            .notes
            .iter()
            .map(|note| text::shape(note.label, Style::bold(9.0), "label"))
            .collect::<Result<Vec<_>, _>>()?;
        // The texts line up after the widest label.
        let indent = labels.iter().map(Run::width).fold(0.0, f32::max) + 8.0;
        let mut gap = 8.0;
        for (note, label) in form.notes.iter().zip(labels) {
            let bottom = block.lines(LEFT, y + gap, vec![label], MUTED, false);
            let text = text::wrap(note.text, BODY, RIGHT - LEFT - indent, 3, note.field)?;
            y = bottom.max(block.lines(LEFT + indent, y + gap, text, INK, false));
            gap = 2.0;
        }
        self.flow(block, 22.0)
    }

    fn table_header(&mut self) -> Result<(), DocumentError> {
        let l = self.labels;
        let titles = [l.description, l.quantity, l.unit_price, l.tax_rate, l.net];
        let mut block = Block::default();
        let mut bottom: f32 = 0.0;
        for (column, title) in columns().into_iter().zip(titles) {
            let runs = text::wrap(title, HEAD, column.inner(), 2, "column title")?;
            bottom = bottom.max(block.lines(column.anchor(), 5.0, runs, INK, column.right));
        }
        let height = bottom + 5.0;
        block.items.insert(
            0,
            Item::Rect {
                x: LEFT,
                y: 0.0,
                width: RIGHT - LEFT,
                height,
                fill: Some(SHADE),
                stroke: None,
            },
        );
        block.height = height;
        self.flow(block, 18.0)
    }

    fn line(&mut self, n: usize, line: &DocumentLine) -> Result<(), DocumentError> {
        let [description, quantity, unit_price, rate, net] = columns();
        let mut block = Block::default();
        let runs = text::wrap(
            &line.description,
            BODY,
            description.inner(),
            12,
            &format!("line {n} description"),
        )?;
        block.lines(description.anchor(), ROW_PAD, runs, INK, false);
        let cells = [
            (quantity, line.quantity.clone(), "quantity"),
            (
                unit_price,
                line.unit_price.format(self.language),
                "unit price",
            ),
            (rate, labels::rate(&line.tax_rate), "tax rate"),
            (net, line.net.format(self.language), "net amount"),
        ];
        for (column, value, field) in cells {
            let field = format!("line {n} {field}");
            let run = text::fit(&value, BODY, column.inner(), MIN_SIZE, &field)?;
            block.text_right(column.anchor(), ROW_PAD + BODY.ascent(), run, INK);
        }
        block.height += ROW_PAD;
        block.rule(LEFT, RIGHT, block.height, 0.5, RULE);
        if self.y + block.height > BOTTOM {
            self.next_page()?;
            self.table_header()?;
        }
        self.place(block, self.y);
        Ok(())
    }

    /// Tax per rate on the left, the totals on the right, kept together on one page.
    fn summary(&mut self) -> Result<(), DocumentError> {
        let form = self.form;
        let l = self.labels;
        let lang = self.language;
        let mut block = Block::default();

        if !form.tax_bands.is_empty() {
            let heading = text::shape(l.tax_by_rate, Style::bold(9.0), "label")?;
            let mut y = block.lines(LEFT, 0.0, vec![heading], INK, false) + 2.0;
            // Rate on the left, net and tax right-aligned: 250 points in all.
            let (rate_x, net_right, tax_right) = (LEFT, LEFT + 160.0, LEFT + 250.0);
            let titles = [
                (rate_x, l.band_rate, false),
                (net_right, l.band_net, true),
                (tax_right, l.band_tax, true),
            ];
            let mut bottom = y;
            for (x, title, right) in titles {
                let run = text::fit(title, Style::bold(8.0), 84.0, MIN_SIZE, "label")?;
                bottom = bottom.max(block.lines(x, y, vec![run], MUTED, right));
            }
            block.rule(LEFT, tax_right, bottom + 1.0, 0.5, RULE);
            y = bottom + 3.0;
            for band in form.tax_bands {
                let field = format!("tax band {}", band.rate);
                let rate = text::fit(&labels::rate(&band.rate), BODY, 70.0, MIN_SIZE, &field)?;
                let net = text::fit(&band.net.format(lang), BODY, 86.0, MIN_SIZE, &field)?;
                let tax = text::fit(&band.tax.format(lang), BODY, 86.0, MIN_SIZE, &field)?;
                let baseline = y + BODY.ascent();
                block.text(rate_x, baseline, rate, INK);
                block.text_right(net_right, baseline, net, INK);
                block.text_right(tax_right, baseline, tax, INK);
                y += BODY.line_height();
            }
            block.height = block.height.max(y);
        }

        let label_x = RIGHT - 220.0;
        let mut y = 0.0;
        for total in &form.totals {
            let style = if total.strong {
                Style::bold(10.5)
            } else {
                Style::regular(9.5)
            };
            if total.strong {
                block.rule(label_x, RIGHT, y + 1.0, 0.75, INK);
                y += 4.0;
            }
            let label = text::fit(total.label, style, 116.0, MIN_SIZE, "label")?;
            let value = text::fit(
                &total.amount.format(lang),
                style,
                100.0,
                MIN_SIZE,
                total.field,
            )?;
            let baseline = y + style.ascent();
            let colour = if total.strong { INK } else { MUTED };
            block.text(label_x, baseline, label, colour);
            block.text_right(RIGHT, baseline, value, INK);
            y += style.line_height() + 1.0;
        }
        block.height = block.height.max(y);
        self.flow(block, 16.0)
    }

    /// The closing block at the foot of the last page: what the reader is asked to do next.
    fn closing(&mut self) -> Result<(), DocumentError> {
        let Some(closing) = &self.form.closing else {
            return Ok(());
        };
        let width = RIGHT - LEFT;
        let mut block = Block::default();
        let sentence =
            |text: &str, field: &str| text::wrap(text, Style::regular(9.5), width, 3, field);
        let mut y = 8.0;
        if let Some(heading) = closing.heading {
            let heading = text::shape(heading, Style::bold(10.0), "label")?;
            y = block.lines(LEFT, y, vec![heading], INK, false) + 2.0;
        }
        for said in &closing.before {
            y = block.lines(LEFT, y, sentence(&said.text, said.field)?, INK, false) + 2.0;
        }
        for row in &closing.rows {
            let label = text::wrap(row.label, BODY, 100.0, 2, "label")?;
            let (x, value_width) = (LEFT + 110.0, width - 110.0);
            let value = if row.link {
                // A cut URL would lead somewhere else: all of it, or an error.
                let runs = text::wrap(row.value, LINK, value_width, usize::MAX, row.field)?;
                if runs.len() > LINK_LINES {
                    return Err(DocumentError::DoesNotFit {
                        field: row.field.to_string(),
                        text: row.value.to_string(),
                    });
                }
                runs
            } else {
                text::wrap(row.value, Style::bold(9.5), value_width, 2, row.field)?
            };
            if row.link {
                block.links(x, y, &value, row.value);
            }
            let bottom = block.lines(LEFT, y, label, MUTED, false);
            let colour = if row.link { LINKED } else { INK };
            y = bottom.max(block.lines(x, y, value, colour, false));
        }
        for said in &closing.after {
            y = block.lines(LEFT, y + 2.0, sentence(&said.text, said.field)?, INK, false);
        }
        block.rule(LEFT, RIGHT, 0.0, 0.5, RULE);
        // At the foot of the page where it fits there, else on a page of its own.
        if self.y + 20.0 + block.height > BOTTOM {
            self.next_page()?;
        }
        let top = (BOTTOM - block.height).max(self.y + 20.0);
        self.place(block, top);
        Ok(())
    }

    /// Adds each page's footer and mark, now that the number of pages is known.
    fn finish(mut self) -> Result<Vec<Page>, DocumentError> {
        self.done.push(std::mem::take(&mut self.page));
        let count = self.done.len();
        let name = text::ellipsize(&self.form.organisation.name, SMALL, 300.0, false)?;
        let watermark = match self.form.mark {
            Some(mark) => Some(text::shape(mark, Style::bold(1.0), "mark")?),
            None => None,
        };
        for (i, page) in self.done.iter_mut().enumerate() {
            page.items.push(Item::Rule {
                x1: LEFT,
                x2: RIGHT,
                y: FOOTER_BASELINE - 12.0,
                width: 0.5,
                colour: RULE,
            });
            page.items.push(Item::Text {
                x: LEFT,
                baseline: FOOTER_BASELINE,
                run: text::shape(&name, SMALL, "organisation name")?,
                colour: MUTED,
            });
            let number = text::shape(&labels::page(self.language, i + 1, count), SMALL, "page")?;
            page.items.push(Item::Text {
                x: RIGHT - number.width(),
                baseline: FOOTER_BASELINE,
                run: number,
                colour: MUTED,
            });
            if let Some(run) = &watermark {
                // Across about two thirds of the page's diagonal, at most 130 points high.
                let mut run = run.clone();
                run.style.size = (620.0 / run.width()).min(130.0);
                page.items.push(Item::Watermark { run, colour: MARK });
            }
        }
        Ok(self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{invoice, quote, quote_with_lines, with_lines};

    fn lay_out(doc: &crate::InvoiceDocument) -> Result<Vec<Page>, DocumentError> {
        super::lay_out(&crate::invoice::form(doc))
    }

    fn texts(page: &Page) -> Vec<&str> {
        page.items
            .iter()
            .filter_map(|item| match item {
                Item::Text { run, .. } => Some(run.text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Every sample, invoices and quotes, short and long, laid out.
    fn every_sample() -> Vec<Vec<Page>> {
        let mut all = Vec::new();
        for language in Language::ALL {
            for doc in [invoice(language), with_lines(invoice(language), 60)] {
                all.push(lay_out(&doc).unwrap());
            }
            for doc in [quote(language), quote_with_lines(quote(language), 60)] {
                all.push(super::lay_out(&crate::quote::form(&doc)).unwrap());
            }
        }
        all
    }

    #[test]
    fn everything_stays_inside_the_page_margins() {
        for page in every_sample().iter().flatten() {
            for item in &page.items {
                match item {
                    Item::Text {
                        x, baseline, run, ..
                    } => {
                        assert!(*x >= LEFT - 0.01, "{} at x {x}", run.text);
                        assert!(x + run.width() <= RIGHT + 0.01, "{} too wide", run.text);
                        assert!(*baseline > TOP && *baseline <= PAGE_HEIGHT - 30.0);
                    }
                    Item::Link {
                        x,
                        y,
                        width,
                        height,
                        url,
                    } => {
                        assert!(*x >= LEFT && x + width <= RIGHT + 0.01, "{url} too wide");
                        assert!(*y > TOP && y + height <= BOTTOM + 0.01, "{url} at y {y}");
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn sixty_lines_continue_on_further_pages_with_the_header_repeated() {
        let doc = with_lines(invoice(Language::En), 60);
        let pages = lay_out(&doc).unwrap();
        assert!(pages.len() >= 2, "{} pages", pages.len());
        for (i, page) in pages.iter().enumerate() {
            let texts = texts(page);
            assert!(texts.contains(&format!("Page {} of {}", i + 1, pages.len()).as_str()));
            if i > 0 {
                assert!(
                    texts.contains(&"Invoice 2027-0042 (continued)"),
                    "{texts:?}"
                );
            }
        }
        let all: Vec<&str> = pages.iter().flat_map(texts).collect();
        for n in 1..=60 {
            let wanted = format!("Service item {n}");
            let found = |t: &&str| **t == wanted || t.starts_with(&format!("{wanted} "));
            assert!(all.iter().any(found), "line {n} missing");
        }
        assert_eq!(all.iter().filter(|t| **t == "Balance due").count(), 1);
    }

    #[test]
    fn content_never_runs_into_the_footer() {
        for page in every_sample().iter().flatten() {
            for item in &page.items {
                if let Item::Text { baseline, run, .. } = item
                    && *baseline < FOOTER_BASELINE - 1.0
                {
                    assert!(*baseline <= BOTTOM, "{} at {baseline}", run.text);
                }
            }
        }
    }

    #[test]
    fn a_paid_invoice_says_so_and_a_credit_note_asks_for_nothing() {
        let mut doc = invoice(Language::En);
        doc.paid = doc.total;
        doc.balance.minor = 0;
        let pages = lay_out(&doc).unwrap();
        let all = texts(&pages[0]);
        assert!(
            all.iter()
                .any(|t| t.starts_with("This invoice has been paid in full"))
        );
        assert!(!all.iter().any(|t| t.starts_with("Please transfer")));

        let mut credit = invoice(Language::En);
        for amount in [&mut credit.total, &mut credit.balance] {
            amount.minor = -amount.minor;
        }
        let page = &lay_out(&credit).unwrap()[0];
        assert!(
            !texts(page)
                .iter()
                .any(|t| t.starts_with("This invoice has been paid"))
        );
        assert!(!texts(page).iter().any(|t| t.starts_with("Please transfer")));
    }

    #[test]
    fn a_draft_has_its_mark_on_every_page_and_no_number() {
        let mut doc = with_lines(invoice(Language::Ja), 60);
        doc.number = None;
        let pages = lay_out(&doc).unwrap();
        assert!(texts(&pages[0]).contains(&"下書き"));
        for page in &pages {
            assert!(
                page.items.iter().any(
                    |item| matches!(item, Item::Watermark { run, .. } if run.text == "下書き")
                )
            );
            assert!(!texts(page).iter().any(|t| t.contains("2027-0042")));
        }
    }
}
