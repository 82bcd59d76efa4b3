//! Supplier scorecards on hand-made deliveries, evaluated as of 2025-02-01.
//!
//! Supplier S1, part PA at 10.00, 100 units per PO line, ordered 2025-01-01T00:00Z, promised
//! 2025-01-11T12:00Z (window under the default rule: 01-09T12:00 to 01-12T12:00):
//!
//! | line | receipts | on time | in full (received) | OTIF strict | OTIF proportional |
//! |---|---|---|---|---|---|
//! | PO1 | 01-10T12 100 (1 day early: inside) | 1 | 1 | 1 | 1 |
//! | PO2 | 01-08T12 100 (3 days early: outside) | 0 | 1 | 0 | 0 |
//! | PO3 | 01-12T06 100, 2 rejected (0.75 days late: inside) | 1 | 1 | 1 | 1 |
//! | PO4 | 01-13T12 100 (2 days late: outside) | 0 | 1 | 0 | 0 |
//! | PO5 | 01-11T12 96 + 01-20T12 4 (late) | 0 | 1 | 0 | 0.96 |
//! | PO6 | 01-11T12 90 (closed short) | 1 | 0 | 0 | 0.9 |
//! | PO7 | open, due 01-11 | 0 | 0 | 0 | 0 |
//! | PO8 | open, ordered 01-20, due 03-01: pending | – | – | – | – |
//! | PO10 | 2024-12-10T12 100, 10 rejected: due in 2024-Q4 | 1 | 1 | 1 | 1 |
//!
//! Supplier S2: PO9, part PA at 12.00, 100 units, received on the promised instant.
//!
//! Lead times of S1's receipts due in 2025 (days): 9.5, 7.5, 11.25, 12.5, 10.5, 19.5, 10.5:
//! mean 11.607143, sd 3.807496, p50 10.5, p95 17.4 (numpy:
//! `x = np.array([9.5, 7.5, 11.25, 12.5, 10.5, 19.5, 10.5]); x.mean(), x.std(ddof=1),
//! np.percentile(x, 50), np.percentile(x, 95)`). Defect ppm 2 / 590 × 1e6 = 3389.830508.
//! Price reference of PA: (800 × 10 + 100 × 12) / 900 = 10.2222: S1 −1/46 = −0.021739,
//! S2 +4/23 = 0.173913.

use fabrik_model::Table;
use fabrik_ops::{InFull, OtifRule, QuantityBasis, ScorecardOptions, SupplierScorecard};

use crate::{Delivery, TestResult, assert_table, deliveries, instant, pretty, session, suppliers};

fn line(
    po: &'static str,
    received_at: Option<&'static str>,
    received: Option<i64>,
    rejected: Option<i64>,
) -> Delivery {
    Delivery {
        po,
        supplier: "S1",
        part: "PA",
        ordered: 100,
        ordered_at: "2025-01-01T00:00:00Z",
        promised_at: "2025-01-11T12:00:00Z",
        received_at,
        received,
        rejected,
        price: 10.0,
    }
}

fn plant() -> fabrik_sql::Session {
    let rows = vec![
        line("PO1", Some("2025-01-10T12:00:00Z"), Some(100), Some(0)),
        line("PO2", Some("2025-01-08T12:00:00Z"), Some(100), Some(0)),
        line("PO3", Some("2025-01-12T06:00:00Z"), Some(100), Some(2)),
        line("PO4", Some("2025-01-13T12:00:00Z"), Some(100), None),
        line("PO5", Some("2025-01-11T12:00:00Z"), Some(96), Some(0)),
        line("PO5", Some("2025-01-20T12:00:00Z"), Some(4), Some(0)),
        line("PO6", Some("2025-01-11T12:00:00Z"), Some(90), Some(0)),
        line("PO7", None, None, None),
        Delivery {
            ordered_at: "2025-01-20T00:00:00Z",
            promised_at: "2025-03-01T12:00:00Z",
            ..line("PO8", None, None, None)
        },
        Delivery {
            supplier: "S2",
            price: 12.0,
            ..line("PO9", Some("2025-01-11T12:00:00Z"), Some(100), Some(0))
        },
        Delivery {
            ordered_at: "2024-11-30T12:00:00Z",
            promised_at: "2024-12-10T12:00:00Z",
            ..line("PO10", Some("2024-12-10T12:00:00Z"), Some(100), Some(10))
        },
    ];
    session(vec![
        (Table::Deliveries, deliveries(&rows)),
        (Table::Suppliers, suppliers(&[("S1", 12), ("S2", 10)])),
    ])
}

