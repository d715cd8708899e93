//! `.npy` and `.npz` files written by numpy itself (runtime/tests/data/npy, made by
//! `make_npy_fixtures.py`): every dtype, both byte orders, Fortran order, format versions 1 to 3,
//! stored and deflated archives. Re-encoding a C-order little-endian file must give numpy's bytes
//! back exactly, which checks reading and writing at once.

use std::path::{Path, PathBuf};

use half::{bf16, f16};
use onnxqc_runtime::io::npy::{decode_npy, encode_npy};
use onnxqc_runtime::io::{read_npy, read_npz, read_tensor_file, write_npz};
use onnxqc_runtime::{DType, Tensor};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(name)
}

/// The fixtures' base values, [[-3, -1.5, 0], [1, 2.5, 100]], as numpy casts them to `dtype`.
fn base(dtype: DType) -> Tensor {
    let v = [-3.0f64, -1.5, 0.0, 1.0, 2.5, 100.0];
    let v: Vec<f64> = match dtype {
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => v.iter().map(|x| x.abs()).collect(),
        _ => v.to_vec(),
    };
    Tensor::from_vec(vec![2, 3], v).cast(dtype)
}

#[test]
fn every_dtype_reads_and_re_encodes_to_numpys_bytes() {
    for (code, dtype) in [
        ("f2", DType::F16),
        ("f4", DType::F32),
        ("f8", DType::F64),
        ("i1", DType::I8),
        ("i2", DType::I16),
        ("i4", DType::I32),
        ("i8", DType::I64),
        ("u1", DType::U8),
        ("u2", DType::U16),
        ("u4", DType::U32),
        ("u8", DType::U64),
        ("b1", DType::Bool),
        ("bf16", DType::BF16),
    ] {
        let path = data(&format!("{code}.npy"));
        let bytes = std::fs::read(&path).unwrap();
        let t = read_npy(&path).unwrap();
        assert_eq!(t, base(dtype), "{code}");
        assert_eq!(
            encode_npy(&t),
            bytes,
            "{code}: our bytes differ from np.save's"
        );
    }
    let f = read_npy(&data("f2.npy")).unwrap();
    assert_eq!(f.as_slice::<f16>().unwrap()[1], f16::from_f32(-1.5));
    let b = read_npy(&data("bf16.npy")).unwrap();
    assert_eq!(b.as_slice::<bf16>().unwrap()[5], bf16::from_f32(100.0));
}

#[test]
fn shapes_byte_orders_memory_orders_and_versions() {
    for name in ["scalar_f8", "vec_i8", "empty_f4", "c_f4_3d"] {
        let path = data(&format!("{name}.npy"));
        let t = read_npy(&path).unwrap();
        assert_eq!(encode_npy(&t), std::fs::read(&path).unwrap(), "{name}");
    }
    assert_eq!(
        read_npy(&data("scalar_f8.npy")).unwrap(),
        Tensor::scalar(-0.25f64)
    );
    assert_eq!(
        read_npy(&data("vec_i8.npy")).unwrap(),
        Tensor::from_vec(vec![5], vec![-2i64, -1, 0, 1, 2])
    );
    assert_eq!(read_npy(&data("empty_f4.npy")).unwrap().shape(), &[0, 3]);
    assert_eq!(read_npy(&data("be_i4.npy")).unwrap(), base(DType::I32));
    assert_eq!(read_npy(&data("be_f8.npy")).unwrap(), base(DType::F64));
    let c = read_npy(&data("c_f4_3d.npy")).unwrap();
    assert_eq!(c.shape(), &[2, 3, 4]);
    assert_eq!(c.f32s().unwrap()[5], 5.0 * 0.5 - 3.0);
    assert_eq!(read_npy(&data("fortran_f4_3d.npy")).unwrap(), c);
    for v in ["v2_f4", "v3_f4"] {
        assert_eq!(
            read_npy(&data(&format!("{v}.npy"))).unwrap(),
            base(DType::F32),
            "{v}"
        );
    }
}

#[test]
fn unsupported_arrays_are_errors_naming_the_file() {
    for (name, want) in [
        (
            "object",
            "object.npy': unsupported dtype '|O': object arrays hold Python objects, not numbers",
        ),
        (
            "strings",
            "strings.npy': unsupported dtype '<U2': string arrays are not supported",
        ),
        (
            "complex",
            "complex.npy': unsupported dtype '<c8': complex numbers are not supported",
        ),
    ] {
        let e = read_npy(&data(&format!("{name}.npy")))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with(want), "{e}");
    }
    let e = read_npy(&data("nope.npy")).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot read '") && e.contains("nope.npy'"),
        "{e}"
    );
}

#[test]
fn stored_and_deflated_archives() {
    let want = |archive: &[(String, Tensor)]| {
        let names: Vec<&str> = archive.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "idx", "mask", "big"]);
        assert_eq!(archive[0].1, base(DType::F32));
        assert_eq!(
            archive[1].1,
            Tensor::from_vec(vec![5], vec![-2i64, -1, 0, 1, 2])
        );
        assert_eq!(archive[2].1, base(DType::Bool));
        let big = archive[3].1.f32s().unwrap();
        assert_eq!(big.len(), 2000);
        assert!(big.iter().enumerate().all(|(i, &x)| x == (i % 100) as f32));
    };
    let stored = read_npz(&data("stored.npz")).unwrap();
    want(&stored);
    let deflated = read_npz(&data("deflated.npz")).unwrap();
    want(&deflated);
    assert_eq!(read_tensor_file(&data("deflated.npz")).unwrap(), stored);

    // Our archive of the same arrays reads back the same, and its members are numpy's bytes.
    let dir = std::env::temp_dir().join(format!("onnxqc-npy-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.npz");
    write_npz(&ours, &stored).unwrap();
    assert_eq!(read_npz(&ours).unwrap(), stored);
    for (_, t) in &stored {
        assert_eq!(decode_npy(&encode_npy(t)).unwrap(), *t);
    }
}

#[test]
fn read_tensor_file_dispatches_on_the_extension() {
    let got = read_tensor_file(&data("vec_i8.npy")).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "vec_i8");
    let e = read_tensor_file(Path::new("inputs.txt"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "'inputs.txt': unknown tensor file type (expected .npy, .npz or .pb)"
    );
    // TensorProto files: named by the proto, or by the file stem when unnamed.
    let dir = std::env::temp_dir().join(format!("onnxqc-npy-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = base(DType::F32);
    onnxqc_runtime::io::write_pb(&dir.join("input_0.pb"), "x", &t).unwrap();
    onnxqc_runtime::io::write_pb(&dir.join("unnamed.PB"), "", &t).unwrap();
    assert_eq!(
        read_tensor_file(&dir.join("input_0.pb")).unwrap(),
        vec![("x".to_string(), t.clone())]
    );
    assert_eq!(
        read_tensor_file(&dir.join("unnamed.PB")).unwrap(),
        vec![("unnamed".to_string(), t)]
    );
}
