"""Design-space sweeps: a grid of FINN builds of one iteration, run by a local pool of FINN workers or as a
Slurm array job, each point coming back as a build record under its iteration.

Modules: ``grid`` (points from YAML), ``prepare`` (iterations and build configs), ``record`` (the state saved in
the project), ``local`` and ``slurm`` (the executors), ``cluster`` (Slurm here or over SSH), ``task`` (what each
array task runs; standard library only, shipped to the cluster), ``stage`` (the calls verbs and panels use).
This package's ``__init__`` imports nothing: the task driver is imported on clusters without Foldwise's deps.
"""
