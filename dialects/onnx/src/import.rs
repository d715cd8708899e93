//! ONNX `ModelProto` → IR [`Module`]: the importer.
//!
//! The mapping (the exporter inverts it; [`crate::attrs`] names every attribute it uses):
//! - The model is a [`Module`]; `ir_version`, opset imports (default domain spelled `ai.onnx`), producer,
//!   domain, model version, doc string and metadata props are module attributes `onnx.*`.
//! - The main graph is the first [`Function`], named after the graph; graph inputs are its block
//!   arguments and graph outputs the operands of its `func.return`. Local functions (`FunctionProto`)
//!   follow, marked by `onnx.function_domain`.
//! - Initializers are `onnx.Constant` ops with a `value` tensor attribute; `Constant` *nodes* are the
//!   same op marked `onnx.constant_node`, so both survive a round trip. Sparse initializers are
//!   densified and marked `onnx.sparse_initializer`. Initializers also listed as graph inputs (old IR
//!   style) are constants, and their names are kept in the function's `onnx.input_initializers`.
//! - A node is an op `<domain>.<OpType>` (see [`crate::op_kind`]) with its name as the op's name and its
//!   attributes in order; `If`/`Loop`/`Scan` bodies are regions (`#onnx.graph<i>` attributes) whose
//!   terminator is `onnx.Yield`, and which use outer values directly. An empty input name is the result
//!   of an `onnx.NoValue` op at the start of the block; an empty output name is an unnamed result.
//! - Value types come from graph inputs/outputs and `value_info`; other values are `Type::Unknown`.
//!
//! Nodes are imported in topological order (ONNX requires it, but real files are not always sorted);
//! a cycle, a dangling tensor name, a tensor produced twice, a bad initializer or an opset below 10 is an
//! [`OnnxError`] naming the node or tensor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use onnxqc_ir::tensor::MappedFile;
use onnxqc_ir::{
    Attribute, BlockId, Body, Dim, ElemType, Function, Module, NamedAttr, OpId, ScalarType,
    TensorType, Type, ValueId, FUNC_RETURN,
};
use prost::Message;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::attrs;
use crate::error::{bail, OnnxError, Result};
use crate::proto::{
    type_proto, AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto,
    StringStringEntryProto, TypeProto, ValueInfoProto,
};
use crate::tensor_proto::{scalar_type, sparse_from_proto, tensor_from_proto, DataSource};
use crate::{op_kind, NO_VALUE, YIELD};

/// The lowest default-domain opset onnxqc accepts.
pub const MIN_OPSET: i64 = 10;

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The folder that external-data locations are relative to; `None` refuses external data.
    pub base_dir: Option<std::path::PathBuf>,
}

/// An imported model and what the import read.
#[derive(Debug)]
pub struct Imported {
    pub module: Module,
    /// Tensors whose bytes are views into external data files.
    pub external_tensors: usize,
    pub external_bytes: u64,
    /// Things that were dropped or changed on the way in (each names what).
    pub warnings: Vec<String>,
}

/// Imports the model at `path`: the file is memory-mapped, so initializers stored in it are views into
/// the mapping; external data is resolved relative to the file's folder.
pub fn import_file(path: &Path) -> Result<Imported> {
    let file = MappedFile::open(path)
        .map_err(|e| OnnxError::new(format!("cannot read '{}': {e}", path.display())))?;
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    struct Owner(Arc<MappedFile>);
    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            self.0.bytes()
        }
    }
    let bytes = Bytes::from_owner(Owner(file.clone()));
    let model = decode_model(bytes)?;
    import_model(&model, DataSource::new(Some(file), base_dir))
}

/// Imports a model held in memory.
pub fn import_bytes(bytes: Bytes, opts: &ImportOptions) -> Result<Imported> {
    let model = decode_model(bytes)?;
    import_model(&model, DataSource::new(None, opts.base_dir.clone()))
}

/// Decodes protobuf bytes into a `ModelProto`; `raw_data` fields are zero-copy slices of `bytes`.
pub fn decode_model(bytes: Bytes) -> Result<ModelProto> {
    if bytes.is_empty() {
        bail!("the file is empty, not an ONNX model");
    }
    let len = bytes.len();
    let model = ModelProto::decode(bytes).map_err(|e| {
        OnnxError::new(format!(
            "not a valid ONNX model: protobuf decoding failed after reading a {len}-byte file ({e}); \
             the file may be truncated or not an ONNX model"
        ))
    })?;
    if model.graph.is_none() {
        bail!("not an ONNX model: the protobuf message has no graph (the file may be truncated or not an ONNX model)");
    }
    Ok(model)
}

