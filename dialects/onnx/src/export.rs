//! IR [`Module`] → ONNX `ModelProto`: the exporter, the inverse of [`crate::import`] (its module doc has
//! the mapping).
//!
//! Writing a file ([`export_file`]) streams: weights are never gathered into one buffer. The model is
//! encoded in pieces in field order (model head, graph head, each initializer, graph tail, model tail),
//! and every large initializer's bytes go straight from its buffer to the file with `pread`
//! ([`Buffer::write_to`]), so a memory-mapped 7 GB model is copied with a few MiB of memory. Tensors at
//! least `threshold` bytes go to an external data file when asked, when the input had external data, or
//! when the model would pass protobuf's 2 GiB limit. Both files are written under temporary names and
//! renamed into place only when complete.
//!
//! Names: every value keeps its IR name when it is unique in the model; unnamed values get fresh names,
//! unused unnamed results become `""` (ONNX's "not requested"). A value returned twice gets an
//! `Identity` so that every graph output has its own name.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use onnxqc_ir::{
    Attribute, Body, Dim, ElemType, Function, Module, OpId, RegionId, ScalarType, Storage,
    TensorType, Type, ValueDef, ValueId, FUNC_RETURN,
};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;
use rustc_hash::FxHashSet;

use crate::attrs;
use crate::error::{bail, OnnxError, Result};
use crate::import::attr_type_code;
use crate::proto::{
    tensor_proto, tensor_shape_proto, type_proto, AttributeProto, FunctionProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::tensor_proto::{sparse_to_proto, tensor_to_proto};
use crate::{domain_of, NO_VALUE, YIELD};

/// Protobuf messages cannot exceed 2 GiB.
pub const PROTOBUF_LIMIT: u64 = (1 << 31) - 1;

/// Whether large tensors go to an external data file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExternalData {
    /// External when the input model had external data or the model would pass 2 GiB.
    #[default]
    Auto,
    Always,
    Never,
}

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub external: ExternalData,
    /// Tensors of at least this many bytes go external (when external data is used).
    pub threshold: usize,
    /// For [`ExternalData::Auto`]: the input model stored weights externally.
    pub input_had_external: bool,
    /// The data file's name, relative to the model's folder; default `<model file name>.data`.
    pub data_file: Option<String>,
    /// The largest model written without external data ([`PROTOBUF_LIMIT`]; smaller in tests).
    pub max_embedded: u64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            external: ExternalData::Auto,
            threshold: 1024,
            input_had_external: false,
            data_file: None,
            max_embedded: PROTOBUF_LIMIT,
        }
    }
}

/// What [`export_file`] wrote.
#[derive(Debug, Default)]
pub struct ExportStats {
    pub model_bytes: u64,
    pub external_tensors: usize,
    pub external_bytes: u64,
    pub data_file: Option<PathBuf>,
}

/// The whole model as one `ModelProto`, every tensor embedded (`raw_data` views the IR's buffers, no
/// copy). For writing files use [`export_file`], which streams and handles external data.
pub fn to_model_proto(module: &Module) -> Result<ModelProto> {
    Ok(build(module)?.model)
}

/// A built model plus the buffers of the main graph's initializers (index-aligned), for streaming.
struct Built {
    model: ModelProto,
    init_buffers: Vec<Option<onnxqc_ir::Buffer>>,
}

