//! Closed vocabularies of the domain: the values enum-like columns may take.
//!
//! Validation rules ([`crate::rules`]) refer to these lists, and the synthetic plant draws
//! from them, so the generator and the checks cannot drift apart.

/// `machine_states.state`: what a machine is doing.
pub const MACHINE_STATES: [&str; 5] = ["RUNNING", "IDLE", "SETUP", "DOWN", "PLANNED_STOP"];

/// Machine states whose `reason` must be given.
pub const STATES_WITH_REASON: [&str; 3] = ["SETUP", "DOWN", "PLANNED_STOP"];

/// `sensor_readings.quality`, OPC-UA style: good.
pub const QUALITY_GOOD: u8 = 0;
/// `sensor_readings.quality`: uncertain (the value may be off).
pub const QUALITY_UNCERTAIN: u8 = 1;
/// `sensor_readings.quality`: bad (do not trust the value).
pub const QUALITY_BAD: u8 = 2;
/// `sensor_readings.quality`: the sensor reported a fault of its own.
pub const QUALITY_SENSOR_FAULT: u8 = 3;
/// Every quality code, in order.
pub const QUALITY_CODES: [u8; 4] = [
    QUALITY_GOOD,
    QUALITY_UNCERTAIN,
    QUALITY_BAD,
    QUALITY_SENSOR_FAULT,
];
/// The name of a quality code (`"good"`, `"uncertain"`, `"bad"`, `"sensor_fault"`).
pub fn quality_name(code: u8) -> Option<&'static str> {
    ["good", "uncertain", "bad", "sensor_fault"]
        .get(code as usize)
        .copied()
}

/// `sensor_readings.metric`: what a sensor measures (unit: [`crate::unit_of_metric`]).
pub const METRICS: [&str; 5] = [
    "temperature",
    "vibration",
    "current",
    "pressure",
    "spin_rpm",
];

/// `orders.channel`: where the order was placed.
pub const CHANNELS: [&str; 5] = ["web", "app", "retail", "b2b", "marketplace"];

/// `orders.status`: where the order is in its life.
pub const ORDER_STATUSES: [&str; 6] = [
    "placed",
    "confirmed",
    "in_production",
    "shipped",
    "delivered",
    "cancelled",
];

/// `orders.product_family` (and `bom.product_family`).
pub const PRODUCT_FAMILIES: [&str; 5] = [
    "washing_machine",
    "dryer",
    "washer_dryer",
    "dishwasher",
    "fridge",
];

/// `orders.motor`.
pub const MOTORS: [&str; 3] = ["standard", "inverter", "direct_drive"];

/// `orders.panel`.
pub const PANELS: [&str; 3] = ["basic", "touch", "smart_wifi"];

/// `suppliers.category`.
pub const SUPPLIER_CATEGORIES: [&str; 7] = [
    "motors",
    "electronics",
    "drums",
    "sheet_metal",
    "plastics",
    "hoses",
    "packaging",
];

/// Operating limits per metric: `(metric, low, high)` in the metric's unit. A reading outside
/// them is out of range (vibration's high limit is ISO 10816's zone C/D boundary for
/// medium machines, 7.1 mm/s RMS).
pub const OPERATING_LIMITS: [(&str, f64, f64); 5] = [
    ("temperature", 20.0, 85.0),
    ("vibration", 0.0, 7.1),
    ("current", 0.0, 25.0),
    ("pressure", 2.0, 10.0),
    ("spin_rpm", 0.0, 1800.0),
];

/// The operating limits `(low, high)` of a metric.
pub fn operating_limits(metric: &str) -> Option<(f64, f64)> {
    OPERATING_LIMITS
        .iter()
        .find(|(m, _, _)| *m == metric)
        .map(|&(_, lo, hi)| (lo, hi))
}
