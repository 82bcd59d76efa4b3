//! Supplier scorecards: on-time-in-full under an explicit rule, lead times, defects, price
//! variance, and the quarter-on-quarter trend.
//!
//! # The unit: a purchase-order line
//!
//! `deliveries` has one row per (po_id, part_id, lot_id): a PO line shipped in two lots is
//! two rows, each carrying the line's `qty_ordered`. OTIF is therefore judged per **PO line**
//! (po_id, part_id) over all its receipts; lead time and defects per **receipt** (row).
//!
//! # On time in full ([`OtifRule`])
//!
//! - The **due instant** is the supplier's `promised_at` ([`DueDate::Promised`]) or
//!   `ordered_at` + the supplier's `contract_lead_time_days` from `suppliers`
//!   ([`DueDate::ContractLeadTime`]; lines of a supplier missing from `suppliers` have no
//!   due instant and are not judged).
//! - The **on-time window** is `[due − early_tolerance_days, due + late_tolerance_days]`
//!   (fractional days allowed; instants are compared, not calendar dates). A receipt before
//!   the window is early, after it late: both are off time.
//! - The **quantity** of a receipt is `qty_received` ([`QuantityBasis::Received`]) or
//!   `qty_received − qty_rejected` ([`QuantityBasis::Accepted`]).
//! - A line is **judged** once its window has closed at the evaluation instant `as_of`
//!   (`due + late_tolerance ≤ as_of`); younger lines are pending and left out of the rates.
//!   Receipts after `as_of`, and rows with no `received_at`, are open: they deliver nothing.
//! - Each judged line scores, with the quantity delivered **inside the window** (`q_ot`)
//!   or in total (`q`) against `qty_ordered` (`o`) and the [`InFull`] rule:
//!   - `otif` = fill(`q_ot`): [`InFull::Strict`] 1 if `q_ot ≥ o`;
//!     [`InFull::MinFillRate`]`(r)` 1 if `q_ot ≥ r·o`; [`InFull::Proportional`]
//!     `min(q_ot / o, 1)` (the share of the line delivered on time: a unit-weighted OTIF);
//!   - `in_full` = fill(`q`) (whenever it came);
//!   - `on_time` = 1 when every receipt of the line is inside the window and none is
//!     missing (no open row), else 0.
//!
//!   A supplier's rate is the mean score over its judged lines. Over-deliveries count as
//!   in full. `otif` is its own measure (the quantity inside the window), not the product
//!   `on_time × in_full`: under a minimum fill rate or the proportional rule, a line whose
//!   first lot came on time and whose small rest came late scores on `otif` although it is
//!   not on time.
//!
//! The default rule ([`OtifRule::default`]) is promised date, 2 days early and 1 day late
//! tolerance, strict fill on the received quantity. (`fabrik-datagen`'s suppliers ship an
//! on-time delivery up to about 1.7 days before the promised noon, so a tolerance of less
//! than 2 days early would call punctual suppliers early.)
//!
//! # The other figures
//!
//! - **Lead time** per receipt = `received_at − ordered_at` in days: mean, sample standard
//!   deviation, and the exact 50th and 95th percentiles with linear interpolation between
//!   order statistics (Hyndman & Fan's type 7, numpy's default method). A second lot
//!   of a split line has its own, longer lead time.
//! - **Defect ppm** = Σ `qty_rejected` / Σ `qty_received` × 10⁶ over receipts (a null
//!   `qty_rejected` counts as 0).
//! - **Price variance** = Σ (`unit_price` − `ref`) × `qty_ordered` / Σ `ref` × `qty_ordered`
//!   over PO lines, where `ref` is the part's quantity-weighted mean `unit_price` over all
//!   suppliers' lines in the same range: how much more (positive) or less a supplier charges
//!   than the market of that part. The tables hold no contract or standard price, so this is
//!   the only reference they allow; for a part with a single supplier the variance is 0 by
//!   construction (every part of `fabrik-datagen`'s plant has one supplier).
//!
//! A line (and its receipts) belongs to the range or quarter of its **due instant**, so a
//! late delivery counts against the period it was due in.
//!
//! ```sql
//! SELECT * FROM supplier_scorecard();   -- the default rule
//! -- rule: due ('promised' | 'contract'), early and late tolerance (days),
//! --       fill ('strict' | 'proportional' | a minimum fill rate such as 0.95),
//! --       quantity ('received' | 'accepted')
//! SELECT * FROM supplier_scorecard('contract', 0, 2, 0.95, 'accepted');
//! SELECT * FROM supplier_trend('promised', 2, 1, 'strict', 'received');
//! ```

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use fabrik_sql::Session;

