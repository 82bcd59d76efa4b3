//! Validation rules per domain table, as data.
//!
//! A [`Rule`] names one column, one [`Check`] and a readable statement of what is expected.
//! The rules of a table ([`rules`], or [`Table::rules`]) are applied to a whole Arrow
//! `RecordBatch` at once by [`validate`](crate::validate()), one vectorized pass per rule.
//!
//! Rule ids are stable and read `<table>.<column>.<what>`, such as
//! `deliveries.received_at.not_before_ordered`; rejects and reports carry them, so do not
//! rename one lightly. Within a table, rules are listed in the order violations of one row
//! are reported: first the `not_null` rule of every non-nullable column (in schema order),
//! then the others, roughly in schema order.
//!
//! Null handling: a check other than [`Check::NotNull`], [`Check::NotNullWhen`] and
//! [`Check::BothOrNeither`] passes on a null value (and a comparison passes when either side
//! is null), so a missing value is reported once, by the rule about presence.
//!
//! ```
//! use fabrik_model::{Check, Table};
//! let rule = fabrik_model::rule("deliveries.received_at.not_before_ordered").expect("known rule");
//! assert_eq!(rule.table, Table::Deliveries);
//! assert!(matches!(rule.check, Check::Compare { other: "ordered_at", .. }));
//! assert!(Table::Orders.rules().iter().any(|r| r.column == "quantity"));
//! ```

use crate::schema::{ORDER_OPTION_COLUMNS, Table};
use crate::vocab;

/// One validation rule of one table: a check on one column, as data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Stable id, `<table>.<column>.<what>`, e.g. `deliveries.received_at.not_before_ordered`.
    pub id: &'static str,
    /// The table the rule belongs to.
    pub table: Table,
    /// The column a violation is reported on.
    pub column: &'static str,
    /// What is checked.
    pub check: Check,
    /// What is expected, in words (`"quantity must be > 0"`).
    pub reason: &'static str,
}

impl Rule {
    /// Every column the rule reads: its own, then the one it is compared with or depends on.
    pub fn columns(&self) -> impl Iterator<Item = &'static str> + use<> {
        std::iter::once(self.column).chain(self.check.other_column())
    }
}

/// What a [`Rule`] checks on its column. Unless a variant says otherwise, a null value passes
/// (presence is the business of [`Check::NotNull`] and its conditional forms).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Check {
    /// The value is not null.
    NotNull,
    /// Text: the value is one of these (exact, case-sensitive).
    OneOf(&'static [&'static str]),
    /// `UInt8` codes: the value is one of these.
    OneOfU8(&'static [u8]),
    /// `Float64`: the value is finite (not NaN, not ±infinity).
    Finite,
    /// Number: the value lies within the bounds. Non-finite floats pass (they are
    /// [`Check::Finite`]'s to report).
    Range {
        /// Lower bound, if any.
        min: Option<f64>,
        /// Upper bound, if any.
        max: Option<f64>,
        /// The lower bound itself fails (`> min` rather than `>= min`).
        min_exclusive: bool,
        /// The upper bound itself fails (`< max` rather than `<= max`).
        max_exclusive: bool,
    },
    /// Text: exactly `len` ASCII uppercase letters `A`–`Z` (ISO country codes and the like).
    UppercaseLetters {
        /// The number of letters.
        len: usize,
    },
    /// Timestamp: not before `ValidateOptions::min_time_us` and not after the latest
    /// plausible time for its [`TimeKind`].
    PlausibleTime(TimeKind),
    /// The column compared with another column of the same row: `column op other`, the
    /// other side widened by `tolerance`. Passes when either side is null.
    Compare {
        /// The column on the right-hand side.
        other: &'static str,
        /// The comparison that must hold.
        op: CmpOp,
        /// Slack granted to the comparison (numbers only).
        tolerance: Tolerance,
    },
    /// The value is not null in rows where the condition holds.
    NotNullWhen(When),
    /// The value is null in rows where the condition holds.
    NullWhen(When),
    /// The column and `other` are either both null or both set.
    BothOrNeither {
        /// The column that goes with this one.
        other: &'static str,
    },
}

