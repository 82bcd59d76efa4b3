//! Statistical process control as SQL window functions, backed by
//! [`fabrik_kernels::spc`]: each partition of the `OVER` clause is one series, charted in
//! its `ORDER BY` order against limits learned from the partition's own first readings.
//!
//! ```sql
//! SELECT sensor_id, ts, value,
//!        spc_rule(value, 'nelson', 60)   OVER w AS rule,    -- 'N1', 'N2,N5', … or null
//!        spc_ewma(value, 0.1, 2.7, 60)   OVER w AS ewma,    -- true where the EWMA signals
//!        spc_cusum(value, 0.5, 5, 60)    OVER w AS cusum,   -- true where a CUSUM sum signals
//!        spc_limits(value, 60)           OVER w AS limits   -- {center, sigma, lcl, ucl}
//! FROM minute_means
//! WINDOW w AS (PARTITION BY sensor_id ORDER BY ts);
//! ```
//!
//! # Arguments and results
//!
//! | function | arguments | result |
//! |---|---|---|
//! | `spc_rule` | `value`, `rules` [, `baseline` [, `sigma`]] | Utf8: the ids of the rules firing at the row, comma-separated in [`Rule::ALL`] order (`'WE1'`…`'WE4'`, `'N1'`…`'N8'`); null when none fires |
//! | `spc_ewma` | `value` [, `lambda` [, `L` [, `baseline` [, `sigma`]]]] | Boolean: the EWMA statistic is beyond its limits at the row |
//! | `spc_cusum` | `value` [, `k` [, `h` [, `baseline` [, `sigma`]]]] | Boolean: the upper or lower CUSUM sum is above `h·σ` at the row (both sums restart after a signal) |
//! | `spc_limits` | `value` [, `baseline` [, `sigma`]] | Struct `{center, sigma, lcl, ucl}` (Float64 each), the same on every row of the partition |
//!
//! - `value` is numeric (read as Float64); a null or `NaN` reading is not a point of the
//!   chart (see [`fabrik_kernels::spc`]) and its row gives null.
//! - `rules` is `'nelson'`, `'western_electric'` (or `'we'`), `'all'`, or a comma-separated
//!   list of rule ids such as `'N1,N2,WE2'` (case-insensitive).
//! - `baseline` (default [`DEFAULT_BASELINE`]) is the number of readings, from the start of
//!   each partition, that the centre line and sigma are learned from (nulls are skipped and
//!   not counted). Every reading, the baseline included, is then charted against those
//!   limits, as Minitab does when limits are estimated from the first points (the
//!   baseline itself is checked, Phase I style).
//! - `sigma` is `'mr'` (the default: average moving range / 1.128, the short-term sigma of
//!   an individuals chart) or `'sd'` (the baseline's sample standard deviation, the
//!   overall sigma: wider limits for autocorrelated or wandering series).
//! - `lambda`, `L` (defaults 0.1 and 2.7) and `k`, `h` (defaults 0.5 and 5) are the
//!   parameters of [`EwmaParams`] and [`CusumParams`], in sigmas.
//!
//! Every argument after `value` must be a constant. The functions ignore the window frame:
//! each row's result depends on the partition's baseline and the rows before it (the
//! charts are causal after the baseline).
//!
//! # Errors
//!
//! A partition with fewer than `baseline` readings, or whose baseline gives no usable
//! limits (a constant baseline has sigma 0), fails the query with
//! [`Error::SpcBaseline`], naming the partition by its `PARTITION BY` values
//! (`sensor_id=S-0007`). Filter short series out first, or lower `baseline`.
//!
//! The partition keys reach the evaluator because the functions rewrite themselves while
//! the plan is simplified: the `PARTITION BY` expressions are appended to the call's
//! arguments after a marker (they show in `EXPLAIN`). Without that rewrite (a plan that
//! skips the optimizer) the error names the partition by its number of rows only.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::expr::{WindowFunction, WindowFunctionParams};
use datafusion::logical_expr::function::{
    PartitionEvaluatorArgs, WindowFunctionSimplification, WindowUDFFieldArgs,
};
use datafusion::logical_expr::{
    Expr, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl, lit,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion::prelude::SessionContext;
use fabrik_kernels::spc::{
    CusumParams, CusumSide, CusumState, EwmaParams, EwmaState, Limits, Rule, RuleSet,
    ShewhartState, SigmaEstimate, Summary,
};

use crate::error::Error;

/// `spc_rule(value, rules [, baseline [, sigma]])`: the Western Electric / Nelson rules
/// firing at each row.
pub const SPC_RULE: &str = "spc_rule";
/// `spc_ewma(value [, lambda [, L [, baseline [, sigma]]]])`: whether the EWMA chart
/// signals at each row.
pub const SPC_EWMA: &str = "spc_ewma";
/// `spc_cusum(value [, k [, h [, baseline [, sigma]]]])`: whether the tabular CUSUM
/// signals at each row.
pub const SPC_CUSUM: &str = "spc_cusum";
/// `spc_limits(value [, baseline [, sigma]])`: the partition's centre line, sigma and
/// 3-sigma limits.
pub const SPC_LIMITS: &str = "spc_limits";

/// The default baseline: the first 100 readings of a series. Limits estimated from fewer
/// readings of an individuals chart make its in-control run length much shorter than the
/// nominal 370 (Quesenberry, "The effect of sample size on estimated limits for X̄ and X
/// control charts", *Journal of Quality Technology* 25(4), 1993, recommends about 100).
pub const DEFAULT_BASELINE: usize = 100;

/// The marker after which the partition keys follow in a rewritten call.
const PARTITION_MARKER: &str = "__fabrik_spc_partition__";

/// Registers the window functions of this module in `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in functions() {
        ctx.register_udwf(f);
    }
}

