"""The PYNQ board over SSH, and other devices: profiles, probe, push, deploy and run, baselines, emulated board.

``profiles`` (name, address, how to log in; passwords never saved, ``secrets``: in the OS keyring if the
user opts in), ``keys`` (install the user's public key),
``probe`` (one batched remote script, ``probe_remote``, that reports the image, versions, memory, temperature
and the runtime a deployment package needs, each with its fix), ``push`` (a folder to the board: hashes, skip,
resume, atomic rename, keep the last N), ``package`` (a build's deployment package: settings, bitfile or FINN's
dataflow model, test images), ``runner_remote`` (Foldwise's on-board runner, pushed with each package),
``deploy`` (the Deploy stage: push, throughput and validation runs), ``runs`` (run records, every figure with
its source), ``emulate``/``emulator`` (the emulated board: an sshd on 127.0.0.1 whose accelerator is FINN's
dataflow model), ``baseline`` with ``baseline_model`` and ``baseline_table`` and its device scripts
``baseline_remote``, ``onnx_numpy``, ``power_sensors`` (time per inference and power on the host or any Linux
device). Transport is :mod:`foldwise.core.remote`; nothing here imports paramiko or Qt.
"""
