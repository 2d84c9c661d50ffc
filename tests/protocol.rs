//! The frame protocol: every value kind, dtype and layout round-trips exactly (through memory
//! and through a reader), compression is chosen as documented, and damaged or truncated
//! messages are errors that name what was being read — never a panic, never wrong data.

mod common;

use arrow_array::types::Int32Type;
use arrow_array::Array;
use arrow_array::{ListArray, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, Schema};
use common::table::{splitmix64, table};
use dask::array::Scalar;
use dask::error::Error;
use dask::protocol::{decode, encode, read_file, read_value, write_value, Compression};
use dask::sparse::Coo;
use dask::value::{Buffer, DType, Value};
use proptest::prelude::*;
use std::sync::Arc;

/// A buffer of `dtype` and `shape` with pseudo-random bytes (every bit pattern, NaNs too),
/// or a repeating pattern when `compressible`.
fn buffer(dtype: DType, shape: &[usize], seed: u64, compressible: bool) -> Buffer {
    let mut b = Buffer::zeros(dtype, shape).unwrap();
    let bytes = b.as_mut_bytes().unwrap();
    for (i, x) in bytes.iter_mut().enumerate() {
        *x = if compressible {
            (i % 7) as u8
        } else {
            splitmix64(seed ^ i as u64) as u8
        };
    }
    if dtype == DType::Bool {
        for x in bytes.iter_mut() {
            *x &= 1;
        }
    }
    b
}

/// The bytes of a buffer in C order (the independent reading of its elements).
fn c_order_bytes(b: &Buffer) -> Vec<u8> {
    let isz = b.dtype().itemsize();
    let n = b.len();
    let mut out = Vec::with_capacity(n * isz);
    let nd = b.ndim();
    let mut idx = vec![0usize; nd];
    for _ in 0..n {
        let off: isize = idx
            .iter()
            .zip(b.strides())
            .map(|(&i, &s)| i as isize * s)
            .sum();
        // SAFETY: the index is inside the view, so the element lies in its storage.
        let p = unsafe { b.as_ptr().offset(off) };
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(p, isz) });
        for a in (0..nd).rev() {
            idx[a] += 1;
            if idx[a] < b.shape()[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Buffer(x), Value::Buffer(y)) => {
            x.dtype() == y.dtype()
                && x.shape() == y.shape()
                && y.is_c_contiguous()
                && c_order_bytes(x) == c_order_bytes(y)
        }
        // Parameters compare by their encoding (the decoder rebuilt them from it).
        (Value::Params(_), Value::Params(_)) => {
            encode(a, Compression::None).unwrap().to_vec()
                == encode(b, Compression::None).unwrap().to_vec()
        }
        // Arrow's equality: schemas and the arrays' logical contents (offsets aside).
        (Value::Table(x), Value::Table(y)) => x == y,
        (Value::Sparse(x), Value::Sparse(y)) => {
            x.shape() == y.shape()
                && x.dtype() == y.dtype()
                && x.coords() == y.coords()
                && c_order_bytes(x.data()) == c_order_bytes(y.data())
                && x.fill_value().as_f64().to_bits() == y.fill_value().as_f64().to_bits()
        }
        _ => false,
    }
}

/// Round trip through `decode` and through `read_value`, under every compression setting.
fn round_trip(v: &Value, ctx: &str) {
    for c in [Compression::Auto, Compression::Lz4, Compression::None] {
        let e = encode(v, c).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let bytes = e.to_vec();
        assert_eq!(bytes.len(), e.len(), "{ctx}");
        let back = decode(&bytes, ctx).unwrap_or_else(|e| panic!("{ctx} {c:?}: {e}"));
        assert!(same(v, &back), "{ctx} {c:?}: decode differs");
        let mut file = Vec::new();
        let n = write_value(v, &mut file, c).unwrap();
        assert_eq!(n, file.len());
        let back = read_value(&mut &file[..], file.len(), ctx).unwrap();
        assert!(same(v, &back), "{ctx} {c:?}: read_value differs");
        // The spill path: written into a file (frames hashed as written, header last), the
        // same bytes as the stream, read back through the file (mapped when large).
        let path = scratch_file();
        e.write_file(&std::fs::File::create(&path).unwrap())
            .unwrap();
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{ctx} {c:?}: file differs"
        );
        let back = read_file(&path, bytes.len(), ctx).unwrap();
        assert!(same(v, &back), "{ctx} {c:?}: read_file differs");
        std::fs::remove_file(&path).unwrap();
    }
}

