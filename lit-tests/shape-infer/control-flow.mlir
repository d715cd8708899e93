// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// If: the merge of both branches; dims equal in both are kept, others become fresh symbols.
// CHECK-LABEL: func.func @shape_infer_if
// CHECK: "onnx.Transpose"{{.*}} -> tensor<4x?xf32, #onnx.dims<[4, "n"]>>
// CHECK: }) {then_branch = #onnx.graph<0>, else_branch = #onnx.graph<1>} : (tensor<i1>) -> (tensor<?x4xf32, #onnx.dims<["n", 4]>>, tensor<?x?xf32, #onnx.dims<["unk__0", "unk__1"]>>)
func.func @shape_infer_if(%c: tensor<i1>, %x: tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> (!onnx.unknown, !onnx.unknown) {
  %a, %b = "onnx.If"(%c) ({
    %0 = "onnx.Relu"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown
    %1 = "onnx.Transpose"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown
    "onnx.Yield"(%0, %1) : (!onnx.unknown, !onnx.unknown) -> ()
  }, {
    %2 = "onnx.Neg"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown
    "onnx.Yield"(%2, %x) : (!onnx.unknown, tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> ()
  }) {then_branch = #onnx.graph<0>, else_branch = #onnx.graph<1>} : (tensor<i1>) -> (!onnx.unknown, !onnx.unknown)
  func.return %a, %b : !onnx.unknown, !onnx.unknown
}

// -----

// Loop: block arguments typed from the operands; a constant trip count and no condition give the scan
// output a known leading dim.
// CHECK-LABEL: func.func @shape_infer_loop
// CHECK: ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<?x4xf32, #onnx.dims<["n", 4]>>):
// CHECK: "onnx.ReduceSum"{{.*}} -> tensor<f32>
// CHECK: -> (tensor<?x4xf32, #onnx.dims<["n", 4]>>, tensor<5xf32>)
func.func @shape_infer_loop(%x: tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> (!onnx.unknown, !onnx.unknown) {
  %m = "onnx.Constant"() {value = dense<5> : tensor<i64>} : () -> tensor<i64>
  %none = "onnx.NoValue"() : () -> none
  %acc, %ys = "onnx.Loop"(%m, %none, %x) ({
  ^bb0(%i: !onnx.unknown, %cond: !onnx.unknown, %v: !onnx.unknown):
    %0 = "onnx.Relu"(%v) : (!onnx.unknown) -> !onnx.unknown
    %1 = "onnx.ReduceSum"(%0) {keepdims = 0} : (!onnx.unknown) -> !onnx.unknown
    "onnx.Yield"(%cond, %0, %1) : (!onnx.unknown, !onnx.unknown, !onnx.unknown) -> ()
  }) {body = #onnx.graph<0>} : (tensor<i64>, none, tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> (!onnx.unknown, !onnx.unknown)
  func.return %acc, %ys : !onnx.unknown, !onnx.unknown
}

// -----

// Scan: scan inputs lose their scan axis inside the body; scan outputs gain the sequence length.
// CHECK-LABEL: func.func @shape_infer_scan
// CHECK: ^bb0(%a: tensor<2xf32>, %x: tensor<2xf32>):
// CHECK: -> (tensor<2xf32>, tensor<?x2xf32, #onnx.dims<["t", 2]>>)
func.func @shape_infer_scan(%init: tensor<2xf32>, %xs: tensor<?x2xf32, #onnx.dims<["t", 2]>>) -> (!onnx.unknown, !onnx.unknown) {
  %s, %y = "onnx.Scan"(%init, %xs) ({
  ^bb0(%a: !onnx.unknown, %x: !onnx.unknown):
    %0 = "onnx.Add"(%a, %x) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown
    %1 = "onnx.Identity"(%0) : (!onnx.unknown) -> !onnx.unknown
    "onnx.Yield"(%0, %1) : (!onnx.unknown, !onnx.unknown) -> ()
  }) {body = #onnx.graph<0>, num_scan_inputs = 1} : (tensor<2xf32>, tensor<?x2xf32, #onnx.dims<["t", 2]>>) -> (!onnx.unknown, !onnx.unknown)
  func.return %s, %y : !onnx.unknown, !onnx.unknown
}
