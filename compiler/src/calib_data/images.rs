//! Images as calibration samples: a folder of `.jpg`/`.jpeg`/`.png`/`.bmp` files, each decoded and
//! turned into one sample of a single-input model by a `--preprocess` pipeline.
//!
//! The pipeline, in order (`x` a pixel value in 0..=255):
//! 1. decode, and convert to RGB (grey images are replicated, alpha is dropped) or, for a 1-channel
//!    input, to luma;
//! 2. `resize`: the shorter side to N, keeping the aspect ratio (the longer side is truncated, as
//!    torchvision's `Resize(N)`), or exactly HxW; antialiased like PIL's, but not bit-identical to it
//!    (nor is JPEG decoding): expect differences of a level or a few at most pixels;
//! 3. `crop`: a centred HxW window, offsets rounded as torchvision's `CenterCrop` (zero-padded when
//!    the image is smaller);
//! 4. channels in `order` (RGB or BGR);
//! 5. `(x * scale - mean[c]) / std[c]` for float inputs, computed in f64 and rounded once to the
//!    input's element type; `u8` inputs get `x` itself (normalising settings are then an error);
//! 6. `layout` NCHW or NHWC, with a batch axis of 1 when the input has rank 4 (rank 3: CHW or HWC).
//!
//! `mean` and `std` list one value, or one per channel in the *output* channel order (so a BGR
//! preset lists blue first). The layout is the input's (a dimension of 1 or 3 first means NCHW, last
//! means NHWC; NCHW when unclear), and so are the height and width used by presets.
//!
//! Presets reproduce the ImageNet pipelines of older calibration tools. ONNX Runtime's first
//! calibration tool (`data_preprocess.py`: `preprocess_mxnet_raw`, `preprocess_caffe_raw`,
//! `preprocess_caffe2_raw`, `preprocess_rcnn_raw`) applied them to NCHW RGB tensors already at the
//! model's size; here the image is first resized to the model's HxW (bicubic, PIL's default). All
//! four emit BGR channels, with the means and scales below. `pytorch` is torchvision's (and the ONNX
//! model zoo's) evaluation transform; `inception` scales to [-1, 1] (ORT's `preprocess_method1`, less
//! its per-image mean subtraction).

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, Pixel};
use onnxqc_ir::Dim;
use onnxqc_runtime::{with_data, DType, Data, Elem, IoInfo, Tensor};

use super::{data_err, input_names, DataError, Part, Source};
use crate::input_files::{describe_type, dtype_name};

pub const PREPROCESS_HELP: &str = "\
How images become tensors: [PRESET][,KEY=VALUE...], comma-separated. Keys not given take the
preset's values (the preset 'default' when none is named).

Presets (H, W: the model input's height and width):
  default     resize=HxW, RGB, scale=1/255 (values in [0, 1]); u8 inputs get raw pixels
  pytorch     resize=H*8/7 (shorter side, 256 for 224), crop=HxW, RGB, scale=1/255,
              mean=0.485:0.456:0.406, std=0.229:0.224:0.225, bilinear (torchvision, ONNX
              model zoo); alias imagenet-pytorch
  mxnet       resize=HxW, BGR, scale=1/255, mean=0.406:0.456:0.485, std=0.225:0.224:0.229
  caffe       resize=HxW, BGR, mean=103.94:116.78:123.68, std=1/0.017
  caffe2      resize=HxW, BGR, mean=103.939:116.779:123.68
  rcnn        resize=HxW, BGR, mean=102.9801:115.9465:122.7717
  inception   resize=HxW, RGB, scale=1/127.5, mean=1 (values in [-1, 1])
  (mxnet, caffe, caffe2 and rcnn are ONNX Runtime's first calibration tool's, bicubic.)

Keys:
  resize=N|HxW|none    shorter side to N (aspect kept), or exactly HxW
  crop=N|HxW|none      centre crop
  layout=nchw|nhwc     default: the model input's
  order=rgb|bgr
  mean=M[:M:M]         one value, or one per channel in output order
  std=S[:S:S]
  scale=F              F or A/B: x*scale, before mean and std
  filter=bilinear|bicubic|nearest
Out = (pixel * scale - mean) / std.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Default,
    Pytorch,
    Mxnet,
    Caffe,
    Caffe2,
    Rcnn,
    Inception,
}

