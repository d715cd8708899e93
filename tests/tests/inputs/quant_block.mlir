// Conv(bias) → Relu → MaxPool → Reshape → MatMul(const) + Add; a Gather from a constant table.
func.func @main(%x: tensor<1x2x4x4xf32>, %ids: tensor<2xi64>) -> (tensor<1x3xf32>, tensor<2x3xf32>) {
  %w = "onnx.Constant"() {value = dense<[[[[2.0]], [[-1.0]]], [[[0.5]], [[-2.0]]]]> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
  %b = "onnx.Constant"() {value = dense<[0.5, -0.25]> : tensor<2xf32>} : () -> tensor<2xf32>
  %c = "onnx.Conv"(%x, %w, %b) : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv")
  %r = "onnx.Relu"(%c) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("relu")
  %p = "onnx.MaxPool"(%r) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> loc("pool")
  %s = "onnx.Constant"() {value = dense<[1, 8]> : tensor<2xi64>} : () -> tensor<2xi64>
  %f = "onnx.Reshape"(%p, %s) : (tensor<1x2x2x2xf32>, tensor<2xi64>) -> tensor<1x8xf32> loc("reshape")
  %m = "onnx.Constant"() {value = dense<[[0.5, -0.25, 1.0], [0.1, 0.2, 0.3], [-1.0, 0.0, 0.5], [0.25, 0.75, -0.5], [0.5, -0.25, 1.0], [0.1, 0.2, 0.3], [-1.0, 0.0, 0.5], [0.25, 0.75, -0.5]]> : tensor<8x3xf32>} : () -> tensor<8x3xf32>
  %mm = "onnx.MatMul"(%f, %m) : (tensor<1x8xf32>, tensor<8x3xf32>) -> tensor<1x3xf32> loc("matmul")
  %bias = "onnx.Constant"() {value = dense<[0.1, -0.1, 0.0]> : tensor<3xf32>} : () -> tensor<3xf32>
  %y = "onnx.Add"(%mm, %bias) : (tensor<1x3xf32>, tensor<3xf32>) -> tensor<1x3xf32> loc("add")
  %t = "onnx.Constant"() {value = dense<[[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0], [0.5, 0.0, -0.5]]> : tensor<3x3xf32>} : () -> tensor<3x3xf32>
  %e = "onnx.Gather"(%t, %ids) : (tensor<3x3xf32>, tensor<2xi64>) -> tensor<2x3xf32> loc("embed")
  func.return %y, %e : tensor<1x3xf32>, tensor<2x3xf32>
}
