//! Reading the golden files of the conformance suites (tests/conformance/*.golden.gz, made
//! by conformance/generate_*.py; the format is in conformance/README.md): operands and
//! results as recorded, and the bridge to library buffers.

#![allow(dead_code)]

use dask::ufunc::loops::B8;
use dask::value::Scalar;
use dask::{Buffer, DType};
use std::path::Path;

/// One number as recorded: integers exactly, floats as parsed in their own dtype.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    I(i128),
    F(f64),
}

#[derive(Debug, Clone)]
pub struct Arr {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub values: Vec<Num>,
}

#[derive(Debug, Clone)]
pub enum Opnd {
    Arr(Arr),
    Scalar(Scalar),
    Sparse(Sp),
    /// A Python integer past int64: no library scalar holds it (`dask_operand.i` is int64).
    BigInt(i128),
}

/// A sparse (COO) operand as recorded: stored coordinates (one list per axis) and values,
/// and the fill value.
#[derive(Debug, Clone)]
pub struct Sp {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub fill: Num,
    pub coords: Vec<Vec<u64>>,
    pub data: Vec<Num>,
}

fn parse_shape(s: &str) -> Vec<usize> {
    if s == "-" {
        vec![]
    } else {
        s.split('x').map(|n| n.parse().expect("length")).collect()
    }
}

/// `<dtype>:<shape>:<fill>:<nnz>:<coords>:<data>` (coords: one comma list per axis, joined
/// by `/`; `-` when there are none).
pub fn parse_sparse(spec: &str) -> Sp {
    let p: Vec<&str> = spec.split(':').collect();
    assert_eq!(p.len(), 6, "sparse operand {spec}");
    let dtype = dtype_named(p[0]);
    let shape = parse_shape(p[1]);
    let nnz: usize = p[3].parse().expect("nnz");
    let coords: Vec<Vec<u64>> = if p[4] == "-" {
        vec![Vec::new(); if nnz == 0 { shape.len() } else { 0 }]
    } else {
        p[4].split('/')
            .map(|axis| {
                axis.split(',')
                    .map(|c| c.parse().expect("coordinate"))
                    .collect()
            })
            .collect()
    };
    let data: Vec<Num> = if p[5] == "-" {
        vec![]
    } else {
        p[5].split(',').map(|v| parse_num(v, dtype)).collect()
    };
    assert_eq!(data.len(), nnz, "{spec}");
    Sp {
        dtype,
        shape,
        fill: parse_num(p[2], dtype),
        coords,
        data,
    }
}

/// The recorded lines of golden file `name` (its first line, the generator's version, apart).
pub fn read_golden(name: &str) -> (String, Vec<(usize, String)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(name);
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&path)
        .output()
        .expect("gzip runs");
    assert!(out.status.success(), "gzip -dc {}", path.display());
    let text = String::from_utf8(out.stdout).expect("ASCII");
    let version = text.lines().next().unwrap_or("").to_string();
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    (version, lines)
}

/// An operand token: an array, or a Python scalar.
pub fn parse_operand(token: &str) -> Opnd {
    match token.split_once(':').expect("kind:rest") {
        ("a", rest) => Opnd::Arr(parse_arr(rest)),
        ("i", v) => match v.parse::<i64>() {
            Ok(i) => Opnd::Scalar(Scalar::Int(i)),
            Err(_) => Opnd::BigInt(v.parse().expect("an integer")),
        },
        ("f", v) => Opnd::Scalar(Scalar::Float(v.parse().expect("float"))),
        ("b", v) => Opnd::Scalar(Scalar::Bool(v == "1")),
        ("s", rest) => Opnd::Sparse(parse_sparse(rest)),
        (k, _) => panic!("operand kind {k}"),
    }
}

pub fn dtype_named(s: &str) -> DType {
    match s {
        "bool" => DType::Bool,
        "int8" => DType::Int8,
        "uint8" => DType::UInt8,
        "int16" => DType::Int16,
        "uint16" => DType::UInt16,
        "int32" => DType::Int32,
        "uint32" => DType::UInt32,
        "int64" => DType::Int64,
        "uint64" => DType::UInt64,
        "float32" => DType::Float32,
        "float64" => DType::Float64,
        other => panic!("unknown dtype {other}"),
    }
}

pub fn is_float(d: DType) -> bool {
    matches!(d, DType::Float32 | DType::Float64)
}

/// One recorded number of `dtype`: floats parsed in their own precision.
pub fn parse_num(v: &str, dtype: DType) -> Num {
    match dtype {
        DType::Float32 => Num::F(v.parse::<f32>().expect("float32") as f64),
        DType::Float64 => Num::F(v.parse::<f64>().expect("float64")),
        _ => Num::I(v.parse::<i128>().expect("integer")),
    }
}

