//! `read_csv` and `write_csv`: tables written as CSV read back to the values written (types
//! given or inferred), files cut into many partitions at record ends whatever the quoting
//! (a quoted field holding newlines across a block boundary), the options a CSV reader
//! needs, and bad input as errors naming file, line and column — or rows skipped.
//!
//! The fixtures stay in cargo's test scratch directory: `make travel-test` replays the read
//! tasks captured here in a fresh process, and they read the same files.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use common::client;
use common::table::{cell, table, V};
use dask::error::Error;
use dask::io::csv::{byte_ranges, read_csv, write_csv, BadRows, CsvOptions, CsvWriteOptions};
use dask::table::{col, lit, Table};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    common::table::scratch_dir("table_csv", name)
}

fn concat(parts: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&parts[0].schema(), parts).unwrap()
}

fn read_all(paths: &[&PathBuf], options: &CsvOptions) -> RecordBatch {
    let t = read_csv(paths, options).unwrap();
    let parts = t.compute(client()).unwrap();
    assert_eq!(parts.len(), t.num_partitions());
    let all = concat(&parts);
    assert_eq!(all.schema().fields(), t.schema().fields());
    all
}

/// Cells equal as CSV keeps them: NaN equals NaN, and an empty string is a null (CSV writes
/// both as an empty field).
fn same_cell(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::F(x), V::F(y)) => x == y || (x.is_nan() && y.is_nan()),
        (V::S(s), V::Null) | (V::Null, V::S(s)) => s.is_empty(),
        _ => a == b,
    }
}

fn assert_same_column(got: &ArrayRef, want: &ArrayRef, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for i in 0..got.len() {
        let (g, w) = (cell(got, i), cell(want, i));
        assert!(same_cell(&g, &w), "{what} row {i}: {g:?} against {w:?}");
    }
}

/// Every column type written by `write_csv` and read back with its type given: the values
/// written, in partition order; with types inferred, integers, floats and strings come back
/// as int64, float64 and strings of the same values.
#[test]
fn a_table_written_as_csv_reads_back_to_the_same_values() {
    let dir = scratch("round_trip");
    let batches: Vec<RecordBatch> = (0..3).map(|i| table(700, 40 + i)).collect();
    let schema = batches[0].schema();
    let t = Table::from_batches(schema.clone(), batches.clone()).unwrap();
    let rows = write_csv(&t, &dir, &CsvWriteOptions::default(), client()).unwrap();
    assert_eq!(rows, 2100);
    let want = concat(&batches);
    let dtypes: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let typed = CsvOptions {
        dtypes: dtypes.clone(),
        blocksize: 16 << 10,
        ..CsvOptions::default()
    };
    let got = read_all(&[&dir], &typed);
    assert!(
        read_csv(&[&dir], &typed).unwrap().num_partitions() > 3,
        "16 KiB blocks cut the files"
    );
    for (i, f) in schema.fields().iter().enumerate() {
        assert_eq!(got.column(i).data_type(), f.data_type(), "{}", f.name());
        assert_same_column(got.column(i), want.column(i), f.name());
    }
    // Inferred: the types a CSV reader can tell from the text.
    let inferred = read_all(&[&dir], &CsvOptions::default());
    let types: Vec<(String, String)> = inferred
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    for (name, t) in [
        ("bool", "Boolean"),
        ("i8", "Int64"),
        ("u64", "Utf8"), // beyond int64: text (its values > 2^63 are not int64)
        ("f64", "Float64"),
        ("utf8", "Utf8"),
        ("date32", "Date32"),
    ] {
        let got = types.iter().find(|(n, _)| n == name).unwrap();
        if name == "u64" {
            assert!(got.1 == "Utf8" || got.1 == "Float64", "{got:?}");
            continue;
        }
        assert_eq!(got.1, t, "{name}");
    }
    for name in [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "f64", "utf8", "bool",
    ] {
        let i = schema.index_of(name).unwrap();
        let j = inferred.schema().index_of(name).unwrap();
        let as_written = arrow_cast::cast(want.column(i), inferred.column(j).data_type()).unwrap();
        assert_same_column(inferred.column(j), &as_written, name);
    }
}

