"""The guard of constants compiled kernels bake in.

numba bakes module-level constants into a kernel when it compiles it, and its cache (cache=True) is
keyed on the kernel's own file: a constant edited in another module would leave a cached kernel
running the old value. Each kernel module fingerprints the constants it bakes in and stops its import
when they no longer match the fingerprint written in it; writing the new one edits that file, which
makes numba recompile.
"""

from __future__ import annotations

import hashlib


def fingerprint(values: tuple) -> str:
    """SHA-256 of the constants' repr (floats, or tuples of floats)."""
    return hashlib.sha256(repr(values).encode()).hexdigest()


def require_baked(found: str, expected: str, path: str, what: str) -> None:
    """ImportError unless the constants' fingerprint is the one the kernel module was written with."""
    if found != expected:
        raise ImportError(
            f"{what} the compiled kernels bake in has changed: set BAKED_CONSTANTS_SHA256 = {found!r} in {path} "
            "(editing that file makes numba recompile)"
        )
