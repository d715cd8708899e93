//! Recurrent ops: LSTM, GRU and RNN, with every direction, layout, optional input (bias, sequence
//! lengths, initial states, peepholes) and activation the ONNX spec allows.
//!
//! The fast path (f32, and f16/bf16 through f32) computes the input projection X·Wᵀ + bias of every
//! time step and both directions in one GEMM up front; each step then only multiplies the previous
//! hidden state by R (one GEMM per step and direction; two for GRU's default form, whose candidate
//! gate multiplies by R only after the reset gate is known) and applies the gates row by row. The two
//! directions of a bidirectional op are independent and run concurrently.
//!
//! [`recurrent_reference`] is the plain per-step, per-element version in f64, written straight from
//! the spec; the tests compare the fast path with it, and f64 tensors run through it.

use std::borrow::Cow;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::Result;
use crate::kernels::gemm::{sgemm, MatRef};
use crate::kernels::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::plan::RunCtx;
use crate::tensor::{DType, Tensor};
use crate::{bail, ensure};

pub fn register(r: &mut Registry) {
    r.add("onnx.RNN", |b| build(b, Kind::Rnn));
    r.add("onnx.GRU", |b| build(b, Kind::Gru));
    r.add("onnx.LSTM", |b| build(b, Kind::Lstm));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rnn,
    Gru,
    Lstm,
}

impl Kind {
    /// Gates stacked in W, R and B: RNN `[i]`, GRU `[z r h]`, LSTM `[i o f c]`.
    fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru => 3,
            Kind::Lstm => 4,
        }
    }

    /// Activations per direction: RNN `f`, GRU `f g`, LSTM `f g h`.
    fn default_acts(self) -> &'static [Act] {
        match self {
            Kind::Rnn => &[Act::Tanh],
            Kind::Gru => &[Act::Sigmoid, Act::Tanh],
            Kind::Lstm => &[Act::Sigmoid, Act::Tanh, Act::Tanh],
        }
    }
}

/// The activation functions the recurrent ops accept, with their alpha/beta.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f32, f32),
    LeakyRelu(f32),
    ThresholdedRelu(f32),
    ScaledTanh(f32, f32),
    HardSigmoid(f32, f32),
    Elu(f32),
    Softsign,
    Softplus,
}

