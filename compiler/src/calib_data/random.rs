//! Made-up calibration data (`--calib-data random`), for smoke tests: each sample holds seeded random
//! values of each input's declared shape. Useless for real scales, handy to run the pipeline end to end.
//!
//! Shapes: fixed dimensions as declared; a symbolic dimension takes the size `--calib-dims NAME=N`
//! gives it, else [`BATCH_DIM`] when it is the first dimension of an input of rank 2 or more (a batch
//! dimension) and [`OTHER_DIM`] otherwise; a symbol has one size across inputs. Unnamed (`?`)
//! dimensions follow the same rule.
//!
//! Values: floats are standard normal (`random`) or uniform in [0, 1) (`random-uniform`); `u8`
//! inputs (pixels) uniform over 0..=255; other integers 0 or 1, valid as indices and masks; booleans
//! either. Sample i is the same whatever the batch size and `--calib-samples`: each (seed, sample,
//! input) has its own generator.

use onnxqc_ir::Dim;
use onnxqc_runtime::{with_data, DType, Data, Elem, IoInfo, Tensor};
use rustc_hash::FxHashMap;

use super::{data_err, DataError, Part, Source};
use crate::input_files::{describe_tensor, quoted_list};

/// The size of an unnamed batch dimension.
pub const BATCH_DIM: usize = 1;
/// The size of other unnamed dimensions (a sequence length, a spatial size).
pub const OTHER_DIM: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Floats from N(0, 1).
    Normal,
    /// Floats from U[0, 1).
    Uniform,
}

pub struct Random {
    /// Name, element type and shape of each input.
    inputs: Vec<(String, DType, Vec<usize>)>,
    samples: usize,
    dist: Distribution,
    seed: u64,
}

impl Random {
    pub fn new(
        inputs: &[IoInfo],
        samples: usize,
        dist: Distribution,
        seed: u64,
        dims: &[String],
    ) -> Result<Random, DataError> {
        let mut given: FxHashMap<String, usize> = FxHashMap::default();
        for spec in dims {
            let parsed = spec
                .split_once('=')
                .and_then(|(n, v)| Some((n.trim(), v.trim().parse::<usize>().ok()?)));
            match parsed {
                Some((name, v)) if !name.is_empty() && v > 0 => {
                    given.insert(name.to_string(), v);
                }
                _ => {
                    return Err(data_err!(
                        "--calib-dims '{spec}': expected NAME=N, with N a positive integer"
                    ))
                }
            }
        }
        let mut symbols: Vec<&str> = vec![];
        for i in inputs {
            for d in
                i.ty.as_tensor()
                    .and_then(|t| t.shape.as_deref())
                    .unwrap_or(&[])
            {
                if let Dim::Symbolic(s) = d {
                    if !symbols.contains(&&**s) {
                        symbols.push(s);
                    }
                }
            }
        }
        if let Some(name) = given.keys().find(|n| !symbols.contains(&n.as_str())) {
            return Err(data_err!(
                "--calib-dims {name}=..: the model's inputs have no dimension named '{name}' \
                 (their symbolic dimensions: {})",
                quoted_list(&symbols)
            ));
        }
        let mut sizes: FxHashMap<String, usize> = given;
        let mut resolved = Vec::with_capacity(inputs.len());
        for info in inputs {
            let tt = info
                .ty
                .as_tensor()
                .ok_or_else(|| data_err!("input '{}' is not a tensor", info.name))?;
            let dtype = tt
                .elem
                .scalar()
                .and_then(DType::from_scalar)
                .ok_or_else(|| {
                    data_err!(
                        "input '{}': random data cannot be made for its element type",
                        info.name
                    )
                })?;
            let Some(dims) = &tt.shape else {
                return Err(data_err!(
                    "input '{}' declares no shape, so random data cannot be made for it; give \
                     calibration data files instead",
                    info.name
                ));
            };
            let rank = dims.len();
            let unnamed = |axis: usize| {
                if axis == 0 && rank >= 2 {
                    BATCH_DIM
                } else {
                    OTHER_DIM
                }
            };
            let shape: Vec<usize> = dims
                .iter()
                .enumerate()
                .map(|(axis, d)| match d {
                    Dim::Known(n) => *n as usize,
                    Dim::Symbolic(s) if &**s != "?" && !s.is_empty() => {
                        *sizes.entry(s.to_string()).or_insert_with(|| unnamed(axis))
                    }
                    _ => unnamed(axis),
                })
                .collect();
            resolved.push((info.name.clone(), dtype, shape));
        }
        Ok(Random {
            inputs: resolved,
            samples,
            dist,
            seed,
        })
    }

    fn sample(&self, index: usize) -> Part {
        let tensors = self
            .inputs
            .iter()
            .enumerate()
            .map(|(k, (_, dtype, shape))| {
                let mut rng = Rng::for_sample(self.seed, index, k);
                let n: usize = shape.iter().product();
                let data = with_data!(&Data::zeros(*dtype, 0), v => fill(v, n, *dtype, self.dist, &mut rng));
                Tensor::new(shape.clone(), data).expect("shape and data agree")
            })
            .collect();
        Part::from_one(tensors, &format!("random sample {index}"))
    }
}

/// `n` values of `v`'s element type (`v` is empty; it names the type).
fn fill<T: Elem>(_: &[T], n: usize, dtype: DType, dist: Distribution, rng: &mut Rng) -> Data {
    let mut next: Box<dyn FnMut(&mut Rng) -> f64> = match dtype {
        d if d.is_float() => match dist {
            Distribution::Normal => Box::new(|r: &mut Rng| r.normal()),
            Distribution::Uniform => Box::new(|r: &mut Rng| r.uniform()),
        },
        DType::U8 => Box::new(|r: &mut Rng| (r.next_u64() >> 56) as f64),
        _ => Box::new(|r: &mut Rng| (r.next_u64() >> 63) as f64),
    };
    T::wrap((0..n).map(|_| T::from_f64(next(rng))).collect())
}

impl Source for Random {
    fn len(&self) -> usize {
        self.samples
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError> {
        Ok((start..start + count).map(|i| self.sample(i)).collect())
    }

    fn describe(&self) -> String {
        let dist = match self.dist {
            Distribution::Normal => "normal",
            Distribution::Uniform => "uniform",
        };
        let shapes: Vec<String> = self
            .inputs
            .iter()
            .map(|(name, dtype, shape)| {
                format!(
                    "'{name}' {}",
                    describe_tensor(&Tensor::zeros(*dtype, shape.clone()))
                )
            })
            .collect();
        format!(
            "random {dist} data (seed {}; {})",
            self.seed,
            shapes.join(", ")
        )
    }
}

/// SplitMix64: small, fast, and good enough for test data; its sequence is fixed forever, so a seed
/// names the same data on every machine and release.
struct Rng(u64);

impl Rng {
    fn for_sample(seed: u64, sample: usize, input: usize) -> Rng {
        let a = Rng(seed).next_u64();
        let b = Rng(a ^ sample as u64).next_u64();
        Rng(b ^ (input as u64).rotate_left(32))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal, by Box-Muller (one of the pair).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
