//! Tests of the calibration data readers, on small folders written with the runtime's own writers and
//! tiny images encoded with the `image` crate.

use std::io::Write;
use std::path::{Path, PathBuf};

use onnxqc_ir::{Dim, ScalarType, TensorType, Type};
use onnxqc_runtime::io::npy::encode_npy;
use onnxqc_runtime::io::{write_npy, write_npz, write_pb};
use onnxqc_runtime::{IoInfo, Tensor};

use super::*;

/// An input from `"N,3,?,4"`: numbers are fixed, `?` unknown, anything else symbolic.
fn io(name: &str, elem: ScalarType, dims: &str) -> IoInfo {
    let dims = dims
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| match d.trim() {
            "?" => Dim::Unknown,
            d => match d.parse::<u64>() {
                Ok(n) => Dim::Known(n),
                Err(_) => Dim::sym(d),
            },
        })
        .collect();
    IoInfo {
        name: name.into(),
        ty: Type::Tensor(TensorType::new(elem, dims)),
    }
}

fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec())
}

fn args(path: &Path) -> CalibDataArgs {
    CalibDataArgs::new(path)
}

fn batches(ds: &mut Dataset) -> Vec<Vec<(String, Tensor)>> {
    let mut out = vec![];
    while let Some(b) = ds.next_batch() {
        out.push(b.unwrap());
    }
    out
}

fn open_err(a: &CalibDataArgs, inputs: &[IoInfo]) -> String {
    Dataset::open(a, inputs).unwrap_err().to_string()
}

/// The first error `next_batch` gives.
fn batch_err(ds: &mut Dataset) -> String {
    while let Some(b) = ds.next_batch() {
        if let Err(e) = b {
            return e.to_string();
        }
    }
    panic!("no batch failed")
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0))
}

#[test]
fn natural_order() {
    let mut names = vec![
        "10.npy",
        "2.npy",
        "b.npy",
        "A.npy",
        "img_002.npy",
        "img_1.npy",
        "1.npy",
    ];
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        names,
        [
            "1.npy",
            "2.npy",
            "10.npy",
            "A.npy",
            "b.npy",
            "img_1.npy",
            "img_002.npy"
        ]
    );
    assert_eq!(
        natural_cmp("x01", "x1"),
        "x01".cmp("x1"),
        "ties break plainly"
    );
}

#[test]
fn npy_folder_in_natural_order_batched() {
    let d = tempfile::tempdir().unwrap();
    for v in [10f32, 2.0, 1.0] {
        write_npy(&d.path().join(format!("{v}.npy")), &f32s(&[1, 2], &[v, v])).unwrap();
    }
    std::fs::write(d.path().join("README.md"), "notes").unwrap();
    std::fs::write(d.path().join(".hidden.npy"), "not read").unwrap();
    let inputs = [io("x", ScalarType::F32, "N,2")];
    let mut a = args(d.path());
    a.calib_batch_size = 2;
    let mut ds = Dataset::open(&a, &inputs).unwrap();
    assert_eq!((ds.num_samples(), ds.num_batches()), (3, 2));
    assert_eq!(
        ds.describe(),
        format!(
            "3 samples from 3 .npy files in {}, in batches of 2 (2 runs)",
            d.path().display()
        )
    );
    assert_eq!(
        ds.notes(),
        ["skipped 1 entry that is not calibration samples: README.md"]
    );
    let b = batches(&mut ds);
    assert_eq!(b.len(), 2);
    assert_eq!(
        b[0],
        [("x".to_string(), f32s(&[2, 2], &[1.0, 1.0, 2.0, 2.0]))]
    );
    assert_eq!(b[1], [("x".to_string(), f32s(&[1, 2], &[10.0, 10.0]))]);
    assert!(ds.next_batch().is_none());
}

