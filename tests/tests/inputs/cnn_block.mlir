func.func @cnn_block(%image: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = "onnx.Constant"() {value = dense<0.5> : tensor<4x3x3x3xf32>} : () -> tensor<4x3x3x3xf32>
  %w_dup = "onnx.Constant"() {value = dense<0.5> : tensor<4x3x3x3xf32>} : () -> tensor<4x3x3x3xf32>
  %b = "onnx.Constant"() {value = dense<[0.1, 0.2, 0.3, 0.4]> : tensor<4xf32>} : () -> tensor<4xf32>
  %conv1 = "onnx.Conv"(%image, %w, %b) {kernel_shape = [3, 3], pads = [1, 1, 1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc("conv1")
  %conv2 = "onnx.Conv"(%image, %w_dup, %b) {pads = [1, 1, 1, 1], kernel_shape = [3, 3]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc("conv2")
  %relu1 = "onnx.Relu"(%conv1) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %relu2 = "onnx.Relu"(%conv2) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %unused = "onnx.Sigmoid"(%relu1) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %observed = "qc.observe"(%relu1) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %sum = "onnx.Add"(%relu1, %relu2) : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  func.return %sum : tensor<1x4x8x8xf32>
}
