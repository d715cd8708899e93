func.func @f(%a: tensor<f32>) {
  %$$1 = "onnx.Relu"(%a) : (tensor<f32>) -> tensor<f32>
  func.return
}