impl Act {
    /// Parses the `activations` list. Alphas and betas are consumed in order by the activations that
    /// take them (as onnxruntime does); a missing one takes the standalone op's default.
    fn parse_list(names: &[String], alphas: &[f32], betas: &[f32]) -> Result<Vec<Act>> {
        let mut al = alphas.iter().copied();
        let mut be = betas.iter().copied();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let act = match n.to_ascii_lowercase().as_str() {
                "relu" => Act::Relu,
                "tanh" => Act::Tanh,
                "sigmoid" => Act::Sigmoid,
                "affine" => {
                    let a = al.next().unwrap_or(1.0);
                    Act::Affine(a, be.next().unwrap_or(0.0))
                }
                "leakyrelu" => Act::LeakyRelu(al.next().unwrap_or(0.01)),
                "thresholdedrelu" => Act::ThresholdedRelu(al.next().unwrap_or(1.0)),
                "scaledtanh" => {
                    let a = al.next().unwrap_or(1.0);
                    Act::ScaledTanh(a, be.next().unwrap_or(1.0))
                }
                "hardsigmoid" => {
                    let a = al.next().unwrap_or(0.2);
                    Act::HardSigmoid(a, be.next().unwrap_or(0.5))
                }
                "elu" => Act::Elu(al.next().unwrap_or(1.0)),
                "softsign" => Act::Softsign,
                "softplus" => Act::Softplus,
                _ => bail!("unknown activation function '{n}'"),
            };
            out.push(act);
        }
        Ok(out)
    }

    /// The exact function, in f64 (the reference).
    fn eval(self, x: f64) -> f64 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Affine(a, b) => a as f64 * x + b as f64,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x > a as f64 {
                    x
                } else {
                    0.0
                }
            }
            Act::ScaledTanh(a, b) => a as f64 * (b as f64 * x).tanh(),
            Act::HardSigmoid(a, b) => (a as f64 * x + b as f64).clamp(0.0, 1.0),
            Act::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * (x.exp() - 1.0)
                }
            }
            Act::Softsign => x / (1.0 + x.abs()),
            Act::Softplus => {
                // ln(1 + e^x) without overflow for large x.
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }

    /// Applies the function in place (the fast path). Tanh and Sigmoid, the ones every LSTM and GRU
    /// spends its element-wise time in, use a branch-free rational approximation that vectorises.
    fn apply(self, xs: &mut [f32]) {
        match self {
            Act::Tanh => xs.iter_mut().for_each(|x| *x = tanh_fast(*x)),
            Act::Sigmoid => xs.iter_mut().for_each(|x| *x = sigmoid_fast(*x)),
            Act::ScaledTanh(a, b) => xs.iter_mut().for_each(|x| *x = a * tanh_fast(b * *x)),
            Act::Relu => xs.iter_mut().for_each(|x| *x = x.max(0.0)),
            Act::Affine(a, b) => xs.iter_mut().for_each(|x| *x = a * *x + b),
            Act::LeakyRelu(a) => xs
                .iter_mut()
                .for_each(|x| *x = if *x >= 0.0 { *x } else { a * *x }),
            Act::ThresholdedRelu(a) => xs
                .iter_mut()
                .for_each(|x| *x = if *x > a { *x } else { 0.0 }),
            Act::HardSigmoid(a, b) => xs
                .iter_mut()
                .for_each(|x| *x = (a * *x + b).clamp(0.0, 1.0)),
            Act::Elu(a) => xs.iter_mut().for_each(|x| {
                if *x < 0.0 {
                    *x = a * x.exp_m1();
                }
            }),
            Act::Softsign => xs.iter_mut().for_each(|x| *x /= 1.0 + x.abs()),
            Act::Softplus => xs.iter_mut().for_each(|x| {
                *x = if *x > 0.0 {
                    *x + (-*x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            }),
        }
    }
}

/// tanh for f32 as a rational function (Eigen's `ptanh_float`): at most 4e-7 absolute error (a few
/// ulp). Branch-free so loops vectorise,
/// unlike libm's `tanhf`.
#[inline]
fn tanh_fast(x: f32) -> f32 {
    // Past ±7.9053 the approximation is 1 to f32 precision; clamping keeps it from overshooting.
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16f32;
    p = p * x2 + 2.000_188e-13;
    p = p * x2 - 8.604_672e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    p *= x;
    let mut q = 1.198_258_4e-6f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    p / q
}

/// e^x for f32 (Cephes' `expf`): e^x = 2^n · e^r with |r| ≤ ln2/2, a polynomial for e^r and 2^n
/// built in the exponent bits; about 1 ulp. Branch-free so loops vectorise, unlike libm's `expf`.
#[inline]
fn exp_fast(x: f32) -> f32 {
    // Saturates below e^-87.3 (the smallest normal) and above e^88 (where 2^n would overflow); the
    // clamp also maps NaN to a number, so NaN is passed through explicitly at the end.
    let xc = x.clamp(-87.3, 88.0);
    // Round to nearest by adding 1.5·2^23: the integer lands in the low mantissa bits.
    let t = xc * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = t - 12_582_912.0;
    let r = xc - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let pow2 = f32::from_bits(((t.to_bits() as i32 - 0x4B40_0000 + 127) << 23) as u32);
    if x.is_nan() {
        x
    } else {
        e * pow2
    }
}

/// The logistic function. 1/(1 + e^-x) keeps the relative precision of small values (the left
/// tail), and rounds like the textbook formula near 1, where GRU's `1 - z` reads it.
#[inline]
fn sigmoid_fast(x: f32) -> f32 {
    1.0 / (1.0 + exp_fast(-x))
}

/// Attributes of one recurrent op.
#[derive(Clone, Debug)]
struct Config {
    kind: Kind,
    /// `hidden_size`, when given (otherwise taken from R).
    hidden: Option<usize>,
    dirs: usize,
    /// Single-direction op running backwards in time.
    reverse: bool,
    /// `dirs × kind.default_acts().len()` activations, direction-major.
    acts: Vec<Act>,
    clip: Option<f32>,
    /// `layout = 1`: batch-major X, Y and states.
    batch_major: bool,
    input_forget: bool,
    linear_before_reset: bool,
}

impl Config {
    fn from_attrs(b: &BuildCtx, kind: Kind) -> Result<Config> {
        let direction = b.attr_str("direction", "forward")?;
        let (dirs, reverse) = match direction.as_str() {
            "forward" => (1, false),
            "reverse" => (1, true),
            "bidirectional" => (2, false),
            d => bail!("unknown direction '{d}'"),
        };
        let hidden = match b.attr_int_opt("hidden_size")? {
            None => None,
            Some(h) => Some(
                usize::try_from(h)
                    .map_err(|_| crate::RuntimeError::new(format!("hidden_size {h} < 0")))?,
            ),
        };
        let per = kind.default_acts().len();
        let acts = match b.attr_strings("activations")? {
            None => kind.default_acts().repeat(dirs),
            Some(names) => {
                let alphas = b.attr_floats("activation_alpha")?.unwrap_or_default();
                let betas = b.attr_floats("activation_beta")?.unwrap_or_default();
                let acts = Act::parse_list(&names, &alphas, &betas)?;
                if acts.len() == per * dirs {
                    acts
                } else if acts.len() == per {
                    acts.repeat(dirs)
                } else {
                    bail!(
                        "{} activations given, expected {} ({per} per direction)",
                        acts.len(),
                        per * dirs
                    )
                }
            }
        };
        let clip = match b.attr("clip") {
            None => None,
            Some(_) => {
                let c = b.attr_float("clip", 0.0)?;
                if c.is_nan() || c < 0.0 {
                    bail!("clip must be a non-negative threshold, got {c}");
                }
                Some(c)
            }
        };
        let layout = b.attr_int("layout", 0)?;
        ensure!(
            layout == 0 || layout == 1,
            "layout must be 0 or 1, got {layout}"
        );
        let flag = |name: &str| -> Result<bool> {
            match b.attr_int(name, 0)? {
                0 => Ok(false),
                1 => Ok(true),
                v => bail!("{name} must be 0 or 1, got {v}"),
            }
        };
        Ok(Config {
            kind,
            hidden,
            dirs,
            reverse,
            acts,
            clip,
            batch_major: layout == 1,
            input_forget: kind == Kind::Lstm && flag("input_forget")?,
            linear_before_reset: kind == Kind::Gru && flag("linear_before_reset")?,
        })
    }

    fn act(&self, dir: usize, k: usize) -> Act {
        self.acts[dir * self.kind.default_acts().len() + k]
    }

    fn backwards(&self, dir: usize) -> bool {
        dir == 1 || self.reverse
    }

    /// The shape of Y.
    fn y_shape(&self, d: &Dims) -> Vec<usize> {
        if self.batch_major {
            vec![d.batch, d.seq, d.dirs, d.hidden]
        } else {
            vec![d.seq, d.dirs, d.batch, d.hidden]
        }
    }

    /// The shape of Y_h, Y_c, initial_h and initial_c.
    fn state_shape(&self, d: &Dims) -> Vec<usize> {
        if self.batch_major {
            vec![d.batch, d.dirs, d.hidden]
        } else {
            vec![d.dirs, d.batch, d.hidden]
        }
    }

    /// Offset of row (t, dir, b) of Y.
    fn y_offset(&self, d: &Dims, t: usize, dir: usize, b: usize) -> usize {
        let row = if self.batch_major {
            (b * d.seq + t) * d.dirs + dir
        } else {
            (t * d.dirs + dir) * d.batch + b
        };
        row * d.hidden
    }

    /// Offset of row (dir, b) of a state tensor.
    fn state_offset(&self, d: &Dims, dir: usize, b: usize) -> usize {
        let row = if self.batch_major {
            b * d.dirs + dir
        } else {
            dir * d.batch + b
        };
        row * d.hidden
    }

    /// Offset of row (t, b) of X.
    fn x_row(&self, d: &Dims, t: usize, b: usize) -> usize {
        if self.batch_major {
            b * d.seq + t
        } else {
            t * d.batch + b
        }
    }

    /// Checks the operand shapes and returns the sizes.
    fn dims(&self, s: &Shapes) -> Result<Dims> {
        let x = s.x;
        ensure!(x.len() == 3, "X has shape {x:?}, expected rank 3");
        let (seq, batch) = if self.batch_major {
            (x[1], x[0])
        } else {
            (x[0], x[1])
        };
        let input = x[2];
        let r = s.r;
        ensure!(r.len() == 3, "R has shape {r:?}, expected rank 3");
        let hidden = self.hidden.unwrap_or(r[2]);
        let g = self.kind.gates();
        let gh = g
            .checked_mul(hidden)
            .ok_or_else(|| crate::RuntimeError::new("hidden_size is too large"))?;
        let dirs = self.dirs;
        let want = |name: &str, got: &[usize], want: &[usize]| -> Result<()> {
            ensure!(
                got == want,
                "{name} has shape {got:?}, expected {want:?} (directions {dirs}, hidden size {hidden}, input size {input})"
            );
            Ok(())
        };
        want("W", s.w, &[dirs, gh, input])?;
        want("R", r, &[dirs, gh, hidden])?;
        if let Some(b) = s.b {
            want("B", b, &[dirs, 2 * gh])?;
        }
        if let Some(l) = s.seq_lens {
            want("sequence_lens", l, &[batch])?;
        }
        let state = if self.batch_major {
            [batch, dirs, hidden]
        } else {
            [dirs, batch, hidden]
        };
        if let Some(h) = s.h0 {
            want("initial_h", h, &state)?;
        }
        if let Some(c) = s.c0 {
            want("initial_c", c, &state)?;
        }
        if let Some(p) = s.p {
            want("P", p, &[dirs, 3 * hidden])?;
        }
        // Y is the one output that can be much larger than any input.
        [seq, batch, dirs, hidden, g]
            .iter()
            .try_fold(1usize, |a, &v| a.checked_mul(v))
            .filter(|&n| n <= isize::MAX as usize / 8)
            .ok_or_else(|| {
                crate::RuntimeError::new(format!(
                    "output of {seq} steps × {batch} batch × {dirs} directions × {hidden} hidden is too large"
                ))
            })?;
        Ok(Dims {
            seq,
            batch,
            input,
            hidden,
            dirs,
        })
    }
}

/// Operand shapes, for [`Config::dims`].
struct Shapes<'a> {
    x: &'a [usize],
    w: &'a [usize],
    r: &'a [usize],
    b: Option<&'a [usize]>,
    seq_lens: Option<&'a [usize]>,
    h0: Option<&'a [usize]>,
    c0: Option<&'a [usize]>,
    p: Option<&'a [usize]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dims {
    seq: usize,
    batch: usize,
    input: usize,
    hidden: usize,
    dirs: usize,
}