use crate::error::{Error, Result};
use crate::oee::field;
use crate::sql::collect_as;

/// Microseconds per day.
const US_PER_DAY: f64 = 86_400e6;

/// The instant a delivery is due at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DueDate {
    /// `deliveries.promised_at`, the date the supplier confirmed.
    #[default]
    Promised,
    /// `ordered_at` + `suppliers.contract_lead_time_days`.
    ContractLeadTime,
}

/// When a PO line counts as delivered in full.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum InFull {
    /// The whole ordered quantity (a line scores 0 or 1).
    #[default]
    Strict,
    /// At least this share of the ordered quantity, in (0, 1] (a line scores 0 or 1).
    MinFillRate(f64),
    /// The share of the ordered quantity delivered, capped at 1 (a line scores 0 to 1).
    Proportional,
}

/// Which quantity of a receipt counts towards the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantityBasis {
    /// `qty_received`.
    #[default]
    Received,
    /// `qty_received − qty_rejected` (what passed incoming inspection).
    Accepted,
}

/// The definition of on-time-in-full (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OtifRule {
    /// The due instant.
    pub due: DueDate,
    /// How many days before the due instant a receipt is still on time (≥ 0).
    pub early_tolerance_days: f64,
    /// How many days after the due instant a receipt is still on time (≥ 0).
    pub late_tolerance_days: f64,
    /// When a line is in full.
    pub in_full: InFull,
    /// Which quantity counts.
    pub quantity: QuantityBasis,
}

impl Default for OtifRule {
    /// Promised date, 2 days early / 1 day late tolerance, strict fill of the received
    /// quantity.
    fn default() -> Self {
        OtifRule {
            due: DueDate::Promised,
            early_tolerance_days: 2.0,
            late_tolerance_days: 1.0,
            in_full: InFull::Strict,
            quantity: QuantityBasis::Received,
        }
    }
}

impl OtifRule {
    /// Checks the tolerances and the fill rate.
    pub fn validate(&self) -> Result<()> {
        for (parameter, v) in [
            ("early_tolerance_days", self.early_tolerance_days),
            ("late_tolerance_days", self.late_tolerance_days),
        ] {
            if !(v.is_finite() && (0.0..=3650.0).contains(&v)) {
                return Err(Error::InvalidParameter {
                    parameter,
                    value: v.to_string(),
                    expected: "a number of days from 0 to 3650",
                });
            }
        }
        if let InFull::MinFillRate(r) = self.in_full
            && !(r.is_finite() && r > 0.0 && r <= 1.0)
        {
            return Err(Error::InvalidParameter {
                parameter: "in_full",
                value: r.to_string(),
                expected: "a minimum fill rate in (0, 1]",
            });
        }
        Ok(())
    }

    /// The score of quantity `q` against ordered `o`, as SQL.
    fn fill_sql(&self, q: &str, o: &str) -> String {
        match self.in_full {
            InFull::Strict => format!("CASE WHEN {q} >= {o} THEN 1.0 ELSE 0.0 END"),
            InFull::MinFillRate(r) => {
                format!("CASE WHEN {q} >= {r:?} * {o} THEN 1.0 ELSE 0.0 END")
            }
            InFull::Proportional => {
                format!("least(CAST({q} AS DOUBLE) / CAST({o} AS DOUBLE), 1.0)")
            }
        }
    }
}

/// What to compute supplier scorecards over.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ScorecardOptions {
    /// The OTIF definition.
    pub rule: OtifRule,
    /// Only PO lines due from this instant on.
    pub from: Option<DateTime<Utc>>,
    /// Only PO lines due before this instant.
    pub to: Option<DateTime<Utc>>,
    /// The evaluation instant (what was known then); by default the latest `received_at`
    /// or `ordered_at` of the table.
    pub as_of: Option<DateTime<Utc>>,
}

impl ScorecardOptions {
    /// Scorecards under `rule` over all lines, as of the end of the data.
    pub fn new(rule: OtifRule) -> Self {
        ScorecardOptions {
            rule,
            ..ScorecardOptions::default()
        }
    }

