//! Every rule, one passing and one failing row each (table-driven): the failing row fails
//! that rule and no other, its reason names the offending value, the passing row is clean.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use fabrik_model::{Check, PARSE_RULE, Table, validate_text_batch};

use crate::support::fixture_options;

/// A valid row of each table, as text (every rule passes on it).
fn base(table: Table) -> &'static [(&'static str, &'static str)] {
    match table {
        Table::SensorReadings => &[
            ("plant_id", "P01"),
            ("line_id", "P01-L01"),
            ("machine_id", "P01-L01-M01"),
            ("sensor_id", "S000001"),
            ("metric", "temperature"),
            ("ts", "2026-03-02T08:00:00Z"),
            ("value", "41.5"),
            ("quality", "0"),
        ],
        Table::MachineStates => &[
            ("plant_id", "P01"),
            ("line_id", "P01-L01"),
            ("machine_id", "P01-L01-M01"),
            ("state", "RUNNING"),
            ("reason", ""),
            ("start_ts", "2026-03-02T06:00:00Z"),
            ("end_ts", "2026-03-02T07:00:00Z"),
            ("order_id", "1001"),
        ],
        Table::ProductionCounts => &[
            ("plant_id", "P01"),
            ("line_id", "P01-L01"),
            ("machine_id", "P01-L01-M01"),
            ("ts", "2026-03-02T07:00:00Z"),
            ("order_id", "1001"),
            ("sku", "WM-09-INV-WHT-TCH"),
            ("good_qty", "12"),
            ("scrap_qty", "0"),
            ("ideal_cycle_s", "240.0"),
            ("lot_id", "LOT-DR-0042"),
        ],
        Table::Orders => &[
            ("order_id", "1001"),
            ("customer_id", "C000017"),
            ("created_at", "2026-03-01T09:12:00Z"),
            ("channel", "web"),
            ("region", "EU-West"),
            ("product_family", "washing_machine"),
            ("sku", "WM-09-INV-WHT-TCH"),
            ("capacity_kg", "9"),
            ("color", "white"),
            ("motor", "inverter"),
            ("panel", "touch"),
            ("quantity", "1"),
            ("unit_price", "649.0"),
            ("promised_at", "2026-03-10T00:00:00Z"),
            ("status", "confirmed"),
        ],
        Table::Suppliers => &[
            ("supplier_id", "SUP001"),
            ("name", "Motori Rossi, S.p.A."),
            ("country", "IT"),
            ("category", "motors"),
            ("contract_lead_time_days", "21"),
        ],
        Table::Deliveries => &[
            ("po_id", "PO-2026-0001"),
            ("supplier_id", "SUP001"),
            ("part_id", "MOT-INV-1400"),
            ("qty_ordered", "200"),
            ("ordered_at", "2026-02-01T08:00:00Z"),
            ("promised_at", "2026-02-22T08:00:00Z"),
            ("received_at", "2026-02-21T14:30:00Z"),
            ("qty_received", "200"),
            ("qty_rejected", "0"),
            ("unit_price", "84.5"),
            ("lot_id", "LOT-MO-0007"),
        ],
        Table::Bom => &[
            ("product_family", "washing_machine"),
            ("option", "motor"),
            ("option_value", "inverter"),
            ("part_id", "MOT-INV-1400"),
            ("qty_per", "1"),
        ],
        Table::Inventory => &[
            ("plant_id", "P01"),
            ("part_id", "DRM-09"),
            ("ts", "2026-03-02T00:00:00Z"),
            ("on_hand", "320"),
            ("on_order", "150"),
        ],
    }
}

type Edits = &'static [(&'static str, &'static str)];

/// One rule's case: edits to the base row that pass it (at or near its boundary), edits
/// that fail it (and nothing else), and text the failing row's reason must contain.
struct Case {
    rule: &'static str,
    pass: Edits,
    fail: Edits,
    shows: &'static str,
}