fn options(rule: OtifRule) -> ScorecardOptions {
    ScorecardOptions::new(rule)
        .with_range(
            instant("2025-01-01T00:00:00Z"),
            instant("2026-01-01T00:00:00Z"),
        )
        .with_as_of(instant("2025-02-01T00:00:00Z"))
}

async fn otif_table(rule: OtifRule) -> Result<String, Box<dyn std::error::Error>> {
    let s = plant();
    let b = SupplierScorecard::compute(&s, &options(rule)).await?;
    s.context().register_batch("card", b)?;
    pretty(
        &s,
        "SELECT supplier_id, po_lines, round(otif, 6) AS otif, round(on_time, 6) AS on_time,
                round(in_full, 6) AS in_full
         FROM card",
    )
    .await
}

#[tokio::test]
async fn otif_under_the_default_rule() -> TestResult {
    // strict, received: OTIF PO1, PO3 = 2/7; on time PO1, PO3, PO6 = 3/7; in full 5/7
    assert_table(
        &otif_table(OtifRule::default()).await?,
        "
        +-------------+----------+----------+----------+----------+
        | supplier_id | po_lines | otif     | on_time  | in_full  |
        +-------------+----------+----------+----------+----------+
        | S1          | 7        | 0.285714 | 0.428571 | 0.714286 |
        | S2          | 1        | 1.0      | 1.0      | 1.0      |
        +-------------+----------+----------+----------+----------+
        ",
    );
    Ok(())
}

#[tokio::test]
async fn otif_with_partial_fills() -> TestResult {
    // proportional: OTIF (1 + 1 + 0.96 + 0.9) / 7 = 0.551429, in full 5.9 / 7 = 0.842857
    let proportional = OtifRule {
        in_full: InFull::Proportional,
        ..OtifRule::default()
    };
    assert_table(
        &otif_table(proportional).await?,
        "
        +-------------+----------+----------+----------+----------+
        | supplier_id | po_lines | otif     | on_time  | in_full  |
        +-------------+----------+----------+----------+----------+
        | S1          | 7        | 0.551429 | 0.428571 | 0.842857 |
        | S2          | 1        | 1.0      | 1.0      | 1.0      |
        +-------------+----------+----------+----------+----------+
        ",
    );
    // at least 95 % of the accepted quantity: PO3 (98 accepted) and PO5 (96 on time) pass,
    // PO6 (90) does not: OTIF PO1, PO3, PO5 = 3/7; in full PO1-PO5 = 5/7
    let fill95 = OtifRule {
        in_full: InFull::MinFillRate(0.95),
        quantity: QuantityBasis::Accepted,
        ..OtifRule::default()
    };
    assert_table(
        &otif_table(fill95).await?,
        "
        +-------------+----------+----------+----------+----------+
        | supplier_id | po_lines | otif     | on_time  | in_full  |
        +-------------+----------+----------+----------+----------+
        | S1          | 7        | 0.428571 | 0.428571 | 0.714286 |
        | S2          | 1        | 1.0      | 1.0      | 1.0      |
        +-------------+----------+----------+----------+----------+
        ",
    );
    // strict on the accepted quantity: PO3 (98 of 100) is no longer in full: OTIF 1/7
    let accepted = OtifRule {
        quantity: QuantityBasis::Accepted,
        ..OtifRule::default()
    };
    let got = otif_table(accepted).await?;
    assert!(
        got.contains("| S1          | 7        | 0.142857 | 0.428571 | 0.571429 |"),
        "{got}"
    );
    Ok(())
}

