"""Remote machines over SSH (paramiko): transport only, no stage knowledge.

``target`` holds connection settings, results and typed errors; ``ssh`` the session (host-key policy, auth,
batched and streamed exec with cancel); ``_sftp`` file transfer. What runs over it (FINN builds on a build host,
the PYNQ board) lives in the stage packages, e.g. :mod:`foldwise.core.finn.remote_build`; an import-linter
contract keeps this package from importing them.
"""
