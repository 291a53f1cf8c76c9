//! How long rendering one invoice's or one quote's PDF takes, and how large the PDF is.
//!
//! ```sh
//! cargo bench -p tickler-documents --bench invoice_pdf
//! ```
//!
//! Renders BENCH_INVOICES documents (default 200) of each kind, one after the other on one
//! thread: the one-page sample invoice in English, Greek and Japanese (4 lines, 2 tax rates),
//! the English one with 60 lines (3 pages), and the same for the renewal quote (its accept and
//! decline links clickable). Reports the mean, median and 95th percentile of the time per
//! document and the PDF's size. The very first render also parses the bundled fonts (once per
//! process); it is reported on its own and is not among the samples.
//!
//! Run as a test (`cargo test --all-targets`, without cargo bench's `--bench` argument) it
//! makes a smoke run of 5 documents per kind.

use std::time::{Duration, Instant};

use tickler_core::language::Language;
use tickler_documents::{
    DocumentError, render_invoice_pdf, render_quote_pdf,
    sample::{invoice, quote, quote_with_lines, with_lines},
};

/// One kind of document, ready to render again and again.
type Render = Box<dyn Fn() -> Result<Vec<u8>, DocumentError>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench = std::env::args().any(|a| a == "--bench");
    let count: usize = if bench {
        match std::env::var("BENCH_INVOICES") {
            Ok(text) => text.parse()?,
            Err(_) => 200,
        }
    } else {
        println!("invoice_pdf: smoke run (cargo bench runs the full benchmark)");
        5
    };
    println!(
        "INFO machine nproc={} loadavg_at_start=\"{}\" documents_per_kind={count}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
    );

    let started = Instant::now();
    let first = render_invoice_pdf(&invoice(Language::En))?;
    println!(
        "RESULT first_render_ms={:.2} bytes={} (includes parsing the fonts)",
        ms(started.elapsed()),
        first.len()
    );

    let invoice_kind = |name: String, doc| -> (String, Render) {
        (name, Box::new(move || render_invoice_pdf(&doc)))
    };
    let quote_kind = |name: String, doc| -> (String, Render) {
        (name, Box::new(move || render_quote_pdf(&doc)))
    };
    let mut kinds = Vec::new();
    for language in Language::ALL {
        let code = language.code();
        kinds.push(invoice_kind(format!("{code}_1_page"), invoice(language)));
        kinds.push(quote_kind(format!("quote_{code}_1_page"), quote(language)));
    }
    let sixty = with_lines(invoice(Language::En), 60);
    kinds.push(invoice_kind("en_60_lines".into(), sixty));
    let sixty = quote_with_lines(quote(Language::En), 60);
    kinds.push(quote_kind("quote_en_60_lines".into(), sixty));
    for (name, render) in &kinds {
        let mut samples = Vec::with_capacity(count);
        let mut bytes = 0;
        for _ in 0..count {
            let started = Instant::now();
            let pdf = render()?;
            samples.push(ms(started.elapsed()));
            bytes = pdf.len();
        }
        samples.sort_by(f64::total_cmp);
        let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
        println!(
            "RESULT kind={name} documents={count} mean_ms={mean:.2} median_ms={:.2} p95_ms={:.2} \
             max_ms={:.2} bytes_per_pdf={bytes}",
            percentile(&samples, 0.50),
            percentile(&samples, 0.95),
            samples.last().copied().unwrap_or(0.0),
        );
    }
    println!("INFO loadavg_at_end=\"{}\"", loadavg());
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}
