//! The product catalogue (families, options, their codes, prices and popularity over time)
//! and the parts and bill of materials behind it.
//!
//! A configuration's SKU is `FAMILY-CAPACITY-MOTOR-COLOR-PANEL`, e.g. `WM-09-INV-GRA-SMT`
//! (capacity `XX` for families without a drum).

use fabrik_model::vocab::{MOTORS, PANELS, PRODUCT_FAMILIES, SUPPLIER_CATEGORIES};

use crate::topology::MachineType;

/// Two-letter codes of `vocab::PRODUCT_FAMILIES`, same order.
pub(crate) const FAMILY_CODE: [&str; 5] = ["WM", "TD", "WD", "DW", "FR"];
/// Base share of each family.
pub(crate) const FAMILY_W: [f64; 5] = [0.36, 0.14, 0.09, 0.21, 0.20];
/// Base list price of each family.
pub(crate) const FAMILY_PRICE: [f64; 5] = [549.0, 499.0, 799.0, 449.0, 899.0];

/// Capacities (kg) and base weights per laundry family (washing_machine, dryer, washer_dryer).
pub(crate) const CAPACITIES: [(&[u8], &[f64]); 3] = [
    (
        &[6, 7, 8, 9, 10, 11, 12],
        &[0.06, 0.18, 0.30, 0.22, 0.14, 0.07, 0.03],
    ),
    (&[7, 8, 9, 10], &[0.25, 0.40, 0.25, 0.10]),
    (&[8, 9, 10, 11], &[0.30, 0.35, 0.25, 0.10]),
];
/// Smallest and largest capacity of any family.
pub(crate) const CAPACITY_RANGE: (u8, u8) = (6, 12);

/// Colours: 8 catalogue colours, then 8 rare made-to-order finishes (the intermittent tail).
pub(crate) const COLORS: [&str; 16] = [
    "white",
    "silver",
    "black",
    "graphite",
    "inox",
    "red",
    "cream",
    "blue",
    "matte_black",
    "copper",
    "sage",
    "terracotta",
    "sand",
    "navy",
    "burgundy",
    "mint",
];
/// Three-letter colour codes, same order as [`COLORS`].
pub(crate) const COLOR_CODE: [&str; 16] = [
    "WHT", "SLV", "BLK", "GRA", "INX", "RED", "CRM", "BLU", "MBK", "COP", "SAG", "TER", "SND",
    "NAV", "BUR", "MNT",
];
const COLOR_W: [f64; 16] = [
    0.48, 0.115, 0.105, 0.06, 0.09, 0.02, 0.05, 0.02, 0.01, 0.009, 0.006, 0.005, 0.003, 0.002,
    0.002, 0.001,
];
const COLOR_PRICE: [f64; 16] = [
    0.0, 20.0, 30.0, 30.0, 60.0, 50.0, 50.0, 50.0, 90.0, 120.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0,
];
/// Index of the colour that fades out of fashion (cream).
pub(crate) const FADING_COLOR: usize = 6;
/// Colours 8.. are made to order.
pub(crate) const MADE_TO_ORDER_FROM: usize = 8;

/// Codes of `vocab::MOTORS`.
pub(crate) const MOTOR_CODE: [&str; 3] = ["STD", "INV", "DDR"];
const MOTOR_PRICE: [f64; 3] = [0.0, 60.0, 120.0];
/// Codes of `vocab::PANELS`.
pub(crate) const PANEL_CODE: [&str; 3] = ["BAS", "TCH", "SMT"];
const PANEL_PRICE: [f64; 3] = [0.0, 40.0, 110.0];

/// Sales regions, their base share and price level.
pub(crate) const REGIONS: [&str; 8] = [
    "DACH", "Nordics", "Benelux", "France", "Iberia", "Italy", "UK", "CEE",
];
pub(crate) const REGION_W: [f64; 8] = [0.24, 0.08, 0.09, 0.15, 0.10, 0.12, 0.14, 0.08];
pub(crate) const REGION_PRICE: [f64; 8] = [1.00, 1.12, 1.02, 1.00, 0.92, 0.96, 1.05, 0.88];