    /// The same options for lines due in `[from, to)`.
    pub fn with_range(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// The same options evaluated at `as_of`.
    pub fn with_as_of(mut self, as_of: DateTime<Utc>) -> Self {
        self.as_of = Some(as_of);
        self
    }

    /// The common CTEs: `asof`, `d` (receipts with due instants), `lines_in` (PO lines in
    /// range), `judged` (scored lines), `receipts` (received rows of lines in range).
    fn base_sql(&self) -> Result<String> {
        let rule = &self.rule;
        rule.validate()?;
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(Error::EmptyRange { from, to });
        }
        let early = (rule.early_tolerance_days * US_PER_DAY).round() as i64;
        let late = (rule.late_tolerance_days * US_PER_DAY).round() as i64;
        let asof = match self.as_of {
            Some(t) => format!("SELECT CAST({} AS BIGINT) AS t", t.timestamp_micros()),
            None => "SELECT coalesce(greatest(max(CAST(received_at AS BIGINT)), \
                     max(CAST(ordered_at AS BIGINT))), 0) AS t FROM deliveries"
                .to_string(),
        };
        let (due, join) = match rule.due {
            DueDate::Promised => ("CAST(d.promised_at AS BIGINT)", ""),
            DueDate::ContractLeadTime => (
                "CAST(d.ordered_at AS BIGINT) + CAST(s.contract_lead_time_days AS BIGINT) * 86400000000",
                "LEFT JOIN suppliers s ON s.supplier_id = d.supplier_id",
            ),
        };
        let rx = "CAST(d.received_at AS BIGINT)";
        let qty = match rule.quantity {
            QuantityBasis::Received => "d.qty_received".to_string(),
            QuantityBasis::Accepted => "d.qty_received - coalesce(d.qty_rejected, 0)".into(),
        };
        let mut range = vec!["TRUE".to_string()];
        if let Some(t) = self.from {
            range.push(format!("due_us >= {}", t.timestamp_micros()));
        }
        if let Some(t) = self.to {
            range.push(format!("due_us < {}", t.timestamp_micros()));
        }
        let range = range.join(" AND ");
        Ok(format!(
            "WITH asof AS ({asof}),
             d AS (
               SELECT d.supplier_id, d.po_id, d.part_id, d.qty_ordered, d.unit_price,
                      CAST(d.ordered_at AS BIGINT) AS ordered_us,
                      CASE WHEN {rx} <= a.t THEN {rx} END AS received_us,
                      CASE WHEN {rx} <= a.t THEN {qty} END AS qty,
                      CASE WHEN {rx} <= a.t THEN d.qty_received END AS qty_received,
                      CASE WHEN {rx} <= a.t THEN coalesce(d.qty_rejected, 0) END AS qty_rejected,
                      {due} AS due_us
               FROM deliveries d CROSS JOIN asof a {join}
               WHERE CAST(d.ordered_at AS BIGINT) <= a.t
             ),
             lines AS (
               SELECT supplier_id, po_id, part_id,
                      max(qty_ordered) AS qty_ordered, min(due_us) AS due_us,
                      max(unit_price) AS unit_price,
                      coalesce(sum(qty), 0) AS qty_total,
                      coalesce(sum(CASE WHEN received_us >= due_us - {early}
                                         AND received_us <= due_us + {late} THEN qty END), 0)
                        AS qty_on_time,
                      sum(CASE WHEN received_us IS NULL THEN 1 ELSE 0 END) AS open_rows,
                      sum(CASE WHEN received_us < due_us - {early}
                                 OR received_us > due_us + {late} THEN 1 ELSE 0 END) AS off_rows
               FROM d GROUP BY supplier_id, po_id, part_id
             ),
             lines_in AS (SELECT * FROM lines WHERE {range}),
             judged AS (
               SELECT l.supplier_id, l.due_us,
                      CASE WHEN l.open_rows = 0 AND l.off_rows = 0 THEN 1.0 ELSE 0.0 END AS on_time,
                      {in_full} AS in_full,
                      {otif} AS otif
               FROM lines_in l CROSS JOIN asof a
               WHERE l.due_us + {late} <= a.t
             ),
             receipts AS (
               SELECT supplier_id, due_us, (received_us - ordered_us) / 8.64e10 AS lead_days,
                      qty_received, qty_rejected
               FROM d WHERE received_us IS NOT NULL AND {range}
             )",
            in_full = rule.fill_sql("l.qty_total", "l.qty_ordered"),
            otif = rule.fill_sql("l.qty_on_time", "l.qty_ordered"),
        ))
    }
}

/// Supplier scorecards and their quarterly trend (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct SupplierScorecard;

impl SupplierScorecard {
    /// One row per supplier with a PO line in range, sorted by supplier. The schema is
    /// [`SupplierScorecard::schema`].
    pub async fn compute(session: &Session, options: &ScorecardOptions) -> Result<RecordBatch> {
        scorecard(session.context(), options).await
    }