#[test]
fn npz_samples_feed_inputs_by_name() {
    let d = tempfile::tempdir().unwrap();
    let ids = Tensor::from_vec(vec![1, 4], vec![1i64, 2, 3, 4]);
    let mask = Tensor::from_vec(vec![1, 4], vec![1i64, 1, 1, 0]);
    write_npz(
        &d.path().join("s0.npz"),
        &[("ids", ids.clone()), ("mask", mask.clone())],
    )
    .unwrap();
    let inputs = [
        io("mask", ScalarType::I64, "b,seq"),
        io("ids", ScalarType::I64, "b,seq"),
    ];
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    let b = batches(&mut ds);
    assert_eq!(
        b,
        [vec![
            ("mask".to_string(), mask.clone()),
            ("ids".to_string(), ids.clone())
        ]]
    );

    // A missing input, an array that is not an input, and sizes of 'seq' that disagree.
    let path = d.path().join("s0.npz");
    write_npz(&path, &[("ids", ids.clone())]).unwrap();
    let e = open_err(&args(d.path()), &inputs);
    assert_eq!(
        e,
        format!(
            "{}: no array for input 'mask' (the file holds 'ids')",
            path.display()
        )
    );
    write_npz(
        &path,
        &[
            ("ids", ids.clone()),
            ("mask", mask.clone()),
            ("typo", mask.clone()),
        ],
    )
    .unwrap();
    let e = open_err(&args(d.path()), &inputs);
    assert!(
        e.ends_with("the array 'typo' is not a model input (the model's inputs: 'mask', 'ids')"),
        "{e}"
    );
    let short = Tensor::from_vec(vec![1, 3], vec![1i64, 1, 1]);
    write_npz(&path, &[("ids", ids.clone()), ("mask", short)]).unwrap();
    let e = open_err(&args(d.path()), &inputs);
    assert!(
        e.ends_with(
            "input 'ids' expects i64[b, seq], got i64[1, 4] (dimension 1 ('seq') is 4, but input \
             'mask' has 'seq' = 3)"
        ),
        "{e}"
    );

    // One array feeds a single-input model whatever its name (np.savez names it arr_0).
    let d2 = tempfile::tempdir().unwrap();
    write_npz(&d2.path().join("0.npz"), &[("arr_0", ids.clone())]).unwrap();
    let mut ds =
        Dataset::open(&args(d2.path()), &[io("input_ids", ScalarType::I64, "1,4")]).unwrap();
    assert_eq!(batches(&mut ds), [vec![("input_ids".to_string(), ids)]]);
}

#[test]
fn npy_needs_a_single_input_model() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("0.npy");
    write_npy(&p, &f32s(&[1], &[1.0])).unwrap();
    let inputs = [io("a", ScalarType::F32, "1"), io("b", ScalarType::F32, "1")];
    assert_eq!(
        open_err(&args(d.path()), &inputs),
        format!(
            "{}: a .npy file holds one tensor, but the model has 2 inputs ('a', 'b'); save each \
             sample as an .npz with one array per input, named after it",
            p.display()
        )
    );
}

#[test]
fn calib_samples_limits_and_notes() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write_npy(&d.path().join(format!("{i}.npy")), &f32s(&[1], &[i as f32])).unwrap();
    }
    let inputs = [io("x", ScalarType::F32, "N")];
    let mut a = args(d.path());
    a.calib_samples = Some(2);
    let mut ds = Dataset::open(&a, &inputs).unwrap();
    assert_eq!((ds.num_samples(), ds.num_batches()), (2, 2));
    assert!(
        ds.describe().ends_with("(the first 2 of 5)"),
        "{}",
        ds.describe()
    );
    let b = batches(&mut ds);
    assert_eq!(b[1][0].1, f32s(&[1], &[1.0]));
    a.calib_samples = Some(9);
    let ds = Dataset::open(&a, &inputs).unwrap();
    assert_eq!(ds.num_samples(), 5);
    assert_eq!(
        ds.notes(),
        ["--calib-samples 9: the data holds only 5 samples; using all of them"]
    );
}

#[test]
fn mismatches_name_the_file_and_the_input() {
    let d = tempfile::tempdir().unwrap();
    let first = d.path().join("0000.npy");
    write_npy(&first, &Tensor::from_vec(vec![1, 3, 2, 2], vec![0f64; 12])).unwrap();
    let inputs = [io("x", ScalarType::F32, "batch,3,2,2")];
    assert_eq!(
        open_err(&args(d.path()), &inputs),
        format!(
            "{}: input 'x' expects f32[batch, 3, 2, 2], got f64[1, 3, 2, 2] (the element type \
             differs; nothing is converted, so save the data with the model's element type)",
            first.display()
        )
    );
    write_npy(&first, &f32s(&[1, 3, 2, 2], &[0.0; 12])).unwrap();
    // Later samples are checked as their batch is read.
    let third = d.path().join("0003.npy");
    write_npy(&d.path().join("0002.npy"), &f32s(&[3, 2, 2], &[0.0; 12])).unwrap();
    write_npy(&third, &f32s(&[1, 2, 2, 2], &[0.0; 8])).unwrap();
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    assert_eq!(ds.num_batches(), 3);
    assert!(ds.next_batch().unwrap().is_ok());
    let e = ds.next_batch().unwrap().unwrap_err().to_string();
    assert!(e.ends_with("0002.npy: input 'x' expects f32[batch, 3, 2, 2], got f32[3, 2, 2] (rank 3 instead of 4)"), "{e}");
    let e = ds.next_batch().unwrap().unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: input 'x' expects f32[batch, 3, 2, 2], got f32[1, 2, 2, 2] (dimension 1 is 2, not 3)",
            third.display()
        )
    );
    assert!(ds.next_batch().is_none());
}

