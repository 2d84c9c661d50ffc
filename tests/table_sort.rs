//! `Table::sort`: partitions cut at sampled boundaries, each sorted; concatenated in order
//! they equal the whole table sorted row by row in Rust (nulls last, both directions), for
//! integers, floats, strings and dictionary keys, with skewed and duplicate-heavy keys.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use common::client;
use common::table::splitmix64;
use dask::table::Table;
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
