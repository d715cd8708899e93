//! NumPy `.npz` archives: a zip file of `.npy` members, as `np.savez` (stored) and
//! `np.savez_compressed` (deflated) write them. Member `name.npy` holds the array `name`.
//!
//! Archives are written stored (uncompressed), as `np.savez` does: tensors rarely compress well, and
//! it keeps writing as fast as copying.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{Result, RuntimeError};
use crate::io::npy::{npy_len, read_npy_from, write_npy_to};
use crate::tensor::Tensor;

fn zip_error(e: ZipError) -> String {
    match e {
        // ZipError's own text for I/O errors is just "i/o error".
        ZipError::Io(e) => e.to_string(),
        e => e.to_string(),
    }
}

/// Reads every array of a `.npz` file, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| RuntimeError::new(format!("cannot read '{shown}': {e}")))?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(|e| {
        RuntimeError::new(format!(
            "'{shown}': not a .npz (zip) file: {}",
            zip_error(e)
        ))
    })?;
    let mut out: Vec<(String, Tensor)> = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let member = archive.name_for_index(i).unwrap_or_default().to_string();
        let at = |e: String| RuntimeError::new(format!("'{shown}': member '{member}': {e}"));
        if member.ends_with('/') {
            continue;
        }
        let Some(name) = member.strip_suffix(".npy") else {
            return Err(at(
                "not a .npy array (a .npz holds only NAME.npy members)".into()
            ));
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(at("appears twice".into()));
        }
        let mut f = archive.by_index(i).map_err(|e| at(zip_error(e)))?;
        let size = f.size();
        let t = read_npy_from(&mut f, Some(size)).map_err(|e| at(e.to_string()))?;
        out.push((name.to_string(), t));
    }
    Ok(out)
}

/// Writes tensors as a `.npz` file (stored members `NAME.npy`, in the given order), atomically.
pub fn write_npz<S: AsRef<str>>(path: &Path, tensors: &[(S, Tensor)]) -> Result<()> {
    for (i, (name, _)) in tensors.iter().enumerate() {
        let name = name.as_ref();
        crate::ensure!(
            !tensors[..i].iter().any(|(n, _)| n.as_ref() == name),
            "cannot write '{}': the array name '{name}' is given twice",
            path.display()
        );
    }
    crate::io::write_atomically_with(path, |file| {
        let mut zip = ZipWriter::new(BufWriter::new(file));
        for (name, t) in tensors {
            let opts = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(npy_len(t) >= u32::MAX as u64);
            zip.start_file(format!("{}.npy", name.as_ref()), opts)
                .map_err(|e| std::io::Error::other(zip_error(e)))?;
            write_npy_to(&mut zip, t)?;
        }
        zip.finish()
            .map_err(|e| std::io::Error::other(zip_error(e)))?
            .flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::DType;

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("onnxqc-npz-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn round_trip_in_order() {
        let p = temp("rt.npz");
        let tensors = vec![
            ("z".to_string(), Tensor::from_vec(vec![2], vec![1f32, -2.0])),
            ("a/b".to_string(), Tensor::scalar(7i64)),
            ("empty".to_string(), Tensor::zeros(DType::Bool, vec![0, 3])),
        ];
        write_npz(&p, &tensors).unwrap();
        assert_eq!(read_npz(&p).unwrap(), tensors);
        let dup = [("x", Tensor::scalar(1u8)), ("x", Tensor::scalar(2u8))];
        assert!(write_npz(&p, &dup)
            .unwrap_err()
            .to_string()
            .contains("'x' is given twice"));
        assert_eq!(
            read_npz(&p).unwrap(),
            tensors,
            "a failed write changes nothing"
        );
    }

    #[test]
    fn errors_name_the_file_and_member() {
        let p = temp("bad.npz");
        std::fs::write(&p, b"not a zip").unwrap();
        let e = read_npz(&p).unwrap_err().to_string();
        assert!(e.contains("bad.npz': not a .npz (zip) file"), "{e}");
        let e = read_npz(&temp("missing.npz")).unwrap_err().to_string();
        assert!(
            e.contains("cannot read") && e.contains("missing.npz"),
            "{e}"
        );
        // A member that is not an array, and one whose .npy is broken.
        for (member, content, want) in [
            (
                "notes.txt",
                &b"hi"[..],
                "member 'notes.txt': not a .npy array",
            ),
            (
                "x.npy",
                &b"\x93NUMPY\x01\x00"[..],
                "member 'x.npy': the .npy header is cut short",
            ),
        ] {
            let f = std::fs::File::create(&p).unwrap();
            let mut z = ZipWriter::new(f);
            z.start_file(member, SimpleFileOptions::default()).unwrap();
            z.write_all(content).unwrap();
            z.finish().unwrap();
            let e = read_npz(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        // A damaged member fails its checksum.
        let good = temp("good.npz");
        let t = Tensor::from_vec(vec![64], vec![7u8; 64]);
        write_npz(&good, &[("a", t)]).unwrap();
        let mut bytes = std::fs::read(&good).unwrap();
        let at = bytes.windows(4).position(|w| w == [7, 7, 7, 7]).unwrap();
        bytes[at] = 8;
        std::fs::write(&p, &bytes).unwrap();
        let e = read_npz(&p).unwrap_err().to_string();
        assert!(e.ends_with("member 'a.npy': Invalid checksum"), "{e}");
        // Every cut of a valid archive is an error, never a panic.
        let good = temp("good.npz");
        write_npz(
            &good,
            &[("a", Tensor::from_vec(vec![3], vec![1f64, 2.0, 3.0]))],
        )
        .unwrap();
        let bytes = std::fs::read(&good).unwrap();
        for n in (0..bytes.len()).step_by(7) {
            std::fs::write(&p, &bytes[..n]).unwrap();
            assert!(read_npz(&p).is_err(), "prefix {n}");
        }
    }
}
