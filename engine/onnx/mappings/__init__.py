"""One module per layer family, each registering small ONNX export functions."""
