"""Data only: one trained reference policy per task (a run folder and its card), made by
`python -m neuroleg.scripts.package_reference` and read by `neuroleg.agents.reference`."""
