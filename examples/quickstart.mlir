// A small CNN block as onnxqc's text IR: a duplicated weight, a duplicated Conv and a dead branch that
// `-passes=cse,dce` cleans up. Run: target/release/onnxqc examples/quickstart.mlir -passes=cse,dce
module attributes {onnx.ir_version = 8, onnx.opset_import = {ai.onnx = 17}} {
  func.func @main_graph(%image: tensor<?x3x32x32xf32, #onnx.dims<["batch", 3, 32, 32]>>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> {
    %conv.weight = "onnx.Constant"() {value = dense<0.03125> : tensor<8x3x3x3xf32>} : () -> tensor<8x3x3x3xf32>
    %conv.weight.copy = "onnx.Constant"() {value = dense<0.03125> : tensor<8x3x3x3xf32>} : () -> tensor<8x3x3x3xf32>
    %conv.bias = "onnx.Constant"() {value = dense<[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]> : tensor<8xf32>} : () -> tensor<8xf32>
    %$2Fconv$2FConv_output_0 = "onnx.Conv"(%image, %conv.weight, %conv.bias) {kernel_shape = [3, 3], pads = [1, 1, 1, 1]} : (tensor<?x3x32x32xf32, #onnx.dims<["batch", 3, 32, 32]>>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> loc("/conv/Conv")
    %$2Fconv2$2FConv_output_0 = "onnx.Conv"(%image, %conv.weight.copy, %conv.bias) {kernel_shape = [3, 3], pads = [1, 1, 1, 1]} : (tensor<?x3x32x32xf32, #onnx.dims<["batch", 3, 32, 32]>>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> loc("/conv2/Conv")
    %$2Frelu$2FRelu_output_0 = "onnx.Relu"(%$2Fconv$2FConv_output_0) : (tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> loc("/relu/Relu")
    %$2Fdebug$2FSigmoid_output_0 = "onnx.Sigmoid"(%$2Fconv2$2FConv_output_0) : (tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> loc("/debug/Sigmoid")
    %output = "onnx.Add"(%$2Frelu$2FRelu_output_0, %$2Fconv2$2FConv_output_0) : (tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>>, tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>>) -> tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>> loc("/add/Add")
    func.return %output : tensor<?x8x32x32xf32, #onnx.dims<["batch", 8, 32, 32]>>
  }
}
