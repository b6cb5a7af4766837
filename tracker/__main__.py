"""`python -m tracker` is `ktrack`."""

from .cli import main

main()