/// A CSV with quoted fields holding newlines, doubled quotes, delimiters and a quote inside
/// an unquoted field, cut every 40 bytes: the partitions' ranges meet end to end, each
/// starts at a record, and together they hold the rows as written — the same as one
/// partition reading the whole file.
#[test]
fn quoted_newlines_across_block_boundaries_stay_in_their_record() {
    let dir = scratch("quoted");
    let path = dir.join("notes.csv");
    let mut text = String::from("id,note,x\n");
    let mut want: Vec<(i64, String, f64)> = Vec::new();
    for i in 0..300i64 {
        let note = match i % 5 {
            0 => format!("line one\nline two of {i}\n\nafter a blank"),
            1 => format!("he said \"hi\", {i}"),
            2 => format!("plain {i}"),
            3 => "a,b,c\nd".to_string(),
            _ => format!("x\"y {i}"),
        };
        let field = match i % 5 {
            2 | 4 => note.clone(), // unquoted (4: a quote that is not at a field's start)
            _ => format!("\"{}\"", note.replace('"', "\"\"")),
        };
        let x = i as f64 * 0.25;
        text.push_str(&format!("{i},{field},{x}\n"));
        want.push((i, note, x));
    }
    std::fs::write(&path, &text).unwrap();
    let small = CsvOptions {
        blocksize: 40,
        ..CsvOptions::default()
    };
    let t = read_csv(&[&path], &small).unwrap();
    let ranges = byte_ranges(&t);
    assert!(ranges.len() > 100, "{} partitions", ranges.len());
    let record_starts: Vec<usize> = {
        // Where records start, from the construction.
        let mut starts = vec![];
        let mut at = "id,note,x\n".len();
        for (i, note, x) in &want {
            starts.push(at);
            let field = match i % 5 {
                2 | 4 => note.clone(),
                _ => format!("\"{}\"", note.replace('"', "\"\"")),
            };
            at += format!("{i},{field},{x}\n").len();
        }
        starts.push(at);
        starts
    };
    let mut expected_start = "id,note,x\n".len() as u64;
    for (_, start, end) in &ranges {
        assert_eq!(*start, expected_start);
        assert!(
            record_starts.contains(&(*start as usize)),
            "{start} is not a record start"
        );
        expected_start = *end;
    }
    assert_eq!(expected_start as usize, text.len());
    let got = concat(&t.compute(client()).unwrap());
    let whole = read_all(&[&path], &CsvOptions::default());
    assert_eq!(got, whole);
    assert_eq!(got.num_rows(), want.len());
    let ids = got.column(0).as_primitive::<Int64Type>();
    let notes = got.column(1).as_string::<i32>();
    let xs = got
        .column(2)
        .as_primitive::<arrow_array::types::Float64Type>();
    for (r, (i, note, x)) in want.iter().enumerate() {
        assert_eq!(ids.value(r), *i);
        assert_eq!(notes.value(r), note, "row {r}");
        assert_eq!(xs.value(r), *x);
    }
}

/// Delimiter, no header with names given, null values, projection, filters, head, several
/// files and a glob.
#[test]
fn reader_options_behave_as_a_csv_user_expects() {
    let dir = scratch("options");
    std::fs::write(dir.join("a.csv"), "1;NA;x\n2;2.5;\"y;z\"\n3;;NA\n4;4.5;w\n").unwrap();
    std::fs::write(dir.join("b.csv"), "5;5.5;v\n6;NULL;u\n").unwrap();
    std::fs::write(dir.join("ignored.parquet"), "not csv").unwrap();
    let options = CsvOptions {
        header: false,
        names: Some(vec!["k".into(), "v".into(), "s".into()]),
        delimiter: b';',
        na_values: vec!["NA".into(), "NULL".into()],
        ..CsvOptions::default()
    };
    let got = read_all(&[&dir], &options);
    assert_eq!(got.num_rows(), 6);
    assert_eq!(
        got.column(0).as_primitive::<Int64Type>().values(),
        &[1, 2, 3, 4, 5, 6]
    );
    let v = got
        .column(1)
        .as_primitive::<arrow_array::types::Float64Type>();
    let v: Vec<Option<f64>> = (0..6).map(|i| v.is_valid(i).then(|| v.value(i))).collect();
    assert_eq!(v, [None, Some(2.5), None, Some(4.5), Some(5.5), None]);
    let s: Vec<Option<&str>> = got.column(2).as_string::<i32>().iter().collect();
    assert_eq!(
        s,
        [
            Some("x"),
            Some("y;z"),
            None,
            Some("w"),
            Some("v"),
            Some("u")
        ]
    );

    // Projection and a filter on a column not projected.
    let some = CsvOptions {
        columns: Some(vec!["s".into(), "k".into()]),
        filters: Some(col("v").gt(lit(3.0))),
        ..options.clone()
    };
    let got = read_all(&[&dir], &some);
    assert_eq!(got.num_columns(), 2);
    let k: Vec<i64> = got.column(1).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(k, [4, 5]);

    // head reads the first rows; a glob picks files.
    let pattern = dir.join("b*.csv");
    let t = read_csv(&[&pattern], &options).unwrap();
    assert_eq!(t.num_partitions(), 1);
    let h = t.head(1, client()).unwrap();
    assert_eq!(h.num_rows(), 1);
    assert_eq!(h.column(0).as_primitive::<Int64Type>().value(0), 5);
    let first = read_csv(&[&dir], &options)
        .unwrap()
        .head(5, client())
        .unwrap();
    assert_eq!(
        first.column(0).as_primitive::<Int64Type>().values(),
        &[1, 2, 3, 4, 5]
    );
    match read_csv(&[&dir.join("nothing*.csv")], &options) {
        Err(Error::NotFound(m)) => assert!(m.contains("nothing*.csv"), "{m}"),
        other => panic!("a glob matching nothing: {other:?}"),
    }
}

