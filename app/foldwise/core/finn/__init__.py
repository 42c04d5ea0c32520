"""FINN builds without importing FINN here: a long-lived worker process runs finn-plus (see ``worker``).

Modules: ``build`` (estimate, hw_nodes, reestimate, codegen, full build: the API panels and verbs use),
``reports`` (labelled results read from FINN's report JSONs), ``folding`` (FINN folding configs and
validation), ``autofit`` (folding search within a resource budget), ``boards``, ``tools`` (what is
installed and what each output needs), ``zoo`` (Brevitas bnn_pynq test models as QONNX).
"""