const fn case(rule: &'static str, pass: Edits, fail: Edits, shows: &'static str) -> Case {
    Case {
        rule,
        pass,
        fail,
        shows,
    }
}

/// Cases of every rule but the `not_null` ones (those are derived from the schema below).
/// Fixture "now" is 2026-10-01T00:00:00Z: events may lie up to 1 day later, promised
/// dates up to 366 days later (2027-10-02T00:00:00Z).
const CASES: &[Case] = &[
    // sensor_readings
    case(
        "sensor_readings.metric.known",
        &[("metric", "spin_rpm")],
        &[("metric", "humidity")],
        "metric 'humidity' is not one of",
    ),
    case(
        "sensor_readings.ts.plausible",
        &[("ts", "2000-01-01T00:00:00Z")],
        &[("ts", "1999-12-31T23:59:59Z")],
        "1999-12-31T23:59:59Z",
    ),
    case(
        "sensor_readings.value.finite",
        &[("value", "-40.25")],
        &[("value", "NaN")],
        "value NaN is not a finite number",
    ),
    case(
        "sensor_readings.value.required_when_good",
        &[("value", ""), ("quality", "2")],
        &[("value", ""), ("quality", "0")],
        "quality is 0",
    ),
    case(
        "sensor_readings.quality.known",
        &[("quality", "3")],
        &[("quality", "4")],
        "quality 4 is not one of 0, 1, 2, 3",
    ),
    // machine_states
    case(
        "machine_states.state.known",
        &[("state", "PLANNED_STOP"), ("reason", "break")],
        &[("state", "running")],
        "state 'running'",
    ),
    case(
        "machine_states.reason.required_when_stopped",
        &[("state", "DOWN"), ("reason", "jam")],
        &[("state", "DOWN")],
        "state is 'DOWN'",
    ),
    case(
        "machine_states.reason.null_when_running",
        &[("state", "IDLE")],
        &[("state", "IDLE"), ("reason", "waiting")],
        "reason is 'waiting' but state is 'IDLE'",
    ),
    case(
        "machine_states.start_ts.plausible",
        &[("start_ts", "2000-01-01T00:00:00Z")],
        &[("start_ts", "1999-06-01T00:00:00Z")],
        "start_ts 1999-06-01T00:00:00Z is before",
    ),
    case(
        "machine_states.end_ts.plausible",
        &[("end_ts", "2026-10-02T00:00:00Z")],
        &[("end_ts", "2026-10-02T00:00:01Z")],
        "end_ts 2026-10-02T00:00:01Z is after",
    ),
    case(
        "machine_states.end_ts.after_start",
        &[("end_ts", "2026-03-02T06:00:00.000001Z")],
        &[("end_ts", "2026-03-02T06:00:00Z")],
        "end_ts 2026-03-02T06:00:00Z is not after start_ts 2026-03-02T06:00:00Z",
    ),
    // production_counts
    case(
        "production_counts.ts.plausible",
        &[("ts", "2026-10-01T12:00:00Z")],
        &[("ts", "2031-01-01T00:00:00Z")],
        "ts 2031-01-01T00:00:00Z",
    ),
    case(
        "production_counts.good_qty.non_negative",
        &[("good_qty", "0")],
        &[("good_qty", "-1")],
        "good_qty -1 is not >= 0",
    ),
    case(
        "production_counts.scrap_qty.non_negative",
        &[("scrap_qty", "0")],
        &[("scrap_qty", "-3")],
        "scrap_qty -3 is not >= 0",
    ),
    case(
        "production_counts.ideal_cycle_s.finite",
        &[("ideal_cycle_s", "0.001")],
        &[("ideal_cycle_s", "inf")],
        "ideal_cycle_s inf",
    ),
    case(
        "production_counts.ideal_cycle_s.positive",
        &[("ideal_cycle_s", "0.5")],
        &[("ideal_cycle_s", "0")],
        "ideal_cycle_s 0.0 is not > 0",
    ),
    // orders
    case(
        "orders.created_at.plausible",
        &[("created_at", "2026-10-02T00:00:00Z"), ("promised_at", "")],
        &[("created_at", "2026-10-03T00:00:00Z"), ("promised_at", "")],
        "created_at 2026-10-03T00:00:00Z",
    ),
    case(
        "orders.channel.known",
        &[("channel", "marketplace")],
        &[("channel", "phone")],
        "channel 'phone'",
    ),
    case(
        "orders.product_family.known",
        &[("product_family", "dryer")],
        &[("product_family", "toaster")],
        "product_family 'toaster'",
    ),
    case(
        "orders.capacity_kg.in_range",
        &[("capacity_kg", "20")],
        &[("capacity_kg", "21")],
        "capacity_kg 21 is not within [3, 20]",
    ),
    case(
        "orders.capacity_kg.required_for_laundry",
        &[("product_family", "washer_dryer"), ("capacity_kg", "3")],
        &[("capacity_kg", "")],
        "product_family is 'washing_machine'",
    ),
    case(
        "orders.capacity_kg.null_for_non_laundry",
        &[("product_family", "fridge"), ("capacity_kg", "")],
        &[("product_family", "dishwasher")],
        "capacity_kg is 9 but product_family is 'dishwasher'",
    ),
    case(
        "orders.motor.known",
        &[("motor", "direct_drive")],
        &[("motor", "turbo")],
        "motor 'turbo'",
    ),
    case(
        "orders.panel.known",
        &[("panel", "smart_wifi")],
        &[("panel", "Touch")],
        "panel 'Touch'",
    ),
    case(
        "orders.quantity.positive",
        &[("quantity", "1")],
        &[("quantity", "0")],
        "quantity 0 is not > 0",
    ),
    case(
        "orders.unit_price.finite",
        &[("unit_price", "0.01")],
        &[("unit_price", "-inf")],
        "unit_price -inf",
    ),
    case(
        "orders.unit_price.non_negative",
        &[("unit_price", "0")],
        &[("unit_price", "-0.01")],
        "unit_price -0.01 is not >= 0",
    ),
    case(
        "orders.promised_at.plausible",
        &[("promised_at", "2027-10-02T00:00:00Z")],
        &[("promised_at", "2027-10-02T00:00:01Z")],
        "promised_at 2027-10-02T00:00:01Z is after the latest plausible time 2027-10-02T00:00:00Z",
    ),
    case(
        "orders.promised_at.not_before_created",
        &[("promised_at", "2026-03-01T09:12:00Z")],
        &[("promised_at", "2026-03-01T09:11:59Z")],
        "promised_at 2026-03-01T09:11:59Z is before created_at 2026-03-01T09:12:00Z",
    ),
    case(
        "orders.status.known",
        &[("status", "cancelled")],
        &[("status", "lost")],
        "status 'lost'",
    ),
    // suppliers
    case(
        "suppliers.country.iso_alpha2",
        &[("country", "GB")],
        &[("country", "it")],
        "country 'it' is not 2 uppercase letters",
    ),
    case(
        "suppliers.category.known",
        &[("category", "packaging")],
        &[("category", "food")],
        "category 'food'",
    ),
    case(
        "suppliers.contract_lead_time_days.positive",
        &[("contract_lead_time_days", "1")],
        &[("contract_lead_time_days", "0")],
        "contract_lead_time_days 0 is not > 0",
    ),
    // deliveries
    case(
        "deliveries.qty_ordered.positive",
        &[("qty_ordered", "1"), ("qty_received", "1")],
        &[
            ("qty_ordered", "0"),
            ("received_at", ""),
            ("qty_received", ""),
            ("qty_rejected", ""),
        ],
        "qty_ordered 0 is not > 0",
    ),
    case(
        "deliveries.ordered_at.plausible",
        &[("ordered_at", "2000-01-01T00:00:00Z")],
        &[("ordered_at", "1999-01-01T00:00:00Z")],
        "ordered_at 1999-01-01T00:00:00Z",
    ),
    case(
        "deliveries.promised_at.plausible",
        &[("promised_at", "2027-06-01T00:00:00Z")],
        &[("promised_at", "2028-01-01T00:00:00Z")],
        "promised_at 2028-01-01T00:00:00Z",
    ),
    case(
        "deliveries.promised_at.not_before_ordered",
        &[("promised_at", "2026-02-01T08:00:00Z")],
        &[("promised_at", "2026-01-31T08:00:00Z")],
        "promised_at 2026-01-31T08:00:00Z is before ordered_at 2026-02-01T08:00:00Z",
    ),
    case(
        "deliveries.received_at.plausible",
        &[("received_at", "2026-10-01T23:00:00Z")],
        &[("received_at", "2026-10-02T00:00:01Z")],
        "received_at 2026-10-02T00:00:01Z",
    ),
    case(
        "deliveries.received_at.not_before_ordered",
        &[("received_at", "2026-02-01T08:00:00Z")],
        &[("received_at", "2026-01-31T23:59:59Z")],
        "received_at 2026-01-31T23:59:59Z is before ordered_at",
    ),
    case(
        "deliveries.qty_received.non_negative",
        &[("qty_received", "0")],
        &[("qty_received", "-1"), ("qty_rejected", "")],
        "qty_received -1 is not >= 0",
    ),
    case(
        "deliveries.qty_received.within_tolerance",
        &[("qty_received", "220")],
        &[("qty_received", "221")],
        "qty_received 221 is greater than qty_ordered 200 + 10% tolerance (220)",
    ),
    case(
        "deliveries.qty_received.with_received_at",
        &[
            ("received_at", ""),
            ("qty_received", ""),
            ("qty_rejected", ""),
        ],
        &[("received_at", "")],
        "qty_received is 200 but received_at is null",
    ),
    case(
        "deliveries.qty_rejected.non_negative",
        &[("qty_rejected", "0")],
        &[("qty_rejected", "-1")],
        "qty_rejected -1 is not >= 0",
    ),
    case(
        "deliveries.qty_rejected.not_above_received",
        &[("qty_rejected", "200")],
        &[("qty_rejected", "201")],
        "qty_rejected 201 is greater than qty_received 200",
    ),
    case(
        "deliveries.unit_price.finite",
        &[("unit_price", "1e6")],
        &[("unit_price", "NaN")],
        "unit_price NaN",
    ),
    case(
        "deliveries.unit_price.positive",
        &[("unit_price", "0.01")],
        &[("unit_price", "0")],
        "unit_price 0.0 is not > 0",
    ),
    // bom
    case(
        "bom.product_family.known",
        &[("product_family", "fridge")],
        &[("product_family", "toaster")],
        "product_family 'toaster'",
    ),
    case(
        "bom.option.known",
        &[("option", "capacity_kg"), ("option_value", "9")],
        &[("option", "voltage")],
        "option 'voltage'",
    ),
    case(
        "bom.option.with_option_value",
        &[("option", ""), ("option_value", "")],
        &[("option", "")],
        "option is null but option_value is 'inverter'",
    ),
    case(
        "bom.qty_per.finite",
        &[("qty_per", "0.25")],
        &[("qty_per", "inf")],
        "qty_per inf",
    ),
    case(
        "bom.qty_per.positive",
        &[("qty_per", "0.001")],
        &[("qty_per", "-1")],
        "qty_per -1.0 is not > 0",
    ),
    // inventory
    case(
        "inventory.ts.plausible",
        &[("ts", "2000-01-01T00:00:00Z")],
        &[("ts", "1970-01-01T00:00:00Z")],
        "ts 1970-01-01T00:00:00Z",
    ),
    case(
        "inventory.on_hand.non_negative",
        &[("on_hand", "0")],
        &[("on_hand", "-1")],
        "on_hand -1 is not >= 0",
    ),
    case(
        "inventory.on_order.non_negative",
        &[("on_order", "0")],
        &[("on_order", "-10")],
        "on_order -10 is not >= 0",
    ),
];

