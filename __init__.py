"""neuroleg: a simulator of neuromuscular coordination.

Subpackages: ``neuroleg.envs`` (physiology, body, tasks, Gymnasium environments),
``neuroleg.agents`` (training, evaluation, analysis) and ``neuroleg.scripts`` (command line).
"""

__version__ = "0.1.0"
