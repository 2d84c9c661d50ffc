//! Row filters: every expression form against a row-by-row evaluation in plain Rust (on a
//! partition with a column of every type, nulls, NaN and -0.0), and Parquet predicate
//! pushdown: the row groups read are exactly those whose data holds a match — shown by
//! damaging every other row group's pages and reading without an error — and the rows
//! returned are exactly the matching ones.
//!
//! The fixtures stay in cargo's test scratch directory, for `make travel-test`.

mod common;

use arrow_array::types::*;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use common::client;
use common::table::{cell, table, V};
use dask::error::Error;
use dask::io::parquet::{read_parquet, row_groups_read, ReadOptions};
use dask::table::{col, evaluate_filter, lit, CmpOp, Expr, Scalar};
use parquet::file::properties::WriterProperties;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exact order of an integer and a float (no rounding of either).
fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let fl = f.floor();
    if fl.abs() > 1e38 {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    match i.cmp(&(fl as i128)) {
        Ordering::Equal if f != fl => Some(Ordering::Less),
        o => Some(o),
    }
}

fn holds(o: Option<Ordering>, op: CmpOp) -> bool {
    match o {
        // Unordered (NaN): only `!=` holds.
        None => op == CmpOp::Ne,
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
    }
}

/// `x op y` in three-valued logic; `f32` says x came from a float32 column (a literal
/// is then rounded to float32 first, as NumPy does).
fn cmp(x: &V, op: CmpOp, y: &V, f32: bool) -> Option<bool> {
    let o = match (x, y) {
        (V::Null, _) | (_, V::Null) => return None,
        (V::I(a), V::I(b)) => Some(a.cmp(b)),
        (V::I(a), V::F(b)) => int_vs_float(*a, *b),
        (V::F(a), V::I(b)) => int_vs_float(*b, *a).map(Ordering::reverse),
        (V::F(a), V::F(b)) => {
            let b = if f32 { *b as f32 as f64 } else { *b };
            a.partial_cmp(&b)
        }
        (V::S(a), V::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (V::B(a), V::B(b)) => Some(a.cmp(b)),
        other => panic!("the oracle cannot compare {other:?}"),
    };
    Some(holds(o, op))
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn lit_v(s: &Scalar) -> V {
    match s {
        Scalar::Null => V::Null,
        Scalar::Bool(b) => V::B(*b),
        Scalar::Int(i) => V::I((*i).into()),
        Scalar::Float(f) => V::F(*f),
        Scalar::Str(s) => V::S(s.clone()),
    }
}

type Oracle = Box<dyn Fn(&dyn Fn(&str) -> V) -> Option<bool>>;

/// `column op literal`, with the oracle's literal given apart (dates and timestamps by
/// their stored number).
fn c(name: &'static str, op: CmpOp, l: impl Into<Scalar>, oracle_lit: V) -> (Expr, Oracle) {
    let f32 = name == "f32";
    (
        col(name).cmp(op, lit(l)),
        Box::new(move |row| cmp(&row(name), op, &oracle_lit, f32)),
    )
}

fn cc(a: &'static str, op: CmpOp, b: &'static str) -> (Expr, Oracle) {
    (
        col(a).cmp(op, col(b)),
        Box::new(move |row| cmp(&row(a), op, &row(b), false)),
    )
}

fn and(x: (Expr, Oracle), y: (Expr, Oracle)) -> (Expr, Oracle) {
    let (fx, fy) = (x.1, y.1);
    (x.0.and(y.0), Box::new(move |row| and3(fx(row), fy(row))))
}

fn or(x: (Expr, Oracle), y: (Expr, Oracle)) -> (Expr, Oracle) {
    let (fx, fy) = (x.1, y.1);
    (x.0.or(y.0), Box::new(move |row| or3(fx(row), fy(row))))
}

fn not(x: (Expr, Oracle)) -> (Expr, Oracle) {
    let f = x.1;
    (x.0.not(), Box::new(move |row| f(row).map(|b| !b)))
}

fn is_null(name: &'static str) -> (Expr, Oracle) {
    (
        col(name).is_null(),
        Box::new(move |row| Some(row(name) == V::Null)),
    )
}

fn isin(name: &'static str, values: Vec<Scalar>) -> (Expr, Oracle) {
    let vs: Vec<V> = values.iter().map(lit_v).collect();
    isin_as(name, values, vs)
}

/// `isin` with the oracle's values given apart (dates by their day number).
fn isin_as(name: &'static str, values: Vec<Scalar>, vs: Vec<V>) -> (Expr, Oracle) {
    let f32 = name == "f32";
    (
        col(name).isin(values),
        Box::new(move |row| {
            let x = row(name);
            if x == V::Null {
                return None;
            }
            Some(
                vs.iter()
                    .any(|v| *v != V::Null && cmp(&x, CmpOp::Eq, v, f32) == Some(true)),
            )
        }),
    )
}

const DAY_2000: i128 = 10_957; // 2000-01-01, days since the epoch
const US_2000: i128 = 946_684_800_000_000; // 2000-01-01T00:00:00Z in microseconds

fn cases() -> Vec<(Expr, Oracle)> {
    use CmpOp::*;
    let ints = |r: std::ops::Range<i64>| r.map(Scalar::Int).collect::<Vec<_>>();
    let words = ["", "a", "héllo", "zzz"];
    let many_words: Vec<Scalar> = (0..40)
        .map(|i| Scalar::Str(format!("w{i}")))
        .chain(words.iter().map(|w| Scalar::from(*w)))
        .collect();
    vec![
        c("i8", Gt, 5, V::I(5)),
        c("i8", Lt, 300, V::I(300)),
        c("i8", Ge, -129, V::I(-129)),
        c("i8", Eq, 1000, V::I(1000)),
        c("u64", Gt, -1, V::I(-1)),
        c("u64", Le, i64::MAX, V::I(i64::MAX.into())),
        c("u8", Eq, 7.0, V::F(7.0)),
        c("i32", Lt, 2.5, V::F(2.5)),
        c("i32", Ge, -2.5, V::F(-2.5)),
        c("i32", Eq, 2.5, V::F(2.5)),
        c("i32", Ne, 2.5, V::F(2.5)),
        c("i64", Le, 1e30, V::F(1e30)),
        c("i64", Gt, -1e30, V::F(-1e30)),
        c("i64", Lt, f64::NAN, V::F(f64::NAN)),
        c("i64", Ne, f64::NAN, V::F(f64::NAN)),
        c("i16", Ge, 1000, V::I(1000)),
        c("f64", Gt, 0.0, V::F(0.0)),
        c("f64", Eq, 0.0, V::F(0.0)),
        c("f64", Lt, 0.0, V::F(0.0)),
        c("f64", Ne, 1.0, V::F(1.0)),
        c("f64", Ge, 3, V::I(3)),
        c("f32", Le, 100.5, V::F(100.5)),
        c("f32", Gt, 0.1, V::F(0.1)),
        c("utf8", Eq, "a", V::S("a".into())),
        c("large_utf8", Lt, "b", V::S("b".into())),
        c("dict", Eq, "héllo", V::S("héllo".into())),
        c("dict", Ne, "a", V::S("a".into())),
        c("dict", Ge, "wörld", V::S("wörld".into())),
        c("date32", Ge, "2000-01-01", V::I(DAY_2000)),
        c("date32", Lt, 10_957, V::I(DAY_2000)),
        c("date32", Gt, 1i64 << 40, V::I(1 << 40)),
        c("ts_us_utc", Lt, "2000-01-01T00:00:00Z", V::I(US_2000)),
        c("ts_ns", Gt, 1i64 << 61, V::I(1 << 61)),
        c("bool", Eq, true, V::B(true)),
        c("i8", Eq, Scalar::Null, V::Null),
        (
            col("bool"),
            Box::new(|row| match row("bool") {
                V::B(b) => Some(b),
                _ => None,
            }),
        ),
        is_null("i32"),
        not(is_null("f32")),
        isin(
            "utf8",
            vec!["a".into(), "".into(), "zzz".into(), Scalar::Null],
        ),
        isin("utf8", many_words.clone()),
        isin("large_utf8", many_words.clone()),
        isin("dict", many_words),
        isin("dict", vec!["héllo".into()]),
        isin("i16", ints(-100..100)),
        isin(
            "i8",
            ints(-3..3)
                .into_iter()
                .chain([Scalar::Float(2.5), 1000.into()])
                .collect(),
        ),
        isin("u64", ints(0..20)),
        isin("f64", vec![0.0.into(), Scalar::Float(f64::NAN)]),
        isin_as(
            "date32",
            (0..30)
                .map(|d| Scalar::Int(d * 1000))
                .chain(["2000-01-01".into()])
                .collect(),
            (0..30)
                .map(|d| V::I(d * 1000))
                .chain([V::I(DAY_2000)])
                .collect(),
        ),
        isin("i32", vec![]),
        (
            col("i16").between(-1000, 1000),
            Box::new(|row| {
                and3(
                    cmp(&row("i16"), CmpOp::Ge, &V::I(-1000), false),
                    cmp(&row("i16"), CmpOp::Le, &V::I(1000), false),
                )
            }),
        ),
        and(c("i8", Gt, 0, V::I(0)), c("i32", Lt, 0, V::I(0))),
        or(c("i8", Gt, 0, V::I(0)), is_null("f32")),
        or(c("i8", Gt, 0, V::I(0)), c("i32", Lt, 0, V::I(0))),
        not(c("i8", Gt, 0, V::I(0))),
        not(and(
            c("f64", Ge, 1.0, V::F(1.0)),
            not(c("dict", Eq, "a", V::S("a".into()))),
        )),
        cc("i8", Lt, "i16"),
        cc("i32", Eq, "u16"),
        cc("i64", Ge, "u64"),
        cc("f32", Lt, "i64"),
        cc("f64", Ne, "f32"),
        cc("utf8", Eq, "large_utf8"),
        cc("utf8", Le, "dict"),
        (
            // Compared as instants: microseconds brought to nanoseconds.
            col("ts_us_utc").lt(col("ts_ns")),
            Box::new(|row| match (row("ts_us_utc"), row("ts_ns")) {
                (V::I(us), V::I(ns)) => Some(us * 1000 < ns),
                _ => None,
            }),
        ),
    ]
}

fn check(expr: &Expr, oracle: &Oracle, batch: &RecordBatch) {
    let got = evaluate_filter(expr, batch).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(got.len(), batch.num_rows(), "{expr}");
    for i in 0..batch.num_rows() {
        let row = |name: &str| cell(batch.column_by_name(name).unwrap(), i);
        let want = oracle(&row);
        let have = (!got.is_null(i)).then(|| got.value(i));
        assert_eq!(have, want, "{expr}, row {i}");
    }
}

#[test]
fn every_expression_form_matches_a_row_by_row_evaluation() {
    let batch = table(2_000, 7);
    // Small values too, so that comparisons near zero and the isin lists find rows.
    let small = {
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        let schema = batch.schema();
        for (i, f) in schema.fields().iter().enumerate() {
            let t = f.data_type();
            if t.is_integer() || matches!(t, DataType::Date32) {
                let scale = 1 + (i as i128 % 3);
                let shrunk =
                    Int64Array::from_iter((0..cols[i].len()).map(|r| match cell(&cols[i], r) {
                        V::I(v) => Some(((v.rem_euclid(41) - 20) * scale) as i64),
                        _ => None,
                    }));
                let shrunk: ArrayRef = if t.is_unsigned_integer() {
                    arrow_cast::cast(
                        &Int64Array::from_iter(shrunk.iter().map(|v| v.map(i64::abs))),
                        t,
                    )
                    .unwrap()
                } else {
                    arrow_cast::cast(&shrunk, t).unwrap()
                };
                cols[i] = shrunk;
            }
        }
        RecordBatch::try_new(schema, cols).unwrap()
    };
    let cases = cases();
    assert!(cases.len() > 60);
    for (expr, oracle) in &cases {
        check(expr, oracle, &batch);
        check(expr, oracle, &small);
    }
    // Most cases select some rows and drop others in one batch or the other (the rest
    // are the literals out of a column's range, on purpose).
    let mixed = cases
        .iter()
        .filter(|(e, _)| {
            [&batch, &small].iter().any(|b| {
                let r = evaluate_filter(e, b).unwrap();
                r.true_count() > 0 && r.true_count() < r.len() - r.null_count()
            })
        })
        .count();
    assert!(
        mixed * 3 > cases.len() * 2,
        "only {mixed} of {} cases mix",
        cases.len()
    );
}

#[test]
fn literals_of_the_wrong_kind_unknown_columns_and_non_conditions_are_refused() {
    let batch = table(10, 1);
    let bad = [
        (col("utf8").gt(lit(3)), "cannot compare column 'utf8'"),
        (col("i8").eq(lit("a")), "cannot compare column 'i8'"),
        (col("bool").lt(lit(1)), "cannot compare column 'bool'"),
        (col("date32").gt(lit("not a date")), "not a Date32"),
        (col("nope").gt(lit(1)), "no column 'nope'"),
        (col("i8"), "is not a condition"),
        (col("i8").and(col("bool")), "is not a condition"),
        (col("utf8").eq(col("i64")), "cannot compare column 'utf8'"),
        (
            col("i16").isin(vec![Scalar::from("x"); 20]),
            "cannot compare column 'i16'",
        ),
    ];
    for (e, want) in bad {
        let err = evaluate_filter(&e, &batch).expect_err(&e.to_string());
        assert!(err.to_string().contains(want), "{e}: {err}");
    }
    let dnf = Expr::from_dnf(&[
        vec![("i8".into(), ">".into(), vec![0.into()])],
        vec![("utf8".into(), "in".into(), vec!["a".into(), "".into()])],
    ])
    .unwrap();
    assert_eq!(dnf, col("i8").gt(lit(0)).or(col("utf8").isin(["a", ""])));
    for bad in [
        vec![vec![]],
        vec![vec![(
            "i8".to_string(),
            "~".to_string(),
            vec![Scalar::Int(1)],
        )]],
        vec![vec![("i8".to_string(), "<".to_string(), vec![])]],
    ] {
        assert!(Expr::from_dnf(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_million_term_chain_builds_evaluates_prints_and_drops_without_recursing() {
    let batch = table(50, 3);
    let mut e = col("i8").ge(lit(-1000));
    for k in 0..1_000_000 {
        e = e.and(col("i16").ne(lit(40_000 + k)));
    }
    let r = evaluate_filter(&e, &batch).unwrap();
    let direct = evaluate_filter(&col("i8").ge(lit(-1000)), &batch).unwrap();
    assert_eq!(r, direct);
    assert!(e.to_string().len() > 1_000_000);
    drop(e);
}

// ---- pushdown ----

const GROUPS: usize = 20;
const GROUP_ROWS: usize = 500;

fn scratch(name: &str) -> PathBuf {
    common::table::scratch_dir("table_filter", name)
}

/// Sorted and clustered columns, so each row group covers its own range: `k` the row
/// number, `s` a key per 100 rows, `d` a date per 50 rows, `x` floats in [0, 1) with NaNs,
/// `n` null in the second half, `cat` one dictionary word per group.
fn clustered() -> RecordBatch {
    let n = GROUPS * GROUP_ROWS;
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("k", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        (
            "s",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("key{:05}", i / 100)),
            )),
        ),
        (
            "d",
            Arc::new(Date32Array::from_iter_values(
                (0..n).map(|i| DAY_2000 as i32 + (i / 50) as i32),
            )),
        ),
        (
            "x",
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| {
                if i % 97 == 0 {
                    f64::NAN
                } else {
                    (i * 7919 % 1000) as f64 / 1000.0
                }
            }))),
        ),
        (
            "n",
            Arc::new(Int32Array::from_iter(
                (0..n).map(|i| (i < n / 2).then_some((i % 10) as i32)),
            )),
        ),
        (
            "cat",
            Arc::new(DictionaryArray::<Int32Type>::from_iter(
                (0..n)
                    .map(|i| format!("c{:02}", i / GROUP_ROWS))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|s| Some(s.as_str())),
            )),
        ),
    ];
    let schema = Schema::new(
        cols.iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect()).unwrap()
}