#[test]
fn batching_needs_a_batch_dimension_and_equal_shapes() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.npy"), d.path().join("b.npy"));
    write_npy(&a, &f32s(&[1, 2], &[1.0, 2.0])).unwrap();
    write_npy(&b, &f32s(&[1, 3], &[1.0, 2.0, 3.0])).unwrap();
    let mut args2 = args(d.path());
    args2.calib_batch_size = 2;
    let e = open_err(&args2, &[io("x", ScalarType::F32, "1,len")]);
    assert_eq!(
        e,
        "--calib-batch-size 2: input 'x' (f32[1, len]) has a fixed first dimension (1), so samples \
         cannot be concatenated; use --calib-batch-size 1"
    );
    let inputs = [io("x", ScalarType::F32, "N,len")];
    let mut ds = Dataset::open(&args2, &inputs).unwrap();
    assert_eq!(
        batch_err(&mut ds),
        format!(
            "input 'x': samples of different shapes cannot share a batch (f32[1, 2] from {}, f32[1, 3] \
             from {}); use --calib-batch-size 1",
            a.display(),
            b.display()
        )
    );
    // One at a time, shapes may vary.
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    let shapes: Vec<Vec<usize>> = batches(&mut ds)
        .iter()
        .map(|b| b[0].1.shape().to_vec())
        .collect();
    assert_eq!(shapes, [vec![1, 2], vec![1, 3]]);
}

#[test]
fn onnx_test_data_sets() {
    let d = tempfile::tempdir().unwrap();
    let inputs = [io("a", ScalarType::F32, "1"), io("b", ScalarType::I64, "1")];
    let set = |n: usize| {
        let p = d.path().join(format!("test_data_set_{n}"));
        std::fs::create_dir(&p).unwrap();
        p
    };
    // Set 0: an unnamed input_0 feeds input 0; set 10: the names win over the file order.
    let s0 = set(0);
    write_pb(&s0.join("input_0.pb"), "", &f32s(&[1], &[0.5])).unwrap();
    write_pb(
        &s0.join("input_1.pb"),
        "b",
        &Tensor::from_vec(vec![1], vec![7i64]),
    )
    .unwrap();
    write_pb(&s0.join("output_0.pb"), "y", &f32s(&[1], &[9.0])).unwrap();
    let s10 = set(10);
    write_pb(
        &s10.join("input_0.pb"),
        "b",
        &Tensor::from_vec(vec![1], vec![8i64]),
    )
    .unwrap();
    write_pb(&s10.join("input_1.pb"), "a", &f32s(&[1], &[1.5])).unwrap();
    let s2 = set(2);
    write_pb(&s2.join("input_0.pb"), "a", &f32s(&[1], &[2.5])).unwrap();
    write_pb(
        &s2.join("input_1.pb"),
        "",
        &Tensor::from_vec(vec![1], vec![9i64]),
    )
    .unwrap();
    std::fs::write(d.path().join("model.onnx"), "not read").unwrap();
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    assert_eq!(
        ds.describe(),
        format!(
            "3 samples from 3 test_data_set folders in {}",
            d.path().display()
        )
    );
    assert_eq!(
        ds.notes(),
        ["skipped 1 entry that is not calibration samples: model.onnx"]
    );
    let got: Vec<(f32, i64)> = batches(&mut ds)
        .iter()
        .map(|b| (b[0].1.f32s().unwrap()[0], b[1].1.to_i64_vec()[0]))
        .collect();
    assert_eq!(got, [(0.5, 7), (2.5, 9), (1.5, 8)]);

    // One test data set given directly.
    let mut ds = Dataset::open(&args(&s0), &inputs).unwrap();
    assert_eq!(
        ds.describe(),
        format!("1 sample from the test data set {}", s0.display())
    );
    assert_eq!(batches(&mut ds).len(), 1);

    // Two files for one input, and a missing file.
    write_pb(&s2.join("input_1.pb"), "a", &f32s(&[1], &[2.5])).unwrap();
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    assert_eq!(
        batch_err(&mut ds),
        format!(
            "{}: input 'a' is also fed by {}",
            s2.join("input_1.pb").display(),
            s2.join("input_0.pb").display()
        )
    );
    std::fs::remove_file(s2.join("input_1.pb")).unwrap();
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    assert_eq!(
        batch_err(&mut ds),
        format!(
            "{}: 1 input_K.pb file, but the model has 2 inputs ('a', 'b')",
            s2.display()
        )
    );
}