fn build(module: &Module) -> Result<Built> {
    let Some(main) = module.funcs.first() else {
        bail!("the module has no function to export as the main graph");
    };
    let mut model = ModelProto {
        ir_version: 0,
        ..ModelProto::default()
    };
    let mut opsets: Vec<OperatorSetIdProto> = vec![];
    for (k, v) in &module.attrs {
        match (&**k, v) {
            (attrs::IR_VERSION, Attribute::Int(i)) => model.ir_version = *i,
            (attrs::OPSET_IMPORT, Attribute::Dict(d)) => opsets = opset_list(d)?,
            (attrs::PRODUCER_NAME, Attribute::String(s)) => model.producer_name = s.clone(),
            (attrs::PRODUCER_VERSION, Attribute::String(s)) => model.producer_version = s.clone(),
            (attrs::DOMAIN, Attribute::String(s)) => model.domain = s.clone(),
            (attrs::MODEL_VERSION, Attribute::Int(i)) => model.model_version = *i,
            (attrs::DOC_STRING, Attribute::String(s)) => model.doc_string = s.clone(),
            (attrs::METADATA_PROPS, Attribute::Dict(d)) => model.metadata_props = props(d),
            _ => {}
        }
    }
    let mut used_domains = FxHashSet::default();
    let mut ex = FuncExporter::new(&main.body, true);
    let graph = ex.graph(
        &main.body,
        main.body.root(),
        &main.name,
        &main.attrs,
        &mut used_domains,
    )?;
    let init_buffers = std::mem::take(&mut ex.init_buffers);
    model.graph = Some(graph);
    for f in &module.funcs[1..] {
        model.functions.push(function(f, &mut used_domains)?);
    }
    // Every domain an op uses needs an opset import; local functions' domains too.
    for f in &model.functions {
        used_domains.remove(f.domain.as_str());
    }
    for d in used_domains {
        if !opsets.iter().any(|o| o.domain == d) {
            // A module from text IR may declare no opsets: opset 21 is what current ONNX Runtime
            // releases all run; other domains get their latest known version.
            let version = if d.is_empty() {
                21
            } else {
                crate::schemas::ONNX_DOMAIN_LATEST_OPSET
                    .iter()
                    .find(|(name, _)| *name == d)
                    .map_or(1, |&(_, v)| v as i64)
            };
            opsets.push(OperatorSetIdProto {
                domain: d.to_string(),
                version,
            });
        }
    }
    for f in &model.functions {
        if !opsets.iter().any(|o| o.domain == f.domain) {
            opsets.push(OperatorSetIdProto {
                domain: f.domain.clone(),
                version: 1,
            });
        }
    }
    if model.ir_version == 0 {
        let default = opsets
            .iter()
            .find(|o| o.domain.is_empty())
            .map_or(21, |o| o.version);
        model.ir_version = ir_version_for_opset(default);
    }
    model.opset_import = opsets;
    Ok(Built {
        model,
        init_buffers,
    })
}

/// The lowest IR version that supports default-domain `opset` (onnx's own table).
fn ir_version_for_opset(opset: i64) -> i64 {
    match opset {
        ..=12 => 7,
        13..=18 => 8,
        19..=20 => 9,
        21..=22 => 10,
        23..=24 => 11,
        _ => 12,
    }
}

fn opset_list(d: &[onnxqc_ir::NamedAttr]) -> Result<Vec<OperatorSetIdProto>> {
    d.iter()
        .map(|(k, v)| {
            let Attribute::Int(version) = v else {
                bail!("opset import '{k}' is not an integer");
            };
            let domain = if &**k == attrs::DEFAULT_DOMAIN_KEY {
                ""
            } else {
                k
            };
            Ok(OperatorSetIdProto {
                domain: domain.to_string(),
                version: *version,
            })
        })
        .collect()
}