/// Channel shares (order of `vocab::CHANNELS`: web, app, retail, b2b, marketplace).
pub(crate) const CHANNEL_W: [f64; 5] = [0.45, 0.18, 0.22, 0.05, 0.10];
/// Index of the b2b channel.
pub(crate) const B2B: usize = 3;
/// Index of the marketplace channel.
pub(crate) const MARKETPLACE: usize = 4;
/// Index of the app channel.
pub(crate) const APP: usize = 1;
/// Weekly factors Monday..Sunday: consumers peak at weekends, b2b buys on weekdays.
pub(crate) const WEEKLY_CONSUMER: [f64; 7] = [1.00, 0.92, 0.90, 0.95, 1.02, 1.25, 1.30];
pub(crate) const WEEKLY_B2B: [f64; 7] = [1.30, 1.25, 1.20, 1.15, 1.00, 0.05, 0.03];

/// Whether a family has a drum (and so a capacity).
pub(crate) fn is_laundry(family: usize) -> bool {
    family < 3
}

/// A configuration a consumer can order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Config {
    /// Index into `vocab::PRODUCT_FAMILIES`.
    pub family: u8,
    /// Drum capacity in kg, 0 for families without a drum.
    pub capacity: u8,
    /// Index into `vocab::MOTORS`.
    pub motor: u8,
    /// Index into [`COLORS`].
    pub color: u8,
    /// Index into `vocab::PANELS`.
    pub panel: u8,
}

impl Config {
    /// A dense code (for interning and sorting).
    pub fn code(self) -> u32 {
        (u32::from(self.family) << 24)
            | (u32::from(self.capacity) << 16)
            | (u32::from(self.motor) << 12)
            | (u32::from(self.color) << 4)
            | u32::from(self.panel)
    }

    /// The SKU text, e.g. `WM-09-INV-GRA-SMT`.
    pub fn sku(self) -> String {
        let cap = if self.capacity == 0 {
            "XX".to_string()
        } else {
            format!("{:02}", self.capacity)
        };
        format!(
            "{}-{}-{}-{}-{}",
            FAMILY_CODE[usize::from(self.family)],
            cap,
            MOTOR_CODE[usize::from(self.motor)],
            COLOR_CODE[usize::from(self.color)],
            PANEL_CODE[usize::from(self.panel)]
        )
    }

    /// The option values as text, in the order family, capacity_kg, motor, color, panel.
    pub fn option_texts(self) -> [String; 5] {
        [
            PRODUCT_FAMILIES[usize::from(self.family)].to_string(),
            self.capacity.to_string(),
            MOTORS[usize::from(self.motor)].to_string(),
            COLORS[usize::from(self.color)].to_string(),
            PANELS[usize::from(self.panel)].to_string(),
        ]
    }

    /// List price (before region factor, discounts and inflation).
    pub fn list_price(self) -> f64 {
        let cap = if self.capacity == 0 {
            0.0
        } else {
            (f64::from(self.capacity) - 6.0) * 40.0
        };
        FAMILY_PRICE[usize::from(self.family)]
            + cap
            + MOTOR_PRICE[usize::from(self.motor)]
            + COLOR_PRICE[usize::from(self.color)]
            + PANEL_PRICE[usize::from(self.panel)]
    }
}

/// Option weights at `years` since the start of the order history: smart_wifi panels and
/// inverter motors gain share, cream fades, graphite and matte black rise, drums grow.
pub(crate) struct OptionTrends {
    pub panel: [f64; 3],
    pub motor_laundry: [f64; 3],
    pub motor_other: [f64; 3],
    pub color: [f64; 16],
    /// Capacity weights per laundry family (same order as [`CAPACITIES`]).
    pub capacity: [Vec<f64>; 3],
}

