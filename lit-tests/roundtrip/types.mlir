// RUN: onnxqc %s --split-input-file | FileCheck %s

// Symbolic dims live in the #onnx.dims encoding; '?' in the shape stays readable by mlir-opt.
// CHECK-LABEL: func.func @types_symbolic
// CHECK-SAME: tensor<?x3x?x?xf32, #onnx.dims<["batch", 3, "h+1", "?"]>>
func.func @types_symbolic(%x: tensor<?x3x?x?xf32, #onnx.dims<["batch", 3, "h+1", "?"]>>) -> tensor<?x3x?x?xf32, #onnx.dims<["batch", 3, "h+1", "?"]>> {
  func.return %x : tensor<?x3x?x?xf32, #onnx.dims<["batch", 3, "h+1", "?"]>>
}

// -----

// Every element type, unranked tensors, and the ONNX container types.
// CHECK-LABEL: func.func @types_elements
// CHECK-SAME: tensor<*xbf16>, %b: tensor<2xf8E4M3FN>, %c: tensor<2xf8E5M2FNUZ>, %d: tensor<2xi4>, %e: tensor<2xui4>
// CHECK-SAME: %f: tensor<i1>, %g: tensor<2x!onnx.string>, %h: tensor<2xcomplex<f32>>, %i: tensor<0xui64>
// CHECK-SAME: %j: !onnx.seq<tensor<*xf32>>, %k: !onnx.map<i64, tensor<f32>>, %l: !onnx.opt<tensor<2xf16>>, %m: !onnx.sparse<tensor<4x4xf32>>, %n: !onnx.unknown, %o: tensor<2xf4E2M1FN>
func.func @types_elements(%a: tensor<*xbf16>, %b: tensor<2xf8E4M3FN>, %c: tensor<2xf8E5M2FNUZ>, %d: tensor<2xi4>, %e: tensor<2xui4>, %f: tensor<i1>, %g: tensor<2x!onnx.string>, %h: tensor<2xcomplex<f32>>, %i: tensor<0xui64>, %j: !onnx.seq<tensor<*xf32>>, %k: !onnx.map<i64, tensor<f32>>, %l: !onnx.opt<tensor<2xf16>>, %m: !onnx.sparse<tensor<4x4xf32>>, %n: !onnx.unknown, %o: tensor<2xf4E2M1FN>) {
  func.return
}

// -----

// Quantized element types: per tensor, per axis (with a narrowed range), block-wise (sub-channel).
// CHECK-LABEL: func.func @types_quant
// CHECK-SAME: tensor<1x8x!quant.uniform<u8:f32, 0.0125:128>>
// CHECK-SAME: tensor<2x3x!quant.uniform<i8<-127:127>:f32:0, {0.5,0.25}>>
// CHECK-SAME: tensor<2x64x!quant.uniform<i4:f16:{1:32}, {{[{][{]}}0.5:1, 0.25}, {1.0e-5, 2.0:-8{{[}][}]}}>>
func.func @types_quant(%a: tensor<1x8x!quant.uniform<u8:f32, 0.0125:128>>, %b: tensor<2x3x!quant.uniform<i8<-127:127>:f32:0, {0.5,0.25}>>, %c: tensor<2x64x!quant.uniform<i4:f16:{1:32}, {{0.5:1, 0.25}, {1.0e-5, 2.0:-8}}>>) {
  func.return
}

// -----

// Quantize / dequantize ops with their parameters in the types.
// CHECK-LABEL: func.func @types_qdq
// CHECK: %q = "qc.quantize"(%x) : (tensor<2xf32>) -> tensor<2x!quant.uniform<i8:f32, 0.1:-3>>
// CHECK: %d = "qc.dequantize"(%q) : (tensor<2x!quant.uniform<i8:f32, 0.1:-3>>) -> tensor<2xf32>
func.func @types_qdq(%x: tensor<2xf32>) -> tensor<2xf32> {
  %q = "qc.quantize"(%x) : (tensor<2xf32>) -> tensor<2x!quant.uniform<i8:f32, 0.1:-3>>
  %d = "qc.dequantize"(%q) : (tensor<2x!quant.uniform<i8:f32, 0.1:-3>>) -> tensor<2xf32>
  func.return %d : tensor<2xf32>
}