/// An `.npz` like `np.savez_compressed` writes: deflated members.
fn write_compressed_npz(path: &Path, arrays: &[(&str, &Tensor)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, t) in arrays {
        z.start_file(format!("{name}.npy"), opts).unwrap();
        z.write_all(&encode_npy(t)).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn stacked_npz_is_read_a_batch_at_a_time() {
    let d = tempfile::tempdir().unwrap();
    let x = f32s(&[5, 3], &(0..15).map(|v| v as f32).collect::<Vec<_>>());
    let m = Tensor::from_vec(vec![5], vec![1i64, 2, 3, 4, 5]);
    let stored = d.path().join("stored.npz");
    let deflated = d.path().join("deflated.npz");
    write_npz(&stored, &[("m", m.clone()), ("x", x.clone())]).unwrap();
    write_compressed_npz(&deflated, &[("m", &m), ("x", &x)]);
    // x keeps its batch axis (rank 2 = the input's), m loses it (rank 1 = the input's + 1).
    let inputs = [
        io("x", ScalarType::F32, "N,3"),
        io("m", ScalarType::I64, ""),
    ];
    for path in [&stored, &deflated] {
        let mut a = args(path);
        a.calib_batch_size = 1;
        let mut ds = Dataset::open(&a, &inputs).unwrap();
        assert_eq!(ds.num_samples(), 5);
        let b = batches(&mut ds);
        assert_eq!(b.len(), 5);
        assert_eq!(
            b[3][0],
            ("x".to_string(), f32s(&[1, 3], &[9.0, 10.0, 11.0]))
        );
        assert_eq!(b[3][1], ("m".to_string(), Tensor::scalar(4i64)));
    }
    let inputs = [io("x", ScalarType::F32, "N,3")];
    let only_x = d.path().join("x.npz");
    write_compressed_npz(&only_x, &[("x", &x)]);
    let mut a = args(&only_x);
    a.calib_batch_size = 2;
    let mut ds = Dataset::open(&a, &inputs).unwrap();
    assert_eq!(
        ds.describe(),
        format!(
            "5 samples from the stacked arrays of {} ('x' f32[5, 3]), in batches of 2 (3 runs)",
            only_x.display()
        )
    );
    let b = batches(&mut ds);
    assert_eq!(b[0][0].1, f32s(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
    assert_eq!(b[2][0].1, f32s(&[1, 3], &[12.0, 13.0, 14.0]));

    // A stacked .npy, and a Fortran-order one (read whole): element (i, j) at i + 5 * j.
    let npy = d.path().join("x.npy");
    write_npy(&npy, &x).unwrap();
    let mut ds = Dataset::open(&args(&npy), &inputs).unwrap();
    assert_eq!(batches(&mut ds)[4][0].1, f32s(&[1, 3], &[12.0, 13.0, 14.0]));
    let mut fortran = encode_npy(&x);
    let (from, to) = (
        &b"'fortran_order': False"[..],
        &b"'fortran_order': True "[..],
    );
    let at = fortran.windows(from.len()).position(|w| w == from).unwrap();
    fortran[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&npy, &fortran).unwrap();
    let mut ds = Dataset::open(&args(&npy), &inputs).unwrap();
    assert_eq!(batches(&mut ds)[1][0].1, f32s(&[1, 3], &[1.0, 6.0, 11.0]));
}

#[test]
fn stacked_npz_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("calib.npz");
    let x = f32s(&[4, 3], &[0.0; 12]);
    let inputs = [
        io("x", ScalarType::F32, "N,3"),
        io("y", ScalarType::F32, "N,3"),
    ];
    write_npz(&p, &[("x", x.clone()), ("y", f32s(&[3, 3], &[0.0; 9]))]).unwrap();
    assert_eq!(
        open_err(&args(&p), &inputs),
        format!(
            "{0}: the arrays hold different numbers of samples ({0} (array 'x') has 4, {0} (array \
             'y') has 3)",
            p.display()
        )
    );
    write_npz(&p, &[("x", x.clone()), ("z", x.clone())]).unwrap();
    assert!(open_err(&args(&p), &inputs)
        .ends_with("the array 'z' is not a model input (the model's inputs: 'x', 'y')"));
    // Checked from the headers: the type of one sample.
    write_npz(&p, &[("x", x.clone()), ("y", f32s(&[4, 2], &[0.0; 8]))]).unwrap();
    assert_eq!(
        open_err(&args(&p), &inputs),
        format!(
            "{} (array 'y'): input 'y' expects f32[N, 3], got f32[1, 2] (dimension 1 is 2, not 3)",
            p.display()
        )
    );
    write_npz(&p, &[("x", x.clone())]).unwrap();
    assert!(open_err(&args(&p), &[io("x", ScalarType::F32, "N,1,3")]).contains(
        "input 'x' has rank 3, so its stacked array needs rank 3 (samples along an existing batch \
         axis) or 4 (samples along a new first axis), not 2"
    ));
    // A damaged member fails its checksum once read to its end.
    let one = [io("x", ScalarType::F32, "N,3")];
    let big = f32s(&[4, 3], &[7.0; 12]);
    write_npz(&p, &[("x", big)]).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == 7f32.to_le_bytes())
        .unwrap()
        + 40;
    bytes[at] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    let mut ds = Dataset::open(&args(&p), &one).unwrap();
    assert!(batch_err(&mut ds).ends_with(
        "(array 'x'): the data does not match the archive's checksum (a damaged file?)"
    ));
    std::fs::write(&p, b"not a zip").unwrap();
    assert!(open_err(&args(&p), &one).contains("calib.npz': not a .npz (zip) file"));
}

/// A PNG of `w`x`h` RGB pixels given row by row.
fn png(dir: &Path, name: &str, w: u32, h: u32, rgb: &[u8]) -> PathBuf {
    let p = dir.join(name);
    image::RgbImage::from_raw(w, h, rgb.to_vec())
        .unwrap()
        .save(&p)
        .unwrap();
    p
}

/// The pixels of the 2x2 test image: red, green, blue, grey.
const PIXELS: [u8; 12] = [200, 10, 20, 30, 150, 40, 0, 50, 250, 128, 128, 128];

fn one_image(spec: Option<&str>, input: IoInfo) -> Result<Tensor, DataError> {
    let d = tempfile::tempdir().unwrap();
    png(d.path(), "a.png", 2, 2, &PIXELS);
    let mut a = args(d.path());
    a.preprocess = spec.map(String::from);
    let mut ds = Dataset::open(&a, &[input])?;
    ds.next_batch().unwrap().map(|mut b| b.pop().unwrap().1)
}

/// Channel `c` of the 2x2 image in NCHW order.
fn plane(t: &Tensor, c: usize) -> Vec<f32> {
    t.f32s().unwrap()[c * 4..c * 4 + 4].to_vec()
}

#[test]
fn image_presets_by_hand() {
    let nchw = || io("x", ScalarType::F32, "1,3,2,2");
    // default: RGB / 255.
    let t = one_image(None, nchw()).unwrap();
    assert_eq!(t.shape(), [1, 3, 2, 2]);
    assert!(close(
        &plane(&t, 0),
        &[200.0 / 255.0, 30.0 / 255.0, 0.0, 128.0 / 255.0]
    ));
    // pytorch: (x/255 - mean) / std, RGB; crop 2x2 and resize of the shorter side to
    // round(2 * 8/7) = 2 leave the image as it is.
    let t = one_image(Some("pytorch"), nchw()).unwrap();
    let red = [200.0, 30.0, 0.0, 128.0].map(|p: f32| (p / 255.0 - 0.485) / 0.229);
    let blue = [20.0, 40.0, 250.0, 128.0].map(|p: f32| (p / 255.0 - 0.406) / 0.225);
    assert!(close(&plane(&t, 0), &red), "{:?}", plane(&t, 0));
    assert!(close(&plane(&t, 2), &blue));
    // mxnet: the same normalisation, channels out as B, G, R.
    let t = one_image(Some("mxnet"), nchw()).unwrap();
    assert!(close(&plane(&t, 0), &blue));
    assert!(close(&plane(&t, 2), &red));
    // caffe: (x - mean) * 0.017, BGR; caffe2: x - mean, BGR.
    let t = one_image(Some("caffe"), nchw()).unwrap();
    let b = [20.0, 40.0, 250.0, 128.0].map(|p: f32| (p - 103.94) * 0.017);
    assert!(close(&plane(&t, 0), &b), "{:?}", plane(&t, 0));
    let t = one_image(Some("caffe2"), nchw()).unwrap();
    assert!(close(
        &plane(&t, 2),
        &[200.0 - 123.68, 30.0 - 123.68, -123.68, 128.0 - 123.68]
    ));
    let t = one_image(Some("inception"), nchw()).unwrap();
    assert!(close(
        &plane(&t, 1),
        &[
            10.0 / 127.5 - 1.0,
            150.0 / 127.5 - 1.0,
            50.0 / 127.5 - 1.0,
            128.0 / 127.5 - 1.0
        ]
    ));
    // A spec of keys: std and mean per channel, in output (BGR) order.
    let t = one_image(Some("order=bgr,scale=1,mean=1:2:3,std=2"), nchw()).unwrap();
    assert!(close(&plane(&t, 0), &[9.5, 19.5, 124.5, 63.5]));
    assert!(close(&plane(&t, 2), &[98.5, 13.5, -1.5, 62.5]));
    // NHWC, guessed from the shape: pixel (0, 1) is green-ish [30, 150, 40].
    let t = one_image(None, io("x", ScalarType::F32, "1,2,2,3")).unwrap();
    assert!(close(
        &t.f32s().unwrap()[3..6],
        &[30.0 / 255.0, 150.0 / 255.0, 40.0 / 255.0]
    ));
    // u8 inputs take the pixels; CHW without a batch axis.
    let t = one_image(Some("order=bgr"), io("x", ScalarType::U8, "3,2,2")).unwrap();
    assert_eq!(t.shape(), [3, 2, 2]);
    assert_eq!(t.as_slice::<u8>().unwrap()[..4], [20, 40, 250, 128]);
    // One channel: luma (ITU-R BT.709, as the image crate computes it).
    let t = one_image(None, io("x", ScalarType::F32, "1,1,2,2")).unwrap();
    assert_eq!(t.shape(), [1, 1, 2, 2]);
    assert!(close(&t.f32s().unwrap()[3..], &[128.0 / 255.0]));
}

#[test]
fn image_resize_and_crop() {
    let d = tempfile::tempdir().unwrap();
    // 5x5 with pixel value 10 * row + column in every channel.
    let px: Vec<u8> = (0..25u8).flat_map(|i| [10 * (i / 5) + i % 5; 3]).collect();
    png(d.path(), "a.png", 5, 5, &px);
    let free = io("x", ScalarType::U8, "1,3,h,w");
    let mut a = args(d.path());
    // An odd margin (3) rounds half to even: the window starts at row and column 2.
    a.preprocess = Some("crop=2".into());
    let mut ds = Dataset::open(&a, std::slice::from_ref(&free)).unwrap();
    let t = ds.next_batch().unwrap().unwrap().pop().unwrap().1;
    assert_eq!(t.shape(), [1, 3, 2, 2]);
    assert_eq!(t.as_slice::<u8>().unwrap()[..4], [22, 23, 32, 33]);
    // A crop larger than the image pads with zeros, (7 - 5) / 2 = 1 before.
    a.preprocess = Some("crop=7".into());
    let mut ds = Dataset::open(&a, std::slice::from_ref(&free)).unwrap();
    let t = ds.next_batch().unwrap().unwrap().pop().unwrap().1;
    let v = t.as_slice::<u8>().unwrap();
    assert_eq!((v[0], v[8], v[7 * 7 - 1]), (0, 0, 0));
    assert_eq!(
        v[7 + 1],
        0,
        "row 1 starts with the first image row at column 1"
    );
    assert_eq!(&v[7 + 1..7 + 6], [0, 1, 2, 3, 4]);
    // The shorter side to 4 keeps the aspect ratio (8x6 -> 5x4, truncated); a flat image stays flat.
    let d2 = tempfile::tempdir().unwrap();
    png(d2.path(), "flat.png", 8, 6, &[90u8; 8 * 6 * 3]);
    let mut a = args(d2.path());
    a.preprocess = Some("resize=4".into());
    let mut ds = Dataset::open(&a, std::slice::from_ref(&free)).unwrap();
    let t = ds.next_batch().unwrap().unwrap().pop().unwrap().1;
    assert_eq!(t.shape(), [1, 3, 4, 5]);
    assert!(t.as_slice::<u8>().unwrap().iter().all(|&p| p == 90));
    // The default resizes to the model's size.
    let mut ds = Dataset::open(&args(d2.path()), &[io("x", ScalarType::F32, "1,3,3,3")]).unwrap();
    let t = ds.next_batch().unwrap().unwrap().pop().unwrap().1;
    assert_eq!(t.shape(), [1, 3, 3, 3]);
    assert!(close(t.f32s().unwrap(), &[90.0 / 255.0; 27]));
    // Without a resize, sizes differ: one at a time works, a batch does not.
    png(d2.path(), "small.png", 2, 2, &PIXELS);
    let mut a = args(d2.path());
    a.preprocess = Some("resize=none".into());
    let any = io("x", ScalarType::F32, "N,3,h,w");
    let mut ds = Dataset::open(&a, std::slice::from_ref(&any)).unwrap();
    assert_eq!(batches(&mut ds).len(), 2);
    a.calib_batch_size = 2;
    let mut ds = Dataset::open(&a, &[any]).unwrap();
    assert!(batch_err(&mut ds).contains("samples of different shapes cannot share a batch"));
}

#[test]
fn preprocess_errors() {
    let nchw = || io("x", ScalarType::F32, "1,3,2,2");
    let e = one_image(Some("pytorch,size=3"), nchw())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--preprocess 'pytorch,size=3': unknown key 'size' (presets: default, pytorch, \
         imagenet-pytorch, mxnet, caffe, caffe2, rcnn, inception; keys: resize, crop, layout, order, \
         mean, std, scale, filter)"
    );
    let e = one_image(Some("tensorflow"), nchw())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--preprocess 'tensorflow': unknown preset 'tensorflow' (presets: default")
    );
    let e = one_image(Some("crop=2,pytorch"), nchw())
        .unwrap_err()
        .to_string();
    assert!(e.contains("the preset ('pytorch') comes first"), "{e}");
    let e = one_image(Some("resize=big"), nchw())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--preprocess 'resize=big': resize=big: expected N (the shorter side), HxW or none"
    );
    let e = one_image(Some("std=0"), nchw()).unwrap_err().to_string();
    assert!(e.ends_with("std=0: expected non-zero numbers"), "{e}");
    let e = one_image(Some("mean=1:2"), nchw()).unwrap_err().to_string();
    assert_eq!(
        e,
        "--preprocess 'mean=1:2': mean has 2 values, but input 'x' (f32[1, 3, 2, 2]) has 3 channels"
    );
    let e = one_image(Some("pytorch"), io("x", ScalarType::U8, "1,3,2,2"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "takes raw u8 pixels, so mean, std, scale and presets that normalise do not apply"
        ),
        "{e}"
    );
    let e = one_image(None, io("x", ScalarType::F32, "1,4,2,2"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "input 'x' (f32[1, 4, 2, 2]) has 4 channels in NCHW layout; images give 1 or 3"
        ),
        "{e}"
    );
    let e = one_image(None, io("x", ScalarType::I64, "1,3,2,2"))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("cannot take images: images become float or u8 tensors"),
        "{e}"
    );
    // A model with two inputs.
    let d = tempfile::tempdir().unwrap();
    png(d.path(), "a.png", 2, 2, &PIXELS);
    let e = open_err(&args(d.path()), &[nchw(), io("y", ScalarType::F32, "1")]);
    assert!(e.ends_with("images feed a model with one input, and this one has 2 ('x', 'y'); give .npz samples instead"), "{e}");
    // --preprocess on tensor data.
    let d2 = tempfile::tempdir().unwrap();
    write_npy(&d2.path().join("0.npy"), &f32s(&[1, 3, 2, 2], &[0.0; 12])).unwrap();
    let mut a = args(d2.path());
    a.preprocess = Some("pytorch".into());
    assert!(open_err(&a, &[nchw()]).contains("--preprocess applies to a folder of images"));
}