/// Imports a decoded model.
pub fn import_model(model: &ModelProto, src: DataSource) -> Result<Imported> {
    let mut imp = Importer {
        src,
        warnings: vec![],
    };
    let mut module = Module {
        attrs: imp.model_attrs(model)?,
        funcs: vec![],
    };
    let graph = model.graph.as_ref().expect("checked by decode_model");
    let mut main = Function::new(if graph.name.is_empty() {
        "main_graph"
    } else {
        &graph.name
    });
    main.attrs = imp.main_graph(&mut main.body, graph)?;
    module.funcs.push(main);
    for f in &model.functions {
        let func = imp
            .function(f)
            .map_err(|e| e.context(format!("function '{}' (domain '{}')", f.name, f.domain)))?;
        module.funcs.push(func);
    }
    if !model.training_info.is_empty() {
        imp.warnings.push(format!(
            "{} training_info entries were dropped",
            model.training_info.len()
        ));
    }
    Ok(Imported {
        module,
        external_tensors: imp.src.external_tensors,
        external_bytes: imp.src.external_bytes,
        warnings: imp.warnings,
    })
}

struct Importer {
    src: DataSource,
    warnings: Vec<String>,
}

/// Names visible while importing a graph: its own and every enclosing graph's.
type Scopes = Vec<FxHashMap<Arc<str>, ValueId>>;

fn lookup(scopes: &Scopes, name: &str) -> Option<ValueId> {
    scopes.iter().rev().find_map(|s| s.get(name).copied())
}

fn utf8(bytes: &[u8], what: impl FnOnce() -> String) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| OnnxError::new(format!("{} is not UTF-8 text", what())))
}

fn props_attr(props: &[StringStringEntryProto]) -> Attribute {
    Attribute::Dict(
        props
            .iter()
            .map(|p| {
                (
                    Arc::from(p.key.as_str()),
                    Attribute::String(p.value.clone()),
                )
            })
            .collect(),
    )
}

/// Appends the doc string and metadata props, when present, as `onnx.doc_string` and
/// `onnx.metadata_props`.
fn push_doc_and_props(attrs: &mut Vec<NamedAttr>, doc: &str, props: &[StringStringEntryProto]) {
    push_str(attrs, attrs::DOC_STRING, doc);
    if !props.is_empty() {
        attrs.push((Arc::from(attrs::METADATA_PROPS), props_attr(props)));
    }
}

/// Appends `(name, value)` to `attrs` when the string is not empty.
fn push_str(attrs: &mut Vec<NamedAttr>, name: &str, value: &str) {
    if !value.is_empty() {
        attrs.push((Arc::from(name), Attribute::String(value.to_string())));
    }
}

fn opset_attr(opsets: &[crate::proto::OperatorSetIdProto]) -> Attribute {
    Attribute::Dict(
        opsets
            .iter()
            .map(|o| {
                let key = if o.domain.is_empty() {
                    attrs::DEFAULT_DOMAIN_KEY
                } else {
                    &o.domain
                };
                (Arc::from(key), Attribute::Int(o.version))
            })
            .collect(),
    )
}

/// The IR type of an ONNX `TypeProto`.
pub fn type_from_proto(t: &TypeProto) -> Result<Type> {
    use type_proto::Value;
    Ok(match &t.value {
        None => Type::Unknown,
        Some(Value::TensorType(tt)) => {
            if tt.elem_type == 0 {
                return Ok(Type::Unknown);
            }
            Type::Tensor(tensor_type(tt.elem_type, tt.shape.as_ref())?)
        }
        Some(Value::SparseTensorType(tt)) => {
            Type::SparseTensor(tensor_type(tt.elem_type, tt.shape.as_ref())?)
        }
        Some(Value::SequenceType(s)) => Type::Sequence(Box::new(match &s.elem_type {
            Some(e) => type_from_proto(e)?,
            None => Type::Unknown,
        })),
        Some(Value::OptionalType(s)) => Type::Optional(Box::new(match &s.elem_type {
            Some(e) => type_from_proto(e)?,
            None => Type::Unknown,
        })),
        Some(Value::MapType(m)) => Type::Map(
            scalar_type(m.key_type).map_err(|e| e.context("map key"))?,
            Box::new(match &m.value_type {
                Some(v) => type_from_proto(v)?,
                None => Type::Unknown,
            }),
        ),
        Some(Value::OpaqueType(_)) => Type::Unknown,
    })
}

