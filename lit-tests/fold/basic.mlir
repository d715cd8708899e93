// RUN: onnxqc %s --split-input-file -passes=fold | FileCheck %s --check-prefixes=CHECK,EVAL
// RUN: onnxqc %s --split-input-file -passes='fold{shape-only=true}' | FileCheck %s --check-prefixes=CHECK,SHAPE

// Arithmetic on initializers folds (in one walk, through the chain) to constants named after the
// results; the consumed initializers go. Without the evaluator nothing here can be computed.
// CHECK-LABEL: func.func @fold_arith
// EVAL-NEXT: %sum = "onnx.Constant"() {value = dense<[11.0, 22.0]> : tensor<2xf32>} : () -> tensor<2xf32>
// EVAL-NEXT: %prod = "onnx.Constant"() {value = dense<[22.0, 44.0]> : tensor<2xf32>} : () -> tensor<2xf32>
// EVAL-NEXT: %y = "onnx.Add"(%x, %prod)
// EVAL-NEXT: func.return %y, %sum
// SHAPE: "onnx.Add"(%a, %b)
// SHAPE: "onnx.Mul"(%sum, %two)
func.func @fold_arith(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %a = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = "onnx.Constant"() {value = dense<[10.0, 20.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %two = "onnx.Constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %sum = "onnx.Add"(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %prod = "onnx.Mul"(%sum, %two) : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %y = "onnx.Add"(%x, %prod) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %y, %sum : tensor<2xf32>, tensor<2xf32>
}

// -----

// Shape chains with symbolic dims (a transformer's reshape to heads): the dims that are known fold, the
// symbolic ones stay computed. The pass's own shape rules do this, with or without the evaluator.
// CHECK-LABEL: func.func @fold_shape_chain
// CHECK-DAG: %d3 = "onnx.Constant"() {value = dense<64> : tensor<i64>} : () -> tensor<i64>
// CHECK-DAG: %tail = "onnx.Constant"() {value = dense<[12, 64]> : tensor<2xi64>} : () -> tensor<2xi64>
// CHECK-DAG: %n = "onnx.Constant"() {value = dense<[8, 64]> : tensor<2xi32>} : () -> tensor<2xi32>
// CHECK-DAG: %last2 = "onnx.Constant"() {value = dense<[12, 64]> : tensor<2xi64>} : () -> tensor<2xi64>
// CHECK-DAG: %s = "onnx.Shape"(%x)
// CHECK-DAG: %d0 = "onnx.Gather"(%s, %i0) {axis = 0}
// CHECK-DAG: %d0u = "onnx.Unsqueeze"(%d0, %ax)
// CHECK-DAG: %new = "onnx.Concat"(%d0u, %m1, %tail) {axis = 0}
// CHECK-NOT: "onnx.Slice"
// CHECK-NOT: "onnx.Cast"
// CHECK: func.return %new, %d3, %n, %last2
func.func @fold_shape_chain(%x: tensor<?x?x12x64xf32, #onnx.dims<["batch", "seq", 12, 64]>>, %w: tensor<8x64xf32>) -> (tensor<4xi64>, tensor<i64>, tensor<2xi32>, tensor<2xi64>) {
  %i0 = "onnx.Constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i3 = "onnx.Constant"() {value = dense<3> : tensor<i64>} : () -> tensor<i64>
  %ax = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %m1 = "onnx.Constant"() {value = dense<[-1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %st = "onnx.Constant"() {value = dense<[2]> : tensor<1xi64>} : () -> tensor<1xi64>
  %en = "onnx.Constant"() {value = dense<[4]> : tensor<1xi64>} : () -> tensor<1xi64>
  %s = "onnx.Shape"(%x) : (tensor<?x?x12x64xf32, #onnx.dims<["batch", "seq", 12, 64]>>) -> tensor<4xi64>
  %d0 = "onnx.Gather"(%s, %i0) {axis = 0} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %d3 = "onnx.Gather"(%s, %i3) {axis = 0} : (tensor<4xi64>, tensor<i64>) -> tensor<i64>
  %tail = "onnx.Slice"(%s, %st, %en) : (tensor<4xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %d0u = "onnx.Unsqueeze"(%d0, %ax) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %new = "onnx.Concat"(%d0u, %m1, %tail) {axis = 0} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %ws = "onnx.Shape"(%w) : (tensor<8x64xf32>) -> tensor<2xi64>
  %n = "onnx.Cast"(%ws) {to = 6} : (tensor<2xi64>) -> tensor<2xi32>
  %last2 = "onnx.Shape"(%x) {start = -2} : (tensor<?x?x12x64xf32, #onnx.dims<["batch", "seq", 12, 64]>>) -> tensor<2xi64>
  func.return %new, %d3, %n, %last2 : tensor<4xi64>, tensor<i64>, tensor<2xi32>, tensor<2xi64>
}

// -----

// Constant nodes become initializers (the mark goes, value_* attributes become a value tensor); sparse
// constants stay as they are.
// CHECK-LABEL: func.func @fold_constant_nodes
// CHECK-NEXT: %f = "onnx.Constant"() {value = dense<6.0> : tensor<f32>} : () -> tensor<f32> loc("max_const")
// CHECK-NEXT: %i = "onnx.Constant"() {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
// CHECK-NEXT: %t = "onnx.Constant"() {value = dense<1.5> : tensor<f32>} : () -> tensor<f32>
// CHECK-NEXT: %sp = "onnx.Constant"() {sparse_value = dense<[0.0, 2.0]> : tensor<2xf32>, onnx.constant_node} : () -> tensor<2xf32>
func.func @fold_constant_nodes() -> (tensor<f32>, tensor<2xi64>, tensor<f32>, tensor<2xf32>) {
  %f = "onnx.Constant"() {value_float = 6.0 : f32, onnx.constant_node} : () -> tensor<f32> loc("max_const")
  %i = "onnx.Constant"() {value_ints = [1, 2], onnx.constant_node} : () -> tensor<2xi64>
  %t = "onnx.Constant"() {value = dense<1.5> : tensor<f32>, onnx.constant_node} : () -> tensor<f32>
  %sp = "onnx.Constant"() {sparse_value = dense<[0.0, 2.0]> : tensor<2xf32>, onnx.constant_node} : () -> tensor<2xf32>
  func.return %f, %i, %t, %sp : tensor<f32>, tensor<2xi64>, tensor<f32>, tensor<2xf32>
}
