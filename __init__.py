"""neuroleg: a simulator of neuromuscular coordination.

`import neuroleg` registers the Gymnasium ids (`neuroleg/<Task>-v<N>`, `neuroleg.ENV_IDS`), as
Gymnasium plugin packages do. Subpackages: ``neuroleg.envs`` (physiology, body, tasks, environments),
``neuroleg.agents`` (training, evaluation, analysis) and ``neuroleg.scripts`` (command line).
`neuroleg.load_run(path)` loads a trained run for use outside the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Major version = environment version (the ids' -v<N>); minor and patch count releases within it.
__version__ = "10.0.0"

from .envs import ENV_IDS, ENV_VERSION

if TYPE_CHECKING:
    from .agents.loading import LoadedRun


def load_run(path: Any) -> LoadedRun:
    """A trained run folder, ready to act: policy, normalisation and the action mapping (see the manual)."""
    from .agents.loading import load_run as _load

    return _load(path)


__all__ = ["ENV_IDS", "ENV_VERSION", "__version__", "load_run"]