fn tensor_type(elem: i32, shape: Option<&crate::proto::TensorShapeProto>) -> Result<TensorType> {
    use crate::proto::tensor_shape_proto::dimension::Value;
    let elem = scalar_type(elem)?;
    let shape = shape.map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(Value::DimValue(v)) if *v >= 0 => Dim::Known(*v as u64),
                Some(Value::DimParam(p)) if !p.is_empty() => Dim::Symbolic(Arc::from(p.as_str())),
                _ => Dim::Unknown,
            })
            .collect()
    });
    Ok(TensorType {
        elem: ElemType::Scalar(elem),
        shape,
    })
}

fn value_type(vi: &ValueInfoProto) -> Result<Type> {
    match &vi.r#type {
        Some(t) => type_from_proto(t).map_err(|e| e.context(format!("type of '{}'", vi.name))),
        None => Ok(Type::Unknown),
    }
}

/// Every tensor name a graph (and its nested subgraphs) reads but does not define: the outer values a
/// node holding this graph depends on.
fn free_names(g: &GraphProto, out: &mut FxHashSet<String>) {
    let mut defined: FxHashSet<&str> = FxHashSet::default();
    defined.extend(g.input.iter().map(|v| v.name.as_str()));
    defined.extend(g.initializer.iter().map(|t| t.name.as_str()));
    defined.extend(
        g.sparse_initializer
            .iter()
            .filter_map(|s| s.values.as_ref().map(|v| v.name.as_str())),
    );
    for n in &g.node {
        defined.extend(n.output.iter().map(String::as_str));
    }
    let mut used = FxHashSet::default();
    for n in &g.node {
        node_needs(n, &mut used);
    }
    used.extend(g.output.iter().map(|o| o.name.clone()));
    out.extend(used.into_iter().filter(|u| !defined.contains(u.as_str())));
}

/// The names node `n` reads: its inputs and its subgraphs' free names.
fn node_needs(n: &NodeProto, out: &mut FxHashSet<String>) {
    out.extend(n.input.iter().filter(|i| !i.is_empty()).cloned());
    for a in &n.attribute {
        for g in a.g.iter().chain(&a.graphs) {
            free_names(g, out);
        }
    }
}

fn describe_node(n: &NodeProto) -> String {
    let kind = if n.domain.is_empty() || n.domain == "ai.onnx" {
        n.op_type.clone()
    } else {
        format!("{}::{}", n.domain, n.op_type)
    };
    if n.name.is_empty() {
        format!("node ({kind}, unnamed)")
    } else {
        format!("node '{}' ({kind})", n.name)
    }
}

/// The nodes of a graph in a topological order that keeps the file's order where it can.
fn topo_order(nodes: &[NodeProto]) -> Result<Vec<usize>> {
    let mut producer: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if let Some(prev) = producer.insert(o.as_str(), i) {
                bail!(
                    "tensor '{o}' is produced twice, by {} and by {}",
                    describe_node(&nodes[prev]),
                    describe_node(n)
                );
            }
        }
    }
    let mut indegree = vec![0usize; nodes.len()];
    let mut users: Vec<Vec<usize>> = vec![vec![]; nodes.len()];
    let mut sorted = true;
    for (i, n) in nodes.iter().enumerate() {
        let mut needs = FxHashSet::default();
        node_needs(n, &mut needs);
        let mut preds: Vec<usize> = needs
            .iter()
            .filter_map(|name| producer.get(name.as_str()).copied())
            .collect();
        preds.sort_unstable();
        preds.dedup();
        for p in preds {
            if p == i {
                bail!(
                    "{} reads its own output: the graph has a cycle",
                    describe_node(n)
                );
            }
            sorted &= p < i;
            indegree[i] += 1;
            users[p].push(i);
        }
    }
    if sorted {
        return Ok((0..nodes.len()).collect());
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| indegree[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() < nodes.len() {
        let stuck: Vec<String> = (0..nodes.len())
            .filter(|&i| indegree[i] > 0)
            .take(5)
            .map(|i| describe_node(&nodes[i]))
            .collect();
        bail!("the graph has a cycle through {}", stuck.join(", "));
    }
    Ok(order)
}

/// What kind of graph is being imported: it decides where outputs go and what initializers become.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GraphKind {
    Main,
    Subgraph,
}

