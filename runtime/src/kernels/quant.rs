//! Kernels of onnxqc's own `qc.*` dialect. Today `qc.observe`, which the `calibrate` pass inserts: it
//! returns its operand unchanged (no copy) and hands it to the run's observer under the key in its
//! `tensor` attribute, so calibration sees every observed tensor the moment it is computed, including
//! inside `If`/`Loop`/`Scan` bodies, and keeps nothing once the step is over.

use super::{input, kernel, BuildCtx, Registry};
use crate::error::Result;
use crate::kernels::Kernel;

pub fn register(r: &mut Registry) {
    r.add(onnxqc_quant::OBSERVE, build_observe);
}

fn build_observe(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let key = b.attr_str("tensor", "")?;
    let key = if key.is_empty() {
        b.name().to_string()
    } else {
        key
    };
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        ctx.observe(&key, x);
        Ok(vec![x.clone()])
    }))
}