/// `<dtype>:<shape>:<values>`.
pub fn parse_arr(spec: &str) -> Arr {
    let mut it = spec.splitn(3, ':');
    let dtype = dtype_named(it.next().expect("dtype"));
    let shape = parse_shape(it.next().expect("shape"));
    let values_s = it.next().expect("values");
    let values: Vec<Num> = if values_s == "-" {
        vec![]
    } else {
        values_s.split(',').map(|v| parse_num(v, dtype)).collect()
    };
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{spec}");
    Arr {
        dtype,
        shape,
        values,
    }
}

pub fn buffer_of(a: &Arr) -> Buffer {
    macro_rules! ints {
        ($t:ty) => {
            Buffer::from_vec(
                a.values
                    .iter()
                    .map(|v| match v {
                        Num::I(i) => *i as $t,
                        Num::F(_) => unreachable!(),
                    })
                    .collect::<Vec<$t>>(),
                &a.shape,
            )
        };
    }
    macro_rules! floats {
        ($t:ty) => {
            Buffer::from_vec(
                a.values
                    .iter()
                    .map(|v| match v {
                        Num::F(f) => *f as $t,
                        Num::I(_) => unreachable!(),
                    })
                    .collect::<Vec<$t>>(),
                &a.shape,
            )
        };
    }
    match a.dtype {
        DType::Bool => Buffer::from_vec(
            a.values
                .iter()
                .map(|v| match v {
                    Num::I(i) => B8::of(*i != 0),
                    Num::F(_) => unreachable!(),
                })
                .collect::<Vec<B8>>(),
            &a.shape,
        ),
        DType::Int8 => ints!(i8),
        DType::UInt8 => ints!(u8),
        DType::Int16 => ints!(i16),
        DType::UInt16 => ints!(u16),
        DType::Int32 => ints!(i32),
        DType::UInt32 => ints!(u32),
        DType::Int64 => ints!(i64),
        DType::UInt64 => ints!(u64),
        DType::Float32 => floats!(f32),
        DType::Float64 => floats!(f64),
    }
    .expect("a buffer of the recorded values")
}

/// The values of a computed block, row-major.
pub fn values_of(b: &Buffer) -> Vec<Num> {
    let contiguous = dask::value::block::contiguous(b).unwrap();
    macro_rules! get {
        ($t:ty, $w:expr) => {
            contiguous
                .as_slice::<$t>()
                .unwrap()
                .iter()
                .map($w)
                .collect()
        };
    }
    match contiguous.dtype() {
        DType::Bool => get!(B8, |v: &B8| Num::I(v.get() as i128)),
        DType::Int8 => get!(i8, |v: &i8| Num::I(*v as i128)),
        DType::UInt8 => get!(u8, |v: &u8| Num::I(*v as i128)),
        DType::Int16 => get!(i16, |v: &i16| Num::I(*v as i128)),
        DType::UInt16 => get!(u16, |v: &u16| Num::I(*v as i128)),
        DType::Int32 => get!(i32, |v: &i32| Num::I(*v as i128)),
        DType::UInt32 => get!(u32, |v: &u32| Num::I(*v as i128)),
        DType::Int64 => get!(i64, |v: &i64| Num::I(*v as i128)),
        DType::UInt64 => get!(u64, |v: &u64| Num::I(*v as i128)),
        DType::Float32 => get!(f32, |v: &f32| Num::F(*v as f64)),
        DType::Float64 => get!(f64, |v: &f64| Num::F(*v)),
    }
}

pub fn eps_of(d: DType) -> f64 {
    if d == DType::Float32 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    }
}

/// Distance in units in the last place, in `d`'s precision.
pub fn ulps(a: f64, b: f64, d: DType) -> u64 {
    let key = |x: f64| -> i64 {
        if d == DType::Float32 {
            let i = (x as f32).to_bits() as i32 as i64;
            if i < 0 {
                i32::MIN as i64 - i
            } else {
                i
            }
        } else {
            let i = x.to_bits() as i64;
            if i < 0 {
                i64::MIN - i
            } else {
                i
            }
        }
    };
    (key(a) as i128 - key(b) as i128).unsigned_abs() as u64
}

/// The rule names of tests/conformance/allowed.txt (each replay implements its own).
pub fn allowed_rule_names() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/allowed.txt");
    std::fs::read_to_string(path)
        .expect("allowed.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').next().expect("a rule").to_string())
        .collect()
}