impl Importer {
    fn model_attrs(&mut self, m: &ModelProto) -> Result<Vec<NamedAttr>> {
        let default = m
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx");
        match default {
            Some(o) if o.version < MIN_OPSET => bail!(
                "the model uses ONNX opset {}, and onnxqc needs opset {MIN_OPSET} or later; re-export it \
                 with a newer opset (e.g. torch.onnx.export(..., opset_version=17)) or convert it with \
                 onnx.version_converter.convert_version(model, 17)",
                o.version
            ),
            Some(_) => {}
            None => {
                let uses_default = m.graph.iter().any(|g| {
                    g.node
                        .iter()
                        .any(|n| n.domain.is_empty() || n.domain == "ai.onnx")
                });
                if uses_default {
                    bail!("the model has no opset import for the default ONNX domain (opset_import is missing; the file may be truncated)");
                }
            }
        }
        let mut a: Vec<NamedAttr> =
            vec![(Arc::from(attrs::IR_VERSION), Attribute::Int(m.ir_version))];
        a.push((Arc::from(attrs::OPSET_IMPORT), opset_attr(&m.opset_import)));
        push_str(&mut a, attrs::PRODUCER_NAME, &m.producer_name);
        push_str(&mut a, attrs::PRODUCER_VERSION, &m.producer_version);
        push_str(&mut a, attrs::DOMAIN, &m.domain);
        if m.model_version != 0 {
            a.push((
                Arc::from(attrs::MODEL_VERSION),
                Attribute::Int(m.model_version),
            ));
        }
        push_doc_and_props(&mut a, &m.doc_string, &m.metadata_props);
        Ok(a)
    }

    /// Imports the main graph into `body`; returns the function's attributes.
    fn main_graph(&mut self, body: &mut Body, g: &GraphProto) -> Result<Vec<NamedAttr>> {
        let entry = body.entry_block();
        let mut scopes: Scopes = vec![];
        let input_inits = self.graph(body, entry, g, &mut scopes, GraphKind::Main)?;
        let mut a = vec![];
        push_doc_and_props(&mut a, &g.doc_string, &g.metadata_props);
        if !input_inits.is_empty() {
            a.push((
                Arc::from(attrs::INPUT_INITIALIZERS),
                Attribute::Strings(input_inits),
            ));
        }
        let docs: Vec<NamedAttr> = g
            .input
            .iter()
            .chain(&g.output)
            .chain(&g.value_info)
            .filter(|v| !v.doc_string.is_empty())
            .map(|v| {
                (
                    Arc::from(v.name.as_str()),
                    Attribute::String(v.doc_string.clone()),
                )
            })
            .collect();
        if !docs.is_empty() {
            a.push((Arc::from(attrs::VALUE_DOC_STRINGS), Attribute::Dict(docs)));
        }
        if !g.quantization_annotation.is_empty() {
            let ann = g
                .quantization_annotation
                .iter()
                .map(|t| {
                    (
                        Arc::from(t.tensor_name.as_str()),
                        props_attr(&t.quant_parameter_tensor_names),
                    )
                })
                .collect();
            a.push((
                Arc::from(attrs::QUANTIZATION_ANNOTATION),
                Attribute::Dict(ann),
            ));
        }
        Ok(a)
    }

    /// Imports graph `g` into `block`: inputs as block arguments, initializers as constants, nodes in
    /// topological order, outputs as the terminator's operands. Returns the names of initializers that
    /// were also graph inputs.
    fn graph(
        &mut self,
        body: &mut Body,
        block: BlockId,
        g: &GraphProto,
        scopes: &mut Scopes,
        kind: GraphKind,
    ) -> Result<Vec<String>> {
        scopes.push(FxHashMap::default());
        let result = self.graph_inner(body, block, g, scopes, kind);
        scopes.pop();
        result
    }