/// A fresh file name under the system's temporary directory.
fn scratch_file() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "dask-protocol-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

const DTYPES: [DType; 11] = [
    DType::Bool,
    DType::Int8,
    DType::Int16,
    DType::Int32,
    DType::Int64,
    DType::UInt8,
    DType::UInt16,
    DType::UInt32,
    DType::UInt64,
    DType::Float32,
    DType::Float64,
];

#[test]
fn scalars_strings_and_bytes_round_trip() {
    for v in [
        Value::None,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(i64::MIN),
        Value::Int(42),
        Value::Float(f64::NAN),
        Value::Float(-0.0),
        Value::Str(Arc::from("")),
        Value::Str(Arc::from("héllo, wörld")),
        Value::Bytes(Arc::from(&[][..])),
        Value::Bytes(Arc::from(vec![7u8; 100_000])),
    ] {
        round_trip(&v, &format!("{v:?}"));
    }
}

#[test]
fn table_partitions_of_every_column_type_round_trip() {
    let t = table(1000, 5);
    round_trip(&Value::Table(t.clone()), "table of 1000 rows");
    // Sliced: arrays and bitmaps with offsets that are not multiples of 8.
    round_trip(&Value::Table(t.slice(3, 517)), "a slice at row 3");
    round_trip(&Value::Table(t.slice(1000, 0)), "no rows");
    let no_columns = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(7)),
    )
    .unwrap();
    match decode(
        &encode(&Value::Table(no_columns), Compression::None)
            .unwrap()
            .to_vec(),
        "k",
    ) {
        Ok(Value::Table(b)) => assert_eq!((b.num_rows(), b.num_columns()), (7, 0)),
        other => panic!("no columns, 7 rows: {other:?}"),
    }
    // The value's size is what its arrays hold.
    let v = Value::Table(t.clone());
    assert_eq!(v.nbytes(), t.get_array_memory_size());
    assert_eq!(v.kind_name(), "table");
}

/// Arrays whose bytes contradict their type — what a damaged file or a hostile peer could
/// send with correct checksums — are refused when decoded, naming the key and the column.
#[test]
fn table_frames_that_break_arrow_s_rules_are_corrupt_not_trusted() {
    use arrow_buffer::Buffer as ArrowBuffer;
    use arrow_data::ArrayData;
    use arrow_schema::DataType;
    let offsets = |v: &[i32]| ArrowBuffer::from_iter(v.iter().copied());
    let cases: Vec<(&str, ArrayData)> = vec![
        (
            "decreasing string offsets",
            // SAFETY (of every case): deliberately invalid, only ever encoded, never read.
            unsafe {
                ArrayData::builder(DataType::Utf8)
                    .len(2)
                    .buffers(vec![offsets(&[0, 5, 3]), ArrowBuffer::from(&b"hello"[..])])
                    .build_unchecked()
            },
        ),
        ("invalid UTF-8", unsafe {
            ArrayData::builder(DataType::Utf8)
                .len(1)
                .buffers(vec![
                    offsets(&[0, 2]),
                    ArrowBuffer::from(&[0xffu8, 0xfe][..]),
                ])
                .build_unchecked()
        }),
        ("a dictionary key past its values", unsafe {
            let values = ArrayData::builder(DataType::Utf8)
                .len(2)
                .buffers(vec![offsets(&[0, 1, 2]), ArrowBuffer::from(&b"ab"[..])])
                .build_unchecked();
            ArrayData::builder(DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8),
            ))
            .len(2)
            .buffers(vec![offsets(&[1, 7])])
            .child_data(vec![values])
            .build_unchecked()
        }),
    ];
    for (what, data) in cases {
        let array = arrow_array::make_array(data);
        let schema = Schema::new(vec![Field::new("c", array.data_type().clone(), false)]);
        // SAFETY: as above; RecordBatch checks only the lengths and types.
        let batch = RecordBatch::try_new(Arc::new(schema), vec![array]).unwrap();
        let bytes = encode(&Value::Table(batch), Compression::None)
            .unwrap()
            .to_vec();
        match decode(&bytes, "key-7") {
            Err(Error::Corrupt(m)) => {
                assert!(m.contains("key-7") && m.contains("'c'"), "{what}: {m}")
            }
            other => panic!("{what}: expected a corruption error, got {other:?}"),
        }
    }
}

