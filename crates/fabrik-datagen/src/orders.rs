//! Consumers' customised orders over the order history.
//!
//! Each day of the history draws its orders from its own stream (so days are generated in
//! parallel): a Poisson number per channel whose mean carries growth, a weekly pattern
//! (consumers at weekends, b2b on weekdays), a yearly one (winter high, summer low,
//! pre-Christmas rush, quiet holidays) and promotions (Singles' Day on 11 November, Black
//! Friday to Cyber Monday). Options follow [`OptionTrends`]. Order ids follow `created_at`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int16Array, Int32Array, Int64Array, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use fabrik_model::Table;
use fabrik_model::vocab::{CHANNELS, MOTORS, ORDER_STATUSES, PANELS, PRODUCT_FAMILIES};
use rand::Rng;
use rayon::prelude::*;

use crate::calendar::{
    US_PER_DAY, US_PER_HOUR, black_friday, civil_from_days, day_of, day_of_year, weekday,
};
use crate::catalog::{
    APP, B2B, CAPACITIES, CHANNEL_W, COLORS, Config, FAMILY_W, MARKETPLACE, OptionTrends,
    REGION_PRICE, REGION_W, REGIONS, WEEKLY_B2B, WEEKLY_CONSUMER, is_laundry,
};
use crate::config::PlantConfig;
use crate::error::Result;
use crate::streams::{Purpose, cumulative, geometric, pick, poisson, stream, uniform};

/// Index of a status in `vocab::ORDER_STATUSES`.
pub(crate) mod status {
    pub const PLACED: u8 = 0;
    pub const CONFIRMED: u8 = 1;
    pub const IN_PRODUCTION: u8 = 2;
    pub const SHIPPED: u8 = 3;
    pub const DELIVERED: u8 = 4;
    pub const CANCELLED: u8 = 5;
}

const HOURS_CONSUMER: [f64; 24] = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0, 5.5, 5.0, 4.5, 4.5, 4.5, 5.0, 5.5,
    6.5, 7.0, 6.0, 4.0, 2.0,
];
const HOURS_B2B: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 3.0, 4.0, 4.0, 3.5, 2.0, 3.0, 3.5, 3.0, 2.0, 1.0, 0.3,
    0.1, 0.0, 0.0, 0.0, 0.0,
];

/// Demand factor of a day for a channel (without growth): weekly × yearly × promotions.
pub(crate) fn day_factor(day: i64, channel: usize) -> f64 {
    let (year, month, dom) = civil_from_days(day);
    let wd = weekday(day) as usize;
    let weekly = if channel == B2B {
        WEEKLY_B2B[wd] / (WEEKLY_B2B.iter().sum::<f64>() / 7.0)
    } else {
        WEEKLY_CONSUMER[wd] / (WEEKLY_CONSUMER.iter().sum::<f64>() / 7.0)
    };
    let doy = f64::from(day_of_year(day));
    let mut f = weekly * (1.0 + 0.12 * (2.0 * std::f64::consts::PI * (doy - 15.0) / 365.25).cos());
    if channel != B2B {
        let bf = black_friday(year);
        f *= match day - bf {
            -4..=-1 => 1.3,
            0 => 2.8,
            1 => 1.9,
            2 => 1.7,
            3 => 2.2,
            _ => 1.0,
        };
        if (month, dom) == (11, 11) {
            f *= match channel {
                MARKETPLACE => 5.0,
                APP => 3.5,
                _ => 2.2,
            };
        }
        if month == 12 && (5..=20).contains(&dom) {
            f *= 1.25;
        }
    }
    if matches!((month, dom), (12, 24) | (12, 25) | (12, 26) | (1, 1)) {
        f *= 0.3;
    }
    f
}

/// Whether a day has promotion prices (Black Friday to Cyber Monday, Singles' Day).
fn promotion_day(day: i64) -> bool {
    let (year, month, dom) = civil_from_days(day);
    (0..=3).contains(&(day - black_friday(year))) || (month, dom) == (11, 11)
}

/// What production made of an order planned in the operations window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Built {
    /// Not started by the end of the window.
    NotStarted,
    /// Some station worked on it but the last one has not finished it.
    Started,
    /// The last station of its line finished it at this instant.
    Finished(i64),
}

