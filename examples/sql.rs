//! Run SQL over a lake and print the result.
//!
//! ```text
//! cargo run --release --example sql -- --lake fabrik-demo/lake "SELECT count(*) FROM sensor_readings"
//! cargo run --release --example sql -- --lake DIR --format csv "SELECT * FROM orders LIMIT 10"
//! ```
//!
//! Every table of the lake is registered under its SQL name, and its rejects table as
//! `<table>__rejects`. `--format` is `table` (default), `csv` or `json` (one object per line).

use std::process::ExitCode;

use fabrik::datafusion::arrow::csv::WriterBuilder as CsvWriter;
use fabrik::datafusion::arrow::json::LineDelimitedWriter;
use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::lake::Lake;
use fabrik::sql::Session;

const USAGE: &str = "\
usage: sql --lake DIR [--format table|csv|json] \"SELECT ...\"

  --lake DIR     the lake: a directory, or a URL such as s3://bucket/prefix (credentials
                 from AWS_*, GOOGLE_* or AZURE_* environment variables)
  --format F     table (default), csv or json (newline-delimited)";

enum Format {
    Table,
    Csv,
    Json,
}

struct Args {
    lake: String,
    format: Format,
    sql: String,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut lake, mut format, mut sql) = (None, Format::Table, None);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--lake" => lake = Some(it.next().ok_or("--lake needs a directory or URL")?),
            "--format" => {
                format = match it.next().as_deref() {
                    Some("table") => Format::Table,
                    Some("csv") => Format::Csv,
                    Some("json") => Format::Json,
                    other => {
                        return Err(format!(
                            "--format must be table, csv or json, got {}",
                            other.unwrap_or("nothing")
                        ));
                    }
                }
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s if sql.is_none() => sql = Some(s.to_string()),
            _ => return Err("give the SQL as one argument (quote it)".to_string()),
        }
    }
    Ok(Args {
        lake: lake.ok_or("--lake DIR is required")?,
        format,
        sql: sql.ok_or("the SQL query is missing")?,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> fabrik::Result<()> {
    let lake = Lake::open(&args.lake).await?;
    let session = Session::new()?;
    session.register_lake(&lake).await?;
    let batches = session.query(&args.sql).await?;
    let stdout = std::io::stdout().lock();
    match args.format {
        Format::Table => println!("{}", pretty_format_batches(&batches)?),
        Format::Csv => {
            let mut w = CsvWriter::new().with_header(true).build(stdout);
            for b in &batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = LineDelimitedWriter::new(stdout);
            w.write_batches(&batches.iter().collect::<Vec<_>>())?;
            w.finish()?;
        }
    }
    Ok(())
}
