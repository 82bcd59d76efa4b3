//! [`Plant`]: the whole simulated plant in memory, table by table.

use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use fabrik_model::Table;
use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::config::PlantConfig;
use crate::error::{Error, Result};
use crate::operations::Operations;
use crate::orders::OrderBook;
use crate::supply::{Supply, bom_batch};
use crate::telemetry::{DayContext, Profile, SensorAnomaly, chunk_batch, sensor_chunks};
use crate::topology::Topology;

/// A developing fault that ended in a breakdown (ground truth, `ground_truth/faults.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The machine that broke down.
    pub machine_id: String,
    /// The sensor whose signal shows the fault developing.
    pub sensor_id: String,
    /// That sensor's metric.
    pub metric: &'static str,
    /// When the signal starts to drift towards the breakdown.
    pub onset: DateTime<Utc>,
    /// When the machine went DOWN (a `machine_states` interval starts here).
    pub breakdown: DateTime<Utc>,
    /// The DOWN interval's reason, e.g. `bearing failure`.
    pub down_reason: &'static str,
}

/// A supplier lot that arrived (ground truth, `ground_truth/lots.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotInfo {
    /// Lot id (as in `deliveries.lot_id` and `production_counts.lot_id`).
    pub lot_id: String,
    /// Supplier of the lot.
    pub supplier_id: String,
    /// Part of the lot.
    pub part_id: String,
    /// Plant that received it.
    pub plant_id: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// A bad lot: more rejects at inspection and more scrap where it is built in.
    pub bad: bool,
}

