use super::*;
use crate::test_series::assert_close;

/// `sm.datasets.nile.load_pandas().data['volume']`: annual flow of the Nile at Aswan,
/// 1871-1970.
const NILE: [f64; 100] = [
    1120.0, 1160.0, 963.0, 1210.0, 1160.0, 1160.0, 813.0, 1230.0, 1370.0, 1140.0, 995.0, 935.0,
    1110.0, 994.0, 1020.0, 960.0, 1180.0, 799.0, 958.0, 1140.0, 1100.0, 1210.0, 1150.0, 1250.0,
    1260.0, 1220.0, 1030.0, 1100.0, 774.0, 840.0, 874.0, 694.0, 940.0, 833.0, 701.0, 916.0, 692.0,
    1020.0, 1050.0, 969.0, 831.0, 726.0, 456.0, 824.0, 702.0, 1120.0, 1100.0, 832.0, 764.0, 821.0,
    768.0, 845.0, 864.0, 862.0, 698.0, 845.0, 744.0, 796.0, 1040.0, 759.0, 781.0, 865.0, 845.0,
    944.0, 984.0, 897.0, 822.0, 1010.0, 771.0, 676.0, 649.0, 846.0, 812.0, 742.0, 801.0, 1040.0,
    860.0, 874.0, 848.0, 890.0, 744.0, 749.0, 838.0, 1050.0, 918.0, 986.0, 797.0, 923.0, 975.0,
    815.0, 1020.0, 906.0, 901.0, 1170.0, 912.0, 746.0, 919.0, 718.0, 714.0, 740.0,
];

#[test]
#[ignore = "debug print: cargo test -p fabrik-forecast -- --ignored --nocapture arima_debug"]
fn arima_debug() {
    for a in [
        Arima::new((1, 0, 1), (0, 0, 0), 1),
        Arima::new((2, 0, 0), (0, 0, 0), 1),
        Arima::new((0, 1, 1), (0, 0, 0), 1).with_drift(true),
        Arima::new((0, 2, 2), (0, 0, 0), 1),
    ] {
        let f = a.fit_arima(&NILE).expect("fit");
        let fc = f.forecast(4, &[95.0]);
        println!(
            "{} coef {:?} crit {:?} s2 {}",
            f.name(),
            f.coefficients(),
            f.criteria(),
            f.sigma2()
        );
        println!(
            "  mean {:?}\n  lo {:?}\n  hi {:?}",
            fc.mean, fc.intervals[0].lo, fc.intervals[0].hi
        );
        let fi = f.fitted().expect("fitted");
        println!("  fitted {:?} {:?}", &fi[..3], &fi[98..]);
    }
    for (o, drift) in [((0, 1, 1), true), ((0, 2, 2), false)] {
        let spec = Arima::new(o, (0, 0, 0), 1).with_drift(drift).spec();
        let mut f = fit(&NILE, &spec, Method::CssMl, None, Diffuse::Statsforecast).expect("fit");
        finish(&mut f, NILE.len(), None);
        println!(
            "sf-compat {o:?} coef {:?} loglik {} aicc {} s2 {}",
            f.coef, f.loglik, f.aicc, f.sigma2
        );
    }
    let _ = assert_close;
}