    fn graph_inner(
        &mut self,
        body: &mut Body,
        block: BlockId,
        g: &GraphProto,
        scopes: &mut Scopes,
        kind: GraphKind,
    ) -> Result<Vec<String>> {
        let init_names: FxHashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        let mut input_inits = vec![];
        for vi in &g.input {
            if kind == GraphKind::Main && init_names.contains(vi.name.as_str()) {
                input_inits.push(vi.name.clone());
                continue;
            }
            let ty = value_type(vi).map_err(|e| e.context("graph input"))?;
            let v = body.add_block_arg(block, ty, Some(Arc::from(vi.name.as_str())));
            self.define(scopes, &vi.name, v, "graph input")?;
        }
        for t in &g.initializer {
            let data = tensor_from_proto(t, &mut self.src)
                .map_err(|e| e.context(format!("initializer '{}'", t.name)))?;
            let mut extra = vec![];
            push_str(&mut extra, attrs::DOC_STRING, &t.doc_string);
            self.constant(body, block, scopes, &t.name, data, extra)?;
        }
        for s in &g.sparse_initializer {
            let name = s
                .values
                .as_ref()
                .map(|v| v.name.clone())
                .unwrap_or_default();
            let data = sparse_from_proto(s, &mut self.src)
                .map_err(|e| e.context(format!("sparse initializer '{name}'")))?;
            let marker = vec![(Arc::from(attrs::SPARSE_INITIALIZER), Attribute::Unit)];
            self.constant(body, block, scopes, &name, data, marker)?;
        }
        let mut types: FxHashMap<&str, &ValueInfoProto> = FxHashMap::default();
        for vi in g.value_info.iter().chain(&g.output) {
            types.insert(vi.name.as_str(), vi);
        }
        let order = topo_order(&g.node)?;
        let mut no_value = None;
        for i in order {
            let n = &g.node[i];
            self.node(body, block, n, scopes, &types, &mut no_value)
                .map_err(|e| e.context(describe_node(n)))?;
        }
        let mut outs = Vec::with_capacity(g.output.len());
        for vi in &g.output {
            let Some(v) = lookup(scopes, &vi.name) else {
                bail!(
                    "graph output '{}' is not produced by any node, initializer or input",
                    vi.name
                );
            };
            let ty = value_type(vi)?;
            if ty != Type::Unknown && *body.value_type(v) == Type::Unknown {
                body.value_mut(v).ty = ty;
            }
            outs.push(v);
        }
        let terminator = match kind {
            GraphKind::Main => FUNC_RETURN,
            GraphKind::Subgraph => YIELD,
        };
        body.append_new_op(block, terminator, &outs, vec![], vec![]);
        Ok(input_inits)
    }

    fn define(&mut self, scopes: &mut Scopes, name: &str, v: ValueId, what: &str) -> Result<()> {
        if name.is_empty() {
            bail!("a {what} has an empty name");
        }
        let scope = scopes.last_mut().expect("a scope is open");
        if scope.insert(Arc::from(name), v).is_some() {
            bail!("tensor '{name}' is defined twice in the same graph (a {what} reuses its name)");
        }
        Ok(())
    }

    fn constant(
        &mut self,
        body: &mut Body,
        block: BlockId,
        scopes: &mut Scopes,
        name: &str,
        data: onnxqc_ir::TensorData,
        mut extra: Vec<NamedAttr>,
    ) -> Result<()> {
        let ty = Type::tensor(data.elem, &data.shape);
        let mut a: Vec<NamedAttr> = vec![(Arc::from("value"), Attribute::Tensor(data))];
        a.append(&mut extra);
        let op = body.append_new_op(block, "onnx.Constant", &[], vec![ty], a);
        let v = body.op(op).results()[0];
        body.value_mut(v).name = Some(Arc::from(name));
        self.define(scopes, name, v, "initializer")
    }

