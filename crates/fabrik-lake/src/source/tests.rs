use std::io::Write;

use datafusion::arrow::datatypes::TimestampMicrosecondType;
use fabrik_model::time::micros_from_rfc3339;

use super::*;

const SENSOR_HEADER: &str = "plant_id,line_id,machine_id,sensor_id,metric,ts,value,quality";

fn opts() -> SourceOptions {
    SourceOptions {
        validate: ValidateOptions::at(micros_from_rfc3339("2026-10-01T00:00:00Z").expect("now")),
        ..SourceOptions::default()
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut f = File::create(&path).expect("create");
    f.write_all(bytes).expect("write");
    path
}

fn read_all(table: Table, path: &Path, opts: &SourceOptions) -> Result<Vec<SourceBatch>> {
    SourceReader::open(table, path, opts)?.collect()
}

fn check_invariants(chunks: &[SourceBatch]) {
    for c in chunks {
        assert_eq!(
            c.rows_read,
            c.batch.num_rows() as u64 + c.rejected_rows(),
            "rows_read = accepted + rejected"
        );
        assert_eq!(c.rows.len(), c.batch.num_rows());
        let rejected: BTreeSet<u64> = c.rejects.iter().map(|r| r.row).collect();
        assert!(c.rows.values().iter().all(|r| !rejected.contains(r)));
    }
}

fn sensor_line(ts: &str) -> String {
    format!("P01,P01-L01,P01-L01-M01,S000001,temperature,{ts},41.5,0")
}

/// Reads one timestamp text in a sensor CSV: `Ok(µs)` or `Err(reason)`.
fn read_ts(ts: &str, time: TimeOptions) -> std::result::Result<i64, String> {
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!("{SENSOR_HEADER}\n{}\n", sensor_line(ts));
    let path = write(dir.path(), "s.csv", text.as_bytes());
    let o = SourceOptions { time, ..opts() };
    let chunks = read_all(Table::SensorReadings, &path, &o).expect("read");
    check_invariants(&chunks);
    let c = &chunks[0];
    if let Some(r) = c.rejects.first() {
        assert_eq!(c.rejects.len(), 1, "{:?}", c.rejects);
        assert_eq!(r.rule, PARSE_RULE);
        assert_eq!(r.column.as_deref(), Some("ts"));
        return Err(r.reason.clone());
    }
    let ts = c
        .batch
        .column_by_name("ts")
        .expect("ts")
        .as_primitive::<TimestampMicrosecondType>();
    Ok(ts.value(0))
}

#[test]
fn timestamps_in_every_form_land_in_utc_micros() {
    let at = |s: &str| micros_from_rfc3339(s).expect("valid");
    let d = TimeOptions::default;
    assert_eq!(
        read_ts("2026-03-02T10:00:00+02:00", d()),
        Ok(at("2026-03-02T08:00:00Z"))
    );
    assert_eq!(
        read_ts("2026-03-02T08:00:00Z", d()),
        Ok(at("2026-03-02T08:00:00Z"))
    );
    let t = at("2026-03-02T08:00:00.123456Z");
    assert_eq!(read_ts("1772438400", d()), Ok(at("2026-03-02T08:00:00Z")));
    assert_eq!(
        read_ts("1772438400123", d()),
        Ok(at("2026-03-02T08:00:00.123Z"))
    );
    assert_eq!(read_ts("1772438400123456", d()), Ok(t));
    assert_eq!(
        read_ts("1772438400123456789", d()),
        Ok(t),
        "ns truncated to µs"
    );
    let ms = TimeOptions {
        epoch_unit: Some(EpochUnit::Millis),
        ..d()
    };
    assert_eq!(read_ts("1772438400000", ms), Ok(at("2026-03-02T08:00:00Z")));
    // Naive: rejected without a zone, read in Europe/Berlin with one.
    let naive = read_ts("2026-03-02 09:00:00", d()).expect_err("naive");
    assert!(naive.contains("no UTC offset"), "{naive}");
    let berlin = TimeOptions {
        naive_tz: PlantZone::named("Europe/Berlin"),
        ..d()
    };
    assert_eq!(
        read_ts("2026-03-02 09:00:00", berlin.clone()),
        Ok(at("2026-03-02T08:00:00Z")),
        "CET is UTC+1"
    );
    assert_eq!(
        read_ts("2026-07-02T10:00:00.5", berlin.clone()),
        Ok(at("2026-07-02T08:00:00.5Z")),
        "CEST is UTC+2"
    );
    let gap = read_ts("2026-03-29 02:30:00", berlin.clone()).expect_err("DST gap");
    assert!(gap.contains("does not exist in Europe/Berlin"), "{gap}");
    assert!(gap.starts_with("ts: '2026-03-29 02:30:00'"), "{gap}");
    let overlap = read_ts("2026-10-25 02:30:00", berlin).expect_err("DST overlap");
    assert!(overlap.contains("ambiguous in Europe/Berlin"), "{overlap}");
    let fixed = TimeOptions {
        naive_tz: PlantZone::fixed_hours(8),
        ..d()
    };
    assert_eq!(
        read_ts("2026-03-02 16:00:00", fixed),
        Ok(at("2026-03-02T08:00:00Z"))
    );
    // Epochs can be switched off; nonsense stays a parse reject.
    let strict = read_ts("1772438400", TimeOptions::rfc3339_only()).expect_err("no epochs");
    assert!(strict.contains("1772438400"), "{strict}");
    let junk = read_ts("yesterday", d()).expect_err("junk");
    assert!(junk.contains("yesterday"), "{junk}");
    let huge = read_ts("99999999999999999999", d()).expect_err("overflow");
    assert!(huge.contains("out of range"), "{huge}");
}

#[test]
fn epoch_units_are_inferred_by_magnitude() {
    assert_eq!(EpochUnit::infer(1_772_438_400), EpochUnit::Seconds);
    assert_eq!(EpochUnit::infer(-1), EpochUnit::Seconds);
    assert_eq!(EpochUnit::infer(1_772_438_400_000), EpochUnit::Millis);
    assert_eq!(EpochUnit::infer(1_772_438_400_000_000), EpochUnit::Micros);
    assert_eq!(
        EpochUnit::infer(1_772_438_400_000_000_000),
        EpochUnit::Nanos
    );
    assert_eq!(EpochUnit::Seconds.to_micros(i64::MAX), None);
}

#[test]
fn formats_come_from_extensions_and_names() {
    let f = |p: &str| SourceFormat::from_path(Path::new(p));
    assert_eq!(f("a/orders.csv").ok(), Some(SourceFormat::Csv));
    assert_eq!(f("orders.CSV.gz").ok(), Some(SourceFormat::Csv));
    assert_eq!(f("x.jsonl").ok(), Some(SourceFormat::Ndjson));
    assert_eq!(f("x.json").ok(), Some(SourceFormat::Ndjson));
    assert_eq!(f("x.ndjson").ok(), Some(SourceFormat::Ndjson));
    assert_eq!(f("x.feather").ok(), Some(SourceFormat::ArrowIpc));
    assert_eq!(f("x.ipc").ok(), Some(SourceFormat::ArrowIpc));
    assert_eq!(f("x.arrow").ok(), Some(SourceFormat::ArrowIpc));
    assert_eq!(f("x.parquet").ok(), Some(SourceFormat::Parquet));
    match f("x.xlsx") {
        Err(Error::UnknownFormat { path, found }) => {
            assert_eq!(path, Path::new("x.xlsx"));
            assert_eq!(found, ".xlsx");
        }
        other => panic!("expected UnknownFormat, got {other:?}"),
    }
    assert_eq!(
        "Parquet".parse::<SourceFormat>().ok(),
        Some(SourceFormat::Parquet)
    );
    assert!("xml".parse::<SourceFormat>().is_err());
}

#[test]
fn csv_rows_keep_lines_raw_text_and_structure_rejects() {
    let dir = tempfile::tempdir().expect("tmp");
    // BOM, CRLF, a short record, a quoted field spanning lines, a blank line.
    let text = format!(
        "\u{feff}{SENSOR_HEADER}\r\n{}\r\nP01,P01-L01\r\n\r\n{}\r\n\"P01\",P01-L01,P01-L01-M01,S000001,\"temp\r\nerature\",2026-03-02T08:00:00Z,1,0\r\n{}\r\n",
        sensor_line("2026-03-02T08:00:00Z"),
        sensor_line("2026-03-02T08:00:01Z"),
        sensor_line("2026-03-02T08:00:02Z"),
    );
    let path = write(dir.path(), "s.csv", text.as_bytes());
    let chunks = read_all(Table::SensorReadings, &path, &opts()).expect("read");
    check_invariants(&chunks);
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0];
    assert_eq!(c.rows_read, 5);
    assert_eq!(c.rows.values().to_vec(), vec![0, 2, 4]);
    let got: Vec<(Option<u64>, u64, &str, Option<&str>)> = c
        .rejects
        .iter()
        .map(|r| (r.line, r.row, r.rule.as_str(), r.raw.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(3), 1, STRUCTURE_RULE, Some("P01,P01-L01")),
            (
                Some(6),
                3,
                "sensor_readings.metric.known",
                Some(
                    "\"P01\",P01-L01,P01-L01-M01,S000001,\"temp\r\nerature\",2026-03-02T08:00:00Z,1,0"
                )
            ),
        ]
    );
    assert_eq!(c.rejects[0].reason, "expected 8 fields, found 2");
    assert_eq!(c.batch.schema(), Table::SensorReadings.schema());
}

