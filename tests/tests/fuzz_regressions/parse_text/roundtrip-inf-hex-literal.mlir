func.func @f() {
  %0 = "onnx.Constant"() {value = dense<[3.1e40]> : tensor<1xf32>} : () -> tensor<1xf32>
  func.return
}
