"""Install the user's public key on a board, so later logins need no password (``~/.ssh/authorized_keys``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from foldwise.core.board.profiles import Auth, BoardProfile
from foldwise.core.errors import InputError

_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519", "sk-ecdsa-sha2-")
_INSTALL = ('k=$(cat); umask 077; mkdir -p ~/.ssh && chmod 700 ~/.ssh && touch ~/.ssh/authorized_keys && '
            'if grep -qxF "$k" ~/.ssh/authorized_keys; then echo present; '
            'else printf "%s\\n" "$k" >> ~/.ssh/authorized_keys && echo added; fi')


def default_public_key(board: BoardProfile) -> Path:
    """The board's key file's ``.pub`` if it has one, else the first of ``~/.ssh/id_ed25519.pub``, ``id_rsa.pub``."""
    candidates = [Path(f"{board.key}.pub")] if board.key else []
    candidates += [Path("~/.ssh/id_ed25519.pub").expanduser(), Path("~/.ssh/id_ecdsa.pub").expanduser(),
                   Path("~/.ssh/id_rsa.pub").expanduser()]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise InputError("no public key found (tried " + ", ".join(str(p) for p in candidates)
                         + "): make one with `ssh-keygen -t ed25519` or give the .pub file")
    return found


def read_public_key(path: Path) -> str:
    """The one OpenSSH public key line in ``path`` (a private key file is refused, never sent)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the public key {path}: {exc}") from None
    if "PRIVATE KEY" in text:
        raise InputError(f"{path} is a private key: give its .pub file (a private key never leaves this machine)")
    if len(text.splitlines()) != 1 or not text.startswith(_KEY_TYPES):
        raise InputError(f"{path} is not an OpenSSH public key line (ssh-ed25519 AAAA... comment)")
    return text


def install_public_key(board: BoardProfile, public_key: Path | None = None, *, password: str | None = None,
                       trust_fingerprint: str | None = None) -> bool:
    """Append the public key to the board user's authorized_keys unless it is there; True if it was added."""
    line = read_public_key(public_key or default_public_key(board))
    with board.session(password, trust_fingerprint) as session:
        result = session.run(f"sh -c '{_INSTALL}'", stdin=line + "\n", timeout=30.0, check=True)
    return result.stdout.strip().endswith("added")


def after_key_install(board: BoardProfile, public_key: Path) -> BoardProfile:
    """The profile to save once ``public_key`` is on the board: its private half if it sits beside it, else the
    agent and ~/.ssh keys (a password board stops needing its password)."""
    public_key = Path(public_key).expanduser()
    private = public_key.with_suffix("") if public_key.suffix == ".pub" else None
    if private is not None and private.is_file():
        return board.with_key(private)
    return board if board.auth == Auth.KEY else replace(board, auth=Auth.AGENT, key=None)
