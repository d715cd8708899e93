// RUN: onnxqc %s -passes=calibrate --calib-data %S/Inputs/two-samples --no-progress | FileCheck %s
// RUN: onnxqc %s -passes='calibrate{moving-average=true}' --calib-data %S/Inputs/two-samples --no-progress | FileCheck %s --check-prefix=MEAN
// RUN: onnxqc %s -passes='calibrate{symmetric=true,tensors=[x]}' --calib-data %S/Inputs/two-samples --no-progress | FileCheck %s --check-prefix=SYM
// RUN: onnxqc %s -passes='calibrate{op-types=[Relu]}' --calib-data %S/Inputs/two-samples --no-progress | FileCheck %s --check-prefix=RELU
// RUN: onnxqc %s -passes=calibrate --calib-data %S/Inputs/two-samples --no-progress --write-calibration-table %t.trt --calibration-table-format tensorrt -o %t.mlir && FileCheck %s --check-prefix=TRT < %t.trt
// RUN: onnxqc %s -passes=calibrate --calibration-table %t.trt | FileCheck %s --check-prefix=TRTREAD

// Two samples: x = [[-1, 2], [3, -4]] and [[0.5, 5], [-2, 1]]. The Relu and the MatMul are in ONNX
// Runtime's default op set, so x, r, w's product m and y are calibrated; the weight %w is a constant and
// is not. The observers are gone afterwards and the graph is unchanged.
// CHECK: module attributes {qc.calibration = {method = "minmax", tensors = {x = array<f32: -4.0, 5.0>, r = array<f32: 0.0, 5.0>, m = array<f32: 0.0, 10.0>, y = array<f32: -1.0, 9.0>}}, onnxqc.facts = ["ranges"]}
// CHECK-NOT: qc.observe
// CHECK: %r = "onnx.Relu"(%x)
// Moving average = mean of the per-sample extremes: x: min (-4 + -2)/2, max (3 + 5)/2.
// MEAN: x = array<f32: -3.0, 4.0>
// SYM: {qc.calibration = {method = "minmax", tensors = {x = array<f32: -5.0, 5.0>}}
// RELU: tensors = {x = array<f32: -4.0, 5.0>, r = array<f32: 0.0, 5.0>}}
// TensorRT's cache holds the big-endian bits of amax / 127 (5/127, 5/127, 10/127, 9/127) and reads back
// as symmetric ranges.
// TRT: TRT-8601-EntropyCalibration2
// TRT-NEXT: x: 3d214285
// TRT-NEXT: r: 3d214285
// TRT-NEXT: m: 3da14285
// TRT-NEXT: y: 3d912245
// TRTREAD: {qc.calibration = {method = "tensorrt-EntropyCalibration2", tensors = {x = array<f32: -5.0, 5.0>, r = array<f32: -5.0, 5.0>, m = array<f32: -10.0, 10.0>, y = array<f32: -9.0, 9.0>}}
func.func @main(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %r = "onnx.Relu"(%x) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %w = "onnx.Constant"() {value = dense<[[2.0, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %m = "onnx.MatMul"(%r, %w) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %one = "onnx.Constant"() {value = dense<-1.0> : tensor<f32>} : () -> tensor<f32>
  %y = "onnx.Add"(%m, %one) : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  func.return %y : tensor<2x2xf32>
}