impl Check {
    /// The other column the check reads, if any.
    pub fn other_column(&self) -> Option<&'static str> {
        match *self {
            Check::Compare { other, .. } | Check::BothOrNeither { other } => Some(other),
            Check::NotNullWhen(when) | Check::NullWhen(when) => Some(when.column()),
            Check::NotNull
            | Check::OneOf(_)
            | Check::OneOfU8(_)
            | Check::Finite
            | Check::Range { .. }
            | Check::UppercaseLetters { .. }
            | Check::PlausibleTime(_) => None,
        }
    }
}

/// Which latest time a [`Check::PlausibleTime`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeKind {
    /// Something that happened (a reading, an order placed, goods received): at most
    /// `ValidateOptions::max_future` after now (clock skew).
    Event,
    /// A date promised for the future (delivery dates): at most
    /// `ValidateOptions::max_plan_ahead` after now.
    Planned,
}

/// The comparison a [`Check::Compare`] requires between its column and the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `column < other`.
    Lt,
    /// `column <= other`.
    Le,
    /// `column > other`.
    Gt,
    /// `column >= other`.
    Ge,
}

impl CmpOp {
    /// The operator as in SQL (`<`, `<=`, `>`, `>=`).
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Slack granted to a numeric [`Check::Compare`]: the other side is moved by `t` in the
/// permissive direction (`other + t` for `<`/`<=`, `other - t` for `>`/`>=`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// No slack.
    None,
    /// `t` is this absolute amount, in the column's unit.
    Absolute(f64),
    /// `t = |other| × fraction` (`0.1` is 10 %).
    Relative(f64),
    /// Relative, by `ValidateOptions::delivery_tolerance` (default 10 %): how much more than
    /// ordered a supplier may deliver.
    DeliveryOverage,
}

/// The condition of a [`Check::NotNullWhen`] / [`Check::NullWhen`]: another column of the
/// same row holds one of some values. A null in that column never meets the condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A text column holds one of these values.
    TextIn {
        /// The column tested.
        column: &'static str,
        /// The values that meet the condition.
        values: &'static [&'static str],
    },
    /// A `UInt8` code column holds one of these codes.
    U8In {
        /// The column tested.
        column: &'static str,
        /// The codes that meet the condition.
        values: &'static [u8],
    },
}

impl When {
    /// The column the condition tests.
    pub fn column(&self) -> &'static str {
        match *self {
            When::TextIn { column, .. } | When::U8In { column, .. } => column,
        }
    }
}

/// Product families whose machines have a drum, so orders must carry `capacity_kg`.
pub const LAUNDRY_FAMILIES: [&str; 3] = ["washing_machine", "dryer", "washer_dryer"];

/// Product families without a drum: their orders leave `capacity_kg` null.
pub const NON_LAUNDRY_FAMILIES: [&str; 2] = ["dishwasher", "fridge"];

/// Machine states whose `reason` must be null (the complement of
/// [`vocab::STATES_WITH_REASON`]).
pub const STATES_WITHOUT_REASON: [&str; 2] = ["RUNNING", "IDLE"];

/// The smallest drum an order may specify, in kg.
pub const MIN_CAPACITY_KG: f64 = 3.0;

/// The largest drum an order may specify, in kg.
pub const MAX_CAPACITY_KG: f64 = 20.0;

/// The rules of a table, in reporting order.
pub fn rules(table: Table) -> &'static [Rule] {
    match table {
        SensorReadings => SENSOR_READINGS,
        MachineStates => MACHINE_STATES,
        ProductionCounts => PRODUCTION_COUNTS,
        Orders => ORDERS,
        Suppliers => SUPPLIERS,
        Deliveries => DELIVERIES,
        Bom => BOM,
        Inventory => INVENTORY,
    }
}

/// The rule with this id, in any table.
pub fn rule(id: &str) -> Option<&'static Rule> {
    Table::ALL
        .iter()
        .flat_map(|&t| rules(t))
        .find(|r| r.id == id)
}

impl Table {
    /// The validation rules of the table, in reporting order (see [`rules`]).
    pub fn rules(self) -> &'static [Rule] {
        rules(self)
    }
}

const fn def(
    id: &'static str,
    table: Table,
    column: &'static str,
    check: Check,
    reason: &'static str,
) -> Rule {
    Rule {
        id,
        table,
        column,
        check,
        reason,
    }
}

const fn at_least(min: f64) -> Check {
    Check::Range {
        min: Some(min),
        max: None,
        min_exclusive: false,
        max_exclusive: false,
    }
}

