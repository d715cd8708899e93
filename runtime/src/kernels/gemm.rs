//! f32 matrix multiply for MatMul, Gemm, Conv (im2col) and the RNNs.
//!
//! Backend chosen by measurement (bench/RESULTS.md, "GEMM backend"): `matrixmultiply`'s single-threaded
//! sgemm beat the `gemm` crate by 1.3–1.8× per core on the shapes of CNNs and transformers on this
//! machine class (AVX-512), while `gemm` only won on matrix-vector products. So: `matrixmultiply` for
//! the blocks, our own rayon split across threads (columns of C when it is wide, rows otherwise), and
//! our own loop for the one-row case (`m == 1`, token-by-token transformers), which `matrixmultiply`
//! handles at a tenth of the speed.
//!
//! The only `unsafe` of the runtime is here: `matrixmultiply::sgemm` takes raw pointers and strides.
//! [`sgemm`] checks every index it can reach against the slices before calling it.

#![allow(unsafe_code)]

use rayon::prelude::*;

/// A strided read-only matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix (`transposed` views it as `cols × rows`).
    pub fn row_major(data: &'a [f32], cols: usize, transposed: bool) -> MatRef<'a> {
        if transposed {
            MatRef {
                data,
                rs: 1,
                cs: cols,
            }
        } else {
            MatRef {
                data,
                rs: cols,
                cs: 1,
            }
        }
    }

    /// Largest index touched by a `rows × cols` view, plus one.
    fn extent(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * self.rs + (cols - 1) * self.cs + 1
        }
    }
}

/// Minimum multiply-adds before work is split across threads.
const PARALLEL_MIN_FLOPS: usize = 1 << 17;

/// `C = alpha · A · B + beta · C` for `A: m×k`, `B: k×n`, `C: m×n` row-major with row stride `ldc`.
/// With `beta == 0`, C's previous contents are ignored (NaNs included).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    assert!(a.extent(m, k) <= a.data.len(), "A is too small");
    assert!(b.extent(k, n) <= b.data.len(), "B is too small");
    assert!(ldc >= n || m <= 1, "ldc < n");
    if m == 0 || n == 0 {
        return;
    }
    assert!((m - 1) * ldc + n <= c.len(), "C is too small");
    if k == 0 {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    if m == 1 {
        gemv_row(k, n, alpha, a, b, beta, &mut c[..n]);
        return;
    }
    let threads = rayon::current_num_threads();
    let flops = m * n * k;
    if threads <= 1 || flops < PARALLEL_MIN_FLOPS {
        block(m, k, n, alpha, a, b, beta, c, ldc);
        return;
    }
    if n >= m && n >= 64 {
        // Split the columns: each task writes a disjoint column band of C.
        let parts = threads.min(n / 32).max(1);
        let band = n.div_ceil(parts).next_multiple_of(16).min(n);
        let c_addr = c.as_mut_ptr() as usize;
        let c_len = c.len();
        (0..n.div_ceil(band)).into_par_iter().for_each(|p| {
            let j0 = p * band;
            let nn = band.min(n - j0);
            let bb = MatRef {
                data: &b.data[j0 * b.cs..],
                ..b
            };
            // SAFETY: the bands [j0, j0 + nn) are disjoint, so no two tasks write the same element of
            // C, and `block` stays inside rows < m and columns < nn of this offset view, which the
            // assertion above bounds by `c_len`.
            unsafe {
                let ptr = (c_addr as *mut f32).add(j0);
                raw_block(m, k, nn, alpha, a, bb, beta, ptr, c_len - j0, ldc);
            }
        });
    } else {
        // Split the rows: C's row bands are disjoint slices.
        let parts = threads.min(m).max(1);
        let rows = m.div_ceil(parts);
        c.par_chunks_mut(rows * ldc)
            .enumerate()
            .for_each(|(p, cc)| {
                let i0 = p * rows;
                if i0 >= m {
                    return;
                }
                let mm = rows.min(m - i0);
                let aa = MatRef {
                    data: &a.data[i0 * a.rs..],
                    ..a
                };
                block(mm, k, n, alpha, aa, b, beta, cc, ldc);
            });
    }
}

fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize) {
    for i in 0..m {
        for x in &mut c[i * ldc..i * ldc + n] {
            *x = if beta == 0.0 { 0.0 } else { *x * beta };
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn block(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    assert!((m - 1) * ldc + n <= c.len());
    // SAFETY: bounds asserted above and in `sgemm`.
    unsafe { raw_block(m, k, n, alpha, a, b, beta, c.as_mut_ptr(), c.len(), ldc) }
}

/// # Safety
/// `c` must be valid for writes of `(m - 1) * ldc + n` elements (checked against `c_len`) and no
/// other thread may access those elements meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn raw_block(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: *mut f32,
    c_len: usize,
    ldc: usize,
) {
    assert!(a.extent(m, k) <= a.data.len());
    assert!(b.extent(k, n) <= b.data.len());
    assert!((m - 1) * ldc + n <= c_len);
    // With beta == 0 matrixmultiply does not read C, so NaNs in a recycled buffer do not leak.
    matrixmultiply::sgemm(
        m,
        k,
        n,
        alpha,
        a.data.as_ptr(),
        a.rs as isize,
        a.cs as isize,
        b.data.as_ptr(),
        b.rs as isize,
        b.cs as isize,
        beta,
        c,
        ldc as isize,
        1,
    );
}

/// One row of A times B: `c = alpha · a · B + beta · c`.
fn gemv_row(k: usize, n: usize, alpha: f32, a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    let threads = rayon::current_num_threads();
    let chunk = if threads > 1 && k * n >= PARALLEL_MIN_FLOPS {
        n.div_ceil(threads).next_multiple_of(64)
    } else {
        n
    };
    c.par_chunks_mut(chunk).enumerate().for_each(|(p, cc)| {
        let j0 = p * chunk;
        let nn = cc.len();
        let mut acc = vec![0f32; nn];
        if b.cs == 1 {
            // B row-major: accumulate scaled rows (contiguous, vectorises).
            for kk in 0..k {
                let av = a.data[kk * a.cs];
                if av == 0.0 {
                    continue;
                }
                let row = &b.data[kk * b.rs + j0..kk * b.rs + j0 + nn];
                for (o, &bv) in acc.iter_mut().zip(row) {
                    *o += av * bv;
                }
            }
        } else {
            for (jj, o) in acc.iter_mut().enumerate() {
                let col = (j0 + jj) * b.cs;
                let mut s = 0f32;
                for kk in 0..k {
                    s += a.data[kk * a.cs] * b.data[col + kk * b.rs];
                }
                *o = s;
            }
        }
        for (x, s) in cc.iter_mut().zip(acc) {
            *x = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *x
            };
        }
    });
}

/// The reference: a plain triple loop in f64 accumulation, for tests.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_reference(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for kk in 0..k {
                s += a.data[i * a.rs + kk * a.cs] as f64 * b.data[kk * b.rs + j * b.cs] as f64;
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                beta * c[i * ldc + j]
            };
            c[i * ldc + j] = alpha * s as f32 + old;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no test dependency on `rand`).
    pub(crate) fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        alpha: f32,
        beta: f32,
        threads: usize,
    ) {
        let mut seed = (m * 31 + k * 7 + n) as u64;
        let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed)).collect();
        let c0: Vec<f32> = (0..m * n).map(|_| lcg(&mut seed)).collect();
        let av = MatRef::row_major(&a, if ta { m } else { k }, ta);
        let bv = MatRef::row_major(&b, if tb { k } else { n }, tb);
        let mut want = c0.clone();
        sgemm_reference(m, k, n, alpha, av, bv, beta, &mut want, n);
        let mut got = c0.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| sgemm(m, k, n, alpha, av, bv, beta, &mut got, n));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()) * (k as f32).sqrt(),
                "m={m} k={k} n={n} ta={ta} tb={tb} threads={threads}: [{i}] {g} vs {w}"
            );
        }
    }

    #[test]
    fn matches_reference_on_many_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (1, 17, 300),
            (3, 5, 7),
            (64, 27, 1000),
            (129, 64, 65),
            (200, 300, 3),
            (2, 0, 4),
        ] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                for threads in [1, 3] {
                    check(m, k, n, ta, tb, 1.0, 0.0, threads);
                    check(m, k, n, ta, tb, 0.5, 2.0, threads);
                }
            }
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [f32::NAN; 4];
        sgemm(
            2,
            1,
            2,
            1.0,
            MatRef::row_major(&a, 1, false),
            MatRef::row_major(&b, 2, false),
            0.0,
            &mut c,
            2,
        );
        assert_eq!(c, [3.0, 4.0, 6.0, 8.0]);
    }
}
