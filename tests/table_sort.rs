//! `Table::sort`: partitions cut at sampled boundaries, each sorted; concatenated in order
//! they equal the whole table sorted row by row in Rust (nulls last, both directions), for
//! integers, floats, strings and dictionary keys, with skewed and duplicate-heavy keys; and
//! float keys with NaN of either sign bit, infinities and nulls in every `SortOrder`; every
//! sort stable (equal keys keep their rows' order).

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use common::client;
use common::table::splitmix64;
use dask::table::{NanOrder, SortOrder, Table};
use std::sync::Arc;

/// 6 partitions of different sizes: id (unique), k (skewed int64 with nulls and many
/// duplicates), x (float64), s (strings), d (dictionary strings).
fn table() -> Table {
    let sizes = [700usize, 0, 1500, 30, 900, 400];
    let mut next = 0i64;
    let batches: Vec<RecordBatch> = sizes
        .iter()
        .map(|&n| {
            let ids: Vec<i64> = (0..n as i64).map(|i| next + i).collect();
            next += n as i64;
            let r = |i: i64, k: u64| splitmix64((i as u64) << 4 | k);
            let k: Int64Array = ids
                .iter()
                .map(|&i| (r(i, 1) % 10 != 0).then(|| ((r(i, 2) % 1000) as i64).pow(2) / 1000))
                .collect();
            let x: Float64Array = ids
                .iter()
                .map(|&i| Some((r(i, 3) % 10_000) as f64 / 7.0 - 700.0))
                .collect();
            let s: StringArray = ids
                .iter()
                .map(|&i| Some(format!("w{}", r(i, 4) % 500)))
                .collect();
            let d: DictionaryArray<arrow_array::types::Int32Type> = ids
                .iter()
                .map(|&i| ["pear", "apple", "fig"][(r(i, 5) % 3) as usize])
                .collect();
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("k", Arc::new(k) as ArrayRef),
                ("x", Arc::new(x) as ArrayRef),
                ("s", Arc::new(s) as ArrayRef),
                ("d", Arc::new(d) as ArrayRef),
            ])
            .unwrap()
        })
        .collect();
    Table::from_batches(batches[0].schema(), batches).unwrap()
}

fn rows(t: &Table) -> RecordBatch {
    t.collect(client()).unwrap()
}

#[test]
fn sorted_partitions_in_order_are_the_table_sorted() {
    let t = table();
    let all = rows(&t);
    let n = all.num_rows();
    let ids = all.column(0).as_primitive::<Int64Type>();
    let k = all.column(1).as_primitive::<Int64Type>();
    for descending in [false, true] {
        let sorted = t.sort("k", descending, client()).unwrap();
        assert_eq!(sorted.num_partitions(), t.num_partitions());
        let got = rows(&sorted);
        assert_eq!(got.num_rows(), n);
        // The same rows (ids a permutation), keys in order, nulls last.
        let gid = got.column(0).as_primitive::<Int64Type>();
        let gk = got.column(1).as_primitive::<Int64Type>();
        let mut seen: Vec<i64> = gid.values().to_vec();
        seen.sort();
        assert_eq!(seen, ids.values().to_vec());
        let mut want: Vec<Option<i64>> =
            (0..n).map(|i| k.is_valid(i).then(|| k.value(i))).collect();
        want.sort_by(|a, b| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Greater,
            (_, None) => std::cmp::Ordering::Less,
            (Some(a), Some(b)) => {
                if descending {
                    b.cmp(a)
                } else {
                    a.cmp(b)
                }
            }
        });
        let got_k: Vec<Option<i64>> = (0..n)
            .map(|i| gk.is_valid(i).then(|| gk.value(i)))
            .collect();
        assert_eq!(got_k, want, "descending {descending}");
        // Stable: rows with equal keys (nulls included) keep their order (ids ascending).
        for r in 1..n {
            if gk.is_valid(r) == gk.is_valid(r - 1)
                && (!gk.is_valid(r) || gk.value(r) == gk.value(r - 1))
            {
                assert!(gid.value(r - 1) < gid.value(r), "unstable at row {r}");
            }
        }
        // Each row moved whole: id i still has its own key.
        for r in 0..n {
            let i = gid.value(r) as usize;
            assert_eq!(gk.is_valid(r), k.is_valid(i));
            if k.is_valid(i) {
                assert_eq!(gk.value(r), k.value(i));
            }
        }
        // The output partitions are balanced enough to matter: none holds most rows.
        let sizes: Vec<usize> = sorted
            .compute(client())
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .collect();
        assert!(sizes.iter().all(|&s| s < n * 3 / 4), "{sizes:?}");
    }
}

#[test]
fn floats_strings_and_dictionaries_sort_like_rust() {
    let t = table();
    let all = rows(&t);
    let x = all.column(2).as_primitive::<Float64Type>();
    let mut want: Vec<f64> = x.values().to_vec();
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let got = rows(&t.sort("x", false, client()).unwrap());
    assert_eq!(
        got.column(2)
            .as_primitive::<Float64Type>()
            .values()
            .to_vec(),
        want
    );

    let s = all.column(3).as_string::<i32>();
    let mut want: Vec<&str> = s.iter().map(|v| v.unwrap()).collect();
    want.sort_by(|a, b| b.cmp(a));
    let got = rows(&t.sort("s", true, client()).unwrap());
    let got_s: Vec<&str> = got
        .column(3)
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(got_s, want);

    let got = rows(&t.sort("d", false, client()).unwrap());
    let d = got.column(4).as_dictionary::<Int32Type>();
    let values = d.values().as_string::<i32>();
    let words: Vec<&str> = d
        .keys()
        .iter()
        .map(|k| values.value(k.unwrap() as usize))
        .collect();
    let mut sorted_words = words.clone();
    sorted_words.sort();
    assert_eq!(words, sorted_words, "dictionary keys sort by value");

    // Composes with other steps, and bad columns are errors now.
    let filtered = t
        .filter(&dask::table::col("id").lt(dask::table::lit(1000)))
        .unwrap();
    let got = rows(&filtered.sort("id", true, client()).unwrap());
    let ids: Vec<i64> = got.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(ids, (0..1000).rev().collect::<Vec<i64>>());
    assert!(t
        .sort("nope", false, client())
        .unwrap_err()
        .to_string()
        .contains("nope"));
}