    fn node(
        &mut self,
        body: &mut Body,
        block: BlockId,
        n: &NodeProto,
        scopes: &mut Scopes,
        types: &FxHashMap<&str, &ValueInfoProto>,
        no_value: &mut Option<ValueId>,
    ) -> Result<()> {
        let mut operands = Vec::with_capacity(n.input.len());
        for name in &n.input {
            if name.is_empty() {
                operands.push(*no_value.get_or_insert_with(|| no_value_op(body, block)));
                continue;
            }
            match lookup(scopes, name) {
                Some(v) => operands.push(v),
                None => {
                    bail!("input '{name}' is not produced by any node, initializer or graph input")
                }
            }
        }
        let mut result_types = Vec::with_capacity(n.output.len());
        for o in &n.output {
            result_types.push(match types.get(o.as_str()) {
                Some(vi) if !o.is_empty() => value_type(vi)?,
                _ => Type::Unknown,
            });
        }
        let kind = op_kind(&n.domain, &n.op_type);
        if n.op_type.is_empty() {
            bail!("the node has no op_type");
        }
        let op = body.create_op(&kind, &operands, result_types, vec![]);
        let attrs = self.node_attrs(body, op, n, scopes)?;
        let data = body.op_mut(op);
        data.attrs = attrs;
        if !n.name.is_empty() {
            data.name = Some(Arc::from(n.name.as_str()));
        }
        body.append_op(block, op);
        let results = body.op(op).results().to_vec();
        for (o, v) in n.output.iter().zip(results) {
            if !o.is_empty() {
                body.value_mut(v).name = Some(Arc::from(o.as_str()));
                self.define(scopes, o, v, "node output")?;
            }
        }
        // A Constant node with a tensor value gets a precise type even without value_info.
        if &*kind == "onnx.Constant" {
            let v = body.op(op).results().first().copied();
            if let (Some(v), Some(ty)) = (v, constant_node_type(body.op(op))) {
                if *body.value_type(v) == Type::Unknown {
                    body.value_mut(v).ty = ty;
                }
            }
        }
        Ok(())
    }

