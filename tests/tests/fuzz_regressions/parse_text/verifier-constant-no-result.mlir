func.func @f() {
  "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> ()
  func.return
}
