"""The live camera demo of defect detection: sources, the frame pipeline, backends, stats, annotation, recording.

``run_demo(project, DemoSpec, ctx) -> DemoResult`` (:mod:`.pipeline`) is what ``foldwise demo`` and the Demo
panel run. Frames come from a :class:`~.sources.Source` (camera, video file, image folder, stream URL or the
built-in synthetic conveyor), pass capture → region of interest → resize/normalise as trained → a
:class:`~.backends.Backend` → annotate → output, and every figure the run reports is labelled ``measured``.
"""
