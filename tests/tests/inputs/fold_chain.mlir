func.func @fold_chain(%x: tensor<?x?x64xf32, #onnx.dims<["batch", "seq", 64]>>) -> tensor<?x?x4x16xf32, #onnx.dims<["batch", "seq", 4, 16]>> {
  %w = "onnx.Constant"() {value = dense<0.5> : tensor<64x64xf32>} : () -> tensor<64x64xf32>
  %scale = "onnx.Constant"() {value = dense<0.125> : tensor<f32>, onnx.constant_node} : () -> tensor<f32>
  %i0 = "onnx.Constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %i1 = "onnx.Constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %ax = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %heads = "onnx.Constant"() {value_ints = [4, 16], onnx.constant_node} : () -> tensor<2xi64>
  %wt = "onnx.Transpose"(%w) {perm = [1, 0]} : (tensor<64x64xf32>) -> tensor<64x64xf32>
  %ws = "onnx.Mul"(%wt, %scale) : (tensor<64x64xf32>, tensor<f32>) -> tensor<64x64xf32>
  %q = "onnx.MatMul"(%x, %ws) : (tensor<?x?x64xf32, #onnx.dims<["batch", "seq", 64]>>, tensor<64x64xf32>) -> tensor<?x?x64xf32, #onnx.dims<["batch", "seq", 64]>>
  %s = "onnx.Shape"(%x) : (tensor<?x?x64xf32, #onnx.dims<["batch", "seq", 64]>>) -> tensor<3xi64>
  %b = "onnx.Gather"(%s, %i0) {axis = 0} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %t = "onnx.Gather"(%s, %i1) {axis = 0} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %bu = "onnx.Unsqueeze"(%b, %ax) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %tu = "onnx.Unsqueeze"(%t, %ax) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %shape = "onnx.Concat"(%bu, %tu, %heads) {axis = 0} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %y = "onnx.Reshape"(%q, %shape) : (tensor<?x?x64xf32, #onnx.dims<["batch", "seq", 64]>>, tensor<4xi64>) -> tensor<?x?x4x16xf32, #onnx.dims<["batch", "seq", 4, 16]>>
  func.return %y : tensor<?x?x4x16xf32, #onnx.dims<["batch", "seq", 4, 16]>>
}