#[test]
fn unreadable_images() {
    let d = tempfile::tempdir().unwrap();
    png(d.path(), "1.png", 2, 2, &PIXELS);
    let bad = d.path().join("2.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let inputs = [io("x", ScalarType::F32, "1,3,2,2")];
    let mut ds = Dataset::open(&args(d.path()), &inputs).unwrap();
    assert!(ds.next_batch().unwrap().is_ok());
    let e = ds.next_batch().unwrap().unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: cannot decode the image: ", bad.display())),
        "{e}"
    );
    // The first image is read when the data is opened.
    std::fs::remove_file(d.path().join("1.png")).unwrap();
    assert!(open_err(&args(d.path()), &inputs).contains("cannot decode the image"));
    // Grey images become RGB.
    let d2 = tempfile::tempdir().unwrap();
    image::GrayImage::from_raw(2, 2, vec![0, 60, 120, 255])
        .unwrap()
        .save(d2.path().join("g.png"))
        .unwrap();
    let mut ds = Dataset::open(&args(d2.path()), &inputs).unwrap();
    let t = ds.next_batch().unwrap().unwrap().pop().unwrap().1;
    assert_eq!(plane(&t, 0), plane(&t, 2));
    assert!(close(
        &plane(&t, 1),
        &[0.0, 60.0 / 255.0, 120.0 / 255.0, 1.0]
    ));
}

