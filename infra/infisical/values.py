"""What Infisical stores for a value: the server trims it (pure; no I/O).

Infisical's v3 raw secret routes transform ``secretValue`` before storing it: surrounding
whitespace is removed, and a value that ended in a newline gets exactly one newline back
(Infisical/infisical backend/src/server/routes/v3/deprecated-secret-router.ts, commit
03e75b2, ``secretValue: z.string().transform(...)``). Comparing a wanted value with the
stored one must therefore compare stored forms, or the diff flaps on every refresh.
"""

from __future__ import annotations

# ECMAScript's String.prototype.trim set: WhiteSpace plus LineTerminator code points.
_TRIMMED = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def stored_form(value: str) -> str:
    """The value as the server will store and return it."""
    trimmed = value.strip(_TRIMMED)
    return trimmed + "\n" if value.endswith("\n") else trimmed


def server_would_trim(value: str) -> bool:
    return stored_form(value) != value
