"""Remote machines over SSH (paramiko): build hosts now, the PYNQ board later.

``ssh`` holds the session wrapper (host-key policy, auth, batched and streamed exec with cancel, SFTP folders);
``_finn_runner`` is the one-shot FINN runner a build host (or a resumed local build) runs.
"""