#[test]
fn a_table_column_of_an_unsupported_type_is_refused_by_name() {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let schema = Schema::new(vec![Field::new("nested", list.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(list)]).unwrap();
    match encode(&Value::Table(batch), Compression::None) {
        Err(Error::NotImplemented(m)) => {
            assert!(m.contains("'nested'") && m.contains("not supported"), "{m}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|e| e.len())),
    }
}

#[test]
fn blocks_of_several_mebibytes_round_trip_through_files() {
    // Frames that span several 2 MiB pieces of a file and start mid-piece, and blocks in
    // huge-page memory (from 2 MiB on); read back mapped.
    for (shape, compressible) in [
        (&[700_001usize][..], false),
        (&[1 << 18], false),
        (&[900, 1000], true),
    ] {
        let b = buffer(DType::Float64, shape, 11, compressible);
        round_trip(&Value::Buffer(b), &format!("{shape:?}"));
    }
}

#[test]
fn dense_blocks_of_every_dtype_and_layout_round_trip() {
    let shapes: [&[usize]; 6] = [&[], &[0], &[5], &[3, 0, 2], &[17, 9], &[40, 30, 20]];
    for dt in DTYPES {
        for shape in shapes {
            for compressible in [false, true] {
                let b = buffer(dt, shape, 3, compressible);
                round_trip(&Value::Buffer(b), &format!("{dt:?} {shape:?}"));
            }
        }
        // Strided and reversed views are written in C order.
        let base = buffer(dt, &[12, 10], 5, false);
        let isz = dt.itemsize() as isize;
        let t = base.view(&[10, 12], &[isz, 10 * isz], 0).unwrap(); // the transpose
        round_trip(&Value::Buffer(t), &format!("{dt:?} transposed"));
        let rev = base
            .view(&[6, 10], &[-2 * 10 * isz, isz], 11 * 10 * isz)
            .unwrap(); // rows 11, 9, ..., 1
        round_trip(&Value::Buffer(rev), &format!("{dt:?} reversed rows"));
    }
}

#[test]
fn sparse_blocks_round_trip_with_their_coordinate_widths_and_fills() {
    for (shape, nnz) in [
        (vec![10usize, 10, 10, 10], 900), // u8 coordinates
        (vec![300, 70], 2000),            // u16
        (vec![100_000, 3], 500),          // u32
        (vec![5, 0], 0),                  // empty
        (vec![], 1),                      // 0-d
    ] {
        let size: usize = shape.iter().product();
        for (fill, dt) in [
            (0.0, DType::Float64),
            (1.5, DType::Float32),
            (0.0, DType::Int32),
        ] {
            let mut dense = Buffer::zeros(DType::Float64, &shape).unwrap();
            {
                let d = dense.as_mut_slice::<f64>().unwrap();
                for x in d.iter_mut() {
                    *x = fill;
                }
                for k in 0..nnz.min(size) {
                    let i = (splitmix64(k as u64) % size as u64) as usize;
                    d[i] = (k % 13) as f64 + 2.0;
                }
            }
            let c = Coo::from_dense(&dense, Scalar::Float(fill))
                .unwrap()
                .astype(dt)
                .unwrap();
            round_trip(
                &Value::Sparse(c),
                &format!("sparse {shape:?} fill {fill} {dt:?}"),
            );
        }
    }
}

#[test]
fn compression_is_kept_only_where_it_pays() {
    let random = Value::Buffer(buffer(DType::Float64, &[1 << 17], 1, false));
    let zeros = Value::Buffer(Buffer::zeros(DType::Float64, &[1 << 17]).unwrap());
    let raw = (1usize << 17) * 8;
    let stored = |v: &Value, c| encode(v, c).unwrap().stored_bytes();
    assert_eq!(
        stored(&random, Compression::Auto),
        raw,
        "random data stays raw"
    );
    assert_eq!(
        stored(&random, Compression::Lz4),
        raw,
        "lz4 that does not pay is dropped"
    );
    assert!(
        stored(&zeros, Compression::Auto) < raw / 50,
        "zeros compress"
    );
    assert_eq!(
        stored(&zeros, Compression::None),
        raw,
        "None never compresses"
    );
    // Small frames are stored as they are.
    let small = Value::Buffer(Buffer::zeros(DType::Float64, &[100]).unwrap());
    assert_eq!(stored(&small, Compression::Auto), 800);
}

#[test]
fn values_that_cannot_be_serialized_say_so() {
    let v = Value::Opaque(dask::value::Opaque::new(0x1234, None));
    match encode(&v, Compression::Auto) {
        Err(Error::NotImplemented(m)) => assert!(m.contains("opaque"), "{m}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("an opaque value was encoded"),
    }
}

/// Operation parameters: a variance partial (three buffers), an argmax partial, and a
/// ufunc-reduce partial (its ufunc travels by name).
fn parameters() -> Vec<Value> {
    use dask::array::reduce_kernel::{Partial, ReduceOp, UfuncRef};
    dask::catalog::ensure();
    let var = Partial {
        op: ReduceOp::Var { ddof: 1.0 },
        bufs: vec![
            buffer(DType::Float64, &[3, 1, 4], 1, false),
            buffer(DType::Float64, &[3, 1, 4], 2, false),
            buffer(DType::Float64, &[3, 1, 4], 3, true),
        ],
    };
    let xor = UfuncRef::of(&dask::ufunc::ufunc("bitwise_xor").unwrap()).unwrap();
    let folded = Partial {
        op: ReduceOp::Ufunc(xor),
        bufs: vec![buffer(DType::Int16, &[7, 1], 4, false)],
    };
    vec![
        Value::Params(Arc::new(var)),
        Value::Params(Arc::new(folded)),
    ]
}

#[test]
fn operation_parameters_round_trip_and_name_a_missing_decoder() {
    for (i, p) in parameters().iter().enumerate() {
        round_trip(p, &format!("parameters {i}"));
    }
    // A tag no module registered: a clear error naming it, not a panic.
    match dask::value::decode_params("no.such.params", &[], vec![], "key-7") {
        Err(Error::NotFound(m)) => {
            assert!(m.contains("no.such.params") && m.contains("key-7"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
    // A stream of the right tag that is too short is corrupt data, not a panic.
    match dask::value::decode_params("array.partial", &[10], vec![], "key-7") {
        Err(Error::Corrupt(m)) => assert!(m.contains("key-7"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

fn messages() -> Vec<Vec<u8>> {
    let dense = Value::Buffer(buffer(DType::Float64, &[50, 40], 9, false));
    let zeros = Value::Buffer(buffer(DType::Int32, &[4000], 9, true));
    let mut d = Buffer::zeros(DType::Float64, &[20, 30]).unwrap();
    for (i, x) in d.as_mut_slice::<f64>().unwrap().iter_mut().enumerate() {
        *x = if i % 7 == 0 { i as f64 } else { 0.0 };
    }
    let sparse = Value::Sparse(Coo::from_dense(&d, Scalar::Float(0.0)).unwrap());
    vec![
        encode(&dense, Compression::None).unwrap().to_vec(),
        encode(&zeros, Compression::Lz4).unwrap().to_vec(),
        encode(&sparse, Compression::None).unwrap().to_vec(),
        // As they travel over the network: the raw frames' checksums after the frames.
        encode(&dense, Compression::None)
            .unwrap()
            .streamed()
            .to_vec(),
        encode(&sparse, Compression::None)
            .unwrap()
            .streamed()
            .to_vec(),
        encode(&Value::Str(Arc::from("a key's value")), Compression::None)
            .unwrap()
            .to_vec(),
        encode(&parameters()[0], Compression::None)
            .unwrap()
            .to_vec(),
        encode(&Value::Table(table(40, 3).slice(5, 30)), Compression::None)
            .unwrap()
            .to_vec(),
    ]
}

fn assert_corrupt(r: dask::error::Result<Value>, ctx: &str) {
    match r {
        Err(Error::Corrupt(m)) => assert!(m.contains("key-7"), "{ctx}: message names the key: {m}"),
        Err(e) => panic!("{ctx}: not a corruption error: {e}"),
        Ok(_) => panic!("{ctx}: damaged data decoded"),
    }
}

#[test]
fn every_flipped_byte_and_every_truncation_is_a_clear_error() {
    // These messages are also the `decode` fuzz target's seeds:
    // `DASK_FUZZ_SEEDS=fuzz/seeds/decode cargo test --release --test protocol every_flipped`.
    if let Some(dir) = std::env::var_os("DASK_FUZZ_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        for (m, msg) in messages().iter().enumerate() {
            std::fs::write(std::path::Path::new(&dir).join(format!("message-{m}")), msg).unwrap();
        }
    }
    for (m, msg) in messages().iter().enumerate() {
        // Padding bytes carry no information; every other byte is covered by a checksum.
        let step = (msg.len() / 3000).max(1);
        for i in (0..msg.len()).step_by(step) {
            let mut bad = msg.clone();
            bad[i] ^= 0x5a;
            let r = decode(&bad, "key-7");
            if let Ok(v) = &r {
                // Only a flip inside padding may decode, and then to the same value.
                let good = decode(msg, "key-7").unwrap();
                assert!(
                    same(&good, v),
                    "message {m}: byte {i} flipped decoded differently"
                );
                continue;
            }
            assert_corrupt(r, &format!("message {m} byte {i}"));
            assert_corrupt(
                read_value(&mut &bad[..], bad.len(), "key-7"),
                &format!("message {m} byte {i} (reader)"),
            );
        }
        for n in (0..msg.len()).step_by(step) {
            assert_corrupt(
                decode(&msg[..n], "key-7"),
                &format!("message {m} cut at {n}"),
            );
            assert_corrupt(
                read_value(&mut &msg[..n], n, "key-7"),
                &format!("message {m} cut at {n} (reader)"),
            );
            // A reader that claims more bytes than it has.
            assert_corrupt(
                read_value(&mut &msg[..n], msg.len(), "key-7"),
                &format!("message {m} cut at {n} (short reader)"),
            );
        }
    }
}

#[test]
fn values_with_trailing_checksums_round_trip_and_the_two_layouts_are_not_confused() {
    let dense = Value::Buffer(buffer(DType::Float64, &[700, 900], 3, false));
    let e = encode(&dense, Compression::None).unwrap();
    let streamed = e.streamed().to_vec();
    assert_eq!(streamed.len(), e.streamed().len());
    assert_eq!(
        streamed.len(),
        e.len() + 8,
        "one raw frame, one trailing sum"
    );
    assert!(same(&decode(&streamed, "key-7").unwrap(), &dense));
    let read = read_value(&mut &streamed[..], streamed.len(), "key-7").unwrap();
    assert!(same(&read, &dense));
    // The flag set on a message whose sums are in its header, or cleared on one whose sums
    // trail: both refused.
    let mut flagged = e.to_vec();
    flagged[6] |= 1;
    assert_corrupt(decode(&flagged, "key-7"), "flag set, sums in the header");
    let mut cleared = streamed.clone();
    cleared[6] &= !1;
    assert_corrupt(decode(&cleared, "key-7"), "flag cleared, sums trailing");
    assert_corrupt(
        read_value(&mut &cleared[..], cleared.len(), "key-7"),
        "flag cleared, sums trailing (reader)",
    );
    // A damaged trailing sum.
    let mut bad = streamed.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert_corrupt(decode(&bad, "key-7"), "trailing sum damaged");
    assert_corrupt(
        read_value(&mut &bad[..], bad.len(), "key-7"),
        "trailing sum damaged (reader)",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The decoder never panics on arbitrary bytes (the stable-Rust stand-in for the fuzz
    /// target in fuzz/).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, "fuzz");
        let _ = read_value(&mut &bytes[..], bytes.len(), "fuzz");
    }

    /// The parameter decoders and the task decoder never panic on arbitrary bytes: a short
    /// or damaged stream is an error (task messages and parameters reach them from files and
    /// from other processes).
    #[test]
    fn parameter_and_task_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                               nbuf in 0usize..3) {
        dask::catalog::ensure();
        for tag in ["array.fused", "array.reduce_block", "array.finalize", "array.assemble",
                    "array.transpose", "array.reshape", "array.tensordot", "array.cumulative",
                    "array.to_sparse", "array.create", "array.arg_block", "array.arg_partial",
                    "array.partial", "array.gather"] {
            let bufs = (0..nbuf).map(|k| buffer(DType::Float64, &[k + 1], k as u64, false)).collect();
            let _ = dask::value::decode_params(tag, &bytes, bufs, "fuzz");
        }
        let mut task = b"DSKt\x01\x00".to_vec();
        task.extend_from_slice(&bytes);
        let _ = dask::protocol::decode_task(&task, "fuzz");
        let _ = dask::protocol::decode_task(&bytes, "fuzz");
    }

    /// Arbitrary bytes after a valid prefix (so the parser goes deeper) never panic either.
    #[test]
    fn damaged_headers_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256),
                                   at in 0usize..64) {
        let mut msg = messages()[2].clone();
        let at = at.min(msg.len());
        msg.truncate(at + 20);
        msg.extend_from_slice(&tail);
        let _ = decode(&msg, "fuzz");
    }
}

#[test]
fn files_read_through_a_map_round_trip_and_damage_is_caught() {
    let dir = std::env::temp_dir().join(format!("dask-protocol-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = Value::Buffer(buffer(DType::Float64, &[300, 1000], 4, false)); // 2.4 MB: mapped
    let small = Value::Buffer(buffer(DType::Int16, &[10, 10], 4, false)); // read
    let packed = Value::Buffer(buffer(DType::Int32, &[1 << 20], 4, true)); // lz4: decoded
    for (i, (v, c)) in [
        (&big, Compression::None),
        (&small, Compression::None),
        (&packed, Compression::Lz4),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.join(format!("{i}"));
        let mut f = std::fs::File::create(&path).unwrap();
        let n = write_value(v, &mut f, c).unwrap();
        drop(f);
        let back = dask::protocol::read_file(&path, n, "key-7").unwrap();
        assert!(same(v, &back), "file {i}");
        // Damage in the middle of the data is caught, mapped or not.
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() - 100;
        bytes[mid] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_corrupt(
            dask::protocol::read_file(&path, n, "key-7"),
            &format!("file {i}"),
        );
        // The mapped value outlives the file.
        if i == 0 {
            std::fs::write(&path, encode(v, c).unwrap().to_vec()).unwrap();
            let back = dask::protocol::read_file(&path, n, "key-7").unwrap();
            std::fs::remove_file(&path).unwrap();
            assert!(same(v, &back), "a mapped value after its file is removed");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Rust codec for boxed strings kept at an address (what a binding's objects look like).
struct Boxed;

impl dask::value::OpaqueCodec for Boxed {
    fn name(&self) -> &str {
        "protocol-test-boxed"
    }
    fn serialize(&self, address: usize) -> dask::error::Result<Vec<u8>> {
        // SAFETY: addresses of this codec are leaked Box<String>s (see below).
        Ok(unsafe { &*(address as *const String) }.as_bytes().to_vec())
    }
    fn deserialize(&self, bytes: &[u8]) -> dask::error::Result<usize> {
        let s =
            String::from_utf8(bytes.to_vec()).map_err(|_| Error::Corrupt("not UTF-8".into()))?;
        Ok(Box::into_raw(Box::new(s)) as usize)
    }
    fn release(&self, address: usize) {
        // SAFETY: as above; released once.
        drop(unsafe { Box::from_raw(address as *mut String) });
    }
}

#[test]
fn opaque_values_with_a_codec_round_trip_through_it() {
    let codec: Arc<dyn dask::value::OpaqueCodec> = Arc::new(Boxed);
    dask::value::register_opaque_codec(codec.clone()).unwrap();
    let addr = Box::into_raw(Box::new("a host object".to_string())) as usize;
    let v = Value::Opaque(dask::value::Opaque::with_codec(addr, codec, 13));
    assert_eq!(v.nbytes(), 13);
    let back = decode(&encode(&v, Compression::Auto).unwrap().to_vec(), "k").unwrap();
    match back {
        Value::Opaque(o) => {
            assert_ne!(o.address(), addr, "a new object");
            // SAFETY: made by Boxed::deserialize.
            assert_eq!(unsafe { &*(o.address() as *const String) }, "a host object");
            assert_eq!(o.nbytes(), 13);
        }
        other => panic!("{other:?}"),
    }
}

/// A fused program's parameters with every byte changed in turn: each either fails to decode
/// with an error, or decodes to a program the kernel can run on blocks of the dtypes it
/// declares (the decoder checks operands and loop dtypes, so nothing reads out of bounds).
#[test]
fn damaged_programs_are_refused_or_safe_to_run() {
    use dask::array::FusedBlock;
    use dask::ufunc::kernel::{eval_block, Program};
    use dask::value::{Params, ParamsWriter};
    dask::catalog::ensure();
    let mut p = Program::default();
    let x = p.add_input(DType::Float32);
    let e = p.apply(&dask::ufunc::ufunc("exp").unwrap(), &[x]).unwrap();
    let two = p.add_const(dask::array::Scalar::Float(2.0), DType::Float64);
    let m = p
        .apply(&dask::ufunc::ufunc("multiply").unwrap(), &[e, two])
        .unwrap();
    let c = p.cast(m, DType::Int16);
    p.finish(c);
    let fused = FusedBlock {
        program: p,
        shape: vec![3, 4],
    };
    let mut w = ParamsWriter::default();
    fused.encode(&mut w);
    let (bytes, _) = w.finish();
    let mut decoded = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= flip;
            let Ok(v) = dask::value::decode_params("array.fused", &bad, vec![], "fuzz") else {
                continue;
            };
            decoded += 1;
            let f = v
                .as_any()
                .downcast_ref::<FusedBlock>()
                .expect("a fused block");
            let small = dask::array::checked_len(&f.shape).is_ok_and(|n| n <= 1 << 20);
            if !small || f.program.output.is_none() {
                continue;
            }
            let inputs: Vec<dask::Buffer> = f
                .program
                .inputs
                .iter()
                .map(|&d| dask::Buffer::zeros(d, &f.shape).unwrap())
                .collect();
            let refs: Vec<&dask::Buffer> = inputs.iter().collect();
            let _ = eval_block(&f.program, &refs, &f.shape);
        }
    }
    assert!(decoded > 0, "some changes (constants, shapes) still decode");
}
