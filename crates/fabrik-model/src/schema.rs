//! Arrow schemas of fabrik's domain tables.
//!
//! Every table is described once, as data ([`FieldSpec`]: name, type, nullability, unit and
//! meaning), and the Arrow [`Schema`] is built from that description. Each field carries its
//! unit and doc in the field metadata (keys [`META_UNIT`] and [`META_DOC`]), so they travel
//! with the Parquet files fabrik writes.
//!
//! Conventions: timestamps are `Timestamp(Microsecond, "UTC")`; money is `Float64` in the
//! plant's currency; identifiers are UTF-8 strings (dictionary-encoded on disk).
//!
//! Orders carry the options a consumer chose as **one typed column each** (`capacity_kg`,
//! `color`, `motor`, `panel`), not a map: each option is then a plain, dictionary-encoded,
//! statistics-pruned Parquet column that SQL can group by directly, and a new option is a
//! schema evolution (a new nullable column). [`ORDER_OPTION_COLUMNS`] lists them.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};

/// Field metadata key holding a field's unit (absent for unitless fields).
pub const META_UNIT: &str = "fabrik.unit";
/// Field metadata key holding a field's one-line meaning.
pub const META_DOC: &str = "fabrik.doc";

/// The time zone of every fabrik timestamp column.
pub const UTC: &str = "UTC";

/// The Arrow type of every fabrik timestamp: microseconds since the Unix epoch, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
}

/// The logical type of a domain field; maps one-to-one to an Arrow [`DataType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// UTF-8 text (`Utf8`).
    Text,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `UInt8` (codes, such as sensor quality).
    UInt8,
    /// `Float64`.
    Float64,
    /// `Timestamp(Microsecond, "UTC")`.
    Timestamp,
}

impl FieldType {
    /// The Arrow data type of this field type.
    pub fn data_type(self) -> DataType {
        match self {
            Text => DataType::Utf8,
            Int16 => DataType::Int16,
            Int32 => DataType::Int32,
            Int64 => DataType::Int64,
            UInt8 => DataType::UInt8,
            Float64 => DataType::Float64,
            Timestamp => timestamp_type(),
        }
    }
}

/// One column of a domain table, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Column name (snake_case, as in SQL).
    pub name: &'static str,
    /// Logical type.
    pub ty: FieldType,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// Unit of measure, if any (`"s"`, `"kg"`, `"°C"`, `"currency"`, …).
    pub unit: Option<&'static str>,
    /// What the column means.
    pub doc: &'static str,
}

impl FieldSpec {
    /// The Arrow field, with unit and doc in its metadata.
    pub fn to_field(&self) -> Field {
        let mut meta = HashMap::from([(META_DOC.to_string(), self.doc.to_string())]);
        if let Some(unit) = self.unit {
            meta.insert(META_UNIT.to_string(), unit.to_string());
        }
        Field::new(self.name, self.ty.data_type(), self.nullable).with_metadata(meta)
    }
}

const fn req(
    name: &'static str,
    ty: FieldType,
    unit: Option<&'static str>,
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        nullable: false,
        unit,
        doc,
    }
}

const fn opt(
    name: &'static str,
    ty: FieldType,
    unit: Option<&'static str>,
    doc: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        nullable: true,
        unit,
        doc,
    }
}

use FieldType::{Float64, Int16, Int32, Int64, Text, Timestamp, UInt8};

/// The domain tables of a build-to-order plant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// IoT telemetry, long format, one row per reading; sorted by (sensor_id, ts) in each file.
    SensorReadings,
    /// Non-overlapping state intervals per machine (RUNNING, IDLE, SETUP, DOWN, PLANNED_STOP).
    MachineStates,
    /// Units built per machine and counting interval, good and scrap.
    ProductionCounts,
    /// Consumers' customised orders, one row per order line, options as columns.
    Orders,
    /// The plant's suppliers.
    Suppliers,
    /// Purchase-order deliveries from suppliers, one row per (po, part, lot).
    Deliveries,
    /// Bill of materials: base parts per product family plus option-specific parts.
    Bom,
    /// Inventory snapshots per plant and part.
    Inventory,
}

impl Table {
    /// Every domain table, in a stable order.
    pub const ALL: [Table; 8] = [
        Table::SensorReadings,
        Table::MachineStates,
        Table::ProductionCounts,
        Table::Orders,
        Table::Suppliers,
        Table::Deliveries,
        Table::Bom,
        Table::Inventory,
    ];

