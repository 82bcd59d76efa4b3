//! Suppliers, purchase-order deliveries, supplier lots and inventory.
//!
//! Every plant replenishes every part with a periodic-review, order-up-to policy driven by
//! the consumption of the orders it builds (the bill of materials of each order on its
//! build day). Suppliers differ: some are reliable, some often late, some ship partial
//! deliveries or bad lots. Deliveries not yet received at the end of the history are open
//! (`received_at`, `qty_received`, `qty_rejected`, `lot_id` null). Inventory snapshots
//! (00:00 UTC of each day of the operations window) come from the same simulation.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use fabrik_model::Table;
use fabrik_model::vocab::{PRODUCT_FAMILIES, SUPPLIER_CATEGORIES};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::calendar::{US_PER_DAY, US_PER_HOUR, US_PER_MIN, day_of};
use crate::catalog::Catalog;
use crate::config::PlantConfig;
use crate::error::Result;
use crate::orders::OrderBook;
use crate::streams::{Purpose, cumulative, lognormal, normal, pick, stream, uniform};
use crate::topology::Topology;

/// A supplier and how it behaves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Supplier {
    pub id: String,
    pub name: String,
    pub country: &'static str,
    /// Index into `vocab::SUPPLIER_CATEGORIES`.
    pub category: usize,
    pub contract_lead_days: i32,
    pub late_prob: f64,
    pub late_median_days: f64,
    pub partial_prob: f64,
    pub bad_lot_prob: f64,
    pub price_factor: f64,
}

const NAMES: [&str; 20] = [
    "Brenner",
    "Kowalski",
    "Novak",
    "Rossi",
    "Yildiz",
    "Lindqvist",
    "Horvath",
    "Moreau",
    "Vogel",
    "Marek",
    "Sato",
    "Chen",
    "Park",
    "Garcia",
    "Weber",
    "Costa",
    "Dvorak",
    "Ferrari",
    "Aksoy",
    "Wang",
];
const CATEGORY_WORD: [&str; 7] = [
    "Motors",
    "Electronics",
    "Drum Works",
    "Metal",
    "Plastics",
    "Hoses",
    "Packaging",
];
const CATEGORY_W: [f64; 7] = [1.5, 2.0, 1.0, 2.0, 1.5, 1.0, 1.0];

fn countries(category: &str) -> &'static [&'static str] {
    match category {
        "electronics" => &["CN", "TW", "KR", "DE", "PL"],
        "motors" => &["DE", "IT", "CN", "CZ"],
        "drums" => &["IT", "TR", "PL"],
        "sheet_metal" => &["DE", "PL", "CZ", "SK", "TR"],
        "plastics" => &["PL", "HU", "RO", "IT"],
        "hoses" => &["IT", "ES", "TR"],
        _ => &["DE", "PL", "CZ"],
    }
}

fn legal_form(country: &str) -> &'static str {
    match country {
        "DE" => "GmbH",
        "PL" => "Sp. z o.o.",
        "CZ" | "SK" => "s.r.o.",
        "IT" => "S.p.A.",
        "TR" => "A.Ş.",
        "CN" | "TW" | "KR" => "Co., Ltd.",
        "HU" => "Kft.",
        "RO" => "S.R.L.",
        _ => "S.A.",
    }
}

fn base_lead_days(category: &str, country: &str) -> f64 {
    let base = match category {
        "electronics" => 18.0,
        "motors" => 14.0,
        "drums" | "hoses" => 10.0,
        "packaging" => 4.0,
        _ => 8.0,
    };
    base + if matches!(country, "CN" | "TW" | "KR") {
        24.0
    } else {
        0.0
    }
}

