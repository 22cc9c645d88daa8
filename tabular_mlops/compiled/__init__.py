"""The compiled model: the fitted pipeline as one ONNX graph, run by onnxruntime (docs/explanation/compiled-model.md)."""