/// A text batch of the base row with `edits` applied, one row per edit set.
fn rows(table: Table, edit_sets: &[&[(&str, &str)]]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = base(table)
        .iter()
        .map(|&(col, value)| {
            let cells: Vec<Option<&str>> = edit_sets
                .iter()
                .map(|edits| {
                    assert!(
                        edits.iter().all(|(c, _)| table.field(c).is_ok()),
                        "{table}: edit of an unknown column"
                    );
                    Some(
                        edits
                            .iter()
                            .rev()
                            .find(|(c, _)| *c == col)
                            .map_or(value, |&(_, v)| v),
                    )
                })
                .collect();
            (col, Arc::new(StringArray::from(cells)) as ArrayRef)
        })
        .collect();
    RecordBatch::try_from_iter(columns).expect("batch")
}

/// Runs one case: row 0 passes, row 1 fails exactly `rule`, with `shows` in the reason.
fn run(table: Table, rule: &str, pass: &[(&str, &str)], fail: &[(&str, &str)], shows: &str) {
    let batch = rows(table, &[pass, fail]);
    let (_, v) = validate_text_batch(table, &batch, &fixture_options()).expect("validate");
    let on = |row: usize| {
        v.violations
            .iter()
            .filter(|x| x.row == row)
            .collect::<Vec<_>>()
    };
    assert!(
        on(0).is_empty(),
        "{rule}: the passing row {pass:?} got {:?}",
        on(0)
    );
    let failing = on(1);
    assert_eq!(
        failing.len(),
        1,
        "{rule}: the failing row {fail:?} should fail only it, got {failing:?}"
    );
    assert_eq!(failing[0].rule, rule);
    let expected_column = fabrik_model::rule(rule).expect("known rule").column;
    assert_eq!(failing[0].column, expected_column, "{rule}");
    assert_ne!(failing[0].rule, PARSE_RULE);
    assert!(
        failing[0].reason.contains(shows),
        "{rule}: reason {:?} lacks {shows:?}",
        failing[0].reason
    );
}