/// The suppliers of a config (the first seven cover one category each).
pub(crate) fn suppliers(config: &PlantConfig) -> Vec<Supplier> {
    let cat_cum = cumulative(&CATEGORY_W);
    (0..config.suppliers as usize)
        .map(|i| {
            let mut rng = stream(config.seed, Purpose::Supplier, i as u64, 0);
            let category = if i < SUPPLIER_CATEGORIES.len() {
                i
            } else {
                pick(&mut rng, &cat_cum)
            };
            let cat = SUPPLIER_CATEGORIES[category];
            let cs = countries(cat);
            let country = cs[rng.random_range(0..cs.len())];
            let name = format!(
                "{} {} {}",
                NAMES[(i * 7 + rng.random_range(0..NAMES.len())) % NAMES.len()],
                CATEGORY_WORD[category],
                legal_form(country)
            );
            let reliable = rng.random::<f64>() < 0.6;
            let (late_prob, late_median_days, partial_prob, bad_lot_prob) = if reliable {
                (
                    uniform(&mut rng, 0.02, 0.08),
                    uniform(&mut rng, 1.0, 2.0),
                    uniform(&mut rng, 0.01, 0.04),
                    uniform(&mut rng, 0.005, 0.02),
                )
            } else {
                (
                    uniform(&mut rng, 0.2, 0.45),
                    uniform(&mut rng, 3.0, 8.0),
                    uniform(&mut rng, 0.08, 0.2),
                    uniform(&mut rng, 0.04, 0.12),
                )
            };
            let lead = base_lead_days(cat, country) * uniform(&mut rng, 0.8, 1.3);
            Supplier {
                id: format!("SUP{:03}", i + 1),
                name,
                country,
                category,
                contract_lead_days: lead.round().max(2.0) as i32,
                late_prob,
                late_median_days,
                partial_prob,
                bad_lot_prob,
                price_factor: uniform(&mut rng, 0.9, 1.1),
            }
        })
        .collect()
}

/// One row of `deliveries` (before ids are numbered).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delivery {
    pub plant: usize,
    pub part: usize,
    pub supplier: usize,
    /// Sequence of the PO within (plant, part).
    pub po_seq: u32,
    pub qty_ordered: i64,
    pub ordered_at: i64,
    pub promised_at: i64,
    /// `None` while open at the end of the history.
    pub received_at: Option<i64>,
    pub qty_received: Option<i64>,
    pub qty_rejected: Option<i64>,
    pub unit_price: f64,
    /// Index into [`Supply::lots`], `None` while open.
    pub lot: Option<usize>,
}

/// A supplier lot that arrived.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lot {
    pub id: String,
    pub plant: usize,
    pub part: usize,
    pub supplier: usize,
    pub received_at: i64,
    /// A bad lot: more rejected at inspection, more scrap where it is built in.
    pub bad: bool,
}

/// An inventory snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Snapshot {
    pub plant: usize,
    pub part: usize,
    pub ts: i64,
    pub on_hand: i64,
    pub on_order: i64,
}

/// Everything on the supply side.
#[derive(Debug, Clone)]
pub(crate) struct Supply {
    pub suppliers: Vec<Supplier>,
    /// Sorted by ordered_at; `po_ids[i]` is the po_id of `deliveries[i]`.
    pub deliveries: Vec<Delivery>,
    pub po_ids: Vec<String>,
    pub lots: Vec<Lot>,
    /// Lots usable per (plant, part), sorted by receipt: `(received_at, lot index)`.
    lots_by: HashMap<(usize, usize), Vec<(i64, usize)>>,
    /// Sorted by (part id, ts, plant).
    pub inventory: Vec<Snapshot>,
}

/// Time between a lot's arrival and its first use on the line (incoming inspection).
const INSPECTION_US: i64 = 12 * US_PER_HOUR;

/// A shipment on its way: arrives on `day` (history index), adds its accepted quantity to
/// stock and takes `closes` units off the open order quantity.
struct Pending {
    day: i64,
    row: usize,
    closes: i64,
}