#[test]
fn random_data() {
    let inputs = [
        io("pixels", ScalarType::F32, "batch,3,H,W"),
        io("ids", ScalarType::I64, "batch,seq"),
        io("raw", ScalarType::U8, "?,4"),
        io("flag", ScalarType::Bool, ""),
    ];
    let mut a = CalibDataArgs::new("random");
    a.calib_dims = vec!["H=8".into()];
    let mut ds = Dataset::open(&a, &inputs).unwrap();
    assert_eq!(ds.num_samples(), DEFAULT_RANDOM_SAMPLES);
    assert_eq!(
        ds.describe(),
        "8 samples from random normal data (seed 0; 'pixels' f32[1, 3, 8, 32], 'ids' i64[1, 32], \
         'raw' u8[1, 4], 'flag' bool[])"
    );
    let all = batches(&mut ds);
    assert_eq!(all.len(), 8);
    let ids = all[0][1].1.to_i64_vec();
    assert!(ids.iter().all(|&v| v == 0 || v == 1) && ids.contains(&1) && ids.contains(&0));
    // Normal values: mean near 0, variance near 1 over the 8 * 768 values.
    let v: Vec<f64> = all.iter().flat_map(|b| b[0].1.to_f64_vec()).collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!(
        mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
        "{mean} {var}"
    );
    // Seeded: the same seed gives the same data, whatever the batch size; another seed does not.
    a.calib_batch_size = 4;
    let mut ds = Dataset::open(&a, &inputs[..2]).unwrap();
    let b = batches(&mut ds);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0][0].1.shape(), [4, 3, 8, 32]);
    assert_eq!(
        b[1][0].1.f32s().unwrap()[..768],
        *all[4][0].1.f32s().unwrap()
    );
    a.calib_seed = 1;
    let mut ds = Dataset::open(&a, &inputs[..2]).unwrap();
    assert_ne!(
        batches(&mut ds)[0][0].1.f32s().unwrap()[..768],
        *all[0][0].1.f32s().unwrap()
    );
    // Uniform values lie in [0, 1).
    let mut u = CalibDataArgs::new("random-uniform");
    u.calib_samples = Some(2);
    let mut ds = Dataset::open(&u, &inputs[..1]).unwrap();
    assert_eq!(ds.num_samples(), 2);
    let v = batches(&mut ds)[1][0].1.to_f64_vec();
    assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
    // Unknown dimension names and shapes.
    a.calib_batch_size = 1;
    a.calib_dims = vec!["h=8".into()];
    assert_eq!(
        open_err(&a, &inputs),
        "--calib-dims h=..: the model's inputs have no dimension named 'h' (their symbolic \
         dimensions: 'batch', 'H', 'W', 'seq')"
    );
    a.calib_dims = vec!["H".into()];
    assert!(open_err(&a, &inputs).contains("expected NAME=N"));
    let unranked = IoInfo {
        name: "u".into(),
        ty: Type::Tensor(TensorType {
            elem: ScalarType::F32.into(),
            shape: None,
        }),
    };
    assert!(open_err(&CalibDataArgs::new("random"), &[unranked]).contains("declares no shape"));
}

