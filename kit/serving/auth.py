"""Bearer tokens: read from a token file at start, every request's checked in constant time.

The token file holds one token per line (several at once, so a new one can be added before the old one is
removed: rotation without downtime); blank lines and lines starting with ``#`` are skipped, and spaces and the
line's end around a token are not part of it. The file must not be writable by anyone: whoever could write it
could add a token. TLS is the ingress's job (Kubernetes terminates it there); tokens are sent over it.
"""

from __future__ import annotations

import hmac
import os
import stat
from pathlib import Path
from urllib.parse import parse_qsl

from kit.errors import ServeError
from kit.serving.protocol import RequestError
from kit.shorten import shown_path

#: Shorter than this is guessable; ``secrets.token_urlsafe(32)`` gives 43 characters.
MIN_LENGTH = 16
MAX_LENGTH = 4096
#: Query parameters that carry a token in some clients: refused, since URLs end up in logs and browser history.
IN_QUERY = {"token", "access_token", "api_key", "apikey", "key", "auth", "authorization", "bearer"}
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE"
CHALLENGE = ((b"www-authenticate", b'Bearer realm="kit"'),)


def read_tokens(path: str | os.PathLike) -> tuple[bytes, ...]:
    """The tokens of the token file; ServeError saying what to fix when it cannot be used."""
    path = Path(path)
    said = f"--token-file {shown_path(path)}"
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ServeError(f"{said} is a folder: pass the file that holds the tokens, one per line")
        if mode & stat.S_IWOTH:
            raise ServeError(f"{said} is writable by anyone, who could add a token: chmod o-w {shown_path(path)}")
        with open(path, "rb") as file:
            text = file.read(1 << 20).decode("utf-8")
    except FileNotFoundError:
        raise ServeError(f"{said} does not exist: make one with {MAKE_ONE}") from None
    except PermissionError:
        raise ServeError(f"{said} cannot be read (Permission denied): let the server's user read it") from None
    except UnicodeDecodeError:
        raise ServeError(f"{said} is not UTF-8 text: write one token per line") from None
    except OSError as error:
        raise ServeError(f"{said} cannot be read ({error.strerror}): pass a readable file") from None
    tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not tokens:
        raise ServeError(f"{said} holds no token: write one per line, e.g. {MAKE_ONE}")
    for number, token in enumerate(tokens, start=1):
        if not MIN_LENGTH <= len(token) <= MAX_LENGTH or not token.isascii() or any(c.isspace() for c in token):
            raise ServeError(
                f"{said}: token {number} is not {MIN_LENGTH} to {MAX_LENGTH} characters of ASCII without spaces: "
                f"make one with {MAKE_ONE}"
            )
    return tuple(token.encode() for token in tokens)


def check(headers: list[tuple[bytes, bytes]], query: bytes, tokens: tuple[bytes, ...]) -> None:
    """Nothing when the request carries one of ``tokens``; else RequestError (401, or 400 for a malformed one)."""
    if query and any(name.lower() in IN_QUERY for name, _ in parse_qsl(query.decode("latin-1"), True)):
        raise RequestError(
            400, "a token in the URL ends up in logs: send it in the header Authorization: Bearer TOKEN", CHALLENGE
        )
    given = [value for name, value in headers if name == b"authorization"]
    if not given:
        raise RequestError(401, "this server needs a token: send the header Authorization: Bearer TOKEN", CHALLENGE)
    if len(given) > 1:
        raise RequestError(400, f"the request has {len(given)} Authorization headers: send one", CHALLENGE)
    scheme, _, token = given[0].strip().partition(b" ")
    if scheme.lower() != b"bearer":
        raise RequestError(401, "the Authorization header must be Bearer TOKEN", CHALLENGE)
    token = token.strip(b" \t")
    matched = False
    for known in tokens:  # every one compared, each in constant time: the time says nothing of which is close
        matched |= hmac.compare_digest(token, known)
    if not matched:
        raise RequestError(401, "the token is not one this server accepts: ask for a current one", CHALLENGE)
