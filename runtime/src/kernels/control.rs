//! Control flow: `If`, `Loop` and `Scan`. Their sub-graphs are compiled into nested [`Plan`]s when the
//! op's kernel is built; the outer values a sub-graph reads arrive after the op's operands and are
//! passed on to the nested plan after its own arguments.

use crate::error::Result;
use crate::kernels::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::plan::{Plan, RunCtx};
use crate::tensor::{norm_axis, numel, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.If", build_if);
    r.add("onnx.Loop", build_loop);
    r.add("onnx.Scan", build_scan);
}

fn captured(inputs: &[Option<&Tensor>], operands: usize) -> Vec<Option<Tensor>> {
    inputs[operands.min(inputs.len())..]
        .iter()
        .map(|t| t.cloned())
        .collect()
}

/// A boolean condition from a one-element tensor of any numeric type.
fn truth(t: &Tensor, what: &str) -> Result<bool> {
    ensure!(
        t.len() == 1,
        "{what} must hold one element, got shape {:?}",
        t.shape()
    );
    Ok(t.to_f64_vec()[0] != 0.0)
}

struct If {
    then_plan: Plan,
    else_plan: Plan,
}

fn build_if(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(Box::new(If {
        then_plan: ctx.compile_graph_attr("then_branch")?,
        else_plan: ctx.compile_graph_attr("else_branch")?,
    }))
}

impl Kernel for If {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let cond = truth(input(inputs, 0)?, "the condition")?;
        let plan = if cond {
            &self.then_plan
        } else {
            &self.else_plan
        };
        plan.run(ctx, captured(inputs, 1))
            .map_err(|e| e.context(if cond { "then_branch" } else { "else_branch" }))
    }
}

struct Loop {
    body: Plan,
    /// Operands of the op: M, cond, then the loop-carried initial values.
    operands: usize,
}

fn build_loop(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let body = ctx.compile_graph_attr("body")?;
    let operands = ctx.num_inputs();
    ensure!(
        operands >= 2,
        "Loop needs the M and cond inputs (possibly empty)"
    );
    let carried = operands - 2;
    ensure!(
        body.num_inputs() >= 2 + carried,
        "the body takes {} inputs, but the loop carries {carried} values (plus iteration number and condition)",
        body.num_inputs()
    );
    ensure!(
        body.num_outputs() > carried,
        "the body returns {} values, but needs the condition and {carried} loop-carried values",
        body.num_outputs()
    );
    Ok(Box::new(Loop { body, operands }))
}

impl Kernel for Loop {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let max_trips = match opt_input(inputs, 0) {
            Some(m) => {
                ensure!(m.len() == 1, "M must hold one element");
                Some(m.to_i64_vec()[0])
            }
            None => None,
        };
        let mut cond = match opt_input(inputs, 1) {
            Some(c) => truth(c, "cond")?,
            None => true,
        };
        let carried_n = self.operands - 2;
        let mut carried: Vec<Tensor> = (0..carried_n)
            .map(|i| input(inputs, 2 + i).cloned())
            .collect::<Result<_>>()?;
        let captures = captured(inputs, self.operands);
        let scan_n = self.body.num_outputs() - 1 - carried_n;
        let mut scans: Vec<Vec<Tensor>> = vec![vec![]; scan_n];
        let mut i = 0i64;
        while cond && max_trips.is_none_or(|m| i < m) {
            let mut args: Vec<Option<Tensor>> = Vec::with_capacity(2 + carried_n + captures.len());
            args.push(Some(Tensor::scalar(i)));
            args.push(Some(Tensor::scalar(cond)));
            args.extend(carried.drain(..).map(Some));
            args.extend(captures.iter().cloned());
            let mut outs = self
                .body
                .run(ctx, args)
                .map_err(|e| e.context(format!("loop body, iteration {i}")))?;
            let rest = outs.split_off(1 + carried_n);
            cond = truth(&outs[0], "the body's condition output")?;
            carried = outs.split_off(1);
            for (s, t) in scans.iter_mut().zip(rest) {
                s.push(t);
            }
            i += 1;
        }
        let mut results = carried;
        for s in scans {
            results.push(stack(&s, 0)?);
        }
        Ok(results)
    }
}

struct Scan {
    body: Plan,
    states: usize,
    scan_inputs: usize,
    input_axes: Vec<i64>,
    input_reverse: Vec<bool>,
    output_axes: Vec<i64>,
    output_reverse: Vec<bool>,
    operands: usize,
}

