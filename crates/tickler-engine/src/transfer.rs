//! `export all` and `import all`: a whole installation as one CSV file per table and a
//! manifest, to move it between SQLite and PostgreSQL (or to another machine). Unlike
//! `export contracts`, the files are a machine format: every column of every table as
//! stored, NULL told from the empty text ([`tickler_core::dump_cell`]), no spreadsheet
//! escaping, ids kept, so that the import is the same installation row for row.
//!
//! An import goes into a database of the same schema version that holds nothing but what
//! Tickler writes at start-up, checks every file against the manifest (checksum, row count,
//! header) and every cell against its column before writing, and writes all rows in one
//! transaction: all or nothing.

use std::{
    fmt,
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tickler_core::{
    dump_cell::{decode_cell, encode_cell},
    event::{EventAction, EventSubject},
};
use tickler_store::{
    Backend, Db, StoreError,
    dump::{self, ColumnKind, RowWriter, Table, Value},
    events,
};

use crate::{Actor, Engine, EngineError};

/// What the manifest's `format` says, so that another folder of JSON and CSV files is not
/// taken for an export.
pub const FORMAT: &str = "tickler-export";
/// The layout of the files; a reader refuses versions it does not know.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's file name, written last: a folder without it is an unfinished export.
pub const MANIFEST: &str = "manifest.json";

/// Bad cells listed before the rest are only counted: a wholly wrong file would otherwise
/// print a line per cell.
const PROBLEMS_LISTED: usize = 100;

/// The description of an export: where it came from, and each table's file, in the order
/// an import writes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub tickler_version: String,
    /// The highest migration applied to the database exported.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub exported_at: Timestamp,
    pub tables: Vec<ManifestTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestTable {
    pub name: String,
    pub file: String,
    pub columns: Vec<String>,
    pub rows: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

impl Manifest {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// A cell the target database cannot take.
#[derive(Debug, Clone)]
pub struct CellProblem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// Why an export or an import did not happen; an import that fails wrote nothing.
#[derive(Debug)]
pub enum TransferError {
    /// The folder or the database cannot take part as asked; the text says why and what to do.
    Refused(String),
    /// Cells the database cannot take, each listed (up to a hundred; `unlisted` more).
    Cells {
        problems: Vec<CellProblem>,
        unlisted: u64,
    },
    Io {
        path: PathBuf,
        message: String,
    },
    Engine(EngineError),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Refused(why) => f.write_str(why),
            TransferError::Cells { problems, unlisted } => {
                for p in problems {
                    writeln!(
                        f,
                        "{} line {}, column {}: {}",
                        p.file, p.line, p.column, p.message
                    )?;
                }
                if *unlisted > 0 {
                    writeln!(f, "... and {unlisted} more bad cells")?;
                }
                write!(
                    f,
                    "{} bad cells: nothing was imported",
                    problems.len() as u64 + unlisted
                )
            }
            TransferError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            TransferError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TransferError {}

impl From<EngineError> for TransferError {
    fn from(e: EngineError) -> Self {
        TransferError::Engine(e)
    }
}

impl From<StoreError> for TransferError {
    fn from(e: StoreError) -> Self {
        TransferError::Engine(e.into())
    }
}

fn io_error(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> TransferError {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| TransferError::Io {
        path,
        message: format!("cannot {what}: {e}"),
    }
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> TransferError {
    let path = path.to_path_buf();
    move |e| TransferError::Io {
        path: path.clone(),
        message: e.to_string(),
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Passes bytes through while hashing them: a file's checksum is computed as it is written
/// or read, not by reading it again.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
        }
    }

    fn hex(self) -> String {
        self.hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

impl Engine {
    /// Writes every table into `dir` (created when missing; refused when it holds
    /// anything), as of one moment even while the service runs, then the manifest.
    pub async fn export_all(
        &self,
        dir: &Path,
        tickler_version: &str,
    ) -> Result<Manifest, TransferError> {
        ready_empty_folder(dir)?;
        let mut snapshot = dump::begin_snapshot(&self.store).await?;
        let schema_version = dump::schema_version(&mut snapshot).await?;
        let tables = dump::tables(&mut snapshot).await?;
        let exported_at = self.clock.now();
        let mut written = Vec::with_capacity(tables.len());
        for table in &tables {
            written.push(export_table(&mut snapshot, table, dir).await?);
        }
        // Read only: nothing to commit.
        drop(snapshot);
        let manifest = Manifest {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tickler_version: tickler_version.to_string(),
            schema_version,
            backend: backend_name(self.store.backend()).to_string(),
            exported_at,
            tables: written,
        };
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| EngineError::Internal(format!("cannot write the manifest: {e}")))?;
        std::fs::write(&path, text + "\n").map_err(io_error(&path, "write"))?;
        Ok(manifest)
    }

    /// Imports an export written by [`export_all`](Self::export_all) into this database,
    /// which must be of the same schema version and hold no data. Everything is checked
    /// before anything is written, and all rows go in one transaction.
    pub async fn import_all(
        &self,
        dir: &Path,
        tickler_version: &str,
        actor: &Actor,
    ) -> Result<Manifest, TransferError> {
        let manifest = read_manifest(dir)?;
        let mut db = self.store.conn().await?;
        let plan = plan_import(&mut db, &manifest, tickler_version).await?;
        refuse_if_in_use(&mut db, &plan.tables).await?;
        drop(db);

        check_files(dir, &plan)?;

        let mut tx = self.store.begin_bulk().await?;
        // Again inside the transaction, which holds SQLite's write lock: nothing came in
        // since the first look.
        refuse_if_in_use(&mut tx, &plan.tables).await?;
        let contracts = plan
            .files
            .iter()
            .find(|f| f.entry.name == "contracts")
            .map_or(0, |f| f.entry.rows);
        let bulk = tickler_store::prepare_bulk_write(&mut tx, contracts).await?;
        dump::clear(&mut tx, &plan.tables).await?;
        for file in &plan.files {
            write_file(&mut tx, dir, file).await?;
        }
        tickler_store::finish_bulk_write(&mut tx, bulk).await?;
        dump::reset_sequences(&mut tx).await?;
        events::record(
            &mut tx,
            self.clock.now(),
            &actor.0,
            EventSubject::Settings,
            EventAction::Imported,
            &format!(
                "{} rows in {} tables exported from {} at {} by Tickler {}",
                manifest.total_rows(),
                manifest.tables.len(),
                manifest.backend,
                manifest.exported_at,
                manifest.tickler_version
            ),
        )
        .await?;
        self.commit_schedule_change(tx).await?;

        // The settings and the link secret were replaced with the export's.
        if let Ok(mut cache) = self.link_secret_cache.write() {
            *cache = None;
        }
        self.load_settings().await?;
        if let Err(e) = self.store.checkpoint().await {
            tracing::warn!(error = %e, "could not checkpoint the database after the import");
        }
        if let Err(e) = self.store.refresh_statistics().await {
            tracing::warn!(error = %e, "could not refresh the statistics after the import");
        }
        Ok(manifest)
    }
}

/// Creates `dir` when missing; refuses one that holds anything, so that an export never
/// mixes with older files.
fn ready_empty_folder(dir: &Path) -> Result<(), TransferError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir, "create the folder"))?;
    let mut entries = std::fs::read_dir(dir).map_err(io_error(dir, "read the folder"))?;
    if entries.next().is_some() {
        return Err(TransferError::Refused(format!(
            "{} is not empty: export into a new or empty folder",
            dir.display()
        )));
    }
    Ok(())
}

async fn export_table(
    db: &mut Db,
    table: &Table,
    dir: &Path,
) -> Result<ManifestTable, TransferError> {
    let file = format!("{}.csv", table.name);
    let path = dir.join(&file);
    let created = File::create(&path).map_err(io_error(&path, "create"))?;
    let mut out = csv::Writer::from_writer(Hashing::new(BufWriter::new(created)));
    let to_error = csv_error(&path);
    out.write_record(table.columns.iter().map(|c| c.name.as_str()))
        .map_err(&to_error)?;
    let rows = dump::read_rows(db, table, |values| {
        for value in values {
            out.write_field(encode_cell(value.as_deref()).as_bytes())
                .map_err(&to_error)?;
        }
        out.write_record(std::iter::empty::<&[u8]>())
            .map_err(&to_error)
    })
    .await?;
    let mut hashing = out
        .into_inner()
        .map_err(|e| io_error(&path, "write")(e.into_error()))?;
    hashing.flush().map_err(io_error(&path, "write"))?;
    Ok(ManifestTable {
        name: table.name.clone(),
        file,
        columns: table.columns.iter().map(|c| c.name.clone()).collect(),
        rows,
        sha256: hashing.hex(),
    })
}

fn read_manifest(dir: &Path) -> Result<Manifest, TransferError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| TransferError::Io {
        path: path.clone(),
        message: format!(
            "cannot read ({e}): a folder written by `tickler export all` has one; without it \
             the export is unfinished"
        ),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| TransferError::Io {
        path: path.clone(),
        message: format!("is not a manifest of `tickler export all`: {e}"),
    })?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(TransferError::Refused(format!(
            "{} is of format {} version {}; this Tickler reads {FORMAT} version \
             {FORMAT_VERSION}: nothing was imported",
            path.display(),
            manifest.format,
            manifest.format_version
        )));
    }
    Ok(manifest)
}

/// One file to import: its manifest entry, and the kind and nullability of each of its
/// columns in the target, in the file's order.
struct ImportFile {
    entry: ManifestTable,
    kinds: Vec<(ColumnKind, bool)>,
}

struct ImportPlan {
    /// The target's tables, in reference order.
    tables: Vec<Table>,
    /// The manifest's files, in its order.
    files: Vec<ImportFile>,
}

/// Matches the manifest with the target's schema: the same version, the same tables and
/// columns, and file names that stay inside the folder.
async fn plan_import(
    db: &mut Db,
    manifest: &Manifest,
    tickler_version: &str,
) -> Result<ImportPlan, TransferError> {
    let version = dump::schema_version(db).await?;
    if version != manifest.schema_version {
        return Err(TransferError::Refused(version_mismatch(
            manifest,
            version,
            tickler_version,
        )));
    }
    let tables = dump::tables(db).await?;
    let mut files = Vec::with_capacity(manifest.tables.len());
    for entry in &manifest.tables {
        let Some(table) = tables.iter().find(|t| t.name == entry.name) else {
            return Err(TransferError::Refused(format!(
                "the manifest lists a table {} that this database does not have, although \
                 both are at schema version {version}: nothing was imported",
                entry.name
            )));
        };
        if Path::new(&entry.file).file_name() != Some(entry.file.as_ref()) {
            return Err(TransferError::Refused(format!(
                "the manifest names the file {:?} for {}: files must be in the export's \
                 folder; nothing was imported",
                entry.file, entry.name
            )));
        }
        let mut kinds = Vec::with_capacity(entry.columns.len());
        for name in &entry.columns {
            let Some(column) = table.column(name) else {
                return Err(TransferError::Refused(format!(
                    "{} has a column {name} that the table {} of this database does not \
                     have: nothing was imported",
                    entry.file, entry.name
                )));
            };
            kinds.push((column.kind, column.nullable));
        }
        if let Some(missing) = table
            .columns
            .iter()
            .find(|c| !entry.columns.contains(&c.name))
        {
            return Err(TransferError::Refused(format!(
                "{} lacks the column {} of the table {}: nothing was imported",
                entry.file, missing.name, entry.name
            )));
        }
        files.push(ImportFile {
            entry: entry.clone(),
            kinds,
        });
    }
    if let Some(missing) = tables
        .iter()
        .find(|t| !manifest.tables.iter().any(|e| e.name == t.name))
    {
        return Err(TransferError::Refused(format!(
            "the manifest has no file for the table {}: nothing was imported",
            missing.name
        )));
    }
    Ok(ImportPlan { tables, files })
}

/// What to do when the export's schema and the database's differ: migrations only go
/// forward, so the older side must be brought up to the newer one.
fn version_mismatch(manifest: &Manifest, version: i64, tickler_version: &str) -> String {
    let said = format!(
        "the export is of schema version {} (Tickler {}) and this database is at version \
         {version} (Tickler {tickler_version}): nothing was imported.",
        manifest.schema_version, manifest.tickler_version
    );
    if manifest.schema_version < version {
        format!(
            "{said} Upgrade the installation the export came from to Tickler \
             {tickler_version} (`tickler migrate` with this version) and export it again."
        )
    } else {
        format!(
            "{said} Import it with Tickler {} or the version that made it, which migrates the \
             database to version {} first, or upgrade this one.",
            manifest.tickler_version, manifest.schema_version
        )
    }
}

async fn refuse_if_in_use(db: &mut Db, tables: &[Table]) -> Result<(), TransferError> {
    let in_use = dump::tables_in_use(db, tables).await?;
    if in_use.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = in_use
        .iter()
        .map(|(table, rows)| format!("{table} ({rows} rows)"))
        .collect();
    Err(TransferError::Refused(format!(
        "this database is in use: {}. Import into a new, empty database (one that only \
         `tickler migrate` has run on); nothing was imported",
        listed.join(", ")
    )))
}

fn open_csv(path: &Path) -> Result<csv::Reader<Hashing<BufReader<File>>>, TransferError> {
    let file = File::open(path).map_err(io_error(path, "read"))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(Hashing::new(BufReader::new(file))))
}

