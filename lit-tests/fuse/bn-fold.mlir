// RUN: onnxqc %s --split-input-file -passes='fuse{rules=bn-fold}' | FileCheck %s

// Conv + BatchNormalization: the weight and bias are folded (scale = s / sqrt(var + eps)).
// CHECK-LABEL: func.func @bn_conv
// CHECK-DAG: %[[B:.*]] = "onnx.Constant"() {value = dense<[0.5, -0.75]> : tensor<2xf32>}
// CHECK-DAG: %[[W:.*]] = "onnx.Constant"() {value = dense<{{.*}}1.0{{.*}}2.0{{.*}}> : tensor<2x1x1x1xf32>}
// CHECK: %y = "onnx.Conv"(%x, %[[W]], %[[B]]) {group = 2} : {{.*}} loc("conv")
// CHECK-NOT: BatchNormalization
func.func @bn_conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = "onnx.Constant"() {value = dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>} : () -> tensor<2x1x1x1xf32>
  %s = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "onnx.Constant"() {value = dense<[0.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %v = "onnx.Constant"() {value = dense<[1.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.Conv"(%x, %w) {group = 2} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %y = "onnx.BatchNormalization"(%c, %s, %b, %m, %v) {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("bn")
  func.return %y : tensor<1x2x4x4xf32>
}

// -----

// Gemm (transB = 1) + BatchNormalization: B's rows and C are folded; beta becomes 1.
// CHECK-LABEL: func.func @bn_gemm
// CHECK: "onnx.Gemm"(%x, %{{.*}}, %{{.*}}) {beta = 1.0 : f32, transB = 1}
// CHECK-NOT: BatchNormalization
func.func @bn_gemm(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = "onnx.Constant"() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %c0 = "onnx.Constant"() {value = dense<[1.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %s = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "onnx.Constant"() {value = dense<[0.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %v = "onnx.Constant"() {value = dense<[1.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %g = "onnx.Gemm"(%x, %w, %c0) {beta = 2.0 : f32, transB = 1} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y = "onnx.BatchNormalization"(%g, %s, %b, %m, %v) : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  func.return %y : tensor<3x2xf32>
}

// -----

// ConvTranspose (W is [C_in, M/group, k, k]) + BatchNormalization.
// CHECK-LABEL: func.func @bn_conv_transpose
// CHECK: "onnx.ConvTranspose"(%x, %{{.*}}, %{{.*}})
// CHECK-NOT: BatchNormalization
func.func @bn_conv_transpose(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x5x5xf32> {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<2x1x2x2xf32>} : () -> tensor<2x1x2x2xf32>
  %s = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, 0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "onnx.Constant"() {value = dense<[0.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %v = "onnx.Constant"() {value = dense<[1.0, 4.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.ConvTranspose"(%x, %w) {group = 2} : (tensor<1x2x4x4xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x5x5xf32>
  %y = "onnx.BatchNormalization"(%c, %s, %b, %m, %v) : (tensor<1x2x5x5xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  func.return %y : tensor<1x2x5x5xf32>
}

// -----

// Not folded: the Conv output has another reader (folding would duplicate the Conv), and a BN in
// training mode.
// CHECK-LABEL: func.func @bn_illegal
// CHECK-COUNT-2: "onnx.BatchNormalization"
func.func @bn_illegal(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = "onnx.Constant"() {value = dense<1.0> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %s = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.Conv"(%x, %w) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y = "onnx.BatchNormalization"(%c, %s, %s, %s, %s) : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %c2 = "onnx.Conv"(%x, %w) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %y2 = "onnx.BatchNormalization"(%c2, %s, %s, %s, %s) {training_mode = 1} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %y, %c, %y2 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