#[test]
fn chunks_are_bounded_and_rows_are_counted_across_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = format!("{SENSOR_HEADER}\n");
    for i in 0..1000 {
        if i % 97 == 0 {
            text.push_str("P01,short\n");
        } else {
            text.push_str(&sensor_line(&format!("{}", 1_772_438_400 + i)));
            text.push('\n');
        }
    }
    let path = write(dir.path(), "s.csv", text.as_bytes());
    let o = SourceOptions {
        batch_rows: 64,
        ..opts()
    };
    let chunks = read_all(Table::SensorReadings, &path, &o).expect("read");
    check_invariants(&chunks);
    assert!(chunks.iter().all(|c| c.rows_read <= 64));
    assert_eq!(chunks.iter().map(|c| c.rows_read).sum::<u64>(), 1000);
    let rejected: Vec<u64> = chunks
        .iter()
        .flat_map(|c| c.rejects.iter().map(|r| r.row))
        .collect();
    assert_eq!(rejected, (0..1000).step_by(97).collect::<Vec<u64>>());
    let lines: Vec<Option<u64>> = chunks
        .iter()
        .flat_map(|c| c.rejects.iter().map(|r| r.line))
        .collect();
    assert_eq!(
        lines,
        (0..1000u64)
            .step_by(97)
            .map(|r| Some(r + 2))
            .collect::<Vec<_>>()
    );
}

