"""The PYNQ board over SSH: saved board profiles, probing what a board offers, pushing a folder to it.

``profiles`` (name, address, how to log in; passwords never saved), ``keys`` (install the user's public key),
``probe`` (one batched remote script that reports the image, versions, memory, temperature and the runtime a
deployment package needs, each with its fix), ``push`` (a folder to the board: hashes, skip, resume, atomic
rename, keep the last N). Transport is :mod:`foldwise.core.remote`; nothing here imports paramiko or Qt.
"""