impl OptionTrends {
    pub fn at(years: f64) -> OptionTrends {
        let x = years.max(0.0);
        let mut color = COLOR_W;
        color[FADING_COLOR] = 0.05 * (-0.9 * x).exp();
        color[3] = 0.06 + 0.03 * x; // graphite
        color[8] = 0.01 + 0.012 * x; // matte_black
        let capacity = [0, 1, 2].map(|f| {
            let (kgs, w) = CAPACITIES[f];
            kgs.iter()
                .zip(w)
                .map(|(&kg, &w)| w * (0.15 * x * (f64::from(kg) - 8.0)).exp())
                .collect()
        });
        OptionTrends {
            panel: [(0.50 - 0.10 * x).max(0.1), 0.35, 0.15 + 0.10 * x],
            motor_laundry: [(0.60 - 0.12 * x).max(0.1), 0.25 + 0.10 * x, 0.15 + 0.02 * x],
            motor_other: [(0.65 - 0.12 * x).max(0.1), 0.35 + 0.12 * x, 0.0],
            color,
            capacity,
        }
    }
}

/// A purchased part.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub id: String,
    /// Index into `vocab::SUPPLIER_CATEGORIES`.
    pub category: usize,
    pub unit_price: f64,
}

/// One row of the bill of materials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BomLine {
    pub family: usize,
    /// `(option column, option value)`; `None` for base parts.
    pub option: Option<(&'static str, String)>,
    pub part: usize,
    pub qty_per: f64,
}

fn category(name: &str) -> usize {
    SUPPLIER_CATEGORIES
        .iter()
        .position(|c| *c == name)
        .unwrap_or(0)
}

/// Parts and the bill of materials, with fast lookups from a configuration to its parts.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    /// Parts, sorted by id.
    pub parts: Vec<Part>,
    /// BOM rows, grouped by family.
    pub bom: Vec<BomLine>,
    base: [Vec<(usize, f64)>; 5],
    motor: [[Option<usize>; 3]; 5],
    panel: [usize; 3],
    drum: Vec<usize>, // index kg - CAPACITY_RANGE.0
    front: [usize; 16],
    cabinet: [usize; 5],
    tub: [Option<usize>; 5],
}