/// The orders, column by column; order `i` has id `i + 1`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderBook {
    pub created_at: Vec<i64>,
    pub customer: Vec<u32>,
    pub channel: Vec<u8>,
    pub region: Vec<u8>,
    pub config: Vec<Config>,
    pub quantity: Vec<i32>,
    pub unit_price: Vec<f64>,
    /// Promised delivery date; `None` while not confirmed.
    pub promised_at: Vec<Option<i64>>,
    /// When the order is confirmed (may lie after the end of the history).
    pub confirmed_at: Vec<i64>,
    /// Day number (since 1970-01-01) production is planned for.
    pub build_day: Vec<i64>,
    pub cancelled: Vec<bool>,
    /// Index into `vocab::ORDER_STATUSES`; set by [`OrderBook::settle_status`].
    pub status: Vec<u8>,
}

impl OrderBook {
    /// Number of order lines.
    pub fn len(&self) -> usize {
        self.created_at.len()
    }

    /// Generates the order history of a (validated) config.
    pub fn generate(config: &PlantConfig) -> OrderBook {
        let first_day = day_of(config.history_start_us());
        let days = i64::from(config.order_history_days);
        let as_of = config.end_us();
        let est_total = config.orders_per_day * days as f64 * (1.0 + 0.11 * days as f64 / 365.25);
        let pool = (est_total / 3.0).max(100.0) as u32;
        let per_day: Vec<OrderBook> = (0..days)
            .into_par_iter()
            .map(|d| day_orders(config, first_day, d, pool, as_of))
            .collect();
        let mut book = OrderBook::default();
        for mut day in per_day {
            book.created_at.append(&mut day.created_at);
            book.customer.append(&mut day.customer);
            book.channel.append(&mut day.channel);
            book.region.append(&mut day.region);
            book.config.append(&mut day.config);
            book.quantity.append(&mut day.quantity);
            book.unit_price.append(&mut day.unit_price);
            book.promised_at.append(&mut day.promised_at);
            book.confirmed_at.append(&mut day.confirmed_at);
            book.build_day.append(&mut day.build_day);
            book.cancelled.append(&mut day.cancelled);
        }
        book.status = vec![status::PLACED; book.len()];
        book
    }

    /// The plant (0-based) that builds order `i`: plants serve regions round-robin.
    pub fn plant_of(&self, i: usize, plants: usize) -> usize {
        usize::from(self.region[i]) % plants.max(1)
    }

    /// Sets every status as of `as_of`, from dates and from what production did with the
    /// orders planned in the operations window (`built`, keyed by order index).
    pub fn settle_status(&mut self, as_of: i64, window: Range<i64>, built: &HashMap<usize, Built>) {
        for i in 0..self.len() {
            let confirmed = self.confirmed_at[i] <= as_of;
            let s = if self.cancelled[i] {
                status::CANCELLED
            } else if self.build_day[i] < window.start {
                // built before the window: shipped the next day, delivered 2–5 days later
                let ship = (self.build_day[i] + 1) * US_PER_DAY + 10 * US_PER_HOUR;
                let transit = 2 + i64::from(self.customer[i] % 4);
                if ship + transit * US_PER_DAY <= as_of {
                    status::DELIVERED
                } else if ship <= as_of {
                    status::SHIPPED
                } else {
                    status::IN_PRODUCTION
                }
            } else {
                match built.get(&i) {
                    Some(Built::Finished(at)) if at + US_PER_DAY / 2 <= as_of => status::SHIPPED,
                    Some(Built::Finished(_)) | Some(Built::Started) => status::IN_PRODUCTION,
                    _ if confirmed => status::CONFIRMED,
                    _ => status::PLACED,
                }
            };
            self.status[i] = s;
            // most orders still "placed" (and orders cancelled before confirmation) have no
            // promised date yet; the customer number serves as a stable coin
            if (s == status::PLACED && self.customer[i] % 10 >= 3)
                || (self.cancelled[i] && !confirmed)
            {
                self.promised_at[i] = None;
            }
        }
    }