/// A tiny seeded generator (xorshift) for the property test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_dirty_csv_always_reconciles() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad_cells = [
        "",
        "abc",
        "NaN",
        "1.2.3",
        "\"q,uoted\"",
        "2026-13-45T99:99:99Z",
        "-1",
        "300",
        "é",
    ];
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let rows = 50 + rng.below(150);
        let mut text = format!("{SENSOR_HEADER}\n");
        for i in 0..rows {
            let mut cells: Vec<String> = vec![
                "P01".into(),
                "P01-L01".into(),
                "P01-L01-M01".into(),
                "S000001".into(),
                "temperature".into(),
                format!("2026-03-02T08:{:02}:00Z", i % 60),
                "41.5".into(),
                "0".into(),
            ];
            for _ in 0..rng.below(3) {
                let c = rng.below(8) as usize;
                cells[c] = bad_cells[rng.below(bad_cells.len() as u64) as usize].to_string();
            }
            match rng.below(10) {
                0 => cells.truncate(1 + rng.below(7) as usize),
                1 => cells.push("extra".into()),
                _ => {}
            }
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        let path = write(dir.path(), &format!("r{seed}.csv"), text.as_bytes());
        let o = SourceOptions {
            batch_rows: 1 + rng.below(40) as usize,
            ..opts()
        };
        let chunks = read_all(Table::SensorReadings, &path, &o).expect("read");
        check_invariants(&chunks);
        assert_eq!(
            chunks.iter().map(|c| c.rows_read).sum::<u64>(),
            rows,
            "seed {seed}"
        );
        let mut seen = BTreeSet::new();
        for c in &chunks {
            seen.extend(c.rows.values().iter().copied());
            seen.extend(c.rejects.iter().map(|r| r.row));
        }
        assert_eq!(
            seen,
            (0..rows).collect(),
            "every row accounted for, seed {seed}"
        );
    }
}