/// The line a record starts on, as an editor counts them (the header is line 1).
fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// The typed value of one cell, or why the column cannot take it.
fn value_of(cell: &str, kind: ColumnKind, nullable: bool) -> Result<Value, String> {
    let text = decode_cell(cell)?;
    if text.is_none() && !nullable {
        return Err("NULL (\\N) where the column needs a value".to_string());
    }
    match kind {
        ColumnKind::Text => Ok(Value::Text(text.map(str::to_string))),
        ColumnKind::Integer => match text {
            None => Ok(Value::Integer(None)),
            Some(text) => text
                .parse::<i64>()
                .map(|n| Value::Integer(Some(n)))
                .map_err(|_| format!("{text:?} is not an integer")),
        },
    }
}

/// Pass 1: every file against the manifest (checksum, rows, header) and every cell against
/// its column, writing nothing.
fn check_files(dir: &Path, plan: &ImportPlan) -> Result<(), TransferError> {
    let mut problems = Vec::new();
    let mut unlisted = 0u64;
    for file in &plan.files {
        let entry = &file.entry;
        let path = dir.join(&entry.file);
        let mut reader = open_csv(&path)?;
        let to_error = csv_error(&path);
        let header = reader.headers().map_err(&to_error)?.clone();
        if !header.iter().eq(entry.columns.iter().map(String::as_str)) {
            return Err(TransferError::Refused(format!(
                "{}: the header is not the columns the manifest lists ({}): nothing was \
                 imported",
                entry.file,
                entry.columns.join(",")
            )));
        }
        let mut record = csv::StringRecord::new();
        let mut rows = 0u64;
        while reader.read_record(&mut record).map_err(&to_error)? {
            rows += 1;
            for (cell, (name, (kind, nullable))) in
                record.iter().zip(entry.columns.iter().zip(&file.kinds))
            {
                if let Err(message) = value_of(cell, *kind, *nullable) {
                    if problems.len() < PROBLEMS_LISTED {
                        problems.push(CellProblem {
                            file: entry.file.clone(),
                            line: line_of(&record),
                            column: name.clone(),
                            message,
                        });
                    } else {
                        unlisted += 1;
                    }
                }
            }
        }
        let sha256 = reader.into_inner().hex();
        if sha256 != entry.sha256 {
            return Err(TransferError::Refused(format!(
                "{}: the file is not the one exported (its SHA-256 is {sha256}, the manifest \
                 says {}): it was changed or damaged since; nothing was imported",
                entry.file, entry.sha256
            )));
        }
        if rows != entry.rows {
            return Err(TransferError::Refused(format!(
                "{}: {rows} rows where the manifest says {}: nothing was imported",
                entry.file, entry.rows
            )));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TransferError::Cells { problems, unlisted })
    }
}

