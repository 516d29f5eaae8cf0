"""`python -m api` is `tongban` (handy in tests and where the script is not on PATH)."""

from api.cli import main

main()
