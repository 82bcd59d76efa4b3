//! [`generate`]: the plant written to disk, with progress and a report; and the in-memory
//! telemetry helpers [`sensor_readings`] and [`write_parquet`] used by benchmarks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use fabrik_model::Table;

use crate::calendar::{date_text, day_of};
use crate::config::PlantConfig;
use crate::defects::{DefectKind, Dirtied, TruthRow, inject};
use crate::error::{Error, Result, io_at};
use crate::format::Format;
use crate::output::{MultiWriter, parquet_properties, timestamp_text, write_csv_rows};
use crate::plant::Plant;
use crate::streams::{Purpose, stream};

/// Where generation is: sent after every file (and every telemetry batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The table being written.
    pub table: Table,
    /// Rows of that table written so far (per format).
    pub rows: u64,
    /// Rows it will have (for `sensor_readings` an upper bound: readings without gaps).
    pub total_rows: u64,
    /// Files of that table finished so far (per format).
    pub files: usize,
}

/// What was written for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: Table,
    /// Data rows per format (the same in every format).
    pub rows: u64,
    /// Every file written, all formats.
    pub files: Vec<PathBuf>,
    /// Total size of those files.
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateReport {
    /// One entry per table, in the order of `Table::ALL`.
    pub tables: Vec<TableReport>,
    /// Developing faults recorded in `ground_truth/faults.csv`.
    pub faults: usize,
    /// Defects injected per kind, counted once per row (not per format); malformed rows
    /// only when a text format was written.
    pub dirty: BTreeMap<DefectKind, u64>,
    /// The ground-truth files.
    pub ground_truth: Vec<PathBuf>,
    /// Wall-clock time of the whole generation.
    pub elapsed: Duration,
}

impl GenerateReport {
    /// The report of one table.
    pub fn table(&self, table: Table) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.table == table)
    }

    /// Rows written over all tables (per format).
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Bytes written over all tables and formats.
    pub fn total_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

/// The tables dirty mode touches.
const DIRTY_TABLES: [Table; 5] = [
    Table::SensorReadings,
    Table::MachineStates,
    Table::ProductionCounts,
    Table::Orders,
    Table::Deliveries,
];

fn table_index(t: Table) -> u64 {
    Table::ALL.iter().position(|&x| x == t).unwrap_or(0) as u64
}

/// A ground-truth defect row, located in a file.
struct Located {
    table: Table,
    stem: String,
    row: usize,
    truth: TruthRow,
}

struct Run<'a> {
    out: &'a Path,
    formats: Vec<Format>,
    reports: Vec<TableReport>,
    truth: Vec<Located>,
}

impl Run<'_> {
    fn record(&mut self, table: Table, rows: u64, written: Vec<(Format, PathBuf, u64)>) {
        let r = match self.reports.iter_mut().find(|r| r.table == table) {
            Some(r) => r,
            None => {
                self.reports.push(TableReport {
                    table,
                    rows: 0,
                    files: Vec::new(),
                    bytes: 0,
                });
                let last = self.reports.len() - 1;
                &mut self.reports[last]
            }
        };
        r.rows += rows;
        for (_, path, bytes) in written {
            r.files.push(path);
            r.bytes += bytes;
        }
    }

    /// Writes one file (in every format) from its chunks.
    fn write_file(&mut self, table: Table, stem: &str, chunks: Vec<Dirtied>) -> Result<u64> {
        let sorted = !chunks.iter().any(|c| c.out_of_order);
        let mut w = MultiWriter::create(self.out, &self.formats, table, stem, sorted)?;
        let mut offset = 0usize;
        for c in chunks {
            w.write(&c.batch, &c.overrides)?;
            for t in c.truth {
                self.truth.push(Located {
                    table,
                    stem: stem.to_string(),
                    row: offset + t.row,
                    truth: t,
                });
            }
            offset += c.batch.num_rows();
        }
        let written = w.finish()?;
        self.record(table, offset as u64, written);
        Ok(offset as u64)
    }
}