fn write(path: &Path, batch: &RecordBatch) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP_ROWS))
        .build();
    common::table::write_parquet(path, batch, Some(props));
}

/// Overwrites the pages of every column chunk of row groups `groups` (the footer stays).
fn damage(path: &Path, groups: &[usize]) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::io::{Seek, SeekFrom, Write};
    let meta = SerializedFileReader::new(std::fs::File::open(path).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for &g in groups {
        for chunk in meta.row_group(g).columns() {
            let (start, len) = chunk.byte_range();
            f.seek(SeekFrom::Start(start)).unwrap();
            f.write_all(&vec![0xA5; len as usize]).unwrap();
        }
    }
}

#[test]
fn filters_read_only_the_row_groups_that_can_match_and_return_exactly_the_matching_rows() {
    use CmpOp::*;
    let data = clustered();
    let client = client();
    let rows_of = |g: usize| g * GROUP_ROWS..(g + 1) * GROUP_ROWS;
    let cases: Vec<(&str, (Expr, Oracle))> = vec![
        ("k_high", c_("k", Ge, 9_000)),
        ("k_ends", or(c_("k", Lt, 500), c_("k", Ge, 9_500))),
        ("k_not", not(c_("k", Lt, 9_500))),
        ("s_eq", c("s", Eq, "key00042", V::S("key00042".into()))),
        (
            "d_range",
            and(
                c("d", Ge, "2000-03-01", V::I(DAY_2000 + 60)),
                c("d", Lt, DAY_2000 as i64 + 70, V::I(DAY_2000 + 70)),
            ),
        ),
        ("n_null", is_null("n")),
        ("n_gt", c_("n", Gt, 5)),
        (
            "k_isin",
            isin("k", vec![3.into(), 7_777.into(), 50_000.into()]),
        ),
        ("x_none", c("x", Gt, 1e9, V::F(1e9))),
        ("x_ne", c("x", Ne, 0.5, V::F(0.5))),
        ("cat_eq", c("cat", Eq, "c03", V::S("c03".into()))),
        (
            "k_or_x",
            or(c_("k", Lt, 10), c("x", Lt, 0.001, V::F(0.001))),
        ),
    ];
    for (name, (expr, oracle)) in cases {
        let dir = scratch(name);
        let path = dir.join("data.parquet");
        write(&path, &data);
        // The groups holding a match, found from the data alone.
        let matching: Vec<usize> = (0..GROUPS)
            .filter(|&g| {
                rows_of(g).any(|i| {
                    oracle(&|c: &str| cell(data.column_by_name(c).unwrap(), i)) == Some(true)
                })
            })
            .collect();
        let options = ReadOptions {
            filters: Some(expr.clone()),
            split_row_groups: true,
            ..Default::default()
        };
        let t = read_parquet(&[&path], &options).unwrap();
        // Float `!=` and NaN-bearing columns cannot be pruned on; everything else reads
        // exactly the matching groups.
        if name == "x_ne" || name == "k_or_x" {
            assert!(row_groups_read(&t) >= matching.len(), "{name}");
        } else {
            assert_eq!(row_groups_read(&t), matching.len(), "{name}: {expr}");
        }
        assert_eq!(t.num_partitions(), row_groups_read(&t));
        // Damage every group not read: the read must still succeed.
        let skipped: Vec<usize> = if row_groups_read(&t) == matching.len() {
            (0..GROUPS).filter(|g| !matching.contains(g)).collect()
        } else {
            vec![]
        };
        damage(&path, &skipped);
        if !skipped.is_empty() {
            let whole = read_parquet(&[&path], &ReadOptions::default()).unwrap();
            assert!(whole.collect(client).is_err(), "{name}: the damage shows");
        }
        let got = t.collect(client).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Vec<u32> = (0..data.num_rows())
            .filter(|&i| oracle(&|c: &str| cell(data.column_by_name(c).unwrap(), i)) == Some(true))
            .map(|i| i as u32)
            .collect();
        let want =
            arrow_select::take::take_record_batch(&data, &arrow_array::UInt32Array::from(want))
                .unwrap();
        assert_eq!(got, want, "{name}: {expr}");
    }
}

