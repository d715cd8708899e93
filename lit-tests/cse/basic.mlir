// RUN: onnxqc %s --split-input-file -passes=cse | FileCheck %s
// RUN: onnxqc %s --split-input-file -passes='cse{include-unknown=true},dce' | FileCheck %s --check-prefix=UNKNOWN

// Identical pure ops merge; attribute order does not matter; different attributes keep ops apart.
// CHECK-LABEL: func.func @cse_pure
// CHECK: %[[T:.*]] = "onnx.Transpose"(%x) {perm = [1, 0]}
// CHECK-NOT: {perm = [1, 0]}
// CHECK: %[[G:.*]] = "onnx.Gemm"(%x, %x) {alpha = 1.0 : f32, transB = 1}
// CHECK-NOT: "onnx.Gemm"(%x, %x) {transB = 1, alpha = 1.0 : f32}
// CHECK: %[[G2:.*]] = "onnx.Gemm"(%x, %x) {alpha = 2.0 : f32, transB = 1}
// CHECK: "onnx.Sum"(%[[T]], %[[T]], %[[G]], %[[G]], %[[G2]])
func.func @cse_pure(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = "onnx.Transpose"(%x) {perm = [1, 0]} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = "onnx.Transpose"(%x) {perm = [1, 0]} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %2 = "onnx.Gemm"(%x, %x) {alpha = 1.0 : f32, transB = 1} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %3 = "onnx.Gemm"(%x, %x) {transB = 1, alpha = 1.0 : f32} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %4 = "onnx.Gemm"(%x, %x) {alpha = 2.0 : f32, transB = 1} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %5 = "onnx.Sum"(%0, %1, %2, %3, %4) : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  func.return %5 : tensor<2x2xf32>
}

// -----

// Constants with equal contents merge (repeated initializers); different contents do not.
// CHECK-LABEL: func.func @cse_constants
// CHECK: %w = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>}
// CHECK-NEXT: %w3 = "onnx.Constant"() {value = dense<[1.0, 3.0]> : tensor<2xf32>}
// CHECK-NEXT: "onnx.Add"(%w, %w)
func.func @cse_constants() -> (tensor<2xf32>, tensor<2xf32>) {
  %w = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %w2 = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %w3 = "onnx.Constant"() {value = dense<[1.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %0 = "onnx.Add"(%w, %w2) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %0, %w3 : tensor<2xf32>, tensor<2xf32>
}

// -----

// Non-deterministic ops never merge; unknown ops merge only with include-unknown=true.
// CHECK-LABEL: func.func @cse_effects
// CHECK-COUNT-2: "onnx.RandomNormal"
// CHECK-COUNT-2: "custom.Op"
// UNKNOWN-LABEL: func.func @cse_effects
// UNKNOWN-COUNT-2: "onnx.RandomNormal"
// UNKNOWN-COUNT-1: "custom.Op"
// UNKNOWN-NOT: "custom.Op"
func.func @cse_effects(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %0 = "onnx.RandomNormal"() {shape = [2]} : () -> tensor<2xf32>
  %1 = "onnx.RandomNormal"() {shape = [2]} : () -> tensor<2xf32>
  %2 = "custom.Op"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %3 = "custom.Op"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %4 = "onnx.Add"(%2, %3) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %0, %1, %4, %4 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// An op in a region reuses an equivalent op defined before the region; ops in sibling regions do not
// see each other.
// CHECK-LABEL: func.func @cse_scopes
// CHECK: %[[N:.*]] = "onnx.Neg"(%x)
// CHECK: "custom.If3"(%c) ({
// CHECK-NEXT: "onnx.Yield"(%[[N]])
// CHECK-NEXT: }, {
// CHECK-NEXT: %[[A:.*]] = "onnx.Abs"(%x)
// CHECK-NEXT: "onnx.Yield"(%[[A]])
// CHECK-NEXT: }, {
// CHECK-NEXT: %[[A2:.*]] = "onnx.Abs"(%x)
// CHECK-NEXT: "onnx.Yield"(%[[A2]])
func.func @cse_scopes(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %n = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %0 = "custom.If3"(%c) ({
    %n2 = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%n2) : (tensor<2xf32>) -> ()
  }, {
    %a = "onnx.Abs"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%a) : (tensor<2xf32>) -> ()
  }, {
    %a2 = "onnx.Abs"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%a2) : (tensor<2xf32>) -> ()
  }) : (tensor<i1>) -> tensor<2xf32>
  %1 = "onnx.Add"(%0, %n) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %1 : tensor<2xf32>
}

// -----

// A duplicate that is a function output keeps its own op, so the output keeps its name.
// CHECK-LABEL: func.func @cse_outputs
// CHECK: %out1 = "onnx.Relu"(%x)
// CHECK: %out2 = "onnx.Relu"(%x)
func.func @cse_outputs(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %out1 = "onnx.Relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %out2 = "onnx.Relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %out1, %out2 : tensor<2xf32>, tensor<2xf32>
}