#[test]
fn missing_and_empty_data() {
    let inputs = [io("x", ScalarType::F32, "1")];
    assert!(open_err(&CalibDataArgs::default(), &inputs)
        .starts_with("no calibration data: give --calib-data PATH"));
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("nope");
    assert!(open_err(&args(&missing), &inputs).starts_with(&format!(
        "--calib-data {}: cannot read it: ",
        missing.display()
    )));
    assert_eq!(
        open_err(&args(d.path()), &inputs),
        format!(
            "--calib-data {}: the folder has no calibration samples (expected .npy/.npz files, \
             test_data_set_N folders of input_K.pb, or .jpg/.png/.bmp images)",
            d.path().display()
        )
    );
    png(d.path(), "a.png", 2, 2, &PIXELS);
    write_npy(&d.path().join("a.npy"), &f32s(&[1], &[0.0])).unwrap();
    assert!(open_err(&args(d.path()), &inputs)
        .ends_with("the folder mixes tensor files (1) and images (1); keep one kind per folder"));
    // A corrupt .npy: the first sample is read when the data is opened.
    std::fs::remove_file(d.path().join("a.png")).unwrap();
    std::fs::write(d.path().join("a.npy"), b"garbage").unwrap();
    assert!(open_err(&args(d.path()), &inputs).contains("a.npy': not a .npy file"));
    let txt = d.path().join("x.txt");
    std::fs::write(&txt, "").unwrap();
    assert!(
        open_err(&args(&txt), &inputs).contains("a file must be an .npz or .npy of stacked arrays")
    );
}