#[test]
fn head_reads_only_the_row_groups_that_hold_its_rows() {
    let data = clustered();
    let dir = scratch("head");
    let path = dir.join("data.parquet");
    write(&path, &data);
    let client = client();
    damage(&path, &(2..GROUPS).collect::<Vec<_>>());
    let rows = 2 * GROUP_ROWS;
    for split_row_groups in [false, true] {
        let options = ReadOptions {
            split_row_groups,
            ..Default::default()
        };
        let t = read_parquet(&[&path], &options).unwrap();
        for n in [0, 1, GROUP_ROWS - 1, GROUP_ROWS, GROUP_ROWS + 1, rows] {
            assert_eq!(t.head(n, client).unwrap(), data.slice(0, n), "head({n})");
            // Through column selections too.
            let s = t.select(&["cat", "k"]).unwrap();
            let want = data.project(&[5, 0]).unwrap().slice(0, n);
            assert_eq!(s.head(n, client).unwrap(), want, "select, head({n})");
        }
        // One row more needs a damaged row group: the damage shows.
        assert!(t.head(rows + 1, client).is_err());
    }
    // A filtered table reads its partitions whole, but only `n` rows come back, taken
    // from partitions in order until there are enough.
    let options = ReadOptions {
        split_row_groups: true,
        filters: Some(col("k").lt(lit(rows as i64)).and(col("k").ge(lit(700)))),
        ..Default::default()
    };
    let t = read_parquet(&[&path], &options).unwrap();
    assert_eq!(t.head(5, client).unwrap(), data.slice(700, 5));
    assert_eq!(t.head(10_000, client).unwrap(), data.slice(700, rows - 700));
    let m = t.select(&["k", "nope"]).unwrap_err().to_string();
    assert!(m.contains("no column \"nope\""), "{m}");
}