/// Operand elements (layouts as in the spec).
struct Operands<'a, T> {
    x: &'a [T],
    w: &'a [T],
    r: &'a [T],
    b: Option<&'a [T]>,
    h0: Option<&'a [T]>,
    c0: Option<&'a [T]>,
    p: Option<&'a [T]>,
}

/// Y, Y_h and Y_c (the latter all zeros except for LSTM).
struct Outputs<T> {
    y: Vec<T>,
    yh: Vec<T>,
    yc: Vec<T>,
}

/// The plain version: every gate of every element from the spec's equations, in f64, indexing the
/// operands in their original layouts. Steps past a batch entry's sequence length leave zeros in Y
/// and its state unchanged; backwards directions run over each entry's own valid steps.
fn recurrent_reference(
    cfg: &Config,
    d: &Dims,
    seq_lens: &[usize],
    o: &Operands<f64>,
) -> Outputs<f64> {
    let (ni, h, nd) = (d.input, d.hidden, d.dirs);
    let gh = cfg.kind.gates() * h;
    let mut y = vec![0.0; d.seq * nd * d.batch * h];
    let mut yh = vec![0.0; nd * d.batch * h];
    let mut yc = vec![0.0; nd * d.batch * h];
    let clip = |v: f64| match cfg.clip {
        Some(c) => v.max(-c as f64).min(c as f64),
        None => v,
    };
    for dir in 0..nd {
        let w = |row: usize, i: usize| o.w[(dir * gh + row) * ni + i];
        let r = |row: usize, k: usize| o.r[(dir * gh + row) * h + k];
        let wb = |row: usize| o.b.map_or(0.0, |b| b[dir * 2 * gh + row]);
        let rb = |row: usize| o.b.map_or(0.0, |b| b[dir * 2 * gh + gh + row]);
        let p = |k: usize, j: usize| o.p.map_or(0.0, |p| p[dir * 3 * h + k * h + j]);
        let f = |v: f64| cfg.act(dir, 0).eval(clip(v));
        let g = |v: f64| cfg.act(dir, 1).eval(clip(v));
        for (b, &len) in seq_lens.iter().enumerate() {
            let so = cfg.state_offset(d, dir, b);
            let mut hs: Vec<f64> = (0..h).map(|j| o.h0.map_or(0.0, |v| v[so + j])).collect();
            let mut cs: Vec<f64> = (0..h).map(|j| o.c0.map_or(0.0, |v| v[so + j])).collect();
            for step in 0..len {
                let t = if cfg.backwards(dir) {
                    len - 1 - step
                } else {
                    step
                };
                let xo = cfg.x_row(d, t, b) * ni;
                let xw =
                    |row: usize| (0..ni).map(|i| o.x[xo + i] * w(row, i)).sum::<f64>() + wb(row);
                let hr = |row: usize, hv: &[f64]| {
                    (0..h).map(|k| hv[k] * r(row, k)).sum::<f64>() + rb(row)
                };
                let new_h: Vec<f64> = match cfg.kind {
                    Kind::Rnn => (0..h).map(|j| f(xw(j) + hr(j, &hs))).collect(),
                    Kind::Gru => {
                        let z: Vec<f64> = (0..h).map(|j| f(xw(j) + hr(j, &hs))).collect();
                        let rg: Vec<f64> = (0..h).map(|j| f(xw(h + j) + hr(h + j, &hs))).collect();
                        let rh: Vec<f64> = (0..h).map(|j| rg[j] * hs[j]).collect();
                        (0..h)
                            .map(|j| {
                                let cand = if cfg.linear_before_reset {
                                    g(xw(2 * h + j) + rg[j] * hr(2 * h + j, &hs))
                                } else {
                                    g(xw(2 * h + j) + hr(2 * h + j, &rh))
                                };
                                (1.0 - z[j]) * cand + z[j] * hs[j]
                            })
                            .collect()
                    }
                    Kind::Lstm => {
                        let hact = cfg.act(dir, 2);
                        let mut nh = vec![0.0; h];
                        for j in 0..h {
                            let i = f(xw(j) + hr(j, &hs) + p(0, j) * cs[j]);
                            let fg = if cfg.input_forget {
                                1.0 - i
                            } else {
                                f(xw(2 * h + j) + hr(2 * h + j, &hs) + p(2, j) * cs[j])
                            };
                            let c = g(xw(3 * h + j) + hr(3 * h + j, &hs));
                            let nc = fg * cs[j] + i * c;
                            let og = f(xw(h + j) + hr(h + j, &hs) + p(1, j) * nc);
                            nh[j] = og * hact.eval(nc);
                            cs[j] = nc;
                        }
                        nh
                    }
                };
                hs = new_h;
                let yo = cfg.y_offset(d, t, dir, b);
                y[yo..yo + h].copy_from_slice(&hs);
            }
            yh[so..so + h].copy_from_slice(&hs);
            yc[so..so + h].copy_from_slice(&cs);
        }
    }
    Outputs { y, yh, yc }
}

/// W, R and B rearranged for the fast path.
#[derive(Debug)]
struct Packed {
    dirs: usize,
    input: usize,
    hidden: usize,
    /// Wᵀ of every direction side by side, `[input, dirs·G·H]`: one GEMM projects X for all of them.
    wt: Vec<f32>,
    /// Rᵀ per direction, `[dirs][H, G·H]` (row-major B operand, the layout the one-row GEMM wants).
    rt: Vec<f32>,
    /// Added to X·Wᵀ: W bias plus R bias of every gate, `[dirs·G·H]`, except the R bias of GRU's
    /// candidate gate under linear_before_reset, which is scaled by the reset gate.
    xbias: Vec<f32>,
    /// That GRU candidate R bias, `[dirs][H]` (empty otherwise).
    rbias_h: Vec<f32>,
}

impl Packed {
    fn new(cfg: &Config, d: &Dims, w: &[f32], r: &[f32], b: Option<&[f32]>) -> Packed {
        let (ni, h, nd) = (d.input, d.hidden, d.dirs);
        let gh = cfg.kind.gates() * h;
        let ld = nd * gh;
        let mut wt = vec![0f32; ni * ld];
        let mut rt = vec![0f32; nd * h * gh];
        let mut xbias = vec![0f32; ld];
        let lbr = cfg.linear_before_reset;
        let mut rbias_h = vec![0f32; if lbr { nd * h } else { 0 }];
        for dir in 0..nd {
            for row in 0..gh {
                let src = (dir * gh + row) * ni;
                for i in 0..ni {
                    wt[i * ld + dir * gh + row] = w[src + i];
                }
                let src = (dir * gh + row) * h;
                for k in 0..h {
                    rt[(dir * h + k) * gh + row] = r[src + k];
                }
                if let Some(b) = b {
                    let (wb, rb) = (b[dir * 2 * gh + row], b[dir * 2 * gh + gh + row]);
                    if lbr && row >= 2 * h {
                        xbias[dir * gh + row] = wb;
                        rbias_h[dir * h + row - 2 * h] = rb;
                    } else {
                        xbias[dir * gh + row] = wb + rb;
                    }
                }
            }
        }
        Packed {
            dirs: nd,
            input: ni,
            hidden: h,
            wt,
            rt,
            xbias,
            rbias_h,
        }
    }
}

