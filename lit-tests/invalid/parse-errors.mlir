// RUN: not onnxqc %s --split-input-file 2>&1 | FileCheck %s

// Each case is a syntax error; the diagnostic names the file, line and column and puts a caret under
// the offending token.

// CHECK: error: expected an op name in quotes, e.g. "onnx.Relu", found integer 42
// CHECK-NEXT: ┌─ {{.*}}parse-errors.mlir:[[# @LINE + 4]]:8
// CHECK: 11 │   %0 = 42{{$}}
// CHECK-NEXT: │        ^^{{$}}
func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = 42
  func.return %x : tensor<2xf32>
}

// -----

// CHECK: error: use of undefined value '%nope'
// CHECK-NEXT: ┌─ {{.*}}parse-errors.mlir:[[# @LINE + 2]]:20
func.func @g(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "onnx.Relu"(%nope) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: error: unknown element type 'f33'
// CHECK-NEXT: ┌─ {{.*}}parse-errors.mlir:[[# @LINE + 1]]:27
func.func @h(%x: tensor<2xf33>) {
  func.return
}

// -----

// CHECK: error: use of a value with type tensor<2xf32> where the signature says tensor<3xf32>
// CHECK-NEXT: ┌─ {{.*}}parse-errors.mlir:[[# @LINE + 2]]:19
func.func @i(%x: tensor<2xf32>) {
  %0 = "onnx.Neg"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

// CHECK: error: redefinition of value '%a'
func.func @j(%x: tensor<2xf32>) {
  %a = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %a = "onnx.Neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return
}

// -----

// CHECK: error: invalid quantized type: zero point 300 is outside the storage range [0, 255]
func.func @k(%x: tensor<2x!quant.uniform<u8:f32, 0.5:300>>) {
  func.return
}

// -----

// CHECK: error: hex data has 3 bytes but a f16 tensor of shape [2] needs 4
func.func @l() {
  %0 = "onnx.Constant"() {value = dense<"0x003C00"> : tensor<2xf16>} : () -> tensor<2xf16>
  func.return
}

// -----

// CHECK: error: unterminated string
func.func @m() {
  %0 = "onnx.Constant
}

// -----

// CHECK: error: function @n declares results (tensor<2xf32>) but returns ()
func.func @n(%x: tensor<2xf32>) -> tensor<2xf32> {
  func.return
}

// -----

// CHECK: error: expected 2 elements here, found 3
func.func @o() {
  %0 = "onnx.Constant"() {value = dense<[1.0, 2.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  func.return
}