    fn node_attrs(
        &mut self,
        body: &mut Body,
        op: OpId,
        n: &NodeProto,
        scopes: &mut Scopes,
    ) -> Result<Vec<NamedAttr>> {
        let mut out: Vec<NamedAttr> = Vec::with_capacity(n.attribute.len() + 1);
        let mut refs = vec![];
        let mut graph_names = vec![];
        let mut tensor_names = vec![];
        for a in &n.attribute {
            if !a.ref_attr_name.is_empty() {
                refs.push((
                    Arc::from(a.name.as_str()),
                    Attribute::Strings(vec![
                        a.ref_attr_name.clone(),
                        attr_type_name(a.r#type).into(),
                    ]),
                ));
                continue;
            }
            let value = self
                .attribute(body, op, a, scopes, &mut graph_names)
                .map_err(|e| e.context(format!("attribute '{}'", a.name)))?;
            if let Some(t) = &a.t {
                if t.name != default_tensor_name(n, &a.name) {
                    tensor_names.push((
                        Arc::from(a.name.as_str()),
                        Attribute::String(t.name.clone()),
                    ));
                }
            }
            out.push((Arc::from(a.name.as_str()), value));
        }
        if n.domain.is_empty() && n.op_type == "Constant" {
            out.push((Arc::from(attrs::CONSTANT_NODE), Attribute::Unit));
        }
        if !refs.is_empty() {
            out.push((Arc::from(attrs::REF_ATTRS), Attribute::Dict(refs)));
        }
        if !graph_names.is_empty() {
            out.push((Arc::from(attrs::GRAPH_NAMES), Attribute::Dict(graph_names)));
        }
        if !tensor_names.is_empty() {
            out.push((
                Arc::from(attrs::TENSOR_NAMES),
                Attribute::Dict(tensor_names),
            ));
        }
        push_str(&mut out, attrs::OVERLOAD, &n.overload);
        push_doc_and_props(&mut out, &n.doc_string, &n.metadata_props);
        Ok(out)
    }

    /// Converts one attribute; graph attributes become regions of `op`.
    fn attribute(
        &mut self,
        body: &mut Body,
        op: OpId,
        a: &AttributeProto,
        scopes: &mut Scopes,
        graph_names: &mut Vec<NamedAttr>,
    ) -> Result<Attribute> {
        match attr_type(a) {
            5 => {
                let Some(g) = &a.g else {
                    bail!("graph attribute has no graph");
                };
                if !g.name.is_empty() {
                    graph_names.push((
                        Arc::from(a.name.as_str()),
                        Attribute::String(g.name.clone()),
                    ));
                }
                Ok(Attribute::Graph(self.subgraph(body, op, g, scopes)?))
            }
            10 => {
                let mut regions = Vec::with_capacity(a.graphs.len());
                for g in &a.graphs {
                    regions.push(self.subgraph(body, op, g, scopes)?);
                }
                Ok(Attribute::Graphs(regions))
            }
            _ => self.plain_attribute(a),
        }
    }

    /// Converts an attribute that holds no graph.
    fn plain_attribute(&mut self, a: &AttributeProto) -> Result<Attribute> {
        let string = |s: &[u8]| utf8(s, || "the string".to_string());
        Ok(match attr_type(a) {
            1 => Attribute::Float(a.f),
            2 => Attribute::Int(a.i),
            3 => Attribute::String(string(&a.s)?),
            4 => match &a.t {
                Some(t) => Attribute::Tensor(tensor_from_proto(t, &mut self.src)?),
                None => bail!("tensor attribute has no tensor"),
            },
            6 => Attribute::Floats(a.floats.clone()),
            7 => Attribute::Ints(a.ints.clone()),
            8 => Attribute::Strings(a.strings.iter().map(|s| string(s)).collect::<Result<_>>()?),
            9 => Attribute::Tensors(
                a.tensors
                    .iter()
                    .map(|t| tensor_from_proto(t, &mut self.src))
                    .collect::<Result<_>>()?,
            ),
            11 => match &a.sparse_tensor {
                Some(s) => Attribute::Tensor(sparse_from_proto(s, &mut self.src)?),
                None => bail!("sparse tensor attribute has no tensor"),
            },
            12 => Attribute::Tensors(
                a.sparse_tensors
                    .iter()
                    .map(|s| sparse_from_proto(s, &mut self.src))
                    .collect::<Result<_>>()?,
            ),
            13 => match &a.tp {
                Some(t) => Attribute::Type(type_from_proto(t)?),
                None => bail!("type attribute has no type"),
            },
            5 | 10 => bail!("graph-valued attributes are not allowed here"),
            14 => bail!("TYPE_PROTOS attributes are not supported"),
            t => bail!("unknown attribute type {t}"),
        })
    }

    /// Imports a subgraph as a new region of `op`; returns the region's index in the op.
    fn subgraph(
        &mut self,
        body: &mut Body,
        op: OpId,
        g: &GraphProto,
        scopes: &mut Scopes,
    ) -> Result<u32> {
        let index = body.op(op).regions().len() as u32;
        let region = body.add_region(op);
        let block = body.region(region).blocks()[0];
        let name = if g.name.is_empty() {
            "(unnamed)"
        } else {
            &g.name
        };
        self.graph(body, block, g, scopes, GraphKind::Subgraph)
            .map_err(|e| e.context(format!("subgraph '{name}'")))?;
        Ok(index)
    }

    fn function(&mut self, f: &FunctionProto) -> Result<Function> {
        let mut func = Function::new(&f.name);
        let body = &mut func.body;
        let entry = body.entry_block();
        let mut scopes: Scopes = vec![FxHashMap::default()];
        let mut types: FxHashMap<&str, &ValueInfoProto> = FxHashMap::default();
        for vi in &f.value_info {
            types.insert(vi.name.as_str(), vi);
        }
        for name in &f.input {
            let ty = match types.get(name.as_str()) {
                Some(vi) => value_type(vi)?,
                None => Type::Unknown,
            };
            let v = body.add_block_arg(entry, ty, Some(Arc::from(name.as_str())));
            self.define(&mut scopes, name, v, "function input")?;
        }
        let mut no_value = None;
        for i in topo_order(&f.node)? {
            let n = &f.node[i];
            self.node(body, entry, n, &mut scopes, &types, &mut no_value)
                .map_err(|e| e.context(describe_node(n)))?;
        }
        let mut outs = vec![];
        for name in &f.output {
            match lookup(&scopes, name) {
                Some(v) => outs.push(v),
                None => bail!("function output '{name}' is not produced by any node"),
            }
        }
        body.append_new_op(entry, FUNC_RETURN, &outs, vec![], vec![]);
        let mut a: Vec<NamedAttr> = vec![(
            Arc::from(attrs::FUNCTION_DOMAIN),
            Attribute::String(f.domain.clone()),
        )];
        push_str(&mut a, attrs::OVERLOAD, &f.overload);
        a.push((Arc::from(attrs::OPSET_IMPORT), opset_attr(&f.opset_import)));
        if !f.attribute.is_empty() {
            a.push((
                Arc::from(attrs::FUNCTION_ATTRIBUTES),
                Attribute::Strings(f.attribute.clone()),
            ));
        }
        if !f.attribute_proto.is_empty() {
            let mut defaults = vec![];
            for ap in &f.attribute_proto {
                let v = self
                    .plain_attribute(ap)
                    .map_err(|e| e.context(format!("default of attribute '{}'", ap.name)))?;
                defaults.push((Arc::from(ap.name.as_str()), v));
            }
            a.push((
                Arc::from(attrs::FUNCTION_ATTRIBUTE_DEFAULTS),
                Attribute::Dict(defaults),
            ));
        }
        push_doc_and_props(&mut a, &f.doc_string, &f.metadata_props);
        func.attrs = a;
        Ok(func)
    }
}

/// The name the exporter gives a tensor attribute's tensor unless told otherwise: a `Constant`'s value
/// is named after its output (as PyTorch and Paddle export it), other tensors have no name.
pub fn default_tensor_name<'a>(n: &'a NodeProto, attr: &str) -> &'a str {
    let is_constant = (n.domain.is_empty() || n.domain == "ai.onnx") && n.op_type == "Constant";
    match n.output.first() {
        Some(out) if is_constant && attr == "value" => out,
        _ => "",
    }
}