/// Minimum multiply-adds per step before the directions of a bidirectional op run on two threads.
const PARALLEL_DIRS_MIN: usize = 1 << 14;

/// Products with at most this many rows of A use [`band_kernel`]; larger ones amortise `sgemm`'s
/// packing of B (all of R, on every step) over enough rows to pay for it (measured on AVX-512:
/// [`band_kernel`] is 1.3-2× faster up to 4 rows, `sgemm` from 8).
const SMALL_GEMM_MAX_M: usize = 4;

/// Above this many elements of B (1 MiB of f32, about half an L2), one row of A goes to `sgemm`'s
/// one-row loop, which streams B row by row instead of in column bands.
const BAND_MAX_B: usize = 1 << 18;

/// Multiply-adds below which a step's product stays on one thread.
const PARALLEL_GEMM_MIN: usize = 1 << 17;

/// `C += A·B` for `A: m×k` row-major, `B: k×n` with row stride `ldb`, `C: m×n` with row stride
/// `ldc`: the per-step product of a recurrent layer, where m is the batch. `sgemm` would pack all of
/// R on every step (and at m = 1 its one-row loop allocates and always goes through rayon), which
/// costs more than the product itself at the usual batch sizes; B is used in place here instead,
/// with columns split across threads when the product is big enough.
#[allow(clippy::too_many_arguments)]
fn gemm_acc(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if m > SMALL_GEMM_MAX_M || (m == 1 && k * n > BAND_MAX_B) {
        let bm = MatRef {
            data: b,
            rs: ldb,
            cs: 1,
        };
        sgemm(
            m,
            k,
            n,
            1.0,
            MatRef::row_major(a, k, false),
            bm,
            1.0,
            c,
            ldc,
        );
        return;
    }
    let threads = rayon::current_num_threads();
    let bands = if threads > 1 && m * k * n >= PARALLEL_GEMM_MIN {
        threads.min(n / 64).max(1)
    } else {
        1
    };
    let width = n.div_ceil(bands).next_multiple_of(32).min(n);
    // Each band gets the matching segment of every row of C: disjoint borrows, no copies.
    let mut segs: Vec<Vec<&mut [f32]>> = (0..n.div_ceil(width))
        .map(|_| Vec::with_capacity(m))
        .collect();
    for row in c.chunks_mut(ldc).take(m) {
        let mut rest = &mut row[..n];
        for band in segs.iter_mut() {
            let (seg, tail) = rest.split_at_mut(width.min(rest.len()));
            band.push(seg);
            rest = tail;
        }
    }
    if segs.len() == 1 {
        band_kernel(a, k, b, ldb, 0, &mut segs[0]);
    } else {
        segs.par_iter_mut()
            .enumerate()
            .for_each(|(p, rows)| band_kernel(a, k, b, ldb, p * width, rows));
    }
}

/// `rows[i][j] += Σ_kk A[i, kk] · B[kk, j0 + j]`. Tiles of 4 rows × 8 columns, or 1 row × 32
/// columns for the rows left over, accumulate in registers over all of k, so B is loaded once per
/// tile rather than once per multiply-add of a row update.
fn band_kernel(a: &[f32], k: usize, b: &[f32], ldb: usize, j0: usize, rows: &mut [&mut [f32]]) {
    let m = rows.len();
    let width = rows.first().map_or(0, |r| r.len());
    let mut i = 0;
    while i + 4 <= m {
        if let [r0, r1, r2, r3] = &mut rows[i..i + 4] {
            let mut jb = 0;
            while jb + 8 <= width {
                let mut acc = [[0f32; 8]; 4];
                for (acc, r) in acc.iter_mut().zip([&**r0, &**r1, &**r2, &**r3]) {
                    acc.copy_from_slice(&r[jb..jb + 8]);
                }
                for kk in 0..k {
                    let off = kk * ldb + j0 + jb;
                    let bb: &[f32; 8] = b[off..off + 8].try_into().expect("8 columns");
                    let av = [
                        a[i * k + kk],
                        a[(i + 1) * k + kk],
                        a[(i + 2) * k + kk],
                        a[(i + 3) * k + kk],
                    ];
                    for (acc, &av) in acc.iter_mut().zip(&av) {
                        for t in 0..8 {
                            acc[t] += av * bb[t];
                        }
                    }
                }
                for (acc, r) in acc.iter().zip([&mut **r0, &mut **r1, &mut **r2, &mut **r3]) {
                    r[jb..jb + 8].copy_from_slice(acc);
                }
                jb += 8;
            }
            for (q, r) in [r0, r1, r2, r3].into_iter().enumerate() {
                row_tail(
                    &a[(i + q) * k..(i + q + 1) * k],
                    b,
                    ldb,
                    j0 + jb,
                    &mut r[jb..],
                );
            }
        }
        i += 4;
    }
    for (q, r) in rows[i..].iter_mut().enumerate() {
        let arow = &a[(i + q) * k..(i + q + 1) * k];
        let mut jb = 0;
        while jb + 32 <= width {
            let mut acc = [0f32; 32];
            acc.copy_from_slice(&r[jb..jb + 32]);
            for (kk, &av) in arow.iter().enumerate() {
                let off = kk * ldb + j0 + jb;
                let bb: &[f32; 32] = b[off..off + 32].try_into().expect("32 columns");
                for t in 0..32 {
                    acc[t] += av * bb[t];
                }
            }
            r[jb..jb + 32].copy_from_slice(&acc);
            jb += 32;
        }
        row_tail(arow, b, ldb, j0 + jb, &mut r[jb..]);
    }
}

/// The columns a tile does not cover: plain row updates.
fn row_tail(arow: &[f32], b: &[f32], ldb: usize, j0: usize, c: &mut [f32]) {
    let w = c.len();
    if w == 0 {
        return;
    }
    for (kk, &av) in arow.iter().enumerate() {
        let off = kk * ldb + j0;
        for (x, &bv) in c.iter_mut().zip(&b[off..off + w]) {
            *x += av * bv;
        }
    }
}

