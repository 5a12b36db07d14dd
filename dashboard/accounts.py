"""Accounts of the dashboard in network mode: ``python -m dashboard.accounts add|remove|list|check|path``.

The accounts file is YAML in streamlit-authenticator's layout (``credentials.usernames.USER`` with a
bcrypt hash of the password, never the password itself; ``cookie`` with a random signing key). It
lives outside the project, in ``$IOMT_ACCOUNTS_FILE`` or ``~/.config/iomt/accounts.yaml``, readable
by its owner only (mode 600).

Examples
--------
    .venv/bin/python -m dashboard.accounts add alice            # asks for the password twice
    echo "$PASSWORD" | .venv/bin/python -m dashboard.accounts add bob --password-stdin
    .venv/bin/python -m dashboard.accounts list
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from core.words import counted

MIN_PASSWORD_LENGTH = 10
_USER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class AccountsError(Exception):
    """A problem with the accounts file or a command's arguments (printed as one line)."""


def accounts_file() -> Path:
    """``$IOMT_ACCOUNTS_FILE`` or ``~/.config/iomt/accounts.yaml``."""
    env = os.environ.get("IOMT_ACCOUNTS_FILE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".config" / "iomt" / "accounts.yaml"


def _is_bcrypt(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}", value) is not None


def _read(path: Path) -> dict:
    """The accounts file as a mapping in streamlit-authenticator's layout (empty for an empty file)."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountsError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise AccountsError(f"{path} is not valid YAML: {exc}") from None
    credentials = config.get("credentials") if isinstance(config, dict) else None
    if not (isinstance(config, dict) and isinstance(credentials or {}, dict)
            and isinstance((credentials or {}).get("usernames") or {}, dict)
            and isinstance(config.get("cookie") or {}, dict)):  # fmt: skip
        raise AccountsError(f"{path} is not an accounts file (expected credentials: usernames: USER: password: ..., "
                            "and cookie:); move it aside and create the accounts again with: "
                            ".venv/bin/python -m dashboard.accounts add USER")  # fmt: skip
    return config


def load(path: Path | None = None) -> dict:
    """Read and check the accounts file: at least one user, every password a bcrypt hash, a cookie key, and no
    access for other users (it holds the key that signs sign-in cookies)."""
    path = path or accounts_file()
    if not path.is_file():
        raise AccountsError(f"no accounts file at {path}; create the first account with: "
                            ".venv/bin/python -m dashboard.accounts add USER")  # fmt: skip
    config = _read(path)
    users = ((config.get("credentials") or {}).get("usernames")) or {}
    if not users:
        raise AccountsError(f"{path} has no accounts; add one with: .venv/bin/python -m dashboard.accounts add USER")
    bad = [u for u, info in users.items() if not isinstance(info, dict) or not _is_bcrypt(info.get("password"))]
    if bad:
        raise AccountsError(f"{path}: the password of {', '.join(map(str, bad))} is not a bcrypt hash; set it again "
                            "with: .venv/bin/python -m dashboard.accounts add USER")  # fmt: skip
    cookie = config.get("cookie") or {}
    if len(str(cookie.get("key") or "")) < 32:
        raise AccountsError(f"{path}: the cookie signing key is missing or short; add an account to create one")
    expiry = cookie.get("expiry_days", 1)
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)) or not 0 <= expiry <= 365:
        raise AccountsError(f"{path}: cookie expiry_days is {expiry!r}; expected a number of days from 0 to 365")
    default = _empty()["cookie"]
    config["cookie"] = {**default, **cookie, "name": str(cookie.get("name") or default["name"])}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # whoever can read the key can sign a cookie as any user; whoever can write can add an account
        raise AccountsError(f"{path} is open to other users (mode {mode:o}); it holds the password hashes and the "
                            f"key that signs sign-in cookies: make it private with: chmod 600 {path}")  # fmt: skip
    return config


def _empty() -> dict:
    return {"cookie": {"name": "iomt_dashboard_auth", "key": secrets.token_hex(32), "expiry_days": 1},
            "credentials": {"usernames": {}}}  # fmt: skip


def _write(path: Path, config: dict) -> None:
    """Write the accounts file atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(path, yaml.safe_dump(config, sort_keys=True))


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically (a temporary file in the same folder, renamed), readable by the owner only."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def account_name(user: str) -> str:
    """A user name as accounts are kept under it (and as the sign-in form takes it): trimmed, in lower case."""
    return user.strip().lower()


def add_user(user: str, password: str, name: str | None = None, path: Path | None = None) -> Path:
    """Create or replace ``user`` with a bcrypt hash of ``password``."""
    # The same call as streamlit_authenticator's Hasher.hash (which checks these hashes at sign-in),
    # without importing Streamlit into a command-line tool.
    import bcrypt

    path = path or accounts_file()
    user = account_name(user)
    if not _USER_RE.match(user):
        raise AccountsError(f"user name {user!r}: use lower-case letters, digits, '.', '_' and '-' (at most 64)")
    if password != password.strip():
        # streamlit-authenticator strips what is typed at sign-in: such a password could never be entered
        raise AccountsError("the password must not start or end with a space")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountsError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > 72:
        raise AccountsError("the password must be at most 72 bytes (bcrypt's limit)")
    config = (_read(path) if path.is_file() else None) or _empty()  # a damaged file is refused, not overwritten
    if len(str((config.get("cookie") or {}).get("key") or "")) < 32:
        config["cookie"] = _empty()["cookie"]
    users = config.setdefault("credentials", {}).setdefault("usernames", {}) or {}
    config["credentials"]["usernames"] = users
    # A new password ends the sign-in cookies made before it (a stolen one, or those of whoever had the account).
    users[user] = {"name": name or user, "email": "", "password": bcrypt.hashpw(password.encode(), bcrypt.gensalt(12)).decode(),
                   "failed_login_attempts": 0, "logged_in": False, "cookies_valid_after": time.time()}  # fmt: skip
    _write(path, config)
    return path


def remove_user(user: str, path: Path | None = None) -> Path:
    path = path or accounts_file()
    user = account_name(user)
    config = load(path) if path.is_file() else _empty()
    users = config["credentials"]["usernames"]
    if user not in users:
        raise AccountsError(f"no account named {user!r} in {path}")
    del users[user]
    _write(path, config)
    return path


_sign_outs_lock = threading.Lock()


def sign_outs_file(path: Path) -> Path:
    """Where the dashboard records when each user of the accounts file ``path`` last signed out: beside it
    (``accounts-signed-out.json``), private like it."""
    return path.with_name(f"{path.stem}-signed-out.json")


def sign_outs(path: Path) -> dict[str, float] | None:
    """When each user last signed out of the dashboard (seconds since the epoch); {} when nobody has, None when the
    record cannot be read (then no sign-in cookie can be trusted: :func:`dashboard.auth` asks for the password)."""
    import json

    file = sign_outs_file(path)
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not all(isinstance(t, (int, float)) for t in record.values()):
        return None
    return {str(u): float(t) for u, t in record.items()}


def record_sign_out(user: str, path: Path, when: float | None = None) -> None:
    """Record that ``user`` signed out at ``when`` (now): every sign-in cookie of theirs made before then is refused
    from now on, a copy of it in another browser included."""
    import json

    with _sign_outs_lock:
        record = sign_outs(path) or {}
        record[user] = max(record.get(user, 0.0), time.time() if when is None else when)
        _write_private(sign_outs_file(path), json.dumps(record, sort_keys=True))


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.user}: ")
    if getpass.getpass("Again: ") != first:
        raise AccountsError("the two passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.accounts", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account, or set a new password")
    add.add_argument("user")
    add.add_argument("--name", help="display name (default: the user name)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    rm = sub.add_parser("remove", help="delete an account")
    rm.add_argument("user")
    sub.add_parser("list", help="list the accounts")
    sub.add_parser("check", help="exit 0 when the accounts file is usable, else say why and exit 2")
    sub.add_parser("path", help="print where the accounts file is")
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            print(accounts_file())
        elif args.command == "add":
            path = add_user(args.user, _read_password(args), args.name)
            print(f"account {account_name(args.user)!r} saved in {path} (bcrypt hash only)")
        elif args.command == "remove":
            print(f"account {account_name(args.user)!r} removed from {remove_user(args.user)}")
        elif args.command == "list":
            for user, info in load()["credentials"]["usernames"].items():
                print(f"{user}\t{(info or {}).get('name', '')}")
        elif args.command == "check":
            config = load()
            print(f"{accounts_file()}: {counted(len(config['credentials']['usernames']), 'account')}")
    except AccountsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
