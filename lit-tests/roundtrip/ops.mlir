// RUN: onnxqc %s --split-input-file | FileCheck %s
// RUN: onnxqc %s --split-input-file | onnxqc - --split-input-file | FileCheck %s

// Ops, names, multi-results, locations and attributes survive a round trip.

// CHECK-LABEL: func.func @roundtrip_conv
// CHECK: %[[Y:.*]] = "onnx.Conv"(%x, %w, %b) {dilations = [1, 1], group = 1, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]}
// CHECK-SAME: loc("conv1")
// CHECK: func.return %[[Y]]
func.func @roundtrip_conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = "onnx.Conv"(%x, %w, %b) {dilations = [1, 1], group = 1, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32> loc("conv1")
  func.return %0 : tensor<1x4x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @roundtrip_multi_result
// CHECK: %[[S:.*]]:2 = "onnx.Split"(%x) {axis = 0}
// CHECK: "onnx.Add"(%[[S]]#0, %[[S]]#1)
func.func @roundtrip_multi_result(%x: tensor<4xf32>) -> tensor<2xf32> {
  %0:2 = "onnx.Split"(%x) {axis = 0} : (tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  %1 = "onnx.Add"(%0#0, %0#1) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %1 : tensor<2xf32>
}

// -----

// ONNX tensor names that are not MLIR identifiers are escaped as $XX.
// CHECK-LABEL: func.func @roundtrip_names
// CHECK-SAME: (%input.1: tensor<2xf32>)
// CHECK: %$2Fmodel$2Frelu$2FRelu_output_0, %onnx$3A$3Ax = "onnx.Split"(%input.1)
func.func @roundtrip_names(%input.1: tensor<2xf32>) -> (tensor<1xf32>, tensor<1xf32>) {
  %$2Fmodel$2Frelu$2FRelu_output_0, %onnx$3A$3Ax = "onnx.Split"(%input.1) {axis = 0} : (tensor<2xf32>) -> (tensor<1xf32>, tensor<1xf32>) loc("/model/relu/Relu")
  func.return %$2Fmodel$2Frelu$2FRelu_output_0, %onnx$3A$3Ax : tensor<1xf32>, tensor<1xf32>
}

// -----

// All attribute kinds.
// CHECK-LABEL: func.func @roundtrip_attrs
// CHECK: {f = 1.0e-5 : f32, fs = array<f32: 0.5, -2.0>, i = -3, is = [], s = "a\"b\n", ss = ["x", "y"], t = tensor<2xf32>, flag, d = {k = 1}}
func.func @roundtrip_attrs(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "custom.Op"(%x) {f = 1.0e-5 : f32, fs = array<f32: 0.5, -2.0>, i = -3, is = [], s = "a\"b\n", ss = ["x", "y"], t = tensor<2xf32>, flag, d = {k = 1}} : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// Module attributes (ONNX model-level data) and several functions.
// CHECK: module attributes {onnx.ir_version = 9, onnx.opset_import = {ai.onnx = 17, com.microsoft = 1}} {
// CHECK-LABEL: func.func @main
// CHECK-LABEL: func.func @helper
module attributes {onnx.ir_version = 9, onnx.opset_import = {ai.onnx = 17, com.microsoft = 1}} {
  func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %0 = "onnx.Relu"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    func.return %0 : tensor<2xf32>
  }
  func.func @helper() {
    func.return
  }
}
