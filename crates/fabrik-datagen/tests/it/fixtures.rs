//! Shared fixtures: small configs, generated directories (made once per test run) and readers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use fabrik_datagen::{DirtyConfig, Format, GenerateReport, PlantConfig, generate};
use fabrik_model::Table;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use sha2::{Digest, Sha256};

/// Two days of a tiny plant (1 line, 2 stations, 20-second sampling), many faults.
pub fn tiny_clean() -> PlantConfig {
    PlantConfig {
        days: 2,
        fault_rate: 1.0,
        sample_period_ms: 20_000,
        ..PlantConfig::tiny(7)
    }
}

/// The same with every defect kind at 4 per thousand rows.
pub fn dirty_rates() -> DirtyConfig {
    DirtyConfig {
        malformed: 0.004,
        invalid: 0.004,
        duplicates: 0.004,
        out_of_order: 0.004,
        late: 0.004,
    }
}

/// [`tiny_clean`] in dirty mode.
pub fn tiny_dirty() -> PlantConfig {
    PlantConfig {
        dirty: Some(dirty_rates()),
        ..tiny_clean()
    }
}

/// A generated directory and its report.
pub struct Run {
    pub dir: PathBuf,
    pub report: GenerateReport,
}

fn run_into(name: &str, config: &PlantConfig) -> Run {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fabrik-datagen-it")
        .join(name);
    let report = generate(config, &dir, &Format::ALL, &mut |_| {}).expect("generate");
    Run { dir, report }
}

/// [`tiny_clean`] generated in all formats (once per test binary run).
pub fn clean_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| run_into("clean", &tiny_clean()))
}

/// [`tiny_dirty`] generated in all formats (once per test binary run).
pub fn dirty_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| run_into("dirty", &tiny_dirty()))
}

/// The files of a table in one format, sorted by name.
pub fn files(dir: &Path, format: Format, table: Table) -> Vec<PathBuf> {
    let d = dir.join(format.dir_name()).join(table.name());
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    v.sort();
    v
}

/// A Parquet file's batches (concatenated) and metadata.
pub fn read_parquet(path: &Path) -> (RecordBatch, std::sync::Arc<ParquetMetaData>) {
    let file = File::open(path).expect("open parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet reader");
    let meta = builder.metadata().clone();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder
        .build()
        .expect("build")
        .map(|b| b.expect("batch"))
        .collect();
    (concat_batches(&schema, &batches).expect("concat"), meta)
}

/// A CSV file read with the table's schema.
pub fn read_csv(path: &Path, table: Table) -> Result<RecordBatch, arrow::error::ArrowError> {
    let file = File::open(path).expect("open csv");
    let schema = table.schema();
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(BufReader::new(file))?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    concat_batches(&schema, &batches)
}

/// CSV text (with header) parsed with the table's schema.
pub fn parse_csv_text(text: &str, table: Table) -> Result<RecordBatch, arrow::error::ArrowError> {
    let schema = table.schema();
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(text.as_bytes())?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    concat_batches(&schema, &batches)
}

/// NDJSON text parsed with the table's schema (strict: unknown keys are errors).
pub fn parse_ndjson_text(
    text: &str,
    table: Table,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let schema = table.schema();
    let reader = arrow::json::ReaderBuilder::new(schema.clone())
        .with_strict_mode(true)
        .build(text.as_bytes())?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    concat_batches(&schema, &batches)
}

/// SHA-256 of every file under `dir`, by relative path.
pub fn hash_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let bytes = std::fs::read(&p).expect("read file");
                let digest = Sha256::digest(&bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                let rel = p
                    .strip_prefix(base)
                    .expect("relative")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, hex);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Splits one CSV line into fields (RFC 4180 quotes).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A ground-truth CSV as maps from column to value.
pub fn read_ground_truth(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("ground truth");
    let mut lines = text.lines();
    let header = csv_fields(lines.next().expect("header"));
    lines
        .map(|l| header.iter().cloned().zip(csv_fields(l)).collect())
        .collect()
}