    /// Rows `range` as a batch of the `orders` schema.
    pub fn batch(&self, range: Range<usize>) -> Result<RecordBatch> {
        let n = range.len();
        let mut sku_of: HashMap<u32, String> = HashMap::new();
        let mut customer = StringBuilder::with_capacity(n, n * 9);
        let mut channel = StringBuilder::with_capacity(n, n * 6);
        let mut region = StringBuilder::with_capacity(n, n * 6);
        let mut family = StringBuilder::with_capacity(n, n * 14);
        let mut sku = StringBuilder::with_capacity(n, n * 17);
        let mut color = StringBuilder::with_capacity(n, n * 6);
        let mut motor = StringBuilder::with_capacity(n, n * 8);
        let mut panel = StringBuilder::with_capacity(n, n * 6);
        let mut state = StringBuilder::with_capacity(n, n * 9);
        for i in range.clone() {
            let _ = write!(customer, "C{:08}", self.customer[i]);
            customer.append_value("");
            channel.append_value(CHANNELS[usize::from(self.channel[i])]);
            region.append_value(REGIONS[usize::from(self.region[i])]);
            let c = self.config[i];
            family.append_value(PRODUCT_FAMILIES[usize::from(c.family)]);
            sku.append_value(sku_of.entry(c.code()).or_insert_with(|| c.sku()));
            color.append_value(COLORS[usize::from(c.color)]);
            motor.append_value(MOTORS[usize::from(c.motor)]);
            panel.append_value(PANELS[usize::from(c.panel)]);
            state.append_value(ORDER_STATUSES[usize::from(self.status[i])]);
        }
        let r = range.clone();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                r.clone().map(|i| i as i64 + 1),
            )),
            Arc::new(customer.finish()),
            Arc::new(
                TimestampMicrosecondArray::from(self.created_at[r.clone()].to_vec())
                    .with_timezone("UTC"),
            ),
            Arc::new(channel.finish()),
            Arc::new(region.finish()),
            Arc::new(family.finish()),
            Arc::new(sku.finish()),
            Arc::new(Int16Array::from_iter(r.clone().map(|i| {
                (self.config[i].capacity != 0).then_some(i16::from(self.config[i].capacity))
            }))),
            Arc::new(color.finish()),
            Arc::new(motor.finish()),
            Arc::new(panel.finish()),
            Arc::new(Int32Array::from(self.quantity[r.clone()].to_vec())),
            Arc::new(Float64Array::from(self.unit_price[r.clone()].to_vec())),
            Arc::new(
                TimestampMicrosecondArray::from(self.promised_at[r.clone()].to_vec())
                    .with_timezone("UTC"),
            ),
            Arc::new(state.finish()),
        ];
        Ok(RecordBatch::try_new(Table::Orders.schema(), columns)?)
    }
}