/// Pass 2: one file's rows into its table, inside the import's transaction. The file is
/// hashed again as it is read: one changed since pass 1 fails the import.
async fn write_file(db: &mut Db, dir: &Path, file: &ImportFile) -> Result<(), TransferError> {
    let entry = &file.entry;
    let path = dir.join(&entry.file);
    let mut reader = open_csv(&path)?;
    let to_error = csv_error(&path);
    reader.headers().map_err(&to_error)?;
    let mut writer = RowWriter::new(&entry.name, &entry.columns);
    let mut record = csv::StringRecord::new();
    // The lines of the rows not yet written: where a row the database refuses is.
    let mut first_pending_line = None;
    while reader.read_record(&mut record).map_err(&to_error)? {
        let line = line_of(&record);
        let mut row = Vec::with_capacity(file.kinds.len());
        for (i, (kind, nullable)) in file.kinds.iter().enumerate() {
            let cell = record.get(i).unwrap_or_default();
            row.push(value_of(cell, *kind, *nullable).map_err(|message| {
                TransferError::Refused(format!(
                    "{} line {line}, column {}: {message} (the file changed during the \
                     import): nothing was imported",
                    entry.file, entry.columns[i]
                ))
            })?);
        }
        let first = *first_pending_line.get_or_insert(line);
        let flushed = writer
            .push(db, row)
            .await
            .map_err(|e| refused_rows(entry, first, line, e))?;
        if flushed {
            first_pending_line = None;
        }
    }
    let last = line_of(&record);
    writer
        .finish(db)
        .await
        .map_err(|e| refused_rows(entry, first_pending_line.unwrap_or(last), last, e))?;
    if reader.into_inner().hex() != entry.sha256 {
        return Err(TransferError::Refused(format!(
            "{} changed during the import: nothing was imported",
            entry.file
        )));
    }
    Ok(())
}

fn refused_rows(entry: &ManifestTable, first: u64, last: u64, e: StoreError) -> TransferError {
    if e.is_transient() {
        return e.into();
    }
    TransferError::Refused(format!(
        "{} lines {first} to {last}: the database refused a row among them: {e}; nothing \
         was imported",
        entry.file
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_by_their_column() {
        assert_eq!(
            value_of("42", ColumnKind::Integer, false),
            Ok(Value::Integer(Some(42)))
        );
        assert_eq!(
            value_of("\\N", ColumnKind::Integer, true),
            Ok(Value::Integer(None))
        );
        assert_eq!(
            value_of("", ColumnKind::Text, false),
            Ok(Value::Text(Some(String::new())))
        );
        assert_eq!(
            value_of("2027-02-30", ColumnKind::Integer, false),
            Err("\"2027-02-30\" is not an integer".to_string())
        );
        assert!(value_of("\\N", ColumnKind::Text, false).is_err());
    }
}
