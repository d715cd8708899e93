module attributes {onnx.ir_version = 8, onnx.opset_import = {ai.onnx = 17}} {
  func.func @attention_block(%x: tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>>) -> tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>> {
    %c5 = "onnx.Constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
    %c10 = "onnx.Constant"() {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
    %c17 = "onnx.Constant"() {value = dense<[0.9646089, 1.0889131, 1.203077, 0.9237629]> : tensor<4xf32>} : () -> tensor<4xf32>
    %c20 = "onnx.Constant"() {value = dense<[-0.034402836, -0.03382561, -0.17809643, 0.13095671]> : tensor<4xf32>} : () -> tensor<4xf32>
    %c25 = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
    %c26 = "onnx.Constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
    %c31 = "onnx.Constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
    %w36 = "onnx.Constant"() {value = dense<[[-0.016046004, -0.1339032, -0.3135017, 0.020603742], [0.44920528, 0.032958172, -0.21207345, -0.22085287], [0.2695153, 0.04923738, -0.012517168, -0.29503256], [0.36735222, 0.1390533, -0.034142032, 0.065918095]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
    %w39 = "onnx.Constant"() {value = dense<[-0.147337, 0.26910964, 0.19965774, -0.11402109]> : tensor<4xf32>} : () -> tensor<4xf32>
    %c42 = "onnx.Constant"() {value = dense<2> : tensor<2xi64>} : () -> tensor<2xi64>
    %c59 = "onnx.Constant"() {value = dense<[4]> : tensor<1xi64>} : () -> tensor<1xi64>
    %c64 = "onnx.Constant"() {value = dense<1.4142135> : tensor<f32>} : () -> tensor<f32>
    %c69 = "onnx.Constant"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
    %c74 = "onnx.Constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
    %reducemean1 = "onnx.ReduceMean"(%x) {axes = [-1]} : (tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>>) -> !onnx.unknown loc("ReduceMean_2")
    %sub3 = "onnx.Sub"(%x, %reducemean1) : (tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>>, !onnx.unknown) -> !onnx.unknown loc("Sub_4")
    %pow6 = "onnx.Pow"(%sub3, %c5) : (!onnx.unknown, tensor<f32>) -> !onnx.unknown loc("Pow_7")
    %reducemean8 = "onnx.ReduceMean"(%pow6) {axes = [-1]} : (!onnx.unknown) -> !onnx.unknown loc("ReduceMean_9")
    %add11 = "onnx.Add"(%reducemean8, %c10) : (!onnx.unknown, tensor<f32>) -> !onnx.unknown loc("Add_12")
    %sqrt13 = "onnx.Sqrt"(%add11) : (!onnx.unknown) -> !onnx.unknown loc("Sqrt_14")
    %div15 = "onnx.Div"(%sub3, %sqrt13) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("Div_16")
    %mul18 = "onnx.Mul"(%div15, %c17) : (!onnx.unknown, tensor<4xf32>) -> !onnx.unknown loc("Mul_19")
    %add21 = "onnx.Add"(%mul18, %c20) : (!onnx.unknown, tensor<4xf32>) -> !onnx.unknown loc("Add_22")
    %shape23 = "onnx.Shape"(%add21) : (!onnx.unknown) -> !onnx.unknown loc("Shape_24")
    %gather27 = "onnx.Gather"(%shape23, %c26) {axis = 0} : (!onnx.unknown, tensor<i64>) -> !onnx.unknown loc("Gather_28")
    %unsqueeze29 = "onnx.Unsqueeze"(%gather27, %c25) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown loc("Unsqueeze_30")
    %gather32 = "onnx.Gather"(%shape23, %c31) {axis = 0} : (!onnx.unknown, tensor<i64>) -> !onnx.unknown loc("Gather_33")
    %unsqueeze34 = "onnx.Unsqueeze"(%gather32, %c25) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown loc("Unsqueeze_35")
    %matmul37 = "onnx.MatMul"(%add21, %w36) : (!onnx.unknown, tensor<4x4xf32>) -> !onnx.unknown loc("MatMul_38")
    %add40 = "onnx.Add"(%matmul37, %w39) : (!onnx.unknown, tensor<4xf32>) -> !onnx.unknown loc("Add_41")
    %concat43 = "onnx.Concat"(%unsqueeze29, %unsqueeze34, %c42) {axis = 0} : (!onnx.unknown, !onnx.unknown, tensor<2xi64>) -> !onnx.unknown loc("Concat_44")
    %reshape45 = "onnx.Reshape"(%add40, %concat43) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("Reshape_46")
    %transpose47 = "onnx.Transpose"(%reshape45) {perm = [0, 2, 1, 3]} : (!onnx.unknown) -> !onnx.unknown loc("Transpose_48")
    %transpose49 = "onnx.Transpose"(%transpose47) {perm = [0, 1, 3, 2]} : (!onnx.unknown) -> !onnx.unknown loc("Transpose_50")
    %matmul51 = "onnx.MatMul"(%transpose47, %transpose49) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("MatMul_52")
    %softmax53 = "onnx.Softmax"(%matmul51) {axis = -1} : (!onnx.unknown) -> !onnx.unknown loc("Softmax_54")
    %matmul55 = "onnx.MatMul"(%softmax53, %transpose47) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("MatMul_56")
    %transpose57 = "onnx.Transpose"(%matmul55) {perm = [0, 2, 1, 3]} : (!onnx.unknown) -> !onnx.unknown loc("Transpose_58")
    %concat60 = "onnx.Concat"(%unsqueeze29, %unsqueeze34, %c59) {axis = 0} : (!onnx.unknown, !onnx.unknown, tensor<1xi64>) -> !onnx.unknown loc("Concat_61")
    %reshape62 = "onnx.Reshape"(%transpose57, %concat60) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("Reshape_63")
    %div65 = "onnx.Div"(%reshape62, %c64) : (!onnx.unknown, tensor<f32>) -> !onnx.unknown loc("Div_66")
    %erf67 = "onnx.Erf"(%div65) : (!onnx.unknown) -> !onnx.unknown loc("Erf_68")
    %add70 = "onnx.Add"(%erf67, %c69) : (!onnx.unknown, tensor<f32>) -> !onnx.unknown loc("Add_71")
    %mul72 = "onnx.Mul"(%reshape62, %add70) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown loc("Mul_73")
    %mul75 = "onnx.Mul"(%mul72, %c74) : (!onnx.unknown, tensor<f32>) -> tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>> loc("Mul_76")
    func.return %mul75 : tensor<?x?x4xf32, #onnx.dims<["batch", "seq", 4]>>
  }
}