/// An `onnx.NoValue` op at the start of `block`; returns its result.
fn no_value_op(body: &mut Body, block: BlockId) -> ValueId {
    let op = body.create_op(NO_VALUE, &[], vec![Type::None], vec![]);
    match body.first_op(block) {
        Some(first) => body.insert_before(first, op),
        None => body.append_op(block, op),
    }
    body.op(op).results()[0]
}

/// The result type a `Constant` node's value attribute implies.
fn constant_node_type(op: &onnxqc_ir::OpData) -> Option<Type> {
    let (name, value) = op.attrs.first()?;
    Some(match (&**name, value) {
        ("value" | "sparse_value", Attribute::Tensor(t)) => Type::tensor(t.elem, &t.shape),
        ("value_float", Attribute::Float(_)) => Type::tensor(ScalarType::F32, &[]),
        ("value_floats", Attribute::Floats(v)) => Type::tensor(ScalarType::F32, &[v.len() as u64]),
        ("value_int", Attribute::Int(_)) => Type::tensor(ScalarType::I64, &[]),
        ("value_ints", Attribute::Ints(v)) => Type::tensor(ScalarType::I64, &[v.len() as u64]),
        ("value_string", Attribute::String(_)) => Type::tensor(ScalarType::String, &[]),
        ("value_strings", Attribute::Strings(v)) => {
            Type::tensor(ScalarType::String, &[v.len() as u64])
        }
        _ => return None,
    })
}

/// The attribute's type code; for old attributes whose `type` is UNDEFINED, from the field that is set.
fn attr_type(a: &AttributeProto) -> i32 {
    if a.r#type != 0 {
        a.r#type
    } else if a.g.is_some() {
        5
    } else if a.t.is_some() {
        4
    } else if a.sparse_tensor.is_some() {
        11
    } else if a.tp.is_some() {
        13
    } else if !a.graphs.is_empty() {
        10
    } else if !a.tensors.is_empty() {
        9
    } else if !a.strings.is_empty() {
        8
    } else if !a.ints.is_empty() {
        7
    } else if !a.floats.is_empty() {
        6
    } else if !a.s.is_empty() {
        3
    } else if a.f != 0.0 {
        1
    } else {
        2
    }
}

/// The name of an attribute type code, as `AttributeProto.AttributeType` spells it.
pub fn attr_type_name(code: i32) -> &'static str {
    match code {
        1 => "FLOAT",
        2 => "INT",
        3 => "STRING",
        4 => "TENSOR",
        5 => "GRAPH",
        6 => "FLOATS",
        7 => "INTS",
        8 => "STRINGS",
        9 => "TENSORS",
        10 => "GRAPHS",
        11 => "SPARSE_TENSOR",
        12 => "SPARSE_TENSORS",
        13 => "TYPE_PROTO",
        14 => "TYPE_PROTOS",
        _ => "UNDEFINED",
    }
}

/// The code of an attribute type name (inverse of [`attr_type_name`]).
pub fn attr_type_code(name: &str) -> i32 {
    (0..=14).find(|&c| attr_type_name(c) == name).unwrap_or(0)
}
