// RUN: onnxqc %s -passes=dynamic | FileCheck %s
// RUN: onnxqc %s -passes='dynamic{per-channel=true,weight-type=u8}' | FileCheck %s --check-prefix=PCU8
// RUN: onnxqc %s -passes='dynamic{matmul-const-b-only=false}' | FileCheck %s --check-prefix=ANYB
// RUN: onnxqc %s -passes='dynamic{exclude-nodes=[mm]}' 2>&1 | FileCheck %s --check-prefix=EXCL

// x → MatMul(W) → Gemm(transB) ; MatMul of two activations; ONNX Runtime's quantize_dynamic names.
// W = [[1, -0.5], [0.25, -1]]: int8 symmetric, scale 2/254 (max |w| = 1), zero point 0.
// CHECK: %x_quantized, %x_scale, %x_zero_point = "onnx.DynamicQuantizeLinear"(%x)
// CHECK: %W_quantized = "onnx.Constant"() {value = dense<{{\[\[}}127, -64], [32, -127]]> : tensor<2x2xi8>}
// CHECK: %W_scale = "onnx.Constant"() {value = dense<0.007874016> : tensor<f32>}
// CHECK: %W_zero_point = "onnx.Constant"() {value = dense<0> : tensor<i8>}
// CHECK: %m_output_quantized = "onnx.MatMulInteger"(%x_quantized, %W_quantized, %x_zero_point, %W_zero_point)
// CHECK: %m_output_quantized_cast_output = "onnx.Cast"(%m_output_quantized) {to = 1}
// CHECK: %mm_quant_scales_mul$3A0 = "onnx.Mul"(%x_scale, %W_scale)
// CHECK: %m = "onnx.Mul"(%m_output_quantized_cast_output, %mm_quant_scales_mul$3A0)
// The Gemm (transB = 1) becomes MatMul on W transposed, then Add of C.
// CHECK: %W_Transposed_quantized = "onnx.Constant"() {value = dense<{{\[\[}}127, 32], [-64, -127]]> : tensor<2x2xi8>}
// CHECK: "onnx.MatMulInteger"(%m_quantized, %W_Transposed_quantized
// CHECK: %g = "onnx.Add"(%g_MatMul, %c)
// With matmul-const-b-only (the default), the MatMul of two activations stays float.
// CHECK: %s = "onnx.MatMul"(%m, %gt)

// Per column, uint8 asymmetric: [1, 0.25] → scale 1/255, zero point 0; [-0.5, -1] → zero point 255,
// -0.5 → round(127.5) = 128 (half to even).
// PCU8: %W_quantized = "onnx.Constant"() {value = dense<{{\[\[}}255, 128], [64, 0]]> : tensor<2x2xui8>}
// PCU8: %W_scale = "onnx.Constant"() {value = dense<0.003921569> : tensor<2xf32>}
// PCU8: %W_zero_point = "onnx.Constant"() {value = dense<[0, 255]> : tensor<2xui8>}

// ANYB: "onnx.MatMulInteger"(%m_quantized, %gt_quantized, %m_zero_point, %gt_zero_point)

// The summary (stderr, before the IR): the excluded MatMul and the one with a non-constant B stay float.
// EXCL: 1 Gemm op(s) rewritten as MatMul (+ Add)
// EXCL: MatMul 1/3 (1 B is not a constant (matmul-const-b-only), 1 not selected (nodes / exclude-nodes))
// EXCL: %m = "onnx.MatMul"(%x, %W)
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x3xf32> {
  %W = "onnx.Constant"() {value = dense<[[1.0, -0.5], [0.25, -1.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %c = "onnx.Constant"() {value = dense<[0.5, -0.5]> : tensor<2xf32>} : () -> tensor<2xf32>
  %m = "onnx.MatMul"(%x, %W) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32> loc("mm")
  %g = "onnx.Gemm"(%m, %W, %c) {transB = 1} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("gemm")
  %gt = "onnx.Transpose"(%g) {perm = [1, 0]} : (tensor<3x2xf32>) -> tensor<2x3xf32> loc("t")
  %s = "onnx.MatMul"(%m, %gt) : (tensor<3x2xf32>, tensor<2x3xf32>) -> tensor<3x3xf32> loc("scores")
  func.return %s : tensor<3x3xf32>
}
