func.func @subgraphs(%cond: tensor<i1>, %x: tensor<2xf32>) -> tensor<2xf32> {
  %outer = "onnx.Abs"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %0 = "onnx.If"(%cond) ({
    %inner = "onnx.Abs"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    %dead = "onnx.Exp"(%inner) : (tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%inner) : (tensor<2xf32>) -> ()
  }, {
    %n = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    %n2 = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
    %s = "onnx.Add"(%n, %n2) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    "onnx.Yield"(%s) : (tensor<2xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2xf32>
  %1 = "onnx.Add"(%0, %outer) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %1 : tensor<2xf32>
}