impl Catalog {
    pub fn new() -> Catalog {
        // (id, category, unit price)
        let mut raw: Vec<(String, &str, f64)> = Vec::new();
        for (f, code) in FAMILY_CODE.iter().enumerate() {
            raw.push((
                format!("CAB-{code}"),
                "sheet_metal",
                [38.0, 34.0, 44.0, 31.0, 58.0][f],
            ));
        }
        raw.push(("TUB-WM".into(), "plastics", 22.0));
        raw.push(("TUB-DW".into(), "plastics", 17.0));
        raw.push(("LINER-FR".into(), "plastics", 26.0));
        raw.push(("GASKET".into(), "plastics", 6.0));
        for kg in CAPACITY_RANGE.0..=CAPACITY_RANGE.1 {
            raw.push((format!("DRM-{kg:02}"), "drums", 45.0 + 5.0 * f64::from(kg)));
        }
        raw.push(("MOT-STD".into(), "motors", 55.0));
        raw.push(("MOT-INV".into(), "motors", 95.0));
        raw.push(("MOT-DDR".into(), "motors", 140.0));
        raw.push(("PMP-STD".into(), "motors", 25.0));
        raw.push(("PMP-INV".into(), "motors", 40.0));
        raw.push(("CMP-STD".into(), "motors", 90.0));
        raw.push(("CMP-INV".into(), "motors", 150.0));
        for (p, code) in PANEL_CODE.iter().enumerate() {
            raw.push((format!("PNL-{code}"), "electronics", [18.0, 35.0, 62.0][p]));
        }
        raw.push(("PCB-MAIN".into(), "electronics", 28.0));
        raw.push(("HOSE-IN".into(), "hoses", 4.5));
        raw.push(("HOSE-OUT".into(), "hoses", 3.8));
        raw.push(("PKG-L".into(), "packaging", 9.0));
        raw.push(("PKG-M".into(), "packaging", 7.0));
        for (c, code) in COLOR_CODE.iter().enumerate() {
            raw.push((
                format!("FRONT-{code}"),
                "sheet_metal",
                if c >= MADE_TO_ORDER_FROM { 22.0 } else { 14.0 },
            ));
        }
        raw.sort_by(|a, b| a.0.cmp(&b.0));
        let parts: Vec<Part> = raw
            .into_iter()
            .map(|(id, cat, price)| Part {
                id,
                category: category(cat),
                unit_price: price,
            })
            .collect();
        let idx = |id: &str| parts.iter().position(|p| p.id == id).unwrap_or(0);

        let cabinet = FAMILY_CODE.map(|code| idx(&format!("CAB-{code}")));
        let tub = [
            Some(idx("TUB-WM")),
            None,
            Some(idx("TUB-WM")),
            Some(idx("TUB-DW")),
            Some(idx("LINER-FR")),
        ];
        let motor = [
            [
                Some(idx("MOT-STD")),
                Some(idx("MOT-INV")),
                Some(idx("MOT-DDR")),
            ],
            [
                Some(idx("MOT-STD")),
                Some(idx("MOT-INV")),
                Some(idx("MOT-DDR")),
            ],
            [
                Some(idx("MOT-STD")),
                Some(idx("MOT-INV")),
                Some(idx("MOT-DDR")),
            ],
            [Some(idx("PMP-STD")), Some(idx("PMP-INV")), None],
            [Some(idx("CMP-STD")), Some(idx("CMP-INV")), None],
        ];
        let panel = PANEL_CODE.map(|code| idx(&format!("PNL-{code}")));
        let drum = (CAPACITY_RANGE.0..=CAPACITY_RANGE.1)
            .map(|kg| idx(&format!("DRM-{kg:02}")))
            .collect();
        let front = COLOR_CODE.map(|code| idx(&format!("FRONT-{code}")));
        let base: [Vec<(usize, f64)>; 5] = [0, 1, 2, 3, 4].map(|f| {
            let mut v = vec![(cabinet[f], 1.0), (idx("PCB-MAIN"), 1.0)];
            if let Some(t) = tub[f] {
                v.push((t, 1.0));
            }
            if f != 1 {
                v.push((idx("GASKET"), if f == 4 { 2.0 } else { 1.0 }));
            }
            if matches!(f, 0 | 2 | 3) {
                v.push((idx("HOSE-IN"), 1.0));
            }
            if f != 4 {
                v.push((idx("HOSE-OUT"), 1.0));
            }
            v.push((if f == 3 { idx("PKG-M") } else { idx("PKG-L") }, 1.0));
            v.sort_unstable_by_key(|&(p, _)| p);
            v
        });

        let mut bom = Vec::new();
        for f in 0..5 {
            for &(part, qty_per) in &base[f] {
                bom.push(BomLine {
                    family: f,
                    option: None,
                    part,
                    qty_per,
                });
            }
            if is_laundry(f) {
                for &kg in CAPACITIES[f].0 {
                    let part = idx(&format!("DRM-{kg:02}"));
                    bom.push(BomLine {
                        family: f,
                        option: Some(("capacity_kg", kg.to_string())),
                        part,
                        qty_per: 1.0,
                    });
                }
            }
            for (m, part) in motor[f].iter().enumerate() {
                if let Some(part) = *part {
                    bom.push(BomLine {
                        family: f,
                        option: Some(("motor", MOTORS[m].to_string())),
                        part,
                        qty_per: 1.0,
                    });
                }
            }
            for (p, &part) in panel.iter().enumerate() {
                bom.push(BomLine {
                    family: f,
                    option: Some(("panel", PANELS[p].to_string())),
                    part,
                    qty_per: 1.0,
                });
            }
            for (c, &part) in front.iter().enumerate() {
                bom.push(BomLine {
                    family: f,
                    option: Some(("color", COLORS[c].to_string())),
                    part,
                    qty_per: 1.0,
                });
            }
        }
        Catalog {
            parts,
            bom,
            base,
            motor,
            panel,
            drum,
            front,
            cabinet,
            tub,
        }
    }

