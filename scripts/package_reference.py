"""Make the packaged reference policies from trained runs (maintainers):

    neuroleg train squatjump_ppo --name ref_squatjump_ppo --runs-dir /tmp/refs
    python -m neuroleg.scripts.package_reference /tmp/refs/ref_squatjump_ppo --train-seconds 480

writes references/<task>/ (config, final model, normalisation statistics, card) in the checkout,
the card's figures evaluated on the packaged copy. Commit them with the change that made them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuroleg.agents.provenance import git_commit
from neuroleg.agents.reference import CARD, package_reference, references_page
from neuroleg.agents.runs import write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a trained run folder of a task's default config")
    parser.add_argument("--dest", default="references", help="the checkout's references folder")
    parser.add_argument("--train-seconds", type=float, help="the training's wall time, for the card")
    parser.add_argument("--page", help="also rewrite this results page from every card (docs/results/references.md)")
    args = parser.parse_args(argv)
    commit = git_commit()  # before the references' tracked files change
    dest = package_reference(Path(args.run), Path(args.dest), args.train_seconds)
    print(f"packaged in {dest}")
    print((dest / CARD).read_text())
    if args.page:
        command = "python -m neuroleg.scripts.package_reference RUN --page " + args.page
        write_text_atomic(Path(args.page), references_page(Path(args.dest), command, commit))
        print(f"page: {args.page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
