// RUN: not onnxqc %s -passes=qdq 2>&1 | FileCheck %s --check-prefix=NORANGES
// RUN: not onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{activation-type=s8,weight-type=u8}' 2>&1 | FileCheck %s --check-prefix=S8U8
// RUN: not onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{per-channel-axis=[MatMul]}' 2>&1 | FileCheck %s --check-prefix=AXIS
// RUN: not onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{activation-type=s4}' 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{overrides=%S/Inputs/missing.json}' 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not onnxqc %s -passes='calibrate{table=%S/Inputs/cnn.json},qdq{overrides=%S/Inputs/overrides.json}' 2>&1 | FileCheck %s --check-prefix=NOTENSOR

// NORANGES: qdq{{.*}}ranges{{.*}}calibrate
// S8U8: activation-type=s8 with weight-type=u8 is not supported
// AXIS: per-channel-axis: expected OpType:axis, got 'MatMul'
// TYPE: activation-type
// NOFILE: overrides: cannot read the overrides file '{{.*}}missing.json'
// NOTENSOR: overrides: tensor 'b' is not in the model
func.func @main(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %y = "onnx.Relu"(%x) : (tensor<1x8xf32>) -> tensor<1x8xf32>
  func.return %y : tensor<1x8xf32>
}
