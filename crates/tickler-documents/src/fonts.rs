//! The invoice font, Tickler Invoice Gothic (fonts/README.md): bundled so that a fresh machine
//! renders invoices without any system font, and parsed once per process.

use std::sync::LazyLock;

use skrifa::{
    FontRef, MetadataProvider,
    charmap::Charmap,
    instance::{LocationRef, Size},
    metrics::GlyphMetrics,
    raw::TableProvider,
};

static REGULAR: &[u8] = include_bytes!("../fonts/TicklerInvoiceGothic-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/TicklerInvoiceGothic-Bold.ttf");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// One weight of the font: what layout needs (which glyph a character has, how wide it is)
/// and what krilla embeds, read from the same bytes so that both agree.
pub(crate) struct Face {
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
    pub(crate) pdf: krilla::text::Font,
}

impl Face {
    fn load(bytes: &'static [u8], name: &str) -> Face {
        // The bytes are compiled in and checked by the unit tests, so failing here is a
        // build mistake, not something a user's data can cause.
        let font = FontRef::new(bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        let units_per_em = font
            .head()
            .map(|head| f32::from(head.units_per_em()))
            .unwrap_or_else(|err| panic!("{name}: no head table: {err}"));
        Face {
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            pdf: krilla::text::Font::new(bytes.into(), 0)
                .unwrap_or_else(|| panic!("{name}: krilla cannot read the font")),
        }
    }

    /// The glyph for `ch` and its advance in ems, or None where the font has none.
    pub(crate) fn glyph(&self, ch: char) -> Option<(u32, f32)> {
        let id = self.charmap.map(ch)?;
        // Glyph 0 is .notdef, the box a viewer draws for a missing character.
        if id.to_u32() == 0 {
            return None;
        }
        let advance = self.metrics.advance_width(id).unwrap_or(0.0);
        Some((id.to_u32(), advance / self.units_per_em))
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

static FACES: LazyLock<Faces> = LazyLock::new(|| Faces {
    regular: Face::load(REGULAR, "TicklerInvoiceGothic-Regular.ttf"),
    bold: Face::load(BOLD, "TicklerInvoiceGothic-Bold.ttf"),
});

pub(crate) fn face(weight: Weight) -> &'static Face {
    match weight {
        Weight::Regular => &FACES.regular,
        Weight::Bold => &FACES.bold,
    }
}

/// Whether both weights can draw `ch`: a text the invoice shows in either weight must pass.
pub fn has_glyph(ch: char) -> bool {
    face(Weight::Regular).glyph(ch).is_some() && face(Weight::Bold).glyph(ch).is_some()
}
