//! The plant's structure: plants → lines → machines (stations of a type) → sensors.
//!
//! Ids are zero-padded so that their text order is their numeric order: plants `P01`, lines
//! `P01-L02`, machines `P01-L02-M03`, sensors `S000123` (numbered company-wide in
//! plant, line, machine order). Stations along a line cycle through the
//! [`MachineType::LINE_ORDER`]; each type carries a fixed set of sensors.

use std::ops::Range;

use crate::config::PlantConfig;

/// The most sensors a station carries.
pub const MAX_SENSORS_PER_MACHINE: usize = 4;

/// What a station on an assembly line does; decides its sensors, which order options make it
/// change over, and which supplier part it tracks by lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MachineType {
    /// Welds the stainless-steel drum (sensors: 2 × temperature, current, vibration).
    DrumWelder,
    /// Presses and assembles the tub around the drum (pressure, vibration, current).
    TubAssembly,
    /// Mounts the motor and drive (current, vibration, temperature).
    MotorMount,
    /// End-of-line test rig: runs a wash and spin programme (spin_rpm, vibration, current, temperature).
    FinalTest,
    /// Powder-coats the cabinet front in the chosen colour (2 × temperature, pressure).
    Paint,
}

impl MachineType {
    /// Every station type.
    pub const ALL: [MachineType; 5] = [
        MachineType::DrumWelder,
        MachineType::TubAssembly,
        MachineType::MotorMount,
        MachineType::FinalTest,
        MachineType::Paint,
    ];

    /// The order stations take along a line (then the cycle repeats).
    pub const LINE_ORDER: [MachineType; 5] = Self::ALL;

    /// The type's name, e.g. `drum_welder`.
    pub fn name(self) -> &'static str {
        match self {
            MachineType::DrumWelder => "drum_welder",
            MachineType::TubAssembly => "tub_assembly",
            MachineType::MotorMount => "motor_mount",
            MachineType::FinalTest => "final_test",
            MachineType::Paint => "paint",
        }
    }

    /// The metrics (names from `fabrik_model::vocab::METRICS`) of the type's sensors, one per sensor.
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            MachineType::DrumWelder => &["temperature", "temperature", "current", "vibration"],
            MachineType::TubAssembly => &["pressure", "vibration", "current"],
            MachineType::MotorMount => &["current", "vibration", "temperature"],
            MachineType::FinalTest => &["spin_rpm", "vibration", "current", "temperature"],
            MachineType::Paint => &["temperature", "temperature", "pressure"],
        }
    }

    /// The station type at a 0-based position along a line.
    pub fn at_position(position: usize) -> MachineType {
        Self::LINE_ORDER[position % Self::LINE_ORDER.len()]
    }
}

/// A plant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantSite {
    /// Plant id, e.g. `P01`.
    pub id: String,
    /// Plant time = UTC + this many hours (fixed, no daylight saving).
    pub utc_offset_hours: i32,
}

/// An assembly line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Line id, e.g. `P01-L02`.
    pub id: String,
    /// Index of its plant in [`Topology::plants`].
    pub plant: usize,
    /// Indices of its machines in [`Topology::machines`], in line order.
    pub machines: Range<usize>,
}

/// A machine (station) on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Machine id, e.g. `P01-L02-M03`.
    pub id: String,
    /// Index of its plant.
    pub plant: usize,
    /// Index of its line.
    pub line: usize,
    /// 0-based position along the line.
    pub position: usize,
    /// Station type.
    pub kind: MachineType,
    /// Indices of its sensors in [`Topology::sensors`].
    pub sensors: Range<usize>,
}

/// A sensor on a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sensor {
    /// Sensor id, e.g. `S000123`.
    pub id: String,
    /// Index of its machine.
    pub machine: usize,
    /// What it measures (a `fabrik_model::vocab::METRICS` name).
    pub metric: &'static str,
}

/// The whole structure, every list in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Plants.
    pub plants: Vec<PlantSite>,
    /// Lines, grouped by plant.
    pub lines: Vec<Line>,
    /// Machines, grouped by line.
    pub machines: Vec<Machine>,
    /// Sensors, grouped by machine.
    pub sensors: Vec<Sensor>,
}

impl Topology {
    /// The structure of a (validated) config.
    pub fn new(config: &PlantConfig) -> Topology {
        let mut t = Topology {
            plants: Vec::new(),
            lines: Vec::new(),
            machines: Vec::new(),
            sensors: Vec::new(),
        };
        for p in 0..config.plants as usize {
            let pid = format!("P{:02}", p + 1);
            for l in 0..config.lines_per_plant as usize {
                let lid = format!("{pid}-L{:02}", l + 1);
                let line = t.lines.len();
                let first_machine = t.machines.len();
                for m in 0..config.machines_per_line as usize {
                    let kind = MachineType::at_position(m);
                    let machine = t.machines.len();
                    let first_sensor = t.sensors.len();
                    for &metric in kind.metrics() {
                        t.sensors.push(Sensor {
                            id: format!("S{:06}", t.sensors.len() + 1),
                            machine,
                            metric,
                        });
                    }
                    t.machines.push(Machine {
                        id: format!("{lid}-M{:02}", m + 1),
                        plant: p,
                        line,
                        position: m,
                        kind,
                        sensors: first_sensor..t.sensors.len(),
                    });
                }
                t.lines.push(Line {
                    id: lid,
                    plant: p,
                    machines: first_machine..t.machines.len(),
                });
            }
            t.plants.push(PlantSite {
                id: pid,
                utc_offset_hours: crate::calendar::plant_utc_offset_hours(p),
            });
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabrik_model::vocab::METRICS;

    #[test]
    fn ids_sort_like_the_structure() {
        let config = PlantConfig {
            plants: 2,
            lines_per_plant: 2,
            machines_per_line: 6,
            ..PlantConfig::tiny(1)
        };
        let t = Topology::new(&config);
        assert_eq!(t.machines.len(), 24);
        assert_eq!(t.sensors.len(), 2 * 2 * (4 + 3 + 3 + 4 + 3 + 4));
        assert!(t.sensors.windows(2).all(|w| w[0].id < w[1].id));
        assert!(t.machines.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(
            t.machines[5].kind,
            MachineType::DrumWelder,
            "the station cycle repeats"
        );
        assert_eq!(t.machines[7].id, "P01-L02-M02");
        assert!(t.sensors.iter().all(|s| METRICS.contains(&s.metric)));
        for m in &t.machines {
            assert!(m.sensors.len() <= MAX_SENSORS_PER_MACHINE);
            assert!(m.sensors.clone().all(|s| t.sensors[s].machine
                == t.machines.iter().position(|x| x == m).unwrap_or(usize::MAX)));
        }
    }
}
