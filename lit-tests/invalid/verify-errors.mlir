// RUN: not onnxqc %s --split-input-file 2>&1 | FileCheck %s

// The verifier names the op (kind and ONNX node name) and points at it.

// CHECK: error: 'onnx.Conv' op "conv1": expected 2 or 3 operands, got 1
// CHECK-NEXT: ┌─ {{.*}}verify-errors.mlir:[[# @LINE + 2]]:8
func.func @arity(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %0 = "onnx.Conv"(%x) : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> loc("conv1")
  func.return %0 : tensor<1x1x4x4xf32>
}

// -----

// CHECK: error: 'onnx.If' op: expected 2 regions, got 1
func.func @regions(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.If"(%c) ({
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: error: 'onnx.If' op: attribute 'else_branch' refers to region #2, but the op has 2 regions
func.func @graph_attr(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.If"(%c) ({
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<2>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: error: 'onnx.If' op: a region block does not end with a terminator (e.g. 'onnx.Yield')
func.func @terminator(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.If"(%c) ({
    %n = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: error: 'onnx.Relu' op: result #0 has type tensor<3x!quant.uniform<i8:f32:0, {0.5,0.25}>>: axis 0 has 3 channels but the type has 2 scales
func.func @per_axis(%x: tensor<3xf32>) {
  %0 = "onnx.Relu"(%x) : (tensor<3xf32>) -> tensor<3x!quant.uniform<i8:f32:0, {0.5,0.25}>>
  func.return
}

// -----

// CHECK: error: 'onnx.Yield' op: a terminator must be the last op of its block
func.func @yield_position(%c: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.If"(%c) ({
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
    %n = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  }, {
    "onnx.Yield"(%x) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: error: 'onnx.Constant' op: result type tensor<3xf32> does not match its value of type tensor<2xf32>
func.func @constant_type() {
  %0 = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<3xf32>
  func.return
}

// -----

// CHECK: error: 'onnx.Add' op "add": operand #1 has type tensor<2xi64> but operand #0 has element type f32
func.func @elementwise_types(%a: tensor<2xf32>, %b: tensor<2xi64>) {
  %0 = "onnx.Add"(%a, %b) : (tensor<2xf32>, tensor<2xi64>) -> tensor<2xf32> loc("add")
  func.return
}

// -----

// CHECK: error: 'qc.quantize' op: expects a float operand and a quantized result of that float type, got element type f32 -> element type !quant.uniform<u8:f16, 0.5>
func.func @quantize_types(%a: tensor<2xf32>) {
  %0 = "qc.quantize"(%a) : (tensor<2xf32>) -> tensor<2x!quant.uniform<u8:f16, 0.5>>
  func.return
}

// -----

// CHECK: error: 'qc.dequantize' op: expects a quantized operand and a float result of its expressed type, got element type f32 -> element type f32
func.func @dequantize_types(%a: tensor<2xf32>) {
  %0 = "qc.dequantize"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  func.return
}