/// Generates the plant of `config` into `out` in every format of `formats`.
///
/// Layout: `<out>/<format>/<table>/<table>-<NNNN>.<ext>` (tables split every
/// `max_rows_per_file` rows) and `<out>/<format>/sensor_readings/sensor_readings-<YYYY-MM-DD>.<ext>`
/// (one file per UTC day), plus `<out>/ground_truth/` (`faults.csv`, `sensor_anomalies.csv`,
/// `lots.csv`, `plants.csv` and `dirty.csv`, see the crate docs). The directories of the
/// tables and formats written, and `ground_truth/`, are removed first, so re-running into the
/// same directory replaces what was there; other content of `out` is left alone.
///
/// `progress` is called after every file and telemetry batch; pass `&mut |_| {}` to stay silent.
pub fn generate(
    config: &PlantConfig,
    out: &Path,
    formats: &[Format],
    progress: &mut dyn FnMut(&Progress),
) -> Result<GenerateReport> {
    let started = Instant::now();
    config.validate()?;
    let mut formats: Vec<Format> = formats.to_vec();
    formats.sort_unstable();
    formats.dedup();
    if formats.is_empty() {
        return Err(Error::NoFormats);
    }
    for f in &formats {
        for t in Table::ALL {
            let dir = out.join(f.dir_name()).join(t.name());
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io_at(&dir))?;
            }
        }
    }
    let gt = out.join("ground_truth");
    if gt.exists() {
        std::fs::remove_dir_all(&gt).map_err(io_at(&gt))?;
    }
    std::fs::create_dir_all(&gt).map_err(io_at(&gt))?;

    let plant = Plant::new(config)?;
    let mut run = Run {
        out,
        formats,
        reports: Vec::new(),
        truth: Vec::new(),
    };

    // the tables held in memory, split into files of max_rows_per_file rows
    for table in [
        Table::Suppliers,
        Table::Bom,
        Table::Orders,
        Table::Deliveries,
        Table::Inventory,
        Table::MachineStates,
        Table::ProductionCounts,
    ] {
        let total = plant.rows(table) as usize;
        let per_file = config.max_rows_per_file;
        let n_files = total.div_ceil(per_file).max(1);
        let mut rows = 0u64;
        for f in 0..n_files {
            let range = f * per_file..((f + 1) * per_file).min(total);
            let batch = plant.batch(table, range)?;
            let chunk = match &config.dirty {
                Some(d) if DIRTY_TABLES.contains(&table) => {
                    let mut rng = stream(config.seed, Purpose::Dirty, table_index(table), f as u64);
                    inject(table, &batch, None, d, false, &mut rng)?
                }
                _ => Dirtied::clean(batch),
            };
            rows += run.write_file(table, &format!("{}-{f:04}", table.name()), vec![chunk])?;
            progress(&Progress {
                table,
                rows,
                total_rows: total as u64,
                files: f + 1,
            });
        }
    }

    // telemetry, one file per UTC day
    let table = Table::SensorReadings;
    let total = plant.rows(table);
    let chunks = plant.sensor_chunks();
    let mut carry: Vec<Option<RecordBatch>> = vec![None; chunks.len()];
    let mut anomalies = Vec::new();
    let mut rows = 0u64;
    let first_day = day_of(config.start_us());
    for day in 0..config.days {
        let stem = format!("{}-{}", table.name(), date_text(first_day + i64::from(day)));
        match &config.dirty {
            Some(d) => {
                // dirty: inject every batch of the day first, to know whether the file stays sorted
                let mut dirtied = Vec::with_capacity(chunks.len());
                for (g, sensors) in chunks.iter().enumerate() {
                    let (batch, mut a) = plant.sensor_chunk(sensors.clone(), day)?;
                    anomalies.append(&mut a);
                    let mut rng = stream(
                        config.seed,
                        Purpose::Dirty,
                        table_index(table),
                        (u64::from(day) << 20) | g as u64,
                    );
                    let carried = carry[g].take();
                    let x = inject(
                        table,
                        &batch,
                        carried.as_ref(),
                        d,
                        day + 1 < config.days,
                        &mut rng,
                    )?;
                    carry[g] = x.carry.clone();
                    dirtied.push(x);
                }
                rows += run.write_file(table, &stem, dirtied)?;
                progress(&Progress {
                    table,
                    rows,
                    total_rows: total,
                    files: day as usize + 1,
                });
            }
            None => {
                let mut w = MultiWriter::create(out, &run.formats, table, &stem, true)?;
                let mut file_rows = 0u64;
                for sensors in &chunks {
                    let (batch, mut a) = plant.sensor_chunk(sensors.clone(), day)?;
                    anomalies.append(&mut a);
                    w.write(&batch, &[])?;
                    file_rows += batch.num_rows() as u64;
                    progress(&Progress {
                        table,
                        rows: rows + file_rows,
                        total_rows: total,
                        files: day as usize,
                    });
                }
                rows += file_rows;
                let written = w.finish()?;
                run.record(table, file_rows, written);
                progress(&Progress {
                    table,
                    rows,
                    total_rows: total,
                    files: day as usize + 1,
                });
            }
        }
    }

    // ground truth
    let topo = plant.topology();
    let mut ground_truth = Vec::new();
    let faults = plant.faults();
    let path = gt.join("faults.csv");
    write_csv_rows(
        &path,
        &[
            "machine_id",
            "sensor_id",
            "metric",
            "onset_ts",
            "breakdown_ts",
            "down_reason",
        ],
        faults.iter().map(|f| {
            vec![
                f.machine_id.clone(),
                f.sensor_id.clone(),
                f.metric.to_string(),
                timestamp_text(f.onset.timestamp_micros()),
                timestamp_text(f.breakdown.timestamp_micros()),
                f.down_reason.to_string(),
            ]
        }),
    )?;
    ground_truth.push(path);
    anomalies.sort_by(|a, b| (a.sensor, a.start_us, a.kind).cmp(&(b.sensor, b.start_us, b.kind)));
    let path = gt.join("sensor_anomalies.csv");
    write_csv_rows(
        &path,
        &["sensor_id", "kind", "start_ts", "end_ts"],
        anomalies.iter().map(|a| {
            vec![
                topo.sensors[a.sensor].id.clone(),
                a.kind.to_string(),
                timestamp_text(a.start_us),
                timestamp_text(a.end_us),
            ]
        }),
    )?;
    ground_truth.push(path);
    let path = gt.join("lots.csv");
    write_csv_rows(
        &path,
        &[
            "lot_id",
            "supplier_id",
            "part_id",
            "plant_id",
            "received_at",
            "bad",
        ],
        plant.lots().into_iter().map(|l| {
            vec![
                l.lot_id,
                l.supplier_id,
                l.part_id,
                l.plant_id,
                timestamp_text(l.received_at.timestamp_micros()),
                l.bad.to_string(),
            ]
        }),
    )?;
    ground_truth.push(path);
    let path = gt.join("plants.csv");
    write_csv_rows(
        &path,
        &["plant_id", "utc_offset_hours", "base_cycle_s"],
        topo.plants.iter().zip(plant.base_cycle_s()).map(|(p, c)| {
            vec![
                p.id.clone(),
                p.utc_offset_hours.to_string(),
                format!("{c:.1}"),
            ]
        }),
    )?;
    ground_truth.push(path);

    let mut dirty: BTreeMap<DefectKind, u64> = BTreeMap::new();
    let any_text = run.formats.iter().any(|f| f.is_text());
    for l in run.truth.iter().filter(|l| any_text || !l.truth.text_only) {
        *dirty.entry(l.truth.kind).or_default() += 1;
    }
    let path = gt.join("dirty.csv");
    let mut lines: Vec<Vec<String>> = Vec::new();
    for l in &run.truth {
        for f in &run.formats {
            if l.truth.text_only && !f.is_text() {
                continue;
            }
            let file = format!(
                "{}/{}/{}.{}",
                f.dir_name(),
                l.table.name(),
                l.stem,
                f.extension()
            );
            lines.push(vec![
                l.table.name().to_string(),
                f.extension().to_string(),
                file,
                l.row.to_string(),
                (l.row + 2).to_string(),
                (l.row + 1).to_string(),
                l.truth.kind.name().to_string(),
                l.truth.column.to_string(),
                l.truth.detail.clone(),
                l.truth.key.clone(),
            ]);
        }
    }
    write_csv_rows(
        &path,
        &[
            "table",
            "format",
            "file",
            "row",
            "line_csv",
            "line_ndjson",
            "kind",
            "column",
            "detail",
            "key",
        ],
        lines.into_iter(),
    )?;
    ground_truth.push(path);

    let mut tables = run.reports;
    tables.sort_by_key(|t| table_index(t.table));
    Ok(GenerateReport {
        tables,
        faults: faults.len(),
        dirty,
        ground_truth,
        elapsed: started.elapsed(),
    })
}