/// The window functions of this module, one [`WindowUDF`] each.
pub fn functions() -> Vec<WindowUDF> {
    [Kind::Rule, Kind::Ewma, Kind::Cusum, Kind::Limits]
        .into_iter()
        .map(|k| WindowUDF::new_from_impl(SpcWindow::new(k)))
        .collect()
}

/// A control chart and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Chart {
    /// The Shewhart individuals chart checking these Western Electric / Nelson rules.
    Rules(RuleSet),
    /// The EWMA chart.
    Ewma(EwmaParams),
    /// The tabular CUSUM.
    Cusum(CusumParams),
}

impl Chart {
    /// The chart named as SQL names it: `'nelson'`, `'western_electric'` (`'we'`),
    /// `'all'`, a comma-separated list of rule ids (`'N1,WE2'`), `'ewma'` or `'cusum'`
    /// (the latter two with their default parameters); case-insensitive.
    pub fn parse(name: &str) -> Option<Chart> {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "ewma" => Some(Chart::Ewma(EwmaParams::default())),
            "cusum" => Some(Chart::Cusum(CusumParams::default())),
            _ => parse_rules(&lower).map(Chart::Rules),
        }
    }
}

/// A rule set as `spc_rule` takes it (see the [module docs](self)).
pub fn parse_rules(name: &str) -> Option<RuleSet> {
    match name.trim().to_ascii_lowercase().as_str() {
        "nelson" => Some(RuleSet::NELSON),
        "western_electric" | "we" => Some(RuleSet::WESTERN_ELECTRIC),
        "all" => Some(RuleSet::ALL),
        list => {
            let mut set = RuleSet::NONE;
            for id in list.split(',') {
                set = set.with(Rule::from_id(id.trim())?);
            }
            (set != RuleSet::NONE).then_some(set)
        }
    }
}

/// What a chart says at one point that signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The rules that fired (a Shewhart chart).
    Rules(RuleSet),
    /// The EWMA statistic beyond its limits: above the upper one, or below the lower.
    Ewma {
        /// Above the upper limit (else below the lower).
        above: bool,
    },
    /// A CUSUM sum above the decision interval (the upper one first if both are).
    Cusum(CusumSide),
}

impl Signal {
    /// A short label: the rule ids joined by commas (`"N1,N5"`), `"EWMA+"` / `"EWMA-"`,
    /// `"CUSUM+"` / `"CUSUM-"`.
    pub fn label(&self) -> String {
        let mut label = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_label(&mut label);
        label
    }

