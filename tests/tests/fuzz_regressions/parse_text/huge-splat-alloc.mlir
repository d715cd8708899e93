func.func @f() {
  %0 = "onnx.Constant"() {value = dense<0.0> : tensor<100000x100000xf32>} : () -> tensor<f32>
  func.return
}