/// The fast path; see the module docs.
#[allow(clippy::too_many_arguments)]
fn recurrent_fast(
    cfg: &Config,
    d: &Dims,
    seq_lens: &[usize],
    x: &[f32],
    pk: &Packed,
    p: Option<&[f32]>,
    h0: Option<&[f32]>,
    c0: Option<&[f32]>,
    ctx: &mut RunCtx,
) -> Outputs<f32> {
    let (h, nd, batch) = (d.hidden, d.dirs, d.batch);
    let gh = cfg.kind.gates() * h;
    let ld = nd * gh;
    if h == 0 || batch == 0 {
        return Outputs {
            y: vec![],
            yh: vec![],
            yc: vec![],
        };
    }
    let rows = d.seq * batch;
    let mut xw = vec![0f32; rows * ld];
    for row in xw.chunks_exact_mut(ld) {
        row.copy_from_slice(&pk.xbias);
    }
    sgemm(
        rows,
        d.input,
        ld,
        1.0,
        MatRef::row_major(x, d.input, false),
        MatRef::row_major(&pk.wt, ld, false),
        1.0,
        &mut xw,
        ld,
    );
    let mut ys: Vec<Vec<f32>> = (0..nd).map(|_| ctx.alloc_f32(d.seq * batch * h)).collect();
    let run =
        |dir: usize, y: Vec<f32>| direction_fast(cfg, d, seq_lens, &xw, pk, dir, p, h0, c0, y);
    let per_dir: Vec<DirOut> =
        if nd == 2 && rayon::current_num_threads() > 1 && batch * gh * h >= PARALLEL_DIRS_MIN {
            let (y1, y0) = (ys.pop().expect("two"), ys.pop().expect("two"));
            let (a, b) = rayon::join(|| run(0, y0), || run(1, y1));
            vec![a, b]
        } else {
            ys.into_iter()
                .enumerate()
                .map(|(dir, y)| run(dir, y))
                .collect()
        };
    if nd == 1 && !cfg.batch_major {
        // Y is [seq, 1, batch, H]: the direction's own (t, b) order.
        let o = per_dir.into_iter().next().expect("one direction");
        return Outputs {
            y: o.y,
            yh: o.h,
            yc: o.c,
        };
    }
    let mut out = Outputs {
        y: ctx.alloc_f32(d.seq * nd * batch * h),
        yh: vec![0f32; nd * batch * h],
        yc: vec![0f32; nd * batch * h],
    };
    for (dir, o) in per_dir.iter().enumerate() {
        for t in 0..d.seq {
            for b in 0..batch {
                let src = (t * batch + b) * h;
                let dst = cfg.y_offset(d, t, dir, b);
                out.y[dst..dst + h].copy_from_slice(&o.y[src..src + h]);
            }
        }
        for b in 0..batch {
            let dst = cfg.state_offset(d, dir, b);
            out.yh[dst..dst + h].copy_from_slice(&o.h[b * h..(b + 1) * h]);
            out.yc[dst..dst + h].copy_from_slice(&o.c[b * h..(b + 1) * h]);
        }
    }
    out
}

/// One direction's results: Y as `[seq, batch, H]`, final hidden and cell states as `[batch, H]`.
struct DirOut {
    y: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

fn clip_slice(clip: Option<f32>, xs: &mut [f32]) {
    if let Some(c) = clip {
        xs.iter_mut().for_each(|x| *x = x.max(-c).min(c));
    }
}

#[allow(clippy::too_many_arguments)]
fn direction_fast(
    cfg: &Config,
    d: &Dims,
    seq_lens: &[usize],
    xw: &[f32],
    pk: &Packed,
    dir: usize,
    p: Option<&[f32]>,
    h0: Option<&[f32]>,
    c0: Option<&[f32]>,
    // Y of this direction, zeroed, [seq, batch, H].
    mut y: Vec<f32>,
) -> DirOut {
    let (h, batch) = (d.hidden, d.batch);
    let gh = cfg.kind.gates() * h;
    let ld = d.dirs * gh;
    let state = |init: Option<&[f32]>| -> Vec<f32> {
        let mut s = vec![0f32; batch * h];
        if let Some(v) = init {
            for b in 0..batch {
                let o = cfg.state_offset(d, dir, b);
                s[b * h..(b + 1) * h].copy_from_slice(&v[o..o + h]);
            }
        }
        s
    };
    let mut hs = state(h0);
    let mut cs = state(c0);
    let mut g = vec![0f32; batch * gh];
    // GRU: r ⊙ H (default form) or H·Rᵀ (linear_before_reset).
    let mut tmp = match cfg.kind {
        Kind::Gru if cfg.linear_before_reset => vec![0f32; batch * gh],
        Kind::Gru => vec![0f32; batch * h],
        _ => vec![],
    };
    let rt = &pk.rt[dir * h * gh..(dir + 1) * h * gh];
    let peep = p.map(|p| &p[dir * 3 * h..(dir + 1) * 3 * h]);
    // RNN has only f; its g is never used.
    let per = cfg.kind.default_acts().len();
    let (fa, ga) = (cfg.act(dir, 0), cfg.act(dir, 1.min(per - 1)));
    let max_len = seq_lens.iter().copied().max().unwrap_or(0);
    let mut times = vec![None; batch];
    for step in 0..max_len {
        for (b, tb) in times.iter_mut().enumerate() {
            let len = seq_lens[b];
            let gr = &mut g[b * gh..(b + 1) * gh];
            *tb = if step < len {
                let t = if cfg.backwards(dir) {
                    len - 1 - step
                } else {
                    step
                };
                let src = cfg.x_row(d, t, b) * ld + dir * gh;
                gr.copy_from_slice(&xw[src..src + gh]);
                Some(t)
            } else {
                // Finished entries ride along in the GEMM; zeros keep their rows finite.
                gr.fill(0.0);
                None
            };
        }
        match cfg.kind {
            Kind::Rnn | Kind::Lstm => gemm_acc(batch, h, gh, &hs, rt, gh, &mut g, gh),
            Kind::Gru if cfg.linear_before_reset => {
                tmp.fill(0.0);
                gemm_acc(batch, h, gh, &hs, rt, gh, &mut tmp, gh);
            }
            // z and r first: the candidate's product needs r.
            Kind::Gru => gemm_acc(batch, h, 2 * h, &hs, rt, gh, &mut g, gh),
        }
        for b in 0..batch {
            if times[b].is_none() {
                continue;
            }
            let gr = &mut g[b * gh..(b + 1) * gh];
            let hr = &mut hs[b * h..(b + 1) * h];
            let cr = &mut cs[b * h..(b + 1) * h];
            match cfg.kind {
                Kind::Rnn => {
                    clip_slice(cfg.clip, gr);
                    fa.apply(gr);
                    hr.copy_from_slice(gr);
                }
                Kind::Lstm => {
                    let ha = cfg.act(dir, 2);
                    lstm_row(cfg, fa, ga, ha, peep, gr, hr, cr);
                }
                Kind::Gru if cfg.linear_before_reset => {
                    let hh = &tmp[b * gh..(b + 1) * gh];
                    let rb = &pk.rbias_h[dir * h..(dir + 1) * h];
                    let (zr, cand) = gr.split_at_mut(2 * h);
                    for (a, &v) in zr.iter_mut().zip(&hh[..2 * h]) {
                        *a += v;
                    }
                    clip_slice(cfg.clip, zr);
                    fa.apply(zr);
                    let (z, r) = zr.split_at(h);
                    for j in 0..h {
                        cand[j] += r[j] * (hh[2 * h + j] + rb[j]);
                    }
                    clip_slice(cfg.clip, cand);
                    ga.apply(cand);
                    for j in 0..h {
                        hr[j] = (1.0 - z[j]) * cand[j] + z[j] * hr[j];
                    }
                }
                Kind::Gru => {
                    let zr = &mut gr[..2 * h];
                    clip_slice(cfg.clip, zr);
                    fa.apply(zr);
                    let r = &zr[h..];
                    for ((t, &rv), &hv) in tmp[b * h..(b + 1) * h].iter_mut().zip(r).zip(&*hr) {
                        *t = rv * hv;
                    }
                }
            }
        }
        if cfg.kind == Kind::Gru && !cfg.linear_before_reset {
            for b in 0..batch {
                if times[b].is_none() {
                    tmp[b * h..(b + 1) * h].fill(0.0);
                }
            }
            gemm_acc(batch, h, h, &tmp, &rt[2 * h..], gh, &mut g[2 * h..], gh);
            for b in 0..batch {
                if times[b].is_none() {
                    continue;
                }
                let gr = &mut g[b * gh..(b + 1) * gh];
                let (zr, cand) = gr.split_at_mut(2 * h);
                clip_slice(cfg.clip, cand);
                ga.apply(cand);
                let hr = &mut hs[b * h..(b + 1) * h];
                for j in 0..h {
                    hr[j] = (1.0 - zr[j]) * cand[j] + zr[j] * hr[j];
                }
            }
        }
        for (b, t) in times.iter().enumerate() {
            if let Some(t) = *t {
                let dst = (t * batch + b) * h;
                y[dst..dst + h].copy_from_slice(&hs[b * h..(b + 1) * h]);
            }
        }
    }
    DirOut { y, h: hs, c: cs }
}

/// One batch row of an LSTM step: `gr` holds the four gate pre-activations `[i o f c]`.
#[allow(clippy::too_many_arguments)]
fn lstm_row(
    cfg: &Config,
    fa: Act,
    ga: Act,
    ha: Act,
    peep: Option<&[f32]>,
    gr: &mut [f32],
    hr: &mut [f32],
    cr: &mut [f32],
) {
    let h = hr.len();
    let (gi, rest) = gr.split_at_mut(h);
    let (go, rest) = rest.split_at_mut(h);
    let (gf, gc) = rest.split_at_mut(h);
    if let Some(p) = peep {
        let (pi, pf) = (&p[..h], &p[2 * h..]);
        for j in 0..h {
            gi[j] += pi[j] * cr[j];
            gf[j] += pf[j] * cr[j];
        }
    }
    clip_slice(cfg.clip, gi);
    fa.apply(gi);
    if cfg.input_forget {
        for (f, &i) in gf.iter_mut().zip(&*gi) {
            *f = 1.0 - i;
        }
    } else {
        clip_slice(cfg.clip, gf);
        fa.apply(gf);
    }
    clip_slice(cfg.clip, gc);
    ga.apply(gc);
    for j in 0..h {
        cr[j] = gf[j] * cr[j] + gi[j] * gc[j];
    }
    if let Some(p) = peep {
        let po = &p[h..2 * h];
        for j in 0..h {
            go[j] += po[j] * cr[j];
        }
    }
    clip_slice(cfg.clip, go);
    fa.apply(go);
    gc.copy_from_slice(cr);
    ha.apply(gc);
    for j in 0..h {
        hr[j] = go[j] * gc[j];
    }
}

/// An op's kernel: its attributes and, when W, R and B are constants, their packed form.
struct Recurrent {
    cfg: Config,
    packed: Option<Arc<Packed>>,
    outputs: usize,
}

fn build(b: &BuildCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let cfg = Config::from_attrs(b, kind)?;
    Ok(Box::new(Recurrent {
        packed: prepack(b, &cfg),
        cfg,
        outputs: b.num_outputs(),
    }))
}

/// Packs constant float weights at build time. Anything unexpected leaves the work (and the error
/// message) to run time.
fn prepack(b: &BuildCtx, cfg: &Config) -> Option<Arc<Packed>> {
    let w = b.const_input(1)?;
    let r = b.const_input(2)?;
    let bias = if b.has_input(3) {
        Some(b.const_input(3)?)
    } else {
        None
    };
    let dtype = w.dtype();
    if !dtype.is_float() || dtype == DType::F64 || r.dtype() != dtype {
        return None;
    }
    if bias.as_ref().is_some_and(|t| t.dtype() != dtype) {
        return None;
    }
    let ws = w.shape();
    ensure_opt(ws.len() == 3)?;
    // The X shape is not known yet: borrow the input size from W, so only W, R and B are checked.
    let x_shape = [1, 1, ws[2]];
    let d = cfg
        .dims(&Shapes {
            x: &x_shape,
            w: ws,
            r: r.shape(),
            b: bias.as_ref().map(|t| t.shape()),
            seq_lens: None,
            h0: None,
            c0: None,
            p: None,
        })
        .ok()?;
    let bf = bias.as_ref().map(|t| t.to_f32_vec());
    Some(Arc::new(Packed::new(
        cfg,
        &d,
        &w.to_f32_vec(),
        &r.to_f32_vec(),
        bf.as_deref(),
    )))
}

fn ensure_opt(cond: bool) -> Option<()> {
    cond.then_some(())
}

/// The elements as f32, borrowed when they already are.
fn f32_view(t: &Tensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_f32_vec()),
    }
}