const PRESETS: &[(&str, Preset)] = &[
    ("default", Preset::Default),
    ("pytorch", Preset::Pytorch),
    ("imagenet-pytorch", Preset::Pytorch),
    ("mxnet", Preset::Mxnet),
    ("caffe", Preset::Caffe),
    ("caffe2", Preset::Caffe2),
    ("rcnn", Preset::Rcnn),
    ("inception", Preset::Inception),
];

const KEYS: &[&str] = &[
    "resize", "crop", "layout", "order", "mean", "std", "scale", "filter",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resize {
    /// The shorter side to N, the other keeping the aspect ratio.
    Shorter(u32),
    Exact {
        h: u32,
        w: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Rgb,
    Bgr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Bilinear,
    Bicubic,
}

impl Filter {
    fn image_filter(self) -> FilterType {
        match self {
            Filter::Nearest => FilterType::Nearest,
            Filter::Bilinear => FilterType::Triangle,
            Filter::Bicubic => FilterType::CatmullRom,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Filter::Nearest => "nearest",
            Filter::Bilinear => "bilinear",
            Filter::Bicubic => "bicubic",
        }
    }
}

/// A parsed `--preprocess` spec: a preset and the keys given (`Some(None)`: explicitly `none`).
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub text: String,
    pub preset: Preset,
    pub resize: Option<Option<Resize>>,
    pub crop: Option<Option<(u32, u32)>>,
    pub layout: Option<Layout>,
    pub order: Option<Order>,
    pub mean: Option<Vec<f64>>,
    pub std: Option<Vec<f64>>,
    pub scale: Option<f64>,
    pub filter: Option<Filter>,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, DataError> {
        let mut spec = Spec {
            text: text.to_string(),
            preset: Preset::Default,
            resize: None,
            crop: None,
            layout: None,
            order: None,
            mean: None,
            std: None,
            scale: None,
            filter: None,
        };
        let valid = || {
            let presets: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            format!("presets: {}; keys: {}", presets.join(", "), KEYS.join(", "))
        };
        for (i, token) in text.split(',').map(str::trim).enumerate() {
            if token.is_empty() {
                continue;
            }
            let Some((key, value)) = token.split_once('=') else {
                let Some(&(_, p)) = PRESETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(token))
                else {
                    return Err(data_err!(
                        "--preprocess '{text}': unknown preset '{token}' ({})",
                        valid()
                    ));
                };
                if i != 0 {
                    return Err(data_err!(
                        "--preprocess '{text}': the preset ('{token}') comes first, before KEY=VALUE settings"
                    ));
                }
                spec.preset = p;
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            let bad = |expected: &str| {
                data_err!("--preprocess '{text}': {key}={value}: expected {expected}")
            };
            match key.as_str() {
                "resize" => {
                    spec.resize = Some(match parse_size(value) {
                        Some(Size::None) => None,
                        Some(Size::One(n)) => Some(Resize::Shorter(n)),
                        Some(Size::Two(h, w)) => Some(Resize::Exact { h, w }),
                        None => return Err(bad("N (the shorter side), HxW or none")),
                    })
                }
                "crop" => {
                    spec.crop = Some(match parse_size(value) {
                        Some(Size::None) => None,
                        Some(Size::One(n)) => Some((n, n)),
                        Some(Size::Two(h, w)) => Some((h, w)),
                        None => return Err(bad("N, HxW or none")),
                    })
                }
                "layout" => {
                    spec.layout = Some(match value.to_ascii_lowercase().as_str() {
                        "nchw" | "chw" => Layout::Nchw,
                        "nhwc" | "hwc" => Layout::Nhwc,
                        _ => return Err(bad("nchw or nhwc")),
                    })
                }
                "order" => {
                    spec.order = Some(match value.to_ascii_lowercase().as_str() {
                        "rgb" => Order::Rgb,
                        "bgr" => Order::Bgr,
                        _ => return Err(bad("rgb or bgr")),
                    })
                }
                "mean" | "std" => {
                    let vals: Option<Vec<f64>> = value.split(':').map(parse_number).collect();
                    let vals = match vals {
                        Some(v) if !v.is_empty() && v.len() <= 4 => v,
                        _ => return Err(bad("one number, or one per channel separated by ':'")),
                    };
                    if key == "std" {
                        if vals.contains(&0.0) {
                            return Err(bad("non-zero numbers"));
                        }
                        spec.std = Some(vals);
                    } else {
                        spec.mean = Some(vals);
                    }
                }
                "scale" => match parse_number(value) {
                    Some(v) if v != 0.0 => spec.scale = Some(v),
                    _ => return Err(bad("a non-zero number, or A/B such as 1/255")),
                },
                "filter" => {
                    spec.filter = Some(match value.to_ascii_lowercase().as_str() {
                        "nearest" => Filter::Nearest,
                        "bilinear" | "linear" | "triangle" => Filter::Bilinear,
                        "bicubic" | "cubic" | "catmullrom" => Filter::Bicubic,
                        _ => return Err(bad("bilinear, bicubic or nearest")),
                    })
                }
                _ => {
                    return Err(data_err!(
                        "--preprocess '{text}': unknown key '{key}' ({})",
                        valid()
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// Whether the spec asks for float normalisation (which a `u8` input cannot take).
    fn normalises(&self) -> bool {
        self.preset != Preset::Default
            || self.mean.is_some()
            || self.std.is_some()
            || self.scale.is_some()
    }
}

enum Size {
    None,
    One(u32),
    Two(u32, u32),
}

fn parse_size(s: &str) -> Option<Size> {
    let s = s.to_ascii_lowercase();
    if s == "none" {
        return Some(Size::None);
    }
    let positive = |t: &str| t.trim().parse::<u32>().ok().filter(|&n| n > 0);
    match s.split_once('x') {
        Some((h, w)) => Some(Size::Two(positive(h)?, positive(w)?)),
        None => Some(Size::One(positive(&s)?)),
    }
}

/// A number, or a fraction `A/B`.
fn parse_number(s: &str) -> Option<f64> {
    let v = match s.split_once('/') {
        Some((a, b)) => a.trim().parse::<f64>().ok()? / b.trim().parse::<f64>().ok()?,
        None => s.trim().parse::<f64>().ok()?,
    };
    v.is_finite().then_some(v)
}

/// A spec resolved against the model's input: every step decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub resize: Option<Resize>,
    pub crop: Option<(u32, u32)>,
    pub layout: Layout,
    pub order: Order,
    /// 1 or 3.
    pub channels: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub scale: f64,
    pub filter: Filter,
    pub dtype: DType,
    /// Whether the input has a (batch) axis before the image's three.
    pub batch_axis: bool,
    /// The preset's name and the settings given, for the log.
    pub label: String,
}

const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

impl Pipeline {
    /// Resolves `spec` for the image input `info`.
    pub fn new(spec: &Spec, info: &IoInfo) -> Result<Pipeline, DataError> {
        let name = &info.name;
        let ty = describe_type(&info.ty);
        let tt = info
            .ty
            .as_tensor()
            .ok_or_else(|| data_err!("input '{name}' is not a tensor"))?;
        let dtype = tt.elem.scalar().and_then(DType::from_scalar);
        let dtype = match dtype {
            Some(d @ (DType::F32 | DType::F64 | DType::F16 | DType::BF16 | DType::U8)) => d,
            _ => {
                return Err(data_err!(
                    "input '{name}' ({ty}) cannot take images: images become float or u8 tensors"
                ))
            }
        };
        // The image's three dimensions, and whether a batch axis comes first.
        let (dims, batch_axis): (Vec<Dim>, bool) = match &tt.shape {
            None => (vec![Dim::Unknown; 3], true),
            Some(d) if d.len() == 4 => (d[1..].to_vec(), true),
            Some(d) if d.len() == 3 => (d.clone(), false),
            Some(d) => {
                return Err(data_err!(
                    "input '{name}' ({ty}) has rank {}; images feed inputs of rank 4 (NCHW, NHWC) or 3 \
                     (CHW, HWC)",
                    d.len()
                ))
            }
        };
        let is_channels = |d: &Dim| matches!(d, Dim::Known(1 | 3));
        let layout = spec
            .layout
            .unwrap_or(if !is_channels(&dims[0]) && is_channels(&dims[2]) {
                Layout::Nhwc
            } else {
                Layout::Nchw
            });
        let (c, h, w) = match layout {
            Layout::Nchw => (&dims[0], &dims[1], &dims[2]),
            Layout::Nhwc => (&dims[2], &dims[0], &dims[1]),
        };
        let channels = match c {
            Dim::Known(1) => 1,
            Dim::Known(3) => 3,
            Dim::Known(n) => {
                return Err(data_err!(
                    "input '{name}' ({ty}) has {n} channels in {} layout; images give 1 or 3{}",
                    if layout == Layout::Nchw {
                        "NCHW"
                    } else {
                        "NHWC"
                    },
                    if spec.layout.is_none() {
                        " (set layout= in --preprocess if the layout is not the one guessed)"
                    } else {
                        ""
                    }
                ))
            }
            _ => 3,
        };
        let size = match (h, w) {
            (Dim::Known(h), Dim::Known(w)) => Some((*h as u32, *w as u32)),
            _ => None,
        };
        let exact = size.map(|(h, w)| Resize::Exact { h, w });
        let per_channel = |v: &[f64]| v.to_vec();
        let bgr = |v: [f64; 3]| vec![v[2], v[1], v[0]];
        // The preset's values, before the keys given override them.
        let (resize, crop, order, mean, std, scale, filter) = match spec.preset {
            Preset::Default => (
                exact,
                None,
                Order::Rgb,
                vec![0.0],
                vec![1.0],
                1.0 / 255.0,
                Filter::Bilinear,
            ),
            Preset::Pytorch => {
                let (ch, cw) = size.unwrap_or((224, 224));
                let short = (f64::from(ch.min(cw)) * 8.0 / 7.0).round() as u32;
                (
                    Some(Resize::Shorter(short)),
                    Some((ch, cw)),
                    Order::Rgb,
                    per_channel(&IMAGENET_MEAN),
                    per_channel(&IMAGENET_STD),
                    1.0 / 255.0,
                    Filter::Bilinear,
                )
            }
            Preset::Mxnet => (
                exact,
                None,
                Order::Bgr,
                bgr(IMAGENET_MEAN),
                bgr(IMAGENET_STD),
                1.0 / 255.0,
                Filter::Bicubic,
            ),
            Preset::Caffe => (
                exact,
                None,
                Order::Bgr,
                vec![103.94, 116.78, 123.68],
                vec![1.0 / 0.017],
                1.0,
                Filter::Bicubic,
            ),
            Preset::Caffe2 => (
                exact,
                None,
                Order::Bgr,
                vec![103.939, 116.779, 123.68],
                vec![1.0],
                1.0,
                Filter::Bicubic,
            ),
            Preset::Rcnn => (
                exact,
                None,
                Order::Bgr,
                vec![102.9801, 115.9465, 122.7717],
                vec![1.0],
                1.0,
                Filter::Bicubic,
            ),
            Preset::Inception => (
                exact,
                None,
                Order::Rgb,
                vec![1.0],
                vec![1.0],
                1.0 / 127.5,
                Filter::Bilinear,
            ),
        };
        let mean = spec.mean.clone().unwrap_or(mean);
        let std = spec.std.clone().unwrap_or(std);
        let spread = |what: &str, v: Vec<f64>| -> Result<Vec<f64>, DataError> {
            match v.len() {
                1 => Ok(vec![v[0]; channels]),
                n if n == channels => Ok(v),
                n => Err(data_err!(
                    "--preprocess '{}': {what} has {n} values, but input '{name}' ({ty}) has {channels} \
                     channel{}",
                    spec.text,
                    if channels == 1 { "" } else { "s" }
                )),
            }
        };
        let pipeline = Pipeline {
            resize: spec.resize.unwrap_or(resize),
            crop: spec.crop.unwrap_or(crop),
            layout,
            order: spec.order.unwrap_or(order),
            channels,
            mean: spread("mean", mean)?,
            std: spread("std", std)?,
            scale: spec.scale.unwrap_or(scale),
            filter: spec.filter.unwrap_or(filter),
            dtype,
            batch_axis,
            label: if spec.text.trim().is_empty() {
                "default".into()
            } else {
                spec.text.trim().to_string()
            },
        };
        if dtype == DType::U8 && spec.normalises() {
            return Err(data_err!(
                "--preprocess '{}': input '{name}' ({ty}) takes raw u8 pixels, so mean, std, scale \
                 and presets that normalise do not apply (use resize, crop, layout, order)",
                spec.text
            ));
        }
        Ok(pipeline)
    }

    /// Decodes and preprocesses one image file.
    pub fn load(&self, path: &Path) -> Result<Tensor, DataError> {
        let shown = path.display();
        let img = image::ImageReader::open(path)
            .map_err(|e| data_err!("cannot read '{shown}': {e}"))?
            .with_guessed_format()
            .map_err(|e| data_err!("cannot read '{shown}': {e}"))?
            .decode()
            .map_err(|e| data_err!("{shown}: cannot decode the image: {e}"))?;
        Ok(self.apply(&img))
    }

    /// Runs the pipeline on a decoded image.
    pub fn apply(&self, img: &DynamicImage) -> Tensor {
        let (w, h, pixels) = if self.channels == 1 {
            self.resized(&img.to_luma8())
        } else {
            self.resized(&img.to_rgb8())
        };
        let (ch, cw) = self.crop.unwrap_or((h, w));
        let top = crop_offset(h, ch);
        let left = crop_offset(w, cw);
        let c = self.channels;
        let (ch, cw) = (ch as usize, cw as usize);
        let pixel = |y: usize, x: usize, k: usize| -> u8 {
            let sy = y as i64 + top;
            let sx = x as i64 + left;
            if sy < 0 || sx < 0 || sy >= i64::from(h) || sx >= i64::from(w) {
                return 0;
            }
            pixels[(sy as usize * w as usize + sx as usize) * c + k]
        };
        let source_channel = |k: usize| match self.order {
            Order::Bgr if c == 3 => 2 - k,
            _ => k,
        };
        let mut shape = match self.layout {
            Layout::Nchw => vec![c, ch, cw],
            Layout::Nhwc => vec![ch, cw, c],
        };
        let index = |y: usize, x: usize, k: usize| match self.layout {
            Layout::Nchw => (k * ch + y) * cw + x,
            Layout::Nhwc => (y * cw + x) * c + k,
        };
        let n = c * ch * cw;
        let data = if self.dtype == DType::U8 {
            let mut out = vec![0u8; n];
            for y in 0..ch {
                for x in 0..cw {
                    for k in 0..c {
                        out[index(y, x, k)] = pixel(y, x, source_channel(k));
                    }
                }
            }
            Data::from(out)
        } else {
            let mut out = vec![0f64; n];
            for y in 0..ch {
                for x in 0..cw {
                    for k in 0..c {
                        let p = f64::from(pixel(y, x, source_channel(k)));
                        out[index(y, x, k)] = (p * self.scale - self.mean[k]) / self.std[k];
                    }
                }
            }
            with_data!(&Data::zeros(self.dtype, 0), v => convert(v, out))
        };
        if self.batch_axis {
            shape.insert(0, 1);
        }
        Tensor::new(shape, data).expect("shape and data agree")
    }

    /// Resizes as asked; returns the width, height and interleaved pixels.
    fn resized<P>(&self, img: &ImageBuffer<P, Vec<u8>>) -> (u32, u32, Vec<u8>)
    where
        P: Pixel<Subpixel = u8> + 'static,
    {
        let (w, h) = img.dimensions();
        let target = match self.resize {
            None => None,
            Some(Resize::Exact { h, w }) => Some((w, h)),
            Some(Resize::Shorter(n)) => {
                // torchvision: the shorter side to n, the longer truncated.
                let (w64, h64, n64) = (u64::from(w), u64::from(h), u64::from(n));
                if w <= h {
                    Some((n, (n64 * h64 / w64.max(1)) as u32))
                } else {
                    Some(((n64 * w64 / h64.max(1)) as u32, n))
                }
            }
        };
        match target {
            Some((tw, th)) if (tw, th) != (w, h) && tw > 0 && th > 0 => {
                let out = image::imageops::resize(img, tw, th, self.filter.image_filter());
                (tw, th, out.into_raw())
            }
            _ => (w, h, img.as_raw().clone()),
        }
    }

    /// "pytorch: resize 256 (shorter side, bilinear), crop 224x224, RGB, ...".
    pub fn describe(&self) -> String {
        let mut steps = vec![];
        match self.resize {
            Some(Resize::Shorter(n)) => {
                steps.push(format!("shorter side to {n} ({})", self.filter.name()))
            }
            Some(Resize::Exact { h, w }) => {
                steps.push(format!("resize to {h}x{w} ({})", self.filter.name()))
            }
            None => {}
        }
        if let Some((h, w)) = self.crop {
            steps.push(format!("centre crop {h}x{w}"));
        }
        steps.push(
            match (self.channels, self.order) {
                (1, _) => "grey",
                (_, Order::Rgb) => "RGB",
                (_, Order::Bgr) => "BGR",
            }
            .into(),
        );
        if self.dtype != DType::U8 {
            let list = |v: &[f64]| v.iter().map(|&x| short(x)).collect::<Vec<_>>().join(":");
            let mut f = match self.scale {
                1.0 => "x".to_string(),
                s if ((1.0 / s) - (1.0 / s).round()).abs() < 1e-9 => {
                    format!("x/{}", short(1.0 / s))
                }
                s => format!("x*{}", short(s)),
            };
            if self.mean.iter().any(|&m| m != 0.0) {
                f = format!("{f} - {}", list(&self.mean));
            }
            if self.std.iter().any(|&s| s != 1.0) {
                f = format!("({f}) / {}", list(&self.std));
            }
            steps.push(f);
        }
        let layout = match self.layout {
            Layout::Nchw => "NCHW",
            Layout::Nhwc => "NHWC",
        };
        steps.push(format!("{layout} {}", dtype_name(self.dtype)));
        format!("'{}': {}", self.label, steps.join(", "))
    }
}

/// Where a centred window of `size` starts in `len` pixels: torchvision's `CenterCrop`, which rounds
/// half to even, and pads a smaller image with `(size - len) / 2` pixels before it.
fn crop_offset(len: u32, size: u32) -> i64 {
    if size > len {
        return -(i64::from(size - len) / 2);
    }
    let twice = i64::from(len - size);
    // twice / 2 rounded half to even.
    let (q, r) = (twice / 2, twice % 2);
    if r == 1 && q % 2 == 1 {
        q + 1
    } else {
        q
    }
}

/// At most six decimals: `0.229`, `58.823529`, `255`; tiny values in exponent form.
fn short(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:e}");
    }
    s.to_string()
}

fn convert<T: Elem>(_: &[T], v: Vec<f64>) -> Data {
    T::wrap(v.into_iter().map(T::from_f64).collect())
}

/// A folder of images for a single-input model.
pub struct Images {
    dir: PathBuf,
    files: Vec<PathBuf>,
    pipeline: Pipeline,
}

impl Images {
    pub fn new(
        dir: &Path,
        files: Vec<PathBuf>,
        preprocess: Option<&str>,
        inputs: &[IoInfo],
    ) -> Result<Images, DataError> {
        if inputs.len() != 1 {
            return Err(data_err!(
                "{}: images feed a model with one input, and this one has {} ({}); give .npz \
                 samples instead",
                dir.display(),
                inputs.len(),
                input_names(inputs)
            ));
        }
        let spec = Spec::parse(preprocess.unwrap_or("default"))?;
        let pipeline = Pipeline::new(&spec, &inputs[0])?;
        Ok(Images {
            dir: dir.to_path_buf(),
            files,
            pipeline,
        })
    }
}

impl Source for Images {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError> {
        self.files[start..start + count]
            .iter()
            .map(|f| {
                let t = self.pipeline.load(f)?;
                Ok(Part::from_one(vec![t], &f.display().to_string()))
            })
            .collect()
    }

    fn describe(&self) -> String {
        format!(
            "{} image{} in {}, preprocessed as {}",
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            self.dir.display(),
            self.pipeline.describe()
        )
    }
}