    /// The parts one unit of `c` consumes, with quantities.
    pub fn parts_of(&self, c: Config, mut f: impl FnMut(usize, f64)) {
        let fam = usize::from(c.family);
        for &(p, q) in &self.base[fam] {
            f(p, q);
        }
        if c.capacity != 0
            && let Some(&p) = self
                .drum
                .get(usize::from(c.capacity.saturating_sub(CAPACITY_RANGE.0)))
        {
            f(p, 1.0);
        }
        if let Some(p) = self.motor[fam][usize::from(c.motor)] {
            f(p, 1.0);
        }
        f(self.panel[usize::from(c.panel)], 1.0);
        f(self.front[usize::from(c.color)], 1.0);
    }

    /// The part a station builds in and tracks by supplier lot, for a configuration.
    pub fn critical_part(&self, kind: MachineType, c: Config) -> usize {
        let fam = usize::from(c.family);
        match kind {
            MachineType::DrumWelder => {
                if c.capacity != 0 {
                    self.drum[usize::from(c.capacity.saturating_sub(CAPACITY_RANGE.0))]
                } else {
                    self.cabinet[fam]
                }
            }
            MachineType::TubAssembly => self.tub[fam].unwrap_or(self.cabinet[fam]),
            MachineType::MotorMount => {
                self.motor[fam][usize::from(c.motor)].unwrap_or(self.cabinet[fam])
            }
            MachineType::FinalTest => self.panel[usize::from(c.panel)],
            MachineType::Paint => self.front[usize::from(c.color)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_format() {
        let c = Config {
            family: 0,
            capacity: 9,
            motor: 1,
            color: 3,
            panel: 2,
        };
        assert_eq!(c.sku(), "WM-09-INV-GRA-SMT");
        let d = Config {
            family: 4,
            capacity: 0,
            motor: 0,
            color: 0,
            panel: 0,
        };
        assert_eq!(d.sku(), "FR-XX-STD-WHT-BAS");
        assert!(c.code() != d.code());
        assert!(c.list_price() > FAMILY_PRICE[0]);
    }

    #[test]
    fn trends_move_the_right_way() {
        let (a, b) = (OptionTrends::at(0.0), OptionTrends::at(2.0));
        let share = |w: &[f64], i: usize| w[i] / w.iter().sum::<f64>();
        assert!(share(&b.panel, 2) > share(&a.panel, 2) + 0.1);
        assert!(share(&b.motor_laundry, 1) > share(&a.motor_laundry, 1));
        assert!(share(&b.color, FADING_COLOR) < share(&a.color, FADING_COLOR) / 3.0);
        assert_eq!(a.motor_other[2], 0.0, "direct drive is laundry-only");
    }

    #[test]
    fn every_configuration_has_its_parts() {
        let cat = Catalog::new();
        assert!(
            cat.parts.windows(2).all(|w| w[0].id < w[1].id),
            "parts sorted by id"
        );
        let c = Config {
            family: 0,
            capacity: 9,
            motor: 2,
            color: 15,
            panel: 1,
        };
        let mut ids = Vec::new();
        cat.parts_of(c, |p, _| ids.push(cat.parts[p].id.as_str()));
        for want in [
            "CAB-WM",
            "DRM-09",
            "MOT-DDR",
            "FRONT-MNT",
            "PNL-TCH",
            "TUB-WM",
            "PCB-MAIN",
        ] {
            assert!(ids.contains(&want), "{want} missing from {ids:?}");
        }
        assert_eq!(
            cat.parts[cat.critical_part(MachineType::Paint, c)].id,
            "FRONT-MNT"
        );
        assert_eq!(
            cat.parts[cat.critical_part(MachineType::DrumWelder, c)].id,
            "DRM-09"
        );
        let fridge = Config {
            family: 4,
            capacity: 0,
            motor: 1,
            color: 0,
            panel: 0,
        };
        assert_eq!(
            cat.parts[cat.critical_part(MachineType::MotorMount, fridge)].id,
            "CMP-INV"
        );
        // every part is in the BOM and every BOM part exists
        for (i, _) in cat.parts.iter().enumerate() {
            assert!(
                cat.bom.iter().any(|b| b.part == i),
                "{} unused",
                cat.parts[i].id
            );
        }
    }
}