/// The first `rows` telemetry rows of `config`'s plant in (sensor_id, ts) order — every
/// day of the first sensor, then of the next, … — as batches of at most about a million
/// rows (whole sensor-days each, the last one cut).
///
/// Fails with [`Error::NotEnoughRows`] when the operations window holds fewer readings.
/// `PlantConfig::at_scale(1.0, seed)` makes about 7 million readings a day (84 sensors × 7
/// days). This builds the [`Plant`] first (orders, supply, shop floor); to time telemetry
/// alone, build it once and call [`Plant::telemetry_rows`].
pub fn sensor_readings(config: &PlantConfig, rows: usize) -> Result<Vec<RecordBatch>> {
    Plant::new(config)?.telemetry_rows(rows)
}

/// Writes batches of `table` to one Parquet file with fabrik's writer settings (zstd,
/// dictionaries, page statistics and index); `sorted` declares the table's sort order, so
/// pass it only when the rows follow it. Returns the file size in bytes.
pub fn write_parquet(
    path: &Path,
    table: Table,
    batches: &[RecordBatch],
    sorted: bool,
) -> Result<u64> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let file = std::fs::File::create(path).map_err(io_at(path))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(
        file,
        table.schema(),
        Some(parquet_properties(table, sorted)?),
    )?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(std::fs::metadata(path).map_err(io_at(path))?.len())
}
