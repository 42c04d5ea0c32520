"""Networks: the built-in zoo, input specs, saving/loading, per-layer summaries, importers and training.

Modules (import them directly; this package imports nothing so ``spec`` stays torch-free):
``spec`` (InputSpec), ``zoo`` (ZOO, build), ``store`` (save_model, load_model), ``summary`` (summarize),
``importers`` (check_importable, import_network), ``train`` (train, evaluate, TrainConfig),
``onnx_network`` (OnnxNetwork: QONNX kept as a graph).
"""
