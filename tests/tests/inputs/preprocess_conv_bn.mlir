module attributes {onnx.ir_version = 7, onnx.opset_import = {ai.onnx = 13}} {
  func.func @conv_bn_block(%x: tensor<?x3x?x?xf32, #onnx.dims<["N", 3, "H", "W"]>>) -> tensor<*xf32> {
    %w1 = "onnx.Constant"() {value = dense<[[[[-0.04866072]], [[-0.21762824]], [[-0.047797266]]], [[[0.22803198]], [[-0.119131595]], [[0.08505388]]], [[[-0.16251118]], [[-0.07912975]], [[0.19952448]]], [[[-0.35119638]], [[-0.4952633]], [[-0.15218614]]]]> : tensor<4x3x1x1xf32>} : () -> tensor<4x3x1x1xf32>
    %w2 = "onnx.Constant"() {value = dense<[0.26850075, -0.24772905, 0.25141838, 0.07169665]> : tensor<4xf32>} : () -> tensor<4xf32>
    %scale5 = "onnx.Constant"() {value = dense<[0.8290684, 0.8573483, 0.5715518, 0.8660426]> : tensor<4xf32>} : () -> tensor<4xf32>
    %bias6 = "onnx.Constant"() {value = dense<[-0.006368506, -0.108885, 0.1828321, -0.041803643]> : tensor<4xf32>} : () -> tensor<4xf32>
    %mean7 = "onnx.Constant"() {value = dense<[0.118864514, -0.179478, 0.01217947, -0.17228849]> : tensor<4xf32>} : () -> tensor<4xf32>
    %var8 = "onnx.Constant"() {value = dense<[0.9714009, 0.94894075, 1.499551, 0.737107]> : tensor<4xf32>} : () -> tensor<4xf32>
    %w13 = "onnx.Constant"() {value = dense<[[[[0.053660758, -0.3164314, -0.22059968], [-0.29493892, -0.16575792, 0.028819863], [0.011579811, 0.24898079, 0.10334175]]], [[[-0.16583584, -0.26902846, 0.15802659], [-0.19850565, -0.1649371, -0.3689822], [-0.3170004, -0.16927467, -0.07012184]]], [[[0.096596554, 0.044915937, 0.13859828], [-0.49516168, -0.029173464, 0.41810656], [-0.5958553, -0.09875402, -0.22845754]]], [[[-0.041610684, -0.024382722, 0.4176318], [0.008349931, -0.07144815, -0.07674308], [-0.20378609, -0.41525134, -0.2569652]]]]> : tensor<4x1x3x3xf32>} : () -> tensor<4x1x3x3xf32>
    %scale16 = "onnx.Constant"() {value = dense<[0.82599396, 1.0208615, 1.1102803, 0.8471658]> : tensor<4xf32>} : () -> tensor<4xf32>
    %bias17 = "onnx.Constant"() {value = dense<[0.13566078, 0.10227823, 0.16781111, 0.060345702]> : tensor<4xf32>} : () -> tensor<4xf32>
    %mean18 = "onnx.Constant"() {value = dense<[0.024455102, 0.06624576, -0.13485382, -0.1248387]> : tensor<4xf32>} : () -> tensor<4xf32>
    %var19 = "onnx.Constant"() {value = dense<[1.0239664, 1.1459885, 0.9876075, 1.459565]> : tensor<4xf32>} : () -> tensor<4xf32>
    %w22 = "onnx.Constant"() {value = dense<[[[[-0.24392895]], [[0.065603085]], [[0.0057494757]], [[-0.07210952]]], [[[0.22213836]], [[0.052139893]], [[0.21519478]], [[-0.09991917]]]]> : tensor<2x4x1x1xf32>} : () -> tensor<2x4x1x1xf32>
    %w25 = "onnx.Constant"() {value = dense<[[[[-0.20061588]], [[0.13004552]]]]> : tensor<1x2x1x1xf32>} : () -> tensor<1x2x1x1xf32>
    %conv3 = "onnx.Conv"(%x, %w1, %w2) : (tensor<?x3x?x?xf32, #onnx.dims<["N", 3, "H", "W"]>>, tensor<4x3x1x1xf32>, tensor<4xf32>) -> !onnx.unknown loc("Conv_4")
    %batchnormalization9 = "onnx.BatchNormalization"(%conv3, %scale5, %bias6, %mean7, %var8) {epsilon = 1.0e-5 : f32} : (!onnx.unknown, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> !onnx.unknown loc("BatchNormalization_10")
    %relu11 = "onnx.Relu"(%batchnormalization9) : (!onnx.unknown) -> !onnx.unknown loc("Relu_12")
    %conv14 = "onnx.Conv"(%relu11, %w13) {group = 4, pads = [1, 1, 1, 1], strides = [2, 2]} : (!onnx.unknown, tensor<4x1x3x3xf32>) -> !onnx.unknown loc("Conv_15")
    %batchnormalization20 = "onnx.BatchNormalization"(%conv14, %scale16, %bias17, %mean18, %var19) {epsilon = 1.0e-5 : f32} : (!onnx.unknown, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> !onnx.unknown loc("BatchNormalization_21")
    %conv23 = "onnx.Conv"(%batchnormalization20, %w22) : (!onnx.unknown, tensor<2x4x1x1xf32>) -> !onnx.unknown loc("Conv_24")
    %add26 = "onnx.Add"(%conv23, %w25) : (!onnx.unknown, tensor<1x2x1x1xf32>) -> !onnx.unknown loc("Add_27")
    %maxpool28 = "onnx.MaxPool"(%add26) {kernel_shape = [2, 2], strides = [2, 2]} : (!onnx.unknown) -> tensor<*xf32> loc("MaxPool_29")
    func.return %maxpool28 : tensor<*xf32>
  }
}