    /// Writes [`label`](Self::label) to `out` without allocating (e.g. straight into an
    /// Arrow `StringBuilder`, then finished with `append_value("")`).
    pub fn write_label(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        match self {
            Signal::Rules(set) => {
                for (i, rule) in set.iter().enumerate() {
                    if i > 0 {
                        out.write_char(',')?;
                    }
                    out.write_str(rule.id())?;
                }
                Ok(())
            }
            Signal::Ewma { above: true } => out.write_str("EWMA+"),
            Signal::Ewma { above: false } => out.write_str("EWMA-"),
            Signal::Cusum(CusumSide::Upper) => out.write_str("CUSUM+"),
            Signal::Cusum(CusumSide::Lower) => out.write_str("CUSUM-"),
        }
    }
}

/// Why a series gives no control limits from its baseline.
#[derive(Debug)]
pub enum BaselineProblem {
    /// The series has fewer readings than the baseline needs.
    TooShort {
        /// The (non-missing) readings of the whole series.
        found: usize,
    },
    /// The baseline's readings give no usable limits (e.g. sigma 0).
    Limits(fabrik_kernels::Error),
}

/// The limits learned from the first `baseline` (non-`NaN`) readings of `values`.
///
/// A `baseline` below 2 is taken as 2 (sigma needs two readings).
pub fn baseline_limits(
    values: &[f64],
    baseline: usize,
    sigma: SigmaEstimate,
) -> Result<Limits, BaselineProblem> {
    let baseline = baseline.max(2);
    let mut summary = Summary::new();
    for &v in values {
        if summary.count() as usize >= baseline {
            break;
        }
        summary.push(v);
    }
    if (summary.count() as usize) < baseline {
        return Err(BaselineProblem::TooShort {
            found: summary.count() as usize,
        });
    }
    summary.limits(sigma).map_err(BaselineProblem::Limits)
}

/// Charts a whole series (`NaN` = missing) against `limits`: what signals at each point,
/// `None` where nothing does.
pub fn chart_signals(
    values: &[f64],
    limits: Limits,
    chart: Chart,
) -> fabrik_kernels::Result<Vec<Option<Signal>>> {
    let mut out = vec![None; values.len()];
    match chart {
        Chart::Rules(rules) => {
            let mut violations = Vec::new();
            ShewhartState::new(limits, rules).update(values, &mut violations);
            for v in violations {
                let set = match out[v.index] {
                    Some(Signal::Rules(set)) => set,
                    _ => RuleSet::NONE,
                };
                out[v.index] = Some(Signal::Rules(set.with(v.rule)));
            }
        }
        Chart::Ewma(params) => {
            let mut signals = Vec::new();
            EwmaState::new(limits, params)?.update(values, &mut signals);
            for s in signals {
                out[s.index] = Some(Signal::Ewma {
                    above: s.statistic > s.ucl,
                });
            }
        }
        Chart::Cusum(params) => {
            let mut signals = Vec::new();
            CusumState::new(limits, params)?.update(values, &mut signals);
            for s in signals {
                // Upper signals are pushed first: keep the first of a point.
                if out[s.index].is_none() {
                    out[s.index] = Some(Signal::Cusum(s.side));
                }
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Rule,
    Ewma,
    Cusum,
    Limits,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Rule => SPC_RULE,
            Kind::Ewma => SPC_EWMA,
            Kind::Cusum => SPC_CUSUM,
            Kind::Limits => SPC_LIMITS,
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Kind::Rule => {
                "spc_rule(value, 'nelson' | 'western_electric' | 'all' | 'N1,N2,…' [, baseline readings, e.g. 100 [, 'mr' | 'sd']]) OVER (PARTITION BY <series> ORDER BY ts)"
            }
            Kind::Ewma => {
                "spc_ewma(value [, lambda, e.g. 0.1 [, L, e.g. 2.7 [, baseline readings [, 'mr' | 'sd']]]]) OVER (PARTITION BY <series> ORDER BY ts)"
            }
            Kind::Cusum => {
                "spc_cusum(value [, k, e.g. 0.5 [, h, e.g. 5 [, baseline readings [, 'mr' | 'sd']]]]) OVER (PARTITION BY <series> ORDER BY ts)"
            }
            Kind::Limits => {
                "spc_limits(value [, baseline readings, e.g. 100 [, 'mr' | 'sd']]) OVER (PARTITION BY <series> ORDER BY ts)"
            }
        }
    }

    /// What each argument after `value` is, in order (`Some(number)` or `None` for text).
    fn options(self) -> &'static [Opt] {
        match self {
            Kind::Rule => &[Opt::Rules, Opt::Baseline, Opt::Sigma],
            Kind::Ewma => &[Opt::Lambda, Opt::Width, Opt::Baseline, Opt::Sigma],
            Kind::Cusum => &[Opt::K, Opt::H, Opt::Baseline, Opt::Sigma],
            Kind::Limits => &[Opt::Baseline, Opt::Sigma],
        }
    }

    fn min_args(self) -> usize {
        match self {
            Kind::Rule => 2,
            _ => 1,
        }
    }
}