#[test]
fn image_pipelines_describe_themselves() {
    let d = tempfile::tempdir().unwrap();
    png(d.path(), "a.png", 2, 2, &PIXELS);
    let inputs = [io("x", ScalarType::F32, "N,3,224,224")];
    let describe = |spec: Option<&str>| {
        let mut a = args(d.path());
        a.preprocess = spec.map(String::from);
        let ds = Dataset::open(&a, &inputs).unwrap();
        ds.describe()
            .split_once("preprocessed as ")
            .unwrap()
            .1
            .to_string()
    };
    assert_eq!(
        describe(Some("pytorch")),
        "'pytorch': shorter side to 256 (bilinear), centre crop 224x224, RGB, (x/255 - \
         0.485:0.456:0.406) / 0.229:0.224:0.225, NCHW f32"
    );
    assert_eq!(
        describe(None),
        "'default': resize to 224x224 (bilinear), RGB, x/255, NCHW f32"
    );
    assert_eq!(
        describe(Some("caffe,filter=nearest")),
        "'caffe,filter=nearest': resize to 224x224 (nearest), BGR, (x - 103.94:116.78:123.68) / \
         58.823529:58.823529:58.823529, NCHW f32"
    );
}

#[test]
fn command_line_options() {
    use clap::Parser;
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        data: CalibDataArgs,
    }
    let cli = Cli::try_parse_from(["onnxqc", "--calib-data", "random"]).unwrap();
    assert_eq!(cli.data.calib_batch_size, 1);
    assert_eq!(
        cli.data.calib_batch_size,
        CalibDataArgs::default().calib_batch_size
    );
    let cli = Cli::try_parse_from([
        "onnxqc",
        "--calib-data",
        "imgs",
        "--calib-samples",
        "16",
        "--calib-batch-size",
        "4",
        "--preprocess",
        "pytorch",
        "--calib-seed",
        "7",
        "--calib-dims",
        "H=8,W=9",
        "--calib-dims",
        "seq=3",
    ])
    .unwrap();
    let d = cli.data;
    assert_eq!(d.calib_data.as_deref(), Some(Path::new("imgs")));
    assert_eq!(
        (d.calib_samples, d.calib_batch_size, d.calib_seed),
        (Some(16), 4, 7)
    );
    assert_eq!(d.preprocess.as_deref(), Some("pytorch"));
    assert_eq!(d.calib_dims, ["H=8", "W=9", "seq=3"]);
    for bad in [["--calib-batch-size", "0"], ["--calib-samples", "x"]] {
        let e = Cli::try_parse_from(["onnxqc", bad[0], bad[1]]).unwrap_err();
        assert!(e.to_string().contains("expected a positive integer"), "{e}");
    }
}