#[test]
fn binary_and_compressed_text_files_are_file_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let gz = write(dir.path(), "x.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
    let err = SourceReader::open(Table::SensorReadings, &gz, &opts()).expect_err("gzip");
    let msg = err.to_string();
    assert!(
        msg.contains("x.csv") && msg.contains("gzip-compressed data, not CSV"),
        "{msg}"
    );
    assert!(msg.contains("decompress it or name it .csv.gz"), "{msg}");
    let bin = write(dir.path(), "y.ndjson", b"{\"a\":1}\n\x00\x01\x02");
    let err = SourceReader::open(Table::SensorReadings, &bin, &opts()).expect_err("binary");
    assert!(
        matches!(&err, Error::NotFormat { path, .. } if path.ends_with("y.ndjson")),
        "{err}"
    );
    let header = write(dir.path(), "z.csv", b"a,b,c\n1,2,3\n");
    match SourceReader::open(Table::SensorReadings, &header, &opts()) {
        Err(Error::Header { path, missing, .. }) => {
            assert!(path.ends_with("z.csv"));
            assert!(missing.contains(&"sensor_id".to_string()), "{missing:?}");
        }
        other => panic!("expected Header, got {other:?}"),
    }
}

#[test]
fn gzip_text_reads_like_plain_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!("{SENSOR_HEADER}\n{}\n", sensor_line("2026-03-02T08:00:00Z"));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).expect("gzip");
    let path = write(dir.path(), "s.csv.gz", &enc.finish().expect("gzip"));
    let chunks = read_all(Table::SensorReadings, &path, &opts()).expect("read");
    assert_eq!(chunks[0].batch.num_rows(), 1);
}

#[test]
fn ndjson_lines_that_are_not_objects_are_structure_rejects() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = r#"{"plant_id":"P01","line_id":"P01-L01","machine_id":"P01-L01-M01","sensor_id":"S1","metric":"current","ts":1772438400,"value":1.5,"quality":0,"extra":[1]}"#;
    let text = format!("{good}\n[1,2]\n\n{{\"plant_id\": \n{good}");
    let path = write(dir.path(), "s.ndjson", text.as_bytes());
    let chunks = read_all(Table::SensorReadings, &path, &opts()).expect("read");
    check_invariants(&chunks);
    let c = &chunks[0];
    assert_eq!(c.rows_read, 4);
    assert_eq!(c.rows.values().to_vec(), vec![0, 3]);
    let got: Vec<(Option<u64>, u64, &str)> = c
        .rejects
        .iter()
        .map(|r| (r.line, r.row, r.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![(Some(2), 1, STRUCTURE_RULE), (Some(4), 2, STRUCTURE_RULE)]
    );
    assert_eq!(
        c.rejects[0].reason,
        "expected a JSON object, found an array"
    );
    assert_eq!(c.rejects[0].raw.as_deref(), Some("[1,2]"));
}

#[test]
fn resolve_expands_dirs_and_globs_and_names_what_is_missing() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = write(dir.path(), "a.csv", b"x");
    let b = write(dir.path(), "b.csv", b"x");
    write(dir.path(), ".hidden", b"x");
    let c = write(dir.path(), "c.ndjson", b"x");
    let d = dir.path().display().to_string();
    let got = resolve(&[
        format!("{d}/*.csv"),
        d.clone(),
        format!("file://{}", c.display()),
    ])
    .expect("resolve");
    assert_eq!(got, vec![a.clone(), b.clone(), c.clone()]);
    let missing = format!("{d}/nope.csv");
    match resolve(std::slice::from_ref(&missing)) {
        Err(Error::InputNotFound { input, .. }) => assert_eq!(input, missing),
        other => panic!("expected InputNotFound, got {other:?}"),
    }
    assert!(matches!(
        resolve(&[format!("{d}/*.parquet")]),
        Err(Error::InputNotFound { .. })
    ));
    assert!(matches!(
        resolve(&["s3://bucket/x.csv".to_string()]),
        Err(Error::Unsupported { .. })
    ));
}