#[tokio::test]
async fn otif_against_the_contract_lead_time_from_sql() -> TestResult {
    // S1's contract lead time is 12 days: due 01-13T00:00, window 01-11T00 to 01-14T00:
    // on time PO3, PO4, PO6 (PO1, PO2 early; PO5's rest late; PO7 open); OTIF PO3, PO4.
    // S2 (10 days): due 01-11T00, window to 01-12T00: PO9 on time.
    let s = plant();
    let got = pretty(
        &s,
        "SELECT supplier_id, po_lines, round(otif, 6) AS otif, round(on_time, 6) AS on_time
         FROM supplier_scorecard('contract', 2, 1, 'strict', 'received', '2025-02-01T00:00:00Z')
         WHERE supplier_id = 'S1'",
    )
    .await?;
    // without a range PO10 (due 2024-12-12, received 12-10T12: inside) counts too: 3/8, 4/8
    assert_table(
        &got,
        "
        +-------------+----------+-------+---------+
        | supplier_id | po_lines | otif  | on_time |
        +-------------+----------+-------+---------+
        | S1          | 8        | 0.375 | 0.5     |
        +-------------+----------+-------+---------+
        ",
    );
    let err = s
        .query("SELECT * FROM supplier_scorecard('promised', 2, 1, 1.5, 'received')")
        .await
        .expect_err("a fill rate above 1");
    assert!(err.to_string().contains("argument 4 must be"), "{err}");
    Ok(())
}

#[tokio::test]
async fn lead_times_defects_and_price_variance() -> TestResult {
    let s = plant();
    let b = SupplierScorecard::compute(&s, &options(OtifRule::default())).await?;
    s.context().register_batch("card", b)?;
    let got = pretty(
        &s,
        "SELECT supplier_id, receipts, round(lead_time_mean_d, 6) AS mean,
                round(lead_time_sd_d, 6) AS sd, round(lead_time_p50_d, 6) AS p50,
                round(lead_time_p95_d, 6) AS p95, qty_received, qty_rejected,
                round(defect_ppm, 6) AS ppm, round(price_variance, 6) AS price_variance
         FROM card",
    )
    .await?;
    assert_table(
        &got,
        "
        +-------------+----------+-----------+----------+------+------+--------------+--------------+-------------+----------------+
        | supplier_id | receipts | mean      | sd       | p50  | p95  | qty_received | qty_rejected | ppm         | price_variance |
        +-------------+----------+-----------+----------+------+------+--------------+--------------+-------------+----------------+
        | S1          | 7        | 11.607143 | 3.807496 | 10.5 | 17.4 | 590          | 2            | 3389.830508 | -0.021739      |
        | S2          | 1        | 10.5      |          | 10.5 | 10.5 | 100          | 0            | 0.0         | 0.173913       |
        +-------------+----------+-----------+----------+------+------+--------------+--------------+-------------+----------------+
        ",
    );
    Ok(())
}

#[tokio::test]
async fn quarter_on_quarter_trend() -> TestResult {
    // S1: 2024-Q4 PO10 (OTIF 1, 10 / 100 rejected = 100000 ppm); 2025-Q1 OTIF 2/7, 3389.83
    // ppm: changes -0.714286 and -96610.169492. S2 has no quarter before.
    let s = plant();
    let got = pretty(
        &s,
        "SELECT supplier_id, quarter, po_lines, round(otif, 6) AS otif,
                round(defect_ppm, 6) AS ppm, round(otif_change, 6) AS otif_change,
                round(ppm_change, 6) AS ppm_change
         FROM supplier_trend('promised', 2, 1, 'strict', 'received', TIMESTAMP '2025-02-01T00:00:00Z')",
    )
    .await?;
    assert_table(
        &got,
        "
        +-------------+------------+----------+----------+-------------+-------------+---------------+
        | supplier_id | quarter    | po_lines | otif     | ppm         | otif_change | ppm_change    |
        +-------------+------------+----------+----------+-------------+-------------+---------------+
        | S1          | 2024-10-01 | 1        | 1.0      | 100000.0    |             |               |
        | S1          | 2025-01-01 | 7        | 0.285714 | 3389.830508 | -0.714286   | -96610.169492 |
        | S2          | 2025-01-01 | 1        | 1.0      | 0.0         |             |               |
        +-------------+------------+----------+----------+-------------+-------------+---------------+
        ",
    );
    Ok(())
}
