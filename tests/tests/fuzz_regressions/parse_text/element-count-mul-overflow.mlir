func.func @f() {
  %0 = "onnx.Constant"() {value = dense<0.0> : tensor<4294967296x4294967296xf32>} : () -> tensor<f32>
  func.return
}