impl Supply {
    /// Simulates purchasing for every plant and part over the order history.
    pub fn generate(
        config: &PlantConfig,
        topo: &Topology,
        catalog: &Catalog,
        orders: &OrderBook,
    ) -> Supply {
        let suppliers = suppliers(config);
        let part_supplier: Vec<usize> = catalog
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let of_cat: Vec<usize> = (0..suppliers.len())
                    .filter(|&s| suppliers[s].category == p.category)
                    .collect();
                of_cat.get(i % of_cat.len().max(1)).copied().unwrap_or(0)
            })
            .collect();

        let first_day = day_of(config.history_start_us());
        let h = config.order_history_days as usize;
        let n_parts = catalog.parts.len();
        let n_plants = topo.plants.len();
        let mut cons = vec![0.0f64; n_plants * n_parts * h];
        for i in 0..orders.len() {
            if orders.cancelled[i] {
                continue;
            }
            let d = orders.build_day[i] - first_day;
            if !(0..h as i64).contains(&d) {
                continue;
            }
            let plant = orders.plant_of(i, n_plants);
            let q = f64::from(orders.quantity[i]);
            catalog.parts_of(orders.config[i], |part, per| {
                cons[(plant * n_parts + part) * h + d as usize] += q * per;
            });
        }

        let window_first = day_of(config.start_us()) - first_day;
        let as_of = config.end_us();
        let results: Vec<(Vec<Delivery>, Vec<Lot>, Vec<Snapshot>)> = (0..n_plants * n_parts)
            .into_par_iter()
            .map(|k| {
                let (plant, part) = (k / n_parts, k % n_parts);
                let series = &cons[k * h..(k + 1) * h];
                let supplier = &suppliers[part_supplier[part]];
                let mut rng = stream(
                    config.seed,
                    Purpose::Replenishment,
                    plant as u64,
                    part as u64,
                );
                replenish(
                    &mut rng,
                    Replenish {
                        plant,
                        part,
                        supplier_index: part_supplier[part],
                        supplier,
                        unit_price: catalog.parts[part].unit_price,
                        first_day,
                        window_first: window_first as usize,
                        as_of,
                    },
                    series,
                )
            })
            .collect();

        let mut deliveries = Vec::new();
        let mut lots = Vec::new();
        let mut inventory = Vec::new();
        for (mut d, l, mut s) in results {
            let base = lots.len();
            for row in &mut d {
                row.lot = row.lot.map(|x| x + base);
            }
            deliveries.append(&mut d);
            lots.extend(l);
            inventory.append(&mut s);
        }
        deliveries.sort_by(|a, b| {
            (a.ordered_at, a.plant, a.part, a.po_seq, a.received_at).cmp(&(
                b.ordered_at,
                b.plant,
                b.part,
                b.po_seq,
                b.received_at,
            ))
        });
        let mut po_number: HashMap<(usize, usize, u32), String> = HashMap::new();
        let mut next_po = vec![0u32; n_plants];
        let po_ids = deliveries
            .iter()
            .map(|d| {
                po_number
                    .entry((d.plant, d.part, d.po_seq))
                    .or_insert_with(|| {
                        next_po[d.plant] += 1;
                        format!("{}-PO{:06}", topo.plants[d.plant].id, next_po[d.plant])
                    })
                    .clone()
            })
            .collect();
        // lot ids: supplier, plant, part and a sequence per (plant, part)
        let mut seq: HashMap<(usize, usize), u32> = HashMap::new();
        for lot in &mut lots {
            let n = seq.entry((lot.plant, lot.part)).or_insert(0);
            *n += 1;
            lot.id = format!(
                "{}-{:02}{:03}-{:04}",
                suppliers[lot.supplier].id,
                lot.plant + 1,
                lot.part,
                n
            );
        }
        let mut lots_by: HashMap<(usize, usize), Vec<(i64, usize)>> = HashMap::new();
        for (i, lot) in lots.iter().enumerate() {
            lots_by
                .entry((lot.plant, lot.part))
                .or_default()
                .push((lot.received_at, i));
        }
        for v in lots_by.values_mut() {
            v.sort_unstable();
        }
        inventory.sort_by(|a, b| {
            (&catalog.parts[a.part].id, a.ts, a.plant).cmp(&(
                &catalog.parts[b.part].id,
                b.ts,
                b.plant,
            ))
        });
        Supply {
            suppliers,
            deliveries,
            po_ids,
            lots,
            lots_by,
            inventory,
        }
    }

    /// The lot of `part` in use at `plant` at instant `t`: the latest one received at least
    /// the inspection time before.
    pub fn lot_in_use(&self, plant: usize, part: usize, t: i64) -> Option<usize> {
        let v = self.lots_by.get(&(plant, part))?;
        let n = v.partition_point(|&(at, _)| at + INSPECTION_US <= t);
        n.checked_sub(1).map(|k| v[k].1)
    }

    /// The `suppliers` table.
    pub fn suppliers_batch(&self) -> Result<RecordBatch> {
        let s = &self.suppliers;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| x.id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| x.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(s.iter().map(|x| x.country))),
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| SUPPLIER_CATEGORIES[x.category]),
            )),
            Arc::new(Int32Array::from_iter_values(
                s.iter().map(|x| x.contract_lead_days),
            )),
        ];
        Ok(RecordBatch::try_new(Table::Suppliers.schema(), columns)?)
    }

    /// Rows `range` of the `deliveries` table.
    pub fn deliveries_batch(
        &self,
        catalog: &Catalog,
        range: std::ops::Range<usize>,
    ) -> Result<RecordBatch> {
        let d = &self.deliveries[range.clone()];
        let n = d.len();
        let mut lot = StringBuilder::with_capacity(n, n * 18);
        for x in d {
            match x.lot {
                Some(l) => lot.append_value(&self.lots[l].id),
                None => lot.append_null(),
            }
        }
        let ts = |v: Vec<Option<i64>>| {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")) as ArrayRef
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                self.po_ids[range].iter().map(String::as_str),
            )),
            Arc::new(StringArray::from_iter_values(
                d.iter().map(|x| self.suppliers[x.supplier].id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                d.iter().map(|x| catalog.parts[x.part].id.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                d.iter().map(|x| x.qty_ordered),
            )),
            ts(d.iter().map(|x| Some(x.ordered_at)).collect()),
            ts(d.iter().map(|x| Some(x.promised_at)).collect()),
            ts(d.iter().map(|x| x.received_at).collect()),
            Arc::new(Int64Array::from_iter(d.iter().map(|x| x.qty_received))),
            Arc::new(Int64Array::from_iter(d.iter().map(|x| x.qty_rejected))),
            Arc::new(Float64Array::from_iter_values(
                d.iter().map(|x| x.unit_price),
            )),
            Arc::new(lot.finish()),
        ];
        Ok(RecordBatch::try_new(Table::Deliveries.schema(), columns)?)
    }

    /// Rows `range` of the `inventory` table.
    pub fn inventory_batch(
        &self,
        topo: &Topology,
        catalog: &Catalog,
        range: std::ops::Range<usize>,
    ) -> Result<RecordBatch> {
        let s = &self.inventory[range];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| topo.plants[x.plant].id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| catalog.parts[x.part].id.as_str()),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(s.iter().map(|x| x.ts))
                    .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from_iter_values(s.iter().map(|x| x.on_hand))),
            Arc::new(Int64Array::from_iter_values(s.iter().map(|x| x.on_order))),
        ];
        Ok(RecordBatch::try_new(Table::Inventory.schema(), columns)?)
    }
}

