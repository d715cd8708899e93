// RUN: onnxqc %s -passes=fold | FileCheck %s
// RUN: onnxqc %s -passes=fold --time-passes -o %t.mlir 2>&1 | FileCheck %s --check-prefix=STATS
// RUN: onnxqc %s -passes='fold{fold-qdq=true}' --time-passes -o %t.mlir 2>&1 | FileCheck %s --check-prefix=QDQ

// A DequantizeLinear of a quantized weight stays (folding it would store the weight as floats again),
// unless fold-qdq=true; the Mul that reads it cannot fold either, as the input x is not constant.
// CHECK-LABEL: func.func @fold_dequantize_kept
// CHECK: %wf = "onnx.DequantizeLinear"(%wq, %sc, %zp)
// With fold-qdq=true the pass tries it (the runtime has no DequantizeLinear kernel yet, so it is counted
// as unsupported rather than skipped by policy).
// STATS: fold {{.*}}ops-folded=0 {{.*}}skipped-unsupported=0
// QDQ: fold {{.*}}ops-folded=0 {{.*}}skipped-unsupported=1
func.func @fold_dequantize_kept(%x: tensor<2xf32>) -> tensor<2xf32> {
  %wq = "onnx.Constant"() {value = dense<[1, -2]> : tensor<2xi8>} : () -> tensor<2xi8>
  %sc = "onnx.Constant"() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %zp = "onnx.Constant"() {value = dense<0> : tensor<i8>} : () -> tensor<i8>
  %wf = "onnx.DequantizeLinear"(%wq, %sc, %zp) : (tensor<2xi8>, tensor<f32>, tensor<i8>) -> tensor<2xf32>
  %y = "onnx.Mul"(%x, %wf) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}