#[test]
fn base_rows_are_valid() {
    for table in Table::ALL {
        let names: Vec<&str> = base(table).iter().map(|(c, _)| *c).collect();
        let schema: Vec<&str> = table.fields().iter().map(|f| f.name).collect();
        assert_eq!(
            names, schema,
            "{table}: base row must list every column in order"
        );
        let (_, v) =
            validate_text_batch(table, &rows(table, &[&[]]), &fixture_options()).expect("validate");
        assert!(v.is_clean(), "{table}: {:?}", v.violations);
    }
}

#[test]
fn every_rule_passes_and_fails_as_described() {
    let mut covered = HashSet::new();
    for case in CASES {
        let rule =
            fabrik_model::rule(case.rule).unwrap_or_else(|| panic!("unknown rule {}", case.rule));
        run(rule.table, case.rule, case.pass, case.fail, case.shows);
        assert!(covered.insert(case.rule), "two cases for {}", case.rule);
    }
    // not_null rules: the base row passes, the column emptied fails.
    for table in Table::ALL {
        for rule in table.rules().iter().filter(|r| r.check == Check::NotNull) {
            run(
                table,
                rule.id,
                &[],
                &[(rule.column, "")],
                &format!("{} is null", rule.column),
            );
            covered.insert(rule.id);
        }
    }
    let uncovered: Vec<&str> = Table::ALL
        .iter()
        .flat_map(|t| t.rules())
        .map(|r| r.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(uncovered.is_empty(), "rules without a case: {uncovered:?}");
}