/// The `bom` table.
pub(crate) fn bom_batch(catalog: &Catalog) -> Result<RecordBatch> {
    let b = &catalog.bom;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            b.iter().map(|x| PRODUCT_FAMILIES[x.family]),
        )),
        Arc::new(StringArray::from_iter(
            b.iter().map(|x| x.option.as_ref().map(|o| o.0)),
        )),
        Arc::new(StringArray::from_iter(
            b.iter().map(|x| x.option.as_ref().map(|o| o.1.as_str())),
        )),
        Arc::new(StringArray::from_iter_values(
            b.iter().map(|x| catalog.parts[x.part].id.as_str()),
        )),
        Arc::new(Float64Array::from_iter_values(b.iter().map(|x| x.qty_per))),
    ];
    Ok(RecordBatch::try_new(Table::Bom.schema(), columns)?)
}

struct Replenish<'a> {
    plant: usize,
    part: usize,
    supplier_index: usize,
    supplier: &'a Supplier,
    unit_price: f64,
    first_day: i64,
    window_first: usize,
    as_of: i64,
}

/// Periodic review, order-up-to replenishment of one part at one plant.
fn replenish(
    rng: &mut ChaCha8Rng,
    r: Replenish<'_>,
    cons: &[f64],
) -> (Vec<Delivery>, Vec<Lot>, Vec<Snapshot>) {
    let h = cons.len();
    let sup = r.supplier;
    let lead = f64::from(sup.contract_lead_days);
    let warm = cons.iter().take(28).sum::<f64>() / 28.0;
    let overall = cons.iter().sum::<f64>() / h.max(1) as f64;
    let review: usize = match overall {
        x if x > 20.0 => 3,
        x if x > 5.0 => 7,
        x if x > 1.0 => 14,
        _ => 28,
    };
    let offset = rng.random_range(0..review);
    let safety = 5.0 + 0.5 * sup.late_median_days * sup.late_prob * 10.0;
    let pack = if overall > 20.0 { 50 } else { 10 };
    let mut on_hand = (warm.max(overall * 0.5) * (review as f64 + safety)).ceil() as i64;
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut lots: Vec<Lot> = Vec::new();
    let mut snapshots = Vec::new();
    let mut pending: Vec<Pending> = Vec::new(); // deliveries not yet received, any order
    let mut on_order: i64 = 0;
    let mut po_seq = 0u32;
    for day in 0..h {
        let day_us = (r.first_day + day as i64) * US_PER_DAY;
        if day >= r.window_first {
            snapshots.push(Snapshot {
                plant: r.plant,
                part: r.part,
                ts: day_us,
                on_hand,
                on_order,
            });
        }
        // receipts of the day
        pending.retain(|p| {
            if p.day != day as i64 {
                return true;
            }
            let d = &deliveries[p.row];
            if let (Some(q), Some(rej)) = (d.qty_received, d.qty_rejected) {
                on_hand += q - rej;
            }
            on_order -= p.closes;
            false
        });
        on_order = on_order.max(0);
        on_hand = (on_hand as f64 - cons[day]).round().max(0.0) as i64;
        if (day + offset) % review == 0 {
            let lo = day.saturating_sub(28);
            let recent = if day >= 28 {
                cons[lo..day].iter().sum::<f64>() / 28.0
            } else {
                warm.max(overall * 0.5)
            };
            let target = recent * (review as f64 + lead + safety);
            let need = target - (on_hand + on_order) as f64;
            if need > 0.0 && recent > 0.0 {
                let qty = ((need / pack as f64).ceil() as i64).max(1) * pack;
                po_seq += 1;
                let ordered_at = day_us + 7 * US_PER_HOUR + rng.random_range(0..9 * US_PER_HOUR);
                if ordered_at > r.as_of {
                    continue;
                }
                let years = day as f64 / 365.25;
                let price = r.unit_price
                    * sup.price_factor
                    * (1.0 + 0.025 * years)
                    * (1.0 + 0.01 * normal(rng));
                let promised_at = (day_of(ordered_at) + i64::from(sup.contract_lead_days))
                    * US_PER_DAY
                    + 12 * US_PER_HOUR;
                let delay_days = if rng.random::<f64>() < sup.late_prob {
                    lognormal(rng, sup.late_median_days, 0.7)
                } else {
                    -uniform(rng, 0.0, 1.5)
                };
                let arrive = |delay: f64, rng: &mut ChaCha8Rng| {
                    let t = promised_at
                        + (delay * US_PER_DAY as f64) as i64
                        + rng.random_range(-4 * US_PER_HOUR..4 * US_PER_HOUR);
                    // trucks come 30 minutes after the order at the earliest
                    t.max(ordered_at + 30 * US_PER_MIN)
                };
                let first_at = arrive(delay_days, rng);
                // (arrival, quantity shipped, quantity of the PO it closes)
                let mut shipments = vec![(first_at, qty, qty)];
                if rng.random::<f64>() < sup.partial_prob {
                    let part_qty =
                        (((qty as f64) * uniform(rng, 0.5, 0.95)).round() as i64).clamp(1, qty);
                    shipments[0].1 = part_qty;
                    if rng.random::<f64>() < 0.6 && part_qty < qty {
                        // the rest follows later as a second lot; otherwise the PO closes short
                        shipments[0].2 = part_qty;
                        let later = first_at + (uniform(rng, 3.0, 14.0) * US_PER_DAY as f64) as i64;
                        shipments.push((later, qty - part_qty, qty - part_qty));
                    }
                }
                on_order += qty;
                let mut open_listed = false;
                for (at, q, closes) in shipments {
                    let row = deliveries.len();
                    let open = at > r.as_of;
                    if open && open_listed {
                        // the rest of a PO that is still open is not a row of its own yet
                        continue;
                    }
                    open_listed |= open;
                    let (received_at, qty_received, qty_rejected, lot) = if open {
                        (None, None, None, None)
                    } else {
                        let bad = rng.random::<f64>() < sup.bad_lot_prob;
                        let rejected = if bad {
                            ((q as f64) * uniform(rng, 0.02, 0.15)).round() as i64
                        } else if rng.random::<f64>() < 0.1 {
                            ((q as f64) * uniform(rng, 0.0, 0.01)).round() as i64
                        } else {
                            0
                        };
                        lots.push(Lot {
                            id: String::new(),
                            plant: r.plant,
                            part: r.part,
                            supplier: r.supplier_index,
                            received_at: at,
                            bad,
                        });
                        (Some(at), Some(q), Some(rejected), Some(lots.len() - 1))
                    };
                    if !open {
                        pending.push(Pending {
                            day: day_of(at) - r.first_day,
                            row,
                            closes,
                        });
                    }
                    deliveries.push(Delivery {
                        plant: r.plant,
                        part: r.part,
                        supplier: r.supplier_index,
                        po_seq,
                        qty_ordered: qty,
                        ordered_at,
                        promised_at,
                        received_at,
                        qty_received,
                        qty_rejected,
                        unit_price: (price * 100.0).round() / 100.0,
                        lot,
                    });
                }
            }
        }
    }
    (deliveries, lots, snapshots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppliers_cover_every_category_and_differ() {
        let config = PlantConfig::small(4);
        let s = suppliers(&config);
        assert_eq!(s.len(), 12);
        for c in 0..SUPPLIER_CATEGORIES.len() {
            assert!(s.iter().any(|x| x.category == c));
        }
        assert!(s.iter().any(|x| x.late_prob > 0.2) && s.iter().any(|x| x.late_prob < 0.1));
    }

    #[test]
    fn replenishment_is_consistent() {
        let config = PlantConfig {
            order_history_days: 120,
            days: 5,
            ..PlantConfig::tiny(8)
        };
        let topo = Topology::new(&config);
        let catalog = Catalog::new();
        let orders = OrderBook::generate(&config);
        let supply = Supply::generate(&config, &topo, &catalog, &orders);
        assert!(!supply.deliveries.is_empty());
        assert!(
            supply
                .deliveries
                .windows(2)
                .all(|w| w[0].ordered_at <= w[1].ordered_at)
        );
        for d in &supply.deliveries {
            assert!(d.qty_ordered > 0);
            assert!(d.promised_at > d.ordered_at);
            if let Some(at) = d.received_at {
                assert!(at >= d.ordered_at && at <= config.end_us());
                assert!(d.qty_rejected.unwrap_or(0) <= d.qty_received.unwrap_or(0));
                assert!(d.lot.is_some());
            } else {
                assert!(d.qty_received.is_none() && d.lot.is_none());
            }
        }
        assert!(
            supply.deliveries.iter().any(|d| d.received_at.is_none()),
            "some deliveries are still open"
        );
        assert!(
            supply.deliveries.iter().any(|d| d
                .received_at
                .is_some_and(|t| t > d.promised_at + US_PER_DAY)),
            "some are late"
        );
        let ids: std::collections::HashSet<&str> =
            supply.lots.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), supply.lots.len(), "lot ids are unique");
        assert_eq!(supply.inventory.len(), catalog.parts.len() * 5);
        assert!(
            supply
                .inventory
                .iter()
                .all(|s| s.on_hand >= 0 && s.on_order >= 0)
        );
        let b = supply
            .deliveries_batch(&catalog, 0..supply.deliveries.len())
            .expect("batch");
        assert_eq!(b.schema(), Table::Deliveries.schema());
        let lot = supply.lots.first().expect("a lot");
        let used = supply
            .lot_in_use(lot.plant, lot.part, lot.received_at + INSPECTION_US)
            .expect("in use");
        assert_eq!(
            (supply.lots[used].plant, supply.lots[used].part),
            (lot.plant, lot.part)
        );
        assert!(supply.lots[used].received_at + INSPECTION_US <= lot.received_at + INSPECTION_US);
    }
}