fn day_orders(config: &PlantConfig, first_day: i64, d: i64, pool: u32, as_of: i64) -> OrderBook {
    let mut rng = stream(config.seed, Purpose::OrderDay, d as u64, 0);
    let day = first_day + d;
    let years = d as f64 / 365.25;
    let growth = 1.0 + 0.22 * years;
    let trends = OptionTrends::at(years);
    let panel_cum = cumulative(&trends.panel);
    let motor_l_cum = cumulative(&trends.motor_laundry);
    let motor_o_cum = cumulative(&trends.motor_other);
    let color_cum = cumulative(&trends.color);
    let cap_cum: Vec<Vec<f64>> = trends.capacity.iter().map(|w| cumulative(w)).collect();
    let family_cum = cumulative(&FAMILY_W);
    let region_cum = cumulative(&REGION_W);
    let hours_c = cumulative(&HOURS_CONSUMER);
    let hours_b = cumulative(&HOURS_B2B);
    let promo = promotion_day(day);

    let mut rows: Vec<(i64, u8)> = Vec::new();
    for (ch, share) in CHANNEL_W.iter().enumerate() {
        let mean = config.orders_per_day * share * growth * day_factor(day, ch);
        let n = poisson(&mut rng, mean);
        for _ in 0..n {
            let hour = pick(&mut rng, if ch == B2B { &hours_b } else { &hours_c }) as i64;
            let t = day * US_PER_DAY + hour * US_PER_HOUR + rng.random_range(0..US_PER_HOUR);
            rows.push((t, ch as u8));
        }
    }
    rows.sort_unstable();
    let mut out = OrderBook::default();
    for (t, ch) in rows {
        let channel = usize::from(ch);
        let family = pick(&mut rng, &family_cum);
        let capacity = if is_laundry(family) {
            let kgs = CAPACITIES[family].0;
            kgs[pick(&mut rng, &cap_cum[family])]
        } else {
            0
        };
        let motor = pick(
            &mut rng,
            if is_laundry(family) {
                &motor_l_cum
            } else {
                &motor_o_cum
            },
        );
        let c = Config {
            family: family as u8,
            capacity,
            motor: motor as u8,
            color: pick(&mut rng, &color_cum) as u8,
            panel: pick(&mut rng, &panel_cum) as u8,
        };
        let region = pick(&mut rng, &region_cum);
        let quantity = if channel == B2B {
            5 + geometric(&mut rng, 0.08).min(55) as i32
        } else {
            match rng.random::<f64>() {
                x if x < 0.93 => 1,
                x if x < 0.99 => 2,
                _ => 3,
            }
        };
        let mut discount = [0.0, 0.0, 0.0, 0.05, 0.10][rng.random_range(0..5)];
        if promo {
            discount = uniform(&mut rng, 0.15, 0.25);
        }
        if channel == B2B {
            discount = 0.12 + discount / 2.0;
        }
        let price = c.list_price() * REGION_PRICE[region] * (1.0 - discount) * (1.0 + 0.03 * years);
        let u: f64 = rng.random();
        let customer = (f64::from(pool) * u.powf(2.5)) as u32;
        let confirm_delay =
            (crate::streams::lognormal(&mut rng, 6.0, 1.0) * US_PER_HOUR as f64) as i64;
        let confirmed_at = t + confirm_delay.min(3 * US_PER_DAY);
        let promised = day_of(confirmed_at) + rng.random_range(14..36);
        let lead = rng.random_range(3..10)
            + if channel == B2B {
                rng.random_range(0..8)
            } else {
                0
            };
        let build_day = (day + lead).max(day_of(confirmed_at) + 1);
        // cancellations come within the first days; very recent orders have had less time
        let age_days = ((as_of - t) as f64 / US_PER_DAY as f64).clamp(0.0, 3.0);
        let cancelled = rng.random::<f64>() < 0.025 * age_days / 3.0;

        out.created_at.push(t);
        out.customer.push(customer);
        out.channel.push(ch);
        out.region.push(region as u8);
        out.config.push(c);
        out.quantity.push(quantity);
        out.unit_price.push((price * 100.0).round() / 100.0);
        out.promised_at
            .push(Some(promised * US_PER_DAY + 12 * US_PER_HOUR));
        out.confirmed_at.push(confirmed_at);
        out.build_day.push(build_day);
        out.cancelled.push(cancelled);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;

    #[test]
    fn calendar_factors_peak_on_promotions_and_weekends() {
        let bf = black_friday(2024);
        let web = 0;
        assert!(day_factor(bf, web) > 2.0 * day_factor(bf - 14, web));
        let singles = days_from_civil(2024, 11, 11);
        assert!(day_factor(singles, MARKETPLACE) > 4.0 * day_factor(singles - 7, MARKETPLACE));
        let sat = days_from_civil(2024, 6, 15);
        assert_eq!(weekday(sat), 5);
        assert!(day_factor(sat, web) > day_factor(sat - 3, web));
        assert!(day_factor(sat, B2B) < 0.1 * day_factor(sat - 3, B2B));
    }

    #[test]
    fn orders_are_sorted_and_consistent() {
        let config = PlantConfig {
            order_history_days: 60,
            days: 2,
            orders_per_day: 40.0,
            ..PlantConfig::tiny(5)
        };
        let mut book = OrderBook::generate(&config);
        assert!(book.len() > 60 * 20, "{} orders", book.len());
        assert!(book.created_at.windows(2).all(|w| w[0] <= w[1]));
        for i in 0..book.len() {
            let c = book.config[i];
            assert_eq!(c.capacity == 0, !is_laundry(usize::from(c.family)));
            assert!(book.quantity[i] > 0 && book.unit_price[i] > 0.0);
            assert!(book.build_day[i] > day_of(book.created_at[i]));
        }
        let start = day_of(config.start_us());
        book.settle_status(config.end_us(), start..start + 2, &HashMap::new());
        let count = |s: u8| book.status.iter().filter(|&&x| x == s).count();
        assert!(count(status::DELIVERED) > book.len() / 2);
        assert!(count(status::CANCELLED) > 0);
        assert!(count(status::PLACED) + count(status::CONFIRMED) > 0);
        for i in 0..book.len() {
            if book.status[i] == status::DELIVERED {
                assert!(book.created_at[i] < config.end_us() - 5 * US_PER_DAY);
            }
        }
        let batch = book.batch(0..book.len()).expect("batch");
        assert_eq!(batch.num_rows(), book.len());
        assert_eq!(batch.schema(), Table::Orders.schema());
    }
}