    /// The SQL table name (`sensor_readings`, `orders`, …).
    pub fn name(self) -> &'static str {
        match self {
            Table::SensorReadings => "sensor_readings",
            Table::MachineStates => "machine_states",
            Table::ProductionCounts => "production_counts",
            Table::Orders => "orders",
            Table::Suppliers => "suppliers",
            Table::Deliveries => "deliveries",
            Table::Bom => "bom",
            Table::Inventory => "inventory",
        }
    }

    /// The table with this SQL name.
    ///
    /// ```
    /// # use fabrik_model::Table;
    /// assert_eq!(Table::from_name("orders")?, Table::Orders);
    /// assert!(Table::from_name("order").is_err());
    /// # Ok::<(), fabrik_model::Error>(())
    /// ```
    pub fn from_name(name: &str) -> Result<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::UnknownTable {
                name: name.to_string(),
            })
    }

    /// One line on what the table holds.
    pub fn doc(self) -> &'static str {
        match self {
            Table::SensorReadings => {
                "IoT telemetry from the lines, long format, one row per reading, sorted by (sensor_id, ts) within each file"
            }
            Table::MachineStates => {
                "state intervals per machine, without overlap: RUNNING, IDLE, SETUP, DOWN, PLANNED_STOP"
            }
            Table::ProductionCounts => {
                "units built per machine and counting interval, good and scrap, with the ideal cycle time of the configuration"
            }
            Table::Orders => {
                "consumers' customised orders, one row per order line, the chosen options one column each"
            }
            Table::Suppliers => "the plant's suppliers",
            Table::Deliveries => {
                "deliveries against purchase orders, one row per (po_id, part_id, lot_id)"
            }
            Table::Bom => {
                "bill of materials: base parts per product family (option null) plus option-specific parts"
            }
            Table::Inventory => "inventory snapshots per plant and part",
        }
    }

    /// The columns of the table, as data.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Table::SensorReadings => SENSOR_READINGS,
            Table::MachineStates => MACHINE_STATES,
            Table::ProductionCounts => PRODUCTION_COUNTS,
            Table::Orders => ORDERS,
            Table::Suppliers => SUPPLIERS,
            Table::Deliveries => DELIVERIES,
            Table::Bom => BOM,
            Table::Inventory => INVENTORY,
        }
    }

    /// The Arrow schema of the table (with units and docs in field metadata).
    pub fn schema(self) -> SchemaRef {
        let fields: Vec<Field> = self.fields().iter().map(FieldSpec::to_field).collect();
        let meta = HashMap::from([
            ("fabrik.table".to_string(), self.name().to_string()),
            (META_DOC.to_string(), self.doc().to_string()),
        ]);
        Arc::new(Schema::new(fields).with_metadata(meta))
    }

    /// The spec of one column.
    pub fn field(self, name: &str) -> Result<&'static FieldSpec> {
        self.fields()
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::UnknownColumn {
                table: self.name(),
                column: name.to_string(),
            })
    }

    /// The columns that identify a row; rows with equal keys are duplicates (resent data).
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Table::SensorReadings => &["sensor_id", "ts"],
            Table::MachineStates => &["machine_id", "start_ts"],
            Table::ProductionCounts => &["machine_id", "ts", "order_id"],
            Table::Orders => &["order_id"],
            Table::Suppliers => &["supplier_id"],
            Table::Deliveries => &["po_id", "part_id", "lot_id"],
            Table::Bom => &["product_family", "option", "option_value", "part_id"],
            Table::Inventory => &["plant_id", "part_id", "ts"],
        }
    }

    /// The order rows are written in inside each file (empty: no declared order).
    pub fn sort_order(self) -> &'static [&'static str] {
        match self {
            Table::SensorReadings => &["sensor_id", "ts"],
            Table::MachineStates => &["machine_id", "start_ts"],
            Table::ProductionCounts => &["machine_id", "ts"],
            Table::Orders => &["created_at"],
            Table::Deliveries => &["ordered_at"],
            Table::Inventory => &["part_id", "ts"],
            Table::Suppliers | Table::Bom => &[],
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The option columns of `orders`: what a consumer picks when configuring a machine.
pub const ORDER_OPTION_COLUMNS: [&str; 4] = ["capacity_kg", "color", "motor", "panel"];

const SENSOR_READINGS: &[FieldSpec] = &[
    req("plant_id", Text, None, "plant, e.g. P01"),
    req("line_id", Text, None, "assembly line, e.g. P01-L02"),
    req(
        "machine_id",
        Text,
        None,
        "machine (station) on the line, e.g. P01-L02-M07",
    ),
    req(
        "sensor_id",
        Text,
        None,
        "sensor, unique in the company, e.g. S000123",
    ),
    req(
        "metric",
        Text,
        None,
        "what the sensor measures: temperature, vibration, current, pressure or spin_rpm (unit in units_of_metric)",
    ),
    req("ts", Timestamp, None, "time of the reading (UTC)"),
    opt(
        "value",
        Float64,
        Some("metric unit"),
        "the reading, in the unit of its metric; null only when quality is not good",
    ),
    req(
        "quality",
        UInt8,
        None,
        "OPC-UA-style quality code: 0 good, 1 uncertain, 2 bad, 3 sensor fault",
    ),
];

const MACHINE_STATES: &[FieldSpec] = &[
    req("plant_id", Text, None, "plant"),
    req("line_id", Text, None, "assembly line"),
    req("machine_id", Text, None, "machine"),
    req(
        "state",
        Text,
        None,
        "RUNNING, IDLE, SETUP, DOWN or PLANNED_STOP",
    ),
    opt(
        "reason",
        Text,
        None,
        "why: the failure for DOWN, the break or shift change for PLANNED_STOP, the configuration change for SETUP; null for RUNNING and IDLE",
    ),
    req(
        "start_ts",
        Timestamp,
        None,
        "start of the interval (inclusive)",
    ),
    req(
        "end_ts",
        Timestamp,
        None,
        "end of the interval (exclusive); after start_ts",
    ),
    opt(
        "order_id",
        Int64,
        None,
        "the order being built while RUNNING or set up for while SETUP",
    ),
];

const PRODUCTION_COUNTS: &[FieldSpec] = &[
    req("plant_id", Text, None, "plant"),
    req("line_id", Text, None, "assembly line"),
    req("machine_id", Text, None, "machine that reported the count"),
    req("ts", Timestamp, None, "end of the counting interval"),
    req(
        "order_id",
        Int64,
        None,
        "the order the units were built for",
    ),
    req("sku", Text, None, "configuration built (see orders.sku)"),
    req(
        "good_qty",
        Int32,
        Some("units"),
        "units that passed inspection in the interval",
    ),
    req(
        "scrap_qty",
        Int32,
        Some("units"),
        "units scrapped in the interval",
    ),
    req(
        "ideal_cycle_s",
        Float64,
        Some("s"),
        "ideal cycle time of this configuration on this machine, per unit",
    ),
    opt(
        "lot_id",
        Text,
        None,
        "supplier lot of the critical part built in (see deliveries.lot_id)",
    ),
];

const ORDERS: &[FieldSpec] = &[
    req(
        "order_id",
        Int64,
        None,
        "order line id, increasing with created_at",
    ),
    req(
        "customer_id",
        Text,
        None,
        "pseudonymous customer id (personal data: never joined to names here)",
    ),
    req(
        "created_at",
        Timestamp,
        None,
        "when the consumer placed the order",
    ),
    req(
        "channel",
        Text,
        None,
        "web, app, retail, b2b or marketplace",
    ),
    req("region", Text, None, "sales region"),
    req(
        "product_family",
        Text,
        None,
        "washing_machine, dryer, washer_dryer, dishwasher or fridge",
    ),
    req(
        "sku",
        Text,
        None,
        "configuration code: family-capacity-motor-color-panel, e.g. WM-09-INV-GRA-SMT",
    ),
    opt(
        "capacity_kg",
        Int16,
        Some("kg"),
        "option: drum capacity; laundry families only, null for the others",
    ),
    req(
        "color",
        Text,
        None,
        "option: colour or made-to-order finish",
    ),
    req(
        "motor",
        Text,
        None,
        "option: standard, inverter or direct_drive",
    ),
    req(
        "panel",
        Text,
        None,
        "option: control panel, basic, touch or smart_wifi",
    ),
    req("quantity", Int32, Some("units"), "units ordered, > 0"),
    req(
        "unit_price",
        Float64,
        Some("currency"),
        "price paid per unit after discounts",
    ),
    opt(
        "promised_at",
        Timestamp,
        None,
        "delivery date promised to the consumer; null until confirmed",
    ),
    req(
        "status",
        Text,
        None,
        "placed, confirmed, in_production, shipped, delivered or cancelled",
    ),
];

const SUPPLIERS: &[FieldSpec] = &[
    req("supplier_id", Text, None, "supplier, e.g. SUP007"),
    req("name", Text, None, "company name"),
    req("country", Text, None, "ISO 3166-1 alpha-2 country code"),
    req(
        "category",
        Text,
        None,
        "what it supplies: motors, electronics, drums, sheet_metal, plastics, hoses, packaging",
    ),
    req(
        "contract_lead_time_days",
        Int32,
        Some("d"),
        "lead time agreed in the contract",
    ),
];

const DELIVERIES: &[FieldSpec] = &[
    req("po_id", Text, None, "purchase order"),
    req("supplier_id", Text, None, "supplier (see suppliers)"),
    req("part_id", Text, None, "part (see bom)"),
    req("qty_ordered", Int64, Some("units"), "units ordered, > 0"),
    req(
        "ordered_at",
        Timestamp,
        None,
        "when the purchase order was placed",
    ),
    req(
        "promised_at",
        Timestamp,
        None,
        "delivery date the supplier confirmed",
    ),
    opt(
        "received_at",
        Timestamp,
        None,
        "when the goods arrived; null while open",
    ),
    opt(
        "qty_received",
        Int64,
        Some("units"),
        "units received; null while open",
    ),
    opt(
        "qty_rejected",
        Int64,
        Some("units"),
        "units rejected at incoming inspection",
    ),
    req(
        "unit_price",
        Float64,
        Some("currency"),
        "price per unit on the purchase order",
    ),
    opt(
        "lot_id",
        Text,
        None,
        "supplier lot, for traceability into production_counts",
    ),
];

const BOM: &[FieldSpec] = &[
    req(
        "product_family",
        Text,
        None,
        "product family the part goes into",
    ),
    opt(
        "option",
        Text,
        None,
        "option column (see orders) the part depends on; null for base parts",
    ),
    opt(
        "option_value",
        Text,
        None,
        "the option's value that needs the part; null for base parts",
    ),
    req("part_id", Text, None, "part"),
    req(
        "qty_per",
        Float64,
        Some("units"),
        "units of the part per unit built, > 0",
    ),
];

const INVENTORY: &[FieldSpec] = &[
    req("plant_id", Text, None, "plant holding the stock"),
    req("part_id", Text, None, "part"),
    req("ts", Timestamp, None, "time of the snapshot"),
    req("on_hand", Int64, Some("units"), "units in stock, >= 0"),
    req(
        "on_order",
        Int64,
        Some("units"),
        "units on open purchase orders, >= 0",
    ),
];

/// The unit of a sensor metric (`value` of `sensor_readings` is in this unit).
pub fn unit_of_metric(metric: &str) -> Option<&'static str> {
    Some(match metric {
        "temperature" => "°C",
        "vibration" => "mm/s",
        "current" => "A",
        "pressure" => "bar",
        "spin_rpm" => "rpm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_unique_name_and_its_keys_exist() {
        let mut names: Vec<_> = Table::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Table::ALL.len());
        for t in Table::ALL {
            let schema = t.schema();
            for col in t.key().iter().chain(t.sort_order()) {
                assert!(
                    schema.field_with_name(col).is_ok(),
                    "{t}: key/sort column {col} missing"
                );
            }
            for f in t.fields() {
                assert!(!f.doc.is_empty(), "{t}.{} has no doc", f.name);
            }
            assert_eq!(Table::from_name(t.name()).ok(), Some(t));
        }
    }

    #[test]
    fn timestamps_are_utc_microseconds_and_metadata_travels() {
        let schema = Table::SensorReadings.schema();
        let ts = schema.field_with_name("ts").expect("ts");
        assert_eq!(ts.data_type(), &timestamp_type());
        assert!(!ts.is_nullable());
        let value = schema.field_with_name("value").expect("value");
        assert_eq!(
            value.metadata().get(META_UNIT).map(String::as_str),
            Some("metric unit")
        );
        assert_eq!(
            schema.metadata().get("fabrik.table").map(String::as_str),
            Some("sensor_readings")
        );
    }

    #[test]
    fn order_options_are_columns() {
        let schema = Table::Orders.schema();
        for c in ORDER_OPTION_COLUMNS {
            assert!(schema.field_with_name(c).is_ok(), "{c}");
        }
        assert!(
            schema
                .field_with_name("capacity_kg")
                .expect("cap")
                .is_nullable()
        );
    }

    #[test]
    fn unknown_names_are_typed_errors() {
        assert!(matches!(
            Table::from_name("nope"),
            Err(Error::UnknownTable { .. })
        ));
        assert!(matches!(
            Table::Orders.field("nope"),
            Err(Error::UnknownColumn {
                table: "orders",
                ..
            })
        ));
    }
}