const fn above(min: f64) -> Check {
    Check::Range {
        min: Some(min),
        max: None,
        min_exclusive: true,
        max_exclusive: false,
    }
}

const fn compare(other: &'static str, op: CmpOp) -> Check {
    Check::Compare {
        other,
        op,
        tolerance: Tolerance::None,
    }
}

/// The rules of one table: the `not_null` rule of each listed column, then the others.
macro_rules! table_rules {
    ($table:ident, $name:literal, not_null: [$($col:literal),* $(,)?], [$($rule:expr),* $(,)?]) => {
        &[
            $(Rule {
                id: concat!($name, ".", $col, ".not_null"),
                table: Table::$table,
                column: $col,
                check: Check::NotNull,
                reason: concat!($col, " is required"),
            },)*
            $($rule,)*
        ]
    };
}

use Table::{
    Bom, Deliveries, Inventory, MachineStates, Orders, ProductionCounts, SensorReadings, Suppliers,
};

const EVENT: Check = Check::PlausibleTime(TimeKind::Event);
const PLANNED: Check = Check::PlausibleTime(TimeKind::Planned);

static SENSOR_READINGS: &[Rule] = table_rules!(
    SensorReadings, "sensor_readings",
    not_null: ["plant_id", "line_id", "machine_id", "sensor_id", "metric", "ts", "quality"],
    [
        def("sensor_readings.metric.known", SensorReadings, "metric", Check::OneOf(&vocab::METRICS),
            "metric must be one of temperature, vibration, current, pressure, spin_rpm"),
        def("sensor_readings.ts.plausible", SensorReadings, "ts", EVENT,
            "ts must be a plausible time: not before the earliest time, not in the future"),
        def("sensor_readings.value.finite", SensorReadings, "value", Check::Finite,
            "value must be a finite number"),
        def("sensor_readings.value.required_when_good", SensorReadings, "value",
            Check::NotNullWhen(When::U8In { column: "quality", values: &[vocab::QUALITY_GOOD] }),
            "value is required when quality is good (0)"),
        def("sensor_readings.quality.known", SensorReadings, "quality", Check::OneOfU8(&vocab::QUALITY_CODES),
            "quality must be a quality code: 0 good, 1 uncertain, 2 bad, 3 sensor fault"),
    ]
);

static MACHINE_STATES: &[Rule] = table_rules!(
    MachineStates, "machine_states",
    not_null: ["plant_id", "line_id", "machine_id", "state", "start_ts", "end_ts"],
    [
        def("machine_states.state.known", MachineStates, "state", Check::OneOf(&vocab::MACHINE_STATES),
            "state must be one of RUNNING, IDLE, SETUP, DOWN, PLANNED_STOP"),
        def("machine_states.reason.required_when_stopped", MachineStates, "reason",
            Check::NotNullWhen(When::TextIn { column: "state", values: &vocab::STATES_WITH_REASON }),
            "reason is required when state is SETUP, DOWN or PLANNED_STOP"),
        def("machine_states.reason.null_when_running", MachineStates, "reason",
            Check::NullWhen(When::TextIn { column: "state", values: &STATES_WITHOUT_REASON }),
            "reason must be null when state is RUNNING or IDLE"),
        def("machine_states.start_ts.plausible", MachineStates, "start_ts", EVENT,
            "start_ts must be a plausible time: not before the earliest time, not in the future"),
        def("machine_states.end_ts.plausible", MachineStates, "end_ts", EVENT,
            "end_ts must be a plausible time: not before the earliest time, not in the future"),
        def("machine_states.end_ts.after_start", MachineStates, "end_ts", compare("start_ts", CmpOp::Gt),
            "end_ts must be after start_ts"),
    ]
);

static PRODUCTION_COUNTS: &[Rule] = table_rules!(
    ProductionCounts, "production_counts",
    not_null: ["plant_id", "line_id", "machine_id", "ts", "order_id", "sku", "good_qty", "scrap_qty", "ideal_cycle_s"],
    [
        def("production_counts.ts.plausible", ProductionCounts, "ts", EVENT,
            "ts must be a plausible time: not before the earliest time, not in the future"),
        def("production_counts.good_qty.non_negative", ProductionCounts, "good_qty", at_least(0.0),
            "good_qty must be >= 0"),
        def("production_counts.scrap_qty.non_negative", ProductionCounts, "scrap_qty", at_least(0.0),
            "scrap_qty must be >= 0"),
        def("production_counts.ideal_cycle_s.finite", ProductionCounts, "ideal_cycle_s", Check::Finite,
            "ideal_cycle_s must be a finite number"),
        def("production_counts.ideal_cycle_s.positive", ProductionCounts, "ideal_cycle_s", above(0.0),
            "ideal_cycle_s must be > 0"),
    ]
);