fn props(d: &[onnxqc_ir::NamedAttr]) -> Vec<StringStringEntryProto> {
    d.iter()
        .map(|(k, v)| StringStringEntryProto {
            key: k.to_string(),
            value: v.as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

fn function(f: &Function, used_domains: &mut FxHashSet<String>) -> Result<FunctionProto> {
    let mut fp = FunctionProto {
        name: f.name.clone(),
        ..FunctionProto::default()
    };
    let mut has_domain = false;
    for (k, v) in &f.attrs {
        match (&**k, v) {
            (attrs::FUNCTION_DOMAIN, Attribute::String(s)) => {
                fp.domain = s.clone();
                has_domain = true;
            }
            (attrs::OVERLOAD, Attribute::String(s)) => fp.overload = s.clone(),
            (attrs::OPSET_IMPORT, Attribute::Dict(d)) => fp.opset_import = opset_list(d)?,
            (attrs::FUNCTION_ATTRIBUTES, Attribute::Strings(s)) => fp.attribute = s.clone(),
            (attrs::FUNCTION_ATTRIBUTE_DEFAULTS, Attribute::Dict(d)) => {
                for (name, value) in d {
                    fp.attribute_proto.push(plain_attribute(name, value)?);
                }
            }
            (attrs::DOC_STRING, Attribute::String(s)) => fp.doc_string = s.clone(),
            (attrs::METADATA_PROPS, Attribute::Dict(d)) => fp.metadata_props = props(d),
            _ => {}
        }
    }
    if !has_domain {
        bail!(
            "function @{} is neither the main graph (the first function) nor an ONNX local function \
             (it has no {} attribute)",
            f.name,
            attrs::FUNCTION_DOMAIN
        );
    }
    let mut ex = FuncExporter::new(&f.body, false);
    let g = ex
        .graph(&f.body, f.body.root(), &f.name, &[], used_domains)
        .map_err(|e| e.context(format!("function @{}", f.name)))?;
    fp.input = g.input.into_iter().map(|v| v.name).collect();
    fp.output = g.output.into_iter().map(|v| v.name).collect();
    fp.node = g.node;
    fp.value_info = g.value_info;
    Ok(fp)
}

/// Exports one function: names every value once, then writes its graph and subgraphs.
struct FuncExporter {
    names: Vec<Option<String>>,
    taken: FxHashSet<String>,
    /// Exporting the main graph (initializers allowed) or a local function (constants are nodes).
    main: bool,
    /// Buffers of the top-level graph's initializers, aligned with `GraphProto.initializer`.
    init_buffers: Vec<Option<onnxqc_ir::Buffer>>,
    depth: usize,
}

impl FuncExporter {
    fn new(body: &Body, main: bool) -> FuncExporter {
        let mut ex = FuncExporter {
            names: vec![None; body.value_capacity()],
            taken: FxHashSet::default(),
            main,
            init_buffers: vec![],
            depth: 0,
        };
        // Outputs and inputs claim their names first so they never change; then every other named value
        // in op order; unnamed values get fresh names when first needed.
        let outputs = body.outputs().to_vec();
        let inputs = body.inputs().to_vec();
        for v in outputs.into_iter().chain(inputs) {
            ex.claim(body, v);
        }
        for op in body.all_ops() {
            for &r in body.op(op).results() {
                ex.claim(body, r);
            }
            for &region in body.op(op).regions() {
                for &b in body.region(region).blocks() {
                    for &a in body.block(b).args() {
                        ex.claim(body, a);
                    }
                }
            }
        }
        ex
    }

    fn claim(&mut self, body: &Body, v: ValueId) {
        if self.names[v.index()].is_some() {
            return;
        }
        if let Some(name) = body.value(v).name.as_deref() {
            let name = self.fresh(name);
            self.names[v.index()] = Some(name);
        }
    }

    /// `base`, or `base__N` when taken; marks the result taken.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while name.is_empty() || self.taken.contains(&name) {
            name = format!("{base}__{k}");
            k += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    fn name(&mut self, body: &Body, v: ValueId) -> String {
        if let Some(n) = &self.names[v.index()] {
            return n.clone();
        }
        let base = match body.value(v).def() {
            ValueDef::Result { op, index } => {
                let data = body.op(op);
                let op_name = data
                    .name
                    .as_deref()
                    .unwrap_or_else(|| data.kind.rsplit_once('.').map_or(&*data.kind, |(_, t)| t));
                format!("{op_name}_output_{index}")
            }
            ValueDef::BlockArg { index, .. } => format!("input_{index}"),
        };
        let n = self.fresh(&base);
        self.names[v.index()] = Some(n.clone());
        n
    }

    /// The graph held by `region` (a function body or an op's subgraph).
    fn graph(
        &mut self,
        body: &Body,
        region: RegionId,
        name: &str,
        fattrs: &[onnxqc_ir::NamedAttr],
        used_domains: &mut FxHashSet<String>,
    ) -> Result<GraphProto> {
        let block = body.region(region).blocks()[0];
        let top = self.depth == 0;
        let mut g = GraphProto {
            name: name.to_string(),
            ..GraphProto::default()
        };
        for &a in body.block(block).args() {
            let name = self.name(body, a);
            g.input.push(value_info(name, body.value_type(a)));
        }
        let mut outputs_seen = FxHashSet::default();
        let mut produced: FxHashSet<ValueId> = FxHashSet::default();
        for op in body.block_ops(block) {
            let data = body.op(op);
            match &*data.kind {
                FUNC_RETURN | YIELD => {
                    for &v in data.operands() {
                        let mut name = self.name(body, v);
                        if !outputs_seen.insert(v) {
                            // The same value returned twice: give the second output its own name.
                            let copy = self.fresh(&format!("{name}_copy"));
                            g.node.push(NodeProto {
                                input: vec![name],
                                output: vec![copy.clone()],
                                name: copy.clone(),
                                op_type: "Identity".into(),
                                ..NodeProto::default()
                            });
                            name = copy;
                        }
                        g.output.push(value_info(name, body.value_type(v)));
                    }
                }
                NO_VALUE => {}
                _ if self.main && is_initializer(body, op) => {
                    let v = data.results()[0];
                    let name = self.name(body, v);
                    let t = data
                        .attr("value")
                        .and_then(Attribute::as_tensor)
                        .expect("checked");
                    if data.attr(attrs::SPARSE_INITIALIZER).is_some() {
                        if let Some(s) = sparse_to_proto(&name, t) {
                            g.sparse_initializer.push(s);
                            produced.insert(v);
                            continue;
                        }
                    }
                    let mut tp = tensor_to_proto(&name, t);
                    if let Some(Attribute::String(doc)) = data.attr(attrs::DOC_STRING) {
                        tp.doc_string = doc.clone();
                    }
                    g.initializer.push(tp);
                    if top {
                        self.init_buffers.push(match &t.storage {
                            Storage::Bytes(b) => Some(b.clone()),
                            Storage::Strings(_) => None,
                        });
                    }
                    produced.insert(v);
                }
                _ => {
                    let node = self
                        .node(body, op, used_domains)
                        .map_err(|e| e.context(describe_op(body, op)))?;
                    g.node.push(node);
                    produced.extend(data.results().iter().copied());
                }
            }
        }
        let outputs: FxHashSet<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
        let mut value_infos = vec![];
        for op in body.block_ops(block) {
            for &r in body.op(op).results() {
                let ty = body.value_type(r);
                if matches!(ty, Type::Unknown | Type::None) || !produced.contains(&r) {
                    continue;
                }
                // A constant's type is implied by its value; initializers and Constant nodes need none.
                if &*body.op(op).kind == "onnx.Constant" {
                    continue;
                }
                let Some(name) = self.names[r.index()].clone() else {
                    continue;
                };
                if !outputs.contains(name.as_str()) {
                    value_infos.push(value_info(name, ty));
                }
            }
        }
        g.value_info = value_infos;
        if top {
            for (k, v) in fattrs {
                match (&**k, v) {
                    (attrs::DOC_STRING, Attribute::String(s)) => g.doc_string = s.clone(),
                    (attrs::METADATA_PROPS, Attribute::Dict(d)) => g.metadata_props = props(d),
                    (attrs::INPUT_INITIALIZERS, Attribute::Strings(names)) => {
                        for n in names {
                            if let Some(t) = g.initializer.iter().find(|t| &t.name == n) {
                                let ty = Type::Tensor(TensorType::known(
                                    ScalarType::from_onnx_code(t.data_type)
                                        .unwrap_or(ScalarType::F32),
                                    &t.dims.iter().map(|&d| d as u64).collect::<Vec<_>>(),
                                ));
                                g.input.push(value_info(n.clone(), &ty));
                            }
                        }
                    }
                    (attrs::VALUE_DOC_STRINGS, Attribute::Dict(d)) => {
                        for vi in g
                            .input
                            .iter_mut()
                            .chain(&mut g.output)
                            .chain(&mut g.value_info)
                        {
                            if let Some((_, Attribute::String(doc))) =
                                d.iter().find(|(n, _)| **n == *vi.name)
                            {
                                vi.doc_string = doc.clone();
                            }
                        }
                    }
                    (attrs::QUANTIZATION_ANNOTATION, Attribute::Dict(d)) => {
                        g.quantization_annotation = d
                            .iter()
                            .map(|(t, p)| crate::proto::TensorAnnotation {
                                tensor_name: t.to_string(),
                                quant_parameter_tensor_names: match p {
                                    Attribute::Dict(p) => props(p),
                                    _ => vec![],
                                },
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
        }
        Ok(g)
    }

    fn node(
        &mut self,
        body: &Body,
        op: OpId,
        used_domains: &mut FxHashSet<String>,
    ) -> Result<NodeProto> {
        let data = body.op(op);
        let kind = &*data.kind;
        let domain = domain_of(kind);
        let Some((_, op_type)) = kind.rsplit_once('.') else {
            bail!("op kind '{kind}' has no domain");
        };
        if domain == "qc" || domain == "func" {
            bail!(
                "'{kind}' has no ONNX form; run a lowering pass (qdq, qop, dynamic) before exporting to ONNX"
            );
        }
        used_domains.insert(domain.to_string());
        let mut node = NodeProto {
            op_type: op_type.to_string(),
            domain: domain.to_string(),
            name: data.name.as_deref().unwrap_or_default().to_string(),
            ..NodeProto::default()
        };
        for &v in data.operands() {
            let is_none = matches!(body.value(v).def(), ValueDef::Result { op, .. } if &*body.op(op).kind == NO_VALUE);
            node.input.push(if is_none {
                String::new()
            } else {
                self.name(body, v)
            });
        }
        let trailing_unused = data
            .results()
            .iter()
            .map(|&r| body.value(r).uses().is_empty() && self.names[r.index()].is_none())
            .collect::<Vec<_>>();
        for (&r, unused) in data.results().iter().zip(trailing_unused) {
            node.output.push(if unused {
                String::new()
            } else {
                self.name(body, r)
            });
        }
        let graph_names = match data.attr(attrs::GRAPH_NAMES) {
            Some(Attribute::Dict(d)) => d.clone(),
            _ => vec![],
        };
        let is_constant_node = kind == "onnx.Constant";
        let tensor_names = match data.attr(attrs::TENSOR_NAMES) {
            Some(Attribute::Dict(d)) => d.clone(),
            _ => vec![],
        };
        for (k, v) in &data.attrs {
            match (&**k, v) {
                (attrs::DOC_STRING, Attribute::String(s)) => node.doc_string = s.clone(),
                (attrs::OVERLOAD, Attribute::String(s)) => node.overload = s.clone(),
                (attrs::METADATA_PROPS, Attribute::Dict(d)) => node.metadata_props = props(d),
                (attrs::REF_ATTRS, Attribute::Dict(d)) => {
                    for (name, r) in d {
                        let Attribute::Strings(r) = r else { continue };
                        node.attribute.push(AttributeProto {
                            name: name.to_string(),
                            ref_attr_name: r.first().cloned().unwrap_or_default(),
                            r#type: attr_type_code(r.get(1).map_or("", String::as_str)),
                            ..AttributeProto::default()
                        });
                    }
                }
                (k, _) if attrs::is_onnx_meta(k) => {}
                ("sparse_value", Attribute::Tensor(t)) if is_constant_node => {
                    node.attribute.push(AttributeProto {
                        name: k.to_string(),
                        r#type: 11,
                        sparse_tensor: sparse_to_proto("", t),
                        ..AttributeProto::default()
                    });
                }
                (k, Attribute::Graph(i)) => {
                    let a = self.graph_attr(body, op, k, &[*i], &graph_names, used_domains)?;
                    node.attribute.push(a);
                }
                (k, Attribute::Graphs(is)) => {
                    let a = self.graph_attr(body, op, k, is, &graph_names, used_domains)?;
                    node.attribute.push(a);
                }
                (k, Attribute::Tensor(t)) => {
                    // Unless recorded otherwise, a Constant's value is named after its output (see
                    // `import::default_tensor_name`).
                    let default = match node.output.first() {
                        Some(out) if is_constant_node && k == "value" => out.clone(),
                        _ => String::new(),
                    };
                    let name = tensor_names
                        .iter()
                        .find(|(n, _)| &**n == k)
                        .and_then(|(_, v)| v.as_str())
                        .map_or(default, str::to_string);
                    node.attribute.push(AttributeProto {
                        name: k.to_string(),
                        r#type: 4,
                        t: Some(tensor_to_proto(&name, t)),
                        ..AttributeProto::default()
                    });
                }
                (k, v) => node.attribute.push(plain_attribute(k, v)?),
            }
        }
        Ok(node)
    }

    fn graph_attr(
        &mut self,
        body: &Body,
        op: OpId,
        attr: &str,
        indices: &[u32],
        graph_names: &[onnxqc_ir::NamedAttr],
        used_domains: &mut FxHashSet<String>,
    ) -> Result<AttributeProto> {
        let regions = body.op(op).regions();
        let mut graphs = vec![];
        for (n, &i) in indices.iter().enumerate() {
            let Some(&region) = regions.get(i as usize) else {
                bail!("attribute '{attr}' refers to region {i}, which the op does not have");
            };
            let name = graph_names
                .iter()
                .find(|(k, _)| &**k == attr)
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    let base = body.op(op).name.as_deref().unwrap_or("graph");
                    if indices.len() == 1 {
                        format!("{base}_{attr}")
                    } else {
                        format!("{base}_{attr}_{n}")
                    }
                });
            self.depth += 1;
            let g = self.graph(body, region, &name, &[], used_domains);
            self.depth -= 1;
            graphs.push(g.map_err(|e| e.context(format!("subgraph '{name}'")))?);
        }
        Ok(
            if body
                .op(op)
                .attr(attr)
                .is_some_and(|a| matches!(a, Attribute::Graph(_)))
            {
                AttributeProto {
                    name: attr.to_string(),
                    r#type: 5,
                    g: graphs.pop(),
                    ..AttributeProto::default()
                }
            } else {
                AttributeProto {
                    name: attr.to_string(),
                    r#type: 10,
                    graphs,
                    ..AttributeProto::default()
                }
            },
        )
    }
}

fn describe_op(body: &Body, op: OpId) -> String {
    let data = body.op(op);
    match &data.name {
        Some(n) => format!("op '{}' ({})", n, data.kind),
        None => format!("op {}", data.kind),
    }
}

/// An `onnx.Constant` that is an ONNX initializer: a `value` tensor, not marked as a `Constant` node.
fn is_initializer(body: &Body, op: OpId) -> bool {
    let data = body.op(op);
    &*data.kind == "onnx.Constant"
        && data.attr(attrs::CONSTANT_NODE).is_none()
        && matches!(data.attr("value"), Some(Attribute::Tensor(_)))
        && data
            .attrs
            .iter()
            .all(|(k, _)| &**k == "value" || attrs::is_onnx_meta(k))
}

fn plain_attribute(name: &str, v: &Attribute) -> Result<AttributeProto> {
    let mut a = AttributeProto {
        name: name.to_string(),
        ..AttributeProto::default()
    };
    match v {
        Attribute::Float(f) => (a.r#type, a.f) = (1, *f),
        Attribute::Int(i) => (a.r#type, a.i) = (2, *i),
        Attribute::String(s) => (a.r#type, a.s) = (3, s.as_bytes().to_vec()),
        Attribute::Tensor(t) => (a.r#type, a.t) = (4, Some(tensor_to_proto("", t))),
        Attribute::Floats(f) => (a.r#type, a.floats) = (6, f.clone()),
        Attribute::Ints(i) => (a.r#type, a.ints) = (7, i.clone()),
        Attribute::Strings(s) => {
            (a.r#type, a.strings) = (8, s.iter().map(|s| s.as_bytes().to_vec()).collect())
        }
        Attribute::Tensors(ts) => {
            (a.r#type, a.tensors) = (9, ts.iter().map(|t| tensor_to_proto("", t)).collect())
        }
        Attribute::Type(t) => match type_proto(t) {
            Some(tp) => (a.r#type, a.tp) = (13, Some(tp)),
            None => bail!("attribute '{name}' holds a type with no ONNX form"),
        },
        Attribute::Graph(_) | Attribute::Graphs(_) => {
            bail!("attribute '{name}': graph attributes are only allowed on ops with regions")
        }
        Attribute::Unit | Attribute::Dict(_) => bail!(
            "attribute '{name}' is a {} attribute, which ONNX has no form for",
            v.kind_name()
        ),
    }
    Ok(a)
}

fn value_info(name: String, ty: &Type) -> ValueInfoProto {
    ValueInfoProto {
        name,
        r#type: type_proto(ty),
        ..ValueInfoProto::default()
    }
}

/// The ONNX type of an IR type (`None` for unknown types). Quantized values have their storage type.
pub fn type_proto(ty: &Type) -> Option<TypeProto> {
    use type_proto::Value;
    let value = match ty {
        Type::Tensor(t) => Value::TensorType(type_proto::Tensor {
            elem_type: elem_code(&t.elem),
            shape: shape_proto(t),
        }),
        Type::SparseTensor(t) => Value::SparseTensorType(type_proto::SparseTensor {
            elem_type: elem_code(&t.elem),
            shape: shape_proto(t),
        }),
        Type::Sequence(e) => Value::SequenceType(Box::new(type_proto::Sequence {
            elem_type: type_proto(e).map(Box::new),
        })),
        Type::Optional(e) => Value::OptionalType(Box::new(type_proto::Optional {
            elem_type: type_proto(e).map(Box::new),
        })),
        Type::Map(k, v) => Value::MapType(Box::new(type_proto::Map {
            key_type: k.onnx_code(),
            value_type: type_proto(v).map(Box::new),
        })),
        Type::None | Type::Unknown => return None,
    };
    Some(TypeProto {
        value: Some(value),
        ..TypeProto::default()
    })
}

fn elem_code(e: &ElemType) -> i32 {
    match e {
        ElemType::Scalar(s) => s.onnx_code(),
        ElemType::Quant(q) => q.storage.onnx_code(),
    }
}

fn shape_proto(t: &TensorType) -> Option<TensorShapeProto> {
    use tensor_shape_proto::dimension::Value;
    let dims = t.shape.as_ref()?;
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| tensor_shape_proto::Dimension {
                value: match d {
                    Dim::Known(n) => Some(Value::DimValue(*n as i64)),
                    Dim::Symbolic(s) => Some(Value::DimParam(s.to_string())),
                    Dim::Unknown => None,
                },
                ..Default::default()
            })
            .collect(),
    })
}

/// Writes `module` as an ONNX model at `path` (atomically: temporary files renamed into place).
pub fn export_file(module: &Module, path: &Path, opts: &ExportOptions) -> Result<ExportStats> {
    let Built {
        mut model,
        init_buffers,
    } = build(module)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| OnnxError::new(format!("'{}' is not a file path", path.display())))?;
    let embedded_len = model.encoded_len() as u64;
    let external = match opts.external {
        ExternalData::Always => true,
        ExternalData::Never => false,
        ExternalData::Auto => opts.input_had_external || embedded_len > opts.max_embedded,
    };
    let graph = model.graph.as_mut().expect("built");
    let mut stats = ExportStats::default();
    // (initializer index, buffer) of every tensor whose bytes are written by streaming.
    let mut external_list = vec![];
    if external {
        let location = opts
            .data_file
            .clone()
            .unwrap_or_else(|| format!("{file_name}.data"));
        let mut offset = 0u64;
        for (i, buf) in init_buffers.iter().enumerate() {
            let Some(buf) = buf else { continue };
            if buf.is_empty() || buf.len() < opts.threshold {
                continue;
            }
            // Page alignment lets readers (ONNX Runtime included) map large tensors directly.
            let align = if buf.len() >= 1 << 20 { 4096 } else { 64 };
            offset = offset.div_ceil(align) * align;
            let t = &mut graph.initializer[i];
            t.raw_data = Bytes::new();
            t.data_location = tensor_proto::DataLocation::External as i32;
            t.external_data = vec![
                kv("location", &location),
                kv("offset", &offset.to_string()),
                kv("length", &buf.len().to_string()),
            ];
            external_list.push((offset, buf.clone()));
            offset += buf.len() as u64;
            stats.external_tensors += 1;
            stats.external_bytes += buf.len() as u64;
        }
        stats.data_file = Some(dir.join(&location));
    }
    let encoded_len = model.encoded_len() as u64;
    if encoded_len > opts.max_embedded.min(PROTOBUF_LIMIT) {
        bail!(
            "the model would be {encoded_len} bytes, over protobuf's 2 GiB limit; write the weights to an \
             external data file (--external-data=always)"
        );
    }
    let data_tmp = match &stats.data_file {
        Some(data_path) => {
            let tmp = write_data_file(&dir, &external_list).map_err(|e| {
                OnnxError::new(format!("cannot write '{}': {e}", data_path.display()))
            })?;
            Some(tmp)
        }
        None => None,
    };
    let model_tmp = write_model(&dir, &model, &init_buffers)
        .map_err(|e| OnnxError::new(format!("cannot write '{}': {e}", path.display())))?;
    if let (Some(tmp), Some(data_path)) = (data_tmp, &stats.data_file) {
        tmp.persist(data_path).map_err(|e| {
            OnnxError::new(format!(
                "cannot write '{}': {}",
                data_path.display(),
                e.error
            ))
        })?;
    }
    model_tmp
        .persist(path)
        .map_err(|e| OnnxError::new(format!("cannot write '{}': {}", path.display(), e.error)))?;
    stats.model_bytes = encoded_len;
    Ok(stats)
}

fn kv(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.into(),
        value: value.into(),
    }
}

/// A temporary file in `dir` (renamed into place when complete), readable by others like any output
/// (temporary files are created 0600).
fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::Builder::new()
        .prefix(".onnxqc-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(tmp)
}

fn write_data_file(
    dir: &Path,
    tensors: &[(u64, onnxqc_ir::Buffer)],
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = temp_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut pos = 0u64;
        for (offset, buf) in tensors {
            let pad = (offset - pos) as usize;
            w.write_all(&vec![0u8; pad])?;
            buf.write_to(&mut w)?;
            pos = offset + buf.len() as u64;
        }
        w.flush()?;
    }
    Ok(tmp)
}

/// Initializers at least this big are streamed from their buffers instead of encoded by prost.
const STREAM_MIN: usize = 64 << 10;

/// Encodes the model to a temporary file in field order, streaming the main graph's large embedded
/// initializers from their buffers.
fn write_model(
    dir: &Path,
    model: &ModelProto,
    init_buffers: &[Option<onnxqc_ir::Buffer>],
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = temp_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let graph = model.graph.as_ref().expect("built");
        // Model fields before `graph` (7), the graph, then the rest: the order prost itself writes.
        let head = ModelProto {
            ir_version: model.ir_version,
            producer_name: model.producer_name.clone(),
            producer_version: model.producer_version.clone(),
            domain: model.domain.clone(),
            model_version: model.model_version,
            doc_string: model.doc_string.clone(),
            ..ModelProto::default()
        };
        let tail = ModelProto {
            opset_import: model.opset_import.clone(),
            metadata_props: model.metadata_props.clone(),
            training_info: model.training_info.clone(),
            functions: model.functions.clone(),
            configuration: model.configuration.clone(),
            ..ModelProto::default()
        };
        w.write_all(&head.encode_to_vec())?;
        // Graph fields: node (1), name (2), initializer (5), then the rest.
        let g_head = GraphProto {
            node: graph.node.clone(),
            name: graph.name.clone(),
            ..GraphProto::default()
        };
        let g_tail = GraphProto {
            initializer: vec![],
            node: vec![],
            name: String::new(),
            ..graph.clone()
        };
        let streamed = |i: usize| -> Option<&onnxqc_ir::Buffer> {
            let t = &graph.initializer[i];
            let b = init_buffers.get(i)?.as_ref()?;
            (!t.raw_data.is_empty() && b.len() >= STREAM_MIN).then_some(b)
        };
        // Each initializer is encoded without raw_data, then raw_data (9) is appended: a valid encoding
        // of the same message (protobuf readers accept fields in any order).
        let mut init_parts = Vec::with_capacity(graph.initializer.len());
        let mut graph_len = (g_head.encoded_len() + g_tail.encoded_len()) as u64;
        for (i, t) in graph.initializer.iter().enumerate() {
            let (meta, raw_len) = match streamed(i) {
                Some(b) => {
                    let meta = TensorProto {
                        raw_data: Bytes::new(),
                        ..t.clone()
                    };
                    (meta.encode_to_vec(), Some(b.len()))
                }
                None => (t.encode_to_vec(), None),
            };
            let raw_field = raw_len.map_or(0, |n| key_len(9) + encoded_len_varint(n as u64) + n);
            let msg_len = meta.len() + raw_field;
            graph_len += (key_len(5) + encoded_len_varint(msg_len as u64) + msg_len) as u64;
            init_parts.push((meta, raw_len, msg_len));
        }
        let mut header = Vec::with_capacity(16);
        encode_key(7, WireType::LengthDelimited, &mut header);
        encode_varint(graph_len, &mut header);
        w.write_all(&header)?;
        w.write_all(&g_head.encode_to_vec())?;
        for (i, (meta, raw_len, msg_len)) in init_parts.into_iter().enumerate() {
            header.clear();
            encode_key(5, WireType::LengthDelimited, &mut header);
            encode_varint(msg_len as u64, &mut header);
            w.write_all(&header)?;
            w.write_all(&meta)?;
            if let Some(n) = raw_len {
                header.clear();
                encode_key(9, WireType::LengthDelimited, &mut header);
                encode_varint(n as u64, &mut header);
                w.write_all(&header)?;
                streamed(i).expect("streamed").write_to(&mut w)?;
            }
        }
        w.write_all(&g_tail.encode_to_vec())?;
        w.write_all(&tail.encode_to_vec())?;
        w.flush()?;
    }
    Ok(tmp)
}
