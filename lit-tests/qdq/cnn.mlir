// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq' | FileCheck %s
// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{per-channel=true}' | FileCheck %s --check-prefix=PC
// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{keep-removable-activations=true,quantize-bias=false}' | FileCheck %s --check-prefix=KEEP
// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{activation-type=u8,weight-type=u8,add-qdq-pair-to-weight=true}' | FileCheck %s --check-prefix=U8
// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{power-of-two=true}' | FileCheck %s --check-prefix=P2
// RUN: onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{overrides=%S/Inputs/overrides.json}' | FileCheck %s --check-prefix=OV

// Conv (bias) → Relu → MaxPool → Reshape, S8S8 as ONNX Runtime's quantize_static:
// - x: scale 2/255, zero point round(-128 + 1/(2/255)) = 0 (round half to even of -0.5).
// - The Relu goes: the Conv writes its output (named r now) with the Relu's range [0, 3].
// - MaxPool and Reshape outputs share r's scale and zero point (the same constants).
// - The weight is stored as int8 (symmetric, zero point 0), the bias as int32 with scale s_x·s_w.
// CHECK: %x_scale = "onnx.Constant"() {value = dense<0.007843138> : tensor<f32>}
// CHECK: %x_zero_point = "onnx.Constant"() {value = dense<0> : tensor<i8>}
// CHECK: %x_QuantizeLinear_Output = "onnx.QuantizeLinear"(%x, %x_scale, %x_zero_point)
// CHECK: %x_DequantizeLinear_Output = "onnx.DequantizeLinear"(%x_QuantizeLinear_Output, %x_scale, %x_zero_point)
// CHECK: %w_scale = "onnx.Constant"() {value = dense<0.015748031> : tensor<f32>}
// CHECK: %r_scale = "onnx.Constant"() {value = dense<0.011764706> : tensor<f32>}
// CHECK: %r_zero_point = "onnx.Constant"() {value = dense<-128> : tensor<i8>}
// CHECK: %w_quantized = "onnx.Constant"() {value = dense<{{\[\[\[\[}}127]], {{\[\[}}-64]]], {{\[\[\[}}32]], {{\[\[}}-127]]]]> : tensor<2x2x1x1xi8>}
// CHECK: %w_DequantizeLinear_Output = "onnx.DequantizeLinear"(%w_quantized, %w_scale, %w_zero_point)
// CHECK: %b_quantized = "onnx.Constant"() {value = dense<[4048, -2024]> : tensor<2xi32>}
// CHECK: %b_quantized_scale = "onnx.Constant"() {value = dense<[0.00012351398]> : tensor<1xf32>}
// CHECK: %b = "onnx.DequantizeLinear"(%b_quantized, %b_quantized_scale, %b_quantized_zero_point)
// CHECK: %r = "onnx.Conv"(%x_DequantizeLinear_Output, %w_DequantizeLinear_Output, %b)
// CHECK-NOT: onnx.Relu
// CHECK: "onnx.QuantizeLinear"(%r, %r_scale, %r_zero_point)
// CHECK: %p = "onnx.MaxPool"(%r_DequantizeLinear_Output)
// CHECK: "onnx.QuantizeLinear"(%p, %r_scale, %r_zero_point)
// CHECK: %y = "onnx.DequantizeLinear"(%y_QuantizeLinear_Output, %r_scale, %r_zero_point)
// CHECK: func.return %y

// Per channel: one scale per output channel (both channels have |w| max 2 here), axis 0; the bias
// scale and zero point per channel too.
// PC: %w_scale = "onnx.Constant"() {value = dense<0.015748031> : tensor<2xf32>}
// PC: %w_zero_point = "onnx.Constant"() {value = dense<0> : tensor<2xi8>}
// PC: "onnx.DequantizeLinear"(%w_quantized, %w_scale, %w_zero_point) {axis = 0}
// PC: %b_quantized_zero_point = "onnx.Constant"() {value = dense<0> : tensor<2xi32>}
// PC: "onnx.DequantizeLinear"(%b_quantized, %b_quantized_scale, %b_quantized_zero_point) {axis = 0}

// Keeping the Relu: the Conv output keeps its own Q/DQ, with the Relu's range (ONNX Runtime's
// adjustment of a Relu input), and the bias stays float.
// KEEP: %c_scale = "onnx.Constant"() {value = dense<0.011764706> : tensor<f32>}
// KEEP: %c = "onnx.Conv"(%x_DequantizeLinear_Output, %w_DequantizeLinear_Output, %b)
// KEEP: %r = "onnx.Relu"(%c_DequantizeLinear_Output)

// With uint8 types: asymmetric uint8 weights, kept float behind a Q/DQ pair.
// U8: %w_zero_point = "onnx.Constant"() {value = dense<128> : tensor<ui8>}
// U8: %w_QuantizeLinear_Output = "onnx.QuantizeLinear"(%w, %w_scale, %w_zero_point)
// Power-of-two scales (ESP-DL): each scale rounds up (2/255 = 0.00784 is just above 2^-7, so 2^-6;
// 3/255 → 2^-6; 2/127 → 2^-5), and the bias scale is their product 2^-11.
// P2: %x_scale = "onnx.Constant"() {value = dense<0.015625> : tensor<f32>}
// P2: %w_scale = "onnx.Constant"() {value = dense<0.03125> : tensor<f32>}
// P2: %r_scale = "onnx.Constant"() {value = dense<0.015625> : tensor<f32>}
// P2: %b_quantized_scale = "onnx.Constant"() {value = dense<[0.00048828125]> : tensor<1xf32>}
func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x8xf32> {
  %w = "onnx.Constant"() {value = dense<[[[[2.0]], [[-1.0]]], [[[0.5]], [[-2.0]]]]> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, -0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.Conv"(%x, %w, %b) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %r = "onnx.Relu"(%c) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("relu")
  %p = "onnx.MaxPool"(%r) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> loc("pool")
  %s = "onnx.Constant"() {value = dense<[1, 8]> : tensor<2xi64>} : () -> tensor<2xi64>
  %y = "onnx.Reshape"(%p, %s) : (tensor<1x2x2x2xf32>, tensor<2xi64>) -> tensor<1x8xf32> loc("reshape")
  func.return %y : tensor<1x8xf32>
}

// Tensor overrides (Inputs/overrides.json): x is uint16 over [-2, 2] (scale 4/65535, zero point
// round(32767.5) = 32768); w is per channel although per-channel is off; the bias b has overrides, so
// it is quantized as a weight (int8, symmetric: scale 0.5/127); r's scale and zero point are given.
// OV: %x_scale = "onnx.Constant"() {value = dense<6.103609e-5> : tensor<f32>}
// OV: %x_zero_point = "onnx.Constant"() {value = dense<32768> : tensor<ui16>}
// OV: %w_scale = "onnx.Constant"() {value = dense<0.015748031> : tensor<2xf32>}
// OV: %b_scale = "onnx.Constant"() {value = dense<0.003937008> : tensor<f32>}
// OV: %r_scale = "onnx.Constant"() {value = dense<0.5> : tensor<f32>}
// OV: %r_zero_point = "onnx.Constant"() {value = dense<-10> : tensor<i8>}
// OV: "onnx.DequantizeLinear"(%w_quantized, %w_scale, %w_zero_point) {axis = 0}
// OV: %b_quantized = "onnx.Constant"() {value = dense<[127, -64]> : tensor<2xi8>}
// OV: %r = "onnx.Conv"(%x_DequantizeLinear_Output, %w_DequantizeLinear_Output, %b_DequantizeLinear_Output)