static ORDERS: &[Rule] = table_rules!(
    Orders, "orders",
    not_null: ["order_id", "customer_id", "created_at", "channel", "region", "product_family", "sku",
        "color", "motor", "panel", "quantity", "unit_price", "status"],
    [
        def("orders.created_at.plausible", Orders, "created_at", EVENT,
            "created_at must be a plausible time: not before the earliest time, not in the future"),
        def("orders.channel.known", Orders, "channel", Check::OneOf(&vocab::CHANNELS),
            "channel must be one of web, app, retail, b2b, marketplace"),
        def("orders.product_family.known", Orders, "product_family", Check::OneOf(&vocab::PRODUCT_FAMILIES),
            "product_family must be one of washing_machine, dryer, washer_dryer, dishwasher, fridge"),
        def("orders.capacity_kg.in_range", Orders, "capacity_kg",
            Check::Range { min: Some(MIN_CAPACITY_KG), max: Some(MAX_CAPACITY_KG), min_exclusive: false, max_exclusive: false },
            "capacity_kg must be within 3..=20"),
        def("orders.capacity_kg.required_for_laundry", Orders, "capacity_kg",
            Check::NotNullWhen(When::TextIn { column: "product_family", values: &LAUNDRY_FAMILIES }),
            "capacity_kg is required for washing_machine, dryer and washer_dryer"),
        def("orders.capacity_kg.null_for_non_laundry", Orders, "capacity_kg",
            Check::NullWhen(When::TextIn { column: "product_family", values: &NON_LAUNDRY_FAMILIES }),
            "capacity_kg must be null for dishwasher and fridge"),
        def("orders.motor.known", Orders, "motor", Check::OneOf(&vocab::MOTORS),
            "motor must be one of standard, inverter, direct_drive"),
        def("orders.panel.known", Orders, "panel", Check::OneOf(&vocab::PANELS),
            "panel must be one of basic, touch, smart_wifi"),
        def("orders.quantity.positive", Orders, "quantity", above(0.0),
            "quantity must be > 0"),
        def("orders.unit_price.finite", Orders, "unit_price", Check::Finite,
            "unit_price must be a finite number"),
        def("orders.unit_price.non_negative", Orders, "unit_price", at_least(0.0),
            "unit_price must be >= 0"),
        def("orders.promised_at.plausible", Orders, "promised_at", PLANNED,
            "promised_at must be a plausible time: not before the earliest time, not too far ahead"),
        def("orders.promised_at.not_before_created", Orders, "promised_at", compare("created_at", CmpOp::Ge),
            "promised_at must not be before created_at"),
        def("orders.status.known", Orders, "status", Check::OneOf(&vocab::ORDER_STATUSES),
            "status must be one of placed, confirmed, in_production, shipped, delivered, cancelled"),
    ]
);

static SUPPLIERS: &[Rule] = table_rules!(
    Suppliers, "suppliers",
    not_null: ["supplier_id", "name", "country", "category", "contract_lead_time_days"],
    [
        def("suppliers.country.iso_alpha2", Suppliers, "country", Check::UppercaseLetters { len: 2 },
            "country must be an ISO 3166-1 alpha-2 code: 2 uppercase letters"),
        def("suppliers.category.known", Suppliers, "category", Check::OneOf(&vocab::SUPPLIER_CATEGORIES),
            "category must be one of motors, electronics, drums, sheet_metal, plastics, hoses, packaging"),
        def("suppliers.contract_lead_time_days.positive", Suppliers, "contract_lead_time_days", above(0.0),
            "contract_lead_time_days must be > 0"),
    ]
);

