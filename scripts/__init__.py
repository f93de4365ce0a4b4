"""Build-time tools of the repository (not shipped): `python -m scripts.<name>`."""