/// Float keys with nulls, NaN of both signs (one made by `0/0` at run time), infinities and
/// zeros of both signs, over 5 partitions.
fn nan_table() -> Table {
    let zero = std::hint::black_box(0.0f64);
    let specials = [
        None,
        Some(f64::NAN),
        Some(-f64::NAN),
        Some(zero / std::hint::black_box(0.0)),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(-0.0),
        Some(0.0),
    ];
    let mut id = 0i64;
    let batches: Vec<RecordBatch> = [300usize, 5, 0, 800, 120]
        .iter()
        .map(|&n| {
            let mut ids = Vec::new();
            let mut keys = Vec::new();
            for _ in 0..n {
                let r = splitmix64(id as u64 ^ 0xfeed);
                keys.push(match r % 4 {
                    0 => specials[(r >> 8) as usize % specials.len()],
                    _ => Some((r >> 16) as f64 % 97.0 - 40.0),
                });
                ids.push(id);
                id += 1;
            }
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("x", Arc::new(Float64Array::from(keys)) as ArrayRef),
            ])
            .unwrap()
        })
        .collect();
    Table::from_batches(batches[0].schema(), batches).unwrap()
}

/// A key as the order sees it: equal tokens are ties, whose order is not specified.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Missing,
    Nan,
    Number(f64),
}

fn token(v: Option<f64>, nan: NanOrder) -> Token {
    match v {
        None => Token::Missing,
        Some(x) if x.is_nan() && nan == NanOrder::WithNulls => Token::Missing,
        Some(x) if x.is_nan() => Token::Nan,
        // With the nulls, -0.0 and 0.0 tie (IEEE equality); largest, -0.0 comes first.
        Some(x) if x == 0.0 && nan == NanOrder::WithNulls => Token::Number(0.0),
        Some(x) => Token::Number(x),
    }
}

#[test]
fn nulls_and_nan_go_where_the_sort_order_says() {
    let t = nan_table();
    let all = rows(&t);
    let xs = all.column(1).as_primitive::<Float64Type>();
    let original: Vec<Option<f64>> = (0..all.num_rows())
        .map(|i| xs.is_valid(i).then(|| xs.value(i)))
        .collect();
    for descending in [false, true] {
        for nulls_first in [false, true] {
            for nan in [NanOrder::WithNulls, NanOrder::Largest] {
                let order = SortOrder {
                    descending,
                    nulls_first,
                    nan,
                };
                // The naive order: missing keys at one end, then NaN above every number.
                let rank = |t: &Token| -> (u8, f64) {
                    match t {
                        Token::Missing if nulls_first => (0, 0.0),
                        Token::Missing => (3, 0.0),
                        Token::Nan if descending => (1, 0.0),
                        Token::Nan => (2, 0.0),
                        Token::Number(x) => (if descending { 2 } else { 1 }, *x),
                    }
                };
                let mut want: Vec<Token> = original.iter().map(|&v| token(v, nan)).collect();
                want.sort_by(|a, b| {
                    let (ra, xa) = rank(a);
                    let (rb, xb) = rank(b);
                    let by_value = if descending {
                        xb.total_cmp(&xa)
                    } else {
                        xa.total_cmp(&xb)
                    };
                    ra.cmp(&rb).then(by_value)
                });
                let sorted = t.sort_by("x", order, client()).unwrap();
                let got = rows(&sorted);
                let gx = got.column(1).as_primitive::<Float64Type>();
                let gid = got.column(0).as_primitive::<Int64Type>();
                let got_tokens: Vec<Token> = (0..got.num_rows())
                    .map(|i| token(gx.is_valid(i).then(|| gx.value(i)), nan))
                    .collect();
                assert_eq!(got_tokens, want, "{order:?}");
                // Stable: rows with equal keys in row order.
                let same = |a: Option<f64>, b: Option<f64>| match (token(a, nan), token(b, nan)) {
                    (Token::Number(x), Token::Number(y)) => x.to_bits() == y.to_bits(),
                    (ta, tb) => ta == tb,
                };
                for r in 1..got.num_rows() {
                    let (a, b) = (gid.value(r - 1), gid.value(r));
                    if same(original[a as usize], original[b as usize]) {
                        assert!(a < b, "{order:?}: unstable at row {r}");
                    }
                }
                // Rows moved whole, and each value kept its bits (NaN sign included).
                for r in 0..got.num_rows() {
                    let v = original[gid.value(r) as usize];
                    assert_eq!(gx.is_valid(r), v.is_some());
                    if let Some(v) = v {
                        assert_eq!(gx.value(r).to_bits(), v.to_bits(), "{order:?}");
                    }
                }
            }
        }
    }
    // The default: nulls and NaN last, either direction (pandas' na_position="last").
    assert_eq!(SortOrder::default().nan, NanOrder::WithNulls);
    assert!(!SortOrder::default().nulls_first);
}
