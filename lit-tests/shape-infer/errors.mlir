// RUN: not onnxqc %s --split-input-file -passes=shape-infer 2>&1 | FileCheck %s
// RUN: not onnxqc %s --split-input-file -passes='shape-infer{strict=true}' 2>&1 | FileCheck %s --check-prefix=STRICT
// RUN: onnxqc %s --split-input-file -passes='shape-infer{ignore-errors=true}' --time-passes 2>&1 | FileCheck %s --check-prefix=IGNORE

// Provably malformed ops are errors naming the op and where it is; `ignore-errors=true` counts them instead.
// CHECK: error: 'onnx.MatMul' op "mm": inner dims differ: 3 and 4
// CHECK-NEXT: errors.mlir:{{[0-9]+}}:8
// IGNORE: shape-infer {{.*}}errors-ignored=1
func.func @shape_infer_matmul_mismatch(%a: tensor<?x3xf32, #onnx.dims<["n", 3]>>, %b: tensor<4x5xf32>) -> !onnx.unknown {
  %0 = "onnx.MatMul"(%a, %b) : (tensor<?x3xf32, #onnx.dims<["n", 3]>>, tensor<4x5xf32>) -> !onnx.unknown loc("mm")
  func.return %0 : !onnx.unknown
}

// -----


// CHECK: error: 'onnx.Conv' op: input has 3 channels but the weights expect 4 (4 per group, group = 1)
func.func @shape_infer_conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<16x4x3x3xf32>) -> !onnx.unknown {
  %0 = "onnx.Conv"(%x, %w) : (tensor<1x3x8x8xf32>, tensor<16x4x3x3xf32>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}

// -----


// CHECK: error: 'onnx.Reshape' op: cannot reshape 6 elements into a shape with 8 elements
func.func @shape_infer_reshape_count(%x: tensor<2x3xf32>) -> !onnx.unknown {
  %s = "onnx.Constant"() {value = dense<[4, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %0 = "onnx.Reshape"(%x, %s) : (tensor<2x3xf32>, tensor<2xi64>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}

// -----

// A known dim that contradicts the declared one: counted and the inferred dim wins; an error with
// strict=true.
// CHECK: func.func @shape_infer_declared_conflict(%x: tensor<2x3xf32>) -> tensor<2x3xf32>
// STRICT: error: 'onnx.Relu' op: inferred dim 0 = 2 but the declared type says 3
// IGNORE: shape-infer {{.*}}conflicts=1
func.func @shape_infer_declared_conflict(%x: tensor<2x3xf32>) -> tensor<3x3xf32> {
  %0 = "onnx.Relu"(%x) : (tensor<2x3xf32>) -> tensor<3x3xf32>
  func.return %0 : tensor<3x3xf32>
}