fn c_(name: &'static str, op: CmpOp, v: i64) -> (Expr, Oracle) {
    c(name, op, v, V::I(v.into()))
}

#[test]
fn filter_with_a_projection_reads_the_filter_columns_and_returns_only_those_asked() {
    let data = clustered();
    let dir = scratch("projection");
    let path = dir.join("data.parquet");
    write(&path, &data);
    let client = client();
    let options = ReadOptions {
        columns: Some(vec!["s".into(), "d".into()]),
        filters: Some(col("k").lt(lit(250)).or(col("cat").eq(lit("c19")))),
        ..Default::default()
    };
    let t = read_parquet(&[&path], &options).unwrap();
    assert_eq!(row_groups_read(&t), 2);
    assert_eq!(t.num_partitions(), 1);
    assert_eq!(t.num_rows(), None, "not known before filtering");
    let got = t.collect(client).unwrap();
    let keep: Vec<u32> = (0..250)
        .chain(19 * GROUP_ROWS as u32..20 * GROUP_ROWS as u32)
        .collect();
    let want = arrow_select::take::take_record_batch(&data, &arrow_array::UInt32Array::from(keep))
        .unwrap()
        .project(&[1, 2])
        .unwrap();
    assert_eq!(got, want);

    // The same filter as a lazy step on an unfiltered read.
    let all = read_parquet(&[&path], &ReadOptions::default()).unwrap();
    let f = all
        .filter(&col("k").lt(lit(250)).or(col("cat").eq(lit("c19"))))
        .unwrap();
    let got = f.collect(client).unwrap();
    assert_eq!(got.project(&[1, 2]).unwrap(), want);
    // A filter that cannot match leaves no partition and an empty table with the schema.
    let none = ReadOptions {
        filters: Some(col("k").lt(lit(-1))),
        ..Default::default()
    };
    let t = read_parquet(&[&path], &none).unwrap();
    assert_eq!(t.num_partitions(), 0);
    let got = t.collect(client).unwrap();
    assert_eq!((got.num_rows(), got.schema()), (0, data.schema()));

    // Errors name the file and the column, before anything is computed.
    for (bad, want) in [
        (col("nope").gt(lit(1)), "no column 'nope'"),
        (col("s").gt(lit(1)), "cannot compare column 's'"),
    ] {
        let options = ReadOptions {
            filters: Some(bad),
            ..Default::default()
        };
        let err = read_parquet(&[&path], &options).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(want) && msg.contains("data.parquet"), "{msg}");
        if want.contains("nope") {
            assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        }
        assert!(all.filter(options.filters.as_ref().unwrap()).is_err());
    }
    let _: &BooleanArray = &evaluate_filter(&col("k").gt(lit(1)), &data).unwrap();
}
