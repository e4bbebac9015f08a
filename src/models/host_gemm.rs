//! The CPU kernels' one matrix product: the `gemm` crate (the library flex's own matmul calls) on
//! strided views of host f32 slices, behind a bounds check, so that the kernels (`linear`,
//! `convolution`, `attention`) hold no `unsafe` of their own.

/// A strided `[rows, columns]` view of a slice, its first element at `values[0]`.
#[derive(Clone, Copy)]
pub struct Matrix<'a> {
    pub values: &'a [f32],
    pub row_stride: usize,
    pub column_stride: usize,
}

impl<'a> Matrix<'a> {
    /// A row-major matrix with `columns` values per row.
    pub fn row_major(values: &'a [f32], columns: usize) -> Self {
        Matrix { values, row_stride: columns, column_stride: 1 }
    }

    /// The transpose of a row-major matrix with `columns` values per row: its column i is row i.
    pub fn transposed(values: &'a [f32], columns: usize) -> Self {
        Matrix { values, row_stride: 1, column_stride: columns }
    }

    /// Whether an `[rows, columns]` view stays within the slice.
    fn covers(&self, rows: usize, columns: usize) -> bool {
        rows == 0
            || columns == 0
            || (rows - 1) * self.row_stride + (columns - 1) * self.column_stride < self.values.len()
    }
}

/// Panics unless `lhs` covers `[m, inner]`, `rhs` `[inner, n]` and the destination (`out_len`
/// values) `[m, n]`: what makes the `gemm` call below sound.
fn check_views(out_len: usize, [m, n, inner]: [usize; 3], lhs: &Matrix, rhs: &Matrix) {
    assert!(
        out_len >= m * n && lhs.covers(m, inner) && rhs.covers(inner, n),
        "gemm: a [{m}, {inner}] · [{inner}, {n}] view out of bounds"
    );
}

/// Where a product runs: rayon's pool (natively; one thread in the browser), or the calling thread
/// (inside a kernel's own parallel loop).
#[derive(Clone, Copy)]
pub enum Threads {
    Pool,
    Caller,
}

/// `out = scale · lhs · rhs`, plus `out`'s own values when `accumulate`; `out` is row-major
/// `[m, n]`, `lhs` `[m, inner]`, `rhs` `[inner, n]`.
#[allow(clippy::too_many_arguments)]
pub fn multiply(
    out: &mut [f32],
    m: usize,
    n: usize,
    inner: usize,
    lhs: Matrix,
    rhs: Matrix,
    scale: f32,
    accumulate: bool,
    threads: Threads,
) {
    check_views(out.len(), [m, n, inner], &lhs, &rhs);
    // SAFETY: the check above keeps every view within its slice; `out` is borrowed mutably, so
    // it overlaps neither input.
    unsafe { gemm_raw(out.as_mut_ptr(), [m, n, inner], (lhs, rhs, scale), accumulate, threads) }
}

/// `scale · lhs · rhs` as a new row-major `[m, n]` buffer, written once by the product itself (no
/// zero-fill first: on the encoders' wide outputs that fill was a pass of its own).
pub fn product(m: usize, n: usize, inner: usize, lhs: Matrix, rhs: Matrix, scale: f32, threads: Threads) -> Vec<f32> {
    if inner == 0 {
        return vec![0.0; m * n];
    }
    let mut out = Vec::with_capacity(m * n);
    check_views(out.capacity(), [m, n, inner], &lhs, &rhs);
    // SAFETY: as in `multiply`, with `out`'s capacity as its room; a gemm that does not read its
    // destination (`read_dst` false) writes each of its m·n values, so all are initialised after it.
    unsafe {
        gemm_raw(out.as_mut_ptr(), [m, n, inner], (lhs, rhs, scale), false, threads);
        out.set_len(m * n);
    }
    out
}

/// The `gemm` call both functions make: `dst` row-major `[m, n]` with room for m·n values.
unsafe fn gemm_raw(
    dst: *mut f32,
    [m, n, inner]: [usize; 3],
    operands: (Matrix, Matrix, f32),
    accumulate: bool,
    threads: Threads,
) {
    let (lhs, rhs, scale) = operands;
    #[cfg(not(target_arch = "wasm32"))]
    let parallelism = match threads {
        Threads::Pool => gemm::Parallelism::Rayon(0),
        Threads::Caller => gemm::Parallelism::None,
    };
    #[cfg(target_arch = "wasm32")]
    let parallelism = {
        let _ = threads;
        gemm::Parallelism::None
    };
    // SAFETY: the callers check the views' bounds and give `dst` room for m·n values.
    unsafe {
        gemm::gemm(
            m,
            n,
            inner,
            dst,
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.column_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.column_stride as isize,
            rhs.row_stride as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the textbook triple loop: plain, transposed and accumulating products.
    #[test]
    fn matches_the_definition() {
        let (m, n, inner) = (5, 7, 3);
        let a: Vec<f32> = (0..m * inner).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..inner * n).map(|i| (i % 5) as f32 - 1.0).collect();
        let bt: Vec<f32> = (0..n * inner).map(|i| b[(i % inner) * n + i / inner]).collect();
        let expected = |row: usize, col: usize| (0..inner).map(|t| a[row * inner + t] * b[t * n + col]).sum::<f32>();
        for (rhs, accumulate) in [(Matrix::row_major(&b, n), false), (Matrix::transposed(&bt, inner), true)] {
            let mut out = vec![1.0f32; m * n];
            multiply(&mut out, m, n, inner, Matrix::row_major(&a, inner), rhs, 2.0, accumulate, Threads::Pool);
            for (i, &value) in out.iter().enumerate() {
                let want = 2.0 * expected(i / n, i % n) + if accumulate { 1.0 } else { 0.0 };
                assert_eq!(value, want, "element {i}, accumulate {accumulate}");
            }
        }
    }

    /// A new buffer holds exactly the product, even where the allocator's memory held values before.
    #[test]
    fn writes_a_new_buffer_whole() {
        let (m, n, inner) = (33, 65, 17);
        drop(vec![f32::NAN; m * n]);
        let a: Vec<f32> = (0..m * inner).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..inner * n).map(|i| (i % 5) as f32 * 0.25).collect();
        let mut expected = vec![0.0f32; m * n];
        multiply(
            &mut expected,
            m,
            n,
            inner,
            Matrix::row_major(&a, inner),
            Matrix::row_major(&b, n),
            0.5,
            false,
            Threads::Caller,
        );
        let ours = product(m, n, inner, Matrix::row_major(&a, inner), Matrix::row_major(&b, n), 0.5, Threads::Pool);
        assert_eq!(ours, expected);
        assert_eq!(
            product(2, 3, 0, Matrix::row_major(&[], 0), Matrix::row_major(&[], 3), 1.0, Threads::Pool),
            vec![0.0; 6]
        );
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn refuses_a_view_past_its_slice() {
        let values = [0.0f32; 6];
        let mut out = [0.0f32; 4];
        multiply(
            &mut out,
            2,
            2,
            3,
            Matrix::row_major(&values, 3),
            Matrix::row_major(&values, 3),
            1.0,
            false,
            Threads::Pool,
        );
    }
}