impl Kernel for Recurrent {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let cfg = &self.cfg;
        let x = input(inputs, 0)?;
        let w = input(inputs, 1)?;
        let r = input(inputs, 2)?;
        let b = opt_input(inputs, 3);
        let sl = opt_input(inputs, 4);
        let h0 = opt_input(inputs, 5);
        let (c0, p) = if cfg.kind == Kind::Lstm {
            (opt_input(inputs, 6), opt_input(inputs, 7))
        } else {
            (None, None)
        };
        let dtype = x.dtype();
        ensure!(dtype.is_float(), "X is {dtype}, expected a float type");
        for (name, t) in [
            ("W", Some(w)),
            ("R", Some(r)),
            ("B", b),
            ("initial_h", h0),
            ("initial_c", c0),
            ("P", p),
        ] {
            if let Some(t) = t {
                ensure!(
                    t.dtype() == dtype,
                    "{name} is {}, expected {dtype} like X",
                    t.dtype()
                );
            }
        }
        let d = cfg.dims(&Shapes {
            x: x.shape(),
            w: w.shape(),
            r: r.shape(),
            b: b.map(|t| t.shape()),
            seq_lens: sl.map(|t| t.shape()),
            h0: h0.map(|t| t.shape()),
            c0: c0.map(|t| t.shape()),
            p: p.map(|t| t.shape()),
        })?;
        let seq_lens = match sl {
            None => vec![d.seq; d.batch],
            Some(t) => {
                ensure!(
                    !t.dtype().is_float(),
                    "sequence_lens is {}, expected int32",
                    t.dtype()
                );
                t.to_i64_vec()
                    .into_iter()
                    .map(|v| {
                        usize::try_from(v)
                            .ok()
                            .filter(|&v| v <= d.seq)
                            .ok_or_else(|| {
                                crate::RuntimeError::new(format!(
                                    "sequence length {v} is outside [0, {}]",
                                    d.seq
                                ))
                            })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        let (y, yh, yc) = if dtype == DType::F64 {
            let o = recurrent_reference(
                cfg,
                &d,
                &seq_lens,
                &Operands {
                    x: x.typed()?,
                    w: w.typed()?,
                    r: r.typed()?,
                    b: b.map(|t| t.typed()).transpose()?,
                    h0: h0.map(|t| t.typed()).transpose()?,
                    c0: c0.map(|t| t.typed()).transpose()?,
                    p: p.map(|t| t.typed()).transpose()?,
                },
            );
            (
                Tensor::from_vec(cfg.y_shape(&d), o.y),
                Tensor::from_vec(cfg.state_shape(&d), o.yh),
                Tensor::from_vec(cfg.state_shape(&d), o.yc),
            )
        } else {
            let packed = match &self.packed {
                Some(pk) if pk.dirs == d.dirs && pk.input == d.input && pk.hidden == d.hidden => {
                    pk.clone()
                }
                _ => Arc::new(Packed::new(
                    cfg,
                    &d,
                    &f32_view(w),
                    &f32_view(r),
                    b.map(f32_view).as_deref(),
                )),
            };
            let p = p.map(f32_view);
            let h0 = h0.map(f32_view);
            let c0 = c0.map(f32_view);
            let o = recurrent_fast(
                cfg,
                &d,
                &seq_lens,
                &f32_view(x),
                &packed,
                p.as_deref(),
                h0.as_deref(),
                c0.as_deref(),
                ctx,
            );
            let back = |shape: Vec<usize>, v: Vec<f32>| Tensor::from_vec(shape, v).cast(dtype);
            (
                back(cfg.y_shape(&d), o.y),
                back(cfg.state_shape(&d), o.yh),
                back(cfg.state_shape(&d), o.yc),
            )
        };
        let mut outs = vec![y, yh, yc];
        outs.truncate(self.outputs.min(if cfg.kind == Kind::Lstm { 3 } else { 2 }));
        Ok(outs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn fast_tanh_and_sigmoid_are_accurate() {
        let mut worst_t = 0f64;
        let mut worst_s = 0f64;
        for i in -40000..=40000 {
            let x = i as f32 * 5e-4;
            worst_t = worst_t.max((tanh_fast(x) as f64 - (x as f64).tanh()).abs());
            worst_s = worst_s.max((sigmoid_fast(x) as f64 - Act::Sigmoid.eval(x as f64)).abs());
        }
        assert!(worst_t < 5e-7, "tanh error {worst_t}");
        assert!(worst_s < 2e-7, "sigmoid error {worst_s}");
        let mut worst_e = 0f64;
        for i in -87000..=87990 {
            let x = i as f32 * 1e-3 + 3e-4;
            let want = (x as f64).exp();
            worst_e = worst_e.max((exp_fast(x) as f64 - want).abs() / want);
        }
        assert!(worst_e < 3e-7, "exp relative error {worst_e}");
        assert_eq!(
            exp_fast(-1000.0) as f64,
            (-87.3f32 as f64).exp() as f32 as f64
        );
        assert!(exp_fast(f32::NAN).is_nan());
        assert!(sigmoid_fast(f32::NAN).is_nan());
        // The left tail keeps its relative precision.
        let s = sigmoid_fast(-30.0) as f64;
        assert!((s / Act::Sigmoid.eval(-30.0) - 1.0).abs() < 1e-6, "{s}");
        for x in [
            1e-9f32,
            -1e-7,
            50.0,
            -50.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            assert!(
                (tanh_fast(x) as f64 - (x as f64).tanh()).abs() < 1e-7,
                "{x}"
            );
        }
        assert_eq!(tanh_fast(0.0), 0.0);
        assert!(tanh_fast(f32::NAN).is_nan());
    }

    #[test]
    fn activations_fast_match_exact() {
        let all = [
            Act::Relu,
            Act::Tanh,
            Act::Sigmoid,
            Act::Affine(0.5, -0.3),
            Act::LeakyRelu(0.1),
            Act::ThresholdedRelu(0.4),
            Act::ScaledTanh(1.5, 0.7),
            Act::HardSigmoid(0.3, 0.4),
            Act::Elu(0.9),
            Act::Softsign,
            Act::Softplus,
        ];
        let xs: Vec<f32> = (-300..300).map(|i| i as f32 * 0.05).collect();
        for a in all {
            let mut v = xs.clone();
            a.apply(&mut v);
            for (&x, &got) in xs.iter().zip(&v) {
                let want = a.eval(x as f64);
                assert!(
                    (got as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{a:?}({x}) = {got}, expected {want}"
                );
            }
        }
    }

    #[test]
    fn alphas_are_consumed_in_order() {
        let names: Vec<String> = ["LeakyRelu", "Tanh", "ScaledTanh", "HardSigmoid"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let acts = Act::parse_list(&names, &[0.2, 0.3], &[0.4]).unwrap();
        assert_eq!(
            acts,
            vec![
                Act::LeakyRelu(0.2),
                Act::Tanh,
                Act::ScaledTanh(0.3, 0.4),
                Act::HardSigmoid(0.2, 0.5)
            ]
        );
        assert!(Act::parse_list(&["Gelu".to_string()], &[], &[]).is_err());
    }

    struct Case {
        cfg: Config,
        d: Dims,
        seq_lens: Vec<usize>,
        x: Vec<f32>,
        w: Vec<f32>,
        r: Vec<f32>,
        b: Option<Vec<f32>>,
        h0: Option<Vec<f32>>,
        c0: Option<Vec<f32>>,
        p: Option<Vec<f32>>,
    }

    fn check(case: &Case, threads: usize) {
        let (cfg, d) = (&case.cfg, &case.d);
        let f64s = |v: &Option<Vec<f32>>| {
            v.as_ref()
                .map(|v| v.iter().map(|&x| x as f64).collect::<Vec<f64>>())
        };
        let (x, w, r) = (
            f64s(&Some(case.x.clone())).unwrap(),
            f64s(&Some(case.w.clone())).unwrap(),
            f64s(&Some(case.r.clone())).unwrap(),
        );
        let (b, h0, c0, p) = (f64s(&case.b), f64s(&case.h0), f64s(&case.c0), f64s(&case.p));
        let want = recurrent_reference(
            cfg,
            d,
            &case.seq_lens,
            &Operands {
                x: &x,
                w: &w,
                r: &r,
                b: b.as_deref(),
                h0: h0.as_deref(),
                c0: c0.as_deref(),
                p: p.as_deref(),
            },
        );
        let pk = Packed::new(cfg, d, &case.w, &case.r, case.b.as_deref());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| {
            recurrent_fast(
                cfg,
                d,
                &case.seq_lens,
                &case.x,
                &pk,
                case.p.as_deref(),
                case.h0.as_deref(),
                case.c0.as_deref(),
                &mut RunCtx::new(None),
            )
        });
        let what = format!("{cfg:?} {d:?} lens {:?}", case.seq_lens);
        let empty = d.hidden == 0 || d.batch == 0;
        for (name, g, w) in [
            ("Y", &got.y, &want.y),
            ("Y_h", &got.yh, &want.yh),
            ("Y_c", &got.yc, &want.yc),
        ] {
            if empty {
                assert!(w.is_empty(), "{what}");
            }
            assert_eq!(g.len(), w.len(), "{name} {what}");
            for (i, (&a, &b)) in g.iter().zip(w).enumerate() {
                assert!(
                    (a as f64 - b).abs() <= 2e-5 * (1.0 + b.abs()),
                    "{name}[{i}] = {a}, expected {b}: {what}"
                );
            }
        }
    }

    fn random_case(seed: &mut u64, kind: Kind, variant: usize) -> Case {
        let pick = |seed: &mut u64, n: usize| ((lcg(seed) + 1.0) * 0.5 * n as f32) as usize % n;
        let dirs = 1 + (variant % 2);
        let reverse = dirs == 1 && variant % 4 == 1;
        let seq = [0, 1, 3, 5][pick(seed, 4)];
        let batch = [1, 2, 4][pick(seed, 3)];
        let input = [0, 1, 3, 6][pick(seed, 4)];
        let hidden = [1, 3, 8, 17][pick(seed, 4)];
        let per = kind.default_acts().len();
        let acts = if variant % 3 == 2 {
            let pool = [
                Act::Relu,
                Act::Tanh,
                Act::Sigmoid,
                Act::Affine(0.5, 0.1),
                Act::LeakyRelu(0.1),
                Act::ThresholdedRelu(0.2),
                Act::ScaledTanh(1.2, 0.8),
                Act::HardSigmoid(0.3, 0.5),
                Act::Elu(1.1),
                Act::Softsign,
                Act::Softplus,
            ];
            (0..per * dirs)
                .map(|_| pool[pick(seed, pool.len())])
                .collect()
        } else {
            kind.default_acts().repeat(dirs)
        };
        let cfg = Config {
            kind,
            hidden: Some(hidden),
            dirs,
            reverse,
            acts,
            clip: (variant % 5 == 3).then_some(0.7),
            batch_major: variant % 4 >= 2,
            input_forget: kind == Kind::Lstm && variant % 7 == 5,
            linear_before_reset: kind == Kind::Gru && variant % 2 == 0,
        };
        let d = Dims {
            seq,
            batch,
            input,
            hidden,
            dirs,
        };
        let gh = kind.gates() * hidden;
        let mut v = |n: usize, s: f32| (0..n).map(|_| lcg(seed) * s).collect::<Vec<f32>>();
        let x = v(seq * batch * input, 1.0);
        let w = v(dirs * gh * input, 0.8);
        let r = v(dirs * gh * hidden, 0.5);
        let b = (variant % 3 != 0).then(|| v(dirs * 2 * gh, 0.5));
        let h0 = (variant % 5 != 1).then(|| v(dirs * batch * hidden, 1.0));
        let c0 = (kind == Kind::Lstm && variant % 2 == 1).then(|| v(dirs * batch * hidden, 1.0));
        let p = (kind == Kind::Lstm && variant % 3 == 1).then(|| v(dirs * 3 * hidden, 0.5));
        let seq_lens = if variant % 4 == 3 {
            (0..batch).map(|_| pick(seed, seq + 1)).collect()
        } else {
            vec![seq; batch]
        };
        Case {
            cfg,
            d,
            seq_lens,
            x,
            w,
            r,
            b,
            h0,
            c0,
            p,
        }
    }

    #[test]
    fn fast_matches_reference_on_random_cases() {
        let mut seed = 7u64;
        for kind in [Kind::Rnn, Kind::Gru, Kind::Lstm] {
            for variant in 0..60 {
                let case = random_case(&mut seed, kind, variant);
                check(&case, 1 + variant % 2);
            }
        }
    }

    #[test]
    fn big_bidirectional_runs_directions_in_parallel() {
        let mut seed = 3u64;
        for kind in [Kind::Gru, Kind::Lstm] {
            let mut case = random_case(&mut seed, kind, 1);
            // Large enough for the per-step products to go through sgemm.
            let (seq, batch, input, hidden) = (4, 5, 20, 96);
            let gh = kind.gates() * hidden;
            case.cfg.dirs = 2;
            case.cfg.reverse = false;
            case.cfg.hidden = Some(hidden);
            case.cfg.acts = kind.default_acts().repeat(2);
            case.d = Dims {
                seq,
                batch,
                input,
                hidden,
                dirs: 2,
            };
            let mut v = |n: usize, s: f32| (0..n).map(|_| lcg(&mut seed) * s).collect::<Vec<f32>>();
            case.x = v(seq * batch * input, 1.0);
            case.w = v(2 * gh * input, 0.3);
            case.r = v(2 * gh * hidden, 0.2);
            case.b = Some(v(2 * 2 * gh, 0.5));
            case.h0 = Some(v(2 * batch * hidden, 1.0));
            case.c0 = None;
            case.p = None;
            case.seq_lens = vec![4, 2, 0, 4, 1];
            check(&case, 2);
        }
    }

    #[test]
    fn gemm_acc_matches_reference() {
        let mut seed = 21u64;
        for &(m, k, n, ldb, ldc) in &[
            (1, 3, 5, 7, 5),
            (4, 96, 384, 384, 400),
            (2, 300, 500, 512, 500),
            (3, 0, 4, 4, 4),
            (1, 512, 512, 600, 512),
            (5, 33, 77, 80, 90),
            (9, 256, 1024, 1024, 1024),
            (16, 100, 200, 300, 200),
            (40, 64, 100, 100, 100),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
            let b: Vec<f32> = (0..k.max(1) * ldb).map(|_| lcg(&mut seed)).collect();
            let c0: Vec<f32> = (0..m * ldc).map(|_| lcg(&mut seed)).collect();
            let mut want = c0.clone();
            let bm = MatRef {
                data: &b,
                rs: ldb,
                cs: 1,
            };
            crate::kernels::gemm::sgemm_reference(
                m,
                k,
                n,
                1.0,
                MatRef::row_major(&a, k, false),
                bm,
                1.0,
                &mut want,
                ldc,
            );
            let mut got = c0.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1 + m % 3)
                .build()
                .unwrap();
            pool.install(|| gemm_acc(m, k, n, &a, &b, ldb, &mut got, ldc));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-4 * (1.0 + w.abs()) * (k as f32).sqrt(),
                    "{m}x{k}x{n}"
                );
            }
        }
    }

    /// The kernel end to end: f16 in and out, outputs truncated to the op's result count.
    #[test]
    fn kernel_runs_f16_and_checks_shapes() {
        let mut seed = 11u64;
        let case = random_case(&mut seed, Kind::Lstm, 3);
        let d = case.d;
        let k = Recurrent {
            cfg: case.cfg.clone(),
            packed: None,
            outputs: 2,
        };
        let t = |shape: Vec<usize>, v: &[f32]| Tensor::from_vec(shape, v.to_vec()).cast(DType::F16);
        let x_shape = if case.cfg.batch_major {
            vec![d.batch, d.seq, d.input]
        } else {
            vec![d.seq, d.batch, d.input]
        };
        let gh = 4 * d.hidden;
        let x = t(x_shape, &case.x);
        let w = t(vec![d.dirs, gh, d.input], &case.w);
        let r = t(vec![d.dirs, gh, d.hidden], &case.r);
        let mut ctx = RunCtx::new(None);
        let outs = k.run(&mut ctx, &[Some(&x), Some(&w), Some(&r)]).unwrap();
        assert_eq!(outs.len(), 2);
        assert_eq!(outs[0].dtype(), DType::F16);
        assert_eq!(outs[0].shape(), case.cfg.y_shape(&d).as_slice());
        let bad = t(
            vec![d.dirs, gh, d.hidden + 1],
            &vec![0.0; d.dirs * gh * (d.hidden + 1)],
        );
        let err = k
            .run(&mut ctx, &[Some(&x), Some(&w), Some(&bad)])
            .unwrap_err();
        assert!(err.to_string().contains("R has shape"), "{err}");
        let lens = Tensor::from_vec(vec![d.batch], vec![d.seq as i32 + 1; d.batch]);
        let err = k
            .run(&mut ctx, &[Some(&x), Some(&w), Some(&r), None, Some(&lens)])
            .unwrap_err();
        assert!(err.to_string().contains("sequence length"), "{err}");
    }
}