/// A value of the wrong type, a row with too few fields, an unclosed quote, a header that
/// differs: each an error naming the file and line (and column); with bad rows skipped,
/// the other rows are read.
#[test]
fn bad_rows_are_errors_naming_file_line_and_column_or_are_skipped() {
    let dir = scratch("bad");
    let path = dir.join("bad.csv");
    let mut text = String::from("id,amount,name\n");
    for i in 0..5000 {
        match i {
            // A quoted newline before the bad row: lines, not records, are counted.
            10 => text.push_str("10,1.0,\"two\nlines\"\n"),
            3000 => text.push_str("3000,12x,bad\n"),
            4000 => text.push_str("4000,1.5\n"),
            _ => text.push_str(&format!("{i},{}.5,n{i}\n", i % 7)),
        }
    }
    std::fs::write(&path, &text).unwrap();
    let options = CsvOptions {
        blocksize: 20_000,
        sample: 20_000,
        ..CsvOptions::default()
    };
    let t = read_csv(&[&path], &options).unwrap();
    assert!(t.num_partitions() > 3);
    // Types come from the first 20 kB: amount is float64 there.
    assert_eq!(t.schema().field(1).data_type(), &DataType::Float64);
    let e = t.compute(client()).unwrap_err().to_string();
    assert!(
        e.contains("bad.csv, line 3003, column 'amount'") && e.contains("\"12x\""),
        "{e}"
    );
    // The row with too few fields, alone in its file.
    let short = dir.join("short.csv");
    std::fs::write(&short, "a,b\n1,2\n3\n").unwrap();
    let e = read_csv(&[&short], &CsvOptions::default())
        .unwrap()
        .compute(client())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("short.csv, line 3") && e.contains("1 fields"),
        "{e}"
    );

    // Skipped: every other row, in order.
    let skip = CsvOptions {
        bad_rows: BadRows::Skip,
        ..options.clone()
    };
    let got = read_all(&[&path], &skip);
    let ids: Vec<i64> = got.column(0).as_primitive::<Int64Type>().values().to_vec();
    let want: Vec<i64> = (0..5000).filter(|&i| i != 3000 && i != 4000).collect();
    assert_eq!(ids, want);

    let open = dir.join("open.csv");
    std::fs::write(&open, "a,b\n1,\"never closed\n2,3\n").unwrap();
    match read_csv(&[&open], &CsvOptions::default()) {
        Err(Error::Corrupt(m)) => {
            assert!(m.contains("open.csv") && m.contains("not closed"), "{m}")
        }
        other => panic!("an unclosed quote: {other:?}"),
    }
    let other = dir.join("other.csv");
    std::fs::write(&other, "id,amount,title\n1,2.5,t\n").unwrap();
    match read_csv(&[&path, &other], &CsvOptions::default()) {
        Err(Error::InvalidArgument(m)) => {
            assert!(m.contains("other.csv") && m.contains("title"), "{m}")
        }
        other => panic!("headers that differ: {other:?}"),
    }
    match read_csv(
        &[&path],
        &CsvOptions {
            dtypes: vec![("nope".into(), DataType::Int64)],
            ..CsvOptions::default()
        },
    ) {
        Err(Error::NotFound(m)) => assert!(m.contains("'nope'"), "{m}"),
        other => panic!("a dtype for no column: {other:?}"),
    }
}

