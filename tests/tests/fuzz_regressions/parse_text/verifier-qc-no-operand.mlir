func.func @f() {
  %0 = "qc.dequantize"() : () -> tensor<f32>
  func.return
}
