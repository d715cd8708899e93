func.func @f(%x: tensor<f32>) {
  "qc.quantize"(%x) : (tensor<f32>) -> ()
  func.return
}