static DELIVERIES: &[Rule] = table_rules!(
    Deliveries, "deliveries",
    not_null: ["po_id", "supplier_id", "part_id", "qty_ordered", "ordered_at", "promised_at", "unit_price"],
    [
        def("deliveries.qty_ordered.positive", Deliveries, "qty_ordered", above(0.0),
            "qty_ordered must be > 0"),
        def("deliveries.ordered_at.plausible", Deliveries, "ordered_at", EVENT,
            "ordered_at must be a plausible time: not before the earliest time, not in the future"),
        def("deliveries.promised_at.plausible", Deliveries, "promised_at", PLANNED,
            "promised_at must be a plausible time: not before the earliest time, not too far ahead"),
        def("deliveries.promised_at.not_before_ordered", Deliveries, "promised_at", compare("ordered_at", CmpOp::Ge),
            "promised_at must not be before ordered_at"),
        def("deliveries.received_at.plausible", Deliveries, "received_at", EVENT,
            "received_at must be a plausible time: not before the earliest time, not in the future"),
        def("deliveries.received_at.not_before_ordered", Deliveries, "received_at", compare("ordered_at", CmpOp::Ge),
            "received_at must not be before ordered_at"),
        def("deliveries.qty_received.non_negative", Deliveries, "qty_received", at_least(0.0),
            "qty_received must be >= 0"),
        def("deliveries.qty_received.within_tolerance", Deliveries, "qty_received",
            Check::Compare { other: "qty_ordered", op: CmpOp::Le, tolerance: Tolerance::DeliveryOverage },
            "qty_received must not exceed qty_ordered by more than the delivery tolerance (default 10 %)"),
        def("deliveries.qty_received.with_received_at", Deliveries, "qty_received",
            Check::BothOrNeither { other: "received_at" },
            "qty_received and received_at must be both set (received) or both null (open)"),
        def("deliveries.qty_rejected.non_negative", Deliveries, "qty_rejected", at_least(0.0),
            "qty_rejected must be >= 0"),
        def("deliveries.qty_rejected.not_above_received", Deliveries, "qty_rejected", compare("qty_received", CmpOp::Le),
            "qty_rejected must not exceed qty_received"),
        def("deliveries.unit_price.finite", Deliveries, "unit_price", Check::Finite,
            "unit_price must be a finite number"),
        def("deliveries.unit_price.positive", Deliveries, "unit_price", above(0.0),
            "unit_price must be > 0"),
    ]
);

static BOM: &[Rule] = table_rules!(
    Bom, "bom",
    not_null: ["product_family", "part_id", "qty_per"],
    [
        def("bom.product_family.known", Bom, "product_family", Check::OneOf(&vocab::PRODUCT_FAMILIES),
            "product_family must be one of washing_machine, dryer, washer_dryer, dishwasher, fridge"),
        def("bom.option.known", Bom, "option", Check::OneOf(&ORDER_OPTION_COLUMNS),
            "option must name an option column of orders: capacity_kg, color, motor, panel"),
        def("bom.option.with_option_value", Bom, "option", Check::BothOrNeither { other: "option_value" },
            "option and option_value must be both set (option part) or both null (base part)"),
        def("bom.qty_per.finite", Bom, "qty_per", Check::Finite,
            "qty_per must be a finite number"),
        def("bom.qty_per.positive", Bom, "qty_per", above(0.0),
            "qty_per must be > 0"),
    ]
);