    /// The schema of [`SupplierScorecard::compute`]'s result.
    pub fn schema() -> SchemaRef {
        let f64n = |name: &str, doc: &str| field(name, DataType::Float64, true, doc);
        let i64 = |name: &str, doc: &str| field(name, DataType::Int64, false, doc);
        Arc::new(Schema::new(vec![
            field("supplier_id", DataType::Utf8, false, "supplier"),
            i64("po_lines", "PO lines judged (window closed at as_of)"),
            f64n("otif", "mean OTIF score of the judged lines"),
            f64n(
                "on_time",
                "share of judged lines with every receipt in the window",
            ),
            f64n("in_full", "mean in-full score of the judged lines"),
            i64("receipts", "received delivery rows"),
            f64n(
                "lead_time_mean_d",
                "mean lead time (received - ordered), days",
            ),
            f64n(
                "lead_time_sd_d",
                "sample standard deviation of the lead time, days",
            ),
            f64n("lead_time_p50_d", "median lead time, days"),
            f64n("lead_time_p95_d", "95th percentile of the lead time, days"),
            i64("qty_received", "units received"),
            i64("qty_rejected", "units rejected at incoming inspection"),
            f64n("defect_ppm", "qty_rejected / qty_received x 1e6"),
            f64n(
                "price_variance",
                "relative price difference to the part's mean price over all suppliers",
            ),
        ]))
    }

    /// One row per supplier and quarter (of the due instant, UTC) with OTIF and defect
    /// ppm and their change from the quarter before, sorted by supplier and quarter. The
    /// schema is [`SupplierScorecard::trend_schema`].
    pub async fn trend(session: &Session, options: &ScorecardOptions) -> Result<RecordBatch> {
        trend(session.context(), options).await
    }

    /// The schema of [`SupplierScorecard::trend`]'s result.
    pub fn trend_schema() -> SchemaRef {
        let f64n = |name: &str, doc: &str| field(name, DataType::Float64, true, doc);
        Arc::new(Schema::new(vec![
            field("supplier_id", DataType::Utf8, false, "supplier"),
            field(
                "quarter",
                DataType::Date32,
                false,
                "first day of the quarter the lines were due in",
            ),
            field("po_lines", DataType::Int64, false, "PO lines judged"),
            f64n("otif", "mean OTIF score"),
            f64n("defect_ppm", "qty_rejected / qty_received x 1e6"),
            f64n(
                "otif_change",
                "otif minus the previous quarter's (null without one)",
            ),
            f64n(
                "ppm_change",
                "defect_ppm minus the previous quarter's (null without one)",
            ),
        ]))
    }
}

pub(crate) async fn scorecard(
    ctx: &SessionContext,
    options: &ScorecardOptions,
) -> Result<RecordBatch> {
    let sql = format!(
        "{base},
         prices AS (
           SELECT supplier_id, unit_price, qty_ordered,
                  sum(unit_price * qty_ordered) OVER (PARTITION BY part_id)
                    / sum(qty_ordered) OVER (PARTITION BY part_id) AS ref_price
           FROM lines_in
         ),
         ranked AS (
           SELECT supplier_id, lead_days,
                  CAST(row_number() OVER (PARTITION BY supplier_id ORDER BY lead_days) - 1
                       AS DOUBLE) AS k,
                  CAST(count(*) OVER (PARTITION BY supplier_id) - 1 AS DOUBLE) AS last
           FROM receipts
         ),
         parts AS (
           SELECT supplier_id, CAST(NULL AS BIGINT) AS po_lines, CAST(NULL AS DOUBLE) AS otif,
                  CAST(NULL AS DOUBLE) AS on_time, CAST(NULL AS DOUBLE) AS in_full,
                  CAST(NULL AS BIGINT) AS receipts, CAST(NULL AS DOUBLE) AS lead_mean,
                  CAST(NULL AS DOUBLE) AS lead_sd, CAST(NULL AS DOUBLE) AS lead_p50,
                  CAST(NULL AS DOUBLE) AS lead_p95, CAST(NULL AS BIGINT) AS qty_received,
                  CAST(NULL AS BIGINT) AS qty_rejected,
                  sum((unit_price - ref_price) * qty_ordered) / sum(ref_price * qty_ordered)
                    AS price_variance
           FROM prices GROUP BY supplier_id
           UNION ALL
           SELECT supplier_id, count(*), avg(otif), avg(on_time), avg(in_full),
                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
           FROM judged GROUP BY supplier_id
           UNION ALL
           SELECT supplier_id, NULL, NULL, NULL, NULL, count(*), avg(lead_days),
                  stddev_samp(lead_days), NULL, NULL, sum(qty_received), sum(qty_rejected), NULL
           FROM receipts GROUP BY supplier_id
           UNION ALL
           SELECT supplier_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {p50}, {p95},
                  NULL, NULL, NULL
           FROM ranked GROUP BY supplier_id
         )
         -- one row per supplier: every part above fills its own columns (no joins)
         SELECT supplier_id, coalesce(max(po_lines), 0) AS po_lines,
                max(otif) AS otif, max(on_time) AS on_time, max(in_full) AS in_full,
                coalesce(max(receipts), 0) AS receipts,
                max(lead_mean) AS lead_mean, max(lead_sd) AS lead_sd,
                max(lead_p50) AS lead_p50, max(lead_p95) AS lead_p95,
                coalesce(max(qty_received), 0) AS qty_received,
                coalesce(max(qty_rejected), 0) AS qty_rejected,
                1e6 * max(qty_rejected) / nullif(max(qty_received), 0) AS defect_ppm,
                max(price_variance) AS price_variance
         FROM parts
         GROUP BY supplier_id
         ORDER BY supplier_id",
        base = options.base_sql()?,
        p50 = quantile_sql(0.5),
        p95 = quantile_sql(0.95),
    );
    collect_as(ctx, &sql, SupplierScorecard::schema()).await
}

