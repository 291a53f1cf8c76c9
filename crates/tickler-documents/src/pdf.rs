//! Laid-out pages written as PDF with krilla, which embeds the font's used glyphs only and
//! writes the ToUnicode map from each glyph's text range.

use krilla::{
    Document,
    action::LinkAction,
    annotation::{Annotation, LinkAnnotation, Target},
    color::rgb,
    geom::{PathBuilder, Point, Rect, Transform},
    metadata::Metadata,
    num::NormalizedF32,
    page::PageSettings,
    paint::{Fill, Stroke},
    surface::Surface,
    text::{GlyphId, KrillaGlyph},
};

use crate::{
    DocumentError,
    fonts::face,
    layout::{Colour, Form, Item, PAGE_HEIGHT, PAGE_WIDTH, Page},
    text::Run,
};

pub(crate) fn write(form: &Form<'_>, pages: &[Page]) -> Result<Vec<u8>, DocumentError> {
    let mut document = Document::new();
    // No creation date: the same document gives the same bytes, and this crate has no clock.
    document.set_metadata(
        Metadata::new()
            .title(form.name())
            .language(form.language.code().to_string())
            .creator("Tickler".to_string()),
    );
    let size = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| DocumentError::Pdf("A4 is not a valid page size".into()))?;
    for page in pages {
        let mut pdf_page = document.start_page_with(size.clone());
        let mut surface = pdf_page.surface();
        for item in &page.items {
            draw(&mut surface, item);
        }
        surface.finish();
        // Annotations belong to the page, not its content: added once the surface is done.
        for item in &page.items {
            if let Item::Link {
                x,
                y,
                width,
                height,
                url,
            } = item
                && let Some(rect) = Rect::from_xywh(*x, *y, *width, *height)
            {
                let target = Target::Action(LinkAction::new(url.clone()).into());
                pdf_page.add_annotation(Annotation::new_link(
                    LinkAnnotation::new(rect, target),
                    Some(url.clone()),
                ));
            }
        }
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|err| DocumentError::Pdf(format!("{err:?}")))
}

fn fill(colour: Colour, opacity: f32) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: Default::default(),
    }
}

fn stroke(colour: Colour, width: f32) -> Stroke {
    Stroke {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        width,
        ..Default::default()
    }
}

fn glyphs(run: &Run) -> Vec<KrillaGlyph> {
    run.glyphs
        .iter()
        .map(|g| {
            KrillaGlyph::new(
                GlyphId::new(g.id),
                g.advance,
                0.0,
                0.0,
                0.0,
                g.text_range.clone(),
                None,
            )
        })
        .collect()
}

fn draw_run(surface: &mut Surface<'_>, x: f32, baseline: f32, run: &Run, outlined: bool) {
    surface.draw_glyphs(
        Point::from_xy(x, baseline),
        &glyphs(run),
        face(run.style.weight).pdf.clone(),
        &run.text,
        run.style.size,
        outlined,
    );
}

fn draw(surface: &mut Surface<'_>, item: &Item) {
    match item {
        Item::Text {
            x,
            baseline,
            run,
            colour,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*colour, 1.0)));
            draw_run(surface, *x, *baseline, run, false);
        }
        Item::Rule {
            x1,
            x2,
            y,
            width,
            colour,
        } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y);
            path.line_to(*x2, *y);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*colour, *width)));
                surface.draw_path(&path);
            }
        }
        Item::Rect {
            x,
            y,
            width,
            height,
            fill: inside,
            stroke: edge,
        } => {
            let mut path = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                path.push_rect(rect);
            }
            if let Some(path) = path.finish() {
                surface.set_fill(inside.map(|colour| fill(colour, 1.0)));
                surface.set_stroke(edge.map(|colour| stroke(colour, 1.0)));
                surface.draw_path(&path);
            }
        }
        Item::Watermark { run, colour } => {
            let (cx, cy) = (PAGE_WIDTH / 2.0, PAGE_HEIGHT / 2.0);
            // Bottom-left to top-right, along the page's diagonal.
            let angle = -(PAGE_HEIGHT / PAGE_WIDTH).atan().to_degrees();
            surface.push_transform(&Transform::from_rotate_at(angle, cx, cy));
            surface.set_stroke(None);
            surface.set_fill(Some(fill(*colour, 0.12)));
            let baseline = cy + run.style.size * 0.35;
            draw_run(surface, cx - run.width() / 2.0, baseline, run, true);
            surface.pop();
        }
        Item::Link { .. } => {}
    }
}
