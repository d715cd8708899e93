// RUN: onnxqc %s --split-input-file -passes=shape-infer | FileCheck %s

// Data-dependent sizes are fresh symbols that later ops carry along; a Reshape by an unknown shape of
// known length gets fresh dims of that rank; an op of an unknown domain keeps its declared type.
// CHECK-LABEL: func.func @shape_infer_nonzero
// CHECK: %0 = "onnx.NonZero"{{.*}} -> tensor<2x?xi64, #onnx.dims<[2, "unk__0"]>>
// CHECK: %1 = "onnx.Transpose"{{.*}} -> tensor<?x2xi64, #onnx.dims<["unk__0", 2]>>
// CHECK: %2 = "onnx.Reshape"{{.*}} -> tensor<?x?xf32, #onnx.dims<["unk__1", "unk__2"]>>
// CHECK: %3 = "custom.Op"{{.*}} -> !onnx.unknown
func.func @shape_infer_nonzero(%x: tensor<3x4xf32>, %shape: tensor<2xi64>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %0 = "onnx.NonZero"(%x) : (tensor<3x4xf32>) -> !onnx.unknown
  %1 = "onnx.Transpose"(%0) : (!onnx.unknown) -> !onnx.unknown
  %2 = "onnx.Reshape"(%x, %shape) : (tensor<3x4xf32>, tensor<2xi64>) -> !onnx.unknown
  %3 = "custom.Op"(%x) : (tensor<3x4xf32>) -> !onnx.unknown
  func.return %0, %1, %2, %3 : !onnx.unknown, !onnx.unknown, !onnx.unknown, !onnx.unknown
}

// -----

// Fresh names skip symbols the module already uses.
// CHECK-LABEL: func.func @shape_infer_fresh_names_avoid_existing
// CHECK: "onnx.NonZero"{{.*}} -> tensor<1x?xi64, #onnx.dims<[1, "unk__1"]>>
func.func @shape_infer_fresh_names_avoid_existing(%x: tensor<?xf32, #onnx.dims<["unk__0"]>>) -> !onnx.unknown {
  %0 = "onnx.NonZero"(%x) : (tensor<?xf32, #onnx.dims<["unk__0"]>>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}

// -----

// Declared types are facts: a declared symbol beats a fresh one, a known dim beats a symbol.
// CHECK-LABEL: func.func @shape_infer_declared
// CHECK: "onnx.NonZero"{{.*}} -> tensor<2x?xi64, #onnx.dims<[2, "nnz"]>>
// CHECK: "onnx.Relu"{{.*}} -> tensor<?x4xf32, #onnx.dims<["n", 4]>>
func.func @shape_infer_declared(%x: tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> tensor<?x?xf32, #onnx.dims<["n", "k"]>> {
  %0 = "onnx.NonZero"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> tensor<2x?xi64, #onnx.dims<[2, "nnz"]>>
  %1 = "onnx.Relu"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> tensor<?x?xf32, #onnx.dims<["n", "k"]>>
  func.return %1 : tensor<?x?xf32, #onnx.dims<["n", "k"]>>
}