/// Empty fields of string columns kept as empty strings (R's and pyarrow's reading): nulls
/// only where `na_values` say, other columns' empty fields null as before; with bad rows
/// skipped, the string and other columns stay row-aligned.
#[test]
fn empty_string_fields_can_stay_empty_strings() {
    let dir = scratch("empty_strings");
    let path = dir.join("e.csv");
    std::fs::write(&path, "s,n,t\n,1,a\nNA,,b\nx,3,\ny,zz,c\nz,5,d\n").unwrap();
    let options = CsvOptions {
        na_values: vec!["NA".into()],
        empty_strings: true,
        dtypes: vec![("n".into(), DataType::Int64)],
        bad_rows: BadRows::Skip,
        ..CsvOptions::default()
    };
    let got = read_all(&[&path], &options);
    let s: Vec<Option<&str>> = got.column(0).as_string::<i32>().iter().collect();
    assert_eq!(s, [Some(""), None, Some("x"), Some("z")]);
    let n: Vec<Option<i64>> = got.column(1).as_primitive::<Int64Type>().iter().collect();
    assert_eq!(n, [Some(1), None, Some(3), Some(5)]);
    let t: Vec<Option<&str>> = got.column(2).as_string::<i32>().iter().collect();
    assert_eq!(t, [Some("a"), Some("b"), Some(""), Some("d")]);
    // The default: empty fields are nulls in every column.
    let plain = CsvOptions {
        na_values: vec!["NA".into()],
        ..CsvOptions::default()
    };
    let got = read_all(
        &[&dir.join("e.csv")],
        &CsvOptions {
            bad_rows: BadRows::Skip,
            dtypes: options.dtypes.clone(),
            ..plain
        },
    );
    let s: Vec<Option<&str>> = got.column(0).as_string::<i32>().iter().collect();
    assert_eq!(s, [None, None, Some("x"), Some("z")]);
    // Not skipped: the bad row is named.
    let e = read_csv(
        &[&path],
        &CsvOptions {
            bad_rows: BadRows::Error,
            ..options
        },
    )
    .unwrap()
    .compute(client())
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("e.csv, line 5, column 'n'") && e.contains("\"zz\""),
        "{e}"
    );
}

#[test]
fn a_selection_or_aggregation_of_a_csv_read_decodes_only_its_columns() {
    let dir = scratch("projected");
    let batches: Vec<RecordBatch> = (0..2).map(|i| table(900, 70 + i)).collect();
    let schema = batches[0].schema();
    let t = Table::from_batches(schema.clone(), batches.clone()).unwrap();
    write_csv(&t, &dir, &CsvWriteOptions::default(), client()).unwrap();
    let options = CsvOptions {
        blocksize: 8 << 10,
        ..CsvOptions::default()
    };
    let read = read_csv(&[&dir], &options).unwrap();
    let all = read_all(&[&dir], &options);
    let picked = read.select(&["i64", "utf8"]).unwrap();
    assert_eq!(
        dask::io::columns_read(&picked),
        vec![Some(vec!["i64".to_string(), "utf8".to_string()]); read.num_partitions()]
    );
    let got = concat(&picked.compute(client()).unwrap());
    assert_eq!(got.num_columns(), 2);
    assert_eq!(got.column(0), all.column_by_name("i64").unwrap());
    assert_eq!(got.column(1), all.column_by_name("utf8").unwrap());
    // A sum of one column (int16 written, int64 inferred): read alone, summed like the
    // whole read's column.
    let sum = read.agg(&[dask::table::agg::sum("i16")]).unwrap();
    assert_eq!(
        dask::io::columns_read(&sum),
        vec![Some(vec!["i16".to_string()]); read.num_partitions()]
    );
    let got = sum.collect(client()).unwrap();
    let want: i64 = all
        .column_by_name("i16")
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .flatten()
        .sum::<i64>();
    assert_eq!(got.column(0).as_primitive::<Int64Type>().value(0), want);
}