fn build_scan(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let body = ctx.compile_graph_attr("body")?;
    let operands = ctx.num_inputs();
    let scan_inputs = ctx
        .attr_int_opt("num_scan_inputs")?
        .ok_or_else(|| crate::RuntimeError::new("missing attribute 'num_scan_inputs'"))?;
    ensure!(
        scan_inputs >= 1 && (scan_inputs as usize) <= operands,
        "num_scan_inputs = {scan_inputs} does not fit {operands} inputs"
    );
    let scan_inputs = scan_inputs as usize;
    let states = operands - scan_inputs;
    ensure!(
        body.num_outputs() >= states,
        "the body returns {} values, fewer than the {states} states",
        body.num_outputs()
    );
    let scan_outputs = body.num_outputs() - states;
    let dirs = |name: &str, n: usize| -> Result<Vec<bool>> {
        let v = ctx.attr_ints(name)?.unwrap_or_else(|| vec![0; n]);
        ensure!(
            v.len() == n,
            "'{name}' has {} entries, expected {n}",
            v.len()
        );
        Ok(v.iter().map(|&d| d != 0).collect())
    };
    let axes = |name: &str, n: usize| -> Result<Vec<i64>> {
        let v = ctx.attr_ints(name)?.unwrap_or_else(|| vec![0; n]);
        ensure!(
            v.len() == n,
            "'{name}' has {} entries, expected {n}",
            v.len()
        );
        Ok(v)
    };
    Ok(Box::new(Scan {
        input_reverse: dirs("scan_input_directions", scan_inputs)?,
        output_reverse: dirs("scan_output_directions", scan_outputs)?,
        input_axes: axes("scan_input_axes", scan_inputs)?,
        output_axes: axes("scan_output_axes", scan_outputs)?,
        body,
        states,
        scan_inputs,
        operands,
    }))
}

impl Kernel for Scan {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let mut states: Vec<Tensor> = (0..self.states)
            .map(|i| input(inputs, i).cloned())
            .collect::<Result<_>>()?;
        let captures = captured(inputs, self.operands);
        let mut seq_len = None;
        let mut scanned = vec![];
        for j in 0..self.scan_inputs {
            let t = input(inputs, self.states + j)?;
            let axis = norm_axis(self.input_axes[j], t.rank())?;
            let len = t.shape()[axis];
            match seq_len {
                None => seq_len = Some(len),
                Some(l) if l != len => {
                    bail!("scan input {j} has {len} steps along axis {axis}, another has {l}")
                }
                Some(_) => {}
            }
            scanned.push((t, axis));
        }
        let seq_len = seq_len.unwrap_or(0);
        let scan_out_n = self.body.num_outputs() - self.states;
        let mut outs_per_step: Vec<Vec<Tensor>> = vec![vec![]; scan_out_n];
        for step in 0..seq_len {
            let mut args: Vec<Option<Tensor>> = states.drain(..).map(Some).collect();
            for (j, (t, axis)) in scanned.iter().enumerate() {
                let idx = if self.input_reverse[j] {
                    seq_len - 1 - step
                } else {
                    step
                };
                args.push(Some(take(t, *axis, idx)));
            }
            args.extend(captures.iter().cloned());
            let mut outs = self
                .body
                .run(ctx, args)
                .map_err(|e| e.context(format!("scan body, step {step}")))?;
            let rest = outs.split_off(self.states);
            states = outs;
            for (s, t) in outs_per_step.iter_mut().zip(rest) {
                s.push(t);
            }
        }
        let mut results = states;
        for (k, mut s) in outs_per_step.into_iter().enumerate() {
            if self.output_reverse[k] {
                s.reverse();
            }
            let rank = s.first().map_or(0, |t| t.rank()) + 1;
            let axis = norm_axis(self.output_axes[k], rank)?;
            results.push(stack(&s, axis)?);
        }
        Ok(results)
    }
}

/// The slice `index` of `t` along `axis`, with that axis removed.
pub(crate) fn take(t: &Tensor, axis: usize, index: usize) -> Tensor {
    let shape = t.shape();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    let mut out_shape = shape.to_vec();
    out_shape.remove(axis);
    with_data!(t.data(), v => {
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            let start = (o * n + index) * inner;
            out.extend_from_slice(&v[start..start + inner]);
        }
        Tensor::from_vec(out_shape, out)
    })
}

/// Stacks equally shaped tensors along a new `axis`.
pub(crate) fn stack(parts: &[Tensor], axis: usize) -> Result<Tensor> {
    let Some(first) = parts.first() else {
        // No iterations: an empty tensor (the element shape is unknown).
        return Ok(Tensor::from_vec(vec![0], Vec::<f32>::new()));
    };
    let shape = first.shape().to_vec();
    let dtype = first.dtype();
    for p in parts {
        ensure!(
            p.shape() == shape.as_slice() && p.dtype() == dtype,
            "scan outputs differ between iterations: {:?} {} vs {shape:?} {dtype}",
            p.shape(),
            p.dtype()
        );
    }
    ensure!(axis <= shape.len(), "stack axis {axis} out of range");
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis..].iter().product();
    let mut out_shape = shape.clone();
    out_shape.insert(axis, parts.len());
    let total = numel(&out_shape);
    with_data!(first.data(), v0 => Ok(Tensor::from_vec(out_shape, stack_typed(v0, parts, outer, inner, total))))
}

fn stack_typed<T: Elem>(
    _first: &[T],
    parts: &[Tensor],
    outer: usize,
    inner: usize,
    total: usize,
) -> Vec<T> {
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for p in parts {
            let v = p.as_slice::<T>().expect("dtype checked by the caller");
            out.extend_from_slice(&v[o * inner..(o + 1) * inner]);
        }
    }
    out
}
