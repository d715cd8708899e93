// RUN: not onnxqc %s -passes=calibrate 2>&1 | FileCheck %s --check-prefix=NODATA
// RUN: not onnxqc %s -passes='calibrate{tensors=[nope]}' --calib-data %S/Inputs/two-samples 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not onnxqc %s -passes='calibrate{method=percentile,percentile=101}' --calib-data %S/Inputs/two-samples 2>&1 | FileCheck %s --check-prefix=PCT
// RUN: not onnxqc %s -passes=dce --calib-data %S/Inputs/two-samples 2>&1 | FileCheck %s --check-prefix=NOPASS
// RUN: not onnxqc %s -passes=calibrate --calib-data %S/Inputs/missing-folder 2>&1 | FileCheck %s --check-prefix=MISSING

// NODATA: calibration needs data: give --calib-data PATH
// NAME: tensors: the model has no tensor named 'nope'
// PCT: percentile
// NOPASS: --calib-data is for the calibrate pass, which the pipeline does not run
// MISSING: missing-folder
func.func @main(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %r = "onnx.Relu"(%x) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  func.return %r : tensor<2x2xf32>
}