/// The `p` quantile of `lead_days` over a group of `ranked` rows (`k`: 0-based rank,
/// `last`: the group's size − 1), interpolated linearly between the order statistics around
/// `last × p` (Hyndman & Fan's type 7, numpy's default), as an aggregate in SQL.
///
/// DataFusion 55's `percentile_cont` rounds the interpolation fraction to 10⁻⁶ (the 95th
/// percentile of 7.5, 9.5, 10.5, 10.5, 11.25, 12.5, 19.5 comes out as 17.399993, not 17.4),
/// hence this exact form.
fn quantile_sql(p: f64) -> String {
    let h = format!("(last * {p:?})");
    format!(
        "sum(CASE WHEN k = floor({h}) THEN lead_days * (1.0 - ({h} - floor({h})))
                  WHEN k = floor({h}) + 1 THEN lead_days * ({h} - floor({h}))
                  ELSE 0.0 END)"
    )
}

pub(crate) async fn trend(ctx: &SessionContext, options: &ScorecardOptions) -> Result<RecordBatch> {
    let quarter = "date_trunc('quarter', to_timestamp_micros(due_us))";
    let w = "OVER (PARTITION BY supplier_id ORDER BY q)";
    let sql = format!(
        "{base},
         jq AS (
           SELECT supplier_id, {quarter} AS q, count(*) AS po_lines, avg(otif) AS otif
           FROM judged GROUP BY supplier_id, {quarter}
         ),
         rq AS (
           SELECT supplier_id, {quarter} AS q,
                  1e6 * sum(qty_rejected) / nullif(sum(qty_received), 0) AS ppm
           FROM receipts GROUP BY supplier_id, {quarter}
         ),
         t AS (
           SELECT coalesce(jq.supplier_id, rq.supplier_id) AS supplier_id,
                  coalesce(jq.q, rq.q) AS q, coalesce(jq.po_lines, 0) AS po_lines,
                  jq.otif, rq.ppm
           FROM jq FULL OUTER JOIN rq ON jq.supplier_id = rq.supplier_id AND jq.q = rq.q
         )
         SELECT supplier_id, CAST(q AS DATE) AS quarter, po_lines, otif, ppm AS defect_ppm,
                CASE WHEN lag(q) {w} = q - INTERVAL '3 months'
                     THEN otif - lag(otif) {w} END AS otif_change,
                CASE WHEN lag(q) {w} = q - INTERVAL '3 months'
                     THEN ppm - lag(ppm) {w} END AS ppm_change
         FROM t
         ORDER BY supplier_id, q",
        base = options.base_sql()?
    );
    collect_as(ctx, &sql, SupplierScorecard::trend_schema()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_validated() {
        assert!(OtifRule::default().validate().is_ok());
        let bad = OtifRule {
            in_full: InFull::MinFillRate(1.5),
            ..OtifRule::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidParameter {
                parameter: "in_full",
                ..
            })
        ));
        let neg = OtifRule {
            early_tolerance_days: -1.0,
            ..OtifRule::default()
        };
        assert!(matches!(
            neg.validate(),
            Err(Error::InvalidParameter {
                parameter: "early_tolerance_days",
                ..
            })
        ));
    }
}