static INVENTORY: &[Rule] = table_rules!(
    Inventory, "inventory",
    not_null: ["plant_id", "part_id", "ts", "on_hand", "on_order"],
    [
        def("inventory.ts.plausible", Inventory, "ts", EVENT,
            "ts must be a plausible time: not before the earliest time, not in the future"),
        def("inventory.on_hand.non_negative", Inventory, "on_hand", at_least(0.0),
            "on_hand must be >= 0"),
        def("inventory.on_order.non_negative", Inventory, "on_order", at_least(0.0),
            "on_order must be >= 0"),
    ]
);

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::schema::FieldType;

    #[test]
    fn rule_ids_are_unique_and_name_table_and_column() {
        let mut seen = HashSet::new();
        for t in Table::ALL {
            for r in t.rules() {
                assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
                assert_eq!(r.table, t, "{} listed under {t}", r.id);
                let prefix = format!("{}.{}.", t.name(), r.column);
                assert!(
                    r.id.starts_with(&prefix),
                    "{} does not start with {prefix}",
                    r.id
                );
                assert!(r.id.len() > prefix.len(), "{} has no check name", r.id);
                assert!(
                    r.reason.contains(r.column),
                    "reason of {} does not name {}",
                    r.id,
                    r.column
                );
                assert_eq!(rule(r.id), Some(r));
            }
        }
        assert!(rule("orders.nope.nope").is_none());
    }

    #[test]
    fn every_rule_column_exists_with_a_type_its_check_supports() {
        for t in Table::ALL {
            for r in t.rules() {
                for c in r.columns() {
                    assert!(t.field(c).is_ok(), "{}: column {c} not in {t}", r.id);
                }
                let ty = t.field(r.column).expect("checked above").ty;
                let ok = match r.check {
                    Check::NotNull
                    | Check::NullWhen(_)
                    | Check::NotNullWhen(_)
                    | Check::BothOrNeither { .. } => true,
                    Check::OneOf(_) | Check::UppercaseLetters { .. } => ty == FieldType::Text,
                    Check::OneOfU8(_) => ty == FieldType::UInt8,
                    Check::Finite => ty == FieldType::Float64,
                    Check::Range { .. } => {
                        matches!(
                            ty,
                            FieldType::Int16
                                | FieldType::Int32
                                | FieldType::Int64
                                | FieldType::UInt8
                                | FieldType::Float64
                        )
                    }
                    Check::PlausibleTime(_) => ty == FieldType::Timestamp,
                    Check::Compare {
                        other, tolerance, ..
                    } => {
                        let other_ty = t.field(other).expect("checked above").ty;
                        let numeric = !matches!(ty, FieldType::Text | FieldType::Timestamp);
                        (other_ty == ty
                            || (numeric
                                && !matches!(other_ty, FieldType::Text | FieldType::Timestamp)))
                            && (numeric || tolerance == Tolerance::None)
                    }
                };
                assert!(
                    ok,
                    "{}: check {:?} does not apply to a {ty:?} column",
                    r.id, r.check
                );
                match r.check {
                    Check::NotNullWhen(When::TextIn { column, .. })
                    | Check::NullWhen(When::TextIn { column, .. }) => {
                        assert_eq!(
                            t.field(column).expect("exists").ty,
                            FieldType::Text,
                            "{}",
                            r.id
                        );
                    }
                    Check::NotNullWhen(When::U8In { column, .. })
                    | Check::NullWhen(When::U8In { column, .. }) => {
                        assert_eq!(
                            t.field(column).expect("exists").ty,
                            FieldType::UInt8,
                            "{}",
                            r.id
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn every_non_nullable_column_has_a_not_null_rule_and_only_those() {
        for t in Table::ALL {
            for f in t.fields() {
                let has = t
                    .rules()
                    .iter()
                    .any(|r| r.column == f.name && r.check == Check::NotNull);
                assert_eq!(
                    has, !f.nullable,
                    "{t}.{}: nullable={} but NotNull rule present={has}",
                    f.name, f.nullable
                );
            }
        }
    }

    #[test]
    fn not_null_rules_come_first_in_schema_order() {
        for t in Table::ALL {
            let nn: Vec<_> = t
                .rules()
                .iter()
                .take_while(|r| r.check == Check::NotNull)
                .map(|r| r.column)
                .collect();
            let required: Vec<_> = t
                .fields()
                .iter()
                .filter(|f| !f.nullable)
                .map(|f| f.name)
                .collect();
            assert_eq!(nn, required, "{t}");
        }
    }

    #[test]
    fn derived_vocabularies_partition_the_closed_ones() {
        let mut families: Vec<_> = LAUNDRY_FAMILIES
            .iter()
            .chain(&NON_LAUNDRY_FAMILIES)
            .copied()
            .collect();
        families.sort_unstable();
        let mut all = vocab::PRODUCT_FAMILIES.to_vec();
        all.sort_unstable();
        assert_eq!(families, all);
        let mut states: Vec<_> = STATES_WITHOUT_REASON
            .iter()
            .chain(&vocab::STATES_WITH_REASON)
            .copied()
            .collect();
        states.sort_unstable();
        let mut all = vocab::MACHINE_STATES.to_vec();
        all.sort_unstable();
        assert_eq!(states, all);
    }

    #[test]
    fn enum_reasons_list_their_vocabulary() {
        for t in Table::ALL {
            for r in t.rules() {
                if let Check::OneOf(values) = r.check {
                    for v in values {
                        assert!(r.reason.contains(v), "{}: reason does not list {v}", r.id);
                    }
                }
            }
        }
    }
}
