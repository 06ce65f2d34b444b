"""Carry the stored ceilings and the reference policies over to this environment version (maintainers):

    python -m neuroleg.scripts.carry_over --ceilings envs/models/ceilings --references references \
        --page docs/results/references.md

replays every stored ceiling and re-evaluates every reference policy in the checkout on this version,
and re-stamps each whose figures all come out the same (neuroleg.agents.carry_over). Run it from a
clean checkout of the commit that changed the version, and commit what it re-stamped. Exit status 1
when any record no longer holds (those files are left as they were: search or train them again).
`--reevaluate` checks every reference card, on the current version too, and writes the figures this
code gives into those that moved: for a fix that changed an evaluation, not what a policy learnt on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neuroleg.agents.carry_over import CarryOverError, carry_over_ceiling, carry_over_reference
from neuroleg.agents.ceilings import ceiling_filename
from neuroleg.agents.provenance import git_commit
from neuroleg.agents.reference import CARD, references_page
from neuroleg.agents.runs import write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ceilings", type=Path, help="a folder of stored ceilings (envs/models/ceilings)")
    parser.add_argument("--references", type=Path, help="the checkout's references folder")
    parser.add_argument("--page", help="rewrite this results page from every card (docs/results/references.md)")
    parser.add_argument(
        "--reevaluate",
        action="store_true",
        help="write the figures this version gives into the cards whose figures moved (after a fix that moved "
        "them without changing what the policies were trained on)",
    )
    args = parser.parse_args(argv)
    commit = git_commit()  # before anything is re-stamped: the code the figures were measured with
    failed = 0
    for path in sorted(args.ceilings.glob("*.json")) if args.ceilings else []:
        try:
            c = carry_over_ceiling(path)
            now = ceiling_filename(c.task, c.task_args)
            renamed = f" (now {now})" if now != path.name else ""
            found = c.found_at_env_version or c.env_version
            print(f"{path.name}: holds on env v{c.env_version}{renamed} (found at v{found})")
        except CarryOverError as err:
            failed += 1
            print(err, file=sys.stderr)
    for folder in sorted(p.parent for p in args.references.glob(f"*/{CARD}")) if args.references else []:
        try:
            before = json.loads((folder / CARD).read_text()).get("reevaluated")
            card = carry_over_reference(folder, commit, reevaluate=args.reevaluate)
            anew = card.get("reevaluated") != before
            print(f"{folder.name} reference: {'re-evaluated' if anew else 'holds'} on env v{card['env_version']}")
        except CarryOverError as err:
            failed += 1
            print(err, file=sys.stderr)
    if args.page and args.references:
        again = " --reevaluate" if args.reevaluate else ""
        command = f"python -m neuroleg.scripts.carry_over --references references{again} --page {args.page}"
        write_text_atomic(Path(args.page), references_page(args.references, command, commit))
        print(f"page: {args.page}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