fn datetime(us: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The simulated plant: every table but telemetry is computed by [`Plant::new`]; telemetry
/// is generated per day on demand ([`Plant::sensor_readings`]).
#[derive(Debug, Clone)]
pub struct Plant {
    config: PlantConfig,
    topology: Topology,
    catalog: Catalog,
    orders: OrderBook,
    supply: Supply,
    ops: Operations,
    profiles: Vec<Profile>,
}

impl Plant {
    /// Validates the config and simulates orders, supply and the shop floor.
    pub fn new(config: &PlantConfig) -> Result<Plant> {
        config.validate()?;
        let topology = Topology::new(config);
        let catalog = Catalog::new();
        let mut orders = OrderBook::generate(config);
        let supply = Supply::generate(config, &topology, &catalog, &orders);
        let ops = Operations::simulate(config, &topology, &catalog, &orders, &supply);
        let first = crate::calendar::day_of(config.start_us());
        orders.settle_status(
            config.end_us(),
            first..first + i64::from(config.days),
            &ops.built,
        );
        let profiles = (0..topology.sensors.len())
            .into_par_iter()
            .map(|s| Profile::new(config, &topology, s))
            .collect();
        Ok(Plant {
            config: config.clone(),
            topology,
            catalog,
            orders,
            supply,
            ops,
            profiles,
        })
    }

    /// The config the plant was built from.
    pub fn config(&self) -> &PlantConfig {
        &self.config
    }

    /// Plants, lines, machines and sensors.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Number of rows a table has (for `sensor_readings`: an upper bound, every reading of
    /// every sensor without gaps).
    pub fn rows(&self, table: Table) -> u64 {
        match table {
            Table::SensorReadings => {
                let per_day = 86_400_000 / u64::from(self.config.sample_period_ms);
                per_day * self.topology.sensors.len() as u64 * u64::from(self.config.days)
            }
            Table::MachineStates => self.ops.states.len() as u64,
            Table::ProductionCounts => self.ops.counts.len() as u64,
            Table::Orders => self.orders.len() as u64,
            Table::Suppliers => self.supply.suppliers.len() as u64,
            Table::Deliveries => self.supply.deliveries.len() as u64,
            Table::Bom => self.catalog.bom.len() as u64,
            Table::Inventory => self.supply.inventory.len() as u64,
        }
    }

    /// Rows `range` of a table other than `sensor_readings` (which is per day).
    pub(crate) fn batch(&self, table: Table, range: std::ops::Range<usize>) -> Result<RecordBatch> {
        match table {
            Table::MachineStates => self.ops.states_batch(&self.topology, range),
            Table::ProductionCounts => {
                self.ops
                    .counts_batch(&self.topology, &self.orders, &self.supply, range)
            }
            Table::Orders => self.orders.batch(range),
            Table::Suppliers => self.supply.suppliers_batch(),
            Table::Deliveries => self.supply.deliveries_batch(&self.catalog, range),
            Table::Bom => bom_batch(&self.catalog),
            Table::Inventory => self
                .supply
                .inventory_batch(&self.topology, &self.catalog, range),
            Table::SensorReadings => Ok(RecordBatch::new_empty(Table::SensorReadings.schema())),
        }
    }

    fn whole(&self, table: Table) -> Result<RecordBatch> {
        self.batch(table, 0..self.rows(table) as usize)
    }

    /// The `machine_states` table, sorted by (machine_id, start_ts).
    pub fn machine_states(&self) -> Result<RecordBatch> {
        self.whole(Table::MachineStates)
    }

    /// The `production_counts` table, sorted by (machine_id, ts).
    pub fn production_counts(&self) -> Result<RecordBatch> {
        self.whole(Table::ProductionCounts)
    }

    /// The `orders` table, sorted by created_at (order ids follow it).
    pub fn orders(&self) -> Result<RecordBatch> {
        self.whole(Table::Orders)
    }

    /// The `suppliers` table.
    pub fn suppliers(&self) -> Result<RecordBatch> {
        self.whole(Table::Suppliers)
    }

    /// The `deliveries` table, sorted by ordered_at.
    pub fn deliveries(&self) -> Result<RecordBatch> {
        self.whole(Table::Deliveries)
    }

    /// The `bom` table.
    pub fn bom(&self) -> Result<RecordBatch> {
        self.whole(Table::Bom)
    }

    /// The `inventory` table, sorted by (part_id, ts).
    pub fn inventory(&self) -> Result<RecordBatch> {
        self.whole(Table::Inventory)
    }

    /// Telemetry of window day `day` (0-based): batches of about a million rows (whole
    /// sensors each), together sorted by (sensor_id, ts).
    pub fn sensor_readings(&self, day: u32) -> Result<Vec<RecordBatch>> {
        Ok(self.sensor_readings_with_anomalies(day)?.0)
    }

    /// Like [`Plant::sensor_readings`], with the day's stuck, dropout and spike episodes.
    pub fn sensor_readings_with_anomalies(
        &self,
        day: u32,
    ) -> Result<(Vec<RecordBatch>, Vec<SensorAnomaly>)> {
        let mut batches = Vec::new();
        let mut anomalies = Vec::new();
        for chunk in self.sensor_chunks() {
            let (b, mut a) = self.sensor_chunk(chunk, day)?;
            batches.push(b);
            anomalies.append(&mut a);
        }
        Ok((batches, anomalies))
    }

    /// The first `rows` telemetry rows in (sensor_id, ts) order — every day of the first
    /// sensor, then of the next, … — as batches of at most about a million rows.
    ///
    /// Fails with [`Error::NotEnoughRows`] when the window holds fewer readings.
    pub fn telemetry_rows(&self, rows: usize) -> Result<Vec<RecordBatch>> {
        let bound = self.rows(Table::SensorReadings);
        if rows as u64 > bound {
            return Err(Error::NotEnoughRows {
                requested: rows as u64,
                available: bound,
            });
        }
        let (out, have) = self.telemetry_by_sensor(rows)?;
        if have < rows {
            return Err(Error::NotEnoughRows {
                requested: rows as u64,
                available: have as u64,
            });
        }
        Ok(out)
    }

    /// Every telemetry row of the window in (sensor_id, ts) order — every day of the
    /// first sensor, then of the next, … — as batches of at most about a million rows.
    pub fn telemetry_sorted(&self) -> Result<Vec<RecordBatch>> {
        Ok(self.telemetry_by_sensor(usize::MAX)?.0)
    }

    /// At most `rows` telemetry rows in (sensor_id, ts) order, and how many there are.
    fn telemetry_by_sensor(&self, rows: usize) -> Result<(Vec<RecordBatch>, usize)> {
        let per_day = (86_400_000 / self.config.sample_period_ms) as usize;
        let per_batch = (crate::telemetry::CHUNK_ROWS / per_day).max(1);
        let days = self.config.days;
        let pairs: Vec<(usize, u32)> = (0..self.topology.sensors.len())
            .flat_map(|s| (0..days).map(move |d| (s, d)))
            .collect();
        let mut out = Vec::new();
        let mut have = 0usize;
        for group in pairs.chunks(per_batch) {
            if have >= rows {
                break;
            }
            let (batch, _) = self.sensor_pairs(group)?;
            let take = batch.num_rows().min(rows - have);
            have += take;
            out.push(if take == batch.num_rows() {
                batch
            } else {
                batch.slice(0, take)
            });
        }
        Ok((out, have))
    }

    /// The sensor groups telemetry batches are made of.
    pub(crate) fn sensor_chunks(&self) -> Vec<std::ops::Range<usize>> {
        sensor_chunks(&self.config, self.topology.sensors.len())
    }

    /// Telemetry of a group of sensors on one day.
    pub(crate) fn sensor_chunk(
        &self,
        sensors: std::ops::Range<usize>,
        day: u32,
    ) -> Result<(RecordBatch, Vec<SensorAnomaly>)> {
        if day >= self.config.days {
            return Err(Error::DayOutOfRange {
                day,
                days: self.config.days,
            });
        }
        let pairs: Vec<(usize, u32)> = sensors.map(|s| (s, day)).collect();
        self.sensor_pairs(&pairs)
    }

    /// Telemetry of each (sensor, day) in turn (days must be in the window).
    pub(crate) fn sensor_pairs(
        &self,
        pairs: &[(usize, u32)],
    ) -> Result<(RecordBatch, Vec<SensorAnomaly>)> {
        let ctx = DayContext {
            config: &self.config,
            topo: &self.topology,
            profiles: &self.profiles,
            states: self
                .ops
                .states_of
                .iter()
                .map(|r| &self.ops.states[r.clone()])
                .collect(),
            faults: &self.ops.faults,
        };
        chunk_batch(&ctx, pairs)
    }

    /// The developing faults that ended in a breakdown, by machine and breakdown time.
    pub fn faults(&self) -> Vec<Fault> {
        self.ops
            .faults
            .iter()
            .map(|f| {
                let s = &self.topology.sensors[f.sensor];
                Fault {
                    machine_id: self.topology.machines[f.machine].id.clone(),
                    sensor_id: s.id.clone(),
                    metric: s.metric,
                    onset: datetime(f.onset),
                    breakdown: datetime(f.breakdown),
                    down_reason: f.reason,
                }
            })
            .collect()
    }

    /// Every supplier lot received, with whether it was bad.
    pub fn lots(&self) -> Vec<LotInfo> {
        self.supply
            .lots
            .iter()
            .map(|l| LotInfo {
                lot_id: l.id.clone(),
                supplier_id: self.supply.suppliers[l.supplier].id.clone(),
                part_id: self.catalog.parts[l.part].id.clone(),
                plant_id: self.topology.plants[l.plant].id.clone(),
                received_at: datetime(l.received_at),
                bad: l.bad,
            })
            .collect()
    }

    /// Base ideal cycle time (seconds) the lines of each plant were sized with.
    pub fn base_cycle_s(&self) -> &[f64] {
        &self.ops.base_cycle_s
    }
}
