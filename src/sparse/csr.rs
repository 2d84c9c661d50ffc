//! 2-d sparse arrays to and from compressed rows/columns, through `sprs` (Rust's sparse
//! matrix crate): its constructors validate what hosts hand in (sorted, in-range indices).

use crate::value::Coo;

use crate::error::{Error, Result};
use crate::value::Scalar;
use crate::value::{Buffer, DType, Element};
use sprs::CsMat;

/// The compressed layout of a 2-d sparse array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressed {
    /// Rows compressed (CSR): `indptr` has rows + 1 entries, `indices` are columns.
    Rows,
    /// Columns compressed (CSC): `indptr` has cols + 1 entries, `indices` are rows.
    Cols,
}

fn check_2d(x: &Coo) -> Result<(usize, usize)> {
    if x.ndim() != 2 {
        return Err(Error::Shape(format!(
            "CSR/CSC needs a 2-d array, not {}-d",
            x.ndim()
        )));
    }
    if x.fill_value().as_f64() != 0.0 {
        return Err(Error::invalid(
            "CSR/CSC has no fill value: the array's fill must be 0",
        ));
    }
    Ok((x.shape()[0], x.shape()[1]))
}

/// The array as a `sprs` matrix of element type `T` (its dtype must be `T`'s).
pub fn to_sprs<T: Element>(x: &Coo, layout: Compressed) -> Result<CsMat<T>> {
    let (rows, cols) = check_2d(x)?;
    let data = x.data().as_slice::<T>()?.to_vec();
    let n = x.nnz();
    let (major, minor_axis, outer) = match layout {
        Compressed::Rows => (0, 1, rows),
        Compressed::Cols => (1, 0, cols),
    };
    let mut order: Vec<usize> = (0..n).collect();
    if layout == Compressed::Cols {
        order.sort_by_key(|&i| (x.coord(1, i), x.coord(0, i)));
    }
    let mut indptr = vec![0usize; outer + 1];
    let mut indices = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    for &i in &order {
        indptr[x.coord(major, i) as usize + 1] += 1;
        indices.push(x.coord(minor_axis, i) as usize);
        values.push(data[i]);
    }
    for k in 0..outer {
        indptr[k + 1] += indptr[k];
    }
    let m = match layout {
        Compressed::Rows => CsMat::try_new((rows, cols), indptr, indices, values),
        Compressed::Cols => CsMat::try_new_csc((rows, cols), indptr, indices, values),
    };
    m.map_err(|(_, _, _, e)| Error::invalid(format!("sprs rejected the matrix: {e}")))
}

/// A sparse array from a `sprs` matrix (either layout).
pub fn from_sprs<T: Element>(m: &CsMat<T>) -> Result<Coo> {
    let (rows, cols) = m.shape();
    let mut r = Vec::with_capacity(m.nnz());
    let mut c = Vec::with_capacity(m.nnz());
    let mut v = Vec::with_capacity(m.nnz());
    for (val, (i, j)) in m.iter() {
        r.push(i as u64);
        c.push(j as u64);
        v.push(*val);
    }
    let mut coords = r;
    coords.extend_from_slice(&c);
    let n = v.len();
    let data = Buffer::from_vec(v, &[n])?;
    Coo::from_triplets(&[rows, cols], &coords, &data, Scalar::Int(0))
}

macro_rules! by_dtype {
    ($d:expr, $f:ident, $($a:expr),*) => {
        match $d {
            DType::Float64 => $f::<f64>($($a),*),
            DType::Float32 => $f::<f32>($($a),*),
            DType::Int64 => $f::<i64>($($a),*),
            DType::Int32 => $f::<i32>($($a),*),
            DType::Int16 => $f::<i16>($($a),*),
            DType::Int8 => $f::<i8>($($a),*),
            DType::UInt64 => $f::<u64>($($a),*),
            DType::UInt32 => $f::<u32>($($a),*),
            DType::UInt16 => $f::<u16>($($a),*),
            DType::UInt8 => $f::<u8>($($a),*),
            DType::Bool => $f::<crate::ufunc::loops::B8>($($a),*),
        }
    };
}

/// The three arrays of the compressed layout: index pointers, indices, values (in `x`'s
/// dtype), through a `sprs` matrix.
pub fn to_compressed(x: &Coo, layout: Compressed) -> Result<(Vec<usize>, Vec<usize>, Buffer)> {
    fn go<T: Element>(x: &Coo, layout: Compressed) -> Result<(Vec<usize>, Vec<usize>, Buffer)> {
        let m = to_sprs::<T>(x, layout)?;
        let (indptr, indices, data) = m.into_raw_storage();
        let n = data.len();
        Ok((indptr, indices, Buffer::from_vec(data, &[n])?))
    }
    by_dtype!(x.dtype(), go, x, layout)
}

/// A sparse array from compressed arrays (validated by `sprs`: monotone `indptr`, sorted
/// in-range `indices`).
pub fn from_compressed(
    shape: (usize, usize),
    layout: Compressed,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    data: &Buffer,
) -> Result<Coo> {
    fn go<T: Element>(
        shape: (usize, usize),
        layout: Compressed,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: &Buffer,
    ) -> Result<Coo> {
        let values = crate::value::block::contiguous(data)?
            .as_slice::<T>()?
            .to_vec();
        let m = match layout {
            Compressed::Rows => CsMat::try_new(shape, indptr, indices, values),
            Compressed::Cols => CsMat::try_new_csc(shape, indptr, indices, values),
        }
        .map_err(|(_, _, _, e)| Error::invalid(format!("invalid compressed sparse matrix: {e}")))?;
        from_sprs(&m)
    }
    by_dtype!(data.dtype(), go, shape, layout, indptr, indices, data)
}