/// An optional argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Rules,
    Lambda,
    Width,
    K,
    H,
    Baseline,
    Sigma,
}

impl Opt {
    fn is_text(self) -> bool {
        matches!(self, Opt::Rules | Opt::Sigma)
    }

    fn expected(self) -> &'static str {
        match self {
            Opt::Rules => {
                "a constant string: 'nelson', 'western_electric', 'all' or rule ids such as 'N1,N5,WE2'"
            }
            Opt::Lambda => "a constant number in (0, 1] (the EWMA's lambda)",
            Opt::Width => "a constant positive number (the EWMA's limit width L, in sigmas)",
            Opt::K => "a constant number >= 0 (the CUSUM's reference value k, in sigmas)",
            Opt::H => "a constant positive number (the CUSUM's decision interval h, in sigmas)",
            Opt::Baseline => "a constant integer >= 2 (the baseline's readings)",
            Opt::Sigma => "'mr' (moving range) or 'sd' (sample standard deviation)",
        }
    }
}

/// The `{center, sigma, lcl, ucl}` struct of `spc_limits`.
fn limits_fields() -> Fields {
    Fields::from(
        ["center", "sigma", "lcl", "ucl"]
            .map(|n| Field::new(n, DataType::Float64, true))
            .to_vec(),
    )
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SpcWindow {
    kind: Kind,
    signature: Signature,
}

impl SpcWindow {
    fn new(kind: Kind) -> Self {
        SpcWindow {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn argument_error(
        &self,
        position: usize,
        expected: &'static str,
        found: String,
    ) -> DataFusionError {
        external(Error::FunctionArgument {
            function: self.kind.name(),
            position,
            expected,
            found,
            usage: self.kind.usage(),
        })
    }

    /// The coerced types of the user arguments, or why they are refused.
    fn check(&self, arg_types: &[DataType]) -> DFResult<Vec<DataType>> {
        let options = self.kind.options();
        if arg_types.len() < self.kind.min_args() || arg_types.len() > 1 + options.len() {
            return Err(external(Error::FunctionArity {
                function: self.kind.name(),
                usage: self.kind.usage(),
                found: arg_types.len(),
            }));
        }
        let mut out = Vec::with_capacity(arg_types.len());
        let value = &arg_types[0];
        if !(value.is_numeric() || *value == DataType::Null) {
            return Err(self.argument_error(
                1,
                "a numeric column (the reading)",
                value.to_string(),
            ));
        }
        out.push(DataType::Float64);
        for (i, (t, opt)) in arg_types[1..].iter().zip(options).enumerate() {
            let ok = if opt.is_text() {
                matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            } else {
                t.is_numeric()
            };
            if !ok {
                return Err(self.argument_error(i + 2, opt.expected(), t.to_string()));
            }
            out.push(t.clone());
        }
        Ok(out)
    }
}

/// Whether a call's arguments already hold the partition marker.
fn is_marked(args: &[Expr]) -> bool {
    args.iter()
        .any(|e| matches!(e, Expr::Literal(ScalarValue::Utf8(Some(s)), _) if s == PARTITION_MARKER))
}

impl WindowUDFImpl for SpcWindow {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Coerces the value to Float64 and leaves the rest (the partition keys appended by
    /// [`simplify`](Self::simplify) included) unchanged; refusals come from `field` as
    /// typed errors.
    fn coerce_types(&self, arg_types: &[DataType]) -> DFResult<Vec<DataType>> {
        let mut out = arg_types.to_vec();
        if let Some(first) = out.first_mut()
            && (first.is_numeric() || *first == DataType::Null)
        {
            *first = DataType::Float64;
        }
        Ok(out)
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> DFResult<FieldRef> {
        let types: Vec<DataType> = field_args
            .input_fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        // After `simplify`, a marker and the partition keys follow the user's arguments;
        // their types say nothing of where the marker is, so the longest prefix that
        // checks is taken here, and `partition_evaluator` checks the exact arguments.
        let max = types.len().min(1 + self.kind.options().len());
        let fits = (self.kind.min_args()..=max)
            .rev()
            .any(|m| self.check(&types[..m]).is_ok());
        if !fits {
            self.check(&types[..max])?;
        }
        let data_type = match self.kind {
            Kind::Rule => DataType::Utf8,
            Kind::Ewma | Kind::Cusum => DataType::Boolean,
            Kind::Limits => DataType::Struct(limits_fields()),
        };
        Ok(Arc::new(Field::new(field_args.name(), data_type, true)))
    }

    fn simplify(&self) -> Option<WindowFunctionSimplification> {
        Some(Box::new(|wf: WindowFunction, _| {
            if is_marked(&wf.params.args) || wf.params.partition_by.is_empty() {
                return Ok(Expr::from(wf));
            }
            let WindowFunction {
                fun,
                params:
                    WindowFunctionParams {
                        mut args,
                        partition_by,
                        order_by,
                        window_frame,
                        filter,
                        null_treatment,
                        distinct,
                    },
            } = wf;
            args.push(lit(PARTITION_MARKER));
            args.extend(partition_by.iter().cloned());
            Ok(Expr::from(WindowFunction {
                fun,
                params: WindowFunctionParams {
                    args,
                    partition_by,
                    order_by,
                    window_frame,
                    filter,
                    null_treatment,
                    distinct,
                },
            }))
        }))
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> DFResult<Box<dyn PartitionEvaluator>> {
        let exprs = args.input_exprs();
        let literal = |i: usize| {
            exprs[i]
                .downcast_ref::<Literal>()
                .map(|l| l.value().clone())
        };
        let marker = (0..exprs.len()).find(
            |&i| matches!(literal(i), Some(ScalarValue::Utf8(Some(s))) if s == PARTITION_MARKER),
        );
        let user = marker.unwrap_or(exprs.len());
        let keys: Vec<String> = match marker {
            Some(m) => args.input_fields()[m + 1..]
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            None => Vec::new(),
        };
        let types: Vec<DataType> = args.input_fields()[..user]
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        self.check(&types)?;
        let mut config = Config {
            kind: self.kind,
            chart: Chart::Rules(RuleSet::NONE),
            baseline: DEFAULT_BASELINE,
            sigma: SigmaEstimate::MovingRange,
            keys,
        };
        let mut ewma = EwmaParams::default();
        let mut cusum = CusumParams::default();
        for (i, opt) in self.kind.options().iter().enumerate().take(user - 1) {
            let position = i + 2;
            let value = literal(i + 1);
            let bad = || {
                self.argument_error(
                    position,
                    opt.expected(),
                    value
                        .as_ref()
                        .map_or_else(|| exprs[i + 1].to_string(), |v| v.to_string()),
                )
            };
            let text = match &value {
                Some(
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::LargeUtf8(Some(s))
                    | ScalarValue::Utf8View(Some(s)),
                ) => Some(s.as_str()),
                _ => None,
            };
            let number = value
                .as_ref()
                .and_then(|v| v.cast_to(&DataType::Float64).ok())
                .and_then(|v| match v {
                    ScalarValue::Float64(Some(x)) if x.is_finite() => Some(x),
                    _ => None,
                });
            match opt {
                Opt::Rules => {
                    config.chart = Chart::Rules(text.and_then(parse_rules).ok_or_else(bad)?);
                }
                Opt::Sigma => {
                    config.sigma = match text.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
                        Some("mr") => SigmaEstimate::MovingRange,
                        Some("sd") => SigmaEstimate::SampleStdDev,
                        _ => return Err(bad()),
                    };
                }
                Opt::Baseline => {
                    config.baseline = number
                        .filter(|x| *x >= 2.0 && x.fract() == 0.0 && *x <= 1e12)
                        .ok_or_else(bad)? as usize;
                }
                Opt::Lambda => {
                    ewma.lambda = number.filter(|x| *x > 0.0 && *x <= 1.0).ok_or_else(bad)?
                }
                Opt::Width => ewma.width = number.filter(|x| *x > 0.0).ok_or_else(bad)?,
                Opt::K => cusum.k = number.filter(|x| *x >= 0.0).ok_or_else(bad)?,
                Opt::H => cusum.h = number.filter(|x| *x > 0.0).ok_or_else(bad)?,
            }
        }
        match self.kind {
            Kind::Ewma => config.chart = Chart::Ewma(ewma),
            Kind::Cusum => config.chart = Chart::Cusum(cusum),
            Kind::Rule | Kind::Limits => {}
        }
        Ok(Box::new(SpcEvaluator { config, user }))
    }
}

/// The parameters of one call.
#[derive(Debug, Clone)]
struct Config {
    kind: Kind,
    chart: Chart,
    baseline: usize,
    sigma: SigmaEstimate,
    /// The `PARTITION BY` expressions, as text, when the call was rewritten.
    keys: Vec<String>,
}

#[derive(Debug)]
struct SpcEvaluator {
    config: Config,
    /// The number of user arguments (the keys' columns follow the marker after them).
    user: usize,
}

impl SpcEvaluator {
    /// The partition, named by its keys' values (`sensor_id=S-0007`), or by its rows.
    fn describe(&self, values: &[ArrayRef], num_rows: usize) -> String {
        let keys = values.get(self.user + 1..).unwrap_or(&[]);
        if keys.is_empty() || num_rows == 0 || keys.len() != self.config.keys.len() {
            return format!("of {num_rows} rows");
        }
        let named: Vec<String> = self
            .config
            .keys
            .iter()
            .zip(keys)
            .map(|(name, col)| {
                let v = ScalarValue::try_from_array(col, 0)
                    .map_or_else(|_| "?".to_owned(), |v| v.to_string());
                format!("{name}={v}")
            })
            .collect();
        format!("{} ({num_rows} rows)", named.join(", "))
    }
}

impl PartitionEvaluator for SpcEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> DFResult<ArrayRef> {
        let Some(first) = values.first() else {
            return Err(DataFusionError::Internal(format!(
                "{}: no value column",
                self.config.kind.name()
            )));
        };
        let column = cast(first, &DataType::Float64)?;
        let column = column.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let readings: Vec<f64> = column.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let limits = baseline_limits(&readings, self.config.baseline, self.config.sigma).map_err(
            |problem| {
                let partition = self.describe(values, num_rows);
                external(match problem {
                    BaselineProblem::TooShort { found } => Error::SpcShortSeries {
                        function: self.config.kind.name(),
                        partition,
                        found,
                        baseline: self.config.baseline,
                    },
                    BaselineProblem::Limits(source) => Error::SpcBaseline {
                        function: self.config.kind.name(),
                        partition,
                        baseline: self.config.baseline,
                        source: Box::new(source),
                    },
                })
            },
        )?;
        let present = |i: usize| !readings[i].is_nan();
        Ok(match self.config.kind {
            Kind::Limits => {
                let nulls = NullBuffer::from((0..num_rows).map(present).collect::<Vec<_>>());
                let column = |x: f64| -> ArrayRef {
                    Arc::new(Float64Array::new(
                        vec![x; num_rows].into(),
                        Some(nulls.clone()),
                    ))
                };
                Arc::new(StructArray::try_new(
                    limits_fields(),
                    vec![
                        column(limits.center()),
                        column(limits.sigma()),
                        column(limits.lcl()),
                        column(limits.ucl()),
                    ],
                    Some(nulls.clone()),
                )?)
            }
            Kind::Rule => {
                let signals = chart_signals(&readings, limits, self.config.chart)
                    .map_err(|e| external(Error::Kernel(e)))?;
                let mut out = StringBuilder::with_capacity(num_rows, 0);
                for s in signals {
                    match s {
                        Some(s) => {
                            s.write_label(&mut out).map_err(|_| {
                                DataFusionError::Internal(
                                    "spc_rule: writing a label failed".to_owned(),
                                )
                            })?;
                            out.append_value("");
                        }
                        None => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            Kind::Ewma | Kind::Cusum => {
                let signals = chart_signals(&readings, limits, self.config.chart)
                    .map_err(|e| external(Error::Kernel(e)))?;
                Arc::new(
                    signals
                        .iter()
                        .enumerate()
                        .map(|(i, s)| present(i).then_some(s.is_some()))
                        .collect::<BooleanArray>(),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_sets_parse() {
        assert_eq!(parse_rules("Nelson"), Some(RuleSet::NELSON));
        assert_eq!(parse_rules("we"), Some(RuleSet::WESTERN_ELECTRIC));
        assert_eq!(
            parse_rules("n1, WE2"),
            Some(RuleSet::NONE.with(Rule::Nelson1).with(Rule::We2))
        );
        assert_eq!(parse_rules("N9"), None);
        assert_eq!(parse_rules(""), None);
        assert_eq!(
            Chart::parse("ewma"),
            Some(Chart::Ewma(EwmaParams::default()))
        );
    }

    #[test]
    fn baselines_by_hand() {
        // First 4 readings (NaN skipped): 10, 12, 11, 15 → mean 12, MR̄ = (2+1+4)/3.
        let values = [10.0, f64::NAN, 12.0, 11.0, 15.0, 100.0];
        let l = baseline_limits(&values, 4, SigmaEstimate::MovingRange).expect("limits");
        assert!((l.center() - 12.0).abs() < 1e-12);
        assert!((l.sigma() - 7.0 / 3.0 / 1.128).abs() < 1e-12);
        assert!(matches!(
            baseline_limits(&values, 6, SigmaEstimate::MovingRange),
            Err(BaselineProblem::TooShort { found: 5 })
        ));
        assert!(matches!(
            baseline_limits(&[3.0, 3.0, 3.0], 3, SigmaEstimate::MovingRange),
            Err(BaselineProblem::Limits(_))
        ));
    }

    #[test]
    fn signals_label_what_fired() -> fabrik_kernels::Result<()> {
        let limits = Limits::new(0.0, 1.0)?;
        // 3.5 is beyond 3σ (N1); with the 2.5 at row 3 it makes 2 of the 3 points 1..=3
        // beyond 2σ (N5 at 3), and the two 2.5s do again at row 4.
        let s = chart_signals(
            &[0.0, 3.5, 0.0, 2.5, 2.5],
            limits,
            Chart::Rules(RuleSet::NELSON),
        )?;
        let labels: Vec<Option<String>> = s.iter().map(|s| s.map(|s| s.label())).collect();
        assert_eq!(
            labels,
            vec![
                None,
                Some("N1".into()),
                None,
                Some("N5".into()),
                Some("N5".into())
            ]
        );
        // CUSUM k = 0.5, h = 1: 2 → C⁺ = 1.5 > 1 at row 0; −2 → C⁻ = 1.5 at row 1.
        let params = CusumParams {
            k: 0.5,
            h: 1.0,
            reset: true,
        };
        let s = chart_signals(&[2.0, -2.0], limits, Chart::Cusum(params))?;
        assert_eq!(
            s,
            vec![
                Some(Signal::Cusum(CusumSide::Upper)),
                Some(Signal::Cusum(CusumSide::Lower))
            ]
        );
        Ok(())
    }
}
